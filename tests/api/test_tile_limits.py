"""MAX_FASTA_TILE_WIDTH / MAX_BAM_TILE_WIDTH from the server's settings reach the generators."""

import pytest

from tests.builders.helpers import write_chromsizes
from tests.builders.reads_data import GENOME, random_genome, write_fasta
from tilesets.ingest import ingest_tileset

pytestmark = pytest.mark.django_db


def test_fasta_tile_width_setting(anon_client, outside, settings):
    genome = random_genome()
    path = outside / "genome.fa"
    write_fasta(path, genome)
    write_chromsizes(outside / "g.tsv", GENOME)
    ingest_tileset(datafile=str(outside / "g.tsv"), filetype="chromsizes-tsv", datatype="chromsizes",
                   coordSystem="hgR", uid="g")
    ingest_tileset(datafile=str(path), filetype="fasta", datatype="sequence", coordSystem="hgR", uid="fa")
    settings.MAX_FASTA_TILE_WIDTH = 1234
    info = anon_client.get("/api/v1/tileset_info/?d=fa").json()["fa"]
    assert info["max_tile_width"] == 1234
    tile = anon_client.get("/api/v1/tiles/?d=fa.0.0").json()["fa.0.0"]
    assert tile == {"error": "Tile too large, no data returned. Max tile size: 1234"}
