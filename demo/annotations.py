"""Demo annotation tilesets on hg38: made-up genes (beddb) and 2-D domains (bed2ddb).

Both are written with sqlite3 in the layout of ``clodius aggregate bedfile`` (beddb version 3)
and ``clodius aggregate bedpe`` (bed2ddb version 1), entries placed at their zoom levels the way
clodius places them, so they are served exactly as files made with clodius. Seeded: every call
writes the same data. The gene names are invented (``ZAB1``, ``QORL12``, ...), as is everything
else about them.
"""

import base64
import math
import sqlite3
from collections import defaultdict
from pathlib import Path

import numpy as np

from .assembly import HG38, SEED

TILE_SIZE = 1024
GENE_STEMS = ("ZAB", "QORL", "VEXT", "MIRO", "TALP", "KEBB", "DUNR", "FOSK", "GLIM", "HAVR",
              "JOPT", "LUXE", "NARF", "PYKE", "RIVA", "SOMB", "TREX", "UNGA", "WIKL", "YOLD")
GENE_TYPES = ("protein-coding", "protein-coding", "protein-coding", "ncRNA", "pseudo")


def genome(chromsizes=HG38, tile_size=TILE_SIZE):
    """(offsets by name, max_length, max_zoom, max_width) as clodius computes them for a beddb
    (also used by the tests' beddb writer)."""
    offsets, total = {}, 0
    for name, length in chromsizes:
        offsets[name] = total
        total += length
    max_length = total + 1
    max_zoom = int(math.ceil(math.log(max_length / tile_size) / math.log(2)))
    return offsets, max_length, max_zoom, tile_size * 2**max_zoom


def _uid(rng):
    """A slugid-like uid: 22 URL-safe base64 characters, starting with a letter."""
    raw = bytearray(rng.integers(0, 256, size=16, dtype=np.uint8).tobytes())
    raw[0] &= 0x7F
    return base64.urlsafe_b64encode(bytes(raw)).decode()[:22]


def _new_db(path, version, header):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    conn = sqlite3.connect(path)
    _, max_length, max_zoom, max_width = genome()
    conn.execute("""CREATE TABLE tileset_info (zoom_step INT, max_length INT, assembly text, chrom_names text,
                    chrom_sizes text, tile_size REAL, max_zoom INT, max_width REAL, header text, version text)""")
    conn.execute("INSERT INTO tileset_info VALUES (?,?,?,?,?,?,?,?,?,?)", (
        1, max_length, "hg38", "\t".join(n for n, _ in HG38), "\t".join(str(s) for _, s in HG38),
        float(TILE_SIZE), max_zoom, float(max_width), "\t".join(header), version,
    ))
    return conn, max_zoom


# --- genes (beddb) -------------------------------------------------------------------------------


def _genes(count, rng):
    """14-column gene-annotation lines (chr, txStart, txEnd, geneName, citationCount, strand,
    refseqId, geneId, geneType, geneDesc, cdsStart, cdsEnd, exonStarts, exonEnds)."""
    genome_length = sum(length for _, length in HG38)
    weights = np.array([length for _, length in HG38], dtype=float) / genome_length
    per_stem = defaultdict(int)
    lines = []
    for n in range(count):
        chrom, length = HG38[int(rng.choice(len(HG38), p=weights))]
        size = int(min(length - 1, max(300, rng.lognormal(math.log(25_000), 1.1))))
        start = int(rng.integers(0, length - size))
        end = start + size
        exons = int(min(12, 1 + rng.poisson(4)))
        cuts = np.sort(rng.choice(np.arange(1, size), size=2 * exons - 2, replace=False)) + start if exons > 1 else []
        bounds = [start, *[int(c) for c in cuts], end]
        starts, ends = bounds[0::2], bounds[1::2]
        stem = GENE_STEMS[int(rng.integers(len(GENE_STEMS)))]
        per_stem[stem] += 1
        name = f"{stem}{per_stem[stem]}"
        citations = int(rng.pareto(1.2) * 10)
        gene_type = GENE_TYPES[int(rng.integers(len(GENE_TYPES)))]
        if gene_type == "protein-coding" and size > 200:
            cds_start, cds_end = start + size // 10, end - size // 10
        else:
            cds_start = cds_end = end
        lines.append([
            chrom, str(start), str(end), name, str(citations), "+" if rng.random() < 0.5 else "-",
            f"XD_{100000 + n}", str(900000 + n), gene_type, f"synthetic demo gene {name}",
            str(cds_start), str(cds_end), "".join(f"{s}," for s in starts), "".join(f"{e}," for e in ends),
        ])
    return lines


def write_gene_annotations(path, count=400, max_per_tile=20):
    """A gene-annotation beddb (datatype ``gene-annotation``) of ``count`` made-up hg38 genes,
    importance = citation count (column 5), as ``clodius aggregate bedfile --importance-column 5
    --max-per-tile 20 --delimiter $'\\t'`` would write it."""
    rng = np.random.default_rng(SEED + 1)
    lines = _genes(count, rng)
    offsets, _, _, _ = genome()
    conn, max_zoom = _new_db(path, "3", [str(i) for i in range(1, 15)])
    conn.execute("""CREATE TABLE intervals (id int PRIMARY KEY, zoomLevel int, importance real, startPos int,
                    endPos int, chrOffset int, uid text, name text, fields text)""")
    conn.execute("CREATE VIRTUAL TABLE position_index USING rtree(id, rStartZoomLevel, rEndZoomLevel, rStartPos, rEndPos)")
    entries = [(float(line[4]), offsets[line[0]], line) for line in lines]
    entries.sort(key=lambda e: -e[0])  # stable: ties keep the file order, as clodius
    counts = defaultdict(int)
    counter = 0
    for importance, offset, line in entries:
        start, end = offset + int(line[1]), offset + int(line[2])
        for zoom in range(max_zoom + 1):
            width = TILE_SIZE * 2 ** (max_zoom - zoom)
            tiles = [math.floor(pos / width) for pos in range(start, end, width)]
            if all(counts[(zoom, t)] < max_per_tile for t in tiles):
                for t in tiles:
                    counts[(zoom, t)] += 1
                conn.execute("INSERT INTO intervals VALUES (?,?,?,?,?,?,?,?,?)", (
                    counter, zoom, importance, start, end, offset, _uid(rng), line[3], "\t".join(line)))
                conn.execute("INSERT INTO position_index VALUES (?,?,?,?,?)", (counter, zoom, zoom, start, end))
                counter += 1
                break
    conn.commit()
    conn.close()
    return Path(path)


# --- domains (bed2ddb) ---------------------------------------------------------------------------


def _domains(rng, mean_size=2_000_000):
    """BEDPE lines of domains along the diagonal: each chromosome cut into consecutive domains,
    a few of them split again into nested sub-domains; column 7 is the domain size."""
    lines = []
    for chrom, length in HG38:
        position = 0
        while position < length:
            size = int(min(length - position, max(100_000, rng.gamma(2.0, mean_size / 2))))
            start, end = position, position + size
            lines.append([chrom, str(start), str(end), chrom, str(start), str(end), str(size)])
            if size > 1_500_000 and rng.random() < 0.3:
                cut = start + int(size * rng.uniform(0.3, 0.7))
                for s, e in ((start, cut), (cut, end)):
                    lines.append([chrom, str(s), str(e), chrom, str(s), str(e), str(e - s)])
            position = end
    return lines


def write_domains(path, max_per_tile=100):
    """A bed2ddb of 2-D domains on the hg38 diagonal (datatype ``2d-rectangle-domains``), importance
    = domain size (column 7), as ``clodius aggregate bedpe --importance-column 7 --max-per-tile 100``
    would write it."""
    rng = np.random.default_rng(SEED + 2)
    lines = _domains(rng)
    offsets, _, _, _ = genome()
    conn, max_zoom = _new_db(path, "1", [])
    conn.execute("""CREATE TABLE intervals (id int PRIMARY KEY, zoomLevel int, importance real, fromX int, toX int,
                    fromY int, toY int, chrOffset int, uid text, fields text)""")
    conn.execute("CREATE VIRTUAL TABLE position_index USING rtree(id, rFromX, rToX, rFromY, rToY)")
    entries = []
    for line in lines:
        o1, o2 = offsets[line[0]], offsets[line[3]]
        xs = (o1 + int(line[1]), o1 + int(line[2]))
        ys = (o2 + int(line[4]), o2 + int(line[5]))
        entries.append((float(line[6]), xs, ys, o1, line))
    entries.sort(key=lambda e: -e[0])
    counts = defaultdict(int)
    counter = 0
    for importance, xs, ys, offset, line in entries:
        for zoom in range(max_zoom + 1):
            width = TILE_SIZE * 2 ** (max_zoom - zoom)
            cells = [(i, j) for i in range(int(xs[0] / width), int(xs[1] / width) + 1)
                     for j in range(int(ys[0] / width), int(ys[1] / width) + 1)]
            if all(counts[(zoom, i, j)] <= max_per_tile for i, j in cells):  # clodius: full when > max
                for i, j in cells:
                    counts[(zoom, i, j)] += 1
                conn.execute("INSERT INTO intervals VALUES (?,?,?,?,?,?,?,?,?,?)", (
                    counter, zoom, importance, *xs, *ys, offset, _uid(rng), "\t".join(line)))
                conn.execute("INSERT INTO position_index VALUES (?,?,?,?,?)", (counter, *xs, *ys))
                counter += 1
                break
    conn.commit()
    conn.close()
    return Path(path)
