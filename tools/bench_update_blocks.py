"""`update()` frame by frame for several configs in one process, in alternating blocks of frames (for a shared CPU).

Each mode is a tracker built from the shared config plus its own overrides (default: ReID as configured, and detection
only). The modes track the same frames in turns of `--block` frames (the order flips every block), so a change in
the machine's load hits all of them alike; the first `--skip` frames of each turn are not counted (they pay for the
previous mode's caches and threads). Per mode and frame it times the detector's call, the ReID call(s), the ReID
network's own call(s) inside them (the embedder's `model`: OpenVINO's forward, or the PyTorch module) and the whole
`update()`, each by the wall clock and the process's CPU time (all threads: the runtime's workers and spinning
included, other processes not), and how long tasks on the machine waited for a CPU meanwhile (Linux's CPU pressure
stall information, PSI). The ratios compare each mode with `--baseline` (detection only): `update()` frames/s
(what issue 14 measures), and the detector's own call, which is the same work in every mode: a ratio above 1 means
the work between two detector calls slows the next one down (cold caches, sleeping or spinning threads). Last, where
each mode's extra CPU time a frame over the baseline goes: the detector's own call, the ReID network, the rest of the
ReID call (crops, normalisation) and the rest of `update()` (the core's appearance work, the call's plumbing).
The same ratios are then given over the quiet frames only: those during which no task waited for a CPU (PSI's stall
under `--quiet-ms`), i.e. no other process took a core from this one. On a shared host only these show what a quiet
machine would (stop 71: the detector's slowdown behind the ReID, 1.04x there, vanished among the loaded frames).

    python tools/bench_update_blocks.py [--source 1080p|768x576] [--frames 100] [--passes 4] [--block 10]
        [--mode NAME=key=value,key=value ...] [--set key=value ...] [--quiet-ms 0.2]

e.g. `--mode reid= --mode "detection only=reid.model=none" --mode "reid, 2 detector threads=detector.threads=0"`.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_pipeline import WARMUP, models_or_usage, read_frames, shared_config_or_usage  # noqa: E402

from tracker import Tracker  # noqa: E402
from tracker.cli_args import non_negative_float, non_negative_int, positive_int  # noqa: E402
from tracker.closed_pipe import run_tool  # noqa: E402
from tracker.config import ConfigError  # noqa: E402
from tracker.detector import quiet_ultralytics  # noqa: E402

MS = 1000.0
BASELINE = "detection only"
DEFAULT_MODES = ("reid=", f"{BASELINE}=reid.model=none")
# ms, one row per counted frame; "forward": the ReID network's own call(s), inside the ReID call; "stall": how long
# some task on the machine waited for a CPU during the update() (PSI; NaN where the kernel does not report it)
COLUMNS = ("detect", "detect cpu", "reid", "reid cpu", "forward", "forward cpu", "update", "update cpu", "stall")
PRESSURE = Path("/proc/pressure/cpu")  # Linux's CPU pressure stall information: its "some" line's total=us
QUIET_STALL_MS = 0.2  # --quiet-ms default: a frame is quiet when tasks waited less than this for a CPU during it


def parse_mode(text: str) -> tuple[str, list[str]]:
    """'NAME=key=value,key=value' -> (NAME, [overrides]); 'NAME=' has none. A value may not contain a comma."""
    name, sep, rest = text.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"a mode is NAME=overrides (e.g. 'no reid=reid.model=none'), got {text!r}")
    return name.strip(), [item.strip() for item in rest.split(",") if item.strip()]


def cpu_stall_ms() -> float:
    """ms that some task on this machine has waited for a CPU since boot (the "some" line of Linux's CPU pressure
    stall information, /proc/pressure/cpu, microseconds); NaN where the kernel does not report it (not Linux, PSI
    off). It grows while any task is runnable without a CPU: another process on a core this one wants, or this
    process's own threads outnumbering the cores."""
    try:
        with PRESSURE.open() as file:
            return int(file.readline().rsplit("=", 1)[1]) / MS
    except (OSError, ValueError, IndexError):
        return float("nan")


class FrameClock:
    """Wall and process-CPU ms of the wrapped calls within the current frame."""

    def __init__(self) -> None:
        self.spent: dict[str, tuple[float, float]] = {}

    def wrap(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            start, start_cpu = time.perf_counter(), time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                wall, cpu = self.spent.get(name, (0.0, 0.0))
                self.spent[name] = (
                    wall + (time.perf_counter() - start) * MS,
                    cpu + (time.process_time() - start_cpu) * MS,
                )

        return timed


def run_blocks(
    trackers: dict[str, Tracker],
    frames: list[np.ndarray],
    passes: int,
    block: int,
    skip: int,
    stall_clock: Callable[[], float] = cpu_stall_ms,
) -> dict[str, np.ndarray]:
    """(counted frames, len(COLUMNS)) ms per mode; every pass starts from reset trackers. `stall_clock`: the
    machine's CPU stall time so far, ms (`cpu_stall_ms`), read before and after each update()."""
    clock = FrameClock()
    for tracker in trackers.values():
        tracker.detector = clock.wrap("detect", tracker.detector)
        if tracker.embedder is not None:
            if callable(getattr(tracker.embedder, "model", None)):  # OSNet's network (OpenVINO's or PyTorch's)
                tracker.embedder.model = clock.wrap("forward", tracker.embedder.model)
            tracker.embedder = clock.wrap("reid", tracker.embedder)
    rows: dict[str, list[tuple[float, ...]]] = {mode: [] for mode in trackers}
    names = list(trackers)
    for repeat in range(passes):
        for tracker in trackers.values():
            tracker.reset()
        for first in range(0, len(frames), block):
            turn = first // block + repeat
            for mode in names if turn % 2 == 0 else names[::-1]:
                for i in range(first, min(first + block, len(frames))):
                    clock.spent.clear()
                    stalled = stall_clock()
                    start, start_cpu = time.perf_counter(), time.process_time()
                    trackers[mode].update(frames[i])
                    total = ((time.perf_counter() - start) * MS, (time.process_time() - start_cpu) * MS)
                    stalled = stall_clock() - stalled
                    if i - first >= skip:
                        spent = [clock.spent.get(name, (0.0, 0.0)) for name in ("detect", "reid", "forward")]
                        rows[mode].append((*(ms for pair in spent for ms in pair), *total, stalled))
    return {mode: np.array(values) for mode, values in rows.items()}


def report(results: dict[str, np.ndarray], baseline: str, quiet_ms: float = QUIET_STALL_MS) -> None:
    """Print each mode's ms a frame, its ratios to `baseline`, where its extra CPU time over it goes, and the ratios
    over the frames no task waited more than `quiet_ms` for a CPU during (`quiet_ratios`)."""
    col = {name: COLUMNS.index(name) for name in COLUMNS}
    width = max(len(mode) for mode in results)
    print("ms per frame, median / mean; CPU: the process's CPU time (all threads)")
    print(
        f"{'mode':<{width}} {'detect':>13} {'detect CPU':>13} {'ReID mean':>9} {'ReID CPU':>9} {'forward':>9} "
        f"{'fwd CPU':>9} {'update':>13} {'update CPU':>13}"
    )
    for mode, t in results.items():
        cells = [f"{np.median(t[:, col[c]]):6.2f}/{t[:, col[c]].mean():6.2f}" for c in ("detect", "detect cpu")]
        cells += [f"{t[:, col[c]].mean():9.2f}" for c in ("reid", "reid cpu", "forward", "forward cpu")]
        cells += [f"{np.median(t[:, col[c]]):6.2f}/{t[:, col[c]].mean():6.2f}" for c in ("update", "update cpu")]
        print(f"{mode:<{width}} " + " ".join(cells))
    base = results[baseline]
    update, update_cpu, detect, detect_cpu = (col[c] for c in ("update", "update cpu", "detect", "detect cpu"))
    print(
        f"\nagainst {baseline!r}: update() frames/s ratio (wall median, wall mean, CPU mean); the detector's own "
        "call, time ratio (wall median, CPU median, CPU mean; 1 = not slowed by what runs between its calls)"
    )
    for mode, t in results.items():
        if mode == baseline:
            continue
        fps = (
            np.median(base[:, update]) / np.median(t[:, update]),
            base[:, update].mean() / t[:, update].mean(),
            base[:, update_cpu].mean() / t[:, update_cpu].mean(),
        )
        det = (
            np.median(t[:, detect]) / np.median(base[:, detect]),
            np.median(t[:, detect_cpu]) / np.median(base[:, detect_cpu]),
            t[:, detect_cpu].mean() / base[:, detect_cpu].mean(),
        )
        print(
            f"{mode:<{width}} frames/s {fps[0]:.3f} {fps[1]:.3f} {fps[2]:.3f}   detector {det[0]:.3f} {det[1]:.3f} "
            f"{det[2]:.3f}"
        )
    print(
        f"\nextra CPU ms a frame over {baseline!r} (means): the detector's own call, the ReID network, the rest of "
        "the ReID call (crops, normalisation), the rest of update() (the core's appearance work, plumbing)"
    )
    for mode, t in results.items():
        if mode == baseline:
            continue
        mean = {name: t[:, col[name]].mean() - base[:, col[name]].mean() for name in COLUMNS}
        rest = mean["update cpu"] - mean["detect cpu"] - mean["reid cpu"]
        print(
            f"{mode:<{width}} {mean['update cpu']:6.2f} = detector {mean['detect cpu']:5.2f} + network "
            f"{mean['forward cpu']:5.2f} + rest of ReID {mean['reid cpu'] - mean['forward cpu']:5.2f} + rest "
            f"{rest:5.2f}"
        )
    quiet_ratios(results, baseline, quiet_ms)


def quiet_ratios(results: dict[str, np.ndarray], baseline: str, quiet_ms: float) -> None:
    """Print, over each mode's quiet frames (CPU stall under `quiet_ms` during the update()), their count, the
    update() frames/s ratio to `baseline` and the detector's own call's time ratio (wall median, CPU median)."""
    stall, update, detect, detect_cpu = (COLUMNS.index(c) for c in ("stall", "update", "detect", "detect cpu"))
    if any(np.isnan(t[:, stall]).any() for t in results.values()):
        print(f"\nno quiet-frame figures: the kernel reports no CPU pressure stall information ({PRESSURE})")
        return
    quiet = {mode: t[t[:, stall] < quiet_ms] for mode, t in results.items()}
    counts = ", ".join(f"{mode} {len(t)}" for mode, t in quiet.items())
    print(f"\nquiet frames (no task waited {quiet_ms} ms or more for a CPU during the update()): {counts}")
    base = quiet[baseline]
    for mode, t in quiet.items():
        if mode == baseline:
            continue
        if not len(t) or not len(base):
            print(f"{mode:<{max(len(m) for m in quiet)}} too few quiet frames")
            continue
        fps = np.median(base[:, update]) / np.median(t[:, update])
        det = (
            np.median(t[:, detect]) / np.median(base[:, detect]),
            np.median(t[:, detect_cpu]) / np.median(base[:, detect_cpu]),
        )
        print(
            f"{mode:<{max(len(m) for m in quiet)}} frames/s {fps:.3f} (wall median)   detector {det[0]:.3f} "
            f"{det[1]:.3f} (wall, CPU median)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", choices=("1080p", "768x576"), default="1080p")
    parser.add_argument("--frames", type=positive_int, default=100, help="frames tracked per pass")
    parser.add_argument("--passes", type=positive_int, default=4, help="passes over the frames")
    parser.add_argument(
        "--block", type=positive_int, default=10, help="frames a mode tracks before the next mode's turn"
    )
    parser.add_argument("--skip", type=non_negative_int, default=2, help="frames of each turn not counted")
    parser.add_argument("--mode", type=parse_mode, action="append", default=None, help="NAME=key=value,...")
    parser.add_argument("--baseline", default=BASELINE, help="the mode the ratios compare with")
    parser.add_argument("--set", action="append", default=[], dest="overrides", help="config override for all modes")
    parser.add_argument(
        "--quiet-ms",
        type=non_negative_float,
        default=QUIET_STALL_MS,
        help="a frame is quiet when tasks waited less than this (ms) for a CPU during it (Linux PSI)",
    )
    args = parser.parse_args()
    quiet_ultralytics()  # its "Loading ..." lines are noise among the tool's figures (as `track -q`)
    modes = dict(args.mode or [parse_mode(text) for text in DEFAULT_MODES])
    if args.baseline not in modes:
        parser.error(f"--baseline {args.baseline!r} is not one of the modes {list(modes)}")
    if args.skip >= args.block:
        parser.error("--skip must be smaller than --block (nothing would be counted)")
    shared, cfg = shared_config_or_usage(parser, "cpu", args.overrides, check_models=False)
    for name, over in modes.items():  # a mode's bad override: one usage line before the frames and models load
        try:
            cfg.replace(over)
        except ConfigError as exc:
            parser.error(f"--mode {name!r}: {exc}")
    for over in modes.values():  # and each mode's weights (a mode may name its own)
        models_or_usage(parser, cfg.replace(over))
    source = shared / "videos" / "people.mp4" if args.source == "1080p" else shared / "data" / "PETS09-S3-MF1"
    frames, _ = read_frames(source, args.frames)
    trackers = {name: Tracker.from_config(cfg.replace(over), frame_rate=cfg.frame_rate) for name, over in modes.items()}
    for tracker in trackers.values():
        for frame in frames[:WARMUP]:
            tracker.update(frame)
    print(
        f"{args.source}: {len(frames)} frames x {args.passes} passes, blocks of {args.block} alternating (first "
        f"{args.skip} of each not counted); load average {os.getloadavg()[0]:.2f}"
    )
    results = run_blocks(trackers, frames, args.passes, args.block, args.skip)
    report(results, args.baseline, args.quiet_ms)
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    raise SystemExit(run_tool(main))
