from django.core.management.base import BaseCommand, CommandError

from tilesets.ingest import delete_tileset
from tilesets.models import Tileset


class Command(BaseCommand):
    help = (
        "Delete a tileset's record, and its data and index files if the server owns them (copied into "
        "MEDIA_ROOT/uploads/). Files registered with --no-upload are left where they are."
    )

    def add_arguments(self, parser):
        parser.add_argument("--uuid", required=True, help="the tileset to delete")

    def handle(self, *args, **options):
        tileset = Tileset.objects.filter(uuid=options["uuid"]).first()
        if tileset is None:
            raise CommandError(f"No tileset with uuid {options['uuid']!r}.")
        description, owned = str(tileset), tileset.owns_file
        removed = delete_tileset(tileset)
        self.stdout.write(f"Deleted {description}")
        if not owned:
            self.stdout.write("Its file is not the server's (--no-upload, link_tile or a URL) and is left in place.")
        elif not removed:
            self.stderr.write("Warning: its file was already gone from the media folder.")
