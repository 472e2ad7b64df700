# Two entry points for a fresh clone (Python 3.11, pip and make are all it needs):
#   make run   - create .venv, install, build the pipeline on the bundled sample
#   make test  - create .venv, install, run every check (ruff, sqlfluff, pytest incl. dbt build + dbt tests)
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
export DBT_PROFILES_DIR := $(CURDIR)/profiles
# Python caches each module's compiled form (__pycache__) on first import. Environments that switch this off
# (PYTHONDONTWRITEBYTECODE, common in CI images) made every process of `make test` compile dbt again (2.3 s more
# to import it): the recipes here keep Python's default.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: setup run test test-engines lint lint-python lint-sql pytest docs bench clean

$(BIN)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --no-compile -c constraints.txt -e ".[dev]"
	touch $@

setup: $(BIN)/.installed

# The driver: check inputs, dbt build in the warehouse, then a release (output/releases/current: BI marts as DuckDB
# and Parquet, the HTML report; output/activation/current: the marts with emails). The two paths below are links
# into the current release.
# Extra options: make run RUN_ARGS="--as-of 2026-10-31 --raw-dir /path/to/raw"
REPORT ?= output/lifecycle_report.html
EXPORT_DIR ?= output/marts
run: setup
	$(BIN)/python scripts/run_pipeline.py --report $(REPORT) --export-dir $(EXPORT_DIR) $(RUN_ARGS)

test: setup lint pytest

lint: lint-python lint-sql

lint-python: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The dbt templater compiles the project; give it a throwaway database so it never waits on a lock. Two processes
# (one a core) halve the lint's wall time.
lint-sql: setup
	mkdir -p target
	LIFECYCLE_DUCKDB_PATH=$(CURDIR)/target/sqlfluff.duckdb $(BIN)/sqlfluff lint --processes 2 models tests/dbt/singular

# Two workers (pytest-xdist), one test file each at a time: dbt's Python work uses one core per process.
# Files are handed out longest first (tests/conftest.py) instead of xdist's most-tests-first.
pytest: setup
	$(BIN)/pytest -n 2 --dist loadfile --no-loadscope-reorder tests/engines tests/python

# Only the other engines (part of `make pytest`; tests/engines, docs/engines.md): each test file starts its own server or
# session (a throwaway PostgreSQL cluster by scripts/pg_server.py; a local[2] Spark session in the test process),
# builds a small generated set, refreshes it twice and compares every mart with DuckDB. PostgreSQL and Java 17
# are installed with apt-get when missing and root.
test-engines: setup
	$(BIN)/pytest -n 2 --dist loadfile -p no:cacheprovider tests/engines

# First the whole benchmark at a tiny scale (tests/python/test_benchmark_smoke.py, marker `bench`: a broken phase
# fails in a few minutes, not hours in), then the scales.
bench: setup  ## scale benchmark → docs/benchmarks.md (long; never part of `make test`)
	$(BIN)/pytest -p no:cacheprovider -m bench tests/python/test_benchmark_smoke.py
	$(BIN)/python scripts/benchmark.py $(BENCH_ARGS)

docs: setup
	$(BIN)/dbt docs generate

clean:
	rm -rf target logs data/warehouse/*.duckdb* .pytest_cache
