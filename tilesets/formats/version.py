"""The one "file version" key: which bytes a path names right now.

A file replaced on disk (re-ingest, upload under the same uid) or changed in place gets a new
version, so every cache keyed by it (open handles, parsed indexes, tiles) stops using the old one.
"""

import os
from typing import NamedTuple


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
    """The :class:`FileVersion` of ``path``; OSError when it cannot be stat'ed."""
    real = os.path.realpath(path)
    stat = os.stat(real)
    return FileVersion(real, stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)
