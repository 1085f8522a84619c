"""SQLite data files (beddb, bed2ddb) opened read-only and shared by the threads of a process.

A file is opened with ``mode=ro``, and ``immutable=1`` unless the database uses a WAL or has a
journal beside it (SQLite would then ignore the pages in those files). :class:`Database` lends
connections from a small pool, one thread at a time; queries are the caller's.

A remote file (http(s), s3) is read from its whole copy in the bounded disk cache
(:func:`.access.local_path`; refused above the largest file the server copies whole), always
``immutable=1``: what lies beside a remote file is not looked at. A connection made after the
copy was evicted from the disk cache fetches it again.
"""

import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path

from . import access
from .errors import FormatError, one_line

SQLITE_MAGIC = b"SQLite format 3\x00"


def text(value):
    """A TEXT value as str (clodius under Python 2 could store BLOBs)."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", errors="replace")
    return value


def _local_copy(location):
    """The path SQLite opens for ``location`` (a remote file's copy), as FormatError on failure."""
    try:
        return access.local_path(location)
    except OSError as exc:
        reason = getattr(exc, "reason", None)
        if reason == "too-large":
            raise FormatError(f"{exc} (SQLite files such as beddb are copied whole before they are read)",
                              reason="too-large") from None
        raise FormatError(f"cannot read the file: {exc.strerror or exc}") from None


def _uses_journal(path):
    """True when the database is in WAL mode or a rollback journal / WAL file lies beside it."""
    if access.exists(f"{path}-wal") or access.exists(f"{path}-journal"):
        return True
    with access.open_binary(path) as handle:
        header = handle.read(20)
    return len(header) >= 20 and (header[18] == 2 or header[19] == 2)


class Database:
    """An SQLite file opened read-only. ``connection()`` lends a connection to one thread at a
    time (connections are created with ``check_same_thread=False`` and never used by two threads
    at once); at most ``pool_size`` idle ones are kept, more are opened under load and closed
    after use. ``page_cache_kb`` sets each connection's page cache (None: SQLite's default).

    Subclasses read what they need in ``_read_schema(conn)``, run once when the file opens; an
    SQLite error there becomes FormatError("unreadable SQLite file: ...").
    """

    def __init__(self, location, page_cache_kb=None, pool_size=8):
        self.path = str(location)
        try:
            with access.open_binary(self.path) as handle:
                magic = handle.read(len(SQLITE_MAGIC))
        except FileNotFoundError:
            raise FormatError("the file does not exist") from None
        except OSError as exc:
            raise FormatError(f"cannot read the file: {exc.strerror or exc}") from None
        if magic != SQLITE_MAGIC:
            raise FormatError("not an SQLite database")
        self._remote = access.is_remote(self.path)
        self._remote_validator = access.remote_info(self.path).validator if self._remote else None
        self._local = _local_copy(self.path)
        self._uri = self._uri_of(self._local)
        self._page_cache_kb = page_cache_kb
        self._pool_size = pool_size
        self._lock = threading.Lock()
        self._idle = []
        self._closed = False
        try:
            with self.connection() as conn:
                self._read_schema(conn)
        except sqlite3.DatabaseError as exc:  # "file is not a database", "database disk image is malformed"
            self.close()
            raise FormatError(f"unreadable SQLite file: {one_line(exc, self.path)}") from None
        except FormatError:
            self.close()
            raise

    def _read_schema(self, conn):
        pass

    def _uri_of(self, local):
        uri = Path(local).resolve().as_uri() + "?mode=ro"
        if self._remote or not _uses_journal(local):
            uri += "&immutable=1"
        return uri

    def _current_uri(self):
        """The URI to connect to: a remote file's copy fetched again if it was evicted meanwhile
        (FormatError when the remote file has changed since this one was opened)."""
        if not self._remote or Path(self._local).exists():
            return self._uri
        if access.remote_info(self.path).validator != self._remote_validator:
            raise FormatError(f"{access.shown(self.path)} changed on the server; it is opened again on the next request")
        self._local = _local_copy(self.path)
        self._uri = self._uri_of(self._local)
        return self._uri

    def _connect(self):
        conn = sqlite3.connect(self._current_uri(), uri=True, check_same_thread=False)
        try:
            conn.execute("PRAGMA query_only = 1")
            if self._page_cache_kb is not None:
                conn.execute(f"PRAGMA cache_size = -{int(self._page_cache_kb)}")
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
                raise FormatError(f"cannot open the SQLite file: {one_line(exc, self.path)}") from None
        try:
            yield conn
        finally:
            with self._lock:
                keep = not self._closed and len(self._idle) < self._pool_size
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

    def table_columns(self, conn, names):
        """``{table: [column, ...]}`` of the tables among ``names`` that the file has."""
        tables = [text(row[0]) for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {
            name: [text(row[1]) for row in conn.execute(f'PRAGMA table_info("{name}")')]
            for name in tables if name in names
        }

    def check_query(self, sql, params):
        """Run a query once (LIMIT 1) to prove the file answers it."""
        with self.connection() as conn:
            conn.execute(f"SELECT * FROM ({sql}) LIMIT 1", params).fetchall()

    def integrity_check(self):
        """FormatError("the SQLite file is damaged: ...") unless SQLite's quick check passes."""
        with self.connection() as conn:
            result = [text(r[0]) for r in conn.execute("PRAGMA quick_check(3)")]
        if result != ["ok"]:
            raise FormatError(f"the SQLite file is damaged: {'; '.join(result)}")
