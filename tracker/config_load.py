"""Reading a config: YAML with no key given twice, `section.key=value` overrides, and a file's faults named
with the file and the line of the key at fault.

Generic over the schema: `load_file` is given the function that checks the mapping it read (`parse_config` of
`tracker.config`, whose `load_config` is the public entry point).
"""

from __future__ import annotations

import copy
import logging
import os
import typing
from collections.abc import Callable, Collection, Iterator
from pathlib import Path
from typing import Any, TypeVar

import yaml

from tracker.config_keys import ConfigError

__all__ = ["FilePath", "apply_overrides", "load_file", "relative_paths", "split_override", "value_at"]

log = logging.getLogger(__name__)

_Config = TypeVar("_Config")


def _parse_value(text: str) -> Any:
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # read as a file's value is (a SafeLoader: no objects)
    except yaml.YAMLError:
        return text


def apply_overrides(
    data: dict[str, Any], overrides: list[str] | dict[str, Any] | None, sections: Collection[str] = ()
) -> None:
    """Write `overrides` (`section.key=value` strings, or a dict of dotted keys to values) into the nested mapping
    `data`, in place, creating the sections they name; None or empty: nothing. `sections`: the config's dotted
    section names, refused no value also where `data` does not hold them yet.

    Raises:
        ConfigError: `overrides` is neither a list nor a dict, an override is malformed (or no text), its path
            runs through a value that is not a section, or it gives a section no value (`--set detector=`, a shell
            variable left unset: with no config file it kept the defaults without a word).
    """
    if not overrides:
        return
    if not isinstance(overrides, dict | list | tuple):  # a lone "a.b=1" would be read one character at a time
        raise ConfigError(
            f"overrides must be a list of 'section.key=value' strings or a dict, got {type(overrides).__name__} "
            f"{overrides!r}" + (f" (write [{overrides!r}])" if isinstance(overrides, str) else ""),
            key=None,
        )
    items = overrides.items() if isinstance(overrides, dict) else [split_override(o) for o in overrides]
    for dotted, value in items:
        if not isinstance(dotted, str):  # ({3: 5}: AttributeError on .split)
            raise ConfigError(f"override key {dotted!r} is not a 'section.key' string", key=None)
        node = data
        parts = dotted.split(".")
        for depth, part in enumerate(parts[:-1], 1):
            if node.get(part) is None and ".".join(parts[:depth]) in sections:
                node[part] = {}  # (a file's section given no value: `--set` into it said "None, not a section")
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"{dotted}: '{part}' is {child!r}, not a section", key=dotted)
            node = child
        # (a section given no value reset it to its defaults; one not in `data` yet was kept at them without a word)
        if value is None and (isinstance(node.get(parts[-1]), dict) or dotted in sections):
            message = f"{dotted}: a section, given no value; set its keys ({dotted}.KEY=value)"
            raise ConfigError(message, key=dotted)
        _merge(node, parts[-1], value)


def _merge(node: dict[str, Any], name: str, value: Any) -> None:
    """Set `node[name]` to `value` (a copy: the caller's dict is not written into later); a mapping given for a
    section already there sets the keys it names and keeps the others (`--set 'appearance={topk: 2}'` used to
    drop the file's `appearance.bank_capacity`)."""
    old = node.get(name)
    if not (isinstance(value, dict) and isinstance(old, dict)):
        node[name] = copy.deepcopy(value)
        return
    for key, item in value.items():
        _merge(old, key, item)


def split_override(text: str) -> tuple[str, Any]:
    """A `section.key=value` override as (dotted key, value read as YAML), or ConfigError for another form."""
    if not isinstance(text, str):  # ([3] or None in the list: AttributeError on .partition)
        message = f"override {text!r} ({type(text).__name__}) is not a 'section.key=value' string"
        raise ConfigError(message, key=None)
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"override {text!r} is not of the form section.key=value", key=None)
    return key.strip(), _parse_value(value.strip())


def value_at(dotted: str, value: Any, key: str) -> tuple[bool, Any]:
    """(True, what a `--set dotted=value` gives the dotted `key`), or (False, None) where it gives it nothing: `key`
    itself (`detector.classes=[0]`), or a section above it given whole as a mapping that holds it
    (`detector={classes: [0]}`)."""
    if dotted == key:
        return True, value
    if not key.startswith(f"{dotted}."):
        return False, None
    for part in key[len(dotted) + 1 :].split("."):
        if not isinstance(value, dict) or part not in value:
            return False, None
        value = value[part]
    return True, value


class _UniqueKeyLoader(yaml.SafeLoader):
    """`yaml.SafeLoader` refusing a key given twice in one mapping (PyYAML keeps the last one without a word, so a
    second `association:` section would silently drop every key of the first)."""


_MERGE_TAG = "tag:yaml.org,2002:merge"  # the tag of YAML's merge key, `<<`


def _construct_unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    seen: set[Any] = set()
    for key_node, _value in node.value:
        if key_node.tag == _MERGE_TAG:
            continue  # `<<: *common`: merged by construct_mapping, the keys written beside it winning
        key = loader.construct_object(key_node, deep=deep)
        if isinstance(key, typing.Hashable) and key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"{key!r} is given twice in one mapping (the first would be ignored)", key_node.start_mark
            )
        if isinstance(key, typing.Hashable):
            seen.add(key)
    return loader.construct_mapping(node, deep=deep)


def _construct_int(loader: _UniqueKeyLoader, node: yaml.ScalarNode) -> int:
    """An integer as it reads: YAML 1.1 (PyYAML's) takes `010` for octal 8 and `1:20` for base-60 80, so
    `--set appearance.bank_capacity=010` silently gave 8. Digits are decimal, as in YAML 1.2 (`010` is 10); `0x`,
    `0b` and `_` between digits keep their meaning; base 60 is refused."""
    text = str(loader.construct_scalar(node))
    if ":" in text:
        raise yaml.constructor.ConstructorError(
            None,
            None,
            f"{text!r} would be read as a base-60 number (YAML 1.1); write the number in decimal",
            node.start_mark,
        )
    digits = text.replace("_", "")
    prefix = digits.lstrip("+-")[:2].lower()
    return int(digits, 0) if prefix in ("0x", "0b") else int(digits, 10)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping)
_UniqueKeyLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)


class FilePath(str):
    """A relative path a config file gave (`detector.model: ../weights/det.pt`), joined to that file's folder, where
    nothing was found: the str the tracker opens, which remembers how it was `written`, in which `config_file` and on
    which `line` (None: unknown), so that a not-found error names them (`tracker.weights.missing_weights`). Equal to
    its str; pickles as itself."""

    written: str
    config_file: str
    line: int | None

    def __new__(cls, joined: str, written: str, config_file: str, line: int | None) -> FilePath:
        value = super().__new__(cls, joined)
        value.written, value.config_file, value.line = written, config_file, line
        return value

    def __reduce__(self) -> tuple[Any, ...]:
        return FilePath, (str(self), self.written, self.config_file, self.line)

    def origin(self) -> str:
        """How the path was given, for an error: "'../w/det.pt' in cfg.yaml (line 3), read from that file's folder"."""
        line = "" if self.line is None else f" (line {self.line})"
        return f"{self.written!r} in {self.config_file}{line}, read from that file's folder"


def relative_paths(data: dict[str, Any], keys: Collection[str]) -> Iterator[tuple[str, dict[str, Any], str, str]]:
    """For each dotted key of `keys` that `data` (a config's mapping) gives a relative path (a non-empty str, neither
    absolute nor `~`): the key, the mapping that holds it, its last name and the path: what `_paths_from_file` and
    `tracker.config.paths_from_here` each rewrite in place."""
    for key in keys:
        *sections, leaf = key.split(".")
        node: Any = data
        for part in sections:
            node = node.get(part) if isinstance(node, dict) else None
        value = node.get(leaf) if isinstance(node, dict) else None
        if isinstance(value, str) and value.strip() and not Path(value).expanduser().is_absolute():
            yield key, node, leaf, value


def _paths_from_file(
    data: dict[str, Any], path: Path, text: str, keys: Collection[str], lookup: Callable[[str], Path | None]
) -> None:
    """Read the relative paths the config file at `path` gives for the dotted `keys` from the file's folder, in place
    in its mapping `data` (before any override: `--set` paths stay the working folder's). A file there: its absolute
    path (as written where that folder is the working folder). Else a name `lookup` finds (the working folder, a
    folder of weights) is kept, a path with a folder part found only in the working folder with a warning (configs
    written before this rule); a bare name found nowhere is kept (an official name a library downloads, or its own
    error); a path with a folder part found nowhere becomes a `FilePath`, the joined path remembering how it was
    written. Values that are no non-empty str: left to the checks."""
    folder = path.parent
    for key, node, leaf, value in relative_paths(data, keys):
        joined = os.path.abspath(folder / value)
        if os.path.exists(joined):
            # (a file in the working folder: both readings agree, and the value stays as written, so what `track batch`
            # compares for a video tracked before is as it was; a run saves it absolute, `config.paths_from_here`)
            node[leaf] = value if os.path.abspath(value) == joined else joined
            continue
        bare = Path(value).name == value
        found = lookup(value)
        if found is not None and not bare and Path(value).exists():
            line = _key_line(text, key)
            log.warning(
                "%s:%s %s %r is not in the config file's folder (%s): the working folder's %s is used; a config "
                "file's relative paths are read from its own folder: write it so, or as an absolute path",
                path, "" if line is None else f" line {line}:", key, value, joined, value,
            )  # fmt: skip
        if found is not None or bare:
            continue
        node[leaf] = FilePath(joined, value, str(path), _key_line(text, key))


def load_file(
    path: str | Path | None,
    overrides: list[str] | dict[str, Any] | None,
    parse: Callable[[dict[str, Any]], _Config],
    sections: Collection[str] = (),
    foreign: Callable[[dict[str, Any]], str | None] | None = None,
    path_keys: Collection[str] = (),
    lookup: Callable[[str], Path | None] | None = None,
) -> _Config:
    """Read the YAML config file at `path` (None: no file, the defaults), apply `overrides` and check the result.

    Args:
        path: a UTF-8 YAML file whose top level is a mapping of sections (a leading `~` is the home folder), or None.
        overrides: as `apply_overrides` takes them; they win over the file.
        parse: checks the nested mapping and builds the config (`tracker.config.parse_config`).
        sections: the config's dotted section names (`apply_overrides`).
        foreign: what is said of a file whose keys fail that is another tool's format (another tracker's YAML),
            or None where it is not; None: no such check.
        path_keys: dotted keys whose relative paths the file gives are read from the file's folder (`FilePath`);
            overrides' stay the working folder's.
        lookup: where else such a path or name is found (the working folder, a folder of weights), or None; None:
            the path itself, from the working folder.
    Raises:
        ConfigError: unknown key, wrong type, out-of-range value, a key given twice, unreadable/invalid YAML, or a
            `path` that is no path (the overrides given first, or YAML text: it was named as a file that does not
            exist, the whole text as its name); a fault of the file's own keys starts with the
            file's path and its line (`cfg.yaml: line 3: ...`); a file `foreign` recognises, its path and what
            `foreign` says (no override mends it).
    """
    data: dict[str, Any] = {}
    loaded: Any = {}  # (the file's own mapping: None for a file that sets nothing)
    text = ""
    if path is not None and not isinstance(path, str | os.PathLike):  # overrides given first: Path's TypeError
        hint = " (overrides go by name: load_config(overrides=...))" if isinstance(path, list | tuple | dict) else ""
        message = f"the config path must be a YAML file path or None, got {type(path).__name__} {path!r}{hint}"
        raise ConfigError(message, key=None)
    if isinstance(path, str) and "\n" in path.strip() and not os.path.lexists(path):  # (`config_to_yaml`'s text)
        lines = len(path.strip().splitlines())
        raise ConfigError(
            f"the config path must be a YAML file path or None, got YAML text ({lines} lines): write it to a file and "
            "give its path, or give its keys as overrides (load_config(overrides=yaml.safe_load(text)))",
            key=None,
        )
    if path is not None:
        path = Path(path).expanduser()  # ("~/site.yaml", as the weight paths and `track --config=~/...` take it)
        try:
            text = path.read_text(encoding="utf-8")  # YAML's own encoding, whatever the locale's is
        except OSError as exc:
            raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}", key=None) from None
        except UnicodeDecodeError as exc:
            message = f"config file {path} is not UTF-8 text (byte {exc.start}): not a YAML file?"
            raise ConfigError(message, key=None) from None
        try:
            loaded = yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader: builds no objects
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" (line {mark.line + 1})" if mark is not None else ""
            problem = str(getattr(exc, "problem", exc))
            tab = "'\\t'" in problem  # (YAML indents with spaces only: an editor's tab is the usual cause)
            fix = ": indent with spaces, not tabs (YAML takes no tab in its indentation)" if tab else ""
            raise ConfigError(f"invalid YAML in {path}{where}: {problem}{fix}", key=None) from None
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(f"{path}: the top level must be a mapping of sections", key=None)
        data = loaded or {}
        if isinstance(loaded, dict):
            _paths_from_file(data, path, text, path_keys, lookup or _found_here)
    file_error = _file_error(data, parse) if path is not None else None
    said = foreign(data) if file_error is not None and foreign is not None else None
    if said:  # (another tracker's file: every key of it unknown, not only the first one named)
        raise ConfigError(f"{path}: {said}", key=None)
    written = copy.deepcopy(data) if file_error is not None else {}  # (the overrides change `data`)
    own = copy.deepcopy(loaded)  # (the file's mapping as written, for `_say_empty`)
    try:
        apply_overrides(data, overrides, sections)
    except ConfigError as exc:
        if file_error is None or path is None or not _below_a_value(written, exc.key):
            raise  # the override's own fault (malformed, or below a value an override gave): the key typed
        raise _in_file(exc, path, text) from None  # below a value the faulty file wrote: its line
    try:
        cfg = parse(data)
    except ConfigError as exc:
        # (the other unknown keys it names, `also_unknown`, may be the overrides': the fault is still the file's)
        if file_error is None or path is None or (exc.key, exc.args) != (file_error.key, file_error.args):
            raise  # the overrides' own fault, named by the key typed
        raise _in_file(exc, path, text) from None
    if path is not None:
        _say_empty(own, path, text, sections)
    return cfg


def _say_empty(written: Any, path: Path, text: str, sections: Collection[str]) -> None:
    """Log (WARNING) what the config file at `path` (its `text`, read as `written`) sets nothing with: the whole file
    (empty, or every line a comment), or the sections given no value (`association:` with nothing indented below it,
    or its keys all commented out), all in one warning, in the file's order. Both load as the defaults, as before, but
    said nothing: a user who commented out keys to try the defaults, or indented none, was not told the file set none
    of them. `association: {}` says the defaults are meant, and is not logged. (One warning per section filled a
    run's first lines with the same advice where a template has several sections all comments.)"""
    if written is None:  # (a mapping with no key, `{}`, was written on purpose)
        log.warning("config file %s sets no keys (empty, or every line a comment): each keeps its default", path)
        return
    empty = []
    for section in sections:
        node: Any = written
        for part in section.split("."):
            node = node.get(part, {}) if isinstance(node, dict) else {}
        if node is None:
            empty.append((_key_line(text, section), section))
    if not empty:
        return
    # (in the file's order, top line first: the schema's alphabetical order said line 4 before line 2)
    empty.sort(key=lambda found: (found[0] is None, found[0] or 0, found[1]))
    if len(empty) == 1:
        ((line, section),) = empty
        where = "" if line is None else f" line {line}:"
        log.warning(
            "%s:%s section '%s' has no value (nothing indented below it, or every key of it commented out), so "
            "the file sets none of its keys; write '%s: {}' where its defaults are meant, or delete the line",
            path, where, section, section.rsplit(".", 1)[-1],
        )  # fmt: skip
        return
    named = ", ".join(f"'{section}'" + ("" if line is None else f" (line {line})") for line, section in empty)
    log.warning(
        "%s: sections %s have no value (nothing indented below them, or every key of them commented out), so the "
        "file sets none of their keys; write '%s: {}' (and so on) where their defaults are meant, or delete the lines",
        path, named, empty[0][1].rsplit(".", 1)[-1],
    )  # fmt: skip


def _below_a_value(data: dict[str, Any], key: str | None) -> bool:
    """Whether the config `data` holds a value, not a section, on the way to the dotted `key` (`detector.model`
    with `detector: 5`); False for no key (a malformed override) or a path `data` does not write."""
    if key is None:
        return False
    node: Any = data
    for part in key.split(".")[:-1]:
        if not isinstance(node, dict) or part not in node:
            break
        node = node[part]
    return not isinstance(node, dict)


def _in_file(exc: ConfigError, path: Path, text: str) -> ConfigError:
    """`exc`, a fault of the config file at `path` (whose text is `text`), said with the file and the key's line;
    the other unknown keys it names (`ConfigError.also_unknown`) each with its line, in the file's order (an
    override's, which the file does not write, with none: not its section's line)."""
    line = _key_line(text, exc.key, exc.index)
    where = "" if line is None else f"line {line}: "
    also = [(key, _key_line(text, key) if _writes(text, key) else None, hint) for key, _, hint in exc.also_unknown]
    also.sort(key=lambda named: (named[1] is None, named[1] or 0))
    return ConfigError(f"{path}: {where}{exc.args[0]}", key=exc.key, index=exc.index, also_unknown=tuple(also))


def _writes(text: str, key: str) -> bool:
    """Whether the YAML `text` (loaded without error before) writes the dotted `key` itself."""
    node: Any = yaml.safe_load(text)
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def _key_line(text: str, key: str | None, index: tuple[int, ...] = ()) -> int | None:
    """The line (from 1) of the YAML `text` where `key` (dotted; its list item `index`, outermost first) is written,
    or of the deepest section of it that is (a key the file does not set); None when the file does not write its
    section (the key came from an override) or there is no key (`ConfigError.key` None)."""
    if key is None:
        return None
    node: Any = yaml.compose(text, Loader=_UniqueKeyLoader)  # (the text loaded: no YAMLError here)
    line = None
    parts = key.split(".")
    for at, part in enumerate(parts):
        found = isinstance(node, yaml.MappingNode) and next(
            ((k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == part), None
        )
        rest = ".".join(parts[at:])  # (`detector.confidence: 0.3`: the key written in one word, not nested)
        written = isinstance(node, yaml.MappingNode) and next(
            (k for k, _ in node.value if isinstance(k, yaml.ScalarNode) and k.value == rest and rest != part), None
        )
        if not found:
            return written.start_mark.line + 1 if written else line
        line, node = found[0].start_mark.line + 1, found[1]
    for position in index:
        if not isinstance(node, yaml.SequenceNode) or position >= len(node.value):
            break
        node = node.value[position]
        line = node.start_mark.line + 1
    return line


def _file_error(data: dict[str, Any], parse: Callable[[dict[str, Any]], Any]) -> ConfigError | None:
    """What is wrong with a config file's keys on their own (None: nothing); an override may still mend it."""
    try:
        parse(data)
    except ConfigError as exc:
        return exc
    return None


def _found_here(name: str) -> Path | None:
    """`name` as a path from the working folder where something is there, else None (`load_file`'s `lookup`)."""
    found = Path(name).expanduser()
    return found if found.exists() else None
