"""The looks an identity keeps: prototype selection from a bank, and the checks and normalisation of looks.

A gallery identity stores a few prototypes (`select_prototypes`) rather than its whole bank; a track whose bank
mixes two people offers only the looks of the one it ended on (`consistent_looks`). Used by the gallery
(`tracker.gallery`: `add`, `publish`, `link`) and its trackers' tier (`tracker.gallery_link`).

Shape letters: N looks of one bank, D embedding size.
"""

from __future__ import annotations

from typing import cast

import numpy as np

__all__ = ["check_looks", "consistent_looks", "looks_query", "normalised", "select_prototypes"]

KMEANS_ITERATIONS = 20  # faiss.Kmeans iterations for `prototype_method: kmeans`
KMEANS_SEED = 1  # faiss.Kmeans' fixed seed: the same bank gives the same prototypes, run after run


def select_prototypes(embeddings: np.ndarray, count: int, method: str = "farthest_point") -> np.ndarray:
    """A few embeddings that cover a bank: (N, D) -> (min(count, N), D), L2-normalised float32.

    farthest_point: start from the embedding nearest the mean, then repeatedly add the one least similar to
    those chosen (Gonzalez' 2-approximation of k-centre), so different poses and lightings are kept.
    kmeans: faiss k-means centroids (spherical), for smoother prototypes.

    Raises:
        ValueError: another `method`.
    """
    emb = normalised(np.asarray(embeddings, dtype=np.float32))
    n = len(emb)
    if n <= count:
        return emb
    if method == "kmeans":
        import faiss

        km = faiss.Kmeans(emb.shape[1], count, niter=KMEANS_ITERATIONS, spherical=True, seed=KMEANS_SEED, verbose=False)
        km.train(emb)
        return normalised(cast(np.ndarray, km.centroids).astype(np.float32))  # (set by `train`; None before)
    if method != "farthest_point":
        raise ValueError(f"prototype method must be farthest_point or kmeans, got {method!r}")
    mean = emb.mean(axis=0)
    chosen = [int(np.argmax(emb @ mean))]
    nearest = emb @ emb[chosen[0]]  # (N,) similarity to the closest chosen one
    for _ in range(count - 1):
        pick = int(np.argmin(nearest))
        chosen.append(pick)
        nearest = np.maximum(nearest, emb @ emb[pick])
    return emb[chosen]


def consistent_looks(embeddings: np.ndarray, min_similarity: float, min_count: int) -> np.ndarray | None:
    """The looks of a bank that belong to the person its track ended on, or None when too few do.

    A track can switch people (a crossing the tracker got wrong); its bank then mixes two identities, and the
    gallery would carry the mix into the next video. The reference is the mean of the last `min_count` looks;
    looks less similar to it than `min_similarity` (the gallery's bound) are dropped.

    Args:
        embeddings: (N, D) bank entries, oldest first.
    Returns:
        (M, D) the kept looks (M >= min_count), or None.
    """
    emb = normalised(np.asarray(embeddings, dtype=np.float32))
    if len(emb) < min_count:
        return None
    reference = normalised(emb[-min_count:].mean(axis=0, keepdims=True))[0]
    kept = emb[emb @ reference >= min_similarity]
    return kept if len(kept) >= min_count else None


def check_looks(rows: np.ndarray, name: str) -> None:
    """Raise ValueError naming `name` when a row of (N, D) `rows` is no look: a NaN or infinite value, or all zero."""
    bad = np.flatnonzero(~np.isfinite(rows).all(axis=1) | ~rows.any(axis=1))
    if len(bad):
        raise ValueError(
            f"{name}: {len(bad)} of {len(rows)} rows are NaN, infinite or zero (the first: row {bad[0]}): "
            "not a look (an embedding the ReID model could not make)"
        )


def normalised(x: np.ndarray) -> np.ndarray:
    """`x` (..., D) scaled to unit L2 norm along its last axis, as contiguous float32 (an all-zero row stays zero)."""
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return np.ascontiguousarray(x / np.maximum(norms, np.finfo(np.float32).tiny), dtype=np.float32)


def looks_query(looks: np.ndarray) -> np.ndarray:
    """(1, D) the query a set of (P, D) looks of one person is searched by (`Gallery.match_looks`): the mean of its
    normalised rows (`Gallery.match` normalises it in turn)."""
    return normalised(np.asarray(looks, dtype=np.float32)).mean(axis=0, keepdims=True)
