"""Fragments in the Redis tile cache (a real redis-server, as the tile cache tests use)."""

import dataclasses

import pytest

from tests.services.conftest import cache_on, redis_server  # noqa: F401 (fixtures)
from tilesets import generators

pytestmark = pytest.mark.django_db

URL = "/api/v1/fragments_by_loci/"
LOCI = [["chr1", 100_000, 120_000, "chr1", 100_000, 120_000, "hic", 0],
        ["chr2", 10_000, 40_000, "chrX", 60_000, 90_000, "hic", 0]]


@pytest.fixture
def cuts(monkeypatch):
    """The cooler generator's matrix capability, counting the cuts it is asked for."""
    counted = []
    original = generators.REGISTRY["cooler"]

    def matrix(source, cuts, options):
        counted.extend(cuts)
        return original.matrix(source, cuts, options)

    monkeypatch.setitem(generators.REGISTRY, "cooler", dataclasses.replace(original, matrix=matrix))
    return counted


def post(client, loci, query=""):
    response = client.post(URL + query, loci, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def test_fragments_are_cached_by_tileset_version_locus_and_options(hic, anon_client, cache_on, cuts):  # noqa: F811
    hic("hic", kind="dense")
    first = post(anon_client, LOCI)
    assert len(cuts) == 2
    keys = sorted(key.decode() for key in cache_on.keys("*"))
    assert len(keys) == 2 and all(key.startswith("hg:tile:v1:hic:") and ":fragment:" in key for key in keys)
    assert post(anon_client, LOCI) == first
    assert len(cuts) == 2  # both from Redis
    post(anon_client, LOCI[:1] + [LOCI[1][:7] + [2000]])
    assert len(cuts) == 3  # another zoom level: another key
    post(anon_client, LOCI, "?pe=99")
    assert len(cuts) == 5  # other value options: other keys
    assert post(anon_client, LOCI, "?nc=1") == first
    assert len(cuts) == 7  # no-cache: computed again
    assert post(anon_client, LOCI, "?pr=2")["fragments"] != first["fragments"]  # rounding after the cache
    assert len(cuts) == 7


def test_redis_down_still_answers(hic, anon_client, cache_on, redis_server, cuts):  # noqa: F811
    hic("hic")
    redis_server.stop()
    assert len(post(anon_client, LOCI)["fragments"]) == 2
