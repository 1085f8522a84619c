"""BAM reads tiles and tileset_info (docs/filetypes.md), ingest with its index, deletion of the
server's index, and the BAM HTTP paths. Expected tiles come from plain pysam fetches."""

import json
import math
import re
import struct
import zlib
from pathlib import Path

import pysam
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.builders.helpers import (
    api_tiles, copy_into, generator_tiles, in_threads, needs_clodius, run_clodius, uploads, write_chromsizes,
)
from tests.builders.reads_data import (
    GENOME, NATURAL, random_genome, simulate_reads, write_bam, write_fasta, write_unsorted_bam,
)
from tilesets.generators import bam
from tilesets.generators.base import GeneratorError, Source
from tilesets.ingest import IngestError, delete_tileset, ingest_tileset

OWN = [(name, dict(GENOME)[name]) for name in NATURAL]  # T = 12000
COLUMNS = ["id", "from", "to", "md", "chrName", "chrOffset", "cigar", "m1From", "m1To", "m2From", "m2To",
           "mapq", "tags.HP", "strand", "variants", "cigars"]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("bam")


@pytest.fixture(scope="module")
def genome():
    return random_genome()


@pytest.fixture(scope="module")
def records(genome):
    return simulate_reads(genome)


@pytest.fixture(scope="module")
def other_bam(data_dir, genome):
    """Another sorted, indexed BAM on the same header (its index does not fit reads.bam)."""
    return write_bam(data_dir / "other.bam", simulate_reads(genome, count=3000, seed=5))


@pytest.fixture(scope="module")
def reads_bam(data_dir, records):
    """A sorted, indexed BAM of 1500 simulated reads (+ unmapped ones), header not in natural order."""
    path = write_bam(data_dir / "reads.bam", records)
    return path, Path(str(path) + ".bai")


def tiles(path, index, ids, context=None):
    return generator_tiles(bam, path, ids, index=index, context=context)


def normal(value):
    return json.loads(json.dumps(value))


# --- what pysam reports, independently of the generator -------------------------------------------


def expected_cigars(read):
    """The reference's clip/indel list, from the cigar string: [position, op, length]."""
    ops = [(int(n), op) for n, op in re.findall(r"(\d+)([MIDNSHP=X])", read.cigarstring or "")]
    start, out, walked = read.reference_start, [], 0
    for length, op in ops:
        if op in "XDN":
            out.append([start + walked, op, length])
        elif op == "I":
            out.append([start + walked, "I", length])
        if op in "MDN=X":
            walked += length
    if ops:
        read_end = start + len(read.query_sequence or "")
        if ops[0][1] in "SH":
            out.append([start - ops[0][0], ops[0][1], ops[0][0]])
        if ops[-1][1] == "S":
            out.append([read_end - ops[-1][0], "S", ops[-1][0]])
        if ops[-1][1] == "H":
            out.append([read_end, "H", ops[-1][0]])
    return out


def expected_tile(path, z, x, rows=OWN):
    """Reads of tile (z, x) by plain pysam fetches of each chromosome's part of the tile."""
    total = sum(length for _, length in rows)
    max_zoom = 0
    while 256 * 2 ** max_zoom < total:
        max_zoom += 1
    width = 256 * 2 ** (max_zoom - z)
    start, end = x * width, (x + 1) * width
    columns = {column: [] for column in COLUMNS}
    offset = 0
    with pysam.AlignmentFile(str(path)) as handle:
        for name, length in rows:
            lo, hi = max(start - offset, 0), min(end - offset, length)
            if lo < hi:
                for read in handle.fetch(name, lo, hi):
                    if read.is_unmapped:
                        continue
                    suffix = ("_2" if read.is_read2 else "_1" if read.is_read1 else "") if read.is_paired else ""
                    variants = []
                    if read.query_sequence:
                        try:
                            variants = [[q, r, read.query_sequence[q]]
                                        for q, r, base in read.get_aligned_pairs(with_seq=True, matches_only=True)
                                        if lo <= r <= hi and base.islower()]
                        except ValueError:  # no MD tag
                            variants = []
                    row = {
                        "id": read.query_name + suffix, "from": read.reference_start + offset,
                        "to": read.reference_end + offset, "md": read.get_tag("MD") if read.has_tag("MD") else "",
                        "chrName": name, "chrOffset": offset, "cigar": read.cigarstring,
                        "mapq": read.mapping_quality, "tags.HP": read.get_tag("HP") if read.has_tag("HP") else 0,
                        "strand": "-" if read.is_reverse else "+", "variants": variants,
                        "cigars": expected_cigars(read),
                    }
                    for column, value in row.items():
                        columns[column].append(value)
            offset += length
    return columns


# --- a hand-made file: the exact JSON ---------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_bam(data_dir):
    """chrB (header first) and chrA: three reads whose tile JSON is written out below."""
    header = [("chrB", 500), ("chrA", 1000)]
    records = [
        {"name": "r1", "flag": 0, "tid": 0, "pos": 10, "cigar": "2S5M1I3M2D4M1S", "seq": "GGACGTATCCCGATCA",
         "mapq": 30, "tags": [("MD", "3A4^CG1T2")]},
        {"name": "r2", "flag": 1 | 128 | 16, "tid": 1, "pos": 0, "cigar": "3H4M", "seq": "ACGT", "mapq": 7,
         "tags": [("HP", 2)]},
        {"name": "r3", "flag": 0, "tid": 1, "pos": 250, "cigar": "10M", "seq": "ACGTACGTAC", "mapq": 60,
         "tags": [("MD", "2A3C3")]},
    ]
    path = write_bam(data_dir / "tiny.bam", records, header=header)
    return path, Path(str(path) + ".bai")


def test_tiny_file_exact_json(tiny_bam):
    path, index = tiny_bam
    assert json.dumps(bam.tileset_info(Source(str(path), str(index)))) == (
        '{"min_pos": [0], "max_pos": [1500], "max_width": 2048, "tile_size": 256, '
        '"chromsizes": [["chrA", 1000], ["chrB", 500]], "max_zoom": 3, "max_tile_width": 100000}'
    )
    answer = tiles(path, index, ["u.0.0", "u.3.0", "u.3.1", "u.3.3"])
    r1 = ('"r1", 1010, 1024, "3A4^CG1T2", "chrB", 1000, "2S5M1I3M2D4M1S", 30, 0, "+", '
          '[[5, 13, "T"], [12, 21, "A"]], [[15, "I", 1], [18, "D", 2], [8, "S", 2], [25, "S", 1]]')
    r2 = '"r2_2", 0, 4, "", "chrA", 0, "3H4M", 7, 2, "-", [], [[-3, "H", 3]]'
    r3 = '"r3", 250, 260, "2A3C3", "chrA", 0, "10M", 60, 0, "+", [[2, 252, "G"], [6, 256, "G"]], []'
    r3_next = '"r3", 250, 260, "2A3C3", "chrA", 0, "10M", 60, 0, "+", [[6, 256, "G"]], []'

    def columns(*rows):
        values = [json.loads(f"[{row}]") for row in rows]
        keys = ["id", "from", "to", "md", "chrName", "chrOffset", "cigar", "mapq", "tags.HP", "strand", "variants",
                "cigars"]
        out = {column: [] for column in COLUMNS}
        for value in values:
            for key, item in zip(keys, value):
                out[key].append(item)
        return json.dumps(out)

    assert json.dumps(answer["u.0.0"]) == columns(r2, r3, r1)
    # [0, 256) and [256, 512): r3 (250-260) is in both; a variant's reference position is kept
    # when it lies in [start, end] of the tile's piece (end included, as in the reference)
    assert json.dumps(answer["u.3.0"]) == columns(r2, r3)
    assert json.dumps(answer["u.3.1"]) == columns(r3_next)
    assert json.dumps(answer["u.3.3"]) == columns(r1)  # [768, 1024): chrA 768-1000, chrB 0-24
    assert list(answer["u.3.0"]) == COLUMNS


# --- tileset_info and tiles of the simulated file -------------------------------------------------


def test_tileset_info_exact_json(reads_bam):
    path, index = reads_bam
    # T = 12000: ceil(log(12000 / 256) / log(2)) = ceil(5.55) = 6; natural order of the header's names
    assert json.dumps(bam.tileset_info(Source(str(path), str(index)))) == (
        '{"min_pos": [0], "max_pos": [12000], "max_width": 16384, "tile_size": 256, '
        '"chromsizes": [["chr1", 5000], ["chr2", 3000], ["chr10", 2000], ["chrX", 1500], ["chrM", 300], '
        '["chrUn_x", 200]], "max_zoom": 6, "max_tile_width": 100000}'
    )
    assert bam.chromsizes(Source(str(path))) == OWN


@pytest.mark.parametrize("total, max_zoom", [(1, 0), (256, 0), (257, 1), (512, 1), (513, 2), (3_099_922_541, 24)])
def test_zoom_math(total, max_zoom):
    assert bam.max_zoom_of(total) == max_zoom == max(0, math.ceil(math.log(total / 256) / math.log(2)))


def test_every_tile_equals_what_pysam_reports(reads_bam):
    path, index = reads_bam
    ids = [f"u.{z}.{x}" for z in range(7) for x in range(2 ** z)]
    answer = tiles(path, index, ids)
    assert set(answer) == set(ids)
    reads_seen = 0
    for tile_id in ids:
        _, z, x = tile_id.split(".")
        expected = expected_tile(path, int(z), int(x))
        assert normal(answer[tile_id]) == expected, tile_id
        reads_seen += len(expected["id"])
    whole = answer["u.0.0"]
    assert len(whole["id"]) == 1500  # every mapped read once at zoom 0 (the unmapped ones are left out)
    assert not any(i.startswith("unmapped") or i.startswith("unplaced") for i in whole["id"])
    assert reads_seen > 7 * 1500  # reads across tile ends are in each tile they touch
    # what the data covers: clips, indels, skips, both strands, pairs, HP, reads without MD or sequence
    ops = {c[1] for cigars in whole["cigars"] for c in cigars}
    assert ops == {"S", "H", "I", "D", "N", "X"}
    assert {"+", "-"} == set(whole["strand"]) and {0, 1, 2} == set(whole["tags.HP"])
    assert any(i.endswith("_1") for i in whole["id"]) and any(i.endswith("_2") for i in whole["id"])
    assert "" in whole["md"] and sum(bool(v) for v in whole["variants"]) > 100
    assert whole["chrName"][0] == "chr1" and whole["chrOffset"][-1] == 11800  # natural order


def test_tiles_past_the_genome_end_are_empty(reads_bam):
    path, index = reads_bam
    # zoom 6: 256 bases per tile; the genome ends inside tile 46 (11776-12032)
    answer = tiles(path, index, ["u.6.46", "u.6.47", "u.6.63", "u.1.1"])
    assert normal(answer["u.6.46"]) == expected_tile(path, 6, 46) and answer["u.6.46"]["id"]
    empty = {column: [] for column in COLUMNS}
    assert answer["u.6.47"] == empty and answer["u.6.63"] == empty
    assert normal(answer["u.1.1"]) == expected_tile(path, 1, 1)  # [8192, 16384): partly past the end


def test_bad_tiles_are_errors_for_that_tile_only(reads_bam):
    path, index = reads_bam
    narrow = {"max_tile_width": 4096}  # the server's MAX_BAM_TILE_WIDTH, as the tile service passes it
    assert bam.tileset_info(Source(str(path), str(index), context=narrow))["max_tile_width"] == 4096
    ids = ["u.0.0", "u.1.0", "u.2.1", "u.7.0", "u.60.0", "u.3.8", "u.6.3"]
    answer = tiles(path, index, ids, context=narrow)
    assert set(answer) == set(ids)
    too_large = {"error": "Tile too large, no data returned. Max tile size: 4096"}
    assert answer["u.0.0"] == too_large and answer["u.1.0"] == too_large  # 16384 and 8192 bases
    assert normal(answer["u.2.1"]) == expected_tile(path, 2, 1)  # 4096 bases: not wider than the limit
    assert normal(answer["u.6.3"]) == expected_tile(path, 6, 3)
    for bad, word in (("u.7.0", "beyond"), ("u.60.0", "beyond"), ("u.3.8", "outside")):
        assert list(answer[bad]) == ["error"] and word in answer[bad]["error"], bad
    assert bam.tileset_info(Source(str(path), str(index)))["max_tile_width"] == 100000  # no setting given


def test_too_much_data_as_estimated_from_the_index(reads_bam, monkeypatch):
    path, index = reads_bam
    monkeypatch.setattr(bam, "MAX_ESTIMATED_BYTES", 0)
    answer = tiles(path, index, ["u.0.0", "u.6.63"])
    assert re.fullmatch(r"Tile encompasses too much data: [1-9]\d*", answer["u.0.0"]["error"])
    assert answer["u.6.63"]["id"] == []  # past the genome end: nothing to estimate


def test_concurrent_requests_use_separate_handles(reads_bam):
    path, index = reads_bam
    ids = [f"u.5.{x}" for x in range(0, 32, 2)]
    expected = tiles(path, index, ids)
    assert all(result == expected for result in in_threads(lambda: tiles(path, index, ids)))


def test_csi_index(data_dir, records):
    path = write_bam(data_dir / "csi.bam", records, csi=True)
    index = str(path) + ".csi"
    bam.validate(str(path), index)
    ids = [f"u.{z}.{x}" for z in (0, 3, 5) for x in range(2 ** z)]
    answer = tiles(path, index, ids)
    for tile_id in ids:
        _, z, x = tile_id.split(".")
        assert normal(answer[tile_id]) == expected_tile(path, int(z), int(x)), tile_id
    assert tiles(path, None, ["u.3.2"]) == {"u.3.2": answer["u.3.2"]}  # <file>.csi found beside


# --- the index estimate: hand-made .bai and .csi ---------------------------------------------------


def _voffset(block, within=0):
    return block << 16 | within


def test_index_estimate_reads_the_finest_bins(tmp_path):
    """Sizes are summed over the finest-level bins from start >> 14 to end >> 14 (both included),
    compressed offsets only; other levels and the metadata bin are ignored."""

    def bai_ref(bins):
        out = struct.pack("<i", len(bins))
        for number, chunks in bins:
            out += struct.pack("<Ii", number, len(chunks))
            for beg, end in chunks:
                out += struct.pack("<QQ", beg, end)
        return out + struct.pack("<i", 0)  # no linear index

    ref0 = [(4681, [(_voffset(0), _voffset(100, 5))]),  # [0, 16384): 100 bytes
            (4682, [(_voffset(100), _voffset(130)), (_voffset(500), _voffset(510))]),  # [16384, 32768): 40
            (4684, [(_voffset(200), _voffset(1200))]),  # [49152, 65536): 1000
            (585, [(_voffset(0), _voffset(99999))]),  # a coarser level: not counted
            (37450, [(_voffset(0), _voffset(0)), (12345, 0)])]  # metadata (counts): ignored
    ref1 = [(4681 + 3, [(_voffset(2000), _voffset(2007))])]
    data = b"BAI\x01" + struct.pack("<i", 2) + bai_ref(ref0) + bai_ref(ref1)
    path = tmp_path / "hand.bai"
    path.write_bytes(data)
    sizes = bam._IndexSizes(str(path))
    assert (sizes.n_ref, sizes.min_shift, sizes.max_offset) == (2, 14, 99999)
    assert sizes.estimate(0, 0, 16383) == 100
    assert sizes.estimate(0, 0, 16384) == 140  # the end's bin is counted too
    assert sizes.estimate(0, 16384, 49152) == 1040
    assert sizes.estimate(0, 20000, 40000) == 40
    assert sizes.estimate(0, 70000, 90000) == 0
    assert sizes.estimate(1, 0, 100000) == 7
    # the same in a .csi (bgzip-compressed, min_shift 12, depth 2, aux data)
    body = b"CSI\x01" + struct.pack("<iii", 12, 2, 3) + b"xyz" + struct.pack("<i", 1)
    finest = ((1 << 6) - 1) // 7  # 9
    bins = [(finest, [(_voffset(0), _voffset(10))]), (finest + 2, [(_voffset(10), _voffset(15))]),
            (0, [(0, _voffset(50))])]
    body += struct.pack("<i", len(bins))
    for number, chunks in bins:
        body += struct.pack("<IQi", number, 0, len(chunks)) + b"".join(struct.pack("<QQ", *c) for c in chunks)
    csi = tmp_path / "hand.csi"
    compressor = zlib.compressobj(6, zlib.DEFLATED, 31)
    csi.write_bytes(compressor.compress(body) + compressor.flush())
    sizes = bam._IndexSizes(str(csi))
    assert (sizes.min_shift, sizes.max_offset) == (12, 50)
    assert sizes.estimate(0, 0, 4095) == 10 and sizes.estimate(0, 0, 8192) == 15 and sizes.estimate(0, 4096, 8191) == 0
    for bad, reason in ((data[:40], "truncated"), (b"TBI\x01" + data[4:], "neither a .bai nor a .csi")):
        path.write_bytes(bad)
        with pytest.raises(GeneratorError, match=reason):
            bam._IndexSizes(str(path))


# --- validation and index building ----------------------------------------------------------------


def test_validate_accepts_the_bam_with_its_index(reads_bam):
    path, index = reads_bam
    bam.validate(str(path), str(index))


@pytest.mark.parametrize("content, reason", [
    (b"", "empty file"),
    (b"@HD\tVN:1.6\n@SQ\tSN:chr1\tLN:100\n", "looks like SAM text"),
    (b">chr1\nACGT\n", "FASTA file, not BAM"),
    (b"CRAM\x03\x00", "CRAM file"),
    (b"\x00\x01\x02garbage", "not a BAM file"),
])
def test_not_a_bam(data_dir, content, reason):
    path = data_dir / "not.bam"
    path.write_bytes(content)
    for call in (lambda: bam.validate(str(path), str(path)), lambda: bam.build_index(str(path), str(data_dir))):
        with pytest.raises(GeneratorError, match=reason) as caught:
            call()
        assert "\n" not in str(caught.value)


def test_a_bgzip_fasta_is_not_a_bam(data_dir, genome):
    fasta_path = write_fasta(data_dir / "g.fa", genome)
    pysam.tabix_compress(str(fasta_path), str(data_dir / "g.fa.gz"), force=True)
    with pytest.raises(GeneratorError, match="FASTA file, not BAM"):
        bam.validate(str(data_dir / "g.fa.gz"), None)


def test_validate_refuses_an_index_of_another_file(reads_bam, other_bam, data_dir, genome):
    path, index = reads_bam
    other = other_bam
    with pytest.raises(GeneratorError, match="the index does not belong to this BAM"):
        bam.validate(str(path), str(other) + ".bai")
    tiny = write_bam(data_dir / "tiny-other.bam", simulate_reads(genome, count=5, seed=6))
    with pytest.raises(GeneratorError, match="the index does not belong to this BAM"):
        bam.validate(str(other), str(tiny) + ".bai")
    fewer = write_bam(data_dir / "fewer.bam", [], header=GENOME[:3])
    with pytest.raises(GeneratorError, match=r"\(3 references in the index, 6 in the BAM\)"):
        bam.validate(str(path), str(fewer) + ".bai")
    with pytest.raises(GeneratorError, match=r"a BAM index \(.bai or .csi\) is needed"):
        bam.validate(str(path), None)
    broken = data_dir / "broken.bai"
    broken.write_bytes(index.read_bytes()[:30])
    with pytest.raises(GeneratorError, match="truncated or damaged"):
        bam.validate(str(path), str(broken))


def test_a_missing_or_unreadable_file_is_a_generator_error(tmp_path):
    with pytest.raises(GeneratorError, match="^the BAM file is missing$"):
        bam.tileset_info(Source(str(tmp_path / "gone.bam")))
    (tmp_path / "plain").write_text("")
    with pytest.raises(GeneratorError, match="^cannot read the file: Not a directory$"):
        bam.tileset_info(Source(str(tmp_path / "plain" / "reads.bam")))


def test_build_index(reads_bam, data_dir, records):
    path, index = reads_bam
    folder = data_dir / "built"
    folder.mkdir()
    built = bam.build_index(str(path), str(folder))
    assert built == str(folder / "reads.bam.bai") and Path(built).read_bytes() == index.read_bytes()
    unsorted = write_unsorted_bam(data_dir / "unsorted.bam", records)
    with pytest.raises(GeneratorError, match=r"not coordinate-sorted \(the header says SO:unsorted\): read "
                                             r"'read\d+' at chr\w+:\d+ follows chr\w+:\d+; sort it"):
        bam.build_index(str(unsorted), str(folder))
    assert sorted(p.name for p in folder.iterdir()) == ["reads.bam.bai"]
    # a reference longer than a .bai can hold: a .csi is built
    long_header = [("chr1", 600_000_000), ("chr2", 1000)]
    long_records = [{"name": f"l{i}", "flag": 0, "tid": i % 2, "pos": 10 * i if i % 2 else 550_000_000 + i,
                     "cigar": "5M", "seq": "ACGTA", "mapq": 1, "tags": []} for i in range(20)]
    long = write_bam(data_dir / "long.bam", long_records, header=long_header, index=False)
    built = bam.build_index(str(long), str(folder))
    assert built.endswith("long.bam.csi")
    bam.validate(str(long), built)
    z = bam.max_zoom_of(600_001_000)  # 22: 256 bases per tile
    answer = tiles(long, built, [f"u.{z}.2148437"])[f"u.{z}.2148437"]  # [549999872, 550000128)
    assert z == 22 and answer["id"] == [f"l{i}" for i in range(0, 20, 2)]


# --- ingest -----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_ingest_with_indexfile_and_delete(reads_bam, outside, media, django_capture_on_commit_callbacks):
    path, index = reads_bam
    data = copy_into(path, outside)
    given = copy_into(index, outside, "my-index.bai")
    call_command("ingest_tileset", "--filename", str(data), "--indexfile", str(given), "--filetype", "bam",
                 "--datatype", "reads", "--coordSystem", "hgT", "--uid", "b1")
    assert uploads(media) == ["my-index.bai", "reads.bam"]
    from tilesets.models import Tileset

    tileset = Tileset.objects.get(uuid="b1")
    assert tileset.indexfile.name == "uploads/my-index.bai" and tileset.owns_index
    with django_capture_on_commit_callbacks(execute=True):
        delete_tileset(tileset)
    assert uploads(media) == []


@pytest.mark.django_db
def test_ingest_finds_the_index_beside_the_file(reads_bam, outside, media, data_dir, records):
    path, index = reads_bam
    data = copy_into(path, outside, index=index)
    tileset = ingest_tileset(datafile=str(data), filetype="bam", datatype="reads", coordSystem="hgT", uid="b2")
    assert tileset.indexfile.name == "uploads/reads.bam.bai"
    csi = write_bam(data_dir / "beside-csi.bam", records, csi=True)
    tileset = ingest_tileset(datafile=str(csi), filetype="bam", datatype="reads", uid="b3")
    assert tileset.indexfile.name == "uploads/beside-csi.bam.csi"


@pytest.mark.django_db
def test_ingest_builds_the_index_and_delete_removes_it(reads_bam, outside, media, django_capture_on_commit_callbacks):
    path, index = reads_bam
    data = copy_into(path, outside)
    tileset = ingest_tileset(datafile=str(data), filetype="bam", datatype="reads", coordSystem="hgT", uid="b4")
    assert tileset.indexfile.name == "uploads/reads.bam.bai" and tileset.owns_index
    assert (media / "uploads" / "reads.bam.bai").read_bytes() == index.read_bytes()
    assert sorted(p.name for p in outside.iterdir()) == ["reads.bam"]  # nothing written beside the original
    with django_capture_on_commit_callbacks(execute=True):
        removed = delete_tileset(tileset)
    assert sorted(removed) == ["uploads/reads.bam", "uploads/reads.bam.bai"] and uploads(media) == []


@pytest.mark.django_db
def test_ingest_refusals_store_nothing(reads_bam, other_bam, outside, media, records, genome):
    path, index = reads_bam
    unsorted = write_unsorted_bam(outside / "unsorted.bam", records)
    with pytest.raises(IngestError, match="Cannot build an index for unsorted.bam: not coordinate-sorted"):
        ingest_tileset(datafile=str(unsorted), filetype="bam", datatype="reads")
    fasta_path = write_fasta(outside / "genome.bam", genome)
    with pytest.raises(CommandError, match="Cannot build an index for genome.bam: this is a FASTA file, not BAM"):
        call_command("ingest_tileset", "--filename", str(fasta_path), "--filetype", "bam")
    with pytest.raises(IngestError, match="reads.bam does not open as bam: the index does not belong"):
        ingest_tileset(datafile=str(copy_into(path, outside)), indexfile=str(other_bam) + ".bai",
                       filetype="bam", datatype="reads")
    wrong = write_chromsizes(outside / "wrong.bai", [("chr1", 5)])
    with pytest.raises(IngestError, match="neither a .bai nor a .csi"):
        ingest_tileset(datafile=str(path), indexfile=str(wrong), filetype="bam")
    assert uploads(media) == []


# --- through the HTTP API ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_api_tileset_info_tiles_and_chrom_sizes(anon_client, reads_bam, outside):
    path, index = reads_bam
    ingest_tileset(datafile=str(copy_into(path, outside)), filetype="bam", datatype="reads", coordSystem="hgT",
                   uid="reads", name="Reads")
    response = anon_client.get("/api/v1/tileset_info/?d=reads")
    assert response.status_code == 200
    assert response.content.decode() == (
        '{"reads": {"min_pos": [0], "max_pos": [12000], "max_width": 16384, "tile_size": 256, '
        '"chromsizes": [["chr1", 5000], ["chr2", 3000], ["chr10", 2000], ["chrX", 1500], ["chrM", 300], '
        '["chrUn_x", 200]], "max_zoom": 6, "max_tile_width": 100000, "name": "Reads", "datatype": "reads", '
        '"coordSystem": "hgT", "coordSystem2": ""}}'
    )
    ids = ["reads.0.0", "reads.3.2", "reads.6.20", "reads.6.60", "reads.7.0", "reads.2.9"]
    answer = api_tiles(anon_client, ids)
    for tile_id in ("reads.0.0", "reads.3.2", "reads.6.20", "reads.6.60"):
        _, z, x = tile_id.split(".")
        assert answer[tile_id] == expected_tile(path, int(z), int(x)), tile_id
    assert list(answer["reads.7.0"]) == ["error"] and list(answer["reads.2.9"]) == ["error"]
    raw = anon_client.get("/api/v1/tiles/?d=reads.6.20").content.decode()
    assert raw == json.dumps({"reads.6.20": expected_tile(path, 6, 20)})
    sizes = anon_client.get("/api/v1/chrom-sizes/?id=reads&type=json")
    assert sizes.status_code == 200 and list(sizes.json().items()) == [(n, {"size": s}) for n, s in OWN]


@pytest.mark.django_db
def test_api_upload_with_and_without_index(owner_client, reads_bam, media):
    path, index = reads_bam
    with open(path, "rb") as data, open(index, "rb") as idx:
        response = owner_client.post("/api/v1/tilesets/", {"datafile": data, "indexfile": idx, "filetype": "bam",
                                                           "datatype": "reads", "coordSystem": "hgT"},
                                     format="multipart")
    assert response.status_code == 201, response.content
    with open(path, "rb") as data:
        response = owner_client.post("/api/v1/tilesets/", {"datafile": data, "filetype": "bam", "datatype": "reads",
                                                           "coordSystem": "hgT"}, format="multipart")
    assert response.status_code == 201, response.content
    uid = response.json()["uuid"]
    assert owner_client.get(f"/api/v1/tiles/?d={uid}.5.3").json()[f"{uid}.5.3"] == expected_tile(path, 5, 3)
    assert len(uploads(media)) == 4


# --- optional: against clodius ------------------------------------------------------------------------

CLODIUS_SCRIPT = r"""
import json, sys
import clodius.tiles.bam as b
original = b.abs2genomic
b.abs2genomic = lambda sizes, start, end: original(sizes, int(start), int(end))  # numpy >= 2: no float >> int
path, index, ids = json.loads(sys.argv[1])
info = json.dumps(b.tileset_info(path))
print(json.dumps([info, {i: json.dumps(t) for i, t in b.tiles(path, ids, index_filename=index)}]))
"""


@needs_clodius
def test_byte_for_byte_against_clodius(data_dir, genome):
    """Where the reference works (header already in natural order, reads with sequences, tiles
    inside the genome) its JSON is ours byte for byte, including the too-much-data errors."""
    header = [(name, dict(GENOME)[name]) for name in NATURAL]
    records = [r for r in simulate_reads(genome, header=header, count=3000, seed=9) if r["seq"] is not None]
    path = write_bam(data_dir / "clodius.bam", records, header=header)
    index = str(path) + ".bai"
    ids = [f"u.{z}.{x}" for z in range(7) for x in range(2 ** z) if (x + 1) * 16384 // 2 ** z < 12000]
    info, reference = run_clodius(CLODIUS_SCRIPT, str(path), index, ids)
    assert json.dumps(bam.tileset_info(Source(str(path), index))) == info
    ours = {i: json.dumps(t) for i, t in tiles(path, index, ids).items()}
    assert ours == reference


# --- the demo file ----------------------------------------------------------------------------------


def test_demo_bam(outside):
    from demo.assembly import HG38
    from demo.reads import REGION, write_bam as write_demo_bam

    path = write_demo_bam(outside / "demo-reads.bam")
    assert sorted(p.name for p in outside.iterdir()) == ["demo-reads.bam", "demo-reads.bam.bai"]
    index = str(path) + ".bai"
    bam.validate(str(path), index)
    info = bam.tileset_info(Source(str(path), index))
    assert info["chromsizes"] == [list(row) for row in HG38] and info["max_zoom"] == 24
    x = (REGION[1] + 50_000) // 32768  # zoom 17: 32768 bases per tile
    tile = tiles(path, index, [f"u.17.{x}"])[f"u.17.{x}"]
    assert normal(tile) == expected_tile(path, 17, x, rows=HG38)
    assert len(tile["id"]) > 1000 and {1, 2} == set(tile["tags.HP"]) and {"+", "-"} == set(tile["strand"])
    assert sum(map(len, tile["variants"])) > 100 and {"S", "I", "D"} <= {c[1] for c in sum(tile["cigars"], [])}
    assert "error" in tiles(path, index, ["u.15.0"])["u.15.0"]  # 131072 bases: wider than the limit
