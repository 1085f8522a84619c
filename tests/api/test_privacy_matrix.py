"""Existence oracles (issue 14, item 7): every endpoint answers a tileset the caller may not see
exactly as a uid that names nothing — same status, same body once the uid is replaced — for an
anonymous caller and for another user; the owner and a superuser still read it."""

import json

import pytest
from rest_framework.test import APIClient

from higlass_server import auth
from htsget import service as htsget_service
from tests.builders import hts_data
from tests.builders.helpers import client_for
from tilesets.ingest import ingest_tileset

pytestmark = pytest.mark.django_db

PRIVATE, UNKNOWN = "hiddenA", "absentA"  # the private tileset, and a uid of nothing
HIDDEN_BAM, UNKNOWN_BAM = "hiddenB", "absentB"


def _tiles_post(client, uid):
    body = [{"tilesetUid": uid, "tileIds": ["0.0", "1.1"]}]
    return client.post("/api/v1/tiles/", json.dumps(body), content_type="application/json")


# endpoint name -> (request(client, uid of a chromsizes tileset, uid of a BAM tileset), what the
# owner gets for the private one)
ENDPOINTS = {
    "tiles GET": (lambda c, u, b: c.get(f"/api/v1/tiles/?d={u}.0.0&d={u}.1.1"), 200),
    "tiles POST": (lambda c, u, b: _tiles_post(c, u), 200),
    "tileset_info": (lambda c, u, b: c.get(f"/api/v1/tileset_info/?d={u}"), 200),
    "tileset detail": (lambda c, u, b: c.get(f"/api/v1/tilesets/{u}/"), 200),
    "tileset PATCH": (lambda c, u, b: c.patch(f"/api/v1/tilesets/{u}/", {"name": "x"}, format="json"), 200),
    "tileset DELETE": (lambda c, u, b: c.delete(f"/api/v1/tilesets/{u}/"), 204),
    "tilesets list by uid": (lambda c, u, b: c.get(f"/api/v1/tilesets/?ac={u}"), 200),
    "chrom-sizes tsv": (lambda c, u, b: c.get(f"/api/v1/chrom-sizes/?id={u}"), 200),
    "chrom-sizes json": (lambda c, u, b: c.get(f"/api/v1/chrom-sizes/?id={u}&type=json&cum=1"), 200),
    "suggest": (lambda c, u, b: c.get(f"/api/v1/suggest/?d={u}&ac=TP"), 400),  # not a gene tileset
    "uids_by_filename": (lambda c, u, b: c.get(f"/api/v1/uids_by_filename/?d={u}"), 200),
    "fragments_by_loci": (lambda c, u, b: c.post(
        "/api/v1/fragments_by_loci/", json.dumps([["chr1", 0, 100, "chr1", 0, 100, u, 0]]),
        content_type="application/json"), 400),  # not a matrix
    "fragments_by_chr": (lambda c, u, b: c.get(f"/api/v1/fragments_by_chr/?cooler={u}&chrom=chr1"), 400),
    "htsget ticket GET": (lambda c, u, b: c.get(f"/api/v1/htsget/reads/{b}"), 200),
    "htsget ticket POST": (lambda c, u, b: c.post(f"/api/v1/htsget/reads/{b}", "{}",
                                                  content_type="application/json"), 200),
    "htsget ticket by format": (lambda c, u, b: c.get(f"/api/v1/htsget/reads/{b}?format=CRAM"), 400),
    "htsget data": (lambda c, u, b: c.get(f"/api/v1/htsget/data/{b}", HTTP_RANGE="bytes=0-9"), 206),
    "htsget data HEAD": (lambda c, u, b: c.head(f"/api/v1/htsget/data/{b}"), 200),
}


@pytest.fixture(autouse=True)
def fresh_state():
    auth.reset()
    htsget_service.prepared_cache.clear()
    yield
    auth.reset()


@pytest.fixture(scope="module")
def files():
    return hts_data.shared_files()


@pytest.fixture
def hidden(make_tileset, owner, files):
    make_tileset(PRIVATE, owner=owner, private=True)
    ingest_tileset(datafile=str(files["bam"]), indexfile=f"{files['bam']}.bai", filetype="bam",
                   datatype="reads", uid=HIDDEN_BAM, owner=owner, private=True, name="hidden.bam")


def _seen(response, uid, bam_uid):
    """(status, body with the uids replaced by a placeholder)."""
    body = response.content.decode("utf-8", "replace")
    return response.status_code, body.replace(uid, "<uid>").replace(bam_uid, "<uid>")


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("caller", ["anonymous", "other user"])
def test_invisible_answers_as_unknown(endpoint, caller, hidden, other):
    client = APIClient() if caller == "anonymous" else client_for(other)
    request, _ = ENDPOINTS[endpoint]
    unknown = _seen(request(client, UNKNOWN, UNKNOWN_BAM), UNKNOWN, UNKNOWN_BAM)
    invisible = _seen(request(client, PRIVATE, HIDDEN_BAM), PRIVATE, HIDDEN_BAM)
    assert invisible == unknown
    assert "hidden" not in invisible[1]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("caller", ["owner", "superuser"])
def test_owner_and_superuser_still_read(endpoint, caller, hidden, owner, admin_user):
    client = client_for(owner if caller == "owner" else admin_user)
    request, expected = ENDPOINTS[endpoint]
    response = request(client, PRIVATE, HIDDEN_BAM)
    assert response.status_code == expected, response.content
    if endpoint.startswith("tiles ") or endpoint == "tileset_info":
        assert "No such tileset" not in response.content.decode()


def test_unknown_tiles_and_info_entries(anon_client, hidden):
    """The one answer both get: an error entry per tile (HiGlass shows it as the tile's error)."""
    tiles = anon_client.get(f"/api/v1/tiles/?d={PRIVATE}.0.0&d={UNKNOWN}.0.0").json()
    assert tiles == {f"{PRIVATE}.0.0": {"error": f"No such tileset with uid: {PRIVATE}"},
                     f"{UNKNOWN}.0.0": {"error": f"No such tileset with uid: {UNKNOWN}"}}
    info = anon_client.get(f"/api/v1/tileset_info/?d={PRIVATE}").json()
    assert info == {PRIVATE: {"error": f"No such tileset with uid: {PRIVATE}"}}


def test_wrong_credentials_are_refused_alike(hidden):
    """Credentials are checked before the tileset is looked up: a wrong password or a forged data
    capability is the same 401 for a private tileset and for nothing."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer a:b:c:d")
    for path in ("/api/v1/htsget/data/{}", "/api/v1/htsget/reads/{}"):
        unknown = _seen(client.get(path.format(UNKNOWN_BAM)), UNKNOWN_BAM, UNKNOWN_BAM)
        assert _seen(client.get(path.format(HIDDEN_BAM)), HIDDEN_BAM, HIDDEN_BAM) == unknown
        assert unknown[0] == 401
