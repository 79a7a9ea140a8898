"""Part-of-a-person boxes, judged against the scene's ground line.

With a fixed camera looking down on a ground plane, the height of a standing person's box grows linearly with the
image row of their feet (the ground-plane horizon model of Hoiem, Efros and Hebert, "Putting Objects in
Perspective", CVPR 2006: h = a (y_foot - y_horizon) for people of one height). The tracker measures that line on the
boxes it reports (what `TrackerCore.step` returns: confirmed tracks matched this frame, Kalman-filtered boxes with
`motion.output_filtered_box`, and with `motion.report_gap_frame` a one-frame gap's prediction too), per class, in a
FIFO. A detection much shorter than the line predicts at its own foot row is a part of a person (a legs-only box, a
head-and-torso box that a pyramid detector such as ACF gives beside the whole one). Its look is not the person's,
and it is no evidence that a person hidden or gone is back: `TrackerCore` neither embeds it (no appearance cost, no
bank) nor lets a lost track take it (stage 1 or 4); a tracked track may still continue on it by motion, and it may
start a track (a person shorter than the line, a child or someone sitting, is not refused).

Traced on TUD-Campus with the MOTChallenge ACF boxes (issue 10): a large person's track took 115-177 px boxes
of their legs (0.41-0.63 of the 280 px the line predicts) for five frames, a track hidden behind another person
came back on that person's 177 px lower body, a legs box at the left border started a track: 11 of the run's 19
false positives (the others fit the line: boxes off the person sideways). MOT17-09 (FRCNN boxes) has a person
0.58 of the line's height throughout: refusing such boxes a birth cost that sequence 1.8 HOTA, so births stay.
"""

from __future__ import annotations

from typing import cast

import numpy as np

from tracker.config import TrackerConfig
from tracker.fast_numpy import all_set
from tracker.truncation import TOUCH_PX

__all__ = ["GroundLine", "SampleWindow", "complete_part_boxes"]

_SPARE_ROWS = 1  # a window's buffer holds (1 + this) x capacity rows: one compaction every `capacity` rows added


class SampleWindow:
    """A FIFO of the last `capacity` (foot row, height) samples, kept oldest first in one contiguous block of a
    preallocated buffer: adding rows writes them after the block (no array joined and cut a frame); when the buffer's
    end is reached the kept rows move to its start once. `samples` is the same (n, 2) rows in the same order as
    the FIFO `np.concatenate([old, new])[-capacity:]`, so a fit on it gives the same floats."""

    def __init__(self, capacity: int) -> None:
        self.capacity = int(capacity)
        self._buffer = np.empty(((1 + _SPARE_ROWS) * self.capacity, 2))
        self._start = self._end = 0  # the block of kept samples, rows [start, end) of the buffer

    def __len__(self) -> int:
        return self._end - self._start

    @property
    def samples(self) -> np.ndarray:
        """(n <= capacity, 2) foot row, height, oldest first: a view of the buffer (valid until the next `extend`)."""
        return self._buffer[self._start : self._end]

    def extend(self, foot: np.ndarray, height: np.ndarray) -> None:
        """Add K samples, foot rows (K,) and heights (K,) in pixels, in order; the oldest beyond `capacity` leave."""
        k = len(foot)
        if k >= self.capacity:  # the new rows alone fill the window
            self._buffer[: self.capacity, 0] = foot[k - self.capacity :]
            self._buffer[: self.capacity, 1] = height[k - self.capacity :]
            self._start, self._end = 0, self.capacity
            return
        if self._end + k > len(self._buffer):  # the buffer's end: the rows that stay move to its start
            kept = min(len(self), self.capacity - k)
            self._buffer[:kept] = self._buffer[self._end - kept : self._end]
            self._start, self._end = 0, kept
        self._buffer[self._end : self._end + k, 0] = foot
        self._buffer[self._end : self._end + k, 1] = height
        self._end += k
        self._start = max(self._start, self._end - self.capacity)


class GroundLine:
    """Per class, the least-squares line height = slope x foot row + offset of the last `capacity` reported boxes
    (pixels), and the detections far below it (`part_boxes`).

    A class's line is used once it holds `association.ground_line_min_samples` boxes and rises toward the camera
    (slope > 0: feet lower in the image are nearer, so taller); until then (and for a view with no ground plane:
    a top-down or a zooming camera whose heights do not grow with the foot row) no box is judged a part.
    """

    def __init__(self, config: TrackerConfig) -> None:
        cfg = config.association
        self.fraction = float(cfg.part_box_fraction)
        self.capacity = int(cfg.ground_line_capacity)
        self.min_samples = int(cfg.ground_line_min_samples)
        self.min_r2 = float(cfg.ground_line_min_r2)
        self._samples: dict[int, SampleWindow] = {}  # class -> its last `capacity` (foot row, height) samples
        self._lines: dict[int, tuple[float, float]] = {}  # class -> its usable line, fitted when it last learnt

    def __setstate__(self, state: dict) -> None:
        """Restore a pickled state; one pickled with plain (n, 2) sample arrays (int24 69edf1c) gets them as
        windows holding the same rows."""
        self.__dict__.update(state)
        for cls, samples in list(self._samples.items()):
            if isinstance(samples, np.ndarray):
                self._samples[cls] = window = SampleWindow(self.capacity)
                window.extend(samples[:, 0], samples[:, 1])

    @property
    def enabled(self) -> bool:
        """Whether the part-box rule is on (`association.part_box_fraction` > 0)."""
        return self.fraction > 0.0

    def reset(self) -> None:
        """Forget the lines (a new video)."""
        self._samples, self._lines = {}, {}

    def learn(self, boxes_xyxy: np.ndarray, class_ids: np.ndarray, frame_size: tuple[int, int] | None = None) -> None:
        """Add reported boxes (M, 4) xyxy pixels of classes (M,) to their classes' FIFOs, but for those the top or
        bottom border of a frame of `frame_size` (height, width) cuts (their height is not the person's) and those
        with a NaN or infinite coordinate (one would make the line NaN until it left the FIFO)."""
        if not self.enabled or len(boxes_xyxy) == 0:
            return
        boxes = np.asarray(boxes_xyxy, dtype=np.float64).reshape(-1, 4)
        foot = boxes[:, 3]
        heights = foot - boxes[:, 1]
        whole = np.logical_and.reduce(np.isfinite(boxes), axis=1) & (heights > 0)  # `all(axis=1)`, no wrappers
        if frame_size is not None:
            whole &= ~_cut_vertically(boxes, frame_size)
        classes = np.asarray(class_ids).reshape(-1)
        everyone = all_set(whole)  # most frames: every box whole, often all of one class (no rows picked)
        learnt = set((classes if everyone else classes[whole]).tolist())
        for cls in learnt:
            if everyone and len(learnt) == 1:
                new_foot, new_height = foot, heights
            else:
                pick = (classes == cls) & whole
                new_foot, new_height = foot[pick], heights[pick]
            window = self._samples.get(cls)
            if window is None:
                self._samples[cls] = window = SampleWindow(self.capacity)
            # in the order of the samples (foot row, then height), not of the tracks' rows: which of the frame's boxes
            # leave the FIFO first, and the sums of the fit, do not depend on the order of the frame's detections
            order = np.lexsort((new_height, new_foot))
            window.extend(new_foot[order], new_height[order])
            line = self._fit(window.samples)  # once a frame a class learns, not once a detection is judged
            if line is None:
                self._lines.pop(cls, None)
            else:
                self._lines[cls] = line

    def line(self, class_id: int) -> tuple[float, float] | None:
        """(slope, offset) of the class's line (height = slope x foot row + offset, pixels), or None while it is
        not usable (fewer than `min_samples` boxes, all at one foot row, not rising toward the camera, or explaining
        less than `ground_line_min_r2` of the heights' variance: no ground plane, a zoom, objects of many sizes)."""
        return self._lines.get(class_id)

    def _fit(self, samples: np.ndarray) -> tuple[float, float] | None:
        """The least-squares line of (n, 2) samples (foot row, height), or None where it is not usable (`line`)."""
        if len(samples) < self.min_samples:
            return None
        n = len(samples)
        foot_sum, height_sum = np.add.reduce(samples, axis=0).tolist()  # `sum` without its method wrappers
        (foot_sq, product), (_, height_sq) = (samples.T @ samples).tolist()  # sums of squares and products
        foot_ss = foot_sq - foot_sum * foot_sum / n  # centred sums (pixels^2: far from cancelling in float64)
        cross = product - foot_sum * height_sum / n
        height_ss = height_sq - height_sum * height_sum / n
        if foot_ss <= 0.0:
            return None
        slope = cross / foot_ss
        explained = slope * slope * foot_ss  # the heights' sum of squares the line explains (R^2 x total)
        if slope <= 0.0 or explained < self.min_r2 * height_ss:
            return None
        return slope, (height_sum - slope * foot_sum) / n

    def part_boxes(
        self, boxes_xyxy: np.ndarray, class_ids: np.ndarray, frame_size: tuple[int, int] | None = None
    ) -> np.ndarray:
        """(N,) bool: boxes (N, 4) xyxy pixels of classes (N,) shorter than `association.part_box_fraction` of the
        height their class's line predicts at their foot row; a box the top or bottom border of a frame of
        `frame_size` (height, width) cuts is never one. All False while the rule is off or no line is usable."""
        n = len(boxes_xyxy)
        if not self.enabled or n == 0 or not self._lines:
            return np.zeros(n, dtype=bool)
        classes = np.asarray(class_ids).reshape(-1)
        foot = boxes_xyxy[:, 3]
        height = foot - boxes_xyxy[:, 1]
        part = None
        for cls, (slope, offset) in self._lines.items():  # a few whole-frame operations a class with a line
            expected = slope * foot + offset
            judged = (classes == cls) & (expected > 0.0) & (height < self.fraction * expected)
            part = judged if part is None else part | judged
        part = cast(np.ndarray, part)  # (set: `_lines` holds a class at least)
        if frame_size is not None:
            part &= ~_cut_vertically(boxes_xyxy, frame_size)
        return part


def complete_part_boxes(
    boxes_xywh: np.ndarray, predicted_xywh: np.ndarray, part: np.ndarray, fraction: float
) -> tuple[np.ndarray, np.ndarray]:
    """Part-of-a-person boxes a tracked track continues on, measured at the track's predicted size.

    A legs-only or head-and-torso box (`GroundLine.part_boxes`) measures where one edge of the person is, not
    their size: fed to the Kalman filter as it is, it shrinks the track to the part, and the whole box a frame later
    falls outside the track's gate (traced: ACF TUD-Campus scale0.35, frames 34-35, gt5's track took 14x34 legs boxes
    of a 23x57 person; at frame 36 its prediction was 14x34, gt5's whole box lay outside its gate at IoU 0.36 and the
    track of a person gone since frame 9 took it at similarity 0.551: a wrong revival after 1 s). As a box cut by a
    side border is measured at the track's width (`tracker.truncation.complete_truncated`), a part box is measured at
    the predicted width and height, its horizontal centre and the one of its top or bottom edges nearer the same
    edge of the prediction kept (the visible end of the person).

    Args:
        boxes_xywh: (M, 4) matched detection boxes (cx, cy, w, h), pixels.
        predicted_xywh: (M, 4) the matched tracks' Kalman predictions (cx, cy, w, h), pixels.
        part: (M,) bool, the boxes judged parts of a person.
        fraction: `association.part_box_fraction`, applied to the track's own predicted height as well.
    Returns:
        (M, 4) new array and (M,) bool, the boxes completed: the part boxes also shorter than `fraction` of their
        track's predicted height. A person shorter than the ground line (a child, someone sitting) whose track
        has their own size keeps their boxes as they are: completing every box a little under the prediction
        would let the size rise with the noise and never fall (tried: MOT17 public HOTA 49.37 -> 49.21).
    """
    out = np.array(boxes_xywh, dtype=np.float64, copy=True).reshape(-1, 4)
    predicted = np.asarray(predicted_xywh, dtype=np.float64).reshape(-1, 4)
    done = np.asarray(part, dtype=bool).reshape(-1) & (out[:, 3] < fraction * predicted[:, 3])
    if not done.any():
        return out, done
    top, bottom = out[:, 1] - out[:, 3] / 2, out[:, 1] + out[:, 3] / 2
    predicted_top, predicted_bottom = predicted[:, 1] - predicted[:, 3] / 2, predicted[:, 1] + predicted[:, 3] / 2
    keep_bottom = np.abs(bottom - predicted_bottom) <= np.abs(top - predicted_top)
    height = predicted[:, 3]
    centre_y = np.where(keep_bottom, bottom - height / 2, top + height / 2)
    out[done, 1], out[done, 2], out[done, 3] = centre_y[done], predicted[done, 2], height[done]
    return out, done


def _cut_vertically(boxes_xyxy: np.ndarray, frame_size: tuple[int, int] | None) -> np.ndarray:
    """(M,) bool: boxes (M, 4) xyxy whose top or bottom edge is within `TOUCH_PX` of that border of a frame of
    `frame_size` (height, width); all False when the frame size is unknown."""
    if frame_size is None:
        return np.zeros(len(boxes_xyxy), dtype=bool)
    return (boxes_xyxy[:, 1] <= TOUCH_PX) | (boxes_xyxy[:, 3] >= frame_size[0] - TOUCH_PX)
