"""Camera-motion compensation (CMC): the global motion between consecutive frames, and its use on track states.

`CameraMotionEstimator` estimates a 2x3 affine (rotation, uniform scale and shift: OpenCV's "partial
affine") taking pixels of the previous frame to pixels of the current one, on a gray copy of the frame
downscaled to `motion.camera_image_width`, with the detected boxes masked out so people walking do not count
as camera motion (and the regions of `motion.camera_exclude`: what stays still on the screen, a car's hood or
burned-in text, would outvote the scene). Methods (all OpenCV; the idea and the names follow BoT-SORT's GMC,
Aharon et al. 2022):
- `sparse_flow`: Shi-Tomasi corners (`goodFeaturesToTrack`) followed by pyramidal Lucas-Kanade
  (`calcOpticalFlowPyrLK`), then `estimateAffinePartial2D` with RANSAC;
- `orb`: ORB keypoints matched by a brute-force Hamming matcher with cross-check, then the same RANSAC fit;
- `ecc`: enhanced correlation coefficient maximisation (`findTransformECC`, Evangelidis & Psarakis 2008) of
  an affine warp;
- `auto`: the `sparse_flow` estimate, applied only once the motion is distinguishable from the fit's own noise.
  Frame-to-frame estimates are composed while the held-back motion of k fits moves no corner of the frame by more
  than `camera_ransac_px` x sqrt(k) pixels of the gray copy (the RANSAC inlier distance: below it one motion cannot
  be told from the residuals of a fit; independent errors of k fits add up as a random walk); the identity is
  returned meanwhile, and the composed motion in one go once a corner moves further. A static camera then leaves
  the tracks as without compensation, while a slow pan still reaches them in steps (no motion is dropped, only
  delayed).

A failed estimate (too few points or inliers, a fit that does not converge or is implausible, such as a
scene cut, or a frame of another size than the one before) gives the identity and is counted in `failures`.

`warp_states` applies a 2x3 affine or a 3x3 homography to Kalman states (cx, cy, w, h and their velocities)
and covariances of all tracks at once.
"""

from __future__ import annotations

import logging
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

import cv2
import numpy as np

from tracker.config import CAMERA_CORNER_SPACING_PX, MotionConfig

__all__ = ["METHODS", "CameraMotionEstimator", "as_homography", "warp_boxes_xywh", "warp_states"]

log = logging.getLogger(__name__)

METHODS = ("none", "auto", "sparse_flow", "orb", "ecc")
"""Values of `motion.camera_compensation`."""
IDENTITY = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])  # the 2x3 affine of no motion: what a failed estimate gives
_CORNER_QUALITY = 0.01  # goodFeaturesToTrack: corners at least this fraction of the strongest one
_CORNER_MIN_DISTANCE_PX = CAMERA_CORNER_SPACING_PX  # goodFeaturesToTrack: corners' least distance, downscaled px
_CORNER_BLOCK_SIZE = 3  # goodFeaturesToTrack: neighbourhood of the corner measure
_LK_WINDOW_PX = 9  # Lucas-Kanade window side, downscaled pixels (docs/camera-motion.md, window)
_LK_LEVELS = 3  # Lucas-Kanade pyramid levels above the base image
_ORB_FAST_THRESHOLD = 10  # ORB: FAST corner threshold (lower than OpenCV's 20: downscaled frames are soft)
_ORB_MIN_SIDE_PX = 2  # ORB: a gray copy with a thinner side has no scale pyramid (a 1 px high or wide frame)
_ECC_ITERATIONS = 50  # findTransformECC: maximum iterations
_ECC_EPSILON = 1e-4  # findTransformECC: stop when the correlation changes less than this
_ECC_GAUSS_FILTER = 3  # findTransformECC: Gaussian blur before the fit
_ECC_MIN_CORRELATION = 0.5  # findTransformECC: a lower final correlation means another scene (a cut): identity
_ECC_MIN_SIDE_PX = 4  # ECC: a gray copy with a thinner side has no gradient across it; the fit stays at its start
_RANSAC_CONFIDENCE = 0.99  # estimateAffinePartial2D: RANSAC confidence
_RANSAC_ITERATIONS = 500  # estimateAffinePartial2D: maximum RANSAC iterations
_MAX_SCALE_CHANGE = 0.2  # |scale - 1| above this between two frames is implausible: identity
_MAX_SHIFT_FRACTION = 0.25  # a shift larger than this fraction of the frame's longer side is implausible: identity
_MASK_VALUE = 255  # OpenCV feature masks: non-zero pixels are searched (detected boxes and excluded regions are 0)
_MIN_DETERMINANT = 1e-12  # a transform with |det| at most this maps the plane to a line or a point
_OUT_OF_RANGE = "beyond floating-point range (not a camera motion)"
_MIN_IMAGE_SIDE_PX = 16  # the gray copy's least side, px: a flatter frame (a panorama) gets a wider copy
_HALVINGS_FROM = 4  # the gray copy is halved first while it is at least this many times the configured width
_ROWS_PER_GRAY_ROW = 2  # a frame is read every k-th row, k = its height // (this x the gray copy's): 1080p every 3rd
_AUTO_FIT = "sparse_flow"  # the estimate `auto` runs (the cheapest and most accurate one, docs/camera-motion.md)


def _area_downscale(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """`image` (H, W) uint8 averaged down to `size` (width, height) as OpenCV's INTER_AREA does, to the bit.

    Where both factors are odd integers (960 x 180 -> 320 x 180 at 1080p) by a box filter and a pick of every block's
    centre: the same pixels (the mean of an odd number of integers is never halfway between two), 0.07 ms against
    INTER_AREA's 0.29 (its integer factors but 2 take a slow generic path). Other factors: INTER_AREA itself.
    """
    fx, fy = image.shape[1] / size[0], image.shape[0] / size[1]
    if not (fx.is_integer() and fy.is_integer() and int(fx) % 2 == 1 and int(fy) % 2 == 1):
        return cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    kx, ky = int(fx), int(fy)
    return np.ascontiguousarray(cv2.blur(image, (kx, ky))[ky // 2 :: ky, kx // 2 :: kx])


def as_homography(transform: Any) -> np.ndarray:
    """A (2, 3) affine or (3, 3) homography as a (3, 3) homography; a homography (defined up to scale: H and kH map
    every pixel alike) divided by its bottom-right entry where that is not 0, so that the checks below judge the
    motion, not the scale it was written at (1e-5 H is as invertible as H).

    Raises:
        ValueError: not real numbers (ragged rows, text, complex values), another shape, non-finite values, a
            singular transform, or one whose entries or area scale overflow float64 once squared (a 1e300 scale or
            shift).
    """
    a = _real_matrix(transform)
    shape = a.shape
    if a.shape == (2, 3):
        a = np.vstack([a, [0.0, 0.0, 1.0]])
    if a.shape != (3, 3):
        raise ValueError(f"camera_motion must be a (2, 3) affine or (3, 3) homography, got shape {shape}")
    if not np.isfinite(a).all():
        raise ValueError(f"camera_motion must be finite, got NaN or inf in {a[: shape[0]].tolist()}")
    given = a[: shape[0]].tolist()  # as the caller wrote it, for the messages
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is refused below, not warned about
        if a[2, 2] not in (0.0, 1.0):
            a = a / a[2, 2]
        determinant = np.linalg.det(a)
        if not (_squares_finite(a) and math.isfinite(determinant)):
            raise ValueError(f"camera_motion takes pixel coordinates {_OUT_OF_RANGE}, got {given}")
    if abs(determinant) <= _MIN_DETERMINANT:  # it would collapse every track's covariance for good
        raise ValueError(f"camera_motion must be invertible, got {given}")
    return a


def _real_matrix(transform: Any) -> np.ndarray:
    """`transform` as a float64 numpy array: a torch tensor of any dtype, device or grad read as boxes are
    (`tracker.types.as_float64`), anything else through numpy; ValueError naming camera_motion for what is not real
    numbers (complex values: numpy would drop the imaginary parts with only a warning; text or an object array:
    converted without a word; dates or durations: read as counts of their unit) or booleans (a mask or a flag: read
    as 0 and 1, `np.eye(2, 3, dtype=bool)` moved the tracks as the identity)."""
    torch = sys.modules.get("torch")  # (a tensor means torch is loaded: not imported for `track eval --help`)
    if torch is not None and isinstance(transform, torch.Tensor):
        if transform.dtype == torch.bool:
            raise ValueError(f"camera_motion must be numbers, got booleans ({transform.dtype})")
        from tracker.types import as_float64  # (imported with torch, which this module leaves to its callers)

        return as_float64(transform, "camera_motion")
    kind = type(transform).__name__
    try:
        given = np.asarray(transform)
        if np.iscomplexobj(given):
            raise TypeError("complex values (a camera motion is real)")
        if given.dtype.kind in "USO":  # (text was converted without a word, `'1e3'` too)
            raise TypeError(f"dtype {given.dtype.str} (text or objects, not numbers: convert it where it is read)")
        if given.dtype.kind in "Mm":  # (read as counts of their unit, as boxes were: `types.as_float64` refuses them)
            raise TypeError(f"dtype {given.dtype.str} (dates or durations, not numbers)")
        values = np.asarray(given, dtype=np.float64)
    except (TypeError, ValueError, RuntimeError) as exc:  # numpy's own words do not name the argument
        raise ValueError(
            f"camera_motion must be a numeric (2, 3) or (3, 3) array (numpy, nested lists, a tensor), got {kind}: {exc}"
        ) from None
    if given.dtype.kind == "b":
        raise ValueError(f"camera_motion must be numbers, got booleans ({given.dtype})")
    return values


def _squares_finite(values: np.ndarray) -> bool:
    """True when every value squared is finite: the tracker squares coordinates, sizes and variances (distances,
    Mahalanobis gates), so a larger value is beyond float64's range for it (|x| above ~1.3e154)."""
    return bool(np.isfinite(np.square(values)).all())


def _jacobians(h: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mapped points (T, 2) and the local 2x2 Jacobians (T, 2, 2) of homography `h` at `points` (T, 2)."""
    ones = np.ones((len(points), 1))
    mapped = np.concatenate([points, ones], axis=1) @ h.T  # (T, 3)
    w = mapped[:, 2:3]
    uv = mapped[:, :2] / w
    # d(u, v)/d(x, y) = (H[:2, :2] - (u, v) outer H[2, :2]) / w
    jac = (h[None, :2, :2] - uv[:, :, None] * h[None, 2:3, :2]) / w[:, :, None]
    return uv, jac


def _state_maps(h: np.ndarray, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-track linear maps M (T, 8, 8) and the new centres (T, 2) for states centred at `xy` (T, 2)."""
    uv, jac = _jacobians(h, xy)
    scale = np.sqrt(np.abs(np.linalg.det(jac)))  # boxes keep their aspect: w and h scale alike
    m = np.zeros((len(xy), 8, 8))
    m[:, 0:2, 0:2] = jac
    m[:, 4:6, 4:6] = jac
    for i in (2, 3, 6, 7):
        m[:, i, i] = scale
    return m, uv


def warp_states(mean: np.ndarray, covariance: np.ndarray, transform: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Move Kalman states (T, 8) [cx, cy, w, h, vcx, vcy, vw, vh] and covariances (T, 8, 8) by the camera motion.

    Centres go through `transform` (previous-frame pixels -> current-frame pixels, (2, 3) or (3, 3));
    velocities through its local linear part; widths, heights and their rates by its local scale
    sqrt(|det J|). Covariances become M P M^T. One batched operation for all tracks (BoT-SORT's
    `multi_gmc`, with a uniform size scale instead of rotating w and h).

    Returns:
        (T, 8) means and (T, 8, 8) covariances, new float64 arrays (the inputs as they are when T = 0).

    Raises:
        ValueError: `transform` is refused by `as_homography`, or moves a state or covariance entry beyond the range
            whose square float64 holds (an absurd but finite motion such as a 1e150 scale): nothing is moved.
    """
    if len(mean) == 0:
        return mean, covariance
    h = as_homography(transform)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):  # refused below, not warned about
        m, uv = _state_maps(h, mean[:, :2])
        new_mean = np.einsum("tij,tj->ti", m, mean)
        new_mean[:, :2] = uv
        new_covariance = m @ covariance @ m.transpose(0, 2, 1)
        if not (_squares_finite(new_mean) and _squares_finite(new_covariance)):
            raise ValueError(f"camera_motion takes the tracks' states {_OUT_OF_RANGE}, got {h.tolist()}")
    return new_mean, new_covariance


def warp_boxes_xywh(boxes_xywh: np.ndarray, transform: np.ndarray) -> np.ndarray:
    """(T, 4) xywh boxes moved like the states of `warp_states` (centre mapped, size scaled).

    Raises:
        ValueError: `transform` is refused by `as_homography`, or moves a box beyond the range whose square float64
            holds: a homography whose horizon (where it divides by zero) passes through a box's centre sends it to
            infinity, as `warp_states` refuses for a state.
    """
    boxes = np.asarray(boxes_xywh, dtype=np.float64).reshape(-1, 4)
    if not len(boxes):
        return boxes
    h = as_homography(transform)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):  # refused below, not warned about
        uv, jac = _jacobians(h, boxes[:, :2])
        scale = np.sqrt(np.abs(np.linalg.det(jac)))
        moved = np.concatenate([uv, boxes[:, 2:] * scale[:, None]], axis=1)
        if not _squares_finite(moved):
            raise ValueError(f"camera_motion takes the tracks' boxes {_OUT_OF_RANGE}, got {h.tolist()}")
    return moved


@dataclass
class CameraMotionEstimator:
    """Estimates the camera motion between consecutive frames (see the module docstring).

    Call `estimate(frame, boxes_xyxy)` once per frame, in order (`observe` instead for a frame whose motion is known
    otherwise). The first frame, and every failed estimate, give the identity. After a failure, a frame whose own
    estimate fails too is estimated from the last frame before the failure (the bridge, for up to
    `motion.camera_bridge_frames` frames): the tracks were not moved at the failed frames, so that motion is all
    they missed (a blackout, a flash, a frame too blurred for features). `estimates` counts calls after the first
    frame, `failures` those that fell back, `bridged` those estimated across failed frames, `held` those whose
    motion `auto` held back as too small to tell from noise.

    Args:
        config: the `motion` section of the tracker config (`camera_compensation`, `camera_image_width`,
            `camera_ransac_px`, `camera_bridge_frames`, `camera_exclude`).
    Raises:
        ValueError: `config.camera_compensation` is "none" (no estimator: `Tracker` builds none then) or unknown.
    """

    config: MotionConfig
    estimates: int = 0
    failures: int = 0
    held: int = 0
    bridged: int = 0
    _previous: np.ndarray | None = field(default=None, repr=False)
    _previous_mask: np.ndarray | None = field(default=None, repr=False)
    _previous_size: tuple[int, int] | None = None  # (height, width) of the previous frame, full resolution
    _scale: float = 1.0
    _pending: np.ndarray = field(default_factory=lambda: np.eye(3), repr=False)  # `auto`: motion held back
    _pending_fits: int = 0  # `auto`: frame-to-frame fits composed into `_pending`
    # the last frame before a failed estimate (gray copy, mask; a size change ends it) and the frames since it
    _bridge: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)
    _bridge_age: int = 0
    _warned_all_excluded: bool = field(default=False, repr=False)  # `camera_exclude` left no gray pixel: warned once

    def __post_init__(self) -> None:
        if self.config.camera_compensation not in METHODS[1:]:
            raise ValueError(f"no camera-motion estimator for camera_compensation={self.config.camera_compensation}")

    @property
    def _method(self) -> str:
        """The estimate that runs: `auto` runs `sparse_flow`."""
        method = self.config.camera_compensation
        return _AUTO_FIT if method == "auto" else method

    def reset(self) -> None:
        """Forget the previous frame (a new video)."""
        self._previous, self._previous_mask, self._previous_size = None, None, None
        self.estimates = self.failures = self.held = self.bridged = 0
        self._pending, self._pending_fits = np.eye(3), 0
        self._bridge, self._bridge_age = None, 0

    def checkpoint(self) -> dict[str, Any]:
        """This estimator's state, to `rollback` to when the frame just estimated is not tracked after all. No copies:
        `estimate` replaces its arrays, never writes into them."""
        return dict(vars(self))

    def rollback(self, checkpoint: dict[str, Any]) -> None:
        """Back to the state `checkpoint` returned: the next `estimate` is from the frame before the undone one. The
        whole state is replaced, not updated: what the undone frame set that `checkpoint` lacks (an estimator of an
        old `track --resume` checkpoint has none of the attributes added since, such as `bridged`) goes too."""
        vars(self).clear()
        vars(self).update(checkpoint)

    @property
    def noise_px(self) -> float:
        """The error of one estimate, full-resolution pixels: the RANSAC inlier distance of the gray copy
        (`motion.camera_ransac_px`, also `auto`'s noise floor) over the copy's scale (that of the last frame)."""
        return self.config.camera_ransac_px / self._scale

    def observe(self, frame: np.ndarray, boxes_xyxy: np.ndarray | None = None) -> np.ndarray:
        """Take `frame` as the previous frame without estimating its motion (a frame whose motion the caller gave,
        `Tracker.update(frame, camera_motion=...)`): the next `estimate` is from this frame, not from an older one.
        Counts nothing.

        Args: as `estimate`'s.
        Returns:
            (3, 3) the motion `auto` held back from the frames before (the identity for the other methods, or none
            held), released now: the caller applies it before the given motion (given @ held), which starts from the
            previous frame's pixels. Dropped, the tracks would stay behind the scene by it for good.
        """
        gray, mask, scale = self._frame_view(frame, boxes_xyxy)
        self._previous, self._previous_mask, self._scale = gray, mask, scale
        self._previous_size = (frame.shape[0], frame.shape[1])
        self._bridge, self._bridge_age = None, 0  # the given motion spans any failed frames before it
        held, self._pending, self._pending_fits = self._pending, np.eye(3), 0
        return held

    def skip(self, frame: np.ndarray, boxes_xyxy: np.ndarray | None = None) -> np.ndarray:
        """A frame after a gap in time (`Tracker.update(..., timestamp=)`: a stream's outage): its motion from the
        frame before is not estimated, for that is not one frame's motion (the camera may have turned any way
        meanwhile); it is taken as the previous frame (`observe`) and counted as an estimate that fell back to the
        identity (`estimates`, `failures`), unless it is the first frame.

        Args: as `estimate`'s.
        Returns:
            (3, 3) the motion `auto` held back from the frames before the gap (`observe`'s; the identity else).
        """
        if self._previous is not None:
            self.estimates += 1
            self.failures += 1
        return self.observe(frame, boxes_xyxy)

    def estimate(self, frame: np.ndarray, boxes_xyxy: np.ndarray | None = None) -> np.ndarray:
        """(2, 3) affine from the previous frame's pixels to this frame's (the identity on the first frame or
        when the estimate fails, a frame of another size than the one before included: counted in `failures`).
        After failed frames, an estimate from the last frame before them when this frame's own fails (the class
        docstring): the motion since that frame, which the tracks did not get at the failed ones.

        Args:
            frame: HxWx3 uint8 BGR (HxWx4 BGRA, HxW or HxWx1 gray) image, full resolution.
            boxes_xyxy: (N, 4) detections of this frame in full-resolution pixels, masked out of the features
                (numpy, a list or a torch tensor on any device); NaN or infinite rows mask nothing.
        Returns:
            (2, 3) float64 affine in full-resolution pixels; with `auto`, the identity while the motion is held back.
        Raises:
            ValueError: a frame `Tracker.update` refuses (not a uint8 numpy array of those shapes, or empty), or
                boxes that are not numbers of shape (N, 4); the estimator as before the call (the next frame is
                estimated from the last good one).
        """
        gray, mask, scale = self._frame_view(frame, boxes_xyxy)
        previous, previous_mask, previous_size = self._previous, self._previous_mask, self._previous_size
        size = (frame.shape[0], frame.shape[1])
        self._previous, self._previous_mask, self._previous_size, self._scale = gray, mask, size, scale
        if previous is None:
            return IDENTITY.copy()
        previous_mask = cast(np.ndarray, previous_mask)  # (kept with `previous`, set together)
        self.estimates += 1
        if size != previous_size:  # a stream that changed resolution: the two frames' pixels are not comparable
            self.failures += 1
            self._bridge, self._bridge_age = None, 0
            self._pending, self._pending_fits = np.eye(3), 0  # `auto`: the old size's pixels, under its noise
            return IDENTITY.copy()
        small = self._checked_fit(previous, previous_mask, gray, mask)
        if small is None:
            small = self._fit_across_bridge(gray, mask)
        elif self._bridge is not None:  # this frame follows on from the one before: the chain is whole again
            self._bridge, self._bridge_age = None, 0
        if small is None:
            self.failures += 1
            if self._bridge is None and self.config.camera_bridge_frames > 0:
                self._bridge, self._bridge_age = (previous, previous_mask), 0
            return IDENTITY.copy()
        affine = small.copy()
        affine[:, 2] /= scale  # same rotation and scale at full resolution; the shift grows with the image
        if self.config.camera_compensation == "auto":
            return self._release_when_significant(affine, frame.shape[1], frame.shape[0], scale)
        return affine

    def _checked_fit(
        self, previous: np.ndarray, previous_mask: np.ndarray, current: np.ndarray, mask: np.ndarray
    ) -> np.ndarray | None:
        """The gray copies' affine from `previous` to `current`, or None where the fit failed or is implausible."""
        small = self._fit(previous, previous_mask, current, mask)
        return small if small is not None and self._plausible(small, max(current.shape[:2])) else None

    def _fit_across_bridge(self, gray: np.ndarray, mask: np.ndarray) -> np.ndarray | None:
        """The affine from the last frame before failed estimates to this one (None without one, once it is older
        than `motion.camera_bridge_frames` frames, or where the fit fails: it is kept for the next frame then)."""
        if self._bridge is None:
            return None
        self._bridge_age += 1
        bridge_gray, bridge_mask = self._bridge
        if self._bridge_age > self.config.camera_bridge_frames:
            self._bridge, self._bridge_age = None, 0
            return None
        small = self._checked_fit(bridge_gray, bridge_mask, gray, mask)
        if small is not None:
            self.bridged += 1
            self._bridge, self._bridge_age = None, 0
        return small

    def _release_when_significant(self, affine: np.ndarray, width: int, height: int, scale: float) -> np.ndarray:
        """`auto`: compose `affine` into the held-back motion; return it (and hold nothing) once it moves a frame
        corner by more than the noise of k composed fits (the RANSAC inlier distance of the gray copy x sqrt(k):
        independent errors add up as a random walk), else the identity."""
        self._pending = np.vstack([affine, [0.0, 0.0, 1.0]]) @ self._pending
        self._pending_fits += 1
        corners = np.array([[0.0, 0.0, 1.0], [width, 0.0, 1.0], [0.0, height, 1.0], [width, height, 1.0]])
        moved = corners @ self._pending[:2].T - corners[:, :2]
        noise = self.config.camera_ransac_px * np.sqrt(self._pending_fits)
        if float(np.linalg.norm(moved, axis=1).max()) * scale <= noise:
            self.held += 1
            return IDENTITY.copy()
        released, self._pending, self._pending_fits = self._pending[:2].copy(), np.eye(3), 0
        return released

    # ------------------------------------------------------------------------------------------ steps
    def _frame_view(self, frame: Any, boxes_xyxy: Any) -> tuple[np.ndarray, np.ndarray, float]:
        """The gray copy of `frame`, its feature mask and its scale, the frame checked first: a float or empty frame,
        or None, is the ValueError `Tracker.update` gives (naming the conversion), with the state unchanged (it was
        kept as the previous frame, and OpenCV's assertion then failed every later estimate)."""
        from tracker.frames import check_frame  # (torch: `tracker.eval` imports this module for `--help` too)

        check_frame(frame)
        gray, scale = self._downscaled_gray(frame)
        return gray, self._mask(gray.shape, boxes_xyxy, scale), scale

    def _downscaled_gray(self, frame: np.ndarray) -> tuple[np.ndarray, float]:
        """The gray copy of `frame` (HxW or HxWx3 BGR uint8), `motion.camera_image_width` wide, and its scale.

        One scale for both sides (the motion is scaled back by it): a frame whose copy would be under 16 px high
        (over 20:1 at 320 px, a panorama) gets a copy 16 px high and wider, never one stretched to 16 px.

        A frame at least 4 times the copy's height is read every k-th row only (k = height // (2 x the copy's),
        `_ROWS_PER_GRAY_ROW`; centred: rows 1 and 4 of every 6 at 1080p): each row of the copy averages 2 rows of
        the frame instead of all k x 2, and all columns. Reading the frame is most of the copy's cost (6 MB at
        1080p); smaller frames (768 and 640 px wide at 320 px, k = 1) are read whole, as before.
        """
        height, width = frame.shape[:2]
        scale = min(1.0, self.config.camera_image_width / width)
        if round(height * scale) < _MIN_IMAGE_SIDE_PX:  # a panorama: 16 px high, not stretched to it
            scale = min(1.0, _MIN_IMAGE_SIDE_PX / height)
        size = (max(_MIN_IMAGE_SIDE_PX, round(width * scale)), max(_MIN_IMAGE_SIDE_PX, round(height * scale)))
        step = height // (_ROWS_PER_GRAY_ROW * size[1])
        if step > 1:
            frame = frame[step // 2 :: step]  # a view: the rows between are never read
        if frame.ndim == 3 and frame.shape[2] == 1:  # (H, W, 1) gray, as `Tracker.update` takes it
            frame = frame[:, :, 0]
        if frame.ndim == 3:
            frame = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        if scale < 1.0:
            # rows skipped: halvings first while the width keeps at least 2x after one (and the height 1x): OpenCV's
            # area average of 2 x 2 blocks is its fast path, several times faster per pixel than its other integer
            # factors (1080p: 1920 x 360 rows read -> 960 x 180 -> 320 x 180); a frame read whole resizes once
            while (
                step > 1
                and frame.shape[1] >= _HALVINGS_FROM * size[0]
                and frame.shape[0] >= _ROWS_PER_GRAY_ROW * size[1]
            ):
                half = (frame.shape[1] // 2, frame.shape[0] // 2)
                frame = cv2.resize(frame, half, interpolation=cv2.INTER_AREA)
            frame = _area_downscale(frame, size)
        return frame, scale

    def _mask(self, shape: tuple[int, ...], boxes_xyxy: np.ndarray | None, scale: float) -> np.ndarray:
        """uint8 mask of the downscaled frame: 255 where features may be, 0 inside the detected boxes and the regions
        `motion.camera_exclude` names (fractions of the frame: still on the screen while the scene moves; every gray
        pixel a region touches, so that one under a gray pixel still leaves it out)."""
        mask = np.full(shape[:2], _MASK_VALUE, np.uint8)
        height, width = shape[:2]
        for x1, y1, x2, y2 in self.config.camera_exclude:
            mask[math.floor(y1 * height) : math.ceil(y2 * height), math.floor(x1 * width) : math.ceil(x2 * width)] = 0
        if self.config.camera_exclude and not mask.any() and not self._warned_all_excluded:
            self._warned_all_excluded = True
            log.warning(
                "motion.camera_exclude %s leaves no pixel of the %d x %d gray copy (a region takes every gray pixel it "
                "touches): every camera-motion estimate fails; exclude less, or raise motion.camera_image_width "
                "(warned once)",
                [list(region) for region in self.config.camera_exclude],
                width,
                height,
            )
        if boxes_xyxy is not None:
            # clipped to the copy before the cast: a corner beyond int64 (1e30 px) would be cast to garbage
            from tracker.types import as_boxes  # (torch: `tracker.eval` imports this module for `--help` too)

            # numpy, a list, any tensor; the shapes `update_detections` takes (a detector's rows: their boxes only)
            boxes = as_boxes(boxes_xyxy, scored=False)
            # a NaN or infinite box (which the tracker drops) masks nothing: NaN was cast to garbage with numpy's
            # "invalid value encountered in cast" on stderr, and an infinite corner masked to the frame's edge
            boxes = boxes[np.isfinite(boxes).all(axis=1)] * scale
            boxes = np.round(np.clip(boxes, 0, [shape[1], shape[0], shape[1], shape[0]])).astype(np.int64)
            for x1, y1, x2, y2 in boxes:
                mask[y1:y2, x1:x2] = 0
        return mask

    def _fit(
        self, previous: np.ndarray, previous_mask: np.ndarray, current: np.ndarray, mask: np.ndarray
    ) -> np.ndarray | None:
        method = self._method
        if method == "ecc":
            return self._fit_ecc(previous, previous_mask, current, mask)
        if method == "sparse_flow":
            points = self._flow_pairs(previous, previous_mask, current)
        else:
            points = self._orb_pairs(previous, previous_mask, current, mask)
        if points is None or len(points[0]) < self.config.camera_min_inliers:
            return None
        affine, inliers = cv2.estimateAffinePartial2D(
            points[0],
            points[1],
            method=cv2.RANSAC,
            ransacReprojThreshold=self.config.camera_ransac_px,
            maxIters=_RANSAC_ITERATIONS,
            confidence=_RANSAC_CONFIDENCE,
        )
        if affine is None or inliers is None or int(inliers.sum()) < self.config.camera_min_inliers:
            return None
        return affine

    def _flow_pairs(
        self, previous: np.ndarray, previous_mask: np.ndarray, current: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray] | None:
        corners = cv2.goodFeaturesToTrack(
            previous,
            maxCorners=self.config.camera_max_features,
            qualityLevel=_CORNER_QUALITY,
            minDistance=_CORNER_MIN_DISTANCE_PX,
            blockSize=_CORNER_BLOCK_SIZE,
            mask=previous_mask,
        )
        if corners is None:
            return None
        # (no `nextPts`, None: OpenCV makes the array, which its stubs do not say: their overloads want one given)
        lucas_kanade: Callable[..., tuple[np.ndarray, np.ndarray, np.ndarray]] = cv2.calcOpticalFlowPyrLK
        moved, status, _err = lucas_kanade(
            previous, current, corners, None, winSize=(_LK_WINDOW_PX, _LK_WINDOW_PX), maxLevel=_LK_LEVELS
        )
        ok = status.reshape(-1) == 1
        return corners.reshape(-1, 2)[ok], moved.reshape(-1, 2)[ok]

    def _orb_pairs(
        self, previous: np.ndarray, previous_mask: np.ndarray, current: np.ndarray, mask: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray] | None:
        if min(previous.shape[:2]) < _ORB_MIN_SIDE_PX or min(current.shape[:2]) < _ORB_MIN_SIDE_PX:
            return None  # ORB's scale pyramid cannot shrink a 1 px side (cv2.error in its resize): nothing to match
        orb = cv2.ORB.create(nfeatures=self.config.camera_max_features, fastThreshold=_ORB_FAST_THRESHOLD)
        kp0, des0 = orb.detectAndCompute(previous, previous_mask)
        kp1, des1 = orb.detectAndCompute(current, mask)
        if des0 is None or des1 is None:
            return None
        matches = cv2.BFMatcher(cv2.NORM_HAMMING, crossCheck=True).match(des0, des1)
        if not matches:
            return None
        src = np.array([kp0[m.queryIdx].pt for m in matches], dtype=np.float32)
        dst = np.array([kp1[m.trainIdx].pt for m in matches], dtype=np.float32)
        return src, dst

    def _fit_ecc(
        self, previous: np.ndarray, previous_mask: np.ndarray, current: np.ndarray, mask: np.ndarray
    ) -> np.ndarray | None:
        """ECC's affine from `previous` to `current` (Evangelidis & Psarakis 2008, OpenCV), each frame's people masked
        out of its own pixels: `findTransformECCWithMask` (OpenCV >= 4.13, PR #27952) takes both masks; the older
        `findTransformECC` takes only the input's, `current`'s (its mask is warped with the input image).

        None for a gray copy under `_ECC_MIN_SIDE_PX` on a side (a frame 1-3 px high or wide): OpenCV returned the
        identity it started from with a high correlation there whatever the motion, a failure counted as a good
        estimate (a 300 x 1 frame panning 2 px a frame: 0 px, no failure)."""
        if min(previous.shape[:2]) < _ECC_MIN_SIDE_PX or min(current.shape[:2]) < _ECC_MIN_SIDE_PX:
            return None
        warp: np.ndarray = np.eye(2, 3, dtype=np.float32)
        criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, _ECC_ITERATIONS, _ECC_EPSILON)
        try:
            if hasattr(cv2, "findTransformECCWithMask"):
                rho, warp = cv2.findTransformECCWithMask(
                    previous, current, previous_mask, mask, warp, cv2.MOTION_AFFINE, criteria, _ECC_GAUSS_FILTER
                )
            else:
                rho, warp = cv2.findTransformECC(
                    previous, current, warp, cv2.MOTION_AFFINE, criteria, mask, _ECC_GAUSS_FILTER
                )
        except cv2.error:  # did not converge (e.g. a scene cut or a blank frame)
            return None
        return warp.astype(np.float64) if rho >= _ECC_MIN_CORRELATION else None

    @staticmethod
    def _plausible(affine: np.ndarray, side: int) -> bool:
        """Rejects fits no camera makes between two frames: a big zoom step or a shift of a quarter of the frame's
        longer side `side` (its width, but for a frame taller than wide: a tilt of 12 px on a 40 x 3000 frame, under
        a quarter of its width, was refused, where the same frame turned wide had its 12 px pan estimated)."""
        if not np.isfinite(affine).all():
            return False
        scale = float(np.sqrt(abs(np.linalg.det(affine[:, :2]))))
        return abs(scale - 1.0) <= _MAX_SCALE_CHANGE and float(np.abs(affine[:, 2]).max()) <= _MAX_SHIFT_FRACTION * side
