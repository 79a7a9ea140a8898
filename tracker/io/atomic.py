"""Atomic, durable file writes: the one way every writer here replaces a file.

A write goes to a temp file beside its target (`<name>.partial` unless the writer names its own), which is flushed
and fsynced, renamed over the target (`os.replace`), and the folder fsynced so that the rename survives a power cut.
An exception at any point (a full disk, a Ctrl-C) removes the temp file and leaves the target as it was, or absent.
A reader, or a re-run after a kill, finds the old file or the whole new one, never an empty or half-written one.
Users: the MOT and JSON writers (`tracker.io.mot.atomic_file`), `track eval`'s chart (`tracker.eval.report`) and
input cache (`tracker.eval.inputs`), and the resume checkpoint (`tracker.resume.Checkpointer`).
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any, BinaryIO, TypeVar

from tracker.io.names import side_file

__all__ = ["TEMP_SUFFIX", "atomic_write", "open_binary", "sync_folder", "temp_beside"]

TEMP_SUFFIX = ".partial"  # the temp file's suffix beside its target, renamed over the target once whole

# fsync errors that say the file system cannot sync a folder at all (SMB/CIFS, some FUSE mounts, VirtualBox shared
# folders), not that a sync failed: the rename is already done and as durable as that file system makes it (SQLite
# ignores them too); any other error (EIO) is raised
_FOLDER_SYNC_UNSUPPORTED = frozenset({errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP})
# open errors of a folder one may write in but not list (mode 0300/0730: a drop folder): the rename in it is done,
# it cannot be opened to sync; any other open error (ENOENT: no such folder) is raised
_FOLDER_UNREADABLE = frozenset({errno.EACCES, errno.EPERM})

log = logging.getLogger(__name__)

_File = TypeVar("_File", bound=IO[Any])


def temp_beside(path: Path, suffix: str = TEMP_SUFFIX) -> Path:
    """`<path>.partial` (or `<path><suffix>`), beside `path`, its name cut to fit where `path`'s is long
    (`tracker.io.names.side_file`)."""
    return side_file(path, suffix)


def open_binary(path: Path) -> BinaryIO:
    """`path` created (or truncated) and opened to write bytes: a way for `atomic_write` to open its temp file.

    Raises:
        OSError: the folder cannot be written.
    """
    return path.open("wb")


@contextlib.contextmanager
def atomic_write(
    path: str | Path,
    open_temp: Callable[[Path], _File],
    temp: Path | None = None,
) -> Iterator[_File]:
    """The file to write `path` through: `open_temp(temp)` (`open_binary`: `<path>.partial` opened to write bytes); on a
    clean exit of the block it is flushed, fsynced, renamed over `path`, and `path`'s folder fsynced; on any
    exception (an error, a Ctrl-C) the temp file is removed and `path` is as it was.

    Args:
        path: the file written.
        open_temp: opens the temp file to write (text or binary, a mode of the caller's, or an already created
            temp file's descriptor: `lambda _: os.fdopen(fd, "wb")`).
        temp: the temp file, beside `path` (default `temp_beside(path)`): a writer that may run twice at once names
            one of its own (`tempfile.mkstemp`).
    Raises:
        OSError: the folder cannot be written, the disk is full (the system's error; the temp file removed).
    """
    path = Path(path)
    tmp = temp_beside(path) if temp is None else temp
    try:
        file = open_temp(tmp)
        with file:  # (`file` itself: `IO.__enter__` is typed as returning a plain IO)
            yield file
            file.flush()
            os.fsync(file.fileno())  # (renamed unsynced, a power cut could leave an empty file under the name)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    sync_folder(path.parent)


def sync_folder(folder: str | Path) -> None:
    """fsync a folder, so that the renames and new names in it survive a power cut. A file system that cannot sync a
    folder (fsync's EINVAL or ENOTSUP: SMB/CIFS, some FUSE mounts) is let be, logged at DEBUG: the rename before it
    is done, and an error would say a finished write failed; so is a folder one may write in but not read (EACCES).

    Raises:
        OSError: the folder cannot be opened (FileNotFoundError: it does not exist), or its sync failed (EIO).
    """
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError as exc:
        if exc.errno not in _FOLDER_UNREADABLE:
            raise
        log.debug("%s: the folder cannot be opened to fsync it (%s); its renames are not synced", folder, exc)
        return
    try:
        os.fsync(descriptor)
    except OSError as exc:
        if exc.errno not in _FOLDER_SYNC_UNSUPPORTED:
            raise
        log.debug(
            "%s: this file system cannot fsync a folder (%s); its renames are as durable as it makes them", folder, exc
        )
    finally:
        os.close(descriptor)
