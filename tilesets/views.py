"""HTTP layer of the tileset API: parse and validate, apply the visibility rule, call a service."""

import json
import secrets

import jsonschema
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.functions import Lower
from django.http import HttpResponse, JsonResponse
from rest_framework import permissions, status, viewsets
from rest_framework.exceptions import NotAuthenticated, PermissionDenied
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from higlass_server.errors import error_response
from higlass_server.exceptions import ServiceError
from higlass_server.values import parse_json, query_flag

from . import ingest, register, suggest, tiles
from .access import can_write, visible_tilesets
from .models import Tileset, ViewConf
from .schemas import TILES_POST_SCHEMA
from .serializers import (
    LinkTileSerializer,
    RegisterUrlSerializer,
    TilesetSerializer,
    TilesetUpdateSerializer,
    TilesetUploadSerializer,
    ViewConfInputSerializer,
)

def json_answer(data, status_code=200):
    """JSON as the reference's tile views write it (Python's json.dumps defaults)."""
    return HttpResponse(json.dumps(data), content_type="application/json", status=status_code)


def tiles_answer(tiles_by_id):
    """The same bytes as :func:`json_answer`, but the large base64 ``dense`` strings are spliced in
    as bytes rather than run through the JSON encoder (base64 needs no escaping): the encoder sees
    a short placeholder per tile, and the body is one join of the pieces."""
    marker = f"\u0000{secrets.token_hex(8)}\u0000"  # dumps writes it as an escape: never in data
    dense, shallow = [], {}
    for tile_id, tile in tiles_by_id.items():
        if isinstance(tile, dict) and isinstance(tile.get("dense"), str):
            dense.append(tile["dense"])
            tile = dict(tile, dense=marker)
        shallow[tile_id] = tile
    pieces = json.dumps(shallow).encode().split(json.dumps(marker).encode())
    body = [pieces[0]]
    for text, rest in zip(dense, pieces[1:]):
        body += (b'"', text.encode(), b'"', rest)
    return HttpResponse(b"".join(body), content_type="application/json")


def read_json_body(request):
    try:
        return parse_json(request.body)
    except ValueError:
        raise ServiceError("Unable to parse request body as JSON.") from None


MAX_SEARCH_TEXT = 1000  # characters of a name or file-name search: as long as a stored name may be


def search_text(params, name):
    """The search text ``params[name]`` (None when absent or empty), bounded in length: a very long
    pattern is refused by SQLite ("LIKE or GLOB pattern too complex") and can only be bad input."""
    text = params.get(name)
    if text and len(text) > MAX_SEARCH_TEXT:
        raise ServiceError(f"The search text ({name}) is longer than {MAX_SEARCH_TEXT} characters.")
    return text or None


def require_uploads(request, public_allowed=False):
    """Writes need UPLOAD_ENABLED and, unless ``public_allowed``, an authenticated caller."""
    if not settings.UPLOAD_ENABLED:
        raise PermissionDenied("Uploads disabled.")
    if not public_allowed and not request.user.is_authenticated:
        raise NotAuthenticated()


# --- /api/v1/tilesets/ ---------------------------------------------------------------------


class TilesetPagination(LimitOffsetPagination):
    default_limit = 10
    max_limit = 1_000_000  # clients ask for 10000 and 100000 at once

    def get_offset(self, request):
        offset = super().get_offset(request)
        return min(offset, 2**62)


class TilesetWritePermission(permissions.BasePermission):
    def has_permission(self, request, view):
        if request.method in permissions.SAFE_METHODS:
            return True
        require_uploads(request)
        return True

    def has_object_permission(self, request, view, obj):
        if request.method in permissions.SAFE_METHODS:
            return True
        if not can_write(request.user, obj):
            raise PermissionDenied("You may only change or delete your own tilesets.")
        return True


ORDER_FIELDS = {
    name.lower(): name
    for name in ("uuid", "name", "created", "filetype", "datatype", "coordSystem", "coordSystem2", "description", "private")
}
TEXT_ORDER_FIELDS = {"uuid", "name", "filetype", "datatype", "coordSystem", "coordSystem2", "description"}


class TilesetViewSet(viewsets.ModelViewSet):
    serializer_class = TilesetSerializer
    pagination_class = TilesetPagination
    permission_classes = [TilesetWritePermission]
    lookup_field = "uuid"
    lookup_value_regex = r"[^/.]+"

    def get_queryset(self):
        queryset = visible_tilesets(
            self.request.user, Tileset.objects.select_related("owner", "project", "project__owner")
        )
        if self.action != "list":
            return queryset
        params = self.request.query_params
        if "t" in params:
            queryset = queryset.filter(filetype=params["t"])
        datatypes = params.getlist("dt")
        if datatypes:
            queryset = queryset.filter(datatype__in=datatypes)
        name = search_text(params, "ac")
        if name:
            queryset = queryset.filter(name__icontains=name)
        if params.get("o"):
            field = ORDER_FIELDS.get(params["o"].lower())
            if field is None:
                raise ServiceError(f"Cannot order by {params['o']!r}; use one of: {', '.join(ORDER_FIELDS.values())}.")
            key = Lower(field) if field in TEXT_ORDER_FIELDS else F(field)
            descending = query_flag(params, "r")
            key = key.desc() if descending else key.asc()
            queryset = queryset.order_by(key, "-id" if descending else "id")
        return queryset

    def get_object(self):
        uuid = self.kwargs["uuid"]
        tileset = self.get_queryset().filter(uuid=uuid).first()
        if tileset is None:
            raise ServiceError(f"Unable to locate tileset instance for uuid: {uuid}", 404)
        self.check_object_permissions(self.request, tileset)
        return tileset

    def create(self, request, *args, **kwargs):
        upload = TilesetUploadSerializer(data=request.data, context={"request": request})
        upload.is_valid(raise_exception=True)
        fields = upload.validated_data
        tileset = ingest.ingest_tileset(
            datafile=fields["datafile"],
            indexfile=fields.get("indexfile"),
            filetype=fields["filetype"],
            datatype=fields["datatype"],
            coordSystem=fields["coordSystem"],
            coordSystem2=fields["coordSystem2"],
            uid=fields.get("uid"),
            name=fields["name"],
            description=fields["description"],
            private=fields["private"],
            project=fields.get("project"),
            project_name=fields["project_name"] or None,
            owner=request.user,
            strict_filetype=False,
        )
        return Response(TilesetSerializer(tileset).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        tileset = self.get_object()
        changes = TilesetUpdateSerializer(data=request.data, context={"tileset": tileset, "request": request})
        changes.is_valid(raise_exception=True)
        ingest.update_tileset(tileset, **changes.validated_data)
        return Response(TilesetSerializer(tileset).data)

    def destroy(self, request, *args, **kwargs):
        ingest.delete_tileset(self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- tilesets registered in place: register_url and link_tile --------------------------------


def _register_in_place(request, serializer_class, service, key):
    """Validate a JSON body with ``serializer_class``, register the tileset with ``service`` as
    the caller, answer 201 ``{key: uuid}``."""
    require_uploads(request)
    fields = serializer_class(data=read_json_body(request))
    fields.is_valid(raise_exception=True)
    tileset = service(owner=request.user, **fields.validated_data)
    return Response({key: tileset.uuid}, status=status.HTTP_201_CREATED)


class RegisterUrlView(APIView):
    """``POST /api/v1/register_url/``: a tileset read from an http(s) or s3 URL; 201 ``{"uid"}``."""

    def post(self, request):
        return _register_in_place(request, RegisterUrlSerializer, register.register_url, "uid")


class LinkTileView(APIView):
    """``POST /api/v1/link_tile/``: a file already under MEDIA_ROOT, registered in place;
    201 ``{"uuid"}``."""

    def post(self, request):
        return _register_in_place(request, LinkTileSerializer, register.link_file, "uuid")


# --- tiles and tileset_info ----------------------------------------------------------------


class TilesetInfoView(APIView):
    def get(self, request):
        return json_answer(tiles.tileset_infos(request.query_params.getlist("d"), request.user))


class TilesView(APIView):
    def get(self, request):
        return self._answer(request.query_params.getlist("d"), request.user, None)

    def post(self, request):
        body = read_json_body(request)
        try:
            jsonschema.validate(body, TILES_POST_SCHEMA)
        except jsonschema.ValidationError as exc:
            raise ServiceError(f"Invalid request body: {exc.message}.") from None
        tile_ids, options = [], {}
        for entry in body:
            uid = entry["tilesetUid"]
            tile_ids += [f"{uid}.{tile_id}" for tile_id in entry["tileIds"]]
            if "options" in entry:
                options[uid] = entry["options"]
        return self._answer(tile_ids, request.user, options)

    def _answer(self, tile_ids, user, options):
        return tiles_answer(tiles.get_tiles(tile_ids, user, options))


# --- view configs --------------------------------------------------------------------------


class ViewConfView(APIView):
    def get(self, request):
        uid = request.query_params.get("d")
        if not uid:
            raise ServiceError("View config ID not specified (use ?d=<uid>).")
        viewconf = ViewConf.objects.filter(uuid=uid).first()
        if viewconf is None:
            raise ServiceError("View config not found", 404)
        try:
            document = json.loads(viewconf.viewconf)
        except ValueError:
            raise ServiceError("The stored view config is not valid JSON.", 500) from None
        return JsonResponse(document, safe=False)

    def post(self, request):
        if not settings.UPLOAD_ENABLED:
            raise PermissionDenied("Uploads disabled.")
        if not request.user.is_authenticated and not settings.PUBLIC_UPLOAD_ENABLED:
            raise NotAuthenticated("Public uploads disabled: log in to save view configs.")
        body = read_json_body(request)
        if not isinstance(body, dict) or "viewconf" not in body:
            raise ServiceError("Broken view config: expected a JSON object with a 'viewconf' key.")
        fields = ViewConfInputSerializer(data=body)
        fields.is_valid(raise_exception=True)
        data = fields.validated_data
        uid = data.get("uid") or ViewConf._meta.get_field("uuid").default()
        try:
            with transaction.atomic():
                ViewConf.objects.create(uuid=uid, viewconf=data["viewconf"], higlassVersion=data["higlassVersion"])
        except IntegrityError:
            raise ServiceError(f"Object with uid {uid} already exists") from None
        return Response({"uid": uid}, status=status.HTTP_201_CREATED)


# --- search by file name -------------------------------------------------------------------


class UidsByFilenameView(APIView):
    def get(self, request):
        text = search_text(request.query_params, "d")
        if not text:
            raise ServiceError("Give the file name (or part of it) to look for as ?d=<text>.")
        found = visible_tilesets(request.user).filter(datafile__contains=text).select_related("owner", "project")
        results = TilesetSerializer(found, many=True, context={"request": request}).data
        return Response({"count": len(results), "results": results})


def api_not_found(request, *args, **kwargs):
    return error_response(f"Not found: {request.path}", 404)


def index(request):
    base = settings.APP_BASEPATH
    return JsonResponse(
        {
            "name": "HiGlass tileset server",
            "api": f"{base}/api/v1/",
            "tilesets": f"{base}/api/v1/tilesets/",
            "admin": f"{base}/admin/",
        }
    )


class SuggestView(APIView):
    """``/api/v1/suggest/?d=<beddb uid>&ac=<text>``: gene names starting with ``text``."""

    def get(self, request):
        params = request.query_params
        return json_answer(suggest.suggestions(params.get("d"), params.get("ac"), request.user))
