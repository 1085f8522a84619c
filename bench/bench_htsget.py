"""htsget benchmark (issue 7, item 8): ticket time for 1 Mb regions of a >= 1 GB BAM, and the data
endpoint's streaming rate against the disk.

    python bench/bench_htsget.py [--size-gb 1.1] [--folder .bench-data/htsget] [--regions 200]

1. Writes (once; cached in the folder) a coordinate-sorted BAM of about ``--size-gb`` GB over the
   hg38 chromosomes: 100 bp reads with random bases and qualities, packed with numpy and
   compressed in BGZF blocks with zlib level 1; then ``pysam.index`` writes its ``.bai``.
2. Starts a private server state in the folder (its own SQLite database and media root), ingests
   the BAM with ``ingest_tileset(..., no_upload=True)`` (timed: validation and facts, incl. MD5).
3. Tickets, in process (Django test client, the whole request path: middleware, auth, lookup,
   facts, index, edge blocks): the first request (parses the index) and ``--regions`` random 1 Mb
   regions after it; the pure service part (``service.ticket``) is timed separately.
4. Streaming: gunicorn (2 sync workers, sendfile on, as in the Dockerfile) serves the data
   endpoint on 127.0.0.1; whole-file and 64 MiB-range downloads are timed against reading the file
   from disk in Python (warm page cache, both), and the workers' peak RSS is read from /proc.

Prints a Markdown table and writes ``results.json`` to the folder.
"""

import argparse
import json
import os
import platform
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

READ_LENGTH = 100
RECORD = np.dtype([
    ("block_size", "<i4"), ("refID", "<i4"), ("pos", "<i4"), ("l_read_name", "u1"), ("mapq", "u1"),
    ("bin", "<u2"), ("n_cigar_op", "<u2"), ("flag", "<u2"), ("l_seq", "<i4"), ("next_refID", "<i4"),
    ("next_pos", "<i4"), ("tlen", "<i4"), ("read_name", "S12"), ("cigar", "<u4"),
    ("seq", "u1", ((READ_LENGTH + 1) // 2,)), ("qual", "u1", (READ_LENGTH,)),
])
BLOCK = 0xFF00
UID = "bench-htsget"
EOF_BLOCK = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")


def log(message):
    print(f"[bench-htsget] {message}", file=sys.stderr, flush=True)


# --- the BAM -------------------------------------------------------------------------------


def _bgzf(data, level=1):
    packer = zlib.compressobj(level, zlib.DEFLATED, -15)
    cdata = packer.compress(data) + packer.flush()
    size = len(cdata) + 25
    return b"".join([b"\x1f\x8b\x08\x04\x00\x00\x00\x00\x00\xff\x06\x00BC\x02\x00", size.to_bytes(2, "little"),
                     cdata, zlib.crc32(data).to_bytes(4, "little"), len(data).to_bytes(4, "little")])


def _reg2bin(beg, end):
    end = end - 1
    out = np.full(beg.shape, 0, dtype=np.int64)
    done = np.zeros(beg.shape, dtype=bool)
    for shift, first in ((14, 4681), (17, 585), (20, 73), (23, 9), (26, 1)):
        same = ~done & ((beg >> shift) == (end >> shift))
        out[same] = first + (beg[same] >> shift)
        done |= same
    return out


def write_bam(path, size_gb, seed=1):
    """A sorted BAM of about ``size_gb`` GB over hg38, written with numpy (a few minutes at most)."""
    from demo.assembly import HG38

    rng = np.random.default_rng(seed)
    chroms = [(name, length) for name, length in HG38 if name != "chrM"]
    genome = sum(length for _, length in chroms)
    bytes_per_read = 112  # compressed, measured for this layout at zlib level 1
    total_reads = int(size_gb * 1e9 / bytes_per_read)
    text = "@HD\tVN:1.6\tSO:coordinate\n" + "".join(f"@SQ\tSN:{n}\tLN:{ln}\n" for n, ln in HG38)
    header = bytearray(b"BAM\1" + len(text).to_bytes(4, "little") + text.encode() + len(HG38).to_bytes(4, "little"))
    for name, length in HG38:
        header += (len(name) + 1).to_bytes(4, "little") + name.encode() + b"\0" + length.to_bytes(4, "little")
    nibbles = np.array([(a << 4) | b for a in (1, 2, 4, 8) for b in (1, 2, 4, 8)], dtype=np.uint8)
    tmp = Path(str(path) + ".part")
    written = 0
    with open(tmp, "wb") as out:
        out.write(_bgzf(bytes(header)))
        pending = b""
        for tid, (name, length) in enumerate(chroms):
            reads = int(total_reads * length / genome)
            positions = np.sort(rng.integers(0, length - READ_LENGTH, reads, dtype=np.int64))
            for start in range(0, reads, 200_000):
                pos = positions[start:start + 200_000]
                n = len(pos)
                rec = np.zeros(n, dtype=RECORD)
                rec["block_size"] = RECORD.itemsize - 4
                rec["refID"] = tid
                rec["pos"] = pos
                rec["l_read_name"] = 12
                rec["mapq"] = 60
                rec["bin"] = _reg2bin(pos, pos + READ_LENGTH)
                rec["n_cigar_op"] = 1
                rec["flag"] = rng.choice(np.array([0, 16], dtype=np.uint16), n)
                rec["l_seq"] = READ_LENGTH
                rec["next_refID"] = -1
                rec["next_pos"] = -1
                rec["read_name"] = np.char.add(b"r", np.char.zfill(np.arange(written, written + n).astype("S10"), 10))
                rec["cigar"] = READ_LENGTH << 4
                rec["seq"] = nibbles[rng.integers(0, 16, (n, (READ_LENGTH + 1) // 2))]
                rec["qual"] = rng.integers(25, 41, (n, READ_LENGTH), dtype=np.uint8)
                written += n
                data = pending + rec.tobytes()
                cut = len(data) - len(data) % BLOCK
                for offset in range(0, cut, BLOCK):
                    out.write(_bgzf(data[offset:offset + BLOCK]))
                pending = data[cut:]
            if tid % 6 == 5:
                log(f"  ... {name}: {out.tell() / 1e9:.2f} GB so far")
        if pending:
            out.write(_bgzf(pending))
        out.write(EOF_BLOCK)
    tmp.rename(path)
    return written


# --- the server state ----------------------------------------------------------------------


def setup_django(state):
    os.environ["BASE_DIR"] = str(state)
    os.environ["HIGLASS_MEDIA_ROOT"] = str(state / "media")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "higlass_server.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


def bench_tickets(count):
    from django.test import Client

    from htsget import service
    from demo.assembly import HG38
    from tilesets.models import Tileset

    client = Client()
    service.prepared_cache.clear()
    rng = random.Random(5)
    chroms = [(n, ln) for n, ln in HG38 if ln > 2_000_000]

    def region():
        name, length = rng.choice(chroms)
        start = rng.randrange(0, length - 1_000_000)
        return {"referenceName": name, "start": start, "end": start + 1_000_000}

    client.get("/api/v1/htsget/reads/service-info")  # Django's own first-request work
    started = time.perf_counter()
    first = client.get(f"/api/v1/htsget/reads/{UID}", region())
    first_ms = (time.perf_counter() - started) * 1000
    assert first.status_code == 200, first.content
    times, pieces, sizes = [], [], []
    for _ in range(count):
        params = region()
        started = time.perf_counter()
        response = client.get(f"/api/v1/htsget/reads/{UID}", params)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
        urls = response.json()["htsget"]["urls"]
        pieces.append(len(urls))
        sizes.append(sum(int(u["headers"]["Range"].split("=")[1].split("-")[1]) + 1 -
                         int(u["headers"]["Range"].split("=")[1].split("-")[0]) for u in urls if "headers" in u))
    tileset = Tileset.objects.get(uuid=UID)
    query = service.Query("reads", regions=[("chr1", 10_000_000, 11_000_000)])

    data_url = f"http://bench/api/v1/htsget/data/{UID}"  # what the view would pass
    pure = []
    for _ in range(count):
        params = region()
        query.regions = [(params["referenceName"], params["start"], params["end"])]
        started = time.perf_counter()
        service.ticket(tileset, query, None, data_url)
        pure.append((time.perf_counter() - started) * 1000)
    return {
        "first_request_ms": round(first_ms, 1),
        "ticket_median_ms": round(statistics.median(times), 2),
        "ticket_p95_ms": round(percentile(times, 95), 2),
        "ticket_max_ms": round(max(times), 2),
        "service_median_ms": round(statistics.median(pure), 2),
        "service_p95_ms": round(percentile(pure, 95), 2),
        "urls_median": statistics.median(pieces),
        "ranged_bytes_median": int(statistics.median(sizes)),
    }


# --- streaming -----------------------------------------------------------------------------


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def disk_rate(path, chunk=8 << 20):
    started = time.perf_counter()
    total = 0
    with open(path, "rb") as handle:
        while data := handle.read(chunk):
            total += len(data)
    return total / (time.perf_counter() - started) / 1e6


def peak_rss_mb(pid):
    """Peak RSS of a process and its children (gunicorn workers), from /proc."""
    peaks = []
    for candidate in [pid] + [int(p) for p in subprocess.run(["pgrep", "-P", str(pid)], capture_output=True,
                                                             text=True).stdout.split()]:
        try:
            for line in Path(f"/proc/{candidate}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peaks.append(int(line.split()[1]) / 1024)
        except OSError:
            pass
    return max(peaks, default=0.0)


def sendfile_reference(path, download):
    """The rate of the simplest possible server on this machine: one socket.sendfile of the whole
    file after a minimal HTTP header (the loopback ceiling the data endpoint is compared with)."""
    import threading

    size = path.stat().st_size
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]

    def serve():
        connection, _ = listener.accept()
        with connection, open(path, "rb") as handle:
            request = b""
            while b"\r\n\r\n" not in request:
                request += connection.recv(4096)
            connection.sendall(f"HTTP/1.1 200 OK\r\nContent-Length: {size}\r\nConnection: close\r\n\r\n".encode())
            connection.sendfile(handle)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    total, seconds = download(url=f"http://127.0.0.1:{port}/")
    thread.join(timeout=60)
    listener.close()
    assert total == size
    return size / seconds / 1e6


def bench_streaming(state, path):
    import requests

    port = free_port()
    env = dict(os.environ, BASE_DIR=str(state), HIGLASS_MEDIA_ROOT=str(state / "media"))
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "higlass_server.wsgi:application", "-b", f"127.0.0.1:{port}", "-w", "2",
         "--timeout", "600"], cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}/api/v1/htsget/data/{UID}"
        for _ in range(200):
            try:
                requests.head(base, timeout=5)
                break
            except requests.RequestException:  # still starting
                time.sleep(0.1)
        size = path.stat().st_size
        disk_rate(path)  # warm the page cache for both sides
        disk = max(disk_rate(path) for _ in range(2))

        def download(headers=None, url=base):
            """(bytes, seconds) of one GET, by curl when there is one (a Python client would be
            the bottleneck), else by requests."""
            headers = headers or {}
            if shutil.which("curl"):
                command = ["curl", "-sS", "-o", "/dev/null", "-w", "%{size_download} %{time_total}", url]
                for name, value in headers.items():
                    command += ["-H", f"{name}: {value}"]
                total, seconds = subprocess.run(command, capture_output=True, text=True, check=True).stdout.split()
                return int(total), float(seconds)
            started = time.perf_counter()
            total = 0
            with requests.get(url, headers=headers, stream=True, timeout=600) as response:
                response.raise_for_status()
                for data in response.iter_content(1 << 20):
                    total += len(data)
            return total, time.perf_counter() - started

        total, seconds = download()
        assert total == size
        whole = max(size / seconds, size / download()[1]) / 1e6
        ranges = []
        rng = random.Random(9)
        span = min(64 << 20, size // 4)
        for _ in range(8):
            start = rng.randrange(0, size - span)
            total, seconds = download({"Range": f"bytes={start}-{start + span - 1}"})
            assert total == span
            ranges.append(total / seconds / 1e6)
        rss = peak_rss_mb(server.pid)
        reference = max(sendfile_reference(path, download) for _ in range(2))
        return {"range_bytes": span, "disk_read_MBps": round(disk),
                "loopback_sendfile_reference_MBps": round(reference), "data_whole_file_MBps": round(whole),
                "data_range_MBps_median": round(statistics.median(ranges)), "server_peak_rss_MB": round(rss)}
    finally:
        server.terminate()
        server.wait(timeout=30)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-gb", type=float, default=1.1)
    parser.add_argument("--folder", default=str(REPO / ".bench-data" / "htsget"))
    parser.add_argument("--regions", type=int, default=200)
    args = parser.parse_args()
    folder = Path(args.folder).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    state = Path(tempfile.mkdtemp(prefix="server-", dir=folder))
    media = state / "media"
    (media / "uploads").mkdir(parents=True)
    cached = folder / f"reads-{args.size_gb:g}gb.bam"
    if not cached.exists() or not Path(str(cached) + ".bai").exists():
        log(f"writing a {args.size_gb:g} GB BAM (cached in {folder}) ...")
        started = time.perf_counter()
        reads = write_bam(cached, args.size_gb)
        written_s = time.perf_counter() - started
        import pysam

        started = time.perf_counter()
        pysam.index(str(cached), str(cached) + ".bai")
        log(f"  {reads} reads in {written_s:.0f} s, indexed in {time.perf_counter() - started:.0f} s")
    (media / "bench").mkdir()
    bam = media / "bench" / "reads.bam"
    os.link(cached, bam)  # the server's copy under its media root, without copying a GB
    os.link(str(cached) + ".bai", str(bam) + ".bai")

    try:
        results = run(args, state, bam)
    finally:
        shutil.rmtree(state, ignore_errors=True)
    (folder / "results.json").write_text(json.dumps(results, indent=2))
    print("| measure | value |\n|---|---|")
    for key, value in results.items():
        print(f"| {key} | {value} |")


def run(args, state, bam):
    setup_django(state)
    from tilesets.ingest import ingest_tileset

    started = time.perf_counter()
    tileset = ingest_tileset(datafile=str(bam), indexfile=str(bam) + ".bai", filetype="bam", uid=UID,
                             no_upload=True)
    ingest_s = time.perf_counter() - started
    results = {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "load_average_1min": round(os.getloadavg()[0], 1),
        "bam_bytes": bam.stat().st_size,
        "bai_bytes": Path(str(bam) + ".bai").stat().st_size,
        "ingest_s": round(ingest_s, 1),
        "facts_at_ingest": bool(tileset.meta.get("facts", {}).get("htsget")),
    }
    log("tickets ...")
    results.update(bench_tickets(args.regions))
    log("streaming ...")
    results.update(bench_streaming(state, bam))
    return results


if __name__ == "__main__":
    main()
