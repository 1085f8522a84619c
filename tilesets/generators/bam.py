"""BAM: aligned reads for the higlass-pileup track (tiles.md §12), read with pysam.

The JSON is the one of the reference server (higlass-server + clodius 0.18/0.20 + pysam):
tileset_info ``{min_pos, max_pos, max_width, tile_size: 256, chromsizes, max_zoom,
max_tile_width}`` and column-oriented tiles ``{"id": [...], "from": [...], ..., "cigars": [...]}``
with one entry per mapped read overlapping the tile (a read spanning tiles is in each of them).

Chromosome order: the BAM header's reference names in clodius' natural order (§15), each with
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

``MAX_BAM_TILE_WIDTH`` (bases, default 100000) is read from the environment when a request is
served (generators do not import Django settings; a value set only in ``config.json`` is not seen
here). A value that is not a positive integer falls back to the default (with a warning).

pysam handles are not thread-safe: each request borrows a handle from a small per-file pool and
returns it, so concurrent requests never share one. The index (``.bai`` or ``.csi``) is given at
ingest (``--indexfile``), found beside the file (``<file>.bai``/``<file>.csi``), or built at
ingest with ``pysam.index`` into the server's folder when the BAM is coordinate-sorted.
"""

import gzip
import math
import os
import re
import struct
import threading
import zlib
from contextlib import contextmanager

import numpy as np
import pysam

from . import bigwig, genome
from .base import Generator, GeneratorError, each_tile
from .fasta import env_int, first_bgzf_block, is_bgzf
from .files import OpenFiles
from .hts import bam_facts


TILE_SIZE = 256
DEFAULT_MAX_TILE_WIDTH = 100000
MAX_TILE_WIDTH_ENV = "MAX_BAM_TILE_WIDTH"
MAX_ESTIMATED_BYTES = 4e6  # compressed bytes a tile may read, estimated from the index
CSI_ABOVE = (1 << 29) - 1  # a .bai cannot index positions beyond 2^29 - 1: build a .csi instead
POOL_SIZE = 4  # idle pysam handles kept per (file, index)

COLUMNS = ("id", "from", "to", "md", "chrName", "chrOffset", "cigar", "m1From", "m1To", "m2From", "m2To",
           "mapq", "tags.HP", "strand", "variants", "cigars")

_DELETIONS = re.compile(r"\^[A-Za-z]*")
_LETTER = re.compile(r"[A-Za-z]")


def max_tile_width(source=None):
    """The server's setting when the service passes it (Source.context), else the environment."""
    if source is not None and source.context.get("max_tile_width"):
        return int(source.context["max_tile_width"])
    return env_int(MAX_TILE_WIDTH_ENV, DEFAULT_MAX_TILE_WIDTH)


def max_zoom_of(total):
    """§12: ``ceil(log(T / 256) / log(2))`` (the float formula of the reference), at least 0."""
    return max(0, math.ceil(math.log(total / TILE_SIZE) / math.log(2)))


# --- the file and its index ---------------------------------------------------------------------


def _kind_of(path):
    """Raise GeneratorError unless ``path`` is a BAM file (by content, not by name)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(18)
    except OSError as exc:
        raise GeneratorError(f"cannot read the file: {exc.strerror or exc}") from None
    if not head:
        raise GeneratorError("empty file: not a BAM file")
    if head.startswith(b"CRAM"):
        raise GeneratorError("this is a CRAM file, not BAM")
    if is_bgzf(head):
        block = first_bgzf_block(path)
        if block.startswith(b"BAM\x01"):
            return
        if block.startswith(b">"):
            raise GeneratorError("this is a (bgzip-compressed) FASTA file, not BAM")
        raise GeneratorError("not a BAM file (a bgzip file without the BAM signature)")
    if head.startswith(b"@") or b"\t" in head:
        raise GeneratorError("not a BAM file: it looks like SAM text (convert it with samtools view -b)")
    if head.startswith(b">"):
        raise GeneratorError("this is a FASTA file, not BAM")
    raise GeneratorError("not a BAM file")


class _IndexSizes:
    """What the reference reads from the index to estimate a tile's size: per reference, the
    compressed bytes of the chunks of each finest-level bin; plus the largest file offset."""

    def __init__(self, path):
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except OSError as exc:
            raise GeneratorError(f"cannot read the index: {exc.strerror or exc}") from None
        try:
            if data[:2] == b"\x1f\x8b":
                data = gzip.decompress(data)  # .csi files are bgzip-compressed
        except (OSError, EOFError, zlib.error):
            raise GeneratorError("the index does not decompress") from None
        try:
            self._parse(data)
        except struct.error:
            raise GeneratorError("the index is truncated or damaged") from None

    def _parse(self, data):
        if data[:4] == b"BAI\x01":
            csi, self.min_shift, depth, at = False, 14, 5, 4
        elif data[:4] == b"CSI\x01":
            self.min_shift, depth, aux = struct.unpack_from("<iii", data, 4)
            csi, at = True, 16 + aux
            if not (0 < self.min_shift < 32 and 0 <= depth < 11):
                raise GeneratorError("the .csi index has an unexpected layout")
        else:
            raise GeneratorError("the index is neither a .bai nor a .csi file")
        first = ((1 << 3 * depth) - 1) // 7  # first bin of the finest level
        count = 1 << 3 * depth
        pseudo = first + count + 1  # the metadata bin: counts, not offsets
        (n_ref,) = struct.unpack_from("<i", data, at)
        at += 4
        if n_ref < 0:
            raise GeneratorError("the index is damaged")
        self.n_ref, self.max_offset, self.refs = n_ref, 0, []
        for _ in range(n_ref):
            (n_bin,) = struct.unpack_from("<i", data, at)
            at += 4
            keys, sizes = [], []
            for _ in range(n_bin):
                if csi:
                    bin_no, _loffset, n_chunk = struct.unpack_from("<IQi", data, at)
                    at += 16
                else:
                    bin_no, n_chunk = struct.unpack_from("<Ii", data, at)
                    at += 8
                chunks = struct.unpack_from(f"<{2 * n_chunk}Q", data, at)
                at += 16 * n_chunk
                if bin_no == pseudo or not chunks:
                    continue
                self.max_offset = max(self.max_offset, max(chunks[1::2]) >> 16)
                if first <= bin_no < first + count:
                    keys.append(bin_no - first)
                    sizes.append(sum((end >> 16) - (beg >> 16) for beg, end in zip(chunks[0::2], chunks[1::2])))
            if not csi:
                (n_intv,) = struct.unpack_from("<i", data, at)
                at += 4 + 8 * n_intv
            order = np.argsort(keys, kind="stable")
            self.refs.append((np.asarray(keys, dtype=np.int64)[order],
                              np.concatenate([[0], np.cumsum(np.asarray(sizes, dtype=np.int64)[order])])))
        if at > len(data):
            raise struct.error

    def estimate(self, tid, start, end):
        """Compressed bytes in the finest bins from ``start >> min_shift`` to ``end >> min_shift``
        (both included, as the reference's ``reg2bins`` gives them)."""
        keys, cumulative = self.refs[tid]
        lo = np.searchsorted(keys, start >> self.min_shift, side="left")
        hi = np.searchsorted(keys, end >> self.min_shift, side="right")
        return int(cumulative[hi] - cumulative[lo])


def _file_version(path):
    stat = os.stat(path)
    return (os.path.realpath(path), stat.st_ino, stat.st_size, stat.st_mtime_ns)


class _BamFile:
    """One BAM: its header, the natural-order layout, pools of pysam handles and parsed indexes."""

    def __init__(self, path):
        _kind_of(path)
        self.path = path
        try:
            with pysam.AlignmentFile(path, "rb", check_sq=False) as handle:
                self.references = list(handle.references)
                self.lengths = [int(length) for length in handle.lengths]
        except (OSError, ValueError) as exc:
            raise GeneratorError(f"cannot open the BAM: {_one_line(exc)}") from None
        if not self.references:
            raise GeneratorError("the BAM header lists no reference sequences (unaligned BAM?)")
        self.tids = {name: tid for tid, name in enumerate(self.references)}
        self.own_rows = own_chromsizes(self.references, self.lengths)
        self.layout = bigwig._Layout(self.own_rows) if sum(self.lengths) else None
        self._lock = threading.Lock()
        self._pools = {}
        self._sizes = {}

    @contextmanager
    def handle(self, indexfile):
        key = _file_version(indexfile)
        with self._lock:
            pool = self._pools.setdefault(key, [])
            handle = pool.pop() if pool else None
        if handle is None:
            try:
                handle = pysam.AlignmentFile(self.path, "rb", index_filename=indexfile)
            except (OSError, ValueError) as exc:
                raise GeneratorError(f"cannot open the BAM with its index: {_one_line(exc)}") from None
        try:
            yield handle
        finally:
            with self._lock:
                if len(pool) < POOL_SIZE:
                    pool.append(handle)
                    handle = None
            if handle is not None:
                handle.close()

    def sizes(self, indexfile):
        key = _file_version(indexfile)
        with self._lock:
            sizes = self._sizes.get(key)
        if sizes is None:
            sizes = _IndexSizes(indexfile)
            if sizes.n_ref != len(self.references):
                raise GeneratorError(f"the index does not belong to this BAM ({sizes.n_ref} references in the "
                                     f"index, {len(self.references)} in the BAM)")
            with self._lock:
                self._sizes = {k: v for k, v in self._sizes.items() if k[0] != key[0]}
                self._sizes[key] = sizes
        return sizes


_open_files = OpenFiles(_BamFile, maxsize=32, what="the file", missing="the BAM file is missing")
_open = _open_files.get


def _one_line(exc):
    return " ".join(str(exc).split()) or type(exc).__name__


def _index_of(source):
    if source.indexfile:
        if not os.path.isfile(source.indexfile):
            raise GeneratorError("the BAM index is missing")
        return source.indexfile
    for suffix in GENERATOR.index_suffixes:
        if os.path.isfile(source.datafile + suffix):
            return source.datafile + suffix
    raise GeneratorError("the BAM has no index (.bai or .csi)")


def own_chromsizes(names, lengths):
    """``[(name, length)]`` in natural order, each name with its own length."""
    sizes = dict(zip(names, lengths))
    return [(name, int(sizes[name])) for name in genome.natural_sorted(names)]


# --- reads -------------------------------------------------------------------------------------


def cigar_substitutions(read):
    """``[(position, op, length)]`` as the reference lists them: X, I, D, N ops along the read,
    then soft/hard clips at either end (positions relative to the chromosome)."""
    tuples = read.cigartuples
    if not tuples:
        return []
    start = read.reference_start
    end = start + read.query_length
    subs, at = [], 0
    for op, length in tuples:
        if op == 8:  # X
            subs.append((start + at, "X", length))
            at += length
        elif op == 1:  # I
            subs.append((start + at, "I", length))
        elif op == 2:  # D
            subs.append((start + at, "D", length))
            at += length
        elif op == 3:  # N
            subs.append((start + at, "N", length))
            at += length
        elif op in (0, 7):  # M, =
            at += length
    (first_op, first_length), (last_op, last_length) = tuples[0], tuples[-1]
    if first_op == 4:
        subs.append((start - first_length, "S", first_length))
    if first_op == 5:
        subs.append((start - first_length, "H", first_length))
    if last_op == 4:
        subs.append((end - last_length, "S", last_length))
    if last_op == 5:
        subs.append((end, "H", last_length))
    return subs


_MD_TOKEN = re.compile(r"(\d+)|\^([A-Za-z]*)|([A-Za-z])")


def md_mismatches(tuples, reference_start, md, query_length):
    """``[(query_pos, ref_pos)]`` of the mismatch letters of an MD tag that agrees exactly with
    the cigar (its deletions are the D ops, its bases the M/=/X bases); else None.

    This is what pysam's ``get_aligned_pairs(with_seq=True, matches_only=True)`` marks lowercase,
    found without building the pairs of every base."""
    matches, deletions = [], []  # (md start, md end, query start, reference start)
    k = q = 0
    r = reference_start
    for op, length in tuples:
        if op in (0, 7, 8):
            matches.append((k, k + length, q, r))
            k, q, r = k + length, q + length, r + length
        elif op == 2:
            deletions.append((k, length))
            k, r = k + length, r + length
        elif op == 3:
            r += length
        elif op in (1, 4):
            q += length
    if q != query_length:
        return None
    total, k, at, segment, found, out = k, 0, 0, 0, [], []
    for token in _MD_TOKEN.finditer(md):
        if token.start() != at:
            return None
        at = token.end()
        number, deleted, letter = token.groups()
        if number is not None:
            k += int(number)
        elif deleted is not None:
            found.append((k, len(deleted)))
            k += len(deleted)
        else:
            while segment < len(matches) and matches[segment][1] <= k:
                segment += 1
            if segment == len(matches) or matches[segment][0] > k:
                return None
            md_start, _, q0, r0 = matches[segment]
            out.append((q0 + k - md_start, r0 + k - md_start))
            k += 1
    if at != len(md) or k != total or found != [d for d in deletions if d[1]]:
        return None
    return out


def variants(read, sequence, md, start, end):
    """``[(query_pos, ref_pos, query_base)]`` of the mismatches the MD tag marks, at reference
    positions in ``[start, end]`` (both included, as the reference filters them)."""
    if md is None:
        return []  # pysam cannot build the reference without MD: the reference answers []
    if isinstance(md, str):
        if not _LETTER.search(_DELETIONS.sub("", md)):
            return []  # no mismatch letters: nothing pysam would mark lowercase
        found = md_mismatches(read.cigartuples or (), read.reference_start, md, len(sequence))
        if found is not None:
            return [(qpos, rpos, sequence[qpos]) for qpos, rpos in found if start <= rpos <= end]
    try:  # an MD tag that does not fit the cigar: whatever pysam makes of it
        pairs = read.get_aligned_pairs(with_seq=True, matches_only=True)
    except (ValueError, AssertionError):  # no MD / "Invalid MD tag" (the reference fails: HTTP 500)
        return []
    return [(qpos, rpos, sequence[qpos]) for qpos, rpos, base in pairs
            if start <= rpos <= end and base is not None and base.islower()]


def empty_tile():
    return {column: [] for column in COLUMNS}


def add_reads(columns, reads, chr_offset, start, end):
    """Append the mapped ``reads`` of one chromosome piece ``[start, end)`` to ``columns``."""
    for read in reads:
        if read.is_unmapped:
            continue
        suffix = ""
        if read.is_paired:
            if read.is_read1:
                suffix = "_1"
            if read.is_read2:
                suffix = "_2"
        reference_start = read.reference_start
        reference_end = read.reference_end
        md = read.get_tag("MD") if read.has_tag("MD") else None
        sequence = read.query_sequence
        columns["id"].append(read.query_name + suffix)
        columns["from"].append(reference_start + chr_offset)
        columns["to"].append((reference_end if reference_end is not None else reference_start) + chr_offset)
        columns["md"].append(md if md is not None else "")
        columns["chrName"].append(read.reference_name)
        columns["chrOffset"].append(chr_offset)
        columns["cigar"].append(read.cigarstring)
        columns["mapq"].append(read.mapping_quality)
        columns["tags.HP"].append(read.get_tag("HP") if read.has_tag("HP") else 0)
        columns["strand"].append("-" if read.is_reverse else "+")
        columns["variants"].append(variants(read, sequence, md, start, end) if sequence else [])
        columns["cigars"].append(cigar_substitutions(read))


def tile_reads(bam, handle, sizes, zoom, x, limit):
    """The tile ``(zoom, x)`` of an open BAM: the columns, or an ``{"error": ...}`` tile."""
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
    columns = empty_tile()
    for cid, piece_start, piece_end in pieces:
        name = layout.names[cid]
        reads = handle.fetch(name, piece_start, piece_end)
        add_reads(columns, reads, layout.offsets[cid], piece_start, piece_end)
    return columns


# --- the generator -----------------------------------------------------------------------------


def _header_sort_order(path):
    try:
        with pysam.AlignmentFile(path, "rb", check_sq=False) as handle:
            return handle.header.to_dict().get("HD", {}).get("SO")
    except (OSError, ValueError):
        return None


def _first_disorder(path):
    """The first read out of coordinate order, as text, or None (reads the file up to it)."""
    previous = (-1, -1)
    unplaced_seen = False
    with pysam.AlignmentFile(path, "rb", check_sq=False) as handle:
        names = handle.references
        for read in handle.fetch(until_eof=True):
            tid, pos = read.reference_id, read.reference_start
            if tid < 0:
                unplaced_seen = True
                continue
            if unplaced_seen:
                return f"read {read.query_name!r} at {names[tid]}:{pos + 1} follows unplaced unmapped reads"
            if (tid, pos) < previous:
                return (f"read {read.query_name!r} at {names[tid]}:{pos + 1} follows "
                        f"{names[previous[0]]}:{previous[1] + 1}")
            previous = (tid, pos)
    return None


def build_index(datafile, folder):
    """``pysam.index`` into ``folder``: a ``.bai`` (a ``.csi`` when a reference is longer than a
    ``.bai`` can hold). An unsorted BAM is refused with the first read out of order."""
    _kind_of(datafile)
    try:
        with pysam.AlignmentFile(datafile, "rb", check_sq=False) as handle:
            longest = max(handle.lengths, default=0)
    except (OSError, ValueError) as exc:
        raise GeneratorError(f"cannot open the BAM: {_one_line(exc)}") from None
    csi = longest > CSI_ABOVE
    out = os.path.join(folder, os.path.basename(datafile) + (".csi" if csi else ".bai"))
    try:
        pysam.index(*(["-c"] if csi else []), datafile, out)
    except pysam.SamtoolsError as exc:
        try:
            disorder = _first_disorder(datafile)
        except (OSError, ValueError):
            disorder = None
        if disorder is not None:
            order = _header_sort_order(datafile)
            said = f" (the header says SO:{order})" if order and order != "coordinate" else ""
            raise GeneratorError(f"not coordinate-sorted{said}: {disorder}; sort it with samtools sort, "
                                 "then ingest the sorted file") from None
        raise GeneratorError(f"samtools index failed: {_one_line(exc)}") from None
    if not os.path.isfile(out):
        raise GeneratorError("samtools index wrote no index")
    return out


def validate(datafile, indexfile=None):
    """A BAM file with reference sequences and an index (.bai/.csi) that belongs to it."""
    _kind_of(datafile)
    if not indexfile:
        raise GeneratorError("a BAM index (.bai or .csi) is needed (--indexfile)")
    bam = _BamFile(datafile)
    if bam.layout is None:
        raise GeneratorError("the BAM's reference sequences all have length 0")
    sizes = bam.sizes(indexfile)
    if sizes.max_offset > os.path.getsize(datafile):
        raise GeneratorError("the index does not belong to this BAM (it points past the end of the file)")
    try:
        with pysam.AlignmentFile(datafile, "rb", index_filename=indexfile) as handle:
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
        raise GeneratorError(f"the index does not belong to this BAM or is damaged: {_one_line(exc)}") from None


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
        return each_tile(
            requests,
            lambda r: tile_reads(bam, handle, lambda: bam.sizes(indexfile), r.zoom, r.coords[0], limit),
            "BAM",
        )


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
)
