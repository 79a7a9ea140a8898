"""Synthetic scenes for tests, benchmarks and soak runs: scripted walkers with identity-coded embeddings.

A walker is visible on the frames its `visible(frame)` says; its embedding is a fixed random unit vector
per identity plus Gaussian noise, so bank similarity behaves like a real ReID model (same person ~0.9,
different people ~0).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

__all__ = ["FrameDetections", "Walker", "identity_embeddings", "linear_path", "render"]


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
