"""``/api/v1/chrom-sizes/`` and ``/api/v1/available-chrom-sizes/``."""

import logging

from django.http import HttpResponse
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from higlass_server.errors import ApiError
from tilesets.access import visible_tilesets
from tilesets.generators import GeneratorError
from tilesets.models import Tileset
from tilesets.serializers import TilesetSerializer

from .sizes import NoChromSizes, chromsizes_of, with_offsets

logger = logging.getLogger("chroms")
TRUE = {"1", "true", "yes", "on", ""}
FALSE = {"0", "false", "no", "off"}


class ChromSizesView(APIView):
    def get(self, request):
        params = request.query_params
        uid = params.get("id")
        if not uid:
            raise ApiError("Give the chromosome sizes tileset as ?id=<uuid>.")
        kind = params.get("type", "tsv").lower()
        if kind not in ("tsv", "json"):
            raise ApiError(f"Unknown type {params.get('type')!r}: use tsv or json.")
        cumulative = False
        if "cum" in params:
            value = params["cum"].lower()
            if value not in TRUE | FALSE:
                raise ApiError(f"cum must be 1/0 (or true/false), got {params['cum']!r}.")
            cumulative = value in TRUE

        tileset = visible_tilesets(request.user, Tileset.objects.filter(uuid=uid)).first()
        if tileset is None:
            raise ApiError(f"ChromSizes for {uid} not found", status.HTTP_404_NOT_FOUND)
        try:
            rows = chromsizes_of(tileset)
        except NoChromSizes as exc:
            raise ApiError(str(exc)) from None
        except GeneratorError as exc:
            raise ApiError(f"Unable to read the chromosome sizes of {uid}: {exc}", 500) from None

        if kind == "json":
            if cumulative:
                data = {name: {"size": length, "offset": offset} for name, length, offset in with_offsets(rows)}
            else:
                data = {name: {"size": length} for name, length in rows}
            return Response(data)
        if cumulative:
            text = "".join(f"{name}\t{length}\t{offset}\n" for name, length, offset in with_offsets(rows))
        else:
            text = "".join(f"{name}\t{length}\n" for name, length in rows)
        return HttpResponse(text, content_type="text/plain; charset=utf-8")


class AvailableChromSizesView(APIView):
    def get(self, request):
        found = visible_tilesets(request.user, Tileset.objects.filter(datatype="chromsizes"))
        results = TilesetSerializer(found.select_related("owner", "project"), many=True).data
        return Response({"count": len(results), "results": results})
