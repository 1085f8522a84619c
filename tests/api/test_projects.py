"""Hardening: a project resolves only among the caller's own projects (and shared ones without an
owner); another user's project can be neither joined by name nor attached by uuid, and a private
project's name and uuid are shown only to its owner."""

import pytest

from tests.api.test_tilesets_api import upload
from tilesets.models import Project, Tileset


@pytest.fixture
def alice_project(owner, make_tileset):
    make_tileset("alice1", owner=owner, project_name="AliceSecretProject")
    project = Project.objects.get(name="AliceSecretProject", owner=owner)
    project.private = True
    project.save()
    return project


def test_joining_anothers_project_by_name_makes_ones_own(alice_project, other, other_client, chromsizes_file):
    body = upload(other_client, chromsizes_file, coordSystem="zz", project_name="AliceSecretProject").json()
    assert body["project_owner"] == other.username and body["project"] != alice_project.uuid
    mine = Tileset.objects.get(uuid=body["uuid"]).project
    assert mine.owner == other and mine.name == "AliceSecretProject" and mine.pk != alice_project.pk
    assert Tileset.objects.filter(project=alice_project).count() == 1  # alice's project is unchanged


def test_anothers_project_by_uuid_is_refused(alice_project, other, other_client, make_tileset, chromsizes_file):
    response = upload(other_client, chromsizes_file, coordSystem="zz", project=alice_project.uuid)
    assert response.status_code == 400 and "project" in response.json()["error"]
    make_tileset("bob1", owner=other)
    response = other_client.patch("/api/v1/tilesets/bob1/", {"project": alice_project.uuid}, format="json")
    assert response.status_code == 400 and "project" in response.json()["error"]
    assert Tileset.objects.get(uuid="bob1").project is None


def test_shared_projects_without_owner_may_be_used(other_client, make_tileset, other):
    shared = Project.objects.create(name="Shared")
    make_tileset("bob2", owner=other)
    response = other_client.patch("/api/v1/tilesets/bob2/", {"project": shared.uuid}, format="json")
    assert response.status_code == 200 and response.json()["project"] == shared.uuid


def test_private_project_shown_only_to_its_owner(alice_project, owner_client, other_client, anon_client):
    for client in (other_client, anon_client):
        for answer in (client.get("/api/v1/tilesets/alice1/").json(),
                       client.get("/api/v1/tilesets/?ac=").json()["results"][0],
                       client.get("/api/v1/uids_by_filename/?d=alice1").json()["results"][0]):
            assert answer["uuid"] == "alice1"
            assert answer["project"] is None and answer["project_name"] == "" and answer["project_owner"] == ""
    mine = owner_client.get("/api/v1/tilesets/alice1/").json()
    assert mine["project"] == alice_project.uuid and mine["project_name"] == "AliceSecretProject"
