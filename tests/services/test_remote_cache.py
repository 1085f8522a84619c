"""The Redis tile cache and remote files: a file replaced on its server (a new ETag) is not
answered from the entries of its old version once the server's probe of it is renewed
(REMOTE_REVALIDATE_SECONDS). A real redis-server and a loopback HTTP server started here."""

import time

import pytest
from django.contrib.auth.models import AnonymousUser

from tests.builders.annotation_data import random_genes, write_beddb
from tests.builders.remote_servers import serving
from tilesets import generators
from tilesets.cache import PREFIX, tile_cache
from tilesets.models import Tileset
from tilesets.register import register_url
from tilesets.tiles import get_tiles

pytestmark = pytest.mark.django_db(transaction=True)

REVALIDATE = 0.5  # seconds a probe of a URL is trusted in these tests
SIZES = [("chr1", 100_000), ("chr2", 50_000)]


@pytest.fixture
def remote_on(settings, tmp_path):
    """Loopback URLs allowed, probes renewed after REVALIDATE seconds, caches under tmp_path (the
    settings reconfigure the remote layer when they change)."""
    settings.REMOTE_ALLOW_PRIVATE_HOSTS = True
    settings.REMOTE_REVALIDATE_SECONDS = REVALIDATE
    settings.REMOTE_CACHE_DIR = str(tmp_path / "remote-cache")
    settings.REMOTE_UDC_CACHE_DIR = str(tmp_path / "udc")


@pytest.fixture
def served(tmp_path):
    folder = tmp_path / "served"
    folder.mkdir()
    with serving(folder) as server:
        yield folder, server


def write_genes(path, seed):
    """A small beddb (the filetype is read remotely from a whole copy in the disk cache)."""
    write_beddb(path, SIZES, random_genes(SIZES, 40, seed=seed))


def names(tile):
    return sorted(entry["fields"][3] for entry in tile)


def versions_cached(client, uid):
    """The distinct versions of the tileset ``uid`` among the cached tiles' keys."""
    return {key.decode()[len(PREFIX):].split(":")[1] for key in client.keys(f"{PREFIX}{uid}:*")}


def test_version_of_a_url_follows_its_validator(cache_on, remote_on, served):
    folder, server = served
    (folder / "data.txt").write_text("first\n")
    url = server.url("data.txt")
    tileset = Tileset.objects.create(uuid="v1", datafile="uploads/unused", filetype="beddb")
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


def test_a_replaced_remote_file_is_not_served_from_old_tiles(cache_on, remote_on, served):
    folder, server = served
    write_genes(folder / "genes.beddb", seed=1)
    register_url(fileurl=server.url("genes.beddb"), filetype="beddb", uid="r1")
    anonymous = AnonymousUser()
    before = get_tiles(["r1.0.0"], anonymous)["r1.0.0"]
    assert len(before) == 40 and versions_cached(cache_on, "r1")
    requests = len(server.requests)
    assert get_tiles(["r1.0.0"], anonymous)["r1.0.0"] == before
    assert len(server.requests) == requests  # from Redis, the probe still trusted

    write_genes(folder / "genes.beddb", seed=2)  # replaced on the server: a new ETag
    time.sleep(REVALIDATE + 0.2)
    after = get_tiles(["r1.0.0"], anonymous)["r1.0.0"]
    assert names(after) == names(before) and after != before  # the same names, other genes
    assert len(versions_cached(cache_on, "r1")) == 2  # a new key; the old entry is never read again
    assert get_tiles(["r1.0.0"], anonymous)["r1.0.0"] == after
