"""Compile models in one worker thread, so that the thread that asks for them goes on meanwhile.

`OpenVINOForward` compiles its wide copies (batches on `reid.wide_threads`) here: compiled at the first call that
could run one, they cost that frame 0.5 s on a quiet 2-core machine and 1.4-2.0 s at load 5 (a live camera drops
those frames: docs/speed-log.md, stop 75); meanwhile its calls run on the narrow copy, compiled up front.
"""

from __future__ import annotations

import logging
import os
import threading
import weakref
from collections.abc import Callable, Hashable
from typing import Any

__all__ = ["CompileWorker"]

log = logging.getLogger(__name__)

_WORKERS: weakref.WeakSet[CompileWorker] = weakref.WeakSet()  # every worker made, for `_after_fork_in_child`


class CompileWorker:
    """Runs `compile(key)` for each key asked (`ask`), once per key, one at a time, in order, in one worker thread.

    The thread is started by the first `ask` and ends as soon as nothing is left to compile (no thread waits idle),
    or once the owner of `compile` (a bound method, held weakly) is gone: a model released (`Tracker.close()`) stops
    its compiles after the one under way, none left running for nothing. It is not a daemon thread: it is short (a
    few compiles of ~0.07-0.2 s each). Thread-safe: any thread may ask and wait. A process forked meanwhile (the fork
    start method of multiprocessing, a pre-forking server) has no worker thread: its copy starts afresh
    (`_after_fork_in_child`), and the keys waiting or under way at the fork are compiled when asked again.

    Args:
        compile: a bound method that compiles the model of a key and keeps it where its owner finds it; an error it
            raises is logged (a warning) and the key is not asked again (the owner runs without that model).
        name: the worker thread's name (seen in `threading.enumerate()`).
    """

    def __init__(self, compile: Callable[[Any], object], name: str) -> None:
        self._compile = weakref.WeakMethod(compile)  # type: ignore[arg-type]
        self.name = name
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)  # notified when the worker has nothing left to do
        self._pending: list[Hashable] = []
        self._asked: set[Hashable] = set()
        self._thread: threading.Thread | None = None
        self._current: Hashable | None = None  # the key under way in the worker thread
        _WORKERS.add(self)

    def ask(self, key: Hashable) -> None:
        """Compile `key` in the worker thread unless it was asked before (returns at once)."""
        with self._lock:
            if key in self._asked:
                return
            self._asked.add(key)
            self._pending.append(key)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=False)
                try:
                    self._thread.start()
                except RuntimeError as exc:  # no thread to be had ("can't start new thread"): asked again later
                    self._thread = None
                    self._pending.remove(key)
                    self._asked.discard(key)
                    log.warning("%s: no worker thread (%s); %s not compiled yet", self.name, exc, key)

    @property
    def thread(self) -> threading.Thread | None:
        """The worker thread while it runs, else None."""
        with self._lock:
            return self._thread

    def wait(self) -> None:
        """Return once every key asked so far has been compiled (or has failed), or the worker stopped."""
        with self._idle:
            self._idle.wait_for(lambda: self._thread is None)

    def _run(self) -> None:
        while True:
            with self._lock:
                compile = self._compile() if self._pending else None
                if compile is None:  # nothing left, or the owner is gone: the thread ends
                    self._pending.clear()
                    self._thread = None
                    self._idle.notify_all()
                    return
                key = self._current = self._pending.pop(0)
            try:
                compile(key)
            except Exception as exc:  # (OpenVINO's errors are RuntimeErrors; an out-of-memory, whatever it is)
                log.warning("%s: compiling %s failed (%s); it runs without it", self.name, key, exc)
            finally:
                with self._lock:
                    self._current = None
            del compile  # (the owner may go now, before the next key is taken)

    def _forked(self) -> None:
        """In a forked child: no worker thread runs here (the parent's did not come along), and the lock may have been
        held by it at the fork; a new lock, no thread, and the keys waiting or under way forgotten, to be asked
        again."""
        lost = set(self._pending) | ({self._current} if self._current is not None else set())
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._asked -= lost
        self._pending = []
        self._current = None
        self._thread = None


def _after_fork_in_child() -> None:
    """Reset every worker in a forked child (`os.register_at_fork`): with the parent's worker thread taken for
    running, a key asked there was never compiled and `wait` never returned; with its lock held at the fork, the
    first `ask` hung."""
    for worker in list(_WORKERS):
        worker._forked()


if hasattr(os, "register_at_fork"):  # (POSIX)
    os.register_at_fork(after_in_child=_after_fork_in_child)
