"""Resuming a `track` run: what its folder must hold, the checkpoint's (state, progress), and its state restored.

`read_resumed_run` checks a run folder before anything in it changes or any model loads (a checkpoint, outputs at
least as long as it says, frames left to track) and returns its checkpoint; a finished run is `AlreadyFinished`.
`checkpoint_of` is what a run checkpoints after a frame (`tracker.resume.Checkpointer` writes it), and
`restore_state` puts a checkpoint's state back into a tracker. The file format is `tracker.resume`'s.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tracker.batch_work import read_note
from tracker.io.mot import resumed_file
from tracker.io.names import shown_apart, shown_name
from tracker.io.strict_json import path_from_fields
from tracker.resume import CHECKPOINT_NAME, Checkpoint, Progress, ResumeError, read_checkpoint, same_source
from tracker.run_summary import SUMMARY_NAME, RunSummary

if TYPE_CHECKING:
    from tracker.global_ids import GlobalIdHistory
    from tracker.io.sources import FrameSource
    from tracker.pipeline import Tracker
    from tracker.run_outputs import RunOutputs

__all__ = ["AlreadyFinished", "checkpoint_of", "read_resumed_run", "restore_state"]

_COLOUR_CHANNELS = 3  # the blank frame `restore_state` detects on: BGR


class AlreadyFinished(Exception):
    """`--resume` of a run that finished: there is nothing to do (the message says where it is)."""


def checkpoint_of(
    tracker: Tracker,
    outputs: RunOutputs,
    summary: RunSummary,
    source: FrameSource,
    last: int,
    start: float,
    done: Progress,
    saves_failed: list[str],
    history: GlobalIdHistory | None = None,
) -> tuple[Any, Progress]:
    """(state, progress) of a checkpoint after source frame `last`: the tracker's state and how far the run got;
    the outputs are synced to disk first, so they are never shorter than the checkpoint says. `saves_failed`: the
    periodic gallery saves that failed since the source began and are not in `summary` yet. `history`: a --gallery
    run's global ID history after frame `last`, kept in the progress (`Progress.global_id_spans`) so that a resume
    need not read the run's whole JSONL back."""
    txt_bytes, jsonl_bytes = outputs.sync()
    progress = Progress(
        frames=summary.frames,
        last_frame=last,
        txt_bytes=txt_bytes,
        jsonl_bytes=jsonl_bytes,
        # (a checkpointed run is of one source: its IDs are ints, not the (source, ID) of several combined)
        track_runs=summary.tracks.runs(),
        recovered=summary.recovered,
        recognised=summary.recognised,
        seconds=done.seconds + time.perf_counter() - start,
        corrupt_frames=source.corrupt_frames,
        corrupt_numbers=list(source.corrupt_numbers),
        size_changes=summary.size_changes,
        last_size=[int(n) for n in summary.last_size],
        camera_motion_failure_numbers=list(summary.camera_motion_failure_numbers),
        depth_bits=None if source.depth is None else source.depth.bits,
        gallery_saves_failed=[*summary.gallery_saves_failed, *saves_failed],
        global_id_spans=None if history is None else history.spans(),
        global_id_kept=0 if history is None else history.kept_at,
    )
    return (tracker.core, tracker.camera_motion), progress


def restore_state(tracker: Tracker, checkpoint: Checkpoint) -> None:
    """Put the state a checkpoint saved (`checkpoint_of`) into `tracker` (built with the same config and models), and
    run its detector once on a blank frame of the last frame's size: the first frame a detector sees is detected
    on ultralytics' own CPU thread count (`tracker.detector`), which gave the resumed run's first frame boxes up to
    6e-5 px off the uninterrupted run's (a txt row 0.01 px apart); this way it is detected as that run's was."""
    tracker.core, tracker.camera_motion = checkpoint.state()
    height, width = checkpoint.progress.last_size or (0, 0)
    if height and width and tracker.detector is not None:
        tracker.detector(np.zeros((height, width, _COLOUR_CHANNELS), np.uint8))


def read_resumed_run(
    out: Path,
    stem: str,
    identity: dict[str, Any],
    max_frames: int | None,
    stride: int = 1,
    earlier_stem: str | None = None,
) -> Checkpoint:
    """The checkpoint of the run in `out` of the source whose outputs are `stem.*`, checked before any model is
    loaded and before anything in `out` is changed (a refused resume leaves the folder as it was).

    Args:
        identity: the run being started (`tracker.resume.run_identity`): the checkpoint's must match it.
        max_frames: the run's `--max-frames` (None: no limit), source frames; as many as the checkpoint holds
            finish the run. stride: the run's `--vid-stride` (of the first `max_frames`, ceil(max_frames / stride)
            frames are tracked). earlier_stem: the stem an earlier version gave the source, where it gave another
            (`tracker.io.sources.glob_name_before_sequence`): a run of it is refused (`_refuse_named_before`).

    Raises:
        AlreadyFinished: the run in `out` finished. ResumeError: nothing to resume there (`_check_resumable`), a
            run begun by an earlier version that named the source `earlier_stem`, a checkpoint of another run or a
            damaged one (`read_checkpoint`), outputs shorter than it says, or a `max_frames` below the source frame
            the run already tracked up to (unreadable frames before it count, as `--max-frames` counts them).
    """
    if earlier_stem is not None and earlier_stem != stem:
        _refuse_named_before(out, stem, earlier_stem)
    _check_resumable(out, stem, identity.get("source"))
    checkpoint = read_checkpoint(out / CHECKPOINT_NAME, identity)
    _check_resumed_outputs(out, stem, checkpoint.progress)
    # Fewer frames than the checkpoint holds cannot be given (its outputs are not cut back); as many only finish the
    # run (one killed while it closed, after a checkpoint at its last frame: this refusal left it unfinishable).
    # Source positions, as --max-frames counts them: unreadable frames skipped before the checkpoint count too (the
    # frames tracked let `--max-frames 5` through after a run up to image 6 with two unreadable: it tracked nothing,
    # said it was cut at 5 with frame 6 in its txt, and deleted the checkpoint).
    done = checkpoint.progress
    if max_frames is not None and max_frames < done.last_frame:
        where = "" if done.last_frame == done.frames else f"up to source frame {done.last_frame}"
        said = ", ".join(filter(None, (where, "" if stride == 1 else f"--vid-stride {stride}")))
        raise ResumeError(
            f"the run in {shown_name(out)} already tracked {done.frames} frames{f' ({said})' if said else ''}, so "
            f"--max-frames {max_frames} leaves nothing to do: give a larger --max-frames, or none"
        )
    return checkpoint


def _refuse_named_before(out: Path, stem: str, earlier: str) -> None:
    """Refuse the checkpointed run in `out` whose outputs are `earlier.*` and not `stem.*`: a glob in a MOTChallenge
    sequence's image folder begun before stop 77, named after the folder (`img1`) and tracked at the config's frame
    rate, which now takes the sequence's name and seqinfo.ini's rate; its checkpoint is of the other two. Refused as
    "OUT/<stem>.txt is missing", or as another frame rate with "resume with the same source, options", before.

    Raises:
        ResumeError: naming the folder, both names and what to do.
    """
    if not (out / CHECKPOINT_NAME).exists() or resumed_file(out / f"{stem}.txt").exists():
        return
    if not resumed_file(out / f"{earlier}.txt").exists():
        return
    raise ResumeError(
        f"the run in {shown_name(out)} was begun before a glob in a MOTChallenge sequence's image folder took the "
        f"sequence's name and frame rate (its outputs are {earlier}.*, named after the folder and tracked at the "
        f"config's frame rate; now {stem}.*, at seqinfo.ini's): it cannot go on as one run; run again without --resume"
    )


def _check_resumable(out: Path, stem: str, source: str | None) -> None:
    """Check there is something to resume in `out` for the source whose outputs are `stem.*`: a checkpoint, else a
    finished run (`AlreadyFinished`) or an error.

    Raises:
        AlreadyFinished: no checkpoint and a summary.json of a run of this source that ended normally.
        ResumeError: no checkpoint and no finished run (not a run folder, a run killed before its first frame, a
            run stopped with --checkpoint-seconds 0, or one of several sources), a run `--max-frames` cut before its
            source's end (`cut_short` in its summary.json or, a batch's video, batch.json: it said "finished: nothing
            to resume"), or the finished run of another
            source: one whose outputs have another stem, or one of the same stem whose summary names another
            `source` (the real path `tracker.resume.run_identity` gives; `cam1/v.mp4`'s finished run said "finished:
            nothing to resume" to a resume of `cam2/v.mp4`, which was never tracked), or a summary whose `source_uri`
            is no file URI.
    """
    if (out / CHECKPOINT_NAME).exists():
        return
    where = shown_name(out)  # (a folder not named in UTF-8: U+FFFD a byte, not Python's `\\udce9` escapes)
    try:
        summary = json.loads((out / SUMMARY_NAME).read_text())
    except (OSError, ValueError):
        summary = None
    if isinstance(summary, dict) and not resumed_file(out / f"{stem}.txt").exists():
        raise ResumeError(
            f"the run in {where} is not one of {stem} (no {stem}.txt there): name its own run folder with --out, or "
            "run again without --resume"
        )
    try:
        recorded = path_from_fields(summary, "source") if isinstance(summary, dict) else None
    except ValueError as exc:  # a summary edited by hand
        raise ResumeError(
            f"{shown_name(out / SUMMARY_NAME)}: {exc}: correct it (or delete the key), or run again without --resume"
        ) from None
    if recorded is not None and source is not None and same_source(recorded) != source:
        recorded, source = shown_apart([recorded, source])  # (two names shown alike: each with its bytes)
        raise ResumeError(
            f"the run in {where} is one of {recorded}, not of {source}: name its own run folder with --out, or run "
            "again without --resume"
        )
    if isinstance(summary, dict) and not summary.get("interrupted") and not summary.get("error"):
        # batch.json: a batch's video folder an older version wrote (its summary.json without the cut), reached by
        # `track VIDEO --resume` without --out (`runs/track/<name>`; an --out of it is refused before, stop 77)
        if summary.get("cut_short") is True or (read_note(out) or {}).get("cut_short") is True:
            raise ResumeError(
                f"the run in {where} stopped after {summary.get('frames')} frames (--max-frames), before the end of "
                "its source, and kept no checkpoint to go on from (a batch's video, or a run without --gallery or with "
                "--checkpoint-seconds 0 keeps none): track it again without --resume (a larger --max-frames, or "
                "none); with --gallery, into another gallery, or add --relink (its first frames then count twice)"
            )
        raise AlreadyFinished(f"the run in {where} finished ({summary.get('frames')} frames): nothing to resume")
    if isinstance(summary, dict):
        raise ResumeError(
            f"the run in {where} stopped after {summary.get('frames')} frames but left no checkpoint (was it run with "
            "--checkpoint-seconds 0?): run again without --resume"
        )
    raise ResumeError(
        f"no checkpoint in {where}: not a `track` run folder, or its run was killed before its first frame, ran with "
        "--checkpoint-seconds 0 or tracked several sources (a run of several keeps none): run again without --resume"
    )


def _check_resumed_outputs(out: Path, stem: str, progress: Progress) -> None:
    """Check the txt and JSONL of the run being resumed are there and at least as long as its checkpoint says,
    before anything in `out` is changed (a refused resume leaves the folder as it was).

    Raises:
        ResumeError: a file missing or shorter than the checkpoint recorded (named).
    """
    for named, length in ((out / f"{stem}.txt", progress.txt_bytes), (out / f"{stem}.jsonl", progress.jsonl_bytes)):
        path = resumed_file(named)  # (the txt's `.partial` after a kill)
        size = path.stat().st_size if path.exists() else None
        if size is None or size < length:
            found = "is missing" if size is None else f"holds {size} bytes"
            shown = shown_name(named if size is None else path)  # (neither there: the file the user knows)
            raise ResumeError(
                f"the outputs of the run being resumed differ from its checkpoint: {shown} {found}, the "
                f"checkpoint recorded {length} bytes; run again without --resume"
            )
