"""The live tracks one stream offers the others' newcomers (`tracker.gallery`): while one `Gallery` serves several
streams (one `Tracker` per camera, each in its own thread), each registers (`attach`) and offers its tracks alive
(`publish`, `withdraw`), so a person seen in two views at once keeps one global ID. In memory only: neither saved
nor copied."""

from __future__ import annotations

import logging
from collections.abc import Iterable

import numpy as np

from tracker.gallery_file import FileVersion
from tracker.gallery_guard import locked
from tracker.gallery_prototypes import select_prototypes
from tracker.gallery_records import LiveLooks
from tracker.gallery_state import GalleryState

__all__ = ["GalleryLive", "no_live"]

log = logging.getLogger(__name__)


class GalleryLive(GalleryState):
    """The live tracks of `tracker.gallery.Gallery` (one of its parts: the state it uses is `Gallery.__init__`'s)."""

    @locked
    def attach(self, source: object) -> None:
        """Register a stream (a weak-referenceable object that stands for it: a `TrackerCore`) as searching this
        gallery. Held weakly: a stream whose object is gone no longer counts. See `shared`."""
        self._sources.add(source)

    @locked
    def join(self, source: object, dim: int, name: str = "embeddings") -> None:
        """Record that the stream `source` (`attach`) looks with embeddings of D `dim`: said at its first look (or
        restored holding looks), so that a stream whose ReID gives another D than the gallery's, or than another
        stream's sharing it, is refused at that moment, before its frame changes anything. (Two Trackers of other
        ReIDs sharing one Gallery failed later, in the middle of a frame: a newcomer's search in `Gallery.match`,
        after the tracks had moved on.) Held weakly, as `attach`.

        Raises:
            ValueError: `dim` is not the D of the gallery's model or stored identities, nor of the looks another
                stream sharing it joined with or offers (`publish`): the message names `name` (the argument that
                gave them) and both sizes.
        """
        verb = "has" if name != "embeddings" else "have"
        held = self.model.dim if self.model is not None and self.model.dim is not None else self._stored_dim()
        if held is not None and dim != held:
            raise ValueError(f"{name} {verb} D = {dim}, the gallery holds D = {held}")
        other = next((d for s, d in list(self._dims.items()) if s is not source and d != dim), None)
        if other is None:
            offered = (look for s, live in list(self._live.items()) if s is not source for look in live.values())
            other = next((look.prototypes.shape[1] for look in offered if look.prototypes.shape[1] != dim), None)
        if other is not None:
            raise ValueError(
                f"{name} {verb} D = {dim}, the gallery holds D = {other} (the looks of another Tracker sharing it: "
                "trackers sharing one Gallery need one ReID model, one embedding size; give this one a Gallery of "
                "its own)"
            )
        self._dims[source] = int(dim)

    @property
    @locked
    def streams(self) -> int:
        """How many streams search this gallery now (`Gallery.attach`; held weakly)."""
        return len(self._sources)

    @locked
    def restored_for(self, streams: int) -> None:
        """A tracker was unpickled onto this gallery, which `streams` streams searched when it was pickled
        (`GalleryLink`, with each tracker's pickle): served by fewer at a stream's frame, it warns once (`shared`).
        A gallery pickled or copied on its own carries no count, and says nothing."""
        self._pickled_streams = max(self._pickled_streams, streams)

    @property
    @locked
    def shared(self) -> bool:
        """Whether more than one stream searches this gallery now: only then do streams `publish` live tracks.

        A gallery whose trackers were unpickled serving fewer streams than it served when they were pickled
        (`restored_for`) warns once (asked each frame by every stream: `GalleryLink.publish_live`): trackers sharing
        it pickled one by one restore a copy each, which share no identity (a checkpoint of several cameras is one
        pickle of all their trackers)."""
        if 0 < len(self._sources) < self._pickled_streams:
            log.warning("%s", _split_by_pickle(self._pickled_streams, len(self._sources), self._file))
            self._pickled_streams = 0  # (said once per copy)
        return len(self._sources) > 1

    @locked
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

    @locked
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
            return no_live()
        counts = [len(look.prototypes) for _, look in offered]
        gids = np.repeat(np.array([g for g, _ in offered], dtype=np.int64), counts)
        classes = np.repeat(np.array([look.class_id for _, look in offered], dtype=np.int64), counts)
        return gids, classes, np.concatenate([look.prototypes for _, look in offered])

    @locked
    def searchable(self, source: object | None = None) -> bool:
        """Whether a newcomer of `source` has anything to be matched with: stored identities, or live tracks of
        other streams."""
        return bool(self._identities) or any(s is not source and live for s, live in list(self._live.items()))


def no_live() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What `GalleryLive._live_of_others` gives when no stream offers a track: (0,) IDs, (0,) classes, (0, 0) looks."""
    return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32)


def _split_by_pickle(pickled: int, now: int, file: tuple[str, FileVersion] | None) -> str:
    """The warning for a gallery pickled serving `pickled` streams and unpickled for `now` fewer (`shared`)."""
    named = "" if file is None else f" ({file[0]})"
    return (
        f"this gallery{named} was pickled shared by {pickled} trackers and is unpickled for {now}: trackers that "
        "share a gallery, pickled one by one, each restore their own copy of it, which share no identity (a person "
        "who leaves one camera is not known to the others) and of which only one can be saved "
        "(GalleryConflictError); pickle them together, in one pickle: pickle.dump([camera_a, camera_b, ...], file) "
        "(nothing to do for a tracker you no longer restore)"
    )
