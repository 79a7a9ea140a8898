"""`association.reid_around_view`: a person who walked out by one side border and is re-identified on someone
walking in by the other has gone round the view, not across it (had they crossed it, they would have been seen);
stage 4's reach is measured along that path (traced: TUD-Campus ACF pan20, frame 32: a person who left by the right
border 0.72 s before was revived on a look-alike entering by the left, 450 px away in a straight line, inside the
500 px reach; round the 480 x 360 view the path is about 730 px)."""

from __future__ import annotations

import numpy as np

from tracker import Tracker, load_config
from tracker.association import around_view_distance
from tracker.kalman import xyxy_to_xywh
from tracker.testing import reid_like_identities

WIDTH, HEIGHT = 200, 240  # a narrow view: the straight line across it is short
LOOKS = reid_like_identities(2, 64, different=0.9)  # a look-alike stage 4 would revive (above the 0.7 bound)
LOST_FRAMES = 6  # 0.6 s at 10 fps: reach (1 + 1.5 x 0.6) x 120 px = 228 px


def _leave_right_then_enter(side: str, look: np.ndarray, around: bool) -> list[int]:
    """Person A (look 0, 120 px tall) walks right at 10 px/frame out through the right border, last seen cut by it;
    lost `LOST_FRAMES` frames; then someone with `look` walks in by the `side` border, cut by it. Returns the IDs
    shown in that frame."""
    overrides = ["lifecycle.confirm_first_frame=true", "appearance.calibration=fixed"]
    cfg = load_config(overrides=[*overrides, f"association.reid_around_view={str(around).lower()}"])
    tracker = Tracker(cfg, frame_rate=10)
    for k in range(12):
        x = 80.0 + 10 * k  # the last seen box: [190, 250], clipped to [190, 200]
        box = np.array([[x, 60.0, min(x + 60, WIDTH), 180.0]])
        tracker.update_detections(box, [0.9], embeddings=LOOKS[:1], frame_size=(HEIGHT, WIDTH))
    for _ in range(LOST_FRAMES):
        tracker.update_detections(np.zeros((0, 4)), np.zeros(0), frame_size=(HEIGHT, WIDTH))
    entering = np.array([[0.0, 60.0, 45.0, 180.0]] if side == "left" else [[WIDTH - 45.0, 60.0, WIDTH, 180.0]])
    shown = tracker.update_detections(entering, [0.9], embeddings=look[None], frame_size=(HEIGHT, WIDTH))
    return [o.track_id for o in shown]


def test_a_look_alike_walking_in_by_the_other_side_does_not_take_the_id():
    assert _leave_right_then_enter("left", LOOKS[1], around=True) == []  # a new, still tentative track
    assert _leave_right_then_enter("left", LOOKS[1], around=False) == [1]  # before: revived straight across


def test_the_person_coming_back_by_the_side_they_left_is_revived():
    assert _leave_right_then_enter("right", LOOKS[0], around=True) == [1]


def test_the_distance_round_the_view_only_between_opposite_side_borders():
    """Track boxes cut by the right border, the left one, and whole mid-view; detections cut by the left border,
    the right one, and whole. Only the opposite-side pairs get the path through the corners above or below (here
    below: the boxes sit low), every other pair 0 (the straight line judges it)."""
    tracks = xyxy_to_xywh(np.array([[180.0, 100, 200, 220], [0.0, 100, 20, 220], [80.0, 100, 120, 220]]))
    dets = xyxy_to_xywh(np.array([[0.0, 100, 30, 220], [170.0, 100, 200, 220], [80.0, 100, 120, 220]]))
    got = around_view_distance(tracks, dets, (HEIGHT, WIDTH))
    below = np.hypot(10.0, 80.0) + WIDTH + np.hypot(15.0, 80.0)  # (190, 160) -> (200, 240) -> (0, 240) -> (15, 160)
    np.testing.assert_allclose(got[0], [below, 0.0, 0.0])
    np.testing.assert_allclose(got[1], [0.0, np.hypot(10.0, 80.0) + WIDTH + np.hypot(15.0, 80.0), 0.0])
    np.testing.assert_array_equal(got[2], [0.0, 0.0, 0.0])


def test_default_on():
    assert load_config().association.reid_around_view is True
