"""The measurement noise of low-score (stage 2) boxes, measured apart from the confident boxes' noise.

A low-score box is mostly a person partly hidden: its visible part moves and resizes as the occluder covers it, so
its position and size are noisier than a confident box's. Fed to the Kalman filter with the confident boxes' noise,
such boxes teach a track a velocity that is the occluder's progress, not the person's. This pools the low-score
updates' covariance-matching excess (innovation squared minus (H P^- H^T)_ii, per box scale squared, as
`tracker.measurement_noise` does for all boxes) on its own, and raises their measurement variance by what it
measures beyond the confident boxes' pooled excess, per coordinate. In every coordinate: camera motion adds the same
excess to both classes, so it cancels in the difference. No whiteness test: the low-score boxes' extra noise is
correlated by nature (an occluder covers a person over several frames), and that is what it is measured to damp.
A larger R damps a low-score update's position and velocity gain together, consistently (its covariance with them).
"""

from __future__ import annotations

import numpy as np

from tracker.config import MotionConfig
from tracker.fast_numpy import einsum

__all__ = ["LowScoreNoise"]

_NDIM = 4  # measured coordinates: cx, cy, w, h


class LowScoreNoise:
    """Running excess of low-score updates over the model, and the factor their updates get.

    Picklable (a `track` resume checkpoint holds it).
    """

    def __init__(self, config: MotionConfig) -> None:
        self.enabled = config.low_score_noise and config.adaptive_measurement_noise
        self.min_updates = config.noise_min_updates
        self.model_variance = config.std_position**2  # the model's R per unit of box scale squared
        self.reset()

    def reset(self) -> None:
        """Forget the video's updates."""
        self.count = 0
        self._excess = np.zeros(_NDIM)  # sum of (nu^2 - (H P^- H^T)_ii) / scale^2 per coordinate

    def observe(self, innovation: np.ndarray, prior_variance: np.ndarray, scale: np.ndarray) -> None:
        """Pool M low-score updates of confirmed tracks matched in the frame before: (M, 4) innovations (pixels),
        (M, 4) (H P^- H^T)_ii (pixels^2) and (M, 4) box scales (pixels), as `MeasurementNoise.observe`."""
        if not self.enabled or len(innovation) == 0:
            return
        self._excess += einsum("pi,pi->i", np.square(innovation) - prior_variance, 1.0 / np.square(scale))
        self.count += len(innovation)

    def factor(self, confident_excess: np.ndarray, confident_count: int, confident_factor: np.ndarray) -> np.ndarray:
        """(4,) the low-score boxes' factor on the model's measurement variance: the confident boxes' factor
        `confident_factor` (4,) plus the low-score mean excess beyond the confident one (`confident_excess` (4,)
        summed over `confident_count` updates), in model variances, never below the confident factor. The confident
        factor alone until both classes have pooled `motion.noise_min_updates` updates."""
        if not self.enabled or self.count < self.min_updates or confident_count < self.min_updates:
            return confident_factor
        if self.model_variance <= 0.0:  # a zero model has no scale to raise
            return confident_factor
        extra = self._excess / self.count - confident_excess / confident_count
        return confident_factor + np.maximum(extra, 0.0) / self.model_variance

    def summary(self) -> dict[str, float]:
        """Pooled low-score updates and the mean excess per coordinate x, y, w, h in model variances (NaN: none)."""
        out: dict[str, float] = {"updates": self.count}
        mean = self._excess / self.count / self.model_variance if self.count and self.model_variance else None
        for i, name in enumerate("xywh"):
            out[f"excess_{name}"] = float("nan") if mean is None else float(mean[i])
        return out
