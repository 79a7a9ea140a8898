"""Resume checkpoints of a `track` run: what identifies the run, and the tracker's state every few seconds.

A run of one re-readable source (a video file, an image folder or glob, a MOTChallenge sequence) writes
`checkpoint.bin` into its run folder after its first frame, then every `checkpoint_seconds` of wall time and when
it is stopped (Ctrl-C, SIGTERM, a source error); a run that finishes deletes it. `track SOURCE --resume` reads it
back, truncates the MOT txt and the JSONL to the lengths it records (a killed process can leave half a line) and
continues from the frame after it, so the outputs are those of an uninterrupted run (tests/test_resume.py). It holds
people's looks, so it is written mode 0600, readable by its owner only (`tracker.private_file`).

File format: one JSON line (the header: format version, the run's identity, progress, and the length and SHA-256
of the payload), then the payload, a pickle of the tracker's state (`TrackerCore` with its tracks, Kalman arrays,
appearance bank, calibration queues, still boxes, birth shapes, ID counter and gallery, faiss index included; the
camera-motion estimator). Pickle is acceptable here because the file is the user's own, written by this program
into their own run folder, and it is only unpickled after its header matched the run being resumed and the payload
matched its hash: a checkpoint of another source, config, frame rate, device or weights is refused with one error
naming what differs, and a damaged one with another, before anything is unpickled. Do not resume from run folders
you did not make (a pickle can run code). A gallery file, which people share, is never a pickle
(`tracker.gallery`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import pickle
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, NoReturn

from tracker.config import TrackerConfig, config_to_dict
from tracker.global_ids import check_spans
from tracker.io.atomic import atomic_write, temp_beside
from tracker.io.names import is_utf8, shown_apart, shown_name
from tracker.io.sources import FrameSource, local_path, resolve_source, shown_url, tracked_folder
from tracker.private_file import create_private
from tracker.weights import file_digest, resolve_weights

__all__ = [
    "CHECKPOINT_NAME",
    "DEFAULT_CHECKPOINT_SECONDS",
    "Checkpoint",
    "Checkpointer",
    "Progress",
    "ResumeError",
    "not_resumable",
    "read_checkpoint",
    "remove_checkpoint",
    "resumable",
    "run_identity",
    "stopped_after",
]

log = logging.getLogger(__name__)

CHECKPOINT_NAME = "checkpoint.bin"  # in the run folder, beside the outputs
# In the run folder while it holds a checkpoint: the gallery file (`--gallery`) as the run last wrote it, and while
# a save renames its file over the gallery, the file it leaves (`tracker.run_gallery.recorded_versions`).
GALLERY_RECORD_NAME = "checkpoint.gallery.json"
FORMAT = 1  # version of the checkpoint layout; another one is refused
# Wall time between checkpoints: a kill loses at most this much tracking. A checkpoint of 20-50 tracks takes
# tens of milliseconds and a few MB (docs/cli.md, resume), so once a minute costs well under 0.1 % of the run.
DEFAULT_CHECKPOINT_SECONDS = 60.0
_HEADER_END = b"\n"
_NO_DEFAULT = object()  # `_differences`: a key with no built-in default (not a config key)
STRIDE_KEY = "vid_stride"  # the identity's `--vid-stride`: a checkpoint is resumed with the stride it was made with
_IMAGE_DIGEST_CHARS = 16  # hex digits of the hash over an image source's file names, sizes and times
# the progress keys of every checkpoint since format 1 (those added later default to what a run before them did)
_FIRST_PROGRESS_KEYS = ("frames", "last_frame", "txt_bytes", "jsonl_bytes")
_SIZE_FIELDS = 2  # Progress.last_size: (height, width), or none
_SHOWN_VALUE_CHARS = 60  # of a malformed header value, in the error that names it


class ResumeError(ValueError):
    """A run cannot be resumed: no checkpoint, one of another run, a damaged one (the message is one line)."""


@dataclass
class Progress:
    """How far a run got: frames tracked, the source position of the last one, the output files' lengths and the
    summary's running figures (so the resumed run's summary covers the whole video)."""

    frames: int = 0  # frames tracked (skipped unreadable ones are not counted)
    last_frame: int = 0  # source position (1-based) of the last frame tracked
    txt_bytes: int = 0  # length of the MOT txt after that frame
    jsonl_bytes: int = 0  # length of the JSONL after that frame
    # IDs shown so far: a checkpoint written before `track_runs` lists each; later ones keep them in `track_runs`
    tracks: list[int] = field(default_factory=list)
    # [first, last] of each run of consecutive IDs shown so far (`tracker.shown_ids`; absent from an older
    # checkpoint: `tracks` lists them), so that a run of days checkpoints no list of every ID it showed
    track_runs: list[list[int]] = field(default_factory=list)
    recovered: int = 0  # times an ID came back (after occlusion, or recognised by the gallery)
    recognised: int = 0  # of `recovered`, new tracks the gallery recognised (absent from an older checkpoint: 0)
    seconds: float = 0.0  # tracking time so far (all sessions)
    corrupt_frames: int = 0  # unreadable frames skipped up to `last_frame`
    corrupt_numbers: list[int] = field(default_factory=list)  # the first ones' positions (`FrameSource`)
    size_changes: int = 0  # frames of another size than the frame tracked before them
    last_size: list[int] = field(default_factory=list)  # (height, width) of the last frame tracked ([]: none yet)
    camera_motion_failure_numbers: list[int] = field(default_factory=list)  # the first failed estimates' positions
    # an image source's depth of 10- to 14-bit data in 16-bit files, once fixed (`DepthReader.bits`): a resumed run
    # that starts after the image that fixed it scales as the first run did (None: not fixed yet, or a video)
    depth_bits: int | None = None
    # the periodic gallery saves that failed so far (their lines: `RunSummary.gallery_saves_failed`; absent from an
    # older checkpoint: none), so that a resumed run's summary still names them
    gallery_saves_failed: list[str] = field(default_factory=list)
    # with --gallery, the global ID history (`GlobalIdHistory.spans`: [track, global ID, first, last] each) and the
    # spans its last forgetting kept: a resume rebuilds it from them, in O(spans) (None: a checkpoint written before
    # they were kept, or a run without a gallery; a resume then reads the JSONL, `GlobalIdHistory.from_jsonl`)
    global_id_spans: list[list[int]] | None = None
    global_id_kept: int = 0


@dataclass
class Checkpoint:
    """A checkpoint read back: the run's identity, its progress and the pickled tracker state (not yet unpickled)."""

    path: Path
    identity: dict[str, Any]
    progress: Progress
    _payload: bytes = field(repr=False)

    def state(self) -> Any:
        """The tracker state saved with it (unpickled now: its header was matched to the run and its hash checked)."""
        return pickle.loads(self._payload)


def _source_identity(spec: str, source: FrameSource) -> dict[str, Any]:
    """What names the frames: the video file's absolute path, size and modification time; for images, the folder
    or glob and a hash over every file's name, size and modification time (a file replaced or added differs)."""
    # The real path: `../x/v.mp4`, `/abs/x/v.mp4` and a path through a symbolic link name one file whatever the
    # working directory (`Path.absolute` kept the `..`); the size and modification time still tell files apart.
    # A `file://` URL is the file it names (`local_path`, as `open_source` reads it): one identity with its path.
    # A sequence's image folder is its sequence before the real path is taken (an img1 that is a link: `same_source`).
    absolute = same_source(os.path.realpath(tracked_folder(local_path(spec))))
    if source.files:
        digest = hashlib.sha256()
        for file in source.files:
            stat = file.stat()
            # (the name's bytes as on disk: a name that is not UTF-8 holds lone surrogates, which UTF-8 cannot encode)
            digest.update(os.fsencode(f"{file.name}\0{stat.st_size}\0{stat.st_mtime_ns}\n"))
        return {
            "source": absolute,
            "kind": source.kind,
            "frames": len(source.files),
            "files": digest.hexdigest()[:_IMAGE_DIGEST_CHARS],
        }
    stat = Path(absolute).stat()
    return {"source": absolute, "kind": source.kind, "bytes": stat.st_size, "modified_ns": stat.st_mtime_ns}


def same_source(path: str) -> str:
    """The real path a run's identity names the source `path` (a real path) by: a MOTChallenge sequence's image
    folder, read as the sequence, is the sequence folder (`tracker.io.sources.tracked_folder`), so `track SEQ` and
    `track SEQ/img1` resume one run (a checkpoint or summary.json written by a run on `SEQ/img1` before named
    that folder: read through this too, it names the sequence)."""
    return str(tracked_folder(Path(path)))


def _weights_identity(cfg: TrackerConfig) -> dict[str, str]:
    """Content hashes of the detector's and the ReID's weights (a name where no file is found)."""
    out = {}
    for kind, name in (("detector", cfg.detector.model), ("reid", cfg.reid.weights)):
        path = resolve_weights(name)
        out[kind] = file_digest(path) if path is not None else f"name:{name}"
    return out


def resumable(spec: str, source: FrameSource) -> bool:
    """Whether `source` can be read again from a given frame: files, folders and globs (named by a path or a
    `file://` URL), not webcams, streams or other URLs (a URL's content cannot be identified without reading it
    all)."""
    return not (source.live or source.kind == "stream" or resolve_source(spec) == "url")


def not_resumable(spec: str) -> ResumeError:
    """The refusal for a source that cannot be read again (a webcam, a live stream, a URL)."""
    return ResumeError(
        f"{shown_name(shown_url(spec))} cannot be resumed: a webcam, a stream or a URL cannot be read again from where "
        "it stopped (a file, an image folder or a glob can, named by its path or a file:// URL)"
    )


def _default_config() -> dict[str, Any]:
    """The built-in config as a checkpoint's header holds it (JSON: tuples as lists)."""
    return json.loads(json.dumps(config_to_dict(TrackerConfig())))


def run_identity(
    spec: str,
    source: FrameSource,
    cfg: TrackerConfig,
    frame_rate: float,
    device: str,
    gallery: Path | None,
    stride: int = 1,
) -> dict[str, Any]:
    """What a checkpoint must match to be resumed: the source, the resolved config, the frame rate, the device,
    the weights, the gallery file and the `stride` (`--vid-stride`; checkpoints written before it was kept had 1)
    (JSON-ready).

    Raises:
        ResumeError: a source that cannot be read again (a webcam, a live stream, a URL).
    """
    if not resumable(spec, source):
        raise not_resumable(spec)
    return {
        "format": FORMAT,
        **_source_identity(spec, source),
        "config": json.loads(json.dumps(config_to_dict(cfg))),  # tuples as lists, as the header reads back
        "frame_rate": frame_rate,
        "device": device,
        "weights": _weights_identity(cfg),
        "gallery": None if gallery is None else os.path.realpath(gallery),
        STRIDE_KEY: stride,
    }


def _differences(
    saved: dict[str, Any], now: dict[str, Any], prefix: str = "", defaults: dict[str, Any] | None = None
) -> list[str]:
    """`key: saved -> now` for every leaf that differs (nested dicts as dotted keys).

    `defaults` (same nesting as `saved`): a key `saved` lacks, because the checkpoint was made before the key
    existed, had its default value in that run; it differs only if its value now is not that default.
    """
    out = []
    for key in sorted(set(saved) | set(now)):
        a, b = saved.get(key), now.get(key)
        default = (defaults or {}).get(key, _NO_DEFAULT)
        if key not in saved and isinstance(default, dict) and isinstance(b, dict):  # a whole section added since
            out += _differences({}, b, f"{prefix}{key}.", default)
        elif isinstance(a, dict) and isinstance(b, dict):
            out += _differences(a, b, f"{prefix}{key}.", default if isinstance(default, dict) else None)
        elif key not in saved and default is not _NO_DEFAULT:
            if default != b:
                out.append(f"{prefix}{key}: absent then (its default {default!r} applied), {b!r} now")
        elif a != b:
            out.append(f"{prefix}{key}: {_shown_value(a, b)} then, {_shown_value(b, a)} now")
    return out


def _stride_told_once(saved: dict[str, Any], now: dict[str, Any], differences: list[str]) -> list[str]:
    """`differences` with a change of `--vid-stride` told as that alone: the tracker's frame rate it set (the
    source's over the stride) left out where the source's is the same (it read 'frame_rate: 12.5 then, 25.0 now',
    a rate the user never gave), and the option to resume with added."""
    then, stride = saved.get(STRIDE_KEY, 1), now.get(STRIDE_KEY, 1)
    if then == stride:
        return differences
    told = [f"{d} (resume with --vid-stride {then})" if d.startswith(f"{STRIDE_KEY}:") else d for d in differences]
    rate_then, rate_now = saved.get("frame_rate"), now.get("frame_rate")
    numbers = isinstance(rate_then, float | int) and isinstance(rate_now, float | int)
    if numbers and math.isclose(rate_then * then, rate_now * stride):  # the same source rate
        told = [d for d in told if not d.startswith("frame_rate:")]
    return told


def _shown_value(value: Any, other: Any) -> str:
    """`value` as a refusal names it (`repr`), a string that is not UTF-8 (a source's path) quoted as shown, or with
    its bytes as `\\xNN` where `other` would be shown alike (`shown_apart`): its repr showed Python's `\\udce9`."""
    if not isinstance(value, str) or is_utf8(value):
        return repr(value)
    return f"'{shown_apart([value, other])[0] if isinstance(other, str) else shown_name(value)}'"


def read_checkpoint(path: Path, identity: dict[str, Any]) -> Checkpoint:
    """Read the checkpoint at `path` and check it belongs to the run `identity` describes (nothing is unpickled).

    Raises:
        ResumeError: no such file; not a checkpoint, truncated or damaged (hash mismatch); another format; made
            by a run of another source, config, frame rate, device, weights or gallery (the message names what).
    """
    name = shown_name(path)  # (a folder not named in UTF-8: U+FFFD a byte, not Python's `\\udce9` escapes)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ResumeError(f"no checkpoint in {shown_name(path.parent)} ({path.name})") from None
    except OSError as exc:
        raise ResumeError(f"cannot read the checkpoint {name}: {exc.strerror or exc}") from None
    head, sep, payload = data.partition(_HEADER_END)
    try:
        header = json.loads(head) if sep else None
    except (json.JSONDecodeError, UnicodeDecodeError):
        header = None
    keys = {"identity", "progress", "payload_bytes", "payload_sha256"}
    if not isinstance(header, dict) or not keys <= set(header) or not isinstance(header["identity"], dict):
        raise ResumeError(f"{name} is not a track checkpoint, or it is damaged: run again without --resume")
    if header["identity"].get("format") != FORMAT:
        found = header["identity"].get("format")
        raise ResumeError(f"{name} has checkpoint format {found}, this version reads {FORMAT}")
    if len(payload) != header["payload_bytes"] or hashlib.sha256(payload).hexdigest() != header["payload_sha256"]:
        raise ResumeError(
            f"{name} is damaged (its state is {len(payload)} bytes, the header says {header['payload_bytes']}, or "
            "its hash differs): it cannot be resumed; run again without --resume"
        )
    # A config key added since the checkpoint was made had its default in that run: only another value refuses
    defaults = {"config": _default_config(), STRIDE_KEY: 1}  # (what checkpoints made before these keys ran with)
    saved = header["identity"]
    if isinstance(saved.get("source"), str):  # (one of a sequence's image folder, as runs on it wrote before)
        saved = {**saved, "source": same_source(saved["source"])}
    differences = _stride_told_once(saved, identity, _differences(saved, identity, defaults=defaults))
    if differences:
        raise ResumeError(
            f"{name} was made by another run, so it is not resumed ({'; '.join(differences)}): resume with the "
            "same source, options and weights, or run again without --resume"
        )
    return Checkpoint(path, header["identity"], _progress(header["progress"], name), payload)


def _progress(values: object, name: str) -> Progress:
    """The `progress` of the header of the checkpoint `name` as a `Progress`, checked: an object holding the keys of
    every checkpoint (`_FIRST_PROGRESS_KEYS`) and none this version does not know, each value of its field's type
    (`_fits`: numbers >= 0), `last_size` none or two, `track_runs` [first, last] pairs, `global_id_spans` as
    `GlobalIdHistory.spans()` gives them (`check_spans`) (a hand-edited header gave TypeErrors and ValueErrors
    that named no file, from inside the run, some after its outputs were cut back to the checkpoint).

    Raises:
        ResumeError: one line naming the file, the field and what is wrong.
    """

    def refuse(what: str) -> NoReturn:
        raise ResumeError(
            f"{name}: its header's progress {what} (edited by hand, or damaged): correct it, or run again without "
            "--resume"
        )

    if not isinstance(values, dict):
        refuse(f"is {_shown(values)}, not a JSON object")
    types = {f.name: str(f.type) for f in fields(Progress)}
    unknown = [key for key in values if key not in types]
    if unknown:
        refuse(f"holds keys this version does not know ({', '.join(map(repr, unknown))}; a newer version's?)")
    missing = [key for key in _FIRST_PROGRESS_KEYS if key not in values]
    if missing:
        refuse(f"lacks {', '.join(missing)}")
    for key, value in values.items():
        if not _fits(value, types[key]):
            refuse(f"{key} is {_shown(value)}, not {types[key]} (numbers >= 0)")
    if len(values.get("last_size", [])) not in (0, _SIZE_FIELDS):
        refuse(f"last_size is {_shown(values['last_size'])}, not [height, width] nor []")
    for run in values.get("track_runs", []):
        if len(run) != len(("first", "last")) or run[0] > run[-1]:
            refuse(f"track_runs holds {_shown(run)}, not a run of IDs [first, last]")
    try:
        check_spans(values.get("global_id_spans") or [], values["last_frame"])
    except ValueError as exc:
        refuse(f"global_id_spans: {exc}")
    return Progress(**values)


def _fits(value: object, kind: str) -> bool:
    """Whether the JSON `value` is of the `Progress` field type `kind` ("int", "list[int]", "int | None", ...),
    its numbers >= 0 and finite (a bool is no number here).

    Raises:
        TypeError: a `kind` with no check here (a field added to `Progress` of a new type: tests/test_resume.py)."""
    if kind.endswith(" | None"):
        return value is None or _fits(value, kind.removesuffix(" | None"))
    if kind.startswith("list[") and kind.endswith("]"):
        return isinstance(value, list) and all(_fits(item, kind[len("list[") : -1]) for item in value)
    if kind == "str":
        return isinstance(value, str)
    whole = isinstance(value, int) and not isinstance(value, bool) and value >= 0  # (no float: a huge int overflows)
    if kind == "int":
        return whole
    if kind == "float":
        return whole or (isinstance(value, float) and math.isfinite(value) and value >= 0)
    raise TypeError(f"no check for a checkpoint progress field of type {kind}")


def _shown(value: object) -> str:
    """`value` as JSON, cut to `_SHOWN_VALUE_CHARS`, for an error line."""
    text = json.dumps(value)
    return text if len(text) <= _SHOWN_VALUE_CHARS else text[: _SHOWN_VALUE_CHARS - 3] + "..."


def stopped_after(path: Path) -> int | None:
    """The source frame (1-based) after which the run that left the checkpoint at `path` stopped, read from its
    header line alone (the payload is neither read nor unpickled); None where there is no such file or it is not a
    readable checkpoint. What a new run into that folder, which removes it, tells the user it replaces."""
    try:
        with path.open("rb") as file:
            header = json.loads(file.readline())
        last = header["progress"]["last_frame"]
    except (OSError, ValueError, TypeError, KeyError):  # (json's errors are ValueErrors; UnicodeDecodeError too)
        return None
    return last if isinstance(last, int) and not isinstance(last, bool) else None


class Checkpointer:
    """Writes the checkpoint of one run: after the first frame, then when `every_seconds` of wall time have passed
    since the last one (`due`), and on demand (a stop). Each write is atomic: temp file, fsync, rename. The file is
    mode 0600, readable by its owner only (`tracker.private_file`), as the gallery file is.

    Args:
        path: the checkpoint file (`<run folder>/checkpoint.bin`).
        identity: `run_identity(...)` of this run.
        every_seconds: wall time between checkpoints (> 0).
        clock: seconds, monotonic (tests pass their own).
    Raises:
        ValueError: `every_seconds` not above 0 (or NaN).
    """

    def __init__(
        self,
        path: Path,
        identity: dict[str, Any],
        every_seconds: float = DEFAULT_CHECKPOINT_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not every_seconds > 0:
            raise ValueError(f"checkpoint interval must be positive seconds, got {every_seconds}")
        self.path, self.identity, self.every, self._clock = path, identity, every_seconds, clock
        self._last: float | None = None  # clock at the last write; None: none yet
        self.written = 0  # checkpoints written by this run
        self.last_frame = 0  # source position of the last checkpointed frame

    def due(self) -> bool:
        """True when no checkpoint was written yet or the interval has passed since the last one."""
        return self._last is None or self._clock() - self._last >= self.every

    def write(self, state: Any, progress: Progress) -> None:
        """Write `state` (pickled) and `progress` atomically. The outputs must be flushed to `progress`'s lengths
        (and synced, so that a power cut cannot leave them shorter than the checkpoint says)."""
        payload = pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)
        header = {
            "identity": self.identity,
            "progress": asdict(progress),
            "payload_bytes": len(payload),
            "payload_sha256": hashlib.sha256(payload).hexdigest(),
        }
        # `checkpoint.bin.partial`, fsynced, renamed into place (removed on an error: a second Ctrl-C mid-write
        # left a few MB of it beside the run), created mode 0600 from the first byte: the state holds every track's
        # looks (and the gallery), biometric data
        with atomic_write(self.path, create_private) as f:
            f.write(json.dumps(header).encode() + _HEADER_END)
            f.write(payload)
        self._last = self._clock()
        self.written += 1
        self.last_frame = progress.last_frame
        log.debug("checkpoint at frame %d: %d bytes", progress.last_frame, len(payload))

    def remove(self) -> None:
        """The run finished: its checkpoint (and any temp file) goes."""
        remove_checkpoint(self.path)


def remove_checkpoint(path: Path) -> None:
    """Delete the checkpoint at `path` and the temp file a write of it killed outright left (`<path>.partial`: every
    track's looks), where they exist."""
    for file in (path, temp_beside(path)):
        file.unlink(missing_ok=True)
