"""Hardening: a command refusing a file says so in one line; the C libraries' own complaints
(htslib's "[E::hts_idx_push] Unsorted positions ...") never reach the command's output."""

import pysam
import pytest
from django.core.management import CommandError, call_command

from tests.builders.hts_data import write_plain_vcf


def test_unsorted_vcf_is_refused_without_library_noise(db, outside, capfd, owner):
    plain = write_plain_vcf(outside / "unsorted.vcf", unsorted=True)
    gz = outside / "unsorted.vcf.gz"
    pysam.tabix_compress(str(plain), str(gz), force=True)
    capfd.readouterr()
    with pytest.raises(CommandError, match="not sorted"):
        call_command("ingest_tileset", "--filename", str(gz), "--filetype", "vcf", "--uid", "unsorted1")
    out, err = capfd.readouterr()
    assert "[E::" not in out + err and "[W::" not in out + err, (out, err)
