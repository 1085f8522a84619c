"""Where tileset files live: names stored relative to MEDIA_ROOT, resolved with containment checks."""

from pathlib import Path

from django.conf import settings


def media_root():
    return Path(settings.MEDIA_ROOT).resolve()


def is_within(path, root):
    path, root = Path(path).resolve(), Path(root).resolve()
    return path == root or root in path.parents


def stored_path(name):
    """Absolute path of a stored file name (relative to MEDIA_ROOT), or None if it escapes it."""
    if not name:
        return None
    path = (media_root() / str(name)).resolve()
    return path if is_within(path, media_root()) else None


def data_path(tileset):
    path = stored_path(tileset.datafile.name)
    return str(path) if path else None


def index_path(tileset):
    path = stored_path(tileset.indexfile.name if tileset.indexfile else None)
    return str(path) if path else None
