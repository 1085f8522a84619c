import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand

from tilesets.ingest import ingest_tileset
from tilesets.models import Tileset

# GRCh38 primary chromosome lengths (UCSC hg38 chromInfo).
HG38 = [
    ("chr1", 248956422), ("chr2", 242193529), ("chr3", 198295559), ("chr4", 190214555),
    ("chr5", 181538259), ("chr6", 170805979), ("chr7", 159345973), ("chr8", 145138636),
    ("chr9", 138394717), ("chr10", 133797422), ("chr11", 135086622), ("chr12", 133275309),
    ("chr13", 114364328), ("chr14", 107043718), ("chr15", 101991189), ("chr16", 90338345),
    ("chr17", 83257441), ("chr18", 80373285), ("chr19", 58617616), ("chr20", 64444167),
    ("chr21", 46709983), ("chr22", 50818468), ("chrX", 156040895), ("chrY", 57227415),
    ("chrM", 16569),
]

DEMO = [
    {
        "uid": "hg38-chromsizes",
        "filename": "hg38.chrom.sizes",
        "write": lambda path: path.write_text("".join(f"{n}\t{s}\n" for n, s in HG38)),
        "filetype": "chromsizes-tsv",
        "datatype": "chromsizes",
        "coordSystem": "hg38",
        "name": "Chromosomes (hg38)",
    },
]


class Command(BaseCommand):
    help = "Load the demo tilesets (generated on the fly); tilesets already present are skipped."

    def handle(self, *args, **options):
        with tempfile.TemporaryDirectory() as folder:
            for item in DEMO:
                if Tileset.objects.filter(uuid=item["uid"]).exists():
                    continue
                path = Path(folder) / item["filename"]
                item["write"](path)
                ingest_tileset(
                    datafile=str(path), uid=item["uid"], filetype=item["filetype"], datatype=item["datatype"],
                    coordSystem=item["coordSystem"], name=item["name"],
                )
                self.stdout.write(f"Loaded demo tileset {item['uid']} ({item['name']})")
