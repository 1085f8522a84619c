"""The one "file version" key: which bytes a path names right now.

A file replaced on disk (re-ingest, upload under the same uid) or changed in place gets a new
version, so every cache keyed by it (open handles, parsed indexes, tiles) stops using the old one.
"""

import os
from typing import NamedTuple

from . import access


class FileVersion(NamedTuple):
    path: str  # the real path (symbolic links resolved)
    device: int
    inode: int
    size: int
    mtime_ns: int

    @property
    def token(self):
        """The version as a short text, for cache keys that are strings (no path in it)."""
        return f"{self.device}.{self.inode}.{self.size}.{self.mtime_ns}"


def file_version(path):
    """The :class:`FileVersion` of ``path``; OSError when it cannot be stat'ed.

    For a remote location (URL) the version comes from its probe (remembered for a while, see
    :func:`.access.remote_info`): the URL as ``path``, its size, and its validator (ETag, or
    Last-Modified and size) folded into ``inode``, so a changed remote file gets a new version."""
    if access.is_remote(path):
        info = access.remote_info(path)
        return FileVersion(path, -1, int(info.token[:15], 16), info.size, 0)
    real = os.path.realpath(path)
    stat = os.stat(real)
    return FileVersion(real, stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)
