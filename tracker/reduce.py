"""`any_set`: whether an array holds a set (nonzero) element, without `ndarray.any`'s Python-level wrapper."""

from __future__ import annotations

import numpy as np

__all__ = ["any_set"]


def any_set(array: np.ndarray) -> bool:
    """True when any element of `array` (any shape and dtype) is nonzero (True; NaN counts, as for `ndarray.any`).

    `np.count_nonzero`'s C loop: ~0.2 us on a frame's masks against 1.0-1.5 us for `ndarray.any()`, which calls
    numpy's Python-level `_methods._any` (a frame of the core asks about 25 times).
    """
    return bool(np.count_nonzero(array))
