"""Running trackers over sequences in a process pool and writing MOTChallenge result files.

Each (tracker, sequence) result is written atomically beside a small JSON note holding a fingerprint of
everything that produced it (tracker config, the code that tracked: `code_digest`, inputs, frame range). A re-run
into the same folder reuses every result whose fingerprint still matches, so an interrupted evaluation resumes where
it stopped, and a result of other code or settings is made again. The note also holds the result file's SHA-256: a
result edited or replaced since (emptied, another tool's rows copied over it) is made again, not scored as ours.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
import multiprocessing
import os
import signal
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from tracker.camera_motion import CameraMotionEstimator
from tracker.config import TrackerConfig, config_to_dict, parse_config
from tracker.eval.code_digest import OURS_CODE, PEER_CODE, code_digest
from tracker.eval.inputs import FrameInputs, InputModels, SequenceInputs, load_inputs
from tracker.eval.sequences import Sequence
from tracker.io.mot import format_mot_row, write_text_atomic
from tracker.io.names import bounded_name
from tracker.io.opencv_files import read_image
from tracker.io.strict_json import nan_for_null, write_json_atomic
from tracker.parent_watch import on_parent_exit
from tracker.stop_flag import interrupts_held
from tracker.worker_log import LogRelay, relaying, send_to_parent

__all__ = [
    "OURS",
    "OURS_NO_CMC",
    "EvalInterrupted",
    "PeerFailure",
    "RunResult",
    "WorkerDied",
    "load_all_inputs",
    "parallel_map",
    "progress_bar",
    "run_all",
]

log = logging.getLogger(__name__)

OURS = "ours"
"""The name of our tracker in results and tables."""
OURS_NO_CMC = "ours-noCMC"
"""Ours with camera-motion compensation off (a compare row beside ours when ours has it on)."""
_MS_PER_S = 1e3
_MOTION_ONLY = ["appearance.enabled=false"]
# compensation off: the ours-noCMC row, and ours on a sequence without its images (nothing to estimate from)
_NO_COMPENSATION = ["motion.camera_compensation=none"]
_PEER_ROW_COLUMNS = 6  # a peer's row: track_id, x1, y1, x2, y2, score
_REASON_CHARS = 300  # a lost Ray worker's message is cut to this (Ray's run on with the task's whole description)
_INPUTS_KEY_CHARS = 16  # hex digits of the hash over a sequence's detector inputs (in a result's identity)
_EXIT_ORPHANED = 128 + signal.SIGTERM  # a pool worker whose parent is gone exits with this, as if terminated

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class RunResult:
    """One tracker on one sequence: where its results are and how fast its update was.

    Attributes:
        ms_per_frame: mean wall time of one tracker update (ours: `update_detections`; peers: `update`).
        appearance: embeddings were given to the tracker.
        cache_hit: the inputs came from the cache.
        inputs_seconds: time spent making (or reading back) the sequence's inputs.
        resumed: the result file of an earlier run was reused.
        calibration: ours' calibrated appearance bounds and queue quantiles at the end of the sequence
            (`Calibration.summary()`); None for peers.
        still: ours' fixed-scene-object figures at the end of the sequence (`StillBoxes.summary()`: the learnt
            jitter bound, and the tracks and track-frames not reported); None for peers, {} before the rule applies.
        measurement_noise: ours' measured box noise at the end of the sequence (`MeasurementNoise.summary()`);
            None for peers and when the rule is off.
        report_width: ours' reported box width at the end of the sequence (`TrackerCore.report_width()`: the
            aspect width's weight, measured or fixed); None for peers and when the report takes no aspect width.
        camera_motion: ours' camera-motion estimates of the sequence (`_camera_motion_report`: frames estimated,
            failed estimates, fits `auto` held back); None for peers and where compensation did not run.
        invalid_embeddings: ours' embedding rows refused as NaN, infinite or zero (`Tracker.invalid_embeddings`:
            those detections were matched by motion only, as `track`'s summary counts them); 0 for peers.
        failure: a peer that raised on this sequence: where and what (`frame 12: IndexError: ...`); no result
            file is left for it (an earlier run's is removed; a re-run tries it again). None where it ran (ours
            never gets one: ours raises).
    """

    tracker: str
    sequence: str
    path: Path
    ms_per_frame: float
    num_frames: int
    appearance: bool
    cache_hit: bool
    inputs_seconds: float
    resumed: bool
    calibration: dict[str, Any] | None = None
    still: dict[str, float] | None = None
    measurement_noise: dict[str, float] | None = None
    report_width: dict[str, float] | None = None
    camera_motion: dict[str, int] | None = None
    invalid_embeddings: int = 0
    failure: str | None = None


class PeerFailure(Exception):
    """A peer tracker raised on a sequence (its package's fault, not the run's): the message says at which frame
    and what it raised."""


class WorkerDied(RuntimeError):
    """A process running jobs died without raising (`kill -9`, the out-of-memory killer; a lost Ray worker or node):
    the message says so; jobs that finished before kept their files."""


class EvalInterrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM) while `run_all` ran its jobs: `finished` of its `total` results are in `out_dir` (`reused`
    of them taken from an earlier run), kept for a re-run to resume."""

    def __init__(self, finished: int, reused: int, total: int, out_dir: Path) -> None:
        super().__init__(f"interrupted with {finished} of {total} results in {out_dir}")
        self.finished, self.reused, self.total, self.out_dir = finished, reused, total, out_dir


class UnreadableImage(FileNotFoundError):
    """An image of the sequence that cannot be read (missing, or not an image OpenCV decodes): the sequence's input
    error, whichever tracker it was read for; never a peer's failure (`_track_peer` lets it through)."""


# The summaries ours reports at the end of a sequence, beside its rows: RunResult fields and the note's keys.
_REPORTS = ("calibration", "still", "measurement_noise", "report_width", "camera_motion")
_COUNTS = ("invalid_embeddings",)  # ours' counters of a sequence (ints), kept the same way


def _init_worker(relay: LogRelay) -> None:
    """Pool workers leave Ctrl-C to the parent (which cancels what has not started), log through it (`relay`), use
    one thread each, and end when the parent process is gone (`_exit_orphaned`)."""
    send_to_parent(relay)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    on_parent_exit(_exit_orphaned)
    import torch

    torch.set_num_threads(1)


def _exit_orphaned() -> None:
    """End this pool worker now: its parent was killed (`kill -9`, the out-of-memory killer), so nobody takes its
    result, and it would otherwise track its sequence to the end and then wait for work forever, racing a re-run.
    A hard exit (the pool's worker loop would catch an exception and wait for the next job): a result or note
    being written stays as it was (`write_text_atomic`: the old file or none; a left `.partial` file is
    overwritten by the next write), and a result without its note is tracked again by a re-run."""
    log.warning("the evaluation's parent process ended: stopping this worker (pid %d)", os.getpid())
    os._exit(_EXIT_ORPHANED)


def parallel_map(
    fn: Callable[[T], R],
    items: Iterable[T],
    workers: int,
    engine: str = "process",
    done: Callable[[], object] | None = None,
) -> list[R]:
    """`[fn(x) for x in items]`, in `workers` spawned processes when `workers` > 1, or one Ray task per item.
    `done`: called in this process once per item that has finished (a progress bar's step; the pool's in item order).

    Spawned, not forked: a fork after torch has started its thread pools can deadlock the child.
    On an interrupt, items not yet started are cancelled; running ones finish (their writes are atomic). A worker
    whose parent process is killed (`kill -9`) exits at once (`_exit_orphaned`).
    engine "ray": tasks on the Ray session in use, else on $RAY_ADDRESS or a local Ray (`tracker.ray_engine`).

    Raises:
        WorkerDied: a pool process, or a Ray worker or node (after Ray's retries), died without raising.
        Exception: what `fn` raised, as it raised it.
    """
    items = list(items)
    if engine == "ray" and items:
        from tracker.ray_engine import import_ray, ray_map, worker_logs_hint

        ray = import_ray()
        try:
            return ray_map(fn, items, done=done)
        except ray.exceptions.RayError as exc:  # (a task's own error is raised as itself by ray_map)
            if isinstance(exc, ray.exceptions.RayTaskError):  # (one whose error Ray could not give back)
                raise
            reason = " ".join(str(exc).split())[:_REASON_CHARS]
            raise WorkerDied(f"a Ray worker died ({type(exc).__name__}: {reason}); {worker_logs_hint(ray)}") from exc
    step = done or (lambda: None)
    if workers <= 1 or len(items) <= 1:
        serial = []
        for x in items:
            serial.append(fn(x))
            step()
        return serial
    context = multiprocessing.get_context("spawn")
    with relaying(context) as relay:  # (the workers' log records are printed as the parent's own)
        pool = ProcessPoolExecutor(
            max_workers=min(workers, len(items)), mp_context=context, initializer=_init_worker, initargs=(relay,)
        )
        try:
            results = []
            for result in pool.map(fn, items):
                results.append(result)
                step()
        except BrokenProcessPool as exc:
            pool.shutdown(wait=True, cancel_futures=True)
            raise WorkerDied("a worker process died (killed, or out of memory)") from exc
        except BaseException:
            # a second Ctrl-C cut the shutdown short: its workers, never told to stop, held the run at its exit for ever
            with interrupts_held():
                pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
    return results


@contextmanager
def progress_bar(label: str | None, total: int, unit: str) -> Iterator[Callable[[], object]]:
    """A bar on stderr (`tracker.progress_stream`) of `total` steps named `label` ("tracking", "scoring"), in `unit`s;
    yields its one-step function, for `parallel_map`'s `done`. None where `label` is None (`--quiet`) or there is
    nothing to do: a run whose results were all reused shows none."""
    from tqdm import tqdm

    from tracker.progress_stream import ProgressStream

    shown = label is not None and total > 0
    with tqdm(total=total, desc=label, unit=unit, disable=not shown, file=ProgressStream(), dynamic_ncols=True) as bar:
        yield lambda: bar.update()


def _track_ours(
    cfg: TrackerConfig, seq: Sequence, inputs: SequenceInputs
) -> tuple[list[str], float, dict[str, dict[str, Any] | int | None]]:
    """MOT rows, tracking seconds, and the reports of our tracker on one sequence (`_REPORTS`: the calibration,
    still-rule, measured-noise, reported-width and camera-motion summaries; `_COUNTS`: the invalid embeddings)."""
    from tracker import Tracker

    # Camera motion is estimated from the images where they all exist (its time counts as tracking time); without
    # them compensation is off (as it could not run: `update_detections` would warn that it gets no motion)
    overrides = ([] if inputs.appearance else _MOTION_ONLY) + ([] if seq.has_all_images else _NO_COMPENSATION)
    tracker = Tracker(cfg.replace(overrides) if overrides else cfg, frame_rate=seq.info.frame_rate)
    estimator = tracker.camera_motion
    size = seq.frame_size
    lines: list[str] = []
    elapsed = 0.0
    for number, frame in enumerate(inputs.frames, start=1):
        image = _read_image(seq, number) if estimator is not None else None
        start = time.perf_counter()
        motion = estimator.estimate(image, frame.boxes_xyxy) if estimator is not None and image is not None else None
        objects = frame.track(tracker, motion, 0.0 if estimator is None else estimator.noise_px, size)
        elapsed += time.perf_counter() - start
        lines.extend(format_mot_row(number, o.track_id, o.xyxy, o.score) for o in objects)
    core = tracker.core
    noise = core.measurement_noise.summary() if core.measurement_noise.enabled else None
    return lines, elapsed, {"calibration": core.calibration.summary(), "still": core.still.summary(),
                            "measurement_noise": noise, "report_width": core.report_width(),
                            "camera_motion": _camera_motion_report(estimator),
                            "invalid_embeddings": tracker.invalid_embeddings}  # fmt: skip


def _camera_motion_report(estimator: CameraMotionEstimator | None) -> dict[str, int] | None:
    """What `track`'s summary says of the camera motion (`RunSummary.to_json`'s `camera_motion`): frames estimated,
    failed estimates (the identity used), fits `auto` held back as too small to tell from noise and, where any,
    estimates bridged across failed frames; None where compensation did not run (off, or images missing)."""
    if estimator is None:
        return None
    report = {"estimates": estimator.estimates, "failures": estimator.failures, "held": estimator.held}
    return report | ({"bridged": estimator.bridged} if estimator.bridged else {})


def _read_image(seq: Sequence, number: int) -> np.ndarray:
    """The image of evaluated frame `number` (1-based within the evaluated range)."""
    path = seq.info.image_path(seq.first + number - 1)
    image = read_image(path)  # (bytes: OpenCV given a path that is not UTF-8 crashes the process)
    if image is None:
        raise UnreadableImage(f"cannot read {path}")
    return image


def _track_peer(name: str, seq: Sequence, inputs: SequenceInputs) -> tuple[list[str], float]:
    """MOT rows and tracking seconds of peer `name` on one sequence.

    Raises:
        PeerFailure: the peer raised while starting or on a frame (the message names the frame and the error).
        UnreadableImage: an image of the sequence the peer is given cannot be read (the sequence's error, as
            `track eval` raises it for ours; not the peer's).
    """
    progress = [0]
    try:
        return _track_peer_frames(name, seq, inputs, progress)
    except UnreadableImage:  # our reading of the sequence's input, not the peer's package
        raise
    except Exception as exc:  # whatever the peer's package raises: a numpy, scipy, torch or its own error
        where = f"frame {progress[0]}" if progress[0] else "starting"
        raise PeerFailure(f"{where}: {type(exc).__name__}: {exc}") from exc


def _track_peer_frames(
    name: str, seq: Sequence, inputs: SequenceInputs, progress: list[int]
) -> tuple[list[str], float]:
    """`_track_peer`'s work; `progress[0]` holds the frame being tracked (0 while the peer is built)."""
    from tracker.eval.boxmot_peers import BOXMOT_PEERS, BoxmotPeer
    from tracker.eval.peers import PEERS, PeerTracker

    spec = BOXMOT_PEERS[name] if name in BOXMOT_PEERS else PEERS[name]
    peer = (BoxmotPeer if name in BOXMOT_PEERS else PeerTracker).create(name, seq.info.frame_rate)
    with_images = spec.uses_images and seq.has_all_images
    size = seq.frame_size
    lines: list[str] = []
    elapsed = 0.0
    for number, frame in enumerate(inputs.frames, start=1):
        progress[0] = number
        image = _read_image(seq, number) if with_images else None
        start = time.perf_counter()
        rows = peer.update(frame.boxes_xyxy, frame.scores, frame.class_ids, frame.embeddings, image)
        elapsed += time.perf_counter() - start
        boxes = _in_frame(rows, size)
        lines.extend(format_mot_row(number, row[0], box, row[5]) for row, box in zip(rows, boxes, strict=True))
    return lines, elapsed


def _in_frame(rows: np.ndarray, size: tuple[int, int] | None) -> np.ndarray:
    """The (M, 4) xyxy boxes of a peer's (M, 6) rows clipped to the frame (`size`: height, width in pixels), as
    ours' reported boxes are (`TrackerCore` with `frame_size`) and as ultralytics' own `track` reports them
    (`Results.update` clips): a peer's Kalman box reaching past the border would otherwise be scored against the
    gt's in-frame box. Unclipped where the size is unknown (None)."""
    boxes = np.asarray(rows, dtype=np.float64).reshape(-1, _PEER_ROW_COLUMNS)[:, 1:5]
    if size is None:
        return boxes
    height, width = size
    return np.clip(boxes, 0.0, [width, height, width, height])


def _inputs_digest(frames: list[FrameInputs]) -> str:
    digest = hashlib.sha256()
    for f in frames:
        for array in (f.boxes_xyxy, f.scores, f.class_ids, f.embeddings):
            if array is not None:
                digest.update(array.tobytes())
        digest.update(b"|")
    return digest.hexdigest()[:_INPUTS_KEY_CHARS]


def _tracker_identity(name: str, cfg_dict: dict[str, Any]) -> Any:
    if name in (OURS, OURS_NO_CMC):
        return cfg_dict
    from tracker.eval.boxmot_peers import BOXMOT_PEERS, boxmot_version

    if name in BOXMOT_PEERS:
        return {"peer": name, "settings": dataclasses.asdict(BOXMOT_PEERS[name]), "boxmot": boxmot_version()}
    import ultralytics

    from tracker.eval.peers import PEERS

    return {"peer": name, "settings": dataclasses.asdict(PEERS[name]), "ultralytics": ultralytics.__version__}


@dataclass(frozen=True)
class _Job:
    tracker: str
    cfg_dict: dict[str, Any]
    seq: Sequence
    inputs: SequenceInputs
    path: Path
    fingerprint: str

    def result(self, ms_per_frame: float, resumed: bool, reports: dict[str, Any] | None = None) -> RunResult:
        """The RunResult of this job; `reports`: ours' summaries by `_REPORTS` name (missing or not a dict: None)
        and counters by `_COUNTS` name (missing or not an int: 0)."""
        inputs = self.inputs
        kept = {name: value for name, value in (reports or {}).items() if name in _REPORTS and isinstance(value, dict)}
        counts = {name: value for name, value in (reports or {}).items() if name in _COUNTS and _is_count(value)}
        named: dict[str, Any] = {**kept, **counts}  # (RunResult's report and counter fields, each of its own type)
        return RunResult(
            self.tracker, self.seq.name, self.path, ms_per_frame, self.seq.num_frames, inputs.appearance,
            inputs.cache_hit, inputs.seconds, resumed, **named,
        )  # fmt: skip


def _is_count(value: Any) -> bool:
    """A counter as a note holds it: an int >= 0 (not a bool, which JSON also reads as an int)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _make_job(name: str, cfg_dict: dict[str, Any], seq: Sequence, inputs: SequenceInputs, out_dir: Path) -> _Job:
    identity = {
        "tracker": _tracker_identity(name, cfg_dict),
        "code": code_digest(OURS_CODE if name in (OURS, OURS_NO_CMC) else PEER_CODE),  # a result of other code: redo
        "inputs": _inputs_digest(inputs.frames),
        "appearance": inputs.appearance,
        "frames": [seq.first, seq.last],
    }
    path = out_dir / name / f"{bounded_name(seq.name)}.txt"  # (a 250-byte name: "File name too long")
    return _Job(name, cfg_dict, seq, inputs, path, json.dumps(identity, sort_keys=True))


def _note_path(job: _Job) -> Path:
    return job.path.with_suffix(".json")


def _finished(job: _Job) -> RunResult | None:
    """The result of an earlier run with the same fingerprint, if its files are there."""
    if not (job.path.is_file() and _note_path(job).is_file()):
        return None
    try:
        note = json.loads(_note_path(job).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(note, dict) or note.get("fingerprint") != job.fingerprint:
        return None
    if note.get("result_sha256") != _file_sha256(job.path):  # (a note of before the digest: made again too)
        log.info("%s / %s: the result file is not the one written: tracking again", job.tracker, job.seq.name)
        return None
    missing = [name for name in (*_REPORTS, *_COUNTS) if name not in note] if job.tracker in (OURS, OURS_NO_CMC) else []
    if missing:  # a note of an earlier version (before these reports existed): its summary would lack them
        log.info("%s / %s: the earlier result has no %s: tracking again", job.tracker, job.seq.name, ", ".join(missing))
        return None
    log.info("%s / %s: reusing the finished result", job.tracker, job.seq.name)
    return job.result(float(nan_for_null(note.get("ms_per_frame", 0.0))), True, note)


def _file_sha256(path: Path) -> str | None:
    """The SHA-256 (hex) of the file at `path`; None where it cannot be read."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _run_job(job: _Job) -> RunResult:
    seq, inputs = job.seq, job.inputs
    reports: dict[str, Any] = {}
    if job.tracker in (OURS, OURS_NO_CMC):
        lines, elapsed, reports = _track_ours(parse_config(job.cfg_dict), seq, inputs)
    else:
        try:
            lines, elapsed = _track_peer(job.tracker, seq, inputs)
        except PeerFailure as exc:  # the other trackers and sequences go on; the table leaves this peer out
            log.info("%s / %s: the peer failed at %s", job.tracker, seq.name, exc)  # (the CLI says it, one line)
            _note_path(job).unlink(missing_ok=True)  # an earlier run's result (other inputs, other code) is not
            job.path.unlink(missing_ok=True)  # this run's: the folder holds none for a sequence the peer failed on
            return dataclasses.replace(job.result(math.nan, False), failure=str(exc))
    ms = _MS_PER_S * elapsed / max(len(inputs.frames), 1)
    text = "".join(lines)
    digest = hashlib.sha256(text.encode()).hexdigest()
    note = {"fingerprint": job.fingerprint, "result_sha256": digest, "ms_per_frame": ms, **reports}
    try:  # (a folder not writable, a file where a folder goes, a full disk: one line naming the result)
        job.path.parent.mkdir(parents=True, exist_ok=True)
        _note_path(job).unlink(missing_ok=True)  # result and note are replaced together: never a stale note
        write_text_atomic(job.path, text)
        write_json_atomic(_note_path(job), note)
    except OSError as exc:
        # a rename's error names its temporary file first: what stands in the way is where it goes (`filename2`)
        in_the_way = exc.filename2 or exc.filename
        where = f": {in_the_way}" if in_the_way else ""
        raise OSError(f"cannot write the result file {job.path} ({exc.strerror or exc}{where})") from exc
    log.info("%s / %s: %d frames, %.2f ms per frame", job.tracker, seq.name, len(inputs.frames), ms)
    return job.result(ms, False, reports)


def load_all_inputs(
    cfg: TrackerConfig,
    sequences: list[Sequence],
    source: str,
    cache_dir: Path | None,
    use_cache: bool = True,
    progress: bool = False,
) -> dict[str, SequenceInputs]:
    """sequence name -> its inputs, made (or read from the cache) in this process: the detector and the ReID
    model load once, and only when a sequence is not in the cache (a fully cached run loads neither). `progress`:
    a bar on stderr per sequence whose images the models run over (`load_inputs`).

    Raises:
        FileNotFoundError: missing weights, images or det.txt (`load_inputs`), before any tracking starts.
    """
    models = InputModels(cfg)
    return {seq.name: load_inputs(seq, source, cfg, cache_dir, use_cache, models, progress) for seq in sequences}


def run_all(
    trackers: list[str],
    cfg: TrackerConfig,
    sequences: list[Sequence],
    source: str,
    out_dir: Path,
    cache_dir: Path | None,
    use_cache: bool = True,
    workers: int = 1,
    engine: str = "process",
    inputs: dict[str, SequenceInputs] | None = None,
    bar: str | None = None,
) -> list[RunResult]:
    """Every tracker on every sequence; results in `out_dir/<tracker>/<sequence>.txt`. `bar`: the label of a
    progress bar on stderr over the results to make, one step a (tracker, sequence) result (`progress_bar`).

    Inputs are made (or read from the cache) once per sequence in this process, so models load once
    (`load_all_inputs`; `inputs`: already made by the caller). Results of an earlier run with the same
    fingerprint are reused; the rest run in `workers` processes (engine "process") or as Ray tasks (engine
    "ray"), each given its sequence's inputs. Result order: trackers outer, sequences inner.

    Raises:
        EvalInterrupted: Ctrl-C (KeyboardInterrupt) while the runs go on; it says how many results are on disk (a
            later run with the same fingerprint reuses them).
        WorkerDied: a pool process or a Ray worker died without raising (`parallel_map`).
        FileNotFoundError: missing weights, images or det.txt (`load_all_inputs`), before any tracking starts.
    """
    if inputs is None:
        inputs = load_all_inputs(cfg, sequences, source, cache_dir, use_cache)
    cfg_dicts = {OURS_NO_CMC: config_to_dict(cfg.replace(_NO_COMPENSATION))}
    cfg_dict = config_to_dict(cfg)
    jobs = [
        _make_job(t, cfg_dicts.get(t, cfg_dict), seq, inputs[seq.name], Path(out_dir))
        for t in trackers
        for seq in sequences
    ]
    results: list[RunResult | None] = [_finished(job) for job in jobs]
    pending = [i for i, r in enumerate(results) if r is None]
    try:
        with progress_bar(bar, len(pending), "result") as step:
            made = parallel_map(_run_job, [jobs[i] for i in pending], workers, engine, step)
            for i, result in zip(pending, made, strict=True):
                results[i] = result
    except KeyboardInterrupt:  # the message says how many are on disk (a worker may have written one not yet
        finished = sum(_finished(job) is not None for job in jobs)  # handed back here: counted from the files)
        raise EvalInterrupted(finished, len(jobs) - len(pending), len(jobs), Path(out_dir)) from None
    return [r for r in results if r is not None]
