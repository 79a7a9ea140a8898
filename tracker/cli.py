"""`track`: the command line (argument parsing and error reporting only; the work is in tracker.run / tracker.eval).

track SOURCE [SOURCE ...] [--gallery FILE] [--config FILE] [--set KEY=VALUE ...] [--out DIR] [--show] ...
track eval ...      MOTChallenge scores (tracker.eval.cli)
track compare ...   side by side with other trackers on the same detections
track gallery ls|rm|prune|merge|export FILE ...   inspect, edit, combine, export galleries (tracker.cli_gallery)
track batch ...     many videos at once, one task per video, on Ray or local processes (tracker.batch)
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import logging
import os
import sys
from pathlib import Path

from tracker import __version__
from tracker.cli_args import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_SOME_FAILED,
    EXIT_USER_ERROR,
    VERBOSE_HELP,
    GivenOnce,
    GivenOnceAsSet,
    GivenOnceSwitch,
    class_id,
    device_text,
    frame_rate_arg,
    line_width,
    non_negative_float,
    option_overrides,
    override_text,
    path_arg,
    path_text,
    peer_setting_word,
    positive_int,
    refuse_misread_options,
    refuse_sources_among_class_ids,
    say,
    tell,
    unknown_options,
)
from tracker.cli_gallery import gallery_main
from tracker.cli_logging import printing_log
from tracker.closed_pipe import silence_stdout
from tracker.file_errors import one_line
from tracker.io import line_sizes
from tracker.resume import DEFAULT_CHECKPOINT_SECONDS
from tracker.stop_flag import terminating_interrupts
from tracker.wording import count

RELINK_HELP = (  # `--relink` of `track` and `track batch`
    "with --gallery: link sources whose sightings the gallery holds already again (refused otherwise: they would "
    "be counted twice), e.g. after changing the tracker's settings; their sightings are counted again"
)
ODD_SIDE_NOTE = (  # `--save-video` of `track` and `track batch`: the codec's even sides (tracker/io/video.py)
    "an odd side is one pixel smaller (641x481: 640x480), the txt and JSONL keep the source's pixels"
)

__all__ = ["main"]


def _told_peer_setting_word(names: list[str], command: str, parser: argparse.ArgumentParser) -> bool:
    """Whether a source word is ultralytics' KEY=VALUE (`peer_setting_word`); the first such is told as `command`'s
    error (a key naming one of `parser`'s options, `vid_stride=2`, told as that option)."""
    options = parser._option_string_actions  # every option's spellings and action (argparse keeps no public list)
    for name in names:
        said = peer_setting_word(name, command, options)
        if said is not None:
            tell(f"{command}: error: {said}")
            return True
    return False


def _refuse_relink_alone(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """`--relink` without `--gallery` links nothing (it was ignored): one usage error (exit 2) saying so."""
    if args.relink and args.gallery is None:
        parser.error("--relink links sources into a --gallery again: give --gallery FILE, or leave --relink out")


_FFMPEG_QUIET = "-8"  # AV_LOG_QUIET: our one-line errors, not FFmpeg's chatter
_SUBCOMMANDS = ("eval", "compare", "gallery", "batch")


def _config_option(parser: argparse.ArgumentParser) -> None:
    """`--config FILE`, as `track` and `track batch` both take it."""
    parser.add_argument(
        "--config",
        action=GivenOnce,
        type=path_text,
        metavar="FILE",
        help="YAML config (default: built-in defaults, as in configs/default.yaml)",
    )


def _gallery_options(parser: argparse.ArgumentParser, gallery_help: str) -> None:
    """`--gallery FILE` (its help `gallery_help`: what the command does with the file) and `--relink`, as `track` and
    `track batch` both take them."""
    parser.add_argument("--gallery", action=GivenOnce, type=path_arg, metavar="FILE", help=gallery_help)
    parser.add_argument("--relink", action="store_true", help=RELINK_HELP)


def _set_option(parser: argparse.ArgumentParser) -> None:
    """`--set KEY=VALUE` (repeatable), as `track` and `track batch` both take it."""
    parser.add_argument(
        "--set", action="append", default=[], type=override_text, metavar="KEY=VALUE", help="override any config key"
    )


def _quiet_options(parser: argparse.ArgumentParser) -> None:
    """`-q/--quiet` and `--verbose`, as `track` and `track batch` both take them."""
    parser.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help='no progress bar, no summary, and not ultralytics\' lines as it loads the detector ("Loading MODEL ...")',
    )
    parser.add_argument("--verbose", action="store_true", help=VERBOSE_HELP)


def _device_option(parser: argparse.ArgumentParser) -> None:
    """`--device DEV`, as `track` and `track batch` both take it."""
    parser.add_argument(
        "--device",
        action=GivenOnce,
        type=device_text,
        metavar="DEV",
        help="auto, cpu, cuda or cuda:N (same as --set device=...)",
    )


_TRACK_ONLY = {  # `track`'s options that `track batch` has not: what a batch does instead
    "--vid-stride": "a batch tracks every frame of each video; track VIDEO --vid-stride N tracks one at every Nth",
    "--line-width": "a batch draws each video's boxes at the width scaled to its size; track VIDEO --line-width N "
    "draws one at N pixels",
    "--fps": "each video is tracked at the frame rate it declares, else frame_rate (--set frame_rate=N); track VIDEO "
    "--fps N tracks one at another rate",
    "--show": "a batch shows no window; each video's annotated mp4 is in OUT/<name>/",
    "--resume": "run the same batch into the same --out again: it reuses the finished videos and tracks the others "
    "from their first frame",
    "--checkpoint-seconds": "a batch writes no checkpoints: a re-run into the same --out tracks the unfinished videos "
    "from their first frame",
}


def _model_option(parser: argparse.ArgumentParser) -> None:
    """`--model PATH`, as `track` and `track batch` both take it (ultralytics' `model=yolo11n.pt`; BoxMOT's
    `--yolo-model`): the detector's weights, `detector.model`."""
    parser.add_argument(
        "--model",
        action=GivenOnce,
        type=path_text,
        metavar="PATH",
        help="the detector: any model ultralytics loads (.pt, OpenVINO folder, .onnx, .engine), as ultralytics' "
        "model= and BoxMOT's --yolo-model (same as --set detector.model=...)",
    )


def _model_overrides(parser: argparse.ArgumentParser, args: argparse.Namespace) -> list[str]:
    """`--set` overrides with those of `--device`, `--classes` and `--model` (`option_overrides`); the model's path
    given as a YAML string, so that no character of it is read as YAML (`a: b.pt`, `[x].pt`)."""
    model = None if args.model is None else json.dumps(args.model, ensure_ascii=False)  # (a JSON string is a YAML one)
    return option_overrides(
        parser,
        args.set,
        {
            "--device": ("device", args.device),
            "--classes": ("detector.classes", args.classes),
            "--model": ("detector.model", model),
        },
    )


def _classes_option(parser: argparse.ArgumentParser) -> None:
    """`--classes ID ...`, as `track` and `track batch` both take it (batch refused it as an unrecognized argument,
    while its videos' errors said "give ids it has (--classes ...)")."""
    parser.add_argument(
        "--classes",
        action=GivenOnceAsSet,
        type=functools.partial(class_id, command=parser.prog),  # (its example: `track` or `track batch`)
        nargs="+",
        metavar="ID",
        help="class ids to track (default: 0, person; same as --set detector.classes=...)",
    )


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="track",
        allow_abbrev=False,  # `--conf 0.3` (ultralytics' confidence) was `--config 0.3`: `refuse_misread_options`
        description="Track people in a video and keep their IDs through occlusion. Writes a MOTChallenge txt, a "
        "JSONL and an annotated mp4. Also: `track eval ...` (MOTChallenge scores), `track compare ...` "
        "(side by side with other trackers), `track batch ...` (many videos at once, local processes or Ray) and "
        "`track gallery ls|rm|prune|merge|export FILE` (the identities of a --gallery file).",
    )
    p.add_argument("--version", action="version", version=f"track {__version__}")  # (what a bug report needs)
    p.add_argument(
        "source",
        nargs="+",
        help="video file, image folder or glob, MOTChallenge sequence, webcam index, or URL; several are tracked "
        "in turn (with --gallery, the same person keeps one ID in all of them)",
    )
    _gallery_options(
        p, "identity gallery: loaded if the file exists, written back (IDs survive long absences, videos, cameras)"
    )
    _config_option(p)
    _set_option(p)
    p.add_argument(
        "--out",
        action=GivenOnce,
        type=path_arg,
        metavar="DIR",
        help="output folder (default runs/track/<name>, numbered, never overwritten; a folder given here is reused, "
        "the outputs of an earlier run in it replaced)",
    )
    p.add_argument(
        "--save-video",
        action=GivenOnceSwitch,
        default=True,
        help=f"write the annotated mp4 (default: on); {ODD_SIDE_NOTE}",
    )
    p.add_argument("--show", action="store_true", help="show the annotated frames in a window (q stops)")
    _device_option(p)
    _model_option(p)
    _classes_option(p)
    p.add_argument(
        "--max-frames",
        action=GivenOnce,
        type=positive_int,
        metavar="N",
        help="stop each source after N frames (the source's: with --vid-stride 2, --max-frames 100 tracks 50 of its "
        "first 100)",
    )
    p.add_argument(
        "--fps", action=GivenOnce, type=frame_rate_arg, metavar="N", help="frames/s of the source, whatever it declares"
    )
    p.add_argument(
        "--vid-stride",
        action=GivenOnce,
        type=positive_int,
        default=1,
        metavar="N",
        help="track every Nth frame of the source (1, 1+N, 1+2N, ...), as ultralytics' vid_stride: the tracker is "
        "told the time between them (fps/N), the txt and JSONL keep the source's frame numbers, the annotated mp4 "
        "holds the tracked frames at fps/N, its trails as many seconds of the source's time as at any stride "
        "(default 1: every frame)",
    )
    p.add_argument(
        "--line-width",
        action=GivenOnce,
        type=line_width,
        metavar="PX",
        help=f"the annotated mp4's box and trail width in pixels (1 to {line_sizes.MAX_LINE_WIDTH}), as ultralytics' "
        f"line_width (default: {line_sizes.LINE_WIDTH} at {line_sizes.REFERENCE_HEIGHT} rows, scaled with the frame's "
        "height)",
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue an interrupted run from its checkpoint: the newest run folder of the source, or --out DIR",
    )
    p.add_argument(
        "--checkpoint-seconds",
        action=GivenOnce,
        type=non_negative_float,
        default=DEFAULT_CHECKPOINT_SECONDS,
        metavar="S",
        help=f"write the resume checkpoint this often, wall time (default {DEFAULT_CHECKPOINT_SECONDS:g}; 0: never)",
    )
    _quiet_options(p)
    return p


def _batch_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="track batch",
        allow_abbrev=False,  # as `track`'s
        description="Track many videos at once, one task per video (Ray or local processes). Each video's "
        "outputs (the files `track` writes) appear in OUT/<name>/ when it ends; a re-run reuses finished videos and "
        "tracks unfinished ones from their first frame.",
    )
    p.add_argument("sources", nargs="+", metavar="SOURCE", help="videos (or anything `track` accepts), one per task")
    p.add_argument("--out", action=GivenOnce, type=path_arg, required=True, help="batch folder: OUT/<name>/ per video")
    p.add_argument(
        "--engine",
        action=GivenOnce,
        choices=["local", "ray"],
        default="local",
        help="local processes (the default) or Ray tasks",
    )
    p.add_argument(
        "--address",
        action=GivenOnce,
        help="Ray cluster to join (e.g. auto, ray://head:10001); default: $RAY_ADDRESS, else a local Ray",
    )
    p.add_argument(
        "--gpus-per-video",
        action=GivenOnce,
        type=non_negative_float,
        default=0.0,
        metavar="F",
        help="GPU share per Ray task, e.g. 0.25: four videos per GPU (default 0: none)",
    )
    p.add_argument(
        "--workers", action=GivenOnce, type=positive_int, metavar="N", help="local engine: processes (default: cores)"
    )
    _gallery_options(p, "one set of identities: linked into FILE at the end")
    _config_option(p)
    _set_option(p)
    p.add_argument(
        "--save-video",
        action=GivenOnceSwitch,
        default=True,
        help=f"write the annotated mp4s (default: on); {ODD_SIDE_NOTE}",
    )
    _device_option(p)
    _model_option(p)
    _classes_option(p)
    p.add_argument(
        "--max-frames", action=GivenOnce, type=positive_int, metavar="N", help="stop each video after N frames"
    )
    _quiet_options(p)
    return p


def _refuse_dash_files(parser: argparse.ArgumentParser, argv: list[str]) -> None:
    """Stop with a usage error naming a source file whose name starts with `-` (`-1.mp4`, `-clip.mp4`): argparse
    read it as an unknown option and said only "the following arguments are required: source". Arguments after
    `--`, and the options' own names, are left to argparse.

    Raises:
        SystemExit: status 2, through `parser.error`, for the first such argument.
    """
    for arg in unknown_options(parser, argv):
        if os.path.lexists(arg):
            parser.error(
                f"{arg} reads as an option: to track the file of that name, write ./{arg} (or put it after --, "
                "behind every option)"
            )


def _say(text: str) -> None:
    """Print `text` (a summary) to stdout. A reader that left early (`track v.mp4 | head -1`) is no failure of the
    run, whose outputs are written: it ended with a BrokenPipeError traceback and exit status 1; now stdout goes to
    nothing from here on (so that Python's flush at exit cannot fail either) and the run's own status stands, as in
    `track gallery ls`. A path that is not UTF-8 (`--out caf<0xE9>`) is printed with U+FFFD for each such byte: as
    it is, it raised UnicodeEncodeError on a strict stdout after the whole run."""
    try:
        say(text)
        sys.stdout.flush()
    except BrokenPipeError:
        silence_stdout()


def _batch_note(text: str) -> None:
    """Print one of `track batch`'s notes for the user (e.g. a stale lock of OUT taken over)."""
    tell(f"track batch: note: {text}")


def _refuse_track_only_options(parser: argparse.ArgumentParser, argv: list[str]) -> None:
    """Stop `track batch` with a usage error for an option of `track` that a batch has not (`_TRACK_ONLY`), saying
    what a batch does instead: argparse said only "unrecognized arguments: --fps 10".

    Raises:
        SystemExit: status 2, through `parser.error`, for the first such option.
    """
    for arg in unknown_options(parser, argv):
        name = arg.split("=")[0]
        if name in _TRACK_ONLY:
            parser.error(f"{name} is an option of track, not of {parser.prog}: {_TRACK_ONLY[name]}")


def _batch(argv: list[str]) -> int:
    parser = _batch_parser()
    _refuse_track_only_options(parser, argv)
    _refuse_dash_files(parser, argv)
    refuse_misread_options(parser, argv)
    refuse_sources_among_class_ids(parser, argv)
    args = parser.parse_args(argv)
    _refuse_relink_alone(parser, args)
    if args.engine == "ray" and args.workers is not None:  # (ignored: every video of the batch ran at once anyway)
        print(
            "track batch: error: --workers is for --engine local: Ray runs one task per free CPU of its nodes (a "
            "local Ray: all this machine's cores); leave --workers out, or use the local engine",
            file=sys.stderr,
        )
        return EXIT_USER_ERROR
    with printing_log("track batch", args.verbose):  # the tracker's warnings; with --verbose, every INFO line
        return _batch_parsed(args, parser)


def _batch_parsed(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from tracker.batch import track_many, unnamed_sources
    from tracker.batch_names import OPTIONS

    if _told_peer_setting_word(
        args.sources, "track batch", parser
    ):  # `track batch cam.mp4 conf=0.3`, as `track` tells it
        return EXIT_USER_ERROR
    # Every name is checked before any video is tracked, as `track` checks them: a typo in the last name was told
    # after the first videos had been tracked (minutes each). A file that goes missing later fails alone in turn.
    unnamed = unnamed_sources(args.sources)
    if unnamed:  # told before tracker.run imports torch
        for message in unnamed:
            tell(f"track batch: error: {message}")
        if len(unnamed) < len(args.sources):
            tell(
                f"track batch: error: nothing was tracked: {count(len(unnamed), 'source')} of {len(args.sources)} "
                "named nothing; correct or drop them and run the batch again"
            )
        return EXIT_USER_ERROR
    from tracker.io.sources import SourceError, check_not_split_images

    try:  # (`track batch frames/*.jpg`: a one-frame task per image)
        check_not_split_images(args.sources)
    except SourceError as exc:
        tell(f"track batch: error: {one_line(exc)}")
        return EXIT_USER_ERROR
    from tracker.config import ConfigError
    from tracker.ray_engine import joins_cluster
    from tracker.run_config import load_run_config

    overrides = _model_overrides(parser, args)
    here = args.engine != "ray" or not joins_cluster(args.address)  # (on a cluster, device=auto resolves per node)
    try:
        cfg, note = load_run_config(args.config, overrides, gallery=args.gallery is not None, devices_here=here)
        if note:
            _batch_note(note)
        summary = track_many(
            args.sources, cfg, args.out, engine=args.engine, address=args.address, gpus_per_video=args.gpus_per_video,
            workers=args.workers, save_video=args.save_video, max_frames=args.max_frames, progress=not args.quiet,
            gallery=args.gallery, names=OPTIONS, notify=_batch_note, relink=args.relink,
        )  # fmt: skip
    except (ConfigError, FileNotFoundError, PermissionError, ValueError, OSError, ImportError) as exc:
        logging.getLogger("tracker.cli").info("error details", exc_info=True)  # --verbose only
        tell(f"track batch: error: {one_line(exc)}")
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        tell(f"track batch: interrupted; {_batch_rerun(args.out)}")
        return EXIT_INTERRUPTED
    if not args.quiet:
        _say(summary.describe())
    else:  # --quiet silences progress and the summary, not the errors (exit status 1 alone says nothing)
        for video in summary.failed:
            tell(f"track batch: error: {video.name}: {video.reason}")
        if not summary.gallery_saved:
            said = f"no video was tracked, so the gallery {args.gallery} was not saved"
            tell(f"track batch: error: {said}")
    return EXIT_OK if summary.ok else EXIT_SOME_FAILED


def _batch_rerun(out: Path) -> str:
    """What an interrupted `track batch` left in `out` and what a re-run of it does. An unfinished video's folder is
    dropped (no checkpoint: "re-run to resume" promised what a re-run does not do), so a re-run starts it again."""
    from tracker.batch import published_videos

    kept = published_videos(out)  # "finished videos are kept in OUT" sent users to a folder not made yet
    if not kept:
        return "no video had finished; a re-run tracks every video from its first frame"
    return (
        f"{count(kept, 'finished video')} kept in {out}; a re-run reuses finished videos and tracks the others from "
        "their first frame"
    )


def _refuse_width_of_nothing(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """`--line-width` with `--no-save-video` and no `--show` draws nothing (it was ignored, silently): one usage
    error (exit 2) saying so."""
    if args.line_width is not None and not args.save_video and not args.show:
        parser.error(
            "--line-width draws the annotated video, which --no-save-video turns off: leave one of them out "
            "(or add --show, whose window it draws)"
        )


def _track(argv: list[str]) -> int:
    parser = _parser()
    _refuse_dash_files(parser, argv)
    refuse_misread_options(parser, argv)
    refuse_sources_among_class_ids(parser, argv)
    args = parser.parse_args(argv)
    _refuse_relink_alone(parser, args)
    _refuse_width_of_nothing(parser, args)
    with printing_log("track", args.verbose):  # the tracker's warnings; with --verbose, every INFO line
        return _track_parsed(args, parser)


def _track_parsed(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from tracker.config import ConfigError
    from tracker.io.sources import SourceError, check_named, check_not_split_images

    if _told_peer_setting_word(
        args.source, "track", parser
    ):  # `track source=cam.mp4 conf=0.3`, as `yolo track` takes them
        return EXIT_USER_ERROR
    try:  # a name that names nothing is told in milliseconds, before tracker.run imports torch and the pipeline
        for name in args.source:
            check_named(name)
        check_not_split_images(args.source)
    except SourceError as exc:
        tell(f"track: error: {one_line(exc)}")
        return EXIT_USER_ERROR
    from tracker.run import RunAborted, TrackOptions, gallery_left, run_track
    from tracker.run_resume import AlreadyFinished
    from tracker.run_summary import RESUME_HINT

    if not args.verbose:  # OpenCV's own warnings (a camera index that does not open, a stream retried): our one line
        import cv2

        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
    if args.quiet:
        from tracker.detector import quiet_ultralytics

        quiet_ultralytics()  # --quiet: not ultralytics' lines either

    overrides = _model_overrides(parser, args)
    options = TrackOptions(
        source=args.source[0],
        more_sources=tuple(args.source[1:]),
        gallery=args.gallery,
        relink=args.relink,
        config=args.config,
        overrides=tuple(overrides),
        out=args.out,
        resume=args.resume,
        checkpoint_seconds=args.checkpoint_seconds,
        save_video=args.save_video,
        show=args.show,
        progress=not args.quiet,
        max_frames=args.max_frames,
        frame_rate=args.fps,
        vid_stride=args.vid_stride,
        line_width=args.line_width,
    )
    try:
        summary = run_track(options, notify=lambda note: tell(f"track: note: {note}"))
    except AlreadyFinished as done:
        _say(f"track: {done}")
        return EXIT_OK
    except (
        ConfigError,
        SourceError,
        FileNotFoundError,
        PermissionError,
        ValueError,
        OSError,
        ImportError,
        MemoryError,
    ) as exc:
        logging.getLogger("tracker.cli").info("error details", exc_info=True)  # --verbose only
        tell(f"track: error: {one_line(exc)}")  # one line, always
        return EXIT_USER_ERROR
    except KeyboardInterrupt as exc:
        tell(f"track: interrupted{gallery_left(exc)}")
        if isinstance(exc, RunAborted):  # no summary is printed after an abort: say here that the run can go on
            tell(f"track: {RESUME_HINT} {exc.checkpoint}")
        return EXIT_INTERRUPTED
    if not args.quiet:
        _say(summary.describe())
    elif summary.interrupted and not summary.error:  # --quiet drops the summary, not that the run stopped short
        print("track: interrupted", file=sys.stderr)  # (a SIGTERM under --quiet left no word of it, and no way on)
    if summary.error:
        tell(f"track: error: {summary.error}")
    if args.quiet and (checkpoint := summary.checkpoint_left()) is not None:
        tell(f"track: {RESUME_HINT} {checkpoint}")
    if summary.error:
        return EXIT_USER_ERROR
    return EXIT_INTERRUPTED if summary.interrupted else EXIT_OK


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `track` console script; returns the exit code."""
    if sys.stderr is None:  # `track ... 2>&-`: print(..., file=None) put its error lines on stdout, among its output
        with open(os.devnull, "w") as nowhere, contextlib.redirect_stderr(nowhere):
            return main(argv)
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", _FFMPEG_QUIET)
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        if argv and argv[0] == "gallery":
            with terminating_interrupts():  # `kill PID` during rm's save: as Ctrl-C (one line, no temp file left)
                return gallery_main(argv[1:])
        if argv and argv[0] == "batch":
            with terminating_interrupts():  # `kill PID` before or after the tasks run (Ray starting, the reduce): as
                return _batch(argv[1:])  # Ctrl-C (exit 130, OUT and the gallery unlocked); it killed the driver
        if argv and argv[0] in _SUBCOMMANDS:
            from tracker.eval.cli import compare_main, eval_main

            return (eval_main if argv[0] == "eval" else compare_main)(argv[1:])
        with terminating_interrupts():  # `kill PID` while the models load: as Ctrl-C (exit 130, nothing left)
            return _track(argv)
    except KeyboardInterrupt:  # Ctrl-C outside a run's own handling (start-up, a second one while the summary prints)
        print("track: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
