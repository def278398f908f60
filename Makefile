# fsdbt: `make demo` runs the demo end to end, `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
EXTRAS ?= postgres,snowflake,server,stats,test

export DBT_PROFILES_DIR := $(CURDIR)/profiles
export DBT_SEND_ANONYMOUS_USAGE_STATS := False
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: install demo test test-fast test-faults lint bench bench-quick services clean

$(VENV)/.installed-$(EXTRAS): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	$(PY) -m pip install -q --disable-pip-version-check -e '.[$(EXTRAS)]'
	@touch $@

install: $(VENV)/.installed-$(EXTRAS)

## The demo on the embedded defaults: DuckDB warehouse, SQLite online store.
demo: install
	@mkdir -p data
	$(BIN)/fsdbt demo data --size small
	$(BIN)/dbt build --quiet --no-use-colors
	$(BIN)/fsdbt ls
	$(BIN)/fsdbt sync
	$(BIN)/fsdbt get trip_completion_model --entity driver_id=1001,customer_id=51008
	$(BIN)/fsdbt historical --feature-service trip_completion_model --spine-timestamp requested_at \
		--spine "select * from main.trips order by trip_id limit 1000" --out data/training_sample.parquet
	$(PY) -c "import pyarrow.parquet as pq; print(pq.read_table('data/training_sample.parquet').slice(0, 5).to_pandas().iloc[:, :9].to_string())"

services:
	@bash scripts/ensure-services.sh

test: install services
	$(BIN)/pytest -q -p no:cacheprovider

## Faults survived, bad input refused, nothing lost: prints a report at the end (docs/reliability.md).
test-faults: install services
	$(BIN)/pytest -q -p no:cacheprovider tests/faults

test-fast: install
	$(BIN)/pytest -q -p no:cacheprovider -m "not slow"

lint: install
	$(BIN)/ruff check fsdbt tests benchmarks
	$(BIN)/mypy fsdbt

## Benchmarks, each figure beside its raw limit (docs/performance.md); JSON in benchmarks/results/.
bench: install
	@bash scripts/ensure-bench-tools.sh
	$(PY) benchmarks/run.py

bench-quick: install
	@bash scripts/ensure-bench-tools.sh
	$(PY) benchmarks/run.py --quick

clean:
	rm -rf target dbt_packages logs data .pytest_cache
