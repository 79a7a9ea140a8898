"""A state pickled at once, as one step, with the objects it may share with others kept out of it.

`Tracker.__reduce_ex__` holds its guard against a call from another thread only while it runs: pickle wrote the
state it returned afterwards, while such a call could change it (a half-made frame pickled). `pickled_state` pickles
the state there and then, holding the guard; the objects another pickled object may hold too (a `Gallery` that
trackers share, the models that forks share) are left out of those bytes, returned apart for the outer pickle to
write, so one pickle of several trackers still restores one gallery they share (`pickle.dump([camera_a,
camera_b], file)`). `unpickled_state` puts them back.
"""

from __future__ import annotations

import io
import pickle
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["pickled_state", "unpickled_state"]


class _KeepingApart(pickle.Pickler):
    """A pickler that writes each object `kept(obj)` chooses as its position in `apart` (a persistent ID)."""

    def __init__(self, file: io.BytesIO, protocol: int, kept: Callable[[object], bool]) -> None:
        super().__init__(file, protocol)
        self.kept = kept
        self.apart: list[object] = []
        self._position: dict[int, str] = {}  # id(obj) -> its persistent ID (ASCII text: what protocol 0 takes)

    def persistent_id(self, obj: object) -> str | None:
        if not self.kept(obj):
            return None
        if id(obj) not in self._position:
            self._position[id(obj)] = str(len(self.apart))
            self.apart.append(obj)
        return self._position[id(obj)]


class _PuttingBack(pickle.Unpickler):
    """An unpickler that reads `_KeepingApart`'s persistent IDs as the objects of `apart`."""

    def __init__(self, data: bytes, apart: Sequence[object]) -> None:
        super().__init__(io.BytesIO(data))
        self.apart = apart

    def persistent_load(self, pid: Any) -> object:
        return self.apart[int(pid)]


def pickled_state(state: object, protocol: int, kept: Callable[[object], bool]) -> tuple[bytes, tuple[object, ...]]:
    """`state` pickled now (pickle protocol `protocol`), all but the objects `kept(obj)` is true of: (its bytes,
    those objects in the order the bytes name them). Raises what `pickle.dumps(state)` raises (TypeError, an object
    that cannot be pickled; `pickle.PicklingError`)."""
    file = io.BytesIO()
    pickler = _KeepingApart(file, protocol, kept)
    pickler.dump(state)
    return file.getvalue(), tuple(pickler.apart)


def unpickled_state(data: bytes, apart: Sequence[object]) -> Any:
    """The state `pickled_state` gave as `data`, with `apart` (the objects it kept out, restored) in their places.
    Raises what `pickle.loads` raises."""
    return _PuttingBack(data, apart).load()
