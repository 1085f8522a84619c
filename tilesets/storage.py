"""Where tileset files live: names stored relative to MEDIA_ROOT, resolved with containment checks,
or, for remote tilesets, http(s):// and s3:// URLs handed to the generators as they are."""

import os
from pathlib import Path

from django.conf import settings

from . import generators


def media_root():
    return Path(settings.MEDIA_ROOT).resolve()


def is_within(path, root):
    path, root = Path(path).resolve(), Path(root).resolve()
    return path == root or root in path.parents


def stored_path(name):
    """Absolute path of a stored file name (relative to MEDIA_ROOT), or None if it escapes it.

    On the tile path of every request, so plain ``os.path``: the root is resolved once, the file
    once (symlinks included, so a link pointing out of the media folder is refused)."""
    if not name:
        return None
    root = os.path.realpath(settings.MEDIA_ROOT)
    path = os.path.realpath(os.path.join(root, str(name)))
    if path != root and not path.startswith(root.rstrip(os.sep) + os.sep):
        return None
    return Path(path)


def location(name, remote=False):
    """Where a stored name's bytes are, as the generators take it: for a remote tileset the URL
    itself (None if the name is somehow not a URL), else the absolute path under MEDIA_ROOT
    (None if it escapes it). Only the tileset's ``remote`` flag makes a name a URL."""
    if not name:
        return None
    if remote:
        return str(name) if generators.is_remote(str(name)) else None
    path = stored_path(name)
    return str(path) if path else None


def data_path(tileset):
    return location(tileset.datafile.name, tileset.remote)


def index_path(tileset):
    return location(tileset.indexfile.name if tileset.indexfile else None, tileset.remote)
