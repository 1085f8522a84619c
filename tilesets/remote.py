"""The server's settings for remote data, handed to the generator floor.

Read once when the app starts, and again when a test changes a ``REMOTE_*`` or ``S3_*`` setting.
"""

from django.conf import settings
from django.core.signals import setting_changed

from . import generators

_PREFIXES = ("REMOTE_", "S3_")


def configure():
    generators.configure_remote(
        revalidate_seconds=settings.REMOTE_REVALIDATE_SECONDS,
        connect_timeout=settings.REMOTE_CONNECT_TIMEOUT,
        read_timeout=settings.REMOTE_READ_TIMEOUT,
        request_deadline=settings.REMOTE_REQUEST_DEADLINE,
        max_redirects=settings.REMOTE_MAX_REDIRECTS,
        retries=settings.REMOTE_RETRIES,
        allow_private_hosts=settings.REMOTE_ALLOW_PRIVATE_HOSTS,
        allowed_private_networks=tuple(settings.REMOTE_ALLOWED_PRIVATE_NETWORKS),
        block_size=settings.REMOTE_BLOCK_BYTES,
        max_request_bytes=max(16 * settings.REMOTE_BLOCK_BYTES, 16 * 1024 * 1024),
        memory_cache_bytes=settings.REMOTE_MEMORY_CACHE_BYTES,
        disk_cache_dir=settings.REMOTE_CACHE_DIR,
        disk_cache_bytes=settings.REMOTE_CACHE_BYTES,
        disk_cache_blocks=settings.REMOTE_CACHE_BLOCKS,
        max_fetch_bytes=settings.REMOTE_MAX_FETCH_BYTES,
        udc_cache_dir=settings.REMOTE_UDC_CACHE_DIR,
        udc_cache_bytes=settings.REMOTE_UDC_CACHE_BYTES,
        s3_endpoint_url=settings.S3_ENDPOINT_URL or None,
        s3_region=settings.S3_REGION or None,
        s3_key=settings.S3_ACCESS_KEY_ID or None,
        s3_secret=settings.S3_SECRET_ACCESS_KEY or None,
        s3_token=settings.S3_SESSION_TOKEN or None,
        s3_anonymous=settings.S3_ANONYMOUS,
    )


def _changed(setting, **_kwargs):
    if setting.startswith(_PREFIXES):
        configure()


setting_changed.connect(_changed, dispatch_uid="tilesets.remote")
