"""The cooler file model reads a level when it is first used, and a remote file's structure is
fetched ahead in few requests (tilesets/generators/cooler_file.py, tilesets/formats/hdf5.py)."""

import json
import re
import shutil

import h5py
import pytest

from tests.builders.cooler_data import make_mcool
from tests.builders.helpers import tile_request
from tests.builders.remote_servers import serving
from tests.builders.remote_tilesets import remote_access
from tilesets.formats import hdf5
from tilesets.generators import GeneratorError, Source, cooler_file, get

GEN = get("cooler")
IDS = ["u.0.0.0", "u.1.0.1", "u.2.1.1", "u.3.2.2", "u.3.0.0.KR"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("lazy")
    make_mcool(folder / "contacts.mcool", tmp_path_factory.mktemp("lazy-work"))
    return folder


def _tiles(location, ids=IDS):
    return GEN.tiles(Source(str(location)), [tile_request(i, 2) for i in ids], None)


def test_a_broken_level_fails_its_own_tiles_only(folder, tmp_path):
    path = tmp_path / "broken-level.mcool"
    shutil.copy(folder / "contacts.mcool", path)
    with h5py.File(path, "r+") as f:
        del f["resolutions/2000/pixels/count"]  # zoom 2 (resolutions 8000, 4000, 2000, 1000)
    reason = "resolutions/2000 is not a cooler (missing pixels/count)"
    with pytest.raises(GeneratorError, match=re.escape(reason)):
        GEN.validate(str(path), None)
    assert GEN.tileset_info(Source(str(path))) == GEN.tileset_info(Source(str(folder / "contacts.mcool")))
    tiles, intact = _tiles(path), _tiles(folder / "contacts.mcool")
    assert tiles["u.2.1.1"] == {"error": f"Unable to make this tile: {reason}"}
    assert {k: v for k, v in tiles.items() if k != "u.2.1.1"} == {k: v for k, v in intact.items() if k != "u.2.1.1"}


def _cold(folder, tmp_path, label):
    """(range requests, tileset_info, tiles) of a first read of the served file."""
    with remote_access(str(tmp_path / label), block_size=4096), serving(folder) as server:
        source = Source(server.url("contacts.mcool"))
        info = GEN.tileset_info(source)
        tiles = GEN.tiles(source, [tile_request(i, 2) for i in IDS], None)
        return len(server.ranged_requests()), info, tiles


def test_a_remote_file_is_read_in_few_requests(folder, tmp_path, monkeypatch):
    local = json.dumps((GEN.tileset_info(Source(str(folder / "contacts.mcool"))), _tiles(folder / "contacts.mcool")),
                       sort_keys=True)
    # the file (250 KiB) is within the tail fetched on opening: the probe and one request
    whole, *answers = _cold(folder, tmp_path, "whole")
    assert whole == 2 and json.dumps(answers, sort_keys=True) == local
    # a shorter tail: the levels' groups still come in one batch before tileset_info reads them
    monkeypatch.setattr(cooler_file, "TAIL_BYTES", 16 * 1024)
    ahead, *answers = _cold(folder, tmp_path, "ahead")
    assert json.dumps(answers, sort_keys=True) == local
    monkeypatch.setattr(hdf5, "PREFETCH_SHARE", 2**40)  # no budget: every read as it comes
    asked, *answers = _cold(folder, tmp_path, "as-needed")
    assert json.dumps(answers, sort_keys=True) == local
    assert 2 * ahead < asked, (ahead, asked)


def test_prefetch_merges_near_ranges_and_asks_once(folder, tmp_path):
    with remote_access(str(tmp_path), block_size=4096, memory_cache_bytes=256 * 1024) as config, \
            serving(folder) as server:
        url = server.url("contacts.mcool")
        hdf5.prefetch(url, [(5000, 5100), (20_000, 21_000), (40_000, 40_001)], gap=20_000)
        assert [r[2] for r in server.ranged_requests()][1:] == ["bytes=4096-40959"]
        hdf5.prefetch(url, [(5000, 5100)], gap=10)  # cached
        budget = config.memory_cache_bytes // hdf5.PREFETCH_SHARE
        hdf5.prefetch(url, [(100_000, 100_000 + budget + 1)])  # beyond the budget: not fetched
        assert len(server.ranged_requests()) == 2  # the probe and the one above
    hdf5.prefetch(str(folder / "contacts.mcool"), [(0, 100)])  # a local file: nothing to do
