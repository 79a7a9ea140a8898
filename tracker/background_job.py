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

    @property
    def running(self) -> bool:
        """Whether a job is under way."""
        return self._thread is not None and self._thread.is_alive()

    def start(self, job: Callable[[], None]) -> None:
        """Run `job()` in a new worker thread.

        Raises:
            RuntimeError: a job is under way, or the outcome of the last one was not taken (`take_outcome`); or the
                thread could not be started (nothing runs then).
        """
        if self.running or self._ended is not None:
            raise RuntimeError(f"{self.name}: one job at a time (wait for the last one and take its outcome)")
        self._error = None
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

    def wait(self) -> None:
        """Return when no job is under way (at once if none is)."""
        if self._thread is not None:
            self._thread.join()

    def take_outcome(self) -> tuple[float, BaseException | None] | None:
        """Once a job has ended: (when it ended, `time.monotonic()`; its error or None), given once, which lets the
        next job start. None while one runs, or when none ended since the last call."""
        if self.running or self._ended is None:
            return None
        outcome = (self._ended, self._error)
        self._thread, self._ended, self._error = None, None, None
        return outcome
