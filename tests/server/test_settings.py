"""Settings: environment first (seed names and reference aliases), then config.json, then defaults.

Each case loads the settings module in a fresh interpreter with its own environment and data folder.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from higlass_server.settings import parse_bool

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, logging, django
django.setup()
from django.conf import settings as s
print(json.dumps({
    "BASE_DIR": str(s.BASE_DIR), "MEDIA_ROOT": s.MEDIA_ROOT, "DEBUG": s.DEBUG, "SECRET_KEY": s.SECRET_KEY,
    "UPLOAD_ENABLED": s.UPLOAD_ENABLED, "PUBLIC_UPLOAD_ENABLED": s.PUBLIC_UPLOAD_ENABLED,
    "REDIS_HOST": s.REDIS_HOST, "REDIS_PORT": s.REDIS_PORT,
    "SNIPPET_MAT_MAX_OUT_DIM": s.SNIPPET_MAT_MAX_OUT_DIM, "SNIPPET_MAT_MAX_DATA_DIM": s.SNIPPET_MAT_MAX_DATA_DIM,
    "SNIPPET_IMG_MAX_OUT_DIM": s.SNIPPET_IMG_MAX_OUT_DIM, "SNIPPET_OSM_MAX_DATA_DIM": s.SNIPPET_OSM_MAX_DATA_DIM,
    "SNIPPET_IMT_MAX_DATA_DIM": s.SNIPPET_IMT_MAX_DATA_DIM,
    "INSTALLED_APPS": s.INSTALLED_APPS, "ENGINE": s.DATABASES["default"]["ENGINE"],
    "DB_NAME": str(s.DATABASES["default"]["NAME"]), "FORCE_SCRIPT_NAME": s.FORCE_SCRIPT_NAME,
    "STATIC_URL": s.STATIC_URL, "ALLOWED_HOSTS": s.ALLOWED_HOSTS,
    "levels": {name: logging.getLevelName(logging.getLogger(name).level)
               for name in ("django", "tilesets", "chroms", "fragments")},
    "handlers": {h.__class__.__name__: logging.getLevelName(h.level) for h in logging.getLogger("tilesets").handlers},
}))
"""

CLEAN = ("BASE_DIR", "HIGLASS_SERVER_BASE_DIR", "DATABASE_URL", "REDIS_HOST", "REDIS_PORT", "DEBUG",
         "UPLOAD_ENABLED", "PUBLIC_UPLOAD_ENABLED", "HIGLASS_MEDIA_ROOT", "MEDIA_ROOT", "APP_BASEPATH",
         "SECRET_KEY", "HIGLASS_CONFIG", "SNIPPET_HIC_MAX_OUT_DIM", "SNIPPET_MAT_MAX_OUT_DIM")


def load(tmp_path, env=None, config=None, expect_error=False):
    base = tmp_path / "base"
    base.mkdir(exist_ok=True)
    if config is not None:
        (base / "config.json").write_text(config if isinstance(config, str) else json.dumps(config))
    environ = {k: v for k, v in os.environ.items() if k not in CLEAN and not k.startswith("LOG_LEVEL_")}
    environ.update({"BASE_DIR": str(base), "DJANGO_SETTINGS_MODULE": "higlass_server.settings", "PYTHONPATH": str(ROOT)})
    environ.update(env or {})
    result = subprocess.run([sys.executable, "-c", PROBE], env=environ, cwd=ROOT, capture_output=True, text=True)
    if expect_error:
        assert result.returncode != 0
        return result.stderr
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_defaults(tmp_path):
    s = load(tmp_path)
    base = str((tmp_path / "base").resolve())
    assert s["BASE_DIR"] == base and s["MEDIA_ROOT"] == f"{base}/media"
    assert s["DEBUG"] is False and s["UPLOAD_ENABLED"] is True and s["PUBLIC_UPLOAD_ENABLED"] is True
    assert s["REDIS_HOST"] is None
    assert s["ENGINE"] == "django.db.backends.sqlite3" and s["DB_NAME"] == f"{base}/db.sqlite3"
    assert (s["SNIPPET_MAT_MAX_OUT_DIM"], s["SNIPPET_MAT_MAX_DATA_DIM"], s["SNIPPET_IMG_MAX_OUT_DIM"]) == (512, 4096, 1024)
    assert (s["SNIPPET_OSM_MAX_DATA_DIM"], s["SNIPPET_IMT_MAX_DATA_DIM"]) == (2048, 2048)
    assert s["levels"] == {"django": "WARNING", "tilesets": "WARNING", "chroms": "WARNING", "fragments": "WARNING"}
    assert (tmp_path / "base" / "media" / "uploads").is_dir() and (tmp_path / "base" / "log").is_dir()
    assert s["ALLOWED_HOSTS"] == ["*"] and s["STATIC_URL"] == "/hgs-static/" and s["FORCE_SCRIPT_NAME"] is None


def test_secret_key_is_shared_by_processes_starting_together(tmp_path):
    environ = {k: v for k, v in os.environ.items() if k not in CLEAN}
    environ.update(BASE_DIR=str(tmp_path / "base"), DJANGO_SETTINGS_MODULE="higlass_server.settings", PYTHONPATH=str(ROOT))
    code = "import django; django.setup(); from django.conf import settings; print(settings.SECRET_KEY)"
    processes = [subprocess.Popen([sys.executable, "-c", code], env=environ, cwd=ROOT, stdout=subprocess.PIPE, text=True)
                 for _ in range(4)]
    keys = {p.communicate()[0].strip() for p in processes}
    assert len(keys) == 1 and len(keys.pop()) >= 50
    assert sorted(p.name for p in (tmp_path / "base").iterdir() if p.name.startswith(".secret")) == [".secret_key"]


def test_empty_higlass_config_counts_as_unset(tmp_path):
    assert load(tmp_path, env={"HIGLASS_CONFIG": ""}, config={"DEBUG": True})["DEBUG"] is True


def test_secret_key_is_persisted(tmp_path):
    first, second = load(tmp_path)["SECRET_KEY"], load(tmp_path)["SECRET_KEY"]
    assert first == second and len(first) >= 50
    key_file = tmp_path / "base" / ".secret_key"
    assert key_file.read_text() == first and (key_file.stat().st_mode & 0o777) == 0o600
    assert load(tmp_path, env={"SECRET_KEY": "from-env"})["SECRET_KEY"] == "from-env"


def test_empty_base_dir_counts_as_unset(tmp_path):
    other = tmp_path / "other"
    s = load(tmp_path, env={"BASE_DIR": "", "HIGLASS_SERVER_BASE_DIR": str(other)})
    assert s["BASE_DIR"] == str(other.resolve())


def test_higlass_server_base_dir_when_base_dir_unset(tmp_path):
    other = tmp_path / "other"
    environ = {k: v for k, v in os.environ.items() if k not in CLEAN}
    environ.update(HIGLASS_SERVER_BASE_DIR=str(other), DJANGO_SETTINGS_MODULE="higlass_server.settings", PYTHONPATH=str(ROOT))
    result = subprocess.run([sys.executable, "-c", PROBE], env=environ, cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["BASE_DIR"] == str(other.resolve())


def test_config_json_keys(tmp_path):
    config = {
        "DEBUG": True, "UPLOAD_ENABLED": False, "PUBLIC_UPLOAD_ENABLED": "false",
        "REDIS_HOST": "127.0.0.1", "REDIS_PORT": 6380,
        "LOG_LEVEL_CHROMS": "DEBUG", "LOG_LEVEL_TILESETS": "info", "LOG_LEVEL_DJANGO": "ERROR",
        "LOG_LEVEL_FRAGMENTS": "CRITICAL", "LOG_LEVEL_CONSOLE": "INFO", "LOG_LEVEL_FILE": "ERROR",
        "SNIPPET_HIC_MAX_OUT_DIM": 256, "SNIPPET_HIC_MAX_DATA_DIM": 1024, "SNIPPET_IMG_MAX_OUT_DIM": 64,
        "SNIPPET_OSM_MAX_DATA_DIM": 32, "SNIPPET_IMT_MAX_DATA_DIM": 16,
        "INSTALLED_APPS": ["django.contrib.humanize"],
    }
    s = load(tmp_path, config=config)
    assert s["DEBUG"] is True and s["UPLOAD_ENABLED"] is False and s["PUBLIC_UPLOAD_ENABLED"] is False
    assert (s["REDIS_HOST"], s["REDIS_PORT"]) == ("127.0.0.1", 6380)
    assert s["levels"] == {"django": "ERROR", "tilesets": "INFO", "chroms": "DEBUG", "fragments": "CRITICAL"}
    assert s["handlers"] == {"StreamHandler": "INFO", "RotatingFileHandler": "ERROR"}
    assert (s["SNIPPET_MAT_MAX_OUT_DIM"], s["SNIPPET_MAT_MAX_DATA_DIM"]) == (256, 1024)
    assert (s["SNIPPET_IMG_MAX_OUT_DIM"], s["SNIPPET_OSM_MAX_DATA_DIM"], s["SNIPPET_IMT_MAX_DATA_DIM"]) == (64, 32, 16)
    assert s["INSTALLED_APPS"][-1] == "django.contrib.humanize"


def test_environment_wins_over_config_json(tmp_path):
    env = {"UPLOAD_ENABLED": "false", "REDIS_HOST": "localhost", "SNIPPET_MAT_MAX_OUT_DIM": "100", "DEBUG": "yes"}
    s = load(tmp_path, env=env, config={"UPLOAD_ENABLED": True, "REDIS_HOST": "elsewhere", "DEBUG": False})
    assert s["UPLOAD_ENABLED"] is False and s["DEBUG"] is True
    assert (s["REDIS_HOST"], s["REDIS_PORT"]) == ("localhost", 6379)  # port defaults when only the host is set
    assert s["SNIPPET_MAT_MAX_OUT_DIM"] == 100


def test_database_url_selects_postgresql(tmp_path):
    s = load(tmp_path, env={"DATABASE_URL": "postgresql://hg:pw@127.0.0.1:5432/higlass"})
    assert s["ENGINE"] == "django.db.backends.postgresql" and s["DB_NAME"] == "higlass"


def test_media_root_and_app_basepath(tmp_path):
    s = load(tmp_path, env={"HIGLASS_MEDIA_ROOT": str(tmp_path / "m"), "APP_BASEPATH": "hg/"})
    assert s["MEDIA_ROOT"] == str((tmp_path / "m").resolve())
    assert s["FORCE_SCRIPT_NAME"] == "/hg" and s["STATIC_URL"] == "/hg/hgs-static/"


@pytest.mark.parametrize(
    "env, config, message",
    [
        ({"UPLOAD_ENABLED": "perhaps"}, None, "UPLOAD_ENABLED must be a boolean"),
        ({"REDIS_PORT": "abc"}, None, "REDIS_PORT must be an integer"),
        ({"LOG_LEVEL_CHROMS": "LOUD"}, None, "LOG_LEVEL_CHROMS must be one of"),
        (None, "{not json", "config.json"),
        (None, "[1, 2]", "must hold a JSON object"),
    ],
)
def test_bad_settings_fail_with_a_clear_message(tmp_path, env, config, message):
    assert message in load(tmp_path, env=env, config=config, expect_error=True)


@pytest.mark.parametrize("text", ["true", "True", "1", "yes", "on"])
def test_parse_bool_true(text):
    assert parse_bool(text) is True


@pytest.mark.parametrize("text", ["false", "False", "0", "no", "off", ""])
def test_parse_bool_false(text):
    assert parse_bool(text) is False


def test_parse_bool_rejects_other_text():
    with pytest.raises(ImproperlyConfigured):
        parse_bool("maybe")


def test_suite_database_is_the_one_asked_for(db):
    """`make test` runs the suite twice: this checks the second run really uses PostgreSQL."""
    from django.db import connection

    wanted = os.environ.get("HGS_TEST_DATABASE", "sqlite")
    assert connection.vendor == wanted
