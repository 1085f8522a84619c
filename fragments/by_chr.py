"""Fragments along one chromosome: its diagonal cut into consecutive square windows, one fragment
each, from a registered Hi-C tileset (``GET /api/v1/fragments_by_chr/``, docs/fragments.md).

The original server read the loci of this endpoint from a loop-list file named in the query;
here nothing is read from a path the client gives: the fragments are the chromosome's diagonal
windows, at a resolution of the tileset.
"""

import math

from higlass_server.exceptions import ServiceError
from tilesets.tiles import source_of

from . import finish
from .service import MAX_LOCI, fragments, tilesets_of

HEADER = ["chrom1", "start1", "end1", "strand1", "chrom2", "start2", "end2", "strand2"]


def _resolutions(info):
    """Bin sizes (bp, finest first) from a 2-D tileset_info: its ``resolutions``, or the zoom
    levels of ``max_width`` / ``bins_per_dimension`` / ``max_zoom``."""
    if info.get("resolutions"):
        return sorted(int(r) for r in info["resolutions"])
    try:
        width, cells, zooms = int(info["max_width"]), int(info["bins_per_dimension"]), int(info["max_zoom"])
    except (KeyError, TypeError, ValueError):
        raise ServiceError("The tileset describes no resolutions.") from None
    return sorted(width // (cells * 2**zoom) for zoom in range(zooms + 1))


def _resolution(resolutions, options):
    """(bin size, zoom-out level) from ``resolution`` or ``zoomout-level``; with neither, the
    coarsest bins no larger than ``window`` / ``dims`` when a window is given, else the finest."""
    wanted, level = options["resolution"], options["zoomout-level"]
    if wanted >= 0 and level >= 0:
        raise ServiceError("Give resolution or zoomout-level, not both.")
    if level >= 0:
        index = min(level, len(resolutions) - 1)
    elif wanted >= 0:
        index = min(range(len(resolutions)), key=lambda i: (abs(resolutions[i] - wanted), resolutions[i]))
    elif options["window"] > 0:
        fitting = [i for i, size in enumerate(resolutions) if size <= options["window"] / options["dims"]]
        index = fitting[-1] if fitting else 0
    else:
        index = 0
    return resolutions[index], index


def _chromosome(rows, name):
    lengths = {str(chrom): int(length) for chrom, length in rows}
    for candidate in (name, f"chr{name}"):
        if candidate in lengths:
            return candidate, lengths[candidate]
    raise ServiceError(f"Unknown chromosome {name!r} in this tileset.")


def _measures(text):
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in finish.MEASURES]
    if unknown:
        raise ServiceError(f"Unknown measure {unknown[0]!r}: use {', '.join(finish.MEASURES)}.")
    return names


def fragments_by_chr(options, user):
    """``{"count", "dims", "fragments": [{locus fields, "measures", "matrix": array}], "measures",
    "relativeLoci", "zoomoutLevel", "resolution"}`` (with ``for-config``: the loci as rows under
    ``fragmentsHeader``, without matrices)."""
    uid, name = options["cooler"], options["chrom"]
    if not uid:
        raise ServiceError("Give the cooler tileset as ?cooler=<uid>.")
    if not name:
        raise ServiceError("Give the chromosome as ?chrom=<name>.")
    measures = _measures(options["measures"])
    tileset, generator = tilesets_of([uid], user, where=lambda _: "")[uid]
    try:
        source = source_of(tileset)
        info = generator.tileset_info(source)
        rows = generator.chromsizes(source)
    except ServiceError as exc:
        raise ServiceError(f"Unable to read tileset {uid}: {exc.message}") from None
    resolution, level = _resolution(_resolutions(info), options)
    chrom, length = _chromosome(rows, name)

    dims = options["dims"]
    window = options["window"] if options["window"] > 0 else dims * resolution
    if window < resolution:
        raise ServiceError(f"window ({window} bp) is smaller than one bin ({resolution} bp).")
    start = options["start"]
    end = length if options["end"] < 0 else min(options["end"], length)
    if not 0 <= start < end:
        raise ServiceError(f"Nothing to cut: start {start}, end {end} on {chrom} ({length} bp).")
    count = math.ceil((end - start) / window)
    if options["limit"] > 0:
        count = min(count, options["limit"])
    if count > MAX_LOCI:
        raise ServiceError(f"Too many fragments: {count} windows of {window} bp, at most {MAX_LOCI} per request; "
                           "use limit, start and end, or a larger window.")

    loci, items = [], []
    for k in range(count):
        first = start + k * window
        loci.append({"chrom1": chrom, "start1": first, "end1": first + window, "strand1": "coding",
                     "chrom2": chrom, "start2": first, "end2": first + window, "strand2": "coding"})
        last = first + window - resolution  # the last bin's start: exactly window / resolution bins
        items.append((uid, {"chrom1": chrom, "start1": first, "end1": last, "chrom2": chrom, "start2": first,
                            "end2": last, "zoom": -1, "resolution": resolution, "dims": dims}))
    found = fragments(items, options, user)

    for locus, fragment in zip(loci, found):
        locus["measures"] = [finish.measure(m, fragment, locus) for m in measures]
        locus["matrix"] = fragment
    answer = {"count": len(loci), "dims": dims, "fragments": loci, "measures": measures,
              "relativeLoci": True, "zoomoutLevel": level, "resolution": resolution}
    if options["for-config"]:
        answer["fragmentsHeader"] = HEADER + measures
        answer["fragments"] = [[locus[key] for key in HEADER] + locus["measures"] for locus in loci]
    return answer
