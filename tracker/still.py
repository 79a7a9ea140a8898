"""Fixed scene objects: tracks whose box does not move at all are kept but not reported.

A detector's lasting false positive on a fixed object (a sign post, a cone, a bin) is a box that comes back frame
after frame at the same place: on PETS09-S3-MF1 the public ACF boxes hold a sign post at 431,138,32,64 from frame 2
to 105, identical to 0.01 px in most frames, and its track made 58 of the run's 60 false positives. A person who
stands still is not like that: their box jitters, frame after frame, because their pixels change (breathing,
looking round, the camera's noise), and the detector's box follows. What separates the two is the size of the
frame-to-frame change of the box, and what counts as small depends on the detector, the camera and the
resolution, so it is measured, not configured:

- A track's *change* at a match is the largest displacement of an edge of its box since its last observation, in
  heights of the new box, after camera-motion compensation (the last observed box is moved with the camera, as
  `TrackerCore` does).
- The changes of confirmed, visible tracks matched in consecutive frames fill a FIFO. Once it holds
  `lifecycle.still_min_samples` of them, a change at or below their `lifecycle.still_quantile` quantile is *still*:
  a box that moved less than the detector's jitter on nearly all tracked objects of this video.
- Each track keeps its *still share*: the exponentially weighted share of its observations that were still, with a
  time constant of `lifecycle.still_seconds` of frames. A track whose share exceeds one half (most of its recent
  observations were still) is a fixed scene object: it is kept, matched and fed like any track (so its detections
  start no new track), but not reported. Its share decays as soon as its box moves (someone standing at the
  sign, matched to its track, or a person who was standing still and walks off), and it is reported again.
- A track judged still feeds no change to the FIFO, and a track feeds only after its first `still_seconds` (once
  it could have been judged): the detector's jitter is learnt from the objects it tracks, not from the fixed
  ones. Changes over a gap (a missed frame) are judged but not learnt: they hold the motion of several frames.

Measured on the MOT17 public FRCNN boxes matched to ground-truth people (static and moving cameras, 30 fps,
standing crowds in MOT17-04 and -09): no person's share exceeds 0.48 with q = 0.01 and 1 s, while the sign post's
changes are 0 in 50 of its 62 observations.
"""

from __future__ import annotations

import numpy as np

from tracker.config import TrackerConfig
from tracker.entry import near_border
from tracker.kalman import xywh_to_xyxy

__all__ = ["StillBoxes", "box_jitter", "edge_step", "whole_boxes"]

_MAJORITY = 0.5  # a track whose still share exceeds this (most recent observations were still) is not reported


class StillBoxes:
    """The measured frame-to-frame change of tracked boxes, and the per-track still share judged against it.

    Args:
        config: reads `lifecycle.still_quantile` (0 disables the rule), `still_seconds`, `still_min_samples`,
            `still_capacity`, and `appearance.calibration_sample_seconds`: once the FIFO is full, changes are learnt
            once per this period, as the appearance calibration samples.
        frame_rate: frames per second of the video.
    """

    def __init__(self, config: TrackerConfig, frame_rate: float) -> None:
        self.cfg = config.lifecycle
        self.window = max(1.0, self.cfg.still_seconds * frame_rate)  # observations: the share's time constant
        self._period = max(1, round(config.appearance.calibration_sample_seconds * frame_rate))  # frames
        self.reset()

    @property
    def enabled(self) -> bool:
        return self.cfg.still_quantile > 0.0

    def reset(self) -> None:
        """Forget the measured changes (a new video)."""
        capacity = self.cfg.still_capacity
        self._values = np.zeros(capacity)  # the FIFO of changes, box heights (a ring)
        self._owners = np.zeros(capacity, dtype=np.int64)  # the track ID each change came from
        self._count = self._write = self._calls = 0
        self._sorted = np.zeros(0)  # the changes held, ascending
        self._owner_ids, self._owner_counts = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)

    def _rank(self, n: np.ndarray | int) -> np.ndarray | int:
        """Index of the `still_quantile` order statistic among n values (the lower quantile)."""
        return np.floor(self.cfg.still_quantile * (np.asarray(n) - 1)).astype(np.int64)

    @property
    def bound(self) -> float | None:
        """The largest change that counts as still, among all changes held (box heights); None until enough are."""
        if self._count < self.cfg.still_min_samples:
            return None
        return float(self._sorted[self._rank(self._count)])

    def observe(
        self, share: np.ndarray, change: np.ndarray, owners: np.ndarray, learnable: np.ndarray, whole: np.ndarray
    ) -> np.ndarray:
        """Judge M matched tracks' (M,) changes (`box_change`) and return their updated (M,) still shares.

        A change is still when it is at or below the `still_quantile` quantile of the changes the other tracks
        taught: a track's own changes never judge it (a fixed object learnt before it was recognised would
        otherwise set the bound by itself).

        Args:
            share: the tracks' still shares before this match (0 for a new track).
            change: their changes at this match, box heights.
            owners: their track IDs (any value for an unconfirmed track: it taught nothing).
            learnable: (M,) bool, the changes that may be learnt: confirmed, visible tracks matched in the previous
                frame too (the caller's knowledge).
            whole: (M,) bool, boxes away from the frame's borders (`whole_boxes`): only they are judged and learnt.
        """
        judged = whole & np.isfinite(change)
        if not self.enabled or not judged.any():
            return share
        learn = learnable & judged & (share <= _MAJORITY)
        self._learn(change[learn], owners[learn])
        if self._count < self.cfg.still_min_samples:
            return share
        rate = 1.0 / self.window
        updated = (1.0 - rate) * share + rate * self._still(np.where(judged, change, np.inf), owners)
        return np.where(judged, updated, share)

    def _still(self, change: np.ndarray, owners: np.ndarray) -> np.ndarray:
        """(M,) bool: changes below the quantile of the changes held that other tracks taught (at least
        `still_min_samples` of them)."""
        n = self._count
        at = np.minimum(np.searchsorted(self._owner_ids, owners), max(len(self._owner_ids) - 1, 0))
        own = np.where(self._owner_ids[at] == owners, self._owner_counts[at], 0) if len(self._owner_ids) else 0
        own = np.broadcast_to(own, change.shape)
        rank = self._rank(np.maximum(n - own, 1))  # the order statistic among the others'
        # Removing a track's own changes moves the others' order statistic up by at most their number.
        still = (n - own >= self.cfg.still_min_samples) & (change < self._sorted[np.minimum(rank + own, n - 1)])
        for row in np.flatnonzero(still & (own > 0)).tolist():  # a track that taught: judged by the others alone
            others = self._values[:n][self._owners[:n] != owners[row]]
            still[row] = change[row] < np.partition(others, rank[row])[rank[row]]
        return still

    def _learn(self, changes: np.ndarray, owners: np.ndarray) -> None:
        if len(changes) == 0:
            return
        self._calls += 1
        capacity = len(self._values)
        if self._count == capacity and self._calls % self._period:
            return
        changes, owners = changes[-capacity:], owners[-capacity:]
        at = (self._write + np.arange(len(changes))) % capacity
        self._values[at], self._owners[at] = changes, owners
        self._write = int((self._write + len(changes)) % capacity)
        self._count = min(self._count + len(changes), capacity)
        self._sorted = np.sort(self._values[: self._count])
        self._owner_ids, self._owner_counts = np.unique(self._owners[: self._count], return_counts=True)

    def hidden(self, share: np.ndarray) -> np.ndarray:
        """(T,) bool: the tracks judged fixed scene objects (most recent observations still): not reported."""
        return share > _MAJORITY

    def summary(self) -> dict[str, float]:
        """{"bound": largest still change among all changes held, box heights; "changes": their number} once the
        rule applies; {} before."""
        bound = self.bound
        return {} if bound is None else {"bound": round(bound, 6), "changes": self._count}


def edge_step(previous_xywh: np.ndarray, current_xywh: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """(M, 4) displacement per frame of the left, top, right and bottom edges (pixels) from the (M, 4) centre-size
    boxes `previous_xywh` to `current_xywh`, `frames` (M,) frames apart."""
    prev, now = xywh_to_xyxy(previous_xywh), xywh_to_xyxy(current_xywh)
    return (now - prev) / np.asarray(frames, dtype=np.float64)[:, None]


def box_jitter(previous_step: np.ndarray, step: np.ndarray, heights: np.ndarray) -> np.ndarray:
    """(M,) the largest change of an edge's per-frame displacement between two steps (M, 4) (`edge_step`): how far
    the box strayed from moving on as it moved, in `heights` (M,) of the new box. NaN where the previous step is not
    known (a track's first match)."""
    change = np.abs(step - previous_step).max(axis=1)
    return change / np.maximum(heights, np.finfo(np.float64).tiny)


def whole_boxes(boxes_xywh: np.ndarray, frame_size: tuple[int, int] | None, border_heights: float) -> np.ndarray:
    """(M,) bool: the (M, 4) centre-size boxes farther than `border_heights` of their heights from every border of
    the (height, width) frame (`entry.near_border`). None of them when the frame size is unknown: a box cut by a
    border cannot be told from a whole one, so the rule stays off (as `birth.BirthShapes`)."""
    if frame_size is None:
        return np.zeros(len(boxes_xywh), dtype=bool)
    return ~near_border(xywh_to_xyxy(boxes_xywh), frame_size, border_heights).any(axis=1)
