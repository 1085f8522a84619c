"""The tileset an htsget id names, under the server's visibility rule."""

import re

from tilesets.access import visible_tilesets
from tilesets.models import UID_PATTERN, Tileset

from . import registry
from .errors import InvalidInput, NotFound, UnsupportedFormat

_UID = re.compile(UID_PATTERN)


def _candidates(ident):
    return dict.fromkeys((ident, ident.rstrip("/")))


def _by_uuid(endpoint, candidate, formats, wanted, user):
    """The tileset of uuid ``candidate`` (None when there is none or ``user`` may not see it: a
    private tileset of someone else is unknown), refused when it is not served by ``endpoint`` or
    not in the ``wanted`` format."""
    tileset = visible_tilesets(user, Tileset.objects.filter(uuid=candidate)).first()
    if tileset is None:
        return None
    if tileset.filetype not in formats:
        raise NotFound(f"No {endpoint} with id {candidate!r}.")
    if wanted and formats[tileset.filetype] != wanted:
        raise UnsupportedFormat(f"{candidate!r} is available as {formats[tileset.filetype]} only.")
    return tileset


def _by_name(candidate, formats, default, wanted, user):
    """The one visible tileset named ``candidate`` in the wanted (else the default) format."""
    named = list(visible_tilesets(user, Tileset.objects.filter(name=candidate, filetype__in=list(formats))))
    if not named:
        return None
    choice = wanted or (default if any(formats[t.filetype] == default for t in named)
                        else formats[named[0].filetype])
    matches = [t for t in named if formats[t.filetype] == choice]
    if not matches:
        have = ", ".join(sorted({formats[t.filetype] for t in named}))
        raise UnsupportedFormat(f"{candidate!r} is available as {have} only.")
    if len(matches) > 1:
        raise InvalidInput(f"Several {choice} tilesets are named {candidate!r}; use the uuid.")
    return matches[0]


def resolve(endpoint, ident, wanted, user):
    """The tileset for ``ident``: its uuid, else the name of a visible tileset of the format.

    A uuid of another kind of tileset, of nothing, or of a private tileset the caller may not see
    is NotFound (one answer for the three), one in another format UnsupportedFormat. Names are looked up only among
    the tilesets the caller may see; several matches for one format are ambiguous (InvalidInput).
    """
    formats = {filetype: found.format for filetype, found in registry.formats(endpoint).items()}
    for candidate in _candidates(ident):
        if _UID.match(candidate):
            tileset = _by_uuid(endpoint, candidate, formats, wanted, user)
            if tileset is not None:
                return tileset
    default = next(iter(formats.values()), None)
    for candidate in _candidates(ident):
        tileset = _by_name(candidate, formats, default, wanted, user)
        if tileset is not None:
            return tileset
    raise NotFound(f"No {endpoint} with id {ident!r}.")
