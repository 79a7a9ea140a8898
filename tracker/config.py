"""The configuration schema: one frozen dataclass per component, grouped by `TrackerConfig`.

Each key is declared with `key(default, doc, lo=..., hi=..., choices=...)` (tracker.config_keys), so the range and
the one-line comment live next to the default; the constraints between a section's keys are its
`check_relations`. `load_config(path, overrides=["section.key=value"])` rejects unknown keys (with a did-you-mean),
wrong types and out-of-range values with a `ConfigError` naming the key: the checks are `tracker.config_build`, the
YAML reading and overrides `tracker.config_load`.
"""

from __future__ import annotations

import copy
import itertools
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tracker.config_build import build_section, check_sections, config_to_dict, section_names
from tracker.config_keys import ConfigError, Section, key
from tracker.config_load import FilePath, apply_overrides, load_file, relative_paths, split_override, value_at
from tracker.config_peer_files import peer_file_error

__all__ = [
    "AppearanceConfig",
    "AssociationConfig",
    "BatchConfig",
    "ClassConfig",
    "ConfigError",
    "DetectorConfig",
    "GalleryConfig",
    "LifecycleConfig",
    "MotionConfig",
    "ReIDConfig",
    "TrackerConfig",
    "VideoConfig",
    "config_to_dict",
    "config_to_yaml",
    "has_appearance",
    "load_config",
    "log_unused_settings",
    "parse_config",
    "paths_from_here",
    "split_override",
    "unsupported_device",
    "unused_settings",
    "validate_config",
    "value_at",
]

log = logging.getLogger(__name__)

MAX_FRAME_RATE = 1000.0
"""Frames/s, the most any frame rate may be (config keys, `Tracker(frame_rate=)`, `track --fps`): beyond the cameras
people are tracked with; per-second windows (the class vote) hold this many frames a second."""
MIN_FRAME_RATE = 0.001
"""Frames/s, the least any frame rate may be (config keys, `Tracker(frame_rate=)`, `track --fps`): one frame every
~17 minutes. Time limits are converted with the rate and the Kalman noises scale with (25 / rate)^1.5: at 1e-300
frames/s that overflowed float64 (a bare OverflowError at the first frame)."""
CAMERA_CORNER_SPACING_PX = 5  # camera motion's corners are at least this far apart, px of the gray copy (and so the
# most motion.camera_ransac_px may be: a larger inlier distance takes a point tracked onto its neighbour as fitting)
MAX_CAMERA_FEATURES = 8192 * 8192  # motion.camera_max_features at most: the pixels of the largest gray copy
# (camera_image_width's 8192, square); beyond a C int OpenCV refused it at every frame, ORB ran out of memory at 2**31-1
MAX_VOTE_SECONDS = 10.0  # classes.vote_seconds at most: a vote window of 10 s x MAX_FRAME_RATE floats per track
MAX_SECONDS = 366 * 24 * 3600.0  # a time key in seconds at most (a year): no time limit of one video or stream
# needs more, and its frames at MAX_FRAME_RATE still count exactly (1e306 s passed loading and overflowed deep inside)
MAX_DAYS = 36525.0  # gallery.max_days_unseen at most (a century): forgets no identity any camera recorded
MAX_GATE_CHI2 = 1e6  # motion.gate_chi2 at most: 1000 standard deviations, no gate at all (1e306 overflowed the gate)
MAX_COST_MARGIN = 2.0  # a stage-1 cost margin at most: the whole range of an appearance cost (1 - cosine)
MAX_TRAIL_SECONDS = 60.0  # video.trail_seconds and trail_keep_seconds at most: a minute's trail is 60000 points a
# track at MAX_FRAME_RATE, drawn each frame
MAX_BOX_HEIGHTS = 1e4  # a distance or height ratio in box heights at most: beyond any frame for a box 1 px high


PATH_KEYS = ("detector.model", "reid.weights")  # the keys naming files: a config file's relative ones are read from
# its folder (`load_config`)
DEVICE_FORMS = "auto, cpu, cuda or cuda:N"  # the `device` values accepted (torch's names, lower case)
_DEVICE_FORM = re.compile(r"auto|cpu(:0)?|cuda(:[0-9]+)?")  # cpu:0 is torch's name of the CPU too
OTHER_TORCH_DEVICES = {  # PyTorch's devices of other kinds a user may name (`--device mps` on a Mac): what each is
    "mps": "Apple's GPU, MPS",
    "xpu": "Intel's GPU, XPU",
}


@dataclass(frozen=True)
class DetectorConfig(Section):
    """The ultralytics detector (any model ultralytics can load)."""

    model: str = key(
        "yolo11n.pt",
        "any ultralytics-loadable model (.pt, OpenVINO folder, .onnx, .engine): a path, a file name in "
        "$TRACKER_WEIGHTS_DIR, or an official name ultralytics downloads",
    )
    confidence: float = key(0.1, "lowest box score kept; low boxes feed the second matching stage", lo=0, hi=1)
    iou: float = key(0.7, "non-maximum suppression IoU threshold", lo=0, hi=1)
    image_size: int = key(640, "inference image size in pixels", lo=32, hi=8192)
    classes: tuple[int, ...] = key((0,), "class ids to track (COCO 0 = person); empty = all classes", lo=0)
    half: bool = key(False, "fp16 inference (CUDA only)")
    threads: int = key(
        1, "exported models: torch CPU threads of ultralytics' pre- and post-processing; 0 = torch's", lo=0, hi=4096
    )
    cpu_pinning: bool = key(False, "OpenVINO on the CPU: pin inference threads to cores (OpenVINO's default)")


REID_MODELS = ("osnet_x0_25", "osnet_x1_0", "auto")  # the `reid.model` values that compute embeddings


@dataclass(frozen=True)
class ReIDConfig(Section):
    """The appearance embedder: OSNet (Zhou et al., ICCV 2019) with torchreid weights, in PyTorch or OpenVINO, or the
    detector's own feature maps (`model: auto`), or none."""

    model: str = key(
        "osnet_x0_25",
        "osnet_x0_25 | osnet_x1_0 (torchreid weights) | auto (detector features) | none (motion only)",
        choices=(*REID_MODELS, "none"),
    )
    weights: str = key(
        "osnet_x0_25_msmt17.pth",
        "torchreid-format state dict for the OSNet models: a path, or a file name in $TRACKER_WEIGHTS_DIR "
        "(never downloaded)",
    )
    batch_size: int = key(128, "crops per forward pass; larger batches are chunked", lo=1, hi=65536)
    crop_height: int = key(256, "crop height fed to the ReID network, pixels", lo=16, hi=1024)
    crop_width: int = key(128, "crop width fed to the ReID network, pixels", lo=16, hi=1024)
    backend: str = key(
        "auto",
        "auto (OpenVINO on the CPU when installed, else PyTorch) | torch | openvino (CPU only)",
        choices=("auto", "torch", "openvino"),
    )
    half: bool = key(
        True, "reduced precision: fp16 on CUDA, bf16 in OpenVINO where the CPU has AMX (else fp32, faster there)"
    )
    int8: bool = key(False, "OpenVINO: the INT8 OSNet that tools/quantize_reid.py made with NNCF")
    threads: int = key(1, "OpenVINO: CPU threads of one ReID inference; 0 = all cores", lo=0, hi=4096)
    requests: int = key(
        1, "OpenVINO: inferences a frame's crops are split over, run at once (threads each)", lo=1, hi=64
    )
    wide_from: int = key(
        2,
        "OpenVINO: static batches of this many crops or more may run on wide_threads threads, where measured faster "
        "(wide_recheck_after), never while stream() detects ahead; 0 = off, every batch on threads",
        lo=0,
        hi=65536,
    )
    wide_threads: int = key(
        2, "OpenVINO: CPU threads of an inference of wide_from crops or more; 0 = all cores", lo=0, hi=4096
    )
    wide_recheck_after: int = key(
        10,
        "OpenVINO: a batch that may run wide runs on whichever of wide_threads and threads its last calls took less "
        "time on, and after this many calls one on the other, to measure it again; 0 = always wide_threads",
        lo=0,
        hi=1_000_000,
    )
    cuda_graphs: bool = key(False, "CUDA: replay the forward as captured CUDA graphs, one per power-of-two batch")


@dataclass(frozen=True)
class AppearanceConfig(Section):
    """The per-track FIFO bank of embeddings (K per track, MoCo's memory bank applied per track) and how it is
    compared (cosine similarities); its bounds calibrated on a queue of negatives (MoCo, cross-batch memory XBM)."""

    enabled: bool = key(True, "use appearance in matching (false = motion only)")
    bank_capacity: int = key(30, "K: embeddings kept per track, first in first out", lo=1, hi=100000)
    match_threshold: float = key(0.55, "minimum cosine similarity for an appearance match", lo=-1, hi=1)
    aggregation: str = key(
        "topk_mean",
        "how a bank's K similarities become one: max | mean | topk_mean",
        choices=("max", "mean", "topk_mean"),
    )
    topk: int = key(3, "k of topk_mean", lo=1, hi=100000)
    min_score: float = key(0.5, "quality gate: minimum detection score to enter the bank", lo=0, hi=1)
    max_occlusion: float = key(
        0.3, "quality gate: maximum fraction of the box covered by a box in front of it", lo=0, hi=1
    )
    initial_slots: int = key(64, "bank slots preallocated; doubles when more tracks are alive", lo=1, hi=1000000)
    bank_dtype: str = key(
        "auto",
        "bank storage: auto (CPU float32, GPU float16) | float32 | bfloat16 (half the memory) | float16 (GPU only)",
        choices=("auto", "float32", "bfloat16", "float16"),
    )
    lazy_embedding: bool = key(True, "embed only detections whose appearance matters (ambiguous, new, stale bank)")
    refresh_seconds: float = key(
        0.5, "lazy mode: an unambiguous track's bank gets a new embedding this often", lo=0, hi=MAX_SECONDS
    )
    calibration: str = key(
        "online",
        "online: appearance bounds from this video's same/different-identity similarities | fixed: the thresholds",
        choices=("online", "fixed"),
    )
    calibration_capacity: int = key(2000, "calibration: similarities kept per queue (FIFO)", lo=1, hi=10000000)
    calibration_min_samples: int = key(
        50, "calibration: negatives needed before the bounds replace the fixed thresholds", lo=1, hi=10000000
    )
    calibration_per_frame: int = key(16, "calibration: most similarities one frame adds to each queue", lo=1, hi=10000)
    calibration_sample_seconds: float = key(
        0.5,
        "calibration: once calibrated, the queues are fed once per this period (every frame before)",
        lo=0,
        hi=MAX_SECONDS,
    )
    calibration_margin: float = key(0.02, "calibration: added to the quantile of negatives", lo=0, hi=1)
    match_quantile: float = key(0.5, "calibration: stage 1 gate of lost tracks, quantile of negatives", lo=0, hi=1)
    reid_quantile: float = key(0.99, "calibration: stage 4 revival bound, quantile of negatives", lo=0, hi=1)
    gallery_quantile: float = key(0.999, "calibration: gallery bound, quantile of negatives", lo=0, hi=1)
    revival_ramp_seconds: float = key(
        2.0,
        "calibration: stage 1 gate of a lost track rises from the match to the revival bound over this",
        lo=0,
        hi=MAX_SECONDS,
    )
    reid_evidence_per_second: float = key(
        0.005, "calibration: stage 4 bound grows by this similarity per second lost", lo=0, hi=1
    )

    def check_relations(self, prefix: str) -> None:
        """The calibration queues can hold the samples asked of them (`Section.check_relations`).

        Raises:
            ConfigError: `calibration_min_samples` or `calibration_per_frame` above `calibration_capacity`.
        """
        for name in ("calibration_min_samples", "calibration_per_frame"):  # (else never enough: calibration off)
            self.check_at_most(prefix, name, "calibration_capacity")


@dataclass(frozen=True)
class MotionConfig(Section):
    """The constant-velocity Kalman filter on (cx, cy, w, h) boxes in pixels, as in SORT / DeepSORT, and camera-motion
    compensation (`camera_*`: BoT-SORT's GMC with OpenCV)."""

    std_position: float = key(0.05, "position noise as a fraction of box size", lo=0, hi=10)
    std_velocity: float = key(0.00625, "velocity noise as a fraction of box size", lo=0, hi=10)
    width_process_factor: float = key(
        1.0,
        "the process noise of the box width and its velocity, times the height's (below 1 smooths the width)",
        lo=0,
        hi=100,
    )
    width_measurement_factor: float = key(
        1.0, "the measurement noise of the box width, times the height's (above 1 smooths the width)", lo=0, hi=100
    )
    confidence_scaled_noise: bool = key(False, "scale measurement noise by (1 - score) (NSA Kalman)")
    adaptive_measurement_noise: bool = key(
        True,
        "raise the measurement noise of box sizes to what this video's matched innovations measure while they stay "
        "white (covariance matching, Mehra's whiteness test; never below std_position)",
    )
    noise_min_updates: int = key(
        50, "adaptive_measurement_noise: matched updates pooled before the measured noise applies", lo=1
    )
    gate_chi2: float = key(9.4877, "Mahalanobis gate, chi-square 95% with 4 dof", lo=0, hi=MAX_GATE_CHI2)
    output_filtered_box: bool = key(True, "report the Kalman-corrected box (false: the raw detection box)")
    report_aspect_filter: bool = key(
        True,
        "report the box width as a smoothed aspect times the Kalman height (association keeps the Kalman width)",
    )
    report_aspect_process_factor: float = key(
        0.5,
        "report_aspect_filter: process noise of the reported aspect, times its measurement noise (1: as the width's)",
        lo=0,
        hi=100,
    )
    report_aspect_weighting: bool = key(
        True,
        "report_aspect_filter: weigh the aspect width against the Kalman width by this video's measured errors "
        "against the next frame's box (false: the aspect width alone)",
    )
    report_gap_frame: bool = key(
        False, "report a confirmed track missed for one frame at its Kalman prediction (a one-frame detection gap)"
    )
    reupdate_after_loss: bool = key(True, "on recovery, replay the hidden frames along a straight line (OC-SORT ORU)")
    reupdate_whole_gap: bool = key(
        False,
        "reupdate_after_loss: replay the whole gap to the detection that ends it (false: the replay ends a frame "
        "before it, its steps a frame too fast: measured better, docs/decisions.md)",
    )
    complete_truncated_boxes: bool = key(
        True, "a box cut by the left or right frame border is measured at the track's width, its inner edge kept"
    )
    complete_part_boxes: bool = key(
        True,
        "a part-of-a-person box (association.part_box_fraction) a track continues on, also under that fraction of "
        "the track's predicted height, is measured at the predicted size, its nearer top or bottom edge kept",
    )
    min_visible_fraction: float = key(
        0.5,
        "reporting: a track whose box the left or right frame border cuts to less than this fraction of the width "
        "of the narrowest whole look of its class and height is kept but not reported (0 = off)",
        lo=0,
        hi=1,
    )
    visible_fraction_from_tracks: bool = key(
        True,
        "reporting: until the births' shape range applies, min_visible_fraction is judged against the narrowest "
        "uncut box reported in the frame",
    )
    camera_compensation: str = key(
        "none",
        "camera-motion compensation: none | auto | sparse_flow | orb | ecc (needs frames or a given camera_motion)",
        choices=("none", "auto", "sparse_flow", "orb", "ecc"),
    )
    camera_image_width: int = key(320, "camera motion is estimated on a gray copy this wide, pixels", lo=16, hi=8192)
    camera_max_features: int = key(
        200, "camera motion: corners (sparse_flow) or keypoints (orb) per frame", lo=8, hi=MAX_CAMERA_FEATURES
    )
    camera_min_inliers: int = key(12, "camera motion: fewer RANSAC inliers than this gives the identity", lo=3)
    camera_ransac_px: float = key(
        1.0,
        "camera motion: RANSAC inlier distance, pixels of the gray copy; at most the corners' spacing, 5",
        lo=0.01,
        hi=CAMERA_CORNER_SPACING_PX,
    )
    camera_bridge_frames: int = key(
        5,
        "camera motion: after a failed estimate, this many frames are also estimated from the last frame before it "
        "when their own fails (the motion across a blackout or a flash is kept); 0: off",
        lo=0,
    )
    camera_exclude: tuple[tuple[float, ...], ...] = key(
        (),
        "camera motion: frame regions [x1, y1, x2, y2] (fractions of the frame) never used for the estimate, such as "
        "a car's hood or burned-in text, which stay still while the scene moves",
        lo=0,
        hi=1,
        written="a list of [x1, y1, x2, y2] regions as fractions of the frame, e.g. [[0, 0.8, 1, 1]]",
    )
    reference_frame_rate: float = key(
        25.0,
        "frames/s at which the two std_ keys are per-frame noises (rescaled at other rates)",
        lo=0.001,
        hi=MAX_FRAME_RATE,
    )

    def check_relations(self, prefix: str) -> None:
        """Width noise somewhere; enough camera features for the inliers; `camera_exclude` regions well formed and not
        the whole frame (`Section.check_relations`).

        Raises:
            ConfigError: both width noise factors 0; `camera_min_inliers` above `camera_max_features` with a
                feature-based compensation (auto, sparse_flow, orb); a `camera_exclude` region that is not
                [x1, y1, x2, y2] with x1 < x2 and y1 < y2, or regions covering the whole frame.
        """
        if self.width_process_factor == 0 and self.width_measurement_factor == 0:
            # the width's innovation variance would reach 0: a division by zero and NaN states
            raise ConfigError(
                f"{prefix}width_process_factor and {prefix}width_measurement_factor must not both be 0"
                " (no width noise)",
                key=f"{prefix}width_process_factor",
            )
        if self.camera_compensation in ("auto", "sparse_flow", "orb"):
            # (else a fit could never have enough inliers: every estimate the identity, compensation off unsaid)
            with_method = f" with {prefix}camera_compensation={self.camera_compensation}"
            self.check_at_most(prefix, "camera_min_inliers", "camera_max_features", with_method)
        for i, region in enumerate(self.camera_exclude):
            if len(region) != 4 or not (region[0] < region[2] and region[1] < region[3]):
                raise ConfigError(
                    f"{prefix}camera_exclude[{i}]: expected [x1, y1, x2, y2] fractions of the frame with x1 < x2 and "
                    f"y1 < y2, e.g. [0, 0.8, 1, 1] for the bottom fifth, got {list(region)}",
                    key=f"{prefix}camera_exclude",
                    index=(i,),
                )
        if _covers_frame(self.camera_exclude):  # every estimate would fail: compensation off but for a failure count
            raise ConfigError(
                f"{prefix}camera_exclude covers the whole frame: no part is left for the camera-motion estimate; "
                f"exclude only what stays still on the screen, or set {prefix}camera_compensation=none",
                key=f"{prefix}camera_exclude",
            )


@dataclass(frozen=True)
class AssociationConfig(Section):
    """Scores and gates of the four matching stages (stage 2: ByteTrack's low-score pass; every stage's assignment by
    `lap.lapjv`)."""

    high_score: float = key(0.4, "detections at or above this score take part in stage 1", lo=0, hi=1)
    low_score: float = key(0.1, "detections between this and high_score take part in stage 2", lo=0, hi=1)
    new_track_score: float = key(0.5, "minimum score to start a new track", lo=0, hi=1)
    fuse_score: bool = key(True, "multiply IoU by the detection score in stage 1 (ByteTrack)")
    appearance_weight: float = key(0.6, "weight of appearance against motion in the stage 1 cost", lo=0, hi=1)
    max_cost: float = key(0.8, "stage 1: highest fused cost accepted", lo=0, hi=2)
    clear_pairs_first: bool = key(
        True, "stage 1: pairs that are each other's clear best are matched before the Hungarian assignment"
    )
    tentative_resort: bool = key(
        True,
        "stage 1: tentative tracks join stage 1's assignment where they re-sort it (a confirmed track takes i"
        "ts other candidate) without leaving a track stage 1 matched unmatched: a box that held two people splits",
    )
    clear_pair_margin: float = key(
        0.1,
        "stage 1: a clear best pair costs at least this much less than any rival in its row and column",
        lo=0,
        hi=MAX_COST_MARGIN,
    )
    tentative_resort_margin: float = key(
        0.2,
        "stage 1: in a detection a tentative track reaches, tentative_resort keeps a confirmed track's clear pair f"
        "ixed only when clear by this much (the split is for the joint assignment to sort)",
        lo=0,
        hi=MAX_COST_MARGIN,
    )
    contested_iou: float = key(
        0.2, "stage 1: a second candidate with this IoU makes a match ambiguous (appearance is consulted)", lo=0, hi=1
    )
    clear_iou: float = key(
        0.5,
        "stage 1: a detection overlapping one tracked track this much, and nothing else, skips lost tracks",
        lo=0,
        hi=1,
    )
    weak_look_ties: bool = key(
        True,
        "stage 1: appearance of a track with no clear look (empty bank, border-cut views only), or below the reid "
        "bound on a detection in such a track's Kalman gate, may veto a pair but not make it cheaper than motion",
    )
    thin_bank_outranked: bool = key(
        True,
        "stage 1: a lost track with fewer looks than appearance.topk (or appearance.bank_capacity, when smaller) does "
        "not take a detection that another lost track able to take it resembles more (the detection goes on to that "
        "track, re-identification or a new ID)",
    )
    partial_views_veto: bool = key(
        False,
        "stage 1: a tracked track whose bank holds only looks cut by a side border may veto, by appearance, a "
        "detection its Kalman gate or motion alone accepts (false: partial views do not refuse what its motion "
        "vouches for)",
    )
    ungated_needs_reid: bool = key(
        True,
        "stage 1: a tracked track's pair outside its Kalman gate that motion alone rejects (max_cost) needs a "
        "similarity at the calibrated reid bound",
    )
    lost_pairs_plausible: bool = key(
        True,
        "stage 1: a lost track's pair that motion alone rejects (max_cost) needs a detection whose height is within "
        "max_size_ratio of the track's last observed one, as stage 4 does",
    )
    thin_bank_revival: bool = key(
        True,
        "stage 1: a lost track with fewer looks than appearance.topk (or appearance.bank_capacity, when smaller), lost "
        "longer than "
        "lifecycle.max_seconds_lost_unbanked, needs the revival bound (its return is a revival)",
    )
    ungated_lookless_yields: bool = key(
        True,
        "stage 1: a tracked track with no clear look does not keep, by overlap outside its Kalman gate, a detection "
        "that a lost track's look matches and stage 1 lets it take (cost within max_cost)",
    )
    ungated_ties_by_motion: bool = key(
        True,
        "stage 1: a tracked track whose Kalman gate holds no confident detection pays at least its motion cost for a "
        "detection a tracked look-less track's gate holds, however close its look",
    )
    vouched_lost_match: bool = key(
        True,
        "stage 1: a lost track whose Kalman gate holds a detection it overlaps by clear_iou needs only the match "
        "bound there, not the bound rising with the time lost",
    )
    vouch_thin_banks: bool = key(
        False,
        "vouched_lost_match also lowers the bound of a lost track that thin_bank_revival holds to the revival bound "
        "(false: a thin bank's return after max_seconds_lost_unbanked stays a revival, however it overlaps)",
    )
    part_box_fraction: float = key(
        0.7,
        "a box shorter than this fraction of the height the ground line (reported boxes' height against foot row) "
        "predicts at its foot row is a part of a person: no look, no bank, no lost track's return (0 = off)",
        lo=0,
        hi=1,
    )
    ground_line_min_samples: int = key(
        20, "part_box_fraction: reported boxes of a class before its ground line is used", lo=2, hi=1000000
    )
    ground_line_min_r2: float = key(
        0.5, "part_box_fraction: least share of the heights' variance the ground line explains to be used", lo=0, hi=1
    )
    ground_line_capacity: int = key(
        300, "part_box_fraction: reported boxes kept per class for the ground line (FIFO)", lo=2, hi=10000000
    )
    max_iou_distance_low: float = key(0.5, "stage 2: highest 1 - IoU accepted for low-score detections", lo=0, hi=1)
    max_iou_distance_tentative: float = key(0.7, "stage 3: highest 1 - IoU accepted for tentative tracks", lo=0, hi=1)
    reid_threshold: float = key(0.7, "stage 4: minimum cosine similarity to revive a lost track", lo=-1, hi=1)
    reid_margin: float = key(0.05, "stage 4: best match must beat the runner-up by this similarity", lo=0, hi=2)
    reid_max_speed: float = key(
        1.5, "stage 4: plausible displacement, box heights per second lost", lo=0, hi=MAX_BOX_HEIGHTS
    )
    reid_min_distance: float = key(
        1.0, "stage 4: displacement always allowed, in box heights", lo=0, hi=MAX_BOX_HEIGHTS
    )
    max_size_ratio: float = key(
        2.0, "stage 4: largest height ratio between lost track and detection", lo=1, hi=MAX_BOX_HEIGHTS
    )
    reid_around_view: bool = key(
        True,
        "stage 4: a track last seen cut by one side border reaches a detection entering by the other only around the "
        "view (through its corners), not straight across it",
    )
    lost_exit_fraction: float = key(
        0.5,
        "stage 1: a lost track last seen cut by a border and predicted to keep no more than this fraction of its "
        "width (height) inside it, no more than a frame ago, is not continued by motion on a detection reaching "
        "further into the view than this fraction of its width (height): that needs re-identification (0 = off)",
        lo=0,
        hi=1,
    )
    border_look_quantile: float = key(
        0.05,
        "stage 1: a tracked track's uncontested pair cut by a side border is refused when its look is below this "
        "quantile of the track's own same-identity similarities (never above the calibrated reid bound; 0 = off)",
        lo=0,
        hi=1,
    )
    border_look_min_looks: int = key(
        5, "border_look_quantile: the track's own same-identity similarities needed before it refuses", lo=1
    )
    border_sliver_frames: int = key(
        1,
        "border_look_quantile: a detection no wider than lost_exit_fraction of the track's width is the leaving "
        "person's last view, not judged, only while the track was missed no more than this many frames (after a "
        "longer absence its look is judged as any other)",
        lo=0,
    )
    entry_border_heights: float = key(
        0.25,
        "stage 4: a detection nearer a frame border than this many box heights may be a newcomer",
        lo=0,
        hi=MAX_BOX_HEIGHTS,
    )
    entry_occlusion: float = key(
        0.1,
        "stage 4: a detection covered more than this by a box in front may be a newcomer from behind it",
        lo=0,
        hi=1,
    )
    birth_shape_quantile: float = key(
        0.01,
        "new tracks: a whole look whose log width/height lies outside its class's [q, 1-q] prediction interval of "
        "tracked looks starts none (0 = off)",
        lo=0,
        hi=0.5,
    )
    birth_shape_min_samples: int = key(
        10, "new tracks: tracked looks a class needs before its shape range applies", lo=1
    )
    birth_shape_min_tracks: int = key(
        3, "new tracks: different tracks a class's looks must come from before its shape range applies", lo=1
    )
    birth_shape_capacity: int = key(
        1000, "new tracks: width/height ratios of tracked looks kept per class (FIFO)", lo=1, hi=10000000
    )
    birth_shape_release_heights: float = key(
        0.5,
        "new tracks: an off-shape look that moved this many of its box heights since first refused starts a track "
        "(the lasting false detections refused stand still)",
        lo=0.01,
        hi=MAX_BOX_HEIGHTS,
    )
    reid_entry_evidence: float = key(
        0.05, "stage 4 (online): similarity added to the revival bound where a newcomer could have entered", lo=0, hi=1
    )
    reid_hidden_relief: float = key(
        0.0, "stage 4 (online): similarity taken off the revival bound where nobody could have walked in", lo=0, hi=1
    )

    def check_relations(self, prefix: str) -> None:
        """The low score at most the high one, and the shapes' FIFO can hold the looks asked of it
        (`Section.check_relations`).

        Raises:
            ConfigError: `low_score` above `high_score`; `birth_shape_min_samples` above `birth_shape_capacity`.
        """
        self.check_at_most(prefix, "low_score", "high_score")
        # (else never enough looks: the rule off without a word)
        self.check_at_most(prefix, "birth_shape_min_samples", "birth_shape_capacity")


@dataclass(frozen=True)
class ClassConfig(Section):
    """The class policy of all four matching stages (see tracker/classes.py)."""

    compatible_groups: tuple[tuple[int, ...], ...] = key(
        ((2, 5, 7), (1, 3)),
        "classes that may share a track (COCO car/bus/truck, bicycle/motorcycle); other pairs never do",
        lo=0,
    )
    mismatch_cost: float = key(
        0.1, "cost added to a track-detection pair of two different classes of one group", lo=0, hi=2
    )
    vote_seconds: float = key(
        1.0, "a track's class is the score-weighted vote of its detections this long", lo=0, hi=MAX_VOTE_SECONDS
    )

    def check_relations(self, prefix: str) -> None:
        """No class in two compatible groups (`Section.check_relations`).

        Raises:
            ConfigError: a class listed in more than one of `compatible_groups`.
        """
        listed = [c for group in self.compatible_groups for c in group]
        twice = sorted({c for c in listed if listed.count(c) > 1})
        if twice:
            name = f"{prefix}compatible_groups"
            raise ConfigError(f"{name}: class {twice[0]} is in more than one group", key=name)


@dataclass(frozen=True)
class LifecycleConfig(Section):
    """Tentative -> confirmed -> lost -> removed."""

    min_hits: int = key(2, "consecutive matches before a track is confirmed and gets an ID", lo=1, hi=1000)
    min_seconds_tentative: float = key(0.1, "and a new track is confirmed no sooner than this", lo=0, hi=MAX_SECONDS)
    confirm_first_frame: bool = key(True, "tracks born on the first frame are confirmed at once")
    max_seconds_lost: float = key(10.0, "a lost track is kept this long for re-identification", lo=0, hi=MAX_SECONDS)
    max_seconds_lost_motion: float = key(2.0, "without a bank, a lost track is kept this long", lo=0, hi=MAX_SECONDS)
    max_seconds_lost_unbanked: float = key(
        1.0,
        "with appearance in the video, a lost track whose bank is still empty is kept this long",
        lo=0,
        hi=MAX_SECONDS,
    )
    min_gap_seconds: float = key(
        0.2,
        "timestamps: a frame later than this after the one before is a gap (the frames between advanced with no "
        "detections); nearer, it is the next frame",
        lo=0,
        hi=MAX_SECONDS,
    )
    max_gap_seconds: float = key(
        60.0,
        "timestamps: a gap longer than this is a scene cut: every track ends (to the gallery, if any), IDs go on",
        lo=0,
        hi=MAX_SECONDS,
    )
    still_quantile: float = key(
        0.01,
        "reporting: a box jitters less than this quantile of the other tracks' jitter: it is still (0 = off)",
        lo=0,
        hi=0.5,
    )
    still_seconds: float = key(
        1.0,
        "reporting: a track still in most observations over about this long is a fixed object, not reported",
        lo=0,
        hi=MAX_SECONDS,
    )
    still_min_samples: int = key(20, "reporting: jitters of other tracks measured before a track is judged still", lo=1)
    still_capacity: int = key(1000, "reporting: tracked boxes' jitters kept (FIFO)", lo=1, hi=10000000)
    still_prior: bool = key(
        True, "reporting: until then, a box is still below the jitter the Kalman measurement noise gives (quantile)"
    )
    still_teach_cut_boxes: bool = key(
        True, "reporting: a box a border cuts teaches the jitter of the edges no border holds (it is still not judged)"
    )
    still_prior_unmoved: bool = key(
        True,
        "reporting: a track first judged by that noise whose box has not moved since its birth (beyond that noise's "
        "quantile) starts its share from the jitters it taught, once all pass and that is unlikely for the others' "
        "jitters (1 / C(n + m, m) below still_quantile)",
    )
    still_camera_noise: bool = key(
        True,
        "reporting: with an estimated camera motion, a box has not moved when its net displacement is within that "
        "bound and the estimate's noise since its birth (camera_ransac_px at full resolution per frame, a random "
        "walk)",
    )

    def check_relations(self, prefix: str) -> None:
        """The jitter FIFO can hold the samples a judgement needs (`Section.check_relations`).

        Raises:
            ConfigError: `still_min_samples` above `still_capacity`, `min_gap_seconds` above `max_gap_seconds`.
        """
        # (else the FIFO could never hold enough jitters: the rule would be off without a word)
        self.check_at_most(prefix, "still_min_samples", "still_capacity")
        # (else every gap would be a scene cut before it could be advanced)
        self.check_at_most(prefix, "min_gap_seconds", "max_gap_seconds")


@dataclass(frozen=True)
class GalleryConfig(Section):
    """The persistent identity gallery (`--gallery FILE`): expired tracks' identities, searched by newcomers."""

    prototypes: int = key(4, "K_g: prototype embeddings kept per identity, picked from its bank", lo=1, hi=1024)
    prototype_method: str = key(
        "farthest_point", "how prototypes are picked: farthest_point | kmeans", choices=("farthest_point", "kmeans")
    )
    min_similarity: float = key(
        0.8, "minimum cosine similarity to revive a gallery identity (stricter than stage 4)", lo=-1, hi=1
    )
    margin: float = key(0.1, "the best identity must beat the runner-up by this similarity, else a new ID", lo=0, hi=2)
    search_seconds: float = key(
        2.0, "a new track is searched again each time its bank grows, for this long", lo=0, hi=MAX_SECONDS
    )
    min_embeddings: int = key(3, "a track enters the gallery only with at least this many bank entries", lo=1)
    live_seconds: float = key(
        2.0,
        "streams sharing a gallery: a live track's looks are offered to the others again at most this often",
        lo=0,
        hi=MAX_SECONDS,
    )
    ivf_min_identities: int = key(4000, "from this many identities on, search an IVF index instead of exact", lo=1)
    ivf_nprobe: int = key(64, "IVF: inverted lists visited per query (recall vs speed)", lo=1, hi=65536)
    save_every_seconds: float = key(
        60.0, "the track command also saves the gallery this often (wall time)", lo=0, hi=MAX_SECONDS
    )
    max_days_unseen: float = key(30.0, "retention: forget identities unseen for this many days", lo=0, hi=MAX_DAYS)
    max_identities: int = key(100000, "retention: at most this many identities, least recently seen go first", lo=1)


@dataclass(frozen=True)
class BatchConfig(Section):
    """`track batch`: many videos as parallel tasks (tracker.batch)."""

    max_retries: int = key(3, "times a video whose worker died is run again from its first frame", lo=0, hi=100)
    progress_seconds: float = key(0.5, "how often a running video reports its frame count", lo=0.01, hi=60)


@dataclass(frozen=True)
class VideoConfig(Section):
    """The annotated video (`<name>.mp4` of `track` and `track batch`, `tracker.io.video.Annotator`); its times are
    seconds of the source's time, whatever its frame rate or `--vid-stride`."""

    trail_seconds: float = key(
        1.2,
        "how far back an ID's trail reaches (its bottom-centre points of that long); 0 = no trails",
        lo=0,
        hi=MAX_TRAIL_SECONDS,
    )
    trail_keep_seconds: float = key(
        2.4, "a hidden ID's trail is kept this long, so it resumes where it was", lo=0, hi=MAX_TRAIL_SECONDS
    )


@dataclass(frozen=True)
class TrackerConfig(Section):
    """The whole tracker: a frozen dataclass of top-level keys and one section per YAML mapping (`detector`,
    `reid`, `appearance`, `motion`, `association`, `classes`, `lifecycle`, `gallery`, `batch`, `video`). Time limits
    are mostly in seconds (keys naming seconds, e.g. `lifecycle.max_seconds_lost`, converted to frames with the frame
    rate; a few `*_frames` keys count frames), similarities are cosine.

    Build it with `load_config` (checked); `TrackerConfig(...)` or `dataclasses.replace` skip the checks until a
    `Tracker` is built (`validate_config`, ConfigError).
    """

    device: str = key("auto", "auto (CUDA when present) | cpu | cuda | cuda:N")
    frame_rate: float = key(
        30.0, "frames per second when the source does not say", lo=MIN_FRAME_RATE, hi=MAX_FRAME_RATE
    )
    min_frame_rate: float = key(
        1.0, "a source declaring fewer frames/s than this is not believed", lo=MIN_FRAME_RATE, hi=MAX_FRAME_RATE
    )
    max_frame_rate: float = key(
        240.0, "a source declaring more frames/s than this is not believed", lo=MIN_FRAME_RATE, hi=MAX_FRAME_RATE
    )
    core_threads: int = key(
        1,
        "torch and numpy BLAS CPU threads for the tracker's own small ops, restored after each frame; 0 = unchanged",
        lo=0,
        hi=1024,
    )
    plausible_detections: int = key(
        1000,
        "more detections in one frame are warned once (boxes before non-maximum suppression?): a frame's matching "
        "costs detections x tracks in time and memory",
        lo=1,
        hi=100000000,
    )
    detector: DetectorConfig = field(default_factory=DetectorConfig)
    reid: ReIDConfig = field(default_factory=ReIDConfig)
    appearance: AppearanceConfig = field(default_factory=AppearanceConfig)
    motion: MotionConfig = field(default_factory=MotionConfig)
    association: AssociationConfig = field(default_factory=AssociationConfig)
    classes: ClassConfig = field(default_factory=ClassConfig)
    lifecycle: LifecycleConfig = field(default_factory=LifecycleConfig)
    gallery: GalleryConfig = field(default_factory=GalleryConfig)
    batch: BatchConfig = field(default_factory=BatchConfig)
    video: VideoConfig = field(default_factory=VideoConfig)

    def check_relations(self, prefix: str) -> None:
        """`device` is one of the accepted forms, and the believed frame rates form a range
        (`Section.check_relations`). Whether this machine has that device is for `tracker.device.resolve_device`
        (a config written for the GPU server loads anywhere).

        Raises:
            ConfigError: a `device` not of the accepted forms (`DEVICE_FORMS`), or `min_frame_rate` above
                `max_frame_rate`.
        """
        if not _DEVICE_FORM.fullmatch(self.device):
            said = unsupported_device(self.device) or f"device: {self.device!r} is not a device; use {DEVICE_FORMS}"
            raise ConfigError(said, key="device")
        self.check_at_most("", "min_frame_rate", "max_frame_rate")

    def replace(self, overrides: list[str] | dict[str, Any]) -> TrackerConfig:
        """A copy with `section.key=value` overrides (a list of strings, or a {dotted key: value} dict) applied and
        validated; ConfigError as `load_config`'s."""
        data = config_to_dict(self)
        apply_overrides(data, overrides)
        return parse_config(data)


def unsupported_device(name: str) -> str | None:
    """The error for a `device` `name` that is a PyTorch device of a kind this tracker does not run on
    (`OTHER_TORCH_DEVICES`, with or without an index: `mps`, `mps:0`): "device: 'mps' (Apple's GPU, MPS) is not
    supported; use auto, cpu, cuda or cuda:N". `device: mps` was told "is not a device", as a typo is. None for any
    other name."""
    what = OTHER_TORCH_DEVICES.get(name.partition(":")[0])
    return f"device: {name!r} ({what}) is not supported; use {DEVICE_FORMS}" if what else None


def parse_config(data: dict[str, Any] | None) -> TrackerConfig:
    """Validate a nested mapping (as read from YAML) into a `TrackerConfig`.

    Raises:
        ConfigError: not a mapping, or its first unknown key, wrong type, out-of-range value or broken relation,
            named as in YAML (`build_section`).
    """
    return build_section(TrackerConfig, data, "")


class _Dumper(yaml.SafeDumper):
    """`yaml.SafeDumper` writing a `FilePath` (a config file's path, joined to its folder) as the str it is."""


_Dumper.add_representer(FilePath, yaml.representer.SafeRepresenter.represent_str)


def config_to_yaml(cfg: TrackerConfig, absolute_paths: bool = False) -> str:
    """`cfg` as YAML text, every key of every section in the schema's order (`config_to_dict`): a file that
    `load_config` reads back equal to `cfg` (what a `track` run writes as its `config.yaml`); with `absolute_paths`,
    its relative weight paths as `paths_from_here` writes them (then equal but for those)."""
    data = paths_from_here(config_to_dict(cfg)) if absolute_paths else config_to_dict(cfg)
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=False)


def paths_from_here(data: dict[str, Any]) -> dict[str, Any]:
    """A copy of `data` (a config as `config_to_dict` gives it) with each `PATH_KEYS` value that is a relative path
    with a folder part (`../weights/det.pt`) naming something from the working folder made absolute: what a run
    saves in its `config.yaml`, which `--config` reads from that file's own folder (`load_config`; it warned of, or
    did not find, the path the run had found from its working folder). Bare names (`yolo11n.pt`, also looked up in
    `$TRACKER_WEIGHTS_DIR` or downloaded by name), `~` and absolute paths stay as they are."""
    data = copy.deepcopy(data)
    for _, node, leaf, value in relative_paths(data, PATH_KEYS):  # (a record read back may lack the section)
        if Path(value).name != value and os.path.exists(value):
            node[leaf] = os.path.abspath(value)
    return data


def has_appearance(cfg: TrackerConfig) -> bool:
    """Whether `cfg` computes appearance embeddings (what banks, a gallery and stage 4 read): appearance on and a
    ReID model (OSNet, or `auto`: the detector's features)."""
    return cfg.appearance.enabled and cfg.reid.model != "none"


def validate_config(cfg: TrackerConfig) -> TrackerConfig:
    """Check a config built in Python (`dataclasses.replace`, a `TrackerConfig(...)` call), which bypasses
    `load_config`'s checks, against the same types, ranges and relations; O(keys), once per tracker.

    Returns:
        the config as `load_config` would have made it: equal to `cfg`, with numpy numbers as Python's and lists
        as tuples (a tracker computes with these, not with a caller's float32).
    Raises:
        ConfigError: the first invalid key, named as in YAML (`appearance.bank_capacity: 0 is out of range ...`);
            a section replaced by something else (None, a dict) too, where it was read as that section's defaults
            and the tracker then failed with AttributeError.
    """
    check_sections(cfg, "")
    return parse_config(config_to_dict(cfg))


def load_config(path: str | Path | None = None, overrides: list[str] | dict[str, Any] | None = None) -> TrackerConfig:
    """Load a YAML config (None: the defaults) and apply `section.key=value` overrides.

    Args:
        path: the YAML file (a leading `~` is the home folder), or None for the defaults. The relative paths it gives
            for `PATH_KEYS` are read from its folder (a file there: its absolute path; see `config_load.load_file`).
        overrides: a list of `section.key=value` strings (values read as YAML) or a {`section.key`: value} dict,
            applied after the file (their paths are the working folder's); None: none.
    Returns:
        The validated `TrackerConfig`.
    Raises:
        ConfigError: unknown key, wrong type, out-of-range value, a key given twice, unreadable (missing)/invalid
            YAML, `overrides` given as one string, or a `path` that is no path (`load_config(["a.b=1"])`: overrides
            go by name); a fault of the file's own keys starts with the file's path and its line (`cfg.yaml: line 3:
            unknown config key 'detector.bogus'; ...`).
    """
    # (parse_config looked up here, as tests replace it)
    return load_file(
        path, overrides, parse_config, section_names(TrackerConfig), _peer_file, PATH_KEYS, _weights_elsewhere
    )


def _weights_elsewhere(name: str) -> Path | None:
    """Where a weights path or name a config file gives is found other than in that file's folder: the working
    folder, then `$TRACKER_WEIGHTS_DIR` (`tracker.weights.resolve_weights`), or None."""
    from tracker.weights import resolve_weights

    return resolve_weights(name)


def _peer_file(data: dict[str, Any]) -> str | None:
    """What `load_config` says of a config file that is another tracker's YAML (`peer_file_error`), else None."""
    return peer_file_error(data, config_to_dict(TrackerConfig()))


def unused_settings(cfg: TrackerConfig, devices_here: bool = True) -> list[str]:
    """What `cfg` sets that its other keys leave unused (valid, so no error: a config may keep it for later), one
    line each: `motion.camera_exclude` regions while `motion.camera_compensation` is none, a `reid.wide_threads`
    set (not the default) while `reid.wide_from` is 0 (with what to do where OpenVINO may run the ReID: set
    `wide_from`), or whatever wide_from where PyTorch runs it (`reid.backend=torch` or a GPU, which reads neither:
    nothing to set), a `reid.wide_from` set (not the default) above the largest static batch (`largest_static_batch`
    of `reid.batch_size`: no batch reaches it) where OpenVINO may run the ReID (not `reid.backend=torch`, nor a GPU,
    whose PyTorch forward ignores wide_from whatever the batch size);
    and one pair that works against itself: `reid.wide_from` with `reid.requests` > 1 and `reid.wide_recheck_after` 0
    where the models run on the CPU (each request's wide batches always on wide_threads at once: more threads than
    cores; with a recheck, a split call runs wide only where its calls measured faster, and on a GPU the PyTorch
    forward ignores all three).

    `devices_here`: False where the models run on other machines (`track batch` joining a Ray cluster), on which
    `device: auto` resolves: a line that holds only on the CPU is then said of the nodes without a GPU, not decided
    (or left out) by this machine's CUDA.
    """
    unused = []
    if cfg.motion.camera_exclude and cfg.motion.camera_compensation == "none":
        unused.append(
            "motion.camera_exclude is not used: motion.camera_compensation is none (no camera motion is estimated, "
            "so no region is excluded from it); set motion.camera_compensation to auto, sparse_flow, orb or ecc"
        )
    reid = cfg.reid
    openvino = _openvino_may_run(cfg, devices_here)  # (None: not known here)
    where = _ON_CPU_NODES if openvino is None else ""
    wide_threads_set = reid.wide_threads not in (0, ReIDConfig().wide_threads)  # (the default: said of nothing)
    if wide_threads_set and (not reid.wide_from or openvino is False):  # (PyTorch reads it whatever wide_from)
        unused.append(
            f"reid.wide_threads={reid.wide_threads} is not used: reid.wide_from is 0 (every ReID batch runs on "
            "reid.threads); set reid.wide_from, the crops a batch needs to run on wide_threads (2 where a core is "
            f"free){where}"
            if openvino is not False
            else f"reid.wide_threads={reid.wide_threads} is not used: it and reid.wide_from set OpenVINO's threads on "
            f"the CPU, and {_pytorch_reid(cfg)}, which reads neither; leave reid.wide_threads out"
        )
    if not reid.wide_from or openvino is False:
        return unused  # (no OpenVINO batch: the PyTorch forward ignores wide_from, whatever the batch size)
    from tracker.reid.openvino import SPLIT_LIMIT, largest_static_batch

    largest = largest_static_batch(reid.batch_size)  # (OpenVINO's batches: at most this many crops each)
    if reid.wide_from > largest and reid.wide_from != ReIDConfig().wide_from:  # (the default: said of nothing)
        unused.append(
            f"reid.wide_from={reid.wide_from} is not used: no ReID batch is larger than {largest}, the largest static "
            f"batch for reid.batch_size={reid.batch_size} (the power of two at most it; larger calls are chunked), "
            f"so every batch runs on reid.threads; set reid.wide_from to at most {largest}{where}"
        )
    # (larger calls are not split over the requests; no part is larger than the largest static batch; OpenVINO
    # runs on the CPU alone: on a GPU the PyTorch forward ignores reid.requests, and no core is oversubscribed; with
    # wide_recheck_after > 0 a split call runs wide only where that measured faster: `reid.requests=2` alone, with the
    # default wide_from, was told it oversubscribed the CPU)
    if reid.requests > 1 and reid.wide_recheck_after == 0 and reid.wide_from <= min(SPLIT_LIMIT, largest):
        threads = f"{reid.wide_threads} threads" if reid.wide_threads else "all cores (reid.wide_threads=0)"
        unused.append(
            f"reid.wide_from={reid.wide_from} with reid.requests={reid.requests} oversubscribes the CPU: the "
            f"{reid.requests} parts of a split call run at once, and with reid.wide_recheck_after=0 each of "
            f"{reid.wide_from} crops or more always on {threads}; set reid.wide_recheck_after above 0 (wide only where "
            f"measured faster), reid.requests=1 (wide batches use the cores) or reid.wide_from=0{where}"
        )
    return unused


# what a line of `unused_settings` adds where the models' device resolves on other machines (`devices_here` False)
_ON_CPU_NODES = (
    " (where a node has no GPU and device=auto runs the ReID on the CPU, with OpenVINO; on a GPU it is not read)"
)


def _openvino_may_run(cfg: TrackerConfig, devices_here: bool) -> bool | None:
    """Whether OpenVINO may run the ReID (`reid.backend` not torch, the models on the CPU); None where `device: auto`
    resolves on other machines (`devices_here` False)."""
    if cfg.reid.backend == "torch":
        return False
    if cfg.device == "auto" and not devices_here:
        return None
    from tracker.device import runs_on_cpu

    return runs_on_cpu(cfg.device)


def _pytorch_reid(cfg: TrackerConfig) -> str:
    """Why PyTorch runs the ReID, as `unused_settings` says it: `reid.backend=torch`, or the GPU `device` picks."""
    if cfg.reid.backend == "torch":
        return "reid.backend=torch runs the ReID with PyTorch"
    return f"device={cfg.device} runs the ReID on the GPU, with PyTorch"


def log_unused_settings(cfg: TrackerConfig, devices_here: bool = True) -> None:
    """Log each of `unused_settings(cfg, devices_here)` as a warning: once per run, by whatever loads its config
    (`track`, `track batch`, `track eval`), not per tracker or video."""
    for line in unused_settings(cfg, devices_here):
        log.warning("%s", line)


def _covers_frame(regions: tuple[tuple[float, ...], ...]) -> bool:
    """Whether the union of `regions` ([x1, y1, x2, y2] fractions of the frame, checked) is the whole frame: every
    cell of the grid their edges make holds its centre in one of them."""
    xs = sorted({0.0, 1.0, *(r[0] for r in regions), *(r[2] for r in regions)})
    ys = sorted({0.0, 1.0, *(r[1] for r in regions), *(r[3] for r in regions)})
    return bool(regions) and all(
        any(x1 <= (a + b) / 2 <= x2 and y1 <= (c + d) / 2 <= y2 for x1, y1, x2, y2 in regions)
        for a, b in itertools.pairwise(xs)
        for c, d in itertools.pairwise(ys)
    )
