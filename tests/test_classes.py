"""The class policy: a track keeps its ID when the detector's class flickers within a compatible group (car, bus,
truck), its class is a score-weighted vote, and a person never takes a car's ID."""

from __future__ import annotations

import numpy as np
import pytest

from tracker import Tracker, load_config
from tracker.classes import ClassPolicy, ClassVote
from tracker.config import ConfigError
from tracker.testing import identity_embeddings

CAR, BUS, TRUCK, PERSON = 2, 5, 7, 0
FPS = 30
FRAMES = 60
DIM = 32
BOX = np.array([100.0, 200.0, 260.0, 290.0])  # a vehicle, 160 x 90 px
SPEED = 6.0  # px per frame to the right

PATTERNS = {
    "one_frame_flip": lambda f: TRUCK if f == 20 else CAR,
    "flip_every_3_frames": lambda f: CAR if (f // 3) % 2 == 0 else TRUCK,
    "alternate_every_frame": lambda f: CAR if f % 2 == 0 else TRUCK,
    "permanent_switch": lambda f: CAR if f < 30 else TRUCK,
    "car_bus_truck_cycle": lambda f: (CAR, BUS, TRUCK)[f % 3],
}


def vehicle(frame: int) -> np.ndarray:
    return BOX + np.array([SPEED, 0.0, SPEED, 0.0]) * frame


def run(classes_by_frame, appearance: bool, overrides=()):
    """One vehicle crossing; returns per frame the (track_id, class_id) reported, or None."""
    cfg = load_config(None, overrides=["device=cpu", f"appearance.enabled={str(appearance).lower()}", *overrides])
    tracker = Tracker(cfg, frame_rate=FPS)
    identity = identity_embeddings(1, DIM)
    rng = np.random.default_rng(0)
    out = []
    for f in range(FRAMES):
        emb = identity + rng.normal(scale=0.03, size=(1, DIM)) if appearance else None
        objs = tracker.update_detections(vehicle(f)[None], np.array([0.9]), np.array([classes_by_frame(f)]), emb)
        out.append((objs[0].track_id, objs[0].class_id) if objs else None)
    return out


@pytest.mark.parametrize("appearance", [False, True], ids=["motion", "appearance"])
@pytest.mark.parametrize("pattern", list(PATTERNS))
def test_class_flicker_keeps_one_id_in_every_frame(pattern, appearance):
    out = run(PATTERNS[pattern], appearance)
    assert all(o is not None for o in out), f"reported in {sum(o is not None for o in out)} of {FRAMES} frames"
    assert {o[0] for o in out} == {1}, "one vehicle, one ID"
    classes = [o[1] for o in out]
    if pattern == "one_frame_flip":
        assert set(classes) == {CAR}, "one truck frame among cars does not relabel the track"
    if pattern == "permanent_switch":
        assert classes[29] == CAR and classes[-1] == TRUCK, "a lasting change relabels the track, same ID"
        switched = classes.index(TRUCK)
        assert 30 < switched <= 30 + FPS, "after about half of the vote window, not at the first truck frame"
        assert set(classes[switched:]) == {TRUCK}


def test_low_score_detection_of_another_class_does_not_relabel():
    cfg = load_config(None, overrides=["device=cpu", "appearance.enabled=false"])
    tracker = Tracker(cfg, frame_rate=FPS)
    seen = []
    for f in range(30):
        low = f == 10  # one frame the detector says truck, with a low score (stage 2 matches it)
        objs = tracker.update_detections(
            vehicle(f)[None], np.array([0.2 if low else 0.9]), np.array([TRUCK if low else CAR])
        )
        seen.append((objs[0].track_id, objs[0].class_id) if objs else None)
    assert seen[10] == (1, CAR), "matched (stage 2), reported, still a car"
    assert set(seen) == {(1, CAR)}


@pytest.mark.parametrize("appearance", [False, True], ids=["motion", "appearance"])
def test_person_never_takes_a_cars_id(appearance):
    """A car is tracked, then a person is detected exactly where it was (same box, same embedding): in the next
    frame (stages 1-3) and after the car has been lost for a while (stage 4) the person gets a new ID."""
    cfg = load_config(None, overrides=["device=cpu", f"appearance.enabled={str(appearance).lower()}"])
    identity = identity_embeddings(1, DIM)
    for gap in (0, 15):
        tracker = Tracker(cfg, frame_rate=FPS)
        ids = {}
        for f in range(40):
            emb = identity if appearance else None
            if f < 20:
                objs = tracker.update_detections(vehicle(f)[None], np.array([0.9]), np.array([CAR]), emb)
            elif f < 20 + gap:
                objs = tracker.update_detections(
                    np.zeros((0, 4)), np.zeros(0), embeddings=emb[:0] if appearance else None
                )
            else:
                objs = tracker.update_detections(vehicle(f)[None], np.array([0.9]), np.array([PERSON]), emb)
            for o in objs:
                ids.setdefault(o.class_id, set()).add(o.track_id)
        assert ids[CAR] == {1} and PERSON in ids and 1 not in ids[PERSON], f"gap {gap}: {ids}"


def test_low_score_person_does_not_continue_a_car_track():
    """Stage 2 (low-score detections, IoU only) applies the class policy too: the car is not continued by a person
    box, nor relabelled as a person."""
    tracker = Tracker(load_config(None, overrides=["device=cpu", "appearance.enabled=false"]), frame_rate=FPS)
    reported = []
    for f in range(30):
        cls, score = (CAR, 0.9) if f < 20 else (PERSON, 0.3)
        reported += tracker.update_detections(vehicle(f)[None], np.array([score]), np.array([cls]))
    assert reported and {(o.track_id, o.class_id) for o in reported} == {(1, CAR)}
    assert max(o.detection_index for o in reported) == 0 and len(reported) == 20, "not reported on person frames"


def test_without_a_group_a_truck_detection_never_continues_a_car_track():
    """The policy is the configuration's: with no compatible group, car and truck never share a track."""
    pattern = PATTERNS["alternate_every_frame"]
    out = run(pattern, False, overrides=["classes.compatible_groups=[]"])
    car_ids = {o[0] for f, o in enumerate(out) if o is not None and pattern(f) == CAR}
    truck_ids = {o[0] for f, o in enumerate(out) if o is not None and pattern(f) == TRUCK}
    assert car_ids == {1} and not truck_ids & car_ids


def test_same_class_beats_a_compatible_class_in_a_close_contest():
    policy = ClassPolicy(load_config(None).classes)
    cost = policy.cost(np.array([CAR, PERSON]), np.array([CAR, TRUCK, BUS, PERSON, 9]))
    np.testing.assert_array_equal(cost[0], [0.0, 0.1, 0.1, np.inf, np.inf])
    np.testing.assert_array_equal(cost[1], [np.inf, np.inf, np.inf, 0.0, np.inf])


def test_class_vote_is_score_weighted_and_windowed():
    vote = ClassVote(window=4, class_id=CAR, score=0.9)
    assert vote.add(TRUCK, 0.3) == CAR and vote.add(TRUCK, 0.5) == CAR, "0.8 truck against 0.9 car"
    assert vote.add(TRUCK, 0.2) == TRUCK, "1.0 against 0.9"
    assert vote.add(CAR, 0.5) == TRUCK, "the first car vote has left the window: 1.0 truck vs 0.5 car"


def test_a_class_in_two_groups_is_refused():
    with pytest.raises(ConfigError, match="class 7 is in more than one group"):
        load_config(None, overrides=["classes.compatible_groups=[[2, 7], [7, 5]]"])


def test_class_vote_agrees_with_a_recount_of_its_window():
    rng = np.random.default_rng(3)
    for window in (1, 2, 5, 30):
        labels = rng.choice([CAR, BUS, TRUCK], size=300, p=[0.6, 0.1, 0.3])
        scores = rng.uniform(0.1, 1.0, size=300)
        vote = ClassVote(window, int(labels[0]), float(scores[0]))
        current = int(labels[0])
        for i in range(1, 300):
            got = vote.add(int(labels[i]), float(scores[i]))
            lo = max(0, i - window + 1)
            weights = {c: scores[lo : i + 1][labels[lo : i + 1] == c].sum() for c in set(labels[lo : i + 1].tolist())}
            if weights.get(current, 0.0) < max(weights.values()) - 1e-9:
                current = max(weights, key=weights.get)
            assert got == current, (window, i)
