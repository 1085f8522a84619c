import os
import sys

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from higlass_server.exceptions import ServiceError
from tilesets import generators
from tilesets.ingest import ingest_tileset
from tilesets.register import register_url

# Options handed to the ingest service under their own names.
PASSED_ON = (
    "filetype", "datatype", "coordSystem", "coordSystem2", "uid", "name", "description", "project_name", "owner",
    "private",
)


class Command(BaseCommand):
    help = (
        "Register a data file as a tileset. The file is checked to open as --filetype, then copied "
        "into MEDIA_ROOT/uploads/ (or, with --no-upload, used where it lies under MEDIA_ROOT). "
        "With --url the file stays on its http(s) server or in S3 and is read from there. "
        "Prints the new tileset's uuid."
    )

    def add_arguments(self, parser):
        where = parser.add_mutually_exclusive_group(required=True)
        where.add_argument("--filename", help="path of the data file to ingest")
        where.add_argument(
            "--url",
            help="http://, https:// or s3:// URL of a data file to read where it is (not copied); the "
            "server must honour HTTP Range requests, and deleting the tileset leaves the file alone",
        )
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
            "--index-url", dest="index_url",
            help="with --url: URL of the index, for filetypes that need one (bam .bai, fasta .fai, vcf .tbi)",
        )
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
        if options["url"] and (options["indexfile"] or options["no_upload"]):
            raise CommandError("--url takes --index-url for the index; --indexfile and --no-upload are for local files.")
        if options["index_url"] and not options["url"]:
            raise CommandError("--index-url goes with --url; for a local file use --indexfile.")
        passed = {name: options[name] for name in PASSED_ON}
        try:
            if options["url"]:
                tileset = register_url(
                    fileurl=options["url"], indexurl=options["index_url"], labels=("--url", "--index-url"), **passed
                )
            else:
                tileset = self._ingest(options, passed)
        except ServiceError as exc:
            raise CommandError(str(exc)) from None
        if not tileset.coordSystem:
            self.stderr.write("Warning: no --coordSystem given; the client cannot match this tileset to an assembly.")
        self.stdout.write(tileset.uuid)

    def _ingest(self, options, passed):
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
            return ingest_tileset(
                datafile=options["filename"], indexfile=options["indexfile"], no_upload=options["no_upload"],
                progress=progress, **passed,
            )
        finally:
            if bar is not None:
                bar.close()
