# Two commands do all the set-up on a fresh machine:
#   make demo   - install into .venv, then run ingest -> build -> validate -> evaluate on the bundled example
#   make test   - install into .venv, then lint, type-check and run the tests
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin

.PHONY: setup demo test lint typecheck pytest bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

demo: setup
	$(BIN)/transit demo --out demo-out

lint: setup
	$(BIN)/ruff check .
	$(BIN)/lint-imports

typecheck: setup
	$(BIN)/mypy

pytest: setup
	$(BIN)/pytest -q

test: lint typecheck pytest

# Benchmarks against peers, side by side (need ../shared/data; peers install into bench/.peers)
bench: setup
	$(PY) -m bench.ingest
	$(PY) -m bench.readers
	$(PY) -m bench.transitwand
	$(PY) -m bench.build
	$(PY) -m bench.feed
	$(PY) -m bench.router
	$(PY) -m bench.access
	$(PY) -m bench.service

clean:
	rm -rf $(VENV) demo-out .pytest_cache .mypy_cache .ruff_cache
