"""Property-based tests of `Tracker.update_detections` on hostile input (hypothesis).

Random sequences of frames: empty frames, persistent objects with jitter (so tracks form, get lost and
come back), duplicates, boxes far outside the image, zero/negative sizes, NaN/inf boxes and scores, class
ids, embeddings with NaN, inf or zero-norm rows, frames with and without embeddings, resets, and one huge
frame of 5 000 boxes. After every frame the invariants below must hold:

* no crash; each output names one detection row whose input was valid, and carries that row's score and class;
* one detection feeds at most one output; no track ID twice in a frame; outputs are TRACKED, boxes finite;
* every internal track is TENTATIVE, TRACKED or LOST; confirmed tracks have an ID, tentative ones don't;
* `bank.slots_in_use == len(core.tracks)` and no two tracks share a slot;
* the IDs ever handed out are exactly 1..(number of confirmations) (consecutive from 1, restarting on reset),
  and every returned ID is one of them;
* invalid rows produce the documented warning; malformed arrays the documented ValueError naming the argument.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracker import TrackedObject, Tracker, TrackState, load_config
from tracker.types import MIN_BOX_SIZE

ALIVE = {TrackState.TENTATIVE, TrackState.TRACKED, TrackState.LOST}
DROP_WARNING = "invalid detection"
EMBED_WARNING = "NaN, infinite or zero"
SPECIALS = (math.nan, math.inf, -math.inf)

# The shared settings: no per-example deadline (the first example pays for imports and warm-up), caplog is
# reset by hand in every example.
_BASE = settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def examples(count: int) -> settings:
    return settings(_BASE, max_examples=count)


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """The core's torch ops are tiny; on a busy 2-core machine a second OpenMP thread only adds waiting."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def make_tracker(*overrides: str) -> Tracker:
    return Tracker(load_config(None, overrides=["device=cpu", *overrides]), frame_rate=30)


def valid_rows(boxes: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """The documented row validity: finite box and score, finite width and height of at least MIN_BOX_SIZE."""
    with np.errstate(invalid="ignore", over="ignore"):
        size = boxes[:, 2:] - boxes[:, :2]
        return (
            np.isfinite(boxes).all(axis=1)
            & np.isfinite(scores)
            & np.isfinite(size).all(axis=1)
            & (size >= MIN_BOX_SIZE).all(axis=1)
        )


@dataclass
class Checker:
    """Runs frames through one tracker and asserts the invariants after each."""

    tracker: Tracker
    issued: set[int] = field(default_factory=set)  # IDs of confirmed tracks seen since the last reset
    returned: set[int] = field(default_factory=set)
    outputs: int = 0
    frames: int = 0

    def reset(self) -> None:
        self.tracker.reset()
        self.issued.clear()
        self.returned.clear()
        assert self.tracker.core.tracks == []
        assert self.tracker.core.bank.slots_in_use == 0

    def frame(self, boxes, scores, class_ids=None, embeddings=None) -> list[TrackedObject]:
        out = self.tracker.update_detections(boxes, scores, class_ids, embeddings)
        self.check(out, np.asarray(boxes, dtype=np.float64).reshape(-1, 4), np.asarray(scores, np.float64), class_ids)
        self.frames += 1
        self.outputs += len(out)
        return out

    def check(self, out: list[TrackedObject], boxes: np.ndarray, scores: np.ndarray, class_ids) -> None:
        core = self.tracker.core
        valid = valid_rows(boxes, scores)
        classes = np.zeros(len(boxes), dtype=np.int64) if class_ids is None else np.asarray(class_ids, np.int64)
        det_rows = [o.detection_index for o in out]
        ids = [o.track_id for o in out]
        assert len(set(det_rows)) == len(det_rows), f"a detection feeds two outputs: {det_rows}"
        assert len(set(ids)) == len(ids), f"an ID appears twice in one frame: {ids}"
        for o in out:
            assert isinstance(o.detection_index, int) and 0 <= o.detection_index < len(boxes)
            assert valid[o.detection_index], f"output from invalid row {o.detection_index}: {boxes[o.detection_index]}"
            assert o.state is TrackState.TRACKED
            assert isinstance(o.track_id, int) and o.track_id >= 1
            assert o.score == scores[o.detection_index]
            assert o.class_id == classes[o.detection_index]
            assert o.xyxy.shape == (4,) and np.isfinite(o.xyxy).all(), o.xyxy
        for track in core.tracks:
            assert track.state in ALIVE, track.state
            if track.state is TrackState.TENTATIVE:
                assert track.track_id is None
            else:
                assert track.track_id is not None
                self.issued.add(track.track_id)
        assert core.bank.slots_in_use == len(core.tracks)
        assert len({t.slot for t in core.tracks}) == len(core.tracks)
        assert len(core._mean) == len(core._cov) == len(core.tracks)
        # Consecutive from 1: every confirmation took the next ID, and none is skipped.
        assert self.issued == set(range(1, len(self.issued) + 1)), sorted(self.issued)
        self.returned.update(ids)
        assert self.returned <= self.issued


# ------------------------------------------------------------------------------------------------ strategies
finite_coord = st.floats(-2_000, 4_000, allow_nan=False, allow_infinity=False)
any_coord = st.one_of(finite_coord, st.sampled_from(SPECIALS), st.floats(-1e7, 1e7, allow_nan=False))
scores_st = st.one_of(
    st.floats(0, 1),
    st.sampled_from([0.0, 0.1, 0.4, 0.5, 1.0]),  # the thresholds themselves
    st.sampled_from(SPECIALS),
)


@st.composite
def junk_row(draw) -> tuple[list[float], float]:
    """Anything: outside the image, zero or negative size, NaN/inf corners or scores."""
    kind = draw(st.sampled_from(["any", "zero", "negative", "outside", "tiny", "big"]))
    x, y = draw(finite_coord), draw(finite_coord)
    if kind == "any":
        box = [draw(any_coord) for _ in range(4)]
    elif kind == "zero":
        w = draw(st.sampled_from([0.0, draw(st.floats(1, 300))]))
        box = [x, y, x + w, y] if draw(st.booleans()) else [x, y, x, y + w]
    elif kind == "negative":
        box = [x, y, x - draw(st.floats(0.5, 300)), y + draw(st.floats(-300, 300))]
    elif kind == "outside":
        box = [x - 1e5, y + 1e5, x - 1e5 + 80, y + 1e5 + 200]
    elif kind == "tiny":
        box = [x, y, x + draw(st.floats(1e-6, 1e-2)), y + draw(st.floats(1e-6, 1e-2))]
    else:
        box = [x, y, x + draw(st.floats(1e3, 1e5)), y + draw(st.floats(1e3, 1e5))]
    return box, draw(scores_st)


@dataclass(frozen=True)
class Scene:
    """Persistent objects: base box (x, y, w, h), velocity, class and identity vector."""

    base: np.ndarray  # (M, 4)
    velocity: np.ndarray  # (M, 2)
    classes: np.ndarray  # (M,)
    identity: np.ndarray  # (M, D)


@st.composite
def scenes(draw, dim: int) -> Scene:
    m = draw(st.integers(0, 6))
    rows = draw(
        st.lists(
            st.tuples(
                st.floats(0, 600),
                st.floats(0, 400),
                st.floats(2, 200),
                st.floats(2, 300),
                st.floats(-15, 15),
                st.floats(-15, 15),
                st.integers(0, 2),
            ),
            min_size=m,
            max_size=m,
        )
    )
    seed = draw(st.integers(0, 2**32 - 1))
    vecs = np.random.default_rng(seed).normal(size=(m, dim))
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    arr = np.array(rows, dtype=np.float64).reshape(m, 7)
    return Scene(arr[:, :4], arr[:, 4:6], arr[:, 6].astype(np.int64), vecs)


@st.composite
def frames(draw, scene: Scene, frame: int, dim: int, embed_mode: str, with_classes: bool):
    """One frame: (boxes, scores, class_ids or None, embeddings or None)."""
    m = len(scene.base)
    shown = draw(st.lists(st.booleans(), min_size=m, max_size=m))
    rows, scores, classes, emb = [], [], [], []
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    for i in np.flatnonzero(shown) if m else []:
        x, y, w, h = scene.base[i]
        vx, vy = scene.velocity[i]
        jitter = rng.normal(scale=2.0, size=4)
        cx, cy = x + vx * frame + jitter[0], y + vy * frame + jitter[1]
        w, h = max(1.0, w + jitter[2]), max(1.0, h + jitter[3])
        rows.append([cx, cy, cx + w, cy + h])
        scores.append(draw(st.one_of(st.floats(0.5, 1.0), scores_st)))
        classes.append(int(scene.classes[i]))
        emb.append(scene.identity[i] + rng.normal(scale=0.15 / math.sqrt(dim), size=dim))
    for _ in range(draw(st.integers(0, 3))):
        box, score = draw(junk_row())
        rows.append(box)
        scores.append(score)
        classes.append(draw(st.integers(0, 2)))
        emb.append(rng.normal(size=dim))
    if rows and draw(st.booleans()):  # duplicates of some rows
        for j in draw(st.lists(st.integers(0, len(rows) - 1), max_size=3)):
            rows.append(list(rows[j]))
            scores.append(scores[j])
            classes.append(classes[j])
            emb.append(np.array(emb[j]))
    order = draw(st.permutations(range(len(rows))))
    boxes = np.array([rows[i] for i in order], dtype=np.float64).reshape(-1, 4)
    score_arr = np.array([scores[i] for i in order], dtype=np.float64)
    class_arr = np.array([classes[i] for i in order], dtype=np.int64) if with_classes else None
    if embed_mode == "none" or (embed_mode == "mixed" and draw(st.booleans())):
        return boxes, score_arr, class_arr, None
    emb_arr = np.array([emb[i] for i in order], dtype=np.float32).reshape(-1, dim)
    for r in range(len(emb_arr)):
        bad = draw(st.sampled_from(["ok"] * 6 + ["nan", "inf", "zero"]))
        if bad == "nan":
            emb_arr[r, draw(st.integers(0, dim - 1))] = np.nan
        elif bad == "inf":
            emb_arr[r, draw(st.integers(0, dim - 1))] = np.inf
        elif bad == "zero":
            emb_arr[r] = 0.0
    return boxes, score_arr, class_arr, emb_arr


CONFIGS = st.sampled_from(
    [
        (),
        ("appearance.enabled=false",),
        ("lifecycle.min_hits=1", "lifecycle.min_seconds_tentative=0"),
        ("lifecycle.confirm_first_frame=false", "lifecycle.max_seconds_lost=0.2", "appearance.bank_capacity=2"),
        ("appearance.aggregation=max", "appearance.lazy_embedding=false", "appearance.initial_slots=1"),
        ("appearance.aggregation=mean", "motion.output_filtered_box=false", "motion.reupdate_after_loss=false"),
        ("association.fuse_score=false", "motion.confidence_scaled_noise=true", "lifecycle.max_seconds_lost=0"),
    ]
)


def expect_logs(caplog, boxes, scores, embeddings) -> None:
    """The documented messages for dropped rows and unusable embeddings (a warning for a tracker's first, debug
    after it), and none without cause."""
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("tracker")]
    valid = valid_rows(boxes, scores)
    dropped = any(DROP_WARNING in m for m in messages)
    assert dropped == (not valid.all()), (messages, valid)
    if embeddings is not None:
        usable = np.isfinite(embeddings).all(axis=1) & (np.abs(embeddings).sum(axis=1) > 0)
        warned = any(EMBED_WARNING in m for m in messages)
        assert warned == (not usable[valid].all()), (messages, usable, valid)


# ------------------------------------------------------------------------------------------------ properties
@examples(60)
@given(data=st.data(), overrides=CONFIGS, dim=st.sampled_from([4, 16, 128]))
def test_random_sequences_keep_invariants(caplog, data, overrides, dim):
    caplog.set_level(logging.WARNING, logger="tracker")
    caplog.set_level(logging.DEBUG, logger="tracker.types")  # unusable embeddings after a tracker's first: debug
    checker = Checker(make_tracker(*overrides))
    scene = data.draw(scenes(dim))
    embed_mode = data.draw(st.sampled_from(["none", "all", "mixed"]))
    with_classes = data.draw(st.booleans())
    for f in range(data.draw(st.integers(1, 40))):
        if data.draw(st.integers(0, 40)) == 0:
            checker.reset()
        if data.draw(st.integers(0, 6)) == 0:  # an empty frame, in one of the shapes callers send
            empty = data.draw(st.sampled_from([np.zeros((0, 4)), np.zeros(0), []]))
            checker.frame(empty, np.zeros(0))
            continue
        boxes, scores, classes, emb = data.draw(frames(scene, f, dim, embed_mode, with_classes))
        caplog.clear()
        checker.frame(boxes, scores, classes, emb)
        expect_logs(caplog, boxes, scores, emb)


@examples(40)
@given(data=st.data(), overrides=CONFIGS, dim=st.sampled_from([4, 16]))
def test_on_demand_embeddings_ask_only_for_valid_rows_once(caplog, data, overrides, dim):
    """`update_detections(embed=...)`: at most one call per frame, for distinct, valid rows of the caller's arrays."""
    caplog.set_level(logging.WARNING, logger="tracker")
    checker = Checker(make_tracker(*overrides))
    scene = data.draw(scenes(dim))
    for f in range(data.draw(st.integers(1, 30))):
        boxes, scores, _, emb = data.draw(frames(scene, f, dim, "all", False))
        calls = []

        def embed(rows, emb=emb, calls=calls):
            calls.append(np.asarray(rows))
            return emb[rows]

        out = checker.tracker.update_detections(boxes, scores, embed=embed)
        checker.check(out, boxes, scores, None)
        assert len(calls) <= 1, f"embed called {len(calls)} times in one frame"
        if calls:
            rows = calls[0]
            assert len(rows) and len(np.unique(rows)) == len(rows), rows
            assert valid_rows(boxes, scores)[rows].all(), "embed asked for a dropped (invalid) row"


@examples(40)
@given(data=st.data(), dim=st.sampled_from([8, 64]))
def test_torch_inputs_match_numpy_inputs(data, dim):
    """The same frames given as torch tensors or numpy arrays give the same outputs."""
    scene = data.draw(scenes(dim))
    a, b = Checker(make_tracker()), Checker(make_tracker())
    for f in range(data.draw(st.integers(1, 15))):
        boxes, scores, classes, emb = data.draw(frames(scene, f, dim, "all", True))
        out_np = a.frame(boxes, scores, classes, emb)
        out_t = b.frame(
            torch.from_numpy(boxes), torch.from_numpy(scores), torch.from_numpy(classes), torch.from_numpy(emb)
        )
        assert [(o.track_id, o.detection_index) for o in out_np] == [(o.track_id, o.detection_index) for o in out_t]


@examples(25)
@given(data=st.data())
def test_all_invalid_rows_are_dropped_and_tracks_carry_on(caplog, data):
    """A frame of nothing but invalid rows is an empty frame: tracks age, nothing is output."""
    caplog.set_level(logging.WARNING, logger="tracker")
    checker = Checker(make_tracker("lifecycle.max_seconds_lost=100"))
    good = np.array([[100.0, 100.0, 150.0, 220.0], [400.0, 100.0, 450.0, 220.0]])
    checker.frame(good, np.array([0.9, 0.9]))
    rows = data.draw(st.lists(junk_row(), min_size=1, max_size=8))
    boxes = np.array([r[0] for r in rows], dtype=np.float64)
    scores = np.array([r[1] for r in rows], dtype=np.float64)
    bad = ~valid_rows(boxes, scores)
    boxes, scores = boxes[bad], scores[bad]
    if len(boxes) == 0:
        return
    caplog.clear()
    assert checker.frame(boxes, scores) == []
    assert any(f"dropped {len(boxes)} invalid detection" in r.getMessage() for r in caplog.records)
    assert all(t.state is TrackState.LOST for t in checker.tracker.core.tracks)
    out = checker.frame(good + 3.0, np.array([0.9, 0.9]))
    assert sorted(o.track_id for o in out) == [1, 2]


@st.composite
def malformed(draw):
    """(kwargs, name of the argument the ValueError must name) for arrays that do not line up."""
    n = draw(st.integers(0, 6))
    boxes = np.tile([10.0, 10.0, 60.0, 110.0], (n, 1))
    scores = np.full(n, 0.9)
    kind = draw(st.sampled_from(["scores", "class_ids", "embeddings", "boxes_shape", "boxes_text", "class_nan"]))
    other = draw(st.sampled_from([k for k in range(9) if k != n]))
    if kind == "scores":
        return {"boxes_xyxy": boxes, "scores": np.full(other, 0.9)}, "scores"
    if kind == "class_ids":
        return {"boxes_xyxy": boxes, "scores": scores, "class_ids": np.zeros(other, int)}, "class_ids"
    if kind == "embeddings":
        emb = draw(st.sampled_from([np.ones((other, 8)), np.ones(max(n, 1) * 8)]))
        return {"boxes_xyxy": boxes, "scores": scores, "embeddings": emb}, "embeddings"
    if kind == "boxes_shape":
        width = draw(st.sampled_from([1, 2, 3, 5]))
        return {"boxes_xyxy": np.ones((max(n, 1), width)), "scores": np.full(max(n, 1), 0.9)}, "boxes_xyxy"
    if kind == "boxes_text":
        return {"boxes_xyxy": [["a", "b", "c", "d"]], "scores": [0.9]}, "boxes_xyxy"
    classes = np.zeros(max(n, 1))
    classes[0] = draw(st.sampled_from(SPECIALS))
    return {
        "boxes_xyxy": np.tile(boxes[:1] if n else [[10.0, 10, 60, 110]], (max(n, 1), 1)),
        "scores": np.full(max(n, 1), 0.9),
        "class_ids": classes,
    }, "class_ids"


@examples(60)
@given(case=malformed())
def test_malformed_arrays_raise_value_error_naming_the_argument(case):
    kwargs, name = case
    checker = Checker(make_tracker())
    checker.frame(np.array([[10.0, 10.0, 60.0, 110.0]]), np.array([0.9]))
    before = (checker.tracker.core.frame_index, len(checker.tracker.core.tracks))
    with pytest.raises(ValueError, match=name):
        checker.tracker.update_detections(**kwargs)
    # The failed call changed nothing; the tracker goes on.
    assert (checker.tracker.core.frame_index, len(checker.tracker.core.tracks)) == before
    out = checker.frame(np.array([[12.0, 10.0, 62.0, 110.0]]), np.array([0.9]))
    assert [o.track_id for o in out] == [1]


@examples(2)
@given(seed=st.integers(0, 2**32 - 1), with_embeddings=st.booleans(), junk_fraction=st.sampled_from([0.0, 0.1]))
def test_huge_frames_of_5000_boxes(caplog, seed, with_embeddings, junk_fraction):
    """5 000 detections a frame (a crowd, or a broken detector) for two frames: no crash, invariants hold.

    (Two frames: the second builds the dense 5 000 x 5 000 matrices, ~5 s on a loaded 2-core machine.)"""
    caplog.set_level(logging.WARNING, logger="tracker")
    caplog.set_level(logging.DEBUG, logger="tracker.types")  # unusable embeddings after a tracker's first: debug
    rng = np.random.default_rng(seed)
    n, dim = 5000, 32
    xy = rng.uniform(-500, 4000, size=(n, 2))
    wh = rng.uniform(5, 150, size=(n, 2))
    ids = rng.normal(size=(n, dim)).astype(np.float32)
    checker = Checker(make_tracker())
    for f in range(2):
        moved = xy + f * rng.normal(scale=1.0, size=(n, 2))
        boxes = np.concatenate([moved, moved + wh], axis=1)
        scores = rng.uniform(0.05, 1.0, n)
        junk = rng.random(n) < junk_fraction
        boxes[junk, 2] = boxes[junk, 0] - 1.0  # negative width
        emb = ids + rng.normal(scale=0.05, size=(n, dim)).astype(np.float32) if with_embeddings else None
        caplog.clear()
        out = checker.frame(boxes, scores, None, emb)
        expect_logs(caplog, boxes, scores, emb)
        assert len(out) <= int((~junk).sum())
    assert checker.tracker.core.bank.num_slots >= len(checker.tracker.core.tracks)


# ------------------------------------------------------------------------------------------------ known bugs
# Minimal reproductions of faults the properties above found (all fixed; kept as regression tests).


def test_bug_subnormal_box_size_crashes_the_kalman_gate():
    checker = Checker(make_tracker())
    box = np.array([[0.0, 0.0, 1e-300, 1e-300]])
    for _ in range(3):
        checker.frame(box, np.array([0.9]))


def test_bug_overflowing_box_width_gives_a_non_finite_output_box():
    checker = Checker(make_tracker())
    with np.errstate(all="ignore"):
        checker.frame(np.array([[-1e308, 0.0, 1e308, 100.0]]), np.array([0.9]))


def test_bug_embedding_size_change_leaks_a_slot_and_skips_an_id():
    tracker = make_tracker("lifecycle.max_seconds_lost=0", "lifecycle.min_hits=1", "lifecycle.min_seconds_tentative=0")
    box = np.array([[10.0, 10.0, 60.0, 110.0]])
    assert [o.track_id for o in tracker.update_detections(box, [0.9], embeddings=np.ones((1, 8)))] == [1]
    tracker.update_detections(np.zeros((0, 4)), [])  # track 1 removed
    with pytest.raises(ValueError, match="D = 16"):
        tracker.update_detections(box, [0.9], embeddings=np.ones((1, 16)))
    core = tracker.core
    assert core.bank.slots_in_use == len(core.tracks), "a failed call leaked a bank slot"
    assert [o.track_id for o in tracker.update_detections(box, [0.9], embeddings=np.ones((1, 8)))] == [2]
