"""The `make run` demo: every demo tileset answers tileset_info, tiles and chrom-sizes."""

import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db

TILES = {
    "demo-hic": ["demo-hic.0.0.0", "demo-hic.2.1.1", "demo-hic.4.10.10.none"],
    "demo-signal": ["demo-signal.0.0", "demo-signal.8.100", "demo-signal.5.3.minMax"],
    "demo-multivec": ["demo-multivec.0.0", "demo-multivec.3.2"],
}
OTHER_TILES = {
    "demo-genes": ["demo-genes.0.0", "demo-genes.5.3"],
    "demo-domains": ["demo-domains.0.0.0"],
    "demo-reads": ["demo-reads.19.1345"],  # chr1:11.02 Mb at zoom 19 (8 kb tiles)
}


def test_demo_tilesets_are_served(anon_client):
    call_command("load_demo", stdout=open("/dev/null", "w"))
    listed = {t["uuid"]: t for t in anon_client.get("/api/v1/tilesets/?limit=100").json()["results"]}
    assert set(listed) == {"hg38-chromsizes", "demo-hic", "demo-signal", "demo-multivec", "demo-genes",
                           "demo-domains", "demo-reads", "demo-variants"}
    assert {t["coordSystem"] for t in listed.values()} == {"hg38"}

    info = anon_client.get("/api/v1/tileset_info/", {"d": list(listed)}).json()
    for uid, entry in info.items():
        assert "error" not in entry, (uid, entry)
    assert info["demo-hic"]["resolutions"][0] == 1_000_000
    assert info["demo-signal"]["max_zoom"] == 22
    assert info["demo-multivec"]["shape"] == [256, 4]
    assert info["hg38-chromsizes"]["chromsizes"][0] == ["chr1", 248956422]

    ids = [tile_id for group in TILES.values() for tile_id in group]
    tiles = anon_client.get("/api/v1/tiles/", {"d": ids}).json()
    assert set(tiles) == set(ids)
    for tile_id, tile in tiles.items():
        assert "error" not in tile and tile["dense"], tile_id
    assert tiles["demo-multivec.3.2"]["shape"] == [4, 256]
    assert tiles["demo-signal.5.3.minMax"]["size"] == 2

    others = anon_client.get("/api/v1/tiles/", {"d": [i for group in OTHER_TILES.values() for i in group]}).json()
    assert others["demo-genes.0.0"] and all("uid" in gene and "fields" in gene for gene in others["demo-genes.0.0"])
    assert others["demo-domains.0.0.0"]
    assert len(others["demo-reads.19.1345"]["id"]) > 10
    assert anon_client.get("/api/v1/suggest/?d=demo-genes&ac=a").status_code == 200
    ticket = anon_client.get("/api/v1/htsget/variants/demo-variants?referenceName=chr1&start=11000000&end=11100000")
    assert ticket.status_code == 200 and ticket.json()["htsget"]["format"] == "VCF"
    ticket = anon_client.get("/api/v1/htsget/reads/demo-reads?referenceName=chr1&start=11000000&end=11010000")
    assert ticket.status_code == 200 and ticket.json()["htsget"]["urls"]

    for uid in ("hg38-chromsizes", "demo-hic", "demo-signal", "demo-multivec"):
        sizes = anon_client.get(f"/api/v1/chrom-sizes/?id={uid}&type=json").json()
        assert sizes["chr1"] == {"size": 248956422}, uid


def test_demo_package_stands_alone():
    """The writers import nothing from the server (tests and benchmarks use them without Django), and
    every demo tileset has a writer and a unique uid and file name."""
    code = ("import sys, demo; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'django', 'tilesets', 'higlass_server'}))")
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"

    import demo

    assert len({item["uid"] for item in demo.DEMO}) == len({item["filename"] for item in demo.DEMO}) == len(demo.DEMO)
    assert all(callable(item["write"]) for item in demo.DEMO)
