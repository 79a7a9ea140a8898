"""Where a `track` run writes: its run folder, its output files' names, and the files themselves.

`next_run_dir` claims a new run folder (`runs/track/<name>`, `<name>2`, ...), `newest_run_dir` finds the last
one (`--resume` without `--out`). `RunOutputs` writes one source's `<name>.txt` (MOTChallenge), `<name>.jsonl`
and `<name>.mp4`, and the folder's `config.yaml` (the config the run tracked with), created when its first frame
arrives. `check_output_paths` refuses an output folder where an output would replace a file being read, or where a
folder has an output's name. `naming_file` makes a failed write (a full disk) name the file it was writing.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import cast

import numpy as np

from tracker.config import TrackerConfig, config_to_yaml
from tracker.file_errors import naming
from tracker.io.jsonl import JsonlWriter
from tracker.io.mot import MotWriter, make_output_folder, unique_stem, write_text_atomic
from tracker.io.opencv_files import check_video_folder
from tracker.io.sources import FrameSource, SourceError
from tracker.io.video import VideoWriter
from tracker.resume import CHECKPOINT_NAME, GALLERY_RECORD_NAME, Progress, ResumeError, remove_checkpoint
from tracker.run_folders import (
    BATCH_NOTE_NAME,
    CONFIG_NAME,
    EVAL_RUN_FILES,
    batch_video_folder,
    refuse_out_in_batch_folder,
    refuse_out_in_batch_partial,
)
from tracker.run_summary import SUMMARY_NAME
from tracker.types import TrackedObject

__all__ = [
    "DEFAULT_RUNS_DIR",
    "FULL_DISK_HINT",
    "RunOutputs",
    "check_output_paths",
    "disk_full",
    "naming_file",
    "newest_run_dir",
    "next_run_dir",
    "same_files",
    "source_files",
    "summary_name",
]


DEFAULT_RUNS_DIR = Path("runs") / "track"  # run folders when no --out is given: `<name>`, `<name>2`, ...
_FULL = (errno.ENOSPC, errno.EDQUOT)  # a disk (or the user's quota) that is full: space is what the user can change
FULL_DISK_HINT = " (the disk is full: free some space, or choose another --out)"  # ends the error of a full disk
CONFIG_HEADER = (
    "# The config this run tracked with: the YAML file, the --set overrides and any ReID fallback applied.\n"
    "# `track SOURCE --config config.yaml` tracks with the same config.\n"
)


def naming_file(path: Path) -> AbstractContextManager[None]:
    """An OSError inside the block that names no file (a write, flush or fsync on a full disk said only "[Errno 28]
    No space left on device", whatever the output) is raised again, of the same type and errno, as one line naming
    `path`: "cannot write out/cam.jsonl: No space left on device (the disk is full: free some space, or choose
    another --out)". One that names another file goes on as it is, and so does one a `naming_file` inside it said
    (the txt a checkpoint syncs: named once, not "cannot write checkpoint.bin: cannot write cam.txt: ...")."""
    return naming(path, lambda exc: _cannot_write(path, exc))


def _cannot_write(path: Path, exc: OSError) -> OSError:
    """`naming_file`'s error for `exc`, a write of `path` that failed."""
    hint = FULL_DISK_HINT if disk_full(exc) else ""
    named = type(exc)(f"cannot write {path}: {exc.strerror}{hint}")
    named.errno = exc.errno  # (not strerror: with both set, str() is "[Errno 28] ..." again)
    return named


def disk_full(exc: OSError) -> bool:
    """Whether `exc` is a full disk (or the user's full quota), as `naming_file` says of it."""
    return exc.errno in _FULL


def next_run_dir(base: Path, name: str) -> Path:
    """`base/name`, or `base/name2`, `base/name3`, ... : never an existing folder. The folder is created here
    (claimed: two runs started together never share one); a run that writes nothing removes it again.

    Raises:
        OSError: `base` cannot be created, naming it as the output folder.
    """
    make_output_folder(base, option="--out")  # (the default runs/track: in the current folder)
    n = 1
    while True:
        candidate = _run_dir(base, name, n)
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            n += 1


def newest_run_dir(base: Path, name: str) -> Path | None:
    """The last of `base/name`, `base/name2`, ... that exists and holds outputs of `name` (the newest run
    `next_run_dir` made for it: `cam12` may be the second run of `cam1` or a run of `cam12`), or None."""
    newest, n = None, 1
    while (candidate := _run_dir(base, name, n)).exists():
        if (candidate / f"{name}.jsonl").exists():
            newest = candidate
        n += 1
    return newest


def _run_dir(base: Path, name: str, n: int) -> Path:
    """The n-th run folder of `name` (from 1): `base/name`, `base/name2`, ..."""
    return base / (name if n == 1 else f"{name}{n}")


class RunOutputs:
    """`<name>.txt`, `<name>.jsonl`, `<name>.mp4` and `config.yaml` in `out_dir`, created when the first frame
    arrives: a source that never yields a frame leaves no files (and no folder) behind.

    `config`: the tracker's config, written as `config.yaml` (`config_to_yaml`); several sources of one run write
    the same file, as they track with one config. None: only the names are wanted (`check_output_paths`).
    `detector_ran_at`: (height, width) a fixed-size detector export ran at instead of `detector.image_size`
    (`tracker.detector.image_size_not_used`): said in a comment of `config.yaml`, whose keys stay the config asked
    (the one `--resume` checks, and that runs the same again with `--config`).
    `stride`: the source's (`FrameSource.stride`, `--vid-stride`): the video holds one frame per tracked frame, source
    frame n at position (n - 1) // stride + 1.
    """

    def __init__(
        self,
        out_dir: Path,
        name: str,
        video_rate: float | None,
        summary_name: str = SUMMARY_NAME,
        sources: Sequence[Path] = (),
        config: TrackerConfig | None = None,
        detector_ran_at: tuple[int, int] | None = None,
        stride: int = 1,
    ) -> None:
        self.out_dir = out_dir
        self._stride = stride
        self._ran_at = detector_ran_at
        self._sources = tuple(sources)  # the files read: never removed as an earlier run's output
        self.txt, self.jsonl_path, self.video_path = (out_dir / f"{name}{ext}" for ext in (".txt", ".jsonl", ".mp4"))
        self.summary_path = out_dir / summary_name
        self.config_path = out_dir / CONFIG_NAME
        self.paths = [self.txt, self.jsonl_path] + ([self.video_path] if video_rate is not None else [])
        self.paths += [self.config_path, self.summary_path]
        self._config = config
        self._video_rate = video_rate
        self._mot: MotWriter | None = None
        self._jsonl: JsonlWriter | None = None
        self._video: VideoWriter | None = None
        self._video_number = 0  # the position (`_position`) of the source frame the video's last frame shows
        self._last_canvas: np.ndarray | None = None

    def open(self, resume: Progress | None = None) -> None:
        """Create the files (`resume`: continue the txt and JSONL an earlier run left, cut to its checkpoint) and
        write `config.yaml` (atomically; a resume writes the same config again: its checkpoint's, checked). Files of
        an earlier run that this one would leave beside its own are removed: its summary (`summary.json` or
        `<name>.summary.json`, whether it tracked one source or several) and checkpoint (unless resumed; a run killed
        outright then is not taken for the earlier one, finished) and, without a video, its
        `<name>.mp4`.

        Raises:
            ResumeError: the earlier run's txt or JSONL is missing or shorter than its checkpoint says.
        """
        make_output_folder(self.out_dir, option="--out")
        txt_bytes, jsonl_bytes = (None, None) if resume is None else (resume.txt_bytes, resume.jsonl_bytes)
        if resume is None:  # an earlier run's summary would call the files replaced now finished if this run is killed
            for summary in self._earlier_summaries():
                summary.unlink(missing_ok=True)
        try:
            self._mot = MotWriter(self.txt, txt_bytes)  # `<name>.txt.partial`, flushed per frame, renamed on close
            self._jsonl = JsonlWriter(self.jsonl_path, jsonl_bytes)
        except (FileNotFoundError, ValueError) as exc:
            raise ResumeError(f"the outputs of the run being resumed differ from its checkpoint: {exc}") from None
        if self._config is not None:
            with naming_file(self.config_path):
                write_text_atomic(
                    self.config_path,
                    CONFIG_HEADER + self._ran_at_note() + config_to_yaml(self._config, absolute_paths=True),
                )
        if resume is None:  # this folder's outputs are replaced: an earlier run's checkpoint would resume onto them
            remove_checkpoint(self.out_dir / CHECKPOINT_NAME)  # (and its temp file; this run's comes after a frame)
        if self._video_rate is not None:
            self._video = VideoWriter(self.video_path, self._video_rate)
        elif self.video_path.exists() and not same_files([self.video_path], self._sources):
            self.video_path.unlink()  # not written by this run: an earlier run's video would not match this txt

    def _earlier_summaries(self) -> set[Path]:
        """The summaries of an earlier run that a new run here removes at its first frame: `<name>.summary.json` (of
        this source, one of several) and `summary.json` (the folder's one-source run: as its checkpoint.bin, whatever
        source it was of), whether this run tracks one source or several. A run of several sources killed in the
        folder of a finished one-source run left that run's summary.json beside its cut outputs, and `--resume`
        said "finished: nothing to resume"."""
        stem = self.txt.stem
        return {self.summary_path, self.out_dir / summary_name(stem, False), self.out_dir / summary_name(stem, True)}

    def _ran_at_note(self) -> str:
        """config.yaml's comment for a detector that did not run at `detector.image_size` ("" where it did)."""
        if self._ran_at is None or self._config is None:
            return ""
        height, width = self._ran_at
        asked = self._config.detector.image_size
        return (
            f"# detector.image_size {asked} was not used: detector.model is an export of a fixed size, which ran at "
            f"{height}x{width}\n# (and does again with this file; summary.json: detector_ran_at).\n"
        )

    def sync(self) -> tuple[int, int]:
        """Make the txt and JSONL rows written so far durable; returns their lengths (bytes)."""
        assert self._mot is not None and self._jsonl is not None, "no frame written yet"
        with naming_file(self.txt):
            self._mot.sync()
        with naming_file(self.jsonl_path):
            return self._mot.bytes_written, self._jsonl.sync()

    def write(self, number: int, objects: list[TrackedObject], local: list[TrackedObject] | None = None) -> None:
        """One frame: `objects` (the IDs shown: global ones with a gallery) to the MOT txt, `local` (the source's
        own track IDs, with `global_id`) to the JSONL."""
        if self._mot is None:
            self.open()
        mot, jsonl = cast(MotWriter, self._mot), cast(JsonlWriter, self._jsonl)  # (`open` made both)
        with naming_file(self.txt):
            mot.write(number, objects)
        with naming_file(self.jsonl_path):
            jsonl.write(number, objects if local is None else local)

    @property
    def opened(self) -> bool:
        """The first frame arrived and the files exist."""
        return self._mot is not None

    def write_video(self, number: int, canvas: np.ndarray) -> None:
        """Source frame `number`, annotated: `canvas` an (H, W, 3) uint8 BGR image of the video's size
        (`tracker.io.video.Annotator.draw`). The positions skipped since the last one (unreadable frames) are filled
        first, with the last canvas (black before the first), so video frame n is source frame n, as in the txt
        (with a stride, the n-th frame the stride keeps)."""
        if self._video is None:
            return
        number = self._position(number)
        for _ in range(self._video_number + 1, number):
            self._video.write(self._last_canvas if self._last_canvas is not None else np.zeros_like(canvas))
        self._video.write(canvas)
        self._video_number, self._last_canvas = number, canvas

    def finish_video(self, last: int) -> None:
        """Fill the video up to source frame `last` with the last canvas: unreadable frames at the source's end
        (the last images of a folder) had no video frame, so the video was shorter than the source."""
        if self._video is None or self._last_canvas is None:
            return
        last = self._position(last)
        for _ in range(self._video_number + 1, last + 1):
            self._video.write(self._last_canvas)
        self._video_number = max(self._video_number, last)

    def _position(self, number: int) -> int:
        """The video frame (from 1) that shows source frame `number`: the stride's frame kept at or before it."""
        return (number - 1) // self._stride + 1

    def close(self) -> None:
        """Close the files opened (the txt renamed into place); what was written stays. Each is closed even when
        another fails (a full disk failed the JSONL's last flush, and the video was left unreleased, unplayable).

        Raises:
            OSError: the first file that could not be closed, naming it.
        """
        failed: OSError | None = None
        for writer, path in ((self._mot, self.txt), (self._jsonl, self.jsonl_path), (self._video, self.video_path)):
            if writer is None:
                continue
            try:
                with naming_file(path):
                    writer.close()
            except OSError as exc:
                failed = failed or exc
        if failed is not None:
            raise failed


def check_output_paths(
    out: Path, names: Sequence[str], opened: dict[int, FrameSource], save_video: bool, gallery: Path | None = None
) -> None:
    """Refuse an output folder (an explicit, reused `--out`) where an output could not be written or would replace a
    source file, before anything is tracked: `track v/cam.mp4 --out v` wrote the annotated `cam.mp4` over the video
    it was reading (the video lost, the results cut short), and a folder named like an output (`cam.txt/`) failed the
    run only at its end, with a raw "[Errno 21] Is a directory" when the txt was renamed into place (every frame
    tracked for nothing). The stems are those the run gives its sources (streams, opened in their turn, are not
    files). A `gallery` file named like an output (`--gallery OUT/cam.txt`) is refused too: the run tracked every
    frame, then its gallery save failed at the end on the txt it had written there, naming `overwrite=True`.

    Raises:
        SourceError: an output would replace a source, naming it, the output file and what to do instead.
        IsADirectoryError: an output's name is taken by a folder, naming it and what to do.
        ValueError: `gallery` is one of the run's output files (the mp4 too with `--no-save-video`, which removes
            an earlier run's), naming it; `out` holds a `track eval` or `track compare` run (its summary.json would
            be replaced by this run's, and the folder would mix the two), or a `track batch` run (a folder of it
            holds `batch.json`), or is in a video's folder of one (`refuse_out_in_batch_folder`), or is, is in or
            holds a batch video's unfinished `.<name>.partial/` (`refuse_out_in_batch_partial`); with `save_video`,
            `out`'s path is not UTF-8 (OpenCV cannot write the video there: the run failed at its first frame).
    """
    refuse_out_in_batch_folder(out)
    refuse_out_in_batch_partial(out)
    if save_video:
        check_video_folder(out)
    evaluated = [name for name in EVAL_RUN_FILES if (out / name).is_file()]
    if evaluated:
        # a folder an eval was run into beside a stopped `track` run (allowed before): how that run can go on
        resume = (
            f"; to --resume the `track` run there, first move that run's {', '.join(evaluated)} and summary.json "
            "out of it"
            if (out / CHECKPOINT_NAME).is_file()
            else ""
        )
        raise ValueError(
            f"{out} holds a `track eval` or `track compare` run ({evaluated[0]}); choose another --out (this run's "
            f"summary.json would replace that run's){resume}"
        )
    batched = batch_video_folder(out)
    if batched is not None:  # (its next re-run into it refused the folder: it holds a `track` run's config.yaml)
        raise ValueError(
            f"{out} holds a `track batch` run ({batched.name}/{BATCH_NOTE_NAME}); choose another --out (this run's "
            "files would mix with the batch's videos' folders)"
        )
    stems: set[str] = set()
    written: list[Path] = [out / CHECKPOINT_NAME, out / GALLERY_RECORD_NAME]
    several = len(names) > 1
    for i, name in enumerate(names):
        source = opened.get(i)
        if source is None:
            continue
        stem = unique_stem(source.name, stems)
        outputs = RunOutputs(out, stem, 1.0 if save_video else None, summary_name(stem, several))  # (names only)
        paths = [*outputs.paths, out / CHECKPOINT_NAME]
        written += RunOutputs(out, stem, 1.0, outputs.summary_path.name).paths
        replaced = same_files(paths, source_files(source))
        if replaced:
            hint = " or --no-save-video" if replaced[0].suffix == ".mp4" else ""
            raise SourceError(f"{name}: the output {replaced[0]} would replace this source: choose another --out{hint}")
        folders = [path for path in paths if path.is_dir()]
        if folders:
            raise IsADirectoryError(
                f"{name}: the output {folders[0]} is a folder: a run writes a file there; move that folder, or "
                "choose another --out"
            )
    if gallery is not None:
        _check_gallery_path(gallery, written)


def _check_gallery_path(gallery: Path, outputs: Sequence[Path]) -> None:
    """ValueError when the gallery file is one of `outputs` (the same path once resolved, or the same file)."""
    target = os.path.realpath(gallery)
    taken = [path for path in outputs if os.path.realpath(path) == target] or same_files(outputs, [gallery])
    if taken:
        raise ValueError(
            f"--gallery {gallery} is the run's output {taken[0]}: one would replace the other; name a gallery "
            "file that is not an output (such as site.gallery)"
        )


def source_files(source: FrameSource) -> tuple[Path, ...]:
    """The files a source reads (a video's, or its images)."""
    return source.files or ((source.path,) if source.path is not None else ())


def summary_name(stem: str, several: bool) -> str:
    """The run summary's file name: `summary.json`, or `<stem>.summary.json` beside each source of several."""
    return f"{stem}.{SUMMARY_NAME}" if several else SUMMARY_NAME


def same_files(paths: Sequence[Path], files: Sequence[Path]) -> list[Path]:
    """Those of `paths` that exist and are one of `files` (the same file whatever the path: relative, absolute,
    linked; compared as `os.path.samefile` does, by device and inode), in order. One stat a file: nothing more when
    no path exists yet (a new output folder), one pass over an image folder's files otherwise."""
    keys = {key: path for path in paths if (key := _file_key(path)) is not None}
    if not keys:
        return []
    found = {_file_key(file) for file in files} & keys.keys()
    return [path for key, path in keys.items() if key in found]


def _file_key(path: Path) -> tuple[int, int] | None:
    """(device, inode) of an existing file, or None."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_dev, stat.st_ino
