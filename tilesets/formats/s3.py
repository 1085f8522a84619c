"""Byte ranges of an ``s3://bucket/key`` object, read through s3fs (fsspec).

:class:`S3Source` has the same two calls as :class:`~.httprange.HttpSource`: ``probe()`` (size,
ETag, Last-Modified and the first block) and ``fetch(info, start, end)``. Every ranged read is
sent with ``If-Match: <ETag>``, so an object replaced while being read fails with a clear error
instead of mixing versions. The endpoint (AWS or any S3-compatible store), region and
credentials come from the :class:`RemoteConfig`; the endpoint is an administrator's setting, so
the private-host guard does not apply to it.
"""

import threading

from tilesets.formats.remote_config import PerProcess, RemoteError, RemoteInfo, RemoteSource

def _make_filesystem(config):
    import s3fs  # imported on first use: it pulls in aiobotocore, which takes a while to load

    client = {}
    if config.s3_endpoint_url:
        client["endpoint_url"] = config.s3_endpoint_url
    if config.s3_region:
        client["region_name"] = config.s3_region
    if config.ca_bundle:
        client["verify"] = config.ca_bundle
    elif not config.verify_tls:
        client["verify"] = False
    botocore = {
        "connect_timeout": config.connect_timeout,
        "read_timeout": config.read_timeout,
        "retries": {"max_attempts": config.retries + 1, "mode": "standard"},
        "user_agent_extra": config.user_agent,
    }
    fs = s3fs.S3FileSystem(
        anon=config.s3_anonymous,
        key=None if config.s3_anonymous else config.s3_key,
        secret=None if config.s3_anonymous else config.s3_secret,
        token=None if config.s3_anonymous else config.s3_token,
        client_kwargs=client,
        config_kwargs=botocore,
        skip_instance_cache=True,
        use_listings_cache=False,
    )
    fs.retries = config.retries + 1  # s3fs' own retry loop around botocore's
    return fs


filesystem = PerProcess(_make_filesystem)  # filesystem(config): this process's S3FileSystem


class S3Source(RemoteSource):
    """Ranged reads of one S3 object under one :class:`RemoteConfig`."""

    kind = "s3"

    def __init__(self, location, config):
        super().__init__(location, config)
        self.path = f"{self.location.bucket}/{self.location.key}"
        self._file = None
        self._lock = threading.Lock()

    def probe(self):
        with self._lock:
            with _translated(self.shown):
                self._file = None
                handle = self._open()
                details = handle.details
                size = int(details["size"])
                head = self._read(handle, 0, min(self.config.block_size, size))
        modified = details.get("LastModified")
        return RemoteInfo(
            location=self.shown, url=self.location.text, size=size,
            etag=details.get("ETag"), last_modified=str(modified) if modified else None, head=head,
        )

    def _fetch(self, info, start, end):
        with self._lock:
            with _translated(self.shown):
                handle = self._file or self._open()
                if handle.details.get("ETag") != info.etag or int(handle.details["size"]) != info.size:
                    raise RemoteError(f"{self.shown}: the object changed on the server",
                                      reason="changed")
                data = self._read(handle, start, end)
        if len(data) != end - start:
            raise RemoteError(f"{self.shown}: got {len(data)} bytes for a range of {end - start}",
                              reason="bad-range")
        return data

    def _open(self):
        self.requests += 1
        self._file = filesystem(self.config).open(
            self.path, "rb", block_size=self.config.block_size, cache_type="none", fill_cache=False,
        )
        return self._file

    def _read(self, handle, start, end):
        if start == end:
            return b""
        self.requests += 1
        handle.seek(start)
        return handle.read(end - start)


class _translated:
    """Turn the errors of s3fs/botocore into RemoteErrors naming the object."""

    def __init__(self, shown):
        self.shown = shown

    def __enter__(self):
        return self

    def __exit__(self, kind, error, _trace):
        if error is None or isinstance(error, RemoteError) or not isinstance(error, Exception):
            return False
        raise _remote_error(self.shown, error) from None


def _remote_error(shown, error):
    name = type(error).__name__
    if isinstance(error, FileNotFoundError):
        return RemoteError(f"{shown}: no such object (or no such bucket)", reason="status", status=404)
    if isinstance(error, PermissionError):
        return RemoteError(f"{shown}: access denied", reason="status", status=403)
    if name == "FileExpired":
        return RemoteError(f"{shown}: the object changed on the server while being read",
                           reason="changed")
    if "Timeout" in name:
        return RemoteError(f"{shown}: the S3 endpoint did not answer in time", reason="timeout")
    if name in ("EndpointConnectionError", "ConnectionClosedError", "ClientConnectorError"):
        return RemoteError(f"{shown}: the S3 endpoint cannot be reached", reason="unreachable")
    if name == "NoCredentialsError":
        return RemoteError(f"{shown}: no S3 credentials are configured", reason="s3")
    return RemoteError(f"{shown}: S3 read failed ({name}: {error})", reason="s3")
