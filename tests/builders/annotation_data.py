"""beddb and bed2ddb files for the tests, written with sqlite3 to the schema described in docs/filetypes.md,
and what their tiles must contain.

The writers follow ``clodius aggregate bedfile`` / ``bedpe`` step by step (importance order with a
stable sort, the greedy placement of each entry at the coarsest zoom with room, its tile-count
quirks), so the zoom level of every entry is the one clodius would give it. The expected tiles are
computed from the placed entries with plain Python (no SQL, no rtree), following the beddb and bed2ddb tile
rules of docs/filetypes.md.
"""

import math
import random
import sqlite3
import zlib
from collections import defaultdict
from pathlib import Path

from demo.annotations import genome


def _tileset_info_table(conn, chromsizes, tile_size, version, header, assembly, columns=10):
    _, max_length, max_zoom, max_width = genome(chromsizes, tile_size)
    names = ["zoom_step INT", "max_length INT", "assembly text", "chrom_names text", "chrom_sizes text",
             "tile_size REAL", "max_zoom INT", "max_width REAL", "header text", "version text"][:columns]
    conn.execute(f"CREATE TABLE tileset_info ({', '.join(names)})")
    values = [1, max_length, assembly, "\t".join(n for n, _ in chromsizes),
              "\t".join(str(s) for _, s in chromsizes), tile_size, max_zoom, max_width,
              "\t".join(header), version][:columns]
    conn.execute(f"INSERT INTO tileset_info VALUES ({','.join('?' * columns)})", values)
    return max_zoom


def place_1d(intervals, tile_size, max_zoom, max_per_tile):
    """clodius' placement (aggregate bedfile): ``intervals`` = [(start, end, key)] already sorted
    by decreasing importance; returns [(key, zoom)] for those placed, in insertion order."""
    counts = defaultdict(int)
    placed = []
    for start, end, key in intervals:
        for zoom in range(max_zoom + 1):
            width = tile_size * 2 ** (max_zoom - zoom)
            tiles, pos = [], start
            while pos < end:  # as clodius: may miss the last tile an entry touches
                tiles.append(math.floor(pos / width))
                pos += width
            if all(counts[(zoom, t)] < max_per_tile for t in tiles):
                for t in tiles:
                    counts[(zoom, t)] += 1
                placed.append((key, zoom))
                break
    return placed


def write_beddb(path, chromsizes, bed_lines, importance_column=5, max_per_tile=100, tile_size=1024,
                version="3", header=None, assembly=None, info_columns=None, uid_prefix="u"):
    """A beddb of ``bed_lines`` (lists of strings). ``version`` "3" (current), "2" (no name
    column) or None (version 1: no version/header columns, rtree without zoom levels). Returns the
    inserted entries as dicts (id, zoom, importance, startPos, endPos, chrOffset, uid, name, fields)."""
    path = Path(path)
    if path.exists():
        path.unlink()
    offsets, _, _, _ = genome(chromsizes, tile_size)
    entries = []
    for n, line in enumerate(bed_lines):
        start, end = int(line[1]), int(line[2])
        if end < start:
            start, end = end, start
        importance = float(line[importance_column - 1]) if importance_column else float(end - start)
        offset = offsets[line[0]]
        entries.append({
            "importance": importance, "startPos": offset + start, "endPos": offset + end, "chrOffset": offset,
            "uid": f"{uid_prefix}{n}", "name": line[3] if len(line) > 3 else "", "fields": "\t".join(line),
        })
    conn = sqlite3.connect(path)
    columns = info_columns or (8 if version is None else 10)
    header = header or [str(i + 1) for i in range(len(bed_lines[0]))]
    max_zoom = _tileset_info_table(conn, chromsizes, tile_size, version, header, assembly, columns)
    name_column = "name text," if version == "3" else ""
    conn.execute(f"""CREATE TABLE intervals (id int PRIMARY KEY, zoomLevel int, importance real, startPos int,
                     endPos int, chrOffset int, uid text, {name_column} fields text)""")
    if version is None:
        conn.execute("CREATE VIRTUAL TABLE position_index USING rtree(id, rStartPos, rEndPos)")
    else:
        conn.execute("CREATE VIRTUAL TABLE position_index USING "
                     "rtree(id, rStartZoomLevel, rEndZoomLevel, rStartPos, rEndPos)")
    order = sorted(range(len(entries)), key=lambda i: -entries[i]["importance"])
    placed = place_1d([(entries[i]["startPos"], entries[i]["endPos"], i) for i in order], tile_size, max_zoom, max_per_tile)
    out = []
    for counter, (i, zoom) in enumerate(placed):
        e = dict(entries[i], id=counter, zoom=zoom)
        values = [counter, zoom, e["importance"], e["startPos"], e["endPos"], e["chrOffset"], e["uid"]]
        values += [e["name"]] if version == "3" else []
        values.append(e["fields"])
        conn.execute(f"INSERT INTO intervals VALUES ({','.join('?' * len(values))})", values)
        if version is None:
            conn.execute("INSERT INTO position_index VALUES (?,?,?)", (counter, e["startPos"], e["endPos"]))
        else:
            conn.execute("INSERT INTO position_index VALUES (?,?,?,?,?)", (counter, zoom, zoom, e["startPos"], e["endPos"]))
        out.append(e)
    conn.commit()
    conn.close()
    return out


def expected_tile(entries, max_width, zoom, x, with_name=True):
    """Tile (zoom, x) of a beddb: every entry of zoom <= z touching [w·x, w·x + w)."""
    width = max_width / 2**zoom
    start = width * x
    end = start + width
    tile = []
    for e in entries:
        if e["zoom"] <= zoom and e["startPos"] < end and e["endPos"] >= start:
            item = {"xStart": e["startPos"], "xEnd": e["endPos"], "chrOffset": e["chrOffset"],
                    "importance": e["importance"], "uid": e["uid"], "fields": e["fields"].split("\t")}
            if with_name:
                item["name"] = e["name"]
            tile.append(item)
    return tile


def by_uid(tile):
    """A tile as {uid: entry} (list order is not defined); asserts uids are not repeated."""
    mapping = {item["uid"]: item for item in tile}
    assert len(mapping) == len(tile), "an entry is listed twice in one tile"
    return mapping


# --- gene-like BED lines -------------------------------------------------------------------------


def gene_line(chrom, start, end, name, score, strand="+", exons=2):
    """A 14-column HiGlass gene-annotation line (chr, txStart, txEnd, geneName, citationCount,
    strand, refseqId, geneId, geneType, geneDesc, cdsStart, cdsEnd, exonStarts, exonEnds)."""
    step = max(1, (end - start) // (2 * exons))
    starts = [start + 2 * k * step for k in range(exons)]
    ends = [min(end, s + step) for s in starts]
    return [chrom, str(start), str(end), name, str(score), strand, f"NM_{zlib.crc32(name.encode()) % 10**6:06d}",
            str(1000 + len(name)), "protein-coding", f"{name} description", str(start), str(end),
            "".join(f"{s}," for s in starts), "".join(f"{e}," for e in ends)]


def random_genes(chromsizes, count, seed=5, long_every=23):
    rng = random.Random(seed)
    lines = []
    for n in range(count):
        chrom, length = chromsizes[rng.randrange(len(chromsizes))]
        size = rng.randrange(5_000, 20_000) if n % long_every == 0 else rng.randrange(50, 2_000)
        size = min(size, length)
        start = rng.randrange(0, length - size + 1)
        score = rng.choice([rng.randrange(0, 500), 7])  # many ties at 7
        lines.append(gene_line(chrom, start, start + size, f"GENE{n}", score, rng.choice("+-")))
    return lines


# --- bed2ddb -------------------------------------------------------------------------------------


def write_bed2ddb(path, chromsizes, bedpe_lines, importance_column=7, max_per_tile=100, tile_size=1024,
                  version="1", uid_prefix="r"):
    """A bed2ddb of ``bedpe_lines`` (lists of strings: chr1 from1 to1 chr2 from2 to2 ...), placed
    as ``clodius aggregate bedpe`` does. Returns the inserted rectangles as dicts."""
    path = Path(path)
    if path.exists():
        path.unlink()
    offsets, _, _, _ = genome(chromsizes, tile_size)
    entries = []
    for n, line in enumerate(bedpe_lines):
        o1, o2 = offsets[line[0]], offsets[line[3]]
        entries.append({
            "xs": (o1 + int(line[1]), o1 + int(line[2])), "ys": (o2 + int(line[4]), o2 + int(line[5])),
            "chrOffset": o1, "uid": f"{uid_prefix}{n}", "fields": "\t".join(line),
            "importance": float(line[importance_column - 1]) if importance_column else
            float(max(int(line[2]) - int(line[1]), int(line[5]) - int(line[4]))),
        })
    conn = sqlite3.connect(path)
    max_zoom = _tileset_info_table(conn, chromsizes, tile_size, version, [], None)
    conn.execute("""CREATE TABLE intervals (id int PRIMARY KEY, zoomLevel int, importance real, fromX int, toX int,
                    fromY int, toY int, chrOffset int, uid text, fields text)""")
    conn.execute("CREATE VIRTUAL TABLE position_index USING rtree(id, rFromX, rToX, rFromY, rToY)")
    entries.sort(key=lambda e: -e["importance"])
    counts = defaultdict(int)
    out = []
    for e in entries:
        for zoom in range(max_zoom + 1):
            width = tile_size * 2 ** (max_zoom - zoom)
            tx = range(int(e["xs"][0] / width), int(e["xs"][1] / width) + 1)
            ty = range(int(e["ys"][0] / width), int(e["ys"][1] / width) + 1)
            if all(counts[(zoom, i, j)] <= max_per_tile for i in tx for j in ty):  # clodius: "> max" is full
                for i in tx:
                    for j in ty:
                        counts[(zoom, i, j)] += 1
                row = dict(e, id=len(out), zoom=zoom)
                conn.execute("INSERT INTO intervals VALUES (?,?,?,?,?,?,?,?,?,?)",
                             (row["id"], zoom, e["importance"], *e["xs"], *e["ys"], e["chrOffset"], e["uid"], e["fields"]))
                conn.execute("INSERT INTO position_index VALUES (?,?,?,?,?)", (row["id"], *e["xs"], *e["ys"]))
                out.append(row)
                break
    conn.commit()
    conn.close()
    return out


def expected_2d_tile(entries, max_width, zoom, x, y):
    width = max_width / 2**zoom
    xs, ys = width * x, width * y
    xe, ye = xs + width, ys + width
    return [
        {"xStart": e["xs"][0], "xEnd": e["xs"][1], "yStart": e["ys"][0], "yEnd": e["ys"][1],
         "chrOffset": e["chrOffset"], "importance": e["importance"], "uid": e["uid"], "id": e["id"],
         "fields": e["fields"].split("\t")}
        for e in entries
        if e["zoom"] <= zoom and e["xs"][0] < xe and e["xs"][1] >= xs and e["ys"][0] < ye and e["ys"][1] >= ys
    ]


def random_rectangles(chromsizes, count, seed=11, long_every=17):
    """BEDPE lines: domains on the diagonal, loops near it and a few inter-chromosomal pairs;
    column 7 is a score (with ties)."""
    rng = random.Random(seed)
    lines = []
    for n in range(count):
        chrom1, length1 = chromsizes[rng.randrange(len(chromsizes))]
        size = rng.randrange(4_000, 15_000) if n % long_every == 0 else rng.randrange(20, 1_500)
        size = min(size, length1)
        start = rng.randrange(0, length1 - size + 1)
        kind = n % 3
        if kind == 0:  # a domain: the same interval on both axes
            chrom2, start2, size2 = chrom1, start, size
        elif kind == 1:  # a loop: two anchors on the same chromosome
            chrom2, size2 = chrom1, min(size, 500)
            start2 = rng.randrange(0, length1 - size2 + 1)
        else:  # anywhere
            chrom2, length2 = chromsizes[rng.randrange(len(chromsizes))]
            size2 = min(rng.randrange(20, 1_500), length2)
            start2 = rng.randrange(0, length2 - size2 + 1)
        score = rng.choice([rng.randrange(0, 1000), 3])
        lines.append([chrom1, str(start), str(start + size), chrom2, str(start2), str(start2 + size2),
                      str(score), f"item{n}"])
    return lines
