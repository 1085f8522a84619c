"""What the browser tests need: a live server with generated data, a second origin for the client,
headless Chromium driven by Playwright, and pixel statistics of screenshots.

The live server is a real ``gunicorn`` on 127.0.0.1 with its own data folder and SQLite database,
filled by ``python -m tests.builders.browser_helpers setup <folder>`` (run in the server's environment):
the ``make run`` demo writers at a coarser Hi-C resolution, the annotation and reads demo writers,
a small bigBed, a private tileset and enough small tilesets to need a second page in the list.
"""

import base64
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("HGS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--enable-unsafe-swiftshader",
]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
PASSWORD = "browser-pass-1"
VIEWPORT = {"width": 1280, "height": 860}

# HiGlass renders its WebGL canvas at a fixed resolution of 2 (4 pixels per CSS pixel). In software
# WebGL (SwiftShader, no GPU) every frame then costs four times as much, which makes these tests
# several times slower; they draw at resolution 1. Nothing else of the client changes.
RESOLUTION_1 = """
document.addEventListener("DOMContentLoaded", function () {
  if (!window.PIXI || !window.PIXI.Renderer || window.PIXI.Renderer.__hgsResolution1) return;
  var Renderer = window.PIXI.Renderer;
  var Patched = class extends Renderer {
    constructor(options) { super(Object.assign({}, options, {resolution: 1})); }
  };
  Patched.__hgsResolution1 = true;
  window.PIXI.Renderer = Patched;
});
"""

# Screenshot statistics per rectangle, computed by the browser's own PNG decoder.
PIXEL_STATS = """
async ([png, boxes]) => {
  const image = new Image();
  image.src = "data:image/png;base64," + png;
  await image.decode();
  const canvas = document.createElement("canvas");
  canvas.width = image.width;
  canvas.height = image.height;
  const context = canvas.getContext("2d", {willReadFrequently: true});
  context.drawImage(image, 0, 0);
  const result = {};
  for (const [name, box] of Object.entries(boxes)) {
    const x = Math.max(0, Math.round(box.x)), y = Math.max(0, Math.round(box.y));
    const w = Math.min(image.width - x, Math.round(box.width)), h = Math.min(image.height - y, Math.round(box.height));
    const data = context.getImageData(x, y, w, h).data;
    let ink = 0, colourful = 0;
    const colours = new Set();
    for (let i = 0; i < data.length; i += 4) {
      const r = data[i], g = data[i + 1], b = data[i + 2];
      const high = Math.max(r, g, b), low = Math.min(r, g, b);
      if (low < 235) {
        ink++;
        colours.add((r >> 3) * 1024 + (g >> 3) * 32 + (b >> 3));
      }
      if (high - low >= 40) colourful++;
    }
    const total = w * h;
    result[name] = {pixels: total, ink: ink / total, colourful: colourful / total, colours: colours.size};
  }
  return result;
}
"""


def in_ci():
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes", "on"}


def require(condition, reason):
    """Skip locally when something the browser tests need is missing; fail in CI (CI=true)."""
    if condition:
        return
    if in_ci():
        pytest.fail(f"{reason} (CI=true: the browser tests must run here)", pytrace=False)
    pytest.skip(reason)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def client_installed():
    from django.contrib.staticfiles import finders

    return all(finders.find(path) for path in (
        "vendor/higlass/hglib.min.js", "vendor/react/react.production.min.js",
        "vendor/react-dom/react-dom.production.min.js", "vendor/pixi.js/pixi.min.js",
    ))


def require_browser():
    require(Path(CHROMIUM).exists(), f"{CHROMIUM} is missing (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        require(False, "the playwright package is missing (pip install -r requirements-test.txt)")
    require(client_installed(), "the HiGlass client is not installed (npm ci)")


# --- the live server -----------------------------------------------------------------------

SERVER_ENV_DROPPED = (
    "DATABASE_URL", "BASE_DIR", "HIGLASS_SERVER_BASE_DIR", "HIGLASS_CONFIG", "HIGLASS_MEDIA_ROOT", "MEDIA_ROOT",
    "LOG_DIR", "APP_BASEPATH", "FORCE_SCRIPT_NAME", "REDIS_HOST", "UPLOAD_ENABLED", "PUBLIC_UPLOAD_ENABLED",
    "CORS_ALLOWED_ORIGINS", "ALLOWED_HOSTS", "SITE_URL", "DEBUG", "SECRET_KEY", "INSTALLED_APPS",
)


class LiveSite:
    """gunicorn serving a generated data folder on 127.0.0.1; ``facts`` holds users and tokens."""

    def __init__(self):
        self.folder = Path(tempfile.mkdtemp(prefix="hgs-browser-"))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.access_log = self.folder / "access.log"
        self.process = None
        self.env = {k: v for k, v in os.environ.items() if k not in SERVER_ENV_DROPPED and not k.startswith("HGS_TEST")}
        self.env.update({
            "BASE_DIR": str(self.folder / "site"),
            "DATABASE_URL": f"sqlite:///{self.folder / 'site' / 'db.sqlite3'}",
            "DJANGO_SETTINGS_MODULE": "higlass_server.settings",
            "PYTHONPATH": str(ROOT),
        })

    def start(self):
        started = time.time()
        subprocess.run([sys.executable, "-m", "tests.builders.browser_helpers", "setup", str(self.folder)],
                       cwd=ROOT, env=self.env, check=True, capture_output=True, text=True)
        self.facts = json.loads((self.folder / "facts.json").read_text())
        self.setup_seconds = time.time() - started
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "higlass_server.wsgi:application", "--bind", f"127.0.0.1:{self.port}",
             "--workers", "1", "--threads", "8", "--timeout", "120", "--access-logfile", str(self.access_log),
             "--error-logfile", str(self.folder / "error.log")],
            cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.time() + 30
        while True:
            try:
                with urllib.request.urlopen(self.url + "/api/v1/", timeout=2) as answer:
                    if answer.status == 200:
                        return self
            except OSError:
                pass
            if self.process.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"gunicorn did not start: {(self.folder / 'error.log').read_text()[-2000:]}")
            time.sleep(0.2)

    def log_lines(self):
        return self.access_log.read_text().splitlines() if self.access_log.exists() else []

    def stop(self):
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
            self.process = None
        shutil.rmtree(self.folder, ignore_errors=True)


class ClientOrigin:
    """The viewer page and its static files served from another 127.0.0.1 port (another origin),
    talking to ``site``'s API: every API call is cross-origin."""

    def __init__(self, site, auth_token=None):
        from django.contrib.staticfiles import finders

        request = urllib.request.Request(site.url + "/", headers={"Accept": "text/html"})
        with urllib.request.urlopen(request) as answer:
            html = answer.read().decode()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        pattern = re.compile(r'(<script id="hgs-config" type="application/json">)(.*?)(</script>)', re.S)
        config = json.loads(pattern.search(html).group(2))
        config.update({"api": site.url + "/api/v1", "viewerUrl": self.url + "/", "csrfToken": ""})
        if auth_token:
            config["authToken"] = f"Token {auth_token}"
        page = pattern.sub(lambda m: m.group(1) + json.dumps(config).replace("<", "\\u003c") + m.group(3), html)
        page = page.encode()

        class Handler(SimpleHTTPRequestHandler):
            def do_GET(self):
                path = self.path.split("?", 1)[0]
                if path == "/":
                    body, kind = page, "text/html; charset=utf-8"
                elif path.startswith("/hgs-static/") and (found := finders.find(path[len("/hgs-static/"):])):
                    body = Path(found).read_bytes()
                    kind = "text/css" if found.endswith(".css") else "application/javascript"
                else:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


# --- one page in the browser ---------------------------------------------------------------


class PageRecorder:
    """A page of the viewer with what it did: API answers (with JSON bodies), page errors,
    console errors."""

    def __init__(self, context, api_origin):
        self.page = context.new_page()
        self.page.add_init_script(RESOLUTION_1)
        self.api_origin = api_origin
        self.answers = []
        self.page_errors = []
        self.console_errors = []
        self.page.on("pageerror", lambda error: self.page_errors.append(str(error)))
        self.page.on("console", self._console)
        self.page.on("response", self._response)

    def _console(self, message):
        if message.type == "error":
            self.console_errors.append(message.text)

    def _response(self, response):
        url = response.url
        if not url.startswith(self.api_origin + "/api/"):
            return
        entry = {"url": url, "method": response.request.method, "status": response.status, "body": None,
                 "headers": response.headers}
        if response.request.method in ("GET", "POST") and any(
                part in url for part in ("/tiles/", "/tileset_info/", "/suggest/", "/tilesets/", "/viewconfs/")):
            try:
                entry["body"] = response.json()
            except Exception:  # noqa: BLE001 - a body that is not JSON is recorded as None
                entry["body"] = None
        self.answers.append(entry)

    def goto(self, url):
        self.page.goto(url)
        return self

    def wait_ready(self, timeout=90_000):
        self.page.wait_for_function(
            "['ready', 'error'].includes(document.body.dataset.viewState)", timeout=timeout, polling=200)
        state = self.page.evaluate("document.body.dataset.viewState")
        status = self.page.evaluate("document.getElementById('status').textContent")
        assert state == "ready", f"view state {state}: {status}"
        return status

    def settle(self):
        """Wait for the tiles of a changed view (a zoom) to arrive and be drawn."""
        self.page.wait_for_timeout(300)
        self.page.evaluate("hgsViewer.settle()")

    def tracks(self):
        return self.page.evaluate("""() => hgsViewer.state.tracks.map(t => ({
            uid: t.uid, type: t.type, uuid: t.tileset.uuid, box: hgsViewer.trackBox(t.uid)}))""")

    def screenshot(self, name):
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        png = self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
        return png

    def pixel_stats(self, png, boxes):
        return self.page.evaluate(PIXEL_STATS, [base64.b64encode(png).decode(), boxes])

    def api(self, part):
        return [a for a in self.answers if part in a["url"]]

    def close(self):
        self.page.close()


# --- the live server's data (run in the server's environment) -------------------------------


def _bigbed(path):
    """A small bigBed (BED6) of features on hg38, for the bedlike track."""
    import numpy as np

    from tests.builders.bigbed_data import write_bigbed
    from demo.assembly import HG38, SEED

    rng = np.random.default_rng(SEED + 7)
    records = []
    for name, length in HG38[:24]:
        starts = np.sort(rng.integers(0, length - 3_000_000, size=12))
        for i, start in enumerate(starts):
            end = int(start + rng.integers(300_000, 3_000_000))
            records.append((name, int(start), end, f"{name}-f{i}", str(int(rng.integers(0, 1000))), "+-"[i % 2]))
        records.append((name, length - 1000, length, f"{name}-end", "0", "+"))  # see bigbed_data.write_bigbed
    write_bigbed(path, HG38, records)
    return path


def setup_site(folder):
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from rest_framework.authtoken.models import Token

    import demo
    from tilesets.ingest import ingest_tileset

    folder = Path(folder)
    data = folder / "data"
    data.mkdir(parents=True, exist_ok=True)
    call_command("migrate", verbosity=0)
    users = get_user_model()
    alice = users.objects.create_user("alice", "alice@example.org", PASSWORD)
    users.objects.create_superuser("boss", "boss@example.org", PASSWORD)
    token = Token.objects.create(user=alice).key

    def add(uid, write, filename, filetype, datatype, name, coordSystem="hg38", **fields):
        path = data / filename
        write(path)
        ingest_tileset(datafile=str(path), uid=uid, filetype=filetype, datatype=datatype, coordSystem=coordSystem,
                       name=name, **fields)

    add("hg38-chromsizes", demo.write_chromsizes, "hg38.chrom.sizes", "chromsizes-tsv", "chromsizes",
        "Chromosomes (hg38)")
    # The demo Hi-C map at 10 Mb instead of 1 Mb: the same picture, written in seconds.
    add("demo-hic", lambda p: demo.write_mcool(p, base=10_000_000, band=30), "demo-hic.mcool", "cooler", "matrix",
        "Demo Hi-C (synthetic)")
    add("demo-signal", demo.write_bigwig, "demo-signal.bw", "bigwig", "vector", "Demo signal (synthetic)")
    add("demo-multivec", demo.write_multivec, "demo-multivec.mv5", "multivec", "multivec",
        "Demo multivec (synthetic)")
    kinds = {}
    try:
        from demo import annotations as demo_annotations

        add("demo-genes", demo_annotations.write_gene_annotations, "demo-genes.beddb", "beddb", "gene-annotation",
            "Demo genes (synthetic)")
        add("demo-domains", demo_annotations.write_domains, "demo-domains.bed2ddb", "bed2ddb",
            "2d-rectangle-domains", "Demo domains (synthetic)")
        kinds["annotations"] = True
    except ImportError:
        pass
    try:
        add("demo-features", _bigbed, "demo-features.bb", "bigbed", "bedlike", "Demo features (synthetic bigBed)")
        kinds["bigbed"] = True
    except ImportError:
        pass
    try:
        from demo import reads as demo_reads

        add("demo-reads", demo_reads.write_bam, "demo-reads.bam", "bam", "reads", "Demo reads (synthetic)")
        kinds["reads"] = True
    except ImportError:
        pass
    add("alice-private", demo.write_bigwig, "alice.bw", "bigwig", "vector", "Alice's private signal",
        owner=alice, private=True)
    for number in range(1, 17):  # more tilesets than one page of the list shows
        add(f"filler-{number:02d}", lambda p: p.write_text("chrF\t1000000\n"), f"filler-{number:02d}.sizes",
            "chromsizes-tsv", "chromsizes", f"Filler assembly {number:02d}", coordSystem=f"fill{number:02d}")
    (folder / "facts.json").write_text(json.dumps({"token": token, "password": PASSWORD, "kinds": kinds}))


if __name__ == "__main__":
    if sys.argv[1:2] == ["setup"]:
        setup_site(sys.argv[2])
    else:
        sys.exit("usage: python -m tests.builders.browser_helpers setup FOLDER")
