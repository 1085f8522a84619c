"""chrom-sizes, available-chrom-sizes, viewconfs and uids_by_filename."""

import json

import pytest

from tilesets.models import ViewConf

pytestmark = pytest.mark.django_db

ROWS = [("chr1", 1000), ("chr2", 800), ("chrX", 500)]


@pytest.fixture
def sizes(make_tileset):
    return make_tileset("cs-hgS", rows=ROWS)


# --- chrom-sizes ---------------------------------------------------------------------------


def test_chrom_sizes_tsv(anon_client, sizes):
    for url in ("/api/v1/chrom-sizes/?id=cs-hgS", "/api/v1/chrom-sizes?id=cs-hgS&type=tsv"):
        response = anon_client.get(url)
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/plain")
        assert response.content == b"chr1\t1000\nchr2\t800\nchrX\t500\n"


def test_chrom_sizes_tsv_cumulative(anon_client, sizes):
    response = anon_client.get("/api/v1/chrom-sizes/?id=cs-hgS&cum=1")
    assert response.status_code == 200
    assert response.content == b"chr1\t1000\t0\nchr2\t800\t1000\nchrX\t500\t1800\n"


def test_chrom_sizes_json(anon_client, sizes):
    response = anon_client.get("/api/v1/chrom-sizes/?id=cs-hgS&type=json")
    assert response.status_code == 200
    assert response.json() == {"chr1": {"size": 1000}, "chr2": {"size": 800}, "chrX": {"size": 500}}
    assert list(response.json()) == ["chr1", "chr2", "chrX"]
    cumulative = anon_client.get("/api/v1/chrom-sizes/?id=cs-hgS&type=json&cum=1").json()
    assert cumulative == {
        "chr1": {"size": 1000, "offset": 0},
        "chr2": {"size": 800, "offset": 1000},
        "chrX": {"size": 500, "offset": 1800},
    }
    assert "offset" not in anon_client.get("/api/v1/chrom-sizes/?id=cs-hgS&type=json&cum=0").json()["chr1"]


@pytest.mark.parametrize(
    "query, status",
    [("", 400), ("?id=", 400), ("?id=nope", 404), ("?id=cs-hgS&type=xml", 400), ("?id=cs-hgS&cum=maybe", 400)],
)
def test_chrom_sizes_bad_input(anon_client, sizes, query, status):
    response = anon_client.get("/api/v1/chrom-sizes/" + query)
    assert response.status_code == status
    assert response["Content-Type"] == "application/json" and "error" in response.json()


def test_chrom_sizes_of_a_filetype_without_sizes(anon_client, make_tileset):
    make_tileset("weird", filetype="xxxyx", strict_filetype=False)
    response = anon_client.get("/api/v1/chrom-sizes/?id=weird")
    assert response.status_code == 400 and "no chromosome sizes" in response.json()["error"]


def test_available_chrom_sizes(anon_client, sizes, make_tileset, owner):
    make_tileset("not-sizes", datatype="vector")
    make_tileset("mine", owner=owner, private=True)
    body = anon_client.get("/api/v1/available-chrom-sizes/").json()
    assert body["count"] == 1 and [t["uuid"] for t in body["results"]] == ["cs-hgS"]
    assert anon_client.get("/api/v1/available-chrom-sizes").status_code == 200


# --- viewconfs -----------------------------------------------------------------------------


def test_viewconf_round_trip(anon_client):
    document = {"editable": True, "views": [{"uid": "v1", "tracks": {}}], "unicode": "é"}
    response = anon_client.post("/api/v1/viewconfs/", {"uid": "123", "viewconf": document}, format="json")
    assert response.status_code == 201 and response.json() == {"uid": "123"}
    for url in ("/api/v1/viewconfs/?d=123", "/api/v1/viewconfs?d=123", "/api/v1/viewconf/?d=123"):
        assert anon_client.get(url).json() == document
    assert ViewConf.objects.get(uuid="123").higlassVersion == ""


def test_viewconf_generated_uid_and_version(anon_client):
    body = {"viewconf": {"a": 1}, "higlassVersion": "1.11.3"}
    uid = anon_client.post("/api/v1/viewconfs/", body, format="json").json()["uid"]
    assert len(uid) == 22 and ViewConf.objects.get(uuid=uid).higlassVersion == "1.11.3"


def test_viewconf_duplicate_uid(anon_client):
    assert anon_client.post("/api/v1/viewconfs/", {"uid": "dupe", "viewconf": {"a": 1}}, format="json").status_code == 201
    response = anon_client.post("/api/v1/viewconfs/", {"uid": "dupe", "viewconf": {"b": 2}}, format="json")
    assert response.status_code == 400 and response.json()["error"] == "Object with uid dupe already exists"
    assert json.loads(ViewConf.objects.get(uuid="dupe").viewconf) == {"a": 1}


@pytest.mark.parametrize(
    "body", ["not json", "[1, 2]", '"text"', '{"uid": "x"}', '{"viewconf": [1]}', '{"viewconf": "x"}']
)
def test_viewconf_bad_bodies(anon_client, body):
    response = anon_client.post("/api/v1/viewconfs/", body, content_type="application/json")
    assert response.status_code == 400 and "error" in response.json()
    assert not ViewConf.objects.exists()


def test_viewconf_get_errors(anon_client):
    missing = anon_client.get("/api/v1/viewconfs/")
    assert missing.status_code == 400 and "not specified" in missing.json()["error"]
    unknown = anon_client.get("/api/v1/viewconfs/?d=nope")
    assert unknown.status_code == 404 and unknown.json()["error"] == "View config not found"
    assert anon_client.get("/api/v1/viewconfXYZ/?d=nope").status_code == 404


def test_viewconf_upload_rules(anon_client, owner_client, settings):
    body = {"viewconf": {"a": 1}}
    settings.PUBLIC_UPLOAD_ENABLED = False
    response = anon_client.post("/api/v1/viewconfs/", body, format="json")
    assert response.status_code == 401 and "Public uploads disabled" in response.json()["error"]
    assert owner_client.post("/api/v1/viewconfs/", body, format="json").status_code == 201
    settings.UPLOAD_ENABLED = False
    for client in (anon_client, owner_client):
        response = client.post("/api/v1/viewconfs/", body, format="json")
        assert response.status_code == 403 and response.json()["error"] == "Uploads disabled."
    settings.PUBLIC_UPLOAD_ENABLED = True
    assert anon_client.post("/api/v1/viewconfs/", body, format="json").status_code == 403


# --- uids_by_filename ----------------------------------------------------------------------


def test_uids_by_filename(anon_client, make_tileset):
    make_tileset("f1")  # stored as uploads/f1-1.tsv
    make_tileset("g1")
    body = anon_client.get("/api/v1/uids_by_filename/?d=f1-1.tsv").json()
    assert body["count"] == 1 and body["results"][0]["uuid"] == "f1"
    assert anon_client.get("/api/v1/uids_by_filename/?d=xf1-1.tsv").json()["count"] == 0
    assert anon_client.get("/api/v1/uids_by_filename/").status_code == 400
