"""pybbi handles on bigWig and bigBed files, opened only after the structure check.

pybbi (the UCSC library) ends the whole process on a malformed file, so every open here comes
after :func:`.bbifile.inspect` has read the same bytes, and, for serving, opens the very file
that was checked (its pinned path) rather than whatever the location names by then.
"""

import bbi

from . import access
from .bbifile import inspect
from .errors import FormatError


def open_path(path, kind):
    """``bbi.open(path)`` with its errors as FormatError("cannot open the <kind>: ...")."""
    try:
        return bbi.open(path)
    except (OSError, ValueError) as exc:
        raise FormatError(f"cannot open the {kind}: {exc}") from None


def open_checked(location, kind):
    """The quick structure check, then pybbi on the file just checked (the caller closes it)."""
    return inspect(location, kind, deep=False, then=lambda pinned: open_path(pinned, kind))


def validate(location, kind):
    """The full structure check (every block), then pybbi must see the file as ``kind``
    ("bigWig" or "bigBed")."""
    inspect(location, kind, deep=True)
    try:
        with bbi.open(access.local_path(location)) as handle:
            if not (handle.is_bigwig if kind == "bigWig" else handle.is_bigbed):
                raise FormatError(f"not a {kind} file")
    except (OSError, ValueError) as exc:
        raise FormatError(f"cannot open the {kind}: {exc}") from None


def chromsizes(location, kind):
    """``{name: length}`` of the file's own chromosomes, after the quick structure check."""
    inspect(location, kind, deep=False)
    try:
        with bbi.open(access.local_path(location)) as handle:
            return dict(handle.chromsizes)
    except (OSError, ValueError) as exc:
        raise FormatError(f"cannot open the {kind}: {exc}") from None
