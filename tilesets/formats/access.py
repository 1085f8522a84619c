"""How the bytes of a data file are reached.

A generator names its data by a *location* (``Source.datafile``). Today a location is always a
path on this machine; every way the generators reach bytes goes through this module — a binary
stream, reads at offsets, an HDF5 file, a path that a C library (pybbi, SQLite) opens itself —
so another kind of location (a URL) is added here and nowhere else.
"""

import functools
import os

import h5py


def exists(location):
    return os.path.exists(location)


def is_file(location):
    return os.path.isfile(location)


def open_binary(location):
    """A binary file object at the start of the data (the caller closes it)."""
    return open(location, "rb")


def local_path(location):
    """A path on this machine holding the bytes, for libraries that open files by name."""
    return location


def is_hdf5(location):
    return h5py.is_hdf5(location)


def open_h5(location, **options):
    """The data as a read-only ``h5py.File``; ``options`` are h5py's (e.g. its chunk cache)."""
    return h5py.File(location, "r", **options)


def _pread(fd, offset, length):
    return os.pread(fd, length, offset)


class RandomAccess:
    """Reads at absolute offsets through one open descriptor: ``read_at(offset, length)``.

    ``os.pread`` keeps no file position, so threads may share one object. The descriptor is
    closed by :meth:`close`, by the ``with`` block, or when the object is garbage-collected (the
    open-file caches drop objects without closing them: a request may still be reading).
    """

    fd = None

    def __init__(self, location):
        self.location = location
        self.fd = os.open(location, os.O_RDONLY)
        try:
            self.size = os.fstat(self.fd).st_size
        except BaseException:
            self.close()
            raise
        self.read_at = functools.partial(_pread, self.fd)

    def pinned_path(self):
        """A path that opens the very file read here even if ``location`` has been replaced
        since: ``/proc/self/fd/<n>`` where the system has it (Linux), else the location."""
        pinned = f"/proc/self/fd/{self.fd}"
        return pinned if self.fd is not None and os.path.exists(pinned) else self.location

    def close(self):
        fd, self.fd = self.fd, None
        if fd is not None:
            os.close(fd)

    def __del__(self):
        self.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


def open_ranged(location):
    """A :class:`RandomAccess` on the data (OSError when it does not open)."""
    return RandomAccess(location)
