"""`track`: the command line (argument parsing and error reporting only; the work is in tracker.run / tracker.eval).

track SOURCE [SOURCE ...] [--gallery FILE] [--config FILE] [--set KEY=VALUE ...] [--out DIR] [--show] ...
track eval ...      MOTChallenge scores (tracker.eval.cli)
track compare ...   side by side with other trackers on the same detections
track gallery ls|rm|prune|merge|export FILE ...   inspect, edit, combine and export identity galleries
track batch ...     many videos at once, one task per video, on Ray or local processes (tracker.batch)
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from tracker import __version__
from tracker.resume import DEFAULT_CHECKPOINT_SECONDS
from tracker.stop_flag import terminating_interrupts
from tracker.wording import count, listed

__all__ = ["main"]

EXIT_OK = 0
EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it
EXIT_SOME_FAILED = 1  # track batch: some videos failed, the others finished
_FFMPEG_QUIET = "-8"  # AV_LOG_QUIET: our one-line errors, not FFmpeg's chatter
_SUBCOMMANDS = ("eval", "compare", "gallery", "batch")
_CLASS_EXAMPLES = "COCO: 0 person, 2 car, 5 bus, 7 truck"  # `--classes person` is told the ids it takes
_SET_KEYS = frozenset({"detector.classes"})  # keys read as sets (a box of a listed class is kept): order, repeats moot


_END_OF_OPTIONS = "--"  # what argparse (and POSIX tools) read as: every argument after it is a name, not an option
_GIVEN_PREFIX = "given_"  # namespace attribute marking an option `_GivenOnce` has seen


class _GivenOnce(argparse.Action):
    """Store the option's value; the same option given again with another value is the parser's usage error naming
    both, as two `--set` of one key are (`option_overrides`): `--classes 0 --classes 2` tracked class 2 alone
    without a word, `--device cpu --device cuda` ran on CUDA, `--gallery a.gallery --gallery b.gallery` wrote b
    alone, `--out a --out b` wrote into b."""

    @staticmethod
    def same(earlier: Any, values: Any) -> bool:
        """Whether two values of the option say the same thing."""
        return bool(earlier == values)

    def __call__(
        self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any, option: str | None = None
    ) -> None:
        given = f"{_GIVEN_PREFIX}{self.dest}"  # (not the option's default: `--engine ray` alone is no contradiction)
        earlier = getattr(namespace, self.dest, None)
        if getattr(namespace, given, False) and not self.same(earlier, values):
            said = [" ".join(map(str, v)) if isinstance(v, list) else str(v) for v in (earlier, values)]
            parser.error(f"{option} {said[0]} and {option} {said[1]} say different things: give it once")
        setattr(namespace, self.dest, values)
        setattr(namespace, given, True)


class _GivenOnceAsSet(_GivenOnce):
    """`_GivenOnce` of an option read as a set (`--classes`, as `_SET_KEYS`): `--classes 0 2 --classes 2 0` is one
    value given twice (it was refused as two different ones)."""

    @staticmethod
    def same(earlier: Any, values: Any) -> bool:
        """Whether the two lists hold the same items, whatever their order and repeats."""
        return set(earlier) == set(values)


def _config_option(parser: argparse.ArgumentParser) -> None:
    """`--config FILE`, as `track` and `track batch` both take it."""
    parser.add_argument(
        "--config",
        action=_GivenOnce,
        type=path_text,
        metavar="FILE",
        help="YAML config (default: built-in defaults, as in configs/default.yaml)",
    )


def _device_option(parser: argparse.ArgumentParser) -> None:
    """`--device DEV`, as `track` and `track batch` both take it."""
    parser.add_argument(
        "--device",
        action=_GivenOnce,
        type=device_text,
        metavar="DEV",
        help="auto, cpu, cuda or cuda:N (same as --set device=...)",
    )


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="track",
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
    p.add_argument(
        "--gallery",
        action=_GivenOnce,
        type=path_arg,
        metavar="FILE",
        help="identity gallery: loaded if the file exists, written back (IDs survive long absences, videos, cameras)",
    )
    _config_option(p)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override any config key")
    p.add_argument(
        "--out",
        action=_GivenOnce,
        type=path_arg,
        metavar="DIR",
        help="output folder (default runs/track/<name>, numbered, never overwritten; a folder given here is reused, "
        "the outputs of an earlier run in it replaced)",
    )
    p.add_argument("--save-video", action=argparse.BooleanOptionalAction, default=True, help="annotated mp4")
    p.add_argument("--show", action="store_true", help="show the annotated frames in a window (q stops)")
    _device_option(p)
    p.add_argument(
        "--classes",
        action=_GivenOnceAsSet,
        type=class_id,
        nargs="+",
        metavar="ID",
        help="class ids to track (default: 0, person; same as --set detector.classes=...)",
    )
    p.add_argument(
        "--max-frames", action=_GivenOnce, type=positive_int, metavar="N", help="stop each source after N frames"
    )
    p.add_argument(
        "--fps", action=_GivenOnce, type=_frame_rate, metavar="N", help="frames/s of the source, whatever it declares"
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue an interrupted run from its checkpoint: the newest run folder of the source, or --out DIR",
    )
    p.add_argument(
        "--checkpoint-seconds",
        type=non_negative_float,
        default=DEFAULT_CHECKPOINT_SECONDS,
        metavar="S",
        help=f"write the resume checkpoint this often, wall time (default {DEFAULT_CHECKPOINT_SECONDS:g}; 0: never)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar and no summary")
    p.add_argument("--verbose", action="store_true", help="log library messages (and tracebacks of errors)")
    return p


def _batch_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="track batch",
        description="Track many videos at once, one task per video (Ray or local processes). Each video's "
        "outputs (the files `track` writes) appear in OUT/<name>/ when it ends; a re-run reuses finished videos and "
        "tracks unfinished ones from their first frame.",
    )
    p.add_argument("sources", nargs="+", metavar="SOURCE", help="videos (or anything `track` accepts), one per task")
    p.add_argument("--out", action=_GivenOnce, type=path_arg, required=True, help="batch folder: OUT/<name>/ per video")
    p.add_argument(
        "--engine", action=_GivenOnce, choices=["local", "ray"], default="local", help="local processes or Ray tasks"
    )
    p.add_argument(
        "--address", action=_GivenOnce, help="Ray cluster to join (e.g. auto, ray://head:10001); default: a local Ray"
    )
    p.add_argument(
        "--gpus-per-video",
        action=_GivenOnce,
        type=non_negative_float,
        default=0.0,
        metavar="F",
        help="GPU share per Ray task, e.g. 0.25: four videos per GPU (default 0: none)",
    )
    p.add_argument(
        "--workers", action=_GivenOnce, type=positive_int, metavar="N", help="local engine: processes (default: cores)"
    )
    p.add_argument(
        "--gallery",
        action=_GivenOnce,
        type=path_arg,
        metavar="FILE",
        help="one set of identities: linked into FILE at the end",
    )
    _config_option(p)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override any config key")
    p.add_argument("--save-video", action=argparse.BooleanOptionalAction, default=True, help="annotated mp4s")
    _device_option(p)
    p.add_argument(
        "--max-frames", action=_GivenOnce, type=positive_int, metavar="N", help="stop each video after N frames"
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar and no summary")
    p.add_argument("--verbose", action="store_true", help="log library messages (and tracebacks of errors)")
    return p


def _refuse_dash_files(parser: argparse.ArgumentParser, argv: list[str]) -> None:
    """Stop with a usage error naming a source file whose name starts with `-` (`-1.mp4`, `-clip.mp4`): argparse
    read it as an unknown option and said only "the following arguments are required: source". Arguments after
    `--`, and the options' own names, are left to argparse.

    Raises:
        SystemExit: status 2, through `parser.error`, for the first such argument.
    """
    options = set(parser._option_string_actions)  # every option's spellings (argparse keeps no public list)
    for arg in argv:
        if arg == _END_OF_OPTIONS:
            return
        if arg.startswith("-") and arg != "-" and arg.split("=")[0] not in options and os.path.lexists(arg):
            parser.error(
                f"{arg} reads as an option: to track the file of that name, write ./{arg} (or put it after --, "
                "behind every option)"
            )


def _batch_note(text: str) -> None:
    """Print one of `track batch`'s notes for the user (e.g. a stale lock of OUT taken over)."""
    print(f"track batch: note: {text}", file=sys.stderr)


def _batch(argv: list[str]) -> int:
    parser = _batch_parser()
    _refuse_dash_files(parser, argv)
    args = parser.parse_args(argv)
    if args.engine == "ray" and args.workers is not None:  # (ignored: every video of the batch ran at once anyway)
        print(
            "track batch: error: --workers is for --engine local: Ray runs one task per free CPU of its nodes (a "
            "local Ray: all this machine's cores); leave --workers out, or use the local engine",
            file=sys.stderr,
        )
        return EXIT_USER_ERROR
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.ERROR, format="%(levelname)s %(name)s: %(message)s"
    )
    from tracker.batch import track_many, unnamed_sources
    from tracker.batch_names import OPTIONS

    unnamed = unnamed_sources(args.sources)
    if len(unnamed) == len(args.sources):  # nothing to track: told before tracker.run imports torch
        for message in unnamed:
            print(f"track batch: error: {message}", file=sys.stderr)
        return EXIT_SOME_FAILED
    from tracker.config import ConfigError
    from tracker.run_config import load_run_config

    overrides = option_overrides(parser, args.set, {"--device": ("device", args.device)})
    try:
        cfg, note = load_run_config(args.config, overrides, gallery=args.gallery is not None)
        if note:
            _batch_note(note)
        summary = track_many(
            args.sources, cfg, args.out, engine=args.engine, address=args.address, gpus_per_video=args.gpus_per_video,
            workers=args.workers, save_video=args.save_video, max_frames=args.max_frames, progress=not args.quiet,
            gallery=args.gallery, names=OPTIONS, notify=_batch_note,
        )  # fmt: skip
    except (ConfigError, FileNotFoundError, PermissionError, ValueError, OSError, ImportError) as exc:
        logging.getLogger("tracker.cli").info("error details", exc_info=True)  # --verbose only
        print(f"track batch: error: {' '.join(str(exc).split()) or type(exc).__name__}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print(f"track batch: interrupted; {_batch_rerun(args.out)}", file=sys.stderr)
        return EXIT_INTERRUPTED
    if not args.quiet:
        print(summary.describe())
    else:  # --quiet silences progress and the summary, not the errors (exit status 1 alone says nothing)
        for video in summary.failed:
            print(f"track batch: error: {video.name}: {video.reason}", file=sys.stderr)
        if not summary.gallery_saved:
            said = f"no video was tracked, so the gallery {args.gallery} was not saved"
            print(f"track batch: error: {said}", file=sys.stderr)
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


def _parse(text: str, convert: type[int] | type[float], what: str) -> Any:
    """`convert(text)`, or the option's usage error saying what it must be (not argparse's `invalid <function name>
    value`)."""
    try:
        return convert(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}") from None


def path_text(text: str) -> str:
    """argparse type of a file or folder name: `text`, or the option's usage error for an empty one. `--out ""` (a
    shell variable left unset) wrote a run's outputs into the current folder, replacing files of those names, and
    `--config ""` said "cannot read config file .: Is a directory"."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty path (a shell variable left unset?): name a file or folder")
    return text


def device_text(text: str) -> str:
    """argparse type of `--device`: `text`, or the option's usage error for an empty one. `--device ""` (a shell
    variable left unset) ran on the automatic device, as if the option were left out."""
    if not text.strip():
        raise argparse.ArgumentTypeError(
            "an empty device (a shell variable left unset?): give auto, cpu, cuda or cuda:N, or leave --device out"
        )
    return text


def path_arg(text: str) -> Path:
    """`path_text` as a Path."""
    return Path(path_text(text))


def positive_int(text: str) -> int:
    """argparse type of counts (frames, processes): an integer >= 1, else the option's usage error."""
    value = _parse(text, int, "a whole number >= 1")
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def class_id(text: str) -> int:
    """argparse type of `--classes`: a whole number; a name (`--classes person`) is told the ids (argparse's own
    "invalid int value: 'person'" did not say that classes are numbered, nor which number a person is). Several ids
    are separate words: `--classes 0,2` and an empty one (a shell variable left unset) are told so (it said "not a
    name")."""
    if not text.strip():
        raise argparse.ArgumentTypeError(
            "an empty class id (a shell variable left unset?): give ids as separate words, --classes 0 2"
        )
    if "," in text:
        raise argparse.ArgumentTypeError(f"class ids are separate words, --classes 0 2, not a comma list: got {text!r}")
    return _parse(text, int, f"a class id, a whole number ({_CLASS_EXAMPLES}), not a name")


def sequence_name(text: str) -> str:
    """argparse type of `track eval --sequences`: a name, or the option's usage error for an empty one (a shell
    variable left unset: it said "no sequence  under DATA", the name invisible)."""
    if not text.strip():
        raise argparse.ArgumentTypeError(
            "an empty sequence name (a shell variable left unset?): give names as separate words, --sequences A B"
        )
    return text


def non_negative_int(text: str) -> int:
    """argparse type of counts where 0 means a default (threads): an integer >= 0, else the option's usage error."""
    value = _parse(text, int, "a whole number >= 0")
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be at least 0, got {value}")
    return value


def _frame_rate(text: str) -> float:
    from tracker.config import MAX_FRAME_RATE, MIN_FRAME_RATE

    value = _parse(text, float, "a positive number")
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    if value > MAX_FRAME_RATE:  # per-second windows are sized by the rate: 1e9 would allocate gigabytes
        raise argparse.ArgumentTypeError(f"must be at most {MAX_FRAME_RATE:g} frames/s, got {text}")
    if value < MIN_FRAME_RATE:  # the Kalman noises scale with (25 / rate)^1.5: 1e-300 overflowed them
        raise argparse.ArgumentTypeError(f"must be at least {MIN_FRAME_RATE:g} frames/s, got {text}")
    return value


def non_negative_float(text: str) -> float:
    """argparse type of amounts where 0 means none (seconds, GPU shares): a finite number >= 0, else the option's
    usage error."""
    value = _parse(text, float, "a number >= 0")
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number >= 0, got {text}")
    return value


def option_overrides(
    parser: argparse.ArgumentParser, sets: list[str], options: dict[str, tuple[str, Any]]
) -> list[str]:
    """`--set` overrides followed by those of the shorthand options (`options`: flag -> (dotted key, value), value
    None where the option is not given), which are applied last. Two of them giving one key different settings is
    the parser's usage error naming both: `--classes 2 --set detector.classes=[0]` used to track class 2 without a
    word, `--set appearance.bank_capacity=3 --set appearance.bank_capacity=4` ran with 4 (a key given twice in a
    YAML file is refused); a `--set` of a section as a whole (`--set 'detector={classes: [0]}'`) is compared by the
    keys it holds."""
    from tracker.config import ConfigError, split_override

    given = {key: (flag, _yaml_flow(value)) for flag, (key, value) in options.items() if value is not None}
    seen = {key: (flag, split_override(f"{key}={option}")[1]) for key, (flag, option) in given.items()}
    for text in sets:
        try:
            dotted, value = split_override(text)
        except ConfigError:
            continue  # (the config's own error, when it loads)
        for key, said in _leaves(dotted, value):
            first = seen.setdefault(key, (f"--set {text}", said))
            if _setting(key, first[1]) != _setting(key, said) and not _unknown_key(key, said):
                parser.error(f"{first[0]} and --set {text} say different things: give one of them")
    return list(sets) + [f"{key}={option}" for key, (_, option) in given.items()]


def _unknown_key(key: str, value: Any) -> bool:
    """Whether the config has no dotted `key`: two `--set` of a mistyped key (`motion.max_age`) are then no
    contradiction to name, the config's own error says the key is unknown and what it holds when it loads."""
    from tracker.config import ConfigError, load_config

    try:
        load_config(None, {key: value})
    except ConfigError as error:
        return str(error).startswith("unknown config key")
    return False


def _leaves(dotted: str, value: Any) -> list[tuple[str, Any]]:
    """The (dotted key, value) pairs a `--set dotted=value` gives: itself, or for a section given as a mapping
    (`detector={classes: [0]}`) each key it holds (`detector.classes`, [0])."""
    if not isinstance(value, dict) or not value:
        return [(dotted, value)]
    return [leaf for name, item in value.items() for leaf in _leaves(f"{dotted}.{name}", item)]


def _setting(key: str, value: Any) -> Any:
    """What the config makes of `value` (read as YAML) at the dotted `key`, as the tracker uses it: `detector.classes:
    0` is `(0,)`, as is `[0]`, and a key read as a set (`_SET_KEYS`) is compared as one (`[0, 0]` is `[0]`); `value`
    itself where the config refuses it (its own error comes when the config loads)."""
    from tracker.config import ConfigError, load_config

    try:
        setting: Any = load_config(None, {key: value})
    except ConfigError:
        return value
    for part in key.split("."):
        setting = getattr(setting, part)
    return frozenset(setting) if key in _SET_KEYS else setting


def _yaml_flow(value: Any) -> str:
    """`value` as the YAML a `--set` reads back to it (a list of ints: `[0, 2]`)."""
    return f"[{', '.join(map(str, value))}]" if isinstance(value, list) else str(value)


def _track(argv: list[str]) -> int:
    parser = _parser()
    _refuse_dash_files(parser, argv)
    args = parser.parse_args(argv)
    level = logging.INFO if args.verbose else logging.ERROR
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    from tracker.config import ConfigError
    from tracker.io.sources import SourceError, check_named

    try:  # a name that names nothing is told in milliseconds, before tracker.run imports torch and the pipeline
        for name in args.source:
            check_named(name)
    except SourceError as exc:
        print(f"track: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return EXIT_USER_ERROR
    from tracker.run import RunAborted, TrackOptions, gallery_left, run_track
    from tracker.run_resume import AlreadyFinished

    if not args.verbose:  # OpenCV's own warnings (a camera index that does not open, a stream retried): our one line
        import cv2

        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
    if args.quiet:
        from tracker.detector import quiet_ultralytics

        quiet_ultralytics()  # --quiet: not ultralytics' lines either

    overrides = option_overrides(
        parser, args.set, {"--device": ("device", args.device), "--classes": ("detector.classes", args.classes)}
    )
    options = TrackOptions(
        source=args.source[0],
        more_sources=tuple(args.source[1:]),
        gallery=args.gallery,
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
    )
    try:
        summary = run_track(options, notify=lambda note: print(f"track: note: {note}", file=sys.stderr))
    except AlreadyFinished as done:
        print(f"track: {done}")
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
        message = " ".join(str(exc).split()) or type(exc).__name__  # one line, always
        print(f"track: error: {message}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt as exc:
        print(f"track: interrupted{gallery_left(exc)}", file=sys.stderr)
        if isinstance(exc, RunAborted):  # no summary is printed after an abort: say here that the run can go on
            print(f"track: the same command with --resume continues the run from {exc.checkpoint}", file=sys.stderr)
        return EXIT_INTERRUPTED
    if not args.quiet:
        print(summary.describe())
    if summary.error:
        print(f"track: error: {summary.error}", file=sys.stderr)
        return EXIT_USER_ERROR
    return EXIT_INTERRUPTED if summary.interrupted else EXIT_OK


def _gallery_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="track gallery",
        description="Inspect, edit, merge and export identity gallery files (they hold biometric-like data: keep them "
        "private).",
    )
    # (the metavar names the choices where argparse said "the following arguments are required: action")
    sub = p.add_subparsers(dest="action", required=True, metavar="{ls,rm,prune,merge,export}")
    ls = sub.add_parser(
        "ls",
        help="list the identities",
        description="List the identities: ID, class, sightings, first and last seen (ISO 8601, UTC), last source; "
        "several files: one block each, headed by its name.",
    )
    ls.add_argument(
        "files", type=path_arg, nargs="+", metavar="FILE", help="the gallery file (`track --gallery FILE`), or several"
    )
    rm = sub.add_parser("rm", help="forget identities by global ID")
    _gallery_file_arg(rm)
    rm.add_argument(
        "ids", type=positive_int, nargs="+", metavar="ID", help="global IDs to forget (`track gallery ls` lists them)"
    )
    prune = sub.add_parser("prune", help="apply the retention policy (gallery.max_days_unseen, max_identities)")
    _gallery_file_arg(prune)
    _config_options(prune, "YAML config with the retention keys (default: built-in defaults)")
    prune.add_argument(
        "--dry-run", action="store_true", help="say which identities it would remove, and leave the file as it is"
    )
    merge, export = _merge_parser(sub), _export_parser(sub)
    for action_parser in (ls, rm, prune, merge, export):  # (the parser whose usage an extra argument is reported under)
        action_parser.set_defaults(action_parser=action_parser)
    return p


def _merge_parser(sub: Any) -> argparse.ArgumentParser:
    """`track gallery merge A B [...] -o OUT`."""
    merge = sub.add_parser(
        "merge",
        help="combine galleries (e.g. two cameras') into one",
        description="Write the identities of every FILE into one gallery OUT. The first file's keep their IDs; an "
        "identity of a later file joins one already there when the gallery's own rule matches them (as `track batch "
        "--gallery` links videos: the mean of its prototypes against each identity's best prototype, at least "
        "gallery.min_similarity and ahead of the runner-up by gallery.margin, same class); the others get new IDs. "
        "The files must share the ReID model, D and class names. Prints each later identity's new ID.",
    )
    merge.add_argument(
        "files", type=path_arg, nargs="+", metavar="FILE", help="two gallery files (`track --gallery FILE`) or more"
    )
    merge.add_argument(
        "-o", "--output", action=_GivenOnce, type=path_arg, required=True, metavar="OUT",
        help="the merged gallery: a new file, or the first FILE (replaced); the inputs are not changed otherwise",
    )  # fmt: skip
    _config_options(merge, "YAML config with the gallery keys (default: built-in defaults)")
    merge.add_argument("--dry-run", action="store_true", help="print the links it would make, and write nothing")
    return merge


def _export_parser(sub: Any) -> argparse.ArgumentParser:
    """`track gallery export FILE -o TABLE [--prototypes NPZ]`."""
    export = sub.add_parser(
        "export",
        help="write the identities as CSV or JSON (and the prototypes as NPZ)",
        description="Write one row per identity: global_id, class_id, class, first_seen, last_seen (ISO 8601, UTC), "
        "first_source, first_frame, last_source, last_frame, sightings, prototypes (how many).",
    )
    _gallery_file_arg(export)
    export.add_argument(
        "-o", "--output", action=_GivenOnce, type=path_arg, required=True, metavar="TABLE",
        help="the table: .csv (a header line, one line per identity) or .json (a list of objects), by extension",
    )  # fmt: skip
    export.add_argument(
        "--prototypes", action=_GivenOnce, type=path_arg, metavar="NPZ",
        help="also write the prototypes to this .npz (np.load): `prototypes` (M, D) float32, L2-normalised, and "
        "`global_ids` (M,) int64, the identity of each row; an identity's rows consecutive, in the table's order",
    )  # fmt: skip
    return export


def _config_options(parser: argparse.ArgumentParser, what: str) -> None:
    """`--config FILE` and `--set KEY=VALUE` of a `track gallery` command."""
    parser.add_argument(
        "--config",
        action=_GivenOnce,
        type=path_text,
        metavar="FILE",  # (as `track --help` spells it; it said CONFIG)
        help=what,
    )
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config key")


def _gallery_file_arg(parser: argparse.ArgumentParser) -> None:
    """The FILE of a `track gallery` command, named and explained in its help (it was a bare "file")."""
    parser.add_argument("file", type=path_arg, metavar="FILE", help="the gallery file (`track --gallery FILE`)")


def _gallery(argv: list[str]) -> int:
    """`track gallery ls|rm|prune|merge|export`: list identities (of one file or several), forget some, apply
    retention (file rewritten atomically), combine files into one, write them out for another tool."""
    parser = _gallery_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:  # (parse_args reported them under `track gallery`'s usage, not the action's: `track gallery ls`)
        after_action = argv[argv.index(args.action) + 1 :]
        named_by = args.action_parser if all(word in after_action for word in extra) else parser
        named_by.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.action in ("prune", "merge"):  # two `--set` of one key that disagree: a usage error, as `track`'s
        args.set = option_overrides(args.action_parser, args.set, {})
    from tracker.config import ConfigError, load_config
    from tracker.gallery import Gallery, GalleryError
    from tracker.gallery_file import refuse_read_only
    from tracker.io.lock import gallery_lock

    # rm and prune rewrite the file: not while a run that loaded it is going to write it back (its copy would win)
    edits = args.action == "rm" or (args.action == "prune" and not args.dry_run)
    merges = args.action == "merge" and not args.dry_run  # (OUT may be its first FILE: locked from load to save)
    locked = args.file if edits else args.output if merges else None
    gallery = None  # (once loaded: what a Ctrl-C compares the file with)
    before = None if not merges else _version(args.output)  # (what a Ctrl-C compares OUT with)
    try:
        with gallery_lock(locked, option=None) if locked is not None else nullcontext():  # (the file written)
            if args.action == "ls":
                loaded = [Gallery.load(file, prune=False) for file in args.files]
                for file, read in zip(args.files, loaded, strict=True):  # (a file a `track` run holds: said)
                    _note_if_in_use(file, read, "what it saves later is not listed")
                listings = [_gallery_listing(read) for read in loaded]
                for file, lines in zip(args.files, listings, strict=True):
                    if len(args.files) > 1:  # one block per file, headed by its name (one file: as before)
                        lines = [f"{file}:", *lines] if file == args.files[0] else ["", f"{file}:", *lines]
                    for line in lines:
                        print(line)
            elif args.action == "merge":
                for line in _merge(args):
                    print(line)
            elif args.action == "export":
                print(_export(args))
            elif args.action == "rm":
                gallery = Gallery.load(args.file, prune=False)
                missing = [i for i in dict.fromkeys(args.ids) if i not in gallery]
                if missing:
                    raise GalleryError(
                        f"no identity {listed(missing)} in {args.file}: nothing removed "
                        f"(`track gallery ls {args.file}` lists its IDs)"
                    )
                removed = gallery.remove(args.ids)  # (an ID given twice is removed once)
                gallery.save(args.file, prune=False, lock=False)  # held above
                print(f"removed {count(len(removed), 'identity', 'identities')}; {len(gallery)} left")
            else:
                cfg = load_config(args.config, overrides=list(args.set))
                gallery = Gallery.load(args.file, cfg.gallery, prune=False)
                removed = gallery.prune()
                gone = count(len(removed), "identity", "identities")
                if removed and args.dry_run:  # (in memory only: the file is not written)
                    refuse_read_only(Path(os.path.realpath(args.file)))  # (as the prune's save would: it said "would")
                    kept = f"{len(gallery)} would be left (a dry run: {args.file} is as it was)"
                    print(f"would remove {gone} ({listed(removed)}); {kept}")
                elif removed:  # (nothing to forget: the file stays the one a `--resume` of its run expects)
                    gallery.save(args.file, lock=False)
                    print(f"removed {gone} ({listed(removed)}); {len(gallery)} left")
                else:  # (it said "removed 0 identities (none)")
                    print(_nothing_pruned(args.file, len(gallery), cfg.gallery))
    except BrokenPipeError:  # the reader left early (`| head`): not a failure of the command
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so Python's exit flush cannot fail
        return EXIT_OK
    except KeyboardInterrupt:  # the save is atomic: say which version the file holds
        left = _edit_interrupted(args.file, gallery) if edits else ""
        left = _merge_interrupted(args.output, before) if merges else left
        print(f"track gallery: interrupted{left}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except FileNotFoundError as exc:  # ls / rm / prune edit an existing gallery; `track --gallery FILE` makes a new one
        missing = exc.filename or getattr(args, "file", None) or "?"  # (ls and merge: the one of their FILEs missing)
        print(f"track gallery: error: no such gallery file: {missing}{_not_saved_yet(missing)}", file=sys.stderr)
        return EXIT_USER_ERROR
    except (ConfigError, GalleryError, OSError, ValueError) as exc:
        message = " ".join(str(exc).split()) or type(exc).__name__
        print(f"track gallery: error: {message}", file=sys.stderr)
        return EXIT_USER_ERROR
    return EXIT_OK


def _not_saved_yet(path: str | Path) -> str:
    """For a gallery file that is not there: why, when another process holds its lock (a `track --gallery` run that
    makes it and has not saved it yet: "no such gallery file" alone sent users looking for a mistyped name)."""
    from tracker.io.lock import GALLERY_HOLDERS, gallery_holder

    holder = gallery_holder(path)
    if holder is None:
        return ""
    return f" ({GALLERY_HOLDERS}, process {holder}, holds it and has not saved it yet: try again once it has)"


def _version(path: Path) -> Any:
    """The `file_version` of `path` (None: no file there)."""
    from tracker.gallery_file import file_version

    return file_version(path)


def _merge(args: argparse.Namespace) -> list[str]:
    """`track gallery merge`: merge the FILEs, write OUT (unless `--dry-run`); returns the lines to print: one per
    identity of the later files (its ID there -> its ID in OUT, and the similarity it joined at, or "new"), then the
    totals."""
    from tracker.config import load_config
    from tracker.gallery import Gallery, GalleryError
    from tracker.gallery_file import check_writable
    from tracker.gallery_merge import merge_galleries

    files, out = args.files, args.output
    if len(files) < 2:
        raise GalleryError(f"merge needs two gallery files or more, got {files[0]} alone")
    if out.exists() and os.path.realpath(out) != os.path.realpath(files[0]):
        raise GalleryError(
            f"{out} exists: merge writes a new gallery file, or replaces its first FILE ({files[0]}); "
            "choose another name for -o"
        )
    check_writable(out, "-o")  # (before the merge: a dry run said "would write" a file no save could write)
    cfg = load_config(args.config, overrides=list(args.set))
    galleries = [Gallery.load(file, cfg.gallery, prune=False) for file in files]
    noted = set()  # the versions read (device, inode, size, time): `merge a a`, or a and a link to it, noted once
    for file, gallery in zip(files, galleries, strict=True):
        read = gallery.file[1] if gallery.file is not None else os.path.realpath(file)
        if read not in noted:
            noted.add(read)
            _note_if_in_use(file, gallery, f"what it saves later is not in {out}")
    sizes = [len(gallery) for gallery in galleries]
    merged = merge_galleries(files, galleries)
    if not args.dry_run:
        merged.gallery.save(out, prune=False, lock=False)  # (locked by the caller; OUT = its first FILE: checked)
    wide = max(len("from"), *(len(str(file)) for file in files[1:]))
    lines = [f"{'from':<{wide}} {'ID':>6} -> {'ID':>6}  similarity"]
    for link in merged.links:
        said = "new" if link.similarity is None else f"{link.similarity:.3f}"
        lines.append(f"{link.source!s:<{wide}} {link.from_id:>6} -> {link.to_id:>6}  {said:>10}")
    parts, start = [f"{files[0]}: {sizes[0]}, IDs kept"], 0
    for file, size in zip(files[1:], sizes[1:], strict=True):
        joined = sum(link.joined for link in merged.links[start : start + size])
        parts.append(f"{file}: {size}, {joined} joined, {size - joined} new")
        start += size
    gone = merged.dropped
    dropped = f"; {count(len(gone), 'identity', 'identities')} forgotten beyond gallery.max_identities ({listed(gone)})"
    total = f"{count(len(merged.gallery), 'identity', 'identities')} ({'; '.join(parts)}){dropped if gone else ''}"
    if args.dry_run:
        return [*lines, f"would write {out}: {total} (a dry run: nothing written)"]
    return [*lines, f"wrote {out}: {total}"]


def _note_if_in_use(path: Path, gallery: Any, missed: str) -> None:
    """One note on stderr when another process holds the lock of the gallery file `path` just read (a `track` run
    that will save it again): what was read is the version it saved last, whole (saves are atomic renames), and
    `missed` says what that leaves out."""
    from tracker.gallery_export import utc_text
    from tracker.io.lock import GALLERY_HOLDERS, gallery_holder

    holder = gallery_holder(path)
    if holder is not None and gallery.file is not None:
        saved = utc_text(gallery.file[1][3] / 1e9)  # (the version read: its modification time)
        print(
            f"track gallery: note: {path} is in use by {GALLERY_HOLDERS} (process {holder}): read as it saved it "
            f"last ({saved}); {missed}",
            file=sys.stderr,
        )


def _merge_interrupted(path: Path, before: Any) -> str:
    """What a Ctrl-C during `track gallery merge` left: OUT as it was (before the save's rename; a new OUT: not made,
    where "as it was" sent users looking for it), or the merged one."""
    if _version(path) == before:
        return f": nothing written, {path} is as it was" if before is not None else f": nothing written, no {path} made"
    return f" once {path} was written: it holds the merged identities (`track gallery ls {path}` lists them)"


def _export(args: argparse.Namespace) -> str:
    """`track gallery export`: write the table (and the prototypes); returns the line to print."""
    from tracker.gallery import Gallery
    from tracker.gallery_export import check_outputs, write_prototypes, write_table

    check_outputs(args.output, args.prototypes, source=args.file)  # (before anything is written)
    gallery = Gallery.load(args.file, prune=False)
    _note_if_in_use(args.file, gallery, f"what it saves later is not in {args.output}")
    said = f"wrote {count(write_table(gallery, args.output), 'identity', 'identities')} to {args.output}"
    if args.prototypes is not None:
        rows = write_prototypes(gallery, args.prototypes)
        said += f" and {count(rows, 'prototype')} (D = {gallery.dim or 0}) to {args.prototypes}"
    return said


def _nothing_pruned(path: Path, identities: int, retention: Any) -> str:
    """`track gallery prune`'s line when the retention policy (`GalleryConfig`) forgets no identity."""
    return (
        f"nothing to remove: gallery.max_days_unseen ({retention.max_days_unseen:g} days) and max_identities "
        f"({retention.max_identities}) keep every identity of {path} ({identities}); the file is as it was"
    )


def _edit_interrupted(path: Path, gallery: Any) -> str:
    """What a Ctrl-C during `track gallery rm|prune` left: the file as it was (before the save's rename, which is
    atomic), or the edited one (the rename done, the folder's fsync interrupted)."""
    from tracker.gallery_file import file_version

    if gallery is None or gallery.file is None or file_version(path) == gallery.file[1]:
        return f": nothing removed, {path} is as it was"
    return f" once {path} was written: the identities are removed (`track gallery ls {path}` lists what is left)"


_UNNAMED_SOURCE = "-"  # `track gallery ls`: a sighting recorded by a `Tracker` made without a `source_name`


def _gallery_listing(gallery: Any) -> list[str]:
    """`track gallery ls`'s lines: a headline, then one row per identity: its class by name where the gallery knows
    the detector's names (else its number), times in UTC (`utc_text`: local times without a zone were ambiguous)."""
    from tracker.gallery_export import utc_text as when

    model = gallery.model
    made_by = "" if model is None else f", ReID model {model.name} (weights {model.weights_digest})"
    if not len(gallery):  # not "0 identities, D = None" over an empty table
        return [f"empty gallery: no identities{made_by}"]
    names = gallery.class_names
    classes = {i.global_id: names.get(i.class_id, str(i.class_id)) for i in gallery.identities}
    wide = max(len("class"), *map(len, classes.values()))
    lines = [
        f"{count(len(gallery), 'identity', 'identities')}, D = {gallery.dim}{made_by}",
        f"{'ID':>6} {'class':>{wide}} {'seen':>5} {'first seen':<20} {'last seen':<20} last source (frame)",
    ]
    for i in gallery.identities:
        last = i.last_seen
        lines.append(
            f"{i.global_id:>6} {classes[i.global_id]:>{wide}} {i.sightings:>5} {when(i.first_seen.time):<20} "
            f"{when(last.time):<20} {last.source or _UNNAMED_SOURCE} ({last.frame})"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `track` console script; returns the exit code."""
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", _FFMPEG_QUIET)
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        if argv and argv[0] == "gallery":
            with terminating_interrupts():  # `kill PID` during rm's save: as Ctrl-C (one line, no temp file left)
                return _gallery(argv[1:])
        if argv and argv[0] == "batch":
            return _batch(argv[1:])
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
