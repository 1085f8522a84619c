"""Registry of tile generators: filetype name -> :class:`~.base.Generator`.

Every module of this package that defines ``GENERATOR`` is registered under its filetype; adding
a filetype means adding one module.
"""

import importlib
import pkgutil

from ..formats.lru import LRU
from ..formats import access as _access
from ..formats.remote_config import RemoteConfig
from ..formats.urls import display_url
from ..formats.version import FileVersion, file_version
from .base import Generator, GeneratorError, HtsgetFormat, Source, TileRequest

def _discover():
    registry = {}
    for module_info in pkgutil.iter_modules(__path__):
        if module_info.name.startswith("_") or module_info.ispkg:
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


def configure_remote(revalidate_seconds=60, **fields):
    """Reach remote locations with these :class:`RemoteConfig` fields from now on."""
    _access.configure(RemoteConfig(**fields), revalidate_seconds)


is_remote = _access.is_remote
probe_remote = _access.remote_info  # probe_remote(url, fresh=True): RemoteInfo, or an OSError with .reason


def offering(capability):
    """``{filetype: generator}`` of the generators that offer ``capability`` (a Generator field
    such as "tiles", "search" or "htsget")."""
    return {name: generator for name, generator in REGISTRY.items() if getattr(generator, capability, None)}


__all__ = [
    "REGISTRY", "KNOWN_FILETYPES", "LRU", "FileVersion", "Generator", "GeneratorError", "HtsgetFormat", "Source",
    "TileRequest", "configure_remote", "file_version", "get", "is_remote", "offering", "probe_remote",
    "display_url",
]
