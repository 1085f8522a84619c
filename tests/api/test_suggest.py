"""/api/v1/suggest/: gene-name prefix search in a beddb, ranked by importance.

Differences from the reference checked here: a case-insensitive *prefix* match on the gene name
(column 4) instead of a substring match on the whole BED line; the text bound as an SQL parameter
(the reference pasted it into the SQL) with ``%``, ``_`` and ``\\`` taken literally; private
tilesets follow the visibility rule; bad input answers 400/404 JSON instead of 500.
"""

import hashlib
import json

import pytest

from tests.builders import annotation_data as ad
from tilesets import suggest
from tilesets.generators import beddb
from tilesets.generators.base import Source
from tilesets.ingest import ingest_tileset

CS = [("chr1", 60000), ("chr2", 41000), ("chr3", 17003)]
GENES = [
    ("chr2", 100, 900, "TP53", 100), ("chr1", 5000, 9000, "TP53BP1", 50), ("chr3", 10, 20, "TP63", 80),
    ("chr1", 300, 400, "tp73", 30), ("chr1", 20000, 30000, "ATP5A1", 200), ("chr2", 7, 8, "A_B1", 5),
    ("chr2", 9, 10, "AXB1", 6), ("chr2", 11, 12, "A%X", 4), ("chr2", 13, 14, "A\\Z", 3), ("chr3", 1, 2, "%PCT", 2),
    ("chr3", 3, 4, "_UND", 1), ("chr3", 5, 6, "ZED", 70.5),
] + [("chr1", 40000 + 100 * n, 40050 + 100 * n, f"TPX{n}", n) for n in range(1, 16)]
LINES = [ad.gene_line(chrom, start, end, name, score) for chrom, start, end, name, score in GENES]


def row(name):
    chrom, start, end, name, score = next(g for g in GENES if g[3] == name)
    return {"chr": chrom, "txStart": start, "txEnd": end, "score": float(score), "geneName": name}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("suggest")
    out = {}
    for version in ("3", "2", None):
        out[version] = folder / f"genes-{version}.beddb"
        ad.write_beddb(out[version], CS, LINES, version=version)
    return out


def names(found):
    return [item["geneName"] for item in found]


def search(source, text, limit=suggest.MAX_RESULTS):
    """The beddb generator's search capability, with the service's default limit."""
    return beddb.GENERATOR.search(source, text, limit)


@pytest.mark.parametrize("version", ["3", "2", None])
def test_prefix_case_insensitive_ranked_by_importance(files, version):
    handle = Source(str(files[version]))
    assert names(search(handle, "tp53")) == ["TP53", "TP53BP1"]
    assert search(handle, "TP53") == [row("TP53"), row("TP53BP1")]
    tp = search(handle, "Tp")
    assert names(tp) == ["TP53", "TP63", "TP53BP1", "tp73", "TPX15", "TPX14", "TPX13", "TPX12", "TPX11", "TPX10"]
    assert "ATP5A1" not in names(search(handle, "tp", limit=100))  # a prefix, not a substring
    assert names(search(handle, "p53")) == []
    assert len(search(handle, "tpx", limit=100)) == 15 and len(search(handle, "tpx")) == 10
    assert names(search(handle, "")) == ["ATP5A1", "TP53", "TP63", "ZED", "TP53BP1", "tp73", "TPX15", "TPX14",
                                                  "TPX13", "TPX12"]


@pytest.mark.parametrize("version", ["3", None])
def test_wildcards_and_quotes_are_literal(files, version):
    path = files[version]
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    handle = Source(str(path))
    assert names(search(handle, "a_")) == ["A_B1"]  # not AXB1
    assert names(search(handle, "A%")) == ["A%X"]
    assert names(search(handle, "%")) == ["%PCT"]
    assert names(search(handle, "_")) == ["_UND"]
    assert names(search(handle, "a\\")) == ["A\\Z"]
    assert search(handle, "a' OR 1=1 --") == []
    assert search(handle, "'; DROP TABLE intervals; --") == []
    assert search(handle, '" OR ""="') == []
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert len(search(handle, "t")) == 10


# --- through the HTTP API ------------------------------------------------------------------------


@pytest.fixture
def genes(files, db):
    return ingest_tileset(datafile=str(files["3"]), filetype="beddb", datatype="gene-annotation", coordSystem="hgT",
                          uid="genes")


def test_http_answer(anon_client, genes):
    for url in ("/api/v1/suggest/?d=genes&ac=tp53", "/api/v1/suggest?d=genes&ac=tp53"):
        response = anon_client.get(url)
        assert response.status_code == 200 and response["Content-Type"] == "application/json"
        assert response.content == json.dumps([row("TP53"), row("TP53BP1")]).encode()
    assert response.content.startswith(b'[{"chr": "chr2", "txStart": 100, "txEnd": 900, "score": 100.0, "geneName": "TP53"}')
    assert len(anon_client.get("/api/v1/suggest/?d=genes&ac=t").json()) == suggest.MAX_RESULTS


def test_http_injection(anon_client, genes):
    for text in ("a' OR 1=1 --", "a%27%20OR%201%3D1%20--", "%25", "_"):
        response = anon_client.get(f"/api/v1/suggest/?d=genes&ac={text}")
        assert response.status_code == 200
    assert anon_client.get("/api/v1/suggest/?d=genes&ac=a%27%20OR%201%3D1%20--").json() == []
    assert names(anon_client.get("/api/v1/suggest/?d=genes&ac=%25").json()) == ["%PCT"]
    assert names(anon_client.get("/api/v1/suggest/?d=genes&ac=A_").json()) == ["A_B1"]


@pytest.mark.parametrize("query, status, text", [
    ("ac=tp", 400, "?d=<uid>"),
    ("d=&ac=tp", 400, "?d=<uid>"),
    ("d=genes", 400, "?ac=<text>"),
    ("d=genes&ac=" + "x" * 300, 400, "longer than 256"),
    ("d=nothere&ac=tp", 404, "Suggestion source file not found"),
])
def test_http_bad_requests(anon_client, genes, query, status, text):
    response = anon_client.get(f"/api/v1/suggest/?{query}")
    assert response.status_code == status
    body = response.json()
    assert text in body["error"] and body["code"] == {400: "InvalidInput", 404: "NotFound"}[status]


def test_http_not_a_beddb(anon_client, make_tileset):
    make_tileset("sizes")
    response = anon_client.get("/api/v1/suggest/?d=sizes&ac=chr")
    assert response.status_code == 400
    assert "chromsizes-tsv tileset" in response.json()["error"]


def test_http_private(files, owner, owner_client, other_client, anon_client, admin_client_api, db):
    ingest_tileset(datafile=str(files["3"]), filetype="beddb", datatype="gene-annotation", uid="mine", owner=owner,
                   private=True)
    for client in (anon_client, other_client):
        response = client.get("/api/v1/suggest/?d=mine&ac=tp53")
        assert response.status_code == 404 and "not found" in response.json()["error"]
    for client in (owner_client, admin_client_api):
        assert names(client.get("/api/v1/suggest/?d=mine&ac=tp53").json()) == ["TP53", "TP53BP1"]


def test_http_unreadable_file(anon_client, genes):
    path = genes.datafile.path
    with open(path, "wb") as handle:
        handle.write(b"no longer a database")
    response = anon_client.get("/api/v1/suggest/?d=genes&ac=tp")
    assert response.status_code == 500
    assert "Unable to read tileset genes: not an SQLite database" in response.json()["error"]
