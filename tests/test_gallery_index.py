"""The gallery's search tiers: the exact tier is exact through adds and removals; the IVF tier returns exact
similarities of its candidates, finds what exact search finds, and forgets removed rows."""

from __future__ import annotations

import numpy as np

from tracker.gallery_index import ExactIndex, InvertedFileIndex

DIM = 32


def unit_rows(count: int, seed: int) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(count, DIM))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def brute_force(vectors: dict[int, np.ndarray], queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    ids = np.array(sorted(vectors))
    sims = queries @ np.stack([vectors[i] for i in ids]).T
    order = np.argsort(-sims, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(sims, order, axis=1), ids[order]


def test_exact_tier_equals_brute_force_after_adds_removals_and_re_adds():
    rows = unit_rows(300, seed=0)
    index, kept = ExactIndex(DIM), {}
    for lo in range(0, 300, 37):  # several appends: the matrix grows past its first capacity
        ids = np.arange(lo, min(300, lo + 37)) * 10
        index.add_with_ids(rows[lo : lo + 37], ids)
        kept.update(zip(ids.tolist(), rows[lo : lo + 37], strict=True))
    gone = np.array([0, 10, 2990, 1500, 777])  # first, last, middle rows and an absent ID
    assert index.remove_ids(gone) == 4
    for i in gone:
        kept.pop(int(i), None)
    index.add_with_ids(rows[:2], np.array([0, 10]))  # IDs come back with other vectors (an identity re-picked)
    kept.update({0: rows[0], 10: rows[1]})
    queries = unit_rows(7, seed=1)
    sims, ids = index.search(queries, 5)
    want_sims, want_ids = brute_force(kept, queries, 5)
    assert index.ntotal == len(kept) == 298
    np.testing.assert_array_equal(ids, want_ids)
    np.testing.assert_allclose(sims, want_sims, atol=1e-5)
    assert index.search(queries, 1000)[1].shape == (7, 298)  # k beyond M: every row, sorted


def test_ivf_tier_returns_exact_similarities_finds_the_nearest_and_forgets_removed_rows():
    rows = unit_rows(4000, seed=2)
    exact = ExactIndex(DIM)
    exact.add_with_ids(rows, np.arange(4000))
    index = InvertedFileIndex(exact, nprobe=16)
    queries = rows[:50] + 0.05 * unit_rows(50, seed=3)  # near a stored row each
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    sims, ids = index.search(queries, 4)
    np.testing.assert_allclose(sims, np.einsum("qkd,qd->qk", rows[ids], queries), atol=1e-5)  # re-ranked exactly
    assert (ids[:, 0] == np.arange(50)).mean() >= 0.95
    assert index.remove_ids(np.arange(10)) == 10
    assert index.ntotal == exact.ntotal == 3990
    assert not np.isin(index.search(queries, 4)[1], np.arange(10)).any()


def test_ivf_tier_finds_rows_re_added_after_a_removal_and_re_encodes_when_dead_rows_pile_up():
    rows = unit_rows(4000, seed=4)
    exact = ExactIndex(DIM)
    exact.add_with_ids(rows, np.arange(4000))
    index = InvertedFileIndex(exact, nprobe=16)
    fresh = unit_rows(20, seed=5)
    index.remove_ids(np.arange(20))
    index.add_with_ids(fresh, np.arange(20))  # the same IDs with new vectors (identities re-picked)
    sims, ids = index.search(fresh, 3)
    assert (ids[:, 0] == np.arange(20)).all() and np.allclose(sims[:, 0], 1.0, atol=1e-5)
    assert all(len(set(r)) == len(r) for r in ids.tolist())  # a replaced row's old and new codes count once
    index.remove_ids(np.arange(20, 1500))  # beyond the dead fraction: the codes are re-encoded from live rows
    assert index.index.ntotal == index.ntotal == 2520
    assert index.search(rows[1500:1510], 1)[1][:, 0].tolist() == list(range(1500, 1510))
