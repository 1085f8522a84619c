"""The columns of a BAM tile, one entry per read, as the higlass-pileup track reads them (the
layout of the reference server: higlass-server with clodius and pysam).

``variants`` lists the mismatches the read's MD tag marks, ``cigars`` its X/I/D/N operations and
clips; both as the reference computes them, found without building every aligned pair.
"""

import re

COLUMNS = ("id", "from", "to", "md", "chrName", "chrOffset", "cigar", "m1From", "m1To", "m2From", "m2To",
           "mapq", "tags.HP", "strand", "variants", "cigars")

_DELETIONS = re.compile(r"\^[A-Za-z]*")
_LETTER = re.compile(r"[A-Za-z]")



def cigar_substitutions(read):
    """``[(position, op, length)]`` as the reference lists them: X, I, D, N ops along the read,
    then soft/hard clips at either end (positions relative to the chromosome)."""
    tuples = read.cigartuples
    if not tuples:
        return []
    start = read.reference_start
    end = start + read.query_length
    subs, at = [], 0
    for op, length in tuples:
        if op == 8:  # X
            subs.append((start + at, "X", length))
            at += length
        elif op == 1:  # I
            subs.append((start + at, "I", length))
        elif op == 2:  # D
            subs.append((start + at, "D", length))
            at += length
        elif op == 3:  # N
            subs.append((start + at, "N", length))
            at += length
        elif op in (0, 7):  # M, =
            at += length
    (first_op, first_length), (last_op, last_length) = tuples[0], tuples[-1]
    if first_op == 4:
        subs.append((start - first_length, "S", first_length))
    if first_op == 5:
        subs.append((start - first_length, "H", first_length))
    if last_op == 4:
        subs.append((end - last_length, "S", last_length))
    if last_op == 5:
        subs.append((end, "H", last_length))
    return subs


_MD_TOKEN = re.compile(r"(\d+)|\^([A-Za-z]*)|([A-Za-z])")


def md_mismatches(tuples, reference_start, md, query_length):
    """``[(query_pos, ref_pos)]`` of the mismatch letters of an MD tag that agrees exactly with
    the cigar (its deletions are the D ops, its bases the M/=/X bases); else None.

    This is what pysam's ``get_aligned_pairs(with_seq=True, matches_only=True)`` marks lowercase,
    found without building the pairs of every base."""
    matches, deletions = [], []  # (md start, md end, query start, reference start)
    k = q = 0
    r = reference_start
    for op, length in tuples:
        if op in (0, 7, 8):
            matches.append((k, k + length, q, r))
            k, q, r = k + length, q + length, r + length
        elif op == 2:
            deletions.append((k, length))
            k, r = k + length, r + length
        elif op == 3:
            r += length
        elif op in (1, 4):
            q += length
    if q != query_length:
        return None
    total, k, at, segment, found, out = k, 0, 0, 0, [], []
    for token in _MD_TOKEN.finditer(md):
        if token.start() != at:
            return None
        at = token.end()
        number, deleted, letter = token.groups()
        if number is not None:
            k += int(number)
        elif deleted is not None:
            found.append((k, len(deleted)))
            k += len(deleted)
        else:
            while segment < len(matches) and matches[segment][1] <= k:
                segment += 1
            if segment == len(matches) or matches[segment][0] > k:
                return None
            md_start, _, q0, r0 = matches[segment]
            out.append((q0 + k - md_start, r0 + k - md_start))
            k += 1
    if at != len(md) or k != total or found != [d for d in deletions if d[1]]:
        return None
    return out


def variants(read, sequence, md, start, end):
    """``[(query_pos, ref_pos, query_base)]`` of the mismatches the MD tag marks, at reference
    positions in ``[start, end]`` (both included, as the reference filters them)."""
    if md is None:
        return []  # pysam cannot build the reference without MD: the reference answers []
    if isinstance(md, str):
        if not _LETTER.search(_DELETIONS.sub("", md)):
            return []  # no mismatch letters: nothing pysam would mark lowercase
        found = md_mismatches(read.cigartuples or (), read.reference_start, md, len(sequence))
        if found is not None:
            return [(qpos, rpos, sequence[qpos]) for qpos, rpos in found if start <= rpos <= end]
    try:  # an MD tag that does not fit the cigar: whatever pysam makes of it
        pairs = read.get_aligned_pairs(with_seq=True, matches_only=True)
    except (ValueError, AssertionError):  # no MD / "Invalid MD tag" (the reference fails: HTTP 500)
        return []
    return [(qpos, rpos, sequence[qpos]) for qpos, rpos, base in pairs
            if start <= rpos <= end and base is not None and base.islower()]


def empty_tile():
    return {column: [] for column in COLUMNS}


def add_reads(columns, reads, chr_offset, start, end):
    """Append the mapped ``reads`` of one chromosome piece ``[start, end)`` to ``columns``."""
    for read in reads:
        if read.is_unmapped:
            continue
        suffix = ""
        if read.is_paired:
            if read.is_read1:
                suffix = "_1"
            if read.is_read2:
                suffix = "_2"
        reference_start = read.reference_start
        reference_end = read.reference_end
        md = read.get_tag("MD") if read.has_tag("MD") else None
        sequence = read.query_sequence
        columns["id"].append(read.query_name + suffix)
        columns["from"].append(reference_start + chr_offset)
        columns["to"].append((reference_end if reference_end is not None else reference_start) + chr_offset)
        columns["md"].append(md if md is not None else "")
        columns["chrName"].append(read.reference_name)
        columns["chrOffset"].append(chr_offset)
        columns["cigar"].append(read.cigarstring)
        columns["mapq"].append(read.mapping_quality)
        columns["tags.HP"].append(read.get_tag("HP") if read.has_tag("HP") else 0)
        columns["strand"].append("-" if read.is_reverse else "+")
        columns["variants"].append(variants(read, sequence, md, start, end) if sequence else [])
        columns["cigars"].append(cigar_substitutions(read))
