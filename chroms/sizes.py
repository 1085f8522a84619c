"""Chromosome sizes of a tileset, read through its filetype's generator."""

from higlass_server.exceptions import ServiceError
from tilesets import generators
from tilesets.tiles import source_of


class NoChromSizes(ServiceError):
    """The tileset's filetype has no chromosome sizes (400)."""


def chromsizes_of(tileset):
    """``[(name, length), ...]`` in the file's order. NoChromSizes when the filetype has none; a
    ServiceError (500) when the file cannot be read."""
    generator = generators.get(tileset.filetype)
    if generator is None or generator.chromsizes is None:
        raise NoChromSizes(f"Tileset {tileset.uuid} (filetype {tileset.filetype}) has no chromosome sizes.")
    try:
        rows = generator.chromsizes(source_of(tileset))
    except generators.GeneratorError as exc:
        raise ServiceError(f"Unable to read the chromosome sizes of {tileset.uuid}: {exc}", 500) from None
    return [(str(name), int(length)) for name, length in rows]


def with_offsets(rows):
    """``[(name, length, offset), ...]``: offset = sum of the lengths before it."""
    offset, out = 0, []
    for name, length in rows:
        out.append((name, length, offset))
        offset += length
    return out
