"""Read the next items of an iterator (decoded frames) in a background thread, in order, a bounded few ahead.

OpenCV's decoders release the GIL, so a frame is decoded while the previous one is detected and tracked. The
queue holds at most `depth` items, so memory stays at a few frames whatever the speed difference; an error
raised by the source reaches the consumer after the items read before it, in the same order.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from types import TracebackType
from typing import Generic, TypeVar

__all__ = ["DECODE_AHEAD", "Prefetch"]

T = TypeVar("T")

DECODE_AHEAD = 2  # frames decoded ahead of the one being tracked: hides decode, holds two frames in memory
_POLL_SECONDS = 0.1  # how often a blocked producer checks whether the consumer has gone
_JOIN_SECONDS = 5.0  # how long close() waits for the producer to notice (a stream read may block longer)
_ITEM, _END, _ERROR = range(3)


class Prefetch(Generic[T]):
    """Iterate `items` `depth` ahead in a daemon thread; use as a context manager (or call `close`).

    Args:
        items: any iterable; it is iterated in the background thread only.
        depth: items buffered (>= 1).
    Raises:
        ValueError: depth < 1.
        Whatever the iterable raises, from `__next__`, after the items that came before it.
    """

    def __init__(self, items: Iterable[T], depth: int = DECODE_AHEAD) -> None:
        if depth < 1:
            raise ValueError(f"depth must be >= 1, got {depth}")
        self._queue: queue.Queue[tuple[int, object]] = queue.Queue(maxsize=depth)
        self._closed = threading.Event()
        self._done = False
        # Set by the producer as it returns. close() waits on it rather than on Thread.join: on Python 3.11 a join
        # interrupted by Ctrl-C marks the thread stopped while it still runs, and a second join returns at once.
        self._finished = threading.Event()
        self._thread = threading.Thread(target=self._produce, args=(items,), name="tracker-prefetch", daemon=True)
        self._thread.start()

    def _produce(self, items: Iterable[T]) -> None:
        try:
            for item in items:
                if not self._put((_ITEM, item)):
                    return
            self._put((_END, None))
        except BaseException as exc:  # handed to the consumer, which re-raises it in order
            self._put((_ERROR, exc))
        finally:
            self._finished.set()

    def _put(self, entry: tuple[int, object]) -> bool:
        """Block until there is room or the consumer closed us; False when closed."""
        while not self._closed.is_set():
            try:
                self._queue.put(entry, timeout=_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def __iter__(self) -> Iterator[T]:
        return self

    def __next__(self) -> T:
        if self._done:
            raise StopIteration
        kind, value = self._queue.get()
        if kind == _ITEM:
            return value  # type: ignore[return-value]
        self._done = True
        if kind == _ERROR:
            raise value  # type: ignore[misc]
        raise StopIteration

    def close(self) -> None:
        """Stop reading ahead and wait for the background thread (it stops at its next item)."""
        self._done = True
        self._closed.set()
        while True:  # unblock a producer waiting for room
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        try:
            self._finished.wait(_JOIN_SECONDS)
        except KeyboardInterrupt:  # a second Ctrl-C: still let the item in hand (native code: a detection) finish,
            self._finished.wait(_JOIN_SECONDS)  # or the interpreter exits under it and the C++ runtime aborts
            raise

    def __enter__(self) -> Prefetch[T]:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
