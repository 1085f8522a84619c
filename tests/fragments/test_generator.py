"""The cooler generator's ``matrix`` capability on its own: the registry, reading in blocks,
remote files, errors."""

import os

import numpy as np
import pytest

from fragments.finish import finish
from tests.builders.remote_servers import copy_into, serving
from tilesets import generators
from tilesets.formats import access
from tilesets.formats.remote_config import RemoteConfig
from tilesets.generators import GeneratorError, Source
from tilesets.generators import cooler_matrix

from . import expected

OPTIONS = {"balance": True, "max_data_dim": 4096, "max_data_cells": 1 << 26}
CUTS = [
    dict(chrom1="chr1", start1=100_000, end1=120_000, chrom2="chr1", start2=100_000, end2=120_000, zoom=0, dims=22,
         padding=0),
    dict(chrom1="chr1", start1=50_000, end1=150_000, chrom2="chr1", start2=90_000, end2=200_000, zoom=0, dims=17,
         padding=10),
    dict(chrom1="chr2", start1=240_000, end1=250_777, chrom2="chrX", start2=0, end2=10_000, zoom=2000, dims=4,
         padding=0),
]


def check(results, path):
    for cut, result in zip(CUTS, results):
        clr = expected.open_resolution(path, result["resolution"])
        locus = tuple(cut[k] for k in ("chrom1", "start1", "end1", "chrom2", "start2", "end2"))
        wanted = expected.fragment(clr, locus, cut["dims"], padding=cut["padding"], normalize=False)
        np.testing.assert_allclose(finish(result, normalize=False), wanted, rtol=1e-6, atol=1e-9)


def test_only_cooler_offers_matrices():
    assert set(generators.offering("matrix")) == {"cooler"}


def test_reading_in_small_blocks_gives_the_same(cooler_files, monkeypatch):
    source = Source(datafile=str(cooler_files["dense"]))
    whole = generators.get("cooler").matrix(source, CUTS, OPTIONS)
    check(whole, cooler_files["dense"])
    monkeypatch.setattr(cooler_matrix, "ROWS_BLOCK", 7)
    blocks = generators.get("cooler").matrix(source, CUTS, OPTIONS)
    for a, b in zip(whole, blocks):
        np.testing.assert_allclose(a["values"], b["values"], rtol=1e-12)
    assert [r["scaled"] for r in whole] == [False, True, True]


def test_remote_file_gives_the_same(cooler_files, tmp_path):
    folder = copy_into(tmp_path / "served", cooler_files["dense"])
    previous = access.configuration()
    access.configure(RemoteConfig(allow_private_hosts=True, connect_timeout=2, read_timeout=3, retries=1,
                                  disk_cache_dir=os.path.join(tmp_path, "disk-cache"),
                                  udc_cache_dir=os.path.join(tmp_path, "udc")), revalidate_seconds=60)
    try:
        with serving(folder) as server:
            results = generators.get("cooler").matrix(Source(datafile=server.url("dense.mcool")), CUTS, OPTIONS)
    finally:
        access.configure(*previous)
    check(results, cooler_files["dense"])


def test_errors_carry_the_cut(cooler_files):
    source = Source(datafile=str(cooler_files["dense"]))
    bad = dict(CUTS[0], chrom2="chr99")
    with pytest.raises(GeneratorError) as caught:
        generators.get("cooler").matrix(source, [CUTS[0], bad], OPTIONS)
    assert caught.value.cut == 1 and "unknown chromosome 'chr99'" in caught.value.message
    with pytest.raises(cooler_matrix.SnippetTooLarge) as caught:
        generators.get("cooler").matrix(source, CUTS, dict(OPTIONS, max_data_dim=100))
    assert (caught.value.cut, caught.value.limit) == (1, "max_data_dim")
    with pytest.raises(cooler_matrix.SnippetTooLarge) as caught:
        generators.get("cooler").matrix(source, CUTS, dict(OPTIONS, max_data_cells=1000))
    assert (caught.value.cut, caught.value.limit) == (None, "max_data_cells")
    with pytest.raises(GeneratorError, match="does not exist"):
        generators.get("cooler").matrix(Source(datafile=str(cooler_files["dense"]) + ".gone"), CUTS, OPTIONS)
