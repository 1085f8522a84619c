"""Hardening: JSON nested far too deeply, and search texts far too long, are bad input (400 with
the API's error body), never a server error."""

import json

import pytest

from higlass_server.values import MAX_JSON_DEPTH, parse_json

DEEP = "[" * 1000 + "]" * 1000
DEEP_OBJECT = '{"a":' * 1000 + "1" + "}" * 1000


@pytest.mark.parametrize("text", [DEEP, DEEP_OBJECT, "[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1)])
def test_parse_json_refuses_deep_documents(text):
    with pytest.raises(ValueError):
        parse_json(text)


def test_parse_json_takes_documents_up_to_the_limit():
    text = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    assert parse_json(text) is not None


def _is_bad_input(response):
    assert response.status_code == 400, (response.status_code, response.content[:200])
    body = response.json()
    assert body["error"] and body["code"] == "InvalidInput"
    return body


@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT])
def test_deep_json_is_400_on_every_json_endpoint(body, owner, owner_client, make_tileset):
    tileset = make_tileset("deep1", owner=owner)
    for path in ("/api/v1/tiles/", "/api/v1/viewconfs/", "/api/v1/fragments_by_loci/"):
        _is_bad_input(owner_client.post(path, body, content_type="application/json"))
    _is_bad_input(owner_client.patch(f"/api/v1/tilesets/{tileset.uuid}/", body, content_type="application/json"))
    response = owner_client.post("/api/v1/htsget/reads/deep1", body, content_type="application/json")
    assert response.status_code == 400 and response.json()["htsget"]["error"] == "InvalidInput"


def test_search_texts_are_bounded(anon_client, make_tileset):
    make_tileset("named1", name="abc")
    long = "a" * 50_000
    for path in (f"/api/v1/tilesets/?ac={long}", f"/api/v1/uids_by_filename/?d={long}"):
        body = _is_bad_input(anon_client.get(path))
        assert "longer than" in body["error"]
    assert anon_client.get("/api/v1/tilesets/?ac=" + "a" * 1000).status_code == 200
    assert json.loads(anon_client.get("/api/v1/tilesets/?ac=ab").content)["count"] == 1
