"""Cooler files for the fragments tests (made once per session) and a fixture ingesting them."""

import warnings

import cooler
import numpy as np
import pandas as pd
import pytest

from tests.builders import cooler_data as data
from tilesets.ingest import ingest_tileset


@pytest.fixture(scope="session")
def cooler_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fragments")
    mcool = data.make_mcool(folder / "test.mcool", folder)
    return {
        "mcool": mcool,
        "raw": data.make_unbalanced(folder / "raw.mcool", mcool),
        "square": data.make_square(folder / "square.mcool", mcool),
        "legacy": data.make_legacy(folder / "legacy.cool", mcool),
        "single": data.make_base(folder / "single.cool", seed=9),
        "dense": make_dense(folder / "dense.mcool", folder),
    }


def make_dense(path, folder, band=60, seed=11):
    """An .mcool over cooler_data's chromosomes whose pixels fill a band of the diagonal (counts
    decaying with distance, a few empty bins) plus sparse trans contacts, balanced at every
    resolution: most cells have a value, a few bins have no weight."""
    bins = cooler.util.binnify(pd.Series(dict(data.CHROMS)), data.BASE)
    n = len(bins)
    rng = np.random.default_rng(seed)
    first, second = [], []
    for distance in range(band):
        i = np.arange(0, n - distance)
        first.append(i)
        second.append(i + distance)
    far = np.sort(rng.integers(0, n, size=(3000, 2)), axis=1)
    bin1 = np.concatenate(first + [far[:, 0]])
    bin2 = np.concatenate(second + [far[:, 1]])
    pairs = np.unique(np.stack([bin1, bin2], axis=1), axis=0)
    counts = rng.poisson(500.0 / (pairs[:, 1] - pairs[:, 0] + 1) ** 0.9) + 1
    empty = rng.choice(n, 12, replace=False)
    keep = ~np.isin(pairs[:, 0], empty) & ~np.isin(pairs[:, 1], empty)
    pixels = pd.DataFrame({"bin1_id": pairs[keep, 0], "bin2_id": pairs[keep, 1], "count": counts[keep]})
    base = folder / "dense-base.cool"
    cooler.create_cooler(str(base), bins, pixels, ordered=True)
    cooler.zoomify_cooler(str(base), str(path), data.RESOLUTIONS, chunksize=1_000_000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for resolution in data.RESOLUTIONS:
            cooler.balance_cooler(cooler.Cooler(f"{path}::resolutions/{resolution}"), store=True, max_iters=50)
    return path


@pytest.fixture
def hic(db, cooler_files):
    """ingest(uid, kind="mcool", **fields) -> the tileset of that cooler file."""

    def ingest(uid, kind="mcool", **fields):
        fields.setdefault("filetype", "cooler")
        fields.setdefault("datatype", "matrix")
        return ingest_tileset(datafile=str(cooler_files[kind]), uid=uid, **fields)

    return ingest
