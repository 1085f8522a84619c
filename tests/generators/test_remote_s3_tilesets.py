"""Tilesets read from s3:// (moto's standalone S3 server) answer as the same files on disk.

HDF5 files (cooler, multivec, hitile), FASTA and the bbi structure are read by ranges through the
remote layer. pybbi and htslib cannot reach our S3 endpoint with our credentials, so a bigWig's
fine tiles, a bigBed and a BAM are read from a whole local copy in the disk cache, made only up to
the largest file the server copies whole; larger ones are refused with a GeneratorError that says
to serve the file over https.
"""

import os

import pytest

from tests.builders.remote_tilesets import answers, remote_access, write_every_filetype
from tests.formats.test_remote_s3 import s3_endpoint  # noqa: F401 (the moto_server fixture)
from tilesets.formats.s3 import filesystem
from tilesets.generators import GeneratorError, Source, get

CASES = ["mcool", "cool", "bigwig", "bigbed", "multivec", "hitile", "bam", "fasta-bgzip", "beddb"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("s3-files")
    return folder, write_every_filetype(folder, tmp_path_factory.mktemp("s3-work"))


def s3_settings(endpoint):
    return dict(s3_endpoint_url=endpoint, s3_region="eu-west-1", s3_key="testing", s3_secret="testing")


@pytest.fixture(scope="module")
def bucket(files, s3_endpoint, tmp_path_factory):  # noqa: F811
    """A bucket holding every test file under ``data/``."""
    folder, _ = files
    with remote_access(str(tmp_path_factory.mktemp("s3-upload")), **s3_settings(s3_endpoint)) as config:
        fs = filesystem(config)
        name = f"tiles-{os.getpid()}-{os.urandom(3).hex()}"
        fs.mkdir(name)
        for entry in os.listdir(folder):
            fs.put_file(str(folder / entry), f"{name}/data/{entry}")
    return name


@pytest.mark.parametrize("case", CASES)
def test_an_s3_url_answers_as_the_local_file(files, bucket, s3_endpoint, tmp_path, case):  # noqa: F811
    folder, cases = files
    filetype, name, index = cases[case]
    base = f"s3://{bucket}/data/"
    local = answers(filetype, str(folder / name), index and str(folder / index))
    with remote_access(str(tmp_path), **s3_settings(s3_endpoint)):
        assert answers(filetype, base + name, index and base + index) == local


def test_an_s3_bigwig_too_large_to_copy_is_refused_clearly(files, bucket, s3_endpoint, tmp_path):  # noqa: F811
    folder, _ = files
    url = f"s3://{bucket}/alone/signal.bw"  # a key of its own: the open-file caches know the others
    size = os.path.getsize(folder / "signal.bw")
    with remote_access(str(tmp_path), max_fetch_bytes=size - 1, **s3_settings(s3_endpoint)) as config:
        filesystem(config).put_file(str(folder / "signal.bw"), url[len("s3://"):])
        with pytest.raises(GeneratorError, match="serve it over https") as caught:
            get("bigwig").tileset_info(Source(url))
    assert url in str(caught.value) and "testing" not in str(caught.value)
