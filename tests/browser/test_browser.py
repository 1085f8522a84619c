"""The viewer page and the real HiGlass client (higlass 2.3.5 from npm) against this server.

The first tests need no browser: the page at ``/``, the client's files served by us, and the
view-config builder (run in node and checked against HiGlass's own view-config schema).

The ``browser`` tests drive headless Debian Chromium with Playwright (``executable_path`` =
/usr/bin/chromium; Playwright starts it with a fresh temporary profile) against a live gunicorn on
127.0.0.1 serving generated data (tests/builders/browser_helpers.py). For every track type they check that
the client fetched ``tileset_info`` and tiles from our server without ``error`` entries, that the
page raised no errors, and that the track's rectangle of the screenshot is not blank. Screenshots
are kept in test-artifacts/browser/.

Locally the browser tests skip (with the reason) when Chromium, Playwright or node_modules is
missing; with CI=true they fail instead. They run in the SQLite pass of ``make test`` only: the
live server has its own SQLite database either way, so the PostgreSQL pass would repeat them as
they are.
"""

import json
import os
import re
import shutil
import subprocess
import time
import urllib.request

import pytest
from django.test import Client

from tests.builders import browser_helpers as bh
from tests.builders.helpers import make_user

ROOT = bh.ROOT
CONFIG = re.compile(r'<script id="hgs-config" type="application/json">(.*?)</script>', re.S)
HTML = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


# --- without a browser -----------------------------------------------------------------------


@pytest.mark.django_db
def test_root_serves_the_viewer_to_browsers_and_the_json_index_to_api_clients():
    client = Client()
    page = client.get("/", HTTP_ACCEPT=HTML)
    assert page.status_code == 200 and page["Content-Type"].startswith("text/html")
    assert "Accept" in page["Vary"]
    html = page.content.decode()
    config = json.loads(CONFIG.search(html).group(1))
    assert config["api"] == "/api/v1" and config["viewerUrl"] == "/" and config["csrfToken"]
    assert config["user"] is None and 'id="login"' in html and "/api/v1/api-auth/login/?next=%2F" in html
    scripts = re.findall(r'<script src="([^"]+)"', html)
    assert scripts == [
        "/hgs-static/vendor/react/react.production.min.js",
        "/hgs-static/vendor/react-dom/react-dom.production.min.js",
        "/hgs-static/vendor/pixi.js/pixi.min.js",
        "/hgs-static/website/jsx-runtime.js",
        "/hgs-static/vendor/higlass/hglib.min.js",
        "/hgs-static/website/pileup-compat.js",
        "/hgs-static/vendor/higlass-pileup/higlass-pileup.min.js",
        "/hgs-static/website/viewconf.js",
        "/hgs-static/website/viewer.js",
    ]
    assert not [s for s in scripts if not s.startswith("/")], "everything is served by us"
    for accept in (None, "*/*", "application/json"):
        answer = client.get("/", **({"HTTP_ACCEPT": accept} if accept else {}))
        assert answer.json()["tilesets"] == "/api/v1/tilesets/", accept
    assert client.get("/api/v1/").json() == client.get("/").json()


@pytest.mark.django_db
def test_viewer_shows_the_session_user_and_a_logout_form():
    user = make_user("viewer-user")
    client = Client()
    client.force_login(user)
    html = client.get("/", HTTP_ACCEPT=HTML).content.decode()
    assert json.loads(CONFIG.search(html).group(1))["user"] == "viewer-user"
    assert 'action="/api/v1/api-auth/logout/"' in html and 'name="next" value="/"' in html
    assert 'id="login"' not in html


@pytest.mark.django_db
def test_viewer_under_app_basepath(settings):
    settings.APP_BASEPATH = "/hg"
    settings.FORCE_SCRIPT_NAME = "/hg"
    settings.STATIC_URL = "/hg/hgs-static/"
    html = Client().get("/hg/", HTTP_ACCEPT=HTML).content.decode()
    config = json.loads(CONFIG.search(html).group(1))
    assert config["api"] == "/hg/api/v1" and config["viewerUrl"] == "/hg/"
    assert '<script src="/hg/hgs-static/website/viewer.js">' in html


def test_client_export_links_open_in_the_viewer():
    answer = Client().get("/l/?d=abc-123")
    assert answer.status_code == 302 and answer["Location"] == "/?config=abc-123"
    assert Client().get("/l/")["Location"] == "/"


def test_the_client_is_served_by_us():
    bh.require(bh.client_installed(), "the HiGlass client is not installed (npm ci)")
    client = Client()
    for path, text in [
        ("/hgs-static/vendor/higlass/hglib.min.js", b"hglib"),
        ("/hgs-static/vendor/react/react.production.min.js", b"React"),
        ("/hgs-static/vendor/pixi.js/pixi.min.js", b"PIXI"),
        ("/hgs-static/website/viewer.js", b"hgsViewer"),
    ]:
        answer = client.get(path)
        assert answer.status_code == 200, path
        assert "javascript" in answer["Content-Type"], path
        assert text in b"".join(answer.streaming_content), path
    version = json.loads((ROOT / "node_modules" / "higlass" / "package.json").read_text())["version"]
    assert version == "2.3.5"


BUILDER_SCRIPT = r"""
const root = process.argv[1];
const builder = require(root + "/website/static/website/viewconf.js");
const Ajv = require(root + "/node_modules/ajv");
const schema = require(root + "/node_modules/higlass/dist/app/schema.json");
const ts = (uuid, datatype, filetype) => ({uuid, datatype, filetype, name: "Name " + uuid, coordSystem: "hg38"});
const all = [
  ts("hic", "matrix", "cooler"), ts("sig", "vector", "bigwig"), ts("mv", "multivec", "multivec"),
  ts("genes", "gene-annotation", "beddb"), ts("bed", "bedlike", "bigbed"), ts("dom", "2d-rectangle-domains", "bed2ddb"),
  ts("reads", "reads", "bam"), ts("seq", "sequence", "fasta"), ts("raw", "unknown", "cooler"), ts("anno", null, "beddb"),
];
const chromsizes = ts("sizes", "chromsizes", "chromsizes-tsv");
const withPlugin = builder.build(all, {server: "http://127.0.0.1:9/api/v1/", chromsizes, extent: [0, 5000], plugins: {pileup: true}});
const withoutPlugin = builder.build(all, {server: "/api/v1", extent: null, plugins: {}});
const oneD = builder.build([ts("sig", "vector", "bigwig"), chromsizes], {server: "/api/v1", extent: [0, 10]});
const ajv = new Ajv();
const valid = (viewconf) => ajv.validate(schema, viewconf) || JSON.stringify(ajv.errors);
const noPileup = JSON.parse(JSON.stringify(withPlugin.viewconf));
noPileup.views[0].tracks.top = noPileup.views[0].tracks.top.filter((t) => t.type !== "pileup");
console.log(JSON.stringify({
  withPlugin, withoutPlugin, oneD,
  valid: [valid(noPileup), valid(withoutPlugin.viewconf), valid(oneD.viewconf)],
  extent: builder.extentFromInfos({sizes: {chromsizes: [["a", 10], ["b", 5]]}, x: {max_pos: [99]}}, "sizes"),
  extentNoSizes: builder.extentFromInfos({x: {max_pos: [99, 99]}, y: {error: "nope"}}, null),
}));
"""


def test_viewconf_builder_maps_datatypes_to_tracks():
    node = shutil.which("node")
    bh.require(node is not None, "node is not installed")
    bh.require((ROOT / "node_modules" / "ajv").is_dir() and bh.client_installed(), "node_modules is missing (npm ci)")
    out = subprocess.run([node, "-e", BUILDER_SCRIPT, str(ROOT)], capture_output=True, text=True, check=True)
    result = json.loads(out.stdout)
    assert result["valid"] == [True, True, True], "the view configs follow HiGlass's schema"
    view = result["withPlugin"]["viewconf"]["views"][0]
    server = "http://127.0.0.1:9/api/v1"
    top = [(t["type"], t["tilesetUid"]) for t in view["tracks"]["top"]]
    assert top == [
        ("horizontal-chromosome-labels", "sizes"), ("horizontal-line", "sig"), ("horizontal-multivec", "mv"),
        ("horizontal-gene-annotations", "genes"), ("bedlike", "bed"), ("pileup", "reads"),
        ("horizontal-gene-annotations", "anno"),
    ]
    assert [(t["type"], t["tilesetUid"]) for t in view["tracks"]["left"]] == [("vertical-chromosome-labels", "sizes")]
    (center,) = view["tracks"]["center"]
    assert center["type"] == "combined"
    assert [(t["type"], t["tilesetUid"]) for t in center["contents"]] == [
        ("heatmap", "hic"), ("2d-rectangle-domains", "dom"), ("heatmap", "raw"), ("2d-chromosome-grid", "sizes")]
    every = view["tracks"]["top"] + view["tracks"]["left"] + center["contents"]
    assert {t["server"] for t in every} == {server}
    assert view["initialXDomain"] == [0, 5000] and view["initialYDomain"] == [0, 5000]
    assert view["chromInfoPath"] == server + "/chrom-sizes/?id=sizes"
    assert view["genomePositionSearchBox"] == {
        "chromInfoServer": server, "chromInfoId": "sizes", "visible": True,
        "autocompleteServer": server, "autocompleteId": "genes"}
    assert view["autocompleteSource"] == server + "/suggest/?d=genes&"
    assert result["withPlugin"]["viewconf"]["exportViewUrl"] == server + "/viewconfs/"
    assert result["withPlugin"]["viewconf"]["trackSourceServers"] == [server]
    assert [s["tileset"]["uuid"] for s in result["withPlugin"]["skipped"]] == ["seq"]
    assert [s["tileset"]["uuid"] for s in result["withoutPlugin"]["skipped"]] == ["reads", "seq"]
    bare = result["withoutPlugin"]["viewconf"]["views"][0]
    assert "genomePositionSearchBox" not in bare and "initialXDomain" not in bare and not bare["tracks"]["left"]
    one = result["oneD"]["viewconf"]["views"][0]
    assert one["tracks"]["center"] == [] and "initialYDomain" not in one and one["initialXDomain"] == [0, 10]
    assert result["extent"] == [0, 15] and result["extentNoSizes"] == [0, 99]


# --- in the browser --------------------------------------------------------------------------

# Minimum share of a track's pixels that are ink (not white) or colourful (saturated), and the
# minimum number of colours: data drawn, not only a label or an error message.
CHECKS = {
    "horizontal-chromosome-labels": {"ink": 0.01, "colours": 3},
    "heatmap": {"colourful": 0.03, "colours": 12},
    "horizontal-line": {"colourful": 0.01, "colours": 4},
    "horizontal-multivec": {"colourful": 0.5, "colours": 12},
    "horizontal-gene-annotations": {"colourful": 0.01, "colours": 4},
    "bedlike": {"colourful": 0.01, "colours": 4},
    "2d-rectangle-domains": {"colourful": 0.005, "colours": 3},
    "pileup": {"ink": 0.03, "colours": 8},
}
LABEL_TYPES = {"horizontal-chromosome-labels", "vertical-chromosome-labels", "2d-chromosome-grid"}


@pytest.fixture(scope="module")
def site():
    if os.environ.get("HGS_TEST_DATABASE") == "postgresql":
        pytest.skip("browser tests run in the SQLite pass (their live server has its own SQLite database)")
    bh.require_browser()
    live = bh.LiveSite().start()
    yield live
    live.stop()


@pytest.fixture(scope="module")
def browser(site):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=bh.CHROMIUM, args=bh.CHROMIUM_ARGS[1:], headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def context(browser):
    context = browser.new_context(viewport=bh.VIEWPORT)
    yield context
    context.close()


def api_count(site, query):
    with urllib.request.urlopen(f"{site.url}/api/v1/tilesets/?{query}") as answer:
        return json.loads(answer.read())["count"]


def check_view(recorder, name, only=None):
    """Network, errors and pixels of the current view's tracks (``only``: these track types)."""
    tracks = [t for t in recorder.tracks() if only is None or t["type"] in only]
    assert tracks, "no tracks"
    png = recorder.screenshot(name)
    stats = recorder.pixel_stats(png, {t["uid"]: t["box"] for t in tracks if t["box"]})
    problems = []

    infos, tiles = {}, {}
    for answer in recorder.api("/tileset_info/"):
        assert answer["status"] == 200, answer["url"]
        for uid, entry in (answer["body"] or {}).items():
            infos.setdefault(uid, []).append(entry)
    for answer in recorder.api("/tiles/"):
        assert answer["status"] == 200, answer["url"]
        for key, tile in (answer["body"] or {}).items():
            tiles.setdefault(key.split(".")[0], []).append((key, tile))
    for track in tracks:
        uid, kind = track["uuid"], track["type"]
        if uid not in infos:
            problems.append(f"{kind} {uid}: no tileset_info fetched")
        elif any("error" in entry for entry in infos[uid]):
            problems.append(f"{kind} {uid}: tileset_info error {infos[uid]}")
        if kind in LABEL_TYPES:
            if not [a for a in recorder.api(f"/chrom-sizes/?id={uid}") if a["status"] == 200]:
                problems.append(f"{kind} {uid}: no chrom-sizes fetched")
        elif not tiles.get(uid):
            problems.append(f"{kind} {uid}: no tiles fetched")
        else:
            errors = [key for key, tile in tiles[uid] if isinstance(tile, dict) and "error" in tile]
            if errors:
                problems.append(f"{kind} {uid}: tile errors {errors[:3]}")
        needed = CHECKS.get(kind)
        got = stats.get(track["uid"])
        if needed and got is None:
            problems.append(f"{kind} {uid}: not on the page")
        elif needed:
            for measure, minimum in needed.items():
                if got[measure] < minimum:
                    problems.append(f"{kind} {uid}: {measure} {got[measure]:.4f} < {minimum} ({got})")
    (bh.ARTIFACTS / f"{name}.json").write_text(json.dumps(
        {t["uid"]: {"type": t["type"], "box": t["box"], "pixels": stats.get(t["uid"])} for t in tracks}, indent=1))
    assert not recorder.page_errors, recorder.page_errors
    assert not recorder.console_errors, recorder.console_errors
    assert not problems, "\n".join(problems)
    return {t["type"] for t in tracks}, stats


def passes(stats, needed):
    return all(stats[measure] >= minimum for measure, minimum in needed.items())


def tick(page, *uuids):
    for uuid in uuids:
        page.check(f'#tileset-rows tr[data-uuid="{uuid}"] input[type=checkbox]')


@pytest.mark.browser
def test_browse_open_save_and_reopen_on_the_same_origin(site, context):
    started = time.time()
    rec = bh.PageRecorder(context, site.url).goto(site.url + "/")
    page = rec.page
    visible = api_count(site, "limit=1")
    page.wait_for_selector("#tileset-rows tr[data-uuid]")
    assert page.text_content("#page-info") == f"1–20 of {visible}"
    assert page.locator("#tileset-rows tr[data-uuid]").count() == 20
    page.click("#next-page")
    page.wait_for_function(f"document.getElementById('page-info').textContent === '21–{visible} of {visible}'")
    assert page.locator("#tileset-rows tr[data-uuid]").count() == visible - 20
    page.click("#prev-page")
    page.wait_for_function("document.getElementById('page-info').textContent.startsWith('1–20')")

    demos = api_count(site, "ac=demo")
    page.fill("#search", "demo")
    page.wait_for_function(f"document.getElementById('page-info').textContent === '1–{demos} of {demos}'")
    row = page.locator('#tileset-rows tr[data-uuid="demo-hic"]')
    assert [c.strip() for c in row.locator("td").all_text_contents()[1:]] == [
        "Demo Hi-C (synthetic)", "cooler", "matrix", "hg38"]
    uuids = ["demo-hic", "demo-signal", "demo-multivec"]
    uuids += [u for u in ("demo-genes", "demo-features") if page.locator(f'tr[data-uuid="{u}"]').count()]
    tick(page, *uuids)
    # the pixel checks tell an empty view area from a drawn track
    area = page.locator("#higlass").bounding_box()
    empty = rec.pixel_stats(page.screenshot(), {"area": area})["area"]
    assert not [kind for kind, needed in CHECKS.items() if passes(empty, needed)], empty
    page.click("#open-selection")
    rec.wait_ready()
    kinds, _ = check_view(rec, "same-origin-1d-and-heatmap")
    assert {"horizontal-chromosome-labels", "heatmap", "horizontal-line", "horizontal-multivec"} <= kinds
    assert rec.api("/chrom-sizes/?id=hg38-chromsizes"), "chromosome labels and the position search"

    # the track picker of the client: tilesets/?limit=...&dt=...
    page.click('[data-testid="add-track"]')
    with page.expect_response(lambda r: "/api/v1/tilesets/?limit=10000&" in r.url):
        page.get_by_role("cell", name="top", exact=True).click()
    picker = [a for a in rec.api("/tilesets/?limit=10000&") if "dt=" in a["url"]]
    assert picker and all(a["status"] == 200 for a in picker)
    listed = {t["uuid"] for a in picker for t in a["body"]["results"]}
    assert {"demo-signal", "demo-multivec"} <= listed and "alice-private" not in listed
    page.get_by_role("button", name="Cancel").click()

    # gene search: suggest/
    if "demo-genes" in uuids:
        with page.expect_response(lambda r: "/api/v1/suggest/?d=demo-genes&ac=zab" in r.url) as answer:
            found = page.evaluate("() => new Promise((done) => hgsViewer.hgApi.suggestGene('view-1', 'zab', done))")
        assert answer.value.status == 200 and answer.value.json() == found
        assert found and all(g["geneName"].lower().startswith("zab") for g in found)

    # save the view (viewconfs/) and open it again by its link
    page.click("#save-view")
    page.wait_for_selector("#saved-link:not([hidden])")
    uid = page.get_attribute("#saved-link", "data-uid")
    link = page.get_attribute("#saved-link", "href")
    assert link == f"{site.url}/?config={uid}" and page.url == link
    saved = [a for a in rec.api("/viewconfs/") if a["method"] == "POST"]
    assert [a["status"] for a in saved] == [201]
    rec.close()

    again = bh.PageRecorder(context, site.url).goto(link)
    again.wait_ready()
    assert again.api(f"/viewconfs/?d={uid}")[0]["status"] == 200
    reopened, _ = check_view(again, "same-origin-saved-view-reopened")
    assert reopened >= kinds
    again.close()
    print(f"same-origin run: {time.time() - started:.1f} s")


@pytest.mark.browser
def test_2d_domains_and_reads(site, context):
    kinds = site.facts["kinds"]
    if not kinds.get("annotations") and not kinds.get("reads"):
        pytest.skip("no bed2ddb or BAM generator in this checkout")
    uuids = (["demo-domains"] if kinds.get("annotations") else []) + (["demo-reads"] if kinds.get("reads") else [])
    rec = bh.PageRecorder(context, site.url).goto(site.url + "/?" + "&".join(f"d={u}" for u in uuids))
    rec.wait_ready()
    if "demo-domains" in uuids:
        rec.page.evaluate("hgsViewer.hgApi.zoomTo('view-1', 20e6, 60e6, 20e6, 60e6, 0)")
        rec.settle()
        check_view(rec, "domains-chr1", only={"2d-rectangle-domains", "horizontal-chromosome-labels"})
    if "demo-reads" in uuids:
        rec.page.evaluate("hgsViewer.hgApi.zoomTo('view-1', 11000000, 11004000, 11000000, 11004000, 0)")
        rec.settle()
        check_view(rec, "reads-chr1", only={"pileup"})
    rec.close()


@pytest.mark.browser
def test_cross_origin_client_with_a_token(site, context):
    origin = bh.ClientOrigin(site, auth_token=site.facts["token"])
    try:
        before = len(site.log_lines())
        uuids = ["demo-hic", "demo-signal", "demo-multivec", "alice-private"]
        rec = bh.PageRecorder(context, site.url).goto(origin.url + "/?" + "&".join(f"d={u}" for u in uuids))
        rec.wait_ready()
        assert rec.page.url.startswith(origin.url)
        kinds, _ = check_view(rec, "cross-origin")
        assert {"heatmap", "horizontal-line", "horizontal-multivec"} <= kinds
        assert "alice-private" in {t["uuid"] for t in rec.tracks()}, "the token shows Alice's private tileset"
        tiles = rec.api("/tiles/")
        assert tiles and all(a["headers"].get("access-control-allow-origin") == "*" for a in tiles)

        rec.page.click("#save-view")
        rec.page.wait_for_selector("#saved-link:not([hidden])")
        uid = rec.page.get_attribute("#saved-link", "data-uid")
        assert rec.page.get_attribute("#saved-link", "href") == f"{origin.url}/?config={uid}"
        rec.close()

        again = bh.PageRecorder(context, site.url).goto(f"{origin.url}/?config={uid}")
        again.wait_ready()
        check_view(again, "cross-origin-saved-view-reopened")
        again.close()

        lines = site.log_lines()[before:]
        preflights = [line for line in lines if '"OPTIONS /api/v1/' in line]
        for path in ("/api/v1/tilesets/", "/api/v1/tileset_info/", "/api/v1/tiles/", "/api/v1/viewconfs/"):
            assert [line for line in preflights if f"OPTIONS {path}" in line and '" 200 ' in line], (path, preflights)
        assert not [line for line in lines if re.search(r'" [45]\d\d ', line)], "no failed requests"
    finally:
        origin.stop()


@pytest.mark.browser
def test_private_tilesets_only_after_login(site, context):
    rec = bh.PageRecorder(context, site.url).goto(site.url + "/")
    page = rec.page
    page.wait_for_selector("#tileset-rows tr[data-uuid]")
    page.fill("#search", "alice")
    page.wait_for_function("document.getElementById('page-info').textContent === '0–0 of 0'")
    rec.close()

    # Alice logs in with the "Log in" link (a session); her private tileset appears and opens.
    rec = bh.PageRecorder(context, site.url).goto(site.url + "/")
    page = rec.page
    page.click("#login")
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", site.facts["password"])
    page.click("[type=submit]")
    page.wait_for_url(site.url + "/")
    assert page.text_content("#user").strip() == "Logged in as alice"
    page.fill("#search", "alice")
    page.wait_for_selector('#tileset-rows tr[data-uuid="alice-private"] .badge')
    tick(page, "alice-private")
    page.click("#open-selection")
    rec.wait_ready()
    check_view(rec, "private-after-login")
    page.click("#logout")
    page.wait_for_selector("#login")
    page.fill("#search", "alice")
    page.wait_for_function("document.getElementById('page-info').textContent === '0–0 of 0'")
    rec.close()

    # A superuser through the admin login sees it too.
    rec = bh.PageRecorder(context, site.url).goto(site.url + "/admin/login/?next=/")
    page = rec.page
    page.fill("input[name=username]", "boss")
    page.fill("input[name=password]", site.facts["password"])
    page.click("[type=submit]")
    page.wait_for_url(site.url + "/")
    page.fill("#search", "alice")
    page.wait_for_selector('#tileset-rows tr[data-uuid="alice-private"]')
    rec.close()
