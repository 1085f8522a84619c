"""The assembly of the demo (hg38: its chromosome sizes) and the seed every demo writer starts from."""

from pathlib import Path

ASSEMBLY = "hg38"

# GRCh38 primary chromosome lengths (UCSC hg38 chromInfo).
HG38 = [
    ("chr1", 248956422), ("chr2", 242193529), ("chr3", 198295559), ("chr4", 190214555),
    ("chr5", 181538259), ("chr6", 170805979), ("chr7", 159345973), ("chr8", 145138636),
    ("chr9", 138394717), ("chr10", 133797422), ("chr11", 135086622), ("chr12", 133275309),
    ("chr13", 114364328), ("chr14", 107043718), ("chr15", 101991189), ("chr16", 90338345),
    ("chr17", 83257441), ("chr18", 80373285), ("chr19", 58617616), ("chr20", 64444167),
    ("chr21", 46709983), ("chr22", 50818468), ("chrX", 156040895), ("chrY", 57227415),
    ("chrM", 16569),
]
SEED = 20261123


def write_chromsizes(path):
    Path(path).write_text("".join(f"{name}\t{length}\n" for name, length in HG38))
