from django.contrib import admin
from guardian.admin import GuardedModelAdmin

from .ingest import delete_tileset
from .models import Project, Tileset, ViewConf


@admin.register(Tileset)
class TilesetAdmin(GuardedModelAdmin):
    list_display = (
        "created", "uuid", "name", "filetype", "datatype", "coordSystem", "coordSystem2",
        "owner", "private", "project", "owns_file", "datafile",
    )
    list_filter = ("filetype", "datatype", "coordSystem", "private", "owns_file", "temporary", "project")
    search_fields = ("uuid", "name", "description", "datafile", "owner__username", "project__name")
    date_hierarchy = "created"
    readonly_fields = ("created",)
    list_select_related = ("owner", "project")
    raw_id_fields = ("owner",)

    # Deleting through the admin removes server-owned files too, as the API and command do.
    def delete_model(self, request, obj):
        delete_tileset(obj)

    def delete_queryset(self, request, queryset):
        for tileset in queryset:
            delete_tileset(tileset)


@admin.register(Project)
class ProjectAdmin(GuardedModelAdmin):
    list_display = ("created", "uuid", "name", "owner", "private", "description")
    list_filter = ("private",)
    search_fields = ("uuid", "name", "description", "owner__username")


@admin.register(ViewConf)
class ViewConfAdmin(admin.ModelAdmin):
    list_display = ("created", "uuid", "higlassVersion")
    search_fields = ("uuid", "viewconf")
    date_hierarchy = "created"
