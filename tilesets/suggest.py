"""Gene-name autocomplete from a beddb gene-annotation tileset (``/api/v1/suggest/``, api.md §4.13).

``suggestions(uid, text, user)`` answers the annotations whose gene name (BED column 4) starts
with ``text``, case-insensitively (ASCII, as SQLite's LIKE), most important first, at most
``MAX_RESULTS``::

    [{"chr": "chr17", "txStart": 7565097, "txEnd": 7590856, "score": 12.5, "geneName": "TP53"}, ...]

``chr``, ``txStart``, ``txEnd`` and ``geneName`` are BED columns 1–4 of the entry, ``score`` its
importance, as the reference gives them. Differences from the reference: it matched the text
anywhere in the whole BED line (``fields LIKE '%text%'``) with the text pasted into the SQL
(injectable, ``%``/``_`` acting as wildcards); here the text is bound as a parameter and its
``%``, ``_`` and ``\\`` are matched literally. Private tilesets follow the visibility rule.
"""

import logging
import sqlite3

from . import generators
from .access import visible_tilesets
from .generators.beddb import open_beddb, text as as_text
from .models import Tileset
from .tiles import source_of

logger = logging.getLogger("tilesets")

MAX_RESULTS = 10
MAX_TEXT = 256  # characters of ``ac``

# Version 3 files have the gene name in its own column; older ones only in the BED line, so
# the line is pre-filtered in SQL and column 4 is checked in Python.
_BY_NAME = """SELECT importance, chrOffset, startPos, endPos, fields FROM intervals
              WHERE name LIKE ? ESCAPE '\\' ORDER BY importance DESC, id LIMIT ?"""
_BY_FIELDS = """SELECT importance, chrOffset, startPos, endPos, fields FROM intervals
                WHERE fields LIKE ? ESCAPE '\\' ORDER BY importance DESC, id"""


class SuggestError(Exception):
    def __init__(self, message, status=400):
        super().__init__(message)
        self.status = status


def escape_like(value):
    """``value`` as a LIKE pattern that matches it literally (escape character ``\\``)."""
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def suggestions(uid, text, user, limit=MAX_RESULTS):
    """The suggestions for ``text`` from tileset ``uid`` as seen by ``user``; SuggestError with an
    HTTP status otherwise (400 bad input or not a beddb, 404 unknown or not visible)."""
    if not uid:
        raise SuggestError("Give the gene-annotation (beddb) tileset as ?d=<uid>.")
    if text is None:
        raise SuggestError("Give the beginning of a gene name as ?ac=<text>.")
    if len(text) > MAX_TEXT:
        raise SuggestError(f"The text to complete (ac) is longer than {MAX_TEXT} characters.")
    tileset = visible_tilesets(user, Tileset.objects.filter(uuid=uid)).first()
    if tileset is None:
        raise SuggestError(f"Suggestion source file not found: no tileset with uid {uid}.", 404)
    if tileset.filetype != "beddb":
        raise SuggestError(
            f"Tileset {uid} is a {tileset.filetype} tileset; gene names are suggested from beddb "
            "(gene-annotation) tilesets only."
        )
    try:
        handle = open_beddb(source_of(tileset).datafile)
        return search(handle, text, limit)
    except generators.GeneratorError as exc:
        raise SuggestError(f"Unable to read tileset {uid}: {exc}", 500) from None
    except sqlite3.Error as exc:
        logger.exception("suggest on %s failed", uid)
        raise SuggestError(f"Unable to read tileset {uid} ({type(exc).__name__}).", 500) from None


def search(handle, text, limit=MAX_RESULTS):
    """Up to ``limit`` entries of an open beddb whose gene name starts with ``text``."""
    pattern = escape_like(text)
    out = []
    with handle.connection() as conn:
        if handle.version >= 3:
            for row in conn.execute(_BY_NAME, (pattern + "%", limit)):
                out.append(_suggestion(row))
            return out
        prefix = text.lower()
        for row in conn.execute(_BY_FIELDS, ("%" + pattern + "%", )):
            parts = (as_text(row[4]) or "").split("\t")
            if len(parts) > 3 and parts[3].lower().startswith(prefix):
                out.append(_suggestion(row))
                if len(out) >= limit:
                    break
    return out


def _int(value, fallback):
    try:
        return int(value)
    except (TypeError, ValueError):
        return fallback


def _suggestion(row):
    importance, offset, start, end, fields = row
    parts = (as_text(fields) or "").split("\t")
    parts += [""] * (4 - len(parts))
    if isinstance(offset, int) and isinstance(start, int) and isinstance(end, int):
        relative = (start - offset, end - offset)
    else:
        relative = (None, None)
    return {
        "chr": parts[0],
        "txStart": _int(parts[1], relative[0]),
        "txEnd": _int(parts[2], relative[1]),
        "score": importance,
        "geneName": parts[3],
    }
