"""numpy's answers for a frame's small arrays without its Python-level wrappers (each ~1 us, dozens a frame).

`ndarray.any()` runs numpy's Python `_methods._any` (and `ndarray.min()` / `max()` `_amin` / `_amax`); `np.full`,
`np.ones`, `np.count_nonzero` and `np.einsum` are Python functions around a C call: on the core's (T,) and (T, N)
arrays the wrapper costs more than the work.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["TINY", "all_set", "any_along", "any_set", "count_set", "einsum", "filled", "indices", "largest", "smallest"]

try:  # the C functions behind numpy's wrappers (numpy 2's layout); the same calls the wrappers make
    from numpy._core.multiarray import c_einsum as _c_einsum
    from numpy._core.multiarray import count_nonzero as _count_nonzero
except ImportError:  # pragma: no cover - another layout: the public functions (the same answers)
    _c_einsum, _count_nonzero = np.einsum, np.count_nonzero

TINY = float(np.finfo(np.float64).tiny)
"""The smallest normal float64: a floor for heights, areas and widths that are divided by (looked up once: each
`np.finfo` call costs ~1 us)."""

einsum = _c_einsum
"""`np.einsum(subscripts, *operands)` without its Python wrapper (what it calls when `optimize` is off, its default):
the same C loop, ~1 us less a call."""


any_along = np.logical_or.reduce
"""`any_along(mask, axis)`: `mask.any(axis)` of a bool array by the ufunc reduction it runs, without numpy's Python
`_methods._any` wrapper (~0.5 us a call)."""


def any_set(array: np.ndarray) -> bool:
    """True when any element of `array` (any shape and dtype) is nonzero (True; NaN counts, as for `ndarray.any`).

    `np.count_nonzero`'s C loop: ~0.06 us on a frame's masks against ~1.5 us for `ndarray.any()` (a frame of the
    core asks about 30 times).
    """
    return bool(_count_nonzero(array))


def all_set(array: np.ndarray) -> bool:
    """True when every element of `array` (any shape and dtype; True for an empty one) is nonzero, as
    `ndarray.all()` answers, by `np.count_nonzero`'s C loop (`any_set`)."""
    return bool(_count_nonzero(array) == array.size)


def count_set(array: np.ndarray) -> int:
    """The number of nonzero elements of `array` (any shape and dtype): `np.count_nonzero(array)` without its Python
    wrapper (`any_set`)."""
    return int(_count_nonzero(array))


def indices(mask: np.ndarray) -> np.ndarray:
    """(K,) int64 indices of the True entries of a 1-D bool `mask`: `np.flatnonzero`'s, without its wrapper calls
    (0.1 against 1.3 us; the core asks about ten times a frame)."""
    return mask.nonzero()[0]


def filled(shape: int | tuple[int, ...], value: Any, dtype: Any = np.float64) -> np.ndarray:
    """A new array of `shape` and `dtype` holding `value` everywhere: `np.full(shape, value, dtype)` (and `np.ones`
    for value 1), ~0.9 against ~2 us for a (50, 50) array."""
    out = np.empty(shape, dtype=dtype)
    out.fill(value)
    return out


_minimum_reduce, _maximum_reduce = np.minimum.reduce, np.maximum.reduce  # what `_methods._amin` / `_amax` call


def smallest(array: np.ndarray, axis: int | None = None) -> Any:
    """`array.min(axis)` (NaN propagates; an empty array raises ValueError), by the ufunc reduction `ndarray.min`
    runs behind numpy's Python `_methods._amin`: ~0.9 against ~2 us for a frame's (N,) array."""
    return _minimum_reduce(array, axis=axis)


def largest(array: np.ndarray, axis: int | None = None) -> Any:
    """`array.max(axis)`, as `smallest` (numpy's `_methods._amax` without its wrapper)."""
    return _maximum_reduce(array, axis=axis)
