"""Which sources a gallery holds the sightings of: each video linked into it once, whichever command linked it.

A gallery file records, beside its identities, the sources (videos, image folders, globs) whose sightings it holds
(`LinkedSource`, by `source_digest`): `track --gallery` records each source as it starts tracking it (so a save during
it, or one after an interrupt, already says so) and again at its end with the frames tracked, or, stopped before its end
(`--max-frames`, Ctrl-C), with the frames it tracked from the first (`LinkedSource.tracked`: its first frames only,
which `--resume` goes on from); `track batch --gallery` records the videos its reduce links. A source the gallery holds
already is refused before any frame (`refuse_linked`), unless the user asks to link it again (`--relink`: its sightings
are then counted again, and the record counts the links). `track gallery merge` of two files that both hold one source
is refused too (its identities' counts would add that source's sightings twice; the file records no per-source counts,
so a merge cannot take them out), unless asked to count them twice.

The key of a source is a digest of its content, not its path: a video copied to another machine or folder, or
given by another path, is the same video (path, size and modification time named a copy another video, and a
`touch` of the file the same video another one), and two galleries written on two machines can be compared by
it. It is the SHA-256 of the file's size and its first `DIGEST_BYTES` bytes (a video's container header and first
frames: two different recordings of one size that agree on all of them do not occur), so a 10 GB video is keyed
in milliseconds. An image folder, glob or sequence is keyed by its image files' names and sizes, in order, and
its first image's first `DIGEST_BYTES`. Streams (webcams, URLs) have no key: never recorded nor refused.

A video still being written (a recording) changes size, hence key, as it grows: tracking it twice linked it twice. So
each record also keeps its source's `head`, the SHA-256 of its first `DIGEST_BYTES` alone past the container's header
(`HEAD_SKIP_BYTES`: a writer rewrites the sizes there as it goes and at its close; a video file at least that
long), and a source of a new key whose head is a held source's (the same recording grown since, or a longer one that
begins with it) is refused as that one is, the message saying so. What the records of the version before lack (a
source's head, the frames tracked of one stopped before its end) goes into a header key of their own (`source_details`):
a record's keys are those of the version before, which reads the file still. Files written before the record existed
load as holding no recorded source (the header key `sources` is absent, as it is from a file that records none; a reader
that does not know the key ignores it).
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tracker.gallery_records import GalleryError

__all__ = [
    "DIGEST_BYTES",
    "LinkedSource",
    "SourceLinkedError",
    "read_sources",
    "refuse_linked",
    "source_details",
    "source_digest",
    "source_keys",
    "sources_header",
]

DIGEST_BYTES = 1 << 20  # a source's key covers its size and this many first bytes (1 MiB: ~1 ms per video)
# a source's head leaves out this many first bytes: the container header, whose sizes and frame counts a writer
# rewrites as the file grows and at its close (OpenCV's AVI: bytes 4-8, 48, 140-146, ~8490; MP4's mdat size: 32-40)
HEAD_SKIP_BYTES = 1 << 16
# where `--resume` goes on from (the record does not say which run stopped the source, nor whether it kept a checkpoint)
RESUME_WHERE = (
    ". --resume goes on from the checkpoint a `track` run of that source alone keeps in its --out (give that folder); "
    "a batch, a run of several sources or one with --checkpoint-seconds 0 keeps none: for those, another gallery or "
    "--relink"
)
DIGEST_PREFIX = "sha256:"  # keys name their hash, so another kind of key can be told from them later


@dataclass(frozen=True)
class LinkedSource:
    """A source whose sightings a gallery holds.

    Attributes:
        name: the source as it was given when it was last linked (a path; for the user: the key is its content).
        linked: when it was last linked (Unix s, UTC).
        frames: frames tracked, its end reached; None while its run has not tracked it to its end (stopped by
            `--max-frames`, Ctrl-C or an error, or under way: `--resume` goes on with it).
        links: how many times it was linked (more than 1: linked again on purpose, `--relink`; its sightings are
            counted that many times).
        tracked: with `frames` None, the frames its run tracked from the first before it stopped (a `--max-frames`
            cut, a stop); None where not known (under way, killed, or recorded by a version before it was kept).
        head: the SHA-256 of its first `DIGEST_BYTES` alone, past its first `HEAD_SKIP_BYTES` (`source_keys`): a video
            file's that long; None for others, and where recorded by a version before it was kept.
    """

    name: str
    linked: float
    frames: int | None = None
    links: int = 1
    tracked: int | None = None
    head: str | None = None

    def describe(self) -> str:
        """`a.mp4 (40 frames, linked 2026-12-04T19:31:05Z)`, with `twice`/`N times` when linked again, and
        `stopped before its end` (`its first N frames: ...` where known) for a run that did not track it to its end."""
        from tracker.gallery_export import utc_text  # (here: it imports the gallery)

        stopped = "stopped before its end"
        if self.frames is None and self.tracked is not None:
            stopped = f"its first {self.tracked} frame{'' if self.tracked == 1 else 's'} only: {stopped}"
        frames = stopped if self.frames is None else f"{self.frames} frames"
        times = "" if self.links == 1 else (", linked twice" if self.links == 2 else f", linked {self.links} times")
        return f"{self.name} ({frames}, linked {utc_text(self.linked)}{times})"

    def same_link(self, other: LinkedSource) -> bool:
        """Whether `other` records the same link of the source as this record, perhaps at another point of it (a
        copy of the file saved while the run was under way or stopped: frames None, the other its end): the same
        time and count of links."""
        return self.linked == other.linked and self.links == other.links

    def further(self, other: LinkedSource) -> LinkedSource:
        """Of two records of one link (`same_link`), the one further along: a finished run's, or more frames."""
        return max(self, other, key=lambda record: (record.frames is not None, record.frames or record.tracked or 0))


class SourceLinkedError(GalleryError):
    """Sources whose sightings the gallery holds already were given to link into it again (`refuse_linked`)."""


def refuse_linked(
    recorded: Mapping[str, LinkedSource],
    sources: Sequence[tuple[str, str | None]],
    gallery: Path,
    what: str = "tracking",
    option: str = "--gallery",
    resumable: bool = False,
    heads: Sequence[str | None] = (),
) -> None:
    """Raise `SourceLinkedError` when one of `sources`, (name as given, key: `source_digest`, None for a stream),
    is one the gallery file `gallery` holds the sightings of (`recorded`: its `Gallery.sources`), or comes twice in
    `sources` (the first would link it, the second again): one error naming every such source, what linking it
    again would do and the ways on (another gallery, for one it holds; leaving out a source's later copy, which
    another gallery would take twice all the same; `--relink`). `what` is what would link them ("tracking", "the
    batch"), `option` what chooses the gallery; `resumable`: a run that `--resume` continues (`track`), whose way on
    for a source the gallery records as stopped before its end is first that (--relink counted the sightings its
    stopped run saved twice), and where that goes on from (`RESUME_WHERE`: a stopped run of several sources or of a
    batch kept no checkpoint). `heads`: each source's head (`source_keys`; empty: none known): a source of a new key
    whose head a held source has is that recording grown since (still being written), or a longer one that begins
    with it, and is refused as held, said so; one whose head a source before it in `sources` has, as given twice.
    Nothing when none is."""
    held: list[str] = []
    stopped = False  # (one of them recorded by a run stopped before its end)
    grown = False  # (one of them the same recording as a held one, at another size)
    twice: list[str] = []
    later: list[str] = []  # (the second name of each source given twice)
    seen: dict[str, str] = {}  # (the keys and heads of the sources before, to their names)
    by_head = {entry.head: entry for entry in recorded.values() if entry.head is not None}
    for (name, key), head in itertools.zip_longest(sources, heads[: len(sources)]):
        if key is None:
            continue
        if key in recorded:
            entry = recorded[key]
            held.append(entry.describe() if entry.name == name else f"{name}, as {entry.describe()}")
            stopped = stopped or entry.frames is None
        elif head is not None and head in by_head:
            held.append(
                f"{name}'s first part, as {by_head[head].describe()} (the same first MiB, header aside, at another "
                "size: that recording grown since it was tracked, or a longer one that begins with it)"
            )
            grown = True
        elif key in seen:
            twice.append(f"{name} is the same video as {seen[key]}")
            later.append(name)
        elif head is not None and head in seen:  # (a recording and a longer copy of it, in one command)
            twice.append(f"{name} begins as {seen[head]} (the same first MiB at another size: one recording)")
            later.append(name)
        else:
            seen[key] = name
            if head is not None:
                seen[head] = name
    if not held and not twice:
        return
    said = []
    if held:
        said.append(f"the gallery {gallery} holds the sightings of {'; '.join(held)} already")
    if twice:
        said.append(f"{'; '.join(twice)}, given before it")
    resume = stopped and resumable
    ways = ["add --resume to go on with the run that stopped before its end"] if resume else []
    ways += ["track a recording once it is complete, into a new gallery"] if grown else []
    ways += [f"give another {option} (a new path starts an empty gallery)"] if held and not grown else []
    if twice:  # (another gallery does not help there: the copies would still be linked into it twice)
        ways.append(f"leave out {', '.join(later)}")
    raise SourceLinkedError(
        f"{' and '.join(said)}: {what} would link {'it' if len(held) + len(twice) == 1 else 'them'} into the gallery "
        f"again, counting those sightings twice; {', or '.join(ways)}, or add --relink to link again all the same "
        f"(after changing the tracker's settings: the sightings are then counted again){RESUME_WHERE if resume else ''}"
    )


def source_digest(source: str | Path) -> str | None:
    """The key of the source `source` names (module docstring): `sha256:<hex>`; None for a stream (webcam, URL) or
    a name that names no readable file (nothing to key: such a source fails to open anyway)."""
    return source_keys(source)[0]


def source_keys(source: str | Path) -> tuple[str | None, str | None]:
    """(key, head) of the source `source` names (module docstring): its key (`source_digest`) and, for a video file
    at least `DIGEST_BYTES` long, the SHA-256 of those first bytes alone but the first `HEAD_SKIP_BYTES` (the
    container header, which a writer rewrites as the file grows and at its close: the head of a recording copied
    while being written is the complete file's) (`sha256:<hex>`; a shorter file's first bytes change as it grows,
    and an image folder has none: None). (None, None) for a stream or a name that names no
    readable file."""
    from tracker.io.sources import SourceError, local_path, open_source, resolve_source

    kind = resolve_source(str(source))
    if kind not in ("path", "glob"):
        return None, None
    path = local_path(str(source))
    try:
        if kind == "path" and path.is_file():
            size = path.stat().st_size
            with path.open("rb") as file:
                first = file.read(DIGEST_BYTES)
            whole = len(first) == DIGEST_BYTES
            head = DIGEST_PREFIX + hashlib.sha256(first[HEAD_SKIP_BYTES:]).hexdigest() if whole else None
            return _digest([(b"", size)], first), head
        files = open_source(str(source)).files  # (lists the images; decodes the first one only)
        if not files:
            return None, None
        with files[0].open("rb") as file:
            first = file.read(DIGEST_BYTES)
        return _digest([(f.name.encode(), f.stat().st_size) for f in files], first), None
    except (OSError, SourceError):
        return None, None


def _digest(sizes: list[tuple[bytes, int]], first: bytes) -> str:
    """SHA-256 of each (name, size) in order, then `first` (the first `DIGEST_BYTES` of the first file)."""
    digest = hashlib.sha256()
    for name, size in sizes:
        digest.update(len(name).to_bytes(4, "little") + name + size.to_bytes(8, "little"))
    digest.update(first)
    return DIGEST_PREFIX + digest.hexdigest()


RECORD_KEYS = ("name", "linked", "frames", "links")  # a record's keys in `sources` (those of the version before)
DETAIL_KEYS = ("tracked", "head")  # the others, in `source_details` where set


def sources_header(sources: Mapping[str, LinkedSource]) -> dict[str, dict[str, Any]]:
    """The header's `sources`: {key: {"name", "linked", "frames", "links"}}, by key (the rest goes into
    `source_details`: a reader of the version before, whose check of a record's keys is strict, still reads the file,
    and says of a source stopped before its end what it is: "stopped before its end")."""
    return {key: {k: getattr(sources[key], k) for k in RECORD_KEYS} for key in sorted(sources)}


def source_details(sources: Mapping[str, LinkedSource]) -> dict[str, dict[str, Any]]:
    """The header's `source_details`: {key: {"tracked": frames tracked of a source stopped before its end, "head":
    its head}} with the ones set (`LinkedSource.tracked`, `.head`), by key; {} (the key left out: the header as
    before) when none is."""
    details = {key: {k: getattr(sources[key], k) for k in DETAIL_KEYS} for key in sorted(sources)}
    return {key: set_ for key, entry in details.items() if (set_ := {k: v for k, v in entry.items() if v is not None})}


def read_sources(header: Mapping[str, Any]) -> dict[str, LinkedSource]:
    """The sources a decoded header records ({}: a file saved without any, or before they were recorded).

    Raises:
        TypeError: a record that is not as a save writes it (a key that is no text, a name that is no text, a time
            that is no finite number, frames that are no whole number or null, links no whole number of at least 1).
    """
    stored = header.get("sources", {})
    if not isinstance(stored, dict):
        raise TypeError(f"the linked sources {stored!r} are not a mapping")
    sources: dict[str, LinkedSource] = {}
    for key, entry in stored.items():
        if not isinstance(entry, dict) or set(entry) != {"name", "linked", "frames", "links"}:
            raise TypeError(f"the linked source {key!r}: {entry!r} is not a source's record")
        name, linked, frames, links = entry["name"], entry["linked"], entry["frames"], entry["links"]
        fine = (
            isinstance(key, str)
            and isinstance(name, str)
            and _number(linked)
            and (frames is None or _whole(frames))
            and _whole(links)
            and links >= 1
        )
        if not fine:
            raise TypeError(f"the linked source {key!r}: {entry!r} is not a source's record")
        sources[key] = LinkedSource(name, float(linked), frames, links)
    details = header.get("source_details", {})
    if not isinstance(details, dict):
        raise TypeError(f"the linked sources' details {details!r} are not a mapping")
    for key, entry in details.items():
        tracked, head = (entry.get("tracked"), entry.get("head")) if isinstance(entry, dict) else (None, None)
        fine = (
            key in sources
            and isinstance(entry, dict)
            and entry
            and set(entry) <= set(DETAIL_KEYS)
            and (tracked is None or (_whole(tracked) and tracked >= 0 and sources[key].frames is None))
            and (head is None or (isinstance(head, str) and head.startswith(DIGEST_PREFIX)))
        )
        if not fine:
            raise TypeError(f"the details of the linked source {key!r}: {entry!r} are not a source's")
        sources[key] = dataclasses.replace(sources[key], tracked=tracked, head=head)
    return sources


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
