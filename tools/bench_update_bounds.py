"""What any change inside `update()` could still win with ReID on: upper bounds measured in one run.

`update()` called frame by frame runs detect -> core gates -> ReID of the detections whose appearance matters ->
matching -> banks. Four trackers track the same frames, each frame run by all four in a rotating order (so they see
the same machine load), and frames/s are compared with detection only:

- `full`: the tracker as configured (lazy embedding, OpenVINO ReID);
- `free forward`: the same, but the ReID forward returns the outputs recorded in a first pass (identical tracks,
  checked): what a zero-cost forward would leave (crops, plumbing, the appearance work of the core);
- `no late rows`: only the detections a matching stage compares are embedded, not those embedded for their banks
  alone (a stale bank's refresh, a newcomer's first look): the most that running those later, overlapped with
  other work, could win (its tracks differ a little: a bound, not a candidate);
- `detection only` (`reid.model=none`).

A second table times whole passes over the frames, alternating, for `full`, `deferred (simulated)` and
`detection only`: the simulated tracker embeds the compared rows at once and runs the forward of the late rows in a
background thread started at the end of `update()` and joined at the start of the next one (its result is thrown
away: timing only). It estimates what moving the late rows into the next frame's detection time would pay; frame
by frame rotation cannot measure that, since the background work would run during another tracker's frame.

It also counts the ReID calls a frame makes whose rows a stage compares (`now`) and those made for banks alone
(`late only`), and times one ReID call of 1-3 crops right after the same call (warm caches), after a detector call,
after copying 64 MB (caches flushed) and after a call of another batch size, alternating.

    python tools/bench_update_bounds.py [--frames 100] [--repeats 3] [--calls 40] [--set key=value ...]
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
import types
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_pipeline import WARMUP, read_frames, shared_config_or_usage  # noqa: E402

from tracker import Tracker  # noqa: E402
from tracker.cli_args import positive_int  # noqa: E402
from tracker.closed_pipe import run_tool  # noqa: E402
from tracker.detector import quiet_ultralytics  # noqa: E402
from tracker.embedder import cut_crops  # noqa: E402

MS = 1000.0
FLUSH_BYTES = 64 << 20  # larger than the L3 cache: copying it evicts the ReID's weights, code and buffers
CALL_SIZES = (1, 2, 3)  # crops per timed ReID call (lazy embedding asks for 1-3 in most frames)
MODES = ("full", "free forward", "no late rows", "detection only")


class CallCounter:
    """Wraps a tracker's core to split its ReID calls into those a matching stage needs now and the rest."""

    def __init__(self, tracker: Tracker) -> None:
        self.now_calls = self.late_calls = self.now_rows = self.late_rows = 0
        self.per_frame: list[list[int]] = []  # [compared rows, bank-only rows] of each update(), in order
        update = tracker.update

        def update_counted(frame: np.ndarray) -> list:
            self.per_frame.append([0, 0])
            return update(frame)

        tracker.update = update_counted
        core, needs = tracker.core, tracker.core._needs_embedding
        self._now = np.zeros(0, dtype=bool)

        def needs_and_record(_self: object, gate: np.ndarray, gated_iou: np.ndarray, lost: np.ndarray, compare):
            self._now = compare.any(axis=0)
            return needs(gate, gated_iou, lost, compare)

        core._needs_embedding = types.MethodType(needs_and_record, core)
        embedder = tracker.embedder

        def counted(frame: object, boxes_xyxy: np.ndarray) -> object:
            rows = core_rows.pop()
            now = int(self._now[rows].sum()) if len(self._now) else 0
            self.now_rows, self.late_rows = self.now_rows + now, self.late_rows + len(rows) - now
            if self.per_frame:
                self.per_frame[-1] = [now, len(rows) - now]
            if now:
                self.now_calls += 1
            else:
                self.late_calls += 1
            return embedder(frame, boxes_xyxy)

        core_rows: list[np.ndarray] = []
        embed_rows = core._embed

        def embed_recording(_self: object, dets, need, embed):  # the rows the core asks for, before the call
            core_rows.append(np.flatnonzero(need & ~dets.has_embedding))
            result = embed_rows(dets, need, embed)
            self._now = np.zeros(0, dtype=bool)  # a frame without tracks asks without comparing anything
            if core_rows:  # no call was made (nothing left to embed)
                core_rows.pop()
            return result

        core._embed = types.MethodType(embed_recording, core)
        tracker.embedder = counted

    def deferred_calls(self) -> int:
        """ReID calls if each frame's bank-only rows joined the next frame's call (one call at the end for the
        last frame's): deferring saves a call only where a frame with bank-only rows alone is followed by a call."""
        if not self.per_frame:
            return 0
        now, late = np.array(self.per_frame).T
        return int(((now + np.concatenate([[0], late[:-1]])) > 0).sum() + (late[-1] > 0))


def build(cfg, frames: list[np.ndarray]) -> tuple[dict[str, Tracker], CallCounter]:
    """The four trackers; the free-forward one replays the forward outputs of a recorded first pass."""
    trackers = {mode: Tracker.from_config(cfg, frame_rate=cfg.frame_rate) for mode in MODES[:3]}
    trackers["detection only"] = Tracker.from_config(cfg.replace(["reid.model=none"]), frame_rate=cfg.frame_rate)
    late = trackers["no late rows"].core
    late._needs_embedding = types.MethodType(lambda _s, gate, gated_iou, lost, compare: compare.any(axis=0), late)
    replayed = trackers["free forward"]
    forward, recorded, position = replayed.embedder.model, [], [0]
    replayed.embedder.model = lambda crops: recorded.append(forward(crops)) or recorded[-1]
    for frame in frames:
        replayed.update(frame)

    def replay(crops: np.ndarray) -> np.ndarray:
        out = recorded[position[0]]
        position[0] += 1
        if len(out) != len(crops):
            sys.exit("the free-forward tracker asked for other crops than the recorded pass")
        return out.copy()

    replayed.embedder.model = replay
    replayed.reset = _chain(replayed.reset, lambda: position.__setitem__(0, 0))
    for mode, tracker in trackers.items():
        if mode != "free forward":
            for frame in frames[:WARMUP]:
                tracker.update(frame)
    return trackers, CallCounter(replayed)  # the same calls as the full tracker, without timing the counting there


def _chain(first, then):
    def both() -> None:
        first()
        then()

    return both


def rotate(
    trackers: dict[str, Tracker], frames: list[np.ndarray], repeats: int
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Wall and process-CPU ms per update() of each mode, every frame run by all modes in a rotating order; stops
    if the free forward gives other tracks than the full tracker. CPU time does not count the time other processes
    hold the cores (it still counts their cache misses, and the detector's second thread)."""
    times: dict[str, list[float]] = defaultdict(list)
    cpu: dict[str, list[float]] = defaultdict(list)
    names = list(trackers)
    for repeat in range(repeats):
        for tracker in trackers.values():
            tracker.reset()
        for i, frame in enumerate(frames):
            shift = (i + repeat) % len(names)
            outputs = {}
            for mode in names[shift:] + names[:shift]:
                start, start_cpu = time.perf_counter(), time.process_time()
                objects = trackers[mode].update(frame)
                times[mode].append((time.perf_counter() - start) * MS)
                cpu[mode].append((time.process_time() - start_cpu) * MS)
                outputs[mode] = [(o.track_id, tuple(o.xyxy)) for o in objects]
            if outputs["full"] != outputs["free forward"]:
                sys.exit(f"frame {i}: the replayed forward gave other tracks than the real one")
    return {mode: np.array(v) for mode, v in times.items()}, {mode: np.array(v) for mode, v in cpu.items()}


class DeferredLateRows:
    """Timing stand-in for deferring the late rows: `update` embeds only the compared rows; the late rows' crops
    are cut and their forward runs in a thread from the end of this `update()` to the start of the next."""

    def __init__(self, tracker: Tracker) -> None:
        self.tracker, self._thread = tracker, None
        core, needs, frame_pairs = tracker.core, tracker.core._needs_embedding, tracker.core._frame_pairs
        self._dets, self._parts, self._late = None, None, np.zeros(0, dtype=np.int64)
        self._forward = tracker.embedder.model
        self._size = (tracker.config.reid.crop_height, tracker.config.reid.crop_width)

        def pairs_recording(_self: object, dets, frame_size=None):
            pairs = frame_pairs(dets, frame_size)
            self._dets, self._parts = dets, pairs.part_boxes
            return pairs

        def compared_only(_self: object, gate, gated_iou, lost, compare):
            now = compare.any(axis=0)
            late = needs(gate, gated_iou, lost, compare) & ~now & core._can_use_appearance(self._dets, self._parts)
            self._late = np.flatnonzero(late & ~self._dets.has_embedding)
            return now

        core._frame_pairs = types.MethodType(pairs_recording, core)
        core._needs_embedding = types.MethodType(compared_only, core)

    def update(self, frame: np.ndarray) -> list:
        self.join()
        self._late = np.zeros(0, dtype=np.int64)
        objects = self.tracker.update(frame)
        if len(self._late):
            crops = cut_crops(frame, self._dets.boxes_xyxy[self._late], self._size)
            self._thread = threading.Thread(target=self._forward, args=(crops,))
            self._thread.start()
        return objects

    def join(self) -> None:
        if self._thread is not None:
            self._thread.join()
            self._thread = None


def deferred_passes(cfg, frames: list[np.ndarray], repeats: int) -> dict[str, np.ndarray]:
    """frames/s of whole passes, alternating: full, deferred (simulated), detection only."""
    full = Tracker.from_config(cfg, frame_rate=cfg.frame_rate)
    deferred = DeferredLateRows(Tracker.from_config(cfg, frame_rate=cfg.frame_rate))
    detection = Tracker.from_config(cfg.replace(["reid.model=none"]), frame_rate=cfg.frame_rate)
    runs = {"full": (full.reset, full.update, lambda: None)}
    runs["deferred (simulated)"] = (deferred.tracker.reset, deferred.update, deferred.join)
    runs["detection only"] = (detection.reset, detection.update, lambda: None)
    for _, update, finish in runs.values():
        for frame in frames[:WARMUP]:
            update(frame)
        finish()
    fps: dict[str, list[float]] = defaultdict(list)
    names = list(runs)
    for repeat in range(repeats):
        for mode in names if repeat % 2 == 0 else names[::-1]:
            reset, update, finish = runs[mode]
            reset()
            start = time.perf_counter()
            for frame in frames:
                update(frame)
            finish()
            fps[mode].append(len(frames) / (time.perf_counter() - start))
    return {mode: np.array(values) for mode, values in fps.items()}


def call_contexts(tracker: Tracker, frames: list[np.ndarray], calls: int) -> dict[tuple[int, str], tuple[float, float]]:
    """Median wall and thread-CPU ms of one ReID forward of k crops in each context, contexts alternating call by
    call (OpenVINO runs a one-thread inference on the calling thread: its CPU time is the call's work)."""
    detector, forward = tracker.detector, tracker.embedder.model
    size = (tracker.config.reid.crop_height, tracker.config.reid.crop_width)
    boxes = detector(frames[0])[0]
    if len(boxes) < max(CALL_SIZES):
        return {}
    crops = {k: cut_crops(frames[0], boxes[:k], size) for k in CALL_SIZES}
    source, target = np.ones(FLUSH_BYTES, dtype=np.uint8), np.empty(FLUSH_BYTES, dtype=np.uint8)
    before = {
        "warm (same call before)": lambda k, i: forward(crops[k]),
        "after a detector call": lambda k, i: detector(frames[i % len(frames)]),
        "after copying 64 MB": lambda k, i: np.copyto(target, source),
        "after another batch size": lambda k, i: forward(crops[CALL_SIZES[k % len(CALL_SIZES)]]),
    }
    times: dict[tuple[int, str], list[tuple[float, float]]] = defaultdict(list)
    for i in range(calls):
        for k in CALL_SIZES:
            for context, run_before in before.items():
                run_before(k, i)
                start, start_cpu = time.perf_counter(), time.thread_time()
                forward(crops[k])
                times[k, context].append(((time.perf_counter() - start) * MS, (time.thread_time() - start_cpu) * MS))
    return {key: tuple(np.median(np.array(values), axis=0).tolist()) for key, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=positive_int, default=100, help="frames per source")
    parser.add_argument("--repeats", type=positive_int, default=3, help="passes over the frames")
    parser.add_argument("--calls", type=positive_int, default=40, help="timed ReID calls per size and context")
    parser.add_argument("--set", action="append", default=[], dest="overrides", help="config override key=value")
    args = parser.parse_args()
    quiet_ultralytics()  # its "Loading ..." lines are noise among the tool's figures (as `track -q`)
    shared, cfg = shared_config_or_usage(parser, "cpu", args.overrides)
    sources = {"768x576": shared / "data" / "PETS09-S3-MF1", "1080p": shared / "videos" / "people.mp4"}
    print(f"load average {os.getloadavg()[0]:.2f}; {args.frames} frames x {args.repeats} passes, modes rotating")
    for label, source in sources.items():
        frames, _ = read_frames(source, args.frames)
        trackers, counter = build(cfg, frames)
        times, cpu = rotate(trackers, frames, args.repeats)
        n = len(frames) * args.repeats
        print(f"\n{label} (load average {os.getloadavg()[0]:.2f}): ms per update(), median (mean); frames/s ratio to")
        print("detection only from the medians (means); median extra ms per frame over detection only; wall | CPU")
        for mode in MODES:
            cells = []
            for kind in (times, cpu):
                t, base = kind[mode], kind["detection only"]
                cells.append(
                    f"{np.median(t):7.2f} ({t.mean():7.2f}) ratio {np.median(base) / np.median(t):.3f} "
                    f"({base.mean() / t.mean():.3f}) extra {np.median(t - base):5.2f}"
                )
            print(f"  {mode:<15} " + " | ".join(cells))
        print(
            f"  ReID calls/frame {(counter.now_calls + counter.late_calls) / n:.2f} = now "
            f"{counter.now_calls / n:.2f} + late only {counter.late_calls / n:.2f}; crops/frame "
            f"{(counter.now_rows + counter.late_rows) / n:.2f} = compared {counter.now_rows / n:.2f} + banks only "
            f"{counter.late_rows / n:.2f}; calls/frame with the bank-only rows deferred to the next frame's call "
            f"{counter.deferred_calls() / n:.2f}"
        )
        fps = deferred_passes(cfg, frames, args.repeats)
        print("  whole passes, alternating, frames/s median (range); ratio to detection only per pass median (range):")
        for mode, values in fps.items():
            ratio = values / fps["detection only"]
            print(
                f"    {mode:<22} {np.median(values):6.2f} ({values.min():.2f}-{values.max():.2f})  ratio "
                f"{np.median(ratio):.3f} ({ratio.min():.3f}-{ratio.max():.3f})"
            )
        contexts = call_contexts(trackers["full"], frames, args.calls)
        if contexts:
            print("  one ReID call, median wall / thread-CPU ms:", ", ".join(f"{k} crops" for k in CALL_SIZES))
            for context in dict.fromkeys(c for _, c in contexts):
                cells = (f"{contexts[k, context][0]:6.2f} / {contexts[k, context][1]:5.2f}" for k in CALL_SIZES)
                print(f"    {context:<26} " + "   ".join(cells))
    print(f"\nload average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    raise SystemExit(run_tool(main))
