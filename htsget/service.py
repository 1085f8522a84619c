"""The htsget ticket service: requests parsed to a :class:`Query`, ids resolved to tilesets under the
visibility rule, and tickets computed from the stored facts and the (cached, parsed) index.

A region ticket is: the header (``class: header``), then the body chunks the index gives for the
regions (``class: body``), then the BGZF EOF block inline. Whole blocks are served by the data
endpoint with ``Range``; the partial blocks at the edges of a chunk are re-compressed and sent inline
as ``data:;base64,`` URIs (see :mod:`tilesets.generators.hts`), so the concatenation is always a
valid file. Requests without a region, and CRAM/BCF tilesets, get the whole file.
"""

import base64
import json
import logging
import os
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Optional

from django.conf import settings
from django.urls import reverse

from tilesets.access import visible_tilesets
from tilesets.generators import GeneratorError, Source, cram, hts
from tilesets.models import UID_PATTERN, Tileset
from tilesets.storage import data_path, index_path

from . import auth
from .errors import InvalidInput, InvalidRange, NotFound, PayloadTooLarge, PermissionDenied, ServerError, UnsupportedFormat

logger = logging.getLogger("tilesets.htsget")

# endpoint -> {filetype: format}; the first format of each endpoint is its default.
FORMATS = {
    "reads": {"bam": "BAM", "cram": "CRAM"},
    "variants": {"vcf": "VCF", "bcf": "BCF"},
}
DEFAULT_FORMAT = {"reads": "BAM", "variants": "VCF"}
HTS_FILETYPES = {filetype for formats in FORMATS.values() for filetype in formats}
RANGED_FORMATS = {"BAM", "VCF"}  # answered by region from the index; the others whole-file
FIELDS = ("QNAME", "FLAG", "RNAME", "POS", "MAPQ", "CIGAR", "RNEXT", "PNEXT", "TLEN", "SEQ", "QUAL")
TAG = re.compile(r"^[A-Za-z][A-Za-z0-9]$")
UINT = re.compile(r"^[0-9]{1,10}$")
NO_END = 1 << 62
EOF_URL = "data:;base64," + base64.b64encode(hts.EOF_BLOCK).decode()
_UID = re.compile(UID_PATTERN)


def _setting(name, default):
    return getattr(settings, name, default)


# --- requests ------------------------------------------------------------------------------


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
    if wanted not in FORMATS[endpoint].values():
        allowed = ", ".join(FORMATS[endpoint].values())
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
    if not UINT.match(value) or int(value) > hts.MAX_UINT32:
        raise InvalidInput(f"{name} must be an integer from 0 to {hts.MAX_UINT32}, not {value!r}.")
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
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= hts.MAX_UINT32:
        raise InvalidInput(f"A region's {key} must be an integer from 0 to {hts.MAX_UINT32}.")
    return value


def read_body(request):
    """The POST body, refused with PayloadTooLarge over ``HTSGET_MAX_POST_BYTES``."""
    limit = int(_setting("HTSGET_MAX_POST_BYTES", 64 * 1024))
    declared = request.META.get("CONTENT_LENGTH") or ""
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"The request body is larger than {limit} bytes.")
    data = request.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLarge(f"The request body is larger than {limit} bytes.")
    return data


def parse_post(endpoint, request):
    """A :class:`Query` from a POST: a JSON object body, and no query string."""
    if request.GET:
        raise InvalidInput("A POST takes its parameters in the JSON body, not in the query string.")
    raw = read_body(request)
    if raw.strip():
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
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


# --- ids -----------------------------------------------------------------------------------


def resolve(endpoint, ident, wanted, user):
    """The tileset for ``ident``: its uuid, else the name of a visible tileset of the format.

    A uuid of another kind of tileset (or of nothing) is NotFound, a private one the caller may not
    see is PermissionDenied, one in another format UnsupportedFormat. Names are looked up only among
    the tilesets the caller may see; several matches for one format are ambiguous (InvalidInput).
    """
    formats = FORMATS[endpoint]
    for candidate in dict.fromkeys((ident, ident.rstrip("/"))):
        if not _UID.match(candidate):
            continue
        by_uuid = Tileset.objects.filter(uuid=candidate)
        tileset = visible_tilesets(user, by_uuid).first()  # one query when all is well
        readable = tileset is not None
        if tileset is None:
            tileset = by_uuid.first()
        if tileset is None:
            continue
        if tileset.filetype not in formats:
            raise NotFound(f"No {endpoint} with id {candidate!r}.")
        if not readable:
            if user.is_authenticated:
                raise PermissionDenied(f"You may not read {candidate!r}.")
            raise PermissionDenied(f"{candidate!r} is private: send Authorization: Bearer <token>.")
        if wanted and formats[tileset.filetype] != wanted:
            raise UnsupportedFormat(f"{candidate!r} is available as {formats[tileset.filetype]} only.")
        return tileset
    for candidate in dict.fromkeys((ident, ident.rstrip("/"))):
        named = list(visible_tilesets(user, Tileset.objects.filter(name=candidate, filetype__in=list(formats))))
        if not named:
            continue
        choice = wanted or (DEFAULT_FORMAT[endpoint] if any(formats[t.filetype] == DEFAULT_FORMAT[endpoint]
                                                             for t in named) else formats[named[0].filetype])
        matches = [t for t in named if formats[t.filetype] == choice]
        if not matches:
            have = ", ".join(sorted({formats[t.filetype] for t in named}))
            raise UnsupportedFormat(f"{candidate!r} is available as {have} only.")
        if len(matches) > 1:
            raise InvalidInput(f"Several {choice} tilesets are named {candidate!r}; use the uuid.")
        return matches[0]
    raise NotFound(f"No {endpoint} with id {ident!r}.")


# --- facts and parsed indexes --------------------------------------------------------------

_FACTS = {"bam": hts.bam_facts, "vcf": hts.vcf_facts, "bcf": hts.bcf_facts, "cram": cram.facts}


class Prepared:
    """What a ticket needs of one tileset file version: facts, reference ids, the parsed index."""

    def __init__(self, path, facts, index):
        self.path = path
        self.facts = facts
        self.index = index
        self.references = {name: i for i, (name, _) in enumerate(facts.get("references") or [])}

    def declares(self, name):
        return not self.references or name in self.references or name == "*"

    def ref_id(self, name):
        if self.index is not None and self.index.names is not None:
            return self.index.name_ids.get(name)
        return self.references.get(name)


class _Cache:
    def __init__(self):
        self._items = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            item = self._items.get(key)
            if item is not None:
                self._items.move_to_end(key)
            return item

    def put(self, key, value):
        size = int(_setting("HTSGET_INDEX_CACHE_SIZE", 32))
        with self._lock:
            for other in [k for k in self._items if k[0] == key[0]]:
                del self._items[other]  # an older version of the same tileset
            self._items[key] = value
            while len(self._items) > max(1, size):
                self._items.popitem(last=False)

    def clear(self):
        with self._lock:
            self._items.clear()


prepared_cache = _Cache()


def _version(path):
    stat = os.stat(path)
    return (stat.st_ino, stat.st_size, stat.st_mtime_ns)


def stored_facts(tileset, path):
    """The htsget facts stored at ingest, or computed now (without MD5) and stored when missing
    or stale (a tileset ingested before its generator stored them, or a file replaced in place)."""
    facts = (tileset.meta or {}).get("facts", {}).get("htsget")
    size = os.path.getsize(path)
    if facts and facts.get("version") == hts.FACTS_VERSION and facts.get("file_size") == size:
        return facts
    compute = _FACTS[tileset.filetype]
    facts = compute(Source(path, paths_of(tileset)[1]), md5=False)["htsget"]
    meta = dict(tileset.meta or {})
    meta["facts"] = {**meta.get("facts", {}), "htsget": facts}
    Tileset.objects.filter(pk=tileset.pk).update(meta=meta)
    tileset.meta = meta
    logger.info("Computed the htsget facts of %s", tileset.uuid)
    return facts


_paths = {}


def paths_of(tileset):
    """(data path, index path) of a tileset, resolved with the storage containment checks once
    per stored name (resolving paths costs more than the rest of a ticket)."""
    key = (settings.MEDIA_ROOT, tileset.datafile.name, tileset.indexfile.name if tileset.indexfile else None)
    found = _paths.get(key)
    if found is None:
        if len(_paths) > 4096:
            _paths.clear()
        found = _paths[key] = (data_path(tileset), index_path(tileset))
    return found


def prepare(tileset):
    path, indexfile = paths_of(tileset)
    if path is None or not os.path.isfile(path):
        raise ServerError(f"The file of {tileset.uuid!r} is missing.")
    try:
        key = (tileset.uuid, path, _version(path), tileset.filetype,
               (indexfile, _version(indexfile)) if indexfile and os.path.isfile(indexfile) else None)
        found = prepared_cache.get(key)
        if found is not None:
            return found
        facts = stored_facts(tileset, path)
        index = None
        if facts["format"] in RANGED_FORMATS and key[-1] is not None:
            index = hts.load_index(indexfile)
    except (GeneratorError, OSError) as exc:
        logger.warning("Cannot read %s for htsget: %s", tileset.uuid, exc)
        raise ServerError(f"The file of {tileset.uuid!r} cannot be read.") from None
    found = Prepared(path, facts, index)
    prepared_cache.put(key, found)
    return found


# --- tickets -------------------------------------------------------------------------------


def data_url(request, tileset):
    base = _setting("HTSGET_DATA_URL", "")
    if base:
        return f"{base.rstrip('/')}/{tileset.uuid}"
    return request.build_absolute_uri(reverse("htsget-data", kwargs={"uuid": tileset.uuid}))


class _Urls:
    """Collects the ticket's URL objects: byte ranges of the data URL (split to at most
    ``HTSGET_MAX_BLOCK_BYTES`` each) and inline data."""

    def __init__(self, url, headers, classes):
        self.url = url
        self.headers = headers
        self.classes = classes
        self.items = []
        self.step = max(1, int(_setting("HTSGET_MAX_BLOCK_BYTES", 64 * 1024 * 1024)))

    def add(self, pieces, cls=None):
        for piece in pieces:
            if piece[0] == "range":
                for start in range(piece[1], piece[2], self.step):
                    stop = min(piece[2], start + self.step)
                    headers = {"Range": f"bytes={start}-{stop - 1}", **self.headers}
                    self._append({"url": self.url, "headers": headers}, cls)
            else:
                self._append({"url": "data:;base64," + base64.b64encode(piece[1]).decode()}, cls)

    def eof(self):
        self._append({"url": EOF_URL}, "body")

    def _append(self, item, cls):
        if self.classes:
            item["class"] = cls
        self.items.append(item)


def ticket(request, tileset, query, user):
    """The ticket for ``query`` on ``tileset`` (already resolved and readable by ``user``)."""
    prepared = prepare(tileset)
    facts = prepared.facts
    fmt = FORMATS[query.endpoint][tileset.filetype]
    for name, _, _ in query.regions or ():
        if not prepared.declares(name):
            raise NotFound(f"Reference {name!r} is not in {tileset.uuid!r}.")
    headers = {}
    if tileset.private:
        headers["Authorization"] = f"Bearer {auth.make_capability(tileset, user)}"
    url = data_url(request, tileset)
    ranged = fmt in RANGED_FORMATS and prepared.index is not None
    if not ranged or (query.regions is None and not query.header_only):
        urls = _Urls(url, headers, classes=False)
        urls.add([("range", 0, facts["file_size"])])
        answer = {"format": fmt, "urls": urls.items}
        if fmt in RANGED_FORMATS and facts.get("eof") is False:
            urls.items.append({"url": EOF_URL})  # the file lacks its EOF block: complete the stream
        elif facts.get("md5"):
            answer["md5"] = facts["md5"]
        return {"htsget": answer}
    urls = _Urls(url, headers, classes=True)
    header_end, data_end = facts["header_end"], facts["data_end"]
    sizes = {"inline_max": int(_setting("HTSGET_INLINE_MAX_BYTES", 1 << 20)),
             "compress_max": int(_setting("HTSGET_INLINE_COMPRESS_MAX_BYTES", 16 * 1024))}
    try:
        with open(prepared.path, "rb") as handle:
            urls.add(hts.plan_pieces(handle, [(0, header_end)], **sizes), "header")
            if not query.header_only:
                urls.add(hts.plan_pieces(handle, body_spans(prepared, query.regions), **sizes), "body")
    except (GeneratorError, OSError) as exc:
        logger.warning("Cannot read %s for an htsget ticket: %s", tileset.uuid, exc)
        raise ServerError(f"The file of {tileset.uuid!r} cannot be read.") from None
    urls.eof()
    return {"htsget": {"format": fmt, "urls": urls.items}}


def body_spans(prepared, regions):
    """The merged chunks (voffset spans) holding every record of the regions, in file order."""
    facts, index = prepared.facts, prepared.index
    header_end, data_end = facts["header_end"], facts["data_end"]
    chunks = []
    for name, start, end in regions:
        if name == "*":  # unplaced reads: after the last placed record, up to the EOF block
            chunks.append((max(header_end, index.placed_end), data_end))
        else:
            chunks.extend(index.chunks(prepared.ref_id(name), start, end))
    return hts.clip_chunks(hts.merge_chunks(chunks), header_end, data_end)


def service_info(endpoint):
    formats = list(FORMATS[endpoint].values())
    return {
        "id": f"{_setting('HTSGET_SERVICE_ID', 'org.higlass.server.htsget')}.{endpoint}",
        "name": f"HiGlass tileset server htsget ({endpoint})",
        "description": f"{', '.join(formats)} tilesets of this server by genomic region "
                       f"({formats[0]} answered from the index; {formats[1]} as whole files).",
        "type": {"group": "org.ga4gh", "artifact": "htsget", "version": "1.3.0"},
        "organization": {
            "name": _setting("HTSGET_ORGANIZATION_NAME", "HiGlass"),
            "url": _setting("HTSGET_ORGANIZATION_URL", "https://higlass.io"),
        },
        "version": "1.0.0",
        "htsget": {
            "datatype": endpoint,
            "formats": formats,
            "fieldsParameterEffective": False,
            "tagsParametersEffective": False,
        },
    }
