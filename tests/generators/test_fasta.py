"""FASTA sequence tiles and tileset_info (docs/filetypes.md), ingest with its .fai index, and the
FASTA HTTP paths. Expected sequences are cut from the written text, not read back."""

import gzip
import json
import shutil
from pathlib import Path

import pysam
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.builders.helpers import (
    api_tiles, clodius_abs2genomic, copy_into, generator_tiles, in_threads, ingest_chromsizes, needs_clodius, run_clodius, tile_request,
    uploads, write_chromsizes,
)
from tests.builders.reads_data import GENOME, NATURAL, random_genome, write_fasta
from tilesets.generators import fasta
from tilesets.generators.base import GeneratorError, Source
from tilesets.ingest import IngestError, delete_tileset, ingest_tileset

# The assembly of the tests (coordSystem hgT): another order, chrY is not in the FASTA, chrUn_x
# of the FASTA is not in the assembly.
HGT = [("chrM", 300), ("chr1", 5000), ("chr2", 3000), ("chr10", 2000), ("chrX", 1500), ("chrY", 700)]
OWN = [(name, dict(GENOME)[name]) for name in NATURAL]


@pytest.fixture(scope="module")
def genome():
    return random_genome()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("fasta")


@pytest.fixture(scope="module")
def plain(data_dir, genome):
    """(FASTA path, .fai path) in the header order of GENOME, 60 bases per line, indexed by pysam."""
    path = write_fasta(data_dir / "genome.fa", genome)
    pysam.faidx(str(path))
    return path, Path(str(path) + ".fai")


def tiles(path, index, ids, chromsizes=None, context=None):
    return generator_tiles(fasta, path, ids, index=index, chromsizes=chromsizes, context=context)


def concatenated(genome, rows):
    """The genome in tileset order: each row's sequence, cut or filled with N to its length."""
    return "".join(genome.get(name, "")[:length].ljust(length, "N") for name, length in rows)


def expected_sequence(genome, rows, zoom, x):
    total = sum(length for _, length in rows)
    max_zoom = 0
    while 1024 * 2 ** max_zoom < total:
        max_zoom += 1
    width = 1024 * 2 ** (max_zoom - zoom)
    return concatenated(genome, rows)[x * width:(x + 1) * width]


# --- tileset_info ------------------------------------------------------------------------------


def test_tileset_info_exact_json(plain):
    path, index = plain
    # own sequences in natural order: T = 12000, ceil(12000 / 1024) = 12 -> log2 3.58 -> 4
    assert json.dumps(fasta.tileset_info(Source(str(path), str(index)))) == (
        '{"min_pos": [0], "max_pos": [12000], "max_width": 16384, "tile_size": 1024, "max_zoom": 4, '
        '"chromsizes": [["chr1", 5000], ["chr2", 3000], ["chr10", 2000], ["chrX", 1500], ["chrM", 300], '
        '["chrUn_x", 200]], "max_tile_width": 100000}'
    )
    # the coordSystem's chromosomes and order: T = 12500
    info = fasta.tileset_info(Source(str(path), str(index), context={"chromsizes": HGT}))
    assert json.dumps(info) == (
        '{"min_pos": [0], "max_pos": [12500], "max_width": 16384, "tile_size": 1024, "max_zoom": 4, '
        '"chromsizes": [["chrM", 300], ["chr1", 5000], ["chr2", 3000], ["chr10", 2000], ["chrX", 1500], '
        '["chrY", 700]], "max_tile_width": 100000}'
    )


def test_max_tile_width_comes_from_the_service(plain):
    """The server's MAX_FASTA_TILE_WIDTH reaches the generator in the Source's context."""
    path, index = plain
    assert fasta.tileset_info(Source(str(path), str(index), context={"max_tile_width": 4096}))["max_tile_width"] == 4096
    for missing in ({}, {"max_tile_width": None}, {"max_tile_width": 0}):
        assert fasta.tileset_info(Source(str(path), str(index), context=missing))["max_tile_width"] == 100000


def test_chromsizes_are_the_files_own_in_natural_order(plain, data_dir, genome):
    path, index = plain
    assert fasta.chromsizes(Source(str(path), str(index), context={"chromsizes": HGT})) == OWN
    assert fasta.chromsizes(Source(str(path))) == OWN  # the .fai beside the file
    # no index anywhere (the ingest checks the assembly before the index is stored): built aside
    bare = data_dir / "bare" / "genome.fa"
    bare.parent.mkdir()
    shutil.copy(path, bare)
    assert fasta.chromsizes(Source(str(bare))) == OWN
    assert sorted(p.name for p in bare.parent.iterdir()) == ["genome.fa"]


# --- tiles -------------------------------------------------------------------------------------


@pytest.mark.parametrize("layout", ["assembly", "own"])
def test_every_tile_equals_the_fasta_text(plain, genome, layout):
    """All zoom levels, every x: the bases of the written text, case kept, in tileset order; a
    missing chromosome (chrY) is N; the last tile stops at the genome end."""
    path, index = plain
    rows, context = (HGT, HGT) if layout == "assembly" else (OWN, None)
    ids = [f"u.{z}.{x}" for z in range(5) for x in range(2 ** z)]
    answer = tiles(path, index, ids, context)
    assert set(answer) == set(ids)
    for tile_id in ids:
        _, z, x = tile_id.split(".")
        assert answer[tile_id] == {"sequence": expected_sequence(genome, rows, int(z), int(x))}, tile_id
    whole = answer["u.0.0"]["sequence"]
    assert len(whole) == sum(length for _, length in rows)
    assert any(c.islower() for c in whole) and "N" in whole
    if layout == "assembly":
        assert whole[-700:] == "N" * 700  # chrY
        assert whole[:300] == genome["chrM"]


def test_tile_positions(plain, genome):
    path, index = plain
    # zoom 4 = 1024 bases per tile; tile 4 = [4096, 5120) crosses chr1 (5000) -> chr2
    answer = tiles(path, index, ["u.4.4", "u.4.11", "u.4.12", "u.4.15"])
    assert answer["u.4.4"]["sequence"] == genome["chr1"][4096:] + genome["chr2"][:120]
    # [11264, 12000): chrX from 1264 (it starts at 10000), chrM, chrUn_x; the genome ends at 12000
    assert answer["u.4.11"]["sequence"] == genome["chrX"][1264:] + genome["chrM"] + genome["chrUn_x"]
    assert answer["u.4.12"] == {"sequence": ""}  # inside the grid, past the genome end
    assert answer["u.4.15"] == {"sequence": ""}


def test_chromosome_longer_in_the_assembly_is_filled_with_n(plain, genome):
    path, index = plain
    rows = [("chr2", 3010), ("chr1", 5000)]
    answer = tiles(path, index, ["u.3.1"], rows)  # [1024, 2048) of [chr2 + 10 N, chr1]
    assert answer["u.3.1"]["sequence"] == (genome["chr2"] + "N" * 10 + genome["chr1"])[1024:2048]


def test_bad_tiles_are_errors_for_that_tile_only(plain, genome):
    path, index = plain
    ids = ["u.0.0", "u.1.1", "u.2.1", "u.5.0", "u.60.0", "u.2.4", "u.4.3"]
    answer = tiles(path, index, ids, context={"max_tile_width": 4096})
    assert set(answer) == set(ids)
    too_large = {"error": "Tile too large, no data returned. Max tile size: 4096"}
    assert answer["u.0.0"] == too_large and answer["u.1.1"] == too_large  # 16384 and 8192 bases
    assert answer["u.2.1"] == {"sequence": expected_sequence(genome, OWN, 2, 1)}  # 4096: not wider
    assert answer["u.4.3"] == {"sequence": genome["chr1"][3072:4096]}
    for bad, word in (("u.5.0", "beyond"), ("u.60.0", "beyond"), ("u.2.4", "outside")):
        assert list(answer[bad]) == ["error"] and word in answer[bad]["error"], bad


@pytest.mark.parametrize("width, newline", [(7, "\n"), (60, "\r\n"), (100000, "\n"), (1, "\n")])
def test_line_layouts(data_dir, genome, width, newline):
    path = write_fasta(data_dir / f"w{width}-{len(newline)}.fa", genome, order=list(reversed(list(genome))),
                       width=width, newline=newline, description=width != 7)
    folder = data_dir / f"idx-w{width}-{len(newline)}"
    folder.mkdir()
    index = fasta.build_index(str(path), str(folder))
    fasta.validate(str(path), index)
    ids = [f"u.{z}.{x}" for z in (0, 3, 4) for x in range(2 ** z)]
    answer = tiles(path, index, ids, HGT)
    for tile_id in ids:
        _, z, x = tile_id.split(".")
        assert answer[tile_id]["sequence"] == expected_sequence(genome, HGT, int(z), int(x)), tile_id


def test_bgzip_compressed_fasta(plain, data_dir, genome):
    path, _ = plain
    compressed = data_dir / "genome.fa.gz"
    pysam.tabix_compress(str(path), str(compressed), force=True)
    folder = data_dir / "bgzip-index"
    folder.mkdir()
    index = fasta.build_index(str(compressed), str(folder))
    assert Path(index).name == "genome.fa.gz.fai"
    assert not Path(str(compressed) + ".gzi").exists() and not Path(str(compressed) + ".fai").exists()
    fasta.validate(str(compressed), index)
    ids = [f"u.{z}.{x}" for z in range(5) for x in range(2 ** z)]
    assert tiles(compressed, index, ids, HGT) == tiles(path, Path(str(path) + ".fai"), ids, HGT)
    assert fasta.chromsizes(Source(str(compressed), index)) == OWN


def test_bgzip_with_many_blocks_and_threads(data_dir):
    """A bgzip FASTA of several blocks read by concurrent requests (tiles across block ends)."""
    big = {"chr1": ("ACGTTGCAac" * 20000)[:190000], "chr2": ("ttgacNNcca" * 7000)[:65000]}
    path = write_fasta(data_dir / "big.fa", big, width=50)
    compressed = data_dir / "big.fa.gz"
    pysam.tabix_compress(str(path), str(compressed), force=True)
    index = fasta.build_index(str(compressed), str(data_dir))
    fasta.validate(str(compressed), index)
    rows = [("chr1", 190000), ("chr2", 65000)]
    ids = [f"u.{z}.{x}" for z in (6, 7, 8) for x in range(0, 2 ** z, 3)]
    expected = {i: {"sequence": expected_sequence(big, rows, int(i.split(".")[1]), int(i.split(".")[2]))}
                for i in ids}
    assert all(result == expected for result in in_threads(lambda: tiles(compressed, index, ids, rows)))


# --- validation ----------------------------------------------------------------------------------


def test_plain_gzip_is_refused_with_a_hint(plain, data_dir):
    path, _ = plain
    gz = data_dir / "plain.fa.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    for call in (lambda: fasta.build_index(str(gz), str(data_dir)), lambda: fasta.validate(str(gz), None)):
        with pytest.raises(GeneratorError, match="plain gzip cannot be read at random positions; recompress it "
                                                 "with bgzip"):
            call()


@pytest.mark.parametrize("content, reason", [
    (b"", "empty file"),
    (b"@read1\nACGT\n+\nIIII\n", "FASTQ"),
    (b"chr1\t1000\n", "does not start with '>'"),
    (b"BZh91AY&SY", "bzip2-compressed"),
])
def test_not_a_fasta(data_dir, content, reason):
    path = data_dir / "not.fa"
    path.write_bytes(content)
    with pytest.raises(GeneratorError, match=reason) as caught:
        fasta.build_index(str(path), str(data_dir))
    assert "\n" not in str(caught.value)


def test_a_bam_is_not_a_fasta(data_dir):
    from tests.builders.reads_data import simulate_reads, write_bam

    bam = write_bam(data_dir / "small.bam", simulate_reads(random_genome(), count=20), index=False)
    with pytest.raises(GeneratorError, match="this is a BAM file, not FASTA"):
        fasta.validate(str(bam), None)


def test_index_must_belong_to_the_file(plain, data_dir, genome):
    path, index = plain
    # another layout of the same sequences: the offsets differ
    other = write_fasta(data_dir / "other.fa", genome, width=50)
    pysam.faidx(str(other))
    with pytest.raises(GeneratorError, match="the index does not match the FASTA"):
        fasta.validate(str(path), str(other) + ".fai")
    # a shorter file: its sequences end before the index says
    cut = data_dir / "cut.fa"
    cut.write_bytes(path.read_bytes()[:-500])
    with pytest.raises(GeneratorError, match="the index does not match the FASTA"):
        fasta.validate(str(cut), str(index))
    # renamed sequences
    renamed = data_dir / "renamed.fa"
    renamed.write_text(path.read_text().replace(">chr2 ", ">chr22 "))
    with pytest.raises(GeneratorError, match="sequence 'chr2'"):
        fasta.validate(str(renamed), str(index))
    for text, reason in (("chr1\t10\t6\t60\n", "not a FASTA .fai index"),
                         ("chr1\t10\t6\t60\t61\t130\n", "FASTQ index"),
                         ("", "lists no sequences"),
                         ("chr1\t10\t6\t60\t61\nchr1\t10\t6\t60\t61\n", "twice")):
        bad = data_dir / "bad.fai"
        bad.write_text(text)
        with pytest.raises(GeneratorError, match=reason):
            fasta.validate(str(path), str(bad))
    with pytest.raises(GeneratorError, match=r"a \.fai index is needed"):
        fasta.validate(str(path), None)


def test_samtools_refuses_uneven_lines(data_dir):
    path = data_dir / "uneven.fa"
    path.write_text(">chr1\nACGTACGT\nACG\nACGTACGT\n")
    with pytest.raises(GeneratorError, match="samtools faidx cannot index it"):
        fasta.build_index(str(path), str(data_dir))


# --- ingest ----------------------------------------------------------------------------------------


def _assembly(folder):
    return ingest_chromsizes(folder, "hgt-sizes", HGT, "hgT")


@pytest.mark.django_db
def test_ingest_builds_the_index_and_delete_removes_it(plain, outside, media, django_capture_on_commit_callbacks):
    _assembly(outside)
    path = copy_into(plain[0], outside)
    tileset = ingest_tileset(datafile=str(path), filetype="fasta", datatype="sequence", coordSystem="hgT", uid="fa")
    assert tileset.indexfile.name == "uploads/genome.fa.fai" and tileset.owns_index
    assert sorted(p.name for p in outside.iterdir()) == ["genome.fa", "hgt-sizes.tsv"]  # nothing beside the original
    assert (media / "uploads" / "genome.fa.fai").read_bytes() == plain[1].read_bytes()
    with django_capture_on_commit_callbacks(execute=True):
        delete_tileset(tileset)
    assert uploads(media) == ["hgt-sizes.tsv"]


@pytest.mark.django_db
def test_ingest_with_the_index_beside_or_given(plain, outside, media):
    _assembly(outside)
    path = copy_into(plain[0], outside, index=plain[1])
    tileset = ingest_tileset(datafile=str(path), filetype="fasta", datatype="sequence", coordSystem="hgT", uid="f1")
    assert tileset.indexfile.name == "uploads/genome.fa.fai"
    given = outside / "elsewhere.idx"
    shutil.copy(plain[1], given)
    call_command("ingest_tileset", "--filename", str(path), "--indexfile", str(given), "--filetype", "fasta",
                 "--datatype", "sequence", "--coordSystem", "hgT", "--uid", "f2")
    assert "elsewhere.idx" in uploads(media)


@pytest.mark.django_db
def test_ingest_refusals_store_nothing(plain, outside, media, data_dir, genome):
    _assembly(outside)
    before = uploads(media)
    gz = outside / "plain.fa.gz"
    gz.write_bytes(gzip.compress(plain[0].read_bytes()))
    with pytest.raises(IngestError, match="Cannot build an index for plain.fa.gz: gzip-compressed FASTA"):
        ingest_tileset(datafile=str(gz), filetype="fasta", coordSystem="hgT")
    text = write_chromsizes(outside / "sizes.fa", HGT)
    with pytest.raises(IngestError, match="not a FASTA file"):
        ingest_tileset(datafile=str(text), filetype="fasta", coordSystem="hgT")
    other = write_fasta(outside / "other.fa", genome, width=50)
    with pytest.raises(CommandError, match="does not open as fasta: the index does not match"):
        call_command("ingest_tileset", "--filename", str(copy_into(plain[0], outside)), "--indexfile",
                     str(fasta.build_index(str(other), str(data_dir))), "--filetype", "fasta", "--coordSystem", "hgT")
    strange = write_fasta(outside / "strange.fa", {"contig1": "ACGT" * 300})
    with pytest.raises(IngestError, match="do not match the chromsizes of 'hgT'"):
        ingest_tileset(datafile=str(strange), filetype="fasta", coordSystem="hgT")
    assert uploads(media) == before


# --- through the HTTP API --------------------------------------------------------------------------


@pytest.mark.django_db
def test_api_tileset_info_tiles_and_chrom_sizes(anon_client, plain, outside, genome):
    _assembly(outside)
    path = copy_into(plain[0], outside)
    ingest_tileset(datafile=str(path), filetype="fasta", datatype="sequence", coordSystem="hgT", uid="fa",
                   name="Genome")
    response = anon_client.get("/api/v1/tileset_info/?d=fa")
    assert response.status_code == 200
    assert response.content.decode() == (
        '{"fa": {"min_pos": [0], "max_pos": [12500], "max_width": 16384, "tile_size": 1024, "max_zoom": 4, '
        '"chromsizes": [["chrM", 300], ["chr1", 5000], ["chr2", 3000], ["chr10", 2000], ["chrX", 1500], '
        '["chrY", 700]], "max_tile_width": 100000, "name": "Genome", "datatype": "sequence", '
        '"coordSystem": "hgT", "coordSystem2": ""}}'
    )
    ids = ["fa.0.0", "fa.4.0", "fa.4.12", "fa.3.5", "fa.9.0", "fa.4.16"]
    answer = api_tiles(anon_client, ids)
    for tile_id in ("fa.0.0", "fa.4.0", "fa.4.12", "fa.3.5"):
        _, z, x = tile_id.split(".")
        assert answer[tile_id] == {"sequence": expected_sequence(genome, HGT, int(z), int(x))}, tile_id
    assert answer["fa.4.12"]["sequence"] == ("N" * 700)[:12500 - 12288]
    assert list(answer["fa.9.0"]) == ["error"] and list(answer["fa.4.16"]) == ["error"]
    raw = anon_client.get("/api/v1/tiles/?d=fa.4.0").content.decode()
    assert raw == json.dumps({"fa.4.0": {"sequence": (genome["chrM"] + genome["chr1"])[:1024]}})
    sizes = anon_client.get("/api/v1/chrom-sizes/?id=fa&type=json")
    assert sizes.status_code == 200
    assert list(sizes.json().items()) == [(name, {"size": length}) for name, length in OWN]
    tsv = anon_client.get("/api/v1/chrom-sizes/?id=fa").content.decode()
    assert tsv == "".join(f"{name}\t{length}\n" for name, length in OWN)


@pytest.mark.django_db
def test_api_upload_builds_the_index(owner_client, plain, outside, media, genome):
    _assembly(outside)
    with open(plain[0], "rb") as data:
        response = owner_client.post("/api/v1/tilesets/", {"datafile": data, "filetype": "fasta",
                                                           "datatype": "sequence", "coordSystem": "hgT"},
                                     format="multipart")
    assert response.status_code == 201, response.content
    uid = response.json()["uuid"]
    assert "genome.fa.fai" in uploads(media)
    tile = owner_client.get(f"/api/v1/tiles/?d={uid}.4.1").json()[f"{uid}.4.1"]
    assert tile == {"sequence": expected_sequence(genome, HGT, 4, 1)}


# --- optional: byte-for-byte against clodius ------------------------------------------------------

CLODIUS_SCRIPT = r"""
import json, sys
import clodius.tiles.fasta as f
""" + clodius_abs2genomic("f") + r"""
path, ids, chromsizes, width = json.loads(sys.argv[1])
info = json.dumps(f.tileset_info(path, chromsizes), default=int)
tiles = {}
for i in ids:  # one id per call: a too-large tile ends the call
    tiles.update({k: json.dumps(v) for k, v in f.tiles(path, [i], chromsizes=chromsizes, max_tile_width=width)})
print(json.dumps([info, tiles]))
"""


@needs_clodius
@pytest.mark.parametrize("layout", ["assembly", "own"])
def test_byte_for_byte_against_clodius(tmp_path, plain, layout, monkeypatch):
    path = tmp_path / "genome.fa"  # pyfaidx writes its .fai beside the file
    shutil.copy(plain[0], path)
    rows = [row for row in HGT if row[0] != "chrY"] if layout == "assembly" else None  # the reference crashes on chrY
    total = sum(length for _, length in (rows or OWN))
    ids = [f"u.{z}.{x}" for z in range(5) for x in range(2 ** z) if (x + 1) * 16384 // 2 ** z < total]
    info, reference = run_clodius(CLODIUS_SCRIPT, str(path), ids, [list(r) for r in rows] if rows else None, 4096)
    source = Source(str(path), str(plain[1]), context={"chromsizes": rows} if rows else {})
    ours = fasta.tileset_info(source)
    assert json.dumps({k: v for k, v in ours.items() if k != "max_tile_width"}) == info
    source = Source(source.datafile, source.indexfile, context=dict(source.context, max_tile_width=4096))
    answer = fasta.tiles(source, [tile_request(i) for i in ids], None)
    assert sum("error" in tile for tile in answer.values()) == 1  # u.1.0
    assert len(ids) > 10 and {i: json.dumps(t) for i, t in answer.items()} == reference
