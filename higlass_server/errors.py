"""Every error of the API answered in one place: ``api_exception_handler`` (DRF's
``EXCEPTION_HANDLER``) and Django's error pages below.

The body shape, decided once:

* A :class:`~higlass_server.exceptions.ServiceError` (raised by a service or a view: ingest,
  tiles, chromosome sizes, suggest, the generators, bad query parameters) is answered with its
  ``status`` and ``{"error": "<message>", "code": "<code>"}`` — nothing else.
* An error DRF raises itself (authentication, permissions, unknown method, unreadable body,
  serializer validation) keeps DRF's ``detail`` next to ``error`` and ``code``: the same text for
  a plain error, the field-to-messages map for a validation error (``error`` then joins the
  messages as ``field: message`` lines). Clients written for DRF read ``detail``.
* Anything else is logged and answered ``500 {"error": "Internal server error.", "code":
  "ServerError"}``, never with a traceback.

A view with its own protocol (htsget) defines ``service_error_body(exc)``: every error raised in
that view is then handed to it as a ServiceError (DRF's own errors and unexpected ones converted
with their status) and the dict it returns is the body, with the error's status and any headers.
"""

import logging

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import JsonResponse
from django.views import defaults
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from .exceptions import CODES, ServiceError

logger = logging.getLogger("higlass_server")

SERVER_ERROR = "Internal server error."


def error_body(message, status_code, **extra):
    body = {"error": message, "code": CODES.get(status_code, "Error")}
    body.update(extra)
    return body


def error_response(message, status_code, **extra):
    """A JSON error answer for plain Django code paths."""
    return JsonResponse(error_body(message, status_code, **extra), status=status_code)


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


def _as_service_error(exc):
    """Django's own request errors as ServiceErrors; None for anything else."""
    if isinstance(exc, ServiceError):
        return exc
    if isinstance(exc, RequestDataTooBig):
        return ServiceError("The request body is too large.", 413)
    if isinstance(exc, SuspiciousOperation):  # e.g. too many query fields
        return ServiceError(f"Bad request: {exc}", 400)
    return None


def _answer(exc, body):
    response = Response(body, status=exc.status)
    for name, value in (exc.headers or {}).items():
        response[name] = value
    return response


def api_exception_handler(exc, context):
    view = context.get("view")
    protocol_body = getattr(view, "service_error_body", None)
    error = _as_service_error(exc)
    if error is not None:
        set_rollback()
        return _answer(error, protocol_body(error) if protocol_body else {"error": error.message, "code": error.code})

    response = drf_exception_handler(exc, context)
    if response is None:
        logger.exception("Unhandled error in %s", view.__class__.__name__)
        error = ServiceError(SERVER_ERROR, 500)
        return _answer(error, protocol_body(error) if protocol_body else error_body(SERVER_ERROR, 500))
    data = response.data
    plain = isinstance(data, dict) and set(data) == {"detail"}
    text = str(data["detail"]) if plain else ("; ".join(_flatten(data)) or "Invalid input.")
    if protocol_body:
        response.data = protocol_body(ServiceError(text, response.status_code))
    else:
        response.data = error_body(text, response.status_code, detail=text if plain else data)
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
        return error_response(SERVER_ERROR, 500)
    return defaults.server_error(request)
