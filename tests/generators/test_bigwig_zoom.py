"""bigWig zoom levels summarised in numpy (tilesets/formats/bbizoom.py), against pybbi 0.4.2.

pybbi is the oracle: for windows where it summarises a zoom level, ``ZoomReader.summaries`` must
return the very same float64 values, bit for bit (NaN positions and NaN/zero signs included).
The files are written with pyBigWig (libBigWig computes the zoom levels).
"""

import os
import random
import struct
import zlib

import bbi
import numpy as np
import pyBigWig
import pytest

from tests.builders.bigwig_data import HGT, IN_FILE, chr3_intervals, truth_signal, write_bigwig
from tests.builders.helpers import in_threads
from tilesets.formats import bbifile, bbizoom
from tilesets.formats.lru import LRU
from tilesets.generators import bigwig
from tilesets.generators.base import GeneratorError, Source, TileRequest

STATS = ("mean", "min", "max", "std")
MODES = ("mean", "min", "max", "std", "minMax", "whisker")

MIXED_CHROMS = [("chr1", 1_234_567), ("chr2", 876_543), ("chr3", 400_001), ("chrX", 150_000), ("chrY", 5_000)]


def write_mixed(path, zooms, seed=1):
    """Several chromosomes: bedGraph-like runs of 1-400 bases with gaps and negative values
    (chr1), fixed steps of span 25 (chr2), variable steps of span 10 (chr3), one constant run
    (chrX: its std is a rounding residue) and a chromosome without data (chrY).
    Returns the gaps, ``{chrom: [(start, end)]}``."""
    gaps = {"chr1": [], "chr2": [(300_000, 350_000), (876_500, 876_543)], "chr3": [(400_000, 400_001)],
            "chrX": [(0, 1000), (149_000, 150_000)], "chrY": [(0, 5000)]}
    rng = np.random.default_rng(seed)
    bw = pyBigWig.open(str(path), "w")
    bw.addHeader(MIXED_CHROMS, maxZooms=zooms)
    position, starts, ends, values = 0, [], [], []
    length = MIXED_CHROMS[0][1]
    while position < length:
        if rng.random() < 0.05:
            gap = int(rng.integers(1, 20_000))
            gaps["chr1"].append((position, min(length, position + gap)))
            position += gap
            continue
        end = min(position + int(rng.integers(1, 400)), length)
        starts.append(position)
        ends.append(end)
        values.append(float(rng.normal(0, 5)))
        position = end
    bw.addEntries(["chr1"] * len(starts), starts, ends=ends, values=values)
    for first, last in ((0, 300_000), (350_000, 876_500)):
        count = (last - first) // 25
        bw.addEntries("chr2", first, values=(rng.gamma(2, 3, count) - 1).tolist(), span=25, step=25)
    positions = np.sort(rng.choice(np.arange(0, 400_000, 10), 20_000, replace=False))
    bw.addEntries("chr3", positions.tolist(), values=rng.uniform(-3, 3, len(positions)).tolist(), span=10)
    bw.addEntries(["chrX"], [1000], ends=[149_000], values=[0.1])
    bw.close()
    return gaps


def write_special(path):
    """NaN, ±inf, -0.0 and huge values in the data (pybbi's comparisons and sums with them)."""
    rng = np.random.default_rng(5)
    bw = pyBigWig.open(str(path), "w")
    bw.addHeader([("chrA", 300_000), ("chrB", 200_000)], maxZooms=10)
    values = rng.normal(size=30_000)
    values[100:110] = np.nan
    values[5000] = np.inf
    values[5003] = -np.inf
    values[9000:9005] = -0.0
    bw.addEntries("chrA", 0, values=values.tolist(), span=10, step=10)
    huge = np.full(20_000, 1e30)
    huge[::7] = -1e30
    bw.addEntries("chrB", 0, values=huge.tolist(), span=10, step=10)
    bw.close()
    return path


def write_long(path):
    """30 Mb in 20 bp steps: the finest zoom level has about 95 blocks, more than one R tree node
    holds (64), so its index has two levels."""
    rng = np.random.default_rng(9)
    bw = pyBigWig.open(str(path), "w")
    bw.addHeader([("chrL", 30_000_000), ("chrS", 1_000_000)], maxZooms=10)
    bw.addEntries("chrL", 0, values=rng.normal(10, 3, 1_500_000).tolist(), span=20, step=20)
    bw.addEntries("chrS", 500, values=rng.normal(-1, 1, 9000).tolist(), span=100, step=100)
    bw.close()
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bigwig_zoom")
    made = {
        "special": write_special(folder / "special.bw"),
        "long": write_long(folder / "long.bw"),
    }
    for name, zooms, seed in (("mixed", 10, 1), ("two_levels", 2, 2), ("one_level", 1, 3), ("no_zooms", 0, 4)):
        made[name] = folder / f"{name}.bw"
        gaps = write_mixed(made[name], zooms=zooms, seed=seed)
        if name == "mixed":
            GAPS.update(gaps)
    hgt = folder / "hgt.bw"
    write_bigwig(hgt, IN_FILE, truth_signal(seed=11), intervals={"chr3": chr3_intervals()}, zooms=10)
    made["hgt"] = hgt
    return made


GAPS = {}  # the gaps of the "mixed" file, filled by the fixture


def bits(values):
    return np.ascontiguousarray(values, dtype=np.float64).view(np.int64)


def assert_identical(got, expected, what=""):
    np.testing.assert_array_equal(got, expected, err_msg=what)  # NaN positions
    np.testing.assert_array_equal(bits(got), bits(expected), err_msg=what)  # every bit


def windows(sizes, count, seed):
    """(chrom, start, end, bins): random spans and bin counts, windows crossing the chromosome
    end, tiny windows, more bins than bases, whole chromosomes and tile-like windows."""
    rng = random.Random(seed)
    names = list(sizes)
    out = []
    for _ in range(count):
        name = rng.choice(names)
        size = sizes[name]
        kind = rng.randrange(6)
        if kind == 0:  # anywhere, any span, any bins
            start = rng.randrange(size + 1)
            span = int(10 ** rng.uniform(0, np.log10(2 * size)))
            bins = max(1, int(span / 10 ** rng.uniform(-0.5, 4)))
        elif kind == 1:  # crossing the end
            span = int(10 ** rng.uniform(1, np.log10(2 * size)))
            start = max(0, size - rng.randrange(1, span + 1))
            bins = max(1, int(span / 10 ** rng.uniform(0.5, 4)))
        elif kind == 2:  # tiny
            start = rng.randrange(size + 1)
            span = rng.randrange(0, 60)
            bins = rng.randrange(1, 2 * span + 3)
        elif kind == 3:  # whole chromosome
            start, span = 0, size
            bins = rng.choice([1, 2, 3, 7, 100, 1024, 5000])
        elif kind == 4:  # tile-like: 1024 bins of a power of two
            binsize = 2 ** rng.randrange(2, 14)
            start = rng.randrange(0, size + 1, binsize) if size >= binsize else 0
            span, bins = 1024 * binsize, 1024
        else:  # fewer bins than a tile, odd sizes
            start = rng.randrange(size + 1)
            span = rng.randrange(1, size + 1)
            bins = rng.randrange(1, 50)
        out.append((name, start, start + span, bins))
    return out


def gap_windows():
    out = []
    for name, gaps in GAPS.items():
        for first, last in gaps[:20]:
            out.append((name, first, last, 1))
            out.append((name, first, last, max(1, (last - first) // 50)))
            out.append((name, max(0, first - 5000), last + 5000, 37))
    return out


def compare_with_pybbi(path, cases):
    """Every window and summary against pybbi; returns how many used the numpy path."""
    reader = bbizoom.ZoomReader(str(path))
    handle = bbi.open(str(path))
    used = 0
    try:
        for name, start, end, bins in cases:
            level = reader.best_level(start, end, bins)
            expected_level = handle.best_zoom(name, start, end, bins)
            assert level == expected_level, (name, start, end, bins)
            got = reader.summaries(name, start, end, bins, STATS)
            if got is None:
                continue
            used += 1
            assert got.shape == (len(STATS), bins)
            for row, stat in enumerate(STATS):
                expected = handle.fetch(name, start, end, bins=bins, missing=np.nan, summary=stat)
                assert_identical(got[row], expected, f"{path.name} {name}:{start}-{end} bins={bins} {stat}")
    finally:
        handle.close()
        reader.close()
    return used


# --- bit equality with pybbi's fetch -------------------------------------------------------


@pytest.mark.parametrize("name, count", [("mixed", 500), ("two_levels", 300), ("one_level", 300),
                                         ("special", 300), ("long", 300), ("hgt", 300)])
def test_summaries_are_pybbis_bit_for_bit(files, name, count):
    path = files[name]
    sizes = bbi.chromsizes(str(path))
    cases = windows(sizes, count, seed=zlib.crc32(name.encode()))
    used = compare_with_pybbi(path, cases)
    assert used >= count // 5, f"only {used} windows took the zoom path"


def test_windows_in_and_around_gaps(files):
    assert compare_with_pybbi(files["mixed"], gap_windows()) > 20


def test_the_out_of_range_check_uses_pybbis_double_step(files):
    """pybbi tests a bin against the chromosome end at ``start + int((i + 1) * step)`` with a
    double ``step``, not at the integer bin edge: where ``bins * (span / bins)`` rounds below
    ``span``, a window one base past the end still gets a value in its last bin."""
    cases = []
    for bins in range(1, 400):
        for span in range(900 * bins, 1000 * bins):
            if bins * (span / bins) < span:
                cases.append(("chr2", MIXED_CHROMS[1][1] - span + 1, MIXED_CHROMS[1][1] + 1, bins))
                break
        if len(cases) == 8:
            break
    path = files["mixed"]
    assert compare_with_pybbi(path, cases) == len(cases)
    handle = bbi.open(str(path))
    last = [handle.fetch(*case[:3], bins=case[3], missing=np.nan, summary="mean")[-1] for case in cases]
    assert np.isfinite(last).any()


def test_std_of_a_constant_run_keeps_pybbis_nan(tmp_path):
    """A constant 3.14: from the float32 zoom sums pybbi's variance is a rounding residue,
    negative in most bins, whose sqrt is a NaN with the sign bit set; the numpy path gives the
    same bits."""
    path = tmp_path / "constant.bw"
    bw = pyBigWig.open(str(path), "w")
    bw.addHeader([("c", 200_000)], maxZooms=10)
    bw.addEntries("c", 0, values=[3.14] * 20_000, span=10, step=10)
    bw.close()
    reader = bbizoom.ZoomReader(str(path))
    handle = bbi.open(str(path))
    negative_nan = np.array([0xFFF8000000000000], dtype=np.uint64).view(np.int64)[0]
    for bins in (10, 37, 333):
        got = reader.summaries("c", 0, 200_000, bins, ("std",))
        expected = handle.fetch("c", 0, 200_000, bins=bins, missing=np.nan, summary="std")
        assert got is not None and (bits(expected) == negative_nan).any()
        assert_identical(got[0], expected)


def test_best_level_follows_pybbi_on_every_file(files):
    for name, path in files.items():
        reader = bbizoom.ZoomReader(str(path))
        handle = bbi.open(str(path))
        chrom, size = next(iter(bbi.chromsizes(str(path)).items()))
        for span in (1, 3, 4, 5, 7, 100, 1000, 10_000, 100_000, size):
            for bins in (1, 2, 3, 10, 1024):
                assert reader.best_level(0, span, bins) == handle.best_zoom(chrom, 0, span, bins), (name, span, bins)
        handle.close()
        reader.close()


def test_no_zoom_levels_means_pybbi(files):
    reader = bbizoom.ZoomReader(str(files["no_zooms"]))
    assert reader.best_level(0, 1_000_000, 10) is None
    assert reader.summaries("chr1", 0, 1_000_000, 10, STATS) is None


def test_a_bin_with_too_many_records_falls_back_to_pybbi(files):
    """One zoom level (432 bp records) and the whole 1.2 Mb chr1 in one bin: pybbi's C loop is
    cheaper than numpy there, so summaries() declines and the generator asks pybbi."""
    reader = bbizoom.ZoomReader(str(files["one_level"]))
    assert reader.best_level(0, 1_234_567, 1) is not None
    assert reader.summaries("chr1", 0, 1_234_567, 1, STATS) is None
    assert reader.summaries("chr1", 0, 1_234_567, 100, STATS) is not None


def test_a_small_block_cache_stays_bounded(files, monkeypatch):
    cache = LRU(max_bytes=100_000, size_of=bbizoom._charge)
    monkeypatch.setattr(bbizoom, "_blocks", cache)
    stored = []
    put = cache.put
    monkeypatch.setattr(cache, "put", lambda key, value: (stored.append(bbizoom._charge(value)), put(key, value)))
    path = files["long"]
    cases = windows(bbi.chromsizes(str(path)), 150, seed=3)
    assert compare_with_pybbi(path, cases) > 20
    assert sum(stored) > 100_000  # more went in than fits: entries were evicted ...
    assert 0 < cache.bytes <= 100_000 and len(cache._items) < len(stored)  # ... and the bound held
    assert cache.bytes == sum(bbizoom._charge(v) for v in cache._items.values())


def test_leaves_of_a_deeper_r_tree(files):
    """The long file's finest zoom level has more blocks than one R tree node holds: the leaves
    come from several nodes, in order, and select() finds the blocks pybbi's walk finds."""
    path = files["long"]
    reader = bbizoom.ZoomReader(str(path))
    leaves = reader._level_leaves(0)
    assert len(leaves.offsets) > 64 and leaves.monotonic
    data = path.read_bytes()
    (index_offset,) = struct.unpack_from("<Q", data, 64 + 16)
    assert data[index_offset + 48] == 0  # the root is not a leaf
    assert np.all(np.diff(leaves.offsets.astype(np.int64)) > 0)
    # The non-monotonic branch (a mask over all entries) selects the same entries.
    for chrom_id, start, end in ((0, 0, 30_000_000), (0, 123_456, 7_654_321), (1, 0, 1_000_000), (0, 5, 6)):
        fast = list(leaves.select(chrom_id, start, end))
        leaves.monotonic = False
        slow = list(leaves.select(chrom_id, start, end))
        leaves.monotonic = True
        assert fast == slow and fast


# --- whole tiles ---------------------------------------------------------------------------


def _requests(max_zoom, total, seed, per_zoom=12):
    rng = random.Random(seed)
    out = []
    for zoom in range(max_zoom + 1):
        count = -(-total // (1024 << (max_zoom - zoom)))
        xs = range(count) if count <= per_zoom else sorted(rng.sample(range(count), per_zoom))
        for x in xs:
            for mode in MODES:
                tile_id = f"u.{zoom}.{x}" + ("" if mode == "mean" else f".{mode}")
                out.append(TileRequest(tile_id, "u", zoom, (x,), () if mode == "mean" else (mode,)))
    return out


@pytest.mark.parametrize("name, rows, numpy_used", [
    ("mixed", None, True),
    ("mixed", [("chr3", 400_001), ("chr1", 1_300_000), ("chrM", 16_569), ("chr2", 876_543), ("chrX", 150_000)], True),
    ("one_level", None, True),
    ("two_levels", None, True),
    ("special", [("chrB", 200_000), ("chrZ", 1000), ("chrA", 299_999)], True),
    ("hgt", HGT, False),  # 6.6 kb: no tile has bins wide enough for its 16 bp zoom level
])
def test_generator_tiles_unchanged_at_every_zoom(files, monkeypatch, name, rows, numpy_used):
    """GENERATOR.tiles with the numpy zoom path equals the pybbi-only path, tile for tile (the
    JSON objects, dense bytes included), at every zoom and mode; the numpy path did serve the
    coarse tiles. The second layout has chr1 longer than the file's (windows past its end) and a
    chromosome the file lacks; the "special" one a chrA one base shorter than the file's."""
    path = str(files[name])
    source = Source(path, context={"chromsizes": rows} if rows else {})
    info = bigwig.tileset_info(source)
    requests = _requests(info["max_zoom"], info["max_pos"][0], seed=len(path))
    served = []
    original = bbizoom.ZoomReader.summaries

    def counting(self, *args):
        result = original(self, *args)
        served.append(result is not None)
        return result

    monkeypatch.setattr(bbizoom.ZoomReader, "summaries", counting)
    monkeypatch.setattr(bigwig, "NUMPY_ZOOMS", True)
    ours = bigwig.GENERATOR.tiles(source, requests, None)
    monkeypatch.setattr(bigwig, "NUMPY_ZOOMS", False)
    reference = bigwig.GENERATOR.tiles(source, requests, None)
    assert set(ours) == {r.id for r in requests}
    for request in requests:
        assert "error" not in ours[request.id], ours[request.id]
        assert ours[request.id] == reference[request.id], request.id
    assert any(served) == numpy_used


def test_concurrent_coarse_tiles(files):
    bbizoom.clear_cache()
    path = str(files["long"])
    source = Source(path)
    ids = [f"u.{z}.{x}.whisker" for z in range(0, 5) for x in range(2 ** z)]
    requests = [TileRequest(i, "u", int(i.split(".")[1]), (int(i.split(".")[2]),), ("whisker",)) for i in ids]
    expected = bigwig.GENERATOR.tiles(source, requests, None)

    def three_times():
        rounds = []
        for _ in range(3):
            bbizoom.clear_cache()
            rounds.append(bigwig.GENERATOR.tiles(source, requests, None))
        return rounds

    results = [tiles for rounds in in_threads(three_times) for tiles in rounds]
    assert len(results) == 18 and all(result == expected for result in results)


# --- malformed zoom data -----------------------------------------------------------------


def _first_zoom_leaf(data):
    """(position of the leaf entry, block offset, block size) of zoom level 0's first block."""
    (index_offset,) = struct.unpack_from("<Q", data, 64 + 16)
    node = index_offset + 48
    while True:
        is_leaf, _reserved, _count = struct.unpack_from("<BBH", data, node)
        if is_leaf:
            entry = node + 4
            offset, size = struct.unpack_from("<QQ", data, entry + 16)
            return entry, offset, size
        (node,) = struct.unpack_from("<Q", data, node + 4 + 16)


def _with_block(data, payload):
    """A copy whose zoom level 0 first block is ``payload`` (compressed), appended at the end."""
    data = bytearray(data)
    entry, _offset, _size = _first_zoom_leaf(data)
    offset = len(data)
    data += payload + data[:4]  # and the signature again at the very end
    struct.pack_into("<QQ", data, entry + 16, offset, len(payload))
    return bytes(data)


def _damaged(data):
    data = bytearray(data)
    _entry, offset, size = _first_zoom_leaf(data)
    data[offset + size // 2] ^= 0xFF
    return bytes(data)


def _ragged(data):
    _entry, offset, size = _first_zoom_leaf(data)
    records = zlib.decompress(data[offset:offset + size])
    return _with_block(data, zlib.compress(records[:-32] + b"\0" * 20))


def _oversized(data):
    (buffer_size,) = struct.unpack_from("<I", data, 52)
    return _with_block(data, zlib.compress(b"\0" * (buffer_size + 32)))


@pytest.mark.parametrize("damage, message", [
    (_damaged, "does not decompress"),
    (_ragged, "not a whole number of records"),
    (_oversized, "larger than the file declares"),
])
def test_a_broken_zoom_block_is_an_error_for_the_tile_only(files, tmp_path, damage, message):
    path = tmp_path / "broken.bw"
    path.write_bytes(damage(files["mixed"].read_bytes()))
    reader = bbizoom.ZoomReader(str(path))
    assert reader.best_level(0, 1_234_567, 1000) == 0  # the damaged level
    with pytest.raises(GeneratorError, match=message):
        reader.summaries("chr1", 0, 1_234_567, 1000, STATS)
    source = Source(str(path))
    assert bigwig.tileset_info(source)["max_zoom"] == 12  # zoom 2: 1 kb bins, zoom level 0
    answer = bigwig.GENERATOR.tiles(source, [TileRequest("u.2.0", "u", 2, (0,), ())], None)
    assert list(answer["u.2.0"]) == ["error"] and message in answer["u.2.0"]["error"]
    assert "\n" not in answer["u.2.0"]["error"]


def test_cir_leaves_refuses_a_missing_index(files):
    fd = os.open(str(files["mixed"]), os.O_RDONLY)
    try:
        reader = bbifile._Reader(fd, os.fstat(fd).st_size)
        with pytest.raises(bbifile._Corrupt):
            bbifile.cir_leaves(reader, 0, "zoom level 0 index")
        with pytest.raises(bbifile._Corrupt):
            bbifile.cir_leaves(reader, 64, "zoom level 0 index")
    finally:
        os.close(fd)


def test_ingest_refuses_a_zoom_block_of_partial_records(files, tmp_path):
    """The full check at ingest (validate) inflates every zoom block and refuses one that does not
    hold whole 32-byte records, before pybbi could meet it."""
    path = tmp_path / "ragged.bw"
    path.write_bytes(_ragged(files["mixed"].read_bytes()))
    with pytest.raises(GeneratorError, match="whole number of 32-byte records"):
        bigwig.validate(str(path))
    bigwig.validate(str(files["mixed"]))  # the sound file passes


def test_pybbi_opens_the_file_the_zoom_reader_checked(files, tmp_path):
    """The generator opens pybbi on the zoom reader's descriptor: a file replaced at the same
    path in between is not the one pybbi reads."""
    path = tmp_path / "swapped.bw"
    path.write_bytes(files["mixed"].read_bytes())
    reader = bbizoom.ZoomReader(str(path))
    other = tmp_path / "other.bw"
    other.write_bytes(files["long"].read_bytes())
    os.replace(other, path)  # the path now names another bigWig
    pinned = reader.pinned_path(str(path))
    assert pinned != str(path)
    assert bbi.open(pinned).chromsizes == bbi.chromsizes(str(files["mixed"]))
    assert bbi.chromsizes(str(path)) == bbi.chromsizes(str(files["long"]))
    assert bbi.chromsizes(str(files["mixed"])) != bbi.chromsizes(str(files["long"]))
    reader.close()
    assert reader.pinned_path(str(path)) == str(path)
