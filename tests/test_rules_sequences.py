"""Functions of sequences (trapezoid, polyval, interp, convolve, correlate, unwrap).

Every case goes through `check_rule`; direct tests check NumPy's values on plain and on
traced arrays, and the conventions of the `chainrule.numpy.rules.sequences` docstring.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy
import pytest

import chainrule as cr
import chainrule.numpy as np
from rulecheck import check_rule

RNG = numpy.random.default_rng(0)
Y3 = RNG.standard_normal((3, 4))
X_SORTED = numpy.array([0.0, 0.4, 1.1, 1.5])
XP = numpy.array([0.0, 1.0, 2.5, 4.0])
FP = numpy.array([1.0, -2.0, 0.5, 3.0])
X_OFF_KNOTS = numpy.array([-0.5, 0.3, 1.7, 2.0, 3.9, 4.5])

CASES: list[tuple[str, Callable[..., Any], tuple[Any, ...]]] = [
    ("trapezoid y", lambda y: np.trapezoid(y), (Y3,)),
    ("trapezoid y axis=0", lambda y: np.trapezoid(y, axis=0), (Y3,)),
    ("trapezoid dx", lambda y, dx: np.trapezoid(y, dx=dx), (Y3, 0.3)),
    ("trapezoid x 1-d", lambda y, x: np.trapezoid(y, x), (Y3, X_SORTED)),
    ("trapezoid x n-d axis=0", lambda y, x: np.trapezoid(y, x, axis=0), (Y3, Y3**2)),
    ("polyval", lambda p, x: np.polyval(p, x), (numpy.array([0.5, -1.0, 2.0, 0.3]), Y3)),
    ("polyval scalar x", lambda p, x: np.polyval(p, x), (numpy.array([1.5, 2.0]), 0.7)),
    ("interp x", lambda x: np.interp(x, XP, FP), (X_OFF_KNOTS,)),
    ("interp fp", lambda fp: np.interp(X_OFF_KNOTS, XP, fp), (FP,)),
    ("interp xp", lambda xp: np.interp(X_OFF_KNOTS, xp, FP), (XP,)),
    ("interp all", lambda x, xp, fp: np.interp(x, xp, fp, left=-1.0), (X_OFF_KNOTS, XP, FP)),
    ("interp traced left/right", lambda c: np.interp(X_OFF_KNOTS, XP, FP, c, 2 * c), (0.7,)),
    ("interp matrix x", lambda x: np.interp(x, XP, FP), (X_OFF_KNOTS.reshape(2, 3),)),
    ("gradient vector", lambda f: np.gradient(f), (X_OFF_KNOTS,)),
    ("gradient all axes", lambda f: np.stack(np.gradient(f)), (Y3,)),
    ("gradient dx", lambda f, h: np.stack(np.gradient(f, h)), (Y3, 0.3)),
    ("gradient axis=0 coordinates", lambda f, x: np.gradient(f, x, axis=0), (Y3.T, X_SORTED)),
    ("gradient edge 2", lambda f, x: np.gradient(f, x, edge_order=2), (Y3[0], X_SORTED)),
    (
        "gradient edge 2 two axes",
        lambda f, x, h: np.stack(np.gradient(f, h, x, edge_order=2)),
        (Y3, X_SORTED, 0.4),
    ),
    (
        "gradient even coordinates",
        lambda x: np.gradient(Y3[0].astype(x.dtype), x),
        (numpy.arange(4.0),),
    ),
    ("gradient length 2", lambda f, h: np.gradient(f, h, axis=0), (Y3[:2], 0.5)),
    ("unwrap", lambda p: np.unwrap(p), (numpy.array([0.0, 3.0, 6.5, 0.2, -2.0]),)),
    ("unwrap axis=0 period", lambda p: np.unwrap(p, axis=0, period=4.0), (3 * Y3,)),
]
for _mode in ("full", "same", "valid"):
    for _n, _m in ((5, 3), (2, 4), (3, 3)):
        _a, _v = RNG.standard_normal(_n), RNG.standard_normal(_m)
        for _name in ("convolve", "correlate"):
            CASES.append(
                (
                    f"{_name} {_mode} {_n},{_m}",
                    functools.partial(getattr(np, _name), mode=_mode),
                    (_a, _v),
                )
            )


@pytest.mark.parametrize("name,fun,args", CASES, ids=[c[0] for c in CASES])
def test_rule(name: str, fun: Callable[..., Any], args: tuple[Any, ...]) -> None:
    # interp computes in float64, as NumPy's does, whatever the inputs' precision
    check_rule(fun, *args, float32=not name.startswith("interp"))


@pytest.mark.parametrize("name,fun,args", CASES, ids=[c[0] for c in CASES])
def test_values_are_numpys(name: str, fun: Callable[..., Any], args: tuple[Any, ...]) -> None:
    """Plain arrays: NumPy's own function; traced: the same numbers (to rounding)."""
    plain = fun(*args)
    out, _ = cr.jvp(fun, args, args)
    numpy.testing.assert_allclose(out, plain, rtol=1e-14, atol=1e-14)
    assert numpy.shape(out) == numpy.shape(plain)


def test_plain_calls_are_numpy() -> None:
    numpy.testing.assert_array_equal(
        np.convolve([1, 2], [3, 4, 5]), numpy.convolve([1, 2], [3, 4, 5])
    )
    assert np.interp(1.5, [1, 2], [3, 5]) == numpy.interp(1.5, [1, 2], [3, 5])
    assert np.correlate([1, 2, 3], [0, 1]).dtype == numpy.correlate([1, 2, 3], [0, 1]).dtype


def test_interp_knots_take_the_right_segment() -> None:
    """At a knot, the slope of the segment to its right; at the last knot, the last one."""
    jac = cr.jacrev(lambda x: np.interp(x, XP, FP))(XP)
    slopes = numpy.diff(FP) / numpy.diff(XP)
    numpy.testing.assert_allclose(jac.diagonal(), [*slopes, slopes[-1]])
    out, _ = cr.jvp(lambda x: np.interp(x, XP, FP), (XP,), (XP,))
    numpy.testing.assert_array_equal(out, FP)  # exact at the knots, as NumPy
    g = cr.grad(lambda x: np.interp(x, XP, FP, left=0.0, right=1.0))
    assert g(-1.0) == 0.0 and g(5.0) == 0.0


def test_interp_period_refused_on_traced_values() -> None:
    with pytest.raises(TypeError, match=r"interp: `period=`"):
        cr.grad(lambda x: np.interp(x, XP, FP, period=3.0))(1.0)


def test_unwrap_is_numpys_with_identity_derivative() -> None:
    p = numpy.array([0.0, 3.0, 6.5, 0.2, -2.0])
    out, t = cr.jvp(np.unwrap, (p,), (numpy.arange(5.0),))
    numpy.testing.assert_array_equal(out, numpy.unwrap(p))
    numpy.testing.assert_array_equal(t, numpy.arange(5.0))


@pytest.mark.parametrize("mode", ["bad", "FULL"])
def test_convolve_bad_mode(mode: str) -> None:
    with pytest.raises(ValueError, match="mode"):
        cr.grad(lambda a: np.convolve(a, [1.0, 2.0], mode).sum())(numpy.ones(3))


def _gradient_with(args: tuple[Any, ...], kw: dict[str, Any]) -> Callable[[Any], Any]:
    return lambda f: np.gradient(f, *args, **kw)


def test_gradient_errors_are_numpys() -> None:
    f = numpy.ones((2, 3))
    for args, kw, error in (
        ((1.0, 2.0, 3.0), {}, TypeError),
        ((numpy.ones(5),), {"axis": 1}, ValueError),
        ((), {"edge_order": 3}, ValueError),
        ((), {"edge_order": 2, "axis": 0}, ValueError),
    ):
        with pytest.raises(error):
            numpy.gradient(f, *args, **kw)
        with pytest.raises(error):
            cr.jvp(_gradient_with(args, kw), (f,), (f,))


@pytest.mark.parametrize("name", ["convolve", "correlate"])
@pytest.mark.parametrize("mode", ["full", "same", "valid"])
def test_convolution_of_traced_values_is_numpys_exactly(name: str, mode: str) -> None:
    a, v = RNG.standard_normal(7), RNG.standard_normal(3)
    for x, y in ((a, v), (v, a)):
        out, _ = cr.jvp(lambda x, y=y: getattr(np, name)(x, y, mode), (x,), (x,))
        numpy.testing.assert_array_equal(out, getattr(numpy, name)(x, y, mode))


# ---------------------------------------------------------------------------- vmap


def test_vmap_of_convolve_is_one_batched_product_not_a_convolution_per_example(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from chainrule.numpy.rules import sequences

    a, v = RNG.standard_normal((4, 6)), RNG.standard_normal(3)
    for mode in ("full", "same", "valid"):
        want = numpy.stack([numpy.convolve(row, v, mode) for row in a])
        # the Jacobian's batched tangents take the same path as a batch of examples
        want_jac = numpy.stack([numpy.convolve(e, v, mode) for e in numpy.eye(6)], axis=1)
        numpy.testing.assert_allclose(cr.jacfwd(lambda a, mode=mode: np.convolve(a, v, mode))(a[0]),
                                      want_jac, rtol=1e-13, atol=1e-15)  # fmt: skip
        with monkeypatch.context() as m:
            m.setattr(sequences, "_np_convolve", None)  # (NumPy's convolve is never called)
            got = cr.vmap(lambda a, mode=mode: np.convolve(a, v, mode))(a)
        numpy.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-15)


def _example(args: tuple[Any, ...], axes: tuple[Any, ...], b: int) -> list[Any]:
    return [x if d is None else x[b] for x, d in zip(args, axes, strict=True)]


def _check_batched_convolve(mode: str, a: Any, v: Any, axes: tuple[Any, ...]) -> None:
    conv = functools.partial(np.convolve, mode=mode)
    want = numpy.stack([numpy.convolve(*_example((a, v), axes, b), mode) for b in range(4)])
    numpy.testing.assert_allclose(cr.vmap(conv, in_axes=axes)(a, v), want, rtol=1e-13,
                                  atol=1e-14)  # fmt: skip
    w = RNG.standard_normal(want.shape)

    def mapped(a: Any, v: Any) -> Any:
        return np.sum(w * cr.vmap(conv, in_axes=axes)(a, v))

    def looped(a: Any, v: Any) -> Any:
        return sum(np.sum(w[b] * conv(*_example((a, v), axes, b))) for b in range(4))

    grads = cr.grad(mapped, argnums=(0, 1))(a, v)
    for g, h in zip(grads, cr.grad(looped, argnums=(0, 1))(a, v), strict=True):
        numpy.testing.assert_allclose(g, h, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("mode", ["full", "same", "valid"])
def test_batched_convolutions_against_one_signal_and_many(mode: str) -> None:
    # one signal against a batch of kernels (one matrix product), the reverse, both batched,
    # and traced (grad of a vmap); every length order, ties included
    for n, m in ((7, 3), (3, 7), (5, 5)):
        a, v = RNG.standard_normal((4, n)), RNG.standard_normal((4, m))
        for axes in ((0, None), (None, 0), (0, 0)):
            ins = [x if d is not None else x[0] for x, d in zip((a, v), axes, strict=True)]
            _check_batched_convolve(mode, *ins, axes)


def test_jacfwd_of_convolve_does_not_copy_each_window() -> None:
    # a batch of 300 tangents of a 300-long signal: gathering every window of them took
    # 300 x 599 x 300 floats (430 MB); a view of a plain array's windows takes none
    import tracemalloc

    a, v = RNG.standard_normal(300), RNG.standard_normal(300)
    tracemalloc.start()
    try:
        jac = cr.jacfwd(lambda v: np.convolve(a, v, "same"))(v)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    want = numpy.stack([numpy.convolve(a, e, "same") for e in numpy.eye(300)], axis=1)
    numpy.testing.assert_allclose(jac, want, rtol=1e-12, atol=1e-12)
    assert peak < 20 * jac.nbytes  # (a few Jacobian-sized arrays, not 300 of them)


def test_vmap_of_unwrap_along_a_shifted_axis_and_its_errors() -> None:
    p = 3 * RNG.standard_normal((3, 4, 5))
    got = cr.vmap(lambda q: np.unwrap(q, axis=0), in_axes=2, out_axes=2)(p)
    numpy.testing.assert_array_equal(got, numpy.unwrap(p, axis=0))
    got = cr.vmap(lambda q: np.unwrap(q, axis=-1), in_axes=2)(p)  # (examples of shape (3, 4))
    numpy.testing.assert_array_equal(got, numpy.moveaxis(numpy.unwrap(p, axis=1), 2, 0))
    with pytest.raises(TypeError, match="unwrap takes `discont` and `period` shared"):
        cr.vmap(lambda q, d: np.unwrap(q, d))(p[:, 0], numpy.ones(3))


def test_gradient_of_integers_is_float64_under_jit_and_vmap() -> None:
    """Found by fuzzing: traced `gradient` cast its result back to an integer input's dtype,
    truncating the differences, where NumPy computes integers in float64."""
    x = numpy.array([0, 1, 3, 8, 20])
    for dtype in (numpy.int64, numpy.uint8, numpy.int32):
        want = numpy.gradient(x.astype(dtype))
        for got in (
            cr.jit(np.gradient)(x.astype(dtype)),
            cr.vmap(np.gradient)(x[None].astype(dtype))[0],
        ):
            assert got.dtype == numpy.float64
            numpy.testing.assert_array_equal(got, want)
