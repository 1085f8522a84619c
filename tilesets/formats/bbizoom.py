"""bigWig zoom-level summaries from blocks kept decoded in memory, bit for bit pybbi's.

``BBIFile.fetch(chrom, start, end, bins=n, summary=stat)`` (pybbi's default ``exact=False``)
summarises a window from a zoom level when the UCSC library finds one fine enough; that path costs
about 2 ms for a coarse bigWig tile, nearly all of it decompressing the same zoom blocks again for
every tile and statistic. :meth:`ZoomReader.summaries` chooses the zoom level and the records as
pybbi does and leaves the arithmetic to :mod:`.bbisummary`. It returns None whenever pybbi would
not use a zoom level (the caller then asks pybbi), and also when it cannot promise pybbi's exact
numbers (see "Falling back" below). :meth:`ZoomReader.data_summaries` covers the windows pybbi
summarises from the base-level data instead, read by :mod:`.bbidata` (the generator uses it for
remote files, where pybbi would run in a helper process).

What pybbi does here (its ``array_query_summarized`` and the bundled UCSC ``bbiRead.c``):

* Zoom choice (``bbiBestZoom``): ``want = ((end - start) // bins) // 2``; none if ``want <= 1``,
  else the first level in file order with the smallest ``want - reduction >= 0`` (a 32-bit
  signed difference, below 0x3fffffff).
* Records (``bbiSummariesInRegion``): the blocks the zoom level's R tree selects for
  [max(start, 0), min(end, chromSize)), in tree order; in them, the records of the chromosome
  whose range overlaps that interval, in file order.

Falling back to pybbi: the records must be sorted and disjoint (each ends at or before the next
starts, as libBigWig and the UCSC tools write them), positions must fit C ints, a window may not
select more than ``MAX_QUERY_BYTES`` of decoded blocks, and no bin may take more than
``bbisummary.MAX_RECORDS_PER_BIN`` records. Otherwise :meth:`summaries` returns None.

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
records, or lies beyond the file) raises FormatError with a one-line message; a remote read that
fails raises its RemoteError (which names the URL) as it is.
"""

import threading

import numpy as np

from .bbidata import DataReader
from .bbifile import _Corrupt, _Reader, cir_leaves, open_checked, read_block, unreadable
from .bbisummary import summarize
from .lru import LRU
from .remote_config import RemoteError

BLOCK_CACHE_BYTES = 64 << 20
MAX_QUERY_BYTES = 16 << 20
ENTRY_OVERHEAD = 256  # bytes counted per cached block besides its arrays

_BIGNUM = 0x3FFFFFFF  # bbiBestZoom's initial "closest difference"
_INT_LIMIT = 2 ** 31
_RECORD = np.dtype([("chrom", "u4"), ("start", "u4"), ("end", "u4"), ("count", "u4"),
                    ("min", "f4"), ("max", "f4"), ("sum", "f4"), ("squares", "f4")])


def _charge(value):
    """What an entry counts against the cache bound: its array bytes plus a fixed overhead, so
    that empty entries (blocks without usable records) are evicted too."""
    return value.nbytes + ENTRY_OVERHEAD


_blocks = LRU(max_bytes=BLOCK_CACHE_BYTES, size_of=_charge)
_tokens = iter(range(1, 2 ** 62))
_tokens_lock = threading.Lock()


def _new_token():
    with _tokens_lock:
        return next(_tokens)


class _Leaves:
    """One zoom level's R tree leaves (see :func:`.bbifile.cir_leaves`)."""

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
    """The zoom levels of one bigWig, read at offsets (:class:`.access.RandomAccess`, one
    descriptor per reader); its opening is the quick structure check of the file."""

    def __init__(self, location):
        self._data, structure = open_checked(location, "bigWig")
        self._reader = _Reader(self._data, self._data.size)
        self._reader.order = structure.order
        self.data = DataReader(self._reader, structure)
        self.chroms = structure.chroms
        self._ids = structure.chrom_ids
        self._zooms = structure.zooms
        self._buffer_size = structure.buffer_size
        self._record = _RECORD.newbyteorder(structure.order)
        self._leaves = [None] * len(self._zooms)
        self._lock = threading.Lock()
        self._token = _new_token()

    def pinned_path(self, location):
        """A path that opens the very file this reader checked, even if ``location`` has since
        been replaced (see :meth:`.access.RandomAccess.pinned_path`)."""
        return self._data.pinned_path()

    def close(self):
        """Close the descriptor (also done when the reader is garbage-collected: the open-file
        cache drops readers without closing them, a request may still be using one)."""
        self._data.close()

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
        module cannot reproduce it (see the module docstrings)."""
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
        except RemoteError:
            raise  # names the URL; the tile service reports it (and re-probes a changed file)
        except (_Corrupt, OSError) as exc:
            raise unreadable(exc, "bigWig") from None
        if records is None:
            return None
        return summarize(records, start, end, bins, start, valid_end, stats)

    def data_summaries(self, chrom, start, end, bins, stats):
        """As :meth:`summaries`, where pybbi summarises the base-level data instead (no zoom
        level fine enough), from the blocks :mod:`.bbidata` reads and keeps decoded. None when
        pybbi would use a zoom level, or when this cannot reproduce pybbi's answer (see
        :mod:`.bbidata` and :mod:`.bbisummary`)."""
        chrom_id = self.data.chrom_id(chrom)
        size = self.chroms.get(chrom)
        if chrom_id is None or size is None or start < 0 or end <= start or start > size or bins < 1:
            return None
        if self.best_level(start, end, bins) is not None:
            return None
        valid_end = min(end, size)
        try:
            intervals = self.data.bigwig_intervals(chrom_id, start, valid_end)
        except RemoteError:
            raise
        except (_Corrupt, OSError) as exc:
            raise unreadable(exc, "bigWig") from None
        if intervals is None:
            return None
        starts, ends = intervals[0], intervals[1]
        if len(starts) > 1 and np.any(ends[:-1] > starts[1:]):
            return None  # not sorted and disjoint: pybbi's walk over such a list is its own
        return summarize(intervals, start, end, bins, start, valid_end, stats, full=True)

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


def clear_cache():
    """Drop every decoded block (tests)."""
    _blocks.clear()
