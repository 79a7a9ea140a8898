"""Which frame rate a run uses: the one forced on the command line, else the source's if plausible, else the
container's timestamps, else `frame_rate` from the config.

Some cameras and muxers write absurd rates in the header (1000 frames/s for a 25 frames/s clip); every time
limit of the tracker is converted with the rate, so one such header would silently empty the result. A declared
rate outside [`min_frame_rate`, `max_frame_rate`] is therefore not used: the user gets one warning naming the value
and the fallback.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from tracker.config import TrackerConfig

__all__ = ["FrameRateChoice", "choose_frame_rate", "frames_at_least"]

# frames: a product of seconds and frames/s a float64 rounding error above a whole count (0.14 s x 50 frames/s is
# 7.000000000000001) is that count, not the next
_ROUNDING_SLACK = 1e-9


@dataclass(frozen=True)
class FrameRateChoice:
    """The rate to use (frames/s), where it came from, and a warning for the user (None: nothing unusual)."""

    frame_rate: float
    origin: str  # "forced", "source", "timestamps" or "config"
    warning: str | None = None


def choose_frame_rate(
    declared: float | None,
    cfg: TrackerConfig,
    forced: float | None = None,
    timestamp_rate: Callable[[], float | None] | None = None,
    source_name: str = "the source",
) -> FrameRateChoice:
    """Pick the frame rate of a run.

    Args:
        declared: frames/s the source's header declares, or None (image folders, streams, a video whose header
            says 0: its timestamps are asked then).
        cfg: gives `frame_rate` (the fallback) and the plausible range `min_frame_rate`..`max_frame_rate`.
        forced: `--fps`, used as given (must be positive).
        timestamp_rate: called only when `declared` is implausible or missing; frames/s measured from the container's
            timestamps (e.g. `CAP_PROP_POS_MSEC` over the first frames), or None where there are none.
        source_name: names the source in the warning.
    Raises:
        ValueError: `forced` is not a positive finite number.
    """
    if forced is not None:
        if not 0 < forced < float("inf"):
            raise ValueError(f"--fps must be a positive number, got {forced}")
        return FrameRateChoice(float(forced), "forced")
    if declared is not None and declared > 0 and _plausible(declared, cfg):
        return FrameRateChoice(float(declared), "source")
    measured = timestamp_rate() if timestamp_rate is not None else None
    if declared is None or declared <= 0:  # a video whose header gives no rate (0): its timestamps, else the config's
        if measured is not None and _plausible(measured, cfg):
            return FrameRateChoice(
                measured,
                "timestamps",
                f"{source_name} declares no frame rate; using {measured:g} frames/s from its timestamps (--fps N "
                "forces a rate)",
            )
        return FrameRateChoice(cfg.frame_rate, "config")
    why = (
        f"{source_name} declares {declared:g} frames/s, outside the plausible range "
        f"[{cfg.min_frame_rate:g}, {cfg.max_frame_rate:g}] (min_frame_rate, max_frame_rate)"
    )
    if measured is not None and _plausible(measured, cfg):
        return FrameRateChoice(
            measured, "timestamps", f"{why}; using {measured:g} frames/s from its timestamps (--fps N forces a rate)"
        )
    return FrameRateChoice(
        cfg.frame_rate,
        "config",
        f"{why}; its timestamps do not give a plausible rate either, so using frame_rate = {cfg.frame_rate:g} "
        "from the config (--fps N forces a rate)",
    )


def frames_at_least(seconds: float, frame_rate: float) -> int:
    """The fewest whole frames that last at least `seconds` (>= 0) at `frame_rate` frames/s: ceil(seconds x rate),
    where a product within float rounding of a whole count (`_ROUNDING_SLACK`) is that count."""
    return math.ceil(seconds * frame_rate - _ROUNDING_SLACK)


def _plausible(rate: float, cfg: TrackerConfig) -> bool:
    return cfg.min_frame_rate <= rate <= cfg.max_frame_rate
