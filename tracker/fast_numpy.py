"""numpy's answers for a frame's small arrays without its Python-level wrappers (each ~1 us, dozens a frame).

`ndarray.any()` runs numpy's Python `_methods._any`, `np.full` and `np.ones` are Python functions around
`np.empty` and a copy: on the core's (T,) and (T, N) arrays the wrapper costs more than the work.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["any_set", "filled"]


def any_set(array: np.ndarray) -> bool:
    """True when any element of `array` (any shape and dtype) is nonzero (True; NaN counts, as for `ndarray.any`).

    `np.count_nonzero`'s C loop: ~0.4 us on a frame's masks against ~1.5 us for `ndarray.any()` (a frame of the
    core asks about 30 times).
    """
    return bool(np.count_nonzero(array))


def filled(shape: int | tuple[int, ...], value: Any, dtype: Any = np.float64) -> np.ndarray:
    """A new array of `shape` and `dtype` holding `value` everywhere: `np.full(shape, value, dtype)` (and `np.ones`
    for value 1), ~0.9 against ~2 us for a (50, 50) array."""
    out = np.empty(shape, dtype=dtype)
    out.fill(value)
    return out
