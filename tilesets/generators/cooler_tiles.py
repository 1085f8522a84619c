"""cooler tiles: the stored pixels of a column of tiles read from HDF5 and laid out on the grid.

Tiles are 256×256 cells; the value at ``[row, col]`` comes from the stored pixel whose bin2 (y)
starts in the row and whose bin1 (x) starts in the column, in absolute genome coordinates.

The hot path reads HDF5 directly (no pandas, no cooler API): the rows of a tile are found with
``indexes/bin1_offset``, only their ``bin2_id``/``count`` ranges are read, at most ``READ_BLOCK``
pixels at a time, keeping only those of the requested tiles.
"""

import numpy as np

from .cooler_file import TILE_SIZE
from .dense import format_dense_tile

READ_BLOCK = 1 << 21
DIVIDING = frozenset(("KR", "VC", "VC_SQRT"))  # count ÷ v1 ÷ v2; ICE ``weight`` multiplies

_NO_CELLS = np.zeros(0, dtype=np.int64)


class _TileError(Exception):
    """A tile of the column cannot be made (the others can)."""


def _merge(ranges):
    merged = []
    for lo, hi in sorted(r for r in ranges if r[0] < r[1]):
        if merged and lo <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    return merged


def _read_pixels(level, a1, b1, ranges):
    """Stored pixels with a1 ≤ bin1 < b1 and bin2 in one of ``ranges``, in pixel-table order, as
    (bin1 − a1, bin2, count) arrays."""
    ranges = _merge(ranges)
    empty = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, level.dataset("pixels/count").dtype))
    if a1 >= b1 or not ranges:
        return empty
    offsets = np.asarray(level.vector("indexes/bin1_offset", a1, b1 + 1), dtype=np.int64)
    start, stop = int(offsets[0]), int(offsets[-1])
    bin2_ds, count_ds = level.dataset("pixels/bin2_id"), level.dataset("pixels/count")
    parts = []
    for block in range(start, stop, READ_BLOCK):
        end = min(stop, block + READ_BLOCK)
        bin2 = bin2_ds[block:end]
        mask = None
        for lo, hi in ranges:
            inside = (bin2 >= lo) & (bin2 < hi)
            mask = inside if mask is None else mask | inside
        index = np.flatnonzero(mask)
        if not index.size:
            continue
        first, last = int(index[0]), int(index[-1])
        counts = count_ds[block + first : block + last + 1][index - first]
        rows = _rows_of(offsets, block, end)[index]
        parts.append((rows, bin2[index].astype(np.int64, copy=False), counts))
    if not parts:
        return empty
    if len(parts) == 1:
        return parts[0]
    return tuple(np.concatenate(column) for column in zip(*parts))


def _rows_of(offsets, block, end):
    """For each pixel block … end-1, its row: the index r with offsets[r] ≤ pixel < offsets[r+1]."""
    first = int(np.searchsorted(offsets, block, "right")) - 1
    last = int(np.searchsorted(offsets, end - 1, "right")) - 1
    sizes = np.diff(np.clip(offsets[first : last + 2], block, end))
    return np.repeat(np.arange(first, last + 1), sizes)


def _transform_column(transform, columns):
    """(column, divide) for a balanced transform, (None, False) for raw counts; raises _TileError
    when the file lacks the requested column."""
    if transform == "weight" or (transform == "default" and "weight" in columns):
        column, divide = "weight", False
    elif transform in DIVIDING:
        column, divide = transform, True
    else:
        return None, False
    if column not in columns:
        raise _TileError(f"the transform {transform!r} is not available at this resolution (no bins/{column} column)")
    return column, divide


def _past_end(length, start, end, resolution):
    """Cells [first, last) of the tile span [start, end) that hold the positions length,
    length + r, … (< end): from the cell containing the genome end onwards."""
    if length >= end:
        return None
    steps = 0 if length >= start else -(-(start - length) // resolution)
    position = length + steps * resolution
    if position >= end:
        return None
    first = (position - start) // resolution
    return first, first + -(-(end - position) // resolution)


def column_tiles(level, x, items):
    """The tiles (same zoom level and x) in ``items`` = [(request, y, transform, empty_read)]."""
    resolution = level.resolution
    width = TILE_SIZE * resolution
    x_start, x_end = x * width, (x + 1) * width
    a1, b1 = level.first_bin(x_start), level.first_bin(x_end)
    col_of_bin = (level.starts(a1, b1) - x_start) // resolution
    col_repeats = level.may_share_cells(a1, b1) and _repeats(col_of_bin)

    spans = {}
    for _, y, _, empty in items:
        if not empty and y not in spans:
            spans[y] = (level.first_bin(y * width), level.first_bin((y + 1) * width))
    rows, bin2, counts = _read_pixels(level, a1, b1, list(spans.values()))
    single_span = len(spans) == 1
    x_past_end = _past_end(level.length, x_start, x_end, resolution)
    column_weights = {}  # transform column -> (its values for the x bins, NaN columns)

    answer = {}
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for request, y, transform, empty in items:
            y_start, y_end = y * width, (y + 1) * width
            out = np.zeros((TILE_SIZE, TILE_SIZE), dtype=np.float32)
            if empty:
                nan_cols = nan_rows = _NO_CELLS
            else:
                try:
                    column, divide = _transform_column(transform, level.columns)
                except _TileError as exc:
                    answer[request.id] = {"error": f"Unable to make this tile: {exc}"}
                    continue
                a2, b2 = spans[y]
                row_of_bin = (level.starts(a2, b2) - y_start) // resolution
                if single_span:
                    t_rows, t_bin2, t_counts = rows, bin2, counts
                else:
                    keep = (bin2 >= a2) & (bin2 < b2)
                    t_rows, t_bin2, t_counts = rows[keep], bin2[keep], counts[keep]
                local2 = t_bin2 - a2
                if column is None:
                    values = t_counts if t_counts.dtype.kind in "iub" else _nan_to_zero(t_counts.copy())
                else:
                    if column not in column_weights:
                        v1 = level.vector("bins/" + column, a1, b1)
                        column_weights[column] = (v1, col_of_bin[np.isnan(v1)])
                    v1, nan_cols = column_weights[column]
                    v2 = level.vector("bins/" + column, a2, b2)
                    if divide:
                        values = t_counts / v1[t_rows] / v2[local2]
                    else:
                        values = t_counts * v1[t_rows] * v2[local2]
                    values = _nan_to_zero(values)
                    nan_rows = row_of_bin[np.isnan(v2)]
                flat = row_of_bin[local2] * TILE_SIZE + col_of_bin[t_rows]
                if col_repeats or (level.may_share_cells(a2, b2) and _repeats(row_of_bin)):
                    # Chromosome boundaries: two bins in one cell; the later pixel in table order wins.
                    _, last = np.unique(flat[::-1], return_index=True)
                    keep = flat.size - 1 - last
                    flat, values = flat[keep], values[keep]
                out.reshape(-1)[flat] = values  # float64 beyond float32's range becomes ±inf
                if column is None:
                    answer[request.id] = format_dense_tile(out.reshape(-1))
                    continue
            out[:, nan_cols] = np.nan
            out[nan_rows, :] = np.nan
            if x_past_end:
                out[:, x_past_end[0] : x_past_end[1]] = np.nan
            cells = _past_end(level.length, y_start, y_end, resolution)
            if cells:
                out[cells[0] : cells[1], :] = np.nan
            answer[request.id] = format_dense_tile(out.reshape(-1))
    return answer


def _repeats(cells):
    """Whether two consecutive bins fall in the same cell."""
    return bool(cells.size > 1 and np.any(cells[1:] == cells[:-1]))


def _nan_to_zero(values):
    """numpy's nan_to_num, in place on a fresh array. For float64 only NaN needs replacing: the
    ±max-float64 that nan_to_num gives ±inf becomes ±inf again in the float32 tile. Narrower
    floats (float32 counts or weights) keep nan_to_num's ±max of their own type."""
    if values.dtype == np.float64:
        values[np.isnan(values)] = 0
        return values
    return np.nan_to_num(values, copy=False)
