"""The blocks a process fetches first of a remote file go to the disk cache even when blocks on
disk are off, so that another process (or a restart) opens the file without the network."""

import os

import pytest

from tests.builders.remote_servers import serving
from tilesets.formats import rangefile
from tilesets.formats.httprange import HttpSource
from tilesets.formats.lru import LRU
from tilesets.formats.rangefile import RangeFile
from tilesets.formats.remote_config import RemoteConfig

BLOCK = 16 * 1024


@pytest.fixture
def folder(tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    (served / "a.bin").write_bytes(os.urandom(20 * BLOCK))
    return served


@pytest.fixture
def three_opening_blocks(monkeypatch):
    monkeypatch.setattr(rangefile, "OPENING_BLOCKS", 3)


def config_for(tmp_path, **changes):
    values = dict(allow_private_hosts=True, connect_timeout=1, read_timeout=1, retries=0,
                  block_size=BLOCK, max_request_bytes=4 * BLOCK, memory_cache_bytes=64 * BLOCK,
                  disk_cache_dir=str(tmp_path / "cache"), disk_cache_bytes=1024 * 1024)
    values.update(changes)
    return RemoteConfig(**values)


def another_process(source, config, info):
    """A RangeFile with an empty memory cache, as a new worker process would have."""
    return RangeFile(source, info, config, cache=LRU(max_bytes=config.memory_cache_bytes, size_of=len))


def test_first_blocks_of_a_file_are_reused_from_disk(folder, tmp_path, three_opening_blocks):
    data = (folder / "a.bin").read_bytes()
    config = config_for(tmp_path)
    assert not config.disk_cache_blocks
    with serving(folder) as server:
        source = HttpSource(server.url("a.bin"), config)
        info = source.probe()
        first = another_process(source, config, info)
        for index in (3, 9, 15, 5, 11):  # five fetches; the first three go to disk
            assert first.pread(index * BLOCK + 10, 20) == data[index * BLOCK + 10:index * BLOCK + 30]
        assert len(server.ranged_requests()) == 1 + 5
        assert len(os.listdir(tmp_path / "cache")) == 3

        second = another_process(source, config, info)
        for index in (3, 9, 15):
            assert second.pread(index * BLOCK, BLOCK) == data[index * BLOCK:(index + 1) * BLOCK]
        assert len(server.ranged_requests()) == 1 + 5  # from disk
        assert second.pread(5 * BLOCK, 1) == data[5 * BLOCK:5 * BLOCK + 1]
        assert len(server.ranged_requests()) == 1 + 6  # not among the first three: fetched again


def test_a_changed_file_does_not_reuse_old_blocks_from_disk(folder, tmp_path, three_opening_blocks):
    config = config_for(tmp_path)
    with serving(folder) as server:
        source = HttpSource(server.url("a.bin"), config)
        info = source.probe()
        assert another_process(source, config, info).pread(2 * BLOCK, 10)
        new = os.urandom(20 * BLOCK)
        (folder / "a.bin").write_bytes(new)  # a new ETag
        changed = source.probe()
        assert changed.token != info.token
        count = len(server.ranged_requests())
        assert another_process(source, config, changed).pread(2 * BLOCK, 10) == new[2 * BLOCK:2 * BLOCK + 10]
        assert len(server.ranged_requests()) == count + 1
