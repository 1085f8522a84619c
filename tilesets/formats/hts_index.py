"""The binning indexes of BGZF files: ``.bai`` (BAM), ``.tbi`` (tabix) and ``.csi`` (either).

All three map a genomic range to *chunks* ``[vbeg, vend)`` of virtual offsets. The genome is cut
into bins at ``depth + 1`` levels (bin 0 covers everything, each bin has eight children, the finest
bins are ``2**min_shift`` bases wide; BAI and TBI fix min_shift 14 and depth 5); a record is filed
under the smallest bin that holds it. Each bin lists its chunks. A lower bound prunes chunks that
end before the range: BAI/TBI keep one voffset per finest window (the linear index), CSI one per bin
(``loffset``). A pseudo-bin past the last real one holds per-reference metadata. TBI (and a CSI
written by tabix) also carries the tabix settings and the reference names.
"""

import struct

import numpy as np

from . import access
from .bgzf import GZIP_MAGIC, gunzip_all
from .errors import FormatError

KINDS = {b"BAI\1": "bai", b"TBI\1": "tbi", b"CSI\1": "csi"}


class IndexKindError(FormatError):
    """The bytes are not an index of the kinds asked for."""


class IndexLayoutError(FormatError):
    """A CSI index whose binning scheme (min_shift, depth) is out of range."""


def reg2bins(beg, end, min_shift=14, depth=5):
    """Every bin that may hold records overlapping ``[beg, end)`` (0-based, half-open)."""
    if end <= beg:
        return []
    end -= 1
    bins = []
    first, shift = 0, min_shift + 3 * depth
    for level in range(depth + 1):
        bins.extend(range(first + (beg >> shift), first + (end >> shift) + 1))
        shift -= 3
        first += 1 << (3 * level)
    return bins


def pseudo_bin(depth):
    return ((1 << (3 * (depth + 1))) - 1) // 7 + 1


def finest_level(depth):
    """``(first bin, number of bins)`` of the finest level of a scheme of ``depth``."""
    return ((1 << (3 * depth)) - 1) // 7, 1 << (3 * depth)


class RefIndex:
    """The index of one reference, decoded lazily from the index bytes: the bins that exist
    (sorted arrays of bin numbers and of where their chunk lists start) and the lower bounds,
    ``linear`` (BAI/TBI: one voffset per 2**min_shift window) or per-bin ``loffsets`` (CSI)."""

    __slots__ = ("data", "bin_ids", "offsets", "loffsets", "linear", "pseudo")

    def __init__(self, data, bin_ids, offsets, loffsets, linear, pseudo):
        order = np.argsort(bin_ids, kind="stable")
        self.data = data
        self.bin_ids = bin_ids[order]
        self.offsets = offsets[order]  # where each bin's n_chunk field is
        self.loffsets = loffsets[order] if loffsets is not None else None
        self.linear = linear
        self.pseudo = pseudo  # offset of the pseudo-bin's n_chunk field, or None

    @property
    def n_bins(self):
        return len(self.bin_ids)

    def _find(self, bins):
        """Positions (in the sorted arrays) of those of ``bins`` that exist."""
        bins = np.asarray(bins, dtype=np.int64)
        if not len(self.bin_ids) or not len(bins):
            return np.empty(0, dtype=np.int64)
        where = np.minimum(np.searchsorted(self.bin_ids, bins), len(self.bin_ids) - 1)
        return where[self.bin_ids[where] == bins]

    def has(self, bin_):
        where = int(np.searchsorted(self.bin_ids, bin_))
        return where < len(self.bin_ids) and int(self.bin_ids[where]) == bin_

    def loffset(self, bin_):
        where = int(np.searchsorted(self.bin_ids, bin_))
        return int(self.loffsets[where]) if where < len(self.bin_ids) and int(self.bin_ids[where]) == bin_ else 0

    def chunks_at(self, offset):
        """The chunks listed at ``offset`` (a bin's n_chunk field) as ``[(vbeg, vend), ...]``."""
        n_chunk = struct.unpack_from("<i", self.data, offset)[0]
        flat = struct.unpack_from(f"<{2 * n_chunk}Q", self.data, offset + 4)
        return list(zip(flat[0::2], flat[1::2]))

    def chunks(self, bins):
        """The chunks of those of ``bins`` that exist."""
        found = []
        for where in self._find(bins):
            found.extend(self.chunks_at(int(self.offsets[where])))
        return found

    def end(self):
        """The voffset just after the reference's last record (pseudo-bin, else the chunks)."""
        if self.pseudo is not None:
            chunks = self.chunks_at(self.pseudo)
            if chunks:
                return chunks[0][1]
        ends = [end for where in range(len(self.bin_ids)) for _, end in self.chunks_at(int(self.offsets[where]))]
        return max(ends, default=0)


class BinIndex:
    """A parsed BAI, TBI or CSI index."""

    def __init__(self, kind, min_shift, depth, refs, names=None, tabix=None, n_no_coor=None):
        self.kind = kind  # "bai", "tbi" or "csi"
        self.min_shift = min_shift
        self.depth = depth
        self.refs = refs
        self.names = names  # the reference names of a tabix-style index, in index order; else None
        self.tabix = tabix  # (format, col_seq, col_beg, col_end, meta, skip) of a tabix-style index
        self.n_no_coor = n_no_coor
        self.name_ids = {name: i for i, name in enumerate(names)} if names else {}
        self._placed_end = None

    @property
    def placed_end(self):
        """The voffset just after the last placed record (where unplaced reads begin)."""
        if self._placed_end is None:
            self._placed_end = max((ref.end() for ref in self.refs if ref.n_bins), default=0)
        return self._placed_end

    @property
    def max_position(self):
        return 1 << (self.min_shift + 3 * self.depth)

    def lower_bound(self, ref, beg):
        """A voffset before every record overlapping positions >= ``beg`` (htslib's rule)."""
        if ref.linear is not None:
            if not len(ref.linear):
                return 0
            window = beg >> self.min_shift
            return int(ref.linear[min(window, len(ref.linear) - 1)])
        bin_ = finest_level(self.depth)[0] + (beg >> self.min_shift)
        while bin_ > 0 and not ref.has(bin_):
            parent = (bin_ - 1) >> 3
            if bin_ > (parent << 3) + 1:
                bin_ -= 1
            else:
                bin_ = parent
        return ref.loffset(bin_)

    def chunks(self, ref_id, beg, end):
        """The chunks that hold every record of reference ``ref_id`` overlapping ``[beg, end)``."""
        if ref_id is None or not 0 <= ref_id < len(self.refs):
            return []
        end = min(end, self.max_position)
        if beg >= end:
            return []
        ref = self.refs[ref_id]
        if not ref.n_bins:
            return []
        floor = self.lower_bound(ref, beg)
        return [(vbeg, vend) for vbeg, vend in ref.chunks(reg2bins(beg, end, self.min_shift, self.depth))
                if vend > floor]

    def read_chunks(self, ref_id, beg, end, pruned=True):
        """The chunks htslib's iterator may read for ``[beg, end)`` of ``ref_id``, as a superset:
        the region's bins' chunks that end after the lower bound of the bin htslib's walk finds
        (htslib's own bound is never below it: it only raises it with the linear index), cut
        where htslib cuts them, at the first chunk of the next bin to the right of the region.
        ``pruned=False``: every chunk of the bins, uncut."""
        if ref_id is None or not 0 <= ref_id < len(self.refs):
            return []
        ref = self.refs[ref_id]
        if beg >= min(end, self.max_position) or not ref.n_bins:
            return []
        chunks = ref.chunks(reg2bins(beg, min(end, self.max_position), self.min_shift, self.depth))
        if not pruned:
            return chunks
        floor, cut = self._walk_floor(ref, beg), self._next_bin_start(ref, end)
        return [(vbeg, min(vend, cut)) for vbeg, vend in chunks if vend > floor and vbeg < cut]

    def _next_bin_start(self, ref, end):
        """htslib's upper cut: the first chunk's start of the first bin right of ``end`` (moving
        right, and up at a first child), or no cut."""
        bin_ = finest_level(self.depth)[0] + ((end - 1) >> self.min_shift) + 1
        if bin_ >= pseudo_bin(self.depth) - 1:
            bin_ = 0
        while True:
            while bin_ % 8 == 1:
                bin_ = (bin_ - 1) >> 3
            if bin_ == 0:
                return 1 << 64
            found = ref.chunks([bin_])
            if found:
                return found[0][0]
            bin_ += 1

    def _walk_floor(self, ref, beg):
        first = finest_level(self.depth)[0]
        bin_ = first + (beg >> self.min_shift)
        while bin_ and not ref.has(bin_):  # left to the previous sibling, else up to the parent
            parent = (bin_ - 1) >> 3
            bin_ = bin_ - 1 if bin_ > (parent << 3) + 1 else parent
        if not ref.has(bin_):
            return 0
        if ref.linear is None:
            return ref.loffset(bin_)
        level, top = 0, bin_  # BAI/TBI: the linear index at the bin's first window, as loaded
        while top:
            top, level = (top - 1) >> 3, level + 1
        window = (bin_ - ((1 << (3 * level)) - 1) // 7) << (3 * (self.depth - level))
        value = int(ref.linear[window]) if window < len(ref.linear) else 0
        return 0 if value == (1 << 64) - 1 else value


def _parse_binned_refs(data, pos, n_ref, csi, depth):
    """Walk the per-reference sections once, keeping only where each bin's chunks are."""
    if n_ref < 0:
        raise FormatError("corrupt index (negative reference count)")
    pseudo = pseudo_bin(depth)
    unpack = struct.unpack_from
    size = len(data)
    refs = []
    for _ in range(n_ref):
        n_bin = unpack("<i", data, pos)[0]
        pos += 4
        if n_bin < 0:
            raise FormatError("corrupt index (negative bin count)")
        bin_ids, offsets, loffsets = [], [], [] if csi else None
        pseudo_at = None
        for _ in range(n_bin):
            if csi:
                bin_, loffset = unpack("<IQ", data, pos)
                pos += 12
            else:
                bin_ = unpack("<I", data, pos)[0]
                pos += 4
            n_chunk = unpack("<i", data, pos)[0]
            if n_chunk < 0 or pos + 4 + 16 * n_chunk > size:
                raise FormatError("truncated or corrupt index")
            if bin_ == pseudo:
                pseudo_at = pos
            else:
                bin_ids.append(bin_)
                offsets.append(pos)
                if csi:
                    loffsets.append(loffset)
            pos += 4 + 16 * n_chunk
        linear = None
        if not csi:
            n_intv = unpack("<i", data, pos)[0]
            pos += 4
            if n_intv < 0 or pos + 8 * n_intv > size:
                raise FormatError("truncated or corrupt index")
            linear = np.frombuffer(data, dtype="<u8", count=n_intv, offset=pos)
            pos += 8 * n_intv
        refs.append(RefIndex(data, np.array(bin_ids, dtype=np.int64), np.array(offsets, dtype=np.int64),
                             np.array(loffsets, dtype=np.uint64) if csi else None, linear, pseudo_at))
    n_no_coor = unpack("<Q", data, pos)[0] if pos + 8 <= size else None
    return refs, n_no_coor


def _tabix_meta(data, pos):
    meta = struct.unpack_from("<6i", data, pos)
    l_nm = struct.unpack_from("<i", data, pos + 24)[0]
    if l_nm < 0 or pos + 28 + l_nm > len(data):
        raise FormatError("truncated index")
    raw = data[pos + 28:pos + 28 + l_nm]
    names = [n.decode("utf-8", "replace") for n in raw.split(b"\0") if n]
    return meta, names, pos + 28 + l_nm


def _parse(data, kind):
    if kind == "bai":
        refs, n_no_coor = _parse_binned_refs(data, 8, struct.unpack_from("<i", data, 4)[0], False, 5)
        return BinIndex("bai", 14, 5, refs, n_no_coor=n_no_coor)
    if kind == "tbi":
        n_ref = struct.unpack_from("<i", data, 4)[0]
        meta, names, pos = _tabix_meta(data, 8)
        refs, n_no_coor = _parse_binned_refs(data, pos, n_ref, False, 5)
        return BinIndex("tbi", 14, 5, refs, names=names, tabix=meta, n_no_coor=n_no_coor)
    min_shift, depth, l_aux = struct.unpack_from("<iii", data, 4)
    if not (0 < min_shift < 32 and 0 <= depth < 12 and min_shift + 3 * depth < 64) or l_aux < 0:
        raise IndexLayoutError("corrupt CSI index (bad min_shift/depth)")
    meta = names = None
    if l_aux >= 28:
        meta, names, _ = _tabix_meta(data[16:16 + l_aux], 0)
    pos = 16 + l_aux
    n_ref = struct.unpack_from("<i", data, pos)[0]
    refs, n_no_coor = _parse_binned_refs(data, pos + 4, n_ref, True, depth)
    return BinIndex("csi", min_shift, depth, refs, names=names, tabix=meta, n_no_coor=n_no_coor)


def parse_index(raw, kinds=("bai", "tbi", "csi")):
    """A :class:`BinIndex` from the bytes of a ``.bai``, ``.tbi`` or ``.csi`` file (plain or
    compressed); a file of a kind outside ``kinds`` is refused with :class:`IndexKindError`."""
    data = gunzip_all(raw) if raw[:2] == GZIP_MAGIC else bytes(raw)
    kind = KINDS.get(data[:4])
    if kind not in kinds:
        names = [k.upper() for k in kinds]
        listed = f"{', '.join(names[:-1])} or {names[-1]}" if len(names) > 1 else names[0]
        raise IndexKindError(f"not a {listed} index")
    try:
        return _parse(data, kind)
    except struct.error:
        raise FormatError("truncated index") from None


def load_index(location, kinds=("bai", "tbi", "csi")):
    with access.open_binary(location) as handle:
        return parse_index(handle.read(), kinds)


class BinSizes:
    """What a tile-size estimate reads from an index: per reference, the compressed bytes of the
    chunks of each finest-level bin (summed over whole blocks), and the largest file offset that
    any chunk reaches."""

    def __init__(self, index):
        self.n_ref = len(index.refs)
        self.min_shift = index.min_shift
        self.max_offset = 0
        first, count = finest_level(index.depth)
        self.refs = [self._sums(ref, first, count) for ref in index.refs]

    def _sums(self, ref, first, count):
        keys, sizes = [], []
        unpack, data, top = struct.unpack_from, ref.data, self.max_offset
        for bin_, offset in zip(ref.bin_ids.tolist(), ref.offsets.tolist()):
            n_chunk = unpack("<i", data, offset)[0]
            if not n_chunk:
                continue
            flat = unpack(f"<{2 * n_chunk}Q", data, offset + 4)
            top = max(top, max(flat[1::2]) >> 16)
            if first <= bin_ < first + count:
                keys.append(bin_ - first)
                sizes.append(sum((end >> 16) - (beg >> 16) for beg, end in zip(flat[0::2], flat[1::2])))
        self.max_offset = top
        return np.asarray(keys, dtype=np.int64), np.concatenate([[0], np.cumsum(np.asarray(sizes, dtype=np.int64))])

    def estimate(self, ref_id, start, end):
        """Compressed bytes in the finest bins from ``start >> min_shift`` to ``end >> min_shift``
        (both included)."""
        keys, cumulative = self.refs[ref_id]
        lo = np.searchsorted(keys, start >> self.min_shift, side="left")
        hi = np.searchsorted(keys, end >> self.min_shift, side="right")
        return int(cumulative[hi] - cumulative[lo])
