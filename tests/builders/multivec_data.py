"""Multivec test data: HDF5 files in the multivec layout, and the expected tiles.

Nothing here uses the server's code. The expected tiles are computed from the in-memory
resolution arrays, which are built from the base-resolution arrays the way clodius builds them
(pairwise sums; an odd-length level repeats its last bin before pairing), following the
reference's tile assembly, aggregation and JSON encoding step by step.
"""

import base64
import json
import math

import h5py
import numpy as np


def next_level(values):
    """One level coarser: sums of adjacent bins, the last bin repeated when the count is odd."""
    values = np.asarray(values)
    if len(values) % 2:
        values = np.concatenate([values, values[-1:]])
    return values[0::2] + values[1::2]


def build_levels(base, chromsizes, base_resolution, tile_size):
    """{resolution: {chrom: array}} from {chrom: base array}, until the genome fits one tile."""
    total = sum(length for _, length in chromsizes)
    doublings = max(0, math.ceil(math.log2(total / (tile_size * base_resolution))))
    levels = {base_resolution: {name: np.asarray(base[name]) for name, _ in chromsizes}}
    resolution = base_resolution
    for _ in range(doublings):
        coarser = {name: next_level(values) for name, values in levels[resolution].items()}
        resolution *= 2
        levels[resolution] = coarser
    return levels


def write_multivec(path, chromsizes, levels, tile_size, row_infos=None, legacy_row_infos=None, omit=()):
    """Write the multivec layout. ``row_infos`` goes to /info/row_infos (JSON text);
    ``legacy_row_infos`` (a list of strings) to the attribute of every resolution group, as
    older clodius did. ``omit``: (resolution, chrom) pairs left out, as clodius does for
    chromosomes missing from its input."""
    names = np.array([name for name, _ in chromsizes], dtype="S")
    lengths = np.array([length for _, length in chromsizes], dtype=np.int64)
    with h5py.File(path, "w") as f:
        info = f.create_group("info")
        info.attrs["tile-size"] = tile_size
        if row_infos is not None:
            info.create_dataset("row_infos", data=json.dumps(row_infos))
        f.create_group("chroms")
        f["chroms"].create_dataset("name", data=names)
        f["chroms"].create_dataset("length", data=lengths)
        for resolution, arrays in levels.items():
            group = f.create_group(f"resolutions/{resolution}")
            if legacy_row_infos is not None:
                group.attrs.create("row_infos", np.array(legacy_row_infos, dtype="S"))
            group.create_group("chroms")
            group["chroms"].create_dataset("name", data=names)
            group["chroms"].create_dataset("length", data=lengths)
            values = group.create_group("values")
            for name, _ in chromsizes:
                if (resolution, name) not in omit:
                    values.create_dataset(name, data=arrays[name], compression="gzip", chunks=True)
    return path


# --- the reference, spelled out --------------------------------------------------------------


def split_range(chromsizes, start, end):
    """(chromosome index, start, end) pieces of the absolute range [start, end), as the
    reference cuts it (positive chromosome lengths assumed): a chromosome starting exactly at
    ``end`` still gives an empty piece, and the part from the genome end on is one piece with
    index ``len(chromsizes)`` and coordinates relative to the genome end (empty when ``end`` is
    the genome end)."""
    pieces, offset = [], 0
    for cid, (_, length) in enumerate(chromsizes):
        if offset + length > start and offset <= end:
            pieces.append((cid, max(start - offset, 0), min(end - offset, length)))
        offset += length
    if end >= offset:
        pieces.append((len(chromsizes), max(start - offset, 0), end - offset))
    return pieces


def expected_array(levels, chromsizes, tile_size, zoom, x, rows):
    """The ``rows x tile_size`` array the reference builds for tile (zoom, x), with its dtype."""
    resolutions = sorted(levels, reverse=True)
    resolution = resolutions[zoom]
    start = x * tile_size * resolution
    end = start + tile_size * resolution
    blocks = []
    data = binned = 0
    for cid, s, e in split_range(chromsizes, start, end):
        if cid == len(chromsizes):
            blocks.append(np.zeros((math.ceil((e - s) / resolution), rows)))
            continue
        data += e - s
        first, last = math.floor(s / resolution), math.ceil(e / resolution)
        if first >= last:
            continue
        block = levels[resolution][chromsizes[cid][0]][first:last]
        binned += resolution * (last - first)
        if binned - data > resolution:
            block = block[:-1]
        blocks.append(block)
    dense = np.concatenate(blocks)[:tile_size]
    if len(dense) < tile_size:
        dense = np.vstack([dense, np.zeros((tile_size - len(dense), rows))])
    return dense.T


REDUCTIONS = {
    "sum": lambda a: np.sum(a, axis=0),
    "mean": lambda a: np.mean(a, axis=0),
    "median": lambda a: np.median(a, axis=0),
    "std": lambda a: np.std(a, axis=0),
    "var": lambda a: np.var(a, axis=0),
    "max": lambda a: np.max(a, axis=0),
    "min": lambda a: np.min(a, axis=0),
}


def expected_aggregate(dense, groups, func):
    with np.errstate(all="ignore"):
        return np.array([REDUCTIONS[func](dense[g if isinstance(g, list) else [g]]) for g in groups])


def encode(dense):
    """The reference's JSON value for a multivec tile array."""
    flat = dense.reshape(-1)
    has_nan = any(np.isnan(v) for v in flat)
    high, low = (max(flat), min(flat)) if len(dense) else (0, 0)
    half = not has_nan and -65504 < low < 65504 and -65504 < high < 65504
    dtype = "float16" if half else "float32"
    return {
        "dense": base64.b64encode(flat.astype(dtype).tobytes()).decode("ascii"),
        "dtype": dtype,
        "shape": list(dense.shape),
    }


def decode(tile):
    """A tile's values as the HiGlass client reads them (float16 or float32, little-endian)."""
    raw = base64.b64decode(tile["dense"])
    values = np.frombuffer(raw, dtype="<f2" if tile["dtype"] == "float16" else "<f4")
    return values.astype(np.float64).reshape(tile["shape"])
