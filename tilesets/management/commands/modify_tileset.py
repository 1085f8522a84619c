from django.core.management.base import BaseCommand, CommandError

from higlass_server.exceptions import ServiceError
from tilesets.ingest import update_tileset
from tilesets.models import Project, Tileset


class Command(BaseCommand):
    help = "Change a tileset's metadata (name, description, datatype, coordSystem, privacy, project)."

    def add_arguments(self, parser):
        parser.add_argument("--uuid", required=True, help="the tileset to change")
        parser.add_argument("--name", help="new display name")
        parser.add_argument("--description", help="new description")
        parser.add_argument("--datatype", help="new datatype")
        parser.add_argument("--coordSystem", "--assembly", dest="coordSystem", help="new coordinate system")
        parser.add_argument("--coordSystem2", help="new coordinate system of the second axis")
        parser.add_argument("--project-name", dest="project_name", help="move to this project (created if new)")
        privacy = parser.add_mutually_exclusive_group()
        privacy.add_argument("--private", dest="private", action="store_const", const=True, help="make it private")
        privacy.add_argument("--public", dest="private", action="store_const", const=False, help="make it public")

    def handle(self, *args, **options):
        tileset = Tileset.objects.filter(uuid=options["uuid"]).first()
        if tileset is None:
            raise CommandError(f"No tileset with uuid {options['uuid']!r}.")
        changes = {
            field: options[field]
            for field in ("name", "description", "datatype", "coordSystem", "coordSystem2", "private")
            if options[field] is not None and options[field] != getattr(tileset, field)
        }
        if options["project_name"] and (tileset.project is None or tileset.project.name != options["project_name"]):
            changes["project"], _ = Project.objects.get_or_create(
                name=options["project_name"], defaults={"owner": tileset.owner}
            )
        if not changes:
            self.stdout.write("Nothing to change.")
            return
        try:
            update_tileset(tileset, **changes)
        except ServiceError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"Changed {', '.join(sorted(changes))} of {tileset}")
