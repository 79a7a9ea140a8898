"""Bringing your own ReID to `update_detections`: what is refused (one error naming the argument), and what is
warned about (embeddings that carry no identity)."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch

from tracker import Tracker, load_config
from tracker.embedder import load_osnet
from tracker.testing import Walker, linear_path, reid_like_identities, render

FPS = 30
DIM = 16
BOXES = np.array([[10.0, 10, 60, 130], [200, 10, 250, 130]])
SCORES = np.array([0.9, 0.9])


def tracker(*overrides: str) -> Tracker:
    return Tracker(load_config(None, overrides=["device=cpu", "appearance.lazy_embedding=false", *overrides]), FPS)


def test_an_embed_that_is_not_callable_is_refused_naming_embed_and_pointing_to_embeddings():
    """Passing this frame's array as `embed=` (instead of `embeddings=`) was a bare "'numpy.ndarray' object is not
    callable" from deep inside the core."""
    t = tracker()
    with pytest.raises(TypeError, match=r"embed must be a callable .* got ndarray; .* pass embeddings="):
        t.update_detections(BOXES, SCORES, embed=np.ones((2, DIM)))
    assert t.core.frame_index == 0 and not t.core.tracks, "the refused frame changed nothing"


def test_a_frame_size_given_in_embeds_place_is_named_as_embed_not_as_both_given():
    """`update_detections(boxes, scores, None, embeddings, (h, w))`: the frame size, fifth, lands in `embed`, and the
    error said "give either embeddings or embed, not both", naming neither the tuple nor where it went. Now the
    TypeError of an `embed` that is not callable, pointing to `frame_size=`."""
    t = tracker()
    with pytest.raises(TypeError, match=r"embed must be a callable .* got tuple; .* frame_size=\(height, width\)"):
        t.update_detections(BOXES, SCORES, None, np.eye(2, DIM), (480, 640))
    assert t.core.frame_index == 0 and not t.core.tracks, "the refused frame changed nothing"
    with pytest.raises(ValueError, match="give either embeddings or embed, not both"):
        t.update_detections(BOXES, SCORES, embeddings=np.eye(2, DIM), embed=lambda rows: np.eye(2, DIM)[rows])


def test_an_embed_of_another_d_is_named_as_the_callbacks_result():
    t = tracker()
    t.update_detections(BOXES, SCORES, embeddings=np.eye(2, DIM))
    before = t.core.frame_index
    with pytest.raises(
        ValueError, match=r"what the embed callback returned has D = 8, the tracker's banks hold D = 16"
    ):
        t.update_detections(BOXES, SCORES, embed=lambda rows: np.ones((len(rows), 8)))
    assert t.core.frame_index == before
    t.update_detections(BOXES, SCORES, embed=lambda rows: np.eye(2, DIM)[rows])  # the frame given again
    assert t.core.frame_index == before + 1


def test_an_embed_that_returns_nothing_is_named_as_such():
    """A callback missing its `return` said "... must have shape (N, D) with N = 2 rows, got ()" (numpy reads None
    as a NaN of no shape)."""
    t = tracker()
    with pytest.raises(ValueError, match=r"^what the embed callback returned is None; expected an \(N, D\) array"):
        t.update_detections(BOXES, SCORES, embed=lambda rows: None)
    assert t.core.frame_index == 0


@pytest.mark.parametrize("kind", ["numpy", "torch"])
@pytest.mark.parametrize("how", ["embeddings", "embed"])
def test_complex_embeddings_are_refused_not_cut_to_their_real_parts(kind, how):
    values = np.eye(2, DIM) * (1 + 1j)
    given = values.astype(np.complex64) if kind == "numpy" else torch.from_numpy(values.astype(np.complex64))
    name = "embeddings" if how == "embeddings" else "what the embed callback returned"
    kwargs = {"embeddings": given} if how == "embeddings" else {"embed": lambda rows: given[rows]}
    t = tracker()
    with pytest.raises(ValueError, match=f"{name} must be real numbers"):
        t.update_detections(BOXES, SCORES, **kwargs)
    assert t.core.frame_index == 0


def test_embeddings_of_no_numbers_are_refused_but_an_empty_frame_takes_any_empty_array():
    """(N, 0) looks (a slicing slip) were taken as "zero embeddings" and the frame matched by motion, with a warning
    about NaN or zero embeddings."""
    t = tracker()
    with pytest.raises(ValueError, match=r"embeddings must have shape \(N, D\) with D >= 1, got \(2, 0\)"):
        t.update_detections(BOXES, SCORES, embeddings=np.zeros((2, 0)))
    t.update_detections(np.zeros((0, 4)), np.zeros(0), embeddings=np.empty(0))
    t.update_detections(BOXES, SCORES, embeddings=np.eye(2, DIM))
    assert t.core.bank.dim == DIM


def _crossing(embeddings_of, frames: int = 60) -> Tracker:
    """Three people walking apart, the middle one hidden for frames 40-49 (a lost track to judge by appearance);
    `embeddings_of(identities (N,), their looks (N, D)) -> (N, D)` gives what the tracker is fed."""
    walkers = [
        Walker(
            i,
            linear_path(100.0 + 200 * i, 200.0, vx=1.0),
            size=(40, 100),
            visible=lambda f, i=i: i != 1 or not 40 <= f < 50,
        )
        for i in range(3)
    ]
    identities = reid_like_identities(3, DIM, different=0.45)
    t = Tracker(load_config(None, overrides=["device=cpu", "appearance.calibration_min_samples=20"]), FPS)
    rng = np.random.default_rng(0)
    for f in range(frames):
        det = render(walkers, f, identities, 0.03, rng)
        t.update_detections(det.boxes_xyxy, det.scores, embeddings=embeddings_of(det.identities, det.embeddings))
    return t


def test_one_constant_embedding_for_everyone_is_warned_about_once(caplog):
    """A ReID that gives every detection the same vector calibrates bounds above any cosine: appearance then refuses
    every pair, silently (TUD-Campus: IDF1 46.4 against 56.0 with no embeddings at all)."""
    with caplog.at_level(logging.WARNING, logger="tracker.calibration"):
        t = _crossing(lambda ids, emb: np.ones_like(emb))
    warned = [r for r in caplog.records if "appearance matches nothing" in r.getMessage()]
    assert t.core.calibration.calibrated and t.core.calibration.bound("match") > 1.0
    assert len(warned) == 1, "once per video, not once per frame"
    assert "the same for every detection" in warned[0].getMessage()


def test_real_looks_calibrate_without_the_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="tracker.calibration"):
        t = _crossing(lambda ids, emb: emb)
    assert t.core.calibration.calibrated and t.core.calibration.bound("match") < 1.0
    assert not [r for r in caplog.records if "appearance matches nothing" in r.getMessage()]


def test_an_exported_reid_network_is_refused_with_the_way_to_use_it(tmp_path):
    onnx = tmp_path / "my_reid.onnx"
    onnx.write_bytes(b"not a state dict")
    cfg = load_config(None, overrides=[f"reid.weights={onnx}"]).reid
    with pytest.raises(ValueError, match=r"exported \.onnx network.*update_detections \(embed=\.\.\.\)"):
        load_osnet(cfg, torch.device("cpu"))


def test_an_exported_reid_network_is_refused_before_the_detector_loads(tmp_path, monkeypatch):
    """Offline with ultralytics' default detector name, the download failure used to hide the ReID file's error."""
    import tracker.detector

    onnx = tmp_path / "my_reid.onnx"
    onnx.write_bytes(b"not a state dict")

    def no_detector(*args, **kwargs):
        raise AssertionError("the detector was built before the ReID file was checked")

    monkeypatch.setattr(tracker.detector, "build_detector", no_detector)
    cfg = load_config(None, overrides=["device=cpu", "detector.model=yolo11n.pt", f"reid.weights={onnx}"])
    with pytest.raises(ValueError, match=r"exported \.onnx network.*update_detections \(embed=\.\.\.\)"):
        Tracker.from_config(cfg)
