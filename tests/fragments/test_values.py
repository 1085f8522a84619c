"""Fragment values through POST /api/v1/fragments_by_loci/, against cooler's own selection of the
same bins resampled and finished independently (tests/fragments/expected.py)."""

import json

import cooler
import numpy as np
import pytest

from tests.builders import cooler_data as data

from . import expected

pytestmark = pytest.mark.django_db

URL = "/api/v1/fragments_by_loci/"


def post(client, loci, query="", body_options=None):
    body = {"loci": loci, **(body_options or {})} if body_options is not None else loci
    response = client.post(URL + query, json.dumps(body), content_type="application/json")
    assert response.status_code == 200, response.content
    return response.json()


def same(ours, wanted):
    ours = np.asarray(ours, dtype=np.float64)
    assert ours.shape == wanted.shape
    assert np.array_equal(ours == -1, wanted == -1)
    np.testing.assert_allclose(ours, wanted, rtol=1e-6, atol=1e-9)


LOCI = {
    "diagonal": ("chr1", 100_000, 120_000, "chr1", 100_000, 120_000),
    "resampled": ("chr1", 100_000, 200_000, "chr1", 100_000, 200_000),
    "upper": ("chr1", 50_000, 80_000, "chr1", 90_000, 120_000),
    "lower": ("chr1", 90_000, 120_000, "chr1", 50_000, 80_000),
    "far": ("chr1", 50_000, 80_000, "chr1", 250_000, 270_000),
    "overlapping": ("chr1", 100_000, 140_000, "chr1", 120_000, 160_000),
    "across chr1 end": ("chr1", 290_000, 310_000, "chr1", 290_000, 310_000),
    "genome start": ("chr1", 0, 10_000, "chr1", 0, 10_000),
    "genome end": ("chrM", 10_000, 16_569, "chrM", 10_000, 16_569),
    "trans": ("chr2", 10_000, 40_000, "chrX", 60_000, 90_000),
    "oblong": ("chr1", 100_000, 130_000, "chr1", 100_000, 190_000),
    "short names": ("2", 240_000, 250_000, "2", 240_000, 250_000),
}

OPTIONS = [
    ({}, {}),
    ({"padding": 50}, {"padding": 50}),
    ({"no-balance": "true"}, {"balance": False}),
    ({"pe": "90"}, {"percentile": 90.0}),
    ({"nd": "2"}, {"ignore_diags": 2}),
    ({"nn": "1", "nd": "1"}, {"normalize": False, "ignore_diags": 1}),
    ({"pd": "100", "nb": "1", "percentile": "75"}, {"padding": 100, "balance": False, "percentile": 75.0}),
]


@pytest.mark.parametrize("kind", ["dense", "mcool"])
@pytest.mark.parametrize("name", list(LOCI))
@pytest.mark.parametrize("query,kwargs", OPTIONS, ids=[str(i) for i in range(len(OPTIONS))])
def test_fragment_equals_coolers_selection(hic, anon_client, cooler_files, kind, name, query, kwargs):
    """mcool: sparse, most bins without a weight; dense: a filled band, few such bins."""
    hic("hic", kind=kind)
    locus = LOCI[name]
    dims = 16 if name == "oblong" else 22
    text = "?" + "&".join(f"{k}={v}" for k, v in {**query, "dims": dims}.items())
    answer = post(anon_client, [[*locus, "hic", 0]], text)
    assert answer["indices"] == [0] and answer["dataTypes"] == ["matrix"]
    clr = expected.open_resolution(cooler_files[kind], 1000)
    same(answer["fragments"][0], expected.fragment(clr, locus, dims, **kwargs))


def test_several_loci_zoom_levels_and_own_dims(hic, anon_client, cooler_files):
    hic("hic", kind="dense")
    loci = [
        [*LOCI["diagonal"], "hic", 0],
        [*LOCI["resampled"], "hic", 2000, 12],
        [*LOCI["upper"], "hic", 3000],  # between 2000 and 4000: the finer
        [*LOCI["trans"], "hic", 5000, None],
        [*LOCI["lower"], "hic", 1_000_000, 0],  # past the coarsest: the coarsest; 0: the request's dims
    ]
    answer = post(anon_client, loci, "?di=20")
    assert answer["indices"] == [0, 1, 2, 3, 4]
    wanted = [(1000, 20), (2000, 12), (2000, 20), (4000, 20), (8000, 20)]
    for ours, locus, (resolution, dims) in zip(answer["fragments"], loci, wanted):
        clr = expected.open_resolution(cooler_files["dense"], resolution)
        same(ours, expected.fragment(clr, locus[:6], dims))


@pytest.mark.parametrize("span,dims", [(400_000, 50), (100_000, 50), (10_000, 50), (10_000_000, 10)])
def test_automatic_zoom_level(hic, anon_client, cooler_files, span, dims):
    hic("hic", kind="dense")
    locus = ("chr1", 0, span, "chr1", 0, span)
    resolution = expected.resolution_for(data.RESOLUTIONS, -1, span, dims)
    answer = post(anon_client, [[*locus, "hic", -1, dims]])
    clr = expected.open_resolution(cooler_files["dense"], resolution)
    same(answer["fragments"][0], expected.fragment(clr, locus, dims))


def test_a_locus_without_zoom_level_is_automatic(hic, anon_client, cooler_files):
    hic("hic")
    locus = ("chr1", 0, 100_000, "chr1", 0, 100_000)
    answer = post(anon_client, [[*locus, "hic"]], "?dims=50")
    clr = expected.open_resolution(cooler_files["mcool"], 2000)
    same(answer["fragments"][0], expected.fragment(clr, locus, 50))


@pytest.mark.parametrize("zoom,group", [(0, "3"), (1, "2"), (3, "0"), (9, "0")])
def test_legacy_zoom_levels_count_out_from_the_finest(hic, anon_client, cooler_files, zoom, group):
    hic("legacy", kind="legacy")
    locus = LOCI["overlapping"]
    answer = post(anon_client, [[*locus, "legacy", zoom]], "?nb=1")
    clr = cooler.Cooler(f"{cooler_files['legacy']}::{group}")
    same(answer["fragments"][0], expected.fragment(clr, locus, 22, balance=False))


def test_single_resolution_and_square_storage(hic, anon_client, cooler_files):
    hic("single", kind="single")
    hic("square", kind="square")
    locus = LOCI["overlapping"]
    answer = post(anon_client, [[*locus, "single", 4000], [*locus, "square", 0]])
    same(answer["fragments"][0], expected.fragment(cooler.Cooler(str(cooler_files["single"])), locus, 22))
    square = expected.open_resolution(cooler_files["square"], 1000)
    assert square.storage_mode == "square"
    same(answer["fragments"][1], expected.fragment(square, locus, 22))


def test_options_in_the_body_with_json_booleans(hic, anon_client, cooler_files):
    hic("hic")
    locus = LOCI["upper"]
    clr = expected.open_resolution(cooler_files["mcool"], 1000)
    wanted = expected.fragment(clr, locus, 24, balance=False, normalize=False)
    for options in ({"dims": 24, "no-balance": True, "no-normalize": True},
                    {"di": "24", "nb": "1", "nn": "true"}):
        answer = post(anon_client, [[*locus, "hic", 0]], body_options=options)
        same(answer["fragments"][0], wanted)
    # the query string wins over the body; "false" and "0" are false
    answer = post(anon_client, [[*locus, "hic", 0]], "?nb=false&nn=0&dims=24", {"nb": True, "nn": True})
    same(answer["fragments"][0], expected.fragment(clr, locus, 24))


def test_precision_rounds(hic, anon_client, cooler_files):
    hic("hic")
    answer = post(anon_client, [[*LOCI["diagonal"], "hic", 0]], "?precision=2")
    values = np.asarray(answer["fragments"][0])
    assert np.array_equal(values, np.round(values, 2))
    clr = expected.open_resolution(cooler_files["mcool"], 1000)
    np.testing.assert_allclose(values, np.round(expected.fragment(clr, LOCI["diagonal"], 22), 2), atol=1e-12)


@pytest.mark.parametrize("method", ["mean", "median", "std", "var"])
def test_aggregate(hic, anon_client, cooler_files, method):
    hic("hic")
    loci = [[*LOCI[name], "hic", 0] for name in ("diagonal", "upper", "trans")]
    answer = post(anon_client, loci, f"?ag=1&am={method}")
    assert answer["indices"] == [] and answer["dataTypes"] == ["matrix"] and len(answer["fragments"]) == 1
    clr = expected.open_resolution(cooler_files["mcool"], 1000)
    stack = np.stack([expected.fragment(clr, locus[:6], 22) for locus in loci])
    wanted = {"mean": np.mean, "median": np.median, "std": np.std, "var": np.var}[method](stack, axis=0)
    np.testing.assert_allclose(answer["fragments"][0], wanted, rtol=1e-6, atol=1e-9)
