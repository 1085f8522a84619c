"""The one error of the formats floor and the generators above it.

:class:`FormatError` says that a file cannot be read as what it should be (missing, unreadable,
not of its format, damaged) or that a request does not fit it. The generators know it as
``GeneratorError`` (the same class), so whatever the formats raise reaches the services as the
generators' error. It is a ServiceError answered as bad input (400) where one escapes unhandled.
"""

import os

from higlass_server.exceptions import ServiceError


class FormatError(ServiceError):
    """A file that cannot be read as its format, or a request that does not fit the file; the
    message is one line without server-side paths. ``reason``, when given, is a short word for
    the kind of damage ("truncated", "corrupt", ...) for callers that tell them apart."""

    def __init__(self, message, reason=None, status=None, code=None):
        super().__init__(message, status, code)
        self.reason = reason


def one_line(exc, location):
    """An exception's text on one line, without the server-side path of the file."""
    return " ".join(str(exc).replace(str(location), os.path.basename(str(location))).split())
