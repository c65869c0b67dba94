# The two set-up commands are `make run` (zero-setup demo) and `make test` (the whole suite).
# Both create .venv and install the pinned requirements on first use.

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
DEMO_ENV := DEBUG=1 CELERY_TASK_ALWAYS_EAGER=1 DATABASE_URL=sqlite:///$(CURDIR)/db.sqlite3 EMAIL_URL=consolemail://
# The demo's set-up (migrate, seed) logs warnings only, so the logins stand out; `make run LOG_LEVEL=INFO` shows all.
LOG_LEVEL ?= WARNING

.PHONY: run test lint migrate demo-data browser clean help

help:
	@echo "make run    - zero-setup demo on SQLite at http://127.0.0.1:8000 (prints logins)"
	@echo "make test   - the whole suite (Postgres when reachable, else SQLite with a loud warning)"
	@echo "make lint   - ruff"

$(VENV)/.runtime: requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	@touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $@

run: $(VENV)/.runtime
	$(DEMO_ENV) LOG_LEVEL=$(LOG_LEVEL) $(PY) manage.py migrate --noinput -v 0
	$(DEMO_ENV) LOG_LEVEL=$(LOG_LEVEL) $(PY) manage.py seed_demo
	$(DEMO_ENV) $(PY) manage.py runserver 127.0.0.1:8000

test: $(VENV)/.dev
	@bash scripts/ensure_chromium.sh || true
	$(PY) scripts/run_tests.py $(ARGS)

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) db.sqlite3 .test-db.sqlite3 staticfiles artifacts
