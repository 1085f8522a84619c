"""/api/v1/tilesets/: list, filters, ordering, paging, detail, upload, PATCH, DELETE."""

import os
from pathlib import Path

import pytest

from tests.builders.helpers import HG_SMALL, uploads, write_chromsizes
from tilesets.models import Project, Tileset

pytestmark = pytest.mark.django_db

PUBLIC_KEYS = [
    "uuid", "datafile", "filetype", "datatype", "private", "name", "coordSystem", "coordSystem2",
    "created", "owner", "project", "project_name", "project_owner", "description",
]


def upload(client, path, **fields):
    data = {"filetype": "chromsizes-tsv", "datatype": "chromsizes", "coordSystem": "hgS", **fields}
    with open(path, "rb") as handle:
        data["datafile"] = handle
        return client.post("/api/v1/tilesets/", data, format="multipart")


# --- list ----------------------------------------------------------------------------------


def test_list_answers_with_and_without_slash(anon_client, make_tileset):
    make_tileset("a1")
    for url in ("/api/v1/tilesets/", "/api/v1/tilesets"):
        response = anon_client.get(url)
        assert response.status_code == 200
        body = response.json()
        assert body["count"] == 1 and body["next"] is None and body["previous"] is None
        assert list(body["results"][0]) == PUBLIC_KEYS


def test_list_filters_by_filetype_datatype_and_name(anon_client, make_tileset):
    make_tileset("a1", name="tr1 one", datatype="one")
    make_tileset("a2", name="tr2 two", datatype="two")
    make_tileset("a3", name="three", datatype="three", filetype="xxxyx", strict_filetype=False)

    def uuids(query):
        return sorted(t["uuid"] for t in anon_client.get("/api/v1/tilesets/" + query).json()["results"])

    assert uuids("?t=xxxyx") == ["a3"]
    assert uuids("?t=cooler") == []
    assert uuids("?dt=one") == ["a1"]
    assert uuids("?dt=one&dt=two") == ["a1", "a2"]
    assert uuids("?ac=tr2") == ["a2"]
    assert uuids("?ac=TR") == ["a1", "a2"]  # case-insensitive
    assert uuids("?q=ignored&d=ignored") == ["a1", "a2", "a3"]


def test_list_ordering_is_case_insensitive_and_reversible(anon_client, make_tileset):
    for uid, name in [("u3", "x"), ("u1", "t"), ("u5", "Z"), ("u2", "v"), ("u4", "nuhr")]:
        make_tileset(uid, name=name)

    def names(query):
        return [t["name"] for t in anon_client.get("/api/v1/tilesets/" + query).json()["results"]]

    assert names("?o=name") == ["nuhr", "t", "v", "x", "Z"]
    assert names("?o=name&r=1") == ["Z", "x", "v", "t", "nuhr"]
    assert names("?o=NAME&r=0") == ["nuhr", "t", "v", "x", "Z"]
    uids = [t["uuid"] for t in anon_client.get("/api/v1/tilesets/?o=uuid").json()["results"]]
    assert uids == ["u1", "u2", "u3", "u4", "u5"]
    assert [t["uuid"] for t in anon_client.get("/api/v1/tilesets/").json()["results"]] == ["u3", "u1", "u5", "u2", "u4"]


def test_list_unknown_ordering_field_is_400(anon_client):
    response = anon_client.get("/api/v1/tilesets/?o=bogus")
    assert response.status_code == 400
    assert "bogus" in response.json()["error"]


def test_list_pagination(anon_client, make_tileset):
    for i in range(12):
        make_tileset(f"p{i:02d}")
    body = anon_client.get("/api/v1/tilesets/").json()
    assert body["count"] == 12 and len(body["results"]) == 10
    assert "limit=10" in body["next"] and "offset=10" in body["next"]
    page = anon_client.get("/api/v1/tilesets/?limit=5&offset=10").json()
    assert [t["uuid"] for t in page["results"]] == ["p10", "p11"]
    assert page["next"] is None and "offset=5" in page["previous"]
    for query in ("limit=10000", "limit=100000", "limit=99999999999999999999", "offset=99999999999999999999"):
        response = anon_client.get("/api/v1/tilesets/?" + query)
        assert response.status_code == 200, query
    assert len(anon_client.get("/api/v1/tilesets/?limit=10000").json()["results"]) == 12
    assert len(anon_client.get("/api/v1/tilesets/?limit=abc&offset=-3").json()["results"]) == 10


def test_head_and_options(anon_client, make_tileset):
    make_tileset("h1")
    assert anon_client.head("/api/v1/tilesets/").status_code == 200
    assert anon_client.head("/api/v1/tilesets/h1/").status_code == 200
    assert anon_client.options("/api/v1/tilesets/").status_code == 200


# --- detail --------------------------------------------------------------------------------


def test_detail_has_the_public_shape_without_server_paths(anon_client, make_tileset, owner, media):
    tileset = make_tileset("d1", owner=owner, project_name="Exp 3", description="hello")
    for url in ("/api/v1/tilesets/d1/", "/api/v1/tilesets/d1"):
        body = anon_client.get(url).json()
        assert list(body) == PUBLIC_KEYS
        assert body["owner"] == "owner"
        assert body["project"] == tileset.project.uuid
        assert body["project_name"] == "Exp 3"
        assert body["project_owner"] == "owner"
        assert body["datafile"] == os.path.basename(tileset.datafile.name)
        assert str(media) not in str(body) and "uploads/" not in str(body)
        assert body["created"].endswith("Z")


def test_detail_unknown_is_json_404(anon_client):
    response = anon_client.get("/api/v1/tilesets/nope/")
    assert response.status_code == 404
    assert response.json()["error"] == "Unable to locate tileset instance for uuid: nope"


# --- upload --------------------------------------------------------------------------------


def test_seed_upload_example(owner_client, chromsizes_file, media, owner):
    response = upload(owner_client, chromsizes_file, coordSystem="mm10", name="Chromosomes (mm10)")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["name"] == "Chromosomes (mm10)" and body["uuid"] and body["owner"] == "owner"
    tileset = Tileset.objects.get(uuid=body["uuid"])
    assert tileset.owns_file and tileset.owner == owner and not tileset.private
    assert uploads(media) == [body["datafile"]] == ["small.chrom.sizes"]
    # guardian permissions for the owner
    assert all(owner.has_perm(f"tilesets.{p}", tileset) for p in ("read", "write", "admin"))
    # the same name again gets its own stored copy
    second = upload(owner_client, chromsizes_file).json()
    assert second["datafile"] != body["datafile"] and len(uploads(media)) == 2


def test_upload_fields(owner_client, chromsizes_file):
    project = Project.objects.create(name="P")
    body = upload(
        owner_client, chromsizes_file, uid="my-uid", private="true", coordSystem2="hgT",
        description="d", project=project.uuid,
    ).json()
    assert body["uuid"] == "my-uid" and body["private"] is True and body["coordSystem2"] == "hgT"
    assert body["project"] == project.uuid and body["name"] == "small.chrom.sizes"
    body = upload(owner_client, chromsizes_file, project_name="New project").json()
    assert body["project_name"] == "New project" and Project.objects.filter(name="New project").exists()


def test_upload_without_name_or_datatype_defaults(owner_client, chromsizes_file):
    with open(chromsizes_file, "rb") as handle:
        response = owner_client.post(
            "/api/v1/tilesets/", {"datafile": handle, "filetype": "chromsizes-tsv", "coordSystem": "x"},
            format="multipart",
        )
    assert response.status_code == 201
    assert response.json()["datatype"] == "unknown"


@pytest.mark.parametrize(
    "missing, field", [("filetype", "filetype"), ("coordSystem", "coordSystem"), ("datafile", "datafile")]
)
def test_upload_missing_fields_are_400(owner_client, chromsizes_file, media, missing, field):
    data = {"filetype": "chromsizes-tsv", "coordSystem": "hgS"}
    with open(chromsizes_file, "rb") as handle:
        data["datafile"] = handle
        data.pop(missing)
        response = owner_client.post("/api/v1/tilesets/", data, format="multipart")
    assert response.status_code == 400
    body = response.json()
    assert field in body["error"] and field in body["detail"]
    assert uploads(media) == [] and not Tileset.objects.exists()


def test_upload_taken_uid_is_400_and_stores_nothing(owner_client, chromsizes_file, make_tileset, media):
    make_tileset("taken")
    before = uploads(media)
    response = upload(owner_client, chromsizes_file, uid="taken")
    assert response.status_code == 400
    assert "already exists" in response.json()["error"]
    assert uploads(media) == before and Tileset.objects.count() == 1


@pytest.mark.parametrize("uid", ["has.dot", "sp ace", "x" * 101])
def test_upload_bad_uid_is_400(owner_client, chromsizes_file, media, uid):
    response = upload(owner_client, chromsizes_file, uid=uid)
    assert response.status_code == 400 and "uid" in response.json()["error"]
    assert uploads(media) == []


def test_upload_file_that_does_not_open_as_filetype(owner_client, outside, media):
    bad = outside / "bad.tsv"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00binary")
    response = upload(owner_client, bad)
    assert response.status_code == 400
    assert "does not open as chromsizes-tsv" in response.json()["error"]
    assert uploads(media) == [] and not Tileset.objects.exists()
    text = outside / "text.tsv"
    text.write_text("chr1\tnot-a-number\n")
    assert upload(owner_client, text).status_code == 400


def test_upload_unknown_filetype_is_accepted(owner_client, chromsizes_file, anon_client):
    response = upload(owner_client, chromsizes_file, filetype="xxxyx")
    assert response.status_code == 201
    assert anon_client.get("/api/v1/tilesets/?t=xxxyx").json()["count"] == 1


def test_upload_urlencoded_is_415(owner_client):
    response = owner_client.post(
        "/api/v1/tilesets/", "filetype=x", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 415
    assert "error" in response.json()


def test_upload_needs_authentication(anon_client, chromsizes_file, media):
    response = upload(anon_client, chromsizes_file)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Basic")
    assert uploads(media) == []


def test_upload_disabled(owner_client, admin_client_api, chromsizes_file, settings, media):
    settings.UPLOAD_ENABLED = False
    for client in (owner_client, admin_client_api):
        response = upload(client, chromsizes_file)
        assert response.status_code == 403
        assert response.json()["error"] == "Uploads disabled."
    assert uploads(media) == []


# --- PATCH / PUT ---------------------------------------------------------------------------


def test_patch_seed_example_and_editable_fields(owner_client, anon_client, make_tileset, owner):
    make_tileset("m1", owner=owner)
    project = Project.objects.create(name="Q")
    response = owner_client.patch("/api/v1/tilesets/m1/", {"name": "new_name_of_tileset"}, format="json")
    assert response.status_code == 200 and response.json()["name"] == "new_name_of_tileset"
    assert anon_client.get("/api/v1/tilesets/m1/").json()["name"] == "new_name_of_tileset"
    changes = {
        "description": "about", "datatype": "vector", "coordSystem": "hg19", "coordSystem2": "mm10",
        "private": True, "project": project.uuid,
    }
    body = owner_client.patch("/api/v1/tilesets/m1", changes, format="json").json()
    assert {key: body[key] for key in changes} == changes
    body = owner_client.patch("/api/v1/tilesets/m1/", {"project": None}, format="json").json()
    assert body["project"] is None
    # PUT behaves as a change of the given fields
    assert owner_client.put("/api/v1/tilesets/m1/", {"name": "put"}, format="json").json()["name"] == "put"


@pytest.mark.parametrize("field, value", [("uuid", "other-uid"), ("filetype", "cooler"), ("datafile", "x.tsv")])
def test_patch_cannot_change_identity(owner_client, make_tileset, owner, field, value):
    make_tileset("m2", owner=owner)
    response = owner_client.patch("/api/v1/tilesets/m2/", {field: value, "name": "n"}, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]
    tileset = Tileset.objects.get(uuid="m2")
    assert tileset.name != "n" and tileset.filetype == "chromsizes-tsv"
    # sending the current value is harmless
    assert owner_client.patch("/api/v1/tilesets/m2/", {"uuid": "m2", "name": "n"}, format="json").status_code == 200


def test_patch_bad_input(owner_client, make_tileset, owner):
    make_tileset("m3", owner=owner)
    response = owner_client.patch("/api/v1/tilesets/m3/", '{"name": ', content_type="application/json")
    assert response.status_code == 400 and "JSON" in response.json()["error"]
    response = owner_client.patch("/api/v1/tilesets/m3/", {"project": "no-such-project"}, format="json")
    assert response.status_code == 400 and "project" in response.json()["error"]
    response = owner_client.patch("/api/v1/tilesets/m3/", {"private": "maybe"}, format="json")
    assert response.status_code == 400
    assert owner_client.patch("/api/v1/tilesets/nope/", {"name": "x"}, format="json").status_code == 404


# --- DELETE --------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_delete_removes_row_and_owned_file(owner_client, make_tileset, owner, media):
    tileset = make_tileset("x1", owner=owner)
    stored = Path(media, tileset.datafile.name)
    assert stored.exists()
    response = owner_client.delete("/api/v1/tilesets/x1/")
    assert response.status_code == 204 and response.content == b""
    assert not Tileset.objects.filter(uuid="x1").exists()
    assert not stored.exists()


@pytest.mark.django_db(transaction=True)
def test_delete_keeps_files_the_server_does_not_own(owner_client, owner, media):
    from tilesets.ingest import ingest_tileset

    (media / "mine").mkdir()
    original = write_chromsizes(media / "mine" / "user.tsv")
    ingest_tileset(datafile=str(original), filetype="chromsizes-tsv", uid="nu", no_upload=True, owner=owner)
    assert owner_client.delete("/api/v1/tilesets/nu").status_code == 204
    assert original.exists() and original.read_text().startswith("chr1")


@pytest.mark.django_db(transaction=True)
def test_delete_with_missing_file_still_deletes_row(owner_client, make_tileset, owner, media):
    tileset = make_tileset("x2", owner=owner)
    Path(media, tileset.datafile.name).unlink()
    assert owner_client.delete("/api/v1/tilesets/x2/").status_code == 204
    assert not Tileset.objects.filter(uuid="x2").exists()
    assert owner_client.delete("/api/v1/tilesets/x2/").status_code == 404


def test_delete_of_other_upload_leaves_everything(other_client, make_tileset, owner, media):
    tileset = make_tileset("x3", owner=owner)
    assert other_client.delete("/api/v1/tilesets/x3/").status_code == 403
    assert Tileset.objects.filter(uuid="x3").exists() and Path(media, tileset.datafile.name).exists()


def test_rows_hold_the_chromsizes_uploaded(owner_client, outside):
    path = write_chromsizes(outside / "c.tsv", HG_SMALL)
    uid = upload(owner_client, path).json()["uuid"]
    info = owner_client.get(f"/api/v1/tileset_info/?d={uid}").json()[uid]
    assert info["chromsizes"] == [list(row) for row in HG_SMALL]
