"""Small bigWig files for the bigWig tests, and what their tiles must contain.

The files are written with pyBigWig from a per-base "truth" (float64 array per chromosome, NaN
where nothing was written). The expected tiles are computed from that truth with plain numpy,
following the bigWig tile rules (pieces per chromosome, n equal parts, NaN for absent chromosomes and past
the genome, the 0.18/0.20 drop rule) and the dense encoding — without pybbi and without the
generator's code.

Without zoom levels (``zooms=0``) pybbi summarises the raw intervals: a part's mean is the
coverage-weighted mean over its covered bases, min/max over the intervals touching it, std the
sample standard deviation (n - 1) over covered bases computed from the sums. With integer values
and intervals that split into exact weights every sum is exact, so the expectations are exact to
the last bit.
"""

import base64

import numpy as np
import pyBigWig

# The assembly of the tests (coordSystem hgT), in TSV order. chrM is not in the bigWig.
HGT = [("chr1", 3059), ("chr2", 1821), ("chr3", 983), ("chrX", 689), ("chrM", 23)]
IN_FILE = HGT[:4]
STATS = {"mean": ("mean",), "min": ("min",), "max": ("max",), "std": ("std",),
         "minMax": ("min", "max"), "whisker": ("min", "max", "mean", "std")}


def truth_signal(seed=7):
    """Per-base values of the test bigWig: integers in [-20, 100] with explicit gaps.

    chr1, chr2, chrX are written base by base (fixed step, span 1); chr3 as bedGraph intervals of
    varying lengths (see :func:`chr3_intervals`).
    """
    rng = np.random.default_rng(seed)
    signal = {}
    for name, length in IN_FILE:
        signal[name] = rng.integers(-20, 101, size=length).astype(float)
    signal["chr1"][1500:1700] = np.nan  # a gap; chr1 [0, 1024) stays fully covered (float16 tile)
    signal["chr1"][3050:] = np.nan  # nothing at the very end of chr1
    signal["chr2"][:40] = np.nan
    signal["chr2"][1000:1010] = np.nan
    signal["chr3"] = np.full(983, np.nan)
    for start, end, value in chr3_intervals():
        signal["chr3"][start:end] = value
    return signal


def chr3_intervals():
    """bedGraph-style intervals on chr3 (length 983): runs of 1-64 bases, a few gaps."""
    rng = np.random.default_rng(3)
    intervals, position = [], 0
    while position < 983:
        if rng.random() < 0.15:
            position += int(rng.integers(1, 30))  # a gap
            continue
        end = min(983, position + int(2 ** rng.integers(0, 7)))
        intervals.append((position, end, float(rng.integers(-20, 101))))
        position = end
    return intervals


def write_bigwig(path, chroms, signal, intervals=None, zooms=0):
    """A bigWig with header ``chroms``; per-base runs of ``signal`` (span 1), and the bedGraph
    ``intervals`` ({chrom: [(start, end, value)]}) for the chromosomes listed there."""
    intervals = intervals or {}
    bw = pyBigWig.open(str(path), "w")
    bw.addHeader(list(chroms), maxZooms=zooms)
    for name, _length in sorted(chroms):  # entries must follow the header order of the file
        if name in intervals:
            rows = intervals[name]
            bw.addEntries([name] * len(rows), [r[0] for r in rows], ends=[r[1] for r in rows],
                          values=[r[2] for r in rows])
            continue
        values = signal.get(name)
        if values is None:
            continue
        covered = ~np.isnan(values)
        edges = np.flatnonzero(np.diff(np.r_[0, covered.astype(int), 0]))
        for start, end in zip(edges[::2], edges[1::2]):
            bw.addEntries(name, int(start), values=values[start:end].tolist(), span=1, step=1)
    bw.close()
    return path


def write_test_bigwig(path, zooms=0):
    signal = truth_signal()
    write_bigwig(path, IN_FILE, signal, intervals={"chr3": chr3_intervals()}, zooms=zooms)
    return signal


# --- expectations ---------------------------------------------------------------------------


def max_zoom_of(total):
    """Smallest z with 1024 * 2^z >= total (= ceil(log2(ceil(total / 1024))))."""
    zoom = 0
    while 1024 * 2 ** zoom < total:
        zoom += 1
    return zoom


def _part_stats(values, edges, stat):
    """``stat`` over values[edges[i]:edges[i+1]] for each part; NaN where nothing is covered."""
    covered = ~np.isnan(values)
    filled = np.where(covered, values, 0.0)
    count = np.r_[0, np.cumsum(covered)][edges]
    total = np.r_[0.0, np.cumsum(filled)][edges]
    squares = np.r_[0.0, np.cumsum(filled * filled)][edges]
    n = np.diff(count).astype(float)
    s = np.diff(total)
    q = np.diff(squares)
    with np.errstate(invalid="ignore", divide="ignore"):
        if stat == "mean":
            out = s / n
        elif stat == "std":
            var = q - s * s / n
            var = np.where(n > 1, var / np.where(n > 1, n - 1, 1), var)
            out = np.sqrt(var)
        elif stat == "min":
            out = np.fmin.reduceat(values[:edges[-1]], edges[:-1])
        elif stat == "max":
            out = np.fmax.reduceat(values[:edges[-1]], edges[:-1])
    return np.where(n > 0, out, np.nan)


def expected_values(rows, signal, zoom, x, mode="mean"):
    """The float64 array tile (zoom, x) must hold, for chromosome order ``rows`` and the per-base
    ``signal`` of the chromosomes present in the file."""
    stats = STATS.get(mode, ("mean",))
    total_length = sum(length for _, length in rows)
    binsize = 2 ** (max_zoom_of(total_length) - zoom)
    tile_start, tile_end = x * 1024 * binsize, (x + 1) * 1024 * binsize
    parts = []
    offset = 0
    for name, length in rows:
        lo, hi = max(tile_start, offset), min(tile_end, offset + length)
        if lo < hi:
            start, end = lo - offset, hi - offset
            n = -(-(end - start) // binsize)
            if name not in signal:
                parts.append(np.full((n, len(stats)), np.nan))
            else:
                edges = start + (end - start) * np.arange(n + 1) // n
                columns = [_part_stats(signal[name], edges, stat) for stat in stats]
                part = np.column_stack(columns)
                if end == length and length % binsize:
                    part = part[:-1]
                parts.append(part)
        offset += length
    if tile_end > total_length:
        n = -(-(tile_end - max(tile_start, total_length)) // binsize)
        parts.append(np.full((n, len(stats)), np.nan))
    values = np.concatenate(parts) if parts else np.zeros((0, len(stats)))
    return values if mode in ("minMax", "whisker") else values[:, 0]


def expected_tile(values):
    """The dense encoding written out independently: the JSON object of a dense tile of ``values``."""
    values = np.asarray(values, dtype=float)
    numbers = values[~np.isnan(values)]
    low = float(numbers.min()) if numbers.size else "NaN"
    high = float(numbers.max()) if numbers.size else "NaN"
    half = numbers.size == values.size and numbers.size > 0 and -65504 < low and high < 65504
    raw = values.reshape(-1).astype("<f2" if half else "<f4").tobytes()
    return {
        "min_value": low,
        "max_value": high,
        "dense": base64.b64encode(raw).decode("ascii"),
        "size": values.shape[1] if values.ndim == 2 else 1,
        "dtype": "float16" if half else "float32",
    }


def decode(tile):
    """The float64 values of a dense tile as the client reads them ((n, size) when size > 1)."""
    raw = base64.b64decode(tile["dense"])
    values = np.frombuffer(raw, dtype="<f2" if tile["dtype"] == "float16" else "<f4").astype(float)
    return values.reshape(-1, tile["size"]) if tile["size"] > 1 else values


def reference_values(path, rows, zoom, x, mode="mean"):
    """Tile (zoom, x) assembled the way clodius 0.18/0.20 does it, with one module-level
    ``bbi.fetch(path, chrom, s, e, bins=n, missing=nan, summary=stat)`` per piece and statistic
    (pybbi's default ``exact=False``: zoom levels are used when the file has them)."""
    import bbi

    stats = STATS.get(mode, ("mean",))
    total_length = sum(length for _, length in rows)
    binsize = 2 ** (max_zoom_of(total_length) - zoom)
    tile_start, tile_end = x * 1024 * binsize, (x + 1) * 1024 * binsize
    present = bbi.chromsizes(str(path))
    parts, offset = [], 0
    for name, length in rows:
        lo, hi = max(tile_start, offset), min(tile_end, offset + length)
        if lo < hi:
            start, end = lo - offset, hi - offset
            n = -(-(end - start) // binsize)
            if name not in present:
                parts.append(np.full((n, len(stats)), np.nan))
            else:
                part = np.column_stack([bbi.fetch(str(path), name, start, end, bins=n, missing=np.nan, summary=stat)
                                        for stat in stats])
                parts.append(part[:-1] if end == length and length % binsize else part)
        offset += length
    if tile_end > total_length:
        parts.append(np.full((-(-(tile_end - max(tile_start, total_length)) // binsize), len(stats)), np.nan))
    values = np.concatenate(parts)
    return values if mode in ("minMax", "whisker") else values[:, 0]
