"""Derivatives of the incomplete gamma and beta functions in their shape parameters, and of
the `scipy.stats` distributions built on them: accuracy against mpmath, every order through
`check_rule`, the edges of the support and the quantiles by the implicit function theorem."""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest
import scipy.special as sc

import chainrule as cr
from chainrule.scipy import special as S
from chainrule.scipy import stats
from chainrule.scipy.special._bessel import iv_dv
from chainrule.scipy.special._gamma import betainc_dab, gammainc_da
from rulecheck import check_rule

EPS = np.finfo(np.float64).eps
REFERENCE = mp.workdps(30)  # the references' working precision, for mpmath's difference quotients


def _close(got: float, want: float, scale: float, kappa: float, what: str) -> None:
    """`got` within ``64 eps kappa`` of `want`, relative to `scale` (the largest derivative
    the jet sums to get `want`, at least ``|want|``): `kappa` bounds the condition number of
    the evaluation (for the jets, the magnitudes of the logarithms summed in its prefactor)."""
    tol = 64 * EPS * kappa * max(abs(want), scale)
    assert abs(got - want) <= tol, f"{what}: {got!r} vs {want!r} (tol {tol:.2e})"


# ------------------------------------------------------------------- gammainc in a, vs mpmath

GAMMA_POINTS = [
    (a, x)
    for a in (1e-3, 0.1, 0.7, 1.0, 3.7, 30.0, 1000.0)
    for x in (1e-6, 0.05, 0.7, 1.0, 2.0, 0.9 * a, a, 1.1 * a, a + 1.0, 3 * a + 5, 40.0)
]


@REFERENCE
def _mp_gammainc_da(a: float, x: float, n: int) -> float:
    """From P where it is at most 1/2 and from Q = 1 - P elsewhere, so that mpmath's own
    difference quotients do not cancel (``∂P/∂a = -∂Q/∂a``)."""
    lower = mp.gammainc(a, 0, x, regularized=True) < 0.5
    if lower:
        return float(mp.diff(lambda t: mp.gammainc(t, 0, x, regularized=True), a, n))
    return -float(mp.diff(lambda t: mp.gammainc(t, x, mp.inf, regularized=True), a, n))


@pytest.mark.parametrize("order", [1, 2])
def test_gammainc_da_matches_mpmath(order: int) -> None:
    for a, x in GAMMA_POINTS:
        want = [_mp_gammainc_da(a, x, n) for n in range(1, order + 1)]
        got = float(gammainc_da(a, x, order=order))
        kappa = 1 + abs(a * math.log(x)) + x + abs(math.lgamma(a + 1))
        _close(got, want[-1], max(map(abs, want)), kappa, f"gammainc_da({a}, {x}, {order})")


def test_gammainc_a_derivative_to_third_order() -> None:
    """Each order in `a` is the next jet coefficient: the third derivative as well."""
    a, x = 2.5, 1.7
    d3 = cr.derivative(cr.derivative(cr.derivative(lambda a: S.gammainc(a, x))))(a)
    want = _mp_gammainc_da(a, x, 3)
    _close(float(d3), want, abs(want), 10.0, "third derivative")
    dq = cr.derivative(lambda a: S.gammaincc(a, x))(a)
    assert float(dq) == -float(gammainc_da(a, x))


# ---------------------------------------------------------------- betainc in a, b, vs mpmath

BETA_POINTS = [
    (a, b, x)
    for a in (1e-3, 0.5, 2.0, 30.0, 1000.0)
    for b in (1e-3, 0.7, 5.0, 1000.0)
    for x in (1e-6, 0.1, 0.5, 0.9, 1 - 1e-6, a / (a + b))
]


@REFERENCE
def _mp_betainc_d(a: float, b: float, x: float, i: int, j: int) -> float:
    """From ``I_x(a, b)`` where it is at most 1/2, else from ``I_(1-x)(b, a) = 1 - I_x(a, b)``."""
    if mp.betainc(a, b, 0, x, regularized=True) < 0.5:
        f = lambda s, t: mp.betainc(s, t, 0, x, regularized=True)
        return float(mp.diff(f, (a, b), (i, j)))
    g = lambda s, t: mp.betainc(t, s, 0, 1 - mp.mpf(x), regularized=True)
    return -float(mp.diff(g, (a, b), (i, j)))


@pytest.mark.parametrize("orders", [(1, 0), (0, 1), (1, 1), (2, 0), (0, 2)])
def test_betainc_dab_matches_mpmath(orders: tuple[int, int]) -> None:
    rng = np.random.default_rng(sum(orders) * 7 + orders[0])
    for k in rng.choice(len(BETA_POINTS), 40, replace=False):
        a, b, x = BETA_POINTS[k]
        want = _mp_betainc_d(a, b, x, *orders)
        scale = max(abs(_mp_betainc_d(a, b, x, *o)) for o in [(1, 0), (0, 1), orders])
        # the prefactor's logarithms; and 1/(a+b): when both parameters are small, log B's
        # second derivatives, ~ 1/(a+b)², cancel against products of its first ones
        logs = abs(a * math.log(x)) + abs(b * math.log1p(-x)) + abs(sc.betaln(a, b))
        kappa = 1 + logs + 1 / (a + b) ** 2
        got = float(betainc_dab(a, b, x, da=orders[0], db=orders[1]))
        _close(got, want, scale, kappa, f"betainc_dab({a}, {b}, {x}, {orders})")


def test_large_parameters_keep_their_digits() -> None:
    """Near the mean, where ``log x`` and ``ψ(a+1)`` (size ``log a``) differ by about
    ``1/sqrt(a)``, the first derivatives lose ``log(a) sqrt(a)`` ulps and no more: the
    prefactor's exponent, a sum of terms of size ``a log a``, is computed without them."""
    for a in (300.0, 1000.0):
        for x in (0.9 * a, a, 1.1 * a):
            tol = 4 * EPS * math.log(a) * math.sqrt(a)
            np.testing.assert_allclose(gammainc_da(a, x), _mp_gammainc_da(a, x, 1), rtol=tol)
    for a, b in ((1000.0, 1000.0), (60.0, 300.0), (1000.0, 50.0)):
        n = max(a, b)
        for x in (0.97 * a / (a + b), 1.01 * a / (a + b)):
            for da, db in ((1, 0), (0, 1)):
                want = _mp_betainc_d(a, b, x, da, db)
                got = betainc_dab(a, b, x, da=da, db=db)
                np.testing.assert_allclose(got, want, rtol=4 * EPS * math.log(n) * math.sqrt(n))


def test_one_parameter_dwarfing_the_other() -> None:
    """``ψ(b) - ψ(a+b)`` for ``a << b``, and ``log B(0.7, 1000)`` (which SciPy's `betaln`
    misses by 1e-12), are computed without cancellation: within the logarithms' ulps."""
    for a, b, x in ((0.7, 1000.0, 1e-4), (1000.0, 0.7, 0.9995), (0.001, 1000.0, 1e-6)):
        logs = abs(a * math.log(x)) + abs(b * math.log1p(-x)) + abs(sc.betaln(a, b))
        for da, db in ((1, 0), (0, 1), (0, 2)):
            want = _mp_betainc_d(a, b, x, da, db)
            got = betainc_dab(a, b, x, da=da, db=db)
            np.testing.assert_allclose(got, want, rtol=64 * EPS * (1 + logs))


# ----------------------------------------------------------------- every order, every mode


def test_rules_of_gammainc_in_a_and_x() -> None:
    a, x = np.array([0.4, 2.5, 9.0]), np.array([[0.3], [3.0]])
    check_rule(S.gammainc, a, x)
    check_rule(S.gammaincc, a, x)
    check_rule(S.gammainc, np.array(1.5), np.array(2.75))  # scalars, the continued fraction


def test_rules_of_betainc_in_a_b_and_x() -> None:
    a, b = np.array([0.6, 2.0, 7.5]), np.array([[1.5], [0.8]])
    check_rule(S.betainc, a, b, np.array([0.2, 0.55, 0.9]))
    check_rule(S.betainc, np.array(3.0), np.array(0.5), np.array(0.97))  # swapped branch


def test_rules_of_the_derivative_primitives() -> None:
    """The primitives' own rules: `x` by the density's derivatives, the parameters by the
    next jet coefficient (so the Hessian of a gradient in `a` is the third derivative)."""
    check_rule(lambda a, x: gammainc_da(a, x), np.array([0.8, 3.0]), np.array([1.2, 5.0]))
    check_rule(
        lambda a, b, x: betainc_dab(a, b, x, da=0, db=1),
        np.array([0.8, 3.0]),
        np.array([2.0, 1.3]),
        np.array([0.3, 0.8]),
    )


def test_edges_and_invalid_parameters() -> None:
    """0 at the ends of the support (the value is constant there), NaN where SciPy's value is."""
    d = cr.elementwise_grad(lambda a, x: S.gammainc(a, x))
    np.testing.assert_array_equal(d(np.full(2, 2.0), np.array([0.0, np.inf])), [0.0, 0.0])
    assert np.isnan(gammainc_da(-1.0, 2.0)) and np.isnan(gammainc_da(2.0, -1.0))
    db = cr.elementwise_grad(lambda b: S.betainc(2.0, b, np.array([0.0, 1.0])))
    np.testing.assert_array_equal(db(np.full(2, 3.0)), [0.0, 0.0])
    assert np.isnan(betainc_dab(2.0, 0.0, 0.5)) and np.isnan(betainc_dab(2.0, 1.0, 1.5))
    # the x-rule of the a-derivative at x = 0: 0 for a > 1, where x^(a-1) log x -> 0
    assert cr.grad(lambda x: gammainc_da(2.0, x))(0.0) == 0.0
    assert np.isnan(cr.grad(lambda x: gammainc_da(0.5, x))(0.0))


def test_float32_and_values_unchanged() -> None:
    a = np.array([0.5, 2.0], np.float32)
    assert gammainc_da(a, np.float32(1.0)).dtype == np.float32
    assert betainc_dab(a, a, np.float32(0.5), da=1, db=1).dtype == np.float32
    value, _ = cr.jvp(lambda a: S.betainc(a, 2.0, 0.3), (a,), (np.ones_like(a),))
    np.testing.assert_array_equal(value, sc.betainc(a, np.float32(2.0), np.float32(0.3)))


def test_no_convergence_is_an_error() -> None:
    with pytest.raises(ArithmeticError, match=r"scipy\.special\.gammainc .* did not converge"):
        gammainc_da(1e10, 1e10)


# ------------------------------------------------------------------------------ scipy.stats


@REFERENCE
def _t_cdf_ddf_mp(df: float, z: float) -> float:
    def tail(d: mp.mpf) -> mp.mpf:  # I_w(d/2, 1/2) / 2 at w = d / (d + z²): cdf below 0, sf above
        return mp.betainc(d / 2, 0.5, 0, d / (d + mp.mpf(z) ** 2), regularized=True) / 2

    return float(mp.diff(tail, df)) * (1 if z < 0 else -1)


def test_t_cdf_in_df_matches_mpmath() -> None:
    for df in (0.3, 2.5, 40.0, 900.0):
        for z in (-300.0, -2.0, -1e-7, 0.4, 3.0, 1e3):
            got = float(cr.grad(stats.t.cdf, argnums=1)(z, df))
            want = _t_cdf_ddf_mp(df, z)
            kappa = 1 + df * abs(math.log1p(z * z / df)) + abs(sc.betaln(df / 2, 0.5))
            psi = abs(sc.digamma(df / 2 + 0.5)) * (df + 1) if df > 1 else 0.0
            # the two terms -sign(z) ∂I/∂a / 4 and -f(z) z / (2 df) cancel near z = 0
            density_term = 0.5 * float(stats.t.pdf(z, df)) * abs(z) / df
            _close(got, want, density_term, kappa + psi, f"t.cdf in df at ({z}, {df})")


def test_t_cdf_at_zero_is_smooth_in_df() -> None:
    """F(0; df) = 1/2 for every df: its df-derivative is 0, and the mixed second derivative is
    the df-derivative of the density at 0, ``f(0) (ψ((df+1)/2) - ψ(df/2) - 1/df) / 2``."""
    df = 2.5
    h = cr.hessian(lambda v: stats.t.cdf(v[0], v[1]))(np.array([0.0, df]))
    f0 = math.exp(sc.gammaln((df + 1) / 2) - sc.gammaln(df / 2)) / math.sqrt(df * math.pi)
    mixed = f0 * (sc.digamma((df + 1) / 2) - sc.digamma(df / 2) - 1 / df) / 2
    np.testing.assert_allclose(h, [[0.0, mixed], [mixed, 0.0]], rtol=1e-13, atol=1e-16)


@pytest.mark.parametrize(
    ("family", "shapes"),
    [("gamma", (0.7,)), ("chi2", (3.0,)), ("t", (2.5,)), ("beta", (1.5, 0.8))],
)
def test_ppf_by_the_implicit_function_theorem(family: str, shapes: tuple[float, ...]) -> None:
    """``cdf(ppf(q, θ), θ) = q`` for every θ: its derivative in θ vanishes (to rounding)."""
    dist = getattr(stats, family)
    q = np.array([1e-6, 0.2, 0.5, 0.97])
    for k in range(len(shapes)):

        def round_trip(s: float, k: int = k) -> float:
            th = [*shapes[:k], s, *shapes[k + 1 :]]
            return dist.cdf(dist.ppf(q, *th), *th)

        g = cr.jacfwd(round_trip)(shapes[k])
        dppf = cr.jacfwd(lambda s, k=k: dist.ppf(q, *shapes[:k], s, *shapes[k + 1 :]))(shapes[k])
        pdf = dist.pdf(dist.ppf(q, *shapes), *shapes)
        # rounding of the two terms ∂F/∂θ and f ∂ppf/∂θ that cancel
        assert np.all(np.abs(g) <= 1e3 * EPS * (1 + np.abs(pdf * dppf))), (family, k, g)


def test_nbinom_cdf_in_its_real_n() -> None:
    """``nbinom.cdf(k, n, p) = I_p(n, k+1)``: differentiable in `n` now, as its logpmf is."""
    k, n, p = np.array([0.0, 2.0, 7.0]), 2.5, 0.4
    got = cr.jacfwd(lambda n: stats.nbinom.cdf(k, n, p))(n)
    np.testing.assert_allclose(got, betainc_dab(n, k + 1.0, p, da=1, db=0), rtol=1e-15)
    check_rule(lambda n: stats.nbinom.logsf(k, n, p), np.full(3, n))


# ------------------------------------------------------------------------------ iv in v


@REFERENCE
def _iv_series_size(v: float, x: float, n: int) -> tuple[float, float]:
    """``∂ⁿI_v/∂vⁿ`` by mpmath, and the sum of the magnitudes of its series' terms: their
    ratio is the cancellation the series suffers, the condition of its evaluation."""
    want = mp.diff(lambda t: mp.besseli(t, x), v, n)
    size = mp.nsum(
        lambda k: (
            abs(mp.diff(lambda t: (mp.mpf(x) / 2) ** (2 * k + t) * mp.rgamma(k + t + 1), v, n))
            / mp.factorial(k)
        ),
        [0, mp.inf],
    )
    return float(want), float(size)


def test_iv_dv_matches_mpmath() -> None:
    for v in (0.0, 0.3, 1.0, 7.0, -0.5):
        for x in (0.01, 1.0, 5.0, 8.0, 25.0):
            for n in (1, 2):
                want, size = _iv_series_size(v, x, n)
                if size > 1e6 * abs(want):
                    continue  # refused, below
                got = float(iv_dv(v, x, order=n))
                _close(got, want, abs(want), 4 * size / abs(want), f"iv_dv({v}, {x}, {n})")
    assert float(iv_dv(0.0, 2.0)) == pytest.approx(-sc.k0(2.0), rel=1e-14)  # -K_0 at v = 0


def test_iv_and_ive_rules_in_v_and_x() -> None:
    v, x = np.array([0.3, 1.5, 4.0]), np.array([[0.4], [2.5]])
    check_rule(S.iv, v, x)
    check_rule(S.ive, v, x)
    check_rule(lambda v, x: iv_dv(v, x), np.array([0.7, 2.0]), np.array([1.5, 0.3]))


def test_iv_in_v_refuses_where_the_series_cancels() -> None:
    with pytest.raises(ValueError, match=r"iv's derivative in `v` .* cancellation"):
        cr.grad(S.iv)(0.0, 30.0)
    with pytest.raises(ValueError, match=r"v > -1 and x >= 0"):
        cr.grad(S.ive)(1.5, -2.0)
    assert cr.grad(S.iv)(2.0, 0.0) == 0.0  # I_v(0) = 0 for every v > 0
