"""FASTA: sequence tiles for the HiGlass sequence tracks (tiles.md §11).

The JSON is the one of the reference server (higlass-server + clodius 0.18/0.20, which read the
file with pyfaidx): bigWig-style tileset_info plus ``max_tile_width``, and tiles
``{"sequence": "<bases>"}`` with the case of the file kept (soft-masked bases stay lowercase).

Chromosome order: the chromsizes tileset of the coordSystem when the service found exactly one
(``Source.context["chromsizes"]``), else the FASTA's own sequences in clodius' natural order
(§15). The zoom math is bigWig's (1024 bases per tile at the deepest zoom).

Where the reference fails (HTTP 500 for the whole request) this server answers per tile:

* a tile reaching past the genome end holds the bases up to the genome end (a shorter string);
  a tile entirely past the end but inside the tile grid is ``{"sequence": ""}``;
* a zoom level beyond ``max_zoom`` or a position outside the grid (``x >= 2**z``) is
  ``{"error": ...}`` for that tile;
* a chromosome of the assembly that the FASTA lacks, or the part of an assembly chromosome
  beyond the FASTA's sequence, is filled with ``N`` so that every later base keeps its position
  (pyfaidx would shorten the string and shift the rest of the tile; a missing one crashes);
* a tile wider than ``MAX_FASTA_TILE_WIDTH`` is ``{"error": "Tile too large, ..."}`` for that
  tile only, the other tiles of the request are served (the reference answers that single tile
  and drops the others).

``MAX_FASTA_TILE_WIDTH`` (bases, default 100000) is read from the environment when a request is
served — generators do not import Django settings, so a value set only in ``config.json`` is not
seen here. A value that is not a positive integer falls back to the default (with a warning).

Reading: the file is read through its ``.fai`` index with ``os.pread`` (no shared file position,
so one open file serves every thread). Plain text and bgzip-compressed FASTA are served; for
bgzip the block table (what a ``.gzi`` holds) is rebuilt from the block headers when the file is
first opened, so only the ``.fai`` needs to be stored. Plain gzip cannot be read at random
positions and is refused at ingest with a hint to recompress with ``bgzip``. The ``.fai`` is
built at ingest with ``pysam.faidx`` when none is given or found beside the file.
"""

import bisect
import logging
import os
import shutil
import struct
import tempfile
import threading
import zlib
from collections import OrderedDict

from . import bigwig, genome
from .base import Generator, GeneratorError, each_tile
from .files import OpenFiles

logger = logging.getLogger("tilesets")

TILE_SIZE = bigwig.TILE_SIZE  # 1024, and bigWig's max_zoom formula (clodius get_quadtree_depth)
DEFAULT_MAX_TILE_WIDTH = 100000
MAX_TILE_WIDTH_ENV = "MAX_FASTA_TILE_WIDTH"

GZIP_HINT = ("plain gzip cannot be read at random positions; recompress it with bgzip "
             "(gunzip FILE.fa.gz && bgzip FILE.fa) or ingest the uncompressed file")


def env_int(name, default):
    """A positive integer from the environment variable ``name``; else ``default`` (warned)."""
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        value = 0
    if value <= 0:
        logger.warning("%s=%r is not a positive integer; using %d", name, raw, default)
        return default
    return value


def max_tile_width(source=None):
    """The server's setting when the service passes it (Source.context), else the environment."""
    if source is not None and source.context.get("max_tile_width"):
        return int(source.context["max_tile_width"])
    return env_int(MAX_TILE_WIDTH_ENV, DEFAULT_MAX_TILE_WIDTH)


# --- reading the data file: plain or bgzip ------------------------------------------------------

_BGZF_MAGIC = b"\x1f\x8b\x08\x04"


def _bgzf_block_size(header, extra):
    """Total size of the BGZF block whose 12-byte header and extra field are given, or None."""
    at = 0
    while at + 4 <= len(extra):
        sub1, sub2, length = extra[at], extra[at + 1], struct.unpack_from("<H", extra, at + 2)[0]
        if (sub1, sub2) == (66, 67) and length == 2 and at + 6 <= len(extra):  # "BC"
            return struct.unpack_from("<H", extra, at + 4)[0] + 1
        at += 4 + length
    return None


def is_bgzf(head):
    """True when ``head`` (the first bytes of a file) starts a BGZF (bgzip) block."""
    if len(head) < 18 or head[:4] != _BGZF_MAGIC:
        return False
    xlen = struct.unpack_from("<H", head, 10)[0]
    return _bgzf_block_size(head[:12], head[12:12 + xlen]) is not None


def first_bgzf_block(path, limit=65536):
    """The decompressed first block of a BGZF file (at most ``limit`` bytes read), or b""."""
    with open(path, "rb") as handle:
        data = handle.read(limit + 1024)
    if not is_bgzf(data):
        return b""
    xlen = struct.unpack_from("<H", data, 10)[0]
    size = _bgzf_block_size(data[:12], data[12:12 + xlen])
    try:
        return zlib.decompress(data[12 + xlen:size - 8], -15)
    except zlib.error:
        return b""


class _Plain:
    """An uncompressed file read with ``os.pread`` (thread-safe, no shared position)."""

    compressed = False

    def __init__(self, path):
        self.file = open(path, "rb", buffering=0)  # closed when the last reference goes
        self.size = os.fstat(self.file.fileno()).st_size

    def read(self, offset, length):
        return os.pread(self.file.fileno(), max(0, length), offset) if length > 0 else b""


class _Bgzf:
    """A bgzip file: the block table is built from the block headers when opened (what a
    ``.gzi`` index holds); reads decompress the blocks they need (a few recent ones are kept)."""

    compressed = True

    def __init__(self, path):
        self.file = open(path, "rb", buffering=0)
        fd = self.file.fileno()
        file_size = os.fstat(fd).st_size
        self.starts, self.ustarts, self.sizes = [], [], []  # compressed start, uncompressed start, block size
        position = total = 0
        while position < file_size:
            head = os.pread(fd, 18, position)
            if len(head) < 18 or head[:4] != _BGZF_MAGIC:
                raise GeneratorError(f"corrupt bgzip file: no bgzip block at byte {position}")
            xlen = struct.unpack_from("<H", head, 10)[0]
            extra = head[12:18] if xlen == 6 else os.pread(fd, xlen, position + 12)
            size = _bgzf_block_size(head[:12], extra)
            if size is None or size < 12 + xlen + 8 or position + size > file_size:
                raise GeneratorError(f"corrupt bgzip file: damaged or truncated block at byte {position}")
            (isize,) = struct.unpack("<I", os.pread(fd, 4, position + size - 4))
            if isize:
                self.starts.append(position)
                self.ustarts.append(total)
                self.sizes.append(size)
                total += isize
            position += size
        self.size = total
        self._cache = OrderedDict()
        self._lock = threading.Lock()

    def _block(self, index, raw):
        with self._lock:
            data = self._cache.get(index)
            if data is not None:
                self._cache.move_to_end(index)
                return data
        xlen = struct.unpack_from("<H", raw, 10)[0]
        try:
            data = zlib.decompress(raw[12 + xlen:len(raw) - 8], -15)
        except zlib.error:
            where = self.starts[index]
            raise GeneratorError(f"corrupt bgzip file: the block at byte {where} does not decompress") from None
        with self._lock:
            self._cache[index] = data
            while len(self._cache) > 32:
                self._cache.popitem(last=False)
        return data

    def read(self, offset, length):
        if length <= 0 or offset >= self.size:
            return b""
        end = min(offset + length, self.size)
        first = bisect.bisect_right(self.ustarts, offset) - 1
        last = bisect.bisect_right(self.ustarts, end - 1) - 1
        span_start = self.starts[first]
        span = os.pread(self.file.fileno(), self.starts[last] + self.sizes[last] - span_start, span_start)
        parts = []
        for index in range(first, last + 1):
            at = self.starts[index] - span_start
            parts.append(self._block(index, span[at:at + self.sizes[index]]))
        joined = b"".join(parts)
        skip = offset - self.ustarts[first]
        return joined[skip:skip + (end - offset)]


def _open_data(path):
    with open(path, "rb") as handle:
        head = handle.read(18)
    if head[:2] == b"\x1f\x8b":
        if is_bgzf(head):
            return _Bgzf(path)
        raise GeneratorError(f"gzip-compressed FASTA: {GZIP_HINT}")
    for magic, kind in ((b"BZh", "bzip2"), (b"\xfd7zXZ\x00", "xz"), (b"\x28\xb5\x2f\xfd", "zstd")):
        if head.startswith(magic):
            raise GeneratorError(f"{kind}-compressed FASTA cannot be read; decompress it (or recompress it with bgzip)")
    return _Plain(path)


def _check_start(reader):
    first = reader.read(0, 4)
    if first[:1] == b">":
        return
    if not first:
        raise GeneratorError("empty file: not a FASTA file")
    if first == b"BAM\x01":
        raise GeneratorError("this is a BAM file, not FASTA")
    if first[:1] == b"@":
        raise GeneratorError("not a FASTA file: it looks like FASTQ or SAM (FASTA starts with '>')")
    raise GeneratorError("not a FASTA file: it does not start with '>'")


# --- the .fai index ----------------------------------------------------------------------------


class _Entry:
    __slots__ = ("name", "length", "offset", "linebases", "linewidth")

    def __init__(self, name, length, offset, linebases, linewidth):
        self.name, self.length, self.offset, self.linebases, self.linewidth = name, length, offset, linebases, linewidth

    def position(self, base):
        """Byte offset (uncompressed) of base ``base`` of this sequence."""
        return self.offset + (base // self.linebases) * self.linewidth + base % self.linebases


class _FastaIndex:
    """A parsed ``.fai``: entries by name, in file order, and the natural-order layout."""

    def __init__(self, path):
        try:
            with open(path, "rb") as handle:
                text = handle.read()
        except OSError as exc:
            raise GeneratorError(f"cannot read the index: {exc.strerror or exc}") from None
        self.entries = {}
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            fields = line.split(b"\t")
            if len(fields) == 6:
                raise GeneratorError("the index is a FASTQ index (.fai with 6 columns), not a FASTA one")
            try:
                if len(fields) != 5:
                    raise ValueError
                name = fields[0].decode("utf-8")
                length, offset, linebases, linewidth = (int(f) for f in fields[1:])
            except (ValueError, UnicodeDecodeError):
                raise GeneratorError(f"the index is not a FASTA .fai index (line {number})") from None
            if not name or min(length, offset, linebases, linewidth) < 0 or linewidth < linebases or \
                    (length > 0 and linebases == 0) or (length > linebases and linewidth == linebases):
                raise GeneratorError(f"the index is not a FASTA .fai index (line {number})")
            if name in self.entries:
                raise GeneratorError(f"the index lists the sequence {name!r} twice")
            self.entries[name] = _Entry(name, length, offset, linebases, linewidth)
        if not self.entries:
            raise GeneratorError("the index lists no sequences")
        self.own_rows = [(name, self.entries[name].length) for name in genome.natural_sorted(self.entries)]
        self.own_layout = bigwig._Layout(self.own_rows) if sum(length for _, length in self.own_rows) else None


_readers = OpenFiles(_open_data, maxsize=64, what="the FASTA file", missing="the FASTA file is missing")
_indexes = OpenFiles(_FastaIndex, maxsize=64, what="the index", missing="the index is missing")


def _index_path(source):
    if source.indexfile:
        return source.indexfile
    beside = source.datafile + ".fai"
    if os.path.isfile(beside):
        return beside
    raise GeneratorError("the FASTA has no .fai index")


def fetch(reader, entry, start, end):
    """Bases ``[start, end)`` of ``entry`` (clipped to its length), newlines removed."""
    end = min(end, entry.length)
    if start >= end:
        return ""
    first = entry.position(start)
    last = entry.position(end - 1) + 1
    raw = reader.read(first, last - first)
    if entry.linewidth != entry.linebases:
        raw = raw.translate(None, b"\r\n")
    if len(raw) != end - start:
        raise GeneratorError(f"the FASTA file does not match its index (sequence {entry.name!r})")
    return raw.decode("ascii", "replace")


# --- checking that an index belongs to the file -------------------------------------------------


def _header_before(reader, offset):
    """The header line that ends just before ``offset`` (without the newline), or None."""
    window = 256
    while True:
        start = max(0, offset - window)
        chunk = reader.read(start, offset - start)
        if not chunk.endswith(b"\n"):
            return None
        at = chunk.rfind(b"\n", 0, len(chunk) - 1)
        if at >= 0 or start == 0:
            return chunk[at + 1:].rstrip(b"\r\n")
        if window >= 1 << 20:
            return None
        window *= 4


def check_index(reader, index):
    """Raise GeneratorError unless every entry of ``index`` fits the file's layout: its header
    line names it, its first line has the indexed width, and its last base is where the index
    puts it (followed by a line end or the end of the file)."""
    size = reader.size
    for entry in index.entries.values():
        mismatch = f"the index does not match the FASTA (sequence {entry.name!r})"
        if entry.offset > size:
            raise GeneratorError(mismatch + ": it lies beyond the end of the file")
        header = _header_before(reader, entry.offset)
        if header is None or not header.startswith(b">") or not header[1:].split() or \
                header[1:].split()[0].decode("utf-8", "replace") != entry.name:
            raise GeneratorError(mismatch)
        if entry.length == 0:
            continue
        last = entry.position(entry.length - 1)
        if last >= size:
            raise GeneratorError(mismatch + ": it reaches beyond the end of the file")
        first_line = reader.read(entry.offset, min(entry.linebases, entry.length))
        if len(first_line) != min(entry.linebases, entry.length) or any(c in first_line for c in b"\r\n>"):
            raise GeneratorError(mismatch)
        if entry.length > entry.linebases:
            ending = reader.read(entry.offset + entry.linebases, entry.linewidth - entry.linebases)
            if not ending or ending.strip(b"\r\n"):
                raise GeneratorError(mismatch)
        tail = reader.read(last, 2)
        if not tail or tail[:1] in b"\r\n>" or (len(tail) == 2 and tail[1:] not in b"\r\n"):
            raise GeneratorError(mismatch)


# --- chromosome sizes known from ingest (the index may not lie beside the file) ---------------

_known_lock = threading.Lock()
_known = OrderedDict()  # file version of a FASTA -> its rows in natural order


def _version(path):
    stat = os.stat(path)
    return (os.path.realpath(path), stat.st_ino, stat.st_size, stat.st_mtime_ns)


def _remember(datafile, rows):
    with _known_lock:
        _known[_version(datafile)] = rows
        while len(_known) > 16:
            _known.popitem(last=False)


def _recalled(datafile):
    with _known_lock:
        return _known.get(_version(datafile))


# --- the generator -----------------------------------------------------------------------------


def build_index(datafile, folder):
    """Write ``<name>.fai`` into ``folder`` with ``pysam.faidx`` (for bgzip, the ``.gzi`` it
    also needs goes to ``folder`` too and is not kept: reads rebuild the block table)."""
    import pysam

    reader = _open_data(datafile)
    _check_start(reader)
    out = os.path.join(folder, os.path.basename(datafile) + ".fai")
    arguments = [datafile, "--fai-idx", out]
    if reader.compressed:
        arguments += ["--gzi-idx", os.path.join(folder, os.path.basename(datafile) + ".gzi")]
    try:
        pysam.faidx(*arguments)
    except pysam.SamtoolsError as exc:
        detail = " ".join(str(exc).split())
        raise GeneratorError(f"samtools faidx cannot index it: {detail}") from None
    if not os.path.isfile(out):
        raise GeneratorError("samtools faidx wrote no index")
    index = _FastaIndex(out)
    _remember(datafile, index.own_rows)
    return out


def validate(datafile, indexfile=None):
    """A readable FASTA (plain or bgzip) and a ``.fai`` that belongs to it."""
    try:
        reader = _open_data(datafile)
    except OSError as exc:
        raise GeneratorError(f"cannot read the file: {exc.strerror or exc}") from None
    _check_start(reader)
    if not indexfile:
        raise GeneratorError("a .fai index is needed (--indexfile)")
    index = _FastaIndex(indexfile)
    try:
        check_index(reader, index)
    except OSError as exc:
        raise GeneratorError(f"cannot read the file: {exc.strerror or exc}") from None
    _remember(datafile, index.own_rows)


def chromsizes(source):
    """The FASTA's own sequences in natural order (for chrom-sizes and the assembly check).

    Without an index in ``source`` (the ingest's assembly check) the rows remembered when this
    version of the file was validated are used, else a ``.fai`` beside it, else one built aside."""
    if source.indexfile:
        return list(_indexes.get(source.indexfile).own_rows)
    rows = _recalled(source.datafile)
    if rows is not None:
        return list(rows)
    if os.path.isfile(source.datafile + ".fai"):
        return list(_indexes.get(source.datafile + ".fai").own_rows)
    folder = tempfile.mkdtemp(prefix="hgs-fai-")
    try:
        return list(_FastaIndex(build_index(source.datafile, folder)).own_rows)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _layout(source, index):
    if not source.context.get("chromsizes") and index.own_layout is None:
        raise GeneratorError("the FASTA's sequences are all empty")
    return bigwig._layout(source, index)


def tileset_info(source):
    index = _indexes.get(_index_path(source))
    return dict(bigwig.layout_info(_layout(source, index), modes=False), max_tile_width=max_tile_width(source))


def tile_sequence(reader, index, layout, zoom, x, limit):
    """The tile ``(zoom, x)``: ``{"sequence": ...}`` or the reference's too-large error."""
    if zoom > layout.max_zoom:
        raise GeneratorError(f"zoom level {zoom} is beyond this tileset's deepest level ({layout.max_zoom})")
    if x >= 1 << zoom:
        raise GeneratorError(f"position {x} is outside zoom level {zoom} (0 to {(1 << zoom) - 1})")
    width = TILE_SIZE << (layout.max_zoom - zoom)
    if width > limit:
        return {"error": f"Tile too large, no data returned. Max tile size: {limit}"}
    start = x * width
    end = min(start + width, layout.total)  # past the genome end there are no bases
    if start >= end:
        return {"sequence": ""}
    parts = []
    n_chroms = len(layout.names)
    for cid, piece_start, piece_end in layout.pieces(start, end):
        if cid >= n_chroms or piece_end <= piece_start:
            continue
        entry = index.entries.get(layout.names[cid])
        if entry is not None:
            parts.append(fetch(reader, entry, piece_start, piece_end))
            covered = max(piece_start, min(piece_end, entry.length))
        else:
            covered = piece_start
        if covered < piece_end:
            parts.append("N" * (piece_end - covered))
    return {"sequence": "".join(parts)}


def tiles(source, requests, options=None):
    reader = _readers.get(source.datafile)
    index = _indexes.get(_index_path(source))
    layout = _layout(source, index)
    limit = max_tile_width(source)
    return each_tile(requests, lambda r: tile_sequence(reader, index, layout, r.zoom, r.coords[0], limit), "FASTA")


GENERATOR = Generator(
    tile_width_setting="MAX_FASTA_TILE_WIDTH",
    filetype="fasta",
    validate=validate,
    tileset_info=tileset_info,
    tiles=tiles,
    chromsizes=chromsizes,
    dimensions=1,
    needs_index=True,
    index_suffixes=(".fai",),
    build_index=build_index,
    uses_coord_chromsizes=True,
)
