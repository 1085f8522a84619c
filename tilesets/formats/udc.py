"""The block cache of UCSC's ``udc`` layer inside pybbi (bigWig/bigBed read by URL).

pybbi caches the blocks it reads from a URL under ``/tmp/udcCache`` (one folder per URL holding a
``bitmap`` and a sparse ``sparseData`` file) and never removes them; the ``UDC_CACHEDIR``
environment variable is not honoured by the kent code pybbi 0.4 bundles. That code does export
``udcSetDefaultDir``, so :func:`point_udc_cache` sets the folder through ctypes, and
:func:`clean_udc_cache` keeps it under a size, least recently used URL first.
"""

import ctypes
import os
import shutil

_kept_buffers = []  # udcSetDefaultDir keeps the pointer it is given: the text must outlive it


def udc_cache_folder(config):
    """The folder for pybbi's udc cache (``config.udc_cache_dir``), created if missing."""
    folder = os.path.abspath(config.udc_cache_dir)
    os.makedirs(folder, exist_ok=True)
    return folder


def point_udc_cache(folder):
    """Make pybbi (in this process) cache URL blocks under ``folder``; True when done, False when
    the loaded pybbi does not offer ``udcSetDefaultDir``."""
    try:
        import bbi.cbbi as cbbi
    except ImportError:
        return False
    try:
        library = ctypes.CDLL(cbbi.__file__)
        set_dir = library.udcSetDefaultDir
        default_dir = library.udcDefaultDir
    except (OSError, AttributeError):
        return False
    set_dir.argtypes = [ctypes.c_char_p]
    set_dir.restype = None
    default_dir.restype = ctypes.c_char_p
    buffer = ctypes.create_string_buffer(os.fsencode(os.path.abspath(folder)))
    _kept_buffers.append(buffer)
    set_dir(buffer)
    return default_dir() == buffer.value


def current_udc_folder():
    """The folder pybbi's udc layer uses now (None when it cannot be asked)."""
    try:
        import bbi.cbbi as cbbi

        default_dir = ctypes.CDLL(cbbi.__file__).udcDefaultDir
    except (ImportError, OSError, AttributeError):
        return None
    default_dir.restype = ctypes.c_char_p
    return os.fsdecode(default_dir())


def _entries(folder):
    """(directory, bytes on disk, last use) for each cached URL under ``folder``."""
    found = []
    for directory, _dirs, files in os.walk(folder):
        if "bitmap" not in files and "sparseData" not in files:
            continue
        used = 0
        latest = 0.0
        for name in files:
            try:
                stat = os.stat(os.path.join(directory, name))
            except FileNotFoundError:
                continue
            used += stat.st_blocks * 512  # sparseData is sparse: count what it really takes
            latest = max(latest, stat.st_mtime, stat.st_atime)
        found.append((directory, used, latest))
    return found


def udc_cache_bytes(folder):
    """Bytes the udc cache under ``folder`` takes on disk."""
    return sum(used for _directory, used, _latest in _entries(folder))


def clean_udc_cache(folder, max_bytes):
    """Remove cached URLs, least recently used first, until ``folder`` holds at most
    ``max_bytes``; returns the bytes left. Safe while pybbi runs: a URL removed under an open
    reader is fetched again by the next reader."""
    entries = sorted(_entries(folder), key=lambda entry: entry[2])
    total = sum(used for _directory, used, _latest in entries)
    for directory, used, _latest in entries:
        if total <= max_bytes:
            break
        for name in ("bitmap", "sparseData", "redir"):
            try:
                os.unlink(os.path.join(directory, name))
            except FileNotFoundError:
                pass
        total -= used
        _remove_empty_parents(directory, folder)
    return total


def _remove_empty_parents(directory, stop):
    stop = os.path.abspath(stop)
    directory = os.path.abspath(directory)
    while directory.startswith(stop + os.sep):
        try:
            os.rmdir(directory)
        except OSError:
            return
        directory = os.path.dirname(directory)


def wipe_udc_cache(folder):
    """Remove everything under ``folder`` (keeping the folder)."""
    for name in os.listdir(folder) if os.path.isdir(folder) else ():
        path = os.path.join(folder, name)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
