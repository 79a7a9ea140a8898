"""The work list of `track batch`: one `VideoTask` per source, its output folder's name, the fingerprint of what
makes its outputs, and the bookkeeping that lets a re-run reuse a video (`batch.json` beside its outputs) or fail a
source that names nothing at once; `VideoResult`, how a video went.

Names: the file stem, then `<stem>_2`, ... (as `track`); a folder of `out` keeps the source its `batch.json` names.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tracker.batch_keys import changed_keys, recorded_config, removed_keys, unknown_at_default, without
from tracker.config import TrackerConfig, config_to_dict, paths_from_here
from tracker.file_errors import one_line as said_line
from tracker.io.mot import unique_stem
from tracker.io.names import safe_name, shown_name
from tracker.run_folders import BATCH_NOTE_NAME, PARTIAL_SUFFIX  # (out/.<name>.partial/: `track --out` refuses it)

__all__ = [
    "NOTE_NAME",
    "PARTIAL_SUFFIX",
    "TrackerFactory",
    "VideoResult",
    "VideoTask",
    "config_changes",
    "failed_result",
    "labels",
    "make_tasks",
    "names_nothing",
    "one_line",
    "output_names",
    "published_videos",
    "read_note",
    "recorded_source",
    "reused_result",
    "source_key",
    "start_digest",
    "unnamed_sources",
]

NOTE_NAME = BATCH_NOTE_NAME  # beside each video's outputs: what made them (for resuming) and how the task went
_REASON_CHARS = 600  # failure reasons longer than this lose their middle, to stay one line ...
_REASON_HEAD_CHARS = 200  # ... keeping this much of their start (what failed) and the rest of their end (what to do)
_REASON_CUT = " [...] "
FOLDER_NAME_CHARS = "-_."  # the characters besides letters and digits a video's folder name keeps (others: `_`)
_TASK_KEY_CHARS = 16  # hex digits of the hash over what makes a video's outputs (its `batch.json` key)

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
        known_fingerprint: where the folder's `config.yaml` lacks keys that are at their defaults now (keys the
            tracker gained since that run: `tracker.batch_keys`), or the config has relative weight paths (made
            absolute in `fingerprint`, `tracker.config.paths_from_here`), the fingerprint without those keys and with
            the paths as written, as an earlier run made it; also taken for these inputs (`made`). None: neither.
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
    known_fingerprint: str | None = None

    def made(self, fingerprint: object) -> bool:
        """Whether outputs recorded with `fingerprint` were made from this task's inputs: its `fingerprint`, or
        `known_fingerprint` (the same inputs before the tracker gained keys that are at their defaults)."""
        return fingerprint is not None and fingerprint in (self.fingerprint, self.known_fingerprint)

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
    """How one video went. `status`: "done", "reused" (outputs of an earlier identical run), or "failed" (`reason`
    says why, one line; a stream that failed part-way keeps the outputs of the frames read before, in `outputs`).

    `index`: its position in `sources`; `name`: its output folder's name under the batch folder (`out_dir`);
    `frames`: frames tracked; `seconds`: wall time of its run (0 when reused); `tracks`: track IDs in its outputs;
    `attempts`: runs (more than 1: a worker died and it was run again; 0: never started, its source names nothing);
    `recognised`: with a gallery, its new tracks that took an identity of the gallery as the batch began.
    """

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
    recognised: int = 0
    cut_short: bool = False  # stopped by `max_frames` with frames of its source left (the gallery records so)

    @property
    def retried(self) -> bool:
        """Whether the video was run more than once (a worker died)."""
        return self.attempts > 1


def failed_result(task: VideoTask, reason: str, attempts: int) -> VideoResult:
    """The "failed" result of `task` after `attempts` runs, with its one-line `reason`."""
    return VideoResult(task.index, task.source, task.name, task.out_dir, "failed", attempts=attempts, reason=reason)


def one_line(exc: BaseException, keep_end: bool = True) -> str:
    """`exc`'s message on one line (its type's name where it says nothing), a long one cut in its middle: its start
    says what failed, its end what to do (cut at the end, an offline download's "set detector.model to a local model
    (`--set detector.model=PATH` on the command line," stopped there). A source's error is kept whole: it ends with
    what to do, and its start names the source (`track batch cams/`). `keep_end` False: a long one keeps only its
    start (Ray's lost-worker errors end with the task's whole description). An OSError's file names are as `track`
    says them (`file_errors.one_line`), each byte of a name that is not UTF-8 as U+FFFD (`shown_name`), not Python's
    repr of them (`caf\\udce9` as text): the reason is text for people, with no lone surrogate in it that a line
    printed on a strict UTF-8 stream would fail on."""
    from tracker.io.sources import SourceError

    text = shown_name(said_line(exc))
    if isinstance(exc, SourceError) or len(text) <= _REASON_CHARS:
        return text
    if not keep_end:
        return text[:_REASON_CHARS]
    tail = _REASON_CHARS - _REASON_HEAD_CHARS - len(_REASON_CUT)
    return f"{text[:_REASON_HEAD_CHARS]}{_REASON_CUT}{text[-tail:]}"


def make_tasks(
    sources: Sequence[str],
    cfg: TrackerConfig,
    out: Path,
    save_video: bool,
    max_frames: int | None,
    factory: Any,
    gallery: Path | None,
    start: bytes | None,
    linked_starts: Mapping[str, str | None] | None = None,
) -> list[VideoTask]:
    """One task per source, in order: its unique output name (`output_names`, which keeps a folder of `out` for the
    source that made it) and the fingerprint of what makes its outputs (the source file's identity, the tracking
    config without `batch`, the options, the gallery's bytes), which a re-run compares to reuse them; where the
    folder's `config.yaml` lacks keys that are at their defaults now, also the fingerprint without them
    (`known_fingerprint`: an upgrade that added a key tracked every video again).
    `linked_starts`: for the folders an earlier run of the batch linked into the gallery, the `start_digest` of
    the gallery that run began from, used in their fingerprints instead of `start`'s (`tracker.batch_link`)."""
    cfg_dict = config_to_dict(cfg)
    tracking = _tracking(cfg_dict, save_video)
    start_sha = start_digest(start)
    tasks = []
    # (relative weight paths absolute, as a run saves them: the same config file run from its folder and from another
    # gave `../w/det.pt` and `/p/w/det.pt` and tracked every video again)
    here = paths_from_here(tracking)
    for index, (source, name) in enumerate(zip(sources, output_names(sources, out), strict=True)):
        identity = {"source": _file_identity(str(source)), "config": here, "video": save_video, "max": max_frames}
        began = linked_starts[name] if linked_starts is not None and name in linked_starts else start_sha
        identity["gallery"] = [gallery is not None, began]
        recorded = recorded_config(out / name)
        added = unknown_at_default(tracking, recorded) if recorded is not None else []
        # (an earlier run's: its paths as written, without the keys gained since)
        known = _digest(identity | {"config": without(tracking, added)}) if added or here != tracking else None
        tasks.append(
            VideoTask(
                index, str(source), name, out, cfg_dict, _digest(identity), save_video, max_frames, factory,
                gallery is not None, known,
            )
        )  # fmt: skip
    return tasks


def _tracking(cfg_dict: dict[str, Any], save_video: bool = True) -> dict[str, Any]:
    """The part of a config (`config_to_dict`) that makes a video's outputs: all but `batch` (how a batch runs), and
    but `video` (how the annotated video is drawn) where no video is saved (`save_video` False: a change of the trails
    tracked every video again for nothing)."""
    left_out = {"batch"} if save_video else {"batch", "video"}
    return {k: v for k, v in cfg_dict.items() if k not in left_out}


def config_changes(task: VideoTask) -> str:
    """For a video an earlier run of the batch finished (its `batch.json` there) that is tracked again, why: the config
    keys that differ from those its folder's `config.yaml` records ("its config changed (key: old -> new, ...)",
    `batch_keys.changed_keys`), and where one of them is a key this tracker no longer has (`removed_keys`), that its
    outputs are made again for it; "" where there is no such run or record, or no key differs (its source or options
    changed). A removed key gave no note at all: the video was tracked again, the user not told why."""
    recorded = recorded_config(task.out_dir) if read_note(task.out_dir) is not None else None
    if recorded is None:
        return ""
    # (relative weight paths as the run saved them: absolute, `paths_from_here`; compared as written, each said changed)
    current = paths_from_here(_tracking(task.cfg_dict, task.save_video))
    recorded = paths_from_here(_tracking(recorded, task.save_video))
    changes = changed_keys(current, recorded)
    if not changes:
        return ""
    said = f"its config changed ({changes})"
    removed = removed_keys(current, recorded)
    if removed:
        them = "it" if len(removed) == 1 else "them"
        said += (
            f": this version of the tracker has no {', '.join(removed)} (an upgrade removed {them}), so the outputs "
            f"made with {them} may differ from what it makes"
        )
    return said


def _digest(identity: dict[str, Any]) -> str:
    """The fingerprint of a video's inputs: the start of the SHA-256 (hex) of their JSON."""
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:_TASK_KEY_CHARS]


def start_digest(start: bytes | None) -> str | None:
    """The SHA-256 (hex) of the gallery file's bytes as a batch began (None: no file), in its tasks' fingerprints."""
    return None if start is None else hashlib.sha256(start).hexdigest()


def _file_identity(source: str) -> Any:
    """Path, size and modification time of a video file, or of each image file a folder, sequence or glob source
    reads (a folder's own date missed frames copied into its `img1/`; a glob had none: both were reused stale); None
    for streams and sources that cannot be opened."""
    from tracker.io.sources import SourceError, local_path, open_source, resolve_source

    path = local_path(source)  # (`~/a.mp4`, `file:///data/a.mp4`: the file they name, as `open_source` reads it)
    if not path.is_dir() and resolve_source(source) != "glob":
        return _stat_identity(path)
    try:
        files = open_source(source).files  # lists the images and decodes the first one only
    except SourceError:
        return None
    return [_stat_identity(file) for file in files]


def _stat_identity(path: Path) -> list[Any] | None:
    """[resolved path, size, modification time] of a file, or None where it cannot be read."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return [str(path.resolve()), stat.st_size, stat.st_mtime_ns]


def output_names(sources: Sequence[str], out: Path | None = None) -> list[str]:
    """Unique output folder names: the file stem, then `<stem>_2`, `<stem>_3`, ... for repeats (as `track`).

    With `out`, a folder there keeps its source across re-runs: a source an earlier batch published (its
    `batch.json` names it, as given) gets that folder again, and no other source gets the name of a folder already
    in `out`; a file given twice gets both its folders (the one made from the same spelling first), not a new one
    per re-run. Names by position alone gave `cam1/clip.mp4` and `cam2/clip.mp4`, listed the other way round (or after
    a new `cam0/clip.mp4`), each other's folders: both tracked again, and each folder replaced by another camera's.
    """
    from tracker.io.sources import image_source_name, local_path  # (lazily, as the other source checks: OpenCV)

    earlier = _earlier_sources(out) if out is not None else {}
    taken = set(_folders(out)) if out is not None else set()
    names: list[str | None] = [None] * len(sources)
    claimed: set[str] = set()
    for exact in (True, False):  # a folder made from this very spelling first, then one of the same file
        for index, source in enumerate(sources):
            if names[index] is not None:
                continue
            # (the raw spelling too: a note written before passwords were hidden recorded a URL as given)
            keys = dict.fromkeys((source_key(str(source)), str(source)))
            folders = [folder for key in keys for folder in earlier.get(key, [])]
            spellings = {str(source), recorded_source(str(source))}
            name = next((f for f, given in folders if f not in claimed and (given in spellings or not exact)), None)
            if name is not None:
                names[index] = name
                claimed.add(name)
    for index, source in enumerate(sources):
        if names[index] is None:
            # images are named as `track` names them (`cam1/*.jpg`: cam1, `day.cam1/`: day.cam1; stems gave `_`, `day`)
            stem = image_source_name(source) or local_path(recorded_source(str(source)).rstrip("/")).stem
            names[index] = unique_stem(_folder_name(stem), taken)
    return [name for name in names if name is not None]


def _folder_name(stem: str) -> str:
    """The folder name of a source of name `stem` (a file's stem, a folder's name): `track`'s rule (`safe_name`: at most
    `MAX_NAME_BYTES` bytes, no leading or trailing dot or space, `video` for nothing left) after each character other
    than a letter, a digit or one of `FOLDER_NAME_CHARS` became `_`. Batch's own rule had no limit: a 248-byte video
    name failed with "File name too long" (`.<name>.partial`), and a video `...mp4` (stem `..`) was given `out/..`."""
    return safe_name("".join(c if c.isalnum() or c in FOLDER_NAME_CHARS else "_" for c in stem), "video")


def labels(videos: Sequence[tuple[str, str]]) -> list[str]:
    """How the progress lines and the summary name each (source, output name): the name, with the source beside
    it where the name alone does not tell which source it is (two sources of one stem, `a.mp4` and `a.avi`, or a
    folder named by an earlier batch): "a_2 (cams/a.mp4)"; a camera URL's password hidden (`recorded_source`)."""
    own = [output_names([source])[0] for source, _ in videos]
    shared = Counter(own)
    return [
        f"{name} ({recorded_source(source)})" if name != base or shared[base] > 1 else name
        for (source, name), base in zip(videos, own, strict=True)
    ]


def _folders(out: Path) -> list[str]:
    """The names in `out` a video's folder could clash with (not the hidden `.partial`, `.old` and lock files)."""
    try:
        return [entry.name for entry in out.iterdir() if not entry.name.startswith(".")]
    except OSError:  # not made yet
        return []


def source_key(source: str) -> str:
    """What finds a source's folder again in a re-run (`batch.json`'s "path"): the absolute path of a file, folder or
    glob, however it was spelled (`clip.mp4`, `/data/clip.mp4`, `cams/../clip.mp4`, `file:///data/clip.mp4`), else the
    source as the batch records it (`recorded_source`: a camera URL without its password)."""
    from tracker.io.sources import local_path, resolve_source

    if resolve_source(source) in ("path", "glob"):
        return os.path.abspath(local_path(source))
    return recorded_source(source)


def recorded_source(source: str) -> str:
    """`source` as the batch writes it (`batch.json`) and shows it (its folder's name, progress, summary): a URL's
    password as `***` (`tracker.io.sources.shown_url`: `rtsp://admin:***@cam/x`), any other source as given.
    `batch.json` held the URL as given, so a camera's password lay in every video's folder in plain text. The password
    is not needed to find the folder again: a re-run's URL is recorded the same way (user, host and path: the same
    camera), and what made the outputs is its fingerprint. A file's name is kept as it is (not a URL, whatever it
    holds)."""
    from tracker.io.sources import resolve_source, shown_url

    return source if resolve_source(source) in ("path", "glob") else shown_url(source)


def _earlier_sources(out: Path) -> dict[str, list[tuple[str, str | None]]]:
    """{source key (`source_key`; the source as given in a `batch.json` written before keys): [(folder name, the
    source as given), ...]} of the videos earlier batches published in `out` (their `batch.json`). A key can have
    several folders: one file given twice (`a.mp4 a.mp4`, `a.mp4 sub/../a.mp4`) is tracked into `a` and `a_2`."""
    found: dict[str, list[tuple[str, str | None]]] = {}
    for name in sorted(_folders(out)):
        note = read_note(out / name)
        key = None if note is None else note.get("path", note.get("source"))
        if isinstance(key, str):
            given = note.get("source") if note is not None else None
            found.setdefault(key, []).append((name, given if isinstance(given, str) else None))
    return found


def published_videos(out: str | Path) -> int:
    """How many finished videos' folders `out` holds (by this batch or earlier ones; 0 where `out` is not there)."""
    return sum(len(folders) for folders in _earlier_sources(Path(out)).values())


def read_note(folder: Path) -> dict[str, Any] | None:
    """The `batch.json` of a published video's folder, or None where there is none or it is not a JSON object."""
    try:
        note = json.loads((folder / NOTE_NAME).read_text())
    except (OSError, ValueError):
        return None
    return note if isinstance(note, dict) else None


def reused_result(task: VideoTask) -> VideoResult | None:
    """The result of an earlier run of this batch with the same fingerprint, if its outputs are there (all those its
    `batch.json` lists: one deleted since, `m.txt`, was "reused" and stayed missing)."""
    note = read_note(task.out_dir)
    if note is None or not task.made(note.get("fingerprint")) or note.get("error"):
        return None
    names = note.get("outputs")
    outputs = [task.out_dir / str(name) for name in names] if isinstance(names, list) else []
    if not all(path.is_file() for path in outputs):
        return None
    frames, tracks = int(note.get("frames", 0)), int(note.get("tracks", 0))
    result = VideoResult(task.index, task.source, task.name, task.out_dir, "reused", frames, 0.0, tracks, 0)
    result.stem = note.get("stem")
    result.outputs = outputs
    recognised = note.get("recognised", 0)  # (absent from the note of a batch run before it was counted)
    result.recognised = recognised if isinstance(recognised, int) else 0
    cut = note.get("ended_early")
    if isinstance(cut, list) and len(cut) == 2 and all(isinstance(n, int) for n in cut):
        result.ended_early = (cut[0], cut[1])
    result.cut_short = note.get("cut_short") is True  # (absent: tracked to its end, or a note written before)
    return result


def names_nothing(task: VideoTask) -> VideoResult | None:
    """The failed result of a source that names nothing (no such file or folder, a glob matching no images), told
    at once as `track` tells it: a task started for it imported torch and loaded the models first (~10 s, 0.7 GB)."""
    reason = _why_unnamed(task.source)
    return None if reason is None else failed_result(task, reason, 0)


def _why_unnamed(source: str) -> str | None:
    """Why `source` names nothing (`SourceError: ...`, one line, as a failed video's reason), or None when it names
    something (milliseconds)."""
    from tracker.io.sources import SourceError

    message = _unnamed_message(source)
    return None if message is None else f"{SourceError.__name__}: {message}"


def _unnamed_message(source: str) -> str | None:
    """The error of a `source` that names nothing (one line, naming the source), or None when it names something."""
    from tracker.io.sources import SourceError, check_named

    try:
        check_named(source)
    except SourceError as exc:
        return one_line(exc)
    return None


def unnamed_sources(sources: Sequence[str | Path]) -> list[str]:
    """The error of each source that names nothing (no such file or folder, a glob matching no images; each names
    its source), without importing torch: `track batch` refuses a batch of only these at once (3.6-4.7 s sooner).
    No output name goes with them: nothing is written for such a batch, and a quoted glob's name was `_`."""
    found = [_unnamed_message(str(source)) for source in sources]
    return [message for message in found if message is not None]
