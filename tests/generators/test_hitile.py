"""hitile tiles and tileset_info (and their encoding) and the hitile HTTP paths."""

import json
import math
import os
import shutil

import h5py
import numpy as np
import pytest

from tests.builders.helpers import (
    api_tiles, failed_metadata_read, generator_tiles, needs_clodius, run_clodius, uploads, write_hdf5,
)
from tests.builders.hitile_data import decode, expected_tile, expected_values, meta_of, signal_of, write_hitile
from tilesets.generators import hitile
from tilesets.generators.base import GeneratorError, Source
from tilesets.ingest import IngestError, ingest_tileset
from tilesets.models import Tileset

LENGTH = 100_000  # max_zoom 7, max_width 131072


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("hitile")


def _files(data_dir):
    """name -> (path, stored arrays, meta) of the test files."""
    signal = signal_of(LENGTH)
    made = {}
    for name, kwargs in {
        "step8": dict(zoom_step=8),  # one stored level: every zoom merges values_0
        "step2-end": dict(zoom_step=2, data_end=70_000),  # levels 0, 2, 4, 6; data ends mid-genome
        "step3-odd-end": dict(zoom_step=3, data_end=83_333),
        "sums": dict(zoom_step=2, nan_counts=False, max_position=False),  # array_to_hitile style
    }.items():
        path = data_dir / f"{name}.hitile"
        stored = write_hitile(path, signal, **kwargs)
        made[name] = (path, stored, meta_of(path))
    return made


@pytest.fixture(scope="module")
def files(data_dir):
    return _files(data_dir)


def tiles(path, ids):
    return generator_tiles(hitile, path, ids)


def tile(path, tile_id):
    return tiles(path, [tile_id])[tile_id]


# --- tileset_info ----------------------------------------------------------------------------


def test_tileset_info_exact_json(files):
    for path, _, _ in files.values():
        assert json.dumps(hitile.tileset_info(Source(str(path)))) == (
            '{"min_pos": [0], "max_pos": [100000], "max_width": 131072, "tile_size": 1024, "max_zoom": 7}'
        )


def test_tileset_info_of_the_spec_example(tmp_path):
    path = tmp_path / "spec.hitile"
    _sparse(path, 6_252_037, zoom_step=8)
    assert json.dumps(hitile.tileset_info(Source(str(path)))) == (
        '{"min_pos": [0], "max_pos": [6252037], "max_width": 8388608, "tile_size": 1024, "max_zoom": 13}'
    )


def _sparse(path, length, zoom_step=8, tile_size=1024, attrs=None, write=None):
    """A genome-sized hitile whose datasets are chunked and mostly unwritten (a few KB on disk):
    ``write`` = {start: per-base values} written into values_0 (and the coarser levels)."""
    max_zoom = math.ceil(math.log(length / tile_size) / math.log(2))
    write = write or {}
    with h5py.File(path, "w") as f:
        meta = f.create_dataset("meta", (1,), dtype="f")
        meta.attrs.update({"zoom-step": zoom_step, "max-length": length, "tile-size": tile_size,
                           "max-zoom": max_zoom, "max-width": tile_size * 2 ** max_zoom, **(attrs or {})})
        k = 0
        while length / 2 ** k > tile_size:
            size = math.ceil(length / 2 ** k)
            dset = f.create_dataset(f"values_{k}", (size,), dtype="f", chunks=(min(size, 1 << 16),))
            for start, values in write.items():
                sums = np.add.reduceat(values, np.arange(0, len(values), 2 ** k)) if k else values
                dset[start >> k: (start >> k) + len(sums)] = sums
            k += zoom_step
    return max_zoom


def test_reference_genome_sized_file(tmp_path):
    """(reference test: a hitile of the whole human genome has max_zoom 22, max_width 2**32)"""
    path = tmp_path / "hg19.hitile"
    length = 3_137_161_264
    values = np.arange(4096, dtype=float) % 2  # 4096 bases written at 2**31
    max_zoom = _sparse(path, length, write={2 ** 31: values})
    assert max_zoom == 22
    assert json.dumps(hitile.tileset_info(Source(str(path)))) == (
        '{"min_pos": [0], "max_pos": [3137161264], "max_width": 4294967296, "tile_size": 1024, "max_zoom": 22}'
    )
    x = 2 ** 31 // 1024
    answer = tiles(path, [f"u.22.{x}", f"u.22.{x + 3}", f"u.20.{x // 4}", "u.0.0", "u.23.0"])
    assert decode(answer[f"u.22.{x}"]).tolist() == values[:1024].tolist()
    assert decode(answer[f"u.22.{x + 3}"]).tolist() == values[3072:].tolist()
    # zoom 20: 4 bases per value, merged from values_0 (rz = 2, stored level 0)
    assert decode(answer[f"u.20.{x // 4}"]).tolist() == values.reshape(-1, 4).sum(axis=1).tolist()
    # zoom 0: values_16 (64 KB per value) merged by 64: 2**31 / 2**22 = value 512 holds the sum
    zero = decode(answer["u.0.0"])
    assert len(zero) == 748 and zero[512] == values.sum() and zero.sum() == values.sum()  # ceil(47870 / 64)
    assert "beyond" in answer["u.23.0"]["error"]


@pytest.mark.parametrize("length, max_width", [
    (2 ** 29, 2 ** 30),  # log(2**29) / log(2) = 29.000000000000004: the float formula overshoots
    (2 ** 29 + 1, 2 ** 30),
    (2 ** 20, 2 ** 20),  # exact here
    (1_500_000, 2 ** 21),
])
def test_max_width_uses_the_float_log_formula(tmp_path, length, max_width):
    path = tmp_path / f"w{length}.hitile"
    _sparse(path, length)
    info = hitile.tileset_info(Source(str(path)))
    assert info["max_width"] == max_width and info["max_pos"] == [length]
    assert max_width == 2 ** math.ceil(math.log(length) / math.log(2))


def test_tileset_info_min_pos_and_max_pos_attributes(tmp_path):
    path = tmp_path / "pos.hitile"
    _sparse(path, 50_000, attrs={"min-pos": 1000, "max-pos": 40_000})
    assert hitile.tileset_info(Source(str(path))) == {
        "min_pos": [1000], "max_pos": [40000], "max_width": 2 ** 16, "tile_size": 1024, "max_zoom": 6,
    }


# --- tiles -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["step8", "step2-end", "step3-odd-end", "sums"])
def test_every_tile_matches_the_written_data(files, name):
    """All zooms, every x up to 2**z: values, NaN positions, lengths and dtype exactly as
    computed from the arrays written."""
    path, stored, meta = files[name]
    ids = [f"u.{z}.{x}" for z in range(meta["max-zoom"] + 1) for x in range(2 ** z + 1)]
    answer = tiles(path, ids)
    assert set(answer) == set(ids)
    lengths, dtypes = set(), set()
    for tile_id in ids:
        _, z, x = tile_id.split(".")
        expected = expected_values(stored, meta, int(z), int(x))
        assert answer[tile_id] == expected_tile(expected), tile_id
        lengths.add(len(expected))
        dtypes.add(answer[tile_id]["dtype"])
    assert 1024 in lengths and len(lengths) > 2  # short tiles at the end of the data
    assert dtypes == {"float16", "float32"}


def test_short_tiles_and_means(files):
    path, stored, meta = files["step8"]
    signal = signal_of(LENGTH)
    # zoom 0: 128 bases per value, 100000 / 128 -> 782 values (the last one padded)
    zero = decode(tile(path, "u.0.0"))
    assert len(zero) == 782
    first = signal[:128]
    assert zero[0] == np.float32(np.nansum(first) / (128 - np.isnan(first).sum()))  # a per-base mean
    # the deepest zoom: one value per base; NaN bases stay NaN
    deep = decode(tile(path, "u.7.4"))
    assert np.array_equal(deep, signal[4096:5120], equal_nan=True) and np.isnan(deep[904:1204]).all()
    # without NaN counts the values are sums
    sums = decode(tile(files["sums"][0], "u.5.0"))  # 4 bases per value
    assert sums[0] == np.nansum(signal[:4])


def test_all_nan_stretch_is_a_float32_nan_tile(files):
    path, _, _ = files["step8"]
    answer = tile(path, "u.7.39")  # [39936, 40960): bases 40000.. are a gap
    values = decode(answer)
    assert answer["dtype"] == "float32" and np.isnan(values[64:]).all()
    assert np.array_equal(values[:64], signal_of(LENGTH)[39936:40000], equal_nan=True)


def test_after_the_data_end(files):
    """step2-end: data up to 70000 (max-position). The reference answers the tiles after it
    either with NaN (when the NaN counts line up) or with HTTP 500 (numpy broadcast error); we
    answer tile_size NaNs for all of them."""
    path, stored, meta = files["step2-end"]
    nan_tile = expected_tile([math.nan] * 1024)
    # zoom 7 reads values_0 one to one; tile 69 starts at 70656 > 70000, inside the arrays:
    # the reference answers NaN too
    assert tile(path, "u.7.69") == nan_tile
    # tile 98 starts at 100352, past the end of the arrays: the reference fails (HTTP 500)
    assert tile(path, "u.7.98") == nan_tile
    # the documented example of that failure: zoom 4 reads values_2 (2 per value), starts at 30720,
    # after 70000 / 4 = 17500 and after the 25000 values of nan_values_2
    assert tile(path, "u.4.15") == nan_tile
    # the tile holding max-position: NaN are set from slice index max-position + 1 (relative to
    # the tile, a reference quirk that masks nothing here): unwritten bases read as 0
    values = decode(tile(path, "u.7.68"))
    assert len(values) == 1024 and (values[70000 - 69632:] == 0).all()


def test_position_equal_to_two_to_the_z_is_a_tile(files):
    """x == 2**z is allowed (the reference only refuses x > 2**z): past max_width, an empty or
    NaN tile."""
    path, stored, meta = files["sums"]  # no max-position: the dataset end is where data stops
    answer = tile(path, "u.3.8")
    assert answer == expected_tile(expected_values(stored, meta, 3, 8)) == {"dense": "", "dtype": "float16"}


def test_bad_tiles_are_errors_for_those_tiles_only(files):
    path, stored, meta = files["step2-end"]
    ids = ["u.0.2", "u.3.9", "u.8.0", "u.99.0", "u.3.3", "u.7.68"]
    answer = tiles(path, ids)
    assert set(answer) == set(ids)
    for bad in ("u.0.2", "u.3.9"):
        assert list(answer[bad]) == ["error"] and "beyond the" in answer[bad]["error"]
    for bad in ("u.8.0", "u.99.0"):
        assert "zoom level" in answer[bad]["error"] and "deepest" in answer[bad]["error"]
    assert answer["u.3.3"] == expected_tile(expected_values(stored, meta, 3, 3))


def test_a_level_clodius_does_not_store_is_merged_from_a_finer_one(tmp_path):
    """A genome of 300000 bases: max_zoom 9 (ceil(log2(293))), zoom_step 3 -> zoom 0 reads
    values_9, which clodius does not write (300000 / 2^9 < 1024); the reference fails (HTTP 500)."""
    path = tmp_path / "clodius-levels.hitile"
    stored = write_hitile(path, signal_of(300_000), zoom_step=3)
    meta = meta_of(path)
    assert meta["max-zoom"] == 9 and sorted(stored) == [f"{kind}_{k}" for kind in ("nan_values", "values") for k in (0, 3, 6)]
    ids = ["u.0.0", "u.0.1", "u.1.0", "u.2.3"]
    answer = tiles(path, ids)
    for tile_id in ids:
        _, z, x = tile_id.split(".")
        assert answer[tile_id] == expected_tile(expected_values(stored, meta, int(z), int(x))), tile_id
    assert len(decode(answer["u.0.0"])) == 586  # 300000 / 512, from values_6 merged by 8
    fine = tmp_path / "fine.hitile"  # only values_0 left: every zoom merges it
    shutil.copy(path, fine)
    with h5py.File(fine, "a") as f:
        for k in (3, 6):
            del f[f"values_{k}"], f[f"nan_values_{k}"]
        stored = {name: f[name][:] for name in f if name != "meta"}
    answer = tiles(fine, ids)
    for tile_id in ids:
        _, z, x = tile_id.split(".")
        assert answer[tile_id] == expected_tile(expected_values(stored, meta, int(z), int(x))), tile_id


def test_a_file_rewritten_in_place_is_read_afresh(tmp_path):
    path = tmp_path / "changing.hitile"
    write_hitile(path, np.ones(5000), zoom_step=8)
    first = decode(tile(path, "u.3.0"))
    write_hitile(tmp_path / "new.hitile", np.full(5000, 2.0), zoom_step=8)
    os.replace(tmp_path / "new.hitile", path)  # a re-ingest replaces the file
    assert (first == 1).all() and (decode(tile(path, "u.3.0")) == 2).all()


# --- validation ------------------------------------------------------------------------------


@pytest.mark.parametrize("build, reason", [
    (None, "not an HDF5 file"),
    (lambda f: f.create_group("chroms"), "no /meta dataset"),
    (lambda f: f.create_dataset("meta", (1,), dtype="f"), "lacks the attributes tile-size, zoom-step, max-zoom, max-length"),
    (lambda f: (f.create_dataset("meta", (1,), dtype="f").attrs.update(
        {"tile-size": 1024, "zoom-step": 0, "max-zoom": 3, "max-length": 5000})), "zoom-step 0"),
    (lambda f: (f.create_dataset("meta", (1,), dtype="f").attrs.update(
        {"tile-size": 1024, "zoom-step": 8, "max-zoom": 3, "max-length": 5000})), "no /values_0"),
    (lambda f: (f.create_dataset("meta", (1,), dtype="f").attrs.update(
        {"tile-size": 1024, "zoom-step": 8, "max-zoom": 3, "max-length": "5000"})), "max-length is not a number"),
    (lambda f: (f.create_dataset("meta", (1,), dtype="f").attrs.update(
        {"tile-size": 1024, "zoom-step": 8, "max-zoom": 3, "max-length": 0}), f.create_dataset("values_0", (5,), dtype="f")),
     "span is empty"),
])
def test_validate_refuses_what_is_not_a_hitile(tmp_path, build, reason):
    path = tmp_path / "bad.hitile"
    if build is None:
        path.write_text("chr1\t1000\n")
    else:
        write_hdf5(path, build)
    with pytest.raises(GeneratorError, match=reason) as caught:
        hitile.validate(str(path))
    assert "\n" not in str(caught.value)


def test_validate_accepts_hitiles(files):
    for path, _, _ in files.values():
        hitile.validate(str(path))


def test_unexpected_metadata_errors_are_one_line_and_close_the_file(files, tmp_path, monkeypatch):
    path = tmp_path / "odd.hitile"
    shutil.copy(files["step8"][0], path)
    assert failed_metadata_read(monkeypatch, hitile.validate, hitile.HitileFile, "_read_meta", path) == \
        "unreadable hitile metadata: odd content in odd.hitile second line"


# --- through the HTTP API --------------------------------------------------------------------


@pytest.mark.django_db
def test_api_tileset_info_and_tiles(anon_client, files):
    path, stored, meta = files["step2-end"]
    ingest_tileset(datafile=str(path), filetype="hitile", datatype="vector", uid="ht", name="Vector")
    response = anon_client.get("/api/v1/tileset_info/?d=ht")
    assert response.status_code == 200
    assert response.content.decode() == (
        '{"ht": {"min_pos": [0], "max_pos": [100000], "max_width": 131072, "tile_size": 1024, "max_zoom": 7, '
        '"name": "Vector", "datatype": "vector", "coordSystem": "", "coordSystem2": ""}}'
    )
    ids = ["ht.0.0", "ht.3.2", "ht.7.68", "ht.7.98", "ht.2.9", "ht.9.0"]
    answer = api_tiles(anon_client, ids)
    for tile_id in ("ht.0.0", "ht.3.2", "ht.7.68", "ht.7.98"):
        _, z, x = tile_id.split(".")
        assert answer[tile_id] == expected_tile(expected_values(stored, meta, int(z), int(x))), tile_id
    assert list(answer["ht.2.9"]) == ["error"] and list(answer["ht.9.0"]) == ["error"]
    raw = anon_client.get("/api/v1/tiles/?d=ht.7.3").content.decode()
    assert raw == json.dumps({"ht.7.3": expected_tile(expected_values(stored, meta, 7, 3))})


@pytest.mark.django_db
def test_api_ingest_refuses_what_is_not_a_hitile(media, chromsizes_file, tmp_path):
    with pytest.raises(IngestError, match="does not open as hitile: not an HDF5 file"):
        ingest_tileset(datafile=str(chromsizes_file), filetype="hitile", datatype="vector", uid="nope")
    multivec_like = write_hdf5(tmp_path / "mv.h5", lambda f: (f.create_group("chroms"), f.create_group("resolutions")))
    with pytest.raises(IngestError, match="no /meta dataset: not a hitile file"):
        ingest_tileset(datafile=str(multivec_like), filetype="hitile", datatype="vector", uid="nope")
    assert not Tileset.objects.exists() and uploads(media) == []


# --- optional: byte-for-byte against clodius ------------------------------------------------

CLODIUS_SCRIPT = r"""
import base64, json, math, sys
import h5py, numpy as np
import clodius.hdf_tiles as hdft
path, ids = json.loads(sys.argv[1])
f = h5py.File(path, "r")
ti = hdft.get_tileset_info(f)
info = {"min_pos": [int(ti["min_pos"])], "max_pos": [int(ti["max_pos"])],
        "max_width": 2 ** math.ceil(math.log(ti["max_pos"] - ti["min_pos"]) / math.log(2)),
        "tile_size": int(ti["tile_size"]), "max_zoom": int(ti["max_zoom"])}
out = {}
for tile_id in ids:  # what higlass-server's generate_hitile_tiles does with each id
    z, x = map(int, tile_id.split(".")[1:3])
    try:
        dense = hdft.get_data(f, z, x)
        low, high = (min(dense), max(dense)) if len(dense) else (0, 0)
        lim = np.finfo("float16").max
        nan = len([d for d in dense if np.isnan(d)]) > 0
        kind = "float16" if (not nan and -lim < high < lim and -lim < low < lim) else "float32"
        out[tile_id] = json.dumps({"dense": base64.b64encode(dense.astype(kind)).decode("utf-8"), "dtype": kind})
    except Exception as exc:
        out[tile_id] = "HTTP 500: " + type(exc).__name__
sys.stdout.write("\n" + json.dumps([json.dumps(info), out]))
"""


@needs_clodius
def test_byte_for_byte_against_clodius(data_dir):
    rng = np.random.default_rng(2)
    path = data_dir / "clodius.hitile"
    signal = rng.normal(size=LENGTH) * 100  # non-integral: sums round as the reference's do
    signal[rng.random(LENGTH) < 0.05] = np.nan
    write_hitile(path, signal, zoom_step=3, data_end=83_333)
    ids = [f"u.{z}.{x}" for z in range(8) for x in range(2 ** z + 2)]
    info, reference = run_clodius(CLODIUS_SCRIPT, str(path), ids)
    assert json.dumps(hitile.tileset_info(Source(str(path)))) == info
    ours = tiles(path, ids)
    failures = {i for i, t in reference.items() if t.startswith("HTTP 500")}
    assert {i: json.dumps(t) for i, t in ours.items() if i not in failures} == \
        {i: t for i, t in reference.items() if i not in failures}
    nan_tile = expected_tile([math.nan] * 1024)
    for tile_id in failures:  # x > 2**z: errors; after the data end: NaN tiles
        z, x = map(int, tile_id.split(".")[1:])
        assert ("error" in ours[tile_id]) if x > 2 ** z else (ours[tile_id] == nan_tile), tile_id
    assert len(failures) > 20
