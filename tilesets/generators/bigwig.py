"""bigWig: 1-D numeric tracks (tiles.md §5), read with pybbi.

The JSON is the one the reference server gives (higlass-server + clodius 0.18/0.20 with pybbi):
``max_pos`` is the genome length, the modes are dicts, and a chromosome end that does not fall on
a bin boundary drops the chromosome's last (partial) bin.

Chromosome order: the chromsizes tileset of the bigWig's coordSystem when the service found
exactly one (``Source.context["chromsizes"]``), else the file's own chromosomes in clodius'
"natural" order (:func:`natural_sorted`, §15).

pybbi wraps the UCSC library, whose error handler ends the whole process on a malformed file.
So nothing reaches pybbi before :func:`inspect_bigwig` has checked the file's structure in
Python: ``validate`` (ingest) does the full check, including every compressed data block, and
opening a file for tiles does the cheap part again (header, zoom levels, chromosome tree, index
roots).
"""

import functools
import logging
import os
import re
import struct
import threading
import zlib

import bbi
import numpy as np

from . import genome
from .base import Generator, GeneratorError
from .dense import format_dense_tile
from .files import OpenFiles

logger = logging.getLogger("tilesets")

TILE_SIZE = 1024
NAN = float("nan")

AGGREGATION_MODES = (("mean", "Mean"), ("min", "Min"), ("max", "Max"), ("std", "Standard Deviation"))
RANGE_MODES = (("minMax", "Min-Max"), ("whisker", "Whisker"))
# The statistics fetched for each mode, in column order.
_STATS = {"mean": ("mean",), "min": ("min",), "max": ("max",), "std": ("std",),
          "minMax": ("min", "max"), "whisker": ("min", "max", "mean", "std")}
_RANGED = {"minMax", "whisker"}


# --- chromosome order (§15) ----------------------------------------------------------------

_DIGIT_RUNS = re.compile(r"(\d+)")


def _runs(name):
    return tuple(int(part) if part.isdigit() else part for part in _DIGIT_RUNS.split(name) if part)


def natural_cmp(a, b):
    """clodius' chromosome comparator; only ``natural_cmp(a, b) < 0`` ("a is less") matters.

    1. a has ``_``: if b has one too, compare the parts between the first and the second ``_``
       of each (what clodius does: ``name.split("_")[1]``); otherwise a is not less.
    2. b has ``_`` (a has not): a is less.
    3. for ``m``, ``y``, ``x`` in that order: b contains it (any case) -> less; else a contains
       it -> not less.
    4. tuples of digit runs (ints) and other runs (text): less iff a's tuple < b's; a comparison
       of an int with text counts as not less.
    The relation is not a proper order (chrX is "less" than chrX, chrom1 sorts after chrY);
    sorting with it is still deterministic for a given input order, which is what clodius does.
    """
    if "_" in a:
        if "_" in b:
            return natural_cmp(a.split("_")[1], b.split("_")[1])
        return 1
    if "_" in b:
        return -1
    lower_a, lower_b = a.lower(), b.lower()
    for letter in "myx":
        if letter in lower_b:
            return -1
        if letter in lower_a:
            return 1
    try:
        return -1 if _runs(a) < _runs(b) else 1
    except TypeError:
        return 1


natural_sort_key = functools.cmp_to_key(natural_cmp)


def natural_sorted(names):
    """``names`` in clodius' natural order: a stable sort that only asks "less than"."""
    return sorted(names, key=natural_sort_key)


# --- file structure checks ------------------------------------------------------------------

BIGWIG_MAGIC = 0x888FFC26
BIGBED_MAGIC = 0x8789F2EB
_BPT_MAGIC = 0x78CA8C91
_CIR_MAGIC = 0x2468ACE0
_MAX_DEPTH = 64
_SECTION_ITEM_SIZE = {1: 12, 2: 8, 3: 4}  # bedGraph, variableStep, fixedStep


class _Corrupt(Exception):
    pass


class _Reader:
    """Bounds-checked little/big-endian reads at absolute offsets (``os.pread``, no mmap)."""

    def __init__(self, fd, size):
        self.fd, self.size, self.order = fd, size, "<"

    def read(self, offset, length, what):
        if offset < 0 or length < 0 or offset + length > self.size:
            raise _Corrupt(f"the {what} lies beyond the end of the file (truncated?)")
        data = os.pread(self.fd, length, offset)
        if len(data) != length:
            raise _Corrupt(f"the {what} could not be read in full")
        return data

    def unpack(self, fmt, offset, what):
        fmt = self.order + fmt
        return struct.unpack(fmt, self.read(offset, struct.calcsize(fmt), what))


def _walk_bpt(reader, offset):
    """The chromosome B+ tree: ``{name: length}`` (names as pybbi decodes them)."""
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
                _chrom_id, length = struct.unpack(reader.order + "II", value)
                try:
                    name = body[i * item: i * item + key_size].split(b"\0", 1)[0].decode("ascii")
                except UnicodeDecodeError:
                    raise _Corrupt("a chromosome name is not ASCII text") from None
                if length >= 2 ** 31:  # pybbi takes positions as C ints
                    raise _Corrupt(f"chromosome {name!r} is longer than 2^31 - 1 bases")
                chroms[name] = length
            else:
                node(struct.unpack(reader.order + "Q", value)[0], depth + 1)

    node(offset + 32, 0)
    return chroms


def _walk_cir(reader, offset, what, on_block=None):
    """An R tree index: checks every node lies in the file; ``on_block(offset, size)`` for each
    data block it points to (None: check only the header and the root node)."""
    if offset == 0:
        raise _Corrupt(f"the {what} is missing (empty or unfinished file?)")
    (magic,) = reader.unpack("I", offset, f"{what} header")
    if magic != _CIR_MAGIC:
        raise _Corrupt(f"the {what} is missing or damaged")
    reader.read(offset, 48, f"{what} header")
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


def _block_reader(reader, buffer_size, check_section):
    def on_block(offset, size):
        data = reader.read(offset, size, "data block")
        if buffer_size:
            inflater = zlib.decompressobj()
            try:
                data = inflater.decompress(data, buffer_size + 1)
            except zlib.error:
                raise _Corrupt("a data block does not decompress") from None
            if len(data) > buffer_size or not inflater.eof:
                raise _Corrupt("a data block is truncated or larger than the file declares")
        if check_section:
            if len(data) < 24:
                raise _Corrupt("a data section is too short")
            kind, _reserved, count = struct.unpack(reader.order + "BBH", data[20:24])
            item = _SECTION_ITEM_SIZE.get(kind)
            if item is None:
                raise _Corrupt(f"a data section has the unknown type {kind}")
            if 24 + count * item > len(data):
                raise _Corrupt("a data section is shorter than its item count")

    return on_block


def inspect_bigwig(path, deep=True):
    """Check that ``path`` is a well-formed bigWig; returns its ``{name: length}``.

    ``deep`` walks both indexes completely and decompresses every block (ingest); otherwise only
    the parts that opening the file reads, plus the index roots. Raises GeneratorError.
    """
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as exc:
        raise GeneratorError(f"cannot read the file: {exc.strerror or exc}") from None
    try:
        size = os.fstat(fd).st_size
        reader = _Reader(fd, size)
        if size < 4:
            raise GeneratorError("not a bigWig file (too short)")
        magic_bytes = reader.read(0, 4, "signature")
        if int.from_bytes(magic_bytes, "little") == BIGWIG_MAGIC:
            reader.order = "<"
        elif int.from_bytes(magic_bytes, "big") == BIGWIG_MAGIC:
            reader.order = ">"
        elif BIGBED_MAGIC in (int.from_bytes(magic_bytes, "little"), int.from_bytes(magic_bytes, "big")):
            raise GeneratorError("this is a bigBed file, not a bigWig")
        else:
            raise GeneratorError("not a bigWig file (no bigWig signature)")
        (_magic, version, zoom_levels, chrom_tree, full_data, full_index, _fields, _defined, _autosql,
         total_summary, buffer_size, extension) = reader.unpack("IHHQQQHHQQIQ", 0, "header")
        if not 1 <= version <= 4:
            raise _Corrupt(f"unsupported bigWig version {version}")
        zooms = [reader.unpack("IIQQ", 64 + 24 * i, "zoom level header") for i in range(zoom_levels)]
        if total_summary:
            reader.read(total_summary, 40, "summary")
        if extension:
            reader.read(extension, 12, "extension header")
        reader.read(full_data, 8, "data header")
        chroms = _walk_bpt(reader, chrom_tree)
        if not chroms:
            raise GeneratorError("the bigWig has no chromosomes")
        data_check = _block_reader(reader, buffer_size, check_section=True) if deep else None
        _walk_cir(reader, full_index, "data index", data_check)
        zoom_check = _block_reader(reader, buffer_size, check_section=False) if deep else None
        for level, (_reduction, _reserved, _data_offset, index_offset) in enumerate(zooms):
            _walk_cir(reader, index_offset, f"zoom level {level} index", zoom_check)
        return chroms
    except _Corrupt as exc:
        raise GeneratorError(f"corrupt bigWig: {exc}") from None
    except OSError as exc:
        raise GeneratorError(f"cannot read the file: {exc.strerror or exc}") from None
    finally:
        os.close(fd)


# --- open files and chromosome layouts ----------------------------------------------------


class _Layout:
    """Chromosome names, lengths and genome offsets in tileset order, and the zoom depth."""

    __slots__ = ("names", "lengths", "offsets", "total", "max_zoom")

    def __init__(self, rows):
        self.names, self.lengths, self.offsets = [], [], [0]
        for name, length in rows:
            self.names.append(str(name))
            self.lengths.append(int(length))
            self.offsets.append(self.offsets[-1] + int(length))
        self.total = self.offsets[-1]
        if self.total <= 0:
            raise GeneratorError("the tileset has no chromosomes")
        # §5.2: numpy log2 on the float, then ceil (as clodius does it).
        self.max_zoom = int(np.ceil(np.log2(np.ceil(self.total / TILE_SIZE))))

    def pieces(self, start, end):
        """(chromosome index, start, end) pieces of absolute [start, end), §5.4."""
        return genome.pieces(self.offsets, self.lengths, start, end)


class _BigWigFile:
    """An open pybbi handle with the file's chromosomes; fetches are serialised by a lock."""

    def __init__(self, path):
        inspect_bigwig(path, deep=False)
        try:
            self.handle = bbi.open(path)
        except (OSError, ValueError) as exc:
            raise GeneratorError(f"cannot open the bigWig: {exc}") from None
        self.sizes = dict(self.handle.chromsizes)
        self.lock = threading.Lock()
        self.own_layout = _Layout(own_chromsizes(self.sizes))


_open_files = OpenFiles(_BigWigFile, maxsize=64)


def _open(path):
    try:
        return _open_files.get(path)
    except OSError as exc:
        raise GeneratorError(f"cannot read the file: {exc.strerror or exc}") from None


def own_chromsizes(sizes):
    """``[(name, length)]`` of a ``{name: length}`` in natural order (from pybbi's order)."""
    return [(name, int(sizes[name])) for name in natural_sorted(sizes)]


@functools.lru_cache(maxsize=32)
def _assembly_layout(rows):
    return _Layout(rows)


def _layout(source, bigwig):
    rows = source.context.get("chromsizes")
    if not rows:
        return bigwig.own_layout
    try:
        return _assembly_layout(tuple(rows))
    except TypeError:  # rows that are lists: not hashable, no caching
        return _Layout(rows)


# --- the generator ------------------------------------------------------------------------


def validate(datafile, indexfile=None):
    inspect_bigwig(datafile, deep=True)
    try:
        with bbi.open(datafile) as handle:
            if not handle.is_bigwig:
                raise GeneratorError("not a bigWig file")
    except (OSError, ValueError) as exc:
        raise GeneratorError(f"cannot open the bigWig: {exc}") from None


def chromsizes(source):
    """The file's own chromosomes in natural order (not the coordSystem's)."""
    inspect_bigwig(source.datafile, deep=False)
    try:
        with bbi.open(source.datafile) as handle:
            sizes = dict(handle.chromsizes)
    except (OSError, ValueError) as exc:
        raise GeneratorError(f"cannot open the bigWig: {exc}") from None
    return own_chromsizes(sizes)


def _modes(pairs):
    return {value: {"name": name, "value": value} for value, name in pairs}


def tileset_info(source):
    layout = _layout(source, _open(source.datafile))
    return {
        "min_pos": [0],
        "max_pos": [layout.total],
        "max_width": TILE_SIZE * 2 ** layout.max_zoom,
        "tile_size": TILE_SIZE,
        "max_zoom": layout.max_zoom,
        "chromsizes": [[name, length] for name, length in zip(layout.names, layout.lengths)],
        "aggregation_modes": _modes(AGGREGATION_MODES),
        "range_modes": _modes(RANGE_MODES),
    }


def tile_values(bigwig, layout, zoom, x, mode="mean"):
    """The float64 array of tile (zoom, x): shape (n,) or (n, 2|4) for the range modes."""
    if zoom > layout.max_zoom:
        raise GeneratorError(f"zoom level {zoom} is beyond this tileset's deepest level ({layout.max_zoom})")
    stats = _STATS.get(mode, _STATS["mean"])
    ranged = mode in _RANGED
    binsize = 1 << (layout.max_zoom - zoom)
    start = x * TILE_SIZE * binsize
    end = start + TILE_SIZE * binsize

    plan, total = [], 0
    n_chroms, sizes = len(layout.names), bigwig.sizes
    for cid, piece_start, piece_end in layout.pieces(start, end):
        bins = -(-(piece_end - piece_start) // binsize)
        if bins == 0:
            continue
        name = None
        keep = bins
        if cid < n_chroms:
            file_length = sizes.get(layout.names[cid])
            if file_length:  # absent from the bigWig: NaN, and no drop (as clodius)
                length = layout.lengths[cid]
                if piece_end == length and length % binsize:
                    keep -= 1  # 0.18/0.20: drop the chromosome's partial last bin
                if piece_start <= file_length:  # else all out of the file's range: NaN
                    name = layout.names[cid]
        plan.append((name, piece_start, piece_end, bins, keep))
        total += keep

    values = np.full((total, len(stats)) if ranged else total, NAN)
    position = 0
    with bigwig.lock:
        for name, piece_start, piece_end, bins, keep in plan:
            if name is not None and keep:
                for column, stat in enumerate(stats):
                    fetched = bigwig.handle.fetch(name, piece_start, piece_end, bins=bins, missing=NAN, summary=stat)
                    if ranged:
                        values[position:position + keep, column] = fetched[:keep]
                    else:
                        values[position:position + keep] = fetched[:keep]
            position += keep
    return values


def _mode(request):
    return request.extra[0].split("|", 1)[0] if request.extra else "mean"


def tiles(source, requests, options=None):
    bigwig = _open(source.datafile)
    layout = _layout(source, bigwig)
    answer = {}
    for request in requests:
        try:
            values = tile_values(bigwig, layout, request.zoom, request.coords[0], _mode(request))
            answer[request.id] = format_dense_tile(values)
        except GeneratorError as exc:
            answer[request.id] = {"error": f"Tile {request.id}: {exc}"}
        except Exception:  # one bad tile never fails the batch
            logger.exception("bigWig tile %s of %s failed", request.id, source.datafile)
            answer[request.id] = {"error": f"Tile {request.id} could not be made."}
    return answer


GENERATOR = Generator(
    filetype="bigwig",
    validate=validate,
    tileset_info=tileset_info,
    tiles=tiles,
    chromsizes=chromsizes,
    dimensions=1,
    uses_coord_chromsizes=True,
)
