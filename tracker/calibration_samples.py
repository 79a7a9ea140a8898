"""One frame's calibration samples (`tracker.calibration`), taken from its matches of confirmed, visible tracks.

Negatives: the bank of one matched track against the detection matched to another (two people seen in the same
frame, whose boxes do not overlap: a shared crop is not a different look); positives: a track's bank against its
own new detection. Pairs whose similarity the frame already computed come free; a capped random few more
(`Calibration.subsample`) are computed in one sparse bank call (`AppearanceBank.similarity`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from tracker.bank import AppearanceBank
from tracker.calibration import Calibration
from tracker.frame_view import FrameView
from tracker.sweep import mask_pairs
from tracker.track import TrackTable

__all__ = ["add_frame_samples"]

_NO_PAIRS = np.zeros((0, 2), dtype=np.int64)  # (P, 2) (track row, detection column): none


def add_frame_samples(
    calibration: Calibration,
    table: TrackTable,
    bank: AppearanceBank,
    view: FrameView,
    rows: np.ndarray,
    cols: np.ndarray,
    stored: Callable[[], torch.Tensor],
) -> None:
    """Feed `calibration`'s queues from this frame's matched pairs: track rows `rows` (M,) of `table` x detection
    columns `cols` (M,) of `view`, each a confirmed, visible track and a detection fit for a bank (M >= 1).

    Args:
        view: the frame's view; its `similarity` (T, N) gives the pairs already compared (NaN: not), its `iou`
            (T, N) the overlapping pairs, which are no negatives.
        stored: () -> (N, D) this frame's embeddings as the bank stores them, called only when a pair is computed.
    """
    t, n = view.similarity.shape
    positive = np.zeros((t, n), dtype=bool)
    positive[rows, cols] = True
    neg_known, neg_missing = np.zeros(0), _NO_PAIRS  # a lone matched track (one person in view) has no negative
    if len(rows) > 1:  # (negatives first: their subsample draws first from the seeded generator)
        negative = np.zeros((t, n), dtype=bool)
        negative[rows[:, None], cols] = True  # every matched track x every matched detection
        negative &= ~positive & (view.iou == 0)
        neg_known, neg_missing, _ = _sampled_pairs(negative, calibration, view, rows, cols)
    pos_known, pos_missing, pos_known_rows = _sampled_pairs(positive, calibration, view, rows, cols)
    pairs = np.concatenate([neg_missing, pos_missing])  # both queues' pairs in one batched call
    computed = np.zeros(0)
    if len(pairs):  # one sparse call: each track's bank is read once, however many of its pairs are sampled
        wanted = np.zeros((t, n), dtype=bool)
        wanted[pairs[:, 0], pairs[:, 1]] = True
        computed = bank.similarity(table.slot, stored(), wanted)[pairs[:, 0], pairs[:, 1]]
    split = len(neg_missing)
    if len(neg_known) or split:  # (a frame without negatives adds none: the queue and its log stay as they are)
        calibration.add_negatives(np.concatenate([neg_known, computed[:split]]))
    # each positive tagged with its track's ID: a track's own looks are its evidence (the border rule of
    # `Stage1Cost.cost`)
    owners = table.track_id[np.concatenate([pos_known_rows, pos_missing[:, 0]])]
    calibration.add_positives(np.concatenate([pos_known, computed[split:]]), owners)


def _sampled_pairs(
    mask: np.ndarray, calibration: Calibration, view: FrameView, rows: np.ndarray, cols: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One queue's pairs of this frame, from its (T, N) `mask`: the (K,) similarities the frame already computed,
    the (P, 2) (track row, detection column) pairs still to compute (ordered by boxes, then subsampled:
    `Calibration.subsample`) and the (K,) track rows of the known ones (row-major, as the boolean index reads them)."""
    known = mask & np.isfinite(view.similarity)
    missing = _by_boxes(np.stack(mask_pairs(mask & ~known), axis=1), rows, cols, view.det_xywh)
    sampled = missing[calibration.subsample(len(missing), int(known.sum()))]
    return view.similarity[known], sampled, mask_pairs(known)[0]


def _by_boxes(pairs: np.ndarray, rows: np.ndarray, cols: np.ndarray, det_xywh: np.ndarray) -> np.ndarray:
    """The (P, 2) (track row, detection column) `pairs` ordered by their boxes: the box the track matched this
    frame (`rows` (M,) matched to `cols` (M,)), then the detection's ((N, 4) `det_xywh`), so that the seeded
    subsample picks the same pairs whatever the order of the frame's detections (and of the tracks' rows).

    Both boxes of a pair are detections' boxes, so the N boxes are ranked once (equal boxes share a rank) and the
    pairs sorted by their two ranks: the order of a lexicographic sort of the pairs' 8 coordinates, ties in their
    given order (as `np.lexsort`, which took ~240 us for the ~2400 pairs of 50 people against ~70)."""
    if len(pairs) < 2:
        return pairs
    matched = np.empty(int(rows.max()) + 1, dtype=np.int64)
    matched[rows] = cols
    rank = _box_ranks(det_xywh)
    key = rank[matched[pairs[:, 0]]] * len(det_xywh) + rank[pairs[:, 1]]
    return pairs[np.argsort(key, kind="stable")]


def _box_ranks(boxes: np.ndarray) -> np.ndarray:
    """(N,) int64 dense ranks of the (N, 4) `boxes` in lexicographic order of their coordinates (the first column
    the primary key); equal boxes share a rank."""
    order = np.lexsort(boxes.T[::-1])
    ordered = boxes[order]
    ranks = np.empty(len(boxes), dtype=np.int64)
    ranks[order[0]] = 0
    ranks[order[1:]] = np.cumsum((ordered[1:] != ordered[:-1]).any(axis=1))
    return ranks
