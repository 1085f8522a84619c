"""FASTA and BAM files for the fasta/bam tests, written by the tests.

A seeded random genome (mixed case: soft-masked runs in lowercase, runs of N) is written as FASTA
text; reads are simulated from it (cigars with soft/hard clips, insertions, deletions, skips,
``=``/``X`` ops, mismatches with a correct MD tag; pairs, reverse strands, secondary and
supplementary alignments, unmapped reads placed beside their mate and unplaced ones) and written
as a BAM with pysam, then sorted and indexed with pysam.

Nothing here uses the generators' code; the expected tiles are computed in the tests from the
written text and from plain pysam calls.
"""

import random
from pathlib import Path

import pysam

from demo.reads import md_tag

# Header order of the test BAM (not the natural one) and the FASTA's sequences.
GENOME = [("chr10", 2000), ("chr2", 3000), ("chr1", 5000), ("chrX", 1500), ("chrM", 300), ("chrUn_x", 200)]
NATURAL = ["chr1", "chr2", "chr10", "chrX", "chrM", "chrUn_x"]

_OPS = {"M": 0, "I": 1, "D": 2, "N": 3, "S": 4, "H": 5, "=": 7, "X": 8}


def random_genome(rows=GENOME, seed=3):
    """``{name: sequence}``: ACGT with lowercase (soft-masked) runs and a few runs of N."""
    rng = random.Random(seed)
    genome = {}
    for name, length in rows:
        bases = [rng.choice("ACGT") for _ in range(length)]
        for _ in range(max(1, length // 400)):
            start = rng.randrange(length)
            for i in range(start, min(length, start + rng.randrange(5, 60))):
                bases[i] = bases[i].lower()
        if length > 100:
            start, run = rng.randrange(length - 20), rng.randrange(1, 15)
            bases[start:start + run] = ["N"] * run
        genome[name] = "".join(bases)
    return genome


def write_fasta(path, genome, order=None, width=60, newline="\n", description=True):
    """FASTA text with ``width`` bases per line (the last line of a sequence may be shorter)."""
    path = Path(path)
    lines = []
    for i, name in enumerate(order or list(genome)):
        sequence = genome[name]
        lines.append(f">{name}" + (f" test sequence {i}" if description else ""))
        lines.extend(sequence[at:at + width] for at in range(0, len(sequence), width))
    path.write_bytes((newline.join(lines) + newline).encode())
    return path


# --- reads ---------------------------------------------------------------------------------------


def _cigar_tuples(text):
    tuples, number = [], ""
    for char in text:
        if char.isdigit():
            number += char
        else:
            tuples.append((_OPS[char], int(number)))
            number = ""
    return tuples


def reference_span(tuples):
    return sum(length for op, length in tuples if op in (0, 2, 3, 7, 8))


def _other(rng, base):
    return rng.choice([b for b in "ACGT" if b != base.upper()])


def _query(rng, reference, position, tuples, mismatch_rate):
    """A read sequence for ``tuples`` at ``position``: reference bases (uppercase) with random
    mismatches in M, exact in =, always different in X, random in I and S."""
    sequence, ref_at = [], position
    for op, length in tuples:
        if op in (0, 7, 8):
            for k in range(length):
                base = reference[ref_at + k].upper()
                if op == 8 or (op == 0 and rng.random() < mismatch_rate):
                    base = _other(rng, base)
                sequence.append(base)
            ref_at += length
        elif op in (1, 4):
            sequence.extend(rng.choice("ACGT") for _ in range(length))
        elif op in (2, 3):
            ref_at += length
    return "".join(sequence)


CIGARS = [
    "60M", "100M", "5S50M", "40M7S", "3S20M2I25M4D30M2S", "25M1D25M", "30M3I30M", "20M150N40M",
    "6H44M", "44M6H", "4H3S40M", "10=1X29=", "15M2D5I15M", "2S10M1I1D10M", "1S1M1S",
]


def simulate_reads(genome, header=GENOME, count=1500, seed=11, mismatch_rate=0.03):
    """Read records (dicts) on ``genome``; see the module docstring for what they cover."""
    rng = random.Random(seed)
    names = [name for name, _ in header]
    records = []
    for i in range(count):
        tid = rng.choices(range(len(names)), weights=[length for _, length in header])[0]
        name = names[tid]
        cigar = rng.choice(CIGARS)
        tuples = _cigar_tuples(cigar)
        span = reference_span(tuples)
        length = len(genome[name])
        if span >= length:
            cigar, tuples = "20M", _cigar_tuples("20M")
            span = 20
        position = rng.randrange(0, length - span + 1)
        if i % 97 == 0:
            position = length - span  # ends exactly at the chromosome end
        if i % 89 == 0:
            position = 0
        sequence = _query(rng, genome[name], position, tuples, mismatch_rate)
        flag = 0
        if rng.random() < 0.5:
            flag |= 16
        kind = i % 10
        if kind in (1, 2):
            flag |= 1 | (64 if kind == 1 else 128)
        elif kind == 3:
            flag |= 256
        elif kind == 4 and i % 20 == 4:
            flag |= 2048
        tags = []
        if i % 13 != 0:
            tags.append(("MD", md_tag(genome[name], position, sequence, tuples)))
        if i % 5 == 0:
            tags.append(("HP", 1 + i % 2))
        if i % 7 == 0:
            tags.append(("NM", 1))
        records.append({
            "name": f"read{i:05d}", "flag": flag, "tid": tid, "pos": position, "cigar": cigar,
            "seq": None if i % 31 == 0 else sequence, "mapq": rng.randrange(0, 61), "tags": tags,
        })
    # unmapped reads: placed beside a mapped mate (flag 4 with a position), and unplaced ones
    for i in range(40):
        tid = rng.randrange(len(names))
        records.append({
            "name": f"unmapped{i:03d}", "flag": 4 | 1 | 128, "tid": tid,
            "pos": rng.randrange(len(genome[names[tid]])), "cigar": None,
            "seq": "".join(rng.choice("ACGT") for _ in range(30)), "mapq": 0, "tags": [],
        })
    for i in range(10):
        records.append({"name": f"unplaced{i:03d}", "flag": 4, "tid": -1, "pos": -1, "cigar": None,
                        "seq": "ACGTACGTAC", "mapq": 0, "tags": []})
    return records


def bam_header(header=GENOME, sort_order="coordinate"):
    return {"HD": {"VN": "1.6", "SO": sort_order}, "SQ": [{"SN": name, "LN": length} for name, length in header]}


def write_unsorted_bam(path, records, header=GENOME, sort_order="unsorted"):
    path = Path(path)
    with pysam.AlignmentFile(str(path), "wb", header=bam_header(header, sort_order)) as out:
        for record in records:
            read = pysam.AlignedSegment(out.header)
            read.query_name = record["name"]
            read.flag = record["flag"]
            read.reference_id = record["tid"]
            read.reference_start = record["pos"]
            read.mapping_quality = record["mapq"]
            if record["cigar"]:
                read.cigarstring = record["cigar"]
            if record["seq"] is not None:
                read.query_sequence = record["seq"]
                read.query_qualities = pysam.qualitystring_to_array("I" * len(record["seq"]))
            if record["flag"] & 1:
                read.next_reference_id = record["tid"]
                read.next_reference_start = max(0, record["pos"])
            read.set_tags(record["tags"])
            out.write(read)
    return path


def write_bam(path, records, header=GENOME, index=True, csi=False):
    """A coordinate-sorted BAM of ``records`` at ``path`` (+ ``path.bai``/``.csi`` when asked)."""
    path = Path(path)
    unsorted = path.with_name(path.name + ".unsorted.bam")
    write_unsorted_bam(unsorted, records, header)
    pysam.sort("-o", str(path), str(unsorted))
    unsorted.unlink()
    if index:
        pysam.index(*(["-c"] if csi else []), str(path), str(path) + (".csi" if csi else ".bai"))
    return path
