"""Every filetype read from an http URL answers exactly as from the same file on disk.

One file of each filetype (cooler .mcool, single .cool and legacy multi-zoom, bigWig, bigBed,
multivec, hitile, BAM + .bai, FASTA plain and bgzip + .fai, beddb, bed2ddb, VCF + .tbi,
chromsizes TSV) is served by a loopback Range server in a child process (pysam holds the GIL
while it waits on the network). For each, ``tileset_info``, the tiles of every zoom level
(modes and transforms included) and ``chromsizes`` are compared as JSON text between
``Source(local path)`` and ``Source(URL)``; ``validate`` accepts the URL too.
"""

import json
import os

import pytest

from tests.builders.helpers import in_threads
from tests.builders.remote_servers import serving_in_process
from tests.builders.remote_tilesets import answers, copy_files, remote_access, write_every_filetype
from tilesets.formats import access
from tilesets.generators import GeneratorError, Source, get


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("remote-files")
    return folder, write_every_filetype(folder, tmp_path_factory.mktemp("remote-work"))


@pytest.fixture(scope="module")
def served(files):
    folder, cases = files
    with serving_in_process(folder) as base:
        yield folder, cases, base


@pytest.fixture
def remote(tmp_path):
    with remote_access(str(tmp_path)) as config:
        yield config


CASES = ["mcool", "cool", "legacy-cool", "bigwig", "bigbed", "multivec", "hitile", "bam", "bam-beside", "fasta",
         "fasta-beside", "fasta-bgzip", "beddb", "bed2ddb", "vcf", "chromsizes"]


@pytest.mark.parametrize("case", CASES)
def test_a_url_answers_as_the_local_file(served, remote, case, tmp_path, monkeypatch):
    folder, cases, base = served
    filetype, name, index = cases[case]
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)  # htslib given a URL without its index would download one here
    local = answers(filetype, str(folder / name), index and str(folder / index))
    far = answers(filetype, base + name, index and base + index)
    assert far == local
    assert local[0] is not None and "error" not in local[0]
    if local[1] is not None:  # a spread of real tiles, not a page of errors
        tiles = json.loads(local[1])
        assert len(tiles) >= 8 and sum("error" not in tile for tile in tiles.values()) >= len(tiles) // 2
    if index or not get(filetype).needs_index:
        get(filetype).validate(base + name, index and base + index)
    assert os.listdir(cwd) == []


def test_bigwig_coordsystem_order_and_every_mode(served, remote):
    folder, cases, base = served
    context = {"chromsizes": [["chrX", 689], ["chr1", 3059], ["chrM", 23], ["chr3", 983], ["chr2", 1821]]}
    ids = [f"u.{zoom}.{x}{mode}" for zoom in range(4) for x in range(2 ** zoom)
           for mode in ("", ".mean", ".min", ".max", ".std", ".minMax", ".whisker")]
    local = answers("bigwig", str(folder / "signal.bw"), ids=ids, context=context)
    assert answers("bigwig", base + "signal.bw", ids=ids, context=context) == local


def test_remote_bgzip_fasta_reads_its_gzi_and_needs_it_when_large(served, tmp_path):
    folder, _, base = served
    local = answers("fasta", str(folder / "genome.fa.gz"), str(folder / "genome.fa.gz.fai"))
    with remote_access(str(tmp_path), max_fetch_bytes=1024):
        assert answers("fasta", base + "genome.fa.gz", base + "genome.fa.gz.fai") == local
    # without a .gzi beside it the block headers are read: the whole file, so only up to the bound
    # (fresh servers: the open-file caches know the files by URL)
    bare = copy_files(folder, tmp_path / "bare", "genome.fa.gz", "genome.fa.gz.fai")
    with serving_in_process(bare) as url, remote_access(str(tmp_path / "a"), max_fetch_bytes=1024):
        with pytest.raises(GeneratorError, match=r"needs its \.gzi index beside it"):
            answers("fasta", url + "genome.fa.gz", url + "genome.fa.gz.fai")
    with serving_in_process(bare) as url, remote_access(str(tmp_path / "b")):
        assert answers("fasta", url + "genome.fa.gz", url + "genome.fa.gz.fai") == local


def test_sqlite_files_are_copied_whole_up_to_the_bound(files, tmp_path):
    folder, _ = files
    size = os.path.getsize(folder / "genes.beddb")
    copy_files(folder, tmp_path / "files", "genes.beddb")
    with serving_in_process(tmp_path / "files") as base, remote_access(str(tmp_path), max_fetch_bytes=size - 1):
        for call in (lambda: get("beddb").tileset_info(Source(base + "genes.beddb")),
                     lambda: get("beddb").validate(base + "genes.beddb", None)):
            with pytest.raises(GeneratorError, match="copied whole") as caught:
                call()
            assert base + "genes.beddb" in str(caught.value) and str(size) in str(caught.value)
    with serving_in_process(tmp_path / "files") as base, remote_access(str(tmp_path), max_fetch_bytes=size):
        assert get("beddb").tileset_info(Source(base + "genes.beddb"))["max_zoom"] >= 1


def test_a_remote_bam_needs_its_index_given(served, remote):
    _, _, base = served
    with pytest.raises(GeneratorError, match="needs its index"):
        get("bam").build_index(base + "reads.bam", "/nonexistent")


def test_an_evicted_sqlite_copy_is_fetched_again(served, remote):
    folder, _, base = served
    from tilesets.generators.beddb import BedDb

    database = BedDb(base + "genes.beddb")
    try:
        os.unlink(access.local_path(base + "genes.beddb"))
        while database._idle:  # the next query needs a new connection
            database._idle.pop().close()
        assert database.tile(0, 0) == BedDb(str(folder / "genes.beddb")).tile(0, 0)
    finally:
        database.close()


def test_threads_reading_remote_bbi_files_at_once(served, remote):
    """Six threads share the helper processes that read bigWig and bigBed URLs."""
    folder, _, base = served
    files = (("bigwig", "signal.bw"), ("bigbed", "annotations.bb"))

    def read(prefix):
        return {name: answers(filetype, prefix + name) for filetype, name in files}

    expected = read(f"{folder}/")
    assert all(found == expected for found in in_threads(lambda: read(base)))
