"""Choosing the torch device from the config's `device` key."""

from __future__ import annotations

import torch

from tracker.config import DEVICE_FORMS

__all__ = ["resolve_device"]


def resolve_device(name: str) -> torch.device:
    """ "auto" -> CUDA when present, else CPU. An explicit CUDA device without CUDA is a clear error.

    Raises:
        ValueError: unknown device string, or CUDA requested on a machine without it.
    """
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError):  # torch's message lists its ~20 device types, most of which we do not run on
        raise ValueError(f"device: {name!r} is not a device; use {DEVICE_FORMS}") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device: {name!r} was requested but CUDA is not available here; use device=cpu or auto")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ValueError(f"device: {name!r} does not exist; this machine has {torch.cuda.device_count()} GPU(s)")
    elif device.type != "cpu":
        raise ValueError(f"device: {name!r} is not supported; use {DEVICE_FORMS}")
    return device
