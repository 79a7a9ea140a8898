"""The config of a `track` run: the YAML and `--set` overrides, then the ReID fallback where OSNet's weights are
absent and the user did not ask for them (`load_run_config`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import yaml

from tracker.config import ConfigError, TrackerConfig, load_config, log_unused_settings, split_override, value_at
from tracker.weights import OSNET_ZOO_URL, resolve_weights

__all__ = ["asks_for_reid", "load_run_config", "reid_fallback"]


_REID_KEYS = ("reid.model", "reid.weights")  # the keys that ask for a ReID model
_PYTORCH_SUFFIX = ".pt"  # a PyTorch detector: its own features can pool a look (reid.model=auto)


def asks_for_reid(config_path: str | None, overrides: tuple[str, ...]) -> bool:
    """Did the user name ReID settings (in --set or in their YAML), rather than take the defaults?"""
    if any(_sets_reid(text) for text in overrides):
        return True
    if config_path is None:
        return False
    try:  # read as load_config reads it: UTF-8 whatever the locale's encoding, `~` the home folder
        data = yaml.safe_load(Path(config_path).expanduser().read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return False  # load_config reports it
    reid = data.get("reid") if isinstance(data, dict) else None
    return isinstance(reid, dict) and bool({"model", "weights"} & set(reid))


def _sets_reid(text: str) -> bool:
    """Whether the `--set` override `text` gives a `_REID_KEYS` key: itself, or its `reid` section as a mapping
    (`reid={weights: mine.pth}`); False for a malformed one (load_config reports it)."""
    try:
        dotted, value = split_override(text)
    except ConfigError:
        return False
    return any(value_at(dotted, value, key)[0] for key in _REID_KEYS)


def reid_fallback(cfg: TrackerConfig, asked: bool, gallery: bool = False) -> tuple[TrackerConfig, str | None]:
    """Where the default OSNet weights are absent and the user did not ask for them, run without them.

    The fallback is the detector's own features (`reid.model=auto`) for a PyTorch detector, else motion
    only (`reid.model=none`). Returns the config to use and a note for the user (None: nothing changed).
    An explicit request for OSNet with a missing file is not softened: `Tracker.from_config` raises. Nor is a
    run with a gallery (`gallery`), which needs looks, where only motion is left: the missing weights are its
    error (it was "--gallery needs appearance embeddings: set reid.model to a model, not none", a key the user had
    left at its default, osnet_x0_25).
    """
    uses_osnet = cfg.appearance.enabled and cfg.reid.model.startswith("osnet")
    if asked or not uses_osnet or resolve_weights(cfg.reid.weights) is not None:
        return cfg, None
    fallback = "auto" if cfg.detector.model.endswith(_PYTORCH_SUFFIX) else "none"
    if fallback == "none" and gallery:
        return cfg, None
    what = "the detector's own features" if fallback == "auto" else "motion only"
    note = (
        f"OSNet weights '{cfg.reid.weights}' not found, so appearance uses {what} (reid.model={fallback}). "
        f"For the full ReID get osnet_x0_25_msmt17.pth from {OSNET_ZOO_URL} and pass --set reid.weights=PATH "
        f"(or put it in $TRACKER_WEIGHTS_DIR)."
    )
    return cfg.replace({"reid.model": fallback}), note


def load_run_config(
    config_path: str | None, overrides: Sequence[str], gallery: bool = False, devices_here: bool = True
) -> tuple[TrackerConfig, str | None]:
    """The config of a `track` run: YAML and `--set` overrides, then `reid_fallback` (note: None or a line; `gallery`:
    the run has one). Its unused settings are logged (`log_unused_settings`; `devices_here` False: the models run on
    other machines, `track batch` on a Ray cluster).

    Raises:
        ConfigError: bad config key or value.
    """
    cfg = load_config(config_path, overrides=list(overrides))
    log_unused_settings(cfg, devices_here)
    return reid_fallback(cfg, asks_for_reid(config_path, tuple(overrides)), gallery)
