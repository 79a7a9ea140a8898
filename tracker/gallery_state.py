"""What the parts of `tracker.gallery.Gallery` share, declared once for type checkers: the state `Gallery.__init__`
sets and the methods one part calls on another. Each part (`GalleryFiles`, `GallerySearch`, `GalleryLive`,
`GalleryRetention`, `GalleryIndexUpkeep`) derives from `GalleryState`, so mypy reads `self._identities` in
`gallery_search.py` as the dict it is, not as an attribute the class lacks. Nothing here runs: annotations set no
attribute, and the methods are declared only while type checking (the `Gallery`'s own ones are called)."""

from __future__ import annotations

import threading
import weakref
from typing import TYPE_CHECKING, Any

from tracker.config import GalleryConfig
from tracker.gallery_file import FileVersion
from tracker.gallery_index import ExactIndex, InvertedFileIndex
from tracker.gallery_records import Identity, LiveLooks, ModelIdentity, Sighting
from tracker.gallery_sources import LinkedSource

if TYPE_CHECKING:
    import numpy as np

__all__ = ["GalleryState"]


class GalleryState:
    """The attributes every part of a `Gallery` reads (set by `Gallery.__init__`, documented there)."""

    config: GalleryConfig
    model: ModelIdentity | None
    _identities: dict[int, Identity]
    _next_id: int
    _class_names: dict[int, str]
    _linked: dict[str, LinkedSource]
    _index: ExactIndex | InvertedFileIndex | None
    _ivf_trained_at: int
    _dirty: bool
    _saving: int
    _file: tuple[str, FileVersion] | None
    _guard: threading.RLock
    _sources: weakref.WeakSet[Any]
    _live: weakref.WeakKeyDictionary[Any, dict[int, LiveLooks]]
    _dims: weakref.WeakKeyDictionary[Any, int]
    _pickled_streams: int

    if TYPE_CHECKING:  # (defined by `Gallery` and its parts; declared here so that each part may call them)

        def __init__(self, config: GalleryConfig | None = None, model: ModelIdentity | None = None) -> None: ...

        def bind_model(self, model: ModelIdentity) -> None: ...

        @property
        def identities(self) -> list[Identity]: ...

        @property
        def dim(self) -> int | None: ...

        @property
        def num_vectors(self) -> int: ...

        def new_id(self) -> int: ...

        def add(
            self,
            global_id: int,
            embeddings: np.ndarray,
            class_id: int,
            sighting: Sighting,
            first_seen: Sighting | None = None,
        ) -> Identity: ...

        def prune(self, now: float | None = None) -> list[int]: ...

        def _checked_looks(self, embeddings: np.ndarray) -> np.ndarray: ...

        def _check_dim(self, dim: int) -> None: ...

        def _stored_dim(self) -> int | None: ...

        def _ensure_index(self) -> ExactIndex | InvertedFileIndex: ...

        def _index_remove(self, identities: list[Identity]) -> None: ...

        def _live_of_others(self, source: object | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]: ...
