"""FASTA: sequence tiles for the HiGlass sequence tracks.

The JSON is the one of the reference server (higlass-server + clodius 0.18/0.20, which read the
file with pyfaidx): bigWig-style tileset_info plus ``max_tile_width``, and tiles
``{"sequence": "<bases>"}`` with the case of the file kept (soft-masked bases stay lowercase).

Chromosome order: the chromsizes tileset of the coordSystem when the service found exactly one
(``Source.context["chromsizes"]``), else the FASTA's own sequences in clodius' natural order.
The zoom math is bigWig's (1024 bases per tile at the deepest zoom).

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

``MAX_FASTA_TILE_WIDTH`` (bases, default 100000) comes from the server's settings through the
tile service (see :mod:`.tile_width` for a generator called directly).

Reading: the file is read through its ``.fai`` index at offsets (no shared file position, so one
open file serves every thread). Plain text and bgzip-compressed FASTA are served; for bgzip the
block table (what a ``.gzi`` holds) is rebuilt from the block headers when the file is
first opened, so only the ``.fai`` needs to be stored. Plain gzip cannot be read at random
positions and is refused at ingest with a hint to recompress with ``bgzip``. The ``.fai`` is
built at ingest with ``pysam.faidx`` when none is given or found beside the file.

Remote FASTA (http(s), s3): read at offsets through the remote layer like a local file; the
``.fai`` is read through it too (given, or found beside the file as ``<URL>.fai``), and a remote
bgzip file uses the ``.gzi`` beside it when there is one (see
:func:`tilesets.formats.fasta.open_sequence_file`). Building a ``.fai`` for a remote file needs
a whole local copy, so it is done only up to the largest file the server copies whole.
"""

import os
import shutil
import tempfile

from ..formats import access
from ..formats.bgzf import BgzfFile
from ..formats.fasta import check_index, check_start, fetch, load_fai, open_sequence_file
from ..formats.lru import LRU
from ..formats.openfiles import OpenFiles
from ..formats.version import file_version
from . import bigwig, genome
from .base import Generator, GeneratorError, each_tile
from .tile_width import max_tile_width

TILE_SIZE = bigwig.TILE_SIZE  # 1024, and bigWig's max_zoom formula (clodius get_quadtree_depth)


def _open_data(path):
    try:
        return open_sequence_file(path)
    except OSError as exc:
        raise GeneratorError(f"cannot read the file: {exc.strerror or exc}") from None


class _FastaIndex:
    """A parsed ``.fai``: entries by name, in file order, and the natural-order layout."""

    def __init__(self, path):
        try:
            self.entries = load_fai(path)
        except OSError as exc:
            raise GeneratorError(f"cannot read the index: {exc.strerror or exc}") from None
        self.own_rows = [(name, self.entries[name].length) for name in genome.natural_sorted(self.entries)]
        self.own_layout = bigwig._Layout(self.own_rows) if sum(length for _, length in self.own_rows) else None


_readers = OpenFiles(open_sequence_file, maxsize=64, what="the FASTA file", missing="the FASTA file is missing")
_indexes = OpenFiles(_FastaIndex, maxsize=64, what="the index", missing="the index is missing")
# Chromosome sizes learnt at ingest, by file version (the index may not lie beside the file).
_known = LRU(max_items=16)


def _index_path(source):
    if source.indexfile:
        return source.indexfile
    beside = source.datafile + ".fai"
    if access.is_file(beside):
        return beside
    raise GeneratorError("the FASTA has no .fai index")


def _remember(datafile, rows):
    _known.put(file_version(datafile), rows)


def _recalled(datafile):
    return _known.get(file_version(datafile))


# --- the generator -----------------------------------------------------------------------------


def build_index(datafile, folder):
    """Write ``<name>.fai`` into ``folder`` with ``pysam.faidx`` (for bgzip, the ``.gzi`` it
    also needs goes to ``folder`` too and is not kept: reads rebuild the block table)."""
    import pysam

    reader = open_sequence_file(datafile)
    check_start(reader)
    out = os.path.join(folder, access.file_name(datafile) + ".fai")
    arguments = [access.local_path(datafile), "--fai-idx", out]
    if isinstance(reader, BgzfFile):
        arguments += ["--gzi-idx", os.path.join(folder, access.file_name(datafile) + ".gzi")]
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
    reader = _open_data(datafile)
    check_start(reader)
    if not indexfile:
        raise GeneratorError("a .fai index is needed (--indexfile)")
    index = _FastaIndex(indexfile)
    try:
        check_index(reader, index.entries)
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
    if access.is_file(source.datafile + ".fai"):
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
    info = bigwig.layout_info(_layout(source, index), modes=False)
    return dict(info, max_tile_width=max_tile_width(source))


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
