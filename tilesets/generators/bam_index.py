"""Building a BAM's index at ingest (``pysam.index``), and the checks that :mod:`.bam` shares
with it: is the file a BAM, and pysam's messages on one line."""

import os

import pysam

from ..formats import access
from ..formats.hts_headers import check_bam
from .base import GeneratorError

CSI_ABOVE = (1 << 29) - 1  # a .bai cannot index positions beyond 2^29 - 1: build a .csi instead


def check_is_bam(path):
    """Raise GeneratorError unless ``path`` is a BAM file (by content, not by name)."""
    try:
        check_bam(path)
    except OSError as exc:
        raise GeneratorError(f"cannot read the file: {exc.strerror or exc}") from None


def one_line(exc):
    """pysam's message on one line, without the credentials of a URL it names."""
    return access.without_credentials(" ".join(str(exc).split())) or type(exc).__name__


def _header_sort_order(path):
    try:
        with pysam.AlignmentFile(path, "rb", check_sq=False) as handle:
            return handle.header.to_dict().get("HD", {}).get("SO")
    except (OSError, ValueError):
        return None


def _first_disorder(path):
    """The first read out of coordinate order, as text, or None (reads the file up to it)."""
    previous = (-1, -1)
    unplaced_seen = False
    with pysam.AlignmentFile(path, "rb", check_sq=False) as handle:
        names = handle.references
        for read in handle.fetch(until_eof=True):
            tid, pos = read.reference_id, read.reference_start
            if tid < 0:
                unplaced_seen = True
                continue
            if unplaced_seen:
                return f"read {read.query_name!r} at {names[tid]}:{pos + 1} follows unplaced unmapped reads"
            if (tid, pos) < previous:
                return (f"read {read.query_name!r} at {names[tid]}:{pos + 1} follows "
                        f"{names[previous[0]]}:{previous[1] + 1}")
            previous = (tid, pos)
    return None


def build_index(datafile, folder):
    """``pysam.index`` into ``folder``: a ``.bai`` (a ``.csi`` when a reference is longer than a
    ``.bai`` can hold). An unsorted BAM is refused with the first read out of order; so is a
    remote one (its index must be given: indexing would read the whole file)."""
    if access.is_remote(datafile):
        raise GeneratorError(f"{access.shown(datafile)}: a remote BAM needs its index (.bai or .csi) given")
    check_is_bam(datafile)
    try:
        with pysam.AlignmentFile(datafile, "rb", check_sq=False) as handle:
            longest = max(handle.lengths, default=0)
    except (OSError, ValueError) as exc:
        raise GeneratorError(f"cannot open the BAM: {one_line(exc)}") from None
    csi = longest > CSI_ABOVE
    out = os.path.join(folder, os.path.basename(datafile) + (".csi" if csi else ".bai"))
    try:
        pysam.index(*(["-c"] if csi else []), datafile, out)
    except pysam.SamtoolsError as exc:
        try:
            disorder = _first_disorder(datafile)
        except (OSError, ValueError):
            disorder = None
        if disorder is not None:
            order = _header_sort_order(datafile)
            said = f" (the header says SO:{order})" if order and order != "coordinate" else ""
            raise GeneratorError(f"not coordinate-sorted{said}: {disorder}; sort it with samtools sort, "
                                 "then ingest the sorted file") from None
        raise GeneratorError(f"samtools index failed: {one_line(exc)}") from None
    if not os.path.isfile(out):
        raise GeneratorError("samtools index wrote no index")
    return out
