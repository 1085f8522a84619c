"""POST /api/v1/register_url/: tilesets read from http(s) URLs, checked before they are stored.

Real loopback servers (tests/builders/remote_servers.py) play the remote side: a well-behaved one
and hostile ones (Range ignored, never answering, redirecting in a loop, 404, cut off mid-file).
pybbi (bigWig) holds the GIL while it reads a URL, so its server runs in another process.
"""

import os
import time

import pytest

from tests.builders import cooler_data
from tests.builders.bigwig_data import HGT, write_test_bigwig
from tests.builders.helpers import ingest_chromsizes
from tests.builders.reads_data import random_genome, simulate_reads, write_bam
from tests.builders.remote_servers import serving, serving_in_process
from tests.formats.test_remote_s3 import s3_endpoint  # noqa: F401 (a module fixture: moto's S3 server)
from tilesets.ingest import ingest_tileset
from tilesets.models import Tileset

pytestmark = pytest.mark.django_db

COOLER_TILES = ["0.0.0", "1.0.1", "2.1.1", "2.1.1.KR", "3.2.3.none"]
BIGWIG_TILES = ["0.0", "1.1", "2.3", "1.0.max", "2.1.minMax"]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A folder of small files to serve: a .mcool, a bigWig, and text that is no cooler."""
    folder = tmp_path_factory.mktemp("served")
    work = tmp_path_factory.mktemp("work")
    cooler_data.make_mcool(folder / "c.mcool", work)
    write_test_bigwig(folder / "t.bw")
    (folder / "notes.mcool").write_text("these are not the bytes of an HDF5 file\n" * 20)
    return folder


@pytest.fixture
def remote(settings, tmp_path):
    """Loopback servers may be reached; short timeouts; caches in the test's folder."""
    settings.REMOTE_ALLOW_PRIVATE_HOSTS = True
    settings.REMOTE_CONNECT_TIMEOUT = 2
    settings.REMOTE_READ_TIMEOUT = 2
    settings.REMOTE_RETRIES = 1
    settings.REMOTE_CACHE_DIR = str(tmp_path / "remote-cache")
    settings.REMOTE_UDC_CACHE_DIR = str(tmp_path / "udc")
    return settings


def register(client, **body):
    return client.post("/api/v1/register_url/", body, format="json")


def same_answers(client, uid_a, uid_b, tile_ids):
    """tileset_info and the tiles of two tilesets, each keyed without its uid."""
    infos = client.get(f"/api/v1/tileset_info/?d={uid_a}&d={uid_b}").json()
    a, b = dict(infos[uid_a]), dict(infos[uid_b])
    assert "error" not in a, a
    a.pop("name"), b.pop("name")
    assert a == b
    query = "&".join(f"d={uid}.{tile}" for uid in (uid_a, uid_b) for tile in tile_ids)
    tiles = client.get(f"/api/v1/tiles/?{query}").json()
    for tile in tile_ids:
        assert tiles[f"{uid_a}.{tile}"] == tiles[f"{uid_b}.{tile}"]
        assert "error" not in tiles[f"{uid_a}.{tile}"]


# --- success -------------------------------------------------------------------------------


def test_cooler_url_answers_as_the_local_file(remote, served, owner_client, owner, anon_client):
    local = ingest_tileset(datafile=str(served / "c.mcool"), filetype="cooler", datatype="matrix", coordSystem="hgC",
                           uid="local-cool")
    with serving(served) as server:
        url = server.url("c.mcool")
        response = register(owner_client, fileurl=url, filetype="cooler", datatype="matrix", coordSystem="hgC",
                            uid="remote-cool")
        assert response.status_code == 201, response.content
        assert response["Content-Type"] == "application/json"
        assert response.json() == {"uid": "remote-cool"}
        tileset = Tileset.objects.get(uuid="remote-cool")
        assert tileset.remote and not tileset.owns_file and not tileset.owns_index
        assert tileset.datafile.name == url and tileset.owner == owner and tileset.name == "c.mcool"
        assert (tileset.datatype, tileset.coordSystem) == ("matrix", "hgC")
        detail = anon_client.get("/api/v1/tilesets/remote-cool/").json()
        assert detail["datafile"] == url and detail["owner"] == "owner"
        same_answers(anon_client, "remote-cool", local.uuid, COOLER_TILES)
        assert server.ranged_requests()  # the tiles really came over the network


def test_bigwig_url_answers_as_the_local_file(remote, served, owner_client, anon_client, outside):
    ingest_chromsizes(outside, "hgT-sizes", HGT, "hgT")
    local = ingest_tileset(datafile=str(served / "t.bw"), filetype="bigwig", datatype="vector", coordSystem="hgT",
                           uid="local-bw")
    with serving_in_process(served) as base:
        response = register(owner_client, fileurl=base + "t.bw", filetype="bigwig", datatype="vector", uid="remote-bw")
        assert response.status_code == 201, response.content
        tileset = Tileset.objects.get(uuid="remote-bw")
        assert tileset.coordSystem == "hgT"  # matched to the assembly, as an ingest does
        same_answers(anon_client, "remote-bw", local.uuid, BIGWIG_TILES)


def test_remote_chromsizes_serve_as_an_assembly(remote, served, owner_client, anon_client, tmp_path):
    folder = tmp_path / "sizes"
    folder.mkdir()
    (folder / "hgT.chrom.sizes").write_text("".join(f"{name}\t{length}\n" for name, length in HGT))
    with serving(folder) as server:
        response = register(owner_client, fileurl=server.url("hgT.chrom.sizes"), filetype="chromsizes-tsv",
                            datatype="chromsizes", coordSystem="hgT", uid="sizes-by-url")
        assert response.status_code == 201, response.content
        # a local bigWig is matched against the remote assembly, and takes its order from it
        signal = ingest_tileset(datafile=str(served / "t.bw"), filetype="bigwig", uid="bw")
        assert signal.coordSystem == "hgT"
        info = anon_client.get("/api/v1/tileset_info/?d=bw&d=sizes-by-url").json()
        assert info["sizes-by-url"]["chromsizes"] == [list(row) for row in HGT]
        assert info["bw"]["chromsizes"] == [list(row) for row in HGT]  # chrM too: the assembly's list


def test_bam_url_with_its_index_url(remote, owner_client, anon_client, tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    write_bam(served / "r.bam", simulate_reads(random_genome(), count=300))
    local = ingest_tileset(datafile=str(served / "r.bam"), indexfile=str(served / "r.bam.bai"), filetype="bam",
                           datatype="reads", uid="local-bam")
    with serving_in_process(served) as base:  # htslib holds the GIL too
        response = register(owner_client, fileurl=base + "r.bam", indexurl=base + "r.bam.bai", filetype="bam",
                            datatype="reads", uid="remote-bam")
        assert response.status_code == 201, response.content
        tileset = Tileset.objects.get(uuid="remote-bam")
        assert tileset.indexfile.name == base + "r.bam.bai" and not tileset.owns_index
        same_answers(anon_client, "remote-bam", local.uuid, ["0.0", "1.1", "2.2"])
        # htsget serves files stored on this server only: a clear 404, not a failure
        answer = anon_client.get("/api/v1/htsget/reads/remote-bam?referenceName=chr1")
        assert answer.status_code == 404 and answer.json()["htsget"]["error"] == "NotFound"


def test_s3_url(remote, served, owner_client, anon_client, s3_endpoint):
    from tilesets.formats.remote_config import RemoteConfig
    from tilesets.formats.s3 import filesystem

    credentials = {"s3_endpoint_url": s3_endpoint, "s3_region": "eu-west-1", "s3_key": "testing", "s3_secret": "testing"}
    bucket = f"bucket-{os.urandom(3).hex()}"
    store = filesystem(RemoteConfig(**credentials))
    store.mkdir(bucket)
    store.pipe(f"{bucket}/hic/c.mcool", (served / "c.mcool").read_bytes())
    remote.REMOTE_ALLOW_PRIVATE_HOSTS = False  # the S3 endpoint is the administrator's: not checked
    remote.S3_ENDPOINT_URL, remote.S3_REGION = s3_endpoint, "eu-west-1"
    remote.S3_ACCESS_KEY_ID = remote.S3_SECRET_ACCESS_KEY = "testing"
    local = ingest_tileset(datafile=str(served / "c.mcool"), filetype="cooler", datatype="matrix", uid="local-cool")
    response = register(owner_client, fileurl=f"s3://{bucket}/hic/c.mcool", filetype="cooler", datatype="matrix",
                        uid="s3-cool")
    assert response.status_code == 201, response.content
    assert anon_client.get("/api/v1/tilesets/s3-cool/").json()["datafile"] == f"s3://{bucket}/hic/c.mcool"
    same_answers(anon_client, "s3-cool", local.uuid, COOLER_TILES[:3])
    response = register(owner_client, fileurl=f"s3://{bucket}/hic/nope.mcool", filetype="cooler")
    assert response.status_code == 422 and "fileurl cannot be read" in response.json()["error"]


def test_without_slash_private_and_default_name(remote, served, owner_client, other_client):
    with serving(served) as server:
        url = server.url("c.mcool") + "?token=secret"
        response = owner_client.post("/api/v1/register_url", {"fileurl": url, "filetype": "cooler", "private": "yes",
                                                              "project_name": "Remote data"}, format="json")
        assert response.status_code == 201, response.content
        uid = response.json()["uid"]
        tileset = Tileset.objects.get(uuid=uid)
        assert tileset.name == "c.mcool" and tileset.private and tileset.project.name == "Remote data"
        assert tileset.datatype == "unknown"
        shown = owner_client.get(f"/api/v1/tilesets/{uid}/").json()["datafile"]
        assert shown == server.url("c.mcool") + "?…"  # no query (it may hold a signature)
        assert other_client.get(f"/api/v1/tilesets/{uid}/").status_code == 404


def test_delete_keeps_the_remote_file_and_removes_the_row(remote, served, owner_client):
    with serving(served) as server:
        assert register(owner_client, fileurl=server.url("c.mcool"), filetype="cooler", uid="gone").status_code == 201
        response = owner_client.delete("/api/v1/tilesets/gone/")
        assert response.status_code == 204
        assert not Tileset.objects.filter(uuid="gone").exists()
        assert (served / "c.mcool").is_file()
        assert {method for method, _path, _range in server.requests} <= {"GET", "HEAD"}


# --- refusals (400) ------------------------------------------------------------------------


def test_loopback_is_refused_unless_allowed(settings, served, owner_client):
    settings.REMOTE_ALLOW_PRIVATE_HOSTS = False
    with serving(served) as server:
        response = register(owner_client, fileurl=server.url("c.mcool"), filetype="cooler")
        assert response.status_code == 400
        assert "non-public address" in response.json()["error"]
        assert server.requests == []  # refused before connecting
    assert not Tileset.objects.exists()


@pytest.mark.parametrize("body, message", [
    ({"filetype": "cooler"}, "fileurl: This field is required."),
    ({"fileurl": "", "filetype": "cooler"}, "fileurl"),
    ({"fileurl": "ftp://example.org/c.mcool", "filetype": "cooler"}, "http://, https:// or s3:// URL"),
    ({"fileurl": "file:///etc/passwd", "filetype": "cooler"}, "http://, https:// or s3:// URL"),
    ({"fileurl": "/etc/passwd", "filetype": "cooler"}, "http://, https:// or s3:// URL"),
    ({"fileurl": "https://", "filetype": "cooler"}, "names no host"),
    ({"fileurl": "https://example.org/c.mcool"}, "filetype: This field is required."),
    ({"fileurl": "https://example.org/c.mcool", "filetype": "xxxyx"}, "Unknown filetype 'xxxyx'"),
    ({"fileurl": "https://example.org/r.bam", "filetype": "bam"}, "bam needs an index: give its URL in indexurl"),
    ({"fileurl": "https://example.org/v.cram", "filetype": "cram"}, "served over htsget only"),
    ({"fileurl": "https://example.org/c.mcool", "filetype": "imtiles"}, "cannot read imtiles files"),
    ({"fileurl": "https://example.org/c.mcool", "filetype": "cooler", "indexurl": "https://example.org/c.bai"},
     "has no index file"),
    ({"fileurl": "https://example.org/c.mcool", "filetype": "cooler", "uid": "a.b"}, "uid"),
    ({"fileurl": "https://example.org/c.mcool", "filetype": "cooler", "bogus": 1}, "Unknown field(s): bogus"),
])
def test_bad_bodies_are_400(remote, owner_client, body, message):
    response = register(owner_client, **body)
    assert response.status_code == 400, response.content
    assert message in response.json()["error"]
    assert not Tileset.objects.exists()


def test_body_that_is_not_a_json_object_is_400(owner_client):
    response = owner_client.post("/api/v1/register_url/", "{not json", content_type="application/json")
    assert response.status_code == 400 and response.json()["error"] == "Unable to parse request body as JSON."
    response = owner_client.post("/api/v1/register_url/", "[1, 2]", content_type="application/json")
    assert response.status_code == 400


def test_taken_uid_is_400(remote, served, owner_client, make_tileset):
    make_tileset("taken")
    with serving(served) as server:
        response = register(owner_client, fileurl=server.url("c.mcool"), filetype="cooler", uid="taken")
        assert response.status_code == 400
        assert response.json()["error"] == "A tileset with uid 'taken' already exists."
        assert server.requests == []  # refused before the URL is read


def test_file_that_is_not_of_its_filetype_is_400(remote, served, owner_client):
    with serving(served) as server:
        response = register(owner_client, fileurl=server.url("notes.mcool"), filetype="cooler")
    assert response.status_code == 400
    assert "notes.mcool does not open as cooler" in response.json()["error"]
    assert not Tileset.objects.exists()


# --- who may register ----------------------------------------------------------------------


def test_anonymous_is_401_and_uploads_disabled_is_403(settings, anon_client, owner_client):
    body = {"fileurl": "https://example.org/c.mcool", "filetype": "cooler"}
    response = register(anon_client, **body)
    assert response.status_code == 401 and response["WWW-Authenticate"] == 'Basic realm="api"'
    settings.UPLOAD_ENABLED = False
    response = register(owner_client, **body)
    assert response.status_code == 403 and response.json()["error"] == "Uploads disabled."
    assert not Tileset.objects.exists()


# --- hostile servers (422, quickly) --------------------------------------------------------


@pytest.mark.parametrize("behaviour, message", [
    ("norange", "ignores Range"),
    ("silent", "did not answer"),
    ("loop", "redirects in a loop"),
    ("missing", "HTTP 404"),
    ("cut", "the connection closed after"),
])
def test_urls_that_cannot_be_read_are_422_within_seconds(remote, served, owner_client, behaviour, message):
    with serving(served, behaviour, body_bytes=50_000_000) as server:
        started = time.monotonic()
        response = register(owner_client, fileurl=server.url("c.mcool"), filetype="cooler", uid="hostile")
        elapsed = time.monotonic() - started
    assert response.status_code == 422, response.content
    body = response.json()
    assert body["code"] == "UnprocessableEntity"
    assert body["error"].startswith("fileurl cannot be read: ") and message in body["error"]
    assert elapsed < 10
    assert not Tileset.objects.exists()


def test_index_url_is_probed_too(remote, served, owner_client):
    with serving(served) as good, serving(served, "missing") as bad:
        response = register(owner_client, fileurl=good.url("c.mcool"), indexurl=bad.url("c.mcool.bai"), filetype="bam")
    assert response.status_code == 422
    assert response.json()["error"].startswith("indexurl cannot be read: ")
    assert "HTTP 404" in response.json()["error"]
