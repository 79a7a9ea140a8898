"""`track gallery ls|rm|prune|merge|export`: inspect, edit, combine and export identity galleries (argument parsing
and error reporting; the work is in tracker.gallery*)."""

from __future__ import annotations

import argparse
import os
import shlex
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

from tracker.cli_args import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USER_ERROR,
    GivenOnce,
    option_overrides,
    override_text,
    path_arg,
    path_text,
    positive_int,
    refuse_misread_options,
    say,
    tell,
)
from tracker.closed_pipe import silence_stdout
from tracker.file_errors import one_line
from tracker.io.names import shown_apart
from tracker.wording import LISTED_MOST, count, listed

__all__ = ["gallery_main", "gallery_parser"]


def gallery_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="track gallery",
        allow_abbrev=False,
        description="Inspect, edit, merge and export identity gallery files (they hold biometric-like data: keep them "
        "private).",
    )
    # (the metavar names the choices where argparse said "the following arguments are required: action")
    sub = p.add_subparsers(dest="action", required=True, metavar="{ls,rm,prune,merge,export}")
    ls = _action_parser(
        sub,
        "ls",
        help="list the identities",
        description="List the identities: ID, class, sightings, first and last seen (ISO 8601, UTC), last source; "
        "several files: one block each, headed by its name (a file that cannot be read: one error line naming it, the "
        "others still listed, exit status 2).",
    )
    ls.add_argument(
        "files", type=path_arg, nargs="+", metavar="FILE", help="the gallery file (`track --gallery FILE`), or several"
    )
    ls.add_argument(
        "--sources",
        action="store_true",
        help="also list the sources (videos) whose sightings it holds, which tracking into it again is refused",
    )
    rm = _action_parser(
        sub,
        "rm",
        help="forget identities by global ID",
        description="Remove the identities with these global IDs from FILE and write it back. An ID the gallery "
        "does not hold is an error, and then nothing is removed.",
    )
    _gallery_file_arg(rm)
    rm.add_argument(
        "ids", type=positive_int, nargs="+", metavar="ID", help="global IDs to forget (`track gallery ls` lists them)"
    )
    prune = _action_parser(
        sub,
        "prune",
        help="apply the retention policy (gallery.max_days_unseen, max_identities)",
        description="Remove the identities unseen for more than gallery.max_days_unseen days, then the least "
        "recently seen beyond gallery.max_identities, and write FILE back (a run with --gallery does this too).",
    )
    _gallery_file_arg(prune)
    _config_options(prune, "YAML config with the retention keys (default: built-in defaults)")
    prune.add_argument(
        "--dry-run", action="store_true", help="say which identities it would remove, and leave the file as it is"
    )
    _merge_parser(sub)
    _export_parser(sub)
    return p


def _action_parser(sub: Any, name: str, help: str, description: str) -> argparse.ArgumentParser:
    """The parser of the action `name`: no option prefixes (`--conf x` was `--config x`, as in `track`:
    `refuse_misread_options`), and itself the parser whose usage an extra argument is reported under."""
    parser = sub.add_parser(name, allow_abbrev=False, help=help, description=description)
    parser.set_defaults(action_parser=parser)
    return parser


def _merge_parser(sub: Any) -> None:
    """`track gallery merge A B [...] -o OUT`."""
    merge = _action_parser(
        sub,
        "merge",
        help="combine galleries (e.g. two cameras') into one",
        description="Write the identities of every FILE into one gallery OUT. The first file's keep their IDs; an "
        "identity of a later file joins one already there when the gallery's own rule matches them (as `track batch "
        "--gallery` links videos: the mean of its prototypes against each identity's best prototype, at least "
        "gallery.min_similarity and ahead of the runner-up by gallery.margin, same class); the others get new IDs. "
        "The files must share the ReID model, D and class names. Prints each later identity's new ID.",
    )
    merge.add_argument(
        "files",
        type=path_arg,
        nargs="+",
        metavar="FILE",
        help="two gallery files (`track --gallery FILE`) or more, each once",
    )
    merge.add_argument(
        "-o", "--output", action=GivenOnce, type=path_arg, required=True, metavar="OUT",
        help="the merged gallery: a new file, or the first FILE (replaced); the inputs are not changed otherwise "
        "(a gallery file, not a table: a .csv, .json or .npz name is refused, `track gallery export` writes those)",
    )  # fmt: skip
    _config_options(merge, "YAML config with the gallery keys (default: built-in defaults)")
    merge.add_argument("--dry-run", action="store_true", help="print the links it would make, and write nothing")
    merge.add_argument(
        "--count-twice",
        action="store_true",
        help="merge FILEs that hold the sightings of one video all the same (refused otherwise: counted twice)",
    )


def _export_parser(sub: Any) -> None:
    """`track gallery export FILE -o TABLE [--prototypes NPZ]`."""
    export = _action_parser(
        sub,
        "export",
        help="write the identities as CSV or JSON (and the prototypes as NPZ)",
        description="Write one row per identity: global_id, class_id, class, first_seen, last_seen (ISO 8601, UTC), "
        "first_source, first_frame, last_source, last_frame, sightings, prototypes (how many).",
    )
    _gallery_file_arg(export)
    export.add_argument(
        "-o", "--output", action=GivenOnce, type=path_arg, required=True, metavar="TABLE",
        help="the table: .csv (a header line, one line per identity) or .json (a list of objects), by extension",
    )  # fmt: skip
    export.add_argument(
        "--prototypes", action=GivenOnce, type=path_arg, metavar="NPZ",
        help="also write the prototypes to this .npz (np.load): `prototypes` (M, D) float32, L2-normalised, and "
        "`global_ids` (M,) int64, the identity of each row; an identity's rows consecutive, in the table's order",
    )  # fmt: skip


def _config_options(parser: argparse.ArgumentParser, what: str) -> None:
    """`--config FILE` and `--set KEY=VALUE` of a `track gallery` command."""
    parser.add_argument(
        "--config",
        action=GivenOnce,
        type=path_text,
        metavar="FILE",  # (as `track --help` spells it; it said CONFIG)
        help=what,
    )
    parser.add_argument(
        "--set", action="append", default=[], type=override_text, metavar="KEY=VALUE", help="override a config key"
    )


def _gallery_file_arg(parser: argparse.ArgumentParser) -> None:
    """The FILE of a `track gallery` command, named and explained in its help (it was a bare "file")."""
    parser.add_argument("file", type=path_arg, metavar="FILE", help="the gallery file (`track --gallery FILE`)")


def _refuse_misread_action_options(parser: argparse.ArgumentParser, argv: list[str]) -> None:
    """`refuse_misread_options` of the action `argv` names (its first word that is one), over the words after it,
    before anything is parsed: parsing first stopped at a required option given by a prefix (`merge A B --out M`:
    "the following arguments are required: -o/--output").

    Raises:
        SystemExit: status 2, through the action parser's `error`, for an option it would have misread.
    """
    actions = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices  # (no public list)
    at = next((i for i, word in enumerate(argv) if word in actions), None)
    if at is not None:  # (no action: parsing says so)
        refuse_misread_options(actions[argv[at]], argv[at + 1 :])


def gallery_main(argv: list[str]) -> int:
    """`track gallery ls|rm|prune|merge|export`: list identities (of one file or several), forget some, apply
    retention (file rewritten atomically), combine files into one, write them out for another tool."""
    parser = gallery_parser()
    _refuse_misread_action_options(parser, argv)  # (before parsing: `merge A B --out M` said --output was missing)
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
        # (merge's OUT is chosen by -o; rm and prune edit the FILE named: nothing else to choose)
        with gallery_lock(locked, option="-o" if merges else None) if locked is not None else nullcontext():
            if args.action == "ls":
                if len(args.files) > 1:  # each file its own block: one unreadable file does not hide the others
                    return _list_several(args.files, args.sources)
                read, bad = _load_without_bad(args.files[0])
                _note_if_in_use(args.files[0], read, "what it saves later is not listed")  # (a `track` run holds it)
                for line in _gallery_listing(read, args.sources, bad):
                    say(line)
                if bad is not None:  # (listed, but it cannot be used: tracking refuses it)
                    tell(f"track gallery: error: {_bad_rows_text(args.files[0], bad)}")
                    return EXIT_USER_ERROR
            elif args.action == "merge":
                for line in _merge(args):
                    say(line)
            elif args.action == "export":
                say(_export(args))
            elif args.action == "rm":
                gallery, bad = _load_without_bad(args.file)
                left_out = () if bad is None else bad.identities  # (not read: removed by this rm, or refused)
                if not set(left_out) <= set(args.ids):
                    raise GalleryError(_bad_rows_text(args.file, bad))
                missing = [i for i in dict.fromkeys(args.ids) if i not in gallery and i not in left_out]
                if missing:
                    held = [i for i in args.ids if i in gallery or i in left_out]
                    raise GalleryError(_rm_missing(args.file, missing, held))
                removed = gallery.remove(args.ids)  # (an ID given twice is removed once)
                gallery.save(args.file, prune=False, lock=False)  # held above
                forgotten = len(removed) + len(left_out)
                say(f"removed {count(forgotten, 'identity', 'identities')}; {len(gallery)} left")
            else:
                cfg = load_config(args.config, overrides=list(args.set))
                gallery = Gallery.load(args.file, cfg.gallery, prune=False)
                if args.dry_run:  # (a prune itself takes the lock: refused while a run holds the file)
                    _note_if_in_use(args.file, gallery, "a prune without --dry-run is refused until it ends")
                removed = gallery.prune()
                gone = count(len(removed), "identity", "identities")
                if removed and args.dry_run:  # (in memory only: the file is not written)
                    refuse_read_only(Path(os.path.realpath(args.file)))  # (as the prune's save would: it said "would")
                    kept = f"{len(gallery)} would be left (a dry run: {args.file} is as it was)"
                    say(f"would remove {gone} ({listed(removed)}); {kept}")
                elif removed:  # (nothing to forget: the file stays the one a `--resume` of its run expects)
                    gallery.save(args.file, lock=False)
                    say(f"removed {gone} ({listed(removed)}); {len(gallery)} left")
                else:  # (it said "removed 0 identities (none)")
                    say(_nothing_pruned(args.file, len(gallery), cfg.gallery))
    except BrokenPipeError:  # the reader left early (`| head`): not a failure of the command
        silence_stdout()  # so Python's exit flush cannot fail
        return EXIT_OK
    except KeyboardInterrupt:  # the save is atomic: say which version the file holds
        left = _edit_interrupted(args.file, gallery) if edits else ""
        left = _merge_interrupted(args.output, before) if merges else left
        tell(f"track gallery: interrupted{left}")
        return EXIT_INTERRUPTED
    except (ConfigError, GalleryError, OSError, ValueError) as exc:
        tell(f"track gallery: error: {_error_text(exc, getattr(args, 'file', None), locked)}")
        return EXIT_USER_ERROR
    return EXIT_OK


def _error_text(exc: Exception, file: Path | None, written: Path | None = None) -> str:
    """The one line (after "error: ") a `track gallery` command says of `exc`: a missing FILE named as a gallery
    file (ls / rm / prune edit an existing gallery; `track --gallery FILE` makes a new one), a save of the gallery
    `written` (rm, prune, merge's OUT) that failed naming no other file (a full disk) named as that gallery's, else the
    message on one line."""
    if isinstance(exc, FileNotFoundError) and exc.errno is not None:  # (not one in words of ours: they name a file)
        missing = exc.filename or file or "?"  # (ls and merge: the one of their FILEs missing)
        return f"no such gallery file: {missing}{_not_saved_yet(missing)}"
    if type(exc) is OSError and exc.strerror and written is not None and not _names_another(exc, written):
        return f"the gallery {written} could not be saved: {exc.strerror}; the file was left as it was"  # (disk full)
    return one_line(exc)


def _list_several(files: list[Path], sources: bool = False) -> int:
    """`track gallery ls A B ...`: one block per file, headed by its name; a file that cannot be read (missing,
    corrupt, another format) is one error line on stderr naming it, and the others are still listed. Returns the
    exit status: 2 where any file could not be read (as for one file), else 0."""
    from tracker.gallery import GalleryError

    failed, listed_any = 0, False
    for file in files:
        try:
            read, bad = _load_without_bad(file)
        except (GalleryError, OSError, ValueError) as exc:
            tell(f"track gallery: error: {_error_text(exc, file)}")
            failed += 1
            continue
        _note_if_in_use(file, read, "what it saves later is not listed")  # (a file a `track` run holds: said)
        try:
            say(f"\n{file}:" if listed_any else f"{file}:")
            for line in _gallery_listing(read, sources, bad):
                say(line)
        except BrokenPipeError:  # the reader left (`| head`): the files after it are still read, their errors said
            silence_stdout()  # (the status was 0 and a bad file after it unnamed)
        listed_any = True
        if bad is not None:  # (listed, but it cannot be used: tracking refuses it)
            tell(f"track gallery: error: {_bad_rows_text(file, bad)}")
            failed += 1
    return EXIT_USER_ERROR if failed else EXIT_OK


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
    from tracker.gallery_merge import lookalike_note, merge_galleries

    files, out = args.files, args.output
    if len(files) < 2:
        raise GalleryError(f"merge needs two gallery files or more, got {files[0]} alone")
    _refuse_a_file_twice(files)
    _refuse_table_name(out, files[0])
    if out.exists() and os.path.realpath(out) != os.path.realpath(files[0]):
        raise GalleryError(
            f"{out} exists: merge writes a new gallery file, or replaces its first FILE ({files[0]}); "
            "choose another name for -o"
        )
    check_writable(out, "-o")  # (before the merge: a dry run said "would write" a file no save could write)
    cfg = load_config(args.config, overrides=list(args.set))
    galleries = [Gallery.load(file, cfg.gallery, prune=False) for file in files]
    for file, gallery in zip(files, galleries, strict=True):
        _note_if_in_use(file, gallery, f"what it saves later is not in {out}")
    sizes = [len(gallery) for gallery in galleries]
    merged = merge_galleries(files, galleries, count_twice=args.count_twice)
    if not args.dry_run:
        merged.gallery.save(out, prune=False, lock=False)  # (locked by the caller; OUT = its first FILE: checked)
    # each name as every line shows it: two that would show alike (non-UTF-8 bytes, both U+FFFD) with their bytes
    named = dict(zip(map(str, [*files, out]), shown_apart([*files, out]), strict=True))
    wide = max(len("from"), *(len(named[str(file)]) for file in files[1:]))
    lines = [f"{'from':<{wide}} {'ID':>6} -> {'ID':>6}  similarity"] if merged.links else []  # (no rows: no header)
    for link in merged.links:
        said = "new" if link.similarity is None else f"{link.similarity:.3f}"
        lines.append(f"{named[str(link.source)]:<{wide}} {link.from_id:>6} -> {link.to_id:>6}  {said:>10}")
    parts, start = [f"{named[str(files[0])]}: {sizes[0]}, IDs kept"], 0
    for file, size in zip(files[1:], sizes[1:], strict=True):
        joined = sum(link.joined for link in merged.links[start : start + size])
        parts.append(f"{named[str(file)]}: {size}, {joined} joined, {size - joined} new")
        start += size
    gone = merged.dropped
    dropped = f"; {count(len(gone), 'identity', 'identities')} forgotten beyond gallery.max_identities ({listed(gone)})"
    total = f"{count(len(merged.gallery), 'identity', 'identities')} ({'; '.join(parts)}){dropped if gone else ''}"
    note = lookalike_note(merged, lambda source: named[str(source)])  # (kept apart by the rule: named)
    lines += [note] if note is not None else []
    if args.dry_run:
        return [*lines, f"would write {named[str(out)]}: {total} (a dry run: nothing written)"]
    return [*lines, f"wrote {named[str(out)]}: {total}"]


def _refuse_a_file_twice(files: list[Path]) -> None:
    """GalleryError naming the first FILE given again, spelled alike or not (another path, a symbolic or hard link
    to it: one device and inode): `merge a a` wrote a copy of a and said "3 joined", where the second name was most
    likely a typo for another camera's file, whose identities were then silently missing. A copy of a gallery (another
    file) is merged as any other."""
    from tracker.gallery import GalleryError
    from tracker.gallery_file import file_version

    seen: dict[tuple[int, int], Path] = {}
    for file in files:
        version = file_version(file)
        if version is None:  # (no file: its load says so)
            continue
        first = seen.get(version[:2])
        if first is not None:
            named, first_named = shown_apart([file, first])  # (two names shown alike: each with its bytes)
            again = (
                f"{named} is given twice"
                if str(file) == str(first)
                else f"{named} is {first_named} again (the same file)"
            )
            raise GalleryError(
                f"{again}: a gallery merged with itself is that gallery, and the file meant may be missing; name each "
                "gallery file once (nothing written)"
            )
        seen[version[:2]] = file


def _refuse_table_name(out: Path, first: Path) -> None:
    """ValueError when merge's `-o` ends as `track gallery export` writes (.csv, .json, .npz) and is not the first
    FILE (a gallery so named, replaced): merge writes a gallery file, and a user who meant a table got a binary
    gallery called `ids.csv` (status 0) that no spreadsheet could read."""
    from tracker.gallery_export import PROTOTYPES_SUFFIX, TABLE_SUFFIXES

    if out.suffix.lower() in (*TABLE_SUFFIXES, PROTOTYPES_SUFFIX) and os.path.realpath(out) != os.path.realpath(first):
        gallery = out.with_suffix(".gallery")
        # (export's -o is the table: an .npz is its --prototypes, beside a table; it refused `-o x.npz`, as said)
        what, export = (
            (
                "an .npz of prototypes",
                f"-o {_pasted(out.with_suffix('.csv'))} --prototypes {_pasted(out)}` then writes them",
            )
            if out.suffix.lower() == PROTOTYPES_SUFFIX
            else (f"a {out.suffix} table", f"-o {_pasted(out)}` then writes the table")
        )
        raise ValueError(
            f"-o {out}: merge writes a gallery file (such as {gallery}), not {what}; `track gallery export "
            f"{_pasted(gallery)} "
            f"{export}"
        )


def _note_if_in_use(path: Path, gallery: Any, missed: str) -> None:
    """One note on stderr when another process holds the lock of the gallery file `path` just read (a `track` run
    that will save it again): what was read is the version it saved last, whole (saves are atomic renames), and
    `missed` says what that leaves out."""
    from tracker.gallery_export import utc_text
    from tracker.io.lock import GALLERY_HOLDERS, gallery_holder

    holder = gallery_holder(path)
    if holder is not None and gallery.file is not None:
        saved = utc_text(gallery.file[1][3] / 1e9)  # (the version read: its modification time)
        tell(
            f"track gallery: note: {path} is in use by {GALLERY_HOLDERS} (process {holder}): read as it saved it "
            f"last ({saved}); {missed}"
        )


def _merge_interrupted(path: Path, before: Any) -> str:
    """What a Ctrl-C during `track gallery merge` left: OUT as it was (before the save's rename; a new OUT: not made,
    where "as it was" sent users looking for it), or the merged one."""
    if _version(path) == before:
        return f": nothing written, {path} is as it was" if before is not None else f": nothing written, no {path} made"
    return f" once {path} was written: it holds the merged identities (`track gallery ls {_pasted(path)}` lists them)"


def _export(args: argparse.Namespace) -> str:
    """`track gallery export`: write the table (and the prototypes); returns the line to print."""
    from tracker.gallery import Gallery
    from tracker.gallery_export import check_outputs, write_prototypes, write_table

    check_outputs(args.output, args.prototypes, source=args.file, options=("-o", "--prototypes"))  # (before any write)
    gallery = Gallery.load(args.file, prune=False)
    _note_if_in_use(args.file, gallery, f"what it saves later is not in {args.output}")
    with _naming_the_file(args.output, ""):
        said = f"wrote {count(write_table(gallery, args.output), 'identity', 'identities')} to {args.output}"
    if args.prototypes is not None:
        with _naming_the_file(args.prototypes, f" ({args.output} was written)"):
            rows = write_prototypes(gallery, args.prototypes)
        said += f" and {count(rows, 'prototype')} (D = {gallery.dim or 0}) to {args.prototypes}"
    return said


def _naming_the_file(path: Path, after: str) -> AbstractContextManager[None]:
    """An OSError naming no file (a full disk: "[Errno 28] No space left on device") raised in the block is one
    naming `path`, with `after` after it; the file is as it was (the writes are atomic)."""
    from tracker.file_errors import naming

    return naming(path, lambda exc: OSError(f"cannot write {path}: {exc.strerror}; it is as it was{after}"))


def _names_another(exc: OSError, path: Path) -> bool:
    """Whether `exc` names a file other than `path` (`file_errors.names_another_file`; a full disk's names `path`
    itself, or no file)."""
    from tracker.file_errors import names_another_file

    return names_another_file(exc, path)


def _rm_missing(file: Path, missing: list[int], held: list[int]) -> str:
    """`track gallery rm`'s error when `missing` IDs are not in `file`: nothing is removed, not even the `held` ones
    also given (all or nothing), and it says which those are and the command that removes them alone. ("no identity
    5, 99, 98" read as one identity and left the held ones to guess.)"""
    missing, held = sorted(missing), sorted(set(held))
    what = "identity" if len(missing) == 1 else "identities"
    text = f"no {what} {listed(missing, sentence=True)} in {file}: nothing removed"
    pasted = _pasted(file)
    text += f" (`track gallery ls {pasted}` lists its IDs)"
    if not held:
        return text
    kept = f"; {listed(held, sentence=True)}, which it holds, {'is' if len(held) == 1 else 'are'} kept too"
    if len(held) > LISTED_MOST + 1:  # (not all named: no command to paste)
        return text + kept
    ids = " ".join(map(str, held))
    return f"{text}{kept} (`track gallery rm {pasted} {ids}` removes {'it' if len(held) == 1 else 'them'})"


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
    listing = f"`track gallery ls {_pasted(path)}`"
    return f" once {path} was written: the identities are removed ({listing} lists what is left)"


BAD_MARK = "!"  # `track gallery ls`: starts the line naming identities whose prototype rows are no look
_UNNAMED_SOURCE = "-"  # `track gallery ls`: a sighting recorded by a `Tracker` made without a `source_name`


def _gallery_listing(gallery: Any, sources: bool = False, bad: Exception | None = None) -> list[str]:
    """`track gallery ls`'s lines: a headline, then one row per identity: its class by name where the gallery knows
    the detector's names (else its number), times in UTC (`utc_text`: local times without a zone were ambiguous);
    with `sources`, then the sources whose sightings it holds (`_sources_lines`). `bad`: the
    `GalleryBadPrototypeError` of a file read without the identities it names (`_load_without_bad`): a line
    marks them after the rows."""
    from tracker.gallery_export import utc_text as when

    model = gallery.model
    made_by = "" if model is None else f", ReID model {model.name} (weights {model.weights_digest})"
    marked = [] if bad is None else [_bad_rows_line(bad)]
    if not len(gallery):  # not "0 identities, D = None" over an empty table
        return [f"empty gallery: no identities{made_by}", *marked, *_sources_lines(gallery, sources)]
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
    return [*lines, *marked, *_sources_lines(gallery, sources)]


def _load_without_bad(file: Path) -> tuple[Any, Any]:
    """The gallery of `file` as `Gallery.load(file, prune=False)` reads it, and None; or, where prototype rows of
    some identities are no look (NaN, inf, all zeros), the gallery read without those identities and the
    `GalleryBadPrototypeError` naming them (`track gallery rm` removes them, `ls` marks them; nothing else reads
    such a file).

    Raises:
        What `Gallery.load` raises, but GalleryBadPrototypeError.
    """
    from tracker.gallery import Gallery, GalleryBadPrototypeError

    try:
        return Gallery.load(file, prune=False), None
    except GalleryBadPrototypeError as exc:
        return Gallery.load(file, prune=False, leave_out=exc.identities), exc


def _bad_rows_line(bad: Any) -> str:
    """`track gallery ls`'s line marking the identities of `bad` (a `GalleryBadPrototypeError`), not listed above."""
    ids = listed(list(bad.identities), sentence=True)
    what = "identity" if len(bad.identities) == 1 else "identities"
    return f"{BAD_MARK} {what} {ids}: a prototype row holds NaN or inf, or is all zeros (not listed; unusable)"


def _bad_rows_text(file: Path, bad: Any) -> str:
    """The error of a gallery `file` whose prototype rows of some identities are no look (`bad`, the
    `GalleryBadPrototypeError`): its message, then the `track gallery rm` command that removes them all (the other
    identities kept)."""
    ids = " ".join(map(str, bad.identities))
    them = "it" if len(bad.identities) == 1 else "them"
    return f"{one_line(bad)}; or `track gallery rm {_pasted(file)} {ids}` removes {them} (the others are kept)"


def _sources_lines(gallery: Any, wanted: bool) -> list[str]:
    """With `wanted`: "sightings of 2 sources (tracked into it again: refused; --relink links again):", then one
    line per source, by name (`LinkedSource.describe`); "no sources recorded" for a gallery that records none
    (saved before they were, or by `track gallery merge` of such files)."""
    if not wanted:
        return []
    records = sorted(gallery.sources.values(), key=lambda record: (record.name, record.linked))
    if not records:
        return ["no sources recorded (tracking one into it again is not refused)"]
    head = f"sightings of {count(len(records), 'source')} (tracked into it again: refused; --relink links again):"
    return [head, *(f"  {record.describe()}" for record in records)]


def _pasted(path: Path | str) -> str:
    """`path` as a shell reads it in a suggested command (`shlex.quote`): the commands run as pasted, and a bare
    `my site.gallery` named two files."""
    return shlex.quote(str(path))
