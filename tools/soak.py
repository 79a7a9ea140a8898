"""Soak test: run the tracker core for many synthetic frames with constant churn and watch memory and time.

    python tools/soak.py                          # 1 000 000 frames, D=128
    python tools/soak.py --frames 100000 --dim 512 --people 12

The scene is a 1080p street: people enter at random from the edges, walk across and leave, are occluded
for a random while (some longer than a lost track is kept), and the detector adds a few false positives and
low-score boxes. Each person's embedding is a fixed identity vector plus noise (cosine ~0.9 to itself, ~0 to
others). Every `--report-every` frames it prints the process RSS (VmRSS from /proc/self/status), the bank's
tensor bytes and slot count, the number of tracks held, the live Python objects, and the median ms/frame of
the last window.

Pass criteria (printed at the end; exit status 1 on failure):
    * RSS growth from the first report (after warm-up) to the end < 50 MB;
    * the median CPU ms/frame of the last window <= 1.5 x that of the first window + 0.2 ms (flat per-frame time;
      CPU time of this process, so other work on the machine does not count; wall time is printed too);
    * the bank's slot count and the track list stay bounded (no growth after warm-up beyond one doubling).
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's tracker/, not the installed one

from tracker import Tracker, load_config  # noqa: E402
from tracker.cli_args import non_negative_int, positive_int  # noqa: E402
from tracker.closed_pipe import run_tool  # noqa: E402

__all__ = ["Snapshot", "SoakReport", "SoakScene", "rss_bytes", "run_soak"]

WIDTH, HEIGHT = 1920.0, 1080.0
MAX_RSS_GROWTH = 50 * 1024 * 1024
MAX_TIME_RATIO = 1.5
TIME_SLACK_MS = 0.2
MAX_WARMUP = 20_000  # frames: the longest default warm-up before the first snapshot


def rss_bytes() -> int:
    """Resident set size of this process, from /proc/self/status (Linux; 0 where unavailable)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class SoakScene:
    """People entering, crossing and leaving a 1080p frame, with occlusions, false positives and low scores.

    Args:
        dim: D, embedding size.
        people: the number of people the scene tends to hold at once (births balance departures).
        seed: RNG seed; the scene is deterministic for a seed.
        noise: embedding noise as the norm of the noise vector relative to the unit identity vector.
    """

    def __init__(self, dim: int = 128, people: int = 8, seed: int = 0, noise: float = 0.3) -> None:
        self.dim = dim
        self.target = people
        self.rng = np.random.default_rng(seed)
        self.noise_scale = noise / np.sqrt(dim)
        self.next_identity = 0
        self.spawned = 0
        self.pos = np.zeros((0, 2))
        self.vel = np.zeros((0, 2))
        self.size = np.zeros((0, 2))
        self.hidden_until = np.zeros(0, dtype=np.int64)
        self.identity = np.zeros(0, dtype=np.int64)
        self.base = np.zeros((0, dim), dtype=np.float32)
        self.frame = 0
        for _ in range(people):
            self._spawn(anywhere=True)

    def _spawn(self, anywhere: bool = False) -> None:
        rng = self.rng
        h = rng.uniform(80, 260)
        w = h * rng.uniform(0.35, 0.5)
        speed = rng.uniform(1.0, 6.0)  # pixels per frame
        if anywhere:
            pos = np.array([rng.uniform(w, WIDTH - w), rng.uniform(h, HEIGHT - h)])
            angle = rng.uniform(0, 2 * np.pi)
        else:
            side = rng.integers(4)
            along = rng.uniform(0.1, 0.9)
            pos, angle = {
                0: (np.array([-w / 3, along * HEIGHT]), rng.uniform(-0.5, 0.5)),
                1: (np.array([WIDTH + w / 3, along * HEIGHT]), np.pi + rng.uniform(-0.5, 0.5)),
                2: (np.array([along * WIDTH, -h / 3]), np.pi / 2 + rng.uniform(-0.5, 0.5)),
                3: (np.array([along * WIDTH, HEIGHT + h / 3]), -np.pi / 2 + rng.uniform(-0.5, 0.5)),
            }[int(side)]
        vec = rng.normal(size=self.dim).astype(np.float32)
        self.pos = np.vstack([self.pos, pos])
        self.vel = np.vstack([self.vel, speed * np.array([np.cos(angle), np.sin(angle)])])
        self.size = np.vstack([self.size, [w, h]])
        self.hidden_until = np.append(self.hidden_until, 0)
        self.identity = np.append(self.identity, self.next_identity)
        self.base = np.vstack([self.base, vec / np.linalg.norm(vec)])
        self.next_identity += 1
        self.spawned += 1

    def step(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The next frame: boxes_xyxy (N, 4), scores (N,), class_ids (N,), embeddings (N, D) float32."""
        rng = self.rng
        self.frame += 1
        self.pos += self.vel + rng.normal(scale=0.3, size=self.pos.shape)
        # Departures: out of the frame by more than half a box.
        margin = self.size / 2
        inside = (self.pos > -margin).all(axis=1) & (self.pos < np.array([WIDTH, HEIGHT]) + margin).all(axis=1)
        if not inside.all():
            keep = np.flatnonzero(inside)
            self.pos, self.vel, self.size = self.pos[keep], self.vel[keep], self.size[keep]
            self.hidden_until, self.identity, self.base = (
                self.hidden_until[keep],
                self.identity[keep],
                self.base[keep],
            )
        # Arrivals: keep the head count around the target.
        births = rng.poisson(0.02 * max(0.25, self.target - len(self.pos) + 1))
        for _ in range(int(births)):
            self._spawn()
        # Occlusions: mostly short, some longer than a lost track is kept (10 s = 300 frames).
        start = (rng.random(len(self.pos)) < 0.004) & (self.hidden_until <= self.frame)
        if start.any():
            lengths = np.where(rng.random(start.sum()) < 0.9, rng.integers(3, 90, start.sum()), 400)
            self.hidden_until[start] = self.frame + lengths
        shown = np.flatnonzero(self.hidden_until <= self.frame)

        boxes = np.concatenate([self.pos[shown] - self.size[shown] / 2, self.pos[shown] + self.size[shown] / 2], 1)
        scores = rng.uniform(0.55, 0.95, len(shown))
        scores[rng.random(len(shown)) < 0.05] = rng.uniform(0.15, 0.4)  # partly hidden: a low-score box
        emb = self.base[shown] + rng.normal(scale=self.noise_scale, size=(len(shown), self.dim)).astype(np.float32)
        extra = rng.poisson(0.3)  # false positives
        if extra:
            xy = rng.uniform([0, 0], [WIDTH - 60, HEIGHT - 150], size=(extra, 2))
            boxes = np.vstack([boxes, np.concatenate([xy, xy + [50.0, 140.0]], 1)])
            scores = np.concatenate([scores, rng.uniform(0.2, 0.7, extra)])
            junk = rng.normal(size=(extra, self.dim)).astype(np.float32)
            emb = np.vstack([emb, junk / np.linalg.norm(junk, axis=1, keepdims=True)])
        return boxes, scores, np.zeros(len(scores), dtype=np.int64), emb.astype(np.float32, copy=False)


@dataclass(frozen=True)
class Snapshot:
    """The state at one report: frame, RSS bytes, bank bytes and slots, tracks held, Python objects, ms/frame."""

    frame: int
    rss: int
    bank_bytes: int
    bank_slots: int
    tracks: int
    objects: int
    ms_per_frame: float
    cpu_ms_per_frame: float

    def line(self) -> str:
        return (
            f"frame {self.frame:>9,}  rss {self.rss / 2**20:8.1f} MB  bank {self.bank_bytes / 2**20:7.2f} MB"
            f" ({self.bank_slots} slots)  tracks {self.tracks:4d}  objects {self.objects:>8,}"
            f"  {self.ms_per_frame:6.3f} ms/frame ({self.cpu_ms_per_frame:6.3f} CPU)"
        )


@dataclass
class SoakReport:
    """Snapshots over the run and the pass criteria."""

    frames: int
    dim: int
    snapshots: list[Snapshot] = field(default_factory=list)
    max_tracks: int = 0
    max_slots: int = 0
    ids_issued: int = 0
    people_spawned: int = 0
    seconds: float = 0.0

    @property
    def start(self) -> Snapshot:
        return self.snapshots[0]

    @property
    def end(self) -> Snapshot:
        return self.snapshots[-1]

    @property
    def rss_growth(self) -> int:
        return self.end.rss - self.start.rss

    @property
    def time_ratio(self) -> float:
        return self.end.cpu_ms_per_frame / max(self.start.cpu_ms_per_frame, 1e-9)

    def checks(self) -> dict[str, bool]:
        return {
            f"rss growth {self.rss_growth / 2**20:.1f} MB < {MAX_RSS_GROWTH / 2**20:.0f} MB": self.rss_growth
            < MAX_RSS_GROWTH,
            f"time flat: {self.end.cpu_ms_per_frame:.3f} CPU ms/frame at the end vs {self.start.cpu_ms_per_frame:.3f}"
            f" at the start (ratio {self.time_ratio:.2f} <= {MAX_TIME_RATIO})": self.end.cpu_ms_per_frame
            <= MAX_TIME_RATIO * self.start.cpu_ms_per_frame + TIME_SLACK_MS,
            f"bank bounded: {self.end.bank_slots} slots at the end, {self.start.bank_slots} after warm-up": (
                self.end.bank_slots <= 2 * self.start.bank_slots
            ),
            f"bank bytes bounded: {self.end.bank_bytes:,} at the end, {self.start.bank_bytes:,} after warm-up": (
                self.end.bank_bytes <= 2 * self.start.bank_bytes
            ),
        }

    @property
    def passed(self) -> bool:
        return all(self.checks().values())

    def summary(self) -> str:
        lines = [
            f"soak: {self.frames:,} frames, D={self.dim}, {self.seconds:.0f} s"
            f" ({1e3 * self.seconds / max(self.frames, 1):.3f} ms/frame overall)",
            f"start: {self.start.line()}",
            f"end:   {self.end.line()}",
            f"peak tracks held {self.max_tracks}, peak bank slots {self.max_slots};"
            f" {self.ids_issued:,} IDs issued for {self.people_spawned:,} people",
        ]
        lines += [f"{'PASS' if ok else 'FAIL'}  {name}" for name, ok in self.checks().items()]
        lines.append("PASS" if self.passed else "FAIL")
        return "\n".join(lines)


def default_warmup(frames: int, window: int) -> int:
    """Frames run before the first snapshot when none is given: 5 % of the run, at least `window`, at most
    `MAX_WARMUP`."""
    return min(MAX_WARMUP, max(window, frames // 20))


def run_soak(
    frames: int,
    dim: int = 128,
    people: int = 8,
    seed: int = 0,
    warmup: int | None = None,
    window: int = 2000,
    report_every: int | None = None,
    on_report: Callable[[Snapshot], None] | None = None,
    overrides: list[str] | None = None,
) -> SoakReport:
    """Run `frames` synthetic frames through a CPU `Tracker`; snapshot after warm-up, periodically and at the end.

    `window` frames before each snapshot give its median ms/frame. Warm-up defaults to 5 % of the run (at
    least `window`, at most 20 000 frames) so the start snapshot sees a scene in steady state (banks full,
    lost tracks expiring).
    """
    if warmup is None:
        warmup = default_warmup(frames, window)
    if report_every is None:
        report_every = max(window, frames // 20)
    if frames < warmup + window:
        raise ValueError(f"frames must be at least warmup + window = {warmup + window}")
    cfg = load_config(None, overrides=["device=cpu", *(overrides or [])])
    tracker = Tracker(cfg, frame_rate=30)
    core = tracker.core
    scene = SoakScene(dim=dim, people=people, seed=seed)
    report = SoakReport(frames=frames, dim=dim)
    times = np.zeros(window)
    cpu_times = np.zeros(window)
    max_id = 0
    began = time.perf_counter()

    def snapshot(frame: int) -> None:
        gc.collect()
        snap = Snapshot(
            frame=frame,
            rss=rss_bytes(),
            bank_bytes=core.bank.nbytes,
            bank_slots=core.bank.num_slots,
            tracks=len(core.tracks),
            objects=len(gc.get_objects()),
            ms_per_frame=1e3 * float(np.median(times)),
            cpu_ms_per_frame=1e3 * float(np.median(cpu_times)),
        )
        report.snapshots.append(snap)
        if on_report is not None:
            on_report(snap)

    for frame in range(1, frames + 1):
        boxes, scores, classes, emb = scene.step()
        t0, c0 = time.perf_counter(), time.process_time()
        out = tracker.update_detections(boxes, scores, classes, emb)
        times[frame % window] = time.perf_counter() - t0
        cpu_times[frame % window] = time.process_time() - c0
        for obj in out:
            max_id = max(max_id, obj.track_id)
        report.max_tracks = max(report.max_tracks, len(core.tracks))
        report.max_slots = max(report.max_slots, core.bank.num_slots)
        if frame in (warmup, frames) or (frame > warmup and (frame - warmup) % report_every == 0):
            snapshot(frame)
    report.seconds = time.perf_counter() - began
    report.ids_issued = max_id
    report.people_spawned = scene.spawned
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=positive_int, default=1_000_000, help="frames to run (default 1 000 000)")
    parser.add_argument("--dim", type=int, default=128, choices=(128, 512), help="embedding size D")
    parser.add_argument("--people", type=non_negative_int, default=8, help="people in the scene at once, on average")
    parser.add_argument("--seed", type=non_negative_int, default=0)
    parser.add_argument("--window", type=positive_int, default=2000, help="frames per ms/frame median")
    parser.add_argument("--report-every", type=positive_int, default=None, help="frames between reports (default 5 %%)")
    parser.add_argument(
        "--threads",
        type=positive_int,
        default=1,
        help="torch intra-op threads (default 1: the bank's ops are tiny, and on a busy machine a second"
        " OpenMP thread costs a scheduler time slice per op)",
    )
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE", help="config override")
    args = parser.parse_args(argv)
    least = default_warmup(args.frames, args.window) + args.window
    if args.frames < least:  # was a ValueError traceback from run_soak (or a ZeroDivisionError for --window 0)
        parser.error(
            f"--frames: must be at least {least:,}, a warm-up of {least - args.window:,} frames and one --window"
            f" of {args.window:,}; got {args.frames:,}"
        )
    torch.set_num_threads(args.threads)
    print(
        f"soak: {args.frames:,} frames, D={args.dim}, ~{args.people} people, {args.threads} torch thread(s)",
        flush=True,
    )
    report = run_soak(
        args.frames,
        dim=args.dim,
        people=args.people,
        seed=args.seed,
        window=args.window,
        report_every=args.report_every,
        on_report=lambda snap: print(snap.line(), flush=True),
        overrides=args.set,
    )
    print(report.summary(), flush=True)
    return 0 if report.passed else 1


if __name__ == "__main__":
    raise SystemExit(run_tool(main))
