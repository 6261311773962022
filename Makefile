# Dev tasks. Every target creates the virtual environment it needs.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install build serve test lint format typecheck clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

build: $(STAMP)
	$(BIN)/alatau-kg build

serve: build
	$(BIN)/alatau-kg serve

lint: $(STAMP)
	$(BIN)/ruff check kg server tests bench
	$(BIN)/ruff format --check kg server tests bench
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff format kg server tests bench
	$(BIN)/ruff check --fix kg server tests bench

typecheck: $(STAMP)
	$(BIN)/mypy kg server

test: lint typecheck
	$(BIN)/pytest

clean:
	rm -rf build .pytest_cache .mypy_cache .ruff_cache
