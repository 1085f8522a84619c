"""cooler: Hi-C contact matrices (see docs/filetypes.md).

The file and its zoom levels are modelled in :mod:`.cooler_file` (three layouts: multi-resolution
``.mcool``, legacy multi-zoom ``.cool``, single-resolution ``.cool``); the pixels of a column of
tiles are read and laid out in :mod:`.cooler_tiles`. This module answers the generator's calls:
which tiles exist, which ones the reference reads no pixels for, and one column at a time.
"""

import copy
import logging
from collections import OrderedDict
from contextlib import contextmanager

from .base import Generator, GeneratorError
from .cooler_file import TILE_SIZE, CoolerFile
from .cooler_file import open_cooler as _open
from .cooler_matrix import matrix
from .cooler_tiles import column_tiles

logger = logging.getLogger(__name__)


@contextmanager
def _reading():
    """A block reading a cooler's metadata: an error other than GeneratorError (h5py, numpy on
    odd content) becomes GeneratorError("unreadable cooler file: ...")."""
    try:
        yield
    except GeneratorError:
        raise
    except Exception as exc:
        raise GeneratorError(f"unreadable cooler file: {exc}") from None


# --- the generator functions ---------------------------------------------------------------


def validate(datafile, indexfile=None):
    """Open the file as a cooler and read every level's metadata; GeneratorError if it fails."""
    cooler_file = CoolerFile(datafile)  # not cached: the path may be a temporary upload
    try:
        with _reading():
            cooler_file.info()
            for zoom in range(len(cooler_file.levels)):
                cooler_file.level(zoom)
    finally:
        cooler_file.close()


def tileset_info(source):
    cooler_file = _open(source.datafile)
    with _reading():
        return copy.deepcopy(cooler_file.info())


def chromsizes(source):
    cooler_file = _open(source.datafile)
    with _reading():
        names, lengths = cooler_file.chroms()
    return list(zip(names, lengths))


def tiles(source, requests, options=None):
    """``{tile id: tile}`` for the 2-D requests ``uid.z.x.y[.transform]``.

    A zoom level past the finest resolution, or a position past ``max_pos``, leaves the tile
    out. A transform the file lacks gives ``{"error": ...}`` for that tile only.
    """
    cooler_file = _open(source.datafile)
    with _reading():
        genome = cooler_file.genome_length()
    nlevels = len(cooler_file.levels)

    wanted = []  # (request, zoom, x, y, transform)
    for request in requests:
        x, y = request.coords
        zoom = request.zoom
        if zoom >= nlevels:
            continue  # reference: absent (zoom > levels) or HTTP 500 (zoom == levels)
        transform = request.extra[0] if request.extra else "default"
        wanted.append((request, zoom, x, y, transform))

    empty_read = _empty_reads(cooler_file, wanted, genome)

    by_column = OrderedDict()  # (zoom, x) -> [(request, y, transform, empty)]
    for request, zoom, x, y, transform in wanted:
        if x > genome or y > genome:
            continue  # the reference drops positions ≥ max_pos + 1
        by_column.setdefault((zoom, x), []).append((request, y, transform, empty_read(zoom, transform, x, y)))

    answer = {}
    for (zoom, x), items in by_column.items():
        try:
            answer.update(column_tiles(cooler_file.level(zoom), x, items))
        except Exception as exc:  # one column of tiles fails, the rest of the batch is served
            if not isinstance(exc, (GeneratorError, OSError, KeyError, ValueError)):
                logger.exception("cooler tiles failed for %s", [item[0].id for item in items])
            message = f"Unable to make this tile: {exc}"
            answer.update({item[0].id: {"error": message} for item in items})
    return answer


def _empty_reads(cooler_file, wanted, genome):
    """A function (zoom, transform, x, y) -> whether the reference reads no pixels at all for the
    tile (then NaN marking applies to every transform, see :func:`.cooler_tiles.column_tiles`).

    The reference decides this per group of adjacent tiles (same zoom and transform, positions
    within 1 of each other, clodius' greedy partition) from the group's lowest x and lowest y. That
    only matters for a tile starting past the genome end, so the partition is computed only when
    such a tile is requested.
    """

    def past_end(zoom, x, y):
        try:
            level = cooler_file.level(zoom)
        except Exception:
            return False  # reported per tile when the tile is made
        width = TILE_SIZE * level.resolution
        return x * width >= level.length or y * width >= level.length

    if not any(past_end(zoom, x, y) for _, zoom, x, y, _ in wanted):
        return lambda zoom, transform, x, y: False

    positions = OrderedDict()
    for _, zoom, x, y, transform in wanted:
        positions.setdefault((zoom, transform), set()).add((x, y))
    corner = {}
    for (zoom, transform), points in positions.items():
        for group in _partition(points):
            kept = [(x, y) for x, y in group if x <= genome and y <= genome]
            if not kept:
                continue
            low = (min(x for x, _ in kept), min(y for _, y in kept))
            for point in kept:
                corner[(zoom, transform) + point] = low
    return lambda zoom, transform, x, y: past_end(zoom, *corner[(zoom, transform, x, y)])


def _partition(points):
    """clodius' grouping: in (x, y) order, each tile joins the first group holding a tile within 1
    in both x and y, else starts a new group."""
    groups = []
    for point in sorted(points):
        for group in groups:
            if any(abs(point[0] - q[0]) <= 1 and abs(point[1] - q[1]) <= 1 for q in group):
                group.append(point)
                break
        else:
            groups.append([point])
    return groups


GENERATOR = Generator(
    filetype="cooler",
    validate=validate,
    tileset_info=tileset_info,
    tiles=tiles,
    chromsizes=chromsizes,
    dimensions=2,
    matrix=matrix,
)
