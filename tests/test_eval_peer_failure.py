"""`track compare` where a peer raises on one sequence: the other trackers and sequences are kept, the table leaves
that peer out and says so (also with --quiet), and a re-run tries it again."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from tracker.eval.cli import compare_main
from tracker.eval.peers import PeerTracker
from tracker.eval.runner import OURS

SEQINFO = "[Sequence]\nname={name}\nframeRate=10\nseqLength={length}\nimWidth=640\nimHeight=480\n"
LENGTH = 8
CRASH_FRAME = 5


def _sequence(root: Path, name: str) -> Path:
    seq = root / name
    (seq / "gt").mkdir(parents=True)
    (seq / "det").mkdir()
    (seq / "seqinfo.ini").write_text(SEQINFO.format(name=name, length=LENGTH))
    rows = [[f, i, 100 + 300 * (i - 1) + 2 * f, 100, 50, 120] for f in range(1, LENGTH + 1) for i in (1, 2)]
    np.savetxt(seq / "gt" / "gt.txt", [[*r, 1, -1, -1, -1] for r in rows], delimiter=",", fmt="%g")
    np.savetxt(seq / "det" / "det.txt", [[r[0], -1, *r[2:], 0.9] for r in rows], delimiter=",", fmt="%g")
    return seq


def test_a_peer_failing_on_one_sequence_is_left_out_and_named_and_the_rest_is_kept(tmp_path, capsys, monkeypatch):
    data = tmp_path / "data"
    for name in ("A", "B"):
        _sequence(data, name)
    update = PeerTracker.update
    frames = {"seen": 0}

    def crashing(self, boxes, *args, **kwargs):  # ByteTrack raises at frame 5 of its second sequence (B)
        if self.name == "ByteTrack":
            frames["seen"] += 1
            if frames["seen"] == LENGTH + CRASH_FRAME:
                raise IndexError("index 3 is out of bounds")
        return update(self, boxes, *args, **kwargs)

    monkeypatch.setattr(PeerTracker, "update", crashing)
    out = tmp_path / "out"
    argv = ["--data", str(data), "--detections", "public", "--workers", "1", "--out", str(out), "--quiet",
            "--cache-dir", str(tmp_path / "cache"), "--peers", "ByteTrack", "OC-SORT"]  # fmt: skip
    assert compare_main(argv) == 0  # it used to end in the peer's traceback, with no table at all
    err = capsys.readouterr().err
    assert "ByteTrack on B (frame 5: IndexError: index 3 is out of bounds)" in err, err
    summary = json.loads((out / "summary.json").read_text())
    assert list(summary["trackers"]) == [OURS, "OC-SORT"]
    assert summary["peer_failures"] == {"ByteTrack": {"B": "frame 5: IndexError: index 3 is out of bounds"}}
    assert (out / "ByteTrack" / "A.txt").is_file() and not (out / "ByteTrack" / "B.txt").exists()

    monkeypatch.setattr(PeerTracker, "update", update)  # fixed: the re-run runs B again and keeps A
    assert compare_main(argv) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert list(summary["trackers"]) == [OURS, "ByteTrack", "OC-SORT"] and summary["peer_failures"] == {}
    assert summary["resumed"] == 5, "ours A, B; OC-SORT A, B; ByteTrack A"


def test_a_failing_peer_is_one_line_on_stderr_not_also_a_bare_log_warning(tmp_path, capsys, caplog, monkeypatch):
    """`track compare` configures no logging, so Python printed the runner's WARNING record bare on stderr ("OC-SORT
    / MOT17-02-FRCNN: the peer failed at frame 50: ...") before the CLI's own line: two lines for one failure where
    the README says one. The runner logs it at INFO now; the CLI's line is the one said."""
    import logging

    _sequence(tmp_path / "data", "A")

    def crashing(self, *args, **kwargs):
        raise ValueError("broken install")

    monkeypatch.setattr(PeerTracker, "update", crashing)
    caplog.set_level(logging.WARNING)
    argv = ["--data", str(tmp_path / "data"), "--workers", "1", "--out", str(tmp_path / "out"), "--quiet",
            "--cache-dir", str(tmp_path / "cache"), "--peers", "ByteTrack"]  # fmt: skip
    assert compare_main(argv) == 0
    assert [r.getMessage() for r in caplog.records if r.name.startswith("tracker")] == []
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "ByteTrack on A (frame 1: ValueError: broken install)" in err[0], err


def test_a_peer_failing_on_every_sequence_leaves_the_table_of_the_others(tmp_path, capsys, monkeypatch):
    data = tmp_path / "data"
    for name in ("A", "B"):
        _sequence(data, name)

    def crashing(self, *args, **kwargs):  # ByteTrack raises at its first frame of each sequence
        raise ValueError("broken install")

    monkeypatch.setattr(PeerTracker, "update", crashing)
    out = tmp_path / "out"
    argv = ["--data", str(data), "--detections", "public", "--workers", "1", "--out", str(out), "--quiet",
            "--cache-dir", str(tmp_path / "cache"), "--peers", "ByteTrack"]  # fmt: skip
    assert compare_main(argv) == 0
    err = capsys.readouterr().err
    assert "ByteTrack on A (frame 1: ValueError: broken install); ByteTrack on B" in err, err
    summary = json.loads((out / "summary.json").read_text())
    assert list(summary["trackers"]) == [OURS]
    assert summary["peer_failures"] == {"ByteTrack": {s: "frame 1: ValueError: broken install" for s in "AB"}}
    assert not (out / "ByteTrack" / "A.txt").exists() and not (out / "ByteTrack" / "B.txt").exists()


def test_a_peer_failing_where_an_earlier_run_succeeded_leaves_no_result_of_that_run(tmp_path, monkeypatch):
    """B's det.txt changed since a run where ByteTrack finished it; ByteTrack now fails on B: the folder held the
    earlier run's ByteTrack/B.txt (of the old detections) beside a summary saying B failed."""
    data = tmp_path / "data"
    for name in ("A", "B"):
        _sequence(data, name)
    out = tmp_path / "out"
    argv = ["--data", str(data), "--detections", "public", "--workers", "1", "--out", str(out), "--quiet",
            "--cache-dir", str(tmp_path / "cache"), "--peers", "ByteTrack"]  # fmt: skip
    assert compare_main(argv) == 0 and (out / "ByteTrack" / "B.txt").is_file()
    det = data / "B" / "det" / "det.txt"
    det.write_text(det.read_text().replace(",0.9", ",0.8", 1))  # new detections for B: B is tracked again
    update = PeerTracker.update

    def crashing(self, *args, **kwargs):
        if self.name == "ByteTrack" and np.isclose(args[1], 0.8).any():  # B's first frame
            raise IndexError("index 3 is out of bounds")
        return update(self, *args, **kwargs)

    monkeypatch.setattr(PeerTracker, "update", crashing)
    assert compare_main(argv) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["peer_failures"] == {"ByteTrack": {"B": "frame 1: IndexError: index 3 is out of bounds"}}
    assert (out / "ByteTrack" / "A.txt").is_file()
    assert not (out / "ByteTrack" / "B.txt").exists() and not (out / "ByteTrack" / "B.json").exists()


def test_an_unreadable_image_of_the_sequence_is_one_error_naming_it_not_a_peer_failure(tmp_path, capsys):
    """A damaged img1/000005.jpg, read only for BoT-SORT+GMC's GMC (ours motion only, no compensation): it was
    reported as BoT-SORT+GMC's failure (`peer_failures`, exit 0). It is the sequence's input error: one error line
    naming the file, as `track eval` gives where ours reads it (its camera-motion compensation), exit status 2."""
    import cv2

    from tracker.eval.cli import eval_main

    data = tmp_path / "data"
    seq = _sequence(data, "A")
    (seq / "img1").mkdir()
    for f in range(1, LENGTH + 1):
        cv2.imwrite(str(seq / "img1" / f"{f:06d}.jpg"), np.full((480, 640, 3), 20 * f, np.uint8))
    damaged = seq / "img1" / f"{CRASH_FRAME:06d}.jpg"
    damaged.write_bytes(b"not a jpeg")
    argv = ["--data", str(data), "--workers", "1", "--quiet", "--cache-dir", str(tmp_path / "cache"),
            "--set", "appearance.enabled=false"]  # fmt: skip
    assert compare_main([*argv, "--out", str(tmp_path / "out"), "--peers", "BoT-SORT+GMC"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == f"track compare: error: cannot read {damaged}", err
    assert not (tmp_path / "out" / "summary.json").exists()
    assert eval_main([*argv, "--out", str(tmp_path / "eval"), "--set", "motion.camera_compensation=auto"]) == 2
    assert capsys.readouterr().err.strip() == f"track eval: error: cannot read {damaged}"
