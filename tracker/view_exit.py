"""Tracks that left the view, or are walking out of it: no detection may continue them by motion (stage 1).

A track predicted wholly beyond a border it was last seen at has left the view (`out_of_view`); a lost track
walking out across a border may not take, by motion, a detection that shows more of a person than it has left in
view (`leaving_pairs`, `association.lost_exit_fraction`). `away_from_view` is what stage 1 refuses: per track,
or per pair where a lost track is walking out. Only appearance (stage 4) can tell someone coming back from
someone entering there.
"""

from __future__ import annotations

import numpy as np

from tracker.config import AssociationConfig
from tracker.entry import border_gaps, near_border, near_border_gaps
from tracker.fast_numpy import TINY, all_set, any_along, any_set
from tracker.kalman import xywh_to_xyxy
from tracker.truncation import TOUCH_PX

__all__ = ["away_from_view", "leaving_pairs", "out_of_view"]


def away_from_view(
    mean: np.ndarray,
    previous_mean: np.ndarray,
    observed_xywh: np.ndarray,
    lost: np.ndarray,
    boxes_xyxy: np.ndarray,
    frame_size: tuple[int, int] | None,
    config: AssociationConfig,
    mean_xyxy: np.ndarray | None = None,
) -> np.ndarray:
    """What stage 1 may not match by motion: (T,) bool, the tracks out of the view (`out_of_view`), or (T, N) bool
    pairs where a lost track is walking out of it (`leaving_pairs`: rare; those rows' refused pairs added).

    Args:
        mean: (T, 8) the tracks' Kalman means, predicted for this frame.
        previous_mean: (T, 8) their means of the frame before, in that frame's pixels.
        observed_xywh: (T, 4) their last observed boxes (moved with the camera).
        lost: (T,) bool, the lost tracks.
        boxes_xyxy: (N, 4) this frame's detections, pixels.
        frame_size: (height, width) of the frame; None (unknown): nothing is away.
        config: `entry_border_heights` and `lost_exit_fraction` (0: no track is walking out).
        mean_xyxy: (T, 4) the corners of `mean`'s boxes (`kalman.xywh_to_xyxy`), where the caller has them (the
            frame's IoU was taken of them: `FrameView.predicted_xyxy`); None: made here.

    The predicted boxes' reach into the view and the observed boxes' border gaps are taken once, for every track,
    and read by both rules (on real boxes both run in most frames: someone who walked out stays predicted beyond a
    border while lost). A lost track out of the view is not tested for walking out: its every pair is refused already
    (the result stays (T,) where only such tracks walk out).
    """
    if frame_size is None or len(mean) == 0:
        return np.zeros(len(mean), dtype=bool)
    reach = _reach(xywh_to_xyxy(mean[:, :4]) if mean_xyxy is None else mean_xyxy, frame_size)  # (T, 4)
    beyond = reach <= 0.0  # wholly beyond the left, top, right, bottom border
    some_beyond = any_set(beyond)
    walking_out = config.lost_exit_fraction > 0 and any_set(lost)
    if not some_beyond and not walking_out:
        return np.zeros(len(mean), dtype=bool)
    observed_xyxy = xywh_to_xyxy(observed_xywh)
    gaps = border_gaps(observed_xyxy, frame_size)  # (T, 4) the last observed boxes' gaps to the borders
    if some_beyond:
        away = any_along(beyond & near_border_gaps(gaps, observed_xyxy, config.entry_border_heights), 1)
    else:
        away = np.zeros(len(mean), dtype=bool)
    if not walking_out:
        return away
    lost_rows = in_view = lost.nonzero()[0]
    if some_beyond:
        # a lost track already out of the view has every pair refused: whether it is walking out changes nothing (on
        # the street video, most frames' lost tracks near a border are those that walked out and are predicted
        # beyond it)
        in_view = lost_rows[~away.take(lost_rows)]
        if len(in_view) == 0:
            return away
    mean_in_view = mean.take(in_view, axis=0)
    now, exits = _exits(
        mean_in_view, reach.take(in_view, axis=0), gaps.take(in_view, axis=0), config.lost_exit_fraction
    )
    if not any_set(exits):  # (most street frames: no lost track in view near an exit its last box was cut at)
        return away
    # `leaving_pairs`' first test, on every lost track as `leaving_pairs` takes it (one out of the view passes it):
    # its arithmetic is not `_exits`', so on the tracks in view alone it could pass over pairs `leaving_pairs` refuses
    if not _near_exit(mean.take(lost_rows, axis=0), frame_size, config.lost_exit_fraction):
        return away
    leaving = _leaving_rows(
        mean_in_view,
        now,
        exits,
        previous_mean.take(in_view, axis=0),
        boxes_xyxy,
        frame_size,
        config.lost_exit_fraction,
    )
    if any_set(leaving):  # (a lost track walking out of the view)
        pairs = np.zeros((len(away), len(boxes_xyxy)), dtype=bool)
        pairs[in_view] = leaving
        away = away[:, None] | pairs
    return away


def out_of_view(
    mean: np.ndarray, observed_xywh: np.ndarray, frame_size: tuple[int, int] | None, border_heights: float
) -> np.ndarray:
    """(T,) bool: tracks that left the view: the predicted box (Kalman means (T, 8)) lies wholly beyond a border
    of the (height, width) frame, and the last observed box (T, 4; moved with the camera) was at that same
    border (`entry.near_border`, within `border_heights` of its heights) or beyond it.

    No detection can continue such a track by motion: a box at that border is another person, or the same one
    coming back into view, which only appearance can tell. A person leaves the view only across a border they
    were near; a track last seen elsewhere whose prediction drifted out (a box cut short by an occluder gives a
    wild velocity) was hidden, not gone. None (size unknown): no track is out of view.
    """
    if frame_size is None or len(mean) == 0:
        return np.zeros(len(mean), dtype=bool)
    # wholly beyond the left, top, right, bottom border (`_inside_fractions` <= 0, without its division)
    beyond = _reach(xywh_to_xyxy(mean[:, :4]), frame_size) <= 0.0
    if not any_set(beyond):  # (most frames: every predicted box reaches into the view)
        return np.zeros(len(mean), dtype=bool)
    return any_along(beyond & near_border(xywh_to_xyxy(observed_xywh), frame_size, border_heights), 1)


def _inside_fractions(mean: np.ndarray, reach: np.ndarray) -> np.ndarray:
    """(T, 4): the share of each box's (Kalman means (T, 8), or their (T, 4) xywh columns) width (left, right
    border) or height (top, bottom) on the inner side of the left, top, right and bottom border of the frame (<= 0:
    wholly beyond it; above 1 where the box ends short of it), from the boxes' (T, 4) `reach` into it (`_reach`)."""
    size = np.maximum(mean[:, 2:4], TINY)
    # a predicted width or height at or below zero (a tiny box shrinking at a low frame rate) counts as TINY: its
    # fractions saturate at +-inf or overflow there, as meant, without a warning
    with np.errstate(over="ignore"):
        return reach / np.concatenate([size, size], axis=1)


def _reach(boxes_xyxy: np.ndarray, frame_size: tuple[int, int]) -> np.ndarray:
    """(N, 4) how far each box (N, 4, pixels) reaches into the (height, width) frame from its left, top, right and
    bottom border, pixels (x2, y2, width - x1, height - y1; <= 0: wholly beyond that border)."""
    height, width = frame_size
    return np.concatenate([boxes_xyxy[:, 2:], (width, height) - boxes_xyxy[:, :2]], axis=1)


def _near_exit(mean: np.ndarray, frame_size: tuple[int, int], exit_fraction: float) -> bool:
    """Whether any box (Kalman means (T, 8)) keeps no more than `exit_fraction` of its width or height inside a
    border of the (height, width) frame (a few small ops: where none does, `leaving_pairs` is empty)."""
    height, width = frame_size
    cx, cy, w, h = mean[:, 0], mean[:, 1], mean[:, 2], mean[:, 3]
    return not (
        all_set(np.minimum(cx, width - cx) > (exit_fraction - 0.5) * w)
        and all_set(np.minimum(cy, height - cy) > (exit_fraction - 0.5) * h)
    )


def leaving_pairs(
    mean: np.ndarray,
    previous_mean: np.ndarray,
    observed_xywh: np.ndarray,
    boxes_xyxy: np.ndarray,
    frame_size: tuple[int, int],
    exit_fraction: float,
) -> np.ndarray:
    """(T, N) bool: pairs no detection (N, 4, pixels) may make by motion with a track leaving the view
    (`association.lost_exit_fraction`): the track's predicted box (Kalman means (T, 8)) keeps no more than
    `exit_fraction` (0 to 1) of its width (left, right border) or height (top, bottom) inside a
    border of the (height, width) frame, no more than its box of the previous frame did (`previous_mean` (T, 8),
    in that frame's pixels: a track the camera brings back into the view is not leaving), its last observed box
    (T, 4; moved with the camera) was cut by that border (within `truncation.TOUCH_PX` of it, or beyond it: the
    person was walking out, not hidden near it), and the detection reaches further into the view from that
    border than `exit_fraction` of the track's width (height): it shows more of a person than the one walking
    out has left in view, so it is someone entering, or them turning back, which only appearance can tell
    (stage 4). A sliver at the border the leaving person still shows may continue it.

    Traced: TUD-Campus ACF, a static crop of it and its pan2, pan8 and jitter variants, frame 38: a person
    leaving by the left border, lost for 3 frames and predicted 30 % inside, was taken by a person entering there
    (64 px in view, the track 74 px wide) at similarity 0.568; yolov8n TUD-Campus scale0.5, frames 51-53: the
    slivers (10-11 px wide) of a person walking out keep their track; PETS09 ACF, frame 70: a person hidden 5 px
    from the right border, whose prediction drifted out, is not leaving.
    """
    if not _near_exit(mean, frame_size, exit_fraction):  # (no track near an exit: nothing to refuse)
        return np.zeros((len(mean), len(boxes_xyxy)), dtype=bool)
    reach = _reach(xywh_to_xyxy(mean[:, :4]), frame_size)
    gaps = border_gaps(xywh_to_xyxy(observed_xywh), frame_size)
    now, exits = _exits(mean, reach, gaps, exit_fraction)
    return _leaving_rows(mean, now, exits, previous_mean, boxes_xyxy, frame_size, exit_fraction)


def _exits(
    mean: np.ndarray, reach: np.ndarray, observed_gaps: np.ndarray, exit_fraction: float
) -> tuple[np.ndarray, np.ndarray]:
    """(T, 4) each twice: the predicted boxes' (Kalman means (T, 8)) inside fractions (`_inside_fractions`, from
    their (T, 4) `reach` into the view), and where such a box keeps no more than `exit_fraction` of itself inside a
    border its last observed box was cut by (its (T, 4) `observed_gaps` to the borders within `truncation.TOUCH_PX`):
    the exits `leaving_pairs` tests, before it compares them with the frame before."""
    now = _inside_fractions(mean, reach)
    return now, (now <= exit_fraction) & (observed_gaps <= TOUCH_PX)


def _leaving_rows(
    mean: np.ndarray,
    now: np.ndarray,
    exits: np.ndarray,
    previous_mean: np.ndarray,
    boxes_xyxy: np.ndarray,
    frame_size: tuple[int, int],
    exit_fraction: float,
) -> np.ndarray:
    """`leaving_pairs` past its first test (`_near_exit`), from the predicted boxes' (T, 4) inside fractions `now`
    and (T, 4) bool `exits` (`_exits`): the box of the frame before (`previous_mean`, (T, 8)) is taken only where an
    exit is; `away_from_view` takes the first test on every lost track (where an exit is) before it leaves out those
    already out of the view."""
    nothing = np.zeros((len(mean), len(boxes_xyxy)), dtype=bool)
    if not any_set(exits):  # (the frame before is not read)
        return nothing
    before = _inside_fractions(previous_mean, _reach(xywh_to_xyxy(previous_mean[:, :4]), frame_size))
    leaving = exits & (now <= before)
    if not any_set(leaving):
        return nothing
    # how far each detection reaches into the view from each border, px (N, 4), against the allowed (T, 4)
    allowed = exit_fraction * np.concatenate([mean[:, 2:4], mean[:, 2:4]], axis=1)
    return any_along(leaving[:, None, :] & (_reach(boxes_xyxy, frame_size)[None, :, :] > allowed[:, None, :]), 2)
