"""A `Gallery` searched (`tracker.gallery`): a frame's newcomers matched to identities in one batched search (`match`:
an identity's similarity is the best over its prototypes, then `tracker.gallery_assign`'s assignment and ratio test),
the live tracks of other streams among the candidates; and `link`, the same decision offline for the tracks of
several videos (the cross-video reduce step).

Shape letters: Q queries, D embedding size, P prototypes of one identity (<= K_g = `gallery.prototypes`).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence

import numpy as np

from tracker.gallery_assign import assign_unambiguous
from tracker.gallery_checks import track_pairs
from tracker.gallery_guard import locked
from tracker.gallery_live import no_live
from tracker.gallery_prototypes import check_looks, looks_query, normalised
from tracker.gallery_records import Sighting, is_whole
from tracker.gallery_state import GalleryState
from tracker.gallery_upkeep import ID_STRIDE

__all__ = ["GallerySearch"]

SEARCH_NEIGHBOURS_PER_EXCLUDED = 1  # extra identities fetched per excluded one, so exclusion leaves candidates
SEARCH_MIN_IDENTITIES = 2  # identities fetched per query at least: the best and the runner-up (margin test)
NO_ID = -1


class GallerySearch(GalleryState):
    """The search of `tracker.gallery.Gallery` (one of its parts: the state it uses is `Gallery.__init__`'s)."""

    @locked
    def match(
        self,
        queries: np.ndarray,
        exclude: Iterable[int] = (),
        class_ids: np.ndarray | None = None,
        min_similarity: float | None = None,
        margin: float | None = None,
        source: object | None = None,
        *,
        live: bool = True,
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
            live: False: the stored identities alone, no stream's live track (a merge of files: a file's identity
                is matched as `track gallery merge` matches it, whatever the streams offer now).
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
        live_ids, live_classes, live_looks = self._live_of_others(source) if live else no_live()
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

    @locked
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
        it is at that point (identities stored before, and the tracks linked before it; never the live tracks
        streams sharing it offer, which are no stored identity) with the same bounds
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
        pairs = track_pairs(cannot_link, count)
        for name, given in (("class_ids", class_ids), ("sightings", sightings), ("first_seen", first_seen)):
            if given is not None and len(given) != count:
                raise ValueError(f"{name} has {len(given)} entries, one per track is needed: {count}")
        classes: Sequence[int] = [] if class_ids is None else class_ids
        wrong = [i for i, c in enumerate(classes) if not is_whole(c)]
        if wrong:  # (int() would give 0.5 class 0)
            raise TypeError(f"class_ids[{wrong[0]}] must be a whole number, got {classes[wrong[0]]!r}")
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
            gid = self.match_looks(rows, cls, exclude=held, live=False)  # (offline: no stream's live track)
            ids[i] = self.new_id() if gid == NO_ID else gid
            seen = sightings[i] if sightings is not None else Sighting(0, now, "link")
            self.add(int(ids[i]), rows, cls, seen, first_seen=None if first_seen is None else first_seen[i])
        return ids

    @locked
    def match_looks(self, looks: np.ndarray, class_id: int, exclude: Iterable[int] = (), *, live: bool = True) -> int:
        """The identity a set of looks of one person (a track's bank, or another gallery's identity) takes, as
        `link` decides it for a track: their query is the normalised mean of the (P, D) `looks`, matched by `match`
        with the config's bounds (`gallery.min_similarity`, `gallery.margin`) among the identities of `class_id`
        that are not in `exclude` (and with `live`, the live tracks streams offer: `match`'s `live`). Returns its
        global ID, or `NO_ID` (-1): none is a sure match.

        Raises:
            ValueError: `looks` not of shape (P, D) with P >= 1 (one look is `looks[None]`), with a NaN, infinite or
                zero row, or of another D than the gallery's (when it has anything to search).
        """
        rows = np.asarray(looks, dtype=np.float32)
        if rows.ndim != 2 or len(rows) == 0:  # a 1-D look was averaged into one number, an empty set into NaN
            hint = " (one look: looks[None])" if rows.ndim == 1 else ""
            raise ValueError(f"looks must have shape (P, D) with P >= 1, got {rows.shape}{hint}")
        check_looks(rows, "looks")
        query, classes = looks_query(rows), np.array([int(class_id)])
        return int(self.match(query, exclude=exclude, class_ids=classes, live=live)[0])
