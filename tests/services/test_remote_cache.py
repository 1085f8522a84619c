"""The Redis tile cache and remote files: a file replaced on its server (a new ETag) is not
answered from the entries of its old version once the server's probe of it is renewed
(REMOTE_REVALIDATE_SECONDS). A real redis-server and a loopback HTTP server started here."""

import time

import pytest
from django.contrib.auth.models import AnonymousUser

from tests.builders.remote_servers import serving
from tilesets import generators
from tilesets.cache import PREFIX, tile_cache
from tilesets.formats import access
from tilesets.generators.base import Generator
from tilesets.models import Tileset

pytestmark = pytest.mark.django_db(transaction=True)

REVALIDATE = 0.5  # seconds a probe of a URL is trusted in these tests


@pytest.fixture
def remote_on(settings):
    """Loopback URLs allowed, probes renewed after REVALIDATE seconds (the settings reconfigure
    the remote layer when they change)."""
    settings.REMOTE_ALLOW_PRIVATE_HOSTS = True
    settings.REMOTE_REVALIDATE_SECONDS = REVALIDATE


@pytest.fixture
def served(tmp_path):
    folder = tmp_path / "served"
    folder.mkdir()
    (folder / "data.txt").write_text("first\n")
    with serving(folder) as server:
        yield folder, server


@pytest.fixture
def counted(monkeypatch):
    """A 1-D filetype whose tiles show the first line of the (remote) file; counts its tiles."""
    calls = []

    def tiles(source, requests, options):
        calls.extend(r.id for r in requests)
        with access.open_binary(source.datafile) as handle:
            head = handle.read().decode().splitlines()[0]
        return {r.id: {"head": head, "x": r.coords[0]} for r in requests}

    monkeypatch.setitem(generators.REGISTRY, "counted",
                        Generator(filetype="counted", validate=lambda p, i: None, tiles=tiles))
    return calls


def versions_cached(client, uid):
    """The distinct versions of the tileset ``uid`` among the cached tiles' keys."""
    return {key.decode()[len(PREFIX):].split(":")[1] for key in client.keys(f"{PREFIX}{uid}:*")}


def test_version_of_a_url_follows_its_validator(cache_on, remote_on, served):
    folder, server = served
    url = server.url("data.txt")
    tileset = Tileset.objects.create(uuid="v1", datafile="uploads/unused", filetype="counted")
    source = generators.Source(datafile=url)
    old = tile_cache.version(tileset, source)
    assert old is not None
    tile_cache.set_many({tile_cache.key("v1", old, "v1.0.1"): {"head": "first"}})

    (folder / "data.txt").write_text("second, longer\n")  # a new ETag and size
    assert tile_cache.version(tileset, source) == old  # the probe is trusted for REVALIDATE s
    time.sleep(REVALIDATE + 0.2)
    new = tile_cache.version(tileset, source)
    assert new != old
    assert tile_cache.get_many([tile_cache.key("v1", new, "v1.0.1")]) == {}
    assert tile_cache.get_many([tile_cache.key("v1", old, "v1.0.1")])  # old entries only expire


def test_a_replaced_remote_file_is_not_served_from_old_tiles(cache_on, remote_on, served, counted):
    if not hasattr(Tileset, "remote"):
        pytest.skip("Tileset rows do not hold URLs yet")
    from tilesets.tiles import get_tiles

    folder, server = served
    Tileset.objects.create(uuid="r1", datafile=server.url("data.txt"), remote=True, owns_file=False,
                           filetype="counted")
    anonymous = AnonymousUser()
    assert get_tiles(["r1.0.1"], anonymous)["r1.0.1"]["head"] == "first"
    assert get_tiles(["r1.0.1"], anonymous)["r1.0.1"]["head"] == "first"
    assert counted == ["r1.0.1"]  # the second answer came from Redis
    assert len(versions_cached(cache_on, "r1")) == 1

    (folder / "data.txt").write_text("second\n")
    time.sleep(REVALIDATE + 0.2)
    assert get_tiles(["r1.0.1"], anonymous)["r1.0.1"]["head"] == "second"
    assert counted == ["r1.0.1", "r1.0.1"]
    assert len(versions_cached(cache_on, "r1")) == 2  # a new key; the old entry is never read again
    assert get_tiles(["r1.0.1"], anonymous)["r1.0.1"]["head"] == "second"
    assert counted == ["r1.0.1", "r1.0.1"]
