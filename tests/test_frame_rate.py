"""Frame rate: the same physical scene gives the same outcome sampled anywhere from 2 to 60 frames/s."""

from __future__ import annotations

import numpy as np
import pytest

from tracker import Tracker, load_config
from tracker.testing import Walker, identity_embeddings, render

DIM = 64
NOISE = 0.03
SECONDS = 8.0
HEIGHT = 120.0  # px
SPEED = 1.0 * HEIGHT  # px/s: a brisk walk, about one's own height per second
CROSS_AT = 4.0  # s: the two meet here
ENTERS_AT = 2.0  # s: a third person walks in (a track born mid-scene, whose velocity starts unknown)
HIDDEN = (3.5, 4.5)  # s: B is behind A for about one second
MIN_REPORTED = 0.8
PEOPLE = 3


def crossing_walkers(fps: float) -> list[Walker]:
    """A walks right, B walks left 15 px lower and is hidden behind A for ~1 s around the crossing; C walks in
    diagonally at 2 s, far from both."""
    x_meet = 640.0

    def a(frame: int) -> tuple[float, float]:
        return (x_meet + SPEED * (frame / fps - CROSS_AT), 300.0)

    def b(frame: int) -> tuple[float, float]:
        return (x_meet - SPEED * (frame / fps - CROSS_AT), 315.0)

    def b_visible(frame: int) -> bool:
        return not HIDDEN[0] <= frame / fps < HIDDEN[1]

    def c(frame: int) -> tuple[float, float]:
        t = frame / fps - ENTERS_AT
        return (150.0 + 0.6 * SPEED * t, 650.0 - 0.8 * SPEED * t)

    size = (50.0, HEIGHT)
    return [
        Walker(0, a, size=size),
        Walker(1, b, size=size, visible=b_visible),
        Walker(2, c, size=size, visible=lambda frame: frame / fps >= ENTERS_AT),
    ]


def track_scene(fps: float, appearance: bool) -> tuple[dict[int, set[int]], dict[int, float]]:
    cfg = load_config(None, overrides=["device=cpu", f"appearance.enabled={str(appearance).lower()}"])
    tracker = Tracker(cfg, frame_rate=fps)
    walkers = crossing_walkers(fps)
    identities = identity_embeddings(PEOPLE, DIM)
    rng = np.random.default_rng(0)
    ids: dict[int, set[int]] = {k: set() for k in range(PEOPLE)}
    detected, reported = dict.fromkeys(range(PEOPLE), 0), dict.fromkeys(range(PEOPLE), 0)
    for frame in range(round(SECONDS * fps)):
        det = render(walkers, frame, identities, NOISE, rng)
        out = tracker.update_detections(det.boxes_xyxy, det.scores, embeddings=det.embeddings if appearance else None)
        for identity in det.identities:
            detected[int(identity)] += 1
        for obj in out:
            identity = int(det.identities[obj.detection_index])
            ids[identity].add(obj.track_id)
            reported[identity] += 1
    return ids, {k: reported[k] / detected[k] for k in detected}


@pytest.mark.parametrize("appearance", [False, True], ids=["motion", "appearance"])
@pytest.mark.parametrize("fps", [60, 30, 10, 5, 3, 2])
def test_crossing_scene_same_outcome_from_2_to_60_fps(fps, appearance):
    ids, reported = track_scene(fps, appearance)
    for identity in range(PEOPLE):
        assert len(ids[identity]) == 1, f"{fps} fps: person {identity} got IDs {ids[identity]}"
        assert reported[identity] >= MIN_REPORTED, f"{fps} fps: person {identity} reported {reported[identity]:.0%}"
    assert len(set.union(*ids.values())) == PEOPLE, "three people, three IDs"
