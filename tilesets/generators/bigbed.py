"""bigBed: 1-D annotations, read with pybbi (see docs/filetypes.md).

The reference is higlass-server + clodius 0.18/0.20 with pybbi (0.22.2 cannot serve bigBed).

tileset_info is the bigWig one (the reference calls clodius' bigWig function for both):
``min_pos``, ``max_pos`` (genome length), ``max_width``, ``tile_size`` 1024, ``max_zoom``,
``chromsizes`` and bigWig's ``aggregation_modes``/``range_modes``. The chromosome order is the
same as for bigWig: the chromsizes tileset of the coordSystem when the service found
exactly one (``Source.context["chromsizes"]``), else the file's own chromosomes in natural order.

A tile ``z.x[.significant]`` is the bigWig tile span split at chromosome boundaries; for
each piece the intervals pybbi reports as overlapping it are kept whole, at most
``MAX_ELEMENTS`` (200) per piece: when there are more, those whose score (5th BED field as an
integer, else 0) reaches the ``1 - 200/count`` quantile of the piece's scores, and if still more
than 200, a sample of 200 in file order. Each interval becomes::

    {"chrOffset": genome offset of its chromosome, "importance": score,
     "fields": [chrom, start, end, rest...],
     "uid": stable id of the BED line, "xStart": chrOffset + start, "xEnd": chrOffset + end}

The first three keys are the reference's, with its values; ``uid``/``xStart``/``xEnd`` complete
the beddb entry shape for clients that key annotations by ``uid``.

Deliberate differences from the reference (which only change answers the reference gets wrong):

* when the quantile threshold leaves 200 or fewer intervals the reference returns none for that
  piece (its result list is only filled in the sampling branch); we return the thresholded ones,
  as the selection rule above says;
* the sample is drawn with a generator seeded by the tile and the piece, so a tile is the same
  every time it is made (the reference draws at random per request);
* a chromosome of the assembly that is longer than in the file, asked past the file's end, gives
  no intervals (pybbi raises and the reference answers HTTP 500); a zoom beyond ``max_zoom``
  is a per-tile error (the reference: 500).

pybbi wraps the UCSC library, whose error handler ends the whole process on a malformed file.
Nothing reaches pybbi before :mod:`tilesets.formats.bbifile` has checked the file in Python: the
header, zoom, chromosome-tree and R-tree checks shared with bigWig (``check_bbi``), plus the
autoSql text and, at ingest, every data record of every block.

A remote file's records are read in this process (:mod:`tilesets.formats.bbidata`: the same
records in the same order as pybbi's, from blocks kept decoded), since pybbi would run in a
helper process and send every interval list across; pybbi, opened in a helper only when first
needed, answers the queries that module declines.
"""

import hashlib
import random
import threading

import numpy as np

from ..formats import access, pybbi
from ..formats.bbidata import OpenData
from ..formats.openfiles import OpenFiles
from .base import Generator, GeneratorError, each_tile
from .bigwig import (  # shared with bigWig: layout, zoom math, modes
    TILE_SIZE, _Layout, _layout, layout_info, own_chromsizes,
)


DEFAULT_RANGE_MODE = "significant"
MIN_ELEMENTS = 1
MAX_ELEMENTS = 200
DEFAULT_SCORE = 0
# False: remote files' records come from pybbi in its helper process (tests).
IN_PROCESS_DATA = True


# --- open files ---------------------------------------------------------------------------


class _BigBedFile:
    """An open bigBed: a pybbi handle (fetches serialised by a lock) and the file's chromosomes.
    When pybbi would read the file in a helper process (an http(s) URL), its records are read in
    this process instead and pybbi is opened only if a query needs it."""

    def __init__(self, location):
        self._handle = None
        self.data = None
        if access.is_remote(location):
            data = OpenData(location, "bigBed")  # the structure check that precedes pybbi
            try:
                self._pinned = data.pinned_path()  # the file just checked (s3: a whole copy)
                if access.is_remote(self._pinned):
                    self.data = data
                else:
                    self._handle = pybbi.open_path(self._pinned, "bigBed")
            finally:
                if self.data is None:
                    data.close()
        else:
            self._handle = pybbi.open_checked(location, "bigBed")
        if self.data is not None:
            self.sizes = dict(self.data.chroms)  # the chromosome tree pybbi reads too
        else:
            if not self._handle.is_bigbed:
                raise GeneratorError("not a bigBed file")
            self.sizes = dict(self._handle.chromsizes)
        self.lock = threading.Lock()
        self.own_layout = _Layout(own_chromsizes(self.sizes))

    def intervals(self, name, start, end):
        """pybbi's records overlapping ``[start, end)`` of chromosome ``name``: tuples
        ``(chrom, start, end, *rest fields)``; none when the chromosome is not in the file or
        the range starts past its end there."""
        length = self.sizes.get(name)
        if not length or start > length:  # pybbi: KeyError / ValueError (reference: 500)
            return []
        end = min(end, length)
        if self.data is not None and IN_PROCESS_DATA:
            found = self.data.records(name, start, end)
            if found is not None:
                return found
        with self.lock:
            if self._handle is None:
                self._handle = pybbi.open_path(self._pinned, "bigBed")
            return list(self._handle.fetch_intervals(name, start, end, iterator=True))


_open_files = OpenFiles(_BigBedFile, maxsize=64, what="the file")
_open = _open_files.get


# --- selection -----------------------------------------------------------------------------


def score_of(fields):
    """int() of the 5th field as the reference does it (Python's int(): surrounding blanks,
    a sign and digit underscores accepted), else 0."""
    try:
        return int(fields[4])
    except (ValueError, IndexError):
        return DEFAULT_SCORE


def scores_of(intervals):
    """:func:`score_of` of each interval (all at C speed when every one has an integer score)."""
    try:
        return list(map(int, [fields[4] for fields in intervals]))
    except (ValueError, IndexError):
        return [score_of(fields) for fields in intervals]


def select(intervals, min_elements=MIN_ELEMENTS, max_elements=MAX_ELEMENTS, rng=None):
    """``[(interval, score)]`` kept for one piece, in file order."""
    count = len(intervals)
    scores = scores_of(intervals)
    if count < min_elements:
        return []
    if count <= max_elements:
        return list(zip(intervals, scores))
    threshold = int(np.quantile(scores, 1 - max_elements / count))
    kept = [(fields, score) for fields, score in zip(intervals, scores) if score >= threshold]
    if len(kept) > max_elements:
        rng = rng or random.Random()
        kept = [kept[i] for i in sorted(rng.sample(range(len(kept)), max_elements))]
    return kept


def _uid(fields):
    """A stable id of one BED record (the same record gets the same id in every tile)."""
    line = "\t".join(str(field) for field in fields)
    return hashlib.blake2b(line.encode("utf-8"), digest_size=12).hexdigest()


def _entry(fields, score, offset):
    return {
        "chrOffset": offset,
        "importance": score,
        "fields": list(fields),
        "uid": _uid(fields),
        "xStart": offset + fields[1],
        "xEnd": offset + fields[2],
    }


def tile_entries(bigbed, layout, zoom, x, limits=(MIN_ELEMENTS, MAX_ELEMENTS)):
    """The annotation list of tile (zoom, x)."""
    if zoom > layout.max_zoom:
        raise GeneratorError(f"zoom level {zoom} is beyond this tileset's deepest level ({layout.max_zoom})")
    binsize = 1 << (layout.max_zoom - zoom)
    start = x * TILE_SIZE * binsize
    end = start + TILE_SIZE * binsize
    min_elements, max_elements = limits
    entries = []
    n_chroms = len(layout.names)
    for cid, piece_start, piece_end in layout.pieces(start, end):
        if cid >= n_chroms:  # past the genome end
            continue
        name = layout.names[cid]
        intervals = bigbed.intervals(name, piece_start, piece_end)
        if not intervals:
            continue
        rng = random.Random(f"{zoom}.{x}.{cid}")
        offset = layout.offsets[cid]
        entries.extend(_entry(fields, score, offset)
                       for fields, score in select(intervals, min_elements, max_elements, rng))
    return entries


def _limits(request):
    """(min, max) elements per piece: the defaults, or ``|min:N|max:M`` after the mode field
    (the clodius tile-id options, normalised as clodius does)."""
    low = high = -1
    if request.extra:
        for option in request.extra[-1].split("|")[1:]:
            key, _, value = option.partition(":")
            if key in ("min", "max"):
                try:
                    number = int(value)
                except ValueError:
                    raise GeneratorError(f"the option {option!r} is not a number") from None
                if key == "min":
                    low = number
                else:
                    high = number
    if low > high:
        low, high = high, low
    elif low == high:
        high = low + 1
    if high <= 0:
        return MIN_ELEMENTS, MAX_ELEMENTS
    return low, high


# --- the generator ------------------------------------------------------------------------


def validate(datafile, indexfile=None):
    pybbi.validate(datafile, "bigBed")


def chromsizes(source):
    """The file's own chromosomes in natural order (not the coordSystem's)."""
    return own_chromsizes(pybbi.chromsizes(source.datafile, "bigBed"))


def tileset_info(source):
    return layout_info(_layout(source, _open(source.datafile)))


def tiles(source, requests, options=None):
    bigbed = _open(source.datafile)
    layout = _layout(source, bigbed)
    return each_tile(requests, lambda r: tile_entries(bigbed, layout, r.zoom, r.coords[0], _limits(r)), "bigBed")


GENERATOR = Generator(
    filetype="bigbed",
    validate=validate,
    tileset_info=tileset_info,
    tiles=tiles,
    chromsizes=chromsizes,
    dimensions=1,
    uses_coord_chromsizes=True,
)
