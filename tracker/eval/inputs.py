"""Per-sequence tracker inputs (boxes, scores, classes, embeddings), computed once and cached.

The cache key covers everything that changes the inputs (sequence, frame range, detection source, model
files by content hash, detector and ReID settings, the versions of OpenCV, torch, OpenVINO and ultralytics) and
nothing that does not (tracker settings), so a re-run with new tracker settings reads the inputs back in
milliseconds. A cache file holds every box's ReID embedding: it is written mode 0600, readable by its owner only.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import os
import re
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from tracker.config import ReIDConfig, TrackerConfig, config_to_dict, has_appearance
from tracker.eval.sequences import Sequence
from tracker.file_errors import naming
from tracker.io.atomic import TEMP_SUFFIX, atomic_write
from tracker.io.mot import make_output_folder
from tracker.io.names import bounded_name, fitting_stem, shown_name
from tracker.io.opencv_files import read_image
from tracker.private_file import PRIVATE_MODE, keep_private
from tracker.weights import content_digest, file_digest, resolve_weights

if TYPE_CHECKING:  # torch is imported where images are embedded: `track eval --help` and usage errors need none
    import torch

    from tracker.pipeline import Tracker
    from tracker.types import TrackedObject

__all__ = ["CACHE_ENV", "FrameInputs", "InputModels", "SequenceInputs", "default_cache_dir", "load_inputs"]

log = logging.getLogger(__name__)

CACHE_ENV = "TRACKER_CACHE"
"""Environment variable naming the cache folder (default ~/.cache/tracker/eval)."""
_CACHE_VERSION = 4  # bump when the cached arrays, the crops, the ReID forward or the public-score mapping change
# 4: the OpenVINO ReID's uint8 OpenCV crops and exact-count batches (286ba1a, 004a969) changed the embeddings in the
#    last bf16 digits (cosine 0.98-0.9999 to the old ones) without a bump: caches written before them were reused.
_KEY_CHARS = 20
# what reading a cache file that is damaged or cut short raises: numpy's EOFError for an empty file, zipfile's
# BadZipFile for one cut short (it ended every later run), ValueError / KeyError for arrays that do not fit
_UNREADABLE = (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile)
# reid keys that leave the embeddings as they are, not in the key: chunking (batch_size), the CPU threads computing
# them (threads; wide_from and wide_threads: with them in it, their defaults gave every cache made before them a new
# key), replaying the same kernels from a captured graph (cuda_graphs)
_SAME_EMBEDDINGS = ("batch_size", "threads", "wide_from", "wide_threads", "cuda_graphs")
# reid keys that leave the embeddings as they are, in the key at their default whatever their value: the OpenVINO
# requests a call is split over (requests: each part on a model compiled for its exact count, bit for bit the
# embeddings of one request, bf16 and fp32, 1-17 crops: tests/test_embedder.py). It was in the key before it was known
# to: left out, every cache made then (at its default) got a new key, and every input was computed again.
_SAME_EMBEDDINGS_AT_DEFAULT = ("requests",)
# what the error of a cache file that cannot be written says the user can do
_CACHE_CHOICE = f"--cache-dir or ${CACHE_ENV} chooses another folder, --no-cache writes none"
_REID_DEFAULTS = ReIDConfig()  # (frozen: `_SAME_EMBEDDINGS_AT_DEFAULT`'s values in every key)
_EMBEDDING_DTYPE = np.float16  # halves the cache; cosine similarities change by < 1e-3
# a cache file's temp files: `.<name>.<pid>.<random>.partial`, one per writer (two `track eval` / `track compare`
# computing the same entry at once each write and rename their own); never read as an entry (no `.npz` end)
_TEMP_RANDOM_CHARS = 8  # the random part of `tempfile.mkstemp`'s names
_TEMP_NAME = re.compile(rf"\..+\.(\d+)\.[a-z0-9_]{{{_TEMP_RANDOM_CHARS}}}{re.escape(TEMP_SUFFIX)}")  # pid: group 1


@dataclass(frozen=True)
class FrameInputs:
    """boxes_xyxy (N, 4) float64, scores (N,) float64 in [0, 1], class_ids (N,) int64, embeddings (N, D) or None."""

    boxes_xyxy: np.ndarray
    scores: np.ndarray
    class_ids: np.ndarray
    embeddings: np.ndarray | None

    def track(
        self,
        tracker: Tracker,
        camera_motion: np.ndarray | None = None,
        camera_motion_noise: float = 0.0,
        frame_size: tuple[int, int] | None = None,
    ) -> list[TrackedObject]:
        """`tracker.update_detections` of this frame as `track` runs it: the embeddings given on demand, for the
        detections whose appearance matters (`appearance.lazy_embedding`); the other arguments as there
        (`camera_motion` a (2, 3) affine or (3, 3) homography from the previous frame's pixels to this frame's,
        `camera_motion_noise` in pixels, `frame_size` (height, width) in pixels), and so are its errors."""
        return tracker.update_detections(
            self.boxes_xyxy,
            self.scores,
            self.class_ids,
            embed=None if self.embeddings is None else self.embeddings.__getitem__,
            camera_motion=camera_motion,
            frame_size=frame_size,
            camera_motion_noise=camera_motion_noise,
        )


@dataclass(frozen=True)
class SequenceInputs:
    """The inputs of every evaluated frame, in order, and how they were made.

    Attributes:
        appearance: embeddings were computed (all images exist and appearance is on).
        cache_hit: read back from the cache.
        seconds: time spent making or reading them.
    """

    frames: list[FrameInputs]
    appearance: bool
    cache_hit: bool
    seconds: float = 0.0


def default_cache_dir() -> Path:
    """$TRACKER_CACHE, `~` expanded (no shell expands it in a Dockerfile's ENV or a systemd unit), else (unset or
    empty: set blank, it put the cache in the folder the command ran in) ~/.cache/tracker/eval."""
    given = os.environ.get(CACHE_ENV)
    return Path(given).expanduser() if given else Path.home() / ".cache" / "tracker" / "eval"


def _weights_id(name: str) -> str:
    path = resolve_weights(name)
    return file_digest(path) if path is not None else name


def _cache_key(seq: Sequence, source: str, cfg: TrackerConfig, appearance: bool) -> str:
    parts: dict[str, object] = {
        "version": _CACHE_VERSION,
        "seq": str(seq.info.root.resolve()),
        "frames": [seq.first, seq.last],
        "source": source,
    }
    if source == "detector" or appearance:
        from tracker.device import resolve_device

        parts["device"] = resolve_device(cfg.device).type  # CPU and CUDA kernels differ in the last digits
        parts["images"] = seq.info.image_stats(seq.first, seq.last)
        parts["libraries"] = _library_versions()
    if source == "public":
        parts["det"] = content_digest(seq.det_bytes)  # (`file_digest` of the file, from the sequence's one read)
    else:
        parts["detector"] = _detector_part(cfg)
    if appearance:
        reid = config_to_dict(cfg.reid)
        for key in _SAME_EMBEDDINGS:
            reid.pop(key, None)
        reid |= {key: getattr(_REID_DEFAULTS, key) for key in _SAME_EMBEDDINGS_AT_DEFAULT}
        if cfg.reid.half:  # OpenVINO computes bf16 only where the CPU has AMX, fp32 elsewhere: other embeddings
            from tracker.reid.openvino import cpu_has_amx

            reid["amx"] = cpu_has_amx()
        parts["reid"] = reid | {"weights": _weights_id(cfg.reid.weights) if cfg.reid.model != "auto" else ""}
        if cfg.reid.model == "auto":  # the embeddings are pooled from the detector's own feature maps
            parts["detector"] = _detector_part(cfg)
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:_KEY_CHARS]


def _library_versions() -> dict[str, str | None]:
    """The versions of the libraries that decode, crop and embed the images, in a cache key: another OpenCV (its
    decoders and `warpAffine`), torch, OpenVINO or ultralytics computes other inputs (OpenCV 5.1 moved the crops'
    cosine similarities by ~0.002 from 4.14's); None for one not installed."""
    import torch

    try:
        openvino: str | None = metadata.version("openvino")
    except metadata.PackageNotFoundError:
        openvino = None
    return {
        "opencv": cv2.__version__,
        "torch": torch.__version__,
        "openvino": openvino,
        "ultralytics": metadata.version("ultralytics"),
    }


def _detector_part(cfg: TrackerConfig) -> dict[str, object]:
    """The detector settings and weights in a cache key."""
    detector = config_to_dict(cfg.detector)
    detector.pop("cpu_pinning")  # where the runtime's threads run does not change the boxes (keys made before stay)
    return detector | {"weights": _weights_id(cfg.detector.model)}


@dataclass
class InputModels:
    """The detector and embedder, built on first use and shared by every sequence of one run."""

    cfg: TrackerConfig
    _built: dict[str, Any] = field(default_factory=dict)

    def get(self, source: str, appearance: bool) -> tuple[torch.device, Any, Any]:
        """(device, detector or None, embedder or None) for this detection source and appearance setting."""
        key = f"{source}-{appearance}"
        if key not in self._built:
            from tracker.detector import build_detector
            from tracker.device import resolve_device
            from tracker.embedder import build_embedder
            from tracker.signal_stack import install_signal_stack

            device = resolve_device(self.cfg.device)
            auto = appearance and self.cfg.reid.model == "auto"
            detector = None
            if source == "detector" or auto:
                detector = build_detector(self.cfg.detector, device, keep_features=auto)
            embedder = build_embedder(self.cfg.reid, device, detector) if appearance else None
            install_signal_stack()  # OpenVINO's plugins may leave a dangling one: Ctrl-C would crash the run
            self._built[key] = (device, detector, embedder)
        return self._built[key]


def load_inputs(
    seq: Sequence,
    source: str,
    cfg: TrackerConfig,
    cache_dir: Path | None,
    use_cache: bool = True,
    models: InputModels | None = None,
    progress: bool = False,
) -> SequenceInputs:
    """Detections (public det.txt or the configured detector) and, where all images exist and appearance
    is on, ReID embeddings of every box. Cached under `cache_dir` unless `use_cache` is False. `progress`: a bar on
    stderr while the detector or the ReID runs over the images (none for a cached or public-boxes-only sequence).

    Raises:
        FileNotFoundError: `source` is "detector" but the sequence lacks images; `source` is "public" but it has
            no det/det.txt; missing weights.
    """
    appearance = has_appearance(cfg) and seq.has_all_images
    if source == "public":
        seq.require_public_detections()
    if source == "detector" and not seq.has_all_images:
        raise FileNotFoundError(
            f"{seq.name}: --detections detector needs all {seq.info.length} images in {seq.info.image_dir} "
            f"(there is no {seq.info.image_path(seq.info.frames_with_images() + 1).name})"
        )
    cache_dir = cache_dir or default_cache_dir()
    path = cache_dir / f"{bounded_name(seq.name)}-{_cache_key(seq, source, cfg, appearance)}.npz"
    start = time.perf_counter()
    if use_cache and path.is_file():
        try:
            frames = _read(path, seq.num_frames)
        except _UNREADABLE as exc:
            log.warning("unreadable cache file %s (%s): recomputing", path, exc)
        else:
            _keep_private(path)  # (a cache an older version wrote 0644, reused: 0600 as a new one is)
            return SequenceInputs(frames, appearance, cache_hit=True, seconds=time.perf_counter() - start)
    if use_cache:  # before computing: a cache folder that cannot be made fails before minutes of detection
        make_output_folder(cache_dir, role="input cache folder")
    frames = _compute(seq, source, appearance, models or InputModels(cfg), progress)
    if use_cache:
        _write(path, frames)
    return SequenceInputs(frames, appearance, cache_hit=False, seconds=time.perf_counter() - start)


def _keep_private(path: Path) -> None:
    """The reused cache file `path` readable by its owner only (`keep_private`); a warning where its mode cannot be
    changed (a shared cache folder, another user's file): the inputs read from it are used all the same."""
    try:
        keep_private(path)
    except OSError as exc:
        log.warning("cannot make the cache file %s readable by its owner only (%s)", path, exc.strerror or exc)


def _compute(
    seq: Sequence, source: str, appearance: bool, models: InputModels, progress: bool = False
) -> list[FrameInputs]:
    import torch
    from tqdm import tqdm

    from tracker.progress_stream import ProgressStream

    device, detector, embedder = None, None, None
    if source == "detector" or appearance:
        device, detector, embedder = models.get(source, appearance)
    needs_images = detector is not None or embedder is not None
    public = seq.public_detections() if source == "public" else {}
    empty = (np.zeros((0, 4)), np.zeros(0))
    frames = []
    numbers = range(seq.first, seq.last + 1)
    what = " + ".join(name for name, model in (("detector", source == "detector"), ("ReID", embedder)) if model)
    # (the detector and ReID take ~0.1-1 s a frame on a CPU: minutes of a silent run before its table, over MOT17)
    # Closed on every way out (`with`): an error's line (a damaged image) then starts a line of its own, below the bar,
    # not at the end of the bar's (which only the iterator's clean-up, as CPython drops it, closed).
    bar = tqdm(
        numbers, desc=f"{shown_name(seq.name)}: {what}", unit="frame", disable=not (progress and needs_images),
        file=ProgressStream(), dynamic_ncols=True,
    )  # fmt: skip
    with bar:
        for frame in bar:
            image = (
                read_image(seq.info.image_path(frame)) if needs_images else None
            )  # (any path's name: OpenCV's crashes)
            if needs_images and image is None:
                raise FileNotFoundError(f"cannot read {seq.info.image_path(frame)}")
            if detector is not None:  # also with public boxes under reid.model=auto: it keeps the feature maps
                boxes, scores, classes = detector(image)
            if source == "public":
                boxes, scores = public.get(frame, empty)
                classes = np.zeros(len(scores), dtype=np.int64)
            embeddings = None
            if embedder is not None and len(boxes):
                embeddings = embedder(torch.from_numpy(image).to(device), boxes).float().cpu().numpy()
                # stored as float16: round now, so a cached run and a fresh one feed the tracker the same numbers
                embeddings = embeddings.astype(_EMBEDDING_DTYPE).astype(np.float32)
            elif embedder is not None:
                embeddings = np.zeros((0, 0), np.float32)
            frames.append(
                FrameInputs(
                    np.asarray(boxes, np.float64).reshape(-1, 4),
                    np.asarray(scores, np.float64),
                    np.asarray(classes, np.int64),
                    embeddings,
                )
            )
    reid = ", ReID" if appearance else ""
    log.info("%s: %d frames of inputs computed (%s detections%s)", seq.name, len(frames), source, reid)
    return frames


def _write(path: Path, frames: list[FrameInputs]) -> None:
    counts = np.array([len(f.scores) for f in frames])
    arrays: dict[str, Any] = {  # (Any: numpy's stub types `savez`'s **kwds with its allow_pickle's bool)
        "counts": counts,
        "boxes": np.concatenate([f.boxes_xyxy for f in frames]) if frames else np.zeros((0, 4)),
        "scores": np.concatenate([f.scores for f in frames]) if frames else np.zeros(0),
        "classes": np.concatenate([f.class_ids for f in frames]) if frames else np.zeros(0, np.int64),
    }
    if frames and frames[0].embeddings is not None:
        dim = max(f.embeddings.shape[1] for f in frames if f.embeddings is not None)  # 0: no box in any frame
        arrays["embeddings"] = np.concatenate(
            [f.embeddings.reshape(len(f.embeddings), dim) for f in frames if f.embeddings is not None]
        ).astype(_EMBEDDING_DTYPE)
    _remove_left_temps(path)
    fd, name = tempfile.mkstemp(prefix=_temp_prefix(path, os.getpid()), suffix=TEMP_SUFFIX, dir=path.parent)
    # a write, flush or fsync on a full disk, which names no file, is said naming the cache file; on any error (a
    # Ctrl-C too) the temp file goes: no copy of the looks is left beside the cache
    with (
        naming(path, lambda exc: _not_written(path, exc)),
        atomic_write(path, lambda _: os.fdopen(fd, "wb"), Path(name)) as file,
    ):
        os.fchmod(fd, PRIVATE_MODE)  # 0600 (mkstemp's) whatever the platform: every box's look (an embedding)
        np.savez(file, **arrays)


def _temp_prefix(path: Path, pid: int) -> str:
    """`.<name>.<pid>.`, the start of the names of the temp files process `pid` writes the cache file `path` to
    (`<name>`: `path`'s, or its start and a hash where the whole would not fit in a file name: `fitting_stem`)."""
    added = len(f"..{pid}.") + _TEMP_RANDOM_CHARS + len(TEMP_SUFFIX)
    return f".{fitting_stem(path.name, added)}.{pid}."


def _remove_left_temps(path: Path) -> None:
    """Delete the temp files of the cache file `path` whose writer is no longer running on this machine (a
    `track eval` killed before its rename left a full copy of the looks there): at most one per killed writer stays,
    until the same entry is written again; one of a writer still running is kept (its rename must find it)."""
    for left in path.parent.glob(f".*{TEMP_SUFFIX}"):
        found = _TEMP_NAME.fullmatch(left.name)
        pid = int(found[1]) if found else 0
        if pid > 0 and left.name.startswith(_temp_prefix(path, pid)) and not _running(pid):
            left.unlink(missing_ok=True)
            log.info("removed %s, left by a killed write of %s", left, path)


def _running(pid: int) -> bool:
    """Whether a process `pid` runs on this machine (another user's too)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _not_written(path: Path, exc: OSError) -> OSError:
    """The error of a cache file `path` whose write failed for `exc`, which names no file (a full disk): naming it
    and where the user can choose another (same type and errno)."""
    named = type(exc)(f"cannot write the input cache file {path}: {exc.strerror} ({_CACHE_CHOICE})")
    named.errno = exc.errno  # (not strerror: with both set, str() is "[Errno 28] ..." again)
    return named


def _read(path: Path, num_frames: int) -> list[FrameInputs]:
    data = dict(np.load(path))
    bounds = np.concatenate([[0], np.cumsum(data["counts"])])
    emb = data["embeddings"].astype(np.float32) if "embeddings" in data else None
    if len(data["counts"]) != num_frames:
        raise ValueError(f"cache file {path} holds {len(data['counts'])} frames, expected {num_frames}")
    return [
        FrameInputs(data["boxes"][a:b], data["scores"][a:b], data["classes"][a:b], None if emb is None else emb[a:b])
        for a, b in itertools.pairwise(bounds)
    ]
