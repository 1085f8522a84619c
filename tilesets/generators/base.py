"""The contract between the tile service and the generators (no Django here).

A generator turns a file into tileset_info and tiles. It receives a :class:`Source` (file paths
plus context the service looked up) and raises :class:`GeneratorError` for a file or a request
it cannot serve; the service turns that into a per-tileset or per-tile ``{"error": ...}``.
"""

import functools
import logging
from dataclasses import dataclass, field, fields
from typing import Callable, Optional

from ..formats.errors import FormatError
from ..formats import access
from ..formats.remote_config import RemoteError

logger = logging.getLogger("tilesets")

# The file cannot be read as this filetype, or the tile request does not fit the file. The one
# error class of the generators and the formats below them (defined there, so that what the
# formats raise is the generators' error too): a ServiceError (400 by default) that the tile
# service catches per tileset and per tile.
GeneratorError = FormatError


@dataclass(frozen=True)
class Source:
    datafile: str
    indexfile: Optional[str] = None
    # Facts the service provides, e.g. {"chromsizes": [(name, length), ...]} of the coordSystem.
    context: dict = field(default_factory=dict)


@dataclass(frozen=True)
class TileRequest:
    """One parsed tile id: ``<uid>.<zoom>.<x>[.<y>][.<extra>...]``."""

    id: str  # the id exactly as the client sent it: the key of the answer
    uid: str
    zoom: int
    coords: tuple  # (x,) or (x, y)
    extra: tuple = ()  # e.g. ("KR",) for cooler, ("max",) for bigWig


@dataclass(frozen=True)
class HtsgetFormat:
    """How a filetype is served over htsget: its endpoint ("reads" or "variants"), its format name
    ("BAM", "VCF", ...), and whether tickets are cut by region from the index (else whole file)."""

    endpoint: str
    format: str
    ranged: bool = False


@dataclass(frozen=True)
class Generator:
    """What one filetype can do. Only ``filetype`` and ``validate`` are required."""

    filetype: str
    # validate(datafile, indexfile) -> None; raises GeneratorError when the file does not open.
    validate: Callable[[str, Optional[str]], None]
    # tileset_info(source) -> dict of the filetype's keys.
    tileset_info: Optional[Callable[[Source], dict]] = None
    # tiles(source, [TileRequest], options) -> {tile id: tile}; absent ids mean empty tiles.
    tiles: Optional[Callable[[Source, list, Optional[dict]], dict]] = None
    # chromsizes(source) -> [(name, length), ...] in the file's order.
    chromsizes: Optional[Callable[[Source], list]] = None
    dimensions: int = 1  # number of tile coordinates after the zoom level
    needs_index: bool = False
    # Where to look for an index next to a local data file when none is given, e.g. (".bai", ".csi").
    index_suffixes: tuple = ()
    # build_index(datafile, folder) -> path of an index written into ``folder``, used at ingest
    # when the filetype needs an index and none was given or found.
    build_index: Optional[Callable[[str, str], str]] = None
    # facts(source) -> JSON-able dict computed once at ingest, stored with the tileset and passed
    # back to the generator as Source.context["facts"].
    facts: Optional[Callable[[Source], dict]] = None
    # Name of a server setting bounding the widest tile (e.g. "MAX_BAM_TILE_WIDTH"); the service
    # passes its value as Source.context["max_tile_width"].
    tile_width_setting: Optional[str] = None
    # True for filetypes whose chromosome order comes from the chromsizes tileset of the same
    # coordSystem (bigWig, bigBed, FASTA): the service then passes
    # Source.context["chromsizes"] = [(name, length), ...] when exactly one such tileset exists,
    # and ingest checks the file's chromosomes against the chromsizes tilesets.
    uses_coord_chromsizes: bool = False
    # True for the filetype that describes an assembly (chromsizes-tsv): a chromsizes tileset of
    # this filetype is where the services take a coordSystem's chromosome order from.
    assembly: bool = False
    # search(source, text, limit) -> [{"chr", "txStart", "txEnd", "score", "geneName"}, ...]: the
    # entries whose name starts with ``text`` (case-insensitive), most important first (suggest).
    search: Optional[Callable[[Source, str, int], list]] = None
    # Served over htsget when set (the ticket service asks the registry, never a filetype name).
    htsget: Optional[HtsgetFormat] = None
    # matrix(source, cuts, options) -> [result, ...]: rectangles cut out of a 2-D contact matrix
    # and resampled to ``dims`` pixels a side, for the fragments service (cuts, options and
    # results are plain dicts, described in cooler_matrix.matrix).
    matrix: Optional[Callable[[Source, list, dict], list]] = None

    def __post_init__(self):
        # A remote file that cannot be read (RemoteError, an OSError naming the URL) reaches the
        # services as the generators' error, whichever call met it.
        for item in fields(self):
            value = getattr(self, item.name)
            if callable(value) and not isinstance(value, type):
                object.__setattr__(self, item.name, _remote_failures_as_generator_errors(value))


def remote_failure(exc):
    """The GeneratorError for a remote read that failed (its message names the URL, without
    credentials, and what went wrong). A file that changed on its server is probed again at its
    next use rather than after the revalidation period."""
    if exc.reason == "changed":
        access.forget_probes()
    return GeneratorError(str(exc), reason=exc.reason)


def _remote_failures_as_generator_errors(function):
    if getattr(function, "_remote_checked", False):
        return function

    @functools.wraps(function)
    def call(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except RemoteError as exc:
            raise remote_failure(exc) from None

    call._remote_checked = True
    return call


def each_tile(requests, make, what, reading=None, errors=Exception):
    """``{tile id: make(request)}``; a tile that fails becomes ``{"error": ...}`` for that id only
    (``what`` names the filetype in the log), so one bad tile never fails the batch.

    The errors read "Tile <id>: <reason>" (a GeneratorError) and "Tile <id> could not be made.".
    With ``reading`` (e.g. "the annotations") they are sentences: "Tile <id>: <reason>." and
    "Tile <id>: unable to read <reading> (<exception type>).". A remote read that fails
    (RemoteError) is reported as a GeneratorError is. ``errors`` narrows the other exceptions
    that a tile survives; any other one fails the batch."""
    answer = {}
    for request in requests:
        try:
            answer[request.id] = make(request)
        except (GeneratorError, RemoteError) as exc:  # a remote read failing: that tile only
            if isinstance(exc, RemoteError):
                exc = remote_failure(exc)
            message = f"Tile {request.id}: {exc}"
            if reading is not None and not message.endswith("."):
                message += "."
            answer[request.id] = {"error": message}
        except errors as exc:
            logger.exception("%s tile %s failed", what, request.id)
            if reading is None:
                answer[request.id] = {"error": f"Tile {request.id} could not be made."}
            else:
                answer[request.id] = {"error": f"Tile {request.id}: unable to read {reading} ({type(exc).__name__})."}
    return answer
