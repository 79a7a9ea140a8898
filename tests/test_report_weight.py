"""The reported width's weight between the Kalman width and the smoothed-aspect width (`tracker.report_weight`):
the least-squares weight of the two estimates against the next frame's box, pooled over a video's tracks; 0 (the
Kalman width) until `min_pairs` pairs are pooled."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from tracker.report_weight import ReportWeight


def _pairs(rng: np.random.Generator, n: int, kalman_sd: float, aspect_sd: float) -> tuple[np.ndarray, ...]:
    """n measured widths around 50 px and two estimates of them with independent errors of the given sds (px)."""
    measured = 50.0 + rng.normal(scale=5.0, size=n)
    return measured, measured + rng.normal(scale=kalman_sd, size=n), measured + rng.normal(scale=aspect_sd, size=n)


@pytest.mark.parametrize(("kalman_sd", "aspect_sd"), [(2.0, 1.0), (1.0, 2.0), (1.0, 1.0)])
def test_the_weight_is_the_least_squares_blend_of_two_estimates(kalman_sd, aspect_sd):
    rng = np.random.default_rng(0)
    weight = ReportWeight(min_pairs=50)
    for _ in range(100):
        weight.observe(*_pairs(rng, 20, kalman_sd, aspect_sd))
    expected = kalman_sd**2 / (kalman_sd**2 + aspect_sd**2)  # independent errors: inverse-variance weights
    assert weight.weight == pytest.approx(expected, abs=0.03)
    summary = weight.summary()
    assert summary["pairs"] == 2000
    assert summary["rms_blend"] <= min(summary["rms_kalman"], summary["rms_aspect"]) + 1e-12


def test_the_kalman_width_until_enough_pairs_and_the_weight_stays_between_0_and_1():
    rng = np.random.default_rng(1)
    weight = ReportWeight(min_pairs=50)
    weight.observe(*_pairs(rng, 49, 5.0, 0.1))
    assert weight.weight == 0.0, "49 pairs: not measured yet"
    weight.observe(*_pairs(rng, 1, 5.0, 0.1))
    assert 0.99 < weight.weight <= 1.0
    # the aspect width off less than the Kalman's, on the same side: least squares says 2, clipped to 1
    overshoot = ReportWeight(min_pairs=1)
    measured = np.full(10, 50.0)
    overshoot.observe(measured, measured + 2.0, measured + 1.0)
    assert overshoot.weight == 1.0
    # the aspect width off more than the Kalman's, on the same side: least squares says -0.5, clipped to 0
    undershoot = ReportWeight(min_pairs=1)
    undershoot.observe(measured, measured + 1.0, measured + 3.0)
    assert undershoot.weight == 0.0


def test_rows_without_a_smoothed_aspect_are_not_pooled_and_reset_forgets():
    weight = ReportWeight(min_pairs=1)
    measured = np.array([50.0, 50.0])
    weight.observe(measured, measured + 2.0, np.array([np.nan, 50.0]))
    assert weight.pairs == 1 and weight.weight == 1.0
    weight.observe(measured[:0], measured[:0], measured[:0])  # no rows: nothing pooled
    assert weight.pairs == 1
    restored = pickle.loads(pickle.dumps(weight))
    assert restored.weight == 1.0 and restored.pairs == 1
    weight.reset()
    assert weight.pairs == 0 and weight.weight == 0.0 and np.isnan(weight.summary()["rms_kalman"])
