"""Row-aligned detections and the tracker's output records.

Shape letters: N detections, T tracks, K bank entries per track, D embedding size.
"""

from __future__ import annotations

import datetime
import enum
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any, Protocol, TypeVar

import numpy as np
import numpy.typing as npt
import torch

from tracker.fast_numpy import all_set, filled, largest, smallest

__all__ = [
    "CountedFaults",
    "Detections",
    "Detector",
    "Embedder",
    "EmbeddingFaults",
    "InvalidDetections",
    "OutsideDetections",
    "TrackState",
    "TrackedObject",
    "as_boxes",
    "as_float64",
    "inside_rows",
    "kept_rows",
    "prechecked",
    "to_embedding_tensor",
    "valid_rows",
]

log = logging.getLogger(__name__)

MIN_BOX_SIZE = 1e-2  # pixels; smaller (or zero/negative) widths and heights are invalid boxes
# |coordinate| beyond this is no pixel: the tracker squares distances and areas (1e300 overflowed float64: numpy
# RuntimeWarnings in the Kalman gate and IoU) and the variances of box sides (fourth powers: tracks near 1e100 made
# any camera motion "beyond floating-point range", `camera_motion.warp_states`), sums of a few of them
MAX_COORDINATE = float(np.finfo(np.float64).max) ** 0.25 / 16  # ~7e75
_FLOAT32_MAX = float(np.finfo(np.float32).max)  # a look's values beyond it are rescaled before the float32 cast
_INT64_SPAN = -float(np.iinfo(np.int64).min)  # 2**63: float class ids in [-2**63, 2**63) cast to int64 as they are
# pixels; boxes of fractions of the frame (every coordinate within [0, 1]) a detector let spill this far past the
# frame's top-left edge are still told to be fractions; boxes wholly above and left of it (all below 1 px) are not
FRACTION_SPILL = 1.0
SCORE_RANGE = (0.0, 1.0)  # detection confidences as the score thresholds (association.high_score, ...) expect them


# what a detector or an embedder may return for an array: numpy (any dtype), a torch tensor (any device), a list
ArrayResult = npt.ArrayLike | torch.Tensor
# a detector's result: (boxes_xyxy (N, 4), scores (N,), class_ids (N,) or None), as `Detector.__call__` says
DetectorOutput = tuple[ArrayResult, ArrayResult, ArrayResult | None]
# the name of a library model's entry for inputs its public call checks, already checked upstream (`prechecked`)
PRECHECKED_ENTRY = "_call_prechecked"
_Model = TypeVar("_Model")


class Detector(Protocol):
    """What `Tracker(detector=...)` calls once per frame (`update`, `stream`): `tracker.detector.UltralyticsDetector`
    is one, and so is a plain function `def detect(frame): ... return boxes, scores, class_ids`.

    A detector may also have `is_pytorch` (bool; False, or none: `stream` detects the next frame ahead in a thread);
    nothing else is called on it (`close()` only drops the tracker's reference). A protocol, for type checkers:
    nothing needs to inherit from it, and `Detector()` raises TypeError (protocols are not instantiated).
    """

    def __call__(self, frame: np.ndarray, /) -> DetectorOutput:
        """(H, W, 3) uint8 BGR frame (as OpenCV reads it) -> (boxes_xyxy, scores, class_ids): (N, 4) pixel corners
        (x1, y1, x2, y2), (N,) confidences in [0, 1], (N,) integer classes or None (all 0); numpy, torch or lists,
        checked as `Detections.from_arrays` checks them (ValueError naming the part)."""
        ...


class Embedder(Protocol):
    """What `Tracker(embedder=...)` calls when some detections' appearance matters (`update`, `stream`):
    `tracker.embedder.OSNetEmbedder` and `DetectorFeatureEmbedder` are ones, and so is a plain function of the two
    arguments below. A protocol, as `Detector`: `Embedder()` raises TypeError."""

    def __call__(self, frame: torch.Tensor, boxes_xyxy: np.ndarray, /) -> ArrayResult:
        """(H, W, 3) uint8 BGR frame tensor on the tracker's device, (R, 4) float64 pixel corners of the R boxes to
        embed -> (R, D) embeddings, one row per box (numpy or torch, any float dtype and device; the tracker
        normalises them), D the same on every call (ValueError otherwise, naming what the embedder returned)."""
        ...


class TrackState(enum.Enum):
    """Lifecycle of a track: TENTATIVE -> TRACKED <-> LOST -> REMOVED (a tentative track that misses a frame is
    removed). Outputs (`TrackedObject.state`) are TRACKED, or LOST for a `motion.report_gap_frame` report."""

    TENTATIVE = "tentative"
    TRACKED = "tracked"
    LOST = "lost"
    REMOVED = "removed"


@dataclass(frozen=True, slots=True, init=False)
class TrackedObject:
    """One confirmed track matched to a detection in the current frame.

    Attributes:
        track_id: identity shown to users, consecutive from 1 per tracker.
        xyxy: (4,) float64 the track's box this frame, pixel corners (x1, y1, x2, y2): Kalman-corrected
            (`motion.output_filtered_box`) or the matched detection's own box; clipped to the frame when its size is
            known (`update`, `update_detections(frame_size=)`).
        score: that detection's score (float, as the detector gave it; for a gap report, the last matched one's).
        class_id: the track's class: the score-weighted vote of its detections over `classes.vote_seconds`
            (tracker/classes.py), which may differ from this detection's own class (a flickering label).
        state: TRACKED for returned objects, but LOST for a track reported through a one-frame detection gap at
            its Kalman prediction (`motion.report_gap_frame`, off by default).
        detection_index: row of the input detections this object came from; -1 for such a gap report.
        recovered: True on the frame a lost track is matched again (an ID kept through occlusion), or a new
            track takes a remembered identity from the gallery.
        global_id: the identity's ID in the gallery (same person, same ID across videos and cameras); None
            when the tracker has no gallery.
        recognised: True on the frame a new track takes a remembered identity from the gallery (it is then
            `recovered` too: a `recovered` object that is not `recognised` came back after occlusion).
    """

    track_id: int
    xyxy: np.ndarray
    score: float
    class_id: int
    state: TrackState
    detection_index: int
    recovered: bool = False
    global_id: int | None = None
    recognised: bool = False

    def __init__(
        self,
        track_id: int,
        xyxy: np.ndarray,
        score: float,
        class_id: int,
        state: TrackState,
        detection_index: int,
        recovered: bool = False,
        global_id: int | None = None,
        recognised: bool = False,
    ) -> None:
        # The dataclass's own frozen __init__ looks `object.__setattr__` up anew for every field: 40% of the cost
        # of the tracker's outputs at 50 tracks. Each field's slot is written by its own descriptor (`_SETTERS`, no
        # attribute lookup: 50 objects 27 -> 20 us). Same fields, same frozen instance.
        set_id, set_xyxy, set_score, set_class, set_state, set_index, set_recovered, set_global, set_recognised = (
            _SETTERS
        )
        set_id(self, track_id)
        set_xyxy(self, xyxy)
        set_score(self, score)
        set_class(self, class_id)
        set_state(self, state)
        set_index(self, detection_index)
        set_recovered(self, recovered)
        set_global(self, global_id)
        set_recognised(self, recognised)

    @classmethod
    def many(
        cls,
        count: int,
        track_ids: Iterable[int],
        boxes: Iterable[np.ndarray],
        scores: Iterable[float],
        class_ids: Iterable[int],
        states: Iterable[TrackState],
        detection_indices: Iterable[int],
        recovered: Iterable[bool],
        global_ids: Iterable[int | None],
        recognised: Iterable[bool] | None = None,
    ) -> list[TrackedObject]:
        """`count` objects at once, each field given as an iterable of `count` values (the boxes: e.g. the rows
        of a (count, 4) array): the same objects as `[TrackedObject(*f) for f in zip(...)]`. Each field's slot is
        written for all objects in one C-level loop (`map` over its setter), with no Python frame per object (50
        objects: ~30 -> ~24 us). `recognised` None: none is."""
        objects = list(map(_NEW, repeat(cls, count)))
        recognised = repeat(False, count) if recognised is None else recognised
        fields = (track_ids, boxes, scores, class_ids, states, detection_indices, recovered, global_ids, recognised)
        for setter, values in zip(_SETTERS, fields, strict=True):
            any(map(setter, objects, values))  # (each setter returns None: `any` runs the map to its end)
        return objects

    def __eq__(self, other: object) -> bool:
        """Field by field, the box by value (the generated `==` asked an array for one truth value and raised
        ValueError for two equal objects that do not share their box: a copy, a pickled one, another run's)."""
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._key() == other._key() and bool(np.array_equal(self.xyxy, other.xyxy))

    def __hash__(self) -> int:
        """Consistent with `==`: every field but the box (an array, which has no hash), so objects go in sets."""
        return hash(self._key())

    def _key(self) -> tuple:
        """Every field but the box, the part of `==` and the hash that hashes."""
        return (
            self.track_id,
            self.score,
            self.class_id,
            self.state,
            self.detection_index,
            self.recovered,
            self.global_id,
            self.recognised,
        )


# The slot descriptors' setters of TrackedObject's fields, in `__init__`'s order (they write a frozen instance).
_SETTERS = tuple(TrackedObject.__dict__[name].__set__ for name in TrackedObject.__dataclass_fields__)
_NEW = object.__new__  # an instance with no slot written yet (`TrackedObject.many` writes them all)


@dataclass(frozen=True, slots=True)
class Detections:
    """N detections of one frame, all arrays row-aligned.

    Attributes:
        boxes_xyxy: (N, 4) float64 pixels.
        scores: (N,) float64 confidences (expected in [0, 1], `SCORE_RANGE`).
        class_ids: (N,) int64.
        embeddings: (N, D) L2-normalised float32 tensor on the bank's device (zero rows where `has_embedding` is
            False), or None.
        has_embedding: (N,) bool, False where the embedding was missing, NaN or zero.
        index: (N,) int64, each row's position in the caller's input.
        host_embeddings: (N, D) float32 numpy array on the memory of a CPU `embeddings` (`from_arrays` of numpy
            looks: the array their normalisation wrote), or None: the banks read the looks through it
            (`AppearanceBank.stored`) instead of converting the tensor each frame. Set by `from_arrays` only (None
            for a `Detections(...)` or a `dataclasses.replace`, whose embeddings it might not be, and for a copy or an
            unpickled one, whose array would be memory of its own); not compared.
    """

    boxes_xyxy: np.ndarray
    scores: np.ndarray
    class_ids: np.ndarray
    embeddings: torch.Tensor | None
    has_embedding: np.ndarray
    index: np.ndarray
    # set by `from_arrays` alone (not an argument: `dataclasses.replace` of other embeddings leaves it None)
    host_embeddings: np.ndarray | None = field(default=None, init=False, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.scores)

    def __getstate__(self) -> tuple[Any, ...]:
        """The fields to pickle or copy, without `host_embeddings`: a copy of that array would be memory of its own,
        no longer the tensor's, and the banks would read it stale after an in-place write to `embeddings`."""
        return self.boxes_xyxy, self.scores, self.class_ids, self.embeddings, self.has_embedding, self.index

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        """Restore `__getstate__`'s fields (`host_embeddings` None: the banks convert the tensor); a state pickled
        with the dataclass's own list of every field (a checkpoint of an earlier version) gives its first six."""
        names = ("boxes_xyxy", "scores", "class_ids", "embeddings", "has_embedding", "index")
        for name, value in zip(names, state[: len(names)], strict=True):
            object.__setattr__(self, name, value)
        object.__setattr__(self, "host_embeddings", None)

    def select(self, rows: np.ndarray) -> Detections:
        """The subset at `rows`, still row-aligned: (M,) int indices into the N rows (in that order, repeats kept) or
        an (N,) bool mask. An index beyond N raises IndexError (numpy's)."""
        rows = np.flatnonzero(rows) if rows.dtype == bool else np.asarray(rows, dtype=np.int64)
        return Detections(
            boxes_xyxy=self.boxes_xyxy[rows],
            scores=self.scores[rows],
            class_ids=self.class_ids[rows],
            embeddings=None
            if self.embeddings is None
            else self.embeddings[torch.as_tensor(rows, device=self.embeddings.device)],
            has_embedding=self.has_embedding[rows],
            index=self.index[rows],
        )

    @classmethod
    def from_arrays(
        cls,
        boxes_xyxy: Any,
        scores: Any,
        class_ids: Any = None,
        embeddings: Any = None,
        device: torch.device | str = "cpu",
        faults: EmbeddingFaults | None = None,
        dropped: InvalidDetections | None = None,
    ) -> Detections:
        """Validate caller input: `boxes_xyxy` (N, 4) pixel corners, `scores` (N,), `class_ids` (N,) integers or
        None (all 0), `embeddings` (N, D) or None (numpy, lists or torch of any dtype and device), moved to `device`;
        `faults` and `dropped` count the rows of bad embeddings and the invalid rows (a tracker's counters).

        Mismatched lengths, wrong shapes or complex numbers raise ValueError naming the argument. Rows with a
        non-finite box or score, a corner beyond +-MAX_COORDINATE (no pixel: its squares overflow), or a width or
        height below MIN_BOX_SIZE pixels (zero, negative), are dropped with a logged warning (a long CCTV run should
        not die on one bad box; counted in `dropped`, a tracker's, which warns once, else warned each call); their
        indices are simply absent from `index`. Embedding rows that are NaN,
        infinite or zero get `has_embedding` False (matched by motion only): counted in `faults` (a tracker's,
        which warns once), else warned each call.

        Raises:
            ValueError: None for `boxes_xyxy` or `scores`; a shape or row count other than the above (D = 0 too);
                values that are not numbers, are complex or booleans (a mask), text (numpy dtype '<U' or 'S', a list
                of strings, text among the objects of a list or a pandas column) or a numpy array of dtype object
                (any of these in `embeddings` too); `class_ids` that are not whole numbers or lie beyond int64.
        """
        if boxes_xyxy is None or scores is None:  # (numpy reads None as one NaN row: "scores has 1 rows but ...")
            name, shape = ("boxes_xyxy", "(N, 4)") if boxes_xyxy is None else ("scores", "(N,)")
            raise ValueError(f"{name} must be an array {shape} (empty for no detections), got None")
        boxes = as_boxes(boxes_xyxy, ", with scores of shape (1,)")
        n = len(boxes)
        scores_arr = _per_row(as_float64(scores, "scores"), "scores", n)
        if class_ids is None:
            classes = np.zeros(n, dtype=np.int64)
        else:
            classes_f = _per_row(as_float64(class_ids, "class_ids"), "class_ids", n)
            if n and not (smallest(classes_f) >= -_INT64_SPAN and largest(classes_f) < _INT64_SPAN):  # NaN: False
                bad = classes_f[~((classes_f >= -_INT64_SPAN) & (classes_f < _INT64_SPAN))][0]
                raise ValueError(f"class_ids must be integers within int64 (detector class indices), got {bad:g}")
            fractional = classes_f != np.round(classes_f)
            if fractional.any():  # e.g. scores passed as class IDs: truncating them would track the wrong class
                raise ValueError(
                    f"class_ids must be integers, got {classes_f[fractional][0]:g} (scores and class_ids swapped?)"
                )
            classes = classes_f.astype(np.int64)
        emb, owned, source = (None, False, None) if embeddings is None else _embedding_tensor(embeddings, n, device)

        bounded = not n or (smallest(boxes) >= -MAX_COORDINATE and largest(boxes) <= MAX_COORDINATE)  # (NaN: False)
        if bounded:  # no difference can overflow: every size is finite (the common case: no `errstate` context)
            size = boxes[:, 2:] - boxes[:, :2]
        else:
            with np.errstate(over="ignore", invalid="ignore"):
                size = boxes[:, 2:] - boxes[:, :2]  # overflows to inf for absurd coordinates (NaN: not finite)
        index = np.arange(n, dtype=np.int64)
        if not (bounded and _all_valid(size, scores_arr)):
            valid = valid_rows(boxes, size) & np.isfinite(scores_arr)
            inverted = int((size < 0).any(axis=1).sum())  # NaN compares False: only finite, inverted corners
            hint = (
                f"; {inverted} with x2 < x1 or y2 < y1: boxes_xyxy are corners (x1, y1, x2, y2), not (x, y, w, h)"
                if inverted
                else ""
            )
            InvalidDetections.report(dropped, int((~valid).sum()), hint)
            keep = np.flatnonzero(valid)
            boxes, scores_arr, classes, index = boxes[keep], scores_arr[keep], classes[keep], index[keep]
            if emb is not None:
                emb, owned, source = emb[torch.as_tensor(keep, device=emb.device)], True, None

        if emb is None:
            return cls(boxes, scores_arr, classes, None, np.zeros(len(index), dtype=bool), index)
        emb, has_emb, host = _normalise(emb, in_place=owned, faults=faults, source=source)
        dets = cls(boxes, scores_arr, classes, emb, has_emb, index)
        if host is not None:
            _SET_HOST_EMBEDDINGS(dets, host)
        return dets

    def unusual(self, plausible: int | None = None, frame_size: tuple[int, int] | None = None) -> dict[str, str]:
        """What is legal here but can only be a caller's mistake, {kind: what was given}: scores outside
        SCORE_RANGE (logits or margins: every threshold would read them wrong), negative class ids (detector
        classes are indices >= 0; -1 is MOTChallenge's unused column), more than `plausible` detections (the
        config's `plausible_detections`; None: not checked), as a detector's candidates before non-maximum
        suppression are (a frame's matching costs N x T: 8400 boxes took 15-20 s and 3.4 GB), and, on a frame of
        `frame_size` (height, width) larger than a pixel (None: not checked), every box within [0, 1]: fractions
        of the frame given as pixels. Empty when all is as expected."""
        found = {}
        boxes = self.boxes_xyxy
        if (
            frame_size is not None
            and len(self)
            and max(frame_size) > 1
            and largest(boxes) <= 1
            and smallest(boxes) >= -FRACTION_SPILL
        ):
            height, width = frame_size
            found["normalised"] = (
                f"every box within [0, 1] on a frame of {height}x{width} px (height x width): boxes_xyxy are pixels: "
                "multiply fractions by (width, height, width, height)"
            )
        if plausible is not None and len(self) > plausible:
            found["count"] = (
                f"{len(self)} detections in one frame, more than plausible_detections={plausible}: are they the "
                "detector's candidates before non-maximum suppression? A frame's matching costs detections x tracks "
                "in time and memory (give the boxes after NMS, or raise plausible_detections for a real crowd)"
            )
        lo, hi = SCORE_RANGE
        if len(self) and (smallest(self.scores) < lo or largest(self.scores) > hi):
            found["scores"] = (
                f"detection scores from {self.scores.min():g} to {self.scores.max():g}, outside [{lo:g}, {hi:g}]: "
                "the score thresholds expect confidences (map logits or margins into [0, 1] first)"
            )
        if len(self) and smallest(self.class_ids) < 0:
            found["class_ids"] = (
                f"negative class id {int(self.class_ids.min())}: class ids are detector class indices >= 0 "
                "(pass class_ids=None for one class)"
            )
        return found

    def with_embeddings(self, rows: np.ndarray, embeddings: Any, faults: EmbeddingFaults | None = None) -> Detections:
        """A copy whose `rows` ((R,) int positions in this object) get `embeddings` (R, D); other rows keep theirs
        (or have none; all dropped if theirs are of another D). NaN, infinite or zero rows are counted in `faults` as
        `from_arrays` counts them. ValueError for embeddings that are not (R, D) real numbers
        (`to_embedding_tensor`)."""
        rows = np.asarray(rows, dtype=np.int64)
        emb = to_embedding_tensor(embeddings, len(rows), embeddings.device if torch.is_tensor(embeddings) else "cpu")
        full = torch.zeros((len(self), emb.shape[1]), dtype=emb.dtype, device=emb.device)
        has = np.zeros(len(self), dtype=bool)
        if self.embeddings is not None and self.embeddings.shape[1] == emb.shape[1]:
            full.copy_(self.embeddings.to(emb.device))
            has |= self.has_embedding
        emb, ok, _ = _normalise(emb, faults=faults)
        full[torch.as_tensor(rows, device=emb.device)] = emb
        has[rows] = ok
        return Detections(self.boxes_xyxy, self.scores, self.class_ids, full, has, self.index)


# `Detections.host_embeddings`' slot setter (a frozen field that is no `__init__` argument: `from_arrays` writes it)
_SET_HOST_EMBEDDINGS = Detections.__dict__["host_embeddings"].__set__


class CountedFaults:
    """Rows of one kind of bad input one tracker was given, counted: the first occurrence of a video is a logged
    warning (saying where the later ones are counted), later ones are logged at debug level (a ReID that returns NaN
    for tiny crops, or a detector with one bad box a frame, would otherwise warn on every frame of a video).
    `count`: rows so far; `reset()` (a new video) sets it to 0, so the next occurrence warns again. A subclass names
    the kind (`WHAT`: the message, `{}` where the row count goes) and where its count is read (`COUNTED`)."""

    WHAT = ""
    COUNTED = ""

    def __init__(self) -> None:
        self.count = 0

    def add(self, rows: int, detail: str = "") -> None:
        """Count `rows` (>= 0) more faulty rows; log them (a warning if they are the video's first), with `detail`
        (this occurrence's particulars) after the kind's message."""
        if rows <= 0:
            return
        first = self.count == 0
        self.count += rows
        if first:
            log.warning(
                "%s%s (later ones of this video are counted, not warned: %s)",
                self.WHAT.format(rows),
                detail,
                self.COUNTED,
            )
        else:
            log.debug("%s%s (%d so far)", self.WHAT.format(rows), detail, self.count)

    def reset(self) -> None:
        """Start counting anew (a new video)."""
        self.count = 0

    @classmethod
    def report(cls, counter: CountedFaults | None, rows: int, detail: str = "") -> None:
        """`counter.add(rows, detail)`, or without a counter (no tracker's: a standalone `Detections`) a warning."""
        if counter is not None:
            counter.add(rows, detail)
        elif rows > 0:
            log.warning("%s%s", cls.WHAT.format(rows), detail)


class EmbeddingFaults(CountedFaults):
    """Embedding rows that were NaN, infinite or zero (each such detection is matched by motion only)."""

    WHAT = "{} embedding(s) were NaN, infinite or zero: matched by motion only"
    COUNTED = "Tracker.invalid_embeddings, the run summary's invalid_embeddings"


class InvalidDetections(CountedFaults):
    """Detection rows dropped as invalid (`Detections.from_arrays`): a non-finite box or score, a corner beyond
    +-MAX_COORDINATE, or a width or height under MIN_BOX_SIZE."""

    WHAT = (
        f"dropped {{}} invalid detection(s) (non-finite or beyond +-{MAX_COORDINATE:.1e} px, or width/height under "
        f"{MIN_BOX_SIZE:g} px)"
    )
    COUNTED = "Tracker.invalid_detections"


class OutsideDetections(CountedFaults):
    """Detection rows dropped as wholly outside the frame: outside `update_detections`' `frame_size` (a (width,
    height) given for (height, width)?), or outside `update`'s frame (a `detector=` of yours that does not clip its
    boxes; ultralytics clips them). Counted in `Tracker.outside_detections`; the warning's detail names which."""

    WHAT = "dropped {} detection(s) wholly outside the frame"
    COUNTED = "Tracker.outside_detections"


def _all_valid(size: np.ndarray, scores: np.ndarray) -> bool:
    """True when every row of corners within +-MAX_COORDINATE is valid (the common case, two reductions): every width
    and height (N, 2) is at least MIN_BOX_SIZE and every score (N,) is finite."""
    return len(size) == 0 or bool(smallest(size) >= MIN_BOX_SIZE and all_set(np.isfinite(scores)))


# The CPU device as `torch.device("cpu")` compares equal to (its `type` attribute formats a string: ~1 us)
_CPU = torch.device("cpu")
_TINY = {torch.float32: torch.finfo(torch.float32).tiny}  # `torch.finfo(dtype).tiny` of the usual dtype
# The least norm whose squares' sum is a normal number (sqrt(tiny), ~1.1e-19 in float32): below it the squares of the
# rows' values fell into subnormals or to zero, and the norm is imprecise or zero though the row is a look
_LEAST_EXACT_NORM = {dtype: tiny**0.5 for dtype, tiny in _TINY.items()}


def _normalise(
    emb: torch.Tensor, in_place: bool = False, faults: EmbeddingFaults | None = None, source: np.ndarray | None = None
) -> tuple[torch.Tensor, np.ndarray, np.ndarray | None]:
    """L2-normalise rows; rows holding a NaN or inf, or nothing but zeros (or subnormals), become zero and are flagged
    False (counted in `faults`; without it, a warning each call). A finite row whose norm is beyond float32's range
    (`_within_range`: values of ~1e19 and up, ~1e-19 and down) is a look of another scale, normalised as any other.

    `in_place`: `emb` is the tracker's own copy (nobody else reads it): the common case divides it in place (the
    same values as a new tensor, without allocating and writing a second (N, D) array a frame). `source`: the numpy
    array `emb` was made from (`torch.from_numpy`), or None: the common case divides it with numpy (IEEE division,
    the same floats as torch's) into a new array (in place when `in_place`) and makes the tensor from that.
    Returns the normalised tensor, the (N,) bool `has_embedding`, and the numpy array on the tensor's memory where
    the common case made one on the CPU (`Detections.host_embeddings`), else None."""
    if source is not None:  # (N, 1) norms written straight into a host array: the same kernel, no `Tensor.numpy`
        host = np.empty((len(source), 1), dtype=np.float32)
        norms = torch.linalg.vector_norm(emb, dim=1, keepdim=True, out=torch.from_numpy(host))
    else:
        norms = torch.linalg.vector_norm(emb, dim=1, keepdim=True)  # (N, 1): the same reduction, no unsqueeze after
        host = (norms if norms.is_cpu else norms.cpu()).numpy()  # (`is_cpu`: no device object made)
    tiny = _TINY.get(emb.dtype) or torch.finfo(emb.dtype).tiny
    least = _LEAST_EXACT_NORM.get(emb.dtype) or tiny**0.5
    # the common case: no norm to clamp or zero (a NaN norm fails the first test, an infinite one the second)
    if len(host) and smallest(host) >= least and largest(host) < np.inf:
        if in_place and emb.is_cpu:  # numpy's division of the same memory: IEEE division, the same floats as torch's
            values = emb.numpy() if source is None else source
            np.divide(values, host, out=values)  # (one ufunc call; no torch kernel dispatched)
            return emb, filled(len(host), True, bool), values
        if source is not None:  # a new array, the tensor made from it (no torch division dispatched)
            out = np.divide(source, host)
            return torch.from_numpy(out), filled(len(host), True, bool), out
        return (emb.div_(norms) if in_place else emb / norms), filled(len(host), True, bool), None
    host = host[:, 0]
    norms = norms[:, 0]
    out_of_range = ~((host >= least) & (host < np.inf))  # (finite looks of any scale among them, rescaled below)
    if out_of_range.any():
        emb, norms, host = _within_range(emb, norms, out_of_range, tiny)
    has_emb = np.isfinite(host) & (host > 0)
    scaled = emb / norms.clamp_min(tiny)[:, None]
    emb = scaled if all_set(has_emb) else torch.where(torch.as_tensor(has_emb, device=emb.device)[:, None], scaled, 0.0)
    if not all_set(has_emb):
        bad = int((~has_emb).sum())
        EmbeddingFaults.report(faults, bad)
    return emb, has_emb, None


def _within_range(
    emb: torch.Tensor, norms: torch.Tensor, out_of_range: np.ndarray, tiny: float
) -> tuple[torch.Tensor, torch.Tensor, np.ndarray]:
    """`emb`, `norms` (N,) and their host copy with each row whose norm is out of range (`out_of_range`, (N,) bool:
    overflowed, inf in float32 for values of ~1.8e19 / sqrt(D) and up, or imprecise or zero, values of ~1e-19 and down),
    though all its values are finite and the largest is a normal number (at least `tiny`), divided by that largest
    magnitude first: its norm, now between 1 and sqrt(D), is exact, its direction the same. Other rows (NaN, inf,
    zero or subnormal values) as they were; a new tensor."""
    peak = emb.abs().amax(dim=1)  # (N,): inf for a row holding an infinite value, NaN for one holding a NaN
    redo = torch.as_tensor(out_of_range, device=emb.device) & torch.isfinite(peak) & (peak >= tiny)
    emb = torch.where(redo[:, None], emb / torch.where(redo, peak, 1.0)[:, None], emb)
    norms = torch.where(redo, torch.linalg.vector_norm(emb, dim=1), norms)
    return emb, norms, (norms if norms.is_cpu else norms.cpu()).numpy()


def _per_row(values: np.ndarray, name: str, n: int) -> np.ndarray:
    """`values` (one per detection: (N,), or (N, 1) / (1, N) / a scalar holding N of them) as (N,), or ValueError
    naming `name`: another count, or a 2-D array of several columns (an (N, D) array of embeddings given as the third
    positional argument, `class_ids`, was read as N x D class ids: "class_ids has 48 rows but boxes_xyxy has 3"; a
    frame there, or in `scores`' place, is told that the method takes none)."""
    flat = values.reshape(-1)
    if len(flat) == n and sum(side > 1 for side in values.shape) <= 1:
        return flat
    hint = " (embeddings? pass them as embeddings=...)" if name == "class_ids" and values.ndim == 2 else ""
    if values.ndim == 3:
        from tracker.frames import CHANNELS  # (the error's hint alone: types imports no frame module)

        if values.shape[2] in CHANNELS:  # (update_detections(boxes, scores, frame), BoxMOT's update(dets, img))
            hint = " (a frame? update_detections takes no frame: frame_size=frame.shape[:2] for the border rules)"
    raise ValueError(f"{name} must have shape (N,) with N = {n} (one per row of boxes_xyxy), got {values.shape}{hint}")


def as_float64(value: Any, name: str) -> np.ndarray:
    """A float64 numpy array of `value` (numpy, a list, a torch tensor of any dtype on any device), or ValueError
    (complex values too: float64 would silently drop their imaginary parts, as for embeddings; and booleans, a mask
    given in the wrong place: read as 0 and 1, `class_ids=keep` tracked bicycles, `scores=keep` dropped rows)."""
    if isinstance(value, torch.Tensor):  # converted by torch: numpy has no bfloat16 (`.numpy()` raised TypeError)
        if value.is_complex():
            raise ValueError(f"{name} must be real numbers, got a complex tensor ({value.dtype})")
        if value.dtype == torch.bool:
            raise ValueError(_booleans(name))
        dense = value if value.layout == torch.strided else value.to_dense()  # a sparse tensor: its values in place
        return dense.detach().to(device=_CPU, dtype=torch.float64).numpy()
    dtype = getattr(value, "dtype", None)  # numpy, or any object with an array interface
    if isinstance(dtype, np.dtype) and dtype.kind == "c":
        raise ValueError(f"{name} must be real numbers, got complex values")
    refused = _not_numbers(name, value)
    if refused:
        raise ValueError(refused)
    try:
        given = np.asarray(value)  # (a list's own type first: a list of bools reads as 0 and 1 in float64)
        # (from the list itself where it holds None: numpy reads the list's None as NaN, an object array's as an
        # error)
        values = np.asarray(value if given.dtype.kind == "O" else given, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a numeric array: {exc}") from None
    # (a list's booleans or text, a pandas column's text; a numpy array given as it is was checked above)
    refused = None if given is value else _not_numbers_made(name, given)
    if refused:
        raise ValueError(refused)
    return values


# a detector's rows given whole as boxes (ultralytics' `boxes.data` is (N, 6)): columns -> where the class goes
_DETECTION_ROW_CLASS = {5: "", 6: ", class_ids=rows[:, 5]"}


def as_boxes(boxes_xyxy: Any, one_box_also: str = "", scored: bool = True) -> np.ndarray:
    """(N, 4) float64 corners of `boxes_xyxy` (numpy, a list, a torch tensor of any dtype and device; anything empty:
    (0, 4)), or the ValueError of `as_float64` and, for another shape, one naming boxes_xyxy: a single box of shape
    (4,) gets the way to give it (`boxes_xyxy[None]`, then `one_box_also`: what else the caller needs for it), a
    detector's (N, 5) or (N, 6) rows which columns are the boxes (and, where the caller takes `scores` and
    `class_ids`: `scored`, which are those). The one check of `update_detections` and of the camera-motion
    estimate's masked boxes (not `scored`: it takes boxes alone)."""
    boxes = as_float64(boxes_xyxy, "boxes_xyxy")
    if boxes.size == 0:
        return boxes.reshape(0, 4)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        hint = f" (one box: boxes_xyxy[None]{one_box_also})" if boxes.shape == (4,) else ""
        if boxes.ndim == 2 and boxes.shape[1] in _DETECTION_ROW_CLASS:  # (a detector's rows given whole)
            classed = _DETECTION_ROW_CLASS[boxes.shape[1]]
            columns = "(x1, y1, x2, y2, score, class)" if classed else "(x1, y1, x2, y2, score)"
            rest = f", scores=rows[:, 4]{classed}" if scored else ""
            hint = f" (rows of {columns}? boxes_xyxy=rows[:, :4]{rest})"
        raise ValueError(f"boxes_xyxy must have shape (N, 4), got {boxes.shape}{hint}")
    return boxes


def valid_rows(boxes_xyxy: np.ndarray, sides: np.ndarray) -> np.ndarray:
    """(N,) bool: the rows of (N, 4) pixel corners with every corner within +-MAX_COORDINATE (NaN compares False, inf
    is beyond) and both (N, 2) `sides` (x2 - x1, y2 - y1) at least MIN_BOX_SIZE: what `Detections.from_arrays` keeps
    of the boxes."""
    return (np.abs(boxes_xyxy) <= MAX_COORDINATE).all(axis=1) & (sides >= MIN_BOX_SIZE).all(axis=1)


def inside_rows(boxes_xyxy: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(N,) bool: the rows of (N, 4) pixel corners with some part inside a frame of `size` (height, width) px."""
    height, width = size
    x1, y1, x2, y2 = boxes_xyxy.T
    return (x1 < width) & (x2 > 0) & (y1 < height) & (y2 > 0)


def kept_rows(boxes_xyxy: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(N,) bool: the rows of (N, 4) float64 pixel corners that `Tracker.update_detections` keeps on a frame of `size`
    (height, width) px: valid (`valid_rows`, as `Detections.from_arrays` tells them) and with some part inside the
    frame (`inside_rows`, as the pipeline's `_inside`); an embedder's public call gives the others no crop."""
    with np.errstate(over="ignore", invalid="ignore"):  # (NaN and huge corners compare False in `valid_rows`)
        sides = boxes_xyxy[:, 2:] - boxes_xyxy[:, :2]
    return valid_rows(boxes_xyxy, sides) & inside_rows(boxes_xyxy, size)


def prechecked(model: _Model) -> _Model:
    """The entry `Tracker.update` calls its detector or embedder `model` by, its inputs checked upstream: a library
    model's `_call_prechecked` (its public call without the checks of the frame and boxes that `update` already
    made: `UltralyticsDetector`, `OSNetEmbedder`, `DetectorFeatureEmbedder`), else `model` itself (yours, called
    as given). Looked up on the type: a mock's made-up attribute is not taken for one."""
    return getattr(model, PRECHECKED_ENTRY) if hasattr(type(model), PRECHECKED_ENTRY) else model


def _booleans(name: str) -> str:
    """The error for booleans given as `name` (a mask: index the rows with it instead)."""
    return f"{name} must be numbers, got booleans (a mask? select the rows with it instead)"


def _not_numbers(name: str, given: Any) -> str | None:
    """The error for `given` (what the caller passed as `name`, or numpy's array of it) when its dtype holds no numbers:
    booleans (a mask), text (`<U3`, bytes: numbers written as text were converted without a word, `'1e3'` too),
    dates or durations (datetime64, timedelta64: read as counts of their unit, days since 1970 or seconds), or
    a numpy array of dtype object (whatever it holds: None, text, other objects); None for any other (a list holding
    None is read by numpy as NaN, a row dropped as invalid)."""
    dtype = given.dtype if isinstance(given, np.ndarray) else None
    if dtype is None:
        return None
    if dtype.kind == "b":
        return _booleans(name)
    if dtype.kind in "US":
        return (
            f"{name} must be numbers, got text (dtype {dtype.str}): convert it where it is read, "
            "e.g. np.asarray(values, dtype=float)"
        )
    if dtype.kind in "Mm":  # (datetime64 / timedelta64: numpy reads them as counts of their unit, silently)
        return _dates(name, f"dtype {dtype.str}")
    if dtype.kind == "O":
        return (
            f"{name} must be a numeric array, got dtype object (mixed or non-numeric values?): "
            f"convert it first, e.g. {name}.astype(float)"
        )
    return None


def _dates(name: str, given: str) -> str:
    """The error for dates or durations given as `name` (`given`: their dtype, or one of them among objects). Cast to
    float they are counts of their unit, as they were read: the remedy is the column meant, not a cast."""
    return (
        f"{name} must be numbers, got dates or durations ({given}): convert it where it is read, from the values "
        f"meant as {name} (cast to float, a date or duration is a count of its unit, such as days since 1970)"
    )


# objects numpy holds, among a list's or a column's, that are not numbers: text, dates and durations
# (`datetime.datetime` and pandas' Timestamp are `datetime.date`s, pandas' Timedelta a `datetime.timedelta`)
_NOT_NUMBER_OBJECTS = (str, bytes, datetime.date, datetime.timedelta, np.datetime64, np.timedelta64)


def _not_numbers_made(name: str, given: np.ndarray) -> str | None:
    """`_not_numbers` of numpy's array of what the caller passed as `name` (not a numpy array: a list, a pandas
    column, any object with an array interface): of dtype object, the error for text among its objects (a pandas
    column read as text, of dtype object, "string" or "category", converted to floats by its own `__array__`; a list
    holding None beside text), None for any other objects (a list's None is read as NaN, its row dropped)."""
    if given.dtype.kind != "O":
        return _not_numbers(name, given)
    text = next((value for value in given.flat if isinstance(value, _NOT_NUMBER_OBJECTS)), None)
    if text is None:
        return None
    if not isinstance(text, str | bytes):  # (a pandas column of dates with a time zone: Timestamp objects)
        return _dates(name, f"{str(text)!r} among objects")
    shown = str(text) if isinstance(text, str) else text.decode(errors="replace")  # (np.str_'s repr names its type)
    return (
        f"{name} must be numbers, got text ({shown!r} among objects): convert it where it is read, "
        "e.g. np.asarray(values, dtype=float)"
    )


def _within_float32(values: np.ndarray) -> np.ndarray:
    """`values` ((N, D) looks, or anything `np.asarray` made) with each row of float64 (or wider) numbers beyond
    float32's range divided by its largest magnitude, so that the float32 cast keeps its direction: a look of
    values of 1e39 became a row of inf (matched by motion only, with numpy's "overflow encountered in cast" on
    stderr), though looks may have any scale. Other rows and arrays (float32 and narrower, ints, NaN or inf rows)
    as they are."""
    if values.dtype.kind != "f" or values.dtype.itemsize <= 4 or values.ndim == 0 or not values.size:
        return values
    if smallest(values) >= -_FLOAT32_MAX and largest(values) <= _FLOAT32_MAX:  # the common case (a NaN: checked)
        return values
    peak = np.abs(values).max(axis=-1, keepdims=True)
    beyond = np.isfinite(peak) & (peak > _FLOAT32_MAX)
    return np.where(beyond, values / np.where(beyond, peak, 1.0), values)


def to_embedding_tensor(embeddings: Any, n: int, device: torch.device | str, name: str = "embeddings") -> torch.Tensor:
    """(N, D) numpy array or tensor -> float32 tensor on `device` (not normalised); ValueError (naming `name`) for
    None, another row count than `n`, D = 0 with rows, complex or non-numeric values."""
    return _embedding_tensor(embeddings, n, device, name)[0]


def _embedding_tensor(
    embeddings: Any, n: int, device: torch.device | str, name: str = "embeddings"
) -> tuple[torch.Tensor, bool, np.ndarray | None]:
    """`to_embedding_tensor`, whether the tensor is a copy of its own (True: no memory shared with `embeddings`, so it
    may be written in place; False when it may be the caller's memory), and the float32 numpy array the tensor was
    made from (`torch.from_numpy`: the same memory; None for a torch input, or one converted or moved after)."""
    # converted from a numpy array of another dtype (e.g. float64): surely a new array; any other numpy input (a
    # float32 array, a list, an object with an array interface) may share the caller's memory
    copied = isinstance(embeddings, np.ndarray) and embeddings.dtype != np.float32
    source = None  # the numpy array the tensor shares memory with, where it came from one
    if embeddings is None:  # (numpy reads None as a NaN of shape (): "got ()", a callback's missing `return`)
        raise ValueError(f"{name} is None; expected an (N, D) array with N = {n} rows")
    if isinstance(embeddings, torch.Tensor):
        emb = embeddings.detach() if embeddings.layout == torch.strided else embeddings.detach().to_dense()
        if emb.is_complex():
            raise ValueError(f"{name} must be real numbers, got a complex tensor ({emb.dtype})")
        if emb.dtype == torch.bool:
            raise ValueError(_booleans(name))
        if emb.dtype is torch.float64 and emb.numel():
            peak = emb.abs().amax(dim=-1, keepdim=True)  # (the rows' largest magnitudes: beyond float32's range?)
            beyond = torch.isfinite(peak) & (peak > _FLOAT32_MAX)
            if bool(beyond.any()):
                emb = torch.where(beyond, emb / torch.where(beyond, peak, 1.0), emb)
    else:
        dtype = getattr(embeddings, "dtype", None)  # numpy, or any object with an array interface
        if isinstance(dtype, np.dtype) and dtype.kind == "c":  # float32 would silently drop the imaginary parts
            raise ValueError(f"{name} must be real numbers, got complex values")
        given = np.asarray(embeddings)
        refused = _not_numbers(name, given) if given is embeddings else _not_numbers_made(name, given)
        if refused:  # (text, booleans, an object array: converted without a word before)
            raise ValueError(refused)
        try:
            values = np.asarray(_within_float32(given), dtype=np.float32)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{name} must be a numeric array: {exc}") from None
        if not values.flags.writeable or min(values.strides, default=0) < 0:
            # torch.from_numpy refuses negative strides (a flipped view) and warns about read-only memory: a copy
            values, copied = values.copy(), True
        emb, source = torch.from_numpy(values), values
    if emb.ndim != 2 or emb.shape[0] != n:  # (`shape`: no Python-level Tensor.__len__)
        if emb.numel() == 0 and n == 0:
            return (
                emb.reshape(0, emb.shape[-1] if emb.ndim == 2 else 0).to(device=device, dtype=torch.float32),
                False,
                None,
            )
        from tracker.frames import CHANNELS  # (the error's hint alone: types imports no frame module)

        frame = emb.ndim == 3 and emb.shape[2] in CHANNELS  # (update_detections(boxes, scores, ids, frame))
        hint = (
            " (a frame? update_detections takes no frame: frame_size=frame.shape[:2] for the border rules; "
            "embeddings are (N, D) looks, one row per box)"
            if frame
            else ""
        )
        raise ValueError(f"{name} must have shape (N, D) with N = {n} rows, got {tuple(emb.shape)}{hint}")
    if n and emb.shape[1] == 0:  # a look of no numbers (a slicing slip): not "a zero embedding" matched by motion
        raise ValueError(f"{name} must have shape (N, D) with D >= 1, got {tuple(emb.shape)}")
    if emb.dtype is torch.float32 and emb.is_cpu and device == _CPU:  # (already there: no `to` dispatch)
        return emb, copied, source
    out = emb.to(device=device, dtype=torch.float32)  # a tensor: a new one exactly when it was converted or moved
    return out, copied or out is not emb, source if out is emb else None
