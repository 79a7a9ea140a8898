"""What each kind of run leaves in its folder, and how one kind's folder is told from another's: a `track` run's (its
config.yaml), a `track eval` / `track compare` run's (its tables, its mark), a `track batch` run's (`batch.json` in each
video's folder). Light on purpose (no numpy, torch or OpenCV): `track batch` checks its --out with these before it
imports any of them (a batch of missing sources fails without importing torch)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = [
    "BATCH_NOTE_NAME",
    "CONFIG_NAME",
    "EVAL_MARK_NAME",
    "EVAL_RUN_FILES",
    "PARTIAL_SUFFIX",
    "batch_video_folder",
    "refuse_gallery_in_batch_folder",
    "refuse_out_in_batch_folder",
    "refuse_out_in_batch_partial",
]

CONFIG_NAME = "config.yaml"  # the config a run tracked with, one for its folder (`track SOURCE --config` reads it)
# what `track eval` and `track compare` write into their --out first, atomically (tracker.eval.cli): their folder is
# told from a `track` run's from the start, also when they stop before their tables
EVAL_MARK_NAME = ".track-eval.json"
# what they write into it (their tables, their variants' list, the mark), the one named first in a refusal
EVAL_RUN_FILES = ("metrics.csv", "compare.csv", "variants.json", EVAL_MARK_NAME)
BATCH_NOTE_NAME = "batch.json"  # in each video's folder of a `track batch` run: what made its outputs
PARTIAL_SUFFIX = ".partial"  # out/.<name>.partial/: a batch video's outputs while its task runs (renamed at its end)


def batch_video_folder(out: Path) -> Path | None:
    """A folder of `out` holding a batch's note (`BATCH_NOTE_NAME`): `out` is a `track batch` run's, else None."""
    try:
        folders = sorted(path for path in out.iterdir() if path.is_dir())
    except OSError:  # (no folder yet, or not one: the run's own checks name it)
        return None
    return next((path for path in folders if (path / BATCH_NOTE_NAME).is_file()), None)


def refuse_gallery_in_batch_folder(gallery: Path) -> None:
    """Refuse a `track --gallery` file inside a video's folder of a `track batch` run (a folder above it, links
    resolved, holds `BATCH_NOTE_NAME`): the batch's re-run replaces that folder whole, and the gallery went with it.
    `track batch` refuses a gallery in its own videos' folders (`tracker.batch`); in the batch's `--out` beside them,
    or anywhere else, it is left alone.

    Raises:
        ValueError: naming the gallery, the video's folder and where to keep the gallery instead.
    """
    shown = _video_folder_above(gallery, itself=False)
    if shown is None:
        return
    raise ValueError(
        f"--gallery {gallery} is in {shown}, a video's folder of a `track batch` run (its {BATCH_NOTE_NAME}), which "
        "the batch's re-run replaces whole, the gallery with it: keep the gallery outside the batch's videos' "
        "folders (beside them in its --out, or elsewhere)"
    )


def refuse_out_in_batch_folder(out: Path) -> None:
    """Refuse a `track --out` that is a video's folder of a `track batch` run, or a folder in one (it or a folder
    above it, links resolved, holds `BATCH_NOTE_NAME`): the run's files went in beside the video's (its summary.json
    and config.yaml replaced), the batch's re-run reused the folder as its own, and one after a config change
    replaced it whole, the run's outputs with it. `track batch` and `track eval` refuse such a folder (its
    config.yaml); the batch's `--out` itself is refused by `batch_video_folder`'s check.

    Raises:
        ValueError: naming `out`, the video's folder (as given) and where to write instead.
    """
    shown = _video_folder_above(out, itself=True)
    if shown is None:
        return
    raise ValueError(
        f"--out {out} is in {shown}, a video's folder of a `track batch` run (its {BATCH_NOTE_NAME}), which the "
        "batch's re-run replaces whole, this run's outputs with it: choose another --out, outside the batch's videos' "
        "folders (beside them in its --out, or elsewhere)"
    )


def refuse_out_in_batch_partial(out: Path) -> None:
    """Refuse a `track --out` that is a `track batch` video's partial folder (`.<name>.partial/`, which its task
    writes and renames to `<name>/` when the video ends), a folder in one (links resolved), or a folder holding one
    (the `--out` of a batch): one there is a batch's that was killed (SIGKILL: nothing removed it) or still runs.
    Its files are cut short and no `batch.json` marks it yet, so a `track` run took it as its own: into the partial
    folder (exit 0, the batch's files beside its own, all deleted by the batch's re-run), or beside it.

    Raises:
        ValueError: naming `out`, the partial folder and what to do instead (also for `--resume`: no `track` run
            of its own is there to resume).
    """
    real = Path(os.path.realpath(out))
    inside = next((p for p in (real, *real.parents) if _is_partial_folder(p)), None)
    if inside is not None:
        raise ValueError(
            f"--out {out} is in {inside}, the unfinished outputs of a `track batch` video (a batch killed, or still "
            f"running, before the video ended): its files are cut short, and the batch's re-run into "
            f"{inside.parent} deletes that folder and tracks the video again; choose another --out, outside it"
        )
    try:
        held = sorted(path for path in out.iterdir() if _is_partial_folder(path))
    except OSError:  # (no folder yet, or not one: the run's own checks name it)
        return
    if held:
        raise ValueError(
            f"{out} holds {held[0].name}/, the unfinished outputs of a `track batch` run into it (killed, or still "
            "running, before that video ended): re-run the batch into it (it tracks those videos again), or choose "
            "another --out (this run's files would mix with the batch's)"
        )


def _is_partial_folder(path: Path) -> bool:
    """Whether `path` is a folder named as a `track batch` video's partial folder (`.<name>.partial`)."""
    name = path.name
    return (
        name.startswith(".") and name.endswith(PARTIAL_SUFFIX) and len(name) > len(PARTIAL_SUFFIX) + 1 and path.is_dir()
    )


def _video_folder_above(path: Path, itself: bool) -> Path | None:
    """The video's folder of a `track batch` run (it holds `BATCH_NOTE_NAME`) that `path` is in (or is, where
    `itself`), links resolved; named as the path given names it where it passes through it, else by its real path.
    None: no such folder."""
    real = Path(os.path.realpath(path))
    folder = next(
        (p for p in ((real, *real.parents) if itself else real.parents) if (p / BATCH_NOTE_NAME).is_file()), None
    )
    if folder is None:
        return None
    given = (path, *path.parents) if itself else tuple(path.parents)
    return next((above for above in given if os.path.realpath(above) == str(folder)), folder)
