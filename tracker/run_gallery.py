"""The identity gallery of a `track --gallery` run: opened before the first frame, saved while it runs, and on
`--resume` checked against the file another run may have saved since.

`open_gallery` loads the file (or starts a new gallery), refusing before any frame one that could not be saved;
`GallerySaver` writes it back when it changed (every `gallery.save_every_seconds`, after each source, at the end)
and, in a run that can be resumed, records which file it left (`GALLERY_RECORD_NAME`), which
`check_gallery_unchanged` compares with the file there now before a resume writes over it.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from tracker.config import TrackerConfig
from tracker.gallery import Gallery
from tracker.gallery_file import FileVersion, check_saveable, file_version
from tracker.io.strict_json import write_json_atomic
from tracker.pipeline import require_gallery_appearance
from tracker.resume import GALLERY_RECORD_NAME, ResumeError

__all__ = ["GallerySaver", "check_gallery_unchanged", "open_gallery"]


def open_gallery(path: Path | None, cfg: TrackerConfig) -> Gallery | None:
    """The gallery at `path` (checked, retention applied), a new one when the file does not exist yet, or None."""
    if path is None:
        return None
    require_gallery_appearance(cfg)
    check_saveable(path)  # before any frame: a gallery that cannot be saved was found only at the run's end
    if path.exists():
        return Gallery.load(path, cfg.gallery)
    return Gallery(cfg.gallery)


def check_gallery_unchanged(gallery: Path, out: Path, at_checkpoint: tuple[str, FileVersion] | None) -> None:
    """Refuse (`ResumeError`, before anything is written) to resume a run whose gallery file another run saved
    after this one stopped: the resumed run continues from the gallery of its checkpoint and writes it over the
    file, which would drop the other run's identities. The file this run left is the one in its record
    (`GALLERY_RECORD_NAME`, written after each of its saves), else the one its checkpoint's gallery last read or
    wrote (`at_checkpoint`, `Gallery.file`: no save since)."""
    record = out / GALLERY_RECORD_NAME
    try:
        left = json.loads(record.read_text())["version"]
    except FileNotFoundError:
        same = at_checkpoint is not None and at_checkpoint[0] == os.path.realpath(gallery)
        left = list(at_checkpoint[1]) if same and at_checkpoint[1] is not None else None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ResumeError(f"{record} cannot be read ({exc}): resuming could overwrite another run's gallery") from None
    now = file_version(gallery)
    if left != (None if now is None else list(now)):
        raise ResumeError(
            f"the gallery {gallery} was {'removed' if now is None else 'saved by another run'} after the run in {out} "
            "stopped; resuming would replace it with this run's checkpoint and lose that run's identities: start a "
            "new run instead (without --resume)"
        )


class GallerySaver:
    """Writes the gallery back when it changed: at most every `every` seconds from the loop, and on demand.

    The run holds the file's lock (`gallery_lock`) from its load to its last save. A resumed run (`resumed`)
    continues from the gallery saved with its checkpoint, which replaces the file its own run wrote after that.
    With `record` (a run that can be resumed), which file is at the path after each save is written there, so that
    a resume can tell the file its own run left from another run's save (`check_gallery_unchanged`).
    """

    def __init__(
        self, gallery: Gallery | None, path: Path | None, every: float, resumed: bool = False,
        record: Path | None = None,
    ) -> None:  # fmt: skip
        self.gallery, self.path, self.every, self.resumed, self.record = gallery, path, every, resumed, record
        self._last = time.monotonic()

    def maybe_save(self) -> None:
        """Save (`save`) when `every` seconds have passed since the last save; called after each frame."""
        if self.gallery is not None and time.monotonic() - self._last >= self.every:
            self.save()

    def save(self) -> None:
        """Write the gallery to its file when it changed or the file is not there yet (and the record after it).

        Raises:
            OSError: the save failed, naming the gallery file (which is left as it was).
        """
        if self.gallery is None or self.path is None:
            return
        if self.gallery.modified or not self.path.exists():
            try:
                self.gallery.save(self.path, lock=False, overwrite=self.resumed)
            except OSError as exc:  # (its folder made read-only, a full disk): name the gallery, not a temp file
                where = f" ({exc.filename})" if exc.filename else ""
                raise OSError(
                    f"the gallery {self.path} could not be saved: {exc.strerror or exc}{where}; the file is as it was "
                    "and the tracking outputs are kept"
                ) from exc
            if self.record is not None:
                write_json_atomic(self.record, {"gallery": str(self.path), "version": file_version(self.path)})
        self._last = time.monotonic()
