"""FASTA files and their ``.fai`` index: opening (plain text or bgzip), reading bases by position,
and checking that an index describes the file.

A ``.fai`` line is ``name, length, offset, linebases, linewidth`` (tab-separated): the sequence's
first base is at byte ``offset`` of the (uncompressed) file, and every line holds ``linebases``
bases in ``linewidth`` bytes (the bases plus the line end). A FASTQ index has a sixth column.
"""

from . import access
from .bgzf import GZIP_MAGIC, BgzfFile, is_bgzf_bytes
from .errors import FormatError

GZIP_HINT = ("plain gzip cannot be read at random positions; recompress it with bgzip "
             "(gunzip FILE.fa.gz && bgzip FILE.fa) or ingest the uncompressed file")
_OTHER_COMPRESSION = ((b"BZh", "bzip2"), (b"\xfd7zXZ\x00", "xz"), (b"\x28\xb5\x2f\xfd", "zstd"))


MAX_GZI_BYTES = 64 << 20  # a .gzi lists 16 bytes per 64 KiB block: this covers 16 TiB


def open_sequence_file(location):
    """A reader of the file's (uncompressed) bytes, ``read_at(offset, length)`` and ``size``: a
    :class:`~.bgzf.BgzfFile` for bgzip, else the file itself; other compressions are refused.

    A remote bgzip file is read with the ``.gzi`` beside it (``<location>.gzi``) when there is
    one; without it the block table is built by reading every block's header, i.e. the whole
    file, which is refused above the largest file the server reads whole."""
    with access.open_binary(location) as handle:
        head = handle.read(18)
    if head[:2] == GZIP_MAGIC:
        if is_bgzf_bytes(head):
            return BgzfFile(location, gzi=_remote_gzi(location))
        raise FormatError(f"gzip-compressed FASTA: {GZIP_HINT}")
    for magic, kind in _OTHER_COMPRESSION:
        if head.startswith(magic):
            raise FormatError(f"{kind}-compressed FASTA cannot be read; decompress it (or recompress it with bgzip)")
    return access.open_ranged(location)


def _remote_gzi(location):
    """The bytes of a remote bgzip file's ``.gzi``; None for a local file (its block headers are
    read instead). FormatError for a large remote file without one."""
    if not access.is_remote(location):
        return None
    gzi = location + ".gzi"
    if access.exists(gzi) and access.size_of(gzi) <= MAX_GZI_BYTES:
        with access.open_binary(gzi) as handle:
            return handle.read()
    limit = access.remote_config().max_fetch_bytes
    if access.size_of(location) > limit:
        raise FormatError(f"{access.shown(location)}: a remote bgzip FASTA larger than {limit} bytes needs "
                          f"its .gzi index beside it ({access.shown(gzi)}; samtools faidx writes it)")
    return None


def check_start(reader):
    """Refuse a file that does not start like a FASTA file, naming what it looks like."""
    first = reader.read_at(0, 4)
    if first[:1] == b">":
        return
    if not first:
        raise FormatError("empty file: not a FASTA file")
    if first == b"BAM\x01":
        raise FormatError("this is a BAM file, not FASTA")
    if first[:1] == b"@":
        raise FormatError("not a FASTA file: it looks like FASTQ or SAM (FASTA starts with '>')")
    raise FormatError("not a FASTA file: it does not start with '>'")


# --- the .fai index ------------------------------------------------------------------------


class FaiEntry:
    __slots__ = ("name", "length", "offset", "linebases", "linewidth")

    def __init__(self, name, length, offset, linebases, linewidth):
        self.name, self.length, self.offset, self.linebases, self.linewidth = name, length, offset, linebases, linewidth

    def position(self, base):
        """Byte offset (uncompressed) of base ``base`` of this sequence."""
        return self.offset + (base // self.linebases) * self.linewidth + base % self.linebases


def _entry(line, number):
    fields = line.split(b"\t")
    if len(fields) == 6:
        raise FormatError("the index is a FASTQ index (.fai with 6 columns), not a FASTA one")
    try:
        if len(fields) != 5:
            raise ValueError
        name = fields[0].decode("utf-8")
        length, offset, linebases, linewidth = (int(f) for f in fields[1:])
    except (ValueError, UnicodeDecodeError):
        raise FormatError(f"the index is not a FASTA .fai index (line {number})") from None
    if not name or min(length, offset, linebases, linewidth) < 0 or linewidth < linebases or \
            (length > 0 and linebases == 0) or (length > linebases and linewidth == linebases):
        raise FormatError(f"the index is not a FASTA .fai index (line {number})")
    return FaiEntry(name, length, offset, linebases, linewidth)


def parse_fai(text):
    """``{name: FaiEntry}`` in file order from the bytes of a ``.fai``."""
    entries = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        entry = _entry(line, number)
        if entry.name in entries:
            raise FormatError(f"the index lists the sequence {entry.name!r} twice")
        entries[entry.name] = entry
    if not entries:
        raise FormatError("the index lists no sequences")
    return entries


def load_fai(location):
    """:func:`parse_fai` of the file at ``location`` (OSError when it cannot be read)."""
    with access.open_binary(location) as handle:
        return parse_fai(handle.read())


def fetch(reader, entry, start, end):
    """Bases ``[start, end)`` of ``entry`` (clipped to its length), line ends removed."""
    end = min(end, entry.length)
    if start >= end:
        return ""
    first = entry.position(start)
    last = entry.position(end - 1) + 1
    raw = reader.read_at(first, last - first)
    if entry.linewidth != entry.linebases:
        raw = raw.translate(None, b"\r\n")
    if len(raw) != end - start:
        raise FormatError(f"the FASTA file does not match its index (sequence {entry.name!r})")
    return raw.decode("ascii", "replace")


# --- does an index belong to a file ----------------------------------------------------------


def _header_before(reader, offset):
    """The header line that ends just before ``offset`` (without the newline), or None."""
    window = 256
    while True:
        start = max(0, offset - window)
        chunk = reader.read_at(start, offset - start)
        if not chunk.endswith(b"\n"):
            return None
        at = chunk.rfind(b"\n", 0, len(chunk) - 1)
        if at >= 0 or start == 0:
            return chunk[at + 1:].rstrip(b"\r\n")
        if window >= 1 << 20:
            return None
        window *= 4


def _names(header, name):
    words = header[1:].split() if header is not None and header.startswith(b">") else []
    return bool(words) and words[0].decode("utf-8", "replace") == name


def check_index(reader, entries):
    """Refuse an index unless each entry fits the file: its header line names it, its first line
    has the indexed width, and its last base is where the index puts it (followed by a line end
    or the end of the file)."""
    size = reader.size
    for entry in entries.values():
        mismatch = f"the index does not match the FASTA (sequence {entry.name!r})"
        if entry.offset > size:
            raise FormatError(mismatch + ": it lies beyond the end of the file")
        if not _names(_header_before(reader, entry.offset), entry.name):
            raise FormatError(mismatch)
        if entry.length == 0:
            continue
        last = entry.position(entry.length - 1)
        if last >= size:
            raise FormatError(mismatch + ": it reaches beyond the end of the file")
        first_line = reader.read_at(entry.offset, min(entry.linebases, entry.length))
        if len(first_line) != min(entry.linebases, entry.length) or any(c in first_line for c in b"\r\n>"):
            raise FormatError(mismatch)
        if entry.length > entry.linebases:
            ending = reader.read_at(entry.offset + entry.linebases, entry.linewidth - entry.linebases)
            if not ending or ending.strip(b"\r\n"):
                raise FormatError(mismatch)
        tail = reader.read_at(last, 2)
        if not tail or tail[:1] in b"\r\n>" or (len(tail) == 2 and tail[1:] not in b"\r\n"):
            raise FormatError(mismatch)
