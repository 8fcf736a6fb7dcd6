# Every target makes or refreshes .venv itself, so a fresh clone needs nothing but python3.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run demo test bench lint clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# First-run defaults; the environment (or mlc.toml) wins.
RUN_ENV = MLC_DATA_ROOTS="$${MLC_DATA_ROOTS:-$(CURDIR)/var/data}" MLC_TICKETS="$${MLC_TICKETS:-local}"

## Set up, migrate, deploy processes/ and dmn/, register the sample model (empty database
## only) and serve on http://127.0.0.1:8080 with local tickets
run: $(STAMP)
	mkdir -p var/data
	$(RUN_ENV) $(BIN)/mlc db upgrade
	$(RUN_ENV) $(BIN)/mlc setup
	$(RUN_ENV) $(BIN)/mlc serve --host 127.0.0.1 --port 8080

## Drive all three processes end to end through the REST API on a temporary database
demo: $(STAMP)
	$(BIN)/mlc demo

## Set up and run the whole test suite (SQLite always; PostgreSQL when MLC_TEST_POSTGRES_URL is set)
test: $(STAMP)
	$(BIN)/python -m pytest -q -n 4 --dist loadgroup

## Run the benchmarks and write docs/benchmarks.md
bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) var .pytest_cache
