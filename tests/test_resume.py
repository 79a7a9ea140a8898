"""`track SOURCE --resume`: a run stopped at frame k (Ctrl-C, a kill) and resumed writes the outputs of a run that
was never stopped; checkpoints of other runs and damaged ones are refused with one error.

Most tests use the blob detector and a colour ReID of test_cli (appearance banks, calibration queues and revivals
all in play, no model files); the last runs the real detector and OSNet on a shared clip and kills the process.
"""

from __future__ import annotations

import errno
import json
import os
import pickle
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from media import undecodable_path, write_video
from test_cli import (
    blob_detector,
    child_env,
    colour_embedder,
    images_with_unreadable,
    scene,
    use_fake_models,
    weights_args,
)

import tracker.io.sources as sources
import tracker.run as run
import tracker.run_gallery as run_gallery
import tracker.run_outputs as run_outputs
from tracker import gallery_format
from tracker.bank import AppearanceBank
from tracker.cli import main
from tracker.config import load_config
from tracker.gallery import Gallery
from tracker.gallery_file import file_version
from tracker.io.image_depth import DepthReader
from tracker.io.names import is_utf8
from tracker.io.opencv_files import write_image
from tracker.pipeline import Tracker
from tracker.resume import CHECKPOINT_NAME, GALLERY_RECORD_NAME, Checkpointer, Progress, read_checkpoint
from tracker.run_gallery import GallerySaver

FRAMES = 60  # the synthetic scene's length: the walkers cross (an occlusion) around frame 25
STOP_AT = 37  # the frame in hand when the run is stopped or killed
EVERY = 10  # checkpoint interval of the fake clock, in frames
OUTPUTS = (".txt", ".jsonl")


@pytest.fixture
def fake_models(monkeypatch):
    """The blob detector with a colour ReID (so the state holds banks and calibration queues)."""
    use_fake_models(monkeypatch, embedder=colour_embedder)


def checkpoint_every(monkeypatch, every: int) -> None:
    """Make `track` checkpoint every `every` frames: the checkpointer's clock advances one second per frame it is
    asked about."""
    ticks = iter(range(10**6))

    def checkpointer(path, identity, every_seconds):
        return Checkpointer(path, identity, every, clock=lambda: float(next(ticks)))

    monkeypatch.setattr(run, "Checkpointer", checkpointer)


@pytest.fixture
def frame_clock(monkeypatch):
    """Checkpoints every EVERY frames (`checkpoint_every`)."""
    checkpoint_every(monkeypatch, EVERY)


def outputs(folder: Path, stem: str) -> dict[str, bytes]:
    return {ext: (folder / f"{stem}{ext}").read_bytes() for ext in OUTPUTS}


def stop_at(monkeypatch, frame: int, how) -> None:
    """Call `how()` when frame `frame` is about to be written (the run is stopped with that frame in hand)."""
    write = run_outputs.RunOutputs.write

    def write_then_stop(self, number, objects, local=None):
        if number == frame:
            how()
        write(self, number, objects, local)

    monkeypatch.setattr(run_outputs.RunOutputs, "write", write_then_stop)


def kill() -> None:
    raise KeyboardInterrupt  # the abort path: no final checkpoint, as after a kill -9


@pytest.fixture
def clip(tmp_path) -> Path:
    return write_video(tmp_path / "walk.avi", scene(FRAMES))


@pytest.fixture
def reference(clip, tmp_path, fake_models) -> dict[str, bytes]:
    """The outputs of the clip tracked without a stop."""
    assert main([str(clip), "--out", str(tmp_path / "whole"), "--quiet"]) == 0
    assert not (tmp_path / "whole" / CHECKPOINT_NAME).exists(), "a finished run leaves no checkpoint"
    return outputs(tmp_path / "whole", "walk")


def test_an_aborted_run_says_that_it_can_be_resumed(clip, tmp_path, monkeypatch, fake_models, frame_clock, capsys):
    """A second Ctrl-C aborts with no summary; it printed "track: interrupted" alone, so the user did not know the
    run could go on. Now it names the checkpoint; an abort before the first checkpoint says nothing of resuming."""
    out = tmp_path / "run"
    with monkeypatch.context() as m:
        stop_at(m, STOP_AT, kill)
        assert main([str(clip), "--out", str(out), "--quiet"]) == 130
    err = capsys.readouterr().err
    assert f"--resume continues the run from {out / CHECKPOINT_NAME}" in err, err
    with monkeypatch.context() as m:
        m.setattr(run, "Checkpointer", lambda path, identity, every: Checkpointer(path, identity, 10**9))
        stop_at(m, 1, kill)  # the first checkpoint comes after the first frame: none yet
        assert main([str(clip), "--out", str(tmp_path / "early"), "--quiet"]) == 130
    err = capsys.readouterr().err
    assert "track: interrupted" in err and "--resume" not in err, err


def test_the_same_command_again_without_resume_says_it_replaces_the_stopped_run(
    clip, tmp_path, monkeypatch, fake_models, frame_clock, capsys
):
    """Ctrl-C, then the same command again (without `--resume`) into its `--out`: the new run removed the stopped
    run's checkpoint and started over from the first frame without a word. Now a note says which run it replaces
    and that `--resume` continues one; a run into a folder with no stopped run says nothing of it."""
    out = tmp_path / "run"
    args = [str(clip), "--out", str(out), "--quiet", "--no-save-video"]
    with monkeypatch.context() as m:
        stop_at(m, STOP_AT, kill)
        assert main(args) == 130
    with (out / CHECKPOINT_NAME).open("rb") as file:
        last = json.loads(file.readline())["progress"]["last_frame"]
    assert 0 < last < STOP_AT
    capsys.readouterr()
    assert main(args) == 0
    err = capsys.readouterr().err
    assert f"track: note: {out} holds a run stopped after frame {last} (checkpoint.bin)" in err, err
    assert "this run starts over and replaces it (the same command with --resume continues a stopped run)" in err
    assert not (out / CHECKPOINT_NAME).exists()
    assert main(args) == 0
    assert "holds a run stopped" not in capsys.readouterr().err


def test_a_stopped_run_in_a_folder_an_eval_wrote_into_says_how_to_resume_it(
    clip, reference, tmp_path, monkeypatch, fake_models, frame_clock, capsys
):
    """A run killed, then (as was allowed before) `track eval --out` into its folder: `--resume` is refused, as any
    `track` into an eval folder, but "choose another --out" left no way to resume it. The line says what to move
    out, and once moved the resume finishes the run as an uninterrupted one."""
    out = tmp_path / "run"
    with monkeypatch.context() as m:
        stop_at(m, STOP_AT, kill)
        assert main([str(clip), "--out", str(out), "--quiet"]) == 130
    (out / "metrics.csv").write_text("sequence,HOTA\n")  # the eval's table, and its summary.json over the run's
    (out / "summary.json").write_text('{"trackers": ["ours"]}')
    capsys.readouterr()
    assert main([str(clip), "--resume", "--out", str(out), "--quiet"]) == 2
    said = capsys.readouterr().err
    assert "to --resume the `track` run there, first move that run's metrics.csv and summary.json out of it" in said
    for name in ("metrics.csv", "summary.json"):
        (out / name).rename(tmp_path / name)
    assert main([str(clip), "--resume", "--out", str(out), "--quiet"]) == 0
    assert outputs(out, "walk") == reference


def test_a_killed_run_resumed_writes_the_outputs_of_an_uninterrupted_one(
    clip, reference, tmp_path, monkeypatch, frame_clock
):
    """Killed at frame 37 (no final checkpoint; a half line left in each file), resumed from the checkpoint after
    frame 31: the txt and JSONL are byte for byte those of the uninterrupted run, and the redrawn video has every
    frame. The kill lost at most one checkpoint interval."""
    out = tmp_path / "run"
    with monkeypatch.context() as m:
        stop_at(m, STOP_AT, kill)
        assert main([str(clip), "--out", str(out), "--quiet"]) == 130
    kept = out / "walk.jsonl"
    with kept.open("a") as f:
        f.write('{"frame": 37, "tra')  # what a process killed mid-write leaves
    progress = json.loads((out / CHECKPOINT_NAME).read_bytes().partition(b"\n")[0])["progress"]
    assert STOP_AT - 1 - EVERY < progress["last_frame"] < STOP_AT, "a kill loses at most one interval"
    assert progress["last_frame"] != STOP_AT - 1, "the test must resume from an older state than the last frame"

    assert main([str(clip), "--resume", "--out", str(out), "--quiet"]) == 0
    assert outputs(out, "walk") == reference
    assert not (out / CHECKPOINT_NAME).exists()
    video = cv2.VideoCapture(str(out / "walk.mp4"))
    assert int(video.get(cv2.CAP_PROP_FRAME_COUNT)) == FRAMES
    video.release()


@pytest.mark.parametrize("older", [False, True], ids=["runs", "older-list"])
def test_a_resumed_run_counts_the_tracks_its_checkpoint_kept(
    clip, reference, tmp_path, monkeypatch, frame_clock, older
):
    """The checkpoint keeps the IDs shown before it as runs of consecutive IDs (`track_runs`), not a list of each
    (a run of days wrote ~520 000 IDs a day into every checkpoint); resumed, the summary counts them with those shown
    after it: the uninterrupted run's count, and one more for an ID the checkpoint holds that the frames after it
    never show (ID 99, added to it). A checkpoint written before (`tracks`, a list) resumes alike."""
    out = tmp_path / "run"
    with monkeypatch.context() as m:
        stop_at(m, STOP_AT, kill)
        assert main([str(clip), "--out", str(out), "--quiet"]) == 130
    path = out / CHECKPOINT_NAME
    head, _, payload = path.read_bytes().partition(b"\n")
    header = json.loads(head)
    progress = header["progress"]
    assert progress["track_runs"] and progress["tracks"] == []
    runs = [*progress.pop("track_runs"), [99, 99]]
    if older:  # as an earlier version wrote it
        progress["tracks"] = [i for first, last in runs for i in range(first, last + 1)]
    else:
        progress["track_runs"] = runs
    path.write_bytes(json.dumps(header).encode() + b"\n" + payload)  # (the header is not in the payload's hash)
    assert main([str(clip), "--resume", "--out", str(out), "--quiet"]) == 0
    assert outputs(out, "walk") == reference
    tracks = json.loads((tmp_path / "whole" / "summary.json").read_text())["tracks"]
    assert json.loads((out / "summary.json").read_text())["tracks"] == tracks + 1


def test_ctrl_c_checkpoints_the_frame_in_hand_and_resume_skips_undecoded_frames(
    clip, reference, tmp_path, monkeypatch, frame_clock, capsys
):
    """Ctrl-C writes a last checkpoint at the stop, so a resume redoes nothing; without a video the frames before
    it are not decoded. `--resume` alone finds the newest run folder of the source; its progress bar starts there."""
    monkeypatch.chdir(tmp_path)
    with monkeypatch.context() as m:
        # The installed handler is called as the OS would call it: a real signal to the pytest process could crash
        # it once an earlier test has destroyed OpenVINO CPU-plugin objects (the plugin leaves the main thread's
        # alternate signal stack pointing at freed memory; traced with gdb; `tracker.signal_stack` now guards it).
        stop_at(m, STOP_AT, lambda: signal.getsignal(signal.SIGINT)(signal.SIGINT, None))
        assert main([str(clip), "--quiet", "--no-save-video"]) == 130
    out = tmp_path / "runs" / "track" / "walk"
    header = json.loads((out / CHECKPOINT_NAME).read_bytes().partition(b"\n")[0])
    assert read_checkpoint(out / CHECKPOINT_NAME, header["identity"]).progress.last_frame == STOP_AT

    retrieved = []
    original = cv2.VideoCapture.retrieve
    with monkeypatch.context() as m:
        m.setattr(cv2.VideoCapture, "retrieve", lambda self, *a: retrieved.append(1) or original(self, *a))
        capsys.readouterr()
        assert main([str(clip), "--resume", "--no-save-video"]) == 0
    bar = [line for line in capsys.readouterr().err.replace("\r", "\n").split("\n") if "frame/s" in line]
    assert f"| {STOP_AT}/{FRAMES} [" in bar[0], bar[:2]
    assert len(retrieved) == FRAMES - STOP_AT, "frames up to the checkpoint are grabbed, not decoded"
    assert outputs(out, "walk") == reference
    assert json.loads((out / "summary.json").read_text())["frames"] == FRAMES


def test_a_resumed_run_leaves_the_config_file_of_the_config_it_resumed_with(clip, tmp_path, monkeypatch, frame_clock):
    """A stopped run's folder holds its `config.yaml` already; the resume (checked against the checkpoint's config)
    leaves the same file, writing it again where it went missing, and that file given back as `--config` resumes
    the run: it is the config the run tracked with."""
    configs = use_fake_models(monkeypatch, embedder=colour_embedder)
    out = tmp_path / "run"
    with monkeypatch.context() as m:
        stop_at(m, STOP_AT, kill)
        assert main([str(clip), "--out", str(out), "--quiet", "--set", "appearance.bank_capacity=20"]) == 130
    saved = out / run_outputs.CONFIG_NAME
    written = saved.read_text()
    assert load_config(saved) == configs[0] and configs[0].appearance.bank_capacity == 20
    kept = tmp_path / "kept.yaml"
    saved.rename(kept)
    assert main([str(clip), "--resume", "--out", str(out), "--quiet", "--config", str(kept)]) == 0
    assert not (out / CHECKPOINT_NAME).exists(), "resumed to the end"
    assert configs[-1] == configs[0] and saved.read_text() == written
    assert str(saved) in json.loads((out / "summary.json").read_text())["outputs"]


def test_a_checkpoint_of_another_config_or_source_is_refused(clip, tmp_path, monkeypatch, fake_models, capsys):
    out = tmp_path / "run"
    with monkeypatch.context() as m:
        stop_at(m, 20, kill)
        main([str(clip), "--out", str(out), "--quiet", "--no-save-video"])
    before = outputs(out, "walk")
    capsys.readouterr()
    assert main([str(clip), "--resume", "--out", str(out), "--quiet", "--set", "lifecycle.min_hits=5"]) == 2
    err = capsys.readouterr().err
    assert "made by another run" in err and "config.lifecycle.min_hits: 2 then, 5 now" in err, err
    assert len(err.strip().splitlines()) == 1

    clip.unlink()
    write_video(clip, scene(FRAMES - 5))  # the same name, other frames
    assert main([str(clip), "--resume", "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "bytes:" in err and "modified_ns:" in err, err
    assert outputs(out, "walk") == before, "a refused resume changes nothing"


def test_a_damaged_checkpoint_gives_one_clear_error(clip, tmp_path, monkeypatch, fake_models, capsys):
    out = tmp_path / "run"
    with monkeypatch.context() as m:
        stop_at(m, 20, kill)
        main([str(clip), "--out", str(out), "--quiet"])
    path = out / CHECKPOINT_NAME
    path.write_bytes(path.read_bytes()[:-100])  # a truncated copy
    capsys.readouterr()
    assert main([str(clip), "--resume", "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "is damaged" in err and len(err.strip().splitlines()) == 1
    path.write_bytes(b"\x00" * 64)
    assert main([str(clip), "--resume", "--out", str(out), "--quiet"]) == 2
    assert "not a track checkpoint" in capsys.readouterr().err


def test_a_finished_run_is_not_resumed_and_live_sources_refuse(clip, tmp_path, fake_models, capsys):
    out = tmp_path / "run"
    assert main([str(clip), "--out", str(out), "--quiet", "--no-save-video"]) == 0
    before = outputs(out, "walk")
    assert main([str(clip), "--resume", "--out", str(out), "--quiet"]) == 0
    assert "finished (60 frames): nothing to resume" in capsys.readouterr().out
    assert main(["--resume", "--out", str(out), str(clip), "--quiet"]) == 0  # a flag: the source may come after it
    assert "finished (60 frames): nothing to resume" in capsys.readouterr().out
    assert outputs(out, "walk") == before

    assert main(["7", "--resume", "--quiet"]) == 2  # webcam 7: nothing is opened before the refusal
    assert "cannot be resumed: a webcam, a stream or a URL" in capsys.readouterr().err
    assert main([str(clip), str(clip), "--resume", "--quiet"]) == 2
    assert "--resume continues one source" in capsys.readouterr().err


@pytest.mark.parametrize("other_name", ["other.avi", "b/walk.avi"])
def test_a_resume_into_the_finished_run_of_another_source_is_refused(other_name, clip, tmp_path, fake_models, capsys):
    """`track other.avi --resume --out RUN` where RUN is walk.avi's finished run said "the run in RUN finished (60
    frames): nothing to resume", exit status 0, though other.avi was never tracked there; so did `b/walk.avi` (the same
    stem, so the same `walk.txt`; or the newest `runs/walk-N` without --out). summary.json names the source, and the
    refusal names both; the run's own source still finds it finished."""
    out = tmp_path / "run"
    assert main([str(clip), "--out", str(out), "--quiet", "--no-save-video"]) == 0
    assert json.loads((out / "summary.json").read_text())["source"] == str(clip.resolve())
    before = outputs(out, "walk")
    other = tmp_path / other_name
    other.parent.mkdir(exist_ok=True)
    write_video(other, scene(5))
    capsys.readouterr()
    assert main([str(other), "--resume", "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    why = (
        f"is one of {clip.resolve()}, not of {other.resolve()}"
        if other.stem == clip.stem
        else "is not one of other (no other.txt there)"
    )
    assert err == [
        f"track: error: the run in {out} {why}: name its own run folder with --out, or run again without --resume"
    ], err
    assert outputs(out, "walk") == before and not (out / "other.txt").exists()
    assert main([str(clip), "--resume", "--out", str(out), "--quiet"]) == 0  # its own source: finished
    assert "finished (60 frames): nothing to resume" in capsys.readouterr().out


def test_tracker_state_pickles_and_continues_identically():
    """The core (tracks, Kalman, bank, calibration, still boxes, birth shapes, next ID) and a gallery pickle; the
    copy continues exactly as the original (`update_detections` on a scripted scene with embeddings)."""
    cfg = load_config()
    rng = np.random.default_rng(0)
    people = rng.normal(size=(4, 16))

    def frame(t: int):
        boxes = np.array([[10 + 7 * t + 80 * k, 40, 50 + 7 * t + 80 * k, 140] for k in range(4)], dtype=float)
        return boxes, np.full(4, 0.9), np.zeros(4, int), people + 0.05 * rng.normal(size=people.shape)

    gallery = Gallery(cfg.gallery)
    tracker = Tracker(cfg, 25.0, gallery=gallery)
    scripted = [frame(t) for t in range(40)]
    for dets in scripted[:20]:
        tracker.update_detections(*dets, frame_size=(480, 640))
    copy = pickle.loads(pickle.dumps(tracker.core))
    assert copy.gallery is not None and copy._next_id == tracker.core._next_id > 1
    ours = [tracker.update_detections(*d, frame_size=(480, 640)) for d in scripted[20:]]
    tracker.core = copy
    theirs = [tracker.update_detections(*d, frame_size=(480, 640)) for d in scripted[20:]]
    assert [[(o.track_id, o.xyxy.tolist()) for o in f] for f in ours] == [
        [(o.track_id, o.xyxy.tolist()) for o in f] for f in theirs
    ]


PEOPLE_CLIP_FRAMES = 90  # people.mp4 frames tracked: people enter, cross and leave
KILL_AFTER = 45  # JSONL lines written before the kill


def test_real_clip_killed_and_resumed_matches_the_uninterrupted_run(shared, shared_weights, tmp_path):
    """The real detector and OSNet on a shared clip: SIGKILL mid-run (checkpoints every frame, so the kill lands
    between writes), then --resume: the MOT txt and JSONL equal an uninterrupted run's byte for byte."""
    video = shared / "videos" / "people.mp4"
    frames = ["--max-frames", str(PEOPLE_CLIP_FRAMES)]
    cmd = [
        sys.executable,
        "-m",
        "tracker.cli",
        str(video),
        "--quiet",
        "--no-save-video",
        *frames,
        *weights_args(shared_weights),
    ]
    whole, run_dir = tmp_path / "whole", tmp_path / "run"
    done = subprocess.run([*cmd, "--out", str(whole)], env=child_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    proc = subprocess.Popen([*cmd, "--out", str(run_dir), "--checkpoint-seconds", "0.001"], env=child_env())
    jsonl = run_dir / "people.jsonl"
    deadline = time.time() + 240
    while time.time() < deadline and (not jsonl.exists() or len(jsonl.read_text().splitlines()) < KILL_AFTER):
        time.sleep(0.05)
    proc.kill()
    proc.wait(timeout=60)
    assert (run_dir / CHECKPOINT_NAME).exists() and not (run_dir / "people.txt").exists(), "killed mid-run"
    resume = [*cmd, "--resume", "--out", str(run_dir)]
    done = subprocess.run(resume, env=child_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert outputs(run_dir, "people") == outputs(whole, "people")


def test_a_gallery_with_a_faiss_index_pickles_and_answers_alike():
    """The gallery inside a checkpoint pickles with its faiss IVF index (faiss serialises its indexes) and the copy
    answers as the original."""
    from test_gallery import filled

    from tracker.config import GalleryConfig

    gallery, looks = filled(400, GalleryConfig(ivf_min_identities=200, ivf_nprobe=8))
    queries = looks[:50, 11]
    found = gallery.match(queries)
    assert gallery._ivf_trained_at > 0, "the IVF index is in use"
    copy = pickle.loads(pickle.dumps(gallery))
    np.testing.assert_array_equal(copy.match(queries), found)
    assert len(copy) == len(gallery) and copy.model == gallery.model


def test_a_run_with_a_gallery_resumes_with_the_gallery_of_its_checkpoint(tmp_path, monkeypatch, frame_clock):
    """With --gallery, the IDs shown are the gallery's global ones: a killed run resumed from its checkpoint gives
    the outputs and the gallery identities of an uninterrupted run (here the gallery does not change between the
    checkpoint and the kill, so this does not tell the checkpoint's gallery from the file's)."""
    import shutil

    from test_gallery_cli import ARGS

    _, second, known = _colour_gallery(tmp_path, monkeypatch)
    args = [str(second), *(a for a in ARGS if a != "--no-save-video")]
    shutil.copy(known, tmp_path / "whole.gallery")
    assert main([*args, "--gallery", str(tmp_path / "whole.gallery"), "--out", str(tmp_path / "whole")]) == 0

    gallery, out = tmp_path / "run.gallery", tmp_path / "run"
    shutil.copy(known, gallery)
    with monkeypatch.context() as m:
        stop_at(m, 25, kill)
        assert main([*args, "--gallery", str(gallery), "--out", str(out)]) == 130
    assert main([*args, "--gallery", str(gallery), "--resume", "--out", str(out)]) == 0
    assert outputs(out, "cam2") == outputs(tmp_path / "whole", "cam2")
    assert '"global_id"' in (out / "cam2.jsonl").read_text()

    def identities(path: Path) -> list[tuple[int, int]]:
        return sorted((i.global_id, i.sightings) for i in Gallery.load(path).identities)

    assert identities(gallery) == identities(tmp_path / "whole.gallery")


@pytest.mark.parametrize("older", [False, True], ids=["checkpoint", "checkpoint-before-the-gallery-count"])
def test_a_resumed_gallery_run_counts_returns_and_gallery_recognitions_as_an_uninterrupted_one(
    tmp_path, monkeypatch, frame_clock, older
):
    """A walker of cam2 is recognised from cam1's gallery in its first frames; a run killed at frame 25 and resumed
    from its checkpoint says what the uninterrupted run says: the recognitions before the checkpoint are not lost nor
    counted as returns after occlusion. A checkpoint written before the count existed still resumes (its
    recognitions so far count 0: they are among the returns)."""
    import shutil

    from test_gallery_cli import ARGS

    _, second, known = _colour_gallery(tmp_path, monkeypatch)
    args = [str(second), *ARGS]

    def counts(folder: Path) -> tuple[int, int]:
        summary = json.loads((folder / "summary.json").read_text())
        return summary["recovered"], summary["recognised_from_gallery"]

    shutil.copy(known, tmp_path / "whole.gallery")
    assert main([*args, "--gallery", str(tmp_path / "whole.gallery"), "--out", str(tmp_path / "whole")]) == 0
    whole = counts(tmp_path / "whole")
    assert whole[1] > 0, "a walker recognised from the gallery"

    args, progress = _killed_gallery_run(tmp_path, monkeypatch, known, args, 25)
    before = progress["recognised"]
    assert before > 0, "the checkpoint holds the recognitions so far"
    if older:  # as an earlier version wrote it
        _as_written_before(tmp_path / "run", "recognised")
    assert main([*args, "--resume"]) == 0
    assert counts(tmp_path / "run") == ((whole[0], whole[1] - before) if older else whole)


@pytest.mark.parametrize("older", [False, True], ids=["checkpoint", "checkpoint-before-the-spans"])
def test_a_resumed_gallery_run_rebuilds_its_global_ids_from_the_checkpoint_not_the_jsonl(
    tmp_path, monkeypatch, frame_clock, older
):
    """cam2's walkers, found in cam1's gallery only once their looks had colour, had new global IDs first (as in
    test_gallery_cli's late-found IDs): the finished txt gives its rows the
    ID it ended with (`summary.json`'s `global_ids_replaced`). A run killed at frame 20 keeps that history in its
    checkpoint (`global_id_spans`), so its resume reads no JSONL back (it read the whole run's, O(run length), at
    each resume) and ends with the txt, JSONL and replacements of an uninterrupted run. A checkpoint written before
    the spans were kept still resumes alike, from the JSONL."""
    import shutil

    from test_gallery_cli import ARGS, COLOUR_MODEL, GREY
    from test_gallery_cli import colour_embedder as centred_colour

    _, second, known = _colour_gallery(tmp_path, monkeypatch)
    args = [str(second), *ARGS]
    calls: list[int] = []  # the embedder's calls in this run (its resume goes on counting)

    def late_embedder(image: torch.Tensor, boxes_xyxy: np.ndarray) -> torch.Tensor:
        calls.append(len(boxes_xyxy))
        looks = centred_colour(image, boxes_xyxy)
        return torch.full_like(looks, -GREY / 2) if len(calls) <= 3 else looks  # the first 3 frames: no colour

    def from_config(cfg, frame_rate=None, gallery=None):  # (test_gallery_cli's late-found global IDs)
        gallery.bind_model(COLOUR_MODEL)
        return Tracker(cfg, frame_rate, detector=blob_detector, embedder=late_embedder, gallery=gallery)

    monkeypatch.setattr(run.Tracker, "from_config", staticmethod(from_config))

    def replaced(folder: Path) -> dict[str, int]:
        return json.loads((folder / "summary.json").read_text())["global_ids_replaced"]

    shutil.copy(known, tmp_path / "whole.gallery")
    assert main([*args, "--gallery", str(tmp_path / "whole.gallery"), "--out", str(tmp_path / "whole")]) == 0
    assert replaced(tmp_path / "whole"), "a new global ID replaced by the gallery's"

    calls.clear()
    args, progress = _killed_gallery_run(tmp_path, monkeypatch, known, args, 20)
    spans = progress["global_id_spans"]
    assert len({gid for _, gid, _, _ in spans}) > len({track for track, _, _, _ in spans}), "a global ID changed"
    assert len(calls) > 3, "the resume's looks have colour, as the uninterrupted run's from frame 4"
    with monkeypatch.context() as m:
        if older:  # as an earlier version wrote it
            _as_written_before(tmp_path / "run", "global_id_spans", "global_id_kept")
        else:

            def unread(*_args):
                raise AssertionError("the JSONL was read back")

            m.setattr(run.GlobalIdHistory, "from_jsonl", unread)
        assert main([*args, "--resume"]) == 0
    assert outputs(tmp_path / "run", "cam2") == outputs(tmp_path / "whole", "cam2")
    assert replaced(tmp_path / "run") == replaced(tmp_path / "whole")


# A hand edit of a checkpoint's header (`progress` key or `identity`: value, None to drop it), and what the one error
# line says of it
_MALFORMED_HEADERS = {
    "span-ending-before-it-begins": ("global_id_spans", [[1, 2, 5, 3]], "ends before it begins"),
    "span-of-three": ("global_id_spans", [[1, 2, 3]], "must be 4 integers"),
    "span-of-a-string": ("global_id_spans", [[1, "2", 3, 5]], 'global_id_spans is [[1, "2", 3, 5]], not'),
    "negative-id": ("global_id_spans", [[1, -2, 3, 5]], "not list[list[int]] | None (numbers >= 0)"),
    "frame-zero": ("global_id_spans", [[1, 2, 0, 5]], "a frame before the first (1)"),
    "overlapping-spans": ("global_id_spans", [[1, 2, 3, 9], [1, 7, 5, 10]], "share frames"),
    "span-after-the-checkpoint": ("global_id_spans", [[1, 2, 3, 10**6]], "ends after the last frame tracked"),
    "spans-not-a-list": ("global_id_spans", "1,2,3,5", 'global_id_spans is "1,2,3,5", not'),
    "negative-kept": ("global_id_kept", -1, "global_id_kept is -1, not int"),
    "last-frame-a-string": ("last_frame", "20", 'last_frame is "20", not int'),
    "frames-missing": ("frames", None, "lacks frames"),
    "unknown-key": ("frames_left", 3, "keys this version does not know ('frames_left'"),
    "id-run-backwards": ("track_runs", [[5, 3]], "track_runs holds [5, 3], not a run of IDs"),
    "size-of-three": ("last_size", [1, 2, 3], "last_size is [1, 2, 3], not [height, width]"),
    "seconds-infinite": ("seconds", float("inf"), "seconds is Infinity, not float"),
    "progress-a-list": ("", [], "progress is [], not a JSON object"),
    "identity-a-string": ("identity", "x", "is not a track checkpoint, or it is damaged"),
}


@pytest.mark.parametrize("case", list(_MALFORMED_HEADERS))
def test_a_hand_edited_checkpoint_header_is_one_resume_error_naming_it_and_changes_nothing(
    tmp_path, monkeypatch, frame_clock, capsys, case
):
    """The header of a `--gallery` run's checkpoint is plain JSON, outside the payload's hash: a hand-edited or
    damaged span of its global ID history raised a bare ValueError ("a global ID span ends before it begins") after
    the outputs were cut back to the checkpoint, naming no file; another field of a wrong type a TypeError from deep
    inside (or resumed wrongly: a missing `frames` counted from 0, a negative or overlapping span was taken). Each
    is one `track: error: CHECKPOINT: ...` line naming the field, and the run folder and gallery are left as they
    were."""
    from test_gallery_cli import ARGS

    _, second, known = _colour_gallery(tmp_path, monkeypatch)
    args, _ = _killed_gallery_run(tmp_path, monkeypatch, known, [str(second), *ARGS], 20)
    path = tmp_path / "run" / CHECKPOINT_NAME
    head, _, payload = path.read_bytes().partition(b"\n")
    header = json.loads(head)
    key, value, says = _MALFORMED_HEADERS[case]
    if key == "identity":
        header["identity"] = value
    elif key == "":
        header["progress"] = value
    elif value is None:
        del header["progress"][key]
    else:
        header["progress"][key] = value
    path.write_bytes(json.dumps(header).encode() + b"\n" + payload)
    files = [*(tmp_path / "run").rglob("*"), tmp_path / "run.gallery"]
    before = {p: p.read_bytes() for p in files if p.is_file()}
    capsys.readouterr()
    assert main([*args, "--resume"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"track: error: {path}"), err
    assert says in err[0], err
    after = [*(tmp_path / "run").rglob("*"), tmp_path / "run.gallery"]
    assert {p: p.read_bytes() for p in after if p.is_file()} == before


@pytest.mark.parametrize("final_save", [True, False], ids=["saved-on-stop", "killed-before-any-save"])
def test_a_resume_never_replaces_a_gallery_another_run_saved_meanwhile(
    tmp_path, monkeypatch, frame_clock, capsys, final_save
):
    """A run with --gallery is stopped; another run adds its people to the same gallery file; resuming the first
    would write its checkpoint's gallery over the file and drop them: it is refused, naming the gallery, and the
    file is left as the other run wrote it. Whether the stopped run saved the gallery last (Ctrl-C: its final save)
    or not since it loaded it (a kill before any save), its own file is told from the other run's."""
    args, other, gallery, out = _gallery_runs(tmp_path, monkeypatch)
    with monkeypatch.context() as m:
        if not final_save:
            m.setattr(GallerySaver, "save", lambda self: None)  # as after a kill -9 before the first save
        stop_at(m, 25, kill)
        assert main([*args, "--out", str(out)]) == 130
    assert (out / GALLERY_RECORD_NAME).exists() == final_save
    assert main(other) == 0
    theirs = gallery.read_bytes()
    capsys.readouterr()
    assert main([*args, "--resume", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"the gallery {gallery} was saved by another run after the run in {out} stopped" in err, err
    assert gallery.read_bytes() == theirs and (out / CHECKPOINT_NAME).exists()


def test_a_resume_does_not_write_back_a_gallery_removed_meanwhile(tmp_path, monkeypatch, frame_clock, capsys):
    """The gallery file is deleted after the run stopped (it holds biometric-like data): the resume is refused, as
    before, but saying what it would do (write the file again) instead of "lose that run's identities" (no other
    run is involved), and nothing is written."""
    args, _other, gallery, out = _gallery_runs(tmp_path, monkeypatch)
    with monkeypatch.context() as m:
        stop_at(m, 25, kill)
        assert main([*args, "--out", str(out)]) == 130
    gallery.unlink()
    capsys.readouterr()
    assert main([*args, "--resume", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"the gallery {gallery} was removed after the run in {out} stopped" in err, err
    assert "would write it again" in err and "another run" not in err, err
    assert not gallery.exists() and (out / CHECKPOINT_NAME).exists()


@pytest.mark.parametrize("another_run_saved", [False, True], ids=["own-file", "another-run-saved-after"])
def test_a_run_killed_between_its_gallery_save_and_its_record_resumes(
    tmp_path, monkeypatch, frame_clock, capsys, another_run_saved
):
    """Ctrl-C, and the process is killed (SIGKILL, a power cut) while its last save ends: the gallery file is
    already this run's new one (renamed over the gallery), its record not written yet. The resume takes that file
    as the run's own (it refused it as "saved by another run": the run could not be resumed); a save by another
    run after that is still refused."""
    args, other, gallery, out = _gallery_runs(tmp_path, monkeypatch)
    before = gallery.read_bytes()
    with monkeypatch.context() as m:
        stop_at(m, 25, ctrl_c)
        came = killed_after_the_gallery_rename(m, gallery)
        with pytest.raises(Killed):
            main([*args, "--out", str(out)])
    assert came.is_set() and gallery.read_bytes() != before and (out / CHECKPOINT_NAME).exists()
    if another_run_saved:
        assert main(other) == 0
    theirs = gallery.read_bytes()
    capsys.readouterr()
    code = main([*args, "--resume", "--out", str(out)])
    err = capsys.readouterr().err
    if another_run_saved:
        assert code == 2 and f"the gallery {gallery} was saved by another run" in err, err
        assert gallery.read_bytes() == theirs and (out / CHECKPOINT_NAME).exists()
    else:
        assert code == 0, err
        known = {i.global_id for i in Gallery.load(tmp_path / "known.gallery").identities}
        assert known <= {i.global_id for i in Gallery.load(gallery).identities}


@pytest.mark.parametrize("replaced", [False, True], ids=["ids-kept", "ids-replaced"])
def test_a_run_killed_in_its_last_gallery_save_resumes_and_saves_its_people(
    tmp_path, monkeypatch, frame_clock, replaced
):
    """A run that tracked its last frame is killed as it saves the identities still in view to the gallery (its
    last save, after `tracker.reset`; a large gallery's write takes seconds): its checkpoint is still there, so
    `--resume` tracks the frames since it again and saves the gallery an uninterrupted run saves. (The checkpoint
    went before that save: the resume said "finished: nothing to resume" and the people were never saved.)
    `replaced`: a run whose txt gets the global IDs its tracks ended with (`GlobalIdHistory.replace_in`), whose
    checkpoint went before that rewrite; now the rows as written stay for the resume until the checkpoint goes."""
    args, _, gallery, out = _gallery_runs(tmp_path, monkeypatch)
    if replaced:  # every global ID replaced: a pure function of the history, as the real one
        monkeypatch.setattr(
            run.GlobalIdHistory, "replacements", lambda self: {gid: gid + REPLACED_OFFSET for _, gid in self._spans}
        )
    whole = tmp_path / "whole.gallery"
    whole.write_bytes(gallery.read_bytes())
    assert main([str(a) if a != str(gallery) else str(whole) for a in args] + ["--out", str(tmp_path / "whole")]) == 0
    with monkeypatch.context() as m:

        def killed(self):
            raise Killed

        m.setattr(GallerySaver, "save", killed)  # the run's first synchronous save: the one after its last frame
        with pytest.raises(Killed):
            main([*args, "--out", str(out)])
    assert (out / CHECKPOINT_NAME).exists()
    stem = Path(args[0]).stem
    if replaced:
        (out / f"{stem}.txt.copy").write_text("half a copy of the rows")  # a kill in `keep_rows` of an earlier try
    assert main([*args, "--resume", "--out", str(out)]) == 0
    assert not (out / CHECKPOINT_NAME).exists()
    if replaced:
        assert {p.name for p in out.iterdir()} == {f"{stem}.txt", f"{stem}.jsonl", "summary.json", "config.yaml"}
    ids = sorted(i.global_id for i in Gallery.load(gallery).identities)
    assert ids == sorted(i.global_id for i in Gallery.load(whole).identities)
    assert outputs(out, stem) == outputs(tmp_path / "whole", stem)


def test_a_run_interrupted_in_its_last_gallery_save_after_saving_it_resumes_without_adding_its_people_twice(
    tmp_path, monkeypatch, frame_clock, capsys
):
    """Ctrl-C during the save after the last frame: the run saves the gallery (its `finally`), yet says `--resume`
    continues it from its checkpoint (which stays: the run did not finish). That resume starts from the checkpoint's
    gallery, not the saved file: it tracks the frames since again and saves the gallery and outputs an
    uninterrupted run saves (no identity twice, no sighting counted twice), and the checkpoint goes."""
    args, _, gallery, out = _gallery_runs(tmp_path, monkeypatch)
    whole = tmp_path / "whole.gallery"
    whole.write_bytes(gallery.read_bytes())
    assert main([str(a) if a != str(gallery) else str(whole) for a in args] + ["--out", str(tmp_path / "whole")]) == 0
    original = GallerySaver.save
    saves = []

    def interrupted_once(self):
        saves.append(self)
        if len(saves) == 1:  # the save after the last frame: the Ctrl-C raised once its wait ended
            raise KeyboardInterrupt
        original(self)

    with monkeypatch.context() as m:
        m.setattr(GallerySaver, "save", interrupted_once)
        capsys.readouterr()
        assert main([*args, "--out", str(out)]) == 130
    err = capsys.readouterr().err
    assert f"once the gallery {gallery} was saved: it holds this run's identities" in err, err
    assert "--resume continues the run" in err and (out / CHECKPOINT_NAME).exists(), err

    def identities(path: Path) -> list[tuple[int, int]]:
        return sorted((i.global_id, i.sightings) for i in Gallery.load(path).identities)

    assert identities(gallery) == identities(whole)
    assert main([*args, "--resume", "--out", str(out)]) == 0
    assert identities(gallery) == identities(whole)
    assert not (out / CHECKPOINT_NAME).exists() and not (out / GALLERY_RECORD_NAME).exists()
    stem = Path(args[0]).stem
    assert outputs(out, stem) == outputs(tmp_path / "whole", stem)


REPLACED_OFFSET = 1000  # the forced replacements above: global ID n -> n + this


class Killed(BaseException):
    """The process killed (SIGKILL, a power cut) at this point: nothing of it runs on (no `except Exception`
    handles it); the test catches it."""


def killed_after_the_gallery_rename(
    m, gallery: Path, save: int = 1, dies: Callable[[], None] | None = None
) -> threading.Event:
    """Kill the run (`Killed`) at its first write of its gallery record (`GALLERY_RECORD_NAME`) after its `save`-th
    save replaced the gallery file: between that save's rename and the record of the file it left (the saves
    before are recorded). `dies`: called first (a background save waits there for the test's kill of the run).
    Returns an event set when the kill came."""
    write, came = run_gallery.write_json_atomic, threading.Event()
    files = [file_version(gallery)]  # the gallery's versions the record writes saw, the one at the start first

    def write_unless_replaced(path, obj, indent=None):
        if file_version(gallery) != files[-1]:
            files.append(file_version(gallery))
            if len(files) > save:
                came.set()
                if dies is not None:
                    dies()
                raise Killed
        write(path, obj, indent)

    m.setattr(run_gallery, "write_json_atomic", write_unless_replaced)
    return came


def _colour_gallery(tmp_path, monkeypatch) -> tuple[Path, Path, Path]:
    """Trackers with the colour ReID of test_gallery_cli; two clips of the scene (cam1, and cam2 reversed) and a
    gallery file of cam1's people: (cam1, cam2, the gallery)."""
    from test_gallery_cli import ARGS, COLOUR_MODEL
    from test_gallery_cli import colour_embedder as centred_colour

    def from_config(cfg, frame_rate=None, gallery=None):
        if gallery is not None:
            gallery.bind_model(COLOUR_MODEL)
        return Tracker(cfg, frame_rate, detector=blob_detector, embedder=centred_colour, gallery=gallery)

    monkeypatch.setattr(run.Tracker, "from_config", staticmethod(from_config))
    first, second = (
        write_video(tmp_path / "cam1.avi", scene(FRAMES)),
        write_video(tmp_path / "cam2.avi", scene(FRAMES)[::-1]),
    )
    known = tmp_path / "known.gallery"
    assert main([str(first), "--gallery", str(known), "--out", str(tmp_path / "o1"), *ARGS]) == 0
    return first, second, known


def _gallery_runs(tmp_path, monkeypatch) -> tuple[list[str], list[str], Path, Path]:
    """The colour-gallery setup of the tests above: (args of cam2's run, args of cam1's run into another folder,
    the gallery file, cam2's run folder); the gallery starts with cam1's people (so cam1's run links it again:
    `--relink`)."""
    import shutil

    from test_gallery_cli import ARGS

    first, second, known = _colour_gallery(tmp_path, monkeypatch)
    gallery, out = tmp_path / "run.gallery", tmp_path / "run"
    shutil.copy(known, gallery)
    args = [str(second), *ARGS, "--gallery", str(gallery)]
    other = [str(first), *ARGS, "--gallery", str(gallery), "--out", str(tmp_path / "other"), "--relink"]  # (held)
    return args, other, gallery, out


def ctrl_c() -> None:
    signal.getsignal(signal.SIGINT)(signal.SIGINT, None)  # as the OS calls the handler (see the Ctrl-C test)


def test_a_run_resumed_without_checkpoints_and_stopped_again_resumes_again(tmp_path, monkeypatch, frame_clock, capsys):
    """Stopped, resumed with --checkpoint-seconds 0 (which keeps the checkpoint it started from) and stopped again:
    the gallery file is the one this run's resume saved last, not another run's, so a further resume goes on from
    the checkpoint (it was refused as "saved by another run") and the gallery record goes when the run finishes."""
    args, _, gallery, out = _gallery_runs(tmp_path, monkeypatch)
    with monkeypatch.context() as m:
        stop_at(m, 25, ctrl_c)
        assert main([*args, "--out", str(out)]) == 130
    with monkeypatch.context() as m:
        stop_at(m, 45, ctrl_c)
        assert main([*args, "--out", str(out), "--resume", "--checkpoint-seconds", "0"]) == 130
    capsys.readouterr()
    assert main([*args, "--out", str(out), "--resume"]) == 0, capsys.readouterr().err
    assert not (out / CHECKPOINT_NAME).exists() and not (out / GALLERY_RECORD_NAME).exists()
    known = {i.global_id for i in Gallery.load(tmp_path / "known.gallery").identities}
    assert known <= {i.global_id for i in Gallery.load(gallery).identities}


def test_a_record_left_by_an_earlier_run_in_the_folder_does_not_refuse_a_later_runs_resume(
    tmp_path, monkeypatch, frame_clock, capsys
):
    """A run stopped in a folder leaves its gallery record; another run then saves the gallery; a new run into the
    same folder is killed before its first gallery save. Its checkpoint's gallery is the file as it is now, so its
    resume goes on (the earlier run's record made it refuse, blaming another run) and keeps the other run's people."""
    args, other, gallery, out = _gallery_runs(tmp_path, monkeypatch)
    with monkeypatch.context() as m:
        stop_at(m, 25, ctrl_c)
        assert main([*args, "--out", str(out)]) == 130
    assert (out / GALLERY_RECORD_NAME).exists()
    assert main(other) == 0
    theirs = {i.global_id for i in Gallery.load(gallery).identities}
    with monkeypatch.context() as m:
        m.setattr(GallerySaver, "save", lambda self: None)  # as after a kill -9 before the first save
        stop_at(m, 25, kill)  # (starting over: --relink, as the gallery holds the stopped run's first sightings)
        assert main([*args, "--out", str(out), "--relink"]) == 130
    capsys.readouterr()
    assert main([*args, "--out", str(out), "--resume"]) == 0, capsys.readouterr().err
    assert theirs <= {i.global_id for i in Gallery.load(gallery).identities}


def test_a_gallery_that_cannot_be_saved_is_one_error_naming_it_and_the_outputs_stay(
    tmp_path, monkeypatch, frame_clock, capsys
):
    """The gallery's folder made read-only during the run: the last save fails. One error line names the gallery
    (it named only the save's temp file: `[Errno 1] Operation not permitted: '.run.gallery.x.tmp'`), the file is
    left as it was, and the outputs and summary.json of the run are kept."""
    args, _, gallery, out = _gallery_runs(tmp_path, monkeypatch)
    before = gallery.read_bytes()

    def read_only(file, snapshot):  # the write into the save's temp file
        raise PermissionError(errno.EPERM, "Operation not permitted", str(gallery.parent / f".{gallery.name}.x.tmp"))

    monkeypatch.setattr(gallery_format, "write", read_only)
    capsys.readouterr()
    assert main([*args, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"the gallery {gallery} could not be saved: Operation not permitted" in err[0], err
    assert gallery.read_bytes() == before
    assert all((out / f"cam2{ext}").stat().st_size > 0 for ext in OUTPUTS)
    assert (out / "summary.json").is_file()


def test_a_finished_run_with_a_gallery_leaves_no_gallery_record(tmp_path, monkeypatch, frame_clock):
    args, _, _, out = _gallery_runs(tmp_path, monkeypatch)
    assert main([*args, "--out", str(out)]) == 0
    assert not (out / GALLERY_RECORD_NAME).exists() and not (out / CHECKPOINT_NAME).exists()


def _killed_gallery_run(tmp_path: Path, monkeypatch, known: Path, args: list[str], frame: int):
    """`args` run with a copy of the gallery `known` into tmp_path/run, killed at `frame`: (the arguments with the
    gallery and --out, to resume with; its checkpoint's progress, from the header)."""
    shutil.copy(known, tmp_path / "run.gallery")
    args = [*args, "--gallery", str(tmp_path / "run.gallery"), "--out", str(tmp_path / "run")]
    with monkeypatch.context() as m:
        stop_at(m, frame, kill)
        assert main(args) == 130
    head = (tmp_path / "run" / CHECKPOINT_NAME).read_bytes().partition(b"\n")[0]
    return args, json.loads(head)["progress"]


def _as_written_before(out: Path, *fields: str) -> None:
    """The checkpoint in `out` without the progress `fields` a later version added, as an earlier one wrote it (the
    header is not in the payload's hash)."""
    path = out / CHECKPOINT_NAME
    head, _, payload = path.read_bytes().partition(b"\n")
    header = json.loads(head)
    for field in fields:
        del header["progress"][field]
    path.write_bytes(json.dumps(header).encode() + b"\n" + payload)


def killed_run(monkeypatch, argv: list[str], out: Path) -> int:
    """Run `track argv`, killed with frame STOP_AT in hand; the last frame its checkpoint in `out` holds."""
    with monkeypatch.context() as m:
        stop_at(m, STOP_AT, kill)
        assert main(argv) == 130
    return json.loads((out / CHECKPOINT_NAME).read_bytes().partition(b"\n")[0])["progress"]["last_frame"]


def test_an_image_folder_resumes_without_reading_the_frames_before_the_checkpoint(
    tmp_path, monkeypatch, fake_models, frame_clock, capsys
):
    """An image folder: killed, resumed with identical outputs, the images before the checkpoint never read again;
    an image replaced since the checkpoint makes it another source, refused."""
    frames = tmp_path / "frames"
    frames.mkdir()
    for i, image in enumerate(scene(FRAMES), start=1):
        cv2.imwrite(str(frames / f"{i:06d}.png"), image)
    args = [str(frames), "--quiet", "--no-save-video"]
    assert main([*args, "--out", str(tmp_path / "whole")]) == 0
    out = tmp_path / "run"
    last = killed_run(monkeypatch, [*args, "--out", str(out)], out)

    read = []
    decode = DepthReader.read  # (every frame file is read there, once: its bytes checked, then decoded)
    with monkeypatch.context() as m:
        m.setattr(DepthReader, "read", lambda self, path: read.append(path) or decode(self, path))
        assert main([*args, "--resume", "--out", str(out)]) == 0
    numbers = [int(Path(p).stem) for p in read]
    assert numbers[0] == 1, "opening the folder decodes its first image (`open_source` rejects undecodable folders)"
    assert min(numbers[1:]) == last + 1, "nothing else before the checkpoint is read"
    assert outputs(out, "frames") == outputs(tmp_path / "whole", "frames")
    assert f"resuming {out} after frame {last}" in capsys.readouterr().err

    with monkeypatch.context() as m:
        stop_at(m, STOP_AT, kill)
        assert main([*args, "--out", str(out)]) == 130
    cv2.imwrite(str(frames / "000005.png"), scene(FRAMES)[10])
    capsys.readouterr()
    assert main([*args, "--resume", "--out", str(out)]) == 2
    assert "files:" in capsys.readouterr().err


def test_a_folder_of_images_named_otherwise_than_utf8_is_tracked_and_resumed(
    tmp_path, monkeypatch, fake_models, frame_clock, capsys
):
    """Image files whose names are not UTF-8 (a Latin-1 camera's `caf\\xe9_000001.png`) are tracked: the
    checkpoint's identity of the folder hashed each file's name as UTF-8 text and ended the run at its start with
    "'utf-8' codec can't encode character '\\udce9'"; a killed run resumes from its checkpoint as any folder's."""
    frames = tmp_path / "frames"
    frames.mkdir()
    for i, image in enumerate(scene(FRAMES), start=1):
        write_image(undecodable_path(frames, b"caf\xe9_%06d.png" % i), image)
    args = [str(frames), "--quiet", "--no-save-video"]
    assert main([*args, "--out", str(tmp_path / "whole")]) == 0, capsys.readouterr().err
    out = tmp_path / "run"
    last = killed_run(monkeypatch, [*args, "--out", str(out)], out)
    assert main([*args, "--resume", "--out", str(out)]) == 0
    assert f"resuming {out} after frame {last}" in capsys.readouterr().err
    assert outputs(out, "frames") == outputs(tmp_path / "whole", "frames")


def strings(value) -> list[str]:
    """Every string (keys too) in `value`, a JSON document read back."""
    if isinstance(value, dict):
        return [*value, *(s for v in value.values() for s in strings(v))]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return [value] if isinstance(value, str) else []


def test_a_summary_of_a_source_and_folder_named_otherwise_than_utf8_is_utf8_json_keeping_the_exact_path(
    tmp_path, fake_models, capsys
):
    """summary.json wrote a Latin-1 folder's name (`caf\\xe9`, lone surrogates in Python) as `"\\udce9"` escapes,
    which are no UTF-8 text: strict JSON readers (Rust's serde_json, Go's) refuse them. Every string is written as
    shown (U+FFFD for the byte), and the source's exact bytes are kept beside it as a file URI (`source_uri`); a
    resume still knows the finished run as its source's."""
    frames = undecodable_path(tmp_path, b"caf\xe9")
    frames.mkdir()
    for i, image in enumerate(scene(FRAMES), start=1):
        write_image(frames / f"{i:06d}.png", image)
    out = undecodable_path(tmp_path, b"d\xe9p")
    assert main([str(frames), "--quiet", "--no-save-video", "--out", str(out)]) == 0, capsys.readouterr().err
    summary = json.loads((out / "summary.json").read_bytes().decode("utf-8"))
    assert all(text.encode("utf-8") for text in strings(summary)), "no lone surrogate (no `\\udce9`) anywhere"
    assert summary["source"] == f"{tmp_path}/caf\ufffd" and f"{tmp_path}/d\ufffdp/caf_.txt" in summary["outputs"]
    assert urllib.parse.unquote_to_bytes(summary["source_uri"].removeprefix("file://")) == os.fsencode(frames)
    capsys.readouterr()
    assert main([str(frames), "--resume", "--out", str(out), "--quiet", "--no-save-video"]) == 0
    assert f"finished ({FRAMES} frames): nothing to resume" in capsys.readouterr().out
    # a summary edited by hand: a source_uri that is no file URI ended the resume with "error: Invalid IPv6 URL"
    for garbage in ("file://[x/caf%E9", "http://host/caf%E9", summary["source_uri"] + "?q"):
        (out / "summary.json").write_text(json.dumps(summary | {"source_uri": garbage}))
        assert main([str(frames), "--resume", "--out", str(out), "--quiet", "--no-save-video"]) == 2
        err = capsys.readouterr().err
        assert f"summary.json: source_uri is {garbage!r}, not a file URI" in err and len(err.splitlines()) == 1, err


def test_a_resume_of_another_folder_named_otherwise_than_utf8_names_both_folders_apart(
    tmp_path, monkeypatch, fake_models, frame_clock, capsys
):
    """`--resume` of the run of a Latin-1 folder (`d\\xe9`) with another (`d\\xe8`, the same outputs' stem): the
    refusals named both with `\\udce9` escapes on stderr (a strict stderr raised UnicodeEncodeError), and as shown
    (U+FFFD a byte) the two would read alike. Each refusal names them with their bytes as `\\xNN`."""
    folders = [undecodable_path(tmp_path, name) for name in (b"d\xe9", b"d\xe8")]
    for folder in folders:
        folder.mkdir()
        for i, image in enumerate(scene(FRAMES), start=1):
            write_image(folder / f"{i:06d}.png", image)
    first, other = (f"{tmp_path}/d\\x{byte}" for byte in ("e9", "e8"))
    out = tmp_path / "run"
    assert main([str(folders[0]), "--out", str(out), "--quiet", "--no-save-video"]) == 0
    assert main([str(folders[1]), "--resume", "--out", str(out), "--quiet", "--no-save-video"]) == 2
    said = f"track: error: the run in {out} is one of {first}, not of {other}: name its own run folder with --out"
    assert said in capsys.readouterr().err
    killed_run(monkeypatch, [str(folders[0]), "--out", str(out), "--quiet", "--no-save-video"], out)
    assert main([str(folders[1]), "--resume", "--out", str(out), "--quiet", "--no-save-video"]) == 2
    err = capsys.readouterr().err
    assert "made by another run" in err and f"source: '{first}' then, '{other}' now" in err and is_utf8(err), err


def test_a_resumed_folder_scales_its_16_bit_images_as_the_first_run_did(
    tmp_path, monkeypatch, fake_models, frame_clock
):
    """A folder whose 16-bit images (12-bit data) come after 8-bit ones fixes their scale at the first 16-bit image
    read (`DepthReader`); a run resumed after that image fixed its own at the first it read, a darker one, and so
    saw every later frame 4x brighter than the uninterrupted run did. The checkpoint now carries the depth."""
    frames = tmp_path / "frames"
    frames.mkdir()
    first_wide = 21  # frames 1-20 8-bit, then 16-bit files of 12-bit data (the first bright, the rest darker)
    for i, image in enumerate(scene(FRAMES), start=1):
        if i >= first_wide:
            image = image.astype(np.uint16) << 4 if i == first_wide else (image // 4).astype(np.uint16) << 4
        cv2.imwrite(str(frames / f"{i:06d}.png"), image)
    seen: dict[str, dict[int, int]] = {"whole": {}, "resumed": {}}
    decode = DepthReader.read

    def reading(into: dict[int, int]):
        def read(self, path):
            image = decode(self, path)
            into[int(Path(path).stem)] = int(image.max())
            return image

        return read

    args = [str(frames), "--quiet", "--no-save-video"]
    with monkeypatch.context() as m:
        m.setattr(DepthReader, "read", reading(seen["whole"]))
        assert main([*args, "--out", str(tmp_path / "whole")]) == 0
    out = tmp_path / "run"
    last = killed_run(monkeypatch, [*args, "--out", str(out)], out)
    assert last > first_wide, "the checkpoint comes after the image that fixed the depth"
    with monkeypatch.context() as m:
        m.setattr(DepthReader, "read", reading(seen["resumed"]))
        assert main([*args, "--resume", "--out", str(out)]) == 0
    after = [n for n in seen["resumed"] if n > last]
    assert after and all(seen["resumed"][n] == seen["whole"][n] for n in after), (seen, last)
    assert outputs(out, "frames") == outputs(tmp_path / "whole", "frames")


def test_a_resumed_run_counts_the_frame_size_changes_of_the_whole_source(
    tmp_path, monkeypatch, fake_models, frame_clock
):
    """A folder whose frames change size before and after the checkpoint: the resumed run's summary counts every
    change (the checkpoint carries the count and the last frame's size), as the uninterrupted run's does."""
    frames = tmp_path / "frames"
    frames.mkdir()
    for i, image in enumerate(scene(FRAMES), start=1):
        if i in (5, 6, STOP_AT + 2):  # two changes before the checkpoint, two after it
            image = cv2.resize(image, (image.shape[1] // 2, image.shape[0] // 2))
        cv2.imwrite(str(frames / f"{i:06d}.png"), image)
    args = [str(frames), "--quiet", "--no-save-video"]
    assert main([*args, "--out", str(tmp_path / "whole")]) == 0
    assert json.loads((tmp_path / "whole" / "summary.json").read_text())["size_changes"] == 4
    out = tmp_path / "run"
    with monkeypatch.context() as m:
        stop_at(m, STOP_AT, kill)
        assert main([*args, "--out", str(out)]) == 130
    assert main([*args, "--resume", "--out", str(out)]) == 0
    assert json.loads((out / "summary.json").read_text())["size_changes"] == 4


def test_a_resume_without_checkpoints_finishes_and_spends_its_checkpoint(
    clip, reference, tmp_path, monkeypatch, frame_clock, capsys
):
    """`--resume --checkpoint-seconds 0` writes no new checkpoint; once it finishes, the one it started from goes
    too, so another `--resume` says the run finished instead of tracking again from the old checkpoint."""
    out = tmp_path / "run"
    with monkeypatch.context() as m:
        stop_at(m, STOP_AT, kill)
        assert main([str(clip), "--out", str(out), "--quiet", "--no-save-video"]) == 130
    args = [str(clip), "--resume", "--out", str(out), "--quiet", "--no-save-video", "--checkpoint-seconds", "0"]
    assert main(args) == 0
    assert outputs(out, "walk") == reference
    assert not (out / CHECKPOINT_NAME).exists()
    capsys.readouterr()
    assert main(args) == 0
    assert "finished (60 frames): nothing to resume" in capsys.readouterr().out
    assert outputs(out, "walk") == reference


def test_a_relative_and_an_absolute_path_of_one_video_resume_the_same_run(
    clip, reference, tmp_path, monkeypatch, frame_clock, capsys
):
    """The source is the file, not the spelling: `sub/../walk.avi` then `/abs/alias/walk.avi` (a symbolic link to
    the folder) from another working directory resume one run. Without `--out` from a folder with no runs, the
    error names the option to use."""
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "run"
    with monkeypatch.context() as m:
        stop_at(m, STOP_AT, kill)
        assert main(["sub/../walk.avi", "--out", "run", "--quiet", "--no-save-video"]) == 130
    monkeypatch.chdir(tmp_path / "sub")
    (tmp_path / "alias").symlink_to(tmp_path, target_is_directory=True)
    alias = tmp_path / "alias" / clip.name  # the same file through a symbolic link
    assert main([str(alias), "--resume", "--out", str(out), "--quiet", "--no-save-video"]) == 0
    assert outputs(out, "walk") == reference
    capsys.readouterr()
    assert main(["../walk.avi", "--resume", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "(--resume --out DIR)" in err and len(err.strip().splitlines()) == 1, err


def test_a_file_url_resumes_as_the_file_it_names(clip, reference, tmp_path, monkeypatch, frame_clock):
    """`track file:///.../walk.avi` reads the file, but its run wrote no checkpoint and `--resume` refused it as a
    URL ("cannot be read again"). It is that file: killed, it resumes from its URL or its path, as one run."""
    out = tmp_path / "run"
    with monkeypatch.context() as m:
        stop_at(m, STOP_AT, kill)
        assert main([clip.as_uri(), "--out", str(out), "--quiet", "--no-save-video"]) == 130
    assert (out / CHECKPOINT_NAME).exists()
    with monkeypatch.context() as m:
        stop_at(m, STOP_AT + EVERY, kill)
        assert main([clip.as_uri(), "--resume", "--out", str(out), "--quiet", "--no-save-video"]) == 130
    assert main([str(clip), "--resume", "--out", str(out), "--quiet", "--no-save-video"]) == 0
    assert outputs(out, "walk") == reference


def mot_sequence(folder: Path, frames: list[np.ndarray]) -> Path:
    """A MOTChallenge sequence `folder` (seqinfo.ini, img1/000001.png ...) of `frames`."""
    (folder / "img1").mkdir(parents=True)
    for i, image in enumerate(frames, start=1):
        cv2.imwrite(str(folder / "img1" / f"{i:06d}.png"), image)
    info = f"[Sequence]\nname=walk\nimDir=img1\nframeRate=25\nseqLength={len(frames)}\nimExt=.png\n"
    (folder / "seqinfo.ini").write_text(info)
    return folder


def test_a_sequence_and_its_image_folder_resume_one_run(tmp_path, monkeypatch, fake_models, frame_clock, capsys):
    """`track SEQ` and `track SEQ/img1` track the same frames as the same sequence (its name, its frame rate), but a
    run of one was refused to a `--resume` naming the other ("the run in out is one of SEQ, not of SEQ/img1", or
    the checkpoint "made by another run (source: ...)"). Either spelling now resumes the other's run, also a
    checkpoint that recorded the image folder (as runs on it did before), and a finished run is finished to both."""
    seq = mot_sequence(tmp_path / "SEQ", scene(FRAMES))
    args = ["--quiet", "--no-save-video"]
    assert main([str(seq), *args, "--out", str(tmp_path / "whole")]) == 0
    reference = outputs(tmp_path / "whole", "walk")
    for first, then in ((seq, seq / "img1"), (seq / "img1", seq)):
        out = tmp_path / f"run-{first.name}"
        killed_run(monkeypatch, [str(first), *args, "--out", str(out)], out)
        assert main([str(then), *args, "--resume", "--out", str(out)]) == 0, capsys.readouterr().err
        assert outputs(out, "walk") == reference
        capsys.readouterr()
        assert main([str(first), *args, "--resume", "--out", str(out)]) == 0
        assert "finished (60 frames): nothing to resume" in capsys.readouterr().out

    out = tmp_path / "before"  # a checkpoint and summary that name the image folder, as a run on it wrote them
    killed_run(monkeypatch, [str(seq), *args, "--out", str(out)], out)
    head, sep, payload = (out / CHECKPOINT_NAME).read_bytes().partition(b"\n")
    header = json.loads(head)
    header["identity"]["source"] = os.path.realpath(seq / "img1")
    (out / CHECKPOINT_NAME).write_bytes(json.dumps(header).encode() + sep + payload)
    assert main([str(seq), *args, "--resume", "--out", str(out)]) == 0, capsys.readouterr().err
    assert outputs(out, "walk") == reference
    summary = json.loads((out / "summary.json").read_text())
    summary.pop("source_uri", None)
    (out / "summary.json").write_text(json.dumps({**summary, "source": os.path.realpath(seq / "img1")}))
    capsys.readouterr()
    assert main([str(seq), *args, "--resume", "--out", str(out)]) == 0
    assert "finished (60 frames): nothing to resume" in capsys.readouterr().out


def test_a_sequence_whose_image_folder_is_a_link_resumes_as_one_run(
    tmp_path, monkeypatch, fake_models, frame_clock, capsys
):
    """A sequence whose img1 is a symbolic link to its frames elsewhere (a dataset kept on another disk): `track SEQ`
    and `track SEQ/img1` read it as the same sequence, so either resumes the other's run. The run's identity took the
    link's real path before asking whether it is a sequence's image folder, so SEQ/img1 was the frames' folder,
    not SEQ, and the resume was refused."""
    frames = mot_sequence(tmp_path / "frames", scene(FRAMES)) / "img1"
    seq = tmp_path / "SEQ"
    seq.mkdir()
    (seq / "seqinfo.ini").write_text((tmp_path / "frames" / "seqinfo.ini").read_text())
    (seq / "img1").symlink_to(frames, target_is_directory=True)
    (tmp_path / "frames" / "seqinfo.ini").unlink()  # (the frames' folder is no sequence of its own)
    args = ["--quiet", "--no-save-video"]
    for first, then in ((seq, seq / "img1"), (seq / "img1", seq)):
        out = tmp_path / f"run-{first.name}"
        killed_run(monkeypatch, [str(first), *args, "--out", str(out)], out)
        assert main([str(then), *args, "--resume", "--out", str(out)]) == 0, capsys.readouterr().err
        capsys.readouterr()


def test_a_run_whose_reid_crashes_is_not_reported_finished(clip, reference, tmp_path, monkeypatch, frame_clock, capsys):
    """The ReID raises (a GPU out of memory) mid-run: summary.json records the error instead of a finished run,
    so `--resume` continues from the last checkpoint (the outputs of an uninterrupted run), and without
    checkpoints it says there is none rather than that the run finished."""
    calls = []
    crash_at = 5  # the ReID's 5th call (lazy embedding: around frame 49, after the checkpoint of frame 41)

    def crashes_once(image, boxes):
        calls.append(1)
        if len(calls) == crash_at:
            raise torch.OutOfMemoryError("CUDA out of memory")
        return colour_embedder(image, boxes)

    for every, out in (("1", tmp_path / "run"), ("0", tmp_path / "bare")):
        calls.clear()
        with monkeypatch.context() as m:
            use_fake_models(m, embedder=crashes_once)
            with pytest.raises(torch.OutOfMemoryError):
                main([str(clip), "--out", str(out), "--quiet", "--no-save-video", "--checkpoint-seconds", every])
        assert json.loads((out / "summary.json").read_text())["error"] == "OutOfMemoryError: CUDA out of memory"
    use_fake_models(monkeypatch, embedder=colour_embedder)
    assert main([str(clip), "--resume", "--out", str(tmp_path / "run"), "--quiet", "--no-save-video"]) == 0
    assert outputs(tmp_path / "run", "walk") == reference
    capsys.readouterr()
    assert main([str(clip), "--resume", "--out", str(tmp_path / "bare"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "left no checkpoint" in err and len(err.strip().splitlines()) == 1, err
    (tmp_path / "bare" / "summary.json").unlink()  # as after a kill -9
    assert main([str(clip), "--resume", "--out", str(tmp_path / "bare"), "--quiet"]) == 2
    err = capsys.readouterr().err
    said = "ran with --checkpoint-seconds 0 or tracked several sources"
    assert said in err and len(err.strip().splitlines()) == 1, err


def test_a_resume_with_max_frames_the_run_already_reached_is_refused_and_keeps_the_checkpoint(
    clip, reference, tmp_path, monkeypatch, frame_clock, capsys
):
    """`--resume --max-frames 20` of a run checkpointed after 31 frames would track nothing and delete the
    checkpoint (the run could never be finished): it is refused with one line, and the run still resumes."""
    out = tmp_path / "run"
    with monkeypatch.context() as m:
        stop_at(m, STOP_AT, kill)
        assert main([str(clip), "--out", str(out), "--quiet", "--no-save-video"]) == 130
    checkpoint = (out / CHECKPOINT_NAME).read_bytes()
    capsys.readouterr()
    assert main([str(clip), "--resume", "--out", str(out), "--quiet", "--max-frames", "20"]) == 2
    err = capsys.readouterr().err
    assert "leaves nothing to do: give a larger --max-frames" in err and len(err.strip().splitlines()) == 1, err
    assert (out / CHECKPOINT_NAME).read_bytes() == checkpoint
    assert main([str(clip), "--resume", "--out", str(out), "--quiet", "--no-save-video"]) == 0
    assert outputs(out, "walk") == reference


def test_a_resume_with_max_frames_below_a_run_past_unreadable_frames_is_refused_and_keeps_the_checkpoint(
    tmp_path, monkeypatch, fake_models, frame_clock, capsys
):
    """--max-frames counts source frames, unreadable ones too (stop 78), but the resume's check compared it with the
    frames tracked: a run stopped at image 6 of 10, images 3 and 4 unreadable (4 frames tracked), resumed with
    --max-frames 5 was let through, tracked nothing, said it was cut at 5 frames with frame 6 in its outputs, and
    deleted the checkpoint: the run could never be finished. It is refused as a --max-frames below the source frames
    already tracked is without unreadable ones; --max-frames 6 finishes it with the outputs of a run so cut."""
    folder = images_with_unreadable(tmp_path, 10, (3, 4))
    out, whole = tmp_path / "run", tmp_path / "whole"
    assert main([str(folder), "--out", str(whole), "--quiet", "--no-save-video", "--max-frames", "6"]) == 0
    with monkeypatch.context() as m:
        stop_at(m, 6, lambda: signal.getsignal(signal.SIGINT)(signal.SIGINT, None))
        assert main([str(folder), "--out", str(out), "--quiet", "--no-save-video"]) == 130
    checkpoint = (out / CHECKPOINT_NAME).read_bytes()
    assert read_checkpoint_frames(out / CHECKPOINT_NAME) == 4
    capsys.readouterr()
    assert main([str(folder), "--resume", "--out", str(out), "--quiet", "--no-save-video", "--max-frames", "5"]) == 2
    err = capsys.readouterr().err
    assert "up to source frame 6" in err and "--max-frames 5 leaves nothing to do" in err, err
    assert len(err.strip().splitlines()) == 1, err
    assert (out / CHECKPOINT_NAME).read_bytes() == checkpoint
    assert main([str(folder), "--resume", "--out", str(out), "--quiet", "--no-save-video", "--max-frames", "6"]) == 0
    assert (out / "frames.txt").read_bytes() == (whole / "frames.txt").read_bytes()
    assert not (out / CHECKPOINT_NAME).exists()


def test_a_run_killed_while_it_closed_after_a_checkpoint_at_its_max_frames_resumes_and_finishes(
    clip, tmp_path, monkeypatch, fake_models, frame_clock, capsys
):
    """`--max-frames N`, a checkpoint at frame N, and the process killed as it closes (before its summary.json and
    the checkpoint's removal): `--resume` with the same N refused ("already tracked N frames, so --max-frames N
    leaves nothing to do: give a larger --max-frames"), so the run could never be finished as asked. It now finishes
    it: the outputs of the uninterrupted run, a summary, no checkpoint."""
    frames = str(MAX_FRAMES_AT_A_CHECKPOINT)
    whole, out = tmp_path / "whole", tmp_path / "run"
    assert main([str(clip), "--out", str(whole), "--quiet", "--max-frames", frames]) == 0
    with monkeypatch.context() as m:

        def killed(*args, **kwargs):
            raise Killed

        m.setattr(run, "write_json_atomic", killed)  # the summary: after the outputs closed, before the checkpoint goes
        with pytest.raises(Killed):
            main([str(clip), "--out", str(out), "--quiet", "--max-frames", frames])
    assert read_checkpoint_frames(out / CHECKPOINT_NAME) == MAX_FRAMES_AT_A_CHECKPOINT
    capsys.readouterr()
    assert main([str(clip), "--resume", "--out", str(out), "--quiet", "--max-frames", frames]) == 0, capsys.readouterr()
    assert outputs(out, "walk") == outputs(whole, "walk")
    assert (out / "summary.json").exists() and not (out / CHECKPOINT_NAME).exists()


MAX_FRAMES_AT_A_CHECKPOINT = 1  # a checkpoint is always written after the first frame


def read_checkpoint_frames(path: Path) -> int:
    """The frames tracked that the checkpoint at `path` records (its JSON header line)."""
    with path.open("rb") as f:
        return json.loads(f.readline())["progress"]["frames"]


@pytest.mark.parametrize("gone", ["walk.jsonl", "walk.txt"])
def test_a_resume_refused_for_a_missing_jsonl_leaves_the_folder_as_it_was(
    gone, clip, tmp_path, monkeypatch, fake_models, frame_clock, capsys
):
    """Ctrl-C, then the JSONL (or the txt) is deleted: the resume is refused with one line naming the file deleted
    before any model loads, and the other stays where it was (the txt used to be renamed to `walk.txt.partial` and
    cut before the refusal). A deleted txt was said as 'walk.txt.partial is missing', a file the user never saw."""
    out = tmp_path / "run"
    with monkeypatch.context() as m:
        stop_at(m, STOP_AT, lambda: signal.getsignal(signal.SIGINT)(signal.SIGINT, None))
        assert main([str(clip), "--out", str(out), "--quiet", "--no-save-video"]) == 130
    (out / gone).unlink()
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    capsys.readouterr()
    with monkeypatch.context() as m:
        m.setattr(run.Tracker, "from_config", lambda *a, **k: pytest.fail("models loaded before the refusal"))
        assert main([str(clip), "--resume", "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"{out / gone} is missing" in err and len(err.strip().splitlines()) == 1, err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_the_summary_of_a_stopped_run_says_how_to_continue_it(clip, tmp_path, monkeypatch, fake_models, capsys):
    """After Ctrl-C the summary named no way on: a user who did not read the README started again from frame 1."""
    out = tmp_path / "run"
    with monkeypatch.context() as m:
        stop_at(m, 20, lambda: signal.getsignal(signal.SIGINT)(signal.SIGINT, None))
        assert main([str(clip), "--out", str(out), "--no-save-video"]) == 130
    said = capsys.readouterr().out
    assert f"the same command with --resume continues the run from {out / CHECKPOINT_NAME}" in said, said
    assert main([str(clip), "--out", str(out), "--no-save-video", "--resume"]) == 0
    assert "--resume" not in capsys.readouterr().out, "a finished run has nothing to continue"


def test_the_resume_note_counts_the_frames_before_in_words(clip, tmp_path, monkeypatch, fake_models, capsys):
    """Killed before the second checkpoint: the only one is the first frame's, and the note said "1 frames"."""
    out = tmp_path / "run"
    with monkeypatch.context() as m:
        stop_at(m, 3, kill)
        assert main([str(clip), "--out", str(out), "--quiet", "--no-save-video"]) == 130
    capsys.readouterr()
    assert main([str(clip), "--out", str(out), "--quiet", "--no-save-video", "--resume"]) == 0
    assert f"resuming {out} after frame 1 (1 frame tracked before)" in capsys.readouterr().err


def test_a_checkpoint_write_interrupted_leaves_the_last_checkpoint_and_no_temp_file(tmp_path, monkeypatch):
    """A second Ctrl-C while the stop's checkpoint was written aborted the write and left its 2 MB temp file,
    `checkpoint.bin.partial`, beside the run; the checkpoint before it must stay as it was."""
    path = tmp_path / CHECKPOINT_NAME
    writer = Checkpointer(path, {"source": "walk.avi"}, EVERY)
    writer.write({"tracks": [1, 2]}, Progress(last_frame=10, frames=10))
    before = path.read_bytes()

    def interrupted(descriptor):
        raise KeyboardInterrupt

    monkeypatch.setattr("tracker.resume.os.fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        writer.write({"tracks": [1, 2, 3]}, Progress(last_frame=20, frames=20))
    assert sorted(p.name for p in tmp_path.iterdir()) == [CHECKPOINT_NAME]
    assert path.read_bytes() == before


def test_a_checkpoint_is_readable_by_its_owner_only_from_its_first_byte(tmp_path, monkeypatch):
    """`checkpoint.bin` holds every track's looks (ReID embeddings) and, with --gallery, the whole gallery: it was
    written 0644, world-readable. Now 0600 like the gallery file, whatever the umask: its temp file is 0600 while it
    is written, a checkpoint that replaces another stays 0600, and the temp file an older, killed write left (0644)
    is not reused with its mode; an older run's checkpoint (0644) is replaced by a 0600 one at the next write."""
    path = tmp_path / CHECKPOINT_NAME
    path.write_bytes(b"an older run's checkpoint")
    path.chmod(0o644)
    path.with_name(path.name + ".partial").write_bytes(b"left by a killed write")
    path.with_name(path.name + ".partial").chmod(0o644)
    modes = []
    fsync = os.fsync

    def seen(descriptor):
        mode = os.fstat(descriptor).st_mode
        if stat.S_ISREG(mode):  # (not the folder, synced after the rename)
            modes.append(stat.S_IMODE(mode))
        fsync(descriptor)

    monkeypatch.setattr("tracker.resume.os.fsync", seen)
    writer = Checkpointer(path, {"source": "walk.avi"}, EVERY)
    umask = os.umask(0)  # the most permissive: nothing is taken away from a file's mode
    try:
        for frame in (10, 20):
            writer.write({"looks": np.ones((4, 512), np.float32)}, Progress(last_frame=frame, frames=frame))
            assert stat.S_IMODE(path.stat().st_mode) == 0o600
    finally:
        os.umask(umask)
    assert modes == [0o600, 0o600], "the temp file was private while it was written"
    assert sorted(p.name for p in tmp_path.iterdir()) == [CHECKPOINT_NAME]


def _drop_from_header(checkpoint: Path, *keys: tuple[str, ...]) -> None:
    """Remove config keys from a checkpoint's header, as if it was made before those keys existed."""
    head, _, payload = checkpoint.read_bytes().partition(b"\n")
    header = json.loads(head)
    for key in keys:
        *parents, leaf = key
        section = header["identity"]["config"]
        for name in parents:
            section = section[name]
        del section[leaf]
    checkpoint.write_bytes(json.dumps(header).encode() + b"\n" + payload)


def test_a_checkpoint_made_before_a_config_key_existed_resumes_when_its_default_is_in_force(
    clip, reference, tmp_path, monkeypatch, frame_clock, capsys
):
    """A checkpoint's header without a key (or a whole section) the config has now was made by a run that used
    that key's default: it resumes to the uninterrupted outputs; another value now refuses, naming the key."""
    out = tmp_path / "run"
    with monkeypatch.context() as m:
        stop_at(m, STOP_AT, kill)
        assert main([str(clip), "--out", str(out), "--quiet"]) == 130
    _drop_from_header(out / CHECKPOINT_NAME, ("lifecycle", "min_hits"), ("gallery",))
    capsys.readouterr()
    assert main([str(clip), "--resume", "--out", str(out), "--quiet", "--set", "lifecycle.min_hits=5"]) == 2
    err = capsys.readouterr().err
    assert "config.lifecycle.min_hits: absent then (its default 2 applied), 5 now" in err, err
    assert "gallery" not in err and len(err.strip().splitlines()) == 1, err
    assert main([str(clip), "--resume", "--out", str(out), "--quiet"]) == 0
    assert outputs(out, "walk") == reference


def test_a_tracker_state_pickled_before_the_ground_line_and_the_measured_noise_existed_continues(monkeypatch):
    """A checkpoint of main a9675c0 holds a core without a ground line or a measured measurement noise, a track
    table without its innovation column and a bank without its host cache (the config in its header lacks the new
    keys, which are at their defaults, so `--resume` accepts it). It unpickles and continues, as the same state
    would whose ground line and noise estimate were forgotten at that frame; it used to stop with AttributeError."""
    cfg = load_config()
    rng = np.random.default_rng(0)
    people = rng.normal(size=(4, 16))

    def frame(t: int):
        boxes = np.array([[10 + 7 * t + 80 * k, 40 + 9 * k, 50 + 7 * t + 80 * k, 140 + 25 * k] for k in range(4)])
        return boxes.astype(float), np.full(4, 0.9), np.zeros(4, int), people + 0.05 * rng.normal(size=people.shape)

    scripted = [frame(t) for t in range(40)]
    tracker = Tracker(cfg, 25.0)
    for dets in scripted[:20]:
        tracker.update_detections(*dets, frame_size=(480, 640))
    assert tracker.core.measurement_noise.count > 0 and tracker.core.ground._samples, "the new state must be in use"

    forgotten = pickle.loads(pickle.dumps(tracker.core))
    forgotten.ground.reset()
    forgotten.measurement_noise.reset()
    forgotten.table.innovation[:] = np.nan

    old = pickle.loads(pickle.dumps(tracker.core))
    for name in ("ground", "measurement_noise"):
        delattr(old, name)
    del old.table.innovation
    with monkeypatch.context() as m:  # the bank's state as a9675c0 pickled it: no `_stored_host`
        m.setattr(AppearanceBank, "__getstate__", lambda self: {**self.__dict__, "_host": None})
        del old.bank._stored_host
        blob = pickle.dumps(old)
    for name in (b"_stored_host", b"tracker.measurement_noise", b"tracker.ground_line"):
        assert name not in blob, name

    def continued(core) -> list:
        tracker.core = core
        return [
            [(o.track_id, o.xyxy.tolist()) for o in tracker.update_detections(*d, frame_size=(480, 640))]
            for d in scripted[20:]
        ]

    assert continued(pickle.loads(blob)) == continued(forgotten)


def test_a_new_run_into_a_folder_leaves_nothing_of_the_earlier_run_beside_its_outputs(
    clip, reference, tmp_path, monkeypatch, frame_clock, capsys
):
    """An explicit --out is reused: a run stopped there leaves a checkpoint and a video; a new run into it with
    --checkpoint-seconds 0 and --no-save-video finished, yet `--resume` went on from the old checkpoint (cutting the
    new txt to the old run's length, or refusing it), and the old run's annotated video stayed beside the new txt."""
    out = tmp_path / "run"
    with monkeypatch.context() as m:
        stop_at(m, STOP_AT, kill)
        assert main([str(clip), "--out", str(out), "--quiet"]) == 130
    assert (out / CHECKPOINT_NAME).exists() and (out / "walk.mp4").exists()
    args = [str(clip), "--out", str(out), "--quiet", "--no-save-video", "--checkpoint-seconds", "0"]
    assert main(args + ["--max-frames", "20"]) == 0
    assert not (out / CHECKPOINT_NAME).exists() and not (out / "walk.mp4").exists()
    capsys.readouterr()
    assert main([str(clip), "--resume", "--out", str(out), "--quiet"]) == 2  # (cut by --max-frames: no checkpoint)
    assert "stopped after 20 frames (--max-frames)" in capsys.readouterr().err
    assert main(args) == 0
    assert outputs(out, "walk") == reference


def test_a_resume_without_out_of_an_older_batchs_cut_video_folder_says_it_was_cut(
    clip, tmp_path, monkeypatch, fake_models, capsys
):
    """The batch.json branch of `_check_resumable` (a folder whose summary.json does not record the cut, written
    before it did, whose batch.json does) looked unreachable at stop 78: a batch's video folder given as --out is
    refused first (stop 77). It is reached by `track VIDEO --resume` without --out, which resumes the newest
    `runs/track/<name>` and checks no --out: there, a `track batch --out runs/track --max-frames 20` run of an older
    version left `walk/`. Without the branch that resume said "finished (20 frames): nothing to resume", exit 0, as
    if the whole video were tracked; it says the run was cut and how to go on."""
    from test_batch import fake_tracker

    from tracker.batch import track_many
    from tracker.config import TrackerConfig
    from tracker.run_outputs import DEFAULT_RUNS_DIR

    monkeypatch.chdir(tmp_path)
    track_many([clip], TrackerConfig(), DEFAULT_RUNS_DIR, workers=1, save_video=False, max_frames=20,
               progress=False, make_tracker=fake_tracker)  # fmt: skip
    folder = DEFAULT_RUNS_DIR / "walk"
    said = json.loads((folder / "summary.json").read_text())
    assert said.pop("cut_short") is True and json.loads((folder / "batch.json").read_text())["cut_short"] is True
    (folder / "summary.json").write_text(json.dumps(said))  # as an older version wrote it
    capsys.readouterr()
    assert main([str(clip), "--resume", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"the run in {folder} stopped after 20 frames (--max-frames), before the end of its source" in err, err
    assert len(err.strip().splitlines()) == 1, err


def test_a_resume_of_a_run_max_frames_cut_that_kept_no_checkpoint_says_it_was_cut(clip, tmp_path, fake_models, capsys):
    """`--resume` of a run `--max-frames` stopped before its source's end that kept no checkpoint (a `track batch
    --max-frames` video's folder, a `track` run with --checkpoint-seconds 0 or without --gallery) said "finished (20
    frames): nothing to resume", exit status 0, as if the whole video were tracked. Now one error says it was cut,
    that no checkpoint was kept and how to go on. A batch's video folder (also one written before summary.json
    recorded the cut) is refused as an --out since stop 77, with --resume too. A run tracked to its end is still
    finished."""
    from test_batch import fake_tracker

    from tracker.batch import track_many
    from tracker.config import TrackerConfig

    runs = []
    for every in ("0", "60"):
        runs.append(tmp_path / f"every{every}")
        args = ["--out", str(runs[-1]), "--quiet", "--no-save-video", "--max-frames", "20", "--checkpoint-seconds"]
        assert main([str(clip), *args, every]) == 0
    track_many([clip], TrackerConfig(), tmp_path / "batch", workers=1, save_video=False, max_frames=20,
               progress=False, make_tracker=fake_tracker)  # fmt: skip
    old = tmp_path / "old_batch"  # its summary.json as before it recorded the cut
    shutil.copytree(tmp_path / "batch" / "walk", old)
    said = json.loads((old / "summary.json").read_text())
    del said["cut_short"]
    (old / "summary.json").write_text(json.dumps(said))
    capsys.readouterr()
    for out in runs:
        assert main([str(clip), "--resume", "--out", str(out), "--quiet"]) == 2, out
        err = capsys.readouterr().err
        assert f"the run in {out} stopped after 20 frames (--max-frames), before the end of its source" in err, err
        assert "kept no checkpoint" in err and "without --resume" in err and "--relink" in err, err
        assert len(err.strip().splitlines()) == 1, err
    # a batch's video folder (its batch.json; also one written before summary.json recorded the cut): since stop 77
    # `track` refuses it as an --out, with --resume too (the run the cut message advised, without --resume, would
    # write into the batch's folder, which the batch's re-run replaces whole)
    for out in (tmp_path / "batch" / "walk", old):
        assert main([str(clip), "--resume", "--out", str(out), "--quiet"]) == 2, out
        err = capsys.readouterr().err
        assert f"--out {out} is in {out}, a video's folder of a `track batch` run" in err, err
        assert len(err.strip().splitlines()) == 1, err
    assert main([str(clip), "--out", str(tmp_path / "whole"), "--quiet", "--no-save-video"]) == 0
    assert main([str(clip), "--resume", "--out", str(tmp_path / "whole"), "--quiet"]) == 0
    assert f"finished ({FRAMES} frames): nothing to resume" in capsys.readouterr().out


def test_resume_finds_the_run_of_a_source_whose_name_ends_in_a_digit(tmp_path, monkeypatch, fake_models, capsys):
    """Run folders are numbered `<name>2`, `<name>3`: `runs/track/cam12` is the folder of `cam12.avi` as well as the
    name of a second run of `cam1.avi`. `track cam1.avi --resume` took cam12.avi's finished run for cam1.avi's
    newest ("finished: nothing to resume") and never resumed the interrupted run in `runs/track/cam1`."""
    monkeypatch.chdir(tmp_path)
    frames = scene(FRAMES)
    cam1, cam12 = (write_video(tmp_path / f"{name}.avi", frames) for name in ("cam1", "cam12"))
    assert main([str(cam1), "--out", str(tmp_path / "whole"), "--quiet", "--no-save-video"]) == 0
    with monkeypatch.context() as m:
        stop_at(m, STOP_AT, lambda: signal.getsignal(signal.SIGINT)(signal.SIGINT, None))
        assert main([str(cam1), "--quiet", "--no-save-video"]) == 130
    assert main([str(cam12), "--quiet", "--no-save-video"]) == 0
    runs = tmp_path / "runs" / "track"
    assert sorted(p.name for p in runs.iterdir()) == ["cam1", "cam12"]
    capsys.readouterr()
    assert main([str(cam1), "--resume", "--quiet", "--no-save-video"]) == 0
    assert "nothing to resume" not in capsys.readouterr().out
    assert outputs(runs / "cam1", "cam1") == outputs(tmp_path / "whole", "cam1")
    assert not (runs / "cam1" / CHECKPOINT_NAME).exists()


def test_a_resumed_run_names_the_unreadable_frames_of_the_whole_source(tmp_path, monkeypatch, fake_models, capsys):
    """The frames before the checkpoint are not read again without a video: their unreadable ones come from it."""
    folder = tmp_path / "frames"
    folder.mkdir()
    for i, frame in enumerate(scene(FRAMES), start=1):
        cv2.imwrite(str(folder / f"{i:03d}.png"), frame)
    for bad in (5, 50):
        (folder / f"{bad:03d}.png").write_bytes(b"not a png")
    out = tmp_path / "run"
    with monkeypatch.context() as m:
        stop_at(m, STOP_AT, lambda: signal.getsignal(signal.SIGINT)(signal.SIGINT, None))
        assert main([str(folder), "--out", str(out), "--quiet", "--no-save-video"]) == 130
    capsys.readouterr()
    assert main([str(folder), "--resume", "--out", str(out), "--no-save-video"]) == 0
    assert "2 unreadable frames skipped (frames 5, 50)" in capsys.readouterr().out
    summary = json.loads((out / "summary.json").read_text())
    assert summary["corrupt_frames"] == 2 and summary["corrupt_frame_numbers"] == [5, 50]


def test_a_resumed_run_does_not_write_over_a_gallery_another_program_replaced_while_it_ran(
    tmp_path, monkeypatch, frame_clock, capsys
):
    """A resumed run replaces the file its own run left (its checkpoint's gallery goes on from there), but not one
    that another program put there after the resume began (a copy or a restore, not through `track`): it wrote
    over that one, its identities lost. Now it keeps it, saves its own gallery in its folder and says how to merge."""
    import shutil

    args, _, gallery, out = _gallery_runs(tmp_path, monkeypatch)
    with monkeypatch.context() as m:
        stop_at(m, 25, ctrl_c)
        assert main([*args, "--out", str(out)]) == 130
    restored = tmp_path / "restored.gallery"
    shutil.copy(tmp_path / "known.gallery", restored)
    theirs = restored.read_bytes()
    capsys.readouterr()
    with monkeypatch.context() as m:
        stop_at(m, 40, lambda: os.replace(restored, gallery))
        assert main([*args, "--out", str(out), "--resume"]) == 2
    err = capsys.readouterr().err
    aside = out / f"{gallery.stem}.unmerged{gallery.suffix}"
    assert gallery.read_bytes() == theirs, "the other program's file is kept"
    assert f"track gallery merge {gallery} {aside} -o {gallery}" in err, err
    assert len(Gallery.load(aside)) >= len(Gallery.load(gallery)), "this run's identities are kept"


def test_a_run_killed_in_the_folder_of_a_finished_run_is_not_taken_for_finished(
    clip, tmp_path, monkeypatch, fake_models, capsys
):
    """A finished run's folder tracked into again (`--out` reused), the new run killed outright part-way: the finished
    run's summary.json stayed beside the new run's JSONL cut at the kill and unplayable mp4, so the folder read as
    finished (the mark README gives: a summary.json, no checkpoint.bin) and `--resume` said "finished (8 frames):
    nothing to resume", exit status 0. Now a new run's first frame removes the summary it replaces."""
    out, args = tmp_path / "run", [str(clip), "--max-frames", "8", "--quiet", "--checkpoint-seconds", "0"]
    assert main([*args, "--out", str(out)]) == 0 and (out / "summary.json").exists()
    with monkeypatch.context() as m:
        stop_at(m, 5, kill)
        m.setattr(run, "_write_summary", lambda path, summary: None)  # killed outright: nothing written at its end
        assert main([*args, "--out", str(out)]) == 130
    assert not (out / "summary.json").exists()
    capsys.readouterr()
    assert main([*args, "--resume", "--out", str(out)]) == 2
    said = capsys.readouterr()
    assert "nothing to resume" not in said.out and f"no checkpoint in {out}" in said.err, said


def test_a_resumed_runs_first_frame_is_detected_as_the_uninterrupted_runs_was(shared, shared_weights):
    """ultralytics makes its predictor on a detector's first frame and runs that frame on its own CPU thread count
    (cores - 1, at most 8): a resumed run's first frame was its fresh detector's first, detected with other threads
    than the uninterrupted run's same frame, and its boxes were up to 6e-5 px off (a txt row 180.71 -> 180.72 on
    TUD-Campus, resumed after frame 25). `restore_state` makes the predictor on a blank frame, so the first frame
    after the checkpoint is detected as the uninterrupted run detected it."""
    from ultralytics.utils import NUM_THREADS

    from tracker.resume import Checkpoint
    from tracker.run_resume import restore_state

    root = shared / "data" / "MOT15" / "train" / "TUD-Campus" / "img1"
    frames = [cv2.imread(str(root / f"{number:06d}.jpg")) for number in (1, 2, 3)]
    weights = shared_weights / "yolo11n.pt"
    cfg = load_config(overrides=[f"detector.model={weights}", "detector.image_size=320", "reid.model=none"])
    threads = torch.get_num_threads()
    torch.set_num_threads(NUM_THREADS + 1)  # (not ultralytics' count: where the two agree, nothing would differ)
    try:
        whole = Tracker.from_config(cfg, frame_rate=25)
        for frame in frames[:2]:
            whole.update(frame)
        state = pickle.dumps((whole.core, whole.camera_motion))
        resumed = Tracker.from_config(cfg, frame_rate=25)
        size = list(frames[0].shape[:2])
        restore_state(resumed, Checkpoint(Path("checkpoint.bin"), {}, Progress(last_size=size), state))
        after = [(o.track_id, o.xyxy.tolist()) for o in whole.update(frames[2])]
        assert [(o.track_id, o.xyxy.tolist()) for o in resumed.update(frames[2])] == after != []
    finally:
        torch.set_num_threads(threads)


def test_a_new_run_removes_the_temp_checkpoint_a_run_killed_mid_checkpoint_left(clip, tmp_path, fake_models):
    """A run killed outright while it wrote a checkpoint leaves `checkpoint.bin.partial` (MBs of every track's looks,
    biometric data); a later run into the folder that writes no checkpoint (`--checkpoint-seconds 0`, several
    sources) left it there for good, beside its own results. A new run's outputs remove it with the checkpoint."""
    out = tmp_path / "run"
    out.mkdir()
    left = out / f"{CHECKPOINT_NAME}.partial"
    left.write_bytes(b"half a checkpoint")
    args = [str(clip), "--out", str(out), "--max-frames", "3", "--quiet", "--no-save-video", "--checkpoint-seconds"]
    assert main([*args, "0"]) == 0
    assert not left.exists() and (out / "walk.txt").exists()


def test_a_run_of_several_sources_killed_in_the_folder_of_a_finished_run_is_not_taken_for_finished(
    clip, tmp_path, monkeypatch, fake_models, capsys
):
    """The case above with several sources: their summaries are `<name>.summary.json`, and a run of two killed
    part-way in a one-source run's folder left that run's summary.json (walk, 8 frames) beside the cut walk.txt:
    `--resume` of walk said "finished (8 frames): nothing to resume", exit status 0. And a one-source run killed
    where a run of several had finished left `walk.summary.json` calling its cut walk.txt finished."""
    other = write_video(tmp_path / "other.avi", scene(FRAMES))
    out, args = tmp_path / "run", ["--max-frames", "8", "--quiet", "--checkpoint-seconds", "0", "--out"]
    cases = (([clip], [clip, other], "summary.json"), ([clip, other], [clip], "walk.summary.json"))
    for finished, killed, left in cases:
        assert main([*map(str, finished), *args, str(out)]) == 0 and (out / left).exists()
        with monkeypatch.context() as m:
            stop_at(m, 5, kill)
            m.setattr(run, "_write_summary", lambda path, summary: None)  # killed outright: nothing written at its end
            assert main([*map(str, killed), *args, str(out)]) == 130
        assert not (out / left).exists(), f"{left} of the finished run calls the cut walk.txt finished"
    capsys.readouterr()
    assert main([str(clip), *args, str(out), "--resume"]) == 2
    said = capsys.readouterr()
    assert "nothing to resume" not in said.out and f"no checkpoint in {out}" in said.err, said


@pytest.mark.parametrize("rate", [30, 25])  # (30: the config's frame_rate, which the glob was tracked at before)
def test_a_run_of_a_glob_in_a_sequences_image_folder_begun_before_it_took_the_sequences_name_is_refused(
    rate, tmp_path, monkeypatch, fake_models, frame_clock, capsys
):
    """Since stop 77 (239c924) a quoted glob in a MOTChallenge sequence's image folder, `track "SEQ/img1/*.png"`,
    takes the sequence's name (SEQ-07.txt) and seqinfo.ini's frame rate; before, it was named after the folder
    (img1.txt) and tracked at the config's. A run begun before and killed cannot go on as one run: its checkpoint's
    identity holds the frame rate, and its outputs are named img1, so nothing mixes, but the refusal named another
    reason: "OUT/SEQ-07.txt is missing" (a file the old run never wrote) where the rates agree, "frame_rate: 30.0
    then, 25.0 now ... resume with the same source, options" (the same source and options were given) where they
    differ. It now says why (the run was begun before the glob took the sequence's name), the folder as it was."""
    seq = tmp_path / "SEQ"
    (seq / "img1").mkdir(parents=True)
    for i, frame in enumerate(scene(FRAMES), start=1):
        cv2.imwrite(str(seq / "img1" / f"{i:06d}.png"), frame)
    info = f"name=SEQ-07\nimDir=img1\nframeRate={rate}\nseqLength={FRAMES}\nimWidth=320\nimHeight=240\nimExt=.png\n"
    (seq / "seqinfo.ini").write_text(f"[Sequence]\n{info}")
    glob, out = str(seq / "img1" / "*.png"), tmp_path / "out"
    with monkeypatch.context() as m:
        m.setattr(sources, "_glob_sequence", lambda folder: None)  # the glob as main read it before 239c924
        stop_at(m, STOP_AT, kill)
        assert main([glob, "--out", str(out), "--quiet"]) == 130
    assert (out / CHECKPOINT_NAME).is_file() and (out / "img1.jsonl").is_file()
    capsys.readouterr()
    before = {path.name: path.read_bytes() for path in out.iterdir()}
    assert main([glob, "--out", str(out), "--quiet", "--resume"]) == 2
    said = capsys.readouterr().err.strip().splitlines()[-1]
    assert said.startswith(f"track: error: the run in {out} was begun before a glob in a MOTChallenge"), said
    assert "its outputs are img1.*" in said and "SEQ-07" in said, said
    assert {path.name: path.read_bytes() for path in out.iterdir()} == before
