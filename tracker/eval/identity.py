"""Where IDF1 is lost, person by person: the identity matching TrackEval's IDF1 makes, opened up.

IDF1 (Ristani et al., "Performance Measures and a Data Set for Multi-Target, Multi-Camera Tracking", ECCV 2016
workshops; TrackEval's `Identity` metric) gives each ground-truth person at most one track ID and each track ID at
most one person, choosing the pairing that covers the most gt boxes: a gt box counts (IDTP) only where the result
box of the person's own ID overlaps it at IoU >= 0.5. One number per sequence does not say which people lost their
boxes, nor to which track; `identity_breakdown` does: per person, the ID the matching gave them, how many of their
boxes it covered, and which other IDs covered the rest (and whose those IDs are). A track that carries person A onto
person B shows as A's boxes covered by an ID that the matching gave to B.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from tracker.association import iou_matrix
from tracker.io.mot import tlwh_to_xyxy

__all__ = [
    "IdentityBreakdown",
    "PersonIdentity",
    "as_trackeval_reads",
    "identity_breakdown",
    "refuse_unscorable",
    "scored_rows",
]

MIN_IOU = 0.5  # a result box covers a gt box at this IoU (TrackEval's Identity threshold)
_FRAME_COLUMN, _ID_COLUMN = 0, 1  # every MOTChallenge row: frame and object ID
_FLAG_COLUMN = 6  # gt: 0 = ignored ("zero marked"), whatever the format
_CLASS_COLUMN = 7  # MOT16/17 gt: class id
_PEDESTRIAN = 1  # MOT16/17 gt: the class scored
_DISTRACTORS = (2, 7, 8, 12)  # MOT16/17 gt: person on vehicle, static person, distractor, reflection


@dataclass(frozen=True)
class PersonIdentity:
    """One gt person in the identity matching.

    Attributes:
        frames: the person's gt boxes.
        track: the track ID the matching gave them (None: none).
        idtp: of their boxes, those `track` covers (IDF1's true positives).
        covered: {track ID: their boxes that ID covers at IoU >= 0.5}, every ID that covers any (the person's own
            included; one box may be covered by two IDs).
    """

    frames: int
    track: int | None
    idtp: int
    covered: dict[int, int]


@dataclass(frozen=True)
class IdentityBreakdown:
    """The identity matching of one result file against one sequence's gt.

    Attributes:
        people: {gt id: PersonIdentity}.
        owner: {track ID: the gt id the matching gave it, or None}, every ID in the results.
        gt_boxes, result_boxes: the boxes on each side (IDF1's denominator is their sum).
    """

    people: dict[int, PersonIdentity]
    owner: dict[int, int | None]
    gt_boxes: int
    result_boxes: int

    @property
    def idtp(self) -> int:
        """Boxes matched to the right identity, all people together (TrackEval's IDTP)."""
        return sum(p.idtp for p in self.people.values())

    @property
    def idf1(self) -> float:
        """2 IDTP / (gt boxes + result boxes), as TrackEval's IDF1 (a fraction; NaN with no boxes at all)."""
        total = self.gt_boxes + self.result_boxes
        return 2.0 * self.idtp / total if total else float("nan")


def as_trackeval_reads(rows: np.ndarray, gt: bool = False) -> np.ndarray:
    """(R, C) MOTChallenge rows with the cells TrackEval reads as integers truncated toward zero, as its loader does
    (`int(float(cell))` for the frame, `astype(int)` for the ID and, of gt rows, the zero mark and the class): a
    result row of frame 1.5 is scored in frame 1 there, and one of frame N + 0.5 is not outside an N-frame sequence.
    A new float64 array; `gt`: the rows are ground truth. What TrackEval then refuses: `refuse_unscorable`."""
    rows = np.array(rows, dtype=np.float64, ndmin=2)
    columns = [
        c for c in (_FRAME_COLUMN, _ID_COLUMN, *((_FLAG_COLUMN, _CLASS_COLUMN) if gt else ())) if c < rows.shape[1]
    ]
    rows[:, columns] = np.trunc(rows[:, columns])
    return rows


def refuse_unscorable(rows: np.ndarray, kind: str) -> None:
    """Refuse (R, C) rows read as TrackEval reads them (`as_trackeval_reads`) that TrackEval refuses to score.

    Args:
        rows: the read rows; kind: what they are, for the message ("gt", "result").
    Raises:
        ValueError: TrackEval stops on them (with an error, or a traceback of its own): a frame or ID that is not a
            finite number (nan, inf), a negative ID, or one ID twice in a frame once truncated (IDs 1.2 and 1.7 are
            both 1). The message names the first such row's frame and ID.
    """
    if not len(rows) or rows.shape[1] <= _ID_COLUMN:
        return
    frames, ids = rows[:, _FRAME_COLUMN], rows[:, _ID_COLUMN]
    unreadable = ~np.isfinite(frames) | ~np.isfinite(ids)
    if unreadable.any():
        row = int(np.argmax(unreadable))
        raise ValueError(f"{kind} row {row + 1}: frame {frames[row]:g}, ID {ids[row]:g}: TrackEval cannot read it")
    if (ids < 0).any():
        row = int(np.argmax(ids < 0))
        raise ValueError(f"{kind} row {row + 1}: ID {ids[row]:g} is negative (TrackEval cannot score it)")
    pairs, counts = np.unique(np.column_stack([frames, ids]), axis=0, return_counts=True)
    if (counts > 1).any():
        frame, ident = pairs[np.argmax(counts > 1)]
        raise ValueError(
            f"{kind} frame {frame:g}: ID {ident:g} more than once, as TrackEval reads IDs (truncated); "
            "it refuses the file"
        )


def scored_rows(gt: np.ndarray, results: np.ndarray, benchmark: str) -> tuple[np.ndarray, np.ndarray]:
    """The gt and result rows TrackEval scores (its MotChallenge2DBox preprocessing), for `identity_breakdown`.

    Args:
        gt: (G, >=7) MOTChallenge gt rows; results: (R, >=6) result rows, both as TrackEval reads them (a file's
            rows through `as_trackeval_reads`, as `tools/id_timeline.py` reads them: once, not again here).
        benchmark: "MOT17" (gt with a class column, `tracker.eval.sequences.benchmark_of`) or "MOT15".
    Returns:
        gt rows not marked 0 (column 7), and on MOT17 of class 1 only; result rows, on MOT17 without those matched
        in their frame (Hungarian on IoU, pairs at IoU >= 0.5) to a gt box of a distractor class (2, 7, 8, 12).
    """
    gt, results = np.asarray(gt, dtype=np.float64), np.asarray(results, dtype=np.float64)
    if benchmark != "MOT17" or not len(gt):
        return gt[gt[:, _FLAG_COLUMN] != 0] if len(gt) else gt, results
    dropped = np.zeros(len(results), dtype=bool)
    for frame in np.intersect1d(gt[:, 0], results[:, 0]):
        g, r = np.flatnonzero(gt[:, 0] == frame), np.flatnonzero(results[:, 0] == frame)
        iou = iou_matrix(tlwh_to_xyxy(gt[g, 2:6]), tlwh_to_xyxy(results[r, 2:6]))
        iou[iou < MIN_IOU - np.finfo(float).eps] = 0.0
        rows, cols = linear_sum_assignment(iou, maximize=True)
        kept = iou[rows, cols] > np.finfo(float).eps
        on_distractor = np.isin(gt[g[rows[kept]], _CLASS_COLUMN], _DISTRACTORS)
        dropped[r[cols[kept][on_distractor]]] = True
    keep_gt = (gt[:, _FLAG_COLUMN] != 0) & (gt[:, _CLASS_COLUMN] == _PEDESTRIAN)
    return gt[keep_gt], results[~dropped]


def identity_breakdown(gt: np.ndarray, results: np.ndarray) -> IdentityBreakdown:
    """The IDF1 identity matching of `results` against `gt`, per person.

    Args:
        gt: (G, >=6) MOTChallenge gt rows (frame, id, left, top, width, height, ...), already restricted to the
            rows TrackEval scores, as are the results (`scored_rows`).
        results: (R, >=6) MOTChallenge result rows, frames numbered like `gt`.
    Returns:
        `IdentityBreakdown`; its `idf1` equals TrackEval's IDF1 on the same boxes (ties between equally good
        matchings may give a different person the same count).
    """
    gt_ids = np.unique(gt[:, 1]).astype(np.int64) if len(gt) else np.zeros(0, dtype=np.int64)
    track_ids = np.unique(results[:, 1]).astype(np.int64) if len(results) else np.zeros(0, dtype=np.int64)
    counts = np.zeros((len(gt_ids), len(track_ids)), dtype=np.int64)  # boxes of person g that track t covers
    for frame in np.intersect1d(gt[:, 0], results[:, 0]) if len(gt) and len(results) else []:
        g, r = gt[gt[:, 0] == frame], results[results[:, 0] == frame]
        rows, cols = np.nonzero(iou_matrix(tlwh_to_xyxy(g[:, 2:6]), tlwh_to_xyxy(r[:, 2:6])) >= MIN_IOU)
        np.add.at(counts, (np.searchsorted(gt_ids, g[rows, 1]), np.searchsorted(track_ids, r[cols, 1])), 1)
    assigned = dict(zip(*linear_sum_assignment(counts, maximize=True), strict=True)) if counts.size else {}
    people: dict[int, PersonIdentity] = {}
    owner: dict[int, int | None] = {int(t): None for t in track_ids}
    for i, person in enumerate(gt_ids.tolist()):
        j = assigned.get(i)
        own = j is not None and counts[i, j] > 0  # a pair that covers nothing is no match
        if own:
            owner[int(track_ids[j])] = person
        covered = {int(track_ids[k]): int(counts[i, k]) for k in np.flatnonzero(counts[i])}
        frames = int(np.sum(gt[:, 1] == person))
        people[person] = PersonIdentity(
            frames, int(track_ids[j]) if own else None, int(counts[i, j]) if own else 0, covered
        )
    return IdentityBreakdown(people, owner, len(gt), len(results))
