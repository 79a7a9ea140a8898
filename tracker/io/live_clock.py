"""`LiveClock`: the time of each frame of a live stream (a URL, a webcam), for `Tracker.stream(timestamps=)`.

A stream that stalls (a network outage, a camera reconnecting) gives the tracker two frames seconds apart; with their
times the tracker advances the tracks through the gap (`tracker.stream_clock`). The times are seconds from the
stream's first frame, on one clock that never goes back:

- between two frames of one capture, the difference of their presentation times (OpenCV's `CAP_PROP_POS_MSEC`: the
  stream's own time, which knows frames the source dropped) where it is plausible: a finite number >= 0 that grew;
- else (a backend that gives none, a time that stood still or went back, the first frame of a capture reopened after
  a drop) the time the reader waited for the frame, from when it asked for it to when it came: a stall, a dropped
  connection and its reopening all count, while a tracker slower than the stream, which finds the next frame already
  buffered, does not take its own processing time for a gap (the monotonic clock at read time would: a tracker at 8
  frames/s on a 25 frames/s stream would see every frame 3 frames after the one before).
"""

from __future__ import annotations

import math
import time

MS_PER_S = 1000.0  # `CAP_PROP_POS_MSEC` is in milliseconds

__all__ = ["LiveClock"]


class LiveClock:
    """One live stream's frame times (seconds from its first frame, strictly increasing). Call `asking` when the
    reader starts waiting for a frame, `reopened` when it opens the capture again, and `frame` when one came."""

    def __init__(self) -> None:
        self.time: float | None = None  # the last frame's time (None: no frame yet)
        self._presented: float | None = None  # its presentation time in this capture, seconds (None: not plausible)
        self._asked = time.monotonic()  # when the reader started waiting for the next frame

    def asking(self) -> None:
        """The reader starts waiting for the next frame (after the consumer took the last one)."""
        self._asked = time.monotonic()

    def reopened(self) -> None:
        """The capture was opened again: its presentation times start anew, not comparable with the last one's."""
        self._presented = None

    def frame(self, position_ms: float) -> float:
        """The time of the frame just read, whose capture says it is at `position_ms` (`CAP_PROP_POS_MSEC`)."""
        waited = time.monotonic() - self._asked
        presented = position_ms / MS_PER_S if math.isfinite(position_ms) and position_ms >= 0 else None
        last, before = self.time, self._presented
        if last is None:
            now = 0.0
        elif presented is not None and before is not None and presented > before:
            now = last + (presented - before)
        else:
            now = last + waited
        if last is not None and now <= last:  # (a wait below the clock's resolution: still later than the last)
            now = math.nextafter(last, math.inf)
        self.time, self._presented = now, presented
        return now
