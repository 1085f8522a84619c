"""``/api/v1/chrom-sizes/`` and ``/api/v1/available-chrom-sizes/``."""

from django.http import HttpResponse
from rest_framework.response import Response
from rest_framework.views import APIView

from higlass_server.exceptions import ServiceError
from higlass_server.values import query_flag
from tilesets.access import visible_tilesets
from tilesets.models import Tileset
from tilesets.serializers import TilesetSerializer

from .sizes import chromsizes_of, with_offsets


class ChromSizesView(APIView):
    def get(self, request):
        params = request.query_params
        uid = params.get("id")
        if not uid:
            raise ServiceError("Give the chromosome sizes tileset as ?id=<uuid>.")
        kind = params.get("type", "tsv").lower()
        if kind not in ("tsv", "json"):
            raise ServiceError(f"Unknown type {params.get('type')!r}: use tsv or json.")
        cumulative = query_flag(params, "cum")

        tileset = visible_tilesets(request.user, Tileset.objects.filter(uuid=uid)).first()
        if tileset is None:
            raise ServiceError(f"ChromSizes for {uid} not found", 404)
        rows = chromsizes_of(tileset)

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
