"""What a frame reports (`FrameReport`): which tracks, and their boxes.

The confirmed tracks matched this frame (with `motion.report_gap_frame`, also those missed this frame only, at
their prediction), but for fixed scene objects (`tracker.still`) and, at a side border, tracks showing less than
`motion.min_visible_fraction` of their person; each box the Kalman one, the detection's
(`motion.output_filtered_box` off) or the Kalman one widened towards the smoothed aspect's width
(`tracker.report_aspect`, by the measured weight of `tracker.report_weight`), clipped to the frame.
"""

from __future__ import annotations

from typing import cast

import numpy as np

from tracker.birth import BirthShapes
from tracker.config import TrackerConfig
from tracker.fast_numpy import any_set, filled, indices
from tracker.ground_line import GroundLine
from tracker.kalman import xywh_to_xyxy
from tracker.report_aspect import reported_xywh
from tracker.report_weight import ReportWeight
from tracker.still import StillBoxes
from tracker.track import LOST, TRACKED, TrackTable
from tracker.truncation import TOUCH_PX, narrowest_whole_ratio, touches_side, visible_fraction
from tracker.types import Detections, TrackedObject, TrackState

__all__ = ["FrameReport"]


class FrameReport:
    """The outputs of a frame (`outputs`) and how their widths are made (`report_width`).

    Holds references to the core's `TrackTable` (the tracks), `StillBoxes` (fixed objects are not reported),
    `GroundLine` (it learns from the reported boxes), `BirthShapes` (the narrowest shape of a class, for the part of a
    person a box at a side border shows) and `ReportWeight` (the measured weight of the aspect's width); it keeps no
    state of its own and writes none but the still boxes' hidden count and the ground line.
    """

    def __init__(
        self,
        config: TrackerConfig,
        table: TrackTable,
        still: StillBoxes,
        ground: GroundLine,
        births: BirthShapes,
        report_weight: ReportWeight,
    ) -> None:
        self.config = config
        self.table = table
        self.still = still
        self.ground = ground
        self.births = births
        self.report_weight = report_weight

    def aspect_weight(self) -> float:
        """How far the report goes from the Kalman width towards the smoothed aspect's, 0-1 (0: the Kalman width)."""
        motion = self.config.motion
        if not motion.report_aspect_filter:
            return 0.0
        return self.report_weight.weight if motion.report_aspect_weighting else 1.0

    def report_width(self) -> dict[str, float] | None:
        """How the reported widths are made, for reports (`track`'s summary, `summary.json`, `track eval`):
        `ReportWeight.summary()` (pairs pooled, relative RMS errors against the next box) with `min_pairs` (pairs
        needed before the weight is measured), `weight` the one applied (0: the Kalman width; 1: the aspect width,
        and always 1 with `motion.report_aspect_weighting` off) and `measured` (1.0: the video's measured weight,
        0.0: weighting off). None where the report takes no aspect width (`motion.report_aspect_filter` or
        `motion.output_filtered_box` off)."""
        motion = self.config.motion
        if not (motion.report_aspect_filter and motion.output_filtered_box):
            return None
        return self.report_weight.summary() | {
            "min_pairs": self.report_weight.min_pairs,
            "weight": self.aspect_weight(),
            "measured": float(motion.report_aspect_weighting),
        }

    def outputs(
        self,
        mean: np.ndarray,
        dets: Detections,
        frame_size: tuple[int, int] | None = None,
        global_ids: bool = False,
    ) -> list[TrackedObject]:
        """The confirmed tracks matched this frame, by track ID, but for fixed scene objects (`StillBoxes.hidden`);
        their boxes inside the frame when its size is known. The ground line learns from the boxes reported.

        Args:
            mean: (T, 8) the tracks' Kalman means after this frame's update, row-aligned with the table.
            dets: this frame's detections (the boxes reported with `motion.output_filtered_box` off).
            frame_size: (height, width) of the frame in pixels, or None (boxes reported as they are).
            global_ids: the tracks carry gallery IDs (`Track.global_id`); False: every output's is None.
        """
        report_gap = self.config.motion.report_gap_frame
        shown, gap = self._shown(report_gap)
        boxes, judged = self._boxes(shown, gap, mean, dets, frame_size)
        if frame_size is not None:  # a filtered box (a completed cut one) may reach beyond the frame
            shown, boxes, gap = self._inside_frame(shown, boxes, gap, cast(np.ndarray, judged), frame_size)
        self.ground.learn(boxes, self.table.class_id[shown], frame_size)  # it learns from the reported boxes
        return self._objects(shown, boxes, gap, report_gap, global_ids)

    def _shown(self, report_gap: bool) -> tuple[np.ndarray, np.ndarray]:
        """(S,) the table rows reported this frame, by track ID: the confirmed tracks matched this frame (with
        `report_gap`, `motion.report_gap_frame`, also those missed this frame only), but for fixed scene objects
        (`StillBoxes.hidden`, counted there); and (S,) bool, those missed (reported at their prediction)."""
        table = self.table
        shown = (table.state == TRACKED) & (table.frames_since_update == 0) & (table.track_id > 0)
        if report_gap:  # missed this frame only: reported at its prediction
            shown |= (table.state == LOST) & (table.frames_since_update == 1) & (table.track_id > 0)
        hidden = self.still.hidden(table.still_share)
        if any_set(hidden):  # (most frames: no fixed object among the tracks)
            self.still.count_hidden(table.track_id[shown & hidden])
            shown &= ~hidden
        shown = indices(shown)
        shown = shown[table.track_id[shown].argsort()]
        gap = table.frames_since_update[shown] > 0 if report_gap else np.zeros(len(shown), dtype=bool)
        return shown, gap

    def _boxes(
        self,
        shown: np.ndarray,
        gap: np.ndarray,
        mean: np.ndarray,
        dets: Detections,
        frame_size: tuple[int, int] | None,
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """(S, 4) corners, pixels, reported for the table rows `shown` (S,) (`gap` (S,) bool: missed this frame), from
        the (T, 8) Kalman `mean`: the Kalman box, the detection's (`motion.output_filtered_box` off; the prediction
        in a gap) or the Kalman box widened towards the smoothed aspect's width (`tracker.report_aspect`); and the
        (S, 4) boxes judged in view (the Kalman box, or the detection's where that is reported), None where nothing
        reads them (no `frame_size` and the boxes made anew from the aspects)."""
        table = self.table
        kalman = mean.take(shown, axis=0)[:, :4]
        filtered = self.config.motion.output_filtered_box
        weight = self.aspect_weight() if filtered else 0.0
        aspect_widths = filtered and weight > 0.0  # the reported boxes are made anew from the aspects
        # judged: what is in view (the Kalman box, the person's whole width), read where the frame's size is known;
        # the reported boxes start from it unless made anew (then, without a frame size, nothing reads it)
        judged = xywh_to_xyxy(kalman) if frame_size is not None or not aspect_widths else None
        boxes = cast(np.ndarray, judged)  # (None only where `aspect_widths` makes them anew below)
        if not filtered:  # the detection's own box where there is one (judged too)
            matched = indices(~gap)  # the prediction in a gap
            boxes[matched] = dets.boxes_xyxy[np.searchsorted(dets.index, table.detection_index[shown[matched]])]
        elif aspect_widths:  # towards the smoothed aspect's width (`tracker.report_aspect`)
            # but for a box a side border cuts: its inner edge is what was measured (`complete_truncated`)
            aspect = table.aspect[shown]
            if frame_size is not None:
                aspect = np.where(touches_side(kalman, frame_size), np.nan, aspect)
            boxes = xywh_to_xyxy(reported_xywh(kalman, aspect, weight))
        return boxes, judged

    def _inside_frame(
        self, shown: np.ndarray, boxes: np.ndarray, gap: np.ndarray, judged: np.ndarray, frame_size: tuple[int, int]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """`shown` (S,), their reported `boxes` (S, 4) and `gap` (S,) less the boxes showing too little of their
        person at a side border (`_mostly_in_view`, judged on the (S, 4) `judged` boxes) and the predictions (in a
        gap) that left the (height, width) frame; the boxes clipped to it."""
        height, width = frame_size
        in_view = self._mostly_in_view(judged, self.table.class_id[shown], width, shown)
        if in_view is not None:
            shown, boxes, gap = shown[in_view], boxes[in_view], gap[in_view]
        boxes = np.minimum(np.maximum(boxes, 0.0), (width, height, width, height))  # np.clip, without its wrappers
        if self.config.motion.report_gap_frame and any_set(gap):  # a prediction that left the frame is not reported
            inside = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
            shown, boxes, gap = shown[inside], boxes[inside], gap[inside]
        return shown, boxes, gap

    def _objects(
        self, shown: np.ndarray, boxes: np.ndarray, gap: np.ndarray, report_gap: bool, global_ids: bool
    ) -> list[TrackedObject]:
        """The `TrackedObject`s of the table rows `shown` (S,) at their (S, 4) corner `boxes`, in that order: LOST
        where `gap` (S,) (with `report_gap`), with their gallery IDs where `global_ids`."""
        table = self.table
        rows = shown.tolist()
        # global IDs exist only with a gallery (`GalleryLink.link_newborn`); without one every output's is None
        ids = [table.tracks[row].global_id for row in rows] if global_ids else [None] * len(rows)
        tracked, lost = TrackState.TRACKED, TrackState.LOST
        states = [lost if g else tracked for g in gap.tolist()] if report_gap else [tracked] * len(rows)
        fields = (
            table.track_id[shown].tolist(),
            boxes,
            table.score[shown].tolist(),
            table.class_id[shown].tolist(),
            states,
            table.detection_index[shown].tolist(),
            table.recovered[shown].tolist(),
            ids,
            table.recognised[shown].tolist(),
        )
        return TrackedObject.many(len(rows), *fields)

    def _mostly_in_view(
        self, boxes_xyxy: np.ndarray, class_ids: np.ndarray, frame_width: float, rows: np.ndarray | None = None
    ) -> np.ndarray | None:
        """(M,) bool: the reported boxes (M, 4, not clipped) that may show at least `motion.min_visible_fraction`
        of their person's width (`truncation.visible_fraction`, with the narrowest shape the births learnt); None
        when all do without measuring (the rule off, or no box at a side border: most frames). Until the births'
        shape range of a class applies, and with `motion.visible_fraction_from_tracks`, the narrowest width/height
        among this frame's reported boxes of that class that no side border cuts and whose track (`rows` (M,), the
        boxes' table rows) had its width measured uncut stands in for it (`truncation.narrowest_whole_ratio`)."""
        least = self.config.motion.min_visible_fraction
        if least <= 0.0 or len(boxes_xyxy) == 0:
            return None
        if boxes_xyxy[:, 0].min() > TOUCH_PX and boxes_xyxy[:, 2].max() < frame_width - TOUCH_PX:
            return None
        at_side = indices((boxes_xyxy[:, 0] <= TOUCH_PX) | (boxes_xyxy[:, 2] >= frame_width - TOUCH_PX))
        keep = filled(len(boxes_xyxy), True, bool)
        ratio = self.births.narrowest_ratio(class_ids[at_side])
        if rows is not None and self.config.motion.visible_fraction_from_tracks and any_set(np.isnan(ratio)):
            whole = self.table.width_seen[rows]  # (a copy: fancy indexing)
            whole[at_side] = False
            live = narrowest_whole_ratio(boxes_xyxy[whole], class_ids[whole], class_ids[at_side])
            ratio = np.where(np.isnan(ratio), live, ratio)
        keep[at_side] = visible_fraction(boxes_xyxy[at_side], ratio, frame_width) >= least
        return keep
