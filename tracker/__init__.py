"""Multi-object tracking that keeps identities through occlusion with per-track appearance memory.

The public names (imported on first use): `Tracker` (`tracker.pipeline`: `Tracker.from_config(cfg)` then
`update(frame)` per frame, or `Tracker(cfg, rate)` and `update_detections(boxes_xyxy, scores, ...)` with your own
detector); `load_config`, `TrackerConfig` and `ConfigError` (`tracker.config`); `TrackedObject` (what each call
returns), `Detections`, `TrackState`, and `Detector` and `Embedder`, the protocols of `Tracker(detector=...,
embedder=...)` that your own models meet (any function of their arguments does) (`tracker.types`). The identity
gallery is `tracker.gallery.Gallery`, the MOTChallenge files `tracker.io.mot`, the evaluation `tracker.eval`. Shapes
use N detections, T tracks, K looks per bank, D embedding size; boxes are pixel corners (x1, y1, x2, y2) unless named
otherwise. `help(Tracker)` names the sources of its methods.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tracker.config import ConfigError, TrackerConfig, load_config
    from tracker.pipeline import Tracker
    from tracker.types import Detections, Detector, Embedder, TrackedObject, TrackState

__all__ = [
    "ConfigError",
    "Detections",
    "Detector",
    "Embedder",
    "TrackState",
    "TrackedObject",
    "Tracker",
    "TrackerConfig",
    "load_config",
]
__version__ = "0.1.0"

# Where each public name lives. They are imported on first use (PEP 562), so the `track` command's help, its usage
# errors and `python -m tracker` do not first import torch (through tracker.pipeline): ~1 s idle, 3-4 s under load.
_PUBLIC = {
    "ConfigError": "tracker.config",
    "TrackerConfig": "tracker.config",
    "load_config": "tracker.config",
    "Tracker": "tracker.pipeline",
    "Detections": "tracker.types",
    "Detector": "tracker.types",
    "Embedder": "tracker.types",
    "TrackedObject": "tracker.types",
    "TrackState": "tracker.types",
}


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module 'tracker' has no attribute {name!r}")
    value = getattr(importlib.import_module(_PUBLIC[name]), name)
    globals()[name] = value  # later lookups find it directly
    return value


def __dir__() -> list[str]:
    """The public names, `__version__` and the other dunders, and the submodules imported so far (`tracker.gallery`
    ...): not this module's own imports (`importlib`, `Any`), which `dir(tracker)` listed as if they were the API."""
    submodules = {name for name, value in globals().items() if getattr(value, "__name__", "") == f"{__name__}.{name}"}
    return sorted({*_PUBLIC, *submodules, *(name for name in globals() if name.startswith("__"))})
