"""NumPy's ufunc methods on chainrule's binary ufuncs: outer, reduce, accumulate, reduceat, at."""

from __future__ import annotations

import functools
from typing import Any

import numpy
import pytest

import chainrule as cr
import chainrule.numpy as np
from rulecheck import check_rule

rng = numpy.random.default_rng(3)
X = rng.uniform(0.5, 2.0, (3, 4))
UFUNCS = ["add", "subtract", "multiply", "divide", "maximum", "minimum", "logaddexp", "hypot",
          "arctan2", "power", "fmax", "logical_and"]  # fmt: skip


def _sequential(ufunc: Any, x: numpy.ndarray, axis: int) -> numpy.ndarray:
    """Reduce as NumPy documents it: ``r = x[0]; r = op(r, x[i])`` along the axis (NumPy
    2.4's contiguous power and arctan2 reductions skip entries, a bug of its own)."""
    moved = numpy.moveaxis(x, axis, 0)
    return functools.reduce(ufunc, moved[1:], moved[0])


@pytest.mark.parametrize("name", UFUNCS)
def test_methods_give_numpys_values_and_dtypes_traced(name: str) -> None:
    ours, theirs = getattr(np, name), getattr(numpy, name)
    y = X[0] + 0.25
    calls = [
        (lambda x: ours.outer(x, y), lambda x: theirs.outer(x, y)),
        (lambda x: ours.reduce(x, axis=0), lambda x: _sequential(theirs, x, 0)),
        (lambda x: ours.reduce(x, axis=1, keepdims=True),
         lambda x: numpy.expand_dims(_sequential(theirs, x, 1), 1)),
        (lambda x: ours.accumulate(x, axis=1), lambda x: theirs.accumulate(x.copy("F"), axis=1)),
        (lambda x: ours.reduceat(x, [0, 2, 1], axis=1),
         lambda x: numpy.stack([_sequential(theirs, x[:, 0:2], 1), x[:, 2],
                                _sequential(theirs, x[:, 1:], 1)], axis=1
                               ).astype(theirs.reduce(x[:, :1], axis=1).dtype)),
    ]  # fmt: skip
    for traced, plain in calls:
        want = plain(X)
        assert numpy.asarray(traced(X)).dtype == want.dtype  # (plain: NumPy's own)
        for got in (cr.jit(traced)(X), cr.vmap(traced)(X[None])[0]):
            assert got.dtype == want.dtype
            numpy.testing.assert_allclose(got, want, rtol=1e-14)


@pytest.mark.parametrize(
    "fun",
    [
        lambda x: np.subtract.outer(x, x[:2] * 3.0),
        lambda x: np.logaddexp.reduce(x, axis=1),
        lambda x: np.subtract.reduce(x, axis=0),
        lambda x: np.multiply.reduce(x, axis=None),
        lambda x: np.hypot.reduce(x, axis=1),
        lambda x: np.add.reduce(x, axis=(0, 1), keepdims=True, initial=1.5),
        lambda x: np.divide.accumulate(x, axis=0),
        lambda x: np.multiply.accumulate(x, axis=1),
        lambda x: np.hypot.reduceat(x, [0, 3, 1], axis=1),
        lambda x: np.logaddexp.reduce(x, axis=1, initial=-1.0),
    ],
    ids=[
        "outer",
        "logaddexp.reduce",
        "subtract.reduce",
        "multiply.reduce all",
        "hypot.reduce",
        "add.reduce initial",
        "divide.accumulate",
        "multiply.accumulate",
        "hypot.reduceat",
        "logaddexp.reduce initial",
    ],
)
def test_rules(fun: Any) -> None:
    check_rule(fun, X)


def test_numpys_own_methods_called_on_traced_values_use_ours() -> None:
    got = cr.grad(lambda x: numpy.sum(numpy.multiply.outer(x, x)))(numpy.array([1.0, 2.0]))
    numpy.testing.assert_array_equal(got, [6.0, 6.0])
    softmax = cr.grad(lambda x: numpy.logaddexp.reduce(x))(numpy.array([0.0, 1.0, 2.0]))
    numpy.testing.assert_allclose(softmax, numpy.exp([0, 1, 2]) / numpy.exp([0, 1, 2]).sum())


def test_refusals_and_numpys_errors() -> None:
    with pytest.raises(TypeError, match=r"numpy\.add\.at writes into `a` in place"):
        cr.grad(lambda x: np.add.at(x, [0], 1.0) or np.sum(x))(X)
    with pytest.raises(TypeError, match=r"add\.reduce: `out=` is not supported"):
        cr.jit(lambda x: np.add.reduce(x, out=numpy.empty(4)))(X)
    with pytest.raises(ValueError, match="not reorderable"):
        cr.jit(lambda x: np.subtract.reduce(x, axis=(0, 1)))(X)
    with pytest.raises(ValueError, match="zero-size array to reduction operation arctan2"):
        cr.jit(lambda x: np.arctan2.reduce(x, axis=0))(numpy.ones((0, 2)))
    for name in ("hypot", "logaddexp"):  # (with an identity: it)
        empty = cr.jit(lambda x, name=name: getattr(np, name).reduce(x, axis=0))(numpy.ones((0, 2)))
        numpy.testing.assert_array_equal(empty, getattr(numpy, name).reduce(numpy.ones((0, 2))))
    with pytest.raises(IndexError, match="out-of-bounds"):
        cr.jit(lambda x: np.add.reduceat(x, [0, 4], axis=1))(X)
    a = numpy.zeros(3)
    np.add.at(a, [0, 0, 2], 1.0)  # (plain: NumPy's own)
    numpy.testing.assert_array_equal(a, [2.0, 0.0, 1.0])
    assert np.add.identity == 0 and np.maximum.nin == 2


def test_reductions_start_where_numpy_starts_in_its_dtypes() -> None:
    """Found by review: NumPy starts a reduction from the ufunc's identity (or `initial`,
    None meaning none) in the result's dtype, and takes axis 0 of a 0-d array; its
    accumulate and reduceat start from the first entry."""
    jit = lambda f: cr.jit(f)
    cases = [
        (lambda x: np.subtract.reduce(x), numpy.array(-3.0)),
        (lambda x: np.hypot.reduce(x, axis=1), numpy.array([[-3.0], [-4.0]])),
        (lambda x: np.divide.reduce(x, initial=2.5), numpy.array([1, 2, 4])),
        (lambda x: np.logaddexp.reduce(x, axis=0), numpy.zeros((0, 2), numpy.int64)),
        (lambda x: np.bitwise_and.reduce(x), numpy.zeros(0, numpy.uint8)),
        (lambda x: np.subtract.reduce(x, initial=None), numpy.arange(3.0)),
        (lambda x: np.add.reduce(x), numpy.array([100, 100], numpy.int8)),
        (lambda x: np.add.reduceat(x, [0, 2], dtype=numpy.int8), numpy.array([100, 100, 3], numpy.int8)),
        (lambda x: np.add.reduceat(x, [], axis=1), numpy.ones((2, 3))),
        (lambda x: np.hypot.reduceat(x, [0, 1]), numpy.array([-3.0, -4.0])),
        (lambda x: np.add.accumulate(x), numpy.array([100, 100], numpy.int8)),
        (lambda x: numpy.gcd.reduce(x), numpy.array([12, 18, 8])),  # (NumPy's own ufunc)
    ]  # fmt: skip
    for f, x in cases:
        want = f(x)
        for got in (jit(f)(x), cr.vmap(f)(x[None])[0]):
            assert numpy.asarray(got).dtype == numpy.asarray(want).dtype
            numpy.testing.assert_array_equal(got, want)
    numpy.testing.assert_array_equal(
        cr.grad(lambda x: np.hypot.reduce(x))(numpy.array([-3.0])), [-1.0]
    )
    refused = [
        (lambda x: np.add.accumulate(x, axis=None), numpy.ones((2, 2)), "multiple axes"),
        (lambda x: np.add.accumulate(x), numpy.array(2.0), "cannot accumulate on a scalar"),
        (lambda x: np.logical_and.reduce(x, dtype=numpy.float64), numpy.ones(3), "No loop matching"),
    ]  # fmt: skip
    for f, x, match in refused:
        with pytest.raises((ValueError, TypeError), match=match):
            jit(f)(x)
    vm = cr.vmap(lambda v: numpy.copysign.outer(v, -v))(numpy.ones((2, 3)))
    numpy.testing.assert_array_equal(vm, -numpy.ones((2, 3, 3)))
