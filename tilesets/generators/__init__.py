"""Registry of tile generators: filetype name -> :class:`~.base.Generator`.

Every module of this package that defines ``GENERATOR`` is registered under its filetype; adding
a filetype means adding one module.
"""

import importlib
import pkgutil

from .base import Generator, GeneratorError, Source, TileRequest

_HELPERS = {"base", "bbifile", "dense", "files", "genome", "hts"}


def _discover():
    registry = {}
    for module_info in pkgutil.iter_modules(__path__):
        if module_info.name in _HELPERS or module_info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        generator = getattr(module, "GENERATOR", None)
        if isinstance(generator, Generator):
            registry[generator.filetype] = generator
    return registry


REGISTRY = _discover()

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
