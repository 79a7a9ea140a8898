"""Where a revival candidate appeared is evidence: the middle of the view (nobody walks in there) needs less
appearance evidence than a border or the back of another box (where a newcomer could come from)."""

from __future__ import annotations

import numpy as np
import pytest

from tracker import Tracker, load_config
from tracker.calibration import Calibration
from tracker.entry import ENTRY, HIDDEN, UNKNOWN, entry_evidence
from tracker.testing import Walker, look_at_cosine, render

FPS = 30
DIM = 128
NOISE = 0.03
FRAME = (600, 1000)  # (height, width) pixels


def config(*overrides):
    return load_config(None, overrides=["device=cpu", *overrides])


def test_entry_classes_from_borders_and_occluders():
    cfg = config().association
    boxes = np.array(
        [
            [480.0, 200.0, 520.0, 300.0],  # mid-view, alone: HIDDEN
            [2.0, 200.0, 42.0, 300.0],  # touching the left border: ENTRY
            [700.0, 200.0, 740.0, 300.0],  # behind the next box (its bottom is higher): ENTRY
            [720.0, 210.0, 760.0, 310.0],  # in front of the previous one, barely covered itself: HIDDEN
            [300.0, 490.0, 340.0, 590.0],  # 10 px (0.1 box height) above the bottom border: ENTRY
        ]
    )
    rows = np.arange(len(boxes))
    assert entry_evidence(boxes, rows, FRAME, cfg).tolist() == [HIDDEN, ENTRY, ENTRY, HIDDEN, ENTRY]
    unknown = entry_evidence(boxes, rows, None, cfg)
    assert unknown.tolist() == [UNKNOWN, UNKNOWN, ENTRY, UNKNOWN, UNKNOWN], "no frame size: only occluders tell"
    assert entry_evidence(boxes, np.zeros(0, dtype=np.int64), FRAME, cfg).shape == (0,)


def test_revival_bound_offsets_apply_once_calibrated_and_never_in_fixed_mode():
    keys = ["appearance.calibration_min_samples=1", "association.reid_entry_evidence=0.04"]
    cal = Calibration(config(*keys, "association.reid_hidden_relief=0.03"), FPS)
    entry = np.array([ENTRY, HIDDEN, UNKNOWN])
    before = cal.revival_bound(np.array([0.0, 2.0]), entry)
    assert np.all(before == cal.revival_bound(np.array([0.0, 2.0]))[:, None]), "no offsets before calibration"
    cal.add_negatives(np.full(10, 0.75))
    bounds = cal.revival_bound(np.array([0.0, 2.0]), entry)
    plain = cal.revival_bound(np.array([0.0, 2.0]))
    assert bounds.shape == (2, 3)
    np.testing.assert_allclose(bounds - plain[:, None], [[0.04, -0.03, 0.0]] * 2)
    fixed = Calibration(config(*keys, "appearance.calibration=fixed"), FPS)
    assert np.all(fixed.revival_bound(np.array([0.0, 2.0]), entry) == config().association.reid_threshold)


CROSS_SIMILARITY = 0.7  # different people look alike: the calibrated revival bound sits above the fixed floor


def world_identities(count: int, cross_similarity: float, seed: int = 0) -> np.ndarray:
    """(count, DIM) unit vectors whose pairwise cosine is about `cross_similarity` (a shared component)."""
    rng = np.random.default_rng(seed)
    common = rng.normal(size=DIM)
    common /= np.linalg.norm(common)
    unique = rng.normal(size=(count, DIM))
    unique /= np.linalg.norm(unique, axis=1, keepdims=True)
    vecs = np.sqrt(cross_similarity) * common + np.sqrt(1 - cross_similarity) * unique
    return vecs / np.linalg.norm(vecs, axis=1, keepdims=True)


def returning_look(identity: np.ndarray, cosine: float, seed: int = 3) -> np.ndarray:
    """A unit vector at `cosine` to `identity`: the same person seen again under another angle or light."""
    return look_at_cosine(identity, cosine, np.random.default_rng(seed))


def hidden_scene(where_x: float):
    """Three people walk in lanes for 4 s (negatives). Person 0 stops behind a pillar (no box) at frame 120
    and steps out 1.5 s later at `where_x` (out of the motion gate: stage 4 decides), looking different
    (identity 3: a weaker match to person 0)."""
    leave, back = 120, 165
    walkers = [Walker(i, lambda f, i=i: (300 + 1.0 * f, 150.0 + 150 * i), size=(40, 100)) for i in (1, 2)]
    walkers.append(Walker(0, lambda f: (300 + 1.0 * min(f, leave), 150.0), size=(40, 100), visible=lambda f: f < leave))
    walkers.append(Walker(3, lambda f: (where_x, 150.0), size=(40, 100), visible=lambda f: f >= back))
    return walkers, leave, back


def run_scene(walkers, frames, identities, frame_size, *overrides):
    tracker = Tracker(config(*overrides), frame_rate=FPS)
    rng = np.random.default_rng(1)
    history = {}
    for f in range(frames):
        det = render(walkers, f, identities, NOISE, rng)
        out = tracker.update_detections(det.boxes_xyxy, det.scores, embeddings=det.embeddings, frame_size=frame_size)
        history[f] = {int(det.identities[o.detection_index]): o.track_id for o in out}
    return history


def ids(history, identity, frames):
    return {history[f][identity] for f in frames if identity in history[f]}


RETURN_X = 720.0  # person 0 was last seen at x = 420; the pillar is three box heights wide (out of the motion gate)
NEAR_BORDER = RETURN_X + 30  # a frame this wide puts the returning box 10 px (0.1 box height) from its edge


def scene_ids(cosine, width, *overrides):
    """(person 0's IDs before leaving, IDs of the returning look) in `hidden_scene` at frame width `width`."""
    identities = world_identities(3, CROSS_SIMILARITY)
    identities = np.vstack([identities, returning_look(identities[0], cosine)])
    walkers, leave, back = hidden_scene(where_x=RETURN_X)
    history = run_scene(walkers, back + 20, identities, (FRAME[0], width), *overrides)
    before, after = ids(history, 0, range(leave)), ids(history, 3, range(back, back + 20))
    assert len(before) == 1 and len(after) == 1
    return before, after


@pytest.mark.parametrize(
    ("entry_evidence", "width", "revived"),
    [(0.05, 1000, True), (0.05, NEAR_BORDER, False), (0.0, NEAR_BORDER, True)],
    ids=["mid-view", "at-the-border", "at-the-border-without-rule"],
)
def test_a_return_at_the_border_needs_more_evidence_than_one_mid_view(entry_evidence, width, revived):
    """The returning look clears the plain revival bound by less than `reid_entry_evidence` (the default).
    Mid-view nobody could have walked in: the ID comes back. At the frame border the same look may be a
    newcomer: a new ID; without the rule the lost ID would be handed over."""
    before, after = scene_ids(0.82, width, f"association.reid_entry_evidence={entry_evidence}")
    assert (after == before) is revived


@pytest.mark.parametrize(
    ("relief", "width", "revived"),
    [(0.0, 1000, False), (0.1, 1000, True), (0.1, NEAR_BORDER, False)],
    ids=["mid-view-without-relief", "mid-view", "at-the-border"],
)
def test_a_person_reappearing_mid_view_is_revived_on_weaker_evidence_with_the_relief(relief, width, revived):
    """The returning look is just under the revival bound. With `reid_hidden_relief` (0 by default: see the
    README) a mid-view return comes back on it; without the relief it is refused (a new ID); at the frame
    border the same look is refused even with the relief."""
    before, after = scene_ids(0.76, width, f"association.reid_hidden_relief={relief}")
    assert (after == before) is revived
