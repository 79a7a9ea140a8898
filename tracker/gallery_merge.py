"""Several gallery files in one (`track gallery merge`): two cameras' galleries, each written by its own `track` run.

The first file is the base: its identities keep their global IDs. Each identity of a later file, in order of its
global ID, is matched against the merged gallery as it stands by the gallery's own rule (`Gallery.match_looks`, the
decision `Gallery.link` makes for a track: the normalised mean of its prototypes against every identity's best
prototype, at least `gallery.min_similarity`, ahead of the runner-up by `gallery.margin`, same class). A match joins
that identity (`Gallery.absorb`: prototypes re-picked within `gallery.prototypes`, first and last sightings merged,
counts added, or for copies of one record, of the same first sighting, the larger one); the others get new global
IDs (`Gallery.new_id`: above every ID the base ever gave). Two identities of one file stay two: an ID one of them
took is not given to another of the same file (the file told them apart). `Gallery.merge_from` is the same merge
into a gallery Trackers hold (`merge_into`), the base being that gallery, searched without the streams' live tracks.

Before the look rule, provenance: an identity holding a prototype row equal, byte for byte, to one the merged gallery
holds (same class) is that identity's record (the same file given twice, or two copies of one gallery that went on
separately): it joins it whatever its looks' margin to a look-alike (the look rule alone gave a look-alike pair of a
real 16-person gallery merged with itself two new IDs). Two people's float32 embeddings are never equal in all D.

There is no video to calibrate on, so the bound is the floor `gallery.min_similarity`, as in `track batch
--gallery`'s linking; a `track` run searching the gallery uses at least that (its video's calibrated bound when
higher).

A look-alike (`MergeLink.nearest`) is an identity given a new ID although one already in the output, from another
file, is at or above that bound to it: the margin to a runner-up, or another identity of its file that joined that
one, kept the two apart (the same person filmed twice, or two people dressed alike). It is kept apart, as the rule
decides; the merge names each such pair (`lookalike_note`) so that a user can check them.

Shape letters: P prototypes of one identity, D embedding size.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from tracker.gallery import Gallery
from tracker.gallery_prototypes import looks_query, normalised
from tracker.gallery_records import GalleryModelError, Identity, describe_model
from tracker.gallery_search import NO_ID
from tracker.gallery_sources import LinkedSource, SourceLinkedError

__all__ = [
    "MergeLink",
    "Merged",
    "check_compatible",
    "lookalike_note",
    "merge_galleries",
    "merge_into",
    "missing_gallery_message",
    "refuse_shared_sources",
]

QUERY_CHUNK = 256  # look-alike search: new identities' queries per matrix product (bounds its memory)


@dataclass(frozen=True)
class MergeLink:
    """Where one identity of a later input went.

    Attributes:
        source: the input file.
        from_id: its global ID in that file.
        to_id: its global ID in the merged gallery.
        similarity: cosine of its query to the identity it joined (what was compared with the bound); None: it got
            a new ID.
        nearest: given a new ID, the global ID of the output's identity (not one of its own file's) it is most
            similar to at or above `gallery.min_similarity` (a look-alike kept apart); None: none is.
        nearest_similarity: that cosine (as `similarity`); None with `nearest`.
    """

    source: Path
    from_id: int
    to_id: int
    similarity: float | None
    nearest: int | None = None
    nearest_similarity: float | None = None

    @property
    def joined(self) -> bool:
        """Whether it joined an identity already in the merged gallery."""
        return self.similarity is not None


@dataclass
class Merged:
    """A merge's result.

    Attributes:
        gallery: the merged gallery (the first input's, or the one `Gallery.merge_from` took the file into, with
            the others' identities in it; not saved).
        links: one per identity of the later inputs, in the order they were merged.
        kept: identities of the first input (their IDs kept).
        dropped: global IDs the merged gallery forgot to stay within `gallery.max_identities` (least recently seen).
    """

    gallery: Gallery
    links: list[MergeLink]
    kept: int
    dropped: list[int]

    @property
    def joined(self) -> list[MergeLink]:
        """The links of identities that joined one the gallery held (`MergeLink.joined`), in merge order."""
        return [link for link in self.links if link.joined]

    @property
    def new(self) -> list[MergeLink]:
        """The links of identities given a new global ID, in merge order."""
        return [link for link in self.links if not link.joined]

    @property
    def lookalikes(self) -> list[MergeLink]:
        """The links of identities given a new ID next to a look-alike (`MergeLink.nearest`), in merge order."""
        return [link for link in self.links if link.nearest is not None]


def check_compatible(paths: Sequence[Path | str], galleries: Sequence[Gallery]) -> None:
    """Raise `GalleryModelError` naming the first file whose identities cannot be merged with those before it: a
    ReID model (name, weights digest) other than theirs, where both record one, another embedding size D, or another
    name for a class ID both name. A gallery that records no model or no class names conflicts with none."""
    model, dim = None, None
    names: dict[int, str] = {}  # class ID -> its name, as the first file naming it does
    first: dict[int | str, Path | str] = {}  # class ID, "model", "dim" -> the first file that set it
    for path, gallery in zip(paths, galleries, strict=True):
        if gallery.model is not None and model is not None and gallery.model.conflicts_with(model):
            raise GalleryModelError(
                f"{path} cannot be merged with {first['model']}: its ReID model is {describe_model(gallery.model)}, "
                f"that one's {describe_model(model)}; their embeddings cannot be compared"
            )
        if gallery.dim is not None and dim is not None and gallery.dim != dim:
            raise GalleryModelError(
                f"{path} cannot be merged with {first['dim']}: its embeddings have D = {gallery.dim}, that one's "
                f"D = {dim}; their embeddings cannot be compared"
            )
        for class_id, name in sorted(gallery.class_names.items()):
            if names.get(class_id, name) != name:
                raise GalleryModelError(
                    f"{path} cannot be merged with {first[class_id]}: it names class {class_id} {name!r}, that one "
                    f"{names[class_id]!r} (galleries of detectors with other classes)"
                )
            if class_id not in names:
                names[class_id], first[class_id] = name, path
        if model is None and gallery.model is not None:
            model, first["model"] = gallery.model, path
        if dim is None and gallery.dim is not None:
            dim, first["dim"] = gallery.dim, path


def merge_galleries(paths: Sequence[Path], galleries: Sequence[Gallery], count_twice: bool = False) -> Merged:
    """Merge `galleries` (loaded from `paths`, in that order) into the first one (module docstring), in memory.

    The result records the sources (videos) of every input (`Gallery.sources`). Two inputs that hold the sightings
    of one source from two links (it was tracked into each) are refused unless `count_twice`: a gallery counts how
    many times it saw each person, not in which video, so their joined identities would add that video's sightings
    twice and no merge could take them out (with `count_twice` they are added, and the source's record counts both
    links). One link both inherited from a common copy (`refuse_shared_sources`) is merged, recorded once.

    Args:
        paths: the input files, for the links (a file may be given twice: merging a gallery with itself gives it
            back, every identity joining itself).
        galleries: their galleries; the first becomes the result (its config's bounds and capacity apply).
        count_twice: merge inputs that hold one source all the same.
    Raises:
        SourceLinkedError: two inputs hold the sightings of one source (without `count_twice`), naming it and both
            files, before anything is merged.
        GalleryModelError: incompatible inputs (`check_compatible`), before anything is merged.
        ValueError: fewer than one gallery, or `paths` and `galleries` of different lengths.
    """
    if not galleries or len(paths) != len(galleries):
        raise ValueError(f"one path per gallery is needed, got {len(paths)} paths and {len(galleries)} galleries")
    return merge_into(galleries[0], paths[0], list(zip(paths[1:], galleries[1:], strict=True)), count_twice)


def merge_into(
    base: Gallery,
    name: Path | str,
    inputs: Sequence[tuple[Path, Gallery]],
    count_twice: bool = False,
    twice_option: str = "--count-twice",
) -> Merged:
    """Merge the galleries of `inputs` ((file, its gallery) pairs, in that order) into `base`, in place, by the
    module docstring's rule: what `merge_galleries` does with `base` first (`track gallery merge`) and
    `Gallery.merge_from` with the gallery Trackers hold (which holds its lock around this).

    Args:
        base: the gallery merged into (its global IDs kept; its config's bounds and capacity apply).
        name: what the errors call `base` (its file; "this gallery").
        inputs: the files merged into it and their galleries.
        count_twice: merge inputs that hold one of `base`'s sources all the same (`merge_galleries`).
        twice_option: how the refusal of shared sources names `count_twice` to the caller.
    Raises:
        SourceLinkedError, GalleryModelError: as `merge_galleries`, before anything is merged.
    """
    paths, galleries = [name, *(path for path, _ in inputs)], [base, *(gallery for _, gallery in inputs)]
    check_compatible(paths, galleries)
    if not count_twice:
        refuse_shared_sources(paths, galleries, twice_option)
    kept = {identity.global_id for identity in base.identities}
    links: list[MergeLink] = []
    for path, gallery in inputs:
        links += _merge_file(base, path, gallery)
    dropped = sorted((kept | {link.to_id for link in links}) - {i.global_id for i in base.identities})
    return Merged(base, links, len(kept), dropped)


def missing_gallery_message(path: Path) -> str:
    """`Gallery.merge_from`'s one line for a gallery file `path` that is not there (its FileNotFoundError said only
    "[Errno 2] No such file or directory" from inside the load): what it expected, how such a file is made, and the
    run holding its lock that has not saved it yet, if any (`tracker.io.lock.gallery_holder`)."""
    from tracker.io.lock import GALLERY_HOLDERS, gallery_holder

    holder = gallery_holder(path)
    why = (
        f"; {GALLERY_HOLDERS} (process {holder}) holds it and has not saved it yet: try again once it has"
        if holder
        else ""
    )
    return (
        f"no gallery file {path} to merge from: merge_from takes a gallery file saved before (`Gallery.save`, or "
        f"`track --gallery {path}` at its periodic saves and its end){why}"
    )


def _merge_file(merged: Gallery, path: Path, gallery: Gallery) -> list[MergeLink]:
    """Merge one input's `gallery` (read from `path`) into `merged`, in place (module docstring); returns where
    each of its identities went, in the order merged."""
    if merged.model is None and gallery.model is not None:
        merged.bind_model(gallery.model)
    merged.name_classes(gallery.class_names)
    merged.absorb_sources(gallery.sources)
    taken = _Taken()  # IDs this file's identities took: another of its identities is another person
    fresh: dict[int, Identity] = {}  # new ID -> this file's identity that got it
    owners = _row_owners(merged)
    links: list[MergeLink] = []
    for identity in gallery.identities:
        gid = _same_record(identity, owners, merged, taken.ids)
        if gid == NO_ID:  # (the stored identities alone: a live track of a stream is no identity of a file)
            near = taken.near(identity.prototypes, merged.config.min_similarity - merged.config.margin)
            gid = merged.match_looks(identity.prototypes, identity.class_id, exclude=near, live=False)
        similarity = None if gid == NO_ID else _similarity(identity.prototypes, merged[gid].prototypes)
        if gid == NO_ID:
            gid = merged.new_id()
            fresh[gid] = identity
        taken.add(gid, merged.absorb(gid, identity).prototypes)
        links.append(MergeLink(path, identity.global_id, gid, similarity))
    lookalikes = _nearest_others(merged, fresh)  # (after the file: against the output as it holds them)
    for k, link in enumerate(links):
        if (pair := lookalikes.get(link.to_id)) is not None:
            links[k] = replace(link, nearest=pair[0], nearest_similarity=pair[1])
    return links


def refuse_shared_sources(
    paths: Sequence[Path | str], galleries: Sequence[Gallery], twice_option: str = "--count-twice"
) -> None:
    """Raise `SourceLinkedError` naming the sources two of `galleries` (loaded from `paths`) both hold the
    sightings of from two links, and the files (the first that held each); nothing when none is. One link both
    record (`LinkedSource.same_link`: the same time and count, its frames perhaps at another point of the run: a
    copy of one file, or a file restored from an older copy, saved during or after the run) is not refused: each
    identity the copies share joins itself by provenance, and one that only one of them saw again since is taken as
    that one's (`Gallery.absorb`). Two records of one head and two keys in two files (a recording tracked into one
    while it was being written, into the other once longer: `tracker.gallery_sources`) are refused too. The error
    names `twice_option` as the way to merge them all the same."""
    first: dict[str, tuple[Path | str, LinkedSource]] = {}
    heads: dict[str, tuple[Path | str, str, LinkedSource]] = {}  # (a recording grown between its links: another key)
    shared: list[str] = []
    for path, gallery in zip(paths, galleries, strict=True):
        for key, record in sorted(gallery.sources.items()):
            grown = heads.get(record.head) if record.head is not None else None
            if key in first and not first[key][1].same_link(record):  # (one link, inherited from a common copy)
                shared.append(f"{first[key][0]} and {path} both hold the sightings of {record.describe()}")
            elif key not in first and grown is not None and grown[1] != key and grown[0] != path:
                shared.append(
                    f"{grown[0]} and {path} both hold the sightings of the first part of one recording, as "
                    f"{grown[2].describe()} and {record.describe()} (the same first MiB, header aside, at two sizes)"
                )
            if key not in first:
                first[key] = (path, record)
            if record.head is not None:
                heads.setdefault(record.head, (path, key, record))
    if shared:
        raise SourceLinkedError(
            f"{'; '.join(shared)}: merged, their identities would count those sightings twice (a gallery counts how "
            "many times it saw each person, not in which video, so a merge cannot take them out); merge galleries of "
            f"other videos, or add {twice_option} to merge them all the same"
        )


def lookalike_note(merged: Merged, named: Callable[[Path], str] = str) -> str | None:
    """One line naming the look-alike pairs the merge kept apart (`Merged.lookalikes`), with their similarity and the
    keys that set the bounds, each input file written as `named` writes it (the command's other lines' way); None
    when there are none. "2 look-alike pairs kept apart ...: cam2.gallery 5 (now 7) ~ 3 at 0.871, ..."."""
    pairs = merged.lookalikes
    if not pairs:
        return None
    bounds = merged.gallery.config
    listed = ", ".join(
        f"{named(link.source)} {link.from_id} (now {link.to_id}) ~ {link.nearest} at {link.nearest_similarity:.3f}"
        for link in pairs
    )
    what = "1 look-alike pair" if len(pairs) == 1 else f"{len(pairs)} look-alike pairs"
    return (
        f"{what} kept apart (new IDs at or above gallery.min_similarity {bounds.min_similarity:g} to an identity, "
        f"but within gallery.margin {bounds.margin:g} of another or already joined by their file): {listed}"
    )


def _nearest_others(merged: Gallery, fresh: dict[int, Identity]) -> dict[int, tuple[int, float]]:
    """New ID -> (global ID, cosine) of the identity of the same class, not one of `fresh` (the new IDs one file's
    identities got), most similar to the query of its identity's looks (as `_similarity`), where that is at least
    `gallery.min_similarity`: the look-alikes the merge kept apart. One matrix product per `QUERY_CHUNK` queries
    against every other identity's stored prototypes (a search per identity made a merge half as long again)."""
    others = [i for i in merged.identities if i.global_id not in fresh]
    if not fresh or not others:
        return {}
    rows = np.concatenate([i.prototypes for i in others])  # (M, D) stored prototypes, normalised
    starts = np.cumsum([0] + [len(i.prototypes) for i in others[:-1]])  # each identity's first row
    classes = np.array([i.class_id for i in others])
    ids = np.array([i.global_id for i in others])
    new = list(fresh)
    found: dict[int, tuple[int, float]] = {}
    for begin in range(0, len(new), QUERY_CHUNK):
        chunk = new[begin : begin + QUERY_CHUNK]
        queries = normalised(np.concatenate([looks_query(fresh[g].prototypes) for g in chunk]))  # (Q, D)
        best = np.maximum.reduceat(queries @ rows.T, starts, axis=1)  # (Q, G) each identity's best prototype
        best[np.array([fresh[g].class_id for g in chunk])[:, None] != classes[None, :]] = -np.inf
        top = best.argmax(axis=1)
        for g, column, sims in zip(chunk, top, best, strict=True):
            if sims[column] >= merged.config.min_similarity:
                found[g] = (int(ids[column]), float(sims[column]))
    return found


def _similarity(looks: np.ndarray, prototypes: np.ndarray) -> float:
    """Cosine of the query of (P, D) `looks` (`looks_query`) to the best of an identity's (P', D) `prototypes`: the
    similarity `Gallery.match` compared with its bound."""
    return float((normalised(looks_query(looks)) @ prototypes.T).max())


def _row_owners(gallery: Gallery) -> dict[bytes, int]:
    """Each stored prototype row's bytes -> the global ID holding it."""
    return {row.tobytes(): i.global_id for i in gallery.identities for row in i.prototypes}


def _same_record(identity: Identity, owners: dict[bytes, int], merged: Gallery, taken: set[int]) -> int:
    """The global ID of `merged`'s identity of `identity`'s class holding one of its prototype rows byte for byte
    (a copy of the same record: module docstring), not in `taken`; `NO_ID` when none does."""
    for row in identity.prototypes:
        gid = owners.get(row.tobytes(), NO_ID)
        if gid != NO_ID and gid not in taken and gid in merged and merged[gid].class_id == identity.class_id:
            return gid
    return NO_ID


class _Taken:
    """The identities one input's earlier identities took (`ids`), with their prototypes as the merge left them
    (each is taken once per input, so they stay so while that input is merged).

    Only those of them near a query need excluding from its search (`near`): an identity whose best similarity to
    the query is below `gallery.min_similarity - gallery.margin` cannot be its match (below the floor) nor a
    runner-up within the margin of a match (at or above the floor), so leaving it in changes no decision. Excluding
    them all made each search fetch neighbours for every one (`Gallery.match`): a merge of two 3000-identity files
    took 1 min 45 s, most of it there. Their rows are kept in one array grown by doubling (no copy per query)."""

    def __init__(self) -> None:
        self.ids: set[int] = set()
        self._rows = np.zeros((0, 0), dtype=np.float32)  # (capacity, D) the taken prototypes, `_count` rows used
        self._owners = np.zeros(0, dtype=np.int64)  # (capacity,) the global ID of each row
        self._count = 0

    def add(self, global_id: int, prototypes: np.ndarray) -> None:
        """Record `global_id` as taken, with its (P, D) stored prototypes."""
        self.ids.add(global_id)
        end = self._count + len(prototypes)
        if end > len(self._rows):
            grown = max(end, 2 * len(self._rows))
            rows, owners = np.zeros((grown, prototypes.shape[1]), dtype=np.float32), np.zeros(grown, dtype=np.int64)
            if self._count:
                rows[: self._count], owners[: self._count] = self._rows[: self._count], self._owners[: self._count]
            self._rows, self._owners = rows, owners
        self._rows[self._count : end], self._owners[self._count : end] = prototypes, global_id
        self._count = end

    def near(self, looks: np.ndarray, bound: float) -> set[int]:
        """The taken IDs whose best prototype's cosine to the query of (P, D) `looks` (`looks_query`, as
        `Gallery.match_looks` makes it) is at least `bound`."""
        if not self._count:
            return set()
        sims = self._rows[: self._count] @ normalised(looks_query(looks))[0]
        return set(self._owners[: self._count][sims >= bound].tolist())
