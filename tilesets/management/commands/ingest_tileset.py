import os
import sys

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from higlass_server.exceptions import ServiceError
from tilesets import generators
from tilesets.ingest import ingest_tileset

# Options handed to the ingest service under their own names.
PASSED_ON = (
    "indexfile", "filetype", "datatype", "coordSystem", "coordSystem2", "uid", "name", "description",
    "project_name", "no_upload", "owner", "private",
)


class Command(BaseCommand):
    help = (
        "Register a data file as a tileset. The file is checked to open as --filetype, then copied "
        "into MEDIA_ROOT/uploads/ (or, with --no-upload, used where it lies under MEDIA_ROOT). "
        "Prints the new tileset's uuid."
    )

    def add_arguments(self, parser):
        parser.add_argument("--filename", required=True, help="path of the data file to ingest")
        parser.add_argument(
            "--filetype", required=True,
            help=f"how to read the file: {', '.join(generators.KNOWN_FILETYPES)}",
        )
        parser.add_argument("--datatype", help="how the client draws it, e.g. matrix, vector, chromsizes")
        parser.add_argument(
            "--coordSystem", "--assembly", dest="coordSystem", default="",
            help="genome assembly / coordinate system, e.g. hg19 (--assembly is an alias)",
        )
        parser.add_argument("--coordSystem2", default="", help="assembly of the second axis (2-D data)")
        parser.add_argument("--uid", help="the tileset's uuid (default: a new random one)")
        parser.add_argument("--name", help="display name (default: the file's name)")
        parser.add_argument("--description", default="", help="free-text description")
        parser.add_argument("--project-name", dest="project_name", help="group under this project (created if new)")
        parser.add_argument("--indexfile", help="index file where the filetype needs one (e.g. a BAM's .bai)")
        parser.add_argument(
            "--no-upload", dest="no_upload", action="store_true",
            help="do not copy: register the file where it is (it must lie under MEDIA_ROOT); "
            "deleting the tileset then leaves the file alone",
        )
        parser.add_argument("--owner", help="username of the owner (default: no owner)")
        parser.add_argument("--private", action="store_true", help="visible only to the owner and superusers")

    def handle(self, *args, **options):
        if options["private"] and not options["owner"]:
            raise CommandError("--private needs --owner: a private tileset without an owner is visible to superusers only.")
        bar = None

        def progress(nbytes):
            nonlocal bar
            if bar is None:
                bar = tqdm(
                    total=os.path.getsize(options["filename"]), unit="B", unit_scale=True,
                    desc="Copying", file=sys.stderr, disable=None,
                )
            bar.update(nbytes)

        try:
            tileset = ingest_tileset(
                datafile=options["filename"], progress=progress, **{name: options[name] for name in PASSED_ON}
            )
        except ServiceError as exc:
            raise CommandError(str(exc)) from None
        finally:
            if bar is not None:
                bar.close()
        if not tileset.coordSystem:
            self.stderr.write("Warning: no --coordSystem given; the client cannot match this tileset to an assembly.")
        self.stdout.write(tileset.uuid)
