"""`association.lost_exit_fraction`: a lost track predicted mostly past the border it was last seen at has left
the view; a newcomer entering there does not take its ID by motion and a loose look (traced: TUD-Campus ACF
pan2, pan8, jitter and a static crop of it: a person leaving by the left border, lost three frames and predicted
30 % inside, was taken by a person entering there at similarity 0.568), while the same person coming back is
re-identified."""

from __future__ import annotations

import warnings

import numpy as np

from tracker import Tracker, load_config
from tracker.kalman import xyxy_to_xywh
from tracker.testing import reid_like_identities
from tracker.view_exit import away_from_view, leaving_pairs

WIDTH, HEIGHT = 640, 480
LOOKS = reid_like_identities(2, 64, different=0.6)  # two people alike enough for a stage 1 appearance match


def _walk_out_and_enter(look_in: np.ndarray, fraction: float) -> list[int]:
    """Person A (look 0) walks left at 10 px/frame out through the left border, last seen cut by it (the
    detector's box clipped to the view), then lost for 3 frames (the prediction then keeps 1/3 of A's width in
    view); then someone with `look_in` enters at that border, cut by it, 40 px in view. Returns the IDs shown in
    that frame."""
    overrides = ["lifecycle.confirm_first_frame=true", "appearance.calibration=fixed"]
    cfg = load_config(overrides=[*overrides, f"association.lost_exit_fraction={fraction}"])
    tracker = Tracker(cfg, frame_rate=10)
    for k in range(13):
        x = 110.0 - 10 * k  # the last seen box: [-10, 50], clipped to [0, 50]
        box = np.array([[max(x, 0.0), 200.0, x + 60, 320.0]])
        tracker.update_detections(box, [0.9], embeddings=LOOKS[:1], frame_size=(HEIGHT, WIDTH))
    for _ in range(3):  # predicted at [-40, 20] after these
        tracker.update_detections(np.zeros((0, 4)), np.zeros(0), frame_size=(HEIGHT, WIDTH))
    entering = np.array([[0.0, 200.0, 40.0, 320.0]])
    shown = tracker.update_detections(entering, [0.9], embeddings=look_in[None], frame_size=(HEIGHT, WIDTH))
    return [o.track_id for o in shown]


def test_a_newcomer_at_the_border_a_lost_track_walked_out_of_does_not_take_its_id():
    assert _walk_out_and_enter(LOOKS[1], 0.5) == []  # a new, still tentative track
    assert _walk_out_and_enter(LOOKS[1], 0.0) == [1]  # before: the look-alike took the ID by motion + a loose look


def test_the_person_who_walked_out_comes_back_by_reidentification():
    assert _walk_out_and_enter(LOOKS[0], 0.5) == [1]


def _means(boxes_xyxy: list[list[float]]) -> np.ndarray:
    mean = np.zeros((len(boxes_xyxy), 8))
    mean[:, :4] = xyxy_to_xywh(np.array(boxes_xyxy))
    return mean


def test_the_fraction_inside_decides_and_only_at_the_border_last_seen():
    """Predicted boxes (60 px wide) keeping 1/3, 2/3 and none of their width inside the left border, last seen
    cut by it and further in a frame ago; one 1/3 inside it but last seen whole 5 px from it (hidden there, its
    prediction drifted out: PETS09 ACF, frame 70); one 1/3 inside the bottom border, last seen mid-view. A
    detection 40 px into the view is refused to the first and third only."""
    cut, whole = [-10.0, 100, 50, 220], [5.0, 100, 65, 220]
    observed = xyxy_to_xywh(np.array([cut, cut, cut, whole, [300.0, 300, 360, 420]]))
    now = _means(
        [
            [-40.0, 100, 20, 220],
            [-20.0, 100, 40, 220],
            [-70.0, 100, -10, 220],
            [-40.0, 100, 20, 220],
            [300, 440, 360, 560],
        ]
    )
    before = _means(
        [
            [-30.0, 100, 30, 220],
            [-10.0, 100, 50, 220],
            [-60.0, 100, 0, 220],
            [-30.0, 100, 30, 220],
            [300, 430, 360, 550],
        ]
    )
    entering = np.array([[0.0, 100, 40, 220]])
    refused = leaving_pairs(now, before, observed, entering, (HEIGHT, WIDTH), 0.5)
    np.testing.assert_array_equal(refused[:, 0], [True, False, True, False, False])


def test_a_sliver_the_leaving_person_still_shows_may_continue_the_track():
    """A detection no further in view than `lost_exit_fraction` of the track's width (the slivers of a person
    walking out, yolov8n TUD-Campus scale0.5) is left to stage 1; a wider one is not."""
    observed = xyxy_to_xywh(np.array([[-10.0, 100, 50, 220]]))
    now, before = _means([[-40.0, 100, 20, 220]]), _means([[-30.0, 100, 30, 220]])
    boxes = np.array([[0.0, 100, 12, 220], [0.0, 100, 30, 220], [0.0, 100, 31, 220]])
    refused = leaving_pairs(now, before, observed, boxes, (HEIGHT, WIDTH), 0.5)
    np.testing.assert_array_equal(refused[0], [False, False, True])


def _panned_out_and_back(fraction: float) -> list[int]:
    """Person A (look 0) stands at the left border; the camera pans left by 20 px/frame for 3 frames (A's
    prediction keeps 1/3 of its width in view, undetected), then back by 10 px: A's prediction keeps 1/2 in view
    and is coming back in, where A is seen again, cut by the border, with a poor look (similarity ~0.6). Returns
    the IDs shown in that frame."""
    overrides = ["lifecycle.confirm_first_frame=true", "appearance.calibration=fixed"]
    cfg = load_config(overrides=[*overrides, f"association.lost_exit_fraction={fraction}"])
    tracker = Tracker(cfg, frame_rate=10)
    for _ in range(10):
        box = np.array([[20.0, 200.0, 80.0, 320.0]])
        tracker.update_detections(box, [0.9], embeddings=LOOKS[:1], frame_size=(HEIGHT, WIDTH))
    out = np.array([[1.0, 0.0, -20.0], [0.0, 1.0, 0.0]])
    for _ in range(3):
        tracker.update_detections(np.zeros((0, 4)), np.zeros(0), camera_motion=out, frame_size=(HEIGHT, WIDTH))
    back = np.array([[1.0, 0.0, 10.0], [0.0, 1.0, 0.0]])
    seen = np.array([[0.0, 200.0, 30.0, 320.0]])
    shown = tracker.update_detections(seen, [0.9], embeddings=LOOKS[1:], camera_motion=back, frame_size=(HEIGHT, WIDTH))
    return [o.track_id for o in shown]


def test_a_track_the_camera_brings_back_into_view_is_not_leaving():
    """Half in view but coming back in: motion may still continue it (yolov8n PETS09 pan20, frame 84)."""
    assert _panned_out_and_back(0.5) == [1]


def test_coming_back_in_is_judged_against_the_previous_frame():
    observed = xyxy_to_xywh(np.array([[-10.0, 100, 50, 220], [-10.0, 100, 50, 220]]))
    now = _means([[-30.0, 100, 30, 220], [-30.0, 100, 30, 220]])
    # the first was further out a frame ago (coming back in), the second further in (leaving)
    before = _means([[-40.0, 100, 20, 220], [-20.0, 100, 40, 220]])
    entering = np.array([[0.0, 100, 40, 220]])
    refused = leaving_pairs(now, before, observed, entering, (HEIGHT, WIDTH), 0.5)
    np.testing.assert_array_equal(refused[:, 0], [False, True])


def test_default_is_half():
    assert load_config(None).association.lost_exit_fraction == 0.5


def test_a_track_predicted_to_no_width_is_judged_without_a_warning():
    """A lost track whose predicted width crossed zero (a 2-3 px box shrinking at 1 fps: the Kalman width is a
    prediction, not a size) at the left border, last seen cut by it: the fractions of it inside the borders saturate
    (its width counts as the smallest positive float) and no overflow warning reaches the user, nor an error under
    `-W error`. A detection well inside the view is refused to it, as to any track wholly beyond the border."""
    observed = xyxy_to_xywh(np.array([[-1.0, 100, 2, 103]]))
    now, before = _means([[-2.0, 100, -2.4, 103]]), _means([[-1.0, 100, 1, 103]])
    entering = np.array([[0.0, 100, 3, 103]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        refused = leaving_pairs(now, before, observed, entering, (HEIGHT, WIDTH), 0.5)
    np.testing.assert_array_equal(refused, [[True]])


def test_a_lost_track_already_out_of_the_view_is_not_tested_for_walking_out(monkeypatch):
    """A lost track predicted wholly beyond the border it was last seen at has every stage 1 pair refused already
    (`out_of_view`): whether it is also walking out (`leaving_pairs`) could refuse nothing more, so the test is taken
    only for the other lost tracks, and the frame keeps per-track flags instead of a (T, N) pair matrix (the street
    video: 178 of its 231 such frames)."""
    import tracker.view_exit as view_exit

    cfg = load_config().association
    # row 0: walked out by the left border (last seen cut by it), predicted wholly beyond it, and moving further out;
    # row 1: lost in the middle of the view
    mean = np.zeros((2, 8))
    mean[0, :4], mean[1, :4] = [-50.0, 260.0, 60.0, 120.0], [320.0, 260.0, 60.0, 120.0]
    previous = mean.copy()
    previous[0, 0] = -40.0
    observed = xyxy_to_xywh(np.array([[0.0, 200.0, 50.0, 320.0], [290.0, 200.0, 350.0, 320.0]]))
    entering = np.array([[0.0, 200.0, 40.0, 320.0], [500.0, 200.0, 560.0, 320.0]])  # someone at that border
    tested = []
    exits = view_exit._exits  # the rule's own test starts there (`_leaving_rows` goes on where an exit is)

    def spy(mean_rows: np.ndarray, *args: object) -> tuple[np.ndarray, np.ndarray]:
        tested.append(mean_rows[:, 0].tolist())
        return exits(mean_rows, *args)

    monkeypatch.setattr(view_exit, "_exits", spy)
    lost = np.array([True, True])
    away = view_exit.away_from_view(mean, previous, observed, lost, entering, (HEIGHT, WIDTH), cfg)
    assert away.shape == (2,)  # per track: nothing beyond the out-of-view rows
    assert away.tolist() == [True, False]
    assert tested == [[320.0]]  # only the lost track still in view was tested
    # the same track alone, not yet out of the view (last seen cut by the border, predicted 1/3 inside): tested
    mean[0, 0], previous[0, 0] = -10.0, 0.0
    away = view_exit.away_from_view(mean, previous, observed, lost, entering, (HEIGHT, WIDTH), cfg)
    assert tested[-1] == [-10.0, 320.0]
    # (both detections reach in further than 1/3 of its width)
    assert away.shape == (2, 2) and away.tolist() == [[True, True], [False, False]]


def test_skipping_a_track_out_of_the_view_refuses_what_testing_it_did():
    """Leaving the lost tracks already out of the view untested (a speed-up) refuses the same pairs as testing
    every lost track, at the rounding boundary too. Row 0: a lost track last seen cut by the left border, predicted
    with its centre a hair (1e-20 px) inside it, so exactly half its width in view (`(cx + w / 2) / w` rounds to
    0.5, the default fraction, though the first test's `cx > (f - 0.5) w` reads it as not near an exit); row 1: a
    lost track predicted wholly beyond the right border it was last seen at. Tested with row 1, as before the skip,
    row 0 is walking out and the detection at the left border is refused to it; the skip left only row 0 to the
    first test, which found no lost track near an exit, and the pair was made by motion."""
    cfg = load_config().association
    mean = np.zeros((2, 8))
    mean[:, :4] = [[1e-20, 240.0, 100.0, 200.0], [700.0, 240.0, 50.0, 100.0]]  # centre x, y, width, height
    observed = np.array([[40.0, 240.0, 80.0, 200.0], [630.0, 240.0, 20.0, 100.0]])  # cut by the left, at the right
    entering = np.array([[0.0, 140.0, 90.0, 340.0]])
    lost = np.array([True, True])
    away = away_from_view(mean, mean, observed, lost, entering, (HEIGHT, WIDTH), cfg)
    assert np.broadcast_to(away if away.ndim == 2 else away[:, None], (2, 1)).tolist() == [[True], [True]]


def test_the_frame_before_is_read_only_for_a_lost_track_at_an_exit_it_was_cut_at(monkeypatch):
    """The walking-out rule compares a lost track's box with the frame before only where the box keeps no more than
    `lost_exit_fraction` of itself inside a border its last observed box was cut by: a lost track near the right
    border whose last box was whole (hidden there, not walking out: PETS09 ACF frame 70) refuses nothing, and the
    previous frame's inside fractions are not taken (on the street video, 179 of 253 frames that got that far). One
    at an exit it was cut at still has them taken and refuses the detection reaching further in."""
    import tracker.view_exit as view_exit

    cfg = load_config().association
    fractions = view_exit._inside_fractions
    taken = []

    def spy(mean_rows: np.ndarray, reach: np.ndarray) -> np.ndarray:
        taken.append(mean_rows[:, 0].tolist())
        return fractions(mean_rows, reach)

    monkeypatch.setattr(view_exit, "_inside_fractions", spy)
    mean = np.zeros((1, 8))
    mean[0, :4] = [650.0, 260.0, 60.0, 120.0]  # predicted a third inside the right border
    previous = mean.copy()
    previous[0, 0] = 640.0
    hidden = xyxy_to_xywh(np.array([[560.0, 200.0, 620.0, 320.0]]))  # last seen whole, 20 px from the border
    entering = np.array([[560.0, 200.0, 640.0, 320.0]])  # someone at that border, 80 px in view
    away = view_exit.away_from_view(mean, previous, hidden, np.array([True]), entering, (HEIGHT, WIDTH), cfg)
    assert not np.any(away)
    assert taken == [[650.0]]  # this frame's fractions only
    cut = xyxy_to_xywh(np.array([[580.0, 200.0, 640.0, 320.0]]))  # last seen cut by the right border
    away = view_exit.away_from_view(mean, previous, cut, np.array([True]), entering, (HEIGHT, WIDTH), cfg)
    assert away.tolist() == [[True]]
    assert taken[1:] == [[650.0], [640.0]]  # and the frame before's
