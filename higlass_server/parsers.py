"""DRF's JSON parser with the server's one JSON rule (higlass_server.values.parse_json): a body
nested too deeply for Python's parser is a 400 like any other malformed JSON, never a 500."""

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from .values import parse_json


class JSONBodyParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return parse_json(stream.read())
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
