"""HDF5 data files (cooler, hitile, multivec): opening them with one-line errors, one open
version per file, a byte-bounded cache of whole 1-D datasets, and fetching the parts of a remote
file that will be read next in few requests."""

import threading
import weakref
from contextlib import contextmanager

from . import access
from .errors import FormatError, one_line
from .lru import LRU
from .version import file_version


def open_file(location, not_hdf5="not an HDF5 file", ahead=(), **options):
    """The file as a read-only ``h5py.File`` (``options`` go to h5py); FormatError ``not_hdf5``
    when it is not HDF5, or "cannot open the HDF5 file: ..." when it does not open. ``ahead``:
    byte ranges of a remote file to :func:`prefetch` before HDF5 reads it."""
    try:
        if not access.is_hdf5(location):
            raise FormatError(not_hdf5)
        prefetch(location, ahead)
        # HDF5's default file locking (HDF5_USE_FILE_LOCKING): the same file opened
        # elsewhere in the process with other locking flags would fail to open.
        return access.open_h5(location, **options)
    except OSError as exc:
        raise FormatError(f"cannot open the HDF5 file: {one_line(exc, location)}") from None


PREFETCH_GAP = 1 << 20  # ranges closer than this are fetched in one request
PREFETCH_SHARE = 4  # a prefetch may fill at most 1/PREFETCH_SHARE of the in-memory block cache


def prefetch(location, ranges, gap=PREFETCH_GAP):
    """Fetch the byte ranges ``[(start, end), ...]`` of a remote file into the block cache ahead
    of the reads that need them, so that h5py's many small reads in distant places of the file
    cost few requests: the ranges are rounded out to whole blocks and those less than ``gap``
    bytes apart become one request (blocks already cached are not asked for again).

    Nothing happens for a local file, or when the ranges would take more than a quarter of the
    in-memory block cache (they would push each other out before being read). Errors are those
    of the reads themselves (a RemoteError, an OSError)."""
    if not access.is_remote(location) or not ranges:
        return
    config = access.remote_config()
    size = access.size_of(location)
    block = config.block_size
    spans = sorted((max(0, start) // block * block, min(size, -(-end // block) * block))
                   for start, end in ranges if end > start)
    merged = []
    for start, end in spans:
        if start >= size:
            continue
        if merged and start - merged[-1][1] < gap:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    if not merged or sum(end - start for start, end in merged) > config.memory_cache_bytes // PREFETCH_SHARE:
        return
    with access.open_ranged(location) as ranged:
        for start, end in merged:
            ranged.read_at(start, end - start)


def tail(location, nbytes):
    """The range of the last ``nbytes`` of a remote file (e.g. for :func:`open_file`'s
    ``ahead``); none for a local file."""
    if not access.is_remote(location):
        return ()
    size = access.size_of(location)
    return [(max(0, size - nbytes), size)]


def prefetch_objects(location, h5, paths, nbytes):
    """:func:`prefetch` the first ``nbytes`` at each object that ``paths`` name in the open file
    ``h5`` (found in their parents' link tables: the objects themselves are not read). Nothing
    for a local file, or when a path is not a plain hard link."""
    if not access.is_remote(location):
        return
    try:
        starts = [_address(h5, path) for path in paths]
    except (KeyError, TypeError, ValueError, AttributeError, RuntimeError):
        return  # read as needed
    prefetch(location, [(start, start + nbytes) for start in starts])


def _address(h5, path):
    parent, _, name = path.rpartition("/")
    group = h5[parent or "/"]  # (kept while its link table is read)
    return int(group.id.links.get_info(name.encode()).u)


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
