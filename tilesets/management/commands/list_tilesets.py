import json

from django.core.management.base import BaseCommand

from tilesets.models import Tileset
from tilesets.serializers import TilesetSerializer


class Command(BaseCommand):
    help = "List the tilesets, one line each: 'tileset: Tileset [name: N] [ft: F] [uuid: U]'."

    def add_arguments(self, parser):
        parser.add_argument("--filetype", help="only tilesets of this filetype")
        parser.add_argument("--datatype", help="only tilesets of this datatype")
        parser.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")

    def handle(self, *args, **options):
        tilesets = Tileset.objects.select_related("owner", "project")
        if options["filetype"]:
            tilesets = tilesets.filter(filetype=options["filetype"])
        if options["datatype"]:
            tilesets = tilesets.filter(datatype=options["datatype"])
        if options["format"] == "json":
            self.stdout.write(json.dumps(TilesetSerializer(tilesets, many=True).data, indent=2))
            return
        for tileset in tilesets:
            self.stdout.write(f"tileset: {tileset}")
