"""The identity gallery's records and errors: who an identity is, where it was seen, what made its looks.

Plain data, shared by the gallery (`tracker.gallery`), its file format (`tracker.gallery_format`) and the trackers
that search it (`tracker.gallery_link`). `Identity`, `Sighting` and `ModelIdentity` are pickled inside checkpoints
(a `Gallery` in a resumable run); `tracker.gallery` still exports them, so checkpoints pickled when they lived
there load.

Shape letters: D embedding size, P prototypes of one identity (<= `gallery.prototypes`).
"""

from __future__ import annotations

import numbers
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "GalleryBadPrototypeError",
    "GalleryConflictError",
    "GalleryError",
    "GalleryModelError",
    "Identity",
    "LiveLooks",
    "ModelIdentity",
    "SaveAbandoned",
    "Sighting",
    "describe_model",
    "is_whole",
]


def is_whole(value: object) -> bool:
    """Whether `value` is a whole number, Python's or numpy's (not a bool, a float or text): what a gallery file
    stores as an ID, a class, a frame or a D."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


class GalleryError(ValueError):
    """A gallery file cannot be used: unreadable, truncated, corrupt, or of an unknown format version."""


class GalleryBadPrototypeError(GalleryError):
    """A gallery file with prototype rows that are no look (NaN, inf or all zeros): the message names the first;
    `identities` lists every global ID with such a row, ascending (`Gallery.load(..., leave_out=identities)` reads
    the others: `track gallery rm` removes them, `track gallery ls` marks them)."""

    def __init__(self, message: str, identities: tuple[int, ...]) -> None:
        super().__init__(message)
        self.identities = identities


class GalleryModelError(GalleryError):
    """A gallery made with another ReID model (embeddings of different spaces cannot be compared)."""


class GalleryConflictError(GalleryError):
    """`Gallery.save` found the file written by someone else since this gallery read (or last wrote) it: writing
    would drop their identities, and both may have given the same new global ID to different people."""


class SaveAbandoned(Exception):
    """A save stopped on request (`PendingSave.abandon`: a second Ctrl-C while `track` waits for it) before it
    replaced the file: the file is the one it replaced, no temp file is left, and the gallery counts as changed."""


@dataclass(frozen=True)
class ModelIdentity:
    """What made the embeddings: the ReID model's name, its weights' content hash and D (None: not known yet).

    Checked when made, as a gallery file must hold it (JSON text and a whole number; a numpy D is taken as Python's):
    TypeError for a name or digest that is not text or a D that is not a whole number, ValueError for a D below 1.
    """

    name: str
    weights_digest: str
    dim: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not isinstance(self.weights_digest, str):
            given = f"{self.name!r}, {self.weights_digest!r}"
            raise TypeError(f"the model's name and weights digest must be text, got {given}")
        if self.dim is None:
            return
        if not is_whole(self.dim):
            raise TypeError(f"the model's dim must be a whole number, got {self.dim!r}")
        if self.dim < 1:
            raise ValueError(f"the model's dim must be at least 1, got {self.dim!r}")
        object.__setattr__(self, "dim", int(self.dim))  # (frozen)

    def conflicts_with(self, other: ModelIdentity) -> bool:
        """True when `other` is another model (name or weights digest differ) or gives embeddings of another D
        (a D not known yet on either side conflicts with nothing): their embeddings cannot be compared."""
        same_weights = (self.name, self.weights_digest) == (other.name, other.weights_digest)
        dims_differ = self.dim is not None and other.dim is not None and self.dim != other.dim
        return not same_weights or dims_differ


def describe_model(model: ModelIdentity) -> str:
    """`name (weights <digest>, D = <dim>)`; D is left out while unknown (before the first embedding)."""
    dim = "" if model.dim is None else f", D = {model.dim}"
    return f"{model.name} (weights {model.weights_digest}{dim})"


@dataclass(frozen=True)
class Sighting:
    """Where and when an identity was seen: frame (1-based, of its source), wall time (Unix s), source name."""

    frame: int
    time: float
    source: str


@dataclass
class Identity:
    """One person (or object) the gallery remembers.

    Attributes:
        global_id: the ID it keeps across tracks, videos and cameras.
        class_id: detector class.
        first_seen, last_seen: the first and the latest sighting.
        sightings: how many tracks (in any source) were this identity.
        prototypes: (P, D) float32 L2-normalised embeddings, P <= `gallery.prototypes`.
    """

    global_id: int
    class_id: int
    first_seen: Sighting
    last_seen: Sighting
    sightings: int
    prototypes: np.ndarray = field(repr=False)

    def describe(self) -> dict[str, Any]:
        """JSON-ready metadata (no embeddings)."""
        return {
            "global_id": self.global_id,
            "class_id": self.class_id,
            "first_seen": asdict(self.first_seen),
            "last_seen": asdict(self.last_seen),
            "sightings": self.sightings,
            "prototypes": len(self.prototypes),
        }


@dataclass(frozen=True)
class LiveLooks:
    """A track alive in one stream, offered to the other streams sharing the gallery (`Gallery.publish`): a person
    in view of two cameras at once gets one global ID. Held in memory only, never saved.

    Attributes:
        prototypes: (P, D) float32 L2-normalised, P <= `gallery.prototypes`.
        class_id: detector class.
    """

    prototypes: np.ndarray = field(repr=False)
    class_id: int
