"""Shared fixtures: a media folder per test, users, authenticated API clients, data files."""

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from higlass_server import auth as server_auth
from tests.builders.helpers import HG_SMALL, client_for, make_user, write_chromsizes
from tilesets.ingest import ingest_tileset


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    """Each test gets its own MEDIA_ROOT; uploads and defaults as in production."""
    root = tmp_path / "media"
    (root / "uploads").mkdir(parents=True)
    settings.MEDIA_ROOT = str(root)
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed only
    settings.UPLOAD_ENABLED = True
    settings.PUBLIC_UPLOAD_ENABLED = True
    server_auth.reset()  # failed-login counts and remembered logins are per process: not across tests
    return root


@pytest.fixture
def outside(tmp_path):
    """A folder outside the media root, for the user's own files."""
    folder = tmp_path / "outside"
    folder.mkdir()
    return folder


@pytest.fixture
def chromsizes_file(outside):
    return write_chromsizes(outside / "small.chrom.sizes")


@pytest.fixture
def owner(db):
    return make_user("owner")


@pytest.fixture
def other(db):
    return make_user("other")


@pytest.fixture
def admin_user(db):
    return make_user("boss", superuser=True)


@pytest.fixture
def anon_client():
    return APIClient()


@pytest.fixture
def owner_client(owner):
    return client_for(owner)


@pytest.fixture
def other_client(other):
    return client_for(other)


@pytest.fixture
def admin_client_api(admin_user):
    return client_for(admin_user)


@pytest.fixture
def token_for():
    def make(user):
        return Token.objects.create(user=user).key

    return make


@pytest.fixture
def make_tileset(outside, db):
    """Ingest a chromsizes tileset through the real service (the file is copied into uploads/)."""
    counter = {"n": 0}

    def make(uid, owner=None, private=False, rows=HG_SMALL, **fields):
        counter["n"] += 1
        path = write_chromsizes(outside / f"{uid}-{counter['n']}.tsv", rows)
        fields.setdefault("filetype", "chromsizes-tsv")
        fields.setdefault("datatype", "chromsizes")
        fields.setdefault("coordSystem", "hgS")
        return ingest_tileset(datafile=str(path), uid=uid, owner=owner, private=private, **fields)

    return make

