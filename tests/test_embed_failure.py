"""A frame whose embedding fails changes nothing: the error goes on, the frame can be given again, and the tracker
then tracks exactly as one that never failed (the core's `_all_or_nothing`, `Tracker.update`'s camera-motion
rollback)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import pytest
import torch

from tracker import Tracker, TrackerConfig, load_config
from tracker.camera_motion import CameraMotionEstimator
from tracker.testing import Walker, identity_embeddings, linear_path, render

FPS = 30
DIM = 32
NOISE = 0.03
FAIL_AT = 50  # the frame whose embedding fails: C comes back (a lost track), B is still hidden behind A
AFTER = 50  # frames compared after it
FRAME_SIZE = (480, 960)  # (height, width) of the scene
PAN = np.array([[1.0, 0.0, 1.5], [0.0, 1.0, -0.5]])  # a camera pan given as `camera_motion`, pixels per frame


def occlusion_scene() -> list[Walker]:
    """A walks right; B walks left on A's line and is hidden behind it (frames 30-59); C stands, is missed for
    frames 35-49 and comes back: lost tracks, contested pairs and re-identification around `FAIL_AT`."""
    return [
        Walker(0, linear_path(200, 300, vx=4.0)),
        Walker(1, linear_path(560, 305, vx=-4.0), visible=lambda f: not 30 <= f < 60),
        Walker(2, linear_path(700, 200), visible=lambda f: not 35 <= f < 50),
    ]


class EmbedFailure(Exception):
    """What the failing embed raises (a GPU's out-of-memory, a ReID server gone)."""


def _bad_rows(rows: np.ndarray, good: np.ndarray) -> np.ndarray:
    return np.ones((len(rows) + 1, good.shape[1]))


def _bad_dim(rows: np.ndarray, good: np.ndarray) -> np.ndarray:
    return np.ones((len(rows), good.shape[1] + 1))


def _raises(rows: np.ndarray, good: np.ndarray) -> np.ndarray:
    raise EmbedFailure("out of memory")


FAILURES = {"raises": (_raises, EmbedFailure), "wrong rows": (_bad_rows, ValueError), "wrong D": (_bad_dim, ValueError)}


def _state(tracker: Tracker) -> dict:
    """The core's state arrays that a frame moves (compared exactly)."""
    core = tracker.core
    return {
        "frame_index": core.frame_index,
        "next_id": core._next_id,
        "mean": core._mean.copy(),
        "cov": core._cov.copy(),
        "obs_mean": core._obs_mean.copy(),
        "obs_cov": core._obs_cov.copy(),
        "observed": core.table.observed_xywh.copy(),
        "state": core.table.state.copy(),
        "lost_for": core.table.frames_since_update.copy(),
        "bank_counts": core.bank.count(core.table.slot).copy(),
        "refused": core.births._refused.copy(),
    }


def _assert_same_state(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def _outputs(out) -> list[tuple]:
    return [(o.track_id, o.detection_index, tuple(o.xyxy.tolist())) for o in out]


@pytest.mark.parametrize("lazy", [False, True], ids=["every detection", "lazy"])
@pytest.mark.parametrize("moving_camera", [False, True], ids=["still camera", "camera_motion given"])
@pytest.mark.parametrize("failure", list(FAILURES))
def test_a_failing_embed_changes_nothing_and_the_frame_can_be_given_again(failure, moving_camera, lazy):
    """Before the fix the core had already moved the tracks by the camera motion, predicted them and counted the
    frame: giving the frame again predicted twice (a box 40.5 px against 39.9 on a tracker that never failed)."""
    cfg = load_config(None, overrides=["device=cpu", f"appearance.lazy_embedding={str(lazy).lower()}"])
    reference, failed = Tracker(cfg, frame_rate=FPS), Tracker(cfg, frame_rate=FPS)
    walkers, identities = occlusion_scene(), identity_embeddings(3, DIM)
    bad_embed, error = FAILURES[failure]
    rng = np.random.default_rng(3)
    for f in range(FAIL_AT + AFTER):
        det = render(walkers, f, identities, NOISE, rng)
        motion = PAN if moving_camera and f else None
        det_boxes = det.boxes_xyxy + (np.array([1.5, -0.5, 1.5, -0.5]) * f if moving_camera else 0.0)

        def embed(rows: np.ndarray, det=det) -> np.ndarray:
            return det.embeddings[rows]

        if f == FAIL_AT:
            before = _state(failed)
            calls = []

            def failing(rows: np.ndarray, det=det, calls=calls) -> np.ndarray:
                calls.append(rows)
                return bad_embed(rows, det.embeddings)

            with pytest.raises(error):
                failed.update_detections(
                    det_boxes, det.scores, embed=failing, camera_motion=motion, frame_size=FRAME_SIZE
                )
            assert calls, "the failing embed was called (else this test proves nothing)"
            _assert_same_state(_state(failed), before)
        expected = reference.update_detections(
            det_boxes, det.scores, embed=embed, camera_motion=motion, frame_size=FRAME_SIZE
        )
        got = failed.update_detections(det_boxes, det.scores, embed=embed, camera_motion=motion, frame_size=FRAME_SIZE)
        assert _outputs(got) == _outputs(expected), f"frame {f}"
    _assert_same_state(_state(failed), _state(reference))
    assert len({o.track_id for o in got}) == 3, "the scene's three people are tracked at the end"


def test_the_callback_error_goes_on_unchanged():
    """The caller sees its own exception object (its type, message and traceback), not a wrapper."""
    tracker = Tracker(load_config(None, overrides=["device=cpu", "appearance.lazy_embedding=false"]), frame_rate=FPS)
    raised = EmbedFailure("CUDA out of memory")

    def embed(rows: np.ndarray) -> np.ndarray:
        raise raised

    with pytest.raises(EmbedFailure) as caught:
        tracker.update_detections(np.array([[10.0, 10, 60, 130]]), [0.9], embed=embed)
    assert caught.value is raised
    assert tracker.core.frame_index == 0 and not tracker.core.tracks


def test_a_frame_given_again_counts_its_dropped_detections_once():
    """`Tracker.invalid_detections` and `outside_detections` count a video's dropped rows; a frame whose embed failed
    was not tracked, yet its dropped rows stayed counted: given three times (two failures), one NaN box and one box
    outside `frame_size` read 3 and 3. The counts are now as before the failed call, as the rest of the tracker."""
    tracker = Tracker(load_config(None, overrides=["device=cpu", "appearance.lazy_embedding=false"]), frame_rate=FPS)
    boxes = np.array([[10.0, 10, 60, 130], [200, 10, 250, 130], [np.nan, 0, 1, 1], [900, 900, 950, 990]])
    scores = np.full(len(boxes), 0.9)
    fails = [True, True, False]

    def embed(rows: np.ndarray) -> np.ndarray:
        if fails.pop(0):
            raise EmbedFailure("out of memory")
        return np.eye(len(rows), DIM)

    for _ in range(2):
        with pytest.raises(EmbedFailure):
            tracker.update_detections(boxes, scores, embed=embed, frame_size=(480, 640))
    assert (tracker.invalid_detections, tracker.outside_detections) == (0, 0)
    tracker.update_detections(boxes, scores, embed=embed, frame_size=(480, 640))
    assert (tracker.invalid_detections, tracker.outside_detections, tracker.core.frame_index) == (1, 1, 1)


@pytest.mark.parametrize("detect_ahead", [True, False])
def test_a_stream_frame_whose_embedder_failed_leaves_its_dropped_detections_uncounted(detect_ahead):
    """As `update`'s: a `stream` frame (detected ahead) whose embedder failed was not tracked, yet its NaN box stayed
    counted in `invalid_detections` (1 after the failure, 2 once the frame was given again)."""
    boxes = np.array([[10.0, 10, 60, 130], [np.nan, 0, 1, 1], [200, 10, 250, 130]])
    fails = [True, False]

    def embedder(image: torch.Tensor, rows_xyxy: np.ndarray) -> np.ndarray:
        if fails.pop(0):
            raise EmbedFailure("out of memory")
        return np.eye(len(rows_xyxy), DIM)

    cfg = load_config(None, overrides=["device=cpu", "appearance.lazy_embedding=false"])
    tracker = Tracker(cfg, FPS, detector=lambda frame: (boxes, np.full(3, 0.9), None), embedder=embedder)
    frame = np.zeros((480, 640, 3), np.uint8)
    with pytest.raises(EmbedFailure):
        list(tracker.stream([frame, frame], detect_ahead=detect_ahead))
    assert (tracker.invalid_detections, tracker.core.frame_index) == (0, 0)
    tracker.update(frame)
    assert (tracker.invalid_detections, tracker.core.frame_index) == (1, 1)


def test_wrong_rows_from_the_callback_are_named():
    tracker = Tracker(load_config(None, overrides=["device=cpu", "appearance.lazy_embedding=false"]), frame_rate=FPS)
    with pytest.raises(ValueError, match=r"what the embed callback returned must have shape \(N, D\) with N = 2"):
        tracker.update_detections(
            np.array([[10.0, 10, 60, 130], [200, 10, 250, 130]]), [0.9, 0.9], embed=lambda rows: np.ones((3, 8))
        )


class _SceneDetector:
    """Detector of the occlusion scene: reads the frame number written in the frame's first pixels."""

    def __init__(self) -> None:
        self.walkers, self.identities = occlusion_scene(), identity_embeddings(3, DIM)
        self.last = None

    def __call__(self, frame: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        f = int(frame[0, 0, 0]) + 256 * int(frame[0, 0, 1])
        self.last = render(self.walkers, f, self.identities, 0.0, np.random.default_rng(f))
        return self.last.boxes_xyxy, self.last.scores, np.zeros(len(self.last.scores), dtype=np.int64)


class _Embedder:
    """ReID of the scene (each box's identity vector); raises once at `fail_at` (a GPU out of memory)."""

    def __init__(self, detector: _SceneDetector, fail_at: int | None) -> None:
        self.detector, self.fail_at, self.frame, self.calls_failed = detector, fail_at, 0, 0

    def __call__(self, image: torch.Tensor, boxes_xyxy: np.ndarray) -> torch.Tensor:
        if self.frame == self.fail_at:
            self.fail_at, self.calls_failed = None, self.calls_failed + 1
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        known = self.detector.last
        rows = [int(np.flatnonzero((known.boxes_xyxy == box).all(axis=1))[0]) for box in boxes_xyxy]
        return torch.as_tensor(known.embeddings[rows], dtype=torch.float32)


def _frames(count: int) -> Iterator[np.ndarray]:
    """Textured 480x960 frames of a camera panning 2 px a frame, the frame number in the first two pixels."""
    height, width = FRAME_SIZE
    blocks = np.random.default_rng(0).integers(0, 256, size=(height // 4, (width + 2 * count) // 4 + 1, 3))
    texture = np.repeat(np.repeat(blocks.astype(np.uint8), 4, axis=0), 4, axis=1)
    for f in range(count):
        frame = np.ascontiguousarray(texture[:, 2 * f : 2 * f + width])
        frame[0, 0, :2] = f % 256, f // 256
        yield frame


def _track_scene(
    cfg: TrackerConfig,
    count: int,
    embedder_fails_at: int | None = None,
    first_try: Callable[[Tracker, np.ndarray], None] | None = None,
) -> tuple[list[list[tuple]], Tracker, _Embedder]:
    """`Tracker.update` over `count` frames of the panning scene (`_frames`), with `_SceneDetector` and an `_Embedder`
    raising at frame `embedder_fails_at` (None: never). At frame FAIL_AT, `first_try(tracker, frame)` first (the
    failing call, which it checks), then the frame is given again. Returns (`_outputs` per frame, the tracker, its
    embedder)."""
    detector = _SceneDetector()
    embedder = _Embedder(detector, embedder_fails_at)
    tracker = Tracker(cfg, frame_rate=FPS, detector=detector, embedder=embedder)
    outputs = []
    for f, frame in enumerate(_frames(count)):
        embedder.frame = f
        if first_try is not None and f == FAIL_AT:
            first_try(tracker, frame)
        outputs.append(_outputs(tracker.update(frame)))
    return outputs, tracker, embedder


@pytest.mark.parametrize("cmc", ["none", "sparse_flow"])
def test_update_with_an_embedder_that_raises_once_tracks_as_if_it_never_failed(cmc):
    """`Tracker.update`: the ReID embedder raises (a GPU out of memory) on one frame; given again, that frame
    and the 50 after it come out exactly as from a tracker whose embedder never failed, camera-motion estimate
    included (it is rolled back, so the frame's motion is estimated from the frame before it again)."""
    cfg = load_config(
        None, overrides=["device=cpu", "appearance.lazy_embedding=false", f"motion.camera_compensation={cmc}"]
    )

    def out_of_memory(tracker: Tracker, frame: np.ndarray) -> None:
        with pytest.raises(torch.OutOfMemoryError):
            tracker.update(frame)

    expected, reference, _ = _track_scene(cfg, FAIL_AT + AFTER)
    got, failed, embedder = _track_scene(cfg, FAIL_AT + AFTER, FAIL_AT, out_of_memory)
    assert embedder.calls_failed == 1
    assert got == expected
    _assert_same_state(_state(failed), _state(reference))
    if cmc != "none":
        assert failed.camera_motion.estimates == reference.camera_motion.estimates == FAIL_AT + AFTER - 1


@pytest.mark.parametrize(
    ("bad", "expected"),
    [
        (lambda looks: None, r"^what the embedder returned is None; expected an \(N, D\) array with N = \d+ rows$"),
        (lambda looks: looks[:-1], r"^what the embedder returned must have shape \(N, D\) with N = \d+ rows, got"),
        (
            lambda looks: looks[:, :-1],
            rf"^what the embedder returned has D = {DIM - 1}, the tracker's banks hold D = {DIM}$",
        ),
    ],
)
def test_update_names_a_bad_embedder_result_as_the_embedders_and_changes_nothing(bad, expected):
    """`Tracker.update`: an embedder returning None, too few rows or another D mid-video was told as "embeddings is
    None", "embeddings must have shape ..." or "embeddings have D = 31, ...": an argument `update` does not have (the
    README's errors for `update_detections(embed=...)` name the callback). Named as the embedder's result now, the
    frame then given again tracks as from a tracker whose embedder never failed."""
    cfg = load_config(None, overrides=["device=cpu", "appearance.lazy_embedding=false"])

    def bad_result(tracker: Tracker, frame: np.ndarray) -> None:
        good = tracker.embedder
        tracker.embedder = lambda image, boxes: bad(good(image, boxes))
        with pytest.raises(ValueError, match=expected):
            tracker.update(frame)
        tracker.embedder = good

    expected_outputs, reference, _ = _track_scene(cfg, FAIL_AT + 5)
    got, failed, _ = _track_scene(cfg, FAIL_AT + 5, first_try=bad_result)
    assert got == expected_outputs
    _assert_same_state(_state(failed), _state(reference))


def test_the_camera_motion_estimator_rolls_back_one_frame():
    cfg = load_config(None, overrides=["motion.camera_compensation=sparse_flow"]).motion
    estimator = CameraMotionEstimator(cfg)
    first, second, third = _frames(3)
    estimator.estimate(first)
    saved = estimator.checkpoint()
    expected = estimator.estimate(second)
    estimator.rollback(saved)
    np.testing.assert_array_equal(estimator.estimate(second), expected)
    assert estimator.estimates == 1
    assert estimator.estimate(third)[0, 2] == pytest.approx(-2.0, abs=0.2), "a 2 px pan to the left"
