"""Measure what wrong Basic passwords cost everyone else (issue 14, item 6; docs/security.md).

    .venv/bin/python -m tests.server.auth_load [--requests 200] [--workers 2]

Starts gunicorn with gunicorn.conf.py on a free loopback port in a fresh data folder (the demo
bigWig and a user, Django's default password hasher), then prints the p50/p90 latency of
anonymous tile requests idle and while 4 connections keep sending a wrong password, with the
throttle on (the defaults) and off (the limits set to 0), and the latency of a correct Basic login
with and without the credential cache. Not a test: timings depend on the machine.
"""

import argparse
import http.client
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from base64 import b64encode
from pathlib import Path

from tests.builders.servers import free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[2]
TILE = "/api/v1/tiles/?d=demo-signal.4.3"
USER, PASSWORD = "measure", "a-long-password-1"


def _request(port, path, headers=None):
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        response.read()
        return response.status, time.perf_counter() - started
    finally:
        connection.close()


def _basic(password):
    return {"Authorization": "Basic " + b64encode(f"{USER}:{password}".encode()).decode()}


def _latencies(port, count, headers=None):
    times = []
    for _ in range(count):
        status, seconds = _request(port, TILE, headers)
        assert status == 200, status
        times.append(seconds * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.9)]


class Attack:
    """``connections`` threads sending a wrong password as fast as answers come."""

    def __init__(self, port, connections=4):
        self.port, self.stop, self.statuses = port, threading.Event(), {}
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(connections)]

    def _run(self):
        while not self.stop.is_set():
            status, _ = _request(self.port, "/api/v1/tilesets/", _basic("wrong"))
            self.statuses[status] = self.statuses.get(status, 0) + 1

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        time.sleep(2)  # let the throttle engage (or the workers fill up)
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=120)


def _server(data, env, workers):
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}",
         "--workers", str(workers), "--access-logfile", "/dev/null", "higlass_server.wsgi:application"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=open(data / "gunicorn.log", "ab"),
    )
    wait_for_port(port, seconds=60)
    _request(port, TILE)  # warm the worker(s)
    return process, port


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="hgs-auth-load-"))
    base = {key: value for key, value in os.environ.items() if not key.startswith("AUTH_")}
    base.update(BASE_DIR=str(data), DJANGO_SETTINGS_MODULE="higlass_server.settings", GUNICORN_CMD_ARGS="")
    manage = [sys.executable, "manage.py"]
    try:
        subprocess.run(manage + ["migrate", "--noinput", "-v", "0"], cwd=ROOT, env=base, check=True)
        subprocess.run(manage + ["load_demo", "--only", "hg38-chromsizes", "demo-signal"], cwd=ROOT, env=base,
                       check=True, stdout=subprocess.DEVNULL)
        subprocess.run(manage + ["shell", "-c", "from django.contrib.auth.models import User; "
                                 f"User.objects.create_user({USER!r}, password={PASSWORD!r})"],
                       cwd=ROOT, env=base, check=True)
        rows = []
        for label, extra in (("throttle off", {"AUTH_FAILURE_LIMIT_PER_CLIENT": "0", "AUTH_FAILURE_LIMIT_PER_USER": "0",
                                               "AUTH_CREDENTIAL_CACHE_SECONDS": "0"}),
                             ("defaults", {})):
            process, port = _server(data, {**base, **extra}, args.workers)
            try:
                idle = _latencies(port, args.requests)
                basic = _latencies(port, 20, _basic(PASSWORD))  # before the attack: then remembered
                with Attack(port) as attack:
                    loaded = _latencies(port, args.requests)
                    during = _latencies(port, 10, _basic(PASSWORD))
                rows.append((label, idle, loaded, dict(sorted(attack.statuses.items())), basic, during))
            finally:
                process.terminate()
                process.wait(timeout=60)
        print(f"{args.workers} gunicorn workers, {os.cpu_count()} CPUs, {args.requests} anonymous tile requests each")
        for label, idle, loaded, statuses, basic, during in rows:
            print(f"{label:13} anonymous p50/p90 idle {idle[0]:.1f}/{idle[1]:.1f} ms; under 4 wrong-password "
                  f"connections {loaded[0]:.1f}/{loaded[1]:.1f} ms ({loaded[0] / idle[0]:.1f}x; their answers "
                  f"{statuses}); a correct Basic login p50 {basic[0]:.1f} ms idle, {during[0]:.1f} ms under attack")
    finally:
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
