"""A gallery's identities for another tool (`track gallery export`): a table as CSV or JSON, the prototypes as NPZ.

One row per identity, by global ID (`COLUMNS`): its class (the detector's name where the gallery knows it, else the
number), first and last sightings (UTC ISO 8601 with a `Z`, as `track gallery ls` prints them; their frame and
source, the camera or video name `track` recorded), how many tracks were it, and how many prototypes it keeps. The
prototypes go, if asked for, into an NPZ file (numpy's `np.load`, no pickle): `prototypes` (M, D) float32, each row
L2-normalised, and `global_ids` (M,) int64, the identity of each row; an identity's rows are consecutive, in the
table's order. Every file is written atomically with mode 0600: they hold biometric-like data, as the gallery does.

Shape letters: M prototype rows of all identities, D embedding size.
"""

from __future__ import annotations

import csv
import io
import os
import stat
import time
from pathlib import Path
from typing import Any

import numpy as np

from tracker.gallery import Gallery
from tracker.gallery_file import is_read_only, probe_folder, write_atomic
from tracker.io.strict_json import to_json

__all__ = [
    "COLUMNS",
    "PROTOTYPES_SUFFIX",
    "TABLE_SUFFIXES",
    "check_outputs",
    "identity_rows",
    "utc_text",
    "write_prototypes",
    "write_table",
]

UTC_TIME = "%Y-%m-%dT%H:%M:%SZ"  # ISO 8601 in UTC, the same on every machine (not local time)
COLUMNS = (
    "global_id", "class_id", "class", "first_seen", "last_seen", "first_source", "first_frame", "last_source",
    "last_frame", "sightings", "prototypes",
)  # fmt: skip
TABLE_SUFFIXES = (".csv", ".json")  # the table's format, by the output's extension
PROTOTYPES_SUFFIX = ".npz"
TABLE = "the identity table"  # how errors name the table written (it is no gallery file)
PROTOTYPES = "the prototypes file"  # ... and the .npz of the prototypes


def utc_text(unix_seconds: float) -> str:
    """`unix_seconds` as ISO 8601 in UTC to the second, `2026-12-04T19:31:05Z`."""
    return time.strftime(UTC_TIME, time.gmtime(unix_seconds))


def identity_rows(gallery: Gallery) -> list[dict[str, Any]]:
    """One row per identity (`COLUMNS`, in that order), by global ID."""
    names = gallery.class_names
    return [
        {
            "global_id": i.global_id,
            "class_id": i.class_id,
            "class": names.get(i.class_id, str(i.class_id)),
            "first_seen": utc_text(i.first_seen.time),
            "last_seen": utc_text(i.last_seen.time),
            "first_source": i.first_seen.source,
            "first_frame": i.first_seen.frame,
            "last_source": i.last_seen.source,
            "last_frame": i.last_seen.frame,
            "sightings": i.sightings,
            "prototypes": len(i.prototypes),
        }
        for i in gallery.identities
    ]


def check_outputs(
    table: Path,
    prototypes: Path | None = None,
    source: Path | None = None,
    options: tuple[str, str] = ("path", "path"),
) -> None:
    """ValueError unless `table` ends in one of `TABLE_SUFFIXES` and `prototypes` (if any) in `PROTOTYPES_SUFFIX`,
    and neither is the gallery file `source` (if given; a gallery named `ids.json` would be overwritten by its own
    export); IsADirectoryError / NotADirectoryError (OSErrors) where either is a folder or lies under a file, and
    OSError where its folder cannot be written or made (a read-only mount: the table was written, then the
    prototypes refused): asked before either is written, so a wrong second name leaves no first file. `options`:
    what chooses another table and prototypes file, named in the errors (`track gallery export`'s -o and
    --prototypes)."""
    _check_suffix(table, TABLE_SUFFIXES, "the identities are written as .csv or .json (by the extension)")
    if prototypes is not None:
        _check_suffix(prototypes, (PROTOTYPES_SUFFIX,), "the prototypes are written as an .npz file")
    for output, option, subject in ((table, options[0], TABLE), (prototypes, options[1], PROTOTYPES)):
        if source is not None and output is not None and _same_file(output, source):
            raise ValueError(f"{output} is the gallery file exported: writing it would replace the gallery")
        if output is not None:
            _check_writable_path(output)
            probe_folder(output, option, f"{subject} {output}")


def _check_writable_path(output: Path) -> None:
    """IsADirectoryError, NotADirectoryError or PermissionError naming `output` when it is a folder, a file stands
    where one of its folders should be (as a link resolves), or it is a read-only file (`chmod a-w`, which a rename
    would replace all the same, as `gallery_file.refuse_read_only` refuses for a gallery): a write would fail only
    after the other output was written, or replace a file kept on purpose."""
    real = Path(os.path.realpath(output))
    if real.is_dir():
        raise IsADirectoryError(
            f"{output} is a folder: the export writes a file (such as {output / 'ids'}{output.suffix})"
        )
    in_the_way = next((p for p in real.parents if p.exists() and not p.is_dir()), None)
    if in_the_way is not None:
        raise NotADirectoryError(f"{output} cannot be written: {in_the_way} is a file, not a folder")
    if is_read_only(real):
        raise PermissionError(
            f"{output} is read-only (mode {stat.S_IMODE(real.stat().st_mode):o}): make it writable (chmod u+w "
            f"{output}) to export into it, or choose another name"
        )


def _same_file(a: Path, b: Path) -> bool:
    """Whether `a` and `b` name one file (the same path, a link to it, or a hard link)."""
    try:
        return os.path.samefile(a, b)
    except OSError:  # (one of them missing: then they are one file only if they name the same path)
        return os.path.realpath(a) == os.path.realpath(b)


def _check_suffix(path: Path, allowed: tuple[str, ...], what: str) -> None:
    """ValueError naming `path` and `what` it must be unless its extension is one of `allowed`."""
    suffix = path.suffix.lower()
    if suffix not in allowed:
        raise ValueError(f"{path}: {what}" + (f", not {suffix!r}" if suffix else ""))


def write_table(gallery: Gallery, path: Path) -> int:
    """Write the identity table to `path`: CSV (a header line, then one line per identity) or JSON (a list of
    objects with the same keys), by its extension. Returns the rows written.

    Raises:
        ValueError: an extension other than `TABLE_SUFFIXES` (nothing written).
        OSError: the folder cannot be written (`path` left as it was).
    """
    check_outputs(path)
    rows = identity_rows(gallery)
    if path.suffix.lower() == ".json":
        text = to_json(rows, indent=1) + "\n"
    else:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        text = buffer.getvalue()
    write_atomic(path, text.encode(), subject=f"{TABLE} {path}")
    return len(rows)


def write_prototypes(gallery: Gallery, path: Path) -> int:
    """Write every identity's prototypes to the NPZ file `path` (module docstring: `prototypes`, `global_ids`).
    Returns the rows M written.

    Raises:
        ValueError: an extension other than `.npz` (nothing written).
        OSError: the folder cannot be written (`path` left as it was).
    """
    _check_suffix(path, (PROTOTYPES_SUFFIX,), "the prototypes are written as an .npz file")
    identities = gallery.identities
    dim = gallery.dim or 0
    rows = [i.prototypes for i in identities]
    prototypes = np.concatenate(rows).astype(np.float32) if rows else np.zeros((0, dim), dtype=np.float32)
    owners = np.repeat(np.array([i.global_id for i in identities], dtype=np.int64), [len(r) for r in rows])
    write_atomic(
        path, lambda file: np.savez(file, prototypes=prototypes, global_ids=owners), subject=f"{PROTOTYPES} {path}"
    )
    return len(prototypes)
