"""The reported box's width is a smoothed aspect times the Kalman height (`motion.report_aspect_filter`): a
detector whose box widths jitter is reported with widths nearer the person's, association does not change (the same
detections go to the same IDs), and a person walking in cut by a side border is reported at the Kalman width until a
whole box of them measures their aspect."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest

from tracker import Tracker, load_config
from tracker.config import TrackerConfig
from tracker.report_aspect import first_aspect, reported_xywh, update_aspect
from tracker.track import TrackTable

FPS = 25
FRAME = (480, 640)  # (height, width) pixels
WIDTH_NOISE_PX = 4.0  # std of a detector's box width (yolov8n's widths are ~5-8x the model's noise)
EDGE_NOISE_PX = 0.5  # std of the other box coordinates


def config(*overrides: str) -> TrackerConfig:
    return load_config(None, overrides=["device=cpu", "appearance.enabled=false", *overrides])


def walkers(frame: int) -> np.ndarray:
    """(3, 4) xywh true boxes of three people walking apart, 40 x 100 px."""
    return np.array(
        [
            [100.0 + 2.0 * frame, 150.0, 40.0, 100.0],
            [500.0 - 2.0 * frame, 300.0, 40.0, 100.0],
            [320.0, 100.0 + 1.0 * frame, 40.0, 100.0],
        ]
    )


def xyxy(xywh: np.ndarray) -> np.ndarray:
    return np.c_[xywh[:, :2] - xywh[:, 2:] / 2, xywh[:, :2] + xywh[:, 2:] / 2]


def run(boxes_of, frames: int, *overrides: str, seed: int = 5) -> list[dict[int, tuple[int, np.ndarray]]]:
    """Per frame: detection row -> (track ID, reported xyxy box)."""
    tracker = Tracker(config(*overrides), frame_rate=FPS)
    rng = np.random.default_rng(seed)
    out = []
    for f in range(frames):
        boxes = boxes_of(f, rng)
        shown = tracker.update_detections(boxes, np.full(len(boxes), 0.8), frame_size=FRAME)
        out.append({o.detection_index: (o.track_id, np.asarray(o.xyxy, dtype=float)) for o in shown})
    return out


def noisy_walkers(frame: int, rng: np.random.Generator) -> np.ndarray:
    true = walkers(frame)
    noisy = true + rng.normal(scale=EDGE_NOISE_PX, size=true.shape)
    noisy[:, 2] = true[:, 2] + rng.normal(scale=WIDTH_NOISE_PX, size=len(true))
    return xyxy(noisy)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_jittering_widths_are_reported_nearer_the_persons_and_association_does_not_change(seed):
    frames = 80
    on = run(noisy_walkers, frames, seed=seed)
    off = run(noisy_walkers, frames, "motion.report_aspect_filter=false", seed=seed)
    assert [{row: tid for row, (tid, _) in f.items()} for f in on] == [
        {row: tid for row, (tid, _) in f.items()} for f in off
    ], "the filter changed which detection went to which ID"

    def width_error(result) -> float:
        errors = [
            box[2] - box[0] - walkers(f)[row, 2] for f in range(20, frames) for row, (_, box) in result[f].items()
        ]
        return float(np.sqrt(np.mean(np.square(errors))))

    assert width_error(on) < 0.8 * width_error(off), (width_error(on), width_error(off))


def entering(frame: int, rng: np.random.Generator) -> np.ndarray:
    """(1, 4) xyxy: a 40 x 100 px person walking in by the right border at 3 px a frame (cut for ~13 frames)."""
    left = FRAME[1] - 3.0 * (frame + 1)
    box = np.array([[left, 200.0, min(left + 40.0, FRAME[1]), 300.0]])
    return box + rng.normal(scale=EDGE_NOISE_PX, size=box.shape) * [1, 1, 0, 1]


def test_a_person_walking_in_cut_by_a_border_is_not_reported_at_a_cut_boxs_aspect():
    frames = 40
    on = run(entering, frames)
    off = run(entering, frames, "motion.report_aspect_filter=false")
    cut_frames = [f for f in range(frames) if entering(f, np.random.default_rng(0))[0, 2] >= FRAME[1] - 1]
    reported = [f for f in cut_frames if on[f]]
    assert reported, "the person is reported while cut"
    for f in reported:  # no whole box yet: the Kalman width, as without the filter
        np.testing.assert_allclose(on[f][0][1], off[f][0][1])
    widths = [on[f][0][1][2] - on[f][0][1][0] for f in range(frames - 10, frames)]
    np.testing.assert_allclose(widths, 40.0, atol=3.0)


def test_exact_boxes_std_position_0_are_reported_as_measured_without_a_numpy_warning():
    """`motion.std_position` 0 (allowed: the detector's boxes taken as exact) gives the aspect filter a measurement
    without noise and, with no process noise either, a prior of 0: the filter takes each box as it is (no 0 / 0, no
    NaN aspect, no RuntimeWarning from numpy), so the aspect width is the detected width."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = run(noisy_walkers, 30, "motion.std_position=0", "motion.report_aspect_weighting=false")
    assert [sorted(f) for f in result] == [[0, 1, 2]] * 30, "each walker reported on each frame (the widths below)"
    rng = np.random.default_rng(5)
    for f in range(30):
        detected = noisy_walkers(f, rng)
        for row, (_, box) in result[f].items():
            assert box[2] - box[0] == pytest.approx(detected[row, 2] - detected[row, 0], abs=1e-6), (f, row)


def test_the_aspect_filter_starts_at_a_whole_box_and_its_gain_grows_with_the_frames_between_updates():
    boxes = np.array([[0.0, 0.0, 40.0, 100.0], [0.0, 0.0, 10.0, 100.0]])
    aspect, var = first_aspect(boxes, 0.05, whole=np.array([True, False]))
    np.testing.assert_allclose(aspect[0], 0.4)
    assert np.isnan(aspect[1]) and np.isinf(var[1])
    # a track with no measured aspect takes its first whole box's, with that measurement's variance
    measured = np.array([[0.0, 0.0, 44.0, 100.0], [0.0, 0.0, 36.0, 100.0]])
    new, new_var = update_aspect(aspect, var, measured, np.array([1, 1]), 0.5, 0.05, 1.0)
    np.testing.assert_allclose(new[1], 0.36)
    np.testing.assert_allclose(new_var[1], (0.05 * 0.36) ** 2)
    assert 0.4 < new[0] < 0.44
    later, _ = update_aspect(aspect, var, measured, np.array([5, 5]), 0.5, 0.05, 1.0)
    assert new[0] < later[0] < 0.44, "a longer gap trusts the new box more"
    noisier, _ = update_aspect(aspect, var, measured, np.array([1, 1]), 0.5, 0.05, 1.0, width_noise=6.0)
    assert 0.4 < noisier[0] < new[0], "a measured noisier width trusts the new box less"
    kalman = np.array([[10.0, 20.0, 50.0, 100.0], [10.0, 20.0, 50.0, 100.0]])
    np.testing.assert_allclose(reported_xywh(kalman, np.array([0.4, np.nan])), [[10, 20, 40, 100], [10, 20, 50, 100]])


def test_a_table_pickled_before_the_aspect_columns_reports_its_last_observed_aspect():
    """A track a whole box measured has its last observed box's aspect; one only cut boxes measured has none."""
    table = TrackTable()
    table.add(
        np.array([0, 1]),
        np.array([0, 0]),
        np.array([0.9, 0.9]),
        np.array([[50.0, 50.0, 30.0, 100.0], [5.0, 50.0, 10.0, 100.0]]),
        np.array([0, 1]),
        [None, None],
        1,
        0.0,
    )
    table.width_seen[:] = [True, False]  # the second is born cut by the left border (as the core sets it)
    state = table.__dict__.copy()
    del state["aspect"], state["aspect_var"]
    restored = TrackTable.__new__(TrackTable)
    restored.__setstate__(pickle.loads(pickle.dumps(state)))
    np.testing.assert_allclose(restored.aspect, [0.3, np.nan])
    assert np.isinf(restored.aspect_var).all()


def _old_checkpoint(tracker: Tracker) -> Tracker:
    """`tracker` as a checkpoint of main bad25d6 holds it: no aspect columns, no report weight."""
    state = pickle.loads(pickle.dumps(tracker))
    table, core = state.core.table.__dict__.copy(), state.core.__dict__.copy()
    del table["aspect"], table["aspect_var"], core["report_weight"]
    core["table"] = TrackTable.__new__(TrackTable)
    core["table"].__setstate__(table)
    state.core.__dict__.clear()
    state.core.__setstate__(core)
    return state


def test_a_track_born_cut_resumed_from_a_checkpoint_before_the_aspect_has_none_until_a_whole_box():
    """A person walking in by the right border is cut when a checkpoint of main bad25d6 (before the aspect columns)
    is taken. Resumed, their track has no aspect (a cut box measures a part of the person), as in a run of this
    version, so the weight measured from the frames after the resume pools no pair against a cut box's aspect:
    it is the weight a run of this version measures from the same frames."""
    frames, stop = 120, 5
    tracker, rng = Tracker(config(), frame_rate=FPS), np.random.default_rng(7)
    boxes = [entering(f, rng) for f in range(frames)]
    for box in boxes:  # jittering widths, the box cut by the right border while it reaches it
        box[0, 2] = min(box[0, 0] + 40.0 + rng.normal(scale=WIDTH_NOISE_PX), FRAME[1])
    for f in range(stop):
        tracker.update_detections(boxes[f], [0.8], frame_size=FRAME)
    assert not tracker.core.table.width_seen.any(), "the person is cut at the checkpoint"
    resumed, reference = _old_checkpoint(tracker), pickle.loads(pickle.dumps(tracker))
    assert np.isnan(resumed.core.table.aspect).all()
    reference.core.report_weight.reset()  # what the resumed run does not know: the weight before the checkpoint
    for f in range(stop, frames):
        resumed.update_detections(boxes[f], [0.8], frame_size=FRAME)
        reference.update_detections(boxes[f], [0.8], frame_size=FRAME)
    assert resumed.core.report_weight.pairs > resumed.core.report_weight.min_pairs
    assert resumed.core.report_weight.summary() == pytest.approx(reference.core.report_weight.summary())


def leaving(frame: int, rng: np.random.Generator) -> np.ndarray:
    """(1, 4) xyxy: a 40 x 100 px person walking out by the right border at 3 px a frame, their detected width
    jittering (whole until frame ~26, then cut by the border)."""
    left = 520.0 + 3.0 * frame
    width = 40.0 + rng.normal(scale=WIDTH_NOISE_PX)
    box = np.array([[left, 200.0, min(left + width, FRAME[1]), 300.0]])
    return box + rng.normal(scale=EDGE_NOISE_PX, size=box.shape) * [1, 1, 0, 1]


def test_a_person_walking_out_by_a_border_is_reported_in_the_same_frames_and_boxes_once_cut():
    """What is in view is judged on the Kalman box, and a box a side border cuts is reported at its Kalman width
    (its inner edge is the measured one): the person leaves the report in the same frame, with the same boxes."""
    frames = 40
    on = run(leaving, frames)
    off = run(leaving, frames, "motion.report_aspect_filter=false")
    assert [bool(f) for f in on] == [bool(f) for f in off]
    cut = [f for f in range(frames) if on[f] and on[f][0][1][2] >= FRAME[1] - 1]
    assert len(cut) >= 3, "the person is reported while the border cuts them"
    for f in cut:
        np.testing.assert_allclose(on[f][0][1], off[f][0][1])


def turn(frame: int) -> np.ndarray:
    """(3,) true widths of the three walkers: people turning, 40 +- 14 px over a 4 s cycle."""
    return 40.0 + 14.0 * np.sin(2.0 * np.pi * (frame / (4 * FPS) + np.array([0.0, 0.3, 0.6])))


def turning_walkers(frame: int, rng: np.random.Generator, width_noise_px: float) -> np.ndarray:
    true = walkers(frame)
    true[:, 2] = turn(frame)
    noisy = true + rng.normal(scale=EDGE_NOISE_PX, size=true.shape)
    noisy[:, 2] = true[:, 2] + rng.normal(scale=width_noise_px, size=len(true))
    return xyxy(noisy)


@pytest.mark.parametrize("seed", [1, 2])
def test_accurate_widths_of_people_turning_are_reported_as_measured_and_noisy_ones_smoothed(seed):
    """The weight measured per video (`motion.report_aspect_weighting`): accurate widths of people turning (a
    detector like MOT17's FRCNN) are reported at the Kalman width, not at the smoothed aspect that lags them; the
    same people with 4 px of white width noise are reported nearer their widths than either estimate alone gives."""
    frames = 150

    def width_error(width_noise_px: float, *overrides: str) -> float:
        result = run(lambda f, rng: turning_walkers(f, rng, width_noise_px), frames, *overrides, seed=seed)
        errors = [box[2] - box[0] - turn(f)[row] for f in range(40, frames) for row, (_, box) in result[f].items()]
        return float(np.sqrt(np.mean(np.square(errors))))

    accurate, accurate_aspect = width_error(0.2), width_error(0.2, "motion.report_aspect_weighting=false")
    accurate_kalman = width_error(0.2, "motion.report_aspect_filter=false")
    assert accurate < 0.5 * accurate_aspect, (accurate, accurate_aspect)
    assert accurate == pytest.approx(accurate_kalman, rel=0.05), "accurate widths: the Kalman width"
    # 4 px of white width noise on people turning: the measured blend is nearer the truth than either estimate
    noisy, noisy_kalman = width_error(WIDTH_NOISE_PX), width_error(WIDTH_NOISE_PX, "motion.report_aspect_filter=false")
    noisy_aspect = width_error(WIDTH_NOISE_PX, "motion.report_aspect_weighting=false")
    assert noisy < min(noisy_kalman, noisy_aspect), (noisy, noisy_kalman, noisy_aspect)
