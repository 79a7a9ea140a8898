"""Overlap geometry of the matching stages: the sort-and-sweep path for many boxes gives the dense path's values."""

from __future__ import annotations

import numpy as np
import pytest

from tracker import association as assoc
from tracker.config import load_config


def _boxes(rng: np.random.Generator, n: int, width: float) -> np.ndarray:
    """`n` person-like boxes (heights 20-200 px, aspect 0.4) over a width x width/1.8 frame, some degenerate."""
    xy = rng.uniform(0.0, 1.0, (n, 2)) * [width, width / 1.8]
    h = rng.uniform(20.0, 200.0, n)
    boxes = np.c_[xy, xy[:, 0] + 0.4 * h, xy[:, 1] + h]
    boxes[: n // 10, 2] = boxes[: n // 10, 0] - 1.0  # predicted track boxes can have a negative width
    return boxes


def _dense(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(assoc, "SWEEP_MIN_PAIRS", 10**12)


def _sweep(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(assoc, "SWEEP_MIN_PAIRS", 0)


@pytest.mark.parametrize("n", [1, 2, 7, 60, 400])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sweep_iou_and_occlusion_equal_the_dense_ones_bit_for_bit(monkeypatch, n, seed):
    rng = np.random.default_rng(seed)
    width = 1920.0 * np.sqrt(max(n, 10) / 50)
    tracks, dets = _boxes(rng, n, width), _boxes(rng, n + 3, width)
    dets[:, 2] = np.maximum(dets[:, 2], dets[:, 0] + 1.0)  # detections are validated boxes
    dets[-1] = dets[0]  # a duplicate box: equal bottoms, not in front of each other
    if seed == 2 and n >= 2:
        tracks[-1, 0] = np.nan  # a diverged track: its row is NaN either way
        tracks[-2, 2] = np.inf
    rows = np.arange(0, len(dets), 3)
    _dense(monkeypatch)
    iou, occ, occ_rows = assoc.iou_matrix(tracks, dets), assoc.occlusion(dets), assoc.occlusion(dets, rows)
    _sweep(monkeypatch)
    assert np.array_equal(assoc.iou_matrix(tracks, dets), iou, equal_nan=True)
    assert np.array_equal(assoc.occlusion(dets), occ)
    assert np.array_equal(assoc.occlusion(dets, rows), occ_rows)
    if n >= 60:  # the scene has overlaps, so the comparison is not one of zeros
        assert (iou > 0).sum() > 0 and (occ > 0).sum() > 0


def test_sweep_finds_touching_and_nested_boxes(monkeypatch):
    _sweep(monkeypatch)
    a = np.array([[0.0, 0.0, 10.0, 10.0], [100.0, 0.0, 400.0, 300.0]])
    b = np.array([[10.0, 0.0, 20.0, 10.0], [9.999, 0.0, 20.0, 10.0], [150.0, 50.0, 160.0, 60.0], [-900, 5, 1, 6]])
    iou = assoc.iou_matrix(a, b)
    assert iou[0, 0] == 0.0  # touching edges do not overlap
    assert iou[0, 1] == pytest.approx(0.01 / 200.0)
    assert iou[1, 2] == pytest.approx(100.0 / 90000.0)  # a small box inside a large one
    assert iou[0, 3] == pytest.approx(1.0 / 1000.0)  # a wide box whose left edge is far to the left
    assert np.count_nonzero(iou) == 3


@pytest.mark.parametrize("n", [20, 150, 400])
def test_motion_gate_sweep_keeps_the_dense_gate_bit_for_bit(monkeypatch, n):
    from tracker import kalman

    rng = np.random.default_rng(n)
    kf = kalman.KalmanFilter(load_config(None).motion)
    width = 1920.0 * np.sqrt(n / 50)
    tracks = kalman.xyxy_to_xywh(_boxes(rng, n, width)[n // 10 :])
    mean, cov = kf.initiate(tracks)
    mean[:, 4:6] = rng.normal(0.0, 3.0, (len(mean), 2))
    for _ in range(int(rng.integers(1, 20))):  # uncertain tracks reach far
        mean, cov = kf.predict(mean, cov)
    dets = kalman.xyxy_to_xywh(_boxes(rng, n + 5, width)[n // 10 :])
    projected, s = kf.project(mean, cov)
    limit = np.diagonal(s, axis1=1, axis2=2) * rng.uniform(0.5, 20.0, (len(s), 1))
    monkeypatch.setattr(kalman, "SWEEP_MIN_PAIRS", 10**12)
    dense, near = kf.gate(mean, cov, dets, 9.4877), kalman._near(projected, dets, limit)
    monkeypatch.setattr(kalman, "SWEEP_MIN_PAIRS", 0)
    assert np.array_equal(kf.gate(mean, cov, dets, 9.4877), dense)
    swept = kalman._near(projected, dets, limit)
    assert sorted(zip(*swept, strict=True)) == sorted(zip(*near, strict=True))  # the very pairs the grid finds
    assert dense.any() and not dense.all()


@pytest.mark.parametrize("shape", [(0, 0), (0, 5), (5, 0), (1, 1), (3, 7), (500, 400)])
def test_mask_pairs_are_np_nonzero(shape):
    """`mask_pairs` gives np.nonzero's rows and columns, in its row-major order, also for empty and sparse masks."""
    from tracker.sweep import mask_pairs

    mask = np.random.default_rng(sum(shape)).random(shape) < 0.01
    rows, cols = mask_pairs(mask)
    want_rows, want_cols = np.nonzero(mask)
    np.testing.assert_array_equal(rows, want_rows)
    np.testing.assert_array_equal(cols, want_cols)
    assert rows.dtype == want_rows.dtype and cols.dtype == want_cols.dtype and (shape != (500, 400) or len(rows) > 100)


@pytest.mark.parametrize("fuse_score", [True, False])
def test_stage1_cost_from_a_known_motion_cost_is_the_whole_cost_bit_for_bit(fuse_score):
    """Stage 1 computes each pair's motion cost once and fuses appearance onto it (`motion_cost`, `fuse_appearance`):
    1 - IoU (times the score with `fuse_score`) without appearance, the weighted sum with it, inf below the gate."""
    cfg = load_config(None, overrides=[f"association.fuse_score={str(fuse_score).lower()}"]).association
    rng = np.random.default_rng(3)
    iou, scores = rng.uniform(0, 1, 400), rng.uniform(0.1, 1, 400)
    similarity = np.where(rng.uniform(size=400) < 0.3, np.nan, rng.uniform(-0.2, 1, 400))
    bounds = rng.uniform(0.3, 0.7, 400)
    motion = assoc.motion_cost(iou, scores, cfg)
    np.testing.assert_allclose(motion, 1.0 - (iou * scores if fuse_score else iou), rtol=0, atol=1e-15)
    w = cfg.appearance_weight
    expected = np.where(np.isnan(similarity), motion, w * (1.0 - similarity) + (1.0 - w) * motion)
    expected[similarity < bounds] = np.inf
    fused = assoc.fuse_appearance(motion, similarity, bounds, cfg)
    np.testing.assert_array_equal(fused, expected)
    np.testing.assert_array_equal(fused, assoc.appearance_motion_cost(iou, similarity, scores, bounds, cfg))
    assert np.isinf(fused).any() and (np.isfinite(fused) & ~np.isnan(similarity)).any()  # vetoed and fused pairs


def test_a_look_exactly_at_the_stage1_gate_is_let_through_and_one_just_below_it_is_not():
    """`appearance.match_threshold` is the similarity a pair must reach: at it the pair is fused, below it refused."""
    cfg = load_config(None).association
    gate = 0.5
    similarity = np.array([gate, np.nextafter(gate, 0.0), np.nan])
    cost = assoc.appearance_motion_cost(np.full(3, 0.8), similarity, np.full(3, 0.9), gate, cfg)
    assert np.isfinite(cost[0]) and np.isinf(cost[1]) and np.isfinite(cost[2])
