"""The body of every `track batch` task: one video tracked from its first frame to its last in this process, its
outputs written to `out/.<name>.partial/` and renamed to `out/<name>/` when it ends (`run_video`).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tracker.batch_link import save_video_identities
from tracker.batch_progress import NullChannel, Progress
from tracker.batch_work import NOTE_NAME, VideoResult, VideoTask, one_line, recorded_source, source_key
from tracker.config import BatchConfig, TrackerConfig, parse_config
from tracker.io.strict_json import to_json
from tracker.log_source import naming_source
from tracker.weights import weights_here

if TYPE_CHECKING:
    from tracker.run_summary import RunSummary

__all__ = ["INTERRUPTED", "THREADS_PER_VIDEO", "run_video"]

log = logging.getLogger("tracker.batch")  # the batch's logger: its messages keep their source

OLD_SUFFIX = ".old"  # out/.<name>.old/: outputs of an earlier run, while being replaced
THREADS_PER_VIDEO = 1  # torch threads in a task: one video per core is the unit of parallelism
INTERRUPTED = "interrupted"  # the reason of a video stopped by a signal
NO_FRAMES_READ = "no frames were read, so no outputs were written"  # a failed video's reason where none says more


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


def _given_up(task: VideoTask, result: VideoResult, reason: str) -> VideoResult:
    """`result` (still "failed") with its `reason`, the video's partial folder removed: nothing of it is published."""
    shutil.rmtree(task.partial_dir, ignore_errors=True)
    result.reason = reason
    return result


def _video_note(task: VideoTask, summary: RunSummary, result: VideoResult, stem: str) -> dict[str, Any]:
    """The note (`NOTE_NAME`) a finished video's folder holds: its task's fingerprint, its source (as the batch shows
    it: a camera URL's password is written nowhere) and key, what `summary` (`track_source`'s) and `result` say of
    its run, and its output files (a re-run reuses the video only with all of them there)."""
    note: dict[str, Any] = {
        "fingerprint": task.fingerprint,
        "source": recorded_source(task.source),
        "path": source_key(task.source),
    }
    note |= {"frames": summary.frames, "error": summary.error}
    note |= {"tracks": result.tracks, "seconds": summary.seconds, "stem": stem, "ended_early": result.ended_early}
    note["recognised"] = result.recognised
    if summary.cut_short:  # (else left out: the note as before)
        note["cut_short"] = True
    note["outputs"] = [p.name for p in summary.outputs]
    return note


def _publish(partial: Path, final: Path) -> None:
    """Move a finished video's folder into place; outputs of an earlier run are replaced whole.

    The earlier outputs are moved aside (`.<name>.old`) while the new ones are renamed in, and put back where that
    rename fails (or where a publish killed between its renames left them there): a failed publish loses nothing.

    Raises:
        OSError: a rename failed (the system's error); where the earlier outputs could not be put back either, one
            saying where they are.
    """
    old = final.with_name(f".{final.name}{OLD_SUFFIX}")
    if old.exists() and not final.exists():  # a publish killed between its renames: the earlier outputs are these
        os.replace(old, final)
    shutil.rmtree(old, ignore_errors=True)
    moved = final.exists()
    if moved:
        os.replace(final, old)
    try:
        os.replace(partial, final)
    except OSError as exc:
        if moved:
            _put_back(old, final, exc)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _put_back(old: Path, final: Path, exc: OSError) -> None:
    """The earlier outputs moved aside to `old` back at `final`, the new ones' rename having failed for `exc`.

    Raises:
        OSError: they cannot be moved back: `exc`'s words, saying where they are (same type and errno).
    """
    try:
        os.replace(old, final)
    except OSError as again:
        kept = type(exc)(f"{one_line(exc)}; the outputs of the earlier run are kept in {old} ({one_line(again)})")
        kept.errno = exc.errno
        raise kept from exc


def run_video(
    task: VideoTask,
    channel: Any = None,
    progress_seconds: float = BatchConfig.progress_seconds,
    start_gallery: bytes | None = None,
    detector_weights: bytes | None = None,
) -> VideoResult:
    """Track one video from its first frame to its last, in this process; the body of every batch task.

    `start_gallery`: the gallery file as the batch began (with `task.use_gallery`; None: an empty gallery).
    `detector_weights`: the bytes of the file `detector.model` names on the driver (a Ray cluster's): on a node
    where that path holds other bytes or none, a copy in this machine's cache is used (`tracker.weights.weights_here`).

    Outputs appear in `task.out_dir` only when the video ends (written to `task.partial_dir`, then renamed).
    Errors of the video (missing, unreadable, bad weights, a stream that fails) come back as a "failed"
    result with a one-line reason; a crash of the process is the engine's to retry. The library's log records of
    the task start with the video's name (`tracker.log_source`): the batch's workers interleave several videos.
    """
    with naming_source(task.name):
        return _run_video(task, channel, progress_seconds, start_gallery, detector_weights)


def _run_video(
    task: VideoTask,
    channel: Any,
    progress_seconds: float,
    start_gallery: bytes | None,
    detector_weights: bytes | None,
) -> VideoResult:
    """`run_video`'s work."""
    progress = Progress(channel if channel is not None else NullChannel(), task.index, progress_seconds)
    # first, before the imports (torch: seconds), so that the progress lines say at once which video started where
    progress.send("start", os.getpid())
    import torch

    from tracker.frame_rate import choose_frame_rate
    from tracker.io.sources import open_source
    from tracker.run import track_source
    from tracker.run_outputs import naming_file

    torch.set_num_threads(THREADS_PER_VIDEO)
    result = VideoResult(task.index, task.source, task.name, task.out_dir, "failed")
    shutil.rmtree(task.partial_dir, ignore_errors=True)  # what a killed attempt left
    try:
        cfg = parse_config(task.cfg_dict)
        if detector_weights is not None:  # the driver's file, on this node
            detector = str(weights_here(cfg.detector.model, detector_weights))
            cfg = dataclasses.replace(cfg, detector=dataclasses.replace(cfg.detector, model=detector))
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
        log.info("%s failed", task.name, exc_info=True)
        return _given_up(task, result, f"{type(exc).__name__}: {one_line(exc)}")
    result.frames, result.seconds, result.tracks = summary.frames, summary.seconds, len(summary.tracks)
    result.recognised = summary.recognised
    result.cut_short = summary.cut_short
    if summary.ended_early is not None and summary.expected_frames:
        result.ended_early = (summary.ended_early, summary.expected_frames)
    if summary.interrupted:
        return _given_up(task, result, INTERRUPTED)
    if not any(p.exists() for p in summary.outputs):  # no frame read (a stream that never opened): no folder to note
        # (not "cannot write .../batch.json", which hid the reason)
        return _given_up(task, result, summary.error or NO_FRAMES_READ)
    note = _video_note(task, summary, result, stem)
    try:  # (a disk that filled as the video ended: its worker died with a traceback, and the video ran again)
        with naming_file(task.partial_dir / NOTE_NAME):
            (task.partial_dir / NOTE_NAME).write_text(to_json(note, indent=1))
        _publish(task.partial_dir, task.out_dir)
    except OSError as exc:
        log.info("%s failed", task.name, exc_info=True)
        return _given_up(task, result, one_line(exc))  # (naming the file, as `track` says an output it cannot write)
    result.outputs = [task.out_dir / p.name for p in summary.outputs]
    result.stem = stem
    if summary.error:  # the frames read before a stream failed are kept, as `track` keeps them
        result.reason = summary.error
        return result
    result.status = "done"
    return result
