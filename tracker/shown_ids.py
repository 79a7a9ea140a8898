"""`ShownIds`: the IDs a `track` run showed, as a set kept in runs of consecutive IDs (flat memory over days).

`RunSummary.tracks` counts the IDs a run showed. A set of them grew with every ID (a newcomer every 5 frames at 30
frames/s is ~520 000 IDs a day: ~32 MB a day, and as long a sorted list in each resume checkpoint). The IDs come in
runs: a source numbers its tracks 1, 2, 3, ... in the order they are confirmed and shows each at once (a track judged
a fixed scene object may never be), and a gallery's new global IDs are consecutive too (`Gallery.new_id`); only the
remembered identities the gallery recognises, and the IDs the end-of-run rewrite takes away
(`tracker.global_ids`), fall apart from them. So the IDs are kept as sorted (first, last) runs: memory in the runs,
not the IDs (the churn world's 520 000 IDs a day are one run). It behaves as the set it replaces (`len`, `in`,
iteration in order, `==` with a set, `|`), and several sources' IDs are kept apart where each source numbers its own
(`of_source`: its IDs iterate as (source, ID) pairs, as the set held them).
"""

from __future__ import annotations

import operator
from bisect import bisect_right
from collections.abc import Hashable, Iterable, Iterator, Mapping
from typing import Any

__all__ = ["ShownIds"]

_ONE_SOURCE = None  # the key of a single source's IDs (or a gallery's global IDs, one for all sources)


class _Runs:
    """Sorted disjoint runs of consecutive ints: `starts[i]..ends[i]` (inclusive), `ends[i] + 1 < starts[i + 1]`."""

    __slots__ = ("count", "ends", "starts")

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.count = 0

    def copy(self) -> _Runs:
        runs = _Runs()
        runs.starts, runs.ends, runs.count = list(self.starts), list(self.ends), self.count
        return runs

    def __contains__(self, value: int) -> bool:
        i = bisect_right(self.starts, value) - 1
        return i >= 0 and value <= self.ends[i]

    def add(self, value: int) -> None:
        starts, ends = self.starts, self.ends
        if ends and starts[-1] <= value <= ends[-1]:  # (most IDs of a frame: the newest run's)
            return
        i = bisect_right(starts, value) - 1  # the run starting at or before `value`, -1: none
        if i >= 0 and value <= ends[i]:
            return
        self.count += 1
        joins_left = i >= 0 and ends[i] + 1 == value
        joins_right = i + 1 < len(starts) and starts[i + 1] == value + 1
        if joins_left and joins_right:  # (fills the hole between two runs)
            ends[i] = ends[i + 1]
            del starts[i + 1], ends[i + 1]
        elif joins_left:
            ends[i] = value
        elif joins_right:
            starts[i + 1] = value
        else:
            starts.insert(i + 1, value)
            ends.insert(i + 1, value)

    def discard(self, value: int) -> None:
        i = bisect_right(self.starts, value) - 1
        if i < 0 or value > self.ends[i]:
            return
        self.count -= 1
        start, end = self.starts[i], self.ends[i]
        if start == end:
            del self.starts[i], self.ends[i]
        elif value == start:
            self.starts[i] = value + 1
        elif value == end:
            self.ends[i] = value - 1
        else:  # (splits the run in two)
            self.ends[i] = value - 1
            self.starts.insert(i + 1, value + 1)
            self.ends.insert(i + 1, end)

    def __iter__(self) -> Iterator[int]:
        for start, end in zip(self.starts, self.ends, strict=True):
            yield from range(start, end + 1)

    def union(self, pairs: Iterable[tuple[int, int]]) -> None:
        """Add the (first, last) runs `pairs` (inclusive, first <= last), in time of the runs, not their IDs."""
        merged: list[list[int]] = []
        for start, end in sorted([*zip(self.starts, self.ends, strict=True), *pairs]):
            if merged and start <= merged[-1][1] + 1:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        self.starts, self.ends = [s for s, _ in merged], [e for _, e in merged]
        self.count = sum(e - s + 1 for s, e in merged)


class ShownIds:
    """A set of IDs (ints; once several sources are combined without a gallery, (source, ID) pairs) kept as runs of
    consecutive IDs: memory in the runs, not the IDs (module docstring).

    Args:
        ids: the IDs to start with (ints, or (source, ID) pairs).
    Raises:
        TypeError: an ID that is neither an int nor a (source, int) pair.
    """

    __slots__ = ("_runs",)

    def __init__(self, ids: Iterable[Any] = ()) -> None:
        self._runs: dict[Hashable, _Runs] = {}
        self.update(ids)

    @classmethod
    def from_runs(cls, runs: Iterable[Iterable[int]]) -> ShownIds:
        """The IDs of (first, last) runs (inclusive), as `runs()` gives them (a resume checkpoint's).

        Raises:
            ValueError: a run whose last ID is before its first.
        """
        pairs = [(int(first), int(last)) for first, last in runs]
        for first, last in pairs:
            if last < first:
                raise ValueError(f"a run of IDs from {first} to {last}: its last ID is before its first")
        shown = cls()
        if pairs:
            shown._runs[_ONE_SOURCE] = _Runs()
            shown._runs[_ONE_SOURCE].union(pairs)
        return shown

    def runs(self) -> list[list[int]]:
        """[first, last] of each run of consecutive IDs of a single source (or of global IDs), in order: what a
        resume checkpoint keeps (JSON-ready).

        Raises:
            ValueError: IDs of several sources kept apart (`of_source`): a checkpoint is of one source.
        """
        if any(key is not _ONE_SOURCE for key in self._runs):
            raise ValueError("the IDs of several sources have no runs of one source")
        runs = self._runs.get(_ONE_SOURCE)
        return [] if runs is None else [[s, e] for s, e in zip(runs.starts, runs.ends, strict=True)]

    @property
    def run_count(self) -> int:
        """How many runs of consecutive IDs are kept (the memory held: two ints a run)."""
        return sum(len(runs.starts) for runs in self._runs.values())

    def _split(self, value: Any) -> tuple[Hashable, int]:
        """(source key, ID) of an int (a numpy integer too) or a (source, int) pair."""
        source, number = value if isinstance(value, tuple) and len(value) == 2 else (_ONE_SOURCE, value)
        try:
            return source, operator.index(number)
        except TypeError:
            raise TypeError(f"an ID shown must be an int or a (source, int) pair, got {value!r}") from None

    def add(self, value: Any) -> None:
        """Add one ID (an int, or a (source, ID) pair)."""
        key, number = self._split(value)
        runs = self._runs.get(key)
        if runs is None:
            runs = self._runs[key] = _Runs()
        runs.add(number)

    def update(self, values: Iterable[Any]) -> None:
        """Add each of `values` (`add`); an int within the newest run of a single source's IDs (most of a frame's:
        the people in view) is passed over at the cost of two comparisons."""
        newest = self._runs.get(_ONE_SOURCE)
        low, high = (newest.starts[-1], newest.ends[-1]) if newest is not None and newest.starts else (1, 0)
        for value in values:
            if type(value) is int and low <= value <= high:
                continue
            self.add(value)
            newest = self._runs.get(_ONE_SOURCE)
            if newest is not None and newest.starts:
                low, high = newest.starts[-1], newest.ends[-1]

    def discard(self, value: Any) -> None:
        """Remove one ID if it is there."""
        key, number = self._split(value)
        runs = self._runs.get(key)
        if runs is not None:
            runs.discard(number)

    def replaced(self, replacements: Mapping[int, int]) -> ShownIds:
        """These IDs with each ID shown that `replacements` names (new -> final) replaced by its final one: the set
        `{replacements.get(i, i) for i in self}`, in time and memory of the replacements (not of the IDs)."""
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
        for key, runs in self._runs.items():
            out._runs[source if key is _ONE_SOURCE else key] = runs.copy()
        return out

    def copy(self) -> ShownIds:
        out = ShownIds()
        out._runs = {key: runs.copy() for key, runs in self._runs.items()}
        return out

    def __contains__(self, value: object) -> bool:
        try:
            key, number = self._split(value)
        except TypeError:
            return False
        runs = self._runs.get(key)
        return runs is not None and number in runs

    def __len__(self) -> int:
        return sum(runs.count for runs in self._runs.values())

    def __iter__(self) -> Iterator[Any]:
        for key, runs in self._runs.items():
            if key is _ONE_SOURCE:
                yield from runs
            else:
                yield from ((key, number) for number in runs)

    def __ior__(self, other: Iterable[Any]) -> ShownIds:
        if isinstance(other, ShownIds):  # run by run
            for key, runs in other._runs.items():
                mine = self._runs.get(key)
                if mine is None:
                    mine = self._runs[key] = _Runs()
                mine.union(zip(runs.starts, runs.ends, strict=True))
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
        return f"ShownIds({len(self)} IDs in {self.run_count} runs)"
