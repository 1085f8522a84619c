"""Remote bigWig and bigBed tiles made in this process (tilesets/formats/bbidata.py), no helper.

A URL's bigWig summaries and bigBed records are read through the server's own range reads and
kept decoded; pybbi (in a helper process for a URL) is opened only for what that path declines.
Here: tiles of every zoom level and mode from a loopback server equal the local file's (read by
pybbi in this process), without a pybbi handle being opened; the same through pybbi's helper
(``IN_PROCESS_DATA`` off); data the in-process path leaves to pybbi still answer right; and a
bigBed server turning hostile fails tile by tile, naming the URL, and recovers.
"""

import json
import random

import pytest

from tests.builders.bigbed_data import IN_FILE as BED_CHROMS, records_of, write_bigbed
from tests.builders.helpers import tile_request
from tests.builders.remote_servers import copy_into, serving
from tests.builders.remote_tilesets import answers, remote_access
from tests.formats.test_bbi_data import overlapping, random_records, with_first_block
from tests.generators.test_bigwig_zoom import _requests, write_mixed, write_special
from tilesets.generators import Source, bigbed, bigwig

FAST = dict(connect_timeout=0.5, read_timeout=0.5, request_deadline=0.5, retries=0, block_size=16 * 1024,
            max_request_bytes=64 * 1024, memory_cache_bytes=32 * 1024)
MANY_CHROMS = [("chrA", 2_000_000), ("chrB", 900_000), ("chrC", 50_000)]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("remote-bbi")
    write_mixed(folder / "mixed.bw", zooms=10, seed=1)
    write_mixed(folder / "plain.bw", zooms=0, seed=4)
    write_special(folder / "special.bw")
    (folder / "overlapping.bw").write_bytes(with_first_block((folder / "plain.bw").read_bytes(), overlapping))
    write_bigbed(folder / "annotations.bb", BED_CHROMS, records_of())
    write_bigbed(folder / "many.bb", MANY_CHROMS, random_records(MANY_CHROMS, 3000, seed=4))
    # larger than the blocks a process keeps on disk at first (32 of 16 KiB here)
    write_bigbed(folder / "large.bb", MANY_CHROMS, random_records(MANY_CHROMS, 20_000, seed=5))
    return folder


@pytest.fixture
def remote(tmp_path):
    with remote_access(str(tmp_path)) as config:
        yield config


def bigwig_ids(path):
    info = bigwig.tileset_info(Source(str(path)))
    return [r.id for r in _requests(info["max_zoom"], info["max_pos"][0], seed=len(str(path)), per_zoom=6)]


def bigbed_ids(path, per_zoom=8):
    info = bigbed.tileset_info(Source(str(path)))
    rng = random.Random(3)
    ids = []
    for zoom in range(info["max_zoom"] + 1):
        count = -(-info["max_pos"][0] // (1024 << (info["max_zoom"] - zoom)))
        xs = range(count) if count <= per_zoom else sorted(rng.sample(range(count), per_zoom))
        ids += [f"u.{zoom}.{x}" for x in xs]
    return ids + [f"u.0.0.significant|max:{limit}" for limit in (5, 50)]


@pytest.mark.parametrize("name", ["mixed.bw", "plain.bw", "special.bw"])
def test_remote_bigwig_tiles_are_the_local_ones_without_pybbi(folder, remote, name):
    """(plain.bw has no zoom levels: its coarse tiles take hundreds of intervals per bin, which
    are left to pybbi.)"""
    ids = bigwig_ids(folder / name)
    local = answers("bigwig", str(folder / name), ids=ids)
    with serving(folder) as server:
        url = server.url(name)
        assert answers("bigwig", url, ids=ids) == local
        opened = bigwig._open(url)
        assert opened.remote and (opened._handle is None) == (name != "plain.bw")  # all made here
        tiles = json.loads(local[1])
        assert sum("error" not in tile for tile in tiles.values()) == len(tiles)


@pytest.mark.parametrize("filetype, name", [("bigbed", "annotations.bb"), ("bigbed", "many.bb")])
def test_remote_bigbed_tiles_are_the_local_ones_without_pybbi(folder, remote, filetype, name):
    ids = bigbed_ids(folder / name)
    local = answers(filetype, str(folder / name), ids=ids)
    with serving(folder) as server:
        url = server.url(name)
        assert answers(filetype, url, ids=ids) == local
        opened = bigbed._open(url)
        assert opened.data is not None and opened._handle is None
        assert sum(len(tile) for tile in json.loads(local[1]).values()) > 1000


def test_the_helper_path_answers_the_same(folder, remote, monkeypatch):
    """With the in-process path off, pybbi answers in its helper process: the same JSON."""
    cases = (("bigwig", "mixed.bw", bigwig_ids(folder / "mixed.bw")[::3]),
             ("bigbed", "annotations.bb", bigbed_ids(folder / "annotations.bb")))
    with serving(folder) as server:
        made_here = {filetype: answers(filetype, server.url(name), ids=ids) for filetype, name, ids in cases}
    monkeypatch.setattr(bigwig, "IN_PROCESS_DATA", False)
    monkeypatch.setattr(bigbed, "IN_PROCESS_DATA", False)
    with serving(folder) as server:  # another port: files opened afresh
        for filetype, name, ids in cases:
            assert answers(filetype, server.url(name), ids=ids) == made_here[filetype]
        assert bigwig._open(server.url("mixed.bw"))._handle is not None


def test_data_left_to_pybbi_is_read_by_the_helper(folder, remote):
    """Overlapping intervals: the in-process path declines, pybbi's helper answers, as locally."""
    ids = ["u.12.0", "u.12.0.whisker", "u.11.0", "u.12.700"]
    local = answers("bigwig", str(folder / "overlapping.bw"), ids=ids)
    with serving(folder) as server:
        url = server.url("overlapping.bw")
        assert answers("bigwig", url, ids=ids) == local
        assert bigwig._open(url)._handle is not None


def _tiles(generator, url, ids):
    return generator.GENERATOR.tiles(Source(url), [tile_request(i) for i in ids], None)


@pytest.mark.parametrize("behaviour", ["norange", "silent", "cut", "missing"])
def test_a_bigbed_server_turning_hostile_fails_tile_by_tile(folder, tmp_path, behaviour):
    before, after = ["u.3.0", "u.4.1"], ["u.4.9", "u.5.20", "u.6.40"]
    local = answers("bigbed", str(folder / "large.bb"), ids=after)
    healthy_folder = copy_into(tmp_path / "healthy", folder / "large.bb")
    with remote_access(str(tmp_path), **FAST), serving(folder) as server, serving(healthy_folder) as healthy:
        url = server.url("large.bb")
        assert all("error" not in tile for tile in _tiles(bigbed, url, before).values())
        server.behaviour = behaviour
        tiles = _tiles(bigbed, url, after)
        expected = json.loads(local[1])
        assert any("error" in tile for tile in tiles.values())
        for tile_id, tile in tiles.items():
            if "error" in tile:
                assert server.url("") in tile["error"] and "\n" not in tile["error"]
            else:
                assert tile == expected[tile_id]
        assert answers("bigbed", healthy.url("large.bb"), ids=after) == local
        server.behaviour = "range"
        assert answers("bigbed", url, ids=after) == local
