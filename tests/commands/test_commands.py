"""Management commands: ingest_tileset, list_tilesets, modify_tileset, delete_tileset, load_demo."""

import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.builders.helpers import uploads, write_chromsizes
from tilesets.models import Project, Tileset

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def run(*args):
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def ingest(*args):
    return run("ingest_tileset", *args)


# --- ingest_tileset ------------------------------------------------------------------------


def test_ingest_copies_and_prints_the_uuid(chromsizes_file, media):
    out, err = ingest(
        "--filename", str(chromsizes_file), "--filetype", "chromsizes-tsv", "--datatype", "chromsizes",
        "--assembly", "hg19", "--uid", "cs1", "--project-name", "Experiment 3", "--name", "Sizes",
        "--description", "about",
    )
    assert out.strip() == "cs1" and err == ""
    tileset = Tileset.objects.get(uuid="cs1")
    assert (tileset.coordSystem, tileset.name, tileset.datatype, tileset.description) == ("hg19", "Sizes", "chromsizes", "about")
    assert tileset.project.name == "Experiment 3" and tileset.owns_file and tileset.owner is None
    assert uploads(media) == ["small.chrom.sizes"]
    assert chromsizes_file.exists()  # the original is untouched


def test_ingest_defaults(chromsizes_file):
    out, err = ingest("--filename", str(chromsizes_file), "--filetype", "chromsizes-tsv")
    tileset = Tileset.objects.get(uuid=out.strip())
    assert len(tileset.uuid) == 22 and tileset.name == "small.chrom.sizes"
    assert tileset.project is None and not Project.objects.exists()  # no nameless project
    assert tileset.datatype is None
    assert "Warning: no --coordSystem" in err


def test_ingest_owner_and_private(chromsizes_file, owner):
    ingest("--filename", str(chromsizes_file), "--filetype", "chromsizes-tsv", "--uid", "p", "--owner", "owner", "--private", "--coordSystem", "x")
    tileset = Tileset.objects.get(uuid="p")
    assert tileset.owner == owner and tileset.private and owner.has_perm("tilesets.write", tileset)


def test_ingest_coordsystem2_and_project_reuse(chromsizes_file):
    ingest("--filename", str(chromsizes_file), "--filetype", "chromsizes-tsv", "--uid", "a", "--coordSystem", "x", "--coordSystem2", "y", "--project-name", "P")
    ingest("--filename", str(chromsizes_file), "--filetype", "chromsizes-tsv", "--uid", "b", "--coordSystem", "x", "--project-name", "P")
    assert Project.objects.count() == 1
    assert Tileset.objects.get(uuid="a").coordSystem2 == "y"


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--filetype", "nonsense"], "Unknown filetype 'nonsense'"),
        (["--filetype", "chromsizes-tsv", "--uid", "bad.uid"], "Invalid uid"),
        (["--filetype", "chromsizes-tsv", "--owner", "ghost"], "No such user: 'ghost'"),
        (["--filetype", "chromsizes-tsv", "--private"], "--private needs --owner"),
        (["--filetype", "chromsizes-tsv", "--indexfile", "/no/such/index"], "Index file does not exist"),
    ],
)
def test_ingest_refusals_store_nothing(chromsizes_file, media, extra, message):
    with pytest.raises(CommandError, match=message):
        ingest("--filename", str(chromsizes_file), "--coordSystem", "x", *extra)
    assert not Tileset.objects.exists() and uploads(media) == []


def test_ingest_missing_file(media):
    with pytest.raises(CommandError, match="File does not exist: /no/such/file.tsv"):
        ingest("--filename", "/no/such/file.tsv", "--filetype", "chromsizes-tsv")
    assert uploads(media) == []


def test_ingest_url_is_refused():
    with pytest.raises(CommandError, match="URLs cannot be ingested"):
        ingest("--filename", "https://example.org/x.tsv", "--filetype", "chromsizes-tsv")


def test_ingest_validates_before_copying(outside, media):
    bad = outside / "bad.tsv"
    bad.write_text("chr1\t100\nchr1\t200\n")
    with pytest.raises(CommandError, match="does not open as chromsizes-tsv: line 2: chromosome 'chr1' is listed twice"):
        ingest("--filename", str(bad), "--filetype", "chromsizes-tsv")
    assert uploads(media) == [] and not Tileset.objects.exists()


def test_ingest_taken_uid_copies_nothing(chromsizes_file, media):
    ingest("--filename", str(chromsizes_file), "--filetype", "chromsizes-tsv", "--uid", "same")
    with pytest.raises(CommandError, match="already exists"):
        ingest("--filename", str(chromsizes_file), "--filetype", "chromsizes-tsv", "--uid", "same")
    assert uploads(media) == ["small.chrom.sizes"] and Tileset.objects.count() == 1


def test_ingest_failure_after_copy_leaves_nothing(chromsizes_file, media, monkeypatch):
    import tilesets.ingest

    def fail(tileset):
        raise RuntimeError("database went away")

    monkeypatch.setattr(tilesets.ingest, "grant_owner_permissions", fail)
    with pytest.raises(RuntimeError):
        ingest("--filename", str(chromsizes_file), "--filetype", "chromsizes-tsv", "--uid", "lost")
    assert uploads(media) == [] and not Tileset.objects.exists()


def test_ingest_no_upload(media):
    folder = media / "data"
    folder.mkdir()
    original = write_chromsizes(folder / "mine.tsv")
    out, _ = ingest("--filename", str(original), "--filetype", "chromsizes-tsv", "--no-upload", "--uid", "n1")
    tileset = Tileset.objects.get(uuid="n1")
    assert not tileset.owns_file and tileset.datafile.name == "data/mine.tsv"
    assert uploads(media) == []
    # a path relative to the media root works too
    ingest("--filename", "data/mine.tsv", "--filetype", "chromsizes-tsv", "--no-upload", "--uid", "n2")
    assert Tileset.objects.get(uuid="n2").datafile.name == "data/mine.tsv"


def test_ingest_no_upload_outside_media_root_is_refused(chromsizes_file, media):
    with pytest.raises(CommandError, match="must lie under the media root"):
        ingest("--filename", str(chromsizes_file), "--filetype", "chromsizes-tsv", "--no-upload")
    escape = media / "link-out.tsv"
    escape.symlink_to(chromsizes_file)
    with pytest.raises(CommandError, match="must lie under the media root"):
        ingest("--filename", str(escape), "--filetype", "chromsizes-tsv", "--no-upload")
    with pytest.raises(CommandError, match="does not exist under the media root"):
        ingest("--filename", "../outside/small.chrom.sizes.nope", "--filetype", "chromsizes-tsv", "--no-upload")
    assert not Tileset.objects.exists()


def test_ingest_with_index_file(chromsizes_file, outside, media):
    index = outside / "small.idx"
    index.write_text("index")
    ingest("--filename", str(chromsizes_file), "--filetype", "chromsizes-tsv", "--indexfile", str(index), "--uid", "ix")
    tileset = Tileset.objects.get(uuid="ix")
    assert tileset.indexfile.name == "uploads/small.idx"
    assert uploads(media) == ["small.chrom.sizes", "small.idx"]


# --- list / modify / delete ----------------------------------------------------------------


def test_list_tilesets(make_tileset):
    make_tileset("l1", name="first")
    make_tileset("l2", name="second", filetype="xxxyx", strict_filetype=False)
    out, _ = run("list_tilesets")
    assert out.splitlines() == [
        "tileset: Tileset [name: first] [ft: chromsizes-tsv] [uuid: l1]",
        "tileset: Tileset [name: second] [ft: xxxyx] [uuid: l2]",
    ]
    out, _ = run("list_tilesets", "--filetype", "xxxyx", "--format", "json")
    assert [t["uuid"] for t in json.loads(out)] == ["l2"]


def test_modify_tileset(make_tileset):
    make_tileset("m1", name="old")
    out, _ = run("modify_tileset", "--uuid=m1", "--name=new")
    assert "name" in out and Tileset.objects.get(uuid="m1").name == "new"
    out, _ = run("modify_tileset", "--uuid", "m1", "--name", "new")
    assert out.strip() == "Nothing to change."
    run("modify_tileset", "--uuid", "m1", "--private", "--description", "d", "--assembly", "hg38", "--project-name", "P")
    tileset = Tileset.objects.get(uuid="m1")
    assert tileset.private and tileset.description == "d" and tileset.coordSystem == "hg38" and tileset.project.name == "P"
    run("modify_tileset", "--uuid", "m1", "--public")
    assert not Tileset.objects.get(uuid="m1").private
    with pytest.raises(CommandError, match="No tileset with uuid 'nope'"):
        run("modify_tileset", "--uuid", "nope", "--name", "x")


@pytest.mark.django_db(transaction=True)
def test_delete_tileset(make_tileset, media):
    tileset = make_tileset("d1")
    stored = media / tileset.datafile.name
    out, err = run("delete_tileset", "--uuid=d1")
    assert "Deleted Tileset" in out and err == ""
    assert not stored.exists() and not Tileset.objects.exists()
    with pytest.raises(CommandError, match="No tileset with uuid 'd1'"):
        run("delete_tileset", "--uuid", "d1")


@pytest.mark.django_db(transaction=True)
def test_delete_tileset_keeps_no_upload_files_and_tolerates_missing(make_tileset, media):
    (media / "data").mkdir()
    original = write_chromsizes(media / "data" / "keep.tsv")
    ingest("--filename", str(original), "--filetype", "chromsizes-tsv", "--no-upload", "--uid", "keep")
    out, _ = run("delete_tileset", "--uuid", "keep")
    assert "left in place" in out and original.exists()
    gone = make_tileset("gone")
    (media / gone.datafile.name).unlink()
    _, err = run("delete_tileset", "--uuid", "gone")
    assert "already gone" in err and not Tileset.objects.filter(uuid="gone").exists()


def test_load_demo_is_idempotent():
    out, _ = run("load_demo", "--only", "hg38-chromsizes")
    assert "hg38-chromsizes" in out
    out, _ = run("load_demo", "--only", "hg38-chromsizes")
    assert out == ""
    assert Tileset.objects.get(uuid="hg38-chromsizes").datatype == "chromsizes"


# --- as a user runs them: exit codes, one-line errors, --help ------------------------------


@pytest.fixture(scope="module")
def shell_env(tmp_path_factory):
    base = tmp_path_factory.mktemp("base")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL",)}
    env.update(BASE_DIR=str(base), PYTHONPATH=str(ROOT))
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    return env


def manage(env, *args):
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True)


def test_commands_from_the_shell(shell_env, tmp_path):
    for command in ("ingest_tileset", "list_tilesets", "modify_tileset", "delete_tileset", "load_demo"):
        result = manage(shell_env, command, "--help")
        assert result.returncode == 0 and "usage:" in result.stdout
    assert "--assembly" in manage(shell_env, "ingest_tileset", "--help").stdout

    result = manage(shell_env, "ingest_tileset", "--filename", "/no/file", "--filetype", "chromsizes-tsv")
    assert result.returncode == 1
    assert result.stderr.strip() == "CommandError: File does not exist: /no/file"

    result = manage(shell_env, "delete_tileset", "--uuid", "nope")
    assert result.returncode == 1 and result.stderr.strip() == "CommandError: No tileset with uuid 'nope'."
    assert manage(shell_env, "ingest_tileset", "--filetype", "x").returncode == 2  # --filename missing

    sizes = write_chromsizes(tmp_path / "s.tsv")
    result = manage(shell_env, "ingest_tileset", "--filename", str(sizes), "--filetype", "chromsizes-tsv", "--uid", "sh", "--coordSystem", "x")
    assert result.returncode == 0 and result.stdout.strip() == "sh"
    assert "[uuid: sh]" in manage(shell_env, "list_tilesets").stdout
    assert manage(shell_env, "delete_tileset", "--uuid", "sh").returncode == 0


# --- ingest_tileset --url ------------------------------------------------------------------


@pytest.fixture
def served_cooler(settings, tmp_path):
    """A small .cool file on a loopback Range server that the remote layer may reach."""
    from tests.builders import cooler_data
    from tests.builders.remote_servers import serving

    settings.REMOTE_ALLOW_PRIVATE_HOSTS = True
    settings.REMOTE_READ_TIMEOUT = 2
    settings.REMOTE_CACHE_DIR = str(tmp_path / "remote-cache")
    folder = tmp_path / "served"
    folder.mkdir()
    cooler_data.make_base(folder / "single.cool", balance=False, extra=())
    with serving(folder) as server:
        yield server


def test_ingest_url_registers_the_remote_file(served_cooler, media, owner):
    url = served_cooler.url("single.cool")
    out, _ = ingest("--url", url, "--filetype", "cooler", "--datatype", "matrix", "--coordSystem", "hgC",
                    "--uid", "rc", "--owner", "owner")
    assert out.strip() == "rc"
    tileset = Tileset.objects.get(uuid="rc")
    assert tileset.remote and tileset.datafile.name == url and not tileset.owns_file and tileset.owner == owner
    assert tileset.name == "single.cool" and uploads(media) == []
    out, _ = run("delete_tileset", "--uuid", "rc")
    assert "left in place" in out and not Tileset.objects.filter(uuid="rc").exists()


@pytest.mark.parametrize("args, message", [
    (["--url", "ftp://example.org/x.cool"], "--url must be an http://, https:// or s3:// URL"),
    (["--url", "https://example.org/r.bam", "--filetype", "bam"], "bam needs an index: give its URL in --index-url"),
    (["--url", "https://example.org/x.cool", "--indexfile", "x.bai"], "--url takes --index-url"),
    (["--url", "https://example.org/x.cool", "--no-upload"], "--url takes --index-url"),
    (["--filename", "x.cool", "--index-url", "https://example.org/x.bai"], "--index-url goes with --url"),
])
def test_ingest_url_refusals(args, message):
    if "--filetype" not in args:
        args = [*args, "--filetype", "cooler"]
    with pytest.raises(CommandError, match=message):
        ingest(*args)
    assert not Tileset.objects.exists()


def test_ingest_url_that_cannot_be_read(served_cooler):
    with pytest.raises(CommandError, match=r"--url cannot be read: .*HTTP 404"):
        ingest("--url", served_cooler.url("nope.cool"), "--filetype", "cooler")
    assert not Tileset.objects.exists()


def test_ingest_url_refuses_loopback_by_default(served_cooler, settings):
    settings.REMOTE_ALLOW_PRIVATE_HOSTS = False
    with pytest.raises(CommandError, match="non-public address"):
        ingest("--url", served_cooler.url("single.cool"), "--filetype", "cooler")


def test_ingest_url_or_filename_is_required(shell_env):
    result = manage(shell_env, "ingest_tileset", "--filetype", "cooler")
    assert result.returncode == 2 and "one of the arguments --filename --url is required" in result.stderr
    result = manage(shell_env, "ingest_tileset", "--filename", "a", "--url", "https://example.org/a", "--filetype", "cooler")
    assert result.returncode == 2 and "not allowed with argument" in result.stderr
    assert "--index-url" in manage(shell_env, "ingest_tileset", "--help").stdout
