"""A read-only, seekable binary file over a remote source, read block by block.

:class:`RangeFile` works with any *source* that has ``fetch(info, start, end) -> bytes`` (exactly
those bytes) and ``shown`` (the location for messages): :class:`~.httprange.HttpSource` and
:class:`~.s3.S3Source`. Reads are rounded out to whole blocks of ``config.block_size`` bytes;
blocks come from the process's in-memory block cache (one byte-bounded LRU shared by every remote
file), then from the on-disk cache, then from the network:
the missing blocks of one read are fetched with as few requests as possible (one per contiguous
run, each at most ``config.max_request_bytes``). Blocks are keyed by the file's version token, so
a changed remote file never mixes with old blocks.

What goes to disk: every block fetched when ``config.disk_cache_blocks`` is on; otherwise only the
first :data:`OPENING_BLOCKS` blocks a process fetches of each file (its structure: HDF5 metadata,
bbi headers and indexes, read when the file is opened), so that other worker processes and
restarts open a file without asking the network again. A process looks for missing blocks on
disk in both cases.

It is an ``io.RawIOBase``: ``h5py.File(RangeFile(...))`` reads HDF5 through it, and
``io.BufferedReader`` can wrap it. ``pread(offset, length)`` reads without moving the position
and may be called from several threads at once.
"""

import io
import threading

from tilesets.formats.diskcache import DiskCache
from tilesets.formats.lru import LRU
from tilesets.formats.remote_config import PerProcess

_block_cache = PerProcess(lambda max_bytes: LRU(max_bytes=max_bytes, size_of=len))


def shared_block_cache(config):
    """The in-memory block cache of this process for ``config.memory_cache_bytes``."""
    return _block_cache(config.memory_cache_bytes)


_disk_cache = PerProcess(lambda folder_and_bound: DiskCache(*folder_and_bound))

OPENING_BLOCKS = 32  # blocks of each file a process fetches first, kept on disk (8 MiB at 256 KiB)
_fetched = PerProcess(lambda _key: LRU(max_items=4096))  # file token -> blocks fetched so far


def disk_cache(config):
    """This process's handle on the on-disk cache folder of ``config`` (whole files and blocks)."""
    return _disk_cache((config.disk_cache_dir, config.disk_cache_bytes))


def block_disk_cache(config):
    """The on-disk cache for blocks (every block when ``config.disk_cache_blocks`` is on, else a
    file's first :data:`OPENING_BLOCKS`)."""
    return disk_cache(config)


def _fetched_counts():
    return _fetched(None)


class RangeFile(io.RawIOBase):
    def __init__(self, source, info, config, cache=None, disk=None):
        super().__init__()
        self.source = source
        self.info = info
        self.config = config
        self.size = info.size
        self.name = info.location
        self.block_size = config.block_size
        self.cache = cache if cache is not None else shared_block_cache(config)
        self.disk = disk if disk is not None else block_disk_cache(config)
        self._token = info.token  # (a hash: computed once, not for every block looked up)
        self._position = 0
        self._lock = threading.Lock()
        if info.head and len(info.head) == min(self.block_size, self.size):
            self.cache.put(self._key(0), info.head)

    # -- io.RawIOBase -----------------------------------------------------------------------------

    def readable(self):
        return True

    def seekable(self):
        return True

    def writable(self):
        return False

    def write(self, _data):
        raise io.UnsupportedOperation(f"{self.name} is read-only")

    def truncate(self, _size=None):
        raise io.UnsupportedOperation(f"{self.name} is read-only")

    def tell(self):
        self._check_open()
        return self._position

    def seek(self, offset, whence=io.SEEK_SET):
        self._check_open()
        with self._lock:
            if whence == io.SEEK_SET:
                position = offset
            elif whence == io.SEEK_CUR:
                position = self._position + offset
            elif whence == io.SEEK_END:
                position = self.size + offset
            else:
                raise ValueError(f"invalid whence ({whence})")
            if position < 0:
                raise ValueError(f"negative seek position {position}")
            self._position = position
            return position

    def readinto(self, buffer):
        self._check_open()
        view = memoryview(buffer).cast("B")
        with self._lock:
            count = self._read_into(self._position, view)
            self._position += count
            return count

    def read(self, size=-1):
        self._check_open()
        with self._lock:
            if size is None or size < 0:
                size = max(0, self.size - self._position)
            data = self.pread(self._position, size)
            self._position += len(data)
            return data

    def readall(self):
        return self.read(-1)

    # -- positionless reads -----------------------------------------------------------------------

    def pread(self, offset, length):
        """Up to ``length`` bytes from ``offset`` (fewer only at the end of the file)."""
        end = min(offset + length, self.size)
        if length <= 0 or offset >= end:
            return b""
        size = self.block_size
        first, last = offset // size, (end - 1) // size
        blocks = self._blocks(first, last)
        if first == last:
            return blocks[0][offset - first * size:end - first * size]
        parts = [memoryview(blocks[0])[offset - first * size:], *blocks[1:-1],
                 memoryview(blocks[-1])[:end - last * size]]
        return b"".join(parts)

    def _read_into(self, offset, view):
        """Copy the bytes from ``offset`` into ``view`` (straight from the cached blocks); the
        number of bytes copied."""
        end = min(offset + len(view), self.size)
        if offset >= end:
            return 0
        size = self.block_size
        first, last = offset // size, (end - 1) // size
        copied = 0
        for index, block in enumerate(self._blocks(first, last), first):
            low = max(offset, index * size) - index * size
            high = min(end, (index + 1) * size) - index * size
            view[copied:copied + high - low] = memoryview(block)[low:high]
            copied += high - low
        return copied

    def _blocks(self, first, last):
        """Blocks ``first`` to ``last`` (a list): from the caches, the missing ones fetched."""
        blocks = [self._cached(index) for index in range(first, last + 1)]
        missing = [first + number for number, block in enumerate(blocks) if block is None]
        size = self.block_size
        for run in self._runs(missing):
            start = run[0] * size
            data = self.source.fetch(self.info, start, min((run[-1] + 1) * size, self.size))
            for number, index in enumerate(run):
                block = data[number * size:(number + 1) * size]
                blocks[index - first] = block
                self._store(index, block)
        return blocks

    # -- blocks -----------------------------------------------------------------------------------

    def _key(self, index):
        return (self._token, self.block_size, index)

    def _disk_key(self, index):
        return f"block\n{self._token}\n{self.block_size}\n{index}"

    def _cached(self, index):
        block = self.cache.get(self._key(index))
        if block is None and self.disk is not None:
            block = self.disk.get(self._disk_key(index))
            if block is not None and len(block) == self._block_length(index):
                self.cache.put(self._key(index), block)
            else:
                block = None
        return block

    def _store(self, index, block):
        self.cache.put(self._key(index), block)
        if self.disk is not None and self._to_disk():
            try:
                self.disk.put(self._disk_key(index), block)
            except OSError:
                pass  # a full or read-only disk only costs the disk copy

    def _to_disk(self):
        """Whether a block just fetched goes to disk: all of them with ``disk_cache_blocks``, else
        the first OPENING_BLOCKS of this file in this process."""
        if self.config.disk_cache_blocks:
            return True
        counts = _fetched_counts()
        count = counts.get(self._token, 0)
        counts.put(self._token, count + 1)
        return count < OPENING_BLOCKS

    def _block_length(self, index):
        return min(self.block_size, self.size - index * self.block_size)

    def _runs(self, indexes):
        """Split sorted block numbers into contiguous runs of at most max_request_bytes."""
        per_request = max(1, self.config.max_request_bytes // self.block_size)
        run = []
        for index in indexes:
            if run and (index != run[-1] + 1 or len(run) >= per_request):
                yield run
                run = []
            run.append(index)
        if run:
            yield run

    def _check_open(self):
        if self.closed:
            raise ValueError(f"I/O operation on closed remote file {self.name}")

    def __repr__(self):
        return f"<RangeFile {self.name} size={self.size}>"
