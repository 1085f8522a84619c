"""Which filetypes htsget serves, read from the generator registry: every generator that declares
an ``htsget`` format (its endpoint, format name, and whether it is answered by region).

Within an endpoint the formats answered by region come first; the first one is the endpoint's
default format (BAM for reads, VCF for variants).
"""

from tilesets import generators


def formats(endpoint):
    """``{filetype: HtsgetFormat}`` of ``endpoint``, the default format first."""
    found = [(filetype, generator.htsget) for filetype, generator in generators.offering("htsget").items()
             if generator.htsget.endpoint == endpoint]
    return dict(sorted(found, key=lambda item: not item[1].ranged))


def format_names(endpoint):
    """The format names of ``endpoint``, the default first."""
    return [found.format for found in formats(endpoint).values()]


def filetypes():
    """Every filetype served by some endpoint (the data endpoint serves their files)."""
    return set(generators.offering("htsget"))


def format_of(filetype):
    """The HtsgetFormat of ``filetype`` (which must be served)."""
    return generators.get(filetype).htsget
