"""Soak test: run the tracker for many frames with constant churn and watch memory, time and file growth.

    python tools/soak.py                                  # 30 000 frames of bench_core's churn world, core alone
    python tools/soak.py --gallery --timestamps           # ... with a gallery saved to a file, and frame times
    python tools/soak.py --world scene --frames 1000000   # the 1080p street scene below, a million frames
    python tools/soak.py --video people.mp4 --frames 3000 # Tracker.update(frame) on a looped video (CPU models)
    python tools/soak.py --trace                          # ... and tracemalloc's top growth by file:line (slow)
    python tools/soak.py --gallery --cli                  # ... and what the `track` command keeps of each frame

Worlds of the core alone (`update_detections`, synthetic boxes and embeddings):
    churn   `tools/bench_core.py`'s churn world, streamed (its walkers and looks, frame by frame, never all held):
            a new person every 5 frames, detected for 10 s and then gone for good (~60 visible, ~120 tracks
            counting the lost ones kept), 64-d embeddings (`--dim`);
    scene   a 1080p street: people enter at random from the edges, walk across and leave, are occluded for a
            random while (some longer than a lost track is kept), and the detector adds a few false positives
            and low-score boxes. Each person's embedding is a fixed identity vector plus noise.
`--gallery` attaches a `Gallery` (`gallery.max_identities` set by `--max-identities`, reached in the warm-up) and
saves it every `--save-every` frames to a file (a temporary one unless `--gallery-file`); `--cli` gives each frame's
objects to what the `track` command keeps over a run (`RunSummary.tracks` by `count_frame`, and with `--gallery` the
`GlobalIdHistory` of global IDs, as `tracker.run.track_source` feeds them) and reports the entries they hold;
`--timestamps` gives each
frame `timestamp=` (1/30 s apart, a 3 s gap every `--gap-every` frames). `--video` runs the whole pipeline, the
shared yolov8n INT8 detector and OSNet x0.25 on the CPU, on a video of ../shared/videos (or a path) read in a loop.

Every `--report-every` frames it prints the process RSS (VmRSS from /proc/self/status), the bank's tensor bytes
and slot count, the tracks held (live and lost), the gallery's identities and file size, the live Python objects
and the median ms/frame of the last window (and with `--trace`, the lines whose allocations grew most since the
report before: a leak shows in every report). It ends with the slopes after the warm-up (least squares over the
reports): KB of RSS and ms/frame per 1000 frames.

Pass criteria (printed at the end; exit status 1 on failure):
    * RSS growth from the first report (after warm-up) to the end < 50 MB;
    * the median CPU ms/frame of the last window <= 1.5 x that of the first window + 0.2 ms (flat per-frame time;
      CPU time of this process, so other work on the machine does not count; wall time is printed too);
    * the bank's slot count and the track list stay bounded (no growth after warm-up beyond one doubling);
    * `--cli`: the entries `track` keeps (runs of IDs, spans of global IDs) stay bounded the same way.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import cast

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's tracker/, not the installed one
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_core import CHURN_DIM, CHURN_EVERY, CHURN_SECONDS, FPS, NOISE_NORM, churn_walkers  # noqa: E402

from tracker import Tracker, load_config  # noqa: E402
from tracker.cli_args import non_negative_int, positive_int  # noqa: E402
from tracker.closed_pipe import run_tool  # noqa: E402
from tracker.detector import quiet_ultralytics  # noqa: E402
from tracker.gallery import Gallery, ModelIdentity  # noqa: E402
from tracker.global_ids import GlobalIdHistory, live_tracks  # noqa: E402
from tracker.run_summary import RunSummary, count_frame  # noqa: E402
from tracker.testing import identity_embeddings, render  # noqa: E402
from tracker.track import LOST  # noqa: E402

__all__ = ["ChurnStream", "Snapshot", "SoakReport", "SoakScene", "rss_bytes", "run_soak", "slope"]

WIDTH, HEIGHT = 1920.0, 1080.0
MAX_RSS_GROWTH = 50 * 1024 * 1024
MAX_TIME_RATIO = 1.5
TIME_SLACK_MS = 0.2
MAX_WARMUP = 20_000  # frames: the longest default warm-up before the first snapshot
GAP_SECONDS = 3.0  # --timestamps: the occasional gap in the frames' times (a stalled stream), seconds
FILL_MARGIN = 1.2  # --gallery: the warm-up runs this many times the frames the gallery needs to reach its bound
TRACE_TOP = 5  # --trace: lines printed per report
SOAK_MODEL = ModelIdentity("soak-synthetic", "churn")  # the gallery's model: the synthetic looks of this tool


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


class ChurnStream:
    """`tools/bench_core.py`'s churn world frame by frame: `bench_core.world("churn", 0, dim, frames, seed)`'s
    frames, in the same order and with the same looks, without holding them all (a walker is rendered only in
    the frames it can be seen: `render` over every walker of a long run costs O(frames) a frame).

    Args:
        frames: the run's length (its walkers are made up front: ~one per `CHURN_EVERY` frames).
        dim: D, embedding size.
        seed: the world's seed (`bench_core.world`'s).
    """

    def __init__(self, frames: int, dim: int = CHURN_DIM, seed: int = 0) -> None:
        self.people = churn_walkers(frames, seed)
        self.identities = identity_embeddings(len(self.people), dim, seed)
        self.rng = np.random.default_rng(seed + 1)
        self.noise = NOISE_NORM / np.sqrt(dim)
        self.life = round(CHURN_SECONDS * FPS)
        self.frame = -1  # bench_core's frames count from 0

    def step(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The next frame: boxes_xyxy (N, 4), scores (N,), class_ids (N,), embeddings (N, D) float32."""
        self.frame += 1
        # walker i is seen on frames [5i - life, 5i); those seen now: i in (frame / 5, (frame + life) / 5]
        first = self.frame // CHURN_EVERY
        last = (self.frame + self.life) // CHURN_EVERY + 1
        shown = render(self.people[first:last], self.frame, self.identities, self.noise, self.rng)
        classes = np.zeros(len(shown.scores), dtype=np.int64)
        return shown.boxes_xyxy, shown.scores, classes, shown.embeddings.astype(np.float32)


def slope(xs: list[float], ys: list[float]) -> float:
    """Least-squares slope of ys over xs (0.0 for fewer than two distinct xs)."""
    if len(set(xs)) < 2:
        return 0.0
    return float(np.polyfit(np.asarray(xs, dtype=float), np.asarray(ys, dtype=float), 1)[0])


@dataclass(frozen=True)
class Snapshot:
    """The state at one report: frame, RSS bytes, bank bytes and slots, tracks held (all; `lost` of them lost),
    Python objects, ms/frame (median of the window: wall and this process's CPU), gallery identities and file
    bytes (0 without a gallery)."""

    frame: int
    rss: int
    bank_bytes: int
    bank_slots: int
    tracks: int
    objects: int
    ms_per_frame: float
    cpu_ms_per_frame: float
    lost: int = 0
    identities: int = 0
    gallery_bytes: int = 0
    # `--cli`: the IDs `track`'s summary counted, the runs of IDs it keeps them in and the global-ID spans it keeps
    cli_ids: int | None = None
    cli_runs: int = 0
    cli_spans: int = 0

    @property
    def cli_kept(self) -> int:
        """The entries `track` keeps (`--cli`): runs of IDs and spans of global IDs."""
        return self.cli_runs + self.cli_spans

    def line(self) -> str:
        return (
            f"frame {self.frame:>9,}  rss {self.rss / 2**20:8.1f} MB  bank {self.bank_bytes / 2**20:7.2f} MB"
            f" ({self.bank_slots} slots)  tracks {self.tracks:4d} ({self.lost} lost)  ids {self.identities:6,}"
            f"  file {self.gallery_bytes / 2**10:8.0f} KB  objects {self.objects:>8,}"
            f"  {self.ms_per_frame:6.3f} ms/frame ({self.cpu_ms_per_frame:6.3f} CPU)"
            + (
                ""
                if self.cli_ids is None
                else f"  track: {self.cli_ids:,} IDs in {self.cli_runs} runs, {self.cli_spans} spans"
            )
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

    @property
    def kb_per_1000_frames(self) -> float:
        """RSS slope after the warm-up, KB per 1000 frames (least squares over the reports)."""
        return slope([s.frame for s in self.snapshots], [s.rss for s in self.snapshots]) * 1000 / 1024

    @property
    def ms_per_1000_frames(self) -> float:
        """Slope of the CPU ms/frame after the warm-up, ms per 1000 frames (least squares over the reports)."""
        return slope([s.frame for s in self.snapshots], [s.cpu_ms_per_frame for s in self.snapshots]) * 1000

    @property
    def objects_per_1000_frames(self) -> float:
        """Slope of the live Python objects after the warm-up, per 1000 frames."""
        return slope([s.frame for s in self.snapshots], [s.objects for s in self.snapshots]) * 1000

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
            **(
                {}
                if self.end.cli_ids is None
                else {
                    f"track's entries bounded: {self.end.cli_kept:,} at the end, {self.start.cli_kept:,} after warm-up"
                    f" (peak tracks {self.max_tracks})": self.end.cli_kept
                    <= 2 * max(self.start.cli_kept, self.max_tracks)
                }
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
            f"slopes after the warm-up (frames {self.start.frame:,}-{self.end.frame:,}):"
            f" RSS {self.kb_per_1000_frames:+.1f} KB / 1000 frames, CPU {self.ms_per_1000_frames:+.4f} ms/frame"
            f" / 1000 frames, Python objects {self.objects_per_1000_frames:+.1f} / 1000 frames",
        ]
        lines += [f"{'PASS' if ok else 'FAIL'}  {name}" for name, ok in self.checks().items()]
        lines.append("PASS" if self.passed else "FAIL")
        return "\n".join(lines)


def default_warmup(frames: int, window: int) -> int:
    """Frames run before the first snapshot when none is given: 5 % of the run, at least `window`, at most
    `MAX_WARMUP`."""
    return min(MAX_WARMUP, max(window, frames // 20))


def gallery_fill_frames(max_identities: int) -> int:
    """Frames of the churn world before a gallery of at most `max_identities` is full (a newcomer every
    `CHURN_EVERY` frames, stored once lost `lifecycle.max_seconds_lost`, 10 s, after its 10 s in view), with
    `FILL_MARGIN` to spare."""
    return round(FILL_MARGIN * (max_identities * CHURN_EVERY + 2 * CHURN_SECONDS * FPS))


def stamps(gap_every: int, fps: float = FPS) -> Iterator[float]:
    """Frame times in seconds: 1/`fps` apart, `GAP_SECONDS` more every `gap_every` frames (0: never)."""
    now = 0.0
    for frame in range(1, sys.maxsize):
        now += 1.0 / fps + (GAP_SECONDS if gap_every and frame % gap_every == 0 else 0.0)
        yield now


def video_rate(path: Path) -> float:
    """The video's frame rate (frames/s; `FPS` where the container does not say)."""
    import cv2

    capture = cv2.VideoCapture(str(path))
    try:
        rate = capture.get(cv2.CAP_PROP_FPS)
    finally:
        capture.release()
    return float(rate) if rate > 0 else FPS


def video_frames(path: Path) -> Iterator[np.ndarray]:
    """The video's frames (BGR), from its first again after its last, for ever."""
    import cv2

    while True:
        capture = cv2.VideoCapture(str(path))
        try:
            ok, image = capture.read()
            if not ok:
                raise ValueError(f"no frame could be read from {path}")
            while ok:
                yield image
                ok, image = capture.read()
        finally:
            capture.release()


def trace_lines(before: tracemalloc.Snapshot, now: tracemalloc.Snapshot, top: int = TRACE_TOP) -> list[str]:
    """The `top` source lines whose live allocations grew most from `before` to `now` (tracemalloc, by file:line)."""
    stats = now.compare_to(before, "lineno")
    grown = [stat for stat in stats if stat.size_diff > 0][:top]
    return [
        f"    +{stat.size_diff / 2**10:8.1f} KB  +{stat.count_diff:6d} blocks  {stat.traceback[0].filename}:"
        f"{stat.traceback[0].lineno}"
        for stat in grown
    ]


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
    world: str = "scene",
    gallery_file: Path | None = None,
    save_every: int = 0,
    gap_every: int | None = None,
    video: Path | None = None,
    trace: Callable[[list[str]], None] | None = None,
    cli: bool = False,
) -> SoakReport:
    """Run `frames` frames through a CPU `Tracker`; snapshot after warm-up, periodically and at the end.

    `window` frames before each snapshot give its median ms/frame. Warm-up defaults to 5 % of the run (at
    least `window`, at most 20 000 frames) so the start snapshot sees a scene in steady state (banks full,
    lost tracks expiring).

    Args:
        world: "scene" (`SoakScene`, `people` at once) or "churn" (`ChurnStream`) for `update_detections`;
            ignored with `video`.
        gallery_file: attach a `Gallery` of the config's `gallery` settings, saved to this file every
            `save_every` frames (0: never) and at the end; None: no gallery.
        gap_every: give each frame `timestamp=` (`stamps`: 1/30 s apart, or the video's frame time; a 3 s gap
            every `gap_every` frames, 0: no gap); None: no timestamps.
        video: run `Tracker.update(frame)` on this video, looped, with the config's detector and ReID (the
            config must name them: `overrides`) instead of a synthetic world.
        trace: called at each snapshot after the first with `trace_lines` since the snapshot before (tracemalloc
            runs from the warm-up's last window on: slow); None: off.
        cli: give each frame's objects to what `track` keeps over a run (`count_frame` into a `RunSummary`, and
            with a gallery `GlobalIdHistory.observe`, as `tracker.run.track_source` does), outside the timed part.
    Raises:
        ValueError: `frames` below `warmup + window`, an unknown `world`.
    """
    if warmup is None:
        warmup = default_warmup(frames, window)
    if report_every is None:
        report_every = max(window, frames // 20)
    if frames < warmup + window:
        raise ValueError(f"frames must be at least warmup + window = {warmup + window}")
    if world not in ("scene", "churn"):
        raise ValueError(f"world: {world!r} is none of 'scene', 'churn'")
    cfg = load_config(None, overrides=["device=cpu", *(overrides or [])])
    gallery = None if gallery_file is None else Gallery(cfg.gallery)
    rate = FPS if video is None else video_rate(video)
    if video is not None:
        tracker = Tracker.from_config(cfg, frame_rate=rate, gallery=gallery)
        pictures = video_frames(video)
        scene = None
    else:
        if gallery is not None:
            gallery.bind_model(SOAK_MODEL)
        tracker = Tracker(cfg, frame_rate=FPS, gallery=gallery)
        scene = SoakScene(dim=dim, people=people, seed=seed) if world == "scene" else ChurnStream(frames, dim, seed)
    times_s = None if gap_every is None else stamps(gap_every, rate)
    core = tracker.core
    report = SoakReport(frames=frames, dim=dim)
    times = np.zeros(window)
    cpu_times = np.zeros(window)
    max_id = 0
    baseline: list[tracemalloc.Snapshot] = []
    summary, history = (RunSummary(global_ids=gallery is not None), GlobalIdHistory()) if cli else (None, None)
    blank = np.zeros((1, 1), np.uint8)  # (`count_frame`'s image: only its size is read)
    began = time.perf_counter()

    def save() -> None:
        if gallery is not None and gallery_file is not None:
            gallery.save(gallery_file)

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
            lost=int((core.table.state == LOST).sum()),
            identities=0 if gallery is None else len(gallery),
            gallery_bytes=gallery_file.stat().st_size if gallery_file is not None and gallery_file.exists() else 0,
            cli_ids=None if summary is None else len(summary.tracks),
            cli_runs=0 if summary is None else summary.tracks.run_count,
            cli_spans=0 if history is None else history.kept,
        )
        report.snapshots.append(snap)
        if on_report is not None:
            on_report(snap)
        if trace is not None:  # each report against the one before: a structure replaced piece by piece (the
            # oldest gallery identity by a new one) grows until all of it was made under tracing; a leak in every report
            if baseline:
                now = tracemalloc.take_snapshot()
                trace(trace_lines(baseline[0], now))
                baseline[0] = now
            else:
                baseline.append(tracemalloc.take_snapshot())

    try:
        for frame in range(1, frames + 1):
            if trace is not None and frame == max(1, warmup - window + 1):  # (the first window is timed traced too)
                tracemalloc.start()
            when = None if times_s is None else next(times_s)
            if scene is not None:
                boxes, scores, classes, emb = scene.step()
                t0, c0 = time.perf_counter(), time.process_time()
                out = tracker.update_detections(boxes, scores, classes, emb, timestamp=when)
            else:
                image = next(pictures)
                t0, c0 = time.perf_counter(), time.process_time()
                out = tracker.update(image, timestamp=when)
            times[frame % window] = time.perf_counter() - t0
            cpu_times[frame % window] = time.process_time() - c0
            for obj in out:
                max_id = max(max_id, obj.track_id)
            if summary is not None and history is not None:  # (`track_source`'s own steps for each frame)
                shown = out
                if gallery is not None:
                    shown = [replace(o, track_id=cast(int, o.global_id)) for o in out]
                    history.observe(frame, out, lambda: live_tracks(core))
                count_frame(summary, shown, blank)
            report.max_tracks = max(report.max_tracks, len(core.tracks))
            report.max_slots = max(report.max_slots, core.bank.num_slots)
            if save_every and frame % save_every == 0:
                save()
            if frame in (warmup, frames) or (frame > warmup and (frame - warmup) % report_every == 0):
                if frame == frames:
                    save()
                snapshot(frame)
    finally:
        if trace is not None:
            tracemalloc.stop()
        tracker.close()
    report.seconds = time.perf_counter() - began
    report.dim = core.bank.dim or dim  # (the ReID's, with `video`)
    report.ids_issued = max_id
    if isinstance(scene, SoakScene):
        report.people_spawned = scene.spawned
    elif isinstance(scene, ChurnStream):
        report.people_spawned = len(scene.people)  # (those of the pre-filled first 10 s too)
    return report


def shared_video(name: str) -> Path:
    """`name` as a path, or a file of ../shared/videos (or $TRACKER_SHARED/videos)."""
    path = Path(name).expanduser()
    if path.is_file():
        return path
    shared = Path(os.environ.get("TRACKER_SHARED") or ROOT.parent / "shared")
    return shared / "videos" / name


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=positive_int, default=30_000, help="frames to run (default 30 000)")
    parser.add_argument("--world", choices=("churn", "scene"), default="churn", help="synthetic world (default churn)")
    parser.add_argument("--dim", type=int, default=None, choices=(64, 128, 512), help="D (churn 64, scene 128)")
    parser.add_argument("--people", type=non_negative_int, default=8, help="scene: people at once, on average")
    parser.add_argument("--seed", type=non_negative_int, default=0)
    parser.add_argument("--window", type=positive_int, default=2000, help="frames per ms/frame median")
    parser.add_argument("--warmup", type=positive_int, default=None, help="frames before the first report")
    parser.add_argument("--report-every", type=positive_int, default=None, help="frames between reports (default 5 %%)")
    parser.add_argument("--gallery", action="store_true", help="attach a gallery, saved to a file")
    parser.add_argument("--gallery-file", type=Path, default=None, help="--gallery's file (default: a temporary one)")
    parser.add_argument("--max-identities", type=positive_int, default=1000, help="--gallery: its retention bound")
    parser.add_argument("--save-every", type=non_negative_int, default=3000, help="--gallery: frames between saves")
    parser.add_argument("--timestamps", action="store_true", help="give each frame timestamp= (with gaps)")
    parser.add_argument("--gap-every", type=non_negative_int, default=1000, help="--timestamps: frames between gaps")
    parser.add_argument("--video", default=None, help="Tracker.update on this video (../shared/videos or a path)")
    parser.add_argument("--trace", action="store_true", help="tracemalloc's top growth by file:line (slow)")
    parser.add_argument("--cli", action="store_true", help="also feed what `track` keeps over a run")
    parser.add_argument(
        "--threads",
        type=positive_int,
        default=1,
        help="torch intra-op threads (default 1: the bank's ops are tiny, and on a busy machine a second"
        " OpenMP thread costs a scheduler time slice per op)",
    )
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE", help="config override")
    args = parser.parse_args(argv)
    dim = args.dim or (CHURN_DIM if args.world == "churn" else 128)
    overrides = list(args.set)
    warmup = args.warmup
    if args.gallery:
        overrides.insert(0, f"gallery.max_identities={args.max_identities}")
        if warmup is None and args.video is None and args.world == "churn":
            warmup = gallery_fill_frames(args.max_identities)
    if warmup is None:
        warmup = default_warmup(args.frames, args.window)
    least = warmup + args.window
    if args.frames < least:  # was a ValueError traceback from run_soak (or a ZeroDivisionError for --window 0)
        parser.error(
            f"--frames: must be at least {least:,}, a warm-up of {warmup:,} frames and one --window"
            f" of {args.window:,}; got {args.frames:,}"
        )
    video = None
    if args.video is not None:
        video = shared_video(args.video)
        if not video.is_file():
            parser.error(f"--video: no such video: {args.video} (a path, or a file of ../shared/videos)")
        sys.path.insert(0, str(ROOT / "tools"))
        from bench_pipeline import shared_config_or_usage

        shared_config_or_usage(parser, "cpu", overrides)  # a bad --set or missing weights: one usage line
        weights = Path(os.environ.get("TRACKER_SHARED") or ROOT.parent / "shared") / "weights"
        overrides = [
            f"detector.model={weights / 'yolov8n_int8_openvino_model'}",
            f"reid.weights={weights / 'osnet_x0_25_msmt17.pth'}",
            *overrides,
        ]
    quiet_ultralytics()  # (--video: its "Loading ..." lines among the figures)
    torch.set_num_threads(args.threads)
    what = f"video {video.name}" if video is not None else f"{args.world} world, D={dim}"
    print(
        f"soak: {args.frames:,} frames, {what}, warm-up {warmup:,}, {args.threads} torch thread(s)"
        + (
            f", gallery of at most {args.max_identities:,} saved every {args.save_every:,} frames"
            if args.gallery
            else ""
        )
        + (f", timestamps with a {GAP_SECONDS:g} s gap every {args.gap_every:,} frames" if args.timestamps else ""),
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="soak-") as folder:
        gallery_file = None
        if args.gallery:
            gallery_file = args.gallery_file or Path(folder) / "soak.gallery"
        report = run_soak(
            args.frames,
            dim=dim,
            people=args.people,
            seed=args.seed,
            warmup=warmup,
            window=args.window,
            report_every=args.report_every,
            on_report=lambda snap: print(snap.line(), flush=True),
            overrides=overrides,
            world=args.world,
            gallery_file=gallery_file,
            save_every=args.save_every if args.gallery else 0,
            gap_every=args.gap_every if args.timestamps else None,
            video=video,
            trace=(lambda lines: print("\n".join(lines), flush=True)) if args.trace else None,
            cli=args.cli,
        )
    print(report.summary(), flush=True)
    return 0 if report.passed else 1


if __name__ == "__main__":
    raise SystemExit(run_tool(main))
