"""Fixed scene objects: tracks whose box does not jitter as tracked boxes do are kept but not reported.

A detector's lasting false positive on a fixed object (a sign post, a cone, a bin) is a box that comes back frame
after frame at the same place: on PETS09-S3-MF1 the public ACF boxes hold a sign post at 431,138,32,64 from frame 2
to 105, identical to 0.01 px in most frames, and its track made 58 of the run's 60 false positives. A person who
stands still is not like that: their box jitters, frame after frame, because their pixels change (breathing,
looking round, the camera's noise), and the detector's box follows. What separates the two is the size of that
jitter, and what counts as small depends on the detector, the camera and the resolution, so it is measured, not
configured:

- A track's *jitter* at a match is the largest change of an edge's per-frame displacement (`edge_step`) since its
  previous match, in heights of the new box (`box_jitter`): how far the box strayed from moving on as it moved. A
  walker and a person standing still jitter alike (their motion cancels out); a fixed object, or a box carried
  along by a steady camera pan, does not jitter at all. Camera-motion compensation moves the last observed box
  with the camera (as `TrackerCore` does) before the displacement is taken.
- The jitters of confirmed tracks matched in consecutive frames fill a FIFO, each tagged with its track. A jitter
  below the `lifecycle.still_quantile` quantile of the jitters the *other* tracks taught (at least
  `lifecycle.still_min_samples` of them) is *still*: a track's own jitter never judges it, as a fixed object
  learnt before it was recognised would otherwise set the bound by itself (its zeros are the lowest of all). Ties
  are not still: where other boxes repeat exactly too (TUD-Campus's public boxes repeat in 15% of consecutive
  frames), a repeat is no evidence.
- Each track keeps its *still share*: the exponentially weighted share of its observations that were still, with a
  time constant of `lifecycle.still_seconds` of observations. A track whose share exceeds one half is a fixed scene
  object: it is kept, matched and fed like any track (so its detections start no new track), but not reported. Its
  share decays as soon as its box jitters (someone standing at the sign, matched to its track; a person who was
  standing still), and it is reported again: after about 0.7 `still_seconds`.
- A track is first judged once the others have taught `still_min_samples` jitters, and its share then starts from
  the jitters it taught itself, still in the FIFO, each judged by the others' held now and weighted in the order
  taught (`_taught_share`): a fixed object seen since before the rule could judge is recognised at once, not
  `still_seconds` later. The count is small (as `association.birth_shape_min_samples`): on PETS09-S3-MF1 the
  tracked people teach 3-4 jitters a frame at 7 fps, and 50 are reached in frame 25, 20 in frame 12. A smaller
  sample judges by a higher quantile (the least of 20 jitters is about their 5%), which the majority over
  `still_seconds` absorbs.
- A track judged still teaches no jitter. Only whole boxes are judged: a box cut by a frame border (an edge within
  `truncation.TOUCH_PX` of it, or beyond it) has an edge the border holds still. It teaches the jitter of its other
  edges (`lifecycle.still_teach_cut_boxes`, `free_edges`): a person walking in by a border teaches from their first
  frames. Without a frame size no box can be told whole and the rule is off (as `birth.BirthShapes`). A box near a
  border but not cut by it is judged: a zooming or tilting camera carries a fixed object close to a border and keeps
  it there (PETS09 ACF zoom: the sign post came within a quarter of its height of the top border in frame 28 and
  stayed there up to frame 49, so it was first judged, and withheld, in frame 50; reported in 39 frames, 39 of the
  run's 40 false positives. Judged while no border cuts it, it is reported in 33 frames (up to frame 43): before that,
  the other tracks had not yet taught `still_min_samples` jitters).
- Until they have, `lifecycle.still_prior` judges by the Kalman filter's measurement noise model instead
  (`StillBoxes`): the sign post in PETS09 ACF zoom is then reported in frames 5-9 (FP 34 -> 6), on the original in
  frames 5-9 (was 5-14). The model's noise (5% of the box size per edge) is far above a real detector's (a person
  standing still: 0.3-0.5 px), so early on it is the other tracks' jitters that keep a person standing still
  reported: a box is still only below every one of them, and nothing is judged before another track has taught
  one (a person standing alone in view stays reported; no person lost on PETS09, TUD-Campus or MOT17: FN unchanged
  everywhere). A track first judged by the model starts its share from 0, not from the jitters it taught while
  alone: a walker alone in view whose detector's box is steady (0.5-1 px) taught jitters below the first other
  track's, and judged by them at once it was withheld for up to 20 frames (tests/test_still.py). Unless its box has
  not moved since its birth (`lifecycle.still_prior_unmoved`, `_unmoved`: each edge's net displacement since its
  first match, `TrackTable.edge_drift`, within the model's bound for two measurements of one place): then its
  share is at least that of its jitters held, each judged by the model's test as it stands (`_taught_prior_share`),
  once all n of them pass and that is unlikely for a box jittering as the other tracks' m held jitters
  (1 / C(n + m, m) below `still_quantile`; a person standing still alone has not moved either, and all their
  jitters may fall below a newcomer's first one). On PETS09 ACF zoom the sign post (drift 0.020 of its size at its
  first judgement, the bound 0.029) is so withheld from frame 15, not 26: the first person's box, cut by the right
  border for frames 11-21, teaches from its third frame (frame 13), and two of its jitters make the test.

Measured offline on the public boxes matched to ground-truth people (q = 0.01, 1 s, the quantile of the whole
sequence): no person's share exceeds 0.33 on the seven MOT17 FRCNN sequences (0.28 on MOT17-09, whose standing man's
box moves 0.3-0.5 px a frame), 0.14 on PETS09-S3-MF1, 0.00 on TUD-Campus; the sign post's jitter is 0 in 72% of its
observations. Judged by the change of the box instead of the change of its displacement, the walkers' motion sets
the bound and that man's share reaches 0.48 (with a 0.5 s time constant, 0.67).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import NamedTuple, overload

import numpy as np

from tracker.calibration import SimilarityQueue
from tracker.config import TrackerConfig
from tracker.entry import border_gaps
from tracker.fast_numpy import TINY, all_set, any_set
from tracker.kalman import SCALE_COLUMNS, xywh_to_xyxy
from tracker.track import TRACKED, TrackTable
from tracker.truncation import TOUCH_PX

__all__ = ["StillBoxes", "box_jitter", "edge_step", "free_edges", "model_jitter_quantile"]

_MAJORITY = 0.5  # a track whose still share exceeds this (most recent observations were still) is not reported
# The Kalman measurement model (`kalman.KalmanFilter.project`): centre and size of a box are measured with independent
# noises of the same std (`motion.std_position` of the box's width for x and w, of its height for y and h). An edge
# is the centre -/+ half the size, so its noise variance is (1 + _HALF**2) std^2, and the two edges of an axis
# correlate by (1 - _HALF**2) / (1 + _HALF**2) (0.6). A jitter at consecutive matches is a second difference of an
# edge (x_t - 2 x_t-1 + x_t-2): variance _SECOND_DIFFERENCE_GAIN times one measurement's.
_HALF = 0.5
_SECOND_DIFFERENCE_GAIN = 6.0  # 1 + 2**2 + 1
_FIRST_DIFFERENCE_GAIN = 2.0  # a net displacement between two measurements (x_t - x_0): 1 + 1
_QUADRATURE_NODES = 64  # Gauss-Legendre nodes of `_both_within` (exact to ~1e-12 at the quantiles used)
_BISECTIONS = 60  # halvings of the quantile's bracket (to the float's precision)
_QUANTILE_BRACKET = 10.0  # standard deviations: the quantile of `model_jitter_quantile` lies below this


# the key of `_owner_table`'s last row (a track that holds no jitter); found by no search: below every ID
_NO_OWNER = -1


@dataclass(frozen=True, slots=True)
class _OwnerBounds:
    """`StillBoxes._owner_table`: (U + 1,) arrays, one row per owner of the jitters held, then one for none."""

    keys: np.ndarray  # int64 track IDs, ascending, then _NO_OWNER
    enough: np.ndarray  # bool: the others taught `still_min_samples` jitters
    rank: np.ndarray  # int64: the rank of the `still_quantile` order statistic among the others' jitters
    low: np.ndarray  # the order statistic `rank` of all the jitters held: at or below the others' one
    high: np.ndarray  # the order statistic `rank` + own of all the jitters held: at or above the others' one


class _MatchedEdges(NamedTuple):
    """`StillBoxes._observe_edges`: the edges of a frame's M matched boxes against their tracks' previous match."""

    track_idx: np.ndarray  # (M,) the matched tracks' table rows
    observed: np.ndarray  # (M, 4) their previous matched boxes, centre-size pixels
    measured_xywh: np.ndarray  # (M, 4) this frame's boxes, centre-size pixels
    change: np.ndarray  # (M, 4) each edge's change of per-frame displacement, pixels (NaN at a first match)
    gap: np.ndarray  # (M,) frames each track missed before this match
    free: np.ndarray  # (M, 4) bool: the edges no border of the frame holds
    whole: np.ndarray  # (M,) bool: the boxes no border cuts


class StillBoxes:
    """The measured jitter of tracked boxes, and the tracks' still shares judged against it.

    Args:
        config: reads `lifecycle.still_quantile` (0 disables the rule), `still_seconds`, `still_min_samples`,
            `still_capacity`, `association.entry_border_heights` (what is near a border), and
            `appearance.calibration_sample_seconds`: once the FIFO is full, jitters are learnt once per this
            period, as the appearance calibration samples (the period counts the frames that teach jitters, so a
            video with frames where no track teaches samples a little more slowly).
        frame_rate: frames per second of the video.

    Until the other tracks have taught `still_min_samples` jitters (early in a video, or in one with few people:
    PETS09-S3-MF1's ACF boxes hold 1-2 tracks for its first 40 frames), `lifecycle.still_prior` judges a track
    matched in consecutive frames by the detector's box noise the Kalman filter assumes instead (`motion.std_position`
    of the box size per edge): still when every edge's jitter is below what that noise gives with probability
    `still_quantile` (`model_jitter_quantile`) and the box jitters less than any other track's jitter held (what
    was measured never judges looser than the model; a track no other track's jitter can cap is not judged, so a
    person standing alone in view is reported). The share so started carries on under the learnt bound.
    """

    def __init__(self, config: TrackerConfig, frame_rate: float) -> None:
        self.cfg = config.lifecycle
        # Per-edge std of a jitter under the measurement model, per pixel of the edge's scale (w for x, h for y).
        self._model_std = config.motion.std_position * np.sqrt(_SECOND_DIFFERENCE_GAIN * (1.0 + _HALF**2))
        self._model_bound = model_jitter_quantile(self.cfg.still_quantile) if self.enabled else 0.0  # in model stds
        self.window = max(1.0, self.cfg.still_seconds * frame_rate)  # observations: the share's time constant
        self._period = max(1, round(config.appearance.calibration_sample_seconds * frame_rate))  # frames
        self.reset()

    @property
    def enabled(self) -> bool:
        """Whether the still rule is on (`lifecycle.still_quantile` > 0)."""
        return self.cfg.still_quantile > 0.0

    def reset(self) -> None:
        """Forget the measured jitters (a new video)."""
        self._jitters = SimilarityQueue(self.cfg.still_capacity)  # FIFO of jitters (box heights), tagged by track ID
        self._calls = 0
        self._sorted = np.zeros(0)  # the jitters held, ascending
        self._owner_ids, self._owner_counts = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        self._bounds: dict[int, float] = {}  # track ID -> the others' order statistic (`_others_bound`)
        self._per_owner: _OwnerBounds | None = None  # `_owner_table`, until the FIFO changes
        self._hidden_ids: set[int] = set()  # track IDs whose box was ever withheld as a fixed object (`count_hidden`)
        self._hidden_frames = 0  # track-frames withheld: each hidden track counts once per frame it was matched

    def __setstate__(self, state: dict) -> None:
        """Restore a pickled state (a `track --resume` checkpoint); `_owner_table` is taken again when first read
        (one pickled before it existed has none)."""
        self.__dict__.update(state)
        self._per_owner = None

    @overload
    def _rank(self, n: np.ndarray) -> np.ndarray: ...
    @overload
    def _rank(self, n: int) -> np.integer: ...
    def _rank(self, n: np.ndarray | int) -> np.ndarray | np.integer:
        """Index of the `still_quantile` order statistic among n values (the lower quantile)."""
        return np.floor(self.cfg.still_quantile * (np.asarray(n) - 1)).astype(np.int64)

    @property
    def bound(self) -> float | None:
        """The `still_quantile` order statistic of all jitters held (box heights; a track that taught is judged by
        the others' alone, `_still`); None until `still_min_samples` are held."""
        if len(self._jitters) < self.cfg.still_min_samples:
            return None
        return float(self._sorted[self._rank(len(self._jitters))])

    def judge(
        self,
        table: TrackTable,
        track_idx: np.ndarray,
        measured_xywh: np.ndarray,
        frame_size: tuple[int, int] | None,
        camera_noise_px: float = 0.0,
    ) -> None:
        """Update the still shares (`TrackTable.still_share`) of the tracks `track_idx` (M,) matched this frame to
        the (M, 4) centre-size boxes `measured_xywh`, before the match is recorded (their `observed_xywh`,
        `frames_since_update` and `edge_step` still describe the previous match); learn the jitter of those that
        teach (confirmed, matched in the previous frame too, not judged still). `camera_noise_px`: the error of
        this frame's camera-motion estimate, pixels (0: no motion, or an exact one; `lifecycle.still_camera_noise`)."""
        if not self.enabled or len(track_idx) == 0:
            return
        if frame_size is None:  # nothing is judged; a later step must not be compared with a stale one
            table.edge_step[track_idx] = np.nan
            return
        matched = self._observe_edges(table, track_idx, measured_xywh, frame_size, camera_noise_px)
        jitter = _largest_change(matched.change, measured_xywh[:, 3])
        judged = np.isfinite(jitter) & matched.whole
        if not any_set(judged):  # only the boxes a border cuts may teach
            self._teach(table, matched, frame_size, jitter, table.track_id.take(track_idx), judged)
            return
        all_judged = all_set(judged)  # (most frames: every matched box; no rows picked)
        rows = track_idx if all_judged else track_idx[judged]
        jitter = jitter if all_judged else jitter[judged]
        share, owners = table.still_share.take(rows), table.track_id.take(rows)
        consecutive = (matched.gap if all_judged else matched.gap[judged]) == 0
        learn = (table.state.take(rows) == TRACKED) & consecutive & ~(share > _MAJORITY)
        self._teach(table, matched, frame_size, jitter, owners, learn)
        still, enough = self._still(jitter, owners)
        first = enough & np.isnan(share)  # judged for the first time: by the jitters it taught before
        if any_set(first):
            share[first] = [self._taught_share(owner) for owner in owners[first].tolist()]
        prior = ~enough & consecutive if self.cfg.still_prior else np.zeros_like(enough)
        if any_set(prior):  # too few learnt: judged by the measurement model, from its first jitter
            moved = matched.change[judged][prior]
            verdict, capped = self._model_still(moved, measured_xywh[judged][prior], jitter[prior], owners[prior])
            prior[np.flatnonzero(prior)[~capped]] = False  # no other track's jitter yet: not judged at all
            still[prior] = verdict[capped]
            share[prior & np.isnan(share)] = 0.0
            enough = enough | prior
        if all_set(enough):  # (most frames: every judged track; no rows picked)
            updated, at_rows = share + (still - share) / self.window, rows
        else:
            kept = share[enough]
            updated, at_rows = kept + (still[enough] - kept) / self.window, rows[enough]
        if any_set(prior) and self.cfg.still_prior_unmoved:  # a box that never moved: by all the jitters it taught
            unmoved = prior & self._unmoved(table.edge_drift[rows], table.drift_noise[rows])
            at = np.flatnonzero(unmoved[enough])
            taught = [
                self._taught_prior_share(int(owner), float(box[2:].min() / box[3]))
                for owner, box in zip(owners[unmoved].tolist(), measured_xywh[judged][unmoved], strict=True)
            ]
            updated[at] = np.maximum(updated[at], taught)
        table.still_share[at_rows] = updated

    def _observe_edges(
        self,
        table: TrackTable,
        track_idx: np.ndarray,
        measured_xywh: np.ndarray,
        frame_size: tuple[int, int],
        camera_noise_px: float,
    ) -> _MatchedEdges:
        """The edges of the (M, 4) centre-size boxes `measured_xywh` (pixels) matched to the tracks `track_idx` (M,)
        against each track's previous match: each edge's change of per-frame displacement (its jitter), and which
        edges a border of the (height, width) frame holds. Records this match's displacement
        (`TrackTable.edge_step`) and adds it to the drift since birth (`edge_drift`; with `camera_noise_px`, pixels,
        and `lifecycle.still_camera_noise`, the camera estimate's noise to `drift_noise`)."""
        gap = table.frames_since_update.take(track_idx)
        observed = table.observed_xywh.take(track_idx, axis=0)
        frames = (gap + 1)[:, None]  # (M, 1) frames since the last match
        step = edge_step(observed, measured_xywh, frames)
        previous = table.edge_step.take(track_idx, axis=0)
        change = np.abs(step - previous)  # (M, 4) each edge's change of displacement (NaN at a track's first match)
        sizes = measured_xywh.take(SCALE_COLUMNS, axis=1)  # (M, 4) each edge's w or h
        table.edge_drift[track_idx] += step * frames / sizes
        if camera_noise_px > 0.0 and self.cfg.still_camera_noise:  # each compensated frame adds its noise
            table.drift_noise[track_idx] += frames * np.square(camera_noise_px / sizes)
        free = free_edges(measured_xywh, frame_size)  # (M, 4) the edges no border holds
        whole = np.logical_and.reduce(free, axis=1)  # (M,) boxes no border cuts (`all(axis=1)`, no wrappers)
        table.edge_step[track_idx] = step
        return _MatchedEdges(track_idx, observed, measured_xywh, change, gap, free, whole)

    def _teach(
        self,
        table: TrackTable,
        matched: _MatchedEdges,
        frame_size: tuple[int, int],
        jitter: np.ndarray,
        owners: np.ndarray,
        learn: np.ndarray,
    ) -> None:
        """Push this frame's teaching jitters into the FIFO (`_learn`): the (J,) `jitter` of whole boxes by the
        tracks `owners` (J,) where `learn` (J,) bool (confirmed, matched in the previous frame too, not judged
        still), and those of the boxes a border cuts (`_cut_jitters` of the `matched` edges), taken only on a call
        that pushes any."""
        learns = any_set(learn)
        if learns and self._next_learn_skips():  # a call that pushes nothing: the cut boxes' jitters unread
            self._calls += 1
            return
        cut_jitter, cut_owners = self._cut_jitters(table, matched, frame_size)
        if learns or len(cut_jitter):
            self._learn([jitter[learn], cut_jitter], [owners[learn], cut_owners])

    def _cut_jitters(
        self, table: TrackTable, matched: _MatchedEdges, frame_size: tuple[int, int]
    ) -> tuple[np.ndarray, np.ndarray]:
        """(L,) jitters and (L,) owner IDs to teach (`_cut_teaching`) of the boxes a border cuts among the `matched`
        ones (`_observe_edges`); none where `lifecycle.still_teach_cut_boxes` is off or every box is whole. Taken
        only on a call that pushes jitters (once the FIFO is full: once per sampling period), before the shares are
        updated."""
        whole = matched.whole
        if not self.cfg.still_teach_cut_boxes or all_set(whole):
            return np.zeros(0), np.zeros(0, dtype=np.int64)
        cut = ~whole
        free = matched.free[cut] & free_edges(matched.observed[cut], frame_size)
        jitter = _largest_change(matched.change[cut], matched.measured_xywh[cut, 3], free)
        return self._cut_teaching(table, matched.track_idx[cut], jitter, matched.gap[cut])

    def _next_learn_skips(self) -> bool:
        """Whether the next `_learn` call pushes nothing (the FIFO full, and not a sampling period's call)."""
        return self._jitters.full and (self._calls + 1) % self._period != 0

    def _cut_teaching(
        self, table: TrackTable, rows: np.ndarray, jitter: np.ndarray, gap: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """(L,) jitters and (L,) owner IDs to teach, of the (C,) jitters of the free edges of boxes a border cuts
        (`lifecycle.still_teach_cut_boxes`) of the tracks `rows` (C,) matched `gap` (C,) frames after their last
        match, taught as whole boxes teach (confirmed, matched in the previous frame too, not judged still): a person
        walking in by a border teaches from their first frames, so that a fixed object alone in view before them is
        judged sooner (PETS09 ACF zoom: the first person's box is cut for about 10 frames)."""
        share = table.still_share[rows]
        learn = np.isfinite(jitter) & (table.state[rows] == TRACKED) & (gap == 0) & ~(share > _MAJORITY)
        return jitter[learn], table.track_id[rows[learn]]

    def _unmoved(self, drift: np.ndarray, camera_variance: np.ndarray | None = None) -> np.ndarray:
        """(P,) bool: the net displacements (P, 4) of boxes' edges since their first match (`TrackTable.edge_drift`,
        in box widths and heights) are each within the measurement model's `still_quantile` bound for the
        difference of two measurements of one place (as `model_jitter_quantile`'s, with the variance of a first
        difference, 2, for a second difference's `_SECOND_DIFFERENCE_GAIN`): the box is where it was born, up to the
        noise the Kalman filter assumes. A walker's drift grows with every step; a fixed object's stays that of the
        detector and the camera-motion estimate: `camera_variance` (P, 4), the estimate's noise summed since the
        first match (`TrackTable.drift_noise`, squared box widths and heights; `lifecycle.still_camera_noise`), is
        added to the bound in quadrature (an estimate a few hundredths of a pixel off every frame carries a fixed
        object by a pixel in 20 frames: PETS09 ACF pan2's sign post, 0.045 of its width against the bound 0.029)."""
        bound = self._model_bound * self._model_std * np.sqrt(_FIRST_DIFFERENCE_GAIN / _SECOND_DIFFERENCE_GAIN)
        if camera_variance is None or not camera_variance.any():
            return (np.abs(drift) < bound).all(axis=1)
        return (np.abs(drift) < np.sqrt(bound**2 + camera_variance)).all(axis=1)

    def _taught_prior_share(self, owner: int, narrow: float) -> float:
        """The still share a track first judged by the measurement model (`_model_still`) would have, had its jitters
        held in the FIFO been judged as they came by that test as it stands (as `_taught_share` for the learnt
        bound): below every jitter another track taught and below the model's per-edge bound, taken at its tightest
        (the FIFO keeps each jitter's largest edge change in box heights, not each edge's): that of the box's
        shorter side (`narrow`, its shorter side over its height, of the box now). Used only for a box that has not
        moved since its birth (`_unmoved`): a walker alone in view, whose steady box taught jitters below a newcomer's
        first few, starts from 0 like any track. And only when every one of its n jitters passes and that is
        unlikely for a box that jitters as the others do: n jitters drawn as the other tracks' m all fall below them
        with probability 1 / C(n + m, m), which must be below `still_quantile` (else 0: a person standing alone in
        view whose jitters all fell below a newcomer's first one or two is not withheld)."""
        values, owners = self._jitters.oldest_first()
        mine = owners == owner
        n, m = int(mine.sum()), int((~mine).sum())
        if not n or not m or math.comb(n + m, m) * self.cfg.still_quantile <= 1.0:
            return 0.0
        bound = min(float(values[~mine].min()), self._model_bound * self._model_std * narrow)
        still = values[mine] < bound
        return self._weighted_share(still) if still.all() else 0.0

    def _weighted_share(self, still: np.ndarray) -> float:
        """The exponentially weighted share (time constant `window` observations) of the verdicts `still` (S,),
        oldest first, starting from 0: what the share would be, had they been judged one by one."""
        keep = 1.0 - 1.0 / self.window
        weights = (1.0 - keep) * keep ** np.arange(len(still) - 1, -1, -1)  # the newest weighs most
        return float(weights @ still)

    def _model_still(
        self, moved: np.ndarray, boxes_xywh: np.ndarray, jitter: np.ndarray, owners: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """(P,) bool twice: whether the (P, 4) changes of the edges' per-frame displacement `moved` (pixels) of the
        (P, 4) boxes are each below the measurement model's `still_quantile` bound and their jitters (P,) below every
        jitter held that another track taught; and whether another track taught any (the model's noise is far looser
        than a real detector's, so it never judges alone: a person standing still with nobody else in view stays
        reported)."""
        values, tags = self._jitters.values(), self._jitters.tags()
        capped = (tags[:, None] != owners[None, :]).any(axis=0)
        scale = boxes_xywh.take(SCALE_COLUMNS, axis=1) * self._model_std  # each edge's jitter std under the model, px
        still = (moved < self._model_bound * scale).all(axis=1) & capped
        for row in np.flatnonzero(still).tolist():
            still[row] = jitter[row] < values[tags != owners[row]].min()
        return still, capped

    def _taught_share(self, owner: int) -> float:
        """The still share a track would have, had its jitters held in the FIFO (oldest first) been judged as they
        came, each by the bound of the others' jitters held now (not the bound of its time, which is not kept): a
        fixed object seen since before the rule could judge it is recognised at once."""
        values, owners = self._jitters.oldest_first()
        mine = owners == owner
        if not mine.any():
            return 0.0
        others = values[~mine]
        rank = int(self._rank(len(others)))
        return self._weighted_share(values[mine] < np.partition(others, rank)[rank])

    def _still(self, jitter: np.ndarray, owners: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(R,) bool twice: jitters below the `still_quantile` order statistic of the jitters held that other
        tracks taught, and whether they taught enough (`still_min_samples`) to judge at all."""
        if len(self._jitters) < self.cfg.still_min_samples:
            return np.zeros(len(owners), dtype=bool), np.zeros(len(owners), dtype=bool)
        table = self._owner_table()
        at = np.searchsorted(self._owner_ids, owners)  # each row's owner among those held; the last row: none held
        at = np.where(table.keys[at] == owners, at, len(self._owner_ids))
        enough = table.enough[at]
        still = enough & (jitter < table.low[at])
        unsure = enough & ~still & (jitter < table.high[at])
        for row in unsure.nonzero()[0].tolist():
            still[row] = jitter[row] < self._others_bound(int(owners[row]), int(table.rank[at[row]]))
        return still, enough

    def _owner_table(self) -> _OwnerBounds:
        """What `_still` reads per owner of the jitters held (one row per ID of `_owner_ids`, then one for a track
        that holds none), taken once per change of the FIFO (once full: once per sampling period): whether the
        others taught enough, the rank of the others' order statistic, and the order statistics of all the jitters
        held that bracket it (taking a track's own jitters out moves it up by at most their number of places)."""
        if self._per_owner is None:
            n = len(self._jitters)
            own = np.append(self._owner_counts, 0)
            rank = self._rank(np.maximum(n - own, 1))  # of the order statistic among the others' jitters
            self._per_owner = _OwnerBounds(
                keys=np.append(self._owner_ids, _NO_OWNER),
                enough=n - own >= self.cfg.still_min_samples,
                rank=rank,
                low=self._sorted[rank],
                high=self._sorted[np.minimum(rank + own, n - 1)],
            )
        return self._per_owner

    def _others_bound(self, owner: int, rank: int) -> float:
        """The order statistic `rank` of the jitters held that tracks other than `owner` taught (kept until the
        FIFO changes: once it is full, that is once per sampling period)."""
        bound = self._bounds.get(owner)
        if bound is None:
            others = self._jitters.values()[self._jitters.tags() != owner]
            bound = self._bounds[owner] = float(np.partition(others, rank)[rank])
        return bound

    def _learn(self, jitters: list[np.ndarray], owners: list[np.ndarray]) -> None:
        """Push jitters into the FIFO, given in parts (arrays joined in order; `owners`: the track IDs of each part's
        jitters, part for part), once per sampling period once it is full: the parts are joined only then."""
        self._calls += 1
        if self._jitters.full and self._calls % self._period:
            return
        self._jitters.push(np.concatenate(jitters), tags=np.concatenate(owners))
        self._sorted = np.sort(self._jitters.values())
        self._owner_ids, self._owner_counts = np.unique(self._jitters.tags(), return_counts=True)
        self._bounds.clear()
        self._per_owner = None

    @overload
    def hidden(self, share: np.ndarray) -> np.ndarray: ...
    @overload
    def hidden(self, share: float) -> bool: ...
    def hidden(self, share: np.ndarray | float) -> np.ndarray | bool:
        """(T,) bool (a bool for one float share): the tracks judged fixed scene objects (most recent observations
        still): not reported, and not enrolled in a persistent gallery."""
        return share > _MAJORITY

    def count_hidden(self, track_ids: np.ndarray) -> None:
        """Record that the tracks `track_ids` (H,), matched this frame, were not reported as fixed objects (for
        `summary`)."""
        self._hidden_ids.update(track_ids.tolist())
        self._hidden_frames += len(track_ids)

    def summary(self) -> dict[str, float | None]:
        """For reports once the rule applies ({} before): "bound", the learnt jitter bound (`bound`, box heights;
        None while the measurement model alone judged, `still_prior`); "jitters", the jitters it is taken from;
        "hidden_tracks", how many tracks were judged fixed objects and not reported; "hidden_frames", for how many
        track-frames they were not reported (`count_hidden`)."""
        bound = self.bound
        if bound is None and not self._hidden_ids:
            return {}
        return {
            "bound": None if bound is None else round(bound, 6),
            "jitters": len(self._jitters),
            "hidden_tracks": len(self._hidden_ids),
            "hidden_frames": self._hidden_frames,
        }


def edge_step(previous_xywh: np.ndarray, current_xywh: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """(M, 4) displacement per frame of the left, top, right and bottom edges (pixels) from the (M, 4) centre-size
    boxes `previous_xywh` to `current_xywh`, `frames` (M,) frames apart."""
    moved = (current_xywh - previous_xywh) / np.asarray(frames, dtype=np.float64).reshape(-1, 1)  # centre and size
    return xywh_to_xyxy(moved)  # the edges' moves from the centre's and the size's


def box_jitter(
    previous_step: np.ndarray, step: np.ndarray, heights: np.ndarray, edges: np.ndarray | None = None
) -> np.ndarray:
    """(M,) the largest change of an edge's per-frame displacement between two steps (M, 4) (`edge_step`): how far
    the box strayed from moving on as it moved, in `heights` (M,) of the new box. NaN where the previous step is not
    known (a track's first match). `edges` (M, 4) bool: only those edges count (`free_edges`); NaN with none."""
    return _largest_change(np.abs(step - previous_step), heights, edges)


def _largest_change(change: np.ndarray, heights: np.ndarray, edges: np.ndarray | None = None) -> np.ndarray:
    """`box_jitter` from the (M, 4) changes of the edges' displacement, `abs(step - previous_step)`."""
    if edges is None:  # (every edge: a change is >= 0 or NaN, the largest too)
        return change.max(axis=1) / np.maximum(heights, TINY)
    largest = np.where(edges, change, -np.inf).max(axis=1)
    largest[largest == -np.inf] = np.nan
    return largest / np.maximum(heights, TINY)


def free_edges(boxes_xywh: np.ndarray, frame_size: tuple[int, int]) -> np.ndarray:
    """(M, 4) bool: the left, top, right and bottom edges of the (M, 4) centre-size boxes that no border of the
    (height, width) frame holds: more than `truncation.TOUCH_PX` inside it (detectors clip boxes to the image, so a
    cut box reaches the border). A box with every edge free is whole: the still rule judges only those."""
    boxes = xywh_to_xyxy(np.asarray(boxes_xywh, dtype=np.float64).reshape(-1, 4))
    return border_gaps(boxes, frame_size) > TOUCH_PX


def _both_within(bound: float, correlation: float, nodes: np.ndarray, weights: np.ndarray) -> float:
    """P(|X| < bound and |Y| < bound) for standard normals X, Y with the given correlation (Gauss-Legendre
    quadrature over X of the conditional normal's mass, at the (Q,) `nodes` and `weights` of `leggauss`)."""
    x = nodes * bound
    spread = np.sqrt(1.0 - correlation**2)
    cdf = np.vectorize(lambda z: 0.5 * (1.0 + math.erf(z / math.sqrt(2.0))))
    inner = cdf((bound - correlation * x) / spread) - cdf((-bound - correlation * x) / spread)
    density = np.exp(-(x**2) / 2.0) / math.sqrt(2.0 * math.pi)
    return float(bound * weights @ (density * inner))


@functools.cache  # (a pure function of the config: every tracker of a process with one `still_quantile` shares it)
def model_jitter_quantile(quantile: float) -> float:
    """The `quantile` (0 < q < 1) of a box's largest edge jitter, each edge in its own std, when the box is measured
    with the Kalman filter's noise model at three consecutive frames (the module's `_HALF` comment): the two axes are
    independent, the two edges of an axis correlate by 0.6, so P(all four below u) = P(both of an axis below u)^2;
    solved for u by bisection. About 0.37 at q = 0.01."""
    correlation = (1.0 - _HALF**2) / (1.0 + _HALF**2)
    nodes, weights = np.polynomial.legendre.leggauss(_QUADRATURE_NODES)
    low, high = 0.0, _QUANTILE_BRACKET
    for _ in range(_BISECTIONS):
        mid = (low + high) / 2.0
        low, high = (mid, high) if _both_within(mid, correlation, nodes, weights) ** 2 < quantile else (low, mid)
    return (low + high) / 2.0
