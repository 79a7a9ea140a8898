"""Bounded torch intra-op threads around the tracker's own work, restored afterwards.

The core's tensor ops are tiny (a few hundred microseconds). With torch's default of one OpenMP thread per
core, every such op wakes a team of threads that spin-wait for each other; when another process holds a core,
the spinning thread waits a whole scheduler time slice per op and a frame costs tens of milliseconds instead of
one (measured in `tools/bench_core.py`, contended rows). One thread does not wait for anybody.

`torch.set_num_threads` is process-wide: while the tracker runs a frame, torch work started by the caller's own
threads at the same moment also sees the bounded count. The caller's setting is back as soon as the frame ends,
and the count is only ever lowered, never raised.
"""

from __future__ import annotations

import torch

__all__ = ["exact_torch_threads", "torch_threads"]


class exact_torch_threads:  # lower-case: used like the functions it replaced
    """Run the block with exactly `count` (>= 1) torch intra-op threads; the previous count is restored after.

    A class, not a generator context manager: entered once or twice a frame, where contextlib's generator
    machinery cost ~4 us a frame (with `torch_threads`) against ~0.5 us for these two methods.
    """

    __slots__ = ("_before", "_count")

    def __init__(self, count: int) -> None:
        self._count = count
        self._before = 0  # the count before the block; 0: left unchanged (nothing to restore)

    def __enter__(self) -> None:
        before = torch.get_num_threads()
        if self._count != before:
            torch.set_num_threads(self._count)
            self._before = before

    def __exit__(self, *exc: object) -> None:
        if self._before:
            torch.set_num_threads(self._before)
            self._before = 0


class torch_threads:  # lower-case: used like the function it replaced
    """Run the block with at most `limit` torch intra-op threads (0: unchanged); the count is restored after.

    Entering yields the count in force before the block: work inside it that should use the caller's threads (a
    PyTorch ReID forward called back by the core) runs under `exact_torch_threads(that count)`.
    """

    __slots__ = ("_before", "_limit")

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._before = 0  # the count before the block, when it was lowered (0: unchanged)

    def __enter__(self) -> int:
        before = torch.get_num_threads()
        limit = self._limit
        if 0 < limit < before:
            torch.set_num_threads(limit)
            self._before = before
        return before

    def __exit__(self, *exc: object) -> None:
        if self._before:
            torch.set_num_threads(self._before)
            self._before = 0
