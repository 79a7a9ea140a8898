"""A frame's (T, N) work the one-class frame does not need: the gated IoU is the IoU itself, stage 1 adds no class
block, and the stage 1 pairs are read by their flat places (docs/speed-log.md, stop 68)."""

from __future__ import annotations

import numpy as np
import pytest

from tracker import Tracker, load_config
from tracker.frame_view import FrameView
from tracker.sweep import mask_pairs, mask_places

_BOXES = np.array([[100.0, 100, 150, 220], [130, 110, 180, 230], [400, 100, 450, 220]])  # two overlap


def _tracked(class_ids: np.ndarray | None, frames: int = 6) -> Tracker:
    """A tracker fed `frames` frames of three people walking right (the first two overlapping)."""
    tracker = Tracker(load_config(None, overrides=["device=cpu"]), frame_rate=30)
    looks = np.random.default_rng(0).standard_normal((3, 64)).astype(np.float32)
    for i in range(frames):
        tracker.update_detections(_BOXES + [2.0 * i, 0, 2.0 * i, 0], np.full(3, 0.9), class_ids, embeddings=looks)
    return tracker


def _next_frame(tracker: Tracker, class_ids: np.ndarray | None) -> list:
    looks = np.random.default_rng(0).standard_normal((3, 64)).astype(np.float32)
    return tracker.update_detections(_BOXES + [12.0, 0, 12.0, 0], np.full(3, 0.9), class_ids, embeddings=looks)


@pytest.mark.parametrize("classes", [None, [0, 1, 0]])
def test_the_one_class_frame_takes_the_iou_itself_as_the_gated_iou(monkeypatch, classes):
    """With one class every overlapping pair is in the motion gate, so the IoU outside the gate is 0 already: the
    frame's pairs hold the IoU itself, not a (T, N) copy of it. With two classes an incompatible overlapping pair is
    out of the gate and its gated IoU is 0."""
    class_ids = None if classes is None else np.array(classes)
    tracker = _tracked(class_ids)
    seen = []
    build = tracker.core._frame_view
    monkeypatch.setattr(tracker.core, "_frame_view", lambda pairs, *args: seen.append(pairs) or build(pairs, *args))
    assert len(_next_frame(tracker, class_ids)) == 3
    (pairs,) = seen
    if classes is None:
        assert pairs.gated_iou is pairs.iou
    else:
        assert pairs.gated_iou is not pairs.iou
        assert np.array_equal(pairs.gated_iou, np.where(pairs.motion_gate, pairs.iou, 0.0))
        assert (pairs.iou[~pairs.motion_gate] > 0).any()  # an overlapping pair of two classes, out of the gate


@pytest.mark.parametrize("classes", [None, [0, 1, 0]])
def test_stage_1_adds_a_class_block_only_with_several_classes(monkeypatch, classes):
    """Stage 1's cost gets the class cost of its block added only where the frame holds several classes (one class:
    no (T, N) sum of zeros)."""
    class_ids = None if classes is None else np.array(classes)
    tracker = _tracked(class_ids)
    asked = []
    block = FrameView.class_block
    monkeypatch.setattr(FrameView, "class_block", lambda view, *args: asked.append(args) or block(view, *args))
    assert len(_next_frame(tracker, class_ids)) == 3
    assert len(asked) == (0 if classes is None else 1)  # (every pair matched in stage 1: no later stage asks)


@pytest.mark.parametrize("shape", [(0, 0), (0, 5), (5, 0), (1, 1), (3, 7), (50, 50)])
def test_mask_places_are_the_pairs_places_in_the_matrix(shape):
    """`mask_places` gives the True entries' rows and columns row-major (as `np.nonzero`, and `mask_pairs` takes
    them from it) and their flat places, which `take` and `put` read and write in a matrix of the mask's shape as
    `[rows, cols]` does."""
    rng = np.random.default_rng(sum(shape))
    mask, matrix = rng.random(shape) < 0.2, rng.random(shape)
    rows, cols, places = mask_places(mask)
    want_rows, want_cols = np.nonzero(mask)
    np.testing.assert_array_equal(rows, want_rows)
    np.testing.assert_array_equal(cols, want_cols)
    for got, want in zip(mask_pairs(mask), (want_rows, want_cols), strict=True):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(matrix.take(places), matrix[rows, cols])
    written = np.zeros(shape)
    written.put(places, 1.0)
    np.testing.assert_array_equal(written, mask)
