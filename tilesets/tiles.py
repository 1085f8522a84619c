"""The tile service: tileset_info and tiles for any filetype, through the generator registry.

Used by the ``/api/v1/tileset_info/`` and ``/api/v1/tiles/`` views. The visibility rule is applied
here, before any file is read. Every per-tileset or per-tile failure becomes an ``{"error": ...}``
entry (or an absent tile), never an exception for the whole request. A tileset the caller may not
see is answered exactly as an unknown uid (``No such tileset with uid: <uid>``): nothing tells a
private tileset from one that does not exist (docs/security.md).
"""

import logging
import re

from django.conf import settings

from higlass_server.exceptions import ServiceError

from . import generators
from .access import usable_chromsizes, visible_among
from .cache import tile_cache
from .models import UID_PATTERN, Tileset
from .storage import data_path, index_path, location

logger = logging.getLogger("tilesets")

OSM_IMAGE_INFO = {"min_x": 0, "max_height": 134217728, "min_y": 0, "max_y": 134217728, "max_zoom": 19, "tile_size": 256}
_INT = re.compile(r"^[0-9]+$")
_UID = re.compile(UID_PATTERN)


class TooManyTiles(ServiceError):
    """More tile ids than MAX_TILES_PER_REQUEST in one request (400)."""


def _unique(values):
    return list(dict.fromkeys(values))


def _lookup(uids, user):
    """The records, by uid, of the given uids that ``user`` may see, in at most two queries; a
    tileset the user may not see is left out, as an unknown uid is."""
    records = {t.uuid: t for t in Tileset.objects.filter(uuid__in=uids).order_by()}
    visible = visible_among(user, list(records.values()))
    return {uid: tileset for uid, tileset in records.items() if uid in visible}


def unknown(uid):
    """The entry of a uid that is unknown or not visible to the caller (the two are one answer)."""
    return {"error": f"No such tileset with uid: {uid}"}


def assembly_rows(filetype, datafile, remote=False):
    """``[(name, length), ...]`` of a chromosome-sizes tileset given its filetype, stored file
    name and remote flag, or None when that filetype does not describe an assembly (the registry's ``assembly``).
    Read once per file version. GeneratorError or OSError when the file cannot be read."""
    generator = generators.get(filetype)
    if generator is None or not generator.assembly or generator.chromsizes is None:
        return None
    path = location(datafile, remote)
    if path is None:
        return None
    version = generators.file_version(path)
    return _assemblies.get_or_load(
        (filetype, version), lambda: list(generator.chromsizes(generators.Source(datafile=version.path)))
    )


_assemblies = generators.LRU(max_items=64)  # (filetype, FileVersion) -> rows


def _context(tileset, generator):
    if generator is None or not generator.uses_coord_chromsizes:
        return {}
    if not tileset.coordSystem:
        return {}
    found = usable_chromsizes(tileset.owner_id, tileset.coordSystem).exclude(pk=tileset.pk).order_by()
    candidates = list(found.values_list("uuid", "filetype", "datafile", "remote")[:2])
    if len(candidates) != 1:
        return {}
    uuid, filetype, name, remote = candidates[0]
    try:
        rows = assembly_rows(filetype, name, remote)
    except (generators.GeneratorError, OSError):
        logger.warning("Chromosome sizes %s are unreadable; using the file's own", uuid)
        return {}
    return {"chromsizes": rows} if rows is not None else {}


def source_of(tileset):
    """What a generator needs to read a tileset: its paths and, where the filetype uses them,
    the chromosome sizes of its assembly."""
    datafile = data_path(tileset)
    if datafile is None:
        raise generators.GeneratorError("the tileset's file lies outside the media folder")
    generator = generators.get(tileset.filetype)
    context = _context(tileset, generator)
    if generator is not None and generator.tile_width_setting:
        context["max_tile_width"] = getattr(settings, generator.tile_width_setting)
    if tileset.meta.get("facts"):
        context["facts"] = tileset.meta["facts"]
    return generators.Source(datafile=datafile, indexfile=index_path(tileset), context=context)


def _failure(tileset, exc):
    if isinstance(exc, generators.GeneratorError):
        return f"Unable to read tileset {tileset.uuid}: {exc}"
    logger.exception("Generator for %s (%s) failed", tileset.uuid, tileset.filetype)
    return f"Unable to read tileset {tileset.uuid} as {tileset.filetype}."


def tileset_infos(uids, user):
    """``{uid: info}`` for each distinct uid, in request order."""
    uids = _unique(uids)
    records = _lookup(uids, user)
    answer = {}
    for uid in uids:
        if uid == "osm-image":
            answer[uid] = dict(OSM_IMAGE_INFO)
            continue
        tileset = records.get(uid)
        if tileset is None:
            answer[uid] = unknown(uid)
            continue
        generator = generators.get(tileset.filetype)
        if generator is None or generator.tileset_info is None:
            info = {"error": f"Unknown filetype {tileset.filetype}"}
        else:
            try:
                info = generator.tileset_info(source_of(tileset))
            except Exception as exc:
                info = {"error": _failure(tileset, exc)}
        info["name"] = tileset.name
        info["datatype"] = tileset.datatype
        info["coordSystem"] = tileset.coordSystem
        info["coordSystem2"] = tileset.coordSystem2
        answer[uid] = info
    return answer


def parse_tile_id(tile_id, dimensions):
    """A :class:`TileRequest` for ``uid.zoom.x[.y][.extra...]``, or raise ValueError with a reason."""
    parts = tile_id.split(".")
    uid, rest = parts[0], parts[1:]
    if not _UID.match(uid):
        raise ValueError(f"Malformed tile id {tile_id!r}: it must start with a tileset uid.")
    if len(rest) < 1 + dimensions:
        shape = "uid.zoom.x" + (".y" if dimensions == 2 else "")
        raise ValueError(f"Malformed tile id {tile_id!r}: expected {shape}.")
    numbers = rest[: 1 + dimensions]
    if not all(_INT.match(n) for n in numbers):
        raise ValueError(f"Malformed tile id {tile_id!r}: zoom and positions must be non-negative integers.")
    zoom, *coords = (int(n) for n in numbers)
    return generators.TileRequest(tile_id, uid, zoom, tuple(coords), tuple(rest[1 + dimensions:]))


def get_tiles(tile_ids, user, options_by_uid=None):
    """``{tile id: tile}`` for the requested ids.

    ``options_by_uid`` maps a tileset uid to the POST ``options`` for its tiles. Unknown tilesets,
    tilesets the user may not see (the same entry) and malformed ids give ``{"error": ...}``
    entries; tiles the generator did not produce are left out.
    """
    tile_ids = _unique(tile_ids)
    if len(tile_ids) > settings.MAX_TILES_PER_REQUEST:
        raise TooManyTiles("Too many tiles were requested.")
    options_by_uid = options_by_uid or {}
    by_uid = {}
    answer = {}
    for tile_id in tile_ids:
        uid = tile_id.split(".", 1)[0]
        if "." not in tile_id or not _UID.match(uid):
            answer[tile_id] = {"error": f"Malformed tile id {tile_id!r}: expected uid.zoom.x[.y]."}
            continue
        by_uid.setdefault(uid, []).append(tile_id)
    records = _lookup(list(by_uid), user)

    for uid, ids in by_uid.items():
        tileset = records.get(uid)
        if tileset is None:
            answer.update({tile_id: unknown(uid) for tile_id in ids})
            continue
        generator = generators.get(tileset.filetype)
        if generator is None or generator.tiles is None:
            answer.update({tile_id: {"error": f"Unknown tileset filetype: {tileset.filetype}"} for tile_id in ids})
            continue
        requests = []
        for tile_id in ids:
            try:
                requests.append(parse_tile_id(tile_id, generator.dimensions))
            except ValueError as exc:
                answer[tile_id] = {"error": str(exc)}
        if requests:
            answer.update(_produce(tileset, generator, requests, options_by_uid.get(uid)))
    return answer


def _produce(tileset, generator, requests, options):
    """Tiles of one tileset: from the cache where present, else from the generator."""
    try:
        source = source_of(tileset)
    except Exception as exc:
        return {request.id: {"error": _failure(tileset, exc)} for request in requests}
    keys, tiles = {}, {}
    version = tile_cache.version(tileset, source) if tile_cache.enabled else None
    if version is not None:
        keys = {request.id: tile_cache.key(tileset.uuid, version, request.id, options) for request in requests}
        cached = tile_cache.get_many(list(keys.values()))
        tiles = {tile_id: cached[key] for tile_id, key in keys.items() if key in cached}
        requests = [request for request in requests if request.id not in tiles]
    if not requests:
        return tiles
    try:
        produced = generator.tiles(source, requests, options)
    except Exception as exc:
        message = _failure(tileset, exc)
        tiles.update({request.id: {"error": message} for request in requests})
        return tiles
    fresh = {request.id: produced[request.id] for request in requests if request.id in produced}
    if keys:
        tile_cache.set_many({
            keys[tile_id]: tile for tile_id, tile in fresh.items()
            if not (isinstance(tile, dict) and "error" in tile)
        })
    tiles.update(fresh)
    return tiles
