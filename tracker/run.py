"""The `track` run: source -> tracker -> MOT txt, JSONL and annotated video, with a progress bar.

`run_track(options)` does everything the command does (config, source, models, outputs); `track_source`
is the loop itself, for callers that bring their own `Tracker` (tests use a fake detector). Outputs stay
valid whatever stops the loop: the MOT file and the JSONL are flushed every frame and the video is
released in a `finally`; SIGINT/SIGTERM only set a flag, so the frame in hand is finished first (a
second signal aborts at once, still closing the files). A run of one re-readable source writes a resume
checkpoint into its folder (`tracker.resume`); `--resume` continues it where the checkpoint stands. One run at
a time writes into a folder (`tracker.io.lock`): a second one, or a resume of a running one, is refused at its start.

The pieces around the loop have their own modules: `tracker.run_config` (the config and its ReID fallback),
`tracker.run_outputs` (run folders, output files), `tracker.run_summary` (`RunSummary`, summary.json),
`tracker.run_resume` (checking and restoring a checkpoint), `tracker.run_gallery` (`--gallery`'s file) and
`tracker.stop_flag` (SIGINT/SIGTERM).
"""

from __future__ import annotations

import itertools
import logging
import os
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, nullcontext
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, cast

import numpy as np

from tracker.batch_repeats import refuse_repeated
from tracker.config import MIN_FRAME_RATE, TrackerConfig, load_config, log_unused_settings
from tracker.detector import image_size_not_used
from tracker.device import resolve_device
from tracker.file_errors import one_line
from tracker.frame_rate import choose_frame_rate
from tracker.gallery import GalleryConflictError
from tracker.gallery_records import GalleryError
from tracker.global_ids import GlobalIdHistory, drop_kept_rows, keep_rows, live_tracks
from tracker.io.jsonl import read_jsonl_tracks
from tracker.io.lock import FolderLock, gallery_lock
from tracker.io.mot import unique_stem
from tracker.io.names import shown_name
from tracker.io.sources import (
    VIDEO_EXTENSIONS,
    FrameSource,
    SourceError,
    glob_name_before_sequence,
    open_source,
    resolve_source,
    tracked_limit,
)
from tracker.io.strict_json import write_json_atomic
from tracker.io.video import Annotator
from tracker.log_source import naming_source
from tracker.model_setup import check_gallery_model
from tracker.pipeline import Tracker
from tracker.progress_stream import ProgressStream
from tracker.resume import (
    CHECKPOINT_NAME,
    DEFAULT_CHECKPOINT_SECONDS,
    GALLERY_RECORD_NAME,
    Checkpointer,
    Progress,
    ResumeError,
    not_resumable,
    resumable,
    run_identity,
    stopped_after,
)
from tracker.run_config import asks_for_reid, load_run_config, reid_fallback
from tracker.run_folders import refuse_gallery_in_batch_folder
from tracker.run_gallery import GallerySaver, LinkedSources, check_gallery_unchanged, open_gallery
from tracker.run_outputs import (
    DEFAULT_RUNS_DIR,
    FULL_DISK_HINT,
    RunOutputs,
    check_output_paths,
    disk_full,
    naming_file,
    newest_run_dir,
    next_run_dir,
    source_files,
    summary_name,
)
from tracker.run_resume import AlreadyFinished, checkpoint_of, read_resumed_run, restore_state
from tracker.run_summary import (
    RunSummary,
    combine,
    count_frame,
    note_camera_failure,
    note_counts,
    note_reports,
)
from tracker.shown_ids import ShownIds
from tracker.stop_flag import StopFlag
from tracker.wording import count

__all__ = [
    "AlreadyFinished",
    "RunAborted",
    "RunSummary",
    "TrackOptions",
    "load_run_config",
    "newest_run_dir",
    "next_run_dir",
    "reid_fallback",
    "restore_state",
    "run_track",
    "track_source",
    "unique_stem",
]

log = logging.getLogger(__name__)

WINDOW_NAME = "track"
QUIT_KEY = "q"
SHOW_WAIT_MS = 1
DISPLAY_PROBE_SECONDS = 10.0  # `--show`: the most a child process may take to open and close a window first
_STREAMS = ("url", "webcam")  # `resolve_source` kinds opened only when their turn comes (a stream may not wait)
# Decode and detect the next frame in a background thread (`Tracker.stream`): None lets `stream` decide (ahead
# unless the detector is a PyTorch model; tools/bench_pipeline.py, stream vs update rows).
DETECT_AHEAD: bool | None = None


class RunAborted(KeyboardInterrupt):
    """A run aborted by a second Ctrl-C (or a KeyboardInterrupt of the caller's) after it wrote a checkpoint: the
    `checkpoint` file a `--resume` continues from (outputs are cut back to it then; at most one checkpoint interval
    is tracked again)."""

    def __init__(self, checkpoint: Path) -> None:
        super().__init__(f"aborted; {checkpoint} resumes the run")
        self.checkpoint = checkpoint


_GALLERY_LEFT = "gallery_left"  # attribute of a KeyboardInterrupt out of `run_track`: what its gallery file holds


def gallery_left(interrupt: BaseException) -> str:
    """What the gallery file holds after the KeyboardInterrupt (or `RunAborted`) `interrupt` stopped `run_track`
    (`GallerySaver.left_after_interrupt`, to follow "interrupted"); "" when it did not stop the run's gallery
    saves (no gallery, or before they began)."""
    said = getattr(interrupt, _GALLERY_LEFT, None)
    if said is None and isinstance(interrupt, RunAborted) and interrupt.__cause__ is not None:
        said = getattr(interrupt.__cause__, _GALLERY_LEFT, None)
    return said or ""


@contextmanager
def _interrupt_says_what_the_gallery_holds(saver: GallerySaver) -> Iterator[None]:
    """A KeyboardInterrupt out of the block (one during a gallery save, a second Ctrl-C) carries what the gallery
    file holds then (`gallery_left`): "track: interrupted" said nothing of it, saved or as it was."""
    try:
        yield
    except KeyboardInterrupt as exc:
        setattr(exc, _GALLERY_LEFT, saver.left_after_interrupt())
        raise


@contextmanager
def _aborted_with_checkpoint(folder: Callable[[], Path | None]) -> Iterator[None]:
    """An abort (KeyboardInterrupt) inside raises `RunAborted` when the run's `folder()` holds a checkpoint, so
    that the command can say the run can go on (a first Ctrl-C's summary says it; an abort printed no summary)."""
    try:
        yield
    except KeyboardInterrupt as exc:
        where = folder()
        checkpoint = None if where is None else where / CHECKPOINT_NAME
        if isinstance(exc, RunAborted) or checkpoint is None or not checkpoint.exists():
            raise
        raise RunAborted(checkpoint) from exc


@dataclass(frozen=True)
class TrackOptions:
    """Everything the `track` command takes (see `tracker.cli`)."""

    source: str
    config: str | None = None
    overrides: tuple[str, ...] = ()
    out: Path | None = None
    save_video: bool = True
    show: bool = False
    progress: bool = True
    max_frames: int | None = None
    frame_rate: float | None = None  # --fps: force this rate whatever the source declares
    more_sources: tuple[str, ...] = ()  # tracked in turn after `source`, against the same gallery
    gallery: Path | None = None  # identity gallery file: loaded if present, written back
    relink: bool = False  # link sources the gallery holds the sightings of already again (else refused)
    resume: bool = False  # continue the run in `out` (default: the newest run folder of the source) from its checkpoint
    checkpoint_seconds: float = DEFAULT_CHECKPOINT_SECONDS  # wall time between resume checkpoints; 0: none
    vid_stride: int = 1  # --vid-stride: track source frames 1, 1 + N, 1 + 2N, ... (`FrameSource.stride`)
    line_width: int | None = None  # --line-width: the annotated video's box and trail width in pixels (None: scaled)


def _show(canvas: np.ndarray) -> bool:
    """Show a frame; True when the user pressed the quit key."""
    import cv2

    cv2.imshow(WINDOW_NAME, canvas)
    return cv2.waitKey(SHOW_WAIT_MS) & 0xFF == ord(QUIT_KEY)


def _as_bgr(image: np.ndarray) -> np.ndarray:
    return image if image.ndim == 3 else np.repeat(image[:, :, None], 3, axis=2)


def track_source(
    tracker: Tracker,
    source: FrameSource,
    out_dir: Path,
    save_video: bool = True,
    show: bool = False,
    progress: bool = True,
    max_frames: int | None = None,
    name: str | None = None,
    after_frame: Callable[[], None] | None = None,
    checkpointer: Checkpointer | None = None,
    resume: Progress | None = None,
    saves_failed: Callable[[], list[str]] = list,
    line_width: int | None = None,
) -> RunSummary:
    """Track every frame of `source`, writing `<name>.txt`, `<name>.jsonl`, `<name>.mp4`, `config.yaml` (the
    tracker's config) and the summary to `out_dir`.

    With a gallery, the MOT txt and the video show the global IDs (the same person has the same ID in every
    output); the JSONL carries both (`id` local to this source, `global_id`).
    A stream that fails for good ends the loop with `summary.error` set (the outputs so far are kept).

    Args:
        name: file stem of the outputs (default: the source's name).
        after_frame: called after each frame (e.g. a periodic gallery save).
        checkpointer: writes the resume checkpoint (after the first frame, when `due`, at a stop); the caller
            deletes it once the run finished and its gallery was saved (a run killed before that resumes).
        resume: where the run being resumed stopped (the tracker's state must be restored already): the txt and
            JSONL are cut to its lengths and continued, the video is drawn again up to it from the JSONL, the
            source is read on from the frame after it, and the summary counts the frames before it.
        saves_failed: the periodic gallery saves that failed since the source began (`GallerySaver.failed`; the
            caller adds them to the summary at its end), kept in each checkpoint: a resumed run's summary names them.
        max_frames: the source frames to read at most: with a `source.stride` of N, the frames among its first
            `max_frames` that the stride keeps (`tracked_limit`) are tracked.
        line_width: the annotated video's box and trail width in pixels (None: `Annotator`'s, scaled to the frame).

    With a `source.stride` of N (`--vid-stride`), the tracker is given frames 1, 1 + N, ... and must have been built
    at the source's rate / N (the time between the frames it is given); the outputs keep the source's frame numbers
    and the video holds the tracked frames, played at the tracker's rate.
    """
    from tqdm import tqdm

    stem = name or source.name
    summary = RunSummary(expected_frames=source.total, name=stem, global_ids=tracker.gallery is not None)
    summary.frame_rate = tracker.frame_rate
    summary.vid_stride = source.stride
    summary.detector_ran_at = image_size_not_used(tracker.detector)  # (a fixed-size export: what ran, not asked)
    if checkpointer is not None:  # what a `--resume` of this folder is checked against, once it finished too
        summary.source = checkpointer.identity.get("source")
    video_rate = tracker.frame_rate if save_video else None
    outputs = RunOutputs(
        out_dir, stem, video_rate, summary_name(stem, name is not None), source_files(source), tracker.config,
        summary.detector_ran_at, source.stride,
    )  # fmt: skip
    summary.outputs = outputs.paths
    annotator = Annotator(line_width, tracker.frame_rate, tracker.config.video)  # (seconds: as long at any stride)
    done = resume or Progress()
    summary.frames, summary.recovered = done.frames, done.recovered
    summary.tracks = ShownIds.from_runs(done.track_runs) | done.tracks  # (an older checkpoint lists each ID)
    summary.recognised = done.recognised
    summary.size_changes, summary.last_size = done.size_changes, tuple(done.last_size)
    summary.camera_motion_failure_numbers = list(done.camera_motion_failure_numbers)
    summary.gallery_saves_failed = list(done.gallery_saves_failed)
    history = GlobalIdHistory()  # with a gallery: each track's global IDs, one for all its rows at the end
    if resume is not None:
        outputs.open(resume)
        if tracker.gallery is not None:
            if resume.global_id_spans is not None:  # kept in the checkpoint: O(spans), not O(the run's length)
                history = GlobalIdHistory.from_spans(resume.global_id_spans, resume.global_id_kept)
            else:  # a checkpoint written before they were kept: read back from the JSONL rows before it
                history = GlobalIdHistory.from_jsonl(outputs.jsonl_path, resume.jsonl_bytes)
        if not save_video:  # nothing to draw: the frames before the checkpoint are not even decoded
            source.skip_to, source.corrupt_frames = resume.last_frame, resume.corrupt_frames
            source.corrupt_numbers = list(resume.corrupt_numbers)
            if source.depth is not None and resume.depth_bits is not None:  # fixed by an image passed over
                source.depth.bits = resume.depth_bits
    ids_kept = history if tracker.gallery is not None else None  # (what each checkpoint keeps of it)
    source.end = max_frames  # (source positions: unreadable frames among the first `max_frames` count towards it)
    limit = tracked_limit(max_frames, source.stride)
    expected = summary.to_track = tracked_limit(source.total, source.stride)  # (summary.json's `expected_frames`)
    total = min(expected, limit) if expected and limit else (expected or limit)  # (the bar's: a --max-frames' first)
    left = None if limit is None else max(limit - done.frames, 0)
    # the bar counts the frames reached, tracked or skipped as unreadable: a run to the end fills it (it stopped at
    # 6/8 where 2 of 8 images were damaged, as if cut short)
    passed = done.corrupt_frames  # unreadable frames counted on the bar so far (those before a checkpoint: initial)
    bar = tqdm(  # (named when several sources run in turn: each has a bar of its own)
        total=total, initial=done.frames + passed, desc=name, unit="frame", disable=not progress, file=ProgressStream(),
        dynamic_ncols=True,
    )  # fmt: skip
    start = time.perf_counter()
    last_number = done.last_frame

    def checkpointed() -> tuple[Any, Progress]:  # (state, progress) after `last_number`, for `checkpointer`
        return checkpoint_of(tracker, outputs, summary, source, last_number, start, done, saves_failed(), ids_kept)

    # The handlers stay while the outputs close: a second signal then cannot cut the files short.
    with StopFlag() as stop:
        try:
            source.should_stop = lambda: stop.stopped
            frames = iter(source)
            if resume is not None and save_video:
                frames = _redraw(frames, resume, outputs, annotator, tracker.gallery is not None, lambda: stop.stopped)
            # The next frame is decoded and detected in a background thread while this one is tracked and drawn.
            in_flight: deque[tuple[int, np.ndarray]] = deque()  # (number, image) of the frames handed to stream()
            # a live stream's frame times (`FrameSource.frame_time`), one per frame handed to stream(): an outage is
            # advanced by the tracker; a file's frames are consecutive (a variable-rate file's too: as numbered)
            times: deque[float | None] | None = deque() if source.live else None

            def images() -> Iterator[np.ndarray]:
                for number, image in itertools.islice(frames, left):  # nothing read past the limit
                    in_flight.append((number, image))
                    if times is not None:
                        times.append(source.frame_time)
                    yield image

            stamps = None if times is None else _taken(times)
            tracked = tracker.stream(images(), detect_ahead=DETECT_AHEAD, timestamps=stamps)
            failures = tracker.camera_motion_failures  # (a resumed run's, restored)
            try:
                for objects in tracked:
                    number, image = in_flight.popleft()
                    failures = note_camera_failure(summary, tracker, number, failures)
                    local = objects
                    if tracker.gallery is not None:
                        # (with a gallery every object given has its global ID: `TrackedObject.global_id`)
                        objects = [replace(o, track_id=cast(int, o.global_id)) for o in objects]
                        history.observe(number, local, lambda: live_tracks(tracker.core))  # (forgets ended tracks)
                    outputs.write(number, objects, local)
                    count_frame(summary, objects, image)
                    if after_frame is not None:
                        after_frame()
                    if save_video or show:
                        canvas = annotator.draw(_as_bgr(image), objects)
                        if save_video:
                            outputs.write_video(number, canvas)
                        if show and _show(canvas):
                            stop.stopped = True
                    bar.update(1 + max(source.corrupt_frames - passed, 0))  # (read ahead: maybe the next one's)
                    passed = max(passed, source.corrupt_frames)
                    last_number = number
                    if checkpointer is not None and checkpointer.due():
                        with naming_file(checkpointer.path):  # (a full disk: the first checkpoint is the largest file)
                            checkpointer.write(*checkpointed())
                    if stop.stopped:
                        break
            except SourceError as exc:
                summary.error = str(exc)
            finally:
                tracked.close()  # stops the background thread
            summary.interrupted = stop.stopped
            # A stop between frames leaves a consistent state: checkpoint it, so a resume loses nothing.
            stopped = summary.interrupted or summary.error
            summary.cut_short = not stopped and _cut_short(left, summary.frames - done.frames, last_number, source)
            # with a gallery, a cut by `max_frames` too: the gallery holds the frames so far, and --resume goes on
            cut = summary.cut_short and tracker.gallery is not None
            last_checkpointed = checkpointer is not None and checkpointer.last_frame == last_number
            if checkpointer is not None and (stopped or cut) and outputs.opened and not last_checkpointed:
                with naming_file(checkpointer.path):
                    checkpointer.write(*checkpointed())
        except KeyboardInterrupt:  # a second signal aborts at once: the summary still says so
            summary.interrupted = True
            raise
        except Exception as exc:  # a crash (the ReID out of memory): summary.json must not say the run finished
            summary.error = _error_said(exc)
            raise
        finally:
            stop.closing = True
            summary.seconds = done.seconds + time.perf_counter() - start
            note_counts(summary, tracker, source)
            bar.update(max(source.corrupt_frames - passed, 0))  # (unreadable frames after the last one tracked)
            bar.close()
            if not (summary.interrupted or summary.error):  # (a stopped run's video ends at its last frame tracked)
                outputs.finish_video(source.last_skipped)
            unclosed = _close(outputs, summary)
            if tracker.gallery is not None and outputs.opened and not (summary.interrupted or summary.error):
                replaced = history.replacements()  # a track's rows: the global ID it ended with
                if replaced:  # the rows as written stay for a resume (it cuts them) until the checkpoint goes
                    if checkpointer is not None or resume is not None:
                        keep_rows(outputs.txt)
                    history.replace_in(outputs.txt, replaced)
                summary.global_ids_replaced = replaced
                summary.tracks = summary.tracks.replaced(replaced)
            if show:
                import cv2

                cv2.destroyAllWindows()
            if outputs.opened:  # a source that never yielded a frame leaves nothing behind, and has nothing to
                note_reports(summary, tracker)  # report ("box size noise: ... too few updates to measure: 0")
                _write_summary(outputs.summary_path, summary)
            else:  # (files of these names in an --out reused are an earlier run's, not this run's outputs)
                summary.opened = False
        if unclosed is not None:  # (reached only when no other error is on its way out)
            raise unclosed
    return summary


def _taken(times: deque[float | None]) -> Iterator[float | None]:
    """The times of the frames `images()` handed to `stream()`, in their order: `stream` reads each one right after
    its frame (`tracker.frames.with_times`), when `images()` has just appended it."""
    while True:
        yield times.popleft()


def _cut_short(left: int | None, tracked: int, last: int, source: FrameSource) -> bool:
    """Whether a loop that tracked `tracked` frames, the last numbered `last`, stopped at its limit (`left` frames:
    `max_frames`, or the reader at `source.end`, unreadable frames before it) with frames of `source` after it that
    its stride keeps (its length unknown: a glob growing, a stream)."""
    if source.reached_end and source.end is not None:  # (the last position the stride keeps up to the limit)
        last = (tracked_limit(source.end, source.stride) - 1) * source.stride + 1
    elif left is None or tracked != left:
        return False
    return source.total is None or last + source.stride <= source.total


def _close(outputs: RunOutputs, summary: RunSummary) -> OSError | None:
    """Close the run's `outputs`; a file that cannot be closed (a full disk: the JSONL's last flush) is the run's
    error when it had none (returned, for the caller to raise once summary.json is written), and is logged beside the
    error it had: that one, the cause, stays the one said (a full disk said "[Errno 28] No space left on device" of
    the close, not of the write that first failed, and no summary.json was written)."""
    try:
        outputs.close()
    except OSError as exc:
        if summary.error is None:
            summary.error = _error_said(exc)
            return exc
        _log_beside(exc, summary)
    return None


def _write_summary(path: Path, summary: RunSummary) -> None:
    """Write summary.json to `path`, atomically. On a run that already failed (an output it could not write: a full
    disk) or was interrupted, a summary that cannot be written is logged, so that the error said, or the interruption,
    stays the cause; otherwise its OSError names `path`."""
    try:
        with naming_file(path):
            write_json_atomic(path, summary.to_json(), indent=2)
    except OSError as exc:
        if summary.error is None and not summary.interrupted:
            raise
        _log_beside(exc, summary)


def _log_beside(exc: OSError, summary: RunSummary) -> None:
    """Log `exc`, an output that could not be closed or written after the run had stopped (`summary`): an error, or,
    where the run's own error is a full disk and this is one too, an INFO line (`--verbose`): the one error line
    said is the cause, and what else the full disk kept from being written follows from it (a full disk printed an
    ERROR line for summary.json before `track: error: ...`)."""
    if summary.error is not None and disk_full(exc) and FULL_DISK_HINT in summary.error:
        log.info("%s", exc)
    else:
        log.error("%s", exc)


def _redraw(
    frames: Iterator[tuple[int, np.ndarray]],
    resume: Progress,
    outputs: RunOutputs,
    annotator: Annotator,
    shown_global: bool,
    stopped: Callable[[], bool],
) -> Iterator[tuple[int, np.ndarray]]:
    """The frames after `resume.last_frame`, once those up to it are drawn again into the video from the rows the
    JSONL holds for them (no detection or ReID). A stop while redrawing ends the frames (the checkpoint stays)."""
    saved = read_jsonl_tracks(outputs.jsonl_path, resume.jsonl_bytes, shown_global)
    log.info("drawing the %d frames before the checkpoint into the video again", len(saved))
    for number, image in frames:
        if number > resume.last_frame:
            yield number, image
        elif stopped():
            return
        elif number in saved:
            outputs.write_video(number, annotator.draw(_as_bgr(image), saved[number]))


def _check_display(show: bool) -> None:
    """SourceError unless `--show` can open a window: on Linux a display must be set, and OpenCV's window backend
    must start on it. A DISPLAY whose X server is gone (a stale SSH session, a container) made Qt abort the whole
    process at the first frame (SIGABRT, exit 134): no summary, a `.txt.partial` and an unplayable mp4 left; a
    headless OpenCV raised at that frame. The backend is tried in a child process, before any model loads."""
    if not show:
        return
    has_display = os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    if sys.platform.startswith("linux") and not has_display:
        raise SourceError("--show needs a display (DISPLAY is not set); use the saved video instead")
    probe = f"import cv2; cv2.namedWindow({WINDOW_NAME!r}); cv2.waitKey({SHOW_WAIT_MS}); cv2.destroyAllWindows()"
    try:
        tried = subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, timeout=DISPLAY_PROBE_SECONDS
        )
    except subprocess.TimeoutExpired:  # a slow remote display: let the run try it
        return
    if tried.returncode != 0:
        said = [line.strip() for line in (tried.stderr or "").splitlines() if line.strip()]
        shown = f"DISPLAY={os.environ.get('DISPLAY')!r}" if os.environ.get("DISPLAY") else "the display"
        raise SourceError(
            f"--show cannot open a window on {shown} (OpenCV's window backend failed"
            f"{': ' + said[0] if said else ''}); use the saved video instead"
        )


def run_track(options: TrackOptions, notify: Callable[[str], None] | None = None) -> RunSummary:
    """The whole `track` command: config, sources, models, gallery, outputs.

    Several sources are tracked in turn, each with its own frame rate, frame numbers and output files
    (`<name>.txt/.jsonl/.mp4` in one output folder); with `options.gallery` they share one identity gallery,
    loaded from the file if it exists and written back atomically every `gallery.save_every_seconds` (in a
    background thread while the frames go on: `tracker.run_gallery.GallerySaver`), after each source and when the
    run stops (also on an error or an interruption; those saves are complete, and the thread joined, on return).

    Args:
        options: what to track and where to write.
        notify: receives notes for the user (e.g. the ReID fallback); None logs them.
    A single source that can be read again (a file, a folder, a glob) is checkpointed every
    `options.checkpoint_seconds` into the run folder (`tracker.resume`); with `options.resume` the run in
    `options.out` (default: the newest run folder of the source) continues from its checkpoint.

    Raises:
        ConfigError: bad config key or value. SourceError: source missing or not readable. ValueError: without a
        gallery, one source given twice (`a.mp4 ./a.mp4`, a link to it: `tracker.batch_repeats`), before any work.
        FileNotFoundError: missing weights (named). GalleryError: unreadable gallery file (left untouched),
        or one made with another ReID model. ResumeError: `--resume` with several sources, a live source, no
        checkpoint, a checkpoint of another run or a damaged one, or a `max_frames` below the frames its run tracked.
        AlreadyFinished: `--resume` of a run that finished. FolderInUse: another live run is writing into the
        output folder, or uses the gallery file (`tracker.io.lock`). RunAborted: a KeyboardInterrupt (a second
        Ctrl-C) once a checkpoint was written, naming it (before that: the KeyboardInterrupt as it came).
    """
    notify = notify or log.warning
    _check_display(options.show)
    cfg = load_config(options.config, overrides=list(options.overrides))
    log_unused_settings(cfg)  # (warned once per run: the trackers it builds do not)
    names = (options.source, *options.more_sources)
    if options.gallery is not None:  # (a batch's re-run would delete it: before anything is opened or made)
        refuse_gallery_in_batch_folder(options.gallery)
    if options.resume and options.more_sources:
        raise ResumeError("--resume continues one source's run; `track batch` resumes many videos")
    if options.resume and resolve_source(options.source) in _STREAMS:
        raise not_resumable(options.source)  # before opening it: a webcam opens now, and may not be there
    if options.gallery is None:  # (a gallery refuses a source given twice by its bytes: `LinkedSources`)
        refuse_repeated(names)  # (each was tracked into outputs of its own, `a.txt` and `a_2.txt`, without a word)
    # Files, folders and globs (and names that are none of these) are opened, i.e. checked, now, before anything is
    # tracked: a typo or a non-video in the last name must not cost a long first video. Webcams and URLs are opened
    # in turn (a stream may not wait).
    opened = {i: open_source(name) for i, name in enumerate(names) if i == 0 or resolve_source(name) not in _STREAMS}
    cfg, note = reid_fallback(cfg, asks_for_reid(options.config, options.overrides), options.gallery is not None)
    rate = _frame_rate(opened[0], cfg, options, notify)
    _note_missing_images(opened[0], notify)
    out = options.out
    if out is not None:
        check_output_paths(out, names, opened, options.save_video, options.gallery)
        _note_video_named_folder(out, opened[0].name, notify)
    checkpointed = len(names) == 1 and options.checkpoint_seconds > 0 and resumable(options.source, opened[0])
    device = str(resolve_device(cfg.device))
    identity = (
        run_identity(options.source, opened[0], cfg, rate, device, options.gallery, options.vid_stride)
        if options.resume or checkpointed
        else {}
    )
    if options.resume:
        out = out if out is not None else newest_run_dir(DEFAULT_RUNS_DIR, opened[0].name)
        if out is None:
            raise ResumeError(
                f"no earlier run of {options.source} in {DEFAULT_RUNS_DIR}: name its folder (--resume --out DIR)"
            )
    # The output folder is locked from here to the end: another run into it (or a resume of it) is refused now,
    # before any model loads, and this run's lock goes however it ends (the kernel drops it if the process dies).
    with ExitStack() as held:
        held.enter_context(_aborted_with_checkpoint(lambda: out))  # (left last: the folder's lock is gone by then)
        if out is not None:
            held.enter_context(FolderLock(out))
        checkpoint = None
        if options.resume:  # checked before any model is loaded
            # (`out` is the folder named or found above, else ResumeError: mypy loses that through the lambda above)
            resumed = cast(Path, out)
            earlier = glob_name_before_sequence(options.source)  # (a run begun before stop 77 named it so)
            checkpoint = read_resumed_run(
                resumed, opened[0].name, identity, options.max_frames, options.vid_stride, earlier
            )
        elif out is not None:  # before any model loads: the run about to be replaced could still be resumed
            _note_replaced_run(out, notify)
        if options.gallery is not None:  # read, added to and written back by one run at a time (its folder made)
            held.enter_context(gallery_lock(options.gallery, "--gallery", make_folder=True))
        gallery = open_gallery(options.gallery, cfg)
        # before the sources it holds: made with another ReID model, the way on for those (--relink) ends at it
        check_gallery_model(cfg, gallery)  # (no model loads: the ReID's weights file is hashed, as it is anyway)
        # before any model loads: sources whose sightings the gallery holds already are refused (unless --relink)
        linked = LinkedSources(gallery, options.gallery, names, options.relink, resumed=checkpoint is not None)
        first = Tracker.from_config(cfg, frame_rate=rate, gallery=gallery)  # GalleryModelError names the file
        if checkpoint is not None:
            restore_state(first, checkpoint)  # with a gallery, the one saved with the state (the file may be newer)
            gallery = first.gallery
            linked.gallery = gallery  # (its sources recorded as of the checkpoint)
            if gallery is not None and options.gallery is not None:  # (before anything is written)
                check_gallery_unchanged(options.gallery, cast(Path, out), gallery.file)  # (resumed: a folder)
            done = checkpoint.progress
            notify(f"resuming {out} after frame {done.last_frame} ({count(done.frames, 'frame')} tracked before)")
        if note:
            notify(note)
        if out is None:
            out = next_run_dir(DEFAULT_RUNS_DIR, opened[0].name)
            held.enter_context(FolderLock(out, made_here=True))  # removed again if nothing is written into it
        checkpointer = (
            Checkpointer(out / CHECKPOINT_NAME, identity, options.checkpoint_seconds) if checkpointed else None
        )
        # The record goes with the checkpoint a resume would start from: this run's own (`checkpointer`), or, in a
        # resume with --checkpoint-seconds 0, the one it started from, which stays until the run finishes.
        resumable_here = checkpointer is not None or checkpoint is not None
        record = out / GALLERY_RECORD_NAME if resumable_here and options.gallery is not None else None
        if checkpoint is None:  # a new run: a record an earlier run left in this folder belongs to no checkpoint of it
            (out / GALLERY_RECORD_NAME).unlink(missing_ok=True)
        saver = GallerySaver(
            gallery, options.gallery, cfg.gallery.save_every_seconds, resumed=checkpoint is not None, record=record,
            notify=notify, aside=out,
        )  # fmt: skip
        summaries: list[RunSummary] = []
        stems: set[str] = set()
        held.enter_context(_interrupt_says_what_the_gallery_holds(saver))  # (left before the gallery's lock goes)
        try:
            for i, name in enumerate(names):
                source = opened[i] if i in opened else open_source(name)
                source.stride = options.vid_stride
                stem = unique_stem(source.name, stems)
                with naming_source(stem) if len(names) > 1 else nullcontext():  # whose the log records are
                    tracker = first
                    if i > 0:
                        rate = _frame_rate(source, cfg, options, notify)
                        _note_missing_images(source, notify)
                        tracker = Tracker(cfg, rate, detector=first.detector, embedder=first.embedder, gallery=gallery)
                    tracker.core.source_name = stem  # (its outputs' name: two cameras' clip.mp4 are clip, clip_2)
                    saver.in_view_unstored = True  # (until `reset` below: what an abort before it leaves out)
                    linked.started(i)
                    summary = track_source(
                        tracker, source, out, options.save_video, options.show, options.progress, options.max_frames,
                        name=stem if len(names) > 1 else None, after_frame=saver.maybe_save, checkpointer=checkpointer,
                        resume=None if checkpoint is None else checkpoint.progress, saves_failed=lambda: saver.failed,
                        line_width=options.line_width,
                    )  # fmt: skip
                    tracker.reset()  # the identities still in view go to the gallery
                    saver.in_view_unstored = False
                    if summary.interrupted or summary.error or summary.cut_short:  # (its first frames only)
                        linked.stopped(i, summary.frames)
                    else:
                        linked.finished(i, summary.frames)
                    said = out / summary_name(stem, len(names) > 1)
                    try:
                        saver.save()
                    except (OSError, GalleryConflictError) as exc:  # its summary.json said "error": null
                        _note_unsaved_gallery(summary, exc, said, saver.take_failed())
                        raise
                    _note_unsaved_gallery(summary, None, said, saver.take_failed())  # (periodic saves that failed)
                    summaries.append(summary)
                    if summary.interrupted or summary.error:
                        break
                    if summary.cut_short and options.gallery is not None:
                        kept = checkpointer is not None  # its checkpoint kept: --resume goes on
                        cut = (options.max_frames, options.vid_stride)
                        _note_cut_short(summary, name, options.gallery, out if kept else None, notify, cut)
                        if kept:
                            continue
                    if checkpointer is not None:  # finished, its identities saved: nothing to resume (a run killed
                        checkpointer.remove()  # before the save above resumes and saves them)
                    if checkpoint is not None and checkpointer is None:  # resumed, --checkpoint-seconds 0: finished,
                        checkpoint.path.unlink(missing_ok=True)  # so the checkpoint it started from is spent
                    drop_kept_rows(out / f"{stem}.txt")  # (`keep_rows`: spent with the checkpoint)
        finally:
            saver.save()
            if record is not None and not (out / CHECKPOINT_NAME).exists():  # finished: nothing to resume
                record.unlink(missing_ok=True)
        combined = combine(summaries)
        if gallery is not None and options.gallery is not None and options.gallery.exists():
            combined.gallery_saved = (options.gallery, len(gallery))
        return combined


def _error_said(exc: Exception) -> str:
    """summary.json's `error` for `exc`, which ended the run: the one line `track` prints for an OSError or a
    GalleryError (a periodic gallery save that failed, an output that could not be written: a sentence naming the
    file, which "OSError: " before it told nothing more); anything else (a crash: the ReID out of memory) after its
    type's name, which its message may not give (`KeyError: 'boxes'`). An OSError's file names are as that line
    says them (`file_errors.one_line`), not Python's repr of them (`caf\\udce9` as text), each byte of a name that is
    not UTF-8 as U+FFFD (`shown_name`), as summary.json writes it."""
    if isinstance(exc, OSError | GalleryError) and str(exc).split():
        return shown_name(one_line(exc))
    return f"{type(exc).__name__}: {exc}"


def _note_unsaved_gallery(summary: RunSummary, exc: Exception | None, path: Path, failed: list[str]) -> None:
    """Set `summary.error` to the run's gallery save's failure `exc` (its one line: the gallery not saved where
    asked, and where it was saved instead, if aside; None: the save went well) and `summary.gallery_saves_failed`
    to the periodic saves that `failed` during the source (`GallerySaver.take_failed`), and write it again to its
    `path` (the summary.json the run wrote before the save; none when the source yielded no frame) when either
    changed it."""
    if exc is None and not failed:
        return
    if exc is not None and summary.error is None:
        summary.error = _error_said(exc)
    summary.gallery_saves_failed += failed
    if path.exists():
        write_json_atomic(path, summary.to_json(), indent=2)


def _note_cut_short(
    summary: RunSummary,
    source: str,
    gallery: Path,
    out: Path | None,
    notify: Callable[[str], None],
    cut: tuple[int | None, int] = (None, 1),
) -> None:
    """Tell a `--gallery` run that `--max-frames` stopped before the end of `source` that the gallery holds the
    sightings of its first frames only, and that `--resume --out out` goes on (its checkpoint is kept; None: none
    was written, several sources or `--checkpoint-seconds 0`, so nothing can go on): tracking the video again from
    its first frame would count them twice (`tracker.gallery_sources`), and it is refused. `cut`: `--max-frames` and
    `--vid-stride`; with a stride, the frames tracked are told as one in that many of the source's first
    `--max-frames` (it said "stopped after 10 frames (--max-frames)" of `--max-frames 20 --vid-stride 2`)."""
    limit, stride = cut
    given = " (--max-frames)"
    if limit is not None and stride > 1:
        given = f", one in {stride} of the source's first {limit} (--max-frames {limit} --vid-stride {stride})"
    said = (
        f"stopped after {count(summary.frames, 'frame')}{given}, before the end of {shown_name(source)}: "
        f"the gallery {shown_name(gallery)} holds the sightings of those frames only"
    )
    if out is not None:
        notify(
            f"{said}; the same command with --resume --out {shown_name(out)} (and a larger --max-frames, or none) "
            "goes on with the rest"
        )
    else:
        notify(
            f"{said}, and this run kept no checkpoint to go on from (several sources, or --checkpoint-seconds 0): "
            "tracking the rest into that gallery means tracking the video again, counting those frames twice "
            "(--relink)"
        )


def _note_video_named_folder(out: Path, name: str, notify: Callable[[str], None]) -> None:
    """Tell a run whose new `--out` is named like a video (`--out result.mp4`) that it is the run's folder: the run
    made a folder `result.mp4` and wrote `result.mp4/cam.mp4` into it without a word."""
    if out.suffix.lower() in VIDEO_EXTENSIONS and not out.is_dir():  # (meant as the annotated video)
        notify(
            f"--out {shown_name(out)} names the run's folder, not its video: the outputs go into it "
            f"({shown_name(out / name)}.mp4, .txt, .jsonl, ...)"
        )


def _note_replaced_run(out: Path, notify: Callable[[str], None]) -> None:
    """Tell a new run into `out` (a folder given with `--out`) that it replaces a stopped run there: the same command
    run again after a Ctrl-C, without `--resume`, removed that run's checkpoint without a word, and the run started
    over from the first frame."""
    last = stopped_after(out / CHECKPOINT_NAME)
    if last is not None:
        notify(
            f"{shown_name(out)} holds a run stopped after frame {last} ({CHECKPOINT_NAME}): this run starts over "
            "and replaces it (the same command with --resume continues a stopped run)"
        )


def _note_missing_images(source: FrameSource, notify: Callable[[str], None]) -> None:
    """Say so when a MOTChallenge sequence holds images for only its first frames: they were tracked without a word,
    and "tracked 4 frames" of a 525-frame sequence read as a bug."""
    if source.announced_frames is not None:
        notify(
            f"{source.name}: its seqinfo.ini announces {source.announced_frames} frames, its images stop after frame "
            f"{source.total}: tracking those"
        )


def _frame_rate(source: FrameSource, cfg: TrackerConfig, options: TrackOptions, notify: Callable[[str], None]) -> float:
    """The rate this source is tracked at: its frames/s (`--fps`, a plausible declared rate, or a fallback with a
    warning) over `options.vid_stride`, the time between the frames the tracker is given."""
    rate = choose_frame_rate(source.frame_rate, cfg, options.frame_rate, source.timestamp_rate, source.name)
    if rate.warning:
        notify(rate.warning)
    tracked = rate.frame_rate / options.vid_stride
    if tracked < MIN_FRAME_RATE:  # (the tracker's own error named frame_rate, which the user did not give)
        raise ValueError(
            f"--vid-stride {options.vid_stride} of {source.name}'s {rate.frame_rate:g} frames/s tracks {tracked:g} "
            f"frames/s, below the least the tracker takes ({MIN_FRAME_RATE:g}): give a smaller --vid-stride"
        )
    return tracked
