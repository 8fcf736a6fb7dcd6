# Every target makes or refreshes .venv itself, so a fresh clone needs nothing but python3.
# `make run` installs what the server needs; `make test` adds the test extras (pytest, moto,
# schemathesis, ...), which are as large again and only slow a first run down.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUNTIME := $(VENV)/.runtime-stamp
STAMP := $(VENV)/.installed-stamp
PORT ?= 8080
# --no-compile: Python compiles what it imports on first use, instead of pip compiling every
# module of pandas, scipy and scikit-learn up front (a third of the install time).
PIP_INSTALL = $(BIN)/python -m pip install --no-compile --disable-pip-version-check

.PHONY: run demo test bench lint clean

$(BIN)/python:
	@echo "== creating $(VENV)"
	$(PYTHON) -m venv $(VENV)

$(RUNTIME): pyproject.toml | $(BIN)/python
	@echo "== installing the runtime dependencies into $(VENV) (a fresh clone: a minute or more)"
	$(PIP_INSTALL) -e .
	touch $(RUNTIME)

$(STAMP): pyproject.toml $(RUNTIME)
	@echo "== installing the test extras into $(VENV)"
	$(PIP_INSTALL) -e '.[test]'
	touch $(STAMP)

# First-run defaults; the environment (or mlc.toml) wins.
RUN_ENV = MLC_DATA_ROOTS="$${MLC_DATA_ROOTS:-$(CURDIR)/var/data}" MLC_TICKETS="$${MLC_TICKETS:-local}"

## Set up, migrate, deploy processes/ and dmn/, register the sample model (empty database
## only) and serve on http://127.0.0.1:$(PORT) (make run PORT=8081) with local tickets
run: $(RUNTIME)
	mkdir -p var/data
	$(RUN_ENV) $(BIN)/mlc setup --base-url http://127.0.0.1:$(PORT)  # migrates first
	$(RUN_ENV) $(BIN)/mlc serve --host 127.0.0.1 --port $(PORT)

## Drive all three processes end to end through the REST API on a temporary database
demo: $(RUNTIME)
	$(BIN)/mlc demo

## Set up and run the whole test suite (SQLite always; PostgreSQL when MLC_TEST_POSTGRES_URL is set)
test: $(STAMP)
	$(BIN)/python -m pytest -q -n 4 --dist loadgroup

## Lint: ruff over the tree, mypy (strict, every module) over engine/, connectors/, web/ and mlc/
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

## Run the benchmarks and write docs/benchmarks.md
bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) var .pytest_cache
