"""Cost matrices of the matching stages. All are (T, N): lower is better, inf forbids a pair.

The stages (run in order by `TrackerCore`):
1. confirmed and lost tracks x confident detections: appearance fused with motion inside the motion gate;
2. still-unmatched tracked tracks x low-score detections: IoU only (ByteTrack's second pass);
3. tentative tracks x leftover confident detections: IoU only;
4. lost tracks x leftovers: appearance alone, inside a plausibility gate that widens with the time lost.
"""

from __future__ import annotations

import numpy as np

from tracker.config import AssociationConfig
from tracker.fast_numpy import TINY, all_set, any_set, largest
from tracker.sweep import SWEEP_MIN_PAIRS, pairs_in_ranges
from tracker.truncation import side_contacts

__all__ = [
    "appearance_motion_cost",
    "buffered_iou_matrix",
    "fuse_appearance",
    "iou_cost",
    "iou_matrix",
    "motion_cost",
    "occlusion",
    "reid_cost",
    "unambiguous",
]


_SWEEP_SLACK = 1e-9  # relative widening of the sweep's bound: covers float rounding, only adds pairs that give 0


def _intersection(a_xyxy: np.ndarray, b_xyxy: np.ndarray) -> np.ndarray:
    """(A, 4) x (B, 4) corner boxes -> (A, B) intersection areas."""
    iw = np.minimum(a_xyxy[:, None, 2], b_xyxy[None, :, 2]) - np.maximum(a_xyxy[:, None, 0], b_xyxy[None, :, 0])
    ih = np.minimum(a_xyxy[:, None, 3], b_xyxy[None, :, 3]) - np.maximum(a_xyxy[:, None, 1], b_xyxy[None, :, 1])
    np.maximum(iw, 0.0, out=iw)
    np.maximum(ih, 0.0, out=ih)
    return np.multiply(iw, ih, out=iw)


def _pair_intersection(a_xyxy: np.ndarray, b_xyxy: np.ndarray) -> np.ndarray:
    """(P, 4) x (P, 4) corner boxes -> (P,) intersection area of each row pair (the arithmetic of
    `_intersection`, so the same values)."""
    iw = np.minimum(a_xyxy[:, 2], b_xyxy[:, 2]) - np.maximum(a_xyxy[:, 0], b_xyxy[:, 0])
    ih = np.minimum(a_xyxy[:, 3], b_xyxy[:, 3]) - np.maximum(a_xyxy[:, 1], b_xyxy[:, 1])
    np.maximum(iw, 0.0, out=iw)
    np.maximum(ih, 0.0, out=ih)
    return np.multiply(iw, ih, out=iw)


def _sweep(a_xyxy: np.ndarray, b_xyxy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(P,) rows into a and (P,) rows into b of the pairs whose x extents may overlap (a superset: every pair left
    out has zero intersection), by a sort-and-sweep: box i of a can only meet the b boxes whose left edge lies in
    [a_x1 - widest b, a_x2]."""
    widest = float(np.max(b_xyxy[:, 2] - b_xyxy[:, 0]))
    slack = _SWEEP_SLACK * (np.abs(a_xyxy[:, 0]) + widest) + TINY
    return pairs_in_ranges(b_xyxy[:, 0], a_xyxy[:, 0] - widest - slack, a_xyxy[:, 2])


def _sparse(a_xyxy: np.ndarray, b_xyxy: np.ndarray) -> bool:
    """Whether the sort-and-sweep pays for these (A, 4) x (B, 4) boxes: many pairs, all finite (a non-finite box
    takes the dense path, which gives it the same NaN or inf values as before)."""
    if len(a_xyxy) * len(b_xyxy) < SWEEP_MIN_PAIRS:
        return False
    return all_set(np.isfinite(a_xyxy)) and all_set(np.isfinite(b_xyxy))


def _area(boxes_xyxy: np.ndarray) -> np.ndarray:
    return (boxes_xyxy[:, 2] - boxes_xyxy[:, 0]) * (boxes_xyxy[:, 3] - boxes_xyxy[:, 1])


def iou_matrix(a_xyxy: np.ndarray, b_xyxy: np.ndarray) -> np.ndarray:
    """(A, 4) x (B, 4) corner boxes (x1, y1, x2, y2), pixels -> (A, B) float64 intersection over union in [0, 1].

    Many boxes: only the pairs a sort-and-sweep (`_sweep`) finds are computed (the same values), the rest is 0.
    """
    if len(a_xyxy) == 0 or len(b_xyxy) == 0:
        return np.zeros((len(a_xyxy), len(b_xyxy)))
    if _sparse(a_xyxy, b_xyxy):
        rows, cols = _sweep(a_xyxy, b_xyxy)
        inter = _pair_intersection(a_xyxy[rows], b_xyxy[cols])
        union = _area(a_xyxy)[rows] + _area(b_xyxy)[cols] - inter
        out = np.zeros((len(a_xyxy), len(b_xyxy)))
        out[rows, cols] = inter / np.maximum(union, TINY)
        return out
    inter = _intersection(a_xyxy, b_xyxy)
    union = _area(a_xyxy)[:, None] + _area(b_xyxy)[None, :] - inter
    return inter / np.maximum(union, TINY)


def buffered_iou_matrix(a_xyxy: np.ndarray, b_xyxy: np.ndarray, buffer_xy: np.ndarray) -> np.ndarray:
    """(A, 4) x (B, 4) corner boxes -> (A, B) IoU after growing both boxes of each pair by row a's buffer.

    The buffered IoU of C-BIoU (Yang et al., "Hard to Track Objects with Irregular Motions and Similar
    Appearances? Make It Easier by Buffering the Matching Space", WACV 2023), with a buffer per row.

    Args:
        buffer_xy: (A, 2) pixels added on each side, horizontally and vertically; zero rows give the plain IoU.
    """
    if len(a_xyxy) == 0 or len(b_xyxy) == 0:
        return np.zeros((len(a_xyxy), len(b_xyxy)))
    if not any_set(buffer_xy):
        return iou_matrix(a_xyxy, b_xyxy)
    grow = np.concatenate([-buffer_xy, buffer_xy], axis=1)  # (A, 4)
    a = (a_xyxy + grow)[:, None, :]  # (A, 1, 4)
    b = b_xyxy[None, :, :] + grow[:, None, :]  # (A, B, 4)
    iw = np.maximum(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0.0)
    ih = np.maximum(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0.0)
    inter = iw * ih
    area_a = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])
    area_b = (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    return inter / np.maximum(area_a + area_b - inter, TINY)


def occlusion(boxes_xyxy: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
    """Fraction of each box (or of boxes[rows]) covered by its largest overlap with a box in front of it.

    "In front" means a lower bottom edge (closer to a camera looking down at a ground plane).

    Args:
        boxes_xyxy: (N, 4) all boxes of the frame.
        rows: (R,) indices of the boxes to score; None for all.
    Returns:
        (R,) or (N,) fractions in [0, 1].
    """
    targets = boxes_xyxy if rows is None else boxes_xyxy[rows]
    if len(boxes_xyxy) < 2 or len(targets) == 0:
        return np.zeros(len(targets))
    if _sparse(targets, boxes_xyxy):  # many boxes: only pairs that can overlap (`_sweep`)
        rows, cols = _sweep(targets, boxes_xyxy)
        inter = _pair_intersection(targets[rows], boxes_xyxy[cols])
        inter[boxes_xyxy[cols, 3] <= targets[rows, 3]] = 0.0  # only boxes in front of the target count
        covered = np.zeros(len(targets))
        np.maximum.at(covered, rows, inter)
    else:
        inter = _intersection(targets, boxes_xyxy)  # (R, N)
        inter[boxes_xyxy[None, :, 3] <= targets[:, None, 3]] = 0.0  # only boxes in front of the target count
        covered = largest(inter, 1)
    return covered / np.maximum(_area(targets), TINY)


def appearance_motion_cost(
    iou: np.ndarray,
    similarity: np.ndarray,
    det_scores: np.ndarray,
    match_threshold: float | np.ndarray,
    cfg: AssociationConfig,
) -> np.ndarray:
    """Stage 1 cost of pairs inside the motion gate (the caller forbids the others), elementwise: any shape, e.g.
    the (P,) pairs a gate lets through, so the cost of a crowd is built for its few gated pairs, not its (T, N).

    Args:
        iou: IoU of predicted track boxes with detections.
        similarity: bank cosine similarity, NaN where either side has no appearance.
        det_scores: each pair's detection score.
        match_threshold: appearance pairs below this similarity are forbidden: a scalar or one per pair.
    Returns:
        float64 of the inputs' shape: appearance fused with motion where there is appearance, motion alone where
        not; inf where the appearance is below `match_threshold`.
    """
    return fuse_appearance(motion_cost(iou, det_scores, cfg), similarity, match_threshold, cfg)


def motion_cost(iou: np.ndarray, det_scores: np.ndarray, cfg: AssociationConfig) -> np.ndarray:
    """Stage 1 motion-only cost of pairs, elementwise (any shape): 1 - IoU, times the detection score with
    `association.fuse_score` (ByteTrack's score fusion). What `appearance_motion_cost` gives a pair without appearance.
    """
    overlap = iou * det_scores if cfg.fuse_score else iou
    return 1.0 - overlap


def fuse_appearance(
    motion: np.ndarray, similarity: np.ndarray, match_threshold: float | np.ndarray, cfg: AssociationConfig
) -> np.ndarray:
    """`appearance_motion_cost` of pairs whose `motion_cost` is known (same shapes): `association.appearance_weight`
    of (1 - similarity) plus the rest of the motion cost where there is appearance, the motion cost where not
    (NaN similarity), inf where the similarity is below `match_threshold` (a scalar or one per pair)."""
    has_app = np.isfinite(similarity)
    fused = cfg.appearance_weight * (1.0 - similarity) + (1.0 - cfg.appearance_weight) * motion
    cost = np.where(has_app, fused, motion)
    cost[has_app & (similarity < match_threshold)] = np.inf
    return cost


def iou_cost(iou: np.ndarray, det_scores: np.ndarray | None = None) -> np.ndarray:
    """(T, N) float64 1 - IoU; with `det_scores` (N,), 1 - IoU x score (ByteTrack's score fusion)."""
    overlap = iou if det_scores is None else iou * det_scores[None, :]
    return 1.0 - overlap


def reid_cost(
    similarity: np.ndarray,
    track_xywh: np.ndarray,
    seconds_lost: np.ndarray,
    det_xywh: np.ndarray,
    cfg: AssociationConfig,
    min_similarity: np.ndarray | float | None = None,
    frame_size: tuple[int, int] | None = None,
) -> np.ndarray:
    """Stage 4 cost: 1 - similarity for plausible pairs of lost tracks and detections: the detection's centre within
    `association.reid_min_distance` + `reid_max_speed` x seconds lost track heights of the track's last centre, and
    heights within `association.max_size_ratio` of each other.

    Args:
        similarity: (T, N) bank cosine similarity (NaN: no appearance).
        track_xywh: (T, 4) last observed box of each lost track, (cx, cy, w, h) pixels.
        seconds_lost: (T,) time since each track was last matched, seconds.
        det_xywh: (N, 4) detection boxes, (cx, cy, w, h) pixels.
        min_similarity: (T, N), (T,) or scalar bound a pair must reach (see `Calibration.revival_bound`);
            None: `cfg.reid_threshold`.
        frame_size: optional (height, width) of the frame in pixels: with `association.reid_around_view`, a track
            that left the view by one side border reaches a detection entering by the other only around the view
            (`around_view_distance`). None: straight-line reach only.
    Returns:
        (T, N) float64 costs, inf for pairs out of reach, without appearance or below the bound.
    """
    bound = cfg.reid_threshold if min_similarity is None else np.asarray(min_similarity, dtype=np.float64)
    bound = np.reshape(bound, (-1, 1)) if np.ndim(bound) == 1 else bound
    ok = _reachable(track_xywh, seconds_lost, det_xywh, cfg) & np.isfinite(similarity) & (similarity >= bound)
    if frame_size is not None and cfg.reid_around_view and ok.any():
        reach = _walk_reach(track_xywh[:, 3:4], np.asarray(seconds_lost), cfg)
        ok &= around_view_distance(track_xywh, det_xywh, frame_size) <= reach
    return np.where(ok, 1.0 - np.nan_to_num(similarity), np.inf)


def _reachable(
    track_xywh: np.ndarray, seconds_lost: np.ndarray, det_xywh: np.ndarray, cfg: AssociationConfig
) -> np.ndarray:
    """(T, N) bool: detections a lost track could have walked to (distance within its reach, similar height)."""
    height = track_xywh[:, 3:4]
    reach = _walk_reach(height, seconds_lost, cfg)
    dx = det_xywh[None, :, 0] - track_xywh[:, None, 0]
    dy = det_xywh[None, :, 1] - track_xywh[:, None, 1]
    dist = np.sqrt(dx * dx + dy * dy)
    return (dist <= reach) & plausible_size(height, det_xywh[None, :, 3], cfg.max_size_ratio)


def _walk_reach(track_heights: np.ndarray, seconds_lost: np.ndarray, cfg: AssociationConfig) -> np.ndarray:
    """(T, 1) pixels a lost track's person may have walked from its last box: `association.reid_min_distance` +
    `reid_max_speed` x `seconds_lost` (T,) track heights, of its (T, 1) `track_heights` (pixels)."""
    return (cfg.reid_min_distance + cfg.reid_max_speed * seconds_lost[:, None]) * track_heights


def around_view_distance(track_xywh: np.ndarray, det_xywh: np.ndarray, frame_size: tuple[int, int]) -> np.ndarray:
    """(T, N) the shortest distance (pixels) from each track's last observed box (T, 4, centre-size, moved with
    the camera) to each detection (N, 4) for someone who stayed outside the (height, width) view: where the track's
    box is cut by (within `truncation.TOUCH_PX` of) or beyond one side border and the detection is cut by the
    opposite one, the path around the view through its two corners above or below, whichever is shorter (the
    person walked out on one side and is walking in on the other: had they crossed the view they would have been
    seen); 0 for every other pair (the straight line of `_reachable` judges those).

    Traced: TUD-Campus ACF pan20, frame 32: a person who walked out by the right border 18 frames before (0.72 s,
    a 500 px reach at 1.5 heights a second) was revived on a look-alike walking in by the left border 450 px away
    in a straight line; around the 480 x 360 view the path is about 730 px.
    """
    height, width = frame_size
    track = np.asarray(track_xywh, dtype=np.float64).reshape(-1, 4)
    det = np.asarray(det_xywh, dtype=np.float64).reshape(-1, 4)
    t_left, t_right = side_contacts(track, width)
    d_left, d_right = side_contacts(det, width)
    opposite = (t_left[:, None] & d_right[None, :] & ~d_left[None, :]) | (
        t_right[:, None] & d_left[None, :] & ~d_right[None, :]
    )
    distance = np.zeros(opposite.shape)
    if not opposite.any():
        return distance
    rows, cols = np.nonzero(opposite)
    tx, ty, dx, dy = track[rows, 0], track[rows, 1], det[cols, 0], det[cols, 1]
    t_corner = np.where(t_right[rows], width, 0.0)  # the corner column on the track's side, and the detection's
    d_corner = width - t_corner
    around = []
    for corner_y in (0.0, float(height)):  # over the top, under the bottom
        around.append(np.hypot(tx - t_corner, ty - corner_y) + width + np.hypot(dx - d_corner, dy - corner_y))
    distance[rows, cols] = np.minimum(*around)
    return distance


def plausible_size(track_heights: np.ndarray, det_heights: np.ndarray, max_ratio: float) -> np.ndarray:
    """Elementwise (broadcast shapes) bool: a detection height within `max_ratio` of a lost track's last observed
    height, either way (`association.max_size_ratio`: a person's size does not halve or double while hidden)."""
    ratio = det_heights / np.maximum(track_heights, TINY)
    return (ratio <= max_ratio) & (ratio >= 1.0 / max_ratio)


def plausible_reid_pairs(
    track_xywh: np.ndarray, seconds_lost: np.ndarray, det_xywh: np.ndarray, cfg: AssociationConfig
) -> np.ndarray:
    """(T, N) bool: pairs stage 4 may consider (used to decide which similarities to compute)."""
    reachable = _reachable(track_xywh, seconds_lost, det_xywh, cfg)
    return reachable if cfg.reid_threshold <= 1.0 else np.zeros_like(reachable)


def unambiguous(pairs: np.ndarray, similarity: np.ndarray, margin: float) -> np.ndarray:
    """(M,) bool: matched pairs ((M, 2) (row, col) into the (T, N) `similarity`) whose similarity beats every rival in
    its row and column by `margin` (NaN similarities are no rivals)."""
    if len(pairs) == 0:
        return np.zeros(0, dtype=bool)
    sim = np.nan_to_num(similarity, nan=-np.inf)
    keep = np.ones(len(pairs), dtype=bool)
    for i, (t, n) in enumerate(pairs):
        rivals = np.concatenate([np.delete(sim[t], n), np.delete(sim[:, n], t)])
        keep[i] = rivals.size == 0 or sim[t, n] - rivals.max() >= margin
    return keep
