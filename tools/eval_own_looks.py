"""Lazy embedding against every look, with looks of another ReID: the shared sequences' OSNet looks projected.

A user with a ReID of their own gives its looks through `Tracker.update_detections(embed=...)` (lazy: only the
detections whose appearance matters are asked for) or `embeddings=` (every detection). This tracks TUD-Campus and
PETS09-S3-MF1 with both box sources (yolov8n INT8 and the public boxes), the `track eval` cache's OSNet MSMT17 looks
as they are (D=512) or multiplied by a seeded Gaussian random projection to D dimensions (a noisier look: the
cosines of a projection scatter around the originals'), three ways: `embed=` lazy, `embeddings=` (every look), and
`embed=` with `appearance.lazy_embedding=false`; and scores each with TrackEval as `track eval` does.

    python tools/eval_own_looks.py [--dims 512 128] [--seed 0] [--set key=value ...]

D=512 means the looks as they are (no projection). Figures: HOTA / IDF1 / IDSW per run.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_pipeline import shared_config, shared_config_or_usage  # noqa: E402

from tracker import Tracker, TrackerConfig  # noqa: E402
from tracker.cli_args import non_negative_int, positive_int  # noqa: E402
from tracker.closed_pipe import run_tool  # noqa: E402
from tracker.eval.inputs import FrameInputs, load_inputs  # noqa: E402
from tracker.eval.scoring import score_results  # noqa: E402
from tracker.eval.sequences import Sequence, find_sequences  # noqa: E402
from tracker.io.mot import format_mot_row  # noqa: E402

SEQUENCES = ("MOT15/train/TUD-Campus", "PETS09-S3-MF1")
SOURCES = ("detector", "public")
OSNET_DIM = 512  # the cached looks' D: no projection
MODES = {  # name -> (how the looks are given, extra config overrides)
    "lazy": ("embed", ()),
    "arrays": ("embeddings", ()),
    "embed, not lazy": ("embed", ("appearance.lazy_embedding=false",)),
}


def track(seq: Sequence, frames: list[FrameInputs], looks: Callable, how: str, cfg: TrackerConfig) -> dict:
    """Track `frames` with `looks(E)` as each frame's looks, given `how` ("embed" or "embeddings"); TrackEval's
    metrics of the result."""
    tracker = Tracker(cfg, frame_rate=seq.info.frame_rate)
    size = (seq.info.height, seq.info.width)
    lines = []
    for number, frame in enumerate(frames, start=1):
        given = None if frame.embeddings is None else looks(np.asarray(frame.embeddings, dtype=np.float32))
        if given is None:
            objects = tracker.update_detections(frame.boxes_xyxy, frame.scores, frame.class_ids, frame_size=size)
        elif how == "embed":
            objects = tracker.update_detections(
                frame.boxes_xyxy, frame.scores, frame.class_ids, embed=lambda rows, e=given: e[rows], frame_size=size
            )
        else:
            objects = tracker.update_detections(
                frame.boxes_xyxy, frame.scores, frame.class_ids, embeddings=given, frame_size=size
            )
        lines += [format_mot_row(number, o.track_id, o.xyxy, o.score) for o in objects]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{seq.name}.txt"
        path.write_text("".join(lines))
        return score_results([seq], {seq.name: path})[seq.name]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--dims", type=positive_int, nargs="+", default=[OSNET_DIM, 128], help="look sizes D (512: as is)"
    )
    parser.add_argument("--seed", type=non_negative_int, default=0, help="seed of the random projections")
    parser.add_argument("--set", action="append", default=[], dest="overrides", help="config override key=value")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    shared = shared_config_or_usage(parser, "cpu", args.overrides)[0]
    print("D     sequence         boxes     " + "".join(f"{name:>22s}" for name in MODES))
    for dim in args.dims:
        projection = None
        if dim != OSNET_DIM:
            projection = (rng.standard_normal((OSNET_DIM, dim)) / np.sqrt(dim)).astype(np.float32)

        def looks(e: np.ndarray, p: np.ndarray | None = projection) -> np.ndarray:
            return e if p is None else e @ p

        for name in SEQUENCES:
            seq = find_sequences(shared / "data" / name)[0]
            for source in SOURCES:
                frames = load_inputs(seq, source, shared_config("cpu", args.overrides)[1], None).frames
                cells = []
                for how, extra in MODES.values():
                    m = track(seq, frames, looks, how, shared_config("cpu", [*args.overrides, *extra])[1])
                    cells.append(f"{m['HOTA']:.2f} / {m['IDF1']:.2f} / {int(m['IDSW'])}")
                print(f"{dim:<5d} {seq.name:16s} {source:9s} " + "".join(f"{c:>22s}" for c in cells), flush=True)


if __name__ == "__main__":
    raise SystemExit(run_tool(main))
