"""Reading typed values from text (settings, query parameters, JSON bodies). No Django here.

The one boolean rule: JSON ``true``/``false``, the numbers 1/0, and the words
``true/false, 1/0, yes/no, on/off, t/f, y/n`` in any case and with surrounding blanks ignored.
The empty text (``"DEBUG": ""`` in config.json) is False: a value that says nothing never
switches a setting on. An environment variable set to "" counts as unset (settings skip it before
calling this), so there the default applies. A query flag given without a value (a bare ``?cum``
or ``?cum=``) is a different thing: the flag is present, so :func:`query_flag` reads it as on, as
the reference server and this server always have; a value, when given, follows the rule above.
"""

import json

from .exceptions import ServiceError

TRUE_WORDS = frozenset({"1", "true", "yes", "on", "y", "t"})
FALSE_WORDS = frozenset({"0", "false", "no", "off", "n", "f", ""})


def parse_bool(value, name="value"):
    """``value`` as a bool; ValueError naming ``name`` and the accepted spellings otherwise."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in TRUE_WORDS:
            return True
        if text in FALSE_WORDS:
            return False
    raise ValueError(f"{name} must be a boolean (true/false, 1/0, yes/no, on/off), got {value!r}")


def query_flag(params, name, default=False):
    """The boolean query parameter ``name`` of ``params`` (a mapping of text): ``default`` when it
    is absent, True when present without a value, else its value by :func:`parse_bool`; a
    ServiceError (400) naming it when that is not a boolean."""
    if name not in params:
        return default
    if not str(params[name]).strip():
        return True  # a bare flag
    try:
        return parse_bool(params[name], name)
    except ValueError as exc:
        raise ServiceError(f"{exc}.") from None


MAX_JSON_DEPTH = 200  # a HiGlass view config nests about 15 levels


def parse_json(raw, max_depth=MAX_JSON_DEPTH):
    """A request body (bytes or text) as JSON; ValueError when it is not JSON or nests deeper than
    ``max_depth`` arrays and objects (deep documents would make later steps — validation, storage,
    rendering — recurse past Python's limit: bad input, not a server error)."""
    try:
        value = json.loads(raw)
    except RecursionError:
        raise ValueError("the JSON nests too deeply") from None
    except UnicodeDecodeError as exc:
        raise ValueError(f"the body is not UTF-8 text ({exc.reason})") from None
    if _depth_exceeds(value, max_depth):
        raise ValueError(f"the JSON nests more than {max_depth} levels deep")
    return value


def _depth_exceeds(value, limit):
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = item.values()
        elif not isinstance(item, list):
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in item if isinstance(child, (dict, list)))
    return False
