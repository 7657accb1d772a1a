"""Derivative rules of the `scipy.special` functions added for autograd and jax.scipy users:
every function through `check_rule`, values against SciPy, closed-form derivatives, the
kink convention and the errors for arguments without a rule."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.special as sc

import chainrule as cr
from chainrule.scipy import special as S
from rulecheck import check_rule


def normal(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def uniform(lo, hi, *shape, seed=0):
    return np.random.default_rng(seed).uniform(lo, hi, shape)


def pos(*shape, seed=0):
    return uniform(0.5, 3.0, *shape, seed=seed)


def with_first(fun, first):
    """``x -> fun(first, x)``: a constant order or shape parameter, in `x`'s float dtype."""
    return lambda x: fun(like(first, x), x)


def like(c, x):
    """A float constant `c` in the dtype of `x` (integer orders stay integers)."""
    arr = np.asarray(c)
    return arr.astype(x.dtype) if arr.dtype.kind == "f" else c


CASES = [
    # gamma family
    ("gamma", S.gamma, lambda: (pos(2, 3),)),
    ("gamma negative", S.gamma, lambda: (np.array([-0.5, -1.5, -2.3]),)),
    ("gamma scalar", S.gamma, lambda: (np.array(1.7),)),
    ("loggamma", S.loggamma, lambda: (pos(4),)),
    ("rgamma", S.rgamma, lambda: (uniform(-2.5, 3.0, 2, 3),)),
    ("beta", S.beta, lambda: (pos(2, 3), pos(2, 3, seed=1))),
    ("beta broadcast", S.beta, lambda: (pos(3, 1), pos(4, seed=1))),
    ("betaln", S.betaln, lambda: (pos(2, 3), pos(3, seed=1))),
    ("poch", S.poch, lambda: (pos(2, 3), uniform(-0.4, 2.0, 2, 3, seed=1))),
    ("gammainc x", with_first(S.gammainc, pos(3)), lambda: (pos(2, 3, seed=1),)),
    ("gammainc scalar", with_first(S.gammainc, np.array(1.5)), lambda: (np.array(0.8),)),
    ("gammaincc x", with_first(S.gammaincc, pos(3)), lambda: (pos(3, seed=1),)),
    (
        "betainc x",
        lambda x: S.betainc(like([1.5, 2.0, 3.5], x), like([[2.5], [1.2]], x), x),
        lambda: (uniform(0.1, 0.9, 2, 3),),
    ),
    ("zeta q", with_first(S.zeta, np.array([2.0, 3.5, 4.0])), lambda: (pos(2, 3),)),
    ("multigammaln", lambda a: S.multigammaln(a, 3), lambda: (uniform(1.5, 4.0, 2, 3),)),
    ("factorial", S.factorial, lambda: (uniform(0.2, 4.0, 2, 3),)),
    ("factorial negative", S.factorial, lambda: (np.array([-1.5, -0.5, 0.5, 2.0]),)),
    ("multigammaln d=1", lambda a: S.multigammaln(a, 1), lambda: (pos(4),)),
    # error-function family
    ("erfcx", S.erfcx, lambda: (3 * normal(2, 3),)),
    ("erfcx large", S.erfcx, lambda: (np.array([10.0, 30.0, 100.0]),)),
    ("erfcinv", S.erfcinv, lambda: (uniform(0.1, 1.9, 2, 3),)),
    ("ndtri", S.ndtri, lambda: (uniform(0.05, 0.95, 2, 3),)),
    ("ndtri scalar", S.ndtri, lambda: (np.array(0.3),)),
    ("dawsn", S.dawsn, lambda: (2 * normal(2, 3),)),
    ("owens_t", S.owens_t, lambda: (normal(2, 3), normal(2, 3, seed=1))),
    ("owens_t broadcast", S.owens_t, lambda: (normal(3, 1), normal(4, seed=1))),
    # Bessel functions
    ("i0", S.i0, lambda: (2 * normal(2, 3),)),
    ("i0e", S.i0e, lambda: (2 * normal(2, 3),)),
    ("i1", S.i1, lambda: (2 * normal(2, 3),)),
    ("i1e", S.i1e, lambda: (2 * normal(2, 3),)),
    ("iv", with_first(S.iv, np.array([0.5, 1.0, 2.5])), lambda: (pos(2, 3),)),
    ("ive", with_first(S.ive, np.array([0.0, 1.5, 3.0])), lambda: (pos(2, 3),)),
    ("jv", with_first(S.jv, np.array([0.5, 1.0, 2.5])), lambda: (pos(2, 3),)),
    ("jn", with_first(S.jn, 3), lambda: (3 * normal(4),)),
    ("yv", with_first(S.yv, np.array([0.5, 1.0, 2.5])), lambda: (pos(2, 3),)),
    ("yn", with_first(S.yn, np.array([0, 1, 2])), lambda: (pos(2, 3),)),
    ("kv", with_first(S.kv, np.array([0.5, 1.0, 2.5])), lambda: (pos(2, 3),)),
    ("j0", S.j0, lambda: (3 * normal(2, 3),)),
    ("j1", S.j1, lambda: (3 * normal(2, 3),)),
    ("y0", S.y0, lambda: (pos(2, 3),)),
    ("y1", S.y1, lambda: (pos(2, 3),)),
    ("k0", S.k0, lambda: (pos(2, 3),)),
    ("k1", S.k1, lambda: (pos(2, 3),)),
    ("j0 scalar", S.j0, lambda: (np.array(0.0),)),
    # entropies
    ("entr", S.entr, lambda: (pos(2, 3),)),
    ("rel_entr", S.rel_entr, lambda: (pos(2, 3), pos(2, 3, seed=1))),
    ("rel_entr broadcast", S.rel_entr, lambda: (pos(3, 1), pos(4, seed=1))),
    ("kl_div", S.kl_div, lambda: (pos(2, 3), pos(3, seed=1))),
    # exponential integrals
    ("expi", S.expi, lambda: (uniform(0.3, 3.0, 2, 3),)),
    ("expi negative", S.expi, lambda: (uniform(-3.0, -0.3, 4),)),
    ("exp1", S.exp1, lambda: (pos(2, 3),)),
    ("expn", with_first(S.expn, np.array([0, 1, 3])), lambda: (pos(2, 3),)),
    ("expn scalar", with_first(S.expn, 2), lambda: (np.array(1.3),)),
    # Box-Cox, in x and lambda, lambda near and at 0
    ("boxcox", S.boxcox, lambda: (pos(2, 3), normal(2, 3, seed=1))),
    ("boxcox lambda 0", S.boxcox, lambda: (pos(4), np.zeros(4))),
    ("boxcox lambda tiny", S.boxcox, lambda: (pos(4), np.array([1e-9, -1e-5, 0.03, -0.2]))),
    ("boxcox broadcast", S.boxcox, lambda: (pos(3, 1), normal(4, seed=1))),
    ("boxcox1p", S.boxcox1p, lambda: (uniform(-0.5, 2.0, 2, 3), normal(2, 3, seed=1))),
    ("boxcox1p lambda 0", S.boxcox1p, lambda: (uniform(-0.5, 2.0, 3), np.zeros(3))),
    # the rest
    ("spence", S.spence, lambda: (uniform(0.2, 3.0, 2, 3),)),
    ("spence at 1", S.spence, lambda: (np.array([1.0, 1.0 + 1e-9, 0.95, 1.05]),)),
    (
        "hyp1f1 x",
        lambda x: S.hyp1f1(like([0.5, 1.5, -0.7], x), like([1.5, 2.0, 3.0], x), x),
        lambda: (normal(2, 3),),
    ),
    ("sici", S.sici, lambda: (uniform(0.3, 5.0, 2, 3),)),
    ("sici si at 0", lambda x: S.sici(x)[0], lambda: (np.array([0.0, 1e-9, 2.0]),)),
    ("fresnel", S.fresnel, lambda: (2 * normal(2, 3),)),
    ("fresnel C", lambda x: S.fresnel(x)[1], lambda: (2 * normal(4),)),
]


@pytest.mark.parametrize(("name", "fun", "make_args"), CASES, ids=[c[0] for c in CASES])
def test_rule(name, fun, make_args):
    check_rule(fun, *make_args())


# ------------------------------------------------------------------------ values vs SciPy

UNARY = {
    "gamma": uniform(-2.5, 4.0, 7),
    "loggamma": pos(5),
    "rgamma": np.array([-2.0, -1.5, 0.0, 0.5, 3.0]),
    "gammasgn": uniform(-3.0, 3.0, 6),
    "erfcx": 10 * normal(5),
    "erfcinv": uniform(0.0, 2.0, 5),
    "ndtri": uniform(0.0, 1.0, 5),
    "dawsn": normal(5),
    "i0": normal(5),
    "i0e": normal(5),
    "i1": normal(5),
    "i1e": normal(5),
    "j0": normal(5),
    "j1": normal(5),
    "y0": pos(5),
    "y1": pos(5),
    "k0": pos(5),
    "k1": pos(5),
    "entr": uniform(-0.5, 2.0, 6),
    "expi": normal(5),
    "exp1": pos(5),
    "spence": pos(5),
    "sici": normal(5),
    "fresnel": normal(5),
}
BINARY = {
    "beta": (pos(5), pos(5, seed=1)),
    "betaln": (pos(5), pos(5, seed=1)),
    "poch": (pos(5), normal(5, seed=1)),
    "gammainc": (pos(5), pos(5, seed=1)),
    "gammaincc": (pos(5), pos(5, seed=1)),
    "zeta": (uniform(1.5, 4.0, 5), pos(5, seed=1)),
    "owens_t": (normal(5), normal(5, seed=1)),
    "iv": (normal(5), pos(5, seed=1)),
    "ive": (normal(5), normal(5, seed=1)),
    "jv": (normal(5), pos(5, seed=1)),
    "jn": (np.arange(5), normal(5, seed=1)),
    "yv": (normal(5), pos(5, seed=1)),
    "yn": (np.arange(5), pos(5, seed=1)),
    "kv": (normal(5), pos(5, seed=1)),
    "rel_entr": (uniform(-0.5, 2.0, 6), uniform(-0.5, 2.0, 6, seed=1)),
    "kl_div": (uniform(-0.5, 2.0, 6), uniform(-0.5, 2.0, 6, seed=1)),
    "expn": (np.arange(5), pos(5, seed=1)),
    "boxcox": (pos(5), normal(5, seed=1)),
    "boxcox1p": (pos(5), normal(5, seed=1)),
    "multigammaln": (uniform(2.0, 4.0, 5), 3),
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_values_match_scipy(name):
    x = UNARY[name]
    with np.errstate(all="ignore"):
        ref = getattr(sc, name)(x)
        np.testing.assert_array_equal(getattr(S, name)(x), ref)
        if name != "gammasgn":
            traced, _ = cr.jvp(getattr(S, name), (x,), (np.ones_like(x),))
            np.testing.assert_array_equal(traced, ref)


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_values_match_scipy(name):
    args = BINARY[name]
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(getattr(S, name)(*args), getattr(sc, name)(*args))


def test_three_argument_and_riemann_values_match_scipy():
    a, b, x = pos(5), pos(5, seed=1), uniform(0.0, 1.0, 5, seed=2)
    np.testing.assert_array_equal(S.betainc(a, b, x), sc.betainc(a, b, x))
    np.testing.assert_array_equal(S.hyp1f1(a, b, x), sc.hyp1f1(a, b, x))
    np.testing.assert_array_equal(S.zeta(a + 1.0), sc.zeta(a + 1.0))


@pytest.mark.parametrize("name", ["yn", "expn", "multigammaln"])
def test_integer_order_keeps_float32(name):
    """SciPy computes these in float64 for an integer order; float32 stays float32 here."""
    x = np.array([2.5, 3.0], np.float32)
    args = (x, 2) if name == "multigammaln" else (2, x)
    out = getattr(S, name)(*args)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, getattr(sc, name)(*args), rtol=1e-6)


# ---------------------------------------------------------------------- derivative values


def test_closed_form_derivatives():
    d = cr.elementwise_grad
    x = uniform(0.5, 3.0, 5)
    np.testing.assert_allclose(d(S.gamma)(x), sc.gamma(x) * sc.digamma(x), rtol=1e-14)
    np.testing.assert_allclose(d(d(S.loggamma))(x), sc.polygamma(1, x), rtol=1e-14)
    np.testing.assert_allclose(d(S.i0)(x), sc.i1(x), rtol=1e-14)
    np.testing.assert_allclose(d(S.j0)(x), -sc.j1(x), rtol=1e-14)
    np.testing.assert_allclose(d(S.k0)(x), -sc.k1(x), rtol=1e-14)
    # I1' = I0 - I1/x, J1' = J0 - J1/x: the recurrences used agree
    np.testing.assert_allclose(d(S.i1)(x), sc.i0(x) - sc.i1(x) / x, rtol=1e-13)
    np.testing.assert_allclose(d(S.j1)(x), sc.j0(x) - sc.j1(x) / x, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(d(S.i0e)(x), sc.i1e(x) - sc.i0e(x), rtol=1e-13)
    np.testing.assert_allclose(d(S.exp1)(x), -np.exp(-x) / x, rtol=1e-14)
    np.testing.assert_allclose(d(S.entr)(x), -np.log(x) - 1.0, rtol=1e-14)
    np.testing.assert_allclose(
        d(S.erfcinv)(x / 2), -np.sqrt(np.pi) / 2 * np.exp(sc.erfcinv(x / 2) ** 2), rtol=1e-13
    )
    gx = cr.grad(lambda x: np.sum(S.gammainc(2.5, x)))(x)
    np.testing.assert_allclose(gx, x**1.5 * np.exp(-x) / sc.gamma(2.5), rtol=1e-13)


def test_erfcx_far_right_is_finite():
    """erfcx' = 2x erfcx - 2/√π ~ -1/(√π x²) where erfc itself underflows."""
    x = np.array([30.0, 1e3])
    d = cr.elementwise_grad(S.erfcx)(x)
    np.testing.assert_allclose(d, -1 / (np.sqrt(np.pi) * x**2), rtol=2e-3)


def test_rgamma_through_its_zeros():
    n = np.arange(5.0)
    d = cr.elementwise_grad(S.rgamma)(-n)
    np.testing.assert_allclose(d, (-1.0) ** n * sc.factorial(n), rtol=1e-13)
    # second derivative at 0: 1/Γ(x) = x + γ x² + ...
    d2 = cr.derivative(cr.derivative(S.rgamma))(0.0)
    np.testing.assert_allclose(d2, 2 * np.euler_gamma, rtol=1e-13)


def test_kink_of_scaled_bessel_at_zero():
    """e^(-|x|) I0(x) has one-sided slopes ∓1 at 0: the derivative there is their mean, 0."""
    assert cr.grad(S.i0e)(0.0) == 0.0
    assert cr.derivative(S.i0e)(0.0) == 0.0
    assert cr.grad(lambda x: S.ive(0.0, x))(0.0) == 0.0
    assert cr.grad(S.i1e)(0.0) == 0.5  # smooth there


def test_removable_points():
    """spence' at 1, Si' at 0 and boxcox's lambda-derivative at 0 are their limits."""
    assert cr.grad(S.spence)(1.0) == -1.0
    np.testing.assert_allclose(cr.derivative(cr.derivative(S.spence))(1.0), 0.5, rtol=1e-14)
    assert cr.grad(lambda x: S.sici(x)[0])(0.0) == 1.0
    x = np.array([0.5, 2.0, 7.0])
    dl = cr.grad(lambda lam: np.sum(S.boxcox(x, lam)))(np.zeros(3))
    np.testing.assert_allclose(dl, np.log(x) ** 2 / 2, rtol=1e-15)
    # just off 0 the series and the closed form agree with a high-precision reference
    for lam in (0.099, 0.101, 1e-7):
        lx = np.log(7.0)
        u = lam * lx
        ref = lx**2 * sum((k + 1) * u**k / math.factorial(k + 2) for k in range(30))
        np.testing.assert_allclose(cr.grad(S.boxcox, argnums=1)(7.0, lam), ref, rtol=1e-14)


def test_factorial():
    n = np.array([-2.0, -0.5, 0.0, 2.5, 4.0])
    np.testing.assert_array_equal(S.factorial(n), sc.factorial(n))
    assert S.factorial(np.array([3, 4]), exact=True).tolist() == [6, 24]
    d = cr.elementwise_grad(S.factorial)(n)
    expected = np.where(n < 0, 0.0, sc.gamma(n + 1) * sc.digamma(n + 1))
    np.testing.assert_allclose(d, expected, rtol=1e-14)
    for kwargs in ({"exact": True}, {"extend": "complex"}):
        with pytest.raises(TypeError, match=r"scipy\.special\.factorial .* `n`"):
            cr.grad(lambda n, kwargs=kwargs: S.factorial(n, **kwargs))(2.0)


def test_gammasgn_has_zero_derivative():
    np.testing.assert_array_equal(S.bernoulli(6), sc.bernoulli(6))
    assert cr.grad(lambda x: S.gammasgn(x) * x)(-1.5) == sc.gammasgn(-1.5)


# ------------------------------------------------------------------------------------ errors

NOT_DIFFERENTIABLE = [
    ("zeta", "x", lambda x: S.zeta(x, 2.0)),
    ("zeta", "x", S.zeta),
    ("jv", "v", lambda v: S.jn(v, 1.0)),
    ("yv", "v", lambda v: S.yv(v, 1.0)),
    ("kv", "v", lambda v: S.kv(v, 1.0)),
    ("yn", "n", lambda n: S.yn(n, 1.0)),
    ("expn", "n", lambda n: S.expn(n, 1.0)),
    ("multigammaln", "d", lambda d: S.multigammaln(3.0, d)),
    ("hyp1f1", "a", lambda a: S.hyp1f1(a, 2.0, 0.5)),
    ("hyp1f1", "b", lambda b: S.hyp1f1(1.0, b, 0.5)),
]


@pytest.mark.parametrize(
    ("name", "arg", "fun"), NOT_DIFFERENTIABLE, ids=[f"{c[0]}-{c[1]}" for c in NOT_DIFFERENTIABLE]
)
@pytest.mark.parametrize("transform", [cr.grad, cr.derivative])
def test_argument_without_rule_is_named(name, arg, fun, transform):
    with pytest.raises(
        TypeError, match=rf"scipy\.special\.{name} is not differentiable with respect to `{arg}`"
    ):
        transform(fun)(2.0)
