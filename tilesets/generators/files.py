"""A per-process cache of open files, shared by the generators.

Keys include the file's inode, size and modification time, so a file replaced on disk (re-ingest)
is reopened. Handles evicted for space are dropped, not closed: a request may still be reading
them, and they close when the last reference goes. When a file changed in place, the handles of
its older versions are closed with ``closer`` (HDF5 would otherwise serve the new open from the
old, still-open file's stale metadata).

With ``what`` (e.g. "the file"), ``get`` turns an OSError into
``GeneratorError("cannot read <what>: <reason>")``, and a missing file into
``GeneratorError(missing)`` when ``missing`` is given. Without ``what`` the OSError propagates.
"""

import os
import threading
from collections import OrderedDict

from .base import GeneratorError


class OpenFiles:
    def __init__(self, opener, maxsize=64, closer=None, what=None, missing=None):
        self._opener = opener
        self._closer = closer
        self._maxsize = maxsize
        self._what = what
        self._missing = missing
        self._handles = OrderedDict()
        self._lock = threading.Lock()

    def get(self, path):
        try:
            return self._get(path)
        except OSError as exc:
            if self._what is None:
                raise
            if self._missing is not None and isinstance(exc, FileNotFoundError):
                raise GeneratorError(self._missing) from None
            raise GeneratorError(f"cannot read {self._what}: {exc.strerror or exc}") from None

    def _get(self, path):
        stat = os.stat(path)
        key = (os.path.realpath(path), stat.st_ino, stat.st_size, stat.st_mtime_ns)
        with self._lock:  # one section: a version another thread just opened is found, not swept
            handle = self._handles.get(key)
            if handle is not None:
                self._handles.move_to_end(key)
                return handle
            stale = [self._handles.pop(other) for other in [k for k in self._handles if k[0] == key[0]]]
        for old in stale:
            if self._closer is not None:
                try:
                    self._closer(old)
                except Exception:  # already closed, or closing failed: nothing more to do
                    pass
        handle = self._opener(path)
        with self._lock:
            handle = self._handles.setdefault(key, handle)
            self._handles.move_to_end(key)
            while len(self._handles) > self._maxsize:
                self._handles.popitem(last=False)
        return handle

    def clear(self):
        with self._lock:
            self._handles.clear()
