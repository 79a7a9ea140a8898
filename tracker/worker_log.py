"""The log records of the processes `track batch` and `track eval --workers N` spawn, handled by their parent.

A spawned process starts with Python's logging as it comes (no handler: a warning reaches stderr bare, through the
last-resort handler, and an INFO line nowhere), whatever the parent set up. `relaying` (in the parent) opens a
queue and a thread that hands each record the workers put in it to the parent's logger of the same name;
`send_to_parent` (in the worker, first) makes that queue its root logger's one handler. So what the parent prints
of a worker's records is what it prints of its own (`track: warning: ...`, other libraries' hidden, `--verbose`'s
INFO lines), and a caller's own logging set-up receives them. The library sets no handler in the caller's process.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from logging.handlers import QueueHandler
from typing import Any

__all__ = ["LogRelay", "relaying", "send_to_parent"]

END_WAIT_S = 5.0  # how long the end of `relaying` waits for the records still queued (a killed worker's half record)


@dataclass(frozen=True)
class LogRelay:
    """What a spawned worker takes (picklable, by the process's arguments): the parent's queue and the level of the
    parent's root logger (a record below it is not sent)."""

    queue: Any  # a multiprocessing queue of the worker's start method
    level: int


def _hand_on(queue: Any) -> None:
    """Hands each record of `queue` to this process's logger of its name (its handlers, then its parents'), until
    None (or the queue breaks)."""
    while True:
        try:
            record = queue.get()
        except (EOFError, OSError):
            return
        if record is None:
            return
        logging.getLogger(record.name).handle(record)


@contextmanager
def relaying(context: Any) -> Iterator[LogRelay]:
    """While inside, the records put in the yielded relay's queue (`send_to_parent` in a process started by the
    multiprocessing `context`) are handled by this process's loggers; after, those queued are handled too (up to
    `END_WAIT_S`: a worker killed while putting one leaves a record that never ends, which must not hang the exit)."""
    relay = LogRelay(context.Queue(), logging.getLogger().getEffectiveLevel())
    thread = threading.Thread(target=_hand_on, args=(relay.queue,), name="worker-log", daemon=True)
    thread.start()
    try:
        yield relay
    finally:
        relay.queue.put(None)
        thread.join(END_WAIT_S)


def send_to_parent(relay: LogRelay) -> None:
    """In a spawned worker: every record of its loggers at the parent's root level or above goes to the parent (the
    root logger's handlers are replaced by one that puts them in `relay.queue`)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.addHandler(QueueHandler(relay.queue))
    root.setLevel(relay.level)
