"""Ranged reads over HTTP against loopback servers, well-behaved and hostile."""

import os
import time

import pytest
import urllib3

from tests.builders.remote_servers import self_signed_certificate, serving
from tilesets.formats.httprange import HttpSource
from tilesets.formats.remote_config import RemoteConfig, RemoteError

CONFIG = RemoteConfig(allow_private_hosts=True, connect_timeout=1, read_timeout=1,
                      request_deadline=5, retries=2, retry_backoff=0.01, block_size=64 * 1024,
                      max_request_bytes=256 * 1024)


@pytest.fixture
def folder(tmp_path):
    data = os.urandom(300_000)
    (tmp_path / "a.bin").write_bytes(data)
    (tmp_path / "empty.bin").write_bytes(b"")
    (tmp_path / "small.bin").write_bytes(b"tiny file")
    return tmp_path


def data_of(folder, name="a.bin"):
    return (folder / name).read_bytes()


def test_probe_reads_size_validators_and_first_block(folder):
    with serving(folder) as server:
        info = HttpSource(server.url("a.bin"), CONFIG).probe()
    assert info.size == 300_000
    assert info.etag and info.last_modified and info.validator.startswith("etag:")
    assert info.head == data_of(folder)[:64 * 1024]
    assert server.requests == [("GET", "/a.bin", "bytes=0-65535")]


def test_probe_of_small_and_empty_files(folder):
    with serving(folder) as server:
        small = HttpSource(server.url("small.bin"), CONFIG).probe()
        empty = HttpSource(server.url("empty.bin"), CONFIG).probe()
    assert (small.size, small.head) == (9, b"tiny file")
    assert (empty.size, empty.head) == (0, b"")


def test_fetch_returns_exactly_the_range(folder):
    data = data_of(folder)
    with serving(folder) as server:
        source = HttpSource(server.url("a.bin"), CONFIG)
        info = source.probe()
        for start, end in [(0, 1), (1000, 250_000), (299_999, 300_000), (5, 5), (0, 300_000)]:
            assert source.fetch(info, start, end) == data[start:end]
        with pytest.raises(ValueError):
            source.fetch(info, 10, 300_001)


def test_connections_are_reused(folder):
    with serving(folder) as server:
        source = HttpSource(server.url("a.bin"), CONFIG)
        info = source.probe()
        for start in range(0, 100_000, 10_000):
            source.fetch(info, start, start + 100)
        assert len(server.requests) == 11
        assert len(server.clients) == 1  # one keep-alive connection served them all


def test_redirects_are_followed_up_to_the_bound(folder):
    with serving(folder, "chain") as server:
        info = HttpSource(server.url("hop/3/a.bin"), CONFIG).probe()
        assert info.url.endswith("/hop/0/a.bin") and info.size == 300_000
        with pytest.raises(RemoteError, match="more than 5 redirects") as caught:
            HttpSource(server.url("hop/6/a.bin"), CONFIG).probe()
    assert caught.value.reason == "redirects"


def test_transient_failures_are_retried(folder):
    with serving(folder, "flaky", failures=2) as server:
        info = HttpSource(server.url("a.bin"), CONFIG).probe()
    assert info.size == 300_000 and len(server.requests) == 3
    with serving(folder, "flaky", failures=10) as server:
        with pytest.raises(RemoteError, match=r"HTTP 503 \(after 3 attempts\)"):
            HttpSource(server.url("a.bin"), CONFIG).probe()
    assert len(server.requests) == 3


def _fails_quickly(folder, behaviour, reason, pattern, seconds=3, **options):
    with serving(folder, behaviour, **options) as server:
        url = server.url("a.bin")
        started = time.monotonic()
        with pytest.raises(RemoteError, match=pattern) as caught:
            HttpSource(url, CONFIG).probe()
        elapsed = time.monotonic() - started
    assert caught.value.reason == reason
    assert url in str(caught.value)
    assert elapsed < seconds
    return server, caught.value


def test_server_ignoring_range_is_refused_without_reading_the_body(folder):
    server, _error = _fails_quickly(folder, "norange", "no-range", "ignores Range",
                                    body_bytes=200 * 1024 * 1024)
    assert len(server.requests) == 1
    assert server.sent < 20 * 1024 * 1024  # the client hung up; 200 MiB were never read


def test_server_that_never_answers_times_out(folder):
    _server, error = _fails_quickly(folder, "silent", "timeout", "did not answer within 1 s")
    assert isinstance(error, OSError)


def test_redirect_loop_ends_with_an_error(folder):
    server, _error = _fails_quickly(folder, "loop", "redirects", "redirects in a loop")
    assert len(server.requests) == 2


def test_missing_file(folder):
    _server, error = _fails_quickly(folder, "missing", "status", r"HTTP 404 \(not found\)")
    assert error.status == 404


def test_server_stopping_mid_body(folder):
    server, _error = _fails_quickly(folder, "cut", "unreachable",
                                    r"closed after \d+ of 65536 bytes \(after 3 attempts\)")
    assert len(server.requests) == 3


def test_answer_for_other_bytes_is_refused(folder):
    with serving(folder, "wrongrange") as server:
        source = HttpSource(server.url("a.bin"), CONFIG)
        with pytest.raises(RemoteError, match="answered bytes 0-65545 for bytes 0-65535") as caught:
            source.probe()
    assert caught.value.reason == "bad-range"


def test_file_changing_between_reads_is_detected(folder):
    with serving(folder, "changing") as server:
        source = HttpSource(server.url("a.bin"), CONFIG)
        info = source.probe()
        with pytest.raises(RemoteError, match="changed on the server") as caught:
            source.fetch(info, 70_000, 80_000)
    assert caught.value.reason == "changed"


def test_request_deadline_bounds_a_slow_transfer(folder):
    config = RemoteConfig(allow_private_hosts=True, read_timeout=1, request_deadline=0.000001,
                          retries=0)
    with serving(folder) as server:
        with pytest.raises(RemoteError) as caught:
            HttpSource(server.url("a.bin"), config).probe()
    assert caught.value.reason == "timeout"


def test_hostile_servers_leave_the_process_serving(folder):
    """After every kind of failure, a good server is still read correctly."""
    data = data_of(folder)
    with serving(folder) as good:
        source = HttpSource(good.url("a.bin"), CONFIG)
        info = source.probe()
        for behaviour in ("norange", "silent", "loop", "missing", "cut", "wrongrange"):
            with serving(folder, behaviour) as bad:
                with pytest.raises(RemoteError):
                    HttpSource(bad.url("a.bin"), CONFIG).probe()
            assert source.fetch(info, 123, 45_678) == data[123:45_678]


def test_basic_auth_from_the_url_is_sent(folder):
    with serving(folder) as server:
        url = server.url("a.bin").replace("http://", "http://alice:pw@")
        source = HttpSource(url, CONFIG)
        assert source.url == server.url("a.bin")
        assert source.probe().size == 300_000
        assert source._auth.startswith("Basic ")


def test_https_checks_certificates(folder, tmp_path):
    certificate, key = self_signed_certificate(str(tmp_path))
    with serving(folder, tls=(certificate, key)) as server:
        url = server.url("a.bin")
        assert url.startswith("https://127.0.0.1:")
        with pytest.raises(RemoteError, match="TLS failed") as caught:
            HttpSource(url, CONFIG).probe()  # self-signed: not trusted by the system
        assert caught.value.reason == "unreachable"
        trusted = RemoteConfig(allow_private_hosts=True, ca_bundle=certificate, read_timeout=2)
        source = HttpSource(url, trusted)
        info = source.probe()
        assert source.fetch(info, 100, 200) == data_of(folder)[100:200]
        unchecked = RemoteConfig(allow_private_hosts=True, verify_tls=False, read_timeout=2)
        with pytest.warns(urllib3.exceptions.InsecureRequestWarning):
            assert HttpSource(url, unchecked).probe().size == 300_000
