"""`track batch` / `track_many`: many videos at once, one task per video, on Ray or on local processes.

Each video is one task that holds its own `Tracker` and runs all its frames in order through
`tracker.run.track_source` (the loop of `track`), so frame order never depends on the engine. Detection and
ReID run inside the task, on the GPU share it asked for (Ray's `num_gpus`). Per-video outputs are the files
`track` writes, in `out/<name>/`; a task writes them to `out/.<name>.partial/` and renames the folder when
the video ends, so a task killed half-way and run again never leaves a mixed file, and a re-run of the batch
reuses every video whose outputs were made from the same file and config (`batch.json` beside them). One batch
at a time writes into `out` (`tracker.io.lock`, as `track --out`): a second one would delete the first one's
unfinished folders as leftovers of killed attempts.

Engines: `ray` (one Ray task per video; Ray re-runs a task whose worker died, up to `batch.max_retries`)
and `local` (the same task function in spawned processes, one per core, re-run the same way; a process whose
driver is gone stops as a SIGTERM would stop it). Progress comes
back from the tasks through a queue (`ray.util.queue.Queue` or a multiprocessing queue) as frame counts.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import multiprocessing
import os
import queue as queue_module
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tracker.batch_link import LinkedVideo, link_batch, save_video_identities
from tracker.config import BatchConfig, TrackerConfig, config_to_dict, load_config, parse_config
from tracker.io.lock import FolderLock, gallery_lock
from tracker.io.mot import unique_stem
from tracker.io.strict_json import to_json
from tracker.ray_engine import ADDRESS_ENV
from tracker.wording import count

__all__ = ["BatchSummary", "VideoResult", "VideoTask", "published_videos", "run_video", "track_many", "unnamed_sources"]

log = logging.getLogger(__name__)

ENGINES = ("local", "ray")
NOTE_NAME = "batch.json"  # beside each video's outputs: what made them (for resuming) and how the task went
PARTIAL_SUFFIX = ".partial"  # out/.<name>.partial/: a video's outputs while its task runs
OLD_SUFFIX = ".old"  # out/.<name>.old/: outputs of an earlier run, while being replaced
STOP_TIMEOUT_S = 30  # a stopped batch waits this long for a local worker to finish its frame
POLL_S = 0.2  # how often the driver looks at the progress queue and at finished tasks
THREADS_PER_VIDEO = 1  # torch threads in a task: one video per core is the unit of parallelism
OMP_THREADS_ENV = "OMP_NUM_THREADS"
INTERRUPTED = "interrupted"  # the reason of a video stopped by a signal
EXIT_STOPPED = 128 + signal.SIGTERM  # a local worker stopped by SIGTERM between frames exits with this, as if killed
_REASON_CHARS = 300  # failure reasons are cut to one short line
_TASK_KEY_CHARS = 16  # hex digits of the hash over what makes a video's outputs (its `batch.json` key)
_FRAMES_ONLY = "{desc}{n_fmt} frames [{elapsed}, {rate_fmt}]"  # the bar's line while a video's frame count is unknown

TrackerFactory = Callable[..., Any]
"""(config, source frame rate, gallery=None) -> a `Tracker`; the default is `Tracker.from_config`."""


@dataclass(frozen=True)
class VideoTask:
    """One video of a batch, as a task receives it (picklable).

    Attributes:
        index: position in the batch (the order of `sources`).
        source: what `track` accepts: a video file, an image folder or glob, a MOTChallenge sequence, a URL.
        name: output folder name, unique in the batch (`<stem>`, then `<stem>2`, ...).
        out_root: the batch folder; outputs go to `out_root/name/`.
        cfg_dict: the tracker config as a dict (`config_to_dict`).
        fingerprint: what made the outputs (source file identity, config, options, gallery), for resuming.
        use_gallery: track with the gallery as the batch began (handed to `run_video` once for all tasks)
            and keep the identities seen for the reduce step (`tracker.batch_link`).
    """

    index: int
    source: str
    name: str
    out_root: Path
    cfg_dict: dict[str, Any]
    fingerprint: str
    save_video: bool = True
    max_frames: int | None = None
    make_tracker: TrackerFactory | None = None
    use_gallery: bool = False

    @property
    def out_dir(self) -> Path:
        """out/<name>/: the video's outputs once its task is done."""
        return self.out_root / self.name

    @property
    def partial_dir(self) -> Path:
        """out/.<name>.partial/: the video's outputs while its task runs (renamed to `out_dir` at its end)."""
        return self.out_root / f".{self.name}{PARTIAL_SUFFIX}"


@dataclass
class VideoResult:
    """How one video went. `status`: "done", "reused" (outputs of an earlier identical run), or "failed"."""

    index: int
    source: str
    name: str
    out_dir: Path
    status: str
    frames: int = 0
    seconds: float = 0.0
    tracks: int = 0
    attempts: int = 1
    reason: str | None = None
    outputs: list[Path] = field(default_factory=list)
    stem: str | None = None  # the outputs' file stem (`<stem>.txt`, ...)
    ended_early: tuple[int, int] | None = None  # (last frame read, frames its header announces): cut short, damaged

    @property
    def retried(self) -> bool:
        """Whether the video was run more than once (a worker died)."""
        return self.attempts > 1


@dataclass
class BatchSummary:
    """The whole batch: one `VideoResult` per source (in the order given), wall time, engine, and with a
    gallery: the global ID of each video's tracks ({name: {track id: global ID}}) and the gallery file."""

    videos: list[VideoResult]
    seconds: float
    engine: str
    global_ids: dict[str, dict[int, int]] = field(default_factory=dict)
    gallery: Path | None = None
    gallery_identities: int = 0  # identities the gallery file holds after the reduce
    unsaved_identities: int = 0  # the batch's identities the gallery file does not hold (tracks too short for it)
    gallery_saved: bool = True  # False: no video was tracked to its end, so the gallery file was left as it was

    @property
    def ok(self) -> bool:
        """Every video done or reused, and the gallery (if any) saved: `track batch` exits 0 only then."""
        return not self.failed and self.gallery_saved

    @property
    def identities(self) -> set[int]:
        """The global IDs given across the batch (with a gallery; empty without)."""
        return {g for ids in self.global_ids.values() for g in ids.values()}

    @property
    def frames(self) -> int:
        """Frames tracked by the videos done in this batch."""
        return sum(v.frames for v in self.videos if v.status == "done")

    @property
    def fps(self) -> float:
        """Frames tracked per second of wall time, all videos together (reused ones not counted)."""
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    @property
    def failed(self) -> list[VideoResult]:
        """The videos that failed, in the batch's order."""
        return [v for v in self.videos if v.status == "failed"]

    def describe(self) -> str:
        """Lines for people: totals, then videos done, reused, retried and failed (with reasons)."""
        done = [v for v in self.videos if v.status == "done"]
        reused = [v for v in self.videos if v.status == "reused"]
        retried = [v for v in self.videos if v.retried]
        rate = f": {count(self.frames, 'frame')} in {self.seconds:.1f} s ({self.fps:.1f} frames/s)" if done else ""
        label = dict(zip(map(id, self.videos), _labels([(v.source, v.name) for v in self.videos]), strict=True))
        lines = [f"{len(done)} of {count(len(self.videos), 'video')} tracked ({self.engine}){rate}"]
        lines += [
            f"  done     {label[id(v)]}: {count(v.frames, 'frame')}, {count(v.tracks, 'track')} -> {v.out_dir}"
            + _cut_short(v)
            for v in done
        ]
        lines += [
            f"  reused   {label[id(v)]}: outputs of an earlier run with the same inputs{_cut_short(v)}" for v in reused
        ]
        lines += [f"  retried  {label[id(v)]}: {count(v.attempts, 'attempt')}" for v in retried]
        lines += [f"  failed   {label[id(v)]}: {v.reason}" for v in self.failed]
        if self.gallery is not None and not self.gallery_saved:
            lines.append(f"no video was tracked, so the gallery {self.gallery} was not saved (it is as it was)")
        elif self.gallery is not None:
            unsaved = self.unsaved_identities
            note = f" ({unsaved} from tracks too short for the gallery)" if unsaved else ""
            lines.append(
                f"{count(len(self.identities), 'identity', 'identities')} across the batch{note}; gallery saved to "
                f"{self.gallery} ({count(self.gallery_identities, 'identity', 'identities')})"
            )
        return "\n".join(lines)


def _cut_short(video: VideoResult) -> str:
    """ "; only N of the M frames ..." for a video whose data stopped before the frames its header announces (a file
    still being copied or uploaded: `track` says so, the batch said "done" alone), else ""."""
    if video.ended_early is None:
        return ""
    last, announced = video.ended_early
    return (
        f"; its frames stop being readable after frame {last} of the {announced} its header announces (cut short, "
        "damaged, or still being written: a re-run tracks it again once the file has changed)"
    )


# ------------------------------------------------------------------------------------------------ progress


class _Progress:
    """Sent from a task to the driver through a queue: ("start", pid), ("total", frames), ("frames", done)."""

    def __init__(self, channel: Any, index: int, every_s: float) -> None:
        self._channel = channel
        self._index = index
        self._every_s = every_s
        self._last = 0.0
        self._frames = 0

    def send(self, kind: str, value: Any) -> None:
        try:
            self._channel.put((self._index, kind, value))
        except Exception:  # progress is a courtesy: losing it never fails a video
            log.debug("progress message lost", exc_info=True)

    def frame_done(self) -> None:
        self._frames += 1
        now = time.monotonic()
        if now - self._last >= self._every_s:
            self._last = now
            self.send("frames", self._frames)


class _Monitor:
    """The driver's view: a progress bar over the whole batch counted in frames, and one line per event.

    The bar's description counts the videos finished ("1/3 videos done, 2 running"); its frame total, and so its
    percentage and ETA, only once every video has told its frame count (when it starts): a total of the started
    videos alone read 100 % between videos while others had not started (one worker: "94% 66/70" with a third
    video of 80 frames still to come)."""

    def __init__(self, tasks: list[VideoTask], show: bool) -> None:
        from tqdm import tqdm

        self._names = dict(zip([t.index for t in tasks], _labels([(t.source, t.name) for t in tasks]), strict=True))
        self.attempts = dict.fromkeys(self._names, 0)
        self._frames = dict.fromkeys(self._names, 0)
        self._totals: dict[int, int] = {}
        self._running: set[int] = set()
        self._finished: set[int] = set()
        self.show = show  # progress and event lines (not --quiet)
        self._bar = tqdm(
            total=None, desc=f"0/{len(tasks)} videos done: ", bar_format=_FRAMES_ONLY, unit="frame", disable=not show,
            file=sys.stderr, dynamic_ncols=True,
        )  # fmt: skip

    def line(self, text: str) -> None:
        if self.show:
            self._bar.write(text, file=sys.stderr)
        log.info(text)

    def message(self, index: int, kind: str, value: Any) -> None:
        if index in self._finished:  # a late word of a video already finished (Ray's queue): it is not running
            return
        name = self._names[index]
        if kind == "start":
            self.attempts[index] += 1
            self._frames[index] = 0  # a re-run starts from the first frame
            self._running.add(index)
            attempt = self.attempts[index]
            self.line(f"{name}: started (pid {value})" if attempt == 1 else f"{name}: running again, attempt {attempt}")
        elif kind == "total" and value:
            self._totals[index] = int(value)
        elif kind == "frames":
            self._frames[index] = int(value)
        self._refresh()

    def finish(self, result: VideoResult) -> None:
        self._finished.add(result.index)
        self._running.discard(result.index)
        self._frames[result.index] = result.frames
        self._totals.setdefault(result.index, result.frames)
        name = self._names[result.index]
        if result.status == "failed":
            self.line(f"{name}: failed: {result.reason}")
        else:
            self.line(f"{name}: {result.status}, {result.frames} frames")
        self._refresh()

    def _refresh(self) -> None:
        running = f", {len(self._running)} running" if self._running else ""
        self._bar.set_description(f"{len(self._finished)}/{len(self._names)} videos done{running}", refresh=False)
        known = len(self._totals) == len(self._names)  # (a stream tells no count: no percentage until it ends)
        self._bar.total = sum(self._totals.values()) if known else None
        self._bar.bar_format = None if known else _FRAMES_ONLY
        self._bar.n = sum(self._frames.values())
        self._bar.refresh()

    def close(self) -> None:
        self._bar.close()


def _drain(channel: Any, monitor: _Monitor) -> list[tuple[int, str, Any]]:
    """Hand every waiting message to the monitor, in the order sent (a video's result before the next video's
    start: one worker's "b: started" came before "a: done"); returns them (the local engine reads results)."""
    messages = []
    while True:
        try:
            message = channel.get_nowait()
        except queue_module.Empty:  # Ray's queue raises a subclass of it
            return messages
        messages.append(message)
        index, kind, value = message
        if kind == "result":
            monitor.finish(value)
        else:
            monitor.message(index, kind, value)


# ------------------------------------------------------------------------------------------------ the task


def _default_tracker(cfg: TrackerConfig, frame_rate: float | None, gallery: Any = None) -> Any:
    from tracker.detector import quiet_ultralytics
    from tracker.pipeline import Tracker

    quiet_ultralytics()  # its "Loading ..." lines, once per video, would cut through the batch's progress bar
    return Tracker.from_config(cfg, frame_rate=frame_rate, gallery=gallery)


def _start_gallery(task: VideoTask, cfg: TrackerConfig, start: bytes | None) -> Any:
    """The gallery as the batch began (`start`: its file's bytes, None: empty), private to this task (None
    without --gallery)."""
    if not task.use_gallery:
        return None
    from tracker.gallery import Gallery

    if start is None:
        return Gallery(cfg.gallery)
    with tempfile.TemporaryDirectory() as folder:  # Gallery.load reads a file
        path = Path(folder) / "start.gallery"
        path.write_bytes(start)
        return Gallery.load(path, cfg.gallery)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:_REASON_CHARS]


def _publish(partial: Path, final: Path) -> None:
    """Move a finished video's folder into place; outputs of an earlier run are replaced whole."""
    old = final.with_name(f".{final.name}{OLD_SUFFIX}")
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        os.replace(final, old)
    os.replace(partial, final)
    shutil.rmtree(old, ignore_errors=True)


def run_video(
    task: VideoTask,
    channel: Any = None,
    progress_seconds: float = BatchConfig.progress_seconds,
    start_gallery: bytes | None = None,
) -> VideoResult:
    """Track one video from its first frame to its last, in this process; the body of every batch task.

    `start_gallery`: the gallery file as the batch began (with `task.use_gallery`; None: an empty gallery).

    Outputs appear in `task.out_dir` only when the video ends (written to `task.partial_dir`, then renamed).
    Errors of the video (missing, unreadable, bad weights, a stream that fails) come back as a "failed"
    result with a one-line reason; a crash of the process is the engine's to retry.
    """
    import torch

    from tracker.frame_rate import choose_frame_rate
    from tracker.io.sources import open_source
    from tracker.run import track_source

    progress = _Progress(channel if channel is not None else _NullChannel(), task.index, progress_seconds)
    progress.send("start", os.getpid())
    torch.set_num_threads(THREADS_PER_VIDEO)
    result = VideoResult(task.index, task.source, task.name, task.out_dir, "failed")
    shutil.rmtree(task.partial_dir, ignore_errors=True)  # what a killed attempt left
    try:
        cfg = parse_config(task.cfg_dict)
        source = open_source(task.source)
        progress.send("total", min(source.total, task.max_frames) if source.total and task.max_frames else source.total)
        rate = choose_frame_rate(source.frame_rate, cfg, None, source.timestamp_rate, source.name)
        if rate.warning:
            log.warning("%s", rate.warning)
        tracker = (task.make_tracker or _default_tracker)(
            cfg, rate.frame_rate, gallery=_start_gallery(task, cfg, start_gallery)
        )
        tracker.core.source_name = task.name  # recorded with gallery sightings
        summary = track_source(
            tracker, source, task.partial_dir, task.save_video, show=False, progress=False,
            max_frames=task.max_frames, after_frame=progress.frame_done,
        )  # fmt: skip
        stem = summary.outputs[0].stem
        if task.use_gallery and not summary.interrupted:
            tracker.reset()  # the identities still in view go to the task's gallery
            save_video_identities(tracker.gallery, task.partial_dir, stem)
    except Exception as exc:
        shutil.rmtree(task.partial_dir, ignore_errors=True)
        log.info("%s failed", task.name, exc_info=True)
        result.reason = f"{type(exc).__name__}: {_one_line(exc)}"
        return result
    result.frames, result.seconds, result.tracks = summary.frames, summary.seconds, len(summary.tracks)
    if summary.ended_early is not None and summary.expected_frames:
        result.ended_early = (summary.ended_early, summary.expected_frames)
    if summary.interrupted:
        shutil.rmtree(task.partial_dir, ignore_errors=True)
        result.reason = INTERRUPTED
        return result
    note = {"fingerprint": task.fingerprint, "source": task.source, "frames": summary.frames, "error": summary.error}
    note |= {"tracks": result.tracks, "seconds": summary.seconds, "stem": stem, "ended_early": result.ended_early}
    (task.partial_dir / NOTE_NAME).write_text(to_json(note, indent=1))
    _publish(task.partial_dir, task.out_dir)
    result.outputs = [task.out_dir / p.name for p in summary.outputs]
    result.stem = stem
    if summary.error:  # the frames read before a stream failed are kept, as `track` keeps them
        result.reason = summary.error
        return result
    result.status = "done"
    return result


class _NullChannel:
    def put(self, _message: Any) -> None:
        pass


def _reused(task: VideoTask) -> VideoResult | None:
    """The result of an earlier run of this batch with the same fingerprint, if its outputs are there."""
    note = _read_note(task.out_dir)
    if note is None or note.get("fingerprint") != task.fingerprint or note.get("error"):
        return None
    frames, tracks = int(note.get("frames", 0)), int(note.get("tracks", 0))
    result = VideoResult(task.index, task.source, task.name, task.out_dir, "reused", frames, 0.0, tracks, 0)
    result.stem = note.get("stem")
    cut = note.get("ended_early")
    if isinstance(cut, list) and len(cut) == 2 and all(isinstance(n, int) for n in cut):
        result.ended_early = (cut[0], cut[1])
    return result


def _names_nothing(task: VideoTask) -> VideoResult | None:
    """The failed result of a source that names nothing (no such file or folder, a glob matching no images), told
    at once as `track` tells it: a task started for it imported torch and loaded the models first (~10 s, 0.7 GB)."""
    reason = _why_unnamed(task.source)
    return None if reason is None else _failed(task, reason, 0)


def _why_unnamed(source: str) -> str | None:
    """Why `source` names nothing (`SourceError: ...`, one line), or None when it names something (milliseconds)."""
    from tracker.io.sources import SourceError, check_named

    try:
        check_named(source)
    except SourceError as exc:
        return f"{type(exc).__name__}: {_one_line(exc)}"
    return None


def unnamed_sources(sources: Sequence[str | Path]) -> list[tuple[str, str]]:
    """(output name, reason) of each source that names nothing (no such file or folder, a glob matching no
    images), without importing torch: `track batch` refuses a batch of only these at once (3.6-4.7 s sooner)."""
    names = _names([str(s) for s in sources])
    found = [(name, _why_unnamed(str(source))) for source, name in zip(sources, names, strict=True)]
    return [(name, reason) for name, reason in found if reason is not None]


# ------------------------------------------------------------------------------------------------ engines


def _failed(task: VideoTask, reason: str, attempts: int) -> VideoResult:
    return VideoResult(task.index, task.source, task.name, task.out_dir, "failed", attempts=attempts, reason=reason)


def _run_ray(
    tasks: list[VideoTask],
    batch: Any,
    monitor: _Monitor,
    address: str | None,
    gpus_per_video: float,
    start_gallery: bytes | None,
) -> list[VideoResult]:
    from tracker.ray_engine import check_gpus, ray_session, worker_logs_hint

    with ray_session(address, quiet=not monitor.show) as ray:
        from ray.util.queue import Queue

        check_gpus(ray, gpus_per_video, cluster=bool(address or os.environ.get(ADDRESS_ENV)))  # before any task

        logs = worker_logs_hint(ray)  # (the driver logs only Ray's errors: a worker's traceback stays in its log)

        channel = Queue(actor_options={"num_cpus": 0})
        remote = ray.remote(run_video).options(
            num_cpus=THREADS_PER_VIDEO, num_gpus=gpus_per_video, max_retries=batch.max_retries, retry_exceptions=False
        )
        start = ray.put(start_gallery)  # one copy in the object store for all tasks
        refs = {remote.remote(t, channel, batch.progress_seconds, start): t for t in tasks}
        pending, results = list(refs), []
        try:
            while pending:
                ready, pending = ray.wait(pending, num_returns=1, timeout=POLL_S)
                _drain(channel, monitor)
                for ref in ready:
                    task = refs[ref]
                    try:
                        result = ray.get(ref)
                    except ray.exceptions.RayError as exc:  # the worker died more than max_retries times
                        reason = f"{type(exc).__name__}: {_one_line(exc)}; {logs}"
                        result = _failed(task, reason, monitor.attempts[task.index])
                    result.attempts = max(monitor.attempts[task.index], 1)
                    monitor.finish(result)
                    results.append(result)
        except BaseException:
            for ref in pending:
                ray.cancel(ref, force=True)
            # a cancelled task's worker is killed mid-frame: once it is gone, drop the folder it was writing, as a
            # stopped local worker does (a re-run would, but until then a `.<name>.partial/` stays in --out)
            if pending:
                ray.wait(pending, num_returns=len(pending), timeout=STOP_TIMEOUT_S)
            for ref in pending:
                shutil.rmtree(refs[ref].partial_dir, ignore_errors=True)
            raise
        finally:
            ray.kill(channel.actor)
    return results


def _run_local(
    tasks: list[VideoTask], batch: Any, monitor: _Monitor, workers: int, start_gallery: bytes | None
) -> list[VideoResult]:
    """The same task function in `workers` spawned processes that take videos from a queue. A process that
    dies in a video is replaced, and the video is run again, up to `batch.max_retries` times, as Ray does."""
    context = multiprocessing.get_context("spawn")  # a fork after torch started its thread pools can deadlock
    channel, todo = context.Queue(), context.Queue()
    by_index = {t.index: t for t in tasks}
    for task in tasks:
        todo.put(task)
    at_once = min(workers, len(tasks))

    def start() -> Any:
        process = context.Process(
            target=_local_worker, args=(todo, channel, batch.progress_seconds, start_gallery), daemon=True
        )
        with _child_threads(THREADS_PER_VIDEO):
            process.start()
        return process

    processes = [start() for _ in range(at_once)]
    results: dict[int, VideoResult] = {}
    reruns = dict.fromkeys(by_index, 0)
    running: dict[int, int] = {}  # pid -> index of the video it is tracking
    try:
        while len(results) < len(tasks):
            time.sleep(POLL_S)
            dead = [p for p in processes if not p.is_alive()]
            for index, kind, value in _drain(channel, monitor):  # after the liveness check: sees last words
                if kind == "start":
                    running[value] = index
                elif kind == "result":  # (told to the monitor by `_drain`)
                    value.attempts = max(monitor.attempts[index], 1)
                    results[index] = value
            for process in dead:
                processes.remove(process)
                index = running.pop(process.pid, None)
                if index is not None and index not in results:
                    if reruns[index] < batch.max_retries:
                        reruns[index] += 1
                        todo.put(by_index[index])
                    else:
                        died = count(reruns[index] + 1, "time")  # ("died ... 1 times" with batch.max_retries=0)
                        reason = f"worker process died (exit code {process.exitcode}) {died}"
                        results[index] = _failed(by_index[index], reason, monitor.attempts[index])
                        monitor.finish(results[index])
                if len(results) < len(tasks):
                    processes.append(start())
    except BaseException:
        for process in processes:
            process.terminate()  # the worker finishes its frame, drops the video's partial outputs and exits
        for process in processes:
            process.join(STOP_TIMEOUT_S)  # before Python's exit handler signals them a second time (an abort)
            if process.is_alive():
                process.kill()
        raise
    for _ in processes:
        todo.put(None)
    for process in processes:
        process.join()
    return list(results.values())


@contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """SIGTERM (`kill`, a scheduler, systemd) stops the batch as Ctrl-C does: the engines' cleanup stops the
    tasks, instead of the driver dying at once and leaving its worker processes tracking on, orphaned."""
    if threading.current_thread() is not threading.main_thread():  # signals can only be caught there
        yield
        return

    def interrupt(_signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def _child_threads(threads: int) -> Iterator[None]:
    """Processes started inside see OMP_NUM_THREADS=threads (as Ray sets it for a task of that many CPUs), so
    the native thread pools (OpenMP, oneDNN, OpenVINO) of one video do not spread over the other videos' cores."""
    before = os.environ.get(OMP_THREADS_ENV)
    os.environ[OMP_THREADS_ENV] = str(threads)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(OMP_THREADS_ENV, None)
        else:
            os.environ[OMP_THREADS_ENV] = before


def _stop_when_driver_dies() -> None:
    """In a local engine process: when the driver process ends without stopping this one (`kill -9`, a crash, the
    out-of-memory killer), stop as a SIGTERM from the driver would (finish the frame, drop the unfinished folder,
    exit) instead of tracking the rest of the batch orphaned, into folders a re-run would then write too."""
    driver = multiprocessing.parent_process()
    if driver is None:  # not started by multiprocessing
        return

    def watch() -> None:
        driver.join()  # returns when the driver's end of its sentinel pipe closes: the driver is gone
        log.warning("the batch's driver process ended: stopping this worker (pid %d)", os.getpid())
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="driver-watch", daemon=True).start()


def _exit_now(_signum: int, _frame: Any) -> None:
    """SIGTERM to a local worker outside a video's frames (waiting for a video, loading models): exit through
    Python, whose exit handlers release the process's semaphores; the default action left them to the resource
    tracker, which warned "There appear to be N leaked semaphore objects" after every stopped batch."""
    sys.exit(EXIT_STOPPED)


def _local_worker(todo: Any, channel: Any, progress_seconds: float, start_gallery: bytes | None) -> None:
    """A local engine process: tracks videos from `todo` until it gets None (or its driver is gone)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's: it stops the processes
    signal.signal(signal.SIGTERM, _exit_now)  # (while tracking, `track`'s loop finishes its frame first)
    _stop_when_driver_dies()
    while (task := todo.get()) is not None:
        result = run_video(task, channel, progress_seconds, start_gallery)
        channel.put((task.index, "result", result))
        if result.reason == INTERRUPTED:  # the driver stopped the batch: take no further video
            return


# ------------------------------------------------------------------------------------------------ the batch


def _file_identity(source: str) -> Any:
    """Size and modification time of a file or folder source (None for streams and globs)."""
    path = Path(source)
    try:
        stat = path.stat()
    except OSError:
        return None
    return [str(path.resolve()), stat.st_size, stat.st_mtime_ns]


def _labels(videos: Sequence[tuple[str, str]]) -> list[str]:
    """How the progress lines and the summary name each (source, output name): the name, with the source beside
    it where the name alone does not tell which source it is (two sources of one stem, `a.mp4` and `a.avi`, or a
    folder named by an earlier batch): "a_2 (cams/a.mp4)"."""
    own = [_names([source])[0] for source, _ in videos]
    shared = Counter(own)
    return [
        f"{name} ({source})" if name != base or shared[base] > 1 else name
        for (source, name), base in zip(videos, own, strict=True)
    ]


def _names(sources: Sequence[str], out: Path | None = None) -> list[str]:
    """Unique output folder names: the file stem, then `<stem>_2`, `<stem>_3`, ... for repeats (as `track`).

    With `out`, a folder there keeps its source across re-runs: a source an earlier batch published (its
    `batch.json` names it, as given) gets that folder again, and no other source gets the name of a folder already
    in `out`. Names by position alone gave `cam1/clip.mp4` and `cam2/clip.mp4`, listed the other way round (or after
    a new `cam0/clip.mp4`), each other's folders: both tracked again, and each folder replaced by another camera's.
    """
    from tracker.io.sources import image_source_name  # (lazily, as the other source checks: OpenCV loads with it)

    earlier = _earlier_sources(out) if out is not None else {}
    taken = set(_folders(out)) if out is not None else set()
    names: list[str | None] = [None] * len(sources)
    claimed: set[str] = set()
    for index, source in enumerate(sources):
        name = earlier.get(str(source))
        if name is not None and name not in claimed:
            names[index] = name
            claimed.add(name)
    for index, source in enumerate(sources):
        if names[index] is None:
            # images are named as `track` names them (`cam1/*.jpg`: cam1, `day.cam1/`: day.cam1; stems gave `_`, `day`)
            stem = image_source_name(source) or Path(str(source).rstrip("/")).stem or "video"
            names[index] = unique_stem("".join(c if c.isalnum() or c in "-_." else "_" for c in stem), taken)
    return [name for name in names if name is not None]


def _folders(out: Path) -> list[str]:
    """The names in `out` a video's folder could clash with (not the hidden `.partial`, `.old` and lock files)."""
    try:
        return [entry.name for entry in out.iterdir() if not entry.name.startswith(".")]
    except OSError:  # not made yet
        return []


def _earlier_sources(out: Path) -> dict[str, str]:
    """{source as given: folder name} of the videos earlier batches published in `out` (their `batch.json`)."""
    found: dict[str, str] = {}
    for name in sorted(_folders(out)):
        note = _read_note(out / name)
        if note is not None and isinstance(note.get("source"), str):
            found.setdefault(note["source"], name)
    return found


def published_videos(out: str | Path) -> int:
    """How many finished videos' folders `out` holds (by this batch or earlier ones; 0 where `out` is not there)."""
    return len(_earlier_sources(Path(out)))


def _read_note(folder: Path) -> dict[str, Any] | None:
    """The `batch.json` of a published video's folder, or None where there is none or it is not a JSON object."""
    try:
        note = json.loads((folder / NOTE_NAME).read_text())
    except (OSError, ValueError):
        return None
    return note if isinstance(note, dict) else None


def _make_tasks(
    sources: Sequence[str],
    cfg: TrackerConfig,
    out: Path,
    save_video: bool,
    max_frames: int | None,
    factory: Any,
    gallery: Path | None,
    start: bytes | None,
) -> list[VideoTask]:
    cfg_dict = config_to_dict(cfg)
    tracking = {k: v for k, v in cfg_dict.items() if k != "batch"}  # how a batch runs does not change outputs
    start_digest = None if start is None else hashlib.sha256(start).hexdigest()
    tasks = []
    for index, (source, name) in enumerate(zip(sources, _names(sources, out), strict=True)):
        identity = {"source": _file_identity(str(source)), "config": tracking, "video": save_video, "max": max_frames}
        identity["gallery"] = [gallery is not None, start_digest]
        digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:_TASK_KEY_CHARS]
        tasks.append(
            VideoTask(
                index, str(source), name, out, cfg_dict, digest, save_video, max_frames, factory, gallery is not None
            )
        )
    return tasks


def _check_gallery(gallery: Path, cfg: TrackerConfig, own_tracker: bool = False) -> None:
    """Fail before any work on a gallery that cannot be used (one clear error). `own_tracker`: the caller's
    `make_tracker`, whose embeddings' D this cannot know."""
    from tracker.gallery import Gallery
    from tracker.gallery_file import check_saveable
    from tracker.pipeline import reid_model_identity, require_gallery_appearance

    require_gallery_appearance(cfg)
    check_saveable(gallery)  # the reduce saves it when every video has ended: found then, the batch's work was spent
    if gallery.exists():
        loaded = Gallery.load(gallery, cfg.gallery)  # GalleryError: unreadable, corrupt, newer format
        model = reid_model_identity(cfg)
        if cfg.reid.model != "auto" and not own_tracker:  # OSNet's D is known unloaded (auto's: the detector's)
            from tracker.reid.osnet import FEATURE_DIM

            model = dataclasses.replace(model, dim=FEATURE_DIM)  # a gallery bound to no model may hold another D
        loaded.bind_model(model)  # GalleryModelError: made with another ReID model, or of another D


def track_many(
    sources: Sequence[str | Path],
    config: TrackerConfig | str | Path | None,
    out_dir: str | Path,
    engine: str = "local",
    address: str | None = None,
    gpus_per_video: float = 0.0,
    workers: int | None = None,
    save_video: bool = True,
    max_frames: int | None = None,
    progress: bool = True,
    make_tracker: TrackerFactory | None = None,
    gallery: str | Path | None = None,
) -> BatchSummary:
    """Track every source in its own task; outputs in `out_dir/<name>/` (the files `track` writes).

    Args:
        sources: what `track` accepts, one per video (missing or broken ones fail alone).
        config: the tracker config for every video: a `TrackerConfig`, a YAML file (`load_config`), or None
            (the defaults).
        out_dir: the batch folder; a re-run reuses videos whose outputs came from the same inputs.
        engine: "ray" (Ray tasks; `address` joins a cluster, None starts a local Ray) or "local" (processes).
        gpus_per_video: GPU share each Ray task asks for (e.g. 0.25: four videos per GPU); Ray only.
        workers: local engine: processes at a time (default: one per core); not used by Ray (one task per free
            CPU; `track batch --engine ray --workers N` is refused).
        make_tracker: (config, frame rate, gallery=None) -> Tracker, picklable (a module-level function);
            default `Tracker.from_config`. Tests give a fake detector this way.
        gallery: an identity gallery file (`tracker.gallery`; created if absent). Every task starts from it
            as it is now; when all videos have ended, their identities are linked into it in one reduce
            step (`tracker.batch_link`), global IDs are written beside each video's outputs, and the file
            is saved atomically. When no video was tracked to its end (every one failed), nothing is linked and
            the file is left as it was, or not created (`BatchSummary.gallery_saved` False).
    Returns:
        A `BatchSummary` with one result per source, in order.
    Raises:
        TypeError: `sources` given as one string or path (a list is needed), `config` of another type, `gallery`
            not a path (a `Gallery` object).
        ConfigError: a YAML `config` that cannot be used.
        ValueError: unknown engine, no sources, a GPU share with the local engine, a gallery without ReID.
        ImportError: engine "ray" without Ray installed.
        GalleryError: a gallery file that cannot be used: unreadable, corrupt, or made with another ReID model
            (checked before any video starts).
        FolderInUse: another run uses the gallery file, or another batch (or `track` run) writes into `out_dir`
            (`tracker.io.lock`; checked before any video starts).
        FileNotFoundError: missing detector or ReID weights (with the default tracker, on this machine: the local
            engine or a local Ray; checked before any video starts; on a cluster each task checks on its node).
        OSError: `out_dir` cannot be created or written (named).
    """
    if isinstance(sources, str | Path):  # (a string was tracked character by character: "b.mp4" opened webcam 4)
        raise TypeError(f"sources must be a list of sources, one per video, got one: [{str(sources)!r}]")
    if config is not None and not isinstance(config, TrackerConfig | str | Path):
        raise TypeError(
            f"config must be a TrackerConfig, a YAML path or None (load_config(path, overrides)), got "
            f"{type(config).__name__}"
        )
    if gallery is not None and not isinstance(gallery, str | os.PathLike):  # (a `Gallery`: "expected str, bytes ...")
        raise TypeError(
            f"gallery must be the path of a gallery file (every task reads it, the batch saves it), got "
            f"{type(gallery).__name__}"
        )
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    if not sources:
        raise ValueError("no sources to track")
    if not 0 <= gpus_per_video < float("inf"):  # NaN too: Ray failed on it after starting ("cannot convert")
        raise ValueError(f"gpus_per_video must be a finite number >= 0, got {gpus_per_video}")
    if engine == "local" and (gpus_per_video or address):
        raise ValueError("--gpus-per-video and --address need --engine ray (local processes share the device)")
    if engine == "ray":
        from tracker.ray_engine import check_reachable, import_ray

        import_ray()  # the clear errors before any work
        check_reachable(address)
    cfg = config if isinstance(config, TrackerConfig) else load_config(config)  # (None: the defaults)
    if make_tracker is None and (engine == "local" or not (address or os.environ.get(ADDRESS_ENV))):
        from tracker.pipeline import require_model_files

        require_model_files(cfg)  # once, not per video (a cluster's nodes look for weights on their own disks)
    gallery_path = None if gallery is None else Path(gallery)
    with ExitStack() as held:
        if gallery_path is not None:
            held.enter_context(gallery_lock(gallery_path))  # no other run adds to it until it is linked
            _check_gallery(gallery_path, cfg, own_tracker=make_tracker is not None)
        out = Path(out_dir)  # one batch at a time: a second one would delete and rename this one's folders
        held.enter_context(FolderLock(out, subject=f"the batch folder {out}"))
        start = gallery_path.read_bytes() if gallery_path is not None and gallery_path.exists() else None
        sources_ = [str(s) for s in sources]
        tasks = _make_tasks(sources_, cfg, out, save_video, max_frames, make_tracker, gallery_path, start)
        started = time.perf_counter()
        reused = {t.index: r for t in tasks if (r := _reused(t)) is not None}
        unnamed = {t.index: r for t in tasks if t.index not in reused and (r := _names_nothing(t)) is not None}
        todo = [t for t in tasks if t.index not in reused and t.index not in unnamed]
        monitor = _Monitor(todo, progress and bool(todo))  # (every video reused or unnamed: no empty bar)
        try:
            with _sigterm_interrupts():
                if not todo:
                    results = []
                elif engine == "ray":
                    results = _run_ray(todo, cfg.batch, monitor, address, gpus_per_video, start)
                else:
                    results = _run_local(todo, cfg.batch, monitor, workers or os.cpu_count() or 1, start)
        finally:
            monitor.close()
        by_index = reused | unnamed | {r.index: r for r in results}
        videos = [by_index[t.index] for t in tasks]
        summary = BatchSummary(videos, 0.0, engine, gallery=gallery_path)
        if gallery_path is not None:
            from tracker.gallery import Gallery

            finished = [LinkedVideo(v.out_dir, v.stem) for v in videos if v.status != "failed" and v.stem]
            names = [v.name for v in videos if v.status != "failed" and v.stem]
            if finished:
                summary.global_ids = dict(zip(names, link_batch(finished, gallery_path, cfg), strict=True))
                saved = {i.global_id for i in Gallery.load(gallery_path, cfg.gallery, prune=False).identities}
                summary.gallery_identities = len(saved)  # a start gallery's identities too, not only the batch's
                summary.unsaved_identities = len(summary.identities - saved)
            else:  # nothing to link: the file is left as it was (it used to be saved: pruned, or made empty)
                summary.gallery_saved = False
                log.warning("no video was tracked, so the gallery %s was not saved", gallery_path)
        summary.seconds = time.perf_counter() - started
        return summary
