"""Genome coordinates shared by the 1-D generators (tiles.md §5.4, §6.3, §15)."""

import bisect


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
