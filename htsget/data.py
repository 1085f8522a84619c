"""The data endpoint's byte serving: one ``Range`` (``bytes=a-b``, ``bytes=a-``, ``bytes=-n``) of a
stored file, streamed from disk in blocks (never read whole into memory).

The body is a :class:`django.http.FileResponse` over a reader limited to the range. Under gunicorn
the reader's file descriptor (positioned at the range start) lets the server ``sendfile`` exactly
``Content-Length`` bytes; other servers read it block by block.
"""

import re

from django.http import FileResponse, HttpResponse

from .errors import RangeNotSatisfiable

STREAM_BLOCK = 512 * 1024
_SPEC = re.compile(r"^\s*(\d*)\s*-\s*(\d*)\s*$")
UNSATISFIABLE = "unsatisfiable"


def parse_range(header, size):
    """``None`` (serve everything), ``(start, stop)`` or :data:`UNSATISFIABLE` for a Range header.

    Only the first range of a multi-range request is served (no multipart answers). A malformed
    header is ignored, as RFC 9110 allows.
    """
    if not header:
        return None
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or not spec:
        return None
    match = _SPEC.match(spec.split(",")[0])
    if not match or (not match.group(1) and not match.group(2)):
        return None
    first, last = match.groups()
    if not first:  # a suffix: the last n bytes
        count = int(last)
        if count == 0 or size == 0:
            return UNSATISFIABLE
        return max(0, size - count), size
    start = int(first)
    if last and int(last) < start:
        return None
    if start >= size:
        return UNSATISFIABLE
    stop = size if not last else min(int(last) + 1, size)
    return start, stop


class RangeReader:
    """A binary file limited to ``length`` bytes from ``start``."""

    def __init__(self, path, start, length):
        self._file = open(path, "rb")
        self._file.seek(start)
        self._left = length

    def read(self, size=-1):
        if self._left <= 0:
            return b""
        size = self._left if size is None or size < 0 else min(size, self._left)
        data = self._file.read(size)
        self._left -= len(data)
        return data

    def fileno(self):
        return self._file.fileno()

    def close(self):
        self._file.close()


def serve(request, path, size, extra_headers=()):
    """The answer to GET/HEAD of ``path`` (``size`` bytes) honouring the request's Range."""
    wanted = parse_range(request.META.get("HTTP_RANGE"), size)
    if wanted == UNSATISFIABLE:
        raise RangeNotSatisfiable(
            f"The requested range is not within the file's {size} bytes.",
            headers={"Content-Range": f"bytes */{size}", "Accept-Ranges": "bytes", **dict(extra_headers)},
        )
    start, stop = wanted if wanted else (0, size)
    if request.method == "HEAD":
        response = HttpResponse(status=206 if wanted else 200, content_type="application/octet-stream")
    else:
        response = FileResponse(RangeReader(path, start, stop - start), status=206 if wanted else 200,
                                content_type="application/octet-stream")
        response.block_size = STREAM_BLOCK
    response["Content-Length"] = str(stop - start)
    if wanted:
        response["Content-Range"] = f"bytes {start}-{stop - 1}/{size}"
    response["Accept-Ranges"] = "bytes"
    for name, value in extra_headers:
        response[name] = value
    return response
