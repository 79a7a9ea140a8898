"""Record the core's per-frame outputs on the benchmark worlds, or check them against a recorded reference.

    python tools/core_outputs.py record ref.npz      # before a speed change
    python tools/core_outputs.py check ref.npz       # after it: same IDs, same detections, boxes within --atol

A speed rewrite of the core must not change what it outputs. The worlds are those of `tools/bench_core.py`
(walking, crossing, churn; `--frames` each) given whole embeddings, plus the walking and crossing worlds with an
`embed` callback (lazy embedding: only the detections whose appearance matters are embedded). Per frame and
output the reference holds the track ID, the detection index and the box. `check` prints the first frame where a
world differs, and exits 1 if any does.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's tracker/, not the installed one

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_core import CHURN_DIM, FPS, world  # noqa: E402

from tracker import Tracker, load_config  # noqa: E402
from tracker.cli_args import non_negative_float, positive_int  # noqa: E402
from tracker.closed_pipe import run_tool  # noqa: E402

CAPACITY = 100  # K of the benchmark
DIM = 512  # D of the walking and crossing worlds
NUM_TRACKS = 50  # T of the walking and crossing worlds
BOX_ATOL = 1e-6  # pixels: float differences in the last bits that flip no decision


def runs(frames: int) -> dict[str, tuple[str, int, int, bool]]:
    """name -> (world, T, D, lazy)."""
    return {
        "walking": ("walking", NUM_TRACKS, DIM, False),
        "crossing": ("crossing", NUM_TRACKS, DIM, False),
        "churn": ("churn", 0, CHURN_DIM, False),
        "walking_lazy": ("walking", NUM_TRACKS, DIM, True),
        "crossing_lazy": ("crossing", NUM_TRACKS, DIM, True),
        # the ends of the bench's T sweep (per-frame overhead at T=10, pair costs at T=500), and a crowded crossing
        "walking_t10": ("walking", 10, DIM, False),
        "walking_t500": ("walking", 500, DIM, False),
        "crossing_t300": ("crossing", 300, DIM, False),
    }


def outputs(name: str, num_tracks: int, dim: int, lazy: bool, frames: int) -> dict[str, np.ndarray]:
    """Per-output rows of one run: frame, track_id, detection_index (int64) and xyxy (float64)."""
    cfg = load_config(None, overrides=[f"appearance.bank_capacity={CAPACITY}", "device=cpu"])
    tracker = Tracker(cfg, frame_rate=FPS)
    rows: list[tuple[int, int, int]] = []
    boxes: list[np.ndarray] = []
    for f, det in enumerate(world(name, num_tracks, dim, frames)):
        if lazy:
            out = tracker.update_detections(det.boxes_xyxy, det.scores, embed=lambda r, e=det.embeddings: e[r])
        else:
            out = tracker.update_detections(det.boxes_xyxy, det.scores, embeddings=det.embeddings)
        rows += [(f, o.track_id, o.detection_index) for o in out]
        boxes += [o.xyxy for o in out]
    table = np.array(rows, dtype=np.int64).reshape(-1, 3)
    return {"frame": table[:, 0], "track_id": table[:, 1], "det": table[:, 2], "xyxy": np.array(boxes).reshape(-1, 4)}


def compare(name: str, ref: dict[str, np.ndarray], new: dict[str, np.ndarray], atol: float) -> str | None:
    """None if equal; else a description of the first differing frame."""
    frames = np.union1d(ref["frame"], new["frame"])
    for f in frames:
        a, b = ref["frame"] == f, new["frame"] == f
        ids_a, ids_b = ref["track_id"][a], new["track_id"][b]
        if not np.array_equal(ids_a, ids_b) or not np.array_equal(ref["det"][a], new["det"][b]):
            return f"{name}: frame {f}: IDs {ids_a.tolist()} -> {ids_b.tolist()}"
        diff = np.abs(ref["xyxy"][a] - new["xyxy"][b])
        if diff.size and diff.max() > atol:
            return f"{name}: frame {f}: boxes differ by up to {diff.max():.3g} px"
    return None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["record", "check"])
    parser.add_argument("reference", type=Path, help=".npz file")
    parser.add_argument("--frames", type=positive_int, default=300, help="frames per world")
    parser.add_argument(
        "--atol", type=non_negative_float, default=BOX_ATOL, help="box tolerance in pixels, >= 0 (check)"
    )
    parser.add_argument("--only", nargs="*", help="runs to do (default: all)")
    args = parser.parse_args(argv)
    known = runs(args.frames)
    unknown = [name for name in args.only or () if name not in known]
    if unknown:  # else a typo checked nothing and exited 0, as if the outputs were identical
        parser.error(f"--only: no run {', '.join(unknown)}; the runs are {', '.join(known)}")
    if args.mode == "check" and not args.reference.is_file():
        parser.error(f"no such reference file: {args.reference} (make it with `record` before the change)")
    if args.mode == "record" and not args.reference.parent.is_dir():
        parser.error(f"no such folder: {args.reference.parent}")
    selected = {k: v for k, v in known.items() if not args.only or k in args.only}
    if args.mode == "record":
        arrays = {}
        for name, spec in selected.items():
            for key, value in outputs(*spec, args.frames).items():
                arrays[f"{name}/{key}"] = value
            print(f"{name}: {len(arrays[f'{name}/frame'])} outputs", flush=True)
        tmp = args.reference.with_suffix(".tmp.npz")
        np.savez_compressed(tmp, frames=args.frames, **arrays)
        tmp.replace(args.reference)
        return
    data = np.load(args.reference)
    if int(data["frames"]) != args.frames:
        sys.exit(f"the reference has {int(data['frames'])} frames per world, not {args.frames}")
    absent = [name for name in selected if f"{name}/frame" not in data]
    if absent:
        sys.exit(f"the reference has no {', '.join(absent)} run (recorded with --only?): --only the runs it has")
    failed = False
    for name, spec in selected.items():
        ref = {key: data[f"{name}/{key}"] for key in ("frame", "track_id", "det", "xyxy")}
        new = outputs(*spec, args.frames)
        problem = compare(name, ref, new, args.atol)
        worst = np.abs(ref["xyxy"] - new["xyxy"]).max() if problem is None and len(ref["xyxy"]) else 0.0
        print(problem or f"{name}: identical ({len(ref['frame'])} outputs, boxes within {worst:.2g} px)", flush=True)
        failed |= problem is not None
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    raise SystemExit(run_tool(main))
