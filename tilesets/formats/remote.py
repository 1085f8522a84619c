"""One way to reach a file's bytes, wherever it lives: the entry points of remote access.

- :func:`probe` — check that a URL can be read by ranges and learn its size and version
  (:class:`RemoteInfo`: ``size``, ``validator``, ``token`` for cache keys, ``head`` for magic
  bytes).
- :func:`open_remote` — a seekable binary file (:class:`RangeFile`) over an http(s) or s3 URL,
  e.g. for ``h5py.File``.
- :func:`open_binary` — the same for any location: a local path gives a plain ``open(path, "rb")``.
- :func:`fetch_to_local` — a local path holding the whole file, fetched once into the bounded disk
  cache, for libraries that only take paths (SQLite); refused above ``config.max_fetch_bytes``.

Every failure is a :class:`RemoteError` naming the location without credentials.
"""

import os

from tilesets.formats.httprange import HttpSource
from tilesets.formats.rangefile import RangeFile, disk_cache
from tilesets.formats.remote_config import RemoteConfig, RemoteError, RemoteInfo
from tilesets.formats.s3 import S3Source
from tilesets.formats.urls import Location, parse_location

__all__ = [
    "RemoteConfig", "RemoteError", "RemoteInfo", "Location", "parse_location", "is_remote",
    "source_for", "probe", "open_remote", "open_binary", "fetch_to_local", "whole_file_cache",
]


def _location(location):
    return parse_location(location) if isinstance(location, str) else location


def is_remote(location):
    """Whether ``location`` (text or :class:`Location`) names an http(s) or s3 file."""
    return _location(location).is_remote


def source_for(location, config):
    """The byte source (:class:`HttpSource` or :class:`S3Source`) of a remote location."""
    location = _location(location)
    if location.kind == "http":
        return HttpSource(location, config)
    if location.kind == "s3":
        return S3Source(location, config)
    raise ValueError(f"{location.display} is a local path, not a remote location")


def probe(location, config):
    """The :class:`RemoteInfo` of a remote file; RemoteError if it cannot be read by ranges."""
    return source_for(location, config).probe()


def open_remote(location, config, info=None, source=None):
    """A :class:`RangeFile` over a remote file (probed first unless ``info`` is given)."""
    source = source or source_for(location, config)
    return RangeFile(source, info or source.probe(), config)


def open_binary(location, config):
    """A readable, seekable binary file for a local path or a remote URL."""
    location = _location(location)
    if location.kind == "local":
        return open(location.text, "rb")
    return open_remote(location, config)


def whole_file_cache(config):
    """The on-disk cache that :func:`fetch_to_local` stores whole files in."""
    return disk_cache(config)


def fetch_to_local(location, config, info=None, source=None):
    """A local path with the whole file's bytes: the path itself for a local location; for a
    remote one, its copy in the disk cache (fetched now unless the same version is there)."""
    location = _location(location)
    if location.kind == "local":
        return location.text
    source = source or source_for(location, config)
    info = info or source.probe()
    limit = min(config.max_fetch_bytes, config.disk_cache_bytes)
    if info.size > limit:
        raise RemoteError(
            f"{info.location} is {info.size} bytes; files read whole may have at most {limit}",
            reason="too-large",
        )
    cache = whole_file_cache(config)
    key = f"file\n{info.location}\n{info.validator}"
    found = cache.get_path(key)
    if found is not None:
        try:
            if os.path.getsize(found) == info.size:
                return found
        except FileNotFoundError:
            pass
    with cache.writing(key, expected_size=info.size) as out:
        position = 0
        if info.head and (len(info.head) == info.size or len(info.head) == config.block_size):
            out.write(info.head)
            position = len(info.head)
        while position < info.size:
            end = min(position + config.max_request_bytes, info.size)
            out.write(source.fetch(info, position, end))
            position = end
    return cache.path_for(key)
