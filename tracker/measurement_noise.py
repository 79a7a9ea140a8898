"""The detector's measurement noise, measured on this video from the Kalman innovations.

The Kalman filter's measurement noise model (`motion.std_position` of the box's width for x and w, of its height for
y and h) is one guess for every detector and video. When a detector's boxes jitter more than it says in some
coordinate (a walking person's box width follows the legs), the filter trusts that coordinate too much and reports
its jitter. Covariance-matching adaptive filtering (Mehra, "Approaches to adaptive filtering", IEEE TAC 1972;
Mohamed & Schwarz, J. Geodesy 1999) estimates the measurement noise from the innovations the filter already
computes: E[nu nu^T] = H P^- H^T + R, so R = E[nu^2] - E[H P^- H^T] per coordinate. Both terms are pooled over the
matched updates of confirmed tracks in consecutive frames, each divided by its box scale squared (the scale the model
uses), so one estimate serves near and far boxes.

Excess innovation variance is measurement noise only if the innovations stay white. Motion the constant-velocity
model does not follow (a person turning, a box growing as an occluder leaves) also raises it, but makes successive
innovations of a track alike: positively correlated. Raising R then smooths away real motion. So a coordinate is
adapted only while Mehra's whiteness test (Mehra, "On the identification of variances and adaptive Kalman
filtering", IEEE TAC 1970) does not find its innovations positively correlated: the lag-1 autocorrelation of the
normalised innovations, pooled over pairs of consecutive updates of the same track, is not above z / sqrt(pairs)
(one-sided 97.5 % test). The test is made again at every update on all pairs so far. Only the sizes (w, h) are
adapted: camera motion without compensation (a pan, handheld tremor) moves every box without resizing it, and its
tremor is as white as detector noise, so in the centre coordinates the innovations cannot tell the camera from the
detector. The estimate only ever raises the model's noise: a coordinate measured as less noisy keeps the model.

Measured (yolov8n boxes, the model filter): PETS09-S3-MF1 (7 fps) width innovations have mean NIS 2.0-2.2 (1
expected) and lag-1 autocorrelation -0.04: white excess, R_w raised ~5-8x; TUD-Campus (25 fps) width NIS 4.6 with
autocorrelation +0.53 (occlusions change the visible width for many frames): left to the model. ACF boxes' sizes are
calmer than the model on PETS09 (NIS 0.1): left to the model.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np

from tracker.config import MotionConfig
from tracker.fast_numpy import count_set, einsum

__all__ = ["MeasurementNoise"]

_NDIM = 4  # measured coordinates: cx, cy, w, h
# The coordinates whose noise may be raised: the sizes (camera motion moves boxes without resizing them).
_ADAPT = (False, False, True, True)  # (see the module doc)
_TINY = 1e-300  # keeps the autocorrelation's denominator positive (sums of squares of finite innovations)
_WHITENESS_LEVEL = 0.975  # one-sided level of the whiteness test (Mehra 1970 uses the 95 % two-sided band)
_WHITENESS_Z = NormalDist().inv_cdf(_WHITENESS_LEVEL)  # ~1.96: the autocorrelation's bound in standard errors


class MeasurementNoise:
    """Running covariance-matching estimate of the measurement variance per coordinate, relative to the model.

    `factor` (4,) multiplies the model's measurement variance (`KalmanFilter.project(..., noise=factor)`): all ones
    until `motion.noise_min_updates` updates are pooled (or with `motion.adaptive_measurement_noise` off), then
    max(1, estimated R / model R) in the sizes (w, h) whose innovations pass the whiteness test, 1 elsewhere.
    Picklable (a `track` resume checkpoint holds it).
    """

    def __init__(self, config: MotionConfig) -> None:
        self.enabled = config.adaptive_measurement_noise
        self.min_updates = config.noise_min_updates
        self.model_variance = config.std_position**2  # the model's R per unit of box scale squared
        self.reset()

    def reset(self) -> None:
        """Forget the video's updates (a new video: another detector's jitter, another scene)."""
        self.count = 0
        self._excess = np.zeros(_NDIM)  # sum of (nu^2 - (H P^- H^T)_ii) / scale^2 per coordinate
        self.pairs = 0  # pairs of consecutive normalised innovations (z_prev, z) of one track in the whiteness test
        self._pair_sums = np.zeros(3 * _NDIM)  # sums of z_prev * z, z_prev^2 and z^2 per coordinate, end to end
        self.white = np.zeros(_NDIM, dtype=bool)  # the coordinates whose innovations pass the whiteness test
        self.factor = np.ones(_NDIM)
        self.applied: np.ndarray | None = None  # `factor` where it raises a coordinate, else None (nothing to scale)
        self._white_list, self._factor_list = self.white.tolist(), self.factor.tolist()  # the arrays' values

    def __setstate__(self, state: dict) -> None:
        """Restore a pickled state; one pickled before the arrays' values were kept as lists (int24 69edf1c) gets
        them from the arrays."""
        self.__dict__.update(state)
        if "_factor_list" not in state:
            self._white_list, self._factor_list = self.white.tolist(), self.factor.tolist()

    @property
    def autocorrelation(self) -> np.ndarray:
        """(4,) lag-1 autocorrelation of the normalised innovations pooled for the whiteness test (NaN: no pair)."""
        if self.pairs == 0:
            return np.full(_NDIM, np.nan)
        lagged, previous_sq, current_sq = self._pair_sums.reshape(3, _NDIM)
        return lagged / np.sqrt(previous_sq * current_sq + _TINY)

    def observe(
        self,
        innovation: np.ndarray,
        variance: np.ndarray,
        prior_variance: np.ndarray,
        scale: np.ndarray,
        previous: np.ndarray,
    ) -> np.ndarray:
        """Pool M matched updates of confirmed tracks that were also matched in the frame before.

        Args:
            innovation: (M, 4) measurement minus prediction, pixels.
            variance: (M, 4) the innovations' predicted variances (diagonal of H P^- H^T + R as applied), pixels^2.
            prior_variance: (M, 4) (H P^- H^T)_ii, the predicted state's variances without the measurement noise.
            scale: (M, 4) box scales (width for x and w, height for y and h), pixels.
            previous: (M, 4) the same tracks' normalised innovations of the frame before (rows of NaN where there
                is none).
        Returns:
            (M, 4) the normalised innovations nu / sqrt(variance), to give back as `previous` next frame.
        """
        normalised = innovation / np.sqrt(variance)
        if not self.enabled or len(innovation) == 0:
            return normalised
        first = previous[:, 0]
        paired = first == first  # not NaN (rows are set whole: all NaN or all finite), one operation
        count = count_set(paired)
        if count:  # the whiteness test's pairs (z_prev, z): the sums of z_prev * z, z_prev^2, z^2 in one product
            before, now = (previous, normalised) if count == len(paired) else (previous[paired], normalised[paired])
            self.pairs += count
            lhs, rhs = np.concatenate([before, before, now], axis=1), np.concatenate([now, before, now], axis=1)
            self._pair_sums += einsum("pi,pi->i", lhs, rhs)  # (`concatenate`: `hstack` without its wrappers)
        # covariance matching: the sum of (nu^2 - (H P^- H^T)_ii) / scale^2 is all the estimate needs
        self._excess += einsum("pi,pi->i", np.square(innovation) - prior_variance, 1.0 / np.square(scale))
        self.count += len(innovation)
        if self.count < self.min_updates:
            return normalised
        # four coordinates: plain floats (the same IEEE operations as the array forms, a tenth of their cost)
        bound = _WHITENESS_Z / math.sqrt(self.pairs) if self.pairs else -math.inf
        lagged, previous_sq, current_sq = self._pair_sums.reshape(3, _NDIM).tolist()
        rho = [lag / math.sqrt(p * c + _TINY) for lag, p, c in zip(lagged, previous_sq, current_sq, strict=True)]
        white = [r <= bound for r in rho]
        model_total = self.count * self.model_variance
        factor: list[
            float
        ] = [  # 1 where not adapted; a zero model has no scale to raise (its whiteness is still reported)
            max(1.0, e / model_total) if w and adapt and model_total > 0.0 else 1.0
            for e, w, adapt in zip(self._excess.tolist(), white, _ADAPT, strict=True)
        ]
        if white != self._white_list or factor != self._factor_list:  # new arrays only when a value changes
            self._white_list, self._factor_list = white, factor
            self.white, self.factor = np.array(white), np.array(factor)
            self.applied = self.factor if max(factor) > 1.0 else None
        return normalised

    def summary(self) -> dict[str, float]:
        """Pooled updates (and the count needed before any factor applies), the whiteness test's pairs, and per
        coordinate its autocorrelation (NaN: no pair), whether it passed (1.0 / 0.0; NaN while fewer than
        `min_updates` updates are pooled: the test has not run) and the factor applied to the model's variance (1:
        the model's), for reports (`track`'s summary, `summary.json`, where NaN is written as null)."""
        rho = self.autocorrelation
        tested = self.count >= self.min_updates  # `observe` makes the whiteness test from then on
        out: dict[str, float] = {"updates": self.count, "min_updates": self.min_updates, "pairs": self.pairs}
        for i, name in enumerate("xywh"):
            out[f"autocorrelation_{name}"] = float(rho[i])
            out[f"white_{name}"] = float(self.white[i]) if tested else math.nan
            out[f"factor_{name}"] = float(self.factor[i])
        return out
