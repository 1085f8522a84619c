"""The remote file object (blocks, caches, h5py) and whole-file fetching over HTTP."""

import io
import os
import random
import sqlite3

import h5py
import numpy as np
import pytest

from tests.builders.remote_servers import serving
from tilesets.formats.httprange import HttpSource
from tilesets.formats.lru import LRU
from tilesets.formats.rangefile import RangeFile
from tilesets.formats.remote import fetch_to_local, open_binary, open_remote, probe
from tilesets.formats.remote_config import RemoteConfig, RemoteError

BLOCK = 16 * 1024


def config_for(tmp_path, **changes):
    values = dict(allow_private_hosts=True, connect_timeout=1, read_timeout=1, retries=1,
                  retry_backoff=0.01, block_size=BLOCK, max_request_bytes=4 * BLOCK,
                  memory_cache_bytes=8 * BLOCK, disk_cache_dir=str(tmp_path / "cache"),
                  disk_cache_bytes=1024 * 1024, max_fetch_bytes=512 * 1024)
    values.update(changes)
    return RemoteConfig(**values)


@pytest.fixture
def folder(tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    (served / "a.bin").write_bytes(os.urandom(200_000))
    return served


def fresh(source, config, info=None, **kw):
    """A RangeFile with its own memory cache, so request counts do not depend on other tests."""
    cache = kw.pop("cache", None) or LRU(max_bytes=config.memory_cache_bytes, size_of=len)
    return RangeFile(source, info or source.probe(), config, cache=cache, **kw)


def test_file_object_reads_like_a_local_file(folder, tmp_path):
    data = (folder / "a.bin").read_bytes()
    config = config_for(tmp_path)
    rng = random.Random(5)
    with serving(folder) as server, open_remote(server.url("a.bin"), config) as remote:
        local = io.BytesIO(data)
        assert remote.readable() and remote.seekable() and not remote.writable()
        assert remote.seek(0, io.SEEK_END) == len(data) and remote.read(10) == b""
        for _ in range(200):
            offset, length = rng.randrange(0, len(data) + 100), rng.randrange(0, 3 * BLOCK)
            remote.seek(offset)
            local.seek(offset)
            assert remote.read(length) == local.read(length)
            assert remote.tell() == local.tell()
        remote.seek(-5, io.SEEK_END)
        assert remote.read() == data[-5:]
        remote.seek(100)
        remote.seek(50, io.SEEK_CUR)
        buffer = bytearray(1000)
        assert remote.readinto(buffer) == 1000 and bytes(buffer) == data[150:1150]
        assert remote.pread(199_990, 100) == data[199_990:]
        with pytest.raises(ValueError):
            remote.seek(-1)
        with pytest.raises(io.UnsupportedOperation):
            remote.write(b"x")
        assert io.BufferedReader(remote, 4096).read(7) == data[1150:1157]
    assert remote.closed
    with pytest.raises(ValueError):
        remote.read(1)


def test_missing_blocks_of_one_read_come_in_few_requests(folder, tmp_path):
    data = (folder / "a.bin").read_bytes()
    config = config_for(tmp_path, memory_cache_bytes=64 * BLOCK)
    with serving(folder) as server:
        remote = fresh(HttpSource(server.url("a.bin"), config), config)
        assert len(server.requests) == 1  # the probe, which also gave block 0
        assert remote.pread(0, 100) == data[:100]
        assert len(server.requests) == 1
        # blocks 1..6: two requests of at most 4 blocks
        assert remote.pread(BLOCK + 5, 6 * BLOCK - 10) == data[BLOCK + 5:7 * BLOCK - 5]
        assert [entry[2] for entry in server.requests[1:]] == [
            f"bytes={BLOCK}-{5 * BLOCK - 1}", f"bytes={5 * BLOCK}-{7 * BLOCK - 1}"]
        # cached now: no more requests; a read around a cached block fetches only the gaps
        assert remote.pread(2 * BLOCK, 3 * BLOCK) == data[2 * BLOCK:5 * BLOCK]
        assert len(server.requests) == 3
        assert remote.pread(6 * BLOCK, 3 * BLOCK) == data[6 * BLOCK:9 * BLOCK]
        assert server.requests[-1][2] == f"bytes={7 * BLOCK}-{9 * BLOCK - 1}"


def test_block_cache_stays_bounded(folder, tmp_path):
    data = (folder / "a.bin").read_bytes()
    config = config_for(tmp_path, memory_cache_bytes=3 * BLOCK)
    cache = LRU(max_bytes=config.memory_cache_bytes, size_of=len)
    with serving(folder) as server:
        remote = fresh(HttpSource(server.url("a.bin"), config), config, cache=cache)
        rng = random.Random(1)
        for _ in range(100):
            offset = rng.randrange(len(data))
            assert remote.pread(offset, 5000) == data[offset:offset + 5000]
            assert cache.bytes <= 3 * BLOCK and len(cache) <= 3


def test_blocks_on_disk_are_shared_by_fresh_memory_caches(folder, tmp_path):
    data = (folder / "a.bin").read_bytes()
    config = config_for(tmp_path, disk_cache_blocks=True)
    with serving(folder) as server:
        source = HttpSource(server.url("a.bin"), config)
        info = source.probe()
        assert fresh(source, config, info).pread(50_000, 100_000) == data[50_000:150_000]
        count = len(server.requests)
        again = fresh(source, config, info)  # an empty memory cache: like another process
        assert again.pread(50_000, 100_000) == data[50_000:150_000]
        assert len(server.requests) == count
    assert len(os.listdir(tmp_path / "cache")) >= 7


def test_h5py_reads_hdf5_over_http_like_a_local_file(tmp_path, folder):
    path = folder / "t.h5"
    rng = np.random.default_rng(2)
    with h5py.File(path, "w") as f:
        f.create_dataset("dense", data=rng.random((300, 200)), chunks=(50, 50), compression="gzip")
        f["group/ints"] = np.arange(100_000, dtype="int64")
        f["group/names"] = np.array([b"chr1", b"chr2", b"chrX"])
        f["group"].attrs["format"] = "test"
        f.attrs["version"] = 3

    def everything(handle):
        found = {}
        handle.visititems(lambda name, item: found.__setitem__(
            name, item[()].tobytes() if isinstance(item, h5py.Dataset) else dict(item.attrs)))
        found["/attrs"] = dict(handle.attrs)
        return found

    config = config_for(tmp_path)
    with h5py.File(path, "r") as local:
        expected = everything(local)
    with serving(folder) as server:
        with h5py.File(open_remote(server.url("t.h5"), config), "r") as remote:
            assert everything(remote) == expected
            assert remote["group/ints"][12_345:12_350].tolist() == list(range(12_345, 12_350))


def test_h5py_sees_a_remote_failure_as_an_error(tmp_path, folder):
    path = folder / "t.h5"
    with h5py.File(path, "w") as f:
        f["big"] = np.arange(200_000, dtype="int64")
    config = config_for(tmp_path, memory_cache_bytes=2 * BLOCK)
    with serving(folder) as server:
        remote = open_remote(server.url("t.h5"), config)
        handle = h5py.File(remote, "r")
    # the server is gone: reading data not cached yet fails (h5py passes the file object's own
    # exception through), and the process carries on
    with pytest.raises(RemoteError, match="refused the connection"):
        handle["big"][150_000:160_000]
    assert handle["big"][0] == 0  # cached blocks still answer
    handle.close()


def test_open_binary_opens_local_paths_and_urls(folder, tmp_path):
    config = config_for(tmp_path)
    with open_binary(str(folder / "a.bin"), config) as local:
        assert isinstance(local, io.BufferedReader)
        head = local.read(10)
    with serving(folder) as server, open_binary(server.url("a.bin"), config) as remote:
        assert isinstance(remote, RangeFile) and remote.read(10) == head


def test_fetch_to_local_caches_the_whole_file_once(folder, tmp_path):
    database = folder / "small.db"
    with sqlite3.connect(database) as connection:
        connection.execute("create table t (x integer)")
        connection.executemany("insert into t values (?)", [(i,) for i in range(5000)])
    connection.close()
    config = config_for(tmp_path)
    with serving(folder) as server:
        url = server.url("small.db")
        path = fetch_to_local(url, config)
        count = len(server.requests)
        assert fetch_to_local(url, config) == path
        assert len(server.requests) == count + 1  # only the probe
    assert open(path, "rb").read() == database.read_bytes()
    assert path.startswith(str(tmp_path / "cache"))
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
        assert connection.execute("select count(*) from t").fetchone() == (5000,)
    connection.close()
    assert fetch_to_local(str(database), config) == str(database)


def test_fetch_to_local_refuses_large_files(folder, tmp_path):
    config = config_for(tmp_path, max_fetch_bytes=100_000)
    with serving(folder) as server:
        with pytest.raises(RemoteError, match="200000 bytes; files read whole may have at most 100000") as caught:
            fetch_to_local(server.url("a.bin"), config)
        assert len(server.requests) == 1
    assert caught.value.reason == "too-large"
    assert not os.path.exists(tmp_path / "cache") or not os.listdir(tmp_path / "cache")


def test_fetch_to_local_leaves_nothing_behind_on_failure(folder, tmp_path):
    config = config_for(tmp_path)
    with serving(folder, "changing") as server:
        with pytest.raises(RemoteError, match="changed"):
            fetch_to_local(server.url("a.bin"), config)
    assert os.listdir(tmp_path / "cache") == []


def test_probe_failure_is_a_remote_error_naming_the_url(folder, tmp_path):
    with serving(folder, "missing") as server:
        with pytest.raises(RemoteError, match=server.url("x.bin")):
            probe(server.url("x.bin"), config_for(tmp_path))
