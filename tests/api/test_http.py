"""HTTP conventions: JSON errors, CORS, the admin, APP_BASEPATH."""

import pytest
from django.test import Client

from tests.builders.helpers import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("debug", [False, True])
def test_unknown_api_paths_are_json_404(anon_client, settings, debug):
    settings.DEBUG = debug
    for url in ("/api/v1/nothing/", "/api/v1/tilesets/a/b/c/", "/api/v1/projects/"):
        response = anon_client.get(url)
        assert response.status_code == 404
        assert response["Content-Type"] == "application/json"
        assert response.json() == {"error": f"Not found: {url}", "code": "NotFound"}


def test_wrong_method_is_json_405(anon_client, owner_client):
    for client, method, url in [
        (owner_client, "delete", "/api/v1/tilesets/"),
        (anon_client, "post", "/api/v1/tileset_info/"),
        (anon_client, "delete", "/api/v1/chrom-sizes/?id=x"),
        (anon_client, "put", "/api/v1/viewconfs/"),
    ]:
        response = getattr(client, method)(url)
        assert response.status_code == 405, url
        assert response.json()["code"] == "MethodNotAllowed" and "error" in response.json()


def test_unexpected_failure_is_json_500_without_traceback(anon_client, monkeypatch, settings):
    import tilesets.tiles

    settings.DEBUG = True

    def broken(uids, user):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(tilesets.tiles, "tileset_infos", broken)
    response = anon_client.get("/api/v1/tileset_info/?d=x")
    assert response.status_code == 500
    assert response.json() == {"error": "Internal server error.", "code": "ServerError"}
    assert b"secret internals" not in response.content and b"Traceback" not in response.content


def test_cors_preflight_and_answers(anon_client, make_tileset):
    make_tileset("c1")
    preflight = anon_client.options(
        "/api/v1/tiles/",
        HTTP_ORIGIN="http://127.0.0.1:9999",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type,authorization",
    )
    assert preflight.status_code == 200
    assert preflight["Access-Control-Allow-Origin"] == "*"
    allowed = preflight["Access-Control-Allow-Headers"]
    assert "content-type" in allowed and "authorization" in allowed
    assert "POST" in preflight["Access-Control-Allow-Methods"]
    for url in ("/api/v1/tilesets/", "/api/v1/tileset_info/?d=c1", "/api/v1/chrom-sizes/?id=c1", "/api/v1/nope/"):
        assert anon_client.get(url, HTTP_ORIGIN="http://127.0.0.1:9999")["Access-Control-Allow-Origin"] == "*"


def test_index_page(anon_client):
    body = anon_client.get("/").json()
    assert body["tilesets"] == "/api/v1/tilesets/"


def test_admin_curation(admin_user, make_tileset, owner):
    make_tileset("adm1", name="alpha", owner=owner)
    make_tileset("adm2", name="beta", datatype="vector")
    assert Client().get("/admin/tilesets/tileset/").status_code == 302  # to the login page
    client = Client()
    assert client.login(username=admin_user.username, password=PASSWORD)
    listing = client.get("/admin/tilesets/tileset/")
    assert listing.status_code == 200 and b"adm1" in listing.content and b"adm2" in listing.content
    searched = client.get("/admin/tilesets/tileset/?q=alpha")
    assert b"adm1" in searched.content and b"adm2" not in searched.content
    filtered = client.get("/admin/tilesets/tileset/?datatype=vector")
    assert b"adm2" in filtered.content and b"adm1" not in filtered.content
    from tilesets.models import Tileset

    pk = Tileset.objects.get(uuid="adm1").pk
    assert client.get(f"/admin/tilesets/tileset/{pk}/change/").status_code == 200
    assert client.get(f"/admin/tilesets/tileset/{pk}/permissions/").status_code == 200  # guardian sharing
    for page in ("/admin/tilesets/project/", "/admin/tilesets/viewconf/"):
        assert client.get(page).status_code == 200


def test_app_basepath_with_and_without_the_prefix(settings, make_tileset):
    make_tileset("bp1")
    settings.APP_BASEPATH = "/hg"
    settings.FORCE_SCRIPT_NAME = "/hg"
    client = Client()
    for url in ("/hg/api/v1/tilesets/bp1/", "/api/v1/tilesets/bp1/"):
        assert client.get(url).status_code == 200, url
    assert client.get("/hg/admin/").status_code == 302
    assert "next=/hg/admin/" in client.get("/hg/admin/")["Location"]


@pytest.mark.django_db(transaction=True)
def test_admin_delete_removes_owned_files(admin_user, make_tileset, media):
    from tilesets.models import Tileset

    tileset = make_tileset("gone")
    stored = media / tileset.datafile.name
    client = Client()
    client.login(username=admin_user.username, password=PASSWORD)
    response = client.post(
        "/admin/tilesets/tileset/", {"action": "delete_selected", "_selected_action": [tileset.pk], "post": "yes"}
    )
    assert response.status_code == 302
    assert not Tileset.objects.exists() and not stored.exists()


def test_admin_without_slash_redirects():
    response = Client().get("/admin")
    assert response.status_code == 302 and response["Location"].endswith("admin/")
