"""BAM: aligned reads for the higlass-pileup track, read with pysam.

The JSON is the one of the reference server (higlass-server + clodius 0.18/0.20 + pysam):
tileset_info ``{min_pos, max_pos, max_width, tile_size: 256, chromsizes, max_zoom,
max_tile_width}`` and column-oriented tiles ``{"id": [...], "from": [...], ..., "cigars": [...]}``
with one entry per mapped read overlapping the tile (a read spanning tiles is in each of them).

Chromosome order: the BAM header's reference names in clodius' natural order, each with
its own length (the reference pairs the sorted names with the lengths in header order when it
places reads; this server does not). The coordSystem's assembly is not used, as in the reference.

Where the reference fails or misbehaves this server answers per tile:

* zoom beyond ``max_zoom`` or ``x >= 2**z`` → ``{"error": ...}`` for that tile;
* a tile past the genome end → the columns with no reads (the reference crashes: HTTP 500);
* a tile wider than ``MAX_BAM_TILE_WIDTH`` → ``{"error": "Tile too large, no data returned.
  Max tile size: N"}`` for that tile (the pileup track shows it); the other tiles are served;
* more than 4e6 compressed bytes estimated from the index (finest-level bins, as the reference
  estimates them) → ``{"error": "Tile encompasses too much data: <bytes>"}`` (the reference
  prints the literal text ``{total_size}``);
* a read without a stored sequence gets ``[]`` in ``variants`` (the reference skips the entry,
  which shifts that column against the others).

``MAX_BAM_TILE_WIDTH`` (bases, default 100000) comes from the server's settings through the tile
service (see :mod:`.tile_width` for a generator called directly).

pysam handles are not thread-safe: each request borrows a handle from a small per-file pool and
returns it, so concurrent requests never share one. The index (``.bai`` or ``.csi``) is given at
ingest (``--indexfile``), found beside the file (``<file>.bai``/``<file>.csi``), or built at
ingest with ``pysam.index`` into the server's folder when the BAM is coordinate-sorted.

Remote BAMs (http(s) and s3): htslib reads a sparse local mirror of the file
(:mod:`~tilesets.formats.bam_mirror`), into which the bytes a tile's reads need are fetched first
through the remote layer, so htslib never touches the network; its index is a local file
(``access.local_path``, a copy in the bounded disk cache). A server failing a fetch fails that
tile; htslib failing on the mirror gets the tile's bytes fetched again and one more try. The
header is read by byte ranges; ``validate`` checks the first record of each reference the index
places reads on. A remote BAM needs its index given (none is built).
"""

import math
import threading
from contextlib import contextmanager

import pysam

from ..formats import access
from ..formats.bam_mirror import MirroredBam, first_record_refs, without_paths
from ..formats.bgzf import CompressionError
from ..formats.errors import FormatError
from ..formats.hts_headers import bam_header
from ..formats.hts_index import BinSizes, IndexKindError, IndexLayoutError, load_index
from ..formats.lru import LRU
from ..formats.openfiles import OpenFiles
from ..formats.remote_config import RemoteError
from ..formats.version import file_version
from . import bigwig, genome
from .bam_index import build_index, check_is_bam, one_line
from .bam_reads import add_reads, empty_tile
from .base import Generator, GeneratorError, HtsgetFormat, each_tile
from .hts import bam_facts
from .tile_width import max_tile_width

TILE_SIZE = 256
MAX_ESTIMATED_BYTES = 4e6  # compressed bytes a tile may read, estimated from the index
POOL_SIZE = 4  # idle pysam handles kept per (file, index)


def max_zoom_of(total):
    """``ceil(log(T / 256) / log(2))`` (the float formula of the reference), at least 0."""
    return max(0, math.ceil(math.log(total / TILE_SIZE) / math.log(2)))


# --- the file and its index ---------------------------------------------------------------------


class _IndexSizes(BinSizes):
    """What the reference reads from a ``.bai``/``.csi`` to estimate a tile's size: per reference,
    the compressed bytes of the chunks of each finest-level bin; plus the largest file offset."""

    def __init__(self, path, keep=False):
        try:
            index = load_index(path, kinds=("bai", "csi"))
        except OSError as exc:
            raise GeneratorError(f"cannot read the index: {exc.strerror or exc}") from None
        except CompressionError:
            raise GeneratorError("the index does not decompress") from None
        except IndexKindError:
            raise GeneratorError("the index is neither a .bai nor a .csi file") from None
        except IndexLayoutError:
            raise GeneratorError("the .csi index has an unexpected layout") from None
        except GeneratorError:
            raise GeneratorError("the index is truncated or damaged") from None
        super().__init__(index)
        self.index = index if keep else None  # (a remote BAM's reader asks it which bytes to fetch)


class _BamFile:
    """One BAM: its header, the natural-order layout, pools of pysam handles and parsed indexes."""

    def __init__(self, location):
        check_is_bam(location)
        self.location = location
        self.path = location
        self.mirrored = None  # a remote BAM: htslib reads its local mirror
        if access.is_remote(location):
            header = bam_header(location)
            self.references = [name for name, _ in header["references"]]
            self.lengths = [int(length) for _, length in header["references"]]
            self.mirrored = MirroredBam(location, header["header_end"])
        else:
            try:
                with pysam.AlignmentFile(self.path, "rb", check_sq=False) as handle:
                    self.references = list(handle.references)
                    self.lengths = [int(length) for length in handle.lengths]
            except (OSError, ValueError) as exc:
                raise GeneratorError(f"cannot open the BAM: {one_line(exc)}") from None
        if not self.references:
            raise GeneratorError("the BAM header lists no reference sequences (unaligned BAM?)")
        self.tids = {name: tid for tid, name in enumerate(self.references)}
        self.own_rows = own_chromsizes(self.references, self.lengths)
        self.layout = bigwig._Layout(self.own_rows) if sum(self.lengths) else None
        self._lock = threading.Lock()
        self._pools = {}
        self._sizes = LRU()

    @contextmanager
    def handle(self, indexfile):
        """A pysam handle (a local BAM) or a mirror :class:`~tilesets.formats.bam_mirror.Reader`
        (a remote one) for this request alone."""
        if self.mirrored is not None:
            index = self.sizes(indexfile).index
            reader = self.mirrored.borrow(file_version(indexfile), lambda: access.local_path(indexfile), index)
            try:
                yield reader
            finally:
                self.mirrored.give_back(reader)
            return
        key = file_version(indexfile)
        with self._lock:
            pool = self._pools.setdefault(key, [])
            handle = pool.pop() if pool else None
        if handle is None:
            try:
                handle = pysam.AlignmentFile(self.path, "rb", index_filename=access.local_path(indexfile))
            except (OSError, ValueError) as exc:
                raise GeneratorError(f"cannot open the BAM with its index: {one_line(exc)}") from None
        try:
            yield handle
        finally:
            with self._lock:
                if len(pool) < POOL_SIZE and handle.is_open:  # one closed after a failed remote read goes
                    pool.append(handle)
                    handle = None
            if handle is not None:
                handle.close()

    def sizes(self, indexfile):
        key = file_version(indexfile)
        sizes = self._sizes.get(key)
        if sizes is None:
            remote = self.mirrored is not None
            try:  # a remote index: the local copy htslib reads too
                path = access.local_path(indexfile) if remote else indexfile
            except OSError as exc:
                raise GeneratorError(f"cannot read the index: {exc.strerror or exc}") from None
            sizes = _IndexSizes(path, keep=remote)
            if sizes.n_ref != len(self.references):
                raise GeneratorError(f"the index does not belong to this BAM ({sizes.n_ref} references in the "
                                     f"index, {len(self.references)} in the BAM)")
            self._sizes.discard_where(lambda other: other.path == key.path)
            sizes = self._sizes.setdefault(key, sizes)
        return sizes


_open_files = OpenFiles(_BamFile, maxsize=32, what="the file", missing="the BAM file is missing")
_open = _open_files.get


def _index_of(source):
    if source.indexfile:
        if not access.is_file(source.indexfile):
            raise GeneratorError("the BAM index is missing")
        return source.indexfile
    for suffix in GENERATOR.index_suffixes:
        if access.is_file(source.datafile + suffix):
            return source.datafile + suffix
    raise GeneratorError("the BAM has no index (.bai or .csi)")


def own_chromsizes(names, lengths):
    """``[(name, length)]`` in natural order, each name with its own length."""
    sizes = dict(zip(names, lengths))
    return [(name, int(sizes[name])) for name in genome.natural_sorted(names)]


def tile_reads(bam, handle, sizes, zoom, x, limit, prepare=None):
    """The tile ``(zoom, x)`` of an open BAM: the columns, or an ``{"error": ...}`` tile.
    ``prepare([(ref id, start, end), ...])``, when given, makes the regions readable first and
    returns the handle to read them with (a remote BAM's mirror reader)."""
    layout = bam.layout
    max_zoom = max_zoom_of(layout.total)
    if zoom > max_zoom:
        raise GeneratorError(f"zoom level {zoom} is beyond this tileset's deepest level ({max_zoom})")
    if x >= 1 << zoom:
        raise GeneratorError(f"position {x} is outside zoom level {zoom} (0 to {(1 << zoom) - 1})")
    width = TILE_SIZE << (max_zoom - zoom)
    if width > limit:
        return {"error": f"Tile too large, no data returned. Max tile size: {limit}"}
    start = x * width
    end = start + width
    if start >= layout.total:
        return empty_tile()
    n_chroms = len(layout.names)
    pieces = [(cid, s, e) for cid, s, e in layout.pieces(start, end) if cid < n_chroms]
    index_sizes = sizes()
    total_size = sum(index_sizes.estimate(bam.tids[layout.names[cid]], s, e) for cid, s, e in pieces)
    if total_size > MAX_ESTIMATED_BYTES:
        return {"error": f"Tile encompasses too much data: {total_size}"}
    if prepare is not None:
        handle = prepare([(bam.tids[layout.names[cid]], s, e) for cid, s, e in pieces])
    columns = empty_tile()
    for cid, piece_start, piece_end in pieces:
        name = layout.names[cid]
        reads = handle.fetch(name, piece_start, piece_end)
        add_reads(columns, reads, layout.offsets[cid], piece_start, piece_end)
    return columns


# --- the generator -----------------------------------------------------------------------------


def validate(datafile, indexfile=None):
    """A BAM file with reference sequences and an index (.bai/.csi) that belongs to it."""
    check_is_bam(datafile)
    if not indexfile:
        raise GeneratorError("a BAM index (.bai or .csi) is needed (--indexfile)")
    bam = _BamFile(datafile)
    if bam.layout is None:
        raise GeneratorError("the BAM's reference sequences all have length 0")
    sizes = bam.sizes(indexfile)
    if sizes.max_offset > access.size_of(datafile):
        raise GeneratorError("the index does not belong to this BAM (it points past the end of the file)")
    if bam.mirrored is not None:
        _check_remote_reads(bam, sizes.index, datafile)
        return
    try:
        with pysam.AlignmentFile(bam.path, "rb", index_filename=access.local_path(indexfile)) as handle:
            if not handle.is_bam:
                raise GeneratorError("not a BAM file")
            checked = 0
            for stats in handle.get_index_statistics():
                if not stats.mapped:
                    continue
                tid = bam.tids[stats.contig]
                read = next(iter(handle.fetch(stats.contig)), None)
                if read is None or read.reference_id != tid:
                    raise GeneratorError(f"the index does not belong to this BAM (no reads where it puts "
                                         f"them on {stats.contig})")
                checked += 1
                if checked >= 1000:
                    break
    except (OSError, ValueError, KeyError) as exc:
        raise GeneratorError(f"the index does not belong to this BAM or is damaged: {one_line(exc)}") from None


def _check_remote_reads(bam, index, datafile):
    """A remote BAM: the first record of each reference the index places reads on (up to 1000)
    is on that reference (read by ranges; htslib is not given the URL)."""
    try:
        pairs = first_record_refs(datafile, index)
    except RemoteError:
        raise
    except (OSError, FormatError) as exc:
        raise GeneratorError(f"the index does not belong to this BAM or is damaged: {one_line(exc)}") from None
    for ref_id, found in pairs:
        if found != ref_id:
            raise GeneratorError(f"the index does not belong to this BAM (no reads where it puts them on "
                                 f"{bam.references[ref_id]})")


def chromsizes(source):
    """The header's reference sequences in natural order."""
    return list(_open(source.datafile).own_rows)


def tileset_info(source):
    bam = _open(source.datafile)
    if bam.layout is None:
        raise GeneratorError("the BAM's reference sequences all have length 0")
    total = bam.layout.total
    max_zoom = max_zoom_of(total)
    return {
        "min_pos": [0],
        "max_pos": [total],
        "max_width": TILE_SIZE * 2 ** max_zoom,
        "tile_size": TILE_SIZE,
        "chromsizes": [[name, length] for name, length in bam.own_rows],
        "max_zoom": max_zoom,
        "max_tile_width": max_tile_width(source),
    }


def tiles(source, requests, options=None):
    bam = _open(source.datafile)
    if bam.layout is None:
        raise GeneratorError("the BAM's reference sequences all have length 0")
    indexfile = _index_of(source)
    limit = max_tile_width(source)
    with bam.handle(indexfile) as handle:

        def sizes():
            return bam.sizes(indexfile)

        def make(request):
            if bam.mirrored is None:
                return tile_reads(bam, handle, sizes, request.zoom, request.coords[0], limit)
            return _mirrored_tile(bam, handle, sizes, request, limit, source.datafile)

        return each_tile(requests, make, "BAM")


def _mirrored_tile(bam, reader, sizes, request, limit, datafile):
    """A tile of a remote BAM: a server failing a fetch fails the tile (RemoteError); htslib
    failing on the mirror gets the tile's bytes fetched again and one more try."""
    zoom, x = request.zoom, request.coords[0]
    try:
        return tile_reads(bam, None, sizes, zoom, x, limit, prepare=reader.prepare)
    except RemoteError:
        raise
    except (OSError, ValueError):
        pass
    try:
        reader.repair()
        return tile_reads(bam, None, sizes, zoom, x, limit, prepare=reader.prepare)
    except RemoteError:
        raise
    except (OSError, ValueError) as exc:
        reader.close()  # the next tile opens a new handle
        raise GeneratorError(f"{access.shown(datafile)}: reading the reads failed "
                             f"({without_paths(one_line(exc))})") from None


GENERATOR = Generator(
    tile_width_setting="MAX_BAM_TILE_WIDTH",
    filetype="bam",
    validate=validate,
    tileset_info=tileset_info,
    tiles=tiles,
    chromsizes=chromsizes,
    dimensions=1,
    needs_index=True,
    index_suffixes=(".bai", ".csi"),
    build_index=build_index,
    facts=bam_facts,
    htsget=HtsgetFormat(endpoint="reads", format="BAM", ranged=True),
)
