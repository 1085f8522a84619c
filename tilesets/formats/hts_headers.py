"""The headers of BAM, BCF and bgzipped VCF files: what a file is (by its first bytes), where its
header ends (a virtual offset, so that a client can be sent the header alone) and the references
it declares; and a file's MD5.

* BAM: ``BAM\\1``, ``l_text``, the SAM header text, ``n_ref``, then per reference its name
  (NUL-terminated, with its length first) and its length.
* BCF 2: ``BCF\\2\\x01``/``\\x02``, ``l_text``, the VCF header text (NUL-terminated).
* VCF: text lines; the header is every leading line that starts with ``#``.
"""

import hashlib
import re
import struct

from . import access
from .bgzf import first_block, is_bgzf_bytes, iter_blocks, voffset
from .errors import FormatError

_HASH_CHUNK = 4 * 1024 * 1024
_CONTIG = re.compile(rb"^##contig=<(.*)>\s*$")
_CONTIG_FIELD = re.compile(rb'([A-Za-z_][A-Za-z0-9_.]*)=("(?:[^"\\]|\\.)*"|[^,]*)')


def file_md5(path):
    digest = hashlib.md5()
    with access.open_binary(path) as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def check_bam(location):
    """Refuse a file that is not a BAM (judged by its content, not its name), saying what it looks
    like; OSError when it cannot be read."""
    with access.open_binary(location) as handle:
        head = handle.read(18)
    if not head:
        raise FormatError("empty file: not a BAM file")
    if head.startswith(b"CRAM"):
        raise FormatError("this is a CRAM file, not BAM")
    if is_bgzf_bytes(head):
        block = first_block(location)
        if block.startswith(b"BAM\x01"):
            return
        if block.startswith(b">"):
            raise FormatError("this is a (bgzip-compressed) FASTA file, not BAM")
        raise FormatError("not a BAM file (a bgzip file without the BAM signature)")
    if head.startswith(b"@") or b"\t" in head:
        raise FormatError("not a BAM file: it looks like SAM text (convert it with samtools view -b)")
    if head.startswith(b">"):
        raise FormatError("this is a FASTA file, not BAM")
    raise FormatError("not a BAM file")


def check_bgzipped_vcf(location):
    """Refuse anything but a BGZF-compressed file, with a hint for a VCF compressed otherwise."""
    with access.open_binary(location) as handle:
        head = handle.read(64)
    if is_bgzf_bytes(head):
        return
    if head[:2] == b"\x1f\x8b":
        raise FormatError("gzip-compressed but not with bgzip: recompress it with bgzip (or bcftools view -Oz)")
    if head.startswith(b"##fileformat=VCF") or head.startswith(b"#CHROM"):
        raise FormatError("a plain-text VCF: sort it and compress it with bgzip (bcftools sort -Oz -o file.vcf.gz)")
    if head.startswith(b"BCF"):
        raise FormatError("an uncompressed BCF, not a VCF")
    raise FormatError("not a bgzipped VCF file")


def check_cram(location):
    with access.open_binary(location) as handle:
        if handle.read(4) != b"CRAM":
            raise FormatError("not a CRAM file")


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
    raise FormatError("the file ends inside its header")


class _Stream:
    """Uncompressed bytes of a BGZF file read block by block, on demand."""

    def __init__(self, handle):
        self.blocks = iter_blocks(handle)
        self.buffer = bytearray()

    def need(self, n):
        while len(self.buffer) < n:
            block = next(self.blocks, None)
            if block is None:
                raise FormatError("the file ends inside its header")
            self.buffer += block[2]
        return self.buffer


def bam_header(path):
    """``{"header_end": voffset, "references": [[name, length], ...]}`` of a BAM file."""
    with access.open_binary(path) as handle:
        stream = _Stream(handle)
        data = stream.need(8)
        if bytes(data[:4]) != b"BAM\1":
            raise FormatError("not a BAM file (no BAM magic)")
        l_text = struct.unpack_from("<i", data, 4)[0]
        pos = 8 + l_text
        n_ref = struct.unpack_from("<i", stream.need(pos + 4), pos)[0]
        pos += 4
        if l_text < 0 or n_ref < 0:
            raise FormatError("corrupt BAM header")
        references = []
        for _ in range(n_ref):
            l_name = struct.unpack_from("<i", stream.need(pos + 4), pos)[0]
            data = stream.need(pos + 4 + l_name + 4)
            name = bytes(data[pos + 4:pos + 4 + l_name]).rstrip(b"\0").decode("utf-8", "replace")
            length = struct.unpack_from("<i", data, pos + 4 + l_name)[0]
            references.append([name, length])
            pos += 4 + l_name + 4
        return {"header_end": _offset_to_voffset(handle, pos), "references": references}


def _contigs(lines):
    """``[[name, length or None], ...]`` of the ``##contig=<ID=...,length=...>`` lines."""
    contigs = []
    for line in lines:
        match = _CONTIG.match(line)
        if not match:
            continue
        fields = {m.group(1).decode(): m.group(2).strip(b'"').decode("utf-8", "replace")
                  for m in _CONTIG_FIELD.finditer(match.group(1))}
        if "ID" in fields:
            length = fields.get("length", "")
            contigs.append([fields["ID"], int(length) if length.isdigit() else None])
    return contigs


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
    with access.open_binary(path) as handle:
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
                raise FormatError("the VCF header is too long")
        if end is None:
            end = voffset(last, 0)  # a VCF without records: the header runs to the end
    if not text.startswith(b"##fileformat=VCF"):
        raise FormatError("not a VCF file (no ##fileformat=VCF line)")
    if b"\n#CHROM" not in text and not text.startswith(b"#CHROM"):
        raise FormatError("the VCF header has no #CHROM line")
    text = bytes(text)
    return {"header_end": end, "contigs": _contigs(text.splitlines()), "text": text}


def bcf_header(path):
    """``{"header_end": voffset, "contigs": [[name, length or None], ...]}`` of a BCF file."""
    with access.open_binary(path) as handle:
        stream = _Stream(handle)
        data = stream.need(9)
        if bytes(data[:3]) != b"BCF" or data[3] != 2:
            raise FormatError("not a BCF 2 file")
        l_text = struct.unpack_from("<I", data, 5)[0]
        text = bytes(stream.need(9 + l_text)[9:9 + l_text])
        header_end = _offset_to_voffset(handle, 9 + l_text)
    return {"header_end": header_end, "contigs": _contigs(line.rstrip(b"\0") for line in text.splitlines())}
