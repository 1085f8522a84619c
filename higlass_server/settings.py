"""Settings of the HiGlass tileset server: the one place where configuration is read.

Every setting is looked up in this order:

1. the environment (our names first, then the names the original higlass-server used),
2. ``config.json`` in the data folder (``BASE_DIR``),
3. the built-in default.

``docs/configuration.md`` lists every setting; ``config.json.sample`` shows the file.
"""

import json
import os
import secrets
from pathlib import Path

import dj_database_url
from corsheaders.defaults import default_headers as cors_default_headers
from django.core.exceptions import ImproperlyConfigured

from higlass_server import values

PROJECT_DIR = Path(__file__).resolve().parent.parent

_MISSING = object()


def parse_bool(value, name="value"):
    """A boolean setting, read with the server's one boolean rule (``higlass_server.values``)."""
    try:
        return values.parse_bool(value, name)
    except ValueError as exc:
        raise ImproperlyConfigured(str(exc)) from None


def _parse_int(value, name):
    try:
        return int(str(value).strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from None


def _parse_list(value, name):
    if isinstance(value, (list, tuple)):
        return [str(item) for item in value]
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    raise ImproperlyConfigured(f"{name} must be a list or a comma-separated string, got {value!r}")


def _first_env(names):
    """The first of ``names`` set to a non-empty value in the environment (empty = unset)."""
    for name in names:
        if os.environ.get(name, "").strip():
            return os.environ[name]
    return _MISSING


# --- the data folder and config.json -------------------------------------------------------

_base_dir_env = _first_env(["BASE_DIR", "HIGLASS_SERVER_BASE_DIR"])
BASE_DIR = Path(_base_dir_env).expanduser().resolve() if _base_dir_env is not _MISSING else PROJECT_DIR
BASE_DIR.mkdir(parents=True, exist_ok=True)

_config_env = _first_env(["HIGLASS_CONFIG"])
CONFIG_FILE = Path(_config_env) if _config_env is not _MISSING else BASE_DIR / "config.json"
try:
    CONFIG = json.loads(CONFIG_FILE.read_text()) if CONFIG_FILE.exists() else {}
except (OSError, ValueError) as exc:
    raise ImproperlyConfigured(f"Cannot read {CONFIG_FILE}: {exc}") from exc
if not isinstance(CONFIG, dict):
    raise ImproperlyConfigured(f"{CONFIG_FILE} must hold a JSON object")


def get_setting(name, default=None, *, aliases=(), cast=None):
    """Environment (``name`` then ``aliases``), then config.json (same names), then ``default``."""
    names = [name, *aliases]
    value = _first_env(names)
    if value is _MISSING:
        value = next((CONFIG[n] for n in names if n in CONFIG), _MISSING)
    if value is _MISSING or value is None:
        return default
    if cast is bool:
        return parse_bool(value, name)
    if cast is int:
        return _parse_int(value, name)
    if cast is list:
        return _parse_list(value, name)
    return value


# --- core ----------------------------------------------------------------------------------

DEBUG = get_setting("DEBUG", False, cast=bool)


def _secret_key():
    configured = get_setting("SECRET_KEY")
    if configured:
        return str(configured)
    key_file = BASE_DIR / ".secret_key"
    if not key_file.exists():
        # Write a complete file under a temporary name, then link it into place: processes
        # starting together all end up reading the one key that won.
        temporary = key_file.with_name(f".secret_key.{os.getpid()}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(50))
        try:
            os.link(temporary, key_file)
        except FileExistsError:
            pass
        finally:
            temporary.unlink()
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()

ALLOWED_HOSTS = get_setting("ALLOWED_HOSTS", ["*"], cast=list)
SITE_URL = get_setting("SITE_URL")
if SITE_URL:
    ALLOWED_HOSTS.append(SITE_URL)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "rest_framework.authtoken",
    "guardian",
    "tilesets",
    "chroms",
    "htsget",
    "fragments",
    "website",
]
# config.json (or the environment) may list extra Django apps to install.
INSTALLED_APPS += [app for app in get_setting("INSTALLED_APPS", [], cast=list) if app not in INSTALLED_APPS]

MIDDLEWARE = [
    "higlass_server.middleware.BasePathMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "website.middleware.StaticFilesMiddleware",  # WhiteNoise (static files)
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "higlass_server.urls"
WSGI_APPLICATION = "higlass_server.wsgi.application"
APPEND_SLASH = False  # the API answers with and without the trailing slash itself

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

# --- database ------------------------------------------------------------------------------

DATABASE_URL = get_setting("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
try:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
except ValueError as exc:
    raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL: {exc}") from exc
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
ANONYMOUS_USER_NAME = None  # guardian: no stand-in row for anonymous users

# --- files ---------------------------------------------------------------------------------

MEDIA_ROOT = str(Path(get_setting("HIGLASS_MEDIA_ROOT", BASE_DIR / "media", aliases=("MEDIA_ROOT",))).resolve())
Path(MEDIA_ROOT, "uploads").mkdir(parents=True, exist_ok=True)
MEDIA_URL = "/media/"  # nothing is served there: files are reached only through the API
HIGLASS_CACHE_DIR = get_setting("HIGLASS_CACHE_DIR")
FILE_UPLOAD_HANDLERS = ["django.core.files.uploadhandler.TemporaryFileUploadHandler"]
DATA_UPLOAD_MAX_NUMBER_FIELDS = 10000  # the tiles endpoint enforces its own limit of 1000 ids

APP_BASEPATH = str(get_setting("APP_BASEPATH", "")).strip().rstrip("/")
if APP_BASEPATH and not APP_BASEPATH.startswith("/"):
    APP_BASEPATH = "/" + APP_BASEPATH
if APP_BASEPATH:
    FORCE_SCRIPT_NAME = APP_BASEPATH
    SESSION_COOKIE_PATH = APP_BASEPATH + "/"
    CSRF_COOKIE_PATH = APP_BASEPATH + "/"
STATIC_URL = f"{APP_BASEPATH}/hgs-static/"
STATIC_ROOT = str(BASE_DIR / "hgs-static")
# WhiteNoise serves the static files (the viewer's, the admin's and the HiGlass client that
# `npm ci` installs in node_modules/) straight from their folders, also with DEBUG off and without
# collectstatic; files collected into STATIC_ROOT are served too.
NODE_MODULES = PROJECT_DIR / "node_modules"
STATICFILES_DIRS = [
    (f"vendor/{name}", str(NODE_MODULES / folder))
    for name, folder in [
        ("higlass", "higlass/dist"),
        ("higlass-pileup", "higlass-pileup/dist"),
        ("react", "react/umd"),
        ("react-dom", "react-dom/umd"),
        ("pixi.js", "pixi.js/dist/browser"),
    ]
    if (NODE_MODULES / folder).is_dir()
]
WHITENOISE_USE_FINDERS = True
Path(STATIC_ROOT).mkdir(parents=True, exist_ok=True)  # WhiteNoise warns about a missing STATIC_ROOT
LOGIN_URL = f"{APP_BASEPATH}/admin/login/"
LOGIN_REDIRECT_URL = f"{APP_BASEPATH}/admin/"
LOGOUT_REDIRECT_URL = f"{APP_BASEPATH}/admin/"

USE_X_FORWARDED_HOST = True
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

# --- the API -------------------------------------------------------------------------------

UPLOAD_ENABLED = get_setting("UPLOAD_ENABLED", True, cast=bool)
PUBLIC_UPLOAD_ENABLED = get_setting("PUBLIC_UPLOAD_ENABLED", True, cast=bool)
MAX_TILES_PER_REQUEST = 1000
MAX_BAM_TILE_WIDTH = get_setting("MAX_BAM_TILE_WIDTH", 100000, cast=int)
MAX_FASTA_TILE_WIDTH = get_setting("MAX_FASTA_TILE_WIDTH", 100000, cast=int)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "higlass_server.auth.BasicAuthentication",  # throttled failures, remembered successes
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "higlass_server.parsers.JSONBodyParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "EXCEPTION_HANDLER": "higlass_server.errors.api_exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

# HTTP Basic: failed logins throttled per client and per user name, verified credentials remembered
# for a while (higlass_server/auth.py; per server process; docs/security.md)
AUTH_FAILURE_WINDOW = get_setting("AUTH_FAILURE_WINDOW", 300, cast=int)  # seconds
AUTH_FAILURE_LIMIT_PER_CLIENT = get_setting("AUTH_FAILURE_LIMIT_PER_CLIENT", 20, cast=int)  # per window; 0 = off
AUTH_FAILURE_LIMIT_PER_USER = get_setting("AUTH_FAILURE_LIMIT_PER_USER", 10, cast=int)  # per window; 0 = off
AUTH_CLIENT_ADDRESS_HEADER = get_setting("AUTH_CLIENT_ADDRESS_HEADER", "")  # e.g. X-Forwarded-For behind a proxy
AUTH_CREDENTIAL_CACHE_SECONDS = get_setting("AUTH_CREDENTIAL_CACHE_SECONDS", 300, cast=int)  # 0 = off
AUTH_CREDENTIAL_CACHE_SIZE = get_setting("AUTH_CREDENTIAL_CACHE_SIZE", 1024, cast=int)  # entries

CORS_ALLOWED_ORIGINS = get_setting("CORS_ALLOWED_ORIGINS", [], cast=list)
CORS_ALLOW_ALL_ORIGINS = not CORS_ALLOWED_ORIGINS
CORS_EXPOSE_HEADERS = ["Content-Length", "Content-Range"]
# Range: htsget clients send it to data URLs; browsers that do not count it as a simple header
# preflight it. Preflight answers may be cached for 30 days, as htsget recommends.
CORS_ALLOW_HEADERS = (*cors_default_headers, "range")
CORS_PREFLIGHT_MAX_AGE = 30 * 24 * 3600

# --- htsget (/api/v1/htsget/) --------------------------------------------------------------

HTSGET_TICKET_TTL = get_setting("HTSGET_TICKET_TTL", 3600, cast=int)  # seconds a private data URL works
HTSGET_MAX_POST_BYTES = get_setting("HTSGET_MAX_POST_BYTES", 65536, cast=int)
HTSGET_MAX_BLOCK_BYTES = get_setting("HTSGET_MAX_BLOCK_BYTES", 64 * 1024 * 1024, cast=int)
HTSGET_DATA_URL = get_setting("HTSGET_DATA_URL", "")  # public base URL of data URLs behind a proxy
HTSGET_INDEX_CACHE_SIZE = get_setting("HTSGET_INDEX_CACHE_SIZE", 32, cast=int)
HTSGET_INLINE_MAX_BYTES = get_setting("HTSGET_INLINE_MAX_BYTES", 1024 * 1024, cast=int)
HTSGET_INLINE_COMPRESS_MAX_BYTES = get_setting("HTSGET_INLINE_COMPRESS_MAX_BYTES", 16 * 1024, cast=int)
HTSGET_ORGANIZATION_NAME = get_setting("HTSGET_ORGANIZATION_NAME", "HiGlass")
HTSGET_ORGANIZATION_URL = get_setting("HTSGET_ORGANIZATION_URL", "https://higlass.io")
HTSGET_SERVICE_ID = get_setting("HTSGET_SERVICE_ID", "org.higlass.server.htsget")

# --- serving processes (gunicorn.conf.py reads this) ------------------------------------------

# Tiles are CPU work: one sync worker per core plus one for I/O waits. WEB_CONCURRENCY is the name
# gunicorn and most platforms use.
WEB_CONCURRENCY = get_setting("WEB_CONCURRENCY", (os.cpu_count() or 1) + 1, cast=int)

# --- remote data (tilesets registered by http(s):// or s3:// URL; docs/remote.md) ------------

REMOTE_ALLOW_PRIVATE_HOSTS = get_setting("REMOTE_ALLOW_PRIVATE_HOSTS", False, cast=bool)  # the SSRF guard off
REMOTE_ALLOWED_PRIVATE_NETWORKS = get_setting("REMOTE_ALLOWED_PRIVATE_NETWORKS", [], cast=list)  # e.g. 10.1.0.0/16
REMOTE_CONNECT_TIMEOUT = get_setting("REMOTE_CONNECT_TIMEOUT", 5, cast=int)  # seconds
REMOTE_READ_TIMEOUT = get_setting("REMOTE_READ_TIMEOUT", 15, cast=int)  # seconds of silence
REMOTE_REQUEST_DEADLINE = get_setting("REMOTE_REQUEST_DEADLINE", 60, cast=int)  # seconds per request
REMOTE_MAX_REDIRECTS = get_setting("REMOTE_MAX_REDIRECTS", 5, cast=int)
REMOTE_RETRIES = get_setting("REMOTE_RETRIES", 2, cast=int)
REMOTE_BLOCK_BYTES = get_setting("REMOTE_BLOCK_BYTES", 256 * 1024, cast=int)
REMOTE_MEMORY_CACHE_BYTES = get_setting("REMOTE_MEMORY_CACHE_BYTES", 128 * 1024 * 1024, cast=int)  # per process
REMOTE_CACHE_DIR = str(get_setting("REMOTE_CACHE_DIR", str(BASE_DIR / "cache" / "remote")))
REMOTE_CACHE_BYTES = get_setting("REMOTE_CACHE_BYTES", 2 * 1024 ** 3, cast=int)  # the disk cache's bound
REMOTE_CACHE_BLOCKS = get_setting("REMOTE_CACHE_BLOCKS", False, cast=bool)  # blocks on disk too
REMOTE_MAX_FETCH_BYTES = get_setting("REMOTE_MAX_FETCH_BYTES", 256 * 1024 * 1024, cast=int)  # whole-file reads
REMOTE_UDC_CACHE_DIR = str(get_setting("REMOTE_UDC_CACHE_DIR", str(BASE_DIR / "cache" / "udc")))  # pybbi's
REMOTE_UDC_CACHE_BYTES = get_setting("REMOTE_UDC_CACHE_BYTES", 1024 ** 3, cast=int)
REMOTE_REVALIDATE_SECONDS = get_setting("REMOTE_REVALIDATE_SECONDS", 60, cast=int)  # re-probe a URL after
S3_ENDPOINT_URL = get_setting("S3_ENDPOINT_URL")  # an S3-compatible server; unset for AWS
S3_REGION = get_setting("S3_REGION", aliases=("AWS_DEFAULT_REGION",))
S3_ACCESS_KEY_ID = get_setting("S3_ACCESS_KEY_ID", aliases=("AWS_ACCESS_KEY_ID",))
S3_SECRET_ACCESS_KEY = get_setting("S3_SECRET_ACCESS_KEY", aliases=("AWS_SECRET_ACCESS_KEY",))
S3_SESSION_TOKEN = get_setting("S3_SESSION_TOKEN", aliases=("AWS_SESSION_TOKEN",))
S3_ANONYMOUS = get_setting("S3_ANONYMOUS", False, cast=bool)  # unsigned requests (public buckets)

# --- Redis tile cache (optional: on when REDIS_HOST is set) --------------------------------

REDIS_HOST = get_setting("REDIS_HOST")
REDIS_PORT = get_setting("REDIS_PORT", 6379, cast=int)
REDIS_DB = get_setting("REDIS_DB", 0, cast=int)
REDIS_PASSWORD = get_setting("REDIS_PASSWORD")
REDIS_TILE_TTL = get_setting("REDIS_TILE_TTL", 7 * 24 * 3600, cast=int)  # seconds; 0 = keep until evicted

# --- fragments (snippets) ------------------------------------------------------------------

SNIPPET_MAT_MAX_OUT_DIM = get_setting("SNIPPET_MAT_MAX_OUT_DIM", 512, aliases=("SNIPPET_HIC_MAX_OUT_DIM",), cast=int)
SNIPPET_MAT_MAX_DATA_DIM = get_setting("SNIPPET_MAT_MAX_DATA_DIM", 4096, aliases=("SNIPPET_HIC_MAX_DATA_DIM",), cast=int)
SNIPPET_IMG_MAX_OUT_DIM = get_setting("SNIPPET_IMG_MAX_OUT_DIM", 1024, cast=int)
SNIPPET_OSM_MAX_DATA_DIM = get_setting("SNIPPET_OSM_MAX_DATA_DIM", 2048, cast=int)
SNIPPET_IMT_MAX_DATA_DIM = get_setting("SNIPPET_IMT_MAX_DATA_DIM", 2048, cast=int)

# --- logging -------------------------------------------------------------------------------


def _level(name):
    level = str(get_setting(name, "WARNING")).upper()
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
        raise ImproperlyConfigured(f"{name} must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL; got {level!r}")
    return level


LOG_DIR = Path(get_setting("LOG_DIR", BASE_DIR / "log"))
LOG_DIR.mkdir(parents=True, exist_ok=True)
LOG_LEVEL_CONSOLE = _level("LOG_LEVEL_CONSOLE")
LOG_LEVEL_FILE = _level("LOG_LEVEL_FILE")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "level": LOG_LEVEL_CONSOLE, "formatter": "plain"},
        "file": {
            "class": "logging.handlers.RotatingFileHandler",
            "filename": str(LOG_DIR / "hgs.log"),
            "maxBytes": 10 * 1024 * 1024,
            "backupCount": 3,
            "level": LOG_LEVEL_FILE,
            "formatter": "plain",
        },
    },
    "loggers": {
        logger: {"handlers": ["console", "file"], "level": _level(setting), "propagate": False}
        for logger, setting in [
            ("django", "LOG_LEVEL_DJANGO"),
            ("tilesets", "LOG_LEVEL_TILESETS"),
            ("chroms", "LOG_LEVEL_CHROMS"),
            ("fragments", "LOG_LEVEL_FRAGMENTS"),
            ("higlass_server", "LOG_LEVEL_DJANGO"),
        ]
    },
}
