"""beddb: 1-D annotations in SQLite, as written by ``clodius aggregate bedfile`` (tiles.md §8).

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

The files are opened read-only (``mode=ro``; ``immutable=1`` unless the database uses a WAL or
has a journal beside it) and shared by the threads of the process through a small pool of
connections per file version (:class:`SqliteFile`, cached with ``OpenFiles``). Every query binds
its values; nothing from a request is pasted into SQL.
"""

import math
import os
import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path

from .base import Generator, GeneratorError, each_tile
from .files import OpenFiles

FILETYPE = "beddb"
SQLITE_MAGIC = b"SQLite format 3\x00"
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
# Selection of a tile's rows (tiles.md §8.3); the exact integer test follows in Python.
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


# --- an SQLite tileset file, shared by threads --------------------------------------------------


def text(value):
    """A TEXT value as str (clodius under Python 2 could store BLOBs)."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", errors="replace")
    return value


def _one_line(exc, path):
    return " ".join(str(exc).replace(str(path), os.path.basename(str(path))).split())


def _uses_journal(path):
    """True when the database is in WAL mode or a rollback journal / WAL file lies beside it:
    then it must not be opened ``immutable`` (the pages in those files would be ignored)."""
    if os.path.exists(f"{path}-wal") or os.path.exists(f"{path}-journal"):
        return True
    with open(path, "rb") as handle:
        header = handle.read(20)
    return len(header) >= 20 and (header[18] == 2 or header[19] == 2)


class SqliteFile:
    """An SQLite tileset file opened read-only, with its schema and its ``tileset_info`` row.

    ``connection()`` lends a connection to one thread at a time (a pool; connections are created
    with ``check_same_thread=False`` and never used by two threads at once).
    """

    def __init__(self, path):
        self.path = str(path)
        try:
            with open(self.path, "rb") as handle:
                magic = handle.read(len(SQLITE_MAGIC))
        except FileNotFoundError:
            raise GeneratorError("the file does not exist") from None
        except OSError as exc:
            raise GeneratorError(f"cannot read the file: {exc.strerror or exc}") from None
        if magic != SQLITE_MAGIC:
            raise GeneratorError("not an SQLite database")
        self._uri = Path(self.path).resolve().as_uri() + "?mode=ro"
        if not _uses_journal(self.path):
            self._uri += "&immutable=1"
        self._lock = threading.Lock()
        self._idle = []
        self._closed = False
        try:
            with self.connection() as conn:
                self._read_schema(conn)
        except sqlite3.DatabaseError as exc:  # "file is not a database", "database disk image is malformed"
            self.close()
            raise GeneratorError(f"unreadable SQLite file: {_one_line(exc, self.path)}") from None
        except GeneratorError:
            self.close()
            raise

    def _connect(self):
        conn = sqlite3.connect(self._uri, uri=True, check_same_thread=False)
        try:
            conn.execute("PRAGMA query_only = 1")
            # SQLite keeps 2 MB of pages per connection by default; tiles walk the R-tree and the
            # intervals again and again, so a larger page cache saves most of the file reads
            # (about a quarter of a 128 kb tile's time in `make bench`). A bound, not a
            # reservation: a sync worker uses one connection per open file, so at most
            # PAGE_CACHE_KB × the open files (OpenFiles keeps 64) per filetype and process.
            conn.execute(f"PRAGMA cache_size = -{PAGE_CACHE_KB}")
        except sqlite3.DatabaseError:
            conn.close()
            raise
        return conn

    @contextmanager
    def connection(self):
        with self._lock:
            conn = self._idle.pop() if self._idle else None
        if conn is None:
            try:
                conn = self._connect()
            except sqlite3.Error as exc:
                raise GeneratorError(f"cannot open the SQLite file: {_one_line(exc, self.path)}") from None
        try:
            yield conn
        finally:
            with self._lock:
                keep = not self._closed and len(self._idle) < POOL_SIZE
                if keep:
                    self._idle.append(conn)
            if not keep:
                conn.close()

    def close(self):
        """Close the idle connections; those lent out close when they come back."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    def _read_schema(self, conn):
        names = [text(row[0]) for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")]
        self.tables = {}
        for name in names:
            if name in ("tileset_info", "intervals", "position_index", "tiles"):
                self.tables[name] = [text(row[1]) for row in conn.execute(f'PRAGMA table_info("{name}")')]
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

    def check_query(self, sql, params):
        """Run a query once (LIMIT 1) to prove the file answers it (ingest only)."""
        with self.connection() as conn:
            conn.execute(f"SELECT * FROM ({sql}) LIMIT 1", params).fetchall()

    def integrity_check(self):
        with self.connection() as conn:
            result = [text(r[0]) for r in conn.execute("PRAGMA quick_check(3)")]
        if result != ["ok"]:
            raise GeneratorError(f"the SQLite file is damaged: {'; '.join(result)}")

    def info_dict(self):
        """The keys shared by beddb and bed2ddb tileset_info (raw row values, §8.2 / §9.2)."""
        row = self.row
        return {
            "zoom_step": row[0], "max_length": row[1], "assembly": row[2], "chrom_names": row[3],
            "chrom_sizes": row[4], "tile_size": row[5], "max_zoom": row[6], "max_width": row[7],
        }

    def tile_width(self, zoom):
        """``max_width / 2^zoom`` as the reference computes it; GeneratorError past float range."""
        if zoom > MAX_ZOOM_LEVEL:  # the reference's float division overflows (HTTP 500)
            raise GeneratorError(f"zoom level {zoom} is out of range")
        return math.ldexp(self.max_width, -zoom)  # = max_width / 2**zoom, exactly


def validate_file(cls, datafile):
    """Open ``datafile`` afresh as ``cls`` (not cached: at ingest it may be a temporary upload)
    and check it fully; GeneratorError with a one-line reason otherwise."""
    handle = cls(datafile)
    try:
        handle.check_all()
        handle.integrity_check()
    except sqlite3.DatabaseError as exc:
        raise GeneratorError(f"unreadable SQLite file: {_one_line(exc, datafile)}") from None
    finally:
        handle.close()


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
        """The annotations of tile (zoom, x): a list of dicts (§8.3)."""
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


open_beddb = opener(BedDb)


def validate(datafile, indexfile=None):
    validate_file(BedDb, datafile)


def tileset_info(source):
    handle = open_beddb(source.datafile)
    info = handle.info_dict()
    info["min_pos"] = [1]
    info["max_pos"] = [handle.row[1]]
    info["header"] = handle.row[8] if len(handle.row) == 9 else ""
    return info


def tiles(source, requests, options=None):
    handle = open_beddb(source.datafile)
    return each_tile(requests, lambda r: handle.tile(r.zoom, r.coords[0]), "beddb", "the annotations", READ_ERRORS)


def chromsizes(source):
    return list(open_beddb(source.datafile).chromsizes)


GENERATOR = Generator(
    filetype=FILETYPE,
    validate=validate,
    tileset_info=tileset_info,
    tiles=tiles,
    chromsizes=chromsizes,
    dimensions=1,
)
