# Two commands do all the set-up on a fresh machine (Python 3.11+):
#   make demo   installs, then harvests the offline sample portal through Dagster into ./lake
#   make test   installs, then runs the test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export DAGSTER_HOME := $(CURDIR)/.dagster

.PHONY: install system-packages demo test lint ui bench clean

# What running needs (make demo, make ui); the test tools (pytest, ruff, playwright, moto, ...) only for make test.
$(BIN)/catalog: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.dev-installed: $(BIN)/catalog pyproject.toml
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/catalog $(DAGSTER_HOME)/dagster.yaml

$(DAGSTER_HOME)/dagster.yaml: dagster.yaml
	mkdir -p $(DAGSTER_HOME)
	ln -sf $(CURDIR)/dagster.yaml $@

demo: install
	$(BIN)/python -m pipelines.demo

test: install $(VENV)/.dev-installed system-packages
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest

# Debian packages the tests drive: Chromium (the report and the Dagster UI in a real browser, through
# Playwright) and PostgreSQL (the Dagster instance variant in deploy/postgres).
system-packages:
	@{ command -v chromium >/dev/null && ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; } || { \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium postgresql >/dev/null; }

ui: install
	$(BIN)/dagster dev

bench: install
	$(BIN)/python bench/harvest_throughput.py

clean:
	rm -rf lake .dagster/storage .dagster/history .dagster/schedules .pytest_cache .ruff_cache
