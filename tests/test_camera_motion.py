"""Camera-motion compensation: the estimate on synthetic pans, its fallbacks, and its use on every track."""

from __future__ import annotations

import re
import warnings

import cv2
import numpy as np
import pytest

from tracker import Tracker, camera_motion, load_config
from tracker.camera_motion import CameraMotionEstimator, warp_boxes_xywh, warp_states
from tracker.config import ConfigError
from tracker.testing import reid_like_identities
from tracker.types import TrackState

WIDTH, HEIGHT = 640, 480
METHODS = ["sparse_flow", "orb", "ecc"]


def texture(seed: int, width: int = WIDTH + 200, height: int = HEIGHT + 200) -> np.ndarray:
    """A large BGR scene with structure at several scales (blurred noise plus random rectangles)."""
    rng = np.random.default_rng(seed)
    base = cv2.GaussianBlur(rng.uniform(0, 255, (height, width)).astype(np.float32), (0, 0), 3)
    base = cv2.normalize(base, None, 0, 255, cv2.NORM_MINMAX)
    image = cv2.cvtColor(base.astype(np.uint8), cv2.COLOR_GRAY2BGR)
    for _ in range(60):
        x, y = rng.integers(0, width - 40), rng.integers(0, height - 40)
        w, h = rng.integers(10, 40, size=2)
        cv2.rectangle(image, (int(x), int(y)), (int(x + w), int(y + h)), rng.integers(0, 255, 3).tolist(), -1)
    return image


def view(scene: np.ndarray, x0: float, y0: float) -> np.ndarray:
    """The WIDTH x HEIGHT window of `scene` whose top-left corner is at (x0, y0) (sub-pixel)."""
    shift = np.array([[1.0, 0.0, -x0], [0.0, 1.0, -y0]])
    return cv2.warpAffine(scene, shift, (WIDTH, HEIGHT), flags=cv2.INTER_LINEAR)


def estimator(method: str, **overrides) -> CameraMotionEstimator:
    sets = [f"motion.camera_compensation={method}", *(f"motion.{k}={v}" for k, v in overrides.items())]
    return CameraMotionEstimator(load_config(overrides=sets).motion)


@pytest.mark.parametrize("method", METHODS)
def test_pure_pan_is_recovered_within_half_a_pixel(method):
    scene = texture(0)
    est = estimator(method)
    # a person walking right while the camera pans left: its box is masked out of the estimate
    person = np.array([[300.0, 150.0, 360.0, 330.0]])
    first = view(scene, 100, 100)
    second = view(scene, 100 + 7.4, 100 - 3.2)  # the camera moves right and up: the scene moves left and down
    cv2.rectangle(second, (300, 150), (360, 330), (0, 0, 255), -1)
    assert np.allclose(est.estimate(first, person), np.eye(2, 3))  # first frame: identity
    affine = est.estimate(second, person)
    np.testing.assert_allclose(affine[:, :2], np.eye(2), atol=0.01)
    np.testing.assert_allclose(affine[:, 2], [-7.4, 3.2], atol=0.5)
    assert (est.estimates, est.failures) == (1, 0)


def test_estimate_on_a_downscaled_copy_matches_full_resolution():
    scene = texture(1)
    shifts = []
    for width in (160, WIDTH):
        est = estimator("sparse_flow", camera_image_width=width)
        est.estimate(view(scene, 100, 100))
        shifts.append(est.estimate(view(scene, 112.5, 96.0))[:, 2])
    np.testing.assert_allclose(shifts[0], [-12.5, 4.0], atol=0.5)
    np.testing.assert_allclose(shifts[0], shifts[1], atol=0.5)


@pytest.mark.parametrize("size", [(1920, 1080), (1280, 720), (3840, 2160), (768, 576), (640, 480)])
def test_the_gray_copy_is_the_area_average_of_the_rows_read(size):
    """The gray copy is the one-step INTER_AREA average (same size and scale) of the rows read, every pixel within
    one gray level of it (the rounding of the half-size copies, OpenCV's fast 2 x 2 path): all rows of a frame under
    4x the configured height (768 and 640 px wide: exactly as before), rows k // 2, k // 2 + k, ... of a larger one,
    2 per row of the copy (k = 3 at 1080p, 2 at 720p, 6 at 4K), on a texture with detail at every scale."""
    frame = cv2.resize(texture(5, 900, 700), size, interpolation=cv2.INTER_NEAREST)
    gray, scale = estimator("sparse_flow")._downscaled_gray(frame)
    width = load_config(None).motion.camera_image_width
    assert scale == width / size[0] and gray.shape == (round(size[1] * scale), width)
    step = {1080: 3, 720: 2, 2160: 6}.get(size[1], 1)
    rows = cv2.cvtColor(frame[step // 2 :: step], cv2.COLOR_BGR2GRAY)
    one_step = cv2.resize(rows, gray.shape[::-1], interpolation=cv2.INTER_AREA)
    assert np.abs(gray.astype(int) - one_step).max() <= (1 if step > 1 else 0)


@pytest.mark.parametrize("factors", [(3, 1), (3, 3), (1, 3), (5, 1)])
def test_an_odd_factor_downscale_gives_inter_areas_pixels_for_every_block_sum(factors):
    """The box filter that stands for INTER_AREA at odd integer factors (`_area_downscale`) gives its pixels to the bit
    for every sum a block can have (0 to 255 x its area), and at other factors it is INTER_AREA itself."""
    kx, ky = factors
    area = kx * ky
    sums = np.arange(255 * area + 1)
    blocks = np.clip(sums[:, None] - 255 * np.arange(area)[None, :], 0, 255).astype(np.uint8)  # (S, area)
    side = int(np.ceil(np.sqrt(len(sums))))
    blocks = np.concatenate([blocks, np.zeros((side * side - len(sums), area), np.uint8)])
    image = blocks.reshape(side, side, ky, kx).transpose(0, 2, 1, 3).reshape(side * ky, side * kx)
    expected = cv2.resize(image, (side, side), interpolation=cv2.INTER_AREA)
    np.testing.assert_array_equal(camera_motion._area_downscale(image, (side, side)), expected)
    texture_gray = cv2.cvtColor(texture(7, 768, 576), cv2.COLOR_BGR2GRAY)
    for size in ((320, 240), (384, 288)):  # 2.4x and 2x: INTER_AREA's own paths
        area_pixels = cv2.resize(texture_gray, size, interpolation=cv2.INTER_AREA)
        np.testing.assert_array_equal(camera_motion._area_downscale(texture_gray, size), area_pixels)


@pytest.mark.parametrize("size", [(1920, 1080), (3840, 2160)])
def test_reading_every_kth_row_estimates_as_the_whole_frame_does(size, monkeypatch):
    """A 1080p or 4K frame read every k-th row (2 rows per row of the gray copy) gives the camera motion of a pan
    with a slow zoom as the whole frame does: shift within 0.25 px at full resolution, rotation and scale within
    0.001, and both within 0.5 px of the exact motion."""
    width, height = size
    scene = texture(6, width // 2 + 100, height // 2 + 100)
    scene = cv2.resize(scene, None, fx=2.0, fy=2.0, interpolation=cv2.INTER_CUBIC)
    first = np.array([[1.0, 0.0, -100.0], [0.0, 1.0, -100.0]])
    zoom, shift = 1.01, (12.5, -4.0)  # scene pixels -> second view: zoomed about the first view's corner, moved
    second = np.array([[zoom, 0.0, zoom * -100.0 - shift[0]], [0.0, zoom, zoom * -100.0 - shift[1]]])
    views = [cv2.warpAffine(scene, m, size, flags=cv2.INTER_LINEAR) for m in (first, second)]
    truth = (np.vstack([second, [0, 0, 1]]) @ np.linalg.inv(np.vstack([first, [0, 0, 1]])))[:2]
    affines = []
    for rows_per_gray_row in (2, height):  # every k-th row; the whole frame (k = 0: no row skipped)
        monkeypatch.setattr(camera_motion, "_ROWS_PER_GRAY_ROW", rows_per_gray_row)
        est = estimator("sparse_flow")
        est.estimate(views[0])
        affines.append(est.estimate(views[1]))
    skipped, whole = affines
    np.testing.assert_allclose(skipped[:, 2], whole[:, 2], atol=0.25)
    np.testing.assert_allclose(skipped[:, :2], whole[:, :2], atol=1e-3)
    for affine in affines:
        np.testing.assert_allclose(affine[:, 2], truth[:, 2], atol=0.5)


@pytest.mark.parametrize("method", METHODS)
def test_scene_cut_falls_back_to_identity_and_is_counted(method):
    est = estimator(method)
    est.estimate(view(texture(2), 100, 100))
    affine = est.estimate(view(texture(3), 100, 100))  # another place altogether
    np.testing.assert_array_equal(affine, np.eye(2, 3))
    assert est.failures == 1
    blank = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    np.testing.assert_array_equal(est.estimate(blank), np.eye(2, 3))  # nothing to track: identity too
    assert est.failures == 2


def test_a_jump_no_camera_makes_between_two_frames_is_a_failed_estimate():
    """ORB matches features however far they moved: a fit that shifts the view by a third of its width between two
    frames (a cut to a similar place, a repeated pattern) is no camera motion: the identity, counted as a failure;
    a tenth of the width is a fast pan and is kept."""
    scene = texture(4, width=2 * WIDTH, height=HEIGHT + 200)
    for fraction, kept in ((0.1, True), (0.35, False)):
        est = estimator("orb")
        est.estimate(view(scene, 50, 100))
        affine = est.estimate(view(scene, 50 + fraction * WIDTH, 100))
        assert est.failures == (0 if kept else 1)
        np.testing.assert_allclose(affine[0, 2], -fraction * WIDTH if kept else 0.0, atol=1.0)


def test_a_frame_of_another_size_is_a_failed_estimate():
    """A stream that changes resolution: the pixels of two frames of different sizes do not correspond. A 640 -> 480
    px wide frame has the same 320 px gray copy and was fitted as if nothing moved (no failure); a 160 px one, whose
    copy differs, gave the identity uncounted, neither an estimate nor a failure. Both are now the identity, counted
    as an estimate that failed, as the summary's camera-motion figures say; same-size frames are estimated again."""
    scene = texture(5)
    est = estimator("sparse_flow")
    est.estimate(view(scene, 100, 100))
    smaller = cv2.resize(view(scene, 110, 100), (WIDTH * 3 // 4, HEIGHT * 3 // 4), interpolation=cv2.INTER_AREA)
    np.testing.assert_array_equal(est.estimate(smaller), np.eye(2, 3))
    assert (est.estimates, est.failures) == (1, 1)
    tiny = cv2.resize(view(scene, 110, 100), (WIDTH // 4, HEIGHT // 4), interpolation=cv2.INTER_AREA)
    np.testing.assert_array_equal(est.estimate(tiny), np.eye(2, 3))
    assert (est.estimates, est.failures) == (2, 2)
    est.estimate(view(scene, 100, 100))  # back to the first size: a failure too (the frame before was tiny)
    affine = est.estimate(view(scene, 106, 100))
    np.testing.assert_allclose(affine[:, 2], [-6.0, 0.0], atol=0.5)
    assert (est.estimates, est.failures) == (4, 3)


@pytest.mark.parametrize(
    ("bad", "says"),
    [
        (lambda frame: frame.astype(np.float32) / 255, r"frame must be uint8 .*\(frame \* 255\)\.astype\(np\.uint8\)"),
        (lambda frame: None, r"got NoneType \(cv2 reads None at the end of a video"),
        (lambda frame: frame[:0], r"frame is empty"),
    ],
)
@pytest.mark.parametrize("call", ["estimate", "observe"])
def test_a_frame_update_refuses_is_refused_by_the_estimator_too_and_loses_nothing(bad, says, call):
    """`tracker.camera_motion.estimate(frame, boxes)` is the README's way to compensate with `update_detections`. A
    float frame was kept as the previous frame before OpenCV's assertion failed (`img.depth() == CV_8U`), so every
    later good frame failed with that assertion too: the estimator was broken for the rest of the video. Now it is
    `update`'s ValueError, naming the conversion, and the next frame is estimated from the last good one."""
    scene = texture(6)
    est = estimator("sparse_flow")
    est.estimate(view(scene, 100, 100))
    with pytest.raises(ValueError, match=says):
        getattr(est, call)(bad(view(scene, 103, 100)))
    affine = est.estimate(view(scene, 106, 100))
    np.testing.assert_allclose(affine[:, 2], [-6.0, 0.0], atol=0.5)
    assert (est.estimates, est.failures) == (1, 0)


def test_the_estimators_boxes_are_checked_and_a_non_finite_one_masks_nothing():
    """The user's raw detections go to `estimate` (the tracker drops the NaN ones itself): a NaN box was cast to
    int64 garbage with numpy's "invalid value encountered in cast" warning, and boxes of 5 columns said "cannot
    reshape array of size 15 into shape (4)". Now a NaN or infinite box masks nothing, silently, and a wrong shape
    is named, the estimator as before."""
    scene = texture(7)
    est = estimator("sparse_flow")
    est.estimate(view(scene, 100, 100), [[np.nan, 0.0, 50.0, 50.0]])
    with pytest.raises(ValueError, match=r"boxes_xyxy must have shape \(N, 4\), got \(3, 5\)"):
        est.estimate(view(scene, 103, 100), np.zeros((3, 5)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's RuntimeWarning
        everything = [[-np.inf, -np.inf, np.inf, np.inf]]  # clipped to the frame, it masked every feature
        affine = est.estimate(view(scene, 106, 100), [[np.nan, 0.0, 50.0, 50.0], *everything])
    np.testing.assert_allclose(affine[:, 2], [-6.0, 0.0], atol=0.5)
    assert (est.estimates, est.failures) == (1, 0)


def test_the_estimate_takes_the_boxes_update_detections_takes_and_refuses_the_rest_alike():
    """A single box of shape (4,) was taken by `estimate` (masked as one box) where `update_detections` refuses it:
    the same boxes now go to both, and a (4,) box gets the same error, with the way to give it."""
    scene = texture(7)
    est = estimator("sparse_flow")
    tracker = Tracker(load_config(None, overrides=["device=cpu"]), frame_rate=25.0)
    est.estimate(view(scene, 100, 100), np.zeros((0, 4)))
    with pytest.raises(ValueError) as from_tracker:
        tracker.update_detections([10.0, 10.0, 50.0, 90.0], [0.9])
    with pytest.raises(ValueError) as from_estimate:
        est.estimate(view(scene, 103, 100), [10.0, 10.0, 50.0, 90.0])
    said = "boxes_xyxy must have shape (N, 4), got (4,) (one box: boxes_xyxy[None]"
    assert str(from_estimate.value).startswith(said) and str(from_tracker.value).startswith(said)
    affine = est.estimate(view(scene, 106, 100), np.array([[10.0, 10.0, 50.0, 90.0]]))
    np.testing.assert_allclose(affine[:, 2], [-6.0, 0.0], atol=0.5)


def test_warp_states_moves_means_and_covariances():
    mean = np.array([[100.0, 50.0, 20.0, 40.0, 1.0, 2.0, 0.1, 0.2]])
    cov = np.diag(np.arange(1.0, 9.0))[None]
    shift = np.array([[1.0, 0.0, 5.0], [0.0, 1.0, -3.0]])
    new_mean, new_cov = warp_states(mean, cov, shift)
    np.testing.assert_allclose(new_mean, [[105.0, 47.0, 20.0, 40.0, 1.0, 2.0, 0.1, 0.2]])
    np.testing.assert_allclose(new_cov, cov)  # a shift leaves the uncertainty alone
    zoom = np.array([[2.0, 0.0, 0.0], [0.0, 2.0, 0.0]])
    new_mean, new_cov = warp_states(mean, cov, zoom)
    np.testing.assert_allclose(new_mean, 2 * mean)
    np.testing.assert_allclose(new_cov, 4 * cov)
    homography = np.array([[1.0, 0.0, 5.0], [0.0, 1.0, -3.0], [0.0, 0.0, 1.0]])
    np.testing.assert_allclose(warp_states(mean, cov, homography)[0], warp_states(mean, cov, shift)[0])
    np.testing.assert_allclose(warp_boxes_xywh(mean[:, :4], zoom), 2 * mean[:, :4])


def motion_only(*sets: str):
    return load_config(overrides=["appearance.enabled=false", "lifecycle.confirm_first_frame=true", *sets])


def test_transform_is_applied_to_tracked_and_lost_tracks():
    """Two tracks, one lost: a given camera shift moves both states, both re-update anchors and the lost
    track's last observed box by exactly the shift, as against a twin tracker without it."""
    boxes = np.array([[100.0, 100.0, 150.0, 220.0], [400.0, 100.0, 450.0, 220.0]])
    twins = [Tracker(motion_only(), frame_rate=10) for _ in range(2)]
    for tracker in twins:
        for _ in range(3):
            tracker.update_detections(boxes, np.array([0.9, 0.9]))
        tracker.update_detections(boxes[:1], np.array([0.9]))  # the second one is lost now
    shift = np.array([[1.0, 0.0, -30.0], [0.0, 1.0, 12.0]])
    plain, moved = twins
    plain.update_detections(np.zeros((0, 4)), np.zeros(0))
    moved.update_detections(np.zeros((0, 4)), np.zeros(0), camera_motion=shift)
    a, b = plain.core, moved.core
    assert [t.state for t in b.tracks] == [TrackState.LOST, TrackState.LOST]
    np.testing.assert_allclose(b._mean[:, :2] - a._mean[:, :2], [[-30.0, 12.0]] * 2)
    np.testing.assert_allclose(b._mean[:, 2:], a._mean[:, 2:])
    np.testing.assert_allclose(b._cov, a._cov)
    np.testing.assert_allclose(b._obs_mean[:, :2] - a._obs_mean[:, :2], [[-30.0, 12.0]] * 2)
    for ta, tb in zip(a.tracks, b.tracks, strict=True):
        np.testing.assert_allclose(tb.observed_xywh - ta.observed_xywh, [-30.0, 12.0, 0.0, 0.0])


def test_user_given_camera_motion_keeps_the_identity_through_a_jump():
    """A still person; the camera jumps 100 px at frame 6. With the jump given, the ID stays; without, the
    prediction misses and the person gets a new ID."""
    cfg = motion_only("motion.camera_compensation=sparse_flow")  # configured, but the user's transform wins

    def run(give_motion: bool) -> list[int]:
        tracker = Tracker(cfg, frame_rate=10)
        ids = []
        for frame in range(1, 11):
            x = 200.0 if frame < 6 else 100.0
            motion = np.array([[1.0, 0.0, -100.0], [0.0, 1.0, 0.0]]) if give_motion and frame == 6 else None
            out = tracker.update_detections(np.array([[x, 100.0, x + 50, 220.0]]), [0.9], camera_motion=motion)
            ids += [o.track_id for o in out]
        assert tracker.camera_motion_failures == 0 and tracker.camera_motion.estimates == 0  # nothing estimated
        return ids

    assert set(run(True)) == {1}
    assert len(set(run(False))) == 2


@pytest.mark.parametrize("bad", [np.eye(2), np.full((2, 3), np.nan), np.zeros(6), np.zeros((2, 3)), np.ones((3, 3))])
def test_bad_camera_motion_is_one_clear_error(bad):
    tracker = Tracker(motion_only(), frame_rate=10)
    tracker.update_detections(np.array([[0.0, 0.0, 10.0, 20.0]]), [0.9])
    before = tracker.core._mean.copy()
    with pytest.raises(ValueError, match="camera_motion"):
        tracker.update_detections(np.zeros((0, 4)), np.zeros(0), camera_motion=bad)
    np.testing.assert_array_equal(tracker.core._mean, before)
    tracker.update_detections(np.array([[0.0, 0.0, 10.0, 20.0]]), [0.9])  # a singular one broke every later frame


def test_a_complex_camera_motion_is_refused_not_cast_to_its_real_part():
    """numpy cast a complex matrix to float with only a ComplexWarning: the imaginary parts were dropped and the
    tracks moved by what was left. Now: one ValueError naming camera_motion, no warning, the tracker unchanged."""
    tracker = Tracker(motion_only(), frame_rate=10)
    tracker.update_detections(np.array([[0.0, 0.0, 10.0, 20.0]]), [0.9])
    before = tracker.core._mean.copy()
    for bad in (np.array([[1, 0, 5j], [0, 1, 0]]), [[1, 0, 5 + 0j], [0, 1, 0]]):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with pytest.raises(ValueError, match=r"camera_motion must be a numeric .* complex"):
                tracker.update_detections(np.zeros((0, 4)), np.zeros(0), camera_motion=bad)
    np.testing.assert_array_equal(tracker.core._mean, before)


@pytest.mark.parametrize("bad", [np.full((2, 3), np.nan), np.array([[1.0, 0, np.inf], [0, 1, 0], [0, 0, 1]])])
def test_non_finite_camera_motion_is_not_called_a_wrong_shape(bad):
    """A NaN from the user's own estimator must not be reported as "got shape (2, 3)", the shape it asks for."""
    tracker = Tracker(motion_only(), frame_rate=10)
    with pytest.raises(ValueError, match=r"camera_motion must be finite, got NaN or inf") as error:
        tracker.update_detections(np.zeros((0, 4)), np.zeros(0), camera_motion=bad)
    assert "shape" not in str(error.value)


@pytest.mark.parametrize(
    "absurd",
    [
        [[1e300, 0.0, 5.0], [0.0, 1e300, 0.0]],  # a scale whose area overflows
        [[1.0, 0.0, 1e300], [0.0, 1.0, 0.0]],  # a shift whose square overflows
        [[1e100, 0.0, 0.0], [0.0, 1e100, 0.0]],  # finite here, but the tracks' variances overflow once moved
    ],
)
def test_a_camera_motion_beyond_floating_point_range_is_refused_and_changes_nothing(absurd):
    """A finite but absurd camera motion (units mixed up, an uninitialised matrix) was accepted: numpy warned of
    overflows, the tracks' states became inf / NaN and every ID was lost. Now: one ValueError naming camera_motion,
    no numpy warning, the tracker as before the call, and the next frames keep the IDs."""
    boxes, scores = np.array([[100.0, 100.0, 150.0, 250.0], [300.0, 100.0, 350.0, 250.0]]), np.array([0.9, 0.9])
    tracker = Tracker(motion_only(), frame_rate=10)
    for _ in range(5):
        ids = [o.track_id for o in tracker.update_detections(boxes, scores)]
    before = tracker.core._mean.copy(), tracker.core._cov.copy(), tracker.core.frame_index
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow warning would be an error here
        with pytest.raises(ValueError, match=r"camera_motion takes .* beyond floating-point range"):
            tracker.update_detections(boxes, scores, camera_motion=np.array(absurd))
    np.testing.assert_array_equal(tracker.core._mean, before[0])
    np.testing.assert_array_equal(tracker.core._cov, before[1])
    assert tracker.core.frame_index == before[2]
    assert [o.track_id for o in tracker.update_detections(boxes, scores)] == ids == [1, 2]


def test_update_estimates_the_camera_motion_from_frames():
    """`update(frame)` with a detector estimates the motion when configured: a still person filmed by a
    panning camera (12 px/frame, with a 60 px jump) keeps one ID; without compensation the jump breaks it."""
    scene = texture(4, width=WIDTH + 400)
    lefts = [20.0 + 12 * f + (60 if f >= 6 else 0) for f in range(10)]
    person = (500.0, 200.0, 550.0, 320.0)  # scene pixels

    class FakeDetector:
        def __init__(self):
            self.frame = 0

        def __call__(self, _image):
            x0 = lefts[self.frame]
            self.frame += 1
            box = np.array([[person[0] - x0, person[1] - 100, person[2] - x0, person[3] - 100]])
            return box, np.array([0.9]), np.zeros(1, np.int64)

    def run(method: str) -> tuple[set[int], Tracker]:
        tracker = Tracker(motion_only(f"motion.camera_compensation={method}"), 10, detector=FakeDetector())
        ids = set()
        for x0 in lefts:
            ids |= {o.track_id for o in tracker.update(view(scene, x0, 100))}
        return ids, tracker

    ids, tracker = run("sparse_flow")
    assert ids == {1} and tracker.camera_motion.estimates == 9 and tracker.camera_motion_failures == 0
    assert len(run("none")[0]) == 2


def test_run_summary_reports_failed_estimates():
    from tracker.run_summary import RunSummary

    assert "camera motion not found on 3 frames" in RunSummary(frames=10, camera_motion_failures=3).describe()
    assert "camera motion" not in RunSummary(frames=10).describe()


def test_run_summary_says_compensation_ran_when_nothing_failed():
    """With compensation on and no failed estimate the printed summary said nothing of the camera motion, so a user
    could not tell `--set motion.camera_compensation=...` had been applied; `auto`'s held-back fits are counted."""
    from tracker.run_summary import RunSummary

    said = RunSummary(frames=10, camera_motion_estimates=9).describe()
    assert "camera motion estimated on 9 frames" in said and "not found" not in said and "held" not in said
    said = RunSummary(frames=10, camera_motion_estimates=9, camera_motion_held=1, camera_motion_failures=2).describe()
    assert "camera motion estimated on 7 of 9 frames, 1 small fit held back by `auto` as noise" in said
    assert "camera motion not found on 2 frames" in said
    said = RunSummary(frames=12, camera_motion_estimates=11, camera_motion_failures=11).describe()
    assert "camera motion estimated on 0 of 11 frames" in said, "the estimates counted are the tries (new42)"


def test_run_summary_json_counts_the_fits_auto_held_back():
    """summary.json's `camera_motion` said frames estimated and failed, not the fits `auto` held back (each a frame
    tracked as if the camera stood still); several sources add theirs up."""
    from tracker.run_summary import RunSummary, combine

    one = RunSummary(frames=10, camera_motion_estimates=9, camera_motion_failures=1, camera_motion_held=6, name="a")
    assert one.to_json()["camera_motion"] == {"estimates": 9, "failures": 1, "held": 6}
    other = RunSummary(frames=5, camera_motion_estimates=4, camera_motion_held=2, name="b")
    assert combine([one, other]).to_json()["camera_motion"] == {"estimates": 13, "failures": 1, "held": 8}
    assert "camera_motion" not in RunSummary(frames=10).to_json(), "compensation off"


def test_auto_leaves_a_static_camera_alone_and_applies_a_fast_pan():
    scene = texture(3)
    person = np.array([[300.0, 150.0, 360.0, 330.0]])
    static = estimator("auto")
    rng = np.random.default_rng(0)
    for _ in range(20):  # sensor noise on a still view: no motion ever reaches the tracks
        noisy = np.clip(view(scene, 100, 100) + rng.normal(0, 2, (HEIGHT, WIDTH, 3)), 0, 255).astype(np.uint8)
        assert np.array_equal(static.estimate(noisy, person), np.eye(2, 3))
    assert (static.estimates, static.held, static.failures) == (19, 19, 0)
    panning = estimator("auto")
    panning.estimate(view(scene, 100, 100))
    affine = panning.estimate(view(scene, 108, 100))  # 8 px at once: applied on this frame, like sparse_flow
    np.testing.assert_allclose(affine[:, 2], [-8.0, 0.0], atol=0.5)
    assert panning.held == 0


def test_auto_delays_a_slow_pan_but_drops_none_of_it():
    scene = texture(4)
    est = estimator("auto", camera_image_width=WIDTH)  # gray copy at full size: 1 px of it = 1 px of the frame
    est.estimate(view(scene, 100, 100))
    applied = np.eye(3)
    for k in range(1, 31):  # 0.25 px/frame, under the fit's noise on any one frame
        step = est.estimate(view(scene, 100 + 0.25 * k, 100))
        applied = np.vstack([step, [0, 0, 1]]) @ applied
    assert est.held > 0  # frames held their motion back ...
    held_now = np.sqrt(est._pending_fits)  # ... and what is still held is under the noise of its fits ...
    np.testing.assert_allclose(applied[0, 2], -0.25 * 30, atol=0.5 + held_now)  # ... none of it was lost


def test_auto_drops_the_motion_it_held_back_at_a_frame_of_another_size():
    """`auto` held a slow pan's motion back across a change of resolution and released it later in the new size's
    pixels (a shift of the old frame's pixels applied to the new frame's, where nothing moved). The size change is a
    failed estimate: what was held is dropped with it (it was under the fit's noise, as the frames are not
    comparable), and the new size starts from nothing held."""
    scene = texture(6)
    est = estimator("auto", camera_image_width=WIDTH)
    for k in range(4):  # 0.25 px/frame: held back
        assert np.array_equal(est.estimate(view(scene, 100 + 0.25 * k, 100)), np.eye(2, 3))
    assert est.held == 3 and est._pending_fits == 3
    smaller = cv2.resize(view(scene, 101, 100), (WIDTH // 2, HEIGHT // 2), interpolation=cv2.INTER_AREA)
    np.testing.assert_array_equal(est.estimate(smaller), np.eye(2, 3))
    assert est.failures == 1 and est._pending_fits == 0
    np.testing.assert_array_equal(est._pending, np.eye(3))


LOOKS = reid_like_identities(2, 64, different=0.6)  # two people alike enough for a stage 1 appearance match


def _pan_out_and_back(look_back: np.ndarray, frame_size: tuple[int, int] | None) -> list[int]:
    """Person A (look 0) is tracked at the left border; the camera pans right until A's track is predicted
    wholly outside the view; then someone with `look_back` appears at that border. Returns the IDs shown."""
    cfg = load_config(overrides=["lifecycle.confirm_first_frame=true", "appearance.calibration=fixed"])
    tracker = Tracker(cfg, frame_rate=10)
    person_a = np.array([[10.0, 100.0, 60.0, 220.0]])
    for _ in range(4):
        tracker.update_detections(person_a, [0.9], embeddings=LOOKS[:1], frame_size=frame_size)
    pan = np.array([[1.0, 0.0, -20.5], [0.0, 1.0, 0.0]])  # 3 frames: A's box ends at x = -1
    for _ in range(3):
        tracker.update_detections(np.zeros((0, 4)), np.zeros(0), camera_motion=pan, frame_size=frame_size)
    at_border = np.array([[0.0, 100.0, 50.0, 220.0]])
    shown = tracker.update_detections(at_border, [0.9], embeddings=look_back[None], frame_size=frame_size)
    return [o.track_id for o in shown]


def test_track_panned_out_of_view_is_not_taken_back_by_motion():
    """A look-alike entering where the panned-away track is predicted (just outside the view) does not get its
    ID by motion + a loose appearance match; without the frame size (nothing known about the view) it did."""
    assert _pan_out_and_back(LOOKS[1], (HEIGHT, WIDTH)) == []  # a new, still tentative track
    assert _pan_out_and_back(LOOKS[1], None) == [1]


def test_track_panned_out_of_view_comes_back_by_reidentification():
    """The same person coming back into view at that border gets the ID back (stage 4, appearance alone)."""
    assert _pan_out_and_back(LOOKS[0], (HEIGHT, WIDTH)) == [1]


def test_out_of_view_needs_the_border_the_track_was_last_seen_at():
    """A track leaves the view only across a border it was near: a prediction that drifted beyond the bottom
    after an occluder cut the box short (the demo's hidden person) is not out of view, nor is one beyond the
    bottom whose box was last seen at the right border; one last seen at the left border and predicted beyond
    it is."""
    from tracker.kalman import xyxy_to_xywh
    from tracker.view_exit import out_of_view

    observed = xyxy_to_xywh(np.array([[300.0, 200.0, 360.0, 380.0], [580.0, 200.0, 630.0, 380.0], [5.0, 100, 55, 220]]))
    predicted = xyxy_to_xywh(
        np.array([[300.0, 500.0, 360.0, 680.0], [580.0, 490.0, 630.0, 670.0], [-60.0, 100, -5, 220]])
    )
    mean = np.zeros((3, 8))
    mean[:, :4] = predicted
    np.testing.assert_array_equal(out_of_view(mean, observed, (HEIGHT, WIDTH), 0.25), [False, False, True])
    assert not out_of_view(mean, observed, None, 0.25).any()  # frame size unknown: nobody is out of view


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("shape", [(1, 1), (1, 700), (64, 1)])
def test_a_frame_one_pixel_thin_is_a_failed_estimate_not_an_opencv_error(method, shape):
    """A frame one pixel high or wide (a line-scan camera, a crop that came out thin) has a gray copy of that side too:
    ORB's scale pyramid cannot shrink it, and `Tracker.update` raised OpenCV's bare `cv2.error` ("Assertion failed
    inv_scale_x > 0 in function 'resize'") instead of the identity counted as a failure that README promises."""
    est = estimator(method)
    frames = np.random.default_rng(0).integers(0, 255, size=(2, *shape, 3), dtype=np.uint8)
    for frame in frames:
        np.testing.assert_array_equal(est.estimate(frame), np.eye(2, 3))
    assert (est.estimates, est.failures) == (1, 1)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("shape", [(1, 300), (3, 300), (300, 2)])
def test_a_moving_scene_one_to_three_pixels_thin_is_a_failed_estimate_not_a_still_camera(method, shape):
    """A real scene panning 2 px a frame, seen through a frame 1-3 px thin: no method can tell its motion, so every
    estimate is a counted failure. ECC returned the identity it starts from as a good estimate (0 failures): the
    summary said the camera motion was found on every frame, and that it was still."""
    scene = texture(3, width=shape[1] + 40, height=shape[0] + 40)
    est = estimator(method)
    for step in range(3):
        frame = np.ascontiguousarray(scene[10 : 10 + shape[0], 10 + 2 * step : 10 + 2 * step + shape[1]])
        np.testing.assert_array_equal(est.estimate(frame), np.eye(2, 3))
    assert (est.estimates, est.failures) == (2, 2)


@pytest.mark.parametrize(("width", "height"), [(4000, 150), (6000, 200)])
def test_a_gray_copy_thinner_than_its_floor_keeps_the_frames_aspect(width, height):
    """A frame wider than 20:1 (a stitched or line-scan panorama) made a 320 px gray copy under 16 px high, and the
    copy's height alone was raised to 16 px: the copy lost the frame's aspect, and every vertical motion came back
    stretched by 16 / its height (4000 x 150: 8 px for a 6 px tilt), a wrong warp counted as a good estimate (or
    no fit at all). Both sides now scale alike: the copy is 16 px high and wider than 320 px."""
    scene = texture(7, width=width + 200, height=height + 200)
    est = estimator("sparse_flow")
    shifts = []
    for step in range(4):
        x0, y0 = 50 + 3.0 * step, 50 + 6.0 * step  # the camera moves right and down: the scene moves left and up
        frame = cv2.warpAffine(scene, np.array([[1.0, 0.0, -x0], [0.0, 1.0, -y0]]), (width, height))
        shifts.append(est.estimate(frame)[:, 2])
    assert est.failures == 0
    np.testing.assert_allclose(np.median(shifts[1:], axis=0), [-3.0, -6.0], atol=0.6)


@pytest.mark.parametrize("method", ["sparse_flow", "ecc"])
def test_a_frame_taller_than_wide_has_its_tilt_estimated_as_a_wide_one_its_pan(method):
    """The plausible shift was a quarter of the frame's width on both axes: a 40 x 3000 frame (a line-scan camera
    turned upright, a phone's portrait strip) tilting 12 px a frame, 0.4% of its height, failed every estimate,
    while the same frame turned wide had its 12 px pan estimated. The bound is now the frame's longer side."""
    scene = texture(8, width=40 + 100, height=3000 + 100)
    turned = np.ascontiguousarray(scene.transpose(1, 0, 2))
    tall, wide = estimator(method), estimator(method)
    tilts, pans = [], []
    for step in range(3):
        tilts.append(tall.estimate(np.ascontiguousarray(scene[20 + 12 * step : 3020 + 12 * step, 20:60]))[1, 2])
        pans.append(wide.estimate(np.ascontiguousarray(turned[20:60, 20 + 12 * step : 3020 + 12 * step]))[0, 2])
    assert (tall.failures, wide.failures) == (0, 0)
    np.testing.assert_allclose(tilts[1:], -12.0, atol=1.0)
    np.testing.assert_allclose(pans[1:], -12.0, atol=1.0)


def on_screen_text(height: int) -> np.ndarray:
    """A strip of burned-in white text on black, WIDTH wide (a timestamp and telemetry): the strongest corners."""
    strip = np.full((height, WIDTH, 3), 20, np.uint8)
    for row in range(height // 30):
        line = "2026-12-02 04:35:17 CAM 3 REC N 51.50 W 0.12"
        cv2.putText(strip, line, (5, 25 + 30 * row), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (255, 255, 255), 2)
    return strip


@pytest.mark.parametrize("method", METHODS)
def test_still_on_screen_text_outvotes_the_scene_unless_excluded(method):
    """Burned-in text (a drone's telemetry, a dashcam's timestamp) or a car's hood stays still on the screen while
    the scene moves: its corners agree exactly on no motion and outvoted a softer scene's, counted as good estimates
    (sparse_flow and orb 0.0 px for a 7 px pan here; a 120 px jump of a 960 x 540 clip of people.mp4 under a hood
    and a timestamp came back as 0.0; ecc ~2 px off). `camera_exclude` keeps a region out of every method's
    features: the pan comes back."""
    strip = on_screen_text(HEIGHT // 5)
    scene = (texture(9).astype(np.float32) * 0.4 + 70).astype(np.uint8)  # a softer scene than white text
    first, second = view(scene, 100, 100), view(scene, 107, 100)
    first[-len(strip) :], second[-len(strip) :] = strip, strip
    fooled = estimator(method)
    fooled.estimate(first)
    assert abs(fooled.estimate(second)[0, 2] + 7.0) > 1.5  # what users got: the text's "no motion" (ecc: pulled)
    est = estimator(method, camera_exclude="[[0, 0.8, 1, 1]]")
    est.estimate(first)
    np.testing.assert_allclose(est.estimate(second)[:, 2], [-7.0, 0.0], atol=0.75)  # orb: its 320 px keypoints
    assert (est.estimates, est.failures) == (1, 0)


@pytest.mark.parametrize("method", [*METHODS, "auto"])
def test_a_ticking_burned_in_clock_does_not_move_a_still_cameras_estimate(method):
    """BoxMOT #1404: an on-screen timestamp corrupted the peers' GMC. Its digits change every frame (new corners
    where the old ones were), but a still camera's estimate stays within 0.1 px of no motion, never failed: the
    changed digits are outliers of the fit, the unchanged text and the scene agree on no motion."""
    scene = texture(5)
    est = estimator(method)
    shifts = []
    for second in range(8):
        frame = view(scene, 100, 100)
        clock = f"2026-12-08 00:{second * 7 // 60:02d}:{second * 7 % 60:02d}.{second * 373 % 1000:03d}"
        cv2.putText(frame, clock, (10, 40), cv2.FONT_HERSHEY_SIMPLEX, 1.5, (255, 255, 255), 3)
        shifts.append(np.abs(est.estimate(frame)[:, 2]).max())
    assert max(shifts) < 0.1 and est.failures == 0, shifts


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("[[0, 0.8, 1]]", "camera_exclude[0]: expected [x1, y1, x2, y2]"),
        ("[[0.5, 0.8, 0.2, 1]]", "x1 < x2"),
        ("[[0, 0.8, 1, 1.5]]", "camera_exclude[0][3]: 1.5 is out of range [0, 1]"),
        ("[0, 0.8, 1, 1]", "a list of lists is written with both brackets"),
        ("[[0, 0, 1, 1]]", "camera_exclude covers the whole frame"),
        ("[[0, 0, 0.6, 1], [0.5, 0, 1, 0.5], [0.4, 0.5, 1, 1]]", "camera_exclude covers the whole frame"),
    ],
)
def test_a_bad_excluded_region_is_one_clear_error(value, says):
    """Regions that leave nothing of the frame were taken: every estimate then failed, the identity used, and the
    compensation configured was off without a word but a failure count."""
    with pytest.raises(ConfigError, match=re.escape(says)):
        load_config(overrides=[f"motion.camera_exclude={value}"])
    load_config(overrides=["motion.camera_exclude=[[0, 0, 0.6, 1], [0.5, 0, 1, 0.5], [0.4, 0.5, 1, 0.99]]"])


class _PanningPerson:
    """A detector for `view`s of a still person filmed by a camera whose crop starts at `lefts[i]` on frame i: the
    person's box in each frame's pixels. Counts its calls."""

    def __init__(self, lefts: list[float], person=(500.0, 200.0, 550.0, 320.0)):
        self.lefts, self.person, self.calls = lefts, person, 0

    def __call__(self, _image):
        x0, (x1, y1, x2, y2) = self.lefts[self.calls], self.person
        self.calls += 1
        return np.array([[x1 - x0, y1 - 100, x2 - x0, y2 - 100]]), np.array([0.9]), np.zeros(1, np.int64)


def _known_shift(lefts: list[float], i: int) -> np.ndarray:
    """The exact (2, 3) motion from frame i - 1's pixels to frame i's: the crop moved right, the scene left."""
    return np.array([[1.0, 0.0, lefts[i - 1] - lefts[i]], [0.0, 1.0, 0.0]])


def test_update_uses_a_camera_motion_given_as_is():
    """`update(frame, camera_motion=A)`: a PTZ's known motion moves the tracks with compensation off (a still
    person under a 12 px/frame pan with a 60 px jump keeps one ID; without it the jump breaks the ID), and with an
    estimator configured the given motion is used instead of an estimate, which restarts from that frame."""
    scene = texture(4, width=WIDTH + 400)
    lefts = [20.0 + 12 * f + (60 if f >= 6 else 0) for f in range(10)]

    def run(method: str, given_on) -> tuple[set[int], Tracker]:
        tracker = Tracker(motion_only(f"motion.camera_compensation={method}"), 10, detector=_PanningPerson(lefts))
        ids = set()
        for i, x0 in enumerate(lefts):
            motion = _known_shift(lefts, i) if i in given_on else None
            ids |= {o.track_id for o in tracker.update(view(scene, x0, 100), camera_motion=motion)}
        return ids, tracker

    assert run("none", range(1, 10))[0] == {1}
    assert len(run("none", ())[0]) == 2
    ids, tracker = run("sparse_flow", {6})  # the jump's motion given; the others estimated from the frame before
    assert ids == {1}
    assert tracker.camera_motion.estimates == 8 and tracker.camera_motion_failures == 0


@pytest.mark.parametrize("method", ["sparse_flow", "orb", "ecc"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int32])
def test_a_motion_given_on_every_frame_tracks_exactly_as_without_an_estimator(method, dtype):
    """Issue 13: a `camera_motion` the user gives is used as is. Given on every frame (as float64, float32 or
    whole-pixel ints), a tracker with an estimator configured gives the same boxes, bit for bit, as one without: the
    estimate is neither mixed into the given motion nor applied beside it."""
    scene = texture(4, width=WIDTH + 400)
    lefts = [20.0 + 12 * f + (60 if f >= 6 else 0) for f in range(10)]
    frames = [view(scene, x0, 100) for x0 in lefts]
    outputs = {}
    for configured in ("none", method):
        tracker = Tracker(motion_only(f"motion.camera_compensation={configured}"), 10, detector=_PanningPerson(lefts))
        given = [None] + [_known_shift(lefts, i).astype(dtype) for i in range(1, len(lefts))]
        tracked = [tracker.update(f, camera_motion=m) for f, m in zip(frames, given, strict=True)]
        outputs[configured] = _boxes_and_ids(tracked)
    assert outputs[method] == outputs["none"]
    assert {i for frame in outputs["none"] for i, _ in frame} == {1}


def _boxes_and_ids(outputs) -> list[list[tuple[int, tuple[float, ...]]]]:
    return [[(o.track_id, tuple(np.round(o.xyxy, 6))) for o in objects] for objects in outputs]


@pytest.mark.parametrize("method", ["none", "sparse_flow"])
@pytest.mark.parametrize("detect_ahead", [True, False])
def test_stream_takes_a_known_motion_per_frame_as_update_does(method, detect_ahead):
    """`stream(frames)` had no way to take the motion a PTZ's encoder reports, which `update(frame, camera_motion=A)`
    takes. `stream(frames, camera_motions=...)` pairs each frame with its motion (None: estimated), also when frames
    are detected ahead in a thread, and gives what `update` gives frame by frame."""
    scene = texture(4, width=WIDTH + 400)
    lefts = [20.0 + 12 * f + (60 if f >= 6 else 0) - (30 if f >= 8 else 0) for f in range(10)]
    frames = [view(scene, x0, 100) for x0 in lefts]
    motions = [None] + [_known_shift(lefts, i) if method == "none" or i == 6 else None for i in range(1, 10)]

    def tracker() -> Tracker:
        return Tracker(motion_only(f"motion.camera_compensation={method}"), 10, detector=_PanningPerson(lefts))

    by_update = tracker()
    expected = _boxes_and_ids(
        by_update.update(f, camera_motion=m, camera_motion_noise=1.5) for f, m in zip(frames, motions, strict=True)
    )
    by_stream = tracker()
    got = by_stream.stream(iter(frames), detect_ahead, camera_motions=iter(motions), camera_motion_noise=1.5)
    assert _boxes_and_ids(got) == expected
    assert {tid for objects in expected for tid, _ in objects} == {1}
    if method == "sparse_flow":
        assert by_stream.camera_motion.estimates == by_update.camera_motion.estimates == 8


@pytest.mark.parametrize("detect_ahead", [True, False])
def test_stream_converts_each_camera_motion_once(detect_ahead, monkeypatch):
    """`stream(frames, camera_motions=...)` converted each motion twice: in its check of the item, then again in
    `update` (or, detecting ahead, in `_given_motion`). Once now, with the tracks `update` gives frame by frame."""
    import tracker.pipeline as pipeline_module

    scene = texture(4, width=WIDTH + 400)
    lefts = [20.0 + 12 * f for f in range(6)]
    frames = [view(scene, x0, 100) for x0 in lefts]
    motions = [None] + [_known_shift(lefts, i) for i in range(1, 6)]
    by_update = Tracker(motion_only(), 10, detector=_PanningPerson(lefts))
    expected = _boxes_and_ids(
        by_update.update(f, camera_motion=m, camera_motion_noise=1.5) for f, m in zip(frames, motions, strict=True)
    )
    converted = []
    convert = pipeline_module.as_homography

    def counted(transform):
        converted.append(transform)
        return convert(transform)

    monkeypatch.setattr(pipeline_module, "as_homography", counted)  # (`update`'s; `with_motions` converts the items)
    by_stream = Tracker(motion_only(), 10, detector=_PanningPerson(lefts))
    got = by_stream.stream(frames, detect_ahead, camera_motions=motions, camera_motion_noise=1.5)
    assert _boxes_and_ids(got) == expected
    assert not converted, "each motion is converted once, where its item is checked"


@pytest.mark.parametrize("detect_ahead", [True, False])
def test_stream_refuses_camera_motions_that_are_not_one_per_frame(detect_ahead):
    scene = texture(4, width=WIDTH + 400)
    lefts = [20.0, 32.0, 44.0]
    frames = [view(scene, x0, 100) for x0 in lefts]
    shifts = [None, _known_shift(lefts, 1), _known_shift(lefts, 2)]

    def stream(frames, motions):
        tracker = Tracker(motion_only(), 10, detector=_PanningPerson(lefts))
        return tracker.stream(frames, detect_ahead, camera_motions=motions)

    with pytest.raises(ValueError, match="2 motions for 3 frames"):  # both sized: before any frame is tracked
        next(stream(frames, shifts[:2]))
    with pytest.raises(ValueError, match=r"one motion of shape \(2, 3\)"):
        next(stream(frames, shifts[1]))
    short = stream(iter(frames), iter(shifts[:2]))
    assert len(next(short)) == len(next(short)) == 1
    with pytest.raises(ValueError, match="camera_motions ended before frame 2"):
        next(short)
    long = stream(iter(frames[:2]), iter(shifts))
    assert len(next(long)) == len(next(long)) == 1
    with pytest.raises(ValueError, match="more items than the 2 frames"):
        next(long)
    with pytest.raises(ValueError, match="camera_motion"):  # a bad motion: as update refuses it, at its frame
        list(stream(iter(frames), iter([None, np.zeros((2, 2)), None])))
    said = r"^camera_motions item 1 \(frame 1's motion\): camera_motion must be a \(2, 3\) affine .* got shape \(2, 2\)"
    bad = stream(iter(frames), iter([None, np.zeros((2, 2)), None]))
    assert len(next(bad)) == 1  # (frame 0 tracked; the item at fault named by its place among the motions)
    with pytest.raises(ValueError, match=said):
        next(bad)


@pytest.mark.parametrize("given", ["list", "array", "text"])
def test_stream_refuses_motions_given_where_detect_ahead_goes(given):
    """`stream(frames, motions)`, the motions where `detect_ahead` goes: a list was taken for True and the motions
    were ignored (the 60 px jump of this pan broke the ID without a word), an array raised numpy's "truth value of
    an array ... is ambiguous", naming no argument, and a text "false" detected ahead. Now one TypeError naming
    `detect_ahead` and `camera_motions=`, before any frame."""
    scene = texture(4, width=WIDTH + 400)
    lefts = [20.0 + 12 * f + (60 if f >= 6 else 0) for f in range(10)]
    frames = [view(scene, x0, 100) for x0 in lefts]
    motions = [None] + [_known_shift(lefts, i) for i in range(1, 10)]
    detector = _PanningPerson(lefts)
    tracker = Tracker(motion_only(), 10, detector=detector)
    wrong = {"list": motions, "array": np.stack(motions[1:]), "text": "false"}[given]
    with pytest.raises(TypeError, match=r"detect_ahead must be True, False or None.*camera_motions="):
        next(tracker.stream(frames, wrong))
    assert detector.calls == 0 and tracker.core.frame_index == 0
    ids = {o.track_id for objects in tracker.stream(frames, camera_motions=motions) for o in objects}
    assert ids == {1}  # (the motions given by name keep the one ID)


@pytest.mark.parametrize("ahead", [1, 0, np.int64(1)])
def test_stream_takes_one_and_zero_for_detect_ahead_as_before_its_check(ahead):
    """`detect_ahead=1` (or 0, or numpy's) read as True (False) before cd46efe's check, which refused every int as a
    list of motions given second: it tracks again, as the bool does; another number is still refused."""
    scene = texture(4, width=WIDTH + 400)
    lefts = [20.0 + 12 * f for f in range(6)]
    frames = [view(scene, x0, 100) for x0 in lefts]
    got = [
        [o.track_id for o in objects]
        for objects in Tracker(motion_only(), 10, detector=_PanningPerson(lefts)).stream(frames, ahead)
    ]
    same = Tracker(motion_only(), 10, detector=_PanningPerson(lefts)).stream(frames, bool(ahead))
    assert got == [[o.track_id for o in objects] for objects in same] and got[-1] == [1]
    with pytest.raises(TypeError, match="detect_ahead must be True, False or None, got int"):
        next(Tracker(motion_only(), 10, detector=_PanningPerson(lefts)).stream(frames, 2))


def test_a_detectors_rows_given_to_estimate_are_told_their_box_columns_only():
    """`estimate(frame, boxes.data)`, a detector's (N, 6) rows: e5e8dda's hint for `update_detections` told it
    "boxes_xyxy=rows[:, :4], scores=rows[:, 4], class_ids=rows[:, 5]", arguments `estimate` has not. It is told the
    boxes' columns alone; `update_detections` still gets the three."""
    rows = np.array([[10, 20, 50, 120, 0.9, 0], [100, 20, 150, 120, 0.8, 0]], float)
    with pytest.raises(
        ValueError, match=r"got \(2, 6\) \(rows of \(x1, y1, x2, y2, score, class\)\? boxes_xyxy=rows\[:, :4\]\)$"
    ):
        estimator("orb").estimate(texture(1), rows)
    with pytest.raises(ValueError, match=r"scores=rows\[:, 4\], class_ids=rows\[:, 5\]\)$"):
        Tracker(motion_only(), 10).update_detections(rows, rows[:, 4])


def test_observe_makes_the_next_estimate_start_from_that_frame():
    """A frame whose motion was given is the one the next estimate starts from: 12 px, not the 72 px since the
    frame estimated before it."""
    scene = texture(5, width=WIDTH + 400)
    person = np.array([[300.0, 150.0, 360.0, 330.0]])
    est = estimator("sparse_flow")
    est.estimate(view(scene, 100, 100), person)
    est.observe(view(scene, 160, 100), person)
    shift = est.estimate(view(scene, 172, 100), person)
    assert abs(shift[0, 2] + 12) < 0.5 and abs(shift[1, 2]) < 0.5
    assert (est.estimates, est.failures) == (1, 0)


@pytest.mark.parametrize(
    ("motion", "noise", "match"),
    [
        (np.zeros((2, 2)), 0.0, "camera_motion"),
        (np.full((2, 3), np.nan), 0.0, "camera_motion"),
        (np.eye(2, 3), -1.0, "camera_motion_noise"),
        (None, float("nan"), "camera_motion_noise"),
    ],
)
def test_update_refuses_a_bad_camera_motion_before_detecting(motion, noise, match):
    scene = texture(6, width=WIDTH + 400)
    detector = _PanningPerson([20.0, 32.0, 44.0])
    tracker = Tracker(motion_only("motion.camera_compensation=sparse_flow"), 10, detector=detector)
    first = tracker.update(view(scene, 20.0, 100))
    state = tracker.core.frame_index, tracker.camera_motion.checkpoint()
    with pytest.raises(ValueError, match=match):
        tracker.update(view(scene, 32.0, 100), camera_motion=motion, camera_motion_noise=noise)
    assert detector.calls == 1 and tracker.core.frame_index == state[0]
    assert tracker.camera_motion.checkpoint() == state[1]
    assert [o.track_id for o in tracker.update(view(scene, 32.0, 100))] == [o.track_id for o in first] == [1]


@pytest.mark.parametrize(
    ("region", "rows", "columns"),
    [
        ((0.5, 0.5, 0.5 + 1 / 1920, 0.5 + 1 / 1080), (90, 91), (160, 161)),  # one full-resolution pixel
        ((0.0, 0.01, 1.0, 0.02), (1, 4), (0, 320)),  # a thin strip: rows 1.8 to 3.6 of the gray copy
    ],
)
def test_an_excluded_region_masks_every_gray_pixel_it_touches(region, rows, columns):
    """A region's edges were rounded to the nearest gray-copy pixel (320 x 180 for 1920 x 1080): one under a gray
    pixel excluded nothing at all (a user's one-pixel region: features still taken there), and a thin strip lost the
    row its top edge falls in (burned-in text half in it still outvotes the scene). Every gray pixel the region
    touches is now left out, and no other."""
    est = estimator("sparse_flow", camera_exclude=f"[{list(region)}]")
    est.estimate(np.zeros((1080, 1920, 3), np.uint8))
    expected = np.full((180, 320), 255, np.uint8)
    expected[rows[0] : rows[1], columns[0] : columns[1]] = 0
    np.testing.assert_array_equal(est._previous_mask, expected)


@pytest.mark.parametrize(("regions", "warned"), [("[[0.001, 0, 1, 1]]", True), ("[[0, 0, 1, 0.95]]", False)])
def test_excluded_regions_that_leave_no_gray_pixel_are_warned_of_once(regions, warned, caplog):
    """The config refuses regions covering the whole frame, but one a hair short of it (x1 = 0.001) covers every
    pixel of the 320 px gray copy, as every pixel a region touches is left out: every estimate failed, counted, with
    nothing to say why. One warning now names the regions and the copy; a region that leaves a strip says nothing."""
    scene = texture(5)
    est = estimator("sparse_flow", camera_exclude=regions)
    with caplog.at_level("WARNING", logger="tracker.camera_motion"):
        for x0 in (0.0, 4.0, 8.0):
            est.estimate(view(scene, x0, 0.0))
    messages = [r.getMessage() for r in caplog.records]
    assert messages == (
        [
            "motion.camera_exclude [[0.001, 0.0, 1.0, 1.0]] leaves no pixel of the 320 x 240 gray copy (a region takes "
            "every gray pixel it touches): every camera-motion estimate fails; exclude less, or raise "
            "motion.camera_image_width (warned once)"
        ]
        if warned
        else []
    )
    assert est.failures == (2 if warned else 0)


def test_a_given_motion_with_auto_brings_the_motion_auto_held_back():
    """`auto` holds back a slow pan's frame-to-frame motion until it stands out of the fits' noise (0.5 px a frame:
    4.5 px over 9 frames, all held here), then moves the tracks by all of it at once. A frame whose motion was given
    (`update(frame, camera_motion=A)`, A from the frame before) dropped what was held: the tracks were left 4.5 px
    behind the scene for good. The tracks now get A and the held motion together: all the camera moved."""
    scene = texture(8, width=WIDTH + 400)
    lefts = [20.0 + 0.5 * f for f in range(10)]
    lefts.append(lefts[-1] + 12.0)  # frame 10: a 12 px step the PTZ's encoder reports
    tracker = Tracker(motion_only("motion.camera_compensation=auto"), 10, detector=_PanningPerson(lefts))
    applied, step = [], tracker.core.step

    def recording(*args, **kwargs):
        given = kwargs.get("camera_motion")
        applied.append(np.eye(3) if given is None else camera_motion.as_homography(given))
        return step(*args, **kwargs)

    tracker.core.step = recording
    for i, x0 in enumerate(lefts):
        tracker.update(view(scene, x0, 100), camera_motion=_known_shift(lefts, 10) if i == 10 else None)
    assert tracker.camera_motion.held == 9  # the slow pan: held back on every estimated frame
    total = np.linalg.multi_dot(applied[::-1])
    np.testing.assert_allclose(total[:2, 2], [lefts[0] - lefts[-1], 0.0], atol=1.0)  # -16.5 px (it was -12)


def test_an_estimator_pickled_before_camera_exclude_existed_still_estimates(monkeypatch):
    """A `track --resume` checkpoint holds the estimator with its config; one written before `camera_exclude`
    existed is resumed (the key had its default in that run), but its config had no such attribute: the first frame
    after the resume raised AttributeError (a key with a list default has no class attribute to fall back on). A key
    added since the pickle now reads its default."""
    import pickle

    from tracker.config import MotionConfig

    est = estimator("sparse_flow")
    old_state = lambda self: {k: v for k, v in vars(self).items() if k != "camera_exclude"}  # noqa: E731
    with monkeypatch.context() as patch:
        patch.setattr(MotionConfig, "__getstate__", old_state, raising=False)
        blob = pickle.dumps(est)
    resumed = pickle.loads(blob)
    assert resumed.config.camera_exclude == ()
    scene = texture(3)
    resumed.estimate(view(scene, 100, 100))
    np.testing.assert_allclose(resumed.estimate(view(scene, 105, 100))[:, 2], [-5.0, 0.0], atol=0.5)


@pytest.mark.parametrize("with_both_masks", [True, False])
def test_ecc_masks_each_frames_people_in_that_frames_pixels(monkeypatch, with_both_masks):
    """ECC warps the current frame onto the previous one: the people of the previous frame are masked in the
    previous (template) image and this frame's people in this (input) image. Before, the previous frame's mask was
    given as the input's, so where a person walked to was compared as scene (median error on the moving variants
    at 320 px: TUD-Campus pan8 1.02 -> 0.61 px, PETS09 pan20 0.93 -> 0.05; tools/bench_cmc.py). OpenCV without
    `findTransformECCWithMask` (< 4.13) takes the input's mask alone."""
    seen = []
    if with_both_masks:
        real = cv2.findTransformECCWithMask

        def spy(template, image, template_mask, input_mask, *args):
            seen.append((template_mask.copy(), input_mask.copy()))
            return real(template, image, template_mask, input_mask, *args)

        monkeypatch.setattr(cv2, "findTransformECCWithMask", spy, raising=False)
    else:
        monkeypatch.delattr(cv2, "findTransformECCWithMask", raising=False)
        real_ecc = cv2.findTransformECC

        def spy(template, image, warp, motion, criteria, input_mask, *args):
            seen.append((None, input_mask.copy()))
            return real_ecc(template, image, warp, motion, criteria, input_mask, *args)

        monkeypatch.setattr(cv2, "findTransformECC", spy)
    scene = texture(3)
    est = estimator("ecc", camera_image_width=WIDTH)  # gray copy at full size: masks in frame pixels
    before, after = np.array([[400.0, 120.0, 540.0, 380.0]]), np.array([[200.0, 120.0, 340.0, 380.0]])
    est.estimate(view(scene, 100, 100), before)
    affine = est.estimate(view(scene, 106, 100), after)
    np.testing.assert_allclose(affine[:, 2], [-6.0, 0.0], atol=0.5)
    ((template_mask, input_mask),) = seen
    assert not input_mask[120:380, 200:340].any() and input_mask[120:380, 400:540].all()
    if template_mask is not None:
        assert not template_mask[120:380, 400:540].any() and template_mask[120:380, 200:340].all()


@pytest.mark.parametrize("method", METHODS)
def test_the_motion_across_a_blackout_reaches_the_tracks(method):
    """A pan of 7 px a frame with two black frames in it (a tunnel, a flash, a dropped signal): the black frames
    fail (identity, counted), and the first frame after them is estimated from the last frame before them: all
    21 px the tracks did not get meanwhile. Before, it was estimated from the black frame: it failed too and the
    motion across the blackout was lost for good."""
    scene, black = texture(6), np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    est = estimator(method)
    est.estimate(view(scene, 100, 100))
    np.testing.assert_allclose(est.estimate(view(scene, 107, 100))[:, 2], [-7.0, 0.0], atol=0.5)
    for _ in range(2):
        np.testing.assert_array_equal(est.estimate(black), np.eye(2, 3))
    affine = est.estimate(view(scene, 128, 100))
    np.testing.assert_allclose(affine[:, 2], [-21.0, 0.0], atol=0.5)
    assert (est.estimates, est.failures, est.bridged) == (4, 2, 1)
    np.testing.assert_allclose(est.estimate(view(scene, 135, 100))[:, 2], [-7.0, 0.0], atol=0.5)  # on as usual


def test_the_bridge_ends_after_camera_bridge_frames_and_at_a_scene_cut():
    """The last frame before a failure is tried for `camera_bridge_frames` frames only (a longer blackout: the motion
    is lost, as without the bridge), and never once the frames follow on from each other again (a scene cut: the
    new scene's next frame is estimated from its first, and the old scene is not tried)."""
    scene, black = texture(6), np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    for bridge_frames, bridged in ((2, True), (1, False), (0, False)):
        est = estimator("sparse_flow", camera_bridge_frames=bridge_frames)
        est.estimate(view(scene, 100, 100))
        for _ in range(2):
            est.estimate(black)
        affine = est.estimate(view(scene, 121, 100))  # the 2nd frame after the first failure
        np.testing.assert_allclose(affine[:, 2], [-21.0, 0.0] if bridged else [0.0, 0.0], atol=0.5)
        assert est.bridged == int(bridged)
    cut = texture(7)
    est = estimator("sparse_flow")
    est.estimate(view(scene, 100, 100))
    np.testing.assert_array_equal(est.estimate(view(cut, 100, 100)), np.eye(2, 3))  # the cut: a failure
    np.testing.assert_allclose(est.estimate(view(cut, 105, 100))[:, 2], [-5.0, 0.0], atol=0.5)
    assert (est.failures, est.bridged, est._bridge) == (1, 0, None)


def test_a_frame_given_again_after_a_rollback_is_bridged_as_once_in_an_estimator_of_an_old_checkpoint(monkeypatch):
    """A frame whose embedder failed (`Tracker.update` rolls the estimator back) is given again. An estimator pickled
    before the bridge existed (a `track --resume` checkpoint of before stop 39) has no `bridged` / `_bridge` of its
    own: `rollback` updated its state with the checkpoint's keys and kept the ones the undone frame had added, so the
    frame given again after the blackout was counted bridged twice (summary.json's camera_motion.bridged)."""
    import pickle

    scene, black = texture(6), np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    est = estimator("sparse_flow")
    est.estimate(view(scene, 100, 100))
    est.estimate(view(scene, 107, 100))
    new_keys = ("bridged", "_bridge", "_bridge_age")
    old_state = lambda self: {k: v for k, v in vars(self).items() if k not in new_keys}  # noqa: E731
    with monkeypatch.context() as patch:
        patch.setattr(CameraMotionEstimator, "__getstate__", old_state, raising=False)
        blob = pickle.dumps(est)
    once, retried = pickle.loads(blob), pickle.loads(blob)
    for resumed in (once, retried):
        np.testing.assert_array_equal(resumed.estimate(black), np.eye(2, 3))
    before = retried.checkpoint()
    retried.estimate(view(scene, 121, 100))  # bridged; then the frame's embedder fails
    retried.rollback(before)
    affines = [resumed.estimate(view(scene, 121, 100)) for resumed in (once, retried)]
    np.testing.assert_allclose(affines[0][:, 2], [-14.0, 0.0], atol=0.5)
    np.testing.assert_array_equal(affines[1], affines[0])
    counts = [(resumed.estimates, resumed.failures, resumed.bridged) for resumed in (once, retried)]
    assert counts == [(3, 1, 1), (3, 1, 1)]


def test_a_homography_whose_horizon_crosses_a_tracks_last_box_is_refused_and_changes_nothing():
    """A (3, 3) homography divides by x * h20 + y * h21 + h22, zero on its horizon line. One through the centre of a
    track's last observed box (here x = 135: h20 = -1/135) was accepted with three numpy RuntimeWarnings (divide by
    zero, invalid values) and left inf / NaN in that box, although the same motion through a Kalman centre was
    refused. Now: the ValueError naming camera_motion that `warp_states` gives, no warning, the tracker as before."""
    boxes, scores = np.array([[110.0, 100.0, 160.0, 220.0], [400.0, 100.0, 450.0, 220.0]]), np.array([0.9, 0.9])
    tracker = Tracker(motion_only(), frame_rate=10)
    for _ in range(5):
        ids = [o.track_id for o in tracker.update_detections(boxes, scores, frame_size=(480, 640))]
    assert tracker.core.table.observed_xywh[0, 0] == 135.0
    before = tracker.core._mean.copy(), tracker.core.table.observed_xywh.copy(), tracker.core.frame_index
    horizon = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [-1.0 / 135.0, 0.0, 1.0]]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=r"camera_motion takes .* beyond floating-point range"):
            tracker.update_detections(boxes, scores, camera_motion=horizon, frame_size=(480, 640))
    np.testing.assert_array_equal(tracker.core._mean, before[0])
    np.testing.assert_array_equal(tracker.core.table.observed_xywh, before[1])
    assert tracker.core.frame_index == before[2]
    assert [o.track_id for o in tracker.update_detections(boxes, scores, frame_size=(480, 640))] == ids == [1, 2]


def test_birth_looks_on_a_homographys_horizon_are_forgotten_not_made_nan():
    """The births' refused looks follow the camera once the frame is in (nothing may be refused then): a look that
    the homography sends to infinity is forgotten, with no warning and no NaN kept."""
    from tracker.birth import BirthShapes

    shapes = BirthShapes(load_config(), 10.0)
    shapes._hold(np.array([[135.0, 160.0, 50.0, 120.0]]), np.array([0]), np.array([[135.0, 160.0]]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        shapes.follow_camera(np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [-1.0 / 135.0, 0.0, 1.0]]))
    assert len(shapes._refused) == len(shapes._origin) == 0
    shapes._hold(np.array([[135.0, 160.0, 50.0, 120.0]]), np.array([0]), np.array([[135.0, 160.0]]))
    shapes.follow_camera(np.array([[1.0, 0.0, 5.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]))  # a plain shift still moves
    np.testing.assert_allclose(shapes._refused, [[140.0, 160.0, 50.0, 120.0]])


@pytest.mark.parametrize("box", [[0.0, 0.0, 1e30, 1e30], [-1e30, -1e30, 1e30, 1e30], [-1e70, 0.0, 1e70, 1e70]])
def test_a_detection_beyond_int64_masks_the_whole_frame_without_a_numpy_warning(box):
    """A box whose corners, in gray-copy pixels, are beyond int64 (a custom detector's 1e30) was cast to int64 before
    being clipped to the copy: numpy warned "invalid value encountered in cast" and the corners became garbage (-2^63,
    clipped to 0), so a box covering the whole frame masked none of it. Clipped first, it masks every pixel."""
    est = estimator("sparse_flow")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est.estimate(np.zeros((1080, 1920, 3), np.uint8), np.array([box]))
    assert not est._previous_mask.any()


@pytest.mark.parametrize("factor", [1e-5, -1.0, 1e-160, 1e160])
def test_a_homography_given_at_another_scale_moves_the_tracks_as_the_normalised_one(factor):
    """A homography is defined up to scale (H and kH map every pixel alike), but one scaled by 1e-5 was refused as
    "must be invertible" (its determinant is k^3 det H) and one scaled by 1e160 as "beyond floating-point range". Any
    non-zero scale of a valid homography now moves the tracks as H itself does."""
    shift = np.array([[1.0, 0.0, 20.0], [0.0, 1.0, 5.0], [0.0, 0.0, 1.0]])
    boxes, scores = np.array([[100.0, 100.0, 150.0, 250.0]]), np.array([0.9])
    moved = []
    for given in (shift, shift * factor):
        tracker = Tracker(motion_only(), frame_rate=10)
        for _ in range(3):
            tracker.update_detections(boxes, scores)
        tracker.update_detections(np.zeros((0, 4)), np.zeros(0), camera_motion=given)
        moved.append(tracker.core._mean[:, :4].copy())
    np.testing.assert_allclose(moved[1], moved[0], rtol=1e-12)
    np.testing.assert_allclose(moved[0][0, :2], [145.0, 180.0], atol=0.5)  # previous -> current: the boxes follow


def test_a_camera_motion_tensor_is_read_as_boxes_are_whatever_its_dtype_or_grad():
    """Boxes, scores and embeddings are read from any torch tensor, but camera_motion went through numpy: a bfloat16
    tensor ("Got unsupported ScalarType BFloat16") or one that requires grad (a homography from a differentiable
    estimator: "Can't call numpy() on Tensor that requires grad") was refused. Both are now used as their values."""
    torch = pytest.importorskip("torch")
    shift = [[1.0, 0.0, 20.0], [0.0, 1.0, 4.0]]
    for given in (torch.tensor(shift, dtype=torch.bfloat16), torch.tensor(shift, requires_grad=True)):
        assert camera_motion.as_homography(given).tolist() == [*shift, [0.0, 0.0, 1.0]]
    with pytest.raises(ValueError, match="camera_motion must be real numbers"):
        camera_motion.as_homography(torch.tensor(shift, dtype=torch.complex64))


def test_update_detections_says_once_that_the_configured_compensation_needs_frames(caplog):
    """`motion.camera_compensation=sparse_flow` with your own detector (`update_detections`, no frame) compensated
    nothing and said nothing: a panning camera's tracks were lost as with `none`. Now warned once, saying how to
    give the estimate (`tracker.camera_motion.estimate(frame, boxes_xyxy)`); a given motion is not warned about."""
    boxes, scores = np.array([[100.0, 100.0, 150.0, 250.0]]), np.array([0.9])
    given = Tracker(motion_only("motion.camera_compensation=sparse_flow"), frame_rate=10)
    with caplog.at_level("WARNING", logger="tracker"):
        given.update_detections(boxes, scores, camera_motion=np.eye(3))
    assert not caplog.records
    tracker = Tracker(motion_only("motion.camera_compensation=sparse_flow"), frame_rate=10)
    with caplog.at_level("WARNING", logger="tracker"):
        for _ in range(3):
            tracker.update_detections(boxes, scores)
    assert len(caplog.records) == 1
    assert "motion.camera_compensation=sparse_flow" in caplog.text
    assert "camera_motion=tracker.camera_motion.estimate(frame, boxes_xyxy)" in caplog.text


def test_no_camera_motion_on_a_trackers_first_frame_is_not_warned_of(caplog):
    """Odometry or a PTZ encoder gives no motion for the first frame (there is no frame before it), so a caller
    passes None there and A on every later frame. With `motion.camera_compensation` on, that first None logged
    "no camera motion is applied" although every later frame's motion was applied. The first frame since the
    tracker was made or `reset()` needs no motion and is not warned of; a None on a later frame still is."""
    boxes, scores = np.array([[100.0, 100.0, 150.0, 250.0]]), np.array([0.9])
    shift = np.array([[1.0, 0.0, 4.0], [0.0, 1.0, 0.0]])
    tracker = Tracker(motion_only("motion.camera_compensation=sparse_flow"), frame_rate=10)
    with caplog.at_level("WARNING", logger="tracker"):
        for motion in (None, shift, shift):
            tracker.update_detections(boxes, scores, camera_motion=motion)
            boxes = boxes + shift[:, 2].tolist() * 2
        tracker.reset()
        tracker.update_detections(boxes, scores)
    assert not caplog.records
    with caplog.at_level("WARNING", logger="tracker"):
        tracker.update_detections(boxes, scores)  # a later frame without its motion: warned
    assert "no camera motion is applied" in caplog.text


def test_a_new_frame_size_with_the_motion_into_it_is_not_warned_as_tracks_left_in_the_old_pixels(caplog):
    """A stream that halves its resolution, the caller giving the motion from the old frame's pixels to the new
    one's (a scale of 0.5): the tracks are moved into the new pixels and keep their IDs, yet the tracker warned
    "tracks continue in the old frame's pixels; call reset() between videos". Not warned now; a new size without
    a motion still is."""
    boxes, scores = np.array([[200.0, 100.0, 260.0, 260.0]]), np.array([0.9])
    half = np.array([[0.5, 0.0, 0.0], [0.0, 0.5, 0.0]])
    tracker = Tracker(motion_only(), frame_rate=10)
    with caplog.at_level("WARNING", logger="tracker"):
        for _ in range(3):
            tracker.update_detections(boxes, scores, frame_size=(480, 640))
        for motion in (half, None, None):  # (the scale between the two sizes, then a still camera)
            out = tracker.update_detections(boxes * 0.5, scores, camera_motion=motion, frame_size=(240, 320))
            assert [o.track_id for o in out] == [1]
    assert not caplog.records, caplog.text
    with caplog.at_level("WARNING", logger="tracker"):
        tracker.update_detections(boxes, scores, frame_size=(480, 640))
    assert "the frame size changed mid-video from 240x320 to 480x640" in caplog.text
    caplog.clear()

    def detector(frame):  # the same person in frames of any size
        return boxes * frame.shape[1] / 640, scores, np.zeros(1, np.int64)

    scene = texture(2)  # `update(frame, camera_motion=)`, with an estimator configured, alike
    framed = Tracker(motion_only("motion.camera_compensation=sparse_flow"), frame_rate=10, detector=detector)
    with caplog.at_level("WARNING", logger="tracker"):
        for _ in range(3):
            framed.update(view(scene, 0, 0))
        small = cv2.resize(view(scene, 0, 0), (320, 240), interpolation=cv2.INTER_AREA)
        for motion in (half, None, None):
            assert [o.track_id for o in framed.update(small, camera_motion=motion)] == [1]
    assert not caplog.records, caplog.text


def test_a_boolean_camera_motion_is_refused_not_read_as_zeros_and_ones():
    """A boolean (2, 3) array (a mask or a flag passed by mistake) was read as 0 and 1 and used: np.eye(2, 3,
    dtype=bool) moved the tracks as the identity, without a word. Refused as a bool camera_motion_noise is."""
    torch = pytest.importorskip("torch")
    tracker = Tracker(motion_only(), frame_rate=10)
    tracker.update_detections(np.array([[0.0, 0.0, 10.0, 20.0]]), [0.9])
    before = tracker.core._mean.copy(), tracker.core.frame_index
    for bad in (np.eye(2, 3, dtype=bool), torch.eye(3, dtype=torch.bool), [[True, False, False], [False, True, False]]):
        with pytest.raises(ValueError, match=r"camera_motion must be numbers, got booleans"):
            tracker.update_detections(np.zeros((0, 4)), np.zeros(0), camera_motion=bad)
    np.testing.assert_array_equal(tracker.core._mean, before[0])
    assert tracker.core.frame_index == before[1]


def test_the_estimator_takes_the_frames_and_boxes_update_takes():
    """`tracker.camera_motion.estimate(frame, boxes_xyxy)` (README: the estimate for `update_detections`) failed on a
    (H, W, 1) gray frame, which `update` takes ("OpenCV ... Bad number of channels"), and on boxes given as a
    tensor that requires grad ("Can't call numpy() on Tensor that requires grad"). Both now estimate as a (H, W)
    frame and numpy boxes do."""
    torch = pytest.importorskip("torch")
    scene = texture(3)
    frames = [cv2.cvtColor(view(scene, x, 0.0), cv2.COLOR_BGR2GRAY) for x in (0.0, 6.0)]
    boxes = np.array([[100.0, 100.0, 180.0, 300.0]])
    plain, given = estimator("sparse_flow"), estimator("sparse_flow")
    for frame in frames:
        expected = plain.estimate(frame, boxes)
        got = given.estimate(frame[:, :, None], torch.tensor(boxes, requires_grad=True))
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(given._previous_mask, plain._previous_mask)
    assert abs(expected[0, 2] + 6.0) < 0.5
