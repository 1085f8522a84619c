"""A per-process cache of open files (handles, parsed headers), keyed by file version.

The key is :func:`~.version.file_version` of the location, so a file replaced on disk (re-ingest)
is opened again. Handles evicted for space are dropped, not closed: a request may still be
reading them, and they close when the last reference goes. When a file changed in place, the
handles of its older versions are closed with ``closer`` (HDF5 would otherwise serve the new
open from the old, still-open file's stale metadata).

With ``what`` (e.g. "the file"), ``get`` turns an OSError into
``FormatError("cannot read <what>: <reason>")``, and a missing file into
``FormatError(missing)`` when ``missing`` is given. Without ``what`` the OSError propagates.
"""

from .errors import FormatError
from .lru import LRU
from .version import file_version


class OpenFiles:
    def __init__(self, opener, maxsize=64, closer=None, what=None, missing=None):
        self._opener = opener
        self._closer = closer
        self._what = what
        self._missing = missing
        self._handles = LRU(max_items=maxsize)

    def get(self, location):
        try:
            return self._get(location)
        except OSError as exc:
            if self._what is None:
                raise
            if self._missing is not None and isinstance(exc, FileNotFoundError):
                raise FormatError(self._missing) from None
            raise FormatError(f"cannot read {self._what}: {exc.strerror or exc}") from None

    def _get(self, location):
        key = file_version(location)
        handle = self._handles.get(key)
        if handle is not None:
            return handle
        # Older versions of the same file go; the very version another thread may have opened
        # meanwhile stays (it is found by setdefault below).
        for old in self._handles.discard_where(lambda other: other.path == key.path and other != key):
            if self._closer is not None:
                try:
                    self._closer(old)
                except Exception:  # already closed, or closing failed: nothing more to do
                    pass
        return self._handles.setdefault(key, self._opener(location))

    def clear(self):
        self._handles.clear()
