# Every target builds .venv itself if needed; the stamp re-installs when pyproject.toml changes.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The only torch allowed: it installs from a local CPU wheel (any other spec downloads GBs).
TORCH  := torch==2.13.0

.PHONY: venv train tour docs test lint bench oracle clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -e '.[dev]'
	touch $@

train: $(STAMP)
	$(BIN)/chainrule train

tour: $(STAMP)
	$(BIN)/chainrule tour

# The tour's pages are written from its code; tests/test_tour.py fails when they drift.
docs: $(STAMP)
	$(BIN)/python -c "from chainrule.tour import write_pages; write_pages('docs/tour')"

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/pip install -e '.[bench]'
	$(BIN)/python -m bench

oracle: $(STAMP)
	$(BIN)/pip install '$(TORCH)'

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis build dist
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
