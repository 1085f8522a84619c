"""multivec: tileset_info, tiles, POST aggregation, chromosome sizes, validation.

Files are written here with h5py in the multivec layout, their coarser resolutions built from the
base arrays by pairwise sums as clodius does. Every tile is compared, as JSON, with the tile that
tests/builders/multivec_data.py computes from those arrays by following the reference step by step; a few
tiles are also spelled out by hand (rows per chromosome, the drop rule, padding, the genome end).
"""

import base64
import json
import os
import subprocess
import sys

import h5py
import numpy as np
import pytest

from tests.builders import multivec_data as md
from tests.builders.helpers import failed_metadata_read, generator_tiles, needs_clodius, run_clodius, write_hdf5
from tilesets.generators import GeneratorError, get
from tilesets.generators import multivec as mv
from tilesets.generators.base import Source
from tilesets.ingest import IngestError, ingest_tileset

# r0 = 10 bp; lengths not multiples of r0, odd bin counts (chr1: 1235 bins), a chromosome
# shorter than one bin (chr3) and a small last one (chrM). Genome 37 558 bp.
CHROMSIZES = [("chr1", 12345), ("chr2", 9871), ("chr3", 7), ("chr4", 15002), ("chrM", 333)]
GENOME = 37558
R0, TILE, ROWS = 10, 256, 7
RESOLUTIONS = [160, 80, 40, 20, 10]
ROW_INFOS = [{"name": "a", "color": "red"}, "b", {"id": 3}, "d", "e", "f", "g\u00e9"]
GROUPS = [[0, 1], [2, 3, 4], [5, 6]]  # the reference's own test groups


def make_base(seed=7):
    rng = np.random.default_rng(seed)
    base = {name: rng.uniform(-5, 10, size=(-(-length // R0), ROWS)).astype(np.float32) for name, length in CHROMSIZES}
    base["chr1"][300:303] = 70000.0  # tile 4.1: beyond float16 without NaN
    base["chr1"][600, 2] = 65504.0  # tile 4.2: exactly the float16 limit (strict comparison)
    base["chr2"][100:110] = np.nan  # NaN bins on chr2 (tiles 4.5, and every coarser tile over them)
    base["chr4"][50, 3] = np.nan  # one NaN element (row 3) for aggregation
    return base


BASE = make_base()
LEVELS = md.build_levels(BASE, CHROMSIZES, R0, TILE)


def tiles_per_zoom(resolution):
    return -(-GENOME // (TILE * resolution))


@pytest.fixture(scope="module")
def mv5(tmp_path_factory):
    path = tmp_path_factory.mktemp("mv") / "test.multires.mv5"
    return md.write_multivec(path, CHROMSIZES, LEVELS, TILE, row_infos=ROW_INFOS)


def fetch(path, ids, options=None):
    return generator_tiles(mv, path, ids, options=options)


def expected(z, x, levels=LEVELS, chromsizes=CHROMSIZES, tile=TILE, rows=ROWS, options=None):
    dense = md.expected_array(levels, chromsizes, tile, z, x, rows)
    if options:
        dense = md.expected_aggregate(dense, options["aggGroups"], options["aggFunc"])
    return md.encode(dense)


def all_ids(extra_past=2):
    return [f"u.{z}.{x}" for z, r in enumerate(RESOLUTIONS) for x in range(tiles_per_zoom(r) + extra_past)]


# --- the test data itself ---------------------------------------------------------------------


def test_file_levels_are_pairwise_sums_of_the_base(mv5):
    assert sorted(LEVELS) == [10, 20, 40, 80, 160]
    with h5py.File(mv5, "r") as f:
        for resolution, arrays in LEVELS.items():
            for name, length in CHROMSIZES:
                stored = f[f"resolutions/{resolution}/values/{name}"][()]
                assert stored.shape == (-(-length // resolution), ROWS)
                np.testing.assert_array_equal(stored, arrays[name])
    # away from a chromosome's end a coarse bin is the sum of the 2^k base bins under it
    chr1 = BASE["chr1"].astype(np.float64)
    for k, resolution in enumerate([20, 40, 80, 160], start=1):
        for j in (0, 5, 17):
            np.testing.assert_allclose(LEVELS[resolution]["chr1"][j], chr1[j * 2**k:(j + 1) * 2**k].sum(axis=0), rtol=1e-5)
    # odd length: the last bin is counted twice (chr1 has 1235 base bins)
    np.testing.assert_allclose(LEVELS[20]["chr1"][-1], 2 * chr1[-1], rtol=1e-6)
    assert md.next_level(np.array([[1.0], [2.0], [4.0]])).tolist() == [[3.0], [8.0]]


# --- tileset_info -------------------------------------------------------------------------------


def test_tileset_info_exact(mv5):
    info = mv.tileset_info(Source(str(mv5)))
    assert json.dumps(info) == json.dumps({
        "resolutions": RESOLUTIONS,
        "min_pos": [0],
        "max_pos": [GENOME],
        "tile_size": TILE,
        "shape": [TILE, ROWS],
        "row_infos": ROW_INFOS,
    })
    info["name"] = "changed"  # the service adds keys: the next answer must not see them
    assert "name" not in mv.tileset_info(Source(str(mv5)))


def test_tileset_info_row_infos_variants(tmp_path):
    labels = ['{"name": "x"}', "plain", "z"]
    legacy = md.write_multivec(tmp_path / "legacy.mv5", CHROMSIZES, LEVELS, TILE, legacy_row_infos=labels)
    info = mv.tileset_info(Source(str(legacy)))
    assert list(info) == ["resolutions", "min_pos", "max_pos", "tile_size", "shape", "row_infos"]
    assert info["row_infos"] == labels  # clodius 0.18: plain strings, not JSON-decoded

    both = md.write_multivec(tmp_path / "both.mv5", CHROMSIZES, LEVELS, TILE, row_infos=[1, 2], legacy_row_infos=labels)
    assert mv.tileset_info(Source(str(both)))["row_infos"] == labels  # the attribute wins (0.18)

    none = md.write_multivec(tmp_path / "none.mv5", CHROMSIZES, LEVELS, TILE)
    assert "row_infos" not in mv.tileset_info(Source(str(none)))

    text = md.write_multivec(tmp_path / "text.mv5", CHROMSIZES, LEVELS, TILE)
    with h5py.File(text, "r+") as f:
        f["resolutions/160"].attrs["row_infos"] = ["u", "v"]  # variable-length text, not bytes
    assert mv.tileset_info(Source(str(text)))["row_infos"] == ["u", "v"]


# --- tiles --------------------------------------------------------------------------------------


def test_every_tile_matches_the_reference(mv5):
    ids = all_ids()
    produced = fetch(mv5, ids)
    assert set(produced) == set(ids)
    for tile_id in ids:
        _, z, x = tile_id.split(".")
        assert produced[tile_id] == expected(int(z), int(x)), tile_id
        assert list(produced[tile_id]) == ["dense", "dtype", "shape"]
        assert produced[tile_id]["shape"] == [ROWS, TILE]


def test_zoom_0_by_hand(mv5):
    """r = 160: chr1 78 bins kept; chr2 62 -> 61 (drop); chr3 1 -> 0; chr4 94 -> 93; chrM 3 -> 2;
    then ceil(3402 / 160) = 22 zero columns past the genome end: 256 columns."""
    tile = fetch(mv5, ["u.0.0"])["u.0.0"]
    assert tile["dtype"] == "float32"  # NaN on chr2
    values = md.decode(tile)
    level = LEVELS[160]
    column = 0
    for name, kept in (("chr1", 78), ("chr2", 61), ("chr3", 0), ("chr4", 93), ("chrM", 2)):
        np.testing.assert_array_equal(values[:, column:column + kept], level[name][:kept].T)
        column += kept
    assert column == 234
    assert (values[:, 234:] == 0).all()


def test_drop_rule_keeps_binned(mv5):
    """Tile 4.8 = [20480, 23040) at r = 10. chr2 [8135, 9871): 175 bins, binned - data = 14 > 10
    -> 174; chr3: 1 bin, 17 > 10 -> 0; chr4 [0, 817): 82 bins, 20 > 10 -> 81; one zero column of
    padding. (Reducing ``binned`` after a drop, as bigWig in clodius 0.22.2 does, would give
    174 + 1 + 82 = 257.)"""
    values = md.decode(fetch(mv5, ["u.4.8"])["u.4.8"])
    level = LEVELS[10]
    np.testing.assert_array_equal(values[:, :174], level["chr2"][813:987].T)
    np.testing.assert_array_equal(values[:, 174:255], level["chr4"][0:81].T)
    assert (values[:, 255] == 0).all()


def test_last_tile_and_past_the_genome(mv5):
    """Tile 4.14 = [35840, 38400): chr4 140 -> 139 bins, chrM 34 -> 33, 85 zero rows; 257 cut to
    256. Tiles 4.15 and later are all zeros, float16 (not NaN)."""
    tile = fetch(mv5, ["u.4.14"])["u.4.14"]
    values = md.decode(tile)
    np.testing.assert_array_equal(values[:, :139], LEVELS[10]["chr4"][1361:1500].T.astype(np.float16))
    np.testing.assert_array_equal(values[:, 139:172], LEVELS[10]["chrM"][0:33].T.astype(np.float16))
    assert (values[:, 172:] == 0).all()
    zeros = base64.b64encode(bytes(2 * ROWS * TILE)).decode()
    for tile_id in ("u.4.15", "u.4.40", "u.0.1", "u.2.999999999999"):
        assert fetch(mv5, [tile_id])[tile_id] == {"dense": zeros, "dtype": "float16", "shape": [ROWS, TILE]}


def test_float16_or_float32(mv5):
    produced = fetch(mv5, ["u.4.0", "u.4.1", "u.4.2", "u.4.5", "u.3.0"])
    assert produced["u.4.0"]["dtype"] == "float16"  # small finite values
    assert produced["u.4.1"]["dtype"] == "float32"  # 70000 > 65504
    assert produced["u.4.2"]["dtype"] == "float32"  # 65504 is not < 65504
    assert produced["u.4.5"]["dtype"] == "float32"  # NaN bins of chr2
    assert produced["u.3.0"]["dtype"] == "float32"  # 70000 summed into r = 20 as well
    assert np.isnan(md.decode(produced["u.4.5"])).any()
    assert len(produced["u.4.0"]["dense"]) == 4 * -(-ROWS * TILE * 2 // 3)
    assert len(produced["u.4.5"]["dense"]) == 4 * -(-ROWS * TILE * 4 // 3)


def test_zoom_beyond_the_deepest_is_an_error_for_that_tile_only(mv5):
    produced = fetch(mv5, ["u.5.0", "u.40.3", "u.4.0"])
    for tile_id in ("u.5.0", "u.40.3"):
        assert list(produced[tile_id]) == ["error"]
        assert "zoom level" in produced[tile_id]["error"] and "(4)" in produced[tile_id]["error"]
    assert produced["u.4.0"] == expected(4, 0)


def test_chromosome_missing_from_a_resolution_is_nan(tmp_path):
    path = md.write_multivec(tmp_path / "gap.mv5", CHROMSIZES, LEVELS, TILE, omit={(r, "chrM") for r in RESOLUTIONS})
    holed = {r: dict(arrays, chrM=np.full_like(arrays["chrM"], np.nan)) for r, arrays in LEVELS.items()}
    for tile_id in ("u.4.14", "u.0.0", "u.4.0"):
        _, z, x = tile_id.split(".")
        assert fetch(path, [tile_id])[tile_id] == expected(int(z), int(x), levels=holed)


# --- aggregation ----------------------------------------------------------------------------------


@pytest.mark.parametrize("func", ["sum", "mean", "median", "std", "var", "max", "min"])
def test_aggregation_matches_the_reference(mv5, func):
    options = {"aggGroups": [[0, 1], [2, 3, 4], 5, [6, 3, 0, 1, 2, 4, 5, 6, 0]], "aggFunc": func}
    ids = all_ids(extra_past=1)
    produced = fetch(mv5, ids, options)
    for tile_id in ids:
        _, z, x = tile_id.split(".")
        assert produced[tile_id] == expected(int(z), int(x), options=options), (func, tile_id)
        assert produced[tile_id]["shape"] == [4, TILE]


def test_aggregation_reference_example_and_nan(mv5):
    options = {"aggGroups": GROUPS, "aggFunc": "sum"}
    tile = fetch(mv5, ["u.4.0"], options)["u.4.0"]
    assert tile["shape"] == [3, 256] and tile["dtype"] == "float16"
    values = md.decode(tile)
    assert values.size == 768
    raw = LEVELS[10]["chr1"][:256].astype(np.float64)
    independent = np.array([raw[:, g].sum(axis=1) for g in GROUPS])
    np.testing.assert_allclose(values, independent, rtol=1e-3, atol=1e-2)

    # chr4 bin 50 lies in column 174 + 50 of tile 4.8; its row 3 is NaN
    values = md.decode(fetch(mv5, ["u.4.8"], {"aggGroups": [[2, 3], 4, [3]], "aggFunc": "max"})["u.4.8"])
    assert np.isnan(values[0, 224]) and np.isnan(values[2, 224]) and not np.isnan(values[1]).any()
    assert np.isnan(values).sum() == 2


def test_aggregation_runs_in_float64_where_the_reference_does(tmp_path):
    """A genome of exactly one tile (16 bins of 10 bp): the empty piece past the genome end makes
    the reference's array float64, so a float32 mean would differ."""
    chromsizes = [("a", 100), ("b", 60)]
    rng = np.random.default_rng(3)
    base = {n: rng.uniform(70000, 90000, size=(l // 10, 3)).astype(np.float32) for n, l in chromsizes}
    levels = md.build_levels(base, chromsizes, 10, 16)
    path = md.write_multivec(tmp_path / "exact.mv5", chromsizes, levels, 16)
    assert md.expected_array(levels, chromsizes, 16, 0, 0, 3).dtype == np.float64
    differs = False
    for func in ("mean", "std", "var", "sum", "median"):
        options = {"aggGroups": [[0, 1, 2], [1, 2]], "aggFunc": func}
        tile = fetch(path, ["u.0.0"], options)["u.0.0"]
        assert tile == expected(0, 0, levels, chromsizes, 16, 3, options)
        as_float32 = md.expected_aggregate(md.expected_array(levels, chromsizes, 16, 0, 0, 3).astype(np.float32), options["aggGroups"], func)
        differs |= md.encode(as_float32) != tile
    assert differs  # the test data does tell float32 from float64 aggregation


def test_aggregation_bad_row_index_is_a_per_tile_error(mv5):
    produced = fetch(mv5, ["u.4.0", "u.9.0"], {"aggGroups": [[0, 1], 7], "aggFunc": "sum"})
    assert "row index 7" in produced["u.4.0"]["error"] and "7 rows" in produced["u.4.0"]["error"]
    assert "zoom level" in produced["u.9.0"]["error"]
    produced = fetch(mv5, ["u.4.0"], {"aggGroups": [1.0, [2]], "aggFunc": "min"})  # JSON 1.0 is an integer
    assert produced["u.4.0"] == expected(4, 0, options={"aggGroups": [1, [2]], "aggFunc": "min"})
    # negative indexes count from the end, as numpy indexing in the reference (our POST schema
    # refuses them; the reference's schema does not)
    produced = fetch(mv5, ["u.4.0"], {"aggGroups": [[-1, 0], -7], "aggFunc": "sum"})
    assert produced["u.4.0"] == expected(4, 0, options={"aggGroups": [[-1, 0], -7], "aggFunc": "sum"})
    assert "row index -8" in fetch(mv5, ["u.4.0"], {"aggGroups": [-8], "aggFunc": "sum"})["u.4.0"]["error"]


# The reference itself, when a Python with clodius 0.20.4 is at hand: clodius builds the tile,
# then the steps of higlass-server's 1-D tile view (aggregation, float16 choice, encoding).
CLODIUS_SCRIPT = """
import base64, json, sys
import numpy as np
import clodius.tiles.multivec as ctmu
path, ids, all_options = json.loads(sys.argv[1])
reduce = {"sum": np.sum, "mean": np.mean, "median": np.median, "std": np.std, "var": np.var,
          "max": np.amax, "min": np.amin}
answers = []
for options in all_options:
    tiles = {}
    for tile_id in ids:
        dense = ctmu.get_single_tile(path, [int(p) for p in tile_id.split(".")[1:3]])
        if options:
            groups = [g if type(g) == list else [g] for g in options["aggGroups"]]
            dense = np.array([reduce[options["aggFunc"]](dense[g], axis=0) for g in groups])
        flat = dense.reshape(-1)
        high, low = (max(flat), min(flat)) if len(dense) else (0, 0)
        half = not any(np.isnan(v) for v in flat) and -65504 < low < 65504 and -65504 < high < 65504
        dtype = "float16" if half else "float32"
        tiles[tile_id] = json.dumps({"dense": base64.b64encode(flat.astype(dtype)).decode("utf-8"),
                                     "dtype": dtype, "shape": dense.shape})
    answers.append(tiles)
print(json.dumps([json.dumps(ctmu.tileset_info(path)), answers]))
"""


@needs_clodius
def test_byte_for_byte_against_clodius(tmp_path):
    path = md.write_multivec(tmp_path / "clodius.mv5", CHROMSIZES, LEVELS, TILE, row_infos=ROW_INFOS)
    ids = all_ids(extra_past=1)
    all_options = [None] + [{"aggGroups": [[0, 1], 2, [6, 3, 0, 1, 2, 4, 5, 6, 0]], "aggFunc": f} for f in md.REDUCTIONS]
    info, reference = run_clodius(CLODIUS_SCRIPT, str(path), ids, all_options)
    assert json.dumps(mv.tileset_info(Source(str(path)))) == info
    for options, tiles in zip(all_options, reference):
        ours = fetch(path, ids, options)
        assert {i: json.dumps(t) for i, t in ours.items()} == tiles, options


# --- chromosome sizes, validation, the handle cache ---------------------------------------------


def test_chromsizes(mv5):
    assert mv.chromsizes(Source(str(mv5))) == CHROMSIZES
    assert get("multivec") is mv.GENERATOR and mv.GENERATOR.dimensions == 1


def test_validate_accepts_the_layout(mv5):
    mv.validate(str(mv5))


def test_unexpected_metadata_errors_are_one_line_and_close_the_file(mv5, tmp_path, monkeypatch):
    path = tmp_path / "odd.mv5"
    path.write_bytes(mv5.read_bytes())
    assert failed_metadata_read(monkeypatch, mv.validate, mv.MultivecFile, "_read_metadata", path) == \
        "unreadable multivec metadata: odd content in odd.mv5 second line"


def _layout(f, rows=(3, 3), tile_size=256):
    f.create_group("info").attrs["tile-size"] = tile_size
    f["chroms/name"] = np.array([b"c1", b"c2"])
    f["chroms/length"] = np.array([100, 50])
    for r, n in ((10, rows[0]), (20, rows[1])):
        f[f"resolutions/{r}/values/c1"] = np.zeros((100 // r, n), dtype="f4")
        f[f"resolutions/{r}/values/c2"] = np.zeros((50 // r, n), dtype="f4")


@pytest.mark.parametrize(
    "build, reason",
    [
        (None, "not an HDF5 file"),
        (lambda f: f.create_group("stuff"), "no /info, /chroms, /resolutions groups"),
        (lambda f: (_layout(f), f["info"].attrs.__delitem__("tile-size")), "'tile-size'"),
        (lambda f: _layout(f, tile_size=0), "must be positive"),
        (lambda f: (_layout(f), f.__delitem__("chroms/length")), "'name' and 'length'"),
        (lambda f: (_layout(f), f["resolutions"].create_group("big")), "not a resolution"),
        (lambda f: _layout(f, rows=(3, 4)), "expected (bins, 4)"),  # rows: from the coarsest
        (lambda f: (_layout(f), f.__delitem__("resolutions/20/values/c2"), f.__delitem__("resolutions/20/values/c1")),
         "none of the chromosomes"),
        (lambda f: (_layout(f), f.__delitem__("resolutions/20/values/c1"),
                    f.__setitem__("resolutions/20/values/c1", np.zeros(5))), "2-D"),
    ],
)
def test_validate_refuses(tmp_path, build, reason):
    path = tmp_path / "bad.mv5"
    if build is None:
        path.write_text("chr1\t1000\n")
    else:
        write_hdf5(path, build)
    with pytest.raises(GeneratorError) as info:
        mv.validate(str(path))
    assert reason in str(info.value)
    assert "\n" not in str(info.value)


def test_file_is_opened_once_and_reopened_when_replaced(tmp_path):
    path = md.write_multivec(tmp_path / "cache.mv5", CHROMSIZES, LEVELS, TILE)
    first = mv.open_multivec(str(path))
    fetch(path, ["u.0.0"])
    mv.tileset_info(Source(str(path)))
    assert mv.open_multivec(str(path)) is first
    rows = {name: np.ones((-(-length // 160), 2), dtype="f4") for name, length in CHROMSIZES}
    os.replace(md.write_multivec(tmp_path / "new.mv5", CHROMSIZES, {160: rows}, TILE), path)
    assert mv.open_multivec(str(path)) is not first
    assert mv.tileset_info(Source(str(path)))["shape"] == [TILE, 2]


def test_file_changed_in_place_is_read_afresh(tmp_path, monkeypatch):
    """Another process rewrites row_infos in place (possible without HDF5 file locking): the
    cached handle is closed and the file reopened, not read through stale HDF5 metadata."""
    monkeypatch.setenv("HDF5_USE_FILE_LOCKING", "FALSE")
    path = md.write_multivec(tmp_path / "inplace.mv5", CHROMSIZES, LEVELS, TILE, row_infos=["old"])
    assert mv.tileset_info(Source(str(path)))["row_infos"] == ["old"]
    edit = ("import h5py, json, sys\n"
            "with h5py.File(sys.argv[1], 'r+') as f:\n"
            "    del f['info/row_infos']\n"
            "    f['info'].create_dataset('row_infos', data=json.dumps(['new', 'rows']))\n")
    subprocess.run([sys.executable, "-c", edit, str(path)], check=True, capture_output=True)
    assert mv.tileset_info(Source(str(path)))["row_infos"] == ["new", "rows"]


# --- through the HTTP API -----------------------------------------------------------------------


@pytest.fixture
def mv_tileset(mv5, db):
    return ingest_tileset(datafile=str(mv5), filetype="multivec", datatype="multivec", coordSystem="hgT", uid="mv",
                          name="My multivec")


def test_http_tileset_info(anon_client, mv_tileset):
    response = anon_client.get("/api/v1/tileset_info/?d=mv")
    assert response.status_code == 200
    assert response.content == json.dumps({"mv": {
        "resolutions": RESOLUTIONS, "min_pos": [0], "max_pos": [GENOME], "tile_size": TILE, "shape": [TILE, ROWS],
        "row_infos": ROW_INFOS, "name": "My multivec", "datatype": "multivec", "coordSystem": "hgT",
        "coordSystem2": "",
    }}).encode()


def test_http_get_tiles(anon_client, mv_tileset):
    response = anon_client.get("/api/v1/tiles/?d=mv.0.0&d=mv.4.8&d=mv.4.15&d=mv.5.0")
    assert response.status_code == 200
    tiles = json.loads(response.content)
    assert tiles["mv.0.0"] == expected(0, 0) and tiles["mv.4.8"] == expected(4, 8) and tiles["mv.4.15"] == expected(4, 15)
    assert "zoom level" in tiles["mv.5.0"]["error"]
    # the JSON text is Python's json.dumps of the tiles, as the reference writes it
    assert json.dumps(expected(0, 0)) in response.content.decode()


def test_http_post_aggregation(anon_client, mv_tileset, make_tileset):
    make_tileset("cs")  # another tileset in the same body: options apply per tileset
    body = [
        {"tilesetUid": "mv", "tileIds": ["4.0", "4.1", "0.0"], "options": {"aggFunc": "sum", "aggGroups": GROUPS}},
        {"tilesetUid": "cs", "tileIds": ["0.0"]},
    ]
    response = anon_client.post("/api/v1/tiles/", body, format="json")
    assert response.status_code == 200
    tiles = response.json()
    for tile_id, (z, x) in (("mv.4.0", (4, 0)), ("mv.4.1", (4, 1)), ("mv.0.0", (0, 0))):
        assert tiles[tile_id] == expected(z, x, options={"aggGroups": GROUPS, "aggFunc": "sum"})
        assert tiles[tile_id]["shape"] == [3, 256]
    assert "error" in tiles["cs.0.0"]

    seed_example = [{"tilesetUid": "mv", "tileIds": ["4.0", "4.1"],
                     "options": {"aggFunc": "mean", "aggGroups": [[1, 2, 3], [0, 4, 6, 5]]}}]
    tiles = anon_client.post("/api/v1/tiles/", seed_example, format="json").json()
    assert set(tiles) == {"mv.4.0", "mv.4.1"}
    assert [tiles[t]["shape"] for t in ("mv.4.0", "mv.4.1")] == [[2, 256], [2, 256]]
    assert tiles["mv.4.0"] == expected(4, 0, options=seed_example[0]["options"])

    plain = anon_client.post("/api/v1/tiles/", [{"tilesetUid": "mv", "tileIds": ["4.0"]}], format="json").json()
    assert plain["mv.4.0"] == expected(4, 0)

    bad_index = [{"tilesetUid": "mv", "tileIds": ["4.0"], "options": {"aggFunc": "max", "aggGroups": [[0, 11]]}}]
    answer = anon_client.post("/api/v1/tiles/", bad_index, format="json")
    assert answer.status_code == 200 and "row index 11" in answer.json()["mv.4.0"]["error"]


@pytest.mark.parametrize("options", [
    {"aggFunc": "avg", "aggGroups": [[0]]},
    {"aggFunc": "sum", "aggGroups": [["0"]]},
    {"aggFunc": "sum"},
])
def test_http_post_bad_body_is_400(anon_client, mv_tileset, options):
    body = [{"tilesetUid": "mv", "tileIds": ["4.0"], "options": options}]
    response = anon_client.post("/api/v1/tiles/", body, format="json")
    assert response.status_code == 400
    assert response.json()["error"].startswith("Invalid request body: ")


def test_http_chrom_sizes(anon_client, mv_tileset):
    response = anon_client.get("/api/v1/chrom-sizes/?id=mv&type=json")
    assert response.status_code == 200
    assert list(response.json().items()) == [(name, {"size": length}) for name, length in CHROMSIZES]
    tsv = anon_client.get("/api/v1/chrom-sizes/?id=mv")
    assert tsv.content.decode() == "".join(f"{name}\t{length}\n" for name, length in CHROMSIZES)


def test_ingest_refuses_a_non_multivec_file(db, tmp_path, chromsizes_file):
    with pytest.raises(IngestError) as info:
        ingest_tileset(datafile=str(chromsizes_file), filetype="multivec", datatype="multivec", uid="nope")
    assert "does not open as multivec: not an HDF5 file" in str(info.value)
    bare = write_hdf5(tmp_path / "bare.h5", lambda f: f.create_group("chroms"))
    with pytest.raises(IngestError) as info:
        ingest_tileset(datafile=str(bare), filetype="multivec", datatype="multivec", uid="nope")
    assert "no /info, /resolutions groups" in str(info.value)


def test_missing_file_is_a_one_line_error(tmp_path):
    """A tileset whose file has gone: the generator says so (no traceback in the log, no generic
    "unable to read" message)."""
    source = Source(str(tmp_path / "gone.multires.mv5"))
    with pytest.raises(GeneratorError, match="^the file does not exist$"):
        get("multivec").tileset_info(source)
    with pytest.raises(GeneratorError, match="^the file does not exist$"):
        get("multivec").tiles(source, [], None)
