"""Typed, frozen configuration loaded strictly from YAML.

Every component has one frozen dataclass; `TrackerConfig` groups them. Each field is declared with
`_key(default, doc, lo=..., hi=..., choices=...)`, so the range and the one-line comment live next to the
default. `load_config(path, overrides=["section.key=value"])` rejects unknown keys (with a did-you-mean),
wrong types and out-of-range values with a `ConfigError` naming the key.
"""

from __future__ import annotations

import copy
import difflib
import itertools
import math
import numbers
import re
import types
import typing
from dataclasses import MISSING, Field, dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any

import yaml

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
    "config_to_dict",
    "has_appearance",
    "load_config",
    "parse_config",
]

MAX_FRAME_RATE = 1000.0
"""Frames/s, the most any frame rate may be (config keys, `Tracker(frame_rate=)`, `track --fps`): beyond the cameras
people are tracked with; per-second windows (the class vote) hold this many frames a second."""
MAX_VOTE_SECONDS = 10.0  # classes.vote_seconds at most: a vote window of 10 s x MAX_FRAME_RATE floats per track
_SHOWN_CHARS = 80  # a wrong value longer than this is named by its type in an error, not printed whole
_EXPONENT_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+")  # 1e9, 5e-3: YAML 1.1 reads these as text


class ConfigError(ValueError):
    """A configuration key is unknown, of the wrong type or out of range.

    Attributes:
        key: the dotted key the error is about, as written in YAML (`association.low_score`), set where the error
            is raised; None for an error about no key (an unreadable file, invalid YAML, a malformed override).
            `load_config` finds the file line of a file's fault from it (and `index`), never from the message.
        index: the positions of the list item at fault within `key`'s list, outermost first (`(1, 1)` for
            `classes.compatible_groups[1][1]`); () when the error is about the key itself.
    """

    def __init__(self, message: str, *, key: str | None = None, index: tuple[int, ...] = ()) -> None:
        super().__init__(message)
        self.key = key
        self.index = tuple(index)


class _Section:
    """Base of the config dataclasses. Unpickled (a `track --resume` checkpoint holds the run's config), a key added
    since the pickle was made gets its default, as `tracker.resume` takes such a checkpoint (that run had the
    default): a key with a list default has no class attribute to fall back on, and its first read raised
    AttributeError (`motion.camera_exclude` in a checkpoint of before stop 38, on the first frame after the resume)."""

    def __setstate__(self, state: dict[str, Any]) -> None:
        added = {f.name: _default(f) for f in fields(self) if f.name not in state}
        self.__dict__.update({**added, **state})


def _default(key: Field) -> Any:
    """A config key's default value (a fresh one for a list or section default)."""
    return key.default_factory() if key.default is MISSING else key.default


def _key(
    default: Any,
    doc: str,
    *,
    lo: float | None = None,
    hi: float | None = None,
    choices: tuple[Any, ...] | None = None,
) -> Any:
    """A dataclass field carrying its documentation and allowed range."""
    meta = {"doc": doc, "lo": lo, "hi": hi, "choices": choices}
    if isinstance(default, (list, tuple)):
        return field(default_factory=lambda: tuple(default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class DetectorConfig(_Section):
    """The ultralytics detector (any model ultralytics can load)."""

    model: str = _key("yolo11n.pt", "any ultralytics-loadable model: .pt, OpenVINO folder, .onnx, .engine")
    confidence: float = _key(0.1, "lowest box score kept; low boxes feed the second matching stage", lo=0, hi=1)
    iou: float = _key(0.7, "non-maximum suppression IoU threshold", lo=0, hi=1)
    image_size: int = _key(640, "inference image size in pixels", lo=32, hi=8192)
    classes: tuple[int, ...] = _key((0,), "class ids to track (COCO 0 = person); empty = all classes", lo=0)
    half: bool = _key(False, "fp16 inference (CUDA only)")
    threads: int = _key(
        1, "exported models: torch CPU threads of ultralytics' pre- and post-processing; 0 = torch's", lo=0, hi=4096
    )
    cpu_pinning: bool = _key(False, "OpenVINO on the CPU: pin inference threads to cores (OpenVINO's default)")


@dataclass(frozen=True)
class ReIDConfig(_Section):
    """The appearance embedder."""

    model: str = _key(
        "osnet_x0_25",
        "osnet_x0_25 | osnet_x1_0 (torchreid weights) | auto (detector features) | none (motion only)",
        choices=("osnet_x0_25", "osnet_x1_0", "auto", "none"),
    )
    weights: str = _key("osnet_x0_25_msmt17.pth", "torchreid-format state dict for the OSNet models")
    batch_size: int = _key(128, "crops per forward pass; larger batches are chunked", lo=1, hi=65536)
    crop_height: int = _key(256, "crop height fed to the ReID network, pixels", lo=16, hi=1024)
    crop_width: int = _key(128, "crop width fed to the ReID network, pixels", lo=16, hi=1024)
    backend: str = _key(
        "auto",
        "auto (OpenVINO on the CPU when installed, else PyTorch) | torch | openvino (CPU only)",
        choices=("auto", "torch", "openvino"),
    )
    half: bool = _key(True, "reduced precision: fp16 on CUDA, bf16 in OpenVINO where the CPU has it")
    int8: bool = _key(False, "OpenVINO: the INT8 OSNet that tools/quantize_reid.py made with NNCF")
    threads: int = _key(1, "OpenVINO: CPU threads of one ReID inference; 0 = all cores", lo=0, hi=4096)
    requests: int = _key(
        1, "OpenVINO: inferences a frame's crops are split over, run at once (threads each)", lo=1, hi=64
    )
    cuda_graphs: bool = _key(False, "CUDA: replay the forward as captured CUDA graphs, one per power-of-two batch")


@dataclass(frozen=True)
class AppearanceConfig(_Section):
    """The per-track FIFO bank of embeddings and how it is compared."""

    enabled: bool = _key(True, "use appearance in matching (false = motion only)")
    bank_capacity: int = _key(30, "K: embeddings kept per track, first in first out", lo=1, hi=100000)
    match_threshold: float = _key(0.55, "minimum cosine similarity for an appearance match", lo=-1, hi=1)
    aggregation: str = _key(
        "topk_mean",
        "how a bank's K similarities become one: max | mean | topk_mean",
        choices=("max", "mean", "topk_mean"),
    )
    topk: int = _key(3, "k of topk_mean", lo=1, hi=100000)
    min_score: float = _key(0.5, "quality gate: minimum detection score to enter the bank", lo=0, hi=1)
    max_occlusion: float = _key(
        0.3, "quality gate: maximum fraction of the box covered by a box in front of it", lo=0, hi=1
    )
    initial_slots: int = _key(64, "bank slots preallocated; doubles when more tracks are alive", lo=1, hi=1000000)
    bank_dtype: str = _key(
        "auto",
        "bank storage: auto (CPU float32, GPU float16) | float32 | bfloat16 (half the memory) | float16 (GPU only)",
        choices=("auto", "float32", "bfloat16", "float16"),
    )
    lazy_embedding: bool = _key(True, "embed only detections whose appearance matters (ambiguous, new, stale bank)")
    refresh_seconds: float = _key(0.5, "lazy mode: an unambiguous track's bank gets a new embedding this often", lo=0)
    calibration: str = _key(
        "online",
        "online: appearance bounds from this video's same/different-identity similarities | fixed: the thresholds",
        choices=("online", "fixed"),
    )
    calibration_capacity: int = _key(2000, "calibration: similarities kept per queue (FIFO)", lo=1, hi=10000000)
    calibration_min_samples: int = _key(
        50, "calibration: negatives needed before the bounds replace the fixed thresholds", lo=1, hi=10000000
    )
    calibration_per_frame: int = _key(16, "calibration: most similarities one frame adds to each queue", lo=1, hi=10000)
    calibration_sample_seconds: float = _key(
        0.5, "calibration: once calibrated, the queues are fed once per this period (every frame before)", lo=0
    )
    calibration_margin: float = _key(0.02, "calibration: added to the quantile of negatives", lo=0, hi=1)
    match_quantile: float = _key(0.5, "calibration: stage 1 gate of lost tracks, quantile of negatives", lo=0, hi=1)
    reid_quantile: float = _key(0.99, "calibration: stage 4 revival bound, quantile of negatives", lo=0, hi=1)
    gallery_quantile: float = _key(0.999, "calibration: gallery bound, quantile of negatives", lo=0, hi=1)
    revival_ramp_seconds: float = _key(
        2.0, "calibration: stage 1 gate of a lost track rises from the match to the revival bound over this", lo=0
    )
    reid_evidence_per_second: float = _key(
        0.005, "calibration: stage 4 bound grows by this similarity per second lost", lo=0, hi=1
    )


@dataclass(frozen=True)
class MotionConfig(_Section):
    """The constant-velocity Kalman filter on (cx, cy, w, h)."""

    std_position: float = _key(0.05, "position noise as a fraction of box size", lo=0, hi=10)
    std_velocity: float = _key(0.00625, "velocity noise as a fraction of box size", lo=0, hi=10)
    width_process_factor: float = _key(
        1.0,
        "the process noise of the box width and its velocity, times the height's (below 1 smooths the width)",
        lo=0,
        hi=100,
    )
    width_measurement_factor: float = _key(
        1.0, "the measurement noise of the box width, times the height's (above 1 smooths the width)", lo=0, hi=100
    )
    confidence_scaled_noise: bool = _key(False, "scale measurement noise by (1 - score) (NSA Kalman)")
    adaptive_measurement_noise: bool = _key(
        True,
        "raise the measurement noise of box sizes to what this video's matched innovations measure while they stay "
        "white (covariance matching, Mehra's whiteness test; never below std_position)",
    )
    noise_min_updates: int = _key(
        50, "adaptive_measurement_noise: matched updates pooled before the measured noise applies", lo=1
    )
    gate_chi2: float = _key(9.4877, "Mahalanobis gate, chi-square 95% with 4 dof", lo=0)
    output_filtered_box: bool = _key(True, "report the Kalman-corrected box (false: the raw detection box)")
    report_aspect_filter: bool = _key(
        True,
        "report the box width as a smoothed aspect times the Kalman height (association keeps the Kalman width)",
    )
    report_aspect_process_factor: float = _key(
        0.5,
        "report_aspect_filter: process noise of the reported aspect, times its measurement noise (1: as the width's)",
        lo=0,
        hi=100,
    )
    report_aspect_weighting: bool = _key(
        True,
        "report_aspect_filter: weigh the aspect width against the Kalman width by this video's measured errors "
        "against the next frame's box (false: the aspect width alone)",
    )
    report_gap_frame: bool = _key(
        False, "report a confirmed track missed for one frame at its Kalman prediction (a one-frame detection gap)"
    )
    reupdate_after_loss: bool = _key(True, "on recovery, replay the hidden frames along a straight line (OC-SORT ORU)")
    complete_truncated_boxes: bool = _key(
        True, "a box cut by the left or right frame border is measured at the track's width, its inner edge kept"
    )
    complete_part_boxes: bool = _key(
        True,
        "a part-of-a-person box (association.part_box_fraction) a track continues on, also under that fraction of "
        "the track's predicted height, is measured at the predicted size, its nearer top or bottom edge kept",
    )
    min_visible_fraction: float = _key(
        0.5,
        "reporting: a track whose box the left or right frame border cuts to less than this fraction of the width "
        "of the narrowest whole look of its class and height is kept but not reported (0 = off)",
        lo=0,
        hi=1,
    )
    visible_fraction_from_tracks: bool = _key(
        True,
        "reporting: until the births' shape range applies, min_visible_fraction is judged against the narrowest "
        "uncut box reported in the frame",
    )
    camera_compensation: str = _key(
        "none",
        "camera-motion compensation: none | auto | sparse_flow | orb | ecc (needs frames or a given camera_motion)",
        choices=("none", "auto", "sparse_flow", "orb", "ecc"),
    )
    camera_image_width: int = _key(320, "camera motion is estimated on a gray copy this wide, pixels", lo=16, hi=8192)
    camera_max_features: int = _key(200, "camera motion: corners (sparse_flow) or keypoints (orb) per frame", lo=8)
    camera_min_inliers: int = _key(12, "camera motion: fewer RANSAC inliers than this gives the identity", lo=3)
    camera_ransac_px: float = _key(1.0, "camera motion: RANSAC inlier distance, pixels of the gray copy", lo=0.01)
    camera_bridge_frames: int = _key(
        5,
        "camera motion: after a failed estimate, this many frames are also estimated from the last frame before it "
        "when their own fails (the motion across a blackout or a flash is kept); 0: off",
        lo=0,
    )
    camera_exclude: tuple[tuple[float, ...], ...] = _key(
        (),
        "camera motion: frame regions [x1, y1, x2, y2] (fractions of the frame) never used for the estimate, such as "
        "a car's hood or burned-in text, which stay still while the scene moves",
        lo=0,
        hi=1,
    )
    reference_frame_rate: float = _key(
        25.0, "frames/s at which the two std_ keys are per-frame noises (rescaled at other rates)", lo=0.001
    )


@dataclass(frozen=True)
class AssociationConfig(_Section):
    """Scores and gates of the four matching stages."""

    high_score: float = _key(0.4, "detections at or above this score take part in stage 1", lo=0, hi=1)
    low_score: float = _key(0.1, "detections between this and high_score take part in stage 2", lo=0, hi=1)
    new_track_score: float = _key(0.5, "minimum score to start a new track", lo=0, hi=1)
    fuse_score: bool = _key(True, "multiply IoU by the detection score in stage 1 (ByteTrack)")
    appearance_weight: float = _key(0.6, "weight of appearance against motion in the stage 1 cost", lo=0, hi=1)
    max_cost: float = _key(0.8, "stage 1: highest fused cost accepted", lo=0, hi=2)
    clear_pairs_first: bool = _key(
        True, "stage 1: pairs that are each other's clear best are matched before the Hungarian assignment"
    )
    tentative_resort: bool = _key(
        True,
        "stage 1: tentative tracks join stage 1's assignment where they re-sort it (a confirmed track takes i"
        "ts other candidate) without leaving a track stage 1 matched unmatched: a box that held two people splits",
    )
    clear_pair_margin: float = _key(
        0.1, "stage 1: a clear best pair costs at least this much less than any rival in its row and column", lo=0
    )
    tentative_resort_margin: float = _key(
        0.2,
        "stage 1: in a detection a tentative track reaches, tentative_resort keeps a confirmed track's clear pair f"
        "ixed only when clear by this much (the split is for the joint assignment to sort)",
        lo=0,
    )
    contested_iou: float = _key(
        0.2, "stage 1: a second candidate with this IoU makes a match ambiguous (appearance is consulted)", lo=0, hi=1
    )
    clear_iou: float = _key(
        0.5,
        "stage 1: a detection overlapping one tracked track this much, and nothing else, skips lost tracks",
        lo=0,
        hi=1,
    )
    weak_look_ties: bool = _key(
        True,
        "stage 1: appearance of a track with no clear look (empty bank, border-cut views only), or below the reid "
        "bound on a detection in such a track's Kalman gate, may veto a pair but not make it cheaper than motion",
    )
    thin_bank_outranked: bool = _key(
        True,
        "stage 1: a lost track with fewer looks than appearance.topk does not take a detection that another lost "
        "track able to take it resembles more (the detection goes on to that track, re-identification or a new ID)",
    )
    partial_views_veto: bool = _key(
        False,
        "stage 1: a tracked track whose bank holds only looks cut by a side border may veto, by appearance, a "
        "detection its Kalman gate or motion alone accepts (false: partial views do not refuse what its motion "
        "vouches for)",
    )
    ungated_needs_reid: bool = _key(
        True,
        "stage 1: a tracked track's pair outside its Kalman gate that motion alone rejects (max_cost) needs a "
        "similarity at the calibrated reid bound",
    )
    lost_pairs_plausible: bool = _key(
        True,
        "stage 1: a lost track's pair that motion alone rejects (max_cost) needs a detection whose height is within "
        "max_size_ratio of the track's last observed one, as stage 4 does",
    )
    thin_bank_revival: bool = _key(
        True,
        "stage 1: a lost track with fewer looks than appearance.topk, lost longer than "
        "lifecycle.max_seconds_lost_unbanked, needs the revival bound (its return is a revival)",
    )
    ungated_lookless_yields: bool = _key(
        True,
        "stage 1: a tracked track with no clear look does not keep, by overlap outside its Kalman gate, a detection "
        "that a lost track's look matches and stage 1 lets it take (cost within max_cost)",
    )
    ungated_ties_by_motion: bool = _key(
        True,
        "stage 1: a tracked track whose Kalman gate holds no confident detection pays at least its motion cost for a "
        "detection a tracked look-less track's gate holds, however close its look",
    )
    vouched_lost_match: bool = _key(
        True,
        "stage 1: a lost track whose Kalman gate holds a detection it overlaps by clear_iou needs only the match "
        "bound there, not the bound rising with the time lost",
    )
    vouch_thin_banks: bool = _key(
        False,
        "vouched_lost_match also lowers the bound of a lost track that thin_bank_revival holds to the revival bound "
        "(false: a thin bank's return after max_seconds_lost_unbanked stays a revival, however it overlaps)",
    )
    part_box_fraction: float = _key(
        0.7,
        "a box shorter than this fraction of the height the ground line (reported boxes' height against foot row) "
        "predicts at its foot row is a part of a person: no look, no bank, no lost track's return (0 = off)",
        lo=0,
        hi=1,
    )
    ground_line_min_samples: int = _key(
        20, "part_box_fraction: reported boxes of a class before its ground line is used", lo=2, hi=1000000
    )
    ground_line_min_r2: float = _key(
        0.5, "part_box_fraction: least share of the heights' variance the ground line explains to be used", lo=0, hi=1
    )
    ground_line_capacity: int = _key(
        300, "part_box_fraction: reported boxes kept per class for the ground line (FIFO)", lo=2, hi=10000000
    )
    max_iou_distance_low: float = _key(0.5, "stage 2: highest 1 - IoU accepted for low-score detections", lo=0, hi=1)
    max_iou_distance_tentative: float = _key(0.7, "stage 3: highest 1 - IoU accepted for tentative tracks", lo=0, hi=1)
    reid_threshold: float = _key(0.7, "stage 4: minimum cosine similarity to revive a lost track", lo=-1, hi=1)
    reid_margin: float = _key(0.05, "stage 4: best match must beat the runner-up by this similarity", lo=0, hi=2)
    reid_max_speed: float = _key(1.5, "stage 4: plausible displacement, box heights per second lost", lo=0)
    reid_min_distance: float = _key(1.0, "stage 4: displacement always allowed, in box heights", lo=0)
    max_size_ratio: float = _key(2.0, "stage 4: largest height ratio between lost track and detection", lo=1)
    reid_around_view: bool = _key(
        True,
        "stage 4: a track last seen cut by one side border reaches a detection entering by the other only around the "
        "view (through its corners), not straight across it",
    )
    lost_exit_fraction: float = _key(
        0.5,
        "stage 1: a lost track last seen cut by a border and predicted to keep no more than this fraction of its "
        "width (height) inside it, no more than a frame ago, is not continued by motion on a detection reaching "
        "further into the view than this fraction of its width (height): that needs re-identification (0 = off)",
        lo=0,
        hi=1,
    )
    border_look_quantile: float = _key(
        0.05,
        "stage 1: a tracked track's uncontested pair cut by a side border is refused when its look is below this "
        "quantile of the track's own same-identity similarities (never above the calibrated reid bound; 0 = off)",
        lo=0,
        hi=1,
    )
    border_look_min_looks: int = _key(
        5, "border_look_quantile: the track's own same-identity similarities needed before it refuses", lo=1
    )
    entry_border_heights: float = _key(
        0.25, "stage 4: a detection nearer a frame border than this many box heights may be a newcomer", lo=0
    )
    entry_occlusion: float = _key(
        0.1,
        "stage 4: a detection covered more than this by a box in front may be a newcomer from behind it",
        lo=0,
        hi=1,
    )
    birth_shape_quantile: float = _key(
        0.01,
        "new tracks: a whole look whose log width/height lies outside its class's [q, 1-q] prediction interval of "
        "tracked looks starts none (0 = off)",
        lo=0,
        hi=0.5,
    )
    birth_shape_min_samples: int = _key(
        10, "new tracks: tracked looks a class needs before its shape range applies", lo=1
    )
    birth_shape_min_tracks: int = _key(
        3, "new tracks: different tracks a class's looks must come from before its shape range applies", lo=1
    )
    birth_shape_capacity: int = _key(
        1000, "new tracks: width/height ratios of tracked looks kept per class (FIFO)", lo=1
    )
    birth_shape_release_heights: float = _key(
        0.5,
        "new tracks: an off-shape look that moved this many of its box heights since first refused starts a track "
        "(the lasting false detections refused stand still)",
        lo=0.01,
    )
    reid_entry_evidence: float = _key(
        0.05, "stage 4 (online): similarity added to the revival bound where a newcomer could have entered", lo=0, hi=1
    )
    reid_hidden_relief: float = _key(
        0.0, "stage 4 (online): similarity taken off the revival bound where nobody could have walked in", lo=0, hi=1
    )


@dataclass(frozen=True)
class ClassConfig(_Section):
    """The class policy of all four matching stages (see tracker/classes.py)."""

    compatible_groups: tuple[tuple[int, ...], ...] = _key(
        ((2, 5, 7), (1, 3)),
        "classes that may share a track (COCO car/bus/truck, bicycle/motorcycle); other pairs never do",
        lo=0,
    )
    mismatch_cost: float = _key(
        0.1, "cost added to a track-detection pair of two different classes of one group", lo=0, hi=2
    )
    vote_seconds: float = _key(
        1.0, "a track's class is the score-weighted vote of its detections this long", lo=0, hi=MAX_VOTE_SECONDS
    )


@dataclass(frozen=True)
class LifecycleConfig(_Section):
    """Tentative -> confirmed -> lost -> removed."""

    min_hits: int = _key(2, "consecutive matches before a track is confirmed and gets an ID", lo=1, hi=1000)
    min_seconds_tentative: float = _key(0.1, "and a new track is confirmed no sooner than this", lo=0)
    confirm_first_frame: bool = _key(True, "tracks born on the first frame are confirmed at once")
    max_seconds_lost: float = _key(10.0, "a lost track is kept this long for re-identification", lo=0)
    max_seconds_lost_motion: float = _key(2.0, "without a bank, a lost track is kept this long", lo=0)
    max_seconds_lost_unbanked: float = _key(
        1.0, "with appearance in the video, a lost track whose bank is still empty is kept this long", lo=0
    )
    still_quantile: float = _key(
        0.01,
        "reporting: a box jitters less than this quantile of the other tracks' jitter: it is still (0 = off)",
        lo=0,
        hi=0.5,
    )
    still_seconds: float = _key(
        1.0, "reporting: a track still in most observations over about this long is a fixed object, not reported", lo=0
    )
    still_min_samples: int = _key(
        20, "reporting: jitters of other tracks measured before a track is judged still", lo=1
    )
    still_capacity: int = _key(1000, "reporting: tracked boxes' jitters kept (FIFO)", lo=1, hi=10000000)
    still_prior: bool = _key(
        True, "reporting: until then, a box is still below the jitter the Kalman measurement noise gives (quantile)"
    )
    still_teach_cut_boxes: bool = _key(
        True, "reporting: a box a border cuts teaches the jitter of the edges no border holds (it is still not judged)"
    )
    still_prior_unmoved: bool = _key(
        True,
        "reporting: a track first judged by that noise whose box has not moved since its birth (beyond that noise's "
        "quantile) starts its share from the jitters it taught, once all pass and that is unlikely for the others' "
        "jitters (1 / C(n + m, m) below still_quantile)",
    )
    still_camera_noise: bool = _key(
        True,
        "reporting: with an estimated camera motion, a box has not moved when its net displacement is within that "
        "bound and the estimate's noise since its birth (camera_ransac_px at full resolution per frame, a random "
        "walk)",
    )


@dataclass(frozen=True)
class GalleryConfig(_Section):
    """The persistent identity gallery (`--gallery FILE`): expired tracks' identities, searched by newcomers."""

    prototypes: int = _key(4, "K_g: prototype embeddings kept per identity, picked from its bank", lo=1, hi=1024)
    prototype_method: str = _key(
        "farthest_point", "how prototypes are picked: farthest_point | kmeans", choices=("farthest_point", "kmeans")
    )
    min_similarity: float = _key(
        0.8, "minimum cosine similarity to revive a gallery identity (stricter than stage 4)", lo=-1, hi=1
    )
    margin: float = _key(0.1, "the best identity must beat the runner-up by this similarity, else a new ID", lo=0, hi=2)
    search_seconds: float = _key(2.0, "a new track is searched again each time its bank grows, for this long", lo=0)
    min_embeddings: int = _key(3, "a track enters the gallery only with at least this many bank entries", lo=1)
    live_seconds: float = _key(
        2.0, "streams sharing a gallery: a live track's looks are offered to the others again at most this often", lo=0
    )
    ivf_min_identities: int = _key(4000, "from this many identities on, search an IVF index instead of exact", lo=1)
    ivf_nprobe: int = _key(64, "IVF: inverted lists visited per query (recall vs speed)", lo=1, hi=65536)
    save_every_seconds: float = _key(60.0, "the track command also saves the gallery this often (wall time)", lo=0)
    max_days_unseen: float = _key(30.0, "retention: forget identities unseen for this many days", lo=0)
    max_identities: int = _key(100000, "retention: at most this many identities, least recently seen go first", lo=1)


@dataclass(frozen=True)
class BatchConfig(_Section):
    """`track batch`: many videos as parallel tasks (tracker.batch)."""

    max_retries: int = _key(3, "times a video whose worker died is run again from its first frame", lo=0, hi=100)
    progress_seconds: float = _key(0.5, "how often a running video reports its frame count", lo=0.01, hi=60)


@dataclass(frozen=True)
class TrackerConfig(_Section):
    """The whole tracker."""

    device: str = _key("auto", "auto (CUDA when present) | cpu | cuda | cuda:N")
    frame_rate: float = _key(30.0, "frames per second when the source does not say", lo=0.001, hi=MAX_FRAME_RATE)
    min_frame_rate: float = _key(
        1.0, "a source declaring fewer frames/s than this is not believed", lo=0.001, hi=MAX_FRAME_RATE
    )
    max_frame_rate: float = _key(
        240.0, "a source declaring more frames/s than this is not believed", lo=0.001, hi=MAX_FRAME_RATE
    )
    core_threads: int = _key(
        1,
        "torch and numpy BLAS CPU threads for the tracker's own small ops, restored after each frame; 0 = unchanged",
        lo=0,
        hi=1024,
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

    def replace(self, overrides: list[str] | dict[str, Any]) -> TrackerConfig:
        """A copy with `section.key=value` overrides applied and validated."""
        data = config_to_dict(self)
        _apply_overrides(data, overrides)
        return parse_config(data)


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp))


def _expected(tp: Any) -> str:
    """What a value of the annotation `tp` is written as, for errors."""
    if typing.get_origin(tp) is tuple:
        return "a list written as in YAML, e.g. [0, 2]"
    return {bool: "true or false", int: "an integer", float: "a number", str: "a string"}.get(tp, _type_name(tp))


def _item_name(key: str, index: tuple[int, ...]) -> str:
    """`key` with the list positions `index` as written in errors: `classes.compatible_groups[1][1]`."""
    return key + "".join(f"[{i}]" for i in index)


def _coerce(value: Any, tp: Any, key: str, index: tuple[int, ...] = ()) -> Any:
    """Check `value` against the annotation `tp` (no silent conversions but int -> float). A lone item stands for
    a list of one (`detector.classes: 0`), but not inside a list of lists: `compatible_groups: [2, 5, 7]` is one
    group written without its brackets, not three groups of one. `index`: the positions of `value` in `key`'s
    list (and its nested lists), () for the key's own value; errors carry both (`ConfigError.key`, `.index`)."""
    nested = bool(index)  # `value` is an item of a list
    name = _item_name(key, index)

    def error(message: str) -> ConfigError:
        return ConfigError(f"{name}: {message}", key=key, index=index)

    if value is None:  # `--set key=` or `key:` with nothing after it: "expected a string, got None" puzzled
        raise error(f"no value given (empty, or null); expected {_expected(tp)}")
    if isinstance(value, dict) and value and not nested:  # `--set association.high_score.x=1`: "got {'x': 1}"
        inner = f"{name}.{next(iter(value))}"
        raise error(f"a key, not a section, so {inner} names nothing; expected {_expected(tp)}")
    origin = typing.get_origin(tp)
    if origin is tuple:
        (item_tp, _ellipsis) = typing.get_args(tp)
        if isinstance(value, str) and item_tp is not str:  # `--set detector.classes=0,2`: YAML reads one string
            raise error(f"expected a list written as in YAML, e.g. [0, 2], got the text {value!r}")
        if isinstance(value, (int, str)) and not isinstance(value, bool) and not nested:
            value = [value]
        if not isinstance(value, (list, tuple)):
            inner = " (a list of lists is written with both brackets, e.g. [[2, 5, 7], [1, 3]])" if nested else ""
            raise error(f"expected a list of {_type_name(item_tp)}, got {value!r}{inner}")
        return tuple(_coerce(v, item_tp, key, (*index, i)) for i, v in enumerate(value))
    if origin in (typing.Union, types.UnionType):
        raise error("union types are not supported in configs")
    if tp is bool:
        if not isinstance(value, bool):
            raise error(f"expected true or false, got {value!r}")
        return value
    if tp is int:  # (numbers.Integral: numpy's integers too, as Python ints; never a bool)
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise error(f"expected an integer, got {value!r}")
        return int(value)
    if tp is float:
        if isinstance(value, str) and _EXPONENT_NUMBER.fullmatch(value.strip()):  # YAML 1.1 wants 1.0e+9
            value = float(value)
        if isinstance(value, bool) or not isinstance(value, numbers.Real):  # (numpy's floats too)
            raise error(f"expected a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise error(f"expected a string, got {value!r}")
        if not value.strip():  # `detector.model: ''` reached ultralytics as '.': "if  is one, the copy is damaged"
            raise error("no value given (an empty string); expected a non-empty string")
        return value
    raise error(f"unsupported type {tp!r}")


def _coerce_choice(value: Any, tp: Any, key: str, choices: tuple[Any, ...] | None) -> Any:
    """`_coerce`, and for a key with choices an error that lists them: YAML reads an unquoted off / no as false and
    null as None, which "expected a string, got False" left the user to decode."""
    try:
        return _coerce(value, tp, key)
    except ConfigError:
        if choices is None:
            raise
        if value is None:
            allowed = ", ".join(map(str, choices))
            raise ConfigError(f"{key}: no value given (empty, or null); expected one of {allowed}", key=key) from None
        yaml_hint = ""
        if isinstance(value, bool):
            yaml_hint = " (YAML reads off, no, yes and on without quotes as true / false)"
        allowed = ", ".join(map(str, choices))
        raise ConfigError(f"{key}: {value!r} is not one of {allowed}{yaml_hint}", key=key) from None


def _check_range(value: Any, meta: typing.Mapping[str, Any], key: str, index: tuple[int, ...] = ()) -> None:
    """`value` within the key's choices and [lo, hi]; a list's range applies to each item (class ids >= 0).
    `index`: the positions of `value` in `key`'s list, as in `_coerce`."""
    if isinstance(value, tuple):
        for i, item in enumerate(value):
            _check_range(item, meta, key, (*index, i))
        return
    name = _item_name(key, index)
    lo, hi, choices = meta.get("lo"), meta.get("hi"), meta.get("choices")
    if choices is not None and value not in choices:
        raise ConfigError(f"{name}: {value!r} is not one of {', '.join(map(str, choices))}", key=key, index=index)
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return
    if not math.isfinite(value):
        raise ConfigError(f"{name}: {value!r} is not a finite number", key=key, index=index)
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        lo_s = "-inf" if lo is None else f"{lo:g}"
        hi_s = "inf" if hi is None else f"{hi:g}"
        raise ConfigError(f"{name}: {value!r} is out of range [{lo_s}, {hi_s}]", key=key, index=index)


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


def _unknown_key(key: str, known: list[str], prefix: str) -> ConfigError:
    close = difflib.get_close_matches(key, known, n=1)
    hint = f"; did you mean '{prefix}{close[0]}'?" if close else f"; known keys: {', '.join(known)}"
    return ConfigError(f"unknown config key '{prefix}{key}'{hint}", key=f"{prefix}{key}")


def _build(cls: type, data: Any, prefix: str) -> Any:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        section = prefix.rstrip(".") or None  # (None: the whole config, no key)
        raise ConfigError(f"{section or 'config'}: expected a mapping, got {data!r}", key=section)
    hints = typing.get_type_hints(cls)
    known = [f.name for f in fields(cls)]
    for key in data:
        if key not in known:
            raise _unknown_key(str(key), known, prefix)
    kwargs = {}
    for f in fields(cls):
        if f.name not in data:
            continue
        tp = _section_class(f) or hints[f.name]
        full = prefix + f.name
        if is_dataclass(tp):
            kwargs[f.name] = _build(tp, data[f.name], full + ".")
        else:
            value = _coerce_choice(data[f.name], tp, full, f.metadata.get("choices"))
            _check_range(value, f.metadata, full)
            kwargs[f.name] = value
    cfg = cls(**kwargs)
    _check_relations(cfg, prefix)
    return cfg


def _check_relations(cfg: Any, prefix: str) -> None:
    """Constraints between keys of one section."""
    if isinstance(cfg, TrackerConfig) and cfg.min_frame_rate > cfg.max_frame_rate:
        low, high = cfg.min_frame_rate, cfg.max_frame_rate
        raise ConfigError(f"min_frame_rate ({low}) must not exceed max_frame_rate ({high})", key="min_frame_rate")
    if isinstance(cfg, ClassConfig):
        listed = [c for group in cfg.compatible_groups for c in group]
        twice = sorted({c for c in listed if listed.count(c) > 1})
        if twice:
            key = f"{prefix}compatible_groups"
            raise ConfigError(f"{key}: class {twice[0]} is in more than one group", key=key)
    if isinstance(cfg, LifecycleConfig) and cfg.still_min_samples > cfg.still_capacity:
        # the FIFO could never hold enough jitters: the rule would be off without a word
        raise ConfigError(
            f"{prefix}still_min_samples ({cfg.still_min_samples}) must not exceed {prefix}still_capacity "
            f"({cfg.still_capacity})",
            key=f"{prefix}still_min_samples",
        )
    if isinstance(cfg, MotionConfig) and cfg.width_process_factor == 0 and cfg.width_measurement_factor == 0:
        # the width's innovation variance would reach 0: a division by zero and NaN states
        raise ConfigError(
            f"{prefix}width_process_factor and {prefix}width_measurement_factor must not both be 0 (no width noise)",
            key=f"{prefix}width_process_factor",
        )
    if (
        isinstance(cfg, MotionConfig)
        and cfg.camera_compensation in ("auto", "sparse_flow", "orb")
        and cfg.camera_min_inliers > cfg.camera_max_features
    ):  # a fit could never have enough inliers: every estimate the identity, compensation off without a word
        raise ConfigError(
            f"{prefix}camera_min_inliers ({cfg.camera_min_inliers}) must not exceed {prefix}camera_max_features "
            f"({cfg.camera_max_features}) with {prefix}camera_compensation={cfg.camera_compensation}",
            key=f"{prefix}camera_min_inliers",
        )
    if isinstance(cfg, MotionConfig):
        for i, region in enumerate(cfg.camera_exclude):
            if len(region) != 4 or not (region[0] < region[2] and region[1] < region[3]):
                raise ConfigError(
                    f"{prefix}camera_exclude[{i}]: expected [x1, y1, x2, y2] fractions of the frame with x1 < x2 and "
                    f"y1 < y2, e.g. [0, 0.8, 1, 1] for the bottom fifth, got {list(region)}",
                    key=f"{prefix}camera_exclude",
                    index=(i,),
                )
        if _covers_frame(cfg.camera_exclude):  # every estimate would fail: compensation off but for a failure count
            raise ConfigError(
                f"{prefix}camera_exclude covers the whole frame: no part is left for the camera-motion estimate; "
                f"exclude only what stays still on the screen, or set {prefix}camera_compensation=none",
                key=f"{prefix}camera_exclude",
            )
    if isinstance(cfg, AppearanceConfig):  # the queues could never hold enough: calibration off without a word
        for key in ("calibration_min_samples", "calibration_per_frame"):
            if getattr(cfg, key) > cfg.calibration_capacity:
                raise ConfigError(
                    f"{prefix}{key} ({getattr(cfg, key)}) must not exceed {prefix}calibration_capacity "
                    f"({cfg.calibration_capacity})",
                    key=f"{prefix}{key}",
                )
    if isinstance(cfg, AssociationConfig) and cfg.low_score > cfg.high_score:
        raise ConfigError(
            f"{prefix}low_score ({cfg.low_score}) must not exceed {prefix}high_score ({cfg.high_score})",
            key=f"{prefix}low_score",
        )


def parse_config(data: dict[str, Any] | None) -> TrackerConfig:
    """Validate a nested mapping (as read from YAML) into a `TrackerConfig`."""
    return _build(TrackerConfig, data, "")


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
    _check_sections(cfg, "")
    return parse_config(config_to_dict(cfg))


def _section_class(f: Any) -> type | None:
    """The config dataclass of section field `f` (its default factory, bound where the class was defined), or None
    for a key. Not the annotation: `typing.get_type_hints` resolves it by module name, so with a second copy of this
    package loaded in one process (tools/bench_against.py) one copy built and checked the other's sections."""
    factory = f.default_factory
    return factory if isinstance(factory, type) and is_dataclass(factory) else None


def _check_sections(cfg: Any, prefix: str) -> None:
    """Each section of `cfg` (a config dataclass) is an instance of its dataclass (`_section_class`), recursively."""
    for f in fields(cfg):
        tp = _section_class(f)
        if tp is None:
            continue
        value = getattr(cfg, f.name)
        if not isinstance(value, tp):
            shown = repr(value) if len(repr(value)) <= _SHOWN_CHARS else type(value).__name__
            raise ConfigError(
                f"{prefix}{f.name}: expected {tp.__name__} (dataclasses.replace(cfg.{prefix}{f.name}, key=value) or"
                f" load_config(overrides=...)), got {shown}",
                key=f"{prefix}{f.name}",
            )
        _check_sections(value, f"{prefix}{f.name}.")


def _parse_value(text: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def _apply_overrides(data: dict[str, Any], overrides: list[str] | dict[str, Any] | None) -> None:
    if not overrides:
        return
    if not isinstance(overrides, dict | list | tuple):  # a lone "a.b=1" would be read one character at a time
        raise ConfigError(
            f"overrides must be a list of 'section.key=value' strings or a dict, got {type(overrides).__name__} "
            f"{overrides!r}" + (f" (write [{overrides!r}])" if isinstance(overrides, str) else ""),
            key=None,
        )
    items = overrides.items() if isinstance(overrides, dict) else [split_override(o) for o in overrides]
    for dotted, value in items:
        node = data
        parts = dotted.split(".")
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"{dotted}: '{part}' is {child!r}, not a section", key=dotted)
            node = child
        node[parts[-1]] = value


def split_override(text: str) -> tuple[str, Any]:
    """A `section.key=value` override as (dotted key, value read as YAML), or ConfigError for another form."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"override {text!r} is not of the form section.key=value", key=None)
    return key.strip(), _parse_value(value.strip())


class _UniqueKeyLoader(yaml.SafeLoader):
    """`yaml.SafeLoader` refusing a key given twice in one mapping (PyYAML keeps the last one without a word, so a
    second `association:` section would silently drop every key of the first)."""


def _construct_unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    seen: set[Any] = set()
    for key_node, _value in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if isinstance(key, typing.Hashable) and key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"{key!r} is given twice in one mapping (the first would be ignored)", key_node.start_mark
            )
        if isinstance(key, typing.Hashable):
            seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping)


def load_config(path: str | Path | None = None, overrides: list[str] | dict[str, Any] | None = None) -> TrackerConfig:
    """Load a YAML config (None: the defaults) and apply `section.key=value` overrides.

    Raises:
        ConfigError: unknown key, wrong type, out-of-range value, a key given twice, or unreadable/invalid YAML;
            a fault of the file's own keys starts with the file's path (`cfg.yaml: unknown config key ...`).
    """
    data: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")  # YAML's own encoding, whatever the locale's is
        except OSError as exc:
            raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}", key=None) from None
        except UnicodeDecodeError as exc:
            message = f"config file {path} is not UTF-8 text (byte {exc.start}): not a YAML file?"
            raise ConfigError(message, key=None) from None
        try:
            loaded = yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader: builds no objects
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" (line {mark.line + 1})" if mark is not None else ""
            raise ConfigError(f"invalid YAML in {path}{where}: {getattr(exc, 'problem', exc)}", key=None) from None
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(f"{path}: the top level must be a mapping of sections", key=None)
        data = loaded or {}
    file_error = _file_error(data) if path is not None else None
    written = copy.deepcopy(data) if file_error is not None else {}  # (the overrides change `data`)
    try:
        _apply_overrides(data, overrides)
    except ConfigError as exc:
        if file_error is None or not _below_a_value(written, exc.key):
            raise  # the override's own fault (malformed, or below a value an override gave): the key typed
        raise _in_file(exc, path, text) from None  # below a value the faulty file wrote: its line
    try:
        return parse_config(data)
    except ConfigError as exc:
        if file_error is None or str(exc) != str(file_error):
            raise  # the overrides' own fault, named by the key typed
        raise _in_file(exc, path, text) from None


def _below_a_value(data: dict[str, Any], key: str | None) -> bool:
    """Whether the config `data` holds a value, not a section, on the way to the dotted `key` (`detector.model`
    with `detector: 5`); False for no key (a malformed override) or a path `data` does not write."""
    if key is None:
        return False
    node: Any = data
    for part in key.split(".")[:-1]:
        if not isinstance(node, dict) or part not in node:
            break
        node = node[part]
    return not isinstance(node, dict)


def _in_file(exc: ConfigError, path: Path, text: str) -> ConfigError:
    """`exc`, a fault of the config file at `path` (whose text is `text`), said with the file and the key's line."""
    line = _key_line(text, exc.key, exc.index)
    where = "" if line is None else f"line {line}: "
    return ConfigError(f"{path}: {where}{exc}", key=exc.key, index=exc.index)


def _key_line(text: str, key: str | None, index: tuple[int, ...] = ()) -> int | None:
    """The line (from 1) of the YAML `text` where `key` (dotted; its list item `index`, outermost first) is written,
    or of the deepest section of it that is (a key the file does not set); None when the file does not write its
    section (the key came from an override) or there is no key (`ConfigError.key` None)."""
    if key is None:
        return None
    node: Any = yaml.compose(text, Loader=_UniqueKeyLoader)  # (the text loaded: no YAMLError here)
    line = None
    for part in key.split("."):
        found = isinstance(node, yaml.MappingNode) and next(
            ((k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == part), None
        )
        if not found:
            return line
        line, node = found[0].start_mark.line + 1, found[1]
    for position in index:
        if not isinstance(node, yaml.SequenceNode) or position >= len(node.value):
            break
        node = node.value[position]
        line = node.start_mark.line + 1
    return line


def _file_error(data: dict[str, Any]) -> ConfigError | None:
    """What is wrong with a config file's keys on their own (None: nothing); an override may still mend it."""
    try:
        parse_config(data)
    except ConfigError as exc:
        return exc
    return None


def config_to_dict(cfg: Any) -> dict[str, Any]:
    """A plain nested dict (tuples as lists) suitable for YAML/JSON."""

    def plain(v: Any) -> Any:
        if isinstance(v, tuple):
            return [plain(x) for x in v]
        return v

    return {
        f.name: config_to_dict(value) if is_dataclass(value) else plain(value)
        for f in fields(cfg)
        for value in [getattr(cfg, f.name)]
    }
