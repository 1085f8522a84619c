"""The demo of ``make run``: synthetic data on hg38, generated on first start (nothing is
downloaded), every file seeded so each start writes the same bytes.

``DEMO`` lists the tilesets ``manage.py load_demo`` writes and ingests, in that order: the uid,
the file name to write, the writer (``write(path)``; index files go beside ``path``), and the
fields the tileset is ingested with. The writers live in this package, one module per kind of
data: :mod:`demo.assembly` (hg38 sizes, the seed), :mod:`demo.hic`, :mod:`demo.signal` (bigWig,
multivec), :mod:`demo.annotations` (beddb, bed2ddb), :mod:`demo.reads` (BAM), :mod:`demo.variants`
(VCF). They import nothing from the server, so tests and benchmarks use them freely.
"""

from .annotations import write_domains, write_gene_annotations
from .assembly import ASSEMBLY, HG38, SEED, write_chromsizes
from .hic import write_mcool
from .reads import write_bam
from .signal import write_bigwig, write_multivec
from .variants import write_vcf

DEMO = [
    {"uid": "hg38-chromsizes", "filename": "hg38.chrom.sizes", "write": write_chromsizes,
     "filetype": "chromsizes-tsv", "datatype": "chromsizes", "name": "Chromosomes (hg38)"},
    {"uid": "demo-hic", "filename": "demo-hic.mcool", "write": write_mcool,
     "filetype": "cooler", "datatype": "matrix", "name": "Demo Hi-C (synthetic)"},
    {"uid": "demo-signal", "filename": "demo-signal.bw", "write": write_bigwig,
     "filetype": "bigwig", "datatype": "vector", "name": "Demo signal (synthetic)"},
    {"uid": "demo-multivec", "filename": "demo-multivec.multires.mv5", "write": write_multivec,
     "filetype": "multivec", "datatype": "multivec", "name": "Demo multivec (synthetic)"},
    {"uid": "demo-genes", "filename": "demo-genes.beddb", "write": write_gene_annotations,
     "filetype": "beddb", "datatype": "gene-annotation", "name": "Demo genes (invented)"},
    {"uid": "demo-domains", "filename": "demo-domains.bed2ddb", "write": write_domains,
     "filetype": "bed2ddb", "datatype": "2d-rectangle-domains", "name": "Demo 2-D domains (synthetic)"},
    {"uid": "demo-reads", "filename": "demo-reads.bam", "write": write_bam,
     "filetype": "bam", "datatype": "reads", "name": "Demo reads (simulated, chr1:11.0-11.1 Mb)"},
    {"uid": "demo-variants", "filename": "demo-variants.vcf.gz", "write": write_vcf,
     "filetype": "vcf", "datatype": "variants", "name": "Demo variants (simulated, mostly chr1:11.0-11.1 Mb)"},
]

__all__ = ["ASSEMBLY", "DEMO", "HG38", "SEED", "write_bam", "write_bigwig", "write_chromsizes", "write_domains",
           "write_gene_annotations", "write_mcool", "write_multivec", "write_vcf"]
