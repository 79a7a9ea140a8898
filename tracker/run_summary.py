"""The summary of a `track` run: what it did (frames, speed, tracks, problems, reports) and where its files are.

`RunSummary` is filled frame by frame (`count_frame`, `note_camera_failure`) and at the end (`note_counts`,
`note_reports`); `combine` makes one of several sources' summaries. `RunSummary.describe` gives the lines printed
after a run, `RunSummary.to_json` the `summary.json` written beside the outputs.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tracker.io.sources import CORRUPT_NUMBERS_KEPT
from tracker.io.strict_json import path_fields
from tracker.resume import CHECKPOINT_NAME
from tracker.shown_ids import ShownIds
from tracker.stream_clock import NO_GAPS, GapCount
from tracker.types import TrackedObject
from tracker.wording import count

if TYPE_CHECKING:
    from tracker.io.sources import FrameSource
    from tracker.pipeline import Tracker

__all__ = [
    "CAMERA_FAILURES_KEPT",
    "CORRUPT_NUMBERS_SHOWN",
    "RESUME_HINT",
    "SUMMARY_NAME",
    "RunSummary",
    "combine",
    "count_frame",
    "note_camera_failure",
    "note_counts",
    "note_reports",
]

log = logging.getLogger("tracker.run")  # the run's logger: its messages keep their source

CORRUPT_NUMBERS_SHOWN = 5  # unreadable frames (and failed camera-motion estimates) named in the printed summary
CAMERA_FAILURES_KEPT = CORRUPT_NUMBERS_KEPT  # positions of the first failed camera-motion estimates in summary.json
RESUME_HINT = "the same command with --resume continues the run from"  # + the checkpoint, after a stop or failure
SUMMARY_NAME = "summary.json"  # written beside the outputs at the end of a run (atomically)


@dataclass
class RunSummary:
    """What a run did and where its files are (`track`'s summary; `to_json` writes it as summary.json).

    Attributes (the others are commented where they are declared):
        frames: frames tracked; seconds: wall seconds of the loop (detector, ReID, tracking, writing; a resumed
            run's include the run before it), so `fps` is frames/s.
        tracks: the IDs shown (`ShownIds`: kept in runs of consecutive IDs, so a run of days holds no list of them;
            a set given is taken as one). recovered, recognised: IDs that came back (after occlusion, or from the
            gallery).
        corrupt_frames: frames skipped as undecodable; ended_early: the last frame number read of a video whose
            data stops before `expected_frames` (its declared length; None where unknown).
        camera_motion_failures: frames whose camera-motion estimate failed (the identity used instead).
        interrupted: stopped by Ctrl-C or a signal; error: the one-line error that ended the run, else None.
        outputs: the files written; gaps: a live stream's (last frame number before a drop, seconds without
            frames), one per reopening.
        time_gaps: the gaps in a live stream's frame times the tracker passed (`Tracker.time_gaps`: advanced, frames,
            scene cuts, seconds), a stall within a connection too.
    """

    frames: int = 0
    seconds: float = 0.0
    frame_rate: float | None = None  # frames/s the source was tracked at (None: several sources combined)
    vid_stride: int = 1  # `--vid-stride`: every Nth source frame was tracked (`frame_rate` is the source's / N)
    tracks: ShownIds = field(default_factory=ShownIds)  # IDs shown; (source, ID) once several sources are combined
    # times an ID came back: after occlusion, or a new track given a remembered identity by the gallery (`recognised`)
    recovered: int = 0
    recognised: int = 0  # of `recovered`, new tracks given a remembered identity by the gallery (`--gallery`)
    corrupt_frames: int = 0
    corrupt_numbers: list[int] = field(default_factory=list)  # the first ones' positions (one source)
    size_changes: int = 0  # frames of another size than the frame before (tracks carry over in the old pixels)
    last_size: tuple[int, ...] = ()  # (height, width) of the last frame tracked, for `size_changes`
    ended_early: int | None = None
    # the frames the header of the video that `ended_early` announced (several sources: that video's, not their sum
    # in `expected_frames`); None: `expected_frames`, a single source's own
    ended_early_announced: int | None = None
    # the source's frames to its end (an image folder's files, a video's header length; summary.json's
    # `expected_source_frames`, whatever `vid_stride`); None: unknown
    expected_frames: int | None = None
    # frames the run would track to the source's end: `expected_frames` at `vid_stride` (1 in N of them), what
    # `frames` counts and the progress bar's total (before a `--max-frames`); None: unknown (a live stream, a video of
    # no declared length); several sources: their sum, None if one's is unknown. summary.json's `expected_frames`
    to_track: int | None = None
    interrupted: bool = False
    camera_motion_failures: int = 0
    camera_motion_estimates: int | None = None  # frames estimated, failures included; None: compensation off
    camera_motion_held: int = 0  # estimates `auto` held back as too small to tell from the fit's noise
    camera_motion_bridged: int = 0  # estimates made from the last frame before failed ones (a blackout)
    camera_motion_failure_numbers: list[int] = field(default_factory=list)  # the first failures' positions (one source)
    invalid_embeddings: int = 0  # embedding rows that were NaN, infinite or zero (matched by motion only)
    # (height, width) a fixed-size detector export ran at instead of detector.image_size (`image_size_not_used`)
    detector_ran_at: tuple[int, int] | None = None
    error: str | None = None
    outputs: list[Path] = field(default_factory=list)
    # False: the source yielded no frame and the run opened none of `outputs` (an --out reused may hold an earlier
    # run's files of those names: they are not listed as this run's)
    opened: bool = True
    gaps: list[tuple[int, float]] = field(default_factory=list)
    time_gaps: GapCount = NO_GAPS
    calibration: dict[str, Any] = field(default_factory=dict)  # `Calibration.summary()` at the end; {}: no ReID
    name: str = ""  # the source's output stem
    source: str | None = None  # the real path of a checkpointed run's source (a resume of another one is refused)
    birth_shapes: dict[int, list[float]] = field(default_factory=dict)  # `BirthShapes.summary()` of one source
    per_source: dict[str, dict[str, Any]] = field(default_factory=dict)  # several sources: name -> calibration
    births_per_source: dict[str, dict[int, list[float]]] = field(default_factory=dict)  # name -> birth_shapes
    class_names: dict[int, str] = field(default_factory=dict)  # the detector's names of class IDs ({}: not known)
    # `StillBoxes.summary()` of one source ({}: rule not applied)
    still: dict[str, float | None] = field(default_factory=dict)
    still_per_source: dict[str, dict[str, float | None]] = field(default_factory=dict)  # name -> still
    # `MeasurementNoise.summary()` of one source ({}: the measured box noise is off)
    measurement_noise: dict[str, float] = field(default_factory=dict)
    noise_per_source: dict[str, dict[str, float]] = field(default_factory=dict)  # name -> measurement_noise
    # `TrackerCore.report_width()` of one source ({}: the report takes no aspect width)
    report_width: dict[str, float] = field(default_factory=dict)
    report_width_per_source: dict[str, dict[str, float]] = field(default_factory=dict)  # name -> report_width
    global_ids: bool = False  # the IDs are a gallery's global ones (the same person has one ID in every source)
    global_ids_replaced: dict[int, int] = field(default_factory=dict)  # `tracker.global_ids`: new ID -> final ID
    gallery_saved: tuple[Path, int] | None = None  # `--gallery`: the file and the identities it holds at the end
    gallery_saves_failed: list[str] = field(default_factory=list)  # `--gallery`: the periodic saves that failed
    # stopped by `max_frames` with frames of the source left (summary.json: `--resume` says so, not "finished")
    cut_short: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.tracks, ShownIds):  # (a set of IDs given)
            self.tracks = ShownIds(self.tracks)

    @property
    def fps(self) -> float:
        """Frames per second over the whole loop (detector, ReID, tracking and writing)."""
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    @property
    def _announced(self) -> int | None:
        """The frames the header of the video that ended early announced (`ended_early_announced`, else this
        source's `expected_frames`)."""
        return self.expected_frames if self.ended_early_announced is None else self.ended_early_announced

    def to_json(self) -> dict[str, Any]:
        """JSON-ready: what `describe` says, for `summary.json` beside the outputs."""
        return {
            # the path as shown and, where it is not UTF-8, its exact bytes as a URI (`source_uri`): valid UTF-8 JSON
            **(path_fields("source", self.source) if self.source is not None else {}),
            "frames": self.frames,
            # (null: not known) in tracked frames, `frames`' unit; the source's own count (files, the header's) beside
            "expected_frames": self.to_track,
            "expected_source_frames": self.expected_frames,
            "seconds": round(self.seconds, 3),
            "fps": round(self.fps, 2),
            **({"frame_rate": round(self.frame_rate, 3)} if self.frame_rate is not None else {}),
            **({"vid_stride": self.vid_stride} if self.vid_stride != 1 else {}),
            "tracks": len(self.tracks),
            "recovered": self.recovered,  # the total, as before the gallery's part was told apart (docs/cli.md)
            **({"recognised_from_gallery": self.recognised} if self.global_ids else {}),
            "corrupt_frames": self.corrupt_frames,
            **({"corrupt_frame_numbers": self.corrupt_numbers} if self.corrupt_numbers else {}),
            **({"size_changes": self.size_changes} if self.size_changes else {}),
            **({"invalid_embeddings": self.invalid_embeddings} if self.invalid_embeddings else {}),
            **({"detector_ran_at": list(self.detector_ran_at)} if self.detector_ran_at else {}),
            # what `describe` prints beside: the camera motion (compensation on), a video cut short, stream drops
            **(
                {
                    "camera_motion": {
                        "estimates": self.camera_motion_estimates,
                        "failures": self.camera_motion_failures,
                        "held": self.camera_motion_held,
                        **({"bridged": self.camera_motion_bridged} if self.camera_motion_bridged else {}),
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
                {"ended_early": {"last_frame": self.ended_early, "expected_source_frames": self._announced}}
                if self.ended_early is not None
                else {}
            ),
            **({"cut_short": True} if self.cut_short else {}),
            **(
                {"stream_gaps": [{"after_frame": f, "seconds": round(s, 3)} for f, s in self.gaps]} if self.gaps else {}
            ),
            **({"time_gaps": self._time_gaps_json()} if any(self.time_gaps[:3]) else {}),
            "interrupted": self.interrupted,
            "error": self.error,
            "calibration": self.calibration,
            **({"calibration_per_source": self.per_source} if self.per_source else {}),
            **({"birth_shapes": self.birth_shapes} if self.birth_shapes else {}),
            **({"birth_shapes_per_source": self.births_per_source} if self.births_per_source else {}),
            **{key: value for key, value in self._source_reports() if value},
            **({"global_ids_replaced": self.global_ids_replaced} if self.global_ids_replaced else {}),
            **(
                {"gallery_saves_failed": {"count": len(failed), "first": failed[0]}}
                if (failed := self.gallery_saves_failed)
                else {}
            ),
            "outputs": [str(p) for p in self.outputs],
        }

    def _time_gaps_json(self) -> dict[str, int | float]:
        """summary.json's `time_gaps`: the gaps in the frames' times advanced, their frames, the scene cuts, the
        seconds without frames."""
        advanced, frames, cuts, seconds = self.time_gaps
        return {"advanced": advanced, "frames": frames, "scene_cuts": cuts, "seconds": round(seconds, 3)}

    def _source_reports(self) -> list[tuple[str, dict[str, Any]]]:
        """(summary.json key, value) of each `_SOURCE_REPORTS` report: of one source, then per source."""
        pairs = []
        for attribute, per_source, _describe in _SOURCE_REPORTS:
            pairs += [(attribute, getattr(self, attribute)), (f"{attribute}_per_source", getattr(self, per_source))]
        return pairs

    def describe(self) -> str:
        """A few lines for people: frames, speed, tracks, recoveries (after occlusion, and with a gallery the people
        it recognised apart), problems, files."""
        verb = "stopped after" if self.interrupted or self.error else "tracked"
        returns = f"an ID came back after occlusion {count(self.recovered - self.recognised, 'time')}"
        if self.global_ids:  # a gallery in use: its recognitions are no occlusion's returns
            returns += f"; {count(self.recognised, 'person', 'people')} recognised from the gallery"
        lines = [f"{verb} {count(self.frames, 'frame')} in {self.seconds:.1f} s ({self.fps:.1f} frames/s)"]
        if self.vid_stride != 1:  # (the frames are the tracked ones: a 25 frames/s source at stride 2 is 12.5)
            lines[0] += f", 1 source frame in {self.vid_stride} (--vid-stride {self.vid_stride})"
        # (stopped, or cut: how far it got; unreadable frames skipped were reached, not left)
        if self.to_track is not None and self.frames + self.corrupt_frames < self.to_track:
            lines[0] += f", of the {self.to_track} to the source's end"
        if self.frames or self.tracks:  # (a stream that never opened: "0 tracks; ... 0 times" said nothing)
            lines.append(f"{count(len(self.tracks), 'track')}; {returns}")
        if self.per_source:
            lines += [_describe_bounds(cal, f" of {name}") for name, cal in self.per_source.items()]
        elif self.calibration:
            lines.append(_describe_bounds(self.calibration))
        births = self.births_per_source or {"": self.birth_shapes}
        for name, shapes in births.items():
            where = f" of {name}" if name else ""
            for class_id, (low, high, looks) in shapes.items():
                named = self.class_names.get(class_id, class_id)  # ("class person" where the detector names it)
                lines.append(
                    f"new tracks of class {named}{where}: width/height {low:.2f}-{high:.2f} ({looks} looks learnt)"
                )
        for attribute, per_source, describe in _SOURCE_REPORTS:  # one line per source with the report
            reports = getattr(self, per_source) or {"": getattr(self, attribute)}
            lines += [describe(report, f" of {name}" if name else "") for name, report in reports.items() if report]
        if self.corrupt_frames:  # where they are (one source), so the damage can be found
            where = _frames_named(self.corrupt_numbers, self.corrupt_frames)
            lines.append(f"{count(self.corrupt_frames, 'unreadable frame')} skipped{where and f' ({where})'}")
        # (detector_ran_at: not a line here, the detector's warning said it once, with the size asked and the fix)
        if self.size_changes:
            lines.append(
                f"the frame size changed {count(self.size_changes, 'time')}: tracks carried over in the old frame's "
                "pixels, so IDs across those frames mean little (images of several sizes in one source?)"
            )
        if self.invalid_embeddings:
            lines.append(
                f"NaN, infinite or zero embeddings: {count(self.invalid_embeddings, 'row')}, matched by motion only"
            )
        lines += self._camera_motion_lines()
        if self.ended_early is not None:
            lines.append(  # OpenCV counts frames from the container's duration, which a longer sound track sets
                f"the video stops being readable after frame {self.ended_early} of the {self._announced} its "
                "header announces (cut short or damaged, or its sound runs longer than its picture)"
            )
        if self.gaps:
            where = ", ".join(f"{seconds:.1f} s after frame {frame}" for frame, seconds in self.gaps)
            lines.append(f"the stream dropped {count(len(self.gaps), 'time')} and came back: no frames for {where}")
        advanced, frames, cuts, seconds = self.time_gaps
        if advanced or cuts:  # (a stall within a connection too: the frames' times tell it)
            passed = [f"{count(advanced, 'gap')} advanced"] if advanced else []
            passed += [f"{count(cuts, 'scene cut')} (every track ended)"] if cuts else []
            lines.append(
                f"gaps in the frames' times: {' and '.join(passed)}, {count(frames, 'frame')} with no detections, "
                f"{seconds:.1f} s without frames"
            )
        if self.gallery_saves_failed:  # the run went on; the saves after them wrote the gallery (else: `error`)
            failed = self.gallery_saves_failed
            later = "" if self.error else "; a later save wrote the gallery"
            lines.append(f"{count(len(failed), 'periodic gallery save')} failed (the first: {failed[0]}){later}")
        if self.gallery_saved is not None:  # as `track batch` says it: was it written, and how many it holds
            path, size = self.gallery_saved
            lines.append(f"gallery {path}: {count(size, 'identity', 'identities')} saved")
        written = [p for p in self.outputs if p.exists()] if self.opened else []
        if not written:
            lines.append("no frames were read, so no outputs were written")
            return "\n".join(lines)
        lines.append("outputs:")
        lines += [f"  {p}" for p in written]
        checkpoint = self.checkpoint_left()
        if checkpoint is not None:  # else a user may not know the run can go on
            lines.append(f"{RESUME_HINT} {checkpoint}")
        return "\n".join(lines)

    def _camera_motion_lines(self) -> list[str]:
        """`describe`'s lines on camera-motion compensation: on how many frames it ran (with compensation on, even
        when none failed), how many small fits `auto` held back, and where it failed and what bridged the failures."""
        lines: list[str] = []
        if self.camera_motion_estimates is not None:  # compensation on: that it ran, even when nothing failed
            held, tried = self.camera_motion_held, self.camera_motion_estimates
            found = f"{tried - self.camera_motion_failures} of " if self.camera_motion_failures else ""
            lines.append(
                f"camera motion estimated on {found}{count(tried, 'frame')}"
                + (f", {count(held, 'small fit')} held back by `auto` as noise" if held else "")
            )
        if self.camera_motion_failures:  # where (one source): a scene cut, a blank frame, a blur to look at
            where = _frames_named(self.camera_motion_failure_numbers, self.camera_motion_failures)
            them = "it" if self.camera_motion_failures == 1 else "them"  # one failed frame: "after it", not "them"
            lines.append(
                f"camera motion not found on {count(self.camera_motion_failures, 'frame')} "
                f"({where and f'{where}; '}identity used)"
                + (
                    f"; {count(self.camera_motion_bridged, 'frame')} after {them} "
                    f"estimated from the frame before {them}"
                    if self.camera_motion_bridged
                    else ""
                )
            )
        return lines

    def checkpoint_left(self) -> Path | None:
        """The checkpoint a `--resume` of this run continues from: for a run that was interrupted or failed, and
        left one; else None."""
        if not (self.interrupted or self.error) or not self.outputs:
            return None
        checkpoint = self.outputs[0].parent / CHECKPOINT_NAME
        return checkpoint if checkpoint.exists() else None


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


def _describe_still(still: Mapping[str, Any], where: str = "") -> str:
    """One summary line for a `StillBoxes.summary()` (its counts whole numbers, its bound a float or None): the
    learnt jitter bound and what it hid."""
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


def _frames_named(numbers: list[int], total: int) -> str:
    """'frame 7' or 'frames 7, 9, ...': the first `CORRUPT_NUMBERS_SHOWN` of `numbers` (positions in the source) of
    `total` frames; '' when none is known (several sources' summary)."""
    shown = numbers[:CORRUPT_NUMBERS_SHOWN]
    if not shown:
        return ""
    more = ", ..." if total > len(shown) else ""
    return f"{'frames' if len(shown) > 1 or more else 'frame'} {', '.join(map(str, shown))}{more}"


def count_frame(summary: RunSummary, objects: list[TrackedObject], image: np.ndarray) -> None:
    """Add one tracked frame to `summary`: its (H, W[, C]) `image`'s size (a change counted) and its outputs' IDs
    and recoveries (those the gallery recognised counted apart too: each on the one frame it is `recognised`)."""
    summary.frames += 1
    summary.tracks.update(o.track_id for o in objects)
    summary.recovered += sum(o.recovered for o in objects)
    summary.recognised += sum(o.recognised for o in objects)
    if summary.last_size and image.shape[:2] != summary.last_size:
        summary.size_changes += 1
    summary.last_size = image.shape[:2]


def note_camera_failure(summary: RunSummary, tracker: Tracker, number: int, failures: int) -> int:
    """Note source frame `number` in `summary` when its camera-motion estimate failed (the tracker's count went up
    from `failures`; the first `CAMERA_FAILURES_KEPT` kept); returns the count now."""
    now = tracker.camera_motion_failures
    if now > failures and len(summary.camera_motion_failure_numbers) < CAMERA_FAILURES_KEPT:
        summary.camera_motion_failure_numbers.append(number)
    return now


def note_counts(summary: RunSummary, tracker: Tracker, source: FrameSource) -> None:
    """What the tracker and the source counted over the run into `summary`: camera-motion failures and estimates,
    invalid embeddings, corrupt frames, an early end, a stream's drops and the gaps in its frames' times."""
    summary.camera_motion_failures = tracker.camera_motion_failures
    summary.invalid_embeddings = tracker.invalid_embeddings
    if tracker.camera_motion is not None:
        summary.camera_motion_estimates = tracker.camera_motion.estimates
        summary.camera_motion_held = tracker.camera_motion.held
        summary.camera_motion_bridged = tracker.camera_motion.bridged
    summary.corrupt_frames = source.corrupt_frames
    summary.corrupt_numbers = list(source.corrupt_numbers)
    summary.ended_early = source.ended_early
    summary.gaps = list(source.gaps)
    summary.time_gaps = tracker.time_gaps


def note_reports(summary: RunSummary, tracker: Tracker) -> None:
    """The tracker's reports of the source into `summary` (births' shapes, still boxes, measured noise, reported
    width, and with a ReID the calibration, also logged) and the detector's class names they are told by."""
    from tracker.detector import class_names  # (it imports torch: not at the CLI's start)

    summary.birth_shapes = tracker.core.births.summary()
    summary.class_names = class_names(tracker.detector)
    summary.still = tracker.core.still.summary()
    if tracker.core.measurement_noise.enabled:
        summary.measurement_noise = tracker.core.measurement_noise.summary()
    summary.report_width = tracker.core.report_width() or {}
    if tracker.embedder is not None:  # without ReID there are no appearance bounds to report
        summary.calibration = tracker.core.calibration.summary()
        log.info("%s", tracker.core.calibration.describe())


def combine(summaries: list[RunSummary]) -> RunSummary:
    """One summary for several sources (a single source's summary is returned as it is)."""
    if len(summaries) == 1:
        return summaries[0]
    total = RunSummary()
    for counted in ("to_track", "expected_frames"):  # (summed where every source's is known)
        known = [getattr(s, counted) for s in summaries if getattr(s, counted) is not None]
        setattr(total, counted, sum(known) if len(known) == len(summaries) else None)
    for s in summaries:
        total.frames += s.frames
        total.seconds += s.seconds
        # Without a gallery each source numbers its tracks from 1: the same ID in two sources is two tracks.
        total.tracks |= s.tracks if s.global_ids else s.tracks.of_source(s.name)
        total.recovered += s.recovered
        total.recognised += s.recognised
        total.global_ids |= s.global_ids  # (a gallery in use: the summary says what it recognised)
        total.corrupt_frames += s.corrupt_frames
        total.size_changes += s.size_changes
        total.outputs += [p for p in s.outputs if s.opened and p not in total.outputs]  # (one config.yaml once)
        total.interrupted |= s.interrupted
        total.error = total.error or s.error
        if s.calibration:
            total.per_source[s.name] = s.calibration
        if s.birth_shapes:
            total.births_per_source[s.name] = s.birth_shapes
        total.class_names |= s.class_names  # (one detector: the same names)
        for attribute, per_source, _describe in _SOURCE_REPORTS:
            if getattr(s, attribute):
                getattr(total, per_source)[s.name] = getattr(s, attribute)
        total.camera_motion_failures += s.camera_motion_failures
        total.invalid_embeddings += s.invalid_embeddings
        total.detector_ran_at = total.detector_ran_at or s.detector_ran_at  # (one detector for all sources)
        total.vid_stride = s.vid_stride  # (one `--vid-stride` for all sources)
        if s.camera_motion_estimates is not None:
            total.camera_motion_estimates = (total.camera_motion_estimates or 0) + s.camera_motion_estimates
            total.camera_motion_held += s.camera_motion_held
            total.camera_motion_bridged += s.camera_motion_bridged
        total.gaps += s.gaps
        (advanced, frames, cuts, seconds), theirs = total.time_gaps, s.time_gaps
        total.time_gaps = GapCount(
            advanced + theirs.advanced, frames + theirs.frames, cuts + theirs.cuts, seconds + theirs.seconds
        )
        total.gallery_saves_failed += s.gallery_saves_failed
        if s.ended_early is not None:
            total.ended_early, total.ended_early_announced = s.ended_early, s._announced
    return total
