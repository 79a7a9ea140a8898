"""`any_set` answers as `ndarray.any()` for every shape and dtype the core asks about."""

from __future__ import annotations

import numpy as np
import pytest

from tracker.reduce import any_set


@pytest.mark.parametrize(
    "array",
    [
        np.zeros(0, dtype=bool),
        np.zeros(5, dtype=bool),
        np.eye(3, dtype=bool)[1],
        np.zeros((4, 3)),
        np.array([0.0, -0.0]),
        np.array([0.0, np.nan]),  # NaN is set, as for `ndarray.any`
        np.array([0.0, -np.inf]),
        np.zeros((2, 3, 4), dtype=np.int64),
        np.arange(6).reshape(2, 3)[:, ::2],  # a strided view
    ],
)
def test_any_set_is_ndarray_any(array):
    assert any_set(array) is bool(array.any())
