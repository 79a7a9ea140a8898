"""Run a ReID network with OpenVINO on the CPU: about 3x faster than PyTorch eager for OSNet's small batches.

The PyTorch model is converted once (a few seconds) and the converted IR is kept in a cache folder keyed by
the weights, the input size and the OpenVINO version, so later runs start in well under a second.
"""

from __future__ import annotations

import hashlib
import logging
import os
import warnings
from pathlib import Path

import numpy as np
import torch

from tracker.weights import file_digest

__all__ = ["CACHE_ENV", "OpenVINOForward", "cached_model_path", "openvino_available", "save_int8"]

log = logging.getLogger(__name__)

CACHE_ENV = "TRACKER_OPENVINO_CACHE"
"""Environment variable naming the folder for converted models (default ~/.cache/tracker/openvino)."""
_KEY_CHARS = 16  # hex digits of the cache key kept in file names
_LATENCY = {"PERFORMANCE_HINT": "LATENCY"}  # small batches, one at a time: latency, not throughput


def openvino_available() -> bool:
    """True when the `openvino` package can be imported."""
    try:
        import openvino  # noqa: F401
    except ImportError:
        return False
    return True


def _cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV, Path.home() / ".cache" / "tracker" / "openvino"))


def cached_model_path(model: torch.nn.Module, weights: Path, input_hw: tuple[int, int], int8: bool = False) -> Path:
    """Where the converted (or INT8-quantised) IR of `model` with these weights and input size is cached."""
    import openvino as ov

    key = f"{type(model).__name__}|{file_digest(weights)}|{input_hw}|{ov.get_version()}" + ("|int8" if int8 else "")
    return _cache_dir() / f"{hashlib.sha256(key.encode()).hexdigest()[:_KEY_CHARS]}.xml"


def _save(ov: object, ir: object, path: Path) -> None:
    """Write the IR (.xml + .bin) so that a concurrent reader never sees a half-written pair: both go to a
    temporary name first, the .bin is renamed into place before the .xml that refers to it."""
    tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.xml")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        ov.save_model(ir, tmp, compress_to_fp16=False)  # type: ignore[attr-defined]
        os.replace(tmp.with_suffix(".bin"), path.with_suffix(".bin"))
        os.replace(tmp, path)
    except OSError as exc:  # a read-only home is no reason to fail: convert again next time
        log.warning("could not cache the OpenVINO model in %s: %s", path.parent, exc)


class OpenVINOForward:
    """A compiled OpenVINO copy of a torch model: (B, 3, H, W) float32 CPU tensor -> (B, D) float32 tensor.

    Args:
        model: the torch model, in eval mode, with its weights loaded.
        weights: the weights file it was loaded from (part of the cache key).
        input_hw: (H, W) of the crops it will be fed; the batch size is dynamic.
        half: let OpenVINO compute in bf16 where the CPU supports it (cosine to fp32 >= 0.99); else fp32.
    """

    def __init__(
        self, model: torch.nn.Module, weights: Path, input_hw: tuple[int, int], half: bool, int8: bool = False
    ) -> None:
        import openvino as ov

        core = ov.Core()
        if int8:
            self._compiled = core.compile_model(_read_int8(core, model, weights, input_hw), "CPU", _LATENCY)
            log.info("ReID on OpenVINO (CPU, INT8)")
            return
        path = cached_model_path(model, weights, input_hw)
        ir = None
        if path.is_file():
            try:
                ir = core.read_model(path)
            except RuntimeError as exc:  # damaged by hand or by a full disk: convert again
                log.warning("unreadable cached OpenVINO model %s (%s): converting again", path, exc)
        if ir is None:
            example = torch.zeros((1, 3, *input_hw))
            model = model.to(memory_format=torch.contiguous_format)
            with warnings.catch_warnings():  # convert_model traces with torch.jit, which warns it is deprecated
                warnings.simplefilter("ignore", FutureWarning)
                ir = ov.convert_model(model, example_input=example, input=[(-1, 3, *input_hw)])
            _save(ov, ir, path)
        settings = dict(_LATENCY)
        if not half:
            settings["INFERENCE_PRECISION_HINT"] = "f32"
        self._compiled = core.compile_model(ir, "CPU", settings)
        log.info("ReID on OpenVINO (CPU, %s)", "bf16 where supported" if half else "fp32")

    def __call__(self, crops: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) float32 CPU tensor -> (B, D) float32 CPU tensor."""
        out = self._compiled(np.ascontiguousarray(crops.numpy()))[0]
        return torch.from_numpy(np.asarray(out, dtype=np.float32))


def _read_int8(core: object, model: torch.nn.Module, weights: Path, input_hw: tuple[int, int]) -> object:
    path = cached_model_path(model, weights, input_hw, int8=True)
    if not path.is_file():
        raise FileNotFoundError(
            f"reid.int8: no INT8 model for {weights.name} in {path.parent}; make it once with "
            "`python tools/quantize_reid.py` (NNCF post-training quantisation on crops of your videos)"
        )
    return core.read_model(path)  # type: ignore[attr-defined]


def save_int8(model: torch.nn.Module, weights: Path, input_hw: tuple[int, int], calibration: list[np.ndarray]) -> Path:
    """Quantise the converted IR of `model` to INT8 with NNCF post-training quantisation and cache it.

    Source: NNCF `nncf.quantize` (OpenVINO's post-training quantisation: min-max statistics of activations on
    the calibration batches, symmetric per-channel weights, fast bias correction).

    Args:
        model: the torch model in eval mode with its weights loaded (converted first when not cached).
        weights: its weights file (part of the cache key).
        input_hw: (H, W) of the crops.
        calibration: (B, 3, H, W) float32 batches of normalised crops like those the tracker will embed.
    Returns:
        The path of the cached INT8 IR, read by `OpenVINOForward(..., int8=True)`.
    Raises:
        ValueError: no calibration batch.
    """
    import nncf
    import openvino as ov

    if not calibration:
        raise ValueError("INT8 quantisation needs at least one calibration batch of crops")
    OpenVINOForward(model, weights, input_hw, half=False)  # converts and caches the fp32 IR if needed
    ir = ov.Core().read_model(cached_model_path(model, weights, input_hw))
    quantised = nncf.quantize(
        ir,
        nncf.Dataset(calibration),
        preset=nncf.QuantizationPreset.PERFORMANCE,
        subset_size=len(calibration),  # NNCF counts dataset items: batches
    )
    path = cached_model_path(model, weights, input_hw, int8=True)
    _save(ov, quantised, path)
    return path
