"""MOTChallenge files: seqinfo.ini, det.txt / gt.txt readers and the result writer.

Frames are 1-based as in the files. Result rows: `frame, id, x, y, w, h, conf, -1, -1, -1` (tlwh pixels).
Every writer here is atomic: it writes `<path>.partial` and renames it to `<path>` when done, so a reader
never sees half a file at the final path.
"""

from __future__ import annotations

import configparser
import contextlib
import io
import math
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import numpy as np

from tracker.io.atomic import TEMP_SUFFIX, atomic_write, temp_beside

if TYPE_CHECKING:  # annotations only: `track --help` and usage errors need no torch (tracker.types imports it)
    from tracker.types import TrackedObject

__all__ = [
    "TEXT_ENCODING",
    "MotWriter",
    "SequenceInfo",
    "csv_row_line",
    "format_mot_row",
    "make_output_folder",
    "open_truncated",
    "parse_mot_rows",
    "partial_file",
    "read_mot_rows",
    "read_sequence_info",
    "resumed_file",
    "tlwh_to_xyxy",
    "unique_stem",
    "write_mot_rows",
    "write_text_atomic",
    "xyxy_to_tlwh",
]

RESULT_COLUMNS = 10
"""Columns of a MOTChallenge result row."""
_DEFAULT_IMAGE_DIR = "img1"
_DEFAULT_IMAGE_EXT = ".jpg"
TEXT_ENCODING = "utf-8-sig"  # UTF-8, and a leading byte-order mark (Windows editors write one) is skipped


@dataclass(frozen=True)
class SequenceInfo:
    """A MOTChallenge sequence folder: name, frame rate, length, image size, image folder and extension."""

    root: Path
    name: str
    frame_rate: float
    length: int
    width: int
    height: int
    image_dir: Path
    image_ext: str

    def image_path(self, frame: int) -> Path:
        """Path of 1-based `frame`'s image (it may not exist: some folders hold only the first few)."""
        return self.image_dir / f"{frame:06d}{self.image_ext}"

    def frames_with_images(self) -> int:
        """How many frames from 1 on have their image present (stops at the first missing one, also one missing
        in the middle of the folder: every frame is checked, against one listing of the folder)."""
        try:
            present = set(os.listdir(self.image_dir))
        except OSError:  # no image folder (det.txt only) or one that cannot be read: no frame has its image
            return 0
        count = 0
        while count < self.length and self.image_path(count + 1).name in present:
            count += 1
        return count

    def image_stats(self, first: int, last: int) -> list[list[int]]:
        """[size in bytes, modification time in ns] of the images of frames `first`..`last` (1-based, present):
        part of a cache key, so frames replaced in place (a sequence extracted again from other footage) are not
        served what was computed from the old ones."""
        stats = (self.image_path(frame).stat() for frame in range(first, last + 1))
        return [[st.st_size, st.st_mtime_ns] for st in stats]


def read_sequence_info(root: str | Path) -> SequenceInfo:
    """Parse `root/seqinfo.ini`.

    Raises:
        FileNotFoundError: no seqinfo.ini in `root`.
        ValueError: not an ini file with a [Sequence] section, a required key (frameRate, seqLength) missing, a
            number that is not one or out of range (frameRate finite and > 0; seqLength, imWidth, imHeight >= 0),
            or a file that cannot be read; the message names the file and the key.
    """
    root = Path(root)
    ini_path = root / "seqinfo.ini"
    if not ini_path.is_file():
        raise FileNotFoundError(f"{root} is not a MOTChallenge sequence folder (no seqinfo.ini)")
    parser = configparser.ConfigParser()
    try:
        # utf-8-sig: Windows editors start the file with a byte-order mark, which hid the [Sequence] header
        with ini_path.open(encoding=TEXT_ENCODING) as file:  # `parser.read` would skip a file it cannot open
            parser.read_file(file)
        seq = parser["Sequence"]
    except OSError as exc:
        raise ValueError(f"{ini_path}: cannot be read ({exc.strerror or exc})") from None
    except (configparser.Error, KeyError, UnicodeDecodeError) as exc:
        reason = {KeyError: "no [Sequence] section", UnicodeDecodeError: "not text"}.get(type(exc))
        reason = reason or str(exc).splitlines()[0]  # configparser's first line says what is wrong
        raise ValueError(f"{ini_path}: not a MOTChallenge seqinfo.ini ({reason})") from None

    def number(key: str, kind: type, default: str | None = None, positive: bool = False) -> Any:
        text = seq.get(key, default)
        if text is None:
            raise ValueError(f"{ini_path}: missing key {key}")
        try:
            value = kind(text)
        except ValueError:
            what = "an integer" if kind is int else "a number"
            raise ValueError(f"{ini_path}: {key}={text!r} is not {what}") from None
        if not (math.isfinite(value) and (value > 0 if positive else value >= 0)):
            raise ValueError(f"{ini_path}: {key}={text!r} must be {'> 0' if positive else '>= 0'}")
        return value

    return SequenceInfo(
        root=root,
        name=seq.get("name", root.name),
        frame_rate=number("frameRate", float, positive=True),
        length=number("seqLength", int),
        width=number("imWidth", int, "0"),
        height=number("imHeight", int, "0"),
        image_dir=root / seq.get("imDir", _DEFAULT_IMAGE_DIR),
        image_ext=seq.get("imExt", _DEFAULT_IMAGE_EXT),
    )


def read_mot_rows(path: str | Path) -> np.ndarray:
    """(R, C) float64 array of a MOTChallenge csv (det.txt, gt.txt or a result); (0, 10) if empty. A UTF-8
    byte-order mark is skipped.

    Raises:
        FileNotFoundError: `path` does not exist.
        ValueError: a row is not numeric or rows differ in length.
    """
    path = Path(path)
    return parse_mot_rows(path.read_bytes(), path)


def parse_mot_rows(data: bytes, path: str | Path) -> np.ndarray:
    """`read_mot_rows` of `data`, the bytes of the MOTChallenge csv `path` (named in errors; not read): the same
    array (newlines read as a text file reads them), for a caller that keeps the bytes too.

    Raises:
        ValueError: a row is not numeric, rows differ in length, or the bytes are not UTF-8; the message names `path`
            and the file's first such line by its 1-based line number, as an editor shows it.
    """
    try:
        text = data.decode(TEXT_ENCODING)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ValueError(f"{path}: not a MOTChallenge csv (line {line} is not UTF-8 text: {exc.reason})") from None
    if not text.strip():
        return np.zeros((0, RESULT_COLUMNS))
    try:
        # a line of spaces only is blank, as it reads in an editor (numpy read it as a row of one empty column)
        lines = (line if line.strip() else "\n" for line in io.StringIO(text, newline=None))
        return np.loadtxt(lines, delimiter=",", ndmin=2)
    except ValueError as exc:  # numpy counts rows from 0 or from 1, skipping blank lines: say the file's line
        raise ValueError(f"{path}: not a MOTChallenge csv ({_first_bad_line(text) or exc})") from None


_QUOTED_LINE_CHARS = 60  # a bad line is quoted in the error up to this many characters


def _first_bad_line(text: str) -> str | None:
    """Why `np.loadtxt` refused the csv `text`, naming its first offending line (1-based, blank and `#` lines
    counted as the file has them): a cell that is not a number, or a row whose column count differs from the first
    row's; None where no line is found (numpy's own message is then kept)."""
    columns = 0
    for number, line in enumerate(io.StringIO(text, newline=None), start=1):
        row = line.split("#", 1)[0].strip()  # np.loadtxt's comments="#"
        if not row:
            continue
        cells = row.split(",")
        quoted = repr(row[:_QUOTED_LINE_CHARS])
        try:
            np.array(cells, dtype=np.float64)
        except ValueError:
            return f"line {number}, {quoted}: not all numbers"
        if columns and len(cells) != columns:
            return f"line {number}, {quoted}: {len(cells)} columns, where the first row has {columns}"
        columns = columns or len(cells)
    return None


def csv_row_line(data: bytes, row: int) -> tuple[int, str]:
    """(1-based line number, the line quoted up to _QUOTED_LINE_CHARS) of the 0-based `row` of the MOTChallenge
    csv bytes `data`, as `parse_mot_rows` counts rows (blank and `#` lines skipped): an error about a row can name
    the line an editor shows.

    Raises:
        IndexError: `data` holds no such row.
    """
    rows = -1
    for number, line in enumerate(io.StringIO(data.decode(TEXT_ENCODING), newline=None), start=1):
        text = line.split("#", 1)[0].strip()
        if text:
            rows += 1
            if rows == row:
                return number, repr(text[:_QUOTED_LINE_CHARS])
    raise IndexError(f"row {row} of {rows + 1}")


def tlwh_to_xyxy(tlwh: np.ndarray) -> np.ndarray:
    """(N, 4) left, top, width, height -> (N, 4) corners."""
    tlwh = np.asarray(tlwh, dtype=np.float64).reshape(-1, 4)
    return np.concatenate([tlwh[:, :2], tlwh[:, :2] + tlwh[:, 2:4]], axis=1)


def xyxy_to_tlwh(boxes_xyxy: np.ndarray) -> np.ndarray:
    """(N, 4) corners -> (N, 4) left, top, width, height."""
    boxes_xyxy = np.asarray(boxes_xyxy, dtype=np.float64).reshape(-1, 4)
    return np.concatenate([boxes_xyxy[:, :2], boxes_xyxy[:, 2:4] - boxes_xyxy[:, :2]], axis=1)


def format_mot_row(frame: int, track_id: int, xyxy: Sequence[float] | np.ndarray, score: float) -> str:
    """One MOTChallenge result line `frame,id,x,y,w,h,conf,-1,-1,-1` (with its newline): `xyxy` the (4,) pixel
    corners (x1, y1, x2, y2), written as tlwh (left, top, width, height) with 2 decimals, the score with 4."""
    x1, y1, x2, y2 = (float(v) for v in xyxy)
    return f"{int(frame)},{int(track_id)},{x1:.2f},{y1:.2f},{x2 - x1:.2f},{y2 - y1:.2f},{float(score):.4f},-1,-1,-1\n"


def _format_objects(frame: int, objects: Iterable[TrackedObject]) -> list[str]:
    return [format_mot_row(frame, o.track_id, o.xyxy, o.score) for o in objects]


def write_mot_rows(path: str | Path, frames: Iterable[tuple[int, Iterable[TrackedObject]]]) -> None:
    """Write a whole result file atomically from `(1-based frame, objects)` pairs: an error while `frames` is read
    (or written) leaves the file at `path` as it was, or absent, and no `<path>.partial` behind (unlike `MotWriter`
    in a `with` block, which keeps the frames finished).

    Raises:
        OSError: the folder cannot be made or written.
    """
    writer = MotWriter(path)
    try:
        for frame, objects in frames:
            writer.write(frame, objects)
    except BaseException:
        writer.discard()
        raise
    writer.close()


def make_output_folder(path: str | Path, role: str = "output folder", option: str | None = None) -> Path:
    """Create the output folder `path` (and its parents) if needed; `role` names it in the error (`track eval`'s
    "input cache folder"), `option` the command-line option that chooses another one, which the error ends with
    (`: choose another --out`; None: no such ending, for a caller that says its own).

    Raises:
        OSError: it cannot be created (a file of that name, a read-only or missing parent), saying that it is the
            output folder: the OS's own message alone ("No such file or directory") reads as a missing input.
    """
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        # ("Not a directory"); a device (`--out /dev/null`, meant as "write nothing") is no folder either, nor a
        # link to nothing (a removed folder's: the OS said "File exists" of it, though nothing is there)
        dangling = next((p for p in (path, *path.parents) if p.is_symlink() and not p.exists()), None)
        blocker = next((parent for parent in path.parents if parent.exists() and not parent.is_dir()), None)
        reason = (
            f"{dangling} is a link to {os.readlink(dangling)}, which does not exist" if dangling is not None
            else "a file of that name exists" if path.is_file()
            else "it exists and is not a folder" if path.exists() and not path.is_dir()
            else f"{blocker} is a file, not a folder" if blocker is not None and blocker.is_file()
            else f"{blocker} is not a folder" if blocker is not None
            else exc.strerror or str(exc)
        )  # fmt: skip
        instead = f": choose another {option}" if option else ""
        raise type(exc)(f"cannot create the {role} {path}: {reason}{instead}") from None  # FileExistsError, ...
    return path


def unique_stem(name: str, taken: set[str]) -> str:
    """`name`, or `name_2`, `name_3`, ...: two sources with the same name never share output files."""
    stem, n = name, 1
    while stem in taken:
        n += 1
        stem = f"{name}_{n}"
    taken.add(stem)
    return stem


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write `text` to `path` as UTF-8, atomically and durably (`atomic_file`). A reader, or a re-run after a kill or
    a power cut, finds the old file or the whole new one, never an empty or half-written one (`track eval` reuses a
    result whose note exists; a resume trusts its gallery record).

    Raises:
        OSError: the folder cannot be written (`path` is then as it was).
    """
    with atomic_file(path) as file:
        file.write(text)


@contextlib.contextmanager
def atomic_file(path: str | Path, temp_suffix: str = TEMP_SUFFIX) -> Iterator[TextIO]:
    """A UTF-8 text file to write `path` through (`tracker.io.atomic.atomic_write`): `<path>.partial` (or
    `<path><temp_suffix>`), then on a clean exit flush, fsync, rename over `path` and fsync of the folder; on any
    exception the temporary file is removed and `path` is as it was.

    Raises:
        OSError: the folder cannot be written.
    """
    path = Path(path)
    with atomic_write(path, _open_text, temp_beside(path, temp_suffix)) as file:
        yield file


def _open_text(path: Path) -> TextIO:
    """`path` created (or truncated) and opened to write UTF-8 text (`atomic_file`'s temp file)."""
    return path.open("w", encoding="utf-8")


def open_truncated(path: Path, length: int) -> TextIO:
    """`path` cut to its first `length` bytes and opened to append (a resumed run continues its own file; a killed
    one may have left half a line after the point it resumes from).

    Raises:
        FileNotFoundError: `path` does not exist. ValueError: it is shorter than `length` (not the file that was
            checkpointed).
    """
    file = path.open("r+b")
    try:
        size = file.seek(0, os.SEEK_END)
        if size < length:
            raise ValueError(f"{path} holds {size} bytes, fewer than the {length} the checkpoint recorded")
        file.truncate(length)
    finally:
        file.close()
    return path.open("a")


def partial_file(path: Path) -> Path:
    """`<path>.partial`: where a `MotWriter` writes `path`'s rows until it closes, and the rows a resume continues."""
    return temp_beside(path)


def resumed_file(path: Path) -> Path:
    """The result file an earlier run left for `path`: `<path>.partial` if that run was killed, else `path`."""
    partial = partial_file(path)
    return partial if partial.exists() or not path.exists() else path


class MotWriter:
    """Writes a result file one frame at a time; the file appears at `path` when the writer closes.

    Rows go to `<path>.partial`, flushed every frame, which is renamed to `path` on `close()` (also when
    leaving a `with` block through an exception, so an interrupted run keeps the frames it finished).
    With `resume_bytes`, the file an earlier run left (`<path>.partial` if it was killed, else `path`) is kept
    up to that length and continued (`open_truncated`).
    """

    def __init__(self, path: str | Path, resume_bytes: int | None = None) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._partial = partial_file(self.path)
        if resume_bytes is None:
            self._file: TextIO | None = self._partial.open("w")
            return
        if resumed_file(self.path) == self.path:  # the earlier run closed its file
            os.replace(self.path, self._partial)
        self._file = open_truncated(self._partial, resume_bytes)

    @property
    def bytes_written(self) -> int:
        """Length of the file so far in bytes (every row is flushed).

        Raises:
            ValueError: the writer is closed.
        """
        if self._file is None:
            raise ValueError(f"MotWriter for {self.path} is closed")
        return self._file.tell()

    def sync(self) -> None:
        """Make the rows written so far durable (fsync)."""
        if self._file is not None:
            os.fsync(self._file.fileno())

    def write(self, frame: int, objects: Iterable[TrackedObject]) -> None:
        """Append the objects of 1-based `frame`, one MOTChallenge row each, flushed.

        Raises:
            ValueError: the writer is closed.
        """
        if self._file is None:
            raise ValueError(f"MotWriter for {self.path} is closed")
        self._file.writelines(_format_objects(frame, objects))
        self._file.flush()

    def close(self) -> None:
        """Finish the file (rename it into place); idempotent."""
        if self._file is None:
            return
        self._file.close()
        self._file = None
        os.replace(self._partial, self.path)

    def discard(self) -> None:
        """Close without finishing: remove `<path>.partial`, leaving the file at `path` as it was; idempotent."""
        if self._file is None:
            return
        self._file.close()
        self._file = None
        self._partial.unlink(missing_ok=True)

    def __enter__(self) -> MotWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
