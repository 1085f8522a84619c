"""gunicorn's configuration for the HiGlass tileset server (the Dockerfile and docs/deployment.md use it):

    gunicorn -c gunicorn.conf.py higlass_server.wsgi:application

Command-line options and ``GUNICORN_CMD_ARGS`` override what is set here (e.g. ``--bind``,
``--workers``). The limits below are gunicorn's own: a request over them is refused by gunicorn
with a small HTML page (400 or 414, or 431 for headers), before the application sees it, so
those answers are not the API's JSON errors (docs/deployment.md lists them).
"""

import gunicorn.http.message

from higlass_server import settings as server_settings

# --- workers ----------------------------------------------------------------------------------
# The server's WEB_CONCURRENCY setting (environment or config.json; default: one sync worker per
# core plus one, see higlass_server/settings.py); --workers on the command line overrides it.
workers = server_settings.WEB_CONCURRENCY
worker_class = "sync"
timeout = 120  # seconds a worker may spend on one request before gunicorn restarts it
graceful_timeout = 30  # seconds running requests get on a restart or shutdown
keepalive = 5  # seconds an idle keep-alive connection (from the proxy) stays open
max_requests = 2000  # a worker is replaced after this many requests (with jitter), bounding leaks
max_requests_jitter = 200

# --- request limits ---------------------------------------------------------------------------
# GET /api/v1/tiles/ takes up to MAX_TILES_PER_REQUEST (1000) ids as ?d=<uid>.<zoom>.<x>[.<y>].
# A slugid uid is 22 characters; with a zoom and positions an id is about 40 characters, and a
# custom uid may be longer. 1000 ids of up to 90 characters, each with "&d=" (3), plus the path
# "GET /<APP_BASEPATH>/api/v1/tiles/?" and " HTTP/1.1", fit in 96 KiB:
#   1000 * (90 + 3) + 256 = 93,256 <= 98,304
# so the request always reaches the application, which answers a JSON 400 above 1000 ids.
limit_request_line = 96 * 1024
# gunicorn clamps limit_request_line to gunicorn.http.message.MAX_REQUEST_LINE (8190) unless it is
# 0 (no limit at all). Raise the clamp to our bound rather than lift the limit; the test
# tests/server/test_gunicorn_conf.py fails if a gunicorn release stops honouring it.
gunicorn.http.message.MAX_REQUEST_LINE = max(gunicorn.http.message.MAX_REQUEST_LINE, limit_request_line)
# One header line (Cookie, Authorization, Referer) up to 16 KiB, at most 100 headers.
limit_request_field_size = 16 * 1024
limit_request_fields = 100

# --- logs -------------------------------------------------------------------------------------
# One line per request on stdout: client, time, method, path (without the query string: a tiles
# request's query can be 90 KB), status, bytes, milliseconds, user agent.
accesslog = "-"
errorlog = "-"
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms "%(a)s"'
control_socket_disable = True  # no control socket in the working folder
