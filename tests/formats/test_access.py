"""How bytes are reached (tilesets/formats/access.py), and the SQLite and HDF5 openers above it."""

import os
import sqlite3

import h5py
import numpy as np
import pytest

from tilesets.formats import access, hdf5
from tilesets.formats.errors import FormatError
from tilesets.formats.sqlite import Database


def test_random_access_reads_at_offsets_and_pins_the_file(tmp_path):
    path = tmp_path / "data.bin"
    path.write_bytes(bytes(range(100)))
    with access.open_ranged(str(path)) as data:
        assert data.size == 100 and data.read_at(10, 5) == bytes(range(10, 15))
        pinned = data.pinned_path()
        os.replace(tmp_path.joinpath("data.bin"), tmp_path / "moved.bin")
        path.write_bytes(b"another file")
        with open(pinned, "rb") as again:
            assert again.read(3) == bytes(range(3))  # the file opened, not the one at the path now
    assert data.fd is None and data.pinned_path() == str(path)


def test_hdf5_open_file_and_its_errors(tmp_path):
    good = tmp_path / "good.h5"
    with h5py.File(good, "w") as h5:
        h5["v"] = np.arange(10)
    with hdf5.open_file(str(good)) as h5:
        assert list(h5["v"][2:4]) == [2, 3]
    text = tmp_path / "text.h5"
    text.write_text("not hdf5")
    with pytest.raises(FormatError, match="^not an HDF5 file$"):
        hdf5.open_file(str(text))
    with pytest.raises(FormatError, match="^plain text$"):
        hdf5.open_file(str(text), "plain text")


def test_one_open_version_per_inode(tmp_path):
    class Opened:
        def __init__(self, location):
            self.h5 = hdf5.open_file(location)

        def close(self):
            self.h5.close()

    path = tmp_path / "f.h5"
    with h5py.File(path, "w") as h5:
        h5["v"] = np.arange(3)
    opener = hdf5.OnePerInode(Opened)
    first = opener(str(path))
    assert opener(str(path)) is first  # unchanged: the live object again
    first.h5.close()
    with h5py.File(path, "r+") as h5:  # in place: same inode, new content
        h5["w"] = np.arange(4)
    second = opener(str(path))
    assert second is not first and "w" in second.h5 and second.version.inode == first.version.inode


def test_vector_cache_keeps_small_vectors_whole(tmp_path):
    path = tmp_path / "v.h5"
    with h5py.File(path, "w") as h5:
        h5["small"] = np.arange(10, dtype=np.int64)
        h5["big"] = np.arange(1000, dtype=np.int64)
    cache = hdf5.VectorCache(max_bytes=10_000, max_vector_bytes=100)
    with h5py.File(path, "r") as h5:
        assert list(cache.slice(("f", "small"), h5["small"], 2, 5)) == [2, 3, 4]
        assert list(cache.slice(("f", "big"), h5["big"], 500, 502)) == [500, 501]
        assert list(cache._arrays._items) == [("f", "small")] and cache._arrays.bytes == 80


def test_sqlite_database_is_read_only_and_pooled(tmp_path):
    path = tmp_path / "t.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (a)")
    conn.execute("INSERT INTO t VALUES (1)")
    conn.commit()
    conn.close()
    db = Database(str(path), page_cache_kb=1024, pool_size=2)
    assert "immutable=1" in db._uri
    with db.connection() as conn:
        assert conn.execute("PRAGMA cache_size").fetchone()[0] == -1024
        with pytest.raises(sqlite3.OperationalError):
            conn.execute("INSERT INTO t VALUES (2)")
    with db.connection() as conn:
        assert db.table_columns(conn, ("t", "other")) == {"t": ["a"]}
    db.check_query("SELECT a FROM t", ())
    db.integrity_check()
    assert len(db._idle) == 1
    db.close()
    assert db._closed and db._idle == []


def test_sqlite_errors(tmp_path):
    with pytest.raises(FormatError, match="^the file does not exist$"):
        Database(str(tmp_path / "missing.db"))
    (tmp_path / "text.db").write_text("plain text, long enough to hold a header")
    with pytest.raises(FormatError, match="^not an SQLite database$"):
        Database(str(tmp_path / "text.db"))
