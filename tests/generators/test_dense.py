"""The shared dense encoder (cooler, bigWig): min/max, the float16/float32 choice and the bytes,
checked against a plain computation with numpy's NaN-aware functions."""

import base64
import math

import numpy as np
import pytest

from tilesets.generators.dense import format_dense_tile

NAN = float("nan")


def expected(values):
    data = np.asarray(values)
    finite = data[~np.isnan(data)] if data.dtype.kind == "f" else data
    if finite.size == 0:
        low = high = "NaN"
    else:
        low, high = float(np.nanmin(data)), float(np.nanmax(data))
    has_nan = data.dtype.kind == "f" and bool(np.isnan(data).any())
    half = low != "NaN" and not has_nan and -65504 < low and high < 65504
    dtype = "<f2" if half else "<f4"
    return {
        "min_value": low, "max_value": high,
        "dense": base64.b64encode(np.ascontiguousarray(data.ravel(), dtype=dtype).tobytes()).decode(),
        "size": int(data.shape[1]) if data.ndim == 2 else 1,
        "dtype": "float16" if half else "float32",
    }


@pytest.mark.parametrize("values", [
    [1.0, 2.5, -3.0],
    [NAN, 1.0, 7.5, NAN],
    [NAN, NAN],
    [NAN, -0.5],
    [65504.0, 1.0],
    [-65503.0, 65503.0],
    [1e-9, 3.0],
    [math.inf, 1.0],
    [NAN, -math.inf, 2.0],
    np.arange(12, dtype=np.int64),
    np.array([[1.0, NAN], [3.0, 4.0]]),
    np.array([[2.0, 1.0], [3.0, 4.0]], dtype=np.float32),
    np.full(65536, NAN, dtype=np.float32),
])
def test_dense_tile_matches_a_plain_computation(values):
    assert format_dense_tile(values) == expected(values)


def test_empty_tile():
    assert format_dense_tile(np.zeros(0)) == {
        "min_value": "NaN", "max_value": "NaN", "dense": "", "size": 1, "dtype": "float32"}
