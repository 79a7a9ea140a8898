"""BoxMOT's trackers (the optional `[peers]` extra) fed the same detections and OSNet embeddings as ours.

Each runs with its BoxMOT package defaults. Peers with appearance get our embeddings (the same OSNet weights
from ../shared, computed once in the evaluation cache) through the `embeddings` of BoxMOT's `Detections`, so
BoxMOT never builds a ReID model of its own and never downloads anything: a peer that would need one (no
embeddings for the sequence) is skipped instead, as are peers that need the image where the sequence lacks it.
Deep OC-SORT's default camera-motion compensation is reported as it comes, with a row with it off beside it;
OccluBoost also runs with its graveyard recovery (`gta_enabled`), which is off by default. ByteTrack also runs
as a user would tune it for the sequence (`-fps-t0.5`): given the sequence's frame rate through its
`frame_rate` option (its track buffer is 30 frames at 30 fps, scaled to the rate given; BoxMOT's own runs leave
it at 30) and with its first-stage and birth threshold `track_thresh` at 0.5 instead of 0.6, which suits
scores such as the public ACF boxes' once mapped into [0, 1] (44% of PETS09-S3-MF1's and 21% of TUD-Campus's
are below 0.6).
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tracker.extras import install_command

__all__ = ["BOXMOT_PEERS", "BoxmotPeer", "BoxmotSpec", "boxmot_available", "boxmot_unusable", "boxmot_version"]

_ROW_COLUMNS = 6  # track_id, x1, y1, x2, y2, score
_PACKAGE = "boxmot"
_FACTORY = "boxmot.trackers.factory"  # where BoxMOT 25 builds its trackers (`BoxmotPeer`)
_PINNED = f"boxmot==25.0.0 ({install_command('peers')})"  # the version the [peers] extra installs
_TUNED_TRACK_THRESH = 0.5  # ByteTrack's track_thresh in its tuned row (BoxMOT default 0.6)
_OSNET_DIM = 512  # embedding size of OSNet, for frames without detections before any embedding was seen
_FIRST_ID = 1  # added to BoxMOT's track IDs (from 0): a MOTChallenge file's IDs start at 1


@dataclass(frozen=True)
class BoxmotSpec:
    """One BoxMOT tracker and the options we change (none but where the name says).

    Attributes:
        name: BoxMOT's tracker identifier.
        options: BoxMOT tracker options overriding its package defaults.
        requires_embeddings: runs only with our embeddings (it would otherwise build its own ReID model).
        uses_images: needs each frame's image (camera-motion compensation, crops or frame size).
        uses_frame_rate: given the sequence's frame rate as its `frame_rate` option (frames/s, rounded to a
            whole number as BoxMOT's option takes it); else BoxMOT's default, 30.
    """

    name: str
    options: dict[str, Any] = field(default_factory=dict)
    requires_embeddings: bool = False
    uses_images: bool = True
    uses_frame_rate: bool = False


BOXMOT_PEERS: dict[str, BoxmotSpec] = {
    "BoxMOT-StrongSORT": BoxmotSpec("strongsort", requires_embeddings=True),
    "BoxMOT-BoT-SORT": BoxmotSpec("botsort", requires_embeddings=True),
    "BoxMOT-DeepOC-SORT": BoxmotSpec("deepocsort", requires_embeddings=True),
    "BoxMOT-DeepOC-SORT-noCMC": BoxmotSpec("deepocsort", {"cmc_off": True}, requires_embeddings=True),
    "BoxMOT-BoostTrack": BoxmotSpec("boosttrack", requires_embeddings=True),
    "BoxMOT-HybridSORT": BoxmotSpec("hybridsort", requires_embeddings=True),
    "BoxMOT-OccluBoost": BoxmotSpec("occluboost", requires_embeddings=True),
    "BoxMOT-OccluBoost+GTA": BoxmotSpec("occluboost", {"gta_enabled": True}, requires_embeddings=True),
    "BoxMOT-ByteTrack": BoxmotSpec("bytetrack", uses_images=False),
    "BoxMOT-ByteTrack-fps-t0.5": BoxmotSpec(
        "bytetrack", {"track_thresh": _TUNED_TRACK_THRESH}, uses_images=False, uses_frame_rate=True
    ),
    "BoxMOT-OC-SORT": BoxmotSpec("ocsort", uses_images=False),
    "BoxMOT-SFSORT": BoxmotSpec("sfsort"),
}
"""Display name -> spec, in table order. (BoxMOT 25's SAM2MOT needs segmentation masks: not a box peer.)"""


def boxmot_available() -> bool:
    """True when the `boxmot` package is installed (`pip install -e '.[peers]'`)."""
    return importlib.util.find_spec(_PACKAGE) is not None


def boxmot_unusable() -> str | None:
    """Why the BoxMOT peers cannot run here, or None when they can: BoxMOT not installed, or installed but its
    tracker factory (`boxmot.trackers.factory`, BoxMOT 25's) does not import (another BoxMOT version, or a broken
    install). Imports that factory (a second or two: torch) so that `track compare` finds out before tracking."""
    if not boxmot_available():
        return f"BoxMOT not installed ({install_command('peers')})"
    try:
        importlib.import_module(_FACTORY)
    except Exception as exc:  # ImportError, or whatever a broken install raises while importing
        try:
            version = f" {boxmot_version()}"
        except Exception:  # the package itself does not import
            version = ""
        return f"BoxMOT{version} cannot be used ({type(exc).__name__}: {exc}; the peers need {_PINNED})"
    return None


def boxmot_version() -> str:
    """The installed `boxmot` package's version (recorded with the peers' results); ImportError without it."""
    import boxmot

    return str(boxmot.__version__)


@contextmanager
def _quiet_boxmot() -> Iterator[None]:
    """BoxMOT's logger (`_PACKAGE`) drops records below WARNING while the block runs: its warnings and errors still
    show. A filter, not a level: BoxMOT resets its logger's level and handlers when it first imports a tracker."""
    boxmot_log = logging.getLogger(_PACKAGE)
    warnings_only = _AtLeast(logging.WARNING)
    boxmot_log.addFilter(warnings_only)
    try:
        yield
    finally:
        boxmot_log.removeFilter(warnings_only)


class _AtLeast(logging.Filter):
    """Passes log records of `level` and above."""

    def __init__(self, level: int) -> None:
        super().__init__()
        self.level = level

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= self.level


class BoxmotPeer:
    """A BoxMOT tracker behind the interface of `tracker.eval.peers.PeerTracker`."""

    def __init__(self, spec: BoxmotSpec, frame_rate: float | None = None) -> None:
        """`frame_rate` (frames/s) is passed as BoxMOT's `frame_rate` option where `spec.uses_frame_rate`."""
        from boxmot.trackers.factory import create_tracker
        from boxmot.trackers.specs import TrackerSpec

        self.spec = spec
        options = dict(spec.options)
        if spec.uses_frame_rate and frame_rate is not None and frame_rate > 0:
            options["frame_rate"] = max(1, round(frame_rate))
        with _quiet_boxmot():  # BoxMOT logs every tracker's settings at INFO, through the table `compare` prints
            self._tracker = create_tracker(TrackerSpec(spec.name, options=tuple(sorted(options.items()))))
        self._frame = 0
        self._dim = _OSNET_DIM  # embedding size, learnt from the first frame that has embeddings

    @classmethod
    def create(cls, name: str, frame_rate: float) -> BoxmotPeer:
        """The peer `name` of BOXMOT_PEERS. BoxMOT's trackers count frames; at package defaults (like the
        issue's reference run) `frame_rate` is not used, and it is given only to specs with `uses_frame_rate`."""
        return cls(BOXMOT_PEERS[name], frame_rate)

    def update(
        self,
        boxes_xyxy: np.ndarray,
        scores: np.ndarray,
        class_ids: np.ndarray,
        embeddings: np.ndarray | None,
        image: np.ndarray | None,
    ) -> np.ndarray:
        """One frame: (N, 4) boxes, (N,) scores and classes, (N, D) embeddings or None, BGR image or None.

        Returns:
            (M, 6) rows of track_id, x1, y1, x2, y2, score; track IDs from 1 (BoxMOT's own, which start at 0, + 1).
        Raises:
            ValueError: embeddings or the image are missing where this peer needs them (it would otherwise
                build and download a ReID model of its own).
        """
        import torch
        from boxmot.structures.detections import Detections
        from boxmot.structures.geometry import Boxes

        if self.spec.requires_embeddings and embeddings is None and len(boxes_xyxy):
            raise ValueError(f"BoxMOT {self.spec.name} needs embeddings; none were given")
        if self.spec.uses_images and image is None:
            raise ValueError(f"BoxMOT {self.spec.name} needs the frame's image; none was given")
        self._frame += 1
        emb = None
        if self.spec.requires_embeddings:
            if embeddings is not None and np.ndim(embeddings) == 2 and np.shape(embeddings)[1]:
                self._dim = int(np.shape(embeddings)[1])
            values = np.zeros((0, self._dim)) if embeddings is None else embeddings
            emb = torch.as_tensor(np.asarray(values, dtype=np.float32).reshape(len(boxes_xyxy), self._dim))
        dets = Detections(
            Boxes(torch.as_tensor(np.asarray(boxes_xyxy, dtype=np.float32).reshape(-1, 4))),
            torch.as_tensor(np.asarray(scores, dtype=np.float32).reshape(-1)),
            torch.as_tensor(np.asarray(class_ids, dtype=np.int64).reshape(-1)),
            str(self._frame),
            embeddings=emb,
        )
        tracks = self._tracker.update(dets, image)
        if len(tracks) == 0:
            return np.zeros((0, _ROW_COLUMNS))
        boxes = tracks.geometry.values.detach().numpy().astype(np.float64)
        # BoxMOT numbers tracks from 0; MOTChallenge files number them from 1 (its devkit and viewers take 0 as none)
        ids = tracks.track_ids.detach().numpy().astype(np.float64) + _FIRST_ID
        track_scores = tracks.scores.detach().numpy().astype(np.float64)
        return np.concatenate([ids[:, None], boxes[:, :4], track_scores[:, None]], axis=1)
