"""The visibility and write rules across every endpoint, and the three ways to authenticate."""

import pytest
from django.test import Client
from guardian.shortcuts import assign_perm
from rest_framework.test import APIClient

from tests.builders.helpers import PASSWORD, basic, client_for
from tilesets.models import Tileset

pytestmark = pytest.mark.django_db

ROLES = ["anonymous", "other", "owner", "superuser"]
SEES_PRIVATE = {"anonymous": False, "other": False, "owner": True, "superuser": True}


@pytest.fixture
def clients(owner, other, admin_user):
    return {
        "anonymous": APIClient(),
        "other": client_for(other),
        "owner": client_for(owner),
        "superuser": client_for(admin_user),
    }


@pytest.fixture
def private(make_tileset, owner):
    return make_tileset("priv", owner=owner, private=True)


@pytest.fixture
def public(make_tileset, owner):
    return make_tileset("pub", owner=owner, private=False)


@pytest.mark.parametrize("role", ROLES)
def test_private_tileset_reads(role, clients, private, public):
    client, sees = clients[role], SEES_PRIVATE[role]

    listed = {t["uuid"] for t in client.get("/api/v1/tilesets/?limit=100").json()["results"]}
    assert listed == ({"priv", "pub"} if sees else {"pub"})

    assert client.get("/api/v1/tilesets/priv/").status_code == (200 if sees else 404)
    assert client.get("/api/v1/tilesets/pub/").status_code == 200

    info = client.get("/api/v1/tileset_info/?d=priv&d=pub").json()
    assert ("chromsizes" in info["priv"]) is sees
    if not sees:
        assert info["priv"] == {"error": "No such tileset with uid: priv"}  # as an unknown uid
    assert "chromsizes" in info["pub"]

    tiles = client.get("/api/v1/tiles/?d=priv.0.0&d=pub.0.0").json()
    assert (tiles["priv.0.0"] == {"error": "No such tileset with uid: priv"}) is not sees
    assert "pub.0.0" in tiles

    sizes = client.get("/api/v1/chrom-sizes/?id=priv&type=json")
    assert sizes.status_code == (200 if sees else 404)
    assert client.get("/api/v1/chrom-sizes/?id=pub").status_code == 200

    available = {t["uuid"] for t in client.get("/api/v1/available-chrom-sizes/").json()["results"]}
    assert ("priv" in available) is sees

    by_name = {t["uuid"] for t in client.get("/api/v1/uids_by_filename/?d=priv").json()["results"]}
    assert ("priv" in by_name) is sees


WRITE_ON_PRIVATE = {"anonymous": 401, "other": 404, "owner": 200, "superuser": 200}
WRITE_ON_PUBLIC = {"anonymous": 401, "other": 403, "owner": 200, "superuser": 200}


@pytest.mark.parametrize("role", ROLES)
def test_patch(role, clients, private, public):
    for uid, expected in (("priv", WRITE_ON_PRIVATE[role]), ("pub", WRITE_ON_PUBLIC[role])):
        response = clients[role].patch(f"/api/v1/tilesets/{uid}/", {"name": f"by-{role}"}, format="json")
        assert response.status_code == expected, (uid, response.content)
        assert ("error" in response.json()) is (expected != 200)
        renamed = Tileset.objects.get(uuid=uid).name == f"by-{role}"
        assert renamed is (expected == 200)
        if expected == 401:
            assert response["WWW-Authenticate"] == 'Basic realm="api"'


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("role", ROLES)
def test_delete(role, clients, private, public):
    for uid, expected in (("priv", WRITE_ON_PRIVATE[role]), ("pub", WRITE_ON_PUBLIC[role])):
        response = clients[role].delete(f"/api/v1/tilesets/{uid}/")
        expected = 204 if expected == 200 else expected
        assert response.status_code == expected, (uid, response.content)
        assert Tileset.objects.filter(uuid=uid).exists() is (expected != 204)


def test_ownerless_tilesets_are_changed_by_superusers_only(make_tileset, clients):
    make_tileset("cli")  # as ingested from the command line: no owner
    assert clients["owner"].patch("/api/v1/tilesets/cli/", {"name": "x"}, format="json").status_code == 403
    assert clients["superuser"].patch("/api/v1/tilesets/cli/", {"name": "x"}, format="json").status_code == 200


def test_upload_disabled_blocks_writes_for_everybody(settings, clients, public):
    settings.UPLOAD_ENABLED = False
    for role in ("owner", "superuser"):
        assert clients[role].patch("/api/v1/tilesets/pub/", {"name": "x"}, format="json").status_code == 403
        assert clients[role].delete("/api/v1/tilesets/pub/").status_code == 403
    assert clients["anonymous"].get("/api/v1/tilesets/pub/").status_code == 200


def test_guardian_permissions_share_and_delegate(private, public, other, clients):
    # read on a private tileset makes it visible everywhere
    assign_perm("read", other, private)
    assert clients["other"].get("/api/v1/tilesets/priv/").status_code == 200
    assert "chromsizes" in clients["other"].get("/api/v1/tileset_info/?d=priv").json()["priv"]
    assert clients["other"].patch("/api/v1/tilesets/priv/", {"name": "x"}, format="json").status_code == 403
    # write lets another user change it
    assign_perm("write", other, public)
    assert clients["other"].patch("/api/v1/tilesets/pub/", {"name": "shared"}, format="json").status_code == 200


def test_group_permissions(private, other, clients):
    from django.contrib.auth.models import Group

    group = Group.objects.create(name="lab")
    other.groups.add(group)
    assign_perm("read", group, private)
    assert clients["other"].get("/api/v1/tilesets/priv/").status_code == 200


def test_owner_gets_guardian_permissions_on_upload(private, owner, other):
    assert {p for p in ("read", "write", "admin") if owner.has_perm(f"tilesets.{p}", private)} == {"read", "write", "admin"}
    assert not other.has_perm("tilesets.read", private)


# --- authentication ------------------------------------------------------------------------


def test_token_authentication(owner, private, token_for):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(owner)}")
    assert client.get("/api/v1/tilesets/priv/").status_code == 200
    assert client.patch("/api/v1/tilesets/priv/", {"name": "tok"}, format="json").status_code == 200
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    response = client.get("/api/v1/tilesets/")
    assert response.status_code == 401 and "WWW-Authenticate" in response


def test_bad_basic_password_is_401_even_on_public_reads(owner, public):
    client = APIClient()
    client.credentials(**basic(owner, "wrong"))
    for url in ("/api/v1/tilesets/", "/api/v1/tileset_info/?d=pub", "/api/v1/tiles/?d=pub.0.0"):
        response = client.get(url)
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == 'Basic realm="api"'
        assert response.json()["code"] == "InvalidAuthentication"


def test_session_authentication(owner, private):
    client = Client()
    assert client.login(username="owner", password=PASSWORD)
    assert client.get("/api/v1/tilesets/priv/").status_code == 200
    # DRF's HTML login page exists for browsers
    assert Client().get("/api/v1/api-auth/login/").status_code == 200


def test_session_writes_need_csrf(owner, public):
    client = Client(enforce_csrf_checks=True)
    client.login(username="owner", password=PASSWORD)
    response = client.patch("/api/v1/tilesets/pub/", '{"name": "x"}', content_type="application/json")
    assert response.status_code == 403 and "CSRF" in response.json()["error"]
