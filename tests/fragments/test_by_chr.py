"""GET /api/v1/fragments_by_chr/: a chromosome's diagonal in windows, from registered tilesets."""

import base64
import math

import numpy as np
import pytest

from fragments import service
from tests.builders import cooler_data as data

from . import expected

pytestmark = pytest.mark.django_db

URL = "/api/v1/fragments_by_chr/"
CHR2 = dict(data.CHROMS)["chr2"]


def get(client, **query):
    return client.get(URL, query)


def error_of(response):
    assert response.status_code == 400, response.content
    return response.json()["error"]


def test_windows_along_the_diagonal(hic, anon_client, cooler_files):
    hic("hic", kind="dense")
    answer = get(anon_client, cooler="hic", chrom="chr2", resolution=2000, dims=16, measures="size,noise").json()
    window = 16 * 2000
    count = math.ceil(CHR2 / window)
    assert answer["count"] == count == len(answer["fragments"])
    assert (answer["dims"], answer["resolution"], answer["zoomoutLevel"]) == (16, 2000, 1)
    assert answer["relativeLoci"] is True and answer["measures"] == ["size", "noise"]
    assert answer["dataType"] == "matrix"
    clr = expected.open_resolution(cooler_files["dense"], 2000)
    for k, fragment in enumerate(answer["fragments"]):
        start = k * window
        assert fragment["chrom1"] == fragment["chrom2"] == "chr2"
        assert (fragment["start1"], fragment["end1"]) == (start, start + window) == (fragment["start2"], fragment["end2"])
        assert fragment["strand1"] == fragment["strand2"] == "coding"
        locus = ("chr2", start, start + window - 2000, "chr2", start, start + window - 2000)
        wanted = expected.fragment(clr, locus, 16)
        np.testing.assert_allclose(fragment["matrix"], wanted, rtol=1e-6, atol=1e-9)
        assert fragment["measures"][0] == window * window
        assert fragment["measures"][1] == pytest.approx(float(np.std(np.where(wanted == -1, 0, wanted))))


def test_same_options_as_by_loci(hic, anon_client):
    hic("hic", kind="dense")
    query = dict(cooler="hic", chrom="2", zoomout_level=0, dims=10, start=40_000, end=75_000, pe=90, nd=1, pr=3)
    query["zoomout-level"] = query.pop("zoomout_level")
    answer = get(anon_client, **query).json()
    assert answer["resolution"] == 1000 and answer["count"] == 4
    loci = [["chr2", s, s + 9000, "chr2", s, s + 9000, "hic", 0] for s in range(40_000, 75_000, 10_000)]
    by_loci = anon_client.post("/api/v1/fragments_by_loci/?dims=10&pe=90&nd=1&pr=3", loci, format="json").json()
    assert [f["matrix"] for f in answer["fragments"]] == by_loci["fragments"]


def test_window_limit_for_config_and_b64(hic, anon_client):
    hic("hic", kind="dense")
    answer = get(anon_client, cooler="hic", chrom="chrX", window=20_000, limit=3, dims=5,
                 measures="distance-to-diagonal,sharpness", **{"for-config": "true"}).json()
    assert answer["resolution"] == 4000  # 20 kb in 5 pixels: 4 kb bins
    assert answer["fragmentsHeader"] == ["chrom1", "start1", "end1", "strand1", "chrom2", "start2", "end2", "strand2",
                                         "distance-to-diagonal", "sharpness"]
    assert [row[:8] for row in answer["fragments"]] == [
        ["chrX", s, s + 20_000, "coding", "chrX", s, s + 20_000, "coding"] for s in (0, 20_000, 40_000)]
    assert all(row[8] == 20_000 for row in answer["fragments"])  # |end1 - start2|
    encoded = get(anon_client, cooler="hic", chrom="chrX", limit=2, en="b64").json()
    assert encoded["dataType"] == "dataUrl"
    assert base64.b64decode(encoded["fragments"][0]["matrix"])[:4] == b"\x89PNG"


@pytest.mark.parametrize("query,text", [
    ({"chrom": "chr1"}, "?cooler=<uid>"),
    ({"cooler": "hic"}, "?chrom=<name>"),
    ({"cooler": "nosuch", "chrom": "chr1"}, "tileset 'nosuch' does not exist"),
    ({"cooler": "sizes", "chrom": "chr1"}, "holds no matrix"),
    ({"cooler": "hic", "chrom": "chr9"}, "Unknown chromosome 'chr9'"),
    ({"cooler": "hic", "chrom": "chr1", "resolution": 1000, "zoomout-level": 1}, "not both"),
    ({"cooler": "hic", "chrom": "chr1", "window": 10}, "smaller than one bin"),
    ({"cooler": "hic", "chrom": "chr1", "start": 400_000}, "Nothing to cut"),
    ({"cooler": "hic", "chrom": "chr1", "en": "image"}, "encoding=image"),
    ({"cooler": "hic", "chrom": "chr1", "measures": "beauty"}, "Unknown measure 'beauty'"),
    ({"cooler": "hic", "chrom": "chr1", "loop-list": "../../etc/passwd", "dims": "x"}, "dims must be an integer"),
])
def test_errors(hic, make_tileset, anon_client, query, text):
    hic("hic")
    make_tileset("sizes")
    assert text in error_of(get(anon_client, **query))


def test_too_many_windows(hic, anon_client, monkeypatch):
    hic("hic")
    monkeypatch.setattr(service, "MAX_LOCI", 5)
    monkeypatch.setattr("fragments.by_chr.MAX_LOCI", 5)
    assert "Too many fragments" in error_of(get(anon_client, cooler="hic", chrom="chr1", dims=10))
    assert get(anon_client, cooler="hic", chrom="chr1", dims=10, limit=5).status_code == 200


def test_private_and_legacy(hic, owner, owner_client, anon_client):
    hic("mine", kind="legacy", owner=owner, private=True)
    assert "does not exist" in error_of(get(anon_client, cooler="mine", chrom="chr3"))
    answer = get(owner_client, cooler="mine", chrom="chr3", resolution=3000, nb=1, limit=2).json()
    assert (answer["resolution"], answer["zoomoutLevel"], answer["count"]) == (2000, 1, 2)
