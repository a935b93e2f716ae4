# Two commands matter: `make run` (the main job on the embedded default) and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: run test bench check install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

# Who the terminal app acts as: maria, the manager in the example policy.toml, so a
# newcomer can approve at once (`make run KEEL_AS=sam` to be someone else). Not `AS`:
# make defines that one itself (the assembler), so `AS ?= …` would never apply.
KEEL_AS ?= maria

# policy.toml names people and their Slack ids: readable by you alone (Keel warns otherwise).
run: $(STAMP)
	chmod go-rw policy.toml
	$(BIN)/keel up --as $(KEEL_AS)

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python -m bench

# Formatter, linter (the rule set in pyproject.toml) and mypy --strict on the packages.
CODE = app bot graph tui connectors memory remote tests bench
check: $(STAMP)
	$(BIN)/ruff format --check $(CODE)
	$(BIN)/ruff check $(CODE)
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .keel .pytest_cache
