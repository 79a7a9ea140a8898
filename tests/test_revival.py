"""Revival precision and recall from result files and gt, on scripted tracks."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tracker.eval.revival import RevivalCounts, revival_counts

FPS = 10


def rows(track_boxes):
    """{(track id, x): frames} -> MOT rows (frame, id, left, top, 40, 100, 1, -1, -1, -1)."""
    out = [[f, tid, x, 50.0, 40.0, 100.0, 1, -1, -1, -1] for (tid, x), frames in track_boxes.items() for f in frames]
    return np.array(sorted(out), dtype=np.float64).reshape(-1, 10)


def test_a_correct_and_a_wrong_revival():
    """gt A (x=0) and B (x=300) both hidden on frames 11-25 (1.5 s). The tracker keeps A's ID (correct
    revival) but gives B's return the ID 3; and its ID 2 comes back on A's twin C at x=600 (a wrong revival)."""
    before, after = range(1, 11), range(26, 41)
    gt = rows({(1, 0.0): [*before, *after], (2, 300.0): [*before, *after], (3, 600.0): after})
    results = rows({(1, 0.0): [*before, *after], (2, 300.0): before, (3, 300.0): after, (2, 600.0): after})
    counts = revival_counts(gt, results, FPS)
    assert counts == RevivalCounts(revivals=2, correct_revivals=1, returns=2, kept_returns=1)
    assert counts.precision == 0.5 and counts.recall == 0.5


def test_short_gaps_are_not_revivals_and_empty_metrics_are_nan():
    gt = rows({(1, 0.0): [*range(1, 11), *range(15, 30)]})  # a 0.4 s gap
    counts = revival_counts(gt, gt.copy(), FPS)
    assert counts == RevivalCounts()
    assert math.isnan(counts.precision) and math.isnan(counts.recall)


def test_unmatched_boxes_and_mot17_distractors_are_ignored():
    """A revival whose box before the gap matched no gt person cannot be judged; MOT17 gt rows of other classes
    or with a zero flag are not people to recall."""
    gt = rows({(1, 0.0): range(20, 40)})
    gt = np.concatenate([gt, rows({(9, 300.0): [*range(1, 5), *range(30, 35)]})])
    gt[gt[:, 1] == 9, 7] = 7  # class 7 (a distractor in MOT17)
    gt[gt[:, 1] == 1, 7] = 1
    results = rows({(5, 900.0): range(1, 5), (5, 0.0): range(20, 40)})
    counts = revival_counts(gt, results, FPS, benchmark="MOT17")
    assert counts.revivals == 0 and counts.returns == 0


@pytest.mark.parametrize("benchmark", ["MOT15", "MOT17"])
def test_gt_rows_flagged_zero_are_not_people_to_recall_in_either_format(benchmark):
    """TrackEval drops gt rows whose flag (column 7) is 0 for MOT15 as for MOT17; RevR counted them for MOT15, so a
    person marked to ignore who came back under a new ID was a missed return."""
    before, after = range(1, 11), range(26, 41)
    gt = rows({(1, 0.0): [*before, *after]})
    gt[:, 6], gt[:, 7] = 0, 1 if benchmark == "MOT17" else -1  # MOT17's class 1 (pedestrian); MOT15 has none
    results = rows({(1, 0.0): before, (2, 0.0): after})
    assert revival_counts(gt, results, FPS, benchmark=benchmark).returns == 0
    gt[:, 6] = 1
    assert revival_counts(gt, results, FPS, benchmark=benchmark) == RevivalCounts(returns=1, kept_returns=0)


@pytest.mark.parametrize("fps", [5, 30])
def test_the_gap_is_one_second_at_any_frame_rate(fps):
    gt = rows({(1, 0.0): [*range(1, 11), *range(11 + fps, 20 + fps)]})
    results = rows({(7, 0.0): [*range(1, 11), *range(11 + fps, 20 + fps)]})
    assert revival_counts(gt, results, fps) == RevivalCounts(1, 1, 1, 1)
    assert revival_counts(gt, results, fps + 1) == RevivalCounts()


def test_identity_timeline_shows_which_id_covered_each_person_and_when():
    """gt A (x=0) on frames 1-10 and 26-40; the tracker gives it ID 1, nothing on 21-25 of gt B, then ID 3."""
    from tracker.eval.revival import identity_timeline

    gt = rows({(1, 0.0): [*range(1, 11), *range(26, 41)], (2, 300.0): range(1, 31)})
    results = rows({(1, 0.0): range(1, 11), (3, 0.0): range(26, 41), (2, 300.0): range(1, 21), (4, 300.0): [30]})
    timeline = identity_timeline(gt, results)
    assert timeline[1] == [(1, 1, 10), (3, 26, 40)], "gaps in the gt are not runs; the new ID starts a run"
    assert timeline[2] == [(2, 1, 20), (None, 21, 29), (4, 30, 30)]
