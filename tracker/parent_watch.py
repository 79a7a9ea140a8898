"""Noticing, in a spawned worker process, that the process that started it is gone (`kill -9`, a crash, the
out-of-memory killer), so that the worker stops instead of working on orphaned (`track batch`'s local workers,
`track eval`'s and `track compare`'s pool workers).

The worker waits on multiprocessing's parent sentinel: the read end of a pipe whose write end only the parent
process holds (the pipe is not inheritable: no other process keeps it open), so it reaches end-of-file the moment
the parent process ends, however it ends, with no polling. Not `prctl(PR_SET_PDEATHSIG)`: Linux only, and it fires
when the parent *thread* that started the worker ends (a pool may start workers from a thread of its own), not
the process. Not a poll of `os.getppid()`: a delay of up to one poll interval, CPU spent polling, and a parent
process ID that can be reused.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable

__all__ = ["on_parent_exit"]


def on_parent_exit(action: Callable[[], object]) -> bool:
    """Call `action` (in a daemon thread of this process) once the process that started this one has ended.

    For processes started by `multiprocessing` (any start method; the parent's sentinel is what is watched).
    `action` runs in the watching thread: to stop the process it signals the process (`os.kill` of its own ID) or
    ends it (`os._exit`); an exception it raises ends only that thread.

    Returns:
        True when watching; False in a process not started by `multiprocessing` (nothing is watched).
    """
    parent = multiprocessing.parent_process()
    if parent is None:
        return False

    def watch() -> None:
        parent.join()  # returns when the parent's end of the sentinel pipe closes: the parent process is gone
        action()

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
    return True
