"""Helpers shared by the tests (data files, users, API clients, generator calls)."""

import base64
import json
import os
import shutil
import sqlite3
import subprocess
import threading
from pathlib import Path

import h5py
import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from tilesets.generators.base import GeneratorError, Source, TileRequest
from tilesets.ingest import ingest_tileset

HG_SMALL = [("chr1", 1000), ("chr2", 800), ("chrX", 500)]
PASSWORD = "pass-word-1"

needs_clodius = pytest.mark.skipif(not os.environ.get("CLODIUS_PYTHON"),
                                   reason="set CLODIUS_PYTHON to a Python with clodius 0.20.4")


def write_tsv(path, rows):
    """``rows`` as lines of tab-separated values; the path."""
    path = Path(path)
    path.write_text("".join("\t".join(map(str, row)) + "\n" for row in rows))
    return path


def write_chromsizes(path, rows=HG_SMALL):
    return write_tsv(path, rows)


def ingest_chromsizes(folder, uid, rows, coord):
    """The chromsizes-tsv tileset ``uid`` of ``rows`` on ``coord`` (its file written in ``folder``)."""
    tsv = write_chromsizes(Path(folder) / f"{uid}.tsv", rows)
    return ingest_tileset(datafile=str(tsv), filetype="chromsizes-tsv", datatype="chromsizes", coordSystem=coord,
                          uid=uid)


def copy_into(path, folder, name=None, index=None):
    """``path`` copied into ``folder`` (as ``name``), with ``index`` beside the copy (the copy's
    name plus the index's suffix); the copy's path."""
    target = Path(folder) / (name or Path(path).name)
    shutil.copy(path, target)
    if index is not None:
        shutil.copy(index, str(target) + Path(index).suffix)
    return target


def write_hdf5(path, build):
    """An HDF5 file at ``path`` with what ``build(file)`` puts in it."""
    with h5py.File(path, "w") as f:
        build(f)
    return path


def failed_metadata_read(monkeypatch, validate, cls, method, path):
    """The GeneratorError text of ``validate(path)`` when ``cls.method`` (the metadata reader of an
    HDF5 file class) raises an error of two lines naming the path; the file must be closed after."""

    def fail(self):
        raise ValueError(f"odd content in {path}\nsecond line")

    monkeypatch.setattr(cls, method, fail)
    with pytest.raises(GeneratorError) as caught:
        validate(str(path))
    with h5py.File(path, "a"):  # fails while the file is still open read-only in this process
        pass
    return str(caught.value)


def run_sql(path, *statements):
    """The SQLite file ``path`` after the statements (committed)."""
    conn = sqlite3.connect(path)
    for statement in statements:
        conn.execute(statement)
    conn.commit()
    conn.close()
    return path


def edited_copy(source, path, *statements):
    """A copy of the SQLite file ``source`` at ``path``, after the statements."""
    shutil.copy(source, path)
    return run_sql(path, *statements)


# --- calling a generator as the tile service does ---------------------------------------------


def tile_request(tile_id, dimensions=1):
    """The TileRequest of ``uid.zoom.x[.y][.extra...]``."""
    uid, zoom, *rest = tile_id.split(".")
    return TileRequest(tile_id, uid, int(zoom), tuple(int(c) for c in rest[:dimensions]), tuple(rest[dimensions:]))


def generator_tiles(generator, path, ids, index=None, chromsizes=None, options=None, context=None):
    """``generator.tiles`` (a generator module) of the file ``path`` for tile ids; ``context`` adds
    to the Source's context what the tile service would pass (e.g. max_tile_width)."""
    context = dict(context or {}, **({"chromsizes": chromsizes} if chromsizes else {}))
    source = Source(str(path), str(index) if index else None, context=context)
    return generator.tiles(source, [tile_request(i, generator.GENERATOR.dimensions) for i in ids], options)


def api_tiles(client, ids):
    """The JSON answer of GET /api/v1/tiles/ for the tile ids, which must answer every id."""
    response = client.get("/api/v1/tiles/?" + "&".join(f"d={i}" for i in ids))
    assert response.status_code == 200
    answer = response.json()
    assert set(answer) == set(ids)
    return answer


def in_threads(call, count=6):
    """The results of ``call()`` run by ``count`` threads at once; any exception fails the test."""
    results, errors = [], []

    def work():
        try:
            results.append(call())
        except Exception as exc:  # pragma: no cover
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and len(results) == count, errors
    return results


def clodius_abs2genomic(module):
    """Script text that replaces ``<module>.abs2genomic`` of clodius 0.20.4 under pandas 3, which
    no longer lets it index the chromosome-size Series by position (same results otherwise)."""
    return f"""
import numpy as np, pandas as pd
if int(pd.__version__.split(".")[0]) >= 3:
    def abs2genomic(sizes, start_pos, end_pos):
        offsets = np.r_[0, np.cumsum(sizes)]
        lo, hi = np.searchsorted(offsets, [start_pos, end_pos], side="right") - 1
        start = start_pos - offsets[lo]
        for cid in range(lo, hi):
            yield cid, start, sizes.iloc[cid]
            start = 0
        yield hi, int(start), int(end_pos - offsets[hi])
    {module}.abs2genomic = abs2genomic
"""


def run_clodius(script, *arguments):
    """What ``script`` prints last, as JSON, run by CLODIUS_PYTHON with the arguments as one JSON list."""
    run = subprocess.run([os.environ["CLODIUS_PYTHON"], "-c", script, json.dumps(list(arguments))],
                         capture_output=True, text=True, check=True)
    return json.loads(run.stdout.strip().splitlines()[-1])


def make_user(username, superuser=False):
    model = get_user_model()
    if superuser:
        return model.objects.create_superuser(username, f"{username}@example.org", PASSWORD)
    return model.objects.create_user(username, f"{username}@example.org", PASSWORD)


def basic(user, password=PASSWORD):
    token = base64.b64encode(f"{user.username}:{password}".encode()).decode()
    return {"HTTP_AUTHORIZATION": f"Basic {token}"}


def client_for(user=None):
    client = APIClient()
    if user is not None:
        client.credentials(**basic(user))
    return client


def uploads(media_root):
    return sorted(p.name for p in (Path(media_root) / "uploads").iterdir())
