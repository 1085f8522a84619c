"""The BGZF family at the generator floor (BAM, bgzipped VCF, BCF; CRAM is served whole).

What the BAM/VCF/BCF/CRAM generators and the htsget service use of the formats floor — BGZF
blocks and virtual offsets, BAI/TBI/CSI indexes, the headers — and the *facts* each of these
generators stores at ingest for htsget tickets: where the header ends, the references, the file
size, whether the BGZF end-of-file block is there, and the file's MD5.
"""

from ..formats.bgzf import (
    BLOCK_DATA_MAX, EOF_BLOCK, compress, first_block, has_eof_block, is_bgzf, is_bgzf_bytes, iter_blocks, read_block,
    span_pieces, split_voffset, voffset,
)
from ..formats.hts_headers import bam_header, bcf_header, file_md5, vcf_header
from ..formats.hts_index import BinIndex, load_index, parse_index, pseudo_bin, reg2bins
from ..formats.access import is_remote
from ..formats.version import file_version

FACTS_VERSION = 1  # stored with the facts: facts of another version are computed again

__all__ = [
    "BLOCK_DATA_MAX", "EOF_BLOCK", "FACTS_VERSION", "BinIndex", "bam_facts", "bam_header", "bcf_facts", "bcf_header",
    "compress", "first_block", "has_eof_block", "is_bgzf", "is_bgzf_bytes", "iter_blocks", "load_index",
    "parse_index", "pseudo_bin", "read_block", "reg2bins", "span_pieces", "split_voffset", "vcf_facts",
    "vcf_header", "voffset", "whole_file_facts",
]


def _common_facts(location, fmt, md5, bgzf=True):
    """The facts every format has. No MD5 for a remote file: it would read the whole file."""
    size = file_version(location).size
    eof = has_eof_block(location) if bgzf else None
    md5 = md5 and not is_remote(location)
    return {
        "version": FACTS_VERSION,
        "format": fmt,
        "file_size": size,
        "eof": eof,
        "data_end": voffset(size - len(EOF_BLOCK) if eof else size, 0) if bgzf else None,
        "md5": file_md5(location) if md5 else None,
    }


def bam_facts(source, md5=True):
    """Facts of a BAM tileset: ``{"htsget": {...}}`` with the header's end and references."""
    facts = _common_facts(source.datafile, "BAM", md5)
    facts.update(bam_header(source.datafile))
    return {"htsget": facts}


def vcf_facts(source, md5=True):
    """Facts of a bgzipped VCF tileset: the references are the ``##contig`` lines, then the names
    of the index that the header does not declare."""
    facts = _common_facts(source.datafile, "VCF", md5)
    header = vcf_header(source.datafile)
    references = header["contigs"]
    if source.indexfile:
        declared = {name for name, _ in references}
        names = load_index(source.indexfile).names or []
        references = references + [[name, None] for name in names if name not in declared]
    facts.update(header_end=header["header_end"], references=references)
    return {"htsget": facts}


def bcf_facts(source, md5=True):
    facts = _common_facts(source.datafile, "BCF", md5)
    header = bcf_header(source.datafile)
    facts.update(header_end=header["header_end"], references=header["contigs"])
    return {"htsget": facts}


def whole_file_facts(fmt):
    """Facts of a format served whole (CRAM): size and MD5 (no BGZF end block to look for)."""

    def facts(source, md5=True):
        return {"htsget": _common_facts(source.datafile, fmt, md5, bgzf=False)}

    return facts
