"""The identity gallery of a `track --gallery` run: opened before the first frame, saved while it runs, and on
`--resume` checked against the file another run may have saved since.

`open_gallery` loads the file (or starts a new gallery), refusing before any frame one that could not be saved;
`GallerySaver` writes it back when it changed (every `gallery.save_every_seconds` in a background thread while the
loop goes on; after each source and at the end before it returns) and, in a run that can be resumed, records which
file it left (`GALLERY_RECORD_NAME`), which `check_gallery_unchanged` compares with the file there now before a
resume writes over it.

The record is written twice a save, atomically each time: just before the save renames its temp file over the
gallery, naming the file there and the one the rename will leave ("pending": the temp file's version, which the
rename keeps), and once it has, naming that one alone. A run killed at any point of a save thus left a record that
names the file at the path (the old one before the rename, the pending one after), and a file that is neither was
saved by another run.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import shlex
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tracker.background_job import BackgroundJob
from tracker.config import TrackerConfig
from tracker.gallery import Gallery, GalleryConflictError, SaveAbandoned
from tracker.gallery_file import (
    FileVersion,
    check_saveable,
    file_version,
    names_another_file,
    written_by_another,
)
from tracker.gallery_save import PendingSave
from tracker.gallery_sources import refuse_linked, source_keys
from tracker.io.strict_json import write_json_atomic
from tracker.model_setup import require_gallery_appearance
from tracker.resume import GALLERY_RECORD_NAME, ResumeError

__all__ = [
    "GallerySaver",
    "LinkedSources",
    "RecordNotWritten",
    "check_gallery_unchanged",
    "open_gallery",
    "recorded_versions",
]

log = logging.getLogger(__name__)

SAVE_THREAD_NAME = "gallery-save"  # the worker thread of the periodic saves (`GallerySaver`)
ABANDONING_INTERRUPT = 2  # the interrupt (Ctrl-C) during `GallerySaver.save`'s wait that abandons the background save


def open_gallery(path: Path | None, cfg: TrackerConfig) -> Gallery | None:
    """The gallery at `path` (checked, retention applied), a new one when the file does not exist yet, or None."""
    if path is None:
        return None
    require_gallery_appearance(cfg)
    check_saveable(path)  # before any frame: a gallery that cannot be saved was found only at the run's end
    if path.exists():
        return Gallery.load(path, cfg.gallery)
    return Gallery(cfg.gallery)


class LinkedSources:
    """Which of a `track --gallery` run's sources the gallery records as linked (`tracker.gallery_sources`).

    Made before any frame: a new run (not a resume, which goes on from its checkpoint's gallery, its source recorded
    there) is refused with one error (`SourceLinkedError`) when the gallery holds the sightings of one of its sources
    already, or a source comes twice, unless `relink`. Each source is recorded as it starts (`started`: a save during
    it, or after an interrupt, already holds part of its sightings) and again at its end with its frames
    (`finished`), or, when its run stopped before its end (`--max-frames`, Ctrl-C), with the frames it tracked
    (`stopped`). Streams (webcams, URLs) have no key and are not recorded.
    """

    def __init__(
        self, gallery: Gallery | None, path: Path | None, names: tuple[str, ...], relink: bool, resumed: bool
    ) -> None:
        self.gallery, self.names = gallery, names
        self.again = relink and not resumed  # (a resume goes on with the link its run began)
        keyed = [source_keys(name) if gallery is not None else (None, None) for name in names]
        self.keys, self.heads = [key for key, _ in keyed], [head for _, head in keyed]
        if gallery is not None and path is not None and not relink and not resumed:
            sources = list(zip(names, self.keys, strict=True))
            # (`--resume` goes on with one source's run: not a way on for a run of several)
            refuse_linked(gallery.sources, sources, path, resumable=len(names) == 1, heads=self.heads)

    def started(self, index: int) -> None:
        """Record source `index` as linked, not finished yet (before its first frame)."""
        key = self.keys[index]
        if self.gallery is not None and key is not None:
            self.gallery.record_source(key, self.names[index], again=self.again, head=self.heads[index])

    def stopped(self, index: int, frames: int) -> None:
        """Record source `index` as stopped before its end after its first `frames` frames (`--max-frames`, Ctrl-C,
        an error; after its people in view were stored): `--resume` goes on with it, a new run is refused."""
        key = self.keys[index]
        if self.gallery is not None and key is not None:
            self.gallery.record_source(key, self.names[index], tracked=frames)

    def finished(self, index: int, frames: int) -> None:
        """Record source `index` as tracked to its end, `frames` frames (after its people in view were stored)."""
        key = self.keys[index]
        if self.gallery is not None and key is not None:
            self.gallery.record_source(key, self.names[index], frames)


def check_gallery_unchanged(gallery: Path, out: Path, at_checkpoint: tuple[str, FileVersion] | None) -> None:
    """Refuse (`ResumeError`, before anything is written) to resume a run whose gallery file another run saved
    after this one stopped: the resumed run continues from the gallery of its checkpoint and writes it over the
    file, which would drop the other run's identities. The files this run may have left are the ones in its record
    (`GALLERY_RECORD_NAME`, written before and after the rename of each of its saves: `recorded_versions`), else
    the one its checkpoint's gallery last read or wrote (`at_checkpoint`, `Gallery.file`: no save since)."""
    record = out / GALLERY_RECORD_NAME
    try:
        left = recorded_versions(json.loads(record.read_text()))
    except FileNotFoundError:
        same = at_checkpoint is not None and at_checkpoint[0] == os.path.realpath(gallery)
        version = at_checkpoint[1] if at_checkpoint is not None and same else None
        left = [None if version is None else list(version)]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ResumeError(f"{record} cannot be read ({exc}): resuming could overwrite another run's gallery") from None
    now = file_version(gallery)
    if (None if now is None else list(now)) in left:
        return
    if now is None:  # deleted on purpose, maybe (it holds biometric-like data): not written back unasked
        raise ResumeError(
            f"the gallery {gallery} was removed after the run in {out} stopped; resuming would write it again from "
            "this run's checkpoint, with the identities it held then: put the file back, or start a new run instead "
            "(without --resume)"
        )
    raise ResumeError(
        f"the gallery {gallery} was saved by another run after the run in {out} stopped; resuming would replace it "
        "with this run's checkpoint and lose that run's identities: start a new run instead (without --resume)"
    )


def recorded_versions(record: dict[str, Any]) -> list[list[int] | None]:
    """The gallery files a run's record (`GallerySaver._write_record`, read from JSON) names as the run's own: the
    file it left ("version"; None: none), and, when a save was about to replace it, the file that save's rename
    leaves ("pending": the run may have been killed after the rename, before the record of it). A record written
    without "pending" (after a save, or by an earlier version of `track`) names the first alone.

    Raises:
        KeyError, TypeError: not such a record.
    """
    left = record["version"]  # (first: a record that is no JSON object fails here, with a TypeError)
    pending = record.get("pending")
    return [left, *([] if pending is None else [pending])]


class RecordNotWritten(OSError):
    """A save replaced the gallery file, but the run's record of it (`GALLERY_RECORD_NAME`) could not be written
    after: the gallery is saved (the record written before the rename names it as pending)."""


class GallerySaver:
    """Writes the gallery back when it changed: at most every `every` seconds from the loop, and on demand.

    A periodic save (`maybe_save`) takes a snapshot of the gallery in the loop (~5 ms at 20 000 identities) and
    writes it in one background thread while the loop goes on (a synchronous save of 20 000 identities stopped it
    for 1.5-5 s); at most one is under way. `save` (after each source, at the end, on an error or a stop) waits
    for it and writes synchronously: the file is complete when it returns, and no thread is left running.
    The run holds the file's lock (`gallery_lock`) from its load to its last save, so `save` returns or raises
    only once no background save runs: Ctrl-C while it waits lets the save finish (logged), and is raised then; a
    second one abandons it (the file keeps the version it had; this saver writes nothing more).
    A resumed run (`resumed`) continues from the gallery saved with its checkpoint, which replaces the file its own
    run wrote after that (the file found at the start; one another program puts there later is a conflict).
    With `record` (a run that can be resumed), which file is at the path is written there before each save's rename
    (with the file the rename leaves) and after it, so that a resume can tell the file its own run left, even one
    killed mid-save, from another run's save (`check_gallery_unchanged`). `notify` receives what an interrupt while
    `save` waits does (None: logged as warnings; `track` prints its notes).
    With `aside` (the run's output folder), a save that finds the file written by another program since the run
    read it (a copy or a restore that did not wait for the lock) writes the gallery into that folder instead
    (`<name>.unmerged<suffix>`, and every save after it), leaving the other file as it is, and raises a
    `GalleryConflictError` that says how to merge the two: neither side's identities are lost.
    """

    def __init__(
        self, gallery: Gallery | None, path: Path | None, every: float, resumed: bool = False,
        record: Path | None = None, notify: Callable[[str], None] | None = None, aside: Path | None = None,
    ) -> None:  # fmt: skip
        self.gallery, self.path, self.every, self.resumed, self.record = gallery, path, every, resumed, record
        self.aside = aside  # the folder a gallery another program wrote over meanwhile is saved into instead
        self._diverted: Path | None = None  # where the saves go since such a conflict (None: to `path`)
        self._notify = notify or log.warning
        self._last = time.monotonic()  # when the last save ended
        self._job = BackgroundJob(SAVE_THREAD_NAME)
        self._pending: PendingSave | None = None  # the background save started last
        self._abandoned = False  # a second interrupt abandoned a background save: no save after it
        self._before = None if path is None else file_version(path)  # the file this run found (None: no file)
        self._failed: list[str] = []  # the periodic saves that failed since `take_failed` (their error lines)
        # set by the run while a source's people in view are not stored yet (stored at its end: `Tracker.reset`)
        self.in_view_unstored = False

    @property
    def saving(self) -> bool:
        """Whether a periodic save is being written in the background now."""
        return self._job.running

    def maybe_save(self) -> None:
        """Called after each frame: start a background save when `every` seconds have passed since the last save
        ended and the gallery changed. A save that comes due while one is under way is skipped: the first frame
        after that one ends starts the next, with the gallery as it is then (never more than one in flight or due).

        A periodic save that fails (an OSError: a full disk, the folder read-only for a while) does not stop the
        run: the file is left as it was, the gallery still counts as changed, the next periodic save and `save`
        write it again; the first failure is said through `notify`, and `take_failed` gives them all.

        Raises:
            GalleryConflictError: another program wrote the file since this run read it (the last background save
                found that; with `aside`, the gallery was saved there instead). RecordNotWritten: the gallery was
                saved, its record for --resume not.
        """
        if self.gallery is None or self.path is None or self._abandoned or self._job.running:
            return
        self._take_outcome()
        if time.monotonic() - self._last >= self.every:
            if not (self.gallery.modified or not self._target.exists()):
                self._last = time.monotonic()
                return
            pending = self._pending = self.gallery.begin_save(
                self._target, lock=False, overwrite=self._overwrite, before_replace=self._before_replace
            )
            try:
                self._job.start(functools.partial(self._write, pending))
            except RuntimeError:  # no thread could be started: written here, as before
                try:
                    self._write(pending)
                except RecordNotWritten:
                    raise
                except OSError as exc:
                    self._periodic_failed(exc)
                self._last = time.monotonic()

    def save(self) -> None:
        """Write the gallery to its file when it changed or the file is not there yet (and the record after it),
        once the background save under way, if any, has ended: complete on return.

        An interrupt (KeyboardInterrupt) while it waits for the background save does not end the wait (the caller
        lets the file's lock go when this returns or raises): the save is finished, and the interrupt raised after
        it; a second one abandons the save (`PendingSave.abandon`: the file keeps the version it had, no temp file
        is left) once it reaches its next step, and this saver writes nothing more (`save` returns at once).

        Raises:
            OSError: this save failed, naming the gallery file (which is left as it was; the gallery still counts as
                changed and the next `save` writes it); a periodic save that failed before is not raised, only
                counted (`take_failed`). GalleryConflictError: another program wrote the file meanwhile (with
                `aside`: this gallery was saved there instead, and the error names that file).
            KeyboardInterrupt: interrupted while it waited, raised once the background save ended.
        """
        if self.gallery is None or self.path is None or self._abandoned:
            return
        try:
            self._job.wait(on_interrupt=self._interrupted)
        finally:
            if self._abandoned:
                self._say_how_the_abandoned_save_ended()
        self._take_outcome()
        if self.gallery.modified or not self._target.exists():
            try:
                self.gallery.save(
                    self._target, lock=False, overwrite=self._overwrite, before_replace=self._before_replace
                )
            except OSError as exc:  # (its folder made read-only, a full disk): name the gallery, not a temp file
                raise self._failure(exc) from exc
            except GalleryConflictError as exc:
                raise self._saved_aside(exc) from exc
            self._record_saved()
        self._last = time.monotonic()

    def left_after_interrupt(self) -> str:
        """What an interrupt that stopped the run's saves left at the gallery's path, worded as `track gallery rm`'s
        interrupt is (`cli_gallery._edit_interrupted`), to follow "interrupted": saved with all the run's identities,
        as it was before the run, or as the run's last save left it; and, when the stop came before the people in
        view were stored (`in_view_unstored`: a second Ctrl-C), that they are not; "" without a gallery file."""
        if self.gallery is None or self.path is None:
            return ""
        now = file_version(self.path)
        in_view = "; the people in view at the stop were not stored" if self.in_view_unstored else ""
        if now is not None and not self.gallery.modified and self.gallery.file == (os.path.realpath(self.path), now):
            held = "this run's identities up to the stop" if in_view else "this run's identities"
            return f" once the gallery {self.path} was saved: it holds {held}{in_view}"
        if now == self._before:
            return f": nothing saved, the gallery {self.path} {'is as it was' if now else 'was not written'}"
        return f": the gallery {self.path} is as this run's last save left it, without the identities since{in_view}"

    def _interrupted(self, count: int) -> None:
        """The `count`-th interrupt while `save` waits for the background save: say it is being finished, or, at
        `ABANDONING_INTERRUPT`, abandon it."""
        if count < ABANDONING_INTERRUPT:
            self._notify(
                f"interrupted while the gallery {self.path} is being saved: finishing that save first (interrupt "
                "again to abandon it: the file then keeps the version it had)"
            )
        elif count == ABANDONING_INTERRUPT and self._pending is not None:
            self._abandoned = True
            self._pending.abandon()
            self._notify(f"abandoning the save of the gallery {self.path}: stopping once the save has stopped")

    def _say_how_the_abandoned_save_ended(self) -> None:
        """Once the save a second interrupt abandoned has ended: whether it stopped (the file keeps the version it
        had) or had begun replacing the file, past where it can stop (its fsync and rename), and completed."""
        outcome = self._job.take_outcome()
        if outcome is None:
            return
        error = outcome[1]
        if isinstance(error, SaveAbandoned):
            self._notify(
                f"the save of the gallery {self.path} was abandoned: the file keeps the version it had, without this "
                "run's changes since"
            )
        elif error is None:
            self._notify(
                f"too late to abandon the save of the gallery {self.path}: it was already replacing the file and "
                "completed (the file holds the gallery as that save took it)"
            )
        elif isinstance(error, RecordNotWritten):  # (saved, its record not: said as it is)
            self._notify(str(error))
        else:  # (it failed on its own before its rename: the file was left as it was)
            self._notify(f"the abandoned save of the gallery {self.path} failed ({error}): the file was left as it was")

    def _write(self, pending: PendingSave) -> None:
        """Write a background save and the record after it (in the worker thread); a failure is logged now."""
        try:
            pending.write()
            self._record_saved()
        except SaveAbandoned:  # (on request: said when asked)
            raise
        except RecordNotWritten as exc:  # (saved: said as it is, by the loop's thread, which raises it)
            log.info("%s", exc)
            raise
        except Exception as exc:
            # INFO: the loop's thread says it (`notify`, or raises it) and counts it at the next frame or save
            log.info("the gallery %s could not be saved in the background: %s", self.path, exc)
            raise

    @property
    def _overwrite(self) -> bool:
        """Whether a save may replace the file there whatever this gallery last read or wrote: in a resumed run, while
        the file is the one found at its start (its own run's last, `check_gallery_unchanged`), which its checkpoint's
        gallery goes on from; not one another program put there since (a copy, a restore), nor after its first save."""
        return self.resumed and self._diverted is None and file_version(self._target) == self._before

    @property
    def _file(self) -> Path:
        """The gallery file's path (`path`): only a saver of a file saves, records its saves or has them fail."""
        assert self.path is not None
        return self.path

    @property
    def _target(self) -> Path:
        """The file the saves write: the gallery's, or the one in `aside` since another program wrote that."""
        assert self.path is not None
        return self._diverted or self.path

    @property
    def _before_replace(self) -> Callable[[FileVersion], None] | None:
        """What a save calls just before its rename (`write_atomic`): the record of the file it will leave, when
        this saver keeps a record (and writes the gallery's own file)."""
        return None if self.record is None or self._diverted is not None else self._write_record

    def _saved_aside(self, conflict: GalleryConflictError) -> GalleryConflictError:
        """The error of a save refused because another program wrote the gallery file since this run read it:
        `conflict` itself without `aside`; else this gallery is saved into `aside` first (and every later save goes
        there), and the error names that file and the merge that joins the two.

        Raises:
            OSError: the gallery could not be saved into `aside` either (naming both files).
        """
        if self.aside is None or self.gallery is None or self.path is None or self._diverted is not None:
            return conflict
        target = _free_name(self.aside / f"{self.path.stem}.unmerged{self.path.suffix}")
        why = written_by_another(self.path, "while this run used it")
        try:
            self.gallery.save(target, lock=False)
        except (OSError, GalleryConflictError) as exc:
            said = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            raise OSError(f"{why}; this run's gallery could not be saved as {target} either: {said}") from exc
        self._diverted = target
        return GalleryConflictError(
            f"{why}: it is left as it is, and this run's gallery was saved as {target}; merge the two with "
            f"`track gallery merge {shlex.quote(str(self.path))} {shlex.quote(str(target))} -o "
            f"{shlex.quote(str(self.path))}`"
        )

    def _write_record(self, pending: FileVersion | None = None) -> None:
        """Record (atomically) which file is at the gallery's path now, and, with `pending`, the version of the file
        a save is about to rename over it (`recorded_versions` reads both): written before each save's rename and
        after it, so the record names the file at the path wherever a kill stops the save."""
        if self.record is not None:
            record: dict[str, Any] = {"gallery": str(self.path), "version": file_version(self._file)}
            if pending is not None:
                record["pending"] = pending
            write_json_atomic(self.record, record)

    def _record_saved(self) -> None:
        """The record after a save's rename (`_write_record`); a failure is `RecordNotWritten`: the gallery is saved,
        only its record is not (it was reported as a failed save, "the file was left as it was")."""
        try:
            self._write_record()
        except OSError as exc:
            raise RecordNotWritten(
                f"the gallery {self.path} was saved, but the record of it for --resume ({self.record}) could not be "
                f"written: {exc.strerror or exc}; the tracking outputs are kept"
            ) from exc

    def _take_outcome(self) -> None:
        """Take what became of the background save that ended (if one did): when, and its error, raised here."""
        outcome = self._job.take_outcome()
        if outcome is None:
            return
        self._last, error = outcome
        if isinstance(error, OSError) and not isinstance(error, RecordNotWritten):
            self._periodic_failed(error)
            return
        if isinstance(error, GalleryConflictError):
            raise self._saved_aside(error) from error
        if error is not None:
            raise error

    @property
    def failed(self) -> list[str]:
        """The periodic saves that failed since the last `take_failed` (each one's line), in order; a copy."""
        return list(self._failed)

    def take_failed(self) -> list[str]:
        """The periodic saves that failed since the last call (each one's line, naming the gallery and the cause),
        in order; the list is emptied."""
        failed, self._failed = self._failed, []
        return failed

    def _periodic_failed(self, exc: OSError) -> None:
        """Count a periodic save that failed (`exc`) and say the first one: the run goes on, the file is as it was,
        and the next save writes the gallery again."""
        where = f" ({exc.filename})" if names_another_file(exc, self._file) else ""
        said = f"the gallery {self.path} could not be saved: {exc.strerror or exc}{where}"
        if not self._failed:
            self._notify(
                f"{said}; the file was left as it was and the run goes on: the next periodic save (every "
                f"{self.every:g} s) and the run's last save write it again"
            )
        self._failed.append(said)

    def _failure(self, exc: OSError) -> OSError:
        """The error of a save that failed: naming the gallery file, not a temp file, and what is kept."""
        where = f" ({exc.filename})" if names_another_file(exc, self._file) else ""
        return OSError(
            f"the gallery {self.path} could not be saved: {exc.strerror or exc}{where}; the file was left as it "
            "was and the tracking outputs are kept"
        )


def _free_name(path: Path) -> Path:
    """`path`, or the first of `<stem>-2<suffix>`, `<stem>-3<suffix>`, ... that is not there (an earlier run's file
    into the same folder is kept)."""
    candidate, n = path, 1
    while candidate.exists() or candidate.is_symlink():
        n += 1
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
    return candidate
