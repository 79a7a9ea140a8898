"""Synthetic scenes for tests, benchmarks and soak runs: scripted walkers with identity-coded embeddings.

A walker is visible on the frames its `visible(frame)` says; its embedding is a fixed random unit vector
per identity plus Gaussian noise, so bank similarity behaves like a real ReID model (same person ~0.9,
different people ~0).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "FrameDetections",
    "ReappearanceScores",
    "Visit",
    "Walker",
    "identity_embeddings",
    "leave_and_return_world",
    "linear_path",
    "look_at_cosine",
    "noise_for_similarity",
    "reid_like_identities",
    "render",
    "score_leave_and_return",
    "score_reappearances",
    "track_leave_and_return",
    "unit_vector",
]

# cosine of two looks of one person in the leave-and-return runs (OSNet on MOT17 crops: ~0.96 within a video, lower
# across)
_SAME_PERSON = 0.85
_NOISE_SEED_OFFSET = 100  # `score_leave_and_return` draws the looks' noise from its seed plus this


@dataclass
class Walker:
    """A box moving along a scripted path.

    Attributes:
        identity: ground-truth identity (index into the identity embeddings).
        path: frame -> (cx, cy) centre in pixels.
        size: (w, h) box size in pixels.
        visible: frame -> bool, False while hidden or out of view.
        score: detection score.
    """

    identity: int
    path: Callable[[int], tuple[float, float]]
    size: tuple[float, float] = (50.0, 120.0)
    visible: Callable[[int], bool] = field(default=lambda frame: True)
    score: float = 0.9

    def box_xyxy(self, frame: int) -> np.ndarray:
        """(4,) the walker's box at `frame`, pixel corners (x1, y1, x2, y2)."""
        cx, cy = self.path(frame)
        w, h = self.size
        return np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])


@dataclass(frozen=True)
class FrameDetections:
    """One frame of a synthetic scene: boxes_xyxy (N, 4), scores (N,), embeddings (N, D), identities (N,)."""

    boxes_xyxy: np.ndarray
    scores: np.ndarray
    embeddings: np.ndarray
    identities: np.ndarray


def linear_path(x0: float, y0: float, vx: float = 0.0, vy: float = 0.0) -> Callable[[int], tuple[float, float]]:
    """A constant-velocity path: frame -> (x0 + vx * frame, y0 + vy * frame)."""
    return lambda frame: (x0 + vx * frame, y0 + vy * frame)


def identity_embeddings(count: int, dim: int, seed: int = 0) -> np.ndarray:
    """(count, dim) random unit vectors, one per identity (nearly orthogonal for dim >> count)."""
    vecs = np.random.default_rng(seed).normal(size=(count, dim))
    return vecs / np.linalg.norm(vecs, axis=1, keepdims=True)


def render(
    walkers: list[Walker], frame: int, identities: np.ndarray, noise: float, rng: np.random.Generator
) -> FrameDetections:
    """Detections of the visible walkers at `frame`, embeddings = identity vector + N(0, noise^2)."""
    shown = [w for w in walkers if w.visible(frame)]
    dim = identities.shape[1]
    if not shown:
        return FrameDetections(np.zeros((0, 4)), np.zeros(0), np.zeros((0, dim)), np.zeros(0, dtype=np.int64))
    boxes = np.stack([w.box_xyxy(frame) for w in shown])
    ids = np.array([w.identity for w in shown])
    emb = identities[ids] + rng.normal(scale=noise, size=(len(shown), dim))
    return FrameDetections(boxes, np.array([w.score for w in shown]), emb, ids)


@dataclass(frozen=True)
class Visit:
    """One stay of a person in view: frames [start, end), entering at (x, y) and walking at (vx, vy) px/frame."""

    identity: int
    start: int
    end: int
    x: float
    y: float
    vx: float
    vy: float


def leave_and_return_world(
    people: int = 8,
    visits: int = 3,
    frame_rate: float = 10.0,
    stay_seconds: tuple[float, float] = (4.0, 12.0),
    away_seconds: tuple[float, float] = (10.0, 60.0),
    size: tuple[int, int] = (1280, 720),
    seed: int = 0,
) -> tuple[list[Walker], list[Visit], int]:
    """People who come into view, leave, and come back 10-60 s later somewhere else (motion cannot help).

    Each person makes `visits` stays of `stay_seconds`, separated by absences of `away_seconds`, entering at
    a random place and walking slowly. Returns (walkers, visits, frames): a Walker per visit (its `identity`
    is the person), every visit, and the scene's length in frames.
    """
    rng = np.random.default_rng(seed)
    width, height = size
    walkers, all_visits, length = [], [], 0
    for person in range(people):
        t = rng.uniform(0, stay_seconds[1]) * frame_rate
        for _ in range(visits):
            stay = rng.uniform(*stay_seconds) * frame_rate
            x, y = rng.uniform(0.1 * width, 0.9 * width), rng.uniform(0.25 * height, 0.75 * height)
            vx, vy = rng.uniform(-30, 30, size=2) / frame_rate
            visit = Visit(person, int(t), int(t + stay), x, y, vx, vy)
            all_visits.append(visit)
            walkers.append(
                Walker(
                    person,
                    linear_path(x - vx * visit.start, y - vy * visit.start, vx, vy),
                    visible=functools.partial(_within, visit),
                )
            )
            length = max(length, visit.end)
            t += stay + rng.uniform(*away_seconds) * frame_rate
    return walkers, all_visits, length + 1


def track_leave_and_return(
    tracker: Any,
    people: int,
    dim: int,
    away_seconds: tuple[float, float],
    seed: int,
    noise_seed: int,
    before_frame: Callable[[int], None] | None = None,
) -> list[list[tuple]]:
    """Track a `leave_and_return_world` of `people` (at the tracker's frame rate; absences of `away_seconds`) with
    `reid_like_identities` looks of size `dim` (different people ~0.2, one person's looks ~0.85) through
    `tracker.update_detections`. Returns every frame's outputs as (track ID, detection index, xyxy box tuple,
    recovered). `before_frame(f)`, when given, runs before frame f is tracked (e.g. to swap the core for a copy)."""
    walkers, _, frames = leave_and_return_world(
        people=people, frame_rate=tracker.frame_rate, away_seconds=away_seconds, seed=seed
    )
    identities = reid_like_identities(people, dim, different=0.2, seed=seed)
    noise, rng = noise_for_similarity(_SAME_PERSON, dim), np.random.default_rng(noise_seed)
    shown = []
    for f in range(frames):
        if before_frame is not None:
            before_frame(f)
        det = render(walkers, f, identities, noise, rng)
        out = tracker.update_detections(det.boxes_xyxy, det.scores, embeddings=det.embeddings)
        shown.append([(o.track_id, o.detection_index, tuple(o.xyxy.tolist()), o.recovered) for o in out])
    return shown


def score_leave_and_return(
    seed: int,
    with_gallery: bool,
    people: int = 8,
    dim: int = 512,
    same: float = _SAME_PERSON,
    frame_rate: float = 10.0,
) -> ReappearanceScores:
    """Score how a fresh default-config CPU `Tracker` keeps IDs across the returns of a `leave_and_return_world`
    (`people` people, seed `seed`, at `frame_rate` frames/s) with `reid_like_identities` looks of size `dim` (two
    looks of one person ~`same` cosine; the looks' noise drawn with seed `seed + _NOISE_SEED_OFFSET`). With
    `with_gallery` the tracker holds a new `Gallery` and a person is known by the global ID shown, without it by the
    track ID (`score_reappearances`). The leave-and-return test and `tools/eval_leave_return.py` run this world."""
    from tracker import Tracker, load_config  # (here: the tracker package imports nothing of this module)
    from tracker.gallery import Gallery

    walkers, visits, frames = leave_and_return_world(people=people, frame_rate=frame_rate, seed=seed)
    identities = reid_like_identities(people, dim, seed=seed)
    noise = noise_for_similarity(same, dim)
    rng = np.random.default_rng(seed + _NOISE_SEED_OFFSET)
    cfg = load_config(overrides=["device=cpu"])
    tracker = Tracker(cfg, frame_rate=frame_rate, gallery=Gallery(cfg.gallery) if with_gallery else None)
    shown = []
    for f in range(frames):
        det = render(walkers, f, identities, noise, rng)
        out = tracker.update_detections(det.boxes_xyxy, det.scores, embeddings=det.embeddings)
        shown.append({int(det.identities[o.detection_index]): o.global_id if with_gallery else o.track_id for o in out})
    return score_reappearances(visits, shown)


def reid_like_identities(count: int, dim: int, different: float = 0.45, seed: int = 0) -> np.ndarray:
    """(count, dim) unit vectors with cosine ~`different` between identities, like real ReID embeddings
    (which share a common direction: OSNet gives ~0.45 between different people)."""
    rng = np.random.default_rng(seed)
    common = rng.normal(size=dim)
    common /= np.linalg.norm(common)
    own = identity_embeddings(count, dim, seed + 1)
    vecs = np.sqrt(different) * common + np.sqrt(1 - different) * own
    return vecs / np.linalg.norm(vecs, axis=1, keepdims=True)


def unit_vector(dim: int, rng: np.random.Generator) -> np.ndarray:
    """(dim,) a random unit vector: one person's look."""
    v = rng.normal(size=dim)
    return v / np.linalg.norm(v)


def look_at_cosine(base: np.ndarray, cosine: float, rng: np.random.Generator) -> np.ndarray:
    """(dim,) a unit vector at exactly `cosine` to the unit vector `base` (dim,): the same person seen again under
    another angle or light (cosine high), or a look-alike (cosine at a chosen bound)."""
    other = rng.normal(size=base.shape)
    other -= other @ base * base
    other /= np.linalg.norm(other)
    return cosine * base + np.sqrt(1.0 - cosine**2) * other


def noise_for_similarity(same: float, dim: int) -> float:
    """Per-dimension noise sigma that makes two looks of one unit identity vector have cosine ~`same`."""
    return float(np.sqrt((1.0 / same - 1.0) / dim))


@dataclass(frozen=True)
class ReappearanceScores:
    """How a tracker did on the returns of a leave-and-return world.

    Attributes:
        reappearances: visits after the first of each person.
        kept: those shown (mostly) under the ID the person had before.
        revivals: returns shown under an ID that existed before the visit (right or wrong person).
        shared_frames: frames where two people visible together had the same ID (must be 0).
    """

    reappearances: int
    kept: int
    revivals: int
    shared_frames: int

    @property
    def recall(self) -> float:
        """Fraction of reappearances that kept their ID."""
        return self.kept / self.reappearances if self.reappearances else 1.0

    @property
    def precision(self) -> float:
        """Fraction of revived IDs that went to the right person."""
        return self.kept / self.revivals if self.revivals else 1.0


def _within(visit: Visit, frame: int) -> bool:
    """Whether `frame` is one of `visit`'s (a walker's `visible` for that visit)."""
    return visit.start <= frame < visit.end


def score_reappearances(visits: list[Visit], shown: Sequence[Mapping[int, int | None]]) -> ReappearanceScores:
    """Score returns from what a tracker showed: `shown[frame]` maps a person to the ID shown for them (a global ID
    may be None: none given yet)."""
    owner: dict[int | None, int] = {}  # ID -> the person it was first shown for
    first_frame: dict[int | None, int] = {}
    shared = 0
    for frame, ids in enumerate(shown):
        values = list(ids.values())
        shared += len(values) != len(set(values))
        for person, tid in ids.items():
            owner.setdefault(tid, person)
            first_frame.setdefault(tid, frame)
    seen_before: set[int] = set()
    reappearances = kept = revivals = 0
    for visit in sorted(visits, key=lambda v: v.start):
        given = [shown[f][visit.identity] for f in range(visit.start, visit.end) if visit.identity in shown[f]]
        if visit.identity in seen_before and given:
            reappearances += 1
            main = max(set(given), key=given.count)
            if first_frame[main] < visit.start:
                revivals += 1
                kept += owner[main] == visit.identity
        elif visit.identity in seen_before:
            reappearances += 1  # never shown: lost
        if given:
            seen_before.add(visit.identity)
    return ReappearanceScores(reappearances, kept, revivals, shared)
