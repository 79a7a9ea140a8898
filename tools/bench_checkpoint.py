"""What a `track` resume checkpoint costs: ms per checkpoint and its size, at T live tracks, beside one frame.

    python tools/bench_checkpoint.py                      # T = 20 and 50, 512-d embeddings, 7 repeats
    python tools/bench_checkpoint.py --tracks 20 50 100 --repeats 9

T people stand on a grid in a 1080p frame, each with a fixed identity embedding plus noise, and are tracked for
`--frames` frames with `update_detections` (every bank is full: the worst case for the checkpoint's size). Then,
alternating in the same run, one frame of tracking and one checkpoint (`tracker.resume.Checkpointer.write`: pickle,
write, fsync, rename into a temporary folder) are timed `--repeats` times. Printed per T: median ms per frame, median
ms per checkpoint, their ratio, the checkpoint's size in MB, and the share of wall time checkpointing takes at the
default interval (`DEFAULT_CHECKPOINT_SECONDS`). No peer tracker writes checkpoints, so the comparison is with our
own frame: a checkpoint costs about this many frames of tracking, once per interval.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's tracker/, not the installed one

from tracker import Tracker, load_config  # noqa: E402
from tracker.cli_args import positive_int  # noqa: E402
from tracker.closed_pipe import run_tool  # noqa: E402
from tracker.resume import CHECKPOINT_NAME, DEFAULT_CHECKPOINT_SECONDS, Checkpointer, Progress  # noqa: E402

WIDTH, HEIGHT = 1920, 1080
BOX = (40.0, 100.0)  # width, height of each person's box, pixels
NOISE = 0.05  # embedding noise per dimension, around a unit identity vector
FPS = 30.0
MB = 1e6


def scene(tracks: int, dim: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(T, 4) boxes on a grid over the frame and (T, D) identity vectors."""
    cols = int(np.ceil(np.sqrt(tracks * WIDTH / HEIGHT)))
    xs = (np.arange(tracks) % cols) * (WIDTH / cols) + 10
    ys = (np.arange(tracks) // cols) * (HEIGHT / np.ceil(tracks / cols)) + 10
    boxes = np.stack([xs, ys, xs + BOX[0], ys + BOX[1]], axis=1)
    people = rng.normal(size=(tracks, dim))
    return boxes, people / np.linalg.norm(people, axis=1, keepdims=True)


def track_frame(tracker: Tracker, boxes: np.ndarray, people: np.ndarray, rng: np.random.Generator) -> None:
    """One frame: every person detected where they stand (half a pixel of jitter), with a noisy embedding."""
    noisy = people + NOISE * rng.normal(size=people.shape)
    jitter = rng.normal(scale=0.5, size=boxes.shape)
    tracker.update_detections(boxes + jitter, np.full(len(boxes), 0.9), None, noisy, frame_size=(HEIGHT, WIDTH))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tracks", type=positive_int, nargs="+", default=[20, 50])
    parser.add_argument("--dim", type=positive_int, default=512, help="embedding size (OSNet: 512)")
    parser.add_argument(
        "--frames", type=positive_int, default=120, help="frames tracked before timing (fills the banks)"
    )
    parser.add_argument("--repeats", type=positive_int, default=7)
    args = parser.parse_args()
    cfg = load_config(overrides=["device=cpu"])
    rng = np.random.default_rng(0)
    print(f"{'T':>4} {'frame ms':>9} {'checkpoint ms':>14} {'ratio':>6} {'MB':>6} {'share at default':>17}")
    for tracks in args.tracks:
        boxes, people = scene(tracks, args.dim, rng)
        tracker = Tracker(cfg, FPS)
        for _ in range(args.frames):
            track_frame(tracker, boxes, people, rng)
        frame_ms, checkpoint_ms = [], []
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / CHECKPOINT_NAME
            writer = Checkpointer(path, {"bench": tracks})
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                track_frame(tracker, boxes, people, rng)
                t1 = time.perf_counter()
                writer.write((tracker.core, tracker.camera_motion), Progress(frames=args.frames))
                t2 = time.perf_counter()
                frame_ms.append((t1 - t0) * 1e3)
                checkpoint_ms.append((t2 - t1) * 1e3)
            size = path.stat().st_size / MB
        live = len(tracker.core.tracks)
        f, c = statistics.median(frame_ms), statistics.median(checkpoint_ms)
        share = c / (DEFAULT_CHECKPOINT_SECONDS * 1e3)
        print(f"{live:>4} {f:>9.2f} {c:>14.1f} {c / f:>6.1f} {size:>6.2f} {share:>16.4%}")


if __name__ == "__main__":
    raise SystemExit(run_tool(main))
