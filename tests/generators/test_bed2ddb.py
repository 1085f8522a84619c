"""bed2ddb: 2-D rectangles in SQLite — tileset_info, tiles, validation, the API.

Files are written with sqlite3 (tests/builders/annotation_data.py), rectangles placed at their zoom levels
as ``clodius aggregate bedpe`` places them; tiles are compared with those computed from the
placed rectangles in plain Python.
"""

import json
import sqlite3

import pytest

from tests.builders import annotation_data as ad
from tests.builders.helpers import edited_copy, generator_tiles, needs_clodius, run_clodius, uploads, write_chromsizes, write_tsv
from tilesets.generators import GeneratorError, get
from tilesets.generators import bed2ddb
from tilesets.generators.base import Source
from tilesets.ingest import IngestError, ingest_tileset
from tilesets.models import Tileset

CS = [("chr1", 60000), ("chr2", 41000), ("chr3", 17003), ("chrX", 9000), ("chrM", 169)]
MAX_LENGTH, MAX_ZOOM, MAX_WIDTH = 127173, 7, 131072.0
PER_TILE = 5
BIG = ["chr1", "1000", "21000", "chr1", "1000", "21000", "5000", "big-domain"]  # 20 kb on the diagonal
EDGE = ["chr1", "3000", "3072", "chr1", "3000", "3072", "4000", "edge"]  # ends where tiles 7.3.* start
LINES = [BIG, EDGE] + ad.random_rectangles(CS, 400)


@pytest.fixture(scope="module")
def rects(tmp_path_factory):
    path = tmp_path_factory.mktemp("bed2ddb") / "rects.bed2ddb"
    return path, ad.write_bed2ddb(path, CS, LINES, max_per_tile=PER_TILE)


def fetch(path, ids):
    return generator_tiles(bed2ddb, path, ids)


def grid(z, extra=1, limit=None):
    side = range(min(2**z + extra, limit or 2**z + extra))
    return [f"u.{z}.{x}.{y}" for x in side for y in side]


def test_tileset_info_exact(rects):
    info = bed2ddb.tileset_info(Source(str(rects[0])))
    assert json.dumps(info) == (
        '{"zoom_step": 1, "max_length": 127173, "assembly": null, '
        '"chrom_names": "chr1\\tchr2\\tchr3\\tchrX\\tchrM", "chrom_sizes": "60000\\t41000\\t17003\\t9000\\t169", '
        '"tile_size": 1024.0, "max_zoom": 7, "max_width": 131072.0, "min_pos": [1, 1], "max_pos": [127173, 127173]}'
    )  # 0.18/0.20: no "header"


def test_every_tile_matches_the_placed_rectangles(rects):
    path, entries = rects
    assert {e["zoom"] for e in entries} >= set(range(5))
    ids = [i for z in range(6) for i in grid(z)] + grid(7, limit=24)
    tiles = fetch(path, ids)
    nonempty = 0
    for tile_id in ids:
        z, x, y = (int(p) for p in tile_id.split(".")[1:])
        expected = ad.expected_2d_tile(entries, MAX_WIDTH, z, x, y)
        if not expected or x >= 2**z or y >= 2**z:
            assert tile_id not in tiles, tile_id  # empty tiles and positions off the grid are absent
            continue
        nonempty += 1
        assert ad.by_uid(tiles[tile_id]) == ad.by_uid(expected), tile_id
        assert all(list(item) == list(expected[0]) for item in tiles[tile_id])
    assert nonempty > 200 and len(tiles) == nonempty


def test_tile_json_text(tmp_path):
    path = tmp_path / "one.bed2ddb"
    ad.write_bed2ddb(path, CS, [["chr2", "10", "20", "chr3", "5", "7", "2", "a b"]])
    assert json.dumps(fetch(path, ["t.0.0.0"])) == (
        '{"t.0.0.0": [{"xStart": 60010, "xEnd": 60020, "yStart": 101005, "yEnd": 101007, "chrOffset": 60000, '
        '"importance": 2.0, "uid": "r0", "id": 0, "fields": ["chr2", "10", "20", "chr3", "5", "7", "2", "a b"]}]}'
    )


def test_rectangles_in_every_tile_they_touch(rects):
    path, entries = rects
    uid = next(e["uid"] for e in entries if e["fields"].endswith("big-domain"))
    tiles = fetch(path, grid(7, extra=0, limit=24))
    holding = sorted(tuple(int(p) for p in i.split(".")[2:]) for i, t in tiles.items() if uid in {r["uid"] for r in t})
    span = range(1000 // 1024, 21000 // 1024 + 1)
    assert holding == [(x, y) for x in span for y in span]
    edge = next(e["uid"] for e in entries if e["fields"].endswith("edge"))
    edge_tiles = sorted(tuple(int(p) for p in i.split(".")[2:]) for i, t in tiles.items() if edge in {r["uid"] for r in t})
    assert edge_tiles == [(2, 2), (2, 3), (3, 2), (3, 3)]  # end == tile start counts as touching


def test_zoom_0_shows_the_most_important(rects):
    path, entries = rects
    (tile,) = fetch(path, ["u.0.0.0"]).values()
    assert len(tile) == PER_TILE + 1  # clodius' bedpe limit: a tile is full when it holds more than max
    top = sorted(entries, key=lambda e: -e["importance"])[:PER_TILE + 1]
    assert {r["uid"] for r in tile} == {e["uid"] for e in top}


def test_off_grid_and_deep_tiles(rects):
    path, _ = rects
    tiles = fetch(path, ["u.0.1.0", "u.0.0.1", "u.2.4.0", "u.7.127.127", "u.20.40000.40000", "u.1024.0.0",
                         f"u.{10**12}.0.0"])
    assert "u.0.1.0" not in tiles and "u.0.0.1" not in tiles and "u.2.4.0" not in tiles
    assert "u.7.127.127" not in tiles  # past the genome end: empty, so absent
    # deeper than max_zoom: still served (tiles of 1/8 bp; the big domain covers position 5000)
    assert "big-domain" in {r["fields"][-1] for r in tiles["u.20.40000.40000"]}
    assert "out of range" in tiles["u.1024.0.0"]["error"] and "out of range" in tiles[f"u.{10**12}.0.0"]["error"]


def test_tile_errors_are_sentences_for_those_tiles_only(rects, tmp_path):
    path = edited_copy(rects[0], tmp_path / "odd.bed2ddb", "UPDATE intervals SET fromX = 'x'")
    assert fetch(path, ["u.0.0.0", "u.0.1.0", "u.1024.0.0"]) == {  # u.0.1.0: off the grid, absent
        "u.0.0.0": {"error": "Tile u.0.0.0: unable to read the annotations (TypeError)."},
        "u.1024.0.0": {"error": "Tile u.1024.0.0: zoom level 1024 is out of range."},
    }


def test_chromsizes_and_registry(rects):
    assert bed2ddb.chromsizes(Source(str(rects[0]))) == CS
    assert get("bed2ddb") is bed2ddb.GENERATOR and bed2ddb.GENERATOR.dimensions == 2


def test_opened_read_only(rects):
    handle = bed2ddb.open_bed2ddb(str(rects[0]))
    assert "mode=ro" in handle._uri
    with handle.connection() as conn:
        with pytest.raises(sqlite3.OperationalError):
            conn.execute("UPDATE intervals SET importance = 0")


@pytest.fixture(scope="module")
def beddb_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("b1") / "genes.beddb"
    ad.write_beddb(path, CS, ad.random_genes(CS, 20))
    return path


def test_validate(tmp_path, rects, beddb_file):
    bed2ddb.validate(str(rects[0]))
    with pytest.raises(GeneratorError, match=r"has startPos but no fromX column: a beddb \(1-D\) file\?"):
        bed2ddb.validate(str(beddb_file))
    text = tmp_path / "x.bedpe"
    write_tsv(text, [BIG])
    with pytest.raises(GeneratorError, match="not an SQLite database"):
        bed2ddb.validate(str(text))
    version = edited_copy(rects[0], tmp_path / "v2.bed2ddb", "UPDATE tileset_info SET version = '2'")
    with pytest.raises(GeneratorError, match="unsupported bed2ddb version '2'"):
        bed2ddb.validate(str(version))
    damaged = tmp_path / "damaged.bed2ddb"
    damaged.write_bytes(rects[0].read_bytes()[:5000])
    with pytest.raises(GeneratorError, match="SQLite"):
        bed2ddb.validate(str(damaged))


# --- through the HTTP API ------------------------------------------------------------------------


@pytest.fixture
def domains(rects, db):
    return ingest_tileset(datafile=str(rects[0]), filetype="bed2ddb", datatype="2d-rectangle-domains",
                          coordSystem="hgT", uid="doms", name="Domains")


def test_http(anon_client, domains, rects):
    _, entries = rects
    info = anon_client.get("/api/v1/tileset_info/?d=doms").json()["doms"]
    assert info["max_pos"] == [MAX_LENGTH, MAX_LENGTH] and "header" not in info
    assert list(info)[-4:] == ["name", "datatype", "coordSystem", "coordSystem2"]
    response = anon_client.get("/api/v1/tiles/?d=doms.0.0.0&d=doms.5.0.0&d=doms.7.127.0&d=doms.1.2.0")
    assert response.status_code == 200
    tiles = response.json()
    assert set(tiles) == {"doms.0.0.0", "doms.5.0.0"}
    for tile_id in tiles:
        z, x, y = (int(p) for p in tile_id.split(".")[1:])
        assert ad.by_uid(tiles[tile_id]) == ad.by_uid(ad.expected_2d_tile(entries, MAX_WIDTH, z, x, y))
    malformed = anon_client.get("/api/v1/tiles/?d=doms.0.0").json()
    assert "Malformed tile id" in malformed["doms.0.0"]["error"]
    sizes = anon_client.get("/api/v1/chrom-sizes/?id=doms&type=json").json()
    assert list(sizes.items()) == [(n, {"size": s}) for n, s in CS]


def test_ingest_refuses_files_that_are_not_bed2ddb(db, tmp_path, media, beddb_file):
    text = tmp_path / "domains.bedpe"
    write_tsv(text, [BIG])
    for path, reason in ((text, "not an SQLite database"), (beddb_file, "a beddb (1-D) file")):
        with pytest.raises(IngestError) as info:
            ingest_tileset(datafile=str(path), filetype="bed2ddb", datatype="2d-rectangle-domains", uid="nope")
        assert "does not open as bed2ddb: " in str(info.value) and reason in str(info.value)
    assert uploads(media) == [] and not Tileset.objects.exists()


def test_upload_refuses_a_text_file(owner_client, tmp_path, media):
    text = tmp_path / "domains.bedpe"
    write_tsv(text, [BIG])
    with open(text, "rb") as handle:
        response = owner_client.post("/api/v1/tilesets/", {
            "datafile": handle, "filetype": "bed2ddb", "datatype": "2d-rectangle-domains", "coordSystem": "hgT",
        }, format="multipart")
    assert response.status_code == 400 and "does not open as bed2ddb" in response.json()["error"]
    assert uploads(media) == [] and not Tileset.objects.exists()


# --- the reference itself, when a Python with clodius 0.20.4 is at hand ----------------------------

# higlass-server's bed2ddb path: clodius' db_tiles.get_2d_tiles over blocks of adjacent tiles; each
# tile here is its own block (the rows of a tile do not depend on the block).
CLODIUS_SCRIPT = """
import json, subprocess, sys
import clodius.db_tiles as cdt
bedpe, chromsizes, out, ids = json.loads(sys.argv[1])
subprocess.run([sys.executable, "-c", "from clodius.cli.aggregate import cli; cli()", "aggregate", "bedpe",
                "--chromsizes-filename", chromsizes, "--importance-column", "7", "--max-per-tile", "5", "-o", out,
                bedpe], check=True, capture_output=True)
tiles = {}
for tile_id in ids:
    uid, z, x, y = tile_id.split("."); z, x, y = int(z), int(x), int(y)
    if x < 2 ** z and y < 2 ** z:
        for position, data in cdt.get_2d_tiles(out, z, x, y, 1, 1).items():
            tiles[".".join(map(str, [uid, z, *position]))] = json.dumps(data)
print(json.dumps([json.dumps(cdt.get_2d_tileset_info(out)), tiles]))
"""


@needs_clodius
def test_byte_for_byte_against_clodius(tmp_path):
    bedpe, chromsizes, out = tmp_path / "rects.bedpe", tmp_path / "cs.tsv", tmp_path / "clodius.bed2ddb"
    write_tsv(bedpe, LINES)
    write_chromsizes(chromsizes, CS)
    ids = [i for z in range(6) for i in grid(z)] + grid(7, limit=24)
    info, reference = run_clodius(CLODIUS_SCRIPT, str(bedpe), str(chromsizes), str(out), ids)
    assert json.dumps(bed2ddb.tileset_info(Source(str(out)))) == info
    assert {i: json.dumps(t) for i, t in fetch(out, ids).items()} == reference


def test_demo_domains(tmp_path):
    from demo import annotations as demo_annotations

    path = demo_annotations.write_domains(tmp_path / "domains.bed2ddb")
    bed2ddb.validate(str(path))
    info = bed2ddb.tileset_info(Source(str(path)))
    assert info["assembly"] == "hg38" and info["max_pos"] == [3088286402, 3088286402]
    (zoom0,) = fetch(path, ["d.0.0.0"]).values()
    assert len(zoom0) == 101  # clodius' bedpe default: full above 100
    assert all(r["xStart"] == r["yStart"] and r["xEnd"] == r["yEnd"] for r in zoom0)  # on the diagonal
    assert min(r["importance"] for r in zoom0) >= max(r["importance"] for r in fetch(path, ["d.3.1.1"])["d.3.1.1"]
                                                      if r["uid"] not in {z["uid"] for z in zoom0})
    again = demo_annotations.write_domains(tmp_path / "again.bed2ddb")
    assert again.read_bytes() == path.read_bytes()
