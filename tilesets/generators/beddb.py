"""beddb: 1-D annotations in SQLite, as written by ``clodius aggregate bedfile`` (see
docs/filetypes.md).

Layout read (version 3, the current one; versions 1 and 2 are served too)::

    tileset_info   one row: zoom_step, max_length, assembly, chrom_names, chrom_sizes (tab-joined),
                   tile_size REAL, max_zoom, max_width REAL, header, version
    intervals      id, zoomLevel, importance REAL, startPos, endPos (absolute), chrOffset, uid,
                   name (v3), fields (the BED line, tab-joined)
    position_index rtree(id, rStartZoomLevel, rEndZoomLevel, rStartPos, rEndPos)
                   (version 1: rtree(id, rStartPos, rEndPos) and intervals.zoomLevel)

The annotations shown at zoom ``z`` were chosen when the file was written: each entry carries the
coarsest zoom at which it appears (entries placed by decreasing importance, at most
``max_per_tile`` per tile and zoom). A tile ``z.x`` covers ``[w·x, w·x + w)`` with
``w = max_width / 2^z`` and lists every entry of zoom ≤ z that touches it — an entry spanning
several tiles is in each of them. Every requested tile answers, ``[]`` when empty.

The files are opened read-only and shared by the threads of the process through a small pool of
connections per file version (:class:`tilesets.formats.sqlite.Database`, cached with
``OpenFiles``). Every query binds its values; nothing from a request is pasted into SQL.

The gene-name search of ``/api/v1/suggest/`` is this filetype's ``search`` capability
(:func:`search`).
"""

import math
import sqlite3

from ..formats.errors import one_line
from ..formats.openfiles import OpenFiles
from ..formats.sqlite import Database, text
from .base import Generator, GeneratorError, each_tile

FILETYPE = "beddb"
# SQLite keeps 2 MB of pages per connection by default; tiles walk the R-tree and the intervals
# again and again, so a larger page cache saves most of the file reads (about a quarter of a
# 128 kb tile's time in `make bench`). A bound, not a reservation: a sync worker uses one
# connection per open file, so at most PAGE_CACHE_KB × the open files (OpenFiles keeps 64) per
# filetype and process.
PAGE_CACHE_KB = 4096  # SQLite page cache per connection
POOL_SIZE = 8  # idle connections kept per file; more are opened under load and closed after use
SUPPORTED_VERSIONS = (1, 2, 3)
MAX_ZOOM_LEVEL = 1023  # 2**1024 no longer converts to a float
# What a tile survives besides GeneratorError (base.each_tile): a failed read or odd values.
READ_ERRORS = (sqlite3.Error, TypeError, ValueError)

_INTERVAL_COLUMNS = {
    1: ("zoomLevel", "importance", "startPos", "endPos", "chrOffset", "uid", "fields"),
    2: ("importance", "startPos", "endPos", "chrOffset", "uid", "fields"),
    3: ("importance", "startPos", "endPos", "chrOffset", "uid", "name", "fields"),
}
_INDEX_COLUMNS = {
    1: ("rStartPos", "rEndPos"),
    2: ("rStartZoomLevel", "rEndZoomLevel", "rStartPos", "rEndPos"),
    3: ("rStartZoomLevel", "rEndZoomLevel", "rStartPos", "rEndPos"),
}
# Selection of a tile's rows; the exact integer test (an entry touching the tile) follows in Python.
_TILE_QUERIES = {
    1: """SELECT startPos, endPos, chrOffset, importance, fields, uid
          FROM intervals, position_index
          WHERE intervals.id = position_index.id AND zoomLevel <= ?
            AND rEndPos >= ? AND rStartPos <= ?""",
    2: """SELECT startPos, endPos, chrOffset, importance, fields, uid
          FROM intervals, position_index
          WHERE intervals.id = position_index.id AND rStartZoomLevel <= ? AND rEndZoomLevel >= 0
            AND rEndPos >= ? AND rStartPos <= ?""",
    3: """SELECT startPos, endPos, chrOffset, importance, fields, uid, name
          FROM intervals, position_index
          WHERE intervals.id = position_index.id AND rStartZoomLevel <= ? AND rEndZoomLevel >= 0
            AND rEndPos >= ? AND rStartPos <= ?""",
}


# Gene-name search (suggest). Version 3 files have the name in its own column; older ones only in
# the BED line, so the line is pre-filtered in SQL and column 4 is checked in Python.
_SEARCH_BY_NAME = """SELECT importance, chrOffset, startPos, endPos, fields FROM intervals
                     WHERE name LIKE ? ESCAPE '\\' ORDER BY importance DESC, id LIMIT ?"""
_SEARCH_BY_FIELDS = """SELECT importance, chrOffset, startPos, endPos, fields FROM intervals
                       WHERE fields LIKE ? ESCAPE '\\' ORDER BY importance DESC, id"""


# --- an SQLite tileset file (beddb, bed2ddb) ---------------------------------------------------


class SqliteFile(Database):
    """An annotation tileset file with its schema and its ``tileset_info`` row, opened read-only
    (a pool of connections, :class:`tilesets.formats.sqlite.Database`)."""

    def __init__(self, path):
        super().__init__(path, page_cache_kb=PAGE_CACHE_KB, pool_size=POOL_SIZE)

    def _read_schema(self, conn):
        self.tables = self.table_columns(conn, ("tileset_info", "intervals", "position_index", "tiles"))
        missing = [t for t in ("tileset_info", "intervals", "position_index") if t not in self.tables]
        if missing:
            raise GeneratorError(
                f"no {', '.join(missing)} table{'s' if len(missing) > 1 else ''}: not a {self.kind} file"
            )
        cursor = conn.execute("SELECT * FROM tileset_info")
        row = cursor.fetchone()
        if row is None:
            raise GeneratorError("the tileset_info table is empty")
        if len(row) < 8:
            raise GeneratorError(f"the tileset_info table has {len(row)} columns; expected at least 8")
        self.info_columns = [d[0] for d in cursor.description]
        self.row = tuple(text(v) for v in row)
        self.tile_size, self.max_zoom, self.max_width = self.row[5], self.row[6], self.row[7]
        for what, value in (("tile_size", self.tile_size), ("max_width", self.max_width)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise GeneratorError(f"tileset_info.{what} is {value!r}, not a positive number")
        if isinstance(self.max_zoom, bool) or not isinstance(self.max_zoom, int) or self.max_zoom < 0:
            raise GeneratorError(f"tileset_info.max_zoom is {self.max_zoom!r}, not a zoom level")
        self._check_kind()
        self.version = self._version()
        self.chromsizes = self._chromsizes()
        self._check_columns()

    def _check_kind(self):
        """Refuse, with a hint, the 1-D layout read as 2-D and the reverse."""
        columns = self.tables["intervals"]
        mine, theirs, other = self.kind_columns
        if mine not in columns and theirs in columns:
            raise GeneratorError(f"the intervals table has {theirs} but no {mine} column: a {other} file?")

    def _version(self):
        """tileset_info.version as an int (no column: 1); GeneratorError when not supported."""
        if "version" not in self.info_columns:
            return 1
        value = self.row[self.info_columns.index("version")]
        try:
            version = int(str(value).strip())
        except ValueError:
            version = None
        if version not in self.supported_versions:
            supported = ", ".join(map(str, self.supported_versions))
            extra = " (a precomputed-tiles file of clodius 0.22)" if str(value).strip() == "3t" else ""
            raise GeneratorError(f"unsupported {self.kind} version {value!r}{extra}; supported: {supported}")
        return version

    def _chromsizes(self):
        names, sizes = self.row[3], self.row[4]
        if not isinstance(names, str) or not isinstance(sizes, str):
            raise GeneratorError("tileset_info.chrom_names and chrom_sizes must be text")
        names, sizes = names.split("\t"), sizes.split("\t")
        if len(names) != len(sizes):
            raise GeneratorError(
                f"tileset_info lists {len(names)} chromosome names but {len(sizes)} chromosome sizes"
            )
        try:
            rows = [(name, int(size)) for name, size in zip(names, sizes)]
        except ValueError:
            raise GeneratorError("tileset_info.chrom_sizes holds a size that is not an integer") from None
        if any(size < 0 for _, size in rows) or any(not name for name, _ in rows):
            raise GeneratorError("tileset_info lists an empty chromosome name or a negative size")
        return rows

    def _need(self, table, columns):
        absent = [c for c in columns if c not in self.tables[table]]
        if absent:
            raise GeneratorError(f"the {table} table has no {', '.join(absent)} column{'s' if len(absent) > 1 else ''}")

    def info_dict(self, dimensions):
        """The tileset_info keys shared by beddb and bed2ddb (the row's values as stored), with
        ``min_pos``/``max_pos`` for ``dimensions`` axes."""
        row = self.row
        return {
            "zoom_step": row[0], "max_length": row[1], "assembly": row[2], "chrom_names": row[3],
            "chrom_sizes": row[4], "tile_size": row[5], "max_zoom": row[6], "max_width": row[7],
            "min_pos": [1] * dimensions, "max_pos": [row[1]] * dimensions,
        }

    @classmethod
    def validate(cls, datafile, indexfile=None):
        """Open ``datafile`` afresh (not cached: at ingest it may be a temporary upload) and check
        it fully; GeneratorError with a one-line reason otherwise."""
        handle = cls(datafile)
        try:
            handle.check_all()
            handle.integrity_check()
        except sqlite3.DatabaseError as exc:
            raise GeneratorError(f"unreadable SQLite file: {one_line(exc, datafile)}") from None
        finally:
            handle.close()

    def tile_width(self, zoom):
        """``max_width / 2^zoom`` as the reference computes it; GeneratorError past float range."""
        if zoom > MAX_ZOOM_LEVEL:  # the reference's float division overflows (HTTP 500)
            raise GeneratorError(f"zoom level {zoom} is out of range")
        return math.ldexp(self.max_width, -zoom)  # = max_width / 2**zoom, exactly


def opener(cls):
    """The cached ``open(path)`` of a file class (GeneratorError when it does not open)."""
    return OpenFiles(cls, maxsize=64, closer=cls.close, what="the file", missing="the file does not exist").get


# --- beddb ---------------------------------------------------------------------------------------


class BedDb(SqliteFile):
    kind = "beddb"
    kind_columns = ("startPos", "fromX", "bed2ddb (2-D)")
    supported_versions = SUPPORTED_VERSIONS

    def _check_columns(self):
        self._need("intervals", _INTERVAL_COLUMNS[self.version])
        self._need("position_index", _INDEX_COLUMNS[self.version])
        self.query = _TILE_QUERIES[self.version]

    def check_all(self):
        self.check_query(self.query, (0, 0.0, 1.0))

    def tile(self, zoom, x):
        """The annotations of tile (zoom, x): a list of dicts."""
        width = self.tile_width(zoom)
        try:
            start = width * x
            end = start + width
        except OverflowError:
            raise GeneratorError(f"position {x} is out of range") from None
        with self.connection() as conn:
            rows = conn.execute(self.query, (zoom, start, end)).fetchall()
        with_name = self.version == 3
        out = []
        for row in rows:
            x_start, x_end = row[0], row[1]
            if not (x_start < end and x_end >= start):
                continue
            fields = text(row[4])
            entry = {
                "xStart": x_start,
                "xEnd": x_end,
                "chrOffset": row[2],
                "importance": row[3],
                "uid": text(row[5]),
                "fields": fields.split("\t") if fields is not None else [],
            }
            if with_name:
                entry["name"] = text(row[6])
            out.append(entry)
        return out


    def search(self, typed, limit):
        """Up to ``limit`` entries whose gene name (BED column 4) starts with ``typed``,
        case-insensitively (ASCII, as SQLite's LIKE), most important first. The text is bound
        as a parameter, its ``%``, ``_`` and ``\\`` matched literally."""
        pattern = escape_like(typed)
        out = []
        with self.connection() as conn:
            if self.version >= 3:
                return [_suggestion(row) for row in conn.execute(_SEARCH_BY_NAME, (pattern + "%", limit))]
            prefix = typed.lower()
            for row in conn.execute(_SEARCH_BY_FIELDS, ("%" + pattern + "%",)):
                parts = (text(row[4]) or "").split("\t")
                if len(parts) > 3 and parts[3].lower().startswith(prefix):
                    out.append(_suggestion(row))
                    if len(out) >= limit:
                        break
        return out


def escape_like(value):
    """``value`` as a LIKE pattern that matches it literally (escape character ``\\``)."""
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _int(value, fallback):
    try:
        return int(value)
    except (TypeError, ValueError):
        return fallback


def _suggestion(row):
    """``{"chr", "txStart", "txEnd", "score", "geneName"}``: BED columns 1-4 of the entry and its
    importance, as the reference gives them (the position from the entry when a column is not
    a number)."""
    importance, offset, start, end, fields = row
    parts = (text(fields) or "").split("\t")
    parts += [""] * (4 - len(parts))
    if isinstance(offset, int) and isinstance(start, int) and isinstance(end, int):
        relative = (start - offset, end - offset)
    else:
        relative = (None, None)
    return {
        "chr": parts[0],
        "txStart": _int(parts[1], relative[0]),
        "txEnd": _int(parts[2], relative[1]),
        "score": importance,
        "geneName": parts[3],
    }


open_beddb = opener(BedDb)
validate = BedDb.validate


def tileset_info(source):
    handle = open_beddb(source.datafile)
    info = handle.info_dict(dimensions=1)
    info["header"] = handle.row[8] if len(handle.row) == 9 else ""
    return info


def tiles(source, requests, options=None):
    handle = open_beddb(source.datafile)
    return each_tile(requests, lambda r: handle.tile(r.zoom, r.coords[0]), "beddb", "the annotations", READ_ERRORS)


def chromsizes(source):
    return list(open_beddb(source.datafile).chromsizes)


def search(source, text, limit):
    """The suggest capability: see :meth:`BedDb.search`."""
    return open_beddb(source.datafile).search(text, limit)


GENERATOR = Generator(
    filetype=FILETYPE,
    validate=validate,
    tileset_info=tileset_info,
    tiles=tiles,
    chromsizes=chromsizes,
    dimensions=1,
    search=search,
)
