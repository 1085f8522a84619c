"""The one visibility rule and the one write rule, used by every endpoint and command.

* A tileset is **visible** to a caller when it is public, or the caller owns it, or the caller is
  a superuser, or the caller (or one of their groups) was granted ``read`` on it with
  django-guardian (sharing through the admin).
* A caller may **change or delete** a tileset when uploads are enabled and the caller is a
  superuser, its owner, or holds the guardian ``write`` or ``admin`` permission on it.
"""

from django.conf import settings
from django.db.models import Q
from guardian.shortcuts import assign_perm

from .models import Tileset, TilesetGroupObjectPermission, TilesetUserObjectPermission

OWNER_PERMISSIONS = ("read", "write", "admin")


def _granted(user, codenames):
    """Ids of tilesets on which the user or one of their groups holds one of ``codenames``."""
    users = TilesetUserObjectPermission.objects.filter(user=user, permission__codename__in=codenames)
    groups = TilesetGroupObjectPermission.objects.filter(
        group__in=user.groups.all(), permission__codename__in=codenames
    )
    return Q(pk__in=users.values("content_object")) | Q(pk__in=groups.values("content_object"))


def visible_tilesets(user, queryset=None):
    """Filter ``queryset`` (default: all tilesets) down to what ``user`` may see."""
    queryset = Tileset.objects.all() if queryset is None else queryset
    if user is not None and user.is_authenticated and user.is_superuser:
        return queryset
    rule = Q(private=False)
    if user is not None and user.is_authenticated:
        rule |= Q(owner=user) | _granted(user, ("read", "write", "admin"))
    return queryset.filter(rule)


def visible_among(user, tilesets):
    """The uuids of ``tilesets`` (rows already fetched) that ``user`` may see: the same rule as
    :func:`visible_tilesets`, with a query only for private rows the user does not own."""
    if user is not None and user.is_authenticated and user.is_superuser:
        return {t.uuid for t in tilesets}
    authenticated = user is not None and user.is_authenticated
    visible = {t.uuid for t in tilesets if not t.private or (authenticated and t.owner_id == user.pk)}
    others = [t.pk for t in tilesets if t.uuid not in visible]
    if others and authenticated:
        shared = Tileset.objects.filter(_granted(user, ("read", "write", "admin")), pk__in=others)
        visible.update(shared.values_list("uuid", flat=True))
    return visible


def can_read(user, tileset):
    return visible_tilesets(user, Tileset.objects.filter(pk=tileset.pk)).exists()


def can_write(user, tileset):
    if not settings.UPLOAD_ENABLED or user is None or not user.is_authenticated:
        return False
    if user.is_superuser or (tileset.owner_id is not None and tileset.owner_id == user.pk):
        return True
    return Tileset.objects.filter(_granted(user, ("write", "admin")), pk=tileset.pk).exists()


def usable_chromsizes(owner_id=None, coord_system=None):
    """Chromosome-sizes tilesets that a tileset of ``owner_id`` may take its assembly from:
    the public ones and the owner's own (never another user's private ones)."""
    shared = Q(private=False) | Q(owner_id=owner_id) if owner_id else Q(private=False)
    found = Tileset.objects.filter(shared, datatype="chromsizes")
    return found.filter(coordSystem=coord_system) if coord_system is not None else found


def grant_owner_permissions(tileset):
    """Give the tileset's owner guardian's read/write/admin permissions on it."""
    if tileset.owner_id is None:
        return
    for codename in OWNER_PERMISSIONS:
        assign_perm(codename, tileset.owner, tileset)
