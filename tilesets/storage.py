"""Where tileset files live: names stored relative to MEDIA_ROOT, resolved with containment checks."""

import os
from pathlib import Path

from django.conf import settings


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


def data_path(tileset):
    path = stored_path(tileset.datafile.name)
    return str(path) if path else None


def index_path(tileset):
    path = stored_path(tileset.indexfile.name if tileset.indexfile else None)
    return str(path) if path else None
