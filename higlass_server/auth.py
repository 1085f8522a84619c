"""HTTP Basic authentication that a wrong password cannot make expensive.

Django's password hasher costs about half a second of CPU per check, wrong passwords included, so
a few clients sending Basic credentials could starve every other request. Two defences, both per
server process:

* **Failed logins are throttled** per client address and per user name: after
  ``AUTH_FAILURE_LIMIT_PER_CLIENT`` (or ``AUTH_FAILURE_LIMIT_PER_USER``) failures within
  ``AUTH_FAILURE_WINDOW`` seconds, Basic credentials from that client (or for that user name) are
  answered ``429 {"error": ..., "code": "TooManyRequests"}`` with ``Retry-After``, without running
  the hasher, until the window ends.
* **Verified credentials are remembered** for ``AUTH_CREDENTIAL_CACHE_SECONDS`` (at most
  ``AUTH_CREDENTIAL_CACHE_SIZE`` entries): a repeated correct Basic login costs one keyed hash and
  one query instead of the hasher. The cache key is an HMAC of the user name and password under a
  random per-process key (never the password itself), and an entry holds the user's id and a hash
  of the user's stored password hash: a changed password (or a deactivated user) misses.

Remembered credentials pass even while their user name is throttled (only someone who knows the
password has them), so an attack on a name does not lock out its owner's running scripts.

Tokens (``Authorization: Token <key>``) need none of this and are the recommended way for scripts
(docs/security.md).
"""

import hashlib
import hmac
import math
import secrets
import threading
import time

from django.conf import settings
from django.contrib.auth import get_user_model
from rest_framework import authentication, exceptions

from higlass_server.exceptions import ServiceError
from tilesets.generators import LRU


class TooManyFailures(ServiceError):
    """Too many failed logins from this client or for this user name (429, with Retry-After)."""

    status = 429


_KEY = secrets.token_bytes(32)  # per process: cache keys mean nothing outside it
_lock = threading.Lock()
_failures = LRU(max_items=100_000)  # ("client"|"user", value) -> [window start, count]
_verified = None  # LRU of HMAC(user name, password) -> (user id, hash of user.password, expiry)


def _verified_cache():
    global _verified
    if _verified is None or _verified.max_items != settings.AUTH_CREDENTIAL_CACHE_SIZE:
        _verified = LRU(max_items=max(1, settings.AUTH_CREDENTIAL_CACHE_SIZE))
    return _verified


def reset():
    """Forget every failure and remembered credential of this process (tests)."""
    _failures.clear()
    _verified_cache().clear()


def client_address(request):
    """The caller's address: ``REMOTE_ADDR``, or with ``AUTH_CLIENT_ADDRESS_HEADER`` set (behind a
    proxy) the last address of that header, the one the proxy itself wrote."""
    meta = getattr(request, "META", {})
    header = settings.AUTH_CLIENT_ADDRESS_HEADER
    if header:
        value = meta.get("HTTP_" + header.upper().replace("-", "_"), "")
        found = [part.strip() for part in value.split(",") if part.strip()]
        if found:
            return found[-1]
    return meta.get("REMOTE_ADDR", "")


def _keys(request, username):
    return [("client", client_address(request), settings.AUTH_FAILURE_LIMIT_PER_CLIENT),
            ("user", username.lower(), settings.AUTH_FAILURE_LIMIT_PER_USER)]


def _blocked_for(keys, now):
    """Seconds until the longest running block among ``keys`` ends (0 when none is blocked)."""
    wait = 0.0
    window = settings.AUTH_FAILURE_WINDOW
    for kind, value, limit in keys:
        entry = _failures.get((kind, value))
        if entry is None or limit <= 0:
            continue
        start, count = entry
        if now - start >= window:
            continue
        if count >= limit:
            wait = max(wait, start + window - now)
    return wait


def _record_failure(keys, now):
    window = settings.AUTH_FAILURE_WINDOW
    with _lock:
        for kind, value, _limit in keys:
            entry = _failures.get((kind, value))
            if entry is None or now - entry[0] >= window:
                entry = [now, 0]
            entry[1] += 1
            _failures.put((kind, value), entry)


def _refuse(wait):
    seconds = max(1, math.ceil(wait))
    raise TooManyFailures(
        f"Too many failed logins; try again in {seconds} s (or use a token: docs/security.md).",
        headers={"Retry-After": str(seconds)},
    )


def _credential_key(username, password):
    return hmac.new(_KEY, f"{username}\0{password}".encode("utf-8", "surrogatepass"), hashlib.sha256).digest()


def _stamp(user):
    return hashlib.sha256(f"{user.pk}\0{user.password}".encode()).digest()


def _remembered(key, now):
    """The active user of remembered credentials whose password has not changed since, or None."""
    entry = _verified_cache().get(key)
    if entry is None:
        return None
    user_id, stamp, expiry = entry
    if now >= expiry:
        return None
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is None or not hmac.compare_digest(_stamp(user), stamp):
        return None
    return user


def check_basic(request, username, password):
    """The user for Basic credentials, through the remembered ones and the failure throttle.

    Raises TooManyFailures (429) while the client or the name is throttled, and DRF's
    AuthenticationFailed (401) for wrong credentials or an inactive user."""
    now = time.monotonic()
    seconds = settings.AUTH_CREDENTIAL_CACHE_SECONDS
    key = _credential_key(username, password) if seconds > 0 else None
    if key is not None:
        user = _remembered(key, now)
        if user is not None:
            return user
    keys = _keys(request, username)
    wait = _blocked_for(keys, now)
    if wait > 0:
        _refuse(wait)
    from django.contrib.auth import authenticate

    user = authenticate(request=request, username=username, password=password)
    if user is None:
        _record_failure(keys, now)
        raise exceptions.AuthenticationFailed("Invalid username/password.")
    if not user.is_active:
        raise exceptions.AuthenticationFailed("User inactive or deleted.")
    if key is not None:
        _verified_cache().put(key, (user.pk, _stamp(user), now + seconds))
    return user


class BasicAuthentication(authentication.BasicAuthentication):
    """DRF's Basic authentication through :func:`check_basic` (REST_FRAMEWORK's default, and
    htsget's)."""

    def authenticate_credentials(self, userid, password, request=None):
        return check_basic(request, userid, password), None
