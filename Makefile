# The two commands a newcomer needs: `make demo` and `make test`. Both do all the set-up.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
# The machine's local wheel store (a CPU torch) when there is one; harmless elsewhere.
FIND_LINKS := $(if $(wildcard /opt/wheels),--find-links /opt/wheels,)
PYTEST_ARGS ?=

.PHONY: setup system-packages python-deps frontend demo test test-python test-frontend api-types bench clean

setup: system-packages python-deps frontend

system-packages:
	@bash scripts/ensure_system_packages.sh chromium:chromium

python-deps: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	# constraints.txt pins every package (torch==2.13.0 the CPU build, not the CUDA one).
	$(PIP) install -q $(FIND_LINKS) -c constraints.txt -e '.[ml,dev]'
	@touch $@

frontend: frontend/dist/index.html

frontend/dist/index.html: $(shell find frontend/src frontend/index.html frontend/package.json -type f 2>/dev/null)
	cd frontend && npm ci --no-audit --no-fund && npm run build

demo: setup
	@bash scripts/demo.sh

test: setup
	@bash scripts/ensure_services.sh
	$(MAKE) test-frontend
	$(MAKE) test-python

test-python:
	$(VENV)/bin/pytest $(PYTEST_ARGS)

test-frontend:
	cd frontend && npm test

# The API schema and the frontend's types from it, as the tests' PostgreSQL describes the models (integer
# ranges follow the database: the embedded SQLite default would write other bounds).
api-types:
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/lift} $(VENV)/bin/python manage.py spectacular --format openapi-json --file frontend/openapi.json
	cd frontend && npm run api:types

bench: setup
	@bash scripts/ensure_services.sh
	@bash bench/run_all.sh

clean:
	rm -rf $(VENV) var frontend/node_modules frontend/dist
