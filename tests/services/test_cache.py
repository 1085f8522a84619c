"""The Redis tile cache against a real redis-server started by the tests."""

import json
import logging
from pathlib import Path

import pytest

from tilesets import generators
from tilesets.cache import PREFIX, tile_cache
from tilesets.generators.base import Generator
from tilesets.ingest import ingest_tileset

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def counted(monkeypatch):
    """A 1-D filetype whose tiles show the file's first line; counts how many tiles it made."""
    calls = []

    def tiles(source, requests, options):
        calls.extend(r.id for r in requests)
        head = Path(source.datafile).read_text().splitlines()[0]
        return {r.id: {"head": head, "x": r.coords[0], "options": options, "value": 0.1 * r.coords[0]}
                for r in requests if r.coords[0] != 7}

    monkeypatch.setitem(generators.REGISTRY, "counted", Generator(filetype="counted", validate=lambda p, i: None, tiles=tiles))
    return calls


def make(outside, uid, text="first", **kw):
    path = outside / f"{uid}.txt"
    path.write_text(text + "\n")
    return ingest_tileset(datafile=str(path), filetype="counted", strict_filetype=False, uid=uid, **kw)


def test_second_request_is_served_from_redis(cache_on, counted, outside, anon_client):
    make(outside, "c1")
    url = "/api/v1/tiles/?d=c1.0.1&d=c1.0.2&d=c1.0.7"
    first = anon_client.get(url)
    second = anon_client.get(url)
    assert first.content == second.content
    assert sorted(counted) == ["c1.0.1", "c1.0.2", "c1.0.7", "c1.0.7"]  # absent tiles are not cached
    keys = sorted(k.decode() for k in cache_on.keys("*"))
    assert len(keys) == 2 and all(k.startswith(f"{PREFIX}c1:") for k in keys)
    assert json.loads(cache_on.get(keys[0]))["head"] == "first"  # plain JSON values


def test_options_are_part_of_the_key(cache_on, counted, outside, anon_client):
    make(outside, "c2")
    body = [{"tilesetUid": "c2", "tileIds": ["0.1"], "options": {"aggGroups": [0], "aggFunc": "sum"}}]
    with_options = anon_client.post("/api/v1/tiles/", body, format="json").json()
    plain = anon_client.get("/api/v1/tiles/?d=c2.0.1").json()
    assert with_options["c2.0.1"]["options"] == {"aggGroups": [0], "aggFunc": "sum"}
    assert plain["c2.0.1"]["options"] is None
    assert len(cache_on.keys("*")) == 2


def test_permission_is_checked_before_the_cache(cache_on, counted, outside, owner, owner_client, anon_client, other_client):
    make(outside, "secret", owner=owner, private=True)
    assert "secret.0.1" in owner_client.get("/api/v1/tiles/?d=secret.0.1").json()
    assert len(cache_on.keys("*")) == 1
    unknown = {"secret.0.1": {"error": "No such tileset with uid: secret"}}  # as an unknown uid, not the cached tile
    assert anon_client.get("/api/v1/tiles/?d=secret.0.1").json() == unknown
    assert other_client.get("/api/v1/tiles/?d=secret.0.1").json() == unknown


def test_delete_and_reingest_invalidate(cache_on, counted, outside, owner, owner_client, anon_client):
    make(outside, "c3", owner=owner)
    assert anon_client.get("/api/v1/tiles/?d=c3.0.1").json()["c3.0.1"]["head"] == "first"
    assert owner_client.delete("/api/v1/tilesets/c3/").status_code == 204
    assert cache_on.keys("*") == []
    assert anon_client.get("/api/v1/tiles/?d=c3.0.1").json()["c3.0.1"]["error"].startswith("No such tileset")
    make(outside, "c3", text="second")
    assert anon_client.get("/api/v1/tiles/?d=c3.0.1").json()["c3.0.1"]["head"] == "second"


def test_patch_and_file_changes_invalidate(cache_on, counted, outside, owner, owner_client, anon_client, media):
    tileset = make(outside, "c4", owner=owner)
    anon_client.get("/api/v1/tiles/?d=c4.0.1")
    assert len(cache_on.keys("*")) == 1
    owner_client.patch("/api/v1/tilesets/c4/", {"coordSystem": "hg19"}, format="json")
    assert cache_on.keys("*") == []
    anon_client.get("/api/v1/tiles/?d=c4.0.1")
    (media / tileset.datafile.name).write_text("replaced on disk, longer\n")
    assert anon_client.get("/api/v1/tiles/?d=c4.0.1").json()["c4.0.1"]["head"] == "replaced on disk, longer"


def test_redis_going_down_never_fails_a_request(cache_on, counted, outside, anon_client, redis_server, caplog):
    make(outside, "c5")
    assert anon_client.get("/api/v1/tiles/?d=c5.0.1").status_code == 200
    redis_server.stop()
    with caplog.at_level(logging.WARNING, logger="tilesets"):
        response = anon_client.get("/api/v1/tiles/?d=c5.0.1&d=c5.0.2")
    assert response.status_code == 200 and set(response.json()) == {"c5.0.1", "c5.0.2"}
    assert any("Redis tile cache unavailable" in r.getMessage() for r in caplog.records)
    calls = len(counted)
    assert anon_client.get("/api/v1/tiles/?d=c5.0.1").status_code == 200  # skipped while down
    assert len(counted) == calls + 1
    redis_server.start()
    tile_cache._down_until = 0.0
    anon_client.get("/api/v1/tiles/?d=c5.0.3")
    anon_client.get("/api/v1/tiles/?d=c5.0.3")
    assert counted.count("c5.0.3") == 1  # caching again


def test_cache_is_off_without_redis_host(settings, counted, outside, anon_client):
    settings.REDIS_HOST = None
    make(outside, "c6")
    anon_client.get("/api/v1/tiles/?d=c6.0.1")
    anon_client.get("/api/v1/tiles/?d=c6.0.1")
    assert counted == ["c6.0.1", "c6.0.1"]


def test_unreachable_redis_host_at_start(settings, counted, outside, anon_client):
    from tests.builders.servers import free_port

    settings.REDIS_HOST = "127.0.0.1"
    settings.REDIS_PORT = free_port()  # nothing listens there
    tile_cache._down_until = 0.0
    make(outside, "c7")
    assert anon_client.get("/api/v1/tiles/?d=c7.0.1").json()["c7.0.1"]["head"] == "first"
    tile_cache._down_until = 0.0
