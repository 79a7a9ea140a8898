"""Tracks: the `Track` record, and `TrackTable`, the per-track scalars every frame reads, kept as numpy columns.

The matching stages read a few scalars of every track each frame (state, frames since the last match, bank slot,
class...). They live in `TrackTable` as arrays row-aligned with the track list (as the Kalman means and
covariances are), so a mask is one array operation and a lifecycle transition of all matched or missed tracks is a
handful of them. A `Track` is a handle on its row: its attributes read and write the table, so code that deals with
one track at a time (the gallery tier, tests) still sees a record.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tracker.classes import ClassVote
from tracker.fast_numpy import all_set, any_set
from tracker.report_aspect import box_aspect
from tracker.types import TrackState

__all__ = ["LOST", "REMOVED", "TENTATIVE", "TRACKED", "Track", "TrackTable"]

# State codes in `TrackTable.state`, indices into _STATES.
TENTATIVE, TRACKED, LOST, REMOVED = 0, 1, 2, 3
_STATES = (TrackState.TENTATIVE, TrackState.TRACKED, TrackState.LOST, TrackState.REMOVED)
_CODES = {state: code for code, state in enumerate(_STATES)}
_NO_TRACK_ID = -1  # `TrackTable.track_id` of a track not confirmed yet (`Track.track_id` is None)


def _column(name: str, doc: str, kind: type) -> property:
    """A `Track` attribute stored in the table's column `name`, converted to `kind` when read."""

    def get(track: Track) -> object:
        return kind(getattr(track._table, name)[track._row])

    def set_(track: Track, value: object) -> None:
        getattr(track._table, name)[track._row] = value

    return property(get, set_, doc=doc)


class Track:
    """One hypothesis of an object's identity: a handle on its row of a `TrackTable` (its Kalman state lives in
    `TrackerCore`, batched).

    Attributes (stored in the table):
        slot: this track's slot in the appearance bank.
        class_id: its class: the score-weighted vote of its recent detections (`class_votes`).
        score: score of the last matched detection.
        observed_xywh: (4,) last matched detection box (a copy; assign a new box to change it).
        track_id: the user-visible ID, None until confirmed.
        state: lifecycle state.
        hits: matched frames in a row while tentative; total matches afterwards.
        frames_since_update: 0 on a frame it was matched.
        detection_index: the matched detection's caller index this frame, -1 if none.
        recovered: matched this frame after being lost, or given a remembered identity by the gallery this frame.
        recognised: given a remembered identity by the gallery this frame (`GalleryLink.link_newborn`; it is then
            `recovered` too).
        bank_frame: frame index of the last embedding pushed into its bank (-1: none yet).
        still_share: weighted share of its recent observations whose box was still (`tracker.still`; NaN: not
            judged yet).
    Attributes (its own):
        class_votes: the recent (class, score) votes behind `class_id` once the track has had detections of two
            classes; None while all had one (its votes are then the table's vote columns, `TrackTable.vote`).
        global_id: identity in the gallery (kept across videos and cameras); None without a gallery.
        born_frame, born_time: frame index and wall time (Unix s) of its first detection.
    """

    __slots__ = ("_row", "_table", "born_frame", "born_time", "class_votes", "global_id")

    def __init__(self, table: TrackTable, row: int, class_votes: ClassVote | None, born_frame: int, born_time: float):
        self._table, self._row = table, row
        self.class_votes = class_votes
        self.global_id: int | None = None
        self.born_frame, self.born_time = born_frame, born_time

    def __getstate__(self) -> tuple[None, dict[str, Any]]:
        """The state to pickle: (None, {slot: value}), what `object.__getstate__` gives a slotted object (so
        protocol 2 and up write the bytes they wrote before). Defined here because pickle protocols 0 and 1 refuse
        a slotted class without its own `__getstate__` (TypeError "a class that defines __slots__ without defining
        __getstate__ cannot be pickled")."""
        return None, {name: getattr(self, name) for name in self.__slots__ if hasattr(self, name)}

    def __setstate__(self, state: tuple[None, dict[str, Any]]) -> None:
        """Restore `__getstate__`'s state, or the same (None, slots) pair a checkpoint pickled before it existed."""
        _, slots = state
        for name, value in slots.items():
            setattr(self, name, value)

    slot = _column("slot", "slot in the appearance bank", int)
    class_id = _column("class_id", "class (the vote of recent detections)", int)
    score = _column("score", "score of the last matched detection", float)
    hits = _column("hits", "matches (in a row while tentative)", int)
    frames_since_update = _column("frames_since_update", "frames since the last match", int)
    detection_index = _column("detection_index", "matched detection's caller index this frame, -1 if none", int)
    recovered = _column("recovered", "matched this frame after being lost", bool)
    recognised = _column("recognised", "given a remembered identity by the gallery this frame", bool)
    bank_frame = _column("bank_frame", "frame of the last embedding pushed into its bank (-1: none)", int)
    still_share = _column(
        "still_share", "weighted share of recent observations that were still (NaN: not judged)", float
    )

    @property
    def observed_xywh(self) -> np.ndarray:
        """(4,) last matched detection box (a copy)."""
        return self._table.observed_xywh[self._row].copy()

    @observed_xywh.setter
    def observed_xywh(self, value: np.ndarray) -> None:
        self._table.observed_xywh[self._row] = value

    @property
    def state(self) -> TrackState:
        """Tentative, tracked or lost; removed when it expires (or misses while tentative). Held in its table row."""
        return _STATES[self._table.state[self._row]]

    @state.setter
    def state(self, value: TrackState) -> None:
        self._table.state[self._row] = _CODES[value]

    @property
    def track_id(self) -> int | None:
        """The ID shown for the track, given when it is confirmed; None while tentative."""
        value = int(self._table.track_id[self._row])
        return None if value == _NO_TRACK_ID else value

    @track_id.setter
    def track_id(self, value: int | None) -> None:
        self._table.track_id[self._row] = _NO_TRACK_ID if value is None else value

    @property
    def is_confirmed(self) -> bool:
        """Tracked or lost: the track has an ID."""
        return self.state in (TrackState.TRACKED, TrackState.LOST)

    def __repr__(self) -> str:
        return f"Track(track_id={self.track_id}, state={self.state.value}, slot={self.slot}, row={self._row})"


class TrackTable:
    """The tracks of one tracker: `tracks` (T Track handles) and their scalars as (T,) columns, row-aligned.

    Rows are appended by `add` and dropped by `keep`; the lifecycle transitions of many tracks at once are
    `mark_matched` and `mark_missed` (deep_sort's track state machine, batched).
    """

    def __init__(self, vote_window: int = 1) -> None:
        self.vote_window = max(1, int(vote_window))  # matches in a track's class vote (`ClassVote`'s window)
        self.tracks: list[Track] = []
        self.state = np.zeros(0, dtype=np.int8)  # codes TENTATIVE, TRACKED, LOST, REMOVED
        self.slot = np.zeros(0, dtype=np.int64)
        self.class_id = np.zeros(0, dtype=np.int64)
        self.score = np.zeros(0)
        self.observed_xywh = np.zeros((0, 4))
        self.track_id = np.zeros(0, dtype=np.int64)
        self.hits = np.zeros(0, dtype=np.int64)
        self.frames_since_update = np.zeros(0, dtype=np.int64)
        self.detection_index = np.zeros(0, dtype=np.int64)
        self.recovered = np.zeros(0, dtype=bool)
        self.recognised = np.zeros(0, dtype=bool)  # given a remembered identity by the gallery this frame
        self.bank_frame = np.zeros(0, dtype=np.int64)
        self.width_seen = np.zeros(0, dtype=bool)  # a box of the track was ever uncut by the side borders
        self.whole_look = np.zeros(0, dtype=bool)  # the track's bank was ever fed a look uncut by the side borders
        # The class vote of a track whose detections all had one class (most tracks), counted for all at once with
        # `ClassVote`'s arithmetic: its last `vote_window` scores (a ring), their running sum, the votes so far.
        self.vote_single = np.zeros(0, dtype=bool)  # False: the track's `class_votes` object counts its votes
        self.vote_scores = np.zeros((0, self.vote_window))
        self.vote_weight = np.zeros(0)
        self.vote_count = np.zeros(0, dtype=np.int64)
        self.still_share = np.zeros(0)  # weighted share of recent observations whose box was still (NaN: not judged)
        self.edge_step = np.zeros((0, 4))  # last per-frame displacement of the box's edges, px (NaN: not known yet)
        # net displacement of the box's edges since its first match, camera motion compensated, in box widths (left,
        # right) and heights (top, bottom) of each step (`tracker.still`)
        self.edge_drift = np.zeros((0, 4))
        # the variance the camera-motion estimate's noise adds to `edge_drift` since the first match, in squared box
        # widths and heights (`tracker.still`, `lifecycle.still_camera_noise`)
        self.drift_noise = np.zeros((0, 4))
        # the last Kalman innovation per coordinate over its predicted std, when the track was matched in the frame
        # before too (NaN: not; `MeasurementNoise.observe`)
        self.innovation = np.zeros((0, 4))
        # the reported box's aspect (width / height) and its variance (`tracker.report_aspect`)
        self.aspect = np.zeros(0)
        self.aspect_var = np.zeros(0)

    _COLUMNS = (
        "state",
        "slot",
        "class_id",
        "score",
        "observed_xywh",
        "track_id",
        "hits",
        "frames_since_update",
        "detection_index",
        "recovered",
        "recognised",
        "bank_frame",
        "width_seen",
        "whole_look",
        "vote_single",
        "vote_scores",
        "vote_weight",
        "vote_count",
        "still_share",
        "edge_step",
        "edge_drift",
        "drift_noise",
        "innovation",
        "aspect",
        "aspect_var",
    )

    def __setstate__(self, state: dict) -> None:
        """Restore a pickled table; one pickled before the `innovation` column existed (a checkpoint of main a9675c0)
        gets it all NaN (no track's innovation of the frame before is known)."""
        self.__dict__.update(state)
        if "innovation" not in state:
            self.innovation = np.full((len(self.state), 4), np.nan)
        if "edge_drift" not in state:  # (main 19b5851): no track's drift known, none taken as unmoved
            self.edge_drift = np.full((len(self.state), 4), np.inf)
        if "recognised" not in state:  # (before h54c): no track was given a gallery identity on the frame it was taken
            self.recognised = np.zeros(len(self.state), dtype=bool)
        if "drift_noise" not in state:  # (main 704c4ff): no camera noise known, the drift judged as measured
            self.drift_noise = np.zeros((len(self.state), 4))
        if "aspect" not in state:  # (main bad25d6): the last observed box's aspect, unknown certainty; none (NaN)
            # for a track no whole box measured yet (born cut by a side border: its boxes measure a part of the person)
            self.aspect = np.where(self.width_seen, box_aspect(self.observed_xywh), np.nan)
            self.aspect_var = np.full(len(self.state), np.inf)

    def __len__(self) -> int:
        return len(self.tracks)

    def add(
        self,
        slots: np.ndarray,
        class_ids: np.ndarray,
        scores: np.ndarray,
        observed_xywh: np.ndarray,
        detection_index: np.ndarray,
        class_votes: list[ClassVote | None],
        born_frame: int,
        born_time: float,
    ) -> list[Track]:
        """Append M new tentative tracks (one match each, never pushed to a bank); returns their handles. A track given
        a `ClassVote` counts its class votes in it; None: in the table's vote columns (`vote`), from its own
        detection's class and score."""
        m, start = len(slots), len(self.tracks)
        first_votes = np.zeros((m, self.vote_window))
        first_votes[:, 0] = scores
        new = {
            "state": np.full(m, TENTATIVE, dtype=np.int8),
            "slot": slots,
            "class_id": class_ids,
            "score": scores,
            "observed_xywh": np.asarray(observed_xywh, dtype=np.float64).reshape(m, 4),
            "track_id": np.full(m, _NO_TRACK_ID, dtype=np.int64),
            "hits": np.ones(m, dtype=np.int64),
            "frames_since_update": np.zeros(m, dtype=np.int64),
            "detection_index": detection_index,
            "recovered": np.zeros(m, dtype=bool),
            "recognised": np.zeros(m, dtype=bool),
            "bank_frame": np.full(m, -1, dtype=np.int64),
            "width_seen": np.zeros(m, dtype=bool),
            "whole_look": np.zeros(m, dtype=bool),
            "vote_single": [votes is None for votes in class_votes],
            "vote_scores": first_votes,
            "vote_weight": scores,
            "vote_count": np.ones(m, dtype=np.int64),
            "still_share": np.full(m, np.nan),
            "edge_step": np.full((m, 4), np.nan),
            "edge_drift": np.zeros((m, 4)),
            "drift_noise": np.zeros((m, 4)),
            "innovation": np.full((m, 4), np.nan),
            "aspect": np.full(m, np.nan),  # set by the core (`report_aspect.first_aspect`)
            "aspect_var": np.full(m, np.inf),
        }
        for name, values in new.items():
            column = getattr(self, name)
            setattr(self, name, np.concatenate([column, np.asarray(values, dtype=column.dtype)]))
        added = [Track(self, start + i, votes, born_frame, born_time) for i, votes in enumerate(class_votes)]
        self.tracks.extend(added)
        return added

    def keep(self, mask: np.ndarray) -> None:
        """Drop the rows where `mask` (T,) is False. The surviving handles follow their rows; the dropped ones move
        to a table of their own, so they still read what they were when dropped (a removed track stays REMOVED)."""
        dropped = TrackTable(self.vote_window)
        for name in self._COLUMNS:
            column = getattr(self, name)
            setattr(dropped, name, column[~mask])
            setattr(self, name, column[mask])
        dropped.tracks = [t for t, k in zip(self.tracks, mask, strict=True) if not k]
        self.tracks = [t for t, k in zip(self.tracks, mask, strict=True) if k]
        for table in (self, dropped):
            for row, track in enumerate(table.tracks):
                track._table, track._row = table, row

    def clear(self) -> None:
        """Remove every track (`keep` of none)."""
        self.keep(np.zeros(len(self.tracks), dtype=bool))

    @property
    def confirmed(self) -> np.ndarray:
        """(T,) bool: tracked or lost."""
        return (self.state == TRACKED) | (self.state == LOST)

    def seconds_since_observed(self, frame_rate: float, rows: np.ndarray | None = None) -> np.ndarray:
        """(T,) float64 (or (M,) for `rows`) seconds from each track's last match to the frame being associated:
        a track that missed g frames (`frames_since_update`) was last seen g + 1 frames before it. Read during a
        frame's association, before `mark_matched` / `mark_missed` count the frame; `frame_rate` in frames/s."""
        missed = self.frames_since_update if rows is None else self.frames_since_update[rows]
        return (missed + 1) / frame_rate

    def mark_matched(
        self,
        rows: np.ndarray,
        scores: np.ndarray,
        observed_xywh: np.ndarray,
        detection_index: np.ndarray,
        min_hits: int,
    ) -> np.ndarray:
        """Record a match this frame for distinct `rows` (M,). Returns the rows just confirmed (they need an ID),
        in the order given."""
        before = self.state[rows]
        self.recovered[rows] = before == LOST
        self.recognised[rows] = False
        self.hits[rows] += 1
        self.frames_since_update[rows] = 0
        self.score[rows] = scores
        self.observed_xywh[rows] = observed_xywh
        self.detection_index[rows] = detection_index
        tentative = before == TENTATIVE
        if not any_set(tentative):  # (most frames: confirmed tracks only; they stay or become tracked)
            self.state[rows] = TRACKED
            return rows[:0]
        confirm = tentative & (self.hits[rows] >= min_hits)
        self.state[rows] = np.where(tentative & ~confirm, TENTATIVE, TRACKED)
        return rows[confirm]

    def vote(self, rows: np.ndarray, class_ids: np.ndarray, scores: np.ndarray) -> None:
        """Count one matched detection's class and score (M,) for each of the distinct `rows` (M,): each track's class
        becomes the score-weighted vote of its last `vote_window` detections (`ClassVote`, the same arithmetic).

        The tracks whose detections all had one class are counted in the vote columns at once (no object per
        track); a track's first detection of another class moves its votes into a `ClassVote` of its own
        (`Track.class_votes`), which counts them from then on.
        """
        single = self.vote_single[rows] & (class_ids == self.class_id[rows])
        if all_set(single):  # the common frame: every track of one class so far, and seen as it (no rows to pick)
            self._count_single_votes(rows, scores)
            return
        self._count_single_votes(rows[single], scores[single])
        other = ~single
        pending = zip(rows[other].tolist(), class_ids[other].tolist(), scores[other].tolist(), strict=True)
        for row, class_id, score in pending:
            track = self.tracks[row]
            if track.class_votes is None:  # its first detection of another class
                track.class_votes = self._single_class_vote(row)
                self.vote_single[row] = False
            self.class_id[row] = track.class_votes.add(class_id, score)

    def _count_single_votes(self, rows: np.ndarray, scores: np.ndarray) -> None:
        """`ClassVote.add` of a track's own class for all `rows` at once: the oldest score leaves a full window."""
        count = self.vote_count[rows]
        at = count % self.vote_window  # where the oldest score is, and the new one goes
        weight = self.vote_weight[rows]
        full = count >= self.vote_window
        if all_set(full):  # (most frames: every window full, no rows to pick)
            weight -= self.vote_scores[rows, at]
        else:
            weight[full] -= self.vote_scores[rows[full], at[full]]
        self.vote_weight[rows] = weight + scores
        self.vote_scores[rows, at] = scores
        self.vote_count[rows] = count + 1

    def _single_class_vote(self, row: int) -> ClassVote:
        """The `ClassVote` that counted the same votes as the vote columns of `row` (a track of one class)."""
        count, window = int(self.vote_count[row]), self.vote_window
        start = count % window if count >= window else 0
        ring = self.vote_scores[row]
        history = np.concatenate([ring[start:], ring[:start]])[: min(count, window)]  # oldest first
        return ClassVote.restore(window, int(self.class_id[row]), history.tolist(), float(self.vote_weight[row]))

    def mark_missed(self, rows: np.ndarray, max_frames_lost: np.ndarray) -> None:
        """No detection this frame for `rows` (M,): tentative tracks die, tracked ones become lost, lost ones
        older than their `max_frames_lost` (M,) are removed."""
        self.frames_since_update[rows] += 1
        self.detection_index[rows] = -1
        self.recovered[rows] = False
        self.recognised[rows] = False
        state = self.state[rows]
        state = np.where(state == TENTATIVE, REMOVED, np.where(state == TRACKED, LOST, state))
        expired = (state == LOST) & (self.frames_since_update[rows] > max_frames_lost)
        self.state[rows] = np.where(expired, REMOVED, state)
