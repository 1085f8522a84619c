"""multivec: several rows of values along the genome, at several resolutions, in HDF5 (see docs/filetypes.md).

Layout read (what clodius' converters write)::

    /info                       attribute "tile-size"; optional scalar string dataset "row_infos" (JSON)
    /chroms/name, /chroms/length    the genome, in order
    /resolutions/<r>/values/<chrom>  2-D (bins x rows), bins of r bp; row_infos may also be an
                                     attribute of the coarsest /resolutions/<r> group (older files)

A tile ``z.x`` covers ``tile_size`` bins of ``resolutions[z]`` (coarsest first). The bins of the
chromosomes in the tile's span are concatenated with the reference's drop rule, padded with zero
rows and transposed; the answer is ``format_generic_tile`` of that ``rows x tile_size`` array, or,
with POST ``options``, of the rows aggregated group by group.

The values of a tile, and the dtype in which aggregation runs, follow the reference exactly: the
block of bins is float64 as soon as the reference would have concatenated its float64 zeros (a
piece past the genome end, even an empty one, or padding), else the datasets' own dtype.

Each file is opened once per process (``OpenFiles``); its metadata and dataset handles are kept
with it, so a tile costs one slice read per chromosome it touches.
"""

import json
import logging

import h5py
import numpy as np

from . import genome
from ..formats import hdf5
from ..formats.openfiles import OpenFiles
from .base import Generator, GeneratorError, each_tile
from .dense import format_generic_tile

logger = logging.getLogger("tilesets")

FILETYPE = "multivec"

# POST aggregation: reductions along the rows, NaN propagating, ddof 0.
AGG_FUNCTIONS = {
    "sum": np.sum,
    "mean": np.mean,
    "median": np.median,
    "std": np.std,
    "var": np.var,
    "max": np.amax,
    "min": np.amin,
}

_REQUIRED_GROUPS = ("info", "chroms", "resolutions")


def _text(value):
    """A name or label from HDF5 as text (byte strings are UTF-8)."""
    if isinstance(value, (bytes, np.bytes_)):
        return bytes(value).decode("utf-8", errors="replace")
    return str(value)


def _as_int(value, what):
    """An integral number from HDF5 (numpy scalar, 0-d or 1-element array) as a Python int."""
    array = np.asarray(value)
    if array.size != 1:
        raise GeneratorError(f"{what} is not a single number")
    item = array.reshape(-1)[0]
    if isinstance(item, (bool, np.bool_)) or not isinstance(item, (int, float, np.integer, np.floating)):
        raise GeneratorError(f"{what} is not a number")
    if isinstance(item, (float, np.floating)) and not float(item).is_integer():
        raise GeneratorError(f"{what} is not an integer ({item})")
    return int(item)


class MultivecFile:
    """An open multivec file with its metadata. Raises GeneratorError when it is not one."""

    def __init__(self, path):
        self.path = path
        with hdf5.opened(path, "multivec metadata") as self.h5:
            self._read_metadata()
        self._datasets = {}  # (resolution, chromosome index) -> (dataset, bins) or None
        self._row_infos = None
        self._row_infos_read = False

    def close(self):
        self.h5.close()

    # --- metadata ------------------------------------------------------------------------

    def _group(self, name):
        item = self.h5.get(name)
        if not isinstance(item, h5py.Group):
            missing = ", ".join(f"/{g}" for g in _REQUIRED_GROUPS if not isinstance(self.h5.get(g), h5py.Group))
            raise GeneratorError(f"no {missing} group{'s' if ',' in missing else ''}: not a multivec file")
        return item

    def _read_metadata(self):
        info, chroms, resolutions = (self._group(name) for name in _REQUIRED_GROUPS)

        if "tile-size" not in info.attrs:
            raise GeneratorError("/info has no 'tile-size' attribute")
        self.tile_size = _as_int(info.attrs["tile-size"], "the 'tile-size' attribute")
        if self.tile_size <= 0:
            raise GeneratorError(f"the 'tile-size' attribute must be positive, not {self.tile_size}")

        names, lengths = chroms.get("name"), chroms.get("length")
        if not isinstance(names, h5py.Dataset) or not isinstance(lengths, h5py.Dataset):
            raise GeneratorError("/chroms needs the datasets 'name' and 'length'")
        names, lengths = names[()], lengths[()]
        if names.ndim != 1 or lengths.ndim != 1 or len(names) != len(lengths):
            raise GeneratorError("/chroms/name and /chroms/length must be lists of the same length")
        if not len(names):
            raise GeneratorError("/chroms lists no chromosome")
        if lengths.dtype.kind not in "iu":
            raise GeneratorError("/chroms/length must hold integers")
        self.chrom_keys = [bytes(n) if isinstance(n, (bytes, np.bytes_)) else str(n) for n in names]
        self.chrom_names = [_text(n) for n in names]
        self.chrom_lengths = [int(n) for n in lengths]
        if min(self.chrom_lengths) < 0:
            raise GeneratorError("/chroms/length holds a negative length")
        self.offsets = [0]
        for length in self.chrom_lengths:
            self.offsets.append(self.offsets[-1] + length)
        self.total_length = self.offsets[-1]

        keys = list(resolutions.keys())
        if not keys:
            raise GeneratorError("/resolutions is empty")
        parsed = []
        for key in keys:
            try:
                value = int(key)
            except ValueError:
                raise GeneratorError(f"/resolutions/{key}: the group name is not a resolution (an integer)") from None
            if value <= 0:
                raise GeneratorError(f"/resolutions/{key}: resolutions must be positive")
            parsed.append((value, key))
        parsed.sort(reverse=True)  # coarsest first: zoom level z uses resolutions[z]
        self.resolutions = [value for value, _ in parsed]
        self._res_keys = dict(parsed)
        self._values = {}
        for value, key in parsed:
            group = resolutions[key]
            values = group.get("values") if isinstance(group, h5py.Group) else None
            if not isinstance(values, h5py.Group):
                raise GeneratorError(f"/resolutions/{key} has no 'values' group")
            self._values[value] = values

        # rows = 2nd dimension of the first chromosome's values at the coarsest resolution (as
        # the reference); if that chromosome is absent there, the first one present.
        coarsest = self._values[self.resolutions[0]]
        for key in self.chrom_keys:
            dataset = coarsest.get(key)
            if dataset is not None:
                break
        else:
            raise GeneratorError(f"/resolutions/{parsed[0][1]}/values has none of the chromosomes in /chroms")
        if not isinstance(dataset, h5py.Dataset) or dataset.ndim != 2:
            raise GeneratorError(f"{dataset.name} must be a 2-D dataset (bins x rows)")
        self.rows = int(dataset.shape[1])
        self._check_values(dataset)

    def _check_values(self, dataset):
        if dataset.dtype.kind not in "fiub":
            raise GeneratorError(f"{dataset.name} holds {dataset.dtype}, not numbers")
        if dataset.ndim != 2 or dataset.shape[1] != self.rows:
            raise GeneratorError(
                f"{dataset.name} has shape {tuple(dataset.shape)}; expected (bins, {self.rows})"
            )

    def check_all_values(self):
        """Every values dataset is 2-D numeric with the same number of rows (ingest only)."""
        for resolution in self.resolutions:
            values = self._values[resolution]
            present = 0
            for key in self.chrom_keys:
                dataset = values.get(key)
                if dataset is None:
                    continue  # clodius skips chromosomes absent from its input; served as NaN
                if not isinstance(dataset, h5py.Dataset):
                    raise GeneratorError(f"{values.name}/{_text(key)} is not a dataset")
                self._check_values(dataset)
                present += 1
            if not present:
                raise GeneratorError(f"{values.name} has none of the chromosomes in /chroms")

    def row_infos(self):
        """The row descriptions, or None (as clodius 0.18 gives them: the legacy attribute
        of the coarsest resolution first, as plain strings; else the JSON in /info/row_infos)."""
        if not self._row_infos_read:
            self._row_infos = self._read_row_infos()
            self._row_infos_read = True
        return self._row_infos

    def _read_row_infos(self):
        coarsest = self.h5["resolutions"][self._res_keys[self.resolutions[0]]]
        if "row_infos" in coarsest.attrs:
            value = coarsest.attrs["row_infos"]
            if isinstance(value, (str, bytes, np.bytes_)):
                return [_text(value)]
            return [_text(item) for item in np.asarray(value).reshape(-1)]
        stored = self.h5["info"].get("row_infos")
        if isinstance(stored, h5py.Dataset):
            value = stored[()]
            if isinstance(value, np.ndarray):
                if value.size != 1:
                    return [_text(item) for item in value.reshape(-1)]
                value = value.reshape(-1)[0]
            try:
                return json.loads(_text(value))
            except ValueError:
                logger.warning("%s: /info/row_infos is not JSON; left out of tileset_info", self.path)
        return None

    # --- tiles ---------------------------------------------------------------------------

    def _dataset(self, resolution, cid):
        """(dataset, number of bins) of a chromosome at a resolution, or None when absent."""
        key = (resolution, cid)
        entry = self._datasets.get(key, False)
        if entry is False:
            dataset = self._values[resolution].get(self.chrom_keys[cid])
            if dataset is None:
                entry = None
            else:
                if not isinstance(dataset, h5py.Dataset):
                    raise GeneratorError(f"{dataset.name} is not a dataset")
                self._check_values(dataset)
                entry = (dataset, int(dataset.shape[0]))
            self._datasets[key] = entry
        return entry

    def pieces(self, start, end):
        """(chromosome index, start, end) pieces of absolute [start, end) (see genome.pieces)."""
        return genome.pieces(self.offsets, self.chrom_lengths, start, end)

    def tile_array(self, zoom, x):
        """The ``rows x tile_size`` array of tile (zoom, x), as the reference builds it."""
        if zoom >= len(self.resolutions):
            raise GeneratorError(
                f"zoom level {zoom} is beyond the deepest zoom level of this tileset "
                f"({len(self.resolutions) - 1})"
            )
        resolution = self.resolutions[zoom]
        tile_size = self.tile_size
        start = x * tile_size * resolution
        n_chroms = len(self.chrom_lengths)

        blocks = []  # (dataset or None for zeros or "nan", first bin, number of rows)
        dtypes = []
        data = binned = 0  # bp covered so far, and bp covered by the bins taken so far
        for cid, s, e in self.pieces(start, start + tile_size * resolution):
            if cid >= n_chroms:  # past the genome end: zero rows (the reference's float64 zeros)
                blocks.append((None, 0, -(-(e - s) // resolution)))
                dtypes.append(np.float64)
                continue
            data += e - s
            first, last = s // resolution, -(-e // resolution)
            if first >= last:
                continue
            binned += resolution * (last - first)
            entry = self._dataset(resolution, cid)
            if entry is None:  # chromosome missing at this resolution: NaN (the reference fails)
                dataset, count, dtype = "nan", last - first, np.float64
            else:
                dataset, bins = entry
                count, dtype = max(0, min(last, bins) - first), dataset.dtype
            if binned - data > resolution:
                count = max(0, count - 1)  # the drop rule; ``binned`` stays as it is
            blocks.append((dataset, first, count))
            dtypes.append(dtype)

        total = sum(count for _, _, count in blocks)
        if total < tile_size:
            dtypes.append(np.float64)  # the reference pads with float64 zero rows
        dtype = np.result_type(*dtypes).newbyteorder("=")
        out = np.zeros((tile_size, self.rows), dtype=dtype)
        position = 0
        for dataset, first, count in blocks:
            take = min(count, tile_size - position)
            if take <= 0:
                if position >= tile_size:
                    break
                continue
            if isinstance(dataset, str):
                out[position:position + take] = np.nan
            elif dataset is not None:
                out[position:position + take] = dataset[first:first + take]
            position += take
        return out.T


def _groups(aggregation, rows):
    """The row groups of POST options as lists of ints; GeneratorError naming a bad index."""
    groups = []
    for group in aggregation:
        members = group if isinstance(group, list) else [group]
        if not members:
            raise GeneratorError("aggGroups holds an empty group")
        indexes = []
        for index in members:
            if isinstance(index, bool) or not isinstance(index, (int, float)) or int(index) != index:
                raise GeneratorError(f"aggGroups holds {index!r}, which is not a row index")
            index = int(index)
            if not -rows <= index < rows:  # negative: from the end, as numpy (and the reference)
                raise GeneratorError(
                    f"row index {index} in aggGroups is out of range: the tileset has {rows} rows "
                    f"(indexes 0 to {rows - 1})"
                )
            indexes.append(index)
        groups.append(indexes)
    return groups


def aggregate(dense, groups, function):
    """Each group of rows reduced along the rows, stacked in group order."""
    with np.errstate(all="ignore"):
        return np.array([function(dense[group], axis=0) for group in groups])


# --- the generator interface ---------------------------------------------------------------

_FILES = OpenFiles(MultivecFile, closer=MultivecFile.close, what="the file", missing="the file does not exist")


def open_multivec(path):
    return _FILES.get(path)


def validate(datafile, indexfile=None):
    """Raise GeneratorError unless ``datafile`` reads as a multivec file (opened afresh, not
    cached: at ingest the path may be a temporary upload)."""
    try:
        handle = MultivecFile(datafile)
    except FileNotFoundError:
        raise GeneratorError("the file does not exist") from None
    try:
        handle.check_all_values()
        handle.row_infos()
    finally:
        handle.close()


def tileset_info(source):
    handle = open_multivec(source.datafile)
    info = {
        "resolutions": list(handle.resolutions),
        "min_pos": [0],
        "max_pos": [handle.total_length],
        "tile_size": handle.tile_size,
        "shape": [handle.tile_size, handle.rows],
    }
    row_infos = handle.row_infos()
    if row_infos is not None:
        info["row_infos"] = list(row_infos) if isinstance(row_infos, list) else row_infos
    return info


def tiles(source, requests, options=None):
    handle = open_multivec(source.datafile)
    function = groups = None
    group_error = None
    if options and "aggGroups" in options and "aggFunc" in options:
        function = AGG_FUNCTIONS.get(options["aggFunc"])
        if function is None:
            group_error = f"unknown aggFunc {options['aggFunc']!r}"
        else:
            try:
                groups = _groups(options["aggGroups"], handle.rows)
            except GeneratorError as exc:
                group_error = str(exc)

    def make(request):
        dense = handle.tile_array(request.zoom, request.coords[0])
        if group_error is not None:
            raise GeneratorError(group_error)
        if groups is not None:
            dense = aggregate(dense, groups, function)
        return format_generic_tile(dense)

    return each_tile(requests, make, "multivec", "the data")


def chromsizes(source):
    handle = open_multivec(source.datafile)
    return list(zip(handle.chrom_names, handle.chrom_lengths))


GENERATOR = Generator(
    filetype=FILETYPE,
    validate=validate,
    tileset_info=tileset_info,
    tiles=tiles,
    chromsizes=chromsizes,
    dimensions=1,
)
