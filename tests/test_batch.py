"""`track batch` / `track_many` on a real local Ray (one cluster for the module) and on local processes.

The videos are tiny synthetic clips tracked with the blob detector of the CLI tests (no model files), so a
batch must give byte-identical files to sequential `track` runs. Ray starts once, in the module fixture,
and only the tests that ask for it pay for it.
"""

from __future__ import annotations

import dataclasses
import errno
import functools
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from media import undecodable_path, write_video
from test_cli import blob_detector, scene

import tracker.run as run
from tracker.batch import track_many
from tracker.batch_names import OPTIONS
from tracker.batch_work import NOTE_NAME, VideoTask, failed_result
from tracker.cli import main
from tracker.config import TrackerConfig, load_config
from tracker.gallery import Gallery, Sighting
from tracker.gallery_sources import SourceLinkedError
from tracker.io.lock import LOCK_NAME
from tracker.io.mot import read_mot_rows
from tracker.io.sources import MAX_NAME_BYTES, open_source, safe_name
from tracker.pipeline import Tracker
from tracker.run_folders import CONFIG_NAME
from tracker.weights import WEIGHTS_CACHE_ENV, WEIGHTS_DIR_ENV, content_digest, weights_here

ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent
CLIPS = 4
FRAMES = 30
SLOW_FRAMES = 60  # the clip whose worker is killed: long enough to be caught half-way
FRAME_DELAY_S = 0.05  # ... at this many seconds per frame
KILL_TIMEOUT_S = 60


def fake_tracker(cfg, frame_rate, gallery=None, delay_s: float = 0.0, pid_dir: str | None = None):
    """A Tracker around the blob detector; optionally slow, and writing its pid to `pid_dir` (picklable)."""
    if pid_dir is not None:  # written beside the folder and renamed in: a reader never sees an empty pid file
        name = f"{os.getpid()}-{time.monotonic_ns()}"
        temp = Path(pid_dir).parent / f".{name}.pid"
        temp.write_text(str(os.getpid()))
        os.replace(temp, Path(pid_dir, name))

    def detect(frame):
        if delay_s:
            time.sleep(delay_s)
        return blob_detector(frame)

    return Tracker(cfg, frame_rate, detector=detect, embedder=None)


def clip(path: Path, shift: int, frames: int = FRAMES) -> Path:
    """The two-walker scene of the CLI tests, rolled sideways by `shift` pixels (so clips differ)."""
    return write_video(path, [np.roll(f, shift, axis=1) for f in scene(frames)])


@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory):
    """A real local Ray with 2 CPUs for this module; workers import the tests' helpers like the driver."""
    ray = pytest.importorskip("ray", reason="Ray is not installed (pip install -e '.[ray]')")
    temp = Path("/tmp") / f"ray{os.getpid()}"  # Ray's socket paths must stay short
    cache = tmp_path_factory.mktemp("weights_cache")  # the tasks' copies of weights their driver sent
    path = os.pathsep.join([str(ROOT), str(TESTS), os.environ.get("PYTHONPATH", "")])
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        _temp_dir=str(temp),
        runtime_env={"env_vars": {"PYTHONPATH": path, "OMP_WAIT_POLICY": "PASSIVE", WEIGHTS_CACHE_ENV: str(cache)}},
    )
    yield ray
    ray.shutdown()
    shutil.rmtree(temp, ignore_errors=True)


_SIGTERM_AFTER_RAY_INIT = r"""
import os, signal, sys, time
from tracker.ray_engine import ray_session
caught = []
signal.signal(signal.SIGTERM, lambda signum, frame: caught.append(signum))  # as `track batch` sets it
with ray_session(None, quiet=True):
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(0.5)
print("caught", caught)
"""


def _run_with_a_local_ray(script: str, tag: str) -> subprocess.CompletedProcess:
    """Run `script` in a fresh Python (this checkout's tracker first) that starts its own local Ray in a short temp
    folder named by `tag` (Ray's socket paths must stay short), removed after; skipped without Ray."""
    pytest.importorskip("ray", reason="Ray is not installed (pip install -e '.[ray]')")
    temp = Path("/tmp") / f"ray{os.getpid()}{tag}"
    env = {
        **os.environ,
        "RAY_TMPDIR": str(temp),
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    env.pop("RAY_ADDRESS", None)
    try:
        return subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    finally:
        shutil.rmtree(temp, ignore_errors=True)


def test_a_ray_session_keeps_the_python_sigterm_handler(tmp_path):
    """`ray.init` installs Ray's own C handler of SIGTERM: a `kill` of `track batch --engine ray` killed the driver
    at once (Ray's "SIGTERM received", an abort: .partial folders left, the gallery not linked) instead of stopping
    the tasks as Ctrl-C does. The handler set before the session still runs inside it."""
    done = _run_with_a_local_ray(_SIGTERM_AFTER_RAY_INIT, "sig")
    assert done.returncode == 0 and "caught [15]" in done.stdout, (done.returncode, done.stdout, done.stderr[-2000:])


_SIGTERM_DURING_RAY_INIT = r"""
import os, signal, threading
from tracker.ray_engine import ray_session


def interrupt(signum, frame):  # as `track eval` and `track batch` set it: SIGTERM stops the run as Ctrl-C does
    raise KeyboardInterrupt


signal.signal(signal.SIGTERM, interrupt)
threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGTERM)).start()  # while ray.init starts Ray (seconds)
try:
    with ray_session(None, quiet=True):
        print("started")
except KeyboardInterrupt:
    print("interrupted")
"""


def test_a_sigterm_while_ray_starts_stops_the_run_as_ctrl_c_does(tmp_path):
    """A `kill` of `track eval --engine ray` in the seconds `ray.init` takes ran Ray's own handler (`sys.exit(15)`):
    the run ended with exit status 15 and no word, where before and after Ray's start it says "interrupted; finished
    sequences are kept" (130). Ray's processes are stopped and the SIGTERM is given to the handler set before."""
    done = _run_with_a_local_ray(_SIGTERM_DURING_RAY_INIT, "ini")
    assert done.returncode == 0 and done.stdout.split() == ["interrupted"], (
        done.returncode,
        done.stdout,
        done.stderr[-2000:],
    )


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("clips")
    return [clip(folder / f"cam{k}.avi", 40 * k) for k in range(CLIPS)]


@pytest.fixture(scope="module")
def sequential(clips, tmp_path_factory) -> Path:
    """4 sequential `track` runs (the CLI, in this process), each into out/<name>/."""
    out = tmp_path_factory.mktemp("sequential")
    mp = pytest.MonkeyPatch()
    mp.setattr(
        run.Tracker,
        "from_config",
        staticmethod(lambda cfg, frame_rate=None, gallery=None: fake_tracker(cfg, frame_rate)),
    )
    try:
        for video in clips:
            assert main([str(video), "--out", str(out / video.stem), "--quiet"]) == 0
    finally:
        mp.undo()
    return out


def same_outputs(batch_dir: Path, sequential_dir: Path, name: str, folder: bool = True) -> None:
    """The batch's `out/<name>/<name>.*` are byte for byte those of the sequential run."""
    for ext in (".txt", ".jsonl", ".mp4"):
        made = batch_dir / name / f"{name}{ext}"
        expected = sequential_dir / (name if folder else "") / f"{name}{ext}"
        assert made.read_bytes() == expected.read_bytes(), f"{made} differs from the sequential run"


def local_detector(tmp_path: Path) -> list[str]:
    """`--set detector.model=<an empty local file>`: for batches whose videos never open, so the model is never
    loaded; a local file, so the driver does not download the default detector (offline: exit 2 before any task)."""
    detector = tmp_path / "det.pt"
    detector.write_bytes(b"")
    return ["--set", f"detector.model={detector}"]


def no_leftovers(out: Path) -> None:
    """No hidden folder or lock file in `out` (a batch that published nothing leaves no folder, as `track`)."""
    hidden = [p.name for p in out.iterdir() if p.name.startswith(".")] if out.exists() else []
    assert not hidden, f"temporary folders left behind: {hidden}"


@pytest.mark.parametrize("engine", ["ray", "local"])
def test_batch_of_four_equals_four_sequential_track_runs(engine, request, clips, sequential, tmp_path):
    if engine == "ray":
        request.getfixturevalue("ray_cluster")
    out = tmp_path / "batch"
    summary = track_many(
        clips, TrackerConfig(), out, engine=engine, workers=2, progress=False, make_tracker=fake_tracker
    )
    assert [v.status for v in summary.videos] == ["done"] * CLIPS, summary.describe()
    assert [v.name for v in summary.videos] == [c.stem for c in clips]
    assert summary.frames == CLIPS * FRAMES and not any(v.retried for v in summary.videos)
    for video in clips:
        same_outputs(out, sequential, video.stem)
    no_leftovers(out)
    # A second run reuses every finished video (same files, same config) and tracks nothing.
    again = track_many(clips, TrackerConfig(), out, engine=engine, workers=2, progress=False, make_tracker=fake_tracker)
    assert [v.status for v in again.videos] == ["reused"] * CLIPS and again.frames == 0


def test_a_batch_with_nothing_left_to_track_shows_no_empty_bar_nor_rate(tmp_path, capsys):
    """A re-run that reuses every video drew an empty progress bar ("0/0 videos: : 0frame") and said "0 frames in
    0.0 s (0.0 frames/s)" above the lines saying each video was reused."""
    source, out = clip(tmp_path / "cam.avi", 0, 3), tmp_path / "out"
    first = track_many([source], TrackerConfig(), out, workers=1, progress=True, make_tracker=fake_tracker)
    assert first.describe().splitlines()[0].startswith("1 of 1 video tracked (local): 3 frames in ")
    capsys.readouterr()
    again = track_many([source], TrackerConfig(), out, workers=1, progress=True, make_tracker=fake_tracker)
    assert "videos" not in capsys.readouterr().err, "no bar over no videos"
    assert again.describe().splitlines() == [
        "1 video reused (local): nothing tracked, outputs of an earlier run with the same inputs",
        f"  reused   cam: 3 frames, {first.videos[0].tracks} tracks -> {out / 'cam'} (outputs of an earlier run with "
        "the same inputs)",
    ]


def test_a_summary_says_every_video_was_reused_and_names_each_folder():
    """A re-run that reused every video said "0 of 2 videos tracked", as if nothing had come out, and its lines named
    no folder where those of tracked videos did ("done a: ... -> out/a"); a failed stream's kept outputs were not
    named either; "0 of 3 videos tracked, 2 reused" did not count the third, failed."""
    from tracker.batch import BatchSummary, VideoResult

    def reused(index: int, name: str) -> VideoResult:
        return VideoResult(index, f"{name}.mp4", name, Path("out", name), "reused", frames=5, tracks=2, attempts=0)

    every = BatchSummary([reused(0, "a"), reused(1, "b")], 0.1, "ray").describe().splitlines()
    assert every[0] == "all 2 videos reused (ray): nothing tracked, outputs of an earlier run with the same inputs"
    assert every[1] == "  reused   a: 5 frames, 2 tracks -> out/a (outputs of an earlier run with the same inputs)"
    stream = VideoResult(2, "rtsp://cam", "cam", Path("out/cam"), "failed", reason="stream lost")
    stream.outputs = [Path("out/cam/cam.txt")]
    done = VideoResult(3, "c.mp4", "c", Path("out/c"), "done", frames=4, tracks=1)
    mixed = BatchSummary([reused(0, "a"), stream, done], 2.0, "local").describe().splitlines()
    assert mixed[0] == "1 of 3 videos tracked, 1 reused, 1 failed (local): 4 frames in 2.0 s (2.0 frames/s)"
    assert "  failed   cam: stream lost; the outputs of the frames read before are in out/cam" in mixed, mixed


def kill_first_worker(pid_dir: Path, stop: threading.Event, killed: list[int]) -> None:
    """SIGKILL the first process that starts tracking the slow clip, once it is well into the video."""
    deadline = time.monotonic() + KILL_TIMEOUT_S
    while not stop.is_set() and time.monotonic() < deadline:
        files = sorted(pid_dir.iterdir())
        if files:
            time.sleep(SLOW_FRAMES * FRAME_DELAY_S / 2)  # half-way through the video
            pid = int(files[0].read_text())
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
            return
        time.sleep(0.02)


@pytest.mark.parametrize("engine", ["ray", "local"])
def test_a_killed_worker_is_rerun_and_outputs_are_whole(engine, request, tmp_path):
    if engine == "ray":
        request.getfixturevalue("ray_cluster")
    slow = clip(tmp_path / "slow.avi", 0, SLOW_FRAMES)
    pid_dir = tmp_path / "pids"
    pid_dir.mkdir()
    factory = functools.partial(fake_tracker, delay_s=FRAME_DELAY_S, pid_dir=str(pid_dir))
    stop, killed = threading.Event(), []
    killer = threading.Thread(target=kill_first_worker, args=(pid_dir, stop, killed))
    killer.start()
    try:
        summary = track_many([slow], TrackerConfig(), tmp_path / "out", engine=engine, progress=False,
                             make_tracker=factory)  # fmt: skip
    finally:
        stop.set()
        killer.join()
    assert killed, "the worker was never killed"
    (video,) = summary.videos
    assert video.status == "done" and video.attempts == 2 and video.retried, summary.describe()
    assert len(list(pid_dir.iterdir())) == 2, "one run killed, one run to the end"
    rows = read_mot_rows(tmp_path / "out" / "slow" / "slow.txt")
    pairs = {(int(f), int(i)) for f, i in rows[:, :2]}
    assert len(pairs) == len(rows), "no frame written twice"
    frames = [json.loads(line)["frame"] for line in (tmp_path / "out" / "slow" / "slow.jsonl").read_text().splitlines()]
    assert frames == list(range(1, SLOW_FRAMES + 1))
    source = open_source(slow)
    run.track_source(fake_tracker(TrackerConfig(), source.frame_rate), source, tmp_path / "direct", progress=False)
    same_outputs(tmp_path / "out", tmp_path / "direct", "slow", folder=False)
    assert "retried  slow: 2 attempts" in summary.describe()
    no_leftovers(tmp_path / "out")


def first_worker_killed(tmp_path: Path, max_retries: int):
    """The summary of a local batch of one slow clip whose first worker is killed (SIGKILL) half-way."""
    slow = clip(tmp_path / "slow.avi", 0, SLOW_FRAMES)
    pid_dir = tmp_path / "pids"
    pid_dir.mkdir()
    factory = functools.partial(fake_tracker, delay_s=FRAME_DELAY_S, pid_dir=str(pid_dir))
    cfg = TrackerConfig(batch=dataclasses.replace(TrackerConfig().batch, max_retries=max_retries))
    stop, killed = threading.Event(), []
    killer = threading.Thread(target=kill_first_worker, args=(pid_dir, stop, killed))
    killer.start()
    try:
        summary = track_many([slow], cfg, tmp_path / "out", engine="local", progress=False, make_tracker=factory)
    finally:
        stop.set()
        killer.join()
    assert killed, "the worker was never killed"
    return summary


def test_a_worker_killed_with_no_retries_left_fails_its_video_in_words(tmp_path):
    """`--set batch.max_retries=0` and a local worker killed: "worker process died (killed by signal 9 (SIGKILL))
    1 time" (it said "exit code -9": multiprocessing's number for a signal)."""
    (video,) = first_worker_killed(tmp_path, max_retries=0).videos
    assert video.status == "failed", video
    assert video.reason == "worker process died (killed by signal 9 (SIGKILL)) 1 time", video.reason


def test_a_video_run_again_says_how_its_worker_died(tmp_path, caplog):
    """A local worker killed (`kill -9`, the out-of-memory killer): its video's next line said only "slow: running
    again, attempt 2"; it now says how the worker ended, as the failure line of a video out of retries does."""
    with caplog.at_level(logging.INFO, logger="tracker.batch"):
        (video,) = first_worker_killed(tmp_path, max_retries=1).videos
    assert video.status == "done" and video.attempts == 2, video
    again = [r.getMessage() for r in caplog.records if "running again" in r.getMessage()]
    assert again == ["slow: running again, attempt 2 (its worker died: killed by signal 9 (SIGKILL))"], again


def crashing_tracker(cfg, frame_rate, gallery=None):
    """A worker that dies as it builds its tracker (a segfault in a native library, the out-of-memory killer)."""
    os._exit(1)


def test_a_crashed_ray_worker_says_where_its_logs_are(ray_cluster, tmp_path):
    """`--engine ray`: a worker that died left "WorkerCrashedError: The worker died unexpectedly ... Check
    python-core-worker-*.log files", and the driver (log_to_driver off) shows no traceback: where are those files?
    The reason names the session's log folder, which holds them."""
    cfg = TrackerConfig(batch=dataclasses.replace(TrackerConfig().batch, max_retries=0))
    video = clip(tmp_path / "cam.avi", 0, 3)
    summary = track_many([video], cfg, tmp_path / "out", engine="ray", progress=False, make_tracker=crashing_tracker)
    (failed,) = summary.failed
    assert failed.reason.startswith("WorkerCrashedError: "), failed.reason
    assert "the worker's logs (its traceback) are in " in failed.reason, failed.reason
    said = failed.reason.split("the worker's logs (its traceback) are in ", 1)[1]
    logs = Path(said.removesuffix(", on the node that ran it"))
    assert logs.is_dir() and logs.is_relative_to(Path("/tmp") / f"ray{os.getpid()}"), failed.reason  # the fixture's
    assert any(logs.glob("python-core-worker-*.log")), sorted(p.name for p in logs.iterdir())


def test_ray_tasks_open_the_drivers_relative_paths_whatever_folder_their_ray_started_in(
    ray_cluster, clips, sequential, tmp_path, monkeypatch
):
    """A Ray worker starts in the folder its Ray was started from (a cluster's `ray start` on its node; here the
    module's Ray, started in the tests' folder), not in the driver's: `track batch cam.mp4 --out runs/site --engine
    ray --address auto` run from another folder failed every video ("no such file or folder: cam.mp4"), and a source
    found there would have been tracked into that folder's `runs/site`. Each task now runs in the driver's folder."""
    work = tmp_path / "work"
    (work / "cams").mkdir(parents=True)
    shutil.copyfile(clips[0], work / "cams" / clips[0].name)
    monkeypatch.chdir(work)
    workers_folder = ray_cluster.remote(lambda: os.getcwd())
    assert ray_cluster.get(workers_folder.remote()) != str(work)  # the workers' own folder
    source, out = f"cams/{clips[0].name}", Path("runs") / "site"
    summary = track_many([source], TrackerConfig(), out, engine="ray", progress=False, make_tracker=fake_tracker)
    assert [v.status for v in summary.videos] == ["done"], summary.describe()
    same_outputs(work / out, sequential, clips[0].stem)
    assert summary.videos[0].out_dir == out / clips[0].stem  # said as given, as the local engine says it
    assert json.loads((work / out / clips[0].stem / NOTE_NAME).read_text())["source"] == source
    assert ray_cluster.get(workers_folder.remote()) != str(work)  # each task gave its worker's folder back


def test_a_ray_batch_records_the_videos_it_links_in_the_gallery(ray_cluster, tmp_path):
    """The videos a Ray batch tracks on its nodes are recorded by the gallery as its sources, keyed by their content
    on the driver (which refuses, before any task, a source it cannot read): a `max_frames` cut is recorded as the
    video's first frames only (`cut_short` comes back from the node); a second batch of the video is refused."""
    from tracker.gallery_sources import source_digest

    video = write_video(tmp_path / "cam.avi", scene()[:12])
    gallery = tmp_path / "site.gallery"
    batch = functools.partial(track_many, [video], EVERY_FRAME, engine="ray", gallery=gallery, progress=False,
                              save_video=False, make_tracker=gallery_tracker)  # fmt: skip
    summary = batch(tmp_path / "out", max_frames=8)
    assert [v.status for v in summary.videos] == ["done"], summary.describe()
    sources = Gallery.load(gallery).sources
    assert list(sources) == [source_digest(video)]
    assert [(s.frames, s.tracked) for s in sources.values()] == [(None, 8)]
    with pytest.raises(SourceLinkedError, match=r"cam\.avi \(its first 8 frames only"):
        batch(tmp_path / "out2")


def test_missing_and_corrupt_videos_fail_alone(ray_cluster, clips, sequential, tmp_path):
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(os.urandom(4096))
    sources = [clips[0], tmp_path / "missing.mp4", corrupt, clips[1]]
    out = tmp_path / "out"
    summary = track_many(sources, TrackerConfig(), out, engine="ray", progress=False, make_tracker=fake_tracker)
    assert [v.status for v in summary.videos] == ["done", "failed", "failed", "done"], summary.describe()
    missing, broken = summary.failed
    assert "no such file" in missing.reason and "missing.mp4" in missing.reason
    assert "corrupt.mp4" in broken.reason
    for video in (clips[0], clips[1]):
        same_outputs(out, sequential, video.stem)
    assert not (out / "missing").exists() and not (out / "corrupt").exists()
    assert json.loads((out / clips[0].stem / NOTE_NAME).read_text())["frames"] == FRAMES
    text = summary.describe()
    assert "2 of 4 videos tracked" in text and "failed   missing:" in text and "failed   corrupt:" in text
    no_leftovers(out)


def vanishing_before_the_batch(monkeypatch, path: Path) -> None:
    """`path` exists when `track batch` checks the names (a missing name stops the batch before it starts) and is
    gone when the batch runs: a file that goes missing meanwhile, which still fails alone."""
    import tracker.batch as batch

    path.write_bytes(b"")
    real_track_many = batch.track_many

    def track_many(*args, **kwargs):
        path.unlink()
        return real_track_many(*args, **kwargs)

    monkeypatch.setattr(batch, "track_many", track_many)


def test_cli_batch_reports_failures_in_one_line_each(tmp_path, monkeypatch, capsys):
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(os.urandom(4096))
    vanishing_before_the_batch(monkeypatch, tmp_path / "missing.mp4")
    code = main(
        ["batch", str(tmp_path / "missing.mp4"), str(corrupt), "--out", str(tmp_path / "out"), "--workers", "2",
         *local_detector(tmp_path)]
    )  # fmt: skip
    assert code == 1
    out = capsys.readouterr().out
    assert "0 of 2 videos tracked" in out and "failed   missing: SourceError: no such file" in out
    assert "failed   corrupt: SourceError:" in out


def test_cli_batch_quiet_still_names_the_failed_videos(tmp_path, monkeypatch, capsys):
    """--quiet silences the bar and the summary; a failed video must still say why (exit status 1 alone
    does not), one line each on stderr. A name that names nothing is refused before the batch (exit status 2, as
    `track`); one gone by its turn fails in the batch."""
    argv = [
        "batch",
        str(tmp_path / "missing.mp4"),
        "--out",
        str(tmp_path / "out"),
        "--quiet",
        "--set",
        "reid.model=none",
    ]
    code = main(argv)
    assert code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.strip() == "track batch: error: no such file or folder: " + str(tmp_path / "missing.mp4")
    vanishing_before_the_batch(monkeypatch, tmp_path / "missing.mp4")
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    said = "track batch: error: missing: SourceError: no such file or folder: " + str(tmp_path / "missing.mp4")
    assert captured.err.strip() == said


def test_cli_batch_without_ray_says_how_to_install(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(__import__("sys").modules, "ray", None)  # `import ray` raises ImportError
    monkeypatch.chdir(tmp_path)
    Path("a.mp4").touch()  # a source that is there (a batch of only missing ones is refused first)
    assert main(["batch", "a.mp4", "--out", str(tmp_path), "--engine", "ray", "--set", "reid.model=none"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("track batch: error:") and "pip install -e '.[ray]'" in err and "\n" not in err


def test_a_ray_that_is_installed_but_fails_to_import_is_not_called_missing(tmp_path, monkeypatch, capsys):
    """A Ray whose import fails for another reason (a shared library missing, a dependency broken) was told as "the
    ray engine needs Ray, which is not installed", the cause dropped, and the install command it gave was a no-op
    (pip: already satisfied). The error now gives the import's own reason, as the other extras' errors do."""
    broken = tmp_path / "site" / "ray"
    broken.mkdir(parents=True)
    (broken / "__init__.py").write_text('raise ImportError("libgrpc.so.1: cannot open shared object file")\n')
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.delitem(__import__("sys").modules, "ray", raising=False)
    monkeypatch.chdir(tmp_path)
    Path("a.mp4").touch()
    assert main(["batch", "a.mp4", "--out", "out", "--engine", "ray", "--set", "reid.model=none"]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("track batch: error: the ray engine needs Ray"), err
    assert "libgrpc.so.1: cannot open shared object file" in err and "not installed" not in err, err


def test_a_missing_ray_is_named_with_the_import_error(tmp_path, monkeypatch, capsys):
    """Ray absent: "not installed", with the import's reason, as `track eval: error: scoring needs the [eval] extra,
    which is not installed (No module named 'trackeval')` gives it."""
    monkeypatch.setitem(__import__("sys").modules, "ray", None)
    monkeypatch.chdir(tmp_path)
    Path("a.mp4").touch()
    assert main(["batch", "a.mp4", "--out", "out", "--engine", "ray", "--set", "reid.model=none"]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "which is not installed (" in err and "pip install -e '.[ray]'" in err, err


def test_cli_batch_rejects_a_gpu_share_without_ray(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    Path("a.mp4").touch()
    assert main(["batch", "a.mp4", "--out", str(tmp_path), "--gpus-per-video", "0.5"]) == 2
    assert "--gpus-per-video needs --engine ray" in capsys.readouterr().err


def test_cli_batch_refuses_workers_with_ray_instead_of_ignoring_them(tmp_path, monkeypatch, capsys):
    """`--engine ray --workers 1` ran every video at once anyway (the option is the local engine's)."""
    monkeypatch.setitem(__import__("sys").modules, "ray", None)  # nothing starts: refused before Ray is imported
    monkeypatch.chdir(tmp_path)
    Path("a.mp4").touch()
    assert main(["batch", "a.mp4", "--out", "out", "--engine", "ray", "--workers", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]  # (after a note on missing ReID weights, if any)
    assert err.startswith("track batch: error: --workers is for --engine local"), err
    assert not Path("out").exists()


@pytest.mark.parametrize("share", ["nan", "inf", "-1", "x"])
def test_cli_batch_refuses_a_gpu_share_that_is_no_finite_number_before_starting_anything(tmp_path, capsys, share):
    """`--gpus-per-video nan` started Ray, then failed with "cannot convert float NaN to integer"."""
    with pytest.raises(SystemExit) as exit_info:
        main(["batch", "a.mp4", "--out", str(tmp_path), "--engine", "ray", "--gpus-per-video", share])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("track batch: error: argument --gpus-per-video: must be a number >= 0"), err
    with pytest.raises(ValueError, match="finite number >= 0"):
        track_many(["a.mp4"], None, tmp_path, engine="ray", gpus_per_video=float(share.replace("x", "nan")))


def test_a_batch_folder_opencv_cannot_write_videos_in_is_refused_before_any_video(tmp_path, capsys):
    """A batch `--out` whose path is not UTF-8 (a Latin-1 `caf\\xe9`) failed every video at its first frame, after
    its models loaded ("cannot write video"); it is refused before anything starts, as `track --out` is, naming the
    folder and the way round it. Without the videos it is no obstacle."""
    out = undecodable_path(tmp_path, b"caf\xe9")
    video = write_video(tmp_path / "a.avi", scene(3))
    assert main(["batch", str(video), "--out", str(out), "-q"]) == 2
    err = capsys.readouterr().err
    assert "track batch: error: --out " in err and "caf\N{REPLACEMENT CHARACTER}" in err, err
    assert "--no-save-video" in err and not out.exists()
    with pytest.raises(ValueError, match=r"^out_dir .*save_video=False$"):
        track_many([video], None, out, make_tracker=fake_tracker, progress=False)
    summary = track_many([video], None, out, save_video=False, make_tracker=fake_tracker, progress=False)
    assert summary.ok, summary.videos


@pytest.mark.parametrize("share", ["0.5", None, True])
def test_track_many_refuses_a_gpu_share_that_is_no_number_naming_it(tmp_path, share):
    """`track_many(..., gpus_per_video="0.5")` raised "'<=' not supported between instances of 'int' and 'str'",
    naming neither the parameter nor what it takes; now one TypeError saying both, before anything is made."""
    with pytest.raises(TypeError, match=r"^gpus_per_video must be a number \(a GPU share: 0\.25, 0\.5, 1, .*\), got "):
        track_many(["a.mp4"], None, tmp_path / "out", engine="ray", gpus_per_video=share)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("workers", [None, 2])
def test_track_many_on_ray_warns_that_workers_is_not_used(tmp_path, caplog, monkeypatch, workers):
    """`track_many(..., engine="ray", workers=2)` ignored `workers` without a word (`track batch --engine ray
    --workers 2` is refused); now one warning says so (the call goes on, as before); none when it is left out."""
    monkeypatch.setitem(sys.modules, "ray", None)  # (stops the call right after the warning: Ray "missing")
    with caplog.at_level(logging.WARNING, logger="tracker.batch"), pytest.raises(ImportError):
        track_many(["a.mp4"], None, tmp_path / "out", engine="ray", workers=workers)
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warned == ([] if workers is None else [
        "workers=2 is not used with engine='ray': Ray runs one task per free CPU of its nodes"
    ])  # fmt: skip


def test_eval_on_ray_gives_the_process_pool_results(ray_cluster, shared, tmp_path):
    from tracker.eval.cli import eval_main

    data = shared / "data" / "MOT17"
    if not data.is_dir():
        pytest.skip("../shared/data/MOT17 is absent")
    common = ["--data", str(data), "--detections", "public", "--sequences", "MOT17-09-FRCNN", "MOT17-05-FRCNN", "-q"]
    assert eval_main([*common, "--out", str(tmp_path / "ray"), "--engine", "ray"]) == 0
    assert eval_main([*common, "--out", str(tmp_path / "local")]) == 0
    for name in ("MOT17-09-FRCNN", "MOT17-05-FRCNN"):
        ray_file, local_file = (tmp_path / d / "ours" / f"{name}.txt" for d in ("ray", "local"))
        assert ray_file.read_bytes() == local_file.read_bytes()
    scores = [json.loads((tmp_path / d / "summary.json").read_text()) for d in ("ray", "local")]
    assert scores[0]["combined"]["HOTA"] == scores[1]["combined"]["HOTA"]


# ------------------------------------------------------------------------------------------------ one set of identities


def colour_embedder(image: torch.Tensor, boxes_xyxy) -> torch.Tensor:
    """A ReID stand-in: the mean colour of each box, centred and normalised ((R, 3): same walker ~ 1)."""
    corners = np.asarray(boxes_xyxy).round().astype(int).tolist()
    emb = torch.stack([image[y1:y2, x1:x2].float().mean(dim=(0, 1)) - 128 for x1, y1, x2, y2 in corners])
    return emb / emb.norm(dim=1, keepdim=True)


def gallery_tracker(cfg, frame_rate=None, gallery=None):
    """The blob detector with the colour embedder and the gallery (picklable)."""
    return Tracker(cfg, frame_rate, detector=blob_detector, embedder=colour_embedder, gallery=gallery)


EVERY_FRAME = TrackerConfig().replace(["appearance.lazy_embedding=false"])  # short clips: enough bank entries


def people(jsonl: Path) -> dict[int, int]:
    """{walker: last global ID} from a JSONL: walker 0 walks the top of the scene, walker 1 the bottom."""
    found = {}
    for line in jsonl.read_text().splitlines():
        for t in json.loads(line)["tracks"]:
            found[0 if t["xyxy"][1] < SCENE_MIDDLE_Y else 1] = t["global_id"]
    return found


SCENE_MIDDLE_Y = 120  # the scene's two walkers are above and below this row


def test_gallery_gives_one_id_per_person_across_clips_and_matches_sequential_track(ray_cluster, tmp_path, monkeypatch):
    frames = scene()
    half = len(frames) // 2
    first, second = (
        write_video(tmp_path / "first.avi", frames[:half]),
        write_video(tmp_path / "second.avi", frames[half:]),
    )
    out, gallery = tmp_path / "batch", tmp_path / "site.gallery"
    summary = track_many([first, second], EVERY_FRAME, out, engine="ray", gallery=gallery, save_video=False,
                         progress=False, make_tracker=gallery_tracker)  # fmt: skip
    assert [v.status for v in summary.videos] == ["done", "done"], summary.describe()
    by_clip = []
    for name in ("first", "second"):
        task_ids = people(out / name / f"{name}.jsonl")  # the task's provisional IDs
        tracks = json.loads((out / name / f"{name}.global.json").read_text())["tracks"]
        assert {int(k): v for k, v in tracks.items()} == summary.global_ids[name]
        rows = read_mot_rows(out / name / f"{name}.global.txt")
        assert set(rows[:, 1].astype(int)) == set(tracks.values())
        local = {}
        for line in (out / name / f"{name}.jsonl").read_text().splitlines():
            for t in json.loads(line)["tracks"]:
                local[0 if t["xyxy"][1] < SCENE_MIDDLE_Y else 1] = tracks[str(t["id"])]
        assert set(local) == set(task_ids) == {0, 1}
        by_clip.append(local)
    assert by_clip[0] == by_clip[1], "the same person has one ID in both clips"
    assert by_clip[0][0] != by_clip[0][1], "two people visible together keep two IDs"
    saved = Gallery.load(gallery)
    assert sorted(i.global_id for i in saved.identities) == sorted(by_clip[0].values())
    assert f"2 identities across the batch; gallery saved to {gallery} (2 identities)" in summary.describe()

    # `track first.avi second.avi --gallery` (sequential, online) groups the tracks the same way.
    monkeypatch.setattr(run.Tracker, "from_config", staticmethod(gallery_tracker))
    seq = tmp_path / "sequential"
    args = [str(first), str(second), "--gallery", str(tmp_path / "seq.gallery"), "--out", str(seq)]
    assert main([*args, "--set", "appearance.lazy_embedding=false", "--no-save-video", "--quiet"]) == 0
    sequential = [people(seq / f"{name}.jsonl") for name in ("first", "second")]
    assert sequential[0] == sequential[1] and sequential[0][0] != sequential[0][1]

    # A later batch starts from the saved gallery: the same people get their IDs back (in new footage of them: the
    # gallery holds second.avi's sightings already, and a batch of it again is refused)
    (tmp_path / "new").mkdir()
    second = write_video(tmp_path / "new" / "second.avi", frames[half:][::-1])
    later = track_many([second], EVERY_FRAME, tmp_path / "later", engine="ray", gallery=gallery, save_video=False,
                       progress=False, make_tracker=gallery_tracker)  # fmt: skip
    assert set(later.global_ids["second"].values()) == set(by_clip[0].values())


def test_batch_summary_counts_the_people_recognised_from_the_starting_gallery(tmp_path, monkeypatch):
    """`track batch --gallery` said nothing of the people its videos recognised from the gallery as it was when the
    batch began (each video's summary.json counted them as returns after occlusion). The gallery holds cam1's two
    walkers (`track cam1 --gallery`); a batch of cam1's yellow walker alone, in another camera, recognises that one
    person, and the video's summary.json counts it apart too."""
    from test_gallery_cli import CYAN, without

    gallery = tmp_path / "site.gallery"
    first = write_video(tmp_path / "cam1.avi", scene())
    monkeypatch.setattr(run.Tracker, "from_config", staticmethod(gallery_tracker))
    args = ["--gallery", str(gallery), "--out", str(tmp_path / "o"), "--no-save-video", "--quiet"]
    assert main([str(first), *args, "--set", "appearance.lazy_embedding=false"]) == 0
    second = write_video(tmp_path / "cam2.avi", without(scene()[::-1], CYAN))
    summary = track_many([second], EVERY_FRAME, tmp_path / "batch", engine="local", gallery=gallery,
                         save_video=False, progress=False, make_tracker=gallery_tracker)  # fmt: skip
    assert [v.status for v in summary.videos] == ["done"], summary.describe()
    said = [line for line in summary.describe().splitlines() if "recognised" in line]
    assert said == ["1 person recognised from the gallery as the batch began"], said
    saved = json.loads((tmp_path / "batch" / "cam2" / "summary.json").read_text())
    assert saved["recognised_from_gallery"] == summary.videos[0].recognised == 1


@pytest.mark.parametrize("command", ["track", "batch"])
def test_a_gallery_in_a_new_folder_is_made(tmp_path, monkeypatch, command, capsys):
    """`track cam1.avi --gallery galleries/site.gallery` (and `track batch`) was refused, "gallery folder galleries does
    not exist: create it", where `--out` and `track gallery export -o` make their folders. The folder is made, as a
    save makes it; a run refused before any frame (no ReID for the gallery) leaves no empty folder behind."""
    import tracker.batch as batch

    video = write_video(tmp_path / "cam1.avi", scene())
    monkeypatch.setattr(run.Tracker, "from_config", staticmethod(gallery_tracker))
    real_track_many = batch.track_many
    monkeypatch.setattr(batch, "track_many", lambda *a, **k: real_track_many(*a, **k, make_tracker=gallery_tracker))
    head = [] if command == "track" else ["batch"]
    gallery = tmp_path / "galleries" / "new" / "site.gallery"
    options = ["--gallery", str(gallery), "--no-save-video", "--quiet"]
    refused = ["--out", str(tmp_path / "refused"), "--set", "reid.model=none"]
    assert main([*head, str(video), *options, *refused]) == 2
    assert "reid" in capsys.readouterr().err
    assert not gallery.parent.exists()
    assert main([*head, str(video), *options, "--out", str(tmp_path / "o")]) == 0, capsys.readouterr().err
    assert len(Gallery.load(gallery)) == 2
    assert sorted(p.name for p in gallery.parent.iterdir()) == ["site.gallery"]


@pytest.mark.parametrize("recognised", [None, 2], ids=["note-before-the-count", "counted"])
def test_a_reused_video_keeps_its_gallery_count_and_an_older_note_counts_none(tmp_path, recognised):
    """A video reused from an earlier run of the batch recognised whom its `batch.json` says; one written before the
    gallery's recognitions were counted has no such field: the video is still reused, recognising no one."""
    from tracker.batch_work import reused_result

    task = VideoTask(0, "cam.avi", "cam", tmp_path, {}, "same inputs")
    task.out_dir.mkdir()
    (task.out_dir / "cam.txt").write_text("")
    note = {"fingerprint": "same inputs", "frames": 3, "tracks": 2, "stem": "cam", "outputs": ["cam.txt"]}
    if recognised is not None:
        note["recognised"] = recognised
    (task.out_dir / NOTE_NAME).write_text(json.dumps(note))
    result = reused_result(task)
    assert result is not None and (result.status, result.frames, result.recognised) == ("reused", 3, recognised or 0)


def test_a_summary_of_videos_an_earlier_run_linked_says_every_finished_video_where_one_failed():
    """A re-run whose finished videos an earlier run had all linked into the gallery said "an earlier run linked
    every video" also where a video of the batch failed (never tracked, never linked): it says every finished video
    then, every video where none failed."""
    from tracker.batch import BatchSummary, VideoResult

    videos = [VideoResult(i, f"{n}.mp4", n, Path("out", n), "reused", frames=5, tracks=1) for i, n in enumerate("ab")]
    missing = VideoResult(2, "c.mp4", "c", Path("out/c"), "failed", reason="SourceError: no such file or folder")
    for batch, said in ((videos, "every video"), ([*videos, missing], "every finished video")):
        summary = BatchSummary(batch, 0.1, "local", gallery=Path("site.gallery"), gallery_identities=1)
        summary.global_ids, summary.linked_before = {"a": {1: 1}, "b": {1: 1}}, 2
        assert f"holds them already (1 identity): an earlier run linked {said}\n" in summary.describe(), said


def test_batch_summary_says_when_the_gallery_keeps_fewer_identities_than_it_reports():
    """Tracks too short for the gallery get a global ID but are not stored: "1 identities across the batch;
    gallery saved" over a gallery that `track gallery ls` then shows empty read as a lost identity."""
    from tracker.batch import BatchSummary

    summary = BatchSummary([], 1.0, "local", {"a": {1: 1, 2: 2}, "b": {1: 2}}, Path("site.gallery"), 1, 1)
    expected = "2 identities across the batch (1 from tracks too short for the gallery); gallery saved to site.gallery"
    assert f"{expected} (1 identity)" in summary.describe()
    # A start gallery's identities are in the file too: 5 there does not hide the batch's one unsaved identity.
    summary = BatchSummary([], 1.0, "local", {"a": {1: 1, 2: 2}, "b": {1: 2}}, Path("site.gallery"), 5, 1)
    assert f"{expected} (5 identities)" in summary.describe()


def test_a_script_that_calls_track_many_unguarded_is_told_to_guard_it(tmp_path):
    """A script calling `track_many(...)` at its top level (no `if __name__ == "__main__":`): each worker the local
    engine spawns imports the script again and ran the batch again, failing on the batch folder's lock ("in use by
    another track run (process N)"), one traceback per try and the video failed. Now each says what to change."""
    script = tmp_path / "unguarded.py"
    script.write_text(
        "import sys\n"
        f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "from test_batch import clip, fake_tracker\n"
        "from tracker.batch import track_many\n"
        "from tracker.config import load_config\n"
        f"video = clip({str(tmp_path / 'cam.avi')!r}, 0, 3)\n"
        "cfg = load_config(overrides=['batch.max_retries=0'])\n"
        f"summary = track_many([video], cfg, {str(tmp_path / 'out')!r}, workers=1, save_video=False,\n"
        "                     make_tracker=fake_tracker, progress=False)\n"
        "print('statuses', [v.status for v in summary.videos])\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # (this checkout's tracker, in the script and its workers)
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env
    )
    assert "statuses ['failed']" in done.stdout, done
    assert "in use by another" not in done.stderr, done.stderr
    assert 'put the call under `if __name__ == "__main__":`' in done.stderr, done.stderr


def test_track_many_takes_a_yaml_config_and_refuses_one_string_of_sources(tmp_path, monkeypatch):
    """`track_many("b.mp4", ...)` tracked "b", "." ... and opened webcam 4 (one task per character); a YAML path
    as `config` (as `Tracker.from_config` takes) ended in "AttributeError: 'str' object has no attribute ..."."""
    monkeypatch.chdir(tmp_path)
    video = clip(tmp_path / "cam.avi", 0, 5)
    with pytest.raises(TypeError, match="list of sources"):
        track_many(str(video), None, tmp_path / "out", make_tracker=fake_tracker, progress=False)
    with pytest.raises(TypeError, match="config must be a TrackerConfig, a YAML path or None"):
        track_many([video], {"detector": {}}, tmp_path / "out", make_tracker=fake_tracker, progress=False)
    with pytest.raises(TypeError, match="gallery must be the path of a gallery file"):
        track_many([video], None, tmp_path / "out", gallery=Gallery(), make_tracker=fake_tracker, progress=False)
    assert not (tmp_path / "out").exists()
    summary = track_many([video], ROOT / "configs" / "default.yaml", tmp_path / "out", workers=1, save_video=False,
                         make_tracker=fake_tracker, progress=False)  # fmt: skip
    assert [v.status for v in summary.videos] == ["done"], summary.describe()


def test_each_video_folder_of_a_batch_holds_the_config_it_was_tracked_with(tmp_path):
    """A batch's video folders held `track`'s outputs but not the config: each now has `config.yaml`, read back
    equal to the batch's config, listed among the video's outputs (a re-run reuses the video with it there)."""
    video = clip(tmp_path / "cam.avi", 0, 5)
    cfg = TrackerConfig().replace(["appearance.bank_capacity=20", "batch.max_retries=0"])
    out = tmp_path / "out"
    summary = track_many([video], cfg, out, workers=1, save_video=False, make_tracker=fake_tracker, progress=False)
    (done,) = summary.videos
    saved = out / "cam" / CONFIG_NAME
    assert done.status == "done" and saved in done.outputs, summary.describe()
    assert load_config(saved) == cfg
    again = track_many([video], cfg, out, workers=1, save_video=False, make_tracker=fake_tracker, progress=False)
    assert [v.status for v in again.videos] == ["reused"] and load_config(saved) == cfg


def as_before_the_key_was_added(
    folder: Path, key: str, monkeypatch, cfg: TrackerConfig | None = None, gallery: Path | None = None
) -> str:
    """Make the finished video in `folder` look as a batch of a tracker without the config `key` left it: its
    `config.yaml` without the key, its `batch.json` with the fingerprint that tracker computed (its config without
    the key: `make_tasks` run with the key removed from `config_to_dict`'s result; `cfg`: the batch's, `gallery`:
    its gallery, which did not exist as it began). Returns that fingerprint."""
    import yaml

    import tracker.batch_work as batch_work

    section, name = key.split(".")
    recorded = yaml.safe_load((folder / CONFIG_NAME).read_text())
    del recorded[section][name]
    (folder / CONFIG_NAME).write_text(yaml.safe_dump(recorded, sort_keys=False))
    note = json.loads((folder / NOTE_NAME).read_text())
    full = batch_work.config_to_dict

    def old_tracker(cfg):
        config = full(cfg)
        del config[section][name]
        return config

    with monkeypatch.context() as patched:
        patched.setattr(batch_work, "config_to_dict", old_tracker)
        patched.setattr(batch_work, "recorded_config", lambda folder: None, raising=False)  # (the old one read none)
        (task,) = batch_work.make_tasks(
            [note["source"]], cfg or TrackerConfig(), folder.parent, False, None, None, gallery, None
        )
    assert task.fingerprint != note["fingerprint"], "the key was not in the fingerprint"
    (folder / NOTE_NAME).write_text(json.dumps(note | {"fingerprint": task.fingerprint}))
    return task.fingerprint


def test_a_re_run_after_an_upgrade_that_added_a_config_key_reuses_the_videos(tmp_path, monkeypatch):
    """A batch finished by a tracker without `motion.report_gap_frame`, run again by one with it: every video was
    tracked again (its fingerprint hashes the whole config), though the new key at its default changes nothing that
    run did. The key absent from the video's `config.yaml` and at its default is no change: the video is reused."""
    video = clip(tmp_path / "cam.avi", 0, 5)
    out = tmp_path / "out"
    first = track_many([video], TrackerConfig(), out, workers=1, save_video=False, make_tracker=fake_tracker,
                       progress=False)  # fmt: skip
    assert [v.status for v in first.videos] == ["done"], first.describe()
    as_before_the_key_was_added(out / "cam", "motion.report_gap_frame", monkeypatch)
    notes: list[str] = []
    again = track_many([video], TrackerConfig(), out, workers=1, save_video=False, make_tracker=fake_tracker,
                       progress=False, notify=notes.append)  # fmt: skip
    assert [v.status for v in again.videos] == ["reused"], again.describe()
    assert notes == []


def test_a_gallery_batch_re_run_after_an_upgrade_that_added_a_key_reuses_its_linked_videos(tmp_path, monkeypatch):
    """With `--gallery`, the gallery's record of the videos it holds names them by fingerprint too: the video of a
    batch run before the key was added is reused and not linked again (its person counted once), where it was
    tracked again."""
    from tracker.batch_link import LINK_RECORD_NAME

    batch, out, gallery = one_clip_gallery_batch(tmp_path, monkeypatch)
    assert [v.status for v in batch().videos] == ["done"]
    saved = {i.global_id: i.sightings for i in Gallery.load(gallery).identities}
    old = as_before_the_key_was_added(out / "cam", "motion.report_gap_frame", monkeypatch, EVERY_FRAME, gallery)
    record = json.loads((out / LINK_RECORD_NAME).read_text())
    record["videos"]["cam"]["fingerprint"] = old
    (out / LINK_RECORD_NAME).write_text(json.dumps(record))
    again = batch()
    assert [v.status for v in again.videos] == ["reused"], again.describe()
    assert {i.global_id: i.sightings for i in Gallery.load(gallery).identities} == saved, "counted once"


def test_a_new_config_key_not_at_its_default_tracks_the_video_again_and_says_so(tmp_path, monkeypatch):
    """The same old batch, run again with the new key changed (and a key both runs knew changed too, in another
    re-run): the video is tracked again, and a note names each key that changed and how."""
    video = clip(tmp_path / "cam.avi", 0, 5)
    out = tmp_path / "out"
    track_many([video], TrackerConfig(), out, workers=1, save_video=False, make_tracker=fake_tracker, progress=False)
    as_before_the_key_was_added(out / "cam", "motion.report_gap_frame", monkeypatch)
    default = TrackerConfig().motion.report_gap_frame
    cfg = TrackerConfig().replace([f"motion.report_gap_frame={str(not default).lower()}"])
    notes: list[str] = []
    again = track_many([video], cfg, out, workers=1, save_video=False, make_tracker=fake_tracker, progress=False,
                       notify=notes.append)  # fmt: skip
    assert [v.status for v in again.videos] == ["done"], again.describe()
    assert notes == [f"cam: tracked again, as its config changed (motion.report_gap_frame: new, {not default!r})"]
    notes.clear()
    changed = cfg.replace(["appearance.bank_capacity=20"])
    third = track_many([video], changed, out, workers=1, save_video=False, make_tracker=fake_tracker, progress=False,
                       notify=notes.append)  # fmt: skip
    assert [v.status for v in third.videos] == ["done"], third.describe()
    before = TrackerConfig().appearance.bank_capacity
    assert notes == [f"cam: tracked again, as its config changed (appearance.bank_capacity: {before} -> 20)"]


def test_a_relative_weight_path_the_run_saved_absolute_is_no_config_change(tmp_path, monkeypatch):
    """A run's `config.yaml` holds a relative weight path (`--set detector.model=w/det.pt`) as the absolute path it
    found (`tracker.config.paths_from_here`); a re-run tracking the video again for another key does not name the
    path as changed as well."""
    monkeypatch.chdir(tmp_path)
    Path("w").mkdir()
    Path("w", "det.pt").write_bytes(b"weights")
    video, out = clip(tmp_path / "cam.avi", 0, 5), tmp_path / "out"
    cfg = TrackerConfig().replace(["detector.model=w/det.pt"])
    track_many([video], cfg, out, workers=1, save_video=False, make_tracker=fake_tracker, progress=False)
    notes: list[str] = []
    again = track_many([video], cfg.replace(["appearance.bank_capacity=20"]), out, workers=1, save_video=False,
                       make_tracker=fake_tracker, progress=False, notify=notes.append)  # fmt: skip
    assert [v.status for v in again.videos] == ["done"], again.describe()
    before = TrackerConfig().appearance.bank_capacity
    assert notes == [f"cam: tracked again, as its config changed (appearance.bank_capacity: {before} -> 20)"]


def test_a_config_file_run_from_its_folder_and_from_another_reuses_the_video(tmp_path, monkeypatch):
    """`track batch --config site.yaml` in site.yaml's folder (its `../w/det.pt` kept as written) and then
    `--config proj/site.yaml` from another folder (the same file, read as its absolute path) tracked the video again,
    the same weights and config: its fingerprint holds the path absolute (`tracker.config.paths_from_here`)."""
    (tmp_path / "proj").mkdir()
    (tmp_path / "w").mkdir()
    (tmp_path / "w" / "det.pt").write_bytes(b"weights")
    (tmp_path / "proj" / "site.yaml").write_text("detector:\n  model: ../w/det.pt\n")
    video, out = clip(tmp_path / "cam.avi", 0, 5), tmp_path / "out"
    runs = []
    for folder, config in ((tmp_path / "proj", "site.yaml"), (tmp_path, "proj/site.yaml")):
        monkeypatch.chdir(folder)
        runs.append(track_many([video], load_config(config), out, workers=1, save_video=False,
                               make_tracker=fake_tracker, progress=False))  # fmt: skip
    assert [[v.status for v in run.videos] for run in runs] == [["done"], ["reused"]], runs[-1].describe()


@pytest.mark.parametrize(("save_video", "again"), [(False, "reused"), (True, "done")])
def test_trail_keys_track_a_video_again_only_where_its_annotated_video_is_saved(tmp_path, save_video, again):
    """`video.trail_seconds` draws the annotated video alone: a batch run again with other trails tracked every video
    again even with `--no-save-video`, where nothing it changes is written. Saving the video, it is tracked again."""
    video, out = clip(tmp_path / "cam.avi", 0, 5), tmp_path / "out"
    runs = [
        track_many([video], load_config(None, [f"video.trail_seconds={seconds}"]), out, workers=1,
                   save_video=save_video, make_tracker=fake_tracker, progress=False)
        for seconds in (1.2, 3.0)
    ]  # fmt: skip
    assert [[v.status for v in run.videos] for run in runs] == [["done"], [again]], runs[-1].describe()


def test_a_batch_run_before_weight_paths_were_fingerprinted_absolute_is_reused(tmp_path, monkeypatch):
    """A video a batch tracked before fingerprints held relative weight paths absolute (its record holds them as
    written) is reused by the same batch run again, not tracked again after the upgrade."""
    import tracker.batch_work as batch_work

    monkeypatch.chdir(tmp_path)
    Path("w").mkdir()
    Path("w", "det.pt").write_bytes(b"weights")
    video, out = clip(tmp_path / "cam.avi", 0, 5), tmp_path / "out"
    cfg = TrackerConfig().replace(["detector.model=w/det.pt"])
    with monkeypatch.context() as before:
        before.setattr(batch_work, "paths_from_here", lambda data: data)
        track_many([video], cfg, out, workers=1, save_video=False, make_tracker=fake_tracker, progress=False)
    again = track_many([video], cfg, out, workers=1, save_video=False, make_tracker=fake_tracker, progress=False)
    assert [v.status for v in again.videos] == ["reused"], again.describe()


def as_before_the_key_was_removed(folder: Path, key: str, value: Any, monkeypatch) -> None:
    """Make the finished video in `folder` look as a batch of a tracker that had the config `key` (at `value`, a
    key the tracker has no longer) left it: its `config.yaml` with the key, its `batch.json` with the fingerprint that
    tracker computed (its config with the key)."""
    import yaml

    import tracker.batch_work as batch_work

    section, name = key.split(".")
    recorded = yaml.safe_load((folder / CONFIG_NAME).read_text())
    recorded[section][name] = value
    (folder / CONFIG_NAME).write_text(yaml.safe_dump(recorded, sort_keys=False))
    note = json.loads((folder / NOTE_NAME).read_text())
    full = batch_work.config_to_dict

    def old_tracker(cfg):
        config = full(cfg)
        config[section][name] = value
        return config

    with monkeypatch.context() as patched:
        patched.setattr(batch_work, "config_to_dict", old_tracker)
        (task,) = batch_work.make_tasks([note["source"]], TrackerConfig(), folder.parent, False, None, None, None, None)
    assert task.fingerprint != note["fingerprint"], "the key was not in the fingerprint"
    (folder / NOTE_NAME).write_text(json.dumps(note | {"fingerprint": task.fingerprint}))


def test_a_re_run_after_an_upgrade_that_removed_a_config_key_tracks_again_and_names_the_key(tmp_path, monkeypatch):
    """A batch finished by a tracker that had `motion.old_gate`, run again by one without it: the video was tracked
    again (its fingerprint hashed the key) without a word, as the note named only keys the tracker has. It is still
    tracked again (what the key set may be done otherwise now: reusing could keep outputs this version would not
    make), and the note names the key, its value, and why."""
    video = clip(tmp_path / "cam.avi", 0, 5)
    out = tmp_path / "out"
    track_many([video], TrackerConfig(), out, workers=1, save_video=False, make_tracker=fake_tracker, progress=False)
    as_before_the_key_was_removed(out / "cam", "motion.old_gate", 0.5, monkeypatch)
    notes: list[str] = []
    again = track_many([video], TrackerConfig(), out, workers=1, save_video=False, make_tracker=fake_tracker,
                       progress=False, notify=notes.append)  # fmt: skip
    assert [v.status for v in again.videos] == ["done"], again.describe()
    assert notes == [
        "cam: tracked again, as its config changed (motion.old_gate: 0.5 -> removed): this version of the tracker "
        "has no motion.old_gate (an upgrade removed it), so the outputs made with it may differ from what it makes"
    ]
    third = track_many([video], TrackerConfig(), out, workers=1, save_video=False, make_tracker=fake_tracker,
                       progress=False, notify=notes.append)  # fmt: skip
    assert [v.status for v in third.videos] == ["reused"], "tracked again once: its config.yaml has no such key now"


def test_a_video_whose_name_fills_the_file_system_s_limit_is_tracked_into_a_folder_of_track_s_name(tmp_path):
    """`track batch` on a video named with 248 bytes (the file system holds 255 a name) failed it with "[Errno 36]
    File name too long": its folder `.<name>.partial` was named by batch's own rule, without `track`'s limit. The
    folder takes the name `track` gives the outputs (`safe_name`: at most `MAX_NAME_BYTES` bytes), as do the files
    in it, and a re-run finds it; a video named `...avi` (stem `..`) gets a folder of its own, not `out/..`."""
    stem = "é" * 123 + "ab"  # 248 bytes: with ".avi", 252
    videos = [clip(tmp_path / f"{stem}.avi", 0, 5), clip(tmp_path / "...avi", 40, 5)]
    out = tmp_path / "out"
    summary = track_many(videos, TrackerConfig(), out, workers=1, save_video=False, make_tracker=fake_tracker,
                         progress=False)  # fmt: skip
    short = safe_name(stem)
    assert len(short.encode()) == MAX_NAME_BYTES
    assert [(v.name, v.status) for v in summary.videos] == [(short, "done"), ("video", "done")], summary.describe()
    assert (out / short / f"{short}.txt").is_file() and (out / "video" / NOTE_NAME).is_file()
    again = track_many(videos, TrackerConfig(), out, workers=1, save_video=False, make_tracker=fake_tracker,
                       progress=False)  # fmt: skip
    assert [v.status for v in again.videos] == ["reused", "reused"], again.describe()


def test_an_invalid_config_made_in_python_fails_the_batch_once_before_any_video(tmp_path):
    """A `TrackerConfig` made with `dataclasses.replace` skips `load_config`'s checks: `track_many` passed it to each
    video's task, so an invalid one failed every video in turn, each with the same reason, after output folders were
    made; it is now one ConfigError before any video starts, as `Tracker(config)` gives."""
    import dataclasses

    from tracker.config import ConfigError

    cfg = TrackerConfig()
    bad = dataclasses.replace(cfg, appearance=dataclasses.replace(cfg.appearance, bank_capacity=0))
    videos = [clip(tmp_path / f"cam{k}.avi", 40 * k, 5) for k in range(2)]
    with pytest.raises(ConfigError, match=r"appearance\.bank_capacity"):
        track_many(videos, bad, tmp_path / "out", workers=1, make_tracker=fake_tracker, progress=False)
    assert not (tmp_path / "out").exists()


def test_a_gallery_no_bank_can_fill_fails_the_batch_once_before_any_video(tmp_path):
    """`track batch --gallery g --set appearance.bank_capacity=2` (below gallery.min_embeddings, 5): every video
    started and failed in turn with the same ConfigError (`Tracker` refuses it with a gallery); it is now one
    ConfigError before any video starts, as `Tracker.from_config` gives, and the gallery file is not made."""
    from tracker.config import ConfigError

    cfg = load_config(None, overrides=["appearance.bank_capacity=2", "gallery.min_embeddings=5"])
    videos = [clip(tmp_path / f"cam{k}.avi", 40 * k, 5) for k in range(2)]
    with pytest.raises(ConfigError, match=r"gallery\.min_embeddings \(5\) must not exceed appearance\.bank_capacity"):
        track_many(
            videos, cfg, tmp_path / "out", workers=1, make_tracker=fake_tracker, progress=False,
            gallery=tmp_path / "g.gallery",
        )  # fmt: skip
    assert not (tmp_path / "out").exists() and not (tmp_path / "g.gallery").exists()


def test_the_summary_names_the_source_of_videos_whose_stems_repeat():
    """`track batch cams/*` over a.avi and a.mp4 listed "done a" and "done a_2": which clip is which?"""
    from tracker.batch import BatchSummary, VideoResult

    videos = [
        VideoResult(0, "cams/a.avi", "a", Path("out/a"), "done", frames=20),
        VideoResult(1, "cams/a.mp4", "a_2", Path("out/a_2"), "failed", reason="SourceError: unreadable"),
        VideoResult(2, "cams/b.mp4", "b", Path("out/b"), "reused"),
    ]
    lines = BatchSummary(videos, 1.0, "local").describe().splitlines()
    assert lines[1].startswith("  done     a (cams/a.avi): 20 frames"), lines
    assert "  reused   b: 0 frames, 0 tracks -> out/b (outputs of an earlier run with the same inputs)" in lines, (
        "a stem of its own: name only"
    )
    assert "  failed   a_2 (cams/a.mp4): SourceError: unreadable" in lines, lines


def test_two_lookalikes_seen_together_stay_two_identities(tmp_path):
    """The cannot-link constraint: two walkers of the same colour (same embedding) visible in one frame."""
    twins = [np.where((f == (60, 220, 240)).all(axis=2, keepdims=True), np.uint8((240, 200, 60)), f) for f in scene()]
    video = write_video(tmp_path / "twins.avi", twins)
    summary = track_many([video], EVERY_FRAME, tmp_path / "out", engine="local", gallery=tmp_path / "g.gallery",
                         save_video=False, progress=False, make_tracker=gallery_tracker)  # fmt: skip
    ids = summary.global_ids["twins"]
    assert len(ids) == 2 and len(set(ids.values())) == 2, ids
    assert len(Gallery.load(tmp_path / "g.gallery")) == 2
    assert (summary.gallery_identities, summary.unsaved_identities) == (2, 0), "both kept, none left out"


def in_this_process(todo, batch, _monitor, _workers, start_gallery):
    """`run_local` without its spawned workers: each task run here, in turn (`run_video`)."""
    from tracker.batch_task import run_video

    return [run_video(task, None, batch.progress_seconds, start_gallery) for task in todo]


def one_clip_gallery_batch(tmp_path: Path, monkeypatch) -> tuple[Callable[[], Any], Path, Path]:
    """`track_many` of one 12-frame clip (`cam.avi`: its folder `cam`) with the gallery `site.gallery`, its tasks run
    in this process (`in_this_process`): the call, the batch folder and the gallery file."""
    import tracker.batch as batch_module

    monkeypatch.setattr(batch_module, "run_local", in_this_process)  # (a spawned worker: ~6 s of a test's 8)
    video = write_video(tmp_path / "cam.avi", scene()[:12])  # (12 frames: enough looks for the gallery)
    out, gallery = tmp_path / "out", tmp_path / "site.gallery"
    batch = functools.partial(track_many, [video], EVERY_FRAME, out, engine="local", workers=1, gallery=gallery,
                              save_video=False, progress=False, make_tracker=gallery_tracker)  # fmt: skip
    return batch, out, gallery


class KilledAfterTheGallerySave(Exception):
    """Stands for a kill of the batch between the save of its gallery and the writing of a video's `.global.*`."""


@pytest.mark.parametrize("killed_in", ["_write_global", "_write_record"])
def test_a_batch_killed_after_its_gallery_save_counts_each_videos_sightings_once_when_run_again(
    killed_in, tmp_path, monkeypatch
):
    """A `track batch --gallery` killed after the reduce saved the gallery, before a video's `<name>.global.*` were
    written: its re-run found the gallery changed, tracked the video again and linked it again, counting its
    sightings twice (`seen` 1 -> 2 for one person in one clip). The batch folder records which videos the saved file
    holds (before the save's rename, and after it: the kill comes after either): the re-run reuses the video, writes
    its `.global.*` files with the global IDs it was given, and leaves the gallery as the killed run saved it; a
    third run (the batch complete) the same. A gallery file another run saved since holds none of them."""
    import tracker.batch_link as batch_link

    batch, out, gallery = one_clip_gallery_batch(tmp_path, monkeypatch)

    def killed(*args, pending=None):
        if pending is not None:  # (the record before the save's rename: written)
            return write_record(*args, pending)
        raise KilledAfterTheGallerySave

    write_record = batch_link._write_record
    with monkeypatch.context() as patched:
        patched.setattr(batch_link, killed_in, killed)
        with pytest.raises(KilledAfterTheGallerySave):
            batch()
    saved = {i.global_id: i.sightings for i in Gallery.load(gallery).identities}
    assert saved and set(saved.values()) == {1} and not (out / "cam" / "cam.global.json").exists()
    record = json.loads((out / batch_link.LINK_RECORD_NAME).read_text())
    assert ("pending" in record) == (killed_in == "_write_record"), "killed before the record of the saved file"
    for _ in range(2):
        again = batch()
        assert {i.global_id: i.sightings for i in Gallery.load(gallery).identities} == saved, "counted once"
        assert [v.status for v in again.videos] == ["reused"], again.describe()
        written = json.loads((out / "cam" / "cam.global.json").read_text())["tracks"]
        assert {int(t): g for t, g in written.items()} == again.global_ids["cam"]
        assert set(written.values()) <= set(saved)
        said = f"the gallery {gallery} holds them already (2 identities): an earlier run linked every video"
        assert said in again.describe(), again.describe()  # (it said "gallery saved to", as if they were added)
    Gallery.load(gallery).save(gallery, overwrite=True)  # another run's save: a new file
    assert batch_link.linked_before(out, gallery) == {}


def test_a_gallery_in_a_videos_output_folder_is_refused_before_any_video(tmp_path):
    """`track batch cam.mp4 --out out --gallery out/cam/site.gallery`: a video tracked again replaces out/cam/, the
    gallery with it, and the reduce linked into an empty gallery (12 identities before, 8 after: every earlier one
    lost); `--gallery out/cam` was a folder by the reduce ("is a directory"), once every video was tracked. Both are
    one error before any video, and so is `--gallery out` itself. (out/cam is the video's folder of an earlier run:
    a folder no run of it published is never given to it, `test_a_gallery_in_a_folder_of_out_that_no_video_uses...`)"""
    video, out = clip(tmp_path / "cam.avi", 0, 3), tmp_path / "out"
    track_many([video], EVERY_FRAME, out, progress=False, make_tracker=gallery_tracker)
    before = sorted(p.name for p in out.iterdir())
    inside = out / "cam" / "site.gallery"
    Gallery().save(inside)
    kept = inside.read_bytes()
    (tmp_path / "new").mkdir()
    folders = ((inside, out), (tmp_path / "new" / "cam", tmp_path / "new"), (tmp_path / "made", tmp_path / "made"))
    for gallery, folder in folders:  # (the last: `--gallery OUT`, "[Errno 21] Is a directory: 'OUT'")
        said = re.escape(f"gallery {gallery} is in out_dir {folder} where a video's outputs go")
        with pytest.raises(ValueError, match=said):
            track_many([video], EVERY_FRAME, folder, gallery=gallery, progress=False, make_tracker=gallery_tracker)
    assert inside.read_bytes() == kept and sorted(p.name for p in out.iterdir()) == before, "nothing tracked"
    assert not any((tmp_path / "new").iterdir()) and not (tmp_path / "made").exists()


@pytest.mark.parametrize(
    "damage",
    [
        lambda entry: "linked",  # an entry that is no object
        lambda entry: {**entry, "tracks": {"1": "one"}},  # a global ID that is no number
        lambda entry: {key: value for key, value in entry.items() if key != "ended_as"},  # a key left out
    ],
    ids=["no-object", "no-number", "key-missing"],
)
def test_a_hand_edited_link_record_is_warned_about_and_the_batch_still_links(damage, tmp_path, monkeypatch, caplog):
    """A `.gallery-link.json` edited by hand (or damaged) so that it still parses as JSON and names the gallery file
    there, but one video's entry is not what the batch writes: the re-run tracked every video and then failed in the
    reduce with Python's bare AttributeError / ValueError / KeyError (no global IDs written, nothing said about the
    record). It is read as a record that cannot be read: a warning naming it; the gallery file records that it holds
    the video, so the re-run is refused (it would count its sightings twice) and links it again with `relink`."""
    from tracker.batch_link import LINK_RECORD_NAME

    batch, out, _ = one_clip_gallery_batch(tmp_path, monkeypatch)
    batch()
    record_path = out / LINK_RECORD_NAME
    record = json.loads(record_path.read_text())
    record["videos"]["cam"] = damage(record["videos"]["cam"])
    record_path.write_text(json.dumps(record))
    (out / "cam" / "cam.global.json").unlink()
    with caplog.at_level(logging.WARNING, logger="tracker.batch_link"):
        with pytest.raises(SourceLinkedError):  # (the gallery holds cam's sightings; the record no longer says so)
            batch()
        again = batch(relink=True)  # (linked again on purpose)
    assert f"{record_path} cannot be read" in caplog.text
    assert again.ok and (out / "cam" / "cam.global.json").exists(), again.describe()


DRIVER = """
import functools, signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal, even if our caller ignores it
from pathlib import Path
from test_batch import fake_tracker
from tracker.batch import track_many
from tracker.config import TrackerConfig, load_config
factory = functools.partial(fake_tracker, delay_s={delay}, pid_dir={pid_dir!r})
track_many([{slow!r}], TrackerConfig(), {out!r}, engine={engine!r}, workers={workers}, progress=False,
           make_tracker=factory)
"""


@pytest.mark.parametrize(("engine", "ctrl_c"), [("local", False), ("local", True), ("ray", False)])
def test_sigterm_to_a_local_batch_stops_its_workers(tmp_path, engine, ctrl_c):
    """`kill` of `track batch` (a scheduler, systemd) must not leave worker processes tracking on, orphaned;
    Ctrl-C (SIGINT to the whole process group) must not abort the workers with a traceback mid-frame. On Ray the
    driver cancels its tasks and drops their unfinished folders (Ray's own SIGTERM handler aborted it before)."""
    import subprocess
    import sys

    if engine == "ray":
        pytest.importorskip("ray", reason="Ray is not installed (pip install -e '.[ray]')")
    slow = clip(tmp_path / "slow.avi", 0, SLOW_FRAMES)
    pid_dir, out = tmp_path / "pids", tmp_path / "out"
    pid_dir.mkdir()
    workers = 1 if engine == "local" else None
    script = DRIVER.format(
        delay=FRAME_DELAY_S * 4, pid_dir=str(pid_dir), slow=str(slow), out=str(out), engine=engine, workers=workers
    )
    env = os.environ | {"PYTHONPATH": os.pathsep.join([str(ROOT), str(TESTS), os.environ.get("PYTHONPATH", "")])}
    env |= {"RAY_TMPDIR": f"/tmp/ray{os.getpid()}kill"}  # (Ray's socket paths must stay short)
    env.pop("RAY_ADDRESS", None)
    driver = subprocess.Popen(
        [sys.executable, "-c", script], env=env, stderr=subprocess.PIPE, start_new_session=True, text=True
    )
    try:
        deadline = time.monotonic() + KILL_TIMEOUT_S
        while not any(pid_dir.iterdir()) and time.monotonic() < deadline and driver.poll() is None:
            time.sleep(0.05)
        (pid_file,) = pid_dir.iterdir()
        worker = int(pid_file.read_text())
        while not (out / ".slow.partial").exists() and time.monotonic() < deadline:  # its outputs are being written
            time.sleep(0.05)
        time.sleep(SLOW_FRAMES * FRAME_DELAY_S / 2)  # into the video
        if ctrl_c:
            os.killpg(driver.pid, signal.SIGINT)
        else:
            driver.send_signal(signal.SIGTERM)
        _, err = driver.communicate(timeout=KILL_TIMEOUT_S)
        deadline = time.monotonic() + KILL_TIMEOUT_S / 4
        while Path(f"/proc/{worker}").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        alive = Path(f"/proc/{worker}").exists()
        if alive:
            os.kill(worker, signal.SIGKILL)
        assert not alive, "the worker kept tracking after the batch was terminated"
        stopped = driver.returncode >= 0 or driver.returncode == -signal.SIGINT  # by KeyboardInterrupt, as Ctrl-C
        assert stopped, f"the driver was killed by signal {-driver.returncode} (Ray's SIGTERM handler?), {err[-300:]}"
        assert not (out / "slow").exists(), "an interrupted video was published as finished"
        no_leftovers(out)  # the worker finished its frame and cleaned up (it was not aborted by a second signal)
        assert "tracker/run.py" not in err, f"a worker was aborted mid-frame: {err[-500:]}"
    finally:
        if driver.poll() is None:
            driver.kill()
        shutil.rmtree(env["RAY_TMPDIR"], ignore_errors=True)


def stuck_tracker(cfg, frame_rate, gallery=None, stuck_at: int = 3, marker: str = ""):
    """A Tracker around the blob detector whose detector, at its `stuck_at`-th frame, touches `marker` and then takes
    a minute over it (a frame a stop must wait for: picklable, for the spawned workers)."""
    frames = iter(range(1, 10**6))

    def detect(frame):
        if next(frames) == stuck_at:
            Path(marker).touch()
            time.sleep(60)
        return blob_detector(frame)

    return Tracker(cfg, frame_rate, detector=detect, embedder=None)


STUCK_DRIVER = """
import functools, logging, signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal, even if our caller ignores it
logging.basicConfig(level=logging.INFO, format="%(message)s")  # (the worker's INFO lines too: relayed to the driver)
from test_batch import stuck_tracker
from tracker.batch import track_many
from tracker.config import TrackerConfig
factory = functools.partial(stuck_tracker, marker={marker!r})
try:
    track_many([{slow!r}], TrackerConfig(), {out!r}, workers=1, progress=False, make_tracker=factory)
except KeyboardInterrupt:  # as `track batch` ends
    print("interrupted", flush=True)
    sys.exit(130)
"""


STOP_SAID = "finishing the current frame and closing the outputs"  # a worker's INFO line when it is asked to stop


def test_a_second_ctrl_c_while_local_workers_finish_their_frame_still_drops_the_unfinished_folders(tmp_path):
    """Ctrl-C stops a local batch: each worker finishes its frame, drops its `.<name>.partial/` and exits, the
    driver waiting. A second Ctrl-C during that wait ended the driver, whose exit handler signalled the workers
    again: they were aborted mid-frame and their unfinished folders stayed in --out until a re-run. Now the
    driver kills them and drops those folders itself; the batch ends interrupted, no worker left running."""
    slow, out, marker = clip(tmp_path / "slow.avi", 0, SLOW_FRAMES), tmp_path / "out", tmp_path / "stuck"
    script = STUCK_DRIVER.format(marker=str(marker), slow=str(slow), out=str(out))
    env = os.environ | {"PYTHONPATH": os.pathsep.join([str(ROOT), str(TESTS), os.environ.get("PYTHONPATH", "")])}
    log = tmp_path / "driver.log"  # its stderr, read while it runs: the worker's stop is said there
    with log.open("w") as stderr:
        driver = subprocess.Popen(
            [sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, stderr=stderr, text=True,
            start_new_session=True,  # its own process group, as a terminal's Ctrl-C reaches the driver and its workers
        )  # fmt: skip
    try:
        deadline = time.monotonic() + KILL_TIMEOUT_S
        while (
            not (marker.exists() and (out / ".slow.partial").is_dir())
            and time.monotonic() < deadline
            and driver.poll() is None
        ):
            time.sleep(0.05)
        assert marker.exists() and (out / ".slow.partial").is_dir(), "the worker is in its slow frame"
        os.killpg(driver.pid, signal.SIGINT)  # the worker's frame takes a minute: the driver waits for it ...
        while STOP_SAID not in log.read_text() and time.monotonic() < deadline and driver.poll() is None:
            time.sleep(0.05)  # (a sleep of 0.5 s here could end before the driver asked its worker to stop)
        assert STOP_SAID in log.read_text(), f"the driver asked its worker to stop: {log.read_text()[-800:]}"
        os.killpg(driver.pid, signal.SIGINT)  # ... when Ctrl-C comes again
        said, _ = driver.communicate(timeout=KILL_TIMEOUT_S)
        err = log.read_text()
        assert (driver.returncode, said) == (130, "interrupted\n"), f"exit status {driver.returncode}: {err[-800:]}"
        no_leftovers(out)
    finally:
        if driver.poll() is None:
            os.killpg(driver.pid, signal.SIGKILL)
    deadline = time.monotonic() + KILL_TIMEOUT_S / 4  # (multiprocessing's resource tracker ends just after)
    while (left := session_processes(driver.pid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert not left, f"processes of the batch left running: {left}"


def session_processes(session: int) -> list[int]:
    """The live processes of the session `session` (a driver started with `start_new_session`, and its children)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and os.getsid(int(proc.name)) == session:
                found.append(int(proc.name))
        except OSError:  # gone meanwhile
            continue
    return found


CTRL_C_TWICE = """
import functools, os, signal, sys, threading
signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal, even if our caller ignores it
import ray
from test_batch import fake_tracker
from tracker.batch import track_many
from tracker.config import TrackerConfig
shutdown = ray.shutdown

def pressed_again(*args, **kwargs):  # the user presses Ctrl-C again while Ray stops (it takes ~0.3-1.5 s)
    threading.Timer({again_s}, os.killpg, (os.getpgrp(), signal.SIGINT)).start()
    shutdown(*args, **kwargs)

ray.shutdown = pressed_again
factory = functools.partial(fake_tracker, delay_s={delay}, pid_dir={pid_dir!r})
try:
    track_many([{slow!r}], TrackerConfig(), {out!r}, engine="ray", progress=False, make_tracker=factory)
except KeyboardInterrupt:  # as `track batch` ends
    print("interrupted", flush=True)
    sys.exit(130)
"""


def test_a_second_ctrl_c_while_ray_stops_still_ends_the_batch_as_interrupted(tmp_path):
    """Ctrl-C, then Ctrl-C again while the driver stopped its local Ray: the second one cut `ray.shutdown()` short,
    and Ray's half-stopped core worker then ended the driver from its own thread, exit status 1 (as if videos had
    failed) with nothing more said. Ray's stop now finishes first; the batch ends interrupted (130), no Ray process
    of its own left behind."""
    pytest.importorskip("ray", reason="Ray is not installed (pip install -e '.[ray]')")
    slow = clip(tmp_path / "slow.avi", 0, SLOW_FRAMES)
    pid_dir, out = tmp_path / "pids", tmp_path / "out"
    pid_dir.mkdir()
    script = CTRL_C_TWICE.format(again_s=0.2, delay=FRAME_DELAY_S, pid_dir=str(pid_dir), slow=str(slow), out=str(out))
    temp = f"/tmp/ray{os.getpid()}cc"  # (Ray's socket paths must stay short)
    env = os.environ | {"PYTHONPATH": os.pathsep.join([str(ROOT), str(TESTS), os.environ.get("PYTHONPATH", "")])}
    env |= {"RAY_TMPDIR": temp}
    env.pop("RAY_ADDRESS", None)
    driver = subprocess.Popen(
        [sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,  # its own process group, as a terminal's Ctrl-C reaches the driver and Ray's processes
    )  # fmt: skip
    try:
        deadline = time.monotonic() + KILL_TIMEOUT_S
        while not (out / ".slow.partial").exists() and time.monotonic() < deadline and driver.poll() is None:
            time.sleep(0.05)
        os.killpg(driver.pid, signal.SIGINT)
        said, err = driver.communicate(timeout=KILL_TIMEOUT_S)
        assert (driver.returncode, said) == (130, "interrupted\n"), f"exit status {driver.returncode}: {err[-800:]}"
        no_leftovers(out)
        assert not ray_processes(temp), "Ray processes of the batch outlived it"
    finally:
        if driver.poll() is None:
            os.killpg(driver.pid, signal.SIGKILL)
        for pid in ray_processes(temp):
            os.kill(pid, signal.SIGKILL)
        shutil.rmtree(temp, ignore_errors=True)


def ray_processes(temp: str) -> list[int]:
    """The processes of a Ray started in the temp folder `temp` (each names its session folder in its command)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and temp.encode() in (proc / "cmdline").read_bytes():
                found.append(int(proc.name))
        except OSError:  # gone meanwhile
            continue
    return found


def test_progress_total_counts_only_the_frames_max_frames_lets_through(tmp_path):
    """`track batch --max-frames 20` on long videos: the bar's total (and its ETA) is 20 per video, not the length."""
    from tracker.batch import run_video
    from tracker.batch_work import make_tasks

    video = clip(tmp_path / "cam.avi", 0)

    class Channel(list):
        def put(self, message):
            self.append(message)

    (task,) = make_tasks([str(video)], TrackerConfig(), tmp_path / "out", False, 5, fake_tracker, None, None)
    channel = Channel()
    assert run_video(task, channel).status == "done"
    assert [value for _, kind, value in channel if kind == "total"] == [5]


def test_the_progress_bar_counts_finished_videos_and_no_percentage_before_every_video_started(tmp_path, capsys):
    """The bar's frame total summed the started videos only: one worker at the end of its second video of three
    showed "94% 66/70", as if the batch were nearly done, with an 80-frame video still to start. The percentage now
    waits for every video's frame count; the description counts the videos finished and the ones running; a
    video's end is told before the next one's start when both wait in the queue (the start came first), and a late
    word of a finished video changes nothing. A failed video is counted apart, not done ("3/3 videos done" with one
    failed)."""
    import queue

    from tracker.batch import VideoResult
    from tracker.batch_progress import Monitor, drain
    from tracker.batch_work import make_tasks

    sources = [str(tmp_path / f"cam{k}.avi") for k in range(3)]
    tasks = make_tasks(sources, TrackerConfig(), tmp_path / "out", False, None, None, None, None)
    monitor = Monitor(tasks, show=True)
    channel = queue.Queue()

    def tell(*messages) -> str:
        for message in messages:
            channel.put(message)
        drain(channel, monitor)
        return str(monitor._bar)  # the bar's line as the user sees it

    def done(index: int, frames: int) -> VideoResult:
        return VideoResult(index, sources[index], f"cam{index}", tmp_path / "out", "done", frames=frames)

    first = tell((0, "start", 11), (0, "total", 20), (1, "start", 12), (1, "total", 50), (0, "frames", 20))
    assert first.startswith("0/3 videos done, 2 running: ") and "%" not in first and ": 20 frames [" in first, first
    second = tell((0, "result", done(0, 20)), (2, "start", 11), (2, "total", 80), (1, "frames", 46))
    assert second.startswith("1/3 videos done, 2 running:") and "66/150" in second and " 44%" in second, second
    assert "66/150" in tell((0, "frames", 3)), "a late word of cam0 (finished: 20 frames) took 17 frames back"
    failed = VideoResult(1, sources[1], "cam1", tmp_path / "out", "failed", frames=50, reason="unreadable")
    assert tell((1, "result", failed)).startswith("1/3 videos done, 1 failed, 1 running:"), (
        "a failed video counted done"
    )
    assert tell((2, "result", done(2, 80))).startswith("2/3 videos done, 1 failed: 100%")
    monitor.close()
    lines = [line for line in capsys.readouterr().err.replace("\r", "\n").splitlines() if ": " in line]
    events = [line for line in lines if line.startswith("cam") and ("started" in line or "done," in line)]
    assert events == [
        "cam0: started (pid 11)", "cam1: started (pid 12)", "cam0: done, 20 frames", "cam2: started (pid 11)",
        "cam2: done, 80 frames",
    ], events  # fmt: skip


def test_a_video_of_one_frame_is_done_in_one_frame_not_one_frames(tmp_path, capsys):
    """The line of a finished video said "one: done, 1 frames" (a one-frame video, or `--max-frames 1`)."""
    from tracker.batch import VideoResult
    from tracker.batch_progress import Monitor
    from tracker.batch_work import make_tasks

    sources = [str(tmp_path / f"cam{k}.avi") for k in range(2)]
    monitor = Monitor(make_tasks(sources, TrackerConfig(), tmp_path / "out", False, None, None, None, None), show=True)
    for index, frames in enumerate((1, 2)):
        monitor.finish(VideoResult(index, sources[index], f"cam{index}", tmp_path / "out", "done", frames=frames))
    monitor.close()
    lines = capsys.readouterr().err.replace("\r", "\n").splitlines()
    assert [line for line in lines if "done," in line] == ["cam0: done, 1 frame", "cam1: done, 2 frames"], lines


def test_a_progress_reader_that_left_stops_the_lines_not_the_batch(tmp_path, monkeypatch):
    """`track batch ... 2>&1 | head -c 50`: the bar's next line raised BrokenPipeError in the driver, which ended the
    batch (exit status 1) before any video was tracked. The lines stop; the batch goes on."""
    import contextlib
    import sys

    from tracker.batch import VideoResult
    from tracker.batch_progress import Monitor
    from tracker.batch_work import make_tasks

    read, write = os.pipe()
    os.close(read)  # the reader of stderr has gone
    closed = open(write, "w", buffering=1)  # noqa: SIM115 (closed below: what the bar left in it cannot be flushed)
    monkeypatch.setattr(sys, "stderr", closed)
    try:
        sources = [str(tmp_path / "cam0.avi")]
        monitor = Monitor(make_tasks(sources, TrackerConfig(), tmp_path / "out", False, None, None, None, None), True)
        monitor.message(0, "start", 11)
        monitor.message(0, "total", 20)
        monitor.finish(VideoResult(0, sources[0], "cam0", tmp_path / "out", "done", frames=20))
        monitor.close()
    finally:
        monkeypatch.undo()
        with contextlib.suppress(BrokenPipeError):
            closed.close()


LOAD_S = 2.0  # a task's slow model loading (the detector's and ReID's take seconds in every task)


def slow_loading_tracker(cfg, frame_rate, gallery=None):
    """`fake_tracker` (0.02 s a frame) made after LOAD_S seconds of loading models (picklable)."""
    time.sleep(LOAD_S)
    return fake_tracker(cfg, frame_rate, gallery, delay_s=0.02)


def test_the_progress_rate_counts_tracked_frames_not_model_loading(tmp_path, capsys):
    """Early in a batch the bar said "12.99s/frame": its rate (and its ETA) was the frames over the time since the
    batch began, with the tasks' start and model loading in it. A task that loads its models for LOAD_S seconds
    must not slow the rate the bar reports: it counts from the first tracked frame."""
    video = clip(tmp_path / "cam.avi", 0)
    summary = track_many(
        [video], TrackerConfig(), tmp_path / "out", workers=1, save_video=False, make_tracker=slow_loading_tracker
    )
    (done,) = summary.videos
    assert done.status == "done", summary.describe()
    shown = re.findall(r"([\d.]+)(frame/s|s/frame)\]", capsys.readouterr().err)
    assert shown, "the bar showed no rate"
    value, unit = shown[-1]  # the bar's last line, the batch ended
    rate = float(value) if unit == "frame/s" else 1 / float(value)
    # tracking alone: ~FRAMES / done.seconds (the driver sees frame counts every 0.2 s); with the loading, below
    # FRAMES / (done.seconds + LOAD_S + the worker's start)
    assert rate > FRAMES / (done.seconds + LOAD_S / 2), f"{rate:.1f} frames/s, tracked in {done.seconds:.2f} s"


def _refused_batch_error(tmp_path: Path, capsys, gallery: Gallery, weights: Path) -> str:
    """Save `gallery` as g.gallery, run `track batch` of one clip on it with `weights`: it must exit 2 with one error
    line, start no video and leave the gallery file as it was. Returns that line."""
    gallery.save(tmp_path / "g.gallery")
    before = (tmp_path / "g.gallery").read_bytes()
    video = clip(tmp_path / "cam.avi", 0, 5)
    argv = ["batch", str(video), "--out", str(tmp_path / "out"), "--gallery", str(tmp_path / "g.gallery")]
    assert main([*argv, "--set", f"reid.weights={weights}", "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert not (tmp_path / "out" / "cam").exists() and (tmp_path / "g.gallery").read_bytes() == before
    return err[0]


def test_gallery_of_another_model_is_refused_before_any_video_starts(tmp_path, capsys):
    """`track batch --gallery g` with other ReID weights than g's: one error line and exit 2 at once, not one
    failed video per source after each loaded its models (and 'gallery saved' at the end)."""
    from tracker.gallery import ModelIdentity

    weights = tmp_path / "other_osnet.pth"
    weights.write_bytes(b"not the gallery's weights")
    gallery = Gallery(TrackerConfig().gallery)
    gallery.bind_model(ModelIdentity("osnet_x0_25", "0123456789abcdef", 512))
    err = _refused_batch_error(tmp_path, capsys, gallery, weights)
    # named: "this gallery was made with ..." did not say which file
    assert err.startswith(f"track batch: error: {tmp_path / 'g.gallery'}: this gallery") and "cannot be compared" in err


def test_gallery_of_another_d_bound_to_no_model_is_refused_before_any_video_starts(tmp_path, capsys):
    """A gallery saved from `update_detections` without `bind_model` (16-d, no model named): `track --gallery`
    refuses it at once, but `track batch --gallery` started every video, each failing after loading its models
    ("a: GalleryModelError ... D = 16", exit 1)."""
    weights = tmp_path / "osnet.pth"
    weights.write_bytes(b"some weights")
    gallery = Gallery(TrackerConfig().gallery)
    gallery.add(1, np.eye(3, 16, dtype=np.float32), 0, Sighting(1, time.time(), "cam"))
    err = _refused_batch_error(tmp_path, capsys, gallery, weights)
    assert err.startswith(f"track batch: error: {tmp_path / 'g.gallery'}: this gallery holds embeddings of D = 16"), err


def test_a_task_prints_no_ultralytics_lines(shared_weights, tmp_path, capfd):
    """Each batch task loads its own detector; ultralytics' "Loading ... / Using OpenVINO LATENCY mode" lines,
    once per video, cut through the batch's progress bar and showed even with --quiet."""
    import logging

    from tracker.batch import run_video
    from tracker.batch_work import make_tasks

    video = clip(tmp_path / "cam.avi", 0, 3)
    overrides = [f"detector.model={shared_weights / 'yolov8n_int8_openvino_model'}", "reid.model=none"]
    cfg = TrackerConfig().replace(overrides)
    (task,) = make_tasks([str(video)], cfg, tmp_path / "out", False, 2, None, None, None)
    ultralytics_log = logging.getLogger("ultralytics")
    level, filters = ultralytics_log.level, list(ultralytics_log.filters)  # (`quiet_ultralytics` adds one)
    ultralytics_log.setLevel(logging.INFO)  # as a fresh worker process has it
    try:
        capfd.readouterr()
        assert run_video(task).status == "done"
        printed = capfd.readouterr()
    finally:
        ultralytics_log.setLevel(level)
        ultralytics_log.filters[:] = filters
    assert "Loading" not in printed.out + printed.err and "OpenVINO" not in printed.out + printed.err


def test_a_cluster_task_without_the_drivers_detector_file_uses_the_bytes_the_driver_sent(
    ray_cluster, shared_weights, tmp_path, monkeypatch
):
    """`track batch --engine ray --address ...` with the default detector (an official name): every task downloaded
    yolo11n.pt on its own node (offline: each video failed alone). The driver now finds or downloads it once and
    puts its bytes in Ray's object store; a task on a node where the driver's path does not exist keeps a copy in
    its cache folder, named by the content, and tracks with it. Here the driver's file is removed once the driver
    has read it, before any task starts: the tasks see a path that does not exist on their node."""
    import tracker.batch as batch

    drivers = tmp_path / "driver_weights"  # where the driver finds yolo11n.pt (`$TRACKER_WEIGHTS_DIR`)
    drivers.mkdir()
    shutil.copyfile(shared_weights / "yolo11n.pt", drivers / "yolo11n.pt")
    monkeypatch.setenv(WEIGHTS_DIR_ENV, str(drivers))
    run_ray = batch.run_ray

    def driver_file_gone(*args):  # (after the driver has read the file, before any task)
        shutil.rmtree(drivers)
        return run_ray(*args)

    monkeypatch.setattr(batch, "run_ray", driver_file_gone)
    video, out = clip(tmp_path / "cam.avi", 0, 3), tmp_path / "out"
    cfg = load_config(None, ["detector.model=yolo11n.pt", "reid.model=none"])
    summary = track_many([video], cfg, out, engine="ray", address="auto", save_video=False, progress=False)
    assert [v.status for v in summary.videos] == ["done"], summary.describe()
    data = (shared_weights / "yolo11n.pt").read_bytes()
    cache = Path(ray_cluster.get(ray_cluster.remote(lambda: os.environ[WEIGHTS_CACHE_ENV]).remote()))
    kept = cache / f"yolo11n-{content_digest(data)}.pt"
    assert kept.read_bytes() == data, "the task's copy is not the driver's file"
    assert load_config(out / "cam" / CONFIG_NAME).detector.model == str(kept), "the task tracked with another file"
    assert not drivers.exists()


def test_weights_sent_to_a_node_are_its_own_file_if_it_holds_them_else_one_cached_copy(tmp_path, monkeypatch):
    """`weights_here`: the driver's path where it holds the very bytes; elsewhere (missing, or another file under
    that name) one copy in the cache folder named by their content, written whole, reused by later tasks."""
    monkeypatch.setenv(WEIGHTS_CACHE_ENV, str(tmp_path / "cache"))
    data, other = b"the driver's weights", b"this node's own older weights"
    same = tmp_path / "same" / "det.pt"
    same.parent.mkdir()
    same.write_bytes(data)
    assert weights_here(str(same), data) == same
    kept = tmp_path / "cache" / f"det-{content_digest(data)}.pt"
    assert weights_here(str(tmp_path / "missing" / "det.pt"), data) == kept and kept.read_bytes() == data
    assert [p.name for p in kept.parent.iterdir()] == [kept.name], "a temporary file was left"
    older = tmp_path / "older" / "det.pt"
    older.parent.mkdir()
    older.write_bytes(other)
    assert weights_here(str(older), data) == kept and older.read_bytes() == other
    inode = kept.stat().st_ino
    assert weights_here(str(tmp_path / "missing" / "det.pt"), data) == kept
    assert kept.stat().st_ino == inode, "the copy was written again, not reused"


def test_weights_that_cannot_be_cached_on_a_node_are_not_called_a_gallery(tmp_path, monkeypatch):
    """`weights_here` on a node whose cache folder cannot be written: the error read "cannot keep the weights det.pt
    ... (the gallery CACHE/det-HASH.pt cannot be saved: ...)", the atomic write naming every file a gallery."""
    import tempfile

    monkeypatch.setenv(WEIGHTS_CACHE_ENV, str(tmp_path / "cache"))

    def read_only(*_args, **_kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    with pytest.raises(OSError, match=r"^cannot keep the weights det\.pt .*\(the weights cache file .*det-") as info:
        weights_here(str(tmp_path / "missing" / "det.pt"), b"the driver's weights")
    assert "gallery" not in str(info.value)


def test_an_unreachable_ray_address_fails_at_once(tmp_path, capsys, monkeypatch):
    """`--address host:port` (or $RAY_ADDRESS) where no cluster listens: Ray retried for minutes, printing a
    warning every 5 s; now one error line before anything is created."""
    import socket

    ray = pytest.importorskip("ray", reason="Ray is not installed (pip install -e '.[ray]')")
    from tracker.ray_engine import ray_map

    with socket.socket() as probe:  # a port nothing listens on once closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    def no_init(*_args, **_kwargs):
        raise AssertionError("ray.init was reached: it would retry the address for minutes")

    monkeypatch.setattr(ray, "init", no_init)
    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    video = clip(tmp_path / "cam.avi", 0, 3)
    out = tmp_path / "out"
    argv = ["batch", str(video), "--out", str(out), "--engine", "ray", "--address", f"127.0.0.1:{port}", "--quiet"]
    assert main([*argv, "--set", "reid.model=none"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"cannot reach the Ray cluster at 127.0.0.1:{port}" in err[0]
    assert not out.exists()
    monkeypatch.setenv("RAY_ADDRESS", f"ray://127.0.0.1:{port}")  # `track eval --engine ray` reads it
    with pytest.raises(ConnectionError, match="cannot reach the Ray cluster"):
        ray_map(str, [1])


def test_batch_help_says_a_missing_address_reads_ray_address_first(capsys):
    """`track batch --help` said `--address` defaults to "a local Ray", while a batch without it joins the cluster
    at $RAY_ADDRESS where that is set (docs/batch.md, and `track eval --engine ray`'s help, say so)."""
    with pytest.raises(SystemExit) as stopped:
        main(["batch", "--help"])
    assert stopped.value.code == 0, stopped.value.code  # (--help exits 0)
    said = " ".join(capsys.readouterr().out.split())
    assert "default: $RAY_ADDRESS, else a local Ray" in said, said


@pytest.mark.parametrize("address", ["junk", "foo bar", "head:port"])
def test_an_address_that_is_no_ray_address_is_one_line_naming_where_it_came_from(
    tmp_path, capsys, monkeypatch, address
):
    """`track batch --engine ray --address junk` (or `RAY_ADDRESS=junk`, `track eval --engine ray` too) loaded Ray,
    drew the progress bar and said "Invalid address format: junk", naming neither the option nor the variable (and
    `track eval` left an empty output folder); now one line at once, before Ray starts, naming where it came from."""
    ray = pytest.importorskip("ray", reason="Ray is not installed (pip install -e '.[ray]')")
    from tracker.eval.cli import eval_main

    monkeypatch.setattr(ray, "init", lambda *_a, **_k: pytest.fail("ray.init was reached"))
    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    out = tmp_path / "out"
    argv = ["batch", "a.mp4", "--out", str(out), "--engine", "ray", "--set", "reid.model=none"]
    with open(tmp_path / "a.mp4", "wb"):
        pass
    monkeypatch.chdir(tmp_path)
    assert main([*argv, "--address", address]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"track batch: error: {address!r} (given by --address) is no Ray cluster address: give host:port (the head "
        "node's), ray://host:10001 or auto; or leave --address out to start a local Ray"
    ]
    with pytest.raises(ValueError, match=r"\(given by address\) is no Ray cluster address.* leave address out"):
        track_many(["a.mp4"], None, out, engine="ray", address=address)
    monkeypatch.setenv("RAY_ADDRESS", address)
    for given in ([], ["--address", "auto"]):  # (Ray's "auto" reads $RAY_ADDRESS first)
        assert main([*argv, *given]) == 2
        assert "(given by RAY_ADDRESS) is no Ray cluster address" in capsys.readouterr().err
    assert eval_main(["--data", str(tmp_path / "data"), "--engine", "ray", "--out", str(tmp_path / "ev"), "-q"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"track eval: error: {address!r} (given by RAY_ADDRESS)"), err
    assert "unset RAY_ADDRESS to start a local Ray" in err[0]
    assert not out.exists() and not (tmp_path / "ev").exists()


def unreadable_image(_item: int) -> None:
    """A Ray task failing as `track eval`'s does on a damaged frame (picklable)."""
    raise FileNotFoundError("cannot read seq/img1/000030.jpg")


def test_a_failed_ray_task_raises_its_own_error_not_rays_traceback(ray_cluster, capsys):
    """`track eval --engine ray` on a sequence with an unreadable image printed `track eval: error: ray::_run_job()
    (pid=..., ip=...)`, Ray's colour codes and the worker's traceback, where the process pool prints one line
    `track eval: error: cannot read ...`. `ray_map` now raises the task's own exception."""
    from tracker.ray_engine import ray_map

    with pytest.raises(FileNotFoundError) as caught:
        ray_map(unreadable_image, [1])
    assert str(caught.value) == "cannot read seq/img1/000030.jpg"
    assert type(caught.value) is FileNotFoundError


def test_ray_map_steps_a_progress_bar_once_per_task_as_it_ends(ray_cluster):
    """`track eval --engine ray` tracked and scored every sequence without a word until its table (the bar over the
    results is stepped by `ray_map`'s `done`): one step per task, the results still in item order."""
    from tracker.ray_engine import ray_map

    steps: list[int] = []
    assert ray_map(str, [3, 1, 2], done=lambda: steps.append(len(steps))) == ["3", "1", "2"]
    assert steps == [0, 1, 2]


_A_RAY_WORKER_DIES = r"""
import os
from tracker.eval.runner import WorkerDied, parallel_map


def worker_killed(_item):  # a task whose worker dies as under the out-of-memory killer
    os._exit(1)


try:
    parallel_map(worker_killed, [1], 1, "ray")
except WorkerDied as exc:
    print("WorkerDied:", exc)
"""


def test_a_dead_ray_worker_in_eval_is_one_error_not_a_traceback():
    """`track eval --engine ray` whose task's worker died (killed, out of memory; after Ray's retries) ended with Ray's
    WorkerCrashedError traceback; `parallel_map` now raises WorkerDied, one line with where the worker's logs are.
    Run in a fresh Python with its own local Ray: a driver that Ray ends with its cluster cannot end the test run."""
    done = _run_with_a_local_ray(_A_RAY_WORKER_DIES, "die")
    lines = [line for line in done.stdout.splitlines() if line.startswith("WorkerDied:")]  # (Ray prints its own)
    assert done.returncode == 0 and len(lines) == 1, (done.returncode, done.stdout, done.stderr[-2000:])
    assert lines[0].startswith("WorkerDied: a Ray worker died (WorkerCrashedError"), lines
    assert "the worker's logs (its traceback) are in" in lines[0], lines


@pytest.mark.parametrize("quiet", [False, True])
def test_quiet_ray_sessions_do_not_print_rays_start_up_lines(monkeypatch, quiet):
    """`track eval --engine ray --quiet` printed Ray's "Started a local Ray instance" and token notice (INFO and
    WARNING lines of Ray's logger): a quiet session starts Ray at its ERROR level; otherwise at Ray's own INFO."""
    import logging

    import tracker.ray_engine as ray_engine

    calls = []

    class FakeRay:
        is_initialized = staticmethod(lambda: False)
        init = staticmethod(lambda **kwargs: calls.append(kwargs))
        shutdown = staticmethod(lambda: calls.append("shutdown"))

    monkeypatch.setattr(ray_engine, "import_ray", lambda: FakeRay)
    with ray_engine.ray_session(quiet=quiet):
        pass
    assert calls[0]["logging_level"] == (logging.ERROR if quiet else logging.INFO) and calls[1] == "shutdown"


class RayWithNoCluster:
    """A stand-in for the `ray` module whose `init` finds no cluster, with Ray's own message."""

    is_initialized = staticmethod(lambda: False)
    shutdown = staticmethod(lambda: None)

    @staticmethod
    def init(**_kwargs):
        raise ConnectionError(
            "Could not find any running Ray instance. Please specify the one to connect to by setting `--address` "
            "flag or `RAY_ADDRESS` environment variable."
        )


def test_no_ray_cluster_at_ray_address_says_where_the_address_came_from(tmp_path, capsys, monkeypatch):
    """`RAY_ADDRESS=auto track eval --engine ray` with no cluster running: Ray's "Could not find any running Ray
    instance. Please specify the one to connect to by setting `--address` flag or `RAY_ADDRESS` environment variable"
    sent the user to a flag `track eval` does not have; the error now names $RAY_ADDRESS and how to start a local Ray.
    """
    import tracker.ray_engine as ray_engine

    monkeypatch.setattr(ray_engine, "import_ray", lambda: RayWithNoCluster)
    monkeypatch.setenv("RAY_ADDRESS", "auto")
    with pytest.raises(ConnectionError) as caught, ray_engine.ray_session():
        pass
    assert str(caught.value) == (
        "no Ray cluster at RAY_ADDRESS=auto (Could not find any running Ray instance); start one, or unset "
        "RAY_ADDRESS to start a local Ray"
    )


@pytest.mark.parametrize("existed", [False, True])
def test_eval_with_no_ray_cluster_leaves_no_new_output_folder(tmp_path, capsys, monkeypatch, existed):
    """`RAY_ADDRESS=auto track eval --engine ray --out OUT` with no cluster running: the error was right, but an empty
    OUT was left behind (made before Ray starts); now OUT is removed again if this run made it, kept if it existed."""
    from test_eval import _sequence_with_images

    import tracker.ray_engine as ray_engine
    from tracker.eval.cli import eval_main

    monkeypatch.setattr(ray_engine, "import_ray", lambda: RayWithNoCluster)
    monkeypatch.setenv("RAY_ADDRESS", "auto")
    out = tmp_path / "out"
    if existed:
        out.mkdir()
    args = ["--data", str(_sequence_with_images(tmp_path / "data")), "--engine", "ray", "--set", "reid.model=none",
            "--cache-dir", str(tmp_path / "cache"), "--out", str(out), "--quiet"]  # fmt: skip
    assert eval_main(args) == 2
    assert "no Ray cluster at RAY_ADDRESS=auto" in capsys.readouterr().err
    assert out.is_dir() == existed and (not existed or not any(out.iterdir()))


def test_a_batch_on_a_gallery_another_run_uses_is_refused_before_any_video_starts(tmp_path, capsys):
    """`track batch --gallery g` while a `track --gallery g` run goes on: linking into g at the end would drop the
    run's identities (or the run's save would drop the batch's); one error line, nothing tracked."""
    from tracker.io.lock import gallery_lock

    video = clip(tmp_path / "cam.avi", 0, 5)
    gallery = tmp_path / "g.gallery"
    with gallery_lock(gallery):
        argv = ["batch", str(video), "--out", str(tmp_path / "out"), "--gallery", str(gallery), "--quiet"]
        assert main(argv) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if "error" in line]  # (and the ReID fallback note)
    assert len(err) == 1 and f"track batch: error: the gallery {gallery} is in use by " in err[0]
    assert not (tmp_path / "out" / "cam").exists() and not gallery.exists()


def test_a_source_that_names_nothing_fails_at_once_without_a_task(tmp_path, monkeypatch):
    """`track batch missing.mp4` started a worker that imported torch and loaded the models (~10 s, 0.7 GB) to say
    "no such file"; such a source now fails at once, as `track` refuses it, and the others still run."""
    import tracker.batch as batch

    started: list[str] = []

    def run_local(todo, *_args):
        started.extend(t.name for t in todo)
        return [failed_result(t, "not run in this test", 1) for t in todo]

    monkeypatch.setattr(batch, "run_local", run_local)
    video = clip(tmp_path / "cam.avi", 0, 5)
    sources = [tmp_path / "missing.mp4", str(tmp_path / "none*.jpg"), video]
    out = tmp_path / "out"
    summary = track_many(sources, TrackerConfig(), out, workers=1, progress=False, make_tracker=fake_tracker)
    assert started == ["cam"]
    missing, no_images, _ = summary.videos
    assert missing.status == no_images.status == "failed"
    assert missing.reason == f"SourceError: no such file or folder: {tmp_path / 'missing.mp4'}"
    assert no_images.reason.startswith(f"SourceError: no images match {tmp_path / 'none*.jpg'}")


def test_a_batch_of_only_missing_sources_fails_before_importing_torch(tmp_path):
    """`track batch a.mp4 'b*.jpg'` with neither there imported torch in the parent (3.6-4.7 s) before saying so:
    now one line per source, exit status 2 (as `track`'s for a name that names nothing; it was 1, "some videos
    failed", when no video had run), nothing written, and torch never imported (a fresh interpreter)."""
    import subprocess
    import sys

    code = (
        "import sys; from tracker.cli import main; rc = main(sys.argv[1:]); "
        "print('torch imported' if 'torch' in sys.modules else 'no torch'); sys.exit(rc)"
    )
    missing, no_images = tmp_path / "missing.mp4", tmp_path / "none*.jpg"
    argv = ["batch", str(missing), str(no_images), "--out", str(tmp_path / "out")]
    done = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert done.stdout.strip() == "no torch"
    assert done.stderr.splitlines() == [
        f"track batch: error: no such file or folder: {missing}",
        f"track batch: error: no images match {no_images}",
    ]  # each names its source (an output name, `none_` or a quoted glob's `_`, was noise: nothing is written)
    assert not (tmp_path / "out").exists()


def test_a_batch_of_a_folder_of_videos_is_refused_before_importing_torch(tmp_path):
    """`track batch cams/ --out OUT` started a worker (8 s) whose video failed with "folder holds no images", exit
    status 1: the folder is told at once, exit status 2, with how to track the videos in it, nothing written."""
    import subprocess
    import sys

    cams = tmp_path / "cams"
    cams.mkdir()
    clip(cams / "cam1.avi", 0, 2)
    code = (
        "import sys; from tracker.cli import main; rc = main(sys.argv[1:]); "
        "print('torch imported' if 'torch' in sys.modules else 'no torch'); sys.exit(rc)"
    )
    argv = ["batch", str(cams), "--out", str(tmp_path / "out")]
    done = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert done.stdout.strip() == "no torch"
    assert done.stderr.startswith(f"track batch: error: {cams}: folder holds no images"), done.stderr
    assert f"`track batch {cams / '*.avi'} --out OUT`" in done.stderr
    assert not (tmp_path / "out").exists()


def test_a_missing_name_beside_a_video_stops_the_batch_before_any_video_is_tracked(tmp_path, monkeypatch, capsys):
    """`track batch cam.mp4 /nope.mp4` tracked cam.mp4 (models loaded, minutes on a long video) and only then said
    /nope.mp4 had failed, where `track` checks every name first. Every missing name is told at once, with one line
    saying nothing was tracked, exit status 2, nothing written."""
    monkeypatch.setattr("tracker.batch.track_many", lambda *a, **k: pytest.fail("tracked despite a missing name"))
    video = clip(tmp_path / "cam.avi", 0, 5)
    missing, no_images = tmp_path / "nope.mp4", tmp_path / "none*.jpg"
    out = tmp_path / "out"
    assert main(["batch", str(video), str(missing), str(no_images), "--out", str(out)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"track batch: error: no such file or folder: {missing}",
        f"track batch: error: no images match {no_images}",
        "track batch: error: nothing was tracked: 2 sources of 3 named nothing; correct or drop them and run the "
        "batch again",
    ]
    assert not out.exists()


def test_a_video_that_vanishes_after_the_check_still_fails_alone(tmp_path, monkeypatch):
    """The check up front is the CLI's: a file gone by its turn (a glob's file moved away midway) fails alone as
    before, the others tracked."""
    import tracker.batch as batch

    video, gone = clip(tmp_path / "cam.avi", 0, 5), clip(tmp_path / "gone.avi", 0, 5)
    real_track_many = batch.track_many

    def vanishing(*args, **kwargs):
        gone.unlink()  # (after `track batch` checked the names)
        return real_track_many(*args, **kwargs, make_tracker=fake_tracker)

    monkeypatch.setattr(batch, "track_many", vanishing)
    out = tmp_path / "out"
    assert main(["batch", str(video), str(gone), "--out", str(out), "--workers", "1", "--quiet"]) == 1
    assert (out / "cam" / "cam.txt").exists() and not (out / "gone").exists()


def test_a_folder_of_videos_in_batch_is_told_whole_what_to_do_even_under_a_long_path(tmp_path, capsys, monkeypatch):
    """`track batch cams/` (a folder of videos, not images) under a long path: its error, which ends with what to do
    (`track batch cams/*.mp4 --out OUT`), was cut at 300 characters, mid-word, before saying it. (Such a folder is
    refused before the batch now: here it holds an image when the names are checked, gone when its video runs.)"""
    cams = tmp_path / ("deep_folder_" * 8) / "cams"
    cams.mkdir(parents=True)
    for name in ("a.mp4", "b.mp4"):
        (cams / name).write_bytes(b"x")
    vanishing_before_the_batch(monkeypatch, cams / "frame.jpg")
    options = ["--out", str(tmp_path / "out"), "--quiet", *local_detector(tmp_path)]  # (the folder fails to open)
    assert main(["batch", str(cams), *options]) == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.endswith(f"`track batch {cams / '*.mp4'} --out OUT`)") and "\n" not in err


def test_a_quoted_glob_of_videos_in_batch_says_to_unquote_it_not_to_use_track_batch(tmp_path, capsys):
    """`track batch "cams/*.mp4"` (quoted: one source) said "... let the shell expand the pattern, without quotes,
    or use `track batch`": the command it was. The error now shows both commands with the pattern as given."""
    for name in ("a.mp4", "b.mp4"):
        (tmp_path / name).write_bytes(b"x")
    pattern = tmp_path / "*.mp4"
    assert main(["batch", str(pattern), "--out", str(tmp_path / "out")]) == 2  # (names no images: refused first)
    err = capsys.readouterr().err
    assert f"`track batch {pattern} --out OUT`" in err and f"`track {pattern}`" in err and "\n" not in err.strip()
    assert "or use `track batch`)" not in err


def test_a_second_batch_into_a_folder_in_use_is_refused_before_any_video_starts(tmp_path, capsys, monkeypatch):
    """Two `track batch --out same` at once: the second deleted the first's `.<name>.partial/` folders as "left by a
    killed attempt", and the first's videos failed with `FileNotFoundError: ... .txt.partial -> ... .txt`. The
    second is now refused at its start with one error line naming the folder, and touches nothing."""
    import tracker.batch as batch
    from tracker.io.lock import FolderInUse, FolderLock

    def no_tasks(*_args, **_kwargs):
        raise AssertionError("a task was started in a folder another batch uses")

    monkeypatch.setattr(batch, "run_local", no_tasks)
    video = clip(tmp_path / "cam.avi", 0, 5)
    out = tmp_path / "out"
    partial = out / ".cam.partial"
    with FolderLock(out):  # as the running batch holds it
        partial.mkdir()
        with pytest.raises(FolderInUse, match=f"the batch folder {out} is in use"):
            track_many([video], TrackerConfig(), out, workers=1, progress=False, make_tracker=fake_tracker)
        assert main(["batch", str(video), "--out", str(out), "--quiet", "--set", "reid.model=none"]) == 2
        assert partial.is_dir(), "the running batch's unfinished folder was touched"
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"track batch: error: the batch folder {out} is in use"), err
    assert "choose another --out" in err[0]


def test_missing_weights_fail_the_batch_once_before_any_task(tmp_path, capsys, monkeypatch):
    """`track batch a.mp4 b.mp4 --set detector.model=missing.pt`: every video started a process, imported torch and
    failed alone with the same line (exit status 1); now one error line, exit status 2, as `track` says it."""
    import tracker.batch as batch

    def no_tasks(*_args, **_kwargs):
        raise AssertionError("a task was started without weights")

    monkeypatch.setattr(batch, "run_local", no_tasks)
    videos = [str(clip(tmp_path / f"cam{k}.avi", 10 * k, 3)) for k in range(2)]
    out = tmp_path / "out"
    for key, kind in (("detector.model", "detector"), ("reid.weights", "reid")):
        missing = tmp_path / f"missing_{kind}.pt"
        assert main(["batch", *videos, "--out", str(out), "--quiet", "--set", f"{key}={missing}"]) == 2
        err = [line for line in capsys.readouterr().err.splitlines() if "error" in line]  # (and the ReID note)
        assert len(err) == 1 and err[0].startswith(f"track batch: error: {kind} weights '{missing}' not found"), err
        assert not out.exists()


OFFICIAL = "yolo11n.pt"  # the default detector: an official name ultralytics downloads on first use


@pytest.fixture
def no_local_detector(tmp_path, monkeypatch):
    """A working folder without the default detector's file (and no $TRACKER_WEIGHTS_DIR), and no engine."""
    import tracker.batch as batch

    def no_tasks(*_args, **_kwargs):
        raise AssertionError("a task was started without the detector's file")

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TRACKER_WEIGHTS_DIR", raising=False)
    monkeypatch.setattr(batch, "run_local", no_tasks)
    assert TrackerConfig().detector.model == OFFICIAL and not (tmp_path / OFFICIAL).exists()
    return [str(clip(tmp_path / f"cam{k}.avi", 10 * k, 3)) for k in range(2)]


def test_an_offline_download_of_the_default_detector_stops_the_batch_once_before_any_task(
    no_local_detector, tmp_path, capsys, monkeypatch
):
    """`track batch a.mp4 b.mp4` offline without yolo11n.pt here: every task tried ultralytics' download itself and
    failed alone (~5-20 s each, one line per video); the driver now downloads once, and offline that is one error
    line naming the file and where it comes from, exit status 2, before any task."""
    import ultralytics.utils.downloads as downloads

    tries = []

    def offline(file, *_args, **_kwargs):
        tries.append(str(file))
        raise ConnectionError(
            f"Download failure for https://github.com/ultralytics/assets/{file}. Environment may be offline."
        )

    monkeypatch.setattr(downloads, "attempt_download_asset", offline)
    out = tmp_path / "out"
    assert main(["batch", *no_local_detector, "--out", str(out), "--quiet", "--set", "reid.model=none"]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert tries == [OFFICIAL], tries
    assert len(err) == 1 and err[0].startswith("track batch: error: Download failure"), err
    assert f"detector.model {OFFICIAL} is downloaded by ultralytics" in err[0] and "--set detector.model=PATH" in err[0]
    assert not out.exists()


def test_the_driver_downloads_the_default_detector_once_and_tasks_get_its_local_path(
    no_local_detector, tmp_path, monkeypatch
):
    """Online, the driver fetches the official weights once and hands every task the file's path (no task downloads);
    the videos' fingerprints stay those of the name, so a re-run that finds the file here reuses them."""
    import ultralytics.utils.downloads as downloads

    import tracker.batch as batch
    from tracker.batch_work import make_tasks

    fetched = tmp_path / "weights" / OFFICIAL
    handed = []

    def download(file, *_args, **_kwargs):
        fetched.parent.mkdir(exist_ok=True)
        fetched.write_bytes(b"weights")
        return str(fetched)

    def record(todo, *_args):
        handed.extend(todo)
        return [failed_result(t, "not run", 1) for t in todo]

    monkeypatch.setattr(downloads, "attempt_download_asset", download)
    monkeypatch.setattr(batch, "run_local", record)
    cfg = load_config(None, ["reid.model=none"])
    track_many(no_local_detector, cfg, tmp_path / "out", workers=1, progress=False)
    assert [t.cfg_dict["detector"]["model"] for t in handed] == [str(fetched)] * 2
    by_name = make_tasks(no_local_detector, cfg, tmp_path / "out", True, None, None, None, None)
    assert [t.fingerprint for t in handed] == [t.fingerprint for t in by_name]


DRIVER_KILLED = """
import functools, sys
from test_batch import fake_tracker
from tracker.batch import track_many
from tracker.config import TrackerConfig, load_config
factory = functools.partial(fake_tracker, delay_s={delay}, pid_dir={pid_dir!r})
track_many({sources!r}, TrackerConfig(), {out!r}, engine="local", workers=1, progress=False, make_tracker=factory)
"""


def test_a_worker_whose_driver_is_killed_stops_and_drops_its_unfinished_video(tmp_path):
    """`kill -9` of `track batch` (or the out-of-memory killer) left its local workers tracking on, orphaned: they
    finished the whole batch without a driver, into folders a re-run (no longer locked out) wrote too, and then
    waited forever for work. A worker now stops when its driver is gone: the frame finished, its unfinished folder
    dropped, no further video taken."""
    slow = clip(tmp_path / "slow.avi", 0, SLOW_FRAMES)
    other = clip(tmp_path / "other.avi", 40, 5)
    pid_dir, out = tmp_path / "pids", tmp_path / "out"
    pid_dir.mkdir()
    script = DRIVER_KILLED.format(
        delay=FRAME_DELAY_S * 4, pid_dir=str(pid_dir), sources=[str(slow), str(other)], out=str(out)
    )
    env = os.environ | {"PYTHONPATH": os.pathsep.join([str(ROOT), str(TESTS), os.environ.get("PYTHONPATH", "")])}
    driver = subprocess.Popen([sys.executable, "-c", script], env=env, start_new_session=True)
    worker = None
    try:
        deadline = time.monotonic() + KILL_TIMEOUT_S
        while not (out / ".slow.partial").exists() and time.monotonic() < deadline and driver.poll() is None:
            time.sleep(0.05)
        (pid_file,) = pid_dir.iterdir()
        worker = int(pid_file.read_text())
        time.sleep(SLOW_FRAMES * FRAME_DELAY_S / 2)  # into the video
        driver.kill()
        driver.wait(timeout=KILL_TIMEOUT_S)
        deadline = time.monotonic() + KILL_TIMEOUT_S / 4
        while running(worker) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not running(worker), "the worker kept running after its driver was killed"
        assert [p.name for p in pid_dir.iterdir()] == [pid_file.name], "the orphaned worker took the next video"
        assert not (out / "slow").exists() and not (out / "other").exists()
        hidden = [p.name for p in out.iterdir() if p.name.startswith(".") and p.name != LOCK_NAME]
        assert not hidden, f"unfinished folders left behind: {hidden}"  # (a killed driver's lock file is reused)
    finally:
        if driver.poll() is None:
            driver.kill()
        if worker is not None and running(worker):
            os.kill(worker, signal.SIGKILL)


def test_a_rerun_after_the_driver_was_killed_says_it_took_over_its_lock(tmp_path, monkeypatch):
    """After `kill -9` of `track batch`, its `.track.lock` stays (holding its process ID; the kernel let the lock
    go): the re-run took it over without a word. It now says so in one note naming the gone process."""
    import tracker.batch as batch

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # a process ID that no longer runs, as a killed driver's
    out = tmp_path / "out"
    out.mkdir()
    (out / LOCK_NAME).write_text(f"{gone.pid}\n")
    monkeypatch.setattr(batch, "run_local", lambda todo, *_args: [failed_result(t, "not run", 1) for t in todo])
    video, notes = clip(tmp_path / "cam.avi", 0, 3), []
    track_many([video], TrackerConfig(), out, progress=False, make_tracker=fake_tracker, notify=notes.append)
    assert notes == [
        f"the batch folder {out} was locked by process {gone.pid}, which is gone (killed, or crashed): took its lock "
        "over"
    ], notes
    notes.clear()  # a batch that ended normally removed its lock file: the next one says nothing
    track_many([video], TrackerConfig(), out, progress=False, make_tracker=fake_tracker, notify=notes.append)
    assert notes == [] and not (out / LOCK_NAME).exists()


def running(pid: int) -> bool:
    """The process exists and is not a zombie (an orphan's parent may reap it late)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def test_a_read_only_batch_folder_is_one_error_before_any_task(tmp_path, capsys, monkeypatch):
    """`track batch --out ro/` on a read-only mount (root passes chmod): every video started a process, loaded its
    models and failed alone with `cannot create the output folder ro/.<name>.partial` (exit status 1, ~12 s for two
    clips); now one error line naming the batch folder and the option, exit status 2, before any task."""
    import errno

    import tracker.batch as batch
    import tracker.io.lock as lock

    def no_tasks(*_args, **_kwargs):
        raise AssertionError("a task was started in a folder that cannot be written")

    real_open = os.open

    def read_only(path, flags, *args):
        if str(path).endswith(LOCK_NAME):
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        return real_open(path, flags, *args)

    monkeypatch.setattr(batch, "run_local", no_tasks)
    monkeypatch.setattr(lock.os, "open", read_only)
    video = clip(tmp_path / "cam.avi", 0, 3)
    out = tmp_path / "ro"
    out.mkdir()
    assert main(["batch", str(video), "--out", str(out), "--quiet", "--set", "reid.model=none"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"track batch: error: the batch folder {out} cannot be used: {out} is not writable (Read-only file system): "
        "choose another --out"
    ]


def test_an_interrupted_batch_says_how_many_finished_videos_it_kept_and_what_a_rerun_does(
    tmp_path, monkeypatch, capsys
):
    """Ctrl-C before any video finished said "finished videos are kept in OUT", a folder not even made yet; and
    "re-run to resume", though an unfinished video's folder is dropped (there is nothing to resume): a re-run reuses
    the finished videos and tracks the others from their first frame, and the line says that."""
    import tracker.batch as batch

    source, other, out = clip(tmp_path / "cam.avi", 0, 3), clip(tmp_path / "cam2.avi", 40, 3), tmp_path / "out"

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(batch, "track_many", interrupted)
    assert main(["batch", str(source), str(other), "--out", str(out), "--quiet"]) == 130
    said = capsys.readouterr().err.strip().splitlines()[-1]
    assert said == "track batch: interrupted; no video had finished; a re-run tracks every video from its first frame"
    monkeypatch.undo()
    track_many([source], TrackerConfig(), out, workers=1, progress=False, make_tracker=fake_tracker)
    monkeypatch.setattr(batch, "track_many", interrupted)
    assert main(["batch", str(source), str(other), "--out", str(out), "--quiet"]) == 130
    said = capsys.readouterr().err.strip().splitlines()[-1]
    assert said == (
        f"track batch: interrupted; 1 finished video kept in {out}; a re-run reuses finished videos and tracks the "
        "others from their first frame"
    ), said
    monkeypatch.undo()
    rerun = track_many([source, other], TrackerConfig(), out, workers=1, progress=False, make_tracker=fake_tracker)
    assert [(v.name, v.status) for v in rerun.videos] == [("cam", "reused"), ("cam2", "done")], "as the line said"


def test_a_stopped_local_batch_prints_no_leaked_semaphore_warning(tmp_path):
    """SIGTERM (or Ctrl-C) to `track batch`: a worker waiting for its next video died of the driver's SIGTERM
    without Python's exit handlers, and the resource tracker then printed "UserWarning: resource_tracker: There
    appear to be 2 leaked semaphore objects to clean up at shutdown" under the interrupted line, every time."""
    slow, quick = clip(tmp_path / "slow.avi", 0, SLOW_FRAMES), clip(tmp_path / "quick.avi", 40, 3)
    pid_dir, out = tmp_path / "pids", tmp_path / "out"
    pid_dir.mkdir()
    script = DRIVER_KILLED.format(
        delay=FRAME_DELAY_S * 4, pid_dir=str(pid_dir), sources=[str(slow), str(quick)], out=str(out)
    ).replace("workers=1", "workers=2")
    env = os.environ | {"PYTHONPATH": os.pathsep.join([str(ROOT), str(TESTS), os.environ.get("PYTHONPATH", "")])}
    driver = subprocess.Popen(
        [sys.executable, "-c", script], env=env, stderr=subprocess.PIPE, start_new_session=True, text=True
    )
    try:
        deadline = time.monotonic() + KILL_TIMEOUT_S
        while time.monotonic() < deadline and driver.poll() is None:  # one worker waits for a next video, the
            if (out / "quick").exists() and (out / ".slow.partial").exists():  # other is into the slow one
                break
            time.sleep(0.05)
        assert (out / ".slow.partial").exists() and (out / "quick").exists(), "the slow video should be running"
        driver.send_signal(signal.SIGTERM)
        _, err = driver.communicate(timeout=KILL_TIMEOUT_S)
    finally:
        if driver.poll() is None:
            driver.kill()
    assert "leaked semaphore" not in err, err[-500:]
    assert not (out / "slow").exists() and (out / "quick").is_dir()


def test_a_rerun_with_the_sources_in_another_order_keeps_each_folder_with_its_source(tmp_path):
    """`track batch a/clip.mp4 b/clip.mp4`, then the same two the other way round (or after a new camera that sorts
    first): names by position gave `clip` to b and `clip_2` to a, so both were tracked again and each folder was
    replaced by the other camera's outputs. Each source keeps its folder and is reused; a new source with the same
    stem gets a new name, and a folder the batch did not make is never given to a source."""
    sources = []
    for k, cam in enumerate(("a", "b", "c")):
        (tmp_path / cam).mkdir()
        sources.append(clip(tmp_path / cam / "clip.avi", 40 * k, 5))
    out = tmp_path / "out"
    (out / "clip_3").mkdir(parents=True)  # the user's own folder
    first = track_many(sources[:2], TrackerConfig(), out, workers=1, progress=False, make_tracker=fake_tracker)
    assert [(v.name, v.status) for v in first.videos] == [("clip", "done"), ("clip_2", "done")]
    again = track_many(
        [sources[2], sources[1], sources[0]], TrackerConfig(), out, workers=1, progress=False,
        make_tracker=fake_tracker,
    )  # fmt: skip
    assert [(v.name, v.status) for v in again.videos] == [("clip_4", "done"), ("clip_2", "reused"), ("clip", "reused")]
    for video in again.videos:
        assert json.loads((out / video.name / NOTE_NAME).read_text())["source"] == video.source
    assert not any((out / "clip_3").iterdir())


def test_tracks_too_short_for_the_gallery_get_the_next_global_ids_not_ones_far_beyond(tmp_path):
    """The reduce drew a new global ID for every track of a video, linked or not, and gave the short ones the
    last of them: a batch of p1 + p2 (people.mp4, 20 identities) numbered its short tracks 21, 24, 29, 41, 42,
    and the gallery's next ID leapt by the batch's track count."""
    from tracker.batch_link import LinkedVideo, link_batch, save_video_identities

    cfg = TrackerConfig()
    rng = np.random.default_rng(0)
    looks = rng.normal(size=(3, 4, 16)).astype(np.float32)  # three people, far apart, 4 looks each
    task = Gallery(cfg.gallery)  # what a task's gallery holds at the end of its video: global IDs 1-3 stored
    for gid in (1, 2, 3):
        task.add(gid, looks[gid - 1], 0, Sighting(1, 0.0, "clip"))
    out = tmp_path / "clip"
    out.mkdir()
    frame = [{"id": t, "global_id": t, "xyxy": [10.0 * t, 0.0, 10.0 * t + 5, 10.0]} for t in (1, 2, 3, 4)]
    (out / "clip.jsonl").write_text(json.dumps({"frame": 1, "tracks": frame}) + "\n")  # track 4: never stored
    (out / "clip.txt").write_text("".join(f"1,{t},{10 * t},0,5,10,0.9,-1,-1,-1\n" for t in (1, 2, 3, 4)))
    save_video_identities(task, out, "clip")

    [ids] = link_batch([LinkedVideo(out, "clip")], tmp_path / "site.gallery", cfg)
    assert ids == {1: 1, 2: 2, 3: 3, 4: 4}
    assert Gallery.load(tmp_path / "site.gallery", cfg.gallery).new_id() == 5


def test_the_global_result_is_the_tasks_mot_result_with_global_ids(tmp_path):
    """`<name>.global.txt` repeats the task's MOT rows as written (boxes to 2 decimals, scores to 4), the global ID
    in place of the track's: a scorer reads both alike."""
    from tracker.batch_link import LinkedVideo, link_batch, save_video_identities

    cfg = TrackerConfig()
    looks = np.random.default_rng(0).normal(size=(2, 4, 16)).astype(np.float32)
    task = Gallery(cfg.gallery)
    for gid in (1, 2):
        task.add(gid, looks[gid - 1], 0, Sighting(1, 0.0, "clip"))
    out = tmp_path / "clip"
    out.mkdir()
    boxes = {1: [100.07, 0.1, 50.99, 120.35], 2: [-3.5, 7.25, 0.01, 2099.99]}
    frame = [{"id": t, "global_id": t, "xyxy": [x, y, x + w, y + h]} for t, (x, y, w, h) in boxes.items()]
    (out / "clip.jsonl").write_text(json.dumps({"frame": 3, "tracks": frame}) + "\n")
    task_rows = [f"3,{t},{x:.2f},{y:.2f},{w:.2f},{h:.2f},0.8765,-1,-1,-1" for t, (x, y, w, h) in boxes.items()]
    (out / "clip.txt").write_text("".join(f"{row}\n" for row in task_rows))
    save_video_identities(task, out, "clip")
    start = Gallery(cfg.gallery)  # a gallery with another person: the clip's people get global IDs 2 and 3
    start.add(1, np.random.default_rng(1).normal(size=(4, 16)).astype(np.float32), 0, Sighting(1, 0.0, "old"))
    start.save(tmp_path / "site.gallery")

    [ids] = link_batch([LinkedVideo(out, "clip")], tmp_path / "site.gallery", cfg)
    assert ids == {1: 2, 2: 3}
    expected = [row.replace(f"3,{t},", f"3,{ids[t]},", 1) for row, t in zip(task_rows, boxes, strict=True)]
    assert (out / "clip.global.txt").read_text().splitlines() == expected


def one_person_clip_identities(tmp_path: Path, cfg: TrackerConfig) -> Path:
    """The folder `clip` of a finished task's outputs for the reduce: one track, global ID 1, stored with 4 looks."""
    from tracker.batch_link import save_video_identities

    task = Gallery(cfg.gallery)
    task.add(1, np.random.default_rng(0).normal(size=(4, 16)).astype(np.float32), 0, Sighting(1, time.time(), "clip"))
    out = tmp_path / "clip"
    out.mkdir()
    (out / "clip.jsonl").write_text(
        json.dumps({"frame": 1, "tracks": [{"id": 1, "global_id": 1, "xyxy": [0, 0, 5, 9]}]}) + "\n"
    )
    (out / "clip.txt").write_text("1,1,0,0,5,9,0.9,-1,-1,-1\n")
    save_video_identities(task, out, "clip")
    return out


def test_a_link_record_that_cannot_be_written_is_named_and_the_gallery_is_not_saved(tmp_path):
    """The reduce records which videos the gallery file will hold just before its save's rename: a record that
    cannot be written stops the save (the gallery is as it was, no `.global.*` written), and the error names the
    record's file, not only the gallery, which may well be writable."""
    from tracker.batch_link import LINK_RECORD_NAME, LinkedVideo, link_batch

    cfg = TrackerConfig()
    out = one_person_clip_identities(tmp_path, cfg)
    path, blocked = tmp_path / "site.gallery", tmp_path / "batch"
    blocked.write_text("a file where the batch folder's record would go")
    with pytest.raises(
        OSError, match=rf"^the gallery {re.escape(str(path))} could not be saved \(.*{LINK_RECORD_NAME}"
    ):
        link_batch([LinkedVideo(out, "clip")], path, cfg, blocked)
    assert not path.exists() and not (out / "clip.global.json").exists()


def test_a_link_record_not_written_after_the_save_says_the_gallery_is_saved_and_a_re_run_finishes(
    tmp_path, monkeypatch
):
    """The record after the save's rename cannot be written (a full disk): the error says the gallery is saved and
    that a re-run writes the global IDs, and the record written before the rename names the saved file's videos."""
    import tracker.batch_link as batch_link

    cfg = TrackerConfig()
    out, batch_dir, path = one_person_clip_identities(tmp_path, cfg), tmp_path / "batch", tmp_path / "site.gallery"
    batch_dir.mkdir()
    write = batch_link.write_json_atomic

    def disk_full_after_the_rename(target, record, **kwargs):
        if target.name == batch_link.LINK_RECORD_NAME and "pending" not in record:
            raise OSError(errno.ENOSPC, "No space left on device", str(target))
        return write(target, record, **kwargs)

    monkeypatch.setattr(batch_link, "write_json_atomic", disk_full_after_the_rename)
    with pytest.raises(OSError, match=rf"^the gallery {re.escape(str(path))} was saved, but the batch's record of it"):
        batch_link.link_batch([batch_link.LinkedVideo(out, "clip")], path, cfg, batch_dir)
    assert len(Gallery.load(path)) == 1 and set(batch_link.linked_before(batch_dir, path)) == {"clip"}


def test_a_gallery_replaced_before_the_reduce_saves_says_to_re_run_the_batch_not_overwrite_true(tmp_path, monkeypatch):
    """Another program replaces the gallery file while the batch links into it (a copy or a restore): the reduce
    leaves that file as it is and its one line said "... save with overwrite=True" (advice for Python callers); it
    now says the videos' identity files are kept and that re-running the batch links them into it."""
    import tracker.batch_link as batch_link
    from tracker.batch_link import LinkedVideo, link_batch
    from tracker.gallery import GalleryConflictError

    cfg = TrackerConfig()
    out = one_person_clip_identities(tmp_path, cfg)
    path = tmp_path / "site.gallery"
    Gallery(cfg.gallery).save(path)
    Gallery(cfg.gallery).save(tmp_path / "restored.gallery")
    restored = (tmp_path / "restored.gallery").read_bytes()
    opened = batch_link._open_start_gallery

    def replaced_after_the_load(gallery_path, config):
        loaded = opened(gallery_path, config)
        os.replace(tmp_path / "restored.gallery", gallery_path)  # (a rename, as `cp` and restores do)
        return loaded

    monkeypatch.setattr(batch_link, "_open_start_gallery", replaced_after_the_load)
    with pytest.raises(GalleryConflictError) as info:
        link_batch([LinkedVideo(out, "clip")], path, cfg)
    said = str(info.value)
    assert "overwrite=True" not in said and "\n" not in said, said
    assert str(path) in said and "re-run the batch" in said and "identity files are kept" in said, said
    # the words `track --gallery` says of the same replaced file (`tracker.gallery_file.written_by_another`)
    assert "during the batch (not through `track`, whose runs and edits wait for its lock: a copy or a" in said, said
    assert path.read_bytes() == restored and (out / f"clip{batch_link.IDENTITIES_SUFFIX}").exists()


def test_the_reduce_keeps_each_identitys_first_sighting_and_the_detectors_class_names(tmp_path):
    """`track batch --gallery` stored each identity with its first sighting the same as its last (`Gallery.link` was
    given the last alone), so `track gallery ls` listed 'first seen' as the end of the video; and the detector's
    class names the task's gallery knew were not saved (ls listed numbers)."""
    from tracker.batch_link import LinkedVideo, link_batch, save_video_identities

    cfg = TrackerConfig()
    looks = np.random.default_rng(0).normal(size=(2, 4, 16)).astype(np.float32)
    task = Gallery(cfg.gallery)
    task.name_classes({0: "person", 2: "car"})
    for gid, cls in ((1, 0), (2, 2)):
        now = time.time()  # (a sighting of 1970 is forgotten by the reduce's save: retention)
        task.add(gid, looks[gid - 1], cls, Sighting(90, now, "clip"), first_seen=Sighting(3, now - 60, "clip"))
    out = tmp_path / "clip"
    out.mkdir()
    frame = [{"id": t, "global_id": t, "xyxy": [10.0 * t, 0.0, 10.0 * t + 5, 10.0]} for t in (1, 2)]
    (out / "clip.jsonl").write_text(json.dumps({"frame": 1, "tracks": frame}) + "\n")
    (out / "clip.txt").write_text("".join(f"1,{t},{10 * t},0,5,10,0.9,-1,-1,-1\n" for t in (1, 2)))
    save_video_identities(task, out, "clip")

    link_batch([LinkedVideo(out, "clip")], tmp_path / "site.gallery", cfg)
    saved = Gallery.load(tmp_path / "site.gallery", cfg.gallery, prune=False)
    assert [(i.first_seen.frame, i.last_seen.frame) for i in saved.identities] == [(3, 90), (3, 90)]
    assert saved.class_names == {0: "person", 2: "car"}


def test_a_batch_whose_every_video_fails_leaves_the_gallery_as_it_was(tmp_path, capsys, monkeypatch):
    """`track batch bad.mp4 --gallery g` where no video could be tracked still linked nothing into g and saved it:
    a gallery file made empty from nothing (or an existing one rewritten, pruned), and "gallery saved" said. Now no
    file is written (none created, an existing one byte-identical), exit status 1, and the summary (or, with
    --quiet, an error line) says no video was tracked, so the gallery was not saved."""
    import tracker.batch as batch

    corrupt, gallery = tmp_path / "corrupt.mp4", tmp_path / "g.gallery"
    corrupt.write_bytes(os.urandom(4096))
    argv = ["batch", str(corrupt), "--out", str(tmp_path / "out"), "--gallery", str(gallery), "--workers", "1",
            *local_detector(tmp_path)]  # fmt: skip
    assert main(argv) == 1
    said = capsys.readouterr().out
    assert "failed   corrupt: SourceError:" in said and not gallery.exists(), said
    assert f"no video was tracked, so the gallery {gallery} was not saved" in said
    assert "gallery saved" not in said

    Gallery(TrackerConfig().gallery).save(gallery)  # an existing gallery, and the failed videos failed fast
    before = gallery.read_bytes()
    monkeypatch.setattr(batch, "run_local", lambda todo, *_args: [failed_result(t, "unreadable", 1) for t in todo])
    assert main([*argv, "--quiet"]) == 1
    lines = capsys.readouterr().err.splitlines()
    err = [line for line in lines if "error" in line]  # (and the ReID fallback note)
    assert err == [
        "track batch: error: corrupt: unreadable",
        f"track batch: error: no video was tracked, so the gallery {gallery} was not saved",
    ]
    assert [line for line in lines if "was not saved" in line] == err[1:], "said once, not also as a warning"
    assert gallery.read_bytes() == before


def test_a_batch_with_some_failed_videos_links_the_others_into_the_gallery(tmp_path):
    """The videos that failed are left out of the reduce; the ones tracked are linked and saved."""
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(os.urandom(4096))
    good = write_video(tmp_path / "good.avi", scene()[:15])
    gallery = tmp_path / "g.gallery"
    summary = track_many([corrupt, good], EVERY_FRAME, tmp_path / "out", workers=1, gallery=gallery, save_video=False,
                         progress=False, make_tracker=gallery_tracker)  # fmt: skip
    assert [v.status for v in summary.videos] == ["failed", "done"], summary.describe()
    assert summary.gallery_saved and list(summary.global_ids) == ["good"]
    people = set(summary.global_ids["good"].values())
    assert len(people) == 2 and {i.global_id for i in Gallery.load(gallery).identities} == people
    assert f"gallery saved to {gallery} (2 identities)" in summary.describe()


def test_a_gallery_batch_lists_each_videos_global_id_files_in_its_outputs(tmp_path):
    """`track_many(..., gallery=...)`'s `VideoResult.outputs` listed `good.txt`, `good.jsonl`, ... but not
    `good.global.txt` and `good.global.json`, the only files with the batch's global IDs (`good.txt` keeps the
    task's): code that published a video's `outputs` published the task's IDs. The reduce's files are listed, for
    a video tracked and for one reused by a re-run, and they exist."""
    good = write_video(tmp_path / "good.avi", scene()[:15])
    gallery = tmp_path / "g.gallery"
    for status in ("done", "reused"):
        summary = track_many([good], EVERY_FRAME, tmp_path / "out", workers=1, gallery=gallery, save_video=False,
                             progress=False, make_tracker=gallery_tracker)  # fmt: skip
        [video] = summary.videos
        assert video.status == status, summary.describe()
        names = [path.name for path in video.outputs]
        assert {"good.txt", "good.global.txt", "good.global.json"} <= set(names), names
        assert len(names) == len(set(names)) and all(path.is_file() for path in video.outputs), names


def test_a_gallery_that_cannot_be_saved_stops_the_batch_before_any_video(tmp_path, capsys, monkeypatch):
    """`track batch --gallery notes.txt/site.gallery` (its folder a regular file: refused even to root) tracked
    every video and then failed in the reduce with a bare "[Errno 20] Not a directory", after writing each video's
    global IDs; now one error line naming the gallery and its folder, exit status 2, before any task."""
    import tracker.batch as batch

    def no_tasks(*_args, **_kwargs):
        raise AssertionError("a task was started with a gallery that cannot be saved")

    monkeypatch.setattr(batch, "run_local", no_tasks)
    (tmp_path / "notes.txt").write_text("a file, not a folder")
    gallery, video, out = tmp_path / "notes.txt" / "site.gallery", clip(tmp_path / "cam.avi", 0, 3), tmp_path / "out"
    assert main(["batch", str(video), "--out", str(out), "--gallery", str(gallery), "--quiet"]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if "error" in line]  # (and the ReID fallback note)
    assert err == [
        f"track batch: error: the gallery {gallery} cannot be saved: {tmp_path / 'notes.txt'} is a file, not a "
        "folder: choose another --gallery"
    ]
    assert not out.exists()


def test_a_gallery_save_that_fails_in_the_reduce_leaves_the_file_whole_and_a_rerun_links(tmp_path, monkeypatch):
    """A save that fails at the end (a full disk): the gallery file is byte-identical, no temp file is left beside
    it, no video's global IDs were written (they would name identities the gallery lacks), and the error names the
    gallery and says a re-run links the kept videos, which it does without tracking them again."""
    import errno

    import tracker.gallery_file as gallery_file

    video, gallery, out = write_video(tmp_path / "cam.avi", scene()[:15]), tmp_path / "g.gallery", tmp_path / "out"
    Gallery(EVERY_FRAME.gallery).save(gallery)
    before = gallery.read_bytes()
    real_replace = os.replace

    def disk_full(src, dst, *args, **kwargs):
        if Path(dst) == gallery:
            raise OSError(errno.ENOSPC, "No space left on device", str(src))
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(gallery_file.os, "replace", disk_full)  # (the driver's: the local worker is spawned)
    run_batch = functools.partial(track_many, [video], EVERY_FRAME, out, workers=1, gallery=gallery, save_video=False,
                                  progress=False, make_tracker=gallery_tracker)  # fmt: skip
    with pytest.raises(OSError, match=f"the gallery {gallery} could not be saved \\(No space left on device\\)") as e:
        run_batch()
    assert "it is as it was" in str(e.value) and "re-run the batch to link them" in str(e.value)
    assert gallery.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".g.gallery")) == [], "a temp file left"
    assert (out / "cam" / "cam.txt").is_file() and not (out / "cam" / "cam.global.json").exists()
    monkeypatch.undo()
    again = run_batch()
    assert [v.status for v in again.videos] == ["reused"] and again.gallery_saved
    assert len(Gallery.load(gallery).identities) == 2 and (out / "cam" / "cam.global.json").is_file()


def test_a_gpu_share_a_local_ray_cannot_give_is_refused_before_any_task(ray_cluster, clips, tmp_path):
    """`--engine ray --gpus-per-video 0.25` on a machine without a GPU: the local Ray never scheduled the tasks and
    the batch printed "0/1 videos done" until interrupted (2 minutes here, then Ctrl-C). Now: one ValueError naming
    --gpus-per-video and the GPUs the Ray has, before any task; nothing written in OUT (here from Python: naming the
    parameter, gpus_per_video)."""
    if ray_cluster.cluster_resources().get("GPU", 0):
        pytest.skip("this Ray has a GPU")
    out = tmp_path / "out"
    with pytest.raises(ValueError, match=r"gpus_per_video=0.25 .* has 0 GPUs: its tasks would wait forever"):
        track_many([clips[0]], TrackerConfig(), out, engine="ray", gpus_per_video=0.25, progress=False,
                   make_tracker=fake_tracker)  # fmt: skip
    assert not out.exists() or not any(out.iterdir())


def test_address_local_is_a_ray_on_this_machine_not_a_cluster(ray_cluster, clips, tmp_path, monkeypatch):
    """`--address local` (Ray's word for: start a Ray here) was taken for a cluster that may grow: with
    `--gpus-per-video 0.5` on a machine without a GPU the share was only logged (unseen without --verbose) and the
    batch waited "0/1 videos done" until killed; the weights were not looked for either. It is now this machine's
    Ray, whose GPU share is checked as a local Ray's (here the check is recorded and stops the batch)."""
    import tracker.ray_engine as ray_engine

    seen = []

    def record(_ray, _share, cluster, _names):
        seen.append(cluster)
        raise ValueError("stopped at the GPU check")

    monkeypatch.setattr(ray_engine, "check_gpus", record)
    for address, env in (("local", None), (None, "local"), ("auto", None)):
        if env is None:
            monkeypatch.delenv("RAY_ADDRESS", raising=False)
        else:
            monkeypatch.setenv("RAY_ADDRESS", env)
        with pytest.raises(ValueError, match="stopped at the GPU check"):
            track_many([clips[0]], TrackerConfig(), tmp_path / "out", engine="ray", address=address,
                       gpus_per_video=0.5, progress=False, make_tracker=fake_tracker)  # fmt: skip
    assert seen == [False, False, True]


def test_a_gpu_share_above_one_that_is_not_whole_is_refused_before_ray_starts(tmp_path, capsys, monkeypatch):
    """`--engine ray --gpus-per-video 1.5` (on a cluster, or a Ray with 2 GPUs) started Ray, then printed `track
    batch: error: ('GPU resource quantities >1 must', ' be whole numbers. The specified quantity 1.5 is invalid.')`,
    Ray's tuple naming no option; now one line naming the option, before Ray starts. Whole shares (2) are Ray's."""
    ray = pytest.importorskip("ray", reason="Ray is not installed (pip install -e '.[ray]')")
    monkeypatch.setattr(ray, "init", lambda *_a, **_k: pytest.fail("ray.init was reached"))
    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    out, video = tmp_path / "out", str(clip(tmp_path / "a.avi", 0, 3))
    argv = [
        "batch",
        video,
        "--out",
        str(out),
        "--engine",
        "ray",
        "--gpus-per-video",
        "1.5",
        "--set",
        "reid.model=none",
    ]
    assert main(argv) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "track batch: error: --gpus-per-video 1.5: a share above 1 must be whole GPUs (Ray gives a task part of one "
        "GPU, or whole GPUs): 0.25, 0.5, 1, 2, ..."
    ]
    with pytest.raises(ValueError, match=r"^gpus_per_video=1.5: a share above 1 must be whole GPUs"):
        track_many([video], None, out, engine="ray", gpus_per_video=1.5)
    assert not out.exists()


def test_a_gpu_share_with_no_local_gpu_is_refused_before_ray_starts(tmp_path, capsys, monkeypatch):
    """`--engine ray --gpus-per-video 0.25` on a machine without a GPU started Ray (~5 s, its start-up lines and an
    empty progress bar) before its one error line; the local Ray's GPUs are now counted as Ray counts them
    (CUDA_VISIBLE_DEVICES="" hides every GPU) and the share refused before Ray starts. A cluster (--address) is
    still asked: its nodes' GPUs are not this machine's."""
    ray = pytest.importorskip("ray", reason="Ray is not installed (pip install -e '.[ray]')")

    class Started(Exception):
        pass

    def init(*_a, **_k):
        raise Started

    monkeypatch.setattr(ray, "init", init)
    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    out, video, model = tmp_path / "out", str(clip(tmp_path / "a.avi", 0, 3)), tmp_path / "det.pt"
    model.write_bytes(b"")  # (a file here: nothing downloaded; never loaded)
    argv = ["batch", video, "--out", str(out), "--engine", "ray", "--gpus-per-video", "0.25",
            "--set", "reid.model=none", "--set", f"detector.model={model}"]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("track batch: error: --gpus-per-video 0.25 asks each video"), err
    assert "has 0 GPUs: its tasks would wait forever" in err[0], err
    assert not out.exists()
    with pytest.raises(Started):  # a cluster: Ray is asked
        cfg = TrackerConfig()
        cfg = dataclasses.replace(cfg, detector=dataclasses.replace(cfg.detector, model=str(model)))
        track_many([video], cfg, out, engine="ray", address="auto", gpus_per_video=0.25, make_tracker=fake_tracker)


def test_a_ray_cluster_short_of_gpus_is_only_warned_about(caplog):
    """A cluster (--address) may add GPU nodes later (an autoscaler): the share is not refused there."""
    from tracker.ray_engine import check_gpus

    class Ray:
        def __init__(self, gpus):
            self.gpus = gpus

        def cluster_resources(self):
            return {"CPU": 8.0} | ({"GPU": self.gpus} if self.gpus else {})

    check_gpus(Ray(1.0), 0.25, False, OPTIONS)  # enough
    check_gpus(Ray(0.0), 0.0, False, OPTIONS)  # no share asked
    with pytest.raises(ValueError, match=r"--gpus-per-video 2 .* has 1 GPUs"):
        check_gpus(Ray(1.0), 2.0, False, OPTIONS)
    check_gpus(Ray(0.0), 0.5, True, OPTIONS)
    assert "wait until a node with a GPU joins" in caplog.text


def test_a_video_cut_short_is_reported_so_in_the_batch_summary(tmp_path):
    """A clip still being copied in (or damaged) ends before the frames its header announces: `track` says so, but
    the batch said "done  cut: 13 frames" alone, also when it reused it. Now both lines say where it stopped."""
    data = write_video(tmp_path / "whole.avi", scene(FRAMES), "MJPG").read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: len(data) // 2])
    out = tmp_path / "out"
    for status in ("done", "reused"):
        summary = track_many([cut], TrackerConfig(), out, workers=1, progress=False, make_tracker=fake_tracker)
        (video,) = summary.videos
        assert video.status == status and video.ended_early == (video.frames, FRAMES) and 0 < video.frames < FRAMES
        assert f"stop being readable after frame {video.frames} of the {FRAMES}" in summary.describe()


def test_images_are_named_as_track_names_them(tmp_path):
    """`track batch 'cam1/*.png' 'cam2/*.png' day.cam3/ day.cam4/` named the folders by path stems: the globs' `*`
    gave `_` and `__2` (the summary: "done  _ (cam1/*.png)"), the folders `day` and `day_2`, where `track` names
    them cam1, cam2, day.cam3, day.cam4. Now the batch's folders carry those names."""
    import cv2

    sources, names = [], ["cam1", "cam2", "day.cam3", "day.cam4"]
    for cam in names:
        (tmp_path / cam).mkdir()
        for k, frame in enumerate(scene(6)):
            cv2.imwrite(str(tmp_path / cam / f"{k:04d}.png"), frame)
        sources.append(str(tmp_path / cam / "*.png") if cam.startswith("cam") else str(tmp_path / cam))
    out = tmp_path / "out"
    summary = track_many(sources, TrackerConfig(), out, workers=1, progress=False, make_tracker=fake_tracker)
    assert [(v.status, v.name) for v in summary.videos] == [("done", name) for name in names]
    assert all((out / name / f"{name}.txt").is_file() for name in names)
    assert "done     cam1:" in summary.describe()


def test_track_manys_errors_name_its_parameters_and_track_batchs_its_options(tmp_path, capsys):
    """`track_many(..., gallery=...)` from Python raised "--gallery needs appearance embeddings", "choose another
    --gallery", "--gpus-per-video and --address need --engine ray": flags a Python caller never typed. The same
    checks name the parameters there and the options from `track batch` (one wording, `tracker.batch_names`); and
    only those given (`--address auto` alone was told "--gpus-per-video and --address need --engine ray")."""
    video, out = clip(tmp_path / "cam.avi", 0, 3), tmp_path / "out"
    (tmp_path / "notes.txt").write_text("a file, not a folder")
    unsaveable = tmp_path / "notes.txt" / "site.gallery"
    no_appearance = TrackerConfig().replace(["appearance.enabled=false"])
    cases = [  # (track_many's keywords, track batch's options, the error from Python, the error from track batch)
        ({"config": no_appearance, "gallery": tmp_path / "g.gallery"},
         ["--set", "appearance.enabled=false", "--gallery", str(tmp_path / "g.gallery")],
         "gallery needs appearance embeddings: set appearance.enabled=true",
         "--gallery needs appearance embeddings: set appearance.enabled=true"),
        ({"gallery": unsaveable}, ["--gallery", str(unsaveable)],
         f"{tmp_path / 'notes.txt'} is a file, not a folder: choose another gallery",
         f"{tmp_path / 'notes.txt'} is a file, not a folder: choose another --gallery"),
        ({"gpus_per_video": 0.5}, ["--gpus-per-video", "0.5"],
         "gpus_per_video needs engine='ray' (local processes share the device)",
         "--gpus-per-video needs --engine ray (local processes share the device)"),
        ({"address": "auto"}, ["--address", "auto"],
         "address needs engine='ray' (local processes share the device)",
         "--address needs --engine ray (local processes share the device)"),
        ({"address": "auto", "gpus_per_video": 1}, ["--address", "auto", "--gpus-per-video", "1"],
         "gpus_per_video and address need engine='ray' (local processes share the device)",
         "--gpus-per-video and --address need --engine ray (local processes share the device)"),
    ]  # fmt: skip
    for keywords, options, from_python, from_cli in cases:
        kwargs = {"config": TrackerConfig()} | keywords
        with pytest.raises((ValueError, OSError)) as error:
            track_many([video], kwargs.pop("config"), out, workers=1, progress=False, make_tracker=fake_tracker,
                       **kwargs)  # fmt: skip
        assert str(error.value).endswith(from_python) and "--" not in str(error.value), error.value
        capsys.readouterr()
        assert main(["batch", str(video), "--out", str(out), "--quiet", *options]) == 2
        err = [line for line in capsys.readouterr().err.splitlines() if ": error: " in line]
        assert len(err) == 1 and err[0].endswith(from_cli), err
    assert not out.exists()


def invalid_box_tracker(cfg, frame_rate, gallery=None):
    """`fake_tracker` whose detector adds a box of NaNs to each frame: the library logs a warning about it."""

    def detect(frame):
        boxes, scores, classes = blob_detector(frame)
        return np.vstack([boxes, [[np.nan] * 4]]), np.append(scores, 0.9), np.append(classes, 0)

    return Tracker(cfg, frame_rate, detector=detect, embedder=None)


def test_the_librarys_warnings_in_a_batch_name_their_video(tmp_path, caplog):
    """The warnings a task's tracker logs ("dropped 1 invalid detection(s) ...") said nothing of the video they were
    about, two videos' warnings alike. Now each starts with its video's name, also when one worker tracks both in
    turn (--workers 1: the first video's name is not left on the second's). The worker's records reach the caller's
    own loggers (`tracker.worker_log`), where its logging set-up (here pytest's) receives them."""
    sources = [clip(tmp_path / "cam1.avi", 0, 3), clip(tmp_path / "cam2.avi", 40, 3)]
    caplog.set_level(logging.WARNING)
    summary = track_many(sources, TrackerConfig(), tmp_path / "out", workers=1, progress=False,
                         make_tracker=invalid_box_tracker)  # fmt: skip
    assert [v.status for v in summary.videos] == ["done", "done"]
    warned = [r.getMessage() for r in caplog.records if "invalid detection(s)" in r.getMessage()]
    assert {line.partition(": dropped ")[0] for line in warned} == {"cam1", "cam2"}, warned


def test_no_ray_cluster_at_address_auto_names_the_option_given(monkeypatch):
    """`track batch --engine ray --address auto` with no cluster running: Ray's "Could not find any running Ray
    instance. Please specify the one to connect to by setting `--address` flag or `RAY_ADDRESS` environment variable"
    told the user to set the `--address` they had just given; the error now names it and how to start a local Ray
    (`track_many`'s parameter for a Python caller)."""
    import tracker.ray_engine as ray_engine
    from tracker.batch_names import OPTIONS, PARAMETERS

    monkeypatch.setattr(ray_engine, "import_ray", lambda: RayWithNoCluster)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    for names, given, leave in ((OPTIONS, "--address auto", "--address"), (PARAMETERS, "address='auto'", "address")):
        with pytest.raises(ConnectionError) as caught, ray_engine.ray_session("auto", names=names):
            pass
        assert str(caught.value) == (
            f"no Ray cluster at {given} (Could not find any running Ray instance); start one, or leave {leave} out "
            "to start a local Ray"
        )


def test_no_ray_cluster_at_address_auto_with_ray_address_set_names_the_variable(monkeypatch):
    """`RAY_ADDRESS=auto track batch --engine ray --address auto` with no cluster running: the error said "no Ray
    cluster at --address auto ...; leave --address out", but Ray's "auto" reads $RAY_ADDRESS first, and without
    --address Ray reads it too: the error now names the variable and its value, and that both must go."""
    import tracker.ray_engine as ray_engine
    from tracker.batch_names import OPTIONS

    monkeypatch.setattr(ray_engine, "import_ray", lambda: RayWithNoCluster)
    monkeypatch.setenv("RAY_ADDRESS", "auto")
    with pytest.raises(ConnectionError) as caught, ray_engine.ray_session("auto", names=OPTIONS):
        pass
    assert str(caught.value) == (
        "no Ray cluster at RAY_ADDRESS=auto (Could not find any running Ray instance); start one, or unset "
        "RAY_ADDRESS and leave --address out to start a local Ray"
    )


def test_a_batch_that_stops_before_any_task_leaves_no_empty_bar_above_its_error(tmp_path, capsys, monkeypatch):
    """`track batch --engine ray --address auto` with no cluster running: "0/1 videos done: 0 frames [00:00,
    ?frame/s]" stayed on the screen above the error line; a bar that never showed a video is now wiped."""
    import tracker.ray_engine as ray_engine

    monkeypatch.setattr(ray_engine, "import_ray", lambda: RayWithNoCluster)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    video = clip(tmp_path / "cam.avi", 0, 3)
    argv = ["batch", str(video), "--out", str(tmp_path / "out"), "--engine", "ray", "--address", "auto"]
    # (a local detector: the driver of a cluster batch downloads an official name's weights before joining it)
    assert main([*argv, "--set", "reid.model=none", *local_detector(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "videos done" in err, "the bar was drawn (the test can fail)"
    shown = [line.rsplit("\r", 1)[-1].strip() for line in err.split("\n")]  # what a terminal keeps of each line
    assert [line for line in shown if line] == [
        "track batch: error: no Ray cluster at --address auto (Could not find any running Ray instance); start one, "
        "or leave --address out to start a local Ray"
    ]


def test_a_source_named_another_way_keeps_its_folder_and_is_reused(tmp_path, monkeypatch):
    """`track batch clip.avi --out OUT`, then the same file as /abs/clip.avi or sub/../clip.avi: the earlier folder
    was matched by the source's spelling, so each spelling was tracked again into a new folder (clip_2, clip_3)."""
    monkeypatch.chdir(tmp_path)
    clip(tmp_path / "clip.avi", 0, 5)
    (tmp_path / "sub").mkdir()
    out = tmp_path / "out"
    for source in ("clip.avi", str(tmp_path / "clip.avi"), "sub/../clip.avi"):
        summary = track_many([source], TrackerConfig(), out, workers=1, progress=False, make_tracker=fake_tracker)
        assert [v.name for v in summary.videos] == ["clip"], source
    assert summary.videos[0].status == "reused"
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == ["clip"]


def test_a_glob_named_another_way_keeps_its_folder_and_is_reused(tmp_path, monkeypatch):
    """`track batch 'imgs/*.png'`, then `track batch "$PWD/imgs/*.png"`: tracked again into imgs_2."""
    import cv2

    monkeypatch.chdir(tmp_path)
    (tmp_path / "imgs").mkdir()
    for k, frame in enumerate(scene(3)):
        cv2.imwrite(str(tmp_path / "imgs" / f"{k:04d}.png"), frame)
    out = tmp_path / "out"
    for source in ("imgs/*.png", str(tmp_path / "imgs" / "*.png")):
        summary = track_many([source], TrackerConfig(), out, workers=1, progress=False, make_tracker=fake_tracker)
    assert [(v.name, v.status) for v in summary.videos] == [("imgs", "reused")]


def test_a_file_url_is_batched_as_the_file_it_names(tmp_path):
    """`track batch file:///.../my%20clip.avi`, then the same file by its path: one folder named after the file
    (`my_clip`, not `my_20clip`), reused (the URL's key was the path of a folder `file:` under the working one)."""
    video = write_video(tmp_path / "my clip.avi", scene(3))
    out = tmp_path / "out"
    for source in (video.as_uri(), str(video)):
        summary = track_many([source], TrackerConfig(), out, workers=1, progress=False, make_tracker=fake_tracker)
    assert [(v.name, v.status) for v in summary.videos] == [("my_clip", "reused")]


def test_a_long_failure_reason_keeps_what_to_do_at_its_end():
    """Offline, every video of `track batch` failed with ultralytics' download error cut at 300 characters:
    "... set detector.model to a local model (`--set detector.model=PATH` on the command line," and no more. The
    reason keeps its end (what to do) and its start (what failed); only a very long middle is cut."""
    from tracker.batch_work import one_line
    from tracker.detector import _download_error

    url = "https://github.com/ultralytics/assets/releases/download/v8.4.0/yolo11n.pt"
    offline = ConnectionError(f"❌ Download failure for {url}. Environment may be offline.")
    reason = one_line(_download_error("yolo11n.pt", offline))
    assert reason.startswith("❌ Download failure") and reason.endswith("$TRACKER_WEIGHTS_DIR)")
    huge = one_line(RuntimeError("boom: " + "x" * 5000 + " (do this)"))
    assert huge.startswith("boom: ") and huge.endswith(" (do this)") and len(huge) < 1000


def test_a_rerun_tracks_again_the_images_a_glob_or_sequence_reads_when_they_change(tmp_path):
    """`track batch 'cam/*.png' seq/ --out OUT`, more frames copied in (into cam/, into seq/img1/), the same command
    again: a glob's fingerprint held no file at all and a sequence folder's only its own date (img1/'s files do not
    change it), so both were "reused" with the outputs of the first frames. The fingerprint now holds the image files
    a source reads."""
    import cv2

    frames = scene(8)
    (tmp_path / "cam").mkdir()
    (tmp_path / "seq" / "img1").mkdir(parents=True)
    for folder, count in ((tmp_path / "cam", 4), (tmp_path / "seq" / "img1", 4)):
        for k in range(count):
            cv2.imwrite(str(folder / f"{k:06d}.png"), frames[k])
    sources = [str(tmp_path / "cam" / "*.png"), str(tmp_path / "seq")]
    out = tmp_path / "out"
    first = track_many(sources, TrackerConfig(), out, workers=1, progress=False, make_tracker=fake_tracker)
    assert [(v.status, v.frames) for v in first.videos] == [("done", 4), ("done", 4)]
    for folder in (tmp_path / "cam", tmp_path / "seq" / "img1"):
        for k in range(4, 8):
            cv2.imwrite(str(folder / f"{k:06d}.png"), frames[k])
    again = track_many(sources, TrackerConfig(), out, workers=1, progress=False, make_tracker=fake_tracker)
    assert [(v.status, v.frames) for v in again.videos] == [("done", 8), ("done", 8)]


class _Recorder:
    """A task's channel that keeps what it is sent."""

    def __init__(self) -> None:
        self.messages: list[tuple] = []

    def put(self, message: tuple) -> None:
        self.messages.append(message)


def test_a_task_tells_which_video_it_holds_before_its_slow_imports(tmp_path, monkeypatch):
    """A local worker killed in its first seconds (importing torch: 2-4 s here) after taking a video from the queue
    had not yet said it held it: `kill -9` of that worker hung `track batch room.mp4 --workers 1` at "0/1 videos
    done: 0 frames" for good (the video was never run again). Now "start" is sent before anything slow, so the
    driver knows the video to run again."""
    from tracker.batch import run_video
    from tracker.batch_work import make_tasks

    task = make_tasks([str(clip(tmp_path / "a.avi", 0, 3))], TrackerConfig(), tmp_path / "out", False, None,
                      fake_tracker, None, None)[0]  # fmt: skip
    channel = _Recorder()
    monkeypatch.setitem(sys.modules, "torch", None)  # the import fails: as far as a worker killed there got
    with pytest.raises(ImportError):
        run_video(task, channel)
    assert channel.messages == [(0, "start", os.getpid())]


def test_a_rerun_tracks_again_a_video_whose_outputs_were_deleted(tmp_path):
    """`track batch m.avi --out OUT`, `rm OUT/m/m.txt`, the same command again: "reused m: outputs of an earlier run
    with the same inputs", and m.txt stayed missing (only batch.json was looked at). A video is reused only with all
    its outputs there, and its result lists them (a reused result's `outputs` was empty)."""
    video = clip(tmp_path / "m.avi", 0, 4)
    out = tmp_path / "out"
    first = track_many([video], TrackerConfig(), out, workers=1, progress=False, make_tracker=fake_tracker)
    again = track_many([video], TrackerConfig(), out, workers=1, progress=False, make_tracker=fake_tracker)
    assert again.videos[0].status == "reused"
    assert sorted(again.videos[0].outputs) == sorted(first.videos[0].outputs)
    (out / "m" / "m.txt").unlink()
    third = track_many([video], TrackerConfig(), out, workers=1, progress=False, make_tracker=fake_tracker)
    assert third.videos[0].status == "done"
    assert (out / "m" / "m.txt").is_file()


class DiesWhenUnpickled:
    """Stands in for `make_tracker`: the local worker that unpickles the video's task dies on the spot, after taking
    the video and before it can tell the driver it started (the narrowest window of a kill)."""

    def __reduce__(self):
        return (os._exit, (1,))

    def __call__(self, cfg, frame_rate, gallery=None):  # (never reached)
        return fake_tracker(cfg, frame_rate, gallery)


def test_a_worker_that_dies_before_saying_it_started_is_retried_then_failed_not_waited_for(tmp_path):
    """A local worker killed between taking a video and its first message left the batch waiting for good (the
    videos came from a shared queue, so the driver did not know which one the dead worker held). The driver hands
    each worker its video: the video is run again, then fails in words."""
    cfg = TrackerConfig(batch=dataclasses.replace(TrackerConfig().batch, max_retries=1))
    doomed = clip(tmp_path / "doomed.avi", 0, 3)
    box: list = []
    batch = threading.Thread(
        target=lambda: box.append(
            track_many([doomed], cfg, tmp_path / "out", workers=1, progress=False, make_tracker=DiesWhenUnpickled())
        ),
        daemon=True,
    )
    batch.start()
    batch.join(KILL_TIMEOUT_S)
    assert not batch.is_alive(), "the batch waited for a video whose worker had died"
    (video,) = box[0].videos
    assert video.status == "failed" and video.attempts == 2, video
    assert video.reason == "worker process died (exit code 1) 2 times", video.reason  # (a plain exit: its code)
    no_leftovers(tmp_path / "out")


def test_a_local_worker_keeps_no_process_semaphore_a_kill_would_leak(monkeypatch):
    """A local worker killed (`kill -9`) after its first video ended the batch with "UserWarning: resource_tracker:
    There appear to be 1 leaked semaphore objects to clean up at shutdown": tqdm's default lock, made by the video's
    hidden bar, is a process-shared semaphore. The worker's bars take a thread lock instead."""
    import queue
    from multiprocessing.synchronize import SemLock

    from tqdm import tqdm
    from tqdm.std import TqdmDefaultWriteLock

    import tracker.batch_engines as engines

    for owner, name in ((tqdm, "_lock"), (TqdmDefaultWriteLock, "mp_lock")):  # as in a fresh worker process
        monkeypatch.setattr(owner, name, None, raising=False)
        monkeypatch.delattr(owner, name)
    monkeypatch.setattr(engines.signal, "signal", lambda *a: None)  # (the worker's handlers: not in pytest)
    monkeypatch.setattr(engines, "_stop_when_driver_dies", lambda: None)

    def run_video(task, channel, progress_seconds, start_gallery):
        tqdm(total=1, disable=True).close()  # what `track`'s loop makes, hidden, in a batch task
        return failed_result(task, "tracked", 1)

    monkeypatch.setattr(engines, "run_video", run_video)
    inbox, channel = queue.Queue(), queue.Queue()
    inbox.put(VideoTask(0, "a.mp4", "a", Path("out"), {}, "print"))
    inbox.put(None)
    engines._local_worker(inbox, channel, 1.0, None)
    assert channel.get_nowait()[1] == "result"
    lock = tqdm.get_lock()  # (tqdm's default holds a multiprocessing RLock, a named semaphore in a spawned worker)
    held = getattr(lock, "locks", [lock])
    assert not [h for h in held if isinstance(h, SemLock)], "a semaphore the resource tracker reports leaked"


def test_a_file_given_twice_keeps_both_its_folders_and_is_reused(tmp_path, monkeypatch):
    """`track batch clip.avi sub/../clip.avi --out OUT` (or `clip.avi clip.avi`) tracks one file into clip and
    clip_2. A re-run found both folders under one key and gave the second source neither: it was tracked again into
    a new folder each time (clip_3, clip_4, ...). Now each copy gets its folder back and is reused; the interrupted
    batch's line counts both folders."""
    import tracker.batch
    from tracker.batch_work import published_videos

    monkeypatch.chdir(tmp_path)
    clip(tmp_path / "clip.avi", 0, 5)
    (tmp_path / "sub").mkdir()
    out = tmp_path / "out"
    with monkeypatch.context() as earlier:  # (the folders an earlier version made: a new batch refuses the repeat)
        earlier.setattr(tracker.batch, "refuse_repeated", lambda sources, reused: None)
        track_many(["clip.avi", "sub/../clip.avi"], TrackerConfig(), out, workers=1, progress=False,
                   make_tracker=fake_tracker)  # fmt: skip
    for sources in (["clip.avi", "sub/../clip.avi"], ["clip.avi", "sub/../clip.avi"], ["sub/../clip.avi", "clip.avi"]):
        summary = track_many(sources, TrackerConfig(), out, workers=1, progress=False, make_tracker=fake_tracker)
        for video in summary.videos:
            assert json.loads((out / video.name / NOTE_NAME).read_text())["source"] == video.source
    assert [(v.name, v.status) for v in summary.videos] == [("clip_2", "reused"), ("clip", "reused")]
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == ["clip", "clip_2"]
    again = track_many(
        ["clip.avi", "clip.avi"], TrackerConfig(), out, workers=1, progress=False, make_tracker=fake_tracker
    )
    assert [(v.name, v.status) for v in again.videos] == [("clip", "reused"), ("clip_2", "reused")]
    assert published_videos(out) == 2


def test_one_source_given_twice_is_refused_before_any_work(tmp_path, monkeypatch, capsys):
    """`track batch a.mp4 a.mp4` (or `./a.mp4`, its absolute path, a link to it) tracked one file once per name,
    into `a/` and `a_2/`, without a word: the same work twice for the same outputs. Refused before any work, naming
    the source at each of its positions; another file beside it is not refused."""
    monkeypatch.chdir(tmp_path)
    clip(tmp_path / "clip.avi", 0, 5)
    clip(tmp_path / "other.avi", 40, 5)
    (tmp_path / "link.avi").symlink_to("clip.avi")
    out = tmp_path / "out"
    sources = ["clip.avi", "other.avi", "./clip.avi", str(tmp_path / "link.avi")]
    with pytest.raises(ValueError, match="one source") as refused:
        track_many(sources, TrackerConfig(), out, workers=1, progress=False, make_tracker=fake_tracker)
    said = str(refused.value)
    assert "sources 1 ('clip.avi'), 3 ('./clip.avi'), 4 (" in said and "given 3 times" in said, said
    assert "other.avi" not in said, said
    assert not out.exists(), "nothing is written"
    with pytest.raises(ValueError, match=r"sources 1 \('clip.avi'\), 2 \('clip.avi'\) are one source"):
        track_many(["clip.avi", "clip.avi"], TrackerConfig(), out, workers=1, progress=False, make_tracker=fake_tracker)
    assert not out.exists()
    assert main(["batch", "clip.avi", "./clip.avi", "--out", str(out), "-q"]) == 2
    assert "track batch: error: sources 1 ('clip.avi'), 2 ('./clip.avi') are one source" in capsys.readouterr().err
    assert not out.exists()


def test_a_local_worker_stopped_while_its_last_videos_garbage_goes_takes_no_further_video(monkeypatch):
    """The driver's SIGTERM reached a worker that had just finished a video inside a weakref callback of that video's
    garbage: Python dropped the handler's exit there (printing its traceback under the batch's progress), and the
    worker went on to its next video until the driver killed it 30 s later (a stopped batch took 31 s instead of 3).
    The request stands: the worker takes no further video, exits as stopped, and the dropped exit is not printed."""
    import gc
    import queue
    import weakref

    import tracker.batch_engines as engines

    handlers = {}
    monkeypatch.setattr(engines.signal, "signal", lambda sig, handler: handlers.__setitem__(sig, handler))
    monkeypatch.setattr(engines, "_stop_when_driver_dies", lambda: None)
    monkeypatch.setattr(sys, "unraisablehook", sys.unraisablehook)  # (the worker's own, put back after the test)
    said = []
    monkeypatch.setattr(sys, "__unraisablehook__", said.append)
    tracked = []

    class Garbage:
        pass

    def run_video(task, channel, progress_seconds, start_gallery):
        tracked.append(task.name)
        garbage = Garbage()
        keep = weakref.ref(garbage, lambda _ref: handlers[signal.SIGTERM](signal.SIGTERM, None))  # the SIGTERM
        del garbage
        gc.collect()
        assert keep() is None
        return failed_result(task, "tracked", 1)

    monkeypatch.setattr(engines, "run_video", run_video)
    inbox, channel = queue.Queue(), queue.Queue()
    for k, name in enumerate(("a", "b")):
        inbox.put(VideoTask(k, f"{name}.mp4", name, Path("out"), {}, "print"))
    inbox.put(None)
    with pytest.raises(SystemExit) as stopped:
        engines._local_worker(inbox, channel, 1.0, None)
    assert stopped.value.code == engines.EXIT_STOPPED
    assert tracked == ["a"]
    assert not [info for info in said if isinstance(info.exc_value, SystemExit)]


SIGTERM_WHILE_STARTING = """
import os, signal, sys, time
import tracker.batch
from tracker.cli import main

def track_many(*args, **kwargs):  # a SIGTERM while the batch starts (its detector downloading, Ray starting)
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(30)

tracker.batch.track_many = track_many
sys.exit(main(["batch", {source!r}, "--out", {out!r}]))
"""


def test_track_batch_stopped_by_sigterm_while_it_starts_ends_as_after_ctrl_c(tmp_path):
    """`kill PID` of `track batch` before its tasks ran (imports, the detector's download, Ray starting) or after
    (the gallery's reduce) killed the driver: exit status 143, not a word, OUT and the gallery left locked. As Ctrl-C
    (and as `track` does): one line, exit status 130."""
    source = clip(tmp_path / "a.avi", 0, 2)
    env = os.environ | {"PYTHONPATH": os.pathsep.join([str(ROOT), str(TESTS), os.environ.get("PYTHONPATH", "")])}
    script = SIGTERM_WHILE_STARTING.format(source=str(source), out=str(tmp_path / "out"))
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=KILL_TIMEOUT_S
    )
    assert done.returncode == 130, (done.returncode, done.stderr[-500:])
    assert done.stderr.strip().splitlines()[-1].startswith("track batch: interrupted"), done.stderr[-500:]


def test_a_video_whose_note_cannot_be_written_fails_alone_in_one_line(tmp_path, monkeypatch):
    """A disk that filled as a video ended, at its `batch.json` (the last file a task writes): the OSError left the
    task, so its worker died with a traceback, the video was run again up to `batch.max_retries` times, failed as
    "its worker died" without saying why, and left its `.<name>.partial/` in the batch folder. Now the video fails
    alone with the one line naming the file, and no folder of it is left."""
    from tracker.batch import run_video
    from tracker.batch_work import make_tasks

    write_text = Path.write_text

    def full_disk(self, *args, **kwargs):
        if self.name == NOTE_NAME:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return write_text(self, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", full_disk)
    (task,) = make_tasks([str(clip(tmp_path / "cam.avi", 0, 3))], TrackerConfig(), tmp_path / "out", False, None,
                         fake_tracker, None, None)  # fmt: skip
    result = run_video(task)
    assert result.status == "failed" and result.reason is not None, result
    assert result.reason.startswith(
        f"cannot write {task.partial_dir / NOTE_NAME}: No space left on device (the disk is"
    )
    assert not task.partial_dir.exists() and not task.out_dir.exists()


@pytest.mark.parametrize("put_back", [True, False])
def test_a_video_whose_new_outputs_cannot_be_renamed_in_keeps_its_earlier_outputs(tmp_path, monkeypatch, put_back):
    """A video tracked again moves its earlier outputs aside (`out/.<name>.old`) and renames the new ones in: where
    that rename failed, the video was reported failed and the earlier outputs stayed hidden in `.<name>.old`, which
    the next run deleted. They are put back in `out/<name>`; where even that fails, the failure line says where
    they are, and the next run puts them back."""
    import tracker.batch_task as batch_task
    from tracker.batch import run_video
    from tracker.batch_work import make_tasks

    (task,) = make_tasks([str(clip(tmp_path / "cam.avi", 0, 3))], TrackerConfig(), tmp_path / "out", False, None,
                         fake_tracker, None, None)  # fmt: skip
    assert run_video(task).status == "done"
    earlier = {p.name: p.read_bytes() for p in task.out_dir.iterdir()}
    replace = os.replace

    def refused(src, dst):  # the new outputs' rename (and, without put_back, every other one after it) fails
        if Path(src) == task.partial_dir or (not put_back and Path(dst) == task.out_dir):
            raise PermissionError(13, "Permission denied", str(src), None, str(dst))
        replace(src, dst)

    monkeypatch.setattr(batch_task.os, "replace", refused)
    failed = run_video(task)
    assert failed.status == "failed" and failed.reason.startswith("[Errno 13] Permission denied: "), failed.reason
    aside = task.out_root / f".cam{batch_task.OLD_SUFFIX}"
    if put_back:
        assert {p.name: p.read_bytes() for p in task.out_dir.iterdir()} == earlier and not aside.exists()
    else:
        assert f"; the outputs of the earlier run are kept in {aside} (" in failed.reason, failed.reason
        assert {p.name: p.read_bytes() for p in aside.iterdir()} == earlier and not task.out_dir.exists()
        put_back = True  # the next run's publish fails too, its own rename only: the earlier outputs come back
        assert run_video(task).status == "failed"
        assert {p.name: p.read_bytes() for p in task.out_dir.iterdir()} == earlier and not aside.exists()


def test_a_failed_videos_reason_names_a_file_that_is_not_utf8_as_track_does(tmp_path, monkeypatch):
    """A batch video that failed on a file named `caf<0xE9>` (a symbolic link loop in its outputs' way) gave the
    reason with Python's repr of the name, `caf\\udce9` as text, in its progress and summary lines, where `track`
    says `caf\\ufffd`. It names it as `track` does."""
    import tracker.batch_task as batch_task
    from tracker.batch import run_video
    from tracker.batch_work import make_tasks

    looped = undecodable_path(tmp_path, b"caf\xe9")

    def loop(partial, final):
        raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), str(looped))

    monkeypatch.setattr(batch_task, "_publish", loop)
    (task,) = make_tasks([str(clip(tmp_path / "cam.avi", 0, 3))], TrackerConfig(), tmp_path / "out", False, None,
                         fake_tracker, None, None)  # fmt: skip
    failed = run_video(task)
    assert failed.reason == f"[Errno 40] Too many levels of symbolic links: '{tmp_path}/caf\ufffd'", failed.reason


def test_a_gallery_in_a_videos_output_folder_is_refused_also_through_a_symbolic_link(tmp_path):
    """`--out link` where link -> real, and `--gallery real/cam/site.gallery` (or the other way round): the same
    folder a re-run replaces, the gallery with it, but the paths as written share no prefix and the batch went on."""
    video, real = clip(tmp_path / "cam.avi", 0, 3), tmp_path / "real"
    track_many([video], EVERY_FRAME, real, progress=False, make_tracker=gallery_tracker)  # (real/cam: the video's)
    before = sorted(p.name for p in real.iterdir())
    (tmp_path / "link").symlink_to(real, target_is_directory=True)
    Gallery().save(real / "cam" / "site.gallery")
    kept = (real / "cam" / "site.gallery").read_bytes()
    link = tmp_path / "link" / "cam" / "site.gallery"
    for gallery, folder in ((real / "cam" / "site.gallery", tmp_path / "link"), (link, real)):
        said = re.escape(f"gallery {gallery} is in out_dir {folder} where a video's outputs go")
        with pytest.raises(ValueError, match=said):
            track_many([video], EVERY_FRAME, folder, gallery=gallery, progress=False, make_tracker=gallery_tracker)
    assert (real / "cam" / "site.gallery").read_bytes() == kept and sorted(p.name for p in real.iterdir()) == before


def test_a_gallery_in_a_folder_of_out_that_no_video_uses_is_kept_across_runs(tmp_path):
    """`--gallery out/galleries/site.gallery` with no video named `galleries`: a re-run replaces only its videos'
    folders (out/cam/ and its .partial/.old), never this one, yet the batch refused it as 'where a video's outputs
    go'. It tracks, saves there, and a second run finds the gallery where the first left it."""
    video, out = clip(tmp_path / "cam.avi", 0, 3), tmp_path / "out"
    gallery = out / "galleries" / "site.gallery"
    gallery.parent.mkdir(parents=True)
    for _ in range(2):
        track_many([video], EVERY_FRAME, out, gallery=gallery, progress=False, make_tracker=gallery_tracker)
        assert Gallery.load(gallery).identities, "saved where asked"
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == ["cam", "galleries"]


def test_cli_batch_takes_classes_as_track_does(tmp_path, monkeypatch, capsys):
    """`track batch cams/*.mp4 --out OUT --classes 2 5 7` (a vehicle batch, as `track --classes`) was "unrecognized
    arguments: --classes 2 5 7", while a video's own error said "give ids it has (--classes ...)". The ids reach
    every video's config, and contradict a `--set` of other classes as in `track`."""
    import tracker.batch as batch

    monkeypatch.chdir(tmp_path)
    Path("a.mp4").touch()
    given = {}

    def fake_track_many(sources, cfg, out, **kwargs):
        given["classes"] = cfg.detector.classes
        raise ValueError("stopped by the test")

    monkeypatch.setattr(batch, "track_many", fake_track_many)
    argv = ["batch", "a.mp4", "--out", "out", "--set", "reid.model=none", "--classes", "2", "5", "7"]
    assert main(argv) == 2
    assert given["classes"] == (2, 5, 7)
    assert "stopped by the test" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stop:
        main([*argv, "--set", "detector.classes=[0]"])
    assert stop.value.code == 2
    assert "--classes and --set detector.classes=[0] say different things" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("option", "instead"),
    [
        (["--fps", "10"], "tracked at the frame rate it declares"),
        (["--show"], "annotated mp4 is in OUT/<name>/"),
        (["--resume"], "reuses the finished videos"),
        (["--checkpoint-seconds=5"], "writes no checkpoints"),
    ],
)
def test_cli_batch_tells_an_option_of_track_alone_what_a_batch_does(option, instead, tmp_path, capsys):
    """`track`'s options a batch has not were argparse's "unrecognized arguments: --fps 10": one usage error says the
    option is `track`'s and what the batch does instead, before anything loads."""
    with pytest.raises(SystemExit) as stop:
        main(["batch", "a.mp4", "--out", str(tmp_path / "out"), *option])
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    name = option[0].split("=")[0]
    assert err.startswith(f"track batch: error: {name} is an option of track, not of track batch: "), err
    assert instead in err, err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("held", ["config.yaml", "metrics.csv", ".track-eval.json"], ids=["track-run", "eval", "mark"])
def test_an_out_dir_holding_another_kind_of_run_is_refused_before_any_video(held, tmp_path):
    """`track batch cams/*.mp4 --out runs/site/cam1` (a video's folder of another batch, or a `track` run's: its
    config.yaml) or `--out runs/eval` (a `track eval` run's) was taken: the videos went into sub-folders there, and the
    other batch's re-run, which replaces its video folder whole, deleted this batch with its gallery. One error before
    any video, as `track --out` and `track eval --out` refuse each other's folders; nothing is written there."""
    video, out = clip(tmp_path / "cam.avi", 0, 3), tmp_path / "other"
    out.mkdir()
    (out / held).write_text("{}\n")
    said = re.escape(f"out_dir {out} holds another kind of run ({held}")
    with pytest.raises(ValueError, match=said):
        track_many([video], EVERY_FRAME, out, progress=False, make_tracker=fake_tracker)
    assert sorted(p.name for p in out.iterdir()) == [held], "nothing written"


def test_track_refuses_a_gallery_in_a_video_folder_of_a_batch(tmp_path, capsys):
    """`track cam2.avi --gallery runs/site/cam/x.gallery` (runs/site a `track batch` run) put the gallery in a
    video's folder, which the batch's re-run replaces whole: the gallery was deleted with it. One error naming the
    folder and what to do, before anything is tracked or made (as `track batch` refuses its own video folders)."""
    video, site = clip(tmp_path / "cam.avi", 0, 3), tmp_path / "site"
    track_many([video], EVERY_FRAME, site, progress=False, make_tracker=fake_tracker)
    gallery, run = site / "cam" / "sub" / "x.gallery", tmp_path / "run"
    missing = tmp_path / "no-such-detector.pt"  # (before the fix: the run went on to the models, refused here)
    argv = [str(video), "--gallery", str(gallery), "--out", str(run), "--set", f"detector.model={missing}"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"track: error: --gallery {gallery} is in {site / 'cam'}, a video's folder of a `track batch` run "
        f"(its {NOTE_NAME}), which the batch's re-run replaces whole, the gallery with it: keep the gallery outside "
        "the batch's videos' folders (beside them in its --out, or elsewhere)"
    ], err
    assert not gallery.parent.exists() and not run.exists()
    beside = site / "x.gallery"  # in the batch's folder, outside its videos' folders: a re-run leaves it
    from tracker.run_folders import refuse_gallery_in_batch_folder

    refuse_gallery_in_batch_folder(beside)
    refuse_gallery_in_batch_folder(tmp_path / "elsewhere" / "x.gallery")


def test_track_refuses_an_out_that_holds_a_batch(tmp_path):
    """`track cam.mp4 --out runs/site` into a batch's folder wrote its files beside the videos' folders, and the
    batch's re-run into it was then refused (a `track` run's config.yaml there): one error naming the batch's note,
    before anything is tracked, as `track --out` refuses a `track eval` folder."""
    from tracker.run_outputs import check_output_paths

    video, out = clip(tmp_path / "cam.avi", 0, 3), tmp_path / "site"
    track_many([video], EVERY_FRAME, out, progress=False, make_tracker=fake_tracker)
    with pytest.raises(ValueError, match=re.escape(f"{out} holds a `track batch` run (cam/{NOTE_NAME})")):
        check_output_paths(out, [str(video)], {}, save_video=False)
    with pytest.raises(ValueError, match=re.escape(f"--out {out / 'cam'} is in {out / 'cam'}, a video's folder")):
        check_output_paths(out / "cam", [str(video)], {}, save_video=False)  # (`refuse_out_in_batch_folder`)


@pytest.mark.parametrize(
    "under", ["site/cam", "site/cam/sub/", "link/cam/"], ids=["video-folder", "below-it", "through-a-link"]
)
def test_track_refuses_an_out_in_a_video_folder_of_a_batch(under, tmp_path, capsys, monkeypatch):
    """`track x.avi --out runs/site/cam` (a video's folder of a `track batch` run, or a folder in it, or either through
    a link) was taken: x's files went in beside the batch's, its summary.json and config.yaml replaced the video's,
    the batch's re-run then reused the folder as its own (its batch.json unchanged), and a re-run after a config
    change replaced it whole, x's outputs with it. One error naming the folder as given, the batch's video folder and
    what to do, before anything is tracked; the batch's files are left as they were."""
    video, site = clip(tmp_path / "cam.avi", 0, 3), tmp_path / "site"
    track_many([video], EVERY_FRAME, site, progress=False, make_tracker=fake_tracker)
    (tmp_path / "link").symlink_to(site)
    before = {p.name: p.read_bytes() for p in (site / "cam").iterdir()}
    monkeypatch.chdir(tmp_path)
    other = clip(tmp_path / "x.avi", 30, 3)
    missing = tmp_path / "no-such-detector.pt"  # (before the fix: the run went on to the models, refused here)
    assert main([str(other), "--out", under, "--no-save-video", "--set", f"detector.model={missing}"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    shown = Path(under.split("/sub")[0].rstrip("/"))
    assert err == [
        f"track: error: --out {Path(under)} is in {shown}, a video's folder of a `track batch` run (its {NOTE_NAME}), "
        "which the batch's re-run replaces whole, this run's outputs with it: choose another --out, outside the "
        "batch's videos' folders (beside them in its --out, or elsewhere)"
    ], err
    assert {p.name: p.read_bytes() for p in (site / "cam").iterdir()} == before, "the batch's files are untouched"


KILLED_BATCH = """
import functools
from test_batch import fake_tracker
from tracker.batch import track_many
from tracker.config import TrackerConfig
factory = functools.partial(fake_tracker, delay_s={delay})
track_many({sources!r}, TrackerConfig(), {out!r}, engine="local", workers=2, progress=False, make_tracker=factory)
"""


def test_a_killed_batchs_partial_folders_are_refused_as_a_tracks_out(tmp_path, monkeypatch, capsys):
    """`track batch` of two videos killed with SIGKILL (the driver and its workers) leaves each video's
    `OUT/.<name>.partial/` (config.yaml, the txt's .partial, a JSONL and mp4 cut short; no batch.json yet), which
    nothing marked as a batch's: `track slow.avi --out OUT/.slow.partial` tracked into it (exit 0, the batch's
    cut-short files beside its own, the whole deleted by the batch's re-run), and `track fast.avi --out OUT` wrote
    its files beside the partial folders. Each is now one error naming the partial folder and the batch, the folder
    left as it was; `--resume` into either is refused alike (it said only "no checkpoint")."""
    from test_cli import one_error_line, use_fake_models

    slow, fast = clip(tmp_path / "slow.avi", 0, SLOW_FRAMES), clip(tmp_path / "fast.avi", 40, SLOW_FRAMES)
    out = tmp_path / "out"
    script = KILLED_BATCH.format(delay=FRAME_DELAY_S, sources=[str(slow), str(fast)], out=str(out))
    env = os.environ | {"PYTHONPATH": os.pathsep.join([str(ROOT), str(TESTS), os.environ.get("PYTHONPATH", "")])}
    driver = subprocess.Popen([sys.executable, "-c", script], env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + KILL_TIMEOUT_S
        while not (out / ".slow.partial" / "slow.txt.partial").is_file() and time.monotonic() < deadline:
            assert driver.poll() is None, f"the batch ended (status {driver.returncode}) before it was killed"
            time.sleep(0.05)
        time.sleep(10 * FRAME_DELAY_S)  # (a few frames into the video)
    finally:
        os.killpg(driver.pid, signal.SIGKILL)
        driver.wait(timeout=KILL_TIMEOUT_S)
    deadline = time.monotonic() + KILL_TIMEOUT_S / 4
    while (left := session_processes(driver.pid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not left, f"processes of the batch left running: {left}"
    partial = out / ".slow.partial"
    assert (partial / CONFIG_NAME).is_file() and not (partial / NOTE_NAME).exists(), sorted(partial.iterdir())

    def files() -> dict[str, bytes]:
        return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}

    before = files()
    use_fake_models(monkeypatch)
    for argv in (
        [str(slow), "--out", str(partial)],
        [str(slow), "--out", str(partial), "--resume"],
        [str(slow), "--out", str(partial / "inside")],
        [str(fast), "--out", str(out)],
        [str(fast), "--out", str(out), "--resume"],
    ):
        assert main([*argv, "--quiet"]) == 2, argv
        said = one_error_line(capsys.readouterr().err)
        assert re.search(r"\.(slow|fast)\.partial", said) and "`track batch`" in said and "killed" in said, said
        assert files() == before, f"{argv}: the folder changed"
