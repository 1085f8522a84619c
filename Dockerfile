# HiGlass tileset server: gunicorn on port 8000, all data in the /data volume.
#
#   docker build -t higlass-server .
#   docker run -d --name higlass -p 127.0.0.1:8000:8000 -v higlass-data:/data higlass-server
#
# See docs/deployment.md (static files, nginx, APP_BASEPATH, settings).
# The HiGlass client for the viewer page comes from npm (package-lock.json), installed in a
# build stage so the final image needs no Node.js.
FROM node:20-slim AS client
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    BASE_DIR=/data \
    GUNICORN_CMD_ARGS="--bind 0.0.0.0:8000"

WORKDIR /app

# Dependencies first, so that code changes do not reinstall them.
COPY requirements.txt ./
RUN pip install -r requirements.txt

COPY . ./
COPY --from=client /app/node_modules ./node_modules

# An unprivileged user owns the data folder; everything the server writes goes there
# (db.sqlite3, .secret_key, config.json, media/, log/, hgs-static/).
RUN useradd --uid 1000 --user-group --home-dir /data --no-create-home --shell /usr/sbin/nologin higlass \
    && mkdir -p /data \
    && chown higlass:higlass /data
USER higlass
VOLUME ["/data"]
EXPOSE 8000

# On every start: create or upgrade the database, copy the admin's static files into
# /data/hgs-static (served by a proxy at /hgs-static/), then replace the shell with gunicorn.
# gunicorn's settings come from gunicorn.conf.py (workers, request-line limits for 1000 tile ids,
# timeouts, access log); GUNICORN_CMD_ARGS and WEB_CONCURRENCY (docker run -e) override them.
CMD ["sh", "-c", "python manage.py migrate --noinput && python manage.py collectstatic --noinput --verbosity 0 && exec gunicorn -c gunicorn.conf.py higlass_server.wsgi:application"]
