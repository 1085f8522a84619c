"""Demo data for htsget: a small bgzipped, tabix-indexed VCF on hg38 chr1 (synthetic, seeded).

``write_vcf(path)`` writes ``path`` (``.vcf.gz``) and ``path + ".tbi"``; ingesting it with
``--filetype vcf`` finds the index beside it. The header declares every hg38 chromosome (so a
query on chr2 is a valid, empty answer); the records are SNVs and a few deletions on chr1, a
third of them in chr1:11.0-11.1 Mb, where the demo reads are.
"""

import random
from pathlib import Path

from .assembly import HG38, SEED

RECORDS = 3000
DENSE = ("chr1", 11_000_000, 11_100_000)  # the region of the demo reads (demo/reads.py)


def vcf_text(records=RECORDS):
    rng = random.Random(SEED + 7)
    lines = [
        "##fileformat=VCFv4.2",
        "##source=higlass-server-demo",
        "##reference=hg38",
        '##INFO=<ID=DP,Number=1,Type=Integer,Description="Total depth">',
        '##INFO=<ID=AF,Number=A,Type=Float,Description="Allele frequency">',
        '##INFO=<ID=END,Number=1,Type=Integer,Description="End position of the variant">',
        '##INFO=<ID=SVTYPE,Number=1,Type=String,Description="Type of structural variant">',
        '##ALT=<ID=DEL,Description="Deletion">',
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        *(f"##contig=<ID={name},length={length},assembly=hg38>" for name, length in HG38),
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tNA00001\tNA00002",
    ]
    length = dict(HG38)["chr1"]
    rows = sorted([rng.randrange(10_000, length - 10_000) for _ in range(records - records // 3)]
                  + [rng.randrange(DENSE[1] + 1, DENSE[2] + 1) for _ in range(records // 3)])
    for number, pos in enumerate(rows, 1):
        ref = rng.choice("ACGT")
        genotypes = "\t".join(rng.choice(("0/0", "0/1", "1/1")) for _ in range(2))
        if number % 500 == 0:
            end = pos + rng.randrange(1_000, 20_000)
            alt, info = "<DEL>", f"SVTYPE=DEL;END={end};DP={rng.randrange(10, 80)}"
        else:
            alt = rng.choice([base for base in "ACGT" if base != ref])
            info = f"DP={rng.randrange(10, 80)};AF={rng.randrange(1, 100) / 100}"
        lines.append(f"chr1\t{pos}\tdemo{number}\t{ref}\t{alt}\t{rng.randrange(20, 99)}\tPASS\t{info}\tGT\t{genotypes}")
    return "\n".join(lines) + "\n"


def write_vcf(path):
    """Write the demo VCF (bgzipped) at ``path`` and its tabix index at ``path + ".tbi"``."""
    import pysam

    path = Path(path)
    plain = path.with_name(path.name + ".tmp.vcf")
    plain.write_text(vcf_text())
    try:
        pysam.tabix_compress(str(plain), str(path), force=True)
    finally:
        plain.unlink(missing_ok=True)
    pysam.tabix_index(str(path), preset="vcf", index=str(path) + ".tbi", force=True)
    return path
