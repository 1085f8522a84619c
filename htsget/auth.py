"""Who is asking: DRF tokens (``Bearer`` or ``Token``), HTTP Basic (throttled and cached as in the
rest of the API: :mod:`higlass_server.auth`), the session; and the short-lived
capabilities that ticket data URLs of private tilesets carry instead of the caller's token.

Nothing here logs a credential: neither the caller's token nor a capability is ever written to a
log or put into a URL or an error message.
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.core import signing
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication, get_authorization_header

from higlass_server.auth import BasicAuthentication

from .errors import InvalidAuthentication

CAPABILITY_SALT = "htsget.data-capability"


class BearerTokenAuthentication(TokenAuthentication):
    """DRF's token authentication with the OAuth2 keyword htsget clients send:
    ``Authorization: Bearer <token>`` (the same tokens as ``Authorization: Token <token>``)."""

    keyword = "Bearer"


_AUTHENTICATORS = (BearerTokenAuthentication, TokenAuthentication, BasicAuthentication)


def authenticate(request):
    """The calling user (AnonymousUser when there are no credentials).

    Raises :class:`InvalidAuthentication` when credentials are present but wrong. A browser session
    (Django's login cookie) counts too; tickets are read-only, so POST needs no CSRF token.
    """
    for authenticator in _AUTHENTICATORS:
        try:
            found = authenticator().authenticate(request)
        except exceptions.AuthenticationFailed as exc:
            raise InvalidAuthentication(f"{exc.detail}") from None
        if found is not None:
            return found[0]
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return user
    return AnonymousUser()


def ticket_ttl():
    """Seconds a data capability stays valid (setting ``HTSGET_TICKET_TTL``)."""
    return settings.HTSGET_TICKET_TTL


def make_capability(tileset, user):
    """A signed, expiring grant to read the bytes of ``tileset`` on behalf of ``user``."""
    return signing.TimestampSigner(salt=CAPABILITY_SALT).sign(f"{tileset.uuid}:{user.pk}")


def is_capability(value):
    return value.count(":") >= 3


def user_of_capability(value, uuid):
    """The user a capability was issued to, if it is genuine, unexpired and for tileset ``uuid``
    (the uuid of the URL: the answer does not depend on whether that tileset exists)."""
    try:
        payload = signing.TimestampSigner(salt=CAPABILITY_SALT).unsign(value, max_age=ticket_ttl())
    except signing.SignatureExpired:
        raise InvalidAuthentication("The data URL's authorization has expired; request a new ticket.") from None
    except signing.BadSignature:
        raise InvalidAuthentication("The data URL's authorization is not valid.") from None
    issued_for, _, user_id = payload.rpartition(":")
    if issued_for != uuid:
        raise InvalidAuthentication("The data URL's authorization is for another tileset.")
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        raise InvalidAuthentication("The data URL's authorization is not valid.")
    return user


def data_user(request, uuid):
    """The caller of the data endpoint for tileset ``uuid``: a ticket capability
    (``Bearer <capability>``) or any credential the ticket endpoints accept. Checked before the
    tileset is looked up, so wrong credentials get the same 401 whether or not it exists."""
    header = get_authorization_header(request).split()
    if len(header) == 2 and header[0].lower() == b"bearer":
        value = header[1].decode("latin-1")
        if is_capability(value):
            return user_of_capability(value, uuid)
    return authenticate(request)
