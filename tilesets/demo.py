"""Demo data for ``make run``: generated on first start, on the hg38 assembly.

Every file is synthetic (seeded, so each start makes the same data): a Hi-C-like contact map as
a multi-resolution ``.mcool``, a signal track as a bigWig and a 4-row multivec, next to the real
hg38 chromosome sizes.
"""

import warnings
from pathlib import Path

import numpy as np

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


def write_mcool(path, base=1_000_000, band=150):
    """Contacts decaying with distance plus domain blocks, within ``band`` bins of the diagonal."""
    import cooler
    import pandas as pd

    rng = np.random.default_rng(SEED)
    bins = cooler.binnify(pd.Series(dict(HG38)), base)
    chrom_of_bin = bins["chrom"].astype(str).to_numpy()
    n = len(bins)
    first, second, counts = [], [], []
    for distance in range(band):
        i = np.arange(0, n - distance)
        j = i + distance
        same = chrom_of_bin[i] == chrom_of_bin[j]
        domain = (i // 7) == (j // 7)  # 7-bin blocks stand in for TADs
        expected = 400.0 / (distance + 1) ** 1.1 * np.where(domain, 2.5, 1.0) * np.where(same, 1.0, 0.02)
        observed = rng.poisson(expected)
        keep = observed > 0
        first.append(i[keep])
        second.append(j[keep])
        counts.append(observed[keep])
    pixels = pd.DataFrame(
        {"bin1_id": np.concatenate(first), "bin2_id": np.concatenate(second), "count": np.concatenate(counts)}
    ).sort_values(["bin1_id", "bin2_id"])
    single = str(path) + ".base.cool"
    cooler.create_cooler(single, bins, pixels, assembly="hg38", ordered=True)
    resolutions = [base * 2**k for k in range(5)]
    cooler.zoomify_cooler(single, str(path), resolutions, chunksize=10_000_000)
    Path(single).unlink()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # chrM is one bin: balancing warns about its empty marginal
        for resolution in resolutions:
            clr = cooler.Cooler(f"{path}::resolutions/{resolution}")
            cooler.balance_cooler(clr, store=True, ignore_diags=1, cis_only=True, max_iters=2000, tol=1e-4)


def _signal(length, step, rng):
    """A smooth wave with noise, one value per ``step`` bases."""
    positions = np.arange(0, length, step)
    wave = np.sin(positions / 7.3e6) + 0.5 * np.sin(positions / 1.1e6 + 1.0)
    return (3.0 + wave + rng.normal(0, 0.3, len(positions))).clip(0)


def write_bigwig(path, step=10_000):
    import pyBigWig

    rng = np.random.default_rng(SEED + 1)
    handle = pyBigWig.open(str(path), "w")
    handle.addHeader(list(HG38), maxZooms=10)
    for name, length in HG38:
        values = _signal(length, step, rng)
        handle.addEntries(name, 0, values=values.astype(float).tolist(), span=step, step=step)
    handle.close()


def write_multivec(path, base=50_000, rows=4, tile_size=256):
    """The multivec layout of tiles.md §6.1: resolutions by pairwise sums up to one tile."""
    import h5py

    rng = np.random.default_rng(SEED + 2)
    genome = sum(length for _, length in HG38)
    levels = int(np.ceil(np.log2(genome / (tile_size * base)))) + 1
    with h5py.File(path, "w") as handle:
        handle.create_group("info").attrs["tile-size"] = tile_size
        row_infos = [f'{{"name": "demo track {i + 1}"}}' for i in range(rows)]
        handle["info"].create_dataset("row_infos", data="[" + ", ".join(row_infos) + "]")
        names = np.array([name.encode() for name, _ in HG38])
        lengths = np.array([length for _, length in HG38])
        handle.create_dataset("chroms/name", data=names)
        handle.create_dataset("chroms/length", data=lengths)
        for name, length in HG38:
            data = np.stack([_signal(length, base, rng) * (row + 1) for row in range(rows)], axis=1)
            resolution = base
            for _ in range(levels):
                handle.create_dataset(f"resolutions/{resolution}/values/{name}", data=data, compression="gzip")
                if len(data) % 2:
                    data = np.concatenate([data, data[-1:]])
                data = data[0::2] + data[1::2]
                resolution *= 2
        for level in range(levels):
            group = handle[f"resolutions/{base * 2**level}"]
            group.create_dataset("chroms/name", data=names)
            group.create_dataset("chroms/length", data=lengths)


def _lazy(module, function):
    """A writer from another demo module, imported when it runs."""

    def write(path):
        import importlib

        return getattr(importlib.import_module(f"tilesets.{module}"), function)(path)

    return write


DEMO = [
    {"uid": "hg38-chromsizes", "filename": "hg38.chrom.sizes", "write": write_chromsizes,
     "filetype": "chromsizes-tsv", "datatype": "chromsizes", "name": "Chromosomes (hg38)"},
    {"uid": "demo-hic", "filename": "demo-hic.mcool", "write": write_mcool,
     "filetype": "cooler", "datatype": "matrix", "name": "Demo Hi-C (synthetic)"},
    {"uid": "demo-signal", "filename": "demo-signal.bw", "write": write_bigwig,
     "filetype": "bigwig", "datatype": "vector", "name": "Demo signal (synthetic)"},
    {"uid": "demo-multivec", "filename": "demo-multivec.multires.mv5", "write": write_multivec,
     "filetype": "multivec", "datatype": "multivec", "name": "Demo multivec (synthetic)"},
    {"uid": "demo-genes", "filename": "demo-genes.beddb", "write": _lazy("demo_annotations", "write_gene_annotations"),
     "filetype": "beddb", "datatype": "gene-annotation", "name": "Demo genes (invented)"},
    {"uid": "demo-domains", "filename": "demo-domains.bed2ddb", "write": _lazy("demo_annotations", "write_domains"),
     "filetype": "bed2ddb", "datatype": "2d-rectangle-domains", "name": "Demo 2-D domains (synthetic)"},
    {"uid": "demo-reads", "filename": "demo-reads.bam", "write": _lazy("demo_reads", "write_bam"),
     "filetype": "bam", "datatype": "reads", "name": "Demo reads (simulated, chr1:11.0-11.1 Mb)"},
    {"uid": "demo-variants", "filename": "demo-variants.vcf.gz", "write": _lazy("demo_htsget", "write_vcf"),
     "filetype": "vcf", "datatype": "variants", "name": "Demo variants (simulated, mostly chr1:11.0-11.1 Mb)"},
]
