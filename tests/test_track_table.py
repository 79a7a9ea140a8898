"""`TrackTable`: the per-track columns and the batched lifecycle transitions behave like the one-track state machine."""

from __future__ import annotations

import numpy as np

from tracker.classes import ClassVote
from tracker.track import LOST, REMOVED, TENTATIVE, TRACKED, TrackTable
from tracker.types import TrackState

MIN_HITS = 3  # lifecycle.min_hits in the `mark_matched` tests
MATCHED_XYWH = 2.0  # every coordinate of each matched detection's box in the `mark_matched` tests


def _table(states: list[int]) -> TrackTable:
    table = TrackTable()
    n = len(states)
    table.add(np.arange(n), np.zeros(n), np.full(n, 0.9), np.ones((n, 4)), np.arange(n), [None] * n, 1, 0.0)
    table.state[:] = states
    return table


def _mark_matched(table: TrackTable, rows: np.ndarray, scores: list[float]) -> np.ndarray:
    """`table.mark_matched` of the tracks at `rows` with detections 0, 1, ... of these `scores`, every box (cx, cy, w,
    h) all MATCHED_XYWH, min_hits MIN_HITS: the rows it confirmed."""
    n = len(rows)
    return table.mark_matched(rows, np.array(scores), np.full((n, 4), MATCHED_XYWH), np.arange(n), MIN_HITS)


def _states(table: TrackTable) -> list[TrackState]:
    """The state of each track as its handle (`table.tracks`) reports it."""
    return [t.state for t in table.tracks]


def test_mark_matched_confirms_after_min_hits_and_flags_recoveries():
    table = _table([TENTATIVE, TENTATIVE, LOST, TRACKED])
    table.hits[:] = [1, 2, 5, 5]
    table.frames_since_update[:] = [0, 0, 7, 0]
    rows = np.array([3, 1, 2, 0])
    confirmed = _mark_matched(table, rows, [0.5, 0.6, 0.7, 0.8])
    assert confirmed.tolist() == [1]  # hits 2 -> 3 reaches min_hits; track 0 (1 -> 2) does not
    assert _states(table) == [TrackState.TENTATIVE] + [TrackState.TRACKED] * 3
    assert [t.recovered for t in table.tracks] == [False, False, True, False]
    assert table.frames_since_update.tolist() == [0, 0, 0, 0]
    assert table.tracks[3].score == 0.5 and table.tracks[0].detection_index == 3
    np.testing.assert_array_equal(table.tracks[2].observed_xywh, [MATCHED_XYWH] * 4)


def test_mark_missed_ages_tracks_and_removes_expired_ones():
    table = _table([TENTATIVE, TRACKED, LOST, LOST])
    table.frames_since_update[:] = [0, 0, 4, 9]
    table.mark_missed(np.arange(4), np.array([10, 10, 10, 9]))
    assert table.state.tolist() == [REMOVED, LOST, LOST, REMOVED]  # tentative dies; 10 frames > 9 expires
    assert table.frames_since_update.tolist() == [1, 1, 5, 10]
    assert table.detection_index.tolist() == [-1, -1, -1, -1]


def test_dropped_handles_keep_their_last_values_and_survivors_follow_their_rows():
    table = _table([TRACKED, REMOVED, LOST])
    gone, survivor = table.tracks[1], table.tracks[2]
    survivor.track_id = 7
    table.keep(np.array([True, False, True]))
    assert len(table) == 2 and table.tracks == [table.tracks[0], survivor]
    assert gone.state is TrackState.REMOVED and gone.slot == 1  # a removed track stays removed
    assert survivor.state is TrackState.LOST and survivor.track_id == 7 and survivor.slot == 2
    survivor.bank_frame = 12
    assert table.bank_frame.tolist() == [-1, 12]


def test_vote_columns_count_as_one_class_vote_per_track():
    """`TrackTable.vote` (one-class tracks in columns, the others in their own `ClassVote`) gives each track the class
    and the same running weights bit for bit as a `ClassVote` per track fed the same detections, through window
    wrap-around, a track's first detection of another class and dropped rows."""
    rng = np.random.default_rng(5)
    for window in (1, 3, 30):
        table, votes = TrackTable(window), []
        for frame in range(120):
            if frame % 10 == 0:  # a few new tracks, each with its own first detection
                classes, scores = rng.choice([0, 2, 7], size=3), rng.uniform(0.1, 1.0, size=3)
                n = len(table)
                table.add(np.arange(3), classes, scores, np.ones((3, 4)), np.arange(3), [None] * 3, frame, 0.0)
                votes += [ClassVote(window, int(c), float(s)) for c, s in zip(classes, scores, strict=True)]
            rows = rng.permutation(len(table))[: rng.integers(1, len(table) + 1)]
            # mostly each track's own class, now and then another one
            classes = np.where(rng.random(len(rows)) < 0.9, table.class_id[rows], rng.choice([0, 2, 7], len(rows)))
            scores = rng.uniform(0.1, 1.0, size=len(rows))
            table.vote(rows, classes, scores)
            for row, c, s in zip(rows.tolist(), classes.tolist(), scores.tolist(), strict=True):
                votes[row].add(c, s)
            assert table.class_id.tolist() == [v.class_id for v in votes], (window, frame)
            if frame % 25 == 24:  # drop a third of the tracks: the columns follow their rows
                keep = rng.random(len(table)) > 0.3
                table.keep(keep)
                votes = [v for v, k in zip(votes, keep, strict=True) if k]
            for row, vote in enumerate(votes):
                own = table.tracks[row].class_votes
                weights = own._weights if own is not None else {int(table.class_id[row]): table.vote_weight[row]}
                assert weights == vote._weights, (window, frame, row)
        assert n > 0 and any(t.class_votes is not None for t in table.tracks), "some tracks saw a second class"


def test_mark_matched_of_confirmed_tracks_only_confirms_none():
    table = _table([LOST, TRACKED, TRACKED, LOST])
    table.hits[:] = [5, 1, 2, 9]
    rows = np.array([3, 1, 0])
    confirmed = _mark_matched(table, rows, [0.5, 0.6, 0.7])
    assert confirmed.dtype == rows.dtype and confirmed.tolist() == []
    assert _states(table) == [TrackState.TRACKED] * 4
    assert [t.recovered for t in table.tracks] == [True, False, False, True]
    assert table.hits.tolist() == [6, 2, 2, 10]
