"""Byte ranges of a file on an http(s) server, read with urllib3.

:class:`HttpSource` probes a URL (one ranged GET: the server must answer 206 with the right
``Content-Range``, which gives the size and, with ``ETag``/``Last-Modified``, the version) and
then reads exact byte ranges of it. A server that ignores ``Range`` (200 with the whole body) is
refused at once and its body is never read; an answer for other bytes than asked, or longer than
asked, is refused too.

Every connection is made by :class:`_GuardedConnection`: it resolves the host, refuses it unless
every address may be reached (``urls.resolve_checked``) and connects to one of exactly those
addresses, so redirects and keep-alive reconnections are checked the same way. Redirects are
followed here (bounded, loops refused), never by urllib3; transient failures are retried a
bounded number of times; timeouts are not retried.
"""

import re
import socket
import time
from urllib.parse import urljoin, urlsplit, urlunsplit

import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ReadTimeoutError,
    SSLError,
)
from urllib3.util import connection as u3connection

from tilesets.formats.remote_config import PerProcess, RemoteError, RemoteInfo, RemoteSource
from tilesets.formats.urls import display_url, resolve_checked

REDIRECTS = (301, 302, 303, 307, 308)
TRANSIENT_STATUS = (500, 502, 503, 504)
READ_CHUNK = 64 * 1024
_CONTENT_RANGE = re.compile(r"^\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*$", re.IGNORECASE)
_UNSATISFIED = re.compile(r"^\s*bytes\s+\*/(\d+)\s*$", re.IGNORECASE)


class _Transient(Exception):
    """A failure worth one more attempt (connection reset or closed early, HTTP 5xx)."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


class _GuardedConnection:
    """Mixin for urllib3 connections: connect only to checked addresses of the host."""

    remote_config = None  # set on the generated subclasses

    def _new_conn(self):
        infos = resolve_checked(self._dns_host, self.port, self.remote_config, shown=self.host)
        error = None
        for address in dict.fromkeys(info[4][0] for info in infos):
            try:
                return u3connection.create_connection(
                    (address, self.port), self.timeout,
                    source_address=self.source_address, socket_options=self.socket_options,
                )
            except socket.timeout as exc:
                error = ConnectTimeoutError(self, f"connecting to {self.host} timed out")
                error.__cause__ = exc
            except OSError as exc:
                error = NewConnectionError(self, f"cannot connect to {self.host}: {exc}")
        raise error


def _make_manager(config):
    attrs = {"remote_config": config}
    http_conn = type("GuardedHTTPConnection", (_GuardedConnection, HTTPConnection), attrs)
    https_conn = type("GuardedHTTPSConnection", (_GuardedConnection, HTTPSConnection), attrs)
    http_pool = type("GuardedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": http_conn})
    https_pool = type("GuardedHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": https_conn})
    tls = {"cert_reqs": "CERT_REQUIRED" if config.verify_tls else "CERT_NONE"}
    if config.ca_bundle:
        tls["ca_certs"] = config.ca_bundle
    manager = urllib3.PoolManager(num_pools=32, maxsize=8, block=False, **tls)
    manager.pool_classes_by_scheme = {"http": http_pool, "https": https_pool}
    return manager


pool_manager = PerProcess(_make_manager)  # pool_manager(config): this process's PoolManager


def _origin(url):
    parts = urlsplit(url)
    return (parts.scheme, parts.hostname, parts.port)


def _without_userinfo(url):
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))


def _inner_remote_error(error):
    """A RemoteError that urllib3 wrapped (the guard's refusal inside a ProtocolError)."""
    seen = set()
    stack = [error]
    while stack:
        item = stack.pop()
        if id(item) in seen or item is None:
            continue
        seen.add(id(item))
        if isinstance(item, RemoteError):
            return item
        if isinstance(item, BaseException):
            stack.extend([item.__cause__, item.__context__, getattr(item, "reason", None)])
            stack.extend(arg for arg in item.args if isinstance(arg, BaseException))
    return None


class HttpSource(RemoteSource):
    """Ranged reads of one http(s) URL under one :class:`RemoteConfig`."""

    kind = "http"

    def __init__(self, location, config):
        super().__init__(location, config)
        location = self.location
        self.url = _without_userinfo(location.text)
        self._auth = None
        if location.username is not None:
            self._auth = urllib3.util.make_headers(
                basic_auth=f"{location.username}:{location.password or ''}")["authorization"]
        self._auth_origin = _origin(self.url)

    # -- public -------------------------------------------------------------------------------

    def probe(self):
        """Read the first block; a :class:`RemoteInfo` with the size, validators and those bytes."""
        length = self.config.block_size
        return self._attempts(lambda: self._probe_once(length))

    def _fetch(self, info, start, end):
        return self._attempts(lambda: self._fetch_once(info, start, end))

    # -- one attempt --------------------------------------------------------------------------

    def _probe_once(self, length):
        deadline = time.monotonic() + self.config.request_deadline
        response, url = self._get(self.url, f"bytes=0-{length - 1}", deadline)
        ok = False
        try:
            if response.status == 416:
                found = _UNSATISFIED.match(response.headers.get("Content-Range", ""))
                if found and int(found.group(1)) == 0:
                    return self._info(response, url, 0, b"")  # an empty file
                raise RemoteError(f"{self.shown}: the server refused the first bytes (HTTP 416)",
                                  reason="bad-range", status=416)
            first, last, total = self._check_partial(response, 0, None)
            if first != 0 or last >= length or total is None or (last + 1 != min(length, total)):
                raise RemoteError(f"{self.shown}: the server answered bytes {first}-{last} for "
                                  f"bytes 0-{length - 1}", reason="bad-range")
            head = self._read_body(response, last + 1, deadline)
            ok = True
            return self._info(response, url, total, head)
        finally:
            _finish(response, ok)

    def _fetch_once(self, info, start, end):
        deadline = time.monotonic() + self.config.request_deadline
        response, _url = self._get(info.url, f"bytes={start}-{end - 1}", deadline)
        ok = False
        try:
            first, last, total = self._check_partial(response, start, end)
            if (first, last) != (start, end - 1):
                raise RemoteError(f"{self.shown}: the server answered bytes {first}-{last} for "
                                  f"bytes {start}-{end - 1}", reason="bad-range")
            if total != info.size or not self._same_version(response, info):
                raise RemoteError(f"{self.shown}: the file changed on the server while being read",
                                  reason="changed")
            data = self._read_body(response, end - start, deadline)
            ok = True
            return data
        finally:
            _finish(response, ok)

    def _info(self, response, url, size, head):
        return RemoteInfo(
            location=self.shown, url=url, size=size, etag=response.headers.get("ETag"),
            last_modified=response.headers.get("Last-Modified"), head=head,
        )

    @staticmethod
    def _same_version(response, info):
        if info.etag is not None:
            return response.headers.get("ETag") == info.etag
        if info.last_modified is not None:
            return response.headers.get("Last-Modified") == info.last_modified
        return True

    def _check_partial(self, response, start, end):
        """(first, last, total) of a 206 answer, or RemoteError for any other answer."""
        status = response.status
        if status == 200:
            raise RemoteError(f"{self.shown}: the server ignores Range requests (it answered the "
                              "whole file); only servers that honour Range are supported",
                              reason="no-range", status=200)
        if status != 206:
            raise RemoteError(f"{self.shown}: the server answered HTTP {status}"
                              f"{_status_words(status)}", reason="status", status=status)
        if response.headers.get("Content-Encoding", "identity").lower() not in ("identity", ""):
            raise RemoteError(f"{self.shown}: the server sent an encoded (compressed) range",
                              reason="bad-range")
        found = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
        if not found:
            raise RemoteError(f"{self.shown}: the server answered 206 without a single byte range "
                              "(multipart or missing Content-Range)", reason="bad-range")
        first, last = int(found.group(1)), int(found.group(2))
        total = None if found.group(3) == "*" else int(found.group(3))
        length = response.headers.get("Content-Length")
        if last < first or (total is not None and last >= total) or (
                length is not None and length.strip() != str(last - first + 1)):
            raise RemoteError(f"{self.shown}: the server sent an inconsistent byte range",
                              reason="bad-range")
        return first, last, total

    def _read_body(self, response, length, deadline):
        parts = []
        got = 0
        try:
            while got < length:
                if time.monotonic() > deadline:
                    raise RemoteError(f"{self.shown}: reading took longer than "
                                      f"{self.config.request_deadline:g} s", reason="timeout")
                chunk = response.read(min(READ_CHUNK, length - got), decode_content=False)
                if not chunk:
                    raise _Transient(f"the connection closed after {got} of {length} bytes")
                parts.append(chunk)
                got += len(chunk)
            if response.headers.get("Content-Length") is None and response.read(1, decode_content=False):
                raise RemoteError(f"{self.shown}: the server sent more bytes than asked for",
                                  reason="bad-range")
        except ReadTimeoutError:
            raise RemoteError(f"{self.shown}: no data for {self.config.read_timeout:g} s "
                              "(read timeout)", reason="timeout") from None
        except HTTPError:
            raise _Transient(f"the connection closed after {got} of {length} bytes") from None
        return b"".join(parts)

    # -- requests and redirects ---------------------------------------------------------------

    def _get(self, url, byte_range, deadline):
        """(response, final URL) of a ranged GET of ``url``, following redirects; the response's
        body is not read yet."""
        seen = {url}
        for _hop in range(self.config.max_redirects + 1):
            if time.monotonic() > deadline:
                raise RemoteError(f"{self.shown}: the request took longer than "
                                  f"{self.config.request_deadline:g} s", reason="timeout")
            response = self._send(url, byte_range)
            if response.status not in REDIRECTS:
                if response.status in TRANSIENT_STATUS:
                    _finish(response, False)
                    raise _Transient(f"the server answered HTTP {response.status}")
                return response, url
            target = response.headers.get("Location")
            _finish(response, False)
            if not target:
                raise RemoteError(f"{self.shown}: a redirect without a Location", reason="redirects")
            url = urljoin(url, target.strip())
            try:
                if urlsplit(url).scheme not in ("http", "https"):
                    raise ValueError
                url = _without_userinfo(url)
            except ValueError:
                raise RemoteError(f"{self.shown}: redirected to an unsupported location "
                                  f"({display_url(url)})", reason="redirects") from None
            if url in seen:
                raise RemoteError(f"{self.shown}: the server redirects in a loop", reason="redirects")
            seen.add(url)
        raise RemoteError(f"{self.shown}: more than {self.config.max_redirects} redirects",
                          reason="redirects")

    def _send(self, url, byte_range):
        headers = {"Range": byte_range, "Accept-Encoding": "identity",
                   "User-Agent": self.config.user_agent}
        if self._auth and _origin(url) == self._auth_origin:
            headers["Authorization"] = self._auth
        timeout = urllib3.Timeout(connect=self.config.connect_timeout, read=self.config.read_timeout)
        self.requests += 1
        try:
            return pool_manager(self.config).request(
                "GET", url, headers=headers, redirect=False, retries=False,
                preload_content=False, decode_content=False, timeout=timeout,
            )
        except Exception as error:
            inner = _inner_remote_error(error)
            if inner is not None:
                raise inner from None
            if isinstance(error, NewConnectionError):  # (a subclass of ConnectTimeoutError)
                raise _Transient("the server refused the connection") from None
            if isinstance(error, ConnectTimeoutError) or isinstance(
                    getattr(error, "reason", None), ConnectTimeoutError):
                raise RemoteError(f"{self.shown}: connecting took longer than "
                                  f"{self.config.connect_timeout:g} s", reason="timeout") from None
            if isinstance(error, ReadTimeoutError):
                raise RemoteError(f"{self.shown}: the server did not answer within "
                                  f"{self.config.read_timeout:g} s", reason="timeout") from None
            if isinstance(error, SSLError):
                raise RemoteError(f"{self.shown}: TLS failed ({error})", reason="unreachable") from None
            if isinstance(error, HTTPError):
                raise _Transient(f"the connection failed ({type(error).__name__})") from None
            raise

    def _attempts(self, attempt):
        delay = self.config.retry_backoff
        for number in range(self.config.retries + 1):
            try:
                return attempt()
            except _Transient as failure:
                if number == self.config.retries:
                    tries = "" if number == 0 else f" (after {number + 1} attempts)"
                    raise RemoteError(f"{self.shown}: {failure.message}{tries}",
                                      reason="unreachable") from None
            time.sleep(delay)
            delay *= 2
        raise AssertionError("unreachable")


def _finish(response, reusable):
    """Give the connection back to its pool: as it is after a body read to its end, else closed
    (so an unread or hostile body is never read)."""
    if not reusable:
        response.close()
    response.release_conn()


def _status_words(status):
    words = {401: "authentication required", 403: "access denied", 404: "not found",
             410: "gone", 416: "range not satisfiable", 429: "too many requests"}
    return f" ({words[status]})" if status in words else ""
