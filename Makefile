# Every target builds .venv itself if needed; the stamp re-installs when pyproject.toml changes.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The only torch allowed: it installs from a local CPU wheel (any other spec downloads GBs).
TORCH  := torch==2.13.0

.PHONY: venv train tour docs site test test-portable lint bench oracle clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -e '.[dev]'
	touch $@

train: $(STAMP)
	$(BIN)/chainrule train

tour: $(STAMP)
	$(BIN)/chainrule tour

# The tour's pages and notebooks are written from its code (tests/test_tour.py and
# tests/test_notebooks.py fail when they drift), then the site is built.
docs: $(STAMP)
	$(BIN)/python -c "from chainrule.learn.tour import write_pages; write_pages('docs/tour')"
	$(BIN)/python -c "from chainrule.learn.tour.notebooks import write_notebooks as w; w('docs/notebooks')"
	$(MAKE) site

# The documentation site, from the committed pages, into site/ (open site/index.html); strict:
# a warning (a broken link, a page missing from the navigation, a bad docstring) is an error.
site: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

# The numerically sensitive tests (marked `numerics` by tests/conftest.py) once more on other
# kernels than this CPU picks: NumPy without its runtime-dispatched SIMD (AVX2 and AVX-512 on
# x86-64, SVE on arm64: every name this NumPy dispatches, so none is unknown to it, and one
# this CPU lacks is simply off); OpenBLAS's generic kernel (MKL's SSE4.2 one where NumPy uses
# MKL) on one thread; PyTorch's unvectorised kernels for the oracle tests. A test that holds
# only for one machine's bits fails here; show_runtime says which kernels ran.
NUMPY_SIMD = import numpy; core = getattr(numpy, "_core", None) or numpy.core; \
             print(*core._multiarray_umath.__cpu_dispatch__)
BLAS_CORE = $(if $(filter x86_64 amd64,$(shell uname -m)),\
              OPENBLAS_CORETYPE=Prescott MKL_ENABLE_INSTRUCTIONS=SSE4_2,\
            $(if $(filter aarch64 arm64,$(shell uname -m)),OPENBLAS_CORETYPE=ARMV8))
PORTABLE = env NPY_DISABLE_CPU_FEATURES="$(shell $(BIN)/python -c '$(NUMPY_SIMD)')" \
           $(BLAS_CORE) OPENBLAS_NUM_THREADS=1 ATEN_CPU_CAPABILITY=default

test-portable: $(STAMP)
	$(PORTABLE) $(BIN)/python -c "import numpy; numpy.show_runtime()"
	$(PORTABLE) $(BIN)/python -m pytest -n 2 -m numerics $(PYTEST_ARGS)

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
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis build dist site
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
