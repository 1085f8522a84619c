"""cooler: Hi-C contact matrices (tiles.md §4).

Three layouts are served:

* multi-resolution ``.mcool`` — one cooler per resolution under ``resolutions/<bp>``;
* legacy multi-zoom ``.cool`` — root attribute ``max-zoom`` = N, coolers in groups ``"0"`` … ``"N"``;
* single-resolution ``.cool`` — the root is a cooler. The reference cannot serve it (HTTP 500);
  here it is a one-level tileset described like a multi-resolution one (``resolutions: [r]``).

Tiles are 256×256 cells; the value at ``[row, col]`` comes from the stored pixel whose bin2 (y)
starts in the row and whose bin1 (x) starts in the column, in absolute genome coordinates.

The hot path reads HDF5 directly (no pandas, no cooler API): the rows of a tile are found with
``indexes/bin1_offset``, only their ``bin2_id``/``count`` ranges are read (in bounded blocks), and
bin positions are computed from the chromosome offsets (fixed-size bins) instead of being read.
Open files and per-resolution metadata are cached per process; index and weight vectors are kept
in a byte-bounded LRU, and very large ones are read in slices instead.
"""

import bisect
import copy
import itertools
import logging
import os
import threading
import weakref
from collections import OrderedDict

import h5py
import numpy as np

from .base import Generator, GeneratorError
from .dense import format_dense_tile
from .files import OpenFiles

logger = logging.getLogger(__name__)

TILE_SIZE = 256
# Transform columns in the order they are listed in tileset_info.
TRANSFORMS = ("weight", "KR", "VC", "VC_SQRT")
DESCRIPTIONS = {
    "weight": {"name": "ICE", "value": "weight"},
    "KR": {"name": "KR", "value": "KR"},
    "VC": {"name": "VC", "value": "VC"},
    "VC_SQRT": {"name": "VC_SQRT", "value": "VC_SQRT"},
}
DIVIDING = frozenset(("KR", "VC", "VC_SQRT"))  # count ÷ v1 ÷ v2; ICE ``weight`` multiplies
COOLER_DATASETS = (
    "chroms/name", "chroms/length", "bins/chrom", "bins/start",
    "pixels/bin1_id", "pixels/bin2_id", "pixels/count", "indexes/bin1_offset",
)

# Memory bounds. A vector (bin1_offset, a weight column) up to ARRAY_MAX_BYTES is loaded whole
# and kept in a process-wide LRU of ARRAY_CACHE_BYTES; bigger ones are read in slices. Pixels are
# read at most READ_BLOCK at a time, keeping only those of the requested tiles.
ARRAY_CACHE_BYTES = 512 * 2**20
ARRAY_MAX_BYTES = 64 * 2**20
READ_BLOCK = 1 << 21
HDF5_CHUNK_CACHE = 8 * 2**20  # per dataset; pixel chunks are shared by neighbouring tiles

_TOKENS = itertools.count(1)
_NO_CELLS = np.zeros(0, dtype=np.int64)


# --- caches --------------------------------------------------------------------------------


class _ArrayCache:
    """A thread-safe LRU of numpy arrays bounded by their total size in bytes."""

    def __init__(self, max_bytes):
        self.max_bytes = max_bytes
        self._items = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key, load):
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
                return value
        value = load()
        with self._lock:
            if key in self._items:
                return self._items[key]
            self._items[key] = value
            self._bytes += value.nbytes
            while self._bytes > self.max_bytes and len(self._items) > 1:
                _, dropped = self._items.popitem(last=False)
                self._bytes -= dropped.nbytes
        return value

    def clear(self):
        with self._lock:
            self._items.clear()
            self._bytes = 0


_ARRAYS = _ArrayCache(ARRAY_CACHE_BYTES)


def _text(value):
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return value.decode("latin-1")
    return str(value)


def _is_cooler(group):
    return isinstance(group, h5py.Group) and all(name in group for name in COOLER_DATASETS)


def _missing(group):
    return [name for name in COOLER_DATASETS if name not in group]


class _Level:
    """One cooler group (one zoom level) with the metadata the tiles need.

    ``resolution`` is the tile geometry (bp per cell) for this zoom level; the bins are the
    group's own.
    """

    def __init__(self, token, group, resolution):
        self.group = group
        self.resolution = int(resolution)
        self.key = (token, group.name)
        self._datasets = {}
        names, lengths = _read_chroms(group)
        self.chrom_names = names
        self.chrom_lengths = lengths
        self.off = np.array([0] + list(itertools.accumulate(lengths)), dtype=np.int64)
        self.off_list = [int(v) for v in self.off]
        self.length = self.off_list[-1]
        self.nbins = int(group["bins/start"].shape[0])
        offsets = self.dataset("indexes/bin1_offset")
        if offsets.shape != (self.nbins + 1,):
            raise GeneratorError(
                f"{group.name}: indexes/bin1_offset has {offsets.shape[0]} entries for {self.nbins} bins"
            )
        npixels = self.dataset("pixels/bin2_id").shape[0]
        if self.dataset("pixels/count").shape[0] != npixels:
            raise GeneratorError(f"{group.name}: pixels/bin2_id and pixels/count differ in length")
        self.columns = frozenset(group["bins"].keys())

        if "indexes/chrom_offset" in group:
            chrom_offset = np.asarray(group["indexes/chrom_offset"][:], dtype=np.int64)
        else:
            chroms = np.asarray(group["bins/chrom"][:], dtype=np.int64)
            chrom_offset = np.searchsorted(chroms, np.arange(len(names) + 1), "left").astype(np.int64)
        if chrom_offset.shape != (len(names) + 1,) or chrom_offset[-1] != self.nbins:
            raise GeneratorError(f"{group.name}: indexes/chrom_offset does not match the chromosomes and bins")
        self.cbo = chrom_offset
        self.cbo_list = [int(v) for v in chrom_offset]

        binsize = group.attrs.get("bin-size")
        uniform = isinstance(binsize, (int, np.integer)) and int(binsize) > 0
        if uniform:
            binsize = int(binsize)
            expected = [-(-n // binsize) for n in lengths]
            uniform = list(np.diff(chrom_offset)) == expected
        self.binsize = binsize if uniform else None
        # Bins of unequal size (or not laid out as cooler lays out fixed bins): absolute starts read once.
        self.gstart = None
        if not uniform:
            chroms = np.asarray(group["bins/chrom"][:], dtype=np.int64)
            starts = np.asarray(group["bins/start"][:], dtype=np.int64)
            self.gstart = self.off[chroms] + starts
            if self.gstart.size > 1 and np.any(np.diff(self.gstart) <= 0):
                raise GeneratorError(f"{group.name}: the bins are not sorted by genome position")

    def dataset(self, name):
        ds = self._datasets.get(name)
        if ds is None:
            ds = self._datasets[name] = self.group[name]
        return ds

    def vector(self, name, lo, hi):
        """``name[lo:hi]`` from the cached whole vector, or read from the file for big ones."""
        ds = self.dataset(name)
        if ds.size * ds.dtype.itemsize <= ARRAY_MAX_BYTES:
            return _ARRAYS.get(self.key + (name,), lambda: ds[:])[lo:hi]
        return ds[lo:hi]

    def first_bin(self, pos):
        """Index of the first bin whose absolute start is ≥ pos (nbins past the genome)."""
        if pos <= 0:
            return 0
        if pos >= self.length:
            return self.nbins
        if self.gstart is not None:
            return int(np.searchsorted(self.gstart, pos, "left"))
        chrom = bisect.bisect_right(self.off_list, pos) - 1
        rel = pos - self.off_list[chrom]
        first, count = self.cbo_list[chrom], self.cbo_list[chrom + 1] - self.cbo_list[chrom]
        return first + min(-(-rel // self.binsize), count)

    def may_share_cells(self, lo, hi):
        """Whether two of the bins lo … hi-1 can start in one cell of the tile grid: only across a
        chromosome boundary for fixed-size bins; always possible for bins read from the file."""
        if self.gstart is not None or self.binsize < self.resolution:
            return True
        return hi - lo > 1 and bisect.bisect_right(self.cbo_list, lo) != bisect.bisect_right(self.cbo_list, hi - 1)

    def starts(self, lo, hi):
        """Absolute start positions of bins lo … hi-1."""
        if self.gstart is not None:
            return self.gstart[lo:hi]
        bins = np.arange(lo, hi, dtype=np.int64)
        chrom = np.searchsorted(self.cbo, bins, "right") - 1
        return self.off[chrom] + (bins - self.cbo[chrom]) * self.binsize


def _read_chroms(group):
    names = [_text(n) for n in group["chroms/name"][:]]
    lengths = [int(n) for n in group["chroms/length"][:]]
    if len(names) != len(lengths):
        raise GeneratorError(f"{group.name}: chroms/name and chroms/length differ in length")
    return names, lengths


def _storage_square(group):
    return _text(group.attrs.get("storage-mode", "")) == "square"


class _CoolerFile:
    """An open cooler file: its layout, zoom levels (coarsest first) and lazily built metadata."""

    def __init__(self, path):
        if not os.path.isfile(path):
            raise GeneratorError("the file does not exist")
        if not h5py.is_hdf5(path):
            raise GeneratorError("not an HDF5 file (cooler files are HDF5)")
        try:
            self.h5 = h5py.File(path, "r", rdcc_nbytes=HDF5_CHUNK_CACHE, rdcc_nslots=10007)
        except OSError as exc:
            raise GeneratorError(f"cannot open the HDF5 file: {exc}") from None
        try:
            self._classify()
        except GeneratorError:
            self.h5.close()
            raise
        except Exception as exc:
            self.h5.close()
            raise GeneratorError(f"unreadable cooler file: {exc}") from None
        self.token = next(_TOKENS)
        self.identity = None
        self._lock = threading.Lock()
        self._levels = {}
        self._info = None

    def _classify(self):
        h5 = self.h5
        if "resolutions" in h5:
            group = h5["resolutions"]
            if not isinstance(group, h5py.Group) or not len(group):
                raise GeneratorError("the resolutions group is empty")
            by_resolution = {}
            for name in group.keys():
                if not name.isdigit() or int(name) <= 0:
                    raise GeneratorError(f"resolutions/{name} is not a resolution in bp")
                if not _is_cooler(group[name]):
                    missing = ", ".join(_missing(group[name]))
                    raise GeneratorError(f"resolutions/{name} is not a cooler (missing {missing})")
                by_resolution[int(name)] = group[name]
            self.layout = "multires"
            self.resolutions = sorted(by_resolution)
            self.levels = [(r, by_resolution[r]) for r in sorted(by_resolution, reverse=True)]
            self.info_group = group[list(group.keys())[0]]  # first in HDF5 order, as the reference
        elif "max-zoom" in h5.attrs:
            try:
                max_zoom = int(h5.attrs["max-zoom"])
            except (TypeError, ValueError):
                raise GeneratorError("the max-zoom attribute is not an integer") from None
            if max_zoom < 0:
                raise GeneratorError("the max-zoom attribute is negative")
            groups = []
            for zoom in range(max_zoom + 1):
                if str(zoom) not in h5 or not _is_cooler(h5[str(zoom)]):
                    raise GeneratorError(f"max-zoom is {max_zoom} but group {zoom} is not a cooler")
                groups.append(h5[str(zoom)])
            binsize = groups[-1].attrs.get("bin-size")
            if not isinstance(binsize, (int, np.integer)) or int(binsize) <= 0:
                raise GeneratorError(f"group {max_zoom} has no bin-size attribute")
            self.layout = "legacy"
            self.max_zoom = max_zoom
            self.max_width = int(binsize) * TILE_SIZE * 2**max_zoom
            # Zoom z covers max_width / 2^z with 256 cells: bin-size(N) × 2^(N−z) bp per cell.
            self.levels = [(int(binsize) * 2 ** (max_zoom - z), groups[z]) for z in range(max_zoom + 1)]
            self.info_group = groups[0]
        elif _is_cooler(h5["/"]):
            binsize = h5.attrs.get("bin-size")
            if not isinstance(binsize, (int, np.integer)) or int(binsize) <= 0:
                raise GeneratorError("a single-resolution cooler with bins of varying size is not supported")
            self.layout = "single"
            self.resolutions = [int(binsize)]
            self.levels = [(int(binsize), h5["/"])]
            self.info_group = h5["/"]
        else:
            raise GeneratorError(
                "an HDF5 file without cooler data (no resolutions/<bp> groups, no max-zoom attribute, "
                "no chroms/bins/pixels at the root)"
            )

    def close(self):
        if self.h5.id.valid:
            self.h5.close()

    def level(self, zoom):
        level = self._levels.get(zoom)
        if level is None:
            with self._lock:
                level = self._levels.get(zoom)
                if level is None:
                    resolution, group = self.levels[zoom]
                    level = self._levels[zoom] = _Level(self.token, group, resolution)
        return level

    def info(self):
        if self._info is None:
            with self._lock:
                if self._info is None:
                    self._info = self._make_info()
        return self._info

    def _make_info(self):
        names, lengths = _read_chroms(self.info_group)
        total = sum(lengths)
        chromsizes = [[name, length] for name, length in zip(names, lengths)]
        if self.layout == "legacy":
            transforms = []  # union over groups 0 … N-1, in order of first appearance
            for _, group in self.levels[:-1]:
                for name in TRANSFORMS:
                    if name in group["bins"] and name not in transforms:
                        transforms.append(name)
            info = {
                "min_pos": [0, 0],
                "max_pos": [total, total],
                "max_zoom": self.max_zoom,
                "max_width": self.max_width,
                "bins_per_dimension": TILE_SIZE,
                "transforms": [dict(DESCRIPTIONS[t]) for t in transforms],
                "chromsizes": chromsizes,
            }
            symmetric = self.info_group.attrs.get("symmetric")
            if (symmetric is not None and not symmetric) or _storage_square(self.info_group):
                info["mirror_tiles"] = "false"
            return info
        # multires and single: a transform is offered when every resolution has its column
        transforms = [t for t in TRANSFORMS if all(t in group["bins"] for _, group in self.levels)]
        info = {
            "resolutions": list(self.resolutions),
            "transforms": [dict(DESCRIPTIONS[t]) for t in transforms],
            "max_pos": [total, total],
            "min_pos": [1, 1],
            "chromsizes": chromsizes,
        }
        if _storage_square(self.info_group):
            info["mirror_tiles"] = "false"
        return info


_LATEST = weakref.WeakValueDictionary()  # real path -> the live _CoolerFile opened last for it
_LATEST_LOCK = threading.Lock()


def _identity(path):
    stat = os.stat(path)
    return stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns


def _open_cached(path):
    """OpenFiles' opener. HDF5 shares one open file (and its metadata cache) between handles of
    the same inode, so a file overwritten in place would be read through the stale metadata of a
    handle still open: such a handle is closed before the file is opened again. A handle only
    evicted from OpenFiles (file unchanged) is reused."""
    real, identity = os.path.realpath(path), _identity(path)
    with _LATEST_LOCK:
        previous = _LATEST.get(real)
    if previous is not None:
        if previous.identity == identity and previous.h5.id.valid:
            return previous
        if previous.identity[:2] == identity[:2]:  # same inode, new content
            previous.close()
    opened = _CoolerFile(path)
    opened.identity = identity
    with _LATEST_LOCK:
        _LATEST[real] = opened
    return opened


_FILES = OpenFiles(_open_cached)


def _open(path):
    try:
        return _FILES.get(path)
    except GeneratorError:
        raise
    except FileNotFoundError:
        raise GeneratorError("the file does not exist") from None
    except OSError as exc:
        raise GeneratorError(f"cannot open the file: {exc.strerror or exc}") from None


# --- the generator functions ---------------------------------------------------------------


def validate(datafile, indexfile=None):
    """Open the file as a cooler and read every level's metadata; GeneratorError if it fails."""
    cooler_file = _CoolerFile(datafile)  # not cached: the path may be a temporary upload
    try:
        cooler_file.info()
        for zoom in range(len(cooler_file.levels)):
            cooler_file.level(zoom)
    except GeneratorError:
        raise
    except Exception as exc:
        raise GeneratorError(f"unreadable cooler file: {exc}") from None
    finally:
        cooler_file.close()


def tileset_info(source):
    cooler_file = _open(source.datafile)
    try:
        return copy.deepcopy(cooler_file.info())
    except GeneratorError:
        raise
    except Exception as exc:
        raise GeneratorError(f"unreadable cooler file: {exc}") from None


def chromsizes(source):
    cooler_file = _open(source.datafile)
    return [tuple(row) for row in cooler_file.info()["chromsizes"]]


class _TileError(Exception):
    pass


def tiles(source, requests, options=None):
    """``{tile id: tile}`` for the 2-D requests ``uid.z.x.y[.transform]``.

    A zoom level past the finest resolution, or a position past ``max_pos``, leaves the tile
    out. A transform the file lacks gives ``{"error": ...}`` for that tile only.
    """
    cooler_file = _open(source.datafile)
    try:
        genome = cooler_file.info()["max_pos"][0]
    except GeneratorError:
        raise
    except Exception as exc:
        raise GeneratorError(f"unreadable cooler file: {exc}") from None
    nlevels = len(cooler_file.levels)

    wanted = []  # (request, zoom, x, y, transform)
    for request in requests:
        x, y = request.coords
        zoom = request.zoom
        if zoom >= nlevels:
            continue  # reference: absent (zoom > levels) or HTTP 500 (zoom == levels)
        transform = request.extra[0] if request.extra else "default"
        wanted.append((request, zoom, x, y, transform))

    empty_read = _empty_reads(cooler_file, wanted, genome)

    by_column = OrderedDict()  # (zoom, x) -> [(request, y, transform, empty)]
    for request, zoom, x, y, transform in wanted:
        if x > genome or y > genome:
            continue  # the reference drops positions ≥ max_pos + 1
        by_column.setdefault((zoom, x), []).append((request, y, transform, empty_read(zoom, transform, x, y)))

    answer = {}
    for (zoom, x), items in by_column.items():
        try:
            answer.update(_column_tiles(cooler_file.level(zoom), x, items))
        except Exception as exc:  # one column of tiles fails, the rest of the batch is served
            if not isinstance(exc, (GeneratorError, OSError, KeyError, ValueError)):
                logger.exception("cooler tiles failed for %s", [item[0].id for item in items])
            message = f"Unable to make this tile: {exc}"
            answer.update({item[0].id: {"error": message} for item in items})
    return answer


def _empty_reads(cooler_file, wanted, genome):
    """A function (zoom, transform, x, y) -> whether the reference reads no pixels at all for the
    tile (then NaN marking applies to every transform, tiles.md §4.6 step 2).

    The reference decides this per group of adjacent tiles (same zoom and transform, positions
    within 1 of each other, clodius' greedy partition) from the group's lowest x and lowest y. That
    only matters for a tile starting past the genome end, so the partition is computed only when
    such a tile is requested.
    """

    def past_end(zoom, x, y):
        try:
            level = cooler_file.level(zoom)
        except Exception:
            return False  # reported per tile when the tile is made
        width = TILE_SIZE * level.resolution
        return x * width >= level.length or y * width >= level.length

    if not any(past_end(zoom, x, y) for _, zoom, x, y, _ in wanted):
        return lambda zoom, transform, x, y: False

    positions = OrderedDict()
    for _, zoom, x, y, transform in wanted:
        positions.setdefault((zoom, transform), set()).add((x, y))
    corner = {}
    for (zoom, transform), points in positions.items():
        for group in _partition(points):
            kept = [(x, y) for x, y in group if x <= genome and y <= genome]
            if not kept:
                continue
            low = (min(x for x, _ in kept), min(y for _, y in kept))
            for point in kept:
                corner[(zoom, transform) + point] = low
    return lambda zoom, transform, x, y: past_end(zoom, *corner[(zoom, transform, x, y)])


def _partition(points):
    """clodius' grouping: in (x, y) order, each tile joins the first group holding a tile within 1
    in both x and y, else starts a new group."""
    groups = []
    for point in sorted(points):
        for group in groups:
            if any(abs(point[0] - q[0]) <= 1 and abs(point[1] - q[1]) <= 1 for q in group):
                group.append(point)
                break
        else:
            groups.append([point])
    return groups


def _merge(ranges):
    merged = []
    for lo, hi in sorted(r for r in ranges if r[0] < r[1]):
        if merged and lo <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    return merged


def _read_pixels(level, a1, b1, ranges):
    """Stored pixels with a1 ≤ bin1 < b1 and bin2 in one of ``ranges``, in pixel-table order, as
    (bin1 − a1, bin2, count) arrays."""
    ranges = _merge(ranges)
    empty = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, level.dataset("pixels/count").dtype))
    if a1 >= b1 or not ranges:
        return empty
    offsets = np.asarray(level.vector("indexes/bin1_offset", a1, b1 + 1), dtype=np.int64)
    start, stop = int(offsets[0]), int(offsets[-1])
    bin2_ds, count_ds = level.dataset("pixels/bin2_id"), level.dataset("pixels/count")
    parts = []
    for block in range(start, stop, READ_BLOCK):
        end = min(stop, block + READ_BLOCK)
        bin2 = bin2_ds[block:end]
        mask = None
        for lo, hi in ranges:
            inside = (bin2 >= lo) & (bin2 < hi)
            mask = inside if mask is None else mask | inside
        index = np.flatnonzero(mask)
        if not index.size:
            continue
        first, last = int(index[0]), int(index[-1])
        counts = count_ds[block + first : block + last + 1][index - first]
        rows = _rows_of(offsets, block, end)[index]
        parts.append((rows, bin2[index].astype(np.int64, copy=False), counts))
    if not parts:
        return empty
    if len(parts) == 1:
        return parts[0]
    return tuple(np.concatenate(column) for column in zip(*parts))


def _rows_of(offsets, block, end):
    """For each pixel block … end-1, its row: the index r with offsets[r] ≤ pixel < offsets[r+1]."""
    first = int(np.searchsorted(offsets, block, "right")) - 1
    last = int(np.searchsorted(offsets, end - 1, "right")) - 1
    sizes = np.diff(np.clip(offsets[first : last + 2], block, end))
    return np.repeat(np.arange(first, last + 1), sizes)


def _transform_column(transform, columns):
    """(column, divide) for a balanced transform, (None, False) for raw counts; raises _TileError
    when the file lacks the requested column."""
    if transform == "weight" or (transform == "default" and "weight" in columns):
        column, divide = "weight", False
    elif transform in DIVIDING:
        column, divide = transform, True
    else:
        return None, False
    if column not in columns:
        raise _TileError(f"the transform {transform!r} is not available at this resolution (no bins/{column} column)")
    return column, divide


def _past_end(length, start, end, resolution):
    """Cells [first, last) of the tile span [start, end) that hold the positions length,
    length + r, … (< end): from the cell containing the genome end onwards."""
    if length >= end:
        return None
    steps = 0 if length >= start else -(-(start - length) // resolution)
    position = length + steps * resolution
    if position >= end:
        return None
    first = (position - start) // resolution
    return first, first + -(-(end - position) // resolution)


def _column_tiles(level, x, items):
    """The tiles (same zoom level and x) in ``items`` = [(request, y, transform, empty_read)]."""
    resolution = level.resolution
    width = TILE_SIZE * resolution
    x_start, x_end = x * width, (x + 1) * width
    a1, b1 = level.first_bin(x_start), level.first_bin(x_end)
    col_of_bin = (level.starts(a1, b1) - x_start) // resolution
    col_repeats = level.may_share_cells(a1, b1) and _repeats(col_of_bin)

    spans = {}
    for _, y, _, empty in items:
        if not empty and y not in spans:
            spans[y] = (level.first_bin(y * width), level.first_bin((y + 1) * width))
    rows, bin2, counts = _read_pixels(level, a1, b1, list(spans.values()))
    single_span = len(spans) == 1
    x_past_end = _past_end(level.length, x_start, x_end, resolution)
    column_weights = {}  # transform column -> (its values for the x bins, NaN columns)

    answer = {}
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for request, y, transform, empty in items:
            y_start, y_end = y * width, (y + 1) * width
            out = np.zeros((TILE_SIZE, TILE_SIZE), dtype=np.float32)
            if empty:
                nan_cols = nan_rows = _NO_CELLS
            else:
                try:
                    column, divide = _transform_column(transform, level.columns)
                except _TileError as exc:
                    answer[request.id] = {"error": f"Unable to make this tile: {exc}"}
                    continue
                a2, b2 = spans[y]
                row_of_bin = (level.starts(a2, b2) - y_start) // resolution
                if single_span:
                    t_rows, t_bin2, t_counts = rows, bin2, counts
                else:
                    keep = (bin2 >= a2) & (bin2 < b2)
                    t_rows, t_bin2, t_counts = rows[keep], bin2[keep], counts[keep]
                local2 = t_bin2 - a2
                if column is None:
                    values = t_counts if t_counts.dtype.kind in "iub" else _nan_to_zero(t_counts.copy())
                else:
                    if column not in column_weights:
                        v1 = level.vector("bins/" + column, a1, b1)
                        column_weights[column] = (v1, col_of_bin[np.isnan(v1)])
                    v1, nan_cols = column_weights[column]
                    v2 = level.vector("bins/" + column, a2, b2)
                    if divide:
                        values = t_counts / v1[t_rows] / v2[local2]
                    else:
                        values = t_counts * v1[t_rows] * v2[local2]
                    values = _nan_to_zero(values)
                    nan_rows = row_of_bin[np.isnan(v2)]
                flat = row_of_bin[local2] * TILE_SIZE + col_of_bin[t_rows]
                if col_repeats or (level.may_share_cells(a2, b2) and _repeats(row_of_bin)):
                    # Chromosome boundaries: two bins in one cell; the later pixel in table order wins.
                    _, last = np.unique(flat[::-1], return_index=True)
                    keep = flat.size - 1 - last
                    flat, values = flat[keep], values[keep]
                out.reshape(-1)[flat] = values  # float64 beyond float32's range becomes ±inf
                if column is None:
                    answer[request.id] = format_dense_tile(out.reshape(-1))
                    continue
            out[:, nan_cols] = np.nan
            out[nan_rows, :] = np.nan
            if x_past_end:
                out[:, x_past_end[0] : x_past_end[1]] = np.nan
            cells = _past_end(level.length, y_start, y_end, resolution)
            if cells:
                out[cells[0] : cells[1], :] = np.nan
            answer[request.id] = format_dense_tile(out.reshape(-1))
    return answer


def _repeats(cells):
    """Whether two consecutive bins fall in the same cell."""
    return bool(cells.size > 1 and np.any(cells[1:] == cells[:-1]))


def _nan_to_zero(values):
    """numpy's nan_to_num, in place on a fresh array. For float64 only NaN needs replacing: the
    ±max-float64 that nan_to_num gives ±inf becomes ±inf again in the float32 tile. Narrower
    floats (float32 counts or weights) keep nan_to_num's ±max of their own type."""
    if values.dtype == np.float64:
        values[np.isnan(values)] = 0
        return values
    return np.nan_to_num(values, copy=False)


GENERATOR = Generator(
    filetype="cooler",
    validate=validate,
    tileset_info=tileset_info,
    tiles=tiles,
    chromsizes=chromsizes,
    dimensions=2,
)
