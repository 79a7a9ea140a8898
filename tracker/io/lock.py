"""An exclusive lock on an output folder: one `track` run writes into a folder at a time.

Two runs into the same `--out` would write the same `<name>.txt.partial`, JSONL, mp4, summary and checkpoint: the
second to finish failed renaming a temp file the first had already moved, and the survivor's files mixed both
runs. The second run is refused at its start instead, with one error naming the folder and the process holding it.

The lock is the operating system's own on `<folder>/.track.lock`, taken through `filelock.lock_descriptor` (the
filelock library's portable primitive: `flock(2)` on Linux and macOS, `LockFileEx` on its first byte on Windows).
The kernel releases it when its process ends, however it ends, so the lock of a killed run never blocks the next
one (the file it leaves is reused); a run that ends normally removes the file. The file holds the holder's process
ID, for the error message only (Windows refuses reading a locked byte: the holder is then "unknown"). On a file
system that refuses locks (some network mounts) the run goes on unlocked, with a warning.

An identity gallery file is locked the same way (`gallery_lock`: `.<name>.lock` beside it): two runs that loaded
the same `--gallery` each wrote back their own copy, the last one silently dropping the other's identities after
both had given the same new global IDs to different people.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import sys
from pathlib import Path
from types import TracebackType

from filelock import lock_descriptor

from tracker.io.mot import make_output_folder
from tracker.io.names import side_file

__all__ = ["LOCK_NAME", "FolderInUse", "FolderLock", "gallery_holder", "gallery_lock"]

GALLERY_HOLDERS = "another run or gallery edit"  # who holds a gallery's lock: track, track batch, gallery rm, a save
GALLERY_LOCK_SUFFIX = ".lock"  # a gallery file's lock: `.<name>.lock` beside it
LOCK_NAME = ".track.lock"  # in the output folder, beside the outputs, while a run writes there
_NOT_WRITABLE = (errno.EACCES, errno.EPERM, errno.EROFS)  # the lock file cannot be made: the folder is not writable
_FULL = (errno.ENOSPC, errno.EDQUOT)  # a full disk (or quota): the lock holds without the process ID written in it
log = logging.getLogger(__name__)

_PID_BYTES = 32  # read back from the lock file for the message (a process ID and a newline)
_OPEN_FILES_UNLINK = sys.platform != "win32"  # an open file can be removed (POSIX); Windows: after closing it


class FolderInUse(OSError):
    """Another process holds the output folder's lock (the message is one line naming the folder and the process)."""


class FolderLock:
    """Holds the lock on `folder` from `__enter__` (or `acquire`) to `__exit__` (or `release`).

    Args:
        folder: the output folder; created if missing (and removed again on release if it is still empty).
        made_here: this run created `folder` (e.g. `next_run_dir`): it is removed on release if nothing was
            written into it.
        lock_name: the lock file's name in `folder`.
        subject: what the lock guards, for the error (default: "the output folder <folder>").
        option: the command-line option that chooses another one, for the error; None where there is no other
            choice (`track gallery rm FILE` edits that file).
        holders: who else may hold it, for the error ("another track run": the output folder's).
        warn_unlocked: on a file system without locks, the "cannot be locked" line is a warning (False: DEBUG, for
            a caller that said it once already: the variant cache, once per folder per run).
        nested_hint: how to take the lock once, for the error when this process holds it already (through another
            open file of the lock: another `FolderLock`, or another thread's).
    Raises (on acquire):
        FolderInUse: another live process holds the lock, or this one under another `FolderLock` (said so).
        OSError: the folder cannot be created (named) or written (the error names the subject and the option, not
            the lock file).
    """

    def __init__(
        self,
        folder: Path,
        made_here: bool = False,
        *,
        lock_name: str = LOCK_NAME,
        subject: str | None = None,
        option: str | None = "--out",
        nested_hint: str = "one lock per folder in a process",
        holders: str = "another track run",
        warn_unlocked: bool = True,
    ) -> None:
        self.folder = Path(folder)
        self.path = self.folder / lock_name
        self.subject = subject if subject is not None else f"the output folder {self.folder}"
        self.option = option
        self.nested_hint = nested_hint
        self.holders = holders
        self._made_here = made_here
        self._fd: int | None = None  # the locked file's descriptor while held (None: not held, or held unlocked)
        self.stale_holder: str | None = None  # the process ID a lock file left by a run that is gone held (on acquire)
        self._held = False
        self._warn_unlocked = warn_unlocked
        # the kernel's lock is held: True from acquire to release (False before, after, and while held unlocked on a
        # file system that has no locks)
        self.locked = False

    def acquire(self) -> None:
        """Take the lock, or raise `FolderInUse` at once (no waiting). The folder is made first where missing (an
        empty folder made here is removed again on a refusal). On a file system without locks it is held unlocked,
        with a warning logged.

        Raises:
            FolderInUse: another process holds the lock, or this process under another of its locks.
            OSError: the folder cannot be made (`make_output_folder`), or it cannot hold the lock file (read-only,
                foreign): naming the folder; the process ID cannot be written to the lock file for another reason
                than a full disk (the system's error as it is).
        """
        self._made_here |= not self.folder.exists()
        make_output_folder(self.folder, option=self.option)
        while True:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:  # a read-only or foreign folder: name what the user chose, not the lock file
                self._remove_if_empty()
                why = "is not writable" if exc.errno in _NOT_WRITABLE else f"cannot hold the lock file {self.path.name}"
                raise OSError(
                    f"{self.subject} cannot be used: {self.folder} {why} ({exc.strerror}){self._instead(': ')}"
                ) from exc
            try:
                locked = lock_descriptor(fd, blocking=False)
            except OSError as exc:  # a file system without locks (some network mounts): run as before, unlocked
                os.close(fd)
                self.path.unlink(missing_ok=True)
                level = logging.WARNING if self._warn_unlocked else logging.DEBUG
                log.log(level, "%s cannot be locked (%s): another run using it is not refused", self.subject, exc)
                self._held, self.locked = True, False
                return
            except BaseException:
                os.close(fd)
                raise
            if not locked:
                holder = _holder(fd)
                os.close(fd)
                self._remove_if_empty()
                if holder == str(os.getpid()):  # (a lock per open file: this process's other one, e.g. save in lock)
                    raise FolderInUse(
                        f"{self.subject} is in use by this process (process {holder}) already, under another of its "
                        f"locks: take it once ({self.nested_hint}){self._instead(', or ')}"
                    )
                raise FolderInUse(
                    f"{self.subject} is in use by {self.holders} (process {holder}): wait for it to end"
                    f"{self._instead(', or ')}"
                )
            try:  # the holder before us may have removed the file between our open and our lock: lock the new one
                same = os.path.samestat(os.fstat(fd), os.stat(self.path))
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        left = _holder(fd)  # a run killed (`kill -9`) or crashed left its file: the kernel let its lock go
        self.stale_holder = None if left == "unknown" else left
        if self.stale_holder is not None:
            log.info("%s: took over the lock left by process %s, which is gone", self.subject, left)
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        try:
            os.write(fd, f"{os.getpid()}\n".encode())
        except OSError as exc:
            # A full disk: the ID only names the holder in another run's refusal. It was the run's error, naming no
            # file, before anything ran; a run goes on (its outputs and saves name the file they cannot write).
            if exc.errno not in _FULL:
                os.close(fd)
                raise
            log.debug("%s: the lock file %s holds no process ID (%s)", self.subject, self.path, exc.strerror)
        self._fd, self._held, self.locked = fd, True, True

    def _instead(self, joined_by: str) -> str:
        """The error's last words, "<joined_by>choose another <option>"; none where there is no option."""
        return f"{joined_by}choose another {self.option}" if self.option else ""

    def release(self) -> None:
        """Remove the lock file, then let the lock go (in this order: a run waiting on the old file sees it gone;
        Windows removes no open file: there the other way round); the folder goes too if this run made it and wrote
        nothing. Idempotent."""
        if not self._held:
            return
        if self._fd is not None:
            try:
                if _OPEN_FILES_UNLINK:
                    self.path.unlink(missing_ok=True)
            except OSError as exc:  # the folder made read-only meanwhile: the lock still goes with its descriptor
                log.warning("the lock file %s could not be removed (%s); it locks nothing", self.path, exc.strerror)
            finally:
                os.close(self._fd)
                self._fd = None
            if not _OPEN_FILES_UNLINK:  # (a run that opened the file meanwhile keeps it: then it stays, harmless)
                with contextlib.suppress(OSError):
                    self.path.unlink(missing_ok=True)
        self._held, self.locked = False, False
        self._remove_if_empty()

    def _remove_if_empty(self) -> None:
        if self._made_here:
            with contextlib.suppress(OSError):  # not empty (the outputs, another run's lock) or already gone
                self.folder.rmdir()

    def __enter__(self) -> FolderLock:
        self.acquire()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


def _holder(fd: int) -> str:
    """The process ID the holder wrote into the lock file open as `fd`, or "unknown" (not written yet, or the file
    unreadable while locked: Windows)."""
    try:
        return os.read(fd, _PID_BYTES).decode(errors="replace").strip() or "unknown"
    except OSError:
        return "unknown"


def gallery_lock(
    path: str | Path, option: str | None = "path", make_folder: bool = False
) -> FolderLock | contextlib.nullcontext[None]:
    """The lock of the identity gallery file `path` (`.<name>.lock` in its folder): one run at a time loads it, adds
    to it and writes it back (`track --gallery`, `track batch --gallery`, `track gallery rm|prune`, `Gallery.save`).
    `option` names, in the errors, what chooses another gallery file: the `path` given, for a program calling it
    ("... choose another path"); a command its option (`track --gallery` passes "--gallery": a library user was told
    to choose another --gallery, a flag never typed); None: nothing does (`track gallery rm FILE`).

    A gallery whose folder does not exist is not locked (a lock would create the folder): the caller's own error
    names the missing folder or file, and with no folder there is no gallery another run could be writing; unless
    `make_folder` (a run that creates the gallery, `track --gallery new/site.gallery`, as `--out` creates its
    folder): the folder is made now, and removed again when the lock goes if nothing was saved into it. A
    symbolic link is followed: the lock is the file's it points to, whichever name a run gives (`Gallery.save`
    replaces that file, not the link).

    Raises:
        NotADirectoryError, OSError: with `make_folder`, the folder cannot be made (naming the gallery, the folder
            and `option`: `tracker.gallery_file.make_folder`).
    """
    path = Path(path).expanduser()  # ("~/site.gallery": the home folder's, as `Gallery.save` takes it)
    lock_file = _gallery_lock_file(path)
    made = make_folder and not os.path.lexists(lock_file.parent)
    if made:
        from tracker.gallery_file import make_folder as make_gallery_folder  # (the gallery's own errors)

        make_gallery_folder(path, option or "path", folder=lock_file.parent)  # (its errors name `path` as given)
    if not lock_file.parent.is_dir():
        return contextlib.nullcontext()
    return FolderLock(
        lock_file.parent,
        made,
        lock_name=lock_file.name,
        subject=f"the gallery {path}",
        option=option,
        nested_hint="a save inside `with gallery_lock(path):` passes lock=False",
        holders=GALLERY_HOLDERS,
    )


def _gallery_lock_file(path: str | Path) -> Path:
    """`.<name>.lock` beside the gallery file `path` (a symbolic link's file: the link followed; a name too long to
    take both dots and the suffix cut, `side_file`)."""
    return side_file(Path(os.path.realpath(path)), GALLERY_LOCK_SUFFIX, prefix=".")


def gallery_holder(path: str | Path) -> int | None:
    """The process ID of another live process holding the gallery file `path`'s lock (`gallery_lock`: a `track`
    run that will save it again), or None: none does, the process that left the lock file is gone (`kill -9`), or
    this platform cannot tell (Windows: a held lock's file cannot be read). Read from the lock file without taking
    the lock: taking it, even for a moment, would refuse a run starting then. A process ID reused since a killed
    holder left its file reads as a holder (the answer is for a note, never for a decision that loses data)."""
    if sys.platform == "win32":
        return None
    try:
        text = _gallery_lock_file(path).read_text(errors="replace").strip()
    except OSError:  # (no lock file: no holder; an unreadable one: none this process can name)
        return None
    if not text.isdigit() or int(text) == os.getpid():
        return None
    pid = int(text)
    try:
        os.kill(pid, 0)  # (signal 0: only asks whether the process exists)
    except ProcessLookupError:
        return None
    except PermissionError:  # another user's process: alive
        pass
    return pid
