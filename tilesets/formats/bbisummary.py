"""pybbi's summary of a window from zoom records or base-level data, in numpy, to the last bit.

The arithmetic of pybbi's ``array_query_summarized`` over the bundled UCSC ``bbiRead.c`` (the
version with ``normalizeCount``, checked in the compiled module), given the zoom records
:mod:`.bbizoom` selected:

* Bin i covers [start + (end - start) * i // bins, start + (end - start) * (i + 1) // bins).
  Walking the records in order, every record overlapping the bin by ``o > 0`` bases adds, in
  double precision, ``validCount * f``, ``sum * f`` and ``sumSquares * f`` with
  ``f = o / (record end - record start)``; min and max start from the bin's first record and
  take a record's value only if strictly smaller/larger (so a NaN never wins).
* When the weighted count ``c`` is positive: ``n = ceil(c)`` (unsigned 32-bit), the sums are
  scaled by ``n / c``; mean = sum / n, std = sqrt(var) with var = squares - sum * sum / n,
  divided by n - 1 when n > 1 (a slightly negative var gives NaN, as in C).
* Bins whose edge ``start + int((i + 1) * step)`` (``step = (end - start) / bins``, a double)
  lies past the chromosome end, and bins without data, are NaN.

From base-level data (``full``; pybbi's ``_bbiSummariesFromFull`` and ``bbiIntervalSlice``,
used where no zoom level is fine enough) the same holds with intervals (start, end, value) in
place of records, except that an interval adds ``w = size * (o / size)`` (its ``intervalWeight``,
``size`` = end - start) to the count, ``value * w`` to the sum and ``value * value * w`` to the
squares; and an empty bin (more bins than bases) is widened to one base for the walk.

The numpy version sums record by record in the same order (one pass per record position over all
bins, never a pairwise reduction), so each float operation is the one the C code performs. A bin
taking more than ``MAX_RECORDS_PER_BIN`` records (or intervals) gives None (only files with widely
spaced zoom levels come near: numpy then costs more than pybbi's C loop, which the caller falls
back to). The callers ask with ``missing`` = ``oob`` = NaN, so a window without data is all NaN.
"""

import numpy as np

MAX_RECORDS_PER_BIN = 128

_NAN = float("nan")


def summarize(records, start, end, bins, valid_start, valid_end, stats, full=False):
    """pybbi's ``_bbiSummariesFromZoom`` + ``bbiSummarySlice`` + output loop, over all bins at
    once; see the module docstring. ``records`` (a float64 array (8, records) from
    :meth:`.bbizoom.ZoomReader._records`) are sorted and disjoint; the answer is a float64 array
    (len(stats), bins). None when a bin takes more than MAX_RECORDS_PER_BIN records.

    With ``full``, ``records`` are base-level intervals instead (a float64 array (3, n) of
    starts, ends and values from :meth:`.bbidata.DataReader.bigwig_intervals`, sorted and
    disjoint), summarised as ``_bbiSummariesFromFull`` + ``bbiIntervalSlice`` do (see the module
    docstring)."""
    with np.errstate(all="ignore"):  # inf/NaN in a file behave as in C, without warnings
        return _summarize_bins(records, start, end, bins, valid_start, valid_end, stats, full)


def _summarize_bins(records, start, end, bins, valid_start, valid_end, stats, full):
    out = np.full((len(stats), bins), _NAN)
    starts, ends = (records[0], records[1]) if full else (records[1], records[2])
    if not len(starts):
        return out
    span = end - start
    edges = start + (span * np.arange(bins + 1, dtype=np.int64)) // bins
    edges = edges.astype(np.float64)
    bin_starts, bin_ends = edges[:-1], edges[1:]
    if full:  # the walk over base-level data widens an empty bin to one base
        bin_ends = np.where(bin_ends == bin_starts, bin_starts + 1.0, bin_ends)

    # Bin i walks the records first[i] .. first[i] + taken[i] - 1: pybbi skips those ending at
    # or before the bin's start, then stops at the first one starting at or after its end.
    first = np.searchsorted(ends, bin_starts, side="right")
    taken = np.searchsorted(starts, bin_ends, side="left") - first
    most = int(taken.max())
    if most > MAX_RECORDS_PER_BIN:
        return None
    if most <= 0:
        return out
    # (most, bins) tables: row j holds each bin's j-th record; ``used`` masks the rows past a
    # bin's last record and records without overlap (none when the bin is not empty).
    position = np.arange(most)[:, None]
    index = np.minimum(first + position, len(starts) - 1)

    def picked(row):
        return records[row].take(index)

    record_starts, record_ends = starts.take(index), ends.take(index)
    overlap = np.minimum(bin_ends, record_ends) - np.maximum(bin_starts, record_starts)
    used = (position < taken) & (overlap > 0)
    sizes = record_ends - record_starts
    factor = overlap / sizes
    if full:
        factor = sizes * factor  # intervalWeight: the size times the overlapping fraction

    want_mean, want_std = "mean" in stats or "std" in stats, "std" in stats

    def running_sum(terms):
        terms = np.where(used, terms, 0.0)
        total = np.zeros(bins)
        for j in range(most):
            total = terms[j] + total  # record by record, from 0 as in C (never pairwise)
        return total

    if full:
        values = picked(2)
        weight = running_sum(factor)
        total = running_sum(values * factor) if want_mean else None
        squares = running_sum((values * values) * factor) if want_std else None
        lows = highs = values
    else:
        weight = running_sum(picked(3) * factor)
        total = running_sum(picked(6) * factor) if want_mean else None
        squares = running_sum(picked(7) * factor) if want_std else None
        lows, highs = picked(4), picked(5)

    # normalizeCount: n = ceil(weight) as an unsigned 32-bit count (C: double -> 64-bit int,
    # low 32 bits kept), the sums scaled by n / weight.
    ceiling = np.ceil(weight)
    count = np.where(ceiling < 2.0 ** 63, ceiling, 0.0).astype(np.int64) & 0xFFFFFFFF
    n = count.astype(np.float64)
    scale = n / weight

    # pybbi's output loop: out-of-range bins by the double step, then validCount > 0.
    step = span / bins
    edge_positions = start + (np.arange(bins + 1, dtype=np.float64) * step).astype(np.int64)
    filled = (weight > 0) & (count > 0)
    filled &= (edge_positions[:-1] >= valid_start) & (edge_positions[1:] <= valid_end)

    for row, stat in enumerate(stats):
        if stat == "mean":
            value = (total * scale) / n
        elif stat == "min":
            value = _running_extreme(lows, used, np.greater)
        elif stat == "max":
            value = _running_extreme(highs, used, np.less)
        elif stat == "std":
            scaled = total * scale
            variance = squares * scale - scaled * scaled / n
            variance = np.where(count > 1, variance / (n - 1.0), variance)
            value = np.sqrt(variance)
        else:
            raise ValueError(f"unknown summary {stat!r}")
        out[row] = np.where(filled, value, _NAN)
    return out


def _running_extreme(values, used, replaces):
    """bbiSummarySlice's min (``replaces`` = greater) or max (less): start from each bin's first
    record, take a later record's value only when ``replaces(current, value)`` (never a NaN)."""
    current = values[0]
    for j in range(1, len(values)):
        current = np.where(used[j] & replaces(current, values[j]), values[j], current)
    return current
