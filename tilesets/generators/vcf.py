"""VCF: bgzipped, coordinate-sorted variant files, served by region through htsget (no tiles).

* The file must be BGZF-compressed (``bgzip`` or ``bcftools view -Oz``); a plain or plain-gzip VCF
  is refused with a one-line hint, as is an unsorted one.
* Index: ``.tbi`` or ``.csi`` given at ingest or found beside the file; otherwise built at ingest
  with ``pysam.tabix_index`` into the server's folder (a ``.csi`` when a contig is longer than a
  ``.tbi`` can address, 2^29 - 1).
* Facts stored at ingest for htsget tickets (:func:`hts.vcf_facts`): where the header ends, the
  declared contigs, file size, EOF marker, MD5.
* ``chromsizes`` are the header's ``##contig`` lines that carry a length.
* Remote files (http(s), s3) are read through the remote layer; htslib gets the probed URL (an s3
  file as a whole local copy) with the index as a local copy. Building an index for a remote VCF
  needs a whole local copy, so it is done only up to the largest file the server copies whole.
"""

import gzip
import io
from pathlib import Path

import pysam

from ..formats import access
from ..formats.hts_headers import check_bgzipped_vcf
from . import hts
from .base import Generator, GeneratorError, HtsgetFormat
from .cram import hts_quiet

TBI_MAX = (1 << 29) - 1


def _header(datafile):
    check_bgzipped_vcf(datafile)
    return hts.vcf_header(datafile)


def _first_disorder(datafile):
    """``"chr1:10 after chr1:50"`` for the first record out of order, or None."""
    seen, last_chrom, last_pos = set(), None, -1
    with access.open_binary(datafile) as raw, io.TextIOWrapper(gzip.GzipFile(fileobj=raw), errors="replace") as handle:
        for number, line in enumerate(handle, 1):
            if line.startswith("#"):
                continue
            fields = line.split("\t", 2)
            if len(fields) < 2 or not fields[1].strip().isdigit():
                return f"line {number} is not a VCF record"
            chrom, pos = fields[0], int(fields[1])
            if chrom != last_chrom:
                if chrom in seen:
                    return f"line {number}: the records of {chrom} are not together"
                seen.add(chrom)
                last_chrom, last_pos = chrom, -1
            elif pos < last_pos:
                return f"line {number}: {chrom}:{pos} comes after {chrom}:{last_pos}"
            last_pos = pos
    return None


def build_index(datafile, folder):
    """A ``.tbi`` (``.csi`` for contigs beyond 2^29 - 1) of a bgzipped, sorted VCF, in ``folder``."""
    header = _header(datafile)
    csi = any((length or 0) > TBI_MAX for _, length in header["contigs"])
    out = Path(folder) / (access.file_name(str(datafile)) + (".csi" if csi else ".tbi"))
    local = access.local_path(str(datafile))  # a remote file: its whole copy (bounded)
    try:
        with hts_quiet():  # htslib's own complaint would reach the command's output before ours
            pysam.tabix_index(local, preset="vcf", index=str(out), csi=csi, force=True, keep_original=True)
    except (OSError, ValueError) as exc:
        disorder = _first_disorder(datafile)
        if disorder:
            raise GeneratorError(f"the VCF is not sorted ({disorder}); sort it with bcftools sort -Oz") from None
        raise GeneratorError(f"tabix could not index it: {exc}") from None
    if not out.is_file():
        raise GeneratorError("tabix wrote no index")
    return str(out)


def validate(datafile, indexfile=None):
    header = _header(datafile)
    if not indexfile:
        raise GeneratorError("a VCF needs its index (.tbi or .csi)")
    try:
        index = hts.load_index(indexfile)
    except (GeneratorError, OSError) as exc:
        raise GeneratorError(f"the index does not open: {exc}") from None
    if index.names is None:
        raise GeneratorError("the index is not a tabix index (.tbi, or .csi made by tabix/bcftools)")
    size = access.size_of(datafile)
    if (index.placed_end >> 16) > size or (index.placed_end and index.placed_end < header["header_end"]):
        raise GeneratorError("the index does not belong to this file")
    try:
        with pysam.VariantFile(access.library_name(str(datafile)),
                               index_filename=access.local_path(str(indexfile))) as variants:
            if index.names:
                next(iter(variants.fetch(index.names[0])), None)
    except (OSError, ValueError) as exc:
        raise GeneratorError(f"pysam cannot read it: {access.without_credentials(str(exc))}") from None


def chromsizes(source):
    return [(name, length) for name, length in _header(source.datafile)["contigs"] if length]


def tileset_info(source):
    """Positions along the contigs with a length (HiGlass clients do not draw VCF tiles; the
    variants are served by htsget)."""
    sizes = chromsizes(source)
    return {"min_pos": [0], "max_pos": [sum(length for _, length in sizes)],
            "chromsizes": [[name, length] for name, length in sizes]}


GENERATOR = Generator(
    filetype="vcf",
    validate=validate,
    tileset_info=tileset_info,
    chromsizes=chromsizes,
    needs_index=True,
    index_suffixes=(".tbi", ".csi"),
    build_index=build_index,
    facts=hts.vcf_facts,
    htsget=HtsgetFormat(endpoint="variants", format="VCF", ranged=True),
)
