"""How the bytes of a data file are reached.

A generator names its data by a *location* (``Source.datafile``): a path on this machine, or an
``http(s)://`` / ``s3://`` URL. Every way the generators reach bytes goes through this module — a
binary stream, reads at offsets, an HDF5 file, a path that a C library (SQLite) opens itself, a
name that a library reading URLs itself (pybbi, htslib) opens — so the generators never care
where the bytes live.

Remote locations use the remote layer (:mod:`.remote`) with the process's :class:`RemoteConfig`,
set once by :func:`configure` (the server does it at start from its settings). A remote file's
size and version come from a probe remembered for ``revalidate_seconds``; its failures are
:class:`~.remote_config.RemoteError` (an OSError) naming the URL.
"""

import functools
import io
import os
import re
import threading
import time
from urllib.parse import urlsplit

import h5py

from . import remote
from .remote_config import RemoteConfig, RemoteError
from .udc import point_udc_cache
from .urls import display_url

REMOTE_PREFIXES = ("http://", "https://", "s3://")
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"

_state = {"config": RemoteConfig(), "revalidate": 60.0}
_probes = {}  # location -> (time probed, RemoteInfo)
_probes_lock = threading.Lock()
MAX_PROBES = 256  # each keeps its first block (REMOTE_BLOCK_BYTES): 64 MiB at the default


def configure(config, revalidate_seconds=60.0):
    """Use ``config`` for remote locations from now on (and forget remembered probes)."""
    _state["config"] = config
    _state["revalidate"] = float(revalidate_seconds)
    with _probes_lock:
        _probes.clear()
    try:
        os.makedirs(config.udc_cache_dir, exist_ok=True)
        point_udc_cache(config.udc_cache_dir)
    except (OSError, RuntimeError, AttributeError):  # pybbi without the setter: its default folder
        pass


def remote_config():
    return _state["config"]


def configuration():
    """``(config, revalidate_seconds)`` in use (e.g. to restore them after a test)."""
    return _state["config"], _state["revalidate"]


def is_remote(location):
    return isinstance(location, str) and location.startswith(REMOTE_PREFIXES)


def remote_info(location, fresh=False):
    """The :class:`RemoteInfo` of a remote location, probed at most every ``revalidate`` seconds
    (``fresh`` probes now). RemoteError when it cannot be read by ranges."""
    now = time.monotonic()
    if not fresh:
        with _probes_lock:
            found = _probes.get(location)
        if found is not None and now - found[0] < _state["revalidate"]:
            return found[1]
    info = remote.probe(location, _state["config"])
    with _probes_lock:
        if len(_probes) >= MAX_PROBES:
            _probes.clear()
        _probes[location] = (now, info)
    return info


def forget_probes():
    """Probe every remote location again at its next use (a file was seen changing under a read:
    until re-probed, its tiles would keep failing for up to ``revalidate`` seconds)."""
    with _probes_lock:
        _probes.clear()


def exists(location):
    if not is_remote(location):
        return os.path.exists(location)
    try:
        remote_info(location)
        return True
    except RemoteError:
        return False


def is_file(location):
    return exists(location) if is_remote(location) else os.path.isfile(location)


def size_of(location):
    return remote_info(location).size if is_remote(location) else os.path.getsize(location)


def open_binary(location):
    """A binary file object at the start of the data (the caller closes it)."""
    if not is_remote(location):
        return open(location, "rb")
    return io.BufferedReader(_range_file(location), buffer_size=64 * 1024)


def _range_file(location):
    return remote.open_remote(location, _state["config"], info=remote_info(location))


def local_path(location):
    """A path on this machine holding the bytes, for libraries that open files by name: the
    location itself, or a remote file's whole copy in the bounded disk cache (refused with a
    RemoteError above the configured size)."""
    if not is_remote(location):
        return location
    return remote.fetch_to_local(location, _state["config"], info=remote_info(location))


def library_name(location):
    """The name to give a library that reads files by name and http(s) URLs itself (pybbi,
    htslib): a local path as it is; for an http(s) URL the URL the probe ended at (redirects
    followed and checked); for s3, or a URL with a user and password, a whole local copy
    (:func:`local_path`), since these libraries cannot reach our S3 endpoint with our
    credentials, and pybbi cannot log in to a web server. RemoteError when the probe fails or
    such a file is too large to copy."""
    if not is_remote(location):
        return location
    return _library_name(location, remote_info(location))


def _library_name(location, info):
    if not (location.startswith("s3://") or remote.parse_location(location).username is not None):
        return info.url
    try:
        return remote.fetch_to_local(location, _state["config"], info=info)
    except RemoteError as exc:
        if exc.reason != "too-large":
            raise
        config = _state["config"]
        limit = min(config.max_fetch_bytes, config.disk_cache_bytes)
        raise RemoteError(
            f"{info.location}: this filetype's reader cannot read s3:// or log in to a server itself, "
            f"so the file is copied whole first, and at {info.size} bytes it is larger than the "
            f"{limit} bytes the server copies; serve it over https without a password instead",
            reason="too-large") from None


def shown(location):
    """``location`` as it may appear in messages: a URL without user, password or query."""
    return display_url(location) if is_remote(location) else location


def file_name(location):
    """The last part of a location's path (for a URL: without its query), e.g. to name files
    derived from it."""
    if is_remote(location):
        location = urlsplit(location).path
    return os.path.basename(location)


_USERINFO = re.compile(r"(\b[A-Za-z][A-Za-z0-9+.-]*://)[^/\s@]*@")


def without_credentials(text):
    """``text`` (e.g. a C library's error message) with the user and password of any URL in it
    removed."""
    return _USERINFO.sub(r"\1", text)


def is_hdf5(location):
    if not is_remote(location):
        return h5py.is_hdf5(location)
    info = remote_info(location)
    head = info.head or b""
    if head[:8] == HDF5_SIGNATURE:
        return True
    with _range_file(location) as handle:  # the superblock may also start at 512, 1024, 2048, ...
        offset = 512
        while offset + 8 <= min(info.size, 1 << 20):
            if handle.pread(offset, 8) == HDF5_SIGNATURE:
                return True
            offset *= 2
    return False


def open_h5(location, **options):
    """The data as a read-only ``h5py.File``; ``options`` are h5py's (e.g. its chunk cache)."""
    if not is_remote(location):
        return h5py.File(location, "r", **options)
    return h5py.File(_range_file(location), "r", **options)


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


class RemoteRandomAccess:
    """:class:`RandomAccess` for a remote file: reads at offsets through the block caches."""

    def __init__(self, location):
        self.location = location
        self.file = _range_file(location)
        self.size = self.file.size
        self.read_at = self.file.pread

    def pinned_path(self):
        """The name a library reading files by name should open for this very version (see
        :func:`library_name`: the probed URL, or for s3 a local copy)."""
        return _library_name(self.location, self.file.info)

    def close(self):
        self.file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


def open_ranged(location):
    """A :class:`RandomAccess` (or its remote twin) on the data (OSError when it does not open)."""
    return RemoteRandomAccess(location) if is_remote(location) else RandomAccess(location)
