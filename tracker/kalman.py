"""A batched, stateless constant-velocity Kalman filter on boxes.

State (8,): cx, cy, w, h and their velocities. Measurement (4,): cx, cy, w, h. Noise standard deviations
scale with the box's width (for x, w) and height (for y, h), so a near person and a far one are equally
certain relative to their size. Every function takes and returns T tracks at once: means (T, 8),
covariances (T, 8, 8). `motion.width_process_factor` and `motion.width_measurement_factor` scale the width's process
(width and width rate) and measurement noise stds: below / above 1 they smooth the width, as ByteTrack's (x, y,
aspect, h) state with its small aspect noise does (1, the default: measured not to pay, docs/decisions.md).

Frame-rate invariance: `motion.std_position` / `motion.std_velocity` are per-frame noises at
`motion.reference_frame_rate`. At another rate the filter is built with `step_ratio` = reference / actual (the frame
interval in reference intervals) and its noises follow the continuous-time models they discretise, so the same
physical motion gets the same uncertainty per second: a position random walk (std x sqrt(ratio)), a velocity random
walk in pixels per frame (std x ratio^1.5) and a new track's velocity uncertainty in pixels per frame (x ratio).
At the reference rate every factor is 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import cast

import numpy as np

from tracker.config import MotionConfig
from tracker.fast_numpy import TINY, all_set, any_set, einsum
from tracker.sweep import SWEEP_MIN_PAIRS, mask_pairs, pairs_in_ranges

__all__ = ["SCALE_COLUMNS", "KalmanFilter", "xywh_to_xyxy", "xyxy_to_xywh"]

_NDIM = 4
_GATE_BOUND_SLACK = 2.0  # `gate`: a pair is skipped only when its centre gap beats the bound this many times over
_SWEEP_SLACK = 1e-9  # `gate`: relative widening of the sweep's reach (float rounding); the exact test follows it
# A new track's position/velocity are uncertain: its initial std is this many times the per-step noise.
_INITIAL_POSITION_FACTOR = 2.0
_INITIAL_VELOCITY_FACTOR = 10.0
# Exponents of step_ratio that keep per-second uncertainty fixed when the frame rate changes (see the module doc):
_POSITION_WALK_EXPONENT = 0.5  # position random walk: variance grows with the interval
_VELOCITY_WALK_EXPONENT = 1.5  # velocity random walk, in pixels per frame: variance x interval, units x interval
# Noise scales with the box: the width for x and w (and their rates), the height for y and h. The columns of a
# (T, 8) state or an (N, 4) xywh box holding each measured coordinate's scale (cx, cy, w, h), so a noise is one
# indexing and one product (`_size_scale` for (T, 2) sizes).
SCALE_COLUMNS = np.array([2, 3, 2, 3])
_STATE_SCALE_COLUMNS = np.tile(SCALE_COLUMNS, 2)
_WIDTH = 2  # the width's measurement coordinate (`motion.width_measurement_factor`)
_WIDTH_STATE = [_WIDTH, _NDIM + _WIDTH]  # the width and its velocity in the state (`motion.width_process_factor`)
# Flat positions of the off-diagonal entries of a 4x4 matrix (`_diagonal_or_none`).
_OFF_DIAGONAL = np.flatnonzero(~np.eye(_NDIM, dtype=bool))
# Flat positions in an (8, 8) covariance outside the 2x2 blocks of each coordinate and its velocity (`_blockwise`).
_OFF_BLOCK = np.flatnonzero((np.arange(2 * _NDIM)[:, None] % _NDIM) != (np.arange(2 * _NDIM)[None, :] % _NDIM))
# `replay` steps one track at a time on Python floats (~1/10 of a batched numpy step's cost) while the replayed
# tracks' gaps sum to at most this many times the longest gap; beyond, the batched steps are cheaper.
_SCALAR_REPLAY_STEPS = 6
_EPS = np.finfo(np.float64).eps  # looked up once (each `np.finfo` call ~1 us)
# Box columns taken contiguous (`xyxy_to_xywh`, `xywh_to_xyxy`): the near and far corners, the centre and the size
# twice, and the halves that take a centre to its corners.
_CORNER, _FAR_CORNER = np.array([0, 1]), np.array([2, 3])
_CENTRE_TWICE, _SIZE_TWICE = np.array([0, 1, 0, 1]), np.array([2, 3, 2, 3])
_HALF_SIGNS = np.array([-0.5, -0.5, 0.5, 0.5])
# Flat positions in an (8, 8) covariance of the measured block H P H^T (its top-left 4x4): its diagonal and the rest
# (`_innovation_diagonal`).
_MEASURED_DIAGONAL = np.arange(_NDIM) * (2 * _NDIM + 1)
_MEASURED_OFF_DIAGONAL = (_OFF_DIAGONAL // _NDIM) * (2 * _NDIM) + _OFF_DIAGONAL % _NDIM


def xyxy_to_xywh(boxes_xyxy: np.ndarray) -> np.ndarray:
    """(N, 4) corners (x1, y1, x2, y2) -> (N, 4) float64 centre x, centre y, width, height (same units).

    The columns are taken contiguous (`take`) before any arithmetic: a ufunc on a 2-D column view pays numpy's
    iterator set-up (docs/speed-log.md, stop 69). `wh * 0.5` is `wh / 2`'s bits."""
    b = np.asarray(boxes_xyxy, dtype=np.float64)
    corner = b.take(_CORNER, axis=1)
    wh = b.take(_FAR_CORNER, axis=1) - corner
    return np.concatenate([corner + wh * 0.5, wh], axis=1)


def xywh_to_xyxy(boxes_xywh: np.ndarray) -> np.ndarray:
    """(N, 4) centre x, centre y, width, height -> (N, 4) float64 corners (x1, y1, x2, y2) (same units).

    Centre + size x (-1/2, -1/2, 1/2, 1/2) on contiguous (N, 4) copies of the columns: the bits of centre -/+ size / 2
    (a - b is a + (-b), and a halving is exact whichever way it is written), without the column views' ufuncs."""
    b = np.asarray(boxes_xywh, dtype=np.float64)
    return b.take(_CENTRE_TWICE, axis=1) + b.take(_SIZE_TWICE, axis=1) * _HALF_SIGNS


@dataclass(frozen=True)
class KalmanFilter:
    """Constant-velocity model; all methods are batched over tracks. Units: pixels, velocities in pixels per frame.

    The filter of SORT (Bewley et al. 2016) as DeepSORT (Wojke et al. 2017) and ByteTrack write it: noise stds
    proportional to the box's size, `motion.std_position` 1/20 (0.05) and `motion.std_velocity` 1/160 (0.00625) by
    default, as theirs; the state keeps the width (cx, cy, w, h) where theirs keep the aspect ratio (cx, cy, a, h).
    Confidence-scaled measurement noise (`motion.confidence_scaled_noise`) is the NSA Kalman filter of GIAOTracker
    (Du et al. 2021); `replay` is OC-SORT's observation-centric re-update.

    Args:
        config: the `motion` section of the tracker config.
        step_ratio: frame interval / reference frame interval (`motion.reference_frame_rate` / frame rate): scales
            the noises (module docstring).
    """

    config: MotionConfig
    step_ratio: float = 1.0  # frame interval / reference frame interval (reference_frame_rate / frame_rate)

    @property
    def _position_noise(self) -> float:
        return self.config.std_position * self.step_ratio**_POSITION_WALK_EXPONENT

    @property
    def _velocity_noise(self) -> float:
        return self.config.std_velocity * self.step_ratio**_VELOCITY_WALK_EXPONENT

    @cached_property
    def _step_noise(self) -> np.ndarray:
        """(8,) per-step noise of each state coordinate per pixel of its scale: position, then velocity."""
        noise = np.repeat([self._position_noise, self._velocity_noise], _NDIM)
        noise[_WIDTH_STATE] *= self.config.width_process_factor
        return noise

    def _size_scale(self, wh: np.ndarray) -> np.ndarray:
        """(T, 2) widths/heights -> (T, 4) per-coordinate scale (w, h, w, h)."""
        return np.concatenate([wh, wh], axis=1)

    def initiate(self, measurements: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(T, 4) xywh measurements (pixels) -> float64 means (T, 8), covariances (T, 8, 8); velocities start at
        zero."""
        z = np.asarray(measurements, dtype=np.float64).reshape(-1, _NDIM)
        mean = np.concatenate([z, np.zeros_like(z)], axis=1)
        scale = self._size_scale(z[:, 2:])
        std = np.concatenate(
            [
                _INITIAL_POSITION_FACTOR * self.config.std_position * scale,
                _INITIAL_VELOCITY_FACTOR * self.config.std_velocity * self.step_ratio * scale,
            ],
            axis=1,
        )
        return mean, _diag(std**2)

    def predict(self, mean: np.ndarray, covariance: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One time step for all tracks: (T, 8), (T, 8, 8) -> same shapes (the inputs are not changed)."""
        new_mean, new_cov = mean.copy(), covariance.copy()
        self.predict_in_place(new_mean, new_cov)
        return new_mean, new_cov

    def predict_in_place(self, mean: np.ndarray, covariance: np.ndarray) -> None:
        """`predict` writing into its (C-contiguous) inputs (the core's own state arrays: no copies a frame).

        F P F^T is written out in 4x4 blocks (F = [[I, I], [0, I]]: P = [[A, B], [C, D]] becomes
        [[A + B + C + D, B + D], [C + D, D]]), a few array additions instead of two batched 8x8 products.
        """
        var = (mean.take(_STATE_SCALE_COLUMNS, axis=1) * self._step_noise) ** 2  # (T, 8): the sizes before the step
        mean[:, :_NDIM] += mean[:, _NDIM:]
        covariance[:, :, :_NDIM] += covariance[:, :, _NDIM:]  # P F^T: left columns gain the right ones
        covariance[:, :_NDIM, :] += covariance[:, _NDIM:, :]  # F (P F^T): top rows gain the bottom ones
        _add_diag(covariance, var)

    def project(
        self,
        mean: np.ndarray,
        covariance: np.ndarray,
        scores: np.ndarray | None = None,
        noise: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Into measurement space: (T, 4) means and (T, 4, 4) innovation covariances.

        `scores` (T,) scale the measurement noise by (1 - score) when confidence-scaled noise is on; `noise` (4,)
        multiplies its variance per coordinate (cx, cy, w, h: the measured noise, `tracker.measurement_noise`).
        """
        s = covariance[:, :_NDIM, :_NDIM].copy()
        _add_diag(s, self._measurement_variance(mean, scores, noise))
        return mean[:, :_NDIM], s

    def _measurement_variance(
        self, mean: np.ndarray, scores: np.ndarray | None, noise: np.ndarray | None
    ) -> np.ndarray:
        """(T, 4) measurement noise variances R of the (T, 8) states, pixels^2 (`scores` and `noise` as in
        `project`): what `project` adds to the diagonal of H P H^T."""
        var = (mean.take(SCALE_COLUMNS, axis=1) * self.config.std_position) ** 2  # (`take`: contiguous)
        if self.config.width_measurement_factor != 1.0:
            var[:, _WIDTH] *= self.config.width_measurement_factor**2
        if noise is not None:
            var = var * noise
        if scores is not None and self.config.confidence_scaled_noise:
            var = var * (1.0 - np.clip(scores, 0.0, 1.0))[:, None] + _EPS
        return var

    def update(
        self,
        mean: np.ndarray,
        covariance: np.ndarray,
        measurements: np.ndarray,
        scores: np.ndarray | None = None,
        noise: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Correct T tracks with their matched (T, 4) xywh measurements (the inputs are not changed); `scores` and
        `noise` as in `project`."""
        new_mean, new_cov = mean.copy(), covariance.copy()
        self.update_in_place(new_mean, new_cov, measurements, scores, noise)
        return new_mean, new_cov

    def update_in_place(
        self,
        mean: np.ndarray,
        covariance: np.ndarray,
        measurements: np.ndarray,
        scores: np.ndarray | None = None,
        noise: np.ndarray | None = None,
        diagonal: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """`update` writing into its inputs (e.g. the matched tracks' rows, already copied out by fancy indexing).
        Returns the (T, 4) innovations (measurement minus prediction, pixels) and their (T, 4) predicted variances
        (the diagonal of the innovation covariance, pixels^2).

        `diagonal`: (T, 4) the tracks' innovation covariances when the caller already has them and knows them
        diagonal (`gate_and_diagonal`'s rows, for the same means, covariances, `noise` and no `scores`): the update
        uses them instead of projecting again (the same values; the caller vouches for them)."""
        if diagonal is not None:  # (known: no projection, no test of the off-diagonal entries)
            projected, s = mean[:, :_NDIM], None
        else:
            projected, s = self.project(mean, covariance, scores, noise)
            diagonal = _diagonal_or_none(s)
        pht = covariance[:, :, :_NDIM]  # P H^T, (T, 8, 4)
        # gain K = P H^T S^-1: a diagonal S (`_diagonal_or_none`) scales each column (K S too: a product with a
        # diagonal matrix adds exact zeros to one term); else np.linalg.solve.
        if diagonal is not None:
            gain = pht * (1.0 / diagonal)[:, None, :]
            gain_s = gain * diagonal[:, None, :]
        else:
            s = cast(np.ndarray, s)  # (no diagonal: S was projected)
            gain = np.linalg.solve(s, pht.transpose(0, 2, 1)).transpose(0, 2, 1)
            gain_s = gain @ s
        innovation = measurements - projected
        mean += einsum("tij,tj->ti", gain, innovation)
        covariance -= gain_s @ gain.transpose(0, 2, 1)
        return innovation, cast(np.ndarray, diagonal if s is None else s.diagonal(0, 1, 2))  # (S or its diagonal)

    def replay(
        self,
        mean: np.ndarray,
        covariance: np.ndarray,
        start_xywh: np.ndarray,
        end_xywh: np.ndarray,
        gaps: np.ndarray,
        noise: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Observation-centric re-update (OC-SORT, Cao et al., CVPR 2023): replay T tracks' gaps of `gaps` (T,)
        frames from their last observed states with virtual observations on the straight line from `start_xywh`
        (T, 4) to `end_xywh` (T, 4), the detection that ends the gap.

        Args:
            mean, covariance: (T, 8), (T, 8, 8) states right after the last observation.
            noise: (4,) measurement variance factors, as in `project`.
        Returns:
            (T, 8), (T, 8, 8) states predicted for the frame of `end_xywh` (not yet corrected by it): step k of a
            gap g (1 <= k < g) predicts and updates with start + (end - start) * k / g, then one last predict.
            All tracks step together; the ones with the longest gaps go on alone (the same values as one track at
            a time). States no camera motion has coupled, a few tracks at a time, step one track at a time on
            Python floats instead (`_replay_track`: the same bits at ~1/10 of the cost).
        """
        if _blockwise(mean, covariance, start_xywh, end_xywh) and _few_steps(gaps):
            factors = None if noise is None else np.asarray(noise, dtype=np.float64).tolist()
            out_mean, out_cov = np.empty_like(mean), np.zeros_like(covariance)
            for i in range(len(mean)):
                out_mean[i] = self._replay_track(
                    mean[i], covariance[i], start_xywh[i], end_xywh[i], int(gaps[i]), factors, out_cov[i]
                )
            return out_mean, out_cov
        order = np.argsort(-gaps, kind="stable")  # longest gaps first: the tracks still stepping are a prefix
        mean, cov, gaps = mean[order], covariance[order], gaps[order]
        start, end = start_xywh[order], end_xywh[order]
        for k in range(1, int(gaps.max(initial=0))):
            n = int(np.count_nonzero(gaps > k))
            self.predict_in_place(mean[:n], cov[:n])
            virtual = start[:n] + (end[:n] - start[:n]) * k / gaps[:n, None]
            self.update_in_place(mean[:n], cov[:n], virtual, noise=noise)
        self.predict_in_place(mean, cov)
        restored_mean, restored_cov = np.empty_like(mean), np.empty_like(cov)
        restored_mean[order], restored_cov[order] = mean, cov
        return restored_mean, restored_cov

    def _replay_track(
        self,
        mean: np.ndarray,
        covariance: np.ndarray,
        start: np.ndarray,
        end: np.ndarray,
        gap: int,
        noise_factors: list[float] | None,
        out_covariance: np.ndarray,
    ) -> list[float]:
        """`replay` of one track, (8,) `mean` and (8, 8) `covariance` coupling each coordinate only with its own
        velocity (`_blockwise`: no camera motion has warped it), on Python floats: its (8,) replayed mean, its
        covariance written into the zeroed (8, 8) `out_covariance`; `start`, `end` (4,) and `gap` as in `replay`,
        `noise_factors` the (4,) measurement variance factors as floats.

        Each coordinate is a filter of its own on a 2x2 block [[a, b], [c, d]] (position, velocity), and every
        product of the matrix form with an exact zero drops out: the same operations in the same order as
        `predict_in_place` and `update_in_place` on the whole (8, 8) matrix, so the same bits (a test checks),
        without the ~40 numpy calls a step costs (a replayed gap of 2 s at 30 fps: ~3 ms, against ~0.3 ms here).
        """
        step_noise, position_std, factors = self._scalar_noises
        rows = range(_NDIM)
        m = mean.tolist()
        a = [float(covariance[k, k]) for k in rows]
        b = [float(covariance[k, k + _NDIM]) for k in rows]
        c = [float(covariance[k + _NDIM, k]) for k in rows]
        d = [float(covariance[k + _NDIM, k + _NDIM]) for k in rows]
        start_xywh, end_xywh = start.tolist(), end.tolist()
        for step in range(1, max(gap, 1) + 1):
            # predict: the noise from the sizes before the step, then F P F^T as `predict_in_place` sums it
            scale = (m[2], m[3], m[2], m[3])
            for k in rows:
                q_pos, q_vel = scale[k] * step_noise[k], scale[k] * step_noise[k + _NDIM]
                m[k] += m[k + _NDIM]
                c_k = c[k] + d[k]
                a[k] = (a[k] + b[k]) + c_k + q_pos * q_pos
                b[k] = b[k] + d[k]
                c[k] = c_k
                d[k] = d[k] + q_vel * q_vel
            if step >= gap:
                break  # the last step only predicts (the real detection corrects it)
            # update with the virtual observation, as `project` and `update_in_place` with a diagonal S
            scale = (m[2], m[3], m[2], m[3])
            for k in rows:
                r = scale[k] * position_std
                var = r * r
                if factors[k] != 1.0:
                    var *= factors[k]
                if noise_factors is not None:
                    var = var * noise_factors[k]
                s = a[k] + var
                inverse = 1.0 / s
                gain_pos, gain_vel = a[k] * inverse, c[k] * inverse
                gs_pos, gs_vel = gain_pos * s, gain_vel * s
                innovation = (start_xywh[k] + (end_xywh[k] - start_xywh[k]) * step / gap) - m[k]
                m[k] += gain_pos * innovation
                m[k + _NDIM] += gain_vel * innovation
                a[k] -= gs_pos * gain_pos
                b[k] -= gs_pos * gain_vel
                c[k] -= gs_vel * gain_pos
                d[k] -= gs_vel * gain_vel
        for k in rows:
            out_covariance[k, k], out_covariance[k, k + _NDIM] = a[k], b[k]
            out_covariance[k + _NDIM, k], out_covariance[k + _NDIM, k + _NDIM] = c[k], d[k]
        return m

    @cached_property
    def _scalar_noises(self) -> tuple[list[float], float, list[float]]:
        """`_replay_track`'s constants as floats: the (8,) per-step noises, the measurement std and the (4,)
        measurement variance factors of `motion.width_measurement_factor` (1 elsewhere)."""
        factors = [1.0] * _NDIM
        if self.config.width_measurement_factor != 1.0:
            factors[_WIDTH] = self.config.width_measurement_factor**2
        return self._step_noise.tolist(), self.config.std_position, factors

    def velocity_std(self, covariance: np.ndarray) -> np.ndarray:
        """(T, 8, 8) covariances -> (T, 4) standard deviations of the velocities (pixels per frame)."""
        return np.sqrt(np.maximum(covariance.diagonal(0, 1, 2)[:, _NDIM:], 0.0))

    def gating_distance(
        self, mean: np.ndarray, covariance: np.ndarray, measurements: np.ndarray, noise: np.ndarray | None = None
    ) -> np.ndarray:
        """Squared Mahalanobis distance (T, N) float64 between T predicted tracks and N (N, 4) xywh measurements
        (`noise` as in `project`); compare with a chi-square quantile of 4 dof (`motion.gate_chi2`, 9.4877: 95%)."""
        if len(mean) == 0 or len(measurements) == 0:
            return np.zeros((len(mean), len(measurements)))
        projected, s = self.project(mean, covariance, noise=noise)
        s_inv = _inverse(s)
        diff = measurements[None, :, :] - projected[:, None, :]  # (T, N, 4)
        return einsum("tnj,tnj->tn", diff @ s_inv, diff)

    def gate(
        self,
        mean: np.ndarray,
        covariance: np.ndarray,
        measurements: np.ndarray,
        chi2: float,
        noise: np.ndarray | None = None,
    ) -> np.ndarray:
        """(T, N) bool: pairs whose squared Mahalanobis distance (`gating_distance`, `noise` as in `project`) is at
        most `chi2`.

        The distance is computed only for the pairs that can pass: d^T S^-1 d >= d_i^2 / S_ii for each coordinate i
        (a vector's Mahalanobis distance is at least that of any one of its coordinates), so a pair whose x or y
        centre gap alone squares to more than chi2 * S_ii is out (tested with `_GATE_BOUND_SLACK` to spare) without
        the 4x4 product. With T tracks spread over a frame only a few pairs per track remain, so the cost
        grows as T + N instead of T x N; with many tracks and detections the centre test itself runs on a
        sort-and-sweep's candidates (`tracker.sweep`).
        """
        return self.gate_and_diagonal(mean, covariance, measurements, chi2, noise)[0]

    def gate_and_diagonal(
        self,
        mean: np.ndarray,
        covariance: np.ndarray,
        measurements: np.ndarray,
        chi2: float,
        noise: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """`gate`, and the (T, 4) diagonals of the tracks' innovation covariances (`project` without scores) when
        every one is diagonal (else None, and None without detections): what `update_in_place` takes as `diagonal`
        for the same means and covariances."""
        t, n = len(mean), len(measurements)
        if t == 0 or n == 0:
            return np.zeros((t, n), dtype=bool), None
        # S's (T, 4) diagonal, contiguous, without S where every S is diagonal (the usual frame); else S itself
        diagonal = _innovation_diagonal(covariance, self._measurement_variance(mean, None, noise))
        projected, s = (mean[:, :_NDIM], None) if diagonal is not None else self.project(mean, covariance, noise=noise)
        variance = cast(np.ndarray, diagonal if s is None else s.diagonal(0, 1, 2))  # (S or its diagonal)
        limit = (_GATE_BOUND_SLACK * chi2) * variance  # (T, 4) bounds on d_i^2 for a pass
        rows, cols = _near(projected, measurements, limit)
        diff = measurements.take(cols, axis=0) - projected.take(rows, axis=0)  # (P, 4) (`take`: fancy indexing's rows)
        if diagonal is not None:  # d^T S^-1 as d times the reciprocal diagonal: the product's values, no 4x4 product
            scaled = diff * (1.0 / diagonal).take(rows, axis=0)
        else:
            scaled = (diff[:, None, :] @ np.linalg.inv(cast(np.ndarray, s))[rows])[:, 0, :]  # (no diagonal: S)
        distance = einsum("pj,pj->p", scaled, diff)
        passed = np.zeros((t, n), dtype=bool)
        passed.put(rows * n + cols, distance <= chi2)  # (by the pairs' flat places: `[rows, cols]`'s writes, for less)
        return passed, diagonal


def _near(projected: np.ndarray, measurements: np.ndarray, limit: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(P,) rows, (P,) cols: pairs of T projected tracks and N xywh measurements whose x and y centre gaps square
    to at most the track's `limit` (T, 4; columns 0 and 1 are used). On the (T, N) grid, or with many pairs on the
    candidates of a sweep on x (the same pairs)."""
    few = len(projected) * len(measurements) < SWEEP_MIN_PAIRS
    # a non-finite centre or bound takes the grid: the sweep's sorted ranges hold only for finite values
    if few or not (all_set(np.isfinite(projected)) and all_set(np.isfinite(limit))):
        near = (measurements[None, :, 0] - projected[:, None, 0]) ** 2 <= limit[:, None, 0]
        near &= (measurements[None, :, 1] - projected[:, None, 1]) ** 2 <= limit[:, None, 1]
        rows, cols = mask_pairs(near)
    else:
        x, gap = projected[:, 0], np.sqrt(limit[:, 0])
        reach = gap + _SWEEP_SLACK * (np.abs(x) + gap) + TINY  # a superset of dx^2 <= limit
        rows, cols = pairs_in_ranges(measurements[:, 0], x - reach, x + reach)
        near = (measurements[cols, 0] - projected[rows, 0]) ** 2 <= limit[rows, 0]
        near &= (measurements[cols, 1] - projected[rows, 1]) ** 2 <= limit[rows, 1]
        rows, cols = rows[near], cols[near]
    return rows, cols


def _blockwise(mean: np.ndarray, covariance: np.ndarray, start: np.ndarray, end: np.ndarray) -> bool:
    """True when every (8, 8) covariance couples each coordinate with its own velocity only (the entries outside
    the 2x2 blocks (k, k + 4) are exact zeros, as the model keeps them until a camera motion warps a state) and
    every value is finite: `KalmanFilter._replay_track` then gives `replay`'s bits."""
    flat = covariance.reshape(len(covariance), 2 * _NDIM * 2 * _NDIM)
    if any_set(flat[:, _OFF_BLOCK]):
        return False
    return all(np.isfinite(values).all() for values in (flat, mean, start, end))


def _few_steps(gaps: np.ndarray) -> bool:
    """Stepping the (T,) `gaps` one track at a time on Python floats costs less than the batched numpy steps: their
    sum is at most `_SCALAR_REPLAY_STEPS` times the longest (the batched steps run the longest gap's count)."""
    return int(gaps.sum()) <= _SCALAR_REPLAY_STEPS * int(gaps.max(initial=0))


def _diagonal_or_none(s: np.ndarray) -> np.ndarray | None:
    """(T, 4) diagonals of (T, 4, 4) innovation covariances when every one is diagonal, else None.

    The constant-velocity model with diagonal noises never couples x, y, w and h: S stays diagonal until a camera
    motion warps a covariance (`warp_states`). Then S^-1 is 1 / diagonal, what LAPACK's inverse and solve give for a
    diagonal matrix (its LU has nothing to eliminate; its triangular solve multiplies by the reciprocal pivots), at
    a tenth of the cost of one LAPACK call per track."""
    if not len(s) or any_set(s.reshape(len(s), _NDIM * _NDIM)[:, _OFF_DIAGONAL]):
        return None
    return s.diagonal(0, 1, 2)


def _innovation_diagonal(covariance: np.ndarray, variance: np.ndarray) -> np.ndarray | None:
    """(T, 4) C-contiguous diagonals of the innovation covariances S = H P H^T + R of (T, 8, 8) `covariance` and (T, 4)
    measurement `variance` R when every S is diagonal (`_diagonal_or_none`'s test, on P's measured block), else None.

    The values `project` then `_diagonal_or_none` give (each P_ii + R_i), read from P's flat places instead of through
    S: no (T, 4, 4) copy, and no ufunc on a strided diagonal view (docs/speed-log.md, stop 69)."""
    flat = covariance.reshape(len(covariance), (2 * _NDIM) ** 2)
    if not len(flat) or any_set(flat.take(_MEASURED_OFF_DIAGONAL, axis=1)):
        return None
    return flat.take(_MEASURED_DIAGONAL, axis=1) + variance


def _inverse(s: np.ndarray) -> np.ndarray:
    """(T, 4, 4) inverses of innovation covariances: the reciprocal diagonals when all are diagonal
    (`_diagonal_or_none`), np.linalg.inv otherwise."""
    diagonal = _diagonal_or_none(s)
    if diagonal is None:
        return np.linalg.inv(s)
    inverse = np.zeros_like(s)
    _add_diag(inverse, 1.0 / diagonal)
    return inverse


def _add_diag(matrices: np.ndarray, values: np.ndarray) -> None:
    """In place: (T, M, M) += diag of (T, M), through a strided view of the diagonals (no (T, M, M) temporary)."""
    t, m = values.shape
    matrices.reshape(t, m * m)[:, :: m + 1] += values


def _diag(values: np.ndarray) -> np.ndarray:
    """(T, M) -> (T, M, M) diagonal matrices."""
    out = np.zeros(values.shape + values.shape[-1:])
    idx = np.arange(values.shape[-1])
    out[:, idx, idx] = values
    return out
