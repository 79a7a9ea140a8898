"""What a frame computes once and hands on (docs/speed.md, stop 72): stage 1's block of a frame whose tracks or
detections are not all in stage 1 is read from that block of the motion gate, and the predicted boxes' corners the
IoU was taken of are the walking-out rule's too."""

from __future__ import annotations

import numpy as np
import pytest

from tracker import Tracker, load_config
from tracker.kalman import xywh_to_xyxy
from tracker.track import LOST
from tracker.view_exit import away_from_view

_BOXES = np.array([[100.0, 100, 150, 220], [300, 110, 350, 230], [500, 100, 550, 220]])  # three people apart
_SIZE = (480, 640)  # (height, width)


def _tracked(frames: int = 6) -> Tracker:
    """A tracker fed `frames` frames of three people walking right, apart from each other, with their looks."""
    tracker = Tracker(load_config(None, overrides=["device=cpu"]), frame_rate=30)
    looks = np.random.default_rng(0).standard_normal((3, 64)).astype(np.float32)
    for i in range(frames):
        tracker.update_detections(_BOXES + [2.0 * i, 0, 2.0 * i, 0], np.full(3, 0.9), embeddings=looks)
    return tracker


def _stage1_view(monkeypatch, tracker: Tracker, frame_size: tuple[int, int] | None = None) -> tuple:
    """The next frame tracked; the arguments stage 1's cost was asked with (the view first), then the tracks' (T, 8)
    Kalman means at that time."""
    asked = []
    cost = tracker.core.stage1.cost
    spy = lambda *args: asked.append((*args, tracker.core._mean.copy())) or cost(*args)  # noqa: E731
    monkeypatch.setattr(tracker.core.stage1, "cost", spy)
    looks = np.random.default_rng(0).standard_normal((3, 64)).astype(np.float32)
    tracker.update_detections(_BOXES + [12.0, 0, 12.0, 0], np.full(3, 0.9), embeddings=looks, frame_size=frame_size)
    (args,) = asked
    return args


@pytest.mark.parametrize("away_row", [None, 2])
def test_stage_1s_block_of_some_tracks_and_detections_is_that_block_of_the_whole(monkeypatch, away_row):
    """The cost of a block of tracks x detections (not every one of the frame's: a tentative track, a low-score box)
    prices each pair as the whole view's cost does, at its place in the block, and a track away from the view has no
    pair in it."""
    tracker = _tracked()
    view, _, _, away, part_boxes, given, _ = _stage1_view(monkeypatch, tracker)
    stage1 = tracker.core.stage1
    t, n = view.iou.shape
    assert (t, n) == (3, 3)
    whole = stage1.cost(view, np.arange(t), np.arange(n), away, part_boxes, given)
    assert np.isfinite(np.diag(whole)).all()  # (each person's own pair)
    rows, cols = np.array([0, 2]), np.array([0, 2])  # tracks 0 and 2 x detections 0 and 2
    away = np.zeros(t, dtype=bool)
    if away_row is not None:
        away[away_row] = True
    block = stage1.cost(view, rows, cols, away, part_boxes, given)
    expected = whole[np.ix_(rows, cols)]
    if away_row is not None:
        expected[rows == away_row] = np.inf
    np.testing.assert_array_equal(block, expected)
    assert np.isfinite(block[0, 0]) and (away_row is not None) != np.isfinite(block[1, 1])


def test_the_walking_out_rule_reads_the_predicted_corners_the_frame_took_its_iou_of(monkeypatch):
    """Stage 1's view carries the corners of the tracks' predicted boxes (this frame's Kalman means), and the
    walking-out rule reads the corners it is given: boxes given beyond the left border are away from the view."""
    tracker = _tracked()
    asked = _stage1_view(monkeypatch, tracker, _SIZE)
    view, mean = asked[0], asked[-1]
    np.testing.assert_array_equal(view.predicted_xyxy, xywh_to_xyxy(mean[:, :4]))
    cfg = tracker.config.association
    observed = np.array([[5.0, 160, 50, 120], [325, 170, 50, 120], [525, 160, 50, 120]])  # the first at the left
    lost = np.zeros(3, dtype=bool)
    args = (mean, mean, observed, lost, _BOXES, _SIZE, cfg)
    assert not away_from_view(*args).any()  # predicted in view
    beyond = xywh_to_xyxy(mean[:, :4]) - [1000.0, 0, 1000.0, 0]  # wholly beyond the left border
    np.testing.assert_array_equal(away_from_view(*args, beyond), [True, False, False])


@pytest.mark.parametrize("transposed", [False, True])
def test_a_block_is_the_matrix_at_those_rows_and_columns(transposed):
    """`frame_view.block` gives what `np.ix_` indexing gives (the rows, then their columns), for empty rows too and
    for a matrix of any memory layout."""
    from tracker.frame_view import block

    matrix = np.arange(35.0).reshape(7, 5)
    matrix = matrix.T.copy().T if transposed else matrix  # (the same values, Fortran-ordered)
    for rows in (np.array([0, 3, 6]), np.array([5, 1]), np.zeros(0, dtype=np.int64)):
        cols = np.array([4, 0, 2])
        np.testing.assert_array_equal(block(matrix, rows, cols), matrix[np.ix_(rows, cols)])
        assert block(matrix, rows, cols).shape == (len(rows), len(cols))


def test_stage_1s_bounds_take_the_revival_bound_once(monkeypatch):
    """`Stage1Cost.match_bounds` asks the calibration's revival bound once a frame: the lost tracks' gate ramps to
    it (`Calibration.lost_match_bound`, which reads the one it is given) and the late thin banks are raised to it."""
    tracker = _tracked()
    looks = np.random.default_rng(0).standard_normal((3, 64)).astype(np.float32)
    tracker.update_detections(_BOXES[:2] + [12.0, 0, 12.0, 0], np.full(2, 0.9), embeddings=looks[:2])  # one lost
    stage1, calibration = tracker.core.stage1, tracker.core.calibration
    lost = tracker.core.table.state == LOST
    assert lost.tolist() == [False, False, True]
    seconds = tracker.core.table.seconds_since_observed(tracker.core.frame_rate)
    revival = calibration.revival_bound(seconds)
    np.testing.assert_array_equal(calibration.lost_match_bound(seconds, revival), calibration.lost_match_bound(seconds))
    asked = []
    bound = calibration.revival_bound
    monkeypatch.setattr(calibration, "revival_bound", lambda *args: asked.append(args) or bound(*args))
    late = np.array([False, False, True])
    bounds = stage1.match_bounds(late=late)
    assert len(asked) == 1
    threshold = tracker.config.appearance.match_threshold
    ramped = np.where(lost, calibration.lost_match_bound(seconds, revival), threshold)
    np.testing.assert_array_equal(bounds[:, 0], np.where(late, np.maximum(ramped, revival), ramped))
