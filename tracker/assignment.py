"""Minimum-cost assignment (Hungarian / Jonker-Volgenant via `lap`) with a cost ceiling, optionally after fixing the
clear mutual-best pairs."""

from __future__ import annotations

from dataclasses import dataclass

import lap
import numpy as np

from tracker.fast_numpy import all_set, any_set, filled, largest, smallest
from tracker.sweep import mask_pairs

__all__ = ["Matches", "assign_around", "clear_pairs", "index_pairs", "linear_assignment"]

# Cost matrices from this many entries are searched for clear pairs among their finite entries only (a gated stage
# cost holds a few per row): a sort of those instead of two partitions and two argmins of the whole matrix (measured,
# three finite entries a row: 100 x 100 0.05 ms either way, 200 x 200 0.19 -> 0.11 ms, 500 x 500 3.0 -> 0.6 ms).
_SPARSE_MIN_ENTRIES = 10_000
# `lap.lapjv`'s cost limit sits this far above `max_cost`: a pair costing exactly `max_cost` stays assignable under
# the solver's float rounding (the blocked pairs, set to max_cost + 1, stay beyond it)
_COST_LIMIT_SLACK = 1e-9


@dataclass(frozen=True, slots=True)
class Matches:
    """Result in the caller's row/column indices.

    Attributes:
        pairs: (M, 2) int64 rows of (row, col).
        unmatched_rows: (R,) int64 rows in no pair, ascending.
        unmatched_cols: (C,) int64 columns in no pair, ascending.
    """

    pairs: np.ndarray
    unmatched_rows: np.ndarray
    unmatched_cols: np.ndarray


def index_pairs(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """(M,) row and (M,) column indices -> (M, 2) int64 pairs (row, col): `np.stack(..., axis=1).astype(np.int64)`,
    written into one array without `np.stack`'s wrapper (1.3 against 2.5 us for a frame's 50 pairs, several a frame)."""
    pairs = np.empty((len(rows), 2), dtype=np.int64)
    pairs[:, 0] = rows
    pairs[:, 1] = cols
    return pairs


def clear_pairs(cost: np.ndarray, max_cost: float, margin: float) -> np.ndarray:
    """(M, 2) (row, col) pairs that are each other's clear best: col is the cheapest of its row, row the cheapest of
    its column, the pair costs at most `max_cost`, and every other pair in its row and its column costs at least
    `margin` more (inf and NaN never match; a tie is never clear when `margin` > 0).

    The mutual-nearest-neighbour test of greedy matching. A minimum-total-cost assignment maximises the number of
    matches under the ceiling, so it will give a row's clear best column to a weaker row when that lets both match;
    fixing these pairs first keeps them (e.g. a visible track keeps its detection against a lost track's claim).

    Args:
        cost: (R, C) float cost matrix, lower is better.
        max_cost: the highest cost a pair may have.
        margin: >= 0, how much cheaper than any rival a clear pair must be.
    """
    rows, cols = cost.shape
    if rows == 0 or cols == 0:
        return np.zeros((0, 2), np.int64)
    if cost.size >= _SPARSE_MIN_ENTRIES:
        return _clear_pairs_sparse(cost, max_cost, margin)
    if any_set(np.isnan(cost)):  # (a stage's cost has none: no copy)
        cost = np.where(np.isnan(cost), np.inf, cost)
    best_col, best_row = cost.argmin(axis=1), cost.argmin(axis=0)  # (R,), (C,)
    row = np.arange(rows)
    best = cost.take(row * cols + best_col)  # each row's cheapest, by its flat place (`[row, best_col]`'s values)
    mutual = (best_row[best_col] == row) & (best <= max_cost)
    # the second-cheapest pair of each row and of each column (inf where there is none): the cheapest once the
    # cheapest entry is set aside (what a partition at 1 gives, ties included, for a third less)
    row_second = smallest(_cheapest_but(cost, row, best_col), 1) if cols > 1 else filled(rows, np.inf)
    col_second = smallest(_cheapest_but(cost, best_row, np.arange(cols)), 0) if rows > 1 else filled(cols, np.inf)
    rival = np.minimum(row_second, col_second[best_col])  # (R,) cheapest other pair in the row or the column
    clear = mutual & (rival - np.where(mutual, best, 0.0) >= margin)  # best is finite wherever mutual
    return index_pairs(row[clear], best_col[clear])


def _cheapest_but(cost: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """A copy of `cost` with the entries at (`rows`, `cols`) set to inf (written by their flat places: `put`, what
    `out[rows, cols] = inf` writes, for less)."""
    out = cost.copy()
    out.put(rows * cost.shape[1] + cols, np.inf)
    return out


def _clear_pairs_sparse(cost: np.ndarray, max_cost: float, margin: float) -> np.ndarray:
    """`clear_pairs` from the entries below inf alone (the same pairs): inf and NaN entries are nobody's best nor
    anybody's rival that counts (a rival at inf is never within `margin`). Each row's and each column's cheapest
    entry (the first index among equals, as argmin) and second cheapest (inf if none) come from one sort each."""
    r, c = mask_pairs(cost < np.inf)
    v = cost[r, c]
    if len(v) == 0:
        return np.zeros((0, 2), np.int64)
    row_best, row_second = _cheapest_two(np.lexsort((c, v, r)), r, v)  # per row with entries, rows ascending
    col_best, col_second_at = _cheapest_two(np.lexsort((r, v, c)), c, v)
    col_best_row = filled(cost.shape[1], -1, np.int64)
    col_best_row[c[col_best]] = r[col_best]
    col_second = filled(cost.shape[1], np.inf)
    col_second[c[col_best]] = col_second_at
    rows, cols, best = r[row_best], c[row_best], v[row_best]
    mutual = (col_best_row[cols] == rows) & (best <= max_cost)
    rival = np.minimum(row_second, col_second[cols])
    clear = mutual & (rival - np.where(mutual, best, 0.0) >= margin)
    return index_pairs(rows[clear], cols[clear])


def _cheapest_two(order: np.ndarray, group: np.ndarray, value: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Entries sorted by (`group`, `value`, ...) as `order` -> each group's first entry (index into the entries) and
    its second value (inf for a group of one), groups ascending."""
    keys = group[order]
    start = np.concatenate([[True], keys[1:] != keys[:-1]]).nonzero()[0]
    end = np.append(start[1:], len(order))
    second = filled(len(start), np.inf)
    pair = end - start >= 2
    second[pair] = value[order[start[pair] + 1]]
    return order[start], second


def linear_assignment(cost: np.ndarray, max_cost: float, clear_margin: float | None = None) -> Matches:
    """Match rows to columns minimising total cost; pairs costing more than `max_cost` (or inf/NaN) never match.

    The Jonker-Volgenant solver of `lap.lapjv` (Jonker & Volgenant 1987) with `extend_cost` and a `cost_limit` just
    above `max_cost`, as ByteTrack's `matching.linear_assignment`; blocked pairs are set above the limit first.

    Args:
        cost: (R, C) float cost matrix, lower is better.
        max_cost: the highest cost a pair may have.
        clear_margin: when given, the `clear_pairs` at this margin are matched first and the rest are assigned
            among the remaining rows and columns; None: one assignment over everything.
    Returns:
        `Matches` in the indices of `cost`.
    """
    if clear_margin is None or cost.size == 0:
        return _assign(cost, max_cost)
    return assign_around(cost, max_cost, clear_pairs(cost, max_cost, clear_margin))


def assign_around(cost: np.ndarray, max_cost: float, fixed: np.ndarray) -> Matches:
    """`linear_assignment` with the (F, 2) pairs `fixed` matched first (rows and columns each at most once): the
    rest is one assignment among the remaining rows and columns of the (R, C) `cost`."""
    if len(fixed) == 0:
        return _assign(cost, max_cost)
    free_rows, free_cols = _free(cost.shape[0], fixed[:, 0]), _free(cost.shape[1], fixed[:, 1])
    if len(free_rows) == 0 or len(free_cols) == 0:  # (a crowd's usual frame: every track's pair is clear)
        return Matches(fixed.astype(np.int64), free_rows, free_cols)  # nothing left to assign
    rest = _assign(cost.take(free_rows, axis=0).take(free_cols, axis=1), max_cost)  # the block np.ix_ gives, cheaper
    pairs = np.concatenate([fixed, index_pairs(free_rows[rest.pairs[:, 0]], free_cols[rest.pairs[:, 1]])])
    return Matches(pairs.astype(np.int64), free_rows[rest.unmatched_rows], free_cols[rest.unmatched_cols])


def _free(size: int, taken: np.ndarray) -> np.ndarray:
    """(F,) int64 ascending indices in [0, size) not in `taken` (a mask: `np.setdiff1d` sorts, several times
    slower on a frame's few dozen indices)."""
    free = filled(size, True, bool)
    free[taken] = False
    return free.nonzero()[0]  # np.flatnonzero's indices without its wrapper calls


def _unmatched(rows: int, cols: int) -> Matches:
    """No pair: every one of `rows` rows and `cols` columns unmatched."""
    return Matches(np.zeros((0, 2), np.int64), np.arange(rows, dtype=np.int64), np.arange(cols, dtype=np.int64))


def _assign(cost: np.ndarray, max_cost: float) -> Matches:
    """One minimum-cost assignment over the whole matrix (`lap.lapjv` with a cost limit)."""
    rows, cols = cost.shape
    if rows == 0 or cols == 0:
        return _unmatched(rows, cols)
    blocked = ~np.isfinite(cost) | (cost > max_cost)
    if all_set(blocked):  # (about half a frame's calls on real boxes: nothing to solve)
        return _unmatched(rows, cols)
    allowed = ~blocked
    if largest(np.add.reduce(allowed, axis=1)) <= 1 and largest(np.add.reduce(allowed, axis=0)) <= 1:
        # each row and column has at most one allowed pair: the only optimum matches them all (a pair costs at most
        # max_cost, below the cost limit that leaving its row and its column unmatched costs), as lapjv returns
        pairs = index_pairs(*allowed.nonzero())
    else:
        finite = np.where(blocked, max_cost + 1.0, cost)
        _, row_to_col, _ = lap.lapjv(finite, extend_cost=True, cost_limit=max_cost + _COST_LIMIT_SLACK)
        matched_rows = (row_to_col >= 0).nonzero()[0]
        matched_cols = row_to_col[matched_rows]
        ok = ~blocked.take(matched_rows * cols + matched_cols)  # (`[rows, cols]`'s values by their flat places)
        pairs = index_pairs(matched_rows[ok], matched_cols[ok])
    col_used = np.zeros(cols, dtype=bool)
    col_used[pairs[:, 1]] = True
    row_used = np.zeros(rows, dtype=bool)
    row_used[pairs[:, 0]] = True
    return Matches(pairs, (~row_used).nonzero()[0], (~col_used).nonzero()[0])
