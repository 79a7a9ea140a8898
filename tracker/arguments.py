"""Checks of the `Tracker`'s own arguments (frame rate, frame size, camera-motion noise, source name, gallery,
models, a detector's result): each returns the value in the form the tracker uses, or raises one error naming the
argument and what to give instead."""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Mapping
from typing import Any, cast

import numpy as np
import torch

from tracker.config import MAX_FRAME_RATE, MIN_FRAME_RATE, TrackerConfig
from tracker.gallery import Gallery

__all__ = [
    "check_gallery",
    "check_model",
    "check_source_name",
    "checked_camera_noise",
    "checked_frame_rate",
    "checked_frame_size",
    "detector_output",
]

_DETECTOR_RETURNS = (
    "the detector must return (boxes_xyxy, scores, class_ids): (N, 4) pixel corners, (N,) scores and (N,) class ids "
    "or None"
)
_ROW_COLUMNS = 6  # x1, y1, x2, y2, score, class: a detection row as ultralytics' `boxes.data` holds it
_BOX_COLUMNS = 4  # x1, y1, x2, y2
_PLAIN_NUMBERS = (int, float)  # Python's own number types, checked by class (a bool's class is bool: not one of them)


def detector_output(detected: Any) -> tuple[Any, Any, Any]:
    """The detector's result as its three parts (boxes_xyxy (N, 4), scores (N,), class_ids (N,) or None), checked
    by `Detections.from_arrays` later.

    Raises:
        ValueError: the detector returned something other than three values (a bare "not enough values to unpack
            (expected 3, got 2)" or "cannot unpack non-iterable NoneType object" named neither the detector nor
            what it must return), or a mapping (torchvision's detectors return a dict of boxes, labels and scores:
            its three keys were unpacked as the three parts, and the error named "boxes_xyxy" and the text 'boxes'),
            or one array or tensor (an (N, 6) array of x1, y1, x2, y2, score, class rows, ultralytics'
            `boxes.data`: with N = 3 its rows were unpacked as the three parts, and the error blamed boxes_xyxy's
            shape "(6,)" only on frames of three detections).
    """
    if isinstance(detected, np.ndarray | torch.Tensor):
        raise ValueError(f"{_DETECTOR_RETURNS}; got {_one_array(detected)}")
    if not isinstance(detected, tuple) and isinstance(detected, Mapping):
        keys = ", ".join(repr(name) for name in detected)
        raise ValueError(
            f"{_DETECTOR_RETURNS}; got {type(detected).__name__} with keys {keys} (return its arrays: "
            "(out['boxes'], out['scores'], out['labels']) for torchvision's)"
        )
    try:
        boxes, scores, class_ids = detected
    except (TypeError, ValueError):
        size = f" of {len(detected)}" if isinstance(detected, tuple | list) else ""
        raise ValueError(f"{_DETECTOR_RETURNS}; got {type(detected).__name__}{size}{_results_hint(detected)}") from None
    return boxes, scores, class_ids


def _one_array(detected: np.ndarray | torch.Tensor) -> str:
    """What one array or tensor a detector returned is, and how to split it into the three parts where its shape
    says (rows of detections)."""
    shape = tuple(detected.shape)
    got = f"one {type(detected).__name__} of shape {shape}"
    if len(shape) == 2 and shape[1] >= _ROW_COLUMNS:
        split = "return (a[:, :4], a[:, 4], a[:, 5])"
        return f"{got} (rows of x1, y1, x2, y2, score, class, as ultralytics' boxes.data? {split})"
    if len(shape) == 2 and shape[1] == _BOX_COLUMNS:
        return f"{got} (boxes only? return (boxes, scores, class_ids or None))"
    return got


def _results_hint(detected: Any) -> str:
    """A hint for ultralytics' own result list (what `YOLO(...)(frame)` returns), else nothing."""
    if isinstance(detected, list | tuple) and detected and hasattr(detected[0], "boxes"):
        return " (ultralytics' results: r = model(frame)[0]; return (r.boxes.xyxy, r.boxes.conf, r.boxes.cls))"
    return ""


def check_source_name(name: object, alternative: str = "") -> None:
    """TypeError unless `name` (a video's name in gallery sightings) is a str; `alternative`: what else the caller
    accepts, said after "a str"."""
    if not isinstance(name, str):
        accepted = f"a str {alternative}" if alternative else "a str"
        raise TypeError(f"source_name must be {accepted}, got {type(name).__name__}")


def check_gallery(gallery: object) -> None:
    """TypeError unless `gallery` is a `Gallery` instance or None: a path, a dict or the class itself failed at
    construction with an AttributeError ("'str' object has no attribute 'attach'"), in `from_config` only after the
    models had loaded."""
    if gallery is not None and not isinstance(gallery, Gallery):
        got = "the class Gallery" if gallery is Gallery else type(gallery).__name__
        hint = " (Gallery.load(path, cfg.gallery) reads a saved one)" if isinstance(gallery, str | os.PathLike) else ""
        raise TypeError(f"gallery must be a Gallery (Gallery() or Gallery.load(path)) or None, got {got}{hint}")


# the `gallery` keys a Gallery reads from its own config (`Gallery(config)`), not from the Tracker's: its search margin,
# prototypes, index and retention (the tracker's config gives the others: min_similarity, search_seconds, ...)
GALLERY_OWN_KEYS = (
    "prototypes",
    "prototype_method",
    "margin",
    "ivf_min_identities",
    "ivf_nprobe",
    "max_days_unseen",
    "max_identities",
)


def foreign_gallery_settings(gallery: Gallery, config: TrackerConfig) -> str | None:
    """What a Tracker of `config` given `gallery` is told when the gallery was made with other `gallery` settings
    (`GALLERY_OWN_KEYS`) than `config` holds (`Gallery()` or `Gallery.load(path)`: the defaults), which it then uses
    instead of the config's; None when they agree."""
    own, wanted = gallery.config, config.gallery
    differ = [
        f"gallery.{name} {getattr(own, name)!r} (this tracker's config: {getattr(wanted, name)!r})"
        for name in GALLERY_OWN_KEYS
        if getattr(own, name) != getattr(wanted, name)
    ]
    if not differ:
        return None
    return (
        f"the gallery was made with other settings than this tracker's config, and searches, keeps prototypes and "
        f"forgets by its own: {', '.join(differ)}; build it from the config, Gallery(cfg.gallery) or "
        f"Gallery.load(path, cfg.gallery)"
    )


def check_model(model: object, name: str, signature: str) -> None:
    """TypeError unless `model` (`Tracker`'s `detector` or `embedder`, called as `signature`) is callable or None: a
    model path or a config key's value was taken, and the first `update` failed with "'str' object is not callable"."""
    if model is not None and not callable(model):
        raise TypeError(
            f"{name} must be a callable {signature} or None, got {type(model).__name__}: to build the detector and "
            "ReID from model files, use Tracker.from_config(load_config(overrides=[...]))"
        )


def checked_frame_rate(value: Any, cfg: TrackerConfig) -> float:
    """`Tracker(frame_rate=)` as a float in [MIN_FRAME_RATE, MAX_FRAME_RATE] frames/s (None: `cfg.frame_rate`), or
    ValueError: not a number (a string, a bool, a list: "30" was taken as 30, True as 1 frame/s, [30] raised float()'s
    TypeError naming no argument), not positive, below the minimum or above the maximum. A one-element array or
    tensor is its value."""
    if value is None:
        return float(cfg.frame_rate)
    one = (isinstance(value, np.ndarray) and value.size == 1) or (
        isinstance(value, torch.Tensor) and value.numel() == 1
    )
    number = value.item() if one else value
    if isinstance(number, bool) or not isinstance(number, numbers.Real):
        raise ValueError(
            f"frame_rate must be a number of frames/s (or None: the config's frame_rate), got "
            f"{type(value).__name__} {value!r}"
        )
    number = cast(float, number)  # (a `numbers.Real` compares with numbers as a float does: typeshed's Real has no <)
    if not 0 < number <= MAX_FRAME_RATE:  # (NaN: False)
        hint = (
            " (OpenCV reads 0 for a video that does not say its rate: pass None, the config's)" if number == 0
            else " (a stream's declared rate is often bogus, e.g. OpenCV's 90000 for RTSP: pass the real rate, or None "
            "for the config's frame_rate)" if number > MAX_FRAME_RATE
            else ""
        )  # fmt: skip
        raise ValueError(f"frame_rate must be positive and at most {MAX_FRAME_RATE:g} frames/s, got {value}{hint}")
    if number < MIN_FRAME_RATE:  # (1e-300 overflowed the Kalman noises at the first frame: a bare OverflowError)
        raise ValueError(
            f"frame_rate must be at least {MIN_FRAME_RATE:g} frames/s (one frame every "
            f"{1 / MIN_FRAME_RATE:g} s), as the config's frame_rate; got {value}"
        )
    return float(number)


def checked_frame_size(size: Any) -> tuple[int, int]:
    """(height, width) as two positive ints (numbers, or 0-d arrays or tensors of one: iterating a tensor gives
    those), or ValueError: a count that is not a whole number (480.5 is not rounded), NaN, infinite, not positive, a
    string, or not two of them."""
    if _positive_ints(size):  # the usual `frame.shape[:2]`, every frame: as it is, no error text formatted
        return size
    try:
        values = tuple(size) if not isinstance(size, str | bytes) else ()
    except TypeError:
        raise _frame_size_error(size) from None
    if len(values) != 2:
        raise _frame_size_error(size)
    values = (_as_number(values[0]), _as_number(values[1]))
    if not (_is_pixel_count(values[0]) and _is_pixel_count(values[1])):
        raise _frame_size_error(size)
    return int(values[0]), int(values[1])


def _positive_ints(size: Any) -> bool:
    """Whether `size` is a tuple of two positive Python ints (Python's own int: not a bool, not numpy's)."""
    if size.__class__ is not tuple or len(size) != 2:
        return False
    height, width = size
    return height.__class__ is int and width.__class__ is int and height > 0 and width > 0


def _frame_size_error(size: Any) -> ValueError:
    """`checked_frame_size`'s error for a refused `size`."""
    return ValueError(
        f"frame_size must be two positive whole pixel counts (height, width), e.g. frame.shape[:2]; got {size!r}"
    )


def _as_number(value: Any) -> Any:
    """`value` as a Python number: Python's own int or float as it is (`frame.shape`'s ints, the default 0.0, every
    frame: no abstract-class test, which costs ~1 % of a frame there, docs/speed-log.md stop 62), anything else through
    `_number`."""
    return value if value.__class__ in _PLAIN_NUMBERS else _number(value)


def _is_real(value: Any) -> bool:
    """Whether `value` is a real number and not a bool (Python's own int and float without the abstract-class test)."""
    return value.__class__ in _PLAIN_NUMBERS or (not isinstance(value, bool) and isinstance(value, numbers.Real))


def _number(value: Any) -> Any:
    """A 0-d array or tensor (what iterating a tensor of sizes gives) as its Python number; anything else as it is."""
    if not isinstance(value, numbers.Number) and getattr(value, "ndim", None) == 0 and hasattr(value, "item"):
        return value.item()
    return value


def checked_camera_noise(value: Any, size: tuple[int, int] | None = None) -> float:
    """`camera_motion_noise` as a float, or ValueError: not a finite number >= 0 (a bool is not one), or more than
    the larger side of the frame `size` (height, width) when it is known. An estimate off by more than the frame
    tells nothing of the motion; the still rule (the only reader, and only with a frame size) squares the noise over
    box sides: 1e300 px overflowed float64, warned of it every frame and took every box for unmoved. A 0-d array or
    tensor (an estimator's result) is its number, as `frame_rate`'s and `frame_size`'s are."""
    value = _as_number(value)
    if not _is_real(value) or not math.isfinite(value) or value < 0:
        raise ValueError(f"camera_motion_noise must be a finite number of pixels >= 0; got {value!r}")
    if size is not None and value > max(size):
        raise ValueError(
            f"camera_motion_noise must be at most the frame's larger side ({max(size)} px of the {size[0]}x{size[1]} "
            f"frame): an estimate {value:g} px off tells nothing of the motion (pass camera_motion=None); got {value!r}"
        )
    return float(value)


def _is_pixel_count(value: Any) -> bool:
    """A positive whole number of pixels (an int, or a float such as 480.0), not a bool."""
    return _is_real(value) and math.isfinite(value) and value > 0 and value == int(value)
