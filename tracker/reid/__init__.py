"""ReID networks written in this project."""

from tracker.reid.osnet import OSNet, osnet_x0_25, osnet_x1_0

__all__ = ["OSNet", "osnet_x0_25", "osnet_x1_0"]
