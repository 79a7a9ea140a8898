"""`TrackerCore`: the model-free tracking loop (Kalman + appearance banks + four matching stages)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal, NamedTuple, cast

import numpy as np
import torch

from tracker import association as assoc
from tracker.assignment import index_pairs, linear_assignment
from tracker.bank import AppearanceBank
from tracker.birth import BirthShapes
from tracker.calibration import Calibration
from tracker.calibration_samples import add_frame_samples
from tracker.camera_motion import warp_boxes_xywh, warp_states
from tracker.classes import ClassPolicy
from tracker.config import TrackerConfig
from tracker.core_checkpoint import restore_state
from tracker.entry import entry_evidence
from tracker.fast_numpy import all_set, any_along, any_set, filled, indices
from tracker.frame_rate import frames_at_least
from tracker.frame_report import FrameReport
from tracker.frame_view import BorderLooks, FramePairs, FrameView, NoPairs, block
from tracker.gallery import Gallery
from tracker.gallery_link import GalleryLink
from tracker.ground_line import GroundLine, complete_part_boxes
from tracker.kalman import SCALE_COLUMNS, KalmanFilter, xywh_to_xyxy, xyxy_to_xywh
from tracker.measurement_noise import MeasurementNoise
from tracker.report_aspect import first_aspect, update_aspect
from tracker.report_weight import ReportWeight
from tracker.stage1 import Stage1Cost
from tracker.still import StillBoxes
from tracker.sweep import mask_pairs
from tracker.tentative_resort import resort_with_tentative
from tracker.track import LOST, REMOVED, TRACKED, Track, TrackTable
from tracker.truncation import (
    complete_truncated,
    pin_cut_edges,
    touches_side,
)
from tracker.types import Detections, EmbeddingFaults, InvalidDetections, OutsideDetections, TrackedObject
from tracker.view_exit import away_from_view

if TYPE_CHECKING:
    from tracker.classes import ClassVote

__all__ = ["EmbedFn", "TrackerCore"]

EmbedFn = Callable[[np.ndarray], torch.Tensor]
"""Detection rows (R,) -> their (R, D) embeddings."""

log = logging.getLogger(__name__)

_BUFFER_SIGMAS = 1.96  # motion buffer in velocity stds: the two-sided 95% normal quantile, as the 95% motion gate
_NO_PAIRS = np.zeros((0, 2), dtype=np.int64)  # (0, 2) matches of a stage with nothing to match (shared, read-only)
_NO_PAIRS.flags.writeable = False
_NO_VERSION = -1  # the in-place write count of a tensor that keeps none (made under `torch.inference_mode`)
_NO_STORED_EMBEDDINGS = (None, _NO_VERSION, None)  # `TrackerCore._stored_embeddings` before any is stored

# The core's attributes that moving the tracks into a frame replaces (never writes in place) before the frame's view
# is built: kept, and put back if building it fails (with the table's observed boxes; `TrackerCore._all_or_nothing`).
_MOVED_STATE = ("frame_index", "_mean", "_cov", "_obs_mean", "_obs_cov", "_stored_embeddings")


class Stage1Matches(NamedTuple):
    """Stage 1's result (`TrackerCore._match_stage1`): its pairs and what it leaves to the later stages."""

    pairs: np.ndarray  # (M, 2) confirmed (tracked or lost) track x confident detection, as (row, detection) indices
    tentative_pairs: np.ndarray  # (K, 2) tentative track x detection of a split box re-sorted with them (stage 3's)
    left_tracks: np.ndarray  # confirmed tracks left unmatched (stage 2 takes the tracked, stage 4 the lost ones)
    left_dets: np.ndarray  # confident detections left unmatched (stage 3's)
    left_tentative: np.ndarray  # tentative tracks left unmatched (stage 3's)


class Measurement(NamedTuple):
    """The boxes a frame's matched tracks are measured by (`TrackerCore._measure`), (M, ...) rows per pair."""

    xywh: np.ndarray  # (M, 4) the measured boxes, pixels
    uncut: np.ndarray | None  # (M,) bool: no side border cuts the detection; None: none does (no frame size)
    cut: np.ndarray | None  # (M,) bool: cut boxes measured at their track's width; None: none
    completed: np.ndarray | None  # (M,) bool: boxes measured at their track's size (`cut` or parts); None: none


class _NoisePriors(NamedTuple):
    """The matched pairs that measure the detector's noise, read before the update (`TrackerCore._noise_priors`)."""

    pooled: np.ndarray | None  # (K,) their places among the M matched pairs; None: all M (most frames)
    variance: np.ndarray  # (K, 4) (H P^- H^T)_ii, the predicted state's variances, pixels^2
    scale: np.ndarray  # (K, 4) box scales (width for cx and w, height for cy and h), pixels


class TrackerCore:
    """Associates detections to tracks frame by frame; no models inside.

    Call `step` once per frame, also with zero detections. Returns the confirmed tracks matched this frame, but for
    those judged fixed scene objects (`still`: kept and matched, not reported).

    Sources: SORT/DeepSORT's Kalman filter and appearance-with-motion cost (Bewley et al. 2016, Wojke et al. 2017;
    `tracker.kalman`), ByteTrack's high/low-score passes (Zhang et al., ECCV 2022; stages 1-2), OC-SORT's
    observation-centric re-update (Cao et al., CVPR 2023; `_reupdate`), BoT-SORT's camera-motion compensation
    (Aharon et al. 2022; `tracker.camera_motion`), MoCo/XBM-style per-track memories (`tracker.bank`), the
    Jonker-Volgenant assignment of `lap.lapjv` (`tracker.assignment`).
    """

    def __init__(
        self,
        config: TrackerConfig,
        frame_rate: float,
        device: torch.device | str = "cpu",
        gallery: Gallery | None = None,
        source_name: str = "",
    ) -> None:
        self.config = config
        self.frame_rate = float(frame_rate)
        self.device = torch.device(device)
        self.kalman = KalmanFilter(config.motion, step_ratio=config.motion.reference_frame_rate / self.frame_rate)
        app = config.appearance
        self.bank = AppearanceBank(
            app.bank_capacity, self.device, app.initial_slots, app.aggregation, app.topk, dtype=app.bank_dtype
        )
        self.classes = ClassPolicy(config.classes)
        self.calibration = Calibration(config, self.frame_rate)
        """Appearance bounds of this video: `calibration.bound("match" | "reid" | "gallery")`,
        `calibration.revival_bound(seconds_lost)`; `calibration.summary()` for reports."""
        self.births = BirthShapes(config, self.frame_rate)
        """Shapes of this video's tracked looks per class: a whole look of another shape starts no track."""
        self.still = StillBoxes(config, self.frame_rate)
        """The measured jitter of tracked boxes: a track whose box does not jitter (a fixed object) is not reported."""
        self.ground = GroundLine(config)
        """Reported boxes' height against foot row: a detection far shorter than it predicts is a part of a person."""
        self.embedding_faults = EmbeddingFaults()
        """Embedding rows of this video that were NaN, infinite or zero (`embedding_faults.count`; warned once)."""
        self.invalid_detections = InvalidDetections()
        """Detection rows of this video dropped as invalid (`invalid_detections.count`; warned once)."""
        self.outside_detections = OutsideDetections()
        """Detection rows of this video dropped as wholly outside the frame (`.count`; warned once)."""
        self.measurement_noise = MeasurementNoise(config.motion)
        """The detector's box noise measured from the Kalman innovations: `measurement_noise.factor` (4,)."""
        self.report_weight = ReportWeight(config.motion.noise_min_updates)
        """How far the reported width goes towards the smoothed-aspect width, measured (`tracker.report_weight`)."""
        self.table = TrackTable(self._vote_frames)  # the tracks and their per-frame scalars, row-aligned with _mean
        self.stage1 = Stage1Cost(config, self.frame_rate, self.table, self.bank, self.calibration)
        """Stage 1's cost of a frame's tracks x detections and its rules (reads the table, bank, calibration)."""
        self.gallery_link = GalleryLink(
            config, self.frame_rate, self.table, self.bank, self.calibration, self.still, gallery, source_name
        )
        """The gallery tier: new tracks searched in `gallery`, ended ones stored there, live ones offered."""
        self.gallery_link.attach(self)
        self.frame_report = self._frame_report()
        """What each frame reports: the tracks shown and their boxes (`outputs`), how their widths are made."""
        self._mean = np.zeros((0, 8))  # (T, 8) Kalman means, row-aligned with self.tracks
        self._cov = np.zeros((0, 8, 8))  # (T, 8, 8) Kalman covariances
        self._obs_mean = np.zeros((0, 8))  # (T, 8) state right after the last matched detection
        self._obs_cov = np.zeros((0, 8, 8))  # (T, 8, 8)
        self.frame_index = 0
        self._next_id = 1  # the ID the next confirmed track gets (an int, not a counter: the state pickles)
        # (this frame's embeddings, their in-place write count, the same as the bank stores them): `_bank_embeddings`
        self._stored_embeddings: tuple[torch.Tensor | None, int, torch.Tensor | None] = _NO_STORED_EMBEDDINGS
        # This video has fed a bank (the bank's `dim` outlives `reset`: it cannot tell a new video's state)
        self._appearance_given = False

    def __getstate__(self) -> dict:
        """The state to pickle (a `track` resume checkpoint): all but this frame's embedding cache and the stateless
        `frame_report` (made again from the restored parts on unpickling)."""
        state = {**self.__dict__, "_stored_embeddings": _NO_STORED_EMBEDDINGS}
        del state["frame_report"]
        return state

    def __setstate__(self, state: dict) -> None:
        """Restore a pickled state; one of an earlier version gets the parts it lacks (`core_checkpoint`)."""
        restore_state(self, state)
        # stateless: made from the restored parts (also for a checkpoint from before it was a module of its own)
        self.frame_report = self._frame_report()

    def _frame_report(self) -> FrameReport:
        """A `FrameReport` of this core's table, still boxes, ground line, birth shapes and report weight."""
        return FrameReport(self.config, self.table, self.still, self.ground, self.births, self.report_weight)

    # ------------------------------------------------------------------------------------------ public
    @property
    def tracks(self) -> list[Track]:
        """The live tracks (tentative, tracked and lost), row-aligned with the Kalman arrays."""
        return self.table.tracks

    @property
    def gallery(self) -> Gallery | None:
        """The identity gallery this stream searches and stores into (`gallery_link`), or None."""
        return self.gallery_link.gallery

    @property
    def source_name(self) -> str:
        """This stream's name, recorded with the gallery sightings it stores (settable: a new video's name)."""
        return self.gallery_link.source_name

    @source_name.setter
    def source_name(self, name: str) -> None:
        self.gallery_link.source_name = name

    def reset(self) -> None:
        """Forget all tracks (the video ended); IDs restart at 1. With a gallery, the identities of the
        confirmed tracks still alive are stored in it first."""
        for track in self.tracks:
            self.gallery_link.store(track, self.frame_index)
            self.bank.release(track.slot)
        self.gallery_link.reset(self)
        self.table.clear()
        self._mean, self._cov = np.zeros((0, 8)), np.zeros((0, 8, 8))
        self._obs_mean, self._obs_cov = np.zeros((0, 8)), np.zeros((0, 8, 8))
        self.frame_index = 0
        self._next_id = 1
        self._stored_embeddings = _NO_STORED_EMBEDDINGS
        self._appearance_given = False
        self.calibration.reset()
        self.births.reset()
        self.still.reset()
        self.ground.reset()
        self.measurement_noise.reset()
        self.report_weight.reset()
        self.embedding_faults.reset()
        self.invalid_detections.reset()
        self.outside_detections.reset()

    def advance(self, frames: int, frame_size: tuple[int, int] | None = None) -> int:
        """Advance `frames` frames that came with no detections (a live stream's outage, frames dropped under load):
        each one a `step` with none, so every track is predicted and missed, lost tracks age and those lost too long
        are removed (to the gallery, if any), exactly as if those frames had been given empty. Once no track is left
        the rest are only counted (`frame_index`): a frame with nothing to track and nothing detected changes
        nothing else, so a long gap costs at most the longest a track outlives its last match.

        Args:
            frames: the frames to advance, >= 0.
            frame_size: (height, width) of the stream's frames in pixels, as `step` takes it (None: not known).
        Returns:
            The frames stepped (the others were only counted).
        Raises:
            ValueError: a negative `frames`.
        """
        if frames < 0:
            raise ValueError(f"advance takes the frames to advance, >= 0, got {frames}")
        no_detections = Detections.from_arrays(np.zeros((0, 4)), np.zeros(0), device=self.device)
        stepped = 0
        while stepped < frames and self.tracks:
            self.step(no_detections, frame_size=frame_size)
            stepped += 1
        self.frame_index += frames - stepped
        return stepped

    def end_tracks(self, frames: int = 0) -> None:
        """A scene cut (`lifecycle.max_gap_seconds`): every track ends as one lost too long does (its identity to
        the gallery, if any; its bank slot given back), after `frames` frames counted with nothing in them. What
        this video taught stays (appearance bounds, birth shapes, the still rule, the noise measured), and IDs go
        on from the last one given (unlike `reset`: the outputs of one stream never give an ID twice).

        A failure part-way (an interrupt, a gallery that raises) leaves the tracks ended so far ended and the others
        live, with the gap's frames not counted: called again, it ends the rest (each identity stored once).

        Raises:
            ValueError: a negative `frames`.
        """
        if frames < 0:
            raise ValueError(f"end_tracks takes the frames the gap held, >= 0, got {frames}")
        # the gap's frames are counted first, each a miss of every track: the gallery dates an ended identity's last
        # sighting by all the frames since it, the gap's too (not just before this frame: "now" after an outage)
        self.frame_index += frames
        self.table.frames_since_update += frames
        ended = 0
        try:
            for track in self.tracks:
                self.gallery_link.track_ended(self, track, self.frame_index)
                self.bank.release(track.slot)
                ended += 1
        except BaseException:  # (it counted the cut as done: the rest stayed live, and a retry found no gap)
            self._drop_first(ended)
            self.frame_index -= frames
            self.table.frames_since_update -= frames
            raise
        self.table.state[:] = REMOVED  # (the dropped handles read REMOVED, as those `_mark_missed` removes)
        self.table.clear()
        self._mean, self._cov = np.zeros((0, 8)), np.zeros((0, 8, 8))
        self._obs_mean, self._obs_cov = np.zeros((0, 8)), np.zeros((0, 8, 8))

    def _drop_first(self, ended: int) -> None:
        """Drop the table's first `ended` tracks (ended by `end_tracks`, their bank slots given back)."""
        self.table.state[:ended] = REMOVED  # (the dropped handles read REMOVED, as those `_mark_missed` removes)
        keep = np.arange(len(self.tracks)) >= ended
        self.table.keep(keep)
        self._mean, self._cov = self._mean[keep], self._cov[keep]
        self._obs_mean, self._obs_cov = self._obs_mean[keep], self._obs_cov[keep]

    def step(
        self,
        dets: Detections,
        embed: EmbedFn | None = None,
        camera_motion: np.ndarray | None = None,
        frame_size: tuple[int, int] | None = None,
        camera_motion_noise: float = 0.0,
    ) -> list[TrackedObject]:
        """Advance one frame with this frame's detections.

        The order: every track moved by the camera motion and predicted (Kalman), the frame's pairs by motion (IoU,
        Kalman gate, contested and re-identification pairs: `FramePairs`), the looks that decide a pair embedded
        (lazily: `appearance.lazy_embedding`) and their bank similarities taken (`FrameView`); stage 1, confirmed
        tracks (tracked and lost) x confident detections by appearance and motion, with clear pairs first and split
        boxes re-sorted with tentative tracks; stage 2, tracked leftovers x low-score detections by IoU; stage 3,
        tentative tracks x leftover confident detections by IoU; stage 4, lost leftovers x leftover and stage 3's
        detections by appearance alone (re-identification; a revival takes its detection from a tentative track);
        then the appearance bounds and birth shapes learnt from this frame's pairs, the matched tracks corrected
        (Kalman) and their looks put in their banks, the others missed, new tracks started on what is left, the
        gallery searched and offered, and the frame reported.

        Args:
            dets: the frame's detections (with or without embeddings).
            embed: optional rows (R,) -> (R, D) embeddings, called at most once, for the detections whose
                appearance matters this frame (see `appearance.lazy_embedding`).
            camera_motion: optional (2, 3) affine or (3, 3) homography from the previous frame's pixels to
                this frame's; every track (tracked, lost, tentative) is moved by it before the prediction.
            frame_size: optional (height, width) of the frame in pixels: a revival candidate away from its
                borders needs less evidence (`tracker.entry`), and a track predicted wholly outside the frame is
                not continued by motion (stage 1); a box cut by its left or right border is measured at the
                track's width (`tracker.truncation`), reported boxes are clipped to it, and a box that does not
                jitter as tracked boxes do is judged a fixed scene object (`tracker.still`). None: only occluders
                tell; no track is out of view; boxes are used and reported as they are; no track is judged still.
            camera_motion_noise: the error of an estimated `camera_motion`, pixels (`CameraMotionEstimator.noise_px`;
                0: exact, a motion you know): a fixed object's net displacement may be that large
                (`lifecycle.still_camera_noise`).
        Raises:
            ValueError: `camera_motion` of another shape, not finite, or taking the tracks beyond floating-point
                range (`camera_motion.warp_states`), embeddings of another D than the banks hold (nothing is changed).
            Exception: whatever `embed` raises, unchanged, or a ValueError when it returns the wrong rows or D: the
                tracker's state is then as before the call (`_all_or_nothing`), so the frame can be given again.
        """
        self._check_dim(dets)
        camera_noise_px = camera_motion_noise if camera_motion is not None else 0.0  # (0: no motion, or exact)
        previous_mean = self._mean  # last frame's boxes, in its pixels: is a track leaving the view or coming back?
        # Predict, embed, compare: all or nothing (where `embed` fails, the state is as before the call).
        with self._all_or_nothing():
            self._move_into_frame(camera_motion, frame_size)  # camera motion, Kalman predict
            pairs = self._frame_pairs(dets, frame_size)  # by motion alone: which pairs are possible, which ambiguous
            dets, border_embedded = self._embed_deciding_looks(dets, pairs, embed)  # the looks that decide a pair
            view = self._frame_view(pairs, dets, border_embedded)  # + one bank similarity call for those pairs
        if camera_motion is not None:  # (read by nothing above: moved once the frame's view is built)
            self.births.follow_camera(camera_motion)
        cfg = self.config.association

        confident = indices(dets.scores >= cfg.high_score)
        low = indices((dets.scores >= cfg.low_score) & (dets.scores < cfg.high_score))
        is_confirmed = view.confirmed  # (the table's states change only once the stages have matched)
        confirmed, tentative = indices(is_confirmed), indices(~is_confirmed)

        # Stage 1: confirmed tracks (tracked and lost) x confident detections, appearance and motion; re-sorted with
        # the tentative tracks where a box split.
        stage1 = self._match_stage1(view, confirmed, confident, tentative, previous_mean, frame_size)
        m1, left_tracks = stage1.pairs, stage1.left_tracks

        # Stage 2: tracked (not lost) leftovers x low-score detections, IoU only.
        tracked_left = left_tracks[self.table.state[left_tracks] == TRACKED]
        m2, _, _ = self._match_iou(view, tracked_left, low, cfg.max_iou_distance_low, fuse_score=False)

        # Stage 3: tentative tracks x leftover confident detections, IoU only.
        m3, _, left_dets = self._match_iou(
            view, stage1.left_tentative, stage1.left_dets, cfg.max_iou_distance_tentative, cfg.fuse_score
        )
        m3 = np.concatenate([stage1.tentative_pairs, m3]) if len(stage1.tentative_pairs) else m3

        # Stage 4: lost tracks x leftovers and stage 3's detections, appearance alone. A revival outranks stage 3:
        # it takes its detection from the tentative track stage 3 gave it to (`_revivals_take`).
        lost_left = left_tracks[self.table.state[left_tracks] == LOST]
        matched = np.concatenate([m1[:, 0], m2[:, 0]])  # tracks matched this frame: rivals for the leftovers' looks
        m4 = self._reidentify(view, lost_left, np.concatenate([left_dets, m3[:, 1]]), frame_size, matched)
        m3, left_dets = _revivals_take(m4, m3, left_dets)

        # Learn from this frame's pairs (before the tracks change), then update, miss, start, link and report.
        matches = np.concatenate([m1, m2, m3, m4])
        self._learn_from_pairs(m1, m2, view, frame_size)
        uncut = self._update_matched(matches, dets, view, frame_size, camera_noise_px)  # Kalman correct
        self._feed_matched_banks(matches, uncut, view)  # each matched look into its track's bank (quality gate)
        self._mark_missed(matches[:, 0])  # the others age; lost too long: removed (to the gallery, if any)
        self._start_tracks(left_dets, dets, frame_size)  # on the confident leftovers; each bank takes its first look
        self.gallery_link.link_newborn(self, self.frame_index)  # gallery tier: new tracks searched
        self.gallery_link.publish_live(self, self.frame_index)  # and live ones offered to the other streams
        return self.frame_report.outputs(self._mean, dets, frame_size, self.gallery is not None)

    def _match_stage1(
        self,
        view: FrameView,
        confirmed: np.ndarray,
        confident: np.ndarray,
        tentative: np.ndarray,
        previous_mean: np.ndarray,
        frame_size: tuple[int, int] | None,
    ) -> Stage1Matches:
        """Stage 1: the `confirmed` (tracked and lost) tracks x the `confident` detections by appearance and motion
        (`Stage1Cost.cost` plus the class cost; Hungarian after the clear pairs, `association.clear_pairs_first`),
        then re-sorted with the `tentative` tracks where a box split (`_resort_with_tentative`). A track predicted out
        of the view (the camera turned away, or the person walked out; `previous_mean`: the (T, 8) states of the frame
        before, in its pixels) can come back by re-identification only (`view_exit.away_from_view`)."""
        cfg = self.config.association
        is_lost = self.table.state == LOST
        dets, observed, predicted = view.dets, self.table.observed_xywh, view.predicted_xyxy
        away = away_from_view(self._mean, previous_mean, observed, is_lost, dets.boxes_xyxy, frame_size, cfg, predicted)
        cost = self.stage1.cost(view, confirmed, confident, away, view.part_boxes, self._appearance_given)
        if view.class_cost is not None:  # (one class: nothing to add, no (T, N) copy)
            cost = cost + view.class_block(confirmed, confident)
        clear_margin = cfg.clear_pair_margin if cfg.clear_pairs_first else None
        pairs, left_tracks, left_dets = self._match(cost, confirmed, confident, cfg.max_cost, clear_margin)
        matched = Stage1Matches(pairs, _NO_PAIRS, left_tracks, left_dets, tentative)
        return self._resort_with_tentative(view, cost, confirmed, confident, matched, clear_margin)

    def _resort_with_tentative(
        self,
        view: FrameView,
        cost: np.ndarray,
        confirmed: np.ndarray,
        confident: np.ndarray,
        matched: Stage1Matches,
        clear_margin: float | None,
    ) -> Stage1Matches:
        """`association.tentative_resort` (`tracker.tentative_resort`): stage 1's pairs (`matched`) of the tracks
        `confirmed` x detections `confident` (its cost block `cost`), re-sorted with the tentative tracks where a
        split box calls for it: the tentative pairs made here are stage 3's (`Stage1Matches.tentative_pairs`).
        Returns `matched` itself where nothing is re-sorted."""
        cfg = self.config.association
        m1, tentative = matched.pairs, matched.left_tentative
        if not cfg.tentative_resort or len(tentative) == 0 or len(m1) == 0:
            return matched
        fused = view.dets.scores[confident] if cfg.fuse_score else None
        tentative_cost = assoc.iou_cost(block(view.iou, tentative, confident), fused)
        tentative_cost = tentative_cost + view.class_block(tentative, confident)
        tentative_cost[tentative_cost > cfg.max_iou_distance_tentative] = np.inf
        local = index_pairs(np.searchsorted(confirmed, m1[:, 0]), np.searchsorted(confident, m1[:, 1]))
        similarity = block(view.similarity, confirmed, confident)
        same_person = self.calibration.bound("reid")
        margin = cfg.tentative_resort_margin
        expected = block(view.kalman_gate, confirmed, confident)
        joint = resort_with_tentative(
            cost, tentative_cost, local, similarity, same_person, cfg.max_cost, clear_margin, margin, expected
        )
        if joint is None:
            return matched
        rows = np.concatenate([confirmed, tentative])
        pairs = index_pairs(rows[joint[:, 0]], confident[joint[:, 1]])
        is_confirmed = joint[:, 0] < len(confirmed)
        log.debug("stage 1: %d tentative track(s) re-sorted a split box's pairs", int((~is_confirmed).sum()))
        return Stage1Matches(
            pairs=pairs[is_confirmed],
            tentative_pairs=pairs[~is_confirmed],
            left_tracks=confirmed[~np.isin(confirmed, pairs[:, 0])],
            left_dets=confident[~np.isin(confident, pairs[:, 1])],
            left_tentative=tentative[~np.isin(tentative, pairs[:, 0])],
        )

    def _check_dim(self, dets: Detections) -> None:
        """Refuse embeddings of another size than the bank's (before any change, when they come with `dets`). A frame
        without detections carries no look, whatever its empty array's shape (a ReID's `np.empty(0)`)."""
        emb = dets.embeddings
        if emb is not None and emb.shape[0]:
            self.check_embedding_dim(emb.shape[1])

    def check_embedding_dim(self, dim: int, name: str = "embeddings") -> None:
        """Raise ValueError, naming `name` (the argument that gave them), when embeddings of size `dim` are not the
        D the banks hold, or, before the banks hold any, the D the gallery holds or another tracker sharing it looks
        with (`Gallery.join`, which records this one's D): refused before anything changes (checked only when a new
        track is searched in the gallery, it would already be that track's bank's D; two trackers of two ReIDs
        sharing a gallery failed so, in the middle of a frame)."""
        if self.bank.dim is not None:
            if dim != self.bank.dim:
                verb = "has" if name != "embeddings" else "have"
                raise ValueError(f"{name} {verb} D = {dim}, the tracker's banks hold D = {self.bank.dim}")
            return
        self.gallery_link.join(self, dim, name)

    @property
    def _min_hits(self) -> int:
        """Matches that confirm a track: `min_hits`, and at least `min_seconds_tentative` of frames."""
        life = self.config.lifecycle
        return max(life.min_hits, frames_at_least(life.min_seconds_tentative, self.frame_rate))

    @property
    def _vote_frames(self) -> int:
        """Matches in a track's class vote: `classes.vote_seconds` of frames, at least one."""
        return max(1, round(self.config.classes.vote_seconds * self.frame_rate))

    # ------------------------------------------------------------------------------------------ steps
    def _compensate_camera_motion(self, transform: np.ndarray, frame_size: tuple[int, int] | None = None) -> None:
        """Move every track's state, covariance, last observed box and re-update anchor into this frame's
        pixels (camera-motion compensation), all tracks in one batched operation each. A box cut by a side border
        of the (height, width) frame that the camera brings into the view keeps its edge on that border
        (`truncation.pin_cut_edges`)."""
        mean, cov = warp_states(self._mean, self._cov, transform)
        obs_mean, obs_cov = warp_states(self._obs_mean, self._obs_cov, transform)
        observed = warp_boxes_xywh(self.table.observed_xywh, transform)
        if frame_size is not None and len(mean):
            t = len(mean)
            boxes = pin_cut_edges(  # one call for the three box sets
                np.concatenate([self._mean[:, :4], self._obs_mean[:, :4], self.table.observed_xywh]),
                np.concatenate([mean[:, :4], obs_mean[:, :4], observed]),
                frame_size,
            )
            mean[:, :4], obs_mean[:, :4], observed = boxes[:t], boxes[t : 2 * t], boxes[2 * t :]
        self._mean, self._cov, self._obs_mean, self._obs_cov = mean, cov, obs_mean, obs_cov
        self.table.observed_xywh = observed

    def _all_or_nothing(self) -> _RestoredOnFailure:
        """Moving the tracks into a frame and building its view, as one (a `with` block): until the view is built no
        array of the state is written in place, only replaced, so if `embed` (or anything else inside) fails, putting
        the references back restores the state exactly (frame index, Kalman means and covariances, observed boxes,
        embedding cache) and the error goes on unchanged: the frame can be given again."""
        return _RestoredOnFailure(self)

    def _move_into_frame(self, camera_motion: np.ndarray | None, frame_size: tuple[int, int] | None) -> None:
        """Every track moved into this frame: by the camera motion (`_compensate_camera_motion`), then the Kalman
        prediction (`_predict`); the frame counted. Replaces the state's arrays, never writes them in place
        (`_all_or_nothing`)."""
        if camera_motion is not None:
            self._compensate_camera_motion(camera_motion, frame_size)
        self.frame_index += 1
        self._predict()

    def _predict(self) -> None:
        """Kalman predict of every track, into new arrays (`_all_or_nothing` keeps the previous ones to restore)."""
        if not self.tracks:
            return
        # Copies, made C-contiguous, then predicted in place: the previous arrays stay as they were.
        self._mean, self._cov = np.array(self._mean, order="C"), np.array(self._cov, order="C")
        lost = self.table.state == LOST
        if any_set(lost):
            self._mean[lost, 6:8] = 0.0  # a hidden box keeps its size
        self.kalman.predict_in_place(self._mean, self._cov)

    def _frame_pairs(self, dets: Detections, frame_size: tuple[int, int] | None = None) -> FramePairs | NoPairs:
        """The predicted tracks x this frame's detections by motion alone (`FramePairs`): IoU, the motion gate,
        the contested pairs (a second candidate overlaps), the re-identification pairs of the lost tracks, the pairs
        whose looks are compared, and (with the frame's (height, width) `frame_size`) the border-cut pairs of
        `Stage1Cost.border_pairs`; the detections that are parts of a person (`_part_box_mask`)."""
        n, t = len(dets), len(self.tracks)
        det_xywh = xyxy_to_xywh(dets.boxes_xyxy)
        part_boxes = self._part_box_mask(dets, frame_size)
        confirmed = self.table.confirmed  # (T,) made once a frame: stage 1's tracks, the pairs compared, the noise
        if t == 0 or n == 0:
            return NoPairs(det_xywh, part_boxes, confirmed)
        mean, cov = self._mean, self._cov
        predicted = xywh_to_xyxy(mean[:, :4])  # (T, 4) corners: the IoU's, and the walking-out rule's (stage 1)
        iou = assoc.buffered_iou_matrix(predicted, dets.boxes_xyxy, self._motion_buffer(cov))
        class_cost = self._class_cost(dets)
        compatible = True if class_cost is None else np.isfinite(class_cost)
        noise = self.measurement_noise.applied
        kalman_gate, diagonal = self.kalman.gate_and_diagonal(mean, cov, det_xywh, self.config.motion.gate_chi2, noise)
        gate = kalman_gate | (iou > 0)
        if class_cost is not None:  # (with one class there is nothing to test: `& True` would copy (T, N))
            gate &= compatible

        lost = self.table.state == LOST
        # with one class the gate holds every overlapping pair: the IoU outside it is 0 already (no (T, N) copy)
        gated_iou = iou if class_cost is None else np.where(gate, iou, 0.0)
        contested = _contested(gated_iou, self.config.association.contested_iou)
        # Without lost tracks (the common frame) only contested pairs need appearance: no re-identification pairs.
        plausible, lost_pairs = None, None
        if any_set(lost):
            plausible, lost_pairs = self._reid_candidates(gated_iou, contested, lost, det_xywh, compatible)

        # Appearance is consulted where motion alone could be wrong: a lost track, or a track or detection
        # with a second candidate overlapping it. A clear one-to-one pair of a tracked track needs no similarity.
        compare = _appearance_pairs(gate, contested, lost_pairs, plausible)
        border = self.stage1.border_pairs(gate, confirmed, det_xywh, dets.scores, frame_size, mean)
        border_only = None if border is None else border & ~compare
        return FramePairs(
            det_xywh=det_xywh,
            part_boxes=part_boxes,
            confirmed=confirmed,
            iou=iou,
            class_cost=class_cost,
            motion_gate=gate,
            kalman_gate=kalman_gate,
            innovation_diagonal=diagonal,
            lost=lost,
            gated_iou=gated_iou,
            plausible=plausible,
            lost_pairs=lost_pairs,
            compare=compare,
            border=border,
            border_only=border_only,
            predicted_xyxy=predicted,
        )

    def _embed_deciding_looks(
        self, dets: Detections, pairs: FramePairs | NoPairs, embed: EmbedFn | None
    ) -> tuple[Detections, np.ndarray | None]:
        """`dets` with the looks that decide a pair embedded (`_looks_to_embed`; one `embed` call at most), and the
        (N,) bool detections embedded for the border rule alone (fed to no matched track's bank, no sample; a new
        track started on one takes it as its first look, as it would any look it has; None: none). Without
        `embed` or with appearance off, `dets` as they are."""
        if embed is None or not self.config.appearance.enabled or len(dets) == 0:
            return dets, None
        need, border_embedded = self._looks_to_embed(dets, pairs)
        return self._embed(dets, need, embed), border_embedded

    def _looks_to_embed(self, dets: Detections, pairs: FramePairs | NoPairs) -> tuple[np.ndarray, np.ndarray | None]:
        """(N,) bool the detections whose look this frame reads (`_needs_embedding`, less those nothing would read:
        `_drop_unread`), and the (N,) bool of them wanted by the border rule alone (`Stage1Cost.border_pairs`;
        None: none)."""
        usable = self._can_use_appearance(dets, pairs.part_boxes)
        if isinstance(pairs, NoPairs):  # no pair to compare: the looks a new track's bank takes
            return self._drop_unread(dets, usable, np.zeros(len(dets), dtype=bool)), None
        # A crop is cut only where stage 1 could choose wrongly by motion: a second candidate below
        # `high_score` never takes part in stage 1, so it does not make the pair ambiguous there.
        strong = dets.scores >= self.config.association.high_score
        strong = strong if pairs.part_boxes is None else strong & ~pairs.part_boxes
        contested_in_stage1 = _contested(pairs.gated_iou * strong[None, :], self.config.association.contested_iou)
        in_stage1 = _appearance_pairs(pairs.motion_gate, contested_in_stage1, pairs.lost_pairs, pairs.plausible)
        need = self._needs_embedding(pairs.motion_gate, pairs.gated_iou, pairs.lost, in_stage1) & usable
        need = self._drop_unread(dets, need, any_along(pairs.compare, 0))
        border_embedded = None
        if pairs.border_only is not None:  # embedded for the border rule alone: read by it, fed to no matched bank
            extra = any_along(pairs.border_only, 0) & usable & ~need & ~dets.has_embedding
            border_embedded = extra if any_set(extra) else None
            need = need | extra
        return need, border_embedded

    def _frame_view(
        self, pairs: FramePairs | NoPairs, dets: Detections, border_embedded: np.ndarray | None
    ) -> FrameView:
        """The frame's view (`FrameView`): its `pairs` by motion and ONE bank similarity call for all pairs any
        stage may read (`_pair_similarities`), with `dets` as embedded (`_embed_deciding_looks`, which also gave
        `border_embedded`); the looks only the border rule reads set apart (`_border_looks`)."""
        if isinstance(pairs, NoPairs):
            return _empty_view(len(self.tracks), pairs, dets)
        similarity, border = _border_looks(pairs, self._pair_similarities(pairs, dets), border_embedded)
        plausible = pairs.plausible  # (set where a track is lost)
        reid_sim = np.where(plausible, similarity, np.nan) if plausible is not None else None  # (stage 4 reads it)
        return FrameView(
            pairs.iou,
            pairs.class_cost,
            pairs.motion_gate,
            pairs.kalman_gate,
            similarity,
            reid_sim,
            pairs.det_xywh,
            dets,
            pairs.confirmed,
            border,
            pairs.innovation_diagonal,
            pairs.part_boxes,
            pairs.predicted_xyxy,
        )

    def _pair_similarities(self, paired: FramePairs, dets: Detections) -> np.ndarray:
        """(T, N) bank similarities (`AppearanceBank.similarity`) of the pairs a stage, the calibration or the border
        rule reads: confirmed tracks (stages 1 and 4; a tentative track is matched by IoU alone) x detections fit for
        an appearance stage or a bank, among the pairs compared (`FramePairs.compare`, `border_only`); NaN elsewhere,
        and everywhere without appearance."""
        if not (self.config.appearance.enabled and dets.embeddings is not None and any_set(dets.has_embedding)):
            return filled((len(self.tracks), len(dets)), np.nan)
        fit = (dets.has_embedding & self._can_use_appearance(dets, paired.part_boxes))[None, :]
        candidates = paired.compare & fit
        if not all_set(paired.confirmed):
            candidates &= paired.confirmed[:, None]
        if paired.border_only is not None:
            candidates = candidates | (paired.border_only & fit)
        any_lost = paired.plausible is not None
        floors = self.stage1.exact_floors(paired.lost, paired.border) if any_lost else None
        return self.bank.similarity(self.table.slot, self._bank_embeddings(dets), candidates, floors)

    def _part_box_mask(self, dets: Detections, frame_size: tuple[int, int] | None) -> np.ndarray | None:
        """(N,) bool: this frame's detections that are parts of a person, far shorter than the ground line predicts
        at their foot row (`GroundLine.part_boxes`; with the frame's (height, width) `frame_size`, none cut by its top
        or bottom border): no look, no lost track brought back, measured at the track's size. None where none is
        (most frames: no mask to apply)."""
        part = self.ground.part_boxes(dets.boxes_xyxy, dets.class_ids, frame_size)
        return part if any_set(part) else None

    def _reid_candidates(
        self,
        gated_iou: np.ndarray,
        contested: np.ndarray,
        lost: np.ndarray,
        det_xywh: np.ndarray,
        compatible: np.ndarray | bool,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The re-identification pairs of a frame with lost tracks, (T, N) bool each: those `plausible` for a
        revival (`assoc.plausible_reid_pairs`: the detection (N, 4 xywh) within reach of the lost track's last box
        for the time lost, of a plausible size; and of a `compatible` class) and every lost track's pairs
        (`lost` (T,) bool). Neither holds a detection that plainly continues one tracked track (`gated_iou` (T, N)
        inside the gate, not `contested`: `_clear_continuations`): it is not a lost track's to take."""
        t, n = gated_iou.shape
        tracked = self.table.state == TRACKED
        clear = _clear_continuations(gated_iou, contested, tracked, self.config.association.clear_iou)
        plausible = np.zeros((t, n), dtype=bool)
        seconds = self.table.seconds_since_observed(self.frame_rate, lost)
        observed = self.table.observed_xywh[lost]
        plausible[lost] = assoc.plausible_reid_pairs(observed, seconds, det_xywh, self.config.association)
        plausible &= compatible & ~clear[None, :]
        return plausible, lost[:, None] & ~clear[None, :]

    def _class_cost(self, dets: Detections) -> np.ndarray | None:
        """(T, N) class cost of every track x detection pair (`ClassPolicy.cost`), or None when the tracks and the
        detections are all of one class (the common case: a matrix of zeros, nothing to add or test)."""
        classes = self.table.class_id
        if all_set(classes == classes[0]) and all_set(dets.class_ids == classes[0]):
            return None
        return self.classes.cost(classes, dets.class_ids)

    def _motion_buffer(self, cov: np.ndarray) -> np.ndarray:
        """(T, 2) pixels by which overlaps are buffered: the displacement the filter cannot predict (95% of its
        velocity distribution) over the part of the frame interval beyond the reference interval. Zero at and above
        the reference frame rate; at low rates it lets a track whose velocity is still unknown overlap its next
        detection."""
        beyond = max(0.0, 1.0 - self.frame_rate / self.config.motion.reference_frame_rate)
        if beyond == 0.0:  # (the common case: no standard deviations to take)
            return np.zeros((len(cov), 2))
        return self.kalman.velocity_std(cov)[:, :2] * (_BUFFER_SIGMAS * beyond)

    def _needs_embedding(
        self, gate: np.ndarray, gated_iou: np.ndarray, lost: np.ndarray, compare: np.ndarray
    ) -> np.ndarray:
        """(N,) bool: detections whose appearance matters this frame.

        Lazy mode embeds a detection only if it is in an ambiguous or re-identification pair, has no track in
        its gate (it may start a track or revive a lost one), or is the likeliest match (highest IoU) of a
        visible track whose bank is due for a refresh. Otherwise every detection is embedded.
        """
        app = self.config.appearance
        if not app.lazy_embedding:
            return filled(gate.shape[1], True, bool)
        refresh = max(1, round(app.refresh_seconds * self.frame_rate))
        stale = ~lost & (self.frame_index - self.table.bank_frame >= refresh)
        need = any_along(compare, 0) | ~any_along(gate, 0)
        rows = indices(stale & any_along(gated_iou > 0, 1))
        need[gated_iou[rows].argmax(axis=1)] = True
        return need

    def _drop_unread(self, dets: Detections, need: np.ndarray, compared: np.ndarray) -> np.ndarray:
        """(N,) bool: `need` without the detections whose embedding nothing would read (lazy mode): compared with no
        track (`compared`, (N,) bool: in a pair whose similarity any stage may read) and refused by the bank's quality
        gate (`_fit_for_bank`: a low score or a box in front), so no bank, calibration sample or new track's bank takes
        it either: a stale bank's refresh of an occluded walker, an unmatched low-score box (docs/speed-log.md)."""
        rows = indices(need & ~compared)
        if not self.config.appearance.lazy_embedding or len(rows) == 0:
            return need
        need = need.copy()
        need[rows] = self._fit_for_bank(dets, rows)
        return need

    def _can_use_appearance(self, dets: Detections, part_boxes: np.ndarray | None) -> np.ndarray:
        """(N,) bool: detections confident enough for an appearance stage or a bank (low ones never are), and not a
        part of a person (`part_boxes`, (N,) bool, from `_part_box_mask`; None: none is): its look is not theirs."""
        threshold = min(self.config.association.high_score, self.config.appearance.min_score)
        usable = dets.scores >= threshold
        return usable if part_boxes is None else usable & ~part_boxes

    def _embed(self, dets: Detections, need: np.ndarray, embed: EmbedFn) -> Detections:
        """`dets` with the (N,) bool `need` rows that carry no embedding yet embedded by one `embed` call (faulty rows
        counted in `embedding_faults`); ValueError when `embed` gives another D than the banks hold."""
        rows = indices(need & ~dets.has_embedding)
        if not len(rows):
            return dets
        dets = dets.with_embeddings(rows, embed(rows), self.embedding_faults)
        self._check_dim(dets)
        return dets

    def _match(
        self,
        cost: np.ndarray,
        track_idx: np.ndarray,
        det_idx: np.ndarray,
        max_cost: float,
        clear_margin: float | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Hungarian on the (len(track_idx), len(det_idx)) block `cost` of those tracks and detections, after its
        clear mutual-best pairs when `clear_margin` is given (`assignment.clear_pairs`). Returns (M, 2) global pairs,
        leftover tracks, dets."""
        if len(track_idx) == 0 or len(det_idx) == 0:
            return _NO_PAIRS, track_idx, det_idx
        result = linear_assignment(cost, max_cost, clear_margin)
        pairs = index_pairs(track_idx[result.pairs[:, 0]], det_idx[result.pairs[:, 1]])
        return pairs, track_idx[result.unmatched_rows], det_idx[result.unmatched_cols]

    def _match_iou(
        self, view: FrameView, track_idx: np.ndarray, det_idx: np.ndarray, max_cost: float, fuse_score: bool
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """`_match` on the IoU cost (`assoc.iou_cost`, fused with the detection scores when `fuse_score`) plus the
        class cost of those tracks and detections; no cost is built when either side is empty (most frames)."""
        if len(track_idx) == 0 or len(det_idx) == 0:
            return _NO_PAIRS, track_idx, det_idx
        fused = view.dets.scores[det_idx] if fuse_score else None
        cost = assoc.iou_cost(block(view.iou, track_idx, det_idx), fused) + view.class_block(track_idx, det_idx)
        return self._match(cost, track_idx, det_idx, max_cost)

    def _reidentify(
        self,
        view: FrameView,
        lost: np.ndarray,
        det_idx: np.ndarray,
        frame_size: tuple[int, int] | None,
        matched: np.ndarray,
    ) -> np.ndarray:
        """Stage 4: long-term re-identification of lost tracks by appearance alone; the bound a pair must reach
        grows with the time lost and depends on where the detection appeared (a border, an occluder). A revival
        must beat by `reid_margin` every rival similarity to its detection: the other lost tracks', and those of
        the tracks `matched` this frame: a duplicate box of a visible person, or a look-alike beside
        them, is ambiguity, and ambiguity gives a new ID rather than a merge."""
        if len(lost) == 0 or len(det_idx) == 0 or view.reid_sim is None or not any_set(np.isfinite(view.reid_sim)):
            return _NO_PAIRS
        sim = block(view.reid_sim, lost, det_idx)
        # no look reaches the lowest bound any pair can have (most frames that get here: every cost would be inf)
        if not any_set(sim >= self.calibration.revival_floor()):
            return _NO_PAIRS
        cfg = self.config.association
        observed = self.table.observed_xywh[lost]
        seconds = self.table.seconds_since_observed(self.frame_rate, lost)
        entry = entry_evidence(view.dets.boxes_xyxy, det_idx, frame_size, cfg)
        bounds = self.calibration.revival_bound(seconds, entry)
        cost = assoc.reid_cost(sim, observed, seconds, view.det_xywh[det_idx], cfg, bounds, frame_size)
        cost = cost + view.class_block(lost, det_idx)
        result = linear_assignment(cost, 1.0 - float(bounds.min()))
        rivals = np.concatenate([sim, block(view.similarity, matched, det_idx)])  # lost rows first: pairs index them
        keep = assoc.unambiguous(result.pairs, rivals, cfg.reid_margin)
        pairs = result.pairs[keep]
        return index_pairs(lost[pairs[:, 0]], det_idx[pairs[:, 1]])

    def _learn_from_pairs(
        self, m1: np.ndarray, m2: np.ndarray, view: FrameView, frame_size: tuple[int, int] | None
    ) -> None:
        """What this frame's (M, 2) track-detection pairs of stages 1 and 2 teach, before the tracks are updated:
        the appearance bounds (`_calibrate`: same- and different-identity similarities) and the class's shapes of
        tracked, confident, whole looks that new tracks are judged by (`BirthShapes.learn`)."""
        self._calibrate(np.concatenate([m1, m2]), view)
        dets = view.dets
        confident = dets.scores[m1[:, 1]] >= self.config.association.new_track_score
        visible = m1[(self.table.state[m1[:, 0]] == TRACKED) & confident]
        self.births.learn(
            dets.boxes_xyxy, dets.class_ids, visible[:, 1], frame_size, self.table.track_id[visible[:, 0]]
        )

    def _calibrate(self, matches: np.ndarray, view: FrameView) -> None:
        """Feed the calibration queues from this frame's stage 1/2 matches of confirmed, visible tracks
        (`calibration_samples.add_frame_samples`) whose detections are fit for a bank (the quality gate), every
        frame until calibrated, then once per `calibration_sample_seconds`."""
        dets = view.dets
        if not self.calibration.wants_samples or dets.embeddings is None or len(matches) < 1:
            return
        if not self.calibration.sample_due(self.frame_index):
            return  # once calibrated, samples are taken once per `calibration_sample_seconds`
        rows, cols = matches[:, 0], matches[:, 1]
        keep = (self.table.state[rows] == TRACKED) & self._bank_quality(dets, cols)
        if view.border is not None and view.border.embedded is not None:  # a crop cut for the border rule alone is
            keep &= ~view.border.embedded[cols]  # no sample: the samples are those taken without that rule
        rows, cols = rows[keep], cols[keep]
        if len(rows) == 0:
            return
        add_frame_samples(
            self.calibration, self.table, self.bank, view, rows, cols, lambda: self._bank_embeddings(dets)
        )

    def _update_matched(
        self,
        matches: np.ndarray,
        dets: Detections,
        view: FrameView,
        frame_size: tuple[int, int] | None,
        camera_noise_px: float,
    ) -> np.ndarray | None:
        """Kalman-correct all matched tracks (M, 2 pairs `matches`) at once by their measured boxes (`_measure`: cut
        and part boxes completed), re-updated first after a gap (`_reupdate`), measuring the detector's noise
        (`MeasurementNoise`), and advance their state (report aspect, class vote, still judgement with the frame's
        camera-motion error `camera_noise_px`, pixels (0: no motion, or an exact one; `tracker.still`), hits,
        confirmation). Returns (M,) bool: the boxes no side border cuts (None: all of them, or no match), for their
        banks (`_feed_matched_banks`)."""
        if len(matches) == 0:
            return None
        track_idx, det_idx = matches[:, 0], matches[:, 1]
        measured, uncut, cut, completed = self._measure(track_idx, det_idx, view, frame_size)
        since = self.table.frames_since_update.take(track_idx)  # (M,) read by the re-update, noise and aspects
        replayed = self.config.motion.reupdate_after_loss and self._reupdate(track_idx, measured, since)
        mean, cov = self._mean.take(track_idx, axis=0), self._cov.take(track_idx, axis=0)  # copies, corrected in place
        priors = self._noise_priors(track_idx, since, completed, view, mean, cov)  # read before the update
        diagonal = self._known_innovation_diagonal(view, track_idx, replayed)
        scores = dets.scores[det_idx]
        applied = self.measurement_noise.applied
        innovation, variance = self.kalman.update_in_place(mean, cov, measured, scores, applied, diagonal)
        if priors is not None:
            self._observe_noise(track_idx, priors, innovation, variance)
        if cut is not None:
            mean[cut, 6] = 0.0  # a cut box keeps its width (its width rate is unknown)
        if self.config.motion.report_aspect_filter:
            whole = uncut if completed is None else ~completed if uncut is None else uncut & ~completed
            self._update_aspects(track_idx, measured, whole, since)
        self._mean[track_idx], self._cov[track_idx] = mean, cov
        self._obs_mean[track_idx], self._obs_cov[track_idx] = mean, cov
        self.table.vote(track_idx, dets.class_ids[det_idx], scores)  # each track's class: its detections' vote
        self.still.judge(self.table, track_idx, measured, frame_size, camera_noise_px)
        confirmed = self.table.mark_matched(track_idx, scores, measured, dets.index[det_idx], self._min_hits)
        for row in confirmed:
            self._issue_id(self.tracks[row])
        return uncut

    def _noise_priors(
        self,
        track_idx: np.ndarray,
        since: np.ndarray,
        completed: np.ndarray | None,
        view: FrameView,
        mean: np.ndarray,
        cov: np.ndarray,
    ) -> _NoisePriors | None:
        """What `MeasurementNoise.observe` needs from the matched tracks `track_idx` (M,) before their update: the
        pairs that measure the detector's noise (a confirmed track matched the frame before too, `since` (M,) == 0,
        with a whole box: none `completed`, (M,) bool or None), their predicted variances and box scales, from the
        (M, 8) `mean` and (M, 8, 8) `cov` predicted for this frame. None where the noise is not measured
        (`motion.adaptive_measurement_noise` off)."""
        if not self.measurement_noise.enabled:
            return None
        pooled = (since == 0) & view.confirmed.take(track_idx)
        if completed is not None:
            pooled &= ~completed  # a completed box's size is the prediction's
        rows = None if all_set(pooled) else indices(pooled)  # None: all of them (most frames), no row picked
        variance = _rows(cov.diagonal(0, 1, 2)[:, :4], rows).copy()  # (H P^- H^T)_ii before the update
        return _NoisePriors(rows, variance, _rows(mean.take(SCALE_COLUMNS, axis=1), rows))

    def _observe_noise(
        self, track_idx: np.ndarray, priors: _NoisePriors, innovation: np.ndarray, variance: np.ndarray
    ) -> None:
        """Pool the (M, 4) `innovation` and their (M, 4) predicted `variance` (pixels, pixels^2) of the matched
        tracks `track_idx` (M,) that measure the noise (`priors.pooled`) into `MeasurementNoise`, and keep each
        one's normalised innovation for the next frame (`TrackTable.innovation`)."""
        pooled = priors.pooled
        rows = _rows(track_idx, pooled)
        previous = self.table.innovation.take(rows, axis=0)
        if pooled is not None:
            self.table.innovation[track_idx] = np.nan  # a track not pooled this frame starts a new run of updates
        self.table.innovation[rows] = self.measurement_noise.observe(
            _rows(innovation, pooled), _rows(variance, pooled), priors.variance, priors.scale, previous
        )

    def _known_innovation_diagonal(self, view: FrameView, track_idx: np.ndarray, replayed: bool) -> np.ndarray | None:
        """(M, 4) the innovation covariances of the matched tracks `track_idx` that the motion gate computed for the
        same states (`FrameView.innovation_diagonal`), for the update to reuse; None where they are not the update's:
        not all diagonal, a track re-updated since (`replayed`), or scores in the noise
        (`motion.confidence_scaled_noise`)."""
        diagonal = view.innovation_diagonal
        if diagonal is None or replayed or self.config.motion.confidence_scaled_noise:
            return None
        return diagonal.take(track_idx, axis=0)

    def _measure(
        self, track_idx: np.ndarray, det_idx: np.ndarray, view: FrameView, frame_size: tuple[int, int] | None
    ) -> Measurement:
        """The (M, 4) xywh boxes the matched tracks `track_idx` are measured by, from their detections `det_idx`: a box
        cut by the left or right border of the (height, width) `frame_size` at its track's width where an earlier
        uncut box measured it (`motion.complete_truncated_boxes`; `TrackTable.width_seen`, which this frame's uncut
        boxes set), a part of a person at its track's size (`motion.complete_part_boxes`); the others as detected."""
        # rows of 2-D and 3-D arrays by `take` (a third of fancy indexing's cost on a frame's few dozen rows)
        measured, cut = view.det_xywh.take(det_idx, axis=0), None
        if frame_size is None:  # no side border: every box is uncut (None), none is completed (`touches_side`)
            uncut = None
            self.table.width_seen[track_idx] = True
        else:
            seen = self.table.width_seen[track_idx]
            uncut = ~touches_side(measured, frame_size)
            self.table.width_seen[track_idx] = seen | uncut
            # a box cut by a side border touches it: with none touching, `complete_truncated` changes nothing
            if self.config.motion.complete_truncated_boxes and not all_set(uncut):
                predicted_wh = self._mean.take(track_idx, axis=0)[:, 2:4]
                measured, cut = complete_truncated(measured, predicted_wh, frame_size, seen)
        completed = cut
        if self.config.motion.complete_part_boxes and view.part_boxes is not None:
            predicted = self._mean.take(track_idx, axis=0)[:, :4]
            part, fraction = view.part_boxes.take(det_idx), self.config.association.part_box_fraction
            measured, parts = complete_part_boxes(measured, predicted, part, fraction)
            completed = parts if cut is None else cut | parts
        return Measurement(measured, uncut, cut, completed)

    def _feed_matched_banks(self, matches: np.ndarray, uncut: np.ndarray | None, view: FrameView) -> None:
        """The looks of the (M, 2) pairs `matches` into their tracks' banks (`_feed_banks`: the quality gate; `uncut`
        (M,) bool from `_update_matched`), but for a look embedded for the border rule alone: read by that rule, it
        feeds no bank."""
        if len(matches) == 0:
            return
        track_idx, det_idx = matches[:, 0], matches[:, 1]
        if view.border is not None and view.border.embedded is not None:
            keep = ~view.border.embedded[det_idx]
            track_idx, det_idx = track_idx[keep], det_idx[keep]
            uncut = None if uncut is None else uncut[keep]
        self._feed_banks(track_idx, det_idx, view.dets, uncut)

    def _update_aspects(
        self, track_idx: np.ndarray, measured: np.ndarray, whole: np.ndarray | None, since: np.ndarray
    ) -> None:
        """The reported aspect of the matched tracks `track_idx` (M,) from their measured (M, 4) xywh boxes that are
        `whole` (M,) bool (None: all): no side border cuts them and none was completed at the track's size
        (`tracker.report_aspect`); `since` (M,) the frames since each track's last update (`frames_since_update`
        before `mark_matched` counts this frame's)."""
        if whole is not None and not all_set(whole):
            track_idx, measured, since = track_idx[whole], measured[whole], since[whole]
        motion, table = self.config.motion, self.table
        if motion.report_aspect_weighting:  # each estimate the frame before against this frame's box
            consecutive = since == 0
            every = all_set(consecutive)  # (most frames: every matched track was matched the frame before too)
            rows = track_idx if every else track_idx[consecutive]
            before = self._obs_mean.take(rows, axis=0)  # the state reported the frame before (matched then)
            widths = measured[:, 2] if every else measured[consecutive, 2]
            self.report_weight.observe(widths, before[:, 2], table.aspect[rows] * before[:, 3])
        applied = self.measurement_noise.applied
        table.aspect[track_idx], table.aspect_var[track_idx] = update_aspect(
            table.aspect[track_idx],
            table.aspect_var[track_idx],
            measured,
            since + 1,
            motion.report_aspect_process_factor,
            motion.std_position,
            self.kalman.step_ratio,
            1.0 if applied is None else float(applied[2]),
        )

    def report_width(self) -> dict[str, float] | None:
        """How the reported widths are made, for reports (`track`'s summary, `summary.json`, `track eval`):
        `FrameReport.report_width` (None where the report takes no aspect width)."""
        return self.frame_report.report_width()

    def _reupdate(self, track_idx: np.ndarray, xywh_now: np.ndarray, since: np.ndarray) -> bool:
        """Observation-centric re-update (OC-SORT) of the matched tracks that missed frames: replay each one's gap
        from its last observation with virtual detections on the straight line to its detection `xywh_now` (M, 4),
        so its velocity is not the drift of the frames it was hidden (`since` (M,): the frames each track missed,
        `frames_since_update` before this frame's match counts). Leaves their states predicted for this frame,
        ready for the real update (`KalmanFilter.replay`, all such tracks at once). Returns whether any was.

        A track that missed g frames was last seen g + 1 frames before: `motion.reupdate_whole_gap` replays those
        g + 1 steps; by default the replay takes g (the line's steps a frame too fast, none after a single missed
        frame), which measured better on ACF TUD-Campus (docs/decisions.md, finding A)."""
        gaps = since
        if self.config.motion.reupdate_whole_gap:
            gaps = gaps + 1
        due = gaps > 1
        if not any_set(due):
            return False
        rows = track_idx[due]
        self._mean[rows], self._cov[rows] = self.kalman.replay(
            self._obs_mean[rows],
            self._obs_cov[rows],
            self.table.observed_xywh[rows],
            xywh_now[due],
            gaps[due],
            self.measurement_noise.applied,
        )
        return True

    def _feed_banks(
        self, track_idx: np.ndarray, det_idx: np.ndarray, dets: Detections, uncut: np.ndarray | None
    ) -> None:
        """Push the embeddings of confident, unoccluded detections (the quality gate) into their tracks' banks; a
        look whose box no side border of the frame cuts (`uncut`, (M,) bool per pair; None: every one) marks its
        track's bank as holding a whole look (`TrackTable.whole_look`)."""
        if dets.embeddings is None or not self.config.appearance.enabled or len(det_idx) == 0:
            return
        good = self._bank_quality(dets, det_idx)
        if all_set(good):  # (most frames: every matched look is good; no rows picked)
            fed, rows = track_idx, det_idx
        elif any_set(good):
            fed, rows = track_idx[good], det_idx[good]
            uncut = None if uncut is None else uncut[good]
        else:
            return
        self.bank.push(self.table.slot[fed], self._bank_embeddings(dets), rows=rows)
        self.table.bank_frame[fed] = self.frame_index
        if uncut is None:  # every look uncut (no frame size: no side border)
            self.table.whole_look[fed] = True
        else:
            self.table.whole_look[fed] |= uncut
        self._appearance_given = True

    def _bank_embeddings(self, dets: Detections) -> torch.Tensor:
        """(N, D) this frame's embeddings in the bank's storage dtype and device (`AppearanceBank.stored`),
        converted once a frame: the similarities, the calibration and the bank feeding all read them."""
        source, version, stored = self._stored_embeddings
        embeddings = cast(torch.Tensor, dets.embeddings)  # (read only where the detections have embeddings)
        # Reused: the same tensor (identity) not written since (`_version` counts in-place writes), so a buffer a
        # caller refills in place is converted anew. A tensor made under `torch.inference_mode` keeps no count: it is
        # converted at every read (a few microseconds), never read stale.
        now = _NO_VERSION if embeddings.is_inference() else embeddings._version
        if stored is None or source is not embeddings or now == _NO_VERSION or version != now:
            stored = self.bank.stored(embeddings, dets.host_embeddings)
            self._stored_embeddings = (embeddings, now, stored)
        return stored

    def _bank_quality(self, dets: Detections, det_idx: np.ndarray) -> np.ndarray:
        """(M,) bool: detections with an embedding, confident and unoccluded enough for a bank."""
        good = dets.has_embedding[det_idx]
        if all_set(good):  # (every detection embedded: no rows picked)
            return self._fit_for_bank(dets, det_idx)
        good[good] = self._fit_for_bank(dets, det_idx[good])
        return good

    def _fit_for_bank(self, dets: Detections, det_idx: np.ndarray) -> np.ndarray:
        """(M,) bool: detections confident and unoccluded enough for a bank (the quality gate), embedded or not."""
        app = self.config.appearance
        good = dets.scores[det_idx] >= app.min_score
        if all_set(good):  # (every one confident: no rows picked)
            return assoc.occlusion(dets.boxes_xyxy, det_idx) <= app.max_occlusion
        good[good] = assoc.occlusion(dets.boxes_xyxy, det_idx[good]) <= app.max_occlusion
        return good

    def _start_tracks(self, det_idx: np.ndarray, dets: Detections, frame_size: tuple[int, int] | None) -> None:
        """New tracks from the leftover detections confident enough and of a shape this video's tracks take."""
        det_idx = det_idx[dets.scores[det_idx] >= self.config.association.new_track_score]
        det_idx = det_idx[self.births.allowed(dets.boxes_xyxy, dets.class_ids, det_idx, frame_size)]
        if len(det_idx) == 0:
            return
        xywh = xyxy_to_xywh(dets.boxes_xyxy[det_idx])
        mean, cov = self.kalman.initiate(xywh)
        class_ids, scores = dets.class_ids[det_idx], dets.scores[det_idx]
        slots = np.array([self.bank.allocate() for _ in det_idx], dtype=np.int64)
        # one class so far: the table counts their class votes (`TrackTable.vote`)
        votes: list[ClassVote | None] = [None] * len(det_idx)
        rows = np.arange(len(self.tracks), len(self.tracks) + len(det_idx))
        new = self.table.add(slots, class_ids, scores, xywh, dets.index[det_idx], votes, self.frame_index, time.time())
        uncut = ~touches_side(xywh, frame_size)
        self.table.width_seen[rows] = uncut
        self.table.aspect[rows], self.table.aspect_var[rows] = first_aspect(
            xywh, self.config.motion.std_position, uncut
        )
        if (self.frame_index == 1 and self.config.lifecycle.confirm_first_frame) or self._min_hits <= 1:
            self.table.state[rows] = TRACKED
            for track in new:
                self._issue_id(track)
        self._feed_banks(rows, det_idx, dets, uncut)
        self._mean = np.concatenate([self._mean, mean])
        self._cov = np.concatenate([self._cov, cov])
        self._obs_mean = np.concatenate([self._obs_mean, mean])
        self._obs_cov = np.concatenate([self._obs_cov, cov])

    def _mark_missed(self, matched_track_idx: np.ndarray) -> None:
        """Unmatched tracks age; removed ones go to the gallery (if any) and give their bank slot back. A lost track
        with an empty bank is kept `max_seconds_lost_motion`, or `max_seconds_lost_unbanked` if shorter once this
        video has given appearance: beyond it a return would be a revival, and there is no look to judge one by."""
        missed = filled(len(self.tracks), True, bool)
        missed[matched_track_idx] = False
        missed = indices(missed)
        if len(missed) == 0:  # every track matched: none ages, none is removed
            return
        life = self.config.lifecycle
        frames_with_bank = round(life.max_seconds_lost * self.frame_rate)
        seconds_without_bank = life.max_seconds_lost_motion
        if self.config.appearance.enabled and self._appearance_given:
            seconds_without_bank = min(seconds_without_bank, life.max_seconds_lost_unbanked)
        frames_motion_only = round(seconds_without_bank * self.frame_rate)
        has_bank = self.config.appearance.enabled & (self.bank.count(self.table.slot) > 0)
        self.table.mark_missed(missed, np.where(has_bank[missed], frames_with_bank, frames_motion_only))
        removed = indices(self.table.state == REMOVED)
        if len(removed) == 0:
            return
        for row in removed:
            track = self.tracks[row]
            self.gallery_link.track_ended(self, track, self.frame_index)
            self.bank.release(track.slot)
        keep = filled(len(self.tracks), True, bool)
        keep[removed] = False
        self.table.keep(keep)
        self._mean, self._cov = self._mean[keep], self._cov[keep]
        self._obs_mean, self._obs_cov = self._obs_mean[keep], self._obs_cov[keep]

    def _issue_id(self, track: Track) -> None:
        """Give a track just confirmed the next ID of this video, and tell the gallery tier (`GalleryLink.newborn`)."""
        track.track_id, self._next_id = self._next_id, self._next_id + 1
        self.gallery_link.newborn(track)


class _RestoredOnFailure:
    """A `with` block after which a core's moved state (`_MOVED_STATE`, the table's observed boxes) is as before it
    where the block raises anything, an interrupt too (`TrackerCore._all_or_nothing`); the error goes on."""

    __slots__ = ("_core", "_observed", "_saved")

    def __init__(self, core: TrackerCore) -> None:
        self._core = core
        self._saved = [getattr(core, name) for name in _MOVED_STATE]
        self._observed = core.table.observed_xywh

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: object
    ) -> Literal[False]:
        if kind is not None:
            for name, value in zip(_MOVED_STATE, self._saved, strict=True):
                setattr(self._core, name, value)
            self._core.table.observed_xywh = self._observed
        return False  # the error goes on unchanged


def _empty_view(tracks: int, pairs: NoPairs, dets: Detections) -> FrameView:
    """The `FrameView` of a frame without pairs (no track or no detection): (T, N) arrays of no overlap, no gate
    and no similarity, with the `pairs`' detection boxes, part boxes and confirmed tracks."""
    empty = np.zeros((tracks, len(dets)))
    no_pairs = empty.astype(bool)
    return FrameView(
        iou=empty,
        class_cost=empty,
        motion_gate=no_pairs,
        kalman_gate=no_pairs,
        similarity=empty + np.nan,
        reid_sim=empty + np.nan,
        det_xywh=pairs.det_xywh,
        dets=dets,
        confirmed=pairs.confirmed,
        part_boxes=pairs.part_boxes,
    )


def _border_looks(
    paired: FramePairs, similarity: np.ndarray, border_embedded: np.ndarray | None
) -> tuple[np.ndarray, BorderLooks | None]:
    """The frame's (T, N) `similarity` and its border-cut pairs (`BorderLooks`; None: none): the looks of pairs
    compared only for the border rule (`FramePairs.border_only`) are read by it alone (`Stage1Cost.cost`), so they
    move from `similarity` (NaN there) to the `BorderLooks`: no other stage, rival or calibration sample sees them.
    `border_embedded`: (N,) bool, the detections embedded for that rule alone (None: none)."""
    border, border_only = paired.border, paired.border_only
    if border_only is not None and any_set(border_only):
        border = cast(np.ndarray, border)  # (`border_only` is set where `border` is, and only there)
        looks = BorderLooks(border, border_only, np.where(border_only, similarity, np.nan), border_embedded)
        return np.where(border_only, np.nan, similarity), looks
    if border is not None:
        return similarity, BorderLooks(border, cast(np.ndarray, border_only), None, border_embedded)
    return similarity, None


def _rows(array: np.ndarray, rows: np.ndarray | None) -> np.ndarray:
    """The rows `rows` (K,) of `array` (a copy, by `take`), or `array` itself where `rows` is None (all of them)."""
    return array if rows is None else array.take(rows, axis=0)


def _revivals_take(
    revived: np.ndarray, tentative_pairs: np.ndarray, left_dets: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The rule where stage 4 and stage 3 meet on a detection: the revival takes it. A lost person coming back is
    first a new box, which stage 3 may give a tentative track (started on it the frame before) by overlap alone, while
    stage 4 recognises the lost track by its looks; the looks outrank the overlap, the tentative track goes unmatched
    this frame (missed, as any other), and no new track starts on the detection.

    Args:
        revived: (R, 2) stage 4's pairs (lost track, detection).
        tentative_pairs: (K, 2) stage 3's pairs (tentative track, detection).
        left_dets: (L,) the detections no stage matched before stage 4.
    Returns:
        `tentative_pairs` and `left_dets` without the detections `revived` took (the same arrays where it took none).
    """
    if len(revived) == 0:
        return tentative_pairs, left_dets
    taken = revived[:, 1]
    return tentative_pairs[~np.isin(tentative_pairs[:, 1], taken)], left_dets[~np.isin(left_dets, taken)]


def _clear_continuations(iou: np.ndarray, contested: np.ndarray, tracked: np.ndarray, clear_iou: float) -> np.ndarray:
    """(N,) bool: detections with IoU >= `clear_iou` to one tracked track, in an uncontested pair.

    Args:
        iou: (T, N) IoU inside the motion gate.
        contested: (T, N) bool from `_contested`: a second track or detection overlaps the pair.
        tracked: (T,) bool, confirmed tracks matched recently (not lost, not tentative).
    """
    t, n = iou.shape
    if t == 0 or n == 0:
        return np.zeros(n, dtype=bool)
    best = iou.argmax(axis=0)
    at = best * n + np.arange(n)  # each column's best pair's flat place (`take`: the 2-D index's values, for less)
    return (iou.take(at) >= clear_iou) & tracked[best] & ~contested.take(at)


def _appearance_pairs(
    gate: np.ndarray, contested: np.ndarray, lost_pairs: np.ndarray | None, plausible: np.ndarray | None
) -> np.ndarray:
    """(T, N) bool: the pairs whose appearance is compared: inside the motion gate and ambiguous (`contested`, or
    `lost_pairs`: a lost track and a detection that does not plainly continue a tracked one), or `plausible` for
    re-identification. None for both (no lost track): the contested pairs in the gate alone."""
    if lost_pairs is None or plausible is None:
        return gate & contested
    return (gate & (lost_pairs | contested)) | plausible


def _contested(iou: np.ndarray, threshold: float) -> np.ndarray:
    """(T, N) bool: pairs whose track or detection has a second candidate with IoU >= threshold.

    A row's second largest value (the largest again if it occurs twice) reaches the threshold exactly when two of
    its values do: the pairs at the threshold are counted per row and per column, no sort or copy of the matrix
    (500 x 500: 0.07 ms against 0.19 for counting on the grid and 1.7 for a second-largest pass). `iou` is finite
    (a detection's box always is, and so is a track's prediction).
    """
    t, n = iou.shape
    rows, cols = mask_pairs(iou >= threshold)
    return (np.bincount(rows, minlength=t) >= 2)[:, None] | (np.bincount(cols, minlength=n) >= 2)[None, :]
