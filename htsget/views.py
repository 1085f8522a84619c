"""GA4GH htsget 1.3 under ``/api/v1/htsget/``: tickets for reads and variants, service-info, and the
data endpoint the tickets point at.

CORS (any origin, preflights, exposed ``Content-Length``/``Content-Range``) comes from
django-cors-headers for every URL here, the data endpoint included.
"""

import json
import logging
import os
from functools import wraps

from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from tilesets.access import can_read
from tilesets.models import Tileset

from . import auth, service
from .data import serve
from .errors import HtsgetError, NotFound, PermissionDenied, ServerError, error_response

logger = logging.getLogger("tilesets.htsget")

TICKET_TYPE = "application/vnd.ga4gh.htsget.v1.3.0+json; charset=utf-8"


def _options(methods):
    response = HttpResponse(status=204)
    response["Allow"] = ", ".join(methods)
    return response


def htsget_view(methods):
    """Method check, OPTIONS, and every :class:`HtsgetError` turned into its JSON answer."""

    def decorate(view):
        @csrf_exempt
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if request.method == "OPTIONS":
                return _options(methods + ["OPTIONS"])
            if request.method not in methods:
                response = error_response("InvalidInput", f"Method {request.method} is not allowed here.", 405)
                response["Allow"] = ", ".join(methods + ["OPTIONS"])
                return response
            try:
                return view(request, *args, **kwargs)
            except HtsgetError as exc:
                return error_response(exc)

        return wrapper

    return decorate


def _ticket_view(endpoint):
    @htsget_view(["GET", "POST"])
    def view(request, ident):
        user = auth.authenticate(request)
        if request.method == "POST":
            query = service.parse_post(endpoint, request)
        else:
            query = service.parse_get(endpoint, request.GET)
        tileset = service.resolve(endpoint, ident, query.format, user)
        answer = service.ticket(request, tileset, query, user)
        logger.debug("htsget %s ticket for %s: %d urls", endpoint, tileset.uuid, len(answer["htsget"]["urls"]))
        response = HttpResponse(json.dumps(answer), content_type=TICKET_TYPE)
        response["Cache-Control"] = "no-store" if tileset.private else "no-cache"
        return response

    view.__name__ = f"{endpoint}_ticket"
    return view


reads_ticket = _ticket_view("reads")
variants_ticket = _ticket_view("variants")


def _service_info_view(endpoint):
    @htsget_view(["GET"])
    def view(request):
        return JsonResponse(service.service_info(endpoint))

    view.__name__ = f"{endpoint}_service_info"
    return view


reads_service_info = _service_info_view("reads")
variants_service_info = _service_info_view("variants")


@htsget_view(["GET", "HEAD"])
def data(request, uuid):
    """Bytes of a BAM/CRAM/VCF/BCF tileset's stored file: public tilesets for anyone, private ones
    with the capability of a ticket (or the caller's own credentials) and the visibility rule."""
    tileset = Tileset.objects.filter(uuid=uuid).first()
    if tileset is None or tileset.filetype not in service.HTS_FILETYPES:
        raise NotFound(f"No htsget data with id {uuid!r}.")
    if tileset.private:
        user = auth.data_user(request, tileset)
        if not can_read(user, tileset):
            raise PermissionDenied(f"{uuid!r} is private: use the data URL with the headers of a ticket.")
    path = service.paths_of(tileset)[0]
    try:
        size = os.path.getsize(path) if path else None
    except OSError:
        size = None
    if size is None:
        raise ServerError(f"The file of {uuid!r} is missing.")
    cache = "private, no-store" if tileset.private else "public, max-age=3600"
    return serve(request, path, size, [("Cache-Control", cache)])


def not_found(request, *args, **kwargs):
    return error_response(NotFound(f"No htsget endpoint at {request.path}."))
