"""A `Gallery` call's arguments checked before anything is stored (`tracker.gallery`): the config and model a gallery
is made with, global IDs, an identity's record (class, sightings), `prune`'s `now` and `link`'s cannot-link pairs.
Each gives one clear error, or the value as the gallery keeps it (numpy numbers made Python's: saves write JSON)."""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Iterable
from typing import Any, SupportsInt, cast

from tracker.config import GalleryConfig, TrackerConfig
from tracker.gallery_records import ModelIdentity, Sighting, is_whole
from tracker.gallery_upkeep import ID_STRIDE, MAX_GLOBAL_ID

__all__ = [
    "check_config",
    "check_model_type",
    "checked_global_id",
    "checked_record",
    "checked_sighting",
    "checked_source_record",
    "track_pairs",
    "unix_seconds",
    "whole_ids",
]


def check_model_type(model: Any) -> None:
    """TypeError unless `model` is None or a `ModelIdentity` (a tuple of its fields is the common mistake)."""
    if model is not None and not isinstance(model, ModelIdentity):
        raise TypeError(f"model must be a ModelIdentity(name, weights_digest, dim), got {type(model).__name__}")


def check_config(config: Any) -> None:
    """TypeError unless `config` is None or a `GalleryConfig` (the whole `TrackerConfig`, or a saved gallery's path
    for `Gallery.load`, is the common mistake);
    ValueError for `prototypes` of `ID_STRIDE` or more (a config `load_config` did not check: `Gallery.load` called
    the file corrupt)."""
    if config is not None and not isinstance(config, GalleryConfig):
        hint = ": pass its gallery section, cfg.gallery" if isinstance(config, TrackerConfig) else ""
        if isinstance(config, str | os.PathLike):  # Gallery("site.gallery"): a saved gallery is opened by `load`
            hint = f": to open the saved gallery {os.fspath(config)!r}, Gallery.load(path)"
        raise TypeError(f"config must be a GalleryConfig (load_config(...).gallery), got {type(config).__name__}{hint}")
    if config is not None and config.prototypes >= ID_STRIDE:
        raise ValueError(f"gallery.prototypes must be below {ID_STRIDE}, got {config.prototypes}")


def unix_seconds(now: Any) -> float:
    """`now` (`Gallery.prune`'s) as a float: TypeError unless a real number (a datetime: its `.timestamp()`),
    ValueError unless finite (NaN would forget nobody without a word)."""
    if isinstance(now, bool) or not isinstance(now, numbers.Real):
        hint = ": .timestamp()" if hasattr(now, "timestamp") else ""
        raise TypeError(f"now must be Unix seconds (time.time()), got {type(now).__name__}{hint}")
    if not math.isfinite(now):
        raise ValueError(f"now must be finite Unix seconds, got {now!r}")
    return float(now)


def checked_global_id(global_id: object) -> int:
    """`global_id` as an int: TypeError unless a whole number, ValueError outside [1, `MAX_GLOBAL_ID`] (`NO_ID`, or
    one whose index row ids would overflow int64)."""
    if not is_whole(global_id):
        raise TypeError(f"global_id must be a whole number, got {global_id!r}")
    gid = int(cast(SupportsInt, global_id))  # (`is_whole`: a `numbers.Integral`, which mypy cannot narrow to)
    if not 1 <= gid <= MAX_GLOBAL_ID:
        raise ValueError(f"global_id {gid} is out of range [1, {MAX_GLOBAL_ID}] (a new one: new_id())")
    return gid


def checked_record(class_id: Any, sighting: Any, first_seen: Any) -> tuple[int, Sighting, Sighting | None]:
    """What `Gallery.add` keeps in an identity's record, which every later save writes (as JSON: Python numbers):
    `class_id` and the sightings (`first_seen` may be None) with numpy numbers made Python's. TypeError for a class
    that is not a whole number or a sighting that is not a `Sighting` (`checked_sighting`)."""
    if not is_whole(class_id):
        raise TypeError(f"class_id must be a whole number, got {class_id!r}")
    last = checked_sighting(sighting, "sighting")
    return int(class_id), last, None if first_seen is None else checked_sighting(first_seen, "first_seen")


def checked_sighting(seen: Any, name: str) -> Sighting:
    """`seen` as a `Sighting` of Python numbers; TypeError naming it `name` unless it is a `Sighting` of a whole
    frame, a real time and a text source, ValueError for a time NaN or infinite."""
    if not isinstance(seen, Sighting):
        raise TypeError(f"{name} must be a Sighting(frame, time, source), got {seen!r}")
    if not is_whole(seen.frame):
        raise TypeError(f"{name}'s frame must be a whole number, got {seen.frame!r}")
    if isinstance(seen.time, bool) or not isinstance(seen.time, numbers.Real):
        raise TypeError(f"{name}'s time must be a number (Unix seconds), got {seen.time!r}")
    if not math.isfinite(seen.time):
        raise ValueError(f"{name}'s time must be finite (Unix seconds), got {seen.time!r}")
    if not isinstance(seen.source, str):
        raise TypeError(f"{name}'s source must be text, got {seen.source!r}")
    return Sighting(int(seen.frame), float(seen.time), seen.source)


def checked_source_record(key: Any, name: Any, frames: Any, tracked: Any) -> tuple[str, int | None, int | None]:
    """`Gallery.record_source`'s arguments checked before anything is recorded, so that every later save writes a
    file `Gallery.load` reads: (name, frames, tracked), the name as text (a `Path`'s: `os.fspath`), the counts as
    Python ints or None. TypeError for a key that is not text (None: what `source_digest` gives for a stream, which
    is not recorded), a name that is neither text nor a path of text, or frames or tracked that are not whole
    numbers or None (a whole float, OpenCV's `CAP_PROP_FRAME_COUNT` 40.0, is taken; 40.5 is not rounded);
    ValueError for a negative count."""
    if not isinstance(key, str):
        stream = ": source_digest gives None for a stream (or a path that names no readable file), not recorded"
        raise TypeError(
            f"key must be a source's key, source_digest(path)'s text, got {key!r}{stream if key is None else ''}"
        )
    text = os.fspath(name) if isinstance(name, os.PathLike) else name  # (the `Path` a source was opened by)
    if not isinstance(text, str):
        raise TypeError(f"name must be text or a path (the source as given), got {type(name).__name__} {name!r}")
    counts = []
    for label, count in (("frames", frames), ("tracked", tracked)):
        if _whole_float(count):  # (OpenCV reads a video's frame count as a float)
            count = int(count)
        if count is not None and not is_whole(count):
            raise TypeError(f"{label} must be a whole number of frames or None, got {count!r}")
        if count is not None and count < 0:
            raise ValueError(f"{label} must be >= 0, got {count}")
        counts.append(None if count is None else int(count))
    return str(text), counts[0], counts[1]


def _whole_float(value: object) -> bool:
    """Whether `value` is a real number that is no integer type (a float, Python's or numpy's) of a whole finite
    value: 40.0, not 40.5, NaN or inf."""
    if not isinstance(value, numbers.Real) or isinstance(value, numbers.Integral):
        return False
    return float(value).is_integer()  # (NaN and inf: False)


def whole_ids(global_ids: Iterable[int] | int) -> list[int]:
    """`global_ids` (one whole number, or an iterable of them: Python's or numpy's) as a list of ints; TypeError for
    text (its characters are no IDs) or any other value (a float would be truncated into another identity's ID)."""
    if is_whole(global_ids):  # (a `numbers.Integral`: `int` or numpy's, which mypy cannot narrow to)
        return [int(cast(SupportsInt, global_ids))]
    given = [global_ids] if isinstance(global_ids, str | bytes) else list(cast(Iterable[int], global_ids))
    wrong = [g for g in given if not is_whole(g)]
    if wrong:
        raise TypeError(f"global IDs must be whole numbers (remove([12, 31]) or remove(12)), got {wrong[0]!r}")
    return [int(g) for g in given]


def track_pairs(cannot_link: Iterable[tuple[int, int]], count: int) -> list[tuple[int, int]]:
    """`Gallery.link`'s `cannot_link` as a list of pairs of track positions, or ValueError naming a pair with a
    position that is not one of the `count` tracks' (before anything is stored)."""
    pairs = [(int(i), int(j)) for i, j in cannot_link]
    for pair in pairs:
        outside = [p for p in pair if not 0 <= p < count]
        if outside:
            raise ValueError(
                f"cannot_link: {pair} names track {outside[0]}; there are {count} tracks (positions 0-{count - 1})"
            )
    return pairs
