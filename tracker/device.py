"""Choosing the torch device from the config's `device` key."""

from __future__ import annotations

import torch

from tracker.config import DEVICE_FORMS, unsupported_device

__all__ = ["resolve_device", "runs_on_cpu", "usable_devices"]


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
            raise ValueError(
                f"device: {name!r} was requested but CUDA is not available here; use device=cpu or auto (`--device "
                'cpu` on the command line, device="cpu" in a config or its overrides)'
            )
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ValueError(f"device: {name!r} does not exist; this machine has {torch.cuda.device_count()} GPU(s)")
    elif device.type != "cpu":
        said = unsupported_device(name) or f"device: {name!r} is not supported; use {DEVICE_FORMS}"
        raise ValueError(f"{said} (this machine can use {usable_devices()})")
    return device


def usable_devices() -> str:
    """The devices this machine can use, as the config names them: "cpu only: it has no CUDA GPU", "cpu, cuda or
    cuda:0", "cpu, cuda or cuda:0 to cuda:3" (said with a device it cannot use: `--device mps`)."""
    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if gpus < 1:
        return "cpu only: it has no CUDA GPU"
    return f"cpu, cuda or cuda:0{f' to cuda:{gpus - 1}' if gpus > 1 else ''}"


def runs_on_cpu(name: str) -> bool:
    """Whether the config's `device` `name` (of `DEVICE_FORMS`, checked by the config) puts the models on the CPU:
    "cpu", or "auto" on a machine without CUDA (as `resolve_device`, whose errors for a CUDA device this machine
    lacks are left to it)."""
    if name == "auto":
        return not torch.cuda.is_available()
    return torch.device(name).type == "cpu"  # ("cpu:0" too, torch's name of the CPU, which the config accepts)
