"""htslib reading a remote BAM from a sparse local mirror (:mod:`.sparse_mirror`), never the network.

Before a region is read, the index says which chunks htslib's iterator may read
(:meth:`~.hts_index.BinIndex.read_chunks`, a superset of htslib's own choice); each chunk becomes
the byte range from its first BGZF block to :data:`READ_SLACK` bytes past the offset of its last
block, which holds that block (at most 64 KiB) and what htslib's file layer reads ahead (its
buffer, at most 32 KiB): so htslib never reads, nor buffers, a byte that is not in the mirror yet.
The header's blocks and the last 28 bytes (htslib looks for the BGZF end-of-file block when it
opens a BAM) are fetched before a handle is opened.

Reading a hole would fail in htslib, never give other reads: a hole is no BGZF block, and every
block's CRC is checked. Should it fail anyway (an index read differently, a mirror damaged by a
crash), :meth:`Reader.repair` fetches the region's bytes again, every chunk of its bins this
time, and opens a new handle.
"""

import os
import re
import threading

import pysam

from . import access
from .bgzf import read_block, split_voffset
from .errors import FormatError
from .sparse_mirror import SparseMirror

READ_SLACK = 128 * 1024
EOF_BYTES = 28
POOL_SIZE = 4  # idle handles kept per index


def chunk_spans(chunks, size):
    """The byte ranges ``[(start, end), ...]`` htslib may read to go through ``chunks``."""
    return [(vbeg >> 16, min(size, (vend >> 16) + READ_SLACK)) for vbeg, vend in chunks]


class MirroredBam:
    """One version of a remote BAM (its probe, taken once) read through its mirror: the mirror
    in use (a new one when another process evicted it) and idle :class:`Reader` objects."""

    def __init__(self, location, header_end):
        self.location = location
        self.info = access.remote_info(location)
        self.size = self.info.size
        self.header_spans = [(0, min(self.size, (header_end >> 16) + READ_SLACK)),
                             (max(0, self.size - EOF_BYTES), self.size)]
        self._mirror = None
        self._lock = threading.Lock()
        self._idle = {}  # index key -> [Reader]

    def mirror(self):
        with self._lock:
            if self._mirror is None or not self._mirror.is_live():
                self._mirror = SparseMirror(self.location, self.info, access.remote_config())
            return self._mirror

    def borrow(self, index_key, index_path, index):
        """An idle reader for this index, or a new one (its handle opens when first used)."""
        with self._lock:
            idle = self._idle.get(index_key)
            reader = idle.pop() if idle else None
        if reader is not None and not reader.mirror.is_live():  # evicted meanwhile: a new mirror
            reader.close()
            reader = None
        return reader or Reader(self, index_key, index_path, index)

    def give_back(self, reader):
        """Keep ``reader`` for the next request, unless it broke or its mirror was replaced."""
        with self._lock:
            pool = self._idle.setdefault(reader.index_key, [])
            current = self._mirror
            if (reader.is_open and reader.mirror is current and len(pool) < POOL_SIZE
                    and current.is_live()):
                pool.append(reader)
                return
        reader.close()


class Reader:
    """A pysam handle on one mirror, with what says which bytes a region needs. Not shared by
    threads: a request borrows it."""

    def __init__(self, bam, index_key, index_path, index):
        self.bam = bam
        self.index_key = index_key
        self.index_path = index_path  # () -> the index's local path (a copy in the disk cache)
        self.index = index
        self.mirror = None
        self._handle = None
        self._regions = []

    @property
    def is_open(self):
        return self._handle is not None

    @property
    def handle(self):
        """The pysam handle, opened on first use (OSError/ValueError when htslib refuses)."""
        if self._handle is None:
            self.mirror = mirror = self.bam.mirror()
            mirror.ensure(self.bam.header_spans)
            index_fd = _open_pinned(self.index_path)  # (an index copy evicted meanwhile is fetched again)
            try:
                self._handle = pysam.AlignmentFile(mirror.pinned_path(), "rb",
                                                   index_filename=_pinned(index_fd, self.index_path))
            finally:
                os.close(index_fd)
        return self._handle

    def spans(self, regions, pruned=True):
        size = self.bam.size
        return [span for tid, beg, end in regions
                for span in chunk_spans(self.index.read_chunks(tid, beg, end, pruned), size)]

    def prepare(self, regions):
        """Fetch into the mirror what reading ``[(ref id, start, end), ...]`` needs."""
        self._regions = list(regions)
        handle = self.handle  # (the handle's mirror is the one to fill)
        self.mirror.ensure(self.spans(self._regions))
        return handle

    def repair(self):
        """After htslib failed on the mirror: close the handle, fetch the header and the last
        regions' bytes again (every chunk of their bins) and open a new handle."""
        self.close()
        spans = self.bam.header_spans + self.spans(self._regions, pruned=False)
        mirror = self.bam.mirror()
        mirror.forget(spans)
        mirror.ensure(spans)
        return self.prepare(self._regions)

    def close(self):
        handle, self._handle = self._handle, None
        if handle is not None:
            try:
                handle.close()
            except OSError:  # htslib reports the read that failed again: the handle goes anyway
                pass


def _open_pinned(local_path):
    for attempt in (0, 1):
        try:
            return os.open(local_path(), os.O_RDONLY)
        except FileNotFoundError:  # evicted between the two calls
            if attempt:
                raise


def _pinned(fd, local_path):
    pinned = f"/proc/self/fd/{fd}"
    return pinned if os.path.exists(pinned) else local_path()


def without_paths(text):
    """A library's message without the local paths it names (the mirror, the index copy)."""
    return _PATH.sub("(local copy)", text)


_PATH = re.compile(r"'?(?<![\w:/])/[^\s':]+'?")


def first_record_refs(location, index, most=1000):
    """``[(ref id, ref id of its first record), ...]`` for up to ``most`` references that the
    index says hold mapped reads (the pseudo-bin's counts and first offset, as htslib's statistics
    read them): an index of this BAM gives pairs of equal numbers. Reads only those records'
    blocks. FormatError when a block is not BGZF."""
    found = []
    with access.open_binary(location) as handle:
        for ref_id, ref in enumerate(index.refs):
            meta = ref.chunks_at(ref.pseudo) if ref.pseudo is not None else []
            if len(meta) < 2 or not meta[1][0]:
                continue
            found.append((ref_id, _ref_id_at(handle, meta[0][0])))
            if len(found) >= most:
                break
    return found


def _ref_id_at(handle, voffset):
    """The refID field of the BAM record at ``voffset``."""
    offset, within = split_voffset(voffset)
    data = b""
    while len(data) < within + 8:
        size, block = read_block(handle, offset)
        if not size:
            raise FormatError("the file ends inside a record")
        data += block
        offset += size
    return int.from_bytes(data[within + 4:within + 8], "little", signed=True)
