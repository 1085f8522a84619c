"""BGZF-based genomics formats in pure Python: the pieces an htsget server needs (no Django here).

* **BGZF** (BAM, bgzipped VCF, BCF): a file is a series of gzip members ("blocks") of at most 64 KiB
  of data each, whose gzip header carries the block's compressed size. A position in the data is a
  *virtual offset* ``(block offset in the file << 16) | offset inside the block's data``. A file ends
  with a fixed empty block, :data:`EOF_BLOCK`.
* **Indexes**: ``.bai`` (BAM), ``.tbi`` (tabix) and ``.csi`` (either); all map a genomic range to
  *chunks* ``[vbeg, vend)`` of virtual offsets through a binning scheme (:func:`reg2bins`) and a
  lower bound (BAI/TBI linear index, CSI per-bin ``loffset``). :func:`load_index` parses any of them
  into a :class:`BinIndex`.
* **Edges**: a chunk rarely starts or ends on a block boundary, and a block may even start in the
  middle of a record (files written by ``bgzip`` or htsjdk). :func:`plan_pieces` therefore serves the
  untouched middle blocks as byte ranges of the file and re-compresses the partial edge blocks into
  fresh BGZF blocks, so that concatenating the pieces always gives a valid stream.
* **Facts** computed once at ingest: where the header ends, the references, the file size, whether
  the EOF block is there, the file's MD5 (:func:`bam_facts`, :func:`vcf_facts`, :func:`bcf_facts`).

All integers are little-endian. Errors in a file are reported as :class:`GeneratorError`.
"""

import gzip
import hashlib
import os
import re
import struct
import zlib

import numpy as np

from .base import GeneratorError

EOF_BLOCK = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")
BLOCK_DATA_MAX = 0xFF00  # data per written block, as bgzip/htslib do (leaves room for incompressible data)
MAX_UINT32 = 2**32 - 1
FACTS_VERSION = 1
_HASH_CHUNK = 4 * 1024 * 1024
_GZIP_MAGIC = b"\x1f\x8b"


# --- BGZF blocks ---------------------------------------------------------------------------


def _block_size(header, offset):
    """Total size of the BGZF block whose first bytes are ``header`` (at least 12 + XLEN bytes)."""
    if len(header) < 18 or header[:4] != b"\x1f\x8b\x08\x04":
        raise GeneratorError(f"no BGZF block at byte {offset}")
    xlen = struct.unpack_from("<H", header, 10)[0]
    extra = header[12:12 + xlen]
    pos = 0
    while pos + 4 <= len(extra):
        si1, si2, slen = extra[pos], extra[pos + 1], struct.unpack_from("<H", extra, pos + 2)[0]
        if si1 == 66 and si2 == 67 and slen == 2 and pos + 6 <= len(extra):
            return struct.unpack_from("<H", extra, pos + 4)[0] + 1
        pos += 4 + slen
    raise GeneratorError(f"gzip member at byte {offset} is not a BGZF block (no BC field)")


def read_block(handle, offset):
    """``(size, data)`` of the BGZF block at byte ``offset`` of an open binary file."""
    handle.seek(offset)
    head = handle.read(18)
    if not head:
        return 0, b""
    if len(head) >= 12 and head[:4] == b"\x1f\x8b\x08\x04":
        xlen = struct.unpack_from("<H", head, 10)[0]
        if xlen > 6:
            head += handle.read(12 + xlen - 18)
    size = _block_size(head, offset)
    rest = handle.read(size - len(head))
    raw = head + rest
    if len(raw) != size:
        raise GeneratorError(f"truncated BGZF block at byte {offset}")
    xlen = struct.unpack_from("<H", raw, 10)[0]
    try:
        data = zlib.decompress(raw[12 + xlen:-8], -15)
    except zlib.error as exc:
        raise GeneratorError(f"corrupt BGZF block at byte {offset}: {exc}") from None
    if len(data) != struct.unpack_from("<I", raw, size - 4)[0]:
        raise GeneratorError(f"corrupt BGZF block at byte {offset}: wrong length")
    return size, data


def iter_blocks(handle, offset=0):
    """``(offset, size, data)`` of each block from ``offset`` to the end of the file."""
    while True:
        size, data = read_block(handle, offset)
        if size == 0:
            return
        yield offset, size, data
        offset += size


def compress(data, level=6, block_data=BLOCK_DATA_MAX):
    """``data`` as BGZF blocks of ``block_data`` bytes each (no block at all for empty data)."""
    out = []
    for start in range(0, len(data), block_data):
        piece = data[start:start + block_data]
        packer = zlib.compressobj(level, zlib.DEFLATED, -15)
        cdata = packer.compress(piece) + packer.flush()
        size = len(cdata) + 26
        out.append(b"\x1f\x8b\x08\x04\x00\x00\x00\x00\x00\xff\x06\x00BC\x02\x00" + struct.pack("<H", size - 1))
        out.append(cdata)
        out.append(struct.pack("<II", zlib.crc32(piece) & 0xFFFFFFFF, len(piece)))
    return b"".join(out)


def is_bgzf(path):
    """True when the file starts with a BGZF block."""
    with open(path, "rb") as handle:
        return is_bgzf_bytes(handle.read(64))


def is_bgzf_bytes(data):
    """True when ``data`` starts with a BGZF block."""
    try:
        _block_size(data[:64], 0)
        return True
    except GeneratorError:
        return False


def has_eof_block(path):
    size = os.path.getsize(path)
    if size < len(EOF_BLOCK):
        return False
    with open(path, "rb") as handle:
        handle.seek(size - len(EOF_BLOCK))
        return handle.read() == EOF_BLOCK


def gunzip_all(raw):
    """The data of a whole (multi-member) gzip/BGZF file held in memory."""
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise GeneratorError(f"corrupt compressed data: {exc}") from None


def voffset(coffset, uoffset):
    return (coffset << 16) | uoffset


def split_voffset(voff):
    return voff >> 16, voff & 0xFFFF


def file_md5(path):
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


# --- indexes -------------------------------------------------------------------------------


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


class RefIndex:
    """The index of one reference, decoded lazily from the index bytes: the bins that exist
    (sorted numpy arrays of bin numbers and of where their chunk lists start) and the lower bounds,
    ``linear`` (BAI/TBI: one voffset per 2^min_shift window) or per-bin ``loffsets`` (CSI)."""

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

    def _chunks_at(self, offset):
        n_chunk = struct.unpack_from("<i", self.data, offset)[0]
        flat = struct.unpack_from(f"<{2 * n_chunk}Q", self.data, offset + 4)
        return list(zip(flat[0::2], flat[1::2]))

    def chunks(self, bins):
        """The chunks of those of ``bins`` that exist."""
        found = []
        for where in self._find(bins):
            found.extend(self._chunks_at(int(self.offsets[where])))
        return found

    def end(self):
        """The voffset just after the reference's last record (pseudo-bin, else the chunks)."""
        if self.pseudo is not None:
            chunks = self._chunks_at(self.pseudo)
            if chunks:
                return chunks[0][1]
        ends = [end for where in range(len(self.bin_ids)) for _, end in self._chunks_at(int(self.offsets[where]))]
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
        level_first = ((1 << (3 * self.depth)) - 1) // 7
        bin_ = level_first + (beg >> self.min_shift)
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


def _parse_binned_refs(data, pos, n_ref, csi, depth):
    """Walk the per-reference sections once, keeping only where each bin's chunks are."""
    if n_ref < 0:
        raise GeneratorError("corrupt index (negative reference count)")
    pseudo = pseudo_bin(depth)
    unpack = struct.unpack_from
    size = len(data)
    refs = []
    try:
        for _ in range(n_ref):
            n_bin = unpack("<i", data, pos)[0]
            pos += 4
            if n_bin < 0:
                raise GeneratorError("corrupt index (negative bin count)")
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
                    raise GeneratorError("truncated or corrupt index")
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
                    raise GeneratorError("truncated or corrupt index")
                linear = np.frombuffer(data, dtype="<u8", count=n_intv, offset=pos)
                pos += 8 * n_intv
            refs.append(RefIndex(data, np.array(bin_ids, dtype=np.int64), np.array(offsets, dtype=np.int64),
                                 np.array(loffsets, dtype=np.uint64) if csi else None, linear, pseudo_at))
    except struct.error:
        raise GeneratorError("truncated index") from None
    n_no_coor = unpack("<Q", data, pos)[0] if pos + 8 <= size else None
    return refs, n_no_coor


def _tabix_meta(data, pos):
    try:
        meta = struct.unpack_from("<6i", data, pos)
        l_nm = struct.unpack_from("<i", data, pos + 24)[0]
    except struct.error:
        raise GeneratorError("truncated index") from None
    if l_nm < 0 or pos + 28 + l_nm > len(data):
        raise GeneratorError("truncated index")
    raw = data[pos + 28:pos + 28 + l_nm]
    names = [n.decode("utf-8", "replace") for n in raw.split(b"\0") if n]
    return meta, names, pos + 28 + l_nm


def parse_index(raw):
    """A :class:`BinIndex` from the bytes of a ``.bai``, ``.tbi`` or ``.csi`` file."""
    data = gunzip_all(raw) if raw[:2] == _GZIP_MAGIC else bytes(raw)
    magic = data[:4]
    try:
        if magic == b"BAI\1":
            refs, n_no_coor = _parse_binned_refs(data, 8, struct.unpack_from("<i", data, 4)[0], False, 5)
            return BinIndex("bai", 14, 5, refs, n_no_coor=n_no_coor)
        if magic == b"TBI\1":
            n_ref = struct.unpack_from("<i", data, 4)[0]
            meta, names, pos = _tabix_meta(data, 8)
            refs, n_no_coor = _parse_binned_refs(data, pos, n_ref, False, 5)
            return BinIndex("tbi", 14, 5, refs, names=names, tabix=meta, n_no_coor=n_no_coor)
        if magic == b"CSI\1":
            min_shift, depth, l_aux = struct.unpack_from("<iii", data, 4)
            if not (0 < min_shift < 32 and 0 < depth < 12 and min_shift + 3 * depth < 64) or l_aux < 0:
                raise GeneratorError("corrupt CSI index (bad min_shift/depth)")
            meta = names = None
            if l_aux >= 28:
                meta, names, _ = _tabix_meta(data[16:16 + l_aux], 0)
            pos = 16 + l_aux
            n_ref = struct.unpack_from("<i", data, pos)[0]
            refs, n_no_coor = _parse_binned_refs(data, pos + 4, n_ref, True, depth)
            return BinIndex("csi", min_shift, depth, refs, names=names, tabix=meta, n_no_coor=n_no_coor)
    except struct.error:
        raise GeneratorError("truncated index") from None
    raise GeneratorError("not a BAI, TBI or CSI index")


def load_index(path):
    with open(path, "rb") as handle:
        return parse_index(handle.read())


def merge_chunks(chunks):
    """Sort and merge chunks that overlap, touch or share a BGZF block: each record once, in file order."""
    merged = []
    for vbeg, vend in sorted(chunks):
        if vend <= vbeg:
            continue
        if merged and (vbeg <= merged[-1][1] or (vbeg >> 16) == (merged[-1][1] >> 16)):
            if vend > merged[-1][1]:
                merged[-1][1] = vend
        else:
            merged.append([vbeg, vend])
    return [tuple(chunk) for chunk in merged]


def clip_chunks(chunks, floor, ceiling):
    """Chunks cut to ``[floor, ceiling)`` (the body lies between header end and EOF block)."""
    out = []
    for vbeg, vend in chunks:
        vbeg, vend = max(vbeg, floor), min(vend, ceiling)
        if vend > vbeg:
            out.append((vbeg, vend))
    return out


# --- from chunks to the pieces of a ticket -------------------------------------------------


def span_pieces(handle, vbeg, vend):
    """The file bytes of ``[vbeg, vend)``: ``("range", start, stop)`` for whole blocks served as
    they are, ``("data", bytes)`` for the uncompressed part of an edge block."""
    if vend <= vbeg:
        return []
    cbeg, ubeg = split_voffset(vbeg)
    cend, uend = split_voffset(vend)
    if cbeg == cend:
        _, data = read_block(handle, cbeg)
        return [("data", data[ubeg:uend])]
    pieces = []
    start = cbeg
    if ubeg:
        size, data = read_block(handle, cbeg)
        pieces.append(("data", data[ubeg:]))
        start = cbeg + size
    if start < cend:
        pieces.append(("range", start, cend))
    if uend:
        _, data = read_block(handle, cend)
        pieces.append(("data", data[:uend]))
    return pieces


def plan_pieces(handle, spans, inline_max=1 << 20, compress_max=16 * 1024):
    """Pieces for the spans in order: ``("range", start, stop)`` (bytes of the file) or
    ``("inline", bgzf_bytes)`` (edge data in fresh BGZF blocks). Adjacent ranges are joined and
    consecutive edge data is packed together (at most ``inline_max`` bytes per piece). Pieces up to
    ``compress_max`` bytes are deflated (zlib level 1); larger ones are stored, which costs no CPU
    time when the ticket is made (deflating 64 KiB takes milliseconds, storing it microseconds)."""
    raw = []
    for vbeg, vend in spans:
        raw.extend(span_pieces(handle, vbeg, vend))
    out = []
    pending = []

    def flush():
        if pending:
            data = b"".join(pending)
            out.append(("inline", compress(data, level=1 if len(data) <= compress_max else 0)))
            pending.clear()

    for piece in raw:
        if piece[0] == "data":
            if not piece[1]:
                continue
            if sum(map(len, pending)) + len(piece[1]) > inline_max:
                flush()
            pending.append(piece[1])
            continue
        flush()
        _, start, stop = piece
        if out and out[-1][0] == "range" and out[-1][2] == start:
            out[-1] = ("range", out[-1][1], stop)
        else:
            out.append(piece)
    flush()
    return out


# --- headers and facts ---------------------------------------------------------------------


def _offset_to_voffset(handle, target):
    """The voffset of uncompressed offset ``target``; a block boundary maps to the next block."""
    done = 0
    last = 0
    for offset, size, data in iter_blocks(handle):
        if done + len(data) > target:
            return voffset(offset, target - done)
        done += len(data)
        if data:  # an empty block (the EOF marker) is never part of the header
            last = offset + size
    if done == target:
        return voffset(last, 0)
    raise GeneratorError("the file ends inside its header")


class _Stream:
    """Uncompressed bytes of a BGZF file read block by block, on demand."""

    def __init__(self, handle):
        self.blocks = iter_blocks(handle)
        self.buffer = bytearray()

    def need(self, n):
        while len(self.buffer) < n:
            block = next(self.blocks, None)
            if block is None:
                raise GeneratorError("the file ends inside its header")
            self.buffer += block[2]
        return self.buffer


def bam_header(path):
    """``{"header_end": voffset, "references": [[name, length], ...]}`` of a BAM file."""
    with open(path, "rb") as handle:
        stream = _Stream(handle)
        data = stream.need(8)
        if bytes(data[:4]) != b"BAM\1":
            raise GeneratorError("not a BAM file (no BAM magic)")
        l_text = struct.unpack_from("<i", data, 4)[0]
        pos = 8 + l_text
        n_ref = struct.unpack_from("<i", stream.need(pos + 4), pos)[0]
        pos += 4
        if l_text < 0 or n_ref < 0:
            raise GeneratorError("corrupt BAM header")
        references = []
        for _ in range(n_ref):
            l_name = struct.unpack_from("<i", stream.need(pos + 4), pos)[0]
            data = stream.need(pos + 4 + l_name + 4)
            name = bytes(data[pos + 4:pos + 4 + l_name]).rstrip(b"\0").decode("utf-8", "replace")
            length = struct.unpack_from("<i", data, pos + 4 + l_name)[0]
            references.append([name, length])
            pos += 4 + l_name + 4
        return {"header_end": _offset_to_voffset(handle, pos), "references": references}


_CONTIG = re.compile(rb"^##contig=<(.*)>\s*$")


def _contig_fields(text):
    fields = {}
    for match in re.finditer(rb'([A-Za-z_][A-Za-z0-9_.]*)=("(?:[^"\\]|\\.)*"|[^,]*)', text):
        fields[match.group(1).decode()] = match.group(2).strip(b'"').decode("utf-8", "replace")
    return fields


def _line_starts(data, at_line_start):
    """Offsets in ``data`` where a line starts (offset 0 only if the previous block ended a line)."""
    if at_line_start:
        pos = 0
    else:
        pos = data.find(b"\n") + 1
        if pos == 0:
            return
    while pos < len(data):
        yield pos
        pos = data.find(b"\n", pos) + 1
        if pos == 0:
            return


def vcf_header(path, max_header=256 * 1024 * 1024):
    """``{"header_end": voffset, "contigs": [[name, length or None], ...], "text": header bytes}``
    of a bgzipped VCF: the header ends where the first line not starting with ``#`` begins."""
    with open(path, "rb") as handle:
        text = bytearray()
        at_line_start = True
        end = None
        last = 0
        for offset, size, data in iter_blocks(handle):
            if data:
                last = offset + size
            for pos in _line_starts(data, at_line_start):
                if data[pos] != 0x23:  # "#"
                    end = voffset(offset, pos)
                    text += data[:pos]
                    break
            if end is not None:
                break
            text += data
            if data:
                at_line_start = data.endswith(b"\n")
            if len(text) > max_header:
                raise GeneratorError("the VCF header is too long")
        if end is None:
            end = voffset(last, 0)  # a VCF without records: the header runs to the end
    if not text.startswith(b"##fileformat=VCF"):
        raise GeneratorError("not a VCF file (no ##fileformat=VCF line)")
    contigs = []
    for line in bytes(text).splitlines():
        match = _CONTIG.match(line)
        if match:
            fields = _contig_fields(match.group(1))
            if "ID" in fields:
                length = fields.get("length", "")
                contigs.append([fields["ID"], int(length) if length.isdigit() else None])
    if b"\n#CHROM" not in text and not text.startswith(b"#CHROM"):
        raise GeneratorError("the VCF header has no #CHROM line")
    return {"header_end": end, "contigs": contigs, "text": bytes(text)}


def bcf_header(path):
    """``{"header_end": voffset, "contigs": [[name, length or None], ...]}`` of a BCF file."""
    with open(path, "rb") as handle:
        stream = _Stream(handle)
        data = stream.need(9)
        if bytes(data[:3]) != b"BCF" or data[3] != 2:
            raise GeneratorError("not a BCF 2 file")
        l_text = struct.unpack_from("<I", data, 5)[0]
        text = bytes(stream.need(9 + l_text)[9:9 + l_text])
        header_end = _offset_to_voffset(handle, 9 + l_text)
    contigs = []
    for line in text.splitlines():
        match = _CONTIG.match(line.rstrip(b"\0"))
        if match:
            fields = _contig_fields(match.group(1))
            if "ID" in fields:
                length = fields.get("length", "")
                contigs.append([fields["ID"], int(length) if length.isdigit() else None])
    return {"header_end": header_end, "contigs": contigs}


def _common_facts(path, fmt, md5):
    size = os.path.getsize(path)
    eof = has_eof_block(path)
    return {
        "version": FACTS_VERSION,
        "format": fmt,
        "file_size": size,
        "eof": eof,
        "data_end": voffset(size - len(EOF_BLOCK) if eof else size, 0),
        "md5": file_md5(path) if md5 else None,
    }


def bam_facts(source, md5=True):
    """Generator facts of a BAM tileset: ``{"htsget": {...}}`` (see :func:`_common_facts`)."""
    facts = _common_facts(source.datafile, "BAM", md5)
    facts.update(bam_header(source.datafile))
    return {"htsget": facts}


def vcf_facts(source, md5=True):
    """Generator facts of a bgzipped VCF tileset: header end, declared contigs (``##contig`` lines,
    then the index's names that the header does not declare), size, EOF, MD5."""
    facts = _common_facts(source.datafile, "VCF", md5)
    header = vcf_header(source.datafile)
    references = header["contigs"]
    if source.indexfile:
        declared = {name for name, _ in references}
        names = load_index(source.indexfile).names or []
        references = references + [[name, None] for name in names if name not in declared]
    facts.update(header_end=header["header_end"], references=references)
    return {"htsget": facts}


def bcf_facts(source, md5=True):
    facts = _common_facts(source.datafile, "BCF", md5)
    header = bcf_header(source.datafile)
    facts.update(header_end=header["header_end"], references=header["contigs"])
    return {"htsget": facts}


def whole_file_facts(fmt):
    """Facts of a format served whole (CRAM): size, EOF flag, MD5."""

    def facts(source, md5=True):
        result = _common_facts(source.datafile, fmt, md5)
        result["eof"] = None
        result["data_end"] = None
        return {"htsget": result}

    return facts
