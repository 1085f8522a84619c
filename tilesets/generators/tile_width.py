"""The widest tile a base-level filetype serves (BAM reads, FASTA bases).

The tile service passes the server's setting (named by ``Generator.tile_width_setting``) as
``Source.context["max_tile_width"]``. A generator called without it (a script, a test) falls back
to an environment variable of the same name, then to :data:`DEFAULT`; a value that is not a
positive integer is ignored with a warning.
"""

import logging
import os

logger = logging.getLogger("tilesets")

DEFAULT = 100000


def _from_environment(name):
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return DEFAULT
    try:
        value = int(raw.strip())
    except ValueError:
        value = 0
    if value <= 0:
        logger.warning("%s=%r is not a positive integer; using %d", name, raw, DEFAULT)
        return DEFAULT
    return value


def max_tile_width(source, generator):
    """Bases in the widest tile ``generator`` serves for ``source``."""
    given = source.context.get("max_tile_width") if source is not None else None
    if given:
        return int(given)
    return _from_environment(generator.tile_width_setting)
