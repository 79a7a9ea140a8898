"""`association.border_look_quantile`: a tracked track's pair cut by a side border needs a look near the track's
own. Traced: TUD-Campus ACF pan2, pan8 and jitter, frame 35: a person walking out through the left border was still
tracked when a person entering there, taller, inside its Kalman gate and uncontested, took its ID by motion alone
(similarity 0.61 against the track's own 0.76-0.83) and kept it to the end."""

from __future__ import annotations

import numpy as np

from tracker import Tracker, load_config
from tracker.testing import look_at_cosine, unit_vector

WIDTH, HEIGHT = 640, 480
DIM = 64


def _tracker(quantile: float) -> Tracker:
    overrides = ["lifecycle.confirm_first_frame=true", f"association.border_look_quantile={quantile}"]
    return Tracker(load_config(overrides=overrides), frame_rate=10)


def _walk_to_the_border(tracker: Tracker, person: np.ndarray, rng: np.random.Generator) -> None:
    """Person A walks left at 10 px/frame until cut by the left border (the detector's box clipped to the view:
    last seen [0, 50] of its 60 px), seen every frame with looks at cosine 0.95 to theirs."""
    for k in range(13):
        x = 110.0 - 10 * k
        box = np.array([[max(x, 0.0), 200.0, x + 60, 320.0]])
        look = look_at_cosine(person, 0.95, rng)[None]
        tracker.update_detections(box, [0.9], embeddings=look, frame_size=(HEIGHT, WIDTH))


def _ids_at_the_border(quantile: float, cosine: float, frames: int = 4) -> list[list[int]]:
    """A walks out by the left border; in the next `frames` frames one box is seen there, cut by the border, taller
    than A's and with a look at `cosine` to A's: someone entering (low cosine) or A still walking out (high).
    Returns the IDs shown in each of those frames."""
    rng = np.random.default_rng(3)
    person = unit_vector(DIM, rng)
    tracker = _tracker(quantile)
    _walk_to_the_border(tracker, person, rng)
    shown = []
    for k in range(frames):
        box = np.array([[0.0, 195.0, 45.0 + 5 * k, 330.0]])
        look = look_at_cosine(person, cosine, rng)[None]
        out = tracker.update_detections(box, [0.9], embeddings=look, frame_size=(HEIGHT, WIDTH))
        shown.append([o.track_id for o in out])
    return shown


def test_a_newcomer_at_the_border_does_not_take_the_leaving_tracks_id():
    """A look-alike (cosine 0.63: ~0.6 against A's bank, above the 0.55 stage 1 gate of a tracked track) enters
    where A walks out: it gets an ID of its own, never A's."""
    with_rule = _ids_at_the_border(0.05, 0.63)
    assert all(1 not in ids for ids in with_rule)
    assert with_rule[-1] == [2]  # confirmed under its own ID
    without = _ids_at_the_border(0.0, 0.63)
    assert without[0] == [1]  # before: motion alone handed A's ID over


def test_the_same_person_cut_by_the_border_keeps_the_id():
    assert _ids_at_the_border(0.05, 0.95) == [[1]] * 4


def test_a_cut_look_the_calibration_calls_one_person_keeps_the_id():
    """A's partial view scores below A's own whole looks (cosine 0.8: ~0.76 against the bank, under the 0.05
    quantile of A's ~0.9 positives) but above the "reid" bound (0.70 before calibration): not refused."""
    assert _ids_at_the_border(0.05, 0.8) == [[1]] * 4


def test_default():
    cfg = load_config(None).association
    assert cfg.border_look_quantile == 0.05 and cfg.border_look_min_looks == 5 and cfg.border_sliver_frames == 1


def test_own_positives_are_the_tracks_own():
    from tracker.calibration import Calibration

    calibration = Calibration(load_config(None), frame_rate=10)
    calibration.add_positives(np.array([0.9, 0.8, 0.7]), np.array([1, 2, 1]))
    calibration.add_positives(np.array([0.6]))  # untagged: no track's
    np.testing.assert_array_equal(np.sort(calibration.own_positives(1)), [0.7, 0.9])
    np.testing.assert_array_equal(calibration.own_positives(2), [0.8])
    assert len(calibration.own_positives(-1)) == 0  # a tentative track's (no ID) are none


def test_a_track_walking_in_at_the_border_is_not_judged():
    """A walks in from the left border (velocity pointing into the view), seen cut by it with whole looks; a
    cut box with a poor look (cosine 0.63) in its gate is continued by motion as before: only a person walking out
    can be replaced at the border by a newcomer (PETS09 ACF pan2, frame 42)."""
    rng = np.random.default_rng(4)
    person = unit_vector(DIM, rng)
    tracker = _tracker(0.05)
    for k in range(13):
        x = -20.0 + 2 * k  # cut by the left border throughout, drifting in
        box = np.array([[max(x, 0.0), 200.0, x + 60, 320.0]])
        tracker.update_detections(
            box, [0.9], embeddings=look_at_cosine(person, 0.95, rng)[None], frame_size=(HEIGHT, WIDTH)
        )
    box = np.array([[0.0, 195.0, 45.0, 330.0]])
    out = tracker.update_detections(
        box, [0.9], embeddings=look_at_cosine(person, 0.63, rng)[None], frame_size=(HEIGHT, WIDTH)
    )
    assert [o.track_id for o in out] == [1]


def _sliver_after_absence(missed: int, cosine: float, sliver_frames: int = 1) -> list[int]:
    """A walks out by the left border (last seen [0, 50] of its 60 px), then no box for `missed` frames, then a
    sliver 20 px wide at that border (narrower than `lost_exit_fraction` of A's width) with a look at `cosine` to
    A's. Returns the IDs shown on the sliver's frame and the next two (the sliver widening as its person walks in)."""
    rng = np.random.default_rng(5)
    person = unit_vector(DIM, rng)
    overrides = ["lifecycle.confirm_first_frame=true", f"association.border_sliver_frames={sliver_frames}"]
    tracker = Tracker(load_config(overrides=overrides), frame_rate=10)
    _walk_to_the_border(tracker, person, rng)
    for _ in range(missed):
        tracker.update_detections(
            np.zeros((0, 4)), np.zeros(0), embeddings=np.zeros((0, DIM)), frame_size=(HEIGHT, WIDTH)
        )
    shown = []
    for k in range(3):
        box = np.array([[0.0, 198.0, 20.0 + 4 * k, 322.0]])
        out = tracker.update_detections(
            box, [0.9], embeddings=look_at_cosine(person, cosine, rng)[None], frame_size=(HEIGHT, WIDTH)
        )
        shown.extend(o.track_id for o in out)
    return shown


def test_a_sliver_after_an_absence_is_judged_by_the_tracks_own_looks():
    """A sliver at the border after A was missed 3 frames is someone's look, not A's last view: a look-alike
    (cosine 0.63, above the 0.55 stage 1 gate, under the 0.05 quantile of A's own ~0.9 looks) gets its own ID
    (traced: yolov8n TUD-Campus zoom with compensation, frame 44). Before (the sliver never judged) it took A's
    for good, as it does while the absence is within `border_sliver_frames`."""
    assert _sliver_after_absence(3, 0.63) == [2, 2]
    assert _sliver_after_absence(3, 0.63, sliver_frames=1000) == [1, 1]
    assert _sliver_after_absence(3, 0.63, sliver_frames=3) == [1, 1]


def test_a_sliver_right_after_the_exit_or_of_the_same_person_continues_the_track():
    """Missed for one frame, the sliver is still A's last view: continued by motion whatever its look; after an
    absence, A's own look (cosine 0.95) takes A's ID back."""
    assert _sliver_after_absence(1, 0.63)[0] == 1
    assert _sliver_after_absence(3, 0.95) == [1, 1]
