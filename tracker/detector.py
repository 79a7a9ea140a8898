"""The detector: a thin wrapper over ultralytics (the only place the core imports it)."""

from __future__ import annotations

import copy
import functools
import importlib
import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, SupportsIndex, cast

import numpy as np
import torch

from tracker.config import DetectorConfig
from tracker.extras import extra_of, missing_extra, require_extra
from tracker.frames import as_bgr
from tracker.weights import WEIGHTS_DIR_ENV, how_to_set, require_weights, weights_dir_fault, weights_source

__all__ = [
    "UltralyticsDetector",
    "build_detector",
    "class_names",
    "fetch_official_weights",
    "image_size_not_used",
    "quiet_ultralytics",
    "set_openvino_pinning",
]

log = logging.getLogger(__name__)

_COLOUR_CHANNELS = 3  # BGR frames
_NAMED_CLASSES = 3  # a detector.classes error names the model's first classes, as a reminder of its numbering
_OPENVINO_FOLDER_SUFFIX = "_openvino_model"  # how ultralytics tells an OpenVINO export folder (NAME.xml + NAME.bin)
_OPENVINO_FILES = (".xml", ".bin")  # the files of an OpenVINO export: its network and its weights
_BOX_TASKS = ("detect", "segment", "pose")  # ultralytics tasks whose results hold (axis-aligned) boxes, `results.boxes`
_ULTRALYTICS_LOGGER = "ultralytics"  # ultralytics' logger (ultralytics.utils.LOGGING_NAME), silenced by --quiet
_LEAST_STRIDE = 32  # ultralytics' PyTorch backend rounds the input size to its model's largest stride, at least this
_ONNX_RUNTIME = ("onnxruntime", "onnxruntime")  # the module ultralytics runs an .onnx model with, its pip package
_PINNING = "ENABLE_CPU_PINNING"  # OpenVINO's property: inference threads bound to cores
_KEPT_PROPERTIES = (  # what a recompile with other pinning copies from ultralytics' compiled model: same threads
    "PERFORMANCE_HINT",
    "EXECUTION_MODE_HINT",
    "INFERENCE_PRECISION_HINT",
    "INFERENCE_NUM_THREADS",
    "NUM_STREAMS",
)


def _fp16_option() -> dict[str, Any]:
    """ultralytics' predict option for fp16 inference: `quantize=16` where the installed version has it.

    ultralytics 8.4.x replaced `half=True` with `quantize=16` and warns on every call given `half` (seen on a
    CUDA machine: one warning line per frame); older versions only know `half`.
    """
    from ultralytics.cfg import DEFAULT_CFG_DICT

    return {"quantize": 16} if "quantize" in DEFAULT_CFG_DICT else {"half": True}


@dataclass
class UltralyticsDetector:
    """Callable frame -> (boxes_xyxy (N, 4), scores (N,), class_ids (N,)), all numpy.

    Exported models (OpenVINO, ONNX, TensorRT) run ultralytics' pre- and post-processing with `config.threads` torch
    threads (the caller's count is back after each call). With `keep_features=True` (PyTorch models only), the
    feature maps feeding the detection head are kept from the last call in `features` (list of (1, C, h, w)
    tensors), with `input_hw`, the letterboxed input size.
    """

    model: Any
    config: DetectorConfig
    device: torch.device
    keep_features: bool = False
    features: list[torch.Tensor] = field(default_factory=list)
    input_hw: tuple[int, int] = (0, 0)

    _hooked: bool = field(default=False, init=False, repr=False)
    # a pickled copy's model lost ultralytics' predictor (`__getstate__`): made again before its first frame
    _remake_predictor: bool = field(default=False, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.keep_features:
            self.enable_features()

    @property
    def is_pytorch(self) -> bool:
        """Whether the model runs in PyTorch (a .pt file: its own threads take every core), not an export."""
        return isinstance(getattr(self.model, "model", None), torch.nn.Module)

    @functools.cached_property
    def run_size(self) -> int:
        """`detector.image_size` as the model runs at it, px of the long side: rounded up to a multiple of the stride
        ultralytics rounds it to (`_rounding_stride`), warned once here (ultralytics' own warning, "imgsz=[641] must
        be multiple of max stride 32, updating to [672]", came on every frame, past --quiet). A fixed-size export's
        is `image_size` as given (it runs at its own size: `_warn_fixed_size`). An export not loaded yet gets it
        rounded to 32 unwarned (its load, the first call, then forgets it: `_first_predict`)."""
        size = self.config.image_size
        if not self.is_pytorch and getattr(self.model, "predictor", None) is None:  # (loads at this size)
            return _rounded_up(size, _LEAST_STRIDE)
        stride = self._rounding_stride()
        if stride is None:
            return size
        rounded = _rounded_up(size, stride)
        if rounded != size:
            log.warning(
                "detector.image_size=%d is not a multiple of detector.model %s's stride %d: it runs at %d (set "
                "detector.image_size=%d to be told no more)",
                size,
                self.config.model,
                stride,
                rounded,
                rounded,
            )
        return rounded

    def _rounding_stride(self) -> int | None:
        """The stride ultralytics' `check_imgsz` rounds `imgsz` up to a multiple of: a PyTorch model's largest, at
        least 32 (its PyTorch backend's rule); a loaded dynamic export's, from its metadata (its exports' backends
        take it as it is). None where the size given is not rounded: a fixed-size export runs at its own."""
        if self.is_pytorch:
            strides = getattr(self.model.model, "stride", None)
            return None if strides is None else max(int(torch.as_tensor(strides).max()), _LEAST_STRIDE)
        backend = getattr(getattr(self.model, "predictor", None), "model", None)  # ultralytics' AutoBackend
        if backend is None or not getattr(backend, "dynamic", False):
            return None
        return int(torch.as_tensor(backend.stride).max())

    @property
    def feature_channels(self) -> int:
        """Total channels C of the maps the detection head reads (PyTorch models; 0 otherwise)."""
        if not self.is_pytorch:
            return 0
        head = self.model.model.model[-1]
        return sum(int(branch[0].conv.in_channels) for branch in head.cv2)

    def __reduce_ex__(self, protocol: SupportsIndex) -> str | tuple[Any, ...]:
        """A PyTorch model pickles with its weights; an exported one (OpenVINO, ONNX, TensorRT: compiled for this
        process) is refused with a TypeError that says what to do instead (theirs name a library object)."""
        if not self.is_pytorch:
            raise TypeError(
                f"the exported detector {self.config.model} cannot be pickled (it is compiled for this process): "
                "pickle the Tracker after close(), fork it with copy.deepcopy (the copy shares the models), or "
                "build the models in the other process with Tracker.from_config"
            )
        return super().__reduce_ex__(protocol)

    def __getstate__(self) -> dict[str, Any]:
        """The fields to pickle, the model without ultralytics' predictor: made by the first `predict`, it holds a
        thread lock ("cannot pickle '_thread.lock' object") and nothing the next `predict` does not make again from
        the same model and options. The model itself is not changed (a shallow copy loses its predictor)."""
        state = dict(self.__dict__)
        model = state["model"]
        if getattr(model, "predictor", None) is not None:
            model = copy.copy(model)
            model.predictor = None
            state["model"] = model
            state["_remake_predictor"] = True
        return state

    def __call__(self, frame_bgr: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Detect in one (H, W, 3) uint8 BGR frame: (N, 4) float64 boxes as pixel corners (x1, y1, x2, y2) in the
        frame's pixels, (N,) float64 confidences in [0, 1] (those above `detector.confidence`), (N,) int64 class ids
        (only `detector.classes`, when given); after ultralytics' non-maximum suppression at `detector.iou`. The
        frame is any `Tracker.update` takes (gray and BGRA are converted to BGR as it converts them: `as_bgr`).

        Raises:
            ValueError: a frame `Tracker.update` refuses (a torch tensor, float, channels first, empty), naming the
                conversion to make (ultralytics took an (H, W, 3) tensor for a batch: "inputs should be BCHW").
            ValueError, ImportError: an exported model ultralytics cannot load on its first frame (`load`).
            OSError: the model file cannot be read on that first frame.
        """
        return self._call_prechecked(as_bgr(frame_bgr))

    def _call_prechecked(self, frame_bgr: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """`__call__` for `Tracker.update`: its frame already `as_bgr`'s (`tracker.types.prechecked`)."""
        cfg = self.config
        options: dict[str, Any] = {"conf": cfg.confidence, "iou": cfg.iou, "imgsz": self.run_size, "verbose": False}
        options["classes"] = list(cfg.classes) or None
        if self.is_pytorch:
            options["device"] = str(self.device)
            if cfg.half and self.device.type == "cuda":
                options.update(_fp16_option())
        threads = torch.get_num_threads()
        if cfg.threads > 0 and not self.is_pytorch:
            # An exported model runs its network on the runtime's own threads: torch only runs ultralytics' few small
            # ops around it (the letterboxed frame to a float tensor, NMS), whose OpenMP team spin-waits for a core
            # another process holds. 1080p street, yolov8n INT8 OpenVINO, load ~5.5 on 2 cores, blocks of 10 calls
            # alternating: 80.1 -> 51.8 ms a call (median), process CPU 39.5 -> 25.0 ms; the conversion alone costs
            # ~0.13 ms more on one thread than on two on a quiet core.
            torch.set_num_threads(min(cfg.threads, threads))
        try:
            if self._remake_predictor:
                self._make_predictor(options, threads)
            if getattr(self.model, "predictor", None) is None and not self.is_pytorch:  # an exported model loads now
                result = self._first_predict(frame_bgr, options)
            else:
                result = self.model.predict(frame_bgr, **options)[0]
        finally:  # even when it fails: the caller's process keeps its threads
            torch.set_num_threads(threads)  # ultralytics' device setup lowers torch's CPU threads; give them back
        boxes = result.boxes
        return (
            boxes.xyxy.cpu().numpy().astype(np.float64),
            boxes.conf.cpu().numpy().astype(np.float64),
            boxes.cls.cpu().numpy().astype(np.int64),
        )

    def load(self) -> None:
        """Load an exported model now, with one prediction on a blank frame (PyTorch models load at construction).

        Ultralytics loads OpenVINO, ONNX and TensorRT models on their first frame and logs its "Loading ..." lines
        then, which would break into a progress bar that has already started; a model already loaded is left
        as it is.

        Raises:
            ValueError, ImportError: a file ultralytics cannot load, a missing runtime (as the first frame would).
            OSError: the model file cannot be read (the system's error as it is).
        """
        if self.is_pytorch or getattr(self.model, "predictor", None) is not None:
            return
        size = self.config.image_size
        self(np.zeros((size, size, _COLOUR_CHANNELS), np.uint8))

    def _make_predictor(self, options: dict[str, Any], threads: int) -> None:
        """Make the predictor a pickled copy lost, with a prediction on a blank frame, and give torch its `threads`
        back: ultralytics' predictor setup sets torch's CPU threads to its own count (cores - 1, at most 8) for the
        frame it makes it on, and the first frame after the restore, detected with them, had boxes up to 6e-5 px
        off the original's (the tracks then parted). The frames after it run as the original's do."""
        self._remake_predictor = False
        if getattr(self.model, "predictor", None) is not None:
            return
        size = self.config.image_size
        try:
            self.model.predict(np.zeros((size, size, _COLOUR_CHANNELS), np.uint8), **options)
        finally:
            torch.set_num_threads(threads)

    def _first_predict(self, frame_bgr: np.ndarray, options: dict[str, Any]) -> Any:
        """The first call, where ultralytics loads an exported model: a file it cannot load is one clear error."""
        try:
            result = self.model.predict(frame_bgr, **options)[0]
            self.__dict__.pop("run_size", None)  # (known once loaded: fixed or dynamic, its stride)
            return result
        except OSError:  # a failed download, an unreadable file: its own message says what happened
            raise
        except Exception as exc:  # ultralytics raises AssertionError, TypeError ... for a file it cannot load
            raise _load_error(self.config.model, exc) from exc

    def enable_features(self) -> None:
        """Keep the inputs of the detection head (the neck's multi-scale maps) on every forward from now on.

        Raises:
            ValueError: the model is not a PyTorch (.pt) model (OpenVINO, ONNX, TensorRT hide their layers).
        """
        if not self.is_pytorch:
            raise ValueError(
                f"reid.model=auto needs a PyTorch (.pt) detector to read its feature maps; detector.model="
                f"{self.config.model!r} is not one (use a .pt model, or reid.model=osnet_x0_25)"
            )
        self.keep_features = True
        if self._hooked:
            return
        self._hooked = True
        head = self.model.model.model[-1]
        head.register_forward_pre_hook(_KeepFeatures(self, head))


class _KeepFeatures:
    """The detection head's forward pre-hook of `UltralyticsDetector.enable_features`: keeps the head's input maps of
    each call in the detector's `features` and `input_hw`. An object, not a closure, so that the detector pickles
    (a closure cannot be); copied as a function is (ultralytics' predictor runs a deep copy of the model, whose hook
    must still fill this detector)."""

    def __init__(self, detector: UltralyticsDetector, head: torch.nn.Module) -> None:
        self.detector = detector
        self.head = head

    def __deepcopy__(self, memo: dict) -> _KeepFeatures:
        return self

    def __call__(self, _module: torch.nn.Module, inputs: tuple[Any, ...]) -> None:
        maps, stride = inputs[0], cast(torch.Tensor, self.head.stride)[0]  # (a buffer of the head: its strides)
        self.detector.features = [m.detach() for m in maps]
        self.detector.input_hw = (int(maps[0].shape[2] * stride), int(maps[0].shape[3] * stride))


def build_detector(cfg: DetectorConfig, device: torch.device, keep_features: bool = False) -> UltralyticsDetector:
    """Load `cfg.model` with ultralytics: a .pt file, an OpenVINO folder, .onnx, .engine ...

    The model is looked up as a path, then in `$TRACKER_WEIGHTS_DIR`. A name found in neither is handed to
    ultralytics only if it is an official asset name (ultralytics downloads it once, its normal behaviour;
    this factory is the only place that may happen); anything else is a FileNotFoundError naming the file.
    The model is loaded here whatever its format (`UltralyticsDetector.load`): its loading lines and errors come
    before any frame.

    Args:
        cfg: the `detector` config section.
        device: where a PyTorch model runs (exported models run where their runtime puts them).
        keep_features: keep the neck's feature maps of each call (`reid.model=auto`; PyTorch models only).
    Raises:
        FileNotFoundError: the model is not found and is not an official ultralytics asset, or an OpenVINO export
            folder lacks its .xml or .bin file (naming it).
        ValueError: `keep_features` with a model that is not PyTorch, a file ultralytics cannot load (not a
            model, truncated, of a format it does not know), naming the file, a model of a task without boxes
            (a classify or obb .pt), or a `cfg.classes` id the model does not have (it would never detect it).
        ImportError: the model's format needs a runtime that is not installed (an OpenVINO export without the
            [openvino] extra, onnxruntime for .onnx ...).
        OSError: an official asset's download failed (offline), naming the file and what to do; or an existing
            model file could not be read (the system's error as it is).
    """
    from ultralytics import YOLO
    from ultralytics.utils.downloads import GITHUB_ASSETS_NAMES

    _still_quiet()
    _ultralytics_on_stderr()
    path = require_weights(cfg.model, "detector", downloadable=GITHUB_ASSETS_NAMES)
    _check_openvino_folder(path)
    if _is_openvino_model(path):  # said here: ultralytics logs its loading, then pip-installs openvino when online
        require_extra(f"detector.model {cfg.model}", ["openvino"])
    _check_onnx_runtime(cfg.model, path)
    if not path.exists():
        log.info("detector %s not found locally: ultralytics will download the official weights", cfg.model)
    source = str(path)
    try:
        model = YOLO(source, task="detect")  # .pt files load here, exported models on the first frame
    except OSError as exc:  # an unreadable file: its own message says it; a failed download: also what to do
        if path.exists():
            raise
        raise _download_error(cfg.model, exc) from exc
    except Exception as exc:  # ultralytics raises AssertionError, TypeError, pickle errors ... for a bad file
        raise _load_error(source, exc) from exc
    _check_task(cfg.model, getattr(model, "task", None))
    log.info("detector %s on %s", source, device)
    detector = UltralyticsDetector(model, cfg, device, keep_features=keep_features)
    detector.load()  # an exported model loads here, not on the first frame (its lines would break the progress bar)
    _check_classes(cfg, getattr(model, "names", None))
    _warn_fixed_size(detector)
    if path.exists():
        set_openvino_pinning(model, path, cfg.cpu_pinning)
    return detector


def _check_task(model: str, task: str | None) -> None:
    """ValueError for a model of an ultralytics task whose results hold no boxes to track (`classify`: none; `obb`:
    oriented boxes, in `results.obb`), read from a .pt checkpoint (`YOLO(..., task="detect")` does not override
    it): the first frame ended in a traceback, "'NoneType' object has no attribute 'xyxy'". An export's task is
    the one given, detect (None: not known), so not told apart here."""
    if task is None or task in _BOX_TASKS:
        return
    raise ValueError(
        f"detector.model {model} is an ultralytics {task} model, whose results hold no boxes to track: give a "
        f"detection model (yolo11n.pt; segment and pose models work too, their boxes are tracked)"
    )


def is_official_weights(model: str) -> bool:
    """Whether `model` (`detector.model`) is the bare name of an official ultralytics asset (`yolo11n.pt`), which
    ultralytics downloads where no file of that name is found."""
    from ultralytics.utils.downloads import GITHUB_ASSETS_NAMES

    return Path(model).name == model and model in GITHUB_ASSETS_NAMES


def fetch_official_weights(model: str) -> Path:
    """The local file of the detector weights `model`, downloading an official ultralytics asset not found here now
    (ultralytics' own download, to where `YOLO(model)` would put it), so that a caller hands out a path, not a name.

    `track batch`'s driver calls it once before any task: each task downloading for itself failed alone offline, one
    line per video after ~5-20 s each.

    Args:
        model: `detector.model`: a path, a name in `$TRACKER_WEIGHTS_DIR`, or an official asset name.
    Returns:
        The existing file or folder (as `require_weights` finds it), else the downloaded file.
    Raises:
        FileNotFoundError: not found and not an official asset name (`require_weights`).
        OSError: the download failed (offline), naming the file, where it comes from and what to do.
    """
    from ultralytics.utils.downloads import GITHUB_ASSETS_NAMES, attempt_download_asset

    _still_quiet()
    _ultralytics_on_stderr()
    path = require_weights(model, "detector", downloadable=GITHUB_ASSETS_NAMES)
    if path.exists():
        return path
    log.info("detector %s not found locally: downloading the official weights from ultralytics once", model)
    try:
        fetched = Path(attempt_download_asset(model))
    except OSError as exc:  # offline: ConnectionError "Download failure for <url>. Environment may be offline."
        raise _download_error(model, exc) from exc
    if not fetched.is_file():  # (ultralytics returns the name without a file when the asset is not in its release)
        raise _download_error(model, FileNotFoundError(f"ultralytics did not download {model}"))
    return fetched.resolve()


def set_openvino_pinning(model: Any, ir_path: Path, pinning: bool) -> bool:
    """Compile an OpenVINO detector that ultralytics loaded on the CPU again with `ENABLE_CPU_PINNING=pinning`.

    OpenVINO pins its inference threads to cores by default (right for a process that owns the machine).
    Ultralytics compiles with its own fresh `ov.Core` and offers no way to pass the property, and a compiled model
    cannot change it, so the same IR is compiled again with every thread and precision setting read from
    ultralytics' compiled model, only the pinning differs; its pre- and post-processing stay ultralytics'. Only the
    model's own compiled copy changes (no `ov.Core` or process setting). On 2 shared cores a pinned thread waits for
    its core while the other is free: 1080p yolov8n INT8 `update()` without ReID 64.2 -> 49.0 ms a frame at load ~7
    (`tools/bench_update_blocks.py`, README: speed).

    Args:
        model: an ultralytics `YOLO` whose predictor is set up (after `UltralyticsDetector.load`).
        ir_path: the OpenVINO model folder or its .xml (what ultralytics loaded).
        pinning: the wanted `ENABLE_CPU_PINNING`.
    Returns:
        True when it compiled the model again; False for a model that is not OpenVINO on the CPU plugin (PyTorch,
        ONNX ..., AUTO or another device), already as wanted, or held where this version of ultralytics does not
        keep it.
    """
    holder = _openvino_holder(model)
    if holder is None:
        return False
    compiled = holder.ov_compiled_model
    supported = set(compiled.get_property("SUPPORTED_PROPERTIES"))
    # The CPU plugin's own compiled model: AUTO's (ultralytics' choice where another device exists) reports CPU as
    # its device while an accelerator compiles, and has no pinning to read; it is left to AUTO.
    if _PINNING not in supported or list(compiled.get_property("EXECUTION_DEVICES")) != ["CPU"]:
        return False
    if compiled.get_property(_PINNING) == pinning:
        return False
    import openvino as ov

    from tracker.reid.blob_cache import compile_cached
    from tracker.reid.openvino import compiled_cache

    settings = {name: compiled.get_property(name) for name in _KEPT_PROPERTIES if name in supported}
    settings[_PINNING] = pinning
    xml = ir_path if ir_path.is_file() else next(ir_path.glob("*.xml"))
    core = ov.Core()
    # later runs load this compile from its blob (`blob_cache`: yolov8n INT8 at load ~9, 0.4-0.55 s from OpenVINO's
    # cache, 1.7 s compiling; given the file, not a read model, the key is its files' bytes, no model read first)
    cached = functools.partial(compile_cached, core, device="CPU", settings=settings, cache=compiled_cache())
    holder.ov_compiled_model = cached(str(xml))
    if callable(getattr(holder, "compile_model", None)):  # ultralytics compiles again per input shape on AMX CPUs
        holder.compile_model = cached
    log.debug("detector %s compiled again with %s=%s", xml, _PINNING, pinning)
    return True


def _openvino_holder(model: Any) -> Any | None:
    """The object holding ultralytics' compiled OpenVINO model (`ov_compiled_model`), or None."""
    auto = getattr(getattr(model, "predictor", None), "model", None)
    # ultralytics 8.4: AutoBackend.backend holds it (AutoBackend only delegates reads to it); before: AutoBackend
    for holder in (getattr(auto, "backend", None), auto):
        if holder is not None and hasattr(holder, "ov_compiled_model"):
            return holder
    return None


class _BelowWarningDropped(logging.Filter):
    """Drops the records below WARNING: `quiet_ultralytics`' mark on ultralytics' logger, which outlives the level
    that ultralytics' import sets (`set_logging` replaces its handler and level, not the logger's filters)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING


def quiet_ultralytics() -> None:
    """Silence ultralytics' info lines (which model it loads, its OpenVINO mode) and progress bars (a download);
    its warnings still show. Idempotent.

    For `track --quiet`, the tasks of `track batch` (whose driver reports each video itself) and the tools. It
    does not import ultralytics (~0.1-1 s, a tool of synthetic worlds never loads it): ultralytics' logger, named
    "ultralytics", gets a filter dropping its records below WARNING, which its import keeps; the level (which its
    progress bars read) is WARNING now and again after the import where the tracker loads a model
    (`build_detector`, `fetch_official_weights`).
    """
    logger = logging.getLogger(_ULTRALYTICS_LOGGER)
    if not _quieted(logger):
        logger.addFilter(_BelowWarningDropped())
    logger.setLevel(logging.WARNING)


def _still_quiet() -> None:
    """After ultralytics' import (which sets its logger's level to INFO): WARNING again where `quiet_ultralytics`
    was called, so that its progress bars stay off too (they read the level, not the filter)."""
    logger = logging.getLogger(_ULTRALYTICS_LOGGER)
    if _quieted(logger):
        logger.setLevel(logging.WARNING)


class _CurrentStderr:
    """A text stream writing on `sys.stderr` as it is at each write (a redirected stderr, pytest's capture), nowhere
    where there is none (`2>&-`)."""

    def write(self, text: str) -> int:
        stream = sys.stderr
        return len(text) if stream is None else stream.write(text)

    def flush(self) -> None:
        if sys.stderr is not None:
            sys.stderr.flush()


def _ultralytics_on_stderr() -> None:
    """After ultralytics' import: its log handler (`set_logging`'s, on stdout) writes on stderr. Its lines as it loads
    a model ("Loading ... for OpenVINO inference...", "Using OpenVINO LATENCY mode ...") went to stdout, among a
    command's answer (`track compare ... > table.txt` collected them). Idempotent; other handlers are left alone."""
    for handler in logging.getLogger(_ULTRALYTICS_LOGGER).handlers:
        if type(handler) is logging.StreamHandler and handler.stream in (sys.stdout, sys.__stdout__):
            handler.setStream(_CurrentStderr())  # type: ignore[arg-type]


def _quieted(logger: logging.Logger) -> bool:
    """Whether `quiet_ultralytics` put its filter on `logger`."""
    return any(isinstance(kept, _BelowWarningDropped) for kept in logger.filters)


def _download_error(model: str, exc: OSError) -> OSError:
    """Ultralytics' download failure (offline: "Download failure for <url>. Environment may be offline.") with
    what to do about it, as the same exception type where it can be built from one message."""
    message = (
        f"{str(exc).strip()} (detector.model {model} is downloaded by ultralytics on first use; without a network, "
        f"set detector.model to a local model ({how_to_set('detector.model')}) or put {model} in ${WEIGHTS_DIR_ENV}"
        f"{weights_dir_fault()})"
    )
    try:
        return type(exc)(message)
    except Exception:  # an OSError subclass that takes other arguments
        return OSError(message)


def _is_openvino_model(path: Path) -> bool:
    """An OpenVINO export, as ultralytics tells one: a NAME_openvino_model folder, or its .xml file."""
    return (path.is_dir() and path.name.endswith(_OPENVINO_FOLDER_SUFFIX)) or path.suffix.lower() == ".xml"


def _rounded_up(size: int, stride: int) -> int:
    """`size` rounded up to a multiple of `stride` (as ultralytics' `check_imgsz`: ceil(size / stride) * stride)."""
    return -(-size // stride) * stride


def _check_onnx_runtime(model: str, path: Path) -> None:
    """An .onnx model needs onnxruntime, which no extra installs: said before ultralytics loads it, which printed
    two "requirements: AutoUpdate skipped (offline)" warnings past --quiet and then "No module named
    'onnxruntime'" without what to install (online, it pip-installs the package into the environment itself).

    Raises:
        ImportError: onnxruntime cannot be imported, naming the model and the package to install.
    """
    module, package = _ONNX_RUNTIME
    if path.suffix.lower() != ".onnx":
        return
    try:
        importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(
            f"detector.model {model} is an ONNX model, which ultralytics runs with {package}, not installed "
            f"({exc}): pip install {package} (onnxruntime-gpu for CUDA), or give the model's .pt file"
        ) from exc


def _check_openvino_folder(path: Path) -> None:
    """An OpenVINO export folder must hold its NAME.xml and NAME.bin: a half-copied one is named here, where
    ultralytics says only StopIteration (no .xml) or OpenVINO "Exception from src/inference/..." (no .bin). A file
    of an export given for the export (its .xml or .bin) is a ValueError naming the folder to give: ultralytics
    called it an unsupported format, and the tracker a damaged copy."""
    if path.is_file() and path.suffix in _OPENVINO_FILES and _is_openvino_model(path.parent):
        raise ValueError(
            f"detector.model {path} is a file of the OpenVINO export {path.parent}: give the folder "
            f"(detector.model={path.parent})"
        )
    if not (path.is_dir() and path.name.endswith(_OPENVINO_FOLDER_SUFFIX)):
        return
    models = sorted(path.glob("*.xml"))
    if models and models[0].with_suffix(".bin").is_file():
        return
    problem = f"{models[0].with_suffix('.bin')} is missing" if models else "it holds no .xml model"
    raise FileNotFoundError(
        f"detector.model {path} is an incomplete OpenVINO export: {problem} (copy the whole folder, "
        f"or export it again from the model you have with ultralytics' format=openvino; models come from "
        f"{weights_source('detector')})"
    )


def _check_classes(cfg: DetectorConfig, names: Any) -> None:
    """ValueError for `cfg.classes` ids the model does not have (`--classes 99` with an 80-class COCO model):
    ultralytics keeps no box of them, so the run tracked nothing without a word. A model that names no classes
    is not checked."""
    known = _by_id(names)
    unknown = [c for c in cfg.classes if c not in known]
    if not known or not unknown:
        return
    ids = sorted(known)
    named = ", ".join(f"{i} {known[i]}" for i in ids[:_NAMED_CLASSES])
    verb = "is not a class" if len(unknown) == 1 else "are not classes"
    raise ValueError(
        f"detector.classes: {', '.join(map(str, unknown))} {verb} of detector.model {cfg.model}, which has "
        f"{len(ids)} (ids {ids[0]}-{ids[-1]}: {named}, ...): "
        "it would detect nothing of them; give ids it has (--classes ...)"
    )


def image_size_not_used(detector: Any) -> tuple[int, int] | None:
    """(height, width) in pixels a loaded fixed-size export runs at where that is not `detector.image_size` (the
    long side: a 384x640 export is a 640 for landscape frames): ultralytics runs an export of a fixed input size
    (OpenVINO, ONNX ... exported without `dynamic=True`) at that size, whatever `imgsz` it is given, without a word
    (a 1280 asked of a 640 OpenVINO export found the same boxes as 640). None where the size asked is used: a
    PyTorch model, a dynamic export, an export of that size, or a detector that is not ultralytics' (a function)."""
    model = getattr(detector, "model", None)
    backend = getattr(getattr(model, "predictor", None), "model", None)  # ultralytics' AutoBackend, loaded
    fixed = getattr(backend, "imgsz", None)
    if fixed is None or getattr(backend, "dynamic", False) or getattr(detector, "is_pytorch", True):
        return None
    height, width = (int(fixed), int(fixed)) if isinstance(fixed, int | float) else (int(fixed[0]), int(fixed[-1]))
    return None if max(height, width) == detector.config.image_size else (height, width)


def _warn_fixed_size(detector: UltralyticsDetector) -> None:
    """Warn when `detector.image_size` is not used (`image_size_not_used`). PyTorch models and dynamic exports take
    any size."""
    cfg = detector.config
    ran_at = image_size_not_used(detector)
    if ran_at is not None:
        height, width = ran_at
        log.warning(
            "detector.image_size=%d is not used: detector.model %s was exported for %dx%d frames, the size "
            "ultralytics runs it at (export it again with imgsz=%d, or use the .pt model, which takes any size)",
            cfg.image_size,
            cfg.model,
            height,
            width,
            cfg.image_size,
        )


def _by_id(names: Any) -> dict[int, str]:
    """A model's class names (ultralytics' `model.names`: a dict, or a list in class order) by class ID."""
    return dict(names) if isinstance(names, dict) else dict(enumerate(names or ()))


def class_names(detector: Any) -> dict[int, str]:
    """The class names of a detector (`UltralyticsDetector`: its model's, `{0: "person", ...}`), by class ID; {}
    for one that names none (a function of the caller's)."""
    names = _by_id(getattr(getattr(detector, "model", None), "names", None))
    return {int(c): str(n) for c, n in names.items()}


def _load_error(model: str, exc: Exception) -> Exception:
    """One clear error for a detector model ultralytics failed to load. Its own errors span several lines: the
    first is kept, and the last where there are more (OpenVINO puts the reason there: "Incorrect weights in bin
    file!" under "Exception from src/inference/src/cpp/core.cpp:84:")."""
    if isinstance(exc, ImportError):  # a runtime of the format is missing (openvino, onnxruntime, tensorrt ...)
        extra = extra_of(exc)  # (an OpenVINO export without the [openvino] extra: which extra to install)
        if extra is not None:
            return missing_extra(f"detector.model {model}", exc, extra)
        return ImportError(f"detector.model {model} needs a package that is not installed: {exc}")
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    cause = f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
    if len(lines) > 1:
        cause += f" ... {lines[-1]}"
    return ValueError(  # (not only a damaged copy: ReID weights or another file given as the detector)
        f"detector.model {model} is not a model ultralytics can load ({cause}); it takes a YOLO model (.pt, an "
        f"OpenVINO export folder, .onnx, .engine ...): if {model} is one, the copy is damaged: get it again from "
        f"{weights_source('detector')}"
    )
