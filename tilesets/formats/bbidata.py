"""The base-level data of bigWig and bigBed files read in Python, as pybbi reads them.

For a remote file pybbi runs in a helper process (:mod:`.bbiworker`), and every call costs a
round trip plus the pickling of its answer. :class:`DataReader` reads the same blocks through
the server's own range reads instead (the block caches of :mod:`.rangefile`; a server that
misbehaves raises a RemoteError, never ends the process) and keeps them decoded in memory, so a
warm tile crosses no process boundary. It answers what pybbi's queries answer, in the same
order (pybbi 0.4.2 and the UCSC code bundled with it):

* **Blocks** (``cirTreeFindOverlappingBlocks``): the data R tree walked from its root, a child
  or leaf entry taken when the query overlaps its (chromosome, base) range; leaves in tree
  order. Nodes are read when first visited and kept parsed.
* **bigWig intervals** (``bigWigIntervalQuery``): every item of every selected section (the
  section's chromosome is not looked at), clipped to the query: ``max(s, start)``,
  ``min(e, end)``, kept when non-empty. Positions are 32-bit unsigned (a fixed or variable step
  wraps as in C); values float32.
* **bigBed records** (``bigBedIntervalQuery``): blocks selected with the query widened by one
  base on each side; a record is kept when it is on the query's chromosome and overlaps it, or
  is an insertion (start = end) touching either end. pybbi's iterator gives
  ``(chrom, start, end, *rest.split("\\t"))`` (no rest fields for an empty rest).

Where pybbi's answer would depend on something this module does not reproduce, a query answers
None and the caller asks pybbi: a chromosome name found twice in the tree, bigBed text that is
not ASCII (pybbi raises on it), bigWig data that are not sorted and disjoint, or a bigWig query
selecting more than ``MAX_QUERY_BYTES`` of decoded blocks (coarse windows of files without zoom
levels). A block that does not decompress or is shorter than its items raises _Corrupt.

Memory: parsed R tree nodes and decoded blocks live in per-process LRUs shared by all files
(``NODE_CACHE_BYTES``, ``BLOCK_CACHE_BYTES``), keyed by a token of the reader, so a reopened
file never meets another file's entries.
"""

import operator
import struct
import threading

import numpy as np

from .bbifile import (_CIR_LEAF, _CIR_NODE, _MAX_DEPTH, _Corrupt, _Reader, _cir_header, _keys, open_checked,
                      read_block, unreadable)
from .lru import LRU
from .remote_config import RemoteError

BLOCK_CACHE_BYTES = 64 << 20
NODE_CACHE_BYTES = 16 << 20
MAX_QUERY_BYTES = 16 << 20
MAX_NODES_PER_QUERY = 1 << 16
_ENTRY_OVERHEAD = 256
_MASK32 = 0xFFFFFFFF

_bedgraph = np.dtype([("start", "u4"), ("end", "u4"), ("value", "f4")])
_variable = np.dtype([("start", "u4"), ("value", "f4")])


class _BedBlock:
    """A decoded bigBed block: chromosome ids, starts and ends (int64 arrays), pybbi's tuples,
    and bounds that let a query take the whole block without a mask."""

    __slots__ = ("chroms", "starts", "ends", "rows", "only_chrom", "last_start", "first_end", "nbytes")

    def __init__(self, chroms, starts, ends, rows, nbytes):
        self.chroms = np.array(chroms, dtype=np.int64)
        self.starts = np.array(starts, dtype=np.int64)
        self.ends = np.array(ends, dtype=np.int64)
        self.rows = rows
        self.nbytes = nbytes
        single = len(chroms) and min(chroms) == max(chroms)
        self.only_chrom = chroms[0] if single else -1
        self.last_start = max(starts) if len(starts) else 0
        self.first_end = min(ends) if len(ends) else 0


class _Section:
    __slots__ = ("data", "ordered", "nbytes")

    def __init__(self, data, ordered):
        self.data, self.ordered, self.nbytes = data, ordered, data.nbytes


def _charge(value):
    return (value.nbytes if value is not None else 0) + _ENTRY_OVERHEAD


_blocks = LRU(max_bytes=BLOCK_CACHE_BYTES, size_of=_charge)
_nodes = LRU(max_bytes=NODE_CACHE_BYTES, size_of=lambda node: node[1].nbytes * 4 + _ENTRY_OVERHEAD)
_tokens = iter(range(1, 2 ** 62))
_tokens_lock = threading.Lock()


def _new_token():
    with _tokens_lock:
        return next(_tokens)


def clear_cache():
    """Drop every decoded block and parsed node (tests)."""
    _blocks.clear()
    _nodes.clear()


class DataReader:
    """The base-level data of one checked bbi file: ``reader`` is the file's ``_Reader`` (its
    byte order set by the check), ``structure`` the :class:`.bbifile.BbiStructure` found."""

    def __init__(self, reader, structure):
        self._reader = reader
        self._order = structure.order
        self._buffer_size = structure.buffer_size
        self._root = structure.data_index
        self._ids = structure.chrom_ids
        self._names = _names_by_id(structure.chrom_ids)
        self._token = _new_token()
        self._header_checked = False
        self._bedgraph = _bedgraph.newbyteorder(structure.order)
        self._variable = _variable.newbyteorder(structure.order)
        self._floats = np.dtype("f4").newbyteorder(structure.order)
        self._head = struct.Struct(structure.order + "IIIIIBBH")
        self._record = struct.Struct(structure.order + "III")

    def chrom_id(self, chrom):
        """The chromosome's id, or None when it is missing or its name or id is not unique."""
        chrom_id = self._ids.get(chrom)
        if chrom_id is None or self._names.get(chrom_id) != chrom:
            return None
        return chrom_id

    # --- the R tree -----------------------------------------------------------------------

    def blocks(self, chrom_id, start, end):
        """``[(offset, size)]`` of the data blocks an R tree query for [start, end) on
        ``chrom_id`` finds, in the order the UCSC walk lists them."""
        if not self._header_checked:
            _cir_header(self._reader, self._root, "data index")
            self._header_checked = True
        first = np.uint64((chrom_id << 32) | start)
        last = np.uint64((chrom_id << 32) | end)
        found, visited = [], [0]

        def visit(at, depth):
            visited[0] += 1
            if depth > _MAX_DEPTH or visited[0] > MAX_NODES_PER_QUERY:
                raise _Corrupt("the data index loops")
            is_leaf, low, high, offsets, sizes = self._node(at)
            hits = np.flatnonzero((high > first) & (low < last))
            if is_leaf:
                found.extend(zip(offsets[hits].tolist(), sizes[hits].tolist()))
            else:
                for child in offsets[hits].tolist():
                    visit(child, depth + 1)

        visit(self._root + 48, 0)
        return found

    def _node(self, at):
        key = (self._token, at)
        node = _nodes.get(key)
        if node is None:
            is_leaf, _reserved, count = self._reader.unpack("BBH", at, "data index node")
            if is_leaf:
                raw = self._reader.read(at + 4, count * 32, "data index node")
                entries = np.frombuffer(raw, dtype=_CIR_LEAF.newbyteorder(self._order))
                sizes = entries["size"].astype(np.uint64)
            else:
                raw = self._reader.read(at + 4, count * 24, "data index node")
                entries = np.frombuffer(raw, dtype=_CIR_NODE.newbyteorder(self._order))
                sizes = None
            node = (bool(is_leaf), _keys(entries, "start_chrom", "start_base"),
                    _keys(entries, "end_chrom", "end_base"), entries["offset"].astype(np.uint64), sizes)
            _nodes.put(key, node)
        return node

    # --- bigWig ----------------------------------------------------------------------------

    def bigwig_intervals(self, chrom_id, start, end):
        """pybbi's interval list for [start, end) (already clipped to the chromosome) as a
        float64 array (3, n) of starts, ends and values; None when it would select more than
        MAX_QUERY_BYTES of decoded blocks."""
        blocks = self.blocks(chrom_id, start, end)
        if not blocks:
            return np.zeros((3, 0))
        if self._buffer_size:
            decoded = len(blocks) * self._buffer_size
        else:
            decoded = sum(size for _offset, size in blocks)
        if decoded > MAX_QUERY_BYTES:
            return None
        parts = []
        for offset, size in blocks:
            block, ordered = self._bigwig_block(offset, size)
            if ordered:  # only the items that can overlap [start, end): a contiguous run
                first = np.searchsorted(block[1], start, side="right")
                block = block[:, first:first + np.searchsorted(block[0, first:], end, side="left")]
            parts.append(block)
        data = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1)
        starts = np.maximum(data[0], start)
        ends = np.minimum(data[1], end)
        keep = starts < ends
        if keep.all():
            return np.stack((starts, ends, data[2]))
        return np.stack((starts[keep], ends[keep], data[2][keep]))

    def _bigwig_block(self, offset, size):
        """A decoded section (see :meth:`_decode_section`) and whether its items are sorted
        and disjoint (each ends at or before the next starts)."""
        key = (self._token, offset, size)
        block = _blocks.get(key)
        if block is None:
            data = self._decode_section(read_block(self._reader, offset, size, self._buffer_size))
            ordered = bool(np.all(data[0] <= data[1]) and np.all(data[1][:-1] <= data[0][1:]))
            block = _blocks.put(key, _Section(data, ordered))
        return block.data, block.ordered

    def _decode_section(self, data):
        """One section: (3, items) float64 of starts, ends (unsigned 32-bit, as C computes them)
        and values."""
        if len(data) < 24:
            raise _Corrupt("a data section is too short")
        _chrom, first, _end, step, span, kind, _reserved, count = self._head.unpack_from(data)
        item = {1: 12, 2: 8, 3: 4}.get(kind)
        if item is None:
            raise _Corrupt(f"a data section has the unknown type {kind}")
        if 24 + count * item > len(data):
            raise _Corrupt("a data section is shorter than its item count")
        out = np.empty((3, count))
        if kind == 1:  # bedGraph: start, end, value
            items = np.frombuffer(data, dtype=self._bedgraph, count=count, offset=24)
            out[0], out[1], out[2] = items["start"], items["end"], items["value"]
        elif kind == 2:  # variable step: start, value; end = start + span
            items = np.frombuffer(data, dtype=self._variable, count=count, offset=24)
            starts = items["start"].astype(np.int64)
            out[0], out[1], out[2] = starts, (starts + span) & _MASK32, items["value"]
        else:  # fixed step: values from the section's start, every ``step`` bases
            starts = (first + step * np.arange(count, dtype=np.int64)) & _MASK32
            out[0], out[1] = starts, (starts + span) & _MASK32
            out[2] = np.frombuffer(data, dtype=self._floats, count=count, offset=24)
        return out

    # --- bigBed ----------------------------------------------------------------------------

    def bigbed_records(self, chrom, start, end):
        """pybbi's ``fetch_intervals(chrom, start, end, iterator=True)`` as a list, for
        0 <= start <= end <= the chromosome's length; None when only pybbi can answer."""
        chrom_id = self.chrom_id(chrom)
        if chrom_id is None:
            return None
        padded_start = start - 1 if start > 0 else start
        found = []
        for offset, size in self.blocks(chrom_id, padded_start, end + 1):
            block = self._bigbed_block(offset, size)
            if block is None:
                return None
            if block.only_chrom == chrom_id and block.last_start < end and block.first_end > start:
                found.extend(block.rows)
                continue
            starts, ends = block.starts, block.ends
            keep = (block.chroms == chrom_id) & (((starts < end) & (ends > start))
                                                  | ((starts == ends) & ((starts == end) | (ends == start))))
            chosen = np.flatnonzero(keep)
            if len(chosen) == len(block.rows):
                found.extend(block.rows)
            elif len(chosen) and chosen[-1] - chosen[0] + 1 == len(chosen):
                found.extend(block.rows[chosen[0]:chosen[-1] + 1])
            elif len(chosen) == 1:
                found.append(block.rows[chosen[0]])
            elif len(chosen):
                found.extend(operator.itemgetter(*chosen.tolist())(block.rows))
        return found

    def _bigbed_block(self, offset, size):
        key = (self._token, offset, size)
        block = _blocks.get(key, False)
        if block is False:
            data = read_block(self._reader, offset, size, self._buffer_size)
            block = _blocks.put(key, self._decode_records(data))
        return block

    def _decode_records(self, data):
        """A bigBed block as a :class:`_BedBlock` (None if some text is not ASCII: pybbi
        raises on such a record, so pybbi must answer queries that meet it)."""
        chroms, starts, ends, rows = [], [], [], []
        names, unpack, length, position = self._names, self._record.unpack_from, len(data), 0
        while position < length:
            if position + 12 > length:
                raise _Corrupt("a data record is cut short")
            chrom_id, start, end = unpack(data, position)
            stop = data.find(b"\0", position + 12)
            if stop < 0:
                raise _Corrupt("a data record has no end")
            rest = data[position + 12:stop]
            if not rest.isascii():
                return None
            name = names.get(chrom_id)
            rows.append((name, start, end, *rest.decode("ascii").split("\t")) if rest else (name, start, end))
            chroms.append(chrom_id)
            starts.append(start)
            ends.append(end)
            position = stop + 1
        # What the rows hold in memory, roughly: a tuple, two ints and the text split in fields.
        nbytes = length + len(rows) * 160 + 40 * sum(len(row) for row in rows)
        return _BedBlock(chroms, starts, ends, rows, nbytes)


class OpenData(DataReader):
    """A :class:`DataReader` on ``location`` that owns its open data: the quick structure check
    of a ``kind`` ("bigWig" or "bigBed") file is its opening (FormatError when it fails)."""

    def __init__(self, location, kind):
        self._ranged, structure = open_checked(location, kind)
        self.kind = kind
        self.chroms = structure.chroms
        reader = _Reader(self._ranged, self._ranged.size)
        reader.order = structure.order
        super().__init__(reader, structure)

    def records(self, chrom, start, end):
        """:meth:`bigbed_records`, with damage and failed reads as FormatError (a RemoteError,
        which names the URL, as it is)."""
        try:
            return self.bigbed_records(chrom, start, end)
        except RemoteError:
            raise
        except (_Corrupt, OSError) as exc:
            raise unreadable(exc, self.kind) from None

    def pinned_path(self):
        """The name pybbi opens for the very file checked (see :func:`.bbifile.inspect`)."""
        return self._ranged.pinned_path()

    def close(self):
        self._ranged.close()


def _names_by_id(chrom_ids):
    """``{chromosome id: name}`` for the ids that one name alone has (see ``chrom_id``)."""
    names, seen = {}, set()
    for name, chrom_id in chrom_ids.items():
        if chrom_id is None:
            continue
        if chrom_id in seen:
            names[chrom_id] = None
        else:
            seen.add(chrom_id)
            names[chrom_id] = name
    return names
