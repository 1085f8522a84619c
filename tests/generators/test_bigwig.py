"""bigWig tiles and tileset_info (dense encoding, natural chromosome order) and the bigWig HTTP paths."""

import json
import struct
from pathlib import Path

import numpy as np
import pytest

from tests.builders.bigwig_data import (
    HGT, IN_FILE, chr3_intervals, decode, expected_tile, expected_values, max_zoom_of,
    reference_values, truth_signal, write_bigwig, write_test_bigwig,
)
from tests.builders.helpers import clodius_abs2genomic, in_threads, needs_clodius, run_clodius, write_chromsizes
from tilesets.generators import bigwig, genome
from tilesets.generators.base import GeneratorError, Source, TileRequest
from tilesets.ingest import IngestError, ingest_tileset

MODES = ("mean", "min", "max", "std", "minMax", "whisker")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("bigwig")


@pytest.fixture(scope="module")
def test_bw(data_dir):
    """(path, per-base truth) of the hgT bigWig without zoom levels."""
    path = data_dir / "signal.bw"
    return path, write_test_bigwig(path)


def request(tile_id):
    uid, zoom, x, *extra = tile_id.split(".")
    return TileRequest(tile_id, uid, int(zoom), (int(x),), tuple(extra))


def tiles(path, ids, chromsizes=None):
    source = Source(str(path), context={"chromsizes": chromsizes} if chromsizes else {})
    return bigwig.tiles(source, [request(i) for i in ids], None)


def tile(path, tile_id, chromsizes=None):
    return tiles(path, [tile_id], chromsizes)[tile_id]


def nan_mask(values):
    return np.isnan(values).reshape(len(values), -1).all(axis=1)


# --- natural order -------------------------------------------------------------------------


def test_natural_sort_of_usual_names():
    names = ["chrY", "chr10", "chrUn_x", "chr2", "chrM", "chr1_random", "chr1", "chrX", "chr22", "chr9"]
    assert genome.natural_sorted(names) == [
        "chr1", "chr2", "chr9", "chr10", "chr22", "chrX", "chrY", "chrM", "chrUn_x", "chr1_random",
    ]
    assert genome.natural_sorted(["2R", "X", "2L", "3R", "Mt", "4", "3L", "Y"]) == \
        ["2L", "2R", "3L", "3R", "4", "X", "Y", "Mt"]


def test_natural_cmp_rules():
    less = lambda a, b: genome.natural_cmp(a, b) < 0  # noqa: E731
    # 1./2. names with "_" go after names without; two of them compare their second "_" field
    assert less("chrY", "chr1_random") and not less("chr1_random", "chrY")
    assert less("chrUn_gl1", "chrUn_gl2") and less("chr4_ctg9_hap1", "chrUn_gl000220")  # "ctg9" < "gl…"
    assert less("chr1_KI270706v1_random", "chrUn_KI270999v1")  # only the field between the first two "_"
    # 3. m, y, x (any case) in the right-hand name make "less"; checked before digits
    assert less("chrX", "chrY") and less("chrY", "chrM") and not less("chrM", "chrX")
    assert less("chrX", "chrX")  # the quirk: not an order
    assert less("chrY", "chrom1") and not less("chrom1", "chr2")  # "chrom" contains m
    # 4. digit runs compare as numbers; int against text is "not less"
    assert less("chr2", "chr10") and not less("chr10", "chr2")
    assert not less("1a", "a1") and not less("a1", "1a")
    assert less("chr1", "chrA")  # ("chr", 1) < ("chrA",): decided by the text
    assert genome.natural_sorted(["b", "a10", "a9"]) == ["a9", "a10", "b"]


def test_chromsizes_are_the_files_own_in_natural_order(data_dir):
    names = ["chr1", "chr10", "chr2", "chrX", "chrY", "chrM", "chr1_random", "chrUn_x"]
    rows = [(name, 100 + 7 * i) for i, name in enumerate(names)]
    path = write_bigwig(data_dir / "names.bw", rows, {"chr1": np.ones(100)})
    got = bigwig.chromsizes(Source(str(path), context={"chromsizes": [("chrQ", 5)]}))
    assert got == [("chr1", 100), ("chr2", 114), ("chr10", 107), ("chrX", 121), ("chrY", 128), ("chrM", 135),
                   ("chrUn_x", 149), ("chr1_random", 142)]
    info = bigwig.tileset_info(Source(str(path)))
    assert info["chromsizes"] == [list(row) for row in got]


# --- tileset_info ----------------------------------------------------------------------------


MODES_JSON = (
    '"aggregation_modes": {"mean": {"name": "Mean", "value": "mean"}, "min": {"name": "Min", "value": "min"}, '
    '"max": {"name": "Max", "value": "max"}, "std": {"name": "Standard Deviation", "value": "std"}}, '
    '"range_modes": {"minMax": {"name": "Min-Max", "value": "minMax"}, "whisker": {"name": "Whisker", "value": "whisker"}}'
)


def test_tileset_info_exact_json(test_bw):
    path, _ = test_bw
    # own chromosomes: T = 3059 + 1821 + 983 + 689 = 6552, ceil(T / 1024) = 7, log2 -> 2.81 -> 3
    assert json.dumps(bigwig.tileset_info(Source(str(path)))) == (
        '{"min_pos": [0], "max_pos": [6552], "max_width": 8192, "tile_size": 1024, "max_zoom": 3, '
        '"chromsizes": [["chr1", 3059], ["chr2", 1821], ["chr3", 983], ["chrX", 689]], ' + MODES_JSON + "}"
    )
    # the coordSystem's chromosomes (chrM is not in the file): T = 6575
    info = bigwig.tileset_info(Source(str(path), context={"chromsizes": HGT}))
    assert json.dumps(info) == (
        '{"min_pos": [0], "max_pos": [6575], "max_width": 8192, "tile_size": 1024, "max_zoom": 3, '
        '"chromsizes": [["chr1", 3059], ["chr2", 1821], ["chr3", 983], ["chrX", 689], ["chrM", 23]], '
        + MODES_JSON + "}"
    )


@pytest.mark.parametrize("total, max_zoom", [
    (1, 0), (1024, 0), (1025, 1), (2048, 1), (2049, 2), (6_252_037, 13), (3_095_693_983, 22),
])
def test_zoom_math(test_bw, total, max_zoom):
    path, _ = test_bw
    info = bigwig.tileset_info(Source(str(path), context={"chromsizes": [("chr1", total)]}))
    assert (info["max_zoom"], info["max_width"], info["max_pos"]) == (max_zoom, 1024 * 2 ** max_zoom, [total])
    assert max_zoom_of(total) == max_zoom


# --- tile values -----------------------------------------------------------------------------


@pytest.mark.parametrize("layout", ["assembly", "own"])
def test_every_tile_matches_the_written_data(test_bw, layout):
    """All zoom levels, every x (and past the end), every mode: values, NaN positions, lengths,
    dtype and min/max exactly as computed from the written intervals."""
    path, signal = test_bw
    rows, context = (HGT, HGT) if layout == "assembly" else (IN_FILE, None)
    ids = [f"u.{z}.{x}" + ("" if mode == "mean" else f".{mode}")
           for z in range(4) for x in [*range(2 ** z), 2 ** z, 1000] for mode in MODES]
    answer = tiles(path, ids, context)
    assert set(answer) == set(ids)
    dtypes = set()
    for tile_id in ids:
        _, z, x, *mode = tile_id.split(".")
        expected = expected_values(rows, signal, int(z), int(x), mode[0] if mode else "mean")
        assert answer[tile_id] == expected_tile(expected), tile_id
        got = decode(answer[tile_id])
        assert got.shape == expected.shape and (np.isnan(got) == np.isnan(expected)).all(), tile_id
        dtypes.add(answer[tile_id]["dtype"])
    assert dtypes == {"float16", "float32"}


def test_piece_lengths_and_nan_positions(test_bw):
    path, signal = test_bw
    # zoom 0 (8 bp bins) with the assembly: chr1 383 -> 382 (3059 % 8 != 0, last bin dropped),
    # chr2 228 -> 227, chr3 123 -> 122, chrX 87 -> 86, chrM 3 NaN (absent: no drop),
    # past the genome (8192 - 6575) / 8 -> 203 NaN: 1023 values.
    values = decode(tile(path, "u.0.0", HGT))
    assert len(values) == 382 + 227 + 122 + 86 + 3 + 203 == 1023
    assert np.isnan(values[817:820]).all() and np.isnan(values[820:]).all()
    assert not np.isnan(values[810:817]).any()  # chrX is fully covered
    # without the assembly the file's chromosomes only: past the end (8192 - 6552) / 8 = 205
    values = decode(tile(path, "u.0.0"))
    assert len(values) == 382 + 227 + 122 + 86 + 205 == 1022
    # zoom 2 (2 bp bins), tile 2 = [4096, 6144): chr2 [1037, 1821) 392 -> 391, chr3 492 -> 491,
    # chrX [0, 281) 141 (the tile ends inside chrX: no drop)
    assert len(decode(tile(path, "u.2.2", HGT))) == 391 + 491 + 141 == 1023
    # a tile inside one chromosome has 1024 values; 1 bp bins never drop
    assert len(decode(tile(path, "u.3.0", HGT))) == 1024
    assert len(decode(tile(path, "u.3.2", HGT))) == 1024  # spans chr1 -> chr2
    # range modes keep the rows and add columns, flattened row-major
    whisker = tile(path, "u.0.0.whisker", HGT)
    assert whisker["size"] == 4 and decode(whisker).shape == (1023, 4)
    min_max = decode(tile(path, "u.3.0.minMax", HGT))
    assert min_max.shape == (1024, 2) and (min_max[:, 0] <= min_max[:, 1]).all()
    assert (min_max[:, 0] == signal["chr1"][:1024]).all()  # 1 bp bins: min == max == the value


def test_partial_coverage_mean_is_coverage_weighted(data_dir):
    # one 4096 bp chromosome: max_zoom 2, zoom 0 has 4 bp bins
    signal = np.full(4096, np.nan)
    signal[0:3] = [1.0, 2.0, 6.0]  # bin 0: 3 covered bases of 4 -> mean 3, std 2.6457...
    signal[5] = 8.0  # bin 1: one covered base -> mean 8, std 0
    path = write_bigwig(data_dir / "partial.bw", [("chr1", 4096)], {"chr1": signal})
    mean, std = (decode(tile(path, f"u.0.0.{mode}")) for mode in ("mean", "std"))
    assert mean[0] == 3.0 and mean[1] == 8.0 and np.isnan(mean[2:]).all()
    assert std[0] == np.float32(np.sqrt(7.0)) and std[1] == 0.0


def test_tile_ending_on_a_chromosome_start_adds_nothing(data_dir):
    # chrA 2048 + chrB 1000 = 3048 -> max_zoom 2; tile (2, 1) = [1024, 2048) ends where chrB starts
    signal = {"chrA": np.arange(2048, dtype=float) % 50, "chrB": np.full(1000, 3.0)}
    path = write_bigwig(data_dir / "boundary.bw", [("chrA", 2048), ("chrB", 1000)], signal)
    for tile_id, expected in [("u.2.1", signal["chrA"][1024:]), ("u.2.2", np.r_[signal["chrB"], [np.nan] * 24])]:
        values = decode(tile(path, tile_id))
        assert values.shape == expected.shape and np.array_equal(values, expected, equal_nan=True)
    assert len(decode(tile(path, "u.1.0"))) == 1024  # [0, 2048): chrA only, 2048 % 2 == 0


@pytest.mark.parametrize("values, dtype", [
    ([1.0, 65503.0], "float16"),
    ([1.0, 65504.0], "float32"),  # strict: 65504 is not inside the float16 range
    ([-65504.0, 1.0], "float32"),
    ([-65503.0, 1.0], "float16"),
    ([0.5, 70000.5], "float32"),
])
def test_float16_only_without_nan_and_strictly_inside_the_range(data_dir, values, dtype):
    signal = np.resize(np.array(values), 1024)
    path = write_bigwig(data_dir / f"range{values[0]}-{values[1]}.bw", [("chr1", 1024)], {"chr1": signal})
    answer = tile(path, "u.0.0")
    assert answer == expected_tile(signal) and answer["dtype"] == dtype
    assert answer["min_value"] == min(values) and answer["max_value"] == max(values)


def test_float32_values_print_as_their_float64_expansion(data_dir):
    signal = np.full(1024, 77.06821)  # stored as float32 in the bigWig
    path = write_bigwig(data_dir / "f32.bw", [("chr1", 1000), ("chr2", 24)], {"chr1": signal[:1000]})
    answer = tile(path, "u.0.0")
    assert answer["min_value"] == answer["max_value"] == float(np.float32(77.06821))
    assert json.dumps(answer["min_value"]) == "77.06820678710938"  # the float32 value's double expansion
    assert answer["dtype"] == "float32"  # chr2 has no data: NaN


def test_modes(test_bw):
    path, _ = test_bw
    mean = tile(path, "u.1.0", HGT)
    for other in ("sum", "avg", "MEAN", "mean"):  # unknown modes (0.18/0.20 has no sum) give the mean
        assert tile(path, f"u.1.0.{other}", HGT) == mean
    assert tile(path, "u.1.0.minMax|cos:abc", HGT) == tile(path, "u.1.0.minMax", HGT)
    assert tile(path, "u.1.0.max.extra", HGT) == tile(path, "u.1.0.max", HGT)


def test_bad_zoom_is_an_error_for_that_tile_only(test_bw):
    path, _ = test_bw
    answer = tiles(path, ["u.4.0", "u.60.0.minMax", "u.3.0", "u.0.1", "u.3.99999999999999999999"], HGT)
    assert set(answer) == {"u.4.0", "u.60.0.minMax", "u.3.0", "u.0.1", "u.3.99999999999999999999"}
    assert list(answer["u.4.0"]) == ["error"] and "beyond" in answer["u.4.0"]["error"]
    assert "beyond" in answer["u.60.0.minMax"]["error"]
    assert answer["u.3.0"]["dtype"] == "float16"
    for beyond in ("u.0.1", "u.3.99999999999999999999"):  # past the genome: 1024 NaN
        assert answer[beyond] == expected_tile(np.full(1024, np.nan))
        assert answer[beyond]["min_value"] == "NaN" and answer[beyond]["max_value"] == "NaN"


def test_zoom_levels_used_as_pybbi_uses_them(data_dir):
    """With zoom levels in the file the numbers are pybbi's interpolated summaries
    (``exact=False``, as clodius calls it): compare with module-level ``bbi.fetch`` calls."""
    path = data_dir / "zoomed.bw"
    write_bigwig(path, IN_FILE, truth_signal(seed=11), intervals={"chr3": chr3_intervals()}, zooms=10)
    for rows, context in ((HGT, HGT), (IN_FILE, None)):
        for tile_id in ("u.0.0", "u.0.0.std", "u.1.1.whisker", "u.2.2.minMax", "u.3.5.max"):
            _, z, x, *mode = tile_id.split(".")
            expected = reference_values(path, rows, int(z), int(x), mode[0] if mode else "mean")
            assert tile(path, tile_id, context) == expected_tile(expected), tile_id


def test_concurrent_requests_share_the_handle(test_bw):
    path, _ = test_bw
    ids = [f"u.3.{x}.whisker" for x in range(8)] + [f"u.2.{x}" for x in range(4)]
    expected = tiles(path, ids, HGT)
    results = in_threads(lambda: tiles(path, ids, HGT))
    assert all(result == expected for result in results)


# --- validation --------------------------------------------------------------------------


def _corrupt_block(data):
    """A copy of a bigWig (without zoom levels) with one byte of its first data block changed."""
    data = bytearray(data)
    full_data = struct.unpack_from("<Q", data, 16)[0]
    data[full_data + 8 + 40] ^= 0xFF
    return bytes(data)


@pytest.mark.parametrize("make, reason", [
    (lambda good: b"chr1\t1000\n", "not a bigWig file"),
    (lambda good: b"", "not a bigWig file"),
    (lambda good: struct.pack("<I", 0x8789F2EB) + b"\0" * 200, "bigBed"),
    (lambda good: good[:len(good) // 2], "corrupt bigWig"),
    (lambda good: good[:300], "corrupt bigWig"),
    (_corrupt_block, "corrupt bigWig"),
])
def test_validate_refuses_what_is_not_a_sound_bigwig(test_bw, tmp_path, make, reason):
    path, _ = test_bw
    bad = tmp_path / "bad.bw"
    bad.write_bytes(make(path.read_bytes()))
    with pytest.raises(GeneratorError, match=reason) as caught:
        bigwig.validate(str(bad))
    assert "\n" not in str(caught.value)
    if make is not _corrupt_block:  # opening for tiles checks the structure, not every data block
        with pytest.raises(GeneratorError):  # nothing reaches pybbi (whose errors end the process)
            bigwig.tiles(Source(str(bad)), [request("u.0.0")], None)


def test_validate_refuses_a_bigwig_without_data(tmp_path):
    import pyBigWig

    path = tmp_path / "empty.bw"
    bw = pyBigWig.open(str(path), "w")
    bw.addHeader([("chr1", 1000)], maxZooms=0)
    bw.close()
    with pytest.raises(GeneratorError, match="data index is missing"):
        bigwig.validate(str(path))
    with pytest.raises(GeneratorError, match="cannot read"):
        bigwig.validate(str(tmp_path / "missing.bw"))


def test_validate_accepts_bigwigs(test_bw, data_dir):
    path, _ = test_bw
    bigwig.validate(str(path))
    zoomed = data_dir / "zoomed-ok.bw"
    write_bigwig(zoomed, IN_FILE, truth_signal(), zooms=10)
    bigwig.validate(str(zoomed))


# --- through the HTTP API ------------------------------------------------------------------


def _ingest_assembly(path, uid, rows, coord="hgT"):
    tsv = write_chromsizes(Path(path).parent / f"{uid}.tsv", rows)
    return ingest_tileset(datafile=str(tsv), filetype="chromsizes-tsv", datatype="chromsizes", coordSystem=coord, uid=uid)


def _ingest_bigwig(path, uid, coord="hgT"):
    return ingest_tileset(datafile=str(path), filetype="bigwig", datatype="vector", coordSystem=coord, uid=uid,
                          name="Signal")


@pytest.mark.django_db
def test_api_tileset_info_and_tiles(anon_client, test_bw, outside):
    path, signal = test_bw
    _ingest_assembly(outside / "x", "hgt-sizes", HGT)
    _ingest_bigwig(path, "bw")
    response = anon_client.get("/api/v1/tileset_info/?d=bw")
    assert response.status_code == 200
    assert response.content.decode() == (
        '{"bw": {"min_pos": [0], "max_pos": [6575], "max_width": 8192, "tile_size": 1024, "max_zoom": 3, '
        '"chromsizes": [["chr1", 3059], ["chr2", 1821], ["chr3", 983], ["chrX", 689], ["chrM", 23]], '
        + MODES_JSON + ', "name": "Signal", "datatype": "vector", "coordSystem": "hgT", "coordSystem2": ""}}'
    )
    ids = ["bw.0.0", "bw.2.2.minMax", "bw.3.1.whisker", "bw.3.0.std", "bw.9.0", "bw.0.1"]
    response = anon_client.get("/api/v1/tiles/?" + "&".join(f"d={i}" for i in ids))
    assert response.status_code == 200
    answer = response.json()
    assert set(answer) == set(ids)
    for tile_id in ("bw.0.0", "bw.2.2.minMax", "bw.3.1.whisker", "bw.3.0.std", "bw.0.1"):
        _, z, x, *mode = tile_id.split(".")
        assert answer[tile_id] == expected_tile(expected_values(HGT, signal, int(z), int(x), mode[0] if mode else "mean"))
    assert len(decode(answer["bw.0.0"])) == 1023
    assert list(answer["bw.9.0"]) == ["error"]
    # byte level: the JSON the client receives for a float16 tile
    raw = anon_client.get("/api/v1/tiles/?d=bw.3.0").content.decode()
    assert raw == json.dumps({"bw.3.0": expected_tile(signal["chr1"][:1024])})


@pytest.mark.django_db
def test_api_reordered_assembly_changes_the_order(anon_client, test_bw, outside):
    """(reference test IngestTests.test_ingest_reordered_bigwig)"""
    path, signal = test_bw
    reordered = [HGT[4], *HGT[:4]]  # chrM first
    _ingest_assembly(outside / "x", "hgr-sizes", reordered, coord="hgR")
    _ingest_bigwig(path, "bw-r", coord="hgR")
    info = anon_client.get("/api/v1/tileset_info/?d=bw-r").json()["bw-r"]
    assert info["chromsizes"] == [["chrM", 23], ["chr1", 3059], ["chr2", 1821], ["chr3", 983], ["chrX", 689]]
    values = decode(anon_client.get("/api/v1/tiles/?d=bw-r.3.0").json()["bw-r.3.0"])
    assert np.isnan(values[:23]).all() and np.array_equal(values[23:], signal["chr1"][:1001].astype(np.float32))
    assert anon_client.get("/api/v1/tiles/?d=bw-r.3.0").json()["bw-r.3.0"] == \
        expected_tile(expected_values(reordered, signal, 3, 0))


@pytest.mark.django_db
def test_api_chrom_sizes_of_a_bigwig(anon_client, data_dir, outside):
    rows = [("chr10", 700), ("chr2", 1200), ("chrX", 900), ("chr1", 1500), ("chrM", 50)]
    path = write_bigwig(data_dir / "api-names.bw", rows, {"chr1": np.ones(1500)})
    _ingest_assembly(outside / "x", "hgn-sizes", rows, coord="hgN")
    _ingest_bigwig(path, "bw-n", coord="hgN")
    response = anon_client.get("/api/v1/chrom-sizes/?id=bw-n&type=json")
    assert response.status_code == 200
    assert list(response.json().items()) == [
        ("chr1", {"size": 1500}), ("chr2", {"size": 1200}), ("chr10", {"size": 700}),
        ("chrX", {"size": 900}), ("chrM", {"size": 50}),
    ]
    # the tiles follow the assembly's order (the TSV above), not the natural one
    info = anon_client.get("/api/v1/tileset_info/?d=bw-n").json()["bw-n"]
    assert info["chromsizes"] == [list(row) for row in rows]


@pytest.mark.django_db
def test_api_ingest_refuses_a_file_that_is_not_a_bigwig(outside):
    _ingest_assembly(outside / "x", "hgt-sizes", HGT)
    text = write_chromsizes(outside / "not-a-bigwig.bw", HGT)
    with pytest.raises(IngestError, match="not a bigWig file"):
        _ingest_bigwig(text, "nope")


# --- optional: byte-for-byte against clodius ------------------------------------------------

CLODIUS_SCRIPT = r"""
import json, sys
import clodius.tiles.bigwig as b
""" + clodius_abs2genomic("b") + r"""
path, ids, chromsizes = json.loads(sys.argv[1])
info = json.dumps(b.tileset_info(path, chromsizes), default=int)
print(json.dumps([info, {i: json.dumps(t) for i, t in b.tiles(path, ids, chromsizes=chromsizes)}]))
"""


@needs_clodius
@pytest.mark.parametrize("layout", ["assembly", "own"])
def test_byte_for_byte_against_clodius(data_dir, layout):
    path = data_dir / "clodius.bw"
    write_bigwig(path, IN_FILE, truth_signal(seed=5), intervals={"chr3": chr3_intervals()}, zooms=10)
    chromsizes = [list(row) for row in HGT] if layout == "assembly" else None
    ids = [f"u.{z}.{x}" + ("" if mode == "mean" else f".{mode}")
           for z in range(4) for x in range(2 ** z + 1) for mode in MODES]
    info, reference = run_clodius(CLODIUS_SCRIPT, str(path), ids, chromsizes)
    source = Source(str(path), context={"chromsizes": [tuple(r) for r in chromsizes]} if chromsizes else {})
    assert json.dumps(bigwig.tileset_info(source)) == info
    ours = bigwig.tiles(source, [request(i) for i in ids], None)
    assert {i: json.dumps(t) for i, t in ours.items()} == reference
