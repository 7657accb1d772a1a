"""Reductions: sum, mean, prod, max/min, var/std, cumsum/cumprod, average, nansum/nanmean.

Every case goes through `check_rule` (both modes to second order, batched Jacobians,
float32); direct value tests pin down the conventions of the module docstring: ties of
max/min share the derivative, prod/cumprod are exact at zeros, std is 0-safe.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import Any

import numpy
import pytest

import chainrule as cr
import chainrule.numpy as np
from rulecheck import check_rule

Gen = Callable[[numpy.random.Generator], tuple[Any, ...]]


def normal(*shape: int) -> Gen:
    return lambda rng: (rng.standard_normal(shape),)


def positive(*shape: int) -> Gen:
    return lambda rng: (rng.uniform(0.5, 2.0, shape),)


def distinct(*shape: int) -> Gen:
    """Entries at least 0.1 apart, in random order: no ties for max/min."""
    n = math.prod(shape)
    return lambda rng: ((rng.permutation(n) * 0.1 + rng.uniform(0, 0.02, n)).reshape(shape),)


def with_zeros(*shape: int, at: tuple[tuple[int, ...], ...]) -> Gen:
    """Nonzero entries, with zeros at the `at` positions."""

    def gen(rng: numpy.random.Generator) -> tuple[Any, ...]:
        x = numpy.asarray(rng.uniform(0.5, 1.5, shape) * rng.choice([-1.0, 1.0], shape))
        for i in at:
            x[i] = 0.0
        return (x,)

    return gen


def with_nans(*shape: int, at: tuple[Any, ...]) -> Gen:
    def gen(rng: numpy.random.Generator) -> tuple[Any, ...]:
        x = numpy.asarray(rng.standard_normal(shape))
        for i in at:
            x[i] = numpy.nan
        return (x,)

    return gen


def pair(a: Gen, b: Gen) -> Gen:
    return lambda rng: a(rng) + b(rng)


ZEROS_1 = ((1, 2),)  # one zero in row 1
ZEROS_2 = ((0, 1), (0, 3))  # two zeros in row 0
ZEROS_MIXED = ((0, 1), (0, 3), (1, 2), (2, 0))

CASES: list[tuple[str, Callable[..., Any], Gen]] = [
    # sum
    ("sum scalar", lambda x: np.sum(x), normal()),
    ("sum vector", lambda x: np.sum(x), normal(5)),
    ("sum matrix axis=0", lambda x: np.sum(x, axis=0), normal(3, 4)),
    ("sum matrix axis=-1 keepdims", lambda x: np.sum(x, axis=-1, keepdims=True), normal(3, 4)),
    ("sum 3d axis=(0, 2)", lambda x: np.sum(x, axis=(0, 2)), normal(2, 3, 4)),
    ("sum 3d axis=(-1, 0) keepdims", lambda x: np.sum(x, (-1, 0), keepdims=True), normal(2, 3, 4)),
    ("sum positional axis + initial", lambda x: np.sum(x, 1, None, None, False, 2.0), normal(3, 4)),
    ("sum dtype", lambda x: np.sum(x, axis=0, dtype=x.dtype), normal(3, 4)),
    ("sum method", lambda x: x.sum(axis=1), normal(3, 4)),
    ("sum via numpy.sum", lambda x: numpy.sum(x, axis=(0, 1)), normal(2, 3, 2)),
    # mean
    ("mean scalar", lambda x: np.mean(x), normal()),
    ("mean vector", lambda x: np.mean(x), normal(5)),
    ("mean matrix axis=1", lambda x: np.mean(x, axis=1), normal(3, 4)),
    (
        "mean 3d axis=(0, -1) keepdims",
        lambda x: np.mean(x, (0, -1), keepdims=True),
        normal(2, 3, 4),
    ),
    ("mean method", lambda x: x.mean(axis=0), normal(3, 4)),
    # nansum / nanmean
    ("nansum", lambda x: np.nansum(x, axis=1), with_nans(3, 4, at=((0, 1), (2, 3)))),
    ("nansum all", lambda x: np.nansum(x), with_nans(3, 4, at=((1, 1),))),
    ("nanmean", lambda x: np.nanmean(x, axis=0), with_nans(3, 4, at=((0, 1), (2, 1)))),
    (
        "nanmean tuple keepdims",
        lambda x: np.nanmean(x, (0, 2), keepdims=True),
        with_nans(2, 3, 2, at=((0, 1, 0), (1, 2, 1))),
    ),
    # prod
    ("prod scalar", lambda x: np.prod(x), positive()),
    ("prod vector", lambda x: np.prod(x), normal(5)),
    ("prod matrix axis=0", lambda x: np.prod(x, axis=0), normal(3, 4)),
    ("prod matrix axis=-1 keepdims", lambda x: np.prod(x, axis=-1, keepdims=True), normal(3, 4)),
    ("prod 3d axis=(0, 2)", lambda x: np.prod(x, axis=(0, 2)), positive(2, 3, 2)),
    ("prod initial", lambda x: np.prod(x, axis=1, initial=1.5), normal(3, 4)),
    ("prod method", lambda x: x.prod(0), normal(3, 4)),
    ("prod one zero", lambda x: np.prod(x, axis=1), with_zeros(3, 4, at=ZEROS_1)),
    ("prod two zeros", lambda x: np.prod(x, axis=1), with_zeros(3, 4, at=ZEROS_2)),
    ("prod zeros axis=None", lambda x: np.prod(x), with_zeros(3, 4, at=ZEROS_2)),
    (
        "prod zeros axis=0 keepdims",
        lambda x: np.prod(x, axis=0, keepdims=True),
        with_zeros(3, 4, at=ZEROS_MIXED),
    ),
    (
        "prod zeros tuple axis",
        lambda x: np.prod(x, axis=(0, 2)),
        with_zeros(2, 3, 2, at=((0, 1, 0), (1, 1, 1), (0, 2, 1))),
    ),
    (
        "prod zeros initial",
        lambda x: np.prod(x, axis=-1, initial=2.0),
        with_zeros(3, 4, at=ZEROS_MIXED),
    ),
    ("prod zero scalar", lambda x: np.prod(x), with_zeros(at=((),))),
    # max / min
    ("max scalar", lambda x: np.max(x), normal()),
    ("max vector", lambda x: np.max(x), distinct(5)),
    ("max matrix axis=0", lambda x: np.max(x, axis=0), distinct(3, 4)),
    ("amax matrix axis=-1 keepdims", lambda x: np.amax(x, axis=-1, keepdims=True), distinct(3, 4)),
    ("amax 3d axis=(0, 2)", lambda x: np.amax(x, axis=(2, 0)), distinct(2, 3, 4)),
    ("max initial", lambda x: np.max(x, axis=1, initial=1.0), distinct(3, 4)),
    ("max method", lambda x: x.max(axis=1), distinct(3, 4)),
    ("min vector", lambda x: np.min(x), distinct(5)),
    ("min matrix axis=1", lambda x: np.min(x, axis=1), distinct(3, 4)),
    (
        "amin 3d axis=(-1, -2) keepdims",
        lambda x: np.amin(x, (-1, -2), keepdims=True),
        distinct(2, 3, 4),
    ),
    ("min via numpy.min", lambda x: numpy.min(x, axis=0), distinct(3, 4)),
    # var / std
    ("var scalar", lambda x: np.var(x), normal()),
    ("var vector", lambda x: np.var(x), normal(5)),
    ("var matrix axis=0 ddof=1", lambda x: np.var(x, axis=0, ddof=1), normal(3, 4)),
    (
        "var 3d axis=(0, 2) keepdims",
        lambda x: np.var(x, axis=(0, 2), keepdims=True),
        normal(2, 3, 4),
    ),
    ("var correction", lambda x: np.var(x, axis=-1, correction=1), normal(3, 4)),
    ("var positional ddof", lambda x: np.var(x, 1, None, None, 1), normal(3, 4)),
    ("var method", lambda x: x.var(ddof=1), normal(3, 4)),
    ("std scalar", lambda x: np.std(x), normal()),
    ("std vector", lambda x: np.std(x), normal(5)),
    ("std matrix axis=1 ddof=1", lambda x: np.std(x, axis=1, ddof=1), normal(3, 4)),
    (
        "std 3d axis=(-1, 0) keepdims",
        lambda x: np.std(x, axis=(-1, 0), keepdims=True),
        normal(2, 3, 4),
    ),
    ("std method", lambda x: x.std(axis=0), normal(3, 4)),
    # cumsum / cumprod
    ("cumsum scalar", lambda x: np.cumsum(x), normal()),
    ("cumsum vector", lambda x: np.cumsum(x), normal(5)),
    ("cumsum matrix axis=None", lambda x: np.cumsum(x), normal(3, 4)),
    ("cumsum matrix axis=0", lambda x: np.cumsum(x, axis=0), normal(3, 4)),
    ("cumsum 3d axis=-1", lambda x: np.cumsum(x, -1), normal(2, 3, 4)),
    ("cumsum method", lambda x: x.cumsum(1), normal(3, 4)),
    ("cumprod scalar", lambda x: np.cumprod(x), normal()),
    ("cumprod vector", lambda x: np.cumprod(x), normal(5)),
    ("cumprod matrix axis=None", lambda x: np.cumprod(x), normal(3, 4)),
    ("cumprod matrix axis=1", lambda x: np.cumprod(x, axis=1), normal(3, 4)),
    ("cumprod 3d axis=-2", lambda x: np.cumprod(x, axis=-2), normal(2, 3, 4)),
    ("cumprod method", lambda x: x.cumprod(0), normal(3, 4)),
    ("cumprod one zero", lambda x: np.cumprod(x, axis=1), with_zeros(3, 4, at=ZEROS_1)),
    ("cumprod two zeros", lambda x: np.cumprod(x, axis=1), with_zeros(3, 4, at=ZEROS_2)),
    ("cumprod zeros axis=0", lambda x: np.cumprod(x, axis=0), with_zeros(3, 4, at=ZEROS_MIXED)),
    ("cumprod zeros axis=None", lambda x: np.cumprod(x), with_zeros(3, 4, at=ZEROS_MIXED)),
    ("cumprod zero first", lambda x: np.cumprod(x), with_zeros(4, at=((0,), (1,)))),
    ("cumprod zero scalar", lambda x: np.cumprod(x), with_zeros(at=((),))),
    # average
    ("average plain", lambda a: np.average(a), normal(3, 4)),
    ("average axis=1 keepdims", lambda a: np.average(a, axis=1, keepdims=True), normal(3, 4)),
    ("average returned, no weights", lambda a: np.average(a, 0, returned=True), normal(3, 4)),
    (
        "average weights same shape",
        lambda a, w: np.average(a, weights=w),
        pair(normal(3, 4), positive(3, 4)),
    ),
    (
        "average weights 1-d, axis=-1",
        lambda a, w: np.average(a, axis=-1, weights=w),
        pair(normal(3, 4), positive(4)),
    ),
    (
        "average weights tuple axis, returned",
        lambda a, w: np.average(a, (2, 0), w, True),
        pair(normal(2, 3, 4), positive(4, 2)),
    ),
    (
        "average weights keepdims, returned",
        lambda a, w: np.average(a, axis=0, weights=w, returned=True, keepdims=True),
        pair(normal(3, 4), positive(3)),
    ),
    (
        "average via numpy.average",
        lambda a, w: numpy.average(a, axis=0, weights=w),
        pair(normal(3, 4), positive(3, 4)),
    ),
    # compositions (a reduction inside another's rule, at second order)
    (
        "softmax-like",
        lambda x: np.exp(x - np.max(x, axis=-1, keepdims=True)).sum(-1),
        distinct(3, 4),
    ),
    ("standardize", lambda x: (x - x.mean(0)) / x.std(0), normal(4, 3)),
]


@pytest.mark.parametrize("name,fun,gen", CASES, ids=[c[0] for c in CASES])
def test_rule(name: str, fun: Callable[..., Any], gen: Gen) -> None:
    check_rule(fun, *gen(numpy.random.default_rng(0)))


# cov and corrcoef compute in float64 whatever the input (NumPy's result_type with float64)
COV_CASES = [
    ("cov rows", lambda x: np.cov(x), normal(3, 5)),
    ("cov vector", lambda x: np.cov(x), normal(4)),
    (
        "cov columns, y, bias",
        lambda x, y: np.cov(x, y, rowvar=False, bias=True),
        pair(normal(5, 2), normal(5, 1)),
    ),
    (
        "cov weighted",
        lambda x: np.cov(x, fweights=[1, 2, 1, 3], aweights=[0.5, 1.0, 2.0, 1.5]),
        normal(2, 4),
    ),
    ("cov via numpy.cov", lambda x: numpy.cov(x, ddof=0), normal(2, 4)),
    ("corrcoef off the diagonal", lambda x: np.corrcoef(x)[0, 1:], normal(3, 5)),
    ("corrcoef x, y", lambda x, y: np.corrcoef(x, y)[0, 1], pair(normal(5), normal(5))),
]


@pytest.mark.parametrize("name,fun,gen", COV_CASES, ids=[c[0] for c in COV_CASES])
def test_cov_rule(name: str, fun: Callable[..., Any], gen: Gen) -> None:
    check_rule(fun, *gen(numpy.random.default_rng(0)), float32=False)


def test_cov_and_corrcoef_are_numpys_under_jit_and_vmap() -> None:
    rng = numpy.random.default_rng(1)
    x, y = rng.standard_normal((3, 5)), rng.standard_normal((2, 5))
    f, a = rng.integers(1, 4, 5), rng.random(5)
    z = x + 1j * rng.standard_normal((3, 5))
    cases = [
        (lambda x: np.cov(x, fweights=f, aweights=a, ddof=1), (x,)),
        (lambda x: np.cov(x, rowvar=False, bias=True), (x.T,)),
        (lambda x, y: np.cov(x, y), (x, y)), (np.cov, (z,)), (np.corrcoef, (z,)),
        (lambda x, y: np.corrcoef(x, y), (x, y)), (np.corrcoef, (x[0],)),
        (np.cov, (x[0].astype(numpy.float32),)), (lambda x: np.cov(x, dtype=numpy.float32), (x,)),
    ]  # fmt: skip
    for fun, args in cases:
        want = numpy.asarray(fun(*(numpy.asarray(v) for v in args)))
        for got in (cr.jit(fun)(*args), cr.vmap(fun)(*(v[None] for v in args))[0]):
            assert numpy.asarray(got).dtype == want.dtype
            numpy.testing.assert_allclose(
                got, want, rtol=1e-12 if want.dtype.itemsize > 4 else 1e-6
            )
    with pytest.raises(TypeError, match="fweights must be integer"):
        cr.jit(lambda x: np.cov(x, fweights=[1.5, 1, 1, 1, 1]))(x)
    with pytest.raises(TypeError, match="fweights and aweights must be constants"):
        cr.grad(lambda w: np.sum(np.cov(x, aweights=w)))(a)


# ---------------------------------------------------------------------------- conventions


@pytest.mark.parametrize("dtype", [numpy.float64, numpy.float32])
def test_max_ties_share_the_gradient(dtype: Any) -> None:
    x = numpy.array([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, 2.0, -1.0]], dtype)
    g = cr.grad(lambda x: np.sum(np.max(x, axis=1)))(x)
    third = numpy.float32(1 / 3) if dtype is numpy.float32 else 1 / 3
    expected = numpy.array([[0, 0.5, 0.5, 0], [third, third, third, 0]], dtype)
    numpy.testing.assert_array_equal(g, expected)
    assert g.dtype == dtype
    # forward mode: the tangent of the max is the mean tangent of the tied entries
    t = numpy.array([[9.0, 1.0, 2.0, 9.0], [3.0, 6.0, 0.0, 9.0]], dtype)
    numpy.testing.assert_allclose(cr.jvp(lambda x: np.max(x, axis=1), (x,), (t,))[1], [1.5, 3.0])


def test_min_ties_and_method() -> None:
    x = numpy.array([[0.0, 1.0], [0.0, 5.0]])
    numpy.testing.assert_array_equal(cr.grad(lambda x: x.min())(x), [[0.5, 0.0], [0.5, 0.0]])
    numpy.testing.assert_array_equal(
        cr.grad(lambda x: np.amin(x, axis=0, keepdims=True).sum())(x), [[0.5, 1.0], [0.5, 0.0]]
    )
    numpy.testing.assert_array_equal(cr.hessian(lambda x: np.max(x))(x), numpy.zeros((2, 2, 2, 2)))


def test_max_initial_wins_and_nan() -> None:
    x = numpy.array([0.5, 0.25])
    numpy.testing.assert_array_equal(cr.grad(lambda x: np.max(x, initial=1.0))(x), [0.0, 0.0])
    y = numpy.array([1.0, numpy.nan, 2.0])
    numpy.testing.assert_array_equal(cr.grad(lambda y: np.max(y))(y), [0.0, 1.0, 0.0])


def _product_of_others(x: Any) -> Any:
    """Brute force: entry i is the product of the entries other than i."""
    return numpy.array([numpy.prod(numpy.delete(x, i)) for i in range(len(x))])


@pytest.mark.parametrize(
    "values",
    [[2.0, 0.0, 3.0, 4.0], [2.0, 0.0, 0.0, 4.0], [0.0, 0.0, 0.0, 5.0], [0.0], [1.5, -2.0, 0.5]],
)
def test_prod_gradient_is_product_of_others(values: list[float]) -> None:
    x = numpy.array(values)
    expected = _product_of_others(x)
    numpy.testing.assert_array_equal(cr.grad(np.prod)(x), expected)
    numpy.testing.assert_array_equal(cr.jacfwd(np.prod)(x), expected)


def test_prod_hessian_at_two_zeros() -> None:
    x = numpy.array([2.0, 0.0, 0.0, 4.0])
    expected = numpy.zeros((4, 4))
    expected[1, 2] = expected[2, 1] = 8.0
    for hess in (cr.hessian(np.prod), cr.jacfwd(cr.jacfwd(np.prod)), cr.jacrev(cr.grad(np.prod))):
        numpy.testing.assert_array_equal(hess(x), expected)
    # third order, three zeros: d^3 prod / dx0 dx1 dx2 = x3
    third = cr.jacfwd(cr.hessian(np.prod))(numpy.array([0.0, 0.0, 0.0, 5.0]))
    assert third[0, 1, 2] == third[2, 0, 1] == 5.0
    assert numpy.count_nonzero(third) == 6


def _cumprod_jacobian(x: Any, order: int) -> Any:
    """Brute force: d^order y_k / dx_i dx_j ... = product of x_m, m <= k, m not in (i, j, ...)."""
    n = len(x)
    out = numpy.zeros((n,) + (n,) * order)
    for k in range(n):
        for idx in itertools.product(range(k + 1), repeat=order):
            if len(set(idx)) == order:
                entry = (k, *idx)
                out[entry] = numpy.prod([x[m] for m in range(k + 1) if m not in idx])
    return out


@pytest.mark.parametrize(
    "values", [[1.5, 0.0, 2.0, -3.0], [0.0, 2.0, 0.0, 3.0, 0.5], [0.0, 0.0, 0.0], [2.0, -1.0, 0.5]]
)
def test_cumprod_derivatives_at_zeros(values: list[float]) -> None:
    x = numpy.array(values)
    for jac in (cr.jacfwd(np.cumprod), cr.jacrev(np.cumprod)):
        numpy.testing.assert_array_equal(jac(x), _cumprod_jacobian(x, 1))
    for hess in (cr.jacfwd(cr.jacrev(np.cumprod)), cr.jacrev(cr.jacrev(np.cumprod))):
        numpy.testing.assert_allclose(hess(x), _cumprod_jacobian(x, 2), rtol=1e-14, atol=0)


def test_cumprod_zeros_along_axis_and_batched() -> None:
    x = numpy.array([[1.0, 0.0, 2.0], [0.0, 3.0, 0.0], [2.0, 1.5, -1.0]])
    jac = cr.jacrev(lambda x: np.cumprod(x, axis=0))(x)
    for j in range(3):
        expected = _cumprod_jacobian(x[:, j], 1)
        numpy.testing.assert_array_equal(jac[:, j, :, j], expected)
    numpy.testing.assert_array_equal(jac, cr.jacfwd(lambda x: np.cumprod(x, axis=0))(x))


def test_std_at_zero_variance_is_zero_not_nan() -> None:
    x = numpy.array([[1.0, 1.0, 1.0], [1.0, 2.0, 4.0]])
    g = cr.grad(lambda x: np.sum(np.std(x, axis=1)))(x)
    numpy.testing.assert_array_equal(g[0], [0.0, 0.0, 0.0])
    numpy.testing.assert_allclose(g[1], (x[1] - x[1].mean()) / (3 * numpy.std(x[1])))
    flat = numpy.full(4, 2.5)
    assert not numpy.isnan(cr.hessian(np.std)(flat)).any()
    numpy.testing.assert_array_equal(cr.hessian(np.std)(flat), numpy.zeros((4, 4)))
    numpy.testing.assert_array_equal(cr.jvp(np.std, (flat,), (numpy.arange(4.0),))[1], 0.0)
    numpy.testing.assert_array_equal(cr.grad(np.std)(numpy.float64(3.0)), 0.0)


def test_var_std_values() -> None:
    x = numpy.array([1.0, 2.0, 4.0, 7.0])
    numpy.testing.assert_allclose(cr.grad(lambda x: np.var(x, ddof=1))(x), 2 * (x - x.mean()) / 3)
    numpy.testing.assert_allclose(cr.grad(np.std)(x), (x - x.mean()) / (4 * numpy.std(x)))


def test_average_weights_and_returned() -> None:
    a = numpy.array([[1.0, 2.0, 4.0], [3.0, 0.0, -1.0]])
    w = numpy.array([1.0, 2.0, 5.0])
    avg, scale = np.average(a, axis=1, weights=w, returned=True)
    ref_avg, ref_scale = numpy.average(a, axis=1, weights=w, returned=True)
    numpy.testing.assert_allclose(avg, ref_avg)
    numpy.testing.assert_array_equal(scale, ref_scale)

    def traced(a: Any, w: Any) -> Any:
        avg, scale = np.average(a, axis=1, weights=w, returned=True)
        assert scale.shape == (2,)
        return np.sum(avg) + 0.5 * np.sum(scale)

    ga, gw = cr.grad(traced, argnums=(0, 1))(a, w)
    numpy.testing.assert_allclose(ga, numpy.broadcast_to(w / w.sum(), a.shape))
    # d avg_r / d w_i = (a_ri - avg_r) / sum(w); d scale_r / d w_i = 1
    numpy.testing.assert_allclose(gw, ((a - ref_avg[:, None]) / w.sum()).sum(0) + 1.0)
    # without weights, the scale is the count (a constant), broadcast like NumPy
    _, count = cr.vjp(lambda a: np.average(a, axis=0, returned=True), a)[0]
    numpy.testing.assert_array_equal(count, [2.0, 2.0, 2.0])


def test_plain_arrays_are_numpy() -> None:
    x = numpy.arange(12.0).reshape(3, 4)
    out = numpy.empty(4)
    assert np.sum(x, axis=0, out=out) is out
    numpy.testing.assert_array_equal(out, x.sum(0))
    assert np.max(x, where=x < 5, initial=-1.0) == 4.0
    numpy.testing.assert_array_equal(
        np.average(x, 1, numpy.arange(4.0), True),
        numpy.average(x, 1, numpy.arange(4.0), returned=True),
    )
    assert type(np.mean(x)) is numpy.float64


def test_dtype_argument() -> None:
    x = numpy.linspace(1, 2, 6, dtype=numpy.float32).reshape(2, 3)
    assert cr.grad(lambda x: np.sum(x, dtype=numpy.float64))(x).dtype == numpy.float32
    value, tangent = cr.jvp(lambda x: np.prod(x, axis=0, dtype=numpy.float64), (x,), (x,))
    assert value.dtype == tangent.dtype == numpy.float64
    numpy.testing.assert_allclose(tangent, 2 * numpy.prod(x.astype(numpy.float64), axis=0))
    assert cr.grad(lambda x: np.cumsum(x, dtype=numpy.float64)[-1])(x).dtype == numpy.float32


def test_nan_entries_get_zero_gradient() -> None:
    x = numpy.array([[1.0, numpy.nan, 3.0], [numpy.nan, numpy.nan, numpy.nan]])
    numpy.testing.assert_array_equal(cr.grad(np.nansum)(x), [[1, 0, 1], [0, 0, 0]])
    with numpy.errstate(invalid="ignore"), pytest.warns(RuntimeWarning):
        g = cr.grad(lambda x: np.nanmean(x, axis=1)[0])(x)
    numpy.testing.assert_array_equal(g, [[0.5, 0, 0.5], [0, 0, 0]])


# --------------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "fun,match",
    [
        (lambda x: np.sum(x, out=numpy.empty(())), "`out=` is not supported"),
        (lambda x: np.mean(x, where=numpy.array([True, False])), "`where=` is not supported"),
        (lambda x: np.max(x, where=numpy.array([True, False]), initial=0.0), "`where=`"),
        (lambda x: np.var(x, mean=numpy.zeros(())), "`mean=` is not supported"),
    ],
)
@pytest.mark.parametrize("mode", ["rev", "fwd"])
def test_unsupported_arguments(fun: Callable[..., Any], match: str, mode: str) -> None:
    x = numpy.array([1.0, 2.0])
    with pytest.raises(TypeError, match=match):
        if mode == "rev":
            cr.grad(fun)(x)
        else:
            cr.jvp(fun, (x,), (x,))


def test_average_errors() -> None:
    a = numpy.ones((2, 3))
    with pytest.raises(TypeError, match="Axis must be specified"):
        cr.grad(lambda a: np.average(a, weights=numpy.ones(3)))(a)
    with pytest.raises(ValueError, match="Shape of weights"):
        cr.grad(lambda a: np.average(a, axis=0, weights=numpy.ones(3)))(a)
    with pytest.raises(ZeroDivisionError, match="Weights sum to zero"):
        cr.grad(lambda w: np.average(a, axis=1, weights=w).sum())(numpy.array([1.0, -1.0, 0.0]))


# ---------------------------------------------------------------------------- vmap


def _loop(fun: Callable[..., Any], *batches: Any) -> Any:
    return numpy.stack([fun(*example) for example in zip(*batches, strict=True)])


def test_vmap_over_an_axis_the_function_also_reduces() -> None:
    x = numpy.random.default_rng(1).standard_normal((3, 4, 5))
    # examples x[:, j] of shape (3, 5): the batch sits between the axes that are summed
    got = cr.vmap(lambda v: np.sum(v, axis=(0, -1)), in_axes=1)(x)
    numpy.testing.assert_allclose(got, x.sum(axis=(0, 2)), rtol=1e-13)
    got = cr.vmap(lambda v: np.cumsum(v, axis=-1), in_axes=2, out_axes=2)(x)
    numpy.testing.assert_allclose(got, numpy.cumsum(x, axis=1), rtol=1e-13)


def test_vmap_of_a_cumulative_function_of_scalars_is_numpys_1d_result() -> None:
    x = numpy.array([1.0, 2.0, 3.0])
    assert cr.vmap(np.cumsum)(x).shape == (3, 1)  # (cumsum of a 0-d array is 1-d)
    numpy.testing.assert_array_equal(cr.vmap(lambda v: np.cumprod(v, axis=0))(x), x[:, None])


def test_vmap_of_prod_gradients_when_only_some_examples_hold_zeros() -> None:
    x = numpy.array([[2.0, 0.0, 3.0, 0.0], [2.0, 5.0, 3.0, 4.0], [0.0, 1.5, 3.0, 2.0]])
    for fun in (np.prod, lambda v: np.cumprod(v)[-1], lambda v: np.sum(np.cumprod(v))):
        numpy.testing.assert_allclose(cr.vmap(cr.grad(fun))(x), _loop(cr.grad(fun), x),
                                      rtol=1e-15)  # fmt: skip


def test_vmap_of_average_refuses_an_example_whose_weights_sum_to_zero() -> None:
    a = numpy.ones((2, 3))
    with pytest.raises(ZeroDivisionError, match="Weights sum to zero"):
        cr.vmap(lambda a, w: np.average(a, weights=w))(a, numpy.array([[1.0, 1, 1], [1, -1, 0]]))


def test_vmap_refuses_a_batched_parameter_of_a_reduction_by_name() -> None:
    x, initial = numpy.ones((2, 3)), numpy.array([1.0, 2.0])
    for fun in (
        lambda a, i: np.sum(a, initial=i),  # (a keyword: NumPy would fail on a tracer)
        lambda a, i: np.sum(a, None, None, None, False, i),
    ):
        with pytest.raises(TypeError, match="sum takes `initial` shared by every"):
            cr.vmap(fun)(x, initial)


def test_grad_of_a_product_over_empty_rows_under_jit() -> None:
    """Found by fuzzing: the rule's search for zeros reshaped with a -1, which 0 rows cannot
    resolve; eager code took another path."""
    loss = lambda x: np.sum(np.prod(x, axis=1))
    x = numpy.ones((0, 4))
    for grad in (cr.grad(loss), cr.jit(cr.grad(loss)), cr.grad(cr.jit(loss))):
        assert grad(x).shape == (0, 4)


def test_a_zero_d_array_reduced_along_axis_0_or_minus_1() -> None:
    """Found by fuzzing: NumPy's ufunc reductions take axis 0 or -1 of a 0-d array (as no
    axis); the derivative rules read it as axis 0 and failed."""
    x0, t = numpy.array(1.5), numpy.array(2.0)
    cases = [
        lambda x: np.max(x, axis=-1, keepdims=True), lambda x: np.min(x, axis=0),
        lambda x: np.sum(x, axis=0, keepdims=True), lambda x: np.prod(x, axis=-1),
    ]  # fmt: skip
    for f in cases:
        loss = lambda x, f=f: np.sum(f(x))
        for grad in (cr.grad(loss), cr.jit(cr.grad(loss))):
            assert grad(x0) == 1.0
        assert cr.jvp(f, (x0,), (t,))[1] == 2.0
        xs = numpy.array([1.0, -2.0])
        numpy.testing.assert_array_equal(cr.vmap(f)(xs), numpy.stack([f(x) for x in xs]))
        numpy.testing.assert_array_equal(cr.vmap(cr.grad(loss))(xs), [1.0, 1.0])
    for refused in (lambda x: np.max(x, axis=3), lambda x: np.sum(x, axis=(0,)),
                    lambda x: np.mean(x, axis=0), lambda x: np.std(x, axis=-1)):  # fmt: skip
        with pytest.raises(numpy.exceptions.AxisError):  # (as NumPy's on a 0-d array)
            cr.vmap(refused)(numpy.ones(2))
    xs = numpy.array([1.5, 0.0])
    for f in (lambda x: np.any(x, axis=0), lambda x: np.argmax(x, axis=-1),
              lambda x: np.count_nonzero(x, axis=0), lambda x: np.all(x, axis=0, keepdims=True)):  # fmt: skip
        numpy.testing.assert_array_equal(cr.vmap(f)(xs), [f(x) for x in xs])


def test_cov_as_numpy_on_what_review_found() -> None:
    """A complex y with a real m (its imaginary part was dropped), one row with
    rowvar=False (NumPy transposes a 2-D m whatever its rows), no degrees of freedom
    (NumPy: inf or nan with a warning, not an error), traced values in a list, and NumPy's
    refusals."""
    m, y = numpy.array([1.0, 2.0, 4.0]), numpy.array([1.0 + 1j, 0.0, 2.0 - 1j])
    numpy.testing.assert_allclose(cr.jit(np.cov)(m, y), numpy.cov(m, y), rtol=1e-14)
    row = numpy.array([[1.0, 2.0, 4.0]])
    with pytest.warns(RuntimeWarning, match="Degrees of freedom"):
        got = cr.jit(lambda r: np.cov(r, rowvar=False))(row)
    assert got.shape == (3, 3) and numpy.isnan(got).all()
    with pytest.warns(RuntimeWarning, match="Degrees of freedom"):
        assert numpy.isinf(cr.jit(lambda v: np.cov(v, fweights=[1, 1, 1], ddof=3))(m))
    numpy.testing.assert_array_equal(
        cr.jit(lambda a: np.cov([a, 2 * a, 3.0 + a]))(1.0), numpy.cov([1.0, 2.0, 4.0])
    )
    for kwargs, match in (({"ddof": 1.5}, "ddof must be integer"), ({}, "more than 2 dim")):
        with pytest.raises(ValueError, match=match):
            cr.jit(lambda v, kw=kwargs: np.cov(v if kw else v[None, None], **kw))(m)
