"""Reductions added for issue 11: median, quantiles, the nan* reductions, sequences of values.

Every case goes through `check_rule` (both modes to second order, batched Jacobians,
float32); direct tests pin down values (NumPy's own) and the conventions of the
`chainrule.numpy.rules.reductions` docstring: ties share, NaN results go to the NaNs.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import numpy
import pytest

import chainrule as cr
import chainrule.numpy as np
from rulecheck import check_rule

Gen = Callable[[numpy.random.Generator], tuple[Any, ...]]


def distinct(*shape: int, nans: tuple[Any, ...] = ()) -> Gen:
    """Entries at least 0.1 apart, in random order (no ties), with NaN at `nans`."""
    n = math.prod(shape)

    def gen(rng: numpy.random.Generator) -> tuple[Any, ...]:
        x = (rng.permutation(n) * 0.1 + rng.uniform(0, 0.02, n)).reshape(shape)
        for i in nans:
            x[i] = numpy.nan
        return (x,)

    return gen


def q32(q: Any) -> Any:
    """q as float32: NumPy gives a float64 quantile of float32 data at a float64 `q`."""
    return numpy.asarray(q, numpy.float32)


METHODS = [
    "linear", "lower", "higher", "nearest", "midpoint", "inverted_cdf", "averaged_inverted_cdf",
    "closest_observation", "interpolated_inverted_cdf", "hazen", "weibull", "median_unbiased",
    "normal_unbiased",
]  # fmt: skip

CASES: list[tuple[str, Callable[..., Any], Gen]] = [
    ("median vector odd", lambda x: np.median(x), distinct(5)),
    ("median vector even", lambda x: np.median(x), distinct(6)),
    ("median scalar", lambda x: np.median(x), distinct()),
    ("median axis=0", lambda x: np.median(x, axis=0), distinct(4, 3)),
    (
        "median axis=(0, 2) keepdims",
        lambda x: np.median(x, (0, 2), keepdims=True),
        distinct(2, 3, 4),
    ),
    ("quantile scalar q", lambda x: np.quantile(x, 0.3), distinct(7)),
    (
        "quantile vector q axis=1",
        lambda x: np.quantile(x, q32([0.1, 0.5, 0.95]), axis=1),
        distinct(3, 5),
    ),
    (
        "quantile matrix q keepdims",
        lambda x: np.quantile(x, q32([[0.2, 0.7]]), axis=-1, keepdims=True),
        distinct(2, 3, 4),
    ),
    (
        "quantile positional",
        lambda x: np.quantile(x, 0.6, 0, None, False, "midpoint"),
        distinct(5, 2),
    ),
    ("percentile", lambda x: np.percentile(x, q32([25, 80]), axis=0), distinct(6, 2)),
    ("nanmedian", lambda x: np.nanmedian(x, axis=1), distinct(3, 5, nans=((0, 1), (2, 0), (2, 4)))),
    (
        "nanquantile",
        lambda x: np.nanquantile(x, q32([0.3, 0.9]), axis=0),
        distinct(5, 2, nans=((1, 1),)),
    ),
    ("nanpercentile all", lambda x: np.nanpercentile(x, 40.0), distinct(3, 3, nans=((2, 2),))),
    ("nanmax axis=1", lambda x: np.nanmax(x, axis=1), distinct(3, 4, nans=((0, 1), (2, 3)))),
    ("nanmin all", lambda x: np.nanmin(x), distinct(3, 4, nans=((0, 0),))),
    ("nanmin keepdims", lambda x: np.nanmin(x, 0, keepdims=True), distinct(3, 4, nans=((0, 0),))),
    ("nanprod axis=0", lambda x: np.nanprod(x, axis=0), distinct(3, 4, nans=((0, 1), (2, 1)))),
    ("nanprod all", lambda x: np.nanprod(x), distinct(2, 3, nans=((1, 1),))),
    ("nanvar axis=1", lambda x: np.nanvar(x, axis=1), distinct(3, 4, nans=((0, 1), (2, 3)))),
    (
        "nanvar ddof keepdims",
        lambda x: np.nanvar(x, 0, ddof=1, keepdims=True),
        distinct(4, 3, nans=((0, 1),)),
    ),
    ("nanstd all", lambda x: np.nanstd(x), distinct(3, 4, nans=((1, 2),))),
    ("nanstd axis=(0, 2)", lambda x: np.nanstd(x, (0, 2)), distinct(2, 3, 2, nans=((1, 1, 0),))),
    ("nancumsum axis=1", lambda x: np.nancumsum(x, axis=1), distinct(3, 4, nans=((0, 1), (2, 3)))),
    ("nancumsum flat", lambda x: np.nancumsum(x), distinct(2, 3, nans=((0, 2),))),
    (
        "nancumprod axis=0",
        lambda x: np.nancumprod(x, axis=0),
        distinct(3, 4, nans=((0, 1), (1, 3))),
    ),
    ("mean of a list", lambda a, b: np.mean([a, b * b, 2.0 * a], axis=0), distinct(3)),
]


def _quantile_by(x: Any, method: str) -> Any:
    return np.quantile(x, q32([0.15, 0.4, 0.85]), axis=1, method=method)


CASES += [
    (f"quantile {m}", functools.partial(_quantile_by, method=m), distinct(2, 7)) for m in METHODS
]


def _two(gen: Gen) -> Gen:
    return lambda rng: gen(rng) + gen(rng)


SEQUENCES: list[tuple[str, Callable[..., Any]]] = [
    ("sum", lambda a, b: np.sum([a, b])),
    ("mean axis=0", lambda a, b: np.mean([a, b * b], axis=0)),
    ("var", lambda a, b: np.var((a, b))),
    ("std axis=0", lambda a, b: np.std([a, 2.0 * b], axis=0)),
    ("prod", lambda a, b: np.prod([[a, b], [b, a]], axis=0)),
    ("max", lambda a, b: np.max([a, b + 1.0], axis=0)),
    ("cumsum", lambda a, b: np.cumsum([a, b], axis=0)),
    ("median", lambda a, b: np.median([a, b + 0.05, a * 3.0], axis=0)),
    ("average", lambda a, b: np.average([a, b], axis=0, weights=q32([1.0, 3.0]))),
]


@pytest.mark.parametrize("name,fun,gen", CASES, ids=[c[0] for c in CASES])
def test_rule(name: str, fun: Callable[..., Any], gen: Gen) -> None:
    args = gen(numpy.random.default_rng(0))
    if name == "mean of a list":
        args = _two(gen)(numpy.random.default_rng(0))
    check_rule(fun, *args)


@pytest.mark.parametrize("name,fun", SEQUENCES, ids=[c[0] for c in SEQUENCES])
def test_sequence_of_traced_values(name: str, fun: Callable[..., Any]) -> None:
    """NumPy takes a sequence wherever it takes an array; so do the traced reductions."""
    rng = numpy.random.default_rng(1)
    a, b = rng.uniform(0.5, 1.5, 3), rng.uniform(2.0, 3.0, 3)
    check_rule(fun, a, b)
    out, _ = cr.jvp(fun, (a, b), (a, b))  # traced: the value NumPy gives on plain arrays
    numpy.testing.assert_array_equal(out, fun(a, b))


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("fn", [np.quantile, np.nanquantile])
def test_quantile_values_and_weights(method: str, fn: Any) -> None:
    """NumPy's value; the gradient is the weights NumPy's interpolation puts on each entry."""
    x = numpy.array([3.0, 1.0, 4.0, 1.5, 5.0, 9.0, 2.0])
    q = numpy.array([0.0, 0.15, 0.5, 0.77, 1.0])
    numpy.testing.assert_array_equal(
        fn(x, q, method=method), getattr(numpy, fn.name)(x, q, method=method)
    )
    jac = cr.jacrev(lambda x: fn(x, q, method=method))(x)
    # The weights reproduce the value (a weighted sum of entries) and sum to 1.
    numpy.testing.assert_allclose(jac @ x, numpy.quantile(x, q, method=method), rtol=1e-14)
    numpy.testing.assert_allclose(jac.sum(1), 1.0, rtol=1e-14)
    assert numpy.count_nonzero(jac, axis=1).max() <= 2


def test_median_ties_share_the_weight() -> None:
    x = numpy.array([1.0, 2.0, 2.0, 2.0, 7.0])
    numpy.testing.assert_array_equal(cr.grad(np.median)(x), [0, 1 / 3, 1 / 3, 1 / 3, 0])


def test_nan_conventions() -> None:
    x = numpy.array([[1.0, numpy.nan, 3.0, numpy.nan], [4.0, 2.0, 0.5, 6.0]])
    numpy.testing.assert_array_equal(
        cr.jacrev(lambda x: np.median(x, axis=1))(x)[0], [[0, 0.5, 0, 0.5], [0, 0, 0, 0]]
    )
    numpy.testing.assert_array_equal(
        cr.jacrev(lambda x: np.nanmedian(x, axis=1))(x)[0], [[0.5, 0, 0.5, 0], [0, 0, 0, 0]]
    )
    with pytest.warns(RuntimeWarning):
        g = cr.grad(lambda x: np.nanmedian(x))(numpy.full(3, numpy.nan))
    numpy.testing.assert_array_equal(g, 0.0)


def test_float32_kept() -> None:
    x = numpy.array([[3.0, 1.0, 2.0], [0.5, 4.0, 1.0]], numpy.float32)
    assert np.quantile(x, q32([0.2, 0.5]), axis=1).dtype == numpy.float32
    assert cr.grad(lambda x: np.quantile(x, 0.3, axis=0).sum())(x).dtype == numpy.float32


@pytest.mark.parametrize(
    "kwargs", [{"overwrite_input": True}, {"out": numpy.zeros(())}, {"weights": numpy.ones(3)}]
)
def test_unsupported_keywords_raise(kwargs: dict[str, Any]) -> None:
    kwargs = {"method": "inverted_cdf", **kwargs} if "weights" in kwargs else kwargs
    with pytest.raises(TypeError, match=r"chainrule.numpy.quantile: `\w+=` is not supported"):
        cr.grad(lambda x: np.quantile(x, 0.5, **kwargs))(numpy.array([1.0, 2.0, 3.0]))


def test_traced_q_is_not_differentiable() -> None:
    x = numpy.array([1.0, 2.0, 3.0])
    with pytest.raises(TypeError, match="quantile"):
        cr.grad(lambda q: np.quantile(x, q))(0.5)
    with pytest.raises(TypeError, match="quantile"):
        cr.jvp(lambda q: np.quantile(x, q), (0.5,), (1.0,))


@pytest.mark.parametrize(
    "name", ["nanmax", "nanmin", "nanprod", "nanvar", "nanstd", "nancumsum", "nancumprod"]
)
def test_nan_reductions_skip_nan(name: str) -> None:
    """NumPy's values; a NaN entry gets derivative 0; the others as the NaN-free function's."""
    x = numpy.array([[1.5, numpy.nan, 3.0, 0.5], [4.0, 2.0, numpy.nan, 6.0]])
    fn = getattr(np, name)
    numpy.testing.assert_array_equal(fn(x, axis=1), getattr(numpy, name)(x, axis=1))
    out, jac = cr.jvp(lambda x: fn(x, axis=1), (x,), (numpy.ones_like(x),))
    numpy.testing.assert_array_equal(out, getattr(numpy, name)(x, axis=1))
    jac = cr.jacrev(lambda x: fn(x, axis=1))(x)
    nan = numpy.isnan(x)
    assert numpy.all(jac[..., nan] == 0)
    # Off the NaN entries, the function of the remaining entries of each row.
    for row in range(2):
        kept = x[row][~nan[row]]
        plain = {"nanmax": np.max, "nanmin": np.min, "nanprod": np.prod, "nanvar": np.var}
        plain |= {"nanstd": np.std, "nancumsum": np.cumsum, "nancumprod": np.cumprod}
        expected = cr.jacrev(plain[name])(kept)
        got = jac[row][..., row, ~nan[row]]
        if name.startswith("nancum"):  # the outputs at NaN positions repeat the previous one
            got = got[~nan[row]]
        numpy.testing.assert_allclose(got, expected, rtol=1e-14, atol=1e-15)


def test_all_nan_slices() -> None:
    """An all-NaN slice: nanvar/nanstd are NaN (as NumPy says), with derivative 0 there."""
    x = numpy.array([[numpy.nan, numpy.nan], [1.0, 3.0]])
    with pytest.warns(RuntimeWarning):
        g = cr.grad(lambda x: np.nanvar(x, axis=1)[1] + np.nanstd(x, axis=1)[1])(x)
    numpy.testing.assert_allclose(g, [[0.0, 0.0], [-1.5, 1.5]])
    with pytest.warns(RuntimeWarning):
        g = cr.grad(lambda x: np.nanmax(x, axis=1)[0])(x)
    numpy.testing.assert_array_equal(g, [[0.5, 0.5], [0, 0]])


def test_nan_to_num() -> None:
    """NumPy's values (every keyword); derivative 1 where finite, 0 where replaced."""
    x = numpy.array([[numpy.nan, 1.5, -numpy.inf], [numpy.inf, -2.0, 0.5]])
    kw = {"nan": 7.0, "posinf": 3.0, "neginf": -4.0}
    numpy.testing.assert_array_equal(np.nan_to_num(x, **kw), numpy.nan_to_num(x, **kw))
    out, t = cr.jvp(lambda x: np.nan_to_num(x, **kw), (x,), (numpy.full_like(x, 2.0),))
    numpy.testing.assert_array_equal(out, numpy.nan_to_num(x, **kw))
    numpy.testing.assert_array_equal(t, [[0, 2, 0], [0, 2, 2]])
    g = cr.grad(lambda x: np.sum(np.nan_to_num(x, **kw) * x[::-1]))(x[0])
    numpy.testing.assert_array_equal(g[1], 1.5 + 1.5)
    check_rule(lambda x: np.nan_to_num(x, nan=1.0) ** 3, numpy.array([0.5, -1.2, 2.0]))
    with pytest.raises(TypeError, match=r"nan_to_num: `copy=False`"):
        cr.grad(lambda x: np.nan_to_num(x, copy=False).sum())(x[1])


# ---------------------------------------------------------------------------- vmap


def test_vmap_of_quantiles_puts_the_batch_after_qs_axes() -> None:
    x = numpy.random.default_rng(2).permutation(24).reshape(4, 6) * 0.1
    q = numpy.array([0.1, 0.5, 0.9])
    want = numpy.quantile(x, q, axis=1)  # (3, 4): q's axis first, then the batch
    numpy.testing.assert_allclose(cr.vmap(lambda v: np.quantile(v, q), out_axes=1)(x), want,
                                  rtol=1e-15)  # fmt: skip
    per_example = cr.vmap(cr.grad(lambda v: np.quantile(v, q).sum()))(x)
    loop = numpy.stack([cr.grad(lambda v: np.quantile(v, q).sum())(v) for v in x])
    numpy.testing.assert_allclose(per_example, loop, rtol=1e-15)


def test_vmap_of_a_median_over_the_batch_axis_in_the_middle() -> None:
    x = numpy.random.default_rng(3).permutation(60).reshape(3, 4, 5) * 1.0
    got = cr.vmap(lambda v: np.median(v, axis=0), in_axes=1)(x)
    numpy.testing.assert_array_equal(got, numpy.median(x, axis=0))


def test_vmap_refuses_a_batched_q() -> None:
    x, q = numpy.ones((2, 5)), numpy.array([0.2, 0.7])
    with pytest.raises(TypeError, match="quantile takes only `a` batched"):
        cr.vmap(np.quantile)(x, q)
