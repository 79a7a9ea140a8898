"""`FramePairs` and `FrameView`: what the matching stages of one frame share about tracks x detections (built by
`TrackerCore`: the pairs by motion first, then the looks that decide them embedded, then the view with their bank
similarities)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from tracker.types import Detections

__all__ = ["BorderLooks", "FramePairs", "FrameView", "NoPairs", "block"]


@dataclass(frozen=True)
class BorderLooks:
    """This frame's pairs cut by a side border where a track walks out (`Stage1Cost.border_pairs`), whose looks
    only the border rule of the stage 1 cost (`Stage1Cost.cost`) reads."""

    pairs: np.ndarray  # (T, N) bool: the border-cut pairs
    only: np.ndarray  # (T, N) bool: those of them compared for this rule alone (no other stage reads their looks)
    similarity: np.ndarray | None  # (T, N) the looks of the `only` pairs, NaN elsewhere; None: none compared
    embedded: np.ndarray | None  # (N,) bool: embedded for this rule alone (no matched bank, no sample; a new track's)


class NoPairs(NamedTuple):
    """A frame without pairs (no track or no detection: `TrackerCore._frame_pairs`): what the looks a new track
    takes (`TrackerCore._looks_to_embed`) and its empty view (`TrackerCore._frame_view`) still read."""

    det_xywh: np.ndarray  # (N, 4)
    part_boxes: np.ndarray | None  # (N,) bool: parts of a person (`FrameView.part_boxes`); None: none is
    confirmed: np.ndarray  # (T,) bool: the tracks tracked or lost as the frame began (`TrackerCore.table.confirmed`)


class FramePairs(NamedTuple):
    """A frame's tracks x detections by motion alone, before any look is embedded: which pairs are possible, which
    ambiguous, which a re-identification, and so which looks decide a pair (`TrackerCore._looks_to_embed`) and which
    pairs' similarities the view takes (`TrackerCore._frame_view`). A frame with no track or no detection has
    `NoPairs` instead. (A named tuple: made every frame, at a tenth of a frozen dataclass's cost.)"""

    det_xywh: np.ndarray  # (N, 4)
    part_boxes: np.ndarray | None  # (N,) bool: parts of a person (`FrameView.part_boxes`); None: none is
    confirmed: np.ndarray  # (T,) bool: the tracks tracked or lost as the frame began (`TrackerCore.table.confirmed`)
    iou: np.ndarray  # (T, N), overlaps buffered by the motion the filter cannot predict
    class_cost: np.ndarray | None  # (T, N) (`FrameView.class_cost`); None: all of one class
    motion_gate: np.ndarray  # (T, N) bool: inside the Kalman gate, or overlapping (and class-compatible)
    kalman_gate: np.ndarray  # (T, N) bool: inside the Kalman gate
    innovation_diagonal: np.ndarray | None  # (T, 4) (`FrameView.innovation_diagonal`)
    lost: np.ndarray  # (T,) bool: the lost tracks
    gated_iou: np.ndarray  # (T, N) `iou` inside `motion_gate`, 0 outside
    # (T, N) bool: re-identification pairs (`TrackerCore._reid_candidates`), each None without a lost track:
    plausible: np.ndarray | None  # within a lost track's reach for the time lost (stage 4)
    lost_pairs: np.ndarray | None  # a lost track's, where the detection plainly continues no tracked track
    compare: np.ndarray  # (T, N) bool: the pairs whose looks are compared (motion alone could be wrong)
    # (T, N) bool: pairs cut by a side border (`Stage1Cost.border_pairs`); None: none (then `border_only` is None too)
    border: np.ndarray | None
    border_only: np.ndarray | None  # (T, N) bool: those of them not in `compare` (read by the border rule alone)
    predicted_xyxy: np.ndarray  # (T, 4) the predicted boxes' corners (`FrameView.predicted_xyxy`)


@dataclass(frozen=True)
class FrameView:
    """Everything about tracks x detections this frame that several stages share, and about its detections alone
    (their boxes, which of them are parts of a person). Made for one frame and read only in it: no field outlives
    its frame."""

    iou: np.ndarray  # (T, N)
    class_cost: np.ndarray | None  # (T, N) added to every stage's cost: 0 same class, penalty, inf incompatible
    motion_gate: np.ndarray  # (T, N) bool: inside the Kalman gate, or overlapping
    kalman_gate: np.ndarray  # (T, N) bool: inside the Kalman gate (squared Mahalanobis distance within gate_chi2)
    # (T, N), NaN where unknown; a lost track's pair proven below every bound its look is compared with holds that
    # proof's upper bound (`Stage1Cost.exact_floors`), not its similarity
    similarity: np.ndarray
    # (T, N) similarity restricted to stage-4-plausible pairs, NaN elsewhere; None: no lost track this frame (stage 4
    # has nothing to revive)
    reid_sim: np.ndarray | None
    det_xywh: np.ndarray  # (N, 4)
    dets: Detections  # this frame's detections, with the embeddings computed on demand
    confirmed: np.ndarray  # (T,) bool: the tracks tracked or lost as the frame began (`TrackTable.confirmed`)
    border: BorderLooks | None = None  # the pairs cut by a side border (`association.border_look_quantile`)
    # (T, 4) the diagonals of the tracks' innovation covariances when all are diagonal (without scores:
    # `KalmanFilter.gate_and_diagonal`), for the matched update to reuse; None: not all diagonal, or not computed
    innovation_diagonal: np.ndarray | None = None
    # (N,) bool: the detections that are parts of a person, far shorter than the ground line predicts at their foot
    # row (`GroundLine.part_boxes`): no look (stage 1, stage 4, banks), no lost track brought back (stage 1), measured
    # at their track's size (`motion.complete_part_boxes`); None: none is (most frames: no mask to apply)
    part_boxes: np.ndarray | None = None
    # (T, 4) the tracks' predicted boxes (the Kalman means of this frame) as corners, pixels: what the IoU was taken
    # of, and what the walking-out rule reads (`view_exit.away_from_view`); None: no pair (no track or no detection)
    predicted_xyxy: np.ndarray | None = None

    def class_block(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray | float:
        """The class cost of the `rows` x `cols` block (`block`); 0.0 when all are of one class."""
        return 0.0 if self.class_cost is None else block(self.class_cost, rows, cols)


def block(matrix: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """(R, C) block of a (T, N) matrix at integer `rows` x `cols` (what `np.ix_` gives): the rows, then their columns,
    each by `take` (a copy each; ~0.6 us against ~1.7 for the 2-D fancy index `matrix[rows[:, None], cols]` of a
    frame's ~20 x 20 matrices)."""
    return matrix.take(rows, axis=0).take(cols, axis=1)
