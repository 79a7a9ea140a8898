"""Multi-object tracking that keeps identities through occlusion with per-track appearance memory."""

from tracker.config import ConfigError, TrackerConfig, load_config
from tracker.pipeline import Tracker
from tracker.types import Detections, TrackedObject, TrackState

__all__ = ["ConfigError", "Detections", "TrackState", "TrackedObject", "Tracker", "TrackerConfig", "load_config"]
__version__ = "0.1.0"
