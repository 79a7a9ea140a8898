"""Stage 1 needs stage 4's evidence where motion cannot vouch for a pair: a tracked track's pair outside its Kalman
gate that motion alone rejects (`association.ungated_needs_reid`), and a thin-bank lost track's return after the
unbanked lifetime (`association.thin_bank_revival`). Both traced on TUD-Campus with the public ACF boxes."""

from __future__ import annotations

import numpy as np
import pytest

from tracker import Tracker, load_config
from tracker.testing import look_at_cosine, unit_vector

FPS = 25
DIM = 64
WIDTH, HEIGHT = 60.0, 160.0  # a whole person, pixels
SPEED = 4.0  # px per frame, to the right


def _whole(frame: int) -> np.ndarray:
    cx, top = 200.0 + SPEED * frame, 220.0
    return np.array([cx - WIDTH / 2, top, cx + WIDTH / 2, top + HEIGHT])


def _tracker(**overrides: bool) -> Tracker:
    sets = ["device=cpu"] + [f"association.{k}={str(v).lower()}" for k, v in overrides.items()]
    return Tracker(load_config(None, overrides=sets), frame_rate=FPS)


PART = (20, 21)  # the frame where the detector sees only the head and torso


NEIGHBOUR_DX = 35.0  # px: a second person walks beside the first, overlapping their box at IoU 0.26


def _part_scene(part_cosine: float, **overrides: bool) -> dict[int, tuple[int, np.ndarray]]:
    """Two people walk right side by side (their boxes overlap, so stage 1 consults appearance, as in the crowd it
    was traced in); on frame PART[0] the detector gives only a narrow head-and-torso box of the first (30 x 80 px inside
    the 60 x 160 person: IoU 0.25, outside the track's Kalman gate) whose look has `part_cosine` to theirs.
    Returns {frame: (ID, reported box)} of the first person's detections."""
    rng = np.random.default_rng(0)
    person, neighbour = unit_vector(DIM, rng), unit_vector(DIM, rng)
    tracker = _tracker(**overrides)
    shown = {}
    for f in range(30):
        box, look, score = _whole(f), look_at_cosine(person, 0.95, rng), 0.9
        if PART[0] <= f < PART[1]:
            cx, top = (box[0] + box[2]) / 2, box[1]
            box, look, score = (
                np.array([cx - 15, top, cx + 15, top + 80]),
                look_at_cosine(person, part_cosine, rng),
                0.7,
            )
        boxes = np.stack([box, _whole(f) + np.array([NEIGHBOUR_DX, 0, NEIGHBOUR_DX, 0])])
        looks = np.stack([look, look_at_cosine(neighbour, 0.95, rng)])
        out = tracker.update_detections(boxes, np.array([score, 0.9]), embeddings=looks)
        mine = [o for o in out if o.detection_index == 0]
        if mine:
            shown[f] = (mine[0].track_id, mine[0].xyxy.copy())
    return shown


def test_a_tracked_person_does_not_take_a_part_box_its_kalman_gate_refuses():
    """TUD-Campus ACF frame 34: gt5's track took gt5's head-and-torso box (similarity 0.60-0.69, IoU 0.20), its box
    shrank, and at frame 36 a look-alike's track won gt5's whole box by overlap. With the rule the part is not taken
    on a look different people also reach: the person keeps one ID and a whole-size box when seen whole again."""
    shown = _part_scene(part_cosine=0.62)
    before = {shown[f][0] for f in range(PART[0]) if f in shown}
    assert len(before) == 1
    assert not any(f in shown and shown[f][0] in before for f in range(*PART)), "the part box is not the person's"
    after = [shown[f] for f in range(PART[1], 30)]
    assert after and {i for i, _ in after} == before
    height = after[0][1][3] - after[0][1][1]
    assert height > 0.95 * HEIGHT, f"whole-size box at once ({height:.0f} px)"


def test_without_the_rule_the_track_takes_the_part_and_shrinks():
    """The scene tests the rule: switched off, the track takes the part box and reports it."""
    shown = _part_scene(part_cosine=0.62, ungated_needs_reid=False)
    before = {shown[f][0] for f in range(PART[0])}
    assert shown[PART[0]][0] in before
    assert shown[PART[0]][1][3] - shown[PART[0]][1][1] < 0.8 * HEIGHT
    assert shown[PART[1]][1][3] - shown[PART[1]][1][1] < 0.95 * HEIGHT, "and its box is still short when seen whole"


def test_a_sure_look_still_takes_a_box_outside_the_gate():
    """A look at the reid bound (0.9 here, the fixed bound is 0.7) is the person's: the pair stands."""
    shown = _part_scene(part_cosine=0.9)
    before = {shown[f][0] for f in range(PART[0])}
    assert shown[PART[0]][0] in before


def _return_scene(absent: int, same_person: bool, **overrides: bool) -> tuple[int, int | None]:
    """A person seen for 2 frames (a bank thinner than `appearance.topk`) walks out of detection for `absent` frames;
    then a box appears where the filter predicts them (motion accepts it) whose look has cosine 0.62 to theirs:
    the same person seen worse (`same_person`) or a look-alike. Returns (the person's ID, the ID of the box)."""
    rng = np.random.default_rng(1)
    person = unit_vector(DIM, rng)
    tracker = _tracker(**overrides)
    first = None
    for f in range(2):
        out = tracker.update_detections(
            _whole(f)[None], np.array([0.9]), embeddings=look_at_cosine(person, 0.95, rng)[None]
        )
        first = out[0].track_id if out else first
    assert tracker.core.bank.count([tracker.core.tracks[0].slot])[0] < load_config(None).appearance.topk
    for _ in range(absent):
        tracker.update_detections(np.zeros((0, 4)), np.zeros(0), embeddings=np.zeros((0, DIM)))
    f = 2 + absent
    later = None
    for g in range(f, f + 3):
        out = tracker.update_detections(
            _whole(g)[None], np.array([0.9]), embeddings=look_at_cosine(person, 0.62, rng)[None]
        )
        later = out[0].track_id if out else later
    return first, later


def test_a_thin_bank_does_not_come_back_onto_a_look_alike_after_the_unbanked_lifetime():
    """TUD-Campus ACF jump (no compensation), frame 42: a track with one look of a person who left, lost 32 frames,
    took another person at similarity 0.566 in stage 1 (a wrong revival). Past `max_seconds_lost_unbanked` (1 s)
    the return is a revival: at a similarity below the revival bound, a new ID."""
    first, later = _return_scene(absent=38, same_person=False)
    assert first is not None and later is not None and later != first


def test_without_the_rule_the_thin_bank_comes_back():
    first, later = _return_scene(absent=38, same_person=False, thin_bank_revival=False)
    assert later == first


def test_a_thin_bank_still_comes_back_within_the_unbanked_lifetime():
    """Before the lifetime the stage 1 gate is as before: the same person missed 0.5 s comes back with their ID."""
    first, later = _return_scene(absent=12, same_person=True)
    assert later == first


@pytest.mark.parametrize("key", ["ungated_needs_reid", "thin_bank_revival"])
def test_the_rules_are_on_by_default(key):
    assert getattr(load_config(None).association, key) is True
