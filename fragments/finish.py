"""From a cut matrix to the fragment the client sees: the value rules of the original server's
snippets (normalising, leaving diagonals out, capping at a percentile), aggregation, measures.

The input is one result of a generator's ``matrix`` capability: ``values`` (dims × dims, cells
without a value as 0), ``low_quality`` (mask of those cells, or None), ``diagonal`` (offset of
the main diagonal in bins, or None) and ``data_shape`` (bins per side before resampling).
"""

import numpy as np
from scipy import ndimage


def finish(result, percentile=100.0, ignore_diags=0, normalize=True):
    """The fragment (float64, dims × dims), in this order: the minimum subtracted (normalize);
    the ``ignore_diags`` diagonals nearest the main one set to 0; values capped to [0, the
    ``percentile``-th percentile]; divided by that cap (normalize, when it is > 0); the ignored
    diagonals set to 1; cells without a value set to -1 (only when not resampled)."""
    fragment = np.array(result["values"], dtype=np.float64)
    dims = fragment.shape[0]
    if normalize:
        fragment -= fragment.min()
    band = None
    if ignore_diags > 0 and result["diagonal"] is not None:
        offset = int(np.rint(result["diagonal"] * dims / result["data_shape"][0]))
        rows, cols = np.indices(fragment.shape)
        band = np.abs(rows - cols - offset) < ignore_diags
        fragment[band] = 0
    cap = np.percentile(fragment, percentile)
    fragment = np.clip(fragment, 0, cap)
    if normalize and cap > 0:
        fragment /= cap
    if band is not None:
        fragment[band] = 1.0
    if result["low_quality"] is not None:
        fragment[result["low_quality"]] = -1
    return fragment


def aggregate(fragments, method="mean"):
    """One fragment from many, cell by cell (mean, median, std or var); fragments of other sizes
    are first resized to the smallest (linear interpolation)."""
    side = min(fragment.shape[0] for fragment in fragments)
    stack = np.stack([
        fragment if fragment.shape[0] == side
        else ndimage.zoom(fragment, side / fragment.shape[0], order=1)[:side, :side]
        for fragment in fragments
    ])
    return {"mean": np.nanmean, "median": np.nanmedian, "std": np.nanstd, "var": np.nanvar}[method](stack, axis=0)


MEASURES = ("distance-to-diagonal", "size", "noise", "sharpness")


def measure(name, fragment, locus):
    """One measure of a fragment and its locus (dict with start1, end1, start2, end2 in bp)."""
    if name == "distance-to-diagonal":
        return abs(locus["end1"] - locus["start2"])
    if name == "size":
        return abs(locus["end1"] - locus["start1"]) * abs(locus["end2"] - locus["start2"])
    values = np.where(fragment == -1, 0, fragment)
    if name == "noise":
        return float(np.std(values))
    # sharpness: the values' spread around the centre (smaller: more concentrated)
    total = values.sum()
    centre = (values.shape[0] - 1) / 2
    rows, cols = np.indices(values.shape)
    spread = ((rows - centre) ** 2 + (cols - centre) ** 2) * values
    return float(spread.sum() / (total if total > 0 else 1))
