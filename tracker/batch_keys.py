"""The config keys a finished video of `track batch` was tracked with, against the batch's config now.

A video's fingerprint (`tracker.batch_work.make_tasks`) hashes the whole tracking config, so an upgrade that adds a
key changed every fingerprint and a re-run tracked every video again, though a key at its default changes nothing
that run did. The folder's `config.yaml` (written by the run: every key it knew) tells which keys the run knew:
`unknown_at_default` lists the keys it lacks whose value now is their default, which the fingerprint of that run
left out (`without`); `changed_keys` names what differs, for the note of a video tracked again.

A key the record has and the tracker no longer has (an upgrade removed it: `removed_keys`) is not taken as no change:
what it set is now done another way or not at all, which can change the outputs, and nothing says the value the run
had is the behaviour kept. Such a video is tracked again (safe: reusing it could keep outputs this version would not
make), and its note names the key and says why (it said nothing: `changed_keys` read only the keys the tracker has).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from tracker.config import TrackerConfig, config_to_dict
from tracker.config_keys import KEY_SEPARATOR, flat_keys
from tracker.run_folders import CONFIG_NAME

__all__ = ["REMOVED", "changed_keys", "recorded_config", "removed_keys", "unknown_at_default", "without"]

# an official detector name the driver downloaded is recorded as the file's path (`batch._with_local_detector`),
# while the fingerprint keeps the name: that path is the same setting
DETECTOR_MODEL_KEY = "detector.model"
CHANGES_NAMED = 5  # a note names at most this many changed keys, then how many more
REMOVED = "removed"  # what a note says a key the tracker no longer has became ("key: 0.5 -> removed")


def recorded_config(folder: Path) -> dict[str, Any] | None:
    """The keys and values of `folder/config.yaml` as written (not completed with defaults), or None where there
    is no such file or it is no YAML mapping (a folder of an older batch without one: nothing to compare)."""
    try:
        data = yaml.safe_load((folder / CONFIG_NAME).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    return data if isinstance(data, dict) else None


def unknown_at_default(current: Mapping[str, Any], recorded: Mapping[str, Any]) -> list[str]:
    """The dotted keys of `current` (a tracking config as `config_to_dict` gives it) that `recorded` lacks and whose
    value in `current` is the default (`TrackerConfig()`'s): keys added to the tracker since, left as they were."""
    defaults = flat_keys(config_to_dict(TrackerConfig()))
    known = flat_keys(recorded)
    added = {key: value for key, value in flat_keys(current).items() if key not in known and key in defaults}
    return [key for key, value in added.items() if defaults[key] == value]


def without(config: Mapping[str, Any], keys: Iterable[str]) -> dict[str, Any]:
    """`config` (nested) without the dotted `keys`; a section left empty is dropped, as one the run did not know."""
    nested = {name: dict(value) if isinstance(value, Mapping) else value for name, value in config.items()}
    for key in keys:
        *path, leaf = key.split(KEY_SEPARATOR)
        _drop(nested, path, leaf)
    return nested


def removed_keys(current: Mapping[str, Any], recorded: Mapping[str, Any]) -> list[str]:
    """The dotted keys of `recorded` (a run's `config.yaml`, as `current` without `batch`) that `current` (a tracking
    config as `config_to_dict` gives it) lacks: keys an upgrade removed from the tracker, in `recorded`'s order."""
    now = flat_keys(current)
    return [key for key in flat_keys(recorded) if key not in now]


def changed_keys(current: Mapping[str, Any], recorded: Mapping[str, Any]) -> str:
    """The dotted keys whose value in `current` differs from `recorded`'s (a key `recorded` lacks counts unless it is
    at its default, `unknown_at_default`; a key `current` lacks, `removed_keys`, counts as "key: old -> removed"), as
    "key: old -> new, ..." (at most `CHANGES_NAMED`); "" where none."""
    before, now = flat_keys(recorded), flat_keys(current)
    new_defaults = set(unknown_at_default(current, recorded))
    differing = [(key, value) for key, value in now.items() if before.get(key, _ABSENT) != value]
    changes = [
        f"{key}: {before[key]!r} -> {value!r}" if key in before else f"{key}: new, {value!r}"
        for key, value in differing
        if key not in new_defaults and not _same_model(key, before.get(key), value)
    ]
    changes += [f"{key}: {before[key]!r} -> {REMOVED}" for key in removed_keys(current, recorded)]
    more = len(changes) - CHANGES_NAMED
    return ", ".join(changes[:CHANGES_NAMED]) + (f" and {more} more" if more > 0 else "")


_ABSENT = object()  # a key the record lacks (no config value is this)


def _same_model(key: str, before: Any, now: Any) -> bool:
    """Whether `before` is the path of the official detector `now` names, downloaded by the batch's driver."""
    return key == DETECTOR_MODEL_KEY and isinstance(before, str) and isinstance(now, str) and Path(before).name == now


def _drop(nested: dict[str, Any], path: list[str], leaf: str) -> None:
    """Remove `leaf` under the sections `path` of `nested` (copying each section it changes), and a section it
    leaves empty."""
    if not path:
        nested.pop(leaf, None)
        return
    section = nested.get(path[0])
    if not isinstance(section, Mapping):
        return
    inner = dict(section)
    _drop(inner, path[1:], leaf)
    if inner:
        nested[path[0]] = inner
    else:
        nested.pop(path[0])
