"""Appearance embedders: one forward for all crops of a frame.

Crops are cut on the device in one `grid_sample` call for the PyTorch network; for its OpenVINO copy on the CPU
they are cut as uint8 by OpenCV and normalised inside the compiled model (no torch operation at all).

`build_embedder(cfg.reid, device, detector)` returns a callable
`(frame (H, W, 3) uint8 BGR tensor on the device, boxes_xyxy (N, 4)) -> (N, D) L2-normalised tensor`; the frame may
also be gray or BGRA, or a numpy array, as `Tracker.update` takes it (`tracker.frames.bgr_tensor`), else ValueError.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import cv2
import numpy as np
import torch
from torchvision.ops import roi_align

from tracker.config import ReIDConfig
from tracker.extras import require_extra
from tracker.frames import bgr_tensor
from tracker.reid import osnet_x0_25, osnet_x1_0
from tracker.reid.cuda_graph import GraphedForward
from tracker.reid.openvino import OpenVINOForward, openvino_available
from tracker.reid.osnet import IMAGENET_MEAN, IMAGENET_STD
from tracker.types import as_boxes, kept_rows
from tracker.weights import require_weights, weights_source

__all__ = ["DetectorFeatureEmbedder", "OSNetEmbedder", "build_embedder", "crop_boxes", "cut_crops", "embed_checked"]

log = logging.getLogger(__name__)

_PIXEL_MAX = 255.0
_BGR_TO_RGB = (2, 1, 0)
_FEATURE_POOL = (4, 2)  # auto mode: each box's feature map region pooled to 4 x 2 cells, then averaged
_STD_FLOOR = 1e-6  # auto mode: channels constant over the frame are not amplified
_ARCHITECTURES = {"osnet_x0_25": osnet_x0_25, "osnet_x1_0": osnet_x1_0}
_WARP_FLAGS = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP  # the affine maps output pixels to frame pixels
_NORM_FLOOR = 1e-12  # an all-zero embedding stays zero instead of dividing by zero (as torch's normalize)
_DEFAULT_WIDE_FROM = ReIDConfig().wide_from  # (the default, said of nothing where PyTorch runs the ReID)


def embed_checked(
    embed: Callable[[torch.Tensor, np.ndarray], torch.Tensor], frame: Any, boxes_xyxy: Any, said: bool
) -> tuple[torch.Tensor, bool]:
    """An embedder's public call: `frame` as `bgr_tensor` takes it, `boxes_xyxy` as `as_boxes` (ValueError naming
    either), then `embed` (its `_call_prechecked`) on the boxes that have a crop (`kept_rows`); the others get a zero
    row (N in, N out), warned of unless `said` (then at DEBUG).

    Returns:
        (N, D) embeddings, and whether a box without a crop has been warned of now.
    """
    image = bgr_tensor(frame)
    boxes = as_boxes(boxes_xyxy, scored=False)
    kept = kept_rows(boxes, (image.shape[0], image.shape[1]))
    if kept.all():
        return embed(image, boxes), said
    looks = embed(image, boxes[kept])
    out = looks.new_zeros((len(boxes), looks.shape[1]))
    out[torch.as_tensor(kept, device=out.device)] = looks
    log.log(
        logging.DEBUG if said else logging.WARNING,
        "embedder: %d of %d boxes_xyxy have no crop (a NaN or infinite corner, x2 <= x1 or y2 <= y1, or wholly "
        "outside the %dx%d frame, height x width): their rows are zero, no look%s",
        int((~kept).sum()),
        len(boxes),
        image.shape[0],
        image.shape[1],
        "" if said else " (warned once per embedder)",
    )
    return out, True


def crop_boxes(frame: torch.Tensor, boxes_xyxy: np.ndarray, size: tuple[int, int]) -> torch.Tensor:
    """Cut and resize all boxes of one frame in one `grid_sample` call, on the frame's device.

    Boxes are clipped to the frame first: a box partly outside gives its visible part stretched to `size`
    (no padding), so a person walking out of view keeps a crop of the person, not of a border. A box wholly
    outside collapses onto the nearest edge pixels (finite, meaningless; its detection should not be there).
    One bilinear sample at the centre of each output pixel, as `cv2.resize(..., INTER_LINEAR)` of the crop and
    as `torchvision.ops.roi_align(..., sampling_ratio=1, aligned=True)`, which gives the same pixels (within
    0.02/255) but runs a scalar loop on the CPU, about 4x slower than grid_sample's vectorised kernel.

    Args:
        frame: (H, W, 3) uint8 BGR on any device.
        boxes_xyxy: (N, 4) pixel corners.
        size: (height, width) of each crop.
    Returns:
        (N, 3, height, width) float32 RGB in [0, 1] on the frame's device.
    """
    h, w = frame.shape[:2]
    n, device = len(boxes_xyxy), frame.device
    if n == 0:
        return torch.zeros((0, 3, *size), device=device)
    clipped = np.minimum(np.maximum(np.asarray(boxes_xyxy, dtype=np.float64), 0.0), [w, h, w, h])
    # Only the region around the boxes is converted to float (a 1080p frame with a few people: a fraction of
    # it); one pixel of margin keeps every bilinear neighbour, so the crops equal those from the whole frame.
    x0, y0 = (max(int(np.floor(clipped[:, i].min())) - 1, 0) for i in (0, 1))
    x1, y1 = (min(int(np.ceil(clipped[:, i].max())) + 1, limit) for i, limit in ((2, w), (3, h)))
    x0, y0 = min(x0, x1 - 1), min(y0, y1 - 1)  # boxes collapsed onto the far edges keep one pixel
    region = frame[y0:y1, x0:x1]
    region_h, region_w = region.shape[:2]
    image = region.permute(2, 0, 1).unsqueeze(0).float()  # (1, 3, h, w) BGR 0..255, channels-last: the one copy
    boxes = torch.as_tensor((clipped - [x0, y0, x0, y0]).astype(np.float32), device=device)
    # Sample positions in grid_sample's [-1, 1] frame coordinates (align_corners=False: -1 and 1 are the outer
    # edges of the border pixels): the centre of output pixel j of a box spanning [x1, x2] is x1 + (j + 0.5) / width.
    steps_y = (torch.arange(size[0], device=device) + 0.5) / size[0]
    steps_x = (torch.arange(size[1], device=device) + 0.5) / size[1]
    ys = (boxes[:, 1:2] + steps_y * (boxes[:, 3:4] - boxes[:, 1:2])) * (2.0 / region_h) - 1.0  # (N, height)
    xs = (boxes[:, 0:1] + steps_x * (boxes[:, 2:3] - boxes[:, 0:1])) * (2.0 / region_w) - 1.0  # (N, width)
    grid = torch.stack(torch.broadcast_tensors(xs[:, None, :], ys[:, :, None]), dim=-1)  # (N, height, width, 2)
    crops = torch.nn.functional.grid_sample(
        image.expand(n, -1, -1, -1), grid, mode="bilinear", padding_mode="border", align_corners=False
    )
    return crops[:, _BGR_TO_RGB, :, :].div_(_PIXEL_MAX)


def cut_crops(frame: np.ndarray, boxes_xyxy: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Cut and resize each box of a uint8 frame with OpenCV, sampling where `crop_boxes` samples.

    One `cv2.warpAffine` per box, straight from the uint8 frame: the affine maps the centre of output pixel j to
    x1 + (j + 0.5) * (x2 - x1) / width in the clipped box (bilinear, the border pixels repeated), as `crop_boxes`
    does, with OpenCV's fixed-point weights (1/32 pixel): within a few /255 of it, 0.2-0.3/255 on average. For the
    few boxes a frame embeds under lazy embedding this is 10-100x cheaper than converting the region of the
    frame around them to float (0.2 ms for 3 boxes of a 1080p frame; 3 ms for 50).

    Args:
        frame: (H, W, 3) uint8 BGR.
        boxes_xyxy: (N, 4) pixel corners; clipped to the frame first, as in `crop_boxes`.
        size: (height, width) of each crop.
    Returns:
        (N, height, width, 3) uint8 BGR.
    """
    h, w = frame.shape[:2]
    height, width = size
    out = np.empty((len(boxes_xyxy), height, width, 3), dtype=np.uint8)
    clipped = np.minimum(np.maximum(np.asarray(boxes_xyxy, dtype=np.float64).reshape(-1, 4), 0.0), [w, h, w, h])
    for crop, (x1, y1, x2, y2) in zip(out, clipped, strict=True):
        sx, sy = (x2 - x1) / width, (y2 - y1) / height
        # destination pixel (j, i) <- source point (x1 + (j + 0.5) sx - 0.5, y1 + (i + 0.5) sy - 0.5) in pixel indices
        affine = np.array([[sx, 0.0, x1 + 0.5 * sx - 0.5], [0.0, sy, y1 + 0.5 * sy - 0.5]])
        cv2.warpAffine(frame, affine, (width, height), dst=crop, flags=_WARP_FLAGS, borderMode=cv2.BORDER_REPLICATE)
    return out


@dataclass
class OSNetEmbedder:
    """OSNet person ReID (Zhou et al., ICCV 2019; torchreid's weights) on device-side crops; fp16 on CUDA when
    configured. Callable (frame (H, W, 3) uint8 BGR, boxes_xyxy (N, 4) pixel corners) -> (N, 512) L2-normalised
    float32 embeddings (`__call__`).

    `model` is the torch module, or its OpenVINO copy (`OpenVINOForward`, CPU) with the same input and output.
    """

    model: torch.nn.Module | OpenVINOForward
    config: ReIDConfig
    device: torch.device
    dim: int = 512

    def __post_init__(self) -> None:
        self.half = self.config.half and self.device.type == "cuda"
        self._uint8_crops = isinstance(self.model, OpenVINOForward)  # OpenVINO normalises uint8 crops itself
        self._layout = torch.contiguous_format
        if isinstance(self.model, torch.nn.Module):
            # channels-last runs OSNet's depthwise convolutions about 1.5x faster on the CPU, and suits tensor cores.
            self._layout = torch.channels_last
            # (two `to` calls: torch's stubs have no overload of a device and a memory format together)
            model = self.model.to(self.device).to(memory_format=self._layout).eval()
            self.model = model.half() if self.half else model
        self._graphed = None
        if self.config.cuda_graphs and self.device.type == "cuda" and isinstance(self.model, torch.nn.Module):
            self._graphed = GraphedForward(self.model, self.config.batch_size)
        elif self.config.cuda_graphs:
            backend = "PyTorch" if isinstance(self.model, torch.nn.Module) else "OpenVINO"
            log.info(
                "reid.cuda_graphs ignored: the %s ReID forward on %s (graphs need PyTorch on CUDA)",
                backend,
                self.device,
            )
        if isinstance(self.model, torch.nn.Module) and self.config.requests > 1:
            log.info("reid.requests=%d ignored: the PyTorch ReID forward runs one call at a time", self.config.requests)
        if isinstance(self.model, torch.nn.Module) and self.config.threads != 1:  # (1: the default, said of nothing)
            log.info("reid.threads=%d ignored: the PyTorch ReID forward runs on torch's threads", self.config.threads)
        if isinstance(self.model, torch.nn.Module) and self.config.wide_from not in (0, _DEFAULT_WIDE_FROM):
            log.info(
                "reid.wide_from=%d ignored: the PyTorch ReID forward runs on torch's threads", self.config.wide_from
            )
        self._oom_said = False  # a CUDA out of memory was warned of: later ones (batches split again) at DEBUG
        self._no_crop_said = False  # a box without a crop was warned of (`embed_checked`): later ones at DEBUG
        self._mean = torch.tensor(IMAGENET_MEAN, device=self.device).view(1, 3, 1, 1)
        self._std = torch.tensor(IMAGENET_STD, device=self.device).view(1, 3, 1, 1)

    @torch.inference_mode()
    def __call__(self, frame: torch.Tensor, boxes_xyxy: np.ndarray) -> torch.Tensor:
        """(H, W, 3) uint8 BGR frame tensor, (N, 4) boxes -> (N, 512) L2-normalised float32 on the device.

        The frame may also be (H, W) or (H, W, 1) gray or (H, W, 4) BGRA, a tensor or a numpy array, as
        `Tracker.update` takes it (`bgr_tensor`); the boxes pixel corners (x1, y1, x2, y2) as numpy, a list or a
        tensor (`as_boxes`). A box partly outside the frame embeds its visible part; a box with no crop (a NaN or
        infinite corner, x2 <= x1 or y2 <= y1, or wholly outside the frame: a detection `update_detections` drops)
        gets a zero row, the tracker's "no look" (warned once per embedder). On OpenVINO the crops are cut as uint8
        by OpenCV (`cut_crops`) and normalised inside the compiled model: no torch operation runs, so no torch
        thread team wakes up for a few crops.

        Raises:
            ValueError: a frame of another shape or dtype (channels first, float), naming what is expected; boxes
                not of shape (N, 4) (one box of shape (4,): `boxes_xyxy[None]`), or not real numbers.
        """
        looks, self._no_crop_said = embed_checked(self._call_prechecked, frame, boxes_xyxy, self._no_crop_said)
        return looks

    @torch.inference_mode()
    def _call_prechecked(self, frame: torch.Tensor, boxes_xyxy: np.ndarray) -> torch.Tensor:
        """`__call__` for `Tracker.update`: an (H, W, 3) uint8 BGR tensor (`bgr_tensor`'s) and (N, 4) float64 boxes
        that each have a crop (`kept_rows`), as the tracker gives them (`tracker.types.prechecked`)."""
        size = (self.config.crop_height, self.config.crop_width)
        if self._uint8_crops:
            crops = cut_crops(np.ascontiguousarray(frame.cpu().numpy()), boxes_xyxy, size)
            out = self.model(crops)
            out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), _NORM_FLOOR)
            return torch.from_numpy(out)
        frame = frame.to(self.device)
        chunks = []
        for start in range(0, len(boxes_xyxy), self.config.batch_size):  # crops of one chunk at a time in memory
            batch = crop_boxes(frame, boxes_xyxy[start : start + self.config.batch_size], size)
            batch = ((batch - self._mean) / self._std).contiguous(memory_format=self._layout)
            chunks.append(self._forward(batch.half() if self.half else batch))
        out = torch.cat(chunks) if chunks else torch.zeros((0, self.dim), device=self.device)
        return torch.nn.functional.normalize(out.float(), dim=1)

    def _forward(self, crops: torch.Tensor) -> torch.Tensor:
        """One forward; on CUDA out-of-memory the batch is split in halves and retried (warned of once per embedder,
        later splits at DEBUG: a GPU short of memory splits most batches of a run)."""
        try:
            if self._graphed is not None:
                return self._graphed(crops)
            return cast(torch.nn.Module, self.model)(crops)  # (the PyTorch path: OpenVINO's crops are uint8 ones)
        except torch.cuda.OutOfMemoryError:
            if len(crops) == 1:
                raise
            torch.cuda.empty_cache()
            level = logging.DEBUG if self._oom_said else logging.WARNING
            self._oom_said = True
            log.log(level, "CUDA out of memory embedding %d crops: splitting the batch", len(crops))
            half = len(crops) // 2
            return torch.cat([self._forward(crops[:half]), self._forward(crops[half:])])


@dataclass
class DetectorFeatureEmbedder:
    """`reid.model=auto`: the detector's own multi-scale feature maps pooled at each box (no extra weights).

    A weak cue next to OSNet (same/different-person ROC AUC about 0.65 on TUD-Campus against 0.97), free
    because the detector computed the maps anyway: good for telling apart people who look very different.
    """

    detector: Any
    device: torch.device
    _no_crop_said: bool = field(default=False, init=False, repr=False)  # as `OSNetEmbedder`'s

    @property
    def dim(self) -> int:
        """D: the channels of all pooled maps together (448 for YOLOv8n and YOLO11n)."""
        return self.detector.feature_channels

    @torch.inference_mode()
    def __call__(self, frame: torch.Tensor, boxes_xyxy: np.ndarray) -> torch.Tensor:
        """(H, W, 3) frame (only its size is read; gray, BGRA and numpy as `OSNetEmbedder`), (N, 4) boxes of the
        detector's last call (pixel corners; a box with no crop gets a zero row, as `OSNetEmbedder`'s) -> (N, D) unit
        rows, D the channels of the detector's maps together: each map pooled at the boxes by torchvision's
        `roi_align` (4 x 2 cells, averaged) and standardised by its own per-channel statistics.

        Raises:
            ValueError: a frame of another shape (channels first); boxes not of shape (N, 4), as `OSNetEmbedder`.
            RuntimeError: the detector has not run yet (no feature maps kept).
        """
        looks, self._no_crop_said = embed_checked(self._call_prechecked, frame, boxes_xyxy, self._no_crop_said)
        return looks

    @torch.inference_mode()
    def _call_prechecked(self, frame: torch.Tensor, boxes_xyxy: np.ndarray) -> torch.Tensor:
        """`__call__` for `Tracker.update`, its frame and boxes checked (as `OSNetEmbedder._call_prechecked`)."""
        maps = self.detector.features
        if not maps:
            raise RuntimeError("reid.model=auto: the detector has not run on this frame yet")
        h, w = frame.shape[:2]
        in_h, in_w = self.detector.input_hw
        scale = min(in_h / h, in_w / w)  # ultralytics letterbox: resize by `scale`, pad evenly
        pad = torch.tensor([(in_w - w * scale) / 2, (in_h - h * scale) / 2] * 2, device=maps[0].device)
        boxes = torch.as_tensor(np.asarray(boxes_xyxy, dtype=np.float32), device=maps[0].device) * scale + pad
        rois = torch.cat([torch.zeros((len(boxes), 1), device=boxes.device), boxes], dim=1)
        pooled = []
        for fmap in maps:
            fmap = fmap.float()
            boxed = roi_align(fmap, rois, _FEATURE_POOL, spatial_scale=fmap.shape[2] / in_h, aligned=True)
            # Standardise by the map's own per-channel statistics: raw activations are mostly positive, so
            # without this every box looks alike (cosine ~0.9); with it, AUC on TUD-Campus 0.62 -> 0.67.
            mean, std = fmap.mean(dim=(2, 3)), fmap.std(dim=(2, 3)).clamp_min(_STD_FLOOR)
            pooled.append((boxed.mean(dim=(2, 3)) - mean) / std)
        return torch.nn.functional.normalize(torch.cat(pooled, dim=1), dim=1).to(self.device)


def _fitting_architecture(state: dict, configured: str) -> str:
    """The hint of a state dict that does not fit `configured`: the other OSNet it loads into, if any."""
    for name, build in _ARCHITECTURES.items():
        if name == configured:
            continue
        try:
            build().load_torchreid(state)
        except ValueError:
            continue
        return f"these are {name} weights: set reid.model={name}"
    return f"reid.model is {configured}, and no other OSNet here takes these weights either"


# exported network formats a user may take for ReID weights (the tracker builds its OpenVINO model from the .pth)
_EXPORTED_SUFFIXES = (".onnx", ".xml", ".bin", ".engine", ".tflite", ".pb")


def require_osnet_file(name: str, remedy: str | None = None) -> Path:
    """The path of the ReID weights `name` (`require_weights`, ending a not-found error with `remedy`), checked to be a
    file that is not an exported network.

    Raises:
        FileNotFoundError: not found, or not a file.
        ValueError: an exported network (.onnx, OpenVINO .xml/.bin, ...), naming how to use one instead.
    """
    path = require_weights(name, "reid", remedy=remedy)
    if not path.is_file():
        raise FileNotFoundError(f"reid weights {path} is not a file (a torchreid .pth state dict is expected)")
    if path.suffix.lower() in _EXPORTED_SUFFIXES:  # an exported network, not a state dict: no pickle error to decode
        raise ValueError(
            f"reid weights {path} is an exported {path.suffix} network; reid.weights takes a torchreid .pth state dict "
            f"(from {weights_source('reid')}), which the tracker converts for OpenVINO itself. To track with another "
            "network, run it yourself and give its embeddings to Tracker.update_detections (embed=...)"
        )
    return path


def load_osnet(cfg: ReIDConfig, device: torch.device) -> OSNetEmbedder:
    """Build the OSNet of `cfg.model` (Zhou et al., "Omni-Scale Feature Learning for Person Re-Identification",
    ICCV 2019) and load `cfg.weights` (torchreid state dict, strict keys), through OpenVINO where `cfg` asks for it.

    Raises:
        FileNotFoundError: no weights file (`require_osnet_file`, naming where to get one).
        ValueError: a file that is not a torchreid state dict or whose keys fit another architecture (named), or
            `reid.int8` off OpenVINO's CPU path.
        ImportError: `reid.backend=openvino`, or `reid.int8` on the CPU, without the [openvino] extra.
    """
    path = require_osnet_file(cfg.weights)
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=False)  # torchreid files are legacy pickles
    except Exception as exc:  # pickle, zip and EOF errors of a file that is no PyTorch checkpoint
        raise ValueError(
            f"reid weights {path} cannot be read as a PyTorch checkpoint ({type(exc).__name__}: {exc}); "
            f"a torchreid .pth state dict is expected (if it is one, the copy is damaged: get it again from "
            f"{weights_source('reid')})"
        ) from None
    state = checkpoint.get("state_dict", checkpoint) if isinstance(checkpoint, dict) else checkpoint
    if not isinstance(state, dict):
        raise ValueError(f"{path} is not a torchreid state dict")
    model = _ARCHITECTURES[cfg.model]()
    try:
        model.load_torchreid(state)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc} ({_fitting_architecture(state, cfg.model)})") from None
    log.info("ReID %s from %s on %s", cfg.model, path, device)
    if _use_openvino(cfg, device):
        size = (cfg.crop_height, cfg.crop_width)
        forward = OpenVINOForward(
            model.eval(),
            path,
            size,
            cfg.half,
            cfg.int8,
            cfg.threads,
            cfg.batch_size,
            requests=cfg.requests,
            wide_from=cfg.wide_from,
            wide_threads=cfg.wide_threads,
            wide_recheck_after=cfg.wide_recheck_after,
        )
        return OSNetEmbedder(forward, cfg, device)
    if cfg.int8:
        raise ValueError(f"reid.int8 runs through OpenVINO on the CPU (device {device}, reid.backend={cfg.backend})")
    return OSNetEmbedder(model.fold_batchnorm(), cfg, device)  # ~15% faster on the CPU, fewer kernels on a GPU


def _use_openvino(cfg: ReIDConfig, device: torch.device) -> bool:
    """`reid.backend`: auto picks OpenVINO on the CPU when it is installed; openvino insists on it."""
    if cfg.backend == "openvino":
        if device.type != "cpu":
            raise ValueError(f"reid.backend=openvino runs on the CPU, but the device is {device}; use torch or auto")
        require_extra("reid.backend=openvino", ["openvino"])
        return True
    if cfg.int8 and cfg.backend == "auto" and device.type == "cpu":  # INT8 runs only through OpenVINO
        require_extra("reid.int8", ["openvino"])
    return cfg.backend == "auto" and device.type == "cpu" and openvino_available()


def build_embedder(
    cfg: ReIDConfig, device: torch.device, detector: Any = None
) -> OSNetEmbedder | DetectorFeatureEmbedder | None:
    """The embedder `cfg.model` names, or None for `none`: a callable (frame (H, W, 3) uint8 BGR tensor on
    `device`, boxes_xyxy (N, 4) pixel corners) -> (N, D) L2-normalised float32 tensor (`OSNetEmbedder`, D = 512;
    `DetectorFeatureEmbedder` for `auto`, D the detector's pooled channels).

    Args:
        cfg: the `reid` config section.
        device: where the PyTorch network runs (OpenVINO runs on the CPU).
        detector: the tracker's `UltralyticsDetector`, whose feature maps `auto` pools (a .pt model); else unused.
    Raises:
        FileNotFoundError: missing weights file (named, with where it comes from).
        ValueError: `auto` without a PyTorch (.pt) detector; a state dict that does not fit `cfg.model`.
        ImportError: OpenVINO asked for (`reid.backend=openvino`, `reid.int8`) without the [openvino] extra.
    """
    if cfg.model == "none":
        return None
    if cfg.model == "auto":
        if detector is None or not hasattr(detector, "enable_features"):
            raise ValueError("reid.model=auto needs the tracker's PyTorch (.pt) detector (build_detector) to pool")
        detector.enable_features()  # ValueError for OpenVINO / ONNX / TensorRT models
        return DetectorFeatureEmbedder(detector, device)
    return load_osnet(cfg, device)
