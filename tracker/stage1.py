"""`Stage1Cost`: stage 1's cost (confirmed and lost tracks x confident detections, appearance + motion) and its rules.

`TrackerCore.step` asks it for the cost block of a frame as it asks the bank for similarities: it reads this frame's
`FrameView` (IoU, motion and Kalman gates, similarities, boxes, the border-cut pairs), the track table (states, time
lost, last observed boxes, whether each track was seen and banked uncut), the bank (how many looks each holds), the
calibration's bounds ("match", "reid", the lost and revival bounds, each track's own same-identity looks) and
`association` / `appearance` / `lifecycle` config; it keeps no state of its own. The rules are traced in
docs/rules.md.
"""

from __future__ import annotations

import logging
from typing import cast

import numpy as np

from tracker import association as assoc
from tracker.bank import AppearanceBank
from tracker.calibration import Calibration
from tracker.config import TrackerConfig
from tracker.entry import near_border
from tracker.fast_numpy import all_set, any_set, filled
from tracker.frame_view import BorderLooks, FrameView
from tracker.kalman import xywh_to_xyxy
from tracker.sweep import mask_places
from tracker.track import LOST, TRACKED, TrackTable
from tracker.truncation import side_contacts
from tracker.weak_looks import gateless_look_ties, near_tie_costs, outranked_thin_pairs, ungated_lookless_pairs

__all__ = ["Stage1Cost"]

log = logging.getLogger("tracker.core")  # the core's logger: its stage 1 messages keep their source


class Stage1Cost:
    """The stage 1 cost of a frame's tracks x detections, with every rule that prices or refuses a pair there.

    Holds references to the core's `TrackTable`, `AppearanceBank` and `Calibration` (it adds no sample and writes no
    track or bank) and the video's frame rate (frames per second; the time lost is counted in seconds). The core
    asks it, per frame: `border_pairs` and `exact_floors` while building the `FrameView` (which pairs the border rule
    judges; below which similarity no rule needs a lost track's exact value), then `cost` for stage 1's block;
    `match_bounds` is the appearance bound `cost` applies (for tools that show it).
    """

    def __init__(
        self,
        config: TrackerConfig,
        frame_rate: float,
        table: TrackTable,
        bank: AppearanceBank,
        calibration: Calibration,
    ) -> None:
        self.config = config
        self.frame_rate = frame_rate
        self.table = table
        self.bank = bank
        self.calibration = calibration

    def match_bounds(self, counts: np.ndarray | None = None, late: np.ndarray | None = None) -> np.ndarray:
        """(T, 1) stage 1 appearance gate: the fixed threshold for tracked tracks, the calibrated gate of lost
        ones (rising with the time lost: taking back a long-lost track is a revival). With
        `association.thin_bank_revival`, a lost track whose bank is thin (`AppearanceBank.thin`) needs the
        revival bound once lost longer than `lifecycle.max_seconds_lost_unbanked` (traced: TUD-Campus ACF jump, a
        one-look track of a person who left, lost 32 frames, took another person at similarity 0.566). `counts`:
        (T,) looks in each track's bank (`bank.count`), when the caller has them; `late`: (T,) bool, the late thin
        banks (`late_thin_banks`), when the caller has them."""
        lost = self.table.state == LOST
        if not any_set(lost):
            return filled((len(self.table.tracks), 1), self.config.appearance.match_threshold)
        seconds = self.table.seconds_since_observed(self.frame_rate)
        revival = self.calibration.revival_bound(seconds)  # (T,) read by both bounds below: taken once
        match = self.calibration.lost_match_bound(seconds, revival)
        bounds = np.where(lost, match, self.config.appearance.match_threshold)
        if self.config.association.thin_bank_revival:  # a thin bank's return after the unbanked lifetime: a revival
            if late is None:
                late = self.late_thin_banks(self.bank.count(self.table.slot) if counts is None else counts)
            if any_set(late):
                bounds = np.where(late, np.maximum(bounds, revival), bounds)
        return bounds[:, None]

    def late_thin_banks(self, counts: np.ndarray) -> np.ndarray:
        """(T,) bool: lost tracks whose bank is thin (`AppearanceBank.thin` of `counts`, (T,): fewer looks than
        `appearance.topk`, or than `appearance.bank_capacity` where smaller), lost longer than
        `lifecycle.max_seconds_lost_unbanked`: their return is a revival (`association.thin_bank_revival`)."""
        thin = (self.table.state == LOST) & self.bank.thin(counts)
        # the frames missed, as `mark_missed` counts a lifetime: late where an unbanked track would have expired
        seconds = self.table.frames_since_update / self.frame_rate
        return thin & (seconds > self.config.lifecycle.max_seconds_lost_unbanked)

    def exact_floors(self, lost: np.ndarray, border: np.ndarray | None) -> np.ndarray:
        """(T,) per track, the similarity below which no rule of this frame needs a pair's exact value
        (`AppearanceBank.similarity`'s floors; -inf: every value needed), from the (T,) bool `lost` tracks and this
        frame's (T, N) `border` pairs (`border_pairs`, None: none): for a lost track, the lowest bound any rule
        compares its pairs' looks with. Stage 1 prices a pair below its gate at inf whatever the value (`match_bounds`:
        `Calibration.lost_match_bound`, between the "match" bound and the revival bound, which is never below the
        "reid" bound; raised for late thin banks; lowered to the "match" bound where motion vouches), and every later
        stage 1 rule reads a lost track's look only where its cost is finite or against the "reid" bound
        (`weak_looks`, `_no_clear_look`, `tentative_resort`); stage 4 takes a pair from its revival bound (never below
        `association.reid_threshold`) and a rival counts within `association.reid_margin` of it. Tracked and
        tentative tracks' values are read by the calibration, the border rule's tracks' by their own quantile: their
        floors are -inf. Asks the calibration's bounds as stage 1 does in this frame (with a lost track; no sample is
        added in between: the same values). The bank's bound keeps a slack far above the bounds' float rounding."""
        floors = filled(len(lost), -np.inf)
        cfg = self.config.association
        reid, match = self.calibration.bound("reid"), self.calibration.bound("match")
        floors[lost] = min(reid, match, cfg.reid_threshold - cfg.reid_margin)
        if border is not None:
            floors[border.any(axis=1)] = -np.inf
        return floors

    def border_pairs(
        self,
        gate: np.ndarray,
        confirmed: np.ndarray,
        det_xywh: np.ndarray,
        scores: np.ndarray,
        frame_size: tuple[int, int] | None,
        mean: np.ndarray,
    ) -> np.ndarray | None:
        """(T, N) bool, the pairs the border rule judges (`association.border_look_quantile`), or None when there is
        none (the rule off, `frame_size` None, or no such pair): there one person may walk out just where another
        walks in, and motion alone cannot tell them apart. A pair is judged where

        - it lies inside the motion gate (`gate`, (T, N) bool) of a confirmed track (`confirmed`, (T,) bool);
        - its detection (`det_xywh` (N, 4) pixels, `scores` (N,)) is a stage 1 one (at least
          `association.high_score`) cut by a side border of the (height, width) frame (`truncation.TOUCH_PX`);
        - the track was last seen near that border (`entry.near_border`, within `association.entry_border_heights`
          of its height, or beyond it) and walks out through it (its Kalman x velocity, from the tracks' (T, 8)
          `mean`, points out): a person standing at the border or walking in is not replaced there by a newcomer;
        - the detection is wider than `association.lost_exit_fraction` of the track's width (a narrower sliver is
          what the person walking out still shows), unless the track was missed more than
          `association.border_sliver_frames` frames (then a sliver is no last view of its person);
        - the track holds `association.border_look_min_looks` own same-identity similarities
          (`Calibration.own_positives`): only such a track can be judged, so only its pairs need a crop.

        Traced: the velocity, PETS09 ACF pan2 frame 42 and yolov8n scale0.35 frame 68 (refused before it); the
        sliver, yolov8n TUD-Campus scale0.5 frames 50-53; the missed frames, yolov8n TUD-Campus zoom with
        compensation frame 44 (docs/rules.md, Borders)."""
        cfg = self.config.association
        if frame_size is None or cfg.border_look_quantile <= 0 or not gate.size:
            return None
        left, right = side_contacts(det_xywh, frame_size[1])
        left &= scores >= cfg.high_score
        right &= scores >= cfg.high_score
        if not (any_set(left) or any_set(right)):  # (most frames: no detection at a side border)
            return None
        near = near_border(xywh_to_xyxy(self.table.observed_xywh), frame_size, cfg.entry_border_heights)
        vx = mean[:, 4]  # a track walking out through that border (its Kalman velocity, px/frame, points out)
        at_side = ((near[:, 0] & (vx < 0))[:, None] & left[None, :]) | (
            (near[:, 2] & (vx > 0))[:, None] & right[None, :]
        )
        # a sliver no wider than `lost_exit_fraction` of the track's width is the leaving person's last (no look),
        # while the track was seen a moment ago: after a longer absence it is anyone's look
        whole_enough = det_xywh[None, :, 2] > cfg.lost_exit_fraction * self.table.observed_xywh[:, 2, None]
        whole_enough |= (self.table.frames_since_update > cfg.border_sliver_frames)[:, None]
        border = gate & confirmed[:, None] & at_side & whole_enough
        for row in border.any(axis=1).nonzero()[0]:  # (a few tracks at a border)
            own = self.calibration.own_positives(int(self.table.track_id[row]))
            border[row] &= len(own) >= cfg.border_look_min_looks
        return border if any_set(border) else None

    def _border_cut_refusals(
        self, border: BorderLooks | None, rows: np.ndarray, cols: np.ndarray, similarity: np.ndarray
    ) -> np.ndarray | None:
        """(P,) bool, per stage 1 pair (`rows`, `cols`: (P,) track and detection indices; `similarity`: (P,), NaN
        unknown) and this frame's `border` pairs (`FrameView.border`), or None when none is refused: an uncontested
        pair cut by a side border (`border_pairs`) whose look is below the track's own bound, the
        `association.border_look_quantile` quantile of the track's own same-identity similarities
        (`Calibration.own_positives`: its new looks against its bank), once it holds `association.border_look_min_looks`
        of them, and never above the calibrated "reid" bound (from which two looks are one person). Such a detection is
        someone else walking in where the track's person walks out (traced: TUD-Campus ACF pan2, pan8, jitter, frame 35:
        a person entering at the left border, inside the leaving person's Kalman gate at IoU 0.63, similarity 0.611
        against that track's own 0.76-0.83, took its ID for good); it starts a track of its own or is re-identified."""
        if border is None:
            return None
        tracked = self.table.state[rows] == TRACKED
        # a tracked track's contested pair is already priced by its look; a lost track's pair always is, but its
        # bound (`match_bounds`) knows only the time lost, not this track's own looks
        only = border.only[rows, cols]
        judged = np.where(tracked, only, border.pairs[rows, cols])
        if border.similarity is not None:  # (the looks compared for this rule alone)
            similarity = np.where(only, border.similarity[rows, cols], similarity)
        pick = judged & np.isfinite(similarity)
        if not any_set(pick):
            return None
        cfg = self.config.association
        reid = self.calibration.bound("reid")
        bounds = filled(len(rows), -np.inf)
        for row in np.unique(rows[pick]):
            own = self.calibration.own_positives(int(self.table.track_id[row]))
            if len(own) >= cfg.border_look_min_looks:
                bounds[rows == row] = min(float(np.quantile(own, cfg.border_look_quantile)), reid)
        refused = pick & (similarity < bounds)
        if any_set(refused):
            log.debug("stage 1: %d border-cut pair(s) refused by the track's own looks", int(refused.sum()))
        return refused if any_set(refused) else None

    def cost(
        self,
        view: FrameView,
        track_idx: np.ndarray,
        det_idx: np.ndarray,
        away: np.ndarray,
        part_boxes: np.ndarray | None,
        appearance_given: bool,
    ) -> np.ndarray:
        """(len(track_idx), len(det_idx)) stage 1 cost (`assoc.appearance_motion_cost`) of those tracks and
        detections (ascending indices) in this frame's `view`; inf outside the motion gate and for the tracks `away`
        (T,) from the view (or the pairs `away` (T, N): `TrackerCore`'s leaving pairs too), and for a lost track's
        pair with a detection judged a part of a person (`part_boxes`, (N,) bool, `GroundLine.part_boxes`; None: no
        detection is one). `appearance_given`: this video has fed a bank (without, no track lacks a clear look).
        Built from the gated pairs alone (a few per track): a crowd's cost is not a (T, N) matrix of passes. With
        `association.weak_look_ties`, weak appearance may veto a pair but not make it cheaper than its motion cost
        (`weak_looks.near_tie_costs`). With `association.vouched_lost_match`, a lost track's pair inside its Kalman
        gate that overlaps its prediction by `clear_iou` needs the "match" bound, not the bound rising with the time
        lost (traced: PETS09 yolov8n jump, frame 92, a person out of view for the second between two jumps came back
        at IoU 0.70 with the compensated prediction, similarity 0.645, refused and taken back a frame later)."""
        rows, cols, at, placed = self._gated_pairs(view, track_idx, det_idx, away)
        cost = filled((len(track_idx), len(det_idx)), np.inf)
        cfg, similarity = self.config.association, view.similarity.take(at)
        overlap = view.iou.take(at)  # the pairs' IoU: their motion cost's, and the vouched lost tracks' below
        motion = assoc.motion_cost(overlap, view.dets.scores[cols], cfg)  # the pairs' cost without looks
        state, gated = self.table.state[rows], view.kalman_gate.take(at)  # read by most rules below: taken once
        tracked, lost = state == TRACKED, state == LOST
        partial = None if cfg.partial_views_veto else self._partial_views(rows, tracked)
        if partial is not None and any_set(partial):  # border-cut looks do not refuse what motion vouches for
            similarity = np.where(partial & (gated | (motion <= cfg.max_cost)), np.nan, similarity)
        refused = self._border_cut_refusals(view.border, rows, cols, similarity)  # a newcomer where the track walks out
        any_lost = any_set(lost)  # (most rules below favour or refuse lost tracks' pairs: none, nothing to do)
        # looks in each track's bank (thin banks: lost tracks' rules below only)
        counts = self.bank.count(self.table.slot) if any_lost else None
        # (T,), made once (`counts` is set where a track is lost)
        late = self.late_thin_banks(cast(np.ndarray, counts)) if cfg.thin_bank_revival and any_lost else None
        # each pair's appearance bound: without a lost track the fixed threshold (no (T, 1) column to gather)
        bounds: np.ndarray | float = self.config.appearance.match_threshold
        if counts is not None:  # (set where a track is lost)
            bounds = self._pair_bounds(rows, lost, gated, overlap, counts, late)
        fused = assoc.fuse_appearance(motion, similarity, bounds, cfg)
        wants_looks = cfg.weak_look_ties or cfg.ungated_lookless_yields
        no_look = self._no_clear_look(rows, similarity, appearance_given) if wants_looks else None
        if no_look is not None and not any_set(no_look):
            no_look = None  # every track has a clear look: the two look-less rules below change nothing
        if cfg.weak_look_ties and no_look is not None:  # weak appearance never decides a near-tie
            reid = self.calibration.bound("reid")
            fused = near_tie_costs(fused, motion, similarity, gated, cols, no_look, reid, cfg.max_cost)
        if cfg.ungated_ties_by_motion and no_look is not None and any_set(tracked & ~gated & ~no_look):
            gateless = self._gateless_claims(rows, tracked, gated)  # a hidden person's look does not outbid motion
            fused = gateless_look_ties(fused, motion, gated, cols, no_look, tracked, gateless, cfg.max_cost)
        if cfg.ungated_lookless_yields and no_look is not None and any_lost:  # overlap alone yields to a look
            yields = ungated_lookless_pairs(fused, similarity, gated, cols, no_look, tracked, lost, cfg.max_cost)
            fused = np.where(yields, np.inf, fused) if any_set(yields) else fused
        if cfg.thin_bank_outranked and any_lost:  # a thin bank's look another lost track's outranks: a new ID
            assert counts is not None  # (taken where any track is lost)
            thin = self.bank.thin(counts[rows])
            outranked = outranked_thin_pairs(fused, similarity, cols, lost, thin)
            fused = np.where(outranked, np.inf, fused) if any_set(outranked) else fused
        if cfg.lost_pairs_plausible and any_lost:  # motion cannot vouch: a size stage 4 would refuse is refused
            fused = self._implausible_sizes(fused, motion, rows, cols, lost, view)
        if cfg.ungated_needs_reid:  # overlap alone admitted it and motion rejects it: only a sure look may take it
            fused = self._ungated_floor(fused, motion, similarity, tracked & ~gated)
        if any_lost and part_boxes is not None:  # a part of a person is no evidence that a lost track is back
            fused = np.where(lost & part_boxes[cols], np.inf, fused)
        if refused is not None:
            fused = np.where(refused, np.inf, fused)
        cost.put(placed, fused)
        return cost

    def _gated_pairs(
        self, view: FrameView, track_idx: np.ndarray, det_idx: np.ndarray, away: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The pairs of the `track_idx` x `det_idx` block (ascending indices) inside the motion gate, less the tracks
        `away` (T,) from the view (or the pairs `away` (T, N)), in row-major order: (P,) each, their track and
        detection indices, their flat places in the view's (T, N) matrices (for `take`) and in the block (for
        `put`). A crowd's cost is built from these few pairs a track, not from a (T, N) matrix of passes."""
        t, n = view.iou.shape
        # every track and every detection in stage 1 (a crowd's usual frame: all confirmed, all confident): the
        # block is the whole view, its rows and columns the view's own
        if len(track_idx) == t and len(det_idx) == n:  # (ascending distinct indices: 0..t-1 and 0..n-1)
            rows, cols, at = mask_places(view.motion_gate)
            placed = at  # (the block's places are the view's)
        else:  # the block's own gate, and the places of its pairs in both
            rows, cols, placed = mask_places(view.motion_gate.take(track_idx, axis=0).take(det_idx, axis=1))
            rows, cols = track_idx.take(rows), det_idx.take(cols)
            at = rows * n + cols
        if any_set(away):
            keep = ~(away[rows] if away.ndim == 1 else away[rows, cols])
            rows, cols, at, placed = rows[keep], cols[keep], at[keep], placed[keep]
        return rows, cols, at, placed

    def _pair_bounds(
        self,
        rows: np.ndarray,
        lost: np.ndarray,
        gated: np.ndarray,
        overlap: np.ndarray,
        counts: np.ndarray,
        late: np.ndarray | None,
    ) -> np.ndarray:
        """(P,) the similarity each stage 1 pair's look must reach in a frame with a lost track: its track's
        `match_bounds` (from the (T,) bank `counts` and `late` thin banks), lowered to the "match" bound for a `lost`
        track's pair that motion vouches for (`association.vouched_lost_match`: inside its Kalman gate, `gated`, at an
        `overlap` (IoU) of at least `association.clear_iou`; a late thin bank's only with
        `association.vouch_thin_banks`). `rows`: (P,) the pairs' track indices; the others (P,) per pair."""
        cfg = self.config.association
        bounds = self.match_bounds(counts, late)[rows, 0]
        if cfg.vouched_lost_match:  # motion that holds the person needs no revival's evidence
            vouched = lost & gated & (overlap >= cfg.clear_iou)
            if late is not None and not cfg.vouch_thin_banks:  # overlap does not vouch for a thin bank's revival
                vouched &= ~late[rows]
            bounds = np.where(vouched, np.minimum(bounds, self.calibration.bound("match")), bounds)
        return bounds

    @staticmethod
    def _gateless_claims(rows: np.ndarray, tracked: np.ndarray, gated: np.ndarray) -> np.ndarray:
        """(P,) bool, per stage 1 pair of the tracks `rows` ((P,) track index of each pair): a `tracked` track whose
        Kalman gate (`gated`, (P,) bool) holds none of this frame's confident detections, so its every pair rests on
        overlap and looks alone (its person is hidden or found only among the low-score boxes)."""
        holds = np.bincount(rows, weights=gated, minlength=int(rows.max(initial=-1)) + 1)[rows] > 0
        return tracked & ~holds

    def _implausible_sizes(
        self,
        fused: np.ndarray,
        motion: np.ndarray,
        rows: np.ndarray,
        cols: np.ndarray,
        lost: np.ndarray,
        view: FrameView,
    ) -> np.ndarray:
        """(P,) stage 1 costs `fused`, inf where a `lost` track's pair ((P,) bool) that motion alone rejects (`motion`,
        (P,) cost above `association.max_cost`: its grown Kalman gate or a sliver of overlap admitted it) has a
        detection stage 4 would call implausible: a height outside `association.max_size_ratio` of the track's last
        observed one (`assoc.plausible_size`). Such a pair rests on appearance alone, as a re-identification does,
        and is held to stage 4's plausibility (traced: TUD-Campus ACF original frame 34, a person hidden for good
        after frame 9 had their lost track take a neighbour's legs-only box, 39 x 96 px against its last 79 x 194
        (ratio 2.02), at similarity 0.66 and IoU 0.12, then that neighbour's other part boxes: the run's false
        positives 24 -> 19 with the rule).
        `rows`, `cols`: (P,) the pairs' track and detection indices; `view`: this frame's `FrameView`."""
        pick = lost & (motion > self.config.association.max_cost)
        if not any_set(pick):
            return fused
        track_h = self.table.observed_xywh[rows[pick], 3]
        fits = assoc.plausible_size(track_h, view.det_xywh[cols[pick], 3], self.config.association.max_size_ratio)
        if all_set(fits):
            return fused
        out = fused.copy()
        out[pick.nonzero()[0][~fits]] = np.inf
        return out

    def _ungated_floor(
        self, fused: np.ndarray, motion: np.ndarray, similarity: np.ndarray, ungated: np.ndarray
    ) -> np.ndarray:
        """(P,) stage 1 costs `fused` where a tracked track's pair outside its Kalman gate (`ungated`, (P,) bool:
        admitted by a sliver of overlap, `gate = kalman_gate | iou > 0`), which motion alone rejects (`motion`, (P,)
        cost above `association.max_cost`), costs at least its motion cost unless its `similarity` reaches the
        calibrated "reid" bound: a box the filter's innovation covariance calls implausible (a part of the person, a
        neighbour) is not taken on a look that different people of this video also reach."""
        if not any_set(ungated):  # (every pair inside its gate)
            return fused
        # A pair without a similarity already costs its motion cost: only looks below the bound can lower one.
        looked = ungated & np.isfinite(similarity)
        if not any_set(looked):  # (the bound is asked only then: it may recompute the calibration's quantiles)
            return fused
        reid, max_cost = self.calibration.bound("reid"), self.config.association.max_cost
        floored = looked & (similarity < reid) & (motion > max_cost)
        return np.where(floored, np.maximum(fused, motion), fused)

    def _partial_views(self, rows: np.ndarray, tracked: np.ndarray) -> np.ndarray:
        """(P,) bool: the tracks `rows` that are `tracked` ((P,) bool: not lost) and whose bank holds only
        looks cut by a side border of the frame (`TrackTable.whole_look`). A person entering shows a shoulder, then
        half a body: a fuller view of the same person resembles those partial views little (TUD-Campus at 0.35x,
        issue 10: a person entering at the left border, IoU 0.90 with the prediction, similarity 0.43 against the
        0.55 gate, refused and restarted under a new ID), so their similarity is no evidence against a detection that
        the track's motion vouches for. A lost track's gate grows with the time lost: its pairs keep the veto."""
        lacking = ~self.table.whole_look[rows]
        return lacking & tracked if any_set(lacking) else lacking

    def _no_clear_look(self, rows: np.ndarray, similarity: np.ndarray, appearance_given: bool) -> np.ndarray | None:
        """(P,) bool, per stage 1 pair of the tracks `rows` with its `similarity` (NaN: unknown): the track has no
        clear look there (`tracker.weak_looks`): it was never seen uncut by the side borders of the frame, or its
        bank holds no look uncut by them (an empty bank, or partial views only; a track can be seen uncut in a frame
        that does not feed its bank) and this pair's similarity is below the calibrated "reid" bound (from which two
        looks are one person). None when this video gives no appearance (then every bank is empty and motion alone
        decides everywhere; `appearance_given` False: no bank was fed yet)."""
        if not self.config.appearance.enabled or not appearance_given:
            return None
        unseen, lacking = ~self.table.width_seen[rows], ~self.table.whole_look[rows]
        if not any_set(lacking):
            return unseen
        return unseen | (lacking & ~(similarity >= self.calibration.bound("reid")))
