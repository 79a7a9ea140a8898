"""A persistent gallery of identities: the long-term tier of the appearance memory.

Active and lost tracks keep their per-track banks (`tracker.bank`). When a lost track expires, its identity
moves here: a few prototype embeddings picked from its bank (farthest-point or k-means), its class, where and
when it was first and last seen, and how many times it was seen (sightings). A detection that would start a
new track is first searched here, by appearance alone, in one batched search for all of a frame's newcomers;
a match revives the old identity (its `global_id`), an ambiguous one (best vs runner-up within `margin`) does
not. `Gallery.link` is the same decision offline, for tracks of several videos at once (a reduce step).

Search (`tracker.gallery_index`) is inner product on L2-normalised vectors (= cosine): exact (one BLAS matmul
over all prototypes for a frame's queries) up to `gallery.ivf_min_identities`, beyond that faiss' inverted file
with fast-scan PQ codes (Johnson et al., "Billion-scale similarity search with GPUs", 2017), whose candidates
are re-ranked exactly. Both support removal.

A gallery file is data, never code: safetensors for the arrays and JSON in its header for everything else
(no pickle), a format version, and the identity of the ReID model that made the embeddings (a gallery of
another model is refused: different embedding spaces cannot be compared). Files are written atomically
(temp file, fsync, rename) with mode 0600: they hold biometric-like data.
This module is the gallery's core: its identities (stored, merged, looked up) and the model they come from, one call
at a time (`tracker.gallery_guard`). `Gallery` is made of parts, one job each, beside it: `tracker.gallery_search`
(`match`, `link`), `tracker.gallery_live` (the live tracks of other streams), `tracker.gallery_retention` (`remove`,
`prune`), `tracker.gallery_upkeep` (the index kept in step) and `tracker.gallery_save` (`save`, `begin_save`,
`load`); `tracker.gallery_checks` checks their arguments. The pieces they use: `tracker.gallery_records` (Identity,
Sighting, ModelIdentity, the errors), `tracker.gallery_prototypes` (which looks an identity keeps),
`tracker.gallery_assign` (a frame's newcomers to identities: assignment and ratio test), `tracker.gallery_index` (the
search indexes), `tracker.gallery_format` (the bytes of a file) and `tracker.gallery_file` (the file on disk: atomic
writes, versions, conflicts).

Shape letters: Q queries, D embedding size, P prototypes of one identity (<= K_g = `gallery.prototypes`).
"""

from __future__ import annotations

import copy
import dataclasses
import os
import threading
import time
import weakref
from collections.abc import Hashable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tracker.config import GalleryConfig
from tracker.gallery_checks import (
    check_config,
    check_model_type,
    checked_global_id,
    checked_record,
    checked_source_record,
)
from tracker.gallery_file import FileVersion, check_saveable
from tracker.gallery_guard import locked
from tracker.gallery_index import IVF_MIN_ROWS as IVF_MIN_ROWS  # (re-exported: importable here before)
from tracker.gallery_index import ExactIndex, InvertedFileIndex
from tracker.gallery_live import GalleryLive
from tracker.gallery_prototypes import check_looks, consistent_looks, select_prototypes
from tracker.gallery_records import (
    GalleryBadPrototypeError,
    GalleryConflictError,
    GalleryError,
    GalleryModelError,
    Identity,
    LiveLooks,
    ModelIdentity,
    SaveAbandoned,
    Sighting,
    describe_model,
    is_whole,
)
from tracker.gallery_retention import SECONDS_PER_DAY as SECONDS_PER_DAY  # (re-exported: public here before)
from tracker.gallery_retention import GalleryRetention
from tracker.gallery_save import GalleryFiles, PendingSave
from tracker.gallery_search import NO_ID as NO_ID  # (re-exported: public here before)
from tracker.gallery_search import SEARCH_MIN_IDENTITIES as SEARCH_MIN_IDENTITIES  # (re-exported: public here before)
from tracker.gallery_search import (
    SEARCH_NEIGHBOURS_PER_EXCLUDED as SEARCH_NEIGHBOURS_PER_EXCLUDED,  # (re-exported: public here before)
)
from tracker.gallery_search import GallerySearch
from tracker.gallery_sources import LinkedSource, SourceLinkedError
from tracker.gallery_upkeep import ID_STRIDE as ID_STRIDE  # (re-exported: public here before)
from tracker.gallery_upkeep import IVF_REBUILD_GROWTH as IVF_REBUILD_GROWTH  # (re-exported: public here before)
from tracker.gallery_upkeep import MAX_GLOBAL_ID as MAX_GLOBAL_ID  # (re-exported: public here before)
from tracker.gallery_upkeep import GalleryIndexUpkeep

if TYPE_CHECKING:
    from tracker.gallery_merge import Merged

__all__ = [
    "Gallery",
    "GalleryBadPrototypeError",
    "GalleryConflictError",
    "GalleryError",
    "GalleryModelError",
    "Identity",
    "ModelIdentity",
    "PendingSave",
    "SaveAbandoned",
    "Sighting",
    "check_saveable",  # (public here before the split: gallery_file's)
    "consistent_looks",  # (gallery_prototypes')
    "select_prototypes",  # (gallery_prototypes')
]

# what a gallery of another embedding space leaves the user to do (`Gallery.check_model`); a gallery bound to no
# model (`_NO_MODEL_REMEDY`) names none to track with: its D is what it tells
_ANOTHER_FILE = "give another gallery file (a new path starts an empty one)"
_OTHER_MODEL_REMEDY = f"track with the ReID model and weights this gallery was made with, or {_ANOTHER_FILE}"
_NO_MODEL_REMEDY = "track with a ReID model of D = {dim} (the gallery records no model), or " + _ANOTHER_FILE


class Gallery(GalleryFiles, GallerySearch, GalleryLive, GalleryRetention, GalleryIndexUpkeep):
    """Identities that outlive their tracks, searchable by appearance, saved to and loaded from disk.

    Args:
        config: the `gallery` section of the tracker config (prototypes, bounds, index, retention).
        model: the ReID model the embeddings come from (checked against files and other galleries); None
            until known (`bind_model`).
    Python: `Tracker(config, gallery=Gallery.load(path, config.gallery))`, ..., `tracker.reset()`,
    `tracker.gallery.save(path)`.
    One Gallery may serve several Trackers (one per camera stream, each in its own thread): its methods take one
    call at a time (a lock of its own, ~0.6 us a call), so a person keeps one global ID across the streams: one
    who walks from one view to another through the stored identities, one in two views at once through the live
    tracks each stream publishes while the gallery serves more than one (`attach`, `publish`).

    Methods and sources (the module docstring): cosine similarity as inner products of L2-normalised D-vectors,
    searched exactly (one matrix product) up to `gallery.ivf_min_identities`, beyond that by faiss' inverted file
    with fast-scan PQ codes (Johnson et al. 2017), re-ranked exactly; each identity's P prototypes picked from a
    track's bank by farthest-point sampling or faiss k-means (`gallery.prototype_method`); a frame's newcomers
    given identities by one assignment (`lap.lapjv`) and a margin over the runner-up (`gallery.margin`).
    Raises:
        TypeError: `config` is not a `GalleryConfig` (the whole `TrackerConfig`: pass `cfg.gallery`), `model` not a
            `ModelIdentity`.
        ValueError: `config.prototypes` of `ID_STRIDE` (4096) or more (only a config `load_config` did not check:
            its range is 1-1024).
    """

    def __init__(self, config: GalleryConfig | None = None, model: ModelIdentity | None = None) -> None:
        check_config(config)
        check_model_type(model)
        self.config = config if config is not None else GalleryConfig()
        self.model = model
        self._identities: dict[int, Identity] = {}
        self._next_id = 1
        self._class_names: dict[int, str] = {}  # the detector's name of each class ID, when known (`name_classes`)
        self._linked: dict[str, LinkedSource] = {}  # the sources whose sightings it holds, by key (`record_source`)
        self._index: ExactIndex | InvertedFileIndex | None = None  # over all prototypes, built on first use
        self._ivf_trained_at = 0  # vectors in the gallery when the inverted file was trained (0: exact index)
        self._dirty = False
        self._saving = 0  # saves begun (`begin_save`) and neither written nor failed yet
        self._file: tuple[str, FileVersion] | None = None  # (real path, version) of the file last read or written
        self._guard = threading.RLock()  # held by every public method (`locked`): Trackers in several threads
        self._sources: weakref.WeakSet[Any] = weakref.WeakSet()  # the streams searching this gallery (`attach`)
        # stream -> global ID -> its live track's looks, held weakly: a stream deleted without `reset` offers none
        self._live: weakref.WeakKeyDictionary[Any, dict[int, LiveLooks]] = weakref.WeakKeyDictionary()
        self._dims: weakref.WeakKeyDictionary[Any, int] = weakref.WeakKeyDictionary()  # stream -> its looks' D (`join`)
        self._pickled_streams = 0  # the streams it served when its trackers were pickled (`GalleryLive.restored_for`)

    def __getstate__(self) -> dict[str, Any]:
        """The state to copy or pickle (a checkpoint): all but the lock, the live streams' tracks (a copy serves no
        stream until one attaches to it) and the saves under way (a copy taken while one is being written counts as
        changed: nothing says that save will reach the file). How many streams it serves travels with each
        tracker's pickle instead (`GalleryLink`), not with the gallery's own: a copy pickled or copied on its own
        and handed to new trackers is no tracker restored onto a copy of its own (`GalleryLive.restored_for`).

        Taken as of one moment, holding the gallery's lock (re-entrant: also from a method that holds it), while
        other threads add to it or a save ends: the identities and the index (changed in place) are copied then,
        as pickle reads the state only after this returns (the index's copy costs a copy of its prototypes).
        """
        skipped = ("_guard", "_sources", "_live", "_dims", "_saving", "_pickled_streams")
        with self._guard:
            state = {key: value for key, value in self.__dict__.items() if key not in skipped}
            return state | {
                "_dirty": self.modified,
                "_identities": dict(self._identities),  # (records are replaced, never changed in place)
                "_linked": dict(self._linked),  # (records are replaced, never changed in place)
                "_index": copy.deepcopy(self._index),
            }

    def __setstate__(self, state: dict[str, Any]) -> None:  # a checkpoint pickled before `_file` existed
        defaults: dict[str, Any] = {"_file": None, "_class_names": {}, "_linked": {}, "_pickled_streams": 0}
        self.__dict__.update(defaults | state)
        self._sources, self._live, self._dims = (
            weakref.WeakSet(),
            weakref.WeakKeyDictionary(),
            weakref.WeakKeyDictionary(),
        )
        self._guard = threading.RLock()
        self._saving = 0

    # ------------------------------------------------------------------------------------------ content
    @locked
    def __len__(self) -> int:
        """Identities stored (not the live tracks streams offer)."""
        return len(self._identities)

    @locked
    def __contains__(self, global_id: object) -> bool:
        """Whether `global_id` (a whole number, Python's or numpy's) is a stored identity; anything else is none (an
        ID is not truncated: 1.9 is not identity 1)."""
        return isinstance(global_id, Hashable) and global_id in self._identities

    @locked
    def __getitem__(self, global_id: int) -> Identity:
        """The stored identity of `global_id` (a whole number, Python's or numpy's); KeyError when there is none."""
        return self._identities[global_id]

    @locked
    def __iter__(self) -> Iterator[int]:
        """The stored global IDs, ascending (as `identities` lists them), from a copy: removing while looping is
        safe. (Without it Python looped `gallery[0], gallery[1], ...`: "KeyError: 0", as IDs start at 1.)"""
        return iter(sorted(self._identities))

    @property
    @locked
    def identities(self) -> list[Identity]:
        """All identities, by global ID."""
        return [self._identities[k] for k in sorted(self._identities)]

    @property
    @locked
    def dim(self) -> int | None:
        """D of the stored embeddings, or while none is stored, of the live tracks streams offer (`publish`): None
        while both are empty and no model dimension is known."""
        if self.model is not None and self.model.dim is not None:
            return self.model.dim
        stored = self._stored_dim()
        if stored is not None:
            return stored
        offered = next((look for live in list(self._live.values()) for look in live.values()), None)
        return None if offered is None else offered.prototypes.shape[1]

    def _stored_dim(self) -> int | None:
        """D of the stored prototypes (those of the first identity: all have one D); None while empty."""
        first = next(iter(self._identities.values()), None)
        return None if first is None else first.prototypes.shape[1]

    @property
    @locked
    def num_vectors(self) -> int:
        """Prototypes stored (all identities); O(1) once the index is built (it is kept in step)."""
        if self._index is not None:
            return self._index.ntotal
        return sum(len(i.prototypes) for i in self._identities.values())

    @property
    def modified(self) -> bool:
        """Changed since it was loaded or last saved (also while a save `begin_save` began is not written yet)."""
        return self._dirty or self._saving > 0

    @locked
    def new_id(self) -> int:
        """A global ID never used in this gallery (also across saves and loads)."""
        gid = self._next_id
        self._next_id += 1
        self._dirty = True
        return gid

    @property
    @locked
    def sources(self) -> dict[str, LinkedSource]:
        """The sources whose sightings it holds, by key (`tracker.gallery_sources.source_digest`): a copy."""
        return dict(self._linked)

    @locked
    def linked_source(self, key: str | None) -> LinkedSource | None:
        """The record of the source of key `key` when this gallery holds its sightings; None otherwise (and for no
        key: a stream)."""
        return None if key is None else self._linked.get(key)

    @locked
    def record_source(
        self,
        key: str,
        name: str | os.PathLike[str],
        frames: int | None = None,
        *,
        again: bool = False,
        when: float | None = None,
        tracked: int | None = None,
        head: str | None = None,
    ) -> LinkedSource:
        """Record that this gallery holds the sightings of the source of key `key` (`source_digest`), given as
        `name`: `frames` tracked to its end (None: not to its end, `tracked` frames from its first where known: a
        run stopped by `--max-frames` or Ctrl-C; None: not known, under way), linked at `when` (Unix s; default:
        now for a new link, the recorded time for one going on, so that every save of one link records the same
        link: `same_link`). `head`: its head (`source_keys`; None: the one recorded, if any). A source recorded
        already keeps its count of links, or with `again` (linked again on purpose) counts one more. Returns the
        record.

        Raises:
            TypeError: a `key` that is not text (None: `source_digest`'s for a stream, which is not recorded), a
                `name` that is neither text nor a path (a `Path` is recorded as its text), `frames` or `tracked`
                that are not whole numbers or None (nothing recorded).
            ValueError: a negative `frames` or `tracked`.
        """
        name, frames, tracked = checked_source_record(key, name, frames, tracked)
        old = self._linked.get(key)
        links = 1 if old is None else old.links + int(again)
        if when is None:
            when = old.linked if old is not None and not again else time.time()
        head = head if head is not None or old is None else old.head  # (one key: one content, one head)
        record = LinkedSource(name, float(when), frames, links, None if frames is not None else tracked, head)
        self._linked[key] = record
        self._dirty = True
        return record

    @locked
    def absorb_sources(self, sources: Mapping[str, LinkedSource]) -> None:
        """Record another gallery's `sources` (`track gallery merge`): one it lacks as it is; one it holds the same
        link of (`LinkedSource.same_link`: a common copy's, perhaps saved at another point of the run) once, the
        record further along; one it holds from another link with the links of both (its sightings are in both:
        counted twice) and the later link's name, time and frames."""
        for key, other in sources.items():
            mine = self._linked.get(key)
            if mine is not None and mine.same_link(other):  # (one link, both inherited from a common copy)
                other = mine.further(other)
            elif mine is not None:
                later = max(mine, other, key=lambda record: record.linked)
                other = dataclasses.replace(later, links=mine.links + other.links)
            if other != mine:  # (a record it holds already: no change, nothing to save)
                self._linked[key] = other
                self._dirty = True

    @locked
    def bind_model(self, model: ModelIdentity) -> None:
        """Tie the gallery to the ReID model in use; refuse one made with another model.

        Raises:
            GalleryModelError: the gallery's embeddings come from other weights or have another D (also a gallery
                bound to no model yet, whose stored prototypes have another D than `model.dim`); the message
                starts with the gallery's file when it was loaded or saved.
            TypeError: `model` is not a `ModelIdentity`.
        """
        self.check_model(model)
        dim = self.dim if model.dim is None else model.dim
        self.model = ModelIdentity(model.name, model.weights_digest, dim)

    @locked
    def check_model(self, model: ModelIdentity) -> None:
        """Raise what `bind_model` raises for `model`, binding nothing (`Tracker.from_config` asks before it loads
        any model).

        Raises:
            GalleryModelError: `model` conflicts with the gallery's model (other weights, another D) or its D with
                the stored prototypes' (as `bind_model`).
            TypeError: `model` is not a `ModelIdentity`.
        """
        check_model_type(model)
        named = "" if self._file is None else f"{self._file[0]}: "  # which file, with several in use
        stored = self._stored_dim()
        if self.model is not None and self.model.conflicts_with(model):
            made = self.model if self.model.dim is not None else dataclasses.replace(self.model, dim=stored)
            raise GalleryModelError(
                f"{named}this gallery was made with ReID model {describe_model(made)}, the tracker uses "
                f"{describe_model(model)}: their embeddings cannot be compared; {_OTHER_MODEL_REMEDY}"
            )
        if model.dim is not None and stored is not None and stored != model.dim:
            remedy = _OTHER_MODEL_REMEDY if self.model is not None else _NO_MODEL_REMEDY.format(dim=stored)
            raise GalleryModelError(
                f"{named}this gallery holds embeddings of D = {stored}, the tracker uses {describe_model(model)}: "
                f"their embeddings cannot be compared; {remedy}"
            )

    @locked
    def add(
        self,
        global_id: int,
        embeddings: np.ndarray,
        class_id: int,
        sighting: Sighting,
        first_seen: Sighting | None = None,
    ) -> Identity:
        """Store a track's identity (an expired track, or the end of a video).

        A new `global_id` becomes an identity; a known one merges: its prototypes are re-picked from the old
        prototypes and the new embeddings, its count goes up by one, and its first and last sightings are the
        earliest and the latest by time of the stored and the new ones (tracks of one person in two cameras end in
        any order). Enforces `max_identities` (the least recently seen go first).

        Args:
            global_id: from `new_id()` or an earlier `match`.
            embeddings: (N, D) the track's bank (any norm; normalised here), N >= 1.
            class_id: detector class.
            sighting: the track's last sighting.
            first_seen: its first sighting, for a new identity (default: `sighting`).
        Raises:
            ValueError: no embeddings, another D than the gallery's, or a row that is NaN, infinite or zero (no
                look: it would be stored as a prototype that matches nothing, or NaN in the file); a `global_id`
                outside [1, `MAX_GLOBAL_ID`].
            TypeError: a `global_id` or `class_id` that is not a whole number (7.9 would merge into identity 7), a
                `sighting` or `first_seen` that is not a `Sighting` of a whole frame, a real time and a text source
                (no later save could write it; numpy numbers are taken as Python's).
            ValueError (also): a sighting's time NaN or infinite (the file saved would be refused as corrupt).
        Nothing is stored when it raises.
        """
        gid = checked_global_id(global_id)
        class_id, sighting, first_seen = checked_record(class_id, sighting, first_seen)
        emb = self._checked_looks(embeddings)
        old = self._identities.get(gid)
        prototypes = self._prototypes(old, emb)
        if old is None:
            identity = Identity(gid, int(class_id), first_seen or sighting, sighting, 1, prototypes)
        else:  # (two cameras' tracks of one person may be stored out of order: the earliest and latest kept)
            first = min(old.first_seen, first_seen or sighting, key=lambda seen: seen.time)  # (a tie: the stored one)
            last = max(sighting, old.last_seen, key=lambda seen: seen.time)  # (a tie: the new one)
            identity = Identity(gid, old.class_id, first, last, old.sightings + 1, prototypes)
        return self._put(identity, old)

    @locked
    def absorb(self, global_id: int, identity: Identity) -> Identity:
        """Store another gallery's `identity` under `global_id` (`track gallery merge`).

        A new `global_id` takes its record as it is (class, first and last sightings, sightings count) with its
        prototypes picked as `add` picks them; a known one merges: its prototypes are re-picked from both sets (at
        most `gallery.prototypes`; a row it holds already is not added twice), its first sighting is the earlier of
        the two, its last the later, and the counts add up, except for two records of one origin (the very same
        first sighting: frame, time and source, which two tracks never share): copies of one record, which count
        the larger of the two (exact where one copy saw the person again since the copy was made, a file restored
        from an older copy; where both did, the count at the copy is known to neither, and this counts what the one
        that saw more added; the sum counted the copied sightings twice). The very record it holds (the same
        sightings, every prototype stored already: a gallery merged with itself) changes nothing. Enforces
        `max_identities` as `add` does.

        Raises:
            ValueError: prototypes of another D than the gallery's, or a row that is no look (as `add`); a
                `global_id` outside [1, `MAX_GLOBAL_ID`]. TypeError: a `global_id` that is not a whole number.
        Nothing is stored when it raises.
        """
        gid = checked_global_id(global_id)
        class_id, seen_last, seen_first = checked_record(identity.class_id, identity.last_seen, identity.first_seen)
        emb = self._checked_looks(identity.prototypes)
        old = self._identities.get(gid)
        if old is not None:  # (rows compared as stored: the prototypes of a loaded file are the saved bytes)
            stored = {row.tobytes() for row in old.prototypes}
            emb = emb[[row.tobytes() not in stored for row in emb]]
            if not len(emb) and (old.first_seen, old.last_seen) == (seen_first or seen_last, seen_last):
                return old
        prototypes = old.prototypes if old is not None and not len(emb) else self._prototypes(old, emb)
        if old is None:
            merged = Identity(gid, class_id, seen_first or seen_last, seen_last, int(identity.sightings), prototypes)
        else:
            first = min(old.first_seen, seen_first or seen_last, key=lambda seen: seen.time)  # (a tie: the stored one)
            last = max(old.last_seen, seen_last, key=lambda seen: seen.time)
            one_origin = old.first_seen == (seen_first or seen_last)  # (copies of one record: module docstring)
            seen = max(old.sightings, identity.sightings) if one_origin else old.sightings + identity.sightings
            merged = Identity(gid, old.class_id, first, last, seen, prototypes)
        return self._put(merged, old)

    def merge_from(self, path: str | Path, *, count_twice: bool = False) -> Merged:
        """Take in the identities of the gallery file `path` (one another program saved since this gallery read or
        wrote it: its `save` was refused with `GalleryConflictError`), here, while Trackers hold this gallery.

        Merged by `track gallery merge`'s rule (`tracker.gallery_merge`) with this gallery as the base: its global
        IDs are kept (live tracks hold them); each of the file's identities joins the stored identity holding one of
        its prototypes byte for byte (a copy of one record) or matching its looks (`match_looks` against the stored
        identities alone, not the streams' live tracks, as the merge of the two files would), else gets a new ID
        above every ID this gallery ever gave, and when `path` becomes its file (below), above every ID the file gave
        too (its next save writes over the file: none of the file's IDs, its outputs', is given to another person).
        The file is read first (the Trackers go on meanwhile), then merged
        holding this gallery's lock (they wait for it: ~the time `track gallery merge` takes over the file). The
        version read becomes the one this gallery last read, when `path` is its file (or it has none yet): its next
        `save(path)` writes the union over that version; a file another program writes after it is refused again.
        Another file leaves its file as it was (its saves go on there). Retention is not applied to the file.

        Args:
            path: a gallery file (a leading "~" is the home folder).
            count_twice: take it in even where both hold the sightings of one source from two links
                (`merge_galleries`' `count_twice`).
        Returns:
            The merge's `Merged` (its `gallery` is this one): `links` (the file's ID -> its ID here; `joined`,
            `new`), `lookalikes` (new IDs kept apart from a look-alike), `dropped` (forgotten beyond
            `gallery.max_identities`).
        Raises:
            GalleryModelError: the file's identities come from another ReID model or have another D (or name a
                class otherwise): nothing changed.
            SourceLinkedError: both hold the sightings of one source from two links (without `count_twice`):
                nothing changed.
            RuntimeError: a save `begin_save` began is not written yet (its older snapshot would then be written
                over the file taken in): nothing read.
            FileNotFoundError: no file `path` (one line naming it, and the run that holds its lock and has not saved
                it yet, if any): nothing changed.
            What `load` raises (GalleryError, ...): nothing changed.
        """
        from tracker.gallery_merge import merge_into, missing_gallery_message  # (it imports this module)

        self._refuse_merge_while_saving(path)
        file, before = Path(path).expanduser(), self._file
        try:
            other = Gallery.load(file, self.config, prune=False)  # (outside the lock: the Trackers go on)
        except FileNotFoundError as exc:  # (a bare "[Errno 2] ..." from deep inside said nothing of what was meant)
            if exc.filename is None or Path(exc.filename) != file:  # (not the file itself: as it was)
                raise
            raise FileNotFoundError(missing_gallery_message(file)) from None
        with self._guard:
            self._refuse_merge_while_saving(path)
            read = other._file  # (a save of this gallery since the read recorded a newer version: it stays)
            own = read is not None and self._file == before and (before is None or before[0] == read[0])
            given = self._next_id
            if own:  # (its next save writes over the file: new IDs above every ID the file gave too)
                self._next_id = max(given, other._next_id)
            try:
                merged = merge_into(self, "this gallery", [(file, other)], count_twice, "count_twice=True")
            except (GalleryModelError, SourceLinkedError):  # (refused before anything merged: nothing changed)
                self._next_id = given
                raise
            if own:
                self._file = read
            return merged

    def _refuse_merge_while_saving(self, path: str | Path) -> None:
        """RuntimeError while a save `begin_save` began is not written yet (`merge_from`)."""
        if self._saving:
            raise RuntimeError(
                f"cannot merge {path} into the gallery: a save begun with begin_save is not written yet (call its "
                "PendingSave.write(), or wait for the thread that does, first)"
            )

    def _prototypes(self, old: Identity | None, looks: np.ndarray) -> np.ndarray:
        """(P, D) the prototypes an identity keeps: picked from `old`'s (when it is stored already) and (N, D)
        `looks`, at most `gallery.prototypes`."""
        pool = looks if old is None else np.concatenate([old.prototypes, looks])
        return select_prototypes(pool, self.config.prototypes, self.config.prototype_method)

    def _put(self, identity: Identity, old: Identity | None) -> Identity:
        """Store `identity` in place of `old` (its earlier record, or None): index, model D, next ID, retention."""
        if old is not None:
            self._index_remove([old])
        gid = identity.global_id
        self._identities[gid] = identity
        if self.model is not None and self.model.dim is None:
            self.model = ModelIdentity(self.model.name, self.model.weights_digest, identity.prototypes.shape[1])
        self._next_id = max(self._next_id, gid + 1)
        self._index_add([identity])
        self._dirty = True
        self._enforce_capacity()
        return identity

    def _checked_looks(self, embeddings: np.ndarray) -> np.ndarray:
        """(N, D) `embeddings` as float32, N >= 1, of the gallery's D, every row a look (`add`, `publish`).

        Raises:
            ValueError: another shape, another D, or a row that is NaN, infinite or zero.
        """
        emb = np.asarray(embeddings, dtype=np.float32)
        if emb.ndim != 2 or len(emb) == 0:
            raise ValueError(f"embeddings must have shape (N, D) with N >= 1, got {emb.shape}")
        self._check_dim(emb.shape[1])
        check_looks(emb, "embeddings")
        return emb

    def _check_dim(self, dim: int) -> None:
        if self.dim is not None and dim != self.dim:
            raise ValueError(f"embeddings have D = {dim}, the gallery holds D = {self.dim}")

    @property
    def class_names(self) -> dict[int, str]:
        """The detector's name of each class ID (`track gallery ls` shows them), as far as known: saved with the
        gallery; {} for a gallery whose detector never named its classes (and a file saved before names were)."""
        return dict(self._class_names)

    @locked
    def name_classes(self, names: Mapping[int, str] | Sequence[str] | np.ndarray) -> None:
        """Record the detector's class names (`{0: "person", ...}`, ultralytics' `model.names`, or a list, tuple or
        (C,) numpy array whose index is the class: torchvision's `weights.meta["categories"]`, a names file read by
        `np.loadtxt(path, dtype=str)`); they replace those known for the same IDs and are saved with the gallery.

        Raises:
            TypeError: `names` neither a mapping nor a list, tuple or 1-D array (one name alone, None), an ID that is
                not a whole number or a name that is not text (nothing recorded).
        """
        if isinstance(names, np.ndarray) and names.ndim == 1:  # (numpy's text: `np.str_`, a str, by index)
            names = names.tolist()
        if isinstance(names, list | tuple):
            names = dict(enumerate(names))
        if not isinstance(names, Mapping):
            raise TypeError(
                f"class names must be a mapping of class IDs to names ({{0: 'person'}}) or a list of names by ID, "
                f"got {type(names).__name__}"
            )
        wrong = [(c, n) for c, n in names.items() if not is_whole(c) or not isinstance(n, str)]
        if wrong:
            raise TypeError(f"class names must map whole-number IDs to text, got {wrong[0][0]!r}: {wrong[0][1]!r}")
        self._class_names.update({int(c): n for c, n in names.items()})
