"""The dense tile encodings shared by every numeric filetype (see docs/filetypes.md).

A dense tile carries the raw little-endian bytes of a flat float array, base64-encoded, with
``dtype`` float16 when every value fits float16 exactly enough (no NaN, strictly inside ±65504),
else float32.
"""

import numpy as np
import pybase64

FLOAT16_LIMIT = 65504.0


def _encode(values, dtype):
    array = np.ascontiguousarray(values, dtype=dtype)
    return pybase64.b64encode_as_string(memoryview(array).cast("B"))  # standard alphabet, padded


def _fits_float16(low, high, has_nan):
    return not has_nan and -FLOAT16_LIMIT < low and high < FLOAT16_LIMIT


def format_dense_tile(data):
    """The tile of cooler and bigWig: ``{min_value, max_value, dense, size, dtype}``.

    ``min_value``/``max_value`` ignore NaN and are the string ``"NaN"`` when there is no number.
    ``size`` is the number of columns of a 2-D array (range modes), else 1.
    """
    data = np.asarray(data)
    if data.size == 0:
        low = high = "NaN"
        has_nan = False
    else:
        # Few passes over the tile: min() propagates NaN, so it also tells whether there is any;
        # fmin/fmax skip NaN (they are what np.nanmin/np.nanmax compute for arrays).
        low = data.min()
        has_nan = data.dtype.kind == "f" and bool(np.isnan(low))
        if not has_nan:
            low, high = float(low), float(data.max())
        else:
            low, high = float(np.fmin.reduce(data, axis=None)), float(np.fmax.reduce(data, axis=None))
            if low != low:  # every value is NaN
                low = high = "NaN"
    half = low != "NaN" and _fits_float16(low, high, has_nan)
    return {
        "min_value": low,
        "max_value": high,
        "dense": _encode(data.ravel(), "<f2" if half else "<f4"),
        "size": int(data.shape[1]) if data.ndim == 2 else 1,
        "dtype": "float16" if half else "float32",
    }


def _plain_choice(data):
    if data.size == 0:
        return "float16"
    has_nan = bool(np.isnan(data).any())
    if has_nan:
        return "float32"
    low, high = float(data.min()), float(data.max())
    return "float16" if (-FLOAT16_LIMIT < low < FLOAT16_LIMIT and -FLOAT16_LIMIT < high < FLOAT16_LIMIT) else "float32"


def format_generic_tile(data):
    """The tile of multivec: ``{dense, dtype, shape}`` with ``shape`` = [rows, columns]."""
    data = np.asarray(data)
    dtype = _plain_choice(data)
    return {
        "dense": _encode(data.ravel(), "<f2" if dtype == "float16" else "<f4"),
        "dtype": dtype,
        "shape": [int(n) for n in data.shape],
    }


def format_hitile_tile(data):
    """The tile of hitile: ``{dense, dtype}``."""
    data = np.asarray(data)
    dtype = _plain_choice(data)
    return {"dense": _encode(data.ravel(), "<f2" if dtype == "float16" else "<f4"), "dtype": dtype}
