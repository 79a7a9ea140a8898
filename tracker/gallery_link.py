"""`GalleryLink`: the gallery tier of one stream, between its `TrackerCore` and an identity `Gallery`.

The core keeps identities within a video (a lost track waits `lifecycle.max_seconds_lost`); the gallery
(`tracker.gallery`) keeps them beyond it, across long absences, videos, cameras and restarts. The link moves them
between the two, one link per stream:

- **search** (`newborn`, then `link_newborn` once per frame): a track given an ID gets a new global ID and is
  searched in the gallery by appearance each time its bank grows during its first `gallery.search_seconds`; a sure
  match revives a remembered identity's global ID;
- **store** (`track_ended`, and `store` for the tracks alive when a video ends): an identity with enough looks that
  agree moves into the gallery;
- **share** (`publish_live`): streams sharing one gallery each offer their live tracks to the others' newcomers,
  so a person in view of two cameras at once gets one global ID.

The gallery knows a stream by its core (`Gallery.attach`, `Gallery.match(..., source=)`): the calls that reach the
streams take that object as `stream` and never keep it. A kept one would be a reference cycle (core -> link ->
core): a deleted tracker would stay attached to the gallery, and its tracks offered, until the garbage collector
ran. Without a gallery every call does nothing, and tracks get no global ID.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterable, Mapping
from typing import Any, cast

import numpy as np
import torch

from tracker.bank import AppearanceBank
from tracker.calibration import Calibration
from tracker.config import TrackerConfig
from tracker.gallery import Gallery, Sighting
from tracker.gallery_prototypes import consistent_looks
from tracker.gallery_search import NO_ID
from tracker.still import StillBoxes
from tracker.stream_clock import FrameTimes
from tracker.track import Track, TrackTable
from tracker.types import TrackState

__all__ = ["NO_BANK_FRAME", "GalleryLink"]

NO_BANK_FRAME = -1  # `Track.bank_frame` before any embedding entered its bank (`TrackTable`'s first value)


_PICKLED_STREAMS = "_gallery_streams"  # (a pickled link's state: the streams its gallery served then)


class GalleryLink:
    """The gallery tier of one stream: its new tracks searched in `gallery`, its ended tracks stored there, its live
    tracks offered to the other streams sharing it (module docstring).

    Holds references to the core's `TrackTable` (its live tracks), `AppearanceBank` (their looks), `Calibration`
    (the "gallery" and "reid" bounds) and `StillBoxes` (a fixed scene object is no identity); it writes tracks'
    `global_id`, `recovered` and `recognised` only. The frame rate (frames per second) turns
    `gallery.search_seconds` and `gallery.live_seconds` into frames. `frame_index` arguments are the core's
    (1-based: the frame just tracked).

    Args:
        config: the tracker's config (`gallery`, `appearance.enabled`).
        frame_rate: frames per second of the stream (> 0).
        table, bank, calibration, still: the core's.
        gallery: the identity gallery, or None (no gallery tier: nothing is searched, stored or offered).
        source_name: the stream's name, recorded with the sightings it stores.
        newborn: tracks given an ID and not yet linked (`newborn`); a checkpoint's, else none.
        searching: young tracks being searched -> the `bank_frame` they were last searched at; a checkpoint's, else
            none.
    """

    def __init__(
        self,
        config: TrackerConfig,
        frame_rate: float,
        table: TrackTable,
        bank: AppearanceBank,
        calibration: Calibration,
        still: StillBoxes,
        gallery: Gallery | None = None,
        source_name: str = "",
        *,
        newborn: Iterable[Track] = (),
        searching: Mapping[Track, int] | None = None,
    ) -> None:
        self.config = config
        self.frame_rate = float(frame_rate)
        self.table = table
        self.bank = bank
        self.calibration = calibration
        self.still = still
        self.gallery = gallery
        self.source_name = source_name  # recorded with gallery sightings
        self._newborn: list[Track] = list(newborn)  # tracks given an ID this frame, to look up in the gallery
        self._searching: dict[Track, int] = dict(searching or {})  # young tracks searched -> bank_frame when searched
        self._published: dict[Track, tuple[int, int]] = {}  # live tracks offered (`publish_live`) -> (ID, frame)
        self.times = FrameTimes()  # the frames' times, where given (`Tracker.update(..., timestamp=)`): `store`

    def frame_timed(self, frame_index: int, seconds: float) -> None:
        """Frame `frame_index` (the one just tracked) was at stream time `seconds` (`StreamClock.elapsed`): the
        sightings in it are dated by that time (`store`). The times of frames no live track needs are dropped."""
        table = self.table
        self.times.note(
            frame_index,
            seconds,
            lambda: [t.born_frame for t in table.tracks] + (frame_index - table.frames_since_update).tolist(),
        )

    def __getstate__(self) -> dict[str, Any]:
        """The state to pickle (a checkpoint), with how many streams its gallery serves: a tracker unpickled onto a
        copy of the gallery that serves fewer says so (`Gallery.restored_for`: trackers that shared it, pickled one
        by one, restore a copy each)."""
        streams = 0 if self.gallery is None else self.gallery.streams
        return {**self.__dict__, _PICKLED_STREAMS: streams}

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Restore a pickled link, telling its gallery how many streams it served (`Gallery.restored_for`); one
        pickled before frames had times gets none (its sightings dated by frames)."""
        state = {"times": FrameTimes()} | state
        streams = state.pop(_PICKLED_STREAMS, 0)  # (a checkpoint from before it: none)
        self.__dict__.update(state)
        if self.gallery is not None and streams:
            self.gallery.restored_for(streams)

    def __deepcopy__(self, memo: dict[int, Any]) -> GalleryLink:
        """A fork (`copy.deepcopy` of a `Tracker`): its gallery is its own on purpose, so no count goes with it."""
        fork = type(self).__new__(type(self))
        memo[id(self)] = fork
        fork.__dict__.update(copy.deepcopy(self.__dict__, memo))
        return fork

    def attach(self, stream: object) -> None:
        """Register `stream` (its core) with the gallery, if any: a new stream, or one restored from a copy or a
        checkpoint, whose banks' D the gallery is told (`Gallery.join`: a copy keeps no stream's D). A copy's
        gallery holds no live tracks (`Gallery.__getstate__`): what this stream offered is forgotten, and its live
        tracks are offered again."""
        self._published = {}
        if self.gallery is not None:  # (a stream searching it: with another, each offers its live tracks)
            self.gallery.attach(stream)
            if self.bank.dim is not None:
                self.gallery.join(stream, self.bank.dim)

    def join(self, stream: object, dim: int, name: str = "embeddings") -> None:
        """`stream` gives looks of D `dim`, its first (its banks hold none yet): the gallery, if any, refuses
        another D than its own or another stream's sharing it, naming `name` and both sizes (`Gallery.join`)."""
        if self.gallery is not None:
            self.gallery.join(stream, dim, name)

    def reset(self, stream: object) -> None:
        """The video ended: `stream`'s live tracks are no longer offered, and no track is searched. Store the tracks
        still alive first (`store`)."""
        if self.gallery is not None:
            self.gallery.withdraw(stream)
        self._published = {}
        self._newborn, self._searching = [], {}
        self.times.reset()

    @property
    def threshold(self) -> float:
        """Minimum similarity (cosine) to revive a gallery identity: the calibrated "gallery" bound (the strictest
        quantile of this video's different-identity similarities), never below `gallery.min_similarity` nor the
        stage 4 ("reid") bound."""
        calibration = self.calibration
        return max(self.config.gallery.min_similarity, calibration.bound("gallery"), calibration.bound("reid"))

    # ------------------------------------------------------------------------------------------ search
    def newborn(self, track: Track) -> None:
        """`track` was just given its ID: this frame's `link_newborn` gives it a global ID and searches it."""
        self._newborn.append(track)

    def link_newborn(self, stream: object, frame_index: int) -> None:
        """A track given an ID (`newborn`) gets a new global ID, and is searched in the gallery by appearance
        alone each time its bank grows during its first `gallery.search_seconds` (all such tracks of a frame in
        one batch). A match revives that identity's global ID and marks the track `recognised` (and `recovered`, so
        the annotated video marks its return; `track`'s summary counts the two apart), once: a track is searched
        until it is linked. IDs held by `stream`'s live tracks are never given (two tracks visible at once are two
        people). Call once per frame, after the tracks are updated, started and removed."""
        if self.gallery is None:
            self._newborn.clear()
            return
        for track in self._newborn:
            track.global_id = self.gallery.new_id()
            self._searching[track] = NO_BANK_FRAME
        self._newborn = []
        window = round(self.config.gallery.search_seconds * self.frame_rate)
        for track in list(self._searching):
            if track.state is TrackState.REMOVED or frame_index - track.born_frame > window:
                del self._searching[track]
        ready = [t for t, searched_at in self._searching.items() if t.bank_frame > searched_at]
        if not ready or not self.gallery.searchable(stream) or not self.config.appearance.enabled:
            return
        for track in ready:
            self._searching[track] = track.bank_frame
        query = torch.stack([self.bank.entries(t.slot).mean(dim=0) for t in ready]).cpu().numpy()
        held = {t.global_id for t in self.table.tracks if t.global_id is not None}
        classes = np.array([t.class_id for t in ready])
        ids = self.gallery.match(query, exclude=held, class_ids=classes, min_similarity=self.threshold, source=stream)
        for track, gid in zip(ready, ids, strict=True):
            if gid != NO_ID:
                track.global_id, track.recovered, track.recognised = int(gid), True, True
                del self._searching[track]

    def relinking(self) -> list[Track]:
        """The tracks whose global ID may still change: given an ID this frame (`newborn`) or still searched
        (`link_newborn`); every other track keeps the global ID it has (`tracker.global_ids` forgets by it)."""
        return [*self._newborn, *self._searching]

    # ------------------------------------------------------------------------------------------ share
    def publish_live(self, stream: object, frame_index: int) -> None:
        """Streams sharing the gallery (`Gallery.shared`): each offers its live tracks to the others' newcomers
        (`Gallery.publish`), so a person in view of two cameras at once gets one global ID. A reported track with
        a global ID and enough looks that agree (`identity_looks`, as `store` keeps them) is offered, again when
        its bank grew and `gallery.live_seconds` have passed, and withdrawn when it ends (`track_ended`). Call once
        per frame, after `link_newborn`."""
        if self.gallery is None or not self.config.appearance.enabled or not self.gallery.shared:
            return
        gallery = self.gallery
        every = round(self.config.gallery.live_seconds * self.frame_rate)
        for track in self.table.tracks:
            if track.state is not TrackState.TRACKED:
                continue
            offered, at = self._published.get(track, (None, NO_BANK_FRAME))
            fresh = track.bank_frame > at and frame_index - at >= every
            if not fresh and offered == track.global_id:
                continue
            looks = self.identity_looks(track)
            if looks is None:
                continue
            global_id = cast(int, track.global_id)  # (`identity_looks` gives looks only to a track with one)
            if offered is not None and offered != global_id:  # (its search gave it a stored identity's ID)
                gallery.withdraw(stream, [offered])
            gallery.publish(stream, global_id, looks, track.class_id)
            self._published[track] = (global_id, frame_index)

    # ------------------------------------------------------------------------------------------ store
    def track_ended(self, stream: object, track: Track, frame_index: int) -> None:
        """`track` is removed (lost too long): its identity moves to the gallery (`store`), and it is no longer
        offered to the other streams. Call before its bank slot is given back."""
        self.store(track, frame_index)
        offered = self._published.pop(track, None)
        if offered is not None and self.gallery is not None:
            self.gallery.withdraw(stream, [offered[0]])

    def identity_looks(self, track: Track) -> np.ndarray | None:
        """(M, D) the looks of `track`'s bank that agree with the person it is on now (`consistent_looks`): what the
        gallery stores (`store`) or is offered (`publish_live`); None without a global ID, for a fixed scene object
        (`StillBoxes.hidden`: no identity), or with fewer than `gallery.min_embeddings` such looks."""
        min_count = self.config.gallery.min_embeddings
        if track.global_id is None or self.still.hidden(track.still_share):
            return None
        if self.bank.count([track.slot])[0] < min_count:
            return None
        # Agreement with the person the track is on is judged at the gallery's floor, not the calibrated bound:
        # with look-alikes in a video that bound can exceed any similarity, and no identity would be kept.
        return consistent_looks(self.bank.looks(track.slot), self.config.gallery.min_similarity, min_count)

    def store(self, track: Track, frame_index: int) -> None:
        """An expiring (or, at the end of a video, still alive) track's identity moves to the gallery: the looks
        of its bank that agree with the person it ended on (`consistent_looks`), if there are enough, with its
        first and last sightings (frames of this stream, dated back from now by video time, and `source_name`): by
        the frames' own times where they were given (`times`: a stream's outage, a source slower than the frame
        rate), else by the frames since them at the frame rate.
        A track that ends judged a fixed scene object (`StillBoxes.hidden`: not reported) is no identity and is not
        kept. Call before its bank slot is given back."""
        looks = None if self.gallery is None else self.identity_looks(track)
        if looks is None:
            return
        # Both sightings are dated back from now by video time: one clock, so "last seen" never precedes "first
        # seen" and neither lies in the future, however fast the video was processed.
        now, last = time.time(), frame_index - track.frames_since_update

        def dated(frame: int) -> float:
            ago = self.times.ago(frame)
            return now - ((frame_index - frame) / self.frame_rate if ago is None else ago)

        gallery, global_id = cast(Gallery, self.gallery), cast(int, track.global_id)  # (both set: looks were given)
        gallery.add(
            global_id,
            looks,
            track.class_id,
            Sighting(last, seen_last := dated(last), self.source_name),
            # (one of the two without a time, the frames' count may put it later: never after the last sighting)
            first_seen=Sighting(track.born_frame, min(dated(track.born_frame), seen_last), self.source_name),
        )
