"""cooler matrices: rectangles cut out of one resolution of a cooler file (the ``matrix``
capability, used by the fragments service; see docs/fragments.md).

A cut names two chromosome regions, a zoom choice and the side of the output in pixels. This
module picks the resolution, turns the regions into a rectangle of bins (with the original
server's rounding and padding rules), reads the stored pixels of that rectangle through the open
files of :mod:`.cooler_file` and the pixel reader of :mod:`.cooler_tiles`, and resamples the
rectangle to ``dims × dims`` (linear interpolation up to a multiple of ``dims``, then block
means: the original server's rule). The values are those of cooler's own dense
``matrix(balance=...)`` selection: the full symmetric matrix, balanced cells of a bin without a
weight being NaN (here 0, with their cells listed in ``low_quality`` while not resampled).

The rectangle is read in blocks of rows and, when resampled, folded into the output block by
block, so memory stays bounded by the block size and the output, never by the rectangle.
"""

import math
from contextlib import contextmanager

import numpy as np
from scipy import sparse

from .base import GeneratorError
from .cooler_file import open_cooler
from .cooler_tiles import _read_pixels

ROWS_BLOCK = 1 << 21  # stored pixels read (at most, when rows allow) per block


class SnippetTooLarge(GeneratorError):
    """A cut beyond a limit given in the options; ``limit`` names the option ("max_data_dim"
    or "max_data_cells")."""

    def __init__(self, message, limit):
        super().__init__(message, reason="too-large", code="SnippetTooLarge")
        self.limit = limit
        self.cut = None


# --- the resolution -------------------------------------------------------------------------


def _level_index(cooler_file, cut):
    """Index into ``cooler_file.levels`` (coarsest first) for the cut's zoom choice.

    * ``resolution`` (bp) given: the level whose bins are closest in size (finer on ties).
    * multi-resolution files: a ``zoom`` ≥ 0 is a resolution in bp (the closest one is used, so 0
      is the finest); a negative ``zoom`` picks the coarsest resolution whose bins are no larger
      than the bp per output pixel of the larger region (the finest when all are larger).
    * legacy multi-zoom files: ``zoom`` ≥ 0 zooms out that many levels from the finest (past the
      coarsest: the coarsest); a negative one zooms out floor(log2(bins per pixel)) levels.
    * single-resolution files: their one level.
    """
    levels = cooler_file.levels
    sizes = [_bin_size(cooler_file, index) for index in range(len(levels))]
    if cut.get("resolution") is not None:
        wanted = cut["resolution"]
        return min(range(len(levels)), key=lambda i: (abs(sizes[i] - wanted), sizes[i]))
    if len(levels) == 1:
        return 0
    zoom = cut["zoom"]
    span = max(cut["end1"] - cut["start1"], cut["end2"] - cut["start2"])
    per_pixel = span / cut["dims"]
    if cooler_file.layout == "multires":
        if zoom >= 0:
            return min(range(len(levels)), key=lambda i: (abs(sizes[i] - zoom), sizes[i]))
        fitting = [i for i in range(len(levels)) if sizes[i] <= per_pixel]
        return min(fitting, key=lambda i: -sizes[i]) if fitting else len(levels) - 1
    finest = len(levels) - 1  # legacy: group N (finest) … group 0 (coarsest)
    if zoom < 0:
        ratio = per_pixel / sizes[finest]
        zoom = max(0, math.floor(math.log2(ratio))) if ratio > 0 else 0
    return max(finest - zoom, 0)


def _bin_size(cooler_file, index):
    level = cooler_file.level(index)
    if level.binsize is None:
        raise GeneratorError("fragments need a cooler with bins of one size")
    return level.binsize


def _chrom_index(level, name):
    names = level.chrom_names
    for candidate in (str(name), f"chr{name}"):
        if candidate in names:
            return names.index(candidate)
    raise GeneratorError(f"unknown chromosome {name!r}")


# --- the rectangle of bins ------------------------------------------------------------------


def _span(level, chrom, start, end, dims, padding):
    """[first, stop) bins of one side: the region's rounded bins, ``padding`` percent of them
    added (half on each side), then widened to ``dims`` bins around its centre."""
    offset = int(level.cbo[_chrom_index(level, chrom)])
    size = level.binsize
    first = offset + int(round(float(start) / size))
    stop = offset + int(round(float(end) / size)) + 1
    extra = int(round((stop - first) / 2 * (min(100, max(0, int(padding))) / 100)))
    first, stop = first - extra, stop + extra
    if stop - first < dims:
        extra = int((dims - (stop - first)) / 2)
        first, stop = first - extra, stop + extra
    if stop - first < dims:
        stop += dims - (stop - first)
    return first, stop


def _plan(cooler_file, cut, max_data_dim):
    level_index = _level_index(cooler_file, cut)
    level = cooler_file.level(level_index)
    dims = cut["dims"]
    s1, e1 = _span(level, cut["chrom1"], cut["start1"], cut["end1"], dims, cut["padding"])
    s2, e2 = _span(level, cut["chrom2"], cut["start2"], cut["end2"], dims, cut["padding"])
    if max(e1 - s1, e2 - s2) > max_data_dim:
        raise SnippetTooLarge(
            f"the region is {e1 - s1} × {e2 - s2} bins of {level.binsize} bp, over the "
            f"limit of {max_data_dim} bins per side; choose a coarser zoom level or a smaller region",
            "max_data_dim",
        )
    return level, (s1, e1, s2, e2)


# --- reading ----------------------------------------------------------------------------------


def _row_blocks(level, lo, hi):
    """[lo, hi) cut into consecutive row ranges of at most ROWS_BLOCK stored pixels each (a
    single row may hold more)."""
    if lo >= hi:
        return []
    offsets = np.asarray(level.vector("indexes/bin1_offset", lo, hi + 1), dtype=np.int64)
    blocks, first = [], lo
    while first < hi:
        limit = offsets[first - lo] + ROWS_BLOCK
        stop = lo + int(np.searchsorted(offsets, limit, "right")) - 1
        stop = min(max(stop, first + 1), hi)
        blocks.append((first, stop))
        first = stop
    return blocks


def _stored(level, rows, cols, weights):
    """Blocks of stored pixels with bin1 in ``rows`` and bin2 in ``cols`` (both clamped [lo, hi)
    ranges): (bin1, bin2, value) arrays, balanced by ``weights`` (a whole-range getter) or raw."""
    if rows[0] >= rows[1] or cols[0] >= cols[1]:
        return
    for a, b in _row_blocks(level, *rows):
        local, bin2, counts = _read_pixels(level, a, b, [cols])
        if not bin2.size:
            continue
        bin1 = local + a
        values = counts.astype(np.float64)
        if weights is not None:
            values *= weights(bin1) * weights(bin2)
        yield bin1, bin2, values


def _weights(level, balance, lo, hi):
    if not balance:
        return None
    if "weight" not in level.columns:
        raise GeneratorError(
            "this resolution has no balancing weights (bins/weight); ask with no-balance"
        )
    vector = np.asarray(level.vector("bins/weight", lo, hi), dtype=np.float64)
    return lambda bins: vector[bins - lo]


def _resampler(n, m):
    """The (m × n) sparse matrix taking n values to m: the identity when n ≤ m; else linear
    interpolation (end points aligned) to m·ceil(n/m) points, then means of ceil(n/m)."""
    if n <= m:
        return None
    mult = -(-n // m)
    points = m * mult
    position = np.arange(points) * ((n - 1) / (points - 1)) if points > 1 else np.zeros(1)
    low = np.minimum(np.floor(position).astype(np.int64), n - 1)
    frac = position - low
    high = np.minimum(low + 1, n - 1)
    out = np.repeat(np.arange(m), mult)
    rows = np.concatenate([out, out])
    cols = np.concatenate([low, high])
    vals = np.concatenate([1 - frac, frac]) / mult
    return sparse.csr_matrix((vals, (rows, cols)), shape=(m, n))


def _cut_one(level, box, dims, balance, square):
    """The resampled (dims × dims) rectangle and what the service needs to finish it."""
    s1, e1, s2, e2 = box
    n1, n2 = e1 - s1, e2 - s2
    nbins = level.nbins
    r1 = (max(s1, 0), min(e1, nbins))
    r2 = (max(s2, 0), min(e2, nbins))
    lo, hi = min(r1[0], r2[0]), max(r1[1], r2[1])
    weights = _weights(level, balance, lo, hi) if hi > lo else None

    # Stored pixels (a ≤ b unless the file is square): (a, b) lands on row a, column b when a is
    # in the rows and b in the columns; mirrored on row b, column a when b is in the rows and a
    # in the columns (a < b: the diagonal would land twice on the same cell). When the rows and
    # the columns are the same bins, one read gives both.
    if square:
        reads = [(r1, r2, (False,))]
    elif r1 == r2:
        reads = [(r1, r2, (False, True))]
    else:
        reads = []
        if r1[0] < r2[1]:  # some a ≤ b with a in the rows and b in the columns
            reads.append((r1, r2, (False,)))
        if r2[0] < r1[1]:
            reads.append((r2, r1, (True,)))

    scale1, scale2 = _resampler(n1, dims), _resampler(n2, dims)
    scaled = scale1 is not None or scale2 is not None
    out = np.zeros((dims, dims) if scaled else (n1, n2), dtype=np.float64)
    nan_cells = []
    for rows, cols, ways in reads:
        for bin1, bin2, values in _stored(level, rows, cols, weights):
            for mirrored in ways:
                if mirrored:
                    off = bin1 != bin2
                    row_bins, col_bins, part = bin2[off], bin1[off], values[off]
                else:
                    row_bins, col_bins, part = bin1, bin2, values
                _place(out, row_bins - s1, col_bins - s2, part, (scale1, scale2, n1, n2), nan_cells)

    low_quality = None
    if not scaled:
        mask = np.zeros((n1, n2), dtype=bool)
        for rows_at, cols_at in nan_cells:
            mask[rows_at, cols_at] = True
        if weights is not None:  # balanced: a bin without a weight makes its row and column NaN
            in1, bad1 = _bins_state(weights, r1, s1, n1)  # (within the genome, without a weight)
            in2, bad2 = _bins_state(weights, r2, s2, n2)
            mask |= (bad1[:, None] & in2[None, :]) | (in1[:, None] & bad2[None, :])
        low_quality = mask if mask.any() else None

    diagonal = s2 - s1 if max(r1[0], r2[0]) < min(r1[1], r2[1]) else None
    return {
        "values": out, "low_quality": low_quality, "diagonal": diagonal, "scaled": scaled,
        "data_shape": (n1, n2), "resolution": level.binsize, "bins": box,
    }


def _bins_state(weights, bins, first, count):
    """For the ``count`` bins from ``first``: which lie in ``bins`` (the genome's part of them)
    and which of those have a NaN weight."""
    inside = np.zeros(count, dtype=bool)
    bad = np.zeros(count, dtype=bool)
    if bins[1] > bins[0]:
        inside[bins[0] - first:bins[1] - first] = True
        bad[bins[0] - first:bins[1] - first] = np.isnan(weights(np.arange(*bins)))
    return inside, bad


def _place(out, rows, cols, values, scaling, nan_cells):
    """Put pixels on the output: as they are, or folded through the resamplers."""
    scale1, scale2, n1, n2 = scaling
    scaled = scale1 is not None or scale2 is not None
    bad = np.isnan(values)
    if bad.any():
        if not scaled:
            nan_cells.append((rows[bad], cols[bad]))
        values = np.where(bad, 0.0, values)
    if not scaled:
        out[rows, cols] = values
        return
    block = sparse.csr_matrix((values, (rows, cols)), shape=(n1, n2))
    if scale1 is not None:
        block = scale1 @ block
    if scale2 is not None:
        block = block @ scale2.T
    out += block.toarray() if sparse.issparse(block) else np.asarray(block)


# --- the capability -------------------------------------------------------------------------


def matrix(source, cuts, options):
    """One result per cut (see docs/fragments.md for the rules).

    ``cuts``: dicts with chrom1, start1, end1, chrom2, start2, end2 (bp), zoom (int, -1 for auto),
    dims (output pixels per side), padding (percent) and optionally resolution (bp).
    ``options``: balance (bool), max_data_dim (bins per side), max_data_cells (bins read over all
    cuts). Every cut is checked against the limits before any pixel is read; a cut beyond one
    raises :class:`SnippetTooLarge`, any other bad cut GeneratorError; either has the index of
    the cut as its ``cut`` attribute (None for the limit over all cuts).

    Each result: ``values`` (dims × dims float64, NaN cells as 0), ``low_quality`` (bool mask of
    the NaN cells, or None; None too when resampled), ``diagonal`` (the column offset s2 − s1 in
    bins when the main diagonal crosses the rectangle, else None), ``scaled``, ``data_shape``
    (bins per side read), ``resolution`` (bp per bin) and ``bins`` (s1, e1, s2, e2).
    """
    cooler_file = open_cooler(source.datafile)
    square = _square(cooler_file)
    plans = []
    total = 0
    for index, cut in enumerate(cuts):
        with _cut_errors(index):
            level, box = _plan(cooler_file, cut, options["max_data_dim"])
        total += (box[1] - box[0]) * (box[3] - box[2])
        plans.append((level, box, cut["dims"]))
    if total > options["max_data_cells"]:
        raise SnippetTooLarge(
            f"the loci cover {total} bins together, over the limit of "
            f"{options['max_data_cells']} per request; ask for fewer loci or coarser zoom levels",
            "max_data_cells",
        )
    results = []
    for index, (level, box, dims) in enumerate(plans):
        with _cut_errors(index):
            results.append(_cut_one(level, box, dims, options.get("balance", True), square))
    return results


@contextmanager
def _cut_errors(index):
    """Errors of one cut as GeneratorErrors whose ``cut`` attribute is its index."""
    try:
        yield
    except GeneratorError as exc:
        exc.cut = index
        raise
    except (OSError, KeyError, ValueError, TypeError) as exc:  # h5py/numpy on odd content
        error = GeneratorError(f"unreadable cooler file: {exc}")
        error.cut = index
        raise error from None


def _square(cooler_file):
    """Whether the file stores both triangles (storage-mode "square"): no mirroring then."""
    value = cooler_file.info_group.attrs.get("storage-mode", "")
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    return value == "square"
