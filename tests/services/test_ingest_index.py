"""Ingest of filetypes that need an index: given, found next to the file, or built at ingest;
facts computed at ingest; deletion removes only the files the server owns."""

from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.builders.helpers import uploads
from tilesets import generators
from tilesets.generators.base import Generator, GeneratorError
from tilesets.ingest import IngestError, delete_tileset, ingest_tileset
from tilesets.tiles import source_of

pytestmark = pytest.mark.django_db(transaction=True)


def _validate(datafile, indexfile):
    if Path(indexfile).read_text() != "index of " + Path(datafile).read_text():
        raise GeneratorError("the index does not belong to the file")


def _build(datafile, folder):
    if "unindexable" in Path(datafile).read_text():
        raise GeneratorError("the file is not sorted")
    path = Path(folder) / "built.idx"
    path.write_text("index of " + Path(datafile).read_text())
    return str(path)


@pytest.fixture(autouse=True)
def indexed(monkeypatch):
    def facts(source):
        return {"size": Path(source.datafile).stat().st_size, "index": Path(source.indexfile).suffix}

    kinds = {
        "needs-index": Generator(filetype="needs-index", validate=_validate, needs_index=True,
                                 index_suffixes=(".idx", ".alt"), facts=facts),
        "builds-index": Generator(filetype="builds-index", validate=_validate, needs_index=True,
                                  index_suffixes=(".idx",), build_index=_build),
    }
    for name, generator in kinds.items():
        monkeypatch.setitem(generators.REGISTRY, name, generator)


def data_file(folder, name="reads.dat", text="reads"):
    path = Path(folder) / name
    path.write_text(text)
    return path


def index_for(path, suffix=".idx"):
    index = Path(str(path) + suffix)
    index.write_text("index of " + path.read_text())
    return index


def test_index_given(outside, media):
    path = data_file(outside)
    other = outside / "elsewhere.bin"
    other.write_text("index of reads")
    tileset = ingest_tileset(datafile=str(path), indexfile=str(other), filetype="needs-index", uid="g")
    assert tileset.indexfile.name == "uploads/elsewhere.bin" and tileset.owns_index
    assert tileset.meta == {"facts": {"size": 5, "index": ".bin"}}
    assert source_of(tileset).context["facts"] == {"size": 5, "index": ".bin"}


def test_index_found_next_to_the_file(outside, media):
    path = data_file(outside)
    index_for(path, ".alt")
    tileset = ingest_tileset(datafile=str(path), filetype="needs-index", uid="f")
    assert tileset.indexfile.name == "uploads/reads.dat.alt"
    assert uploads(media) == ["reads.dat", "reads.dat.alt"]


def test_missing_index_is_refused(outside, media):
    path = data_file(outside)
    with pytest.raises(CommandError, match="needs an index file"):
        call_command("ingest_tileset", "--filename", str(path), "--filetype", "needs-index")
    assert uploads(media) == []


def test_wrong_index_is_refused(outside, media):
    path = data_file(outside)
    wrong = outside / "wrong.idx"
    wrong.write_text("index of something else")
    with pytest.raises(IngestError, match="does not open as needs-index: the index does not belong"):
        ingest_tileset(datafile=str(path), indexfile=str(wrong), filetype="needs-index")
    assert uploads(media) == []


def test_index_built_at_ingest(outside, media):
    path = data_file(outside)
    tileset = ingest_tileset(datafile=str(path), filetype="builds-index", uid="b")
    assert tileset.indexfile.name == "uploads/reads.dat.idx" and tileset.owns_index
    assert (media / tileset.indexfile.name).read_text() == "index of reads"
    assert sorted(p.name for p in outside.iterdir()) == ["reads.dat"]  # nothing written beside the original
    with pytest.raises(IngestError, match="Cannot build an index for bad.dat: the file is not sorted"):
        ingest_tileset(datafile=str(data_file(outside, "bad.dat", "unindexable")), filetype="builds-index")


def test_no_upload_with_built_index_owns_only_the_index(media):
    (media / "mine").mkdir()
    path = data_file(media / "mine")
    tileset = ingest_tileset(datafile=str(path), filetype="builds-index", uid="nb", no_upload=True)
    assert not tileset.owns_file and tileset.owns_index
    index = media / tileset.indexfile.name
    delete_tileset(tileset)
    assert path.exists() and not index.exists()


def test_no_upload_with_the_users_index_keeps_both(media):
    (media / "mine").mkdir()
    path = data_file(media / "mine")
    index = index_for(path)
    tileset = ingest_tileset(datafile=str(path), filetype="needs-index", uid="nu", no_upload=True)
    assert tileset.indexfile.name == "mine/reads.dat.idx" and not tileset.owns_index
    delete_tileset(tileset)
    assert path.exists() and index.exists()


def test_delete_removes_a_server_owned_index(outside, media):
    path = data_file(outside)
    index_for(path)
    tileset = ingest_tileset(datafile=str(path), filetype="needs-index", uid="d")
    assert uploads(media) == ["reads.dat", "reads.dat.idx"]
    delete_tileset(tileset)
    assert uploads(media) == []


def test_upload_with_and_without_index(owner_client, outside, media):
    path = data_file(outside)
    index = index_for(path)
    with open(path, "rb") as data, open(index, "rb") as idx:
        response = owner_client.post("/api/v1/tilesets/", {"datafile": data, "indexfile": idx, "filetype": "needs-index",
                                                             "coordSystem": "x"}, format="multipart")
    assert response.status_code == 201
    with open(path, "rb") as data:
        response = owner_client.post("/api/v1/tilesets/", {"datafile": data, "filetype": "needs-index", "coordSystem": "x"},
                                     format="multipart")
    assert response.status_code == 400 and "needs an index file" in response.json()["error"]
    with open(path, "rb") as data:
        response = owner_client.post("/api/v1/tilesets/", {"datafile": data, "filetype": "builds-index", "coordSystem": "x"},
                                     format="multipart")
    assert response.status_code == 201
    assert len(uploads(media)) == 4
