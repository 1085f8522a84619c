"""The structure of bigWig and bigBed files (bbi), checked in pure Python.

pybbi wraps the UCSC library, whose error handler ends the whole process on a malformed file, so
nothing reaches pybbi before these checks have passed (:mod:`.bbihandle` opens pybbi only on a
checked file).

The same parsing also serves :mod:`.bbizoom`, which reads bigWig zoom levels itself:
:func:`open_checked` (:func:`check_bbi`) returns the header, zoom level headers and chromosome ids
of an open file, and :func:`cir_leaves` lists the leaf entries of an R tree index as numpy arrays.
"""

import functools
import os
import struct
import zlib

import numpy as np

from . import access
from .errors import FormatError

# --- file structure checks ------------------------------------------------------------------

BIGWIG_MAGIC = 0x888FFC26
BIGBED_MAGIC = 0x8789F2EB
_BPT_MAGIC = 0x78CA8C91
_CIR_MAGIC = 0x2468ACE0
_MAX_DEPTH = 64
_SECTION_ITEM_SIZE = {1: 12, 2: 8, 3: 4}  # bedGraph, variableStep, fixedStep


class _Corrupt(Exception):
    pass


def _pread(fd, offset, length):
    return os.pread(fd, length, offset)


class _Reader:
    """Bounds-checked little/big-endian reads at absolute offsets of ``size`` bytes of data.

    ``source`` is an :class:`.access.RandomAccess` (anything with ``read_at(offset, length)``)
    or an open file descriptor (read with ``os.pread``, no mmap)."""

    def __init__(self, source, size):
        self.size, self.order = size, "<"
        read_at = getattr(source, "read_at", None)
        self._read_at = read_at if read_at is not None else functools.partial(_pread, source)

    def read(self, offset, length, what):
        if offset < 0 or length < 0 or offset + length > self.size:
            raise _Corrupt(f"the {what} lies beyond the end of the file (truncated?)")
        data = self._read_at(offset, length)
        if len(data) != length:
            raise _Corrupt(f"the {what} could not be read in full")
        return data

    def unpack(self, fmt, offset, what):
        fmt = self.order + fmt
        return struct.unpack(fmt, self.read(offset, struct.calcsize(fmt), what))


def _walk_bpt(reader, offset, ids=None):
    """The chromosome B+ tree: ``{name: length}`` (names as pybbi decodes them).

    ``ids``, when given, is filled with ``{name: chromosome id}``; a name that occurs twice maps
    to None there (which of the two entries the UCSC lookup would find is not defined).
    """
    magic, block_size, key_size, val_size, _count, _reserved = reader.unpack("IIIIQQ", offset, "chromosome tree")
    if magic != _BPT_MAGIC:
        raise _Corrupt("the chromosome tree is missing or damaged")
    if val_size != 8 or key_size == 0 or block_size == 0:
        raise _Corrupt("the chromosome tree has an unexpected layout")
    chroms = {}
    seen = set()

    def node(at, depth):
        if depth > _MAX_DEPTH or at in seen:
            raise _Corrupt("the chromosome tree loops")
        seen.add(at)
        is_leaf, _reserved, count = reader.unpack("BBH", at, "chromosome tree node")
        item = key_size + 8
        body = reader.read(at + 4, count * item, "chromosome tree node")
        for i in range(count):
            value = body[i * item + key_size: (i + 1) * item]
            if is_leaf:
                chrom_id, length = struct.unpack(reader.order + "II", value)
                try:
                    name = body[i * item: i * item + key_size].split(b"\0", 1)[0].decode("ascii")
                except UnicodeDecodeError:
                    raise _Corrupt("a chromosome name is not ASCII text") from None
                if length >= 2 ** 31:  # pybbi takes positions as C ints
                    raise _Corrupt(f"chromosome {name!r} is longer than 2^31 - 1 bases")
                if ids is not None:
                    ids[name] = None if name in ids else chrom_id
                chroms[name] = length
            else:
                node(struct.unpack(reader.order + "Q", value)[0], depth + 1)

    node(offset + 32, 0)
    return chroms


def _cir_header(reader, offset, what):
    """The 48-byte header of an R tree index must be in the file and start with its magic."""
    if offset == 0:
        raise _Corrupt(f"the {what} is missing (empty or unfinished file?)")
    (magic,) = reader.unpack("I", offset, f"{what} header")
    if magic != _CIR_MAGIC:
        raise _Corrupt(f"the {what} is missing or damaged")
    reader.read(offset, 48, f"{what} header")


def _walk_cir(reader, offset, what, on_block=None):
    """An R tree index: checks every node lies in the file; ``on_block(offset, size)`` for each
    data block it points to (None: check only the header and the root node)."""
    _cir_header(reader, offset, what)
    seen = set()

    def node(at, depth):
        if depth > _MAX_DEPTH or at in seen:
            raise _Corrupt(f"the {what} loops")
        seen.add(at)
        is_leaf, _reserved, count = reader.unpack("BBH", at, f"{what} node")
        if is_leaf:
            body = reader.read(at + 4, count * 32, f"{what} node")
            if on_block is not None:
                for i in range(count):
                    data_offset, data_size = struct.unpack(reader.order + "QQ", body[i * 32 + 16: i * 32 + 32])
                    on_block(data_offset, data_size)
        else:
            body = reader.read(at + 4, count * 24, f"{what} node")
            if on_block is not None:
                for i in range(count):
                    (child,) = struct.unpack(reader.order + "Q", body[i * 24 + 16: i * 24 + 24])
                    node(child, depth + 1)

    node(offset + 48, 0)


_SUMMARY_RECORD_SIZE = 32  # a zoom level record (bigWig and bigBed alike)


def read_block(reader, offset, size, buffer_size, what="data block"):
    """The block at ``offset``, inflated when the file compresses its blocks (``buffer_size``,
    the largest uncompressed block, > 0); it must inflate completely and within that size."""
    data = reader.read(offset, size, what)
    if buffer_size:
        inflater = zlib.decompressobj()
        try:
            data = inflater.decompress(data, buffer_size + 1)
        except zlib.error:
            raise _Corrupt(f"a {what} does not decompress") from None
        if len(data) > buffer_size or not inflater.eof:
            raise _Corrupt(f"a {what} is truncated or larger than the file declares")
    return data


def _block_reader(reader, buffer_size, check_section):
    """A block check: inflates within the declared buffer; a data section (``check_section``)
    must hold its items, a zoom block whole summary records (the UCSC code asserts that)."""

    def on_block(offset, size):
        data = read_block(reader, offset, size, buffer_size)
        if check_section:
            if len(data) < 24:
                raise _Corrupt("a data section is too short")
            kind, _reserved, count = struct.unpack(reader.order + "BBH", data[20:24])
            item = _SECTION_ITEM_SIZE.get(kind)
            if item is None:
                raise _Corrupt(f"a data section has the unknown type {kind}")
            if 24 + count * item > len(data):
                raise _Corrupt("a data section is shorter than its item count")
        elif len(data) % _SUMMARY_RECORD_SIZE:
            raise _Corrupt("a zoom block does not hold a whole number of 32-byte records")

    return on_block


class BbiStructure:
    """What :func:`check_bbi` read: byte order (``"<"`` or ``">"``), the size of the largest
    uncompressed block (0: blocks are stored uncompressed), the zoom levels as
    ``(reduction, data offset, index offset)`` in file order, ``{name: length}``,
    ``{name: chromosome id or None}`` (see :func:`_walk_bpt`) and the offset of the R tree
    index of the base-level data."""

    __slots__ = ("order", "buffer_size", "zooms", "chroms", "chrom_ids", "data_index")

    def __init__(self, order, buffer_size, zooms, chroms, chrom_ids, data_index=0):
        self.order, self.buffer_size, self.zooms = order, buffer_size, zooms
        self.chroms, self.chrom_ids, self.data_index = chroms, chrom_ids, data_index


_MAGIC = {"bigWig": BIGWIG_MAGIC, "bigBed": BIGBED_MAGIC}
_MAX_AUTOSQL = 1 << 20  # bytes searched for the end of a bigBed's autoSql text


def _autosql_check(reader, offset):
    """The autoSql text must end (NUL) inside the file and be ASCII, as pybbi decodes it."""
    end = min(reader.size, offset + _MAX_AUTOSQL)
    if offset >= reader.size:
        raise _Corrupt("the autoSql text lies beyond the end of the file (truncated?)")
    text, chunk = b"", 4096  # a few KB at a time: a remote file is not read a megabyte ahead
    while True:
        text += reader.read(offset + len(text), min(chunk, end - offset - len(text)), "autoSql text")
        stop = text.find(b"\0")
        if stop >= 0:
            break
        if offset + len(text) >= end:
            raise _Corrupt("the autoSql text has no end")
        chunk *= 2
    try:
        text[:stop].decode("ascii")
    except UnicodeDecodeError:
        raise _Corrupt("the autoSql text is not ASCII") from None


def _record_check(reader, buffer_size):
    """A data-block check for bigBed: the block inflates within the declared buffer and holds
    whole records (chromId, start, end: 12 bytes, then NUL-terminated ASCII text, which is all
    pybbi can decode)."""
    order = reader.order

    def on_block(offset, size):
        data = read_block(reader, offset, size, buffer_size)
        position, length = 0, len(data)
        while position < length:
            if position + 12 > length:
                raise _Corrupt("a data record is cut short")
            _chrom_id, start, end = struct.unpack_from(order + "III", data, position)
            if end < start:
                raise _Corrupt("a data record ends before it starts")
            stop = data.find(b"\0", position + 12)
            if stop < 0:
                raise _Corrupt("a data record has no end")
            if not data[position + 12:stop].isascii():  # pybbi decodes the fields as ASCII
                raise _Corrupt(f"a data record has text that is not ASCII (at {start}-{end})")
            position = stop + 1

    return on_block


def check_bbi(reader, kind, deep=True):
    """Check an open ``_Reader`` as a ``kind`` ("bigWig" or "bigBed") file; returns a
    :class:`BbiStructure`.

    Both kinds: signature and byte order, header, zoom level headers, total summary, extension
    header, chromosome B+ tree, and the R-tree roots of the data and every zoom level (with
    ``deep``: every node, and every block inflated and checked). bigBed also: the field counts
    and the autoSql text; its data blocks are checked record by record, a bigWig's as sections.
    Raises FormatError (or _Corrupt, OSError: :func:`inspect` turns them into FormatError).
    """
    other = "bigBed" if kind == "bigWig" else "bigWig"
    if reader.size < 4:
        raise FormatError(f"not a {kind} file (too short)")
    magic_bytes = reader.read(0, 4, "signature")
    if int.from_bytes(magic_bytes, "little") == _MAGIC[kind]:
        reader.order = "<"
    elif int.from_bytes(magic_bytes, "big") == _MAGIC[kind]:
        reader.order = ">"
    elif _MAGIC[other] in (int.from_bytes(magic_bytes, "little"), int.from_bytes(magic_bytes, "big")):
        raise FormatError(f"this is a {other} file, not a {kind}")
    else:
        raise FormatError(f"not a {kind} file (no {kind} signature)")
    (_magic, version, zoom_levels, chrom_tree, full_data, full_index, field_count, defined_fields, autosql,
     total_summary, buffer_size, extension) = reader.unpack("IHHQQQHHQQIQ", 0, "header")
    if not 1 <= version <= 4:
        raise _Corrupt(f"unsupported {kind} version {version}")
    if kind == "bigBed" and (field_count < 3 or defined_fields > field_count):
        raise _Corrupt(f"the header declares {field_count} fields ({defined_fields} defined)")
    zooms = [reader.unpack("IIQQ", 64 + 24 * i, "zoom level header") for i in range(zoom_levels)]
    if total_summary:
        reader.read(total_summary, 40, "summary")
    if extension:
        reader.read(extension, 12, "extension header")
    if kind == "bigBed" and autosql:
        _autosql_check(reader, autosql)
    reader.read(full_data, 8, "data header")
    chrom_ids = {}
    chroms = _walk_bpt(reader, chrom_tree, chrom_ids)
    if not chroms:
        raise FormatError(f"the {kind} has no chromosomes")
    if not deep:
        data_check = None
    elif kind == "bigBed":
        data_check = _record_check(reader, buffer_size)
    else:
        data_check = _block_reader(reader, buffer_size, check_section=True)
    _walk_cir(reader, full_index, "data index", data_check)
    zoom_check = _block_reader(reader, buffer_size, check_section=False) if deep else None
    for level, (_reduction, _reserved, _data_offset, index_offset) in enumerate(zooms):
        _walk_cir(reader, index_offset, f"zoom level {level} index", zoom_check)
    return BbiStructure(reader.order, buffer_size,
                        [(reduction, data_offset, index_offset) for reduction, _, data_offset, index_offset in zooms],
                        chroms, chrom_ids, full_index)


def unreadable(exc, kind):
    """The FormatError for an error met while reading a ``kind`` file: damage (_Corrupt) or a
    failed read (OSError)."""
    if isinstance(exc, _Corrupt):
        return FormatError(f"corrupt {kind}: {exc}")
    return FormatError(f"cannot read the file: {exc.strerror or exc}")


def open_checked(location, kind, deep=False):
    """The data at ``location`` opened for reads at offsets, with the :class:`BbiStructure` the
    check found; FormatError when it does not open or is not a sound ``kind`` file."""
    try:
        ranged = access.open_ranged(location)
    except OSError as exc:
        raise unreadable(exc, kind) from None
    try:
        return ranged, check_bbi(_Reader(ranged, ranged.size), kind, deep)
    except (_Corrupt, OSError) as exc:
        ranged.close()
        raise unreadable(exc, kind) from None
    except BaseException:
        ranged.close()
        raise


def inspect(location, kind, deep=True, then=None):
    """Check that ``location`` is a well-formed ``kind`` file; returns its ``{name: length}``,
    or with ``then``, ``then(p)`` where ``p`` names the very file just checked
    (:meth:`.access.RandomAccess.pinned_path`), so that a file replaced meanwhile is never opened
    unchecked (pybbi is opened this way).

    ``deep`` walks both indexes completely and checks every block (ingest); otherwise only the
    parts that opening the file reads, plus the index roots. Raises FormatError.
    """
    ranged, structure = open_checked(location, kind, deep)
    with ranged:
        if then is None:
            return structure.chroms
        try:
            return then(ranged.pinned_path())
        except (_Corrupt, OSError) as exc:
            raise unreadable(exc, kind) from None


def inspect_bigbed(location, deep=True, then=None):
    return inspect(location, "bigBed", deep, then)


# --- R tree leaves as arrays (zoom level reading, bbizoom.py) -------------------------------

_CIR_ENTRY = [("start_chrom", "u4"), ("start_base", "u4"), ("end_chrom", "u4"), ("end_base", "u4"),
              ("offset", "u8")]
_CIR_LEAF = np.dtype(_CIR_ENTRY + [("size", "u8")])
_CIR_NODE = np.dtype(_CIR_ENTRY)


def _keys(entries, chrom, base):
    """(chromosome, base) pairs as one uint64 each: compares as the UCSC code compares them."""
    return (entries[chrom].astype(np.uint64) << np.uint64(32)) | entries[base].astype(np.uint64)


def cir_leaves(reader, offset, what):
    """The leaf entries of the R tree at ``offset``, in the order a depth-first search visits
    them: ``(low, high, offsets, sizes)``, numpy uint64 arrays.

    An R tree query visits a leaf entry only if the query overlaps the entry's range and the
    range of every node above it. Those ranges are (chromosome, base) pairs, compared
    lexicographically; a query (c, s, e) overlaps [low, high] when (c, s) < high and
    (c, e) > low. Over a path the conditions combine into one range: the largest low and the
    smallest high. So ``low``/``high`` are those combined bounds (packed as chromosome << 32 |
    base), and a query selects exactly the entries with ``key(c, s) < high`` and
    ``key(c, e) > low``, in this order. Raises _Corrupt.
    """
    _cir_header(reader, offset, what)
    leaf_type = _CIR_LEAF.newbyteorder(reader.order)
    node_type = _CIR_NODE.newbyteorder(reader.order)
    parts, seen = [], set()
    widest = (0, 2 ** 64 - 1)

    def node(at, depth, low, high):
        if depth > _MAX_DEPTH or at in seen:
            raise _Corrupt(f"the {what} loops")
        seen.add(at)
        is_leaf, _reserved, count = reader.unpack("BBH", at, f"{what} node")
        if is_leaf:
            entries = np.frombuffer(reader.read(at + 4, count * 32, f"{what} node"), dtype=leaf_type)
            parts.append((np.maximum(_keys(entries, "start_chrom", "start_base"), np.uint64(low)),
                          np.minimum(_keys(entries, "end_chrom", "end_base"), np.uint64(high)),
                          entries["offset"].astype(np.uint64), entries["size"].astype(np.uint64)))
        else:
            entries = np.frombuffer(reader.read(at + 4, count * 24, f"{what} node"), dtype=node_type)
            lows = _keys(entries, "start_chrom", "start_base").tolist()
            highs = _keys(entries, "end_chrom", "end_base").tolist()
            for child, child_low, child_high in zip(entries["offset"].tolist(), lows, highs):
                node(child, depth + 1, max(low, child_low), min(high, child_high))

    node(offset + 48, 0, *widest)
    if not parts:
        empty = np.zeros(0, dtype=np.uint64)
        return empty, empty, empty, empty
    return tuple(np.concatenate(column) for column in zip(*parts))
