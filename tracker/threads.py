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

from collections.abc import Iterator
from contextlib import contextmanager

import torch

__all__ = ["exact_torch_threads", "torch_threads"]


@contextmanager
def torch_threads(limit: int) -> Iterator[int]:
    """Run the block with at most `limit` torch intra-op threads (0: unchanged); the count is restored after.

    Yields the count in force before the block: work inside it that should use the caller's threads (a PyTorch
    ReID forward called back by the core) runs under `exact_torch_threads(that count)`.
    """
    before = torch.get_num_threads()
    with exact_torch_threads(before if limit <= 0 else min(limit, before)):
        yield before


@contextmanager
def exact_torch_threads(count: int) -> Iterator[None]:
    """Run the block with exactly `count` (>= 1) torch intra-op threads; the previous count is restored after."""
    before = torch.get_num_threads()
    if count == before:
        yield
        return
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)
