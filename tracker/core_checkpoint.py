"""A `TrackerCore` unpickled from a `track --resume` checkpoint made by an earlier version of the core: the parts
added since then are made as a new video's (they learn from the frames after the resume), the parts moved out of
the core since then are rebuilt from its old attributes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tracker.gallery_link import GalleryLink
from tracker.ground_line import GroundLine
from tracker.measurement_noise import MeasurementNoise
from tracker.report_weight import ReportWeight
from tracker.stage1 import Stage1Cost
from tracker.types import EmbeddingFaults, InvalidDetections, OutsideDetections

if TYPE_CHECKING:
    from tracker.core import TrackerCore

__all__ = ["restore_state"]

# The gallery tier's state in a checkpoint pickled before it moved into `GalleryLink` (split38).
_GALLERY_TIER_STATE = ("gallery", "source_name", "_newborn", "_searching", "_published")
# The last frame's values a core kept as its attributes until main c25f989 (its part boxes, whether any, its
# camera-motion error): each frame makes its own now (`FrameView.part_boxes`, `step`), so a checkpoint's are dropped.
_LAST_FRAME_STATE = ("_part_boxes", "_any_part_box", "_camera_noise_px")


def restore_state(core: TrackerCore, state: dict[str, Any]) -> None:
    """Put the pickled `state` into `core` (as `__setstate__`), with the parts a checkpoint of an earlier version
    lacks made anew. One pickled before the ground line and the measured measurement noise existed (a checkpoint of
    main a9675c0) gets both empty: they learn from the frames after the resume, as from a video's first frames.
    One pickled by main c25f989 or earlier holds its last frame's part boxes and camera-motion error: they are
    dropped (no frame's value outlives its frame). Its stateless `frame_report` is the core's to make."""
    core.__dict__.update(state)
    for name in _LAST_FRAME_STATE:
        core.__dict__.pop(name, None)
    if "ground" not in state:
        core.ground = GroundLine(core.config)
    if "measurement_noise" not in state:
        core.measurement_noise = MeasurementNoise(core.config.motion)
    if "report_weight" not in state:  # (main bad25d6): the weight is measured from the frames after the resume
        core.report_weight = ReportWeight(core.config.motion.noise_min_updates)
    if "stage1" not in state:  # (main 0a61e9f): the stage 1 rules were the core's methods; they keep no state
        core.stage1 = Stage1Cost(core.config, core.frame_rate, core.table, core.bank, core.calibration)
    if "embedding_faults" not in state:  # (before fix40): the faulty embeddings after the resume are counted
        core.embedding_faults = EmbeddingFaults()
    if "invalid_detections" not in state:  # (before stop 36): the dropped detections after the resume are counted
        core.invalid_detections, core.outside_detections = InvalidDetections(), OutsideDetections()
    if "gallery_link" not in state:  # (before split38): the gallery tier's state was the core's own
        old = {key: core.__dict__.pop(key, None) for key in _GALLERY_TIER_STATE}
        core.gallery_link = GalleryLink(
            core.config,
            core.frame_rate,
            core.table,
            core.bank,
            core.calibration,
            core.still,
            old["gallery"],
            old["source_name"] or "",
            newborn=old["_newborn"] or (),
            searching=old["_searching"],
        )
    # a copy's gallery holds no live tracks (`Gallery.__getstate__`): this stream attaches and offers them again
    core.gallery_link.attach(core)
