"""Fragments benchmark: 64 loci of 64 × 64 bins cut out of the benchmark .mcool, ours against
cooler doing the same cut (docs/fragments.md, "Speed").

    .venv/bin/python -m bench.bench_fragments [--rounds 30] [--loci 64] [--side 64]

* The loci: ``--loci`` loci of ``--side`` bins at 1 kb on the chromosomes of
  ``.bench-data/contacts.mcool`` (``make bench`` writes it), half on the diagonal and half up to
  1 Mb off it, drawn with a fixed seed; each asked with ``dims`` = ``--side``, balanced.
* Ours, in this process (``.venv``): the cooler generator's ``matrix`` capability and the
  fragments service's finishing step for the 64 loci ("core"); and the whole HTTP path, a
  ``POST /api/v1/fragments_by_loci/`` through Django's test client on a throw-away database with
  the file ingested in place ("HTTP", JSON encoding included).
* The reference, in a child process in ``.venv-bench``: what the original server does per
  request: open the file with h5py, ``cooler.Cooler`` on the resolution, and for each locus
  cooler's own ``matrix(balance=True)[i0:i1, j0:j1]`` of the same bins, finished with the same
  numpy steps (cells without a value to 0, minus the minimum, capped, divided, -1 back).
* Rounds alternate the two sides back to back (reference, ours core, ours HTTP); the paired
  ratio is the median over rounds of ours / reference (lower is better; the goal is ≤ 0.3).
  The values of both sides are compared once (NaN-equal, within float tolerance).

Prints a Markdown table and writes ``.bench-data/results/fragments.json``.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / ".bench-data"
MCOOL = DATA / "contacts.mcool"
BENCH_PYTHON = REPO / ".venv-bench" / "bin" / "python"
RESOLUTION = 1000
UID = "bench-fragments"


def log(message):
    print(f"[bench-fragments] {message}", file=sys.stderr, flush=True)


def make_loci(chromsizes, count, side, seed=7):
    """``count`` loci of ``side`` bins: [chrom, start, end, chrom, start2, end2] (ends inclusive
    of the last bin's start, so each side is exactly ``side`` bins)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    span = (side - 1) * RESOLUTION
    loci = []
    for k in range(count):
        name, length = chromsizes[int(rng.integers(len(chromsizes)))]
        start = int(rng.integers(0, (length - 2_000_000) // RESOLUTION)) * RESOLUTION
        other = start if k % 2 == 0 else start + int(rng.integers(side, 1000)) * RESOLUTION
        loci.append([name, start, start + span, name, other, other + span])
    return loci


# --- the reference side (runs in .venv-bench) ------------------------------------------------


def _reference_cut(path, loci, dims):
    """Open the file and cut every locus as the original server's request does, with cooler."""
    import math

    import cooler
    import h5py
    import numpy as np

    out = []
    with h5py.File(path, "r") as f:
        clr = cooler.Cooler(f[f"resolutions/{RESOLUTION}"])
        names = list(clr.chromnames)
        sizes = [math.ceil(n / RESOLUTION) for n in clr.chromsizes.values]
        offsets = dict(zip(names, np.cumsum([0] + sizes[:-1])))
        nbins = clr.info["nbins"]
        selector = clr.matrix(balance=True)
        for chrom1, start1, end1, chrom2, start2, end2 in loci:
            box = []
            for chrom, start, end in ((chrom1, start1, end1), (chrom2, start2, end2)):
                first = int(offsets[chrom]) + int(round(start / RESOLUTION))
                stop = int(offsets[chrom]) + int(round(end / RESOLUTION)) + 1
                if stop - first < dims:
                    grow = (dims - (stop - first)) // 2
                    first, stop = first - grow, stop + grow
                stop = max(stop, first + dims)
                box += [first, stop]
            s1, e1, s2, e2 = box
            values = np.zeros((e1 - s1, e2 - s2))
            a1, b1, a2, b2 = max(s1, 0), min(e1, nbins), max(s2, 0), min(e2, nbins)
            values[a1 - s1:b1 - s1, a2 - s2:b2 - s2] = selector[a1:b1, a2:b2]
            low = np.isnan(values)
            values[low] = 0
            values -= values.min()
            cap = np.percentile(values, 100.0)
            values = np.clip(values, 0, cap)
            if cap > 0:
                values /= cap
            values[low] = -1
            out.append(values)
    return out


def worker():
    """One JSON command per line on stdin, one JSON answer per line on stdout."""
    import warnings

    warnings.filterwarnings("ignore")
    protocol, sys.stdout = sys.stdout, sys.stderr
    for line in sys.stdin:
        command = json.loads(line)
        if command["op"] == "quit":
            break
        started = time.perf_counter()
        fragments = _reference_cut(command["path"], command["loci"], command["dims"])
        answer = {"seconds": time.perf_counter() - started}
        if command.get("values"):
            answer["fragments"] = [f.tolist() for f in fragments]
        protocol.write(json.dumps(answer) + "\n")
        protocol.flush()


class Reference:
    def __init__(self):
        self.child = subprocess.Popen([str(BENCH_PYTHON), "-m", "bench.bench_fragments", "--worker"], cwd=REPO,
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def cut(self, loci, dims, values=False):
        self.child.stdin.write(json.dumps({"op": "cut", "path": str(MCOOL), "loci": loci, "dims": dims,
                                           "values": values}) + "\n")
        self.child.stdin.flush()
        return json.loads(self.child.stdout.readline())

    def close(self):
        self.child.stdin.write(json.dumps({"op": "quit"}) + "\n")
        self.child.stdin.flush()
        self.child.wait(30)


# --- our side ------------------------------------------------------------------------------------


def setup_django(state):
    os.environ["BASE_DIR"] = str(state)
    os.environ["HIGLASS_MEDIA_ROOT"] = str(state / "media")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "higlass_server.settings")
    for name in ("REDIS_HOST",):
        os.environ.pop(name, None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def ours_core(path, loci, dims):
    """The generator's cut and the service's finishing step, as the service runs them."""
    from fragments.finish import finish
    from tilesets import generators

    cuts = [{"chrom1": c1, "start1": s1, "end1": e1, "chrom2": c2, "start2": s2, "end2": e2, "zoom": 0,
             "dims": dims, "padding": 0} for c1, s1, e1, c2, s2, e2 in loci]
    options = {"balance": True, "max_data_dim": 4096, "max_data_cells": 1 << 26}
    results = generators.get("cooler").matrix(generators.Source(datafile=str(path)), cuts, options)
    return [finish(result) for result in results]


def run(args, state):
    import numpy as np

    setup_django(state)
    from django.test import Client

    from tilesets.ingest import ingest_tileset

    media = state / "media" / "bench"
    media.mkdir(parents=True)
    served = media / MCOOL.name
    try:
        os.link(MCOOL, served)
    except OSError:
        shutil.copyfile(MCOOL, served)
    ingest_tileset(datafile=str(served), filetype="cooler", datatype="matrix", uid=UID, no_upload=True)

    manifest = json.loads((DATA / "manifest.json").read_text())
    loci = make_loci(manifest["spec"]["chromsizes"], args.loci, args.side)
    dims = args.side
    body = json.dumps([locus + [UID, 0] for locus in loci])
    client = Client()

    def http():
        response = client.post(f"/api/v1/fragments_by_loci/?dims={dims}&nc=1", body, content_type="application/json")
        assert response.status_code == 200, response.content[:300]
        return response

    reference = Reference()
    try:
        theirs = reference.cut(loci, dims, values=True)["fragments"]  # also warms both sides
        mine = ours_core(served, loci, dims)
        over_http = http().json()["fragments"]
        equal = all(np.allclose(np.asarray(a), b, rtol=1e-6, atol=1e-9, equal_nan=True) and
                    np.array_equal(np.asarray(a) == -1, b == -1) for a, b in zip(theirs, mine))
        equal_http = all(np.allclose(np.asarray(a), np.asarray(b), rtol=1e-12) for a, b in zip(over_http, mine))
        t_ref, t_core, t_http = [], [], []
        for _ in range(args.rounds):
            t_ref.append(reference.cut(loci, dims)["seconds"])
            started = time.perf_counter()
            ours_core(served, loci, dims)
            t_core.append(time.perf_counter() - started)
            started = time.perf_counter()
            http()
            t_http.append(time.perf_counter() - started)
    finally:
        reference.close()

    def ms(values):
        return round(statistics.median(values) * 1000, 2)

    return {
        "loci": args.loci, "side": args.side, "dims": dims, "rounds": args.rounds, "resolution": RESOLUTION,
        "reference_ms": ms(t_ref), "ours_core_ms": ms(t_core), "ours_http_ms": ms(t_http),
        "paired_ratio_core": round(statistics.median(a / b for a, b in zip(t_core, t_ref)), 3),
        "paired_ratio_http": round(statistics.median(a / b for a, b in zip(t_http, t_ref)), 3),
        "values_equal": bool(equal), "http_equal_core": bool(equal_http),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--loci", type=int, default=64)
    parser.add_argument("--side", type=int, default=64)
    args = parser.parse_args()
    if args.worker:
        return worker()
    if not MCOOL.exists():
        sys.exit(f"{MCOOL} is missing: run `make bench` (or `.venv-bench/bin/python -m bench.data`) first.")
    if not BENCH_PYTHON.exists():
        sys.exit(f"{BENCH_PYTHON} is missing: `make bench` creates .venv-bench.")
    sys.path.insert(0, str(REPO))
    state = Path(tempfile.mkdtemp(prefix="fragments-", dir=DATA))
    try:
        results = run(args, state)
    finally:
        shutil.rmtree(state, ignore_errors=True)
    (DATA / "results").mkdir(exist_ok=True)
    (DATA / "results" / "fragments.json").write_text(json.dumps(results, indent=1) + "\n")
    print(f"{results['loci']} loci of {results['side']}×{results['side']} bins at {RESOLUTION // 1000} kb, "
          f"{results['rounds']} rounds, warm medians (ms); ratio = ours / cooler, paired per round (goal ≤ 0.3)\n")
    print("| side | ms per request | paired ratio | values equal to cooler's |")
    print("|---|---|---|---|")
    print(f"| cooler (reference) | {results['reference_ms']} | 1 | |")
    print(f"| ours: cut + finish | {results['ours_core_ms']} | {results['paired_ratio_core']} | "
          f"{'yes' if results['values_equal'] else 'NO'} |")
    print(f"| ours: HTTP (JSON included) | {results['ours_http_ms']} | {results['paired_ratio_http']} | "
          f"{'yes' if results['http_equal_core'] else 'NO'} |")


if __name__ == "__main__":
    main()
