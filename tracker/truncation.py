"""Boxes cut by the left or right frame border: measure them at the track's own width.

A person partly outside the view is detected as the visible part only: the box edge at the border stays pinned
there while the person moves, so the box centre moves at half the person's speed and the box narrows. A filter
fed with such boxes learns a wrong velocity, and with a moving camera, whose borders sweep across people, it then
predicts a person who left the view (or is coming back into it) far from where they reappear. Traced on PETS09
pan8 with `tools/id_timeline.py`: a person leaving at the right border while the camera panned got a velocity of
-8.9 px/frame from the pinned boxes (the person walked at about -5), so 10 frames later the track was predicted
33 px from where they came back and got a new ID.

The inner edge of the box (the one away from the border) still measures the person; `complete_truncated` keeps
it and puts the cut edge where the track's own width (the Kalman prediction) says it is: the box a detector
would give for the whole person. A cut box says nothing about how the width changes, so the track keeps its
width meanwhile (`TrackerCore` zeroes the width rate, as it does for a hidden box): otherwise a width rate
learnt from noisy boxes grows the completed box frame after frame (PETS09 pan20: 64 px for a 37 px person).

The camera moves the person, not the border: when the camera-motion compensation brings a box that is only the
visible part of a person (its edge at a side border, not a completed box reaching beyond it) into the view, that
edge stays on the border and only the inner edge follows the camera, as the detector's next cut box will
(`pin_cut_edges`). Moving the whole box opened a gap between it and the border as wide as the camera's shift, a
strip of the person the image shows but the box leaves out, so the next cut box overlapped it less (by 20 px a
frame at 20 px/frame): a person entering the view was confirmed a frame later with compensation than without on
PETS09 ACF pan2 (stage 3 IoU cost 0.707 against 0.693, bound 0.7). A box moved out of the view still reaches its
border (the part beyond it is hidden, as for a completed box) and is left as moved: pinning that side as well
changes only what the image cannot show, and it flipped a tie between a person leaving and one entering at the
same border on TUD-Campus yolov8n pan2 (-4.3 HOTA; issue 13 closing note).

A person mostly outside the view is not reported (`visible_fraction`, `motion.min_visible_fraction`): the part
the frame shows is a sliver that a detector still finds, while the people who annotate a video mark a person only
once most of their width is in it (TUD-Campus: no box of the ground truth that a side border cuts shows less than
0.585 of its width; PETS09-S3-MF1: 0.99). The track is kept and matched, so nothing but the report changes. How
much of a cut person is in view is measured against the narrowest whole person of the box's height that this
video's tracks show (the low end of the shape range births are judged by, `birth.BirthShapes`): a box is withheld
only when even that person would be mostly outside. Against the typical (geometric-mean) width instead, the rule
withheld more (TUD-Campus yolov8n +0.5 HOTA on average over its 20 runs) but also people whose ground truth was
just over half in view (PETS09 yolov8n zoom -0.19 HOTA); the track's own (completed) width overrates a walker's
width and withheld such people on PETS09 pan2 to pan20 (-0.2 to -0.5 HOTA). Until the class's shape range
applies nothing is withheld.

Only the left and right borders: completing boxes cut by the top or bottom border as well (people whose feet
the bottom border cuts, near a camera looking down) lost 7 HOTA on TUD-Campus ACF jump and 2-3 on pan2 / zoom
with compensation on, while the left/right completion alone won on most moving variants (issue 13 closing note).
"""

from __future__ import annotations

import numpy as np

from tracker.fast_numpy import TINY

__all__ = [
    "TOUCH_PX",
    "complete_truncated",
    "narrowest_whole_ratio",
    "pin_cut_edges",
    "side_contacts",
    "touches_side",
    "visible_fraction",
]

TOUCH_PX = 1.0  # a box edge within this many pixels of a frame border is cut by it (detectors clip to the image)


def touches_side(boxes_xywh: np.ndarray, frame_size: tuple[int, int] | None) -> np.ndarray:
    """(M,) bool: the centre-size boxes (M, 4) whose left or right edge is within `TOUCH_PX` of that frame border
    (all False when the frame size is unknown)."""
    boxes = np.asarray(boxes_xywh, dtype=np.float64).reshape(-1, 4)
    if frame_size is None:
        return np.zeros(len(boxes), dtype=bool)
    at_left, at_right = side_contacts(boxes, frame_size[1])
    return at_left | at_right


def side_contacts(boxes_xywh: np.ndarray, width: float) -> tuple[np.ndarray, np.ndarray]:
    """(M,) bool each: the (M, 4) centre-size boxes (pixels) cut by the left border (left edge within `TOUCH_PX` of
    it, or beyond it) and by the right border of a frame `width` pixels wide (what every side-border rule tests)."""
    half = boxes_xywh[:, 2] / 2
    return boxes_xywh[:, 0] - half <= TOUCH_PX, boxes_xywh[:, 0] + half >= width - TOUCH_PX


def complete_truncated(
    boxes_xywh: np.ndarray,
    predicted_wh: np.ndarray,
    frame_size: tuple[int, int] | None,
    width_known: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Centre-size boxes with a side cut by the left or right frame border extended to the predicted width.

    Args:
        boxes_xywh: (M, 4) matched detection boxes (cx, cy, w, h), pixels.
        predicted_wh: (M, 2) the matched tracks' predicted width and height, pixels (only the width is used).
        frame_size: (height, width) of the frame, or None (unknown: the boxes are returned as they are).
        width_known: optional (M,) bool, the tracks whose width was ever measured on a box no side border cut;
            the others' predicted width is only that of cut boxes, and their boxes are left as they are.
    Returns:
        (M, 4) new array and (M,) bool, the boxes completed. Where a box touches the left or the right border
        (within `TOUCH_PX`) and is narrower than predicted, its inner edge is kept and its width becomes the
        predicted one. A box touching both borders, or at least as wide as predicted, is kept as it is; heights
        are never changed.
    """
    out = np.array(boxes_xywh, dtype=np.float64, copy=True).reshape(-1, 4)
    if frame_size is None or len(out) == 0:
        return out, np.zeros(len(out), dtype=bool)
    centre, size, target = out[:, 0], out[:, 2], np.asarray(predicted_wh, dtype=np.float64).reshape(-1, 2)[:, 0]
    left, right = centre - size / 2, centre + size / 2
    at_left, at_right = side_contacts(out, frame_size[1])
    cut = (at_left ^ at_right) & (size < target)
    if width_known is not None:
        cut &= np.asarray(width_known, dtype=bool)
    new_centre = np.where(at_left, right - target / 2, left + target / 2)  # inner edge kept
    out[cut, 0], out[cut, 2] = new_centre[cut], target[cut]
    return out, cut


def pin_cut_edges(before_xywh: np.ndarray, after_xywh: np.ndarray, frame_size: tuple[int, int] | None) -> np.ndarray:
    """Boxes moved by the camera (`after_xywh`) whose left or right edge was on that frame border before the move
    (`before_xywh`, within `TOUCH_PX` of it on either side: the visible part of a person the border cuts) and that
    the move took into the view get that edge back on the border; their inner edge is the moved one. Boxes moved
    out of the view (they still reach the border), boxes at both borders and boxes reaching further beyond a border
    (completed ones) are left as moved.

    Args:
        before_xywh: (M, 4) centre-size boxes in the previous frame's pixels.
        after_xywh: (M, 4) the same boxes moved into this frame's pixels (`camera_motion.warp_boxes_xywh`).
        frame_size: (height, width) of the frame, or None (unknown: nothing is pinned).
    Returns:
        (M, 4) boxes: a new array where a box is pinned, else `after_xywh` itself (neither input is changed);
        heights and vertical positions are never changed.
    """
    if frame_size is None or len(after_xywh) == 0:
        return after_xywh
    width = float(frame_size[1])
    before = np.asarray(before_xywh, dtype=np.float64).reshape(-1, 4)
    half = before[:, 2] / 2
    old_left, old_right = before[:, 0] - half, before[:, 0] + half
    at_left, at_right = np.abs(old_left) <= TOUCH_PX, np.abs(old_right - width) <= TOUCH_PX
    rows = np.flatnonzero(at_left ^ at_right)  # most frames: none, and nothing more to compute
    if len(rows) == 0:
        return after_xywh
    out = np.array(after_xywh, dtype=np.float64, copy=True).reshape(-1, 4)
    moved = out[rows]
    left, right = moved[:, 0] - moved[:, 2] / 2, moved[:, 0] + moved[:, 2] / 2
    pin_left = at_left[rows] & (left > old_left[rows])  # moved into the view: a gap would open at the border
    pin_right = at_right[rows] & (right < old_right[rows])
    left = np.where(pin_left, old_left[rows], left)  # the border edge stays where it was
    right = np.where(pin_right, old_right[rows], right)
    pinned = (pin_left | pin_right) & (right > left)
    out[rows[pinned], 0] = (left[pinned] + right[pinned]) / 2
    out[rows[pinned], 2] = right[pinned] - left[pinned]
    return out


def visible_fraction(boxes_xyxy: np.ndarray, narrowest_ratio: np.ndarray, frame_width: float) -> np.ndarray:
    """(M,) the most of each person's width the frame may show: the width of their box between the left and
    right borders over the width of the narrowest whole person of the box's height (`narrowest_ratio` (M,) times
    the height, `birth.BirthShapes.narrowest_ratio`). A person any wider shows less. 1 for a box that touches
    neither side border (within `TOUCH_PX`), which says nothing of what lies beyond, and where the ratio is
    unknown (NaN).

    Args:
        boxes_xyxy: (M, 4) reported boxes in pixels, not clipped to the frame (a completed box, `complete_truncated`,
            reaches beyond the border).
        narrowest_ratio: (M,) the lowest width/height of a whole look of each box's class, or NaN.
        frame_width: the frame's width in pixels.
    """
    boxes = np.asarray(boxes_xyxy, dtype=np.float64).reshape(-1, 4)
    inside = np.clip(boxes[:, 2], 0.0, frame_width) - np.clip(boxes[:, 0], 0.0, frame_width)
    whole = np.asarray(narrowest_ratio, dtype=np.float64) * (boxes[:, 3] - boxes[:, 1])  # NaN: unknown
    cut = ((boxes[:, 0] <= TOUCH_PX) | (boxes[:, 2] >= frame_width - TOUCH_PX)) & np.isfinite(whole)
    share = np.maximum(inside, 0.0) / np.maximum(whole, TINY)
    return np.where(cut, np.minimum(share, 1.0), 1.0)


def narrowest_whole_ratio(whole_xyxy: np.ndarray, whole_classes: np.ndarray, class_ids: np.ndarray) -> np.ndarray:
    """(M,) for each of the classes `class_ids` (M,): the lowest width/height among the whole boxes (K, 4, pixels;
    boxes of people no side border cuts) of that class (`whole_classes` (K,)), NaN where there is none.

    The stand-in for the births' learnt narrowest shape (`birth.BirthShapes.narrowest_ratio`) until that applies:
    the people in view now are the only measured shapes then. Traced on PETS09-S3-MF1 yolov8n zoom: the births'
    range applied only from frame 80 (few whole looks away from every border), and a track on the 8-15 px sliver
    of a person still mostly outside the right border was reported for 17 frames (FP 28 against BoT-SORT+GMC's 18;
    with this stand-in 13, HOTA 66.44 -> 68.72).
    """
    boxes = np.asarray(whole_xyxy, dtype=np.float64).reshape(-1, 4)
    classes = np.asarray(class_ids, dtype=np.int64).reshape(-1)
    out = np.full(len(classes), np.nan)
    if len(boxes) == 0:
        return out
    ratios = (boxes[:, 2] - boxes[:, 0]) / np.maximum(boxes[:, 3] - boxes[:, 1], TINY)
    whole_classes = np.asarray(whole_classes, dtype=np.int64).reshape(-1)
    for class_id in np.unique(classes).tolist():
        mine = whole_classes == class_id
        if mine.any():
            out[classes == class_id] = ratios[mine].min()
    return out
