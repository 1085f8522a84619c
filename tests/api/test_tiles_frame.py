"""/api/v1/tileset_info/ and /api/v1/tiles/: the frame every filetype shares (ids, limits, POST bodies,
per-tileset and per-tile errors, visibility)."""

import json
from pathlib import Path

import pytest

from tilesets import generators
from tilesets.generators.base import Generator
from tilesets.tiles import parse_tile_id

pytestmark = pytest.mark.django_db


def test_tileset_info_chromsizes_exact_json(anon_client, make_tileset):
    make_tileset("cs", rows=[("chr1", 1000), ("chr2", 800)], coordSystem="hgS", name="Chromosomes")
    response = anon_client.get("/api/v1/tileset_info/?d=cs")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert response.content == (
        b'{"cs": {"chromsizes": [["chr1", 1000], ["chr2", 800]], "name": "Chromosomes", '
        b'"datatype": "chromsizes", "coordSystem": "hgS", "coordSystem2": ""}}'
    )


def test_tileset_info_reads_its_own_file_not_the_coordsystem_neighbour(anon_client, make_tileset):
    make_tileset("a", rows=[("chrA", 10)], coordSystem="same")
    make_tileset("b", rows=[("chrB", 20)], coordSystem="same")
    info = anon_client.get("/api/v1/tileset_info/?d=a&d=b").json()
    assert info["a"]["chromsizes"] == [["chrA", 10]] and info["b"]["chromsizes"] == [["chrB", 20]]


def test_tileset_info_per_uid_entries(anon_client, make_tileset, owner):
    make_tileset("ok")
    make_tileset("secret", owner=owner, private=True)
    make_tileset("weird", filetype="xxxyx", strict_filetype=False, datatype=None)
    response = anon_client.get("/api/v1/tileset_info/?d=nope&d=ok&d=secret&d=weird&d=osm-image&d=ok")
    info = response.json()
    assert list(info) == ["nope", "ok", "secret", "weird", "osm-image"]
    assert info["nope"] == {"error": "No such tileset with uid: nope"}
    assert info["secret"] == {"error": "No such tileset with uid: secret"}  # invisible = unknown
    assert info["weird"] == {
        "error": "Unknown filetype xxxyx", "name": info["weird"]["name"], "datatype": None,
        "coordSystem": "hgS", "coordSystem2": "",
    }
    assert info["osm-image"] == {
        "min_x": 0, "max_height": 134217728, "min_y": 0, "max_y": 134217728, "max_zoom": 19, "tile_size": 256,
    }
    assert anon_client.get("/api/v1/tileset_info/").json() == {}
    assert anon_client.get("/api/v1/tileset_info/?d=ok&cs=1&ci=x").status_code == 200


def test_tileset_info_unreadable_file_fails_only_its_entry(anon_client, make_tileset, media):
    broken = make_tileset("broken")
    make_tileset("fine")
    Path(media, broken.datafile.name).write_bytes(b"\xff\xfe garbage")
    info = anon_client.get("/api/v1/tileset_info/?d=broken&d=fine").json()
    assert info["broken"]["error"].startswith("Unable to read tileset broken")
    assert str(media) not in info["broken"]["error"]
    assert "chromsizes" in info["fine"]
    Path(media, broken.datafile.name).unlink()
    assert "error" in anon_client.get("/api/v1/tileset_info/?d=broken").json()["broken"]


# --- tiles ---------------------------------------------------------------------------------


@pytest.fixture
def toy_generator(monkeypatch):
    """A 1-D filetype that serves constant tiles, and fails for x == 13: exercises the frame."""

    def tiles(source, requests, options):
        if any(r.coords[0] == 13 for r in requests):
            raise RuntimeError("boom")
        text = Path(source.datafile).read_text()[:4]
        return {r.id: {"z": r.zoom, "x": r.coords[0], "extra": list(r.extra), "head": text, "options": options}
                for r in requests if r.coords[0] != 99}

    toy = Generator(filetype="toy", validate=lambda path, index: None, tiles=tiles)
    monkeypatch.setitem(generators.REGISTRY, "toy", toy)
    return toy


def test_tiles_frame(anon_client, make_tileset, toy_generator, owner):
    make_tileset("t", filetype="toy", strict_filetype=False)
    make_tileset("cs")
    make_tileset("hidden", filetype="toy", strict_filetype=False, owner=owner, private=True)
    ids = ["t.1.2", "t.1.2", "t.3.4.max", "t.0.99", "cs.0.0", "nope.0.0", "t.x.1", "t", "", "hidden.0.0", "t.1"]
    response = anon_client.get("/api/v1/tiles/", {"d": ids})
    assert response.status_code == 200
    tiles = response.json()
    assert tiles["t.1.2"] == {"z": 1, "x": 2, "extra": [], "head": "chr1", "options": None}
    assert tiles["t.3.4.max"]["extra"] == ["max"]
    assert "t.0.99" not in tiles  # not produced: absent
    assert tiles["cs.0.0"] == {"error": "Unknown tileset filetype: chromsizes-tsv"}
    assert tiles["nope.0.0"] == {"error": "No such tileset with uid: nope"}
    for bad in ("t.x.1", "t", "", "t.1"):
        assert tiles[bad]["error"].startswith("Malformed tile id"), bad
    assert tiles["hidden.0.0"] == {"error": "No such tileset with uid: hidden"}  # invisible = unknown
    assert len(tiles) == 9


def test_tiles_failing_generator_fails_only_its_tileset(anon_client, make_tileset, toy_generator):
    make_tileset("t", filetype="toy", strict_filetype=False)
    make_tileset("u", filetype="toy", strict_filetype=False)
    tiles = anon_client.get("/api/v1/tiles/?d=t.0.13&d=t.0.1&d=u.0.1").json()
    assert tiles["t.0.13"] == tiles["t.0.1"] == {"error": "Unable to read tileset t as toy."}
    assert tiles["u.0.1"]["x"] == 1


def test_tiles_without_d_and_without_slash(anon_client):
    assert anon_client.get("/api/v1/tiles/").json() == {}
    assert anon_client.get("/api/v1/tiles").json() == {}


def test_tiles_limit(anon_client, make_tileset, toy_generator):
    make_tileset("t", filetype="toy", strict_filetype=False)
    ok = anon_client.get("/api/v1/tiles/", {"d": [f"t.0.{i}" for i in range(1000)] + ["t.0.0"]})
    assert ok.status_code == 200 and len(ok.json()) == 1000
    too_many = anon_client.get("/api/v1/tiles/", {"d": [f"t.0.{i}" for i in range(1001)]})
    assert too_many.status_code == 400
    assert too_many.json()["error"] == "Too many tiles were requested."
    body = [{"tilesetUid": "t", "tileIds": [f"0.{i}" for i in range(1001)]}]
    assert anon_client.post("/api/v1/tiles/", body, format="json").status_code == 400


def test_tiles_get_with_very_many_fields_is_json_400(anon_client):
    query = "&".join(f"d=t.0.{i}" for i in range(12000))
    response = anon_client.get("/api/v1/tiles/?" + query)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert "error" in response.json()


def test_tiles_post(anon_client, make_tileset, toy_generator):
    make_tileset("t", filetype="toy", strict_filetype=False)
    options = {"aggGroups": [[1, 2, 3], [0, 4, 9, 11], 5], "aggFunc": "sum"}
    body = [{"tilesetUid": "t", "tileIds": ["6.0", "6.1"], "options": options}, {"tilesetUid": "nope", "tileIds": ["0.0"]}]
    response = anon_client.post("/api/v1/tiles/?d=t.9.9", body, format="json")
    assert response.status_code == 200
    tiles = response.json()
    assert set(tiles) == {"t.6.0", "t.6.1", "nope.0.0"}
    assert tiles["t.6.0"]["options"] == options


@pytest.mark.parametrize(
    "body, message",
    [
        ("not json", "Unable to parse request body as JSON."),
        ("{}", "Invalid request body: {} is not of type 'array'."),
        ('[{"tilesetUid": "t"}]', "Invalid request body: 'tileIds' is a required property."),
        ('[{"tilesetUid": "t", "tileIds": [1]}]', "Invalid request body: 1 is not of type 'string'."),
        (
            '[{"tilesetUid": "t", "tileIds": ["0.0"], "options": {"aggGroups": [[0]], "aggFunc": "avg"}}]',
            "Invalid request body: 'avg' is not one of ['sum', 'mean', 'median', 'std', 'var', 'min', 'max'].",
        ),
        (
            '[{"tilesetUid": "t", "tileIds": ["0.0"], "options": {"aggGroups": [[0]], "aggFunc": "sum", "x": 1}}]',
            "Invalid request body: Additional properties are not allowed ('x' was unexpected).",
        ),
    ],
)
def test_tiles_post_bad_bodies(anon_client, body, message):
    response = anon_client.post("/api/v1/tiles/", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"] == message


def test_tiles_post_too_large_is_413(anon_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = json.dumps([{"tilesetUid": "t", "tileIds": ["0.0"] * 500}])
    response = anon_client.post("/api/v1/tiles/", body, content_type="application/json")
    assert response.status_code == 413 and "error" in response.json()


def test_parse_tile_id():
    request = parse_tile_id("abc.3.4.5.KR", 2)
    assert (request.uid, request.zoom, request.coords, request.extra) == ("abc", 3, (4, 5), ("KR",))
    assert parse_tile_id("abc.007.1", 1).zoom == 7
    for bad, dims in (("abc.1", 1), ("abc.1.2", 2), ("abc.-1.2", 1), ("abc.1.x", 1), ("a/b.1.2", 1)):
        with pytest.raises(ValueError):
            parse_tile_id(bad, dims)


def test_tiles_answer_bytes_equal_plain_json():
    from tilesets.views import tiles_answer

    tiles = {
        "a.0.0.0": {"min_value": 0.0, "max_value": 2.5, "dense": "AAAAPwAAgD8=", "size": 1, "dtype": "float32"},
        "b.1.2": {"dense": "AD4AQA==", "dtype": "float16", "shape": [1, 2]},
        "c.0.0": [{"uid": "x", "fields": ["chr1", "é \"q\""], "importance": 1.0}],
        "d.0.0": {"error": "No such tileset with uid: d"},
        "e.0.0": {"dense": "", "dtype": "float32", "min_value": "NaN", "max_value": "NaN", "size": 1},
    }
    assert tiles_answer(tiles).content == json.dumps(tiles).encode()
    assert tiles["a.0.0.0"]["dense"] == "AAAAPwAAgD8="  # the caller's tiles are not changed
