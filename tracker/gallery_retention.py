"""A `Gallery`'s retention (`tracker.gallery`): identities forgotten when asked (`remove`), when unseen for
`gallery.max_days_unseen` days (`prune`), and the least recently seen beyond `gallery.max_identities`."""

from __future__ import annotations

import time
from collections.abc import Iterable

from tracker.gallery_checks import unix_seconds, whole_ids
from tracker.gallery_guard import locked
from tracker.gallery_state import GalleryState

__all__ = ["GalleryRetention"]

SECONDS_PER_DAY = 86400.0


class GalleryRetention(GalleryState):
    """The retention of `tracker.gallery.Gallery` (one of its parts: the state it uses is `Gallery.__init__`'s)."""

    @locked
    def remove(self, global_ids: Iterable[int] | int) -> list[int]:
        """Forget these identities (one global ID, or several); returns those that were present (each once, however
        often it is given). When none is left, the records of the sources tracked to their end go too
        (`Gallery.sources`: the gallery holds none of their sightings, and tracking them again is not refused).

        Raises:
            TypeError: an ID that is not a whole number (a string such as "12" would be read as IDs 1 and 2, 1.7
                as 1), before any is forgotten.
        """
        gone = [g for g in dict.fromkeys(whole_ids(global_ids)) if g in self._identities]
        if gone:
            self._index_remove([self._identities.pop(gid) for gid in gone])
            self._dirty = True
        if gone and not self._identities:  # none left: it holds no finished source's sightings (a run under way,
            # or stopped, stores its people in view at its end or its resume: its record stays)
            self._linked = {key: record for key, record in self._linked.items() if record.frames is None}
        return gone

    @locked
    def prune(self, now: float | None = None) -> list[int]:
        """Apply the retention policy: forget identities unseen for `max_days_unseen` days before `now` (Unix
        seconds, as `time.time()`; None: now), then the least recently seen beyond `max_identities`. Returns the
        removed global IDs.

        Raises:
            TypeError: `now` not a number (a `datetime`: its `.timestamp()`). ValueError: `now` NaN or infinite.
        """
        now = time.time() if now is None else unix_seconds(now)
        limit = now - self.config.max_days_unseen * SECONDS_PER_DAY
        stale = [g for g, i in self._identities.items() if i.last_seen.time < limit]
        return self.remove(stale) + self._enforce_capacity()

    def _enforce_capacity(self) -> list[int]:
        excess = len(self._identities) - self.config.max_identities
        if excess <= 0:
            return []
        oldest = sorted(self._identities.values(), key=lambda i: (i.last_seen.time, i.global_id))[:excess]
        return self.remove(i.global_id for i in oldest)
