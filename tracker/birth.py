"""Which detections may start a track: the shape evidence of a birth, learnt from this video's own tracks.

A detector's false positives that last (a bag, a sign, a patch of texture scored as a person for seconds) start
a track like anybody else and are reported for as long as they last: on TUD-Campus one static 24x26-pixel
"person" made 42 of the 73 false positives of a run. Its box is nothing like a person's: width/height 0.75-0.92,
where the video's tracked people span 0.22-0.65 (1st-99th percentile).

The range of a real object's shape depends on the class, the camera and the detector, so it is measured, not
configured: each class keeps a FIFO of the log width/height ratios of the confident boxes that continued its
confirmed, visible tracks (`BirthShapes.learn`). A new detection whose log ratio lies outside that class's
normal prediction interval, mean +- z(1 - q) std sqrt(1 + 1/n) of the n looks held
(`association.birth_shape_quantile` = q), starts no track (`BirthShapes.allowed`): a shape this video's
tracks do not take. A real person's look falls outside with probability about 2q, and is then only born a
frame later. The interval, not
the sample's own [q, 1 - q] quantiles, because the rule must act within the first second, while few looks are
known: the quantiles of 28 looks are their extremes, and on TUD-Campus zoom they refused real people of
width/height 0.56-0.58 (HOTA -2.1).

The rule compares like with like: only whole looks are learnt and judged, i.e. boxes not near a frame border
(`entry.near_border`: a person walking in or out is cut by the border, and their shape says nothing). Boxes
behind another box are judged: a static false detection often sits behind the people who pass in front of it.
Without a frame size (`update_detections` without `frame_size`) no look is whole and the rule is off.
Until a class holds `birth_shape_min_samples` looks from at least `birth_shape_min_tracks` different tracks,
every shape may start a track: looks of one or two people, however many, tell little about the next person's
build, carried bags or stance, and their spread is too small to judge them by. The count is kept small:
TUD-Campus's false detection is first seen in frame 9 (31 looks learnt by then); at half the frame rate a
count of 20 is not reached in time and the box is tracked. Tracks already alive are never affected: a tracked
person whose box changes shape is still matched.

No real object is refused for good: the lasting false detections this rule is for stand still, while a person of
a shape the video's tracks do not take (on a bicycle, pushing a pram, carrying a large box) moves. A refused look
is followed from frame to frame (the refused look of the previous frame whose box holds its centre, same class)
and starts a track once its centre is `association.birth_shape_release_heights` of its box heights away from
where it was first refused (camera motion compensated, `follow_camera`). A look not refused again in a frame
(a missed detection, a border) starts its count afresh.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np

from tracker.calibration import SimilarityQueue
from tracker.camera_motion import warp_boxes_xywh
from tracker.config import AssociationConfig, TrackerConfig
from tracker.fast_numpy import TINY, all_set, filled

__all__ = ["BirthShapes"]

_MIN_SPREAD_LOOKS = 2  # a spread needs two looks at least


class BirthShapes:
    """Per-class FIFOs of log width/height ratios of confirmed tracks' whole looks, and the birth test on them.

    Args:
        config: reads `association.birth_shape_quantile` (0 disables the rule), `birth_shape_min_samples`,
            `birth_shape_min_tracks`,
            `birth_shape_capacity`, `entry_border_heights` (what is near a border), and
            `appearance.calibration_sample_seconds`: once every class's FIFO is full, looks are learnt once per
            this period, as the appearance calibration samples (shapes drift slowly; learning costs a fraction
            of a frame on average).
        frame_rate: frames per second of the video.
    """

    def __init__(self, config: TrackerConfig, frame_rate: float) -> None:
        self.cfg = config.association
        self._period = max(1, round(config.appearance.calibration_sample_seconds * frame_rate))  # frames
        self._calls = 0
        self._queues: dict[int, SimilarityQueue] = {}
        self._tracks: dict[int, set[int]] = {}  # class -> tracks its looks came from (until there are enough)
        # The looks refused in the last frame: (H, 4) xywh boxes, (H,) classes, (H, 2) centres where first refused.
        self._refused = np.zeros((0, 4))
        self._refused_class = np.zeros(0, dtype=np.int64)
        self._origin = np.zeros((0, 2))

    @property
    def enabled(self) -> bool:
        """Whether the shape rule is on (`association.birth_shape_quantile` > 0)."""
        return self.cfg.birth_shape_quantile > 0.0

    def reset(self) -> None:
        """Forget every class's shapes (a new video)."""
        self._queues.clear()
        self._tracks.clear()
        self._calls = 0
        self._hold(np.zeros((0, 4)), np.zeros(0, dtype=np.int64), np.zeros((0, 2)))

    def _hold(self, boxes_xywh: np.ndarray, classes: np.ndarray, origins: np.ndarray) -> None:
        self._refused, self._refused_class, self._origin = boxes_xywh, classes, origins

    def follow_camera(self, transform: np.ndarray) -> None:
        """Move the refused looks into this frame's pixels (camera-motion compensation; a (3, 3) homography from
        the previous frame's pixels), so a static false detection seen by a moving camera still stands still."""
        if len(self._refused):
            origins = np.concatenate([self._origin, np.ones((len(self._origin), 2))], axis=1)
            try:
                refused, moved_origins = warp_boxes_xywh(self._refused, transform), warp_boxes_xywh(origins, transform)
            except ValueError:
                # a homography's horizon crosses a refused look, which is then nowhere in this frame: all are
                # forgotten (this runs once the frame is in, so nothing is left to refuse)
                self._hold(np.zeros((0, 4)), np.zeros(0, dtype=np.int64), np.zeros((0, 2)))
                return
            self._refused, self._origin = refused, moved_origins[:, :2]

    def learn(
        self,
        boxes_xyxy: np.ndarray,
        class_ids: np.ndarray,
        rows: np.ndarray,
        frame_size: tuple[int, int] | None,
        track_ids: np.ndarray,
    ) -> None:
        """Add the shapes of detections `rows` (R,) of this frame's (N, 4) pixel boxes and (N,) classes: those that
        continued confirmed, visible tracks, whose (R,) IDs are `track_ids`. Looks cut by a border are left out."""
        if not self.enabled or len(rows) == 0:
            return
        self._calls += 1
        if self._calls % self._period and self._queues and all(q.full for q in self._queues.values()):
            return
        whole = _whole(boxes_xyxy, rows, frame_size, self.cfg)
        rows, track_ids = rows[whole], np.asarray(track_ids)[whole]
        if len(rows) == 0:
            return
        ratios, classes = _log_ratio(boxes_xyxy[rows]), class_ids[rows]
        first = int(classes[0])
        if all_set(classes == first):  # the usual frame: one class, one push
            self._add(first, ratios, track_ids)
            return
        for class_id in np.unique(classes).tolist():
            mine = classes == class_id
            self._add(class_id, ratios[mine], track_ids[mine])

    def _add(self, class_id: int, ratios: np.ndarray, track_ids: np.ndarray) -> None:
        self._queue(class_id).push(ratios)
        seen = self._tracks.setdefault(class_id, set())
        if len(seen) < self.cfg.birth_shape_min_tracks:
            seen.update(track_ids.tolist())

    def _applies(self, class_id: int) -> bool:
        """Whether the class's shape range is known well enough to refuse a birth."""
        queue = self._queues.get(class_id)
        return (
            queue is not None
            and len(queue) >= max(self.cfg.birth_shape_min_samples, _MIN_SPREAD_LOOKS)
            and len(self._tracks.get(class_id, ())) >= self.cfg.birth_shape_min_tracks
        )

    def _queue(self, class_id: int) -> SimilarityQueue:
        queue = self._queues.get(class_id)
        if queue is None:
            queue = self._queues[class_id] = SimilarityQueue(self.cfg.birth_shape_capacity)
        return queue

    def allowed(
        self,
        boxes_xyxy: np.ndarray,
        class_ids: np.ndarray,
        rows: np.ndarray,
        frame_size: tuple[int, int] | None,
    ) -> np.ndarray:
        """(R,) bool: which of the candidate detections `rows` may start a track. False only for a whole look
        (away from the borders) whose width/height ratio lies outside its class's learnt
        prediction interval (`_interval`), once the class holds `birth_shape_min_samples` looks of
        `birth_shape_min_tracks` tracks, and that has not yet moved `birth_shape_release_heights` box heights
        since first refused (`_released`). Call once per frame (the refused looks are followed across calls)."""
        ok = filled(len(rows), True, bool)
        if not self.enabled or len(rows) == 0:
            self._hold(np.zeros((0, 4)), np.zeros(0, dtype=np.int64), np.zeros((0, 2)))
            return ok
        whole = _whole(boxes_xyxy, rows, frame_size, self.cfg)
        ratios = _log_ratio(boxes_xyxy[rows])
        for i in np.flatnonzero(whole).tolist():
            class_id = int(class_ids[rows[i]])
            if not self._applies(class_id):
                continue
            low, high = self._interval(self._queues[class_id])
            ok[i] = low <= ratios[i] <= high
        return self._released(boxes_xyxy[rows], class_ids[rows], ok)

    def _released(self, boxes_xyxy: np.ndarray, class_ids: np.ndarray, ok: np.ndarray) -> np.ndarray:
        """`ok` with the refused looks that moved far enough since first refused set True; the others are held
        for the next frame. (R, 4) pixel boxes, (R,) classes, (R,) bool."""
        refused = np.flatnonzero(~ok)
        if len(refused) == 0:
            self._hold(np.zeros((0, 4)), np.zeros(0, dtype=np.int64), np.zeros((0, 2)))
            return ok
        boxes = boxes_xyxy[refused]
        centres, heights = (boxes[:, :2] + boxes[:, 2:]) / 2, boxes[:, 3] - boxes[:, 1]
        classes = class_ids[refused]
        origins = centres.copy()
        if len(self._refused):  # the refused look of the last frame whose box holds the centre, of the same class
            half = self._refused[None, :, 2:] / 2
            gap = np.abs(centres[:, None, :] - self._refused[None, :, :2])
            inside = (gap <= half).all(axis=2) & (classes[:, None] == self._refused_class[None, :])
            distance = np.where(inside, np.hypot(gap[..., 0], gap[..., 1]), np.inf)
            nearest = distance.argmin(axis=1)
            followed = np.isfinite(distance[np.arange(len(refused)), nearest])
            origins[followed] = self._origin[nearest[followed]]
        moved = np.hypot(*(centres - origins).T) >= self.cfg.birth_shape_release_heights * heights
        ok[refused[moved]] = True
        held = ~moved
        xywh = np.concatenate([centres, boxes[:, 2:] - boxes[:, :2]], axis=1)
        self._hold(xywh[held], classes[held], origins[held])
        return ok

    def _interval(self, queue: SimilarityQueue) -> tuple[float, float]:
        """The (low, high) log width/height between which a new look of the class falls with probability 1 - 2q:
        the normal prediction interval mean +- z(1 - q) std sqrt(1 + 1/n) of the n looks held (it widens while
        few looks are known, where quantiles of the sample would be its extremes)."""
        values = queue.values()
        n = len(values)
        half = NormalDist().inv_cdf(1.0 - self.cfg.birth_shape_quantile) * values.std(ddof=1) * math.sqrt(1 + 1 / n)
        mean = float(values.mean())
        return mean - half, mean + half

    def narrowest_ratio(self, class_ids: np.ndarray) -> np.ndarray:
        """(M,) the lowest width/height a whole look of each of the classes `class_ids` (M,) takes: the low end of
        the class's prediction interval (`_interval`, the bound a birth must clear); NaN for a class whose range
        does not apply yet (`_applies`) or with the rule off."""
        classes = np.asarray(class_ids, dtype=np.int64).reshape(-1)
        out = np.full(len(classes), np.nan)
        if not self.enabled:
            return out
        for class_id in np.unique(classes).tolist():
            if self._applies(class_id):
                out[classes == class_id] = math.exp(self._interval(self._queues[class_id])[0])
        return out

    def summary(self) -> dict[int, list[float]]:
        """{class id: [lowest and highest width/height that may start a track, looks held]} for reports: the
        classes whose range applies (enough looks of enough tracks held)."""
        return {
            c: [*np.exp(self._interval(queue)).round(3).tolist(), len(queue)]
            for c, queue in sorted(self._queues.items())
            if self._applies(c)
        }


def _log_ratio(boxes_xyxy: np.ndarray) -> np.ndarray:
    """(R, 4) pixel boxes -> (R,) log(width / height) (symmetric: a box twice too wide is as far as twice too tall)."""
    width = np.maximum(boxes_xyxy[:, 2] - boxes_xyxy[:, 0], TINY)
    height = np.maximum(boxes_xyxy[:, 3] - boxes_xyxy[:, 1], TINY)
    return np.log(width / height)


def _whole(
    boxes_xyxy: np.ndarray, rows: np.ndarray, frame_size: tuple[int, int] | None, cfg: AssociationConfig
) -> np.ndarray:
    """(R,) bool: detections `rows` seen whole: not near a frame border. None of them when the frame size is
    unknown: a box cut by a border cannot be told from a whole one, so the rule stays off. `entry.near_border`'s
    test, written out for the one answer needed here (it runs every frame)."""
    if frame_size is None:
        return np.zeros(len(rows), dtype=bool)
    height, width = frame_size
    x1, y1, x2, y2 = boxes_xyxy[rows].T
    limit = cfg.entry_border_heights * (y2 - y1)
    return (x1 >= limit) & (y1 >= limit) & (width - x2 >= limit) & (height - y2 >= limit)
