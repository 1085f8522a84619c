"""Servers that misbehave give GeneratorErrors, per tileset or per tile, and nothing worse.

A cooler (.mcool, read by h5py through the remote layer) and a bigWig (our zoom reader through
the remote layer, pybbi in a helper process) are read from loopback servers that ignore Range,
never answer, cut answers short, answer 404 or redirect in a loop: from the start (tileset_info
and tiles fail with a GeneratorError naming the URL without its credentials), and after the file
was opened (the tiles still to be read become ``{"error": ...}`` one by one). Meanwhile a second
tileset on a healthy server keeps answering as the local file does, and the first one recovers
when its server behaves again. The servers run in threads of the test process: since pybbi only
reads URLs in helper processes, nothing here holds the GIL while waiting on the network.
"""

import json

import numpy as np
import pytest

from tests.builders.bigwig_data import write_bigwig
from tests.builders.cooler_data import make_mcool
from tests.builders.helpers import tile_request
from tests.builders.reads_data import random_genome, simulate_reads, write_bam
from tests.builders.remote_servers import copy_into, serving
from tests.builders.remote_tilesets import answers, remote_access
from tilesets.generators import GeneratorError, Source, get

BIGWIG_CHROMS = [("chr1", 1_000_000), ("chr2", 500_000)]  # large enough to be read bit by bit
FAST = dict(connect_timeout=0.5, read_timeout=0.5, request_deadline=0.5, retries=0, block_size=16 * 1024,
            max_request_bytes=64 * 1024, memory_cache_bytes=32 * 1024)
CASES = {"cooler": "contacts.mcool", "bigwig": "signal.bw"}
INDEXES = {"bam": "reads.bam.bai"}
# tiles read before the server turns hostile, and tiles still to be read after it did
BEFORE = {"cooler": ["u.3.0.0", "u.3.0.1"], "bigwig": ["u.11.3", "u.10.1"]}
AFTER = {"cooler": ["u.0.0.0", "u.1.0.1", "u.2.1.1", "u.2.0.2"], "bigwig": ["u.11.1200", "u.10.400"], "bam": ["u.6.3"]}


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    make_mcool(folder / "contacts.mcool", tmp_path_factory.mktemp("hostile-work"))
    rng = np.random.default_rng(1)
    signal = {name: rng.integers(0, 100, size=length).astype(float) for name, length in BIGWIG_CHROMS}
    write_bigwig(folder / "signal.bw", BIGWIG_CHROMS, signal, zooms=4)
    write_bam(folder / "reads.bam", simulate_reads(random_genome(), count=200))
    return folder


def _with_credentials(url):
    return url.replace("http://", "http://reader:s3cret@")


def _source(filetype, url):
    index = INDEXES.get(filetype)
    return Source(url, index and url.rsplit("/", 1)[0] + "/" + index)


def _tiles(filetype, url, ids):
    generator = get(filetype)
    return generator.tiles(_source(filetype, url), [tile_request(i, generator.dimensions) for i in ids], None)


def _check_message(text, server):
    assert server.url("") in text and "s3cret" not in text and "reader" not in text, text


@pytest.mark.parametrize("filetype", sorted(CASES) + ["bam"])
@pytest.mark.parametrize("behaviour", ["norange", "silent", "cut", "missing", "loop"])
def test_a_hostile_server_fails_the_tileset(folder, tmp_path, filetype, behaviour):
    """(htslib never sees these URLs: the probe fails first, so a BAM is safe with an in-thread
    server here.)"""
    name = dict(CASES, bam="reads.bam")[filetype]
    with remote_access(str(tmp_path), **FAST), serving(folder, behaviour) as server:
        url = _with_credentials(server.url(name))
        for call in (lambda: get(filetype).tileset_info(_source(filetype, url)),
                     lambda: _tiles(filetype, url, AFTER[filetype])):
            with pytest.raises(GeneratorError) as caught:
                call()
            _check_message(str(caught.value), server)


@pytest.mark.parametrize("filetype", sorted(CASES))
@pytest.mark.parametrize("behaviour", ["norange", "silent", "cut", "missing"])
def test_a_server_turning_hostile_fails_tile_by_tile_and_others_keep_serving(folder, tmp_path, filetype, behaviour):
    name = CASES[filetype]
    local = answers(filetype, str(folder / name), ids=AFTER[filetype])
    healthy_folder = copy_into(tmp_path / "healthy", folder / name)
    with remote_access(str(tmp_path), **FAST), serving(folder) as server, serving(healthy_folder) as healthy:
        # (pybbi cannot log in: a bigWig URL with a password is read from a whole local copy)
        url = server.url(name) if filetype == "bigwig" else _with_credentials(server.url(name))
        generator = get(filetype)
        info = generator.tileset_info(Source(url))
        assert json.dumps(info, sort_keys=True) == local[0]
        assert all("error" not in tile for tile in _tiles(filetype, url, BEFORE[filetype]).values())

        server.behaviour = behaviour
        tiles = _tiles(filetype, url, AFTER[filetype])
        expected = json.loads(local[1])
        assert set(tiles) == set(expected)
        for tile_id, tile in tiles.items():  # an error naming the URL, or (from caches) the right tile
            if "error" in tile:
                _check_message(tile["error"], server)
            else:
                assert tile == expected[tile_id]
        # pybbi asks for the rest of the file: a cut answer may still hold all it needs
        assert any("error" in tile for tile in tiles.values()) or (filetype, behaviour) == ("bigwig", "cut")
        assert answers(filetype, healthy.url(name), ids=AFTER[filetype]) == local

        server.behaviour = "range"
        assert answers(filetype, url, ids=AFTER[filetype]) == local
