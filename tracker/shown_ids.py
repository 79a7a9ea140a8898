"""`ShownIds`: the IDs a `track` run showed, as a set kept in compressed bitmaps (flat memory over days).

`RunSummary.tracks` counts the IDs a run showed. A set of them grew with every ID (a newcomer every 5 frames at 30
frames/s is ~520 000 IDs a day: ~32 MB a day, and as long a sorted list in each resume checkpoint). The IDs come in
runs: a source numbers its tracks 1, 2, 3, ... in the order they are confirmed and shows each at once (a track judged
a fixed scene object may never be), and a gallery's new global IDs are consecutive too (`Gallery.new_id`); only the
remembered identities the gallery recognises, and the IDs the end-of-run rewrite takes away
(`tracker.global_ids`), fall apart from them. So they are kept in Roaring bitmaps (`pyroaring`, the compressed
integer sets of Lemire et al., "Consistently faster and smaller compressed bitmaps with Roaring", 2016), whose run
containers hold a run of consecutive IDs in a few bytes: each block of 2^16 IDs is run-compressed once the IDs move
past it (`run_optimize`), so memory is in the runs, not the IDs. It behaves as the set it replaces (`len`, `in`,
iteration in order, `==` with a set, `|`), and several sources' IDs are kept apart where each source numbers its own
(`of_source`: its IDs iterate as (source, ID) pairs, as the set held them).
"""

from __future__ import annotations

import operator
from collections.abc import Hashable, Iterable, Iterator, Mapping
from typing import Any

import numpy as np
from pyroaring import BitMap64

__all__ = ["ShownIds"]

_ONE_SOURCE = None  # the key of a single source's IDs (or a gallery's global IDs, one for all sources)
_ID_LIMIT = 2**64  # the bitmaps hold unsigned 64-bit IDs: 0 to 2**64 - 1
_BLOCK_BITS = 16  # a Roaring container holds the IDs of one block of 2^16: run-compressed once the IDs move past it


class ShownIds:
    """A set of IDs (ints >= 0; once several sources are combined without a gallery, (source, ID) pairs) kept in
    compressed bitmaps (`pyroaring.BitMap64`, one per source): memory in the runs of consecutive IDs, not the IDs
    (module docstring).

    Args:
        ids: the IDs to start with (ints, or (source, ID) pairs).
    Raises:
        TypeError: an ID that is neither an int nor a (source, int) pair.
        ValueError: a negative ID.
    """

    __slots__ = ("_bitmaps", "_block")

    def __init__(self, ids: Iterable[Any] = ()) -> None:
        self._bitmaps: dict[Hashable, BitMap64] = {}
        self._block = 0  # the newest block of 2^16 IDs added to (`_compress`)
        self.update(ids)

    @classmethod
    def from_runs(cls, runs: Iterable[Iterable[int]]) -> ShownIds:
        """The IDs of (first, last) runs (inclusive), as `runs()` gives them (a resume checkpoint's).

        Raises:
            ValueError: a run whose last ID is before its first, or an ID out of 0 to 2**64 - 1.
        """
        shown = cls()
        for first, last in ((int(first), int(last)) for first, last in runs):
            if last < first:
                raise ValueError(f"a run of IDs from {first} to {last}: its last ID is before its first")
            bitmap = shown._bitmap(_ONE_SOURCE)
            bitmap.add_range(_checked(first), _checked(last))  # (its end excluded: 2**64 overflows the bitmap's)
            bitmap.add(last)
        shown._compress()
        return shown

    def runs(self) -> list[list[int]]:
        """[first, last] of each run of consecutive IDs of a single source (or of global IDs), in order: what a
        resume checkpoint keeps (JSON-ready). O(IDs) time: a checkpoint's, not a frame's.

        Raises:
            ValueError: IDs of several sources kept apart (`of_source`): a checkpoint is of one source.
        """
        if any(key is not _ONE_SOURCE for key in self._bitmaps):
            raise ValueError("the IDs of several sources have no runs of one source")
        ids = self._array(_ONE_SOURCE)
        if not len(ids):
            return []
        breaks = np.flatnonzero(np.diff(ids) != 1)  # (the last ID of each run but the last)
        firsts, lasts = np.concatenate([ids[:1], ids[breaks + 1]]), np.concatenate([ids[breaks], ids[-1:]])
        return [[int(first), int(last)] for first, last in zip(firsts, lasts, strict=True)]

    @property
    def run_count(self) -> int:
        """How many runs of consecutive IDs are kept, over all sources (a diagnostic: O(IDs) time)."""
        return sum(
            int(np.count_nonzero(np.diff(self._array(key)) != 1)) + 1 for key in self._bitmaps if self._bitmaps[key]
        )

    @property
    def nbytes(self) -> int:
        """Bytes the bitmaps' containers hold (`BitMap64.get_statistics`): the memory the IDs take."""
        total = 0
        for bitmap in self._bitmaps.values():
            stat = bitmap.get_statistics()
            total += (
                stat["n_bytes_array_containers"] + stat["n_bytes_run_containers"] + stat["n_bytes_bitset_containers"]
            )
        return total

    def add(self, value: Any) -> None:
        """Add one ID (an int, or a (source, ID) pair).

        Raises:
            TypeError, ValueError: as the constructor.
        """
        key, number = _split(value)
        self._bitmap(key).add(number)
        self._compress_past(number)

    def update(self, values: Iterable[Any]) -> None:
        """Add each of `values` (`add`); ints of a single source in one call to the bitmap (a frame's people)."""
        ints: list[int] = []
        others: list[Any] = []
        for value in values:
            (ints if type(value) is int else others).append(value)
        if ints:
            try:
                self._bitmap(_ONE_SOURCE).update(ints)
            except OverflowError:  # (a negative ID: the bitmap took none of them)
                raise ValueError(f"an ID shown must be >= 0, got {min(ints)}") from None
            self._compress_past(max(ints))
        for value in others:
            self.add(value)

    def discard(self, value: Any) -> None:
        """Remove one ID if it is there."""
        key, number = _split(value)
        bitmap = self._bitmaps.get(key)
        if bitmap is not None:
            bitmap.discard(number)

    def replaced(self, replacements: Mapping[int, int]) -> ShownIds:
        """These IDs with each ID shown that `replacements` names (new -> final) replaced by its final one: the set
        `{replacements.get(i, i) for i in self}`, in time of the replacements (not of the IDs)."""
        out = self.copy()
        finals = [final for new, final in replacements.items() if new in self]
        for new in replacements:
            out.discard(new)
        out.update(finals)
        return out

    def of_source(self, source: Hashable) -> ShownIds:
        """This single source's IDs as (source, ID) pairs: apart from another source's same numbers (`combine`
        without a gallery, where each source numbers its tracks from 1)."""
        out = ShownIds()
        out._bitmaps = {source if key is _ONE_SOURCE else key: bitmap.copy() for key, bitmap in self._bitmaps.items()}
        return out

    def copy(self) -> ShownIds:
        out = ShownIds()
        out._bitmaps = {key: bitmap.copy() for key, bitmap in self._bitmaps.items()}
        out._block = self._block
        return out

    def _bitmap(self, key: Hashable) -> BitMap64:
        bitmap = self._bitmaps.get(key)
        if bitmap is None:
            bitmap = self._bitmaps[key] = BitMap64()
        return bitmap

    def _array(self, key: Hashable) -> np.ndarray:
        """(K,) the IDs of `key`'s bitmap, ascending (uint64, as the bitmap holds them: an int64 turned those of 2**63
        and more negative, and a checkpoint's runs unreadable)."""
        bitmap = self._bitmaps.get(key)
        return np.zeros(0, np.uint64) if bitmap is None else np.frombuffer(bitmap.to_array(), np.uint64)

    def _compress_past(self, newest: int) -> None:
        """Run-compress the bitmaps once an ID of a new block of 2^16 comes (`_compress`): memory in runs."""
        if newest >> _BLOCK_BITS != self._block:
            self._block = newest >> _BLOCK_BITS
            self._compress()

    def _compress(self) -> None:
        for bitmap in self._bitmaps.values():
            bitmap.run_optimize()

    def __contains__(self, value: object) -> bool:
        try:
            key, number = _split(value)
        except (TypeError, ValueError):
            return False
        bitmap = self._bitmaps.get(key)
        return bitmap is not None and number in bitmap

    def __len__(self) -> int:
        return sum(len(bitmap) for bitmap in self._bitmaps.values())

    def __iter__(self) -> Iterator[Any]:
        for key, bitmap in self._bitmaps.items():
            if key is _ONE_SOURCE:
                yield from bitmap
            else:
                yield from ((key, number) for number in bitmap)

    def __ior__(self, other: Iterable[Any]) -> ShownIds:
        if isinstance(other, ShownIds):  # bitmap by bitmap
            for key, bitmap in other._bitmaps.items():
                self._bitmap(key).update(bitmap)
            self._compress()
        else:
            self.update(other)
        return self

    def __or__(self, other: Iterable[Any]) -> ShownIds:
        out = self.copy()
        out |= other
        return out

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ShownIds):
            return len(self) == len(other) and set(self) == set(other)
        if isinstance(other, set | frozenset):
            return len(self) == len(other) and set(self) == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # (mutable, as the set it replaces)

    def __repr__(self) -> str:
        return f"ShownIds({len(self)} IDs in {self.nbytes} bytes)"


def _split(value: Any) -> tuple[Hashable, int]:
    """(source key, ID) of an int (a numpy integer too, by `operator.index`) or a (source, int) pair.

    Raises:
        TypeError: neither; ValueError: a negative ID, or one of 2**64 or more (`_ID_LIMIT`).
    """
    source, number = value if isinstance(value, tuple) and len(value) == 2 else (_ONE_SOURCE, value)
    try:
        return source, _checked(operator.index(number))
    except TypeError:
        raise TypeError(f"an ID shown must be an int or a (source, int) pair, got {value!r}") from None


def _checked(number: int) -> int:
    if number < 0:
        raise ValueError(f"an ID shown must be >= 0, got {number}")
    if number >= _ID_LIMIT:
        raise ValueError(f"an ID shown must be < 2**64, got {number}")
    return number
