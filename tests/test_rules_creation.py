"""linspace, logspace and geomspace with traced ends (and base).

Every case goes through `check_rule`; values on traced inputs are NumPy's, bit for bit,
dtype and shape included.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy
import pytest

import chainrule as cr
import chainrule.numpy as np
from rulecheck import check_rule

F32 = numpy.float32
ENDS: list[tuple[Any, Any, dict[str, Any]]] = [
    (0.5, 1.5, {}),
    (1.0, 3.0, {"num": 5, "endpoint": False}),
    (numpy.array([0.1, 1.0]), numpy.array([2.0, 5.0]), {"num": 4, "axis": 1}),
    (numpy.array([0.2, 1.0]), 3.0, {"num": 3, "axis": -1}),
    (F32(1.0), 2.0, {"num": 3}),
    (2.0, numpy.array([3.0, 4.0], F32), {"num": 3, "axis": -1}),
    (1.0, 1.0, {"num": 4}),
    (1.0, 2.0, {"num": 1}),
    (1.0, 2.0, {"num": 0}),
    (-1.0, -2.0, {"num": 5}),
]
FUNCTIONS = ["linspace", "logspace", "geomspace"]


@pytest.mark.parametrize("name", FUNCTIONS)
@pytest.mark.parametrize("start,stop,kw", ENDS)
def test_values_are_numpys(name: str, start: Any, stop: Any, kw: dict[str, Any]) -> None:
    start, stop = numpy.asarray(start), numpy.asarray(stop)
    ref = getattr(numpy, name)(start, stop, **kw)
    fn = getattr(np, name)
    for out, _ in (
        cr.jvp(lambda a: fn(a, stop, **kw), (start,), (numpy.ones_like(start),)),
        cr.jvp(lambda b: fn(start, b, **kw), (stop,), (numpy.ones_like(stop),)),
    ):
        assert out.dtype == ref.dtype and out.shape == ref.shape
        numpy.testing.assert_array_equal(out, ref)


def _times(y: Any, step: Any) -> Any:
    return y * step


CASES: list[tuple[str, Callable[..., Any], tuple[Any, ...]]] = [
    ("linspace", lambda a, b: np.linspace(a, b, 5), (0.3, 2.0)),
    ("linspace no endpoint", lambda a, b: np.linspace(a, b, 4, endpoint=False), (0.3, 2.0)),
    (
        "linspace arrays axis=1",
        lambda a, b: np.linspace(a, b, 3, axis=1),
        (numpy.ones(2), numpy.arange(2.0)),
    ),
    ("linspace retstep", lambda a, b: _times(*np.linspace(a, b, 4, retstep=True)), (0.3, 2.0)),
    ("linspace one", lambda a, b: np.linspace(a, b, 1), (0.3, 2.0)),
    ("logspace", lambda a, b: np.logspace(a, b, 4), (0.3, 1.2)),
    ("logspace base", lambda a, b, c: np.logspace(a, b, 4, base=c), (0.3, 1.2, 2.5)),
    (
        "logspace array base axis=1",
        lambda c: np.logspace(F32(0.0), numpy.array([1.0, 2.0], F32), 3, base=c, axis=1),
        (numpy.array([2.0, 3.0]),),
    ),
    ("geomspace", lambda a, b: np.geomspace(a, b, 5), (0.3, 2.0)),
    ("geomspace negative", lambda a, b: np.geomspace(a, b, 4, endpoint=False), (-0.3, -2.0)),
    (
        "geomspace arrays axis=-1",
        lambda a, b: np.geomspace(a, b, 3, axis=-1),
        (numpy.ones(2), numpy.array([2.0, 5.0])),
    ),
]


@pytest.mark.parametrize("name,fun,args", CASES, ids=[c[0] for c in CASES])
def test_rule(name: str, fun: Callable[..., Any], args: tuple[Any, ...]) -> None:
    # geomspace computes in float64 at least, as NumPy's does (its `zeros((), None)`)
    check_rule(fun, *args, float32=not name.startswith("geomspace"))


def test_derivatives() -> None:
    """``start + i (stop - start) / div``: weights ``1 - i/div`` and ``i/div``."""
    numpy.testing.assert_allclose(
        cr.jacfwd(lambda a: np.linspace(a, 1.0, 5))(0.0), [1, 0.75, 0.5, 0.25, 0]
    )
    numpy.testing.assert_allclose(
        cr.jacrev(lambda b: np.linspace(0.0, b, 4, endpoint=False))(1.0), [0, 0.25, 0.5, 0.75]
    )
    step = cr.grad(lambda a: np.linspace(a, 3.0, 4, retstep=True)[1])(1.0)
    assert step == -1 / 3


def test_integer_dtype_refused_on_traced_values() -> None:
    with pytest.raises(TypeError, match=r"linspace: an integer `dtype`"):
        cr.grad(lambda a: np.linspace(a, 5.0, 3, dtype=int).sum())(1.0)
    with pytest.raises(ValueError, match="cannot include zero"):
        cr.grad(lambda a: np.geomspace(a, 5.0, 3).sum())(0.0)


# ---------------------------------------------------------------------------- vmap


def test_vmap_of_linspace_takes_numpys_formula_per_example() -> None:
    # the first example's step underflows to 0, so NumPy scales (i / div) * delta instead
    stops = numpy.array([1e-323, 1.0, 3.0])
    f = lambda stop: np.linspace(0.0, stop, 5, endpoint=False)
    got = cr.vmap(f)(stops)
    numpy.testing.assert_array_equal(got, numpy.stack([numpy.linspace(0.0, s, 5, endpoint=False)
                                                       for s in stops]))  # fmt: skip
    assert got[0, -1] > 0
    jacobians = cr.vmap(cr.jacfwd(f))(stops[1:])
    numpy.testing.assert_allclose(jacobians, [numpy.arange(5) / 5] * 2, rtol=1e-15)
