"""The one thread-safe least-recently-used cache of the server.

Bounded by a number of entries, by a total size (``size_of(value)`` summed over the entries), or
both. ``get_or_load`` loads outside the lock, so a slow load never blocks other keys; two threads
that miss the same key at once may both load it, and the first value stored wins.
"""

import threading
from collections import OrderedDict

_ABSENT = object()


class LRU:
    def __init__(self, max_items=None, max_bytes=None, size_of=None):
        if max_bytes is not None and size_of is None:
            raise ValueError("a byte-bounded LRU needs size_of")
        self.max_items = max_items
        self.max_bytes = max_bytes
        self._size_of = size_of
        self._items = OrderedDict()
        self._sizes = {}
        self.bytes = 0
        self._lock = threading.Lock()

    def __len__(self):
        return len(self._items)

    def get(self, key, default=None):
        with self._lock:
            value = self._items.get(key, _ABSENT)
            if value is _ABSENT:
                return default
            self._items.move_to_end(key)
            return value

    def put(self, key, value):
        """Store ``value`` (replacing an older one); a value larger than the whole bound is not kept.
        Returns the value now cached under ``key`` (``value`` unless it was too large)."""
        size = self._size_of(value) if self._size_of is not None else 0
        if self.max_bytes is not None and size > self.max_bytes:
            return value
        with self._lock:
            self._remove(key)
            self._items[key] = value
            self._sizes[key] = size
            self.bytes += size
            self._shrink()
        return value

    def setdefault(self, key, value):
        """The value cached under ``key`` if any (made most recent), else ``value`` stored."""
        with self._lock:
            found = self._items.get(key, _ABSENT)
            if found is not _ABSENT:
                self._items.move_to_end(key)
                return found
        return self.put(key, value)

    def get_or_load(self, key, load):
        """The cached value for ``key``, or ``load()`` stored under it."""
        found = self.get(key, _ABSENT)
        if found is not _ABSENT:
            return found
        return self.setdefault(key, load())

    def discard_where(self, predicate):
        """Remove every entry whose key satisfies ``predicate``; returns the removed values."""
        with self._lock:
            keys = [key for key in self._items if predicate(key)]
            return [self._remove(key) for key in keys]

    def clear(self):
        with self._lock:
            self._items.clear()
            self._sizes.clear()
            self.bytes = 0

    def _remove(self, key):
        value = self._items.pop(key, None)
        self.bytes -= self._sizes.pop(key, 0)
        return value

    def _shrink(self):
        while self._items and (
            (self.max_items is not None and len(self._items) > max(1, self.max_items))
            or (self.max_bytes is not None and self.bytes > self.max_bytes)
        ):
            key = next(iter(self._items))
            self._remove(key)
