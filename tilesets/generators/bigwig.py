"""bigWig: 1-D numeric tracks, read with pybbi (see docs/filetypes.md).

The JSON is the one the reference server gives (higlass-server + clodius 0.18/0.20 with pybbi):
``max_pos`` is the genome length, the modes are dicts, and a chromosome end that does not fall on
a bin boundary drops the chromosome's last (partial) bin.

Chromosome order: the chromsizes tileset of the bigWig's coordSystem when the service found
exactly one (``Source.context["chromsizes"]``), else the file's own chromosomes in clodius'
"natural" order (:func:`natural_sorted`).

pybbi wraps the UCSC library, whose error handler ends the whole process on a malformed file.
So nothing reaches pybbi before the formats floor has checked the file's structure in Python
(:mod:`tilesets.formats.bbifile`): ``validate`` (ingest) does the full check, including every
compressed data block, and opening a file for tiles does the cheap part again (header, zoom
levels, chromosome tree, index roots; :class:`~tilesets.formats.bbizoom.ZoomReader` runs it).

Where pybbi would summarise a window from a zoom level (coarse tiles),
:mod:`tilesets.formats.bbizoom` computes the same numbers, bit for bit, from zoom blocks it keeps
decoded in memory; pybbi still reads the raw data for finer windows and every case it declines.
For a remote file pybbi would run in a helper process (a round trip per call), so the finer
windows are summarised in this process too, from the base-level data read by
:mod:`tilesets.formats.bbidata` (the same numbers again); pybbi, opened in a helper only when
first needed, answers what those decline.
"""

import functools
import threading

import numpy as np

from ..formats import access, pybbi
from ..formats.bbizoom import ZoomReader
from ..formats.openfiles import OpenFiles
from . import genome
from .base import Generator, GeneratorError, each_tile
from .dense import format_dense_tile
from .genome import natural_sorted


TILE_SIZE = 1024
NAN = float("nan")
# False: every summary comes from pybbi (tests compare both paths).
NUMPY_ZOOMS = True
# False: remote files' base-level data are summarised by pybbi in its helper process (tests).
IN_PROCESS_DATA = True

AGGREGATION_MODES = (("mean", "Mean"), ("min", "Min"), ("max", "Max"), ("std", "Standard Deviation"))
RANGE_MODES = (("minMax", "Min-Max"), ("whisker", "Whisker"))
# The statistics fetched for each mode, in column order.
_STATS = {"mean": ("mean",), "min": ("min",), "max": ("max",), "std": ("std",),
          "minMax": ("min", "max"), "whisker": ("min", "max", "mean", "std")}
_RANGED = {"minMax", "whisker"}


# --- open files and chromosome layouts ----------------------------------------------------


class _Layout:
    """Chromosome names, lengths and genome offsets in tileset order, and the zoom depth."""

    __slots__ = ("names", "lengths", "offsets", "total", "max_zoom")

    def __init__(self, rows):
        self.names, self.lengths, self.offsets = [], [], [0]
        for name, length in rows:
            self.names.append(str(name))
            self.lengths.append(int(length))
            self.offsets.append(self.offsets[-1] + int(length))
        self.total = self.offsets[-1]
        if self.total <= 0:
            raise GeneratorError("the tileset has no chromosomes")
        # numpy log2 on the float, then ceil (as clodius does it).
        self.max_zoom = int(np.ceil(np.log2(np.ceil(self.total / TILE_SIZE))))

    def pieces(self, start, end):
        """(chromosome index, start, end) pieces of absolute [start, end) (see genome.pieces)."""
        return genome.pieces(self.offsets, self.lengths, start, end)


class _BigWigFile:
    """An open bigWig: its zoom levels and base-level data read in this process
    (:class:`~tilesets.formats.bbizoom.ZoomReader`), a pybbi handle for the rest (its fetches
    serialised by a lock), the file's chromosomes and their natural layout.

    pybbi is opened at once on the file the zoom reader checked, unless it would read it in a
    helper process (an http(s) URL): then only when a summary needs it."""

    def __init__(self, location):
        self.zooms = ZoomReader(location)  # also the structure check that must precede pybbi
        self._pinned = self.zooms.pinned_path(location)  # the file just checked (s3: a whole copy)
        self.remote = access.is_remote(self._pinned)  # pybbi would run in a helper process
        self._handle = None
        if self.remote:
            self.sizes = dict(self.zooms.chroms)  # the chromosome tree pybbi reads too
        else:
            try:
                self._handle = pybbi.open_path(self._pinned, "bigWig")
            except GeneratorError:
                self.zooms.close()
                raise
            self.sizes = dict(self._handle.chromsizes)
        self.lock = threading.Lock()
        self.own_layout = _Layout(own_chromsizes(self.sizes))

    def fetch(self, name, start, end, bins, stats):
        """pybbi's summaries ``stats`` of ``bins`` parts of [start, end) (NaN where missing)."""
        with self.lock:
            if self._handle is None:
                self._handle = pybbi.open_path(self._pinned, "bigWig")
            return [self._handle.fetch(name, start, end, bins=bins, missing=NAN, summary=stat) for stat in stats]

    def summaries(self, name, start, end, bins, stats):
        """The same numbers as :meth:`fetch`, computed in this process where it can."""
        fetched = None
        if NUMPY_ZOOMS:
            fetched = self.zooms.summaries(name, start, end, bins, stats)
            if fetched is None and self.remote and IN_PROCESS_DATA:
                fetched = self.zooms.data_summaries(name, start, end, bins, stats)
        if fetched is None:
            fetched = self.fetch(name, start, end, bins, stats)
        return fetched


_open_files = OpenFiles(_BigWigFile, maxsize=64, what="the file")
_open = _open_files.get


def own_chromsizes(sizes):
    """``[(name, length)]`` of a ``{name: length}`` in natural order (from pybbi's order)."""
    return [(name, int(sizes[name])) for name in natural_sorted(sizes)]


@functools.lru_cache(maxsize=32)
def _assembly_layout(rows):
    return _Layout(rows)


def _layout(source, bigwig):
    rows = source.context.get("chromsizes")
    if not rows:
        return bigwig.own_layout
    try:
        return _assembly_layout(tuple(rows))
    except TypeError:  # rows that are lists: not hashable, no caching
        return _Layout(rows)


# --- the generator ------------------------------------------------------------------------


def validate(datafile, indexfile=None):
    pybbi.validate(datafile, "bigWig")


def chromsizes(source):
    """The file's own chromosomes in natural order (not the coordSystem's)."""
    return own_chromsizes(pybbi.chromsizes(source.datafile, "bigWig"))


def _modes(pairs):
    return {value: {"name": name, "value": value} for value, name in pairs}


def layout_info(layout, modes=True):
    """The 1-D tileset_info of a chromosome layout, with bigWig's aggregation and range modes
    (bigBed gives them too) or without (FASTA)."""
    info = {
        "min_pos": [0],
        "max_pos": [layout.total],
        "max_width": TILE_SIZE * 2 ** layout.max_zoom,
        "tile_size": TILE_SIZE,
        "max_zoom": layout.max_zoom,
        "chromsizes": [[name, length] for name, length in zip(layout.names, layout.lengths)],
    }
    if modes:
        info["aggregation_modes"] = _modes(AGGREGATION_MODES)
        info["range_modes"] = _modes(RANGE_MODES)
    return info


def tileset_info(source):
    return layout_info(_layout(source, _open(source.datafile)))


def tile_values(bigwig, layout, zoom, x, mode="mean"):
    """The float64 array of tile (zoom, x): shape (n,) or (n, 2|4) for the range modes."""
    if zoom > layout.max_zoom:
        raise GeneratorError(f"zoom level {zoom} is beyond this tileset's deepest level ({layout.max_zoom})")
    stats = _STATS.get(mode, _STATS["mean"])
    ranged = mode in _RANGED
    binsize = 1 << (layout.max_zoom - zoom)
    start = x * TILE_SIZE * binsize
    end = start + TILE_SIZE * binsize

    plan, total = [], 0
    n_chroms, sizes = len(layout.names), bigwig.sizes
    for cid, piece_start, piece_end in layout.pieces(start, end):
        bins = -(-(piece_end - piece_start) // binsize)
        if bins == 0:
            continue
        name = None
        keep = bins
        if cid < n_chroms:
            file_length = sizes.get(layout.names[cid])
            if file_length:  # absent from the bigWig: NaN, and no drop (as clodius)
                length = layout.lengths[cid]
                if piece_end == length and length % binsize:
                    keep -= 1  # 0.18/0.20: drop the chromosome's partial last bin
                if piece_start <= file_length:  # else all out of the file's range: NaN
                    name = layout.names[cid]
        plan.append((name, piece_start, piece_end, bins, keep))
        total += keep

    values = np.full((total, len(stats)) if ranged else total, NAN)
    position = 0
    for name, piece_start, piece_end, bins, keep in plan:
        if name is not None and keep:
            fetched = bigwig.summaries(name, piece_start, piece_end, bins, stats)
            for column, column_values in enumerate(fetched):
                if ranged:
                    values[position:position + keep, column] = column_values[:keep]
                else:
                    values[position:position + keep] = column_values[:keep]
        position += keep
    return values


def _mode(request):
    return request.extra[0].split("|", 1)[0] if request.extra else "mean"


def tiles(source, requests, options=None):
    bigwig = _open(source.datafile)
    layout = _layout(source, bigwig)
    return each_tile(
        requests,
        lambda r: format_dense_tile(tile_values(bigwig, layout, r.zoom, r.coords[0], _mode(r))),
        "bigWig",
    )


GENERATOR = Generator(
    filetype="bigwig",
    validate=validate,
    tileset_info=tileset_info,
    tiles=tiles,
    chromsizes=chromsizes,
    dimensions=1,
    uses_coord_chromsizes=True,
)
