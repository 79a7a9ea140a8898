"""A network's forward replayed as captured CUDA graphs (torch.cuda.CUDAGraph), one per padded batch size.

A small network such as OSNet-x0.25 launches about 400 kernels per forward; on a GPU whose host is slow (seen on
an H200 in a virtual machine: ~13 ms per call for 1-50 crops, against 12 ms for the whole detector) the launches,
not the arithmetic, are the cost. A captured graph replays all of them with one launch. Batches are padded to the
next power of two so that a handful of graphs serve every batch size; rows are independent in eval mode, so the
padding changes no real row. Follows PyTorch's "CUDA Graphs" notes (warm-up on a side stream, static input and
output tensors, capture under `torch.cuda.graph`). Capture and replay run with the crops' GPU as the current
device (a graph captures only the current device's capture stream: on `cuda:1` with `cuda:0` current it would
capture nothing and replay stale rows), and capture forbids unsafe CUDA calls in this thread only, so a detector
working ahead in another thread (`Tracker.stream`) is not broken by a capture.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from torch.cuda import _POOL_HANDLE  # (torch's name of a graph pool's handle; imported at run time it cycles)

__all__ = ["GraphedForward", "padded_batch"]

log = logging.getLogger(__name__)

_Captured = tuple[torch.cuda.CUDAGraph, torch.Tensor, torch.Tensor]  # graph, static input, static output

_WARMUP_CALLS = 3  # eager calls on a side stream before a capture, as PyTorch's notes ask (cuDNN/cuBLAS set-up)
_CAPTURE_MODE = "thread_local"  # cudaStreamCaptureMode: other threads (the detect-ahead thread) keep using CUDA


def padded_batch(count: int, largest: int) -> int:
    """The batch a graph is captured for: the next power of two >= count, at most `largest`.

    Raises:
        ValueError: `count` outside 1..`largest`.
    """
    if not 1 <= count <= largest:
        raise ValueError(f"batch of {count} outside 1..{largest}")
    return min(1 << (count - 1).bit_length(), largest)


class GraphedForward:
    """Callable (N, C, H, W) tensor on CUDA -> the model's (N, D) output, by graph replay.

    Args:
        model: an eval-mode module on a CUDA device whose rows do not interact (no batch statistics).
        largest: the largest batch captured; callers chunk larger batches (the embedder's `reid.batch_size`).
    Graphs are captured lazily, the first time a padded size is seen. If a capture fails (an operation that
    cannot be captured, a driver without graph support), a warning is logged once and every later call runs
    the model eagerly: the outputs are the same, only slower. A padded size whose capture ran out of memory is
    not captured again (each try costs warm-up forwards and a collection): its batches run eagerly, and the
    out-of-memory error reaches the caller once, whose split retries in smaller batches.
    """

    def __init__(self, model: torch.nn.Module, largest: int) -> None:
        self.model = model
        self.largest = largest
        self.enabled = True
        self._graphs: dict[int, _Captured] = {}
        # One memory pool shared by all the graphs, captured and replayed in any order: safe because they never run
        # at the same time and each replay's rows are cloned before the next replay (which may reuse the memory).
        self._pool: _POOL_HANDLE | None = None
        self._too_big: set[int] = set()  # padded sizes whose capture ran out of memory: run eagerly

    def __call__(self, crops: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) crops on CUDA -> the model's (N, D) output: the graph captured for N padded to a power of two
        (`padded_batch`) replayed, or the model run eagerly when N is 0 or above `largest`, graphs are off, or that
        size's capture failed (another failure turns graphs off, with a warning logged).

        Raises:
            torch.cuda.OutOfMemoryError: a capture ran out of memory, once per padded size (its batches then run
                eagerly; the embedder retries in smaller batches).
        """
        count = len(crops)
        if not self.enabled or count == 0 or count > self.largest:
            return self.model(crops)
        size = padded_batch(count, self.largest)
        if size in self._too_big:
            return self.model(crops)
        with torch.cuda.device(crops.device):  # capture and replay on the crops' GPU, whichever is current
            entry = self._graphs.get(size)
            if entry is None:
                entry = self._capture(crops, size)
                if entry is None:
                    return self.model(crops)
            graph, static_in, static_out = entry
            static_in[:count].copy_(crops)
            graph.replay()
            return static_out[:count].clone()  # the next replay overwrites static_out

    def _capture(
        self, crops: torch.Tensor, size: int
    ) -> tuple[torch.cuda.CUDAGraph, torch.Tensor, torch.Tensor] | None:
        layout = torch.channels_last if crops.is_contiguous(memory_format=torch.channels_last) else None
        static_in = torch.zeros((size, *crops.shape[1:]), dtype=crops.dtype, device=crops.device)
        if layout is not None:
            static_in = static_in.contiguous(memory_format=layout)
        try:
            side = torch.cuda.Stream(device=crops.device)
            side.wait_stream(torch.cuda.current_stream(crops.device))
            with torch.cuda.stream(side):
                for _ in range(_WARMUP_CALLS):
                    self.model(static_in)
            torch.cuda.current_stream(crops.device).wait_stream(side)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph, pool=self._pool, capture_error_mode=_CAPTURE_MODE):
                static_out = self.model(static_in)
        except torch.cuda.OutOfMemoryError:
            self._too_big.add(size)
            log.warning("CUDA out of memory capturing the ReID forward for batches of %d: they run eagerly", size)
            raise  # the embedder splits the batch and retries
        except RuntimeError as exc:
            self.enabled = False
            log.warning("CUDA graph capture failed (%s): the ReID forward runs eagerly", exc)
            return None
        if self._pool is None:
            self._pool = graph.pool()
        self._graphs[size] = (graph, static_in, static_out)
        log.info("ReID forward captured as a CUDA graph for batches of %d", size)
        return self._graphs[size]
