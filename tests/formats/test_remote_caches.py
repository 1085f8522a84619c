"""The bounded disk cache, and pybbi's udc cache pointed at a bounded folder."""

import multiprocessing
import os
import time

import pytest

from tests.builders.bigwig_data import write_test_bigwig
from tests.builders.remote_servers import serving_in_process
from tilesets.formats import udc
from tilesets.formats.diskcache import DiskCache
from tilesets.formats.remote_config import RemoteConfig


def age(cache, key, seconds):
    path = cache.path_for(key)
    stamp = time.time() - seconds
    os.utime(path, (stamp, stamp))


def test_entries_round_trip_and_miss(tmp_path):
    cache = DiskCache(tmp_path / "c", 1000)
    assert cache.get("a") is None and cache.get_path("a") is None
    path = cache.put("a", b"hello")
    assert cache.get("a") == b"hello" and cache.get_path("a") == path
    assert os.path.dirname(path) == str(tmp_path / "c")
    assert cache.put("huge", b"x" * 1001) is None and cache.get("huge") is None


def test_least_recently_used_entries_go_first(tmp_path):
    cache = DiskCache(tmp_path / "c", 300)
    for number, key in enumerate("abc"):
        cache.put(key, bytes(100))
        age(cache, key, 100 - number)  # a oldest, then b, then c
    assert cache.get("a") is not None  # a hit makes "a" the most recently used
    cache.put("d", bytes(100))
    assert cache.get("b") is None
    assert all(cache.get(key) is not None for key in "acd")
    assert cache.total_bytes() <= 300


def test_a_failed_write_leaves_nothing(tmp_path):
    cache = DiskCache(tmp_path / "c", 1000)
    with pytest.raises(RuntimeError):
        with cache.writing("k") as handle:
            handle.write(b"half")
            raise RuntimeError("network broke")
    with pytest.raises(OSError, match="4 bytes instead of 10"):
        with cache.writing("k", expected_size=10) as handle:
            handle.write(b"half")
    with pytest.raises(ValueError):
        with cache.writing("k", expected_size=5000):
            pass
    assert os.listdir(tmp_path / "c") == []


def test_vanishing_entries_and_stale_temporary_files(tmp_path):
    cache = DiskCache(tmp_path / "c", 1000)
    cache.put("a", b"1")
    os.unlink(cache.path_for("a"))  # another process evicted it
    assert cache.get("a") is None and cache.get_path("a") is None
    stale = tmp_path / "c" / ".tmp-abandoned"
    stale.write_bytes(b"x")
    os.utime(stale, (0, 0))
    fresh = tmp_path / "c" / ".tmp-being-written"
    fresh.write_bytes(b"x")
    cache.evict()
    assert not stale.exists() and fresh.exists()
    cache.clear()
    assert cache.total_bytes() == 0


def _writer(folder, prefix, count):
    cache = DiskCache(folder, 20_000, rescan_every=8)
    for number in range(count):
        data = bytes([number % 256]) * 1000
        cache.put(f"{prefix}{number % 15}", data)
        found = cache.get(f"{prefix}{(number * 7) % 15}")
        assert found is None or len(set(found)) == 1 and len(found) == 1000


def test_several_processes_share_one_bounded_folder(tmp_path):
    folder = str(tmp_path / "c")
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_writer, args=(folder, prefix, 60)) for prefix in "xyz"]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    assert [worker.exitcode for worker in workers] == [0, 0, 0]
    cache = DiskCache(folder, 20_000)
    assert cache.evict() <= 20_000
    names = os.listdir(folder)
    assert names and not [name for name in names if name.startswith(".tmp-")]
    for name in names:
        data = open(os.path.join(folder, name), "rb").read()
        assert len(data) == 1000 and len(set(data)) == 1  # every entry is whole


def test_udc_cache_is_pointed_at_a_bounded_folder(tmp_path):
    bbi = pytest.importorskip("bbi")
    served = tmp_path / "served"
    served.mkdir()
    write_test_bigwig(str(served / "t.bw"))
    expected = bbi.open(str(served / "t.bw")).fetch("chr1", 0, 1000, 10)
    config = RemoteConfig(udc_cache_dir=str(tmp_path / "udc"))
    folder = udc.udc_cache_folder(config)
    previous = udc.current_udc_folder()
    assert udc.point_udc_cache(folder)
    try:
        assert udc.current_udc_folder() == folder
        # pybbi holds the GIL while it reads a URL: the server must be another process
        with serving_in_process(served) as base:
            with bbi.open(base + "t.bw") as remote:
                assert (remote.fetch("chr1", 0, 1000, 10) == expected).all()
            used = udc.udc_cache_bytes(folder)
            assert used > 0
            assert any("sparseData" in files for _d, _s, files in os.walk(folder))
            assert udc.clean_udc_cache(folder, used) == used  # within the bound: kept
            assert udc.clean_udc_cache(folder, 0) == 0
            assert os.listdir(folder) == []
            with bbi.open(base + "t.bw") as remote:  # refetched after cleaning
                assert (remote.fetch("chr1", 0, 1000, 10) == expected).all()
        udc.wipe_udc_cache(folder)
        assert os.listdir(folder) == []
    finally:
        udc.point_udc_cache(previous)
