"""Small bigBed files for the bigBed tests, and what their tiles must contain.

The files are written with pybigtools (BED6 with an autoSql). pybigtools 0.3.0 records as the
end of each R-tree leaf the end of the leaf's *last* record instead of the largest end, so pybbi
(and every UCSC reader) misses a long record when a later, shorter one ends before the query:
:func:`write_bigbed` therefore ends every chromosome with a record that reaches its end. The expected tiles are computed
from the records written, following the bigBed and bigWig tile rules of docs/filetypes.md in plain Python: the tile span split at the
chromosome boundaries of the tileset's order, the records overlapping each piece (pybbi's rule:
``start < piece end and end > piece start``; a zero-length record at ``s`` when ``piece start <=
s <= piece end``), the score as ``int()`` of the 5th field (else 0) and the per-piece limit of 200
— without pybbi and without the generator's code.
"""

import numpy as np
import pybigtools

from tests.builders.bigwig_data import max_zoom_of  # bigBed tiles follow bigWig's zoom math

AUTOSQL = """table bed6
"BED6"
    (
    string chrom;       "Reference sequence chromosome or scaffold"
    uint   chromStart;  "Start position in chromosome"
    uint   chromEnd;    "End position in chromosome"
    string name;        "Name of item"
    string score;       "Score (text: the tests write some that are not integers)"
    char[1] strand;     "+ or -"
    )
"""

# The assembly of the tests (coordSystem hgB), in TSV order. chrM is not in the bigBed; chr10 is
# in the bigBed but not in the assembly (invisible with it).
# chr2 and chr3 start on multiples of 1024 (tile boundaries at the deepest zoom).
HGB = [("chr1", 4096), ("chr2", 3072), ("chr3", 1200), ("chrX", 900), ("chrM", 40)]
IN_FILE = [("chr1", 4096), ("chr2", 3072), ("chr3", 1200), ("chrX", 900), ("chr10", 700)]
MAX = 200


def records_of(seed=5):
    """(chrom, start, end, name, score, strand) records of the test bigBed, in file order.

    chr1: 600 records with distinct scores (multiples of 10) -> a zoom-0 piece is thresholded to
    200; chr2: 450 records, scores 0/1 and some that are not integers -> thresholded and then
    sampled; chr3, chrX, chr10: a few records, including odd scores, zero-length records and
    records that cross tile boundaries.
    """
    rng = np.random.default_rng(seed)
    records = []
    scores = rng.permutation(2000)[:600]
    for i in range(600):
        start = int(rng.integers(0, 4090))
        end = min(4096, start + int(rng.integers(1, 400)))
        records.append(("chr1", start, end, f"a{i}", str(10 * int(scores[i])), "+-"[i % 2]))
    odd = ["7.5", "1e3", "", "x", " 12", "-3", "+4", "1_0"]
    for i in range(450):
        start = int(rng.integers(0, 3060))
        end = min(3072, start + int(rng.integers(1, 300)))
        score = odd[i % len(odd)] if i % 5 == 0 else str(int(rng.integers(0, 2)))
        records.append(("chr2", start, end, f"b{i}", score, "+"))
    records += [
        ("chr3", 0, 0, "c-zero-at-start", "5", "+"),
        ("chr3", 10, 1200, "c-long", "900", "-"),
        ("chr3", 500, 500, "c-zero", "3", "-"),
        ("chr3", 1190, 1200, "c-end", "-7", "+"),
        ("chrX", 0, 900, "x-whole", "1", "+"),
        ("chrX", 123, 456, "x-mid", "2", "-"),
        ("chr10", 5, 50, "ten", "8", "+"),
    ]
    records = sorted(records, key=lambda r: ([c for c, _ in IN_FILE].index(r[0]), r[1], r[2]))
    return with_end_records(IN_FILE, records)


def with_end_records(chroms, records):
    """``records`` plus, for each chromosome that has records, one ``<chrom>-end`` record on its
    last base (see the module note), kept in file order."""
    lengths = dict(chroms)
    out = []
    for index, record in enumerate(records):
        out.append(record)
        last = index + 1 == len(records) or records[index + 1][0] != record[0]
        if last:
            name = record[0]
            out.append((name, lengths[name] - 1, lengths[name], f"{name}-end", "0", "+"))
    return out


def write_bigbed(path, chroms, records, autosql=AUTOSQL):
    """A bigBed with the chromosomes ``chroms`` ([(name, length)]) and the BED6 ``records`` (file
    order: grouped by chromosome, by start). Use :func:`with_end_records` on the records unless
    every chromosome's last record has the largest end."""
    writer = pybigtools.open(str(path), "w")
    writer.write(dict(chroms), iter([(c, s, e, "\t".join(rest)) for c, s, e, *rest in records]), autosql=autosql)
    return path


# --- expectations ---------------------------------------------------------------------------


def score(record):
    try:
        return int(record[4])
    except (ValueError, IndexError):
        return 0


def overlaps(record, start, end):
    s, e = record[1], record[2]
    if s == e:
        return start <= s <= end
    return s < end and e > start


def fields(record):
    """The record as pybbi gives it: chrom, start, end, then the text fields."""
    return [record[0], record[1], record[2], *record[3:]]


def pieces(rows, zoom, x):
    """(name, offset, start, end) of tile (zoom, x) per chromosome of ``rows``, as the bigWig tile rules split it
    (a tile ending on a chromosome start adds an empty piece of that chromosome)."""
    total = sum(length for _, length in rows)
    width = 1024 * 2 ** (max_zoom_of(total) - zoom)
    tile_start, tile_end = x * width, (x + 1) * width
    out, offset = [], 0
    for name, length in rows:
        lo, hi = max(tile_start, offset), min(tile_end, offset + length)
        if lo < hi or (lo == hi == offset and tile_start < offset == tile_end):
            out.append((name, offset, lo - offset, hi - offset))
        offset += length
    return out


def expected_pieces(rows, records, zoom, x):
    """For each piece: (name, offset, the overlapping records in file order)."""
    out = []
    for name, offset, start, end in pieces(rows, zoom, x):
        found = [r for r in records if r[0] == name and overlaps(r, start, end)]
        out.append((name, offset, found))
    return out


def threshold(found):
    """The score an interval needs when a piece has more than 200."""
    return int(np.quantile([score(r) for r in found], 1 - MAX / len(found)))


def entry(record, offset):
    """An answer entry without its ``uid``."""
    return {"chrOffset": offset, "importance": score(record), "fields": fields(record),
            "xStart": offset + record[1], "xEnd": offset + record[2]}


def without_uid(entries):
    return [{key: value for key, value in e.items() if key != "uid"} for e in entries]


def check_tile(answer, rows, records, zoom, x):
    """Assert the annotation list ``answer`` is tile (zoom, x) of ``records`` in the order
    ``rows``; returns how many pieces were (thresholded to 200 or fewer, sampled)."""
    got = without_uid(answer)
    position, thresholded, sampled = 0, 0, 0
    for _name, offset, found in expected_pieces(rows, records, zoom, x):
        if len(found) <= MAX:
            expected = [entry(r, offset) for r in found]
            assert got[position:position + len(expected)] == expected
            position += len(expected)
            continue
        least = threshold(found)
        kept = [r for r in found if score(r) >= least]
        expected = [entry(r, offset) for r in kept]
        if len(kept) <= MAX:
            assert got[position:position + len(expected)] == expected
            position += len(expected)
            thresholded += 1
            continue
        part = got[position:position + MAX]
        assert len(part) == MAX
        where = {tuple(e["fields"]): i for i, e in enumerate(expected)}
        assert all(e == expected[where[tuple(e["fields"])]] for e in part)
        indexes = [where[tuple(e["fields"])] for e in part]  # each one of the thresholded records ...
        assert indexes == sorted(set(indexes))  # ... once, in file order
        position += MAX
        sampled += 1
    assert position == len(got)
    return thresholded, sampled
