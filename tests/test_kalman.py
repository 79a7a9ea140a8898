"""The batched Kalman filter's closed forms agree with the textbook matrix products."""

from __future__ import annotations

import numpy as np

from tracker.config import MotionConfig
from tracker.kalman import KalmanFilter


def _random_state(t: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    mean = np.concatenate([rng.uniform(50, 500, (t, 4)), rng.normal(size=(t, 4))], axis=1)
    root = rng.normal(size=(t, 8, 8))
    return mean, root @ root.transpose(0, 2, 1) + np.eye(8)


def test_predict_equals_f_p_ft_plus_q():
    kf = KalmanFilter(MotionConfig())
    mean, cov = _random_state(7)
    f = np.eye(8)
    f[:4, 4:] = np.eye(4)
    wh = mean[:, 2:4]
    scale = np.concatenate([wh, wh], axis=1)
    q = np.concatenate([kf.config.std_position * scale, kf.config.std_velocity * scale], axis=1) ** 2
    new_mean, new_cov = kf.predict(mean, cov)
    np.testing.assert_allclose(new_mean, mean @ f.T)
    np.testing.assert_allclose(new_cov, f @ cov @ f.T + np.stack([np.diag(v) for v in q]), rtol=1e-12)
    np.testing.assert_array_equal(cov, _random_state(7)[1])  # inputs untouched


def test_project_adds_measurement_noise_to_the_position_block_only():
    kf = KalmanFilter(MotionConfig())
    mean, cov = _random_state(3, seed=1)
    projected, s = kf.project(mean, cov)
    wh = mean[:, 2:4]
    r = (kf.config.std_position * np.concatenate([wh, wh], axis=1)) ** 2
    np.testing.assert_allclose(s, cov[:, :4, :4] + np.stack([np.diag(v) for v in r]))
    np.testing.assert_array_equal(projected, mean[:, :4])
    np.testing.assert_array_equal(cov, _random_state(3, seed=1)[1])
