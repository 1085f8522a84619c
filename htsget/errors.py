"""htsget 1.3 errors: ``{"htsget": {"error": "<type>", "message": "<text>"}}`` with the protocol's
status codes. Error bodies are ``application/json`` (the protocol's rule for errors); tickets use
the htsget media type (see :mod:`htsget.views`)."""

from django.http import JsonResponse


class HtsgetError(Exception):
    error = "InvalidInput"
    status = 400

    def __init__(self, message):
        super().__init__(message)
        self.message = message


class InvalidAuthentication(HtsgetError):
    error, status = "InvalidAuthentication", 401


class PermissionDenied(HtsgetError):
    error, status = "PermissionDenied", 403


class NotFound(HtsgetError):
    error, status = "NotFound", 404


class PayloadTooLarge(HtsgetError):
    error, status = "PayloadTooLarge", 413


class UnsupportedFormat(HtsgetError):
    error, status = "UnsupportedFormat", 400


class InvalidInput(HtsgetError):
    error, status = "InvalidInput", 400


class InvalidRange(HtsgetError):
    error, status = "InvalidRange", 400


class ServerError(HtsgetError):
    """Not a protocol error: the stored file cannot be read (answered as a 500)."""

    error, status = "InternalError", 500


def error_response(error, message=None, status=None):
    """The JSON answer for an :class:`HtsgetError` (or a type, message and status)."""
    if isinstance(error, HtsgetError):
        error, message, status = error.error, error.message, error.status
    response = JsonResponse({"htsget": {"error": error, "message": message}}, status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="htsget"'
    return response
