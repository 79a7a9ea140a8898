"""Low-score (stage 2) boxes' measurement noise measured apart from the confident boxes' (`tracker.low_score_noise`)."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from tracker import Tracker, load_config
from tracker.config import MotionConfig
from tracker.low_score_noise import LowScoreNoise

MODEL_STD = MotionConfig().std_position
# The synthetic walkers: (x0, y0, vx) in pixels and pixels per frame; every box is 40 x 100 px.
WALKERS = ((100.0, 150.0, 2.0), (600.0, 350.0, -1.5), (300.0, 250.0, 1.0))
SIZE = np.array([40.0, 100.0])
WARM_UP = 60  # frames before boxes are scored (both classes' noise measured)


def _config(on: bool) -> MotionConfig:
    return MotionConfig(low_score_noise=on)


def test_the_low_score_factor_is_the_confident_one_plus_the_excess_measured_beyond_it():
    noise = LowScoreNoise(_config(True))
    n = noise.min_updates
    model = MODEL_STD**2
    scale = np.full((n, 4), 50.0)
    excess_std = np.array([0.2, 0.05, 0.1, 0.0])  # per unit scale: x noisy, y as the confident boxes, w noisier
    innovation = np.tile(excess_std * 50.0, (n, 1))  # nu^2 / scale^2 = excess_std^2 with no prior variance
    confident_excess = np.array([0.05, 0.05, 0.03, 0.0]) ** 2 * n  # summed over n confident updates
    confident_factor = np.array([1.0, 1.0, 2.5, 1.0])
    noise.observe(innovation[:-1], np.zeros((n - 1, 4)), scale[:-1])
    assert noise.factor(confident_excess, n, confident_factor) is confident_factor  # too few updates yet
    noise.observe(innovation[-1:], np.zeros((1, 4)), scale[-1:])
    factor = noise.factor(confident_excess, n, confident_factor)
    expected = confident_factor + np.maximum(excess_std**2 - confident_excess / n, 0.0) / model
    assert factor == pytest.approx(expected)
    assert factor[0] == pytest.approx(1.0 + (0.2**2 - 0.05**2) / model)  # camera-free x raised ~16x
    assert factor[1] == pytest.approx(confident_factor[1])  # as noisy as the confident boxes: their factor
    assert factor[3] == confident_factor[3]  # calmer than them: never below their factor
    assert noise.factor(confident_excess, n - 1, confident_factor) is confident_factor  # confident pool too small
    assert noise.summary()["updates"] == n
    noise.reset()
    assert noise.count == 0 and np.isnan(noise.summary()["excess_x"])


def test_off_or_without_the_measured_noise_nothing_is_pooled():
    for config in (_config(False), MotionConfig(low_score_noise=True, adaptive_measurement_noise=False)):
        noise = LowScoreNoise(config)
        noise.observe(np.ones((100, 4)), np.zeros((100, 4)), np.ones((100, 4)))
        assert noise.count == 0
        factor = np.ones(4)
        assert noise.factor(np.zeros(4), 1000, factor) is factor


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    inter = np.clip(np.minimum(a[2:], b[2:]) - np.maximum(a[:2], b[:2]), 0.0, None).prod()
    return float(inter / ((a[2:] - a[:2]).prod() + (b[2:] - b[:2]).prod() - inter))


def _walk(on: bool, seed: int, frames: int = 200, low_jitter: float = 0.08):
    """Three people walking; on every other frame the detector gives each a low-score box (0.3, stage 2) whose centre
    and size jitter by `low_jitter` of the box (a partly hidden person), on the others a confident box (0.9)
    jittering by 1-2 %. Returns the reported boxes' IoU with the true boxes after the warm-up, the tracker."""
    overrides = ["appearance.enabled=false", "device=cpu", f"motion.low_score_noise={str(on).lower()}"]
    tracker = Tracker(load_config(None, overrides=overrides), frame_rate=25.0)
    rng = np.random.default_rng(seed)
    ious = []
    for f in range(frames):
        low = f % 2 == 1 and f > 4  # the tracks are confirmed on confident boxes first
        jitter = np.full(4, low_jitter) if low else np.array([0.02, 0.01, 0.02, 0.01])
        truth, dets = [], []
        for k, (x0, y0, vx) in enumerate(WALKERS):
            centre = np.array([x0 + vx * f, y0 + 0.3 * f * (k - 1)])
            truth.append(np.concatenate([centre - SIZE / 2, centre + SIZE / 2]))
            noisy = rng.standard_normal(4) * jitter
            seen, size = centre + noisy[:2] * SIZE, SIZE * (1.0 + noisy[2:])
            dets.append(np.concatenate([seen - size / 2, seen + size / 2]))
        out = tracker.update_detections(np.array(dets), np.full(len(dets), 0.3 if low else 0.9))
        if f >= WARM_UP:
            ious.extend(_iou(o.xyxy, truth[o.detection_index]) for o in out if o.detection_index is not None)
    return np.array(ious), tracker


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_noisy_low_score_boxes_measured_apart_move_the_reported_boxes_less(seed):
    on, tracker = _walk(True, seed)
    off, _ = _walk(False, seed)
    assert len(on) >= len(off) >= 0.99 * len(WALKERS) * (200 - WARM_UP)  # every person matched on ~every frame
    measured = tracker.core.measurement_noise
    factor = tracker.core.low_score_noise.factor(measured.excess, measured.count, measured.factor)
    assert (factor > 2.5).all()  # (0.08 / 0.05)^2 = 2.6 times the model's variance, in every coordinate (~3.5)
    assert on.mean() >= off.mean() + 0.02  # measured ~0.92 against ~0.88
    assert np.median(on) > np.median(off)


def test_the_low_score_noise_survives_a_checkpoint_and_a_reset_forgets_it():
    _, tracker = _walk(True, 0, frames=120)
    count = tracker.core.low_score_noise.count
    assert count >= tracker.core.low_score_noise.min_updates
    restored = pickle.loads(pickle.dumps(tracker.core))
    assert restored.low_score_noise.count == count
    state = {k: v for k, v in tracker.core.__getstate__().items() if k != "low_score_noise"}
    older = tracker.core.__class__.__new__(tracker.core.__class__)
    older.__setstate__(state)  # a checkpoint from before the rule: measured from the frames after the resume
    assert older.low_score_noise.count == 0
    tracker.core.reset()
    assert tracker.core.low_score_noise.count == 0
