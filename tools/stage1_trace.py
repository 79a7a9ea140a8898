"""Why a detection went to one track and not another: the chosen tracks' stage 1 candidates and matches, per frame.

    python tools/stage1_trace.py ../shared/data/MOT15/train/TUD-Campus --variant pan8 --detections detector \\
        --compensation sparse_flow --ids 5,6 --frames 21-25 \\
        --set detector.model=../shared/weights/yolov8n_int8_openvino_model \\
        --set reid.weights=../shared/weights/osnet_x0_25_msmt17.pth

Runs our tracker on one sequence (or one of its variants, `tracker.eval.variants`) from the eval input cache, as
`track eval` does (the same --set values reuse its cache; its result rows are the same), and prints, for each chosen
track ID in each chosen frame, one line with its state (1 tracked, 2 lost), frames lost, stage 1 appearance bound
and Kalman prediction (centre x, y, w x h, px), its last observed box, x velocity, the calibrated bounds and its own
looks' quantile (`_evidence`), then one line per detection inside its stage 1 gate or overlapping
its prediction: box (x, y, w x h), score, IoU with the prediction, bank similarity (nan: none), inside the Kalman
gate (1/0) and the stage 1 cost after every rule (inf: refused; `association.max_cost` is the highest accepted).
Then each match a chosen track got, with its stage (1 appearance + motion, 2 low-score IoU, 3 tentative IoU,
4 re-identification). Use it with `id_timeline.py --idf1` (which frames lost a person's boxes) to find the decision
that differs between two settings.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tracker import Tracker, load_config  # noqa: E402
from tracker.closed_pipe import run_tool  # noqa: E402
from tracker.core import TrackerCore  # noqa: E402
from tracker.eval.inputs import load_inputs  # noqa: E402
from tracker.eval.sequences import find_sequences  # noqa: E402
from tracker.eval.variants import materialise  # noqa: E402
from tracker.io.opencv_files import image_file  # noqa: E402

MOTION_ONLY = ["appearance.enabled=false"]  # as `track eval` runs inputs without embeddings


@dataclass
class StageTrace:
    """Lines about the tracks `ids` in the frames `frames` (None: every frame), gathered by `attach`."""

    ids: set[int]
    frames: set[int] | None = None
    lines: list[str] = field(default_factory=list)
    _stage: int = 0

    def wanted(self, core: TrackerCore) -> bool:
        return self.frames is None or core.frame_index in self.frames

    def attach(self, core: TrackerCore) -> None:
        """Wrap this core's stage methods (on the instance only: other trackers are untouched)."""
        stage1_cost, match, match_iou, reidentify = (
            core.stage1.cost,
            core._match,
            core._match_iou,
            core._reidentify,
        )

        def traced_stage1_cost(view, track_idx, det_idx, *args):
            self._stage = 1
            cost = stage1_cost(view, track_idx, det_idx, *args)
            if self.wanted(core):
                self._candidates(core, view, track_idx, det_idx, cost)
            return cost

        def traced_match(cost, track_idx, det_idx, *args, **kwargs):
            result = match(cost, track_idx, det_idx, *args, **kwargs)
            if self._stage == 1:
                self._matches(core, result[0], 1)
            return result

        def traced_match_iou(*args, **kwargs):
            self._stage = 2 if self._stage == 1 else 3  # stage 2 runs first, then stage 3
            stage = self._stage
            self._stage = -stage  # its inner `_match` call is recorded here, not as stage 1
            result = match_iou(*args, **kwargs)
            self._stage = stage
            self._matches(core, result[0], stage)
            return result

        def traced_reidentify(*args, **kwargs):
            pairs = reidentify(*args, **kwargs)
            self._matches(core, pairs, 4)
            return pairs

        core.stage1.cost, core._match = traced_stage1_cost, traced_match
        core._match_iou, core._reidentify = traced_match_iou, traced_reidentify
        # every pair's exact similarity in the trace: a lost track's pair proven below every bound would otherwise
        # show that proof's bound (`Stage1Cost.exact_floors`; the matches are the same either way)
        core.stage1.exact_floors = lambda lost, border: np.full(len(lost), -np.inf)

    def _candidates(self, core: TrackerCore, view, track_idx, det_idx, cost) -> None:
        table, bounds = core.table, core.stage1.match_bounds()
        for i, row in enumerate(track_idx):
            if int(table.track_id[row]) not in self.ids:
                continue
            cx, cy, w, h = core._mean[row, :4]
            self.lines.append(
                f"f{core.frame_index} T{table.track_id[row]} state={table.state[row]} "
                f"lost={table.frames_since_update[row]} bound={bounds[row, 0]:.3f} "
                f"pred=[{cx:.0f},{cy:.0f},{w:.0f}x{h:.0f}] {_evidence(core, row)}"
            )
            for j, d in enumerate(det_idx):
                if not (np.isfinite(cost[i, j]) or view.iou[row, d] > 0 or view.kalman_gate[row, d]):
                    continue
                x1, y1, x2, y2 = view.dets.boxes_xyxy[d]
                self.lines.append(
                    f"    d{d} [{x1:.0f},{y1:.0f},{x2 - x1:.0f}x{y2 - y1:.0f}] score={view.dets.scores[d]:.2f} "
                    f"iou={view.iou[row, d]:.2f} sim={view.similarity[row, d]:.3f} "
                    f"kalman_gate={int(view.kalman_gate[row, d])} cost={cost[i, j]:.3f}"
                )

    def _matches(self, core: TrackerCore, pairs: np.ndarray, stage: int) -> None:
        if not self.wanted(core):
            return
        for row, d in pairs:
            if int(core.table.track_id[row]) in self.ids:
                self.lines.append(f"f{core.frame_index} T{core.table.track_id[row]} <- d{d} (stage {stage})")


def _evidence(core: TrackerCore, row: int) -> str:
    """The track's last observed box (centre x, y, w x h, px), Kalman x velocity (px/frame), the calibrated "reid"
    and "match" bounds, whether its bank holds a look uncut by the side borders, and its own same-identity
    similarities (how many, and their `association.border_look_quantile` quantile: the border rule's bound)."""
    table = core.table
    cx, cy, w, h = table.observed_xywh[row]
    own = core.calibration.own_positives(int(table.track_id[row]))
    q = core.config.association.border_look_quantile
    own_text = f"{len(own)} q{q:g}={np.quantile(own, q):.3f}" if len(own) else "0"
    return (
        f"seen=[{cx:.0f},{cy:.0f},{w:.0f}x{h:.0f}] vx={core._mean[row, 4]:.1f} "
        f"reid={core.calibration.bound('reid'):.3f} match={core.calibration.bound('match'):.3f} "
        f"whole_look={int(table.whole_look[row])} own={own_text}"
    )


def trace_sequence(tracker: Tracker, frames, images, frame_size, trace: StageTrace) -> list[str]:
    """Run `tracker` over `frames` (FrameInputs, in order) with `images` (one per frame, or None each: no camera
    motion estimated) in frames of `frame_size` ((height, width) px, or None) as `track eval` does, and return
    `trace`'s lines."""
    trace.attach(tracker.core)
    estimator = tracker.camera_motion
    for frame, image in zip(frames, images, strict=True):
        # `motion.camera_compensation: none` has no estimator: no motion, as in `track eval`
        motion = estimator.estimate(image, frame.boxes_xyxy) if image is not None and estimator is not None else None
        frame.track(tracker, motion, 0.0 if motion is None else estimator.noise_px, frame_size)
    return trace.lines


def _ids(text: str) -> set[int]:
    """`--ids`: positive track IDs separated by commas (argparse reports a bad list in one line)."""
    try:
        ids = {int(t) for t in text.split(",")}
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"track IDs must be positive integers separated by commas, got {text!r}"
        ) from None
    if min(ids) < 1:
        raise argparse.ArgumentTypeError(f"track IDs start at 1, got {text!r}")
    return ids


def _frames(text: str) -> tuple[int, int | None]:
    """`--frames`: a frame FIRST, a range FIRST-LAST, or FIRST- (to the sequence's last frame), 1 <= FIRST <= LAST
    (the core counts frames from 1), as (FIRST, LAST or None)."""
    first, dash, last = text.partition("-")
    try:
        low, high = int(first), (int(last) if last else None if dash else int(first))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"a frame, a range FIRST-LAST or FIRST- of frames from 1, got {text!r}"
        ) from None
    if not 1 <= low <= (low if high is None else high):
        raise argparse.ArgumentTypeError(f"a frame or a range FIRST-LAST with 1 <= FIRST <= LAST, got {text!r}")
    return low, high


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sequence", type=Path, help="a sequence folder (seqinfo.ini, img1/, gt/)")
    parser.add_argument("--variant", default="original", help="a variant name of `track eval --variants` (pan8 ...)")
    parser.add_argument("--detections", choices=["public", "detector"], default="public")
    parser.add_argument("--compensation", default=None, help="motion.camera_compensation (default: the config's)")
    parser.add_argument("--ids", required=True, type=_ids, help="track IDs, comma-separated")
    parser.add_argument(
        "--frames", default=None, type=_frames, help="a frame, a range FIRST-LAST or FIRST- (default: every frame)"
    )
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="config override, repeatable")
    args = parser.parse_args(argv)
    if args.sequence.name == "seqinfo.ini":  # the sequence's own file, as a shell completes it: its folder
        args.sequence = args.sequence.parent
    try:  # a wrong sequence, variant, key or weights path: one line, not a traceback
        sets = list(args.set) + ([f"motion.camera_compensation={args.compensation}"] if args.compensation else [])
        cfg = load_config(None, sets)
        found = find_sequences(args.sequence)
        if len(found) != 1:
            raise ValueError(f"{args.sequence} holds {len(found)} sequences, not one")
        seq = materialise(found[0], args.variant) if args.variant != "original" else found[0]
        inputs = load_inputs(seq, args.detections, cfg, None)
    except (OSError, ValueError) as exc:  # (ConfigError is a ValueError)
        parser.error(str(exc))
    frames = None
    if args.frames is not None:
        low, high = args.frames
        if max(low, high or low) > len(inputs.frames):
            parser.error(f"{seq.name} has frames 1-{len(inputs.frames)}, --frames asks for {max(low, high or low)}")
        frames = set(range(low, (high or len(inputs.frames)) + 1))
    tracker = Tracker(cfg if inputs.appearance else cfg.replace(MOTION_ONLY), frame_rate=seq.info.frame_rate)
    numbers = range(seq.first, seq.first + len(inputs.frames))
    images = (image_file(seq.info.image_path(n)) for n in numbers) if seq.has_all_images else None
    images = images if images is not None else [None] * len(inputs.frames)
    trace = StageTrace(args.ids, frames)
    size = (seq.info.height, seq.info.width) if seq.info.height > 0 and seq.info.width > 0 else None
    lines = trace_sequence(tracker, inputs.frames, images, size, trace)
    if lines:
        print("\n".join(lines))
    else:
        print(f"no stage 1 candidate or match of track(s) {sorted(args.ids)} in those frames", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(run_tool(main))
