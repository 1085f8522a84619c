"""Ingest of filetypes that take their chromosome order from an assembly (the chromsizes tileset of
their coordSystem).

A stand-in filetype reads its chromosomes from a small TSV so the rule is tested on its own;
bigWig uses the same path (tests/generators/test_bigwig.py covers the bigWig reader).
"""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.builders.helpers import uploads, write_chromsizes
from tilesets import generators
from tilesets.generators.base import Generator
from tilesets.generators.chromsizes_tsv import read_chromsizes
from tilesets.ingest import IngestError, ingest_tileset
from tilesets.models import Tileset
from tilesets.tiles import assembly_rows, source_of

pytestmark = pytest.mark.django_db

HG_A = [("chr1", 1000), ("chr2", 800)]
HG_B = [("chr2", 800), ("chr1", 1000), ("chrM", 16)]  # same chromosomes, other order
OTHER = [("2L", 5000), ("2R", 6000)]


@pytest.fixture(autouse=True)
def stand_in(monkeypatch):
    generator = Generator(
        filetype="assembly-track",
        validate=lambda path, index: read_chromsizes(path) and None,
        chromsizes=lambda source: read_chromsizes(source.datafile),
        uses_coord_chromsizes=True,
    )
    monkeypatch.setitem(generators.REGISTRY, "assembly-track", generator)


def sizes(uid, rows, coord, outside, **kw):
    path = write_chromsizes(outside / f"{uid}.tsv", rows)
    return ingest_tileset(datafile=str(path), filetype="chromsizes-tsv", datatype="chromsizes",
                          coordSystem=coord, uid=uid, **kw)


def track(outside, rows=HG_A, **kw):
    path = write_chromsizes(outside / "track.txt", rows)
    return ingest_tileset(datafile=str(path), filetype="assembly-track", strict_filetype=False, **kw)


def test_coordsystem_is_inferred_from_the_one_matching_assembly(outside):
    sizes("cs-a", HG_A, "hgA", outside)
    sizes("cs-fly", OTHER, "dm6", outside)
    assert track(outside).coordSystem == "hgA"


def test_no_matching_assembly(outside, media):
    with pytest.raises(IngestError, match="No chromsizes tileset matches the chromosomes"):
        track(outside)
    sizes("cs-fly", OTHER, "dm6", outside)
    with pytest.raises(IngestError, match="No chromsizes tileset matches"):
        track(outside)
    assert uploads(media) == ["cs-fly.tsv"]


def test_several_matching_assemblies_need_a_choice(outside):
    sizes("cs-a", HG_A, "hgA", outside)
    sizes("cs-b", HG_B, "hgB", outside)
    with pytest.raises(IngestError, match=r"Several assemblies match .* \(hgA, hgB\)"):
        track(outside)
    assert track(outside, coordSystem="hgB", uid="chosen").coordSystem == "hgB"


def test_given_coordsystem_is_checked(outside):
    with pytest.raises(IngestError, match="No chromsizes tileset has coordSystem 'a'"):
        track(outside, coordSystem="a")
    sizes("cs-fly", OTHER, "dm6", outside)
    with pytest.raises(IngestError, match="do not match the chromsizes of 'dm6'"):
        track(outside, coordSystem="dm6")
    sizes("cs-a1", HG_A, "hgA", outside)
    sizes("cs-a2", HG_A, "hgA", outside)
    with pytest.raises(IngestError, match="More than one chromsizes tileset has coordSystem 'hgA'"):
        track(outside, coordSystem="hgA")
    assert not Tileset.objects.filter(filetype="assembly-track").exists()


def test_other_users_private_assemblies_are_not_used(outside, owner, other):
    sizes("cs-secret", HG_A, "hgA", outside, owner=other, private=True)
    with pytest.raises(IngestError, match="No chromsizes tileset matches"):
        track(outside, owner=owner)
    assert track(outside, owner=other).coordSystem == "hgA"


def test_command_line_message(outside):
    path = write_chromsizes(outside / "t.txt", HG_A)
    with pytest.raises(CommandError, match="No chromsizes tileset has coordSystem 'nope'"):
        call_command("ingest_tileset", "--filename", str(path), "--filetype", "assembly-track", "--coordSystem", "nope")


def test_generators_get_the_assembly_order(outside):
    sizes("cs-b", HG_B, "hgB", outside)
    tileset = track(outside, coordSystem="hgB")
    assert source_of(tileset).context == {"chromsizes": HG_B}
    sizes("cs-b2", HG_B, "hgB", outside)  # two candidates: the file's own order is used
    assert source_of(tileset).context == {}


def test_assembly_rows_follow_the_file_and_the_registry(outside):
    tileset = sizes("cs-v", HG_A, "hgV", outside)
    name = tileset.datafile.name
    assert assembly_rows("chromsizes-tsv", name) == HG_A
    path = source_of(tileset).datafile
    write_chromsizes(path, OTHER + [("chrX", 12345)])  # changed in place: a new file version
    assert assembly_rows("chromsizes-tsv", name) == OTHER + [("chrX", 12345)]
    assert assembly_rows("assembly-track", name) is None  # not an assembly filetype
