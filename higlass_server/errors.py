"""One shape for every error of the API: ``{"error": "<text>", "code": "<Code>"}``.

DRF-raised errors keep their text in ``detail`` too (for clients that read DRF's key), and
serializer field errors keep their field map in ``detail``.
"""

import logging

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger("higlass_server")

CODES = {
    400: "InvalidInput",
    401: "InvalidAuthentication",
    403: "PermissionDenied",
    404: "NotFound",
    405: "MethodNotAllowed",
    406: "NotAcceptable",
    409: "Conflict",
    413: "PayloadTooLarge",
    415: "UnsupportedMediaType",
    429: "TooManyRequests",
    500: "ServerError",
}


def error_body(message, status_code, **extra):
    body = {"error": message, "code": CODES.get(status_code, "Error")}
    body.update(extra)
    return body


def error_response(message, status_code, **extra):
    """A JSON error answer for plain Django code paths."""
    return JsonResponse(error_body(message, status_code, **extra), status=status_code)


class ApiError(exceptions.APIException):
    """Raise from a view to answer ``{"error": message}`` with ``status_code``."""

    def __init__(self, message, status_code=status.HTTP_400_BAD_REQUEST):
        super().__init__(detail=message)
        self.status_code = status_code


def _flatten(detail, prefix=""):
    """Turn a DRF field-error structure into 'field: message' lines."""
    if isinstance(detail, dict):
        lines = []
        for key, value in detail.items():
            name = key if key != "non_field_errors" else ""
            lines += _flatten(value, f"{prefix}{name}: " if name else prefix)
        return lines
    if isinstance(detail, list):
        return [line for item in detail for line in _flatten(item, prefix)]
    return [f"{prefix}{detail}"]


def api_exception_handler(exc, context):
    if isinstance(exc, RequestDataTooBig):
        return Response(error_body("The request body is too large.", 413), status=413)
    if isinstance(exc, SuspiciousOperation):  # e.g. too many query fields
        return Response(error_body(f"Bad request: {exc}", 400), status=400)
    response = drf_exception_handler(exc, context)
    if response is None:
        logger.exception("Unhandled error in %s", context.get("view").__class__.__name__)
        return Response(error_body("Internal server error.", 500), status=500)
    data = response.data
    if isinstance(data, dict) and set(data) == {"detail"}:
        text = str(data["detail"])
        response.data = error_body(text, response.status_code, detail=text)
    else:
        text = "; ".join(_flatten(data)) or "Invalid input."
        response.data = error_body(text, response.status_code, detail=data)
    return response


# --- Django's own error pages: JSON under the API, HTML elsewhere --------------------------


def _is_api(request):
    return request.path_info.startswith("/api/")


def bad_request(request, exception=None):
    if _is_api(request):
        return error_response("Bad request: " + (str(exception) or "the request could not be read."), 400)
    return defaults.bad_request(request, exception)


def permission_denied(request, exception=None):
    if _is_api(request):
        return error_response(str(exception) or "Permission denied.", 403)
    return defaults.permission_denied(request, exception)


def page_not_found(request, exception=None):
    if _is_api(request):
        return error_response(f"Not found: {request.path}", 404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    if _is_api(request):
        return error_response("Internal server error.", 500)
    return defaults.server_error(request)
