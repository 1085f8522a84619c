"""Generate the benchmark data: a multi-resolution .mcool, a bigWig and a multivec file.

Run with the benchmark environment's Python (it needs cooler, h5py, numpy and pyBigWig)::

    .venv-bench/bin/python -m bench.data [--out .bench-data] [--force]

The files go to ``.bench-data/`` (gitignored). They are regenerated only when missing or when
``SPEC`` below changes (its digest is stored in ``manifest.json``), so a second ``make bench``
starts timing at once. Everything is derived from a fixed seed: two runs make the same files.

What is generated (one synthetic genome of six chromosomes, 129.4 Mb, with lengths that are not
multiples of any resolution, so chromosome boundaries fall inside bins and tiles):

* ``contacts.mcool``: a Hi-C-like contact map at 1 kb (129 433 bins), distance-decaying counts
  (power law) plus sparse trans contacts, about 22 M stored pixels; a 300 kb "centromere" gap per
  chromosome and scattered empty bins give NaN weights. Zoomified to 1, 2, 4, ..., 512 kb with
  ``cooler.zoomify_cooler`` and ICE-balanced at every resolution (``cooler.balance_cooler``,
  column ``weight``), as ``cooler zoomify --balance`` does.
* ``signal.bw``: a bigWig covering the genome in 25 bp steps (about 5 M values): a smooth
  background with peaks, gaps without data (the centromeres and random 5-50 kb holes).
* ``tracks.multires.mv5``: a multivec file in the layout docs/filetypes.md describes (what clodius'
  converter writes: float32, gzip-compressed datasets): 16 rows at 1 kb, summed pairwise up to
  512 kb, ``/info/row_infos`` as JSON.
* ``genome.chrom.sizes``: the chromosome sizes (TSV), used as the bigWig's coordSystem.
* ``genes.beddb``: ~60 000 made-up genes (14-column gene-annotation lines, lognormal lengths around
  20 kb) in clodius' beddb layout, max 100 per tile (``clodius aggregate bedfile``'s default).
* ``features.bb``: a BED6 bigBed of ~200 000 records (lognormal lengths around 800 bp).
* ``reads.bam`` (+ ``.bai``): ~200 000 100 bp reads in 20 regions of 100 kb, coordinate-sorted.

The last three have their own spec (``ANNOT_SPEC``) and digest, so they are added to an existing
data folder without regenerating the others.
"""

import argparse
import hashlib
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

SPEC = {
    "version": 1,
    "seed": 20240601,
    "chromsizes": [
        ["chr1", 31_234_567],
        ["chr2", 27_654_321],
        ["chr3", 24_123_457],
        ["chr4", 20_987_655],
        ["chr5", 15_555_557],
        ["chrX", 9_876_543],
    ],
    "cooler": {
        "base_resolution": 1000,
        "zoom_levels": 10,  # 1 kb ... 512 kb
        "cis_samples_per_bin": 260,  # log-uniform distance samples per bin (before dedup)
        "trans_per_bin": 6,
        "diag_count": 300.0,
        "decay": 0.85,
        "centromere_bp": 300_000,
        "empty_bin_fraction": 0.004,
    },
    "bigwig": {"step": 25, "gap_count": 300},
    "multivec": {"base_resolution": 1000, "rows": 16, "tile_size": 256},
}

FILES = {
    "chromsizes": "genome.chrom.sizes",
    "cooler": "contacts.mcool",
    "bigwig": "signal.bw",
    "multivec": "tracks.multires.mv5",
}


def spec_digest():
    return hashlib.sha256(json.dumps(SPEC, sort_keys=True).encode()).hexdigest()[:16]


def log(message):
    print(f"[bench.data] {message}", file=sys.stderr, flush=True)


def _centromere(length):
    """(start, end) of the chromosome's gap without data, at 40 % of its length."""
    start = int(length * 0.4)
    return start, start + SPEC["cooler"]["centromere_bp"]


# --- cooler --------------------------------------------------------------------------------


def _cooler_pixels(rng, chromsizes, res, chunk_bins=8000):
    """Yield pixel chunks (dicts of bin1_id, bin2_id, count), sorted by (bin1_id, bin2_id)."""
    spec = SPEC["cooler"]
    nbins_per_chrom = [math.ceil(length / res) for _, length in chromsizes]
    chrom_first = np.concatenate([[0], np.cumsum(nbins_per_chrom)])
    nbins = int(chrom_first[-1])

    # Bins without any contact: a centromere per chromosome and scattered single bins.
    empty = np.zeros(nbins, dtype=bool)
    for index, (_, length) in enumerate(chromsizes):
        start, end = _centromere(length)
        empty[chrom_first[index] + start // res: chrom_first[index] + end // res + 1] = True
    empty[rng.random(nbins) < spec["empty_bin_fraction"]] = True
    # Per-bin "visibility" (coverage bias), so balancing has something to correct.
    bias = rng.lognormal(0.0, 0.3, nbins)

    k = spec["cis_samples_per_bin"]
    for c, first in enumerate(chrom_first[:-1]):
        first, last = int(first), int(chrom_first[c + 1])
        max_d = last - first
        for lo in range(first, last, chunk_bins):
            hi = min(lo + chunk_bins, last)
            bin1 = np.repeat(np.arange(lo, hi, dtype=np.int64), k)
            # log-uniform distances in [0, max_d): dense near the diagonal, sparse far away
            d = np.floor(np.exp(rng.random(bin1.size) * math.log(max_d + 1))).astype(np.int64) - 1
            bin2 = bin1 + d
            keep = bin2 < last
            cis1, cis2 = bin1[keep], bin2[keep]
            # trans contacts towards later chromosomes (upper triangle)
            if last < nbins:
                t1 = np.repeat(np.arange(lo, hi, dtype=np.int64), spec["trans_per_bin"])
                t2 = rng.integers(last, nbins, t1.size)
                cis1 = np.concatenate([cis1, t1])
                cis2 = np.concatenate([cis2, t2])
            ok = ~(empty[cis1] | empty[cis2])
            keys = np.unique(cis1[ok] * nbins + cis2[ok])
            b1, b2 = keys // nbins, keys % nbins
            dist = (b2 - b1).astype(np.float64)
            same = b2 < last
            expected = np.where(same, spec["diag_count"] * (dist + 1.0) ** -spec["decay"], 0.3)
            expected *= bias[b1] * bias[b2]
            counts = 1 + rng.poisson(expected)
            yield {"bin1_id": b1, "bin2_id": b2, "count": counts.astype(np.int32)}


def make_cooler(path, nproc=2):
    import cooler
    import pandas as pd

    spec = SPEC["cooler"]
    res = spec["base_resolution"]
    rng = np.random.default_rng(SPEC["seed"])
    chromsizes = SPEC["chromsizes"]
    series = pd.Series({name: length for name, length in chromsizes})
    bins = cooler.binnify(series, res)

    base = str(path) + f".{res}.cool"
    started = time.perf_counter()
    stats = {"pixels": 0, "contacts": 0}

    def counted(chunks):
        for chunk in chunks:
            stats["pixels"] += len(chunk["count"])
            stats["contacts"] += int(chunk["count"].sum())
            yield chunk

    cooler.create_cooler(
        base, bins, counted(_cooler_pixels(rng, chromsizes, res)), ordered=True,
        dtypes={"count": np.int32}, assembly="bench129",
    )
    log(f"base cooler: {len(bins)} bins, {stats['pixels']:,} pixels, {stats['contacts']:,} contacts "
        f"({time.perf_counter() - started:.0f} s)")

    resolutions = [res * 2 ** i for i in range(spec["zoom_levels"])]
    started = time.perf_counter()
    tmp = str(path) + ".tmp"
    cooler.zoomify_cooler(base, tmp, resolutions, chunksize=10_000_000, nproc=nproc)
    os.remove(base)
    log(f"zoomified to {resolutions[0]}..{resolutions[-1]} bp ({time.perf_counter() - started:.0f} s)")

    started = time.perf_counter()
    for r in resolutions:
        balance_stats = balance(f"{tmp}::resolutions/{r}")
        if not balance_stats["converged"]:
            log(f"warning: balancing at {r} bp did not converge (var {balance_stats['var']:.2g})")
    log(f"balanced all resolutions ({time.perf_counter() - started:.0f} s)")
    os.replace(tmp, path)
    return {"bins_1kb": len(bins), **stats, "resolutions": resolutions}


# ICE balancing, the cooler way, made fast. ``cooler.balance_cooler`` re-reads every pixel from
# HDF5 in each iteration (about 5 s per iteration for 20 M pixels here) and ICE needs hundreds of
# iterations on this sparse synthetic map. So the balancing vector is first solved in memory with
# the Knight-Ruiz algorithm (Newton iterations, a few dozen sparse products) on exactly the matrix
# ICE sees (cooler's filters: ignore_diags=2, min_nnz=10, mad_max=5); both algorithms converge to
# the same vector (rows and columns of the balanced matrix summing to 1), so handing it to
# ``cooler.balance_cooler`` as ``x0`` makes cooler's own ICE converge within an iteration or two,
# and cooler stores the ``weight`` column with its usual attributes.


def _marginal(b1, b2, values, n):
    """Row sums of the symmetric matrix stored as its upper triangle (cooler's _marginalize)."""
    off = b1 != b2
    return np.bincount(b1[off], weights=values[off], minlength=n) + np.bincount(b2, weights=values, minlength=n)


def _good_bins(clr, b1, b2, counts, n, ignore_diags=2, min_nnz=10, mad_max=5):
    from cooler.util import mad

    kept = np.abs(b1 - b2) >= ignore_diags
    good = _marginal(b1, b2, ((counts != 0) & kept).astype(float), n) >= min_nnz
    marg = _marginal(b1, b2, counts * kept, n)
    offsets = clr._load_dset("indexes/chrom_offset")
    for lo, hi in zip(offsets[:-1], offsets[1:]):
        part = marg[lo:hi]
        if (part > 0).any():
            marg[lo:hi] /= np.median(part[part > 0])
    log_marg = np.log(marg[marg > 0])
    cutoff = np.exp(np.median(log_marg) - mad_max * mad(log_marg))
    return good & (marg >= cutoff)


def _knight_ruiz(matrix, tol=1e-7, delta=0.1, upper=3.0, max_outer=200):
    """x > 0 with x * (A @ x) == 1 for a symmetric non-negative sparse A (Knight & Ruiz 2013)."""
    n = matrix.shape[0]
    e = np.ones(n)
    x = e.copy()
    v = x * (matrix @ x)
    rk = 1 - v
    rho_km1 = rk @ rk
    rout = rold = rho_km1
    eta = etamax = 0.1
    g, rt, stop_tol = 0.9, tol ** 2, tol * 0.5
    outer = 0
    while rout > rt and outer < max_outer:
        outer += 1
        y = e.copy()
        inner_tol = max(eta ** 2 * rout, rt)
        k = 0
        while rho_km1 > inner_tol:
            k += 1
            if k == 1:
                z = rk / v
                p = z
                rho_km1 = rk @ z
            else:
                p = z + (rho_km1 / rho_km2) * p
            w = x * (matrix @ (x * p)) + v * p
            alpha = rho_km1 / (p @ w)
            ap = alpha * p
            ynew = y + ap
            if ynew.min() <= delta:
                negative = ap < 0
                y = y + ((delta - y[negative]) / ap[negative]).min() * ap
                break
            if ynew.max() >= upper:
                over = ynew > upper
                y = y + ((upper - y[over]) / ap[over]).min() * ap
                break
            y = ynew
            rk = rk - alpha * w
            rho_km2 = rho_km1
            z = rk / v
            rho_km1 = rk @ z
        x = x * y
        v = x * (matrix @ x)
        rk = 1 - v
        rho_km1 = rk @ rk
        rout = rho_km1
        rat = rout / rold
        rold = rout
        eta_old, eta = eta, g * rat
        if g * eta_old ** 2 > 0.1:
            eta = max(eta, g * eta_old ** 2)
        eta = max(min(eta, etamax), stop_tol / np.sqrt(rout))
    return x


def balance(uri):
    """Store ICE weights (column ``weight``) in the cooler at ``uri``; return cooler's stats."""
    import cooler
    import scipy.sparse as sparse

    clr = cooler.Cooler(uri)
    n = int(clr.info["nbins"])
    pixels = clr.pixels()[:]
    b1 = pixels["bin1_id"].to_numpy(np.int64)
    b2 = pixels["bin2_id"].to_numpy(np.int64)
    counts = pixels["count"].to_numpy(np.float64)
    del pixels
    good = _good_bins(clr, b1, b2, counts, n)
    index = np.cumsum(good) - 1
    keep = good[b1] & good[b2] & (np.abs(b1 - b2) >= 2)
    i, j, c = index[b1[keep]], index[b2[keep]], counts[keep]
    m = int(good.sum())
    upper = sparse.csr_matrix((c, (i, j)), shape=(m, m))
    matrix = (upper + upper.T).tocsr()
    scale = matrix.sum() / m
    x = _knight_ruiz(matrix / scale) / np.sqrt(scale)
    x0 = np.full(n, np.nan)
    x0[good] = x
    _weights, stats = cooler.balance_cooler(clr, x0=x0, store=True, chunksize=None, max_iters=200)
    return stats


# --- bigWig --------------------------------------------------------------------------------


def make_bigwig(path):
    import pyBigWig

    spec = SPEC["bigwig"]
    step = spec["step"]
    rng = np.random.default_rng(SPEC["seed"] + 1)
    chromsizes = SPEC["chromsizes"]
    started = time.perf_counter()
    bw = pyBigWig.open(str(path), "w")
    bw.addHeader([(name, length) for name, length in chromsizes], maxZooms=10)
    total = 0
    for name, length in chromsizes:
        # gaps: the centromere and a few random holes
        gaps = [_centromere(length)]
        for _ in range(spec["gap_count"] // len(chromsizes)):
            start = int(rng.integers(0, length))
            gaps.append((start, min(length, start + int(rng.integers(5_000, 50_000)))))
        gaps.sort()
        covered, cursor = [], 0
        for start, end in gaps:
            start = start // step * step
            if start > cursor:
                covered.append((cursor, start))
            cursor = max(cursor, -(-end // step) * step)
        if cursor < length:
            covered.append((cursor, length))

        n = math.ceil(length / step)
        x = np.arange(n) * step
        background = 2.0 + np.sin(x / 1.3e6) + 0.5 * np.sin(x / 97_000.0)
        signal = background * rng.gamma(2.0, 0.5, n)
        peaks = rng.integers(0, n, n // 2000)
        for width in (2, 8, 40):
            for offset in range(-width, width + 1):
                signal[np.clip(peaks + offset, 0, n - 1)] += 30.0 / width
        signal = signal.astype(np.float64)

        for start, end in covered:
            # covered pieces start on a step; they end on a step or at the chromosome end,
            # where the last entry is shortened to end exactly there
            i0, i1 = start // step, end // step
            if i1 > i0:
                bw.addEntries(name, int(i0 * step), values=signal[i0:i1], span=step, step=step)
                total += i1 - i0
            if end == length and length % step:
                bw.addEntries([name], [i1 * step], ends=[length], values=[float(signal[i1])])
                total += 1
    bw.close()
    log(f"bigWig: {total:,} values ({time.perf_counter() - started:.0f} s)")
    return {"values": total, "step": step}


# --- multivec ------------------------------------------------------------------------------


def make_multivec(path):
    import h5py

    spec = SPEC["multivec"]
    res, rows, tile_size = spec["base_resolution"], spec["rows"], spec["tile_size"]
    rng = np.random.default_rng(SPEC["seed"] + 2)
    chromsizes = SPEC["chromsizes"]
    total_length = sum(length for _, length in chromsizes)
    doublings = math.ceil(math.log(total_length / (tile_size * res)) / math.log(2))
    resolutions = [res * 2 ** i for i in range(doublings + 1)]
    started = time.perf_counter()
    tmp = str(path) + ".tmp"
    names = np.array([name for name, _ in chromsizes], dtype="S")
    lengths = np.array([length for _, length in chromsizes], dtype=np.int64)
    with h5py.File(tmp, "w") as f:
        info = f.create_group("info")
        info.attrs["tile-size"] = tile_size
        row_infos = [{"id": f"state{i + 1}", "name": f"State {i + 1}"} for i in range(rows)]
        info.create_dataset("row_infos", data=json.dumps(row_infos))
        f.create_group("chroms")
        f["chroms"].create_dataset("name", data=names, compression="gzip")
        f["chroms"].create_dataset("length", data=lengths, compression="gzip")
        group = f.create_group("resolutions")
        previous = {}
        for level, r in enumerate(resolutions):
            g = group.create_group(str(r))
            g.create_group("chroms")
            g["chroms"].create_dataset("name", data=names, compression="gzip")
            g["chroms"].create_dataset("length", data=lengths, compression="gzip")
            values = g.create_group("values")
            for name, length in chromsizes:
                if level == 0:
                    n = math.ceil(length / r)
                    base = rng.gamma(1.5, 1.0, (n, 1)) * rng.dirichlet(np.ones(rows), n) * 10.0
                    data = base.astype(np.float32)
                    start, end = _centromere(length)
                    data[start // r: end // r + 1] = np.nan if name == "chr3" else 0.0
                else:
                    prev = previous[name]
                    if len(prev) % 2:
                        prev = np.concatenate([prev, prev[-1:]])
                    data = (prev[0::2] + prev[1::2]).astype(np.float32)
                previous[name] = data
                values.create_dataset(name, data=data, compression="gzip")
    os.replace(tmp, path)
    log(f"multivec: {rows} rows, resolutions {resolutions[0]}..{resolutions[-1]} "
        f"({time.perf_counter() - started:.0f} s)")
    return {"rows": rows, "resolutions": resolutions, "tile_size": tile_size}


# --- annotations and reads: beddb, bigBed, BAM ----------------------------------------------------
#
# A second, independent part of the data with its own spec and digest (``manifest["annotations"]``),
# so adding it did not regenerate the cooler (the slow part). The positions where data exists
# (``details[kind]["positions"]``: absolute genome coordinates, a sample) let bench.common.plan
# choose tiles that are not empty.

ANNOT_SPEC = {
    "version": 1,
    "seed": 20240602,
    "beddb": {"genes": 60_000, "max_per_tile": 100},
    "bigbed": {"records": 200_000},
    "bam": {"reads": 200_000, "regions": 20, "region_length": 100_000, "read_length": 100},
}

ANNOT_FILES = {"beddb": "genes.beddb", "bigbed": "features.bb", "bam": "reads.bam", "bam_index": "reads.bam.bai"}


def annot_digest():
    payload = {"annotations": ANNOT_SPEC, "chromsizes": SPEC["chromsizes"]}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def _offsets():
    offsets, total = {}, 0
    for name, length in SPEC["chromsizes"]:
        offsets[name] = total
        total += length
    return offsets


def _sample_positions(rng, positions, n=2000):
    positions = np.asarray(positions, dtype=np.int64)
    chosen = rng.choice(positions.size, min(n, positions.size), replace=False)
    return sorted(int(v) for v in positions[chosen])


def make_beddb(path):
    """~60 000 gene-annotation lines (14 columns) in clodius' beddb layout (version 3), written
    with the tests' writer (tests/builders/annotation_data.py follows ``clodius aggregate bedfile``)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.builders.annotation_data import gene_line, write_beddb

    spec = ANNOT_SPEC["beddb"]
    rng = np.random.default_rng(ANNOT_SPEC["seed"])
    chromsizes = SPEC["chromsizes"]
    lengths = np.array([length for _, length in chromsizes], dtype=float)
    started = time.perf_counter()
    lines = []
    chroms = rng.choice(len(chromsizes), spec["genes"], p=lengths / lengths.sum())
    sizes = np.clip(rng.lognormal(math.log(20_000), 1.1, spec["genes"]), 300, 2_000_000).astype(np.int64)
    scores = rng.integers(0, 1000, spec["genes"])
    exons = 1 + rng.poisson(4, spec["genes"])
    for n in range(spec["genes"]):
        name, length = chromsizes[int(chroms[n])]
        size = int(min(sizes[n], length - 1))
        start = int(rng.integers(0, length - size))
        lines.append(gene_line(name, start, start + size, f"G{n}", int(scores[n]), "+-"[n % 2],
                               exons=int(min(12, exons[n]))))
    tmp = Path(str(path) + ".tmp")
    entries = write_beddb(tmp, chromsizes, lines, importance_column=5, max_per_tile=spec["max_per_tile"],
                          assembly="bench129")
    os.replace(tmp, path)
    offsets = _offsets()
    mids = [offsets[l[0]] + (int(l[1]) + int(l[2])) // 2 for l in lines]
    log(f"beddb: {len(entries):,} genes ({time.perf_counter() - started:.0f} s)")
    return {"genes": len(entries), "positions": _sample_positions(rng, mids)}


def make_bigbed(path):
    """~200 000 BED6 records, written with pybigtools as the tests do (tests/builders/bigbed_data.py,
    including its workaround for pybigtools 0.3.0's R-tree leaf ends: every chromosome ends with
    a record reaching its end)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.builders.bigbed_data import with_end_records, write_bigbed

    spec = ANNOT_SPEC["bigbed"]
    rng = np.random.default_rng(ANNOT_SPEC["seed"] + 1)
    chromsizes = SPEC["chromsizes"]
    lengths = np.array([length for _, length in chromsizes], dtype=float)
    started = time.perf_counter()
    counts = rng.multinomial(spec["records"] - len(chromsizes), lengths / lengths.sum())
    records, starts_abs = [], []
    offsets = _offsets()
    for (name, length), count in zip(chromsizes, counts):
        sizes = np.clip(rng.lognormal(math.log(800), 1.0, count), 1, 50_000).astype(np.int64)
        starts = np.sort(rng.integers(0, length - 1, count))
        scores = rng.integers(0, 1000, count)
        for i in range(count):
            start = int(starts[i])
            end = int(min(length, start + sizes[i]))
            records.append((name, start, end, f"f{len(records)}", str(int(scores[i])), "+-"[i % 2]))
        starts_abs.extend((offsets[name] + starts).tolist())
    records = with_end_records(chromsizes, records)
    tmp = Path(path).with_name("tmp-" + Path(path).name)  # pybigtools wants the .bb suffix
    write_bigbed(tmp, chromsizes, records)
    os.replace(tmp, path)
    log(f"bigBed: {len(records):,} records ({time.perf_counter() - started:.0f} s)")
    return {"records": len(records), "positions": _sample_positions(rng, starts_abs)}


def make_bam(path, index_path):
    """~200 000 100 bp reads in 20 regions of 100 kb (about 10x coverage there), with mismatches,
    small deletions/insertions, soft clips and MD tags; coordinate-sorted, indexed (.bai)."""
    import pysam

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from demo.reads import md_tag

    spec = ANNOT_SPEC["bam"]
    rng = np.random.default_rng(ANNOT_SPEC["seed"] + 2)
    chromsizes = SPEC["chromsizes"]
    names = [n for n, _ in chromsizes]
    rl, region_length = spec["read_length"], spec["region_length"]
    started = time.perf_counter()
    # regions: spread over the chromosomes, away from the ends and the centromeres
    regions = []
    for r in range(spec["regions"]):
        tid = r % len(chromsizes)
        length = chromsizes[tid][1]
        lo = int(rng.integers(length // 20, length // 3)) if r // len(chromsizes) % 2 == 0 else \
            int(rng.integers(length // 2, length - length // 20 - region_length))
        regions.append((tid, lo))
    regions.sort()
    for k in range(1, len(regions)):  # no overlaps: the reads are written in coordinate order
        if regions[k][0] == regions[k - 1][0] and regions[k][1] < regions[k - 1][1] + region_length + rl:
            regions[k] = (regions[k][0], regions[k - 1][1] + region_length + rl)
    per_region = spec["reads"] // len(regions)
    header = {"HD": {"VN": "1.6", "SO": "coordinate"}, "SQ": [{"SN": n, "LN": l} for n, l in chromsizes]}
    offsets = _offsets()
    starts_abs = []
    tmp = Path(str(path) + ".tmp.bam")
    with pysam.AlignmentFile(str(tmp), "wb", header=header) as out:
        for tid, lo in regions:
            reference = "".join(rng.choice(list("ACGT"), region_length + 2 * rl))
            starts = np.sort(rng.integers(0, region_length - rl, per_region))
            kinds = rng.random(per_region)
            for i, s in enumerate(starts):
                s = int(s)
                if kinds[i] < 0.04:
                    left = int(rng.integers(20, 80))
                    cigar = [(0, left), (2, 2), (0, rl - left)]
                elif kinds[i] < 0.07:
                    left = int(rng.integers(20, 80))
                    cigar = [(0, left), (1, 2), (0, rl - left - 2)]
                elif kinds[i] < 0.12:
                    cigar = [(4, 5), (0, rl - 5)]
                else:
                    cigar = [(0, rl)]
                span = sum(l for op, l in cigar if op in (0, 2))
                query = []
                ref_at = s
                for op, length in cigar:
                    if op == 0:
                        query.append(reference[ref_at:ref_at + length])
                        ref_at += length
                    elif op == 2:
                        ref_at += length
                    else:
                        query.append("".join(rng.choice(list("ACGT"), length)))
                query = list("".join(query))
                for k in np.flatnonzero(rng.random(rl) < 0.01):
                    query[k] = "ACGT"[("ACGT".index(query[k]) + 1) % 4]
                query = "".join(query)
                read = pysam.AlignedSegment(out.header)
                read.query_name = f"r{tid}_{lo + s}_{i}"
                read.flag = 16 if i % 2 else 0
                read.reference_id = tid
                read.reference_start = lo + s
                read.mapping_quality = 60
                read.cigartuples = cigar
                read.query_sequence = query
                read.query_qualities = pysam.qualitystring_to_array("I" * len(query))
                read.set_tags([("MD", md_tag(reference, s, query, cigar))])
                out.write(read)
                starts_abs.append(offsets[names[tid]] + lo + s + span // 2)
    os.replace(tmp, path)
    pysam.index(str(Path(path).resolve()), "-o", str(Path(index_path).resolve()))
    log(f"BAM: {len(starts_abs):,} reads in {len(regions)} regions ({time.perf_counter() - started:.0f} s)")
    return {"reads": len(starts_abs), "regions": [[names[t], lo, lo + region_length] for t, lo in regions],
            "positions": _sample_positions(rng, starts_abs)}


def ensure_annotations(out, manifest, force=False):
    """Add the beddb, bigBed and BAM files to ``manifest`` (generated unless present for the
    current ANNOT_SPEC); returns True when the manifest changed."""
    digest = annot_digest()
    if (not force and manifest.get("annotations_digest") == digest
            and all((out / name).exists() for name in ANNOT_FILES.values())):
        return False
    started = time.perf_counter()
    details = {
        "beddb": make_beddb(out / ANNOT_FILES["beddb"]),
        "bigbed": make_bigbed(out / ANNOT_FILES["bigbed"]),
        "bam": make_bam(out / ANNOT_FILES["bam"], out / ANNOT_FILES["bam_index"]),
    }
    manifest["annotations_digest"] = digest
    manifest["annotations_spec"] = ANNOT_SPEC
    manifest["files"].update(ANNOT_FILES)
    manifest["details"].update(details)
    manifest["sizes_bytes"].update({key: (out / name).stat().st_size for key, name in ANNOT_FILES.items()})
    log(f"annotation and reads data ready ({time.perf_counter() - started:.0f} s)")
    return True


# --- driver --------------------------------------------------------------------------------


def ensure(out, force=False):
    """Create the files in ``out`` unless they exist for the current SPEC; return the manifest."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    manifest_path = out / "manifest.json"
    digest = spec_digest()
    if not force and manifest_path.exists():
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("digest") == digest and all((out / name).exists() for name in FILES.values()):
            log(f"reusing the data in {out} (delete it or pass --force to regenerate)")
            if ensure_annotations(out, manifest, force):
                manifest_path.write_text(json.dumps(manifest, indent=1))
            return manifest
    if manifest_path.exists():
        manifest_path.unlink()
    started = time.perf_counter()
    (out / FILES["chromsizes"]).write_text("".join(f"{n}\t{l}\n" for n, l in SPEC["chromsizes"]))
    details = {
        "cooler": make_cooler(out / FILES["cooler"]),
        "bigwig": make_bigwig(out / FILES["bigwig"]),
        "multivec": make_multivec(out / FILES["multivec"]),
    }
    manifest = {
        "digest": digest,
        "spec": SPEC,
        "files": FILES,
        "details": details,
        "genome_length": sum(length for _, length in SPEC["chromsizes"]),
        "sizes_bytes": {key: (out / name).stat().st_size for key, name in FILES.items()},
        "generation_seconds": round(time.perf_counter() - started, 1),
    }
    ensure_annotations(out, manifest, force=True)
    manifest["generation_seconds"] = round(time.perf_counter() - started, 1)
    manifest_path.write_text(json.dumps(manifest, indent=1))
    log(f"data ready in {out} ({manifest['generation_seconds']} s)")
    return manifest


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=".bench-data")
    parser.add_argument("--force", action="store_true", help="regenerate even if the data exists")
    args = parser.parse_args(argv)
    ensure(args.out, args.force)


if __name__ == "__main__":
    main()
