"""An open cooler file: its layout, zoom levels and the metadata its tiles need (no tiles here).

Three layouts are served:

* multi-resolution ``.mcool`` — one cooler per resolution under ``resolutions/<bp>``;
* legacy multi-zoom ``.cool`` — root attribute ``max-zoom`` = N, coolers in groups ``"0"`` … ``"N"``;
* single-resolution ``.cool`` — the root is a cooler. The reference cannot serve it (HTTP 500);
  here it is a one-level tileset described like a multi-resolution one (``resolutions: [r]``).

Bin positions are computed from the chromosome offsets (fixed-size bins) instead of being read.
Open files and per-resolution metadata are cached per process; index and weight vectors are kept
in a byte-bounded cache of whole vectors (:class:`tilesets.formats.hdf5.VectorCache`), very large
ones being read in slices instead.

Opening a file reads only its layout; a level is read and checked when first used, and
tileset_info reads one group's chromosomes and every level's bin columns. That keeps a remote
file's first tiles to few requests, together with two fetches ahead (``TAIL_BYTES``,
:meth:`CoolerFile._fetch_level_heads`).
"""

import bisect
import itertools
import threading

import h5py
import numpy as np

from ..formats import access, hdf5
from ..formats.openfiles import OpenFiles
from .base import GeneratorError

TILE_SIZE = 256
# Transform columns in the order they are listed in tileset_info.
TRANSFORMS = ("weight", "KR", "VC", "VC_SQRT")
DESCRIPTIONS = {
    "weight": {"name": "ICE", "value": "weight"},
    "KR": {"name": "KR", "value": "KR"},
    "VC": {"name": "VC", "value": "VC"},
    "VC_SQRT": {"name": "VC_SQRT", "value": "VC_SQRT"},
}
COOLER_DATASETS = (
    "chroms/name", "chroms/length", "bins/chrom", "bins/start",
    "pixels/bin1_id", "pixels/bin2_id", "pixels/count", "indexes/bin1_offset",
)

# Memory bounds. A vector (bin1_offset, a weight column) up to ARRAY_MAX_BYTES is loaded whole
# and kept in a process-wide cache of ARRAY_CACHE_BYTES; bigger ones are read in slices.
ARRAY_CACHE_BYTES = 512 * 2**20
ARRAY_MAX_BYTES = 64 * 2**20
HDF5_CHUNK_CACHE = 8 * 2**20  # per dataset; pixel chunks are shared by neighbouring tiles

# Remote files: bytes fetched ahead at the end of the file when it is opened, and at the start of
# every level's group before tileset_info reads them (CoolerFile._fetch_level_heads). The end:
# ``cooler zoomify`` writes the finest resolution first, so the coarsest ones, which the first
# tiles of a view read, lie near the end, followed by what was written last (root attributes,
# the list of resolutions) and by the weights that balancing appends.
TAIL_BYTES = 4 * 2**20
LEVEL_HEAD_BYTES = 32 * 2**10

_TOKENS = itertools.count(1)
VECTORS = hdf5.VectorCache(ARRAY_CACHE_BYTES, ARRAY_MAX_BYTES)


def _text(value):
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return value.decode("latin-1")
    return str(value)


def _is_cooler(group, names=COOLER_DATASETS):
    return isinstance(group, h5py.Group) and all(name in group for name in names)


def _missing(group):
    if not isinstance(group, h5py.Group):
        return list(COOLER_DATASETS)
    return [name for name in COOLER_DATASETS if name not in group]


class Level:
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
        return VECTORS.slice(self.key + (name,), self.dataset(name), lo, hi)

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


class CoolerFile:
    """An open cooler file: its layout, zoom levels (coarsest first) and lazily built metadata.

    Opening reads only the layout: the resolution names (or the legacy groups). A level's
    groups are opened, and its structure checked, when it is first used (:meth:`level`);
    ``tileset_info`` (:meth:`info`) reads the chromosomes of one group and the bin columns of
    every level."""

    def __init__(self, location):
        if not access.is_file(location):
            raise GeneratorError("the file does not exist")
        self.h5 = hdf5.open_file(location, "not an HDF5 file (cooler files are HDF5)",
                                 ahead=hdf5.tail(location, TAIL_BYTES),
                                 rdcc_nbytes=HDF5_CHUNK_CACHE, rdcc_nslots=10007)
        try:
            self._classify()
        except GeneratorError:
            self.h5.close()
            raise
        except Exception as exc:
            self.h5.close()
            raise GeneratorError(f"unreadable cooler file: {exc}") from None
        self.location = location
        self.token = next(_TOKENS)
        self._lock = threading.RLock()  # info() reads chroms() under it
        self._groups = {}
        self._levels = {}
        self._chroms = None
        self._genome = None
        self._info = None

    def _classify(self):
        """The layout, ``levels`` ((resolution, group path), coarsest first) and the path of the
        group tileset_info describes."""
        h5 = self.h5
        if "resolutions" in h5:
            group = h5["resolutions"]
            if not isinstance(group, h5py.Group) or not len(group):
                raise GeneratorError("the resolutions group is empty")
            names = list(group.keys())
            for name in names:
                if not name.isdigit() or int(name) <= 0:
                    raise GeneratorError(f"resolutions/{name} is not a resolution in bp")
            by_resolution = {int(name): f"resolutions/{name}" for name in names}
            self.layout = "multires"
            self.resolutions = sorted(by_resolution)
            self.levels = [(r, by_resolution[r]) for r in sorted(by_resolution, reverse=True)]
            self._info_path = f"resolutions/{names[0]}"  # first in HDF5 order, as the reference
        elif "max-zoom" in h5.attrs:
            try:
                max_zoom = int(h5.attrs["max-zoom"])
            except (TypeError, ValueError):
                raise GeneratorError("the max-zoom attribute is not an integer") from None
            if max_zoom < 0:
                raise GeneratorError("the max-zoom attribute is negative")
            self.layout = "legacy"
            self.max_zoom = max_zoom
            for zoom in range(max_zoom + 1):
                if str(zoom) not in h5:
                    raise GeneratorError(self._not_cooler(zoom))
            last = h5[str(max_zoom)]
            if not _is_cooler(last):
                raise GeneratorError(self._not_cooler(max_zoom))
            binsize = last.attrs.get("bin-size")
            if not isinstance(binsize, (int, np.integer)) or int(binsize) <= 0:
                raise GeneratorError(f"group {max_zoom} has no bin-size attribute")
            self.max_width = int(binsize) * TILE_SIZE * 2**max_zoom
            # Zoom z covers max_width / 2^z with 256 cells: bin-size(N) × 2^(N−z) bp per cell.
            self.levels = [(int(binsize) * 2 ** (max_zoom - z), str(z)) for z in range(max_zoom + 1)]
            self._info_path = "0"
        elif _is_cooler(h5["/"]):
            binsize = h5.attrs.get("bin-size")
            if not isinstance(binsize, (int, np.integer)) or int(binsize) <= 0:
                raise GeneratorError("a single-resolution cooler with bins of varying size is not supported")
            self.layout = "single"
            self.resolutions = [int(binsize)]
            self.levels = [(int(binsize), "/")]
            self._info_path = "/"
        else:
            raise GeneratorError(
                "an HDF5 file without cooler data (no resolutions/<bp> groups, no max-zoom attribute, "
                "no chroms/bins/pixels at the root)"
            )

    def _not_cooler(self, zoom, group=None):
        """The error text for a level whose group is not a cooler (``group``: the opened group,
        to name what it lacks)."""
        if self.layout == "legacy":
            return f"max-zoom is {self.max_zoom} but group {zoom} is not a cooler"
        name = self.levels[zoom][1]
        return f"{name} is not a cooler (missing {', '.join(_missing(group))})"

    def close(self):
        if self.h5.id.valid:
            self.h5.close()

    def _group(self, path):
        group = self._groups.get(path)
        if group is None:
            group = self._groups[path] = self.h5[path]
        return group

    @property
    def info_group(self):
        """The group whose chromosomes and attributes tileset_info reports."""
        return self._group(self._info_path)

    def _checked(self, zoom, names=COOLER_DATASETS):
        """The group of level ``zoom``, GeneratorError when it lacks one of ``names`` (the
        message lists everything a cooler needs that it lacks)."""
        group = self._group(self.levels[zoom][1])
        if not _is_cooler(group, names):
            raise GeneratorError(self._not_cooler(zoom, group))
        return group

    def level(self, zoom):
        level = self._levels.get(zoom)
        if level is None:
            with self._lock:
                level = self._levels.get(zoom)
                if level is None:
                    group = self._checked(zoom)
                    level = self._levels[zoom] = Level(self.token, group, self.levels[zoom][0])
        return level

    def chroms(self):
        """(names, lengths) of the group tileset_info describes."""
        if self._chroms is None:
            with self._lock:
                if self._chroms is None:
                    zoom = next(z for z, (_, path) in enumerate(self.levels) if path == self._info_path)
                    self._chroms = _read_chroms(self._checked(zoom, ("chroms/name", "chroms/length")))
        return self._chroms

    def genome_length(self):
        """The sum of the chromosome lengths (tileset_info's ``max_pos``)."""
        if self._genome is None:
            self._genome = sum(self.chroms()[1])
        return self._genome

    def info(self):
        if self._info is None:
            with self._lock:
                if self._info is None:
                    self._info = self._make_info()
        return self._info

    def _fetch_level_heads(self):
        """For a remote file: fetch the first bytes of every level's group (its header and those
        of its chroms, bins and pixels groups) in one batch, as tileset_info is about to read
        them all. The coarse levels are small and lie next to each other: their groups come in
        one request."""
        if len(self.levels) > 1:
            hdf5.prefetch_objects(self.location, self.h5, [path for _, path in self.levels], LEVEL_HEAD_BYTES)

    def _columns(self, zoom):
        """The bin columns of level ``zoom``."""
        return self._checked(zoom, ("bins/chrom", "bins/start"))["bins"].keys()

    def _make_info(self):
        self._fetch_level_heads()
        names, lengths = self.chroms()
        total = sum(lengths)
        chromsizes = [[name, length] for name, length in zip(names, lengths)]
        if self.layout == "legacy":
            transforms = []  # union over groups 0 … N-1, in order of first appearance
            for zoom in range(len(self.levels) - 1):
                columns = self._columns(zoom)
                for name in TRANSFORMS:
                    if name in columns and name not in transforms:
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
        columns = [set(self._columns(zoom)) for zoom in range(len(self.levels))]
        transforms = [t for t in TRANSFORMS if all(t in found for found in columns)]
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


_FILES = OpenFiles(hdf5.OnePerInode(CoolerFile))


def open_cooler(location):
    """The cached open :class:`CoolerFile` of ``location``; GeneratorError when it does not open."""
    try:
        return _FILES.get(location)
    except GeneratorError:
        raise
    except FileNotFoundError:
        raise GeneratorError("the file does not exist") from None
    except OSError as exc:
        raise GeneratorError(f"cannot open the file: {exc.strerror or exc}") from None
