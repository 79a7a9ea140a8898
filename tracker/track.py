"""The `Track` record and its state transitions."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tracker.types import TrackState

__all__ = ["Track"]


@dataclass(eq=False)
class Track:
    """One hypothesis of an object's identity (its Kalman state lives in `TrackerCore`, batched).

    Attributes:
        slot: this track's slot in the appearance bank.
        class_id: class of the detections it follows.
        score: score of the last matched detection.
        observed_xywh: (4,) last matched detection box.
        track_id: the user-visible ID, None until confirmed.
        state: lifecycle state.
        hits: matched frames in a row while tentative; total matches afterwards.
        frames_since_update: 0 on a frame it was matched.
        detection_index: the matched detection's caller index this frame, -1 if none.
        recovered: matched this frame after being lost.
        bank_frame: frame index of the last embedding pushed into its bank (-1: none yet).
        global_id: identity in the gallery (kept across videos and cameras); None without a gallery.
        born_frame, born_time: frame index and wall time (Unix s) of its first detection.
    """

    slot: int
    class_id: int
    score: float
    observed_xywh: np.ndarray
    track_id: int | None = None
    state: TrackState = TrackState.TENTATIVE
    hits: int = 1
    frames_since_update: int = 0
    detection_index: int = -1
    recovered: bool = field(default=False)
    bank_frame: int = -1  # frame of the last embedding pushed into its bank
    global_id: int | None = None
    born_frame: int = 0
    born_time: float = 0.0

    @property
    def is_confirmed(self) -> bool:
        return self.state in (TrackState.TRACKED, TrackState.LOST)

    def mark_matched(self, score: float, observed_xywh: np.ndarray, detection_index: int, min_hits: int) -> bool:
        """Record a match this frame. Returns True if the track has just been confirmed (needs an ID)."""
        self.recovered = self.state is TrackState.LOST
        self.hits += 1
        self.frames_since_update = 0
        self.score = score
        self.observed_xywh = observed_xywh
        self.detection_index = detection_index
        if self.state is TrackState.TENTATIVE:
            if self.hits >= min_hits:
                self.state = TrackState.TRACKED
                return True
            return False
        self.state = TrackState.TRACKED
        return False

    def confirm_now(self) -> None:
        """Confirm at birth (tracks of the very first frame)."""
        self.state = TrackState.TRACKED

    def mark_missed(self, max_frames_lost: int) -> None:
        """No detection this frame: tentative tracks die, tracked ones become lost, old lost ones are removed."""
        self.frames_since_update += 1
        self.detection_index = -1
        self.recovered = False
        if self.state is TrackState.TENTATIVE:
            self.state = TrackState.REMOVED
        elif self.state is TrackState.TRACKED:
            self.state = TrackState.LOST
        if self.state is TrackState.LOST and self.frames_since_update > max_frames_lost:
            self.state = TrackState.REMOVED
