"""A per-process cache of open files, shared by the generators.

Keys include the file's inode, size and modification time, so a file replaced on disk (re-ingest)
is reopened. Evicted handles are dropped, not closed: a request may still be reading them, and
they close when the last reference goes.
"""

import os
import threading
from collections import OrderedDict


class OpenFiles:
    def __init__(self, opener, maxsize=64):
        self._opener = opener
        self._maxsize = maxsize
        self._handles = OrderedDict()
        self._lock = threading.Lock()

    def get(self, path):
        stat = os.stat(path)
        key = (os.path.realpath(path), stat.st_ino, stat.st_size, stat.st_mtime_ns)
        with self._lock:
            handle = self._handles.get(key)
            if handle is not None:
                self._handles.move_to_end(key)
                return handle
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
