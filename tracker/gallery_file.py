"""The gallery file on disk: written atomically and privately, told apart from a newer version, never overwritten
unawares.

- A save writes a temp file beside the gallery (mode 0600: it holds biometric-like data), fsyncs it and renames it
  over the file (`write_atomic`), so a reader sees one whole version, never a half-written one; the temp files of
  saves killed before their rename are removed by the next save (`remove_interrupted_saves`).
- Which file is at a path is its `file_version` (device, inode, size, modification ns): a save replaces the file
  by a new one. A gallery remembers the version it read or wrote, and `check_unchanged` refuses to write over
  another (another process, or another `Gallery` of this one, saved it meanwhile).
- `check_saveable` finds, before any video is tracked, a path where a save could not be written.

The bytes written are `tracker.gallery_format`'s; the lock two processes take around a save is
`tracker.io.lock.gallery_lock`. Log records keep the logger name `tracker.gallery`.
"""

from __future__ import annotations

import logging
import os
import re
import stat
import tempfile
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import BinaryIO

from tracker.file_errors import names_another_file, naming
from tracker.gallery_format import is_gallery_file
from tracker.gallery_records import GalleryConflictError, GalleryError, SaveAbandoned
from tracker.io.atomic import sync_folder
from tracker.io.names import fitting_stem

__all__ = [
    "FileVersion",
    "check_saveable",
    "check_unchanged",
    "check_writable",
    "file_in_the_way",
    "file_version",
    "is_read_only",
    "make_folder",
    "names_another_file",
    "probe_folder",
    "refuse_not_a_file",
    "refuse_read_only",
    "refuse_under_a_file",
    "remove_interrupted_saves",
    "version_of",
    "write_atomic",
    "written_by_another",
    "written_file",
]

log = logging.getLogger("tracker.gallery")  # (the logger of the gallery's saves, before this module was split off)

FILE_MODE = 0o600  # owner read/write only: the file holds biometric-like data
WRITE_BITS = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH  # a file with none of these set is read-only (`chmod a-w`)
TEMP_RANDOM_CHARS = 8  # the random part of `tempfile.mkstemp`'s names (`write_atomic`'s temp files)
TEMP_SUFFIX = ".tmp"  # the end of `write_atomic`'s temp files' names: `.<name>.<random>.tmp`
FileVersion = tuple[int, int, int, int]  # (device, inode, size, modification ns) of a gallery file


def version_of(stat: os.stat_result) -> FileVersion:
    """The `FileVersion` of the file `stat` describes (`os.stat` of a path, `os.fstat` of an open file)."""
    return (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)


def file_version(path: str | Path) -> FileVersion | None:
    """Which file is at `path` now, as (device, inode, size, modification ns) (a save replaces it by a new one:
    another inode), or None if none is."""
    try:
        return version_of(os.stat(path))
    except (FileNotFoundError, NotADirectoryError):  # (a file where a folder of the path should be: no file)
        return None


NOT_FILES = (  # what else a path can name, by `os.stat`'s mode: reading a FIFO waited forever for a writer
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def refuse_not_a_file(path: Path) -> None:
    """GalleryError when `path` (a link followed) is a directory, a named pipe, a device or a socket: a gallery is one
    regular file. Reading a FIFO (`mkfifo`, `<(...)`) waited for a writer forever, and a save would have renamed its
    new file over a device (`/dev/null`, as root) or pipe."""
    if path.is_dir():
        raise GalleryError(
            f"gallery file {path} is a directory, not a file (a gallery is one file, such as {path / 'site.gallery'})"
        )
    try:
        mode = os.stat(path).st_mode
    except OSError:  # (no such file, or a file in the path's folders: the read or save says so)
        return
    kind = next((name for test, name in NOT_FILES if test(mode)), None)
    if kind is not None:
        raise GalleryError(
            f"gallery file {path} is {kind}, not a file: a gallery is one regular file, which a save replaces whole; "
            "name a file (a new name makes one)"
        )


def is_read_only(path: Path) -> bool:
    """Whether `path` is an existing file with none of its write permission bits set (`chmod a-w`: also for root,
    whom permissions do not stop) or not writable by this process; False when there is no file."""
    try:
        mode = os.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):  # (no file: a missing folder, or a file where one should be)
        return False
    return not (mode & WRITE_BITS and os.access(path, os.W_OK))


def refuse_read_only(path: Path, option: str | None = None) -> None:
    """PermissionError when the gallery file `path` exists and is read-only: none of its write permission bits set
    (`chmod a-w`: also for root, whom permissions do not stop) or not writable by this process. A save renames a new
    file over the old one (`write_atomic`), which only the folder's permissions govern, so without this check a file
    its owner made read-only to keep it as it is would be replaced. `option`: what chooses another file, named in
    the error (None: none is named)."""
    if not is_read_only(path):
        return
    mode = os.stat(path).st_mode
    other = f", or choose another {option}" if option else ""
    raise PermissionError(
        f"gallery file {path} is read-only (mode {stat.S_IMODE(mode):o}) and a save would replace it: make it "
        f"writable (chmod u+w {path}) to save into it{other}"
    )


def check_writable(path: Path, option: str) -> None:
    """Fail before work a failed save would waste (`track gallery merge`, its `--dry-run` too) where the gallery file
    `path` cannot be written whatever the folder allows: a file stands where a folder of its path should be (a save
    makes missing folders), or the file is read-only (`refuse_read_only`). `option` names what chooses another file.

    Raises:
        NotADirectoryError: a file in the way (naming it). PermissionError: the file is read-only.
    """
    in_the_way = file_in_the_way(written_file(path))
    if in_the_way is not None:
        raise _not_a_folder(path, in_the_way, option)
    refuse_read_only(path, option)


def check_saveable(path: str | Path, option: str = "--gallery") -> None:
    """Fail at once, before any video is tracked, where a save of the gallery file `path` could not be written: a
    file where a folder of its path should be, the file a directory or read-only, or a folder a save cannot write in
    (a temp file such as a save makes cannot be created there: the check a save makes itself, so it also holds where
    root passes permissions, and on read-only mounts). Folders that do not exist yet are made by a save
    (`make_folder`, a symbolic link followed), so they pass where one can be made in the nearest existing folder
    above them (probed with a temp folder). Writes nothing (the probe is removed at once). `option` names, in the
    errors, what chooses another file.

    Raises:
        NotADirectoryError: a file where a folder should be. GalleryError: `path` is a directory, a named pipe or a
            device. PermissionError: the file is read-only (`refuse_read_only`). OSError: the folder cannot be
            written, or made (the reason given). Each error names the gallery file or its folder.
    """
    path = Path(path)
    folder = Path(os.path.realpath(path)).parent  # where a save writes: a symbolic link's file's folder (`save`)
    there = _nearest_existing(folder)  # `folder`, or where a save makes it
    if not there.is_dir():
        raise _not_a_folder(path, there, option)
    refuse_not_a_file(path)
    refuse_read_only(path, option)
    probe_folder(path, option)


def probe_folder(path: Path, option: str, subject: str | None = None) -> None:
    """OSError naming `subject` (default: "the gallery `path`") and `option` where a new file `path` cannot be written:
    a temp file (a save's own) cannot be created in its folder, or, where that folder is missing, a folder cannot be
    made in the nearest existing one above it (`check_saveable`: what it checks past the file itself; `track
    gallery export` checks its second output so before it writes the first). Writes nothing."""
    folder = Path(os.path.realpath(path)).parent
    there = _nearest_existing(folder)
    try:
        if there == folder:
            fd, probe = tempfile.mkstemp(prefix=_temp_prefix(path), suffix=TEMP_SUFFIX, dir=folder)  # `write_atomic`
            os.close(fd)
            Path(probe).unlink(missing_ok=True)
        else:
            os.rmdir(tempfile.mkdtemp(prefix=_temp_prefix(path), suffix=TEMP_SUFFIX, dir=there))  # `make_folder`
    except OSError as exc:
        if there == folder:
            raise OSError(_unwritable(path, folder, exc, option, subject)) from exc
        reason = f"its folder {folder} cannot be made in {there} ({exc.strerror or exc})"
        raise OSError(f"{_named(path, subject)} cannot be saved: {reason}: choose another {option}") from exc


def _nearest_existing(folder: Path) -> Path:
    """`folder` (links resolved), or the nearest folder above it that exists: the root folder at worst."""
    return next((p for p in (folder, *folder.parents) if p.exists()), folder)


def make_folder(path: Path, option: str = "path", folder: Path | None = None, subject: str | None = None) -> None:
    """Create the folder of the gallery file `path` (and its parents) where missing, as a save does.

    Args:
        folder: the folder to make where it is not `path.parent` (`tracker.io.lock.gallery_lock`: its links
            followed, an absolute path); the errors name `path` and the file in its way as given (`--gallery
            notes.txt/cam1/g` was told of `/home/me/notes.txt`).

    Raises:
        NotADirectoryError: a file stands where a folder of the path should be. OSError (of the kind the system
            gave): the folder cannot be made. Each names the gallery (or `subject`, what else the file is) and the
            folder; `option`: what chooses another file.
    """
    folder = path.parent if folder is None else folder
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        in_the_way = file_in_the_way(path) or file_in_the_way(folder / path.name)
        if in_the_way is not None:
            raise _not_a_folder(path, in_the_way, option, subject) from exc
        reason = f"{_named(path, subject)} cannot be saved: its folder {folder} cannot be made ({exc.strerror or exc})"
        raise type(exc)(f"{reason}: choose another {option}") from exc


def file_in_the_way(path: Path) -> Path | None:
    """The file that stands where a folder of `path` should be (`g1.gallery` for `g1.gallery/x`: no file can be
    read or written there), the one nearest `path`; None when none does."""
    return next((p for p in path.parents if p.exists() and not p.is_dir()), None)


def refuse_under_a_file(path: Path) -> None:
    """NotADirectoryError, one line naming `path` and the file in its way, when a file stands where a folder of
    `path` should be (reading it said "[Errno 20] Not a directory: 'g1.gallery/x'"); else nothing."""
    in_the_way = file_in_the_way(path)
    if in_the_way is not None:
        raise NotADirectoryError(f"no such gallery file: {path} ({in_the_way} is a file, not a folder)")


def _named(path: Path, subject: str | None) -> str:
    """How the errors name the file `path`: `subject` where given (`write_atomic` also writes `track gallery
    export`'s table: "the gallery ids.csv" misnamed it), else "the gallery `path`"."""
    return subject if subject is not None else f"the gallery {path}"


def _not_a_folder(path: Path, file: Path, option: str, subject: str | None = None) -> NotADirectoryError:
    """The error for the gallery `path` (or `subject`) whose folder (or one above it), `file`, is a file."""
    return NotADirectoryError(
        f"{_named(path, subject)} cannot be saved: {file} is a file, not a folder: choose another {option}"
    )


def _unwritable(path: Path, folder: Path, exc: OSError, option: str, subject: str | None = None) -> str:
    """The message for the gallery `path` (or `subject`) whose `folder` cannot hold a new file (`exc`: the system's
    reason)."""
    reason = f"its folder {folder} is not writable ({exc.strerror or exc})"
    return f"{_named(path, subject)} cannot be saved: {reason}: choose another {option}"


def _temp_prefix(path: Path) -> str:
    """`.<name>.`, the start of the names of `write_atomic`'s temp files for `path`: `<name>` is `path`'s name, or
    where a temp file's longer name would not fit in a file name, its start and a hash of it (`fitting_stem`)."""
    added = len("..") + TEMP_RANDOM_CHARS + len(TEMP_SUFFIX)
    return f".{fitting_stem(path.name, added)}."


def _temp_names(path: Path) -> re.Pattern[str]:
    """The names `write_atomic` gives its temp files for `path` (`tempfile.mkstemp`: 8 random characters), and no
    other gallery's (the one of `site.gallery.x` is `.site.gallery.x.<8>.tmp`: two characters longer)."""
    return re.compile(rf"{re.escape(_temp_prefix(path))}[a-z0-9_]{{{TEMP_RANDOM_CHARS}}}{re.escape(TEMP_SUFFIX)}")


def written_file(path: Path) -> Path:
    """The file a write of `path` replaces: `path` itself, or the file a symbolic link (or a chain of them) points
    to, so the link is kept and the file it names is the one written, as `gallery_lock` locks that file."""
    return Path(os.path.realpath(path))


def remove_interrupted_saves(path: Path) -> None:
    """Delete the temp files that saves of `path` (of the file a link points to: `written_file`) killed before their
    rename left beside it (a full copy of the gallery each: people's looks that `track gallery rm` and retention
    never reach). Only with the file's lock held, when no other save of it can be under way."""
    path = written_file(path)
    if not path.parent.is_dir():
        return
    pattern = _temp_names(path)
    for left in path.parent.iterdir():
        if pattern.fullmatch(left.name):
            left.unlink(missing_ok=True)
            log.info("removed %s, left by an interrupted save of %s", left, path)


def write_atomic(
    path: Path,
    content: bytes | Callable[[BinaryIO], None],
    abandon: threading.Event | None = None,
    before_replace: Callable[[FileVersion], None] | None = None,
    subject: str | None = None,
    option: str = "path",
) -> None:
    """Write to a temp file in the same folder (mode 0600), fsync, rename over `path`, fsync the folder. A symbolic
    link is followed (`written_file`): the file it points to is replaced and the link kept.

    `content`: the bytes, or a function that writes them into the open temp file (`gallery_format.write`).
    `abandon`: set (from another thread) to stop the write before it starts or once the content is written, before
    its fsync and rename (`SaveAbandoned`); once those have begun the file is replaced.
    `before_replace`: called with the complete, fsynced temp file's `file_version` just before the rename, which
    keeps it (same device, inode, size and modification time): the version `path` will have. Whoever records which
    file a save left records it there, so a process killed between the rename and a record written after it has
    not left a record naming the file before (`tracker.run_gallery.GallerySaver`). An error it raises stops the
    write like any other.
    `subject`: how errors name the file, where it is no gallery ("the table ids.csv"; default "the gallery PATH").
    `option`: what chooses another file, as an unwritable folder's error ends ("... choose another path").
    Raises whatever the write raises (OSError: the folder cannot be written, the disk is full, each naming `path`:
    `filename`; SaveAbandoned), the temp file then removed and `path` left as it was.
    """
    _check_not_abandoned(path, abandon)
    path = written_file(path)
    make_folder(path, option, subject=subject)
    try:
        fd, tmp = tempfile.mkstemp(prefix=_temp_prefix(path), suffix=TEMP_SUFFIX, dir=path.parent)
    except OSError as exc:
        raise type(exc)(_unwritable(path, path.parent, exc, option, subject)) from exc
    try:
        os.fchmod(fd, FILE_MODE)
        with _naming(path), os.fdopen(fd, "wb") as f:
            if callable(content):
                content(f)
            else:
                f.write(content)
            f.flush()
            _check_not_abandoned(path, abandon)
            os.fsync(f.fileno())
        if before_replace is not None:
            before_replace(version_of(os.stat(tmp)))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    sync_folder(path.parent)


def _naming(path: Path) -> AbstractContextManager[None]:
    """An OSError raised in the block that names no file (a write or fsync on a full disk said only "[Errno 28] No
    space left on device") is raised again, of the same type, errno and reason, naming `path` (its `filename`: the
    file that could not be written, not the temp file)."""
    return naming(path, lambda exc: type(exc)(exc.errno, exc.strerror, str(path)))


def _check_not_abandoned(path: Path, abandon: threading.Event | None) -> None:
    if abandon is not None and abandon.is_set():
        raise SaveAbandoned(f"the save of {path} was abandoned: the file was left as it was")


def written_by_another(path: Path, when: str) -> str:
    """The words for a gallery file at `path` that another program replaced `when` ("while this run used it",
    "during the batch"), to which the caller adds what it did about it: no `track` did (its runs and edits wait for
    the file's lock), so a copy or a restore did, and writing over the file would lose the identities it holds."""
    return (
        f"the gallery {path} was written by another program {when} (not through `track`, whose runs and edits wait "
        "for its lock: a copy or a restore?), and writing over it would lose its identities"
    )


def check_unchanged(path: Path, last: tuple[str, FileVersion] | None) -> None:
    """Raise `GalleryConflictError` if `path` holds a file other than `last`, the (real path, version) of the file
    a gallery last read or wrote (`Gallery.file`; None: neither), or another program's file (no gallery: said so).
    A missing file is no conflict. The error gives the ways on: load again and add (a script's gallery), take the
    file's identities in and save again (`Gallery.merge_from`: one that Trackers hold, which cannot load again), save
    aside and merge the two files (`track gallery merge`), or overwrite."""
    now = file_version(path)
    if now is None or last == (os.path.realpath(path), now):
        return
    if not is_gallery_file(path):
        raise GalleryConflictError(
            f"the gallery was not written: {path} is not a gallery file (another program's?) and would be replaced; "
            "choose another path, or save with overwrite=True to replace it"
        )
    why = "this gallery never read it" if last is None or last[0] != os.path.realpath(path) else (
        "it was saved after this gallery read it (by another program, or another Gallery in this one)"
    )  # fmt: skip
    aside = path.with_name(f"{path.stem}.unmerged{path.suffix}")  # (the name `track` saves its own aside under)
    raise GalleryConflictError(
        f"the gallery file {path} was not written: {why}, and its identities would be lost; load it again, add "
        f"to that and save; or, for a gallery that Trackers hold, take its identities in and save again "
        f"(merge_from('{path}'), then save('{path}')); or keep both files: save it aside (save('{aside}')) and "
        f"merge the two (track gallery merge {path} {aside} -o {path}); or save with overwrite=True to replace it"
    )
