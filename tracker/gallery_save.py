"""A `Gallery` saved to and read from its file (`tracker.gallery`): `save` (under the file's lock, refused over a
file another process wrote meanwhile, written atomically), `begin_save` and `PendingSave` (the same save in two
halves, the second in another thread) and `load`. The bytes are `tracker.gallery_format`'s, the file on disk
`tracker.gallery_file`'s."""

from __future__ import annotations

import contextlib
import functools
import os
import threading
from collections.abc import Callable, Collection
from dataclasses import replace
from pathlib import Path
from typing import Any, Self

import numpy as np

from tracker import gallery_format
from tracker.config import GalleryConfig
from tracker.gallery_checks import check_config
from tracker.gallery_file import (
    FileVersion,
    check_unchanged,
    make_folder,
    refuse_not_a_file,
    refuse_read_only,
    refuse_under_a_file,
    remove_interrupted_saves,
    version_of,
    write_atomic,
)
from tracker.gallery_guard import locked
from tracker.gallery_records import GalleryBadPrototypeError, GalleryError, ModelIdentity
from tracker.gallery_sources import read_sources
from tracker.gallery_state import GalleryState

__all__ = ["GalleryFiles", "PendingSave"]


class GalleryFiles(GalleryState):
    """The file of `tracker.gallery.Gallery` (one of its parts: the state it uses is `Gallery.__init__`'s)."""

    @property
    def file(self) -> tuple[str, FileVersion] | None:
        """(real path, `file_version`) of the file this gallery last read (`load`) or wrote (`save`); None: neither."""
        return self._file

    @locked
    def save(
        self,
        path: str | Path,
        prune: bool = True,
        *,
        lock: bool = True,
        overwrite: bool = False,
        before_replace: Callable[[FileVersion], None] | None = None,
    ) -> None:
        """Write the gallery atomically (temp file + fsync + rename) with mode 0600; applies retention first
        (unless `prune` is False).

        Two processes on one file cannot lose each other's identities: the save holds the file's lock
        (`tracker.io.lock.gallery_lock`, `.<name>.lock` beside it, as `track --gallery` does for a whole run), and
        refuses, writing nothing, when the file there is not the one this gallery last read (`load`) or wrote
        (`save`): another process saved it meanwhile, or this gallery never read it. Load it again, add to that,
        and save; for a gallery Trackers hold, take the file's identities in (`merge_from(path)`) and save again;
        to keep both files, save it aside and merge the two (`track gallery merge`, the error names the files); or
        pass `overwrite=True` to replace it. A missing file is simply written. Synchronous: the
        file is there when it returns (`begin_save` writes it from another thread instead).

        Args:
            path: the gallery file (its folder is created if missing; a leading "~" is the home folder).
            prune: apply the retention policy first.
            lock: take the file's lock for the save; False when the caller already holds `gallery_lock(path)`
                (the `track` commands hold it from load to their last save).
            overwrite: write even over a file this gallery did not last read or write (its identities are lost).
            before_replace: called with the version the file will have, just before the new file is renamed over
                it (`write_atomic`: to record it before it is there); an error it raises stops the save.
        Raises:
            GalleryError: `path` is a directory (nothing written).
            GalleryConflictError: the file changed since this gallery read or wrote it (nothing written).
            FolderInUse: another process holds the file's lock (a `track` run using it).
            PermissionError: the file there is read-only (`gallery_file.refuse_read_only`; nothing written).
            OSError: the folder cannot be made or written (NotADirectoryError: a file where a folder of `path`
                should be; each names the gallery and the folder), the disk is full (naming the gallery file: its
                `filename`).
            RuntimeError: a save `begin_save` began is not written yet (nothing written).

        Format: a safetensors file, tensors `prototypes` (M, D) float32 and `owners` (M,) int64 (the global
        ID of each row), JSON metadata in the header (format, version, model, next ID, identities, a SHA-256
        of the tensors). Never pickle: loading it cannot run code.
        """
        path = self._save_target(path)
        self._file = _write_file(path, self._file, lock, overwrite, lambda: self._snapshot(prune), before_replace)
        self._dirty = False

    def _snapshot(self, prune: bool) -> gallery_format.Snapshot:
        """What a save writes, as the gallery is now (after retention, unless `prune` is False)."""
        if prune:
            self.prune()
        model = None if self.model is None else replace(self.model, dim=self.dim)
        return gallery_format.Snapshot(
            tuple(self.identities),
            model,
            self._next_id,
            self.dim or 0,
            class_names=dict(self._class_names),
            sources=dict(self._linked),
        )

    @locked
    def begin_save(
        self,
        path: str | Path,
        prune: bool = True,
        *,
        lock: bool = True,
        overwrite: bool = False,
        before_replace: Callable[[FileVersion], None] | None = None,
    ) -> PendingSave:
        """`save`, in two halves, the second for another thread: a large gallery is written while this one goes on
        (`track` saves so every `gallery.save_every_seconds`, its loop running meanwhile).

        Now, holding the gallery's own lock: retention (unless `prune` is False) and a snapshot of what the file
        will hold (~5 ms at 20 000 identities). Then `PendingSave.write()`, from any thread: what `save` does with
        it (the file's lock unless `lock` is False, the conflict check unless `overwrite`, the atomic write, and
        `before_replace` called in the writing thread), the gallery serving searches and additions meanwhile. Until
        it is written the gallery counts as `modified`; if the write fails, as changed (its next save writes all of
        it). One save at a time: write it, or let it fail, before another `begin_save` or `save` of this gallery.

        Raises:
            GalleryError: `path` is a directory.
            PermissionError: the file there is read-only (`gallery_file.refuse_read_only`).
            RuntimeError: another save begun is not written yet.
        """
        path = self._save_target(path)
        pending = PendingSave(self, path, self._snapshot(prune), lock, overwrite, before_replace)
        self._dirty = False
        self._saving += 1
        return pending

    def _save_target(self, path: str | Path) -> Path:
        """The file a save of `path` writes, checked before anything is: its real path (a symbolic link's file is
        replaced; os.replace would replace the link itself), refused while a begun save is unwritten
        (`_refuse_second_save`), when it is a directory (else "this gallery never read it", or os.replace's
        IsADirectoryError), a pipe or device (`refuse_not_a_file`) or a read-only file (else replaced, whatever its
        mode)."""
        self._refuse_second_save(path)
        real = Path(os.path.realpath(Path(path).expanduser()))  # ("~/site.gallery": the home folder's, as configs')
        refuse_not_a_file(real)
        refuse_read_only(real)
        return real

    def _refuse_second_save(self, path: str | Path) -> None:
        """RuntimeError while a save `begin_save` began is not written yet: written after this one, its older
        snapshot would replace the newer file (no conflict: this gallery wrote that file), and the identities only
        this one held would be lost with the gallery no longer `modified`."""
        if self._saving:
            raise RuntimeError(
                f"cannot save the gallery to {path}: a save begun with begin_save is not written yet (call its "
                "PendingSave.write(), or wait for the thread that does, first)"
            )

    def _end_save(self, written: tuple[str, FileVersion] | None) -> None:
        """A `PendingSave` ended: it wrote the file `written`, or (None) failed and the gallery is changed again."""
        with self._guard:
            if written is None:
                self._dirty = True
            else:
                self._file = written
            self._saving -= 1

    @classmethod
    def load(
        cls,
        path: str | Path,
        config: GalleryConfig | None = None,
        model: ModelIdentity | None = None,
        prune: bool = True,
        leave_out: Collection[int] = (),
    ) -> Self:
        """Read a gallery file (and apply retention, unless `prune` is False).

        No lock is needed: files are only ever replaced whole (`save`: temp file + rename), so a read sees one
        complete version, never a half-written one, even while another process saves. This gallery remembers
        which version it read: its `save` refuses to write over a newer one.

        Args:
            path: a file written by `save` (a leading "~" is the home folder).
            config: retention, bounds and index settings to use now, the `gallery` section (`cfg.gallery`; None:
                defaults).
            model: the ReID model in use; a gallery made with another is refused.
            leave_out: global IDs not read (their records and rows skipped, the rows not checked): the identities
                a `GalleryBadPrototypeError` names, which `track gallery rm` removes and `ls` marks. The gallery
                then counts as changed (`modified`). Tracking never passes it.
        Raises:
            TypeError: `config` is not a `GalleryConfig` (the whole `TrackerConfig`: pass `cfg.gallery`), `model`
                not a `ModelIdentity`.
            ValueError: `config.prototypes` of `ID_STRIDE` (4096) or more (a config `load_config` did not check),
                before the file is read.
            FileNotFoundError: no such file.
            NotADirectoryError: a file stands where a folder of `path` should be (naming it).
            OSError: the file cannot be read (PermissionError: no read permission).
            GalleryError: `path` is a directory, a named pipe or a device, not a gallery file, truncated or corrupt
                (the file is left as it is), or a newer format version.
            GalleryBadPrototypeError: a prototype row NaN, inf or all zeros (naming the first's identity and row;
                `identities`: every identity with one) of an identity not in `leave_out`. (Rows off unit norm, a
                hand-made file's, are read normalised.)
            GalleryModelError: made with another ReID model.
        """
        check_config(config)  # (before reading: a wrong one must not be reported as a corrupt file)
        path = Path(path).expanduser()  # ("~/site.gallery": the home folder's, as a config path's)
        refuse_not_a_file(path)
        refuse_under_a_file(path)
        with path.open("rb") as file:  # the version and the bytes of one file, even if it is replaced meanwhile
            version = version_of(os.fstat(file.fileno()))
            blob = file.read()
        tensors, header = gallery_format.decode(blob, path)
        try:
            gallery = cls._from_parts(tensors, header, config, leave_out)
        except GalleryBadPrototypeError as exc:  # (NaN in a hand-made file's looks: never matched, no word)
            bad = f"{path} cannot be used: {exc}{gallery_format.DAMAGED}"
            raise GalleryBadPrototypeError(bad, exc.identities) from None
        except (KeyError, TypeError, ValueError) as exc:
            bad = f"{path} is corrupt: a bad record in its header ({exc})"
            raise GalleryError(bad + gallery_format.DAMAGED) from None
        gallery._file = (os.path.realpath(path), version)  # (first: a model refused names the file)
        if model is not None:
            gallery.bind_model(model)
        if prune:
            gallery.prune()
        gallery._dirty = bool(leave_out)  # (identities of the file left out: it is not the file's gallery)
        return gallery

    @classmethod
    def _from_parts(
        cls,
        tensors: dict[str, np.ndarray],
        header: dict[str, Any],
        config: GalleryConfig | None,
        leave_out: Collection[int] = (),
    ) -> Self:
        gallery = cls(config, gallery_format.read_model(header))
        gallery_format.check_width(gallery.model, tensors["prototypes"])
        gallery._identities.update(gallery_format.read_identities(tensors, header, leave_out))
        gallery._next_id = max([int(header["next_id"]), *(g + 1 for g in gallery._identities)])
        gallery._class_names = gallery_format.read_class_names(header)
        gallery._linked = read_sources(header)
        return gallery


class PendingSave:
    """A save `Gallery.begin_save` began: a snapshot of the gallery, written to its file by `write`, once, from any
    thread."""

    def __init__(
        self, gallery: GalleryFiles, path: Path, snapshot: gallery_format.Snapshot, lock: bool, overwrite: bool,
        before_replace: Callable[[FileVersion], None] | None = None,
    ) -> None:  # fmt: skip
        self.gallery, self.path, self.snapshot = gallery, path, snapshot
        self._lock, self._overwrite, self._written = lock, overwrite, False
        self._before_replace = before_replace  # (`Gallery.begin_save`)
        self._abandon = threading.Event()  # set by `abandon`, from another thread than the writer's

    def write(self) -> None:
        """Write the snapshot as `Gallery.save` writes a gallery: under the file's lock (unless begun with
        `lock=False`: the caller holds it), refused when the file there is not the one the gallery last read or
        wrote (unless `overwrite`), into a temp file renamed over the file. The gallery's own lock is held only
        to read and record which file it last wrote, so it goes on serving meanwhile.

        Raises:
            RuntimeError: written already. GalleryConflictError: the file changed since the gallery read or wrote
            it. FolderInUse: another process holds the file's lock. OSError: the folder cannot be written.
            SaveAbandoned: `abandon` was called. After any error nothing is written (no temp file is left) and the
            gallery counts as changed.
        """
        if self._written:
            raise RuntimeError(f"this save of {self.path} was written already")
        self._written = True
        written = None
        try:
            written = _write_file(
                self.path, self.gallery.file, self._lock, self._overwrite, lambda: self.snapshot,
                self._before_replace, self._abandon,
            )  # fmt: skip
        finally:
            self.gallery._end_save(written)

    def abandon(self) -> None:
        """Ask the `write` under way in another thread (or the one to come) to stop before it replaces the file:
        it raises `SaveAbandoned` at its next step (before it writes, or once the bytes are in its temp file), the
        file left as it was. Once its fsync and rename have begun it completes. Wait for that thread to end before
        letting the file's lock go: this only asks."""
        self._abandon.set()


def _write_file(
    path: Path,
    last: tuple[str, FileVersion] | None,
    lock: bool,
    overwrite: bool,
    snapshot: Callable[[], gallery_format.Snapshot],
    before_replace: Callable[[FileVersion], None] | None = None,
    abandon: threading.Event | None = None,
) -> tuple[str, FileVersion]:
    """A save's steps, shared by `Gallery.save` and `PendingSave.write`: under the file's lock (unless `lock` is
    False: the caller holds it; a missing folder is made first, so two first saves into it race for the lock), the
    conflict check against the file the gallery last read or wrote (`last`, unless `overwrite`), the removal of
    interrupted saves' temp files, and the atomic write of `snapshot()` (taken inside the lock), calling
    `before_replace` just before its rename and stopped when `abandon` is set (`write_atomic`). Returns the file
    written: (real path, version). Raises what `Gallery.save` documents (and SaveAbandoned)."""
    from tracker.io.lock import gallery_lock

    if lock:
        make_folder(path)
    with gallery_lock(path, option="path") if lock else contextlib.nullcontext():
        if not overwrite:
            check_unchanged(path, last)
        remove_interrupted_saves(path)
        write_atomic(path, functools.partial(gallery_format.write, snapshot=snapshot()), abandon, before_replace)
        return os.path.realpath(path), version_of(os.stat(path))  # (the file just written)
