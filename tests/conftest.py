"""Which tests are numerically sensitive: `make test-portable` runs them on other kernels.

A module is listed when its results pass through NumPy's SIMD transcendental functions,
BLAS/LAPACK or an iterative solver and are compared with a tolerance: the outcome of such a
test may depend on the CPU, so CI runs it again under NumPy's baseline SIMD kernels and an
older OpenBLAS kernel (see the Makefile). Its tolerances must follow from the mathematics.
"""

from __future__ import annotations

from pathlib import Path

import pytest

NUMERICS = {
    "test_check.py",
    "test_docs.py",
    "test_expr.py",
    "test_info.py",
    "test_integrate.py",
    "test_linalg_extras.py",
    "test_linear_model.py",
    "test_nn_attention.py",
    "test_nn_functional.py",
    "test_nn_layers.py",
    "test_nn_losses.py",
    "test_nn_worked_check.py",
    "test_numerics.py",
    "test_optim.py",
    "test_optim_torch.py",
    "test_oracle_torch.py",
    "test_plot.py",
    "test_rules_elementwise.py",
    "test_rules_linalg.py",
    "test_rules_products.py",
    "test_rules_reductions.py",
    "test_rules_special.py",
    "test_stats.py",
    "test_surfaces.py",
    "test_textbook.py",
    "test_train.py",
    "test_transforms.py",
}


def pytest_configure(config: pytest.Config) -> None:
    missing = NUMERICS - {path.name for path in Path(__file__).parent.glob("test_*.py")}
    if missing:  # a renamed module would silently leave the portable run
        raise pytest.UsageError(f"tests/conftest.py lists missing modules: {sorted(missing)}")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.name in NUMERICS:
            item.add_marker(pytest.mark.numerics)
