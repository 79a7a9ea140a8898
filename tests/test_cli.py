"""The `track` command: outputs, source kinds, user errors, interruption, the README's config reference.

Most tests replace the models with a fake detector that finds bright blobs (content-based and deterministic,
so two sources give the same tracks exactly when they give the same pixels); the tests marked with shared
weights run the real OpenVINO detector and OSNet.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shlex
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import TextIO

import cv2
import numpy as np
import pytest
import torch
import yaml
from media import set_display_rotation, undecodable_path, write_video

import tracker.io.sources as sources
import tracker.run as run
import tracker.run_config as run_config
import tracker.run_outputs as run_outputs
import tracker.run_summary as run_summary
from tracker.cli import main
from tracker.config import TrackerConfig, config_to_dict, load_config
from tracker.io.mot import read_mot_rows
from tracker.pipeline import Tracker
from tracker.weights import OSNET_ZOO_URL

ROOT = Path(__file__).resolve().parents[1]
SIZE = (320, 240)  # width, height of the synthetic scene
FRAMES = 30
BLOB = (30, 60)  # width, height of each walker
THRESHOLD = 128  # the fake detector's brightness threshold
MIN_AREA = 200  # ... and smallest blob it reports
PEOPLE_BY_FRAME = 90  # one-by-one-person-detection.mp4: someone is tracked by this frame


WALK_OUTPUTS = ["config.yaml", "summary.json", "walk.jsonl", "walk.mp4", "walk.txt"]  # a run's folder, of walk.avi


def blob_detector(frame: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boxes of the bright blobs of a BGR frame, score 0.9, class 0."""
    mask = (frame.max(axis=2) > THRESHOLD).astype(np.uint8)
    count, _, stats, _ = cv2.connectedComponentsWithStats(mask)
    rows = [s for s in stats[1:count] if s[cv2.CC_STAT_AREA] >= MIN_AREA]
    boxes = np.array([[x, y, x + w, y + h] for x, y, w, h, _ in rows], dtype=np.float64).reshape(-1, 4)
    return boxes, np.full(len(boxes), 0.9), np.zeros(len(boxes), dtype=np.int64)


def scene(frames: int = FRAMES) -> list[np.ndarray]:
    """Two walkers crossing a dark room."""
    out = []
    for f in range(frames):
        image = np.full((SIZE[1], SIZE[0], 3), 30, np.uint8)
        for k, (x0, y0, speed) in enumerate(((20, 40, 6), (260, 140, -5))):
            x = x0 + speed * f
            colour = (240, 200, 60) if k == 0 else (60, 220, 240)
            cv2.rectangle(image, (x, y0), (x + BLOB[0], y0 + BLOB[1]), colour, -1)
        out.append(image)
    return out


def colour_embedder(image: torch.Tensor, boxes: np.ndarray) -> torch.Tensor:
    """(R, 3) mean BGR colour of each box of an (H, W, 3) uint8 frame: a stand-in ReID that tells the walkers apart."""
    crops = [image[int(y0) : int(y1), int(x0) : int(x1)].reshape(-1, 3).float().mean(dim=0) for x0, y0, x1, y1 in boxes]
    return torch.stack(crops) if crops else torch.zeros((0, 3))


def use_fake_models(monkeypatch, embedder=None) -> list[TrackerConfig]:
    """`track` builds a Tracker around the blob detector (no model files) and `embedder` as its ReID. Returns the
    list of the configs it is built with, one a run, in order."""
    configs: list[TrackerConfig] = []

    def from_config(cfg, frame_rate=None, gallery=None):
        configs.append(cfg)
        return Tracker(cfg, frame_rate, detector=blob_detector, embedder=embedder)

    monkeypatch.setattr(run.Tracker, "from_config", staticmethod(from_config))
    return configs


@pytest.fixture
def fake_models(monkeypatch):
    """The blob detector, no ReID."""
    use_fake_models(monkeypatch)


@pytest.fixture
def fake_models_with_reid(monkeypatch):
    """The blob detector and the mean-colour ReID."""
    use_fake_models(monkeypatch, colour_embedder)


def weights_args(weights: Path) -> list[str]:
    return ["--set", f"detector.model={weights / 'yolov8n_int8_openvino_model'}",
            "--set", f"reid.weights={weights / 'osnet_x0_25_msmt17.pth'}", "--set", "device=cpu"]  # fmt: skip


def child_env() -> dict[str, str]:
    return os.environ | {"PYTHONPATH": str(ROOT), "OMP_WAIT_POLICY": "PASSIVE"}


def video_info(path: Path) -> tuple[int, tuple[int, int], bool]:
    cap = cv2.VideoCapture(str(path))
    count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    size = (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    decoded = 0
    while cap.read()[0]:
        decoded += 1
    cap.release()
    return count, size, decoded == count


def one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("track: error:"), err
    assert "Traceback" not in err
    return lines[0]


def stub_video(tmp_path: Path) -> str:
    """A one-byte `a.mp4` in `tmp_path`: a source `track` takes on its command line (a usage error comes before
    anything reads it; a run stopped at `run_track` reads nothing)."""
    video = tmp_path / "a.mp4"
    video.write_bytes(b"\0")
    return str(video)


def usage_error(monkeypatch, capsys, argv: list[str], why: str = "ran despite the usage error") -> str:
    """`main(argv)`'s stderr, checking it exits with status 2 before anything runs (`run.run_track` and
    `batch.track_many` fail the test with `why`)."""
    monkeypatch.setattr(run, "run_track", lambda *a, **k: pytest.fail(why))
    monkeypatch.setattr("tracker.batch.track_many", lambda *a, **k: pytest.fail(why))
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    return capsys.readouterr().err


def run_options(monkeypatch, argv: list[str]) -> run.TrackOptions:
    """The options `main(argv)` calls `run.run_track` with (the run is stopped there: nothing is tracked)."""
    seen = {}
    monkeypatch.setattr(run, "run_track", lambda options, **_: seen.setdefault("options", options) and 1 / 0)
    with pytest.raises(ZeroDivisionError):
        main(argv)
    return seen["options"]


def test_image_files_given_as_several_sources_are_refused_with_the_quoted_glob(tmp_path, monkeypatch, capfd):
    """`track frames/*.jpg` without quotes: the shell gave each image as a source of its own, so each was tracked as
    a one-frame video (IDs from 1 in each, nothing tracked across them) and the run wrote a txt, a JSONL and a
    summary per image. One error now, before any model loads, saying to quote the glob or give the folder; one image
    alone, or images beside a video, are tracked as before."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "frames").mkdir()
    for i in range(3):
        cv2.imwrite(str(tmp_path / "frames" / f"{i}.jpg"), np.zeros((8, 8, 3), np.uint8))
    capfd.readouterr()
    assert main(["frames/0.jpg", "frames/1.jpg", "frames/2.jpg", "--out", "out"]) == 2
    err = one_error_line(capfd.readouterr().err)
    assert "3 image files given as 3 sources" in err and 'track "frames/*.jpg"' in err and "track frames" in err, err
    assert not (tmp_path / "out").exists()
    assert main(["batch", "frames/0.jpg", "frames/1.jpg", "--out", "out"]) == 2  # (a one-frame task per image)
    err = capfd.readouterr().err
    assert err.startswith("track batch: error: 2 image files given as 2 sources") and 'track "frames/*.jpg"' in err
    assert not (tmp_path / "out").exists()
    video = write_video(tmp_path / "walk.avi", scene(2))
    sources.check_not_split_images(["frames/0.jpg"])  # (one image: one frame)
    sources.check_not_split_images(["frames/0.jpg", str(video)])
    sources.check_not_split_images(["frames", "frames/*.jpg"])
    pages = [np.zeros((8, 8, 3), np.uint8)] * 2
    assert cv2.imwritemulti(str(tmp_path / "a.tif"), pages) and cv2.imwritemulti(str(tmp_path / "b.tif"), pages)
    sources.check_not_split_images(["a.tif", "b.tif"])  # (files of several images: each read as a video)


def test_outputs_summary_and_numbered_run_folders(fake_models_with_reid, tmp_path, monkeypatch, capsys):
    video = write_video(tmp_path / "walk.avi", scene())
    monkeypatch.chdir(tmp_path)
    assert main([str(video), "--quiet"]) == 0
    assert main([str(video)]) == 0
    out = tmp_path / "runs" / "track" / "walk2"
    assert (tmp_path / "runs" / "track" / "walk" / "walk.txt").is_file() and out.is_dir(), "never overwritten"
    count, size, playable = video_info(out / "walk.mp4")
    assert (count, size, playable) == (FRAMES, SIZE, True)
    rows = read_mot_rows(out / "walk.txt")
    assert rows.shape[1] == 10 and set(np.unique(rows[:, 1])) == {1, 2}
    assert rows[:, 0].min() == 1 and rows[:, 0].max() == FRAMES and (rows[:, 7:] == -1).all()
    lines = (out / "walk.jsonl").read_text().splitlines()
    assert len(lines) == FRAMES and '"frame": 1,' in lines[0]
    summary = capsys.readouterr().out
    assert f"tracked {FRAMES} frames" in summary and "2 tracks" in summary and "runs/track/walk2/walk.mp4" in summary
    assert "appearance bounds" in summary, "the calibrated (or fixed) appearance bounds are reported"
    saved = json.loads((out / "summary.json").read_text())
    assert saved["frames"] == FRAMES and saved["tracks"] == 2
    assert saved["calibration"]["mode"] == "online"
    assert set(saved["calibration"]["bounds"]) == {"match", "reid", "gallery"}
    assert "birth_shapes" not in saved, "two walkers are too few people to learn a birth shape range from"
    assert "invalid_embeddings" not in saved and "matched by motion only" not in summary, "every look was usable"


def test_nan_embeddings_are_counted_in_the_summary(monkeypatch, tmp_path, capsys, caplog):
    """A ReID that returns NaN for one walker's crops: one warning for the video (not one a frame), and the count of
    such rows in the printed summary and summary.json."""

    def nan_for_the_blue_walker(image: torch.Tensor, boxes: np.ndarray) -> torch.Tensor:
        looks = colour_embedder(image, boxes)
        looks[looks[:, 0] < THRESHOLD] = np.nan  # (BGR: the second walker's blue is 60)
        return looks

    use_fake_models(monkeypatch, nan_for_the_blue_walker)
    out = tmp_path / "out"
    with caplog.at_level(logging.DEBUG, logger="tracker.types"):
        assert main([str(write_video(tmp_path / "walk.avi", scene())), "--out", str(out), "--no-save-video"]) == 0
    faults = [r.levelno for r in caplog.records if "NaN, infinite or zero" in r.getMessage()]
    saved = json.loads((out / "summary.json").read_text())
    assert faults.count(logging.WARNING) == 1 and saved["invalid_embeddings"] == len(faults) > 1, (faults, saved)
    said = capsys.readouterr().out
    assert f"NaN, infinite or zero embeddings: {len(faults)} rows, matched by motion only" in said, said


def test_the_summary_counts_the_camera_motion_fits_auto_held_back(fake_models, tmp_path):
    """A still camera under `auto`: every fit is held back (no motion to tell from the fit's noise); summary.json's
    `camera_motion` says so beside the frames estimated and failed."""
    rng = np.random.default_rng(0)
    still = cv2.GaussianBlur(rng.uniform(0, THRESHOLD - 10, (SIZE[1], SIZE[0])).astype(np.uint8), (0, 0), 2)
    folder = tmp_path / "still"
    folder.mkdir()
    for i in range(1, 6):
        cv2.imwrite(str(folder / f"{i:06d}.png"), cv2.cvtColor(still, cv2.COLOR_GRAY2BGR))
    out = tmp_path / "out"
    argv = [str(folder), "--out", str(out), "--no-save-video", "--quiet", "--set", "motion.camera_compensation=auto"]
    assert main(argv) == 0
    saved = json.loads((out / "summary.json").read_text())
    assert saved["camera_motion"] == {"estimates": 4, "failures": 0, "held": 4}, saved


def test_without_reid_no_appearance_bounds_are_reported(fake_models, tmp_path, capsys):
    video = write_video(tmp_path / "walk.avi", scene())
    assert main([str(video), "--out", str(tmp_path / "out")]) == 0
    assert "appearance bounds" not in capsys.readouterr().out
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["calibration"] == {}


def test_several_sources_report_the_bounds_of_each(fake_models_with_reid, tmp_path, capsys):
    first = write_video(tmp_path / "first.avi", scene())
    second = write_video(tmp_path / "second.avi", scene(12))
    assert main([str(first), str(second), "--out", str(tmp_path / "out")]) == 0
    printed = capsys.readouterr()
    lines = [x for x in printed.out.splitlines() if "appearance bounds" in x]
    assert len(lines) == 2 and "of first" in lines[0] and "of second" in lines[1], lines
    # each source's progress bar says whose it is (two bars of frames, no names, before)
    bars = printed.err.replace("\r", "\n").splitlines()
    assert any(b.startswith("first: 100%") for b in bars) and any(b.startswith("second: 100%") for b in bars)


def test_several_sources_count_the_tracks_of_each(fake_models_with_reid, tmp_path, capsys):
    """Without a gallery every source numbers its tracks from 1: two sources of two walkers each are 4 tracks,
    not the 2 IDs they share."""
    first = write_video(tmp_path / "first.avi", scene())
    second = write_video(tmp_path / "second.avi", scene())
    assert main([str(first), str(second), "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "4 tracks" in out, out
    saved = [json.loads((tmp_path / "out" / f"{n}.summary.json").read_text()) for n in ("first", "second")]
    assert [s["tracks"] for s in saved] == [2, 2]


def test_one_source_given_twice_is_refused_before_any_work(tmp_path, monkeypatch, capsys):
    """`track walk.avi ./walk.avi` (or its absolute path, a link to it) tracked one file twice, into walk.txt and
    walk_2.txt, without a word. One error naming the source at each position, before anything is written."""
    configs = use_fake_models(monkeypatch)
    monkeypatch.chdir(tmp_path)
    write_video(tmp_path / "walk.avi", scene(5))
    (tmp_path / "link.avi").symlink_to("walk.avi")
    out = tmp_path / "out"
    assert main(["walk.avi", "./walk.avi", str(tmp_path / "link.avi"), "--out", str(out), "-q"]) == 2
    err = capsys.readouterr().err
    assert "track: error: sources 1 ('walk.avi'), 2 ('./walk.avi'), 3 (" in err and "given 3 times" in err, err
    assert not out.exists() and not configs, "nothing written, no tracker built"


def test_a_run_writes_the_config_it_tracked_with_and_that_file_tracks_alike(monkeypatch, tmp_path):
    """A run's folder held its outputs but not its config (a YAML file, --set overrides, the ReID fallback): it
    could not be reproduced or compared from its outputs. Now `config.yaml` holds every key of the config the
    tracker got, listed in summary.json's outputs, and `--config OUT/config.yaml` tracks with that same config."""
    configs = use_fake_models(monkeypatch)
    monkeypatch.setattr(run_config, "resolve_weights", lambda name: None)  # no OSNet weights: the fallback
    site = tmp_path / "site.yaml"
    site.write_text("appearance:\n  bank_capacity: 20\nmotion:\n  camera_exclude: [[0.0, 0.0, 0.5, 0.2]]\n")
    video = write_video(tmp_path / "walk.avi", scene(5))
    out = tmp_path / "run"
    argv = [str(video), "--out", str(out), "--quiet", "--config", str(site), "--set", "motion.std_position=0.04"]
    assert main(argv) == 0
    used = configs[-1]
    assert used.reid.model == "auto" and used.appearance.bank_capacity == 20 and used.motion.std_position == 0.04
    saved = out / run_outputs.CONFIG_NAME
    assert load_config(saved) == used
    assert yaml.safe_load(saved.read_text()) == config_to_dict(used), "every key, as the tracker got it"
    assert str(saved) in json.loads((out / "summary.json").read_text())["outputs"]
    assert main([str(video), "--out", str(tmp_path / "again"), "--quiet", "--config", str(saved)]) == 0
    assert configs[-1] == used
    assert (tmp_path / "again" / run_outputs.CONFIG_NAME).read_text() == saved.read_text()
    assert (tmp_path / "again" / "walk.txt").read_bytes() == (out / "walk.txt").read_bytes()


def test_several_sources_write_one_config_for_their_folder(monkeypatch, tmp_path, capsys):
    """Sources tracked in turn into one folder track with one config: one `config.yaml`, which each source's
    summary lists, and which the printed outputs name once."""
    configs = use_fake_models(monkeypatch)
    first = write_video(tmp_path / "first.avi", scene(5))
    second = write_video(tmp_path / "second.avi", scene(5))
    out = tmp_path / "out"
    assert main([str(first), str(second), "--out", str(out), "--set", "appearance.bank_capacity=20"]) == 0
    names = {f"{n}{ext}" for n in ("first", "second") for ext in (".txt", ".jsonl", ".mp4", ".summary.json")}
    assert {p.name for p in out.iterdir()} == names | {run_outputs.CONFIG_NAME}
    saved = out / run_outputs.CONFIG_NAME
    assert load_config(saved) == configs[0] and configs[0].appearance.bank_capacity == 20
    for n in ("first", "second"):
        assert str(saved) in json.loads((out / f"{n}.summary.json").read_text())["outputs"]
    printed = capsys.readouterr().out
    assert printed.count(str(saved)) == 1, printed


def test_several_sources_report_the_birth_range_of_each():
    """With several sources, each source's birth shape range is a line of its own (none is dropped)."""
    first = run_summary.RunSummary(name="first", frames=5, birth_shapes={0: [0.21, 0.63, 250]})
    second = run_summary.RunSummary(name="second", frames=5, birth_shapes={0: [0.3, 0.7, 40], 2: [1.1, 2.4, 30]})
    text = run_summary.combine([first, second]).describe()
    lines = [x for x in text.splitlines() if x.startswith("new tracks")]
    assert lines == [
        "new tracks of class 0 of first: width/height 0.21-0.63 (250 looks learnt)",
        "new tracks of class 0 of second: width/height 0.30-0.70 (40 looks learnt)",
        "new tracks of class 2 of second: width/height 1.10-2.40 (30 looks learnt)",
    ], text


def test_the_birth_range_names_the_class_as_the_detector_names_it():
    """The summary said "new tracks of class 0: ...": the class is named as the detector names it ("person"), by its
    number where the detector names none."""
    named = {0: "person", 1: "bicycle"}
    one = run_summary.RunSummary(birth_shapes={0: [0.21, 0.63, 250], 2: [1.1, 2.4, 30]}, class_names=named)
    assert "new tracks of class person: width/height 0.21-0.63 (250 looks learnt)" in one.describe()
    assert "new tracks of class 2: width/height 1.10-2.40 (30 looks learnt)" in one.describe()
    first = run_summary.RunSummary(name="first", frames=5, birth_shapes={0: [0.21, 0.63, 250]}, class_names=named)
    second = run_summary.RunSummary(name="second", frames=5, birth_shapes={0: [0.3, 0.7, 40]}, class_names=named)
    assert (
        "new tracks of class person of second: width/height 0.30-0.70"
        in run_summary.combine([first, second]).describe()
    )


def test_folder_glob_sequence_and_lossless_video_give_the_same_tracks(fake_models, tmp_path):
    frames = scene()
    seq = tmp_path / "SYNTH-01"
    (seq / "img1").mkdir(parents=True)
    for i, frame in enumerate(frames, start=1):
        cv2.imwrite(str(seq / "img1" / f"{i:06d}.png"), frame)
    (seq / "seqinfo.ini").write_text(
        f"[Sequence]\nname=SYNTH-01\nimDir=img1\nframeRate=25\nseqLength={FRAMES}\n"
        f"imWidth={SIZE[0]}\nimHeight={SIZE[1]}\nimExt=.png\n"
    )
    video = write_video(tmp_path / "synth.avi", frames, fps=25)
    results = {}
    for name, source in {"sequence": seq, "folder": seq / "img1", "glob": f"{seq}/img1/*.png", "video": video}.items():
        out = tmp_path / name
        assert main([str(source), "--out", str(out), "--quiet", "--no-save-video", "--set", "frame_rate=25"]) == 0
        results[name] = read_mot_rows(next(out.glob("*.txt")))
    assert len(results["sequence"]) > FRAMES
    for name in ("folder", "glob", "video"):
        np.testing.assert_array_equal(results[name], results["sequence"], err_msg=name)


def test_a_sequence_with_images_for_only_its_first_frames_says_so(fake_models, tmp_path, capsys):
    """seqinfo.ini announces 60 frames, img1 holds 20 (a partial download, MOT17 copies with their first frames):
    `track SEQ` tracked the 20 without a word, and "tracked 20 frames" of a 60-frame sequence read as a bug."""
    seq = tmp_path / "SYNTH-02"
    (seq / "img1").mkdir(parents=True)
    for i, frame in enumerate(scene()[:20], start=1):
        cv2.imwrite(str(seq / "img1" / f"{i:06d}.png"), frame)
    ini = "[Sequence]\nname=SYNTH-02\nimDir=img1\nframeRate=25\nseqLength={}\nimExt=.png\n"
    (seq / "seqinfo.ini").write_text(ini.format(60))
    assert main([str(seq), "--out", str(tmp_path / "out"), "--quiet", "--no-save-video"]) == 0
    err = capsys.readouterr().err
    assert "SYNTH-02: its seqinfo.ini announces 60 frames, its images stop after frame 20: tracking those" in err, err
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["frames"] == 20
    (seq / "seqinfo.ini").write_text(ini.format(20))
    assert main([str(seq), "--out", str(tmp_path / "whole"), "--quiet", "--no-save-video"]) == 0
    assert "seqinfo.ini announces" not in capsys.readouterr().err, "a whole sequence gets no note"


def test_a_folder_of_images_of_several_sizes_says_so_in_the_summary(fake_models, tmp_path, capsys):
    """Frames of another size are tracked in the old frame's pixels (the library warns once, but `track` shows no
    warnings without --verbose): the user saw only "an ID came back after occlusion N times"."""
    frames = scene()
    folder = tmp_path / "mixed"
    folder.mkdir()
    for i, frame in enumerate(frames, start=1):
        if i in (10, 11):  # two frames at half size: the size changes at 10 and back at 12
            frame = cv2.resize(frame, (SIZE[0] // 2, SIZE[1] // 2))
        cv2.imwrite(str(folder / f"{i:06d}.png"), frame)
    out = tmp_path / "out"
    assert main([str(folder), "--out", str(out), "--no-save-video"]) == 0
    captured = capsys.readouterr()
    said = captured.out
    assert "the frame size changed 2 times: tracks carried over in the old frame's pixels" in said, said
    # the library's warning, shown by `track`, told its user to "call reset() between videos", a Python method
    warned = [line for line in captured.err.splitlines() if "frame size changed mid-video" in line]
    assert len(warned) == 1 and "give each video as a source of its own" in warned[0], captured.err
    assert json.loads((out / "summary.json").read_text())["size_changes"] == 2
    plain = tmp_path / "plain"
    assert main([str(write_video(tmp_path / "walk.avi", frames)), "--out", str(plain), "--no-save-video"]) == 0
    assert "frame size changed" not in capsys.readouterr().out
    assert "size_changes" not in json.loads((plain / "summary.json").read_text())


@pytest.mark.parametrize("rate", [["--fps", "0.001"], ["--set", "frame_rate=0.001"]])
def test_a_time_lapse_at_the_least_frame_rate_gets_its_video(rate, fake_models, tmp_path, capfd):
    """0.001 frames/s is the least frame_rate (and --fps) takes, but OpenCV's mp4 writer cannot store it: an image
    folder tracked at it stopped after its first frame with "track: error: cannot write video .../lapse.mp4" (the
    rate unnamed; txt, JSONL and a summary of 1 frame left). The video is written at the least rate it stores."""
    folder = tmp_path / "lapse"
    folder.mkdir()
    frames = scene()[:5]
    for i, frame in enumerate(frames, start=1):
        cv2.imwrite(str(folder / f"{i:06d}.png"), frame)
    out = tmp_path / "out"
    assert main([str(folder), "--out", str(out), "--quiet", *rate]) == 0, capfd.readouterr().err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["error"] is None and summary["frames"] == len(frames) and summary["frame_rate"] == 0.001
    count, _, whole = video_info(out / "lapse.mp4")
    assert count == len(frames) and whole


def test_the_video_keeps_one_frame_per_source_frame_across_unreadable_ones(fake_models, tmp_path, capsys):
    """Unreadable frames are skipped in the txt (a gap in its frame numbers); the annotated video fills them (black
    before the first readable frame, else the frame before), so its frame n is the txt's frame n, not n + 1. The
    summary says which frames they were (it gave only their count)."""
    frames = scene(12)
    folder = tmp_path / "frames"
    folder.mkdir()
    for i, frame in enumerate(frames, start=1):
        cv2.imwrite(str(folder / f"{i:03d}.png"), frame)
    for bad in (1, 6, 13, 14):  # 13 and 14: unreadable images at the end (the video stopped at frame 12)
        (folder / f"{bad:03d}.png").write_bytes(b"not a png")
    out = tmp_path / "out"
    assert main([str(folder), "--out", str(out)]) == 0
    assert "4 unreadable frames skipped (frames 1, 6, 13, 14)" in capsys.readouterr().out  # where to look
    assert json.loads((out / "summary.json").read_text())["corrupt_frame_numbers"] == [1, 6, 13, 14]
    assert sorted({int(r[0]) for r in read_mot_rows(out / "frames.txt")}) == [2, 3, 4, 5, 7, 8, 9, 10, 11, 12]
    cap = cv2.VideoCapture(str(out / "frames.mp4"))
    video = []
    while (read := cap.read())[0]:
        video.append(read[1].astype(np.float64))
    assert len(video) == len(frames) + 2  # one video frame per source frame, the last two repeating frame 12
    assert mean_difference(video[13], video[11]) < 1
    assert video[0].mean() < 1  # frame 1: nothing readable yet
    assert mean_difference(video[5], video[4]) < mean_difference(video[6], video[5]) / 4  # frame 6 repeats frame 5
    for k in (1, 6, 10):  # frames 2, 7, 11 show their own source frame (boxes drawn on it), not a neighbour
        own = mean_difference(video[k], frames[k])
        assert own < min(mean_difference(video[k], frames[k - 1]), mean_difference(video[k], frames[k + 1]))


def mean_difference(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.float64) - b.astype(np.float64)).mean())


def test_a_raw_stream_file_has_no_length_and_max_frames_gives_the_bar_its_total(fake_models, tmp_path, capsys):
    """A raw MJPEG or H.264 stream (`.mjpeg`, `.h264`: no container) has no frame count; OpenCV gives a huge
    negative one, which became the source's length: the bar showed no total even with --max-frames, and a damaged
    end would have said "after frame N of -192153584101141"."""
    video = write_video(tmp_path / "raw.mjpeg", scene(8), "MJPG")
    assert cv2.VideoCapture(str(video)).get(cv2.CAP_PROP_FRAME_COUNT) < 0, "OpenCV now knows the length: moot"
    source = sources.open_source(video)
    assert source.total is None and [n for n, _ in source] == list(range(1, 9))
    assert main([str(video), "--out", str(tmp_path / "out"), "--max-frames", "5", "--no-save-video"]) == 0
    bar = capsys.readouterr().err.replace("\r", "\n")
    assert "5/5 [" in bar, bar


def test_an_odd_sized_source_is_tracked_in_its_own_pixels_and_drawn_one_pixel_smaller(fake_models, tmp_path):
    """docs/cli.md (Outputs): a 321x241 source's annotated mp4 is 320x240 (OpenCV's mp4v writer rounds each side down
    to an even count), while the txt and the JSONL keep the source's pixels: a walker standing in its last column and
    row ends at x 321, y 241, past the video's edge (h79c)."""
    folder = tmp_path / "odd"
    folder.mkdir()
    corner = (291, 181, 321, 241)  # xyxy: the walker that fills the frame's bottom-right corner
    for f in range(FRAMES):
        image = np.full((corner[3], corner[2], 3), 30, np.uint8)
        cv2.rectangle(image, corner[:2], (corner[2] - 1, corner[3] - 1), (240, 200, 60), -1)
        cv2.rectangle(image, (20 + 6 * f, 40), (20 + 6 * f + BLOB[0] - 1, 40 + BLOB[1] - 1), (60, 220, 240), -1)
        cv2.imwrite(str(folder / f"{f:06d}.png"), image)
    out = tmp_path / "out"
    assert main([str(folder), "--out", str(out), "--quiet"]) == 0
    assert video_info(out / "odd.mp4") == (FRAMES, (corner[2] - 1, corner[3] - 1), True)
    rows = read_mot_rows(out / "odd.txt")
    at_corner = rows[rows[:, 2] + rows[:, 4] > corner[0]]  # (the other walker ends at x 224)
    assert len(at_corner) == FRAMES
    np.testing.assert_allclose(at_corner[:, 2:4] + at_corner[:, 4:6], np.tile(corner[2:], (FRAMES, 1)))
    boxes = [t["xyxy"] for line in (out / "odd.jsonl").read_text().splitlines() for t in json.loads(line)["tracks"]]
    assert boxes.count(list(map(float, corner))) == FRAMES


def test_a_phone_video_with_a_rotation_flag_is_tracked_and_drawn_upright(fake_models, tmp_path):
    """A phone stores a portrait video sideways with a rotation flag: the txt's boxes and the annotated video are in
    the picture as it is shown (OpenCV applies the flag), as the README says."""
    frames = scene()
    upright = write_video(tmp_path / "upright.mp4", frames, "mp4v")
    sideways = [cv2.rotate(f, cv2.ROTATE_90_COUNTERCLOCKWISE) for f in frames]
    phone = set_display_rotation(write_video(tmp_path / "phone.mp4", sideways, "mp4v"), 90)
    for video in (upright, phone):
        assert main([str(video), "--out", str(tmp_path / video.stem), "--quiet"]) == 0
    expected, got = (read_mot_rows(tmp_path / name / f"{name}.txt") for name in ("upright", "phone"))
    assert len(got) == len(expected) > FRAMES
    np.testing.assert_allclose(got[:, 2:6], expected[:, 2:6], atol=2)
    assert video_info(tmp_path / "phone" / "phone.mp4")[1] == SIZE


def test_a_video_whose_name_starts_with_a_dash_is_told_how_to_name_it(fake_models, tmp_path, monkeypatch, capsys):
    """`track -clip.mp4` said only "the following arguments are required: source" (argparse read the name as an
    unknown option); it now names the file and the two ways to pass it, which both track it."""
    monkeypatch.chdir(tmp_path)
    write_video(tmp_path / "-clip.mp4", scene(5), "mp4v")
    for command in ([], ["batch"]):
        with pytest.raises(SystemExit) as exit_info:
            main([*command, "-clip.mp4", "--out", "out"])
        assert exit_info.value.code == 2
        said = capsys.readouterr().err.splitlines()[-1]  # (below argparse's usage lines)
        assert said.endswith(
            "error: -clip.mp4 reads as an option: to track the file of that name, write ./-clip.mp4 "
            "(or put it after --, behind every option)"
        )
    for out, args in (("a", ["./-clip.mp4"]), ("b", ["--", "-clip.mp4"])):
        assert main(["--quiet", "--no-save-video", "--out", out, *args]) == 0
        assert len((tmp_path / out / "-clip.jsonl").read_text().splitlines()) == 5


def test_truncated_video_tracks_the_frames_before_the_damage(fake_models, tmp_path, capsys):
    rng = np.random.default_rng(0)
    frames = [np.maximum(f, rng.integers(0, 100, f.shape, dtype=np.uint8)) for f in scene(40)]  # big JPEGs
    data = write_video(tmp_path / "clip.avi", frames, "MJPG").read_bytes()
    truncated = tmp_path / "truncated.avi"
    truncated.write_bytes(data[: len(data) // 2])
    assert main([str(truncated), "--out", str(tmp_path / "out")]) == 0
    lines = (tmp_path / "out" / "truncated.jsonl").read_text().splitlines()
    assert 5 <= len(lines) < 40
    assert f"readable after frame {len(lines)} of the 40 its header announces (cut short" in capsys.readouterr().out


def test_a_video_whose_container_outlasts_its_picture_is_not_said_to_be_damaged_only(fake_models, tmp_path, capsys):
    """A phone or screen recording whose sound runs longer than its picture: OpenCV counts its frames from the
    container's duration, so the last frame came "before the end" and the summary said the video "stops being
    readable" as if it were damaged; it now gives that cause too (simulated: the container's duration made longer)."""
    video = write_video(tmp_path / "clip.mkv", scene(10), "MJPG")
    data = bytearray(video.read_bytes())
    at = data.find(b"\x44\x89\x88")  # Matroska Segment Info Duration, an 8-byte float in milliseconds
    assert at > 0, "no Duration element where ffmpeg's muxer writes it"
    struct.pack_into(">d", data, at + 3, struct.unpack_from(">d", data, at + 3)[0] * 2.5)
    video.write_bytes(bytes(data))
    assert main([str(video), "--out", str(tmp_path / "out"), "--no-save-video"]) == 0
    said = capsys.readouterr().out
    assert "after frame 10 of the 25 its header announces (cut short or damaged, or its sound runs longer" in said


@pytest.mark.parametrize(
    "case",
    ["missing", "stdin", "help_word", "version_word", "config_word", "track_word", "gallery_verb",
     "later_missing", "later_not_a_video", "later_empty_folder", "text_as_mp4", "empty",
     "truncated_mp4", "bad_key", "bad_value", "bad_yaml", "missing_detector", "text_as_detector",
     "reid_weights_as_detector", "empty_folder_as_detector"],
)  # fmt: skip
def test_user_errors_are_one_line_and_nonzero(case, tmp_path, capfd):
    (tmp_path / "notes.mp4").write_text("this is not a video\n" * 50)
    (tmp_path / "empty.mp4").write_bytes(b"")
    mp4 = write_video(tmp_path / "ok.mp4", scene(10), "mp4v").read_bytes()
    (tmp_path / "cut.mp4").write_bytes(mp4[: len(mp4) // 2])
    (tmp_path / "bad.yaml").write_text("association:\n  high_score: [0.4\n")
    (tmp_path / "no_images").mkdir()
    (tmp_path / "osnet.pth").write_bytes(b"")
    video = str(tmp_path / "ok.mp4")

    def detector(name: str) -> list[str]:  # a file that is not a detector model (no ReID: one line, no note)
        return [video, "--set", f"detector.model={tmp_path / name}", "--set", "reid.model=none"]

    args, expected = {
        "missing": ([str(tmp_path / "nope.mp4")], "nope.mp4"),
        "stdin": (["-"], "no such file or folder: - (video is not read from standard input: save it to a file)"),
        # (`track help`, `track version` said "no such file or folder: help" alone)
        "help_word": (["help"], "no such file or folder: help (track --help lists the options)"),
        "version_word": (["version"], "no such file or folder: version (track --version prints the version)"),
        # (`track config`, `track track v.mp4` as `yolo track`, `track ls g.gallery` said "no such file" alone)
        "config_word": (["config"], "no such file or folder: config (track has no config command: configs/default"),
        "track_word": (["track", video], "no such file or folder: track (leave the word out: track SOURCE ..."),
        "gallery_verb": (["ls", "site.gallery"], "no such file or folder: ls (the gallery command is track gallery ls"),
        "later_missing": ([video, str(tmp_path / "nope.mp4")], "nope.mp4"),
        "later_not_a_video": ([video, str(tmp_path / "notes.mp4")], "not a readable video"),
        "later_empty_folder": ([video, str(tmp_path / "no_images")], "holds no images"),
        "text_as_mp4": ([str(tmp_path / "notes.mp4")], "not a readable video"),
        "empty": ([str(tmp_path / "empty.mp4")], "0 bytes"),
        "truncated_mp4": ([str(tmp_path / "cut.mp4")], "without its whole index (`moov` box)"),
        "bad_key": ([video, "--set", "appearance.bank_capacty=5"], "did you mean 'appearance.bank_capacity'"),
        "bad_value": ([video, "--set", "appearance.match_threshold=2"], "appearance.match_threshold"),
        "bad_yaml": ([video, "--config", str(tmp_path / "bad.yaml")], "invalid YAML"),
        "missing_detector": ([video, "--set", f"detector.model={tmp_path / 'nodet.pt'}"], "nodet.pt"),
        "text_as_detector": (detector("notes.mp4"), "notes.mp4 is not a model"),
        "reid_weights_as_detector": (detector("osnet.pth"), "osnet.pth is not a"),
        "empty_folder_as_detector": (detector("no_images"), "no_images is not a"),
    }[case]
    capfd.readouterr()
    assert main([*args, "--quiet", "--out", str(tmp_path / "out")]) == 2
    assert expected in one_error_line(capfd.readouterr().err)
    assert not (tmp_path / "out").exists(), "nothing is tracked before the error"


@pytest.mark.parametrize("command", ["track", "batch"])
def test_an_output_folder_that_cannot_be_made_is_named_as_such(command, fake_models, tmp_path, capfd):
    """`--out results` where `results` is a file: "[Errno 17] File exists: 'results'" (or "No such file or
    directory" for a missing mount) read like a problem with the input; the error says it is the output folder."""
    video = str(write_video(tmp_path / "walk.avi", scene(3)))
    (tmp_path / "results").write_text("an earlier report")
    argv = [video, "--out", str(tmp_path / "results"), "--quiet", "--set", "reid.model=none"]
    capfd.readouterr()
    assert main(argv if command == "track" else ["batch", *argv]) == 2
    err = capfd.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Errno" not in err
    assert f"cannot create the output folder {tmp_path / 'results'}: a file of that name exists" in err
    assert (tmp_path / "results").read_text() == "an earlier report"
    argv[argv.index("--out") + 1] = str(tmp_path / "results" / "today")  # said "Not a directory"
    assert main(argv if command == "track" else ["batch", *argv]) == 2
    err = capfd.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Errno" not in err
    assert f"cannot create the output folder {tmp_path / 'results' / 'today'}: {tmp_path / 'results'} is a file" in err


@pytest.mark.parametrize("case", ["default", "track --out", "batch --out"])
def test_an_output_folder_on_a_read_only_disk_says_to_choose_another(case, fake_models, tmp_path, monkeypatch, capfd):
    """`track walk.avi` from a read-only folder (its default runs/track made there) or `--out ro/today` on a
    read-only mount said "cannot create the output folder runs/track: Read-only file system" and stopped there: what
    to do was left to guess. The line now ends with the option that chooses another folder."""
    import errno

    video = str(write_video(tmp_path / "walk.avi", scene(3)))
    read_only = tmp_path / "ro"
    read_only.mkdir()
    real_mkdir = Path.mkdir

    def mkdir(self, *args, **kwargs):
        if Path(os.path.abspath(self)).is_relative_to(read_only) and not self.exists():
            raise OSError(errno.EROFS, "Read-only file system", str(self))
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", mkdir)
    monkeypatch.chdir(read_only)
    out = "runs/track" if case == "default" else str(read_only / "today")
    argv = [video, "--quiet", "--set", "reid.model=none"] + ([] if case == "default" else ["--out", out])
    capfd.readouterr()
    assert main(["batch", *argv] if case.startswith("batch") else argv) == 2
    err = capfd.readouterr().err.strip()
    assert err.endswith(f"cannot create the output folder {out}: Read-only file system: choose another --out"), err
    assert len(err.splitlines()) == 1


@pytest.mark.parametrize("option", ["--out", "--config", "--gallery", "source", "batch --out"])
def test_an_empty_path_is_refused_not_read_as_the_current_folder(option, fake_models, tmp_path, monkeypatch, capfd):
    """`track walk.avi --out "$OUT"` with OUT unset wrote walk.txt, .jsonl, .mp4 and summary.json into the current
    folder (replacing files of those names there); `--config ""` said "cannot read config file .: Is a directory";
    an empty source "no such file or folder: " naming nothing. One error saying the path is empty; nothing made."""
    video = str(write_video(tmp_path / "walk.avi", scene(3)))
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    common = ["--quiet", "--set", "reid.model=none"]
    argv = {
        "source": ["", *common],
        "batch --out": ["batch", video, "--out", "", *common],
    }.get(option, [video, option, "", *common])
    capfd.readouterr()
    if option == "source":
        assert main(argv) == 2
        err = one_error_line(capfd.readouterr().err)
    else:  # a usage error of the option (argparse's: usage lines, then the error)
        with pytest.raises(SystemExit) as stop:
            main(argv)
        assert stop.value.code == 2
        err = capfd.readouterr().err.strip().splitlines()[-1]
        assert f"error: argument {option.split()[-1]}: an empty path" in err, err
    assert "empty" in err and "a shell variable left unset?" in err, err
    assert not list(here.iterdir())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="DISPLAY is X11's (Linux)")
def test_show_on_a_display_that_cannot_be_opened_is_one_error_before_anything(
    fake_models, tmp_path, monkeypatch, capfd
):
    """`--show` with DISPLAY set to an X server that is not there (a stale SSH session, a container): Qt aborted the
    process at the first frame (SIGABRT, exit 134) leaving walk.txt.partial, an unplayable mp4 and the folder's
    lock, with no summary. One error naming the display now, before any model or output; none set: as before."""
    video = str(write_video(tmp_path / "walk.avi", scene(3)))
    out = tmp_path / "out"
    argv = [video, "--show", "--quiet", "--set", "reid.model=none", "--out", str(out)]
    monkeypatch.setenv("DISPLAY", ":9876")  # no X server has this number
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    capfd.readouterr()
    assert main(argv) == 2
    assert "--show cannot open a window on DISPLAY=':9876'" in one_error_line(capfd.readouterr().err)
    assert not out.exists()
    monkeypatch.delenv("DISPLAY")
    assert main(argv) == 2
    assert "--show needs a display (DISPLAY is not set)" in one_error_line(capfd.readouterr().err)
    assert not out.exists()


def test_missing_reid_weights_are_named(shared_weights, tmp_path, capfd):
    video = write_video(tmp_path / "ok.avi", scene(5))
    args = [str(video), "--quiet", "--set", f"detector.model={shared_weights / 'yolov8n_int8_openvino_model'}",
            "--set", f"reid.weights={tmp_path / 'missing.pth'}"]  # fmt: skip
    assert main(args) == 2
    assert "missing.pth" in one_error_line(capfd.readouterr().err)


def test_a_fixed_size_export_run_records_the_size_it_ran_at(shared_weights, tmp_path, capsys):
    """`--set detector.image_size=320` with a 640 OpenVINO export: the detector ran at 640 (warned, then with --verbose
    only), yet config.yaml and summary.json said image_size 320 and nothing else. Both say what ran now: summary.json
    `detector_ran_at`, a comment in config.yaml, whose keys stay the config asked (what `--resume` checks), so
    `--config` of it runs the same again. An export of the size asked records nothing. The user is told once: the
    warning on stderr (the size asked, the size run, the fix); the printed summary repeated it in other words."""
    video = write_video(tmp_path / "cam.avi", scene(3))
    model = shared_weights / "yolov8n_int8_openvino_model"
    common = ["--no-save-video", "--set", f"detector.model={model}", "--set", "reid.model=none", "--set", "device=cpu"]
    out, again, default = tmp_path / "asked", tmp_path / "again", tmp_path / "default"
    assert main([str(video), "--out", str(out), "--set", "detector.image_size=320", *common]) == 0
    said = capsys.readouterr()
    told = [line for line in (said.out + said.err).splitlines() if "640x640" in line]
    assert len(told) == 1 and told[0].startswith("track: warning: detector.image_size=320 is not used: "), told
    assert json.loads((out / "summary.json").read_text())["detector_ran_at"] == [640, 640]
    config = (out / "config.yaml").read_text()
    said = "# detector.image_size 320 was not used: detector.model is an export of a fixed size, which ran at 640x640"
    assert said in config.splitlines()
    assert load_config(str(out / "config.yaml")).detector.image_size == 320
    assert main([str(video), "--out", str(again), "--config", str(out / "config.yaml"), "--no-save-video"]) == 0
    assert (again / "cam.txt").read_bytes() == (out / "cam.txt").read_bytes()
    assert (again / "config.yaml").read_text() == config
    assert main([str(video), "--out", str(default), *common]) == 0
    assert "detector_ran_at" not in json.loads((default / "summary.json").read_text())
    assert "was not used" not in (default / "config.yaml").read_text()


def test_reid_falls_back_only_when_the_user_did_not_ask(tmp_path, monkeypatch):
    monkeypatch.delenv("TRACKER_WEIGHTS_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    cfg = load_config(None)  # default: osnet_x0_25_msmt17.pth, not here
    fallback, note = run_config.reid_fallback(cfg, asked=False)
    assert fallback.reid.model == "auto" and "osnet_x0_25_msmt17.pth" in note and OSNET_ZOO_URL in note
    openvino = cfg.replace(["detector.model=some_openvino_model"])
    assert run_config.reid_fallback(openvino, asked=False)[0].reid.model == "none", "no detector features to pool"
    assert run_config.reid_fallback(cfg, asked=True) == (cfg, None), "an explicit request fails loudly instead"
    assert run_config.asks_for_reid(None, ("reid.weights=x.pth",))
    assert not run_config.asks_for_reid(None, ("device=cpu",))
    yaml_file = tmp_path / "mine.yaml"
    yaml_file.write_text("reid:\n  weights: mine.pth\n")
    assert run_config.asks_for_reid(str(yaml_file), ())


def test_a_config_file_is_read_for_its_reid_keys_as_load_config_reads_it(tmp_path, monkeypatch):
    """`track --config site.yaml` with UTF-8 comments (an accent, a dash) in a locale whose encoding is not UTF-8
    ended with "track: error: 'ascii' codec can't decode byte 0xc3 ...", naming no file, though `load_config` reads
    the file as UTF-8: the check for ReID keys read it in the locale's encoding. And `run_track`'s `config="~/..."`
    was not looked up in the home folder there, so reid keys it set were not seen (a missing file of theirs softened
    to the fallback instead of the error)."""
    site = tmp_path / "site.yaml"
    site.write_text("# réglages — café\nreid:\n  weights: mine.pth\n", encoding="utf-8")
    probe = "import sys, tracker.run_config as r; print(r.asks_for_reid(sys.argv[1], ()))"
    env = {**os.environ, "LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0"}
    done = subprocess.run([sys.executable, "-c", probe, str(site)], capture_output=True, text=True, env=env)
    assert done.returncode == 0 and done.stdout.strip() == "True", done.stderr
    monkeypatch.setenv("HOME", str(tmp_path))
    assert run_config.asks_for_reid("~/site.yaml", ())


def test_a_gallery_run_without_osnet_weights_is_told_the_weights_not_a_key_it_never_set(tmp_path, monkeypatch, capfd):
    """`track cam.avi --gallery site.gallery` with an exported detector and no OSNet file: the fallback to motion only
    (`reid.model=none`) was made for it, then refused: "--gallery needs appearance embeddings: set reid.model to a
    model, not none", a key the user had left at osnet_x0_25. A gallery needs looks: the missing weights are the
    error, as where ReID is asked for, before anything is written."""
    monkeypatch.delenv("TRACKER_WEIGHTS_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    openvino = load_config(None, ["detector.model=some_openvino_model"])
    assert run_config.reid_fallback(openvino, asked=False, gallery=True) == (openvino, None)
    assert run_config.reid_fallback(load_config(None), asked=False, gallery=True)[0].reid.model == "auto"
    video = write_video(tmp_path / "cam.avi", scene(3))
    out, gallery = tmp_path / "out", tmp_path / "site.gallery"
    capfd.readouterr()
    argv = [
        str(video),
        "--quiet",
        "--gallery",
        str(gallery),
        "--out",
        str(out),
        "--set",
        "detector.model=x_openvino_model",
    ]
    assert main(argv) == 2
    err = one_error_line(capfd.readouterr().err)
    assert "osnet_x0_25_msmt17.pth" in err and "not found" in err and "not none" not in err, err
    assert not out.exists() and not gallery.exists()


@pytest.mark.parametrize("override", ["reid={weights: mine.pth}", "reid={model: osnet_x0_25}", " reid.weights = x.pth"])
def test_reid_asked_for_through_its_section_is_not_replaced_by_the_fallback(override):
    """`--set 'reid={weights: mine.pth}'` asks for OSNet as `--set reid.weights=mine.pth` does; it was not seen as
    asked, so a missing mine.pth was silently replaced by the detector's features instead of failing loudly."""
    assert run_config.asks_for_reid(None, (override,))
    assert not run_config.asks_for_reid(None, ("reid={batch_size: 4}",))


def test_dropped_stream_fails_clearly_after_retries(fake_models, tmp_path, monkeypatch, capfd):
    monkeypatch.setattr(sources, "STREAM_BACKOFF_S", 0.01)
    capfd.readouterr()
    args = ["rtsp://127.0.0.1:9/camera", "--quiet", "--set", "reid.model=none", "--out", str(tmp_path / "out")]
    assert main(args) == 2
    assert "retries" in one_error_line(capfd.readouterr().err)
    assert not (tmp_path / "out").exists(), "a source that never opened leaves no output files behind"


def test_a_stream_that_never_opened_prints_no_reports_of_nothing(fake_models, tmp_path, monkeypatch, capfd):
    """A stream that never gave a frame (nothing listening at the address) printed, before its error, a summary of
    reports learnt from no frame: "0 tracks; an ID came back after occlusion 0 times", "box size noise: the model's
    (too few updates to measure: 0)", "reported box widths: ... 0 of 50". Now the frame count and that nothing was
    written, then the error."""
    monkeypatch.setattr(sources, "STREAM_BACKOFF_S", 0.01)
    capfd.readouterr()
    assert main(["rtsp://127.0.0.1:9/camera", "--set", "reid.model=none", "--out", str(tmp_path / "out")]) == 2
    said = capfd.readouterr()
    lines = said.out.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("stopped after 0 frames in "), said.out
    assert lines[1] == "no frames were read, so no outputs were written"
    assert "retries" in said.err.strip().splitlines()[-1]


def test_a_stream_that_never_opened_into_an_earlier_runs_folder_lists_none_of_its_files(
    fake_models, tmp_path, monkeypatch, capfd
):
    """`track rtsp://... --out OUT`, OUT holding an earlier run, when the stream never gave a frame: the printed
    summary listed that run's config.yaml and summary.json under "outputs:", as if this run had written them (it
    left them as they were). Now it says that no outputs were written, and the earlier files stay."""
    monkeypatch.setattr(sources, "STREAM_BACKOFF_S", 0.01)
    out = tmp_path / "out"
    out.mkdir()
    earlier = {name: f"the earlier run's {name}" for name in ("config.yaml", "summary.json", "walk.txt")}
    for name, text in earlier.items():
        (out / name).write_text(text)
    capfd.readouterr()
    assert main(["rtsp://127.0.0.1:9/camera", "--set", "reid.model=none", "--out", str(out)]) == 2
    said = capfd.readouterr()
    assert "outputs:" not in said.out and "no frames were read, so no outputs were written" in said.out, said.out
    assert {p.name: p.read_text() for p in out.iterdir()} == earlier


def test_a_webcam_that_does_not_open_is_one_error_line_without_opencv_warnings(
    fake_models, tmp_path, monkeypatch, capfd
):
    """`track 7` on a machine without that camera: our one error line, not OpenCV's warnings (`--verbose` keeps
    them), at once: no model is loaded and no reopening is waited for (it took ~20 s: models, then 5 retries)."""
    waits, loads = [], []
    monkeypatch.setattr(sources, "_wait", lambda seconds, stop: waits.append(seconds) or False)
    monkeypatch.setattr(run.Tracker, "from_config", staticmethod(lambda *a, **k: loads.append(1)))
    level = cv2.utils.logging.getLogLevel()
    capfd.readouterr()
    try:
        assert main(["7", "--quiet", "--set", "reid.model=none", "--out", str(tmp_path / "out")]) == 2
    finally:
        cv2.utils.logging.setLogLevel(level)
    err = capfd.readouterr().err
    assert "webcam 7 did not open" in one_error_line(err) and "WARN" not in err and "OpenCV" not in err, err
    assert (waits, loads) == ([], []), "checked before the models load, and not retried"
    assert not (tmp_path / "out").exists()


def test_a_missing_source_is_told_before_torch_is_imported(tmp_path):
    """`track nothing.mp4` answers from the name alone: it used to import torch and the pipeline first (~1.6 s)."""
    probe = (
        "import sys; from tracker.cli import main; code = main(sys.argv[1:]); "
        "print(code, 'torch' in sys.modules, 'tracker.run' in sys.modules)"
    )
    for name in ("nothing.mp4", "frames/*.jpg"):
        done = subprocess.run([sys.executable, "-c", probe, str(tmp_path / name), "--quiet"], capture_output=True,
                              text=True, env=child_env(), timeout=60)  # fmt: skip
        assert done.stdout.split() == ["2", "False", "False"], (done.stdout, done.stderr)
        expected = "no such file or folder" if name.endswith(".mp4") else "no images match"
        assert expected in one_error_line(done.stderr), done.stderr


def test_summaries_say_one_track_and_one_frame_in_the_singular():
    """ "1 tracks" and "1 identities" read wrong: the noun follows the count, in `track` and `track batch`."""
    from tracker.batch import BatchSummary, VideoResult

    one = run_summary.RunSummary(frames=1, seconds=1.0, tracks={3}, recovered=1, corrupt_frames=1, gaps=[(1, 0.5)])
    text = one.describe()
    for phrase in ("tracked 1 frame in", "1 track;", "after occlusion 1 time", "1 unreadable frame skipped",
                   "dropped 1 time and came back"):  # fmt: skip
        assert phrase in text, text
    two = run_summary.RunSummary(frames=2, seconds=1.0, tracks={3, 4}, recovered=2).describe()
    assert "tracked 2 frames in" in two and "2 tracks;" in two and "occlusion 2 times" in two, two
    video = VideoResult(0, "a.mp4", "a", Path("out/a"), "done", frames=1, tracks=1)
    batch = BatchSummary([video], 1.0, "local", {"a": {1: 1}}, Path("g.gallery"), 1, 0).describe()
    assert "1 of 1 video tracked (local): 1 frame in" in batch and "a: 1 frame, 1 track ->" in batch, batch
    assert "1 identity across the batch; gallery saved to g.gallery (1 identity)" in batch, batch


def test_real_video_first_100_frames(shared, shared_weights, tmp_path):
    video = shared / "videos" / "one-by-one-person-detection.mp4"
    out = tmp_path / "run"
    args = [str(video), "--out", str(out), "--max-frames", "100", "--quiet", *weights_args(shared_weights)]
    result = subprocess.run(
        [sys.executable, "-m", "tracker.cli", *args], capture_output=True, text=True, timeout=300, env=child_env()
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == result.stderr == "", "--quiet: nothing printed (nor ultralytics' model loading lines)"
    assert video_info(out / "one-by-one-person-detection.mp4") == (100, (768, 432), True)
    rows = read_mot_rows(out / "one-by-one-person-detection.txt")
    assert rows.shape[1] == 10 and len(rows) > 20
    assert rows[:, 0].min() >= 1 and rows[:, 0].max() <= 100
    ids = np.unique(rows[:, 1]).astype(int)
    assert list(ids) == list(range(1, len(ids) + 1)), "IDs are consecutive from 1"
    assert len((out / "one-by-one-person-detection.jsonl").read_text().splitlines()) == 100


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_mid_run_leaves_valid_outputs(sig, shared, shared_weights, tmp_path):
    video = shared / "videos" / "one-by-one-person-detection.mp4"
    out = tmp_path / "run"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tracker.cli", str(video), "--out", str(out), "--quiet", *weights_args(shared_weights)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=child_env(),
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # a terminal's, even under a background job
    )  # fmt: skip
    jsonl = out / "one-by-one-person-detection.jsonl"
    deadline = time.time() + 120
    while time.time() < deadline and (not jsonl.exists() or len(jsonl.read_text().splitlines()) < PEOPLE_BY_FRAME):
        time.sleep(0.1)
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    written = len(jsonl.read_text().splitlines())
    assert PEOPLE_BY_FRAME <= written < 1394
    rows = read_mot_rows(out / "one-by-one-person-detection.txt")
    assert rows.shape[1] == 10 and len(rows) and rows[:, 0].max() <= written
    count, size, playable = video_info(out / "one-by-one-person-detection.mp4")
    assert count == written and size == (768, 432) and playable, "the mp4 is finalised and playable"


def test_detecting_ahead_gives_the_same_outputs(fake_models, tmp_path, monkeypatch):
    """`track` with frames decoded and detected in a background thread writes the same rows as in the loop."""
    import tracker.run

    video = write_video(tmp_path / "walk.avi", scene())
    results = {}
    for ahead in (False, True):
        monkeypatch.setattr(tracker.run, "DETECT_AHEAD", ahead)
        out = tmp_path / f"ahead-{ahead}"
        assert main([str(video), "--out", str(out), "--quiet", "--no-save-video"]) == 0
        results[ahead] = read_mot_rows(out / "walk.txt")
    assert len(results[True]) > FRAMES
    np.testing.assert_array_equal(results[True], results[False])


def test_help_names_every_subcommand(capsys):
    """`track --help` is where a new user looks: it must name batch and gallery as well as eval and compare."""
    with pytest.raises(SystemExit) as stopped:
        main(["--help"])
    assert stopped.value.code == 0, stopped.value.code  # (--help exits 0)
    text = " ".join(capsys.readouterr().out.split())
    assert all(f"track {name}" in text for name in ("eval", "compare", "batch", "gallery"))


@pytest.mark.parametrize("command", [["--help"], ["batch", "--help"]])
def test_both_helps_say_an_odd_sized_sources_video_is_one_pixel_smaller(command, capsys):
    """`track batch --help` said only "write the annotated mp4s" while `track --help` said an odd side is drawn one
    pixel smaller and the txt keeps the source's pixels: a batch user read a 641x481 camera's 640x480 mp4 as a bug."""
    with pytest.raises(SystemExit) as stopped:
        main(command)
    assert stopped.value.code == 0, stopped.value.code
    text = " ".join(capsys.readouterr().out.split())
    assert "(641x481: 640x480)" in text and "keep the source's pixels" in text


def test_version_is_printed_for_bug_reports(capsys):
    """`track --version` said "the following arguments are required: source"."""
    import tracker

    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out.strip() == f"track {tracker.__version__}"


def test_python_dash_m_tracker_is_the_track_command(tmp_path):
    """Where the `track` script is not on PATH (a venv not activated), `python -m tracker` must run it."""
    done = subprocess.run(
        [sys.executable, "-m", "tracker", "batch", "--help"], cwd=tmp_path, env=child_env(), capture_output=True,
        text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: track batch")


def test_help_and_usage_errors_do_not_import_torch(tmp_path):
    """`track --help` or a mistyped option waited for torch (tracker/__init__ imported the pipeline; io.mot the
    types): 1.8-2.0 s idle, 3-4 s on a busy machine, for a few lines of text (now ~0.2 s). `track eval` and
    `track compare` too (tracker.eval.inputs imported torch at the top: 2.5 s and 680 MB for `--help`)."""
    script = (
        "import sys\n"
        "from tracker.cli import main\n"
        "for argv in (['--help'], ['batch', '--help'], ['x.mp4', '--max-frames', '0'], ['eval', '--help'],\n"
        "             ['compare', '--help'], ['eval', '--data', 'x', '--workers', '0']):\n"
        "    try:\n"
        "        main(argv)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "print('torch imported:', 'torch' in sys.modules)\n"
        "import tracker\n"
        "from tracker import ConfigError, Detections, TrackedObject, Tracker, TrackerConfig, TrackState, load_config\n"
        "assert tracker.Tracker is Tracker and set(tracker.__all__) <= set(dir(tracker))\n"
        "print('public names:', Tracker.__module__, load_config.__module__)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=child_env(), capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "torch imported: False" in done.stdout, done.stdout
    assert "public names: tracker.pipeline tracker.config" in done.stdout
    with pytest.raises(AttributeError, match="no attribute 'Trackr'"):
        getattr(__import__("tracker"), "Trackr")  # noqa: B009 (the attribute access is what is tested)


def test_compare_help_names_both_peer_families(capsys):
    """`track compare` runs BoxMOT's trackers too where BoxMOT is installed: its help must not say Ultralytics' only."""
    with pytest.raises(SystemExit) as stopped:
        main(["compare", "--help"])
    assert stopped.value.code == 0, stopped.value.code  # (--help exits 0)
    text = " ".join(capsys.readouterr().out.split())
    assert "BoxMOT's" in text and "Ultralytics'" in text and "beside Ultralytics' trackers" not in text


def test_summary_gives_the_birth_shape_range():
    summary = run_summary.RunSummary(birth_shapes={0: [0.21, 0.63, 250]})
    assert "new tracks of class 0: width/height 0.21-0.63 (250 looks learnt)" in summary.describe()
    assert summary.to_json()["birth_shapes"] == {0: [0.21, 0.63, 250]}


def test_summary_says_why_the_bounds_are_fixed():
    """With the default `appearance.calibration: online`, a short run that never calibrated must not read as if
    calibration were off: the summary says which of the two it is."""
    from tracker.run_summary import RunSummary

    def line(mode: str, calibrated: bool) -> str:
        cal = {"mode": mode, "calibrated": calibrated, "bounds": {"match": 0.55}, "negatives": {"held": 7}}
        return next(x for x in RunSummary(calibration=cal).describe().splitlines() if "appearance bounds" in x)

    assert "not calibrated yet" in line("online", False) and "7 negatives" in line("online", False)
    assert "calibration off" in line("fixed", False)
    assert "calibrated online" in line("online", True)


def test_second_signal_aborts_and_the_summary_says_interrupted(tmp_path):
    """A second Ctrl-C/SIGTERM aborts at once: the files are closed and summary.json says the run was interrupted."""
    video = write_video(tmp_path / "walk.avi", scene())
    tracker = Tracker(load_config(None, overrides=["reid.model=none"]), 25.0, detector=blob_detector, embedder=None)
    frames = 0

    def two_signals() -> None:
        nonlocal frames
        frames += 1
        if frames == 5:
            os.kill(os.getpid(), signal.SIGTERM)  # the first: finish the frame ...
            os.kill(os.getpid(), signal.SIGTERM)  # ... the second: abort now

    with pytest.raises(KeyboardInterrupt):
        run.track_source(
            tracker, sources.open_source(str(video)), tmp_path / "out", progress=False, after_frame=two_signals
        )
    summary = json.loads((tmp_path / "out" / run_summary.SUMMARY_NAME).read_text())
    assert summary["interrupted"] and summary["frames"] == 5
    assert (tmp_path / "out" / "walk.txt").exists() and not list((tmp_path / "out").glob("*.partial"))


def test_a_quiet_run_stopped_by_a_signal_says_so_and_how_to_go_on(tmp_path, monkeypatch, capfd):
    """`track v.mp4 --quiet` stopped by SIGTERM (a service manager) or Ctrl-C exited 130 without a word: no summary,
    so nothing said that it stopped short, nor that `--resume` continues it. Now two lines, as an abort gives them."""
    frames = 0

    def detector_stopped_at_frame_5(frame: np.ndarray):
        nonlocal frames
        frames += 1
        if frames == 5:
            os.kill(os.getpid(), signal.SIGTERM)  # finish the frame, then stop
        return blob_detector(frame)

    monkeypatch.setattr(
        run.Tracker,
        "from_config",
        staticmethod(lambda cfg, frame_rate=None, gallery=None: Tracker(cfg, frame_rate, detector_stopped_at_frame_5)),
    )
    video, out = write_video(tmp_path / "walk.avi", scene()), tmp_path / "out"
    capfd.readouterr()
    assert main([str(video), "--out", str(out), "--quiet", "--set", "reid.model=none"]) == 130
    shown = capfd.readouterr()
    assert shown.out == ""
    assert shown.err.splitlines() == [
        "track: interrupted",
        f"track: the same command with --resume continues the run from {out / 'checkpoint.bin'}",
    ]


def test_a_signal_while_the_outputs_close_does_not_cut_them_short(tmp_path, monkeypatch):
    """Ctrl-C twice in quick succession: the second may land while the files are being closed; they still are."""
    video = write_video(tmp_path / "walk.avi", scene())
    tracker = Tracker(load_config(None, overrides=["reid.model=none"]), 25.0, detector=blob_detector, embedder=None)
    close = run_outputs.RunOutputs.close

    def close_under_a_second_signal(self) -> None:
        os.kill(os.getpid(), signal.SIGINT)
        close(self)

    monkeypatch.setattr(run_outputs.RunOutputs, "close", close_under_a_second_signal)
    first = lambda: os.kill(os.getpid(), signal.SIGINT)  # noqa: E731
    try:
        summary = run.track_source(
            tracker, sources.open_source(str(video)), tmp_path, progress=False, after_frame=first
        )
    except KeyboardInterrupt:
        summary = None
    assert (tmp_path / "walk.txt").exists() and not list(tmp_path.glob("*.partial")), "the txt was left unfinished"
    count, _, playable = video_info(tmp_path / "walk.mp4")
    assert count == 1 and playable, "the mp4 was left unfinished"
    assert summary is not None and summary.interrupted and summary.frames == 1


def test_max_frames_reads_no_frame_past_the_limit(tmp_path):
    frames, read = scene(), []

    def reader(_source):
        for number, image in enumerate(frames, start=1):
            read.append(number)
            yield number, image

    source = sources.FrameSource("counted", "video", 30.0, len(frames), _frames=reader)
    tracker = Tracker(load_config(), 30.0, detector=blob_detector, embedder=None)
    summary = run.track_source(tracker, source, tmp_path, save_video=False, progress=False, max_frames=5)
    assert summary.frames == 5 and read == [1, 2, 3, 4, 5]


def test_importing_tracker_main_does_not_run_the_command(monkeypatch):
    """`import tracker.__main__` (pdoc, a test collector walking the package) must not parse sys.argv and exit."""
    import importlib

    monkeypatch.setattr(sys, "argv", ["pytest", "--no-such-option"])
    sys.modules.pop("tracker.__main__", None)
    importlib.import_module("tracker.__main__")  # SystemExit here before the guard


@pytest.mark.parametrize("fps", ["0", "1e9", "inf"])
def test_fps_beyond_any_camera_is_a_usage_error(fps, capsys):
    """`--fps 1e9` ran into a MemoryError traceback on the first new track (per-second windows hold a frame rate's
    worth of frames); now a usage error before anything is opened."""
    with pytest.raises(SystemExit) as stop:
        main(["no-such-video.mp4", "--fps", fps])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and "argument --fps: must be" in err and "no-such-video" not in err


def test_a_ctrl_c_after_the_run_is_exit_130_without_a_traceback(monkeypatch, capsys, tmp_path):
    """A second Ctrl-C 50 ms after the first arrived while the summary printed (the run's own handlers are gone by
    then): it gave a KeyboardInterrupt traceback and exit status 1. Now `track: interrupted` and 130."""

    class Summary:
        error, interrupted = None, True

        def describe(self) -> str:
            raise KeyboardInterrupt  # the second Ctrl-C, while printing

    monkeypatch.setattr(run, "run_track", lambda options, notify: Summary())
    clip = tmp_path / "clip.mp4"
    clip.touch()  # a name that names something: `track` checks that before it gets to the run
    try:
        code = main([str(clip)])
    except KeyboardInterrupt:
        pytest.fail("KeyboardInterrupt escaped main(): a traceback and exit status 1")
    assert code == 130 and "track: interrupted" in capsys.readouterr().err


def test_runs_started_together_get_their_own_numbered_folders(fake_models, tmp_path, monkeypatch):
    """Two `track people.mp4` started together both chose runs/track/people (the folder appeared only with the
    first frame): one failed renaming the other's files, the survivor mixed both runs' outputs. The folder is now
    claimed when chosen; a run that writes nothing (here a stream that never opens) removes its claim again."""
    monkeypatch.chdir(tmp_path)
    first, second = (run_outputs.next_run_dir(run_outputs.DEFAULT_RUNS_DIR, "walk") for _ in range(2))
    assert (first.name, second.name) == ("walk", "walk2") and first.is_dir() and second.is_dir()
    monkeypatch.setattr(sources, "STREAM_BACKOFF_S", 0.01)
    assert main(["rtsp://127.0.0.1:9/camera", "--quiet", "--set", "reid.model=none"]) == 2
    made = sorted(p.name for p in run_outputs.DEFAULT_RUNS_DIR.iterdir())
    assert made == ["walk", "walk2"], "no folder left by the stream"


def test_exported_detector_loads_before_the_progress_bar_starts(shared, shared_weights, tmp_path):
    """Ultralytics loads an OpenVINO model on its first frame and logs "Loading ... for OpenVINO inference...":
    that used to break into the progress bar. The detector is loaded before the bar starts, so in what a
    terminal shows (stdout and stderr together, unbuffered) every ultralytics line comes before the first bar."""
    images = shared / "data" / "MOT15" / "train" / "TUD-Campus" / "img1"
    if not images.is_dir():
        pytest.skip("TUD-Campus images are absent from ../shared")
    args = [str(images), "--out", str(tmp_path / "run"), "--max-frames", "3", "--no-save-video",
            *weights_args(shared_weights), "--set", "reid.model=none"]  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-m", "tracker.cli", *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        timeout=300, env=child_env() | {"PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    shown = result.stdout
    assert result.returncode == 0, shown
    loading, bar = shown.find("for OpenVINO inference"), shown.find("frame/s]")
    assert loading >= 0 and bar >= 0, shown
    assert shown.rfind("OpenVINO") < bar, f"ultralytics' lines after the bar started:\n{shown}"


def test_ultralytics_model_loading_lines_go_to_stderr_not_stdout(shared, shared_weights, tmp_path):
    """Without -q, ultralytics' lines as it loads an exported detector ("Loading ... for OpenVINO inference...",
    "Using OpenVINO LATENCY mode ...") went to stdout, among the command's answer (`track ... > summary.txt`,
    `track compare ... > table.txt` collected them): they are on stderr, stdout holds the command's own lines."""
    images = shared / "data" / "MOT15" / "train" / "TUD-Campus" / "img1"
    if not images.is_dir():
        pytest.skip("TUD-Campus images are absent from ../shared")
    args = [str(images), "--out", str(tmp_path / "run"), "--max-frames", "3", "--no-save-video",
            *weights_args(shared_weights), "--set", "reid.model=none"]  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-m", "tracker.cli", *args], capture_output=True, text=True, timeout=300, env=child_env()
    )
    assert result.returncode == 0, result.stderr
    assert "for OpenVINO inference" in result.stderr, result.stderr
    assert "OpenVINO" not in result.stdout and "" not in result.stdout.splitlines(), result.stdout
    assert result.stdout.startswith("tracked 3 frames"), result.stdout


# A `track` process whose detector is the blob detector slowed down (so two runs started together overlap).
_SLOW_TRACK = """
import sys, time
import cv2, numpy as np
import tracker.run as run
from tracker.cli import main
from tracker.pipeline import Tracker

def detector(frame):
    time.sleep(0.05)
    mask = (frame.max(axis=2) > 128).astype(np.uint8)
    count, _, stats, _ = cv2.connectedComponentsWithStats(mask)
    boxes = np.array([[x, y, x + w, y + h] for x, y, w, h, a in stats[1:count] if a >= 200], float).reshape(-1, 4)
    return boxes, np.full(len(boxes), 0.9), np.zeros(len(boxes), np.int64)

run.Tracker.from_config = staticmethod(lambda cfg, frame_rate=None, gallery=None: Tracker(cfg, frame_rate, detector))
sys.exit(main(sys.argv[1:]))
"""


def test_two_runs_into_one_out_folder_one_is_refused_at_start(tmp_path):
    """Two `track --out X` started together both wrote X/<name>.txt.partial: one failed with "[Errno 2] No such
    file or directory: 'X/walk.txt.partial' -> 'X/walk.txt'", and the survivor's files mixed both runs. Now the
    folder is locked: exactly one run tracks, the other exits at its start with one line naming the folder, and
    the folder holds one whole run's outputs and no temp or lock file."""
    video = write_video(tmp_path / "walk.avi", scene(60))
    out = tmp_path / "X"
    argv = [sys.executable, "-c", _SLOW_TRACK, str(video), "--out", str(out), "--quiet", "--set", "reid.model=none"]
    procs = [
        subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=child_env())
        for _ in range(2)
    ]
    done = [(p.wait(timeout=120), *p.communicate()) for p in procs]
    codes = sorted(code for code, _, _ in done)
    assert codes == [0, 2], done
    err = next(err for code, _, err in done if code == 2)
    line = one_error_line(err)
    assert f"the output folder {out} is in use by another track run (process " in line and "--out" in line, line
    assert "Errno" not in line and ".partial" not in line
    assert sorted(p.name for p in out.iterdir()) == WALK_OUTPUTS
    assert len((out / "walk.jsonl").read_text().splitlines()) == 60, "one run's frames, not two runs' mixed"
    assert json.loads((out / "summary.json").read_text())["frames"] == 60


def test_the_lock_of_a_killed_run_does_not_block_the_next(fake_models, tmp_path, capsys):
    """A run killed with SIGKILL leaves its lock file behind; the kernel dropped its lock, so the next run into the
    folder tracks (and removes the file when it ends)."""
    out = tmp_path / "X"
    holder = "import os, signal, sys; from tracker.io.lock import FolderLock; FolderLock(sys.argv[1]).acquire(); "
    holder += "os.kill(os.getpid(), signal.SIGKILL)"
    killed = subprocess.run([sys.executable, "-c", holder, str(out)], env=child_env(), timeout=60)
    assert killed.returncode == -signal.SIGKILL and (out / ".track.lock").is_file()
    video = write_video(tmp_path / "walk.avi", scene(5))
    assert main([str(video), "--out", str(out), "--quiet", "--set", "reid.model=none"]) == 0
    assert sorted(p.name for p in out.iterdir()) == WALK_OUTPUTS


def test_a_resume_of_a_folder_a_run_is_writing_is_refused(fake_models, tmp_path, capfd):
    """`--resume` of a run that is still going (its checkpoint is rewritten under it) is refused with one line,
    and the running run's folder is left as it is."""
    from tracker.io.lock import FolderLock

    video = write_video(tmp_path / "walk.avi", scene(5))
    out = tmp_path / "X"
    with FolderLock(out):
        capfd.readouterr()
        assert main([str(video), "--out", str(out), "--resume", "--quiet", "--set", "reid.model=none"]) == 2
        assert f"the output folder {out} is in use" in one_error_line(capfd.readouterr().err)
        assert [p.name for p in out.iterdir()] == [".track.lock"]
    assert not out.exists(), "the lock made the folder and nothing was written: it is gone"


@pytest.mark.parametrize(
    ("option", "what"),
    [
        ("--max-frames", "a whole number >= 1"),
        ("--fps", "a positive number"),
        ("--checkpoint-seconds", "a number >= 0"),
    ],
)
def test_a_number_option_given_text_says_what_it_must_be(option, what, capsys):
    """`--checkpoint-seconds abc` named the parser's function (`invalid _non_negative_float value`)."""
    with pytest.raises(SystemExit) as exit_:
        main(["video.mp4", option, "abc"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {option}: must be {what}, got 'abc'" in err and "_float" not in err and "_int" not in err, err


@pytest.mark.parametrize("option", ["--out", "--gallery", "--config"])
def test_a_tilde_the_shell_left_in_a_path_is_the_home_folder(option, tmp_path, monkeypatch):
    """`track v.mp4 --out=~/runs` (bash leaves a `~` after `=`, and in quotes) wrote into a folder named `~` in the
    current folder, where `reid.weights=~/...` is the home folder."""
    from tracker.cli import _parser

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    args = _parser().parse_args(["v.mp4", f"{option}=~/runs/site"])
    assert Path(getattr(args, option.removeprefix("--"))) == tmp_path / "home" / "runs" / "site"
    assert _parser().parse_args(["v.mp4", "--out", "a~b"]).out == Path("a~b")  # (only a leading one)


@pytest.mark.parametrize("command", [[], ["batch", "--out", "out"]], ids=["track", "batch"])
def test_a_max_frames_too_large_for_any_video_is_a_usage_error_before_the_models_load(command, monkeypatch, capsys):
    """`--max-frames 99999999999999999999` loaded the models, then ended with Python's "Stop argument for islice()
    must be None or an integer: 0 <= x <= sys.maxsize"; the largest count Python takes is still accepted."""
    head, rest = command[:1], command[1:]
    argv = [*head, "video.mp4", *rest, "--max-frames", str(sys.maxsize + 1)]
    err = usage_error(monkeypatch, capsys, argv, "ran with a count Python cannot take")
    assert f"argument --max-frames: must be at most {sys.maxsize}, got {sys.maxsize + 1}" in err
    from tracker.cli import _parser

    assert _parser().parse_args(["v.mp4", "--max-frames", str(sys.maxsize)]).max_frames == sys.maxsize


def test_max_frames_stops_each_source_as_its_help_says(fake_models, tmp_path, capsys):
    """`--max-frames N` with several sources tracks N frames of each (the help said "stop after N frames", which
    reads as N in all)."""
    from tracker.cli import _parser

    assert "stop each source after N frames" in " ".join(_parser().format_help().split())
    a = write_video(tmp_path / "cam1.avi", scene(8))
    b = write_video(tmp_path / "cam2.avi", scene(8))
    out = tmp_path / "out"
    assert main([str(a), str(b), "--max-frames", "3", "--out", str(out), "--quiet", "--set", "reid.model=none"]) == 0
    for name in ("cam1", "cam2"):
        assert len((out / f"{name}.jsonl").read_text().splitlines()) == 3


def test_summary_json_holds_what_the_printed_summary_says(tmp_path, fake_models, capsys):
    """The printed summary gave the camera-motion failures, a video cut short and a stream's drops; summary.json
    ("the run's figures") had none of them. They are there when they happened (camera motion: whenever compensation
    is on, so 0 failures differs from compensation off), and absent otherwise."""
    short = run_summary.RunSummary(frames=50, ended_early=50, expected_frames=80, gaps=[(12, 1.5), (30, 0.25)])
    saved = short.to_json()
    assert saved["ended_early"] == {"last_frame": 50, "expected_source_frames": 80}
    assert saved["stream_gaps"] == [{"after_frame": 12, "seconds": 1.5}, {"after_frame": 30, "seconds": 0.25}]
    assert not {"camera_motion", "ended_early", "stream_gaps"} & run_summary.RunSummary(frames=3).to_json().keys()
    video = write_video(tmp_path / "walk.avi", scene())
    for method, out in (("sparse_flow", tmp_path / "on"), ("none", tmp_path / "off")):
        assert (
            main([str(video), "--out", str(out), "--no-save-video", "--set", f"motion.camera_compensation={method}"])
            == 0
        )
        summary = json.loads((out / "summary.json").read_text())
        if method == "none":
            assert "camera_motion" not in summary
        else:
            assert summary["camera_motion"]["estimates"] == FRAMES - 1, summary  # every frame after the first
            assert 0 <= summary["camera_motion"]["failures"] <= FRAMES - 1


def test_summary_json_gives_the_frame_rate_the_source_was_tracked_at(fake_models, tmp_path):
    """Every time limit and the motion model depend on the frame rate, chosen from --fps, the rate the video
    declares or its timestamps, or the config: summary.json said which only when a warning was printed."""
    video = write_video(tmp_path / "walk.avi", scene(), fps=12.5)
    rates = {}
    for name, extra in (("declared", []), ("forced", ["--fps", "7"])):
        assert main([str(video), "--out", str(tmp_path / name), "--no-save-video", "--quiet", *extra]) == 0
        rates[name] = json.loads((tmp_path / name / "summary.json").read_text())["frame_rate"]
    assert rates == {"declared": 12.5, "forced": 7.0}


def test_an_out_folder_where_the_video_would_replace_its_source_is_refused(fake_models, tmp_path, capfd):
    """`track videos/cam.mp4 --out videos` (results beside the video) wrote the annotated `cam.mp4` over the video
    being read: the user's video was lost and its results cut short. Now one error before anything is written."""
    folder = tmp_path / "videos"
    folder.mkdir()
    video = write_video(folder / "cam.mp4", scene(), "mp4v")
    original = video.read_bytes()
    capfd.readouterr()
    assert main([str(video), "--out", str(folder), "--quiet"]) == 2
    line = one_error_line(capfd.readouterr().err)
    assert f"the output {folder / 'cam.mp4'} would replace this source: choose another --out or --no-save-video" in line
    assert video.read_bytes() == original and sorted(p.name for p in folder.iterdir()) == ["cam.mp4"]
    assert main([str(video), "--out", str(folder), "--quiet", "--no-save-video"]) == 0  # nothing of that name written
    assert video.read_bytes() == original and len(read_mot_rows(folder / "cam.txt")) == 2 * FRAMES


def _stderr_whose_reader_left() -> TextIO:
    """A stderr whose reader has gone (`2>&1 | head -c 100`): a write raises BrokenPipeError."""
    read, write = os.pipe()
    os.close(read)
    return open(write, "w", buffering=1)  # (closed by the test: what the bar left cannot be flushed)


def _stderr_on_a_full_disk() -> TextIO:
    """`2>/dev/full` (or a full disk under `2>log.txt`): a write raises OSError (ENOSPC)."""
    return open("/dev/full", "w", buffering=1)  # (closed by the test)


@pytest.mark.parametrize("stderr", [_stderr_whose_reader_left, _stderr_on_a_full_disk], ids=["reader_left", "full"])
def test_a_progress_bar_that_cannot_be_written_does_not_stop_the_run(
    fake_models, tmp_path, monkeypatch, capsys, stderr
):
    """`track v.mp4 2>&1 | head -c 100`: the bar's next write raised BrokenPipeError in the tracking loop, and the run
    ended there, exit status 1, its txt left `.partial` and no summary.json; `track v.mp4 2>/dev/full`: its first
    write raised OSError (ENOSPC), the same end. The bar stops; the run tracks on."""
    video, out = write_video(tmp_path / "walk.avi", scene()), tmp_path / "out"
    unwritable = stderr()
    monkeypatch.setattr(sys, "stderr", unwritable)
    try:
        assert main([str(video), "--out", str(out), "--set", "reid.model=none"]) == 0
    finally:
        monkeypatch.undo()
        with contextlib.suppress(OSError):  # (BrokenPipeError is one)
            unwritable.close()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["frames"] == FRAMES and summary["error"] is None
    assert len(read_mot_rows(out / "walk.txt")) == 2 * FRAMES and not list(out.glob("*.partial"))
    assert capsys.readouterr().out.startswith(f"tracked {FRAMES} frames")


def test_a_run_with_stderr_closed_tracks_to_its_end(fake_models, tmp_path, monkeypatch, capsys):
    """`track v.mp4 2>&-` (a service started without stderr): Python's sys.stderr is None, and the progress bar's
    first write ended the run with exit status 1 and no outputs, without a word. The bar has no reader from the
    start, as one whose reader left (`| head`): the run tracks on."""
    video, out = write_video(tmp_path / "walk.avi", scene()), tmp_path / "out"
    monkeypatch.setattr(sys, "stderr", None)
    assert main([str(video), "--out", str(out), "--set", "reid.model=none"]) == 0
    monkeypatch.undo()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["frames"] == FRAMES and summary["error"] is None
    assert len(read_mot_rows(out / "walk.txt")) == 2 * FRAMES
    assert capsys.readouterr().out.startswith(f"tracked {FRAMES} frames")


@pytest.mark.parametrize("command", ["track", "gallery ls"])
def test_with_stderr_closed_an_error_says_nothing_on_stdout(tmp_path, monkeypatch, capsys, command):
    """`track nope.mp4 2>&-`, `track gallery ls a.gallery b.gallery 2>&- | ...`: with no stderr, the error lines went
    to stdout (print's file=None is stdout), among the listing or summary a script reads. They go nowhere; the
    exit status still says it."""
    missing = str(tmp_path / "nope.gallery" if command == "gallery ls" else tmp_path / "nope.mp4")
    monkeypatch.setattr(sys, "stderr", None)
    assert main([*command.split()[1:], missing] if command == "track" else ["gallery", "ls", missing]) == 2
    monkeypatch.undo()
    assert capsys.readouterr().out == ""


def test_a_summary_into_a_closed_pipe_is_not_an_error(fake_models, tmp_path, monkeypatch, capfd):
    """`track v.mp4 | head -1` (or `| grep -q outputs`): the reader left before the summary was printed, and the run,
    its outputs written, ended with a BrokenPipeError traceback and exit status 1. Now its own status, no error."""
    video, out = write_video(tmp_path / "walk.avi", scene()), tmp_path / "out"
    read, write = os.pipe()
    os.close(read)  # `head` has gone
    with open(write, "w") as closed:
        monkeypatch.setattr(sys, "stdout", closed)
        assert main([str(video), "--out", str(out), "--set", "reid.model=none", "--max-frames", "3"]) == 0
    err = capfd.readouterr().err
    assert "Traceback" not in err and "error" not in err, err
    assert list(out.rglob("walk.txt")), "the outputs were not written"


@pytest.mark.parametrize("failing", ["jsonl", "checkpoint"])
def test_a_full_disk_names_the_file_and_keeps_what_was_written(failing, fake_models, tmp_path, monkeypatch, capfd):
    """A full disk ended the run with "track: error: [Errno 28] No space left on device": no file, no folder, no
    cause. A failed JSONL flush also failed its close, which left the video unreleased (no index: unplayable) and
    no summary.json, and that second error was the one said. Now the error names the file and the full disk, the
    other files are closed (the video plays up to the failure) and summary.json says the error."""
    import errno

    import tracker.io.jsonl as jsonl
    import tracker.resume as resume

    full = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    written = {"frames": 0}

    def write_until_full(self, frame, objects):
        if written["frames"] == 5:
            self._file.write('{"frame": 6, "tra')  # what a full disk leaves: part of a line, buffered
            raise full
        written["frames"] += 1
        real_write(self, frame, objects)

    def close_full(self):  # the buffered part cannot be flushed either; the file is closed all the same
        real_close(self)
        raise full

    real_write, real_close = jsonl.JsonlWriter.write, jsonl.JsonlWriter.close
    if failing == "jsonl":
        monkeypatch.setattr(jsonl.JsonlWriter, "write", write_until_full)
        monkeypatch.setattr(jsonl.JsonlWriter, "close", close_full)
    else:
        monkeypatch.setattr(resume.Checkpointer, "write", lambda self, *a: (_ for _ in ()).throw(full))
    video, out = write_video(tmp_path / "walk.avi", scene()), tmp_path / "out"
    assert main([str(video), "--out", str(out), "--quiet", "--set", "reid.model=none"]) == 2
    said = [line for line in capfd.readouterr().err.splitlines() if line.startswith("track: error:")]
    path = out / ("walk.jsonl" if failing == "jsonl" else "checkpoint.bin")
    expected = f"track: error: cannot write {path}: No space left on device (the disk is full: free some space"
    assert len(said) == 1 and said[0].startswith(expected), said
    assert json.loads((out / "summary.json").read_text())["error"] == said[0].removeprefix("track: error: ")
    frames = 5 if failing == "jsonl" else 1  # (the checkpoint is written after the first frame)
    assert video_info(out / "walk.mp4") == (frames, SIZE, True)


def test_an_out_folder_opencv_cannot_write_a_video_in_is_refused_before_tracking(fake_models, tmp_path, capsys):
    """`--out caf<0xE9>` (a Latin-1 folder name): the run made the folder, loaded the models, tracked its first frame
    and wrote the txt, jsonl, config and summary there, then ended with "cannot write video": OpenCV cannot be given a
    path that is not UTF-8. It is refused at the start now, nothing made; with --no-save-video the run writes there,
    and its summary names the outputs with U+FFFD for the byte (printing the path as it is raised UnicodeEncodeError
    on a strict UTF-8 stdout, as pytest's is, a traceback after the whole video was tracked)."""
    video = write_video(tmp_path / "walk.avi", scene(3))
    out = undecodable_path(tmp_path, b"caf\xe9")
    assert main([str(video), "--out", str(out), "--quiet"]) == 2
    said = one_error_line(capsys.readouterr().err)
    assert said == (
        f"track: error: --out {tmp_path}/caf\ufffd: OpenCV cannot write the annotated video in a folder whose path is "
        "not UTF-8: rename it, choose another --out, or --no-save-video"
    ), said
    assert not out.exists()
    assert main([str(video), "--out", str(out), "--no-save-video"]) == 0
    assert f"  {tmp_path}/caf\ufffd/walk.txt" in capsys.readouterr().out.splitlines()
    assert len(read_mot_rows(out / "walk.txt")) > 0


def test_an_error_naming_a_path_that_is_not_utf8_shows_its_byte_as_u_fffd(tmp_path, capsys):
    """`track caf<0xE9>.mp4` and `track eval --data caf<0xE9>`, no such file: the error showed Python's `\\udce9`
    escape on stderr (and a strict UTF-8 stderr, pytest's, raised UnicodeEncodeError); it names the path with U+FFFD
    for the byte, as the commands' other lines do."""
    missing = undecodable_path(tmp_path, b"caf\xe9")
    assert main([f"{missing}.mp4", "--quiet"]) == 2
    assert one_error_line(capsys.readouterr().err) == f"track: error: no such file or folder: {tmp_path}/caf\ufffd.mp4"
    assert main(["eval", "--data", str(missing), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    assert f"track eval: error: no such folder: {tmp_path}/caf\ufffd (" in capsys.readouterr().err


def test_a_full_disk_when_a_checkpoint_syncs_the_txt_names_the_txt_once(fake_models, tmp_path, monkeypatch, capfd):
    """The disk fills as a checkpoint makes the txt durable (its fsync, inside the checkpoint's write): the error said
    "cannot write out/checkpoint.bin: cannot write out/walk.txt: No space left on device (the disk is full: ...)
    (the disk is full: ...)", the file named twice and the hint said twice. Now the txt, the file that failed, once."""
    import errno

    from tracker.io.mot import MotWriter

    def full(self):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(MotWriter, "sync", full)
    video, out = write_video(tmp_path / "walk.avi", scene()), tmp_path / "out"
    assert main([str(video), "--out", str(out), "--quiet", "--set", "reid.model=none"]) == 2
    said = one_error_line(capfd.readouterr().err)
    assert said == (
        f"track: error: cannot write {out / 'walk.txt'}: No space left on device{run_outputs.FULL_DISK_HINT}"
    ), said


def test_a_full_disk_that_keeps_summary_json_out_too_is_said_in_one_line(
    fake_models, tmp_path, monkeypatch, capfd, caplog
):
    """The disk fills at the checkpoint and summary.json, the last file, finds no space either: the run printed
    "ERROR tracker.run: cannot write .../summary.json: ..." before its `track: error: ...` line, two lines for one
    cause (the summary is written where it fits, README). Now the one error line, the cause; the summary's line
    with --verbose."""
    import errno

    import tracker.resume as resume

    full = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr(resume.Checkpointer, "write", lambda self, *a: (_ for _ in ()).throw(full))
    monkeypatch.setattr(run, "write_json_atomic", lambda *a, **k: (_ for _ in ()).throw(full))
    caplog.set_level(logging.INFO, logger="tracker.run")
    video, out = write_video(tmp_path / "walk.avi", scene()), tmp_path / "out"
    assert main([str(video), "--out", str(out), "--quiet", "--set", "reid.model=none"]) == 2
    err = [line for line in capfd.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1 and err[0].startswith(f"track: error: cannot write {out / 'checkpoint.bin'}: "), err
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]  # (the CLI prints these)
    assert not errors, errors
    assert any("summary.json" in r.getMessage() for r in caplog.records), "said with --verbose"
    assert not (out / "summary.json").exists() and video_info(out / "walk.mp4") == (1, SIZE, True)


def test_a_folder_named_like_an_output_in_a_reused_out_is_refused_before_tracking(fake_models, tmp_path, capfd):
    """A folder `walk.txt/` (or `summary.json/`) in a reused --out: the run tracked every frame, then failed at its
    end with a raw "[Errno 21] Is a directory: '.../walk.txt.partial' -> '.../walk.txt'", leaving a checkpoint and
    partial outputs and no summary. Now one error line naming the folder, before anything is written."""
    video = write_video(tmp_path / "walk.avi", scene())
    for taken in ("walk.txt", "summary.json", "config.yaml"):
        out = tmp_path / f"out_{taken}"
        (out / taken).mkdir(parents=True)
        capfd.readouterr()
        assert main([str(video), "--out", str(out), "--quiet", "--no-save-video"]) == 2
        line = one_error_line(capfd.readouterr().err)
        assert f"the output {out / taken} is a folder: a run writes a file there" in line, line
        assert sorted(p.name for p in out.iterdir()) == [taken]  # nothing written beside it


def test_the_summary_names_the_frames_whose_camera_motion_was_not_found(fake_models, tmp_path, capsys):
    """A scene cut at frame 5 of 7: the summary said "camera motion not found on 1 frame" and nowhere which, so a
    user could not tell a cut from a blur or a bug; it now names the frame (source positions, as for unreadable
    frames), in summary.json's `camera_motion.failure_frames` too."""
    rng = np.random.default_rng(0)
    places = [
        cv2.GaussianBlur(rng.uniform(0, THRESHOLD - 10, (SIZE[1], SIZE[0])).astype(np.uint8), (0, 0), 2)
        for _ in range(2)
    ]
    folder = tmp_path / "cut"
    folder.mkdir()
    for i in range(1, 8):
        cv2.imwrite(str(folder / f"{i:06d}.png"), cv2.cvtColor(places[i >= 5], cv2.COLOR_GRAY2BGR))
    out = tmp_path / "out"
    argv = [str(folder), "--out", str(out), "--no-save-video", "--set", "motion.camera_compensation=sparse_flow"]
    assert main(argv) == 0
    saved = json.loads((out / "summary.json").read_text())
    assert saved["camera_motion"] == {"estimates": 6, "failures": 1, "held": 0, "failure_frames": [5]}, saved
    said = capsys.readouterr().out
    assert "camera motion not found on 1 frame (frame 5; identity used)" in said, said


def test_the_summary_counts_the_camera_motion_bridged_across_a_black_frame(fake_models, tmp_path, capsys):
    """A pan with frame 4 black: its estimate fails (identity, named), and frame 5's, which fails from the black
    frame, is made from frame 3 (`motion.camera_bridge_frames`): summary.json's `camera_motion.bridged` and the
    printed line say so."""
    rng = np.random.default_rng(1)
    scene = cv2.GaussianBlur(rng.uniform(0, THRESHOLD - 10, (SIZE[1], SIZE[0] + 60)).astype(np.uint8), (0, 0), 2)
    folder = tmp_path / "tunnel"
    folder.mkdir()
    for i in range(1, 8):
        frame = np.zeros((SIZE[1], SIZE[0]), np.uint8) if i == 4 else scene[:, 4 * i : 4 * i + SIZE[0]]
        cv2.imwrite(str(folder / f"{i:06d}.png"), cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_GRAY2BGR))
    out = tmp_path / "out"
    argv = [str(folder), "--out", str(out), "--no-save-video", "--set", "motion.camera_compensation=sparse_flow"]
    assert main(argv) == 0
    saved = json.loads((out / "summary.json").read_text())
    assert saved["camera_motion"] == {"estimates": 6, "failures": 1, "held": 0, "bridged": 1, "failure_frames": [4]}
    said = capsys.readouterr().out
    assert "(frame 4; identity used); 1 frame after it estimated from the frame before it" in said, said


@pytest.mark.parametrize(
    ("argv", "flag"),
    [
        (["--classes", "2", "--set", "detector.classes=[0]"], "--classes"),
        (["--set", "detector.classes=[0]", "--classes", "0", "2"], "--classes"),
        (["--device", "cpu", "--set", "device=cuda"], "--device"),
        (["batch", "--device", "cpu", "--set", "device=auto"], "--device"),
        (["--classes", "2", "--set", "detector={classes: [0]}"], "--classes"),
        (["--set", "detector={model: yolo11n.pt, classes: 0}", "--classes", "0", "2"], "--classes"),
    ],
    ids=["key", "key-before", "device", "batch-device", "section", "section-before"],
)
def test_a_shorthand_option_and_a_set_that_disagree_are_a_usage_error(tmp_path, capsys, monkeypatch, argv, flag):
    """`--classes 2 --set detector.classes=[0]` tracked class 2 without a word (the option was applied last, wherever
    it stood on the line): a usage error naming both, before anything loads."""
    head, rest = (argv[:1], argv[1:]) if argv[0] == "batch" else ([], argv)
    argv = [*head, stub_video(tmp_path), "--out", str(tmp_path / "out"), *rest]
    err = usage_error(monkeypatch, capsys, argv, "ran despite the contradiction")
    assert f"{flag} and --set " in err and "say different things" in err


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--classes", "-1"], "--classes -1: detector.classes[0]: -1 must be 0 or more"),
        (["--classes", "0", "-1"], "--classes 0 -1: detector.classes[1]: -1 must be 0 or more"),
        (["batch", "--classes", "-1"], "--classes -1: detector.classes[0]: -1 must be 0 or more"),
    ],
    ids=["track", "second-id", "batch"],
)
def test_a_shorthand_option_the_config_refuses_is_a_usage_error_naming_the_option(
    tmp_path, capsys, monkeypatch, argv, said
):
    """`track v.mp4 --classes -1` stopped with "detector.classes[0]: -1 must be 0 or more", a key the user never
    typed: the usage error names the option as given, then the key, before anything loads."""
    head, rest = (argv[:1], argv[1:]) if argv[0] == "batch" else ([], argv)
    err = usage_error(monkeypatch, capsys, [*head, stub_video(tmp_path), "--out", str(tmp_path / "out"), *rest])
    assert said in err, err


@pytest.mark.parametrize(
    "sets",
    [
        ["appearance.bank_capacity=3", "appearance.bank_capacity=4"],
        ["appearance={bank_capacity: 3}", "appearance.bank_capacity=4"],
        ["appearance.bank_capacity=4", "appearance={topk: 2, bank_capacity: 3}"],
    ],
    ids=["key", "section-first", "section-last"],
)
def test_two_sets_of_one_key_that_disagree_are_a_usage_error(tmp_path, capsys, monkeypatch, sets):
    """`--set appearance.bank_capacity=3 --set appearance.bank_capacity=4` ran with 4 without a word (a key given
    twice in a YAML file is refused): a usage error naming both, as for `--classes` against `--set`."""
    argv = [stub_video(tmp_path), "--out", str(tmp_path / "out"), *(a for text in sets for a in ("--set", text))]
    err = usage_error(monkeypatch, capsys, argv, "ran despite the contradiction")
    assert f"--set {sets[0]} and --set {sets[1]} say different things" in err


@pytest.mark.parametrize("command", [["eval"], ["compare"], ["gallery", "prune"], ["gallery", "merge"]])
def test_two_sets_of_one_key_that_disagree_are_refused_by_every_command_taking_set(tmp_path, capsys, command):
    """README (Configuration): two `--set` giving one key different values are refused, naming both. `track eval`,
    `track compare`, `track gallery prune` and `merge` loaded their config with the last one, without a word (`track
    eval` went on to score a run with topk 3)."""
    where = {
        "eval": ["--data", str(tmp_path)],
        "compare": ["--data", str(tmp_path)],
        "prune": [str(tmp_path / "site.gallery")],
        "merge": [str(tmp_path / "a.gallery"), str(tmp_path / "b.gallery"), "-o", str(tmp_path / "c.gallery")],
    }[command[-1]]
    sets = ["--set", "appearance.topk=2", "--set", "appearance={topk: 3}"]
    with pytest.raises(SystemExit) as stop:
        main([*command, *where, *sets])
    assert stop.value.code == 2
    assert "--set appearance.topk=2 and --set appearance={topk: 3} say different things" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["eval", "compare"])
def test_two_sets_of_a_mistyped_key_say_the_key_is_unknown(tmp_path, capsys, command):
    """`track eval --set motion.max_age=10 --set motion.max_age=20` said the two "say different things", so a user
    fixing that got a second error for a key that does not exist: the config's own error, naming the unknown key."""
    sets = ["--set", "motion.max_age=10", "--set", "motion.max_age=20"]
    try:  # (`track eval` returns its status; the parser's usage error exits)
        code = main([command, "--data", str(tmp_path), "--out", str(tmp_path / "out"), *sets])
    except SystemExit as stop:
        code = stop.code
    assert code == 2
    err = capsys.readouterr().err
    assert "unknown config key 'motion.max_age'" in err and "say different things" not in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--classes", "0", "--classes", "2"], "--classes 0 and --classes 2"),
        (["--classes", "0", "2", "--classes", "2"], "--classes 0 2 and --classes 2"),
        (["--device", "cpu", "--device", "auto"], "--device cpu and --device auto"),
        (["batch", "--device", "cpu", "--device", "cuda"], "--device cpu and --device cuda"),
        (["--gallery", "a.gallery", "--gallery", "b.gallery"], "--gallery a.gallery and --gallery b.gallery"),
        (["--max-frames", "20", "--max-frames", "5"], "--max-frames 20 and --max-frames 5"),
        (
            ["--checkpoint-seconds", "5", "--checkpoint-seconds", "0"],
            "--checkpoint-seconds 5.0 and --checkpoint-seconds 0.0",
        ),
        (["batch", "--engine", "local", "--engine", "ray"], "--engine local and --engine ray"),
        (["batch", "--workers", "2", "--workers", "3"], "--workers 2 and --workers 3"),
        (["gallery", "prune", "--config", "a.yaml", "--config", "b.yaml"], "--config a.yaml and --config b.yaml"),
        (["--save-video", "--no-save-video"], "--save-video and --no-save-video"),
        (["batch", "--no-save-video", "--save-video"], "--no-save-video and --save-video"),
    ],
    ids=[
        "classes",
        "classes-subset",
        "device",
        "batch-device",
        "gallery",
        "max-frames",
        "checkpoint-seconds",
        "engine",
        "workers",
        "prune",
        "save-video",
        "batch-save-video",
    ],
)
def test_a_setting_option_given_twice_with_different_values_is_a_usage_error(tmp_path, capsys, monkeypatch, argv, said):
    """`track v.mp4 --classes 0 --classes 2` tracked class 2 alone without a word (argparse keeps the last), and
    `--device cpu --device auto` ran on CUDA where there is one: a usage error naming both, as two `--set` of one key
    are; the same value twice is no contradiction. Likewise `--gallery a.gallery --gallery b.gallery` (wrote b alone),
    `--max-frames`, `--checkpoint-seconds` (`--checkpoint-seconds 5 --checkpoint-seconds 0` ran without checkpoints),
    batch's `--engine` / `--workers` and gallery prune's `--config`; `--save-video --no-save-video` (ran without a
    video, the last one given)."""
    head, rest = (argv[:1], argv[1:]) if argv[0] == "batch" else ([], argv)
    if argv[0] == "gallery":
        argv = [*argv[:2], str(tmp_path / "site.gallery"), *argv[2:]]
    else:
        argv = [*head, stub_video(tmp_path), "--out", str(tmp_path / "out"), *rest]
    assert f"{said} say different things" in usage_error(monkeypatch, capsys, argv, "ran despite the contradiction")
    from tracker.cli import _batch_parser, _parser

    assert _parser().parse_args(["v.mp4", "--classes", "0", "--classes", "0", "--device", "cpu", "--device", "cpu"])
    assert _parser().parse_args(["v.mp4", "--no-save-video", "--no-save-video"]).save_video is False
    assert _parser().parse_args(["v.mp4", "--save-video"]).save_video is True
    # an option's default is no earlier value: `--engine ray` alone (default local) is no contradiction
    batch = _batch_parser().parse_args(
        ["v.mp4", "--out", "o", "--engine", "ray", "--out", "o", "--gpus-per-video", "2"]
    )
    assert (batch.engine, batch.gpus_per_video) == ("ray", 2.0)


def test_the_same_classes_given_twice_in_another_order_are_one_value():
    """`track v.mp4 --classes 0 2 --classes 2 0` was refused as "say different things": the classes are a set (a box
    of a listed class is kept), so the same set in another order, or with a repeat, says the same thing."""
    from tracker.cli import _parser

    for again in (["2", "0"], ["0", "2", "2"]):
        args = _parser().parse_args(["v.mp4", "--classes", "0", "2", "--classes", *again])
        assert set(args.classes) == {0, 2}


@pytest.mark.parametrize("command", [[], ["batch"]])
@pytest.mark.parametrize(
    ("device", "said"),
    [
        ("", "an empty device (a shell variable left unset?)"),
        (" ", "an empty device (a shell variable left unset?)"),
        ("0", "'0' is not a device; use auto, cpu, cuda or cuda:N (ultralytics' device 0 is cuda:0)"),
        ("gpu", "'gpu' is not a device; use auto, cpu, cuda or cuda:N"),
    ],
    ids=["empty", "blank", "gpu-number", "gpu"],
)
def test_an_empty_or_unknown_device_is_a_usage_error(tmp_path, capsys, monkeypatch, command, device, said):
    """`track v.mp4 --device "$DEV"` with DEV unset ran on the automatic device without a word, as if --device were
    left out; now the option's usage error, as an empty path is. Ultralytics' `--device 0` (its first GPU) said
    "device: expected a string, got 0" of the string the user gave (YAML read the override `device=0` as a number):
    now the option's usage error naming the value, the forms it takes and the GPU's name here."""
    argv = [*command, stub_video(tmp_path), "--out", str(tmp_path / "out"), "--device", device]
    err = usage_error(monkeypatch, capsys, argv, "ran with a bad --device")
    assert f"error: argument --device: {said}" in err.splitlines()[-1]
    assert not (tmp_path / "out").exists()


PEER_CONF = "--conf is not an option of {prog}: for ultralytics' --conf, give --set detector.confidence=VALUE"


@pytest.mark.parametrize("command", [[], ["batch"]])
@pytest.mark.parametrize(
    ("option", "said"),
    [
        (["--conf", "0.3"], PEER_CONF),
        (["--conf=0.3"], PEER_CONF),
        (["--max", "5"], "--max is not an option of {prog}: write the option in full (--max-frames)"),
    ],
    ids=["conf", "conf=", "prefix"],
)
def test_a_prefix_of_an_option_or_a_peer_option_is_not_read_as_another(
    tmp_path, monkeypatch, capsys, command, option, said
):
    """argparse took any prefix of an option for it: ultralytics' `--conf 0.3` was `--config 0.3` ("cannot read
    config file 0.3", after the source was checked) and `--max 5` tracked with `--max-frames 5`. Now a usage error
    before anything runs, saying what to write: our spelling of the peer's option, or the option in full."""
    argv = [*command, stub_video(tmp_path), "--out", str(tmp_path / "out"), *option]
    err = usage_error(monkeypatch, capsys, argv, "ran with a misread option")
    prog = " ".join(["track", *command])
    assert err.splitlines()[-1] == f"{prog}: error: {said.format(prog=prog)}"
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", ["eval", "compare"])
def test_track_eval_does_not_read_a_peer_option_as_its_config(tmp_path, capsys, command):
    """`track eval --data D --conf 0.3` said "cannot read config file 0.3" (argparse took `--conf` for `--config`),
    as `track` did: the same usage error, before anything runs."""
    with pytest.raises(SystemExit) as stop:
        main([command, "--data", str(tmp_path), "--out", str(tmp_path / "out"), "--conf", "0.3"])
    assert stop.value.code == 2
    prog = f"track {command}"
    assert capsys.readouterr().err.splitlines()[-1] == f"{prog}: error: {PEER_CONF.format(prog=prog)}"
    assert not (tmp_path / "out").exists()


def test_two_sets_that_agree_or_name_different_keys_run(tmp_path, monkeypatch):
    """The same setting twice (in two forms), or a section's other keys, is no contradiction."""
    sets = ["appearance.topk=2", "appearance={topk: 2, bank_capacity: 5}", "appearance.topk = 2", "device=cpu"]
    argv = [stub_video(tmp_path), "--out", str(tmp_path), *(a for text in sets for a in ("--set", text))]
    cfg = load_config(None, overrides=list(run_options(monkeypatch, argv).overrides))
    assert (cfg.appearance.topk, cfg.appearance.bank_capacity) == (2, 5)


def test_a_shorthand_option_that_agrees_with_a_set_runs_with_it(tmp_path, monkeypatch):
    """The same value given both ways is no contradiction: the run gets it (and the option's own form)."""
    argv = [stub_video(tmp_path), "--out", str(tmp_path), "--classes", "0", "--set", "detector.classes=[0]"]
    overrides = run_options(monkeypatch, [*argv, "--device", "cpu"]).overrides
    assert load_config(None, overrides=list(overrides)).detector.classes == (0,)
    assert "device=cpu" in overrides


@pytest.mark.parametrize(
    ("classes", "written"),
    [
        (["0"], "detector.classes=0"),
        (["0"], "detector.classes = [0]"),
        (["0"], "detector.classes=[ 0 ]"),
        (["0"], "detector={classes: [0]}"),
        (["0"], "detector={model: yolo11n.pt}"),
        (["0", "0"], "detector.classes=[0]"),
        (["2", "0"], "detector.classes=[0, 2, 2]"),
    ],
)
def test_a_set_that_says_what_the_option_says_in_another_form_is_no_contradiction(
    tmp_path, monkeypatch, classes, written
):
    """`--set detector.classes=0` is the list [0] to the config (a lone item stands for a list of one), so with
    `--classes 0` it says the same thing: it was a usage error ('say different things'), comparing 0 with [0]. The
    classes are a set to the tracker (a box of a listed class is kept): `--classes 0 0` against [0] was refused too.
    A section given whole that does not set the key says nothing about it."""
    argv = [stub_video(tmp_path), "--out", str(tmp_path), "--classes", *classes, "--set", written]
    used = load_config(None, overrides=list(run_options(monkeypatch, argv).overrides)).detector.classes
    assert set(used) == {int(c) for c in classes}


def test_the_librarys_warnings_of_several_sources_name_their_source(monkeypatch, tmp_path, caplog):
    """`track first.avi second.avi`: the library's warnings ("dropped 1 invalid detection(s) ...") said nothing of the
    source they were about. Each now starts with its source's name, as its progress bar does."""

    def with_a_nan_box(frame):
        boxes, scores, classes = blob_detector(frame)
        return np.vstack([boxes, [[np.nan] * 4]]), np.append(scores, 0.9), np.append(classes, 0)

    def from_config(cfg, frame_rate=None, gallery=None):
        return Tracker(cfg, frame_rate, detector=with_a_nan_box, embedder=None)

    monkeypatch.setattr(run.Tracker, "from_config", staticmethod(from_config))
    first, second = write_video(tmp_path / "first.avi", scene(3)), write_video(tmp_path / "second.avi", scene(3))
    caplog.set_level(logging.WARNING, logger="tracker")
    assert main([str(first), str(second), "--out", str(tmp_path / "out"), "--no-save-video", "--quiet"]) == 0
    warned = [r.getMessage() for r in caplog.records if "invalid detection(s)" in r.getMessage()]
    assert {m.partition(": dropped ")[0] for m in warned} == {"first", "second"}, warned


def test_q_is_quiet_in_every_command_as_in_track_eval():
    """`track eval` and `track compare` took `-q` for `--quiet`; `track` and `track batch` refused it ("unrecognized
    arguments: -q"). All four take both spellings now."""
    from tracker.cli import _batch_parser, _parser
    from tracker.eval.cli import command_parser

    assert _parser().parse_args(["walk.mp4", "-q"]).quiet
    assert _batch_parser().parse_args(["walk.mp4", "--out", "o", "-q"]).quiet
    for compare in (False, True):
        assert command_parser(compare).parse_args(["--data", "d", "-q"]).quiet
    assert not _parser().parse_args(["walk.mp4"]).quiet


@pytest.mark.parametrize("output", ["walk.txt", "walk.mp4", "summary.json", "config.yaml"])
def test_a_gallery_named_like_an_output_of_the_run_is_refused_before_tracking(output, monkeypatch, tmp_path, capfd):
    """`track walk.avi --out OUT --gallery OUT/walk.txt`: the run tracked every frame, then its gallery save failed
    on the txt it had just written there ("... save with overwrite=True to replace it"), leaving a checkpoint, exit
    2. Now one error line naming both before anything is written (with --no-save-video too: the run removes an
    earlier run's mp4)."""

    def from_config(cfg, frame_rate=None, gallery=None):
        return Tracker(cfg, frame_rate, detector=blob_detector, embedder=colour_embedder, gallery=gallery)

    monkeypatch.setattr(run.Tracker, "from_config", staticmethod(from_config))
    video = write_video(tmp_path / "walk.avi", scene(5))
    out = tmp_path / "out"
    capfd.readouterr()
    assert main([str(video), "--out", str(out), "--gallery", str(out / output), "--no-save-video", "-q"]) == 2
    line = one_error_line(capfd.readouterr().err)
    assert f"--gallery {out / output} is the run's output {out / output}" in line, line
    assert not out.exists() or not any(out.iterdir())
    assert main([str(video), "--out", str(out), "--gallery", str(out / "site.gallery"), "-q"]) == 0
    assert (out / "site.gallery").is_file() and len(read_mot_rows(out / "walk.txt")) == 2 * 5


def test_a_class_name_for_classes_is_told_the_ids(capfd):
    """`track walk.mp4 --classes person` said only "invalid int value: 'person'"; now the usage error says that
    classes are ids and which id a person is."""
    with pytest.raises(SystemExit) as stop:
        main(["walk.mp4", "--classes", "person", "car"])
    assert stop.value.code == 2
    err = capfd.readouterr().err.strip().splitlines()[-1]
    assert "argument --classes: must be a class id, a whole number (COCO: 0 person, 2 car" in err, err
    assert err.endswith("got 'person'"), err


def test_classes_given_as_a_comma_list_or_empty_are_told_to_give_separate_ids(capfd):
    """`--classes 0,2` was told "must be a class id, a whole number (...), not a name", and `--classes ""` (a shell
    variable left unset) the same: neither said that ids are separate words."""
    for given, says in (
        ("0,2", "class ids are separate words, --classes 0 2, not a comma list: got '0,2'"),
        ("", "an empty class id (a shell variable left unset?): give ids as separate words, --classes 0 2"),
    ):
        with pytest.raises(SystemExit) as stop:
            main(["walk.mp4", "--classes", given])
        assert stop.value.code == 2
        err = capfd.readouterr().err.strip().splitlines()[-1]
        assert err == f"track: error: argument --classes: {says}", err


def test_a_source_after_the_class_ids_is_told_to_come_first(tmp_path, capfd):
    """`track --classes 0 cam.mp4` (Ultralytics' order) takes cam.mp4 for a class id: the usage error said "must be
    a class id, a whole number (...), not a name, got 'cam.mp4'", which did not say why. Now it says the word is a
    source and to give the sources first; ids, and names that are no source, are told as before."""
    folder = tmp_path / "frames"
    folder.mkdir()
    for source in ("cam.mp4", "cams/*.mp4", str(folder), "rtsp://host/stream"):
        with pytest.raises(SystemExit) as stop:
            main(["--classes", "0", source])
        assert stop.value.code == 2
        err = capfd.readouterr().err.strip().splitlines()[-1]
        assert err == (
            f"track: error: argument --classes: must be class ids, got {source!r}, a source: --classes takes every "
            f"word after it as an id, so give the sources first (track {shlex.quote(source)} --classes 0)"
        ), err
    for word in ("0.5", "person"):
        with pytest.raises(SystemExit) as stopped:
            main(["walk.mp4", "--classes", word])
        assert stopped.value.code == 2, stopped.value.code  # (a usage error: exit status 2)
        assert "not a name, got" in capfd.readouterr().err


@pytest.mark.parametrize(
    ("argv", "example"),
    [
        (["--classes", "0", "frames/*.jpg"], "track 'frames/*.jpg' --classes 0"),
        (["a b.mp4", "--classes", "2", "SEQ/img1/*.jpg"], "track 'a b.mp4' 'SEQ/img1/*.jpg' --classes 2"),
        (["batch", "--classes", "0", "cams/cam?.mp4", "--out", "o"], "track batch 'cams/cam?.mp4' --classes 0 --out o"),
    ],
)
def test_the_sources_first_example_quotes_a_glob_as_the_shell_needs_it(argv, example, capfd):
    """`track --classes 0 'frames/*.jpg'` (a quoted glob: the shell passed it whole) was told "give the sources first
    (track frames/*.jpg --classes 0 ...)": copied into a shell, the unquoted glob is expanded into the image files,
    which `track` refuses (several image files). The example quotes a word the shell would change (a glob, a space)
    as the shell needs it (`shlex.quote`); plain names stay as they are."""
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    err = capfd.readouterr().err.strip().splitlines()[-1]
    assert err.endswith(f"so give the sources first ({example})"), err


def test_track_batchs_source_after_the_class_ids_is_shown_the_batch_command(capfd):
    """`track batch --classes 0 cam.mp4 --out o`: the usage error's example of the right order said `track cam.mp4
    --classes 0 ...`, another command than the one typed. Now `track batch cam.mp4 --classes 0 ...`."""
    with pytest.raises(SystemExit) as stop:
        main(["batch", "--classes", "0", "cam.mp4", "--out", "o"])
    assert stop.value.code == 2
    err = capfd.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("track batch: error: argument --classes: must be class ids, got 'cam.mp4', a source"), err
    assert err.endswith("so give the sources first (track batch cam.mp4 --classes 0 --out o)"), err


@pytest.mark.parametrize(
    "command", [["walk.mp4"], ["batch", "walk.mp4", "--out", "o"], ["eval", "--data", "d"], ["gallery", "prune", "g"]]
)
def test_a_set_whose_value_is_a_word_of_its_own_is_told_to_join_them(command, capfd):
    """`--set detector.confidence 0.3` (the value as a word of its own, as ultralytics' `--conf 0.3`) was told
    "unrecognized arguments: 0.3" by every command that takes --set; the usage error now names the --set and how to
    write it, and a KEY=VALUE is taken as before."""
    with pytest.raises(SystemExit) as stop:
        main([*command, "--set", "detector.confidence", "0.3"])
    assert stop.value.code == 2
    err = capfd.readouterr().err.strip().splitlines()[-1]
    assert err.endswith(
        "error: argument --set: must be KEY=VALUE in one word, got 'detector.confidence' "
        "(--set detector.confidence=VALUE: no space around =, quotes around a value with spaces)"
    ), err
    with pytest.raises(SystemExit) as stopped:
        main([*command, "--set", "detector.confidence=0.3", "--set"])  # (a KEY=VALUE passes; the bare --set stops)
    assert stopped.value.code == 2, stopped.value.code  # (a usage error: exit status 2)
    assert "expected one argument" in capfd.readouterr().err


@pytest.mark.parametrize(
    "command", [["walk.mp4"], ["batch", "walk.mp4", "--out", "o"], ["eval", "--data", "d"], ["gallery", "prune", "g"]]
)
@pytest.mark.parametrize(
    ("cut", "rest", "opener", "closer"),
    [("detector.classes=[0,", "2]", "[", "]"), ("detector={confidence:", "0.3}", "{", "}")],
)
def test_a_set_whose_list_the_shell_split_is_told_to_quote_it(command, cut, rest, opener, closer, capfd):
    """`--set detector.classes=[0, 2]` unquoted (the shell splits it at the space) was told "unrecognized arguments:
    2]", which did not say that the --set's value was cut; the usage error now names it and says to quote it."""
    with pytest.raises(SystemExit) as stop:
        main([*command, "--set", cut, rest])
    assert stop.value.code == 2
    err = capfd.readouterr().err.strip().splitlines()[-1]
    assert err.endswith(
        f"error: argument --set: {cut!r} ends before its {opener!r} is closed (the shell split the value at a "
        f"space?): quote it whole, --set '{cut} ...{closer}'"
    ), err


def test_ultralytics_key_value_words_and_options_are_told_ours(tmp_path, monkeypatch, capfd):
    """`track source=cam.mp4 conf=0.3` (as `yolo track` takes them) said "no such file or folder: conf=0.3", and
    `--tracker bytetrack.yaml`, `--project`, `--save-txt` "unrecognized arguments". Each now says what to give
    here; a file whose name holds `=` is still a source."""
    monkeypatch.chdir(tmp_path)
    told = {
        "source=cam.mp4": "is ultralytics' way to name the source: give the source itself (track cam.mp4)",
        "conf=0.3": "is no file or folder, nor a setting --set takes: unknown config key 'conf'; did you mean",
        "detector.confidence=0.3": "is no file or folder: give a setting as --set detector.confidence=0.3",
        "tracker=bytetrack.yaml": "is ultralytics' tracker YAML: give this tracker's as --config FILE",
    }
    for word, says in told.items():
        assert main(["walk.mp4", word]) == 2
        err = capfd.readouterr().err.strip()
        assert err.startswith(f"track: error: {word} {says}") and "\n" not in err, err
    (tmp_path / "a=b.mp4").write_bytes(b"")
    assert main(["a=b.mp4"]) == 2  # (an empty file: not a video, said as such)
    err = capfd.readouterr().err
    assert "a=b.mp4" in err and "--set" not in err, err
    for option, says in (("--tracker", "--config FILE"), ("--project", "--out DIR"), ("--save-txt", "no option")):
        with pytest.raises(SystemExit) as stopped:
            main(["walk.mp4", option, "x"])
        assert stopped.value.code == 2, stopped.value.code  # (a usage error: exit status 2)
        err = capfd.readouterr().err.strip().splitlines()[-1]
        assert err.startswith(
            f"track: error: {option} is not an option of track: for ultralytics' {option}, give {says}"
        ), err


@pytest.mark.parametrize(
    ("given", "says"),
    [
        (["--output", "res"], "--output is not an option of track: give --out DIR"),
        (["--output-dir", "res"], "--output-dir is not an option of track: give --out DIR"),
        (["--save-dir", "res"], "--save-dir is not an option of track: give --out DIR"),
        (["-o", "res"], "-o is not an option of track: give --out DIR"),
        (["--no-show"], "--no-show is not an option of track: leave --show out (it is off unless given)"),
        (["--show=False"], "--show takes no value: leave --show out (it is off unless given), or give --show alone"),
        (["--save-video=false"], "--save-video takes no value: give --no-save-video, or --save-video alone"),
    ],
)
def test_options_a_user_guesses_are_told_ours(given, says, tmp_path, monkeypatch, capfd):
    """`track cam.mp4 --output res` (or `-o`, `--output-dir`, `--save-dir`) said only "unrecognized arguments:
    --output res", `--no-show` the same, and `--show=False` argparse's "ignored explicit argument 'False'": none
    said what to give. Each is one usage error naming ours, before anything loads."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as stopped:
        main(["walk.mp4", *given])
    assert stopped.value.code == 2, stopped.value.code  # (a usage error: exit status 2)
    err = capfd.readouterr().err.strip().splitlines()[-1]
    assert err == f"track: error: {says}", err
    assert not (tmp_path / "res").exists()


@pytest.mark.parametrize("command", [[], ["batch", "--out", "out"]])
def test_boxmot_track_options_are_told_ours(command, tmp_path, monkeypatch, capfd):
    """`boxmot track --tracking-method botsort --save --per-class` habits were "unrecognized arguments" (`--save`:
    "write the option in full (--save-video)", which is on by default), and `--yolo-model` was told as ultralytics'.
    Each says it is BoxMOT's and what to give here, before anything loads."""
    from tracker.cli_args import BOXMOT_OPTIONS

    monkeypatch.chdir(tmp_path)
    prog = "track batch" if command else "track"
    for option, says in BOXMOT_OPTIONS.items():
        with pytest.raises(SystemExit) as stopped:
            main([*command, "walk.mp4", option, "x"])
        assert stopped.value.code == 2, stopped.value.code  # (a usage error: exit status 2)
        err = capfd.readouterr().err.strip().splitlines()[-1]
        assert err == f"{prog}: error: {option} is not an option of {prog}: for BoxMOT's {option}, give {says}", err
    assert "--yolo-model" in BOXMOT_OPTIONS and "--tracking-method" in BOXMOT_OPTIONS and "--save" in BOXMOT_OPTIONS
    assert not (tmp_path / "out").exists()


def test_ultralytics_key_value_words_in_batch_are_told_ours_before_any_video(tmp_path, monkeypatch, capfd):
    """`track batch cam.mp4 conf=0.3` failed `conf=0.3` as a video ("no such file or folder"), after the other
    videos; it is now the error `track` gives, exit status 2, before anything runs. A file named `a=b.mp4` that
    exists is still a source."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "walk.mp4").write_bytes(b"")
    monkeypatch.setattr("tracker.batch.track_many", lambda *a, **k: pytest.fail("tracked despite a KEY=VALUE word"))
    told = {
        "source=cam.mp4": "is ultralytics' way to name the source: give the source itself (track batch cam.mp4)",
        "conf=0.3": "is no file or folder, nor a setting --set takes: unknown config key 'conf'; did you mean",
        "detector.confidence=0.3": "is no file or folder: give a setting as --set detector.confidence=0.3",
    }
    for word, says in told.items():
        assert main(["batch", "walk.mp4", word, "--out", "out"]) == 2
        err = capfd.readouterr().err.strip()
        assert err.startswith(f"track batch: error: {word} {says}") and "\n" not in err, err
    assert not (tmp_path / "out").exists()
    (tmp_path / "a=b.mp4").write_bytes(b"")
    given = []

    class Started(Exception):
        """Raised where the batch would start tracking."""

    def started(sources, *_args, **_kwargs):
        given.extend(sources)
        raise Started

    monkeypatch.setattr("tracker.batch.track_many", started)
    with pytest.raises(Started):
        main(["batch", "walk.mp4", "a=b.mp4", "--out", "out"])
    assert given == ["walk.mp4", "a=b.mp4"]


def test_an_out_named_like_a_video_is_told_it_is_the_runs_folder(fake_models, tmp_path, capsys):
    """`track walk.avi --out result.mp4` (the annotated video meant) made a folder result.mp4 holding walk.mp4 and
    the other outputs without a word. A note says so; a folder of that name already there is not told again."""
    video = write_video(tmp_path / "walk.avi", scene(2))
    out = tmp_path / "result.mp4"
    assert main([str(video), "--out", str(out), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert (
        f"track: note: --out {out} names the run's folder, not its video: the outputs go into it "
        f"({out / 'walk'}.mp4, .txt, .jsonl, ...)"
    ) in err, err
    assert (out / "walk.mp4").is_file() and (out / "walk.txt").is_file()
    assert main([str(video), "--out", str(out), "--quiet"]) == 0
    assert "names the run's folder" not in capsys.readouterr().err


def test_a_setting_that_cannot_work_is_warned_on_stderr_without_verbose(fake_models, tmp_path, capsys):
    """`--set "motion.camera_exclude=[[0.001,0,1,1]]"` excludes every pixel, so every camera-motion estimate fails;
    the library's warning saying why was logged at WARNING, below the ERROR level `track` logged at without
    --verbose: the user saw a run that tracked with no camera motion and no word of it. Now one line on stderr, in
    the form of the command's notes, also with --quiet; other lines stay as they were."""
    video = write_video(tmp_path / "walk.avi", scene(4))
    mistake = ["--set", "motion.camera_compensation=sparse_flow", "--set", "motion.camera_exclude=[[0.001,0,1,1]]"]
    assert main([str(video), "--out", str(tmp_path / "out"), "--no-save-video", "--quiet", *mistake]) == 0
    warned = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert len(warned) == 1, warned
    assert warned[0].startswith("track: warning: motion.camera_exclude [[0.001, 0.0, 1.0, 1.0]] leaves no pixel")


def test_exclude_regions_without_compensation_are_warned_once_naming_both_keys(fake_models, tmp_path, capsys, caplog):
    """`--set "motion.camera_exclude=[[0,0.8,1,1]]"` with `motion.camera_compensation` left at none was accepted
    without a word: the regions excluded nothing, as no camera motion is estimated. One warning per run names both
    keys (two videos here: not one per video); a config may keep its regions for later, so it is no error."""
    videos = [str(write_video(tmp_path / f"{name}.avi", scene(3))) for name in ("a", "b")]
    regions = ["--set", "motion.camera_exclude=[[0,0.8,1,1]]"]
    assert main([*videos, "--out", str(tmp_path / "out"), "--no-save-video", "--quiet", *regions]) == 0
    warned = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert warned == [
        "track: warning: motion.camera_exclude is not used: motion.camera_compensation is none (no camera motion is "
        "estimated, so no region is excluded from it); set motion.camera_compensation to auto, sparse_flow, orb or ecc"
    ], warned
    caplog.clear()
    with caplog.at_level(logging.WARNING):  # `track batch`'s config (its videos' trackers warn of nothing)
        run_config.load_run_config(None, regions[1:])
    assert [r.getMessage() for r in caplog.records] == [warned[0].removeprefix("track: warning: ")]


def test_a_normal_run_prints_no_warning(fake_models_with_reid, tmp_path, capsys):
    """The tracker's warnings show without --verbose: a correct run of a plain video (camera motion estimated, an
    appearance model, a gallery saved, a video written) must warn of nothing, or users learn to ignore them."""
    video = write_video(tmp_path / "walk.avi", scene(6))
    cmc = ["--set", "motion.camera_compensation=sparse_flow"]
    handlers, level = list(logging.getLogger().handlers), logging.getLogger().level
    assert main([str(video), "--out", str(tmp_path / "out"), "--gallery", str(tmp_path / "g.npz"), *cmc]) == 0
    err = capsys.readouterr().err
    assert "warning" not in err.lower(), err
    assert (logging.getLogger().handlers, logging.getLogger().level) == (handlers, level), "the caller's logging stays"


def images_with_unreadable(tmp_path: Path, count: int, unreadable: tuple[int, ...]) -> Path:
    """A folder `frames` of `count` numbered PNG images of `scene`, those numbered in `unreadable` replaced by bytes no
    decoder reads."""
    folder = tmp_path / "frames"
    folder.mkdir()
    for number, image in enumerate(scene(count), start=1):
        cv2.imwrite(str(folder / f"{number}.png"), image)
    for number in unreadable:
        (folder / f"{number}.png").write_bytes(b"not a png")
    return folder


def test_an_unreadable_image_is_said_by_the_summary_not_by_a_warning_line_each(fake_models, tmp_path, capsys):
    """A folder of images with damaged ones: each skipped image was a library warning, which `track` now prints, one
    line per image (a folder of many damaged images: as many lines, past --quiet too). The summary counts them and
    names the first ones; the per-image lines are INFO (--verbose)."""
    folder = images_with_unreadable(tmp_path, 5, (2, 4))
    assert main([str(folder), "--out", str(tmp_path / "out"), "--no-save-video"]) == 0
    out, err = capsys.readouterr()
    assert "2 unreadable frames skipped" in out and "warning" not in err, (out, err)


def test_a_folder_with_unreadable_images_tracked_to_its_end_is_not_said_to_stop_before_it(
    fake_models, tmp_path, capsys
):
    """A folder of 5 images, 2 of them unreadable, tracked to its end: the printed summary said "tracked 3 frames ...,
    of the 5 to the source's end", as for a run stopped early (and summary.json's `frames` 3 against
    `expected_frames` 5 read so, which cli.md gave as the sign of a run stopped early). The frames skipped as
    unreadable were reached: 3 tracked + 2 skipped is the source's end."""
    folder = images_with_unreadable(tmp_path, 5, (2, 4))
    assert main([str(folder), "--out", str(tmp_path / "out"), "--no-save-video"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("tracked 3 frames") and "source's end" not in first, first
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert (summary["frames"], summary["corrupt_frames"], summary["expected_frames"]) == (3, 2, 5)


def test_the_bar_of_a_folder_with_unreadable_images_fills_at_its_end(fake_models, tmp_path, capsys):
    """The progress bar counted the frames tracked against a total of every frame: a folder of 5 images, 2 of them
    unreadable, tracked to its end left the bar at 3/5, 60%, as if the run had stopped. It counts the frames
    reached, tracked or skipped: 5/5."""
    folder = images_with_unreadable(tmp_path, 5, (2, 5))  # (5: after the last frame tracked)
    assert main([str(folder), "--out", str(tmp_path / "out"), "--no-save-video"]) == 0
    last = capsys.readouterr().err.replace("\r", "\n").strip().splitlines()[-1]
    assert "100%" in last and "5/5" in last, last


@pytest.mark.parametrize("save_video", [True, False])
def test_max_frames_stops_at_that_source_frame_across_unreadable_images(fake_models, tmp_path, capsys, save_video):
    """`--max-frames 5` reads the source's first 5 frames (cli.md: "the source's frames"). With frames 3 and 4 of 8
    unreadable, it tracked 5 readable ones, frames 1, 2, 5, 6 and 7, past source frame 5, and said it had not
    been cut. It tracks 1, 2 and 5, counts 3 and 4 as unreadable, and is cut short (the annotated video holds 5
    frames, one per source frame up to the limit)."""
    folder = images_with_unreadable(tmp_path, 8, (3, 4))
    out = tmp_path / "out"
    video = ["--save-video"] if save_video else ["--no-save-video"]
    assert main([str(folder), "--out", str(out), "--max-frames", "5", *video]) == 0
    printed = capsys.readouterr().out.splitlines()[0]
    assert printed.endswith(", of the 8 to the source's end"), printed
    numbers = [json.loads(line)["frame"] for line in (out / "frames.jsonl").read_text().splitlines()]
    assert numbers == [1, 2, 5]
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["frames"], summary["corrupt_frame_numbers"], summary["cut_short"]) == (3, [3, 4], True)
    if save_video:
        assert video_info(out / "frames.mp4")[0] == 5


def test_the_summary_names_a_failed_file_not_utf8_as_the_error_line_does(fake_models, tmp_path, monkeypatch, capsys):
    """An output whose file is a symbolic link loop named `caf<0xE9>`: the error line named it `caf\\ufffd`, but
    summary.json's `error` said Python's repr of it, the escape `caf\\udce9` as text. It says the error line's words
    (U+FFFD for the byte: UTF-8 JSON that jq and strict readers take)."""
    import errno

    from tracker.io.mot import MotWriter

    looped = undecodable_path(tmp_path, b"caf\xe9")

    def loop(self):
        raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), str(looped))

    monkeypatch.setattr(MotWriter, "sync", loop)
    video, out = write_video(tmp_path / "walk.avi", scene()), tmp_path / "out"
    assert main([str(video), "--out", str(out), "--quiet", "--set", "reid.model=none"]) == 2
    said = one_error_line(capsys.readouterr().err)
    assert said == f"track: error: [Errno 40] Too many levels of symbolic links: '{tmp_path}/caf\ufffd'", said
    assert json.loads((out / "summary.json").read_bytes())["error"] == said.removeprefix("track: error: ")


@pytest.mark.parametrize(
    ("argv", "example"),
    [
        (["--classes", "0", "clipA.mp4", "clipB.mp4"], "track clipA.mp4 clipB.mp4 --classes 0"),
        (["clipA.mp4", "--classes", "0", "clipB.mp4"], "track clipA.mp4 clipB.mp4 --classes 0"),
        (
            ["clipA.mp4", "--classes", "0", "2", "clipB.mp4", "-q", "clipC.mp4"],
            "track clipA.mp4 clipB.mp4 clipC.mp4 --classes 0 2 -q",
        ),
        (
            ["--out", "o", "--classes", "2", "clipB.mp4", "--", "-c.mp4"],
            "track --out o --classes 2 -- clipB.mp4 -c.mp4",
        ),
        (["batch", "a.mp4", "--classes", "0", "b.mp4", "--out", "o"], "track batch a.mp4 b.mp4 --classes 0 --out o"),
    ],
)
def test_the_sources_first_example_keeps_every_source_in_order(argv, example, capfd):
    """`track --classes 0 clipA.mp4 clipB.mp4` was told "give the sources first (track clipA.mp4 --classes 0 ...)",
    and `track clipA.mp4 --classes 0 clipB.mp4` "(track clipB.mp4 --classes 0 ...)": the example, copied, tracked one
    of the two. It now holds every source given, before and after --classes, in the order given, and the ids."""
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    err = capfd.readouterr().err.strip().splitlines()[-1]
    assert err.endswith(f"so give the sources first ({example})"), err


@pytest.mark.parametrize("command", [[], ["batch"]])
@pytest.mark.parametrize(
    ("gpus", "here"),
    [(0, "cpu only: it has no CUDA GPU"), (1, "cpu, cuda or cuda:0"), (3, "cpu, cuda or cuda:0 to cuda:2")],
)
def test_apples_mps_device_is_told_unsupported_with_the_devices_here(
    tmp_path, capsys, monkeypatch, command, gpus, here
):
    """`track v.mp4 --device mps` (Apple's GPU, as PyTorch names it) said "'mps' is not a device", as of a typo:
    a Mac user was not told that MPS is a device this tracker does not run on, nor which devices this machine has.
    Now the usage error says MPS is not supported and names the devices this machine can use."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: gpus > 0)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: gpus)
    argv = [*command, stub_video(tmp_path), "--out", str(tmp_path / "out"), "--device", "mps"]
    err = usage_error(monkeypatch, capsys, argv, "ran with --device mps")
    assert err.splitlines()[-1].endswith(
        "error: argument --device: 'mps' (Apple's GPU, MPS) is not supported; use auto, cpu, cuda or cuda:N "
        f"(this machine can use {here})"
    ), err


def test_a_config_of_apples_mps_device_is_told_unsupported():
    """`--set device=mps` or `device: mps` in a YAML: the config's error says so too (the machine's devices are for
    the run, `resolve_device`: a config written elsewhere loads anywhere)."""
    with pytest.raises(ValueError, match=r"^device: 'mps' \(Apple's GPU, MPS\) is not supported; use auto, cpu, cuda"):
        load_config(None, {"device": "mps"})


def test_a_class_id_that_is_also_a_file_name_here_is_an_id(tmp_path, monkeypatch, capfd):
    """A file named `0` in the current folder: `--classes 0` is still the id 0 (as `class_id` reads it), neither a
    source after --classes nor one of the sources the example names."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "0").write_text("")
    with pytest.raises(SystemExit) as stop:
        main(["clipA.mp4", "--classes", "0", "clipB.mp4"])
    assert stop.value.code == 2
    err = capfd.readouterr().err.strip().splitlines()[-1]
    assert err.endswith(
        "got 'clipB.mp4', a source: --classes takes every word after it as an id, so give the sources "
        "first (track clipA.mp4 clipB.mp4 --classes 0)"
    ), err


@pytest.mark.parametrize(
    ("argv", "sources", "ids"),
    [
        (["--classes", "0", "cam.mp4"], ["cam.mp4"], [0]),
        (["--classes", "cam.mp4", "-q"], ["cam.mp4"], [0]),
        (["--out", "o", "--classes", "2", "clipB.mp4", "--", "-c.mp4"], ["clipB.mp4", "-c.mp4"], [2]),
        (
            ["a b.mp4", "--max-frames", "5", "--classes", "0", "2", "frames/*.jpg", "-q"],
            ["a b.mp4", "frames/*.jpg"],
            [0, 2],
        ),
        (["batch", "--classes", "0", "cams/cam?.mp4", "--out", "o"], ["cams/cam?.mp4"], [0]),
    ],
)
def test_the_sources_first_example_runs_as_printed(argv, sources, ids, capfd):
    """The example ended `--classes 0 ...`: pasted, "..." was read as a class id (a usage error); and a source given
    after `--` (`-c.mp4`) was shown bare before --classes, read as an option. Parsed back as a shell and `track`
    read it, the example now gives the sources in order, the ids, and the other options as typed."""
    from tracker.cli import _batch_parser, _parser

    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    err = capfd.readouterr().err.strip().splitlines()[-1]
    example = shlex.split(err.rpartition("so give the sources first (")[2].removesuffix(")"))
    batch = argv[0] == "batch"
    assert example[: 2 if batch else 1] == (["track", "batch"] if batch else ["track"]), example
    args = (_batch_parser() if batch else _parser()).parse_args(example[2 if batch else 1 :])
    assert (args.sources if batch else args.source, args.classes) == (sources, ids), example
    if "--out" in argv:  # (the options typed are kept)
        assert str(args.out) == "o", example
    if "--max-frames" in argv:
        assert args.max_frames == 5, example
