"""Gene-name autocomplete (``/api/v1/suggest/``) from a tileset whose filetype can search.

``suggestions(uid, text, user)`` answers the entries of tileset ``uid`` whose gene name starts
with ``text`` (case-insensitively), most important first, at most ``MAX_RESULTS``::

    [{"chr": "chr17", "txStart": 7565097, "txEnd": 7590856, "score": 12.5, "geneName": "TP53"}, ...]

The search itself is the filetype's: the generator's ``search`` capability (see
docs/filetypes.md), found through the registry. Private tilesets follow the visibility rule.
"""

import logging

from higlass_server.exceptions import ServiceError

from . import generators
from .access import visible_tilesets
from .models import Tileset
from .tiles import source_of

logger = logging.getLogger("tilesets")

MAX_RESULTS = 10
MAX_TEXT = 256  # characters of ``ac``


class SuggestError(ServiceError):
    """Bad input (400), a tileset not found or not visible (404), or a file that cannot be read
    (500)."""


def _searchable():
    """The filetypes that offer a search, as the messages name them (e.g. "beddb")."""
    return ", ".join(sorted(generators.offering("search")))


def suggestions(uid, text, user, limit=MAX_RESULTS):
    """The suggestions for ``text`` from tileset ``uid`` as seen by ``user``; SuggestError with an
    HTTP status otherwise (400 bad input or a filetype without search, 404 unknown or not
    visible, 500 unreadable)."""
    if not uid:
        raise SuggestError(f"Give the gene-annotation ({_searchable()}) tileset as ?d=<uid>.")
    if text is None:
        raise SuggestError("Give the beginning of a gene name as ?ac=<text>.")
    if len(text) > MAX_TEXT:
        raise SuggestError(f"The text to complete (ac) is longer than {MAX_TEXT} characters.")
    tileset = visible_tilesets(user, Tileset.objects.filter(uuid=uid)).first()
    if tileset is None:
        raise SuggestError(f"Suggestion source file not found: no tileset with uid {uid}.", 404)
    generator = generators.get(tileset.filetype)
    if generator is None or generator.search is None:
        raise SuggestError(
            f"Tileset {uid} is a {tileset.filetype} tileset; gene names are suggested from {_searchable()} "
            "(gene-annotation) tilesets only."
        )
    try:
        return generator.search(source_of(tileset), text, limit)
    except generators.GeneratorError as exc:
        raise SuggestError(f"Unable to read tileset {uid}: {exc}", 500) from None
    except Exception as exc:  # the file's own library failed (e.g. sqlite3.Error)
        logger.exception("suggest on %s failed", uid)
        raise SuggestError(f"Unable to read tileset {uid} ({type(exc).__name__}).", 500) from None
