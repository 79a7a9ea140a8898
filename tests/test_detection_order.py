"""The order of a frame's detections does not change the tracks: permuting every frame's rows gives the same
boxes, the same track per detection (up to the IDs' numbering) and the same `recovered` flags.

The scenes: six synthetic walkers (the matching itself: stages 1-4, the Kalman updates, re-identification), and
MOT17-04's crowd, where the FIFOs a frame's values enter (birth shapes, still jitters, calibration, ground line) fill
and must take them in an order the detections' order does not set (docs/decisions.md, "Three core findings of
a correctness review", B).
"""

from __future__ import annotations

import numpy as np
import pytest

from tracker import Tracker, load_config
from tracker.testing import Walker, identity_embeddings, linear_path, render

FRAMES = 90
DIM = 32


def crossing_walkers() -> list[Walker]:
    """Six people crossing each other in pairs; two hide for a second (lost, then re-identified)."""
    hidden = lambda frame: not 30 <= frame < 55  # noqa: E731
    return [
        Walker(0, linear_path(100, 300, 4.0, 0.0)),
        Walker(1, linear_path(500, 310, -4.0, 0.0), visible=hidden),
        Walker(2, linear_path(200, 500, 3.0, -0.5)),
        Walker(3, linear_path(450, 480, -3.0, 0.5)),
        Walker(4, linear_path(700, 200, 0.0, 2.0), visible=hidden),
        Walker(5, linear_path(730, 420, 0.0, -2.0)),
    ]


def run(frames: list, orders: list[np.ndarray], lazy: bool) -> list[list[tuple]]:
    """Per frame, the sorted (original detection row, track ID, box, recovered) of the outputs."""
    tracker = Tracker(load_config(None, overrides=["device=cpu"]), frame_rate=30)
    out = []
    for det, order in zip(frames, orders, strict=True):
        boxes, scores, looks = det.boxes_xyxy[order], det.scores[order], det.embeddings[order]
        if lazy:
            objects = tracker.update_detections(boxes, scores, embed=lambda rows, e=looks: e[rows])
        else:
            objects = tracker.update_detections(boxes, scores, embeddings=looks)
        out.append(
            sorted((int(order[o.detection_index]), o.track_id, tuple(o.xyxy.tolist()), o.recovered) for o in objects)
        )
    return out


@pytest.mark.parametrize("lazy", [False, True], ids=["embeddings", "embed"])
def test_permuting_each_frames_detections_gives_the_same_tracks(lazy):
    rng = np.random.default_rng(0)
    people = crossing_walkers()
    frames = [render(people, f, identity_embeddings(len(people), DIM), 0.3 / np.sqrt(DIM), rng) for f in range(FRAMES)]
    given = run(frames, [np.arange(len(d.scores)) for d in frames], lazy)
    shuffled = run(frames, [rng.permutation(len(d.scores)) for d in frames], lazy)
    assert any(recovered for frame in given for *_, recovered in frame)  # a hidden person came back
    renamed: dict[int, int] = {}
    for f, (a, b) in enumerate(zip(given, shuffled, strict=True)):
        assert [(row, box, rec) for row, _, box, rec in a] == [(row, box, rec) for row, _, box, rec in b], f
        for (_, id_a, *_), (_, id_b, *_) in zip(a, b, strict=True):
            assert renamed.setdefault(id_a, id_b) == id_b, f"frame {f}: track {id_a} took another ID"
    assert len(set(renamed.values())) == len(renamed)


def mot17_04_frames(shared, frames: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """MOT17-04 FRCNN's public detections of the first `frames` frames, each (boxes (N, 4) xyxy, scores (N,),
    embeddings (N, DIM)): a detection overlapping a ground-truth person (IoU >= 0.5) looks like them (a seeded unit
    vector per gt ID plus noise), any other like no one (a vector of its own)."""
    root = shared / "data" / "MOT17" / "train" / "MOT17-04-FRCNN"
    det = np.loadtxt(root / "det" / "det.txt", delimiter=",")
    gt = np.loadtxt(root / "gt" / "gt.txt", delimiter=",")
    gt = gt[(gt[:, 6] == 1) & (gt[:, 7] == 1)]  # people to track
    rng = np.random.default_rng(4)
    people = rng.standard_normal((int(gt[:, 1].max()) + 1, DIM))
    people /= np.linalg.norm(people, axis=1, keepdims=True)
    out = []
    for f in range(1, frames + 1):
        d, g = det[det[:, 0] == f], gt[gt[:, 0] == f]
        boxes = np.concatenate([d[:, 2:4], d[:, 2:4] + d[:, 4:6]], axis=1)
        truth = np.concatenate([g[:, 2:4], g[:, 2:4] + g[:, 4:6]], axis=1)
        low = np.maximum(boxes[:, None, :2], truth[None, :, :2])
        high = np.minimum(boxes[:, None, 2:], truth[None, :, 2:])
        inter = np.prod(np.clip(high - low, 0, None), axis=2)
        area = lambda b: np.prod(b[:, 2:] - b[:, :2], axis=1)  # noqa: E731
        iou = inter / (area(boxes)[:, None] + area(truth)[None, :] - inter)
        best = iou.argmax(axis=1) if len(g) else np.zeros(len(d), dtype=int)
        matched = iou.max(axis=1, initial=0.0) >= 0.5
        looks = rng.standard_normal((len(d), DIM))
        looks /= np.linalg.norm(looks, axis=1, keepdims=True)
        looks[matched] = people[g[best[matched], 1].astype(int)] + 0.3 / np.sqrt(DIM) * looks[matched]
        out.append((boxes, d[:, 6], looks / np.linalg.norm(looks, axis=1, keepdims=True)))
    return out


@pytest.mark.parametrize("frame_size", [None, (1080, 1920)], ids=["no-frame-size", "frame-size"])
def test_permuting_a_crowded_videos_detections_gives_the_same_tracks(shared, frame_size):
    """MOT17-04 (FRCNN, ~40 people a frame, embeddings from the ground truth): the FIFOs of the birth shapes, the
    still jitters, the calibration and the ground line fill, and each frame's values enter them in an order its
    detections' order does not set (the calibration's subsample picking pairs by their boxes). Taken in the tracks'
    row order (and picked by position) they kept slightly different sets: other learnt bounds, and from frame 315
    (no frame size) a box the other order did not report."""
    frames = mot17_04_frames(shared, 320)
    rng = np.random.default_rng(1)
    runs, learnt = [], []
    for orders in ([np.arange(len(s)) for _, s, _ in frames], [rng.permutation(len(s)) for _, s, _ in frames]):
        tracker = Tracker(load_config(None, overrides=["device=cpu"]), frame_rate=30)
        out = []
        for (boxes, scores, looks), order in zip(frames, orders, strict=True):
            objects = tracker.update_detections(
                boxes[order], scores[order], embeddings=looks[order], frame_size=frame_size
            )
            out.append(sorted((int(order[o.detection_index]), tuple(o.xyxy.tolist())) for o in objects))
        runs.append(out)
        core = tracker.core
        learnt.append((core.births.summary(), core.calibration.bounds(), core.still.bound, core.ground.line(0)))
    for f, (a, b) in enumerate(zip(*runs, strict=True)):
        assert a == b, f"frame {f + 1}"
    assert learnt[0] == learnt[1]
    assert learnt[0][1] and (frame_size is None or learnt[0][2] is not None)  # calibrated; the still rule learnt


def test_calibration_orders_its_pairs_by_their_eight_box_coordinates_ties_as_given():
    """The calibration subsample's order (`_by_boxes`): by the matched box of the pair's track, then by the
    detection's box, coordinate by coordinate; pairs of equal boxes (duplicate detections, -0.0 and 0.0) keep their
    given order. Checked against numpy's lexicographic sort of the 8 coordinates, on boxes with many ties."""
    from tracker.calibration_samples import _by_boxes

    rng = np.random.default_rng(5)
    for trial in range(300):
        n, t = int(rng.integers(1, 40)), int(rng.integers(1, 40))
        boxes = rng.integers(0, 3, (n, 4)).astype(float) if trial % 2 else rng.uniform(0, 500, (n, 4))
        boxes[rng.integers(0, n)] = -0.0 if trial % 3 == 0 else boxes[0]
        m = min(n, t)
        rows, cols = rng.choice(t, m, replace=False), rng.choice(n, m, replace=False)
        mask = (rng.random((t, n)) < 0.5) & np.isin(np.arange(t), rows)[:, None]
        pairs = np.stack(np.nonzero(mask), axis=1)
        matched = dict(zip(rows.tolist(), cols.tolist(), strict=True))
        keys = [[*boxes[matched[r]], *boxes[c]] for r, c in pairs.tolist()]
        expected = pairs[np.lexsort(np.array(keys).T[::-1])] if len(pairs) > 1 else pairs
        assert np.array_equal(_by_boxes(pairs, rows, cols, boxes), expected), trial
