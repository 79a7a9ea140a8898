"""Minimum-cost assignment with a ceiling, and the clear mutual-best pairs matched before it."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from tracker.assignment import _COST_LIMIT_SLACK, clear_pairs, index_pairs, linear_assignment

INF = np.inf

# A visible track (row 0) and a lost one (row 1); detection 0 is the visible track's, detection 1 a newcomer the
# lost track cannot take. Matching both (0.58 + 0.355) beats one match and two leftovers (0.22 + 0.8), so the
# minimum-total assignment gives the visible track's clear best detection to the lost track. Costs from
# TUD-Campus (ACF boxes) frame 12, where this swapped two people's IDs.
TRAP = np.array([[0.22, 0.58], [0.355, INF]])


def pairs_of(matches) -> set[tuple[int, int]]:
    return {(int(r), int(c)) for r, c in matches.pairs}


def test_the_hungarian_alone_gives_a_clear_best_away():
    assert pairs_of(linear_assignment(TRAP, 0.8)) == {(0, 1), (1, 0)}


def test_clear_pairs_first_keeps_the_visible_tracks_detection():
    result = linear_assignment(TRAP, 0.8, clear_margin=0.1)
    assert pairs_of(result) == {(0, 0)}
    assert result.unmatched_rows.tolist() == [1] and result.unmatched_cols.tolist() == [1]


def test_a_close_rival_makes_a_pair_unclear():
    # row 0's best (0.22) beats the lost track's claim on the same detection (0.30) by less than the margin
    close = np.array([[0.22, 0.58], [0.30, INF]])
    assert len(clear_pairs(close, 0.8, 0.1)) == 0
    assert pairs_of(linear_assignment(close, 0.8, clear_margin=0.1)) == pairs_of(linear_assignment(close, 0.8))
    assert clear_pairs(close, 0.8, 0.05).tolist() == [[0, 0]]


def test_clear_pairs_need_mutual_best_under_the_ceiling():
    cost = np.array([[0.1, 0.5, INF], [0.2, 0.9, INF], [INF, INF, 0.85]])
    # (0, 0): mutual best but row 1 wants column 0 too at 0.2: 0.1 below it, a clear pair at margin 0.1 only
    assert clear_pairs(cost, 0.8, 0.1).tolist() == [[0, 0]]
    assert clear_pairs(cost, 0.8, 0.11).tolist() == []
    # (2, 2) is mutual best without rivals: clear under a ceiling of 0.9, never above one of 0.8
    assert [2, 2] not in clear_pairs(cost, 0.8, 0.0).tolist()
    assert [2, 2] in clear_pairs(cost, 0.9, 0.0).tolist()


def test_ties_are_never_clear_and_nan_never_matches():
    assert len(clear_pairs(np.array([[0.3, 0.3]]), 0.8, 0.01)) == 0
    assert clear_pairs(np.array([[np.nan, 0.3]]), 0.8, 0.1).tolist() == [[0, 1]]
    assert clear_pairs(np.array([[np.nan, INF]]), 0.8, 0.0).tolist() == []


@pytest.mark.parametrize("shape", [(0, 0), (0, 3), (2, 0)])
def test_empty_matrices(shape):
    result = linear_assignment(np.zeros(shape), 0.8, clear_margin=0.1)
    assert result.pairs.shape == (0, 2)
    assert len(result.unmatched_rows) == shape[0] and len(result.unmatched_cols) == shape[1]


costs = arrays(
    np.float64,
    st.tuples(st.integers(1, 6), st.integers(1, 6)),
    elements=st.one_of(st.floats(0.0, 1.2), st.just(INF)),
)


@settings(max_examples=200, deadline=None)
@given(cost=costs, margin=st.floats(0.0, 0.3))
def test_clear_first_is_a_valid_matching_that_keeps_every_clear_pair(cost, margin):
    result = linear_assignment(cost, 0.8, clear_margin=margin)
    rows, cols = result.pairs[:, 0], result.pairs[:, 1]
    assert len(set(rows.tolist())) == len(rows) and len(set(cols.tolist())) == len(cols)
    assert (cost[rows, cols] <= 0.8).all()
    assert sorted([*rows.tolist(), *result.unmatched_rows.tolist()]) == list(range(cost.shape[0]))
    assert sorted([*cols.tolist(), *result.unmatched_cols.tolist()]) == list(range(cost.shape[1]))
    assert {tuple(p) for p in clear_pairs(cost, 0.8, margin).tolist()} <= pairs_of(result)


@settings(max_examples=200, deadline=None)
@given(
    cost=arrays(
        np.float64,
        st.tuples(st.integers(1, 9), st.integers(1, 9)),
        elements=st.sampled_from([0.0, 0.1, 0.2, 0.25, 0.5, 0.9, INF, -INF, np.nan]),  # ties, inf, NaN
    ),
    margin=st.sampled_from([0.0, 0.05, 0.1, 0.3]),
)
def test_clear_pairs_from_the_finite_entries_equal_the_dense_search(cost, margin):
    """The sparse search (`_clear_pairs_sparse`, big matrices) finds exactly the dense search's pairs, in its order."""
    from tracker import assignment

    with np.errstate(invalid="ignore"):  # -inf - -inf: a tie at -inf is never clear, on either path
        dense = clear_pairs(cost, 0.8, margin)  # small: the dense search
        np.testing.assert_array_equal(assignment._clear_pairs_sparse(cost, 0.8, margin), dense)


def test_a_big_gated_cost_takes_the_sparse_clear_pair_search_with_the_same_matches(monkeypatch):
    """500 tracks x 500 detections, three gated pairs a row: the sparse search is taken, and the matches equal those
    of the dense search forced on the same matrix."""
    from tracker import assignment

    rng = np.random.default_rng(0)
    cost = np.full((500, 500), INF)
    cost[rng.integers(0, 500, 1500), rng.integers(0, 500, 1500)] = rng.random(1500).round(2)  # ties too
    calls, sparse = [], assignment._clear_pairs_sparse
    monkeypatch.setattr(assignment, "_clear_pairs_sparse", lambda *args: calls.append(1) or sparse(*args))
    fast = linear_assignment(cost, 0.8, 0.1)
    monkeypatch.setattr(assignment, "_SPARSE_MIN_ENTRIES", cost.size + 1)
    slow = linear_assignment(cost, 0.8, 0.1)
    assert calls == [1] and len(fast.pairs) > 250
    np.testing.assert_array_equal(fast.pairs, slow.pairs)
    np.testing.assert_array_equal(fast.unmatched_rows, slow.unmatched_rows)
    np.testing.assert_array_equal(fast.unmatched_cols, slow.unmatched_cols)


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 60), st.sampled_from([np.int64, np.int32, np.intp]))
def test_index_pairs_equal_stacked_columns(size, dtype):
    rng = np.random.default_rng(size)
    rows, cols = rng.integers(0, 100, size).astype(dtype), rng.integers(0, 100, size).astype(dtype)
    pairs = index_pairs(rows, cols)
    assert pairs.dtype == np.int64 and pairs.shape == (size, 2)
    np.testing.assert_array_equal(pairs, np.stack([rows, cols], axis=1).astype(np.int64))


def test_assign_around_fixed_pairs_is_linear_assignment_with_those_pairs_first():
    """`linear_assignment` with a clear margin is `assign_around` its clear pairs; other fixed pairs are kept as
    given (even where the whole assignment would choose otherwise) and the rest assigned among what is left."""
    from tracker.assignment import assign_around

    rng = np.random.default_rng(4)
    cost = rng.uniform(0, 1, (6, 7))
    fixed = clear_pairs(cost, 0.9, 0.05)
    assert np.array_equal(assign_around(cost, 0.9, fixed).pairs, linear_assignment(cost, 0.9, 0.05).pairs)
    forced = np.array([[0, int(np.argmax(cost[0]))]])
    pairs = assign_around(cost, 1.0, forced).pairs
    assert [0, forced[0, 1]] in pairs.tolist()
    assert len(set(pairs[:, 0])) == len(pairs) and len(set(pairs[:, 1])) == len(pairs)


def _lapjv_matches(cost: np.ndarray, max_cost: float) -> set[tuple[int, int]]:
    """The pairs `lap.lapjv` itself gives with the cost limit `linear_assignment` uses (blocked pairs above it)."""
    import lap

    blocked = ~np.isfinite(cost) | (cost > max_cost)
    _, row_to_col, _ = lap.lapjv(
        np.where(blocked, max_cost + 1.0, cost), extend_cost=True, cost_limit=max_cost + _COST_LIMIT_SLACK
    )
    return {(r, int(c)) for r, c in enumerate(row_to_col.tolist()) if c >= 0 and not blocked[r, c]}


@settings(max_examples=300, deadline=None)
@given(
    size=st.tuples(st.integers(1, 9), st.integers(1, 9)),
    seed=st.integers(0, 2**32 - 1),
    allowed=st.integers(0, 9),
    at_ceiling=st.booleans(),
)
def test_a_matrix_with_at_most_one_allowed_pair_a_row_and_column_matches_them_as_the_solver(
    size, seed, allowed, at_ceiling
):
    """Real boxes' later stages mostly hand over matrices with nothing under the ceiling, or one pair per row and
    column at most (answered without the solver): the matches are the solver's, pairs costing exactly the ceiling
    included, and every other row and column is unmatched."""
    rng = np.random.default_rng(seed)
    cost = rng.choice([INF, np.nan, 0.95, 2.0], size)  # nothing allowed yet
    rows, cols = rng.permutation(size[0]), rng.permutation(size[1])
    k = min(allowed, *size)
    cost[rows[:k], cols[:k]] = 0.8 if at_ceiling else rng.uniform(0.0, 0.8, k)
    result = linear_assignment(cost, 0.8)
    assert pairs_of(result) == {(int(r), int(c)) for r, c in zip(rows[:k], cols[:k], strict=True)}
    assert pairs_of(result) == _lapjv_matches(cost, 0.8)
    assert result.pairs[:, 0].tolist() == sorted(result.pairs[:, 0].tolist())  # rows ascending, as the solver's
    np.testing.assert_array_equal(result.unmatched_rows, np.setdiff1d(np.arange(size[0]), rows[:k]))
    np.testing.assert_array_equal(result.unmatched_cols, np.setdiff1d(np.arange(size[1]), cols[:k]))


@settings(max_examples=200, deadline=None)
@given(
    size=st.tuples(st.integers(1, 8), st.integers(1, 8)),
    seed=st.integers(0, 2**32 - 1),
    by_columns=st.booleans(),
)
def test_a_crowds_frame_with_every_track_clear_matches_the_clear_pairs_and_leaves_the_rest(size, seed, by_columns):
    """A crowd's usual stage 1: every row (or every column) has a clear pair, so nothing is left to assign. The
    matches are those pairs (as the full search with them first finds them), the other columns (rows) unmatched in
    ascending order, and the pairs are the result's own array (changing them leaves the caller's fixed pairs)."""
    from tracker.assignment import assign_around

    rng = np.random.default_rng(seed)
    rows, cols = size if not by_columns else size[::-1]
    cols = max(cols, rows)  # every row can have a column of its own
    cost = np.where(rng.random((rows, cols)) < 0.3, rng.uniform(0.6, 1.2, (rows, cols)), INF)
    cost[np.arange(rows), rng.permutation(cols)[:rows]] = rng.uniform(0.0, 0.2, rows)  # each row's clear best
    if by_columns:
        cost = cost.T.copy()
    fixed = clear_pairs(cost, 0.8, 0.3)
    assert len(fixed) == min(cost.shape)
    result = assign_around(cost, 0.8, fixed)
    np.testing.assert_array_equal(result.pairs, linear_assignment(cost, 0.8, clear_margin=0.3).pairs)
    assert pairs_of(result) == {tuple(p) for p in fixed.tolist()} == _lapjv_matches(cost, 0.8)
    assert result.pairs.dtype == np.int64 and result.unmatched_rows.dtype == result.unmatched_cols.dtype == np.int64
    np.testing.assert_array_equal(result.unmatched_rows, np.setdiff1d(np.arange(cost.shape[0]), fixed[:, 0]))
    np.testing.assert_array_equal(result.unmatched_cols, np.setdiff1d(np.arange(cost.shape[1]), fixed[:, 1]))
    result.pairs[:] = -1
    assert (fixed >= 0).all()
