"""Fixtures of the service tests that use the Redis tile cache."""

import pytest
import redis

from tests.builders.servers import RedisServer
from tilesets.cache import tile_cache


@pytest.fixture(scope="module")
def redis_server():
    """A real redis-server for the module (restarted by ``cache_on`` if a test stopped it)."""
    server = RedisServer()
    server.start()
    yield server
    server.close()


@pytest.fixture
def cache_on(settings, redis_server):
    """The tile cache on, pointed at an emptied ``redis_server``; yields a client of it."""
    if redis_server.process is None:
        redis_server.start()
    settings.REDIS_HOST = "127.0.0.1"
    settings.REDIS_PORT = redis_server.port
    client = redis.Redis(host="127.0.0.1", port=redis_server.port)
    client.flushall()
    tile_cache._down_until = 0.0
    yield client
    tile_cache._down_until = 0.0
