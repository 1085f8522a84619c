"""The htsget ticket service: tickets computed from a tileset's stored facts and its (cached,
parsed) index. It takes plain values — a parsed :class:`~.query.Query`, the resolved tileset, the
caller, the URL of the tileset's data — and knows no filetype: the generator registry says which
formats exist, which are answered by region, and computes the facts.

A region ticket is: the header (``class: header``), then the body chunks the index gives for the
regions (``class: body``), then the BGZF EOF block inline. Whole blocks are served by the data
endpoint with ``Range``; the partial blocks at the edges of a chunk are re-compressed and sent
inline as ``data:;base64,`` URIs (see :mod:`.planning`), so the concatenation is always a valid
file. Requests without a region, and formats served whole (CRAM, BCF), get the whole file.
"""

import base64
import logging
import os

from django.conf import settings

from tilesets import generators
from tilesets.generators import LRU, GeneratorError, Source, file_version, hts
from tilesets.models import Tileset
from tilesets.storage import data_path, index_path

from . import auth, planning, registry
from .errors import NotFound, ServerError
from .query import Query
from .resolve import resolve

logger = logging.getLogger("tilesets.htsget")

EOF_URL = "data:;base64," + base64.b64encode(hts.EOF_BLOCK).decode()

__all__ = ["Query", "prepared_cache", "resolve", "service_info", "ticket"]


# --- facts and parsed indexes --------------------------------------------------------------


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


# (uuid, data version, filetype, index version) -> Prepared; bounded by HTSGET_INDEX_CACHE_SIZE.
prepared_cache = LRU()
# (media root, stored data name, stored index name) -> (data path, index path)
_paths = LRU(max_items=4096)


def stored_facts(tileset, path):
    """The htsget facts stored at ingest, or computed now (without MD5) and stored when missing
    or stale (a tileset ingested before its generator stored them, or a file replaced in place)."""
    facts = (tileset.meta or {}).get("facts", {}).get("htsget")
    size = os.path.getsize(path)
    if facts and facts.get("version") == hts.FACTS_VERSION and facts.get("file_size") == size:
        return facts
    compute = generators.get(tileset.filetype).facts
    facts = compute(Source(path, paths_of(tileset)[1]), md5=False)["htsget"]
    meta = dict(tileset.meta or {})
    meta["facts"] = {**meta.get("facts", {}), "htsget": facts}
    Tileset.objects.filter(pk=tileset.pk).update(meta=meta)
    tileset.meta = meta
    logger.info("Computed the htsget facts of %s", tileset.uuid)
    return facts


def paths_of(tileset):
    """(data path, index path) of a tileset, resolved with the storage containment checks once
    per stored name (resolving paths costs more than the rest of a ticket)."""
    key = (settings.MEDIA_ROOT, tileset.datafile.name, tileset.indexfile.name if tileset.indexfile else None)
    return _paths.get_or_load(key, lambda: (data_path(tileset), index_path(tileset)))


def _ranged(tileset):
    return registry.format_of(tileset.filetype).ranged


def prepare(tileset):
    if tileset.remote:
        raise NotFound(f"{tileset.uuid!r} is read from a URL; htsget serves files stored on this server only.")
    path, indexfile = paths_of(tileset)
    if path is None or not os.path.isfile(path):
        raise ServerError(f"The file of {tileset.uuid!r} is missing.")
    try:
        index_version = file_version(indexfile) if indexfile and os.path.isfile(indexfile) else None
        key = (tileset.uuid, file_version(path), tileset.filetype, index_version)
        found = prepared_cache.get(key)
        if found is not None:
            return found
        facts = stored_facts(tileset, path)
        index = hts.load_index(indexfile) if _ranged(tileset) and index_version is not None else None
    except (GeneratorError, OSError) as exc:
        logger.warning("Cannot read %s for htsget: %s", tileset.uuid, exc)
        raise ServerError(f"The file of {tileset.uuid!r} cannot be read.") from None
    found = Prepared(path, facts, index)
    prepared_cache.max_items = max(1, settings.HTSGET_INDEX_CACHE_SIZE)
    prepared_cache.discard_where(lambda other: other[0] == key[0])  # an older version of this tileset
    return prepared_cache.setdefault(key, found)


# --- tickets -------------------------------------------------------------------------------


class _Urls:
    """Collects the ticket's URL objects: byte ranges of the data URL (split to at most
    ``HTSGET_MAX_BLOCK_BYTES`` each) and inline data."""

    def __init__(self, url, headers, classes):
        self.url = url
        self.headers = headers
        self.classes = classes
        self.items = []
        self.step = max(1, settings.HTSGET_MAX_BLOCK_BYTES)

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


def ticket(tileset, query, user, data_url):
    """The ticket for ``query`` on ``tileset`` (already resolved and readable by ``user``), whose
    bytes the data endpoint serves at ``data_url``."""
    prepared = prepare(tileset)
    facts = prepared.facts
    served = registry.format_of(tileset.filetype)
    for name, _, _ in query.regions or ():
        if not prepared.declares(name):
            raise NotFound(f"Reference {name!r} is not in {tileset.uuid!r}.")
    headers = {}
    if tileset.private:
        headers["Authorization"] = f"Bearer {auth.make_capability(tileset, user)}"
    if not (served.ranged and prepared.index is not None) or (query.regions is None and not query.header_only):
        urls = _Urls(data_url, headers, classes=False)
        urls.add([("range", 0, facts["file_size"])])
        answer = {"format": served.format, "urls": urls.items}
        if served.ranged and facts.get("eof") is False:
            urls.items.append({"url": EOF_URL})  # the file lacks its EOF block: complete the stream
        elif facts.get("md5"):
            answer["md5"] = facts["md5"]
        return {"htsget": answer}
    urls = _Urls(data_url, headers, classes=True)
    sizes = {"inline_max": settings.HTSGET_INLINE_MAX_BYTES,
             "compress_max": settings.HTSGET_INLINE_COMPRESS_MAX_BYTES}
    try:
        with open(prepared.path, "rb") as handle:
            urls.add(planning.plan_pieces(handle, [(0, facts["header_end"])], **sizes), "header")
            if not query.header_only:
                spans = planning.body_spans(prepared.index, facts, prepared.ref_id, query.regions)
                urls.add(planning.plan_pieces(handle, spans, **sizes), "body")
    except (GeneratorError, OSError) as exc:
        logger.warning("Cannot read %s for an htsget ticket: %s", tileset.uuid, exc)
        raise ServerError(f"The file of {tileset.uuid!r} cannot be read.") from None
    urls.eof()
    return {"htsget": {"format": served.format, "urls": urls.items}}


def service_info(endpoint):
    served = registry.formats(endpoint).values()
    formats = [found.format for found in served]
    ranged = ", ".join(found.format for found in served if found.ranged)
    whole = ", ".join(found.format for found in served if not found.ranged)
    return {
        "id": f"{settings.HTSGET_SERVICE_ID}.{endpoint}",
        "name": f"HiGlass tileset server htsget ({endpoint})",
        "description": f"{', '.join(formats)} tilesets of this server by genomic region "
                       f"({ranged} answered from the index; {whole} as whole files).",
        "type": {"group": "org.ga4gh", "artifact": "htsget", "version": "1.3.0"},
        "organization": {
            "name": settings.HTSGET_ORGANIZATION_NAME,
            "url": settings.HTSGET_ORGANIZATION_URL,
        },
        "version": "1.0.0",
        "htsget": {
            "datatype": endpoint,
            "formats": formats,
            "fieldsParameterEffective": False,
            "tagsParametersEffective": False,
        },
    }
