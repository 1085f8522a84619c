"""The tileset lifecycle service: ingest (API upload and ``ingest_tileset``), update, delete.

One path for both callers: everything is validated before a byte is copied, the file is copied
(or only pointed at, ``no_upload``), then the row is written in a transaction; any failure removes
what was copied, so a failed ingest leaves neither a row nor a file.
"""

import logging
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction

from higlass_server.exceptions import ServiceError

from . import generators
from .access import grant_owner_permissions, usable_chromsizes
from .cache import tile_cache
from .models import UID_PATTERN, Project, Tileset
from .storage import is_within, media_root, stored_path
from .tiles import assembly_rows

logger = logging.getLogger("tilesets")

UPLOAD_DIR = "uploads"
COPY_CHUNK = 4 * 1024 * 1024


class IngestError(ServiceError):
    """An ingest or update that cannot be done (400); the message is one line for the user."""


class UidTaken(IngestError):
    pass


# --- validation ----------------------------------------------------------------------------


def check_uid(uid):
    if not uid or len(uid) > 100 or not re.match(UID_PATTERN, uid):
        raise IngestError(f"Invalid uid {uid!r}: use 1-100 letters, digits, '-' or '_' (no '.', '/' or spaces).")
    if Tileset.objects.filter(uuid=uid).exists():
        raise UidTaken(f"A tileset with uid {uid!r} already exists.")


def check_filetype(filetype, strict):
    if not filetype or not filetype.strip():
        raise IngestError("A filetype is required (e.g. cooler, bigwig, multivec, chromsizes-tsv).")
    if strict and filetype not in generators.KNOWN_FILETYPES and generators.get(filetype) is None:
        raise IngestError(f"Unknown filetype {filetype!r}; known filetypes: {', '.join(generators.KNOWN_FILETYPES)}.")


def _local_file(filename, no_upload, what="file"):
    """Resolve a command-line path; for ``no_upload`` it must lie under MEDIA_ROOT."""
    text = str(filename)
    if "://" in text:
        raise IngestError(f"{text}: URLs cannot be ingested as local files; register them with --url.")
    path = Path(text).expanduser()
    if no_upload and not path.is_absolute():
        path = media_root() / path
    if not path.exists():
        where = " under the media root" if no_upload else ""
        raise IngestError(f"{what.capitalize()} does not exist{where}: {text}")
    if not path.is_file():
        raise IngestError(f"Not a regular file: {text}")
    if no_upload and not is_within(path, media_root()):
        raise IngestError(f"With --no-upload the {what} must lie under the media root ({media_root()}): {text}")
    return path.resolve()


@dataclass
class _Input:
    """A file to ingest: a local path, or an uploaded file (which has a temporary path)."""

    path: Path
    original_name: str
    upload: object = None  # django UploadedFile when it came through the API
    built_here: bool = False  # an index the ingest built in its work folder


def _as_input(value, no_upload, what):
    if value is None:
        return None
    if hasattr(value, "temporary_file_path"):
        return _Input(Path(value.temporary_file_path()), os.path.basename(value.name), upload=value)
    if hasattr(value, "read"):
        raise IngestError(f"The {what} must be uploaded as a file.")
    path = _local_file(value, no_upload, what)
    return _Input(path, path.name)


def find_owner(owner):
    """A user (or None) given as a user or a username; IngestError for an unknown username."""
    if owner is None or hasattr(owner, "pk"):
        return owner
    try:
        return get_user_model().objects.get(username=owner)
    except get_user_model().DoesNotExist:
        raise IngestError(f"No such user: {owner!r}") from None


def _chromsizes_rows(tileset):
    """The (name, length) pairs of a chromsizes tileset; empty when it is no readable assembly."""
    try:
        return set(assembly_rows(tileset.filetype, tileset.datafile.name, tileset.remote) or ())
    except (generators.GeneratorError, OSError):
        return set()


def match_assembly(generator, datafile, indexfile, coord_system, owner):
    """A file whose chromosome order comes from its assembly (bigWig, bigBed, ...) must share at
    least one chromosome (same name and length) with the chromsizes tileset of its coordSystem;
    without a coordSystem, exactly one assembly must match and its coordSystem is returned."""
    assembly = " or ".join(generators.offering("assembly"))
    hint = f"ingest the assembly first (--filetype {assembly} --datatype chromsizes --coordSystem NAME)"
    try:
        source = generators.Source(datafile=str(datafile), indexfile=str(indexfile) if indexfile else None)
        own = set(generator.chromsizes(source))
    except (generators.GeneratorError, OSError) as exc:
        raise IngestError(f"Cannot read the chromosomes of {Path(datafile).name}: {exc}") from exc
    owner_id = owner.pk if owner is not None else None
    if coord_system:
        candidates = list(usable_chromsizes(owner_id, coord_system))
        if not candidates:
            raise IngestError(f"No chromsizes tileset has coordSystem {coord_system!r}; {hint}.")
        if len(candidates) > 1:
            uids = ", ".join(c.uuid for c in candidates)
            raise IngestError(f"More than one chromsizes tileset has coordSystem {coord_system!r} ({uids}); keep one.")
        if not own & _chromsizes_rows(candidates[0]):
            raise IngestError(
                f"The chromosomes of {Path(datafile).name} do not match the chromsizes of {coord_system!r} "
                f"({candidates[0].uuid}): no chromosome has the same name and length."
            )
        return coord_system
    matches = {c.coordSystem for c in usable_chromsizes(owner_id) if own & _chromsizes_rows(c)}
    if not matches:
        raise IngestError(f"No chromsizes tileset matches the chromosomes of {Path(datafile).name}; {hint}.")
    if len(matches) > 1:
        raise IngestError(f"Several assemblies match the chromosomes of {Path(datafile).name} "
                          f"({', '.join(sorted(matches))}); choose one with --coordSystem.")
    return matches.pop()


# --- copying -------------------------------------------------------------------------------


def _copy_in(item, progress=None):
    """Copy (or, for an upload, move) a file into MEDIA_ROOT/uploads/; returns its stored name."""
    if item.upload is not None:
        return default_storage.save(f"{UPLOAD_DIR}/{item.original_name}", item.upload)
    name = default_storage.get_available_name(f"{UPLOAD_DIR}/{item.original_name}")
    target = Path(default_storage.path(name))
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(item.path, "rb") as src, open(target, "xb") as dst:
            while chunk := src.read(COPY_CHUNK):
                dst.write(chunk)
                if progress:
                    progress(len(chunk))
        shutil.copystat(item.path, target, follow_symlinks=True)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return name


def _remove_stored(name):
    path = stored_path(name)
    if path is None or not is_within(path, media_root() / UPLOAD_DIR):
        logger.warning("Refusing to remove %s: not a server-owned upload", name)
        return False
    try:
        path.unlink()
        return True
    except FileNotFoundError:
        logger.warning("File of a deleted tileset was already gone: %s", path)
    except OSError as exc:
        logger.warning("Could not remove %s: %s", path, exc)
    return False


# --- the service ---------------------------------------------------------------------------


def ingest_tileset(
    *,
    datafile,
    filetype,
    datatype=None,
    coordSystem="",
    coordSystem2="",
    uid=None,
    name=None,
    description="",
    project_name=None,
    project=None,
    indexfile=None,
    no_upload=False,
    owner=None,
    private=False,
    temporary=False,
    strict_filetype=True,
    progress=None,
):
    """Validate, store and register one tileset; returns the new :class:`Tileset`.

    ``datafile``/``indexfile`` are local paths (command line) or uploaded files (API).
    ``progress(nbytes)`` is called while copying, for progress bars.
    Raises :class:`IngestError` (nothing stored) on any problem.
    """
    check_filetype(filetype, strict_filetype)
    if uid is not None:
        check_uid(uid)
    owner = find_owner(owner)
    if project_name and project is not None:
        raise IngestError("Give either a project or a project name, not both.")

    data = _as_input(datafile, no_upload, "file")
    if data is None:
        raise IngestError("A data file is required.")
    index = _as_input(indexfile, no_upload, "index file")
    generator = generators.get(filetype)
    workdir = tempfile.TemporaryDirectory(prefix="hgs-ingest-")
    try:
        if generator is not None and generator.needs_index and index is None:
            index = _find_or_build_index(generator, data, no_upload, workdir.name)
        return _ingest(generator, data, index, workdir.name, filetype=filetype, datatype=datatype,
                       coordSystem=coordSystem, coordSystem2=coordSystem2, uid=uid, name=name,
                       description=description, project_name=project_name, project=project,
                       no_upload=no_upload, owner=owner, private=private, temporary=temporary,
                       progress=progress)
    finally:
        workdir.cleanup()


def _find_or_build_index(generator, data, no_upload, workdir):
    """An index for ``data``: next to a local file (``<file><suffix>``), else built at ingest."""
    if data.upload is None:
        for suffix in generator.index_suffixes:
            candidate = Path(str(data.path) + suffix)
            if candidate.is_file():
                return _as_input(str(candidate), no_upload, "index file")
    if generator.build_index is not None:
        try:
            built = Path(generator.build_index(str(data.path), workdir))
        except generators.GeneratorError as exc:
            raise IngestError(f"Cannot build an index for {data.original_name}: {exc}") from None
        return _Input(built, data.original_name + built.suffix, built_here=True)
    raise IngestError(f"The filetype {generator.filetype} needs an index file (--indexfile).")


def check_content(generator, filetype, datafile, indexfile, coordSystem, owner, shown):
    """Check that a file (a local path or a URL) opens as ``filetype``: the generator's
    ``validate``, its chromosomes against the assembly for filetypes that take their order from
    it, and the facts computed once. Returns ``(coordSystem, facts)``; IngestError otherwise, raised
    from the reader's error (which tells a remote file's callers why it could not be read)."""
    if generator is None:
        return coordSystem, {}
    try:
        generator.validate(datafile, indexfile)
    except Exception as exc:  # GeneratorError, or a reader library failing on garbage input
        raise IngestError(f"{shown} does not open as {filetype}: {exc}") from exc
    if generator.uses_coord_chromsizes and generator.chromsizes is not None:
        coordSystem = match_assembly(generator, datafile, indexfile, coordSystem, owner)
    facts = {}
    if generator.facts is not None:
        try:
            facts = generator.facts(generators.Source(datafile, indexfile))
        except (generators.GeneratorError, OSError) as exc:
            raise IngestError(f"{shown} does not open as {filetype}: {exc}") from exc
    return coordSystem, facts


def create_record(*, uid, datafile, indexfile, facts, name, project_name, project, owner, private, **fields):
    """Write the tileset row (and its project, and the owner's permissions) in one transaction;
    UidTaken when the uid was taken meanwhile. ``fields`` are further model fields."""
    try:
        with transaction.atomic():
            if project_name:  # the caller's own project of that name, made if missing
                project, _ = Project.objects.get_or_create(name=project_name, owner=owner)
            tileset = Tileset.objects.create(
                uuid=uid or Tileset._meta.get_field("uuid").default(),
                datafile=datafile,
                indexfile=indexfile,
                meta={"facts": facts} if facts else {},
                name=name,
                project=project,
                owner=owner,
                private=bool(private),
                **fields,
            )
            grant_owner_permissions(tileset)
    except IntegrityError:
        raise UidTaken(f"A tileset with uid {uid!r} already exists.") from None
    tile_cache.invalidate(tileset.uuid)  # leftovers of an earlier tileset with this uid
    logger.info("Registered %s", tileset)
    return tileset


def _ingest(generator, data, index, workdir, *, filetype, datatype, coordSystem, coordSystem2, uid, name,
            description, project_name, project, no_upload, owner, private, temporary, progress):
    coordSystem, facts = check_content(generator, filetype, str(data.path), str(index.path) if index else None,
                                       coordSystem, owner, data.original_name)
    copied = []
    owns_index = index is not None and (not no_upload or index.built_here)
    try:
        if no_upload:
            data_name = str(data.path.relative_to(media_root()))
        else:
            data_name = _copy_in(data, progress)
            copied.append(data_name)
        if index is None:
            index_name = None
        elif owns_index:
            index_name = _copy_in(index)
            copied.append(index_name)
        else:
            index_name = str(index.path.relative_to(media_root()))
        return create_record(
            uid=uid, datafile=data_name, indexfile=index_name, facts=facts,
            name=name if name else data.original_name, project_name=project_name, project=project,
            owner=owner, private=private, owns_file=not no_upload, owns_index=owns_index, filetype=filetype,
            datatype=datatype, coordSystem=coordSystem or "", coordSystem2=coordSystem2 or "",
            description=description or "", temporary=temporary,
        )
    except BaseException:
        for stored in copied:
            _remove_stored(stored)
        raise


EDITABLE_FIELDS = ("name", "description", "datatype", "coordSystem", "coordSystem2", "private", "project")


def update_tileset(tileset, **changes):
    """Change the editable metadata of a tileset (``project`` may be a Project or None)."""
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise IngestError(f"Cannot change: {', '.join(sorted(unknown))}.")
    for field, value in changes.items():
        setattr(tileset, field, value)
    tileset.save(update_fields=list(changes) or None)
    tile_cache.invalidate(tileset.uuid)
    return tileset


def delete_tileset(tileset):
    """Delete the row; then remove the data and index files if (and only if) the server owns them.

    Returns the list of files removed. A file already gone is logged, not an error.
    """
    owned = [(tileset.datafile.name, tileset.owns_file)]
    if tileset.indexfile:
        owned.append((tileset.indexfile.name, tileset.owns_index))
    removed = []

    uuid = tileset.uuid

    def remove_files():
        tile_cache.invalidate(uuid)
        for name, server_owned in owned:
            if server_owned and _remove_stored(name):
                removed.append(name)

    with transaction.atomic():
        tileset.delete()
        transaction.on_commit(remove_files)
    return removed
