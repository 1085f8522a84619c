"""A sparse local mirror of a remote file, for a C library that reads files by name (htslib).

The mirror is a file of the remote file's size in the disk cache folder (``REMOTE_CACHE_DIR``):
the bytes of the pages (``config.block_size`` each) that were asked for, at their own offsets,
and holes elsewhere. :meth:`SparseMirror.ensure` fetches the missing pages of some byte ranges
(one request per run of pages, at most ``config.max_request_bytes`` each) before the library
reads them, so the library reads a local file and never the network.

Files, beside the disk cache's entries (``m<key>-<nonce>.bin``, ``m<key>-<nonce>.pages``):

* ``.bin``: the data. ``<key>`` hashes the URL, its version (the validator: a file changed on the
  server gets another mirror, never a mix of both) and the page size; it is one entry of the disk
  cache, counted by the disk space it uses and evicted whole with the least recently used entries.
* ``.pages``: one byte per page, 1 once the page's bytes are written. A process writes a page's
  data, then its byte; bytes are only set by the writer of the page, so processes sharing the
  folder never lose or fake each other's marks. The nonce pairs the two files: a ``.bin`` evicted
  and made again gets a new nonce and an empty ``.pages``, so old marks never describe new holes.

A mirror that another process evicted stays readable through the descriptors open on it; it is
noticed (at most every :data:`LIVE_CHECK_SECONDS`) and the caller makes a new one.
"""

import hashlib
import os
import secrets
import tempfile
import threading
import time

from .diskcache import STALE_TMP_SECONDS, SUFFIX, TMP_PREFIX
from .rangefile import disk_cache
from .remote import source_for
from .remote_config import RemoteError

PAGES_SUFFIX = ".pages"
LIVE_CHECK_SECONDS = 1.0
TOUCH_SECONDS = 10.0  # the disk cache evicts by modification time: mark use at most this often
_MARKS = bytes([0, 1] + [0] * 254)  # a page's byte: 1 present, anything else missing


def mirror_stem(info, page_size):
    text = f"mirror\n{info.location}\n{info.validator}\n{page_size}"
    return "m" + hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()[:40]


class SparseMirror:
    """The mirror of one version of one remote file (``info``: its probe) in this process."""

    def __init__(self, location, info, config):
        self.info = info
        self.config = config
        self.size = info.size
        self.page = config.block_size
        self.n_pages = -(-info.size // self.page)
        self.cache = disk_cache(config)
        self.stem = mirror_stem(info, self.page)
        self._source = source_for(location, config)
        self._lock = threading.Lock()
        self._present = bytearray(self.n_pages)  # 1: known written in this .bin
        self._checked = self._touched = time.monotonic()
        self.fd = self._flags = None
        self._open()

    # -- the files ---------------------------------------------------------------------------------

    def _open(self):
        folder = self.cache.folder
        os.makedirs(folder, exist_ok=True)
        for name in sorted(os.listdir(folder)):
            if name.startswith(self.stem + "-") and name.endswith(SUFFIX) and self._adopt(name[:-len(SUFFIX)]):
                return
        base = os.path.join(folder, f"{self.stem}-{secrets.token_hex(6)}")
        self._flags = _open_flags(base + PAGES_SUFFIX, self.n_pages)
        fd, temp = tempfile.mkstemp(prefix=TMP_PREFIX, dir=folder)
        try:
            os.ftruncate(fd, self.size)
            os.rename(temp, base + SUFFIX)
        except BaseException:
            os.close(fd)
            _unlink(temp)
            raise
        self._use(fd, base)

    def _adopt(self, base_name):
        base = os.path.join(self.cache.folder, base_name)
        try:
            fd = os.open(base + SUFFIX, os.O_RDWR)
        except FileNotFoundError:
            return False
        if os.fstat(fd).st_size != self.size:  # not ours after all: leave it to the eviction
            os.close(fd)
            return False
        try:
            self._flags = _open_flags(base + PAGES_SUFFIX, self.n_pages)
        except BaseException:
            os.close(fd)
            raise
        self._use(fd, base)
        marks = os.pread(self._flags, self.n_pages, 0)
        self._present[:len(marks)] = marks.translate(_MARKS)
        return True

    def _use(self, fd, base):
        self.fd = fd
        self.path = base + SUFFIX
        self._inode = os.fstat(fd).st_ino
        try:
            os.utime(self.path)
        except FileNotFoundError:
            pass

    def pinned_path(self):
        """A name that opens this very mirror file even after it was evicted (Linux: the
        descriptor's ``/proc/self/fd`` entry), else its path."""
        pinned = f"/proc/self/fd/{self.fd}"
        return pinned if os.path.exists(pinned) else self.path

    def is_live(self):
        """False once the mirror file is no longer in the folder (evicted): make a new one."""
        now = time.monotonic()
        if now - self._checked < LIVE_CHECK_SECONDS:
            return True
        self._checked = now
        try:
            return os.stat(self.path).st_ino == self._inode
        except FileNotFoundError:
            return False

    def close(self):
        for name in ("fd", "_flags"):
            fd = getattr(self, name, None)
            setattr(self, name, None)
            if fd is not None:
                os.close(fd)

    def __del__(self):
        self.close()

    # -- pages -------------------------------------------------------------------------------------

    def pages_of(self, spans):
        """The sorted page numbers that hold the byte ranges ``[(start, end), ...]``."""
        pages = set()
        for start, end in spans:
            start, end = max(0, start), min(end, self.size)
            if start < end:
                pages.update(range(start // self.page, (end - 1) // self.page + 1))
        return sorted(pages)

    def ensure(self, spans):
        """Make the byte ranges ``[(start, end), ...]`` present, fetching what is missing.
        RemoteError when the server fails; OSError when the disk does."""
        present = self._present
        missing = [page for page in self.pages_of(spans) if not present[page]]
        if missing:
            with self._lock:
                self._fill(missing)
        now = time.monotonic()
        if now - self._touched > TOUCH_SECONDS:
            self._touched = now
            try:
                os.utime(self.path)
            except FileNotFoundError:
                pass

    def forget(self, spans):
        """Mark the pages of ``spans`` missing (their bytes are suspect): the next ensure fetches
        them again."""
        with self._lock:
            for page in self.pages_of(spans):
                self._present[page] = 0
                os.pwrite(self._flags, b"\0", page)

    def _fill(self, pages):
        pages = [page for page in pages if not self._present[page]]
        if not pages:
            return
        low, high = pages[0], pages[-1] + 1  # marks another process may have set meanwhile
        marks = os.pread(self._flags, high - low, low)
        pages = [page for page in pages if page - low >= len(marks) or marks[page - low] != 1]
        for page in range(low, low + len(marks)):
            if marks[page - low] == 1:
                self._present[page] = 1
        per_request = max(1, self.config.max_request_bytes // self.page)
        grown = 0
        for run in _runs(pages, per_request):
            start, end = run[0] * self.page, min((run[-1] + 1) * self.page, self.size)
            head = self.info.head
            if start == 0 and len(head) == min(self.page, self.size) == end:
                data = head  # the probe read the first page already
            else:
                data = self._source.fetch(self.info, start, end)
            if len(data) != end - start:
                raise RemoteError(f"{self.info.location}: a short answer for bytes {start}-{end - 1}",
                                  reason="bad-range")
            _write_all(self.fd, data, start)
            os.pwrite(self._flags, b"\1" * len(run), run[0])
            for page in run:
                self._present[page] = 1
            grown += end - start
        if grown:
            _grown(self.cache, grown, 16 * self.page)


# --- the folder's bound ---------------------------------------------------------------------------

_growth = {"bytes": 0}
_growth_lock = threading.Lock()


def _grown(cache, count, least):
    """Count bytes written into mirrors; every 1/64 of the bound (at least ``least`` bytes) the
    disk cache evicts down to its bound, mirrors counted by the space they use and the one in use
    not spared (a mirror may not outgrow the bound: it is made again), and the ``.pages`` files
    left without their mirror go."""
    with _growth_lock:
        _growth["bytes"] += count
        if _growth["bytes"] < max(cache.max_bytes // 64, least):
            return
        _growth["bytes"] = 0
    cache.evict()
    sweep_marks(cache.folder)


def sweep_marks(folder, older_than=STALE_TMP_SECONDS):
    """Remove ``.pages`` files whose mirror is gone (evicted), unless younger than ``older_than``
    seconds (a mirror being made writes its ``.pages`` first)."""
    try:
        names = set(os.listdir(folder))
    except FileNotFoundError:
        return
    now = time.time()
    for name in names:
        if not (name.startswith("m") and name.endswith(PAGES_SUFFIX)):
            continue
        if name[:-len(PAGES_SUFFIX)] + SUFFIX in names:
            continue
        path = os.path.join(folder, name)
        try:
            if now - os.stat(path).st_mtime > older_than:
                os.unlink(path)
        except FileNotFoundError:
            pass


# --- helpers --------------------------------------------------------------------------------------


def _open_flags(path, n_pages):
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if os.fstat(fd).st_size < n_pages:
            os.ftruncate(fd, n_pages)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _write_all(fd, data, offset):
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        view, offset = view[written:], offset + written


def _runs(pages, most):
    run = []
    for page in pages:
        if run and (page != run[-1] + 1 or len(run) >= most):
            yield run
            run = []
        run.append(page)
    if run:
        yield run


def _unlink(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
