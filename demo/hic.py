"""The demo Hi-C map: a synthetic multi-resolution ``.mcool`` on hg38 (seeded)."""

import warnings
from pathlib import Path

import numpy as np

from .assembly import HG38, SEED


def write_mcool(path, base=1_000_000, band=150):
    """Contacts decaying with distance plus domain blocks, within ``band`` bins of the diagonal."""
    import cooler
    import pandas as pd

    rng = np.random.default_rng(SEED)
    bins = cooler.binnify(pd.Series(dict(HG38)), base)
    chrom_of_bin = bins["chrom"].astype(str).to_numpy()
    n = len(bins)
    first, second, counts = [], [], []
    for distance in range(band):
        i = np.arange(0, n - distance)
        j = i + distance
        same = chrom_of_bin[i] == chrom_of_bin[j]
        domain = (i // 7) == (j // 7)  # 7-bin blocks stand in for TADs
        expected = 400.0 / (distance + 1) ** 1.1 * np.where(domain, 2.5, 1.0) * np.where(same, 1.0, 0.02)
        observed = rng.poisson(expected)
        keep = observed > 0
        first.append(i[keep])
        second.append(j[keep])
        counts.append(observed[keep])
    pixels = pd.DataFrame(
        {"bin1_id": np.concatenate(first), "bin2_id": np.concatenate(second), "count": np.concatenate(counts)}
    ).sort_values(["bin1_id", "bin2_id"])
    single = str(path) + ".base.cool"
    cooler.create_cooler(single, bins, pixels, assembly="hg38", ordered=True)
    resolutions = [base * 2**k for k in range(5)]
    cooler.zoomify_cooler(single, str(path), resolutions, chunksize=10_000_000)
    Path(single).unlink()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # chrM is one bin: balancing warns about its empty marginal
        for resolution in resolutions:
            clr = cooler.Cooler(f"{path}::resolutions/{resolution}")
            cooler.balance_cooler(clr, store=True, ignore_diags=1, cis_only=True, max_iters=2000, tol=1e-4)
