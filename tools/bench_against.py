"""Time this checkout's `Tracker.update_detections` against another copy of the package in ONE process.

    git archive BASE | tar -x -C /tmp/base         # a copy of the code to compare with
    python tools/bench_against.py /tmp/base         # walking, crossing, churn, walking T=500
    python tools/bench_against.py /tmp/base --worlds walking --frames 150 --repeats 5
    python tools/bench_against.py /tmp/base --worlds street --frames 250   # real boxes (../shared), frame size given

Both trackers see the same frames of `tools/bench_core.py`'s worlds (K=100; *street*: the real boxes and looks of
../shared/videos/people.mp4 with its frame size, made once by this checkout's detector and ReID, skipped with a line
where ../shared is absent) and take turns frame by frame (who goes
first alternates too), so a load change on a shared machine hits both alike. Each frame is timed by the CPU time of
this thread (`time.thread_time`). Per repeat: the sum of each side's frame times after the warm-up, and their ratio
(this checkout / the other); the tool prints every repeat's ratio, their median and range. The other copy is
imported first under its own module names (`tracker` -> `_against_tracker` in `sys.modules`); an import made inside
a function body at call time would resolve to this checkout's package (none of `update_detections`' path does).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
from pathlib import Path
from types import ModuleType

import numpy as np

PACKAGE = "tracker"
ALIAS = "_against_tracker"  # where the other copy's modules live in `sys.modules`
CAPACITY = 100  # K, as in bench_core's worlds
# name -> (world, T, D): bench_core's worlds, plus the growth sweep's end
WORLDS = {
    "walking": ("walking", 50, 512),
    "crossing": ("crossing", 50, 512),
    "churn": ("churn", 0, 64),
    "walking_t500": ("walking", 500, 512),
    "street": ("street", 0, 0),  # T and D: the video's (bench_core.street_world)
    "walking_t1": ("walking", 1, 512),  # the small frames: what one person (the calibration never calibrated) and
    "walking_t5": ("walking", 5, 512),  # five people in view cost, beyond the frame's work on them (issue 14)
}
DEFAULT_WORLDS = ("walking", "crossing", "churn", "walking_t500")  # street (a minute of detection first) when asked


def import_other(root: Path) -> ModuleType:
    """The `tracker` package of the checkout at `root`, imported under `ALIAS` names; this checkout's is unloaded
    first and imported again afterwards by the caller."""
    for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
        del sys.modules[name]
    sys.path.insert(0, str(root))
    try:
        other = importlib.import_module(PACKAGE)
        for name in ("Tracker", "load_config"):  # resolved now (PEP 562 names are imported on first use)
            getattr(other, name)
    finally:
        sys.path.remove(str(root))
    for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
        sys.modules[ALIAS + name[len(PACKAGE) :]] = sys.modules.pop(name)
    return other


def run(
    frames: list, packages: list[ModuleType], warmup: int, fps: float, frame_size: tuple[int, int] | None = None
) -> list[float]:
    """Seconds of CPU time per package over the frames after `warmup`, the packages taking turns frame by frame
    (`frame_size`: (height, width) given with each frame, None: none)."""
    trackers = []
    for package in packages:
        cfg = package.load_config(None, overrides=[f"appearance.bank_capacity={CAPACITY}", "device=cpu"])
        trackers.append(package.Tracker(cfg, frame_rate=fps))
    totals = [0.0] * len(trackers)
    for i, det in enumerate(frames):
        order = range(len(trackers)) if i % 2 == 0 else reversed(range(len(trackers)))
        for k in order:
            start = time.thread_time()
            trackers[k].update_detections(det.boxes_xyxy, det.scores, embeddings=det.embeddings, frame_size=frame_size)
            if i >= warmup:
                totals[k] += time.thread_time() - start
    return totals


def _worlds(text: str) -> list[str]:
    """argparse type of --worlds: known world names separated by commas, each once (`walking,walking` timed it
    twice, two rows); an empty one (`walking,`) or an unknown one is the option's usage error."""
    names = [name.strip() for name in text.split(",")]
    if not all(names):
        raise argparse.ArgumentTypeError(f"an empty world name in {text!r} (a comma too many?)")
    unknown = [name for name in names if name not in WORLDS]
    if unknown:  # (a KeyError traceback after both packages were imported)
        raise argparse.ArgumentTypeError(
            f"no world {', '.join(map(repr, unknown))}; the worlds are {', '.join(WORLDS)}"
        )
    return list(dict.fromkeys(names))


def _count(text: str) -> int:
    """argparse type of --frames and --repeats: a whole number >= 1 (tracker.cli's positive_int is not imported:
    the other copy's package must be imported first)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("other", type=Path, help="root of the other checkout (holding its tracker/ package)")
    parser.add_argument(
        "--worlds",
        type=_worlds,
        default=list(DEFAULT_WORLDS),
        help=f"comma-separated, each once, of {', '.join(WORLDS)}",
    )
    parser.add_argument("--frames", type=_count, default=150, help="timed frames per repeat (after the warm-up)")
    parser.add_argument("--repeats", type=_count, default=5, help="fresh tracker pairs per world")
    args = parser.parse_args()
    if not (args.other / PACKAGE / "__init__.py").is_file():
        parser.error(f"{args.other} holds no {PACKAGE}/ package")
    other = import_other(args.other.resolve())
    here = Path(__file__).resolve().parent
    sys.path.insert(0, str(here.parent))
    sys.path.insert(0, str(here))
    ours = importlib.import_module(PACKAGE)
    from tracker.detector import quiet_ultralytics  # (this checkout's, imported again just above)

    quiet_ultralytics()  # the street world's detector: its "Loading ..." lines are noise among the figures
    from bench_core import CHURN_SECONDS, FPS, STREET_VIDEO, STREET_WARMUP, street_world, world  # (for both)

    for package in (ours, other):  # each Tracker's core comes from its own copy
        core = package.Tracker(package.load_config(None, overrides=["device=cpu"]), frame_rate=FPS).core
        print(f"core from {type(core).step.__code__.co_filename}")
    print(f"load {os.getloadavg()[0]:.2f}")
    print(f"{'world':>13} {'ours ms':>8} {'other ms':>9} {'ratio':>6} {'range':>12}  per repeat")
    for name in args.worlds:
        kind, num, dim = WORLDS[name]
        size = None
        if kind == "street":
            warmup, street = STREET_WARMUP, street_world("cpu", STREET_WARMUP + args.frames)
            if street is None:
                print(f"{name:>13} (no street world: ../shared/videos/{STREET_VIDEO} not found; set TRACKER_SHARED)")
                continue
            frames, size = street
        else:
            warmup = round(CHURN_SECONDS * FPS) if kind == "churn" else CAPACITY + 5
            frames = world(kind, num, dim, warmup + args.frames)
        timed = len(frames) - warmup  # (the street video may hold fewer than asked)
        ratios, ours_ms, other_ms = [], [], []
        for _ in range(args.repeats):
            mine, theirs = run(frames, [ours, other], warmup, FPS, size)
            ratios.append(mine / theirs)
            ours_ms.append(1e3 * mine / timed)
            other_ms.append(1e3 * theirs / timed)
        each = " ".join(f"{r:.3f}" for r in ratios)
        print(
            f"{name:>13} {np.median(ours_ms):>8.3f} {np.median(other_ms):>9.3f} {np.median(ratios):>6.3f} "
            f"{min(ratios):.3f}-{max(ratios):.3f}  {each}",
            flush=True,
        )


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tracker.closed_pipe import run_tool  # (this checkout's; import_other unloads its package, the function stays)

    raise SystemExit(run_tool(main))
