"""One job at a time in a worker thread, its outcome kept for the thread that started it.

`track` writes its periodic gallery save this way (`tracker.run_gallery.GallerySaver`): the loop starts the
write and goes on with the next frames; it learns at a later frame, or when it waits, whether the write failed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

__all__ = ["BackgroundJob"]


class BackgroundJob:
    """Runs one function at a time in a worker thread and keeps what became of it.

    The thread is not a daemon: the interpreter does not exit while it runs (a file half written by a killed daemon
    thread is one thing atomic writes guard against, not a thing to cause). Callers `wait` for it before they
    return. Not thread-safe itself: one thread (the loop) starts, polls and waits.

    Args:
        name: the worker thread's name (seen in `threading.enumerate()` and debuggers).
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._ended: float | None = None  # time.monotonic() when the last job ended, until `take_outcome`
        # set by the worker when its job has ended: what `wait` waits on (Python 3.11's `Thread.join`, interrupted,
        # marks a thread that still runs as stopped: `is_alive()` False, and a later `join()` returns at once)
        self._done = threading.Event()

    @property
    def running(self) -> bool:
        """Whether a job is under way."""
        return self._thread is not None and not self._done.is_set()

    def start(self, job: Callable[[], None]) -> None:
        """Run `job()` in a new worker thread.

        Raises:
            RuntimeError: a job is under way, or the outcome of the last one was not taken (`take_outcome`); or the
                thread could not be started (nothing runs then).
        """
        if self.running or self._ended is not None:
            raise RuntimeError(f"{self.name}: one job at a time (wait for the last one and take its outcome)")
        self._error, self._done = None, threading.Event()
        thread = threading.Thread(target=self._run, args=(job,), name=self.name, daemon=False)
        thread.start()
        self._thread = thread

    def _run(self, job: Callable[[], None]) -> None:
        try:
            job()
        except BaseException as exc:  # kept for the caller (`take_outcome`), not lost in the thread
            self._error = exc
        finally:
            self._ended = time.monotonic()
            self._done.set()

    def wait(self, on_interrupt: Callable[[int], None] | None = None) -> None:
        """Return when no job is under way (at once if none is), however often the waiting thread is interrupted.

        An exception raised in the waiting thread while the job runs (KeyboardInterrupt: Ctrl-C) does not end the
        wait: the caller may hold what the job writes to (`track` holds the gallery file's lock, released as soon as
        this returns or raises), which another process could otherwise take while the job still writes. Each such
        interrupt is passed to `on_interrupt(n)` (n = 1, 2, ...: say that the job is being finished, ask it to stop
        sooner), and the first is raised once the job has ended.
        """
        interrupts: list[BaseException] = []
        told = 0
        while self.running:
            try:
                while on_interrupt is not None and told < len(interrupts):
                    told += 1
                    on_interrupt(told)
                self._done.wait()
            except BaseException as exc:  # kept, and raised once the job has ended
                interrupts.append(exc)
        if self._thread is not None:
            self._thread.join()  # the job has ended: only the thread's own exit is left
        if interrupts:
            raise interrupts[0]

    def take_outcome(self) -> tuple[float, BaseException | None] | None:
        """Once a job has ended: (when it ended, `time.monotonic()`; its error or None), given once, which lets the
        next job start. None while one runs, or when none ended since the last call."""
        if self.running or self._ended is None:
            return None
        outcome = (self._ended, self._error)
        self._thread, self._ended, self._error = None, None, None
        return outcome
