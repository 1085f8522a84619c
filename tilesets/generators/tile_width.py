"""The widest tile a base-level filetype serves (BAM reads, FASTA bases).

The tile service passes the server's setting (named by ``Generator.tile_width_setting``, read
from the environment or config.json by higlass_server/settings.py) as
``Source.context["max_tile_width"]``. A generator called without it (a script, a test) uses
:data:`DEFAULT`, the setting's default.
"""

DEFAULT = 100000


def max_tile_width(source):
    """Bases in the widest tile served for ``source``."""
    given = source.context.get("max_tile_width") if source is not None else None
    return int(given) if given else DEFAULT
