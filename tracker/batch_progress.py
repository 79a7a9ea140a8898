"""Progress of a batch: tasks send frame counts through a queue (`Progress`), the driver shows them as one bar
over the whole batch and one line per event (`Monitor`, fed by `drain`).
"""

from __future__ import annotations

import logging
import queue as queue_module
import time
from collections.abc import MutableMapping
from typing import Any

from tracker.batch_work import VideoResult, VideoTask, labels
from tracker.progress_stream import ProgressStream
from tracker.wording import count

__all__ = ["Monitor", "NullChannel", "Progress", "drain"]

log = logging.getLogger("tracker.batch")  # the batch's logger: its messages keep their source

_FRAMES_ONLY = "{desc}{n_fmt} frames [{elapsed}, {rate_fmt}]"  # the bar's line while a video's frame count is unknown


class Progress:
    """Sent from a task to the driver through a queue: ("start", pid), ("total", frames), ("frames", done)."""

    def __init__(self, channel: Any, index: int, every_s: float) -> None:
        self._channel = channel
        self._index = index
        self._every_s = every_s
        self._last = 0.0
        self._frames = 0

    def send(self, kind: str, value: Any) -> None:
        """Put (task index, `kind`, `value`) on the channel; a lost message is logged, never raised."""
        try:
            self._channel.put((self._index, kind, value))
        except Exception:  # progress is a courtesy: losing it never fails a video
            log.debug("progress message lost", exc_info=True)

    def frame_done(self) -> None:
        """Count one more frame tracked; sends the count at most once per `every_s` seconds."""
        self._frames += 1
        now = time.monotonic()
        if now - self._last >= self._every_s:
            self._last = now
            self.send("frames", self._frames)


class NullChannel:
    """A channel that drops every message (`run_video` called without one)."""

    def put(self, _message: Any) -> None:
        pass


class Monitor:
    """The driver's view: a progress bar over the whole batch counted in frames, and one line per event.

    The bar's description counts the videos finished ("1/3 videos done, 2 running"; a failed one apart: "2/3 videos
    done, 1 failed"); its frame total, and so its
    percentage and ETA, only once every video has told its frame count (when it starts): a total of the started
    videos alone read 100 % between videos while others had not started (one worker: "94% 66/70" with a third
    video of 80 frames still to come). Its rate, and so the ETA, counts the frames tracked from the first one to the
    last video's end: the tasks' start and model loading are no frame time (`_tracking_rate_bar`)."""

    def __init__(self, tasks: list[VideoTask], show: bool) -> None:
        self._names = dict(zip([t.index for t in tasks], labels([(t.source, t.name) for t in tasks]), strict=True))
        self.attempts = dict.fromkeys(self._names, 0)
        self._frames = dict.fromkeys(self._names, 0)
        self._totals: dict[int, int] = {}
        self._running: set[int] = set()
        self._finished: set[int] = set()
        self._failed: set[int] = set()  # finished videos that failed: counted apart from the done ones
        self._deaths: dict[int, str] = {}  # how the last worker of a video to run again ended (local engine)
        self.show = show  # progress and event lines (not --quiet)
        self._stream = ProgressStream()  # (`track batch ... 2>&1 | head`: a reader gone stops the lines, not the batch)
        self._bar = _tracking_rate_bar(
            total=None, desc=f"0/{len(tasks)} videos done: ", bar_format=_FRAMES_ONLY, unit="frame", disable=not show,
            file=self._stream, dynamic_ncols=True,
        )  # fmt: skip

    def line(self, text: str) -> None:
        """Write one event line above the bar (unless quiet) and log it."""
        if self.show:
            self._bar.write(text, file=self._stream)
        log.info(text)

    def message(self, index: int, kind: str, value: Any) -> None:
        """Take a task's progress message ("start", "total" or "frames") for the video at `index`."""
        if index in self._finished:  # a late word of a video already finished (Ray's queue): it is not running
            return
        name = self._names[index]
        if kind == "start":
            self.attempts[index] += 1
            self._frames[index] = 0  # a re-run starts from the first frame
            self._running.add(index)
            attempt = self.attempts[index]
            died = f" (its worker died: {self._deaths[index]})" if index in self._deaths else ""
            self.line(
                f"{name}: started (pid {value})" if attempt == 1 else f"{name}: running again, attempt {attempt}{died}"
            )
        elif kind == "total" and value:
            self._totals[index] = int(value)
        elif kind == "frames":
            self._frames[index] = int(value)
        self._refresh()

    def died(self, index: int, how: str) -> None:
        """The worker of the video at `index` died (`how`: "killed by signal 9 (SIGKILL)"); it is run again, and its
        "running again" line says how the last worker ended (it said only "attempt 2")."""
        self._deaths[index] = how

    def finish(self, result: VideoResult) -> None:
        """Take a video's result: it is finished, its line says how it went."""
        self._finished.add(result.index)
        self._running.discard(result.index)
        self._frames[result.index] = result.frames
        self._totals.setdefault(result.index, result.frames)
        name = self._names[result.index]
        if result.status == "failed":
            self._failed.add(result.index)
            self.line(f"{name}: failed: {result.reason}")
        else:
            self.line(f"{name}: {result.status}, {count(result.frames, 'frame')}")  # ("1 frames" of a photo)
        self._refresh()

    def _refresh(self) -> None:
        running = f", {len(self._running)} running" if self._running else ""
        failed = f", {len(self._failed)} failed" if self._failed else ""  # a failed video is not done ("3/3 done")
        done = len(self._finished) - len(self._failed)
        self._bar.set_description(f"{done}/{len(self._names)} videos done{failed}{running}", refresh=False)
        known = len(self._totals) == len(self._names)  # (a stream tells no count: no percentage until it ends)
        self._bar.total = sum(self._totals.values()) if known else None
        self._bar.bar_format = None if known else _FRAMES_ONLY
        self._bar.n = sum(self._frames.values())
        if self._bar.since is None and self._bar.n:  # the first frame tracked: the rate's clock starts
            self._bar.since = (time.monotonic(), self._bar.n)
        if len(self._finished) == len(self._names):  # ... and stops with the last video (the workers' and Ray's
            self._bar.until = time.monotonic()  # ends are no frame time either)
        self._bar.refresh()

    def close(self) -> None:
        """Close the bar; one that never showed a video (the batch stopped before any task started: no Ray cluster at
        the address, a GPU share it cannot give, Ctrl-C while Ray starts) is wiped, not left as "0/1 videos done: 0
        frames [00:00, ?frame/s]" above the one error line."""
        if not self._finished and not any(self.attempts.values()):
            self._bar.leave = False
        self._bar.close()


def _tracking_rate_bar(**kwargs: Any) -> Any:
    """A tqdm bar (`kwargs`: tqdm's) whose rate, and so its ETA, counts the frames tracked since the first one
    (`since`: (`time.monotonic()`, frames) then, set by the caller) over the time since then, up to `until` (the
    last video's end) if set: tqdm's own, frames over the time since the bar was made, counted the tasks' start (Ray,
    the processes, torch) and model loading as frame time ("12.99s/frame" early in a batch, and an ETA as wrong),
    and its last line Ray's shutdown. Before the first frame the rate reads "?"."""
    from tqdm import tqdm

    class TrackingRateBar(tqdm):
        since: tuple[float, int] | None = None
        until: float | None = None

        @property
        def format_dict(self) -> MutableMapping[str, Any]:
            values = super().format_dict
            now = self.until if self.until is not None else time.monotonic()
            seconds = now - self.since[0] if self.since is not None else 0.0
            frames = self.n - self.since[1] if self.since is not None else 0
            # (tqdm takes a rate of None as frames over its elapsed time: `initial` = n makes that 0, shown as "?")
            values["rate"] = frames / seconds if frames > 0 and seconds > 0 else None
            values["initial"] = values["n"] if values["rate"] is None else values["initial"]
            return values

    return TrackingRateBar(**kwargs)


def drain(channel: Any, monitor: Monitor) -> list[tuple[int, str, Any]]:
    """Hand every waiting message to the monitor, in the order sent (a video's result before the next video's
    start: one worker's "b: started" came before "a: done"); returns them (the local engine reads results)."""
    messages: list[tuple[int, str, Any]] = []
    while True:
        try:
            message = channel.get_nowait()
        except queue_module.Empty:  # Ray's queue raises a subclass of it
            return messages
        messages.append(message)
        index, kind, value = message
        if kind == "result":
            monitor.finish(value)
        else:
            monitor.message(index, kind, value)
