"""`StreamClock`: the time of a stream's frames (`Tracker.update(..., timestamp=)`), and the gaps it holds.

A live source that stalls, or a service that drops frames under load, gives the tracker two frames far apart in time.
Counted in frames, the Kalman prediction would move each person one frame's worth and lost tracks would age one
frame. With each frame's time (seconds: a monotonic clock or the stream's presentation time), the frames elapsed
since the previous one are `round((t - t_prev) * frame_rate)`; a gap of k > 1 frames is advanced k - 1 frames with
no detections before the frame is tracked (`TrackerCore.advance`), or, longer than `lifecycle.max_gap_seconds`,
taken as a scene cut (`TrackerCore.end_tracks`). A frame nearer than `lifecycle.min_gap_seconds` after the one before
is the next frame, as without times: a source a little slower than the rate the tracker was built at (a webcam in
low light) or a clock's jitter would otherwise make every frame a gap.

`FrameTimes` keeps the stream time of the frames a gallery identity may be dated by (`GalleryLink.store`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from tracker.config import LifecycleConfig

__all__ = ["NO_GAPS", "FrameTimes", "Gap", "GapCount", "StreamClock", "checked_timestamp"]


class Gap(NamedTuple):
    """What a frame's time says happened since the frame before (`StreamClock.gap`)."""

    frames: int  # frames to advance with no detections before this one (0: it is the next frame)
    seconds: float  # the time since the frame before
    cut: bool  # longer than `lifecycle.max_gap_seconds`: a scene cut, not advanced frame by frame


NO_GAP = Gap(0, 0.0, False)


class GapCount(NamedTuple):
    """The gaps in time a tracker passed since `reset` (`Tracker.time_gaps`; `track`'s summary.json `time_gaps`)."""

    advanced: int  # gaps advanced frame by frame (`TrackerCore.advance`)
    frames: int  # frames passed with no detections in all gaps, the scene cuts' too
    cuts: int  # gaps longer than `lifecycle.max_gap_seconds`: scene cuts (`TrackerCore.end_tracks`)
    seconds: float  # the time without frames in all gaps (each from the frame before to the one after)


NO_GAPS = GapCount(0, 0, 0, 0.0)


# the most frames one gap may hold: the tracker counts frames in int64 (`TrackerCore.frame_index`, each track's
# frames since its update); half of int64's range leaves the stream's own frames room (~5e9 years at 30 fps)
MAX_GAP_FRAMES = np.iinfo(np.int64).max // 2
# frames whose times `FrameTimes` holds before it drops those no live track was born or last seen in (then twice those
# it keeps): a track's sightings are dated by their frames' times, whatever its age, in memory of the live tracks
FRAME_TIMES_KEPT = 256


def checked_timestamp(timestamp: Any, name: str = "timestamp") -> float | None:
    """`timestamp` as a float (seconds), or None for None.

    Raises:
        TypeError: not a real number (a bool, a string, an array, a datetime: give seconds as a float).
        ValueError: NaN or infinite (an int beyond any float too).
    """
    if timestamp is None:
        return None
    if isinstance(timestamp, bool | np.bool_) or not isinstance(timestamp, int | float | np.integer | np.floating):
        raise TypeError(
            f"{name} must be the frame's time in seconds as a float (time.monotonic(), or the stream's presentation "
            f"time: CAP_PROP_POS_MSEC / 1000), got {type(timestamp).__name__}"
        )
    try:
        value = float(timestamp)
    except OverflowError:  # (an int beyond any float)
        value = math.inf
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number of seconds, got {value}")
    return value


@dataclass
class StreamClock:
    """The time of the last frame a tracker counted, tracked or advanced (None: no time given since `reset`).

    Args:
        frame_rate: the tracker's frames/s.
        lifecycle: `min_gap_seconds` and `max_gap_seconds`.
    """

    frame_rate: float
    lifecycle: LifecycleConfig
    last: float | None = None
    after_gap: float | None = None  # the time of the last frame that came after a gap (`advanced_to`)
    given: float | None = None  # the last time given (`counted`): the frames after it without one are guessed
    # a gap was advanced (`advanced_to`) and the frame after it not tracked yet (it failed: given again, its camera
    # motion is skipped again, not estimated across the gap)
    gap_untracked: bool = False
    # the stream time of the last frame counted: seconds since the first frame counted after `reset`, the frames'
    # times apart (a frame without one a frame after the one before; a gap advanced as long as it was), on one clock
    # across `rebase` (None: no frame counted)
    elapsed: float | None = None
    passed: GapCount = NO_GAPS  # the gaps passed (`note_passed`)
    # a gap's advance was interrupted (`advanced_part`): the rest before its frame is a gap however short, not the
    # next frame (the frames left of a 59-frame gap stopped 56 in are 0.13 s, under `min_gap_seconds`)
    rest_of_gap: bool = False

    def gap(self, timestamp: float | None, name: str = "timestamp") -> Gap:
        """The gap before a frame at `timestamp` (None: no time given, the next frame). Changes nothing.

        Raises:
            ValueError: a time at or before the last time given (naming both): a clock that went back, or a frame
                given twice. (Frames without a time since are guessed a frame apart: a time earlier than that guess
                but later than the last one given is the next frame, no error.) Also two times so far apart that the
                gap holds more frames than `MAX_GAP_FRAMES` (two times ~2e308 s apart: an infinite gap), naming both.
        """
        if timestamp is None or self.last is None or self.given is None:  # (both set by the first time counted)
            return NO_GAP
        given = self.given
        if timestamp <= given:
            said = "repeats" if timestamp == given else "goes back from"
            raise ValueError(
                f"{name} {timestamp:.6f} s {said} the last frame's {given:.6f} s: each frame's time must be "
                "later than the one before (the same clock for the whole stream; reset() starts another; a tracker "
                "restored in a process whose clock restarted, or a source whose clock did: rebase_clock() first "
                "keeps the tracks)"
            )
        seconds = timestamp - self.last
        if not seconds * self.frame_rate <= MAX_GAP_FRAMES:  # (inf too: finite times ~2e308 s apart)
            raise ValueError(
                f"{name} {timestamp:g} s is too far after the last frame's {self.last:g} s: the gap between them is "
                f"more frames than a tracker counts ({MAX_GAP_FRAMES}); give both times on one clock in seconds "
                "(reset() starts another)"
            )
        life = self.lifecycle
        if seconds < life.min_gap_seconds and not self.rest_of_gap:
            return Gap(0, seconds, False)
        frames = max(round(seconds * self.frame_rate) - 1, 0)
        return Gap(frames, seconds, frames > 0 and seconds > life.max_gap_seconds)

    def stream_time(self, timestamp: float | None) -> float:
        """The stream time (`elapsed`) a frame at `timestamp` (checked by `gap`) takes when it is counted next: its
        time after the last frame's, else one frame after it (0.0 for the first frame): also for a time at or before
        the last frame's guessed one (frames without a time since the last given, guessed a frame apart, came faster),
        so that the stream time only goes forward. Changes nothing."""
        if self.elapsed is None:
            return 0.0
        if timestamp is None or self.last is None or timestamp <= self.last:
            return self.elapsed + 1.0 / self.frame_rate
        return self.elapsed + (timestamp - self.last)

    def counted(self, timestamp: float | None) -> None:
        """A frame at `timestamp` was tracked (None: the next frame, one frame after the last time, if any)."""
        self.elapsed = self.stream_time(timestamp)
        if timestamp is not None:
            self.last = self.given = timestamp
        elif self.last is not None:
            self.last += 1.0 / self.frame_rate
        self.gap_untracked = self.rest_of_gap = False

    def advanced_to(self, timestamp: float) -> bool:
        """The gap before a frame at `timestamp` was advanced, and the frame not tracked yet: the last frame counted
        is the one before it (given again, the frame is the next one, not a second gap).

        Returns:
            Whether the frame before came after a gap too: gaps frame after frame are no outage but times in
            another unit than seconds (milliseconds) or a tracker built at another frame rate than the stream's.
        """
        in_a_row = self.after_gap is not None and self.after_gap == self.last
        before = self.last
        self.after_gap = timestamp
        self.last = timestamp - 1.0 / self.frame_rate
        if self.elapsed is not None and before is not None:  # (the gap's frames: as long as the gap was)
            self.elapsed += self.last - before
        self.gap_untracked, self.rest_of_gap = True, False
        return in_a_row

    def advanced_part(self, frames: int) -> None:
        """The first `frames` frames of a gap were advanced and the rest not (the advance failed: an interrupt): the
        last frame counted is `frames` frames later, so that the frame after the gap, given again, advances the rest
        (however short: `rest_of_gap`).
        """
        if self.last is not None and frames > 0:
            step = frames / self.frame_rate
            self.last += step
            if self.elapsed is not None:
                self.elapsed += step
            # (the rest counted as the gap when it is passed: its frames and seconds together the whole gap's)
            self.passed = self.passed._replace(frames=self.passed.frames + frames, seconds=self.passed.seconds + step)
            self.rest_of_gap = True

    def rebase(self) -> None:
        """The frames' times come from another clock from the next frame on: the next frame with a time is the next
        frame, whatever its time (the time between the clocks is not known); the stream time (`elapsed`) and the
        gaps passed go on."""
        self.last = self.after_gap = self.given = None
        self.gap_untracked = self.rest_of_gap = False

    def note_passed(self, gap: Gap) -> None:
        """`gap` was passed (advanced, or a scene cut): counted in `passed`."""
        advanced, frames, cuts, seconds = self.passed
        cut = int(gap.cut)
        self.passed = GapCount(advanced + 1 - cut, frames + gap.frames, cuts + cut, seconds + gap.seconds)

    def reset(self) -> None:
        """A new stream: no time yet, no gap passed."""
        self.last = self.after_gap = self.given = self.elapsed = None
        self.gap_untracked = self.rest_of_gap = False
        self.passed = NO_GAPS


@dataclass
class FrameTimes:
    """The stream times (`StreamClock.elapsed`, seconds) of a stream's recent frames and of its latest one, by frame
    index (the core's, 1-based), so that a gallery identity's sightings are dated by the times of the frames they
    were in (`GalleryLink.store`), not by frame counts (which a source slower than the tracker's rate, or an outage,
    makes wrong). Empty without frame times (`Tracker.update(..., timestamp=)`): the sightings are dated by frames.
    """

    latest: float | None = None  # the stream time of the frame being tracked, or of the last one tracked
    seen: dict[int, float] = field(default_factory=dict)  # frame index -> its stream time
    kept: int = FRAME_TIMES_KEPT  # `seen`'s size at which it drops the frames no live track needs (`note`)

    def note(self, frame_index: int, seconds: float, needed: Callable[[], Collection[int]]) -> None:
        """Frame `frame_index` was tracked at stream time `seconds`. Beyond `kept` frames held, only the frames
        `needed()` names are kept (the frames the live tracks were born and last seen in)."""
        self.seen[frame_index] = seconds
        if len(self.seen) > self.kept:
            wanted = set(needed())
            self.seen = {frame: at for frame, at in self.seen.items() if frame in wanted}
            self.kept = max(FRAME_TIMES_KEPT, 2 * len(self.seen))

    def ago(self, frame_index: int) -> float | None:
        """Seconds from frame `frame_index` to the latest frame (`latest`), by their times; None where either is not
        known (no frame times given for it)."""
        at = self.seen.get(frame_index)
        return None if at is None or self.latest is None else self.latest - at

    def reset(self) -> None:
        """A new video: no frame's time known."""
        self.latest, self.seen, self.kept = None, {}, FRAME_TIMES_KEPT
