# Every target makes or refreshes .venv itself, so a fresh clone needs nothing but python3.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test bench lint clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

## Set up, migrate, deploy the shipped processes and serve on http://127.0.0.1:8080
run: $(STAMP)
	$(BIN)/mlc db upgrade
	$(BIN)/mlc deploy processes dmn
	$(BIN)/mlc serve --host 127.0.0.1 --port 8080

## Set up and run the whole test suite (SQLite always; PostgreSQL when MLC_TEST_POSTGRES_URL is set)
test: $(STAMP)
	$(BIN)/python -m pytest -q -n 4 --dist loadgroup

## Run the benchmarks and write docs/benchmarks.md
bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) var .pytest_cache
