"""Benchmark `Tracker.update_detections` against Ultralytics' BYTETracker on the same boxes, same run.

    python tools/bench_core.py                  # the four worlds, quiet and contended, plus the K and T sweeps
    python tools/bench_core.py --quick          # the four worlds only (quiet and contended)
    python tools/bench_core.py --frames 300 --repeats 5
    python tools/bench_core.py --gallery         # ours with an identity gallery (1000 identities) vs without
    python tools/bench_core.py --street-ablation # the street world with each rule off, against the defaults
    python tools/bench_core.py --tracks 50,100,200,300,500   # only the growth with T (walking, K=100), per step
    python tools/bench_core.py --tracks 50,100,200 --tracks-world crossing --tracks-contended   # lost tracks

Three worlds of synthetic people (embeddings: a fixed identity vector per person plus noise; float32, as a ReID
network gives them):
    walking   T people walking straight across a frame at 1-3 px/frame, bouncing off its edges; they cross
              each other (contested pairs, so the appearance path runs) but are never hidden;
    crossing  the same walkers, each hidden behind something for 1-3 s every 4-8 s (lost tracks, stage-4
              re-identification when they come back);
    churn     a new person every 5 frames, detected for 10 s and then gone for good (~60 visible, ~120 tracks
              counting the lost ones kept for re-identification), 64-d embeddings.
And one world of real boxes, where ../shared (or $TRACKER_SHARED) is there:
    street    the 302 frames of ../shared/videos/people.mp4 (1080p, ~12 people) as the default detector (yolov8n INT8
              OpenVINO, detector.confidence 0.1) and OSNet x0.25 see them, computed once at the start (~1 min);
              ours gets every box's embedding and the frame size, ByteTrack the same boxes. Real boxes run what
              synthetic ones do not (standing people, the image border, low-score boxes): the per-frame cost
              beside the T and N of the synthetic worlds.

"Contended" runs the same timings while a second CPU-bound process spins (a video decoder, a web server,
another model: every real deployment shares its cores). No environment variable (OMP_WAIT_POLICY...) is set.

Each case alternates ours and ByteTrack `--repeats` times (both see the same machine), reports each one's median
ms/frame and the median and range of the per-repeat ratio ours / ByteTrack. ByteTrack does no appearance work.

`--clock cpu` times each frame by the CPU time of the timing thread instead of the wall clock: on a machine whose
cores are oversubscribed (more runnable processes than cores), a wall-clock frame also counts the time slices other
processes got in the middle of it; CPU time counts the frame's own work (a spinning thread's included).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's tracker/, not the installed one

from tracker import Tracker, load_config  # noqa: E402
from tracker.cli_args import positive_int  # noqa: E402
from tracker.closed_pipe import run_tool  # noqa: E402
from tracker.detector import quiet_ultralytics  # noqa: E402
from tracker.device import resolve_device  # noqa: E402
from tracker.gallery import Gallery, Sighting  # noqa: E402
from tracker.testing import FrameDetections, Walker, identity_embeddings, render  # noqa: E402

WIDTH, HEIGHT = 1920, 1080
REFERENCE_TRACKS = 50  # the frame is 1080p at this many people; it grows with T to keep the density
NOISE_NORM = 0.3  # embedding noise as a norm relative to the unit identity vector (cosine ~0.9 to itself)
SPEED = (1.0, 3.0)  # walking speed, pixels per frame
HEIGHT_RANGE = (100.0, 200.0)  # person box heights, pixels
ASPECT = 0.4  # box width / height
HIDDEN_SECONDS = (1.0, 3.0)  # crossing world: how long a person stays hidden
VISIBLE_SECONDS = (4.0, 8.0)  # crossing world: how long between two hidings
CHURN_EVERY = 5  # churn world: frames between two newcomers
CHURN_SECONDS = 10.0  # churn world: how long each newcomer is detected
CHURN_DIM = 64
FPS = 30.0
STREET_VIDEO = "people.mp4"  # the street world's video in ../shared/videos
STREET_WARMUP = 30  # street world: frames before timing (its people are all in view from the start)
BUSY_LOOP = "while True: pass"
CLOCKS = {"wall": time.perf_counter, "cpu": time.thread_time}  # `--clock`: seconds, wall or this thread's CPU time


class _Boxes:
    """The minimal ultralytics `Boxes`-like view BYTETracker reads: conf, cls, xywh, xyxy, bool indexing."""

    def __init__(self, xyxy: np.ndarray, conf: np.ndarray, cls: np.ndarray) -> None:
        self.xyxy, self.conf, self.cls = xyxy, conf, cls
        wh = xyxy[:, 2:] - xyxy[:, :2]
        self.xywh = np.concatenate([xyxy[:, :2] + wh / 2, wh], axis=1)

    def __len__(self) -> int:
        return len(self.conf)

    def __getitem__(self, idx: np.ndarray) -> _Boxes:
        return _Boxes(self.xyxy[idx], self.conf[idx], self.cls[idx])


def bouncing_path(x0: float, y0: float, vx: float, vy: float, width: float, height: float) -> Callable:
    """A constant-speed path that reflects off the edges of a width x height frame."""

    def fold(p: float, size: float) -> float:
        p = p % (2 * size)
        return p if p <= size else 2 * size - p

    return lambda frame: (fold(x0 + vx * frame, width), fold(y0 + vy * frame, height))


def walkers(num: int, seed: int, hide: bool) -> list[Walker]:
    """`num` people walking across a frame scaled so that the density of people is the same for every `num`."""
    rng = np.random.default_rng(seed)
    scale = np.sqrt(num / REFERENCE_TRACKS)
    width, height = WIDTH * scale, HEIGHT * scale
    out = []
    for i in range(num):
        h = rng.uniform(*HEIGHT_RANGE)
        angle, speed = rng.uniform(0, 2 * np.pi), rng.uniform(*SPEED)
        path = bouncing_path(
            rng.uniform(0, width), rng.uniform(0, height), speed * np.cos(angle), speed * np.sin(angle), width, height
        )
        visible = _hiding_schedule(rng) if hide else (lambda frame: True)
        out.append(Walker(i, path, (ASPECT * h, h), visible))
    return out


def _hiding_schedule(rng: np.random.Generator) -> Callable[[int], bool]:
    shown = round(rng.uniform(*VISIBLE_SECONDS) * FPS)
    hidden = round(rng.uniform(*HIDDEN_SECONDS) * FPS)
    phase = int(rng.integers(shown + hidden))
    return lambda frame: (frame + phase) % (shown + hidden) < shown


def churn_walkers(frames: int, seed: int) -> list[Walker]:
    """A newcomer every CHURN_EVERY frames, visible for CHURN_SECONDS, then gone; the first minute is pre-filled."""
    rng = np.random.default_rng(seed)
    life = round(CHURN_SECONDS * FPS)
    out = []
    for i, start in enumerate(range(-life, frames, CHURN_EVERY)):
        h = rng.uniform(*HEIGHT_RANGE)
        angle, speed = rng.uniform(0, 2 * np.pi), rng.uniform(*SPEED)
        path = bouncing_path(
            rng.uniform(0, WIDTH), rng.uniform(0, HEIGHT), speed * np.cos(angle), speed * np.sin(angle), WIDTH, HEIGHT
        )
        out.append(Walker(i, path, (ASPECT * h, h), lambda f, s=start: s <= f < s + life))
    return out


def world(name: str, num_tracks: int, dim: int, count: int, seed: int = 0) -> list[FrameDetections]:
    """`count` frames of detections of one world."""
    people = churn_walkers(count, seed) if name == "churn" else walkers(num_tracks, seed, hide=name == "crossing")
    identities = identity_embeddings(len(people), dim, seed)
    rng = np.random.default_rng(seed + 1)
    frames = [render(people, f, identities, NOISE_NORM / np.sqrt(dim), rng) for f in range(count)]
    # looks in float32, as a ReID network gives them (the street world's OSNet looks, ours' embedder): float64 looks
    # cost the tracker a cast and a range check (~15 us a walking frame) that no real input needs
    return [replace(frame, embeddings=frame.embeddings.astype(np.float32)) for frame in frames]


def street_world(device: str, count: int) -> tuple[list[FrameDetections], tuple[int, int]] | None:
    """The `street` world's first `count` frames (at most the video's: boxes, scores and OSNet embeddings;
    identities unknown: -1) and its frame size (height, width), or None where ../shared is absent."""
    root = Path(os.environ.get("TRACKER_SHARED") or ROOT.parent / "shared")
    video = root / "videos" / STREET_VIDEO
    if not video.is_file():
        return None
    if str(ROOT / "tools") not in sys.path:  # (run as a script, tools/ is there already)
        sys.path.insert(0, str(ROOT / "tools"))
    import cv2
    from bench_pipeline import shared_config  # the detector and ReID `tools/bench_pipeline.py` times

    tracker = Tracker.from_config(shared_config(device, [])[1])
    capture = cv2.VideoCapture(str(video))
    frames, size = [], (0, 0)
    try:
        while len(frames) < count:
            ok, image = capture.read()
            if not ok:
                break
            size = image.shape[:2]
            boxes, scores, _ = tracker.detector(image)
            looks = tracker.embedder(torch.from_numpy(image), boxes) if len(boxes) else torch.zeros(0, 1)
            frames.append(FrameDetections(boxes, scores, looks.cpu().numpy(), np.full(len(boxes), -1)))
    finally:
        capture.release()
        tracker.close()
    return frames, size


def time_ours(
    frames: list[FrameDetections],
    capacity: int,
    warmup: int,
    gallery: Gallery | None = None,
    clock: Callable[[], float] = time.perf_counter,
    device: str = "cpu",
    frame_size: tuple[int, int] | None = None,
    overrides: tuple[str, ...] = (),
) -> tuple[float, int]:
    """Median ms/frame after `warmup` frames, and the number of tracks held at the end (lost ones included).

    `device` is where the banks live and the similarities are computed (`cuda`: the embeddings are uploaded each
    frame, as a GPU embedder's would already be there); each frame's outputs come back to the host, so the time
    includes the device's synchronisation.
    """
    cfg = load_config(None, overrides=[f"appearance.bank_capacity={capacity}", f"device={device}", *overrides])
    tracker = Tracker(cfg, frame_rate=FPS, gallery=gallery)
    times = []
    for i, det in enumerate(frames):
        start = clock()
        tracker.update_detections(det.boxes_xyxy, det.scores, embeddings=det.embeddings, frame_size=frame_size)
        if i >= warmup:
            times.append(clock() - start)
    return 1e3 * float(np.median(times)), len(tracker.core.tracks)


def time_bytetrack(frames: list[FrameDetections], warmup: int, clock: Callable[[], float] = time.perf_counter) -> float:
    from ultralytics.trackers.byte_tracker import BYTETracker

    args = SimpleNamespace(
        track_high_thresh=0.25,
        track_low_thresh=0.1,
        new_track_thresh=0.25,
        track_buffer=30,
        match_thresh=0.8,
        fuse_score=True,
    )
    tracker = BYTETracker(args)
    times = []
    for i, det in enumerate(frames):
        boxes = _Boxes(det.boxes_xyxy, det.scores, np.zeros(len(det.scores)))
        start = clock()
        tracker.update(boxes)
        if i >= warmup:
            times.append(clock() - start)
    return 1e3 * float(np.median(times))


@contextmanager
def competing_process(active: bool) -> Iterator[None]:
    """A second CPU-bound process spinning for the duration (nothing when not `active`)."""
    if not active:
        yield
        return
    busy = subprocess.Popen([sys.executable, "-c", BUSY_LOOP])
    try:
        time.sleep(0.2)  # let it start spinning
        yield
    finally:
        busy.kill()
        busy.wait()


def compare(
    frames: list[FrameDetections],
    capacity: int,
    warmup: int,
    repeats: int,
    clock: Callable[[], float] = time.perf_counter,
    device: str = "cpu",
    frame_size: tuple[int, int] | None = None,
) -> dict[str, float]:
    """Alternating ours / ByteTrack runs: medians, ratio median and range, tracks held, detections per frame."""
    ours, bt, tracks = [], [], 0
    for _ in range(repeats):
        ms, tracks = time_ours(frames, capacity, warmup, clock=clock, device=device, frame_size=frame_size)
        ours.append(ms)
        bt.append(time_bytetrack(frames, warmup, clock))
    ratios = np.array(ours) / np.array(bt)
    return {
        "ours": float(np.median(ours)),
        "bt": float(np.median(bt)),
        "ratio": float(np.median(ratios)),
        "lo": float(ratios.min()),
        "hi": float(ratios.max()),
        "tracks": tracks,
        "dets": float(np.mean([len(f.scores) for f in frames[warmup:]])),
    }


HEADER = (
    f"{'world':>9} {'load':>9} {'T':>5} {'N':>5} {'D':>4} {'K':>5} {'ours ms':>8} {'BT ms':>7} "
    f"{'ours/BT':>8} {'range':>11}"
)


def filled_gallery(count: int, dim: int) -> Gallery:
    """A gallery of `count` strangers (none of them in the scene), K_g prototypes each."""
    gallery = Gallery()
    looks = identity_embeddings(count * gallery.config.prototypes, dim, seed=7)
    for i in range(count):
        rows = looks[i * gallery.config.prototypes : (i + 1) * gallery.config.prototypes]
        gallery.add(gallery.new_id(), rows, 0, Sighting(1, time.time(), "bench"))
    return gallery


def gallery_ratio(args: argparse.Namespace) -> None:
    """The tiers cost nothing when nobody leaves: ours with a gallery / ours without, alternating, same frames."""
    print(f"{'world':>9} {'T=N':>6} {'no gallery ms':>14} {'gallery ms':>11} {'ratio':>6}")
    for num_tracks in (50, 100):
        warmup = 105
        frames = world("walking", num_tracks, args.dim, warmup + args.frames)
        runs = [
            (
                time_ours(frames, 100, warmup)[0],
                time_ours(frames, 100, warmup, filled_gallery(args.gallery_size, args.dim))[0],
            )
            for _ in range(args.repeats)
        ]
        without, with_gallery = (float(np.median(column)) for column in zip(*runs, strict=True))
        print(f"{'walking':>9} {num_tracks:>6} {without:>14.3f} {with_gallery:>11.3f} {with_gallery / without:>6.2f}")


def growth_sweep(args: argparse.Namespace, counts: list[int]) -> None:
    """`--tracks-world` (walking by default) at each T (K=100), quiet or `--tracks-contended`: ms, ratio, and each
    step's growth, ours against ByteTrack's.

    Issue 14's goal: ours grows with T no faster than ByteTrack (each step's growth ours <= ByteTrack's). The
    crossing world holds more lost tracks as T grows (about a quarter of the people hidden at a time), whose bank
    bounds are one numpy BLAS product a frame (`tracker.threads.BlasThreads`).
    """
    clock = CLOCKS[args.clock]
    capacity = 100
    name, load = args.tracks_world, "contended" if args.tracks_contended else "quiet"
    print(f"load {os.getloadavg()[0]:.2f}, {args.clock} clock; {name}, {load}, K={capacity}, D={args.dim}\n")
    print(f"{HEADER} {'growth ours/BT':>15}")
    previous: dict[str, float] | None = None
    for num in counts:
        warm = capacity + 5 if name == "walking" else round(CHURN_SECONDS * FPS)  # (crossing: people hidden by then)
        frames = world(name, num, args.dim, warm + args.frames)
        with competing_process(args.tracks_contended):
            result = compare(frames, capacity, warm, args.repeats, clock, args.device)
        growth = ""
        if previous is not None:
            growth = f"{result['ours'] / previous['ours']:.2f}/{result['bt'] / previous['bt']:.2f}"
        print(f"{row(name, load, args.dim, capacity, result)} {growth:>15}", flush=True)
        previous = result


STREET_RULES = {  # `--street-ablation`: each rule that real boxes run and synthetic ones hardly do, turned off
    "still objects": ("lifecycle.still_quantile=0",),
    "walking out of view": ("association.lost_exit_fraction=0",),
    "part-of-a-person boxes": ("association.part_box_fraction=0",),
    "looks cut by a border": ("association.border_look_quantile=0",),
    "birth shapes": ("association.birth_shape_quantile=0",),
    "cut boxes reported": ("motion.min_visible_fraction=0",),
    "appearance (motion only)": ("appearance.enabled=false",),
}


def street_ablation(args: argparse.Namespace) -> None:
    """What each rule costs on real boxes: ours on the street world with it off, alternating with the defaults,
    and with no frame size (every border rule off); ms/frame medians, ratio to the defaults."""
    street = street_world(args.device, STREET_WARMUP + args.frames)
    if street is None:
        sys.exit(f"no street world: ../shared/videos/{STREET_VIDEO} not found (set TRACKER_SHARED)")
    frames, size = street
    clock = CLOCKS[args.clock]
    print(f"load {os.getloadavg()[0]:.2f}, {args.clock} clock; street world, ours with a rule off against the defaults")
    print(f"{'off':>26} {'ms':>6} {'defaults ms':>12} {'ratio':>6}")
    cases = [(name, size, rules) for name, rules in STREET_RULES.items()] + [("the frame size (all borders)", None, ())]
    for name, frame_size, rules in cases:
        runs = [
            (
                time_ours(frames, 100, STREET_WARMUP, clock=clock, device=args.device, frame_size=frame_size,
                          overrides=rules)[0],
                time_ours(frames, 100, STREET_WARMUP, clock=clock, device=args.device, frame_size=size)[0],
            )
            for _ in range(args.repeats)
        ]  # fmt: skip
        off, on = (float(np.median(column)) for column in zip(*runs, strict=True))
        print(f"{name:>26} {off:>6.2f} {on:>12.2f} {off / on:>6.2f}", flush=True)


def row(name: str, load: str, dim: int, capacity: int, r: dict[str, float]) -> str:
    return (
        f"{name:>9} {load:>9} {r['tracks']:>5} {r['dets']:>5.0f} {dim:>4} {capacity:>5} {r['ours']:>8.2f} "
        f"{r['bt']:>7.2f} {r['ratio']:>8.2f} {r['lo']:>5.2f}-{r['hi']:<5.2f}"
    )


def track_counts(text: str) -> list[int]:
    """`--tracks`: comma-separated whole numbers >= 1 (a typo, 0 or a negative T was a traceback, an empty world
    timed, or, for an empty value, the full run)."""
    try:
        counts = [int(part) for part in text.split(",")]
    except ValueError:
        counts = []
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError(f"expected whole numbers >= 1 separated by commas, got {text!r}")
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=positive_int, default=250, help="frames per measurement (after warm-up)")
    parser.add_argument("--dim", type=positive_int, default=512, help="embedding size D (walking, crossing)")
    parser.add_argument(
        "--repeats", type=positive_int, default=3, help="alternating ours/ByteTrack runs; medians reported"
    )
    parser.add_argument("--quick", action="store_true", help="the four worlds only, no K and T sweeps")
    parser.add_argument("--gallery", action="store_true", help="compare ours with a gallery to ours without")
    parser.add_argument(
        "--street-ablation", action="store_true", help="the street world with each rule off, against the defaults"
    )
    parser.add_argument("--gallery-size", type=positive_int, default=1000, help="identities in the gallery (--gallery)")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall", help="time frames by wall or CPU time")
    parser.add_argument("--device", default="cpu", help="where our banks and similarities live (cpu, cuda)")
    parser.add_argument(
        "--tracks",
        type=track_counts,
        default=None,
        help="only the growth sweep: walking at these T (e.g. 50,100,200,300,500), K=100",
    )
    parser.add_argument(
        "--tracks-world", choices=["walking", "crossing"], default="walking", help="the growth sweep's world"
    )
    parser.add_argument(
        "--tracks-contended", action="store_true", help="the growth sweep with a competing CPU-bound process"
    )
    args = parser.parse_args()
    quiet_ultralytics()  # its "Loading ..." lines are noise among the tool's figures (as `track -q`)
    try:
        resolve_device(args.device)  # `--device cuda` without CUDA: one usage line, not a traceback mid-table
    except ValueError as exc:
        parser.error(str(exc))
    if args.gallery:
        gallery_ratio(args)
        return
    if args.street_ablation:
        street_ablation(args)
        return
    if args.tracks is not None:
        growth_sweep(args, args.tracks)
        return

    print(
        f"torch threads {torch.get_num_threads()}, cores {os.cpu_count()}, load {os.getloadavg()[0]:.2f}, "
        f"{args.clock} clock, ours on {args.device}"
    )
    clock = CLOCKS[args.clock]
    print("T: tracks held at the end (lost included), N: detections per frame; ms/frame medians\n")
    print(HEADER)
    worlds = [("walking", 50, args.dim), ("crossing", 50, args.dim), ("churn", 0, CHURN_DIM)]
    capacity = 100
    warmup = round(CHURN_SECONDS * FPS)  # long enough for the churn world to fill up its lost tracks
    street = street_world(args.device, STREET_WARMUP + args.frames)
    for contended in (False, True):
        load = "contended" if contended else "quiet"
        for name, num, dim in worlds:
            frames = world(name, num, dim, warmup + args.frames)
            with competing_process(contended):
                result = compare(frames, capacity, warmup, args.repeats, clock, args.device)
                print(row(name, load, dim, capacity, result), flush=True)
        if street is not None:
            frames, size = street
            with competing_process(contended):
                result = compare(frames, capacity, STREET_WARMUP, args.repeats, clock, args.device, size)
            print(row("street", load, max(f.embeddings.shape[1] for f in frames), capacity, result), flush=True)
    if street is None:
        print(f"(no street world: ../shared/videos/{STREET_VIDEO} not found; set TRACKER_SHARED)")
    if args.quick:
        return
    print("\nsweeps (walking world, quiet)")
    for num, cap in [(50, 1), (50, 10), (50, 1000), (10, 100), (100, 100), (200, 100), (500, 100)]:
        warm = min(cap, 100) + 5
        frames = world("walking", num, args.dim, warm + args.frames)
        result = compare(frames, cap, warm, args.repeats, clock, args.device)
        print(row("walking", "quiet", args.dim, cap, result), flush=True)


if __name__ == "__main__":
    raise SystemExit(run_tool(main))
