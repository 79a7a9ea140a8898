"""Checking a nested mapping (as read from YAML) against the config dataclasses of `tracker.config`.

`build_section(cls, data, prefix)` refuses unknown keys (with a did-you-mean), checks each value's type (no silent
conversions but int -> float), range and choices, then the section's relations (`Section.check_relations`), and
builds the frozen dataclass; `check_sections` guards a config built in Python; `config_to_dict` is the way back.
Every fault is a `ConfigError` naming the key (and list item) as written in YAML.
"""

from __future__ import annotations

import difflib
import functools
import math
import numbers
import os
import re
import types
import typing
from dataclasses import fields, is_dataclass
from typing import Any

from tracker.config_keys import ConfigError

__all__ = ["CLASS_EXAMPLES", "PEER_NAMES", "REMOVED_KEYS", "build_section", "check_sections", "config_to_dict"]

_SHOWN_CHARS = 80  # a wrong value longer than this is named by its type in an error, not printed whole
_EXPONENT_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+")  # 1e9, 5e-3: YAML 1.1 reads these as text


_CLASS_KEYS = frozenset({"detector.classes", "classes.compatible_groups"})  # keys of class ids (numbers, not names)
CLASS_EXAMPLES = "COCO: 0 person, 2 car, 5 bus, 7 truck"  # the ids a class name given for one is told (`--classes` too)
_BRACKETS_HINT = "a list of lists is written with both brackets"  # a flat list given for a list of lists
# Ultralytics' and BoxMOT's names of settings (docs/configuration.md's "name in the literature"): an unknown key of
# this name is told ours, with what differs in its meaning
PEER_NAMES = {
    "conf": ("detector.confidence", ""),
    "imgsz": ("detector.image_size", ""),
    "track_high_thresh": ("association.high_score", ""),
    "track_low_thresh": ("association.low_score", ""),
    "min_conf": ("association.low_score", ""),  # (BoxMOT's ByteTrack: the low-score pass's floor)
    "track_thresh": ("association.high_score", ""),  # (BoxMOT's ByteTrack: the high/low split)
    "new_track_thresh": ("association.new_track_score", ""),
    "match_thresh": ("association.max_cost", ""),
    "track_buffer": ("lifecycle.max_seconds_lost", ", in seconds here, not frames"),
    "max_age": ("lifecycle.max_seconds_lost", ", in seconds here, not frames"),
    "n_init": ("lifecycle.min_hits", ""),
    "appearance_thresh": ("appearance.match_threshold", ", a similarity here: 1 - their cosine distance"),
    "with_reid": ("appearance.enabled", ""),
    "gmc_method": ("motion.camera_compensation", ": none, auto, sparse_flow, orb or ecc here"),
    "nn_budget": ("appearance.bank_capacity", ""),
}

# keys of earlier versions, gone since: a config of one (a run's saved config.yaml) is told what became of each, not a
# did-you-mean of another key with another meaning
_REVERTED = "removed: an experiment reverted the day it came, the tracker works as with {was}; delete it"
REMOVED_KEYS = {
    "appearance.calibration_extra_seconds": "renamed appearance.calibration_sample_seconds: rename it",
    "motion.noise_uncut_only": "removed: measured not to pay, the tracker works as with false; delete it",
    "association.lost_needs_reid": _REVERTED.format(was="none"),
    "association.shared_gate_contested": _REVERTED.format(was="false"),
    "lifecycle.thin_bank_unbanked": _REVERTED.format(was="false"),
    "appearance.revival_ramp_uncalibrated": _REVERTED.format(was="false"),
}


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp))


def _expected(tp: Any) -> str:
    """What a value of the annotation `tp` is written as, for errors."""
    if typing.get_origin(tp) is tuple:
        return "a list written as in YAML, e.g. [0, 2]"
    return {bool: "true or false", int: "an integer", float: "a number", str: "a string"}.get(tp, _type_name(tp))


def _item_name(key: str, index: tuple[int, ...]) -> str:
    """`key` with the list positions `index` as written in errors: `classes.compatible_groups[1][1]`."""
    return key + "".join(f"[{i}]" for i in index)


def _shown(value: Any, tp: type) -> str:
    """`value` as an error shows it. Text that reads as a `tp` when written unquoted says so: "expected true or
    false, got 'false'" (a dict override `{"detector.half": "false"}`, or a value quoted in YAML) read as a
    contradiction."""
    if isinstance(value, str) and _reads_as(value, tp):
        return f"the text {value!r} (quoted in YAML, or a str in a Python dict: write the value itself, unquoted)"
    return repr(value)


def _name_hint(key: str, value: Any) -> str:
    """For a class key given a class's name (`detector.classes: [person]`, as a label reads): that ids are numbers,
    and the COCO ones; it said only "expected an integer, got 'person'"."""
    if key not in _CLASS_KEYS or not isinstance(value, str) or not any(c.isalpha() for c in value):
        return ""
    return f" (class ids are numbers, not names: {CLASS_EXAMPLES}, or the ids of your detector's classes)"


def _whole_hint(value: Any) -> str:
    """For an integer key given a whole number in another form (100.0, 1e3, '1e3'): how to write it."""
    if isinstance(value, str) and _EXPONENT_NUMBER.fullmatch(value.strip()):
        value = float(value)
    if isinstance(value, float) and value.is_integer():
        return f" (write {int(value)})"
    return ""


def _reads_as(text: str, tp: type) -> bool:
    """Whether `text`, written unquoted, is a value of `tp` (bool, int or float); not `inf` or `nan`, which YAML
    reads as text unquoted too (its own forms are .inf and .nan)."""
    if tp is bool:
        return text.strip().lower() in {"true", "false"}
    try:
        value = tp(text)
    except ValueError:
        return False
    return not isinstance(value, float) or math.isfinite(value)


def _from_numpy(value: Any) -> Any:
    """A numpy bool as Python's, a numpy (or torch) array of one or more dimensions as nested lists, as numpy's
    numbers are taken (`numbers.Integral`, `numbers.Real`): `dataclasses.replace(cfg.appearance,
    enabled=np.True_)` was refused as "expected true or false, got np.True_", `classes=np.unique(labels)` as
    "expected a list of int, got array([0, 2])". Anything else as it is."""
    if isinstance(value, str | bytes) or not hasattr(value, "tolist"):
        return value
    ndim = getattr(value, "ndim", None)
    if ndim == 0 and getattr(getattr(value, "dtype", None), "kind", None) == "b":
        return bool(value)
    return value.tolist() if isinstance(ndim, int) and ndim >= 1 else value


def _coerce(value: Any, tp: Any, key: str, index: tuple[int, ...] = ()) -> Any:
    """Check `value` against the annotation `tp` (no silent conversions but int -> float). A lone item stands for
    a list of one (`detector.classes: 0`), but not inside a list of lists: `compatible_groups: [2, 5, 7]` is one
    group written without its brackets, not three groups of one. `index`: the positions of `value` in `key`'s
    list (and its nested lists), () for the key's own value; errors carry both (`ConfigError.key`, `.index`)."""
    nested = bool(index)  # `value` is an item of a list
    name = _item_name(key, index)

    def error(message: str) -> ConfigError:
        return ConfigError(f"{name}: {message}", key=key, index=index)

    value = _from_numpy(value)
    if value is None:  # `--set key=` or `key:` with nothing after it: "expected a string, got None" puzzled
        raise error(f"no value given (empty, or null); expected {_expected(tp)}")
    if isinstance(value, dict) and value and not nested:  # `--set association.high_score.x=1`: "got {'x': 1}"
        inner = f"{name}.{next(iter(value))}"
        raise error(f"a key, not a section, so {inner} names nothing; expected {_expected(tp)}")
    origin = typing.get_origin(tp)
    if origin is tuple:
        (item_tp, _ellipsis) = typing.get_args(tp)
        if isinstance(value, str) and item_tp is not str:  # `--set detector.classes=0,2`: YAML reads one string
            raise error(
                f"expected a list written as in YAML, e.g. [0, 2], got the text {value!r}{_name_hint(key, value)}"
            )
        if isinstance(value, numbers.Integral | str) and not isinstance(value, bool) and not nested:
            value = [value]
        if not isinstance(value, (list, tuple)):
            inner = f" ({_BRACKETS_HINT}, e.g. [[2, 5, 7], [1, 3]])" if nested else ""
            raise error(f"expected a list of {_type_name(item_tp)}, got {value!r}{inner}")
        return tuple(_coerce(v, item_tp, key, (*index, i)) for i, v in enumerate(value))
    if origin in (typing.Union, types.UnionType):
        raise error("union types are not supported in configs")
    if tp is bool:
        if not isinstance(value, bool):
            raise error(f"expected true or false, got {_shown(value, bool)}")
        return value
    if tp is int:  # (numbers.Integral: numpy's integers too, as Python ints; never a bool)
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise error(f"expected an integer, got {_shown(value, int)}{_whole_hint(value)}{_name_hint(key, value)}")
        return int(value)
    if tp is float:
        if isinstance(value, str) and _EXPONENT_NUMBER.fullmatch(value.strip()):  # YAML 1.1 wants 1.0e+9
            value = float(value)
        if isinstance(value, bool) or not isinstance(value, numbers.Real):  # (numpy's floats too)
            raise error(f"expected a number, got {_shown(value, float)}")
        return float(value)
    if tp is str:
        if isinstance(value, os.PathLike):  # a model or weights path built with pathlib, as `load_config(path)` takes
            value = os.fspath(value)
        if not isinstance(value, str):
            raise error(f"expected a string, got {value!r}")
        if not value.strip():  # `detector.model: ''` reached ultralytics as '.': "if  is one, the copy is damaged"
            raise error("no value given (an empty string); expected a non-empty string")
        return value
    raise error(f"unsupported type {tp!r}")


def _coerce_written(value: Any, tp: Any, key: str, meta: Any) -> Any:
    """`_coerce_choice`, and for a key whose metadata says how it is `written` an error in those words:
    `camera_exclude: 0.8` said "expected a list of tuple, got 0.8"."""
    try:
        return _coerce_choice(value, tp, key, meta.get("choices"))
    except ConfigError as error:
        if not meta.get("written"):
            raise
        # a flat list where a list of lists is due: the original error's hint says what is missing (the brackets)
        hint = f" ({_BRACKETS_HINT})" if _BRACKETS_HINT in str(error) else ""
        raise ConfigError(
            f"{key}: expected {meta['written']}, got {value!r}{hint}", key=key, index=error.index
        ) from None


def _coerce_choice(value: Any, tp: Any, key: str, choices: tuple[Any, ...] | None) -> Any:
    """`_coerce`, and for a key with choices an error that lists them: YAML reads an unquoted off / no as false and
    null as None, which "expected a string, got False" left the user to decode."""
    try:
        return _coerce(value, tp, key)
    except ConfigError:
        if choices is None:
            raise
        if value is None:
            allowed = ", ".join(map(str, choices))
            raise ConfigError(f"{key}: no value given (empty, or null); expected one of {allowed}", key=key) from None
        yaml_hint = ""
        if isinstance(value, bool):
            yaml_hint = " (YAML reads off, no, yes and on without quotes as true / false)"
        allowed = ", ".join(map(str, choices))
        raise ConfigError(f"{key}: {value!r} is not one of {allowed}{yaml_hint}", key=key) from None


def _check_range(value: Any, meta: typing.Mapping[str, Any], key: str, index: tuple[int, ...] = ()) -> None:
    """`value` within the key's choices and [lo, hi]; a list's range applies to each item (class ids >= 0).
    `index`: the positions of `value` in `key`'s list, as in `_coerce`."""
    if isinstance(value, tuple):
        for i, item in enumerate(value):
            _check_range(item, meta, key, (*index, i))
        return
    name = _item_name(key, index)
    lo, hi, choices = meta.get("lo"), meta.get("hi"), meta.get("choices")
    if choices is not None and value not in choices:
        raise ConfigError(f"{name}: {value!r} is not one of {', '.join(map(str, choices))}", key=key, index=index)
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return
    if not math.isfinite(value):
        raise ConfigError(f"{name}: {value!r} is not a finite number", key=key, index=index)
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ConfigError(f"{name}: {value!r} {_outside(lo, hi)}", key=key, index=index)


def _outside(lo: float | None, hi: float | None) -> str:
    """What a value outside [lo, hi] is told, as a user reads a bound: "is out of range [1, 64]", or for a range open
    on one side "must be 0 or more" / "must be 1 or less" (it said "[0, inf]")."""
    if hi is None:
        return f"must be {_bound(lo)} or more" if lo is not None else "is out of range"
    if lo is None:
        return f"must be {_bound(hi)} or less"
    return f"is out of range [{_bound(lo)}, {_bound(hi)}]"


def _bound(bound: float) -> str:
    """A range's end as an error shows it: an integer in full (`:g` wrote 67108864 as 6.71089e+07), a float short."""
    return str(bound) if isinstance(bound, int) else f"{bound:g}"


def _unknown_key(key: str, cls: type, prefix: str, root: type) -> ConfigError:
    """The error of `key`, not a key of the config dataclass `cls` (at `prefix`, in the whole config `root`):
    `_unknown`'s."""
    return _unknown(key, cls, prefix, root)[0]


def _unknown(key: str, cls: type, prefix: str, root: type) -> tuple[ConfigError, str]:
    """The error of `key`, not a key of the config dataclass `cls` (at `prefix`, in the whole config `root`): a
    did-you-mean of the keys of `cls`'s sections it is (`bank_capacity`: `appearance.bank_capacity`), else of the
    keys of that name elsewhere in `root` (written under another section: `motion.max_seconds_lost` is
    `lifecycle.max_seconds_lost`, `reid.device` is `device`) and the closest key of `cls` in any case (`TopK`:
    `topk`), else the known keys. A key of an earlier version (`REMOVED_KEYS`) is told what became of it instead.
    With its short hint, as another unknown key's error names it (`ConfigError.also_unknown`): the did-you-mean
    alone, "" for the known keys (a list the error names once)."""
    if (became := REMOVED_KEYS.get(f"{prefix}{key}")) is not None:
        message = f"config key '{prefix}{key}' of an earlier version was {became}"
        return ConfigError(message, key=f"{prefix}{key}"), "a key of an earlier version"
    if _is_dotted_key(root, f"{prefix}{key}"):  # (`detector.confidence: 0.3` in a file: --set's name copied)
        section, _, leaf = f"{prefix}{key}".rpartition(".")
        message = (
            f"config key '{prefix}{key}' written in one word: a file writes it under its section, `{section}:` then "
            f"`{leaf}: ...` indented below it (the dotted name is --set's)"
        )
        return ConfigError(message, key=f"{prefix}{key}"), f"written in one word: `{section}:` then `{leaf}:`"
    known = [f.name for f in fields(cls)]
    close = _keys_of_sections(cls, key, prefix)
    if not close and prefix:  # (a key of another section had "known keys: ..." of this one, or a near name here)
        close = [f.name for f in fields(root) if _section_class(f) is None and f.name == key.lower()]
        close += _keys_of_sections(root, key, "")
    if not close and key.lower() in PEER_NAMES:  # (`--set track_buffer=30`, `detector.conf=0.3`)
        ours, differs = PEER_NAMES[key.lower()]
        hint = f"; did you mean '{ours}'? (Ultralytics' and BoxMOT's {key.lower()}{differs})"
        return ConfigError(f"unknown config key '{prefix}{key}'{hint}", key=f"{prefix}{key}"), f"did you mean '{ours}'?"
    if not close or prefix:
        close += [f"{prefix}{name}" for name in difflib.get_close_matches(key.lower(), known, n=1)]
    close = list(dict.fromkeys(close))  # (`appearance.TopK`: its own section's key, found both ways)
    meant = f"did you mean {' or '.join(map(repr, close))}?" if close else ""
    hint = f"; {meant}" if close else f"; known keys: {', '.join(known)}"
    return ConfigError(f"unknown config key '{prefix}{key}'{hint}", key=f"{prefix}{key}"), meant


def _unknown_keys(cls: type, data: Any, prefix: str, root: type) -> list[tuple[ConfigError, str]]:
    """Every key of `data` (a nested mapping, as read from YAML) that the config dataclass `cls` (at `prefix`, in
    `root`) has not, as `_unknown` tells it, in the order `build_section` meets them (a mapping's own keys, then its
    sections' in the dataclass's order)."""
    if not isinstance(data, dict):
        return []
    known = {f.name for f in fields(cls)}
    found = [_unknown(str(key), cls, prefix, root) for key in data if key not in known]
    for f in fields(cls):
        section = _section_class(f)
        if section is not None and f.name in data:
            found += _unknown_keys(section, data[f.name], f"{prefix}{f.name}.", root)
    return found


def _naming_all_unknown(error: ConfigError, cls: type, data: Any, prefix: str) -> ConfigError:
    """`error`, the whole config's (`cls` at `prefix`, of `data`), where it is an unknown key's: with the config's
    other unknown keys (`ConfigError.also_unknown`; a file of several typos took a run for each). Any other error as
    it is."""
    unknown = _unknown_keys(cls, data, prefix, cls)
    if len(unknown) < 2 or error.also_unknown or (error.key, str(error)) != (unknown[0][0].key, str(unknown[0][0])):
        return error
    also = tuple((str(other.key), None, hint) for other, hint in unknown[1:])
    return ConfigError(error.args[0], key=error.key, index=error.index, also_unknown=also)


def _is_dotted_key(root: type, dotted: str) -> bool:
    """Whether `dotted` (`detector.confidence`, a name with a dot) names a key of the config dataclass `root` that
    is not a section: a key a YAML mapping wrote in one word rather than nested under its section."""
    cls: type | None = root
    *sections, leaf = dotted.split(".")
    for name in sections:
        field = next((f for f in fields(cls) if f.name == name), None) if cls is not None else None
        cls = None if field is None else _section_class(field)
    return bool(sections) and cls is not None and any(f.name == leaf and _section_class(f) is None for f in fields(cls))


def _keys_of_sections(cls: type, key: str, prefix: str) -> list[str]:
    """The dotted keys named `key` (any case) of the sections of the config dataclass `cls` (at `prefix`)."""
    sections = [(f.name, _section_class(f)) for f in fields(cls)]
    return [
        f"{prefix}{name}.{inner.name}"
        for name, section in sections
        if section is not None
        for inner in fields(section)
        if inner.name == key.lower()
    ]


@functools.cache  # (a class's annotations do not change: each Tracker validates its config, ~2.5 ms of hints uncached)
def _type_hints(cls: type) -> dict[str, Any]:
    """`typing.get_type_hints(cls)`, resolved once per config dataclass (read only: callers do not change it)."""
    return typing.get_type_hints(cls)


def build_section(cls: type, data: Any, prefix: str = "", root: type | None = None) -> Any:
    """The config dataclass `cls` built from the mapping `data` (None: the defaults), its sections recursively.

    Args:
        cls: a config dataclass (a `tracker.config_keys.Section`).
        data: its keys as read from YAML; a key not given keeps its default.
        prefix: `cls`'s dotted name with a trailing dot (`motion.`), "" for the whole config.
        root: the whole config's dataclass, where an unknown key is looked up in the other sections (None: `cls`).
    Raises:
        ConfigError: the first unknown key, wrong type, out-of-range value or broken relation, named as in YAML;
            an unknown key's with the others the whole config (`root` None) holds (`ConfigError.also_unknown`).
    """
    if root is None:
        try:
            return build_section(cls, data, prefix, cls)
        except ConfigError as error:
            raise _naming_all_unknown(error, cls, data, prefix) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        section = prefix.rstrip(".") or None  # (None: the whole config, no key)
        if section is None:
            raise ConfigError(f"config: expected a mapping, got {data!r}", key=None)
        # (it said "expected a mapping" alone: a user who wrote `association: 0.5` or `- key: value` items was not
        # told how a section is written)
        # (only a list of `- key: value` items had a '- ' to take away: `[1, 2]` has none)
        key_items = isinstance(data, list) and bool(data) and all(isinstance(item, dict) for item in data)
        items = " (a list: write its keys without the '- ' before each)" if key_items else ""
        raise ConfigError(
            f"{section}: a section, so expected a mapping of its keys (`{section.rsplit('.', 1)[-1]}:` then one "
            f"`key: value` a line indented below it, or `{{key: value}}`), got {data!r}{items}",
            key=section,
        )
    hints = _type_hints(cls)
    known = [f.name for f in fields(cls)]
    for key in data:
        if key not in known:
            raise _unknown_key(str(key), cls, prefix, root or cls)
    kwargs = {}
    for f in fields(cls):
        if f.name not in data:
            continue
        tp = _section_class(f) or hints[f.name]
        full = prefix + f.name
        if is_dataclass(tp):
            kwargs[f.name] = build_section(tp, data[f.name], full + ".", root or cls)
        else:
            value = _coerce_written(data[f.name], tp, full, f.metadata)
            _check_range(value, f.metadata, full)
            kwargs[f.name] = value
    cfg = cls(**kwargs)
    cfg.check_relations(prefix)
    return cfg


def _section_class(f: Any) -> type | None:
    """The config dataclass of section field `f` (its default factory, bound where the class was defined), or None
    for a key. Not the annotation: `typing.get_type_hints` resolves it by module name, so with a second copy of this
    package loaded in one process (tools/bench_against.py) one copy built and checked the other's sections."""
    factory = f.default_factory
    return factory if isinstance(factory, type) and is_dataclass(factory) else None


def section_names(cls: type, prefix: str = "") -> frozenset[str]:
    """The dotted names of the sections of the config dataclass `cls` (`detector`, ...), nested ones too."""
    names: set[str] = set()
    for f in fields(cls):
        tp = _section_class(f)
        if tp is not None:
            names |= {f"{prefix}{f.name}", *section_names(tp, f"{prefix}{f.name}.")}
    return frozenset(names)


def check_sections(cfg: Any, prefix: str = "") -> None:
    """Each section of `cfg` (a config dataclass) is an instance of its dataclass (`_section_class`), recursively.

    Raises:
        ConfigError: the first section replaced by something else (None, a dict), named as in YAML.
    """
    for f in fields(cfg):
        tp = _section_class(f)
        if tp is None:
            continue
        value = getattr(cfg, f.name)
        if not isinstance(value, tp):
            shown = repr(value) if len(repr(value)) <= _SHOWN_CHARS else type(value).__name__
            raise ConfigError(
                f"{prefix}{f.name}: expected {tp.__name__} (dataclasses.replace(cfg.{prefix}{f.name}, key=value) or"
                f" load_config(overrides=...)), got {shown}",
                key=f"{prefix}{f.name}",
            )
        check_sections(value, f"{prefix}{f.name}.")


def config_to_dict(cfg: Any) -> dict[str, Any]:
    """A plain nested dict (tuples as lists) suitable for YAML/JSON."""

    def plain(v: Any) -> Any:
        if isinstance(v, tuple):
            return [plain(x) for x in v]
        return v

    return {
        f.name: config_to_dict(value) if is_dataclass(value) else plain(value)
        for f in fields(cfg)
        for value in [getattr(cfg, f.name)]
    }
