"""The options of the fragments endpoints: their catalogue (what ``GET /fragments_by_loci/``
answers) and their parsing from the query string and the JSON body into typed values.

Each option has a long and a short name (``dims`` / ``di``). It is read from the query string
(short name first, then long), else from the body's object (same order), else its default. A
query value left empty means the default, except for a boolean given bare (``?nb``), which is on.
Booleans follow the server's one rule (JSON booleans, true/false, 1/0, yes/no, on/off).
"""

import math

from higlass_server.exceptions import ServiceError
from higlass_server.values import parse_bool

ENCODINGS = ("matrix", "b64", "image")
AGGREGATIONS = ("mean", "median", "std", "var")

# name -> short name, type, default, help (the answer of GET /api/v1/fragments_by_loci/)
CATALOGUE = {
    "dims": {"short": "di", "dtype": "int", "default": 22,
             "help": "Output pixels per side of each fragment (a locus may give its own as its last element)."},
    "padding": {"short": "pd", "dtype": "float", "default": 0,
                "help": "Add this percent (whole, 0-100) of each region's size around it, half on each side."},
    "no-balance": {"short": "nb", "dtype": "bool", "default": False,
                   "help": "Raw counts instead of balanced (ICE weight) values."},
    "percentile": {"short": "pe", "dtype": "float", "default": 100.0,
                   "help": "Cap the values at this percentile (0-100) of the fragment."},
    "precision": {"short": "pr", "dtype": "int", "default": 0,
                  "help": "Round the values to this many decimals (0: not rounded)."},
    "no-cache": {"short": "nc", "dtype": "bool", "default": False,
                 "help": "Neither read nor write the Redis cache for this request."},
    "ignore-diags": {"short": "nd", "dtype": "int", "default": 0,
                     "help": "Leave out this many diagonals around the main one (they read 1 in the answer)."},
    "no-normalize": {"short": "nn", "dtype": "bool", "default": False,
                     "help": "Keep the values instead of scaling each fragment to 0-1."},
    "aggregate": {"short": "ag", "dtype": "bool", "default": False,
                  "help": "Answer one fragment aggregating all of them."},
    "aggregation-method": {"short": "am", "dtype": "str", "default": "mean",
                           "help": "How to aggregate: mean, median, std or var."},
    "max-previews": {"short": "mp", "dtype": "int", "default": 0,
                     "help": "1-D previews: not served by this server (only 0)."},
    "encoding": {"short": "en", "dtype": "str", "default": "matrix",
                 "help": "matrix (nested lists), b64 (base64 PNG per fragment) or image (a PNG, or a zip of PNGs)."},
    "representatives": {"short": "rp", "dtype": "int", "default": 0,
                        "help": "Representative fragments: not served by this server (only 0)."},
}

# The options of the catalogue that GET /api/v1/fragments_by_chr/ takes too.
VALUE_OPTIONS = ("dims", "padding", "no-balance", "percentile", "precision", "no-cache", "ignore-diags",
                 "no-normalize", "encoding")

# The options of GET /api/v1/fragments_by_chr/ besides those.
CHR_OPTIONS = {
    "cooler": {"short": "cooler", "dtype": "str", "default": "",
               "help": "The uid of a registered cooler tileset (required)."},
    "chrom": {"short": "chrom", "dtype": "str", "default": "", "help": "The chromosome (required)."},
    "start": {"short": "start", "dtype": "int", "default": 0, "help": "First base of the part to cut (bp)."},
    "end": {"short": "end", "dtype": "int", "default": -1, "help": "End of the part to cut (bp; -1: the chromosome's end)."},
    "resolution": {"short": "resolution", "dtype": "int", "default": -1,
                   "help": "Bin size in bp (the closest available one; -1: the finest)."},
    "zoomout-level": {"short": "zoomout-level", "dtype": "int", "default": -1,
                      "help": "Resolutions coarser than the finest (0: the finest); instead of resolution."},
    "window": {"short": "window", "dtype": "int", "default": -1,
               "help": "Size of each fragment in bp (-1: dims bins of the resolution)."},
    "limit": {"short": "limit", "dtype": "int", "default": -1, "help": "At most this many fragments (-1: all)."},
    "measures": {"short": "measures", "dtype": "str", "default": "",
                 "help": "Comma-separated: distance-to-diagonal, size, noise, sharpness."},
    "for-config": {"short": "for-config", "dtype": "bool", "default": False,
                   "help": "Answer the loci as rows under fragmentsHeader, without matrices."},
}

_MISSING = object()


def _raw(name, short, query, body):
    """(value, from the query?) or (_MISSING, False)."""
    for source, in_query in ((query, True), (body, False)):
        for key in dict.fromkeys((short, name)):
            if key in source:
                return (source[key], in_query)
    return (_MISSING, False)


def _typed(name, kind, value, in_query):
    if kind == "bool":
        try:
            return parse_bool(value, name)
        except ValueError as exc:
            raise ServiceError(f"{exc}.") from None
    if kind == "str":
        if not isinstance(value, str):
            raise ServiceError(f"{name} must be text, got {value!r}.")
        return value.strip()
    if isinstance(value, bool):
        raise ServiceError(f"{name} must be a number, got {value!r}.")
    if kind == "int":
        if isinstance(value, int):
            return value
        try:
            return int(str(value).strip())
        except ValueError:
            raise ServiceError(f"{name} must be an integer, got {value!r}.") from None
    try:
        number = float(str(value).strip()) if not isinstance(value, (int, float)) else float(value)
    except ValueError:
        raise ServiceError(f"{name} must be a number, got {value!r}.") from None
    if not math.isfinite(number):
        raise ServiceError(f"{name} must be a finite number, got {value!r}.")
    return number


def parse(query, body=None, catalogue=CATALOGUE):
    """``{name: typed value}`` for every option of ``catalogue``; ServiceError (400) naming the
    option whose value does not parse or lies outside its range."""
    body = body if isinstance(body, dict) else {}
    options = {}
    for name, spec in catalogue.items():
        value, in_query = _raw(name, spec["short"], query, body)
        empty = isinstance(value, str) and not value.strip()
        if empty and in_query and spec["dtype"] == "bool":
            options[name] = True  # a bare flag: ?nb
        elif value is _MISSING or value is None or empty:
            options[name] = spec["default"]
        else:
            options[name] = _typed(name, spec["dtype"], value, in_query)
    _check(options)
    return options


def _check(options):
    def need(condition, message):
        if not condition:
            raise ServiceError(message)

    if "dims" in options:
        need(options["dims"] >= 1, f"dims must be at least 1, got {options['dims']}.")
    if "percentile" in options:
        need(0 <= options["percentile"] <= 100, f"percentile must lie in 0-100, got {options['percentile']}.")
    if "ignore-diags" in options:
        need(options["ignore-diags"] >= 0, f"ignore-diags must not be negative, got {options['ignore-diags']}.")
    if "precision" in options:
        need(0 <= options["precision"] <= 15, f"precision must lie in 0-15, got {options['precision']}.")
    if "encoding" in options:
        need(options["encoding"] in ENCODINGS,
             f"encoding must be one of {', '.join(ENCODINGS)}, got {options['encoding']!r}.")
    if "aggregation-method" in options:
        need(options["aggregation-method"] in AGGREGATIONS,
             f"aggregation-method must be one of {', '.join(AGGREGATIONS)}, got {options['aggregation-method']!r}.")
    for name in ("max-previews", "representatives"):
        if name in options:
            need(options[name] == 0, f"{name} is not served by this server (only 0).")
