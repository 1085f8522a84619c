"""Small hitile files for the hitile tests, and what their tiles must contain.

The files are written with h5py in the hitile layout, the way ``clodius aggregate
bedgraph`` builds it: ``values_0`` holds one value per base (NaN in gaps), ``nan_values_0`` 1 for
each NaN base; each further stored level (every ``zoom_step`` halvings) holds NaN-ignoring sums of
``2^zoom_step`` values of the level below (NaN where all were NaN), computed in float64 and
stored as float32; levels are written while ``length / 2^k > tile_size``; positions after the
data end (``max-position``) are left unwritten (HDF5 fills them with 0).

The expected tiles are computed from the arrays written, with plain Python loops that follow
the tile rules and the encoding — not with the generator's code. The test data are small integers, so every sum is
exact in float32 and the expectations are exact to the last bit.
"""

import base64
import math

import h5py
import numpy as np


def build_levels(values, zoom_step, length, tile_size=1024):
    """{k: (sums, nan counts)} of a per-base float64 array, as clodius aggregates them, for the
    levels a genome of ``length`` bases stores."""
    levels = {}
    current = np.asarray(values, dtype=float)
    nans = np.isnan(current).astype(float)
    k = 0
    while length / 2 ** k > tile_size:
        levels[k] = (current, nans)
        factor = 2 ** zoom_step
        padded = -(-len(current) // factor) * factor
        grouped = np.full(padded, np.nan)
        grouped[: len(current)] = current
        grouped = grouped.reshape(-1, factor)
        counts = np.zeros(padded)
        counts[: len(nans)] = nans
        empty = np.isnan(grouped).all(axis=1)
        current = np.where(empty, np.nan, np.nansum(grouped, axis=1))
        nans = counts.reshape(-1, factor).sum(axis=1)
        k += zoom_step
    return levels


def write_hitile(path, values, zoom_step=8, tile_size=1024, length=None, data_end=None, nan_counts=True,
                 max_position=True, extra_attrs=None):
    """A hitile of the per-base ``values`` (NaN = no data) over a genome of ``length`` bases
    (default: len(values)); only ``values[:data_end]`` is written. Returns the stored arrays
    ``{"values_k": float32 array, "nan_values_k": ...}`` (as read back from the file)."""
    length = len(values) if length is None else length
    data_end = len(values) if data_end is None else data_end
    max_zoom = math.ceil(math.log(length / tile_size) / math.log(2))
    with h5py.File(path, "w") as f:
        meta = f.create_dataset("meta", (1,), dtype="f")
        meta.attrs["zoom-step"] = zoom_step
        meta.attrs["max-length"] = length
        meta.attrs["tile-size"] = tile_size
        meta.attrs["max-zoom"] = max_zoom
        meta.attrs["max-width"] = tile_size * 2 ** max_zoom
        if max_position:
            meta.attrs["max-position"] = data_end
        for name, value in (extra_attrs or {}).items():
            meta.attrs[name] = value
        k = 0
        levels = build_levels(np.asarray(values[:data_end], dtype=float), zoom_step, length, tile_size)
        while length / 2 ** k > tile_size:
            size = math.ceil(length / 2 ** k)
            sums, nans = levels[k]
            dset = f.create_dataset(f"values_{k}", (size,), dtype="f", compression="gzip")
            dset[: len(sums)] = sums
            if nan_counts:
                nset = f.create_dataset(f"nan_values_{k}", (size,), dtype="f", compression="gzip")
                nset[: len(nans)] = nans
            k += zoom_step
    with h5py.File(path, "r") as f:
        return {name: f[name][:] for name in f if name != "meta"}


def signal_of(length=100_000, seed=3):
    """Integers 0..20 per base with gaps (NaN)."""
    rng = np.random.default_rng(seed)
    values = rng.integers(0, 21, size=length).astype(float)
    values[5_000:5_300] = np.nan
    values[40_000:41_500] = np.nan  # a gap wider than a zoom-7 tile: an all-NaN tile
    values[rng.random(length) < 0.01] = np.nan
    return values


# --- expectations ---------------------------------------------------------------------------


def expected_values(stored, meta, z, x):
    """The float64 list tile (z, x) must hold, from the stored arrays; our
    answers where the reference fails: tile_size NaNs past max-position, the next finer level
    where a level is not stored."""
    tile_size, zoom_step, max_zoom = meta["tile-size"], meta["zoom-step"], meta["max-zoom"]
    max_position = meta.get("max-position", tile_size * 2 ** max_zoom)
    rz = max_zoom - z
    k = zoom_step * (rz // zoom_step)
    while f"values_{k}" not in stored:  # a level not stored: the next finer one (our answer)
        k -= zoom_step
    per_value = 2 ** (rz - k)
    start = x * per_value * tile_size
    end = start + tile_size * per_value
    mp = max_position // 2 ** k
    if start > mp:
        return [math.nan] * tile_size
    block = stored[f"values_{k}"][start:end].tolist()
    if start < mp < end:
        for i in range(mp + 1, len(block)):
            block[i] = math.nan
    counts = stored.get(f"nan_values_{k}")
    counts = None if counts is None else counts[start:end].tolist()
    groups = -(-len(block) // per_value)
    sums, seen = [0.0] * groups, [False] * groups
    for i, v in enumerate(block):
        if v == v:  # not NaN
            sums[i // per_value] += v
            seen[i // per_value] = True
    out = []
    for g in range(groups):
        value = sums[g] if seen[g] else math.nan
        if counts is not None:
            missing = sum(counts[g * per_value:(g + 1) * per_value])
            bases = 2 ** rz - missing
            value = value / bases if bases else (math.nan if math.isnan(value) or value == 0 else math.copysign(math.inf, value))
        out.append(value)
    return out


def expected_tile(values):
    """The hitile encoding written out: ``{"dense", "dtype"}``."""
    values = np.asarray(values, dtype=float)
    finite = not np.isnan(values).any()
    low, high = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
    half = finite and -65504 < low < 65504 and -65504 < high < 65504
    raw = values.astype("<f2" if half else "<f4").tobytes()
    return {"dense": base64.b64encode(raw).decode("ascii"), "dtype": "float16" if half else "float32"}


def decode(tile):
    raw = base64.b64decode(tile["dense"])
    return np.frombuffer(raw, dtype="<f2" if tile["dtype"] == "float16" else "<f4").astype(float)


def meta_of(path):
    with h5py.File(path, "r") as f:
        return {name: value.item() if hasattr(value, "item") else value for name, value in f["meta"].attrs.items()}
