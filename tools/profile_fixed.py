"""Where the small frame's time goes: `Tracker.update_detections` profiled on few people and on the street.

    python tools/profile_fixed.py                                # walking T=1, T=5 (D=512, K=100) and street
    python tools/profile_fixed.py --worlds walking_t1 --floor 5  # one world, every function >= 5 us a frame
    python tools/profile_fixed.py --street-cache street.npz      # the street frames detected once, reused after

Each world's frames go through one tracker (K=100, the CPU, the street world with its frame size); the frames
`--start` to `--end` (30-249: past the warm-up, the banks filling) run under cProfile with this thread's CPU time as
its clock (`time.thread_time`), and the tool prints, per frame (the mean over those frames): the whole call, then
every function whose cumulative time is at least `--floor` us (cProfile adds ~0.5-1 us a call, so the parts read
above their uninstrumented cost, a function that calls many others most), with its calls a frame and its own time.
The uninstrumented frame is timed first over the same frames (the mean, thread CPU time) as the figure to compare.
"""

from __future__ import annotations

import argparse
import cProfile
import itertools
import pstats
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

from bench_core import FPS, street_world, world  # noqa: E402

from tracker import Tracker, load_config  # noqa: E402
from tracker.closed_pipe import run_tool  # noqa: E402
from tracker.detector import quiet_ultralytics  # noqa: E402
from tracker.testing import FrameDetections  # noqa: E402

CAPACITY = 100  # K, as in bench_core's worlds
WORLDS = {"walking_t1": 1, "walking_t5": 5, "walking_t50": 50, "street": 0}  # name -> T (street: the video's)


def street_frames(count: int, cache: Path | None) -> tuple[list[FrameDetections], tuple[int, int]] | None:
    """The street world's first `count` frames and frame size, read from `cache` (an .npz this tool wrote) where it
    holds enough frames, else detected (about a minute) and written there."""
    if cache is not None and cache.is_file():
        data = np.load(cache)
        stored = len(data["sizes"])
        if stored >= count:
            ends = np.concatenate([[0], np.cumsum(data["sizes"])])
            frames = [
                FrameDetections(
                    data["boxes"][a:b], data["scores"][a:b], data["looks"][a:b], np.full(b - a, -1, dtype=np.int64)
                )
                for a, b in itertools.pairwise(ends)
            ][:count]
            return frames, (int(data["frame_size"][0]), int(data["frame_size"][1]))
    made = street_world("cpu", count)
    if made is None or cache is None:
        return made
    frames, size = made
    dim = next((f.embeddings.shape[1] for f in frames if len(f.boxes_xyxy)), 1)
    np.savez(
        cache,
        sizes=np.array([len(f.boxes_xyxy) for f in frames]),
        boxes=np.concatenate([np.asarray(f.boxes_xyxy, dtype=np.float64).reshape(-1, 4) for f in frames]),
        scores=np.concatenate([np.asarray(f.scores).reshape(-1) for f in frames]),
        looks=np.concatenate([np.asarray(f.embeddings, dtype=np.float32).reshape(-1, dim) for f in frames]),
        frame_size=np.array(size),
    )
    return frames, size


def _tracker() -> Tracker:
    cfg = load_config(None, overrides=[f"appearance.bank_capacity={CAPACITY}", "device=cpu"])
    return Tracker(cfg, frame_rate=FPS)


def _call(tracker: Tracker, det: FrameDetections, size: tuple[int, int] | None) -> None:
    tracker.update_detections(det.boxes_xyxy, det.scores, embeddings=det.embeddings, frame_size=size)


def plain_us(frames: list[FrameDetections], size: tuple[int, int] | None, start: int, end: int) -> float:
    """The mean thread-CPU us of frames `start`..`end` (inclusive), uninstrumented."""
    tracker, total = _tracker(), 0.0
    for i, det in enumerate(frames[: end + 1]):
        begin = time.thread_time()
        _call(tracker, det, size)
        if i >= start:
            total += time.thread_time() - begin
    return 1e6 * total / (end + 1 - start)


def profiled(frames: list[FrameDetections], size: tuple[int, int] | None, start: int, end: int) -> pstats.Stats:
    """cProfile's statistics (thread-CPU clock) of frames `start`..`end` (inclusive)."""
    tracker, profile = _tracker(), cProfile.Profile(time.thread_time)
    for i, det in enumerate(frames[: end + 1]):
        if i >= start:
            profile.enable()
        _call(tracker, det, size)
        if i >= start:
            profile.disable()
    return pstats.Stats(profile)


def report(name: str, plain: float, stats: pstats.Stats, frames: int, floor: float) -> None:
    rows = []
    for (path, line, func), (_, calls, own, cumulative, _) in stats.stats.items():  # type: ignore[attr-defined]
        cum_us = 1e6 * cumulative / frames
        if cum_us >= floor:
            where = f"{Path(path).name}:{line}" if line else path
            rows.append((cum_us, 1e6 * own / frames, calls / frames, f"{func} ({where})"))
    print(f"\n{name}: {plain:.1f} us a frame uninstrumented; under cProfile, per frame (>= {floor:g} us cumulative):")
    print(f"{'cum us':>8} {'own us':>7} {'calls':>6}  function")
    for cum_us, own_us, calls, label in sorted(rows, reverse=True):
        print(f"{cum_us:>8.1f} {own_us:>7.1f} {calls:>6.2f}  {label}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--worlds", default="walking_t1,walking_t5,street", help=f"of {', '.join(WORLDS)}")
    parser.add_argument("--start", type=int, default=30, help="first profiled frame")
    parser.add_argument("--end", type=int, default=249, help="last profiled frame")
    parser.add_argument("--floor", type=float, default=10.0, help="functions listed from this many us a frame")
    parser.add_argument("--street-cache", type=Path, help="an .npz of the street frames (written when absent)")
    args = parser.parse_args()
    quiet_ultralytics()  # the street world's detector: its "Loading ..." lines are noise among the figures
    if not 0 <= args.start <= args.end:
        parser.error(f"--start must be >= 0 and <= --end, got {args.start} and {args.end}")
    for name in args.worlds.split(","):
        if name not in WORLDS:
            parser.error(f"unknown world {name!r}: choose among {', '.join(WORLDS)}")
        size = None
        if name == "street":
            street = street_frames(args.end + 1, args.street_cache)
            if street is None:
                print(f"{name}: skipped (the street video was not found; set TRACKER_SHARED)")
                continue
            frames, size = street
        else:
            frames = world("walking", WORLDS[name], 512, args.end + 1)
        end = min(args.end, len(frames) - 1)
        plain = plain_us(frames, size, args.start, end)
        report(name, plain, profiled(frames, size, args.start, end), end + 1 - args.start, args.floor)


if __name__ == "__main__":
    raise SystemExit(run_tool(main))
