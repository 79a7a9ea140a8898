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

__all__ = ["CACHE_ENV", "OpenVINOForward", "openvino_available"]

log = logging.getLogger(__name__)

CACHE_ENV = "TRACKER_OPENVINO_CACHE"
"""Environment variable naming the folder for converted models (default ~/.cache/tracker/openvino)."""
_KEY_CHARS = 16  # hex digits of the cache key kept in file names


def openvino_available() -> bool:
    """True when the `openvino` package can be imported."""
    try:
        import openvino  # noqa: F401
    except ImportError:
        return False
    return True


def _cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV, Path.home() / ".cache" / "tracker" / "openvino"))


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

    def __init__(self, model: torch.nn.Module, weights: Path, input_hw: tuple[int, int], half: bool) -> None:
        import openvino as ov

        core = ov.Core()
        key = f"{type(model).__name__}|{file_digest(weights)}|{input_hw}|{ov.get_version()}"
        path = _cache_dir() / f"{hashlib.sha256(key.encode()).hexdigest()[:_KEY_CHARS]}.xml"
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
        settings = {"PERFORMANCE_HINT": "LATENCY"}
        if not half:
            settings["INFERENCE_PRECISION_HINT"] = "f32"
        self._compiled = core.compile_model(ir, "CPU", settings)
        log.info("ReID on OpenVINO (CPU, %s)", "bf16 where supported" if half else "fp32")

    def __call__(self, crops: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) float32 CPU tensor -> (B, D) float32 CPU tensor."""
        out = self._compiled(np.ascontiguousarray(crops.numpy()))[0]
        return torch.from_numpy(np.asarray(out, dtype=np.float32))
