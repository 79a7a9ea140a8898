"""Online calibration of appearance bounds: the queues, the bounds, and revivals in hard and easy worlds."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tracker import Tracker, load_config
from tracker.calibration import Calibration, SimilarityQueue
from tracker.testing import Walker, reid_like_identities, render

FPS = 30
DIM = 128
NOISE = 0.03  # same-identity bank similarity ~0.9


def config(*overrides):
    return load_config(None, overrides=["device=cpu", *overrides])


# ------------------------------------------------------------------------------------------ queue and bounds
def test_queue_keeps_each_values_tag_through_the_ring_and_skips_non_finite_pairs():
    queue = SimilarityQueue(4)
    queue.push(np.array([0.1, np.nan, 0.2]), tags=np.array([1, 9, 2]))  # the NaN's tag goes with it
    values, tags = queue.oldest_first()
    assert values.tolist() == [0.1, 0.2] and tags.tolist() == [1, 2]
    queue.push(np.array([0.3, 0.4, 0.5]), tags=np.array([3, 4, 5]))  # wraps: 0.1 drops out
    values, tags = queue.oldest_first()
    assert values.tolist() == [0.2, 0.3, 0.4, 0.5] and tags.tolist() == [2, 3, 4, 5]
    held = sorted(zip(queue.values().tolist(), queue.tags().tolist(), strict=True))
    assert held == list(zip(values.tolist(), tags.tolist(), strict=True))
    untagged = SimilarityQueue(2)
    untagged.push(np.array([0.7]))
    assert untagged.tags().tolist() == [0] and untagged.oldest_first()[1].tolist() == [0]


def test_queue_is_a_fifo_of_fixed_size():
    queue = SimilarityQueue(5)
    queue.push(np.arange(3.0))
    queue.push(np.array([3.0, np.nan, 4.0, 5.0, 6.0]))
    assert len(queue) == 5 and queue.total == 7, "NaN is dropped; the two oldest fell out"
    assert sorted(queue.values()) == [2.0, 3.0, 4.0, 5.0, 6.0]
    assert queue.quantile(0.5) == 4.0
    assert np.isnan(SimilarityQueue(3).quantile(0.5))
    with pytest.raises(ValueError, match="capacity"):
        SimilarityQueue(0)


def test_one_push_larger_than_the_queue_keeps_its_newest_values():
    """A frame may give more samples than a small queue holds (`still` and `birth` push every tracked box of a frame,
    their `*_capacity` may be small): the queue stays a FIFO, the push's last values stay, with their tags; `total`
    counts every finite value pushed, those dropped at once included."""
    queue = SimilarityQueue(3)
    queue.push(np.array([0.9]), tags=np.array([9]))
    queue.push(np.array([0.0, 1.0, np.nan, 2.0, 3.0, 4.0]), tags=np.arange(10, 16))
    values, tags = queue.oldest_first()
    assert values.tolist() == [2.0, 3.0, 4.0] and tags.tolist() == [13, 14, 15]
    assert queue.total == 6, "the push's five finite values and the first one, not only the three held"


def test_fixed_thresholds_until_enough_negatives_then_the_quantile_plus_margin():
    cfg = config("appearance.calibration_min_samples=40", "appearance.calibration_per_frame=10")
    cal = Calibration(cfg, FPS)
    rng = np.random.default_rng(0)
    for _ in range(3):
        cal.add_negatives(rng.uniform(0.75, 0.85, size=50))  # a crowded frame: only 10 kept
    assert len(cal.negatives) == 30 and not cal.calibrated
    assert cal.bound("reid") == cfg.association.reid_threshold and cal.bound("match") == cfg.appearance.match_threshold
    cal.add_negatives(rng.uniform(0.75, 0.85, size=10))
    assert cal.calibrated
    expected = cal.negatives.quantile(cfg.appearance.reid_quantile) + cfg.appearance.calibration_margin
    assert cal.bound("reid") == pytest.approx(expected) and 0.8 < cal.bound("reid") < 0.9
    assert cal.bound("gallery") >= cal.bound("reid") >= cal.bound("match")
    grown = cal.revival_bound(np.array([0.0, 10.0]))
    assert grown[1] - grown[0] == pytest.approx(10 * cfg.appearance.reid_evidence_per_second), "evidence grows"
    with pytest.raises(ValueError, match="unknown bound kind"):
        cal.bound("nope")


def test_fixed_thresholds_are_a_floor_and_fixed_mode_is_todays_behaviour():
    cal = Calibration(config("appearance.calibration_min_samples=1"), FPS)
    cal.add_negatives(np.full(10, 0.2))
    assert cal.calibrated and cal.bound("reid") == 0.7, "low negatives never loosen the configured threshold"
    fixed = Calibration(config("appearance.calibration=fixed", "appearance.calibration_min_samples=1"), FPS)
    fixed.add_negatives(np.full(10, 0.95))
    assert not fixed.calibrated and len(fixed.negatives) == 0
    assert fixed.bound("reid") == 0.7 and float(fixed.revival_bound(100.0)) == 0.7


def test_a_lost_tracks_stage1_gate_rises_from_the_match_to_the_revival_bound_over_the_ramp():
    """`lost_match_bound`: the constant match threshold before calibration; once calibrated, the "match" bound for a
    track just lost, the revival bound from `revival_ramp_seconds` on, and the straight line between them."""
    ramp = "appearance.revival_ramp_seconds=2"
    cfg = config("appearance.calibration_min_samples=20", "appearance.calibration_per_frame=20", ramp)
    cal = Calibration(cfg, FPS)
    seconds = np.array([0.0, 0.5, 1.0, 2.0, 4.0])
    assert cal.lost_match_bound(seconds).tolist() == [cfg.appearance.match_threshold] * 5
    cal.add_negatives(np.random.default_rng(0).uniform(0.75, 0.85, size=20))
    assert cal.calibrated
    match, revival = cal.bound("match"), cal.revival_bound(seconds)
    assert revival[0] > match + 0.02, "the ramp has a height to climb"
    expected = [match, match + 0.25 * (revival[1] - match), match + 0.5 * (revival[2] - match), *revival[3:]]
    np.testing.assert_allclose(cal.lost_match_bound(seconds), expected, rtol=0, atol=1e-12)


def test_summary_is_json_with_bounds_and_quantiles():
    cal = Calibration(config("appearance.calibration_min_samples=5"), FPS)
    cal.add_negatives(np.linspace(0.3, 0.6, 16))
    cal.add_positives(np.linspace(0.8, 0.95, 16))
    summary = json.loads(json.dumps(cal.summary()))
    assert summary["mode"] == "online" and summary["calibrated"]
    assert set(summary["bounds"]) == {"match", "reid", "gallery"}
    assert summary["negatives"]["held"] == 16 and "0.99" in summary["negatives"]["quantiles"]
    assert "calibrated" in cal.describe()


# ------------------------------------------------------------------------------------------ synthetic worlds
def impostor_scene():
    """Four people walk apart for 4 s (negatives); person 0 leaves at frame 120 and, 1 s later, a new person
    (identity 4) appears where person 0 was last seen."""
    leave, arrive = 120, 150

    def lane(y, identity, visible=lambda f: True):
        return Walker(identity, lambda f: (200 + 2.0 * min(f, leave), y), size=(40, 100), visible=visible)

    walkers = [lane(150.0 + 200 * i, i) for i in range(1, 4)]
    walkers.append(lane(150.0, 0, visible=lambda f: f < leave))
    walkers.append(Walker(4, lambda f: (200 + 2.0 * leave + 10, 150.0), size=(40, 100), visible=lambda f: f >= arrive))
    return walkers, leave, arrive


def run_world(walkers, frames, identities, *overrides):
    tracker = Tracker(config(*overrides), frame_rate=FPS)
    rng = np.random.default_rng(1)
    history = {}
    for f in range(frames):
        det = render(walkers, f, identities, NOISE, rng)
        out = tracker.update_detections(det.boxes_xyxy, det.scores, embeddings=det.embeddings)
        history[f] = {int(det.identities[o.detection_index]): o.track_id for o in out}
    return history, tracker


def ids(history, identity, frames):
    return {history[f][identity] for f in frames if identity in history[f]}


@pytest.mark.parametrize(("gap", "negatives"), [(200.0, True), (20.0, False)])
def test_only_people_apart_give_negatives_overlapping_crops_share_pixels(gap, negatives):
    """Negatives are looks of two people matched in the same frame, but only of pairs whose boxes do not overlap:
    two crops that share pixels are not two different looks, and would raise every calibrated bound."""
    identities = reid_like_identities(2, DIM, different=0.45)
    walkers = [Walker(i, lambda f, i=i: (200.0 + 2.0 * f + gap * i, 200.0), size=(40, 100)) for i in range(2)]
    history, tracker = run_world(walkers, 60, identities)
    assert all(len(set(ids(history, i, range(60)))) == 1 for i in range(2))
    assert (tracker.core.calibration.negatives.total > 0) == negatives


@pytest.mark.parametrize("mode", ["online", "fixed"])
def test_hard_world_revivals_refuse_the_wrong_person(mode):
    """Different people at cosine 0.75-0.85: the fixed 0.7 threshold hands person 0's ID to a stranger; the
    calibrated bound (measured from the co-visible tracks) gives the stranger a new ID."""
    identities = reid_like_identities(5, DIM, different=0.88)
    walkers, leave, arrive = impostor_scene()
    history, tracker = run_world(walkers, arrive + 30, identities, f"appearance.calibration={mode}")
    negatives = tracker.core.calibration.negatives
    stranger = ids(history, 4, range(arrive, arrive + 30))
    before = ids(history, 0, range(leave))
    assert len(before) == 1 and len(stranger) == 1
    if mode == "fixed":
        assert stranger == before, "the world is hard: a fixed threshold merges the stranger into person 0"
        return
    held = negatives.values()
    assert len(held) >= 50 and 0.72 < np.median(held) < 0.88, "negatives measured in the world's range"
    assert tracker.core.calibration.calibrated
    assert not (stranger & before), "the calibrated bound refuses the wrong person"


def test_easy_world_revivals_keep_their_ids():
    """Different people at cosine 0.3-0.5: every person hidden for 1.5 s comes back with the same ID."""
    identities = reid_like_identities(4, DIM, different=0.45)
    hide = {i: (60 + 30 * i, 60 + 30 * i + 45) for i in range(4)}

    def walker(i):
        start, end = hide[i]
        return Walker(
            i, lambda f: (200 + 1.0 * f, 150.0 + 200 * i), size=(40, 100), visible=lambda f: not start <= f < end
        )

    walkers = [walker(i) for i in range(4)]
    history, tracker = run_world(walkers, 60 + 30 * 3 + 45 + 30, identities)
    cal = tracker.core.calibration
    assert cal.calibrated and 0.25 < np.median(cal.negatives.values()) < 0.55
    for i, (start, end) in hide.items():
        before, after = ids(history, i, range(start)), ids(history, i, range(end, end + 30))
        assert len(before) == 1 and after == before, f"person {i} keeps its ID after 1.5 s hidden"


def test_one_person_alone_gives_a_positive_each_frame_and_no_negative():
    """One person in view (the calibration never calibrates: no second person to tell apart) feeds the positives
    every frame, each tagged with its track's ID, and no negative: a lone matched track has none to pair with."""
    identities = reid_like_identities(1, DIM, different=0.45)
    walkers = [Walker(0, lambda f: (200.0 + 2.0 * f, 200.0), size=(40, 100))]
    history, tracker = run_world(walkers, 40, identities)
    (track_id,) = ids(history, 0, range(40))
    cal = tracker.core.calibration
    assert cal.negatives.total == 0 and not cal.calibrated
    sampled = cal.positives.total
    assert 30 <= sampled < 40, "a positive each frame once the track is confirmed and its bank holds a look"
    assert set(cal.positives.tags().tolist()) == {track_id}
    assert np.all(cal.positives.values() > 0.7), "its own looks: similar to its bank"
