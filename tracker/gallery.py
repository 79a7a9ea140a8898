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

This module is the gallery's core (its identities, index upkeep, search, linking and retention, one call at a
time); the pieces it uses live beside it: `tracker.gallery_records` (Identity, Sighting, ModelIdentity, the
errors), `tracker.gallery_prototypes` (which looks an identity keeps), `tracker.gallery_assign` (a frame's
newcomers to identities: assignment and ratio test), `tracker.gallery_index` (the search indexes),
`tracker.gallery_format` (the bytes of a file) and `tracker.gallery_file` (the file on disk: atomic writes,
versions, conflicts).

Shape letters: Q queries, D embedding size, P prototypes of one identity (<= K_g = `gallery.prototypes`).
"""

from __future__ import annotations

import contextlib
import copy
import functools
import math
import numbers
import os
import threading
import time
import weakref
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from tracker import gallery_format
from tracker.config import GalleryConfig, TrackerConfig
from tracker.gallery_assign import assign_unambiguous
from tracker.gallery_file import (
    FileVersion,
    check_saveable,
    check_unchanged,
    file_version,
    make_folder,
    refuse_directory,
    refuse_read_only,
    remove_interrupted_saves,
    version_of,
    write_atomic,
)
from tracker.gallery_index import IVF_MIN_ROWS, ExactIndex, InvertedFileIndex
from tracker.gallery_prototypes import check_looks, consistent_looks, looks_query, normalised, select_prototypes
from tracker.gallery_records import (
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

__all__ = [
    "Gallery",
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

ID_STRIDE = 1 << 12  # faiss row id = global_id * ID_STRIDE + prototype index (so K_g < ID_STRIDE)
MAX_GLOBAL_ID = np.iinfo(np.int64).max // ID_STRIDE - 1  # the largest whose row ids fit int64
SECONDS_PER_DAY = 86400.0
IVF_REBUILD_GROWTH = 4  # retrain the inverted file when the gallery has grown this many times since training
SEARCH_NEIGHBOURS_PER_EXCLUDED = 1  # extra identities fetched per excluded one, so exclusion leaves candidates
SEARCH_MIN_IDENTITIES = 2  # identities fetched per query at least: the best and the runner-up (margin test)
NO_ID = -1


_Method = TypeVar("_Method", bound=Callable[..., Any])


def _locked(method: _Method) -> _Method:
    """`method` run holding the gallery's own lock: one Gallery may serve several Trackers in several threads (one
    per camera stream), whose searches, additions and saves would otherwise interleave (a dict changing size while
    another thread reads it, an index half rebuilt). Re-entrant: `link` calls `match` and `add`."""

    @functools.wraps(method)
    def guarded(self: Gallery, *args: Any, **kwargs: Any) -> Any:
        with self._guard:
            return method(self, *args, **kwargs)

    return guarded  # type: ignore[return-value]


def _check_model(model: Any) -> None:
    """TypeError unless `model` is None or a `ModelIdentity` (a tuple of its fields is the common mistake)."""
    if model is not None and not isinstance(model, ModelIdentity):
        raise TypeError(f"model must be a ModelIdentity(name, weights_digest, dim), got {type(model).__name__}")


def _check_config(config: Any) -> None:
    """TypeError unless `config` is None or a `GalleryConfig` (the whole `TrackerConfig` is the common mistake);
    ValueError for `prototypes` of `ID_STRIDE` or more (a config `load_config` did not check: `Gallery.load` called
    the file corrupt)."""
    if config is not None and not isinstance(config, GalleryConfig):
        hint = ": pass its gallery section, cfg.gallery" if isinstance(config, TrackerConfig) else ""
        raise TypeError(f"config must be a GalleryConfig (load_config(...).gallery), got {type(config).__name__}{hint}")
    if config is not None and config.prototypes >= ID_STRIDE:
        raise ValueError(f"gallery.prototypes must be below {ID_STRIDE}, got {config.prototypes}")


class Gallery:
    """Identities that outlive their tracks, searchable by appearance, saved to and loaded from disk.

    Args:
        config: the `gallery` section of the tracker config (prototypes, bounds, index, retention).
        model: the ReID model the embeddings come from (checked against files and other galleries); None
            until known (`bind_model`).
    Python: `Tracker(config, gallery=Gallery.load(path))`, ..., `tracker.reset()`, `tracker.gallery.save(path)`.
    One Gallery may serve several Trackers (one per camera stream, each in its own thread): its methods take one
    call at a time (a lock of its own, ~0.6 us a call), so a person keeps one global ID across the streams: one
    who walks from one view to another through the stored identities, one in two views at once through the live
    tracks each stream publishes while the gallery serves more than one (`attach`, `publish`).
    Raises:
        TypeError: `config` is not a `GalleryConfig` (the whole `TrackerConfig`: pass `cfg.gallery`), `model` not a
            `ModelIdentity`.
        ValueError: `config.prototypes` of `ID_STRIDE` (4096) or more (only a config `load_config` did not check:
            its range is 1-1024).
    """

    def __init__(self, config: GalleryConfig | None = None, model: ModelIdentity | None = None) -> None:
        _check_config(config)
        _check_model(model)
        self.config = config if config is not None else GalleryConfig()
        self.model = model
        self._identities: dict[int, Identity] = {}
        self._next_id = 1
        self._class_names: dict[int, str] = {}  # the detector's name of each class ID, when known (`name_classes`)
        self._index: ExactIndex | InvertedFileIndex | None = None  # over all prototypes, built on first use
        self._ivf_trained_at = 0  # vectors in the gallery when the inverted file was trained (0: exact index)
        self._dirty = False
        self._saving = 0  # saves begun (`begin_save`) and neither written nor failed yet
        self._file: tuple[str, FileVersion] | None = None  # (real path, version) of the file last read or written
        self._guard = threading.RLock()  # held by every public method (`_locked`): Trackers in several threads
        self._sources: weakref.WeakSet[Any] = weakref.WeakSet()  # the streams searching this gallery (`attach`)
        # stream -> global ID -> its live track's looks, held weakly: a stream deleted without `reset` offers none
        self._live: weakref.WeakKeyDictionary[Any, dict[int, LiveLooks]] = weakref.WeakKeyDictionary()

    def __getstate__(self) -> dict[str, Any]:
        """The state to copy or pickle (a checkpoint): all but the lock, the live streams' tracks (a copy serves no
        stream until one attaches to it) and the saves under way (a copy taken while one is being written counts as
        changed: nothing says that save will reach the file).

        Taken as of one moment, holding the gallery's lock (re-entrant: also from a method that holds it), while
        other threads add to it or a save ends: the identities and the index (changed in place) are copied then,
        as pickle reads the state only after this returns (the index's copy costs a copy of its prototypes).
        """
        skipped = ("_guard", "_sources", "_live", "_saving")
        with self._guard:
            state = {key: value for key, value in self.__dict__.items() if key not in skipped}
            return state | {
                "_dirty": self.modified,
                "_identities": dict(self._identities),  # (records are replaced, never changed in place)
                "_index": copy.deepcopy(self._index),
            }

    def __setstate__(self, state: dict[str, Any]) -> None:  # a checkpoint pickled before `_file` existed
        self.__dict__.update({"_file": None, "_class_names": {}, **state})
        self._sources, self._live = weakref.WeakSet(), weakref.WeakKeyDictionary()
        self._guard = threading.RLock()
        self._saving = 0

    # ------------------------------------------------------------------------------------------ content
    @_locked
    def __len__(self) -> int:
        """Identities stored (not the live tracks streams offer)."""
        return len(self._identities)

    @_locked
    def __contains__(self, global_id: object) -> bool:
        """Whether `global_id` (a whole number, Python's or numpy's) is a stored identity; anything else is none (an
        ID is not truncated: 1.9 is not identity 1)."""
        return isinstance(global_id, Hashable) and global_id in self._identities

    @_locked
    def __getitem__(self, global_id: int) -> Identity:
        """The stored identity of `global_id` (a whole number, Python's or numpy's); KeyError when there is none."""
        return self._identities[global_id]

    @property
    @_locked
    def identities(self) -> list[Identity]:
        """All identities, by global ID."""
        return [self._identities[k] for k in sorted(self._identities)]

    @property
    @_locked
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
    @_locked
    def num_vectors(self) -> int:
        """Prototypes stored (all identities); O(1) once the index is built (it is kept in step)."""
        if self._index is not None:
            return self._index.ntotal
        return sum(len(i.prototypes) for i in self._identities.values())

    @property
    def modified(self) -> bool:
        """Changed since it was loaded or last saved (also while a save `begin_save` began is not written yet)."""
        return self._dirty or self._saving > 0

    @_locked
    def new_id(self) -> int:
        """A global ID never used in this gallery (also across saves and loads)."""
        gid = self._next_id
        self._next_id += 1
        self._dirty = True
        return gid

    @_locked
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

    @_locked
    def check_model(self, model: ModelIdentity) -> None:
        """Raise what `bind_model` raises for `model`, binding nothing (`Tracker.from_config` asks before it loads
        any model)."""
        _check_model(model)
        named = "" if self._file is None else f"{self._file[0]}: "  # which file, with several in use
        if self.model is not None and self.model.conflicts_with(model):
            raise GalleryModelError(
                f"{named}this gallery was made with ReID model {describe_model(self.model)}, the tracker uses "
                f"{describe_model(model)}: their embeddings cannot be compared; use another gallery file"
            )
        stored = self._stored_dim()
        if model.dim is not None and stored is not None and stored != model.dim:
            raise GalleryModelError(
                f"{named}this gallery holds embeddings of D = {stored}, the tracker uses {describe_model(model)}: "
                "their embeddings cannot be compared; use another gallery file"
            )

    @_locked
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
        prototypes and the new embeddings, its last sighting and count are updated. Enforces `max_identities`
        (the least recently seen go first).

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
        gid = _checked_global_id(global_id)
        class_id, sighting, first_seen = _checked_record(class_id, sighting, first_seen)
        emb = self._checked_looks(embeddings)
        old = self._identities.get(gid)
        prototypes = self._prototypes(old, emb)
        if old is None:
            identity = Identity(gid, int(class_id), first_seen or sighting, sighting, 1, prototypes)
        else:
            identity = Identity(gid, old.class_id, old.first_seen, sighting, old.sightings + 1, prototypes)
        return self._put(identity, old)

    @_locked
    def absorb(self, global_id: int, identity: Identity) -> Identity:
        """Store another gallery's `identity` under `global_id` (`track gallery merge`).

        A new `global_id` takes its record as it is (class, first and last sightings, sightings count) with its
        prototypes picked as `add` picks them; a known one merges: its prototypes are re-picked from both sets (at
        most `gallery.prototypes`; a row it holds already is not added twice), its first sighting is the earlier of
        the two, its last the later, and the counts add up. The very record it holds (the same sightings, every
        prototype stored already: a gallery merged with itself) changes nothing. Enforces `max_identities` as `add`
        does.

        Raises:
            ValueError: prototypes of another D than the gallery's, or a row that is no look (as `add`); a
                `global_id` outside [1, `MAX_GLOBAL_ID`]. TypeError: a `global_id` that is not a whole number.
        Nothing is stored when it raises.
        """
        gid = _checked_global_id(global_id)
        class_id, seen_last, seen_first = _checked_record(identity.class_id, identity.last_seen, identity.first_seen)
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
            merged = Identity(gid, old.class_id, first, last, old.sightings + identity.sightings, prototypes)
        return self._put(merged, old)

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

    @_locked
    def attach(self, source: object) -> None:
        """Register a stream (a weak-referenceable object that stands for it: a `TrackerCore`) as searching this
        gallery. Held weakly: a stream whose object is gone no longer counts. See `shared`."""
        self._sources.add(source)

    @property
    @_locked
    def shared(self) -> bool:
        """Whether more than one stream searches this gallery now: only then do streams `publish` live tracks."""
        return len(self._sources) > 1

    @_locked
    def publish(self, source: object, global_id: int, embeddings: np.ndarray, class_id: int) -> None:
        """Offer a track alive in `source` to the other streams' newcomers (`match(..., source=)`), replacing what
        that stream offered under `global_id` before: its prototypes are picked from (N, D) `embeddings` as `add`
        picks them. Kept in memory only (not saved, not copied) until `withdraw`.

        Raises:
            ValueError: no embeddings, another D than the gallery's, or a row that is no look (as `add`).
        """
        emb = self._checked_looks(embeddings)
        prototypes = select_prototypes(emb, self.config.prototypes, self.config.prototype_method)
        self._live.setdefault(source, {})[int(global_id)] = LiveLooks(prototypes, int(class_id))

    @_locked
    def withdraw(self, source: object, global_ids: Iterable[int] | None = None) -> None:
        """Stop offering `source`'s live tracks `global_ids` (None: all of them): they ended, or changed ID."""
        live = self._live.get(source)
        if live is None:
            return
        for gid in list(live) if global_ids is None else global_ids:
            live.pop(int(gid), None)
        if not live:
            del self._live[source]

    def _live_of_others(self, source: object | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The live tracks other streams than `source` offer: (L,) global IDs and (L,) classes of L prototype rows,
        (L, D) the prototypes, each track's rows consecutive."""
        offered = [(g, look) for s, live in list(self._live.items()) if s is not source for g, look in live.items()]
        if not offered:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32)
        counts = [len(look.prototypes) for _, look in offered]
        gids = np.repeat(np.array([g for g, _ in offered], dtype=np.int64), counts)
        classes = np.repeat(np.array([look.class_id for _, look in offered], dtype=np.int64), counts)
        return gids, classes, np.concatenate([look.prototypes for _, look in offered])

    @_locked
    def searchable(self, source: object | None = None) -> bool:
        """Whether a newcomer of `source` has anything to be matched with: stored identities, or live tracks of
        other streams."""
        return bool(self._identities) or any(s is not source and live for s, live in list(self._live.items()))

    @_locked
    def remove(self, global_ids: Iterable[int] | int) -> list[int]:
        """Forget these identities (one global ID, or several); returns those that were present (each once, however
        often it is given).

        Raises:
            TypeError: an ID that is not a whole number (a string such as "12" would be read as IDs 1 and 2, 1.7
                as 1), before any is forgotten.
        """
        gone = [g for g in dict.fromkeys(_whole_ids(global_ids)) if g in self._identities]
        if gone:
            self._index_remove([self._identities.pop(gid) for gid in gone])
            self._dirty = True
        return gone

    @_locked
    def prune(self, now: float | None = None) -> list[int]:
        """Apply the retention policy: forget identities unseen for `max_days_unseen` days before `now` (Unix
        seconds, as `time.time()`; None: now), then the least recently seen beyond `max_identities`. Returns the
        removed global IDs.

        Raises:
            TypeError: `now` not a number (a `datetime`: its `.timestamp()`). ValueError: `now` NaN or infinite.
        """
        now = time.time() if now is None else _unix_seconds(now)
        limit = now - self.config.max_days_unseen * SECONDS_PER_DAY
        stale = [g for g, i in self._identities.items() if i.last_seen.time < limit]
        return self.remove(stale) + self._enforce_capacity()

    def _enforce_capacity(self) -> list[int]:
        excess = len(self._identities) - self.config.max_identities
        if excess <= 0:
            return []
        oldest = sorted(self._identities.values(), key=lambda i: (i.last_seen.time, i.global_id))[:excess]
        return self.remove(i.global_id for i in oldest)

    # ------------------------------------------------------------------------------------------ search
    @_locked
    def match(
        self,
        queries: np.ndarray,
        exclude: Iterable[int] = (),
        class_ids: np.ndarray | None = None,
        min_similarity: float | None = None,
        margin: float | None = None,
        source: object | None = None,
    ) -> np.ndarray:
        """Identities for Q newcomers, in one batched search; `NO_ID` (-1) where there is no sure match.

        An identity's similarity to a query is the best over its prototypes (cosine). A query gets an
        identity when that similarity is >= `min_similarity`, beats the query's runner-up identity by
        `margin` (else it is ambiguous: a new ID is safer than a wrong one), the class agrees, and the
        identity is not excluded. Several queries of one frame never get the same identity (Hungarian
        assignment over the candidates: `tracker.assignment.linear_assignment`, `lap.lapjv`).

        Args:
            queries: (Q, D) embeddings (normalised here).
            exclude: global IDs that must not be given (held by tracks alive in the same source:
                cannot-link).
            class_ids: (Q,) classes of the queries, or None to ignore classes.
            min_similarity, margin: bounds; None takes the config's.
            source: the stream the newcomers are in (`attach`): the live tracks the other streams `publish` are
                candidates too (an identity's similarity: the best over its stored and live prototypes).
        Returns:
            (Q,) int64 global IDs or -1.
        Raises:
            ValueError: `queries` not 2-D (one query is `queries[None]`), `class_ids` not one per query, or queries
                of another D than the gallery's (when it has anything to search).
        """
        raw = np.asarray(queries, dtype=np.float32)
        if raw.ndim != 2 and raw.size:  # a 1-D look was read as D queries of one number each ("D = 1")
            hint = " (one query: queries[None])" if raw.ndim == 1 else ""
            raise ValueError(f"queries must have shape (Q, D), got {raw.shape}{hint}")
        if class_ids is not None and np.shape(class_ids) != (len(raw),):
            raise ValueError(f"class_ids must have shape (Q,) with Q = {len(raw)}, got {np.shape(class_ids)}")
        out = np.full(len(raw), NO_ID, dtype=np.int64)
        live_ids, live_classes, live_looks = self._live_of_others(source)
        if len(raw) == 0 or not (self._identities or len(live_ids)):  # (0, D) queries too: nothing to search
            return out
        q = normalised(raw.reshape(len(raw), -1))
        self._check_dim(q.shape[1])
        min_similarity = self.config.min_similarity if min_similarity is None else min_similarity
        margin = self.config.margin if margin is None else margin
        excluded = {int(g) for g in exclude}
        ranked: list[dict[int, float]] = [{} for _ in range(len(q))]  # per query: allowed identity -> similarity
        if self._identities:
            cand_ids, cand_sims = self._search_identities(q, len(excluded & self._identities.keys()))
            for qi in range(len(q)):
                ranked[qi] = {
                    int(g): float(s)
                    for g, s in zip(cand_ids[qi], cand_sims[qi], strict=True)
                    if g != NO_ID
                    and g not in excluded
                    and (class_ids is None or self._identities[g].class_id == int(class_ids[qi]))
                }
        if len(live_ids):
            self._rank_live(q, class_ids, excluded, (live_ids, live_classes, live_looks), ranked)
        accepted = assign_unambiguous(ranked, min_similarity, margin)
        for qi, g in accepted.items():
            out[qi] = g
        return out

    def _rank_live(
        self,
        q: np.ndarray,
        class_ids: np.ndarray | None,
        excluded: set[int],
        live: tuple[np.ndarray, np.ndarray, np.ndarray],
        ranked: list[dict[int, float]],
    ) -> None:
        """Add the other streams' live tracks to each query's `ranked` candidates (in place), as many per query as
        the stored search fetches (`SEARCH_MIN_IDENTITIES`, the best and the runner-up, plus one per excluded ID):
        an identity's similarity is the best over its live prototypes and what `ranked` holds (its stored ones);
        excluded IDs and another class (a stored identity's own, else the live track's) are left out. `live`:
        (L,) global IDs, (L,) classes, (L, D) prototypes, each ID's rows consecutive (`_live_of_others`); `q`:
        (Q, D) normalised queries."""
        gids, classes, looks = live
        starts = np.flatnonzero(np.r_[True, gids[1:] != gids[:-1]])  # each live track's first prototype row
        best = np.maximum.reduceat(q @ looks.T, starts, axis=1)  # (Q, G) each track's best prototype
        ids, kinds = gids[starts], classes[starts]
        stored = [self._identities.get(int(g)) for g in ids]
        kinds = np.array([k if i is None else i.class_id for k, i in zip(kinds.tolist(), stored, strict=True)])
        allowed = ~np.isin(ids, list(excluded))
        wanted = SEARCH_MIN_IDENTITIES + SEARCH_NEIGHBOURS_PER_EXCLUDED * len(excluded)
        for qi in range(len(q)):
            ok = allowed if class_ids is None else allowed & (kinds == int(class_ids[qi]))
            sims = np.where(ok, best[qi], -np.inf)
            for j in np.argsort(-sims)[:wanted].tolist():
                g, s = int(ids[j]), float(sims[j])
                if s > ranked[qi].get(g, -np.inf):
                    ranked[qi][g] = s

    def _search_identities(self, q: np.ndarray, excluded: int) -> tuple[np.ndarray, np.ndarray]:
        """(Q, M) identity IDs (-1 padded) and their best prototype similarity, best first."""
        wanted = SEARCH_MIN_IDENTITIES + SEARCH_NEIGHBOURS_PER_EXCLUDED * excluded
        k = min(self.num_vectors, wanted * self.config.prototypes)
        index = self._ensure_index()
        sims, rows = index.search(q, k)
        gids = np.where(rows >= 0, rows // ID_STRIDE, NO_ID)
        out_ids = np.full((len(q), k), NO_ID, dtype=np.int64)
        out_sims = np.full((len(q), k), -np.inf, dtype=np.float32)
        for qi in range(len(q)):
            # rows come best first: the first time an identity appears is its best prototype
            _, first = np.unique(gids[qi], return_index=True)
            first = np.sort(first)
            first = first[gids[qi, first] != NO_ID]
            out_ids[qi, : len(first)] = gids[qi, first]
            out_sims[qi, : len(first)] = sims[qi, first]
        return out_ids, out_sims

    @_locked
    def link(
        self,
        prototypes_per_track: Sequence[np.ndarray],
        cannot_link: Iterable[tuple[int, int]] = (),
        class_ids: Sequence[int] | None = None,
        sightings: Sequence[Sighting] | None = None,
        first_seen: Sequence[Sighting] | None = None,
    ) -> np.ndarray:
        """Give global IDs to tracks of one or many videos, and store them: the cross-video reduce step.

        Tracks are taken in the given order (e.g. by first sighting): each is matched against the gallery as
        it is at that point (identities stored before, and the tracks linked before it) with the same bounds
        as `match`, never to an identity already given to a track it cannot share one with, and stored
        (merged into the identity it matched, or as a new one). `track a.mp4 b.mp4 --gallery g` makes the same
        decision (`match`, same bounds, same cannot-link rule) online, frame by frame; here each track is
        decided once, on its whole bank.

        Args:
            prototypes_per_track: one (P_i, D) array per track (its bank or prototypes); a track's query is
                the normalised mean of its rows.
            cannot_link: pairs (i, j) of track positions that were visible together in one frame of one
                source, so they are two people.
            class_ids: class of each track (default all 0).
            sightings: last sighting of each track (default: now, source "link").
            first_seen: first sighting of each track, kept by a track that becomes a new identity (default: its
                last sighting; `track batch` passes each video's first, which `track gallery ls` lists).
        Returns:
            (T,) int64 global IDs.
        Raises:
            ValueError: a `cannot_link` pair naming no track, or `class_ids`, `sightings` or `first_seen` not one per
                track (nothing stored); a track's rows not of shape (P, D) with P >= 1, of another D than the
                gallery's, or with a NaN, infinite or zero row (tracks before it are stored already).
            TypeError: a class that is not a whole number (nothing stored).
        """
        count = len(prototypes_per_track)
        pairs = _track_pairs(cannot_link, count)
        for name, given in (("class_ids", class_ids), ("sightings", sightings), ("first_seen", first_seen)):
            if given is not None and len(given) != count:
                raise ValueError(f"{name} has {len(given)} entries, one per track is needed: {count}")
        wrong = [i for i, c in enumerate([] if class_ids is None else class_ids) if not is_whole(c)]
        if wrong:  # (int() would give 0.5 class 0)
            raise TypeError(f"class_ids[{wrong[0]}] must be a whole number, got {class_ids[wrong[0]]!r}")
        forbid: dict[int, set[int]] = {i: set() for i in range(count)}
        for i, j in pairs:
            forbid[int(i)].add(int(j))
            forbid[int(j)].add(int(i))
        ids = np.full(count, NO_ID, dtype=np.int64)
        now = time.time()
        for i, rows in enumerate(prototypes_per_track):
            rows = np.asarray(rows, dtype=np.float32)
            if rows.ndim != 2 or len(rows) == 0:
                raise ValueError(f"track {i}: prototypes must have shape (P, D) with P >= 1, got {rows.shape}")
            check_looks(rows, f"track {i}: prototypes")
            cls = 0 if class_ids is None else int(class_ids[i])
            held = {int(ids[j]) for j in forbid[i] if ids[j] != NO_ID}
            gid = self.match_looks(rows, cls, exclude=held)
            ids[i] = self.new_id() if gid == NO_ID else gid
            seen = sightings[i] if sightings is not None else Sighting(0, now, "link")
            self.add(int(ids[i]), rows, cls, seen, first_seen=None if first_seen is None else first_seen[i])
        return ids

    @_locked
    def match_looks(self, looks: np.ndarray, class_id: int, exclude: Iterable[int] = ()) -> int:
        """The identity a set of looks of one person (a track's bank, or another gallery's identity) takes, as
        `link` decides it for a track: their query is the normalised mean of the (P, D) `looks`, matched by `match`
        with the config's bounds (`gallery.min_similarity`, `gallery.margin`) among the identities of `class_id`
        that are not in `exclude`. Returns its global ID, or `NO_ID` (-1): none is a sure match.

        Raises:
            ValueError: `looks` of another D than the gallery's (when it has anything to search).
        """
        return int(self.match(looks_query(looks), exclude=exclude, class_ids=np.array([int(class_id)]))[0])

    # ------------------------------------------------------------------------------------------ index
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

    def _ensure_index(self) -> ExactIndex | InvertedFileIndex:
        vectors = self.num_vectors
        use_ivf = len(self._identities) >= self.config.ivf_min_identities and vectors >= IVF_MIN_ROWS
        stale_ivf = use_ivf and (not self._ivf_trained_at or vectors >= IVF_REBUILD_GROWTH * self._ivf_trained_at)
        if self._index is None or stale_ivf or (not use_ivf and self._ivf_trained_at):
            self._build_index(use_ivf)
        return self._index

    def _build_index(self, use_ivf: bool) -> None:
        dim = self.dim
        assert dim is not None
        ids, vectors = self._all_vectors(self._identities.values())
        exact = ExactIndex(dim)
        exact.add_with_ids(vectors, ids)
        if use_ivf:
            self._index = InvertedFileIndex(exact, self.config.ivf_nprobe)
            self._ivf_trained_at = len(vectors)
        else:
            self._index = exact
            self._ivf_trained_at = 0

    def _index_add(self, identities: list[Identity]) -> None:
        if self._index is not None:
            ids, vectors = self._all_vectors(identities)
            self._index.add_with_ids(vectors, ids)

    def _index_remove(self, identities: list[Identity]) -> None:
        if self._index is not None:
            self._index.remove_ids(self._all_vectors(identities)[0])

    @staticmethod
    def _all_vectors(identities: Iterable[Identity]) -> tuple[np.ndarray, np.ndarray]:
        ids, vectors = [], []
        for ident in identities:
            ids.append(ident.global_id * ID_STRIDE + np.arange(len(ident.prototypes), dtype=np.int64))
            vectors.append(ident.prototypes)
        if not vectors:
            return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32)
        return np.concatenate(ids), np.ascontiguousarray(np.concatenate(vectors), dtype=np.float32)

    @property
    def class_names(self) -> dict[int, str]:
        """The detector's name of each class ID (`track gallery ls` shows them), as far as known: saved with the
        gallery; {} for a gallery whose detector never named its classes (and a file saved before names were)."""
        return dict(self._class_names)

    @_locked
    def name_classes(self, names: Mapping[int, str]) -> None:
        """Record the detector's class names (`{0: "person", ...}`, ultralytics' `model.names`); they replace those
        known for the same IDs and are saved with the gallery.

        Raises:
            TypeError: an ID that is not a whole number or a name that is not text (nothing recorded).
        """
        wrong = [(c, n) for c, n in names.items() if not is_whole(c) or not isinstance(n, str)]
        if wrong:
            raise TypeError(f"class names must map whole-number IDs to text, got {wrong[0][0]!r}: {wrong[0][1]!r}")
        self._class_names.update({int(c): n for c, n in names.items()})

    # ------------------------------------------------------------------------------------------ files
    @property
    def file(self) -> tuple[str, FileVersion] | None:
        """(real path, `file_version`) of the file this gallery last read (`load`) or wrote (`save`); None: neither."""
        return self._file

    @_locked
    def save(
        self,
        path: str | Path,
        prune: bool = True,
        *,
        lock: bool = True,
        overwrite: bool = False,
        before_replace: Callable[[FileVersion], None] | None = None,
    ) -> None:
        """Write the gallery atomically (temp file + fsync + rename) with mode 0600; applies retention first
        (unless `prune` is False).

        Two processes on one file cannot lose each other's identities: the save holds the file's lock
        (`tracker.io.lock.gallery_lock`, `.<name>.lock` beside it, as `track --gallery` does for a whole run), and
        refuses, writing nothing, when the file there is not the one this gallery last read (`load`) or wrote
        (`save`): another process saved it meanwhile, or this gallery never read it. Load it again, add to that,
        and save; or pass `overwrite=True` to replace it. A missing file is simply written. Synchronous: the file
        is there when it returns (`begin_save` writes it from another thread instead).

        Args:
            path: the gallery file (its folder is created if missing).
            prune: apply the retention policy first.
            lock: take the file's lock for the save; False when the caller already holds `gallery_lock(path)`
                (the `track` commands hold it from load to their last save).
            overwrite: write even over a file this gallery did not last read or write (its identities are lost).
            before_replace: called with the version the file will have, just before the new file is renamed over
                it (`write_atomic`: to record it before it is there); an error it raises stops the save.
        Raises:
            GalleryError: `path` is a directory (nothing written).
            GalleryConflictError: the file changed since this gallery read or wrote it (nothing written).
            FolderInUse: another process holds the file's lock (a `track` run using it).
            PermissionError: the file there is read-only (`gallery_file.refuse_read_only`; nothing written).
            OSError: the folder cannot be made or written (NotADirectoryError: a file where a folder of `path`
                should be; each names the gallery and the folder).
            RuntimeError: a save `begin_save` began is not written yet (nothing written).

        Format: a safetensors file, tensors `prototypes` (M, D) float32 and `owners` (M,) int64 (the global
        ID of each row), JSON metadata in the header (format, version, model, next ID, identities, a SHA-256
        of the tensors). Never pickle: loading it cannot run code.
        """
        path = self._save_target(path)
        self._file = _write_file(path, self._file, lock, overwrite, lambda: self._snapshot(prune), before_replace)
        self._dirty = False

    def _snapshot(self, prune: bool) -> gallery_format.Snapshot:
        """What a save writes, as the gallery is now (after retention, unless `prune` is False)."""
        if prune:
            self.prune()
        model = None if self.model is None else replace(self.model, dim=self.dim)
        return gallery_format.Snapshot(
            tuple(self.identities), model, self._next_id, self.dim or 0, class_names=dict(self._class_names)
        )

    @_locked
    def begin_save(
        self,
        path: str | Path,
        prune: bool = True,
        *,
        lock: bool = True,
        overwrite: bool = False,
        before_replace: Callable[[FileVersion], None] | None = None,
    ) -> PendingSave:
        """`save`, in two halves, the second for another thread: a large gallery is written while this one goes on
        (`track` saves so every `gallery.save_every_seconds`, its loop running meanwhile).

        Now, holding the gallery's own lock: retention (unless `prune` is False) and a snapshot of what the file
        will hold (~5 ms at 20 000 identities). Then `PendingSave.write()`, from any thread: what `save` does with
        it (the file's lock unless `lock` is False, the conflict check unless `overwrite`, the atomic write, and
        `before_replace` called in the writing thread), the gallery serving searches and additions meanwhile. Until
        it is written the gallery counts as `modified`; if the write fails, as changed (its next save writes all of
        it). One save at a time: write it, or let it fail, before another `begin_save` or `save` of this gallery.

        Raises:
            GalleryError: `path` is a directory.
            PermissionError: the file there is read-only (`gallery_file.refuse_read_only`).
            RuntimeError: another save begun is not written yet.
        """
        path = self._save_target(path)
        pending = PendingSave(self, path, self._snapshot(prune), lock, overwrite, before_replace)
        self._dirty = False
        self._saving += 1
        return pending

    def _save_target(self, path: str | Path) -> Path:
        """The file a save of `path` writes, checked before anything is: its real path (a symbolic link's file is
        replaced; os.replace would replace the link itself), refused while a begun save is unwritten
        (`_refuse_second_save`), when it is a directory (else "this gallery never read it", or os.replace's
        IsADirectoryError) or a read-only file (else replaced, whatever its mode)."""
        self._refuse_second_save(path)
        real = Path(os.path.realpath(path))
        refuse_directory(real)
        refuse_read_only(real)
        return real

    def _refuse_second_save(self, path: str | Path) -> None:
        """RuntimeError while a save `begin_save` began is not written yet: written after this one, its older
        snapshot would replace the newer file (no conflict: this gallery wrote that file), and the identities only
        this one held would be lost with the gallery no longer `modified`."""
        if self._saving:
            raise RuntimeError(
                f"cannot save the gallery to {path}: a save begun with begin_save is not written yet (call its "
                "PendingSave.write(), or wait for the thread that does, first)"
            )

    def _end_save(self, written: tuple[str, FileVersion] | None) -> None:
        """A `PendingSave` ended: it wrote the file `written`, or (None) failed and the gallery is changed again."""
        with self._guard:
            if written is None:
                self._dirty = True
            else:
                self._file = written
            self._saving -= 1

    @classmethod
    def load(
        cls,
        path: str | Path,
        config: GalleryConfig | None = None,
        model: ModelIdentity | None = None,
        prune: bool = True,
    ) -> Gallery:
        """Read a gallery file (and apply retention, unless `prune` is False).

        No lock is needed: files are only ever replaced whole (`save`: temp file + rename), so a read sees one
        complete version, never a half-written one, even while another process saves. This gallery remembers
        which version it read: its `save` refuses to write over a newer one.

        Args:
            path: a file written by `save`.
            config: retention, bounds and index settings to use now, the `gallery` section (`cfg.gallery`; None:
                defaults).
            model: the ReID model in use; a gallery made with another is refused.
        Raises:
            TypeError: `config` is not a `GalleryConfig` (the whole `TrackerConfig`: pass `cfg.gallery`), `model`
                not a `ModelIdentity`.
            ValueError: `config.prototypes` of `ID_STRIDE` (4096) or more (a config `load_config` did not check),
                before the file is read.
            FileNotFoundError: no such file.
            OSError: the file cannot be read (PermissionError: no read permission).
            GalleryError: `path` is a directory, not a gallery file, truncated or corrupt (the file is left as it
                is), or a newer format version.
            GalleryModelError: made with another ReID model.
        """
        _check_config(config)  # (before reading: a wrong one must not be reported as a corrupt file)
        path = Path(path)
        refuse_directory(path)
        with path.open("rb") as file:  # the version and the bytes of one file, even if it is replaced meanwhile
            version = version_of(os.fstat(file.fileno()))
            blob = file.read()
        tensors, header = gallery_format.decode(blob, path)
        try:
            gallery = cls._from_parts(tensors, header, config)
        except (KeyError, TypeError, ValueError) as exc:
            raise GalleryError(f"{path} is corrupt: a bad record in its header ({exc})") from None
        gallery._file = (os.path.realpath(path), version)  # (first: a model refused names the file)
        if model is not None:
            gallery.bind_model(model)
        if prune:
            gallery.prune()
        gallery._dirty = False
        return gallery

    @classmethod
    def _from_parts(
        cls, tensors: dict[str, np.ndarray], header: dict[str, Any], config: GalleryConfig | None
    ) -> Gallery:
        gallery = cls(config, gallery_format.read_model(header))
        gallery._identities.update(gallery_format.read_identities(tensors, header))
        gallery._next_id = max([int(header["next_id"]), *(g + 1 for g in gallery._identities)])
        gallery._class_names = gallery_format.read_class_names(header)
        return gallery


def _unix_seconds(now: Any) -> float:
    """`now` (`Gallery.prune`'s) as a float: TypeError unless a real number (a datetime: its `.timestamp()`),
    ValueError unless finite (NaN would forget nobody without a word)."""
    if isinstance(now, bool) or not isinstance(now, numbers.Real):
        hint = ": .timestamp()" if hasattr(now, "timestamp") else ""
        raise TypeError(f"now must be Unix seconds (time.time()), got {type(now).__name__}{hint}")
    if not math.isfinite(now):
        raise ValueError(f"now must be finite Unix seconds, got {now!r}")
    return float(now)


def _checked_global_id(global_id: object) -> int:
    """`global_id` as an int: TypeError unless a whole number, ValueError outside [1, `MAX_GLOBAL_ID`] (`NO_ID`, or
    one whose index row ids would overflow int64)."""
    if not is_whole(global_id):
        raise TypeError(f"global_id must be a whole number, got {global_id!r}")
    gid = int(global_id)
    if not 1 <= gid <= MAX_GLOBAL_ID:
        raise ValueError(f"global_id {gid} is out of range [1, {MAX_GLOBAL_ID}] (a new one: new_id())")
    return gid


def _checked_record(class_id: Any, sighting: Any, first_seen: Any) -> tuple[int, Sighting, Sighting | None]:
    """What `Gallery.add` keeps in an identity's record, which every later save writes (as JSON: Python numbers):
    `class_id` and the sightings (`first_seen` may be None) with numpy numbers made Python's. TypeError for a class
    that is not a whole number or a sighting that is not a `Sighting` (`_checked_sighting`)."""
    if not is_whole(class_id):
        raise TypeError(f"class_id must be a whole number, got {class_id!r}")
    last = _checked_sighting(sighting, "sighting")
    return int(class_id), last, None if first_seen is None else _checked_sighting(first_seen, "first_seen")


def _checked_sighting(seen: Any, name: str) -> Sighting:
    """`seen` as a `Sighting` of Python numbers; TypeError naming it `name` unless it is a `Sighting` of a whole
    frame, a real time and a text source, ValueError for a time NaN or infinite."""
    if not isinstance(seen, Sighting):
        raise TypeError(f"{name} must be a Sighting(frame, time, source), got {seen!r}")
    if not is_whole(seen.frame):
        raise TypeError(f"{name}'s frame must be a whole number, got {seen.frame!r}")
    if isinstance(seen.time, bool) or not isinstance(seen.time, numbers.Real):
        raise TypeError(f"{name}'s time must be a number (Unix seconds), got {seen.time!r}")
    if not math.isfinite(seen.time):
        raise ValueError(f"{name}'s time must be finite (Unix seconds), got {seen.time!r}")
    if not isinstance(seen.source, str):
        raise TypeError(f"{name}'s source must be text, got {seen.source!r}")
    return Sighting(int(seen.frame), float(seen.time), seen.source)


def _whole_ids(global_ids: Iterable[int] | int) -> list[int]:
    """`global_ids` (one whole number, or an iterable of them: Python's or numpy's) as a list of ints; TypeError for
    text (its characters are no IDs) or any other value (a float would be truncated into another identity's ID)."""
    if is_whole(global_ids):
        return [int(global_ids)]
    given = [global_ids] if isinstance(global_ids, str | bytes) else list(global_ids)
    wrong = [g for g in given if not is_whole(g)]
    if wrong:
        raise TypeError(f"global IDs must be whole numbers (remove([12, 31]) or remove(12)), got {wrong[0]!r}")
    return [int(g) for g in given]


def _track_pairs(cannot_link: Iterable[tuple[int, int]], count: int) -> list[tuple[int, int]]:
    """`Gallery.link`'s `cannot_link` as a list of pairs of track positions, or ValueError naming a pair with a
    position that is not one of the `count` tracks' (before anything is stored)."""
    pairs = [(int(i), int(j)) for i, j in cannot_link]
    for pair in pairs:
        outside = [p for p in pair if not 0 <= p < count]
        if outside:
            raise ValueError(
                f"cannot_link: {pair} names track {outside[0]}; there are {count} tracks (positions 0-{count - 1})"
            )
    return pairs


class PendingSave:
    """A save `Gallery.begin_save` began: a snapshot of the gallery, written to its file by `write`, once, from any
    thread."""

    def __init__(
        self, gallery: Gallery, path: Path, snapshot: gallery_format.Snapshot, lock: bool, overwrite: bool,
        before_replace: Callable[[FileVersion], None] | None = None,
    ) -> None:  # fmt: skip
        self.gallery, self.path, self.snapshot = gallery, path, snapshot
        self._lock, self._overwrite, self._written = lock, overwrite, False
        self._before_replace = before_replace  # (`Gallery.begin_save`)
        self._abandon = threading.Event()  # set by `abandon`, from another thread than the writer's

    def write(self) -> None:
        """Write the snapshot as `Gallery.save` writes a gallery: under the file's lock (unless begun with
        `lock=False`: the caller holds it), refused when the file there is not the one the gallery last read or
        wrote (unless `overwrite`), into a temp file renamed over the file. The gallery's own lock is held only
        to read and record which file it last wrote, so it goes on serving meanwhile.

        Raises:
            RuntimeError: written already. GalleryConflictError: the file changed since the gallery read or wrote
            it. FolderInUse: another process holds the file's lock. OSError: the folder cannot be written.
            SaveAbandoned: `abandon` was called. After any error nothing is written (no temp file is left) and the
            gallery counts as changed.
        """
        if self._written:
            raise RuntimeError(f"this save of {self.path} was written already")
        self._written = True
        written = None
        try:
            written = _write_file(
                self.path, self.gallery.file, self._lock, self._overwrite, lambda: self.snapshot,
                self._before_replace, self._abandon,
            )  # fmt: skip
        finally:
            self.gallery._end_save(written)

    def abandon(self) -> None:
        """Ask the `write` under way in another thread (or the one to come) to stop before it replaces the file:
        it raises `SaveAbandoned` at its next step (before it writes, or once the bytes are in its temp file), the
        file left as it was. Once its fsync and rename have begun it completes. Wait for that thread to end before
        letting the file's lock go: this only asks."""
        self._abandon.set()


def _write_file(
    path: Path,
    last: tuple[str, FileVersion] | None,
    lock: bool,
    overwrite: bool,
    snapshot: Callable[[], gallery_format.Snapshot],
    before_replace: Callable[[FileVersion], None] | None = None,
    abandon: threading.Event | None = None,
) -> tuple[str, FileVersion]:
    """A save's steps, shared by `Gallery.save` and `PendingSave.write`: under the file's lock (unless `lock` is
    False: the caller holds it; a missing folder is made first, so two first saves into it race for the lock), the
    conflict check against the file the gallery last read or wrote (`last`, unless `overwrite`), the removal of
    interrupted saves' temp files, and the atomic write of `snapshot()` (taken inside the lock), calling
    `before_replace` just before its rename and stopped when `abandon` is set (`write_atomic`). Returns the file
    written: (real path, version). Raises what `Gallery.save` documents (and SaveAbandoned)."""
    from tracker.io.lock import gallery_lock

    if lock:
        make_folder(path)
    with gallery_lock(path, option="path") if lock else contextlib.nullcontext():
        if not overwrite:
            check_unchanged(path, last)
        remove_interrupted_saves(path)
        write_atomic(path, functools.partial(gallery_format.write, snapshot=snapshot()), abandon, before_replace)
        return os.path.realpath(path), file_version(path)
