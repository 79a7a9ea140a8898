"""A box that held two people splits: the newcomer's tentative track re-sorts stage 1, so the confirmed track keeps
its own person (`association.tentative_resort`, `tracker.tentative_resort`)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tracker import Tracker, load_config
from tracker.tentative_resort import resort_with_tentative
from tracker.testing import look_at_cosine

INF = np.inf
MAX_COST = 0.8  # `association.max_cost`
SAME_PERSON = 0.7  # `association.reid_threshold`: the uncalibrated reid bound

# The traced frame (TUD-Campus ACF drop2, frame 31): one confirmed track, two candidates; stage 1 gives it the
# newcomer's box (0.216 against 0.313); the newcomer's one-frame tentative track overlaps that box (0.491).
CONFIRMED = np.array([[0.216, 0.313]])
TENTATIVE = np.array([[0.491, INF]])
STAGE1 = np.array([[0, 0]])


def test_the_tentative_track_takes_its_box_and_the_confirmed_track_its_other_candidate():
    joint = resort_with_tentative(CONFIRMED, TENTATIVE, STAGE1, np.array([[0.90, 0.82]]), SAME_PERSON, MAX_COST)
    assert joint is not None
    assert sorted(map(tuple, joint.tolist())) == [(0, 1), (1, 0)]


@pytest.mark.parametrize(
    ("tentative", "similarity", "why"),
    [
        (np.array([[INF, INF]]), [0.90, 0.82], "the tentative track overlaps neither box"),
        (np.array([[INF, 0.4]]), [0.90, 0.82], "the tentative track's box is one stage 1 left over"),
        (TENTATIVE, [0.90, 0.61], "the confirmed track's look says the other box is not its person"),
        (TENTATIVE, [0.90, np.nan], "no look of the other box"),
    ],
)
def test_stage_1_stands(tentative, similarity, why):
    sim = np.array([similarity])
    assert resort_with_tentative(CONFIRMED, tentative, STAGE1, sim, SAME_PERSON, MAX_COST) is None, why


def test_a_tentative_track_never_takes_a_confirmed_tracks_only_candidate():
    """The joint assignment would leave the confirmed track unmatched (its other candidate is refused)."""
    confirmed, tentative = np.array([[0.5, INF]]), np.array([[0.05, INF]])
    sim = np.array([[0.9, 0.9]])
    assert linear_joint_takes(confirmed, tentative)
    assert resort_with_tentative(confirmed, tentative, STAGE1, sim, SAME_PERSON, MAX_COST) is None


def linear_joint_takes(confirmed: np.ndarray, tentative: np.ndarray) -> bool:
    """Whether one assignment of both would give the confirmed track's detection 0 to the tentative track."""
    from tracker.assignment import linear_assignment

    pairs = linear_assignment(np.vstack([confirmed, tentative]), MAX_COST).pairs
    return any(r == 1 and c == 0 for r, c in pairs.tolist())


# The traced frame 60 of TUD-Campus ACF (original, 0.5x, pan2/8/20, jitter, jump): stage 1's pair of gt5's track and
# gt8's box is clear (0.200 against 0.314: by 0.114, at least `association.clear_pair_margin` 0.1), the tentative
# track born on gt8's box two frames before reaches that box (0.539); both of gt5's candidates are inside its Kalman
# gate. And frame 46 of the 0.35x and zoom variants: a tentative track born on a one-frame box beside gt5 reaches gt5's
# own box (0.518), which stage 1 gave gt5's track clear by 0.251.
CLEAR_MARGIN = 0.1  # `association.clear_pair_margin`
CONTESTED_MARGIN = 0.2  # `association.tentative_resort_margin`
SPLIT_CONFIRMED, SPLIT_TENTATIVE, SPLIT_SIM = np.array([[0.200, 0.314]]), np.array([[0.539, INF]]), [0.917, 0.854]
GHOST_CONFIRMED, GHOST_TENTATIVE, GHOST_SIM = np.array([[0.140, 0.391]]), np.array([[0.518, INF]]), [0.918, 0.853]
GATED = np.array([[True, True]])


def _resort(confirmed, tentative, similarity, contested=CONTESTED_MARGIN, expected=GATED):
    sim = np.array([similarity])
    return resort_with_tentative(
        confirmed, tentative, STAGE1, sim, SAME_PERSON, MAX_COST, CLEAR_MARGIN, contested, expected
    )


def test_a_clear_stage_1_pair_on_the_newcomers_box_is_re_sorted():
    joint = _resort(SPLIT_CONFIRMED, SPLIT_TENTATIVE, SPLIT_SIM)
    assert joint is not None
    assert sorted(map(tuple, joint.tolist())) == [(0, 1), (1, 0)]


def test_without_the_contested_margin_the_clear_pair_stands():
    """The rule as it was: stage 1's clear pairs are fixed in the joint assignment too (so the test above can fail)."""
    assert _resort(SPLIT_CONFIRMED, SPLIT_TENTATIVE, SPLIT_SIM, contested=None) is None
    assert _resort(SPLIT_CONFIRMED, SPLIT_TENTATIVE, SPLIT_SIM, contested=CLEAR_MARGIN) is None


def test_a_pair_clear_beyond_the_contested_margin_stands():
    """Frame 46: the joint assignment alone would move gt5's track off its own box (0.909 against 0.94)."""
    assert linear_joint_takes(GHOST_CONFIRMED, GHOST_TENTATIVE)
    assert _resort(GHOST_CONFIRMED, GHOST_TENTATIVE, GHOST_SIM) is None
    assert _resort(GHOST_CONFIRMED, GHOST_TENTATIVE, GHOST_SIM, contested=1.0) is not None  # (the margin decides)


def test_a_confirmed_track_is_not_moved_outside_its_kalman_gate():
    """yolov8n TUD-Campus pan20 uncompensated, frames 66-67: gt5's track moved to gt8's box outside its gate."""
    assert _resort(SPLIT_CONFIRMED, SPLIT_TENTATIVE, SPLIT_SIM, expected=np.array([[True, False]])) is None


# ---------------------------------------------------------------------------------------------- the tracker
FPS = 12.5
SIZE = (600, 1000)  # (height, width) px
SPEED = 8.5  # px a frame, both people
JITTER_PX = 1.5  # standard deviation of each box coordinate's frame-to-frame noise
MERGE, SPLIT = 21, 30  # one box covers both from MERGE; two boxes from SPLIT


def _looks(seed: int = 0, occluded: float = 0.8) -> dict[str, np.ndarray]:
    """Unit looks: A (the tracked person), B (a look-alike, cosine 0.75 to A), the merged box (both), and A's box
    while B's box covers most of it (0.8 to A: less like A's bank than B's clear box is like the merged looks)."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=32)
    a /= np.linalg.norm(a)
    b = look_at_cosine(a, 0.75, rng)
    merged = (a + b) / np.linalg.norm(a + b)
    return {"a": a, "b": b, "merged": merged, "a_occluded": look_at_cosine(a, occluded, rng)}


def _frames(looks: dict[str, np.ndarray]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]]:
    """(boxes xywh, scores, looks, who) per frame: A alone, then one box over both, then the split (the geometry
    of the traced frames 30-31, shifted), then both apart."""
    frames = []
    for f in range(1, SPLIT + 6):
        x = 200.0 + SPEED * f  # the merged box's left edge (and A's box before B came out)
        if f < MERGE:
            frames.append(([[x, 200, 66, 162]], [0.85], [looks["a"]], ["A"]))
        elif f < SPLIT:
            frames.append(([[x, 191, 72, 177]], [0.86], [looks["merged"]], ["AB"]))
        elif f == SPLIT:  # A's box in front; B's box (behind, covered 0.64) starts a tentative track
            frames.append(
                ([[x + 16, 207, 66, 162], [x - 8, 199, 66, 162]], [0.86, 0.75], [looks["a"], looks["b"]], ["A", "B"])
            )
        elif f == SPLIT + 1:  # B's box in front, where the merged box was; A's covered 0.62 by it
            frames.append(
                (
                    [[x, 200, 72, 177], [x + 31, 207, 66, 162]],
                    [0.87, 0.80],
                    [looks["b"], looks["a_occluded"]],
                    ["B", "A"],
                )
            )
        else:
            d = f - SPLIT - 1
            frames.append(
                (
                    [[x + 4 * d, 200, 66, 162], [x + 40 + 3 * d, 207, 66, 162]],
                    [0.86, 0.85],
                    [looks["b"], looks["a"]],
                    ["B", "A"],
                )
            )
    return frames


def _ids_of_a(rule: bool, occluded: float = 0.8, sets: tuple[str, ...] = ()) -> list[int]:
    """The track ID reported on A's box in each frame after the split (0: none)."""
    cfg = load_config(overrides=["device=cpu", f"association.tentative_resort={str(rule).lower()}", *sets])
    tracker = Tracker(cfg, frame_rate=FPS)
    ids = []
    rng = np.random.default_rng(1)
    for f, (xywh, scores, looks, who) in enumerate(_frames(_looks(occluded=occluded)), start=1):
        # a walking person's box jitters (a box that never does is a fixed object, `lifecycle.still_prior`)
        xywh = np.array(xywh, dtype=float) + rng.normal(0.0, JITTER_PX, (len(xywh), 4))
        boxes = np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], axis=1)
        emb = torch.tensor(np.array(looks), dtype=torch.float32)
        out = tracker.update_detections(boxes, np.array(scores), embed=emb.__getitem__, frame_size=SIZE)
        if f > SPLIT:
            a = boxes[who.index("A")]
            hit = [o.track_id for o in out if np.abs(np.asarray(o.xyxy) - a).max() < 20]
            ids.append(hit[0] if hit else 0)
    return ids


def test_after_the_split_the_confirmed_track_stays_on_its_person():
    ids = _ids_of_a(rule=True)
    assert ids == [1] * len(ids), ids


def test_without_the_rule_the_confirmed_track_follows_the_newcomer():
    ids = _ids_of_a(rule=False)
    assert 1 not in ids[1:], ids


# A's covered look 0.74 like A (was 0.8): stage 1's pair of A's track and B's box is clear (0.250 against 0.356, by
# 0.106 >= `clear_pair_margin` 0.1), as at TUD-Campus ACF frame 60.
CLEAR_SPLIT_LOOK = 0.74


def test_a_split_whose_stage_1_pair_is_clear_is_re_sorted():
    ids = _ids_of_a(rule=True, occluded=CLEAR_SPLIT_LOOK)
    assert ids == [1] * len(ids), ids


def test_with_the_clear_pair_fixed_the_confirmed_track_follows_the_newcomer():
    """The rule as it was (contested margin = the clear-pair margin): A gets a new ID (so the test above can fail)."""
    ids = _ids_of_a(rule=True, occluded=CLEAR_SPLIT_LOOK, sets=("association.tentative_resort_margin=0.1",))
    assert 1 not in ids[1:], ids


# ---------------------------------------------------------------------------------------------- the traced event
@pytest.fixture(scope="module")
def tud_acf_drop2(shared, tmp_path_factory):
    """TUD-Campus drop2 (made here) with its public ACF boxes and OSNet looks, as `track eval` makes them."""
    from tud_acf import load_tud_acf

    return load_tud_acf(shared, tmp_path_factory.mktemp("tentative_resort") / "cache", variant="drop2")


def _gt5_ids(data, override: str, before: tuple[int, int], after: tuple[int, int]) -> tuple[set[int], set[int]]:
    """The track IDs covering gt5 (IoU >= 0.5) on the frames `before` and `after` (first, last) of the default
    tracker with `override` (KEY=VALUE) on `data` (`tud_acf.TudAcf`)."""
    from tracker.eval.revival import identity_timeline

    runs = identity_timeline(data.gt, data.results(override)).get(5, [])

    def ids(first: int, last: int) -> set[int]:
        return {t for t, a, b in runs if t is not None and a <= last and b >= first}

    return ids(*before), ids(*after)


def test_real_acf_boxes_gt5_keeps_its_track_when_the_box_over_gt5_and_gt8_splits(tud_acf_drop2):
    """The traced event (TUD-Campus ACF drop2 frames 24-31): with the rule gt5 keeps the ID it had before the merge;
    without it gt5's track follows gt8 and gt5 gets a new ID (so this test can fail)."""
    before, after = _gt5_ids(tud_acf_drop2, "association.tentative_resort=true", (15, 24), (32, 36))
    assert len(before) == 1 and after == before
    before_off, after_off = _gt5_ids(tud_acf_drop2, "association.tentative_resort=false", (15, 24), (32, 36))
    assert len(before_off) == 1 and before_off.isdisjoint(after_off)


def test_real_acf_boxes_a_clear_stage_1_pair_is_re_sorted_at_the_split(tud_acf):
    """TUD-Campus ACF original, frame 60: stage 1 gave gt5's track gt8's box clear by 0.114. With the contested
    margin gt5 keeps the ID it had before gt8 came out (frames 30-45) after the split (62-71); with the rule as it was
    (contested margin = the clear-pair margin) gt5 gets a new ID."""
    before, after = _gt5_ids(tud_acf, "association.tentative_resort=true", (30, 45), (62, 71))
    assert len(before) == 1 and after == before
    before_off, after_off = _gt5_ids(tud_acf, "association.tentative_resort_margin=0.1", (30, 45), (62, 71))
    assert len(before_off) == 1 and before_off.isdisjoint(after_off)
