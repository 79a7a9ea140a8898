"""Camera-motion estimation: accuracy against the exact motion of the moving variants, and cost per frame.

    python tools/bench_cmc.py                          # accuracy on the moving variants + cost at 768x576 and 1080p
    python tools/bench_cmc.py --widths 160 320 full --methods sparse_flow

Accuracy: every moving variant (pan2/8/20, zoom, jitter, jump) of every sequence of ../shared with all its
images; the estimate between consecutive frames (public detections masked) against the exact motion from
the variant's own transforms, as the mean displacement error over a 3x3 grid of image points (px). "full"
estimates at the frame's own width (no downscaling), the reference for "no loss from downscaling".
Cost: median ms/frame of `CameraMotionEstimator.estimate` on one CPU thread (cv2.setNumThreads(1),
torch unused) over PETS09-S3-MF1 (768x576) and shared/videos/people.mp4 (1920x1080); methods alternate
frame by frame, so load from other processes hits them alike; `--clock cpu` times each estimate by the timing
thread's CPU time instead of the wall clock (on an oversubscribed machine a wall-clock estimate also counts other
processes' time slices; with one OpenCV thread the estimate runs on the timing thread). Prints tables; writes nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tracker import load_config  # noqa: E402
from tracker.camera_motion import METHODS, CameraMotionEstimator  # noqa: E402
from tracker.cli_args import non_negative_int, positive_int  # noqa: E402
from tracker.closed_pipe import run_tool  # noqa: E402
from tracker.config import ConfigError  # noqa: E402
from tracker.eval.sequences import find_sequences  # noqa: E402
from tracker.eval.variants import GROUPS, VARIANTS, load_transforms, materialise, relative_motion  # noqa: E402
from tracker.io.opencv_files import image_file  # noqa: E402

SHARED = Path(os.environ.get("TRACKER_SHARED") or ROOT.parent / "shared")  # as every tool: $TRACKER_SHARED first
IMAGE_SEQUENCES = ["MOT15/train/TUD-Campus", "PETS09-S3-MF1"]
GRID = 3  # error measured on a GRID x GRID lattice of image points
FULL = "full"
MS_PER_S = 1e3
P95 = 95
MIN_FRAMES = 2  # `--frames`: the first frame has no estimate (nothing before it), so it is left out of the median
CLOCKS = {"wall": time.perf_counter, "cpu": time.thread_time}  # `--clock`: seconds, wall or this thread's CPU time


def _estimator(method: str, width: int) -> CameraMotionEstimator:
    cfg = load_config(overrides=[f"motion.camera_compensation={method}", f"motion.camera_image_width={width}"])
    return CameraMotionEstimator(cfg.motion)


def _grid(width: int, height: int) -> np.ndarray:
    xs, ys = np.meshgrid(np.linspace(0, width, GRID), np.linspace(0, height, GRID))
    return np.stack([xs.ravel(), ys.ravel(), np.ones(GRID * GRID)], axis=1)


def accuracy(methods: list[str], widths: list[str], variants: list[str], seed: int) -> None:
    print("accuracy: mean grid-point error vs the exact camera motion (px, median / p95 over frames), failures")
    header = f"{'sequence':<26}{'method':<13}" + "".join(f"{w:>22}" for w in widths)
    print(header)
    for rel in IMAGE_SEQUENCES:
        source = find_sequences(SHARED / "data" / rel)[0]
        for variant in variants:
            seq = materialise(source, variant, seed)
            transforms = load_transforms(seq)
            public = seq.public_detections()
            images = [image_file(seq.info.image_path(f)) for f in range(1, seq.info.length + 1)]
            grid = _grid(seq.info.width, seq.info.height)
            for method in methods:
                cells = []
                for w in widths:
                    est = _estimator(method, seq.info.width if w == FULL else int(w))
                    errors = []
                    for f, image in enumerate(images, start=1):
                        boxes = public.get(f, (np.zeros((0, 4)), None))[0]
                        affine = est.estimate(image, boxes)
                        if f == 1:
                            continue
                        truth = relative_motion(transforms[f - 2], transforms[f - 1])
                        errors.append(float(np.linalg.norm(grid @ (affine - truth).T, axis=1).mean()))
                    cells.append(f"{np.median(errors):6.2f} /{np.percentile(errors, P95):6.2f}  {est.failures:>3d}f")
                print(f"{seq.name:<26}{method:<13}" + "".join(f"{c:>22}" for c in cells))


def _frames_of_video(path: Path, limit: int) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    frames = []
    try:
        while len(frames) < limit:
            ok, frame = cap.read()
            if not ok:
                break
            frames.append(frame)
    finally:
        cap.release()
    return frames


def cost(methods: list[str], widths: list[str], limit: int, clock_name: str = "wall") -> None:
    clock = CLOCKS[clock_name]
    cv2.setNumThreads(1)
    pets = find_sequences(SHARED / "data" / "PETS09-S3-MF1")[0]
    sources = {
        "768x576 PETS09-S3-MF1": [image_file(pets.info.image_path(f)) for f in range(1, pets.info.length + 1)],
        "1920x1080 people.mp4": _frames_of_video(SHARED / "videos" / "people.mp4", limit),
    }
    print(f"\ncost: median ms/frame of one estimate, 1 OpenCV thread, {clock_name} clock (methods alternate by frame)")
    print(f"{'source':<24}{'method':<13}" + "".join(f"{w:>10}" for w in widths))
    for name, frames in sources.items():
        width = frames[0].shape[1]
        runs = {(m, w): _estimator(m, width if w == FULL else int(w)) for m in methods for w in widths}
        times: dict[tuple[str, str], list[float]] = {k: [] for k in runs}
        for frame in frames:
            for key, est in runs.items():
                start = clock()
                est.estimate(frame)
                times[key].append(MS_PER_S * (clock() - start))
        for m in methods:
            cells = [f"{statistics.median(times[(m, w)][1:]):10.2f}" for w in widths]  # (frame 1: no estimate)
            print(f"{name:<24}{m:<13}" + "".join(cells))
        fails = {f"{m}@{w}": runs[(m, w)].failures for m in methods for w in widths if runs[(m, w)].failures}
        if fails:
            print(f"  failed estimates on {name}: {fails}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--methods", nargs="+", choices=METHODS[1:], default=["sparse_flow", "orb", "ecc"])
    p.add_argument("--widths", nargs="+", default=["160", "320", "480", FULL], help="gray-copy widths, or full")
    p.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=GROUPS["moving"])
    p.add_argument("--seed", type=non_negative_int, default=0, help="the variants' seed")
    p.add_argument("--frames", type=positive_int, default=302, help="frames of people.mp4 timed")
    p.add_argument("--skip-accuracy", action="store_true")
    p.add_argument("--skip-cost", action="store_true")
    p.add_argument("--clock", choices=sorted(CLOCKS), default="wall", help="time estimates by wall or thread CPU time")
    args = p.parse_args()
    if args.frames < MIN_FRAMES:  # (a StatisticsError traceback once the accuracy tables had run)
        p.error(f"--frames must be at least {MIN_FRAMES} (the first frame has no estimate to time), got {args.frames}")
    for width in args.widths:  # a typo or an out-of-range width: one usage line before anything is measured
        if width != FULL:
            try:
                load_config(overrides=[f"motion.camera_image_width={width}"])
            except ConfigError as exc:
                p.error(f"--widths: {exc}")
    if not SHARED.is_dir():
        sys.exit(f"{SHARED} is absent: this benchmark needs the shared sequences and videos")
    if not args.skip_accuracy:
        accuracy(args.methods, args.widths, args.variants, args.seed)
    if not args.skip_cost:
        cost(args.methods, args.widths, args.frames, args.clock)


if __name__ == "__main__":
    raise SystemExit(run_tool(main))
