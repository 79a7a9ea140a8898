"""A `Gallery`'s search index kept in step with its identities (`tracker.gallery`): each prototype is a row whose id
says whose it is (`ID_STRIDE`), added and removed as identities are stored and forgotten. The index is built on first
use: exact up to `gallery.ivf_min_identities`, beyond that an inverted file, trained again as the gallery grows
(`tracker.gallery_index`)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from tracker.gallery_index import IVF_MIN_ROWS, ExactIndex, InvertedFileIndex
from tracker.gallery_records import Identity
from tracker.gallery_state import GalleryState

__all__ = ["GalleryIndexUpkeep"]

ID_STRIDE = 1 << 12  # faiss row id = global_id * ID_STRIDE + prototype index (so K_g < ID_STRIDE)
MAX_GLOBAL_ID = np.iinfo(np.int64).max // ID_STRIDE - 1  # the largest whose row ids fit int64
IVF_REBUILD_GROWTH = 4  # retrain the inverted file when the gallery has grown this many times since training


class GalleryIndexUpkeep(GalleryState):
    """The index upkeep of `tracker.gallery.Gallery` (one of its parts: the state it uses is `Gallery.__init__`'s)."""

    def _ensure_index(self) -> ExactIndex | InvertedFileIndex:
        vectors = self.num_vectors
        use_ivf = len(self._identities) >= self.config.ivf_min_identities and vectors >= IVF_MIN_ROWS
        stale_ivf = use_ivf and (not self._ivf_trained_at or vectors >= IVF_REBUILD_GROWTH * self._ivf_trained_at)
        if self._index is None or stale_ivf or (not use_ivf and self._ivf_trained_at):
            return self._build_index(use_ivf)
        return self._index

    def _build_index(self, use_ivf: bool) -> ExactIndex | InvertedFileIndex:
        dim = self.dim
        assert dim is not None
        ids, vectors = self._all_vectors(self._identities.values())
        exact = ExactIndex(dim)
        exact.add_with_ids(vectors, ids)
        if use_ivf:
            self._index = InvertedFileIndex(exact, self.config.ivf_nprobe)
            self._ivf_trained_at = len(vectors)
        else:
            self._index = exact
            self._ivf_trained_at = 0
        return self._index

    def _index_add(self, identities: list[Identity]) -> None:
        if self._index is not None:
            ids, vectors = self._all_vectors(identities)
            self._index.add_with_ids(vectors, ids)

    def _index_remove(self, identities: list[Identity]) -> None:
        if self._index is not None:
            self._index.remove_ids(self._all_vectors(identities)[0])

    @staticmethod
    def _all_vectors(identities: Iterable[Identity]) -> tuple[np.ndarray, np.ndarray]:
        ids, vectors = [], []
        for ident in identities:
            ids.append(ident.global_id * ID_STRIDE + np.arange(len(ident.prototypes), dtype=np.int64))
            vectors.append(ident.prototypes)
        if not vectors:
            return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32)
        return np.concatenate(ids), np.ascontiguousarray(np.concatenate(vectors), dtype=np.float32)
