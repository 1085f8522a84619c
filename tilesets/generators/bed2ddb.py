"""bed2ddb: 2-D annotations (rectangles, e.g. domains or loops) in SQLite, as written by
``clodius aggregate bedpe`` (see docs/filetypes.md).

Layout read (version 1)::

    tileset_info   the same one-row table as beddb (tab-joined chromosomes, REAL tile_size, max_width)
    intervals      id, zoomLevel, importance REAL, fromX, toX, fromY, toY (absolute), chrOffset,
                   uid, fields (the BEDPE line, tab-joined)
    position_index rtree(id, rFromX, rToX, rFromY, rToY)

A tile ``z.x.y`` covers ``[w·x, w·(x+1)) × [w·y, w·(y+1))`` with ``w = max_width / 2^z`` and lists
the rectangles of zoom ≤ z that touch it, each in every tile it touches. Unlike beddb, a tile
with no rectangle is absent from the answer, as are positions outside the zoom level's grid
(x or y ≥ 2^z). tileset_info is the 0.18/0.20 one: no ``header`` key.

Files are opened and shared as beddb files are (read-only, a connection pool per file version).
"""

from ..formats.sqlite import text
from .base import Generator, GeneratorError, each_tile
from .beddb import READ_ERRORS, SqliteFile, opener

FILETYPE = "bed2ddb"

_INTERVAL_COLUMNS = ("zoomLevel", "importance", "fromX", "toX", "fromY", "toY", "chrOffset", "uid", "fields")
_INDEX_COLUMNS = ("rFromX", "rToX", "rFromY", "rToY")
_TILE_QUERY = """
    SELECT fromX, toX, fromY, toY, chrOffset, importance, fields, uid, intervals.id
    FROM intervals, position_index
    WHERE intervals.id = position_index.id AND zoomLevel <= ?
      AND rToX >= ? AND rFromX <= ? AND rToY >= ? AND rFromY <= ?"""


class Bed2dDb(SqliteFile):
    kind = "bed2ddb"
    kind_columns = ("fromX", "startPos", "beddb (1-D)")
    supported_versions = (1,)

    def _check_columns(self):
        self._need("intervals", _INTERVAL_COLUMNS)
        self._need("position_index", _INDEX_COLUMNS)

    def check_all(self):
        self.check_query(_TILE_QUERY, (0, 0.0, 1.0, 0.0, 1.0))

    def tile(self, zoom, x, y):
        """The rectangles of tile (zoom, x, y): a list of dicts, empty when none."""
        width = self.tile_width(zoom)
        try:
            x_start, y_start = width * x, width * y
            x_end, y_end = x_start + width, y_start + width
        except OverflowError:
            raise GeneratorError(f"position {x}, {y} is out of range") from None
        with self.connection() as conn:
            rows = conn.execute(_TILE_QUERY, (zoom, x_start, x_end, y_start, y_end)).fetchall()
        out = []
        for row in rows:
            if not (row[0] < x_end and row[1] >= x_start and row[2] < y_end and row[3] >= y_start):
                continue
            fields = text(row[6])
            out.append({
                "xStart": row[0],
                "xEnd": row[1],
                "yStart": row[2],
                "yEnd": row[3],
                "chrOffset": row[4],
                "importance": row[5],
                "uid": text(row[7]),
                "id": row[8],
                "fields": fields.split("\t") if fields is not None else [],
            })
        return out


open_bed2ddb = opener(Bed2dDb)
validate = Bed2dDb.validate


def tileset_info(source):
    return open_bed2ddb(source.datafile).info_dict(dimensions=2)


def tiles(source, requests, options=None):
    handle = open_bed2ddb(source.datafile)
    # positions outside the grid of their zoom level (x or y >= 2**zoom) and empty tiles are
    # absent, as in the reference
    inside = [r for r in requests if r.coords[0].bit_length() <= r.zoom and r.coords[1].bit_length() <= r.zoom]
    answer = each_tile(inside, lambda r: handle.tile(r.zoom, *r.coords), "bed2ddb", "the annotations", READ_ERRORS)
    return {tile_id: tile for tile_id, tile in answer.items() if tile}


def chromsizes(source):
    return list(open_bed2ddb(source.datafile).chromsizes)


GENERATOR = Generator(
    filetype=FILETYPE,
    validate=validate,
    tileset_info=tileset_info,
    tiles=tiles,
    chromsizes=chromsizes,
    dimensions=2,
)
