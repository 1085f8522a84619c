"""htsget 1.3 errors: ServiceErrors whose ``code`` is the protocol's error name.

The server's one exception handler answers them; the htsget views give it the protocol's body,
``{"htsget": {"error": "<name>", "message": "<text>"}}`` (:func:`error_body`), served as
``application/json`` (the protocol's rule for errors; tickets use the htsget media type).
"""

from higlass_server.exceptions import ServiceError


class HtsgetError(ServiceError):
    code, status = "InvalidInput", 400


class InvalidAuthentication(HtsgetError):
    code, status = "InvalidAuthentication", 401
    headers = {"WWW-Authenticate": 'Bearer realm="htsget"'}


class PermissionDenied(HtsgetError):
    code, status = "PermissionDenied", 403


class NotFound(HtsgetError):
    code, status = "NotFound", 404


class MethodNotAllowed(HtsgetError):
    """The protocol has no name for it: InvalidInput, with the HTTP status 405."""

    code, status = "InvalidInput", 405


class PayloadTooLarge(HtsgetError):
    code, status = "PayloadTooLarge", 413


class UnsupportedFormat(HtsgetError):
    code, status = "UnsupportedFormat", 400


class InvalidInput(HtsgetError):
    code, status = "InvalidInput", 400


class InvalidRange(HtsgetError):
    code, status = "InvalidRange", 400


class RangeNotSatisfiable(HtsgetError):
    """A data URL's Range header asks for bytes past the end: HTTP 416, with the file's size in
    ``Content-Range``, in the protocol's body like every other htsget error."""

    code, status = "InvalidRange", 416


class ServerError(HtsgetError):
    """Not a protocol error: the stored file cannot be read (answered as a 500)."""

    code, status = "InternalError", 500


def error_body(error):
    """The protocol's body for a ServiceError."""
    return {"htsget": {"error": error.code, "message": error.message}}
