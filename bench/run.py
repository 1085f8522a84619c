"""`make bench`: our tile server against clodius 0.20.4, in the same run, on the same tiles.

Runs in the project's ``.venv`` (our generators, our Django server under gunicorn). clodius runs
in a child process with ``.venv-bench``'s Python (``bench/clodius_worker.py``); the two sides are
driven alternately, request by request, so both see the same machine load.

For every row of ``bench.common.plan`` (fixed-seed tile positions) and every request in it:

* ours, in-process: ``GENERATOR.tiles(Source, [TileRequest], None)``, timed with perf_counter;
* clodius, in-process (worker): the function higlass-server calls, timed the same way;
* ours over HTTP: ``GET /api/v1/tiles/?d=...`` against one gunicorn sync worker on 127.0.0.1,
  timed from sending the request to having the whole body.

Each answer is summarised (sha256 of the decoded ``dense`` bytes, dtype, min/max, size/shape,
key set) and compared between the sides. Medians are reported; all timings are *warm*: each file
was opened by a first request (reported separately as "first request") before the rows start.

Results: a table on stdout, and ``.bench-data/results/latest.{json,md}``.
"""

import argparse
import datetime
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.common import compare, decode_dense, plan, summarize  # noqa: E402

KINDS = ("cooler", "bigwig", "multivec", "beddb", "bigbed", "bam")
UIDS = {"cooler": "bench-cooler", "bigwig": "bench-bigwig", "multivec": "bench-multivec",
        "beddb": "bench-beddb", "bigbed": "bench-bigbed", "bam": "bench-bam",
        "chromsizes": "bench-chromsizes"}
# issue 5 item 6: beddb, bigBed and BAM no slower than clodius at every zoom
TARGETS = {"cooler": 5.0, "bigwig": 2.0, "multivec": 2.0, "beddb": 1.0, "bigbed": 1.0, "bam": 1.0}
MAX_BAM_TILE_WIDTH = 100_000  # the server's default; the same on both sides
COORD_SYSTEM = "bench129"
RSS_LIMIT_MB = 500
NAMES = {"cooler": "cooler", "bigwig": "bigWig", "multivec": "multivec", "beddb": "beddb", "bigbed": "bigBed",
         "bam": "BAM"}


def log(message):
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# --- the clodius side -----------------------------------------------------------------------


class ClodiusWorker:
    def __init__(self, python, data):
        self.proc = subprocess.Popen(
            [python, "-m", "bench.clodius_worker", str(data)], cwd=REPO,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1,
        )

    def call(self, **command):
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the clodius worker died (see its traceback above)")
        return json.loads(line)

    def close(self):
        try:
            self.proc.stdin.write(json.dumps({"op": "quit"}) + "\n")
            self.proc.stdin.close()
            self.proc.wait(timeout=30)
        except Exception:
            self.proc.kill()


# --- our side ---------------------------------------------------------------------------------


class Ours:
    def __init__(self, data, manifest):
        from tilesets import generators

        self.generators = generators
        files = {kind: str(data / name) for kind, name in manifest["files"].items()}
        chromsizes = [(n, int(s)) for n, s in (l.split("\t") for l in Path(files["chromsizes"]).read_text().splitlines() if l)]
        self.sources = {
            "cooler": generators.Source(datafile=files["cooler"]),
            "bigwig": generators.Source(datafile=files["bigwig"], context={"chromsizes": chromsizes}),
            "multivec": generators.Source(datafile=files["multivec"]),
        }
        if "beddb" in files:
            self.sources.update({
                "beddb": generators.Source(datafile=files["beddb"]),
                "bigbed": generators.Source(datafile=files["bigbed"], context={"chromsizes": chromsizes}),
                "bam": generators.Source(datafile=files["bam"], indexfile=files["bam_index"],
                                         context={"max_tile_width": MAX_BAM_TILE_WIDTH}),
            })

    def available(self, kind):
        generator = self.generators.get(kind)
        return generator is not None and generator.tiles is not None

    def requests(self, kind, ids):
        generator = self.generators.get(kind)
        out = []
        for tile_id in ids:
            uid, zoom, *rest = tile_id.split(".")
            dims = generator.dimensions
            out.append(self.generators.TileRequest(tile_id, uid, int(zoom), tuple(int(v) for v in rest[:dims]),
                                                   tuple(rest[dims:])))
        return out

    def info(self, kind):
        started = time.perf_counter()
        info = self.generators.get(kind).tileset_info(self.sources[kind])
        return time.perf_counter() - started, info

    def tiles(self, kind, ids):
        generator = self.generators.get(kind)
        requests = self.requests(kind, ids)
        started = time.perf_counter()
        produced = generator.tiles(self.sources[kind], requests, None)
        return time.perf_counter() - started, produced


# --- our server ---------------------------------------------------------------------------------


class Server:
    """migrate + ingest into a throw-away data folder, then one gunicorn sync worker on 127.0.0.1."""

    def __init__(self, data, manifest, kinds):
        self.data = data
        self.base = data / "server"
        self.env = dict(os.environ)
        for name in ("REDIS_HOST", "DATABASE_URL", "HIGLASS_CONFIG", "MEDIA_ROOT"):
            self.env.pop(name, None)
        self.env.update({
            "BASE_DIR": str(self.base), "HIGLASS_MEDIA_ROOT": str(data), "DEBUG": "false",
            "LOG_LEVEL_FILE": "CRITICAL", "LOG_LEVEL_CONSOLE": "WARNING", "PYTHONUNBUFFERED": "1",
        })
        self.manifest = manifest
        self.kinds = kinds
        self.proc = None
        self.port = None

    def _manage(self, *args):
        result = subprocess.run([sys.executable, "manage.py", *args], cwd=REPO, env=self.env,
                                capture_output=True, text=True)
        if result.returncode:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stderr}")
        return result.stdout

    def prepare(self):
        import shutil

        shutil.rmtree(self.base, ignore_errors=True)
        self.base.mkdir(parents=True)
        self._manage("migrate", "--noinput", "-v", "0")
        files = self.manifest["files"]
        self._manage("ingest_tileset", "--filename", files["chromsizes"], "--no-upload", "--filetype",
                     "chromsizes-tsv", "--datatype", "chromsizes", "--coordSystem", COORD_SYSTEM,
                     "--uid", UIDS["chromsizes"])
        datatypes = {"cooler": "matrix", "bigwig": "vector", "multivec": "multivec", "beddb": "gene-annotation",
                     "bigbed": "bedlike", "bam": "reads"}
        for kind in self.kinds:
            extra = ["--indexfile", files["bam_index"]] if kind == "bam" else []
            self._manage("ingest_tileset", "--filename", files[kind], "--no-upload", "--filetype", kind,
                         "--datatype", datatypes[kind], "--coordSystem", COORD_SYSTEM, "--uid", UIDS[kind], *extra)

    def start(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        gunicorn = str(Path(sys.executable).with_name("gunicorn"))
        self.log = open(self.base / "gunicorn.log", "w")
        self.proc = subprocess.Popen(
            [gunicorn, "higlass_server.wsgi:application", "--bind", f"127.0.0.1:{self.port}",
             "--workers", "1", "--timeout", "600", "--no-control-socket"],
            cwd=REPO, env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
        )
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited; see {self.base / 'gunicorn.log'}")
            try:
                with urllib.request.urlopen(self.url("/api/v1/tilesets/?limit=1"), timeout=5) as response:
                    response.read()
                break
            except OSError:
                time.sleep(0.2)
        else:
            raise RuntimeError("gunicorn did not answer within 60 s")
        self.worker_pid = self._worker_pid()

    def _worker_pid(self):
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()
        if len(children) != 1:
            raise RuntimeError(f"expected one gunicorn worker, found {children}")
        return int(children[0])

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def tiles(self, ids):
        query = "&".join(f"d={i}" for i in ids)
        started = time.perf_counter()
        with urllib.request.urlopen(self.url(f"/api/v1/tiles/?{query}"), timeout=600) as response:
            body = response.read()
        seconds = time.perf_counter() - started
        return seconds, json.loads(body), len(body)

    def memory(self):
        """(VmHWM, VmRSS) of the worker in MB."""
        return proc_memory(self.worker_pid)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        if self.proc:
            self.log.close()


def proc_memory(pid):
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(("VmHWM:", "VmRSS:")):
            key, amount, _unit = line.split()
            values[key[:-1]] = int(amount) / 1024
    return values.get("VmHWM"), values.get("VmRSS")


# --- the run ------------------------------------------------------------------------------------


def median_ms(values):
    return statistics.median(values) * 1000 if values else None


def run(args):
    data = Path(args.data).resolve()
    manifest = json.loads((data / "manifest.json").read_text())
    rows = plan(manifest, repeats=args.repeats, blocks=args.blocks)
    if args.only:
        rows = [r for r in rows if any(r["key"].startswith(p) for p in args.only.split(","))]

    clodius = ClodiusWorker(args.bench_python, data)
    versions = clodius.call(op="hello")
    log(f"clodius side: {versions}")
    ours = Ours(data, manifest)
    kinds = [k for k in KINDS if any(r["kind"] == k for r in rows)]
    missing = [k for k in kinds if not ours.available(k)]
    if missing:
        log(f"no generator yet in tilesets/generators/ for: {', '.join(missing)} (clodius side only)")
    present = [k for k in kinds if k not in missing]

    server = None
    if present and not args.no_http:
        server = Server(data, manifest, present)
        log("preparing the server's database (migrate, ingest)")
        server.prepare()
        server.start()
        log(f"gunicorn on 127.0.0.1:{server.port}, worker pid {server.worker_pid}")

    results = {"rows": [], "first": {}, "versions": versions, "mismatches": [],
               "load_avg_at_start": [round(v, 2) for v in os.getloadavg()]}
    try:
        # First request per filetype: file opening + tileset_info + one tile, on each side.
        for kind in kinds:
            first_id = next(r for r in rows if r["kind"] == kind)["requests"][0][0]
            tile_id = f"{UIDS[kind]}.{first_id}"
            entry = {}
            reply = clodius.call(op="info", kind=kind)
            entry["clodius_info_ms"] = reply["seconds"] * 1000
            reply = clodius.call(op="tiles", kind=kind, ids=[tile_id])
            entry["clodius_tile_ms"] = reply["seconds"] * 1000
            if kind in present:
                seconds, _ = ours.info(kind)
                entry["ours_info_ms"] = seconds * 1000
                seconds, _ = ours.tiles(kind, [tile_id])
                entry["ours_tile_ms"] = seconds * 1000
                if server:
                    seconds, _, _ = server.tiles([tile_id])
                    entry["http_tile_ms"] = seconds * 1000
            results["first"][kind] = entry

        for row in rows:
            kind = row["kind"]
            have_ours = kind in present
            t_clodius, t_ours, t_http, t_json = [], [], [], []
            equal = compared = http_equal = http_compared = 0
            log(f"{row['label']}: {len(row['requests'])} requests")
            for index, suffixes in enumerate(row["requests"]):
                ids = [f"{UIDS[kind]}.{s}" for s in suffixes]
                order = ["clodius", "ours", "http"] if index % 2 else ["http", "ours", "clodius"]
                theirs = mine = via_http = None
                for side in order:
                    if side == "clodius":
                        reply = clodius.call(op="tiles", kind=kind, ids=ids)
                        if "error" in reply:
                            raise RuntimeError(f"clodius failed on {ids}: {reply['error']}")
                        t_clodius.append(reply["seconds"])
                        t_json.append(reply["json_seconds"])
                        theirs = reply["summaries"]
                    elif side == "ours" and have_ours:
                        seconds, produced = ours.tiles(kind, ids)
                        t_ours.append(seconds)
                        mine = produced
                    elif side == "http" and have_ours and server:
                        seconds, answer, _size = server.tiles(ids)
                        t_http.append(seconds)
                        via_http = answer
                if mine is not None:
                    for tile_id in ids:
                        ours_summary = summarize(mine[tile_id], kind) if tile_id in mine else None
                        difference = compare(ours_summary, theirs.get(tile_id))
                        compared += 1
                        if not difference:
                            equal += 1
                        elif len([m for m in results["mismatches"] if m["row"] == row["key"]]) < 3:
                            results["mismatches"].append(detail(clodius, kind, row["key"], tile_id,
                                                                mine.get(tile_id), difference))
                if via_http is not None:
                    for tile_id in ids:
                        summary = summarize(via_http[tile_id], kind) if tile_id in via_http else None
                        http_compared += 1
                        http_equal += not compare(summary, theirs.get(tile_id))
            entry = {
                "key": row["key"], "kind": kind, "label": row["label"], "zoom": row["zoom"],
                "requests": len(row["requests"]), "tiles_per_request": len(row["requests"][0]),
                "clodius_ms": median_ms(t_clodius), "ours_ms": median_ms(t_ours), "http_ms": median_ms(t_http),
                "clodius_plus_json_ms": median_ms([a + b for a, b in zip(t_clodius, t_json)]),
                "clodius_all_ms": [round(t * 1000, 3) for t in t_clodius],
                "ours_all_ms": [round(t * 1000, 3) for t in t_ours],
                "http_all_ms": [round(t * 1000, 3) for t in t_http],
                "equal": equal, "compared": compared, "http_equal": http_equal, "http_compared": http_compared,
                "target": TARGETS[kind],
            }
            # the 9-tile view is judged end to end through HTTP; single tiles generator to generator
            basis = entry["http_ms"] if row["key"] == "cooler-9" else entry["ours_ms"]
            entry["basis"] = "http" if row["key"] == "cooler-9" else "in-process"
            entry["ratio"] = entry["clodius_ms"] / basis if basis else None
            # the median of the per-request ratios (each pair ran back to back: less sensitive to
            # load that changes during the run)
            paired_basis = t_http if row["key"] == "cooler-9" else t_ours
            entry["paired_ratio"] = (statistics.median(a / b for a, b in zip(t_clodius, paired_basis))
                                     if paired_basis else None)
            entry["http_ratio"] = entry["clodius_ms"] / entry["http_ms"] if entry["http_ms"] else None
            entry["met"] = entry["ratio"] is not None and entry["ratio"] >= entry["target"]
            results["rows"].append(entry)
        results["rows"].extend(pooled(results["rows"]))
        if server:
            hwm, rss = server.memory()
            results["server_memory_mb"] = {"VmHWM": hwm, "VmRSS": rss, "limit": RSS_LIMIT_MB}
        results["clodius_memory_mb"] = dict(zip(("VmHWM", "VmRSS"), proc_memory(clodius.proc.pid)))
        results["driver_memory_mb"] = dict(zip(("VmHWM", "VmRSS"), proc_memory(os.getpid())))
    finally:
        clodius.close()
        if server:
            server.stop()

    results["missing"] = missing
    results["machine"] = machine()
    results["data"] = {"genome_length": manifest["genome_length"], "details": manifest["details"],
                       "sizes_bytes": manifest["sizes_bytes"]}
    results["settings"] = {"repeats": args.repeats, "blocks": args.blocks}
    return results


def pooled(entries):
    """One row per filetype over all its single-tile rows: the median over every tile timed."""
    out = []
    for kind in KINDS:
        rows = [e for e in entries if e["kind"] == kind and e["tiles_per_request"] == 1]
        if len(rows) < 2:
            continue
        merged = {name: [t for e in rows for t in e[f"{name}_all_ms"]] for name in ("clodius", "ours", "http")}
        med = {name: statistics.median(v) if v else None for name, v in merged.items()}
        entry = {
            "key": f"{kind}-all", "kind": kind, "zoom": None,
            "label": f"{NAMES[kind]}, all single tiles above",
            "requests": sum(e["requests"] for e in rows), "tiles_per_request": 1,
            "clodius_ms": med["clodius"], "ours_ms": med["ours"], "http_ms": med["http"],
            "clodius_plus_json_ms": None,
            "equal": sum(e["equal"] for e in rows), "compared": sum(e["compared"] for e in rows),
            "http_equal": sum(e["http_equal"] for e in rows), "http_compared": sum(e["http_compared"] for e in rows),
            "target": TARGETS[kind], "basis": "in-process",
        }
        entry["ratio"] = entry["clodius_ms"] / entry["ours_ms"] if entry["ours_ms"] else None
        pairs = [a / b for e in rows for a, b in zip(e["clodius_all_ms"], e["ours_all_ms"])]
        entry["paired_ratio"] = statistics.median(pairs) if pairs else None
        entry["http_ratio"] = entry["clodius_ms"] / entry["http_ms"] if entry["http_ms"] else None
        entry["met"] = entry["ratio"] is not None and entry["ratio"] >= entry["target"]
        out.append(entry)
    return out


def detail(clodius, kind, row_key, tile_id, mine, difference):
    """A closer look at one tile that differs: how many values, by how much."""
    info = {"row": row_key, "tile": tile_id, "difference": difference}
    reply = clodius.call(op="tiles", kind=kind, ids=[tile_id], full=True)
    theirs = reply.get("tiles", {}).get(tile_id)
    if kind in ("beddb", "bigbed") and isinstance(mine, list) and isinstance(theirs, list):
        keys = ("chrOffset", "importance", "fields")
        a = {json.dumps([e.get(k) for k in keys]) for e in mine}
        b = {json.dumps([e.get(k) for k in keys]) for e in theirs}
        info.update({"entries": [len(mine), len(theirs)], "only_ours": len(a - b), "only_clodius": len(b - a)})
        if len(theirs) == 0 and len(mine) and len(mine) % 200 == 0:
            info["note"] = "clodius returns nothing for a piece thresholded to <= 200 records (docs/filetypes.md, bigBed: ours keeps them)"
        elif len(mine) == len(theirs) and len(mine) % 200 == 0 and len(mine):
            info["note"] = "a piece with > 200 records: both sides sample 200 at random"
        if not a ^ b:
            info["same_entries_other_order_or_keys"] = True
            info["keys"] = [sorted(mine[0]) if mine else [], sorted(theirs[0]) if theirs else []]
    elif kind == "bam" and isinstance(mine, dict) and isinstance(theirs, dict):
        info["columns_differ"] = sorted(k for k in set(mine) | set(theirs)
                                        if json.dumps(mine.get(k)) != json.dumps(theirs.get(k)))
    if isinstance(mine, dict) and isinstance(theirs, dict) and "dense" in mine and "dense" in theirs:
        import numpy as np

        a, b = decode_dense(mine), decode_dense(theirs)
        info["lengths"] = [int(a.size), int(b.size)]
        if a.size == b.size:
            nan_a, nan_b = np.isnan(a), np.isnan(b)
            both = ~nan_a & ~nan_b
            info["nan_positions_differ"] = int((nan_a != nan_b).sum())
            diff = np.abs(a[both] - b[both])
            info["values_differ"] = int((diff > 0).sum())
            info["max_abs_diff"] = float(diff.max()) if diff.size else 0.0
    return info


def machine():
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "?"
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{kb / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return {"date": datetime.datetime.now().astimezone().isoformat(timespec="minutes"),
            "cpus": os.cpu_count(), "cpu": cpu, "memory": memory, "python": platform.python_version(),
            "load_avg_at_end": [round(v, 2) for v in os.getloadavg()]}


# --- the report ---------------------------------------------------------------------------------


def fmt(value, digits=1):
    if value is None:
        return "n/a"
    if value >= 100:
        return f"{value:.0f}"
    return f"{value:.{digits}f}"


def report(results):
    lines = []
    m = results["machine"]
    lines.append(f"Benchmark {m['date']}: {m['cpus']} CPUs ({m['cpu']}), {m['memory']}, Python {m['python']}; "
                 f"clodius {results['versions'].get('clodius')} (numpy {results['versions'].get('numpy')}, "
                 f"pandas {results['versions'].get('pandas')})")
    lines.append("Warm medians in ms per request (1 tile, or the 9 tiles of a view). ratio = median clodius / "
                 "median ours; paired = median of the per-request ratios. 'met' judges the ratio of medians.")
    lines.append("")
    header = ["request", "n", "clodius", "ours", "ratio", "paired", "ours HTTP", "target", "met", "equal",
              "equal HTTP"]
    table = [header, ["---"] * len(header)]
    for r in results["rows"]:
        label = r["label"]
        clodius_cell = fmt(r["clodius_ms"])
        ours_cell = fmt(r["ours_ms"])
        if r["key"] == "cooler-9":
            clodius_cell += " (in-process)"
            ours_cell += " (in-process)"
        digits = 2 if r["target"] < 2 else 1
        ratio = f"{r['ratio']:.{digits}f}x" if r["ratio"] else "n/a"
        if r["key"] == "cooler-9" and r["ratio"]:
            ratio += " (HTTP vs clodius)"
        table.append([
            label, str(r["requests"]), clodius_cell, ours_cell, ratio,
            f"{r['paired_ratio']:.{digits}f}x" if r.get("paired_ratio") else "n/a", fmt(r["http_ms"]),
            f">={r['target']:.0f}x", ("yes" if r["met"] else "NO") if r["ratio"] else "n/a",
            f"{r['equal']}/{r['compared']}" if r["compared"] else "n/a",
            f"{r['http_equal']}/{r['http_compared']}" if r["http_compared"] else "n/a",
        ])
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        lines.append("| " + " | ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)) + " |")
    lines.append("")
    nine = next((r for r in results["rows"] if r["key"] == "cooler-9"), None)
    if nine and nine["http_ms"]:
        lines.append(f"9-tile view: ours end to end through HTTP {fmt(nine['http_ms'])} ms (generator alone "
                     f"{fmt(nine['ours_ms'])} ms, {nine['clodius_ms'] / nine['ours_ms']:.1f}x) vs clodius in-process "
                     f"{fmt(nine['clodius_ms'])} ms; clodius + the json.dumps the reference server then does: "
                     f"{fmt(nine['clodius_plus_json_ms'])} ms ({nine['clodius_plus_json_ms'] / nine['http_ms']:.1f}x).")
    lines.append(f"Load average at start {results.get('load_avg_at_start')}, at end {m['load_avg_at_end']} "
                 f"(other work on the machine makes single numbers noisy; medians of {results['settings']['repeats']} "
                 f"positions per row).")
    mem = results.get("server_memory_mb")
    if mem:
        ok = mem["VmHWM"] < mem["limit"]
        lines.append(f"Server worker peak RSS (VmHWM, one gunicorn sync worker, after all HTTP requests): "
                     f"{mem['VmHWM']:.0f} MB (target < {mem['limit']} MB: {'yes' if ok else 'NO'}); "
                     f"RSS at the end {mem['VmRSS']:.0f} MB.")
    cm = results.get("clodius_memory_mb") or {}
    if cm.get("VmHWM"):
        lines.append(f"For comparison, the clodius worker process peaked at {cm['VmHWM']:.0f} MB.")
    lines.append("")
    lines.append("First request per filetype (fresh processes: file opening + tileset_info, then one tile), ms:")
    for kind, entry in results["first"].items():
        parts = [f"clodius info {fmt(entry.get('clodius_info_ms'))} + tile {fmt(entry.get('clodius_tile_ms'))}"]
        if "ours_info_ms" in entry:
            parts.append(f"ours info {fmt(entry['ours_info_ms'])} + tile {fmt(entry['ours_tile_ms'])}")
        if "http_tile_ms" in entry:
            parts.append(f"ours first HTTP tile {fmt(entry['http_tile_ms'])}")
        lines.append(f"  {kind}: " + "; ".join(parts))
    if results["missing"]:
        lines.append("")
        lines.append(f"Not measured on our side (no generator yet): {', '.join(results['missing'])}.")
    if results["mismatches"]:
        lines.append("")
        lines.append("Tiles that differ from clodius (first ones per row):")
        for mm in results["mismatches"]:
            extra = {k: v for k, v in mm.items() if k not in ("row", "tile", "difference")}
            lines.append(f"  {mm['tile']}: {mm['difference']} {json.dumps(extra) if extra else ''}")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Benchmark our tile generators and server against clodius.")
    parser.add_argument("--data", default=str(REPO / ".bench-data"))
    parser.add_argument("--bench-python", default=str(REPO / ".venv-bench" / "bin" / "python"))
    parser.add_argument("--repeats", type=int, default=int(os.environ.get("BENCH_REPEATS", 50)),
                        help="tile positions per row (default 50)")
    parser.add_argument("--blocks", type=int, default=int(os.environ.get("BENCH_BLOCKS", 20)),
                        help="3x3 views for the 9-tile row (default 20)")
    parser.add_argument("--only", default=os.environ.get("BENCH_ONLY", ""),
                        help="comma-separated row key prefixes, e.g. cooler,bigwig-fine")
    parser.add_argument("--no-http", action="store_true", help="skip the gunicorn part")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    results = run(args)
    results["seconds"] = round(time.perf_counter() - started, 1)
    text = report(results)
    out = Path(args.data) / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "latest.json").write_text(json.dumps(results, indent=1))
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    (out / f"run-{stamp}.json").write_text(json.dumps(results, indent=1))
    (out / "latest.md").write_text(text + "\n")
    print(text)
    print(f"\n(timing phase {results['seconds']} s; results in {out}/latest.json and latest.md)")


if __name__ == "__main__":
    main()
