"""An OSError that names no file (a write, flush or fsync on a full disk says only "[Errno 28] No space left on
device") told again naming the file being written: `naming`, with the words of its caller (`track`'s outputs,
`track gallery export`'s tables, a gallery save); and an error's one line for a command to say (`one_line`), an
OSError's file names in it as text, not as Python's repr of them."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["names_another_file", "naming", "one_line"]


@contextmanager
def naming(path: str | Path, words: Callable[[OSError], OSError]) -> Iterator[None]:
    """An OSError raised in the block that gives the system's reason (`errno` and `strerror`) and names no file, or
    `path` itself, is raised as `words(exc)` instead (from it): the error the caller says, naming `path`. Any other
    goes on as it is: one naming another file (a rename from a temp file), or one already said (its own words carry
    no `strerror`, so a block inside another names the file once, the one that failed)."""
    try:
        yield
    except OSError as exc:
        if exc.errno is None or not exc.strerror or names_another_file(exc, path):
            raise
        raise words(exc) from exc


def names_another_file(exc: OSError, path: str | Path) -> bool:
    """Whether `exc` names a file other than `path` (or the file its link points to), which the words for a failed
    write of `path` should name too (a full disk's error names `path` itself, or no file)."""
    return exc.filename is not None and os.path.realpath(exc.filename) != os.path.realpath(path)


def one_line(exc: BaseException) -> str:
    """`exc`'s message on one line (its type's name where it says nothing). An OSError of the system's, naming its
    file(s) (`[Errno 40] Too many levels of symbolic links: 'caf\\udce9'`), names them as they are, between
    quotes, not as Python's repr of them: a name's non-UTF-8 byte stays the lone surrogate it decodes to, which the
    commands' lines show as U+FFFD (`io.names.shown_name`), where str() of the error gave the repr's `\\udce9`
    escape as text."""
    text = str(exc)
    if isinstance(exc, OSError) and exc.errno is not None and exc.strerror and exc.filename is not None:
        text = f"[Errno {exc.errno}] {exc.strerror}: '{_as_text(exc.filename)}'"
        if exc.filename2 is not None:
            text += f" -> '{_as_text(exc.filename2)}'"
    return " ".join(text.split()) or type(exc).__name__


def _as_text(name: object) -> str:
    """An OSError's `filename` as text: a path's bytes decoded as Python decodes names, anything else (a file
    descriptor) as str() gives it."""
    return os.fsdecode(name) if isinstance(name, str | bytes | os.PathLike) else str(name)
