# Two commands do all the set-up on a fresh machine (Python 3.11+):
#   make demo   installs, then harvests the offline sample portal through Dagster into ./lake
#   make test   installs, then runs the test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export DAGSTER_HOME := $(CURDIR)/.dagster

.PHONY: install chromium demo test lint ui bench clean

$(BIN)/catalog: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/catalog $(DAGSTER_HOME)/dagster.yaml

$(DAGSTER_HOME)/dagster.yaml: dagster.yaml
	mkdir -p $(DAGSTER_HOME)
	ln -sf $(CURDIR)/dagster.yaml $@

demo: install
	$(BIN)/python -m pipelines.demo

test: install chromium
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest

# Debian's Chromium, for the test that opens the HTML report in a real browser (Playwright drives it).
chromium:
	@command -v chromium >/dev/null || { \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null; }

ui: install
	$(BIN)/dagster dev

bench: install
	$(BIN)/python bench/harvest_throughput.py

clean:
	rm -rf lake .dagster/storage .dagster/history .dagster/schedules .pytest_cache .ruff_cache
