"""Whether a ReID call runs on one inference thread or on two: whichever its own recent calls measured faster.

Two threads pay for a call of several crops only where the second core is free: on a quiet 2-core machine 1080p
`update()` ran at 0.858 / 0.857 of detection-only frames/s with them against 0.834 / 0.837 with one, and at load 5
(other processes on both cores) 0.899 against 0.925 (docs/speed-log.md, stop 74). Whether the other core is free
is not known in advance and changes while a video runs, so each static batch size keeps the wall times of its last
calls on each copy (the narrow model, `reid.threads`, and the wide one, `reid.wide_threads`), runs the copy whose
median is lower, and after every `recheck_after` calls one on the other, so that a change of load is seen. The
embeddings are the same either way (`OpenVINOForward`), so the choice moves the time only, never a track.
"""

from __future__ import annotations

import statistics
import threading
from collections import deque

__all__ = ["ChoiceKey", "ThreadChoice"]

ChoiceKey = int | tuple[int, ...]  # a static batch size, or the parts of a call split over requests (`OpenVINOForward`)

TIMES_KEPT = 8  # the last calls of each copy and batch size whose median wall time decides
FIRST_CALLS = 3  # calls each copy of a batch size runs, alternating, before the medians decide (the first call of a
# compiled model also allocates its buffers: one slow call does not outvote two)


class ThreadChoice:
    """Chooses, per static batch size (or per split of a call over `reid.requests`: its parts), the narrow or the
    wide compiled copies of the ReID for the next call.

    Args:
        recheck_after: after this many calls of a batch size on the copy measured faster, one runs on the other, to
            measure it again; 0: always the wide copy (no measuring).

    Thread-safe: trackers sharing one ReID model (`copy.deepcopy(tracker)`) may call it from two threads.

    Raises:
        ValueError: `recheck_after` < 0.
    """

    def __init__(self, recheck_after: int) -> None:
        if recheck_after < 0:
            raise ValueError(f"recheck_after must be >= 0 (0: always wide), got {recheck_after}")
        self.recheck_after = recheck_after
        self._times: dict[tuple[ChoiceKey, bool], deque[float]] = {}  # ((batch, wide) -> seconds of its last calls)
        self._calls: dict[ChoiceKey, int] = {}  # batch -> calls chosen for it so far
        self._lock = threading.Lock()

    def wide(self, batch: ChoiceKey) -> bool:
        """Whether the next call of `batch` crops runs on the wide copy (counts the call)."""
        if self.recheck_after == 0:
            return True
        with self._lock:
            call = self._calls.get(batch, 0)
            self._calls[batch] = call + 1
            narrow, wide = list(self._times.get((batch, False), ())), list(self._times.get((batch, True), ()))
        if min(len(narrow), len(wide)) < FIRST_CALLS:
            return len(wide) < len(narrow)  # (alternating, the narrow copy first)
        faster = statistics.median(wide) < statistics.median(narrow)
        return faster != (call % (self.recheck_after + 1) == 0)  # (one call in recheck_after + 1 on the slower)

    def record(self, batch: ChoiceKey, wide: bool, seconds: float) -> None:
        """The wall time of a call of `batch` crops on the wide copy or the narrow one."""
        with self._lock:
            self._times.setdefault((batch, wide), deque(maxlen=TIMES_KEPT)).append(seconds)

    def measured(self, batch: ChoiceKey) -> dict[str, float]:
        """The median wall seconds of the last calls of `batch` crops on each copy measured ("narrow", "wide")."""
        with self._lock:
            # (not the keys sorted: a batch size and a split's parts, an int and a tuple, do not compare)
            kept = sorted((wide, list(times)) for (size, wide), times in self._times.items() if size == batch)
        return {("wide" if wide else "narrow"): statistics.median(times) for wide, times in kept if times}
