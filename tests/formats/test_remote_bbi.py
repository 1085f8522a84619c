"""pybbi on URLs in helper processes (tilesets/formats/bbiworker.py) and its udc cache folder.

The helpers are real processes reading from a loopback server in a thread of the test process
(pybbi runs in the helpers, so it never holds this process's GIL)."""

import os
import signal

import bbi
import numpy as np
import pytest

from tests.builders.bigbed_data import IN_FILE, records_of, write_bigbed
from tests.builders.bigwig_data import write_bigwig, write_test_bigwig
from tests.builders.remote_servers import serving
from tests.builders.remote_tilesets import remote_access
from tilesets.formats import access, bbiworker, pybbi
from tilesets.formats.errors import FormatError
from tilesets.formats.remote_config import RemoteError
from tilesets.formats.udc import udc_cache_bytes


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bbi")
    write_test_bigwig(folder / "signal.bw", zooms=2)
    write_bigbed(folder / "annotations.bb", IN_FILE, records_of())
    return folder


@pytest.fixture
def remote(tmp_path):
    with remote_access(str(tmp_path), connect_timeout=1, read_timeout=1, request_deadline=2, retries=0) as config:
        yield config


def _open(url, config):
    return bbiworker.RemoteBbi(access.library_name(url), access.shown(url), config.udc_cache_dir, 5)


def test_a_helper_answers_as_pybbi_does_here(folder, remote):
    with serving(folder) as server, bbi.open(str(folder / "signal.bw")) as here:
        there = _open(server.url("signal.bw"), remote)
        assert there.chromsizes == dict(here.chromsizes) and there.is_bigwig and not there.is_bigbed
        for stat in ("mean", "max", "std"):
            assert np.array_equal(there.fetch("chr1", 0, 3059, bins=37, missing=np.nan, summary=stat),
                                  here.fetch("chr1", 0, 3059, bins=37, missing=np.nan, summary=stat), equal_nan=True)
        with pytest.raises(KeyError):
            there.fetch("chrNone", 0, 10, bins=1)
        with bbi.open(str(folder / "annotations.bb")) as beds:
            other = _open(server.url("annotations.bb"), remote)
            assert other.is_bigbed
            assert other.fetch_intervals("chr2", 0, 3072) == list(beds.fetch_intervals("chr2", 0, 3072, iterator=True))
        there.close()
        other.close()


def test_a_helper_that_dies_is_replaced_and_one_dying_in_a_call_is_an_error(tmp_path, remote):
    write_bigwig(tmp_path / "big.bw", [("chr1", 400_000)],
                 {"chr1": np.random.default_rng(2).integers(0, 9, size=400_000).astype(float)})
    with serving(tmp_path) as server:
        url = server.url("big.bw")
        there = _open(url, remote)
        for pool in list(bbiworker._pools.values()):  # idle helpers ended from outside
            for worker in list(pool._idle.queue):
                if worker is not None:
                    os.kill(worker.process.pid, signal.SIGKILL)
                    worker.process.wait(5)
        assert len(there.fetch("chr1", 0, 1000, bins=10)) == 10  # a new helper opened it again
        server.behaviour = "norange"  # pybbi's udc layer calls exit() on a 200 to a ranged GET
        with pytest.raises(RemoteError) as caught:
            there.fetch("chr1", 390_000, 400_000, bins=10)
        assert url in str(caught.value) and "reading it failed" in str(caught.value)
        server.behaviour = "range"
        assert len(there.fetch("chr1", 390_000, 400_000, bins=10)) == 10


def test_pybbi_errors_name_the_url(folder, remote):
    with serving(folder, "missing") as server:
        with pytest.raises(FormatError) as caught:
            pybbi.open_path(server.url("signal.bw"), "bigWig")
        assert "404" in str(caught.value) and server.url("signal.bw") in str(caught.value)


def test_a_bbi_url_with_a_password_is_read_from_a_local_copy(folder, remote):
    with serving(folder) as server:
        url = server.url("signal.bw").replace("http://", "http://someone:hidden@")
        copy = access.library_name(url)
        assert os.path.isfile(copy) and open(copy, "rb").read() == (folder / "signal.bw").read_bytes()
        handle = pybbi.open_checked(url, "bigWig")
        assert not isinstance(handle, bbiworker.RemoteBbi) and handle.is_bigwig
        handle.close()


def _fake_udc_entry(folder, name, size):
    entry = os.path.join(folder, "http", "127.0.0.1", name)
    os.makedirs(entry, exist_ok=True)
    with open(os.path.join(entry, "sparseData"), "wb") as out:
        out.write(os.urandom(size))
    with open(os.path.join(entry, "bitmap"), "wb") as out:
        out.write(b"\1" * 16)


def test_the_udc_folder_is_trimmed_when_remote_files_open_at_most_once_a_minute(folder, tmp_path):
    udc = str(tmp_path / "udc")
    with remote_access(str(tmp_path), udc_cache_dir=udc, udc_cache_bytes=300_000) as config:
        for number in range(4):
            _fake_udc_entry(udc, f"old{number}", 200_000)
        assert udc_cache_bytes(udc) > 800_000
        pybbi._cleaning["last"] = None
        with serving(folder) as server:
            handle = pybbi.open_checked(server.url("signal.bw"), "bigWig")
            handle.close()
        assert udc_cache_bytes(udc) <= 300_000
        for number in range(4):
            _fake_udc_entry(udc, f"again{number}", 200_000)
        assert not pybbi.clean_udc_now_and_then(config)  # cleaned a moment ago: not yet again
        assert udc_cache_bytes(udc) > 800_000
        assert pybbi.clean_udc_now_and_then(config, every=0)
        assert udc_cache_bytes(udc) <= 300_000
