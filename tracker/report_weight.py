"""How far the reported width goes from the Kalman width towards the smoothed-aspect width: measured per video.

Two estimates of a track's width are at hand each frame: the Kalman filter's (it follows the measured widths with
their velocity) and the smoothed aspect times the Kalman height (`tracker.report_aspect`: steady, but slow to
follow a real change of shape). Which is better depends on the detector: accurate widths of people turning are
followed best by the Kalman width, jittering ones are reported best by the steady aspect. So the report is
w_k + weight x (w_a - w_k), and `weight` in [0, 1] is the least-squares weight of the two estimates' errors
measured against the NEXT frame's box of the same track: with d_k = z - w_k and d_a = z - w_a (relative to z),
weight = sum d_k (d_k - d_a) / sum (d_k - d_a)^2, the blend that best predicts the next measured width. The
measurement noise of z and the width's true change are the same for both estimates, so they do not bias the
weight (d_k - d_a = w_a - w_k holds neither). Until `motion.noise_min_updates` pairs are pooled the weight is 0:
the Kalman width, as without the aspect.
"""

from __future__ import annotations

import math

import numpy as np

from tracker.fast_numpy import TINY, all_set

__all__ = ["ReportWeight"]


class ReportWeight:
    """Running least-squares weight of the aspect width against the Kalman width, pooled over a video's tracks.
    Picklable (a `track` resume checkpoint holds it)."""

    def __init__(self, min_pairs: int) -> None:
        self.min_pairs = min_pairs
        self.reset()

    def reset(self) -> None:
        """Forget the video's pairs (a new video: another detector, other people)."""
        self.pairs = 0
        self._kalman_sq = 0.0  # sum of d_k^2
        self._cross = 0.0  # sum of d_k (d_k - d_a)
        self._spread_sq = 0.0  # sum of (d_k - d_a)^2

    @property
    def weight(self) -> float:
        """The least-squares weight of the pairs pooled so far, clipped to 0-1; 0 before `min_pairs` pairs (or while
        the two widths have never differed)."""
        if self.pairs < self.min_pairs or self._spread_sq <= 0.0:
            return 0.0
        return min(1.0, max(0.0, self._cross / self._spread_sq))

    def observe(self, measured_w: np.ndarray, kalman_w: np.ndarray, aspect_w: np.ndarray) -> None:
        """Pool M pairs: the measured widths (M,) of whole boxes, pixels, against the Kalman widths (M,) and the
        aspect widths (M,) each track reported the frame before (pixels; rows with a NaN aspect width are
        skipped)."""
        known = ~np.isnan(aspect_w)
        if not all_set(known):
            measured_w, kalman_w, aspect_w = measured_w[known], kalman_w[known], aspect_w[known]
        if len(measured_w) == 0:
            return
        scale = np.maximum(measured_w, TINY)
        d_k = (measured_w - kalman_w) / scale
        spread = (aspect_w - kalman_w) / scale  # d_k - d_a
        self.pairs += len(measured_w)
        self._kalman_sq += float(d_k @ d_k)
        self._cross += float(d_k @ spread)
        self._spread_sq += float(spread @ spread)

    def summary(self) -> dict[str, float]:
        """Pooled pairs, the weight applied, and the relative RMS errors of the Kalman width, the aspect width and
        the blend against the next frame's box (NaN: no pair), for reports."""
        if self.pairs == 0:
            return {
                "pairs": 0,
                "weight": self.weight,
                "rms_kalman": math.nan,
                "rms_aspect": math.nan,
                "rms_blend": math.nan,
            }
        n, w = self.pairs, self.weight
        aspect_sq = self._kalman_sq - 2.0 * self._cross + self._spread_sq  # sum (d_k - spread)^2
        blend_sq = self._kalman_sq - 2.0 * w * self._cross + w * w * self._spread_sq
        return {
            "pairs": n,
            "weight": w,
            "rms_kalman": math.sqrt(self._kalman_sq / n),
            "rms_aspect": math.sqrt(max(aspect_sq, 0.0) / n),
            "rms_blend": math.sqrt(max(blend_sq, 0.0) / n),
        }
