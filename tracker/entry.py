"""Where a newcomer could have come from: the evidence a detection's position gives a revival.

A person cannot walk into the middle of the view. A detection that appears away from the frame borders and
with no box in front of it is most likely someone who was there all along (hidden, or missed by the
detector), so reviving a lost track with it needs less appearance evidence. A detection at a border, or
coming out from behind another box, may be a newcomer as well as a returning person, so it needs more.
Both are measured in the detection's own box heights (a scale-free unit: the same rule at every resolution).

`entry_evidence` classifies each candidate detection; `Calibration.revival_bound` turns the classes into
similarity offsets (`association.reid_entry_evidence`, `association.reid_hidden_relief`).
"""

from __future__ import annotations

import numpy as np

from tracker.association import occlusion
from tracker.config import AssociationConfig
from tracker.fast_numpy import TINY

__all__ = ["ENTRY", "HIDDEN", "UNKNOWN", "entry_evidence", "near_border"]

ENTRY = 1
"""A newcomer could have entered here: near a frame border, or partly behind another box."""
HIDDEN = -1
"""Nobody could have walked in here: inside the view, with no box in front."""
UNKNOWN = 0
"""No frame size known and nothing in front: the position says nothing."""


def entry_evidence(
    boxes_xyxy: np.ndarray, rows: np.ndarray, frame_size: tuple[int, int] | None, cfg: AssociationConfig
) -> np.ndarray:
    """(R,) classes (ENTRY, HIDDEN or UNKNOWN) of detections `rows` as revival candidates.

    Args:
        boxes_xyxy: (N, 4) all of this frame's detection boxes, pixels (the occluders are among them).
        rows: (R,) indices of the candidates.
        frame_size: (height, width) of the frame in pixels, or None when unknown (then no detection is HIDDEN).
        cfg: reads `entry_border_heights` (distance to a border, in the box's heights, under which a person
            may have walked in) and `entry_occlusion` (fraction of the box covered by a box in front of it,
            from `association.occlusion`, above which it may have come out from behind it).
    Returns:
        (R,) int8.
    """
    rows = np.asarray(rows, dtype=np.int64)
    out = np.full(len(rows), UNKNOWN, dtype=np.int8)
    if len(rows) == 0:
        return out
    boxes = boxes_xyxy[rows]
    behind = occlusion(boxes_xyxy, rows) > cfg.entry_occlusion
    if frame_size is None:
        out[behind] = ENTRY
        return out
    at_border = near_border(boxes, frame_size, cfg.entry_border_heights).any(axis=1)
    out[:] = HIDDEN
    out[at_border | behind] = ENTRY
    return out


def near_border(boxes_xyxy: np.ndarray, frame_size: tuple[int, int], border_heights: float) -> np.ndarray:
    """(N, 4) bool: whether each box (N, 4, pixels) is closer than `border_heights` of its own height to the
    left, top, right and bottom border of the (height, width) frame, or beyond it: where a person can walk into
    or out of the view."""
    return near_border_gaps(border_gaps(boxes_xyxy, frame_size), boxes_xyxy, border_heights)


def near_border_gaps(gaps: np.ndarray, boxes_xyxy: np.ndarray, border_heights: float) -> np.ndarray:
    """`near_border` from the boxes' (N, 4) `gaps` to the borders (`border_gaps`, pixels), for a caller that has
    them: (N, 4) bool, closer than `border_heights` of the box's height (or beyond)."""
    box_h = np.maximum(boxes_xyxy[:, 3] - boxes_xyxy[:, 1], TINY)
    return gaps / box_h[:, None] < border_heights


def border_gaps(boxes_xyxy: np.ndarray, frame_size: tuple[int, int]) -> np.ndarray:
    """(N, 4) the gaps, pixels, between each box (N, 4, pixels) and the left, top, right and bottom border of the
    (height, width) frame: x1, y1, width - x2, height - y2 (negative beyond the border)."""
    height, width = frame_size
    return np.concatenate([boxes_xyxy[:, :2], (width, height) - boxes_xyxy[:, 2:]], axis=1)
