"""The reported box's width: a separately smoothed aspect (width / height) times the Kalman height.

The Kalman filter's width serves association (gates, IoU, predictions); the box a track REPORTS may take a smoother
width without changing any decision. Each track keeps its aspect `a` and that estimate's variance (`TrackTable.aspect`,
`TrackTable.aspect_var`, aspect units squared), a scalar random-walk Kalman filter:

- a new track starts at its first box's aspect, with that measurement's variance, if no side border of the frame
  cuts it (a box cut by a border measures a part of the person: a track born cut has none, NaN, until a whole box);
- a matched box no side border cuts, and not completed at the track's size (a part box), updates it after the
  `steps` frames since the last update: variance + steps x (`motion.report_aspect_process_factor` x std_position
  x a)^2 x step_ratio (a random walk in per-second terms, as `KalmanFilter`'s position noise), then the gain
  against the measurement's variance (std_position x a)^2 x the measured width noise factor (`MeasurementNoise`);
- the reported width is the Kalman width + w x (`a` x the Kalman height - the Kalman width), around the Kalman
  centre (`reported_xywh`), w in 0-1 measured per video (`tracker.report_weight`: how much the aspect width beats the
  Kalman width at predicting the next box; 1 with `motion.report_aspect_weighting` off); the Kalman width while `a`
  is NaN.

An aspect does not change with the camera's zoom, so camera-motion compensation leaves it alone. Below a process
factor of 1 the aspect follows a person's true shape changes more slowly than the width's own noise: ByteTrack's
(x, y, aspect, h) state with its small aspect noise, but for the report only.
"""

from __future__ import annotations

import numpy as np

from tracker.fast_numpy import TINY

__all__ = ["box_aspect", "first_aspect", "reported_xywh", "update_aspect"]


def box_aspect(xywh: np.ndarray) -> np.ndarray:
    """(M, 4) xywh boxes -> (M,) aspects width / height (a zero height divides by the smallest float64)."""
    return xywh[:, 2] / np.maximum(xywh[:, 3], TINY)


def first_aspect(
    xywh: np.ndarray, std_position: float, whole: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """New tracks' (M, 4) first xywh boxes -> their aspects (M,) and variances (M,): one measurement's. A box not
    `whole` (M,) bool (cut by a side border; None: all whole) measures no aspect: NaN, variance inf."""
    aspect = box_aspect(xywh)
    variance = (std_position * aspect) ** 2
    if whole is not None:
        aspect, variance = np.where(whole, aspect, np.nan), np.where(whole, variance, np.inf)
    return aspect, variance


def update_aspect(
    aspect: np.ndarray,
    variance: np.ndarray,
    measured_xywh: np.ndarray,
    steps: np.ndarray,
    process_factor: float,
    std_position: float,
    step_ratio: float,
    width_noise: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """One scalar Kalman update per track: aspects (M,) and variances (M,) estimated `steps` (M,) frames ago, the
    matched boxes (M, 4, xywh pixels); `width_noise` the measured variance factor of the detector's widths (1: the
    model's). A measurement without noise (`std_position` 0) is taken as it is. Returns the new aspects and
    variances (the inputs are not changed)."""
    measured = box_aspect(measured_xywh)
    aspect = np.where(np.isnan(aspect), measured, aspect)  # none measured yet (variance inf): the gain is 1
    relative = (std_position * aspect) ** 2
    prior = variance + steps * process_factor**2 * step_ratio * relative
    noise = relative * width_noise
    # (this form and K R below: an unknown prior, inf, takes the measurement; so does an exact one, noise 0:
    # `motion.std_position` 0, where the prior can be 0 too)
    gain = 1.0 - np.divide(noise, prior + noise, out=np.zeros(noise.shape), where=noise > 0.0)
    return aspect + gain * (measured - aspect), gain * noise


def reported_xywh(kalman_xywh: np.ndarray, aspect: np.ndarray, weight: float = 1.0) -> np.ndarray:
    """(M, 4) Kalman boxes -> (M, 4) reported boxes: the same centre and height, width the Kalman width plus
    `weight` (0-1, `tracker.report_weight`) x (aspect (M,) x height - the Kalman width); the Kalman width where the
    aspect is NaN (no whole box measured it yet)."""
    boxes = np.array(kalman_xywh, dtype=np.float64)
    kalman_w = boxes[:, 2]
    boxes[:, 2] = np.where(np.isnan(aspect), kalman_w, kalman_w + weight * (aspect * boxes[:, 3] - kalman_w))
    return boxes
