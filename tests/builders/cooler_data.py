"""Small cooler files for the cooler tests, made with cooler's own API.

Five chromosomes whose lengths are not multiples of any resolution (so the last, partial bin of a
chromosome and the first bin of the next share a tile cell), a few thousand pixels with extra ones
around every chromosome boundary and at the genome end, ICE weights from ``cooler.balance_cooler``
and hand-made KR / VC / VC_SQRT columns (positive, with NaNs).
"""

import shutil
import warnings

import h5py
import numpy as np
import pandas as pd

import cooler

CHROMS = [("chr1", 300_123), ("chr2", 250_777), ("chr3", 190_001), ("chrX", 120_500), ("chrM", 16_569)]
GENOME = sum(length for _, length in CHROMS)  # 877 970
BASE = 1000
RESOLUTIONS = [1000, 2000, 4000, 8000]
BIG_COUNT = 70_000  # > float16 max: raw tiles holding it are float32
VC_SQRT_AT = (4000, 8000)  # VC_SQRT only at the coarse resolutions: not listed in tileset_info


def _bins():
    return cooler.util.binnify(pd.Series(dict(CHROMS)), BASE)


def _pixels(nbins, chrom_first_bins, seed):
    rng = np.random.default_rng(seed)
    pairs = set()

    def add(b1, b2):
        if 0 <= b1 < nbins and 0 <= b2 < nbins:
            pairs.add((min(b1, b2), max(b1, b2)))

    for b1, b2 in rng.integers(0, nbins, size=(2500, 2)):
        add(int(b1), int(b2))
    for b1 in rng.integers(0, nbins, size=1500):  # near the diagonal
        add(int(b1), int(b1 + rng.geometric(0.15) - 1))
    for first in list(chrom_first_bins[1:]) + [nbins]:  # chromosome boundaries and the genome end
        for b1 in range(first - 3, first + 3):
            for b2 in range(b1, first + 4):
                add(b1, b2)
            for b2 in rng.integers(0, nbins, size=8):
                add(b1, int(b2))
    bin1, bin2 = np.array(sorted(pairs)).T
    counts = rng.integers(1, 300, size=bin1.size)
    counts[len(counts) // 2] = BIG_COUNT
    return pd.DataFrame({"bin1_id": bin1, "bin2_id": bin2, "count": counts.astype(np.int32)})


def _extra_vectors(group, names, seed):
    """Positive vectors with NaNs (also at the chromosome-boundary bins) as bins/<name>."""
    rng = np.random.default_rng(seed)
    nbins = group["bins/start"].shape[0]
    chrom_offset = group["indexes/chrom_offset"][:]
    for name in names:
        values = rng.uniform(0.25, 3.0, size=nbins)
        values[rng.random(nbins) < 0.08] = np.nan
        values[chrom_offset[2] - 1] = np.nan  # the last (partial) bin of chr2
        values[min(chrom_offset[3], nbins - 1)] = np.nan  # the first bin of chrX
        group["bins"].create_dataset(name, data=values)


def _balance(uri):
    """ICE weights (converged or not: any vector with NaNs for the sparse bins will do)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cooler.balance_cooler(cooler.Cooler(uri), store=True, max_iters=10)


def make_base(path, seed=3, balance=True, extra=("KR",)):
    """A single-resolution .cool at BASE bp."""
    bins = _bins()
    chrom_first = np.flatnonzero(np.r_[True, bins["chrom"].values[1:] != bins["chrom"].values[:-1]])
    cooler.create_cooler(str(path), bins, _pixels(len(bins), chrom_first, seed))
    if balance:
        _balance(str(path))
    with h5py.File(path, "r+") as f:
        _extra_vectors(f, extra, seed + 1)
    return path


def make_mcool(path, workdir, balance=True, extra=True, seed=3):
    """A multi-resolution .mcool (resolutions/1000 … /8000) zoomified from a base cooler."""
    base = make_base(workdir / f"base-{path.stem}.cool", seed=seed, balance=False, extra=())
    cooler.zoomify_cooler(str(base), str(path), RESOLUTIONS, chunksize=1_000_000)
    for resolution in RESOLUTIONS:
        uri = f"{path}::resolutions/{resolution}"
        if balance:
            _balance(uri)
        if extra:
            with h5py.File(path, "r+") as f:
                names = ("KR", "VC") + (("VC_SQRT",) if resolution in VC_SQRT_AT else ())
                _extra_vectors(f[f"resolutions/{resolution}"], names, seed + resolution)
    return path


def make_legacy(path, mcool):
    """A legacy multi-zoom .cool: groups "0" (8 kb) … "3" (1 kb), root attribute max-zoom = 3.

    Group 0 keeps only KR, so the transforms list is the union in order of first appearance.
    """
    with h5py.File(mcool, "r") as src, h5py.File(path, "w") as dst:
        for zoom, resolution in enumerate(sorted(RESOLUTIONS, reverse=True)):
            src.copy(src[f"resolutions/{resolution}"], dst, name=str(zoom))
        dst.attrs["max-zoom"] = len(RESOLUTIONS) - 1
        for name in ("weight", "VC", "VC_SQRT"):
            if name in dst["0/bins"]:
                del dst["0/bins"][name]
    return path


def make_square(path, mcool):
    """A copy of an .mcool with every resolution marked storage-mode "square"."""
    shutil.copyfile(mcool, path)
    with h5py.File(path, "r+") as f:
        for name in f["resolutions"]:
            f["resolutions"][name].attrs["storage-mode"] = "square"
    return path


def make_unbalanced(path, mcool):
    """A copy of an .mcool without any weight or normalisation column."""
    shutil.copyfile(mcool, path)
    with h5py.File(path, "r+") as f:
        for name in f["resolutions"]:
            bins = f["resolutions"][name]["bins"]
            for column in ("weight", "KR", "VC", "VC_SQRT"):
                if column in bins:
                    del bins[column]
    return path
