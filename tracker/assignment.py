"""Minimum-cost assignment (Hungarian / Jonker-Volgenant via `lap`) with a cost ceiling."""

from __future__ import annotations

from dataclasses import dataclass

import lap
import numpy as np

__all__ = ["Matches", "linear_assignment"]


@dataclass(frozen=True, slots=True)
class Matches:
    """Result in the caller's row/column indices.

    Attributes:
        pairs: (M, 2) int64 rows of (row, col).
        unmatched_rows: (R,) int64.
        unmatched_cols: (C,) int64.
    """

    pairs: np.ndarray
    unmatched_rows: np.ndarray
    unmatched_cols: np.ndarray


def linear_assignment(cost: np.ndarray, max_cost: float) -> Matches:
    """Match rows to columns minimising total cost; pairs costing more than `max_cost` (or inf/NaN) never match.

    Args:
        cost: (R, C) float cost matrix, lower is better.
        max_cost: the highest cost a pair may have.
    """
    rows, cols = cost.shape
    if rows == 0 or cols == 0:
        return Matches(np.zeros((0, 2), np.int64), np.arange(rows, dtype=np.int64), np.arange(cols, dtype=np.int64))
    blocked = ~np.isfinite(cost) | (cost > max_cost)
    finite = np.where(blocked, max_cost + 1.0, cost)
    _, row_to_col, _ = lap.lapjv(finite, extend_cost=True, cost_limit=max_cost + 1e-9)
    matched_rows = np.flatnonzero(row_to_col >= 0)
    matched_cols = row_to_col[matched_rows]
    ok = ~blocked[matched_rows, matched_cols]
    pairs = np.stack([matched_rows[ok], matched_cols[ok]], axis=1).astype(np.int64)
    col_used = np.zeros(cols, dtype=bool)
    col_used[pairs[:, 1]] = True
    row_used = np.zeros(rows, dtype=bool)
    row_used[pairs[:, 0]] = True
    return Matches(pairs, np.flatnonzero(~row_used), np.flatnonzero(~col_used))
