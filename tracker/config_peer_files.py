"""Telling another tracker's YAML given as a config: Ultralytics' tracker files (`bytetrack.yaml`, `botsort.yaml`, with
their `tracker_type`) and BoxMOT's (each setting a search space: `track_buffer: {type: qrandint, default: 30, ...}`).

`--config bytetrack.yaml` said only "unknown config key 'tracker_type'; known keys: device, frame_rate, ..." of the
file's first line, and a BoxMOT file "unknown config key 'min_conf'": a user porting their settings learnt of one key
at a time. `peer_file_error` says what the file is and, in one line, ours for each of its settings.
"""

from __future__ import annotations

from typing import Any

from tracker.config_build import PEER_NAMES
from tracker.config_keys import KEY_SEPARATOR, flat_keys

__all__ = ["peer_file_error"]

_ULTRALYTICS_KIND = "tracker_type"  # the key every Ultralytics tracker YAML starts with (bytetrack, botsort)
_BOXMOT_DEFAULT = "default"  # what each setting of a BoxMOT tracker YAML holds (beside its search space: type, range)
# where this tracker's keys are listed, for a pip-installed user too (a wheel ships no configs/default.yaml)
_KEYS_LISTED = (
    "every `track` run's OUT/config.yaml lists them, with their values, "
    "and tracker.config.config_to_yaml(TrackerConfig()) prints them"
)
_NEEDS_NONE = frozenset({_ULTRALYTICS_KIND})  # a peer file's keys with nothing to set here (one tracker: no kind)


def _boxmot_defaults(data: dict[str, Any]) -> dict[str, Any] | None:
    """{setting: its `default`} of a BoxMOT tracker YAML (every top-level value a mapping holding `default`), or None
    for another file."""
    if not data or not all(isinstance(v, dict) and _BOXMOT_DEFAULT in v for v in data.values()):
        return None
    return {key: value[_BOXMOT_DEFAULT] for key, value in data.items()}


def _by_own_name(defaults: dict[str, Any]) -> dict[str, str]:
    """{a key's own name: its dotted name} of the nested config mapping `defaults` (`min_hits`: `lifecycle.min_hits`,
    `frame_rate`: `frame_rate`); a name in several sections names the last (`model`: `reid.model`)."""
    return {key.rpartition(KEY_SEPARATOR)[2]: key for key in flat_keys(defaults)}


def _told(settings: dict[str, Any], ours_by_name: dict[str, str]) -> str:
    """Ours for each of a peer file's `settings` ({name: value}), one sentence: `key=value` where the value means the
    same here (a setting of our name, `min_hits`, or the peers' name for ours, `track_high_thresh`), the key and what
    differs where it does not, then the settings with no counterpart."""
    same, differ, none = [], [], []
    for name, value in settings.items():
        if str(name).lower() in _NEEDS_NONE:
            continue
        own = ours_by_name.get(str(name))
        ours, differs = (own, "") if own else PEER_NAMES.get(str(name).lower(), (None, ""))
        if ours is None:
            none.append(str(name))
        elif differs:
            differ.append(f"{name} -> {ours} ({differs.lstrip(',: ')})")
        else:
            same.append(f"{ours}={value}")
    parts = []
    if same:
        parts.append(f"the same settings here: {' '.join(same)}")
    if differ:
        parts.append(f"ours, in other units: {'; '.join(differ)}")
    if none:
        parts.append(f"no counterpart here (this tracker's own rules decide): {', '.join(none)}")
    return "; ".join(parts) if parts else "none of its settings has a counterpart here"


def peer_file_error(data: dict[str, Any], defaults: dict[str, Any]) -> str | None:
    """What is said of a config file whose mapping `data` is another tracker's YAML, or None for any other file.

    Args:
        data: the file's top-level mapping, as read from YAML.
        defaults: this tracker's config as a nested mapping (`config_to_dict(TrackerConfig())`): its keys' names.

    Returns:
        One line: whose file it is, ours for each of its settings (`association.high_score=0.25`, as `--set` and
        `load_config(overrides=...)` take them), and where this tracker's keys are listed for an installed package
        too (a run's `config.yaml`, `config_to_yaml`; not configs/default.yaml, which a wheel does not ship).
    """
    if any(isinstance(defaults.get(name), dict) for name in data):  # a file of ours (with one stray peer key)
        return None
    if _ULTRALYTICS_KIND in data:
        whose, settings = f"Ultralytics' tracker YAML ({_ULTRALYTICS_KIND}: {data[_ULTRALYTICS_KIND]})", data
    elif (searched := _boxmot_defaults(data)) is not None:
        whose, settings = "BoxMOT's tracker YAML (each setting a search space: its default read here)", searched
    else:
        return None
    told = _told(settings, _by_own_name(defaults))
    return (
        f"this is {whose}, not a config of this tracker, whose keys are in sections (detector, association, "
        f"lifecycle, ...: {_KEYS_LISTED}); {told}. Give those as overrides (`--set KEY=VALUE` on the command line, "
        "overrides=[...] in Python), or write them into a YAML laid out as that config.yaml"
    )
