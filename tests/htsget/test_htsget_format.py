"""The pure format code behind htsget (tilesets/formats, htsget/planning.py) checked against pysam on generated
BAM/VCF/BCF files: BGZF blocks, BAI/TBI/CSI parsing, region chunks, edge blocks, header ends."""

import gzip
import random

import pysam
import pytest

from htsget import planning
from tests.builders import hts_data
from tests.builders.hts_data import BAM_REFS, assemble, bam_records, downloaded_records, vcf_records
from tilesets.generators import hts, vcf
from tilesets.generators.base import GeneratorError, Source


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hts")
    return {
        "folder": folder,
        "bam": hts_data.write_bam(folder / "htslib.bam"),  # blocks start at records, .bai
        "bam_cut": hts_data.write_bam(folder / "cut.bam", reblock=30_011, index="csi", seed=8),  # records cut
        "vcf": hts_data.write_vcf(folder / "bgzip.vcf.gz"),  # lines cut across blocks, .tbi
        "vcf_htslib": hts_data.write_vcf(folder / "htslib.vcf.gz", style="htslib", index="csi"),
    }


def region_bytes(path, facts, index, regions):
    chunks = []
    for name, start, end in regions:
        if name == "*":
            chunks.append((max(facts["header_end"], index.placed_end), facts["data_end"]))
            continue
        ref_id = index.name_ids.get(name) if index.names is not None else \
            [n for n, _ in facts["references"]].index(name)
        chunks.extend(index.chunks(ref_id, start, end))
    spans = planning.clip_chunks(planning.merge_chunks(chunks), facts["header_end"], facts["data_end"])
    with open(path, "rb") as handle:
        pieces = planning.plan_pieces(handle, [(0, facts["header_end"])]) + planning.plan_pieces(handle, spans)
    return assemble(path, pieces) + hts.EOF_BLOCK


# --- BGZF ----------------------------------------------------------------------------------


def test_compress_round_trip_and_eof():
    data = random.Random(1).randbytes(200_000)
    blocks = hts.compress(data)
    assert gzip.decompress(blocks) == data
    assert hts.compress(b"") == b""
    assert gzip.decompress(hts.EOF_BLOCK) == b""
    assert len(hts.EOF_BLOCK) == 28


def test_blocks_of_a_written_file(files):
    with open(files["bam_cut"], "rb") as handle:
        blocks = list(hts.iter_blocks(handle))
    assert len(blocks) > 60  # many blocks, records cut across their edges
    assert all(len(data) == 30_011 for _, _, data in blocks[:-2])
    assert blocks[-1][2] == b"" and hts.has_eof_block(files["bam_cut"])
    assert b"".join(data for _, _, data in blocks) == gzip.decompress(files["bam_cut"].read_bytes())


def test_not_bgzf(tmp_path):
    plain = tmp_path / "x.gz"
    plain.write_bytes(gzip.compress(b"hello"))
    assert not hts.is_bgzf(plain)
    with open(plain, "rb") as handle, pytest.raises(GeneratorError, match="no BGZF block at byte 0"):
        hts.read_block(handle, 0)


# --- indexes -------------------------------------------------------------------------------


def test_reg2bins_known_values():
    assert hts.reg2bins(0, 1) == [0, 1, 9, 73, 585, 4681]
    assert hts.reg2bins(0, 1 << 14) == [0, 1, 9, 73, 585, 4681]
    assert hts.reg2bins(0, (1 << 14) + 1) == [0, 1, 9, 73, 585, 4681, 4682]
    assert hts.reg2bins((1 << 29) - 1, 1 << 29) == [0, 8, 72, 584, 4680, 37448]
    assert len(hts.reg2bins(0, 1 << 29)) == 37449
    assert hts.reg2bins(5, 5) == []
    assert hts.pseudo_bin(5) == 37450


@pytest.mark.parametrize("kind", ["bam", "bam_cut"])
def test_bam_index_matches_pysam(files, kind):
    path = files[kind]
    index_path = f"{path}.bai" if kind == "bam" else f"{path}.csi"
    index = hts.load_index(index_path)
    assert index.kind == ("bai" if kind == "bam" else "csi")
    assert (index.min_shift, index.depth) == (14, 5) or index.kind == "csi"
    assert len(index.refs) == len(BAM_REFS) and not index.refs[3].n_bins  # chrEmpty has no bin
    stats = {line.split("\t")[0]: int(line.split("\t")[3]) for line in pysam.idxstats(str(path)).splitlines()}
    assert index.n_no_coor == stats["*"] == 150
    facts = hts.bam_facts(Source(str(path), index_path))["htsget"]
    assert facts["references"] == [list(r) for r in BAM_REFS]
    with pysam.AlignmentFile(str(path)) as reads:
        assert facts["header_end"] == reads.tell()
    assert facts["eof"] and facts["data_end"] == (path.stat().st_size - 28) << 16
    # every chromosome whole: the chunks hold exactly the placed records of each reference
    for name, length in BAM_REFS:
        got = downloaded_records(region_bytes(path, facts, index, [(name, 0, length)]), "BAM", None,
                                 files["folder"])
        assert got == bam_records(path, (name, 0, length), index_path)


def random_regions(rng, refs, count):
    regions = []
    for _ in range(count):
        name, length = rng.choice(refs)
        start = rng.choice([0, length - 1, rng.randrange(0, length)])
        width = rng.choice([1, 10, 150, 2_000, 20_000, 200_000])
        regions.append((name, start, min(length, start + width)))
    return regions


@pytest.mark.parametrize("kind", ["bam", "bam_cut"])
def test_bam_regions_match_pysam(files, kind):
    path = files[kind]
    index_path = f"{path}.bai" if kind == "bam" else f"{path}.csi"
    index = hts.load_index(index_path)
    facts = hts.bam_facts(Source(str(path), index_path), md5=False)["htsget"]
    rng = random.Random(kind)
    regions = random_regions(rng, BAM_REFS, 25) + [
        ("chr1", 0, 1), ("chr1", 299_999, 300_000), ("chr2", 119_900, 120_000),  # chromosome ends
        ("chrEmpty", 0, 10_000), ("chrM", 0, 100), ("chr3", 40_000, 40_000),  # empty
        ("chr1", 1_000_000, 2_000_000),  # past the end
    ]
    for region in regions:
        data = region_bytes(path, facts, index, [region])
        got = downloaded_records(data, "BAM", region, files["folder"])
        assert got == bam_records(path, region, index_path), region
    unplaced = downloaded_records(region_bytes(path, facts, index, [("*", 0, 0)]), "BAM", ("*",), files["folder"])
    assert len(unplaced) == 150 and unplaced == bam_records(path, ("*",))


def test_several_regions_come_once_in_file_order(files):
    path = files["bam_cut"]
    index = hts.load_index(f"{path}.csi")
    facts = hts.bam_facts(Source(str(path), f"{path}.csi"), md5=False)["htsget"]
    regions = [("chr2", 5_000, 9_000), ("chr1", 10_000, 30_000), ("chr1", 20_000, 40_000), ("*", 0, 0)]
    data = region_bytes(path, facts, index, regions)
    got = downloaded_records(data, "BAM", None, files["folder"])
    assert len(got) == len(set(got))
    wanted = set(bam_records(path, ("chr1", 10_000, 40_000))) | set(bam_records(path, ("chr2", 5_000, 9_000))) \
        | set(bam_records(path, ("*",)))
    assert wanted <= set(got)
    everything = bam_records(path)
    assert got == sorted(got, key=everything.index)


@pytest.mark.parametrize("kind", ["vcf", "vcf_htslib"])
def test_vcf_index_and_regions_match_pysam(files, kind):
    path = files[kind]
    index_path = f"{path}.tbi" if kind == "vcf" else f"{path}.csi"
    index = hts.load_index(index_path)
    assert index.names == ["chr1", "chr2", "chr3"]  # only contigs with records
    assert index.tabix[0] == 2  # the VCF preset
    facts = hts.vcf_facts(Source(str(path), index_path))["htsget"]
    assert [name for name, _ in facts["references"]] == ["chr1", "chr2", "chr3", "chrX", "chrDeclared"]
    assert facts["references"][4] == ["chrDeclared", None]
    header_end = facts["header_end"]
    if kind == "vcf":
        assert header_end & 0xFFFF, "bgzip cuts the header mid-block"
    whole = gzip.decompress(path.read_bytes())
    first_record = whole.index(b"\nchr1\t") + 1
    assert hts.vcf_header(str(path))["text"] == whole[:first_record]
    refs = [(name, length or 1000) for name, length in facts["references"]]
    regions = random_regions(random.Random(kind), refs, 30) + [
        ("chr1", 0, 1), ("chr1", 249_999, 250_000), ("chrX", 0, 50_000), ("chrDeclared", 0, 10), ("chr2", 10, 10),
    ]
    for region in regions:
        got = downloaded_records(region_bytes(path, facts, index, [region]), "VCF", region, files["folder"])
        assert got == vcf_records(path, region, index_path), region


def test_header_alone_is_a_valid_file(files):
    for kind, fmt in (("bam_cut", "BAM"), ("vcf", "VCF")):
        path = files[kind]
        facts = (hts.bam_facts if fmt == "BAM" else hts.vcf_facts)(Source(str(path)), md5=False)["htsget"]
        with open(path, "rb") as handle:
            data = assemble(path, planning.plan_pieces(handle, [(0, facts["header_end"])])) + hts.EOF_BLOCK
        assert downloaded_records(data, fmt, None, files["folder"]) == []
        out = files["folder"] / ("header.bam" if fmt == "BAM" else "header.vcf.gz")
        out.write_bytes(data)
        if fmt == "BAM":
            with pysam.AlignmentFile(str(out)) as reads, pysam.AlignmentFile(str(path)) as original:
                assert str(reads.header) == str(original.header)
        else:
            with pysam.VariantFile(str(out)) as variants, pysam.VariantFile(str(path)) as original:
                assert str(variants.header) == str(original.header)


def test_edge_blocks_are_recompressed(files):
    path = files["bam_cut"]
    index = hts.load_index(f"{path}.csi")
    chunk = planning.merge_chunks(index.chunks(0, 50_000, 50_100))[0]
    assert chunk[0] & 0xFFFF and chunk[1] & 0xFFFF  # starts and ends inside blocks
    with open(path, "rb") as handle:
        pieces = planning.plan_pieces(handle, [chunk])
        sizes = [(offset, len(data)) for offset, _, data in hts.iter_blocks(handle)]
    assert [piece[0] for piece in pieces] == ["inline", "range", "inline"]
    assert all(hts.is_bgzf_bytes(piece[1]) for piece in pieces if piece[0] == "inline")
    got = gzip.decompress(assemble(path, pieces))
    start = sum(length for offset, length in sizes if offset < chunk[0] >> 16) + (chunk[0] & 0xFFFF)
    stop = sum(length for offset, length in sizes if offset < chunk[1] >> 16) + (chunk[1] & 0xFFFF)
    assert got == gzip.decompress(path.read_bytes())[start:stop]


def test_merge_chunks():
    a = lambda c, u: (c << 16) | u  # noqa: E731
    assert planning.merge_chunks([(a(10, 5), a(20, 0)), (a(0, 1), a(5, 0)), (a(20, 0), a(30, 3))]) == [
        (a(0, 1), a(5, 0)), (a(10, 5), a(30, 3))]
    assert planning.merge_chunks([(a(0, 1), a(5, 10)), (a(5, 20), a(6, 0))]) == [(a(0, 1), a(6, 0))]  # same block
    assert planning.merge_chunks([(a(0, 1), a(5, 10)), (a(7, 0), a(8, 0))]) == [(a(0, 1), a(5, 10)), (a(7, 0), a(8, 0))]
    assert planning.clip_chunks([(5, 10), (12, 30)], 8, 20) == [(8, 10), (12, 20)]


def test_corrupt_indexes_are_refused(files, tmp_path):
    assert hts.parse_index(b"BAI\1\0\0\0\0").refs == []
    for raw in (b"", b"XXXX", b"BAI\1\5\0\0\0", (files["bam"].parent / "htslib.bam.bai").read_bytes()[:200]):
        with pytest.raises(GeneratorError):
            hts.parse_index(raw)


def test_bcf_header_matches_pysam(files):
    bcf = hts_data.write_bcf(files["folder"] / "v.bcf", files["vcf"])
    facts = hts.bcf_facts(Source(str(bcf)))["htsget"]
    with pysam.VariantFile(str(bcf)) as variants:
        assert facts["header_end"] == variants.tell()
    assert [name for name, _ in facts["references"]][:4] == ["chr1", "chr2", "chr3", "chrX"]


# --- the VCF generator ---------------------------------------------------------------------


def test_vcf_generator_refuses_plain_and_unsorted(tmp_path):
    plain = hts_data.write_plain_vcf(tmp_path / "plain.vcf")
    with pytest.raises(GeneratorError, match="plain-text VCF: sort it and compress it with bgzip"):
        vcf.build_index(str(plain), str(tmp_path))
    assert plain.exists() and not (tmp_path / "plain.vcf.gz").exists()  # tabix did not touch it
    gz = tmp_path / "plain.vcf.gz"
    gz.write_bytes(gzip.compress(plain.read_bytes()))
    with pytest.raises(GeneratorError, match="not with bgzip"):
        vcf.validate(str(gz), None)
    unsorted = hts_data.write_plain_vcf(tmp_path / "unsorted.vcf", unsorted=True)
    pysam.tabix_compress(str(unsorted), str(unsorted) + ".gz")
    with pytest.raises(GeneratorError, match=r"not sorted \(line \d+: chr1:\d+ comes after chr1:\d+\)"):
        vcf.build_index(str(unsorted) + ".gz", str(tmp_path))


def test_vcf_generator_builds_and_checks_its_index(files, tmp_path):
    built = vcf.build_index(str(files["vcf"]), str(tmp_path))
    assert built.endswith(".vcf.gz.tbi") and hts.load_index(built).names == ["chr1", "chr2", "chr3"]
    vcf.validate(str(files["vcf"]), built)
    with pytest.raises(GeneratorError, match="not a tabix index"):
        vcf.validate(str(files["vcf"]), f"{files['bam']}.bai")
    info = vcf.tileset_info(Source(str(files["vcf"])))
    assert info["max_pos"] == [250_000 + 60_000 + 30_000 + 50_000]
