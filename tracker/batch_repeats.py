"""Which sources of a batch (or of one `track` run) name one source twice: the same file as given twice (`a.mp4
a.mp4`), or under two names (`a.mp4`, `./a.mp4`, its absolute path, a symbolic or hard link to it), or one stream named
twice (`0 0`, one URL). Without a gallery a batch tracked each into a folder of its own (`a/`, `a_2/`), `track` into
files of its own (`a.txt`, `a_2.txt`), without a word: twice the work for one set of outputs. With a gallery the
source's key (its bytes, `tracker.gallery_sources`) finds copies too, and `relink` may ask for it. Nothing here opens
a source or imports torch."""

from __future__ import annotations

import os
from collections.abc import Collection, Sequence
from pathlib import Path

from tracker.io.sources import local_path

__all__ = ["refuse_repeated", "repeated_sources"]


def _identity(source: str) -> tuple[str, object]:
    """What names one source whatever its spelling: a file's or folder's device and inode (symbolic links followed,
    hard links one file), else (a stream, a URL, a name of nothing) the name itself."""
    path = local_path(source)
    try:
        found = os.stat(path)
    except (OSError, ValueError):  # (a URL, a webcam number, a missing file: as written)
        return ("name", source)
    return ("file", (found.st_dev, found.st_ino))


def repeated_sources(sources: Sequence[str | Path]) -> list[list[int]]:
    """The positions in `sources` (0-based, in order) of each source given more than once, one list per such source
    (its first position first); empty when every source is another."""
    positions: dict[tuple[str, object], list[int]] = {}
    for index, source in enumerate(sources):
        positions.setdefault(_identity(str(source)), []).append(index)
    return [where for where in positions.values() if len(where) > 1]


def refuse_repeated(sources: Sequence[str | Path], reused: Collection[int] = ()) -> None:
    """Raise ValueError when `sources` name one source more than once (`repeated_sources`) and it would be tracked
    again (not every one of its positions in `reused`: the folders an earlier batch made for each, reused, which no
    work repeats), before any work: one error naming each such source as given at each of its positions (1-based)
    and how to go on (give it once)."""
    repeats = [where for where in repeated_sources(sources) if not set(where) <= set(reused)]
    if not repeats:
        return
    said = []
    for where in repeats:
        names = ", ".join(f"{index + 1} ({str(sources[index])!r})" for index in where)
        said.append(f"sources {names} are one source, given {len(where)} times")
    raise ValueError(
        f"{'; '.join(said)}: each time would track it again into outputs of its own (the same work for the same "
        f"outputs); give each source once (nothing was tracked)"
    )
