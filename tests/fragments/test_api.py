"""The fragments endpoints over HTTP: the catalogue, encodings, errors, privacy and limits."""

import base64
import io
import json
import os
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest

from fragments import service
from fragments.params import CATALOGUE

pytestmark = pytest.mark.django_db

URL = "/api/v1/fragments_by_loci/"
LOCUS = ["chr1", 100_000, 120_000, "chr1", 100_000, 120_000]
ROOT = Path(__file__).resolve().parents[2]


def post(client, body, query="", raw=False):
    data = body if raw else json.dumps(body)
    return client.post(URL + query, data, content_type="application/json")


def error_of(response, status=400):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error", "code"} and "\n" not in body["error"]
    return body["error"]


def png_pixels(data):
    """(width, height, grey values of the red channel) of one of our PNGs."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    start = data.index(b"IDAT") + 4
    length = int.from_bytes(data[start - 8:start - 4], "big")
    rows = np.frombuffer(zlib.decompress(data[start:start + length]), dtype=np.uint8).reshape(height, -1)
    return width, height, rows[:, 1::4]


# --- the catalogue and the answer's shape ---------------------------------------------------------


@pytest.mark.parametrize("path", [URL, URL.rstrip("/")])
def test_catalogue(anon_client, path):
    response = anon_client.get(path)
    assert response.status_code == 200
    body = response.json()
    assert body == CATALOGUE
    for name in ("dims", "padding", "percentile", "no-balance", "no-normalize", "ignore-diags", "precision",
                 "encoding", "no-cache"):
        assert set(body[name]) == {"short", "dtype", "default", "help"}
    assert body["dims"]["short"] == "di" and body["dims"]["default"] == 22


def test_list_and_object_bodies_answer_alike(hic, anon_client):
    hic("hic")
    first = post(anon_client, [LOCUS + ["hic", 0]]).json()
    second = post(anon_client, {"loci": [LOCUS + ["hic", 0]], "representativeIndices": None}).json()
    assert first == second
    assert set(first) == {"fragments", "indices", "dataTypes"}
    assert np.asarray(first["fragments"][0]).shape == (22, 22)


def test_empty_loci(anon_client):
    assert post(anon_client, []).json() == {"fragments": [], "indices": [], "dataTypes": []}


def test_b64_and_image_encodings(hic, anon_client):
    hic("hic", kind="dense")
    loci = [LOCUS + ["hic", 0], ["chr2", 0, 30_000, "chr2", 0, 30_000, "hic", 0, 10]]
    matrices = post(anon_client, loci).json()["fragments"]
    answer = post(anon_client, loci, "?en=b64").json()
    assert answer["dataTypes"] == ["dataUrl", "dataUrl"] and answer["indices"] == [0, 1]
    for text, matrix in zip(answer["fragments"], matrices):
        width, height, grey = png_pixels(base64.b64decode(text))
        values = np.asarray(matrix)
        assert (width, height) == values.shape[::-1]
        assert np.array_equal(grey, np.clip(255 - values * 255, 0, 255).astype(np.uint8))

    single = post(anon_client, loci[:1], "?encoding=image")
    assert single.status_code == 200 and single["Content-Type"] == "image/png"
    assert png_pixels(single.content)[:2] == (22, 22)
    several = post(anon_client, loci, "?encoding=image")
    assert several["Content-Type"] == "application/zip"
    assert "snippets.zip" in several["Content-Disposition"]
    with zipfile.ZipFile(io.BytesIO(several.content)) as archive:
        assert archive.namelist() == ["0.png", "1.png"]
        assert png_pixels(archive.read("1.png"))[:2] == (10, 10)


# --- errors ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("body,raw,text", [
    ("not json", True, "parse"),
    ('"a string"', True, "array or object"),
    ({"lo": []}, False, "loci"),
    ({"loci": "chr1"}, False, "list"),
    ([["chr1", 1, 2]], False, "7 to 9"),
    (["chr1"], False, "expected a list"),
    ([[1, 2, 3, 4, "hic", 0]], False, "image loci"),
    ([LOCUS + ["hic", 0, 22, 1]], False, "7 to 9"),
    ([LOCUS + [None, 0]], False, "tileset uid"),
    ([["chr1", "100", 200, "chr1", 100, 200, "hic", 0]], False, "start1 must be a number"),
    ([["chr1", 300, 200, "chr1", 100, 200, "hic", 0]], False, "after end1"),
    ([["chr1", 100, 200, "chr1", 100, 200, "hic", 1.5]], False, "zoomOutLevel must be an integer"),
    ([["chr1", 100, 200, "chr1", 100, 200, "hic", 0, -3]], False, "dims must be at least 1"),
    ([["chr1", 100, 200, "chr9", 100, 200, "hic", 0]], False, "unknown chromosome 'chr9'"),
    ([LOCUS + ["nosuch", 0]], False, "tileset 'nosuch' does not exist"),
    ([LOCUS + ["hic", 0], LOCUS + ["sizes", 0]], False, "Locus 1: tileset 'sizes' (chromsizes-tsv) holds no matrix"),
])
def test_bad_requests_are_400_with_one_line(hic, make_tileset, anon_client, body, raw, text):
    hic("hic")
    make_tileset("sizes")
    assert text in error_of(post(anon_client, body, raw=raw))


@pytest.mark.parametrize("query,text", [
    ("?dims=abc", "dims must be an integer"),
    ("?di=0", "dims must be at least 1"),
    ("?nb=maybe", "no-balance must be a boolean"),
    ("?pe=101", "percentile must lie in 0-100"),
    ("?pe=nan", "percentile must be a finite number"),
    ("?nd=-1", "ignore-diags must not be negative"),
    ("?en=svg", "encoding must be one of matrix, b64, image"),
    ("?am=mode&ag=1", "aggregation-method must be one of"),
    ("?rp=4", "representatives is not served"),
    ("?mp=2", "max-previews is not served"),
])
def test_bad_options_are_400(hic, anon_client, query, text):
    hic("hic")
    assert text in error_of(post(anon_client, [LOCUS + ["hic", 0]], query))


def test_no_weights_asks_for_no_balance(hic, anon_client):
    hic("raw", kind="raw")
    assert "no balancing weights" in error_of(post(anon_client, [LOCUS + ["raw", 0]]))
    assert post(anon_client, [LOCUS + ["raw", 0]], "?nb").status_code == 200  # a bare flag is on


# --- privacy -------------------------------------------------------------------------------------------


def test_private_tilesets_of_others_look_unknown(hic, owner, owner_client, other_client, anon_client, admin_client_api):
    hic("mine", owner=owner, private=True)
    body = [LOCUS + ["mine", 0]]
    unknown = error_of(post(anon_client, [LOCUS + ["nosuch", 0]])).replace("nosuch", "mine")
    assert error_of(post(anon_client, body)) == unknown
    assert error_of(post(other_client, body)) == unknown
    assert post(owner_client, body).status_code == 200
    assert post(admin_client_api, body).status_code == 200


# --- limits ----------------------------------------------------------------------------------------------


def test_out_dims_limit(hic, anon_client, settings):
    hic("hic")
    settings.SNIPPET_MAT_MAX_OUT_DIM = 30
    assert post(anon_client, [LOCUS + ["hic", 0]], "?dims=30").status_code == 200
    response = post(anon_client, [LOCUS + ["hic", 0]], "?dims=31")
    assert response.json()["code"] == "SnippetTooLarge"
    message = error_of(response)
    assert message.startswith("Snippet too large") and "SNIPPET_MAT_MAX_OUT_DIM (30)" in message
    assert "SNIPPET_MAT_MAX_OUT_DIM" in error_of(post(anon_client, [LOCUS + ["hic", 0, 40]]))


def test_data_dim_limit(hic, anon_client, settings):
    hic("hic")
    settings.SNIPPET_MAT_MAX_DATA_DIM = 50
    ok = ["chr1", 0, 49_000, "chr1", 0, 49_000, "hic", 0]  # 50 bins of 1 kb
    assert post(anon_client, [ok]).status_code == 200
    too_big = ["chr1", 0, 50_000, "chr1", 0, 50_000, "hic", 0]
    message = error_of(post(anon_client, [ok, too_big]))
    assert message.startswith("Snippet too large: locus 1:") and "SNIPPET_MAT_MAX_DATA_DIM" in message
    assert post(anon_client, [too_big[:7] + [2000]]).status_code == 200  # coarser: 26 bins
    # padding counts: 50 bins + 10 % is 56
    assert "SNIPPET_MAT_MAX_DATA_DIM" in error_of(post(anon_client, [ok], "?pd=10"))


def test_request_limits(hic, anon_client, monkeypatch):
    hic("hic")
    many = [LOCUS + ["hic", 0, 1]] * (service.MAX_LOCI + 1)
    assert "Too many loci" in error_of(post(anon_client, many))
    monkeypatch.setattr(service, "MAX_OUTPUT_CELLS", 3 * 22 * 22)
    assert post(anon_client, [LOCUS + ["hic", 0]] * 3).status_code == 200
    assert "output pixels" in error_of(post(anon_client, [LOCUS + ["hic", 0]] * 4))
    monkeypatch.setattr(service, "MAX_DATA_CELLS", 3 * 22 * 22)
    assert post(anon_client, [LOCUS + ["hic", 0]] * 3).status_code == 200
    message = error_of(post(anon_client, [LOCUS + ["hic", 0, 10]] * 4 + [LOCUS + ["hic", 0, 10]]))
    assert message.startswith("Snippet too large") and "per request" in message


PROBE = """
import django, json
django.setup()
from django.conf import settings as s
from higlass_server.exceptions import ServiceError
from fragments import service
result = {"out": s.SNIPPET_MAT_MAX_OUT_DIM, "data": s.SNIPPET_MAT_MAX_DATA_DIM}
try:
    service._check_out_dims([{"dims": 9}])
except ServiceError as exc:
    result["error"] = exc.message
print(json.dumps(result))
"""


@pytest.mark.parametrize("environ,config", [
    ({"SNIPPET_HIC_MAX_OUT_DIM": "8"}, {"SNIPPET_HIC_MAX_DATA_DIM": 100}),
    ({}, {"SNIPPET_MAT_MAX_OUT_DIM": 8, "SNIPPET_MAT_MAX_DATA_DIM": 100}),
    ({"SNIPPET_MAT_MAX_OUT_DIM": "8", "SNIPPET_HIC_MAX_DATA_DIM": "100"}, {}),
])
def test_limits_come_from_either_spelling(tmp_path, environ, config):
    (tmp_path / "config.json").write_text(json.dumps(config))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SNIPPET_")}
    env.update(environ, BASE_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="higlass_server.settings")
    run = subprocess.run([sys.executable, "-c", PROBE], env=env, cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert (result["out"], result["data"]) == (8, 100)
    assert "SNIPPET_MAT_MAX_OUT_DIM (8)" in result["error"]
