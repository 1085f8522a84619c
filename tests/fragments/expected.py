"""Expected fragments, computed independently of the server: cooler's own dense selection
``Cooler.matrix(balance=...)[i0:i1, j0:j1]`` for the locus' bins, resampled with
``scipy.ndimage.zoom`` and block means and finished with the value rules, written out literally
(cell by cell where that is clearer than fast)."""

import math

import cooler
import numpy as np
from scipy import ndimage


def resolution_for(resolutions, zoom, span, dims):
    """The multi-resolution rule: zoom ≥ 0 is a resolution (closest, finer on ties); -1: the
    coarsest no larger than bp per pixel, the finest when none is, the coarsest when all are."""
    ordered = sorted(resolutions)
    if zoom >= 0:
        best = ordered[0]
        for r in ordered:
            if abs(r - zoom) < abs(best - zoom):
                best = r
        return best
    per_pixel = span / dims
    chosen = ordered[0]
    for r in ordered:
        if r <= per_pixel:
            chosen = r
    return chosen


def bins_of(clr, chrom, start, end, dims, padding):
    """[first, stop) bins of one side (rounding, percent padding, widening to dims)."""
    res = clr.binsize
    names = list(clr.chromnames)
    name = chrom if chrom in names else f"chr{chrom}"
    sizes = [math.ceil(n / res) for n in clr.chromsizes.values]
    offset = sum(sizes[: names.index(name)])
    first = offset + int(round(start / res))
    stop = offset + int(round(end / res)) + 1
    pad = int(round((stop - first) / 2 * min(100, max(0, padding)) / 100))
    first -= pad
    stop += pad
    if stop - first < dims:
        grow = (dims - (stop - first)) // 2
        first -= grow
        stop += grow
    if stop - first < dims:
        stop = first + dims
    return first, stop


def dense(clr, box, balance=True):
    """The box of the genome-wide matrix (zeros outside the genome), NaN where cooler gives NaN."""
    s1, e1, s2, e2 = box
    n = clr.info["nbins"]
    out = np.zeros((e1 - s1, e2 - s2))
    a1, b1, a2, b2 = max(s1, 0), min(e1, n), max(s2, 0), min(e2, n)
    if a1 < b1 and a2 < b2:
        out[a1 - s1:b1 - s1, a2 - s2:b2 - s2] = clr.matrix(balance=balance)[a1:b1, a2:b2]
    return out


def coarsen(values, side):
    """Linear zoom to a multiple of ``side`` per axis, then block means (per axis)."""
    mults = [math.ceil(n / side) if side < n else 1 for n in values.shape]
    target = [side * m for m in mults]
    factors = np.array(target) / np.array(values.shape) + 1e-7
    out = ndimage.zoom(values, factors, order=1)
    assert list(out.shape) == target
    for axis, m in enumerate(mults):
        if m > 1:
            shape = list(out.shape)
            shape[axis: axis + 1] = [shape[axis] // m, m]
            out = out.reshape(shape).mean(axis=axis + 1)
    return out


def fragment(clr, locus, dims, padding=0, balance=True, percentile=100.0, ignore_diags=0, normalize=True):
    """The expected fragment of ``locus`` = (chrom1, start1, end1, chrom2, start2, end2)."""
    c1, st1, en1, c2, st2, en2 = locus
    s1, e1 = bins_of(clr, c1, st1, en1, dims, padding)
    s2, e2 = bins_of(clr, c2, st2, en2, dims, padding)
    values = dense(clr, (s1, e1, s2, e2), balance)
    low = np.isnan(values)
    values[low] = 0
    scaled = values.shape[0] > dims or values.shape[1] > dims
    if scaled:
        values = coarsen(values, dims)
    if normalize:
        values = values - values.min()
    n = clr.info["nbins"]
    crosses = max(s1, s2, 0) < min(e1, e2, n)
    band = np.zeros(values.shape, dtype=bool)
    if ignore_diags > 0 and crosses:
        offset = int(np.rint((s2 - s1) * dims / (e1 - s1)))
        for r in range(dims):
            for c in range(dims):
                if abs((r - c) - offset) < ignore_diags:
                    band[r, c] = True
        values[band] = 0
    cap = np.percentile(values, percentile)
    values = np.clip(values, 0, cap)
    if normalize and cap > 0:
        values = values / cap
    values[band] = 1.0
    if not scaled:
        values[low] = -1
    return values


def open_resolution(path, resolution):
    return cooler.Cooler(f"{path}::resolutions/{resolution}")
