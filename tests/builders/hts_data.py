"""Generated BAM and VCF files for the htsget tests (seeded, so every run writes the same files).

The files are big enough to span many BGZF blocks: BAMs as htslib writes them (every block starts
at a record) and re-blocked at odd sizes (records cut across block edges, as bgzip or htsjdk do);
VCFs bgzipped by htslib's writer and by ``bgzip`` (lines cut across blocks), with TBI or CSI.
"""

import gzip
import random
from pathlib import Path

import pysam

from tilesets.generators import hts

BAM_REFS = [("chr1", 300_000), ("chr2", 120_000), ("chr3", 40_000), ("chrEmpty", 10_000), ("chrM", 16_569)]
VCF_CONTIGS = [("chr1", 250_000), ("chr2", 60_000), ("chr3", 30_000), ("chrX", 50_000)]
BASES = "ACGT"
QUALS = "".join(chr(33 + q) for q in range(2, 41))


def _read(header, rng, name, tid, pos, length, spliced=False):
    segment = pysam.AlignedSegment(header)
    segment.query_name = name
    segment.query_sequence = "".join(rng.choices(BASES, k=length))
    segment.query_qualities = pysam.qualitystring_to_array("".join(rng.choices(QUALS, k=length)))
    if tid < 0:
        segment.flag = 4
        segment.reference_id = -1
        segment.reference_start = -1
        return segment
    segment.reference_id = tid
    segment.reference_start = pos
    segment.mapping_quality = rng.randrange(0, 61)
    segment.flag = rng.choice((0, 16, 99, 147))
    if spliced:  # a long intron: the read lands in a big bin
        half = length // 2
        segment.cigarstring = f"{half}M{rng.randrange(20_000, 90_000)}N{length - half}M"
    else:
        segment.cigarstring = f"{length}M"
    segment.set_tag("NM", rng.randrange(0, 5))
    segment.set_tag("RG", "rg1")
    return segment


def write_bam(path, reads_per_kb=20.0, unplaced=150, placed_unmapped=20, seed=7, refs=BAM_REFS,
              index="bai", reblock=None):
    """A coordinate-sorted BAM with reads on the first three references, none on ``chrEmpty``,
    a few reads at the very ends of the references, placed-but-unmapped reads, some spliced reads
    that span tens of kb, and ``unplaced`` unmapped reads at the end.

    ``reblock``: rewrite the BGZF stream in blocks of that many bytes (records then straddle
    blocks). ``index``: "bai", "csi" or None. Returns the path.
    """
    rng = random.Random(seed)
    path = Path(path)
    header = {"HD": {"VN": "1.6", "SO": "coordinate"}, "SQ": [{"SN": n, "LN": ln} for n, ln in refs],
              "RG": [{"ID": "rg1", "SM": "sample"}]}
    target = path if reblock is None else path.with_suffix(".tmp.bam")
    with pysam.AlignmentFile(str(target), "wb", header=header) as out:
        for tid, (name, length) in enumerate(refs):
            if name in ("chrEmpty", "chrM"):
                continue
            rows = []
            for i in range(int(length / 1000 * reads_per_kb)):
                size = rng.randrange(50, 151)
                rows.append((rng.randrange(0, length - size), size, rng.random() < 0.02))
            rows += [(0, 100, False), (length - 100, 100, False), (length - 1, 1, False)]  # the ends
            for i in range(placed_unmapped if tid == 0 else 0):
                rows.append((rng.randrange(0, length - 1), -1, False))
            rows.sort(key=lambda r: r[0])
            for i, (pos, size, spliced) in enumerate(rows):
                if size < 0:  # placed but unmapped: RNAME/POS of its mate, no CIGAR
                    seg = _read(out.header, rng, f"{name}_u{i}", -1, 0, 60)
                    seg.reference_id = tid
                    seg.reference_start = pos
                    out.write(seg)
                    continue
                if spliced and pos + size + 90_000 >= length:
                    spliced = False
                out.write(_read(out.header, rng, f"{name}_r{i}", tid, pos, size, spliced))
        for i in range(unplaced):
            out.write(_read(out.header, rng, f"unplaced{i}", -1, 0, rng.randrange(40, 120)))
    if reblock is not None:
        data = gzip.decompress(target.read_bytes())
        path.write_bytes(hts.compress(data, block_data=reblock) + hts.EOF_BLOCK)
        target.unlink()
    if index == "bai":
        pysam.index(str(path), str(path) + ".bai")
    elif index == "csi":
        pysam.index("-c", str(path), str(path) + ".csi")
    return path


def vcf_text(records_per_kb=20.0, seed=11, contigs=VCF_CONTIGS, declared_extra=("chrDeclared",), svs=True):
    """A sorted VCF (text): SNVs, a few long deletions with INFO/END, records at contig ends;
    ``chrX`` has no records (declared only), ``chrDeclared`` is declared without a length."""
    rng = random.Random(seed)
    lines = ["##fileformat=VCFv4.2", '##INFO=<ID=END,Number=1,Type=Integer,Description="End position">',
             '##INFO=<ID=DP,Number=1,Type=Integer,Description="Depth">',
             '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">']
    lines += [f"##contig=<ID={name},length={length}>" for name, length in contigs]
    lines += [f"##contig=<ID={name}>" for name in declared_extra]
    lines.append("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\tS2")
    for name, length in contigs:
        if name == "chrX":
            continue
        rows = [(rng.randrange(1, length + 1), None) for _ in range(int(length / 1000 * records_per_kb))]
        rows += [(1, None), (length, None)]
        if svs:
            for _ in range(3):
                start = rng.randrange(1, max(2, length - 30_000))
                rows.append((start, start + rng.randrange(5_000, 30_000)))
        rows.sort(key=lambda r: r[0])
        for pos, end in rows:
            ref = rng.choice(BASES)
            if end is None:
                alt, info = rng.choice([b for b in BASES if b != ref]), f"DP={rng.randrange(1, 99)}"
            else:
                alt, info = "<DEL>", f"END={end};DP={rng.randrange(1, 99)}"
            gts = "\t".join(rng.choice(("0/0", "0/1", "1/1")) for _ in range(2))
            lines.append(f"{name}\t{pos}\t.\t{ref}\t{alt}\t{rng.randrange(10, 99)}\tPASS\t{info}\tGT\t{gts}")
    return "\n".join(lines) + "\n"


def write_vcf(path, style="bgzip", index="tbi", **options):
    """A bgzipped VCF at ``path`` (.vcf.gz): ``style`` "bgzip" (lines cut across blocks, odd block
    sizes), or "htslib" (written by pysam, blocks aligned with lines). ``index``: "tbi", "csi", None."""
    path = Path(path)
    text = vcf_text(**options)
    if style == "htslib":
        plain = path.with_suffix(".plain.vcf")
        plain.write_text(text)
        with pysam.VariantFile(str(plain)) as src, pysam.VariantFile(str(path), "wz", header=src.header) as out:
            for record in src:
                out.write(record)
        plain.unlink()
    else:
        path.write_bytes(hts.compress(text.encode(), block_data=9_973) + hts.EOF_BLOCK)
    if index:
        pysam.tabix_index(str(path), preset="vcf", index=f"{path}.{index}", csi=index == "csi", force=True)
    return path


def write_plain_vcf(path, unsorted=False):
    text = vcf_text(records_per_kb=0.2)
    if unsorted:
        head, *rows = text.split("#CHROM")
        body = rows[0].splitlines()
        body[2], body[5] = body[5], body[2]
        text = head + "#CHROM" + "\n".join(body) + "\n"
    Path(path).write_text(text)
    return Path(path)


def write_bcf(path, vcf_gz):
    """A BCF with the records of a bgzipped VCF."""
    previous = pysam.set_verbosity(0)  # no complaint about the index it does not need
    with pysam.VariantFile(str(vcf_gz)) as src, pysam.VariantFile(str(path), "wb", header=src.header) as out:
        for record in src:
            out.write(record)
    pysam.set_verbosity(previous)
    return Path(path)


def write_cram(path, bam, reference_lengths=BAM_REFS):
    """A CRAM of ``bam`` against a generated reference (all A's; only the header matters here)."""
    fasta = Path(str(path) + ".ref.fa")
    with open(fasta, "w") as handle:
        for name, length in reference_lengths:
            handle.write(f">{name}\n")
            for start in range(0, length, 60):
                handle.write("A" * min(60, length - start) + "\n")
    pysam.faidx(str(fasta))
    with pysam.AlignmentFile(str(bam)) as src, \
            pysam.AlignmentFile(str(path), "wc", template=src, reference_filename=str(fasta)) as out:
        for i, read in enumerate(src.fetch(until_eof=True)):
            if i >= 200:
                break
            out.write(read)
    return Path(path)


def assemble(path, pieces):
    """What a client gets from ``hts.plan_pieces`` output: the ranges read from the file, inline data as is."""
    out = bytearray()
    with open(path, "rb") as handle:
        for piece in pieces:
            if piece[0] == "range":
                handle.seek(piece[1])
                out += handle.read(piece[2] - piece[1])
            else:
                out += piece[1]
    return bytes(out)


def bam_records(path, region=None, index=None):
    """Records (SAM text) of a BAM: every one, or those pysam fetches for ``(name, start, end)``;
    ``("*", ...)`` gives the unplaced reads."""
    with pysam.AlignmentFile(str(path), index_filename=index and str(index)) as reads:
        if region is None:
            return [r.to_string() for r in reads.fetch(until_eof=True)]
        if region[0] == "*":
            return [r.to_string() for r in reads.fetch(until_eof=True) if r.reference_id < 0]
        return [r.to_string() for r in reads.fetch(region[0], region[1], region[2])]


def vcf_records(path, region=None, index=None):
    with pysam.VariantFile(str(path), index_filename=index and str(index)) as variants:
        if region is None:
            return [str(r) for r in variants]
        if region[0] not in variants.index:
            return []
        return [str(r) for r in variants.fetch(region[0], region[1], region[2])]


def downloaded_records(data, kind, region, folder):
    """Index a downloaded BAM/VCF and read the region's records from it, as from the original."""
    suffix = ".bam" if kind == "BAM" else ".vcf.gz"
    path = Path(folder) / f"download{suffix}"
    path.write_bytes(data)
    if region is None or region[0] == "*":
        return bam_records(path, region) if kind == "BAM" else vcf_records(path)
    if kind == "BAM":
        pysam.index(str(path))
        return bam_records(path, region)
    pysam.tabix_index(str(path), preset="vcf", force=True)
    return vcf_records(path, region)


_SHARED = {}


def shared_files():
    """The generated files of the API and end-to-end tests, written once per test run."""
    if not _SHARED:
        import atexit
        import shutil
        import tempfile

        folder = Path(tempfile.mkdtemp(prefix="hgs-hts-"))
        atexit.register(shutil.rmtree, folder, True)
        _SHARED["folder"] = folder
        _SHARED["bam"] = write_bam(folder / "reads.bam", reblock=40_009)  # records cut across blocks, .bai
        _SHARED["vcf"] = write_vcf(folder / "variants.vcf.gz", index=None)  # index built at ingest
        _SHARED["bcf"] = write_bcf(folder / "variants.bcf", write_vcf(folder / "for-bcf.vcf.gz", index=None))
        _SHARED["cram"] = write_cram(folder / "reads.cram", _SHARED["bam"])
    return dict(_SHARED)


def ga4gh_client():
    """The PyPI ``htsget`` client package (its ``get`` and exceptions).

    Its import name, ``htsget``, is also this project's Django app, which comes first on the path.
    The client is therefore imported with its own site-packages folder put first and the app's
    modules set aside for the moment, then the app's modules are put back; the client's modules
    keep working from the references they took at import.
    """
    import importlib
    import sys
    from importlib.metadata import distribution

    site = str(distribution("htsget").locate_file(""))
    ours = {name: module for name, module in sys.modules.items() if name == "htsget" or name.startswith("htsget.")}
    for name in ours:
        del sys.modules[name]
    sys.path.insert(0, site)
    try:
        client = importlib.import_module("htsget")
        exceptions = importlib.import_module("htsget.exceptions")
    finally:
        sys.path.remove(site)
        for name in [n for n in sys.modules if n == "htsget" or n.startswith("htsget.")]:
            del sys.modules[name]
        sys.modules.update(ours)
    assert hasattr(client, "get") and not hasattr(client, "default_app_config") and "site-packages" in client.__file__
    return client, exceptions
