"""GA4GH htsget 1.3 under ``/api/v1/htsget/``: tickets for reads and variants, service-info, and the
data endpoint the tickets point at.

The views are DRF API views like the rest of the API, with htsget's own rules: the caller is
found by :mod:`htsget.auth` (Bearer tokens and ticket capabilities), no content negotiation (a
ticket is always the htsget media type, never a 406), request bodies read raw, OPTIONS answered
``204`` with ``Allow``, and every error answered by the server's one exception handler in the
protocol's body (:meth:`HtsgetView.service_error_body`). CORS (any origin, preflights, exposed
``Content-Length``/``Content-Range``) comes from django-cors-headers for every URL here.
"""

import json
import logging
import os

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.urls import reverse
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from tilesets.access import can_read
from tilesets.models import Tileset

from . import auth, query, registry, service
from .data import serve
from .errors import MethodNotAllowed, NotFound, PayloadTooLarge, ServerError, error_body

logger = logging.getLogger("tilesets.htsget")

TICKET_TYPE = "application/vnd.ga4gh.htsget.v1.3.0+json; charset=utf-8"


class _AnyAccept(BaseContentNegotiation):
    """The answer's type does not depend on ``Accept``: never a 406."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class HtsgetView(APIView):
    authentication_classes = ()  # htsget.auth finds the caller (DRF's would refuse capabilities)
    permission_classes = ()
    parser_classes = ()  # a POST body is read raw, with htsget's size limit
    renderer_classes = (JSONRenderer,)  # error bodies; answers are Django responses
    content_negotiation_class = _AnyAccept
    http_method_names = ["get", "options"]

    def service_error_body(self, exc):
        return error_body(exc)

    def options(self, request, *args, **kwargs):
        return HttpResponse(status=204)  # Allow: added by DRF from the methods of the view

    def http_method_not_allowed(self, request, *args, **kwargs):
        raise MethodNotAllowed(f"Method {request.method} is not allowed here.")


def _read_body(request):
    """The POST body, refused with PayloadTooLarge over ``HTSGET_MAX_POST_BYTES``."""
    limit = settings.HTSGET_MAX_POST_BYTES
    declared = request.META.get("CONTENT_LENGTH") or ""
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"The request body is larger than {limit} bytes.")
    data = request.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLarge(f"The request body is larger than {limit} bytes.")
    return data


def _data_url(request, tileset):
    """Where the data endpoint serves the tileset's bytes: under ``HTSGET_DATA_URL`` when set (a
    proxy's public address), else this server's own URL as the client reached it."""
    base = settings.HTSGET_DATA_URL
    if base:
        return f"{base.rstrip('/')}/{tileset.uuid}"
    return request.build_absolute_uri(reverse("htsget-data", kwargs={"uuid": tileset.uuid}))


class TicketView(HtsgetView):
    endpoint = None  # "reads" or "variants"
    http_method_names = ["get", "post", "options"]

    def get(self, request, ident):
        return self._ticket(request._request, ident, query.parse_get(self.endpoint, request.query_params))

    def post(self, request, ident):
        query.refuse_query_string(request.query_params)
        return self._ticket(request._request, ident, query.parse_post(self.endpoint, _read_body(request._request)))

    def _ticket(self, django_request, ident, parsed):
        user = auth.authenticate(django_request)
        tileset = service.resolve(self.endpoint, ident, parsed.format, user)
        answer = service.ticket(tileset, parsed, user, _data_url(django_request, tileset))
        logger.debug("htsget %s ticket for %s: %d urls", self.endpoint, tileset.uuid, len(answer["htsget"]["urls"]))
        response = HttpResponse(json.dumps(answer), content_type=TICKET_TYPE)
        response["Cache-Control"] = "no-store" if tileset.private else "no-cache"
        return response


class ServiceInfoView(HtsgetView):
    endpoint = None

    def get(self, request):
        return JsonResponse(service.service_info(self.endpoint))


class DataView(HtsgetView):
    """Bytes of a stored file of an htsget tileset: public tilesets for anyone, private ones with
    the capability of a ticket (or the caller's own credentials) and the visibility rule."""

    http_method_names = ["get", "head", "options"]

    def get(self, request, uuid):
        django_request = request._request
        user = auth.data_user(django_request, uuid)  # first: wrong credentials are a 401 for any id
        tileset = Tileset.objects.filter(uuid=uuid).first()
        missing = tileset is None or tileset.filetype not in registry.filetypes()
        if missing or (tileset.private and not can_read(user, tileset)):
            raise NotFound(f"No htsget data with id {uuid!r}.")  # invisible reads as unknown
        path = service.paths_of(tileset)[0]
        try:
            size = os.path.getsize(path) if path else None
        except OSError:
            size = None
        if size is None:
            raise ServerError(f"The file of {uuid!r} is missing.")
        cache = "private, no-store" if tileset.private else "public, max-age=3600"
        return serve(django_request, path, size, [("Cache-Control", cache)])

    head = get


class MissingView(HtsgetView):
    """Any other URL under the htsget prefix, whatever the method."""

    def _missing(self, request, *args, **kwargs):
        raise NotFound(f"No htsget endpoint at {request.path}.")

    get = options = http_method_not_allowed = _missing
