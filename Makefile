# Dev tasks. Every target creates the virtual environment it needs.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install build serve test lint format typecheck messages docs docs-serve clean

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

# The documentation site (docs/mkdocs.yml, pages in docs/pages) into build/site; --strict: a broken link
# or anchor fails the build. Never add --quiet: it hides the warnings from --strict too (mkdocs 1.6).
docs: $(STAMP)
	$(BIN)/mkdocs build --strict --config-file docs/mkdocs.yml

docs-serve: $(STAMP)
	$(BIN)/mkdocs serve --config-file docs/mkdocs.yml --dev-addr 127.0.0.1:8001

test: lint typecheck docs
	$(BIN)/pytest

# The pages' message catalogs: extract the messages, update the kk/ru/en catalogs, compile them
# (then translate what is new: a test fails while any message lacks a language).
TRANSLATIONS := server/translations
messages: $(STAMP)
	$(BIN)/pybabel extract -F $(TRANSLATIONS)/babel.cfg -k _ -k gettext --no-location --sort-output \
		--omit-header -o $(TRANSLATIONS)/messages.pot .
	$(BIN)/pybabel update -i $(TRANSLATIONS)/messages.pot -d $(TRANSLATIONS) --width 110 --ignore-obsolete
	$(BIN)/pybabel compile -d $(TRANSLATIONS)

clean:
	rm -rf build .pytest_cache .mypy_cache .ruff_cache
