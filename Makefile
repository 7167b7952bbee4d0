# Everything the project needs is installed by these targets on a machine with only Python 3.11+.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# The client generator (openapi-python-client) needs typer < 0.28: its own environment.
CODEGEN := $(VENV)/codegen
CODEGEN_STAMP := $(CODEGEN)/.installed-stamp

.PHONY: install run test lint format typecheck check migrate clean bench bench-drop lock mutants

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

$(CODEGEN_STAMP): $(STAMP) requirements-codegen.lock
	$(PYTHON) -m venv $(CODEGEN)
	$(CODEGEN)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-codegen.lock
	touch $(CODEGEN_STAMP)

install: $(STAMP) $(CODEGEN_STAMP)

run: install  ## serve the API (embedded PostgreSQL unless DATABASE_URL is set)
	$(BIN)/dossier-stats serve

.PHONY: stop
stop: install  ## stop the service started from this checkout and its embedded PostgreSQL
	$(BIN)/dossier-stats stop

# Coverage of app/ (the server and CLI subprocesses included) must not fall below this floor.
# A floor that only rises: when the figure goes up, raise it to the new figure rounded down.
COVERAGE_FLOOR := 89
test: install  ## the whole test suite against a real PostgreSQL, with coverage of app/
	$(BIN)/pytest --cov --cov-report=term --cov-fail-under=$(COVERAGE_FLOOR)

mutants: install  ## planted bugs over the rule modules (not part of `make test`); MUTANTS_ARGS="--only limits"
	$(BIN)/python -m tools.mutants $(MUTANTS_ARGS)

lint: install
	$(BIN)/ruff check app tests migrations bench tools
	$(BIN)/ruff format --check app tests migrations bench tools

format: install
	$(BIN)/ruff format app tests migrations bench tools
	$(BIN)/ruff check --fix app tests migrations bench tools

typecheck: install
	$(BIN)/mypy

check: lint typecheck test

DOSSIERS ?= 1000000
bench: install  ## benchmark on a fresh dossier_stats_bench database (not part of `make test`)
	$(BIN)/python -m bench.run --dossiers $(DOSSIERS) $(if $(INGEST_EVENTS),--ingest-events $(INGEST_EVENTS)) $(BENCH_ARGS)

bench-drop: install  ## drop the database the benchmark keeps
	$(BIN)/python -m bench.run --drop-only

migrate: install
	$(BIN)/dossier-stats migrate

lock:  ## re-resolve requirements.lock from pyproject.toml (needs network)
	$(PYTHON) -m pip install --quiet uv && $(PYTHON) -m uv pip compile pyproject.toml --extra dev --extra bench --python-version 3.11 -o requirements.lock
	$(PYTHON) -m uv pip compile requirements-codegen.in --python-version 3.11 -o requirements-codegen.lock

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage .coverage.*
