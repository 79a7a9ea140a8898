"""Quantise the OSNet ReID network to INT8 with NNCF (OpenVINO post-training quantisation) and cache it.

    python tools/quantize_reid.py                       # the default reid.weights, crops of ../shared sequences
    python tools/quantize_reid.py --set reid.weights=/path/osnet_x0_25_msmt17.pth --crops 200

Calibration crops are ground-truth person boxes (at least MIN_HEIGHT pixels high) of the MOTChallenge-format
image sequences under ../shared/data (or $TRACKER_SHARED/data), on frames 6, 16, 26, ... (the ReID pair test
in tests/test_embedder.py scores frames 1, 11, 21, ..., so calibration and evaluation do not share frames).
The INT8 model lands in the OpenVINO cache beside the converted fp32 one; `--set reid.int8=true` then uses it.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tracker import load_config  # noqa: E402
from tracker.cli_args import positive_int  # noqa: E402
from tracker.closed_pipe import run_tool  # noqa: E402
from tracker.config import ConfigError  # noqa: E402
from tracker.embedder import IMAGENET_MEAN, IMAGENET_STD, crop_boxes, load_osnet  # noqa: E402
from tracker.io.mot import read_mot_rows, read_sequence_info, tlwh_to_xyxy  # noqa: E402
from tracker.io.opencv_files import image_file  # noqa: E402
from tracker.reid.openvino import save_int8  # noqa: E402
from tracker.weights import require_weights  # noqa: E402

MIN_HEIGHT = 50  # pixels; smaller crops carry little identity
FRAME_STRIDE, FRAME_OFFSET = 10, 6  # frames 6, 16, 26, ...: between the pair test's frames
CROPS_PER_FRAME = 8  # at most, so that no crowded frame dominates
BATCH = 8  # crops per calibration batch


def calibration_batches(data: Path, size: tuple[int, int], limit: int) -> list[np.ndarray]:
    """(B, 3, H, W) float32 batches of normalised crops from every sequence with gt under `data`."""
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    crops = []
    for gt_file in sorted(data.rglob("gt/gt.txt")):
        root = gt_file.parent.parent
        info = read_sequence_info(root)
        gt = read_mot_rows(gt_file)
        for frame in range(FRAME_OFFSET, info.frames_with_images() + 1, FRAME_STRIDE):
            rows = gt[(gt[:, 0] == frame) & (gt[:, 5] >= MIN_HEIGHT)][:CROPS_PER_FRAME]
            if len(rows):
                image = torch.from_numpy(image_file(info.image_path(frame)))
                crops.append((crop_boxes(image, tlwh_to_xyxy(rows[:, 2:6]), size) - mean) / std)
    if not crops:
        sys.exit(f"no ground-truth crops found under {data}")
    flat = torch.cat(crops)[:limit].contiguous().numpy()
    return [flat[i : i + BATCH] for i in range(0, len(flat), BATCH)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", action="append", default=[], dest="overrides", help="config override key=value")
    parser.add_argument("--crops", type=positive_int, default=300, help="calibration crops at most")
    parser.add_argument("--data", type=Path, default=None, help="folder of sequences (default ../shared/data)")
    args = parser.parse_args()
    shared = Path(os.environ.get("TRACKER_SHARED", ROOT.parent / "shared"))
    data = args.data or shared / "data"
    try:  # a bad --set: one usage line before any crop or model loads, not a traceback
        cfg = load_config(ROOT / "configs" / "default.yaml", overrides=[*args.overrides, "reid.backend=torch"])
    except ConfigError as exc:
        parser.error(str(exc))
    if cfg.reid.weights == load_config(None).reid.weights and not Path(cfg.reid.weights).is_file():
        cfg = cfg.replace([f"reid.weights={shared / 'weights' / cfg.reid.weights}"])
    size = (cfg.reid.crop_height, cfg.reid.crop_width)
    batches = calibration_batches(data, size, args.crops)
    embedder = load_osnet(cfg.reid, torch.device("cpu"))
    print(f"calibrating on {sum(len(b) for b in batches)} crops from {data}")
    path = save_int8(embedder.model.eval(), require_weights(cfg.reid.weights, "reid"), size, batches)
    print(f"INT8 model cached at {path}; use it with --set reid.int8=true")


if __name__ == "__main__":
    raise SystemExit(run_tool(main))
