"""BGZF, the blocked gzip of BAM, BCF and bgzip-compressed VCF and FASTA files.

A BGZF file is a run of gzip members ("blocks") holding at most 64 KiB of data each; the gzip
header's extra field carries a ``BC`` subfield with the block's compressed size minus one, so a
reader can hop from block to block without inflating anything. A position in the uncompressed
data is a *virtual offset*: ``(file offset of its block << 16) | offset inside the block's data``.
A well-formed file ends with a fixed empty block, :data:`EOF_BLOCK`. All integers little-endian.
"""

import bisect
import gzip
import struct
import zlib

from . import access
from .errors import FormatError
from .lru import LRU

MAGIC = b"\x1f\x8b\x08\x04"  # gzip, deflate, FEXTRA set
GZIP_MAGIC = b"\x1f\x8b"
EOF_BLOCK = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")
BLOCK_DATA_MAX = 0xFF00  # data per written block, as bgzip/htslib write them
_HEAD = 18  # fixed gzip header (12) plus the usual 6-byte extra field
_BLOCK_START = b"\x1f\x8b\x08\x04\x00\x00\x00\x00\x00\xff\x06\x00BC\x02\x00"


class CompressionError(FormatError):
    """Compressed bytes that do not inflate."""


# --- one block -----------------------------------------------------------------------------


def _block_size(head, offset):
    """Total size of the block whose first bytes (at least 12 + XLEN of them) are ``head``."""
    if len(head) < _HEAD or head[:4] != MAGIC:
        raise FormatError(f"no BGZF block at byte {offset}")
    xlen = struct.unpack_from("<H", head, 10)[0]
    extra = head[12:12 + xlen]
    at = 0
    while at + 4 <= len(extra):
        length = struct.unpack_from("<H", extra, at + 2)[0]
        if extra[at:at + 2] == b"BC" and length == 2 and at + 6 <= len(extra):
            return struct.unpack_from("<H", extra, at + 4)[0] + 1
        at += 4 + length
    raise FormatError(f"gzip member at byte {offset} is not a BGZF block (no BC field)")


def _head(read_at, offset):
    """The header bytes of the block at ``offset``: 18, or 12 + XLEN for a longer extra field."""
    head = read_at(offset, _HEAD)
    if len(head) >= 12 and head[:4] == MAGIC:
        xlen = struct.unpack_from("<H", head, 10)[0]
        if xlen > _HEAD - 12:
            head += read_at(offset + _HEAD, 12 + xlen - _HEAD)
    return head


def _inflate(raw, offset):
    """The data of one whole block ``raw`` (found at byte ``offset``)."""
    xlen = struct.unpack_from("<H", raw, 10)[0]
    try:
        data = zlib.decompress(raw[12 + xlen:-8], -15)
    except zlib.error as exc:
        raise FormatError(f"corrupt BGZF block at byte {offset}: {exc}") from None
    if len(data) != struct.unpack_from("<I", raw, len(raw) - 4)[0]:
        raise FormatError(f"corrupt BGZF block at byte {offset}: wrong length")
    return data


def _reader_of(handle):
    def read_at(offset, length):
        handle.seek(offset)
        return handle.read(length)

    return read_at


def read_block(handle, offset):
    """``(size, data)`` of the block at byte ``offset`` of an open binary file; ``(0, b"")`` at
    the end of the file."""
    read_at = _reader_of(handle)
    head = _head(read_at, offset)
    if not head:
        return 0, b""
    size = _block_size(head, offset)
    raw = head + read_at(offset + len(head), size - len(head))
    if len(raw) != size:
        raise FormatError(f"truncated BGZF block at byte {offset}")
    return size, _inflate(raw, offset)


def iter_blocks(handle, offset=0):
    """``(offset, size, data)`` of each block from ``offset`` to the end of the file."""
    while True:
        size, data = read_block(handle, offset)
        if size == 0:
            return
        yield offset, size, data
        offset += size


def first_block(location):
    """The data of the first block of a file, or b"" when it does not start with a sound one."""
    with access.open_binary(location) as handle:
        try:
            return read_block(handle, 0)[1]
        except FormatError:
            return b""


def is_bgzf_bytes(data):
    """True when ``data`` (the first bytes of a file) starts with a BGZF block header."""
    try:
        _block_size(data[:64], 0)
        return True
    except FormatError:
        return False


def is_bgzf(location):
    """True when the file starts with a BGZF block header."""
    with access.open_binary(location) as handle:
        return is_bgzf_bytes(handle.read(64))


def has_eof_block(location):
    """True when the file ends with :data:`EOF_BLOCK`."""
    with access.open_binary(location) as handle:
        size = handle.seek(0, 2)
        if size < len(EOF_BLOCK):
            return False
        handle.seek(size - len(EOF_BLOCK))
        return handle.read() == EOF_BLOCK


def gunzip_all(raw):
    """The data of a whole (multi-member) gzip or BGZF file held in memory."""
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise CompressionError(f"corrupt compressed data: {exc}") from None


def compress(data, level=6, block_data=BLOCK_DATA_MAX):
    """``data`` as BGZF blocks of ``block_data`` bytes each (nothing at all for empty data)."""
    out = []
    for start in range(0, len(data), block_data):
        piece = data[start:start + block_data]
        packer = zlib.compressobj(level, zlib.DEFLATED, -15)
        deflated = packer.compress(piece) + packer.flush()
        out.append(_BLOCK_START + struct.pack("<H", len(deflated) + 25))
        out.append(deflated)
        out.append(struct.pack("<II", zlib.crc32(piece) & 0xFFFFFFFF, len(piece)))
    return b"".join(out)


# --- virtual offsets -----------------------------------------------------------------------


def voffset(coffset, uoffset):
    return (coffset << 16) | uoffset


def split_voffset(voff):
    return voff >> 16, voff & 0xFFFF


def span_pieces(handle, vbeg, vend):
    """The bytes of ``[vbeg, vend)``: ``("range", start, stop)`` for whole blocks of the file, and
    ``("data", bytes)`` for the uncompressed part of a block cut by either end."""
    if vend <= vbeg:
        return []
    cbeg, ubeg = split_voffset(vbeg)
    cend, uend = split_voffset(vend)
    if cbeg == cend:
        return [("data", read_block(handle, cbeg)[1][ubeg:uend])]
    pieces = []
    start = cbeg
    if ubeg:
        size, data = read_block(handle, cbeg)
        pieces.append(("data", data[ubeg:]))
        start = cbeg + size
    if start < cend:
        pieces.append(("range", start, cend))
    if uend:
        pieces.append(("data", read_block(handle, cend)[1][:uend]))
    return pieces


# --- reading at any uncompressed offset ----------------------------------------------------


class BgzfFile:
    """A bgzip file read at uncompressed offsets: ``read_at(offset, length)`` and ``size``, like
    :class:`~.access.RandomAccess` (which it reads through, so one instance serves every thread).
    The block table is built from the block headers when the file is opened, or taken from the
    file's ``.gzi`` (``gzi``: its bytes) when given, which saves reading a header in every block
    (for a remote file, the whole file); a few recently inflated blocks are kept."""

    def __init__(self, location, cached_blocks=32, gzi=None):
        self.file = access.open_ranged(location)
        try:
            if gzi is None:
                self._scan()
            else:
                self._from_gzi(gzi)
        except BaseException:
            self.file.close()
            raise
        self._blocks = LRU(max_items=cached_blocks)

    def _scan(self):
        read_at, file_size = self.file.read_at, self.file.size
        self.starts, self.ustarts, self.sizes = [], [], []  # file offset, data offset, block size
        position = total = 0
        while position < file_size:
            size, isize = self._block_at(position)
            if isize:
                self.starts.append(position)
                self.ustarts.append(total)
                self.sizes.append(size)
                total += isize
            position += size
        self.size = total

    def _block_at(self, position):
        """(size, uncompressed size) of the block at ``position``; FormatError when it is not one."""
        read_at, file_size = self.file.read_at, self.file.size
        try:
            head = _head(read_at, position)
            size = _block_size(head, position)
        except FormatError as exc:
            raise FormatError(f"corrupt bgzip file: {exc}") from None
        if size < len(head) + 8 or position + size > file_size:
            raise FormatError(f"corrupt bgzip file: damaged or truncated block at byte {position}")
        (isize,) = struct.unpack("<I", read_at(position + size - 4, 4))
        return size, isize

    def _from_gzi(self, gzi):
        """The table from a ``.gzi``: a count, then (file offset, data offset) of every block but
        the first, as uint64 pairs. Only the last block is read, for its size."""
        if len(gzi) < 8 or len(gzi) != 8 + 16 * struct.unpack_from("<Q", gzi)[0]:
            raise FormatError("the .gzi index of the bgzip file is damaged")
        pairs = struct.iter_unpack("<QQ", gzi[8:])
        starts, ustarts = [0], [0]
        for start, ustart in pairs:
            if start <= starts[-1] or ustart < ustarts[-1] or start >= self.file.size:
                raise FormatError("the .gzi index does not fit the bgzip file")
            starts.append(start)
            ustarts.append(ustart)
        last_size, last_isize = self._block_at(starts[-1])
        sizes = [after - before for before, after in zip(starts, starts[1:])] + [last_size]
        kept = [i for i in range(len(starts)) if i + 1 == len(starts) or ustarts[i + 1] > ustarts[i]]
        if not last_isize:
            kept = kept[:-1]
        self.starts = [starts[i] for i in kept]
        self.ustarts = [ustarts[i] for i in kept]
        self.sizes = [sizes[i] for i in kept]
        self.size = ustarts[-1] + last_isize

    def _block(self, index, raw):
        def inflate():
            try:
                return _inflate(raw, self.starts[index])
            except FormatError:
                where = self.starts[index]
                raise FormatError(f"corrupt bgzip file: the block at byte {where} does not decompress") from None

        return self._blocks.get_or_load(index, inflate)

    def read_at(self, offset, length):
        if length <= 0 or offset >= self.size:
            return b""
        end = min(offset + length, self.size)
        first = bisect.bisect_right(self.ustarts, offset) - 1
        last = bisect.bisect_right(self.ustarts, end - 1) - 1
        span_start = self.starts[first]
        span = self.file.read_at(span_start, self.starts[last] + self.sizes[last] - span_start)
        parts = []
        for index in range(first, last + 1):
            at = self.starts[index] - span_start
            parts.append(self._block(index, span[at:at + self.sizes[index]]))
        skip = offset - self.ustarts[first]
        return b"".join(parts)[skip:skip + (end - offset)]
