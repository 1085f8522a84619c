"""hitile: a 1-D vector summed at several resolutions, in HDF5 (see docs/filetypes.md).

Layout read (what ``clodius aggregate bedgraph`` and ``array_to_hitile`` write)::

    /meta             dataset; attributes tile-size, zoom-step, max-zoom, max-length, and
                      optionally max-position (end of the data), min-pos, max-pos
    /values_<k>       k = 0, zoom-step, 2*zoom-step, ...: one value per 2^k bases, each the sum
                      of the finer values
    /nan_values_<k>   optional: how many NaN bases each value of values_<k> covers

tileset_info is computed from the attributes as the reference view does, ``max_width`` with the
floating formula ``2 ** ceil(log(max_pos - min_pos) / log(2))`` (it can overshoot for an exact
power of two).

Tile (z, x): level ``k = zoom_step * floor((max_zoom - z) / zoom_step)``, ``a = 2^(max_zoom - z - k)``
stored values merged per output value, ``values_k[x*a*tile_size : (x+1)*a*tile_size]`` merged by
``a`` (NaN-ignoring sums; a group of only NaN is NaN; the last group padded with NaN), so a tile at
the end of the data is shorter than ``tile_size``. With ``nan_values_k`` the sums become per-base
means: ``sum / (2^(max_zoom - z) - NaN count)``. Positions past ``max-position`` are NaN with the
reference's indexing. The dtypes follow the reference step by step (a merge with padding
runs in float64, one without in the dataset's dtype), so the float16/float32 encoding of the tile is
the reference's to the last bit.

Where the reference fails (HTTP 500) we answer per tile: x > 2^z and zooms beyond ``max_zoom`` are
errors; a tile past ``max-position`` is tile_size NaNs even when its NaN counts do not line up
(the reference's broadcast error); a zoom whose level ``values_k`` is not stored (clodius leaves
out the coarsest one when ``max-zoom`` is a multiple of ``zoom-step``) is merged from the next
finer stored level.
"""

import math

import h5py
import numpy as np

from ..formats import hdf5
from ..formats.openfiles import OpenFiles
from .base import Generator, GeneratorError, each_tile
from .dense import format_hitile_tile

FILETYPE = "hitile"
_REQUIRED_ATTRS = ("tile-size", "zoom-step", "max-zoom")


def _number(value, what):
    """A single number from an HDF5 attribute (numpy scalar or 1-element array), as a Python
    int or float."""
    array = np.asarray(value)
    if array.size != 1 or array.dtype.kind not in "iuf":
        raise GeneratorError(f"the attribute {what} is not a number")
    item = array.reshape(-1)[0].item()
    if isinstance(item, float) and not math.isfinite(item):
        raise GeneratorError(f"the attribute {what} is not finite")
    return item


def merge(values, count):
    """The reference's aggregation: pad with NaN to a multiple of ``count`` (which makes the array
    float64), NaN-ignoring sums of each group, NaN for a group of only NaN."""
    values = np.asarray(values)
    if len(values) % count:
        values = np.concatenate([values, np.full(count - len(values) % count, np.nan)])
    groups = values.reshape((-1, count))
    empty = np.all(np.isnan(groups), axis=1)
    sums = np.nansum(groups, axis=1)
    if empty.any():
        if sums.dtype.kind != "f":
            sums = sums.astype(np.float64)
        sums[empty] = np.nan
    return sums


class HitileFile:
    """An open hitile file with its attributes. Raises GeneratorError when it is not one."""

    def __init__(self, path):
        self.path = path
        with hdf5.opened(path, "hitile metadata") as self.h5:
            self._read_meta()

    def close(self):
        self.h5.close()

    def _read_meta(self):
        meta = self.h5.get("meta")
        if not isinstance(meta, h5py.Dataset):
            raise GeneratorError("no /meta dataset: not a hitile file")
        attrs = meta.attrs
        missing = [name for name in _REQUIRED_ATTRS if name not in attrs]
        if "max-pos" not in attrs and "max-length" not in attrs:
            missing.append("max-length")
        if missing:
            raise GeneratorError(f"/meta lacks the attribute{'s' if len(missing) > 1 else ''} "
                                 f"{', '.join(missing)}: not a hitile file")
        numbers = {name: _number(attrs[name], name) for name in
                   (*_REQUIRED_ATTRS, "max-length", "max-position", "min-pos", "max-pos") if name in attrs}
        self.tile_size = int(numbers["tile-size"])
        self.zoom_step = int(numbers["zoom-step"])
        self.max_zoom = int(numbers["max-zoom"])
        if self.tile_size < 1 or self.zoom_step < 1 or self.max_zoom < 0:
            raise GeneratorError(f"unusable tiling: tile-size {self.tile_size}, zoom-step {self.zoom_step}, "
                                 f"max-zoom {self.max_zoom}")
        if self.max_zoom > 64:
            raise GeneratorError(f"max-zoom {self.max_zoom} is implausibly large")
        self.max_width = self.tile_size * 2 ** self.max_zoom
        self.max_position = int(numbers["max-position"]) if "max-position" in numbers else self.max_width
        # tileset_info, as the reference view computes it
        self.min_pos = numbers.get("min-pos", 0)
        self.max_pos = numbers["max-pos"] if "max-pos" in numbers else numbers["max-length"]
        span = self.max_pos - self.min_pos
        if span <= 0:
            raise GeneratorError(f"the data span is empty (min-pos {self.min_pos}, max-pos {self.max_pos})")
        self.info = {
            "min_pos": [int(self.min_pos)],
            "max_pos": [int(self.max_pos)],
            "max_width": 2 ** math.ceil(math.log(span) / math.log(2)),
            "tile_size": self.tile_size,
            "max_zoom": self.max_zoom,
        }
        self._levels = {}
        if self.level(0) is None:
            raise GeneratorError("no /values_0 dataset: not a hitile file")

    def level(self, k):
        """(values_k, nan_values_k or None), or None when values_k is not stored."""
        if k not in self._levels:
            values = self.h5.get(f"values_{k}")
            if not isinstance(values, h5py.Dataset) or values.ndim != 1 or values.dtype.kind not in "iuf":
                self._levels[k] = None
            else:
                nans = self.h5.get(f"nan_values_{k}")
                if not isinstance(nans, h5py.Dataset) or nans.ndim != 1 or nans.dtype.kind not in "iuf":
                    nans = None  # the reference would fail on an unusable one; means need counts
                self._levels[k] = (values, nans)
        return self._levels[k]

    def tile_array(self, z, x):
        if x > 2 ** z:
            raise GeneratorError(f"tile {x} is beyond the {2 ** z + 1} tiles of zoom level {z}")
        if z > self.max_zoom:
            raise GeneratorError(f"zoom level {z} is beyond this tileset's deepest level ({self.max_zoom})")
        rz = self.max_zoom - z
        k = self.zoom_step * (rz // self.zoom_step)
        level = self.level(k)
        while level is None and k > 0:
            # clodius writes no level k when 2^k >= max-length / tile-size, which happens for
            # zoom 0 whenever max-zoom is a multiple of zoom-step (the reference: HTTP 500); the
            # next finer stored level, merged further, gives the same sums
            k = max(0, k - self.zoom_step)
            level = self.level(k)
        if level is None:
            raise GeneratorError(f"zoom level {z} needs a values_<k> dataset with k <= {rz}; the file has none")
        count = 2 ** (rz - k)
        start = x * count * self.tile_size
        end = start + self.tile_size * count
        max_position = int(self.max_position / 2 ** k)
        if start > max_position:
            # after the data: tile_size NaNs (also where the reference's NaN counts do not line up)
            return np.full(self.tile_size, np.nan)
        values, nans = level
        block = values[start:end]
        if start < max_position < end:
            if block.dtype.kind != "f" and max_position + 1 < len(block):
                block = block.astype(np.float64)
            block[max_position + 1:] = np.nan  # index into the slice, as the reference does
        sums = merge(block, count)
        if nans is None:
            return sums
        counts = merge(nans[start:end], count)
        bases = np.full(len(counts), float(2 ** rz)) - counts
        if len(sums) != len(counts) and len(counts) != 1 and len(sums) != 1:
            raise GeneratorError(f"values_{k} and nan_values_{k} do not line up")
        with np.errstate(divide="ignore", invalid="ignore"):
            return sums / bases


_FILES = OpenFiles(HitileFile, closer=HitileFile.close, what="the file", missing="the file does not exist")
open_hitile = _FILES.get


def validate(datafile, indexfile=None):
    """Raise GeneratorError unless ``datafile`` reads as a hitile file (opened afresh, not cached:
    at ingest the path may be a temporary upload)."""
    try:
        handle = HitileFile(datafile)
    except FileNotFoundError:
        raise GeneratorError("the file does not exist") from None
    handle.close()


def tileset_info(source):
    return dict(open_hitile(source.datafile).info)


def tiles(source, requests, options=None):
    handle = open_hitile(source.datafile)
    return each_tile(requests, lambda r: format_hitile_tile(handle.tile_array(r.zoom, r.coords[0])), "hitile")


GENERATOR = Generator(
    filetype=FILETYPE,
    validate=validate,
    tileset_info=tileset_info,
    tiles=tiles,
    dimensions=1,
)
