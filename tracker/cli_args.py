"""What every `track` command (and the tools in tools/) shares on the command line: exit statuses, argparse types
that say what a value must be, an action that refuses one option given twice with two values, and `--set` overrides
read as `load_config` reads them."""

from __future__ import annotations

import argparse
import os
import re
import shlex
import sys
from collections.abc import Collection, Iterator, Mapping
from pathlib import Path
from typing import Any

from tracker.config_build import CLASS_EXAMPLES  # (`--classes person` is told the ids it takes, as the config is)
from tracker.io.names import shown_name

__all__ = [
    "BOXMOT_OPTIONS",
    "CLASS_EXAMPLES",
    "END_OF_OPTIONS",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_SOME_FAILED",
    "EXIT_USER_ERROR",
    "GUESSED_OPTIONS",
    "PEER_OPTIONS",
    "SET_KEYS",
    "TRACK_ONLY_OPTIONS",
    "VERBOSE_HELP",
    "GivenOnce",
    "GivenOnceAsSet",
    "GivenOnceSwitch",
    "class_id",
    "device_text",
    "frame_rate_arg",
    "non_negative_float",
    "non_negative_int",
    "option_overrides",
    "override_text",
    "path_arg",
    "path_text",
    "peer_setting_word",
    "positive_int",
    "refuse_misread_options",
    "refuse_sources_among_class_ids",
    "say",
    "sequence_name",
    "tell",
    "unknown_options",
]

EXIT_OK = 0
EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it
EXIT_SOME_FAILED = 1  # track batch: some videos failed, the others finished
VERBOSE_HELP = (  # `--verbose` of every `track` command that tracks (track, batch, eval, compare)
    "also every library's INFO log lines, and tracebacks of errors (the tracker's warnings show without it)"
)
SET_KEYS = frozenset({"detector.classes"})  # keys read as sets (a box of a listed class is kept): order, repeats moot
_GIVEN_PREFIX = "given_"  # namespace attribute marking an option `GivenOnce` has seen
END_OF_OPTIONS = "--"  # what argparse (and POSIX tools) read as: every argument after it is a name, not an option
# ultralytics' `yolo track` settings (cfg/default.yaml: `conf=0.3`, written `--conf 0.3`; BoxMOT's `boxmot track` takes
# most of them so too) that `track` has no option of that name for: ours for each, or why there is none. Those it has
# (--model, --classes, --device, --vid-stride, --line-width, --show, --verbose) are its own options.
PEER_OPTIONS = {
    "--conf": "--set detector.confidence=VALUE",
    "--iou": "--set detector.iou=VALUE",
    "--imgsz": "--set detector.image_size=VALUE",
    "--img": "--set detector.image_size=VALUE",  # (BoxMOT's and YOLOv5's spellings of imgsz)
    "--img-size": "--set detector.image_size=VALUE",
    "--half": "--set detector.half=true",
    "--source": "the source itself, without an option (track VIDEO)",
    "--tracker": "--config FILE (this tracker's YAML, as configs/default.yaml; its trackers' keys are told ours)",
    "--project": "--out DIR",
    "--name": "--out DIR",
    "--exist-ok": "--out DIR (a folder given is reused, the outputs of an earlier run in it replaced)",
    "--weights": "--model PATH for the detector's (as --set detector.model=PATH), --set reid.weights=PATH for the "
    "ReID's",
    "--save-txt": "no option: the MOT txt and the JSONL are always written",
    "--save-conf": "no option: the JSONL holds each box's score",
    "--save-crop": "no option: no crops are written (the MOT txt, the JSONL and the annotated mp4 are)",
    "--save-frames": "no option: no frames are written as images (the annotated mp4 holds them)",
    "--show-labels": "no option: the annotated mp4 always labels each box with its track's ID",
    "--show-conf": "no option: the annotated mp4 shows no scores (the JSONL holds them)",
    "--show-boxes": "no option: the annotated mp4 always draws the boxes (--no-save-video leaves it out)",
    "--max-det": "no option: this tracker keeps the boxes of ultralytics' default max_det (300 a frame)",
    "--agnostic-nms": "no option: ultralytics' non-maximum suppression runs per class, its default (--classes picks "
    "the classes tracked)",
    "--augment": "no option: the detector runs without test-time augmentation",
    "--batch": "no option: a source's frames are tracked one at a time, in order (track batch tracks many videos "
    "at once)",
    "--persist": "no option: IDs persist through every frame of a source, and with --gallery FILE across sources",
    "--stream-buffer": "no option: a live stream's frames are tracked in order as they are read",
}
BOXMOT_OPTIONS = {  # BoxMOT's `boxmot track` options: ours for each (it said "unrecognized arguments")
    "--yolo-model": "--model PATH (as --set detector.model=PATH)",
    "--reid-model": "--set reid.weights=PATH",
    "--tracking-method": "no option: this is one tracker, set by --config FILE and --set KEY=VALUE (a BoxMOT tracker "
    "YAML given as --config is told ours, setting by setting)",
    "--save": "no option: the annotated mp4 is written by default (--no-save-video leaves it out), the MOT txt and "
    "the JSONL always",
    "--save-mot": "no option: the MOT txt and the JSONL are always written",
    "--show-trajectories": "no option: the annotated mp4 draws each ID's recent trail",
    "--per-class": "--set 'classes.compatible_groups=[]' (classes that share no group never share a track)",
    "--save-id-crops": "no option: no crops are written (the MOT txt, the JSONL and the annotated mp4 are)",
}
# options a user guesses that no tracker of ours or theirs has (argparse said "unrecognized arguments: --output res"):
# (our option, what to give), told where the command has our option
GUESSED_OPTIONS = {
    **dict.fromkeys(
        ("--output", "--output-dir", "--outdir", "--out-dir", "--save-dir", "-o"), ("--out", "give --out DIR")
    ),
    "--no-show": ("--show", "leave --show out (it is off unless given)"),
}
_SET_OPTION = "--set"  # what every command that tracks takes (`track`, batch, eval, compare; not `track gallery`)
TRACK_ONLY_OPTIONS = {  # `track`'s options that its other tracking commands have not (`refuse_misread_options`): why
    "--vid-stride": "MOTChallenge scores are of every frame, and the sequences' ground truth numbers each one; track "
    "VIDEO --vid-stride N tracks every Nth frame of a video",
    "--line-width": "it draws no video; track VIDEO --line-width N draws one",
    "--model": "give the detector as --set detector.model=PATH (track eval and compare run it with --detections "
    "detector)",
}
_SETTING_WORD = re.compile(r"[A-Za-z_][\w.]*=.*", re.DOTALL)  # `conf=0.3`: ultralytics' CLI sets keys so (`yolo track`)
_SOURCE_KEY = "source"  # `yolo track source=VIDEO`: the word that names the source
_TRACKER_KEY = "tracker"  # `yolo track tracker=bytetrack.yaml`: its tracker's YAML


class GivenOnce(argparse.Action):
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


class GivenOnceSwitch(argparse.BooleanOptionalAction):
    """`--save-video` / `--no-save-video` (argparse's `BooleanOptionalAction`) as `GivenOnce`: both given is the
    parser's usage error naming both (`--save-video --no-save-video` ran without a video, the last one given);
    one of them given twice says the same thing."""

    def __call__(
        self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any, option: str | None = None
    ) -> None:
        given = f"{_GIVEN_PREFIX}{self.dest}"
        earlier = getattr(namespace, given, None)  # the option string given before, if any
        if earlier is not None and (earlier.startswith("--no-") != str(option).startswith("--no-")):
            parser.error(f"{earlier} and {option} say different things: give one")
        super().__call__(parser, namespace, values, option)
        setattr(namespace, given, option)


class GivenOnceAsSet(GivenOnce):
    """`GivenOnce` of an option read as a set (`--classes`, as `SET_KEYS`): `--classes 0 2 --classes 2 0` is one
    value given twice (it was refused as two different ones)."""

    @staticmethod
    def same(earlier: Any, values: Any) -> bool:
        """Whether the two lists hold the same items, whatever their order and repeats."""
        return set(earlier) == set(values)


def unknown_options(parser: argparse.ArgumentParser, argv: list[str]) -> Iterator[str]:
    """The arguments of `argv` before its first `--` that begin with `-` (not `-` alone, stdin's name) and whose name
    (before any `=`) is no option of `parser`: an option misspelt, or a file name that reads as an option."""
    options = set(parser._option_string_actions)  # every option's spellings (argparse keeps no public list)
    for arg in argv:
        if arg == END_OF_OPTIONS:
            return
        if arg.startswith("-") and arg != "-" and arg.split("=")[0] not in options:
            yield arg


def refuse_misread_options(parser: argparse.ArgumentParser, argv: list[str]) -> None:
    """Stop with a usage error naming an option `parser` does not have that it would have read as another, or that
    is another tracker's: argparse took any prefix of an option for it, so ultralytics' `--conf 0.3` was `--config
    0.3` ("cannot read config file 0.3") and `--max 5` was `--max-frames 5`. The parser must be built with
    `allow_abbrev=False`, which makes such a prefix an unknown option; this says what to write instead (a peer's
    option, `PEER_OPTIONS` or `BOXMOT_OPTIONS`, is told ours; an option of `track` alone, `TRACK_ONLY_OPTIONS`, why
    this command that tracks (it takes `--set`) has it not; one written with `_` for `-`, `--vid_stride`, its
    spelling; a prefix, the options it begins; one a user guesses, `GUESSED_OPTIONS` (`--output`, `-o`), ours; a
    switch given a value, `--show=False`, to give it alone or leave it out). Arguments after `--` are left alone.

    Raises:
        SystemExit: status 2, through `parser.error`, for the first such argument.
    """
    actions = parser._option_string_actions  # every option's spellings and action (argparse keeps no public list)
    options = set(actions)
    _refuse_switch_values(parser, argv, actions)
    for arg in unknown_options(parser, argv):
        name = arg.split("=")[0]
        ours, advice = GUESSED_OPTIONS.get(name, ("", ""))
        if ours in options:
            parser.error(f"{name} is not an option of {parser.prog}: {advice}")
        if not name.startswith(END_OF_OPTIONS):
            continue
        dashed = name.replace("_", "-")  # (ultralytics' keys are written with `_`: `--vid_stride`, `--agnostic_nms`)
        if dashed != name and dashed in options:
            parser.error(f"{name} is not an option of {parser.prog}: write it with dashes ({dashed})")
        if dashed in PEER_OPTIONS:
            parser.error(
                f"{name} is not an option of {parser.prog}: for ultralytics' {dashed}, give {PEER_OPTIONS[dashed]}"
            )
        if dashed in BOXMOT_OPTIONS:
            parser.error(
                f"{name} is not an option of {parser.prog}: for BoxMOT's {dashed}, give {BOXMOT_OPTIONS[dashed]}"
            )
        if dashed in TRACK_ONLY_OPTIONS and _SET_OPTION in options:  # (commands that track: not `track gallery`)
            parser.error(f"{name} is an option of track, not of {parser.prog}: {TRACK_ONLY_OPTIONS[dashed]}")
        begun = sorted(option for option in options if option.startswith(name))
        if begun:
            parser.error(f"{name} is not an option of {parser.prog}: write the option in full ({', '.join(begun)})")


def _refuse_switch_values(
    parser: argparse.ArgumentParser, argv: list[str], actions: Mapping[str, argparse.Action]
) -> None:
    """Stop with a usage error for a switch given a value (`--show=False`, `--save-video=false`, as ultralytics'
    `show=False` is written): argparse said "ignored explicit argument 'False'", not what to give. Arguments after
    `--` are left alone.

    Raises:
        SystemExit: status 2, through `parser.error`, for the first such argument.
    """
    for arg in argv:
        if arg == END_OF_OPTIONS:
            return
        name, given, _ = arg.partition("=")
        action = actions.get(name)
        if not (given and name.startswith(END_OF_OPTIONS) and action is not None and action.nargs == 0):
            continue
        plain = name.removeprefix(f"{END_OF_OPTIONS}no-")
        other = f"--no-{plain.removeprefix(END_OF_OPTIONS)}" if plain == name else f"{END_OF_OPTIONS}{plain}"
        if other in actions:  # (`--save-video` / `--no-save-video`)
            parser.error(f"{name} takes no value: give {other}, or {name} alone")
        parser.error(f"{name} takes no value: leave {name} out (it is off unless given), or give {name} alone")


def _parse(text: str, convert: type[int] | type[float], what: str) -> Any:
    """`convert(text)`, or the option's usage error saying what it must be (not argparse's `invalid <function name>
    value`)."""
    try:
        return convert(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}") from None


def path_text(text: str) -> str:
    """argparse type of a file or folder name: `text`, a leading `~` as the home folder, or the option's usage error
    for an empty one. `--out ""` (a shell variable left unset) wrote a run's outputs into the current folder,
    replacing files of those names, and `--config ""` said "cannot read config file .: Is a directory". The shell
    leaves `~` as it is after `--out=` and in quotes: `--out=~/runs` wrote into a folder named `~` in the current
    one (which a later `rm -r ~` takes for the home folder), as `reid.weights` and `$TRACKER_WEIGHTS_DIR` expand it."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty path (a shell variable left unset?): name a file or folder")
    return os.path.expanduser(text)


def device_text(text: str) -> str:
    """argparse type of `--device`: `text`, or the option's usage error for an empty one or one that is no device
    the config takes. `--device ""` (a shell variable left unset) ran on the automatic device, as if the option were
    left out; ultralytics' `--device 0` (its first GPU) said "device: expected a string, got 0" of the string given
    (YAML read the override `device=0` as a number). Whether this machine has the device is checked later; one
    of PyTorch's devices of another kind (`--device mps`, Apple's GPU: "is not a device") is told unsupported, with
    the devices this machine can use (`tracker.device.usable_devices`)."""
    from tracker.config import ConfigError, load_config, unsupported_device

    if not text.strip():
        raise argparse.ArgumentTypeError(
            "an empty device (a shell variable left unset?): give auto, cpu, cuda or cuda:N, or leave --device out"
        )
    try:
        load_config(None, {"device": text})  # (the config's own rule: what `--set device=...` is checked by)
    except ConfigError as error:
        note = f" (ultralytics' device {text} is cuda:{text})" if text.strip().isdigit() else ""
        if unsupported_device(text):
            from tracker.device import usable_devices  # (imports torch: only for this error)

            note = f" (this machine can use {usable_devices()})"
        raise argparse.ArgumentTypeError(f"{str(error).removeprefix('device: ')}{note}") from None
    return text


def path_arg(text: str) -> Path:
    """`path_text` as a Path."""
    return Path(path_text(text))


def positive_int(text: str) -> int:
    """argparse type of counts (frames, processes) and IDs: an integer in [1, `sys.maxsize`], else the option's usage
    error. `--max-frames 99999999999999999999` (every frame, said large) loaded the models, then stopped with
    Python's own "Stop argument for islice() must be None or an integer: 0 <= x <= sys.maxsize"."""
    value = _parse(text, int, "a whole number >= 1")
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    if value > sys.maxsize:
        raise argparse.ArgumentTypeError(f"must be at most {sys.maxsize}, got {value}")
    return value


def line_width(text: str) -> int:
    """argparse type of `--line-width`: a whole number of pixels in [1, `MAX_LINE_WIDTH`], else the option's usage
    error. `--line-width 40000` tracked the first frame, then stopped with OpenCV's traceback (`thickness <=
    MAX_THICKNESS in function 'rectangle'`)."""
    # (imported here: tracker.io.video imports torch through tracker.types, and `track batch` refuses a source that
    # names nothing before torch loads: test_a_batch_of_only_missing_sources_fails_before_importing_torch)
    from tracker.io.video import MAX_LINE_WIDTH

    value = positive_int(text)
    if value > MAX_LINE_WIDTH:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_LINE_WIDTH}, got {value}")
    return value


def class_id(text: str, command: str = "track") -> int:
    """argparse type of `--classes`: a whole number; a name (`--classes person`) is told the ids (argparse's own
    "invalid int value: 'person'" did not say that classes are numbered, nor which number a person is). Several ids
    are separate words: `--classes 0,2` and an empty one (a shell variable left unset) are told so (it said "not a
    name"), and so is a source given after the ids (`track --classes 0 cam.mp4`: it said "not a name, got
    'cam.mp4'"), its example of the right order given as `command` (the parser's prog: `track batch --classes 0
    cam.mp4` was shown `track cam.mp4 --classes 0 ...`)."""
    if not text.strip():
        raise argparse.ArgumentTypeError(
            "an empty class id (a shell variable left unset?): give ids as separate words, --classes 0 2"
        )
    if "," in text:
        raise argparse.ArgumentTypeError(f"class ids are separate words, --classes 0 2, not a comma list: got {text!r}")
    try:
        return int(text)
    except ValueError:
        pass
    if _names_a_source(text):  # `track --classes 0 cam.mp4`: the words after --classes are all taken as its ids
        raise argparse.ArgumentTypeError(_sources_first(command, text, [text], [_CLASSES_OPTION, _EXAMPLE_CLASS]))
    return _parse(text, int, f"a class id, a whole number ({CLASS_EXAMPLES}), not a name")


def refuse_sources_among_class_ids(parser: argparse.ArgumentParser, argv: list[str]) -> None:
    """Stop with `class_id`'s usage error for a source among the words `--classes ID ...` takes as its ids, its
    example of the right order holding every source of `argv`, those before, among and after the ids, in the order
    given, then the other words as given (options, their values, the ids): `class_id` sees one word, so `track
    --classes 0 a.mp4 b.mp4` was shown `track a.mp4 --classes 0 ...` and `track a.mp4 --classes 0 b.mp4` `track
    b.mp4 --classes 0 ...`, each dropping a source. Options of `parser` and their values are passed over (an option
    it lacks is left to `refuse_misread_options`); every word after `--` is a source.

    Raises:
        SystemExit: status 2, through `parser.error`, where a word after `--classes` names a source.
    """
    actions = parser._option_string_actions  # every option's spellings and action (argparse keeps no public list)
    sources: list[str] = []
    rest: list[str] = []  # the other words, in order (not the `--`)
    ids: list[str] = []
    misplaced = ""
    run: str | None = None  # the option whose values the words now are (`--classes`, another of nargs "+")
    words = iter(argv)
    for word in words:
        if word == END_OF_OPTIONS:
            sources.extend(words)
            break
        if word.startswith("-") and word != "-" and not _reads_as(word, float):
            rest.append(word)
            name, joined, _ = word.partition("=")
            action = actions.get(name)
            run = None
            if action is None or joined or action.nargs == 0:
                continue
            if action.nargs in (argparse.ONE_OR_MORE, argparse.ZERO_OR_MORE):
                run = name
            else:
                value = next(words, None)  # (its value: one word)
                rest.extend(() if value is None else (value,))
            continue
        if run == _CLASSES_OPTION and _reads_as(word, int):  # (first, as `class_id`: `0` also where a file is so named)
            ids.append(word)
            rest.append(word)
        elif run == _CLASSES_OPTION and not _names_a_source(word):
            rest.append(word)  # (a name, `person`: left to `class_id`)
        elif run is None or run == _CLASSES_OPTION:
            misplaced = misplaced or (word if run else "")
            sources.append(word)
        else:
            rest.append(word)
    if misplaced:
        if not ids:  # (`track --classes cam.mp4`: the example's id, after the first --classes)
            at = rest.index(_CLASSES_OPTION) + 1
            rest[at:at] = [_EXAMPLE_CLASS]
        parser.error(f"argument {_CLASSES_OPTION}: {_sources_first(parser.prog, misplaced, sources, rest)}")


_CLASSES_OPTION = "--classes"
_EXAMPLE_CLASS = "0"  # the example's id where the user gave none before the source: person, the default


def _reads_as(word: str, kind: type[int] | type[float]) -> bool:
    """Whether `word` reads as a `kind` number: `int`, a class id as `class_id` reads it; `float`, any number (`-1`,
    which argparse reads as a value, not an option)."""
    try:
        kind(word)
    except ValueError:
        return False
    return True


def _sources_first(command: str, word: str, sources: list[str], rest: list[str]) -> str:
    """The usage error for a source `word` given after `--classes`, with its example, a command that runs as printed:
    `command`, the `sources` in order, then the `rest` of the words given (options, their values, the ids). Words
    are quoted as a shell needs them (`shlex.join`): a quoted glob shown bare, `track frames/*.jpg --classes 0`, was
    expanded when copied. Where a source starts with '-' (given after `--`) the sources come last, after `--`:
    shown first and bare (`track -c.mp4 --classes 2`), it was read as an option. (It ended `--classes 0 ...`, the
    "..." read as a class id.)"""
    if any(source.startswith("-") and source != "-" for source in sources):
        words = [*rest, END_OF_OPTIONS, *sources]
    else:
        words = [*sources, *rest]
    return (
        f"must be class ids, got {word!r}, a source: --classes takes every word after it as an id, so give the "
        f"sources first ({command} {shlex.join(words)})"
    )


def _names_a_source(text: str) -> bool:
    """Whether a word given as a class id names a source instead: an existing file or folder, a path, a glob, a URL
    or a file name with an extension (`clip.mp4`; not a number such as `0.5`)."""
    extension = Path(text).suffix[1:]
    return os.path.exists(text) or any(mark in text for mark in "/\\*?") or bool(extension and not extension.isdigit())


def override_text(text: str) -> str:
    """argparse type of `--set`: KEY=VALUE in one word, else the option's usage error. `--set detector.confidence
    0.3` (the value as a word of its own, as `--conf 0.3` is written) was told "unrecognized arguments: 0.3", which
    did not say that `--set` wants it joined to its key; `--set detector.classes=[0, 2]` unquoted (split by the
    shell) "unrecognized arguments: 2]": a YAML list or mapping not closed in the word is told to quote it."""
    if "=" not in text:
        raise argparse.ArgumentTypeError(
            f"must be KEY=VALUE in one word, got {text!r} (--set {text.strip() or 'KEY'}=VALUE: no space around =, "
            "quotes around a value with spaces)"
        )
    value = text.partition("=")[2].strip()
    for opener, closer in _FLOW_BRACKETS.items():  # `--set detector.classes=[0, 2]` unquoted: "[0," then "2]"
        if value.startswith(opener) and value.count(closer) < value.count(opener):
            raise argparse.ArgumentTypeError(
                f"{text!r} ends before its {opener!r} is closed (the shell split the value at a space?): quote it "
                f"whole, --set '{text} ...{closer}'"
            )
    return text


_FLOW_BRACKETS = {"[": "]", "{": "}"}  # a YAML flow list's and mapping's brackets (a value of `--set`)


def peer_setting_word(word: str, command: str = "track", options: Collection[str] = ()) -> str | None:
    """The error for a source word that is ultralytics' `KEY=VALUE` (`track source=cam.mp4 conf=0.3`, as `yolo
    track` takes them) and names no file: it said "no such file or folder: conf=0.3". None for any other word.
    `command`: the command the source was given to (`track batch`), for the command line the error suggests;
    `options`: its options, one of which a key that is no config key may name (`vid_stride=2`: `--vid-stride 2`);
    given as the parser's mapping of each option to its action, a switch is told as one (`show=False`: leave `--show`
    out). A key of ultralytics' or BoxMOT's that `track` has no option of is told what to give (`PEER_OPTIONS`,
    `BOXMOT_OPTIONS`: `save_txt=True`, none), unless the config names its key (`conf=0.3`: `detector.confidence`)."""
    from tracker.config import ConfigError, load_config

    if os.path.exists(word) or not _SETTING_WORD.fullmatch(word):
        return None
    key, _, value = word.partition("=")
    if key == _SOURCE_KEY:
        return f"{word} is ultralytics' way to name the source: give the source itself ({command} {value})"
    if key == _TRACKER_KEY:
        return f"{word} is ultralytics' tracker YAML: give this tracker's as --config FILE (as configs/default.yaml)"
    try:
        load_config(None, [word])
    except ConfigError as error:
        option = f"{END_OF_OPTIONS}{key.replace('_', '-')}"
        if option in options:
            action = options.get(option) if isinstance(options, Mapping) else None
            return f"{word} is ultralytics' setting: {_option_given(option, value, action, options)}"
        peer = PEER_OPTIONS.get(option) or BOXMOT_OPTIONS.get(option)
        if peer is not None and "did you mean" not in str(error):  # (`conf=0.3`: the config's key is named)
            return f"{word} is ultralytics' setting: give {peer}"
        return f"{word} is no file or folder, nor a setting --set takes: {error}"
    return f"{word} is no file or folder: give a setting as --set {word}"


def _option_given(option: str, value: str, action: argparse.Action | None, options: Collection[str]) -> str:
    """What to give for ultralytics' `KEY=value` whose key is our `option` (its parser's `action`, where known): a
    switch alone or left out (`show=False` was told "give --show False", itself a usage error), a list as separate
    words (`classes=[0,2]`: `--classes 0 2`), ultralytics' device number as ours (`device=0`: `--device cuda:0`)."""
    import yaml

    try:
        read = yaml.safe_load(value)
    except yaml.YAMLError:
        read = value
    if action is not None and action.nargs == 0:  # a switch: on when given
        if read:
            return f"give {option}"
        negative = f"--no-{option.removeprefix(END_OF_OPTIONS)}"
        return f"give {negative}" if negative in options else f"leave {option} out (it is off unless given)"
    if isinstance(read, list):
        return f"give {option} {' '.join(map(str, read))}"
    if action is not None and action.type is device_text and value.strip().isdigit():
        return f"give {option} cuda:{value.strip()}"
    return f"give {option} {value}"


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


def frame_rate_arg(text: str) -> float:
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
    keys it holds. An option's value the config refuses is the parser's usage error naming the option as typed and
    the key: `--classes -1` stopped with "detector.classes[0]: -1 must be 0 or more", a key the user never wrote
    (`_refuse_option_value`)."""
    from tracker.config import ConfigError, split_override

    given = {key: (flag, _yaml_flow(value)) for flag, (key, value) in options.items() if value is not None}
    seen = {key: (flag, split_override(f"{key}={option}")[1]) for key, (flag, option) in given.items()}
    for key, (flag, said) in seen.items():
        _refuse_option_value(parser, flag, key, said)
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


def _refuse_option_value(parser: argparse.ArgumentParser, flag: str, key: str, value: Any) -> None:
    """Stop with the parser's usage error where the config refuses `value` (as read from YAML) at the dotted `key`
    that the option `flag` sets: "--classes -1: detector.classes[0]: -1 must be 0 or more", the option as typed
    (a list's items as separate words) then the config's own error, key included. An error about another key (none
    here: the option's value is checked against the defaults alone) is left to the config when it loads."""
    from tracker.config import ConfigError, load_config

    try:
        load_config(None, {key: value})
    except ConfigError as error:
        if error.key != key:
            return
        typed = " ".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)
        parser.error(f"{flag} {typed}: {error}")


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
    0` is `(0,)`, as is `[0]`, and a key read as a set (`SET_KEYS`) is compared as one (`[0, 0]` is `[0]`); `value`
    itself where the config refuses it (its own error comes when the config loads)."""
    from tracker.config import ConfigError, load_config

    try:
        setting: Any = load_config(None, {key: value})
    except ConfigError:
        return value
    for part in key.split("."):
        setting = getattr(setting, part)
    return frozenset(setting) if key in SET_KEYS else setting


def _yaml_flow(value: Any) -> str:
    """`value` as the YAML a `--set` reads back to it (a list of ints: `[0, 2]`)."""
    return f"[{', '.join(map(str, value))}]" if isinstance(value, list) else str(value)


def tell(text: str) -> None:
    """Print one of a command's error, note or interruption lines to stderr, each byte of a name in it that is not
    UTF-8 shown as U+FFFD (`shown_name`): as it is, stderr showed Python's `\\udce9` escapes, and a strict UTF-8
    stream raised UnicodeEncodeError."""
    print(shown_name(text), file=sys.stderr)


def say(text: str) -> None:
    """Print one line of a command's answer (a listing, a table, a summary) to stdout, each byte of a name in it that
    is not UTF-8 shown as U+FFFD (`shown_name`): a strict UTF-8 stdout raised UnicodeEncodeError on such a name (its
    notes and errors: `tell`). A reader that left early (BrokenPipeError) is the caller's to handle."""
    print(shown_name(text))
