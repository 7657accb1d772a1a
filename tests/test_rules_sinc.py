"""Derivatives of `sinc` to order 4, at, near and far from 0, against mpmath, both modes.

Before, every derivative of order 2 or more was 0 at exactly x = 0 (the second is -π²/3),
and the first lost all its digits near 0 (``cos(πx) - sinc(x)`` cancels).
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.numpy.rules.sinc_derivatives import sinc_derivative
from rulecheck import check_rule

XS = np.array([0.0, 1e-9, -1e-9, 1e-4, -1e-4, 0.3, -0.7, 1.0, 1.3, 2.0, -3.4, 12.5, 100.25])
EPS = np.finfo(np.float64).eps


def tol(n: int) -> float:
    """Absolute error bound of the n-th derivative: NumPy's sin and cos are accurate to 4
    ulps on every SIMD path and the recurrence adds one rounding per order without
    amplifying (|u| >= n there); the series' terms (|u| < n) sum to at most e^|u|/(n+1),
    below 4(n+1) at the points tested, each rounded twice; the result carries πⁿ."""
    return 8 * (n + 1) * EPS * math.pi**n


def reference(x: np.ndarray, n: int) -> np.ndarray:
    """``dⁿ/dxⁿ sin(πx)/(πx)`` at the float64 points `x`, to 40 digits."""
    with mpmath.workdps(40):
        return np.array([float(mpmath.diff(mpmath.sincpi, mpmath.mpf(float(v)), n)) for v in x])


def nest(transform, n: int):
    f = cnp.sinc
    for _ in range(n):
        f = transform(f)
    return f


def reverse(f):
    return cr.elementwise_grad(f)


def forward(f):
    return lambda x: cr.jvp(f, (x,), (np.ones_like(x),))[1]


def mixed(f):
    """Alternate: forward over reverse over forward..."""
    return lambda x: cr.jvp(cr.elementwise_grad(f), (x,), (np.ones_like(x),))[1]


@pytest.mark.parametrize("n", [1, 2, 3, 4])
@pytest.mark.parametrize("mode", [reverse, forward])
def test_derivatives_match_mpmath(n, mode):
    ours = nest(mode, n)(XS)
    np.testing.assert_allclose(ours, reference(XS, n), rtol=0, atol=tol(n))
    # Near 0 only the series is used (+ and * only): relative error of a few roundings.
    tiny = np.abs(XS) < 1e-3
    # atol: mpmath.diff's own error at 40 digits (odd orders at 0 come back as ~1e-57).
    np.testing.assert_allclose(ours[tiny], reference(XS[tiny], n), rtol=8 * EPS, atol=1e-30)


def test_mixed_modes_and_exact_values_at_zero():
    # f(u) = Σ (-1)ʲ u²ʲ/(2j+1)!: odd derivatives vanish at 0, the 2j-th is (-1)ʲ π²ʲ/(2j+1).
    at0 = np.zeros(1)
    expected = [0.0, -(math.pi**2) / 3, 0.0, math.pi**4 / 5]
    for n, value in enumerate(expected, start=1):
        for mode in (reverse, forward):
            np.testing.assert_allclose(nest(mode, n)(at0), [value], rtol=2 * EPS, atol=0)
    np.testing.assert_allclose(nest(mixed, 2)(XS), reference(XS, 4), rtol=0, atol=tol(4))
    np.testing.assert_allclose(
        cr.hessian(lambda x: cnp.sinc(x).sum())(XS),
        np.diag(reference(XS, 2)),
        rtol=0,
        atol=tol(2),
    )


def test_float32_and_higher_orders():
    x32 = XS.astype(np.float32)
    for n in (1, 2):
        out = nest(reverse, n)(x32)
        assert out.dtype == np.float32
        ref = reference(x32.astype(np.float64), n)
        eps32 = float(np.finfo(np.float32).eps)
        np.testing.assert_allclose(out, ref, rtol=2 * eps32, atol=2 * eps32 * math.pi**n)
    # The family goes on: order 8 at 0 is π⁸/9, and near 0 it matches the series.
    np.testing.assert_allclose(sinc_derivative(0.0, order=8), math.pi**8 / 9, rtol=2 * EPS)
    np.testing.assert_allclose(
        nest(forward, 6)(np.array([0.0, 0.2, 5.0])),
        reference(np.array([0.0, 0.2, 5.0]), 6),
        rtol=0,
        atol=tol(6),
    )


def test_rule_harness():
    check_rule(cnp.sinc, np.array([0.0, 1e-9, 0.3, -1.2, 2.0]))
    check_rule(lambda x: sinc_derivative(x, order=2), np.array([0.0, 1e-4, 0.7, -3.1]))
