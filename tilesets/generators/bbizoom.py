"""bigWig zoom-level summaries in numpy, bit for bit what pybbi 0.4.2 returns.

``BBIFile.fetch(chrom, start, end, bins=n, summary=stat)`` (pybbi's default ``exact=False``)
summarises a window from a zoom level when the UCSC library finds one fine enough; that path costs
about 2 ms for a coarse bigWig tile, nearly all of it decompressing the same zoom blocks again for
every tile and statistic. :meth:`ZoomReader.summaries` does the same arithmetic over decoded blocks
kept in memory. It returns None whenever pybbi would not use a zoom level (the caller then asks
pybbi), and also when it cannot promise pybbi's exact numbers (see "Falling back" below).

What pybbi computes (its ``array_query_summarized`` and the bundled UCSC ``bbiRead.c``; the
bundled version is the one with ``normalizeCount``, checked in the compiled module):

* Zoom choice (``bbiBestZoom``): ``want = ((end - start) // bins) // 2``; none if ``want <= 1``,
  else the first level in file order with the smallest ``want - reduction >= 0`` (a 32-bit
  signed difference, below 0x3fffffff).
* Records (``bbiSummariesInRegion``): the blocks the zoom level's R tree selects for
  [max(start, 0), min(end, chromSize)), in tree order; in them, the records of the chromosome
  whose range overlaps that interval, in file order.
* Bin i covers [start + (end - start) * i // bins, start + (end - start) * (i + 1) // bins).
  Walking the records in order, every record overlapping the bin by ``o > 0`` bases adds, in
  double precision, ``validCount * f``, ``sum * f`` and ``sumSquares * f`` with
  ``f = o / (record end - record start)``; min and max start from the bin's first record and
  take a record's value only if strictly smaller/larger (so a NaN never wins).
* When the weighted count ``c`` is positive: ``n = ceil(c)`` (unsigned 32-bit), the sums are
  scaled by ``n / c``; mean = sum / n, std = sqrt(var) with var = squares - sum * sum / n,
  divided by n - 1 when n > 1 (a slightly negative var gives NaN, as in C).
* Bins whose edge ``start + int((i + 1) * step)`` (``step = (end - start) / bins``, a double)
  lies past the chromosome end, and bins without data, are NaN.

The numpy version sums record by record in the same order (one pass per record position over all
bins, never a pairwise reduction), so each float operation is the one the C code performs.

Falling back to pybbi: the records must be sorted and disjoint (each ends at or before the next
starts, as libBigWig and the UCSC tools write them), positions must fit C ints, a window may not
select more than ``MAX_QUERY_BYTES`` of decoded blocks, and no bin may take more than
``MAX_RECORDS_PER_BIN`` records (only files with widely spaced zoom levels come near: numpy
then costs more than pybbi's C loop). Otherwise :meth:`summaries` returns None.

Memory: per open file, the leaf entries of a zoom level's R tree are read once, when that level is
first used (32 bytes per block of the level, a block holding about a thousand records: a few MB at
most for the finest level of a human genome). Decoded zoom blocks live in one LRU per process
shared by all files, bounded by the bytes of the arrays it holds (``BLOCK_CACHE_BYTES``, 64 MB; a
record takes 64 bytes there, eight float64, so about a million records). A window may select at
most ``MAX_QUERY_BYTES`` (16 MB) of uncompressed blocks (estimated from the file's largest block
before reading) or it goes to pybbi, so no query loads a whole fine zoom level. (Decoded into
float64 arrays and gathered, such a query peaks at about three times that, some 50 MB.)

Thread safety: lazy loading takes the reader's lock, the block cache its own; decoding happens
outside the locks (two threads may decode the same block once each; both results are equal).

Malformed data met here (a block that does not decompress, has a size that is not a whole number of
records, or lies beyond the file) raises GeneratorError with a one-line message.
"""

import os
import threading
from collections import OrderedDict

import numpy as np

from .base import GeneratorError
from .bbifile import _Corrupt, _Reader, check_bigwig, cir_leaves, read_block

BLOCK_CACHE_BYTES = 64 << 20
MAX_QUERY_BYTES = 16 << 20
ENTRY_OVERHEAD = 256  # bytes counted per cached block besides its arrays
MAX_RECORDS_PER_BIN = 128

_BIGNUM = 0x3FFFFFFF  # bbiBestZoom's initial "closest difference"
_INT_LIMIT = 2 ** 31
_RECORD = np.dtype([("chrom", "u4"), ("start", "u4"), ("end", "u4"), ("count", "u4"),
                    ("min", "f4"), ("max", "f4"), ("sum", "f4"), ("squares", "f4")])
_NAN = float("nan")


def _charge(value):
    """What an entry counts against the cache bound: its array bytes plus a fixed overhead, so
    that empty entries (blocks without usable records) are evicted too."""
    return value.nbytes + ENTRY_OVERHEAD


class _BlockCache:
    """LRU of decoded blocks, bounded by the total of their ``nbytes``."""

    def __init__(self, max_bytes):
        self.max_bytes = max_bytes
        self.bytes = 0
        self._items = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key, value):
        size = _charge(value)
        if size > self.max_bytes:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self.bytes -= _charge(old)
            self._items[key] = value
            self.bytes += size
            while self.bytes > self.max_bytes:
                _key, dropped = self._items.popitem(last=False)
                self.bytes -= _charge(dropped)

    def clear(self):
        with self._lock:
            self._items.clear()
            self.bytes = 0


_blocks = _BlockCache(BLOCK_CACHE_BYTES)
_tokens = iter(range(1, 2 ** 62))
_tokens_lock = threading.Lock()


def _new_token():
    with _tokens_lock:
        return next(_tokens)


class _Leaves:
    """One zoom level's R tree leaves (see :func:`bbifile.cir_leaves`)."""

    __slots__ = ("low", "high", "offsets", "sizes", "monotonic")

    def __init__(self, low, high, offsets, sizes):
        self.low, self.high, self.offsets, self.sizes = low, high, offsets, sizes
        # Sorted bounds (the usual case) make the selected entries one contiguous run.
        self.monotonic = bool(np.all(low[1:] >= low[:-1]) and np.all(high[1:] >= high[:-1]))

    def select(self, chrom_id, start, end):
        """Indexes of the entries an R tree query for [start, end) on ``chrom_id`` visits."""
        first = np.uint64((chrom_id << 32) | start)
        last = np.uint64((chrom_id << 32) | end)
        if self.monotonic:
            lo = int(np.searchsorted(self.high, first, side="right"))
            hi = int(np.searchsorted(self.low, last, side="left"))
            return range(lo, max(lo, hi))
        return np.flatnonzero((first < self.high) & (last > self.low)).tolist()


class ZoomReader:
    """The zoom levels of one bigWig, read with ``os.pread`` (one descriptor per reader)."""

    _fd = None

    def __init__(self, path):
        try:
            self._fd = os.open(path, os.O_RDONLY)
            self._reader = _Reader(self._fd, os.fstat(self._fd).st_size)
            structure = check_bigwig(self._reader, deep=False)
        except _Corrupt as exc:
            self.close()
            raise GeneratorError(f"corrupt bigWig: {exc}") from None
        except OSError as exc:
            self.close()
            raise GeneratorError(f"cannot read the file: {exc.strerror or exc}") from None
        except BaseException:
            self.close()
            raise
        self.chroms = structure.chroms
        self._ids = structure.chrom_ids
        self._zooms = structure.zooms
        self._buffer_size = structure.buffer_size
        self._record = _RECORD.newbyteorder(structure.order)
        self._leaves = [None] * len(self._zooms)
        self._lock = threading.Lock()
        self._token = _new_token()

    def pinned_path(self, path):
        """A path that opens the very file this reader checked, even if ``path`` has since been
        replaced: ``/proc/self/fd/<n>`` where the system has it (Linux), else ``path``."""
        pinned = f"/proc/self/fd/{self._fd}"
        return pinned if self._fd is not None and os.path.exists(pinned) else path

    def close(self):
        """Close the descriptor (also done when the reader is garbage-collected: the open-file
        cache drops readers without closing them, a request may still be using one)."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def __del__(self):
        self.close()

    # --- pybbi's choices -------------------------------------------------------------------

    def best_level(self, start, end, bins):
        """The index of the zoom level pybbi would summarise [start, end) in ``bins`` from, or
        None (pybbi then reads the raw data)."""
        if bins < 1 or end < start:
            return None
        want = ((end - start) // bins) // 2
        if want <= 1:
            return None
        best, closest = None, _BIGNUM
        for level, (reduction, _data, _index) in enumerate(self._zooms):
            diff = (want - reduction) & 0xFFFFFFFF  # C int arithmetic
            if diff >= _INT_LIMIT:
                diff -= 2 ** 32
            if 0 <= diff < closest:
                best, closest = level, diff
        return best

    def summaries(self, chrom, start, end, bins, stats):
        """``stats`` (names among mean, min, max, std) of ``bins`` parts of [start, end) on
        ``chrom`` as pybbi's ``fetch(..., missing=nan, summary=stat)`` gives them: a float64
        array (len(stats), bins). None when pybbi would not use a zoom level or when this
        module cannot reproduce it (see the module docstring)."""
        chrom_id = self._ids.get(chrom)
        size = self.chroms.get(chrom)
        if chrom_id is None or size is None or start < 0 or end < start or start > size:
            return None
        level = self.best_level(start, end, bins)
        if level is None:
            return None
        valid_end = min(end, size)
        try:
            records = self._records(level, chrom_id, start, valid_end)
        except _Corrupt as exc:
            raise GeneratorError(f"corrupt bigWig: {exc}") from None
        except OSError as exc:
            raise GeneratorError(f"cannot read the file: {exc.strerror or exc}") from None
        if records is None:
            return None
        return _summarize(records, start, end, bins, start, valid_end, stats)

    # --- reading ---------------------------------------------------------------------------

    def _level_leaves(self, level):
        leaves = self._leaves[level]
        if leaves is None:
            with self._lock:
                leaves = self._leaves[level]
                if leaves is None:
                    index_offset = self._zooms[level][2]
                    leaves = _Leaves(*cir_leaves(self._reader, index_offset, f"zoom level {level} index"))
                    self._leaves[level] = leaves
        return leaves

    def _block(self, offset, size):
        """One decoded zoom block: a float64 array (8, records) of chromosome id, start, end,
        validCount, min, max, sum, sumSquares (every value exact in float64), or None when a
        position does not fit a C int (then pybbi's int conversions matter: use pybbi)."""
        key = (self._token, offset, size)
        block = _blocks.get(key)
        if block is not None:
            return block if block.shape[0] else None
        data = read_block(self._reader, offset, size, self._buffer_size, "zoom data block")
        if len(data) % _RECORD.itemsize:
            raise _Corrupt("a zoom data block is not a whole number of records")
        raw = np.frombuffer(data, dtype=self._record)
        block = np.empty((8, len(raw)))
        for row, name in enumerate(_RECORD.names):
            block[row] = raw[name]
        if len(raw) and max(block[1].max(), block[2].max()) >= _INT_LIMIT:
            block = np.empty((0, 0))
        _blocks.put(key, block)
        return block if block.shape[0] else None

    def _records(self, level, chrom_id, start, end):
        """The zoom records pybbi's list holds for [start, end) (already clipped to the
        chromosome): a float64 array (8, records) as :meth:`_block`'s; None if they are not
        sorted and disjoint or too many."""
        leaves = self._level_leaves(level)
        chosen = leaves.select(chrom_id, start, end)
        if not len(chosen):
            return _EMPTY
        # Decoded sizes are known only after decoding: bound them by the file's largest block.
        if self._buffer_size:
            decoded = len(chosen) * self._buffer_size
        else:
            decoded = sum(int(leaves.sizes[i]) for i in chosen)
        if decoded > MAX_QUERY_BYTES:
            return None
        offsets, sizes = leaves.offsets, leaves.sizes
        blocks = [self._block(int(offsets[i]), int(sizes[i])) for i in chosen]
        if any(block is None for block in blocks):
            return None
        records = blocks[0] if len(blocks) == 1 else np.concatenate(blocks, axis=1)
        # bbiSummariesInRegion: the chromosome's records with max(record start, start) <
        # min(record end, end) (positions all fit C ints here, see _block).
        chroms, starts, ends = records[0], records[1], records[2]
        keep = np.flatnonzero((chroms == chrom_id) & (np.maximum(starts, start) < np.minimum(ends, end)))
        if len(keep) != records.shape[1]:
            if len(keep) and keep[-1] - keep[0] + 1 == len(keep):
                records = records[:, keep[0]:keep[-1] + 1]  # the usual case, and a cheap copy
            else:
                records = records.take(keep, axis=1)
            starts, ends = records[1], records[2]
        if len(starts) > 1 and np.any(ends[:-1] > starts[1:]):
            return None
        return records


_EMPTY = np.zeros((8, 0))


def _summarize(records, start, end, bins, valid_start, valid_end, stats):
    """pybbi's ``_bbiSummariesFromZoom`` + ``bbiSummarySlice`` + output loop, over all bins at
    once; see the module docstring. ``records`` (from :meth:`ZoomReader._records`) are sorted
    and disjoint. None when a bin takes more than MAX_RECORDS_PER_BIN records."""
    with np.errstate(all="ignore"):  # inf/NaN in a file behave as in C, without warnings
        return _summarize_bins(records, start, end, bins, valid_start, valid_end, stats)


def _summarize_bins(records, start, end, bins, valid_start, valid_end, stats):
    out = np.full((len(stats), bins), _NAN)
    starts, ends = records[1], records[2]
    if not len(starts):
        return out
    span = end - start
    edges = start + (span * np.arange(bins + 1, dtype=np.int64)) // bins
    edges = edges.astype(np.float64)
    bin_starts, bin_ends = edges[:-1], edges[1:]

    # Bin i walks the records first[i] .. first[i] + taken[i] - 1: pybbi skips those ending at
    # or before the bin's start, then stops at the first one starting at or after its end.
    first = np.searchsorted(ends, bin_starts, side="right")
    taken = np.searchsorted(starts, bin_ends, side="left") - first
    most = int(taken.max())
    if most > MAX_RECORDS_PER_BIN:
        return None
    if most <= 0:
        return out
    # (most, bins) tables: row j holds each bin's j-th record; ``used`` masks the rows past a
    # bin's last record and records without overlap (none when the bin is not empty).
    position = np.arange(most)[:, None]
    index = np.minimum(first + position, len(starts) - 1)

    def picked(row):
        return records[row].take(index)

    record_starts, record_ends = picked(1), picked(2)
    overlap = np.minimum(bin_ends, record_ends) - np.maximum(bin_starts, record_starts)
    used = (position < taken) & (overlap > 0)
    factor = overlap / (record_ends - record_starts)

    want_mean, want_std = "mean" in stats or "std" in stats, "std" in stats

    def running_sum(row):
        terms = np.where(used, picked(row) * factor, 0.0)
        total = np.zeros(bins)
        for j in range(most):
            total = terms[j] + total  # the product first: the operand order of the C code
        return total

    weight = running_sum(3)
    total = running_sum(6) if want_mean else None
    squares = running_sum(7) if want_std else None

    # normalizeCount: n = ceil(weight) as an unsigned 32-bit count (C: double -> 64-bit int,
    # low 32 bits kept), the sums scaled by n / weight.
    ceiling = np.ceil(weight)
    count = np.where(ceiling < 2.0 ** 63, ceiling, 0.0).astype(np.int64) & 0xFFFFFFFF
    n = count.astype(np.float64)
    scale = n / weight

    # pybbi's output loop: out-of-range bins by the double step, then validCount > 0.
    step = span / bins
    edge_positions = start + (np.arange(bins + 1, dtype=np.float64) * step).astype(np.int64)
    filled = (weight > 0) & (count > 0)
    filled &= (edge_positions[:-1] >= valid_start) & (edge_positions[1:] <= valid_end)

    for row, stat in enumerate(stats):
        if stat == "mean":
            value = (total * scale) / n
        elif stat == "min":
            value = _running_extreme(picked(4), used, np.greater)
        elif stat == "max":
            value = _running_extreme(picked(5), used, np.less)
        elif stat == "std":
            scaled = total * scale
            variance = squares * scale - scaled * scaled / n
            variance = np.where(count > 1, variance / (n - 1.0), variance)
            value = np.sqrt(variance)
        else:
            raise ValueError(f"unknown summary {stat!r}")
        out[row] = np.where(filled, value, _NAN)
    return out


def _running_extreme(values, used, replaces):
    """bbiSummarySlice's min (``replaces`` = greater) or max (less): start from each bin's first
    record, take a later record's value only when ``replaces(current, value)`` (never a NaN)."""
    current = values[0]
    for j in range(1, len(values)):
        current = np.where(used[j] & replaces(current, values[j]), values[j], current)
    return current


def clear_cache():
    """Drop every decoded block (tests)."""
    _blocks.clear()
