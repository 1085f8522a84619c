"""BCF: binary variant files, stored and served whole through htsget (no region logic, no tiles).

The protocol allows answering any request with the whole file; VCF tilesets are the ones served by
region. Facts stored at ingest: header end, contigs, size, EOF marker, MD5 (:func:`hts.bcf_facts`).
"""

import pysam

from ..formats import access
from . import hts
from .base import Generator, GeneratorError, HtsgetFormat
from .cram import hts_quiet


def validate(datafile, indexfile=None):
    if not hts.is_bgzf(datafile):
        raise GeneratorError("not a BGZF-compressed BCF file (write it with bcftools view -Ob)")
    hts.bcf_header(datafile)
    try:
        with hts_quiet(), pysam.VariantFile(access.library_name(str(datafile))) as variants:
            next(iter(variants), None)
    except (OSError, ValueError) as exc:
        raise GeneratorError(f"pysam cannot read it: {access.without_credentials(str(exc))}") from None


def chromsizes(source):
    return [(name, length) for name, length in hts.bcf_header(source.datafile)["contigs"] if length]


GENERATOR = Generator(filetype="bcf", validate=validate, chromsizes=chromsizes, facts=hts.bcf_facts,
                      htsget=HtsgetFormat(endpoint="variants", format="BCF"))
