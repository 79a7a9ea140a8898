"""The class policy of association: which detection classes may continue which track, at what cost, and the
track's own class as a vote.

Detectors change their mind about a class from frame to frame (car, truck, car ...). The policy, used the same
way by all four matching stages:
- classes in one `classes.compatible_groups` group (default COCO car 2, bus 5, truck 7; bicycle 1, motorcycle
  3) may share a track; a pair whose classes differ inside a group pays `classes.mismatch_cost` on top of the
  stage's cost (a penalty, not a wall: when the class flickers the track keeps its ID, but a same-class rival
  wins a close contest);
- two classes not in one group never share a track (a person never takes a car's ID);
- a track's class is the score-weighted vote of its matched detections over the last `classes.vote_seconds`,
  so one low-score detection of another class cannot relabel it, while a lasting change does.
The appearance bank is class-agnostic: embeddings of a track's detections enter it whatever their label, and a
pair forbidden by class is never compared.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from tracker.config import ClassConfig

__all__ = ["ClassPolicy", "ClassVote"]

_NO_GROUP = -1  # group index of a class outside every compatible group


class ClassPolicy:
    """Compatibility and costs between track classes and detection classes (see the module doc)."""

    def __init__(self, config: ClassConfig) -> None:
        self.mismatch_cost = config.mismatch_cost
        self._group = {int(c): g for g, group in enumerate(config.compatible_groups) for c in group}

    def _groups(self, classes: np.ndarray) -> np.ndarray:
        uniques, inverse = np.unique(classes, return_inverse=True)
        return np.array([self._group.get(int(c), _NO_GROUP) for c in uniques], dtype=np.int64)[inverse]

    def cost(self, track_classes: np.ndarray, det_classes: np.ndarray) -> np.ndarray:
        """(T,) x (N,) classes -> (T, N) cost to add to any stage: 0 for the same class, `mismatch_cost` for
        two classes of one compatible group, inf for incompatible classes."""
        track_classes, det_classes = np.asarray(track_classes), np.asarray(det_classes)
        same = track_classes[:, None] == det_classes[None, :]
        if same.all():  # one class in the frame (the common case): nothing to look up
            return np.zeros(same.shape)
        gt, gd = self._groups(track_classes), self._groups(det_classes)
        grouped = (gt[:, None] == gd[None, :]) & (gt[:, None] != _NO_GROUP)
        return np.where(same, 0.0, np.where(grouped, self.mismatch_cost, np.inf))


class ClassVote:
    """A track's class: the class with the largest summed detection score over its last `window` matches.

    Ties keep the current class, so a class changes only when another one outweighs it.
    """

    def __init__(self, window: int, class_id: int, score: float) -> None:
        self._votes: deque[tuple[int, float]] = deque([(class_id, score)], maxlen=max(1, window))
        self._weights = {class_id: score}  # summed score per class over the window, kept up to date
        self.class_id = class_id

    @classmethod
    def restore(cls, window: int, class_id: int, scores: list[float], weight: float) -> ClassVote:
        """The vote of a track whose last `scores` (oldest first, at most `window`) were all of `class_id`, with their
        running sum `weight` as `add` kept it (not re-summed: the same bits as if this vote had counted them)."""
        vote = cls(window, class_id, scores[0])
        vote._votes.extend((class_id, score) for score in scores[1:])
        vote._weights[class_id] = weight
        return vote

    def add(self, class_id: int, score: float) -> int:
        """Count one matched detection (O(classes seen), not O(window)); returns the track's class after it."""
        if len(self._votes) == self._votes.maxlen:
            old_class, old_score = self._votes[0]
            self._weights[old_class] -= old_score
        self._votes.append((class_id, score))
        self._weights[class_id] = self._weights.get(class_id, 0.0) + score
        if len(self._weights) == 1:  # one class ever seen (the common case): it stays the track's class
            return self.class_id
        best = max(self._weights, key=self._weights.__getitem__)  # a handful of classes at most
        if self._weights[best] > self._weights.get(self.class_id, 0.0):
            self.class_id = best
        return self.class_id
