"""Nearest-prototype search for the identity gallery: an exact tier and an approximate (faiss) tier.

Both answer `search(queries, k) -> (similarities, row ids)` by inner product on L2-normalised vectors (= cosine),
best first, and both support adding and removing rows by ID.

- `ExactIndex` keeps every prototype in one contiguous (M, D) float32 matrix and scores a frame's queries with
  one BLAS matmul (numpy). faiss' flat index scans the matrix once per query below 20 queries (its BLAS
  threshold): for a frame's ~10 newcomers one matmul reads the matrix once and is ~3x faster (see
  tools/bench_gallery.py). Exact: it is the reference the approximate tier is measured against.
- `InvertedFileIndex` is faiss' IVF with 4-bit product-quantisation codes scanned with SIMD ("fast scan",
  André et al., "Accelerated nearest neighbor search with quick ADC", ICMR 2017; Jégou et al., "Product
  quantization for nearest neighbor search", TPAMI 2011), trained on a bounded subsample. Its candidates are
  re-ranked exactly against the float prototypes held by an `ExactIndex`, so the similarities the gallery
  compares with its bounds are exact; only which rows are candidates is approximate. faiss 1.15's fast-scan
  lists lose rows added after a `remove_ids` (measured: re-added rows are never found again), so removal
  leaves the codes in place and the re-ranking drops rows the `ExactIndex` no longer holds (a re-added row
  ID then has two codes, deduplicated); the codes are re-encoded from the live rows (same training) when the
  dead ones reach `IVF_MAX_DEAD_FRACTION` of the live.

Shape letters: Q queries, D embedding size, M stored rows, K results per query.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["IVF_MIN_ROWS", "ExactIndex", "InvertedFileIndex"]

GROWTH = 2  # the exact matrix grows by this factor when full (amortised O(1) appends)
MIN_CAPACITY = 64  # rows allocated at first
# inverted lists = this x sqrt(rows): 1012 at 100k identities x 4. faiss suggests 4-16 x; fewer, longer lists cost
# less to train and to assign queries to, which wins when scanning codes is cheap (fast scan): docs/gallery.md table.
IVF_LISTS_PER_SQRT = 1.6
IVF_TRAIN_PER_LIST = 40  # k-means training sample: this many rows per list (faiss warns below 39)
IVF_MIN_TRAIN = 20000  # ... and at least this many (bounded by the rows there are): the PQ codebooks need them
PQ_BITS = 4  # fast-scan product quantisation works on 4-bit codes
PQ_DIMS_PER_CODE = 8  # one 4-bit code per this many dimensions (D = 512: 64 codes, 32 bytes a row)
RERANK_PER_RESULT = 4  # candidates fetched from the codes per wanted result, re-ranked exactly
IVF_MIN_ROWS = 1024  # below this the codes cannot be trained well (16 codewords per sub-space x faiss' 39 + slack):
# the gallery stays exact whatever `gallery.ivf_min_identities` says
IVF_MAX_DEAD_FRACTION = 0.25  # re-encode the codes when removed/replaced rows reach this fraction of the live


class ExactIndex:
    """Exact inner-product search over a growable (M, D) float32 matrix, one matmul per batch of queries.

    Rows are addressed by int64 IDs; removal moves the last row into the hole (O(D) per row).
    """

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self._vectors = np.zeros((0, dim), dtype=np.float32)
        self._ids = np.zeros(0, dtype=np.int64)
        self._size = 0
        self._row_of: dict[int, int] = {}

    @property
    def ntotal(self) -> int:
        """Rows held (faiss' name)."""
        return self._size

    @property
    def nbytes(self) -> int:
        """Bytes allocated for vectors and IDs (capacity, not only the rows in use)."""
        return self._vectors.nbytes + self._ids.nbytes

    def add_with_ids(self, vectors: np.ndarray, ids: np.ndarray) -> None:
        """Append (N, D) vectors with their (N,) IDs.

        Raises:
            ValueError: an ID already in the index (nothing is added).
        """
        n = len(ids)
        if n == 0:
            return
        if any(int(i) in self._row_of for i in ids):
            raise ValueError("row ID already in the index")
        if self._size + n > len(self._vectors):
            capacity = max(MIN_CAPACITY, GROWTH * len(self._vectors), self._size + n)
            grown = np.zeros((capacity, self.dim), dtype=np.float32)
            grown[: self._size] = self._vectors[: self._size]
            grown_ids = np.zeros(capacity, dtype=np.int64)
            grown_ids[: self._size] = self._ids[: self._size]
            self._vectors, self._ids = grown, grown_ids
        self._vectors[self._size : self._size + n] = vectors
        self._ids[self._size : self._size + n] = ids
        for offset, i in enumerate(ids):
            self._row_of[int(i)] = self._size + offset
        self._size += n

    def remove_ids(self, ids: np.ndarray) -> int:
        """Remove the rows of (M,) int IDs (absent ones are ignored); returns how many were present."""
        removed = 0
        for i in ids:
            row = self._row_of.pop(int(i), None)
            if row is None:
                continue
            last = self._size - 1
            if row != last:
                self._vectors[row] = self._vectors[last]
                self._ids[row] = self._ids[last]
                self._row_of[int(self._ids[row])] = row
            self._size = last
            removed += 1
        return removed

    def contains(self, ids: np.ndarray) -> np.ndarray:
        """Which IDs the index holds: a bool array of the IDs' shape (any shape of int IDs, e.g. (Q, k))."""
        flat = np.asarray(ids).reshape(-1)
        return np.array([int(i) in self._row_of for i in flat], dtype=bool).reshape(np.shape(ids))

    def vectors(self, ids: np.ndarray) -> np.ndarray:
        """(..., D) the stored vectors of these IDs (any shape of IDs; -1 and unknown IDs give zeros)."""
        flat = np.asarray(ids).reshape(-1)
        rows = np.array([self._row_of.get(int(i), -1) for i in flat], dtype=np.int64)
        out = self._vectors[np.maximum(rows, 0)]
        out[rows < 0] = 0.0
        return out.reshape(*np.shape(ids), self.dim)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(Q, D) queries -> (Q, K) similarities and IDs, best first; K = min(k, M) (no padding needed)."""
        sims = queries @ self._vectors[: self._size].T  # (Q, M): one BLAS call for the whole batch
        k = min(k, self._size)
        if k < self._size:
            top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        else:
            top = np.broadcast_to(np.arange(self._size), (len(queries), self._size))
        top_sims = np.take_along_axis(sims, top, axis=1)
        order = np.argsort(-top_sims, axis=1, kind="stable")
        rows = np.take_along_axis(top, order, axis=1)
        return np.take_along_axis(top_sims, order, axis=1), self._ids[: self._size][rows]


class InvertedFileIndex:
    """faiss IVF with fast-scan PQ codes over the rows of an `ExactIndex`, re-ranked exactly against it.

    Args:
        exact: the float rows (trained on, searched, and used for re-ranking); keep adding/removing rows
            through this object so both stay in step.
        nprobe: inverted lists visited per query.
    Raises:
        ValueError: fewer than `IVF_MIN_ROWS` rows to train on.
    """

    def __init__(self, exact: ExactIndex, nprobe: int) -> None:
        import faiss  # imported when the gallery first needs it: `import tracker` stays fast

        self.exact = exact
        rows = exact.ntotal
        if rows < IVF_MIN_ROWS:
            raise ValueError(f"an inverted file needs at least {IVF_MIN_ROWS} rows to train on, got {rows}")
        dim = exact.dim
        lists = max(1, round(IVF_LISTS_PER_SQRT * math.sqrt(rows)))
        codes = dim // PQ_DIMS_PER_CODE if dim % PQ_DIMS_PER_CODE == 0 else dim  # faiss needs codes to divide D
        self.index: Any = faiss.index_factory(dim, f"IVF{lists},PQ{codes}x{PQ_BITS}fs", faiss.METRIC_INNER_PRODUCT)
        sample_size = min(rows, max(IVF_MIN_TRAIN, IVF_TRAIN_PER_LIST * lists))
        sample = np.sort(np.random.default_rng(0).permutation(rows)[:sample_size])
        vectors = exact._vectors[: exact.ntotal]
        self.index.train(np.ascontiguousarray(vectors[sample]))
        self.nprobe = nprobe
        self.trained_rows = rows
        self._dead = 0  # codes of rows removed or replaced since the last encoding
        self._encode_live_rows()

    def _encode_live_rows(self) -> None:
        self.index.reset()  # keeps the trained centroids and codebooks
        self.index.add_with_ids(self.exact._vectors[: self.exact.ntotal], self.exact._ids[: self.exact.ntotal])
        self._dead = 0

    @property
    def nprobe(self) -> int:
        """Inverted lists searched per query (faiss' `nprobe`): more finds more of the exact results, slower."""
        return int(self.index.nprobe)

    @nprobe.setter
    def nprobe(self, value: int) -> None:
        self.index.nprobe = int(value)

    @property
    def ntotal(self) -> int:
        """Live rows (the codes may also hold dead ones until re-encoded)."""
        return self.exact.ntotal

    @property
    def nbytes(self) -> int:
        """Approximate bytes of the codes (live and dead), IDs and centroids (the float rows: `exact.nbytes`)."""
        codes = self.index.ntotal * (self.index.code_size + 8)
        return int(codes + self.index.nlist * self.index.d * 4)

    def add_with_ids(self, vectors: np.ndarray, ids: np.ndarray) -> None:
        """Add (M, D) unit vectors with their (M,) int64 IDs, to the float rows and to the codes."""
        self.exact.add_with_ids(vectors, ids)
        self.index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids)

    def remove_ids(self, ids: np.ndarray) -> int:
        """Remove the rows of (M,) IDs; returns how many were there. Their codes stay, dead, until more than
        `IVF_MAX_DEAD_FRACTION` of the live rows are dead, then the live rows are encoded anew."""
        removed = self.exact.remove_ids(ids)
        self._dead += removed
        if self._dead > IVF_MAX_DEAD_FRACTION * max(1, self.exact.ntotal):
            self._encode_live_rows()
        return removed

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(Q, D) -> (Q, K) exact similarities and IDs of the best rows among the codes' candidates (-1 pads)."""
        _, cand = self.index.search(queries, RERANK_PER_RESULT * k)  # (Q, R) candidate IDs, -1 padded
        cand = np.where(self.exact.contains(cand), cand, -1)  # rows removed since they were encoded
        cand.sort(axis=1)
        cand[:, 1:][cand[:, 1:] == cand[:, :-1]] = -1  # a replaced row's old and new codes: keep one
        sims = np.einsum("qrd,qd->qr", self.exact.vectors(cand), queries)
        sims[cand < 0] = -np.inf
        order = np.argsort(-sims, axis=1, kind="stable")[:, :k]
        return np.take_along_axis(sims, order, axis=1), np.take_along_axis(cand, order, axis=1)
