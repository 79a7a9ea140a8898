"""`tracker.reid.cuda_graph.GraphedForward` on the CPU, with torch.cuda's graph API replaced by a recording fake.

The real capture needs a GPU (tests/test_embedder.py::test_cuda_graphs_give_the_eager_embeddings, marked gpu); these
tests check the wrapper's own logic everywhere: padding, replay rows, the shared pool, the device and capture mode
a capture runs under, the eager fallback and out-of-memory hand-back.
"""

from __future__ import annotations

import contextlib
import logging

import pytest
import torch
from torch import nn

from tracker.reid.cuda_graph import GraphedForward


class FakeCuda:
    """torch.cuda's Stream / stream / current_stream / device / CUDAGraph / graph, recording how they are used.

    A "capture" records the (model, static input, static output) of the forward run inside `graph(...)`; a replay
    recomputes that output in place from the static input, as a CUDA graph's replay does.
    """

    def __init__(self, fail_with: BaseException | None = None) -> None:
        self.fail_with = fail_with
        self.current_device = torch.device("cuda", 0)  # the current GPU; the tests' crops (on the CPU) stand in
        # for crops on another GPU
        self.capturing = None
        self.captures: list[dict] = []
        self.attempts: list[torch.device] = []
        fake = self

        class Stream:
            def __init__(self, device=None) -> None:
                self.device = device

            def wait_stream(self, other) -> None:
                pass

        class CUDAGraph:
            def __init__(self) -> None:
                self.recorded = None
                self.device = None

            def pool(self):
                return ("pool of", id(self))

            def replay(self) -> None:
                assert fake.current_device == self.device, "replayed with another GPU current than captured on"
                model, static_in, static_out = self.recorded
                static_out.copy_(model(static_in))

        @contextlib.contextmanager
        def graph(cuda_graph, pool=None, stream=None, capture_error_mode="global"):
            fake.attempts.append(fake.current_device)
            if fake.fail_with is not None:
                raise fake.fail_with
            fake.captures.append({"pool": pool, "mode": capture_error_mode, "device": fake.current_device})
            cuda_graph.device = fake.current_device
            fake.capturing = cuda_graph
            try:
                yield
            finally:
                fake.capturing = None

        @contextlib.contextmanager
        def device(dev):
            previous, fake.current_device = fake.current_device, torch.device(dev)
            try:
                yield
            finally:
                fake.current_device = previous

        self.Stream, self.CUDAGraph, self.graph, self.device = Stream, CUDAGraph, graph, device

    def stream(self, _stream):
        return contextlib.nullcontext()

    def current_stream(self, device=None):
        return self.Stream(device)

    def install(self, monkeypatch) -> None:
        for name in ("Stream", "stream", "current_stream", "device", "CUDAGraph", "graph"):
            monkeypatch.setattr(torch.cuda, name, getattr(self, name))


class RowNet(nn.Module):
    """(N, 3, H, W) -> (N, 4), rows independent; tells a fake capture which forward it recorded."""

    def __init__(self, fake: FakeCuda) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten()).eval()
        self.fake = fake

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.net(x)
        if self.fake.capturing is not None:
            self.fake.capturing.recorded = (self.net, x, out)
        return out


def _crops(count: int, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.rand((count, 3, 8, 4), generator=generator).contiguous(memory_format=torch.channels_last)


@torch.inference_mode()
def test_replays_give_each_calls_own_rows_from_one_graph_per_padded_size(monkeypatch):
    fake = FakeCuda()
    fake.install(monkeypatch)
    model = RowNet(fake)
    graphed = GraphedForward(model, largest=16)
    calls = [_crops(count, seed) for seed, count in enumerate((1, 3, 8, 5, 16, 3, 2, 20, 4))]
    outputs = [graphed(crops) for crops in calls]
    for crops, out in zip(calls, outputs, strict=True):  # checked after all calls: later replays change no output
        torch.testing.assert_close(out, model.net(crops), msg=f"batch of {len(crops)}")
    assert sorted(graphed._graphs) == [1, 2, 4, 8, 16]  # 20 > largest runs eagerly
    assert [c["pool"] is None for c in fake.captures] == [True] + [False] * 4, "later graphs share the first's pool"


@torch.inference_mode()
def test_capture_and_replay_run_on_the_crops_gpu_and_leave_other_threads_free(monkeypatch):
    """On `device=cuda:1` the capture must run with cuda:1 current (a graph captures the current device's stream:
    otherwise it records nothing and every replay returns the capture's rows); and a detector detecting ahead in
    another thread (`Tracker.stream`) must not be refused CUDA calls while the ReID forward is captured."""
    fake = FakeCuda()
    fake.install(monkeypatch)
    graphed = GraphedForward(RowNet(fake), largest=8)
    graphed(_crops(3, 0))
    assert fake.captures == [{"pool": None, "mode": "thread_local", "device": torch.device("cpu")}]
    assert fake.current_device == torch.device("cuda", 0), "the caller's current device is restored"


@torch.inference_mode()
def test_a_capture_that_fails_falls_back_to_the_eager_forward_for_good(monkeypatch, caplog):
    fake = FakeCuda(fail_with=RuntimeError("operation not permitted when stream is capturing"))
    fake.install(monkeypatch)
    model = RowNet(fake)
    graphed = GraphedForward(model, largest=8)
    with caplog.at_level(logging.WARNING, logger="tracker.reid.cuda_graph"):
        for seed in range(3):
            crops = _crops(5, seed)
            torch.testing.assert_close(graphed(crops), model.net(crops))
    assert not graphed.enabled and not graphed._graphs
    assert len([r for r in caplog.records if "capture failed" in r.getMessage()]) == 1


@torch.inference_mode()
def test_out_of_memory_in_a_capture_reaches_the_embedders_split(monkeypatch):
    fake = FakeCuda(fail_with=torch.cuda.OutOfMemoryError("CUDA out of memory"))
    fake.install(monkeypatch)
    graphed = GraphedForward(RowNet(fake), largest=8)
    model = graphed.model
    with pytest.raises(torch.cuda.OutOfMemoryError):
        graphed(_crops(5, 0))
    assert graphed.enabled and not graphed._graphs  # a smaller batch may still be captured
    for seed in range(1, 4):  # later batches of that padded size run eagerly, without a capture each time
        crops = _crops(6, seed)
        torch.testing.assert_close(graphed(crops), model.net(crops))
    assert len(fake.attempts) == 1
    fake.fail_with = None
    graphed(_crops(2, 0))
    assert sorted(graphed._graphs) == [2]
