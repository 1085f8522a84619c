"""Where a file lives: a local path, an ``http(s)://`` URL or ``s3://bucket/key``; and which hosts
may be reached (the guard against making the server read its own network).

``parse_location`` sorts the text; every other scheme (``file:``, ``ftp:``, ``gopher:`` ...) is
refused. ``resolve_checked`` resolves a host name and refuses it when any of its addresses is not
a public unicast address, unless the configuration allows it; the HTTP layer connects only to the
addresses it returned, at every connection (each redirect hop included), so a name that resolves
differently a moment later cannot slip through.
"""

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from tilesets.formats.remote_config import RemoteError

SCHEMES = ("http", "https", "s3")


@dataclass(frozen=True)
class Location:
    """A parsed file location. ``kind`` is "local", "http" (http and https) or "s3"."""

    kind: str
    text: str
    scheme: str = ""
    host: str = ""
    port: int | None = None
    bucket: str = ""
    key: str = ""
    username: str | None = None
    password: str | None = None

    @property
    def is_remote(self):
        return self.kind != "local"

    @property
    def display(self):
        """The location as it may be shown in messages and logs: no user, password or query."""
        return display_url(self.text) if self.is_remote else self.text


def display_url(url):
    """``url`` without credentials: the user and password go, a query becomes ``?…``."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "<unparsable URL>"
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{port}" if port else host
    query = "?…" if parts.query else ""
    return f"{parts.scheme}://{netloc}{parts.path}{query}"


def parse_location(text):
    """A :class:`Location` for ``text``; RemoteError (reason "scheme") for an unsupported scheme
    or a malformed URL. Text without a scheme is a local path."""
    if not isinstance(text, str) or not text:
        raise RemoteError("no file location given", reason="scheme")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
        raise RemoteError("a file location may not contain control characters", reason="scheme")
    if "://" not in text:
        if ":" in text.split("/", 1)[0] and not text.startswith("/"):
            scheme = text.split(":", 1)[0].lower()
            raise RemoteError(_scheme_message(scheme), reason="scheme")
        return Location(kind="local", text=text)
    scheme = text.split("://", 1)[0].lower()
    if scheme not in SCHEMES:
        raise RemoteError(_scheme_message(scheme), reason="scheme")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as error:
        raise RemoteError(f"{display_url(text)} is not a valid URL ({error})", reason="scheme") from None
    if scheme == "s3":
        bucket = parts.netloc
        key = parts.path.lstrip("/")
        if not bucket or not key or parts.query or parts.fragment or "@" in bucket:
            raise RemoteError(f"{display_url(text)}: an S3 location is s3://bucket/key", reason="scheme")
        return Location(kind="s3", text=f"s3://{bucket}/{key}", scheme=scheme, bucket=bucket, key=key)
    if not parts.hostname:
        raise RemoteError(f"{display_url(text)} names no host", reason="scheme")
    if parts.fragment:
        text = text.split("#", 1)[0]
    return Location(
        kind="http",
        text=text,
        scheme=scheme,
        host=parts.hostname,
        port=port,
        username=unquote(parts.username) if parts.username is not None else None,
        password=unquote(parts.password) if parts.password is not None else None,
    )


def _scheme_message(scheme):
    shown = scheme if scheme.isalnum() and len(scheme) < 20 else "this"
    return f"the {shown} scheme is not supported; a file location is a path, http(s):// or s3://"


def address_is_public(address):
    """True for a global unicast address; False for private, loopback, link-local, multicast,
    reserved, unspecified and shared (carrier-grade NAT) addresses. IPv4 written inside IPv6
    (``::ffff:10.0.0.1``, 6to4, NAT64) is judged by the IPv4 address."""
    address = ipaddress.ip_address(address)
    if address.version == 6:
        inner = address.ipv4_mapped or address.sixtofour
        if inner is None and address in ipaddress.ip_network("64:ff9b::/96"):
            inner = ipaddress.ip_address(int(address) & 0xFFFFFFFF)
        if inner is not None:
            return address_is_public(inner)
    if address.is_multicast or address.is_unspecified or address.is_loopback:
        return False
    if address.is_link_local or address.is_private or address.is_reserved:
        return False
    return address.is_global


def address_allowed(address, config):
    """Whether ``config`` lets the server connect to ``address`` (an IP address text)."""
    if config.allow_private_hosts or address_is_public(address):
        return True
    ip = ipaddress.ip_address(address)
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    for network in config.allowed_private_networks:
        net = ipaddress.ip_network(network, strict=False)
        if ip.version == net.version and ip in net:
            return True
    return False


def resolve_checked(host, port, config, shown=None):
    """The ``getaddrinfo`` entries (family, type, proto, canonname, sockaddr) for ``host``:``port``
    if every address the name resolves to may be reached; RemoteError otherwise. ``shown`` names
    the URL in messages."""
    shown = shown or host
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise RemoteError(f"{shown}: the host name {host!r} cannot be resolved ({error})",
                          reason="unreachable") from None
    if not infos:
        raise RemoteError(f"{shown}: the host name {host!r} has no address", reason="unreachable")
    for info in infos:
        address = info[4][0].split("%", 1)[0]  # drop an IPv6 zone
        if not address_allowed(address, config):
            raise RemoteError(
                f"{shown}: the host {host!r} resolves to {address}, a private, loopback or otherwise "
                "non-public address, which this server does not reach",
                reason="forbidden-host",
            )
    return infos
