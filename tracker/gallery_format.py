"""The bytes of a gallery file: data, never code.

A safetensors file: tensors `prototypes` (M, D) float32 and `owners` (M,) int64 (the global ID of each row), and in its
header, as JSON under `gallery`: the format name and version, the ReID model that made the embeddings, the next global
ID, the identities' records (`Identity.describe`), the detector's class names when known (`class_names`, {"0": "person",
...}: absent from files saved without them, and before they were stored; a reader that does not know the key ignores
it), the sources whose sightings it holds (`sources`, `tracker.gallery_sources`: absent likewise; `source_details`,
their heads and the frames tracked of those stopped before their end, absent likewise) and a SHA-256 of the tensors. No
pickle: loading a file cannot run code. `write` puts the bytes of a `Snapshot` (what a save takes of a gallery) into a
file, `encode` returns them; `decode` checks them (format, version, checksum) and `read_model` / `read_identities` turn
the header back into records. Writing them to disk atomically is `tracker.gallery_file`'s job.

`track` writes a gallery in a background thread (`tracker.run_gallery`): the prototypes are gathered
`RECORDS_PER_PIECE` identities per copy, so the tracking loop runs between the copies; safetensors serialises the
file (`safetensors.numpy.save`, its copies and the header's `json.dumps` each one hold of the GIL, ~100-200 ms at 20 000
identities: measured with tools/bench_gallery_save.py, the longest loop frame during a background save stays
within ~0.2 s, docs/decisions.md).

Shape letters: M prototype rows of all identities, D embedding size.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, cast

import numpy as np

from tracker.gallery_records import GalleryBadPrototypeError, GalleryError, Identity, ModelIdentity, Sighting
from tracker.gallery_sources import LinkedSource, source_details, sources_header
from tracker.io.strict_json import to_json

if TYPE_CHECKING:
    from typing_extensions import Buffer

__all__ = [
    "DAMAGED",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "Snapshot",
    "check_width",
    "decode",
    "encode",
    "is_gallery_file",
    "read_class_names",
    "read_identities",
    "read_model",
    "unit_prototypes",
    "write",
]

FORMAT_NAME = "tracker-gallery"
FORMAT_VERSION = 1
# Identities gathered into the tensors per numpy call: each call holds the GIL ~1-5 ms for this many (a background
# save lets the tracking loop run between them).
RECORDS_PER_PIECE = 1000
# A safetensors file starts with its header's length (8 bytes, little-endian), then the header's JSON ('{'): the
# bytes that tell it from another kind of file (a video, a text).
HEADER_LENGTH_BYTES = 8
SAFETENSORS_SHAPE_BYTES = HEADER_LENGTH_BYTES + 1
# The longest header safetensors reads ("header too large" beyond: its MAX_HEADER_SIZE): a length above it, even
# from a file cut within its length bytes (the bytes there, read as the low ones), is no safetensors file's.
SAFETENSORS_MAX_HEADER_BYTES = 100_000_000
# the most a prototype row's L2 norm may be off 1 and be kept as it is (float32 rounding of a normalised row is
# ~1e-7); a row further off (a hand-made file's) is normalised as it is read
UNIT_NORM_TOLERANCE = 1e-4
# The way on after a damaged file's error (a save never leaves one: it renames a whole temp file over it).
DAMAGED = "; it is left as it is: restore it from a copy, or give another gallery file (a new path starts an empty one)"


@dataclass(frozen=True)
class Snapshot:
    """What one save writes, as the gallery was at one moment (`Gallery.save`, `Gallery.begin_save`).

    The records are the gallery's own, not copies: the gallery replaces an identity's record when it changes (a new
    `Identity` with new prototype arrays), never changes one in place, so a snapshot stays as it was taken while
    the gallery goes on (taking it costs ~1 ms at 20 000 identities: the sorted list of records).

    Attributes:
        identities: the records, by global ID, each with its (P, D) prototypes.
        model: the ReID model (with its D), or None when not known.
        next_id: the next global ID the gallery gives.
        dim: D of the prototypes (0 while none is known: an empty gallery of no model).
        class_names: the detector's name of each class ID (empty: not known; `Gallery.name_classes`).
        sources: the sources whose sightings it holds, by key (`tracker.gallery_sources`; empty: none recorded).
    """

    identities: tuple[Identity, ...]
    model: ModelIdentity | None
    next_id: int
    dim: int
    class_names: Mapping[int, str] = field(default_factory=dict)
    sources: Mapping[str, LinkedSource] = field(default_factory=dict)


def write(file: BinaryIO, snapshot: Snapshot) -> None:
    """Write the file's bytes of `snapshot` to `file` (opened for binary writing, at its start): `encode`'s."""
    file.write(encode(snapshot))


def encode(snapshot: Snapshot) -> bytes:
    """The file's bytes of `snapshot`: safetensors' (`safetensors.numpy.save`) of the tensors `prototypes` (M, D)
    float32 (each identity's rows consecutive, in the order of `snapshot.identities`) and `owners` (M,) int64 (the
    global ID of each row), with the gallery JSON as its metadata `gallery`."""
    from safetensors.numpy import save as st_save

    tensors = _gather(snapshot)
    header = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "model": None if snapshot.model is None else asdict(snapshot.model),
        "next_id": snapshot.next_id,
        "identities": [i.describe() for i in snapshot.identities],
        "sha256": _tensor_digest(tensors),
    }
    if snapshot.class_names:  # (none known: the header a file had before names were stored)
        header["class_names"] = {str(c): name for c, name in sorted(snapshot.class_names.items())}
    if snapshot.sources:  # (none recorded: the header a file had before sources were recorded)
        header["sources"] = sources_header(snapshot.sources)
    details = source_details(snapshot.sources)
    if details:  # (no source's head or frames tracked before a stop known: the header as before)
        header["source_details"] = details
    return st_save(tensors, metadata={"gallery": to_json(header)})


def _gather(snapshot: Snapshot) -> dict[str, np.ndarray]:
    """The tensors of `snapshot`: `prototypes` (M, D) float32 and `owners` (M,) int64, gathered `RECORDS_PER_PIECE`
    identities per copy (each copy a short hold of the GIL: a background save lets the tracking loop run between)."""
    identities = snapshot.identities
    counts = np.fromiter((len(i.prototypes) for i in identities), dtype=np.int64, count=len(identities))
    ids = np.fromiter((i.global_id for i in identities), dtype=np.int64, count=len(identities))
    ends = np.cumsum(counts)
    prototypes = np.empty((int(ends[-1]) if len(ends) else 0, snapshot.dim), dtype=np.float32)
    for lo in range(0, len(identities), RECORDS_PER_PIECE):
        hi = min(lo + RECORDS_PER_PIECE, len(identities))
        rows = slice(int(ends[lo - 1]) if lo else 0, int(ends[hi - 1]))
        np.concatenate([i.prototypes for i in identities[lo:hi]], out=prototypes[rows])
    return {"owners": np.repeat(ids, counts), "prototypes": prototypes}


def decode(blob: bytes, path: Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The tensors (`prototypes`, `owners`) and the header of the bytes of the file `path` (named in errors).

    Raises:
        GalleryError: not a gallery file (an empty one too), truncated or corrupt (a checksum that does not
            match), or a newer format version.
    """
    from safetensors.numpy import load as st_load

    if not blob:  # (no save leaves one: it writes a temp file whole, then renames it; "truncated" feared a loss)
        raise GalleryError(
            f"{path} is empty (0 bytes), not a gallery file: a save writes a gallery whole, so another program made "
            "it (`touch`?); remove it, and `track --gallery` makes a new gallery there"
        )
    if not _starts_as_safetensors(blob):  # (a video's or a text's bytes read as a header length: "header too large")
        raise GalleryError(
            f"{path} is not a gallery file: it does not start with a safetensors header (another kind of file: a "
            "video, a text?)"
        )
    try:
        tensors = st_load(blob)
        header = _read_header(blob)
    except Exception as exc:  # safetensors raises its own error types, JSON its own
        raise GalleryError(f"{path} is not a readable gallery file (truncated or corrupt?): {exc}{DAMAGED}") from None
    if header is None:
        raise GalleryError(
            f"{path} is not a gallery file: a safetensors file without a gallery header (another program's file?)"
        )
    if header.get("format") != FORMAT_NAME:
        raise GalleryError(f"{path} is not a gallery file (format {header.get('format')!r})")
    version_read = header.get("version")
    if not isinstance(version_read, int) or isinstance(version_read, bool):  # ("1" read "version 1 ... up to 1")
        raise GalleryError(f"{path} is corrupt: its format version {version_read!r} is not a whole number{DAMAGED}")
    if version_read > FORMAT_VERSION:
        raise GalleryError(
            f"{path} has gallery format version {header.get('version')}, this tracker reads up to "
            f"{FORMAT_VERSION}: upgrade the tracker"
        )
    if set(tensors) != {"prototypes", "owners"} or header.get("sha256") != _tensor_digest(tensors):
        raise GalleryError(f"{path} is corrupt: its embeddings do not match the checksum in its header{DAMAGED}")
    shapes = _shape_errors(tensors)
    if shapes:  # (a checksum over tensors of another rank passes: 1-D prototypes were an IndexError traceback)
        raise GalleryError(f"{path} is corrupt: its {' and '.join(shapes)}{DAMAGED}")
    return tensors, header


def _shape_errors(tensors: dict[str, np.ndarray]) -> list[str]:
    """What is wrong with the ranks of the decoded `prototypes` (an (M, D) matrix) and `owners` (an (M,) vector):
    one phrase each, none where both are as `encode` writes them."""
    errors = []
    if tensors["prototypes"].ndim != 2:
        errors.append(f"prototypes are not an (M, D) matrix (shape {tensors['prototypes'].shape})")
    if tensors["owners"].ndim != 1:
        errors.append(f"owners are not an (M,) vector (shape {tensors['owners'].shape})")
    return errors


def _starts_as_safetensors(blob: bytes) -> bool:
    """Whether `blob` starts as a safetensors file does: an 8-byte little-endian header length that safetensors
    reads (up to `SAFETENSORS_MAX_HEADER_BYTES`), then the header's JSON object ('{'). A file cut before that '{'
    whose length bytes fit is taken as one (truncated: its kind cannot be told; an empty file too)."""
    if int.from_bytes(blob[:HEADER_LENGTH_BYTES], "little") > SAFETENSORS_MAX_HEADER_BYTES:
        return False
    return len(blob) < SAFETENSORS_SHAPE_BYTES or blob[HEADER_LENGTH_BYTES:SAFETENSORS_SHAPE_BYTES] == b"{"


def read_model(header: dict[str, Any]) -> ModelIdentity | None:
    """The ReID model a decoded header names (None: not known when it was saved).

    Raises:
        TypeError: a model record with other fields, or of other types (name and weights digest text, D a whole
            number or null: `ModelIdentity`'s checks). ValueError: a D below 1.
    """
    stored = header.get("model")
    if stored is None:
        return None
    if not isinstance(stored, dict):
        raise TypeError(f"the model record {stored!r} is not a mapping")
    return ModelIdentity(**stored)


def read_class_names(header: dict[str, Any]) -> dict[int, str]:
    """The detector's class names a decoded header holds, by class ID ({}: a file saved without them).

    Raises:
        TypeError: names that are not a mapping of whole-number IDs to text.
    """
    stored = header.get("class_names", {})
    if not isinstance(stored, dict):
        raise TypeError(f"the class names {stored!r} are not a mapping")
    names: dict[int, str] = {}
    for key, name in stored.items():
        if not (isinstance(key, str) and key.isdecimal() and isinstance(name, str)):
            raise TypeError(f"the class name {key!r}: {name!r} is not a class ID's name")
        names[int(key)] = name
    return names


def read_identities(
    tensors: dict[str, np.ndarray], header: dict[str, Any], leave_out: Collection[int] = ()
) -> dict[int, Identity]:
    """The identities of a decoded file, by global ID in the header's order, each with its (P, D) float32 rows.

    `leave_out`: global IDs whose records and rows are skipped, their rows not checked (`track gallery rm` of the
    identities `GalleryBadPrototypeError.identities` names: the others are read as always).

    Raises:
        KeyError, TypeError, ValueError: a bad record (a field missing or of another type: IDs, classes, counts and
            frames whole numbers, times finite numbers, sources text), a global ID given twice, a count of
            prototype rows that does not match the tensors, or rows of a global ID no record names;
            GalleryBadPrototypeError (a ValueError), a row that is no look (`unit_prototypes`: rows off unit norm are
            returned normalised).
    """
    owners = tensors["owners"]
    vectors = tensors["prototypes"].astype(np.float32)
    if leave_out:  # (only rm's reading: the rows of the others checked and kept as always)
        kept = ~np.isin(owners, np.fromiter(leave_out, dtype=np.int64))
        owners, vectors = owners[kept], vectors[kept]
    vectors = unit_prototypes(vectors, owners)
    records = header["identities"]
    if not isinstance(records, list):
        raise TypeError(f"the identity records are not a list: {type(records).__name__}")
    records = [r for r in records if not (isinstance(r, dict) and r.get("global_id") in leave_out)]
    rows_of = _rows_by_owner(owners)
    no_rows = np.zeros(0, dtype=np.int64)
    identities: dict[int, Identity] = {}
    for rec in records:
        if not isinstance(rec, dict):
            raise TypeError(f"an identity record is not a mapping: {rec!r}")
        gid = _whole(rec, "global_id", "an identity's")
        if gid in identities:
            raise ValueError(f"identity {gid} has two records")
        rows = vectors[rows_of.get(gid, no_rows)]
        count = _whole(rec, "prototypes", f"identity {gid}'s")
        if len(rows) != count or len(rows) == 0:
            raise ValueError(f"identity {gid} has {len(rows)} prototype rows, the header says {count}")
        identities[gid] = Identity(
            gid,
            _whole(rec, "class_id", f"identity {gid}'s"),
            _sighting(rec, "first_seen", gid),
            _sighting(rec, "last_seen", gid),
            _count(rec, "sightings", f"identity {gid}'s"),
            rows,
        )
    orphans = sorted(set(rows_of) - set(identities))
    if orphans:  # (their looks would be dropped without a word by the next save)
        raise ValueError(f"{len(orphans)} global IDs have prototype rows but no record (the first: {orphans[0]})")
    return identities


def unit_prototypes(vectors: np.ndarray, owners: np.ndarray) -> np.ndarray:
    """The (M, D) float32 prototype rows of a file, of the (M,) global IDs `owners`, as the gallery compares them:
    unit L2 norm. A row whose norm is off 1 by more than `UNIT_NORM_TOLERANCE` (a hand-made file's) is normalised:
    its direction is the look; rows within it are kept bit for bit, so a saved gallery loads as it was saved.

    Raises:
        GalleryBadPrototypeError: a row holding NaN or inf (its similarities are NaN: never matched, or matched by
            chance) or all zeros (no direction to compare), naming the first's identity and its row among that
            identity's (0-based), and listing every identity with such a row (`identities`).
    """
    finite = np.isfinite(vectors).all(axis=1)
    norms = np.linalg.norm(np.where(finite[:, None], vectors, 0.0).astype(np.float64), axis=1)
    bad = ~finite | (norms == 0)
    if bad.any():
        row = int(np.argmax(bad))
        gid = int(owners[row])
        what = "holds NaN or inf" if not finite[row] else "is all zeros (no look)"
        nth = int(np.count_nonzero(owners[:row] == gid))
        bad_ids = tuple(int(g) for g in np.unique(owners[bad]))
        raise GalleryBadPrototypeError(f"identity {gid}'s prototype row {nth} {what}", bad_ids)
    off = np.abs(norms - 1.0) > UNIT_NORM_TOLERANCE
    if not off.any():
        return vectors
    vectors = vectors.copy()
    vectors[off] = vectors[off] / norms[off, None]
    return vectors


def _rows_by_owner(owners: np.ndarray) -> dict[int, np.ndarray]:
    """Each global ID of the (M,) `owners` -> the indices of its rows, in file order (one stable sort: a mask of all
    M rows per identity made loading quadratic, ~6 s at 20 000 identities)."""
    if len(owners) == 0:  # (np.split of nothing still gives one piece)
        return {}
    order = np.argsort(owners, kind="stable")
    ids, starts = np.unique(owners[order], return_index=True)
    return dict(zip(ids.tolist(), np.split(order, starts[1:]), strict=True))


def _count(record: dict[str, Any], name: str, whose: str) -> int:
    """`record[name]`, a whole number of at least 1 (every stored identity was seen once); ValueError otherwise (-5
    sightings were listed as read)."""
    value = _whole(record, name, whose)
    if value < 1:
        raise ValueError(f"{whose} {name} {value} is not a count of at least 1")
    return value


def check_width(model: ModelIdentity | None, prototypes: np.ndarray) -> None:
    """ValueError when the model record's D is not the (M, D) `prototypes`' (the checksum covers the embeddings, not
    the header: a damaged D was listed by `track gallery ls`, and a `track` run refused the file as another model's)."""
    if model is not None and model.dim is not None and len(prototypes) and prototypes.shape[1] != model.dim:
        raise ValueError(f"its model record says D = {model.dim}, its prototypes have D = {prototypes.shape[1]}")


def _whole(record: dict[str, Any], name: str, whose: str) -> int:
    """`record[name]`, a whole number (not a bool); TypeError naming it as `whose` `name` otherwise."""
    value = record[name]
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{whose} {name} {value!r} is not a whole number")
    return value


def _sighting(record: dict[str, Any], name: str, gid: int) -> Sighting:
    """The `Sighting` `record[name]` of identity `gid`: a whole frame, a finite time (Unix s) and a source name.

    Raises:
        TypeError: another field, or one of another type.
    """
    stored = record[name]
    if not isinstance(stored, dict):
        raise TypeError(f"identity {gid}'s {name} {stored!r} is not a mapping")
    seen = Sighting(**stored)
    _whole(stored, "frame", f"identity {gid}'s {name}")
    if isinstance(seen.time, bool) or not isinstance(seen.time, (int, float)) or not math.isfinite(seen.time):
        raise TypeError(f"identity {gid}'s {name} time {seen.time!r} is not a finite number")
    if not isinstance(seen.source, str):
        raise TypeError(f"identity {gid}'s {name} source {seen.source!r} is not text")
    return seen


def _tensor_digest(tensors: dict[str, np.ndarray]) -> str:
    """SHA-256 (hex) over each tensor's name and bytes, by name: the checksum in the header. (The bytes are read in
    place, not copied: hashlib releases the GIL over a large buffer.)"""
    digest = hashlib.sha256()
    for name in sorted(tensors):
        digest.update(name.encode())
        # (numpy's stubs give an array the buffer protocol from Python 3.12 on: hashlib reads it on 3.11 too)
        digest.update(cast("Buffer", np.ascontiguousarray(tensors[name]).reshape(-1).view(np.uint8)))
    return digest.hexdigest()


def is_gallery_file(path: Path) -> bool:
    """Whether the file `path` holds a gallery header (a safetensors header with the gallery's metadata; its
    embeddings are not read or checked): False for another program's file, an empty one or one that cannot be read."""
    try:
        with path.open("rb") as file:
            length = int.from_bytes(file.read(8), "little")
            if not 0 < length <= os.fstat(file.fileno()).st_size - 8:
                return False
            return _read_header(length.to_bytes(8, "little") + file.read(length)) is not None
    except (OSError, ValueError, AttributeError, KeyError, TypeError):  # (unreadable, not JSON, not a mapping)
        return False


def _read_header(blob: bytes) -> dict[str, Any] | None:
    """The gallery's JSON metadata in a safetensors header (8-byte little-endian length, then JSON); None when the
    header holds none (a safetensors file of another program)."""
    length = int.from_bytes(blob[:8], "little")
    meta = json.loads(blob[8 : 8 + length]).get("__metadata__") or {}
    if "gallery" not in meta:
        return None
    header = json.loads(meta["gallery"])
    if not isinstance(header, dict):
        raise ValueError("gallery metadata is not a mapping")
    return header
