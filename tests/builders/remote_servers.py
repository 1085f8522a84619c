"""Loopback HTTP servers for the remote-file tests: well-behaved and hostile ones.

``serving(folder, behaviour)`` starts a threaded server on 127.0.0.1 (a free port) that serves the
files of ``folder`` as ``/<name>`` and stops it afterwards. Behaviours:

- ``range``: honours single byte ranges (206 + Content-Range), HEAD, ETag and Last-Modified.
- ``norange``: ignores Range and answers 200 with a long body (the file, then zeros up to
  ``options["body_bytes"]``); ``server.sent`` counts the bytes it managed to send.
- ``silent``: accepts the connection, reads the request and never answers.
- ``loop``: every path redirects to another one and back (``/a`` -> ``/a.again`` -> ``/a``).
- ``chain``: ``/hop/N/<name>`` redirects to ``/hop/N-1/<name>``, ``/hop/0/<name>`` serves the file.
- ``missing``: 404 for everything.
- ``cut``: starts a correct 206 answer and closes the connection halfway through the body.
- ``redirect``: redirects every request to ``options["target"]`` (e.g. a private address).
- ``flaky``: the first ``options["failures"]`` requests get 503, then behaves as ``range``.
- ``wrongrange``: answers 206 for other bytes than asked, with a longer body.
- ``changing``: a new ETag on every answer (the file "changes" between requests).

``tls=(certificate, key)`` serves https instead (see :func:`self_signed_certificate`).

``server.requests`` lists (method, path, Range header) of every request received; ``server.clients``
holds the client (address, port) of every connection that sent one.
"""

import email.utils
import os
import re
import shutil
import socket
import ssl
import subprocess
import threading
from contextlib import contextmanager
from pathlib import Path
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out at once (no 40 ms delayed-ACK stalls)

    def log_message(self, *args):
        pass

    def setup(self):
        super().setup()
        with self.server.lock:
            self.server.live.add(self.request)

    def finish(self):
        with self.server.lock:
            self.server.live.discard(self.request)
        super().finish()

    def do_HEAD(self):
        self._answer(body=False)

    def do_GET(self):
        self._answer(body=True)

    # -- dispatch ---------------------------------------------------------------------------------

    def _answer(self, body):
        server = self.server
        with server.lock:
            server.requests.append((self.command, self.path, self.headers.get("Range")))
            server.clients.add(self.client_address)
            count = len(server.requests)
        behaviour = server.behaviour
        if behaviour == "silent":
            server.stopping.wait(60)
            self.close_connection = True
            return
        if behaviour == "missing":
            return self._plain(404, b"not found\n", body)
        if behaviour == "loop":
            target = self.path[: -len(".again")] if self.path.endswith(".again") else self.path + ".again"
            return self._redirect(target)
        if behaviour == "redirect":
            return self._redirect(server.options["target"])
        if behaviour == "flaky" and count <= server.options.get("failures", 1):
            return self._plain(503, b"try later\n", body)
        path = self.path.split("?", 1)[0]
        if behaviour == "chain":
            found = re.match(r"^/hop/(\d+)(/.*)$", path)
            if found and int(found.group(1)) > 0:
                return self._redirect(f"/hop/{int(found.group(1)) - 1}{found.group(2)}")
            path = found.group(2) if found else path
        data = self._file(path)
        if data is None:
            return self._plain(404, b"not found\n", body)
        if behaviour == "norange":
            return self._whole(data, body)
        return self._ranged(data, body, count)

    # -- answers ----------------------------------------------------------------------------------

    def _file(self, path):
        name = os.path.basename(path)
        full = os.path.join(self.server.folder, name)
        if not name or not os.path.isfile(full):
            return None
        with open(full, "rb") as handle:
            return handle.read()

    def _plain(self, status, text, body):
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(text)))
        self.end_headers()
        if body:
            self.wfile.write(text)

    def _redirect(self, target):
        self.send_response(302)
        self.send_header("Location", target)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _validators(self, data, count):
        etag = f'"{len(data):x}-{hash(data) & 0xFFFFFF:x}"'
        if self.server.behaviour == "changing":
            etag = f'"v{count}"'
        self.send_header("ETag", etag)
        self.send_header("Last-Modified", email.utils.formatdate(self.server.mtime, usegmt=True))
        self.send_header("Accept-Ranges", "bytes")

    def _whole(self, data, body):
        total = max(len(data), self.server.options.get("body_bytes", 0))
        self.send_response(200)
        self.send_header("Content-Length", str(total))
        self.end_headers()
        if not body:
            return
        payload = data + b"\0" * (total - len(data))
        try:
            for start in range(0, total, 65536):
                self.wfile.write(payload[start:start + 65536])
                with self.server.lock:
                    self.server.sent += min(65536, total - start)
        except OSError:
            self.close_connection = True

    def _ranged(self, data, body, count):
        header = self.headers.get("Range")
        size = len(data)
        if header is None:
            self.send_response(200)
            self._validators(data, count)
            self.send_header("Content-Length", str(size))
            self.end_headers()
            if body:
                self.wfile.write(data)
            return
        found = _RANGE.match(header.strip())
        if not found or (not found.group(1) and not found.group(2)):
            return self._plain(400, b"bad range\n", body)
        if found.group(1):
            first = int(found.group(1))
            last = int(found.group(2)) if found.group(2) else size - 1
        else:
            first, last = max(0, size - int(found.group(2))), size - 1
        last = min(last, size - 1)
        if first >= size or last < first:
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{size}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.server.behaviour == "wrongrange":
            first, last = max(0, first - 10), min(size - 1, last + 10)
        chunk = data[first:last + 1]
        self.send_response(206)
        self._validators(data, count)
        self.send_header("Content-Range", f"bytes {first}-{last}/{size}")
        self.send_header("Content-Length", str(len(chunk)))
        self.end_headers()
        if not body:
            return
        if self.server.behaviour == "cut":
            self.wfile.write(chunk[: len(chunk) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(chunk)


class LoopbackServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, folder, behaviour="range", tls=None, **options):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.scheme = "http"
        if tls is not None:  # (certificate file, key file): serve https
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self.socket = context.wrap_socket(self.socket, server_side=True)
            self.scheme = "https"
        self.folder = str(folder)
        self.behaviour = behaviour
        self.options = options
        self.requests = []
        self.clients = set()  # (address, port) of each connection that sent a request
        self.live = set()  # open client sockets, closed by stop()
        self.sent = 0
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.mtime = 1_700_000_000
        self.port = self.server_address[1]
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()

    def handle_error(self, request, client_address):
        pass  # clients that hang up early are what these servers are for

    def url(self, path=""):
        return f"{self.scheme}://127.0.0.1:{self.port}/{path.lstrip('/')}"

    def ranged_requests(self):
        with self.lock:
            return [entry for entry in self.requests if entry[2] is not None]

    def stop(self):
        """Stop serving, keep-alive connections included."""
        self.stopping.set()
        self.shutdown()
        self.server_close()
        with self.lock:
            live = list(self.live)
        for sock in live:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._thread.join(5)


def self_signed_certificate(folder):
    """(certificate file, key file) of a fresh self-signed certificate for 127.0.0.1."""
    cert, key = os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
         "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    return cert, key


@contextmanager
def serving(folder, behaviour="range", **options):
    """A :class:`LoopbackServer` for the duration of the ``with`` block."""
    server = LoopbackServer(folder, behaviour, **options)
    try:
        yield server
    finally:
        server.stop()


def copy_into(folder, *paths):
    """Copy files into ``folder`` (served as their base names); returns ``folder``."""
    os.makedirs(folder, exist_ok=True)
    for path in paths:
        shutil.copy(path, os.path.join(folder, os.path.basename(path)))
    return folder


@contextmanager
def serving_in_process(folder, behaviour="range"):
    """The same server in a child process, for clients that hold the GIL while they wait on the
    network (pybbi's C code does: a server thread in the same process could never answer it).
    Yields the base URL (``http://127.0.0.1:PORT/``)."""
    import sys

    child = subprocess.Popen(
        [sys.executable, "-m", "tests.builders.remote_servers", str(folder), behaviour],
        stdout=subprocess.PIPE, text=True,
        cwd=str(Path(__file__).resolve().parents[2]),
    )
    try:
        port = int(child.stdout.readline())
        yield f"http://127.0.0.1:{port}/"
    finally:
        child.terminate()
        child.wait(10)


def _main(argv):
    import sys
    import time

    server = LoopbackServer(argv[0], argv[1] if len(argv) > 1 else "range")
    print(server.port, flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        server.stop()


if __name__ == "__main__":
    import sys

    _main(sys.argv[1:])
