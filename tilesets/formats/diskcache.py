"""A bounded folder of cached bytes, shared safely by several processes.

Each entry is one file named by a hash of its key. Entries are written to a temporary file in the
same folder and renamed into place, so a reader never sees half an entry and two processes that
store the same key both leave a whole one. The folder's total size is kept under ``max_bytes`` by
deleting the least recently used entries first; "used" is the file's modification time, which
every hit refreshes (access times are unreliable: most systems mount with ``noatime`` or
``relatime``). Entries or temporary files vanishing under a reader or the cleaner (another
process evicting) are expected and tolerated.
"""

import hashlib
import os
import tempfile
import threading
import time
from contextlib import contextmanager

SUFFIX = ".bin"
TMP_PREFIX = ".tmp-"
STALE_TMP_SECONDS = 3600


class DiskCache:
    def __init__(self, folder, max_bytes, rescan_every=64):
        self.folder = os.path.abspath(folder)
        self.max_bytes = max_bytes
        self.rescan_every = rescan_every
        self._estimate = None  # bytes in the folder as of the last scan plus what we added since
        self._puts = 0
        self._lock = threading.Lock()

    def path_for(self, key):
        digest = hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:40]
        return os.path.join(self.folder, digest + SUFFIX)

    def get(self, key):
        """The bytes stored under ``key``, or None."""
        path = self.path_for(key)
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except FileNotFoundError:
            return None
        self._touch(path)
        return data

    def get_path(self, key):
        """The path of the entry for ``key`` (marked as just used), or None. Open it promptly: an
        entry may be evicted by any process; an open file stays readable after that."""
        path = self.path_for(key)
        return path if self._touch(path) else None

    def put(self, key, data):
        """Store ``data`` under ``key``; its path, or None when it is larger than the whole cache."""
        if len(data) > self.max_bytes:
            return None
        with self.writing(key) as handle:
            handle.write(data)
        return self.path_for(key)

    @contextmanager
    def writing(self, key, expected_size=None):
        """A binary file to write the entry for ``key`` into. It becomes the entry when the block
        ends without an error (and, if given, with exactly ``expected_size`` bytes written);
        otherwise it is removed. ValueError when ``expected_size`` exceeds the cache's bound."""
        if expected_size is not None and expected_size > self.max_bytes:
            raise ValueError(f"{expected_size} bytes do not fit a cache of {self.max_bytes} bytes")
        os.makedirs(self.folder, exist_ok=True)
        final = self.path_for(key)
        fd, temp = tempfile.mkstemp(prefix=TMP_PREFIX, dir=self.folder)
        try:
            with os.fdopen(fd, "wb") as handle:
                yield handle
                size = handle.tell()
            if expected_size is not None and size != expected_size:
                raise OSError(f"cache entry has {size} bytes instead of {expected_size}")
            if size > self.max_bytes:
                raise ValueError(f"{size} bytes do not fit a cache of {self.max_bytes} bytes")
            os.replace(temp, final)
        except BaseException:
            _unlink(temp)
            raise
        self._added(size, keep=final)

    def total_bytes(self):
        return sum(size for _path, size, _mtime in self._entries())

    def evict(self, keep=None):
        """Delete least recently used entries until the folder holds at most ``max_bytes``
        (``keep`` is spared); also removes temporary files abandoned by crashed writers."""
        entries = sorted(self._entries(), key=lambda entry: entry[2])
        total = sum(size for _path, size, _mtime in entries)
        for path, size, _mtime in entries:
            if total <= self.max_bytes:
                break
            if path == keep:
                continue
            if _unlink(path):
                total -= size
        with self._lock:
            self._estimate = total
            self._puts = 0
        return total

    def clear(self):
        for path, _size, _mtime in self._entries():
            _unlink(path)
        with self._lock:
            self._estimate = 0

    # -- internals ------------------------------------------------------------------------------

    def _added(self, size, keep):
        with self._lock:
            self._puts += 1
            if self._estimate is not None:
                self._estimate += size
            scan = (self._estimate is None or self._estimate > self.max_bytes
                    or self._puts >= self.rescan_every)
        if scan:
            self.evict(keep=keep)

    def _entries(self):
        """(path, size, mtime) of every entry; stale temporary files are removed on the way."""
        try:
            names = os.listdir(self.folder)
        except FileNotFoundError:
            return []
        now = time.time()
        found = []
        for name in names:
            path = os.path.join(self.folder, name)
            try:
                stat = os.stat(path)
            except FileNotFoundError:
                continue
            if name.startswith(TMP_PREFIX):
                if now - stat.st_mtime > STALE_TMP_SECONDS:
                    _unlink(path)
                continue
            if name.endswith(SUFFIX):
                # a sparse entry (a mirror, sparse_mirror.py) counts the disk space it uses
                used = min(stat.st_size, getattr(stat, "st_blocks", stat.st_size // 512 + 1) * 512)
                found.append((path, used, stat.st_mtime))
        return found

    @staticmethod
    def _touch(path):
        try:
            os.utime(path)
            return True
        except FileNotFoundError:
            return False


def _unlink(path):
    try:
        os.unlink(path)
        return True
    except FileNotFoundError:
        return False
