"""The `track` run: source -> tracker -> MOT txt, JSONL and annotated video, with a progress bar.

`run_track(options)` does everything the command does (config, source, models, outputs); `track_source`
is the loop itself, for callers that bring their own `Tracker` (tests use a fake detector). Outputs stay
valid whatever stops the loop: the MOT file and the JSONL are flushed every frame and the video is
released in a `finally`; SIGINT/SIGTERM only set a flag, so the frame in hand is finished first (a
second signal aborts at once, still closing the files). A run of one re-readable source writes a resume
checkpoint into its folder (`tracker.resume`); `--resume` continues it where the checkpoint stands. One run at
a time writes into a folder (`tracker.io.lock`): a second one, or a resume of a running one, is refused at its start.
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import FrameType
from typing import Any

import numpy as np
import yaml

from tracker.config import TrackerConfig, load_config
from tracker.device import resolve_device
from tracker.frame_rate import choose_frame_rate
from tracker.gallery import FileVersion, Gallery, check_saveable, file_version
from tracker.global_ids import GlobalIdHistory
from tracker.io.lock import FolderLock, gallery_lock
from tracker.io.mot import MotWriter, make_output_folder, open_truncated, resumed_file, unique_stem
from tracker.io.sources import CORRUPT_NUMBERS_KEPT, FrameSource, SourceError, open_source, resolve_source
from tracker.io.strict_json import to_json, write_json_atomic
from tracker.io.video import Annotator, VideoWriter
from tracker.pipeline import Tracker
from tracker.resume import (
    CHECKPOINT_NAME,
    DEFAULT_CHECKPOINT_SECONDS,
    GALLERY_RECORD_NAME,
    Checkpoint,
    Checkpointer,
    Progress,
    ResumeError,
    not_resumable,
    read_checkpoint,
    resumable,
    run_identity,
)
from tracker.signal_stack import install_signal_stack
from tracker.types import TrackedObject, TrackState
from tracker.weights import OSNET_ZOO_URL, resolve_weights
from tracker.wording import count

__all__ = [
    "AlreadyFinished",
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

DEFAULT_RUNS_DIR = Path("runs") / "track"
WINDOW_NAME = "track"
QUIT_KEY = "q"
SHOW_WAIT_MS = 1
DISPLAY_PROBE_SECONDS = 10.0  # `--show`: the most a child process may take to open and close a window first
JSON_DECIMALS = 2  # pixels
JSON_SCORE_DECIMALS = 4
_PYTORCH_SUFFIX = ".pt"
_STREAMS = ("url", "webcam")  # `resolve_source` kinds opened only when their turn comes (a stream may not wait)
CORRUPT_NUMBERS_SHOWN = 5  # unreadable frames (and failed camera-motion estimates) named in the printed summary
CAMERA_FAILURES_KEPT = CORRUPT_NUMBERS_KEPT  # positions of the first failed camera-motion estimates in summary.json
SUMMARY_NAME = "summary.json"  # written beside the outputs at the end of a run (atomically)
# Decode and detect the next frame in a background thread (`Tracker.stream`): None lets `stream` decide (ahead
# unless the detector is a PyTorch model; tools/bench_pipeline.py, stream vs update rows).
DETECT_AHEAD: bool | None = None


@dataclass
class RunSummary:
    """What a run did and where its files are."""

    frames: int = 0
    seconds: float = 0.0
    frame_rate: float | None = None  # frames/s the source was tracked at (None: several sources combined)
    tracks: set[Hashable] = field(default_factory=set)  # IDs shown; (source, ID) once several sources are combined
    recovered: int = 0
    corrupt_frames: int = 0
    corrupt_numbers: list[int] = field(default_factory=list)  # the first ones' positions (one source)
    size_changes: int = 0  # frames of another size than the frame before (tracks carry over in the old pixels)
    last_size: tuple[int, ...] = ()  # (height, width) of the last frame tracked, for `size_changes`
    ended_early: int | None = None
    expected_frames: int | None = None
    interrupted: bool = False
    camera_motion_failures: int = 0
    camera_motion_estimates: int | None = None  # frames whose camera motion was estimated; None: compensation off
    camera_motion_held: int = 0  # estimates `auto` held back as too small to tell from the fit's noise
    camera_motion_failure_numbers: list[int] = field(default_factory=list)  # the first failures' positions (one source)
    invalid_embeddings: int = 0  # embedding rows that were NaN, infinite or zero (matched by motion only)
    error: str | None = None
    outputs: list[Path] = field(default_factory=list)
    gaps: list[tuple[int, float]] = field(default_factory=list)
    calibration: dict[str, Any] = field(default_factory=dict)  # `Calibration.summary()` at the end; {}: no ReID
    name: str = ""  # the source's output stem
    birth_shapes: dict[int, list[float]] = field(default_factory=dict)  # `BirthShapes.summary()` of one source
    per_source: dict[str, dict[str, Any]] = field(default_factory=dict)  # several sources: name -> calibration
    births_per_source: dict[str, dict[int, list[float]]] = field(default_factory=dict)  # name -> birth_shapes
    still: dict[str, float] = field(default_factory=dict)  # `StillBoxes.summary()` of one source ({}: rule not applied)
    still_per_source: dict[str, dict[str, float]] = field(default_factory=dict)  # name -> still
    # `MeasurementNoise.summary()` of one source ({}: the measured box noise is off)
    measurement_noise: dict[str, float] = field(default_factory=dict)
    noise_per_source: dict[str, dict[str, float]] = field(default_factory=dict)  # name -> measurement_noise
    # `TrackerCore.report_width()` of one source ({}: the report takes no aspect width)
    report_width: dict[str, float] = field(default_factory=dict)
    report_width_per_source: dict[str, dict[str, float]] = field(default_factory=dict)  # name -> report_width
    global_ids: bool = False  # the IDs are a gallery's global ones (the same person has one ID in every source)
    global_ids_replaced: dict[int, int] = field(default_factory=dict)  # `tracker.global_ids`: new ID -> final ID
    gallery_saved: tuple[Path, int] | None = None  # `--gallery`: the file and the identities it holds at the end

    @property
    def fps(self) -> float:
        """Frames per second over the whole loop (detector, ReID, tracking and writing)."""
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        """JSON-ready: what `describe` says, for `summary.json` beside the outputs."""
        return {
            "frames": self.frames,
            "seconds": round(self.seconds, 3),
            "fps": round(self.fps, 2),
            **({"frame_rate": round(self.frame_rate, 3)} if self.frame_rate is not None else {}),
            "tracks": len(self.tracks),
            "recovered": self.recovered,
            "corrupt_frames": self.corrupt_frames,
            **({"corrupt_frame_numbers": self.corrupt_numbers} if self.corrupt_numbers else {}),
            **({"size_changes": self.size_changes} if self.size_changes else {}),
            **({"invalid_embeddings": self.invalid_embeddings} if self.invalid_embeddings else {}),
            # what `describe` prints beside: the camera motion (compensation on), a video cut short, stream drops
            **(
                {
                    "camera_motion": {
                        "estimates": self.camera_motion_estimates,
                        "failures": self.camera_motion_failures,
                        "held": self.camera_motion_held,
                        **(
                            {"failure_frames": self.camera_motion_failure_numbers}
                            if self.camera_motion_failure_numbers
                            else {}
                        ),
                    }
                }
                if self.camera_motion_estimates is not None
                else {}
            ),
            **(
                {"ended_early": {"last_frame": self.ended_early, "expected_frames": self.expected_frames}}
                if self.ended_early is not None
                else {}
            ),
            **(
                {"stream_gaps": [{"after_frame": f, "seconds": round(s, 3)} for f, s in self.gaps]} if self.gaps else {}
            ),
            "interrupted": self.interrupted,
            "error": self.error,
            "calibration": self.calibration,
            **({"calibration_per_source": self.per_source} if self.per_source else {}),
            **({"birth_shapes": self.birth_shapes} if self.birth_shapes else {}),
            **({"birth_shapes_per_source": self.births_per_source} if self.births_per_source else {}),
            **{key: value for key, value in self._source_reports() if value},
            **({"global_ids_replaced": self.global_ids_replaced} if self.global_ids_replaced else {}),
            "outputs": [str(p) for p in self.outputs],
        }

    def _source_reports(self) -> list[tuple[str, dict[str, Any]]]:
        """(summary.json key, value) of each `_SOURCE_REPORTS` report: of one source, then per source."""
        pairs = []
        for attribute, per_source, _describe in _SOURCE_REPORTS:
            pairs += [(attribute, getattr(self, attribute)), (f"{attribute}_per_source", getattr(self, per_source))]
        return pairs

    def describe(self) -> str:
        """A few lines for people: frames, speed, tracks, recoveries, problems, files."""
        verb = "stopped after" if self.interrupted or self.error else "tracked"
        lines = [
            f"{verb} {count(self.frames, 'frame')} in {self.seconds:.1f} s ({self.fps:.1f} frames/s)",
            f"{count(len(self.tracks), 'track')}; an ID came back after occlusion {count(self.recovered, 'time')}",
        ]
        if self.per_source:
            lines += [_describe_bounds(cal, f" of {name}") for name, cal in self.per_source.items()]
        elif self.calibration:
            lines.append(_describe_bounds(self.calibration))
        births = self.births_per_source or {"": self.birth_shapes}
        for name, shapes in births.items():
            where = f" of {name}" if name else ""
            for class_id, (low, high, looks) in shapes.items():
                lines.append(
                    f"new tracks of class {class_id}{where}: width/height {low:.2f}-{high:.2f} ({looks} looks learnt)"
                )
        for attribute, per_source, describe in _SOURCE_REPORTS:  # one line per source with the report
            reports = getattr(self, per_source) or {"": getattr(self, attribute)}
            lines += [describe(report, f" of {name}" if name else "") for name, report in reports.items() if report]
        if self.corrupt_frames:  # where they are (one source), so the damage can be found
            where = _frames_named(self.corrupt_numbers, self.corrupt_frames)
            lines.append(f"{count(self.corrupt_frames, 'unreadable frame')} skipped{where and f' ({where})'}")
        if self.size_changes:
            lines.append(
                f"the frame size changed {count(self.size_changes, 'time')}: tracks carried over in the old frame's "
                "pixels, so IDs across those frames mean little (images of several sizes in one source?)"
            )
        if self.invalid_embeddings:
            lines.append(
                f"NaN, infinite or zero embeddings: {count(self.invalid_embeddings, 'row')}, matched by motion only"
            )
        if self.camera_motion_failures:  # where (one source): a scene cut, a blank frame, a blur to look at
            where = _frames_named(self.camera_motion_failure_numbers, self.camera_motion_failures)
            lines.append(
                f"camera motion not found on {count(self.camera_motion_failures, 'frame')} "
                f"({where and f'{where}; '}identity used)"
            )
        if self.ended_early is not None:
            lines.append(  # OpenCV counts frames from the container's duration, which a longer sound track sets
                f"the video stops being readable after frame {self.ended_early} of the {self.expected_frames} its "
                "header announces (cut short or damaged, or its sound runs longer than its picture)"
            )
        if self.gaps:
            where = ", ".join(f"{seconds:.1f} s after frame {frame}" for frame, seconds in self.gaps)
            lines.append(f"the stream dropped {count(len(self.gaps), 'time')} and came back: no frames for {where}")
        if self.gallery_saved is not None:  # as `track batch` says it: was it written, and how many it holds
            path, size = self.gallery_saved
            lines.append(f"gallery {path}: {count(size, 'identity', 'identities')} saved")
        if not any(p.exists() for p in self.outputs):
            lines.append("no frames were read, so no outputs were written")
            return "\n".join(lines)
        lines.append("outputs:")
        lines += [f"  {p}" for p in self.outputs if p.exists()]
        checkpoint = self.outputs[0].parent / CHECKPOINT_NAME
        if (self.interrupted or self.error) and checkpoint.exists():  # else a user may not know the run can go on
            lines.append(f"the same command with --resume continues the run from {checkpoint}")
        return "\n".join(lines)


def _describe_bounds(cal: dict[str, Any], where: str = "") -> str:
    """One summary line for a `Calibration.summary()`: the bounds and why they are what they are."""
    bounds = ", ".join(f"{k} {v:.3f}" for k, v in cal["bounds"].items())
    if cal["calibrated"]:
        state = "calibrated online"
    elif cal.get("mode") == "online":  # too few different-identity pairs seen for the queues to decide
        state = f"fixed: not calibrated yet, {cal.get('negatives', {}).get('held', 0)} negatives"
    else:
        state = "fixed: calibration off"
    return f"appearance bounds{where} ({state}): {bounds}"


def _describe_still(still: dict[str, float], where: str = "") -> str:
    """One summary line for a `StillBoxes.summary()`: the learnt jitter bound and what it hid."""
    tracks = count(still["hidden_tracks"], "track")
    bound = "not learnt" if still["bound"] is None else f"{still['bound']:.4f} box heights"
    return (
        f"fixed scene objects{where}: jitter bound {bound} ({still['jitters']} jitters "
        f"learnt); {tracks} not reported, for {count(still['hidden_frames'], 'track-frame')}"
    )


def _describe_noise(noise: dict[str, float], where: str = "") -> str:
    """One summary line for a `MeasurementNoise.summary()`: the box sizes' noise as measured, against the model."""
    if noise["updates"] < noise["min_updates"]:
        return f"box size noise{where}: the model's (too few updates to measure: {noise['updates']:.0f})"
    sizes = ", ".join(  # the factor is on the variance; people read a standard deviation (jitter in pixels)
        f"{name} x{math.sqrt(noise[f'factor_{key}']):.2f}"
        if noise[f"white_{key}"]
        else f"{name} as modelled (its excess is motion: correlated frame to frame)"
        for key, name in (("w", "width"), ("h", "height"))
    )
    return f"box size noise{where} (standard deviation against the model's, {noise['updates']:.0f} updates): {sizes}"


def _describe_width(width: dict[str, float], where: str = "") -> str:
    """One summary line for a `TrackerCore.report_width()`: which width the boxes were reported at, and why."""
    if not width["measured"]:
        return f"reported box widths{where}: the smoothed aspect x the Kalman height (report_aspect_weighting off)"
    if width["pairs"] < width["min_pairs"]:
        return (
            f"reported box widths{where}: the Kalman width (too few pairs to measure the aspect's weight: "
            f"{width['pairs']:.0f} of {width['min_pairs']:.0f})"
        )
    return (
        f"reported box widths{where}: the Kalman width + {width['weight']:.2f} x (smoothed aspect width - Kalman "
        f"width), measured on {width['pairs']:.0f} pairs (relative RMS error against the next box: Kalman "
        f"{width['rms_kalman']:.3f}, aspect {width['rms_aspect']:.3f}, reported {width['rms_blend']:.3f})"
    )


# The end-of-source reports kept alike (a field of one source, its per-source map once sources are combined, its
# summary line): `summary.json` holds each as KEY and KEY_per_source, `describe` one line per source.
_SOURCE_REPORTS: tuple[tuple[str, str, Callable[[dict[str, float], str], str]], ...] = (
    ("still", "still_per_source", _describe_still),
    ("measurement_noise", "noise_per_source", _describe_noise),
    ("report_width", "report_width_per_source", _describe_width),
)


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
    resume: bool = False  # continue the run in `out` (default: the newest run folder of the source) from its checkpoint
    checkpoint_seconds: float = DEFAULT_CHECKPOINT_SECONDS  # wall time between resume checkpoints; 0: none


class AlreadyFinished(Exception):
    """`--resume` of a run that finished: there is nothing to do (the message says where it is)."""


def next_run_dir(base: Path, name: str) -> Path:
    """`base/name`, or `base/name2`, `base/name3`, ... : never an existing folder. The folder is created here
    (claimed: two runs started together never share one); a run that writes nothing removes it again.

    Raises:
        OSError: `base` cannot be created, naming it as the output folder.
    """
    make_output_folder(base)
    n = 1
    while True:
        candidate = _run_dir(base, name, n)
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            n += 1


def newest_run_dir(base: Path, name: str) -> Path | None:
    """The last of `base/name`, `base/name2`, ... that exists and holds outputs of `name` (the newest run
    `next_run_dir` made for it: `cam12` may be the second run of `cam1` or a run of `cam12`), or None."""
    newest, n = None, 1
    while (candidate := _run_dir(base, name, n)).exists():
        if (candidate / f"{name}.jsonl").exists():
            newest = candidate
        n += 1
    return newest


def _run_dir(base: Path, name: str, n: int) -> Path:
    """The n-th run folder of `name` (from 1): `base/name`, `base/name2`, ..."""
    return base / (name if n == 1 else f"{name}{n}")


def _asks_for_reid(config_path: str | None, overrides: tuple[str, ...]) -> bool:
    """Did the user name ReID settings (in --set or in their YAML), rather than take the defaults?"""
    keys = [o.partition("=")[0].strip() for o in overrides]
    if any(k.startswith(("reid.model", "reid.weights")) for k in keys):
        return True
    if config_path is None:
        return False
    try:
        data = yaml.safe_load(Path(config_path).read_text()) or {}
    except (OSError, yaml.YAMLError):
        return False  # load_config reports it
    reid = data.get("reid") if isinstance(data, dict) else None
    return isinstance(reid, dict) and bool({"model", "weights"} & set(reid))


def reid_fallback(cfg: TrackerConfig, asked: bool) -> tuple[TrackerConfig, str | None]:
    """Where the default OSNet weights are absent and the user did not ask for them, run without them.

    The fallback is the detector's own features (`reid.model=auto`) for a PyTorch detector, else motion
    only (`reid.model=none`). Returns the config to use and a note for the user (None: nothing changed).
    An explicit request for OSNet with a missing file is not softened: `Tracker.from_config` raises.
    """
    uses_osnet = cfg.appearance.enabled and cfg.reid.model.startswith("osnet")
    if asked or not uses_osnet or resolve_weights(cfg.reid.weights, "reid") is not None:
        return cfg, None
    fallback = "auto" if cfg.detector.model.endswith(_PYTORCH_SUFFIX) else "none"
    what = "the detector's own features" if fallback == "auto" else "motion only"
    note = (
        f"OSNet weights '{cfg.reid.weights}' not found, so appearance uses {what} (reid.model={fallback}). "
        f"For the full ReID get osnet_x0_25_msmt17.pth from {OSNET_ZOO_URL} and pass --set reid.weights=PATH "
        f"(or put it in $TRACKER_WEIGHTS_DIR)."
    )
    return cfg.replace({"reid.model": fallback}), note


def load_run_config(config_path: str | None, overrides: Sequence[str]) -> tuple[TrackerConfig, str | None]:
    """The config of a `track` run: YAML and `--set` overrides, then `reid_fallback` (note: None or a line).

    Raises:
        ConfigError: bad config key or value.
    """
    cfg = load_config(config_path, overrides=list(overrides))
    return reid_fallback(cfg, _asks_for_reid(config_path, tuple(overrides)))


class _StopFlag:
    """SIGINT/SIGTERM set a flag (the loop finishes the frame and closes the outputs); a second one aborts, except
    while the outputs are closing (`closing`), which takes milliseconds and must not be cut short."""

    def __init__(self) -> None:
        self.stopped = False
        self.closing = False
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> _StopFlag:
        if threading.current_thread() is threading.main_thread():  # signals can only be caught there
            install_signal_stack()  # never a dangling one left by OpenVINO: the signal would be a SIGSEGV
            for sig in (signal.SIGINT, signal.SIGTERM):
                if signal.getsignal(sig) is signal.SIG_IGN:  # ignored by who started us (a batch worker: Ctrl-C
                    continue  # is its driver's, which then stops it with one SIGTERM; nohup): stays ignored
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        if self.stopped and not self.closing:
            raise KeyboardInterrupt
        self.stopped = True
        log.info("signal %d: finishing the current frame and closing the outputs", signum)

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


class _JsonlWriter:
    """`<name>.jsonl`: one line per frame, flushed every frame (`resume_bytes`: an earlier run's file, cut to that
    length and continued)."""

    def __init__(self, path: Path, resume_bytes: int | None = None) -> None:
        self._file = path.open("w") if resume_bytes is None else open_truncated(path, resume_bytes)

    def sync(self) -> int:
        """Make the lines written so far durable (fsync); returns the file's length."""
        os.fsync(self._file.fileno())
        return self._file.tell()

    def write(self, frame: int, objects: list[TrackedObject]) -> None:
        tracks = [
            {
                "id": o.track_id,
                **({} if o.global_id is None else {"global_id": o.global_id}),
                "xyxy": [round(float(v), JSON_DECIMALS) for v in o.xyxy],
                "score": round(float(o.score), JSON_SCORE_DECIMALS),
                "class": int(o.class_id),
                "recovered": bool(o.recovered),
                **({"predicted": True} if o.state is TrackState.LOST else {}),  # a gap frame (report_gap_frame)
            }
            for o in objects
        ]
        self._file.write(to_json({"frame": frame, "tracks": tracks}) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()


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
) -> RunSummary:
    """Track every frame of `source`, writing `<name>.txt`, `<name>.jsonl` and `<name>.mp4` to `out_dir`.

    With a gallery, the MOT txt and the video show the global IDs (the same person has the same ID in every
    output); the JSONL carries both (`id` local to this source, `global_id`).
    A stream that fails for good ends the loop with `summary.error` set (the outputs so far are kept).

    Args:
        name: file stem of the outputs (default: the source's name).
        after_frame: called after each frame (e.g. a periodic gallery save).
        checkpointer: writes the resume checkpoint (after the first frame, when `due`, at a stop); the run
            deletes it when it finishes.
        resume: where the run being resumed stopped (the tracker's state must be restored already): the txt and
            JSONL are cut to its lengths and continued, the video is drawn again up to it from the JSONL, the
            source is read on from the frame after it, and the summary counts the frames before it.
    """
    from tqdm import tqdm

    stem = name or source.name
    summary = RunSummary(expected_frames=source.total, name=stem, global_ids=tracker.gallery is not None)
    summary.frame_rate = tracker.frame_rate
    outputs = _Outputs(out_dir, stem, tracker.frame_rate if save_video else None, _summary_name(stem, name is not None),
                       _source_files(source))  # fmt: skip
    summary.outputs = outputs.paths
    annotator = Annotator()
    done = resume or Progress()
    summary.frames, summary.tracks, summary.recovered = done.frames, set(done.tracks), done.recovered
    summary.size_changes, summary.last_size = done.size_changes, tuple(done.last_size)
    summary.camera_motion_failure_numbers = list(done.camera_motion_failure_numbers)
    history = GlobalIdHistory()  # with a gallery: each track's global IDs, one for all its rows at the end
    if resume is not None:
        outputs.open(resume)
        if tracker.gallery is not None:
            history = GlobalIdHistory.from_jsonl(outputs.jsonl_path, resume.jsonl_bytes)
        if not save_video:  # nothing to draw: the frames before the checkpoint are not even decoded
            source.skip_to, source.corrupt_frames = resume.last_frame, resume.corrupt_frames
            source.corrupt_numbers = list(resume.corrupt_numbers)
    total = min(source.total, max_frames) if source.total and max_frames else (source.total or max_frames)
    left = None if max_frames is None else max(max_frames - done.frames, 0)
    bar = tqdm(  # (named when several sources run in turn: each has a bar of its own)
        total=total, initial=done.frames, desc=name, unit="frame", disable=not progress, file=sys.stderr,
        dynamic_ncols=True,
    )  # fmt: skip
    start = time.perf_counter()
    last_number = done.last_frame
    # The handlers stay while the outputs close: a second signal then cannot cut the files short.
    with _StopFlag() as stop:
        try:
            source.should_stop = lambda: stop.stopped
            frames = iter(source)
            if resume is not None and save_video:
                frames = _redraw(frames, resume, outputs, annotator, tracker.gallery is not None, lambda: stop.stopped)
            # The next frame is decoded and detected in a background thread while this one is tracked and drawn.
            in_flight: deque[tuple[int, np.ndarray]] = deque()  # (number, image) of the frames handed to stream()

            def images() -> Iterator[np.ndarray]:
                for number, image in itertools.islice(frames, left):  # nothing read past the limit
                    in_flight.append((number, image))
                    yield image

            tracked = tracker.stream(images(), detect_ahead=DETECT_AHEAD)
            failures = tracker.camera_motion_failures  # (a resumed run's, restored)
            try:
                for objects in tracked:
                    number, image = in_flight.popleft()
                    failures = _note_camera_failure(summary, tracker, number, failures)
                    local = objects
                    if tracker.gallery is not None:
                        objects = [replace(o, track_id=o.global_id) for o in objects]
                        history.observe(number, local)
                    outputs.write(number, objects, local)
                    _count_frame(summary, objects, image)
                    if after_frame is not None:
                        after_frame()
                    if save_video or show:
                        canvas = annotator.draw(_as_bgr(image), objects)
                        if save_video:
                            outputs.write_video(number, canvas)
                        if show and _show(canvas):
                            stop.stopped = True
                    bar.update(1)
                    last_number = number
                    if checkpointer is not None and checkpointer.due():
                        checkpointer.write(*_checkpoint(tracker, outputs, summary, source, last_number, start, done))
                    if stop.stopped:
                        break
            except SourceError as exc:
                summary.error = str(exc)
            finally:
                tracked.close()  # stops the background thread
            summary.interrupted = stop.stopped
            # A stop between frames leaves a consistent state: checkpoint it, so a resume loses nothing.
            stopped = summary.interrupted or summary.error
            if checkpointer is not None and stopped and outputs.opened and checkpointer.last_frame != last_number:
                checkpointer.write(*_checkpoint(tracker, outputs, summary, source, last_number, start, done))
        except KeyboardInterrupt:  # a second signal aborts at once: the summary still says so
            summary.interrupted = True
            raise
        except Exception as exc:  # a crash (the ReID out of memory): summary.json must not say the run finished
            summary.error = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            stop.closing = True
            summary.seconds = done.seconds + time.perf_counter() - start
            _note_counts(summary, tracker, source)
            bar.close()
            if not (summary.interrupted or summary.error):  # (a stopped run's video ends at its last frame tracked)
                outputs.finish_video(source.last_skipped)
            outputs.close()
            if tracker.gallery is not None and outputs.opened and not (summary.interrupted or summary.error):
                replaced = history.replacements()  # a track's rows: the global ID it ended with
                if replaced:  # finished, so its checkpoint goes first: a resume would cut the rewritten txt
                    if checkpointer is not None or resume is not None:
                        (out_dir / CHECKPOINT_NAME).unlink(missing_ok=True)
                    history.replace_in(outputs.txt, replaced)
                summary.global_ids_replaced = replaced
                summary.tracks = {replaced.get(t, t) for t in summary.tracks}
            if show:
                import cv2

                cv2.destroyAllWindows()
            _note_reports(summary, tracker)
            if outputs.opened:  # a source that never yielded a frame leaves nothing behind
                write_json_atomic(outputs.summary_path, summary.to_json(), indent=2)
    if checkpointer is not None and not (summary.interrupted or summary.error):
        checkpointer.remove()  # finished: nothing to resume
    return summary


def _frames_named(numbers: list[int], total: int) -> str:
    """'frame 7' or 'frames 7, 9, ...': the first `CORRUPT_NUMBERS_SHOWN` of `numbers` (positions in the source) of
    `total` frames; '' when none is known (several sources' summary)."""
    shown = numbers[:CORRUPT_NUMBERS_SHOWN]
    if not shown:
        return ""
    more = ", ..." if total > len(shown) else ""
    return f"{'frames' if len(shown) > 1 or more else 'frame'} {', '.join(map(str, shown))}{more}"


def _count_frame(summary: RunSummary, objects: list[TrackedObject], image: np.ndarray) -> None:
    """Add one tracked frame to `summary`: its (H, W[, C]) `image`'s size (a change counted) and its outputs' IDs
    and recoveries."""
    summary.frames += 1
    summary.tracks.update(o.track_id for o in objects)
    summary.recovered += sum(o.recovered for o in objects)
    if summary.last_size and image.shape[:2] != summary.last_size:
        summary.size_changes += 1
    summary.last_size = image.shape[:2]


def _note_camera_failure(summary: RunSummary, tracker: Tracker, number: int, failures: int) -> int:
    """Note source frame `number` in `summary` when its camera-motion estimate failed (the tracker's count went up
    from `failures`; the first `CAMERA_FAILURES_KEPT` kept); returns the count now."""
    now = tracker.camera_motion_failures
    if now > failures and len(summary.camera_motion_failure_numbers) < CAMERA_FAILURES_KEPT:
        summary.camera_motion_failure_numbers.append(number)
    return now


def _note_counts(summary: RunSummary, tracker: Tracker, source: FrameSource) -> None:
    """What the tracker and the source counted over the run into `summary`: camera-motion failures and estimates,
    invalid embeddings, corrupt frames, an early end and a stream's gaps."""
    summary.camera_motion_failures = tracker.camera_motion_failures
    summary.invalid_embeddings = tracker.invalid_embeddings
    if tracker.camera_motion is not None:
        summary.camera_motion_estimates = tracker.camera_motion.estimates
        summary.camera_motion_held = tracker.camera_motion.held
    summary.corrupt_frames = source.corrupt_frames
    summary.corrupt_numbers = list(source.corrupt_numbers)
    summary.ended_early = source.ended_early
    summary.gaps = list(source.gaps)


def _note_reports(summary: RunSummary, tracker: Tracker) -> None:
    """The tracker's reports of the source into `summary` (births' shapes, still boxes, measured noise, reported
    width, and with a ReID the calibration, also logged)."""
    summary.birth_shapes = tracker.core.births.summary()
    summary.still = tracker.core.still.summary()
    if tracker.core.measurement_noise.enabled:
        summary.measurement_noise = tracker.core.measurement_noise.summary()
    summary.report_width = tracker.core.report_width() or {}
    if tracker.embedder is not None:  # without ReID there are no appearance bounds to report
        summary.calibration = tracker.core.calibration.summary()
        log.info("%s", tracker.core.calibration.describe())


def _checkpoint(
    tracker: Tracker,
    outputs: _Outputs,
    summary: RunSummary,
    source: FrameSource,
    last: int,
    start: float,
    done: Progress,
) -> tuple[Any, Progress]:
    """(state, progress) of a checkpoint after source frame `last`: the tracker's state and how far the run got;
    the outputs are synced to disk first, so they are never shorter than the checkpoint says."""
    txt_bytes, jsonl_bytes = outputs.sync()
    progress = Progress(
        frames=summary.frames,
        last_frame=last,
        txt_bytes=txt_bytes,
        jsonl_bytes=jsonl_bytes,
        tracks=sorted(int(t) for t in summary.tracks),
        recovered=summary.recovered,
        seconds=done.seconds + time.perf_counter() - start,
        corrupt_frames=source.corrupt_frames,
        corrupt_numbers=list(source.corrupt_numbers),
        size_changes=summary.size_changes,
        last_size=[int(n) for n in summary.last_size],
        camera_motion_failure_numbers=list(summary.camera_motion_failure_numbers),
    )
    return (tracker.core, tracker.camera_motion), progress


def restore_state(tracker: Tracker, checkpoint: Checkpoint) -> None:
    """Put the state a checkpoint saved (`_checkpoint`) into `tracker` (built with the same config and models)."""
    tracker.core, tracker.camera_motion = checkpoint.state()


def _redraw(
    frames: Iterator[tuple[int, np.ndarray]],
    resume: Progress,
    outputs: _Outputs,
    annotator: Annotator,
    shown_global: bool,
    stopped: Callable[[], bool],
) -> Iterator[tuple[int, np.ndarray]]:
    """The frames after `resume.last_frame`, once those up to it are drawn again into the video from the rows the
    JSONL holds for them (no detection or ReID). A stop while redrawing ends the frames (the checkpoint stays)."""
    saved = _saved_tracks(outputs.jsonl_path, resume.jsonl_bytes, shown_global)
    log.info("drawing the %d frames before the checkpoint into the video again", len(saved))
    for number, image in frames:
        if number > resume.last_frame:
            yield number, image
        elif stopped():
            return
        elif number in saved:
            outputs.write_video(number, annotator.draw(_as_bgr(image), saved[number]))


def _saved_tracks(path: Path, length: int, shown_global: bool) -> dict[int, list[TrackedObject]]:
    """frame -> the tracks the first `length` bytes of a `<name>.jsonl` give it (the IDs the video showed: global
    ones with a gallery)."""
    with path.open("rb") as f:
        lines = f.read(length).decode().splitlines()
    out = {}
    for line in lines:
        row = json.loads(line)
        out[row["frame"]] = [
            TrackedObject(
                track_id=t.get("global_id", t["id"]) if shown_global else t["id"],
                xyxy=np.asarray(t["xyxy"], dtype=np.float64),
                score=t["score"],
                class_id=t["class"],
                state=TrackState.LOST if t.get("predicted") else TrackState.TRACKED,
                detection_index=-1,
                recovered=t["recovered"],
            )
            for t in row["tracks"]
        ]
    return out


class _Outputs:
    """`<name>.txt`, `<name>.jsonl` and `<name>.mp4` in `out_dir`, created when the first frame arrives: a source
    that never yields a frame leaves no files (and no folder) behind."""

    def __init__(
        self,
        out_dir: Path,
        name: str,
        video_rate: float | None,
        summary_name: str = SUMMARY_NAME,
        sources: Sequence[Path] = (),
    ) -> None:
        self.out_dir = out_dir
        self._sources = tuple(sources)  # the files read: never removed as an earlier run's output
        self.txt, self.jsonl_path, self.video_path = (out_dir / f"{name}{ext}" for ext in (".txt", ".jsonl", ".mp4"))
        self.summary_path = out_dir / summary_name
        self.paths = [self.txt, self.jsonl_path] + ([self.video_path] if video_rate is not None else [])
        self.paths.append(self.summary_path)
        self._video_rate = video_rate
        self._mot: MotWriter | None = None
        self._jsonl: _JsonlWriter | None = None
        self._video: VideoWriter | None = None
        self._video_number = 0  # the source frame the video's last frame shows
        self._last_canvas: np.ndarray | None = None

    def open(self, resume: Progress | None = None) -> None:
        """Create the files (`resume`: continue the txt and JSONL an earlier run left, cut to its checkpoint). Files
        of an earlier run that this one would leave beside its own are removed: its checkpoint (unless resumed) and,
        without a video, its `<name>.mp4`.

        Raises:
            ResumeError: the earlier run's txt or JSONL is missing or shorter than its checkpoint says.
        """
        make_output_folder(self.out_dir)
        txt_bytes, jsonl_bytes = (None, None) if resume is None else (resume.txt_bytes, resume.jsonl_bytes)
        try:
            self._mot = MotWriter(self.txt, txt_bytes)  # `<name>.txt.partial`, flushed per frame, renamed on close
            self._jsonl = _JsonlWriter(self.jsonl_path, jsonl_bytes)
        except (FileNotFoundError, ValueError) as exc:
            raise ResumeError(f"the outputs of the run being resumed differ from its checkpoint: {exc}") from None
        if resume is None:  # this folder's outputs are replaced: an earlier run's checkpoint would resume onto them
            (self.out_dir / CHECKPOINT_NAME).unlink(missing_ok=True)  # (this run's own comes after its first frame)
        if self._video_rate is not None:
            self._video = VideoWriter(self.video_path, self._video_rate)
        elif self.video_path.exists() and not _same_files([self.video_path], self._sources):
            self.video_path.unlink()  # not written by this run: an earlier run's video would not match this txt

    def sync(self) -> tuple[int, int]:
        """Make the txt and JSONL rows written so far durable; returns their lengths (bytes)."""
        assert self._mot is not None and self._jsonl is not None, "no frame written yet"
        self._mot.sync()
        return self._mot.bytes_written, self._jsonl.sync()

    def write(self, number: int, objects: list[TrackedObject], local: list[TrackedObject] | None = None) -> None:
        """One frame: `objects` (the IDs shown: global ones with a gallery) to the MOT txt, `local` (the source's
        own track IDs, with `global_id`) to the JSONL."""
        if self._mot is None:
            self.open()
        self._mot.write(number, objects)
        self._jsonl.write(number, objects if local is None else local)

    @property
    def opened(self) -> bool:
        """The first frame arrived and the files exist."""
        return self._mot is not None

    def write_video(self, number: int, canvas: np.ndarray) -> None:
        """Source frame `number`, annotated. The positions skipped since the last one (unreadable frames) are filled
        first, with the last canvas (black before the first), so video frame n is source frame n, as in the txt."""
        if self._video is None:
            return
        for _ in range(self._video_number + 1, number):
            self._video.write(self._last_canvas if self._last_canvas is not None else np.zeros_like(canvas))
        self._video.write(canvas)
        self._video_number, self._last_canvas = number, canvas

    def finish_video(self, last: int) -> None:
        """Fill the video up to source frame `last` with the last canvas: unreadable frames at the source's end
        (the last images of a folder) had no video frame, so the video was shorter than the source."""
        if self._video is None or self._last_canvas is None:
            return
        for _ in range(self._video_number + 1, last + 1):
            self._video.write(self._last_canvas)
        self._video_number = max(self._video_number, last)

    def close(self) -> None:
        for writer in (self._mot, self._jsonl, self._video):
            if writer is not None:
                writer.close()


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
    loaded from the file if it exists and written back atomically every `gallery.save_every_seconds`, after
    each source and when the run stops (also on an error or an interruption).

    Args:
        options: what to track and where to write.
        notify: receives notes for the user (e.g. the ReID fallback); None logs them.
    A single source that can be read again (a file, a folder, a glob) is checkpointed every
    `options.checkpoint_seconds` into the run folder (`tracker.resume`); with `options.resume` the run in
    `options.out` (default: the newest run folder of the source) continues from its checkpoint.

    Raises:
        ConfigError: bad config key or value. SourceError: source missing or not readable.
        FileNotFoundError: missing weights (named). GalleryError: unreadable gallery file (left untouched),
        or one made with another ReID model. ResumeError: `--resume` with several sources, a live source, no
        checkpoint, a checkpoint of another run or a damaged one, or a `max_frames` its run already reached.
        AlreadyFinished: `--resume` of a run that finished. FolderInUse: another live run is writing into the
        output folder, or uses the gallery file (`tracker.io.lock`).
    """
    notify = notify or log.warning
    _check_display(options.show)
    cfg = load_config(options.config, overrides=list(options.overrides))
    names = (options.source, *options.more_sources)
    if options.resume and options.more_sources:
        raise ResumeError("--resume continues one source's run; `track batch` resumes many videos")
    if options.resume and resolve_source(options.source) in _STREAMS:
        raise not_resumable(options.source)  # before opening it: a webcam opens now, and may not be there
    # Files, folders and globs (and names that are none of these) are opened, i.e. checked, now, before anything is
    # tracked: a typo or a non-video in the last name must not cost a long first video. Webcams and URLs are opened
    # in turn (a stream may not wait).
    opened = {i: open_source(name) for i, name in enumerate(names) if i == 0 or resolve_source(name) not in _STREAMS}
    cfg, note = reid_fallback(cfg, _asks_for_reid(options.config, options.overrides))
    rate = _frame_rate(opened[0], cfg, options, notify)
    _note_missing_images(opened[0], notify)
    out = options.out
    if out is not None:
        _check_sources_kept(out, names, opened, options.save_video)
    checkpointed = len(names) == 1 and options.checkpoint_seconds > 0 and resumable(options.source, opened[0])
    device = str(resolve_device(cfg.device))
    identity = (
        run_identity(options.source, opened[0], cfg, rate, device, options.gallery)
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
        if out is not None:
            held.enter_context(FolderLock(out))
        checkpoint = None
        if options.resume:
            _check_resumable(out, opened[0].name)
            checkpoint = read_checkpoint(out / CHECKPOINT_NAME, identity)  # checked before any model is loaded
            _check_resumed_outputs(out, opened[0].name, checkpoint.progress)
            if options.max_frames is not None and options.max_frames <= checkpoint.progress.frames:
                raise ResumeError(  # it would track nothing, and deleting the checkpoint would end the run there
                    f"the run in {out} already tracked {checkpoint.progress.frames} frames, so --max-frames "
                    f"{options.max_frames} leaves nothing to do: give a larger --max-frames, or none"
                )
        if options.gallery is not None:  # (a missing folder is not locked: _open_gallery's error names it)
            held.enter_context(gallery_lock(options.gallery))  # read, added to and written back by one run at a time
        gallery = _open_gallery(options.gallery, cfg)
        first = Tracker.from_config(cfg, frame_rate=rate, gallery=gallery)
        if checkpoint is not None:
            restore_state(first, checkpoint)  # with a gallery, the one saved with the state (the file may be newer)
            gallery = first.gallery
            if gallery is not None and options.gallery is not None:  # (before anything is written)
                _check_gallery_unchanged(options.gallery, out, gallery.file)
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
        saver = _GallerySaver(
            gallery, options.gallery, cfg.gallery.save_every_seconds, resumed=checkpoint is not None, record=record
        )
        summaries: list[RunSummary] = []
        stems: set[str] = set()
        try:
            for i, name in enumerate(names):
                source = opened[i] if i in opened else open_source(name)
                tracker = first
                if i > 0:
                    rate = _frame_rate(source, cfg, options, notify)
                    _note_missing_images(source, notify)
                    tracker = Tracker(cfg, rate, detector=first.detector, embedder=first.embedder, gallery=gallery)
                tracker.core.source_name = source.name
                stem = unique_stem(source.name, stems)
                summary = track_source(
                    tracker, source, out, options.save_video, options.show, options.progress, options.max_frames,
                    name=stem if len(names) > 1 else None, after_frame=saver.maybe_save, checkpointer=checkpointer,
                    resume=None if checkpoint is None else checkpoint.progress,
                )  # fmt: skip
                tracker.reset()  # the identities still in view go to the gallery
                saver.save()
                summaries.append(summary)
                if summary.interrupted or summary.error:
                    break
                if checkpoint is not None and checkpointer is None:  # resumed with --checkpoint-seconds 0: finished,
                    checkpoint.path.unlink(missing_ok=True)  # so the checkpoint it started from is spent
        finally:
            saver.save()
            if record is not None and not (out / CHECKPOINT_NAME).exists():  # finished: nothing to resume
                record.unlink(missing_ok=True)
        combined = _combine(summaries)
        if gallery is not None and options.gallery is not None and options.gallery.exists():
            combined.gallery_saved = (options.gallery, len(gallery))
        return combined


def _check_sources_kept(out: Path, names: Sequence[str], opened: dict[int, FrameSource], save_video: bool) -> None:
    """Refuse an output folder where an output would replace a source file: `track v/cam.mp4 --out v` wrote the
    annotated `cam.mp4` over the video it was reading (the video lost, the results cut short). Checked before
    anything is written; the stems are those the run gives its sources (streams, opened in their turn, are not files).

    Raises:
        SourceError: naming the source, the output file and what to do instead.
    """
    stems: set[str] = set()
    several = len(names) > 1
    for i, name in enumerate(names):
        source = opened.get(i)
        if source is None:
            continue
        stem = unique_stem(source.name, stems)
        outputs = _Outputs(out, stem, 1.0 if save_video else None, _summary_name(stem, several))  # (names only)
        replaced = _same_files([*outputs.paths, out / CHECKPOINT_NAME], _source_files(source))
        if replaced:
            hint = " or --no-save-video" if replaced[0].suffix == ".mp4" else ""
            raise SourceError(f"{name}: the output {replaced[0]} would replace this source: choose another --out{hint}")


def _source_files(source: FrameSource) -> tuple[Path, ...]:
    """The files a source reads (a video's, or its images)."""
    return source.files or ((source.path,) if source.path is not None else ())


def _summary_name(stem: str, several: bool) -> str:
    """The run summary's file name: `summary.json`, or `<stem>.summary.json` beside each source of several."""
    return f"{stem}.{SUMMARY_NAME}" if several else SUMMARY_NAME


def _same_files(paths: Sequence[Path], files: Sequence[Path]) -> list[Path]:
    """Those of `paths` that exist and are one of `files` (the same file whatever the path: relative, absolute,
    linked; compared as `os.path.samefile` does, by device and inode), in order. One stat a file: nothing more when
    no path exists yet (a new output folder), one pass over an image folder's files otherwise."""
    keys = {key: path for path in paths if (key := _file_key(path)) is not None}
    if not keys:
        return []
    found = {_file_key(file) for file in files} & keys.keys()
    return [path for key, path in keys.items() if key in found]


def _file_key(path: Path) -> tuple[int, int] | None:
    """(device, inode) of an existing file, or None."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_dev, stat.st_ino


def _check_resumable(out: Path, stem: str) -> None:
    """Check there is something to resume in `out` for the source whose outputs are `stem.*`: a checkpoint, else a
    finished run (`AlreadyFinished`) or an error.

    Raises:
        AlreadyFinished: no checkpoint and a summary.json of a run of this source that ended normally.
        ResumeError: no checkpoint and no finished run (not a run folder, a run killed before its first frame, or a
            run stopped with --checkpoint-seconds 0), or the finished run of another source (`--out` of another
            video's run said "finished: nothing to resume").
    """
    if (out / CHECKPOINT_NAME).exists():
        return
    try:
        summary = json.loads((out / SUMMARY_NAME).read_text())
    except (OSError, ValueError):
        summary = None
    if isinstance(summary, dict) and not resumed_file(out / f"{stem}.txt").exists():
        raise ResumeError(
            f"the run in {out} is not one of {stem} (no {stem}.txt there): name its own run folder with --out, or "
            "run again without --resume"
        )
    if isinstance(summary, dict) and not summary.get("interrupted") and not summary.get("error"):
        raise AlreadyFinished(f"the run in {out} finished ({summary.get('frames')} frames): nothing to resume")
    if isinstance(summary, dict):
        raise ResumeError(
            f"the run in {out} stopped after {summary.get('frames')} frames but left no checkpoint (was it run with "
            "--checkpoint-seconds 0?): run again without --resume"
        )
    raise ResumeError(
        f"no checkpoint in {out}: not a `track` run folder, or its run was killed before its first frame or ran with "
        "--checkpoint-seconds 0: run again without --resume"
    )


def _check_resumed_outputs(out: Path, stem: str, progress: Progress) -> None:
    """Check the txt and JSONL of the run being resumed are there and at least as long as its checkpoint says,
    before anything in `out` is changed (a refused resume leaves the folder as it was).

    Raises:
        ResumeError: a file missing or shorter than the checkpoint recorded (named).
    """
    for path, length in (
        (resumed_file(out / f"{stem}.txt"), progress.txt_bytes),
        (out / f"{stem}.jsonl", progress.jsonl_bytes),
    ):
        size = path.stat().st_size if path.exists() else None
        if size is None or size < length:
            found = "is missing" if size is None else f"holds {size} bytes"
            raise ResumeError(
                f"the outputs of the run being resumed differ from its checkpoint: {path} {found}, the checkpoint "
                f"recorded {length} bytes; run again without --resume"
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
    """The rate this source is tracked at (`--fps`, a plausible declared rate, or a fallback with a warning)."""
    rate = choose_frame_rate(source.frame_rate, cfg, options.frame_rate, source.timestamp_rate, source.name)
    if rate.warning:
        notify(rate.warning)
    return rate.frame_rate


def _open_gallery(path: Path | None, cfg: TrackerConfig) -> Gallery | None:
    """The gallery at `path` (checked, retention applied), a new one when the file does not exist yet, or None."""
    if path is None:
        return None
    if not (cfg.appearance.enabled and cfg.reid.model != "none"):
        raise ValueError("--gallery needs appearance embeddings: a ReID model and appearance.enabled=true")
    check_saveable(path)  # before any frame: a gallery that cannot be saved was found only at the run's end
    if path.exists():
        return Gallery.load(path, cfg.gallery)
    return Gallery(cfg.gallery)


def _check_gallery_unchanged(gallery: Path, out: Path, at_checkpoint: tuple[str, FileVersion] | None) -> None:
    """Refuse (`ResumeError`, before anything is written) to resume a run whose gallery file another run saved
    after this one stopped: the resumed run continues from the gallery of its checkpoint and writes it over the
    file, which would drop the other run's identities. The file this run left is the one in its record
    (`GALLERY_RECORD_NAME`, written after each of its saves), else the one its checkpoint's gallery last read or
    wrote (`at_checkpoint`, `Gallery.file`: no save since)."""
    record = out / GALLERY_RECORD_NAME
    try:
        left = json.loads(record.read_text())["version"]
    except FileNotFoundError:
        same = at_checkpoint is not None and at_checkpoint[0] == os.path.realpath(gallery)
        left = list(at_checkpoint[1]) if same and at_checkpoint[1] is not None else None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ResumeError(f"{record} cannot be read ({exc}): resuming could overwrite another run's gallery") from None
    now = file_version(gallery)
    if left != (None if now is None else list(now)):
        raise ResumeError(
            f"the gallery {gallery} was {'removed' if now is None else 'saved by another run'} after the run in {out} "
            "stopped; resuming would replace it with this run's checkpoint and lose that run's identities: start a "
            "new run instead (without --resume)"
        )


class _GallerySaver:
    """Writes the gallery back when it changed: at most every `every` seconds from the loop, and on demand.

    The run holds the file's lock (`gallery_lock`) from its load to its last save. A resumed run (`resumed`)
    continues from the gallery saved with its checkpoint, which replaces the file its own run wrote after that.
    With `record` (a run that can be resumed), which file is at the path after each save is written there, so that
    a resume can tell the file its own run left from another run's save (`_check_gallery_unchanged`).
    """

    def __init__(
        self, gallery: Gallery | None, path: Path | None, every: float, resumed: bool = False,
        record: Path | None = None,
    ) -> None:  # fmt: skip
        self.gallery, self.path, self.every, self.resumed, self.record = gallery, path, every, resumed, record
        self._last = time.monotonic()

    def maybe_save(self) -> None:
        if self.gallery is not None and time.monotonic() - self._last >= self.every:
            self.save()

    def save(self) -> None:
        if self.gallery is None or self.path is None:
            return
        if self.gallery.modified or not self.path.exists():
            try:
                self.gallery.save(self.path, lock=False, overwrite=self.resumed)
            except OSError as exc:  # (its folder made read-only, a full disk): name the gallery, not a temp file
                where = f" ({exc.filename})" if exc.filename else ""
                raise OSError(
                    f"the gallery {self.path} could not be saved: {exc.strerror or exc}{where}; the file is as it was "
                    "and the tracking outputs are kept"
                ) from exc
            if self.record is not None:
                write_json_atomic(self.record, {"gallery": str(self.path), "version": file_version(self.path)})
        self._last = time.monotonic()


def _combine(summaries: list[RunSummary]) -> RunSummary:
    """One summary for several sources (a single source's summary is returned as it is)."""
    if len(summaries) == 1:
        return summaries[0]
    total = RunSummary()
    for s in summaries:
        total.frames += s.frames
        total.seconds += s.seconds
        # Without a gallery each source numbers its tracks from 1: the same ID in two sources is two tracks.
        total.tracks |= s.tracks if s.global_ids else {(s.name, t) for t in s.tracks}
        total.recovered += s.recovered
        total.corrupt_frames += s.corrupt_frames
        total.size_changes += s.size_changes
        total.outputs += s.outputs
        total.interrupted |= s.interrupted
        total.error = total.error or s.error
        if s.calibration:
            total.per_source[s.name] = s.calibration
        if s.birth_shapes:
            total.births_per_source[s.name] = s.birth_shapes
        for attribute, per_source, _describe in _SOURCE_REPORTS:
            if getattr(s, attribute):
                getattr(total, per_source)[s.name] = getattr(s, attribute)
        total.camera_motion_failures += s.camera_motion_failures
        total.invalid_embeddings += s.invalid_embeddings
        if s.camera_motion_estimates is not None:
            total.camera_motion_estimates = (total.camera_motion_estimates or 0) + s.camera_motion_estimates
            total.camera_motion_held += s.camera_motion_held
        total.gaps += s.gaps
        if s.ended_early is not None:
            total.ended_early, total.expected_frames = s.ended_early, s.expected_frames
    return total
