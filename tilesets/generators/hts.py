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
    """The index of one reference: ``bins`` {bin: [(vbeg, vend), ...]}, and the lower bounds:
    ``linear`` (BAI/TBI, one voffset per 2^min_shift window) or ``loffsets`` {bin: voffset} (CSI)."""

    __slots__ = ("bins", "linear", "loffsets")

    def __init__(self):
        self.bins = {}
        self.linear = None
        self.loffsets = None


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
        ends = [end for ref in refs for chunks in ref.bins.values() for _, end in chunks]
        self.placed_end = max(ends, default=0)  # the voffset just after the last placed record

    @property
    def max_position(self):
        return 1 << (self.min_shift + 3 * self.depth)

    def lower_bound(self, ref, beg):
        """A voffset before every record overlapping positions >= ``beg`` (htslib's rule)."""
        if ref.linear is not None:
            if not ref.linear:
                return 0
            window = beg >> self.min_shift
            return ref.linear[min(window, len(ref.linear) - 1)]
        level_first = ((1 << (3 * self.depth)) - 1) // 7
        bin_ = level_first + (beg >> self.min_shift)
        while bin_ not in ref.bins and bin_ > 0:
            parent = (bin_ - 1) >> 3
            if bin_ > (parent << 3) + 1:
                bin_ -= 1
            else:
                bin_ = parent
        return ref.loffsets.get(bin_, 0)

    def chunks(self, ref_id, beg, end):
        """The chunks that hold every record of reference ``ref_id`` overlapping ``[beg, end)``."""
        if ref_id is None or not 0 <= ref_id < len(self.refs):
            return []
        end = min(end, self.max_position)
        if beg >= end:
            return []
        ref = self.refs[ref_id]
        if not ref.bins:
            return []
        floor = self.lower_bound(ref, beg)
        found = []
        for bin_ in reg2bins(beg, end, self.min_shift, self.depth):
            for vbeg, vend in ref.bins.get(bin_, ()):
                if vend > floor:
                    found.append((vbeg, vend))
        return found


class _Reader:
    def __init__(self, data):
        self.data = data
        self.pos = 0

    def take(self, fmt):
        try:
            values = struct.unpack_from(fmt, self.data, self.pos)
        except struct.error:
            raise GeneratorError("truncated index") from None
        self.pos += struct.calcsize(fmt)
        return values

    def one(self, fmt):
        return self.take(fmt)[0]

    def raw(self, n):
        if n < 0 or self.pos + n > len(self.data):
            raise GeneratorError("truncated index")
        value = self.data[self.pos:self.pos + n]
        self.pos += n
        return value


def _chunk_list(reader, n_chunk):
    if n_chunk < 0:
        raise GeneratorError("corrupt index (negative chunk count)")
    flat = reader.take(f"<{2 * n_chunk}Q")
    return list(zip(flat[0::2], flat[1::2]))


def _parse_binned_refs(reader, n_ref, csi, depth):
    if n_ref < 0:
        raise GeneratorError("corrupt index (negative reference count)")
    pseudo = pseudo_bin(depth)
    refs = []
    for _ in range(n_ref):
        ref = RefIndex()
        n_bin = reader.one("<i")
        if n_bin < 0:
            raise GeneratorError("corrupt index (negative bin count)")
        if csi:
            ref.loffsets = {}
        for _ in range(n_bin):
            if csi:
                bin_, loffset, n_chunk = reader.take("<IQi")
            else:
                bin_, n_chunk = reader.take("<Ii")
            chunks = _chunk_list(reader, n_chunk)
            if bin_ == pseudo:
                continue
            ref.bins[bin_] = chunks
            if csi:
                ref.loffsets[bin_] = loffset
        if not csi:
            n_intv = reader.one("<i")
            if n_intv < 0:
                raise GeneratorError("corrupt index (negative interval count)")
            ref.linear = list(reader.take(f"<{n_intv}Q"))
        refs.append(ref)
    n_no_coor = reader.one("<Q") if reader.pos + 8 <= len(reader.data) else None
    return refs, n_no_coor


def _tabix_meta(reader):
    meta = reader.take("<6i")
    l_nm = reader.one("<i")
    names = [n.decode("utf-8", "replace") for n in reader.raw(l_nm).split(b"\0") if n]
    return meta, names


def parse_index(raw):
    """A :class:`BinIndex` from the bytes of a ``.bai``, ``.tbi`` or ``.csi`` file."""
    data = gunzip_all(raw) if raw[:2] == _GZIP_MAGIC else raw
    reader = _Reader(data)
    magic = reader.raw(4) if len(data) >= 4 else b""
    if magic == b"BAI\1":
        refs, n_no_coor = _parse_binned_refs(reader, reader.one("<i"), False, 5)
        return BinIndex("bai", 14, 5, refs, n_no_coor=n_no_coor)
    if magic == b"TBI\1":
        n_ref = reader.one("<i")
        meta, names = _tabix_meta(reader)
        refs, n_no_coor = _parse_binned_refs(reader, n_ref, False, 5)
        return BinIndex("tbi", 14, 5, refs, names=names, tabix=meta, n_no_coor=n_no_coor)
    if magic == b"CSI\1":
        min_shift, depth, l_aux = reader.take("<iii")
        if not (0 < min_shift < 32 and 0 < depth < 12 and min_shift + 3 * depth < 64):
            raise GeneratorError("corrupt CSI index (bad min_shift/depth)")
        aux = reader.raw(l_aux)
        meta = names = None
        if l_aux >= 28:
            meta, names = _tabix_meta(_Reader(aux))
        refs, n_no_coor = _parse_binned_refs(reader, reader.one("<i"), True, depth)
        return BinIndex("csi", min_shift, depth, refs, names=names, tabix=meta, n_no_coor=n_no_coor)
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


def plan_pieces(handle, spans, inline_max=1 << 20):
    """Pieces for the spans in order: ``("range", start, stop)`` (bytes of the file) or
    ``("inline", bgzf_bytes)`` (edge data re-compressed). Adjacent ranges are joined, consecutive
    edge data is compressed together (at most ``inline_max`` uncompressed bytes per piece)."""
    raw = []
    for vbeg, vend in spans:
        raw.extend(span_pieces(handle, vbeg, vend))
    out = []
    pending = []

    def flush():
        if pending:
            out.append(("inline", compress(b"".join(pending))))
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
