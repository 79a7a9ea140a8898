"""The `track` run: source -> tracker -> MOT txt, JSONL and annotated video, with a progress bar.

`run_track(options)` does everything the command does (config, source, models, outputs); `track_source`
is the loop itself, for callers that bring their own `Tracker` (tests use a fake detector). Outputs stay
valid whatever stops the loop: the MOT file and the JSONL are flushed every frame and the video is
released in a `finally`; SIGINT/SIGTERM only set a flag, so the frame in hand is finished first (a
second signal aborts at once, still closing the files).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import numpy as np
import yaml

from tracker.config import TrackerConfig, load_config
from tracker.io.mot import MotWriter
from tracker.io.prefetch import Prefetch, decode_ahead_pays
from tracker.io.sources import FrameSource, SourceError, open_source
from tracker.io.video import Annotator, VideoWriter
from tracker.pipeline import Tracker
from tracker.types import TrackedObject
from tracker.weights import resolve_weights

__all__ = ["RunSummary", "TrackOptions", "next_run_dir", "reid_fallback", "run_track", "track_source"]

log = logging.getLogger(__name__)

DEFAULT_RUNS_DIR = Path("runs") / "track"
WINDOW_NAME = "track"
QUIT_KEY = "q"
SHOW_WAIT_MS = 1
JSON_DECIMALS = 2  # pixels
JSON_SCORE_DECIMALS = 4
OSNET_ZOO_URL = "https://kaiyangzhou.github.io/deep-person-reid/MODEL_ZOO"
_PYTORCH_SUFFIX = ".pt"


@dataclass
class RunSummary:
    """What a run did and where its files are."""

    frames: int = 0
    seconds: float = 0.0
    tracks: set[int] = field(default_factory=set)
    recovered: int = 0
    corrupt_frames: int = 0
    ended_early: int | None = None
    expected_frames: int | None = None
    interrupted: bool = False
    error: str | None = None
    outputs: list[Path] = field(default_factory=list)

    @property
    def fps(self) -> float:
        """Frames per second over the whole loop (detector, ReID, tracking and writing)."""
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    def describe(self) -> str:
        """A few lines for people: frames, speed, tracks, recoveries, problems, files."""
        verb = "stopped after" if self.interrupted or self.error else "tracked"
        lines = [
            f"{verb} {self.frames} frames in {self.seconds:.1f} s ({self.fps:.1f} frames/s)",
            f"{len(self.tracks)} tracks; {self.recovered} times an ID came back after occlusion",
        ]
        if self.corrupt_frames:
            lines.append(f"{self.corrupt_frames} unreadable frames skipped")
        if self.ended_early is not None:
            lines.append(f"the video stops being readable after frame {self.ended_early} of {self.expected_frames}")
        lines.append("outputs:")
        lines += [f"  {p}" for p in self.outputs if p.exists()]
        return "\n".join(lines)


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


def next_run_dir(base: Path, name: str) -> Path:
    """`base/name`, or `base/name2`, `base/name3`, ... : never an existing folder."""
    candidate, n = base / name, 1
    while candidate.exists():
        n += 1
        candidate = base / f"{name}{n}"
    return candidate


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


class _StopFlag:
    """SIGINT/SIGTERM set a flag (the loop finishes the frame and closes the outputs); a second one aborts."""

    def __init__(self) -> None:
        self.stopped = False
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> _StopFlag:
        if threading.current_thread() is threading.main_thread():  # signals can only be caught there
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        if self.stopped:
            raise KeyboardInterrupt
        self.stopped = True
        log.info("signal %d: finishing the current frame and closing the outputs", signum)

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


class _JsonlWriter:
    """`<name>.jsonl`: one line per frame, flushed every frame."""

    def __init__(self, path: Path) -> None:
        self._file = path.open("w")

    def write(self, frame: int, objects: list[TrackedObject]) -> None:
        tracks = [
            {
                "id": o.track_id,
                "xyxy": [round(float(v), JSON_DECIMALS) for v in o.xyxy],
                "score": round(float(o.score), JSON_SCORE_DECIMALS),
                "class": int(o.class_id),
                "recovered": bool(o.recovered),
            }
            for o in objects
        ]
        self._file.write(json.dumps({"frame": frame, "tracks": tracks}) + "\n")
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
) -> RunSummary:
    """Track every frame of `source`, writing `<name>.txt`, `<name>.jsonl` and `<name>.mp4` to `out_dir`.

    A stream that fails for good ends the loop with `summary.error` set (the outputs so far are kept).
    """
    from tqdm import tqdm

    out_dir.mkdir(parents=True, exist_ok=True)
    summary = RunSummary(expected_frames=source.total)
    txt_path, jsonl_path, video_path = (out_dir / f"{source.name}{ext}" for ext in (".txt", ".jsonl", ".mp4"))
    summary.outputs = [txt_path, jsonl_path] + ([video_path] if save_video else [])
    annotator = Annotator()
    total = min(source.total, max_frames) if source.total and max_frames else (source.total or max_frames)
    mot = MotWriter(txt_path)  # `<name>.txt.partial`, flushed per frame, renamed into place on close
    jsonl = _JsonlWriter(jsonl_path)
    video = VideoWriter(video_path, tracker.frame_rate) if save_video else None
    bar = tqdm(total=total, unit="frame", disable=not progress, file=sys.stderr, dynamic_ncols=True)
    start = time.perf_counter()
    try:
        with _StopFlag() as stop:
            source.should_stop = lambda: stop.stopped
            # With a spare core, the next frames are decoded while this one is tracked.
            frames = Prefetch(source) if decode_ahead_pays() else source
            try:
                for number, image in frames:
                    objects = tracker.update(image)
                    mot.write(number, objects)
                    jsonl.write(number, objects)
                    summary.frames += 1
                    summary.tracks.update(o.track_id for o in objects)
                    summary.recovered += sum(o.recovered for o in objects)
                    if video is not None or show:
                        canvas = annotator.draw(_as_bgr(image), objects)
                        if video is not None:
                            video.write(canvas)
                        if show and _show(canvas):
                            stop.stopped = True
                    bar.update(1)
                    if stop.stopped or (max_frames is not None and summary.frames >= max_frames):
                        break
            except SourceError as exc:
                summary.error = str(exc)
            finally:
                if isinstance(frames, Prefetch):
                    frames.close()
            summary.interrupted = stop.stopped
    finally:
        summary.seconds = time.perf_counter() - start
        summary.corrupt_frames = source.corrupt_frames
        summary.ended_early = source.ended_early
        bar.close()
        mot.close()
        jsonl.close()
        if video is not None:
            video.close()
        if show:
            import cv2

            cv2.destroyAllWindows()
    return summary


def _check_display(show: bool) -> None:
    has_display = os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    if show and sys.platform.startswith("linux") and not has_display:
        raise SourceError("--show needs a display (DISPLAY is not set); use the saved video instead")


def run_track(options: TrackOptions, notify: Callable[[str], None] | None = None) -> RunSummary:
    """The whole `track` command: config, source, models, outputs.

    Args:
        options: what to track and where to write.
        notify: receives notes for the user (e.g. the ReID fallback); None logs them.
    Raises:
        ConfigError: bad config key or value. SourceError: source missing or not readable.
        FileNotFoundError: missing weights (named).
    """
    notify = notify or log.warning
    _check_display(options.show)
    cfg = load_config(options.config, overrides=list(options.overrides))
    source = open_source(options.source)
    cfg, note = reid_fallback(cfg, _asks_for_reid(options.config, options.overrides))
    tracker = Tracker.from_config(cfg, frame_rate=source.frame_rate)
    if note:
        notify(note)
    out = options.out if options.out is not None else next_run_dir(DEFAULT_RUNS_DIR, source.name)
    return track_source(tracker, source, out, options.save_video, options.show, options.progress, options.max_frames)
