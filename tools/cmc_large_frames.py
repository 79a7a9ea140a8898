"""Camera-motion estimate on large frames: the gray copy read every k-th row against the whole frame read.

    python tools/cmc_large_frames.py --detector ../shared/weights/yolov8n_int8_openvino_model       # 1440 x 810
    python tools/cmc_large_frames.py --upscale 1.3333333 --detector ../shared/weights/yolov8n_int8_openvino_model

A frame 4x or more the gray copy's height is read every k-th row (`tracker.camera_motion._ROWS_PER_GRAY_ROW`). The
moving variants of the evaluation (576 and 480 px wide) are read whole, so they cannot tell what that costs; this
tool crops shared/videos/people.mp4 (1920 x 1080, a still camera) along the moving variants' windows
(`tracker.eval.variants.frame_transforms`: 0.75 of the frame, 1440 x 810; with --upscale 4/3 the source is
upscaled first, bicubic, and the crops are 1920 x 1080), so the exact motion between two frames is known. With
--detector the detector's boxes of each source frame are masked out of the estimate, as `track` does (without,
people walking dominate the error). Per variant: the mean grid-point error against the exact motion (px at full
resolution; median / p95 / mean over frames) of "rows" (as the tracker runs), "whole" (every row read: one INTER_AREA
step, within one gray level of the copy before rows were skipped) and "full" (no downscaling), and rows - whole as
mean +- its standard error. One OpenCV thread. Prints a table; writes nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_cmc import _frames_of_video  # noqa: E402

from tracker import camera_motion, load_config  # noqa: E402
from tracker.cli_args import positive_int  # noqa: E402
from tracker.closed_pipe import run_tool  # noqa: E402
from tracker.detector import quiet_ultralytics  # noqa: E402
from tracker.eval.variants import GROUPS, VARIANTS, frame_transforms, relative_motion  # noqa: E402

SHARED = Path(os.environ.get("TRACKER_SHARED") or ROOT.parent / "shared")  # as every tool: $TRACKER_SHARED first
VIDEO = SHARED / "videos" / "people.mp4"
GRID = 3  # error measured on a GRID x GRID lattice of image points (as bench_cmc.py)
FRAME_RATE = 30.0  # people.mp4's frames/s (the jump variant's period)
SEED = 0  # the variants' seed (the jitter variant's walk)
P95 = 95
MIN_FRAMES = 2  # a motion is measured between two frames
WHOLE = 1 << 30  # `_ROWS_PER_GRAY_ROW` above any frame's height: no row skipped
COLUMNS = ("rows", "whole", "full")


def _boxes(frames: list[np.ndarray], model: str | None) -> list[np.ndarray]:
    """(N, 4) xyxy person boxes of each source frame, or none without a detector."""
    if model is None:
        return [np.zeros((0, 4)) for _ in frames]
    import torch

    from tracker.detector import build_detector

    detector = build_detector(load_config(overrides=[f"detector.model={model}"]).detector, torch.device("cpu"))
    return [detector(frame)[0] for frame in frames]


@contextmanager
def _rows(whole: bool) -> Iterator[None]:
    """The gray copy read whole (every row) inside, if `whole`."""
    saved = camera_motion._ROWS_PER_GRAY_ROW
    camera_motion._ROWS_PER_GRAY_ROW = WHOLE if whole else saved
    try:
        yield
    finally:
        camera_motion._ROWS_PER_GRAY_ROW = saved


def _grid(width: int, height: int) -> np.ndarray:
    xs, ys = np.meshgrid(np.linspace(0, width, GRID), np.linspace(0, height, GRID))
    return np.stack([xs.ravel(), ys.ravel(), np.ones(GRID * GRID)], axis=1)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--frames", type=positive_int, default=120, help="frames of people.mp4 per variant")
    p.add_argument("--upscale", type=float, default=1.0, help="source upscale (4/3: 1920 x 1080 crops)")
    p.add_argument("--detector", default=None, help="detector model whose boxes are masked out (none: no mask)")
    p.add_argument("--width", type=positive_int, default=None, help="gray-copy width (default: the config's)")
    args = p.parse_args()
    quiet_ultralytics()  # its "Loading ..." lines are noise among the tool's figures (as `track -q`)
    if not VIDEO.is_file():
        sys.exit(f"{VIDEO} is absent: this tool needs shared/videos/people.mp4")
    if not 1.0 <= args.upscale <= 4.0:
        p.error(f"--upscale must be between 1 and 4, got {args.upscale}")
    if args.frames < MIN_FRAMES:
        p.error(f"--frames must be at least {MIN_FRAMES} (a motion is between two frames), got {args.frames}")
    cv2.setNumThreads(1)
    source = _frames_of_video(VIDEO, args.frames)
    try:  # a detector that is not there: the library's message as one usage line, not a traceback
        boxes = _boxes(source, args.detector)
    except FileNotFoundError as exc:
        p.error(str(exc))
    if args.upscale != 1.0:
        source = [cv2.resize(f, None, fx=args.upscale, fy=args.upscale, interpolation=cv2.INTER_CUBIC) for f in source]
    height, width = source[0].shape[:2]
    base = load_config(overrides=["motion.camera_compensation=sparse_flow"]).motion
    gray_width = args.width or base.camera_image_width
    print(f"source {width}x{height}, {len(source)} frames, people {'masked' if args.detector else 'not masked'}")
    print("mean grid-point error vs the exact motion, px at full resolution: median / p95 / mean; rows - whole")
    for variant in GROUPS["moving"]:
        transforms, out_w, out_h, _ = frame_transforms(
            VARIANTS[variant], len(source), width, height, FRAME_RATE, SEED, "people"
        )
        grid = _grid(out_w, out_h)
        widths = {"rows": gray_width, "whole": gray_width, "full": out_w}
        ests = {
            k: camera_motion.CameraMotionEstimator(
                load_config(
                    overrides=["motion.camera_compensation=sparse_flow", f"motion.camera_image_width={w}"]
                ).motion
            )
            for k, w in widths.items()
        }
        errors: dict[str, list[float]] = {k: [] for k in COLUMNS}
        for i, t in enumerate(transforms):
            image = cv2.warpAffine(
                source[t.source - 1], t.matrix(), (out_w, out_h), flags=cv2.INTER_LINEAR,
                borderMode=cv2.BORDER_REPLICATE,
            )  # fmt: skip
            mapped = np.asarray(boxes[t.source - 1], dtype=np.float64).reshape(-1, 4) * args.upscale
            mapped = (mapped - np.array([t.x0, t.y0, t.x0, t.y0])) * t.scale
            for k, est in ests.items():
                with _rows(whole=k == "whole"):
                    affine = est.estimate(image, mapped)
                if i:
                    truth = relative_motion(transforms[i - 1], t)
                    errors[k].append(float(np.linalg.norm(grid @ (affine - truth).T, axis=1).mean()))
        cells = "  ".join(
            f"{k} {np.median(v):.3f} / {np.percentile(v, P95):.3f} / {np.mean(v):.3f}" for k, v in errors.items()
        )
        diff = np.array(errors["rows"]) - np.array(errors["whole"])
        print(
            f"{variant:<7} {out_w}x{out_h}  {cells}  rows - whole {diff.mean():+.3f} +- "
            f"{diff.std() / np.sqrt(len(diff)):.3f}"
        )


if __name__ == "__main__":
    raise SystemExit(run_tool(main))
