"""gunicorn.conf.py lets a GET /tiles with 1000 ids through to the application (issue 14, item 5):
a real gunicorn with that configuration on a free loopback port, in a fresh data folder."""

import http.client
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.builders.servers import free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[2]
UID = "Aa" * 11  # 22 characters, as a slugid


@pytest.fixture(scope="module")
def gunicorn_port(tmp_path_factory):
    data = tmp_path_factory.mktemp("gunicorn-data")
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    env.update(BASE_DIR=str(data), DJANGO_SETTINGS_MODULE="higlass_server.settings", WEB_CONCURRENCY="1",
               GUNICORN_CMD_ARGS="")
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    port = free_port()
    log = open(data / "gunicorn.log", "wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}",
         "higlass_server.wsgi:application"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port, seconds=60)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def _get(port, target):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request("GET", target)
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type"), response.read()
    finally:
        connection.close()


def _tiles(count):
    ids = [f"{UID}.12.{i:013d}" for i in range(count)]  # 39 characters each
    return "/api/v1/tiles/?" + "&".join(f"d={tile_id}" for tile_id in ids)


def test_thousand_tile_ids_reach_the_application(gunicorn_port):
    target = _tiles(1000)
    assert len(target) > 40_000  # far over gunicorn's default 4094 and its usual 8190 ceiling
    status, kind, body = _get(gunicorn_port, target)
    assert status == 200 and kind == "application/json", body[:300]
    answer = json.loads(body)
    assert len(answer) == 1000
    assert answer[f"{UID}.12.{0:013d}"] == {"error": f"No such tileset with uid: {UID}"}


def test_more_than_thousand_ids_is_the_applications_json_400(gunicorn_port):
    status, kind, body = _get(gunicorn_port, _tiles(1001))
    assert status == 400 and kind == "application/json", body[:300]
    assert json.loads(body) == {"error": "Too many tiles were requested.", "code": "InvalidInput"}


def test_a_request_line_over_the_bound_is_gunicorns(gunicorn_port):
    status, kind, _ = _get(gunicorn_port, "/api/v1/tiles/?d=" + "x" * 100_000)
    assert status in (400, 414) and kind != "application/json"  # gunicorn's own page (docs/deployment.md)
