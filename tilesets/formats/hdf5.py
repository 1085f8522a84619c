"""HDF5 data files (cooler, hitile, multivec): opening them with one-line errors, one open
version per file, and a byte-bounded cache of whole 1-D datasets."""

import threading
import weakref
from contextlib import contextmanager

from . import access
from .errors import FormatError, one_line
from .lru import LRU
from .version import file_version


def open_file(location, not_hdf5="not an HDF5 file", **options):
    """The file as a read-only ``h5py.File`` (``options`` go to h5py); FormatError ``not_hdf5``
    when it is not HDF5, or "cannot open the HDF5 file: ..." when it does not open."""
    try:
        if not access.is_hdf5(location):
            raise FormatError(not_hdf5)
        # HDF5's default file locking (HDF5_USE_FILE_LOCKING): the same file opened
        # elsewhere in the process with other locking flags would fail to open.
        return access.open_h5(location, **options)
    except OSError as exc:
        raise FormatError(f"cannot open the HDF5 file: {one_line(exc, location)}") from None


@contextmanager
def opened(location, what):
    """:func:`open_file` for a block that reads the file's metadata; the file stays open after
    the block. When the block fails the file is closed again, an error other than FormatError
    becoming "unreadable <what>: ..."."""
    h5 = open_file(location)
    try:
        yield h5
    except FormatError:
        h5.close()
        raise
    except Exception as exc:  # h5py/numpy errors on odd content
        h5.close()
        raise FormatError(f"unreadable {what}: {one_line(exc, location)}") from None


class OnePerInode:
    """An opener of HDF5-backed objects that never leaves two versions of a file open at once.

    HDF5 shares one open file (and its metadata cache) between handles of the same inode, so a
    file overwritten in place would be read through the stale metadata of a handle still open.
    ``OnePerInode(opener)(location)`` closes such a handle (``close()``) before opening the file
    again, and hands back the live object opened last when the file is unchanged (an object only
    evicted from an open-file cache is reused). The objects need an ``h5`` attribute (their
    ``h5py.File``); each gets a ``version`` attribute (its :class:`~.version.FileVersion`).
    """

    def __init__(self, opener):
        self._opener = opener
        self._latest = weakref.WeakValueDictionary()  # real path -> the live object opened last
        self._lock = threading.Lock()

    def __call__(self, location):
        version = file_version(location)
        with self._lock:
            previous = self._latest.get(version.path)
        if previous is not None:
            if previous.version == version and previous.h5.id.valid:
                return previous
            if (previous.version.device, previous.version.inode) == (version.device, version.inode):
                previous.close()  # same inode, new content
        opened = self._opener(location)
        opened.version = version
        with self._lock:
            self._latest[version.path] = opened
        return opened


def _nbytes(array):
    return array.nbytes


class VectorCache:
    """Whole 1-D datasets kept in memory, in one LRU bounded by their total bytes.

    A dataset up to ``max_vector_bytes`` is read whole once and sliced in memory; a bigger one is
    read slice by slice from the file.
    """

    def __init__(self, max_bytes, max_vector_bytes):
        self.max_vector_bytes = max_vector_bytes
        self._arrays = LRU(max_bytes=max_bytes, size_of=_nbytes)

    def slice(self, key, dataset, lo, hi):
        """``dataset[lo:hi]``; ``key`` names the dataset in the cache (include the file's
        identity: the cache is shared by every file)."""
        if dataset.size * dataset.dtype.itemsize <= self.max_vector_bytes:
            return self._arrays.get_or_load(key, lambda: dataset[:])[lo:hi]
        return dataset[lo:hi]

    def clear(self):
        self._arrays.clear()
