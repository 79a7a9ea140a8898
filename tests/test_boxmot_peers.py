"""BoxMOT peers run on our detections and embeddings, offline, and say clearly what they lack."""

from __future__ import annotations

import socket

import numpy as np
import pytest
from test_eval import _two_people, write_sequence

from tracker import TrackerConfig
from tracker.eval.boxmot_peers import BOXMOT_PEERS, BoxmotPeer
from tracker.eval.runner import run_all
from tracker.eval.sequences import find_sequences
from tracker.io.mot import read_mot_rows

pytest.importorskip("boxmot", reason="BoxMOT is the optional [peers] extra")


@pytest.fixture
def offline(monkeypatch):
    """Any attempt to open a connection fails the test (BoxMOT must not download a ReID model)."""

    def refuse(*_args, **_kwargs):
        raise AssertionError("BoxMOT tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)


@pytest.mark.parametrize("name", ["BoxMOT-StrongSORT", "BoxMOT-BoT-SORT", "BoxMOT-ByteTrack"])
def test_two_walkers_keep_two_ids_offline(name, offline):
    rng = np.random.default_rng(0)
    looks = rng.normal(size=(2, 512))
    peer = BoxmotPeer.create(name, 30.0)
    image = np.zeros((480, 640, 3), dtype=np.uint8)
    ids = set()
    for f in range(40):
        boxes = np.array([[100 + 2 * f, 100, 160 + 2 * f, 260], [500 - 2 * f, 120, 560 - 2 * f, 280]], dtype=float)
        emb = looks + rng.normal(scale=0.05, size=looks.shape)
        emb /= np.linalg.norm(emb, axis=1, keepdims=True)
        rows = peer.update(boxes, np.array([0.9, 0.9]), np.zeros(2), emb, image)
        assert rows.shape[1] == 6
        if f >= 10:
            ids.update(rows[:, 0].astype(int).tolist())
    assert len(ids) == 2


def test_missing_embeddings_or_image_is_a_clear_error():
    peer = BoxmotPeer.create("BoxMOT-StrongSORT", 30.0)
    with pytest.raises(ValueError, match="needs embeddings"):
        peer.update(np.array([[0.0, 0, 10, 20]]), np.array([0.9]), np.zeros(1), None, np.zeros((48, 64, 3), np.uint8))
    assert not BOXMOT_PEERS["BoxMOT-OC-SORT"].uses_images and BOXMOT_PEERS["BoxMOT-StrongSORT"].requires_embeddings


def test_making_a_peer_prints_nothing(capfd):
    """`track compare` prints its table, not BoxMOT's INFO line of settings for every tracker of every sequence;
    BoxMOT's logger is left as it was."""
    import logging

    filters = list(logging.getLogger("boxmot").filters)
    for name in BOXMOT_PEERS:
        BoxmotPeer.create(name, 30.0)
    out, err = capfd.readouterr()
    assert "det_thresh" not in out + err and "max_age" not in out + err, err
    assert logging.getLogger("boxmot").filters == filters


def test_the_tuned_bytetrack_row_gets_the_sequence_frame_rate_and_threshold():
    """`BoxMOT-ByteTrack-fps-t0.5` keeps a lost track for 30 frames at 30 fps scaled to the sequence's rate (7 at
    PETS09-S3-MF1's 7 fps) and starts tracks from 0.5; the package-default row keeps 30 frames at any rate."""
    tuned = BoxmotPeer.create("BoxMOT-ByteTrack-fps-t0.5", 7.0)
    default = BoxmotPeer.create("BoxMOT-ByteTrack", 7.0)
    assert tuned._tracker.max_time_lost == 7 and default._tracker.max_time_lost == 30
    box = np.array([[100.0, 100, 160, 260]])
    rows = [peer.update(box, np.array([0.55]), np.zeros(1), None, None) for peer in (tuned, default)]
    assert len(rows[0]) == 1 and len(rows[1]) == 0  # a 0.55 box starts a track at 0.5, not at BoxMOT's 0.6


def test_the_peer_result_file_numbers_tracks_from_one(tmp_path):
    """BoxMOT numbers its tracks from 0, and its peers' MOT files held track ID 0, which MOTChallenge files never
    use (its devkit and some viewers take 0 as no track); the file's IDs now start at 1, one per track as before."""
    seq = write_sequence(tmp_path / "data", "A", _two_people(10, 10), 10)
    np.savetxt(seq / "det" / "det.txt", np.array(_two_people(10, 7)), delimiter=",", fmt="%g")
    sequences, out = find_sequences(seq), tmp_path / "out"
    (result,) = run_all(["BoxMOT-ByteTrack"], TrackerConfig(), sequences, "public", out, None, use_cache=False)
    ids = np.unique(read_mot_rows(result.path)[:, 1]).astype(int).tolist()
    assert ids == [1, 2], ids
