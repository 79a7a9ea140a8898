"""The CUDA code paths that can run without a GPU: fp16 bank storage, the dense similarity, half inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tracker import Tracker, load_config
from tracker.bank import AppearanceBank
from tracker.testing import Walker, identity_embeddings, linear_path, render


def _unit(rows: int, dim: int, seed: int) -> torch.Tensor:
    return torch.nn.functional.normalize(torch.from_numpy(np.random.default_rng(seed).normal(size=(rows, dim))), dim=1)


@pytest.mark.parametrize("aggregation", ["max", "mean", "topk_mean"])
def test_fp16_bank_dense_similarity_matches_fp32(aggregation):
    """The bank as it is on CUDA (fp16 storage, one dense matmul) gives the fp32 similarities within fp16 rounding."""
    reference = AppearanceBank(5, "cpu", initial_slots=4, aggregation=aggregation, dtype="float32")
    half = AppearanceBank(5, "cpu", initial_slots=4, aggregation=aggregation)
    half.dtype = torch.float16  # CUDA's storage ("auto" there), on the CPU: its dense path
    for bank in (reference, half):
        assert [bank.allocate() for _ in range(4)] == [0, 1, 2, 3]
    slots = np.arange(4)
    for step in range(7):  # more pushes than K: the FIFO wraps
        emb = _unit(3, 64, step)
        for bank in (reference, half):
            bank.push(slots[:3], emb)
    queries = _unit(6, 64, 99)
    want = reference.similarity(slots, queries)  # no candidates: the dense path, as on CUDA
    got = half.similarity(slots, queries.half())
    assert np.isnan(got[3]).all() and np.isnan(want[3]).all()  # slot 3 is empty
    np.testing.assert_allclose(got[:3], want[:3], atol=2e-3)


def test_half_precision_embeddings_are_accepted():
    """fp16 embeddings (what a CUDA ReID with reid.half gives) track like fp32 ones."""
    walkers = [Walker(0, linear_path(100, 300, 8, 0)), Walker(1, linear_path(420, 305, -8, 0))]
    identities = identity_embeddings(2, 64)
    outputs = []
    for dtype in (torch.float32, torch.float16):
        rng = np.random.default_rng(0)
        tracker = Tracker(load_config(None, overrides=["device=cpu"]), frame_rate=30)
        ids = []
        for f in range(40):
            det = render(walkers, f, identities, 0.03, rng)
            out = tracker.update_detections(
                det.boxes_xyxy, det.scores, embeddings=torch.from_numpy(det.embeddings).to(dtype)
            )
            ids.append([(o.track_id, int(det.identities[o.detection_index])) for o in out])
        outputs.append(ids)
    assert outputs[0] == outputs[1]
