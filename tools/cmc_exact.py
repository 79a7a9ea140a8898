"""Camera-motion compensation: does the estimate limit the tracking? Each moving variant tracked with compensation
off, with the estimated motion and with its exact motion, side by side.

    python tools/cmc_exact.py --set reid.weights=../shared/weights/osnet_x0_25_msmt17.pth    # public boxes
    python tools/cmc_exact.py --detections detector --variants pan2 pan8 \\
        --set detector.model=../shared/weights/yolov8n_int8_openvino_model \\
        --set reid.weights=../shared/weights/osnet_x0_25_msmt17.pth

(The same --set values as `track eval` reuse its input cache: the integrator's runs use the two above.)

The moving variants are made from known crop windows (`tracker.eval.variants`), so the true camera motion between
two frames is known exactly (`relative_motion`). Per cell: the estimate's residual against it (mean displacement
of a 3x3 grid of image points, px: median / p95 / max over frames), its failures (identity fallbacks), and our
HOTA / IDF1 / IDSW with compensation off ("none"), with the estimate ("estimate", `motion.camera_compensation`,
sparse_flow unless --set says otherwise) and with the exact motion ("exact"). Where "exact" scores as "estimate",
the estimate costs nothing there: a cell where compensation on loses to off is decided by association, not by the
estimate. Inputs (boxes, embeddings) come from the eval input cache as in `track eval`, made there if missing.
Prints a table. Its result files are temporary; the variants and inputs it makes are kept in the eval input cache.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tracker import Tracker, load_config  # noqa: E402
from tracker.cli_args import non_negative_int  # noqa: E402
from tracker.closed_pipe import run_tool  # noqa: E402
from tracker.config import ConfigError, TrackerConfig  # noqa: E402
from tracker.eval.inputs import SequenceInputs, load_inputs  # noqa: E402
from tracker.eval.scoring import score_results  # noqa: E402
from tracker.eval.sequences import Sequence, find_sequences  # noqa: E402
from tracker.eval.variants import GROUPS, load_transforms, materialise, relative_motion  # noqa: E402
from tracker.io.mot import format_mot_row  # noqa: E402
from tracker.io.opencv_files import image_file  # noqa: E402

SHARED = Path(os.environ.get("TRACKER_SHARED") or ROOT.parent / "shared")  # as every tool: $TRACKER_SHARED first
IMAGE_SEQUENCES = ["MOT15/train/TUD-Campus", "PETS09-S3-MF1"]
MODES = ("none", "estimate", "exact")
GRID = 3  # the residual is measured on a GRID x GRID lattice of image points
P95 = 95
MOTION_ONLY = ["appearance.enabled=false"]  # as `track eval` runs a sequence without embeddings
COMPENSATION_OFF = ["motion.camera_compensation=none"]  # the "none" mode: no estimator, as eval's ours-noCMC


@dataclass(frozen=True)
class CellRun:
    """One tracking run of a moving variant: MOT result lines, the estimate's per-frame residuals (px) against the
    exact motion (frames 2..n; empty for "none"), and the estimator's failures."""

    lines: list[str]
    residuals: np.ndarray
    failures: int


def grid_residual(estimate: np.ndarray, truth: np.ndarray, width: int, height: int) -> float:
    """Mean displacement (px) between two (2, 3) affines over a GRID x GRID lattice spanning the width x height
    frame: 0 for equal transforms, d for transforms that differ by a shift of d px."""
    xs, ys = np.meshgrid(np.linspace(0, width, GRID), np.linspace(0, height, GRID))
    points = np.stack([xs.ravel(), ys.ravel(), np.ones(GRID * GRID)], axis=1)
    return float(np.linalg.norm(points @ (np.asarray(estimate) - np.asarray(truth)).T, axis=1).mean())


def track_variant(seq: Sequence, inputs: SequenceInputs, cfg: TrackerConfig, mode: str) -> CellRun:
    """Track the moving variant `seq` with compensation off ("none"), the configured estimate ("estimate") or the
    variant's exact camera motion ("exact"); the estimate runs in every mode but "none" (its residual is reported).

    Raises:
        ValueError: `seq` is not a moving variant (no per-frame transforms), or an unknown mode.
    """
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; known: {', '.join(MODES)}")
    transforms = load_transforms(seq)
    if transforms is None:
        raise ValueError(f"{seq.name} is not a variant: no {seq.info.root / 'variant.json'}")
    # (compensation off is no estimator: with one, `update_detections` warned that no camera motion was applied)
    overrides = ([] if inputs.appearance else MOTION_ONLY) + (COMPENSATION_OFF if mode == "none" else [])
    tracker = Tracker(cfg.replace(overrides) if overrides else cfg, frame_rate=seq.info.frame_rate)
    estimator = tracker.camera_motion
    if mode != "none" and estimator is None:
        raise ValueError("motion.camera_compensation is none: set a method to compare the estimate")
    size = (seq.info.height, seq.info.width)
    lines, residuals = [], []
    for number, frame in enumerate(inputs.frames, start=1):
        motion, noise = None, 0.0
        if estimator is not None:
            image = image_file(seq.info.image_path(seq.first + number - 1))
            motion = estimator.estimate(image, frame.boxes_xyxy)
            if number > 1:
                truth = relative_motion(transforms[number - 2], transforms[number - 1])
                residuals.append(grid_residual(motion, truth, seq.info.width, seq.info.height))
                if mode == "exact":
                    motion = truth
            if mode != "exact":
                noise = estimator.noise_px  # (the exact motion has none)
        objects = frame.track(tracker, motion, noise, size)
        lines.extend(format_mot_row(number, o.track_id, o.xyxy, o.score) for o in objects)
    return CellRun(lines, np.array(residuals), 0 if estimator is None else estimator.failures)


def _score(seq: Sequence, lines: list[str], folder: Path) -> dict[str, float]:
    path = folder / f"{seq.name}.txt"
    path.write_text("".join(line if line.endswith("\n") else line + "\n" for line in lines))
    return score_results([seq], {seq.name: path})[seq.name]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sequences", nargs="+", default=IMAGE_SEQUENCES, help="folders under ../shared/data")
    moving = GROUPS["moving"]
    p.add_argument("--variants", nargs="+", default=moving, choices=moving, help="moving variants (default: all)")
    p.add_argument("--detections", choices=["public", "detector"], default="public")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="config override, repeatable")
    p.add_argument("--seed", type=non_negative_int, default=0, help="the variants' seed")
    args = p.parse_args(argv)
    if not SHARED.is_dir():
        sys.exit(f"{SHARED} is absent: this tool needs the shared sequences")
    try:  # a bad --set: one usage line before any sequence loads, not a traceback
        cfg = load_config(overrides=args.set)
    except ConfigError as exc:
        p.error(str(exc))
    if cfg.motion.camera_compensation == "none":
        cfg = cfg.replace(["motion.camera_compensation=sparse_flow"])
    print(f"{args.detections} boxes, estimate: {cfg.motion.camera_compensation}; HOTA / IDF1 / IDSW per mode")
    print(f"{'cell':<28}{'residual px p50/p95/max':>26}{'fail':>5}" + "".join(f"{m:>22}" for m in MODES))
    missing = [rel for rel in args.sequences if not (SHARED / "data" / rel).is_dir()]
    if missing:
        p.error(f"no folder {', '.join(missing)} under {SHARED / 'data'}")
    with tempfile.TemporaryDirectory(prefix="cmc_exact_") as tmp:
        for rel in args.sequences:
            source = find_sequences(SHARED / "data" / rel)[0]
            for variant in args.variants:
                seq = materialise(source, variant, args.seed)
                inputs = load_inputs(seq, args.detections, cfg, None)
                runs = {mode: track_variant(seq, inputs, cfg, mode) for mode in MODES}
                cells = []
                for mode, run in runs.items():
                    folder = Path(tmp) / mode
                    folder.mkdir(exist_ok=True)
                    s = _score(seq, run.lines, folder)
                    cells.append(f"{s['HOTA']:6.2f} /{s['IDF1']:6.2f} /{int(s['IDSW']):3d}")
                r = runs["estimate"].residuals
                residual = f"{np.median(r):.2f} /{np.percentile(r, P95):5.2f} /{r.max():5.2f}"
                print(
                    f"{seq.name:<28}{residual:>26}{runs['estimate'].failures:>5}" + "".join(f"{c:>22}" for c in cells)
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(run_tool(main))
