"""Demo reads for ``make run``: a small coordinate-sorted, indexed BAM on hg38 (synthetic, seeded).

Paired 100 bp reads from 300 bp fragments on ``chr1:11,000,000-11,100,000`` (a random reference
for that region, the same for every read) with sequencing errors, two haplotypes of SNPs (``HP``
tag 1/2), a few small insertions and deletions, soft-clipped ends and correct ``MD`` tags, so the
pileup track shows mismatches, indels, clips and strands. The header lists the hg38 primary
chromosomes (:data:`demo.assembly.HG38`).
"""

import bisect
import math
import os
import random
from pathlib import Path

from .assembly import HG38, SEED

REGION = ("chr1", 11_000_000, 11_100_000)
FRAGMENTS = 3000  # two reads each: ~6x coverage
READ_LENGTH = 100
FRAGMENT_LENGTH = 300
ERROR_RATE = 0.01


class _Haplotype(list):
    """Sorted SNP positions (region coordinates) with their alternative bases."""

    def __init__(self):
        super().__init__()
        self.alternatives = {}


def md_tag(reference, position, sequence, cigar):
    """The MD tag of a read (SAM spec) whose alignment starts at ``position`` of ``reference``:
    matches as counts, mismatched and deleted reference bases as letters (deletions after ``^``);
    skipped regions and clips are not in it. Also used by the tests' and the benchmark's BAMs."""
    md, matches, ref_at, query_at = [], 0, position, 0
    for op, length in cigar:
        if op in (0, 7, 8):  # M, =, X
            for k in range(length):
                if reference[ref_at + k].upper() == sequence[query_at + k].upper():
                    matches += 1
                else:
                    md.extend([str(matches), reference[ref_at + k].upper()])
                    matches = 0
            ref_at += length
            query_at += length
        elif op in (1, 4):  # I, S
            query_at += length
        elif op == 2:  # D
            md.extend([str(matches), "^" + reference[ref_at:ref_at + length].upper()])
            matches = 0
            ref_at += length
        elif op == 3:  # N
            ref_at += length
    md.append(str(matches))
    return "".join(md)


def _read(rng, reference, haplotype, start, reverse):
    """(cigar tuples, query, reference span) of one read starting at ``start`` of the region."""
    other = {base: [b for b in "ACGT" if b != base] for base in "ACGT"}
    roll = rng.random()
    if roll < 0.04:  # a deletion
        left, gap = rng.randrange(20, 80), rng.randrange(1, 6)
        cigar = [(0, left), (2, gap), (0, READ_LENGTH - left)]
    elif roll < 0.08:  # an insertion
        left, extra = rng.randrange(20, 80), rng.randrange(1, 5)
        cigar = [(0, left), (1, extra), (0, READ_LENGTH - left - extra)]
    elif roll < 0.12:  # a clipped end (adapter)
        clip = rng.randrange(5, 25)
        cigar = [(0, READ_LENGTH - clip), (4, clip)] if reverse else [(4, clip), (0, READ_LENGTH - clip)]
    else:
        cigar = [(0, READ_LENGTH)]
    query, ref_at = [], start
    for op, length in cigar:
        if op == 0:
            bases = list(reference[ref_at:ref_at + length])
            first, last = bisect.bisect_left(haplotype, ref_at), bisect.bisect_left(haplotype, ref_at + length)
            for position in haplotype[first:last]:
                bases[position - ref_at] = haplotype.alternatives[position]
            at = -1
            while True:  # sequencing errors: geometric gaps between them
                at += 1 + int(math.log(1.0 - rng.random()) / math.log(1.0 - ERROR_RATE))
                if at >= length:
                    break
                bases[at] = rng.choice(other[bases[at]])
            query.extend(bases)
            ref_at += length
        elif op in (1, 4):
            query.extend(rng.choices("ACGT", k=length))
        elif op == 2:
            ref_at += length
    return cigar, "".join(query), ref_at - start


def write_bam(path):
    """Write the demo BAM to ``path`` and its index to ``path + ".bai"``; returns ``path``."""
    import pysam

    path = Path(path)
    chrom, begin, end = REGION
    rng = random.Random(SEED + 3)
    reference = "".join(rng.choices("ACGT", k=end - begin + 200))
    snps = sorted(rng.sample(range(end - begin), 60))
    haplotypes = (_Haplotype(), _Haplotype())
    for position in snps:
        alternative = rng.choice([b for b in "ACGT" if b != reference[position]])
        for which in ((0, 1) if rng.random() < 0.3 else (rng.randrange(2),)):
            haplotypes[which].append(position)
            haplotypes[which].alternatives[position] = alternative

    header = {"HD": {"VN": "1.6", "SO": "unsorted"}, "SQ": [{"SN": name, "LN": length} for name, length in HG38]}
    tid = [name for name, _ in HG38].index(chrom)
    unsorted = path.with_name(path.name + ".unsorted.tmp")
    try:
        with pysam.AlignmentFile(str(unsorted), "wb", header=header) as out:
            for number in range(FRAGMENTS):
                fragment = rng.randrange(0, end - begin - FRAGMENT_LENGTH)
                which = rng.randrange(2)
                mates = []
                for first, at, reverse in ((True, fragment, False),
                                           (False, fragment + FRAGMENT_LENGTH - READ_LENGTH, True)):
                    cigar, query, span = _read(rng, reference, haplotypes[which], at, reverse)
                    mates.append((first, at, reverse, cigar, query, span))
                if rng.random() < 0.5:  # which mate maps forward
                    mates = [(first, at, not reverse, cigar, query, span)
                             for first, at, reverse, cigar, query, span in mates]
                for first, at, reverse, cigar, query, span in mates:
                    mate = next(m for m in mates if m[0] != first)
                    read = pysam.AlignedSegment(out.header)
                    read.query_name = f"frag{number:05d}"
                    read.flag = 1 | 2 | (64 if first else 128) | (16 if reverse else 0) | (32 if mate[2] else 0)
                    read.reference_id = read.next_reference_id = tid
                    read.reference_start = begin + at
                    read.next_reference_start = begin + mate[1]
                    read.template_length = FRAGMENT_LENGTH if at < mate[1] else -FRAGMENT_LENGTH
                    read.mapping_quality = rng.choice((60, 60, 60, 40, 20, 0))
                    read.cigartuples = cigar
                    read.query_sequence = query
                    read.query_qualities = pysam.qualitystring_to_array("".join(rng.choices("FFFFFF:,", k=len(query))))
                    read.set_tags([("MD", md_tag(reference, at, query, cigar)), ("HP", which + 1)])
                    out.write(read)
        pysam.sort("-o", str(path), str(unsorted))
    finally:
        if unsorted.exists():
            os.unlink(unsorted)
    pysam.index(str(path), str(path) + ".bai")
    return path
