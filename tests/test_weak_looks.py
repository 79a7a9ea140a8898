"""A track with no clear look (an empty bank, or only border-cut views) in a near-tie: weak appearance does not decide
it, motion does."""

from __future__ import annotations

import numpy as np
import pytest
from tool_scripts import load_tool
from traced_cpu import unlike_traced_cpu

from tracker import Tracker, load_config
from tracker.assignment import linear_assignment
from tracker.eval.inputs import load_inputs
from tracker.eval.revival import identity_timeline
from tracker.eval.sequences import find_sequences
from tracker.eval.variants import materialise
from tracker.io.mot import read_mot_rows
from tracker.testing import Walker, noise_for_similarity, reid_like_identities, render
from tracker.weak_looks import gateless_look_ties, near_tie_costs, outranked_thin_pairs, ungated_lookless_pairs

REID_BOUND = 0.7


def _costs(similarity, kalman_gate, no_look, cost=None):
    """Two pairs on detection 0 (a banked track, then a look-less one) and one banked pair on detection 1."""
    cols = np.array([0, 0, 1])
    motion = np.array([0.9, 0.85, 0.3])
    fused = np.array([0.45, 0.85, 0.2]) if cost is None else np.asarray(cost, dtype=float)
    return near_tie_costs(
        fused,
        motion,
        np.asarray(similarity, dtype=float),
        np.asarray(kalman_gate),
        cols,
        np.asarray(no_look),
        REID_BOUND,
    )


@pytest.mark.parametrize("banked_in_its_gate", [False, True])
def test_a_weak_similarity_cannot_beat_a_look_less_track_the_kalman_gate_vouches_for(banked_in_its_gate):
    out = _costs([0.65, np.nan, 0.9], [banked_in_its_gate, True, True], [False, True, False])
    np.testing.assert_allclose(out, [0.9, 0.85, 0.2])  # the banked pair pays its motion cost; the others unchanged


@pytest.mark.parametrize(
    ("similarity", "kalman_gate", "no_look", "why"),
    [
        ([0.75, np.nan, 0.9], [False, True, True], [False, True, False], "a similarity at the reid bound is evidence"),
        ([0.65, np.nan, 0.9], [False, False, True], [False, True, False], "the look-less track's gate misses it"),
        ([0.65, 0.6, 0.9], [False, True, True], [False, False, False], "every track has a look"),
    ],
)
def test_appearance_keeps_its_weight_where_there_is_no_near_tie(similarity, kalman_gate, no_look, why):
    np.testing.assert_allclose(_costs(similarity, kalman_gate, no_look), [0.45, 0.85, 0.2], err_msg=why)


def test_a_look_less_tracks_partial_looks_cannot_lower_its_cost_but_may_refuse():
    """A bank of border-cut views: a high similarity does not make the pair cheaper than motion says; a low one
    still vetoes it."""
    out = _costs([0.5, 0.95, 0.9], [False, True, True], [False, True, False], cost=[np.inf, 0.3, 0.2])
    np.testing.assert_allclose(out, [np.inf, 0.85, 0.2])
    assert _costs([0.5, 0.3, 0.9], [False, True, True], [False, True, False], cost=[np.inf, np.inf, 0.2])[1] == np.inf


MAX_COST = 0.8  # `association.max_cost`


def test_near_a_look_less_track_that_cannot_take_the_detection_appearance_ranks_the_pairs_motion_accepts():
    """The traced TUD-Campus event (jitter, frame 15): a look-less track lost too long costs 0.814 > max_cost on a
    detection; two banked tracks that motion alone accepts (0.668, 0.710) keep their appearance terms, so the one whose
    look is closer (0.514 against 0.516) takes it, not the one motion favours."""
    cols = np.array([0, 0, 0])
    out = near_tie_costs(
        np.array([0.516, 0.514, 0.814]),
        np.array([0.668, 0.710, 0.814]),
        np.array([0.586, 0.617, np.nan]),
        np.array([True, False, True]),
        cols,
        np.array([False, False, True]),
        REID_BOUND,
        MAX_COST,
    )
    np.testing.assert_allclose(out, [0.516, 0.514, 0.814])
    assert out[1] < out[0]


def test_a_weak_look_never_admits_a_pair_motion_rejects_near_a_look_less_track():
    """The look-less track cannot take the detection either, but a banked pair whose motion cost exceeds max_cost
    is not made acceptable by a similarity below the reid bound (a lost look-alike does not come back onto the
    person whose track has no look)."""
    out = _near_hopeless_look_less(motion=0.879)
    assert out[0] == pytest.approx(0.879) and out[0] > MAX_COST


def test_a_look_less_track_that_can_take_the_detection_still_makes_a_near_tie():
    """Within max_cost the look-less pair is a real rival: a weak look pays its motion cost as before."""
    out = _near_hopeless_look_less(motion=0.6, look_less=0.7)
    assert out[0] == pytest.approx(0.6)


def _near_hopeless_look_less(motion, look_less=0.823):
    """A banked pair (fused 0.554, similarity 0.663) and a look-less one on one detection."""
    return near_tie_costs(
        np.array([0.554, look_less]),
        np.array([motion, look_less]),
        np.array([0.663, np.nan]),
        np.array([True, True]),
        np.array([0, 0]),
        np.array([False, True]),
        REID_BOUND,
        MAX_COST,
    )


def test_a_veto_stands_in_a_near_tie():
    out = _costs([0.4, np.nan, 0.9], [False, True, True], [False, True, False], cost=[np.inf, 0.85, 0.2])
    assert out[0] == np.inf


FPS = 25
DIM = 128
HIDDEN = (20, 32)  # frames while B is undetected


def _scene(weak_look_ties: bool) -> tuple[dict[int, dict[int, int]], list[int]]:
    """A (identity 0, always seen clear) walks right and is hidden from frame 24 on. B (identity 1, looking like A:
    cosine ~0.66, below the reid bound) walks beside C, who covers it by over 30% (B's bank stays empty), is
    undetected for 12 frames and comes back 70 px behind its straight path: inside B's Kalman gate, overlapping A's
    prediction. Returns {frame: {identity: track ID}} and B's bank sizes while it is followed before its absence."""
    walker_a = Walker(0, lambda f: (250 + 4.0 * f, 300.0), visible=lambda f: not 24 <= f < 60)

    def path_c(f):
        return (300 + 2.0 * f + 6.0 * max(0, f - 20), 330.0 + 3.0 * max(0, f - 20))

    def path_b(f):
        late = max(0, f - 20)
        return (310 + 2.0 * f + 3.0 * late - (70.0 if f >= HIDDEN[1] else 0.0), 305.0)

    walker_b = Walker(1, path_b, visible=lambda f: not HIDDEN[0] <= f < HIDDEN[1])
    walker_c = Walker(2, path_c)
    cfg = load_config(None, overrides=["device=cpu", f"association.weak_look_ties={str(weak_look_ties).lower()}"])
    tracker = Tracker(cfg, frame_rate=FPS)
    identities = reid_like_identities(3, DIM, different=0.78)
    rng = np.random.default_rng(1)
    history, b_bank = {}, []
    for f in range(80):
        det = render([walker_a, walker_b, walker_c], f, identities, noise_for_similarity(0.9, DIM), rng)
        out = tracker.update_detections(det.boxes_xyxy, det.scores, embeddings=det.embeddings)
        history[f] = {int(det.identities[o.detection_index]): o.track_id for o in out}
        if 1 in history[f] and f < HIDDEN[0]:
            track = next(t for t in tracker.core.tracks if t.track_id == history[f][1])
            b_bank.append(int(tracker.core.bank.count([track.slot])[0]))
    return history, b_bank


def _ids(history, identity, frames):
    return {history[f][identity] for f in frames if identity in history[f]}


def test_a_look_alike_does_not_take_a_person_whose_track_has_no_look():
    """The traced TUD-Campus event (E1): the track of a person never seen clear has an empty bank; when the person
    comes back, a hidden look-alike's track must not take them on a similarity below the reid bound."""
    history, b_bank = _scene(weak_look_ties=True)
    assert b_bank and max(b_bank) == 0, "B is never seen clear: its track's bank stays empty"
    a_before, b_before = _ids(history, 0, range(24)), _ids(history, 1, range(HIDDEN[0]))
    assert len(a_before) == 1 and len(b_before) == 1
    b_after = _ids(history, 1, range(HIDDEN[1], 80))
    assert b_after and not (b_after & a_before), "A's ID must not move onto B"
    assert _ids(history, 0, range(60, 80)) == a_before, "A gets its own ID back"


def test_without_the_rule_the_look_alike_takes_the_person():
    """The scene above does test the rule: switched off, A's track takes B (an ID switch)."""
    history, _ = _scene(weak_look_ties=False)
    a_before = _ids(history, 0, range(24))
    assert _ids(history, 1, range(HIDDEN[1], 80)) & a_before


TURN = 20  # the frame two look-alikes meet at and turn back


def _turn_back(weak_look_ties: bool, every_look_weak: bool = False) -> tuple[list[tuple], dict[int, set[int]], bool]:
    """Two look-alikes (cosine ~0.78 apart, above the pairs' veto) seen clear from their first frame walk towards each
    other, meet at frame `TURN` and turn back: motion says they walked on past each other, their looks say they
    turned. `every_look_weak` takes every track as look-less (a rule that weakened clear looks too). Returns the
    output rows (frame, ID, box), {identity: the IDs it was shown under}, and whether every track had a clear look
    at the meeting."""

    def path(x0: float, speed: float):
        return lambda f: (x0 + speed * min(f, TURN) - speed * max(0, f - TURN), 300.0)

    walkers = [Walker(0, path(300.0, 5.0)), Walker(1, path(500.0, -5.0))]
    cfg = load_config(None, overrides=["device=cpu", f"association.weak_look_ties={str(weak_look_ties).lower()}"])
    tracker = Tracker(cfg, frame_rate=FPS)
    if every_look_weak:
        tracker.core.stage1._no_clear_look = lambda rows, similarity, given: np.ones(len(rows), dtype=bool)
    identities = reid_like_identities(2, DIM, different=0.78)
    rng = np.random.default_rng(0)
    rows, shown, clear_at_meeting = [], {0: set(), 1: set()}, False
    for f in range(45):
        det = render(walkers, f, identities, noise_for_similarity(0.9, DIM), rng)
        out = tracker.update_detections(det.boxes_xyxy, det.scores, embeddings=det.embeddings, frame_size=(600, 1000))
        rows += [(f, o.track_id, *np.round(o.xyxy, 6)) for o in out]
        for o in out:
            shown[int(det.identities[o.detection_index])].add(o.track_id)
        if f == TURN and not every_look_weak:
            clear_at_meeting = not _no_clear_look(tracker).any()
    return rows, shown, clear_at_meeting


def _no_clear_look(tracker: Tracker) -> np.ndarray:
    """(T,) bool: the tracks without a clear look on a pair of unknown similarity."""
    rows = np.arange(len(tracker.core.tracks))
    core = tracker.core
    return core.stage1._no_clear_look(rows, np.full(len(rows), np.nan), core._appearance_given)


def test_tracks_with_clear_looks_are_tracked_as_without_the_rule():
    """The rule touches only tracks with no clear look: where every bank holds clear looks, tracking (IDs and boxes,
    every frame) is what it is without the rule, and the looks keep the two people who turned back apart."""
    on, shown, clear = _turn_back(weak_look_ties=True)
    off, _, _ = _turn_back(weak_look_ties=False)
    assert clear, "both tracks have a clear look when they meet"
    assert on == off
    assert len(shown[0]) == 1 and len(shown[1]) == 1 and shown[0] != shown[1], shown


def test_the_turn_back_scene_tests_the_rule():
    """A rule that weakened clear looks too would be caught above: taking every track as look-less, motion decides
    and the two people swap IDs as they turn back."""
    _, shown, _ = _turn_back(weak_look_ties=True, every_look_weak=True)
    assert shown[0] == shown[1] == {1, 2}, shown


def test_a_track_seen_only_cut_by_the_border_has_no_clear_look_until_seen_whole():
    """A person walking in across the left border: their bank fills with partial views, which are not clear looks;
    once the whole box is in view the track has one."""
    cfg = load_config(None, overrides=["device=cpu"])
    tracker = Tracker(cfg, frame_rate=FPS)
    identities = reid_like_identities(1, DIM)
    rng = np.random.default_rng(0)
    walker = Walker(0, lambda f: (-10.0 + 2.0 * f, 200.0), size=(50, 120))  # its left edge crosses x = 0 at f = 17.5
    clear = {}
    for f in range(30):
        det = render([walker], f, identities, noise_for_similarity(0.9, DIM), rng)
        boxes = det.boxes_xyxy.copy()
        boxes[:, 0] = np.maximum(boxes[:, 0], 0.0)  # the detector sees only the part inside the frame
        tracker.update_detections(boxes, det.scores, embeddings=det.embeddings, frame_size=(400, 640))
        (track,) = tracker.core.tracks
        clear[f] = bool(~_no_clear_look(tracker)[0]), int(tracker.core.bank.count([track.slot])[0])
    assert all(not c for f, (c, _) in clear.items() if f < 17) and clear[16][1] > 0, "cut views fill the bank"
    assert all(c for f, (c, _) in clear.items() if f >= 19), "a whole view is a clear look"


def test_thin_lost_track_outranked_on_its_detection_does_not_take_it() -> None:
    """A lost track with one or two looks does not take a detection that another lost track, able to take it in
    stage 1, resembles more; a thick bank, a tracked track, a vetoed or unknown pair is never outranked nor vetoed."""
    nan, inf = np.nan, np.inf
    # pairs: (track, det) -- track 0 thin lost, 1 thick lost, 2 tracked, 3 thin lost
    cost = np.array([0.5, 0.6, 0.4, 0.5, 0.5, inf, 0.5])
    similarity = np.array([0.60, 0.70, 0.90, 0.65, 0.62, 0.99, nan])
    cols = np.array([0, 0, 1, 1, 2, 2, 3])
    lost = np.array([True, True, False, True, True, True, True])
    thin = np.array([True, False, True, True, True, False, True])
    vetoed = outranked_thin_pairs(cost, similarity, cols, lost, thin)
    # det 0: thick lost track 1 resembles it more -> thin track 0 outranked (the thick one is never vetoed);
    # det 1: the tracked track's 0.90 is no rival -> the thin lost pair is kept;
    # det 2: the 0.99 pair is vetoed already (inf) -> no rival; det 3: unknown similarity -> motion alone decides.
    assert vetoed.tolist() == [True, False, False, False, False, False, False]
    assert not outranked_thin_pairs(cost, similarity, cols, lost, np.zeros(7, dtype=bool)).any()
    assert outranked_thin_pairs(
        np.zeros(0), np.zeros(0), np.zeros(0, dtype=int), np.zeros(0, bool), np.zeros(0, bool)
    ).shape == (0,)


HIDE_BOTH = (32, 44)  # frames while both look-alikes are undetected


def _thin_and_thick(outranked: bool) -> dict[int, dict[int, int]]:
    """B (identity 1) is followed for 32 frames (a full bank); its look-alike A (identity 0, cosine ~0.7) is seen for
    three frames only (a thin bank: `appearance.topk` is 5 here) just ahead of B. Both are hidden for 12 frames; B comes
    back 50 px ahead of its path, inside both lost tracks' gates and nearer A's prediction. Returns
    {frame: {identity: track ID}}."""
    walker_a = Walker(0, lambda f: (200 + 4.0 * f, 300.0), visible=lambda f: 29 <= f < HIDE_BOTH[0])
    walker_b = Walker(
        1,
        lambda f: (120 + 4.0 * f + (50.0 if f >= HIDE_BOTH[1] else 0.0), 300.0),
        visible=lambda f: not HIDE_BOTH[0] <= f < HIDE_BOTH[1],
    )
    overrides = ["device=cpu", "appearance.topk=5", f"association.thin_bank_outranked={str(outranked).lower()}"]
    tracker = Tracker(load_config(None, overrides=overrides), frame_rate=FPS)
    identities = reid_like_identities(2, DIM, different=0.7)
    rng = np.random.default_rng(1)
    history = {}
    for f in range(70):
        det = render([walker_a, walker_b], f, identities, noise_for_similarity(0.9, DIM), rng)
        out = tracker.update_detections(det.boxes_xyxy, det.scores, embeddings=det.embeddings)
        history[f] = {int(det.identities[o.detection_index]): o.track_id for o in out}
    return history


def test_a_thin_lost_track_does_not_take_a_returning_person_another_lost_track_resembles_more():
    """The traced ACF TUD-Campus event (issue 10, frame 15): a lost track with too few looks to aggregate does not
    take back a detection that another lost track, able to take it, resembles more: B keeps its ID, A's never moves
    onto B."""
    history = _thin_and_thick(outranked=True)
    a_before, b_before = _ids(history, 0, range(29, 32)), _ids(history, 1, range(32))
    assert len(a_before) == 1 and len(b_before) == 1 and a_before != b_before
    assert _ids(history, 1, range(HIDE_BOTH[1], 70)) == b_before


def test_without_the_outranked_rule_the_thin_track_takes_the_look_alike():
    """The scene above does test the rule: switched off, A's thin track takes B by motion (a wrong merge)."""
    history = _thin_and_thick(outranked=False)
    assert _ids(history, 1, range(HIDE_BOTH[1], 70)) == _ids(history, 0, range(29, 32))


ENTER_FRAMES = 40
PARTIAL, WHOLE, BESIDE = 0, 1, 2  # identity vectors: A's partial views, A's whole look, B


def _entering_beside_someone(partial_views_veto: bool) -> tuple[dict[int, set[int]], int]:
    """The traced TUD-Campus 0.35x / 0.5x event (issue 10): person A walks in across the left border beside B, who
    overlaps A's box (so appearance is consulted). While A's box is cut, its crops show a part of A that resembles A's
    whole look little (cosine ~0.45, below the 0.55 gate); A's whole box is in view from frame 13. Returns {person:
    the IDs shown for them} and the first frame A's track held a whole look in its bank (-1: never)."""
    walker_a = Walker(0, lambda f: (2.0 * f, 210.0), size=(50, 120))  # in front of B: A's looks are unoccluded
    walker_b = Walker(1, lambda f: (30.0 + 2.0 * f, 200.0), size=(50, 120))
    overrides = ["device=cpu", f"association.partial_views_veto={str(partial_views_veto).lower()}"]
    tracker = Tracker(load_config(None, overrides=overrides), frame_rate=FPS)
    identities = reid_like_identities(3, DIM)
    rng = np.random.default_rng(0)
    shown, whole_from = {0: set(), 1: set()}, -1
    for f in range(ENTER_FRAMES):
        det = render([walker_a, walker_b], f, identities, noise_for_similarity(0.9, DIM), rng)
        boxes = det.boxes_xyxy.copy()
        cut = boxes[:, 0] < 0
        boxes[:, 0] = np.maximum(boxes[:, 0], 0.0)  # the detector sees only the part inside the frame
        looks = np.where(cut, PARTIAL, np.where(det.identities == 0, WHOLE, BESIDE))
        embeddings = identities[looks] + (det.embeddings - identities[det.identities])  # the same noise
        out = tracker.update_detections(boxes, det.scores, embeddings=embeddings, frame_size=(400, 640))
        for o in out:
            shown[int(det.identities[o.detection_index])].add(o.track_id)
        a_rows = [i for i, t in enumerate(tracker.core.tracks) if t.track_id in shown[0]]
        if whole_from < 0 and any(tracker.core.table.whole_look[a_rows]):
            whole_from = f
    return shown, whole_from


def test_a_person_walking_in_keeps_the_id_their_partial_views_do_not_resemble():
    """A's track holds only partial views when A's whole box comes: they may not refuse it (its motion vouches for
    it), so A keeps one ID and B another."""
    shown, whole_from = _entering_beside_someone(partial_views_veto=False)
    assert len(shown[0]) == 1 and len(shown[1]) == 1 and shown[0] != shown[1], shown
    assert whole_from >= 13, "the bank held partial views only until A was in view"


def test_with_the_veto_the_partial_views_refuse_the_person_walking_in():
    """The scene above tests the rule: with the veto, A's whole look is refused and A restarts under a new ID."""
    shown, _ = _entering_beside_someone(partial_views_veto=True)
    assert len(shown[0]) > 1, shown


MAX_COST = 0.8  # association.max_cost's default


def _yielding(**change):
    """The traced TUD-Campus yolov8n pan8 frame 24 (issue 13), two pairs on one detection: gt6's look-less track,
    tracked since it took gt5's box by motion, outside its Kalman gate (squared Mahalanobis distance 15.5) but
    overlapping (IoU 0.64: cost 0.531); gt5's own lost track inside its gate at similarity 0.676 (cost 0.57).
    `change` replaces entries of the rival's (second) pair, or of both where a pair of values is given."""
    pairs = {
        "cost": [0.531, 0.57],
        "similarity": [np.nan, 0.676],
        "kalman_gate": [False, True],
        "no_look": [True, False],
        "tracked": [True, False],
        "lost": [False, True],
    }
    for key, value in change.items():
        pairs[key] = list(value) if isinstance(value, tuple) else [pairs[key][0], value]
    arrays = {key: np.array(value) for key, value in pairs.items()}
    return ungated_lookless_pairs(
        arrays["cost"].astype(float),
        arrays["similarity"].astype(float),
        arrays["kalman_gate"].astype(bool),
        np.array([0, 0]),
        arrays["no_look"].astype(bool),
        arrays["tracked"].astype(bool),
        arrays["lost"].astype(bool),
        MAX_COST,
    )


@pytest.mark.parametrize("lost_in_its_gate", [True, False])
def test_an_overlap_outside_the_gate_yields_a_detection_to_a_lost_track_with_a_look_stage_1_accepts(lost_in_its_gate):
    """Without the rule the look-less track keeps gt5 (0.531 < 0.57); with it gt5's own lost track takes them back,
    inside its Kalman gate or just outside it (the jitter frame 26: admitted by overlap, cost within max_cost)."""
    assert linear_assignment(np.array([[0.531], [0.57]]), MAX_COST).pairs.tolist() == [[0, 0]]
    yields = _yielding(kalman_gate=lost_in_its_gate)
    assert yields.tolist() == [True, False]
    cost = np.where(yields, np.inf, [0.531, 0.57])
    assert linear_assignment(cost[:, None], MAX_COST).pairs.tolist() == [[1, 0]]


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"kalman_gate": (True, True)}, "inside its own gate the look-less track's motion vouches for the pair"),
        ({"similarity": np.nan}, "the lost track has no look on the detection"),
        ({"cost": 0.85}, "the lost track could not take the detection (cost above max_cost)"),
        ({"cost": np.inf}, "the lost track's look refuses the detection"),
        ({"lost": False, "tracked": True}, "a tracked rival is ordinary competition, not a return"),
        ({"no_look": (True, True)}, "the rival has no clear look either"),
        ({"tracked": (False, False), "lost": (True, True)}, "a lost look-less track is not continued by overlap"),
        ({"no_look": (False, False)}, "a track with a clear look keeps its ordinary cost"),
    ],
)
def test_an_overlap_outside_the_gate_keeps_the_detection_otherwise(change, why):
    assert not _yielding(**change).any(), why


def test_no_pairs_yield_nothing():
    empty = np.zeros(0)
    flags = np.zeros(0, dtype=bool)
    assert ungated_lookless_pairs(empty, empty, flags, np.zeros(0, int), flags, flags, flags, MAX_COST).shape == (0,)


@pytest.fixture(scope="module")
def tud_pan8_yolo(shared, tmp_path_factory):
    """TUD-Campus pan8 (made here), boxes of the shared yolov8n INT8 model and OSNet looks, as `track eval` makes
    them (~15 s on 2 CPU cores); the config's overrides; the ground truth; a folder; {rule: identity timeline}."""
    root, weights = shared / "data" / "MOT15" / "train" / "TUD-Campus", shared / "weights"
    model, reid = weights / "yolov8n_int8_openvino_model", weights / "osnet_x0_25_msmt17.pth"
    missing = [str(path) for path in (root / "img1", model, reid) if not path.exists()]
    if missing:
        pytest.skip(f"absent: {', '.join(missing)}")
    if reason := unlike_traced_cpu("avx512_vnni", "avx512_bf16"):
        pytest.skip(reason)
    tmp = tmp_path_factory.mktemp("lookless_yields")
    seq = materialise(find_sequences(root)[0], "pan8", 0, root=tmp / "variants")
    overrides = [f"detector.model={model}", f"reid.weights={reid}", "motion.camera_compensation=sparse_flow"]
    inputs = load_inputs(seq, "detector", load_config(overrides=overrides), tmp / "cache")
    return seq, inputs, overrides, read_mot_rows(seq.info.root / "gt" / "gt.txt"), tmp, {}


def _ids_of(seq_inputs, rule: bool, person: int, frames: range) -> set[int]:
    """The track IDs that cover gt `person` on `frames` (IoU >= 0.5), tracked with compensation, the rule on or off
    (each run once per module)."""
    seq, inputs, overrides, gt, tmp, timelines = seq_inputs
    if rule not in timelines:
        # Off: `lost_pairs_plausible` too (with it on, gt5 is on their own ID for part of 24-48: IDs {5, 6}).
        off = [] if rule else ["association.lost_pairs_plausible=false"]
        cfg = load_config(overrides=[*overrides, f"association.ungated_lookless_yields={str(rule).lower()}", *off])
        run = load_tool("cmc_exact").track_variant(seq, inputs, cfg, "estimate")
        path = tmp / f"rule_{rule}.txt"
        path.write_text("".join(line if line.endswith("\n") else line + "\n" for line in run.lines))
        timelines[rule] = identity_timeline(gt, read_mot_rows(path))
    runs = timelines[rule].get(person, [])
    return {track for track, first, last in runs if track is not None and first <= frames[-1] and last >= frames[0]}


def test_a_person_taken_by_a_look_less_track_goes_back_to_their_own_track(tud_pan8_yolo):
    """The traced TUD-Campus pan8 event with compensation (issue 13): gt6's look-less track takes gt5's box by motion
    at frame 23; from frame 24 gt5 is on their own ID again (the one of frames 1-5), not on gt6's."""
    first_id, gt6_id = _ids_of(tud_pan8_yolo, True, 5, range(1, 6)), _ids_of(tud_pan8_yolo, True, 6, range(1, 10))
    assert len(first_id) == 1 and len(gt6_id) == 1 and first_id != gt6_id
    assert _ids_of(tud_pan8_yolo, True, 5, range(24, 49)) == first_id


def test_without_the_rule_the_look_less_track_keeps_the_person(tud_pan8_yolo):
    """The same run with `association.ungated_lookless_yields=false` (and `lost_pairs_plausible=false`): gt5 stays
    on gt6's ID for frames 23-48 (so the test above can fail)."""
    gt6_id = _ids_of(tud_pan8_yolo, False, 6, range(1, 10))
    assert _ids_of(tud_pan8_yolo, False, 5, range(24, 49)) == gt6_id


def _jump_frame(gateless=(True, False), rival_tracked=True, cost=(0.341, 0.377)):
    """The traced TUD-Campus yolov8n jump event (issue 13, frame 51, the camera's 100 px jump): gt8's confident box
    (score 0.67) lies inside the Kalman gate of gt8's two-frame look-less track (IoU 0.93, motion cost 0.377) and
    overlaps the prediction of gt5's banked track outside that track's gate (IoU 0.59, motion cost 0.605) at
    similarity 0.832 (fused cost 0.341); gt5's own box has score 0.18, so gt5's track's gate holds no confident
    detection. Pairs: (gt5's track, gt8's box), (gt8's track, gt8's box)."""
    return gateless_look_ties(
        np.array(cost, dtype=float),
        np.array([0.605, 0.377]),
        np.array([False, True]),
        np.array([0, 0]),
        np.array([False, True]),
        np.array([True, rival_tracked]),
        np.array(gateless),
        MAX_COST,
    )


def test_a_hidden_persons_look_does_not_outbid_a_look_less_tracks_motion():
    out = _jump_frame()
    np.testing.assert_allclose(out, [0.605, 0.377])  # the banked pair pays its motion cost
    assert linear_assignment(out[:, None], MAX_COST).pairs.tolist() == [[1, 0]], "gt8's track keeps gt8"


@pytest.mark.parametrize(
    ("kwargs", "why"),
    [
        ({"gateless": (False, False)}, "the banked track's gate holds a confident detection: a real ambiguity"),
        ({"rival_tracked": False}, "a lost look-less rival: its motion is an extrapolation"),
        ({"cost": (0.341, 0.9)}, "the look-less rival's pair is above max_cost: no tie"),
    ],
)
def test_the_look_keeps_its_weight_outside_the_rule(kwargs, why):
    out = _jump_frame(**kwargs)
    assert out[0] == pytest.approx(0.341), why
    assert linear_assignment(out[:, None], MAX_COST).pairs.tolist() == [[0, 0]], "the look decides, as before"


def test_a_veto_stands_and_a_look_less_pair_is_not_touched():
    out = _jump_frame(cost=(np.inf, 0.377))
    assert out[0] == np.inf and out[1] == pytest.approx(0.377)


def test_gateless_claims_are_tracked_tracks_whose_gate_holds_no_confident_detection():
    """Track 0 (tracked) has a pair in its gate: its pairs outside it are a real ambiguity that looks may decide.
    Track 1 (tracked) has none: all its pairs rest on overlap and looks. Track 2 is lost: other rules judge it."""
    from tracker.stage1 import Stage1Cost

    rows = np.array([0, 0, 1, 1, 2])
    tracked = np.array([True, True, True, True, False])
    gated = np.array([True, False, False, False, False])
    assert Stage1Cost._gateless_claims(rows, tracked, gated).tolist() == [False, False, True, True, False]
    assert Stage1Cost._gateless_claims(rows[:0], tracked[:0], gated[:0]).tolist() == []


HIDDEN_FROM = 26  # the frame from which A is found only by a low-score box


def _hidden_behind_look_alike(rule: bool) -> tuple[dict[int, dict[int, int]], int]:
    """A (identity 0, seen clear from frame 0) walks right; from frame 20 B (identity 1, a look-alike: cosine ~0.85
    between the two identities) walks 15 px ahead of A and 8 px higher, behind A, so B's track is never seen clear of
    A (its bank stays empty). From frame `HIDDEN_FROM` A is found only by a 0.2-score box: A's track's gate holds no
    confident detection and its overlap with B's box (0.6 score) comes with a look at B close to A's own. Returns
    {frame: {identity: track ID}} and the looks in B's track's bank at `HIDDEN_FROM`."""
    walker_a = Walker(0, lambda f: (200 + 3.0 * f, 300.0))
    walker_b = Walker(1, lambda f: (215 + 3.0 * f, 292.0), visible=lambda f: f >= 20, score=0.6)
    cfg = load_config(None, overrides=["device=cpu", f"association.ungated_ties_by_motion={str(rule).lower()}"])
    tracker = Tracker(cfg, frame_rate=FPS)
    identities = reid_like_identities(2, DIM, different=0.85)
    rng = np.random.default_rng(0)
    history, b_looks = {}, -1
    for f in range(40):
        det = render([walker_a, walker_b], f, identities, noise_for_similarity(0.95, DIM), rng)
        scores = np.where((det.identities == 0) & (f >= HIDDEN_FROM), 0.2, det.scores)
        out = tracker.update_detections(det.boxes_xyxy, scores, embeddings=det.embeddings)
        history[f] = {int(det.identities[o.detection_index]): o.track_id for o in out}
        if f == HIDDEN_FROM - 1:
            track = next(t for t in tracker.core.tracks if t.track_id == history[f][1])
            b_looks = int(tracker.core.bank.count([track.slot])[0])
    return history, b_looks


def test_a_hidden_persons_track_does_not_take_a_look_alike_its_gate_rejects():
    """Issue 13's TUD-Campus jump event on a synthetic scene: with the rule each person keeps their ID while A is
    found only by a low-score box (stage 2 gives it to A's track)."""
    history, b_looks = _hidden_behind_look_alike(rule=True)
    assert b_looks == 0, "B's track has no look: only its motion speaks for it"
    assert history[HIDDEN_FROM - 1] == {0: 1, 1: 2}
    assert all(history[f] == {0: 1, 1: 2} for f in range(HIDDEN_FROM, 40)), history


def test_without_the_gateless_rule_the_hidden_persons_track_takes_the_look_alike():
    """The scene tests the rule: switched off, A's track takes B's box on its look and the two IDs swap."""
    history, _ = _hidden_behind_look_alike(rule=False)
    assert history[HIDDEN_FROM - 1] == {0: 1, 1: 2}
    assert history[39] == {0: 2, 1: 1}, history[39]
