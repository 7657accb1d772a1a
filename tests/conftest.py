"""Which tests are numerically sensitive: `make test-portable` runs them on other kernels.

A test's numbers pass through NumPy's SIMD transcendental functions, BLAS/LAPACK, PyTorch's
kernels or an iterative solver, and each of those may round differently on another CPU. So
every module is marked ``numerics`` and run again under other kernels (see the Makefile),
except the few below whose results are text, files or structure. A new module is covered
by default; its tolerances must follow from the mathematics, not from this machine's bits.
"""

from __future__ import annotations

import pytest

# The modules of chainrule's warning categories, imported here, in pytest-xdist's controller
# too: it imports a category's module when a worker reports such a warning, from the thread
# that serves that worker, and two of those threads importing SciPy at once (scipy.optimize,
# for linear_model) can deadlock on its import cycle and take the run down.
import chainrule._estimator
import chainrule.core.batching
import chainrule.integrate
import chainrule.linear_model  # noqa: F401

NOT_NUMERICS = {
    "test_cli_learn.py",
    "test_draw.py",
    "test_explain.py",
    "test_io.py",
    "test_namespace.py",
    "test_notebooks.py",  # the tour's numbers, checked by test_tour*.py under every kernel
    "test_portability.py",
    "test_site.py",
    "test_tree.py",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.name not in NOT_NUMERICS:
            item.add_marker(pytest.mark.numerics)


@pytest.fixture(autouse=True)
def _tour_pictures_in_a_temporary_directory(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pictures the tour draws in a test go to a temporary directory, not the checkout."""
    monkeypatch.setenv("CHAINRULE_TOUR_FIGURES", str(tmp_path_factory.mktemp("figures")))
