"""A remote BAM is read by htslib from a sparse local mirror, never from the network.

The bytes a tile needs (found with the index) are fetched into the mirror through the remote
layer first, so: a warm tile sends no request, another process (or a restart) finds the pages
already there, a mirror that is damaged or evicted is fetched again, the disk bound evicts whole
mirrors, a server failing mid-read fails only the tiles that needed it, and a file changed on the
server never mixes with its old bytes. The servers run in threads of the test process: htslib,
which would hold the GIL on the network, only ever reads local files here.
"""

import json
import os
import shutil

import pytest

from tests.builders.helpers import in_threads, tile_request
from tests.builders.reads_data import random_genome, simulate_reads, write_bam
from tests.builders.remote_servers import copy_into, serving
from tests.builders.remote_tilesets import answers, remote_access
from tilesets.formats import bam_mirror, sparse_mirror
from tilesets.formats.diskcache import DiskCache
from tilesets.generators import GeneratorError, Source, bam, get

ROWS = [("chr1", 400_000), ("chr2", 150_000), ("chrX", 60_000)]  # max_zoom 12
PAGES = dict(block_size=16 * 1024, max_request_bytes=256 * 1024)
FAST = dict(PAGES, connect_timeout=0.5, read_timeout=0.5, request_deadline=1, retries=0)
FINE = [f"u.12.{x}" for x in (0, 1, 700, 1562, 1563, 2000, 2382)] + [f"u.10.{x}" for x in (3, 390, 595)]
SPREAD = [f"u.{z}.{x}" for z, xs in ((4, range(3)), (6, range(0, 38, 5)), (8, range(0, 150, 13)),
                                     (11, range(0, 1200, 97))) for x in xs]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mirror")
    genome = random_genome(ROWS)
    records = simulate_reads(genome, header=ROWS, count=12000)
    write_bam(folder / "reads.bam", records, header=ROWS)
    (folder / "csi").mkdir()
    write_bam(folder / "csi" / "reads.bam", records, header=ROWS, csi=True)
    (folder / "other").mkdir()  # the same header, other (and more) reads
    write_bam(folder / "other" / "reads.bam", simulate_reads(genome, header=ROWS, count=16000, seed=5), header=ROWS)
    return folder


@pytest.fixture(autouse=True)
def fresh_files():
    bam._open_files.clear()  # every test opens its URLs anew (ports are reused)
    yield
    bam._open_files.clear()


def tiles(url, ids, index=".bai"):
    return answers("bam", url, url + index, ids=ids)[1]


def local(folder, ids, index=".bai"):
    return tiles(str(folder / "reads.bam"), ids, index)


def mirrors(config):
    names = os.listdir(config.disk_cache_dir)
    return sorted(name for name in names if name.startswith("m") and name.endswith(".bin"))


def test_tiles_come_from_the_mirror_and_warm_ones_send_nothing(folder, tmp_path):
    near = ["u.12.0", "u.12.1", "u.10.0"]
    expected = local(folder, FINE)
    with remote_access(str(tmp_path), **PAGES) as config, serving(folder) as server:
        assert tiles(server.url("reads.bam"), near) == local(folder, near)
        [name] = mirrors(config)
        stat = os.stat(os.path.join(config.disk_cache_dir, name))
        assert stat.st_size == os.path.getsize(folder / "reads.bam")
        assert stat.st_blocks * 512 < stat.st_size // 2  # sparse: the pages those tiles needed
        assert tiles(server.url("reads.bam"), FINE) == expected
        before = len(server.ranged_requests())
        assert tiles(server.url("reads.bam"), FINE) == expected
        assert len(server.ranged_requests()) == before
        # another process (here: the file opened anew) finds the pages the first one fetched
        bam._open_files.clear()
        assert tiles(server.url("reads.bam"), FINE) == expected
        assert len(server.ranged_requests()) == before
        assert mirrors(config) == [name]


@pytest.mark.parametrize("index", [".bai", ".csi"])
def test_the_bytes_the_index_points_to_are_all_htslib_reads(folder, tmp_path, monkeypatch, index):
    """Small pages and no second try: every tile of a fresh mirror must come from the pruned
    chunks (plus the slack) alone, across chromosome ends and unmapped reads beside their mates."""
    data = folder / "csi" if index == ".csi" else folder
    ids = FINE + SPREAD + [f"u.12.{x}" for x in range(1555, 1575)]
    expected = answers("bam", str(data / "reads.bam"), str(data / "reads.bam") + index, ids=ids)[1]

    def no_second_try(self):
        raise AssertionError("htslib read a byte the index did not point to")

    monkeypatch.setattr(bam_mirror.Reader, "repair", no_second_try)
    with remote_access(str(tmp_path), block_size=4096, max_request_bytes=64 * 1024), serving(data) as server:
        assert tiles(server.url("reads.bam"), ids, index) == expected


def test_a_damaged_mirror_is_fetched_again(folder, tmp_path):
    expected = local(folder, FINE)
    with remote_access(str(tmp_path), **PAGES) as config, serving(folder) as server:
        assert tiles(server.url("reads.bam"), FINE) == expected
        before = len(server.ranged_requests())
        [name] = mirrors(config)
        path = os.path.join(config.disk_cache_dir, name)
        with open(path, "r+b") as handle:  # pages marked present, holding zeros (a crash, a bad disk)
            handle.write(b"\0" * os.path.getsize(path))
        bam._open_files.clear()
        assert tiles(server.url("reads.bam"), FINE) == expected
        assert len(server.ranged_requests()) > before


def test_an_evicted_mirror_is_made_again(folder, tmp_path, monkeypatch):
    monkeypatch.setattr(sparse_mirror, "LIVE_CHECK_SECONDS", 0)
    expected = local(folder, FINE)
    with remote_access(str(tmp_path), **PAGES) as config, serving(folder) as server:
        assert tiles(server.url("reads.bam"), FINE) == expected
        [first] = mirrors(config)
        for name in os.listdir(config.disk_cache_dir):  # another process evicted it, .pages too
            if name.startswith(first[:-len(".bin")]):
                os.unlink(os.path.join(config.disk_cache_dir, name))
        assert tiles(server.url("reads.bam"), FINE) == expected
        [second] = mirrors(config)
        assert second != first and second.split("-")[0] == first.split("-")[0]


def test_the_disk_bound_evicts_whole_mirrors(folder, tmp_path):
    ids = FINE + SPREAD
    expected = local(folder, ids)
    bound = 64 * 1024
    with remote_access(str(tmp_path), disk_cache_bytes=bound, **PAGES) as config, serving(folder) as server:
        assert tiles(server.url("reads.bam"), ids) == expected
        assert DiskCache(config.disk_cache_dir, bound).total_bytes() <= bound + 16 * config.block_size
        assert tiles(server.url("reads.bam"), ids) == expected


def test_pages_files_without_their_mirror_are_swept(tmp_path):
    folder = tmp_path / "cache"
    folder.mkdir()
    for name, data in (("mabc-1.bin", b"x"), ("mabc-1.pages", b"\1"), ("mabc-2.pages", b"\1"), ("other.pages", b"")):
        (folder / name).write_bytes(data)
    sparse_mirror.sweep_marks(str(folder), older_than=0)
    assert sorted(os.listdir(folder)) == ["mabc-1.bin", "mabc-1.pages", "other.pages"]


@pytest.mark.parametrize("behaviour", ["cut", "silent", "missing"])
def test_a_server_failing_mid_read_fails_only_the_tiles_that_needed_it(folder, tmp_path, behaviour):
    first, later = ["u.12.0", "u.12.1", "u.10.0"], ["u.12.2382", "u.10.595"]  # chr1's start, chrX's end
    expected = json.loads(local(folder, first + later))
    healthy_folder = copy_into(tmp_path / "healthy", folder / "reads.bam", folder / "reads.bam.bai")
    with remote_access(str(tmp_path), **FAST), serving(folder) as server, serving(healthy_folder) as healthy:
        url = server.url("reads.bam").replace("http://", "http://reader:s3cret@")  # (we log in, htslib need not)
        assert json.loads(tiles(url, first)) == {i: expected[i] for i in first}
        server.behaviour = behaviour
        found = json.loads(tiles(url, first + later))
        for tile_id in first:  # in the mirror already
            assert found[tile_id] == expected[tile_id]
        for tile_id in later:
            text = found[tile_id]["error"]
            assert server.url("") in text and "s3cret" not in text and "reader" not in text, text
        assert json.loads(tiles(healthy.url("reads.bam"), later)) == {i: expected[i] for i in later}
        server.behaviour = "range"
        assert json.loads(tiles(url, later)) == {i: expected[i] for i in later}


def test_a_file_changed_on_the_server_never_mixes_old_and_new_bytes(folder, tmp_path):
    ids = FINE + SPREAD
    old, new = json.loads(local(folder, ids)), json.loads(local(folder / "other", ids))
    served = copy_into(tmp_path / "served", folder / "reads.bam", folder / "reads.bam.bai")
    with remote_access(str(tmp_path), **PAGES) as config, serving(served) as server:
        url = server.url("reads.bam")
        assert json.loads(tiles(url, ["u.12.0"])) == {"u.12.0": old["u.12.0"]}
        for name in ("reads.bam", "reads.bam.bai"):  # a larger file: its bytes are there to ask for
            shutil.copy(folder / "other" / name, served / name)
        # tiles in the mirror come from the old file, those needing more bytes fail (the server
        # sends another ETag), which has the file probed again: then all come from the new one
        changed = json.loads(tiles(url, ids))
        for tile_id, tile in changed.items():
            assert tile == old[tile_id] or "changed on the server" in tile.get("error", ""), tile
        assert any("error" in tile for tile in changed.values())
        assert json.loads(tiles(url, ids)) == new
        assert len({name.split("-")[0] for name in mirrors(config)}) == 2


def test_threads_read_one_remote_bam_at_once(folder, tmp_path):
    ids = FINE + SPREAD
    expected = local(folder, ids)
    with remote_access(str(tmp_path), **PAGES), serving(folder) as server:
        assert all(found == expected for found in in_threads(lambda: tiles(server.url("reads.bam"), ids)))


def test_validate_checks_the_index_by_ranges(folder, tmp_path):
    with remote_access(str(tmp_path), **PAGES), serving(folder) as server, \
            serving(folder / "other") as other:
        get("bam").validate(server.url("reads.bam"), server.url("reads.bam.bai"))
        with pytest.raises(GeneratorError, match="does not belong to this BAM"):
            get("bam").validate(server.url("reads.bam"), other.url("reads.bam.bai"))


def test_a_tile_request_outside_the_grid_still_fails_alone(folder, tmp_path):
    with remote_access(str(tmp_path), **PAGES), serving(folder) as server:
        url = server.url("reads.bam")
        found = get("bam").tiles(Source(url, url + ".bai"), [tile_request(i) for i in ("u.13.0", "u.12.5")], None)
        assert "beyond" in found["u.13.0"]["error"] and "error" not in found["u.12.5"]
