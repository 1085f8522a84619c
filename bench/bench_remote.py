"""`make bench-remote`: tiles of the same files read locally and over HTTP, in the same run.

A loopback range server (``bench/range_server.py``) runs in a child process and serves
``.bench-data/`` (written by ``make bench``'s data step). For every filetype with a file there
(cooler, bigWig, multivec, beddb, bigBed, BAM), the generators of ``tilesets.generators`` are
called directly (no Django) with ``Source(<local path>)`` and ``Source(<URL>)`` on the same fixed
tile positions (``bench.common.plan``):

* **warm**: a first pass over every position reads each side once (so the remote side's blocks
  are in its in-memory cache, as in a server that has been running); the timed pass then
  alternates local and remote request by request, the order swapping every request. Reported:
  median local, median remote, their ratio, and the median of the per-request ratios (remote /
  local, "paired"). The goal (issue 12): a warm remote tile within 1.5x of the local one. The
  tiles of both sides are compared (their JSON, byte for byte).
* **cold**: a fresh process (``--cold``) with an empty disk cache asks for ``tileset_info`` and
  one tile of the remote ``.mcool``; the server counts the range requests it saw (the probe
  included). The goal: at most 8. Then a second fresh process with the same disk-cache folder
  (another worker, or a restart, after the file was opened once on this machine).

Results: a table on stdout and ``.bench-data/results/remote-latest.{md,json}``.
"""

import argparse
import datetime
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.common import _plain, plan  # noqa: E402

KINDS = ("cooler", "bigwig", "multivec", "beddb", "bigbed", "bam")
GOAL_WARM = 1.5
GOAL_COLD = 8
MAX_BAM_TILE_WIDTH = 100_000


def log(message):
    print(f"[bench-remote] {message}", file=sys.stderr, flush=True)


def configure(cache_dir):
    from tilesets import generators

    generators.configure_remote(
        allow_private_hosts=True,
        disk_cache_dir=os.path.join(cache_dir, "remote"),
        udc_cache_dir=os.path.join(cache_dir, "udc"),
        revalidate_seconds=3600,  # the bench measures reading, not re-probing
    )
    return generators


# --- the range server ---------------------------------------------------------------------------


class RangeServer:
    def __init__(self, folder):
        self.proc = subprocess.Popen([sys.executable, "-m", "bench.range_server", str(folder)],
                                     cwd=REPO, stdout=subprocess.PIPE, text=True)
        self.port = int(self.proc.stdout.readline())
        self.base = f"http://127.0.0.1:{self.port}/"

    def _get(self, path):
        with urllib.request.urlopen(self.base + path, timeout=30) as response:
            return json.loads(response.read())

    def stats(self):
        return self._get("__stats")

    def reset(self):
        return self._get("__reset")

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


# --- the sides ------------------------------------------------------------------------------------


def sources(generators, data, manifest, base):
    """{kind: (local Source, remote Source)} for the files present."""
    files = manifest["files"]
    sizes = (data / files["chromsizes"]).read_text().splitlines()
    chromsizes = [(n, int(s)) for n, s in (line.split("\t") for line in sizes if line)]
    contexts = {"bigwig": {"chromsizes": chromsizes}, "bigbed": {"chromsizes": chromsizes},
                "bam": {"max_tile_width": MAX_BAM_TILE_WIDTH}}
    out = {}
    for kind in KINDS:
        name = files.get(kind)
        if not name or not (data / name).exists():
            continue
        index = files.get("bam_index") if kind == "bam" else None
        local = generators.Source(datafile=str(data / name), indexfile=str(data / index) if index else None,
                                  context=contexts.get(kind))
        remote = generators.Source(datafile=base + name, indexfile=base + index if index else None,
                                   context=contexts.get(kind))
        out[kind] = (local, remote)
    return out


def tile_requests(generators, kind, ids):
    generator = generators.get(kind)
    out = []
    for tile_id in ids:
        uid, zoom, *rest = tile_id.split(".")
        dims = generator.dimensions
        out.append(generators.TileRequest(tile_id, uid, int(zoom), tuple(int(v) for v in rest[:dims]),
                                          tuple(rest[dims:])))
    return out


def timed_tiles(generators, kind, source, ids):
    requests = tile_requests(generators, kind, ids)
    started = time.perf_counter()
    produced = generators.get(kind).tiles(source, requests, None)
    return time.perf_counter() - started, produced


def as_json(value):
    return json.dumps(value, sort_keys=True, default=_plain)


# --- warm ----------------------------------------------------------------------------------------


def warm(generators, server, pairs, rows):
    """Per row of the plan and per filetype (all its rows pooled): warm medians and ratios."""
    results, failed = [], {}
    for kind, (local, remote) in pairs.items():
        generator = generators.get(kind)
        kind_rows = [row for row in rows if row["kind"] == kind]
        if generator is None or generator.tiles is None or not kind_rows:
            continue
        tiles = [(row["key"], f"bench-{kind}.{tile}") for row in kind_rows
                 for request in row["requests"] for tile in request]
        first = {"local": [], "remote": []}
        try:
            same_info = as_json(generator.tileset_info(local)) == as_json(generator.tileset_info(remote))
            for number, (_key, tile_id) in enumerate(tiles):  # the first pass: every block read once
                for side, source in (("local", local), ("remote", remote)):
                    seconds = timed_tiles(generators, kind, source, [tile_id])[0]
                    if number:  # the first tile also opened the data structures
                        first[side].append(seconds)
        except Exception as exc:  # a filetype that cannot read URLs yet
            failed[kind] = f"{type(exc).__name__}: {exc}"
            log(f"{kind}: not measured ({failed[kind]})")
            continue
        before = server.stats()["ranged"]
        timed = []  # (row key, local s, remote s, equal)
        for number, (key, tile_id) in enumerate(tiles):
            order = (("local", local), ("remote", remote))
            produced, seconds = {}, {}
            for side, source in (order if number % 2 == 0 else order[::-1]):
                seconds[side], produced[side] = timed_tiles(generators, kind, source, [tile_id])
            timed.append((key, seconds["local"], seconds["remote"],
                          as_json(produced["local"]) == as_json(produced["remote"])))
        during = server.stats()["ranged"] - before
        for row in kind_rows:
            results.append(summary(row["key"], kind, [t for t in timed if t[0] == row["key"]]))
        pooled = summary(f"{kind} (all)", kind, timed)
        pooled.update({"info_equal": same_info, "requests_while_timed": during, "pooled": True,
                       "first_local_ms": statistics.median(first["local"]) * 1000,
                       "first_remote_ms": statistics.median(first["remote"]) * 1000})
        results.append(pooled)
        log(f"{kind}: local {pooled['local_ms']:.2f} ms, remote {pooled['remote_ms']:.2f} ms, ratio "
            f"{pooled['ratio']:.2f}, paired {pooled['paired']:.2f}, total {pooled['total_ratio']:.2f}, "
            f"equal {pooled['equal']}/{pooled['tiles']}, {during} requests while timed")
    return results, failed


def summary(key, kind, timed):
    t_local = [t[1] for t in timed]
    t_remote = [t[2] for t in timed]
    local_ms, remote_ms = statistics.median(t_local) * 1000, statistics.median(t_remote) * 1000
    entry = {
        "key": key, "kind": kind, "tiles": len(timed), "local_ms": local_ms, "remote_ms": remote_ms,
        "ratio": remote_ms / local_ms,
        "paired": statistics.median(r / l for _k, l, r, _e in timed),
        "total_ratio": sum(t_remote) / sum(t_local),  # heavy tiles weigh in
        "equal": sum(t[3] for t in timed), "pooled": False,
    }
    entry["met"] = entry["ratio"] <= GOAL_WARM
    return entry


# --- cold ----------------------------------------------------------------------------------------


def cold(server, base, name, tile_id, cache_dir):
    """Range requests for tileset_info + one tile of ``name`` in a fresh process."""
    server.reset()
    reply = subprocess.run(
        [sys.executable, "-m", "bench.bench_remote", "--cold-child", base + name, tile_id, cache_dir,
         base + "__stats"], cwd=REPO, capture_output=True, text=True, timeout=600,
    )
    if reply.returncode:
        raise RuntimeError(f"the cold child failed:\n{reply.stderr}")
    child = json.loads(reply.stdout.strip().splitlines()[-1])
    child["requests"] = server.stats()["ranged"]
    return child


def cold_child(url, tile_id, cache_dir, stats_url):
    generators = configure(cache_dir)
    generator = generators.get("cooler")
    source = generators.Source(datafile=url)

    def seen():
        with urllib.request.urlopen(stats_url, timeout=30) as response:
            return json.loads(response.read())["ranged"]

    started = time.perf_counter()
    generator.tileset_info(source)
    info_s = time.perf_counter() - started
    after_info = seen()
    seconds, _ = timed_tiles(generators, "cooler", source, [tile_id])
    print(json.dumps({"info_ms": info_s * 1000, "tile_ms": seconds * 1000,
                      "info_requests": after_info}), flush=True)


# --- report --------------------------------------------------------------------------------------


def machine():
    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return {"date": datetime.datetime.now().astimezone().isoformat(timespec="minutes"),
            "cpus": os.cpu_count(), "cpu": cpu, "load_avg": [round(v, 2) for v in os.getloadavg()]}


def report(results):
    m = results["machine"]
    lines = [f"Remote bench {m['date']}: {m['cpus']} CPUs ({m['cpu']}), load {m['load_avg']} at the end; "
             f"block {results['config']['block_size'] // 1024} KiB",
             "Warm medians in ms per tile, local path vs the same file over loopback HTTP. ratio = median "
             "remote / median local (the goal: <= 1.5x); paired = median of the per-tile ratios; total = "
             "sum remote / sum local (heavy tiles weigh in).", ""]
    table = [["row", "tiles", "local", "remote", "ratio", "paired", "total", "met", "equal"]]
    table.append(["---"] * len(table[0]))
    for r in results["warm"]:
        label = f"**{r['key']}**" if r["pooled"] else r["key"]
        equal = f"{r['equal']}/{r['tiles']}"
        if r["pooled"] and not r["info_equal"]:
            equal += " (tileset_info differs)"
        table.append([label, str(r["tiles"]), f"{r['local_ms']:.2f}", f"{r['remote_ms']:.2f}",
                      f"{r['ratio']:.2f}x", f"{r['paired']:.2f}x", f"{r['total_ratio']:.2f}x",
                      "yes" if r["met"] else "NO", equal])
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    lines += ["| " + " | ".join(c.ljust(widths[i]) for i, c in enumerate(row)) + " |" for row in table]
    lines.append("")
    lines.append("Per filetype: range requests while timed (warm: expected 0 unless a library reads the URL "
                 "itself); first pass median local / remote ms (files open, blocks not cached yet):")
    for r in results["warm"]:
        if r["pooled"]:
            lines.append(f"  {r['kind']}: {r['requests_while_timed']} requests; first pass "
                         f"{r['first_local_ms']:.2f} / {r['first_remote_ms']:.2f} ms")
    for kind, error in results.get("not_measured", {}).items():
        lines.append(f"Not measured: {kind} ({error})")
    lines.append("")
    for label, entry in results["cold"].items():
        lines.append(f"Cold .mcool ({label}): {entry['requests']} range requests for tileset_info + the first "
                     f"tile ({entry['info_requests']} for tileset_info, the probe included; goal <= {GOAL_COLD}: "
                     f"{'yes' if entry['requests'] <= GOAL_COLD else 'NO'}); "
                     f"{entry['info_ms']:.0f} ms + {entry['tile_ms']:.0f} ms")
    return "\n".join(lines)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--cold-child":
        return cold_child(*argv[1:5])
    parser = argparse.ArgumentParser(description="Tiles read locally against the same files over HTTP.")
    parser.add_argument("--data", default=str(REPO / ".bench-data"))
    parser.add_argument("--repeats", type=int, default=int(os.environ.get("BENCH_REPEATS", 20)),
                        help="tile positions per row of bench.common.plan (default 20)")
    parser.add_argument("--only", default=os.environ.get("BENCH_ONLY", ""),
                        help="comma-separated row key prefixes, as for bench/run.py (e.g. cooler,bigwig-fine)")
    args = parser.parse_args(argv)

    data = Path(args.data).resolve()
    manifest = json.loads((data / "manifest.json").read_text())
    rows = [r for r in plan(manifest, repeats=args.repeats, blocks=1) if r["key"] != "cooler-9"]
    if args.only:
        rows = [r for r in rows if any(r["key"].startswith(p) for p in args.only.split(","))]
    scratch = tempfile.mkdtemp(prefix="bench-remote-")
    server = RangeServer(data)
    log(f"range server on 127.0.0.1:{server.port}, caches in {scratch}")
    results = {"warm": [], "cold": {}}
    try:
        first = next((r for r in rows if r["kind"] == "cooler"), None)
        if first is not None:
            tile_id = f"bench-cooler.{first['requests'][0][0]}"
            cold_dir = os.path.join(scratch, "cold")
            results["cold"]["fresh process, empty disk cache"] = cold(
                server, server.base, manifest["files"]["cooler"], tile_id, cold_dir)
            results["cold"]["fresh process, disk cache of the first one"] = cold(
                server, server.base, manifest["files"]["cooler"], tile_id, cold_dir)
        generators = configure(os.path.join(scratch, "warm"))
        pairs = sources(generators, data, manifest, server.base)
        results["warm"], results["not_measured"] = warm(generators, server, pairs, rows)
    finally:
        server.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    from tilesets.formats import access

    config = access.remote_config()
    results["config"] = {"block_size": config.block_size, "memory_cache_bytes": config.memory_cache_bytes}
    results["machine"] = machine()
    text = report(results)
    out = data / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "remote-latest.json").write_text(json.dumps(results, indent=1))
    (out / "remote-latest.md").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
