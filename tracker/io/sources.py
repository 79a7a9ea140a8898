"""Frame sources: video files, image folders or globs, MOTChallenge sequences, webcams and streams.

`open_source(spec)` returns a `FrameSource`; iterating it yields `(frame_number, BGR image)` with 1-based
frame numbers that are positions in the source, so a skipped frame leaves a gap rather than shifting the
rest. Unreadable frames are skipped and counted in `corrupt_frames`; a file that ends before the length its
header announces (truncated) stops there and says so in `ended_early`; a stream that stops is reopened with
exponential backoff before giving up with a `SourceError`.

How a source string is read (`resolve_source`), in this order:
1. an existing file or folder, whatever its name (digits, spaces, `[`, `*`, `?`, `http:` ...); where no file of that
   literal name exists, a leading `~` is the home folder (`~/clips/a.mp4`) and a `file:` URL is the local file or
   folder it names (`file:///data/a%20b.mp4` and `file:/data/a%20b.mp4`: /data/a b.mp4; `file:a%20b.mp4`: a b.mp4 in
   the current folder), read as that path is (a still image: one frame), never as a stream;
2. a glob of images (`frames/*.jpg`) that matches something; the parts of it that name an existing folder are
   taken literally (`glob.escape`), so a folder called `shots [1]` needs no escaping;
3. a URL (`scheme://...`: rtsp, http, https, ...; a `file:` URL that names nothing here is an error, as in 1);
4. a bare integer: webcam number N (only when nothing of that name exists, see 1).
Anything else is an error naming the string.

Network sources: a URL whose container announces a length (frame count or duration, e.g. an mp4 on an HTTP server)
is a finite video: it ends at its last frame like a local file, and a connection lost before that is reopened
where it stopped (never from frame 1). Only live streams (webcams, RTSP, URLs without a known length) are reopened
after the end of their data; frame numbers keep counting up across a reopening and each gap is recorded in `gaps`.
"""

from __future__ import annotations

import collections
import glob
import logging
import os
import re
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import overload

import cv2
import numpy as np

from tracker.io import opencv_files
from tracker.io.image_depth import DepthReader
from tracker.io.live_clock import LiveClock
from tracker.io.mot import SequenceInfo, read_sequence_info
from tracker.io.mp4_index import missing_mp4_index
from tracker.io.names import MAX_NAME_BYTES, safe_name
from tracker.io.url_probe import FFMPEG_LOG_HINT, HTTP_SCHEMES, USER_SEPARATOR, probe
from tracker.wording import count

__all__ = [
    "MAX_NAME_BYTES",
    "FrameSource",
    "SourceError",
    "check_named",
    "check_not_split_images",
    "glob_name_before_sequence",
    "image_source_name",
    "local_path",
    "open_source",
    "opencv_name",
    "resolve_source",
    "safe_name",
    "shown_url",
    "timestamp_rate",
    "tracked_folder",
    "tracked_limit",
]

log = logging.getLogger(__name__)

# the image files OpenCV reads in every build; Netpbm too (ffmpeg's `%04d.ppm` frames, thermal cameras' 16-bit PGMs)
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".pbm", ".pnm")
# video files by suffix, as ultralytics' `VID_FORMATS` (ultralytics.data.utils) lists the ones OpenCV reads: only to
# say what a folder holds (importing ultralytics for it costs ~1.9 s); any file OpenCV opens is still tracked
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".m4v", ".webm", ".wmv", ".asf", ".mpeg", ".mpg", ".ts", ".gif")
GLOB_CHARS = "*?["
_TRAIN_FOLDER = "train"  # a MOTChallenge root's folder of sequences (MOT15/train/TUD-Campus)
# folders of a folder without images searched for MOTChallenge roots one level down (a home folder holds thousands)
MAX_FOLDERS_SEARCHED = 200
STDIN_NAME = "-"  # what other tools take for standard input (not read here)
# words typed as a command (`track help`) that name no file: what they are asked for (it said "no such file" alone)
_CONFIG_WORD = (
    "track has no config command: configs/default.yaml holds every key with its default, one comment a key "
    "(docs/configuration.md); --config FILE and --set KEY=VALUE change them, and each run saves the config it "
    "tracked with as config.yaml in its folder"
)
GALLERY_VERBS = ("ls", "rm", "prune", "merge", "export")  # `track gallery`'s commands, typed without `gallery`
_COMMAND_WORDS = {
    "help": "track --help lists the options",
    "version": "track --version prints the version",
    "config": _CONFIG_WORD,
    "cfg": _CONFIG_WORD,  # ultralytics' `yolo cfg`
    "settings": _CONFIG_WORD,
    "track": "leave the word out: track SOURCE ... tracks, where yolo track and boxmot track take it",
    **{verb: f"the gallery command is track gallery {verb} FILE ..." for verb in GALLERY_VERBS},
}
MAX_CONSECUTIVE_FAILURES = 30  # a video that fails this many grabs in a row has ended (truncated or damaged)
CORRUPT_NUMBERS_KEPT = 20  # positions of the first unreadable frames kept to name them (the count goes on)
STREAM_RETRIES = 5  # reopen attempts for a dropped webcam/URL stream
STREAM_BACKOFF_S = 0.5  # first wait before reopening; multiplied by STREAM_BACKOFF_FACTOR on each retry
STREAM_BACKOFF_FACTOR = 2.0  # each reopening of a lost stream waits this many times longer than the one before
STREAM_TIMEOUT_MS = 5000  # open/read timeout handed to FFmpeg for URLs, so a dead server cannot hang the run
STOP_POLL_S = 0.1  # how often a backoff wait checks whether the run was asked to stop
FFMPEG_FIRST_PAGE_ONLY = (".tif", ".tiff")  # files of several images of which FFmpeg reads the first only
FFMPEG_UNREAD_ANIMATIONS = (".webp",)  # animated files FFmpeg reads no frame of (its WebP reader takes stills only)
# text files FFmpeg's tty demuxer plays as frames of rendered text (a MOTChallenge det.txt: 421 frames, no track)
TEXT_SUFFIXES = (".txt", ".ini", ".csv", ".json", ".jsonl", ".yaml", ".yml", ".nfo", ".asc")
TIMESTAMP_PROBE_FRAMES = 12  # frames whose container timestamps measure a video's real frame rate
MS_PER_S = 1000.0
HTTP_PREFIXES = tuple(f"{scheme}://" for scheme in HTTP_SCHEMES)  # URLs probed when they do not open
URL_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")  # RFC 3986 scheme, then "://"
FILE_URL_PATTERN = re.compile(r"file:", re.IGNORECASE)  # a URL of a local file: read as the path it names
FILE_URL_AUTHORITY = "//"  # after `file:`, a host follows (`file:///x`, `file://localhost/x`); else a path (`file:x`)
HIDDEN_PASSWORD = "***"  # what a URL shown or written for people has in place of its password
LOCAL_HOSTS = ("", "localhost")  # the hosts a file URL of this computer names (`file:///x`, `file://localhost/x`)
WEBCAM_PATTERN = re.compile(r"[0-9]+")  # ASCII digits only (str.isdigit accepts other scripts' digits too)
DIGIT_RUNS = re.compile(r"([0-9]+)")  # the numbers in a file name, compared as numbers (natural order)


class SourceError(Exception):
    """The source cannot be opened or read (the message is one line, for users)."""


FrameIterator = Iterator[tuple[int, np.ndarray]]


@dataclass
class FrameSource:
    """An iterable of `(frame_number, image)`.

    Attributes:
        name: a file-name-safe stem for the outputs (video stem, folder name, sequence name, webcam0 ...).
        kind: "video", "images", "sequence" or "stream".
        frame_rate: frames per second the source declares, or None (image folders, most streams).
        total: frames expected, or None where unknown (streams).
        corrupt_frames: frames skipped because they could not be decoded (grows while iterating).
        corrupt_numbers: the positions of the first `CORRUPT_NUMBERS_KEPT` of them.
        last_skipped: the position of the last of them (0: none), e.g. unreadable images at a folder's end.
        ended_early: for a video whose data stops before `total` (truncated), the last frame number read.
        should_stop: polled during stream backoff waits; the run loop sets it to its stop flag.
        live: True for a live stream (reopened when it drops), False for anything with an end.
        gaps: for a live stream, one (last frame number before the drop, seconds without frames) per reopening.
        frame_time: for a live stream, the time of the frame just yielded, seconds from its first frame
            (`tracker.io.live_clock.LiveClock`: its presentation time where plausible, else the time waited for
            it), for `Tracker.stream(timestamps=)`; None for the others (their frames are consecutive).
        timestamp_rate: measures frames/s from the container's timestamps (None where there are none).
        files: the image files of an image folder, glob or sequence, in order (empty for videos and streams).
        path: the file of a video file source (None for the others).
        skip_to: frames numbered up to this are passed over without being decoded (a resumed run starts after
            them); unreadable frames among them are not counted in `corrupt_frames`.
        end: frames numbered after this are not read (`--max-frames`: source positions, so unreadable frames
            before it count towards it); None: to the source's end. The image and video-file readers stop at it;
            a URL's reader does not (the caller counts its frames).
        reached_end: a file source's reader stopped at `end`, before the source's own end (or where that is not
            known).
        announced_frames: a MOTChallenge sequence whose image folder holds images for fewer frames than its
            seqinfo.ini's seqLength: that length (the frames with images, `total`, are tracked); else None.
        depth: an image source's reader (`DepthReader`: the depth of 16-bit data, fixed by the first image that
            tells it; a resumed run that passes that image over is given its `bits`); None for videos and streams.
        stride: every `stride`-th frame is yielded, frames 1, 1 + stride, 1 + 2 * stride, ... (`track --vid-stride`),
            still numbered as the source numbers them; the others are passed over (images not read, video frames
            grabbed but not converted) and never counted as corrupt. 1: every frame.
    """

    name: str
    kind: str
    frame_rate: float | None
    total: int | None
    corrupt_frames: int = 0
    corrupt_numbers: list[int] = field(default_factory=list)
    last_skipped: int = 0
    ended_early: int | None = None
    should_stop: Callable[[], bool] = field(default=lambda: False, repr=False)
    live: bool = False
    gaps: list[tuple[int, float]] = field(default_factory=list)
    frame_time: float | None = None
    timestamp_rate: Callable[[], float | None] = field(default=lambda: None, repr=False)
    files: tuple[Path, ...] = field(default=(), repr=False)
    path: Path | None = field(default=None, repr=False)
    skip_to: int = 0
    end: int | None = None
    reached_end: bool = False
    announced_frames: int | None = None
    depth: DepthReader | None = field(default=None, repr=False)
    stride: int = 1
    _frames: Callable[[FrameSource], FrameIterator] | None = field(default=None, repr=False)

    def __iter__(self) -> FrameIterator:
        if self._frames is None:
            raise SourceError(f"{self.name}: source has no frame reader")
        frames = self._frames(self)
        if self.stride == 1:
            return frames
        return (frame for frame in frames if not self.passes_over(frame[0]))  # (a stream's reader reads them all)

    def passes_over(self, number: int) -> bool:
        """Whether the frame at source position `number` (from 1) is left out by `stride`."""
        return (number - 1) % self.stride != 0

    def skipped(self, numbers: range | list[int]) -> None:
        """Count the unreadable frames at `numbers` (source positions)."""
        self.corrupt_frames += len(numbers)
        self.corrupt_numbers += list(numbers[: max(0, CORRUPT_NUMBERS_KEPT - len(self.corrupt_numbers))])
        if len(numbers):
            self.last_skipped = max(self.last_skipped, numbers[-1])


@overload
def tracked_limit(source_frames: int, stride: int) -> int: ...
@overload
def tracked_limit(source_frames: None, stride: int) -> None: ...
@overload
def tracked_limit(source_frames: int | None, stride: int) -> int | None: ...
def tracked_limit(source_frames: int | None, stride: int) -> int | None:
    """How many of a source's first `source_frames` frames a `stride` keeps (frames 1, 1 + stride, ...: ceil(
    `source_frames` / `stride`); None (no limit, a length unknown) and 0 as given."""
    return source_frames if not source_frames else -(-source_frames // stride)


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except (OSError, ValueError):  # a name too long for the file system, or with a NUL byte: not a path
        return False


def local_path(spec: str | Path) -> Path:
    """The path a source string names as `open_source` reads it: itself where it exists, else a `file:` URL's local
    path, else with a leading `~` expanded (a glob: its pattern so expanded). Other strings (URLs, webcam numbers) come
    back as `Path(spec)`; nothing is checked or opened."""
    return _as_path(str(spec))


def _as_path(text: str) -> Path:
    """The path `text` names: itself where it exists (a folder called `~x` too), else the local path of a file URL
    (`_file_url_path`), else `text` with a leading `~` expanded."""
    literal = Path(text)
    if _exists(literal):
        return literal
    local = _file_url_path(text)
    if local is not None:
        return local
    try:
        return literal.expanduser()
    except RuntimeError:  # `~name` of an unknown user
        return literal


def shown_url(text: str) -> str:
    """`text` as messages, logs, labels and output names show it: a URL's password (`rtsp://admin:secret@cam/x`) as
    `HIDDEN_PASSWORD` (`rtsp://admin:***@cam/x`), its user name kept; any other string (a URL with no password, a
    path) as it is. Only what is shown: the real URL is still what OpenCV and the probe open. The URL is split by
    `urllib.parse.urlsplit` (its authority ends at the first `/`, `?` or `#`; like FFmpeg and `url_probe`, the host
    follows the authority's last `@`)."""
    try:
        parts = urllib.parse.urlsplit(text)
        hidden = parts.password is not None
    except ValueError:  # (a malformed authority: shown as given, as OpenCV was given it)
        return text
    if not hidden:
        return text
    login, _, host = parts.netloc.rpartition(USER_SEPARATOR)
    return parts._replace(netloc=f"{login.partition(':')[0]}:{HIDDEN_PASSWORD}{USER_SEPARATOR}{host}").geturl()


def _file_url_path(text: str) -> Path | None:
    """The local path a file URL names, percent-escapes decoded: `file:///a%20b.mp4` is `/a b.mp4`, and so is RFC
    8089's `file:/a%20b.mp4`; one without `//` and `/` is relative to the current folder (`file:sp%20ace/x.mp4` is
    `sp ace/x.mp4`: it was not decoded, so it named nothing). None for any other string, for a file URL of another
    host (`file://server/x`), which names no path here, and for one naming no path at all (`file:`, `file://`: not
    the current folder)."""
    if not FILE_URL_PATTERN.match(text):
        return None
    parts = urllib.parse.urlsplit(text)
    if text[len("file:") :].startswith(FILE_URL_AUTHORITY) and parts.netloc.lower() not in LOCAL_HOSTS:
        return None
    path = urllib.request.url2pathname(parts.path)
    return Path(path) if path else None


def _literal_glob(path: Path) -> tuple[str, Path | None]:
    """The glob pattern for `path` with its longest existing folder prefix escaped, and that folder (or None)."""
    parts = path.parts
    for k in range(len(parts) - 1, 0, -1):
        prefix = Path(*parts[:k])
        if _exists(prefix) and prefix.is_dir():
            return os.path.join(glob.escape(str(prefix)), *parts[k:]), prefix
    return str(path), None


def resolve_source(spec: str | Path) -> str:
    """What a source string names: "path", "glob", "url" or "webcam" (the order of the module doc), else "missing"."""
    text = str(spec)
    path = _as_path(text)
    if text and _exists(path):
        return "path"
    if any(ch in text for ch in GLOB_CHARS) and _glob_images(path)[0]:
        return "glob"
    if FILE_URL_PATTERN.match(text):
        return "missing"  # a local file that is not there: no server to wait for (it was reopened as a stream)
    if URL_PATTERN.match(text):
        return "url"
    if WEBCAM_PATTERN.fullmatch(text):
        return "webcam"
    return "glob" if any(ch in text for ch in GLOB_CHARS) else "missing"


def _glob_images(path: Path) -> tuple[list[Path], Path | None]:
    pattern, folder = _literal_glob(path)
    files = [Path(f) for f in glob.glob(pattern) if f.lower().endswith(IMAGE_EXTENSIONS) and os.path.isfile(f)]
    return sorted(files, key=_natural_order), folder


def _natural_order(path: Path) -> tuple[tuple[str, ...], tuple[int | str, ...], str]:
    """Sort key of frame files: numbers in the name compare as numbers, so `2.jpg` comes before `10.jpg` (ffmpeg's
    `%d.jpg` names); zero-padded names keep their plain order. The folder first, so a glob's folders stay apart;
    the name last, so `01.jpg` and `1.jpg` keep one order."""
    chunks = tuple(int(p) if i % 2 else p for i, p in enumerate(DIGIT_RUNS.split(path.name)))
    return path.parent.parts, chunks, path.name


def _other_matches(path: Path) -> str:
    """Why a glob that matches files gave no frames: e.g. quoted `"cams/*.mp4"`, meant as several videos."""
    others = sorted(f for f in glob.glob(_literal_glob(path)[0]) if os.path.isfile(f))
    if not others:
        return ""
    return (
        f" (it matches {count(len(others), 'other file')}, e.g. {others[0]}: a glob is one sequence of frames; to track"
        f" several videos, let the shell expand the pattern, without quotes: `track {path}`, or"
        f" `track batch {path} --out OUT`)"
    )  # ("or use `track batch`" alone told a quoted `track batch "cams/*.mp4"` to use what it was using)


def _is_sequence(folder: Path) -> bool:
    """Whether `folder` is a MOTChallenge sequence as `open_source` tracks one: a seqinfo.ini, or an img1/ folder."""
    return (folder / "seqinfo.ini").is_file() or (folder / "img1").is_dir()


def _sequence_file_hint(path: Path) -> str:
    """For a file of a MOTChallenge sequence given as the source (`SEQ/seqinfo.ini`, `SEQ/det/det.txt`,
    `SEQ/gt/gt.txt`: "not a readable video" said nothing of what to give): the sequence folder to track, and the
    command that tracks its public detections; "" for any other file."""
    sequence = next((folder for folder in path.absolute().parents[:2] if _is_sequence(folder)), None)
    if sequence is None:
        return ""
    given = path.parent if sequence == path.absolute().parent else path.parent.parent
    return (
        f": it is a file of the MOTChallenge sequence {given}; track its images with `track {given}`, or score "
        f"its public detections with `track eval --data {given} --detections public`"
    )


def _sequences_hint(folder: Path) -> str:
    """What a folder without images is, where it is part of MOTChallenge data: a sequence's other folder (`SEQ/gt`:
    its sequence is the parent), or a folder of sequences (`MOT15/train`, or its root `MOT15`: each sequence is a
    source of its own; all in turn, or scored, only where every folder there is a sequence), and the roots of
    sequences one level down (`data/MOT15`, `data/MOT17` of `data`, `_roots_below`). The error said only "folder
    holds no images", and for `SEQ/gt` advised `track SEQ/gt/*.txt` as if its gt.txt were a video. "" for any other
    folder."""
    if _is_sequence(folder.parent) and folder.name != "img1":
        sequence = folder.parent
        return f" (it is a folder of the MOTChallenge sequence {sequence}: track the sequence, `track {sequence}`)"
    here = _sequences_in(folder)
    below = _roots_below(folder, here[0] if here else None)
    if here is None:
        return f" ({below})" if below else ""
    holder, found, folders = here
    held = f"it holds {count(len(found), 'MOTChallenge sequence')}, {found[0]}{', ...' if len(found) > 1 else ''}"
    also = f"; {below}" if below else ""
    if len(found) < folders:  # (beside other folders: `holder/*` names them too, and eval refuses them)
        return f" ({held}: track a sequence by its folder, `track {found[0]}`{also})"
    return (
        f" ({held}: each is a source of its own; track one, `track {found[0]}`, all in turn, "
        f"`track {holder / '*'}`, or score them, `track eval --data {folder}`{also})"
    )


def _sequences_in(folder: Path) -> tuple[Path, list[Path], int] | None:
    """The MOTChallenge sequences directly in `folder`, else in its `train/` (a root: `MOT15/train/TUD-Campus`), in
    natural order, with the folder holding them and its count of folders (hidden ones left out); None where neither
    holds one (or cannot be listed)."""
    for holder in (folder, folder / _TRAIN_FOLDER):
        try:
            folders = [p for p in holder.iterdir() if p.is_dir() and not p.name.startswith(".")]
        except OSError:
            continue
        found = sorted((p for p in folders if _is_sequence(p)), key=_natural_order)
        if found:
            return holder, found, len(folders)
    return None


def _roots_below(folder: Path, holder: Path | None) -> str:
    """The folders of `folder` (but `holder`, whose sequences the error names already) that are no sequence but hold
    sequences (`_sequences_in`: `data/MOT15`, `data/MOT17` of `data`), each with its count, how to track one and
    how to score them; "" where there is none. `track data` named only a sequence directly in it. Only the first
    `MAX_FOLDERS_SEARCHED` folders (natural order) are searched, the text then saying so: `track ~` listed each of
    a home folder's thousands of folders, and each one's `train/`, before its error came."""
    try:
        folders = sorted(
            (p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".") and p != holder),
            key=_natural_order,
        )
    except OSError:
        return ""
    searched = folders[:MAX_FOLDERS_SEARCHED]
    roots = [(p, held) for p in searched if not _is_sequence(p) and (held := _sequences_in(p)) is not None]
    if not roots:
        return ""
    named = ", ".join(f"{p.name}/ ({count(len(held[1]), 'sequence')})" for p, held in roots)
    first, (_, found, _) = roots[0]
    left_out = f"; searched the first {len(searched)} of its {len(folders)} folders" if searched != folders else ""
    return (
        f"also MOTChallenge sequences one level down, in {named}: track one by its folder, `track {found[0]}`, or "
        f"score a folder's, `track eval --data {first}`{left_out}"
    )


def _other_files(folder: Path) -> str:
    """Why a folder of other files gave no frames: e.g. `track batch cams/`, meant as the videos in it. Only videos
    (`VIDEO_EXTENSIONS`) are suggested: a folder of notes (`*.txt`) was told to track them "to track the videos"."""
    others = sorted((p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")), key=_natural_order)
    if not others:
        return ""
    held = f"it holds {count(len(others), 'other file')}"
    videos = [p for p in others if p.suffix.lower() in VIDEO_EXTENSIONS]
    if not videos:
        return (
            f" ({held}, e.g. {others[0]}, none of them an image or a video ({', '.join(VIDEO_EXTENSIONS)}): a "
            "folder is one sequence of images)"
        )
    # the commonest video suffix names the videos: `*` would also name a LICENSE or notes beside them (not videos)
    suffixes = collections.Counter(p.suffix.lower() for p in videos)
    suffix = max(suffixes, key=lambda x: (suffixes[x], x))
    example = next(p for p in videos if p.suffix.lower() == suffix)
    pattern = folder / f"*{example.suffix}"  # (as written: `*.MP4` for a camera's upper-case names)
    return (
        f" ({held}, e.g. {example}: a folder is one sequence of images; to track the videos in it, name them: "
        f"`track {pattern}`, or `track batch {pattern} --out OUT`)"
    )


def image_source_name(spec: str | Path) -> str | None:
    """The name `open_source` gives a glob of images (`cams/cam1/*.jpg`: cam1, its longest existing folder), a
    folder of images (`day.cam1/`: day.cam1, not the stem `day`) or a MOTChallenge sequence (its seqinfo.ini's
    name), found without opening an image; None for the other sources (a video file's is its stem), a glob that
    matches no image (it names nothing: its error is told with the pattern's stem), and a folder `open_source`
    would refuse (a bad seqinfo.ini). In `resolve_source`'s order:
    an existing path first."""
    text = str(spec)
    path = _as_path(text)
    if not (text and _exists(path)):
        if not any(ch in text for ch in GLOB_CHARS):
            return None
        files, folder = _glob_images(path)
        return _glob_source_name(path, folder) if files else None
    if not path.is_dir():
        return None
    if (path / "seqinfo.ini").is_file():
        try:
            return _folder_name(path, read_sequence_info(path))
        except (OSError, ValueError):
            return None
    if (info := _sequence_of_images(path)) is not None:  # `MOT17-09/img1`: its sequence's name
        return _folder_name(info.root, info)
    return _folder_name(path, None)  # (a sequence folder without one: its img1 folder, named after the sequence)


def tracked_folder(path: Path) -> Path:
    """The path `open_source` reads the frames of `path` as: a MOTChallenge sequence's image folder (`MOT17-09/img1`,
    named as its seqinfo.ini's imDir) is its sequence folder (`MOT17-09`), tracked as that sequence; any other path
    is itself. So two spellings of one source are one (a resume checkpoint's, `tracker.resume`). Never raises."""
    try:
        image_folder = path.is_dir()
    except OSError:  # (a name too long, a folder that may not be read)
        return path
    return path.parent if image_folder and _sequence_of_images(path) is not None else path


def _sequence_of_images(folder: Path) -> SequenceInfo | None:
    """The MOTChallenge sequence whose image folder `folder` is (`MOT17-09/img1`: the seqinfo.ini beside it names
    it as its imDir, and its first frame's image is there), which `open_source` tracks as that sequence, with its
    name and frame rate (a plain folder of images was named `img1` and tracked at the config's `frame_rate`); None
    for any other folder, also one beside a seqinfo.ini that cannot be read or that names another folder."""
    try:
        info = read_sequence_info(folder.parent)
        same = info.image_dir.is_dir() and os.path.samefile(info.image_dir, folder)
    except (OSError, ValueError):
        return None
    return info if same and info.length > 0 and info.frames_with_images() > 0 else None


def _folder_name(folder: Path, info: SequenceInfo | None) -> str:
    """The output name of the images of `folder`: its MOTChallenge sequence's name (`info`, read from its
    seqinfo.ini), else the folder's own name (`day.cam1/`: day.cam1). The one rule of `open_source` and
    `image_source_name`."""
    return safe_name(info.name) if info is not None else safe_name(folder.name, "images")


def _glob_source_name(path: Path, folder: Path | None) -> str:
    """A glob's output name: the name of the MOTChallenge sequence whose image folder is its longest existing
    `folder` (`_glob_sequence`), else that folder's name, else the pattern's parent's."""
    info = _glob_sequence(folder)
    if info is not None:
        return _folder_name(info.root, info)
    return _folder_name(folder if folder is not None else path.parent, None)


def _glob_sequence(folder: Path | None) -> SequenceInfo | None:
    """The MOTChallenge sequence whose image folder a glob's longest existing `folder` is (`SEQ/img1/*.jpg`, as
    `_sequence_of_images` finds it), whose name and frame rate the glob's images are tracked with as the folder's
    are: `track "TUD-Campus/img1/*.jpg"` was named `img1` and tracked at the config's 30 frames/s, not its 25."""
    return _sequence_of_images(folder) if folder is not None else None


def glob_name_before_sequence(spec: str | Path) -> str | None:
    """For a glob in a MOTChallenge sequence's image folder (`SEQ/img1/*.jpg`, which takes the sequence's name and
    frame rate since stop 77, `_glob_sequence`), the output name it had before: its folder's (`img1`); None for any
    other source. A resume of a run begun before then is refused (`tracker.run_resume.read_resumed_run`)."""
    text = str(spec)
    path = _as_path(text)
    if not text or _exists(path) or not any(ch in text for ch in GLOB_CHARS):
        return None
    _, folder = _literal_glob(path)
    return _folder_name(folder, None) if folder is not None and _glob_sequence(folder) is not None else None


def open_source(spec: str | Path) -> FrameSource:
    """Open a video file, image folder or glob, MOTChallenge sequence folder, webcam index or URL.

    The string is resolved in the order of the module doc (an existing path always wins; a leading `~` is the home
    folder; a `file:` URL is the local file or folder it names, never a stream). Nothing is decoded beyond the
    first decodable frame of a video (among its first `MAX_CONSECUTIVE_FAILURES`) or the first decodable image of a
    folder or glob (to reject files that are not videos, and image files none of which decodes); a URL is opened
    once to learn whether it is a finite file or a live stream.

    Raises:
        SourceError: missing path, nothing readable, a file that is not a video, or images none of which decodes.
    """
    spec = str(spec)
    kind = resolve_source(spec)
    path = _as_path(spec)
    if kind == "path":
        if path.is_dir():
            return _folder_source(path)
        images = _image_count(path)
        if images is None:
            return _video_source(path)
        return _still_source(path) if images <= 1 else _several_images(path, images)
    if kind == "glob":
        files, folder = _glob_images(path)
        if not files:
            raise _no_images(spec, path)
        info = _glob_sequence(folder)  # (a glob in a sequence's img1: the images of that camera, at its rate)
        return _image_source(_glob_source_name(path, folder), files, info.frame_rate if info else None, "images")
    if kind == "url":
        return _url_source(spec)
    if kind == "webcam":
        return _webcam_source(int(spec))
    raise _nothing_named(spec)


def check_named(spec: str | Path) -> None:
    """Raise the `SourceError` `open_source` would for a name that names nothing (no such file or folder, a glob
    that matches no images, a folder that holds none), opening nothing: milliseconds, so a caller can check before
    importing or loading models.

    Raises:
        SourceError: as `open_source` for these cases and for a folder of no images (of videos: it says to name
            them); any other name passes (it may still fail to open).
    """
    spec = str(spec)
    kind = resolve_source(spec)
    if kind == "missing":
        raise _nothing_named(spec)
    if kind == "glob" and not _glob_images(_as_path(spec))[0]:
        raise _no_images(spec, _as_path(spec))
    path = _as_path(spec)
    if kind == "path" and path.is_dir() and _plain_folder(path) and not _holds_an_image(path):
        raise _no_images_in(path)  # (a folder of videos: told after the models loaded, a batch's after it started)


def check_not_split_images(specs: Sequence[str]) -> None:
    """Raise `SourceError` when `specs`, several sources, are all image files: each would be tracked as a one-frame
    video of its own (IDs from 1 in each, no track across them), which is what an unquoted glob the shell expanded
    (`track frames/*.jpg`) gave, one set of outputs per image. One image alone is one frame, as before, and a file
    of several images (an animated PNG) is read as a video.

    Raises:
        SourceError: naming how many images were given and the two ways to track them as one sequence (the glob
            quoted, or their folder).
    """
    paths = [_as_path(str(spec)) for spec in specs]
    if len(paths) < 2 or not all(_exists(p) and p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS for p in paths):
        return
    if any(_image_count(p) != 1 for p in paths):  # (an animated PNG, a multi-page TIFF: a video of its own)
        return
    folders = {p.parent for p in paths}
    suffixes = {p.suffix for p in paths}
    folder = next(iter(folders)) if len(folders) == 1 else Path("FOLDER")
    pattern = folder / f"*{next(iter(suffixes)) if len(suffixes) == 1 else '.jpg'}"
    raise SourceError(
        f"{len(paths)} image files given as {len(paths)} sources, each a one-frame video with IDs of its own (a glob "
        f'the shell expanded?): to track them as one sequence, quote the glob, track "{pattern}", or give their '
        f"folder, track {folder}"
    )


def _nothing_named(spec: str) -> SourceError:
    if not spec.strip():  # `track "$VIDEO"` with VIDEO unset: "no such file or folder: " named nothing
        return SourceError(f"an empty source name {spec!r} (a shell variable left unset?): name a file, folder or URL")
    if spec == STDIN_NAME:  # the usual name for standard input: say so rather than "no such file"
        return SourceError(f"no such file or folder: {spec} (video is not read from standard input: save it to a file)")
    if spec.lower() in _COMMAND_WORDS:
        return SourceError(f"no such file or folder: {spec} ({_COMMAND_WORDS[spec.lower()]})")
    if FILE_URL_PATTERN.match(spec):
        local = _file_url_path(spec)
        parts = urllib.parse.urlsplit(spec)
        if local is None and not parts.path and parts.netloc.lower() in LOCAL_HOSTS:  # (`file://server`: another's)
            return SourceError(f"{spec}: a file URL that names no file (file:///path/to/video.mp4, or file:video.mp4)")
        if local is None:
            return SourceError(f"{spec}: a file URL of another computer: name the file as it is mounted here")
        return SourceError(f"no such file or folder: {spec} ({local})")
    expanded = str(_as_path(spec))
    if spec.startswith("~") and not expanded.startswith("~"):  # `~/x.mp4`: say where it was looked for
        return SourceError(f"no such file or folder: {spec} ({expanded})")
    return SourceError(f"no such file or folder: {spec}")


def _no_images(spec: str, path: Path) -> SourceError:
    return SourceError(f"no images match {spec}{_other_matches(path)}")


def _folder_source(path: Path) -> FrameSource:
    if (path / "seqinfo.ini").is_file():
        try:
            info = read_sequence_info(path)
        except (OSError, ValueError) as exc:
            raise SourceError(f"{path}: bad MOTChallenge seqinfo.ini: {exc}") from None
        count = info.frames_with_images()  # some copies hold only the first frames: stop where images stop
        if info.length == 0:
            raise SourceError(f"{path}: seqinfo.ini says seqLength=0 (set it to the number of frames)")
        if count == 0:
            raise SourceError(f"{path}: MOTChallenge sequence without images in {info.image_dir}")
        if count < info.length:
            log.info("%s: images for %d of %d frames; tracking those", info.name, count, info.length)
        files = [info.image_path(f) for f in range(1, count + 1)]
        source = _image_source(_folder_name(path, info), files, info.frame_rate, "sequence")
        source.announced_frames = info.length if count < info.length else None
        return source
    if _sequence_of_images(path) is not None:  # the image folder of a sequence: that sequence
        return _folder_source(path.parent)
    if (path / "img1").is_dir():  # a sequence folder without seqinfo.ini: named after the sequence, not "img1"
        source = _folder_source(path / "img1")
        source.name = _folder_name(path, None)
        return source
    files = sorted((p for p in path.iterdir() if _listed_image(p)), key=_natural_order)
    if not files:
        raise _no_images_in(path)
    return _image_source(_folder_name(path, None), files, None, "images")


def _plain_folder(path: Path) -> bool:
    """Whether the folder `path` is read as a folder of images: no MOTChallenge sequence (seqinfo.ini, `img1/`) nor
    the image folder of one, which `_folder_source` reads as that sequence."""
    sequence = (path / "seqinfo.ini").is_file() or (path / "img1").is_dir()
    return not sequence and _sequence_of_images(path) is None


def _holds_an_image(folder: Path) -> bool:
    """Whether `folder` holds an image file as `_folder_source` lists them (stops at the first); True where it cannot
    be listed, which `open_source` then says."""
    try:
        return any(map(_listed_image, folder.iterdir()))
    except OSError:
        return True


def _no_images_in(path: Path) -> SourceError:
    """The error of `path`, a plain folder (`_plain_folder`) without an image: naming the sequences it holds, or its
    other files (its videos: how to track them)."""
    hint = _sequences_hint(path) or _other_files(path)
    return SourceError(f"{path}: folder holds no images ({', '.join(IMAGE_EXTENSIONS)}){hint}")


def _listed_image(path: Path) -> bool:
    """An image file of a folder as its glob (`folder/*`) lists it: not hidden (macOS's `._0001.jpg` resource
    forks, which OpenCV cannot decode, became frame 1 of the folder, shifting every frame number by one against
    the same images given as a glob), and a file (a folder named `x.jpg` is none)."""
    return path.suffix.lower() in IMAGE_EXTENSIONS and not path.name.startswith(".") and path.is_file()


def _image_source(name: str, files: list[Path], fps: float | None, kind: str) -> FrameSource:
    # the first decodable image also fixes the scale of 10- to 14-bit data in 16-bit files, for every frame of the
    # source (a resumed run, starting later, scales as the first run did)
    reader = DepthReader()
    if not reader.probe(files):  # stops at the first image (16-bit ones: at the first that is not all black)
        raise SourceError(
            f"{files[0].parent}: none of its {len(files)} image file(s) can be decoded (e.g. {files[0].name}): "
            "not images, or damaged"
        )

    def frames(src: FrameSource) -> FrameIterator:
        probed = reader.take_probed()  # the image the probe read: not read a second time
        image: np.ndarray | None
        for number, file in enumerate(files, start=1):
            if src.end is not None and number > src.end:  # (`--max-frames`: files are left after it)
                src.reached_end = True
                break
            if number <= src.skip_to or src.passes_over(number):  # (not read)
                continue
            if probed is not None and number == probed[0] + 1:
                image, probed = probed[1], None  # (the reference dropped: no frame held for the whole run)
            else:
                image = reader.read(file)  # grayscale and 4-channel files come back as BGR, 16-bit ones as 8-bit
            if image is None:
                src.skipped([number])
                log.info("skipped unreadable image %s", file)  # (counted: the summary names them)
                continue
            yield number, image

    return FrameSource(name, kind, fps, len(files), files=tuple(files), depth=reader, _frames=frames)


def _readable_file(path: Path, kind: str) -> None:
    """Raise SourceError unless `path` is a regular file this process can open, of 1 byte or more (`kind`: what it
    should hold, for the message)."""
    if not path.is_file():
        raise SourceError(f"{path}: not a regular file")
    try:
        size = path.stat().st_size
        with path.open("rb"):
            pass
    except OSError as exc:
        raise SourceError(f"cannot read {path}: {exc.strerror or exc}") from None
    if size == 0:
        raise SourceError(f"{path}: empty file (0 bytes), not {kind}")


def _image_count(path: Path) -> int | None:
    """How many images OpenCV counts in the file `path` of an image file name (`IMAGE_EXTENSIONS`), 0 where it
    counts none; None for any other name (a video). A file of several images (an animated PNG, a multi-page TIFF) is
    read by FFmpeg, as a video, as it was before stills were read as images (`_several_images`); a name that is not
    UTF-8, which neither OpenCV's counter nor FFmpeg can be given, counts as one image (read as a still)."""
    if path.suffix.lower() not in IMAGE_EXTENSIONS:
        return None
    try:
        return cv2.imcount(opencv_name(str(path)))
    except SourceError:
        return 1


def _several_images(path: Path, count: int) -> FrameSource:
    """The file `path` of `count` images, read by FFmpeg as a video (an animated PNG or GIF: every frame). FFmpeg
    reads only the first page of a multi-page TIFF, said in a warning (one frame was tracked without a word), and
    no frame of an animated WebP (it was "not a readable video").

    Raises:
        SourceError: an animated WebP (naming it and what to convert it to), or what `_video_source` raises.
    """
    suffix = path.suffix.lower()
    if suffix in FFMPEG_UNREAD_ANIMATIONS:
        raise SourceError(
            f"{path}: an animated {suffix[1:].upper()} of {count} images, which FFmpeg (OpenCV's video reader) cannot "
            "read: convert it to a video (such as an .mp4) or to a folder of images"
        )
    source = _video_source(path)
    if suffix in FFMPEG_FIRST_PAGE_ONLY:
        log.warning(
            "%s: a TIFF of %d pages, of which FFmpeg (OpenCV's video reader) reads the first only: 1 frame is "
            "tracked, not %d; save the pages as a folder of images to track them all",
            path,
            count,
            count,
        )
    return source


def _still_source(path: Path) -> FrameSource:
    """One image file, one frame, read as the same file in a folder is (`DepthReader`: EXIF rotation, 10- to 14-bit
    data scaled, a JPEG cut short refused). FFmpeg read it as a one-frame video: not turned, 12-bit data near black,
    16-bit data rounded otherwise than OpenCV's, a JPEG cut short with its missing rows grey."""
    _readable_file(path, "an image")
    try:
        return _image_source(safe_name(path.stem, "image"), [path], None, "images")
    except SourceError:
        raise SourceError(f"{path}: not a readable image (not an image, or damaged)") from None


def _video_source(path: Path) -> FrameSource:
    _readable_file(path, "a video")
    if path.suffix.lower() in TEXT_SUFFIXES:  # (FFmpeg "decodes" it: a run of text pictures that tracks nothing)
        raise SourceError(f"{path}: a text file, not a video{_sequence_file_hint(path)}")
    target = opencv_name(str(path.absolute()))  # FFmpeg reads a leading "name:" as a protocol; "/..." is a file
    cap = cv2.VideoCapture(target)
    ok, first = False, None
    try:
        for _ in range(MAX_CONSECUTIVE_FAILURES if cap.isOpened() else 0):  # a damaged first frame is skipped later
            ok, first = cap.read()
            if ok and first is not None:
                break
        fps = cap.get(cv2.CAP_PROP_FPS) if cap.isOpened() else 0.0
        total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) if cap.isOpened() else 0
    finally:
        cap.release()
    if not ok or first is None:
        if missing_mp4_index(path):
            raise SourceError(
                f"{path}: an MP4/MOV without its whole index (`moov` box): the recording or copy was cut off before "
                "it finished, and no frame can be read without the index (a whole copy of the file is needed)"
            )
        raise SourceError(
            f"{path}: not a readable video (OpenCV could not decode any of its first {MAX_CONSECUTIVE_FAILURES} "
            f"frames; not a video, or truncated){_sequence_file_hint(path)}"
        )
    total = max(total, 0)  # a raw stream (.h264, .mjpeg) has no length: OpenCV gives a huge negative count

    def frames(src: FrameSource) -> FrameIterator:
        capture = cv2.VideoCapture(target)
        position, last_good = 0, 0  # frames consumed so far; the last one decoded
        try:
            while position - last_good < MAX_CONSECUTIVE_FAILURES:
                if src.end is not None and position >= src.end:  # (`--max-frames`: nothing read past it)
                    src.reached_end = not total or position < total
                    break
                if not capture.grab():
                    if not total or position >= total:
                        break  # the normal end
                    position += 1  # a damaged packet: the demuxer usually resynchronises on the next one
                    continue
                position += 1
                if position <= src.skip_to or src.passes_over(position):  # grabbed (no exact seek), not converted
                    last_good = position
                    continue
                ok, image = capture.retrieve()
                if not ok or image is None:
                    continue
                skipped = position - last_good - 1
                if skipped:
                    src.skipped(range(last_good + 1, position))
                    log.info("%s: skipped %d unreadable frame(s) before frame %d", path, skipped, position)  # (counted)
                last_good = position
                yield position, image
            if position > last_good and src.end is not None and position >= src.end:
                src.skipped(range(last_good + 1, position + 1))  # unreadable up to the limit: counted, not the end
            elif position > last_good:  # failures that never recovered: the data stops here
                src.ended_early = last_good
                log.warning(
                    "%s: no readable frames after frame %d of %d (truncated? or sound longer than the picture)",
                    path,
                    last_good,
                    total,
                )
        finally:
            capture.release()

    return FrameSource(
        safe_name(path.stem, "video"),
        "video",
        fps if fps and fps > 0 else None,
        total or None,
        timestamp_rate=lambda: timestamp_rate(target),
        path=path,
        _frames=frames,
    )


def timestamp_rate(target: str, frames: int = TIMESTAMP_PROBE_FRAMES) -> float | None:
    """Frames/s from the container's presentation timestamps (`CAP_PROP_POS_MSEC`) over the first `frames`:
    one over the median interval. None where the timestamps do not increase (no timestamps, one frame).

    Raises:
        SourceError: `target` is not UTF-8 (`opencv_name`).
    """
    capture = cv2.VideoCapture(opencv_name(target))
    stamps: list[float] = []
    try:
        while capture.isOpened() and len(stamps) < frames and capture.grab():
            stamps.append(capture.get(cv2.CAP_PROP_POS_MSEC))
    finally:
        capture.release()
    steps = np.diff(stamps)
    steps = steps[steps > 0]
    return MS_PER_S / float(np.median(steps)) if len(steps) else None


def opencv_name(text: str) -> str:
    """`text` (a file name or URL) as OpenCV may be given it: its string conversion crashes the process (a segmentation
    fault) on a name that is not UTF-8 (bytes Python decodes to lone surrogates, as a Latin-1 `caf\xe9.mp4`); the
    check of `tracker.io.opencv_files`, with a source's error.

    Raises:
        SourceError: such a name, shown with U+FFFD for each undecodable byte.
    """
    try:
        return opencv_files.opencv_name(text)
    except opencv_files.NotUTF8Name as exc:
        raise SourceError(f"{exc}: rename the file") from None


def _open_capture(target: int | str) -> cv2.VideoCapture:
    if isinstance(target, int):
        return cv2.VideoCapture(target)
    target = opencv_name(target)
    params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, STREAM_TIMEOUT_MS, cv2.CAP_PROP_READ_TIMEOUT_MSEC, STREAM_TIMEOUT_MS]
    return cv2.VideoCapture(target, cv2.CAP_ANY, params)


def _reopen_after(
    capture: cv2.VideoCapture, target: int | str, seconds: float, should_stop: Callable[[], bool]
) -> cv2.VideoCapture | None:
    """Release `capture`, wait `seconds` (the caller's backoff) and open `target` again; None when asked to stop."""
    capture.release()
    if _wait(seconds, should_stop):
        return None
    return _open_capture(target)


class _Backoff:
    """The reconnection budget of a lost stream or server: at most `STREAM_RETRIES` reopenings in a row, the first
    after `STREAM_BACKOFF_S`, each next one after `STREAM_BACKOFF_FACTOR` times the wait before it; a frame read
    restores it (`restore`)."""

    def __init__(self) -> None:
        self.restore()

    def restore(self) -> None:
        """A frame came: the next loss gets the whole budget again."""
        self.retries, self.wait = 0, STREAM_BACKOFF_S

    def next_wait(self, give_up: str, url: int | str) -> float:
        """Count one more reopening and return the seconds to wait before it (`STREAM_BACKOFF_FACTOR` times the last
        one's).

        Raises:
            SourceError: the budget spent: `give_up`, then why the server of `url` gives no video (`_why_not`; a
                webcam's index: nothing more).
        """
        if self.retries >= STREAM_RETRIES:
            raise SourceError(give_up + ("" if isinstance(url, int) else _why_not(url)))
        self.retries += 1
        wait, self.wait = self.wait, self.wait * STREAM_BACKOFF_FACTOR
        return wait


def _wait(seconds: float, should_stop: Callable[[], bool]) -> bool:
    """Sleep up to `seconds`; True when asked to stop meanwhile."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if should_stop():
            return True
        time.sleep(min(STOP_POLL_S, max(deadline - time.monotonic(), 0.0)))
    return should_stop()


def _webcam_source(index: int) -> FrameSource:
    """Webcam `index`, opened now: one that does not open at all (no such camera, or another program holds it) is
    an error at once, before any model loads; one that opened and then stops sending frames is reopened with
    backoff like any live stream (a loose cable, a driver hiccup)."""
    capture = _open_capture(index)
    if not capture.isOpened():
        capture.release()
        raise SourceError(f"webcam {index} did not open: no camera with that number, or another program is using it")
    frames = _live_frames(index, f"webcam {index}", capture)
    return FrameSource(f"webcam{index}", "stream", None, None, live=True, _frames=frames)


def _url_source(url: str) -> FrameSource:
    """A network source: opened once now to tell a finite file (known length) from a live stream. A URL that does
    not open is refused at once, rather than retried as a live stream that dropped (five reopenings over 15 s), where
    waiting cannot change why: its host name unknown to the name server (any scheme), or an HTTP(S) server answering
    a client error (404 Not Found ...) or a web page (`url_probe.probe`); one that is not UTF-8 at once too
    (`opencv_name`). A stream that opened once is reopened with backoff whatever its name server says later. Its
    password is never shown: messages, logs, the stream's label and its name hold `shown_url(url)`."""
    shown = shown_url(url)
    capture = _open_capture(opencv_name(url))
    opened = capture.isOpened()
    # (an RTSP/RTMP camera's name only: a connection to a camera still starting is the reopenings' to wait for)
    answer = None if opened else probe(url, STREAM_TIMEOUT_MS / MS_PER_S, url.lower().startswith(HTTP_PREFIXES))
    if answer is not None and answer.final:
        capture.release()
        raise SourceError(f"{shown}: {answer.reason} (check the address)")
    fps = capture.get(cv2.CAP_PROP_FPS) if opened else 0.0
    total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) if opened else 0
    stem = Path(shown.split("?")[0].split("#")[0].rstrip("/")).name
    name = safe_name(Path(stem).stem, "stream")
    rate = fps if fps and fps > 0 else None
    if opened and total > 0:  # a known length: a file on a server, which ends like a local one
        frames = _finite_url_frames(url, total, capture)
        return FrameSource(name, "video", rate, total, timestamp_rate=lambda: timestamp_rate(url), _frames=frames)
    live = _live_frames(url, shown, capture if opened else None)
    return FrameSource(name, "stream", rate, None, live=True, _frames=live)


def _why_not(url: str) -> str:
    """`: ` and why the server of `url` gives no video now (`url_probe.probe`), or that no reason is known."""
    answer = probe(url, STREAM_TIMEOUT_MS / MS_PER_S)
    return f": {answer.reason}" if answer is not None else f": OpenCV (FFmpeg) gives no reason ({FFMPEG_LOG_HINT})"


def _finite_url_frames(url: str, total: int, first: cv2.VideoCapture) -> Callable[[FrameSource], FrameIterator]:
    """Frames 1..total of a file on a server; a connection lost before the end is reopened at the next frame.

    A server that answers again but has no frame there (the file is shorter than its header says, or damaged)
    ends the video like a truncated local file (`ended_early`); one that does not answer, or a file of which no
    frame at all can be read, raises `SourceError`. Messages and logs show `shown_url(url)` (no password).
    """
    shown = shown_url(url)

    def frames(src: FrameSource) -> FrameIterator:
        capture, position, backoff = first, 0, _Backoff()
        reopened = False  # the server answered the last reopening
        try:
            while position < total:
                ok, image = capture.read() if capture.isOpened() else (False, None)
                if ok and image is not None:
                    position += 1
                    reopened = False
                    backoff.restore()
                    yield position, image
                    continue
                if reopened and not position:  # the header opens, nothing decodes: nothing to track at all
                    raise SourceError(
                        f"{shown}: no frame of its {total} could be read (a damaged file, or an mp4 on a server "
                        "that does not answer byte-range requests)"
                    )
                if reopened:
                    src.ended_early = position
                    log.warning("%s: no readable frames after frame %d of %d (truncated?)", shown, position, total)
                    return
                wait = backoff.next_wait(
                    f"{shown}: connection lost after frame {position} of {total} and did not come back "
                    f"({STREAM_RETRIES} retries with backoff)",
                    url,
                )
                log.info("%s: no frame after %d of %d; reopening in %.1f s", shown, position, total, wait)
                reopened_capture = _reopen_after(capture, url, wait, src.should_stop)
                if reopened_capture is None:
                    return
                capture = reopened_capture
                reopened = capture.isOpened()
                if reopened and position:
                    _seek(capture, position)
        finally:
            capture.release()

    return frames


def _seek(capture: cv2.VideoCapture, frames_read: int) -> None:
    """Put `capture` after its first `frames_read` frames (seek, then read forward if the seek fell short)."""
    capture.set(cv2.CAP_PROP_POS_FRAMES, frames_read)
    at = capture.get(cv2.CAP_PROP_POS_FRAMES)
    if at != frames_read:  # a container without an index: start over and skip
        capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
        for _ in range(frames_read):
            if not capture.grab():
                return


def _live_frames(
    target: int | str, label: str, first: cv2.VideoCapture | None = None
) -> Callable[[FrameSource], FrameIterator]:
    """A live stream: read until it stops, then reopen with backoff; numbers keep counting, gaps are recorded, and
    each frame's time is set before it is yielded (`FrameSource.frame_time`, `LiveClock`)."""

    def frames(src: FrameSource) -> FrameIterator:
        number, backoff, clock = 0, _Backoff(), LiveClock()
        dropped_at: float | None = None
        capture = first if first is not None else _open_capture(target)
        try:
            while True:
                ok, image = capture.read() if capture.isOpened() else (False, None)
                if ok and image is not None:
                    if dropped_at is not None and number:
                        src.gaps.append((number, time.monotonic() - dropped_at))
                    dropped_at = None
                    number += 1
                    backoff.restore()
                    src.frame_time = clock.frame(capture.get(cv2.CAP_PROP_POS_MSEC))
                    yield number, image
                    clock.asking()
                    continue
                dropped_at = time.monotonic() if dropped_at is None else dropped_at
                what = "did not open" if number == 0 else f"dropped after {number} frames and did not come back"
                wait = backoff.next_wait(f"stream {label} {what} ({STREAM_RETRIES} retries with backoff)", target)
                retries = backoff.retries
                log.info("stream %s: no frame; reopening in %.1f s (%d/%d)", label, wait, retries, STREAM_RETRIES)
                reopened_capture = _reopen_after(capture, target, wait, src.should_stop)
                if reopened_capture is None:
                    return
                capture = reopened_capture
                clock.reopened()
        finally:
            capture.release()

    return frames
