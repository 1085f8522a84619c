"""htsget requests as plain values: a GET's query parameters or a POST's JSON body parsed into a
:class:`Query`, with the protocol's errors for what does not parse."""

import re
from dataclasses import dataclass
from typing import Optional

from higlass_server.values import parse_json

from . import registry
from .errors import InvalidInput, InvalidRange, UnsupportedFormat

FIELDS = ("QNAME", "FLAG", "RNAME", "POS", "MAPQ", "CIGAR", "RNEXT", "PNEXT", "TLEN", "SEQ", "QUAL")
TAG = re.compile(r"^[A-Za-z][A-Za-z0-9]$")
UINT = re.compile(r"^[0-9]{1,10}$")
MAX_UINT32 = 2**32 - 1
NO_END = 1 << 62  # the end of a region without one


@dataclass
class Query:
    endpoint: str  # "reads" or "variants"
    format: Optional[str] = None  # requested format (upper case) or None for the tileset's own
    header_only: bool = False
    regions: Optional[list] = None  # [(referenceName, start, end)], None for the whole file


def _format(endpoint, value):
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput("format must be a string.")
    wanted = value.upper()
    names = registry.format_names(endpoint)
    if wanted not in names:
        allowed = ", ".join(names)
        raise UnsupportedFormat(f"Format {value!r} is not served for {endpoint}; use one of {allowed}.")
    return wanted


def _class(value):
    if value is None:
        return False
    if not isinstance(value, str) or value.lower() != "header":
        raise InvalidInput(f"class must be 'header', not {value!r}.")
    return True


def _check_filters(endpoint, fields, tags, notags):
    """fields/tags/notags are checked but not applied: a superset (every field and tag) is sent."""
    if fields is not None:
        unknown = [field for field in fields if field not in FIELDS]
        if endpoint == "reads" and unknown:
            raise InvalidInput(f"Unknown field(s) {', '.join(map(repr, unknown))}; fields are {', '.join(FIELDS)}.")
    for name, values in (("tags", tags), ("notags", notags)):
        bad = [tag for tag in values or () if not TAG.match(tag)]
        if bad:
            raise InvalidInput(f"{name} must list two-character tags, not {', '.join(map(repr, bad))}.")
    both = set(tags or ()) & set(notags or ())
    if both:
        raise InvalidInput(f"tags and notags both list {', '.join(sorted(both))}.")


def _star(endpoint, name, has_range):
    if name == "*":
        if endpoint != "reads":
            raise InvalidInput("referenceName=* (unplaced reads) is only for reads.")
        if has_range:
            raise InvalidInput("start and end cannot be given with referenceName=*.")


def _split(value):
    if value is None:
        return None
    return [item for item in (part.strip() for part in value.split(",")) if item]


def _uint(params, name):
    value = params.get(name)
    if value is None:
        return None
    if not UINT.match(value) or int(value) > MAX_UINT32:
        raise InvalidInput(f"{name} must be an integer from 0 to {MAX_UINT32}, not {value!r}.")
    return int(value)


def parse_get(endpoint, params):
    """A :class:`Query` from the query string of a GET (unknown parameters are ignored)."""
    query = Query(endpoint, _format(endpoint, params.get("format")), _class(params.get("class")))
    if query.header_only:
        extra = [key for key in ("referenceName", "start", "end", "fields", "tags", "notags") if key in params]
        if extra:
            raise InvalidInput(f"class=header cannot be combined with {', '.join(extra)}.")
        return query
    name = params.get("referenceName")
    start, end = _uint(params, "start"), _uint(params, "end")
    if name is None and (start is not None or end is not None):
        raise InvalidInput("start and end need a referenceName.")
    if name == "":
        raise InvalidInput("referenceName is empty.")
    _star(endpoint, name, start is not None or end is not None)
    if start is not None and end is not None and start > end:
        raise InvalidRange(f"start ({start}) is greater than end ({end}).")
    _check_filters(endpoint, _split(params.get("fields")), _split(params.get("tags")), _split(params.get("notags")))
    if name is not None:
        query.regions = [(name, start or 0, NO_END if end is None else end)]
    return query


def _string_list(body, key):
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InvalidInput(f"{key} must be an array of strings.")
    return value


def _body_uint(region, key):
    value = region.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_UINT32:
        raise InvalidInput(f"A region's {key} must be an integer from 0 to {MAX_UINT32}.")
    return value


def refuse_query_string(params):
    """A POST takes no query string."""
    if params:
        raise InvalidInput("A POST takes its parameters in the JSON body, not in the query string.")


def parse_post(endpoint, raw):
    """A :class:`Query` from the body of a POST (bytes): a JSON object, or nothing."""
    if raw.strip():
        try:
            body = parse_json(raw)
        except ValueError:
            raise InvalidInput("The request body is not valid JSON.") from None
    else:
        body = {}
    if not isinstance(body, dict):
        raise InvalidInput("The request body must be a JSON object.")
    query = Query(endpoint, _format(endpoint, body.get("format")), _class(body.get("class")))
    if query.header_only:
        extra = [key for key in ("regions", "fields", "tags", "notags") if key in body]
        if extra:
            raise InvalidInput(f"class=header cannot be combined with {', '.join(extra)}.")
        return query
    _check_filters(endpoint, _string_list(body, "fields"), _string_list(body, "tags"), _string_list(body, "notags"))
    if "regions" not in body:
        return query
    regions = body["regions"]
    if not isinstance(regions, list) or not regions:
        raise InvalidInput("regions must be a non-empty array of {referenceName, start, end} objects.")
    query.regions = []
    for region in regions:
        if not isinstance(region, dict):
            raise InvalidInput("Each region must be an object {referenceName, start, end}.")
        name = region.get("referenceName")
        if not isinstance(name, str) or not name:
            raise InvalidInput("Each region needs a referenceName.")
        start, end = _body_uint(region, "start"), _body_uint(region, "end")
        _star(endpoint, name, start is not None or end is not None)
        if start is not None and end is not None and start >= end:
            raise InvalidRange(f"A region's start ({start}) must be less than its end ({end}).")
        query.regions.append((name, start or 0, NO_END if end is None else end))
    return query
