"""Revival precision and recall: does an identity that comes back after a gap come back right?

TrackEval's IDF1 and HOTA mix revivals with everything else, and a tracker's own count of recoveries says how
often, never whether correctly. These two metrics look only at the moments an identity returns after at least
`min_gap_seconds` (1 s), computed from a MOTChallenge result file and the ground truth, the same way for every
tracker:

- per frame, ground-truth and result boxes are matched one-to-one (Hungarian, IoU >= 0.5, as CLEAR MOT does);
- **recall**: of the ground-truth people who reappear after >= 1 s without a matched result box, the fraction
  matched to the same track ID after the gap as before it;
- **precision**: of the times a track ID comes back into the results after >= 1 s of absence, the fraction
  whose boxes before and after the gap match the same ground-truth person (returns where either side matches
  nobody cannot be judged and are not counted).

Gt rows are those TrackEval scores as pedestrians: a non-zero `conf` flag (column 7) in both formats, and in MOT17
format class 1.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tracker.assignment import linear_assignment
from tracker.association import iou_matrix
from tracker.eval.sequences import Sequence, scored_gt_rows
from tracker.frame_rate import frames_at_least
from tracker.io.mot import RESULT_COLUMNS, read_mot_rows, tlwh_to_xyxy

__all__ = ["REVIVAL_METRICS", "RevivalCounts", "identity_timeline", "revival_counts", "revival_scores"]

REVIVAL_METRICS = ("RevP", "RevR", "Revivals", "Returns")
"""Columns: revival precision and recall (fractions), revivals judged, gt returns after a gap."""
MIN_IOU = 0.5  # a result box matches a gt box at this IoU (CLEAR MOT's threshold)
MIN_GAP_SECONDS = 1.0  # an absence at least this long makes a return a revival


@dataclass(frozen=True)
class RevivalCounts:
    """Events of one sequence (or pooled over several).

    Attributes:
        revivals: track IDs that came back after a gap, judged (matched to gt on both sides).
        correct_revivals: of those, the same gt person on both sides.
        returns: gt people who reappeared after a gap without a matched box.
        kept_returns: of those, with the same track ID on both sides.
    """

    revivals: int = 0
    correct_revivals: int = 0
    returns: int = 0
    kept_returns: int = 0

    def __add__(self, other: RevivalCounts) -> RevivalCounts:
        return RevivalCounts(
            self.revivals + other.revivals,
            self.correct_revivals + other.correct_revivals,
            self.returns + other.returns,
            self.kept_returns + other.kept_returns,
        )

    @property
    def precision(self) -> float:
        """Correct revivals / revivals; NaN when there were none."""
        return self.correct_revivals / self.revivals if self.revivals else math.nan

    @property
    def recall(self) -> float:
        """Returns that kept their ID / returns; NaN when nobody returned."""
        return self.kept_returns / self.returns if self.returns else math.nan

    def metrics(self) -> dict[str, float | int]:
        """{"RevP", "RevR", "Revivals", "Returns"} for the report tables."""
        return {"RevP": self.precision, "RevR": self.recall, "Revivals": self.revivals, "Returns": self.returns}


def _frame_matches(gt: np.ndarray, results: np.ndarray) -> Iterable[tuple[int, np.ndarray, np.ndarray]]:
    """Per frame: (frame, matched gt ids (M,), matched track ids (M,)), one-to-one at IoU >= MIN_IOU."""
    frames = np.union1d(gt[:, 0], results[:, 0]).astype(int)
    gt_by_frame = {int(f): gt[gt[:, 0] == f] for f in np.unique(gt[:, 0])}
    res_by_frame = {int(f): results[results[:, 0] == f] for f in np.unique(results[:, 0])}
    empty = np.zeros((0, results.shape[1] if results.ndim == 2 else RESULT_COLUMNS))
    for frame in frames:
        g, r = gt_by_frame.get(int(frame), empty), res_by_frame.get(int(frame), empty)
        if len(g) == 0 or len(r) == 0:
            yield int(frame), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
            continue
        iou = iou_matrix(tlwh_to_xyxy(g[:, 2:6]), tlwh_to_xyxy(r[:, 2:6]))
        pairs = linear_assignment(1.0 - iou, 1.0 - MIN_IOU).pairs
        yield int(frame), g[pairs[:, 0], 1].astype(np.int64), r[pairs[:, 1], 1].astype(np.int64)


def _returns(timeline: dict[int, list[tuple[int, int]]], min_gap: int) -> tuple[int, int]:
    """Over each key's sorted (frame, partner) list: (returns after >= min_gap frames, returns to the same partner).

    Consecutive entries more than `min_gap` frames apart are a return: there were >= min_gap frames between them.
    """
    events = same = 0
    for entries in timeline.values():
        entries.sort()
        for (f0, p0), (f1, p1) in itertools.pairwise(entries):
            if f1 - f0 > min_gap:
                events += 1
                same += p0 == p1
    return events, same


def revival_counts(gt: np.ndarray, results: np.ndarray, frame_rate: float, benchmark: str = "MOT15") -> RevivalCounts:
    """Revival events of one sequence.

    Args:
        gt: (G, >=6) MOTChallenge gt rows (frame, id, left, top, width, height, flag, class, ...).
        results: (R, >=6) MOTChallenge result rows of one tracker, frames numbered like `gt`.
        frame_rate: frames per second (turns MIN_GAP_SECONDS into frames).
        benchmark: gt rows with a zero flag are dropped in both formats; "MOT17" also keeps only gt class 1.
    """
    gt = scored_gt_rows(gt, benchmark)
    min_gap = max(1, frames_at_least(MIN_GAP_SECONDS, frame_rate))
    # Presence: every frame an ID is in the results (precision) / matched to a box (recall).
    by_track: dict[int, list[tuple[int, int]]] = {}  # track id -> [(frame, gt id)] of frames it matched someone
    by_gt: dict[int, list[tuple[int, int]]] = {}  # gt id -> [(frame, track id)] of frames it was matched
    for frame, gt_ids, track_ids in _frame_matches(gt, results):
        for g, t in zip(gt_ids.tolist(), track_ids.tolist(), strict=True):
            by_track.setdefault(t, []).append((frame, g))
            by_gt.setdefault(g, []).append((frame, t))
    returns, kept = _returns(by_gt, min_gap)
    revivals, correct = _track_revivals(results, by_track, min_gap)
    return RevivalCounts(revivals, correct, returns, kept)


def _track_revivals(results: np.ndarray, by_track: dict[int, list[tuple[int, int]]], min_gap: int) -> tuple[int, int]:
    """(judged revivals, correct ones): an ID absent from the results >= min_gap frames that comes back."""
    revivals = correct = 0
    for track_id in np.unique(results[:, 1]).astype(int) if len(results) else []:
        frames = np.unique(results[results[:, 1] == track_id, 0]).astype(int)
        gaps = np.flatnonzero(np.diff(frames) > min_gap)
        if not len(gaps):
            continue
        matched = dict(by_track.get(int(track_id), []))
        matched_frames = np.array(sorted(matched), dtype=np.int64)
        for gap in gaps:
            before, after = frames[gap], frames[gap + 1]
            prior = matched_frames[matched_frames <= before]
            later = matched_frames[matched_frames >= after]
            if not len(prior) or not len(later):
                continue  # a side matched nobody: cannot be judged
            revivals += 1
            correct += matched[int(prior[-1])] == matched[int(later[0])]
    return revivals, correct


def identity_timeline(gt: np.ndarray, results: np.ndarray) -> dict[int, list[tuple[int | None, int, int]]]:
    """Which track ID covered each gt person, frame by frame: where a tracker fragments or swaps identities.

    Args:
        gt: (G, >=6) MOTChallenge gt rows (frame, id, left, top, width, height, ...).
        results: (R, >=6) MOTChallenge result rows, frames numbered like `gt`.
    Returns:
        {gt id: [(track id or None (unmatched), first frame, last frame), ...]}: runs of the person's gt frames
        of that person with the same matched track (one-to-one at IoU >= MIN_IOU per frame, as above).
    """
    matched = {
        (frame, g): t for frame, gts, tracks in _frame_matches(gt, results) for g, t in zip(gts, tracks, strict=True)
    }
    out: dict[int, list[tuple[int | None, int, int]]] = {}
    for frame, g in sorted((int(r[0]), int(r[1])) for r in gt):
        track = matched.get((frame, g))
        track = None if track is None else int(track)
        runs = out.setdefault(g, [])
        if runs and runs[-1][0] == track:
            runs[-1] = (track, runs[-1][1], frame)
        else:
            runs.append((track, frame, frame))
    return out


def revival_scores(sequences: list[Sequence], result_files: dict[str, Path]) -> dict[str, dict[str, float | int]]:
    """{sequence name: REVIVAL_METRICS, ..., "COMBINED": pooled over the sequences} for one tracker."""
    out: dict[str, dict[str, float | int]] = {}
    total = RevivalCounts()
    for seq in sequences:
        counts = revival_counts(
            seq.ground_truth(), read_mot_rows(result_files[seq.name]), seq.info.frame_rate, seq.benchmark
        )
        out[seq.name] = counts.metrics()
        total = total + counts
    out["COMBINED"] = total.metrics()
    return out
