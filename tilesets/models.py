"""Tileset metadata kept by the server: tilesets, projects and saved view configs."""

import slugid
from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

# A tileset uid is the first dot-separated part of a tile id, so it may not contain '.'.
UID_PATTERN = r"^[A-Za-z0-9_\-]+$"
uid_validator = RegexValidator(
    UID_PATTERN, "A uid may only contain letters, digits, '-' and '_' (no '.', '/' or spaces)."
)


def new_uid():
    return slugid.nice()


class Project(models.Model):
    created = models.DateTimeField(auto_now_add=True)
    last_viewed_time = models.DateTimeField(default=timezone.now)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, blank=True, null=True)
    name = models.TextField()  # unique per owner: a name resolves only among the caller's projects
    description = models.TextField(blank=True, default="")
    uuid = models.CharField(max_length=100, unique=True, default=new_uid, validators=[uid_validator])
    private = models.BooleanField(default=False)

    class Meta:
        ordering = ("created",)
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="tilesets_project_owner_name")]
        permissions = (("read", "Read permission"), ("write", "Modify permission"), ("admin", "Administrator permission"))

    def __str__(self):
        return f"Project [name: {self.name}] [uuid: {self.uuid}]"


class Tileset(models.Model):
    created = models.DateTimeField(auto_now_add=True, db_index=True)
    uuid = models.CharField(max_length=100, unique=True, default=new_uid, validators=[uid_validator])
    # Relative to MEDIA_ROOT (e.g. "uploads/x.mcool"); --no-upload files are stored relative too.
    # For a remote tileset (``remote``) both hold URLs instead (http(s):// or s3://).
    datafile = models.FileField(upload_to="uploads", max_length=1000)
    indexfile = models.FileField(upload_to="uploads", max_length=1000, blank=True, null=True)
    # True when datafile and indexfile are URLs read over the network (register_url, --url), never
    # names under MEDIA_ROOT. Only this flag makes a name a URL: a stored name is never guessed.
    remote = models.BooleanField(default=False)
    # True when the server copied the data (and index) file into uploads/ and so may delete it;
    # False when it only points at a file of the user's (--no-upload).
    owns_file = models.BooleanField(default=True)
    # Same for the index file: True when it was copied in or built at ingest.
    owns_index = models.BooleanField(default=True)
    # Facts about the file computed once at ingest by its generator (e.g. for htsget tickets).
    meta = models.JSONField(default=dict, blank=True)
    filetype = models.TextField()
    datatype = models.TextField(default="unknown", blank=True, null=True)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, blank=True, null=True)
    description = models.TextField(blank=True, default="")
    coordSystem = models.TextField(blank=True, default="")
    coordSystem2 = models.TextField(blank=True, default="")
    temporary = models.BooleanField(default=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, blank=True, null=True)
    private = models.BooleanField(default=False)
    name = models.TextField(blank=True, default="")

    class Meta:
        ordering = ("created", "id")
        permissions = (("read", "Read permission"), ("write", "Modify permission"), ("admin", "Administrator permission"))

    def __str__(self):
        return f"Tileset [name: {self.name}] [ft: {self.filetype}] [uuid: {self.uuid}]"


class TilesetUserObjectPermission(UserObjectPermissionBase):
    """Per-user object permissions on tilesets (django-guardian, direct foreign key)."""

    content_object = models.ForeignKey(Tileset, on_delete=models.CASCADE)


class TilesetGroupObjectPermission(GroupObjectPermissionBase):
    """Per-group object permissions on tilesets (django-guardian, direct foreign key)."""

    content_object = models.ForeignKey(Tileset, on_delete=models.CASCADE)


class ViewConf(models.Model):
    created = models.DateTimeField(auto_now_add=True)
    higlassVersion = models.CharField(max_length=16, default="", blank=True, null=True)
    uuid = models.CharField(max_length=100, unique=True, default=new_uid)
    viewconf = models.TextField()

    class Meta:
        ordering = ("created",)

    def __str__(self):
        return f"Viewconf [uuid: {self.uuid}]"
