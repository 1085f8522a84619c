"""bigBed tiles and tileset_info (bigWig's tiling and chromosome order) and the bigBed HTTP paths."""

import json
import os
import struct

import numpy as np
import pytest

from tests.builders.bigbed_data import (
    HGB, IN_FILE, MAX, check_tile, entry, expected_pieces, records_of, score, threshold, with_end_records,
    write_bigbed,
)
from tests.builders.bigwig_data import write_bigwig
from tests.builders.helpers import (
    api_tiles, clodius_abs2genomic, generator_tiles, in_threads, ingest_chromsizes, needs_clodius, run_clodius, tile_request, uploads,
    write_chromsizes,
)
from tilesets.generators import bigbed
from tilesets.generators.base import GeneratorError, Source
from tilesets.ingest import IngestError, ingest_tileset
from tilesets.models import Tileset

OWN_ORDER = [("chr1", 4096), ("chr2", 3072), ("chr3", 1200), ("chr10", 700), ("chrX", 900)]
MODES_JSON = (
    '"aggregation_modes": {"mean": {"name": "Mean", "value": "mean"}, "min": {"name": "Min", "value": "min"}, '
    '"max": {"name": "Max", "value": "max"}, "std": {"name": "Standard Deviation", "value": "std"}}, '
    '"range_modes": {"minMax": {"name": "Min-Max", "value": "minMax"}, "whisker": {"name": "Whisker", "value": "whisker"}}'
)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("bigbed")


@pytest.fixture(scope="module")
def test_bb(data_dir):
    """(path, records) of the test bigBed."""
    records = records_of()
    return write_bigbed(data_dir / "annotations.bb", IN_FILE, records), records


def tiles(path, ids, chromsizes=None):
    return generator_tiles(bigbed, path, ids, chromsizes=chromsizes)


def tile(path, tile_id, chromsizes=None):
    return tiles(path, [tile_id], chromsizes)[tile_id]


def names(entries):
    return [e["fields"][3] for e in entries]


# --- tileset_info (the bigWig one) ------------------------------------------------------------


def test_tileset_info_exact_json(test_bb):
    path, _ = test_bb
    # the coordSystem's chromosomes: T = 9308 -> ceil(T / 1024) = 10 -> max_zoom 4
    assert json.dumps(bigbed.tileset_info(Source(str(path), context={"chromsizes": HGB}))) == (
        '{"min_pos": [0], "max_pos": [9308], "max_width": 16384, "tile_size": 1024, "max_zoom": 4, '
        '"chromsizes": [["chr1", 4096], ["chr2", 3072], ["chr3", 1200], ["chrX", 900], ["chrM", 40]], '
        + MODES_JSON + "}"
    )
    # the file's own chromosomes in natural order (chr10 after chr3, chrX last)
    assert json.dumps(bigbed.tileset_info(Source(str(path)))) == (
        '{"min_pos": [0], "max_pos": [9968], "max_width": 16384, "tile_size": 1024, "max_zoom": 4, '
        '"chromsizes": [["chr1", 4096], ["chr2", 3072], ["chr3", 1200], ["chr10", 700], ["chrX", 900]], '
        + MODES_JSON + "}"
    )


def test_chromsizes_are_the_files_own_in_natural_order(test_bb):
    path, _ = test_bb
    assert bigbed.chromsizes(Source(str(path), context={"chromsizes": HGB})) == OWN_ORDER


# --- tiles -------------------------------------------------------------------------------------


@pytest.mark.parametrize("layout", ["assembly", "own"])
def test_every_tile_matches_the_written_records(test_bb, layout):
    """All zooms, every x (and past the end), with and without the mode: the records of each
    piece, their offsets, scores and fields exactly; pieces over 200 thresholded and sampled."""
    path, records = test_bb
    rows, context = (HGB, HGB) if layout == "assembly" else (OWN_ORDER, None)
    ids = [f"u.{z}.{x}" + mode for z in range(5) for x in [*range(2 ** z + 1), 500] for mode in ("", ".significant")]
    answer = tiles(path, ids, context)
    assert set(answer) == set(ids)
    thresholded = sampled = 0
    for tile_id in ids:
        _, z, x, *_mode = tile_id.split(".")
        counts = check_tile(answer[tile_id], rows, records, int(z), int(x))
        thresholded, sampled = thresholded + counts[0], sampled + counts[1]
        if _mode:
            assert answer[tile_id] == answer[tile_id.rsplit(".", 1)[0]]  # the mode changes nothing
    assert thresholded and sampled
    assert answer["u.4.500"] == [] and answer["u.0.1"] == []  # past the genome


def test_entry_shape_and_uids(test_bb):
    path, records = test_bb
    first = tile(path, "u.4.7", HGB)  # [7168, 8192): chr3 [0, 1024)
    assert [list(e) for e in first][0] == ["chrOffset", "importance", "fields", "uid", "xStart", "xEnd"]
    long_one = next(e for e in first if e["fields"][3] == "c-long")
    assert long_one == {"chrOffset": 7168, "importance": 900, "fields": ["chr3", 10, 1200, "c-long", "900", "-"],
                        "uid": long_one["uid"], "xStart": 7178, "xEnd": 8368}
    # a record crossing a tile boundary is in both tiles, with the same uid
    second = tile(path, "u.4.8", HGB)
    assert [e for e in second if e["fields"][3] == "c-long"] == [long_one]
    # uids: one per record, the same in every tile and zoom
    seen = {}
    for z in range(5):
        for x in range(2 ** z):
            for e in tile(path, f"u.{z}.{x}", HGB):
                seen.setdefault(tuple(e["fields"]), set()).add(e["uid"])
    assert all(len(uids) == 1 for uids in seen.values())
    assert len({next(iter(u)) for u in seen.values()}) == len(seen) > 1000


def test_tiles_are_the_same_every_time(test_bb):
    path, _ = test_bb
    ids = ["u.0.0", "u.2.1", "u.3.3"]  # sampled pieces included
    assert tiles(path, ids, HGB) == tiles(path, ids, HGB)


def test_zero_length_pieces_and_records(test_bb):
    """A tile ending on a chromosome start has an empty piece of that chromosome, which pybbi
    answers with the zero-length records at its position 0 (as the reference does)."""
    path, _ = test_bb
    ending = tile(path, "u.4.6", HGB)  # [6144, 7168): chr2 [2048, 3072), then chr3 [0, 0)
    assert names(ending)[-1] == "c-zero-at-start" and ending[-1]["chrOffset"] == 7168
    assert "c-zero-at-start" in names(tile(path, "u.4.7", HGB))
    assert "c-zero" in names(tile(path, "u.4.7", HGB))  # chr3:500-500, inside the tile


def test_scores(test_bb):
    """The 5th field through Python's int() (as the reference), else 0; an int in the JSON."""
    rules = {"7.5": 0, "1e3": 0, "": 0, "x": 0, " 12": 12, "-3": -3, "+4": 4, "1_0": 10, "900": 900}
    assert {text: bigbed.score_of(("c", 1, 2, "n", text)) for text in rules} == rules
    assert bigbed.score_of(("c", 1, 2)) == 0 and bigbed.score_of(("c", 1, 2, "n")) == 0
    path, records = test_bb
    odd = {r[3]: r[4] for r in records if r[0] == "chr2" and not r[4].isdigit()}
    assert set(odd.values()) == set(rules) - {"900"}
    entries = [e for x in range(2 ** 4) for e in tile(path, f"u.4.{x}", HGB) if e["fields"][3] in odd]
    assert entries and all(e["importance"] == rules[odd[e["fields"][3]]] for e in entries)
    assert json.dumps(tile(path, "u.4.7", HGB)).count('"importance": 900,') == 1


def test_selection_rules():
    rows = [("c", i, i + 1, f"n{i}", str(s)) for i, s in enumerate(range(0, 3000, 10))]  # 300, distinct
    kept = bigbed.select(rows)
    # quantile(scores, 1/3) = 996.67 -> 996: scores >= 996 are the last 200 of 300
    assert [r for r, _ in kept] == rows[100:] and len(kept) == MAX
    ties = [("c", i, i + 1, "n", str(i % 2)) for i in range(300)]  # threshold 0: all 300 -> sample 200
    kept = bigbed.select(ties)
    assert len(kept) == MAX and [r[1] for r, _ in kept] == sorted(r[1] for r, _ in kept)
    assert bigbed.select(ties[:200]) == [(r, score(r)) for r in ties[:200]]
    assert bigbed.select([]) == []
    assert len(bigbed.select(rows, 1, 10)) == 10


def test_tile_id_options(test_bb):
    path, records = test_bb
    small = tile(path, "u.0.0.significant|max:5", HGB)  # at most 5 per piece (clodius' options)
    counts = {}
    for e in small:
        counts[e["fields"][0]] = counts.get(e["fields"][0], 0) + 1
    assert counts["chr2"] == 5 and counts["chr1"] <= 5 and counts["chr3"] == 5 and counts["chrX"] == 3
    assert tile(path, "u.0.0.significant|min:5|max:5", HGB) == tile(path, "u.0.0.significant|max:6|min:5", HGB)
    assert tile(path, "u.0.0.significant|cos:abc", HGB) == tile(path, "u.0.0", HGB)
    assert "error" in tile(path, "u.0.0.significant|max:x", HGB)


def test_assembly_longer_than_the_file(test_bb):
    """chr10 is 700 bases in the file; an assembly that says 5000 asks past its end: the
    reference fails there (pybbi ValueError); we answer the records that exist."""
    path, _ = test_bb
    rows = [("chr10", 5000)]
    assert names(tile(path, "u.0.0", rows)) == ["ten", "chr10-end"]
    assert tile(path, "u.2.1", rows) == []  # [2048, 4096) of chr10: past the file's 700 bases


def test_bad_zoom_is_an_error_for_that_tile_only(test_bb):
    path, records = test_bb
    ids = ["u.5.0", "u.60.0.significant", "u.4.7", "u.4.99999999999999999999"]
    answer = tiles(path, ids, HGB)
    assert set(answer) == set(ids)
    assert list(answer["u.5.0"]) == ["error"] and "beyond" in answer["u.5.0"]["error"]
    assert "beyond" in answer["u.60.0.significant"]["error"]
    assert len(answer["u.4.7"]) > 0 and answer["u.4.99999999999999999999"] == []


def test_concurrent_requests_share_the_handle(test_bb):
    path, _ = test_bb
    ids = [f"u.4.{x}" for x in range(10)] + ["u.0.0", "u.1.0"]
    expected = tiles(path, ids, HGB)
    assert all(result == expected for result in in_threads(lambda: tiles(path, ids, HGB)))


# --- validation --------------------------------------------------------------------------


def _corrupt_block(data):
    """The test bigBed with one byte of its first data block changed."""
    data = bytearray(data)
    full_data = struct.unpack_from("<Q", data, 16)[0]
    data[full_data + 8 + 40] ^= 0xFF
    return bytes(data)


def _bigwig_bytes(tmp_path):
    path = write_bigwig(tmp_path / "signal.bw", [("chr1", 1000)], {"chr1": np.ones(1000)})
    return path.read_bytes()


def _autosql_past_the_end(data):
    data = bytearray(data)
    struct.pack_into("<Q", data, 36, len(data) + 10)  # autoSqlOffset
    return bytes(data)


@pytest.mark.parametrize("make, reason, on_open", [
    (lambda good, tmp: b"chr1\t0\t10\tname\n", "not a bigBed file", True),
    (lambda good, tmp: b"", "not a bigBed file", True),
    (lambda good, tmp: _bigwig_bytes(tmp), "this is a bigWig file, not a bigBed", True),
    (lambda good, tmp: good[:len(good) // 2], "corrupt bigBed", True),
    (lambda good, tmp: good[:200], "corrupt bigBed", True),
    (lambda good, tmp: _autosql_past_the_end(good), "corrupt bigBed: the autoSql text", True),
    (lambda good, tmp: _corrupt_block(good), "corrupt bigBed: a data block", False),  # found at ingest
])
def test_validate_refuses_what_is_not_a_sound_bigbed(test_bb, tmp_path, make, reason, on_open):
    path, _ = test_bb
    bad = tmp_path / "bad.bb"
    bad.write_bytes(make(path.read_bytes(), tmp_path))
    with pytest.raises(GeneratorError, match=reason) as caught:
        bigbed.validate(str(bad))
    assert "\n" not in str(caught.value)
    if on_open:  # opening for tiles checks the structure (not every block): nothing reaches pybbi
        with pytest.raises(GeneratorError, match=reason):
            bigbed.tiles(Source(str(bad)), [tile_request("u.0.0")], None)


SOUND_RECORD = struct.pack("<III", 0, 5, 9) + b"a\t1\0"


@pytest.mark.parametrize("block, reason", [
    (SOUND_RECORD + struct.pack("<II", 0, 7), "a data record is cut short"),
    (SOUND_RECORD + struct.pack("<III", 0, 5, 9) + b"a\t1", "a data record has no end"),
    (SOUND_RECORD + struct.pack("<III", 0, 9, 5) + b"\0", "a data record ends before it starts"),
    (SOUND_RECORD + struct.pack("<III", 0, 5, 9) + "gène".encode() + b"\0", "not ASCII \\(at 5-9\\)"),
], ids=["cut", "no-end", "backwards", "not-ascii"])
def test_the_records_of_a_block_are_walked(tmp_path, block, reason):
    from tilesets.formats.bbifile import _Corrupt, _Reader, _record_check

    raw = tmp_path / "block"
    raw.write_bytes(block)
    fd = os.open(raw, os.O_RDONLY)
    try:
        check = _record_check(_Reader(fd, len(block)), 0)  # 0: an uncompressed file
        with pytest.raises(_Corrupt, match=reason):
            check(0, len(block))
        check(0, len(SOUND_RECORD))  # the first record alone is sound
    finally:
        os.close(fd)


def test_a_missing_or_unreadable_file_is_a_generator_error(tmp_path):
    with pytest.raises(GeneratorError, match="^cannot read the file: No such file or directory$"):
        bigbed.tileset_info(Source(str(tmp_path / "gone.bb")))
    (tmp_path / "plain").write_text("")
    with pytest.raises(GeneratorError, match="^cannot read the file: Not a directory$"):
        bigbed.tileset_info(Source(str(tmp_path / "plain" / "genes.bb")))


def test_validate_accepts_bigbeds(test_bb, tmp_path):
    path, _ = test_bb
    bigbed.validate(str(path))
    bed3 = write_bigbed(tmp_path / "bed3.bb", [("chr1", 100)], [("chr1", 0, 100)], autosql=None)
    bigbed.validate(str(bed3))
    assert tile(bed3, "u.0.0") == [{"chrOffset": 0, "importance": 0, "fields": ["chr1", 0, 100],
                                    "uid": tile(bed3, "u.0.0")[0]["uid"], "xStart": 0, "xEnd": 100}]


# --- through the HTTP API ------------------------------------------------------------------


def _ingest_bigbed(path, uid, coord="hgB"):
    return ingest_tileset(datafile=str(path), filetype="bigbed", datatype="bedlike", coordSystem=coord, uid=uid,
                          name="Genes")


@pytest.mark.django_db
def test_api_tileset_info_tiles_and_chrom_sizes(anon_client, test_bb, outside):
    path, records = test_bb
    ingest_chromsizes(outside, "hgb-sizes", HGB, "hgB")
    _ingest_bigbed(path, "bb")
    response = anon_client.get("/api/v1/tileset_info/?d=bb")
    assert response.status_code == 200
    assert response.content.decode() == (
        '{"bb": {"min_pos": [0], "max_pos": [9308], "max_width": 16384, "tile_size": 1024, "max_zoom": 4, '
        '"chromsizes": [["chr1", 4096], ["chr2", 3072], ["chr3", 1200], ["chrX", 900], ["chrM", 40]], '
        + MODES_JSON + ', "name": "Genes", "datatype": "bedlike", "coordSystem": "hgB", "coordSystem2": ""}}'
    )
    ids = ["bb.0.0", "bb.4.7", "bb.4.8.significant", "bb.3.4", "bb.7.0", "bb.0.1"]
    answer = api_tiles(anon_client, ids)
    for tile_id in ("bb.0.0", "bb.4.7", "bb.4.8.significant", "bb.3.4", "bb.0.1"):
        _, z, x, *_ = tile_id.split(".")
        check_tile(answer[tile_id], HGB, records, int(z), int(x))
    assert list(answer["bb.7.0"]) == ["error"]
    # byte level: a tile without sampling, as the client receives it
    raw = anon_client.get("/api/v1/tiles/?d=bb.4.8").content.decode()
    assert raw == json.dumps({"bb.4.8": tile(path, "u.4.8", HGB)})
    # chrom-sizes: the file's own chromosomes, natural order
    sizes = anon_client.get("/api/v1/chrom-sizes/?id=bb&type=json")
    assert sizes.status_code == 200
    assert list(sizes.json().items()) == [(name, {"size": length}) for name, length in OWN_ORDER]


@pytest.mark.django_db
def test_api_reference_assembly_of_24_chromosomes(anon_client, data_dir, outside):
    """(reference test: a bigBed ingested with a chromsizes tileset of 24 entries serves those 24,
    first chr1, last chrY)"""
    assembly = [(f"chr{i}", 2000 + 37 * i) for i in range(1, 23)] + [("chrX", 1500), ("chrY", 900)]
    in_file = [("chr2", 2074), ("chr11", 2407), ("chrX", 1500), ("chrUn_random", 300)]
    records = with_end_records(in_file, [("chr2", 10, 20, "a", "5", "+"), ("chr11", 0, 100, "b", "7", "-"),
                                         ("chrX", 5, 6, "c", "1", "+"), ("chrUn_random", 0, 3, "d", "1", "+")])
    path = write_bigbed(data_dir / "hg24.bb", in_file, records)
    ingest_chromsizes(outside, "hg24-sizes", assembly, "hg24")
    _ingest_bigbed(path, "bb24", coord="hg24")
    info = anon_client.get("/api/v1/tileset_info/?d=bb24").json()["bb24"]
    assert len(info["chromsizes"]) == 24
    assert info["chromsizes"][0] == ["chr1", 2037] and info["chromsizes"][-1] == ["chrY", 900]
    assert info["chromsizes"] == [list(row) for row in assembly]
    whole = anon_client.get("/api/v1/tiles/?d=bb24.0.0").json()["bb24.0.0"]
    offsets = {name: sum(length for _, length in assembly[:i]) for i, (name, _) in enumerate(assembly)}
    assert [(e["fields"][3], e["chrOffset"]) for e in whole] == [
        ("a", offsets["chr2"]), ("chr2-end", offsets["chr2"]), ("b", offsets["chr11"]), ("chr11-end", offsets["chr11"]),
        ("c", offsets["chrX"]), ("chrX-end", offsets["chrX"]),
    ]  # chrUn_random is not in the assembly: invisible


@pytest.mark.django_db
def test_api_ingest_refuses_what_is_not_a_bigbed(media, test_bb, outside, tmp_path):
    ingest_chromsizes(outside, "hgb-sizes", HGB, "hgB")
    text = write_chromsizes(outside / "not-a-bigbed.bb", HGB)
    with pytest.raises(IngestError, match="does not open as bigbed: not a bigBed file"):
        _ingest_bigbed(text, "nope")
    bw = tmp_path / "signal.bw"
    bw.write_bytes(_bigwig_bytes(tmp_path))
    with pytest.raises(IngestError, match="this is a bigWig file, not a bigBed"):
        _ingest_bigbed(bw, "nope")
    # a sound bigBed whose chromosomes are not those of the assembly
    other = write_bigbed(tmp_path / "other.bb", [("chrQ", 100)], [("chrQ", 0, 100, "q", "1", "+")])
    with pytest.raises(IngestError, match="do not match the chromsizes"):
        _ingest_bigbed(other, "nope")
    assert list(Tileset.objects.values_list("uuid", flat=True)) == ["hgb-sizes"]
    assert uploads(media) == ["hgb-sizes.tsv"]


# --- optional: byte-for-byte against clodius ------------------------------------------------

CLODIUS_SCRIPT = r"""
import json, sys
import clodius.tiles.bigbed as bb
import clodius.tiles.bigwig as bw
""" + clodius_abs2genomic("bb") + r"""
path, ids, chromsizes = json.loads(sys.argv[1])
info = bw.tileset_info(path, chromsizes)  # what higlass-server calls for bigbed
if "chromsizes" in info:
    info["chromsizes"] = [(c, int(s)) for c, s in info["chromsizes"]]
out = {}
for tile_id in ids:
    try:
        out[tile_id] = json.dumps(bb.tiles(path, [tile_id], chromsizes=chromsizes)[0][1])
    except Exception as exc:
        out[tile_id] = "HTTP 500: " + type(exc).__name__
print(json.dumps([json.dumps(info), out]))
"""


@needs_clodius
@pytest.mark.parametrize("layout", ["assembly", "own"])
def test_byte_for_byte_against_clodius(test_bb, layout):
    """The reference's keys of each entry, byte for byte, wherever the reference is deterministic
    (no piece over 200 records); where a piece is thresholded to 200 or fewer the reference
    returns nothing for it (see bigbed.py), and sampled pieces differ by chance."""
    path, records = test_bb
    rows = HGB if layout == "assembly" else OWN_ORDER
    chromsizes = [list(r) for r in HGB] if layout == "assembly" else None
    ids = [f"u.{z}.{x}" + mode for z in range(6) for x in range(2 ** z + 1) for mode in ("", ".significant")]
    info, reference = run_clodius(CLODIUS_SCRIPT, str(path), ids, chromsizes)
    source = Source(str(path), context={"chromsizes": [tuple(r) for r in chromsizes]} if chromsizes else {})
    assert json.dumps(bigbed.tileset_info(source)) == info
    ours = bigbed.tiles(source, [tile_request(i) for i in ids], None)
    compared = differ = 0
    for tile_id in ids:
        z, x = map(int, tile_id.split(".")[1:3])
        if z > 4:
            assert reference[tile_id].startswith("HTTP 500") and "beyond" in ours[tile_id]["error"]
            continue
        stripped = [{k: e[k] for k in ("chrOffset", "importance", "fields")} for e in ours[tile_id]]
        pieces = expected_pieces(rows, records, z, x)
        if all(len(found) <= MAX for _, _, found in pieces):
            assert json.dumps(stripped) == reference[tile_id], tile_id
            compared += 1
            continue
        theirs = json.loads(reference[tile_id])
        for _name, offset, found in pieces:  # piece by piece (one chromosome each)
            mine = [e for e in stripped if e["chrOffset"] == offset]
            ref = [e for e in theirs if e["chrOffset"] == offset]
            least = threshold(found) if len(found) > MAX else None
            kept = [{k: entry(r, offset)[k] for k in ("chrOffset", "importance", "fields")} for r in found
                    if least is None or score(r) >= least]
            if len(found) <= MAX:
                assert mine == ref == kept
            elif len(kept) <= MAX:  # the reference's empty branch; ours keeps them
                assert ref == [] and mine == kept
                differ += 1
            else:  # both sample 200 of the thresholded records, in file order
                for sample in (mine, ref):
                    indexes = [kept.index(e) for e in sample]
                    assert len(sample) == MAX and indexes == sorted(set(indexes))
    assert compared > 40 and differ > 0


def test_pybbi_opens_the_file_the_check_read(test_bb, tmp_path):
    """The bigBed is opened by pybbi through the descriptor the structure check read: a file
    swapped in at the same path meanwhile is not what pybbi opens."""
    import bbi

    from tilesets.formats.bbifile import inspect_bigbed

    path = tmp_path / "swapped.bb"
    with open(test_bb[0], "rb") as original:
        path.write_bytes(original.read())
    other = tmp_path / "other.bb"
    other.write_bytes(b"not a bigBed at all")

    def swap_then_open(checked):
        os.replace(other, path)  # the path now names a file that was never checked
        assert checked != str(path)
        return bbi.open(checked)

    handle = inspect_bigbed(str(path), deep=False, then=swap_then_open)
    assert handle.is_bigbed and handle.chromsizes == bbi.chromsizes(str(test_bb[0]))
    assert path.read_bytes() == b"not a bigBed at all"
