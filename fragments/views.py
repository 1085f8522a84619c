"""``/api/v1/fragments_by_loci/`` and ``/api/v1/fragments_by_chr/``: parse the request, call the
fragments service, encode the fragments (docs/fragments.md)."""

import json

from django.http import HttpResponse
from rest_framework.response import Response
from rest_framework.views import APIView

from higlass_server.exceptions import ServiceError
from tilesets.views import read_json_body

from . import by_chr, encode, params, service


def _json(data):
    return HttpResponse(json.dumps(data), content_type="application/json")


class FragmentsByLociView(APIView):
    def get(self, request):
        """The parameter catalogue: name -> short, dtype, default, help."""
        return Response(params.CATALOGUE)

    def post(self, request):
        body = read_json_body(request)
        if isinstance(body, list):
            loci, body_options = body, {}
        elif isinstance(body, dict):
            if "loci" not in body:
                raise ServiceError('Give the loci as the body (a list) or as {"loci": [...]}.')
            loci, body_options = body["loci"], body
        else:
            raise ServiceError("Request body needs to be an array or object.")
        options = params.parse(request.query_params, body_options)
        answer = service.fragments_by_loci(loci, options, request.user)
        fragments = answer["fragments"]
        encoding = options["encoding"]
        if encoding == "image":
            if len(fragments) == 1:
                return HttpResponse(encode.png(fragments[0]), content_type="image/png")
            response = HttpResponse(encode.zip_of_pngs(fragments), content_type="application/zip")
            response["Content-Disposition"] = "attachment; filename=snippets.zip"
            return response
        if encoding == "b64":
            answer["fragments"] = [encode.b64_png(fragment) for fragment in fragments]
            answer["dataTypes"] = ["dataUrl"] * len(fragments)
        else:
            answer["fragments"] = [encode.as_lists(fragment, options["precision"]) for fragment in fragments]
        return _json(answer)


class FragmentsByChrView(APIView):
    def get(self, request):
        catalogue = {**{name: params.CATALOGUE[name] for name in params.VALUE_OPTIONS}, **params.CHR_OPTIONS}
        options = params.parse(request.query_params, None, catalogue)
        if options["encoding"] == "image":
            raise ServiceError("encoding=image is not served here: use matrix or b64.")
        answer = by_chr.fragments_by_chr(options, request.user)
        if not options["for-config"]:
            b64 = options["encoding"] == "b64"
            for fragment in answer["fragments"]:
                matrix = fragment["matrix"]
                fragment["matrix"] = encode.b64_png(matrix) if b64 else encode.as_lists(matrix, options["precision"])
            answer["dataType"] = "dataUrl" if b64 else "matrix"
        return _json(answer)
