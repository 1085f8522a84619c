"""The optional Redis tile cache (on when ``REDIS_HOST`` is set).

* Keys: ``hg:tile:v1:<tileset uuid>:<version>:<tile id>[:<sha1 of the options>]``. The version
  changes with the tileset's row, its file (its file-version token: device, inode, size, mtime
  of a local file; for a URL, the validator of its latest probe: ETag, else Last-Modified and
  size) and the assembly it reads its chromosome order from, so a re-ingest or a changed file is
  never answered from old entries. A remote file is probed again at most every
  ``REMOTE_REVALIDATE_SECONDS``: until then a file replaced on its server may still be answered
  from the entries of its previous version.
* Values: the tile's JSON bytes (never pickle).
* Callers check permissions first; the cache only ever sees tiles the caller may read.
* Redis being down never fails a request: tiles are computed uncached, a warning is logged, and
  Redis is left alone for a few seconds before the next try.
"""

import hashlib
import json
import logging
import threading
import time

from django.conf import settings

from .generators import file_version

logger = logging.getLogger("tilesets")

PREFIX = "hg:tile:v1:"
RETRY_AFTER = 5.0  # seconds without Redis after a failure


def _digest(value):
    return hashlib.sha1(json.dumps(value, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


class TileCache:
    def __init__(self):
        self._client = None
        self._config = None
        self._down_until = 0.0
        self._lock = threading.Lock()

    # --- connection ------------------------------------------------------------------------

    def _redis(self):
        host = settings.REDIS_HOST
        if not host or time.monotonic() < self._down_until:
            return None
        config = (host, settings.REDIS_PORT, settings.REDIS_DB, settings.REDIS_PASSWORD)
        with self._lock:
            if self._client is None or self._config != config:
                import redis
                from redis.backoff import NoBackoff
                from redis.retry import Retry

                self._client = redis.Redis(
                    host=host, port=config[1], db=config[2], password=config[3],
                    socket_connect_timeout=0.5, socket_timeout=1.0,
                    retry=Retry(NoBackoff(), 0),  # a cache: fail fast, never hold a request up
                )
                self._config = config
            return self._client

    def _failed(self, exc):
        self._down_until = time.monotonic() + RETRY_AFTER
        logger.warning("Redis tile cache unavailable (%s); serving tiles uncached", exc)

    @property
    def enabled(self):
        return bool(settings.REDIS_HOST)

    # --- keys ------------------------------------------------------------------------------

    @staticmethod
    def version(tileset, source):
        """A tag of everything a tileset's tiles depend on, or None if the file cannot be seen."""
        try:
            version = file_version(source.datafile)
        except OSError:
            return None
        context = _digest(source.context)[:12] if source.context else "-"
        return f"{tileset.pk}.{version.token}.{context}"

    @staticmethod
    def key(uuid, version, tile_id, options=None):
        key = f"{PREFIX}{uuid}:{version}:{tile_id}"
        return f"{key}:{_digest(options)}" if options else key

    # --- operations ------------------------------------------------------------------------

    def get_many(self, keys):
        """``{key: tile}`` for the keys found."""
        client = self._redis() if keys else None
        if client is None:
            return {}
        try:
            values = client.mget(keys)
        except Exception as exc:  # redis.RedisError, OSError
            self._failed(exc)
            return {}
        found = {}
        for key, value in zip(keys, values):
            if value is not None:
                try:
                    found[key] = json.loads(value)
                except ValueError:
                    logger.warning("Ignoring a cached tile that is not JSON: %s", key)
        return found

    def set_many(self, tiles):
        """Store ``{key: tile}``; entries expire after ``REDIS_TILE_TTL`` seconds (0: never)."""
        client = self._redis() if tiles else None
        if client is None:
            return
        ttl = settings.REDIS_TILE_TTL or None
        try:
            with client.pipeline(transaction=False) as pipe:
                for key, tile in tiles.items():
                    pipe.set(key, json.dumps(tile).encode(), ex=ttl)
                pipe.execute()
        except Exception as exc:
            self._failed(exc)

    def invalidate(self, uuid):
        """Drop every cached tile of a tileset (all versions)."""
        client = self._redis()
        if client is None:
            return
        try:
            batch = []
            for key in client.scan_iter(match=f"{PREFIX}{_escape(uuid)}:*", count=1000):
                batch.append(key)
                if len(batch) >= 1000:
                    client.unlink(*batch)
                    batch = []
            if batch:
                client.unlink(*batch)
        except Exception as exc:
            self._failed(exc)


def _escape(text):
    """Escape Redis glob characters in a uid."""
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


tile_cache = TileCache()
