"""Ultralytics' trackers fed the same detections (and embeddings) as ours, for side-by-side tables.

Each peer runs with its default ultralytics yaml and with every detection given to it: the peers apply their
own score thresholds. Peers with global motion compensation (GMC) run it off (rows without "+GMC": the
comparison on detections alone needs no images), and, in the "+GMC" rows, on with their own default method
(BoT-SORT's sparse optical flow) on the images, where every image of the sequence exists (they are
skipped elsewhere). Ultralytics' trackers take no frame rate (`track_buffer` is 30 frames at any fps), so
`frame_rate` is accepted for symmetry and not used. Peers with ReID get our embeddings through the `feats`
argument of `update` with `model: auto` (the "pre-extracted features" path): BoT-SORT and TrackTrack (whose
yamls turn ReID off: their "+ReID" rows turn it on, as their docs offer) and Deep OC-SORT.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["PEERS", "REID_PEERS", "PeerSpec", "PeerTracker"]

_ROW_COLUMNS = 6  # track_id, x1, y1, x2, y2, score


@dataclass(frozen=True)
class PeerSpec:
    """An ultralytics tracker yaml and the keys we change in it.

    Attributes:
        uses_embeddings: given our embeddings (via `feats`) where they exist.
        requires_embeddings: identical to another peer without them (skipped on motion-only data).
        uses_images: given each frame's image (for its GMC) where all images exist.
    """

    yaml: str
    overrides: dict[str, Any] = field(default_factory=dict)
    uses_embeddings: bool = False
    requires_embeddings: bool = False
    uses_images: bool = False


_NO_GMC = {"gmc_method": "none"}
_GMC = {"gmc_method": "sparseOptFlow"}  # BoT-SORT's default GMC, for peers whose yaml turns it off
_FEATS = {"with_reid": True, "model": "auto"}

PEERS: dict[str, PeerSpec] = {
    "ByteTrack": PeerSpec("bytetrack.yaml"),
    "BoT-SORT": PeerSpec("botsort.yaml", _NO_GMC | {"with_reid": False}),
    "BoT-SORT+GMC": PeerSpec("botsort.yaml", {"with_reid": False}, uses_images=True),
    "BoT-SORT+ReID": PeerSpec("botsort.yaml", _NO_GMC | _FEATS, uses_embeddings=True, requires_embeddings=True),
    "BoT-SORT+ReID+GMC": PeerSpec(
        "botsort.yaml", _FEATS, uses_embeddings=True, requires_embeddings=True, uses_images=True
    ),
    "OC-SORT": PeerSpec("ocsort.yaml"),
    "DeepOC-SORT": PeerSpec("deepocsort.yaml", _NO_GMC | _FEATS, uses_embeddings=True),
    "DeepOC-SORT+GMC": PeerSpec("deepocsort.yaml", _GMC | _FEATS, uses_embeddings=True, uses_images=True),
    "TrackTrack": PeerSpec("tracktrack.yaml", _NO_GMC),
    "TrackTrack+GMC": PeerSpec("tracktrack.yaml", {}, uses_images=True),
    "TrackTrack+ReID": PeerSpec("tracktrack.yaml", _NO_GMC | _FEATS, uses_embeddings=True, requires_embeddings=True),
    "TrackTrack+ReID+GMC": PeerSpec(
        "tracktrack.yaml", _FEATS, uses_embeddings=True, requires_embeddings=True, uses_images=True
    ),
    "FastTracker": PeerSpec("fasttrack.yaml"),
}
"""Display name -> spec, in table order."""
REID_PEERS = frozenset(name for name, spec in PEERS.items() if spec.uses_embeddings)


class _Boxes:
    """The numpy `Boxes`-like view ultralytics trackers read: conf, cls, xywh, xyxy, boolean indexing."""

    def __init__(self, xyxy: np.ndarray, conf: np.ndarray, cls: np.ndarray) -> None:
        self.xyxy = np.asarray(xyxy, dtype=np.float32).reshape(-1, 4)
        self.conf = np.asarray(conf, dtype=np.float32).reshape(-1)
        self.cls = np.asarray(cls, dtype=np.float32).reshape(-1)
        wh = self.xyxy[:, 2:] - self.xyxy[:, :2]
        self.xywh = np.concatenate([self.xyxy[:, :2] + wh / 2, wh], axis=1)

    def __len__(self) -> int:
        return len(self.conf)

    def __getitem__(self, idx: Any) -> _Boxes:
        return _Boxes(self.xyxy[idx], self.conf[idx], self.cls[idx])


@dataclass
class PeerTracker:
    """One ultralytics tracker behind an `update(boxes_xyxy, scores, class_ids, embeddings)` like ours."""

    name: str
    tracker: Any
    uses_embeddings: bool

    @classmethod
    def create(cls, name: str, frame_rate: float | None = None) -> PeerTracker:
        """Build peer `name` (a key of PEERS). `frame_rate` is unused: ultralytics' trackers count frames."""
        from ultralytics.trackers.track import TRACKER_MAP
        from ultralytics.utils import YAML, IterableSimpleNamespace
        from ultralytics.utils.checks import check_yaml

        spec = PEERS[name]
        args = IterableSimpleNamespace(**(YAML.load(check_yaml(spec.yaml)) | spec.overrides))
        return cls(name, TRACKER_MAP[args.tracker_type](args=args), spec.uses_embeddings)

    def update(
        self,
        boxes_xyxy: np.ndarray,
        scores: np.ndarray,
        class_ids: np.ndarray,
        embeddings: np.ndarray | None = None,
        image: np.ndarray | None = None,
    ) -> np.ndarray:
        """(M, 6) rows `track_id, x1, y1, x2, y2, score` of the tracks it reports this frame; `image` (the BGR
        frame) feeds the peer's GMC."""
        feats = embeddings if self.uses_embeddings and embeddings is not None and len(embeddings) else None
        out = self.tracker.update(_Boxes(boxes_xyxy, scores, class_ids), image, feats=feats)
        if len(out) == 0:
            return np.zeros((0, _ROW_COLUMNS))
        # ultralytics rows: x1, y1, x2, y2, track_id, score, cls, detection index
        return np.column_stack([out[:, 4], out[:, :4], out[:, 5]])
