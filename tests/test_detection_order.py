"""The order of a frame's detections does not change the tracks: permuting every frame's rows gives the same
boxes, the same track per detection (up to the IDs' numbering) and the same `recovered` flags.

Known exceptions, on real videos (docs/decisions.md, "two core findings of a correctness review"): the FIFOs of
the birth shapes, the still jitters and the appearance calibration take a frame's values in track-row order, so once
full they keep a slightly different set, and the calibration's random subsample picks pairs by their position. These
scenes stay below those effects; they guard the matching itself (stages 1-4, the Kalman updates, re-identification).
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
