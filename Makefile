# Everything starts from a fresh clone: `make demo` and `make test` create the environment.
PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin
export RINGSIDE_HOME ?= $(CURDIR)/.ringside
DEMO_INPUT := $(RINGSIDE_HOME)/demo-platform
# 120 days: forecasts need 100 daily points, churn labels a 28-day history plus 30 days.
DEMO_DAYS ?= 120

.PHONY: env browser demo test lint lint-sql format benchmark benchmark-scale clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet uv==$(UV_VERSION)

# The lock file pins every package, so a fresh machine installs exactly what CI tested.
$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	UV_PROJECT_ENVIRONMENT=$(VENV) $(UV) sync --frozen --python $(PYTHON)
	$(BIN)/dbt parse --quiet --project-dir dbt_project --profiles-dir dbt_project
	touch $@

env: $(VENV)/.synced

# The browser tests drive Debian's Chromium through Playwright (which never downloads a
# browser of its own here); installed from the distribution when missing.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		apt-get install -y --no-install-recommends chromium >/dev/null 2>&1 || \
		{ apt-get update -qq && apt-get install -y --no-install-recommends chromium; }; }
	@echo "browser tests use $$(command -v chromium)"

demo: env
	$(BIN)/ringside generate --out $(DEMO_INPUT) --days $(DEMO_DAYS) --users 20000 --seed 7
	$(BIN)/ringside ingest $(DEMO_INPUT) --workers 2
	$(BIN)/ringside build --all
	$(BIN)/ringside status
	$(BIN)/ringside keys create --role admin --name demo-admin --replace

lint: env
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	@$(MAKE) --no-print-directory lint-sql

# SQLFluff over the dbt project (.sqlfluff: dbt templater, DuckDB target). Compiling a
# model opens the profile's DuckDB database: an in-memory one here, and .sqlfluff gives
# dbt a target path of its own, so a lint shares no file with a running build or test.
lint-sql: env
	RINGSIDE_DUCKDB_PATH=:memory: $(BIN)/sqlfluff lint dbt_project --processes 2

# mypy, strict on ringside/core and api ([tool.mypy] in pyproject.toml). Its cache misses
# edits to the per-module sections of that config (python/mypy#7777), so a changed
# pyproject.toml starts it afresh.
.PHONY: lint-types
lint: lint-types
lint-types: env .mypy_cache/.pyproject
	$(BIN)/mypy

.mypy_cache/.pyproject: pyproject.toml
	rm -rf .mypy_cache
	mkdir -p .mypy_cache
	touch $@

test: lint browser
	$(BIN)/pytest

format: env
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

benchmark: env
	$(BIN)/python -m benchmarks.pipeline

# Seed volume: a 50M-event platform (cached in /work/bench-cache), full build, 12 micro-batches.
# Arguments pass through: make benchmark-scale SCALE_ARGS="--events 10000000 --batches 0"
SCALE_ARGS ?=
benchmark-scale: env
	$(BIN)/python -m benchmarks.scale $(SCALE_ARGS)

clean:
	rm -rf $(VENV) $(TOOLS) .mypy_cache dbt_project/target dbt_project/logs .ringside/sqlfluff
