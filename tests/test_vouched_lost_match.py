"""`association.vouched_lost_match`: a lost track whose Kalman gate holds a detection it overlaps by `clear_iou` is
taken back in stage 1 at the match bound, not at the bound that rises with the time lost (issue 13, PETS09 jump: a
person the camera's jump took out of view for a second comes back where the compensated prediction says)."""

from __future__ import annotations

import numpy as np

from tracker import Tracker, load_config
from tracker.testing import Walker, noise_for_similarity, reid_like_identities, render

FPS = 7  # PETS09's rate: a second out of view is 7 frames
DIM = 128
HIDDEN = (10, 17)  # frames while the person is out of view
RAMPED_BOUND = 0.8  # the lost track's stage 1 bound after a second lost (stands for a calibrated revival ramp)


def _return(rule: bool, same: float = 0.6) -> dict[int, list[tuple[int, bool]]]:
    """One person walking at 6 px/frame, seen clear (looks ~0.95 alike), out of view on frames `HIDDEN`, back on
    their path with a look ~`same` like the bank (above the 0.55 match bound, below `RAMPED_BOUND`).
    Returns {frame: [(track ID, recovered)]}."""
    walker = Walker(0, lambda f: (100 + 6.0 * f, 300.0), visible=lambda f: not HIDDEN[0] <= f < HIDDEN[1])
    cfg = load_config(None, overrides=["device=cpu", f"association.vouched_lost_match={str(rule).lower()}"])
    tracker = Tracker(cfg, frame_rate=FPS)
    tracker.core.calibration.lost_match_bound = lambda seconds, *_: np.full(np.shape(seconds), RAMPED_BOUND)
    identities = reid_like_identities(1, DIM)
    rng = np.random.default_rng(0)
    out = {}
    for f in range(HIDDEN[1] + 3):
        det = render([walker], f, identities, noise_for_similarity(0.95 if f < HIDDEN[0] else same, DIM), rng)
        objects = tracker.update_detections(det.boxes_xyxy, det.scores, embeddings=det.embeddings)
        out[f] = [(o.track_id, o.recovered) for o in objects]
    return out


def test_a_lost_track_its_motion_vouches_for_comes_back_at_the_match_bound():
    out = _return(rule=True)
    assert out[HIDDEN[0] - 1] == [(1, False)]
    assert out[HIDDEN[1]] == [(1, True)], "back on its first frame in view, under its own ID"


def test_without_the_rule_the_ramped_bound_refuses_the_first_frame_back():
    """The scene tests the rule: off, the look under the ramped bound is refused in stage 1 on the first frame back."""
    out = _return(rule=False)
    assert out[HIDDEN[1]] == []
    assert out[HIDDEN[1] + 1] == [(1, True)]


def test_a_detection_the_prediction_barely_overlaps_still_needs_the_ramped_bound():
    """Overlap below `clear_iou` (the person back 40 px off the prediction of a 50 px wide box): motion does not
    vouch, and the ramped bound stands."""
    walker = Walker(0, lambda f: (100 + 6.0 * f + (40.0 if f >= HIDDEN[1] else 0.0), 300.0))
    walker.visible = lambda f: not HIDDEN[0] <= f < HIDDEN[1]
    cfg = load_config(None, overrides=["device=cpu", "association.vouched_lost_match=true"])
    tracker = Tracker(cfg, frame_rate=FPS)
    tracker.core.calibration.lost_match_bound = lambda seconds, *_: np.full(np.shape(seconds), RAMPED_BOUND)
    identities = reid_like_identities(1, DIM)
    rng = np.random.default_rng(0)
    for f in range(HIDDEN[1] + 1):
        det = render([walker], f, identities, noise_for_similarity(0.95 if f < HIDDEN[0] else 0.6, DIM), rng)
        objects = tracker.update_detections(det.boxes_xyxy, det.scores, embeddings=det.embeddings)
    assert [o.track_id for o in objects] != [1]
