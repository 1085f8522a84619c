"""CRAM: aligned reads, stored and served whole through htsget (no region logic, no tiles).

The protocol allows answering any request with the whole file; BAM tilesets are the ones served by
region. Facts stored at ingest: the references of the header (so that an unknown referenceName is
NotFound), size and MD5.
"""

import contextlib

import pysam

from ..formats import access
from ..formats.hts_headers import check_cram
from . import hts
from .base import Generator, GeneratorError, HtsgetFormat


@contextlib.contextmanager
def hts_quiet():
    """No htslib chatter about the index it looks for (these files are read without one)."""
    previous = pysam.set_verbosity(0)
    try:
        yield
    finally:
        pysam.set_verbosity(previous)


def _references(datafile):
    try:
        with hts_quiet(), pysam.AlignmentFile(access.library_name(str(datafile)), "rc") as reads:
            return [[name, length] for name, length in zip(reads.references, reads.lengths)]
    except (OSError, ValueError) as exc:
        raise GeneratorError(f"pysam cannot read it: {access.without_credentials(str(exc))}") from None


def validate(datafile, indexfile=None):
    check_cram(datafile)
    _references(datafile)


def facts(source, md5=True):
    found = hts.whole_file_facts("CRAM")(source, md5=md5)
    found["htsget"]["references"] = _references(source.datafile)
    return found


def chromsizes(source):
    return [tuple(row) for row in _references(source.datafile)]


GENERATOR = Generator(filetype="cram", validate=validate, chromsizes=chromsizes, facts=facts,
                      htsget=HtsgetFormat(endpoint="reads", format="CRAM"))
