# The two commands: `make run` serves the demo on http://127.0.0.1:8000, `make test` runs the suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test test-sqlite test-postgres install install-test migrate demo clean client

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.installed-test: requirements-test.txt $(VENV)/.installed
	$(BIN)/pip install --disable-pip-version-check -r requirements-test.txt
	touch $@

# The HiGlass client of the viewer page (website/), from package-lock.json; again when it changes.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

client: node_modules/.installed

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

migrate: install
	$(BIN)/python manage.py migrate --noinput

demo: migrate
	$(BIN)/python manage.py load_demo

run: demo client
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

# The whole suite on SQLite, then again on a real PostgreSQL started by the tests.
test: test-sqlite test-postgres

test-sqlite: install-test client
	$(BIN)/python -m pytest

test-postgres: install-test client
	$(BIN)/python tests/with_postgres.py -m pytest -q

clean:
	rm -rf $(VENV) .pytest_cache

# --- Benchmark (docs/performance.md): our tiles against clodius 0.20.4 in the same run ---------
# clodius lives only in its own venv (requirements-bench.txt); our server runs from $(VENV).
# The generated data is cached in $(BENCH_DATA) (gitignored) and reused while bench/data.py's
# SPEC is unchanged. Options: BENCH_REPEATS, BENCH_BLOCKS, BENCH_ONLY (see bench/run.py).
BENCH_VENV ?= .venv-bench
BENCH_DATA ?= .bench-data

.PHONY: bench bench-remote install-bench

$(BENCH_VENV)/bin/python:
	$(PYTHON) -m venv $(BENCH_VENV)

$(BENCH_VENV)/.installed: requirements-bench.txt | $(BENCH_VENV)/bin/python
	$(BENCH_VENV)/bin/pip install --disable-pip-version-check -r requirements-bench.txt
	touch $@

install-bench: $(BENCH_VENV)/.installed

bench: install install-bench
	$(BENCH_VENV)/bin/python -m bench.data --out $(BENCH_DATA)
	$(BIN)/python -m bench.run --data $(BENCH_DATA) --bench-python $(BENCH_VENV)/bin/python
	$(BIN)/python -m bench.bench_remote --data $(BENCH_DATA)

# The same files read locally and through a loopback HTTP range server (bench/bench_remote.py).
bench-remote: install install-bench
	$(BENCH_VENV)/bin/python -m bench.data --out $(BENCH_DATA)
	$(BIN)/python -m bench.bench_remote --data $(BENCH_DATA)
