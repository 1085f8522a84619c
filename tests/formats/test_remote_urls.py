"""Locations (path, http(s), s3, refused schemes) and the guard against reaching private hosts."""

import time

import pytest

from tests.builders.remote_servers import serving
from tilesets.formats.httprange import HttpSource
from tilesets.formats.remote_config import RemoteConfig, RemoteError, RemoteInfo
from tilesets.formats.urls import (
    address_allowed,
    address_is_public,
    display_url,
    parse_location,
    resolve_checked,
)

STRICT = RemoteConfig(connect_timeout=1, read_timeout=1, retries=0)


def test_local_paths_and_urls_are_told_apart():
    assert parse_location("/data/a.mcool").kind == "local"
    assert parse_location("relative/a.bw").kind == "local"
    web = parse_location("HTTPS://Example.org:8443/a/b.bw?x=1#frag")
    assert (web.kind, web.scheme, web.host, web.port) == ("http", "https", "example.org", 8443)
    assert "#" not in web.text
    s3 = parse_location("s3://bucket/deep/key.mcool")
    assert (s3.kind, s3.bucket, s3.key) == ("s3", "bucket", "deep/key.mcool")
    assert parse_location("http://h/x").is_remote and not parse_location("/x").is_remote


@pytest.mark.parametrize("text", [
    "file:///etc/passwd", "ftp://example.org/a.bw", "gopher://x/", "file:/etc/passwd",
    "javascript:alert(1)", "data:text/plain,hi", "s3://bucket", "s3://bucket/", "http:///path",
    "http://exa mple.org:99999/x", "", "http://example.org/a\r\nHost: evil",
])
def test_other_schemes_and_malformed_urls_are_refused(text):
    with pytest.raises(RemoteError) as caught:
        parse_location(text)
    assert caught.value.reason == "scheme"
    assert isinstance(caught.value, OSError)


def test_refusal_names_the_supported_schemes():
    with pytest.raises(RemoteError, match=r"ftp scheme is not supported.*http\(s\)://.*s3://"):
        parse_location("ftp://example.org/a.bw")


def test_display_drops_credentials_and_query():
    location = parse_location("https://alice:s3cret@example.org/a.bw?X-Amz-Signature=abc")
    assert (location.username, location.password) == ("alice", "s3cret")
    assert location.display == "https://example.org/a.bw?…"
    assert "s3cret" not in display_url("http://u:s3cret@[::1]:81/p")
    assert display_url("http://u:s3cret@[::1]:81/p") == "http://[::1]:81/p"


@pytest.mark.parametrize("address", [
    "127.0.0.1", "127.9.9.9", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254",
    "100.64.0.1", "0.0.0.0", "224.0.0.1", "240.0.0.1", "255.255.255.255", "::1", "::",
    "fe80::1", "fc00::1", "ff02::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "64:ff9b::a00:1",
    "2002:a00:1::",
])
def test_non_public_addresses(address):
    assert not address_is_public(address)
    assert not address_allowed(address, STRICT)
    assert address_allowed(address, RemoteConfig(allow_private_hosts=True))


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses(address):
    assert address_is_public(address)
    assert address_allowed(address, STRICT)


def test_allowed_private_networks_open_only_those():
    config = RemoteConfig(allowed_private_networks=("127.0.0.1/32", "10.1.0.0/16"))
    assert address_allowed("127.0.0.1", config)
    assert address_allowed("::ffff:127.0.0.1", config)
    assert address_allowed("10.1.200.3", config)
    assert not address_allowed("127.0.0.2", config)
    assert not address_allowed("10.2.0.1", config)
    assert not address_allowed("::1", config)


@pytest.mark.parametrize("host", ["127.0.0.1", "10.0.0.1", "169.254.169.254", "::1", "localhost"])
def test_resolution_refuses_private_hosts(host):
    # Numeric hosts and localhost resolve locally: nothing is sent anywhere.
    with pytest.raises(RemoteError) as caught:
        resolve_checked(host, 80, STRICT)
    assert caught.value.reason == "forbidden-host"
    assert resolve_checked(host, 80, RemoteConfig(allow_private_hosts=True))


def test_loopback_server_is_refused_before_any_request(tmp_path):
    (tmp_path / "a.bin").write_bytes(b"x" * 100)
    with serving(tmp_path) as server:
        with pytest.raises(RemoteError) as caught:
            HttpSource(server.url("a.bin"), STRICT).probe()
        assert caught.value.reason == "forbidden-host"
        assert "127.0.0.1" in str(caught.value)
        assert server.requests == []
        allowed = RemoteConfig(allow_private_hosts=True)
        assert HttpSource(server.url("a.bin"), allowed).probe().size == 100


@pytest.mark.parametrize("target", [
    "http://10.1.2.3/a.bin", "http://169.254.169.254/latest/meta-data/", "http://127.0.0.2:9/a.bin",
    "http://[::1]:9/a.bin", "http://0.0.0.0:9/a.bin",
])
def test_each_redirect_hop_is_checked(tmp_path, target):
    # The first hop (127.0.0.1) is allowed through its network; the redirect target is refused
    # when resolved, before any connection is attempted.
    config = RemoteConfig(allowed_private_networks=("127.0.0.1/32",), connect_timeout=1,
                          read_timeout=1, retries=0)
    with serving(tmp_path, "redirect", target=target) as server:
        started = time.monotonic()
        with pytest.raises(RemoteError) as caught:
            HttpSource(server.url("a.bin"), config).probe()
        assert time.monotonic() - started < 1
    assert caught.value.reason == "forbidden-host"
    assert len(server.requests) == 1


def test_redirect_to_another_scheme_is_refused(tmp_path):
    config = RemoteConfig(allow_private_hosts=True, retries=0)
    with serving(tmp_path, "redirect", target="file:///etc/passwd") as server:
        with pytest.raises(RemoteError, match="unsupported location") as caught:
            HttpSource(server.url("a.bin"), config).probe()
    assert caught.value.reason == "redirects"


def test_credentials_in_urls_never_reach_messages(tmp_path):
    config = RemoteConfig(allow_private_hosts=True, retries=0)
    with serving(tmp_path, "missing") as server:
        url = server.url("a.bin").replace("http://", "http://alice:s3cret@") + "?token=t0ps3cret"
        with pytest.raises(RemoteError) as caught:
            HttpSource(url, config).probe()
    text = str(caught.value)
    assert "404" in text and "s3cret" not in text and "t0ps3cret" not in text and "alice" not in text


def test_config_validation_and_info_tokens():
    with pytest.raises(ValueError):
        RemoteConfig(block_size=0)
    with pytest.raises(ValueError):
        RemoteConfig(block_size=1024, max_request_bytes=512)
    one = RemoteInfo("http://h/a", "http://h/a", 10, etag='"x"')
    assert one.validator == 'etag:"x"'
    assert RemoteInfo("http://h/a", "", 10, last_modified="Tue").validator == "lm:Tue:10"
    assert RemoteInfo("http://h/a", "", 10).validator == "size:10"
    assert one.token != RemoteInfo("http://h/a", "", 10, etag='"y"').token
    assert len(one.token) == 32
