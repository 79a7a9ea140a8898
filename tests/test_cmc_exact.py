"""`tools/cmc_exact.py`: a moving variant tracked with the estimated and with the exact camera motion."""

from __future__ import annotations

import numpy as np
import pytest
from tool_scripts import load_tool

from tracker import load_config
from tracker.eval.inputs import load_inputs
from tracker.eval.sequences import find_sequences
from tracker.eval.variants import materialise

MOTION_ONLY_FLOW = ["appearance.enabled=false", "motion.camera_compensation=sparse_flow"]  # no model needed


tool = load_tool("cmc_exact")


def test_the_grid_residual_is_the_displacement_between_two_motions():
    identity = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    assert tool.grid_residual(identity, identity, 640, 480) == 0.0
    shifted = identity + [[0.0, 0.0, 1.5], [0.0, 0.0, 0.0]]
    assert tool.grid_residual(shifted, identity, 640, 480) == pytest.approx(1.5)
    zoomed = identity * 1.01  # a 1% scale error moves the points off the centre of the frame
    assert tool.grid_residual(zoomed, identity, 640, 480) > 1.0


def test_an_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="unknown mode 'oracle'"):
        tool.track_variant(None, None, load_config(overrides=MOTION_ONLY_FLOW), "oracle")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--variants", "original"], "invalid choice: 'original'"),  # no camera motion to compare
        (["--variants", "pan9"], "invalid choice: 'pan9'"),
        (["--sequences", "MOT15/train/NOPE"], "no folder MOT15/train/NOPE"),
    ],
)
def test_bad_arguments_are_one_usage_error(shared, argv, message, capsys):
    if not (shared / "data").is_dir():
        pytest.skip(f"{shared / 'data'} is absent")
    with pytest.raises(SystemExit) as exit_info:
        tool.main(argv)
    assert exit_info.value.code == 2 and message in capsys.readouterr().err


def test_a_sequence_that_is_no_variant_is_refused(shared):
    root = shared / "data" / "MOT15" / "train" / "TUD-Campus"
    if not root.is_dir():
        pytest.skip(f"{root} is absent")
    with pytest.raises(ValueError, match="is not a variant"):
        tool.track_variant(find_sequences(root)[0], None, load_config(overrides=MOTION_ONLY_FLOW), "estimate")


@pytest.fixture(scope="module", params=["pan2", "pan8", "pan20", "zoom", "jitter", "jump"])
def tud_moving(request, shared, tmp_path_factory):
    root = shared / "data" / "MOT15" / "train" / "TUD-Campus"
    if not (root / "img1").is_dir():
        pytest.skip(f"{root} has no images: the variant cannot be made")
    tmp = tmp_path_factory.mktemp("cmc_exact")
    seq = materialise(find_sequences(root)[0], request.param, 0, root=tmp / "variants")
    cfg = load_config(overrides=MOTION_ONLY_FLOW)
    return seq, load_inputs(seq, "public", cfg, tmp / "cache"), cfg


def test_the_estimate_of_a_real_moving_camera_is_within_half_a_pixel_and_tracks_as_the_exact_motion(tud_moving):
    """TUD-Campus with each kind of camera motion (pans of 2, 8 and 20 px/frame that turn back at the window's ends,
    a zoom, handheld jitter, 100 px jumps), public boxes: the sparse-flow estimate is within 0.5 px of the exact
    motion on every frame, never fails, and tracking with it gives the same output as tracking with the exact
    motion; without compensation the output differs (the modes do act). (With a 15 px Lucas-Kanade window the
    jitter variant's boxes strayed 4.3 px from the exact motion's: README, camera-motion compensation.)"""
    seq, inputs, cfg = tud_moving
    estimate = tool.track_variant(seq, inputs, cfg, "estimate")
    assert len(estimate.residuals) == len(inputs.frames) - 1
    assert estimate.residuals.max() < 0.5 and estimate.failures == 0
    exact = tool.track_variant(seq, inputs, cfg, "exact")
    assert exact.residuals.tolist() == estimate.residuals.tolist()  # the estimate runs in both, on the same frames
    ours, truth = _rows(estimate.lines), _rows(exact.lines)
    assert ours.shape == truth.shape and (ours[:, :2] == truth[:, :2]).all(), "the same IDs on the same frames"
    assert np.abs(ours[:, 2:6] - truth[:, 2:6]).max() < 1.0, "boxes within a pixel"
    none = _rows(tool.track_variant(seq, inputs, cfg, "none").lines)
    assert none.shape != truth.shape or (none[:, :2] != truth[:, :2]).any()


def test_the_mode_without_compensation_says_nothing_of_the_estimate_it_does_not_use(tud_moving, caplog):
    """The "none" mode tracked with the estimate's config and no motion, so every run of the tool logged
    "no camera motion is applied; pass camera_motion=tracker.camera_motion.estimate(...)" once, among the rows of
    runs that do apply it. Compensation off is now a tracker without an estimator: no warning, and the same tracks
    as the estimate's config fed no motion."""
    seq, inputs, cfg = tud_moving
    with caplog.at_level("WARNING", logger="tracker"):
        none = tool.track_variant(seq, inputs, cfg, "none")
    assert "no camera motion is applied" not in caplog.text
    assert none.failures == 0 and len(none.residuals) == 0
    assert none.lines == tool.track_variant(seq, inputs, cfg.replace(["motion.camera_compensation=none"]), "none").lines


def _rows(lines: list[str]) -> np.ndarray:
    """MOT result lines -> (R, 6) frame, ID, left, top, width, height."""
    return np.array([[float(v) for v in line.split(",")[:6]] for line in lines])
