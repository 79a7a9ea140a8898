"""Online calibration of appearance bounds from two FIFO queues of similarities, one per video.

A fixed cosine threshold cannot separate identities on every camera: the same OSNet model gives different
people a 99th-percentile similarity of 0.75 on one sequence and 0.80 on another, while the same person sits at
0.81 and 0.73. The tracker measures both distributions itself, under its own camera and model:

- negatives: two tracks confirmed and matched in the same frame are certainly two people, so the bank of one
  against the other's detection is a different-identity similarity (the idea of MoCo's queue of negatives and
  of cross-batch memory, XBM: recent samples stay valid because the model and the scene drift slowly);
- positives: a track's new look against its own bank, before it is pushed.

Both are aggregated exactly as the decisions aggregate (`appearance.aggregation` over the bank), so a quantile
of the negatives is directly a bound on the quantity stage 1 and stage 4 compare. Each queue is a fixed-size
ring buffer (`appearance.calibration_capacity`); one frame adds at most `calibration_per_frame` samples to each
(a seeded random subset), so one crowded frame cannot dominate.

Bounds (online mode, once `calibration_min_samples` negatives are held; the fixed thresholds before that and
in `fixed` mode, and always as a floor):

    bound(kind) = max(fixed_threshold(kind), quantile(negatives, q(kind)) + calibration_margin)

with kind "match" (stage 1 appearance gate), "reid" (stage 4) and "gallery" (the strictest, for identities
searched in a persistent gallery). `revival_bound(seconds_lost)` adds evidence that grows with the time a track
has been lost; `lost_match_bound(seconds_lost)` is stage 1's gate for a lost track, which rises from the "match"
bound to the revival bound over `revival_ramp_seconds` (a track lost for long and taken back by motion and
appearance is a revival too; one missed for a frame or two is not).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from tracker.config import TrackerConfig
from tracker.entry import ENTRY, HIDDEN

__all__ = ["BOUND_KINDS", "Calibration", "SimilarityQueue", "ascending"]

log = logging.getLogger(__name__)

BOUND_KINDS = ("match", "reid", "gallery")
"""The bounds a `Calibration` gives: stage 1 gate of lost tracks, stage 4 revival, gallery search."""
_SEED = 0  # the per-frame subsampling is seeded: a run is reproducible
_LOG_EVERY = 1000  # log the bounds each time this many new negatives have come in
_REFRESH_SAMPLES = 32  # bounds are recomputed once this many new negatives have come in (quantiles cost a sort)
_MAX_COSINE = 1.0  # no cosine similarity exceeds it: a bound above it refuses every pair
_SUMMARY_QUANTILES = (0.05, 0.5, 0.95, 0.99)  # quantiles of each queue reported in the summary


class SimilarityQueue:
    """A fixed-size FIFO of similarities (a ring buffer; the oldest drop out), each optionally tagged with an
    integer (e.g. the track it came from: `still.StillBoxes` judges a track by the values the others gave).

    Args:
        capacity: most similarities held.
    Raises:
        ValueError: `capacity` below 1.
    """

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        self._data = np.zeros(int(capacity), dtype=np.float64)
        self._tags: np.ndarray | None = None  # (capacity,) int64 tags, allocated by the first tagged push
        self._write = 0
        self._count = 0
        self.total = 0  # finite similarities ever pushed (those a push longer than `capacity` dropped at once too)

    def __len__(self) -> int:
        return self._count

    @property
    def capacity(self) -> int:
        """How many similarities the queue holds at most."""
        return len(self._data)

    @property
    def full(self) -> bool:
        """True once `capacity` values are held (each push now drops the oldest)."""
        return self._count == len(self._data)

    def push(self, values: np.ndarray, tags: np.ndarray | None = None) -> None:
        """Append (M,) similarities, one frame's, with their (M,) integer `tags` if given; non-finite values (and
        their tags) are skipped. A push enters in ascending order of value (ties by tag), whatever order the caller's
        rows had: which of them a later push drops first (and which a push longer than `capacity` keeps) does not
        depend on the order of a frame's detections."""
        values = np.asarray(values, dtype=np.float64).ravel()
        finite = np.isfinite(values)
        values = values[finite]
        tags = None if tags is None else np.asarray(tags, dtype=np.int64).ravel()[finite]
        self.total += len(values)
        values, tags = ascending(values, tags)
        values = values[-self.capacity :]
        m = len(values)
        if m == 0:
            return
        pos = (self._write + np.arange(m)) % self.capacity
        self._data[pos] = values
        if tags is not None:
            if self._tags is None:
                self._tags = np.zeros(self.capacity, dtype=np.int64)
            self._tags[pos] = tags[-self.capacity :]
        self._write = int((self._write + m) % self.capacity)
        self._count = min(self._count + m, self.capacity)

    def values(self) -> np.ndarray:
        """(len,) the similarities held (unordered)."""
        return self._data[: self._count].copy()

    def tags(self) -> np.ndarray:
        """(len,) the tags of the similarities held, aligned with `values` (0 where a push gave none)."""
        if self._tags is None:
            return np.zeros(self._count, dtype=np.int64)
        return self._tags[: self._count].copy()

    def oldest_first(self) -> tuple[np.ndarray, np.ndarray]:
        """(len,) the similarities held and (len,) their tags (`tags`), oldest first."""
        order = (self._write - self._count + np.arange(self._count)) % self.capacity
        tags = np.zeros(self._count, dtype=np.int64) if self._tags is None else self._tags[order]
        return self._data[order], tags

    def quantile(self, q: float) -> float:
        """The q-quantile of the held similarities (linear interpolation); NaN when empty."""
        return float(self.quantiles([q])[0])

    def quantiles(self, qs: list[float]) -> np.ndarray:
        """(Q,) quantiles of the held similarities in one pass; NaN when empty."""
        if self._count == 0:
            return np.full(len(qs), np.nan)
        return np.quantile(self._data[: self._count], qs)


def ascending(values: np.ndarray, tags: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """(M,) `values` in ascending order, ties by their (M,) integer `tags` (if given), and the tags in the same
    order: an order of a frame's values that the order of its detections does not set."""
    order = np.argsort(values, kind="stable") if tags is None else np.lexsort((tags, values))
    return values[order], None if tags is None else tags[order]


@dataclass(frozen=True)
class _Settings:
    online: bool
    min_samples: int
    per_frame: int
    margin: float
    evidence_per_second: float
    entry_offsets: tuple[float, float]  # added to the revival bound of ENTRY and of HIDDEN detections
    ramp_seconds: float
    fixed: dict[str, float]
    quantiles: dict[str, float]


class Calibration:
    """The two similarity queues of one video and the appearance bounds they give.

    Args:
        config: the tracker config (reads `appearance.calibration*`, the quantiles, and the fixed thresholds
            `appearance.match_threshold`, `association.reid_threshold` and `gallery.min_similarity`, which stay as
            floors).
        frame_rate: frames per second of the video (paces the sampling: `appearance.calibration_sample_seconds`).

    `core.py` feeds it (`add_negatives`, `add_positives`) and asks it (`bound`, `revival_bound`); it never
    computes a threshold itself.
    """

    def __init__(self, config: TrackerConfig, frame_rate: float) -> None:
        app, assoc = config.appearance, config.association
        gallery_floor = max(assoc.reid_threshold, config.gallery.min_similarity)  # what the gallery search uses
        self._extra_every = max(1, round(app.calibration_sample_seconds * frame_rate))  # frames
        self._extra_frame = -self._extra_every  # frame of the last extra computation
        self._settings = _Settings(
            online=app.calibration == "online",
            min_samples=app.calibration_min_samples,
            per_frame=app.calibration_per_frame,
            margin=app.calibration_margin,
            evidence_per_second=app.reid_evidence_per_second,
            entry_offsets=(assoc.reid_entry_evidence, -assoc.reid_hidden_relief),
            ramp_seconds=app.revival_ramp_seconds,
            fixed={"match": app.match_threshold, "reid": assoc.reid_threshold, "gallery": gallery_floor},
            quantiles={"match": app.match_quantile, "reid": app.reid_quantile, "gallery": app.gallery_quantile},
        )
        self.negatives = SimilarityQueue(app.calibration_capacity)
        self.positives = SimilarityQueue(app.calibration_capacity)
        self._rng = np.random.default_rng(_SEED)
        self._bounds: dict[str, float] | None = None  # cached until _REFRESH_SAMPLES new negatives
        self._bounds_at = 0  # negatives.total when the bounds were computed
        self._bounds_calibrated = False  # whether they came from the queues
        self._logged_at = 0
        self._warned_blind = False  # the "appearance can match nothing" warning, once per video

    def reset(self) -> None:
        """Empty both queues (a new video)."""
        capacity = self.negatives.capacity
        self.negatives, self.positives = SimilarityQueue(capacity), SimilarityQueue(capacity)
        self._rng = np.random.default_rng(_SEED)
        self._extra_frame = -self._extra_every
        self._bounds = None
        self._bounds_at = 0
        self._bounds_calibrated = False
        self._logged_at = 0
        self._warned_blind = False

    # ------------------------------------------------------------------------------------------ feeding
    @property
    def wants_samples(self) -> bool:
        """False in `fixed` mode: the core need not collect anything."""
        return self._settings.online

    def sample_due(self, frame_index: int) -> bool:
        """True (and the period restarts) when this frame should feed the queues: every frame until the bounds
        are calibrated, then once per `calibration_sample_seconds`, so sampling costs a fraction of a frame on
        average (the queues still renew: capacity / (2 * per_frame) periods)."""
        if not self._settings.online:
            return False
        if self.calibrated and frame_index - self._extra_frame < self._extra_every:
            return False
        self._extra_frame = frame_index
        return True

    def add_negatives(self, similarities: np.ndarray) -> None:
        """Different-identity similarities seen this frame (at most `calibration_per_frame` are kept)."""
        self._add(self.negatives, similarities)
        if self.negatives.total - self._logged_at >= _LOG_EVERY:
            self._logged_at = self.negatives.total
            log.info("calibrated appearance bounds: %s", self._format(self.bounds()))

    def add_positives(self, similarities: np.ndarray, track_ids: np.ndarray | None = None) -> None:
        """Same-identity similarities seen this frame (at most `calibration_per_frame` are kept), each tagged with
        the (M,) ID of the track whose bank gave it when `track_ids` is given (`own_positives`)."""
        self._add(self.positives, similarities, track_ids)

    def own_positives(self, track_id: int) -> np.ndarray:
        """(K,) the held same-identity similarities of one track (its new looks against its own bank, tagged by
        `add_positives`); empty when none is held (an untagged queue holds none for any track)."""
        values, tags = self.positives.values(), self.positives.tags()
        return values[tags == track_id] if track_id >= 0 else values[:0]

    def _add(self, queue: SimilarityQueue, similarities: np.ndarray, tags: np.ndarray | None = None) -> None:
        if not self._settings.online:
            return
        values = np.asarray(similarities, dtype=np.float64).ravel()
        finite = np.isfinite(values)
        values = values[finite]
        tags = None if tags is None else np.asarray(tags, dtype=np.int64).ravel()[finite]
        if len(values) > self._settings.per_frame:  # picked from the values in order (not the callers' order)
            values, tags = ascending(values, tags)
            pick = self._rng.choice(len(values), self._settings.per_frame, replace=False)
            values, tags = values[pick], None if tags is None else tags[pick]
        if len(values):
            queue.push(values, tags)
            fresh = self.negatives.total - self._bounds_at
            if fresh >= _REFRESH_SAMPLES or self.calibrated != self._bounds_calibrated:
                self._bounds = None

    # ------------------------------------------------------------------------------------------ asking
    @property
    def calibrated(self) -> bool:
        """True once the bounds come from the queues (online mode and enough negatives)."""
        return self._settings.online and len(self.negatives) >= self._settings.min_samples

    def bounds(self) -> dict[str, float]:
        """{kind: bound} for every kind of BOUND_KINDS (cosine similarity; a pair must reach it)."""
        if self._bounds is None:
            s = self._settings
            self._bounds_at = self.negatives.total
            self._bounds_calibrated = self.calibrated
            if self.calibrated:
                values = self.negatives.quantiles([s.quantiles[k] for k in BOUND_KINDS]) + s.margin
                self._bounds = {k: max(s.fixed[k], float(v)) for k, v in zip(BOUND_KINDS, values, strict=True)}
                self._warn_if_blind()
            else:
                self._bounds = dict(s.fixed)
        return self._bounds

    def _warn_if_blind(self) -> None:
        """Warn (once per video) when different people's looks are so alike that the stage-1 bound exceeds any
        cosine similarity: appearance then refuses every pair, as from embeddings that carry no identity (one
        constant vector for every detection). Logged only; the bounds are used as they are."""
        if self._warned_blind or self._bounds is None or self._bounds["match"] <= _MAX_COSINE:
            return
        self._warned_blind = True
        log.warning(
            "different people's embeddings are as alike as cosine similarity allows (their %g quantile %.3f): the "
            "calibrated appearance bounds (%s) exceed %g, so appearance matches nothing; are the embeddings the "
            "same for every detection? Without a ReID, give none (motion only)",
            self._settings.quantiles["match"],
            self.negatives.quantile(self._settings.quantiles["match"]),
            self._format(self._bounds),
            _MAX_COSINE,
        )

    def bound(self, kind: str) -> float:
        """The similarity a pair must reach for decision `kind`.

        Args:
            kind: "match" (stage 1 appearance gate of a lost track), "reid" (stage 4 revival, before any time
                term) or "gallery" (an identity from a persistent gallery: the strictest quantile).
        Raises:
            ValueError: unknown kind.
        """
        if kind not in BOUND_KINDS:
            raise ValueError(f"unknown bound kind {kind!r}; expected one of {', '.join(BOUND_KINDS)}")
        return self.bounds()[kind]

    def revival_bound(self, seconds_lost: np.ndarray | float, entry: np.ndarray | None = None) -> np.ndarray:
        """Stage 4 bound for tracks lost this long: evidence grows with time lost, and depends on where the
        candidate detection appeared (`tracker.entry`).

        Args:
            seconds_lost: (T,) or scalar, time since each track was last matched, seconds.
            entry: optional (N,) classes of the candidate detections from `entry.entry_evidence`: ENTRY adds
                `association.reid_entry_evidence`, HIDDEN takes off `association.reid_hidden_relief`.
        Returns:
            (T,) (or 0-d) float64 cosine bounds without `entry`, (T, N) with it: `bound("reid")`, plus
            `reid_evidence_per_second` per second and the entry offsets once calibrated, never below
            `association.reid_threshold` (in `fixed` mode that constant, today's behaviour).
        """
        seconds = np.asarray(seconds_lost, dtype=np.float64)
        s = self._settings
        growth = s.evidence_per_second if s.online else 0.0
        bound = self.bound("reid") + growth * seconds
        if entry is None:
            return bound
        entry = np.asarray(entry)
        offsets = np.where(entry == ENTRY, s.entry_offsets[0], np.where(entry == HIDDEN, s.entry_offsets[1], 0.0))
        if not self.calibrated:
            offsets = np.zeros(entry.shape)
        # the relief never takes a bound below the configured threshold (the floor of every calibrated bound)
        return np.maximum(np.reshape(bound, (-1, 1)) + offsets[None, :], s.fixed["reid"])

    def revival_floor(self) -> float:
        """The lowest bound `revival_bound` gives a pair with an `entry` class: `association.reid_threshold`, the
        floor of every calibrated bound and of the relief (a pair's similarity below it revives nothing)."""
        return self._settings.fixed["reid"]

    def lost_match_bound(self, seconds_lost: np.ndarray | float, revival: np.ndarray | None = None) -> np.ndarray:
        """Stage 1 appearance gate of lost tracks (motion already agrees): from `bound("match")` at 0 s to
        `revival_bound` at `revival_ramp_seconds` and beyond, linearly. Before calibration (and in `fixed`
        mode) the constant `appearance.match_threshold`.

        Args:
            seconds_lost: (T,) or scalar time since each track was last matched, seconds.
            revival: `revival_bound(seconds_lost)` where the caller has it (the same values); None: taken here.
        Returns:
            (T,) (or 0-d) float64 cosine bounds.
        """
        seconds = np.asarray(seconds_lost, dtype=np.float64)
        match = self.bound("match")
        if not self.calibrated:
            return np.full(seconds.shape, match)
        ramp = self._settings.ramp_seconds
        # np.clip to [0, 1] without its wrappers (called every frame with a lost track)
        weight = np.minimum(np.maximum(seconds / ramp, 0.0), 1.0) if ramp > 0 else np.ones(seconds.shape)
        return match + ((self.revival_bound(seconds) if revival is None else revival) - match) * weight

    def subsample(self, count: int, have: int = 0) -> np.ndarray:
        """Sorted random positions (seeded) out of `count` candidate pairs still to compute, when `have`
        similarities are already in hand: at most `calibration_per_frame - have` of them."""
        limit = max(0, self._settings.per_frame - have)
        if count <= limit:
            return np.arange(count)
        return np.sort(self._rng.choice(count, limit, replace=False))

    # ------------------------------------------------------------------------------------------ reporting
    def summary(self) -> dict[str, Any]:
        """JSON-ready: mode, whether calibrated, the bounds, and sample counts and quantiles of each queue."""

        def describe(queue: SimilarityQueue) -> dict[str, Any]:
            return {
                "held": len(queue),
                "seen": queue.total,
                "quantiles": {f"{q:g}": round(queue.quantile(q), 4) for q in _SUMMARY_QUANTILES if len(queue)},
            }

        return {
            "mode": "online" if self._settings.online else "fixed",
            "calibrated": self.calibrated,
            "bounds": {k: round(v, 4) for k, v in self.bounds().items()},
            "negatives": describe(self.negatives),
            "positives": describe(self.positives),
        }

    def describe(self) -> str:
        """One line for logs and the CLI summary."""
        state = "calibrated" if self.calibrated else f"fixed ({len(self.negatives)} negatives so far)"
        if not self._settings.online:
            state = "fixed (calibration off)"
        return f"appearance bounds {state}: {self._format(self.bounds())}"

    @staticmethod
    def _format(bounds: dict[str, float]) -> str:
        return ", ".join(f"{k} {v:.3f}" for k, v in bounds.items())
