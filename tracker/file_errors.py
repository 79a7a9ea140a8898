"""An OSError that names no file (a write, flush or fsync on a full disk says only "[Errno 28] No space left on
device") told again naming the file being written: `naming`, with the words of its caller (`track`'s outputs,
`track gallery export`'s tables, a gallery save)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["names_another_file", "naming"]


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
