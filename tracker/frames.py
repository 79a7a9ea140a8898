"""The frames `Tracker.update` and `Tracker.stream` take: a frame as the (H, W, 3) uint8 BGR array the detector and
ReID read, and `stream`'s iterable of frames, paired with the camera motions given for them."""

from __future__ import annotations

import numbers
import os
from collections.abc import Iterable, Iterator, Sized
from typing import Any, TypeGuard

import numpy as np
import torch

from tracker.stream_clock import checked_timestamp

__all__ = [
    "CHANNELS",
    "FRAME_SHAPES",
    "as_bgr",
    "bgr_tensor",
    "check_detect_ahead",
    "check_frame",
    "no_frames",
    "one_frame",
    "own_bgr",
    "own_frames",
    "with_motions",
]

FRAME_SHAPES = "(H, W, 3) BGR, (H, W) or (H, W, 1) gray, or (H, W, 4) BGRA"  # what `update` takes
CHANNELS = (1, 3, 4)  # the channel counts of FRAME_SHAPES's 3-D frames


def one_frame(frames: Any) -> TypeGuard[np.ndarray | torch.Tensor]:
    """Whether `stream(frames)` was given one frame, not frames: a 2-D array, or a 3-D one of 1, 3 or 4 channels last
    (a stack of N gray frames (N, H, W) is taken: a width of 1, 3 or 4 pixels is no picture)."""
    shape = getattr(frames, "shape", None) if isinstance(frames, np.ndarray | torch.Tensor) else None
    return shape is not None and (len(shape) == 2 or (len(shape) == 3 and shape[-1] in CHANNELS))


def check_detect_ahead(detect_ahead: Any) -> None:
    """TypeError unless `stream`'s `detect_ahead` is True, False or None (a numpy bool too, and the whole numbers 1
    and 0 that read as them: `detect_ahead=1` ran before this check). It comes second, where `stream(frames,
    motions)` put the motions: a list was taken for True and the motions ignored, an array raised numpy's "truth
    value ... is ambiguous", naming no argument, and a text "false" detected ahead."""
    if detect_ahead is None or isinstance(detect_ahead, bool | np.bool_):
        return
    if isinstance(detect_ahead, numbers.Integral) and detect_ahead in (0, 1):  # (C's truth values, numpy's too)
        return
    raise TypeError(
        f"detect_ahead must be True, False or None, got {type(detect_ahead).__name__} (the camera motions of the "
        "frames go by name: stream(frames, camera_motions=...))"
    )


def with_motions(frames: Iterable[Any], motions: Iterable[Any] | None) -> Iterator[tuple[Any, Any]]:
    """`stream`'s (frame, camera motion) pairs: each frame with the next item of `motions` (None for every frame when
    `motions` is None). ValueError, before any frame, for `motions` not iterable, one motion, or a length other than
    the frames' (both sized); else when one runs out before the other (at the frame without a motion, or after the
    last frame)."""
    if motions is None:
        return ((frame, None) for frame in frames)
    if isinstance(motions, np.ndarray | torch.Tensor) and motions.ndim == 2:
        raise ValueError(
            f"camera_motions must hold one camera motion per frame, got one motion of shape {tuple(motions.shape)}: "
            f"give [A] for one frame, or update(frame, camera_motion=A)"
        )
    if not (hasattr(type(motions), "__iter__") or hasattr(type(motions), "__getitem__")):
        raise ValueError(f"camera_motions must be an iterable of camera motions (one per frame), got {motions!r}")
    if isinstance(frames, Sized) and isinstance(motions, Sized) and len(frames) != len(motions):
        raise ValueError(
            f"camera_motions must hold one camera motion per frame (None where it is not known): "
            f"{len(motions)} motions for {len(frames)} frames"
        )
    return _paired(frames, iter(motions))


def _paired(frames: Iterable[Any], motions: Iterator[Any]) -> Iterator[tuple[Any, Any]]:
    """Each frame with the next motion (checked: `_checked_motion`); ValueError when the motions end first or
    outlast the frames, or for a motion `update` refuses, naming its item."""
    ended = object()
    tracked = 0
    for frame in frames:
        motion = next(motions, ended)
        if motion is ended:
            raise ValueError(
                f"camera_motions ended before frame {tracked} (counting from 0; the frames before it were tracked): "
                f"one camera motion per frame (None where it is not known)"
            )
        yield frame, _checked_motion(motion, tracked)
        tracked += 1
    if next(motions, ended) is not ended:
        raise ValueError(
            f"camera_motions has more items than the {tracked} frames: one camera motion per frame (the first "
            f"motion is frame 0's, from the frame before it)"
        )


def _checked_motion(motion: Any, index: int) -> Any:
    """Item `index` of `camera_motions` as `update` takes it (None, or its (3, 3) homography), or the ValueError of
    `as_homography` naming the item (it named a `camera_motion` argument `stream` has not, and no frame)."""
    if motion is None:
        return None
    from tracker.camera_motion import as_homography

    try:
        return as_homography(motion)
    except ValueError as exc:
        raise ValueError(f"camera_motions item {index} (frame {index}'s motion): {exc}") from None


def with_times(paired: Iterable[tuple[Any, Any]], timestamps: Iterable[Any] | None) -> Iterator[tuple[Any, Any, Any]]:
    """`stream`'s (frame, camera motion, time) triples: each (frame, motion) pair of `paired` with the next item of
    `timestamps` (checked: `checked_timestamp`, named as its item; None for every frame when `timestamps` is None).
    ValueError, at the first frame, for `timestamps` not iterable or one number; else when they run out before the
    frames (at the frame without one)."""
    if timestamps is None:
        return ((frame, motion, None) for frame, motion in paired)
    refused = ValueError(f"timestamps must be an iterable of times in seconds (one per frame), got {timestamps!r}")
    if isinstance(timestamps, str | bytes):
        raise refused
    try:  # (a numpy scalar or 0-d array has `__getitem__` but is one time: `iter` refuses it)
        times = iter(timestamps)
    except TypeError:
        raise refused from None
    return _timed(paired, times)


def _timed(paired: Iterable[tuple[Any, Any]], timestamps: Iterator[Any]) -> Iterator[tuple[Any, Any, Any]]:
    """Each pair with the next time; ValueError when the times end first, TypeError or ValueError for a time
    `update` refuses, naming its item."""
    ended = object()
    for index, (frame, motion) in enumerate(paired):
        stamp = next(timestamps, ended)
        if stamp is ended:
            raise ValueError(
                f"timestamps ended before frame {index} (counting from 0; the frames before it were tracked): one "
                "time per frame (None where it is not known)"
            )
        yield frame, motion, checked_timestamp(stamp, f"timestamps item {index}")


def own_frames(paired: Iterable[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
    """The (frame, ...) tuples, each frame a BGR copy of its own (`own_bgr`: a reader may refill its buffer)."""
    for frame, *rest in paired:
        yield own_bgr(frame), *rest


def no_frames(frames: Any) -> str | None:
    """What `stream(frames)` was given instead of frames, with what to do (None: an iterable, frames or not): a path
    (str, bytes, os.PathLike; stream does not open videos) or an object that is not iterable (a cv2.VideoCapture)."""
    read = "stream does not read videos: give the frames cv2.VideoCapture(path).read() returns, from a generator"
    if isinstance(frames, str | bytes | os.PathLike):
        return f"got the path {os.fsdecode(frames)!r}: {read}"
    # what makes `iter` work, asked of the type without calling it (an iterator made and dropped here could start a
    # DataLoader's workers or open a file twice); a class with only __getitem__ is iterable too
    if not (hasattr(type(frames), "__iter__") or hasattr(type(frames), "__getitem__")):
        return f"got {type(frames).__name__}, which is not iterable (a video capture? {read})"
    return None


def own_bgr(frame: Any) -> np.ndarray:
    """`as_bgr(frame)` in memory of its own (a copy where it is the caller's array or a view of it): `stream` holds
    a frame detected ahead while the caller's iterable makes the next, and a source that fills one buffer anew for
    each frame (`ok, buf = cap.read(buf)`, a camera SDK's ring buffer) overwrote the frame being embedded and
    tracked with the next one's pixels."""
    bgr = as_bgr(frame)
    return bgr.copy() if np.may_share_memory(bgr, frame) else bgr


def as_bgr(frame: Any) -> np.ndarray:
    """HxWx3 uint8 BGR, contiguous and writable; grayscale (HxW or HxWx1) and BGRA (HxWx4) are converted, a read-only
    frame copied, an ndarray subclass read as the plain array of its data (an `np.matrix`, which stays 2-D, raised
    numpy's AxisError in the conversion, or aborted the process); anything else is an error (`check_frame`'s
    ValueError)."""
    check_frame(frame)
    frame = np.asarray(frame)  # (a view: no pixel copied; a masked array's data, a memmap's pages)
    if frame.ndim == 2:
        frame = frame[:, :, None]
    if frame.shape[2] == 1:
        frame = np.repeat(frame, 3, axis=2)
    elif frame.shape[2] == 4:
        frame = frame[:, :, :3]
    if not frame.flags.writeable:  # torch.from_numpy warns about read-only arrays ("undefined behavior"): a copy
        return frame.copy()
    return np.ascontiguousarray(frame)


def bgr_tensor(frame: Any) -> torch.Tensor:
    """The (H, W, 3) uint8 BGR tensor the embedders read, from a frame of FRAME_SHAPES: a torch tensor stays on its
    device (gray repeated to 3 channels as a view, BGRA's alpha dropped: no pixel copied); a numpy array is `as_bgr`'s.

    Raises:
        ValueError: not a uint8 tensor or array of FRAME_SHAPES, or empty (naming the conversion to make).
    """
    if not isinstance(frame, torch.Tensor):
        check_frame(frame)  # (the error a numpy frame would get from `update`; it names torch tensors too)
        return torch.from_numpy(as_bgr(frame))
    if frame.dtype != torch.uint8:
        raise ValueError(f"frame must be uint8 (0-255, as OpenCV reads it), got {frame.dtype}")
    _check_layout(tuple(frame.shape), "frame.permute(1, 2, 0)")
    if frame.ndim == 2:
        frame = frame[:, :, None]
    if frame.shape[2] == 1:
        return frame.expand(-1, -1, 3)
    return frame[:, :, :3] if frame.shape[2] == 4 else frame


def check_frame(frame: Any) -> None:
    """Raise ValueError, naming the conversion to make, unless `frame` is a non-empty uint8 numpy array of
    FRAME_SHAPES (what `Tracker.update` and `CameraMotionEstimator.estimate` take). Reads no pixel."""
    if not isinstance(frame, np.ndarray):
        hint = " (a torch tensor: .cpu().numpy(), channels last)" if isinstance(frame, torch.Tensor) else ""
        hint = " (cv2 reads None at the end of a video or on a failed read)" if frame is None else hint
        if not hint and hasattr(frame, "__array_interface__"):  # a PIL image (RGB), or another array-like
            hint = " (np.asarray(frame) first; PIL and imageio give RGB: np.asarray(image)[:, :, ::-1] for BGR)"
        if not hint and _read_result(frame):
            hint = " (cap.read() returns (ok, frame): ok, frame = cap.read(), then give the frame)"
        elif not hint and isinstance(frame, list | tuple) and frame and isinstance(frame[0], np.ndarray):
            hint = " (several frames? update takes one; stream(frames) takes an iterable of them)"
        raise ValueError(f"frame must be a numpy uint8 array {FRAME_SHAPES}, got {type(frame).__name__}{hint}")
    if frame.dtype != np.uint8:
        hint = _DETECTION_ROWS if _detection_rows(frame.shape) else _dtype_hint(frame.dtype)
        raise ValueError(f"frame must be uint8 (0-255, as OpenCV reads it), got {frame.dtype}{hint}")
    _check_layout(frame.shape, "frame.transpose(1, 2, 0)")


# BoxMOT's `tracker.update(dets, img)` habit: (N, 6) detection rows given as `update`'s frame
_DETECTION_ROWS = (
    " (detection rows? update(frame) runs the detector: for (x1, y1, x2, y2, score, class) rows (BoxMOT's "
    "update(dets, img)), tracker.update_detections(dets[:, :4], dets[:, 4], dets[:, 5], frame_size=img.shape[:2]))"
)
_DETECTION_COLUMNS = (5, 6, 7)  # (x1, y1, x2, y2, score[, class[, detection index]]): BoxMOT's and ultralytics' rows


def _detection_rows(shape: tuple[int, ...]) -> bool:
    """Whether a non-uint8 array of `shape` given as a frame looks like detection rows, (N, 5-7) (a picture is
    uint8 and wider than 7 pixels)."""
    return len(shape) == 2 and shape[1] in _DETECTION_COLUMNS


def _dtype_hint(dtype: np.dtype) -> str:
    """The conversion to uint8 for a frame of `dtype`, in parentheses after a space ("" where none applies)."""
    if dtype.kind == "f":
        return " ((frame * 255).astype(np.uint8) for floats in [0, 1], frame.astype(np.uint8) in [0, 255])"
    if dtype.kind == "b":  # a mask (a threshold's result) given as the picture
        return " (a mask? frame.astype(np.uint8) * 255)"
    if dtype.kind == "i" and dtype.itemsize == 1:  # pixel bytes read as signed (np.frombuffer(..., np.int8))
        return " (frame.view(np.uint8): its bytes as unsigned pixels)"
    if dtype.kind in "ui":
        # 16-bit sensors and PNGs (cv2.IMREAD_UNCHANGED), or integer arithmetic that widened the type
        # (astype wraps values beyond [0, 255] round: 256 is black)
        wide = "np.clip(frame, 0, 255).astype(np.uint8) for values beyond [0, 255], "
        sixteen = "(frame // 257).astype(np.uint8) for 16 bits in [0, 65535], " if dtype == np.uint16 else wide
        return f" ({sixteen}frame.astype(np.uint8) for values in [0, 255])"
    return ""


def _check_layout(shape: tuple[int, ...], channels_last: str) -> None:
    """Raise ValueError unless a frame of `shape` is one of FRAME_SHAPES and not empty; `channels_last`: the call
    that puts a channels-first frame's channels last (numpy's or torch's), for the hint."""
    dims = (*shape, 1) if len(shape) == 2 else shape
    if len(dims) != 3 or dims[2] not in CHANNELS:
        hint = f" (channels first? {channels_last})" if len(dims) == 3 and shape[0] in CHANNELS else ""
        # a batch: (N, H, W, C) as a video reader gives, or (N, C, H, W) as a torch DataLoader does
        if len(dims) == 4 and (dims[3] in CHANNELS or dims[1] in CHANNELS):
            first = "frame[0]" if dims[3] in CHANNELS else f"frame[0]{channels_last.removeprefix('frame')}"
            hint = (
                f" (a batch of one frame? {first})"
                if dims[0] == 1
                else " (several frames? update takes one; stream(frames) takes an iterable of them)"
            )
        raise ValueError(f"frame must have shape {FRAME_SHAPES}, got {shape}{hint}")
    if dims[0] == 0 or dims[1] == 0:
        raise ValueError(f"frame is empty: shape {shape} (a failed read or a crop outside the image?)")


def _read_result(value: Any) -> bool:
    """Whether `value` is what `cv2.VideoCapture.read()` returns, (ok, frame): a bool and an array or None."""
    return (
        isinstance(value, tuple)
        and len(value) == 2
        and isinstance(value[0], bool | np.bool_)
        and (value[1] is None or isinstance(value[1], np.ndarray))
    )
