"""JSON shapes of the tileset API: one public shape for list and detail, plus input validation."""

import json
import os

from django.db.models import Q
from rest_framework import serializers

from higlass_server.values import parse_bool

from .models import Project, Tileset, UID_PATTERN
from .register import public_url


class TilesetSerializer(serializers.ModelSerializer):
    """The public shape of a tileset (list items, detail, create and update answers).

    It never shows a server path: ``datafile`` is the bare file name, or for a remote tileset its
    URL without credentials or query.
    """

    datafile = serializers.SerializerMethodField()
    owner = serializers.SerializerMethodField()
    project = serializers.SerializerMethodField()
    project_name = serializers.SerializerMethodField()
    project_owner = serializers.SerializerMethodField()

    class Meta:
        model = Tileset
        fields = (
            "uuid", "datafile", "filetype", "datatype", "private", "name", "coordSystem", "coordSystem2",
            "created", "owner", "project", "project_name", "project_owner", "description",
        )

    def get_datafile(self, obj):
        if not obj.datafile:
            return ""
        return public_url(obj.datafile.name) if obj.remote else os.path.basename(obj.datafile.name)

    def get_owner(self, obj):
        return obj.owner.username if obj.owner_id else None

    def _project(self, obj):
        """The tileset's project when the viewer may see it: a public project, or a private one
        of the viewer's own (superusers see all). Answers made without a request (to the writer
        of a change) show it."""
        project = obj.project if obj.project_id else None
        if project is None or not project.private:
            return project
        request = self.context.get("request")
        if request is None:
            return project
        user = request.user
        return project if user.is_superuser or (user.is_authenticated and project.owner_id == user.id) else None

    def get_project(self, obj):
        project = self._project(obj)
        return project.uuid if project else None

    def get_project_name(self, obj):
        project = self._project(obj)
        return project.name if project else ""

    def get_project_owner(self, obj):
        project = self._project(obj)
        return project.owner.username if project and project.owner_id else ""


class _BoolField(serializers.BooleanField):
    """A boolean body field read with the server's one boolean rule (``higlass_server.values``)."""

    def to_internal_value(self, data):
        try:
            return parse_bool(data)
        except ValueError:
            self.fail("invalid", input=data)


class _ProjectField(serializers.SlugRelatedField):
    """A project by uuid, found only among the projects the caller may write: their own, and the
    shared ones an administrator made without an owner (unless private); a superuser: any.
    Another user's project reads as an unknown uuid (400)."""

    def __init__(self, **kwargs):
        super().__init__(slug_field="uuid", queryset=Project.objects.all(), **kwargs)

    def get_queryset(self):
        request = self.context.get("request")
        user = getattr(request, "user", None)
        if user is not None and user.is_superuser:
            return Project.objects.all()
        shared = Q(owner__isnull=True, private=False)
        if user is None or not user.is_authenticated:
            return Project.objects.filter(shared)
        return Project.objects.filter(Q(owner=user) | shared)


class TilesetUploadSerializer(serializers.Serializer):
    """Fields of ``POST /api/v1/tilesets/`` (multipart)."""

    datafile = serializers.FileField()
    indexfile = serializers.FileField(required=False)
    filetype = serializers.CharField()
    datatype = serializers.CharField(required=False, default="unknown")
    coordSystem = serializers.CharField()
    coordSystem2 = serializers.CharField(required=False, default="", allow_blank=True)
    uid = serializers.RegexField(UID_PATTERN, max_length=100, required=False)
    name = serializers.CharField(required=False, allow_blank=True, default="")
    description = serializers.CharField(required=False, allow_blank=True, default="")
    private = _BoolField(required=False, default=False)
    project = _ProjectField(required=False, allow_null=True)
    project_name = serializers.CharField(required=False, allow_blank=True, default="")

    def validate(self, attrs):
        if attrs.get("project") and attrs.get("project_name"):
            raise serializers.ValidationError("Give either project (a uuid) or project_name, not both.")
        return attrs


class _RegisterFields(serializers.Serializer):
    """The metadata fields shared by ``register_url`` and ``link_tile`` (JSON bodies); any other
    key is refused, so a typo is not silently ignored."""

    filetype = serializers.CharField()
    datatype = serializers.CharField(required=False, default="unknown")
    coordSystem = serializers.CharField(required=False, allow_blank=True, default="")
    coordSystem2 = serializers.CharField(required=False, allow_blank=True, default="")
    uid = serializers.RegexField(UID_PATTERN, max_length=100, required=False)
    name = serializers.CharField(required=False, allow_blank=True, default="")
    description = serializers.CharField(required=False, allow_blank=True, default="")
    private = _BoolField(required=False, default=False)
    project_name = serializers.CharField(required=False, allow_blank=True, default="")

    def validate(self, attrs):
        unknown = sorted(set(self.initial_data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError(
                f"Unknown field(s): {', '.join(unknown)}; allowed: {', '.join(self.fields)}."
            )
        return attrs


class RegisterUrlSerializer(_RegisterFields):
    """Body of ``POST /api/v1/register_url/``."""

    fileurl = serializers.CharField(max_length=1000)
    indexurl = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=1000)


class LinkTileSerializer(_RegisterFields):
    """Body of ``POST /api/v1/link_tile/``; ``uuid`` is accepted for ``uid`` (the reference's name)."""

    filepath = serializers.CharField()
    indexpath = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    uuid = serializers.RegexField(UID_PATTERN, max_length=100, required=False)

    def validate(self, attrs):
        attrs = super().validate(attrs)
        if "uuid" in attrs:
            if "uid" in attrs and attrs["uid"] != attrs["uuid"]:
                raise serializers.ValidationError("Give uid or uuid, not both.")
            attrs["uid"] = attrs.pop("uuid")
        return attrs


IMMUTABLE_FIELDS = ("uuid", "datafile", "indexfile", "filetype", "owner", "created")


class TilesetUpdateSerializer(serializers.Serializer):
    """Fields of ``PATCH /api/v1/tilesets/<uuid>/``; the file and the uuid cannot change."""

    name = serializers.CharField(required=False, allow_blank=True)
    description = serializers.CharField(required=False, allow_blank=True)
    datatype = serializers.CharField(required=False, allow_null=True)
    coordSystem = serializers.CharField(required=False)
    coordSystem2 = serializers.CharField(required=False, allow_blank=True)
    private = _BoolField(required=False)
    project = _ProjectField(required=False, allow_null=True)

    def validate(self, attrs):
        tileset = self.context["tileset"]
        current = TilesetSerializer(tileset).data
        changed = [
            field for field in IMMUTABLE_FIELDS
            if field in self.initial_data and str(self.initial_data[field]) != str(current.get(field))
        ]
        if changed:
            raise serializers.ValidationError(
                f"{', '.join(changed)} cannot be changed; ingest the file again under a new uid instead."
            )
        return attrs


class ViewConfInputSerializer(serializers.Serializer):
    """Body of ``POST /api/v1/viewconfs/``."""

    viewconf = serializers.JSONField()
    uid = serializers.CharField(required=False, max_length=100)
    higlassVersion = serializers.CharField(required=False, allow_blank=True, max_length=16, default="")

    def validate_viewconf(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError("The view config must be a JSON object.")
        return json.dumps(value)
