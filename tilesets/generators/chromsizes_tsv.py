"""chromsizes-tsv: an assembly's chromosome names and lengths, one ``name<TAB>length`` per line."""

import io

from ..formats import access
from .base import Generator, GeneratorError

MAX_REMOTE_BYTES = 64 << 20  # a remote chromosome list longer than this is refused


def read_chromsizes(path):
    """Rows ``(name, length)`` in file order. Blank lines and ``#`` comments are skipped; columns
    after the second (UCSC chromInfo files have a third) are ignored. ``path`` may be a URL (at
    most ``MAX_REMOTE_BYTES`` then)."""
    rows, seen = [], set()
    if access.is_remote(path) and access.size_of(path) > MAX_REMOTE_BYTES:
        raise GeneratorError(f"{access.shown(path)} is too large for a list of chromosome sizes")
    try:
        with io.TextIOWrapper(access.open_binary(path), encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                line = line.rstrip("\r\n")
                if not line.strip() or line.startswith("#"):
                    continue
                parts = line.split("\t") if "\t" in line else line.split()
                if len(parts) < 2:
                    raise GeneratorError(f"line {number}: expected 'name<TAB>length', got {line[:80]!r}")
                name, length = parts[0].strip(), parts[1].strip()
                if not length.isdigit() or int(length) <= 0:
                    raise GeneratorError(f"line {number}: the length {length[:40]!r} is not a positive integer")
                if name in seen:
                    raise GeneratorError(f"line {number}: chromosome {name!r} is listed twice")
                seen.add(name)
                rows.append((name, int(length)))
    except UnicodeDecodeError:
        raise GeneratorError("not a text file") from None
    except OSError as exc:
        raise GeneratorError(f"cannot read the file: {exc.strerror or exc}") from None
    if not rows:
        raise GeneratorError("no chromosomes found")
    return rows


def validate(datafile, indexfile=None):
    read_chromsizes(datafile)


def chromsizes(source):
    return read_chromsizes(source.datafile)


def tileset_info(source):
    # The reference reads the chromsizes tileset found by coordSystem; we read the file itself.
    return {"chromsizes": [[name, length] for name, length in read_chromsizes(source.datafile)]}


GENERATOR = Generator(
    filetype="chromsizes-tsv",
    validate=validate,
    tileset_info=tileset_info,
    chromsizes=chromsizes,
    assembly=True,
)
