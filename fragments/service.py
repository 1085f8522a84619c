"""The fragments service: matrices cut out of registered Hi-C tilesets, by loci or along one
chromosome (docs/fragments.md). Takes plain values and the user; the HTTP floor parses requests.

Tilesets are found by uid among those the user may see (others' private ones read as unknown);
the cut itself is the generator's ``matrix`` capability, asked through the registry. Limits, all
checked before any pixel is read:

* ``SNIPPET_MAT_MAX_OUT_DIM`` (alias ``SNIPPET_HIC_MAX_OUT_DIM``): output pixels per side;
* ``SNIPPET_MAT_MAX_DATA_DIM`` (alias ``SNIPPET_HIC_MAX_DATA_DIM``): bins read per side;
* :data:`MAX_LOCI` loci per request, :data:`MAX_OUTPUT_CELLS` output pixels and
  :data:`MAX_DATA_CELLS` bins read over the whole request.
"""

import math
import numbers

import numpy as np
from django.conf import settings

from higlass_server.exceptions import ServiceError
from tilesets import generators
from tilesets.access import visible_among
from tilesets.cache import tile_cache
from tilesets.models import Tileset
from tilesets.tiles import source_of

from . import finish

MAX_LOCI = 1024
MAX_OUTPUT_CELLS = 1 << 22  # output pixels over a request: 1024 loci of 64 × 64, or 16 of 512 × 512
MAX_DATA_CELLS = 1 << 26  # bins read over a request: four snippets of 4096 × 4096 bins


class SnippetTooLarge(ServiceError):
    code = "SnippetTooLarge"


# --- loci ---------------------------------------------------------------------------------------


def _number(value, what, index):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ServiceError(f"Locus {index}: {what} must be a number, got {value!r}.")
    return value


def _integer(value, what, index):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ServiceError(f"Locus {index}: {what} must be an integer, got {value!r}.")
    return int(value)


def parse_locus(item, index, dims):
    """(tileset uid, cut) of one locus: ``[chrom1, start1, end1, chrom2, start2, end2, uid,
    zoomOutLevel, dims]``, the last two optional (zoom -1: chosen from the size; dims null or 0:
    the request's)."""
    if not isinstance(item, (list, tuple)):
        raise ServiceError(f"Locus {index}: expected a list [chrom1, start1, end1, chrom2, start2, end2, uid, "
                           f"zoomOutLevel, dims], got {type(item).__name__}.")
    if len(item) >= 1 and isinstance(item[0], numbers.Real) and not isinstance(item[0], bool):
        raise ServiceError(f"Locus {index}: image loci (imtiles, OSM tiles) are not served by this server; "
                           "only matrix tilesets are (SNIPPET_IMG_MAX_OUT_DIM, SNIPPET_OSM_MAX_DATA_DIM and "
                           "SNIPPET_IMT_MAX_DATA_DIM bound image snippets and do not apply).")
    if not 7 <= len(item) <= 9:
        raise ServiceError(f"Locus {index}: expected 7 to 9 elements [chrom1, start1, end1, chrom2, start2, "
                           f"end2, uid, zoomOutLevel, dims], got {len(item)}.")
    cut = {}
    for side, (chrom, start, end) in (("1", item[0:3]), ("2", item[3:6])):
        if not isinstance(chrom, (str, int)) or isinstance(chrom, bool) or chrom == "":
            raise ServiceError(f"Locus {index}: chrom{side} must be a chromosome name, got {chrom!r}.")
        start = _number(start, f"start{side}", index)
        end = _number(end, f"end{side}", index)
        if start > end:
            raise ServiceError(f"Locus {index}: start{side} ({start}) is after end{side} ({end}).")
        cut.update({f"chrom{side}": str(chrom), f"start{side}": start, f"end{side}": end})
    uid = item[6]
    if not isinstance(uid, str) or not uid:
        raise ServiceError(f"Locus {index}: element 7 must be a tileset uid, got {uid!r}.")
    zoom = item[7] if len(item) > 7 and item[7] is not None else -1
    cut["zoom"] = _integer(zoom, "zoomOutLevel", index)
    own = item[8] if len(item) > 8 else None
    cut["dims"] = _integer(own, "dims", index) if own else dims
    if cut["dims"] < 1:
        raise ServiceError(f"Locus {index}: dims must be at least 1, got {cut['dims']}.")
    return uid, cut


def _check_out_dims(cuts):
    limit = settings.SNIPPET_MAT_MAX_OUT_DIM
    for index, cut in enumerate(cuts):
        if cut["dims"] > limit:
            raise SnippetTooLarge(f"Snippet too large: locus {index} asks for {cut['dims']} pixels per side, "
                                  f"over SNIPPET_MAT_MAX_OUT_DIM ({limit}).")
    total = sum(cut["dims"] ** 2 for cut in cuts)
    if total > MAX_OUTPUT_CELLS:
        raise SnippetTooLarge(f"Snippet too large: {total} output pixels in all, over the limit of "
                              f"{MAX_OUTPUT_CELLS} per request; ask for fewer loci or smaller dims.")


# --- tilesets --------------------------------------------------------------------------------


def _locus(index):
    return f"Locus {index}: "


def tilesets_of(uids, user, where=_locus):
    """``{uid: (tileset, generator)}``; 400 for an unknown uid (or another user's private one)
    and for a tileset without the matrix capability (``where(i)`` starts the message for the
    i-th uid)."""
    records = {t.uuid: t for t in Tileset.objects.filter(uuid__in=set(uids)).order_by()}
    visible = visible_among(user, list(records.values()))
    found = {}
    for index, uid in enumerate(uids):
        if uid in found:
            continue
        tileset = records.get(uid)
        if tileset is None or uid not in visible:
            raise ServiceError(f"{where(index)}tileset {uid!r} does not exist.")
        generator = generators.get(tileset.filetype)
        if generator is None or generator.matrix is None:
            raise ServiceError(f"{where(index)}tileset {uid!r} ({tileset.filetype}) holds no matrix to cut "
                               "fragments from.")
        found[uid] = (tileset, generator)
    return found


def _cut(tileset, generator, cuts, indices, options, budget):
    """The generator's results for ``cuts`` (loci ``indices`` of the request), errors as 400s
    naming the locus and, for a limit, the setting."""
    try:
        return generator.matrix(source_of(tileset), cuts, {
            "balance": options["balance"],
            "max_data_dim": settings.SNIPPET_MAT_MAX_DATA_DIM,
            "max_data_cells": budget,
        })
    except generators.GeneratorError as exc:
        cut = getattr(exc, "cut", None)
        where = f"locus {indices[cut]}: " if cut is not None else ""
        limit = getattr(exc, "limit", None)
        if limit == "max_data_dim":
            raise SnippetTooLarge(f"Snippet too large: {where}{exc.message} (SNIPPET_MAT_MAX_DATA_DIM).") from None
        if limit is not None:
            raise SnippetTooLarge(f"Snippet too large: {where}{exc.message}.") from None
        raise ServiceError(f"{where.capitalize()}{exc.message} (tileset {tileset.uuid}).") from None


# --- the fragments ------------------------------------------------------------------------------


def value_options(options):
    """The value options of the catalogue as the cutting and finishing steps take them."""
    return {
        "padding": int(options["padding"]),
        "balance": not options["no-balance"],
        "percentile": options["percentile"],
        "ignore_diags": options["ignore-diags"],
        "normalize": not options["no-normalize"],
        "cache": not options["no-cache"],
    }


def fragments(items, options, user):
    """The fragments of ``items`` [(uid, cut), ...] as float arrays, in order."""
    values = value_options(options)
    cuts = [dict(cut, padding=values["padding"]) for _, cut in items]
    _check_out_dims(cuts)
    tilesets = tilesets_of([uid for uid, _ in items], user)
    answer = [None] * len(items)
    budget = MAX_DATA_CELLS
    by_uid = {}
    for index, (uid, _) in enumerate(items):
        by_uid.setdefault(uid, []).append(index)
    for uid, indices in by_uid.items():
        tileset, generator = tilesets[uid]
        cache = _Cache(tileset, values) if values["cache"] else None
        if cache is not None:
            for index, fragment in cache.get([cuts[i] for i in indices]).items():
                answer[indices[index]] = fragment
        wanted = [i for i in indices if answer[i] is None]
        if not wanted:
            continue
        results = _cut(tileset, generator, [cuts[i] for i in wanted], wanted, values, budget)
        budget -= sum(r["data_shape"][0] * r["data_shape"][1] for r in results)
        for index, result in zip(wanted, results):
            answer[index] = finish.finish(result, values["percentile"], values["ignore_diags"], values["normalize"])
        if cache is not None:
            cache.put([cuts[i] for i in wanted], [answer[i] for i in wanted])
    return answer


def fragments_by_loci(loci, options, user):
    """``{"fragments": [array, ...], "indices": [...], "dataTypes": [...]}`` for a request's loci
    (a list); an aggregate is one fragment with no indices."""
    if not isinstance(loci, list):
        raise ServiceError("loci must be a list of loci.")
    if len(loci) > MAX_LOCI:
        raise ServiceError(f"Too many loci: {len(loci)}, at most {MAX_LOCI} per request.")
    items = [parse_locus(item, index, options["dims"]) for index, item in enumerate(loci)]
    found = fragments(items, options, user) if items else []
    if options["aggregate"] and len(found) > 1:
        return {"fragments": [finish.aggregate(found, options["aggregation-method"])], "indices": [],
                "dataTypes": ["matrix"]}
    return {"fragments": found, "indices": list(range(len(found))), "dataTypes": ["matrix"] * len(found)}


# --- the cache ------------------------------------------------------------------------------------


class _Cache:
    """Finished fragments in the Redis tile cache (when configured): keyed by the tileset's
    version (its row, file and assembly, as tiles are), the locus and the value options."""

    def __init__(self, tileset, values):
        self.enabled = tile_cache.enabled
        self.tileset = tileset
        self.values = {k: v for k, v in values.items() if k != "cache"}
        self.version = tile_cache.version(tileset, source_of(tileset)) if self.enabled else None

    def _key(self, cut):
        return tile_cache.key(self.tileset.uuid, self.version, "fragment", {"cut": cut, "values": self.values})

    def get(self, cuts):
        if self.version is None:
            return {}
        keys = [self._key(cut) for cut in cuts]
        found = tile_cache.get_many(keys)
        return {i: np.asarray(found[key], dtype=np.float64) for i, key in enumerate(keys) if key in found}

    def put(self, cuts, fragments):
        if self.version is not None:
            tile_cache.set_many({self._key(cut): fragment.tolist() for cut, fragment in zip(cuts, fragments)})
