"""End to end: the PyPI ``htsget`` client (GA4GH's own, independent of this server) against a live
test server. What it downloads must hold exactly the records pysam reads from the original file."""

import io
import random

import pytest

from htsget import service
from tests.builders import hts_data
from tests.builders.hts_data import BAM_REFS, bam_records, downloaded_records, vcf_records
from tilesets.ingest import ingest_tileset
from tilesets.storage import index_path

client, client_errors = hts_data.ga4gh_client()
ClientError = client_errors.ClientError

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def files():
    return hts_data.shared_files()


@pytest.fixture(autouse=True)
def fresh_cache():
    service.prepared_cache.clear()
    yield
    service.prepared_cache.clear()


def fetch(url, **options):
    out = io.BytesIO()
    client.get(url, out, max_retries=0, retry_wait=0, timeout=30, **options)
    return out.getvalue()


def random_regions(rng, refs, count):
    regions = []
    for _ in range(count):
        name, length = rng.choice(refs)
        start = rng.choice([0, rng.randrange(length), max(0, length - 500)])
        regions.append((name, start, min(length, start + rng.choice([1, 300, 5_000, 60_000]))))
    return regions


def test_reads(live_server, files, tmp_path):
    ingest_tileset(datafile=str(files["bam"]), indexfile=f"{files['bam']}.bai", filetype="bam", uid="bam1")
    url = f"{live_server.url}/api/v1/htsget/reads/bam1"
    whole = fetch(url)
    assert whole == files["bam"].read_bytes()
    assert downloaded_records(whole, "BAM", None, tmp_path) == bam_records(files["bam"])
    regions = random_regions(random.Random(3), BAM_REFS, 14) + [("chr1", 299_900, 300_000), ("chrEmpty", 0, 10)]
    for name, start, end in regions:
        data = fetch(url, reference_name=name, start=start, end=end, data_format="BAM")
        got = downloaded_records(data, "BAM", (name, start, end), tmp_path)
        assert got == bam_records(files["bam"], (name, start, end)), (name, start, end)
    unplaced = fetch(url, reference_name="*")
    assert downloaded_records(unplaced, "BAM", ("*",), tmp_path) == bam_records(files["bam"], ("*",))
    header = fetch(url + "?class=header")
    assert downloaded_records(header, "BAM", None, tmp_path) == []
    with pytest.raises(ClientError):
        fetch(url, reference_name="chrNope")


def test_variants(live_server, files, tmp_path):
    tileset = ingest_tileset(datafile=str(files["vcf"]), filetype="vcf", uid="vcf1")
    url = f"{live_server.url}/api/v1/htsget/variants/vcf1"
    assert fetch(url) == files["vcf"].read_bytes()
    refs = [(name, length) for name, length in hts_data.VCF_CONTIGS]
    for name, start, end in random_regions(random.Random(4), refs, 12) + [("chr1", 0, 1), ("chrX", 0, 100)]:
        data = fetch(url, reference_name=name, start=start, end=end, data_format="VCF")
        got = downloaded_records(data, "VCF", (name, start, end), tmp_path)
        assert got == vcf_records(files["vcf"], (name, start, end), index_path(tileset)), (name, start, end)


def test_private_reads(live_server, files, owner, token_for, tmp_path):
    ingest_tileset(datafile=str(files["bam"]), indexfile=f"{files['bam']}.bai", filetype="bam", uid="mine",
                   owner=owner, private=True)
    url = f"{live_server.url}/api/v1/htsget/reads/mine"
    token = token_for(owner)
    region = ("chr2", 30_000, 90_000)
    data = fetch(url, reference_name=region[0], start=region[1], end=region[2], bearer_token=token)
    assert downloaded_records(data, "BAM", region, tmp_path) == bam_records(files["bam"], region)
    assert fetch(url, bearer_token=token) == files["bam"].read_bytes()
    with pytest.raises(ClientError, match="404"):  # invisible reads as unknown (no retries on 404)
        fetch(url)
    with pytest.raises(ClientError, match="401"):
        fetch(url, bearer_token=token + "x")
