"""Stopping a `track` run cleanly: SIGINT/SIGTERM set a flag the loop reads between frames (`StopFlag`).

The frame in hand is finished and the outputs closed; a second signal aborts at once (`KeyboardInterrupt`), except
while the outputs are closing. Signals are caught only in the main thread, and a signal ignored by whoever started
the process (a batch worker, nohup) stays ignored. Outside a run's own handling (start-up, the models loading, the
summary), `terminating_interrupts` makes SIGTERM a `KeyboardInterrupt`, as Ctrl-C is: `kill PID` while the models
loaded ended the process at once (exit status 143, no word, the run folder it had claimed left behind).
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any

from tracker.signal_stack import install_signal_stack

__all__ = ["StopFlag", "interrupts_held", "terminating_interrupts"]

log = logging.getLogger("tracker.run")  # the run's logger: its messages keep their source


class StopFlag:
    """SIGINT/SIGTERM set a flag (the loop finishes the frame and closes the outputs); a second one aborts, except
    while the outputs are closing (`closing`), which takes milliseconds and must not be cut short."""

    def __init__(self) -> None:
        self.stopped = False
        self.closing = False
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopFlag:
        if threading.current_thread() is threading.main_thread():  # signals can only be caught there
            install_signal_stack()  # never a dangling one left by OpenVINO: the signal would be a SIGSEGV
            for sig in (signal.SIGINT, signal.SIGTERM):
                if signal.getsignal(sig) is signal.SIG_IGN:  # ignored by who started us (a batch worker: Ctrl-C
                    continue  # is its driver's, which then stops it with one SIGTERM; nohup): stays ignored
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        if self.stopped and not self.closing:
            raise KeyboardInterrupt
        self.stopped = True
        log.info("signal %d: finishing the current frame and closing the outputs", signum)

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def _interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def terminating_interrupts() -> Iterator[None]:
    """SIGTERM (`kill`, a scheduler, systemd) raises `KeyboardInterrupt` inside, as SIGINT does by default, so that a
    command's cleanup runs and it ends as after Ctrl-C (`track` while its models load, `track batch`: its engines
    stop their tasks, `track eval`: finished sequences kept); the handler before is restored after. Not in another
    thread (signals are the main thread's), and a SIGTERM ignored by whoever started the process stays ignored."""
    main = threading.current_thread() is threading.main_thread()
    if not main or signal.getsignal(signal.SIGTERM) is signal.SIG_IGN:
        yield
        return
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def interrupts_held() -> Iterator[None]:
    """SIGINT and SIGTERM that arrive inside wait for the block's end, then reach the handlers set before (each signal
    once, in the order they came; a handler that raises, as Ctrl-C's, ends there):
    for a short step that an exception would leave half done. Ray's `ray.shutdown()` cut by a second Ctrl-C left
    the driver's core worker half stopped, which then ended the process from its own thread (exit status 1, read
    as "videos failed", after `track batch: interrupted`). Only in the main thread (signals are its), and only for
    signals handled from Python or by default (not ignored ones, nor one with a C handler such as Ray's)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[int] = []
    previous: dict[int, Any] = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        handler = signal.getsignal(sig)
        if callable(handler) or handler is signal.SIG_DFL:
            previous[sig] = signal.signal(sig, lambda signum, _frame: held.append(signum))
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        for signum in dict.fromkeys(held):
            log.info("signal %d held to the end of a step that must not be cut short: handled now", signum)
            signal.raise_signal(signum)
