"""Background decoding: same items, same order, errors in place, bounded read-ahead, clean stop."""

from __future__ import annotations

import threading
import time

import pytest

from tracker.io.prefetch import Prefetch


def test_items_come_in_order_and_end():
    with Prefetch(range(100), depth=3) as items:
        assert list(items) == list(range(100))
        assert list(items) == []  # exhausted stays exhausted


def test_an_error_arrives_after_the_items_before_it():
    def source():
        yield from (1, 2, 3)
        raise OSError("disk gone")

    got = []
    with Prefetch(source()) as items, pytest.raises(OSError, match="disk gone"):
        for item in items:
            got.append(item)
    assert got == [1, 2, 3]


def test_read_ahead_is_bounded_by_depth():
    produced = []

    def source():
        for i in range(1000):
            produced.append(i)
            yield i

    with Prefetch(source(), depth=2) as items:
        assert next(items) == 0
        time.sleep(0.3)
        # one handed out, two queued, one more held by the producer waiting for room
        assert len(produced) <= 4


def test_close_stops_the_background_thread_early():
    def endless():
        i = 0
        while True:
            yield i
            i += 1

    items = Prefetch(endless(), depth=2)
    assert [next(items) for _ in range(5)] == [0, 1, 2, 3, 4]
    items.close()
    assert not any(t.name == "tracker-prefetch" and t.is_alive() for t in threading.enumerate())
    with pytest.raises(StopIteration):
        next(items)


def test_a_second_ctrl_c_during_close_still_waits_for_the_item_in_hand():
    """`track` aborts on a second Ctrl-C while closing: the producer (a detection in native code) must have
    stopped before the interpreter exits, or the C++ runtime aborts the process (exit 134, not 130)."""
    in_hand, finished = threading.Event(), threading.Event()

    def source():
        yield 1
        in_hand.set()
        time.sleep(0.5)  # the next frame's detection, in progress
        finished.set()
        yield 2

    items = Prefetch(source(), depth=1)
    assert next(items) == 1
    assert in_hand.wait(5)
    # The second Ctrl-C arrives while close() waits: the first wait raises KeyboardInterrupt, as Python's SIGINT
    # handler does. (A real os.kill of the test process crashed pytest in the full suite: native libraries loaded
    # by earlier tests do not all take a signal mid-wait in good part.)
    finished_event = items._finished
    interrupted = []

    class _InterruptedOnce:
        def wait(self, timeout: float | None = None) -> bool:
            if not interrupted:
                interrupted.append(True)
                raise KeyboardInterrupt
            return finished_event.wait(timeout)

        def __getattr__(self, name: str):
            return getattr(finished_event, name)

    items._finished = _InterruptedOnce()
    with pytest.raises(KeyboardInterrupt):
        items.close()
    assert interrupted
    assert finished.is_set(), "close() returned while the producer was still in the middle of an item"


def test_decoding_overlaps_the_consumer():
    """Producer and consumer each take 20 ms per item: in a thread, 10 items take ~10 x 20 ms, not 10 x 40."""

    def slow_source():
        for i in range(10):
            time.sleep(0.02)
            yield i

    start = time.perf_counter()
    with Prefetch(slow_source()) as items:
        for _ in items:
            time.sleep(0.02)
    assert time.perf_counter() - start < 0.35


def test_depth_must_be_positive():
    with pytest.raises(ValueError, match="depth"):
        Prefetch([], depth=0)
