"""Base-level bigWig data and bigBed records read in Python (tilesets/formats/bbidata.py), against
pybbi 0.4.2 on the same local files.

pybbi is the oracle: ``DataReader.bigwig_intervals`` must list pybbi's ``fetch_intervals``,
``ZoomReader.data_summaries`` must give ``fetch(..., bins=n, missing=nan, summary=stat)`` bit for
bit (NaN positions and zero signs included) wherever pybbi reads the base-level data, and
``DataReader.bigbed_records`` must equal ``fetch_intervals(..., iterator=True)`` as a list. The
bigWig files are written with pyBigWig (bedGraph, fixed and variable steps, gaps, NaN, ±inf,
-0.0, huge values, files with and without zoom levels), the bigBed files with pybigtools
(BED6 and BED3, overlapping and zero-length records, many blocks, and a file whose R tree misses
records, as pybbi's walk does).
"""

import random
import struct
import zlib

import bbi
import numpy as np
import pybigtools
import pyBigWig
import pytest

from tests.builders.bigbed_data import IN_FILE as BED_CHROMS, records_of, write_bigbed
from tests.builders.bigwig_data import IN_FILE, chr3_intervals, truth_signal, write_bigwig
from tests.builders.helpers import in_threads
from tests.generators.test_bigwig_zoom import assert_identical, write_long, write_mixed, write_special
from tilesets.formats import bbidata, bbifile, bbizoom
from tilesets.formats.errors import FormatError
from tilesets.formats.lru import LRU

STATS = ("mean", "min", "max", "std")


@pytest.fixture(scope="module")
def bigwigs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bbi-data")
    made = {"special": write_special(folder / "special.bw"), "long": write_long(folder / "long.bw")}
    for name, zooms, seed in (("mixed", 10, 1), ("one_level", 1, 3), ("no_zooms", 0, 4)):
        made[name] = folder / f"{name}.bw"
        write_mixed(made[name], zooms=zooms, seed=seed)
    made["hgt"] = write_bigwig(folder / "hgt.bw", IN_FILE, truth_signal(seed=11),
                               intervals={"chr3": chr3_intervals()}, zooms=10)
    constant = folder / "constant.bw"
    bw = pyBigWig.open(str(constant), "w")
    bw.addHeader([("c", 200_000)], maxZooms=10)
    bw.addEntries("c", 0, values=[3.14] * 20_000, span=10, step=10)
    bw.close()
    made["constant"] = constant
    return made


def fine_windows(sizes, count, seed, reader):
    """(chrom, start, end, bins) where pybbi reads the base-level data: tile-like windows of 1024
    bins from 1 base per bin up to the finest zoom level, odd spans and bin counts, windows
    crossing the chromosome end, more bins than bases, and one-base windows."""
    rng = random.Random(seed)
    names = list(sizes)
    out = []
    while len(out) < count:
        name = rng.choice(names)
        size = sizes[name]
        kind = rng.randrange(5)
        if kind == 0:
            binsize = 2 ** rng.randrange(0, 7)
            start = rng.randrange(0, max(1, size - 1024 * binsize)) if rng.random() < 0.8 else size - 300 * binsize
            span, bins = 1024 * binsize, 1024
        elif kind == 1:
            start, span = rng.randrange(size), rng.randrange(1, 5000)
            bins = max(1, span // rng.randrange(1, 8))
        elif kind == 2:  # crossing the end
            span = rng.randrange(2, 3000)
            start, bins = max(0, size - rng.randrange(1, span)), rng.randrange(1, span + 1)
        elif kind == 3:  # more bins than bases
            start, span = rng.randrange(size), rng.randrange(1, 40)
            bins = span + rng.randrange(1, 30)
        else:
            start, span, bins = rng.randrange(size), 1, 1
        start = max(0, start)
        if reader.best_level(start, start + span, bins) is None:
            out.append((name, start, start + span, bins))
    return out


def compare_summaries(path, cases):
    """Every window and statistic against pybbi; returns how many the data path answered."""
    reader = bbizoom.ZoomReader(str(path))
    handle = bbi.open(str(path))
    used = 0
    try:
        for name, start, end, bins in cases:
            got = reader.data_summaries(name, start, end, bins, STATS)
            if got is None:
                continue
            used += 1
            for row, stat in enumerate(STATS):
                expected = handle.fetch(name, start, end, bins=bins, missing=np.nan, summary=stat)
                assert_identical(got[row], expected, f"{path.name} {name}:{start}-{end} bins={bins} {stat}")
    finally:
        handle.close()
        reader.close()
    return used


@pytest.mark.parametrize("name", ["mixed", "one_level", "no_zooms", "special", "long", "hgt", "constant"])
def test_data_summaries_are_pybbis_bit_for_bit(bigwigs, name):
    path = bigwigs[name]
    reader = bbizoom.ZoomReader(str(path))
    cases = fine_windows(bbi.chromsizes(str(path)), 400, zlib.crc32(name.encode()), reader)
    reader.close()
    assert compare_summaries(path, cases) >= 300


@pytest.mark.parametrize("name", ["mixed", "special", "long", "hgt"])
def test_bigwig_intervals_are_pybbis(bigwigs, name):
    path = bigwigs[name]
    reader = bbizoom.ZoomReader(str(path))
    handle = bbi.open(str(path))
    rng = random.Random(7)
    for _ in range(200):
        chrom, size = rng.choice(list(handle.chromsizes.items()))
        start = rng.randrange(size + 1)
        end = min(size, start + int(10 ** rng.uniform(0, 6.5)))
        got = reader.data.bigwig_intervals(reader.data.chrom_id(chrom), start, end)
        expected = list(handle.fetch_intervals(chrom, start, end, iterator=True))
        assert got.shape == (3, len(expected)), (chrom, start, end)
        if expected:
            _, starts, ends, values = zip(*expected)
            assert got[0].tolist() == list(starts) and got[1].tolist() == list(ends)
            assert_identical(got[2], np.array(values))


def test_where_pybbi_uses_a_zoom_level_the_data_path_declines(bigwigs):
    reader = bbizoom.ZoomReader(str(bigwigs["mixed"]))
    assert reader.best_level(0, 1_000_000, 100) is not None
    assert reader.data_summaries("chr1", 0, 1_000_000, 100, STATS) is None
    assert reader.data_summaries("chrNone", 0, 1000, 10, STATS) is None
    assert reader.data_summaries("chr1", 5, 5, 1, STATS) is None  # an empty window: pybbi's


def test_a_window_selecting_too_many_blocks_is_left_to_pybbi(bigwigs, monkeypatch):
    reader = bbizoom.ZoomReader(str(bigwigs["long"]))
    wide, narrow = ("chrL", 0, 600_000, 300_000), ("chrL", 0, 2000, 1000)
    assert reader.data_summaries(*wide, ("mean",)) is not None
    assert len(reader.data.blocks(0, 0, 600_000)) > 2 and len(reader.data.blocks(0, 0, 2000)) == 1
    monkeypatch.setattr(bbidata, "MAX_QUERY_BYTES", 2 * reader.data._buffer_size)
    assert reader.data_summaries(*wide, ("mean",)) is None
    assert reader.data_summaries(*narrow, ("mean",)) is not None


def _first_data_leaf(data):
    """(position of the leaf entry, block offset, block size) of the data index's first block."""
    (index_offset,) = struct.unpack_from("<Q", data, 24)
    node = index_offset + 48
    while True:
        is_leaf, _reserved, _count = struct.unpack_from("<BBH", data, node)
        if is_leaf:
            entry = node + 4
            return (entry,) + struct.unpack_from("<QQ", data, entry + 16)
        (node,) = struct.unpack_from("<Q", data, node + 4 + 16)


def with_first_block(data, change):
    """A copy of a bigWig whose first data block is ``change(inflated block)``, compressed and
    appended at the end (the signature again after it)."""
    data = bytearray(data)
    entry, offset, size = _first_data_leaf(data)
    block = zlib.compress(change(bytearray(zlib.decompress(data[offset:offset + size]))))
    position = len(data)
    data += block + data[:4]
    struct.pack_into("<QQ", data, entry + 16, position, len(block))
    return bytes(data)


def overlapping(block):
    """The first bedGraph item made to end past the second one's start."""
    assert block[20] == 1  # a bedGraph section
    _start, end = struct.unpack_from("<II", block, 24 + 12)
    struct.pack_into("<I", block, 24 + 4, end + 5)
    return block


def test_overlapping_data_is_left_to_pybbi(bigwigs, tmp_path):
    path = tmp_path / "overlapping.bw"
    path.write_bytes(with_first_block(bigwigs["no_zooms"].read_bytes(), overlapping))
    reader = bbizoom.ZoomReader(str(path))
    handle = bbi.open(str(path))
    first = next(iter(handle.fetch_intervals("chr1", 0, 1000, iterator=True)))
    assert reader.data_summaries("chr1", 0, first[2] + 50, 10, STATS) is None
    far = 900_000  # elsewhere the file is sound
    got = reader.data_summaries("chr1", far, far + 1024, 1024, ("mean",))
    assert_identical(got[0], handle.fetch("chr1", far, far + 1024, bins=1024, missing=np.nan))


def test_a_broken_data_block_is_an_error(bigwigs, tmp_path):
    path = tmp_path / "broken.bw"
    data = bytearray(bigwigs["no_zooms"].read_bytes())
    _entry, offset, size = _first_data_leaf(data)
    data[offset + size // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    reader = bbizoom.ZoomReader(str(path))
    with pytest.raises(FormatError, match="does not decompress"):
        reader.data_summaries("chr1", 0, 1024, 1024, STATS)


def test_threads_share_the_caches(bigwigs):
    path = bigwigs["mixed"]
    reader = bbizoom.ZoomReader(str(path))
    cases = fine_windows(bbi.chromsizes(str(path)), 60, 3, reader)

    def all_windows():
        bbidata.clear_cache()
        return [reader.data_summaries(*case, STATS) for case in cases]

    expected = all_windows()
    for found in in_threads(all_windows):
        assert len(found) == len(expected)
        for got, want in zip(found, expected):
            assert (got is None and want is None) or np.array_equal(got, want, equal_nan=True)


def test_a_small_block_cache_stays_bounded(bigwigs, monkeypatch):
    cache = LRU(max_bytes=200_000, size_of=bbidata._charge)
    monkeypatch.setattr(bbidata, "_blocks", cache)
    path = bigwigs["long"]
    reader = bbizoom.ZoomReader(str(path))
    assert compare_summaries(path, fine_windows(bbi.chromsizes(str(path)), 120, 5, reader)) > 60
    assert 0 < cache.bytes <= 200_000
    assert cache.bytes == sum(bbidata._charge(value) for value in cache._items.values())


# --- bigBed ----------------------------------------------------------------------------------


def _bed_reader(path):
    return bbidata.OpenData(str(path), "bigBed")


def random_records(chroms, count, seed, zero_every=7):
    """Overlapping records of random lengths (some zero-length), sorted, BED6."""
    rng = np.random.default_rng(seed)
    records = []
    for name, length in chroms:
        for i in range(count):
            start = int(rng.integers(0, length))
            end = start if i % zero_every == 0 else min(length, start + int(rng.integers(1, 5000)))
            records.append((name, start, end, f"{name}-{i}", str(int(rng.integers(0, 1000))), "+-"[i % 2]))
    order = [name for name, _ in chroms]
    return sorted(records, key=lambda r: (order.index(r[0]), r[1], r[2]))


def bed_windows(chroms, count, seed, edges=None):
    """Random windows, whole chromosomes, empty windows and windows ending or starting on the
    positions ``edges`` ({chrom: [positions]}: zero-length records there)."""
    rng = random.Random(seed)
    out = [(name, 0, length) for name, length in chroms]
    for _ in range(count):
        name, length = rng.choice(chroms)
        start = rng.randrange(length + 1)
        out.append((name, start, min(length, start + int(10 ** rng.uniform(0, 6)))))
        out.append((name, start, start))
    for name, positions in (edges or {}).items():
        length = dict(chroms)[name]
        for position in positions:
            out += [(name, position, min(length, position + 10)), (name, max(0, position - 10), position),
                    (name, position, position)]
    return out


def compare_records(path, windows):
    reader = _bed_reader(path)
    handle = bbi.open(str(path))
    total = 0
    for name, start, end in windows:
        got = reader.bigbed_records(name, start, end)
        assert got == list(handle.fetch_intervals(name, start, end, iterator=True)), (name, start, end)
        total += len(got)
    return total


def test_bigbed_records_are_pybbis(tmp_path):
    records = records_of()
    path = write_bigbed(tmp_path / "annotations.bb", BED_CHROMS, records)
    zeros = {}
    for name, start, end, *_ in records:
        if start == end:
            zeros.setdefault(name, []).append(start)
    assert compare_records(path, bed_windows(BED_CHROMS, 300, 1, zeros)) > 1000


def test_many_blocks_and_chromosomes(tmp_path):
    chroms = [("chrA", 2_000_000), ("chrB", 900_000), ("chrC", 50_000)]
    records = random_records(chroms, 3000, seed=4)
    path = write_bigbed(tmp_path / "many.bb", chroms, records)
    zeros = {name: [start for n, start, end, *_ in records if n == name and start == end][:30] for name, _ in chroms}
    assert compare_records(path, bed_windows(chroms, 300, 2, zeros)) > 10_000


def test_an_r_tree_that_misses_records_misses_the_same_ones(tmp_path):
    """Written without the end records of tests/builders/bigbed_data.py, pybigtools' leaf ends
    are too small, and pybbi's walk does not find some long records: neither does ours."""
    chroms = [("chrA", 300_000)]
    rng = np.random.default_rng(8)
    records = sorted(
        [("chrA", s, s + (250_000 if i % 40 == 0 else 50), f"r{i}", "1", "+")
         for i, s in enumerate(sorted(int(v) for v in rng.integers(0, 40_000, 2000)))],
        key=lambda r: (r[1], r[2]))
    path = write_bigbed(tmp_path / "short-leaves.bb", chroms, records)
    handle = bbi.open(str(path))
    late = list(handle.fetch_intervals("chrA", 200_000, 300_000, iterator=True))
    assert late == [] and sum(r[2] > 200_000 for r in records) == 50  # the quirk is there
    assert _bed_reader(path).bigbed_records("chrA", 200_000, 300_000) == []
    assert compare_records(path, bed_windows(chroms, 200, 3)) > 1000


def test_bed3_records_have_no_rest_fields(tmp_path):
    path = tmp_path / "plain.bb"
    writer = pybigtools.open(str(path), "w")
    writer.write({"chr1": 10_000}, iter([("chr1", s, s + 100, "") for s in range(0, 9_000, 50)]))
    reader = _bed_reader(path)
    assert reader.bigbed_records("chr1", 0, 200) == [("chr1", 0, 100), ("chr1", 50, 150), ("chr1", 100, 200),
                                                     ("chr1", 150, 250)]
    assert compare_records(path, bed_windows([("chr1", 10_000)], 100, 4)) > 100


def test_text_that_is_not_ascii_is_left_to_pybbi(tmp_path):
    chroms = [("chr1", 100_000)]
    records = [("chr1", s, s + 10, f"n{s}", "0", "+") for s in range(0, 90_000, 30)]
    records[-1] = ("chr1", 89_970, 89_980, "caf\u00e9", "0", "+")
    path = write_bigbed(tmp_path / "accents.bb", chroms, records)
    reader = _bed_reader(path)
    assert reader.bigbed_records("chr1", 89_900, 90_000) is None
    with pytest.raises(UnicodeDecodeError):
        list(bbi.open(str(path)).fetch_intervals("chr1", 89_900, 90_000, iterator=True))
    assert compare_records(path, [("chr1", 0, 1000), ("chr1", 500, 501)]) > 30


def test_a_chromosome_name_found_twice_is_left_to_pybbi(tmp_path):
    path = write_bigbed(tmp_path / "annotations.bb", BED_CHROMS, records_of())
    reader = _bed_reader(path)
    ranged, structure = bbifile.open_checked(str(path), "bigBed")
    assert reader.chrom_id("chr1") == structure.chrom_ids["chr1"]
    structure.chrom_ids["chr1"] = None  # as _walk_bpt records a name met twice
    twice = bbidata.DataReader(reader._reader, structure)
    assert twice.chrom_id("chr1") is None and twice.bigbed_records("chr1", 0, 100) is None
    assert twice.bigbed_records("chr2", 0, 100) == reader.bigbed_records("chr2", 0, 100)
    ranged.close()
