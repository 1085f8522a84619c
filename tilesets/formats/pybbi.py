"""pybbi handles on bigWig and bigBed files, opened only after the structure check.

pybbi (the UCSC library) ends the whole process on a malformed file, so every open here comes
after :func:`.bbifile.inspect` has read the same bytes, and, for serving, opens the very file
that was checked (its pinned path) rather than whatever the location names by then.

Remote files: the pinned path of an http(s) file is its probed URL, which pybbi reads only in a
helper process (:class:`.bbiworker.RemoteBbi`), since a server misbehaving mid-read makes the
UCSC code end the process. Its block cache (udc) lives in the configured folder and is trimmed
to the configured size at most once a minute, when a remote file is opened. An s3 file's pinned
path is a whole local copy (pybbi cannot read s3:// itself), read in this process as any local
file.
"""

import threading
import time

import bbi

from . import access
from .bbifile import inspect
from .bbiworker import RemoteBbi
from .errors import FormatError
from .udc import clean_udc_cache

UDC_CLEAN_SECONDS = 60.0
_cleaning = {"last": None, "lock": threading.Lock()}


def open_path(path, kind):
    """``bbi.open(path)`` (a helper-process handle for a URL) with its errors as
    FormatError("cannot open the <kind>: ...")."""
    try:
        if access.is_remote(path):
            return _open_remote(path)
        return bbi.open(path)
    except (OSError, ValueError, KeyError) as exc:
        raise FormatError(f"cannot open the {kind}: {access.without_credentials(str(exc))}") from None


def _open_remote(url):
    config = access.remote_config()
    clean_udc_now_and_then(config)
    deadline = config.request_deadline + config.connect_timeout  # one call may make several requests
    return RemoteBbi(url, access.shown(url), config.udc_cache_dir, deadline)


def clean_udc_now_and_then(config, every=UDC_CLEAN_SECONDS):
    """Trim pybbi's udc cache folder to ``config.udc_cache_bytes`` unless done in the last
    ``every`` seconds; True when it ran."""
    now = time.monotonic()
    with _cleaning["lock"]:
        last = _cleaning["last"]
        if last is not None and now - last < every:
            return False
        _cleaning["last"] = now
    try:
        clean_udc_cache(config.udc_cache_dir, config.udc_cache_bytes)
    except OSError:
        pass  # a folder that cannot be listed is cleaned next time
    return True


def open_checked(location, kind):
    """The quick structure check, then pybbi on the file just checked (the caller closes it)."""
    return inspect(location, kind, deep=False, then=lambda pinned: open_path(pinned, kind))


def _is_kind(handle, kind):
    return handle.is_bigwig if kind == "bigWig" else handle.is_bigbed


def validate(location, kind):
    """The structure check, then pybbi must see the file as ``kind`` ("bigWig" or "bigBed").

    A local file is checked in full, every block included (pybbi reads it in this process); a
    remote one quickly (header, zoom levels, chromosome tree, index roots), since checking every
    block would read the whole file and pybbi reads it in a helper process anyway."""

    def check(pinned):
        with open_path(pinned, kind) as handle:
            if not _is_kind(handle, kind):
                raise FormatError(f"not a {kind} file")

    inspect(location, kind, deep=not access.is_remote(location), then=check)


def chromsizes(location, kind):
    """``{name: length}`` of the file's own chromosomes, after the quick structure check."""

    def read(pinned):
        with open_path(pinned, kind) as handle:
            return dict(handle.chromsizes)

    return inspect(location, kind, deep=False, then=read)
