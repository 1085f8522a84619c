"""POST /api/v1/link_tile/: a file already under MEDIA_ROOT registered where it is.

The path must really lie inside the media folder: ``..``, absolute paths elsewhere, symbolic
links pointing out and a sibling folder whose name starts like the media folder's are refused.
"""

import os
import shutil

import pytest

from tests.builders.helpers import HG_SMALL, write_chromsizes
from tilesets.models import Tileset

pytestmark = pytest.mark.django_db


def link(client, **body):
    body.setdefault("filetype", "chromsizes-tsv")
    body.setdefault("datatype", "chromsizes")
    body.setdefault("coordSystem", "hgS")
    return client.post("/api/v1/link_tile/", body, format="json")


@pytest.fixture
def linked_file(media):
    folder = media / "data"
    folder.mkdir()
    return write_chromsizes(folder / "mine.chrom.sizes")


def test_link_registers_in_place_and_delete_keeps_the_file(owner_client, owner, linked_file, media):
    response = link(owner_client, filepath="data/mine.chrom.sizes", uid="linked", private=True)
    assert response.status_code == 201, response.content
    assert response.json() == {"uuid": "linked"}
    tileset = Tileset.objects.get(uuid="linked")
    assert tileset.datafile.name == "data/mine.chrom.sizes" and not tileset.owns_file and not tileset.remote
    assert tileset.owner == owner and tileset.private and tileset.name == "mine.chrom.sizes"
    assert os.listdir(media / "uploads") == []  # nothing copied
    info = owner_client.get("/api/v1/tileset_info/?d=linked").json()["linked"]
    assert info["chromsizes"] == [list(row) for row in HG_SMALL]
    assert owner_client.get("/api/v1/tilesets/linked/").json()["datafile"] == "mine.chrom.sizes"
    assert owner_client.delete("/api/v1/tilesets/linked/").status_code == 204
    assert not Tileset.objects.filter(uuid="linked").exists()
    assert linked_file.is_file()


def test_without_slash_uuid_alias_and_a_symlink_inside(owner_client, linked_file, media):
    os.symlink(linked_file, media / "alias.tsv")
    response = owner_client.post("/api/v1/link_tile", {"filepath": "alias.tsv", "filetype": "chromsizes-tsv",
                                                       "uuid": "aliased", "name": "Mine"}, format="json")
    assert response.status_code == 201, response.content
    tileset = Tileset.objects.get(uuid="aliased")
    assert tileset.datafile.name == "data/mine.chrom.sizes" and tileset.name == "Mine"


@pytest.mark.parametrize("where", ["dotdot", "absolute", "sibling", "symlink", "symlink-to-missing"])
def test_paths_outside_the_media_folder_are_422(owner_client, media, tmp_path, where):
    outside = tmp_path / "outside"
    outside.mkdir()
    target = write_chromsizes(outside / "theirs.tsv")
    sibling = tmp_path / (media.name + "-evil")  # shares the media folder's name as a prefix
    sibling.mkdir()
    write_chromsizes(sibling / "evil.tsv")
    if where == "dotdot":
        path = "../outside/theirs.tsv"
    elif where == "absolute":
        path = str(target)
    elif where == "sibling":
        path = f"../{sibling.name}/evil.tsv"
    elif where == "symlink":
        os.symlink(target, media / "out.tsv")
        path = "out.tsv"
    else:
        os.symlink(outside / "gone.tsv", media / "dangling.tsv")
        path = "dangling.tsv"
    response = link(owner_client, filepath=path)
    assert response.status_code == 422, response.content
    assert response.json() == {"error": f"Provided path ({path}) not in the data path", "code": "UnprocessableEntity"}
    assert not Tileset.objects.exists()


def test_sibling_prefix_is_refused_even_as_an_absolute_path(owner_client, media):
    sibling = media.parent / (media.name + "-evil")
    sibling.mkdir()
    evil = write_chromsizes(sibling / "evil.tsv")
    assert str(evil).startswith(str(media))  # the reference's string-prefix test would pass it
    response = link(owner_client, filepath=str(evil))
    assert response.status_code == 422


def test_index_path_is_contained_too(owner_client, linked_file, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "x.bai").write_bytes(b"BAI\x01")
    response = link(owner_client, filepath="data/mine.chrom.sizes", indexpath="../outside/x.bai")
    assert response.status_code == 422
    assert response.json()["error"] == "Provided path (../outside/x.bai) not in the data path"


@pytest.mark.parametrize("body, message", [
    ({"filepath": "data/nope.tsv"}, "Specified file (data/nope.tsv) does not exist"),
    ({"filepath": "data"}, "Specified file (data) does not exist"),
    ({"filepath": ""}, "filepath"),
    ({}, "filepath: This field is required."),
    ({"filepath": "data/mine.chrom.sizes", "owner": "boss"}, "Unknown field(s): owner"),
    ({"filepath": "data/mine.chrom.sizes", "uid": "a", "uuid": "b"}, "Give uid or uuid, not both."),
    ({"filepath": "data/mine.chrom.sizes", "uid": "bad.uid"}, "uid"),
])
def test_bad_bodies_are_400(owner_client, linked_file, body, message):
    response = link(owner_client, **body)
    assert response.status_code == 400, response.content
    assert message in response.json()["error"]
    assert not Tileset.objects.exists()


def test_file_that_is_not_of_its_filetype_is_400_and_kept(owner_client, media):
    bad = media / "bad.tsv"
    bad.write_text("chr1\t100\nchr1\t200\n")
    response = link(owner_client, filepath="bad.tsv")
    assert response.status_code == 400
    assert "bad.tsv does not open as chromsizes-tsv" in response.json()["error"]
    assert bad.is_file() and not Tileset.objects.exists()


def test_taken_uid_is_400(owner_client, linked_file, make_tileset):
    make_tileset("taken")
    response = link(owner_client, filepath="data/mine.chrom.sizes", uid="taken")
    assert response.status_code == 400
    assert response.json()["error"] == "A tileset with uid 'taken' already exists."


def test_anonymous_is_401_and_uploads_disabled_is_403(settings, anon_client, owner_client, linked_file):
    response = link(anon_client, filepath="data/mine.chrom.sizes")
    assert response.status_code == 401 and response.json()["code"] == "InvalidAuthentication"
    settings.UPLOAD_ENABLED = False
    response = link(owner_client, filepath="data/mine.chrom.sizes")
    assert response.status_code == 403
    assert not Tileset.objects.exists()


def test_body_that_is_not_json_is_400(owner_client):
    response = owner_client.post("/api/v1/link_tile/", "filepath=x", content_type="application/json")
    assert response.status_code == 400 and response.json()["error"] == "Unable to parse request body as JSON."


def test_a_linked_cooler_serves_tiles(owner_client, media, tmp_path):
    from tests.builders import cooler_data

    work = tmp_path / "work"
    work.mkdir()
    path = cooler_data.make_base(work / "single.cool", balance=False, extra=())
    (media / "hic").mkdir()
    shutil.copy(path, media / "hic" / "single.cool")
    response = link(owner_client, filepath="hic/single.cool", filetype="cooler", datatype="matrix", uid="hic")
    assert response.status_code == 201, response.content
    tile = owner_client.get("/api/v1/tiles/?d=hic.0.0.0").json()["hic.0.0.0"]
    assert "dense" in tile
