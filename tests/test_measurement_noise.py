"""The measurement noise measured from the Kalman innovations (covariance matching, `tracker.measurement_noise`)."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from tracker import Tracker, load_config
from tracker.config import MotionConfig
from tracker.kalman import KalmanFilter
from tracker.measurement_noise import MeasurementNoise

MODEL_STD = MotionConfig().std_position
# The synthetic walkers: (x0, y0, vx) in pixels and pixels per frame; every box is 40 x 100 px.
WALKERS = ((100.0, 150.0, 2.0), (600.0, 350.0, -1.5), (300.0, 250.0, 1.0))
SIZE = np.array([40.0, 100.0])
WARM_UP = 30  # frames before boxes are scored (tracks confirmed, the noise measured)


def _pooled(
    noise: MeasurementNoise,
    true_std: np.ndarray,
    steps: int,
    tracks: int = 20,
    correlation: np.ndarray | float = 0.0,
    seed: int = 0,
) -> None:
    """Feed `steps` frames of `tracks` updates whose innovations have variance prior + (true_std * scale)^2 and lag-1
    autocorrelation `correlation` (per coordinate; an AR(1) sequence per track)."""
    rng = np.random.default_rng(seed)
    scale = rng.uniform(20.0, 200.0, size=(tracks, 1)) * np.array([0.4, 1.0, 0.4, 1.0])
    prior = (rng.uniform(0.02, 0.15, size=(tracks, 4)) * scale) ** 2
    std = np.sqrt(prior + (true_std * scale) ** 2)
    phi = np.broadcast_to(np.asarray(correlation, dtype=float), (4,))
    unit = rng.standard_normal((tracks, 4))
    previous = np.full((tracks, 4), np.nan)
    for _ in range(steps):
        unit = phi * unit + np.sqrt(1.0 - phi**2) * rng.standard_normal((tracks, 4))
        innovation = unit * std
        variance = prior + (MODEL_STD * scale) ** 2 * noise.factor
        previous = noise.observe(innovation, variance, prior, scale, previous)


def test_covariance_matching_recovers_a_noisier_size_and_keeps_the_model_elsewhere():
    noise = MeasurementNoise(MotionConfig())
    true_std = np.array([0.02, 0.05, 0.2, 0.01])  # x and h calmer than the model, w four times noisier
    _pooled(noise, true_std, 1000)
    assert noise.white.all()
    assert noise.factor[2] == pytest.approx((0.2 / MODEL_STD) ** 2, rel=0.1)
    assert noise.factor[[0, 1, 3]] == pytest.approx([1.0, 1.0, 1.0], abs=0.15)
    assert noise.factor.min() >= 1.0  # never below the model


def test_centre_coordinates_keep_the_model_however_noisy():
    noise = MeasurementNoise(MotionConfig())
    _pooled(noise, np.array([0.3, 0.3, 0.02, 0.02]), 1000)  # white, but the camera's tremor looks the same
    assert noise.white.all()
    assert np.array_equal(noise.factor, np.ones(4))


def test_excess_that_persists_from_frame_to_frame_is_motion_not_measurement_noise():
    white = MeasurementNoise(MotionConfig())
    _pooled(white, np.full(4, 0.2), 1000)
    persistent = MeasurementNoise(MotionConfig())
    _pooled(persistent, np.full(4, 0.2), 1000, correlation=np.array([0.0, 0.0, 0.3, 0.0]))
    assert persistent.autocorrelation[2] == pytest.approx(0.3, abs=0.05)
    assert not persistent.white[2] and persistent.white[3]
    assert persistent.factor[2] == 1.0  # the width's excess is left to the motion model
    assert persistent.factor[3] == pytest.approx(white.factor[3], rel=0.1) and white.factor[2] > 10


def test_the_model_holds_until_enough_updates_and_when_off_and_after_reset():
    noise = MeasurementNoise(MotionConfig(noise_min_updates=1000))
    _pooled(noise, np.full(4, 0.3), 41, tracks=24)  # 984 updates
    assert np.array_equal(noise.factor, np.ones(4))
    _pooled(noise, np.full(4, 0.3), 1, tracks=24, seed=1)
    assert (noise.factor[2:] > 10).all()
    noise.reset()
    assert noise.count == 0 and noise.pairs == 0 and np.array_equal(noise.factor, np.ones(4))
    off = MeasurementNoise(MotionConfig(adaptive_measurement_noise=False))
    _pooled(off, np.full(4, 0.3), 100)
    assert np.array_equal(off.factor, np.ones(4))
    zero_model = MeasurementNoise(MotionConfig(std_position=0.0))
    _pooled(zero_model, np.full(4, 0.3), 100)
    assert np.array_equal(zero_model.factor, np.ones(4))


def test_the_kalman_filter_scales_only_the_measurement_noise_per_coordinate_and_returns_innovations():
    kf = KalmanFilter(MotionConfig())
    mean, cov = kf.initiate(np.array([[100.0, 200.0, 40.0, 100.0]]))
    factor = np.array([1.0, 2.0, 9.0, 1.0])
    _, s_model = kf.project(mean, cov)
    _, s_scaled = kf.project(mean, cov, noise=factor)
    r_model = (MODEL_STD * np.array([40.0, 100.0, 40.0, 100.0])) ** 2
    assert np.allclose(np.diagonal(s_scaled - s_model, axis1=1, axis2=2)[0], r_model * (factor - 1.0))
    measured = np.array([[103.0, 198.0, 50.0, 101.0]])
    expected_variance = np.diagonal(s_scaled, axis1=1, axis2=2).copy()
    innovation, variance = kf.update_in_place(mean, cov, measured, noise=factor)
    assert np.allclose(innovation, [[3.0, -2.0, 10.0, 1.0]])
    assert np.allclose(variance, expected_variance)


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    inter = np.clip(np.minimum(a[2:], b[2:]) - np.maximum(a[:2], b[:2]), 0.0, None).prod()
    return float(inter / ((a[2:] - a[:2]).prod() + (b[2:] - b[:2]).prod() - inter))


def _walk(adaptive: bool, width_jitter: float, seed: int, fps: float = 25.0, frames: int = 150):
    """Three people walking; the detector's box width jitters by `width_jitter` of the width (a walking person's
    box follows the legs), its centre and height by 1-2 %. Returns the reported boxes' IoU with the true boxes
    after the warm-up, all reported boxes in order, and the final noise factors."""
    overrides = ["appearance.enabled=false", "device=cpu", f"motion.adaptive_measurement_noise={str(adaptive).lower()}"]
    tracker = Tracker(load_config(None, overrides=overrides), frame_rate=fps)
    rng = np.random.default_rng(seed)
    ious, boxes = [], []
    for f in range(frames):
        truth, dets = [], []
        for k, (x0, y0, vx) in enumerate(WALKERS):
            centre = np.array([x0 + vx * f, y0 + 0.3 * f * (k - 1)])
            truth.append(np.concatenate([centre - SIZE / 2, centre + SIZE / 2]))
            size = SIZE * (1.0 + np.array([width_jitter, 0.01]) * rng.standard_normal(2))
            seen = centre + np.array([0.02, 0.01]) * SIZE * rng.standard_normal(2)
            dets.append(np.concatenate([seen - size / 2, seen + size / 2]))
        out = tracker.update_detections(np.array(dets), np.full(len(dets), 0.9))
        boxes.extend(o.xyxy for o in out)
        if f >= WARM_UP:
            ious.extend(_iou(o.xyxy, truth[o.detection_index]) for o in out)
    return np.array(ious), np.array(boxes), tracker.core.measurement_noise.factor


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_boxes_whose_width_jitters_more_than_the_model_are_reported_closer_to_the_truth(seed):
    on, _, factor = _walk(adaptive=True, width_jitter=0.2, seed=seed)
    off, _, _ = _walk(adaptive=False, width_jitter=0.2, seed=seed)
    assert len(on) == len(off) == len(WALKERS) * (150 - WARM_UP)  # every person reported on every frame
    assert factor[2] == pytest.approx((0.2 / MODEL_STD) ** 2, rel=0.35)  # the width's noise measured
    assert on.mean() >= off.mean() + 0.02  # measured ~0.915 against ~0.88
    assert np.median(on) > np.median(off)


def test_a_detector_calmer_than_the_model_changes_nothing():
    _, on, factor = _walk(adaptive=True, width_jitter=0.01, seed=0)
    _, off, _ = _walk(adaptive=False, width_jitter=0.01, seed=0)
    assert np.array_equal(factor, np.ones(4))
    assert np.array_equal(on, off)


def test_the_measured_noise_survives_a_checkpoint_and_a_reset_forgets_it():
    overrides = ["appearance.enabled=false", "device=cpu"]
    tracker = Tracker(load_config(None, overrides=overrides), frame_rate=25.0)
    rng = np.random.default_rng(0)
    for f in range(60):
        w = 40.0 * (1.0 + 0.3 * rng.standard_normal())
        tracker.update_detections(np.array([[100.0 + f - w / 2, 100.0, 100.0 + f + w / 2, 200.0]]), np.array([0.9]))
    measured = tracker.core.measurement_noise.factor.copy()
    assert measured[2] > 1.0
    restored = pickle.loads(pickle.dumps(tracker.core))
    assert np.array_equal(restored.measurement_noise.factor, measured)
    tracker.core.reset()
    assert np.array_equal(tracker.core.measurement_noise.factor, np.ones(4))


def test_a_noise_estimate_pickled_without_its_value_lists_resumes_and_keeps_estimating():
    """A checkpoint of int24 69edf1c holds no `_white_list` / `_factor_list`: restored, it goes on as one never
    pickled does (the same factor after the same updates)."""
    rng = np.random.default_rng(5)
    batches = [
        (rng.normal(0.0, 3.0, (20, 4)), np.full((20, 4), 4.0), np.full((20, 4), 1.0), np.full((20, 4), 50.0))
        for _ in range(6)
    ]
    config = load_config(None).motion
    kept, resumed = MeasurementNoise(config), None
    previous = np.full((20, 4), np.nan)
    for i, (innovation, variance, prior, scale) in enumerate(batches):
        if i == 3:
            state = {k: v for k, v in kept.__dict__.items() if k not in ("_white_list", "_factor_list")}
            resumed = MeasurementNoise.__new__(MeasurementNoise)
            resumed.__setstate__(pickle.loads(pickle.dumps(state)))
        if resumed is not None:
            resumed.observe(innovation, variance, prior, scale, previous)
        previous = kept.observe(innovation, variance, prior, scale, previous)
    assert kept.factor[2] > 1.0  # the test raises the noise: the lists matter
    np.testing.assert_array_equal(resumed.factor, kept.factor)
    assert resumed.applied is not None


def _jittery_source_summary(run, width_jitter: float, overrides: tuple[str, ...] = ()):
    """`track`'s run (the `track_boxes_video` fixture) over the three walkers (boxes' width jittering by
    `width_jitter`), its summary and summary.json."""
    rng = np.random.default_rng(0)

    def boxes_at(f: int) -> np.ndarray:
        boxes = []
        for k, (x0, y0, vx) in enumerate(WALKERS):
            centre = np.array([x0 + vx * f, y0 + 0.3 * f * (k - 1)])
            size = SIZE * (1.0 + np.array([width_jitter, 0.01]) * rng.standard_normal(2))
            boxes.append(np.concatenate([centre - size / 2, centre + size / 2]))
        return np.array(boxes)

    return run(boxes_at, 150, 25.0, *overrides)


def test_the_run_summary_reports_the_measured_box_noise(track_boxes_video):
    """`track`'s summary (printed and in summary.json) says how noisy the detector's box sizes were measured to be:
    a width jittering by 20 % is ~(0.2 / std_position)^2 times the model's variance; the height keeps the model."""
    summary, saved = _jittery_source_summary(track_boxes_video, width_jitter=0.2)
    noise = summary.measurement_noise
    assert noise["updates"] > 300 and noise["white_w"] == 1.0, noise
    assert noise["factor_w"] == pytest.approx((0.2 / MODEL_STD) ** 2, rel=0.35) and noise["factor_h"] == 1.0
    assert saved["measurement_noise"] == pytest.approx(noise, nan_ok=True)
    line = next(x for x in summary.describe().splitlines() if x.startswith("box size noise"))
    width = f"width x{noise['factor_w'] ** 0.5:.2f}"  # the jitter's standard deviation: ~0.2 / std_position
    assert (
        line == f"box size noise (standard deviation against the model's, {noise['updates']} updates): {width}, "
        "height x1.00"
    )


def test_the_run_summary_says_nothing_of_box_noise_when_the_rule_is_off(track_boxes_video):
    summary, saved = _jittery_source_summary(track_boxes_video, 0.2, ("motion.adaptive_measurement_noise=false",))
    assert summary.measurement_noise == {} and "measurement_noise" not in saved
    assert "box size noise" not in summary.describe()


def test_the_box_noise_of_several_sources_is_each_reported_and_a_short_one_says_so():
    from tracker import run_summary

    measured = {"updates": 400, "min_updates": 50, "pairs": 390, "white_w": 1.0, "factor_w": 5.2, "white_h": 0.0,
                "factor_h": 1.0}  # fmt: skip
    short = {**measured, "updates": 12, "pairs": 9, "factor_w": 1.0}
    first = run_summary.RunSummary(name="first", measurement_noise=measured)
    second = run_summary.RunSummary(name="second", measurement_noise=short)
    total = run_summary.combine([first, second])
    lines = [x for x in total.describe().splitlines() if x.startswith("box size noise")]
    assert lines == [
        "box size noise of first (standard deviation against the model's, 400 updates): width x2.28, height as "
        "modelled (its excess is motion: correlated frame to frame)",
        "box size noise of second: the model's (too few updates to measure: 12)",
    ]
    assert total.to_json()["measurement_noise_per_source"] == {"first": measured, "second": short}


def test_a_zero_model_noise_is_never_raised_but_its_whiteness_is_still_reported():
    """`motion.std_position=0`: no scale to raise, so the factors stay 1, but the whiteness test is made: white
    innovations were reported as not white (`white` all 0 in summary.json, "as modelled" in the summary)."""
    from tracker import run_summary

    noise = MeasurementNoise(MotionConfig(std_position=0.0))
    _pooled(noise, np.array([0.02, 0.05, 0.2, 0.01]), 1000)
    assert noise.white.all() and np.array_equal(noise.factor, np.ones(4)) and noise.applied is None
    line = run_summary._describe_noise(noise.summary())
    assert line.endswith(": width x1.00, height x1.00") and "as modelled" not in line, line


def test_whiteness_is_null_in_summary_json_until_the_test_has_run(track_boxes_video):
    """Before `motion.noise_min_updates` updates are pooled the whiteness test has not run: summary.json said
    `white_*: 0.0` (as if the innovations had failed it); now `null`, beside the autocorrelations measured so far."""
    summary, saved = _jittery_source_summary(track_boxes_video, 0.2, ("motion.noise_min_updates=100000",))
    noise = saved["measurement_noise"]
    assert noise["updates"] < noise["min_updates"] and noise["pairs"] > 0, noise
    assert [noise[f"white_{c}"] for c in "xywh"] == [None] * 4, noise
    assert all(isinstance(noise[f"autocorrelation_{c}"], float) for c in "xywh") and noise["factor_w"] == 1.0
    line = next(x for x in summary.describe().splitlines() if x.startswith("box size noise"))
    assert line == f"box size noise: the model's (too few updates to measure: {noise['updates']})"
