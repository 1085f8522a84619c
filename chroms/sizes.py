"""Chromosome sizes of a tileset, read through its filetype's generator."""

from tilesets import generators
from tilesets.tiles import source_of


class NoChromSizes(Exception):
    """The tileset's filetype has no chromosome sizes."""


def chromsizes_of(tileset):
    """``[(name, length), ...]`` in the file's order; raises NoChromSizes or GeneratorError."""
    generator = generators.get(tileset.filetype)
    if generator is None or generator.chromsizes is None:
        raise NoChromSizes(f"Tileset {tileset.uuid} (filetype {tileset.filetype}) has no chromosome sizes.")
    return [(str(name), int(length)) for name, length in generator.chromsizes(source_of(tileset))]


def with_offsets(rows):
    """``[(name, length, offset), ...]``: offset = sum of the lengths before it."""
    offset, out = 0, []
    for name, length in rows:
        out.append((name, length, offset))
        offset += length
    return out
