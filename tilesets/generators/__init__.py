"""Registry of tile generators: filetype name -> :class:`~.base.Generator`.

Each filetype lives in its own module and exposes ``GENERATOR``; add it to ``_MODULES``.
"""

from . import chromsizes_tsv
from .base import Generator, GeneratorError, Source, TileRequest

_MODULES = (chromsizes_tsv,)

REGISTRY = {module.GENERATOR.filetype: module.GENERATOR for module in _MODULES}

# Filetypes HiGlass servers know of. A filetype outside this list is refused by the command
# line; the upload API accepts it (as the reference does) and answers per-item errors for it.
KNOWN_FILETYPES = (
    "2dannodb", "bam", "bed2ddb", "beddb", "bedfile", "bigbed", "bigwig", "chromsizes-tsv", "cooler",
    "cram", "fasta", "geodb", "hibed", "hitile", "imtiles", "multivec", "time-interval-json", "vcf",
)


def get(filetype):
    """The generator for ``filetype``, or None when the server has none."""
    return REGISTRY.get(filetype)


__all__ = ["REGISTRY", "KNOWN_FILETYPES", "Generator", "GeneratorError", "Source", "TileRequest", "get"]
