"""A loopback HTTP server answering byte ranges of the files in one folder, for `make bench-remote`.

Run as ``python -m bench.range_server FOLDER``: it prints its port on the first line of stdout and
serves ``/<name>`` until it is terminated. It answers single ``Range: bytes=a-b`` requests with
206 (reading only those bytes, with ``os.pread``), HEAD and a GET without ``Range`` as a
static file server does, sends ``ETag``/``Last-Modified`` from the
file's size and mtime, keeps connections alive and sends headers and body in one go.

Two paths are not files: ``GET /__stats`` answers ``{"ranged": n, "other": m}`` (requests
counted since the start or the last reset, itself not counted) and ``GET /__reset`` sets both
counters to 0. The benchmark reads them to count the range requests of a cold first tile.

Only the standard library: it is a stand-in for a static file server (nginx, S3), kept simple and
fast so that the benchmark measures the client.
"""

import email.utils
import json
import os
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_RANGE = re.compile(r"^bytes=(\d+)-(\d*)$")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def do_HEAD(self):
        self._answer(body=False)

    def do_GET(self):
        self._answer(body=True)

    def _answer(self, body):
        path = self.path.split("?", 1)[0]
        if path == "/__stats":
            return self._json(self.server.stats())
        if path == "/__reset":
            self.server.reset()
            return self._json(self.server.stats())
        header = self.headers.get("Range")
        self.server.count(header is not None)
        full = os.path.join(self.server.folder, os.path.basename(path))
        try:
            fd = os.open(full, os.O_RDONLY)
        except OSError:
            return self._plain(404, b"not found\n")
        try:
            stat = os.fstat(fd)
            size = stat.st_size
            if header is None:
                first, last = 0, size - 1
            elif not (found := _RANGE.match(header.strip())):
                return self._plain(400, b"bad range\n")
            else:
                first = int(found.group(1))
                last = min(int(found.group(2)) if found.group(2) else size - 1, size - 1)
            if header is not None and (first >= size or last < first):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            data = os.pread(fd, last - first + 1, first) if body else b""
        finally:
            os.close(fd)
        self.send_response(200 if header is None else 206)
        self.send_header("ETag", f'"{size:x}-{stat.st_mtime_ns:x}"')
        self.send_header("Last-Modified", email.utils.formatdate(stat.st_mtime, usegmt=True))
        self.send_header("Accept-Ranges", "bytes")
        if header is not None:
            self.send_header("Content-Range", f"bytes {first}-{last}/{size}")
        self.send_header("Content-Length", str(last - first + 1))
        self.end_headers()
        self.wfile.write(data)

    def _plain(self, status, text):
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(text)))
        self.end_headers()
        self.wfile.write(text)

    def _json(self, value):
        body = json.dumps(value).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class RangeServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, folder):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.folder = str(folder)
        self._lock = threading.Lock()
        self._counts = {"ranged": 0, "other": 0}

    def handle_error(self, request, client_address):
        pass  # a client hanging up early (pybbi does, after the headers of a whole-file GET)

    def count(self, ranged):
        with self._lock:
            self._counts["ranged" if ranged else "other"] += 1

    def stats(self):
        with self._lock:
            return dict(self._counts)

    def reset(self):
        with self._lock:
            self._counts = {"ranged": 0, "other": 0}


def main(argv):
    server = RangeServer(argv[0])
    print(server.server_address[1], flush=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()


if __name__ == "__main__":
    main(sys.argv[1:])
