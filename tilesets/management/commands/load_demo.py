import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

import demo
from tilesets.ingest import IngestError, ingest_tileset
from tilesets.models import Tileset


class Command(BaseCommand):
    help = (
        "Load the demo tilesets: hg38 chromosome sizes and synthetic data on hg38 (Hi-C, bigWig, multivec, "
        "genes, 2-D domains, reads, variants), generated on the fly. Tilesets already present are skipped, "
        "so running it again is cheap."
    )

    def add_arguments(self, parser):
        parser.add_argument("--only", nargs="*", metavar="UID", help="load only these demo uids")

    def handle(self, *args, **options):
        wanted = [item for item in demo.DEMO if not options["only"] or item["uid"] in options["only"]]
        with tempfile.TemporaryDirectory() as folder:
            for item in wanted:
                if Tileset.objects.filter(uuid=item["uid"]).exists():
                    continue
                self.stdout.write(f"Generating {item['filename']} ...")
                path = Path(folder) / item["filename"]
                item["write"](path)
                try:
                    ingest_tileset(
                        datafile=str(path), uid=item["uid"], filetype=item["filetype"],
                        datatype=item["datatype"], coordSystem=demo.ASSEMBLY, name=item["name"],
                    )
                except IngestError as exc:
                    raise CommandError(f"Demo tileset {item['uid']}: {exc}") from None
                self.stdout.write(f"Loaded demo tileset {item['uid']} ({item['name']})")
