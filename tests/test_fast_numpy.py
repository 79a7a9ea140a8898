"""`fast_numpy` answers as numpy's own functions for every shape and dtype the core asks about."""

from __future__ import annotations

import numpy as np
import pytest

from tracker.fast_numpy import all_set, any_set, count_set, einsum, filled, indices, largest, smallest


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


@pytest.mark.parametrize(
    "array",
    [
        np.zeros(0, dtype=bool),
        np.array([True, False, True, True]),
        np.array([0.0, np.nan, -0.0, 2.0]),  # NaN counts, -0.0 does not
        np.eye(4, dtype=bool)[:, ::2],  # a strided view
        np.arange(6, dtype=np.int64).reshape(2, 3),
    ],
)
def test_count_set_is_np_count_nonzero(array):
    got = count_set(array)
    assert type(got) is int and got == np.count_nonzero(array)


@pytest.mark.parametrize(
    ("shape", "value", "dtype"),
    [(0, np.nan, np.float64), (5, -1, np.int64), ((3, 4), np.inf, np.float64), (7, True, bool), ((2, 0), 0.5, float)],
)
def test_filled_is_np_full(shape, value, dtype):
    got, want = filled(shape, value, dtype), np.full(shape, value, dtype=dtype)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(got, want)


def test_einsum_is_np_einsum_bit_for_bit():
    """The Kalman update's and gate's contractions give np.einsum's values exactly (the same C loop)."""
    rng = np.random.default_rng(0)
    gain, innovation = rng.normal(size=(7, 8, 4)), rng.normal(size=(7, 4))
    np.testing.assert_array_equal(einsum("tij,tj->ti", gain, innovation), np.einsum("tij,tj->ti", gain, innovation))
    a, b = rng.normal(size=(9, 4)), rng.normal(size=(9, 4))
    np.testing.assert_array_equal(einsum("pi,pi->i", a, b), np.einsum("pi,pi->i", a, b))


@pytest.mark.parametrize(
    "array",
    [
        np.zeros(0, dtype=bool),
        np.ones(4, dtype=bool),
        np.eye(3, dtype=bool)[1],
        np.array([1.0, np.nan]),
        np.zeros((2, 2)),
    ],
)
def test_all_set_is_ndarray_all(array):
    assert all_set(array) is bool(array.all())


@pytest.mark.parametrize(
    ("array", "axis"),
    [
        (np.array([3.0, -1.5, 2.0]), None),
        (np.array([1.0, np.nan, 0.0]), None),  # NaN propagates, as for ndarray.min / max
        (np.array([-np.inf, 0.0, np.inf]), None),
        (np.array([-0.0, 0.0]), None),
        (np.arange(12, dtype=np.int64).reshape(3, 4), None),
        (np.array([[1.0, np.inf], [np.nan, 2.0], [5.0, -3.0]]), 0),
        (np.array([[1.0, np.inf], [np.nan, 2.0], [5.0, -3.0]]), 1),
        (np.arange(24, dtype=np.float64).reshape(4, 6)[:, ::2], 1),  # a strided view
    ],
)
def test_smallest_and_largest_are_ndarray_min_and_max(array, axis):
    for got, want in ((smallest(array, axis), array.min(axis=axis)), (largest(array, axis), array.max(axis=axis))):
        assert np.asarray(got).dtype == np.asarray(want).dtype
        np.testing.assert_array_equal(got, want)
        assert np.signbit(got).tolist() == np.signbit(want).tolist()


def test_smallest_of_nothing_raises_as_ndarray_min():
    for reduce, ours in (("minimum", smallest), ("maximum", largest)):
        empty = f"^zero-size array to reduction operation {reduce} which has no identity$"
        with pytest.raises(ValueError, match=empty):
            getattr(np.zeros(0), reduce[:3])()
        with pytest.raises(ValueError, match=empty):
            ours(np.zeros(0))


@pytest.mark.parametrize(
    "mask", [np.zeros(0, dtype=bool), np.zeros(5, dtype=bool), np.ones(4, dtype=bool), np.eye(5, dtype=bool)[2]]
)
def test_indices_is_np_flatnonzero(mask):
    got, want = indices(mask), np.flatnonzero(mask)
    assert got.dtype == want.dtype and got.tolist() == want.tolist()
