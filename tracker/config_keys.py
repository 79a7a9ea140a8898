"""How a config key is declared: `key(default, doc, lo=, hi=, choices=)`, the `Section` base of the config
dataclasses, and `ConfigError`, the one error every config fault raises.

The sections themselves (the schema a user reads) are in `tracker.config`; checking a mapping against them is
`tracker.config_build`, reading YAML and overrides `tracker.config_load`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import MISSING, Field, field, fields
from typing import Any, ClassVar, cast

__all__ = ["KEY_SEPARATOR", "ConfigError", "Section", "flat_keys", "key", "key_default"]

KEY_SEPARATOR = "."  # dotted names of nested keys, as YAML's sections and `--set section.key=value` name them


class ConfigError(ValueError):
    """A configuration key is unknown, of the wrong type or out of range, keys disagree (`min_frame_rate` above
    `max_frame_rate`), or a config file cannot be read or is no valid YAML. A subclass of ValueError.

    Attributes:
        key: the dotted key the error is about, as written in YAML (`association.low_score`), set where the error
            is raised; None for an error about no key (an unreadable file, invalid YAML, a malformed override).
            `load_config` finds the file line of a file's fault from it (and `index`), never from the message.
        index: the positions of the list item at fault within `key`'s list, outermost first (`(1, 1)` for
            `classes.compatible_groups[1][1]`); () when the error is about the key itself.
        also_unknown: where `key` is unknown, the other unknown keys of the same config, each (dotted key, its file
            line or None, a short hint or ""): the message names them after its own ("; also unknown: 'reid.modle'
            (line 5; did you mean 'reid.model'?)"), so that one run names every mistyped key of a file.
    """

    def __init__(
        self,
        message: str,
        *,
        key: str | None = None,
        index: tuple[int, ...] = (),
        also_unknown: tuple[tuple[str, int | None, str], ...] = (),
    ) -> None:
        super().__init__(message)
        self.key = key
        self.index = tuple(index)
        self.also_unknown = tuple(also_unknown)

    def __str__(self) -> str:
        said = super().__str__()
        if not self.also_unknown:
            return said
        named = []
        for key, line, hint in self.also_unknown:
            notes = "; ".join(note for note in ("" if line is None else f"line {line}", hint) if note)
            named.append(f"'{key}'" + (f" ({notes})" if notes else ""))
        return f"{said}{ALSO_UNKNOWN}{', '.join(named)}"


ALSO_UNKNOWN = "; also unknown: "  # what a ConfigError of an unknown key says before the config's other unknown keys


class Section:
    """Base of the config dataclasses. Unpickled (a `track --resume` checkpoint holds the run's config), a key added
    since the pickle was made gets its default, as `tracker.resume` takes such a checkpoint (that run had the
    default): a key with a list default has no class attribute to fall back on, and its first read raised
    AttributeError (`motion.camera_exclude` in a checkpoint of before stop 38, on the first frame after the resume)."""

    # (set by @dataclass on each section: declared so a type checker takes a section for a dataclass, `fields(self)`)
    __dataclass_fields__: ClassVar[dict[str, Field[Any]]]

    def __setstate__(self, state: dict[str, Any]) -> None:
        added = {f.name: key_default(f) for f in fields(self) if f.name not in state}
        self.__dict__.update({**added, **state})

    def check_relations(self, prefix: str) -> None:
        """Check the constraints between this section's keys (each already of its type and in its range).

        Args:
            prefix: the section's dotted name with a trailing dot as written in YAML (`motion.`; "" for the whole
                config), which the errors start their keys with.
        Raises:
            ConfigError: the first broken constraint, naming the key it is about.
        """

    def check_at_most(self, prefix: str, name: str, bound: str, when: str = "") -> None:
        """Check this section's key `name` is at most its key `bound` (a minimum within its capacity, a low end
        within its high one), as `check_relations` asks.

        Args:
            prefix: as in `check_relations` (`motion.`; "" for the whole config).
            when: what the constraint holds under, said after it (" with motion.camera_compensation=orb"); "".
        Raises:
            ConfigError: `name`'s value above `bound`'s: "`name` (value) must not exceed `bound` (value)`when`",
                naming `name`.
        """
        value, limit = getattr(self, name), getattr(self, bound)
        if value > limit:
            raise ConfigError(
                f"{prefix}{name} ({value}) must not exceed {prefix}{bound} ({limit}){when}", key=f"{prefix}{name}"
            )


def key_default(key: Field) -> Any:
    """A config key's default value (a fresh one for a list or section default)."""
    if key.default is not MISSING:
        return key.default
    # (no default means a default factory: every config key is made by `key`, with one or the other)
    return cast(Callable[[], Any], key.default_factory)()


def key(
    default: Any,
    doc: str,
    *,
    lo: float | None = None,
    hi: float | None = None,
    choices: tuple[Any, ...] | None = None,
    written: str | None = None,
) -> Any:
    """A dataclass field carrying its documentation and allowed range.

    Args:
        default: the key's default; a list or tuple becomes a tuple (a fresh one per instance).
        doc: the one-line meaning, as docs/configuration.md's table and configs/default.yaml give it.
        lo, hi: the closed range a number (each item of a list) must lie in; None: unbounded on that side.
        choices: the only values allowed, or None.
        written: how a value is written, in the user's words, for a wrong-shaped value's error ("a list of [x1, y1,
            x2, y2] regions ..."); None: the type's own wording ("expected a list ...").
    """
    meta = {"doc": doc, "lo": lo, "hi": hi, "choices": choices, "written": written}
    if isinstance(default, (list, tuple)):
        return field(default_factory=lambda: tuple(default), metadata=meta)
    return field(default=default, metadata=meta)


def flat_keys(nested: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """{dotted key: value} of a nested config mapping (`config_to_dict`'s, or a YAML file's), sections of sections
    too, in the mapping's order: `{"lifecycle": {"min_hits": 3}}` is `{"lifecycle.min_hits": 3}`."""
    flat: dict[str, Any] = {}
    for name, value in nested.items():
        key = f"{prefix}{name}"
        if isinstance(value, Mapping):
            flat |= flat_keys(value, f"{key}{KEY_SEPARATOR}")
        else:
            flat[key] = value
    return flat
