"""Basic auth cannot be made expensive (issue 14, item 6): failed logins are throttled per client
and per user name (429 JSON with Retry-After, without running the hasher), and a repeated correct
login skips the hasher through a short-lived cache that a changed password invalidates."""

import pytest
from django.contrib.auth.hashers import MD5PasswordHasher
from rest_framework.test import APIClient

from higlass_server import auth
from tests.builders.helpers import PASSWORD, basic

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh(settings):
    settings.AUTH_FAILURE_WINDOW = 300
    settings.AUTH_FAILURE_LIMIT_PER_CLIENT = 5
    settings.AUTH_FAILURE_LIMIT_PER_USER = 3
    settings.AUTH_CREDENTIAL_CACHE_SECONDS = 300
    settings.AUTH_CLIENT_ADDRESS_HEADER = ""
    auth.reset()
    yield
    auth.reset()


@pytest.fixture
def hashes(monkeypatch):
    """How many times the password hasher ran."""
    count = {"n": 0}
    verify = MD5PasswordHasher.verify

    def counted(self, password, encoded):
        count["n"] += 1
        return verify(self, password, encoded)

    monkeypatch.setattr(MD5PasswordHasher, "verify", counted)
    return count


def _get(user, password, address="10.0.0.1", path="/api/v1/tilesets/"):
    client = APIClient(REMOTE_ADDR=address)
    client.credentials(**basic(user, password))
    return client.get(path)


def test_failures_per_client_are_throttled_without_hashing(owner, other, hashes):
    for attempt in range(5):
        user = owner if attempt % 2 else other  # two names: the client's limit, not a user's
        assert _get(user, "wrong").status_code == 401
    ran = hashes["n"]
    response = _get(owner, "wrong")
    assert response.status_code == 429
    assert response.json() == {"error": response.json()["error"], "code": "TooManyRequests"}
    assert 1 <= int(response["Retry-After"]) <= 300
    assert "token" in response.json()["error"]
    # the right password from that client waits too (it was not remembered), and costs nothing
    assert _get(owner, PASSWORD).status_code == 429
    assert hashes["n"] == ran
    # another client is not affected, anonymous requests neither
    assert _get(owner, PASSWORD, address="10.0.0.2").status_code == 200
    assert APIClient(REMOTE_ADDR="10.0.0.1").get("/api/v1/tilesets/").status_code == 200


def test_failures_per_user_name_are_throttled_across_clients(owner, hashes):
    for index in range(3):
        assert _get(owner, "wrong", address=f"10.0.1.{index}").status_code == 401
    assert _get(owner, "wrong", address="10.0.2.1").status_code == 429
    assert _get(owner, PASSWORD, address="10.0.2.2").status_code == 429


def test_remembered_credentials_skip_the_hasher_and_pass_a_throttled_name(owner, hashes):
    assert _get(owner, PASSWORD).status_code == 200
    assert hashes["n"] == 1
    for _ in range(3):
        assert _get(owner, PASSWORD).status_code == 200
    assert hashes["n"] == 1
    for index in range(3):  # someone else guesses the owner's password from elsewhere
        assert _get(owner, "wrong", address=f"10.9.0.{index}").status_code == 401
    assert _get(owner, "wrong", address="10.9.1.1").status_code == 429
    assert _get(owner, PASSWORD).status_code == 200  # the owner's script keeps working


def test_a_changed_password_or_deactivated_user_is_not_remembered(owner, hashes):
    assert _get(owner, PASSWORD).status_code == 200
    owner.set_password("new-password-2")
    owner.save()
    assert _get(owner, PASSWORD).status_code == 401
    assert _get(owner, "new-password-2").status_code == 200
    owner.is_active = False
    owner.save()
    assert _get(owner, "new-password-2").status_code == 401


def test_the_cache_never_holds_the_password(owner):
    assert _get(owner, PASSWORD).status_code == 200
    entries = list(auth._verified_cache()._items.items())
    assert len(entries) == 1
    assert PASSWORD.encode() not in repr(entries).encode()


def test_the_client_address_header_behind_a_proxy(settings, owner):
    settings.AUTH_CLIENT_ADDRESS_HEADER = "X-Forwarded-For"
    client = APIClient(REMOTE_ADDR="127.0.0.1")
    for index in range(5):
        client.credentials(HTTP_X_FORWARDED_FOR=f"6.6.6.6, 10.0.3.{index}", **basic(owner if index % 2 else
                                                                                      type(owner)(username=f"u{index}"),
                                                                                      "wrong"))
        assert client.get("/api/v1/tilesets/").status_code == 401
    client.credentials(HTTP_X_FORWARDED_FOR="10.0.3.9", **basic(owner))
    assert client.get("/api/v1/tilesets/").status_code == 200  # the proxy's address is not the client's


def test_htsget_throttles_in_its_own_body(owner):
    for index in range(3):
        _get(owner, "wrong", address=f"10.0.4.{index}", path="/api/v1/htsget/reads/nothing")
    response = _get(owner, "wrong", address="10.0.4.9", path="/api/v1/htsget/reads/nothing")
    assert response.status_code == 429 and response["Retry-After"]
    assert response.json()["htsget"]["error"] == "TooManyRequests"
