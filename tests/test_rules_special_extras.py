"""Derivative rules of the `scipy.special` functions added for autograd and jax.scipy users:
every function through `check_rule`, values against SciPy, closed-form derivatives, the
kink convention and the errors for arguments without a rule."""

from __future__ import annotations

import numpy as np
import pytest

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
