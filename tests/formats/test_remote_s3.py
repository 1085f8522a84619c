"""s3:// reads against moto's standalone S3 server (a real process on a loopback port)."""

import os
import shutil
import subprocess

import h5py
import numpy as np
import pytest

from tests.builders.servers import free_port, wait_for_port
from tilesets.formats.remote import fetch_to_local, open_remote, probe
from tilesets.formats.remote_config import RemoteConfig, RemoteError
from tilesets.formats.s3 import S3Source, filesystem

BLOCK = 16 * 1024


@pytest.fixture(scope="module")
def s3_endpoint():
    binary = shutil.which("moto_server") or os.path.join(os.path.dirname(os.sys.executable), "moto_server")
    if not os.path.exists(binary):
        pytest.skip("moto_server is not installed (pip install -r requirements-test.txt)")
    port = free_port()
    server = subprocess.Popen([binary, "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(10)


@pytest.fixture
def config(s3_endpoint, tmp_path):
    return RemoteConfig(
        s3_endpoint_url=s3_endpoint, s3_region="eu-west-1", s3_key="testing", s3_secret="testing",
        connect_timeout=2, read_timeout=5, retries=1, block_size=BLOCK,
        max_request_bytes=8 * BLOCK, disk_cache_dir=str(tmp_path / "cache"),
    )


@pytest.fixture
def bucket(config):
    fs = filesystem(config)
    name = f"bucket-{os.getpid()}-{os.urandom(3).hex()}"
    fs.mkdir(name)
    return name


def test_probe_and_ranged_reads(config, bucket):
    data = os.urandom(100_000)
    filesystem(config).pipe(f"{bucket}/dir/a.bin", data)
    source = S3Source(f"s3://{bucket}/dir/a.bin", config)
    info = source.probe()
    assert info.size == 100_000 and info.etag and info.validator.startswith("etag:")
    assert info.head == data[:BLOCK]
    assert info.location == f"s3://{bucket}/dir/a.bin"
    assert source.fetch(info, 99_990, 100_000) == data[99_990:]
    remote = open_remote(f"s3://{bucket}/dir/a.bin", config)
    remote.seek(12_345)
    assert remote.read(70_000) == data[12_345:82_345]


def test_h5py_over_s3(config, bucket, tmp_path):
    path = tmp_path / "t.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("m", data=np.arange(40_000, dtype="f4").reshape(200, 200), chunks=(50, 50))
        f.attrs["kind"] = "matrix"
    filesystem(config).put_file(str(path), f"{bucket}/t.h5")
    with h5py.File(open_remote(f"s3://{bucket}/t.h5", config), "r") as remote:
        assert remote.attrs["kind"] == "matrix"
        assert (remote["m"][150:160, 30:40] == np.arange(40_000, dtype="f4").reshape(200, 200)[150:160, 30:40]).all()


def test_fetch_to_local_from_s3(config, bucket):
    filesystem(config).pipe(f"{bucket}/db.sqlite", b"SQLite format 3\0" + bytes(50_000))
    path = fetch_to_local(f"s3://{bucket}/db.sqlite", config)
    assert open(path, "rb").read(16) == b"SQLite format 3\0" and os.path.getsize(path) == 50_016


def test_missing_objects_and_buckets(config, bucket):
    for location in (f"s3://{bucket}/nothing.bin", "s3://no-such-bucket-here/x.bin"):
        with pytest.raises(RemoteError, match="no such object") as caught:
            probe(location, config)
        assert caught.value.status == 404 and location in str(caught.value)


def test_a_replaced_object_is_detected(config, bucket):
    fs = filesystem(config)
    fs.pipe(f"{bucket}/v.bin", bytes(100_000))
    source = S3Source(f"s3://{bucket}/v.bin", config)
    info = source.probe()
    fs.pipe(f"{bucket}/v.bin", b"\1" * 100_000)
    with pytest.raises(RemoteError, match="changed") as caught:
        source.fetch(info, 50_000, 60_000)
    assert caught.value.reason == "changed"
    assert S3Source(f"s3://{bucket}/v.bin", config).probe().etag != info.etag


def test_unreachable_endpoint_is_a_remote_error(tmp_path):
    config = RemoteConfig(s3_endpoint_url=f"http://127.0.0.1:{free_port()}", s3_key="k",
                          s3_secret="s", s3_region="us-east-1", connect_timeout=1, read_timeout=1,
                          retries=0)
    with pytest.raises(RemoteError, match="cannot be reached|did not answer|S3 read failed") as caught:
        probe("s3://bucket/key.bin", config)
    assert "s3://bucket/key.bin" in str(caught.value)
