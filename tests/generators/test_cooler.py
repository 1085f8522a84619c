"""The cooler generator: tileset_info and tiles of .mcool, legacy multi-zoom and single-resolution
.cool files, checked against a slow, independent reading of the tile rules (docs/filetypes.md)."""

import base64
import json
import math
import os
import subprocess
from collections import defaultdict

import h5py
import numpy as np
import pytest

import cooler
from tests.builders import cooler_data as data
from tests.builders.helpers import uploads
from tilesets.generators import GeneratorError, Source, TileRequest, get
from tilesets.formats import hdf5
from tilesets.generators import cooler as gen
from tilesets.generators import cooler_file, cooler_tiles
from tilesets.ingest import IngestError, ingest_tileset
from tilesets.models import Tileset

TILE_KEYS = ["min_value", "max_value", "dense", "size", "dtype"]
CHROMSIZES = [[name, length] for name, length in data.CHROMS]
L = data.GENOME
ZOOM_RESOLUTIONS = sorted(data.RESOLUTIONS, reverse=True)  # zoom 0 = coarsest


# --- test files ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cooler")
    mcool = data.make_mcool(folder / "test.mcool", folder)
    raw = data.make_unbalanced(folder / "raw.mcool", mcool)
    square = data.make_square(folder / "square.mcool", mcool)
    single = data.make_base(folder / "single.cool", seed=9)
    legacy = data.make_legacy(folder / "legacy.cool", mcool)
    text = folder / "notes.cool"
    text.write_text("chr1\t1000\nthis is not a cooler\n")
    plain_h5 = folder / "plain.h5"
    with h5py.File(plain_h5, "w") as f:
        f.create_dataset("values", data=np.arange(10))
    broken = folder / "broken.mcool"
    with h5py.File(broken, "w") as f:
        f.create_group("resolutions/1000/chroms")
    return {
        "mcool": mcool, "raw": raw, "square": square, "single": single, "legacy": legacy,
        "text": text, "plain_h5": plain_h5, "broken": broken,
    }


# --- an independent reference: the tile rules read literally, pixel by pixel -----------------


class Reference:
    """One cooler resolution read with the cooler API; tiles made by looping over the pixels."""

    def __init__(self, uri, resolution=None):
        clr = cooler.Cooler(uri)
        self.res = resolution or clr.binsize
        self.binsize = clr.binsize
        self.chroms = [(name, int(length)) for name, length in clr.chromsizes.items()]
        self.offset, running = {}, 0
        for name, length in self.chroms:
            self.offset[name] = running
            running += length
        self.length = running
        bins = clr.bins()[:]
        self.nbins = len(bins)
        self.first_bin = {}
        for index, name in enumerate(bins["chrom"]):
            self.first_bin.setdefault(name, index)
        self.gstart = [self.offset[c] + int(s) for c, s in zip(bins["chrom"], bins["start"])]
        self.vectors = {
            name: [float(v) for v in bins[name]] for name in ("weight", "KR", "VC", "VC_SQRT") if name in bins.columns
        }
        self.rows = defaultdict(list)  # bin1 -> [(bin2, count)] in pixel-table order
        pixels = clr.pixels()[:]
        for b1, b2, count in zip(pixels["bin1_id"], pixels["bin2_id"], pixels["count"]):
            self.rows[int(b1)].append((int(b2), int(count)))
        self.memo = {}
        self.overwrites = 0  # cells written twice (chromosome boundaries)
        self.changed = 0  # ... with a different value the second time

    def bin_containing(self, pos):
        if pos >= self.length:
            return self.nbins
        for name, length in self.chroms:
            if self.offset[name] <= pos < self.offset[name] + length:
                return self.first_bin[name] + (pos - self.offset[name]) // self.binsize

    def transform(self, name):
        """(vector, multiply?) or (None, None) for raw counts; KeyError if the column is missing."""
        if name == "weight" or (name == "default" and "weight" in self.vectors):
            return self.vectors["weight"], True
        if name in ("KR", "VC", "VC_SQRT"):
            return self.vectors[name], False
        return None, None

    def tile(self, x, y, transform="default"):
        """The expected tile, computed once per position and transform."""
        key = (x, y, transform)
        if key not in self.memo:
            self.memo[key] = self.compute(x, y, transform)
        return self.memo[key]

    def compute(self, x, y, transform="default"):
        res, width = self.res, 256 * self.res
        xs, xe, ys, ye = x * width, (x + 1) * width, y * width, (y + 1) * width
        i0, i1 = self.bin_containing(xs), self.bin_containing(xe - 1)
        j0, j1 = self.bin_containing(ys), self.bin_containing(ye - 1)
        out = np.zeros((256, 256), dtype=np.float32)
        empty = i0 >= self.nbins or j0 >= self.nbins
        vector = None
        if not empty:
            vector, multiply = self.transform(transform)
            i1, j1 = min(i1, self.nbins - 1), min(j1, self.nbins - 1)
            written = {}
            for b1 in range(i0, i1 + 1):
                for b2, count in self.rows.get(b1, []):
                    if not j0 <= b2 <= j1:
                        continue
                    g1, g2 = self.gstart[b1], self.gstart[b2]
                    if not (xs <= g1 < xe and ys <= g2 < ye):
                        continue
                    col, row = (g1 - xs) // res, (g2 - ys) // res
                    if vector is None:
                        value = count
                    elif multiply:
                        value = count * vector[b1] * vector[b2]
                    else:
                        value = count / vector[b1] / vector[b2]
                    if math.isnan(value):
                        value = 0.0
                    if (row, col) in written:
                        self.overwrites += 1
                        self.changed += written[(row, col)] != value
                    written[(row, col)] = value
                    out[row, col] = value
        if empty or vector is not None:
            if vector is not None:
                for b in range(i0, i1 + 1):
                    if math.isnan(vector[b]) and xs <= self.gstart[b] < xe:
                        out[:, (self.gstart[b] - xs) // res] = np.nan
                for b in range(j0, j1 + 1):
                    if math.isnan(vector[b]) and ys <= self.gstart[b] < ye:
                        out[(self.gstart[b] - ys) // res, :] = np.nan
            for p in range(self.length, xe, res):
                if p >= xs:
                    out[:, (p - xs) // res] = np.nan
            for p in range(self.length, ye, res):
                if p >= ys:
                    out[(p - ys) // res, :] = np.nan
        return out


def assert_tile(tile, expected):
    """The tile is exactly the dense encoding of the expected 256×256 float32 array."""
    assert list(tile) == TILE_KEYS and tile["size"] == 1
    flat = expected.reshape(-1)
    numbers = flat[~np.isnan(flat)]
    if numbers.size:
        low, high = float(numbers.min()), float(numbers.max())
        assert type(tile["min_value"]) is float and type(tile["max_value"]) is float
        assert (tile["min_value"], tile["max_value"]) == (low, high)
    else:
        assert tile["min_value"] == tile["max_value"] == "NaN"
    half = numbers.size == flat.size and -65504 < low and high < 65504
    assert tile["dtype"] == ("float16" if half else "float32")
    assert tile["dense"] == base64.b64encode(flat.astype("<f2" if half else "<f4").tobytes()).decode()
    assert len(tile["dense"]) == (174764 if half else 349528)


def request(tile_id):
    uid, zoom, x, y, *extra = tile_id.split(".")
    return TileRequest(tile_id, uid, int(zoom), (int(x), int(y)), tuple(extra))


def make(path, *tile_ids):
    return gen.tiles(Source(str(path)), [request(t) for t in tile_ids], None)


def one(path, tile_id):
    return make(path, tile_id)[tile_id]


def in_batch(ref, x, y, transform):
    """Expected tile when requested with its in-range neighbours: the reference reads adjacent
    tiles as one rectangle, so a raw-count tile starting past the genome end gets no NaN marking."""
    width = 256 * ref.res
    raw = transform not in ("default", "weight", "KR", "VC", "VC_SQRT") or (
        transform == "default" and "weight" not in ref.vectors
    )
    if raw and (x * width >= ref.length or y * width >= ref.length):
        return np.zeros((256, 256), np.float32)
    return ref.tile(x, y, transform)


def positions(resolution):
    """Every tile position of a zoom level, plus one row and column past the genome end."""
    n = math.ceil(L / (256 * resolution))
    return [(x, y) for x in range(n + 1) for y in range(n + 1)]


def suffix(transform):
    return f".{transform}" if transform else ""


# --- tileset_info ----------------------------------------------------------------------------


def test_registered():
    generator = get("cooler")
    assert generator is gen.GENERATOR and generator.dimensions == 2 and generator.chromsizes


def test_tileset_info_multires_exact(files):
    info = gen.tileset_info(Source(str(files["mcool"])))
    assert json.dumps(info) == json.dumps({
        "resolutions": [1000, 2000, 4000, 8000],
        "transforms": [
            {"name": "ICE", "value": "weight"}, {"name": "KR", "value": "KR"}, {"name": "VC", "value": "VC"},
        ],  # VC_SQRT exists only at 4 and 8 kb: not listed
        "max_pos": [L, L],
        "min_pos": [1, 1],
        "chromsizes": CHROMSIZES,
    })
    assert all(type(v) is int for v in info["resolutions"] + info["max_pos"] + [n for _, n in info["chromsizes"]])


def test_tileset_info_is_a_fresh_object(files):
    source = Source(str(files["mcool"]))
    first = gen.tileset_info(source)
    first["name"] = "changed"
    first["chromsizes"].append(["x", 1])
    assert "name" not in gen.tileset_info(source) and len(gen.tileset_info(source)["chromsizes"]) == 5


def test_tileset_info_raw_and_square(files):
    raw = gen.tileset_info(Source(str(files["raw"])))
    assert raw["transforms"] == [] and "mirror_tiles" not in raw
    square = gen.tileset_info(Source(str(files["square"])))
    assert list(square) == ["resolutions", "transforms", "max_pos", "min_pos", "chromsizes", "mirror_tiles"]
    assert square["mirror_tiles"] == "false"


def test_tileset_info_legacy_exact(files):
    info = gen.tileset_info(Source(str(files["legacy"])))
    assert json.dumps(info) == json.dumps({
        "min_pos": [0, 0],
        "max_pos": [L, L],
        "max_zoom": 3,
        "max_width": 1000 * 256 * 2**3,
        "bins_per_dimension": 256,
        # union over groups 0..2 in order of first appearance (group 0 has only KR)
        "transforms": [
            {"name": "KR", "value": "KR"}, {"name": "ICE", "value": "weight"}, {"name": "VC", "value": "VC"},
            {"name": "VC_SQRT", "value": "VC_SQRT"},
        ],
        "chromsizes": CHROMSIZES,
    })


def test_tileset_info_legacy_not_symmetric(files, tmp_path):
    path = tmp_path / "asym.cool"
    path.write_bytes(files["legacy"].read_bytes())
    with h5py.File(path, "r+") as f:
        f["0"].attrs["symmetric"] = False
    assert gen.tileset_info(Source(str(path)))["mirror_tiles"] == "false"


def test_tileset_info_single_resolution(files):
    info = gen.tileset_info(Source(str(files["single"])))
    assert json.dumps(info) == json.dumps({
        "resolutions": [1000],
        "transforms": [{"name": "ICE", "value": "weight"}, {"name": "KR", "value": "KR"}],
        "max_pos": [L, L],
        "min_pos": [1, 1],
        "chromsizes": CHROMSIZES,
    })


def test_chromsizes(files):
    for name in ("mcool", "legacy", "single"):
        assert gen.chromsizes(Source(str(files[name]))) == [tuple(row) for row in CHROMSIZES]


# --- validation ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["mcool", "raw", "legacy", "single", "square"])
def test_validate_accepts_coolers(files, name):
    gen.validate(str(files[name]), None)


@pytest.mark.parametrize(
    "name, reason",
    [
        ("text", "not an HDF5 file"),
        ("plain_h5", "without cooler data"),
        ("broken", "resolutions/1000 is not a cooler"),
    ],
)
def test_validate_refuses_other_files(files, name, reason):
    with pytest.raises(GeneratorError, match=reason) as caught:
        gen.validate(str(files[name]), None)
    assert "\n" not in str(caught.value) and str(files[name]) not in str(caught.value)
    with pytest.raises(GeneratorError):
        gen.tileset_info(Source(str(files[name])))


def test_validate_refuses_a_missing_max_zoom_group(files, tmp_path):
    path = tmp_path / "short.cool"
    path.write_bytes(files["legacy"].read_bytes())
    with h5py.File(path, "r+") as f:
        f.attrs["max-zoom"] = 5
    with pytest.raises(GeneratorError, match="group 4 is not a cooler"):
        gen.validate(str(path), None)


# --- tiles against the reference reading -------------------------------------------------------


@pytest.fixture(scope="module")
def references(files):
    refs = {}
    for zoom, resolution in enumerate(ZOOM_RESOLUTIONS):
        refs[("mcool", zoom)] = Reference(f"{files['mcool']}::resolutions/{resolution}")
        refs[("raw", zoom)] = Reference(f"{files['raw']}::resolutions/{resolution}")
        refs[("legacy", zoom)] = Reference(f"{files['legacy']}::{zoom}", resolution)
    refs[("single", 0)] = Reference(str(files["single"]))
    return refs


@pytest.mark.parametrize("zoom", range(4))
@pytest.mark.parametrize("transform", ["", "none", "VC"])
def test_every_tile_alone_matches_the_reference(files, references, zoom, transform):
    ref = references[("mcool", zoom)]
    for x, y in positions(ref.res):
        tile_id = f"u.{zoom}.{x}.{y}{suffix(transform)}"
        assert_tile(one(files["mcool"], tile_id), ref.tile(x, y, transform or "default"))


def test_boundary_collisions_were_exercised(files, references):
    """The data puts two pixels into one cell at chromosome boundaries, with different values, so
    the "last pixel in table order wins" rule is really tested above and here."""
    ref = Reference(f"{files['mcool']}::resolutions/1000")
    for x, y in positions(ref.res):
        assert_tile(one(files["mcool"], f"u.3.{x}.{y}.weight"), ref.tile(x, y, "weight"))
    assert ref.overwrites > 10 and ref.changed > 10


@pytest.mark.parametrize("zoom", range(4))
def test_a_batch_matches_the_tiles_alone(files, references, zoom):
    """All tiles of a zoom level in one request (grouped reads). The reference reads a group of
    adjacent tiles as one rectangle: a raw-count tile past the genome end that shares a group with
    in-range tiles gets no NaN marking, i.e. zeros."""
    ref = references[("mcool", zoom)]
    ids = {}
    for x, y in positions(ref.res):
        for transform in ("", "none", "KR", "VC"):
            ids[f"u.{zoom}.{x}.{y}{suffix(transform)}"] = (x, y, transform or "default")
    answer = make(files["mcool"], *ids)
    assert set(answer) == set(ids)
    for tile_id, (x, y, transform) in ids.items():
        assert_tile(answer[tile_id], in_batch(ref, x, y, transform))


def test_grouping_of_past_end_raw_tiles(files):
    path = files["mcool"]
    nan = np.full((256, 256), np.nan, np.float32)
    zeros = np.zeros((256, 256), np.float32)
    assert_tile(one(path, "u.0.1.0.none"), nan)  # alone: nothing read → NaN marking
    assert_tile(make(path, "u.0.0.0.none", "u.0.1.0.none")["u.0.1.0.none"], zeros)  # grouped
    assert_tile(make(path, "u.0.0.0.KR", "u.0.1.0.none")["u.0.1.0.none"], nan)  # other transform
    assert_tile(make(path, "u.3.0.0.none", "u.3.5.0.none")["u.3.5.0.none"], nan)  # not adjacent
    chained = make(path, "u.3.3.3.none", "u.3.4.4.none", "u.3.5.5.none")  # corner (3, 3) is inside
    assert_tile(chained["u.3.5.5.none"], zeros)
    assert_tile(chained["u.3.4.4.none"], zeros)


@pytest.mark.parametrize("zoom", range(4))
def test_raw_file_default_is_counts(files, references, zoom):
    ref = references[("raw", zoom)]
    answer = make(files["raw"], *(f"u.{zoom}.{x}.{y}" for x, y in positions(ref.res)))
    for x, y in positions(ref.res):
        assert_tile(answer[f"u.{zoom}.{x}.{y}"], in_batch(ref, x, y, "default"))
    for x, y in positions(ref.res)[-3:]:  # alone, including tiles past the end (all NaN)
        assert_tile(one(files["raw"], f"u.{zoom}.{x}.{y}.foo"), ref.tile(x, y, "default"))


def test_legacy_tiles(files, references):
    for zoom in range(4):
        ref = references[("legacy", zoom)]
        transforms = ("KR", "weight", "none") if zoom == 2 else ("KR",)
        answer = make(files["legacy"], *(f"u.{zoom}.{x}.{y}.{t}" for x, y in positions(ref.res) for t in transforms))
        for x, y in positions(ref.res):
            for transform in transforms:
                assert_tile(answer[f"u.{zoom}.{x}.{y}.{transform}"], in_batch(ref, x, y, transform))
    assert make(files["legacy"], "u.4.0.0", "u.9.0.0") == {}
    # group 0 has no weight column: the default is raw counts there, "weight" is an error
    assert_tile(one(files["legacy"], "u.0.0.0"), references[("legacy", 0)].tile(0, 0, "none"))
    assert "bins/weight" in one(files["legacy"], "u.0.0.0.weight")["error"]


def test_single_resolution_tiles(files, references):
    ref = references[("single", 0)]
    for x, y in positions(1000):
        for transform in ("", "KR") if x == y else ("none",):
            assert_tile(one(files["single"], f"u.0.{x}.{y}{suffix(transform)}"), ref.tile(x, y, transform or "default"))
    assert make(files["single"], "u.1.0.0", "u.2.0.0") == {}


# --- specific cases ---------------------------------------------------------------------------


def test_float16_and_float32_choice(files):
    path = files["mcool"]
    raw = one(path, "u.0.0.0.none")  # holds the 70 000 count: no NaN but out of float16 range
    assert raw["dtype"] == "float32" and raw["max_value"] >= data.BIG_COUNT and raw["min_value"] == 0.0
    small = [one(path, f"u.3.{x}.{y}.none") for x in range(4) for y in range(x, 4)]
    assert any(t["dtype"] == "float16" for t in small)
    balanced = one(path, "u.3.0.0")  # NaN lines from NaN weights
    assert balanced["dtype"] == "float32" and isinstance(balanced["max_value"], float)
    below = one(path, "u.3.1.0.none")  # x > y: nothing stored below the diagonal
    assert (below["dtype"], below["min_value"], below["max_value"]) == ("float16", 0.0, 0.0)


def test_diagonal_tile_has_only_the_stored_triangle(files):
    tile = one(files["mcool"], "u.2.0.0.none")
    values = np.frombuffer(base64.b64decode(tile["dense"]), "<f4" if tile["dtype"] == "float32" else "<f2")
    matrix = values.reshape(256, 256).astype(np.float32)
    assert np.all(np.triu(matrix, 1) == 0) and np.tril(matrix).sum() > 0  # row (y) ≥ column (x)


def test_tiles_past_the_genome(files):
    path = files["mcool"]
    for tile_id in ("u.0.1.0", "u.0.0.1", "u.0.1.1", "u.0.1.1.none", "u.3.40.2.KR", f"u.0.{L}.0"):
        tile = one(path, tile_id)
        assert (tile["min_value"], tile["max_value"], tile["dtype"]) == ("NaN", "NaN", "float32"), tile_id
    # positions beyond max_pos are dropped, as the reference does
    assert make(path, f"u.0.{L + 1}.0", f"u.0.0.{L + 1}") == {}


def test_partial_tile_at_the_genome_end(files):
    tile_id = "u.3.3.3"  # 768 000 - 1 024 000: the genome ends at 877 970 → column/row 109 on are NaN
    values = np.frombuffer(base64.b64decode(one(files["mcool"], tile_id)["dense"]), "<f4").reshape(256, 256)
    assert np.isnan(values[:, 109:]).all() and np.isnan(values[109:, :]).all()
    raw = one(files["mcool"], tile_id + ".none")
    values = np.frombuffer(base64.b64decode(raw["dense"]), "<f4" if raw["dtype"] == "float32" else "<f2")
    assert not np.isnan(values).any()  # raw counts: zeros past the end


def test_zoom_levels_beyond_the_file_are_absent(files):
    path = files["mcool"]
    answer = make(path, "u.4.0.0", "u.5.0.0.KR", "u.0.0.0")
    assert list(answer) == ["u.0.0.0"]


def test_missing_transform_is_an_error_for_that_tile_only(files, references):
    path = files["mcool"]
    answer = make(path, "u.2.0.0.VC_SQRT", "u.2.0.1.VC_SQRT", "u.2.0.0.KR", "u.0.0.0.VC_SQRT", "u.2.9.9.VC_SQRT")
    assert set(answer["u.2.0.0.VC_SQRT"]) == {"error"} and "VC_SQRT" in answer["u.2.0.0.VC_SQRT"]["error"]
    assert set(answer["u.2.0.1.VC_SQRT"]) == {"error"}
    assert_tile(answer["u.2.0.0.KR"], references[("mcool", 2)].tile(0, 0, "KR"))
    vc_sqrt = Reference(f"{path}::resolutions/8000")
    assert_tile(answer["u.0.0.0.VC_SQRT"], vc_sqrt.tile(0, 0, "VC_SQRT"))  # present at 8 kb
    # a tile past the end reads nothing, so like the reference it needs no column: all NaN
    assert answer["u.2.9.9.VC_SQRT"]["min_value"] == "NaN"
    raw = make(files["raw"], "u.0.0.0.weight", "u.0.0.0.KR", "u.0.0.0")
    assert "error" in raw["u.0.0.0.weight"] and "error" in raw["u.0.0.0.KR"] and "dense" in raw["u.0.0.0"]


def test_ids_are_echoed_and_extra_fields_ignored(files):
    path = files["mcool"]
    answer = make(path, "u.1.0.0", "u.1.0.0.default", "u.1.0.0.weight", "u.1.0.0.KR.extra")
    assert answer["u.1.0.0"] == answer["u.1.0.0.default"] == answer["u.1.0.0.weight"]
    assert answer["u.1.0.0.KR.extra"] == one(path, "u.1.0.0.KR")


def test_unreadable_file_fails_the_batch(files, tmp_path):
    with pytest.raises(GeneratorError, match="not an HDF5 file"):
        make(files["text"], "u.0.0.0")
    with pytest.raises(GeneratorError, match="does not exist"):
        make(tmp_path / "gone.mcool", "u.0.0.0")


def test_replaced_file_is_reopened(files, tmp_path):
    path = tmp_path / "swap.mcool"
    path.write_bytes(files["mcool"].read_bytes())
    first = one(path, "u.0.0.0.none")
    path.write_bytes(files["single"].read_bytes())  # in place: same inode
    assert one(path, "u.0.0.0.none") == one(files["single"], "u.0.0.0.none") != first
    assert gen.tileset_info(Source(str(path)))["resolutions"] == [1000]


def test_small_read_blocks_give_the_same_tiles(files, monkeypatch):
    ids = [f"u.3.{x}.{y}{t}" for x in range(4) for y in range(4) for t in ("", ".none")]
    before = make(files["mcool"], *ids)
    monkeypatch.setattr(cooler_tiles, "READ_BLOCK", 7)
    monkeypatch.setattr(cooler_file.VECTORS, "max_vector_bytes", 0)  # read index and weights in slices too
    assert make(files["mcool"], *ids) == before


# --- through the HTTP API ----------------------------------------------------------------------


@pytest.fixture
def ingested(files, db):
    return ingest_tileset(
        datafile=str(files["mcool"]), filetype="cooler", datatype="matrix", coordSystem="hgT", uid="cool1",
    )


def test_api_tileset_info(anon_client, ingested):
    response = anon_client.get("/api/v1/tileset_info/?d=cool1")
    assert response.status_code == 200
    chromsizes = ", ".join(f'["{name}", {length}]' for name, length in data.CHROMS)
    assert response.content.decode() == (
        '{"cool1": {"resolutions": [1000, 2000, 4000, 8000], "transforms": [{"name": "ICE", "value": "weight"}, '
        '{"name": "KR", "value": "KR"}, {"name": "VC", "value": "VC"}], '
        f'"max_pos": [{L}, {L}], "min_pos": [1, 1], "chromsizes": [{chromsizes}], '
        '"name": "test.mcool", "datatype": "matrix", "coordSystem": "hgT", "coordSystem2": ""}}'
    )


def test_api_tiles(anon_client, ingested, references):
    ids = ["cool1.3.0.1", "cool1.3.0.1.none", "cool1.3.1.1.KR", "cool1.0.1.0", "cool1.4.0.0", "cool1.2.0.0.VC_SQRT"]
    response = anon_client.get("/api/v1/tiles/?" + "&".join(f"d={i}" for i in ids))
    assert response.status_code == 200
    answer = json.loads(response.content)
    assert set(answer) == set(ids) - {"cool1.4.0.0"}
    assert_tile(answer["cool1.3.0.1"], references[("mcool", 3)].tile(0, 1))
    assert_tile(answer["cool1.3.0.1.none"], references[("mcool", 3)].tile(0, 1, "none"))
    assert_tile(answer["cool1.3.1.1.KR"], references[("mcool", 3)].tile(1, 1, "KR"))
    assert answer["cool1.0.1.0"]["min_value"] == "NaN"
    assert list(answer["cool1.2.0.0.VC_SQRT"]) == ["error"]
    assert b'"min_value": "NaN"' in response.content  # the string, never a bare NaN token


def test_api_chrom_sizes(anon_client, ingested):
    response = anon_client.get("/api/v1/chrom-sizes/?id=cool1&type=json")
    assert response.status_code == 200
    assert list(response.json().items()) == [(name, {"size": length}) for name, length in data.CHROMS]
    tsv = anon_client.get("/api/v1/chrom-sizes/?id=cool1")
    assert tsv.content.decode() == "".join(f"{name}\t{length}\n" for name, length in data.CHROMS)


@pytest.mark.django_db
def test_ingest_refuses_non_coolers(files, media):
    for name in ("text", "plain_h5", "broken"):
        with pytest.raises(IngestError, match="does not open as cooler"):
            ingest_tileset(datafile=str(files[name]), filetype="cooler", datatype="matrix", coordSystem="hgT")
    assert uploads(media) == [] and not Tileset.objects.exists()


@pytest.mark.django_db
def test_upload_refuses_non_coolers(owner_client, files, media):
    with open(files["text"], "rb") as handle:
        response = owner_client.post(
            "/api/v1/tilesets/",
            {"datafile": handle, "filetype": "cooler", "datatype": "matrix", "coordSystem": "hgT"},
            format="multipart",
        )
    assert response.status_code == 400
    assert "does not open as cooler" in json.dumps(response.json())
    assert uploads(media) == [] and not Tileset.objects.exists()


@pytest.mark.django_db
def test_upload_accepts_an_mcool(owner_client, files, media):
    with open(files["mcool"], "rb") as handle:
        response = owner_client.post(
            "/api/v1/tilesets/",
            {"datafile": handle, "filetype": "cooler", "datatype": "matrix", "coordSystem": "hgT", "uid": "up"},
            format="multipart",
        )
    assert response.status_code == 201 and uploads(media) == ["test.mcool"]
    info = owner_client.get("/api/v1/tileset_info/?d=up").json()["up"]
    assert info["resolutions"] == data.RESOLUTIONS and info["name"] == "test.mcool"


def test_bins_read_from_the_file_when_bin_size_is_unknown(files, tmp_path):
    """Without a usable bin-size attribute the absolute bin starts are read from bins/start."""
    path = tmp_path / "nobinsize.mcool"
    path.write_bytes(files["mcool"].read_bytes())
    with h5py.File(path, "r+") as f:
        for name in f["resolutions"]:
            del f["resolutions"][name].attrs["bin-size"]
    ids = [f"u.{z}.{x}.{y}{t}" for z in (0, 3) for x in range(3) for y in range(3) for t in ("", ".none", ".KR")]
    assert make(path, *ids) == make(files["mcool"], *ids)
    assert gen._open(str(path)).level(3).gstart is not None


def test_array_cache_is_bounded():
    cache = hdf5.VectorCache(max_bytes=1000, max_vector_bytes=1000)._arrays
    for key in range(5):
        cache.get_or_load(key, lambda: np.zeros(50))  # 400 bytes each
    assert list(cache._items) == [3, 4] and cache.bytes == 800
    assert cache.get_or_load(3, lambda: pytest.fail("reloaded")) is cache._items[3]


# --- optional: byte-for-byte against clodius ------------------------------------------------

CLODIUS_SCRIPT = r"""
import json, sys
import clodius.tiles.cooler as c
path, batches = json.loads(sys.argv[1])
info = c.tileset_info(path)
print(json.dumps([info, [{i: json.dumps(t) for i, t in c.tiles(path, ids)} for ids in batches]]))
"""


@pytest.mark.skipif(not os.environ.get("CLODIUS_PYTHON"), reason="set CLODIUS_PYTHON to a Python with clodius 0.20.4")
@pytest.mark.parametrize("name", ["mcool", "legacy", "square"])
def test_byte_for_byte_against_clodius(files, name):
    """Requests the reference can answer (no zoom == number of levels, no missing column): single
    tiles, whole zoom levels in one batch (grouped reads), and mixed batches."""
    path = str(files[name])
    transforms = ["", ".none", ".KR"] if name == "legacy" else ["", ".none", ".weight", ".KR", ".VC"]
    batches = []
    for zoom, resolution in enumerate(ZOOM_RESOLUTIONS):
        grid = positions(resolution)
        for transform in transforms:
            batches.append([f"u.{zoom}.{x}.{y}{transform}" for x, y in grid])
        batches += [[f"u.{zoom}.{x}.{y}.none"] for x, y in grid[-3:]]  # alone past the end
    batches.append(["u.3.0.0", "u.3.1.1.none", "u.3.2.3.KR", "u.3.4.4.none", "u.2.0.1", "u.0.0.0.none"])
    run = subprocess.run(
        [os.environ["CLODIUS_PYTHON"], "-c", CLODIUS_SCRIPT, json.dumps([path, batches])],
        capture_output=True, text=True, check=True,
    )
    info, reference = json.loads(run.stdout)
    order = ["weight", "KR", "VC", "VC_SQRT"]
    if "resolutions" in info:  # the reference's order comes from a set
        info["transforms"].sort(key=lambda t: order.index(t["value"]))
    assert json.dumps(gen.tileset_info(Source(path))) == json.dumps(info)
    for ids, expected in zip(batches, reference):
        assert {i: json.dumps(t) for i, t in make(path, *ids).items()} == expected


@pytest.mark.parametrize("dtype, big", [(np.float64, np.inf), (np.float32, np.finfo(np.float32).max)])
def test_float_counts_follow_nan_to_num(tmp_path, dtype, big):
    """Float ``count`` columns (some tools write them) go through numpy's nan_to_num as in the
    reference: NaN → 0; ±inf → ±the largest value of the column's type, which for float64
    overflows to ±inf in the float32 tile and for float32 stays the largest float32."""
    import pandas as pd

    path = tmp_path / "float.cool"
    bins = pd.DataFrame({"chrom": ["chr1"] * 4, "start": [0, 10, 20, 30], "end": [10, 20, 30, 35]})
    pixels = pd.DataFrame({"bin1_id": [0, 0, 1, 2, 3], "bin2_id": [0, 2, 1, 3, 3],
                           "count": np.array([2.5, np.nan, np.inf, -np.inf, 4.0], dtype=dtype)})
    cooler.create_cooler(str(path), bins, pixels, dtypes={"count": dtype}, ordered=True)
    assert h5py.File(path, "r")["pixels/count"].dtype == dtype
    tile = one(path, "u.0.0.0.none")
    cells = np.frombuffer(base64.b64decode(tile["dense"]), dtype=np.float32).reshape(256, 256)
    assert tile["dtype"] == "float32" and tile["max_value"] == float(np.float32(big))
    # value at [row = bin2 cell, column = bin1 cell]
    assert cells[0, 0] == 2.5 and cells[2, 0] == 0 and cells[1, 1] == np.float32(big)
    assert cells[3, 2] == -np.float32(big) and cells[3, 3] == 4.0
    assert not cells[:, 4:].any() and not cells[4:, :].any()  # raw tiles: zeros past the genome end
