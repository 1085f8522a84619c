"""Tilesets registered where their files already are, without a copy.

- :func:`register_url` (``POST /api/v1/register_url/`` and ``ingest_tileset --url``): a file on an
  http(s) server or in S3. The URL is checked before anything is stored: its scheme and host (the
  guard against reaching the server's own network), a probe (the server honours Range and tells
  the size), then the same content checks as an ingest (the filetype's ``validate``, the
  chromosomes against the assembly, the facts). The row keeps the URLs in ``datafile`` and
  ``indexfile`` with ``remote`` set, and the server owns nothing: deleting the tileset never
  touches the remote file.
- :func:`link_file` (``POST /api/v1/link_tile/``): a file already under MEDIA_ROOT, registered in
  place through the ingest service (as ``ingest_tileset --no-upload``); the path must really lie
  inside MEDIA_ROOT (symbolic links resolved).

Statuses: 400 for bad input (no or a malformed URL, a scheme other than http/https/s3, a host
that is not public, a missing index URL, an unknown filetype, a taken uid, a file that is not of
its filetype); 422 for a valid URL that cannot be read as it must be (no answer, HTTP errors,
Range ignored, endless redirects, cut off, too large) and for a path outside MEDIA_ROOT.
"""

import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

from . import generators, ingest
from .ingest import IngestError
from .storage import is_within, media_root

MAX_LOCATION = 1000  # the length of the datafile and indexfile columns

# Why a remote read failed (the ``reason`` that the remote layer's errors carry, kept when the
# generators re-raise them): the URL is refused as input (400), or it is a valid URL that does
# not serve the file as it must (422).
REFUSED_REASONS = frozenset({"scheme", "forbidden-host"})
UNREADABLE_REASONS = frozenset({
    "timeout", "unreachable", "status", "no-range", "bad-range", "changed", "too-large", "redirects", "closed", "s3",
})


class UnreadableLocation(IngestError):
    """A valid URL whose file cannot be read as it must be (422)."""

    status = 422
    code = "UnprocessableEntity"


class OutsideMedia(IngestError):
    """A path to link that does not lie inside MEDIA_ROOT (422)."""

    status = 422
    code = "UnprocessableEntity"


def remote_reason(exc):
    """The remote-failure reason carried by ``exc`` or the errors it was raised from, or None."""
    for _ in range(6):
        if exc is None:
            return None
        reason = getattr(exc, "reason", None)
        if reason in REFUSED_REASONS or reason in UNREADABLE_REASONS:
            return reason
        exc = exc.__cause__ or exc.__context__
    return None


# --- URLs ----------------------------------------------------------------------------------


def public_url(url):
    """A URL as the API shows it: without a user name, password or query (which may hold a
    signature), e.g. ``https://host/path/file.mcool`` or ``https://host/file.bw?…``."""
    return generators.display_url(url)


def url_name(url):
    """The default name of a URL's tileset: the last part of its path (or its host)."""
    parts = urlsplit(url)
    last = unquote(parts.path.rstrip("/").rsplit("/", 1)[-1])
    return last or parts.hostname or public_url(url)


def checked_url(text, field):
    """``text`` as a URL the remote layer reads (the scheme in lower case); IngestError (400) for
    anything else. ``field`` names the input in messages (``fileurl``, ``--url``)."""
    if not isinstance(text, str) or not text.strip():
        raise IngestError(f"No URL given in {field}.")
    text = text.strip()
    if "://" in text:
        scheme, rest = text.split("://", 1)
        text = f"{scheme.lower()}://{rest}"
    if not generators.is_remote(text):
        shown = public_url(text) if "://" in text else text[:100]
        raise IngestError(f"{field} must be an http://, https:// or s3:// URL, not {shown!r}.")
    if len(text) > MAX_LOCATION:
        raise IngestError(f"{field} is longer than {MAX_LOCATION} characters.")
    return text


def _probe(url, field):
    """Probe ``url`` now (Range honoured, size known); 400 or 422 by the failure's reason."""
    try:
        return generators.probe_remote(url, fresh=True)
    except (OSError, ValueError) as exc:
        if remote_reason(exc) in REFUSED_REASONS or isinstance(exc, ValueError):
            raise IngestError(f"{field} is refused: {exc}") from None
        raise UnreadableLocation(f"{field} cannot be read: {exc}") from None


def register_url(
    *,
    fileurl,
    filetype,
    indexurl=None,
    datatype=None,
    coordSystem="",
    coordSystem2="",
    uid=None,
    name=None,
    description="",
    project_name=None,
    project=None,
    owner=None,
    private=False,
    labels=("fileurl", "indexurl"),
):
    """Register the file at ``fileurl`` (with the index at ``indexurl`` for filetypes that need
    one) as a tileset; returns the new :class:`Tileset`. ``labels`` name the two inputs in
    messages. Raises IngestError (400) or UnreadableLocation (422); nothing is stored then."""
    data_field, index_field = labels
    fileurl = checked_url(fileurl, data_field)
    indexurl = checked_url(indexurl, index_field) if indexurl else None
    ingest.check_filetype(filetype, strict=True)
    generator = generators.get(filetype)
    if generator is None:
        raise IngestError(f"This server cannot read {filetype} files, so it cannot register one by URL.")
    if generator.tiles is None and generator.tileset_info is None:
        raise IngestError(f"{filetype} files are served over htsget only, which reads files stored on this "
                          "server; ingest the file instead.")
    if generator.needs_index and indexurl is None:
        example = f" (e.g. {public_url(fileurl)}{generator.index_suffixes[0]})" if generator.index_suffixes else ""
        raise IngestError(f"The filetype {filetype} needs an index: give its URL in {index_field}{example}.")
    if indexurl and not generator.needs_index:
        raise IngestError(f"The filetype {filetype} has no index file; leave out {index_field}.")
    if uid is not None:
        ingest.check_uid(uid)
    owner = ingest.find_owner(owner)
    if project_name and project is not None:
        raise IngestError("Give either a project or a project name, not both.")

    _probe(fileurl, data_field)
    if indexurl:
        _probe(indexurl, index_field)
    shown = url_name(fileurl)
    try:
        coordSystem, facts = ingest.check_content(generator, filetype, fileurl, indexurl, coordSystem, owner, shown)
    except IngestError as exc:
        if remote_reason(exc) in UNREADABLE_REASONS:
            raise UnreadableLocation(exc.message) from None
        raise
    return ingest.create_record(
        uid=uid, datafile=fileurl, indexfile=indexurl, facts=facts, name=name or shown,
        project_name=project_name, project=project, owner=owner, private=private, remote=True,
        owns_file=False, owns_index=False, filetype=filetype, datatype=datatype,
        coordSystem=coordSystem or "", coordSystem2=coordSystem2 or "", description=description or "",
    )


# --- files under MEDIA_ROOT ----------------------------------------------------------------


def media_file(text, field):
    """The real path of ``text`` (relative to MEDIA_ROOT) if it is a file inside MEDIA_ROOT:
    OutsideMedia (422) when it resolves outside (``..``, an absolute path elsewhere, a symbolic
    link out, a sibling folder whose name starts like the media folder's), IngestError (400)
    when there is no such file."""
    if not isinstance(text, str) or not text.strip():
        raise IngestError(f"No path given in {field}.")
    if "\x00" in text:
        raise IngestError(f"{field} may not contain NUL characters.")
    root = media_root()
    real = Path(os.path.realpath(root / text))
    if not is_within(real, root):
        raise OutsideMedia(f"Provided path ({text}) not in the data path")
    if not real.is_file():
        raise IngestError(f"Specified file ({text}) does not exist")
    return real


def link_file(*, filepath, filetype, indexpath=None, name=None, owner=None, **fields):
    """Register the file at ``filepath`` (relative to MEDIA_ROOT) where it is, with the index at
    ``indexpath`` if given (else one found beside it or built at ingest); ``fields`` are the
    ingest service's metadata arguments. The server does not own the file: deleting the tileset
    leaves it in place."""
    path = media_file(filepath, "filepath")
    index = media_file(indexpath, "indexpath") if indexpath else None
    return ingest.ingest_tileset(
        datafile=str(path), indexfile=str(index) if index else None, no_upload=True, filetype=filetype,
        name=name or os.path.basename(filepath.rstrip("/")), owner=owner, strict_filetype=False, **fields,
    )
