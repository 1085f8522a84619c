"""beddb: tileset_info, tiles, chromosome sizes, validation, read-only shared access.

The files are written here with sqlite3 (tests/builders/annotation_data.py), entries placed at their zoom
levels the way ``clodius aggregate bedfile`` places them. Every tile of every zoom level is
compared with the tile computed from the placed entries in plain Python; the selection by
importance, the per-zoom limit, entries spanning tiles and the tile-boundary rule are also
checked on their own.
"""

import concurrent.futures
import hashlib
import json
import math
import os
import shutil
import sqlite3

import pytest

from tests.builders import annotation_data as ad
from tests.builders.helpers import (
    edited_copy, generator_tiles, needs_clodius, run_clodius, run_sql, uploads, write_chromsizes, write_tsv,
)
from tilesets.generators import GeneratorError, get
from tilesets.generators import beddb
from tilesets.generators.base import Source
from tilesets.ingest import IngestError, ingest_tileset
from tilesets.models import Tileset

CS = [("chr1", 60000), ("chr2", 41000), ("chr3", 17003), ("chrX", 9000), ("chrM", 169)]
MAX_LENGTH, MAX_ZOOM, MAX_WIDTH = 127173, 7, 131072.0
PER_TILE = 5
SPAN = ad.gene_line("chr1", 10000, 40000, "SPANNER", 10000)  # across 31 tiles at zoom 7
BOUNDARY = ad.gene_line("chr1", 2972, 3072, "EDGE", 9000)  # ends where tile 7.3 starts
AT_START = ad.gene_line("chr1", 4096, 4200, "STARTER", 8500)  # starts where tile 7.4 starts
POINT = ad.gene_line("chr3", 500, 500, "POINT", 8000)  # zero length: placed without counting
LINES = [SPAN, BOUNDARY, AT_START, POINT] + ad.random_genes(CS, 400)


def uid_of(entries, gene):
    return next(e["uid"] for e in entries if e["name"] == gene)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("beddb")
    out = {}
    for version in ("3", "2", None):
        path = folder / f"genes-v{version}.beddb"
        out[version] = (path, ad.write_beddb(path, CS, LINES, max_per_tile=PER_TILE, version=version))
    return out


@pytest.fixture(scope="module")
def v3(files):
    return files["3"]


def fetch(path, ids):
    return generator_tiles(beddb, path, ids)


def all_ids(deepest=MAX_ZOOM + 1):
    return [f"u.{z}.{x}" for z in range(deepest + 1) for x in range(2**z + 1)]


# --- the test data ---------------------------------------------------------------------------


def test_genome_constants(v3):
    _, max_length, max_zoom, max_width = ad.genome(CS, 1024)
    assert (max_length, max_zoom, max_width) == (MAX_LENGTH, MAX_ZOOM, MAX_WIDTH)
    path, entries = v3
    assert len(entries) > 300 and {e["zoom"] for e in entries} >= set(range(MAX_ZOOM + 1))


# --- tileset_info --------------------------------------------------------------------------------


def test_tileset_info_exact(v3):
    info = beddb.tileset_info(Source(str(v3[0])))
    assert json.dumps(info) == (
        '{"zoom_step": 1, "max_length": 127173, "assembly": null, '
        '"chrom_names": "chr1\\tchr2\\tchr3\\tchrX\\tchrM", "chrom_sizes": "60000\\t41000\\t17003\\t9000\\t169", '
        '"tile_size": 1024.0, "max_zoom": 7, "max_width": 131072.0, "min_pos": [1], "max_pos": [127173], '
        '"header": ""}'
    )
    info["name"] = "changed"  # the service adds keys: each call gets its own object
    assert "name" not in beddb.tileset_info(Source(str(v3[0])))


def test_tileset_info_older_layouts(files, tmp_path):
    for version, columns in (("2", 10), (None, 8)):
        info = beddb.tileset_info(Source(str(files[version][0])))
        assert info["header"] == "" and info["tile_size"] == 1024.0 and info["max_pos"] == [MAX_LENGTH]
        assert len(info) == 11
    # a 9-column table (header, no version): the header is the 9th value, as db_tiles reads it
    path = tmp_path / "nine.beddb"
    ad.write_beddb(path, CS, LINES[:3], version=None, info_columns=9, header=["chrom", "start", "end"])
    info = beddb.tileset_info(Source(str(path)))
    assert info["header"] == "chrom\tstart\tend"
    assert fetch(path, ["u.0.0"])["u.0.0"][0].keys() == {"xStart", "xEnd", "chrOffset", "importance", "uid", "fields"}


# --- tiles ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["3", "2", None])
def test_every_tile_matches_the_placed_entries(files, version):
    path, entries = files[version]
    ids = all_ids()
    tiles = fetch(path, ids)
    assert set(tiles) == set(ids)  # every requested tile answers
    for tile_id in ids:
        _, z, x = tile_id.split(".")
        expected = ad.expected_tile(entries, MAX_WIDTH, int(z), int(x), with_name=version == "3")
        assert ad.by_uid(tiles[tile_id]) == ad.by_uid(expected), tile_id
        for item in tiles[tile_id]:
            assert list(item) == list(expected[0])  # key order


def test_tile_json_text(tmp_path):
    """Key order and types as the reference writes them: ints, float importance, split fields."""
    path = tmp_path / "two.beddb"
    lines = [["chr2", "100", "250", "AB1", "3", "+", "x y"], ["chr1", "5", "9", "CD2", "2.5", "-", ""]]
    ad.write_beddb(path, CS, lines)
    assert json.dumps(fetch(path, ["t.0.0"])) == (
        '{"t.0.0": [{"xStart": 60100, "xEnd": 60250, "chrOffset": 60000, "importance": 3.0, "uid": "u0", '
        '"fields": ["chr2", "100", "250", "AB1", "3", "+", "x y"], "name": "AB1"}, '
        '{"xStart": 5, "xEnd": 9, "chrOffset": 0, "importance": 2.5, "uid": "u1", '
        '"fields": ["chr1", "5", "9", "CD2", "2.5", "-", ""], "name": "CD2"}]}'
    )


def test_zoom_0_holds_the_most_important(v3):
    path, entries = v3
    shown = fetch(path, ["u.0.0"])["u.0.0"]
    counted = [item for item in shown if item["xEnd"] > item["xStart"]]  # zero-length entries are not counted
    assert len(counted) == PER_TILE
    by_importance = sorted((e for e in entries if e["endPos"] > e["startPos"]), key=lambda e: -e["importance"])
    assert {item["uid"] for item in counted} == {e["uid"] for e in by_importance[:PER_TILE]}
    assert {"SPANNER", "EDGE", "STARTER", "POINT"} <= {item["name"] for item in shown}


def test_selection_by_importance_and_the_limit_per_zoom(v3):
    """At each zoom, at most PER_TILE entries are added per tile (counted in the tile where they
    start), and an entry lying in one tile is hidden only when PER_TILE more important (or equally
    important) entries are shown there."""
    path, entries = v3
    tiles = fetch(path, all_ids(MAX_ZOOM))
    hidden_checked = 0
    for tile_id, tile in tiles.items():
        z, x = (int(p) for p in tile_id.split(".")[1:])
        width = MAX_WIDTH / 2**z
        new_here = [i for i in tile if i["xEnd"] > i["xStart"] and math.floor(i["xStart"] / width) == x
                    and next(e for e in entries if e["uid"] == i["uid"])["zoom"] == z]
        assert len(new_here) <= PER_TILE, tile_id
        shown = {i["uid"] for i in tile}
        for e in entries:
            counted = [math.floor(p / width) for p in range(e["startPos"], e["endPos"], int(width))]
            if counted == [x] and e["uid"] not in shown:
                assert e["zoom"] > z
                assert sum(i["importance"] >= e["importance"] for i in tile) >= PER_TILE, (tile_id, e["uid"])
                hidden_checked += 1
    assert hidden_checked > 100


def test_entries_spanning_tiles_are_in_every_tile_they_touch(v3):
    path, entries = v3
    uid = uid_of(entries, "SPANNER")
    for z in range(MAX_ZOOM + 2):
        width = MAX_WIDTH / 2**z
        ids = [f"u.{z}.{x}" for x in range(2**z)]
        holding = [int(i.split(".")[2]) for i, tile in fetch(path, ids).items() if uid in {t["uid"] for t in tile}]
        assert holding == list(range(int(10000 // width), int(40000 // width) + 1)), z
    assert len(holding) == 60  # zoom 8: tiles of 512 bp, 19 to 78


def test_tile_boundaries(v3):
    """A tile [s, e) shows entries with start < e and end >= s: an entry ending exactly where a
    tile starts is in that tile too; one starting there is not in the tile before."""
    path, entries = v3
    tiles = fetch(path, ["u.7.2", "u.7.3", "u.7.4"])
    names = {tile_id: {i["name"] for i in tile} for tile_id, tile in tiles.items()}
    assert "EDGE" in names["u.7.2"] and "EDGE" in names["u.7.3"]
    assert "STARTER" in names["u.7.4"] and "STARTER" not in names["u.7.3"]
    point = 60000 + 41000 + 500
    holding = [x for x in range(128) if "POINT" in {i["name"] for i in fetch(path, [f"u.7.{x}"])[f"u.7.{x}"]}]
    assert holding == [point // 1024]


def test_positions_and_zooms_outside_the_data(v3):
    path, _ = v3
    tiles = fetch(path, ["u.0.1", "u.3.8", "u.3.1000000", f"u.2.{10**30}", "u.40.3", "u.1023.0", "u.1024.0",
                         "u.5000.2"])
    assert tiles["u.0.1"] == tiles["u.3.8"] == tiles["u.3.1000000"] == tiles[f"u.2.{10**30}"] == []
    assert tiles["u.40.3"] == [] and isinstance(tiles["u.1023.0"], list)
    assert "out of range" in tiles["u.1024.0"]["error"] and "out of range" in tiles["u.5000.2"]["error"]


def test_tile_errors_are_sentences_for_those_tiles_only(v3, tmp_path):
    path = edited_copy(v3[0], tmp_path / "odd.beddb", "UPDATE intervals SET startPos = 'x'")
    assert fetch(path, ["u.0.0", "u.1024.0"]) == {
        "u.0.0": {"error": "Tile u.0.0: unable to read the annotations (TypeError)."},
        "u.1024.0": {"error": "Tile u.1024.0: zoom level 1024 is out of range."},
    }


def test_chromsizes(v3):
    assert beddb.chromsizes(Source(str(v3[0]))) == CS
    assert get("beddb") is beddb.GENERATOR and beddb.GENERATOR.dimensions == 1


# --- read-only and shared ------------------------------------------------------------------------


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_files_are_opened_read_only(tmp_path, v3):
    (tmp_path / "ro").mkdir()
    path = tmp_path / "ro" / "ro.beddb"
    shutil.copy(v3[0], path)
    before, mtime = digest(path), path.stat().st_mtime_ns
    fetch(path, all_ids(4))
    handle = beddb.open_beddb(str(path))
    assert "mode=ro" in handle._uri and "immutable=1" in handle._uri
    with handle.connection() as conn:
        with pytest.raises(sqlite3.OperationalError):
            conn.execute("DELETE FROM intervals")
    assert digest(path) == before and path.stat().st_mtime_ns == mtime
    assert sorted(p.name for p in path.parent.iterdir()) == ["ro.beddb"]  # no journal, no WAL
    with handle.connection() as conn:  # the larger page cache of tile connections (4 MB)
        assert conn.execute("PRAGMA cache_size").fetchone()[0] == -beddb.PAGE_CACHE_KB == -4096


def test_a_wal_database_is_read_with_its_log(tmp_path):
    path = tmp_path / "wal.beddb"
    entries = ad.write_beddb(path, CS, LINES[:50])
    writer = sqlite3.connect(path)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA wal_autocheckpoint=0")
    writer.execute("UPDATE intervals SET importance = 1234.5 WHERE id = 0")  # only in the -wal file
    writer.commit()
    try:
        handle = beddb.open_beddb(str(path))
        assert "immutable" not in handle._uri
        tile = ad.by_uid(fetch(path, ["u.0.0"])["u.0.0"])
        assert tile[entries[0]["uid"]]["importance"] == 1234.5
    finally:
        writer.close()


def test_threads_share_the_file(v3):
    path, entries = v3
    ids = all_ids(MAX_ZOOM)
    sequential = fetch(path, ids)
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda i: fetch(path, [i]), ids * 2))
    for result in results:
        (tile_id, tile), = result.items()
        assert tile == sequential[tile_id]
    handle = beddb.open_beddb(str(path))
    assert 1 <= len(handle._idle) <= beddb.POOL_SIZE


def test_a_replaced_file_is_read_afresh(tmp_path):
    path = tmp_path / "swap.beddb"
    ad.write_beddb(path, CS, [ad.gene_line("chr1", 1, 50, "OLD", 1)])
    assert [i["name"] for i in fetch(path, ["u.0.0"])["u.0.0"]] == ["OLD"]
    old = beddb.open_beddb(str(path))
    new_lines = [ad.gene_line("chr2", 1, 50, "NEW", 1), ad.gene_line("chr2", 9, 60, "NEW2", 1)]
    ad.write_beddb(tmp_path / "new.beddb", CS, new_lines)
    os.replace(tmp_path / "new.beddb", path)
    assert [i["name"] for i in fetch(path, ["u.0.0"])["u.0.0"]] == ["NEW", "NEW2"]
    assert beddb.open_beddb(str(path)) is not old and old._closed


# --- validation ----------------------------------------------------------------------------------


def _write(path, data):
    path.write_bytes(data)
    return path


BAD_FILES = {
    "text": (lambda p, good: _write(p, b"chr1\t1\t100\tgene\n"), "not an SQLite database"),
    "empty": (lambda p, good: _write(p, b""), "not an SQLite database"),
    "no tables": (lambda p, good: run_sql(p, "CREATE TABLE other (a INT)"),
                  "no tileset_info, intervals, position_index tables: not a beddb file"),
    "no rtree": (lambda p, good: edited_copy(good, p, "DROP TABLE position_index"), "no position_index table"),
    "empty info": (lambda p, good: edited_copy(good, p, "DELETE FROM tileset_info"), "the tileset_info table is empty"),
    "version 3t": (lambda p, good: edited_copy(good, p, "UPDATE tileset_info SET version = '3t'"),
                   "unsupported beddb version '3t' (a precomputed-tiles file of clodius 0.22)"),
    "version 9": (lambda p, good: edited_copy(good, p, "UPDATE tileset_info SET version = '9'"),
                  "unsupported beddb version '9'"),
    "chromosomes": (lambda p, good: edited_copy(good, p, "UPDATE tileset_info SET chrom_sizes = '5\t6'"),
                    "lists 5 chromosome names but 2 chromosome sizes"),
    "max_width": (lambda p, good: edited_copy(good, p, "UPDATE tileset_info SET max_width = 'wide'"),
                  "tileset_info.max_width is 'wide', not a positive number"),
    "no name column": (lambda p, good: edited_copy(good, p, "ALTER TABLE intervals DROP COLUMN name"),
                       "the intervals table has no name column"),
}


@pytest.fixture(scope="module")
def bed2ddb_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("b2") / "rects.bed2ddb"
    ad.write_bed2ddb(path, CS, ad.random_rectangles(CS, 30))
    return path


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_validate_refuses(tmp_path, v3, case):
    build, reason = BAD_FILES[case]
    path = build(tmp_path / "bad.beddb", v3[0])
    with pytest.raises(GeneratorError) as info:
        beddb.validate(str(path))
    assert reason in str(info.value) and "\n" not in str(info.value)


def test_validate_refuses_a_bed2ddb_and_damaged_files(tmp_path, v3, bed2ddb_file):
    with pytest.raises(GeneratorError, match=r"the intervals table has fromX but no startPos column: a bed2ddb \(2-D\) file\?"):
        beddb.validate(str(bed2ddb_file))
    data = v3[0].read_bytes()
    truncated = tmp_path / "truncated.beddb"
    truncated.write_bytes(data[: len(data) // 2])
    garbled = tmp_path / "garbled.beddb"
    garbled.write_bytes(data[:4096] + bytes(range(256)) * ((len(data) - 4096) // 256))
    for path in (truncated, garbled):
        with pytest.raises(GeneratorError) as info:
            beddb.validate(str(path))
        assert "damaged" in str(info.value) or "unreadable SQLite file" in str(info.value) or "malformed" in str(info.value)
    with pytest.raises(GeneratorError, match="the file does not exist"):
        beddb.validate(str(tmp_path / "missing.beddb"))


def test_validate_accepts_every_version(files):
    for path, _ in files.values():
        beddb.validate(str(path))


# --- through the HTTP API ------------------------------------------------------------------------


@pytest.fixture
def genes(v3, db):
    return ingest_tileset(datafile=str(v3[0]), filetype="beddb", datatype="gene-annotation", coordSystem="hgT",
                          uid="genes", name="Genes")


def test_http_tileset_info(anon_client, genes):
    response = anon_client.get("/api/v1/tileset_info/?d=genes")
    assert response.status_code == 200
    assert response.content == json.dumps({"genes": {
        "zoom_step": 1, "max_length": MAX_LENGTH, "assembly": None, "chrom_names": "\t".join(n for n, _ in CS),
        "chrom_sizes": "\t".join(str(s) for _, s in CS), "tile_size": 1024.0, "max_zoom": MAX_ZOOM,
        "max_width": MAX_WIDTH, "min_pos": [1], "max_pos": [MAX_LENGTH], "header": "", "name": "Genes",
        "datatype": "gene-annotation", "coordSystem": "hgT", "coordSystem2": "",
    }}).encode()


def test_http_tiles(anon_client, genes, v3):
    _, entries = v3
    response = anon_client.get("/api/v1/tiles/?d=genes.0.0&d=genes.7.9&d=genes.7.39&d=genes.7.127&d=genes.3.9")
    assert response.status_code == 200
    tiles = response.json()
    assert set(tiles) == {"genes.0.0", "genes.7.9", "genes.7.39", "genes.7.127", "genes.3.9"}
    for tile_id in ("genes.0.0", "genes.7.9", "genes.7.39", "genes.7.127"):
        z, x = (int(p) for p in tile_id.split(".")[1:])
        assert ad.by_uid(tiles[tile_id]) == ad.by_uid(ad.expected_tile(entries, MAX_WIDTH, z, x))
    assert tiles["genes.3.9"] == []  # past the genome end: an empty list, not absent
    span = uid_of(entries, "SPANNER")
    assert all(span in {i["uid"] for i in tiles[t]} for t in ("genes.0.0", "genes.7.9", "genes.7.39"))
    posted = anon_client.post("/api/v1/tiles/", [{"tilesetUid": "genes", "tileIds": ["7.9", "0.0"]}], format="json")
    assert posted.json() == {"genes.7.9": tiles["genes.7.9"], "genes.0.0": tiles["genes.0.0"]}


def test_http_chrom_sizes(anon_client, genes):
    response = anon_client.get("/api/v1/chrom-sizes/?id=genes&type=json")
    assert list(response.json().items()) == [(name, {"size": size}) for name, size in CS]
    tsv = anon_client.get("/api/v1/chrom-sizes/?id=genes")
    assert tsv.content.decode() == "".join(f"{name}\t{size}\n" for name, size in CS)


def test_http_private(anon_client, owner, owner_client, v3, db):
    ingest_tileset(datafile=str(v3[0]), filetype="beddb", datatype="gene-annotation", uid="mine", owner=owner,
                   private=True)
    unknown = {"error": "No such tileset with uid: mine"}  # a private tileset reads as an unknown one
    assert anon_client.get("/api/v1/tileset_info/?d=mine").json() == {"mine": unknown}
    assert anon_client.get("/api/v1/tiles/?d=mine.0.0").json() == {"mine.0.0": unknown}
    assert len(owner_client.get("/api/v1/tiles/?d=mine.0.0").json()["mine.0.0"]) >= PER_TILE


def test_ingest_refuses_files_that_are_not_beddb(db, tmp_path, media, bed2ddb_file, v3):
    text = tmp_path / "genes.bed"
    write_tsv(text, [SPAN])
    corrupt = tmp_path / "corrupt.beddb"
    corrupt.write_bytes(v3[0].read_bytes()[:3000])
    cases = ((text, "not an SQLite database"), (bed2ddb_file, "a bed2ddb"), (corrupt, "SQLite"))
    for path, reason in cases:
        with pytest.raises(IngestError) as info:
            ingest_tileset(datafile=str(path), filetype="beddb", datatype="gene-annotation", uid="nope")
        assert f"{path.name} does not open as beddb" in str(info.value) and reason in str(info.value)
    assert uploads(media) == [] and not Tileset.objects.exists()


def test_upload_refuses_a_text_file(owner_client, tmp_path, media):
    text = tmp_path / "genes.bed"
    write_tsv(text, [SPAN])
    with open(text, "rb") as handle:
        response = owner_client.post("/api/v1/tilesets/", {
            "datafile": handle, "filetype": "beddb", "datatype": "gene-annotation", "coordSystem": "hgT",
        }, format="multipart")
    assert response.status_code == 400
    assert "does not open as beddb: not an SQLite database" in response.json()["error"]
    assert uploads(media) == [] and not Tileset.objects.exists()


# --- the reference itself, when a Python with clodius 0.20.4 is at hand ----------------------------

CLODIUS_SCRIPT = """
import json, subprocess, sys
import clodius.db_tiles as cdt
import clodius.tiles.beddb as hgbe
bed, chromsizes, out, ids = json.loads(sys.argv[1])
subprocess.run([sys.executable, "-c", "from clodius.cli.aggregate import cli; cli()", "aggregate", "bedfile",
                "--chromsizes-filename", chromsizes,
                "--importance-column", "5", "--max-per-tile", "5", "--delimiter", "\\t", "-o", out, bed],
               check=True, capture_output=True)
print(json.dumps([json.dumps(cdt.get_tileset_info(out)), {i: json.dumps(t) for i, t in hgbe.tiles(out, ids)}]))
"""


@needs_clodius
def test_byte_for_byte_against_clodius(tmp_path):
    bed, chromsizes, out = tmp_path / "genes.bed", tmp_path / "cs.tsv", tmp_path / "clodius.beddb"
    write_tsv(bed, LINES)
    write_chromsizes(chromsizes, CS)
    ids = all_ids()
    info, reference = run_clodius(CLODIUS_SCRIPT, str(bed), str(chromsizes), str(out), ids)
    assert json.dumps(beddb.tileset_info(Source(str(out)))) == info
    ours = fetch(out, ids)
    assert {i: json.dumps(t) for i, t in ours.items()} == reference


# --- the demo gene annotations (demo/annotations.py) -----------------------------------


def test_demo_gene_annotations(tmp_path):
    from demo import annotations as demo_annotations
    from demo.assembly import HG38
    from tilesets import suggest

    path = demo_annotations.write_gene_annotations(tmp_path / "genes.beddb")
    beddb.validate(str(path))
    info = beddb.tileset_info(Source(str(path)))
    assert info["assembly"] == "hg38" and info["max_zoom"] == 22 and info["max_width"] == 1024.0 * 2**22
    assert beddb.chromsizes(Source(str(path))) == HG38
    zoom0 = fetch(path, ["g.0.0"])["g.0.0"]
    assert len(zoom0) == 20 and len({g["uid"] for g in zoom0}) == 20
    offsets = ad.genome(HG38, 1024)[0]
    for gene in zoom0:  # the 14 columns the gene-annotations track reads
        chrom, start, end, name, score, strand = gene["fields"][:6]
        assert len(gene["fields"]) == 14 and strand in "+-" and gene["name"] == name
        assert gene["importance"] == float(score) and gene["chrOffset"] == offsets[chrom]
        assert gene["xStart"] == offsets[chrom] + int(start) and gene["xEnd"] == offsets[chrom] + int(end)
        starts = [int(v) for v in gene["fields"][12].rstrip(",").split(",")]
        ends = [int(v) for v in gene["fields"][13].rstrip(",").split(",")]
        assert starts[0] == int(start) and ends[-1] == int(end)
        assert all(s < e for s, e in zip(starts, ends)) and all(e < s for e, s in zip(ends, starts[1:]))
    found = beddb.GENERATOR.search(Source(str(path)), zoom0[0]["name"][:3].lower(), suggest.MAX_RESULTS)
    assert found and all(f["geneName"].startswith(zoom0[0]["name"][:3]) for f in found)
    again = demo_annotations.write_gene_annotations(tmp_path / "again.beddb")
    assert digest(again) == digest(path)  # seeded: the same file every time
