"""IDF1 of the real `Tracker` pipeline (detector, lazy ReID on the frames, core) on the ../shared image sequences.

`track eval` feeds the core embeddings computed beforehand for every detection (cached), so the embedder's own
path (crops, batching) and the frames it is asked for are not what it scores. This runs `Tracker.update` (or
`Tracker.stream`) on the image folders as `track` does, counts the crops embedded per frame, and scores the
result with TrackEval like `track eval`.

    python tools/eval_real_pipeline.py [--stream] [--set key=value ...]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_pipeline import shared_config_or_usage  # noqa: E402

from tracker import Tracker, TrackerConfig  # noqa: E402
from tracker.closed_pipe import run_tool  # noqa: E402
from tracker.detector import quiet_ultralytics  # noqa: E402
from tracker.eval.scoring import score_results  # noqa: E402
from tracker.eval.sequences import Sequence, find_sequences  # noqa: E402
from tracker.io.mot import format_mot_row  # noqa: E402
from tracker.io.opencv_files import image_file  # noqa: E402

SEQUENCES = ("MOT15/train/TUD-Campus", "PETS09-S3-MF1")
COLUMNS = ("HOTA", "IDF1", "MOTA", "IDSW")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stream", action="store_true", help="Tracker.stream (detect ahead) instead of update")
    parser.add_argument("--set", action="append", default=[], dest="overrides", help="config override key=value")
    args = parser.parse_args()
    quiet_ultralytics()  # its "Loading ..." lines are noise among the tool's figures (as `track -q`)
    shared, cfg = shared_config_or_usage(parser, "cpu", args.overrides)
    print(f"{'sequence':>14} " + " ".join(f"{c:>7}" for c in COLUMNS) + "  crops/frame  calls/frame")
    with tempfile.TemporaryDirectory() as tmp:
        for name in SEQUENCES:
            seq = find_sequences(shared / "data" / name)[0]
            path = Path(tmp) / f"{seq.name}.txt"
            crops, calls = track_sequence(seq, cfg, args.stream, path)
            scores = score_results([seq], {seq.name: path})[seq.name]
            print(
                f"{seq.name:>14} "
                + " ".join(f"{scores[c]:7.2f}" if c != "IDSW" else f"{scores[c]:7d}" for c in COLUMNS)
                + f"  {np.mean(crops):11.2f}  {np.mean(calls):11.2f}"
            )


def track_sequence(seq: Sequence, cfg: TrackerConfig, stream: bool, path: Path) -> tuple[list[int], list[int]]:
    """Track the image folder of `seq` into the MOT file `path`; (crops embedded, embedder calls) per frame."""
    tracker = Tracker.from_config(cfg, frame_rate=seq.info.frame_rate)
    crops: list[int] = []
    calls: list[int] = []
    embedder = tracker.embedder

    def counted(frame: torch.Tensor, boxes_xyxy: np.ndarray) -> torch.Tensor:
        crops[-1] += len(boxes_xyxy)
        calls[-1] += 1
        return embedder(frame, boxes_xyxy)

    tracker.embedder = counted if embedder is not None else None
    numbers = range(1, seq.info.frames_with_images() + 1)

    def frames() -> Iterator[np.ndarray]:
        for number in numbers:  # read ahead under `stream`: the counts are per frame only in total
            crops.append(0)
            calls.append(0)
            yield image_file(seq.info.image_path(number))

    outputs = tracker.stream(frames()) if stream else (tracker.update(f) for f in frames())
    lines = []
    for number, objects in zip(numbers, outputs, strict=True):
        lines.extend(format_mot_row(number, o.track_id, o.xyxy, o.score) for o in objects)
    path.write_text("".join(lines))
    return crops, calls


if __name__ == "__main__":
    raise SystemExit(run_tool(main))
