"""Genome coordinates shared by the 1-D generators: pieces of a range per chromosome, and
clodius' "natural" chromosome order."""

import bisect
import functools
import re


def pieces(offsets, lengths, start, end):
    """Split the absolute range [start, end) at chromosome boundaries.

    ``offsets`` are the cumulative chromosome starts with the genome length last
    (``[0, len0, len0 + len1, ..., total]``). Yields ``(chromosome index, start, end)`` relative
    to that chromosome; past the genome end the index is ``len(lengths)`` and the coordinates are
    relative to the genome end. A range ending exactly on a chromosome start yields an empty
    ``(next, 0, 0)`` piece, as the reference does.
    """
    low = bisect.bisect_right(offsets, start) - 1
    high = bisect.bisect_right(offsets, end) - 1
    piece_start = start - offsets[low]
    for index in range(low, high):
        yield index, piece_start, lengths[index]
        piece_start = 0
    yield high, piece_start, end - offsets[high]


# --- chromosome order ---------------------------------------------------------------------

_DIGIT_RUNS = re.compile(r"(\d+)")


def _runs(name):
    return tuple(int(part) if part.isdigit() else part for part in _DIGIT_RUNS.split(name) if part)


def natural_cmp(a, b):
    """clodius' chromosome comparator; only ``natural_cmp(a, b) < 0`` ("a is less") matters.

    1. a has ``_``: if b has one too, compare the parts between the first and the second ``_``
       of each (what clodius does: ``name.split("_")[1]``); otherwise a is not less.
    2. b has ``_`` (a has not): a is less.
    3. for ``m``, ``y``, ``x`` in that order: b contains it (any case) -> less; else a contains
       it -> not less.
    4. tuples of digit runs (ints) and other runs (text): less iff a's tuple < b's; a comparison
       of an int with text counts as not less.
    The relation is not a proper order (chrX is "less" than chrX, chrom1 sorts after chrY);
    sorting with it is still deterministic for a given input order, which is what clodius does.
    """
    if "_" in a:
        if "_" in b:
            return natural_cmp(a.split("_")[1], b.split("_")[1])
        return 1
    if "_" in b:
        return -1
    lower_a, lower_b = a.lower(), b.lower()
    for letter in "myx":
        if letter in lower_b:
            return -1
        if letter in lower_a:
            return 1
    try:
        return -1 if _runs(a) < _runs(b) else 1
    except TypeError:
        return 1


natural_sort_key = functools.cmp_to_key(natural_cmp)


def natural_sorted(names):
    """``names`` in clodius' natural order: a stable sort that only asks "less than"."""
    return sorted(names, key=natural_sort_key)
