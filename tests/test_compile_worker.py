"""CompileWorker in a process forked while it works (multiprocessing's fork start method, a pre-forking server)."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from tracker.reid.compile_worker import CompileWorker

CHILD_SECONDS = 20  # how long the forked child may take to compile its keys before it counts as hung


class Compiles:
    """An owner whose compile of a key waits for `go` (so that a fork finds one under way) and records the key."""

    def __init__(self) -> None:
        self.parent = os.getpid()
        self.go = threading.Event()
        self.started = threading.Event()
        self.done: list[int] = []

    def compile(self, key: int) -> None:
        self.started.set()
        if os.getpid() == self.parent:  # (a forked child's copy of the event is never set)
            self.go.wait()
        self.done.append(key)


def _child_status(pid: int) -> int | None:
    """The forked child's exit status, or None (and the child killed) if it did not end in `CHILD_SECONDS`."""
    deadline = time.monotonic() + CHILD_SECONDS
    while time.monotonic() < deadline:
        ended, status = os.waitpid(pid, os.WNOHANG)
        if ended:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return None


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no os.fork on this platform")
@pytest.mark.parametrize("lock_held", [False, True])
def test_a_process_forked_while_the_worker_compiles_compiles_its_own_keys(lock_held):
    """A process forked while the worker thread compiles (or holds its lock) has no worker thread: its copy of the
    worker took the parent's thread for running, so a key it asked was never compiled and `wait` never returned
    (`OpenVINOForward.wait_compiled` hung; the wide copies never came), and with the lock held at the fork its first
    ask hung. The child's worker starts afresh: its own keys compile, and one under way (or waiting) in the parent at
    the fork is compiled when the child asks it again."""
    owner = Compiles()
    worker = CompileWorker(owner.compile, "test-compile")
    worker.ask(1)
    assert owner.started.wait(10)
    holding, release = threading.Event(), threading.Event()
    if lock_held:  # (the worker's lock held by another thread at the fork, as the worker's own bookkeeping does)

        def hold() -> None:
            with worker._lock:
                holding.set()
                release.wait()

        threading.Thread(target=hold).start()
        assert holding.wait(10)
    pid = os.fork()
    if pid == 0:  # the child: exits 0 only if both keys compile here
        code = 1
        try:
            worker.ask(2)
            worker.ask(1)  # (under way in the parent at the fork: asked again at its next use)
            worker.wait()
            code = 0 if owner.done == [2, 1] else 3
        finally:
            os._exit(code)
    owner.go.set()
    release.set()
    worker.wait()
    status = _child_status(pid)
    assert status is not None, "the forked child hung on its worker"
    assert status == 0
