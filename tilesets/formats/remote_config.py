"""The vocabulary of remote byte access: its settings, its one error class and what a probe learns.

Everything under ``tilesets.formats`` that reaches bytes over the network (``urls``, ``httprange``,
``s3``, ``rangefile``, ``diskcache``, ``remote``) takes a :class:`RemoteConfig`. The settings layer
builds one from Django settings; this module never imports Django.
"""

import hashlib
import os
import tempfile
import threading
from dataclasses import dataclass, field

KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB


def _default_cache_dir():
    return os.path.join(tempfile.gettempdir(), "higlass-server-remote")


def _default_udc_dir():
    return os.path.join(tempfile.gettempdir(), "higlass-server-udc")


@dataclass(frozen=True)
class RemoteConfig:
    """How remote files are reached. Every field has a safe default; sizes are in bytes, times in
    seconds.

    Network:

    - ``connect_timeout``: longest wait for a TCP (and TLS) connection to be made.
    - ``read_timeout``: longest silence while waiting for a server's answer or its next bytes.
    - ``request_deadline``: longest time one request may take in total, so a server trickling
      bytes cannot hold a reader for long.
    - ``max_redirects``: redirects followed for one request; more, or a loop, is an error.
    - ``retries``: extra attempts after a transient failure (connection reset or closed early,
      HTTP 500/502/503/504); timeouts are not retried, so a silent server costs one timeout.
    - ``retry_backoff``: pause before the first retry, doubled before each next one.
    - ``user_agent``: the ``User-Agent`` header sent.
    - ``verify_tls``: check https certificates (turn off only for tests).
    - ``ca_bundle``: a PEM file of trusted certificates instead of the system's.

    Which hosts may be reached (the SSRF guard):

    - ``allow_private_hosts``: reach hosts whose addresses are private, loopback, link-local,
      multicast, reserved or unspecified. False in production: a registered URL must not make the
      server read its own network (cloud metadata services, databases, admin pages).
    - ``allowed_private_networks``: networks (``"127.0.0.1/32"``, ``"10.1.0.0/16"``) that may be
      reached even when ``allow_private_hosts`` is false, e.g. one internal data server.

    Caches:

    - ``block_size``: bytes read per block; reads are rounded out to whole blocks.
    - ``max_request_bytes``: the largest byte range asked for in one request (longer reads are
      split).
    - ``memory_cache_bytes``: total size of the in-memory block cache of one process (shared by
      every remote file that process opens).
    - ``disk_cache_dir``: the folder of the on-disk cache (whole fetched files, and blocks when
      ``disk_cache_blocks``); created when first needed; may be shared by several processes.
    - ``disk_cache_bytes``: the most that folder may hold; least recently used entries go first.
    - ``disk_cache_blocks``: also keep blocks on disk, so other processes and restarts reuse them.
    - ``max_fetch_bytes``: the largest file fetched whole into the disk cache (for libraries that
      need a local path, such as SQLite); larger ones are refused.
    - ``udc_cache_dir`` / ``udc_cache_bytes``: the folder given to the UCSC ``udc`` layer inside
      pybbi (bigWig/bigBed by URL) and the most it may hold after a cleaning.

    S3 (``s3://bucket/key``):

    - ``s3_endpoint_url``: an S3-compatible endpoint (MinIO, Ceph, a test server); None for AWS.
    - ``s3_region``: the region name; None lets the library decide.
    - ``s3_key`` / ``s3_secret`` / ``s3_token``: credentials; None uses the usual chain
      (environment, ``~/.aws``, instance role).
    - ``s3_anonymous``: send unsigned requests (public buckets).
    """

    connect_timeout: float = 5.0
    read_timeout: float = 15.0
    request_deadline: float = 60.0
    max_redirects: int = 5
    retries: int = 2
    retry_backoff: float = 0.2
    user_agent: str = "higlass-server"
    verify_tls: bool = True
    ca_bundle: str | None = None

    allow_private_hosts: bool = False
    allowed_private_networks: tuple = ()

    block_size: int = 256 * KIB
    max_request_bytes: int = 16 * MIB
    memory_cache_bytes: int = 128 * MIB
    disk_cache_dir: str = field(default_factory=_default_cache_dir)
    disk_cache_bytes: int = 2 * GIB
    disk_cache_blocks: bool = False
    max_fetch_bytes: int = 256 * MIB
    udc_cache_dir: str = field(default_factory=_default_udc_dir)
    udc_cache_bytes: int = 1 * GIB

    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    s3_key: str | None = None
    s3_secret: str | None = None
    s3_token: str | None = None
    s3_anonymous: bool = False

    def __post_init__(self):
        for name in ("block_size", "max_request_bytes", "memory_cache_bytes", "disk_cache_bytes"):
            if getattr(self, name) <= 0:
                raise ValueError(f"RemoteConfig.{name} must be positive")
        if self.max_request_bytes < self.block_size:
            raise ValueError("RemoteConfig.max_request_bytes must be at least block_size")
        if self.max_redirects < 0 or self.retries < 0:
            raise ValueError("RemoteConfig.max_redirects and retries may not be negative")
        object.__setattr__(self, "allowed_private_networks", tuple(self.allowed_private_networks))


class RemoteError(OSError):
    """A remote file could not be read. The message names the file without any credentials.

    ``reason`` is a short machine-readable word ("scheme", "forbidden-host", "timeout",
    "unreachable", "status", "no-range", "bad-range", "changed", "too-large", "redirects",
    "closed", "s3") so that callers can map it to an answer (e.g. 400 against 502) without parsing
    text.
    """

    def __init__(self, message, reason="error", status=None):
        super().__init__(message)
        self.message = message
        self.reason = reason
        self.status = status

    def __str__(self):
        return self.message


@dataclass(frozen=True)
class RemoteInfo:
    """What a probe learned about one remote file.

    ``location`` is the display form (no credentials); ``url`` the address the bytes were finally
    read from (after redirects; may hold credentials, never print it); ``size`` its length;
    ``etag`` and ``last_modified`` the server's validators as sent (None when absent). ``head``
    holds the first bytes (up to one block), which the probe read anyway.
    """

    location: str
    url: str
    size: int
    etag: str | None = None
    last_modified: str | None = None
    head: bytes = field(default=b"", compare=False, repr=False)

    @property
    def validator(self):
        """What changes when the remote file changes: the ETag, else Last-Modified and size,
        else the size alone (a server sending neither validator cannot tell us more)."""
        if self.etag:
            return f"etag:{self.etag}"
        if self.last_modified:
            return f"lm:{self.last_modified}:{self.size}"
        return f"size:{self.size}"

    @property
    def token(self):
        """A short text naming this version of this file, for cache keys (no URL in it)."""
        text = f"{self.location}\n{self.validator}"
        return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()[:32]


class RemoteSource:
    """What a remote byte source shares: its parsed location, its configuration, the display
    form for messages (``shown``) and a request counter. Subclasses read with ``probe()`` and
    ``_fetch(info, start, end)``."""

    kind = ""

    def __init__(self, location, config):
        from tilesets.formats.urls import parse_location

        if isinstance(location, str):
            location = parse_location(location)
        if location.kind != self.kind:
            raise ValueError(f"not an {self.kind} location: {location.display}")
        self.location = location
        self.config = config
        self.shown = location.display
        self.requests = 0  # requests sent (redirect hops and retries included), for tests/bench

    def fetch(self, info, start, end):
        """Bytes ``start`` to ``end`` (exclusive) of the file ``info`` describes, exactly."""
        if not 0 <= start <= end <= info.size:
            raise ValueError(f"range {start}-{end} outside 0-{info.size}")
        if start == end:
            return b""
        return self._fetch(info, start, end)

    def _fetch(self, info, start, end):
        raise NotImplementedError


class PerProcess:
    """One object per process and key, made on first use by ``make(key)``: a forked child makes
    its own instead of sharing its parent's sockets, threads or event loop."""

    def __init__(self, make):
        self._make = make
        self._objects = {}
        self._lock = threading.Lock()

    def __call__(self, key):
        full = (os.getpid(), key)
        with self._lock:
            found = self._objects.get(full)
            if found is None:
                found = self._objects[full] = self._make(key)
            return found
