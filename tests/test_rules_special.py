"""Derivative rules of `chainrule.scipy.special`: every function through `check_rule`, plus
values against SciPy, numerical stability at extreme inputs, and the documented conventions."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.special as sc

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.scipy import special
from rulecheck import check_rule


def normal(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def uniform(lo, hi, *shape, seed=0):
    return np.random.default_rng(seed).uniform(lo, hi, shape)


S = special
CASES = [
    # elementwise, one argument, inside each function's domain
    ("expit scalar", S.expit, lambda: (np.array(0.7),)),
    ("expit vector", S.expit, lambda: (3 * normal(5),)),
    ("expit matrix", S.expit, lambda: (3 * normal(2, 3),)),
    ("logit", S.logit, lambda: (uniform(0.05, 0.95, 2, 3),)),
    ("logit scalar", S.logit, lambda: (np.array(0.3),)),
    ("erf", S.erf, lambda: (normal(2, 3),)),
    ("erf scalar", S.erf, lambda: (np.array(-0.4),)),
    ("erfc", S.erfc, lambda: (normal(4),)),
    ("erfinv", S.erfinv, lambda: (uniform(-0.9, 0.9, 2, 3),)),
    ("ndtr", S.ndtr, lambda: (2 * normal(2, 3),)),
    ("log_ndtr", S.log_ndtr, lambda: (3 * normal(6),)),
    ("log_ndtr tail", S.log_ndtr, lambda: (np.array([-12.0, -5.0, 4.0]),)),
    ("gammaln", S.gammaln, lambda: (uniform(0.5, 4.0, 2, 3),)),
    ("gammaln negative", S.gammaln, lambda: (np.array([-0.5, -1.3, -2.6]),)),
    ("digamma", S.digamma, lambda: (uniform(0.5, 4.0, 2, 3),)),
    ("digamma scalar", S.digamma, lambda: (np.array(1.7),)),
    ("polygamma 0", lambda x: S.polygamma(0, x), lambda: (uniform(1.0, 3.0, 4),)),
    ("polygamma 1", lambda x: S.polygamma(1, x), lambda: (uniform(1.0, 3.0, 2, 3),)),
    ("polygamma 3", lambda x: S.polygamma(3, x), lambda: (uniform(1.0, 3.0, 4),)),
    (
        "polygamma n array",
        lambda x: S.polygamma(np.array([1, 2]), x),
        lambda: (uniform(1.0, 3.0, 3, 1),),
    ),
    # two arguments, with broadcasting
    ("xlogy", S.xlogy, lambda: (normal(2, 3), uniform(0.5, 3.0, 2, 3, seed=1))),
    ("xlogy scalar", S.xlogy, lambda: (np.array(1.5), np.array(0.7))),
    ("xlogy broadcast", S.xlogy, lambda: (normal(3, 1), uniform(0.5, 3.0, 4, seed=1))),
    ("xlog1py", S.xlog1py, lambda: (normal(2, 3), uniform(-0.5, 2.0, 2, 3, seed=1))),
    ("xlog1py broadcast", S.xlog1py, lambda: (normal(4), uniform(-0.5, 2.0, 3, 1, seed=1))),
    # logsumexp: axes, keepdims, b
    ("logsumexp scalar", S.logsumexp, lambda: (np.array(0.3),)),
    ("logsumexp vector", S.logsumexp, lambda: (normal(5),)),
    ("logsumexp all", S.logsumexp, lambda: (normal(2, 3, 4),)),
    ("logsumexp axis 0", lambda a: S.logsumexp(a, axis=0), lambda: (normal(2, 3, 4),)),
    (
        "logsumexp axis -1 keepdims",
        lambda a: S.logsumexp(a, axis=-1, keepdims=True),
        lambda: (normal(2, 3, 4),),
    ),
    ("logsumexp axis tuple", lambda a: S.logsumexp(a, axis=(0, 2)), lambda: (normal(2, 3, 4),)),
    (
        "logsumexp axis None keepdims",
        lambda a: S.logsumexp(a, keepdims=True),
        lambda: (normal(3, 4),),
    ),
    (
        "logsumexp b",
        lambda a, b: S.logsumexp(a, axis=1, b=b),
        lambda: (normal(3, 4), uniform(0.5, 2.0, 3, 4, seed=1)),
    ),
    (
        "logsumexp b broadcast",
        lambda a, b: S.logsumexp(a, axis=-1, b=b, keepdims=True),
        lambda: (normal(2, 3, 4), uniform(0.5, 2.0, 4, seed=1)),
    ),
    (
        "logsumexp b wider than a",
        lambda a, b: S.logsumexp(a, axis=0, b=b),
        lambda: (normal(3, 1), uniform(0.5, 2.0, 1, 4, seed=1)),
    ),
    (
        "logsumexp signed",
        lambda a, b: S.logsumexp(a, axis=1, b=b, return_sign=True)[0],
        lambda: (normal(2, 3), np.array([[1.0, -0.5, 0.3], [-2.0, 0.4, 0.2]])),
    ),
    # softmax and log_softmax: SciPy's axis=None is over all entries
    ("softmax scalar", S.softmax, lambda: (np.array(0.3),)),
    ("softmax vector", S.softmax, lambda: (normal(5),)),
    ("softmax all", S.softmax, lambda: (normal(3, 4),)),
    ("softmax axis 0", lambda x: S.softmax(x, axis=0), lambda: (normal(3, 4),)),
    ("softmax axis -1", lambda x: S.softmax(x, axis=-1), lambda: (normal(2, 3, 4),)),
    ("softmax axis tuple", lambda x: S.softmax(x, axis=(0, 2)), lambda: (normal(2, 3, 4),)),
    ("log_softmax vector", S.log_softmax, lambda: (normal(5),)),
    ("log_softmax all", S.log_softmax, lambda: (normal(3, 4),)),
    ("log_softmax axis 1", lambda x: S.log_softmax(x, axis=1), lambda: (normal(3, 4),)),
    (
        "log_softmax axis tuple",
        lambda x: S.log_softmax(x, axis=(-1, 0)),
        lambda: (normal(2, 3, 4),),
    ),
]


@pytest.mark.parametrize(("name", "fun", "make_args"), CASES, ids=[c[0] for c in CASES])
def test_rule(name, fun, make_args):
    check_rule(fun, *make_args())


# ------------------------------------------------------------------------ values vs SciPy

UNARY = {
    "expit": normal(2, 3),
    "logit": uniform(0.05, 0.95, 4),
    "erf": normal(4),
    "erfc": normal(4),
    "erfinv": uniform(-0.9, 0.9, 4),
    "ndtr": normal(4),
    "log_ndtr": 5 * normal(4),
    "gammaln": uniform(0.5, 4.0, 4),
    "digamma": uniform(0.5, 4.0, 4),
    "softmax": normal(2, 3),
    "log_softmax": normal(2, 3),
    "logsumexp": normal(2, 3),
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_values_match_scipy(name):
    x = UNARY[name]
    ours, ref = getattr(special, name), getattr(sc, name)
    np.testing.assert_array_equal(ours(x), ref(x))
    traced, _ = cr.jvp(ours, (x,), (np.ones_like(x),))
    np.testing.assert_allclose(traced, ref(x), rtol=1e-15)
    assert ours(x.astype(np.float32)).dtype == ref(x.astype(np.float32)).dtype == np.float32


def test_two_argument_values_match_scipy():
    x, y = np.array([0.0, 0.0, 2.0, -1.5]), np.array([0.0, 3.0, 0.5, 2.0])
    np.testing.assert_array_equal(special.xlogy(x, y), sc.xlogy(x, y))
    np.testing.assert_array_equal(special.xlog1py(x, y - 1.0), sc.xlog1py(x, y - 1.0))
    a, b = normal(3, 4), uniform(-1.0, 2.0, 4)
    ours = special.logsumexp(a, axis=1, b=b, keepdims=True, return_sign=True)
    ref = sc.logsumexp(a, axis=1, b=b, keepdims=True, return_sign=True)
    np.testing.assert_array_equal(ours[0], ref[0])
    np.testing.assert_array_equal(ours[1], ref[1])
    np.testing.assert_array_equal(special.polygamma(2, y + 1.0), sc.polygamma(2, y + 1.0))


def test_polygamma_keeps_float32():
    x = np.array([0.5, 2.0], np.float32)
    assert sc.polygamma(1, x).dtype == np.float64  # what SciPy does
    out = special.polygamma(1, x)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, sc.polygamma(1, x.astype(np.float64)), rtol=1e-6)
    assert cr.elementwise_grad(special.digamma)(x).dtype == np.float32
    np.testing.assert_allclose(
        cr.elementwise_grad(special.digamma)(x), [math.pi**2 / 2, math.pi**2 / 6 - 1.0], rtol=1e-6
    )


# ---------------------------------------------------------------------- derivative values


def test_digamma_derivatives_are_polygamma():
    x = np.array([0.5, 1.0, 3.0])
    d = cr.elementwise_grad
    np.testing.assert_allclose(d(special.gammaln)(x), sc.digamma(x), rtol=1e-14)
    np.testing.assert_allclose(d(d(special.gammaln))(x), sc.polygamma(1, x), rtol=1e-14)
    np.testing.assert_allclose(d(d(d(special.gammaln)))(x), sc.polygamma(2, x), rtol=1e-14)
    third = cr.derivative(cr.derivative(cr.derivative(special.digamma)))
    np.testing.assert_allclose(third(x), sc.polygamma(3, x), rtol=1e-14)


def test_closed_form_derivatives():
    x = np.array([-1.2, 0.0, 0.7])
    d = cr.elementwise_grad
    gauss = np.exp(-x * x) * 2 / np.sqrt(np.pi)
    np.testing.assert_allclose(d(special.erf)(x), gauss, rtol=1e-14)
    np.testing.assert_allclose(d(special.erfc)(x), -gauss, rtol=1e-14)
    np.testing.assert_allclose(d(special.erfinv)(special.erf(x)), 1 / gauss, rtol=1e-13)
    phi = np.exp(-x * x / 2) / np.sqrt(2 * np.pi)
    np.testing.assert_allclose(d(special.ndtr)(x), phi, rtol=1e-14)
    np.testing.assert_allclose(d(special.log_ndtr)(x), phi / sc.ndtr(x), rtol=1e-13)
    p = np.array([0.1, 0.5, 0.8])
    np.testing.assert_allclose(d(special.logit)(p), 1 / (p * (1 - p)), rtol=1e-14)


def test_softmax_jacobian_is_p_delta_minus_p():
    x = np.array([0.5, -1.0, 2.0, 0.1])
    p = sc.softmax(x)
    expected = np.diag(p) - np.outer(p, p)
    np.testing.assert_allclose(cr.jacobian(special.softmax)(x), expected, rtol=1e-14, atol=1e-16)
    np.testing.assert_allclose(cr.jacfwd(special.softmax)(x), expected, rtol=1e-14, atol=1e-16)
    # Rows of a matrix along axis 1: one such block per row, zero across rows.
    m = np.stack([x, x[::-1]])
    jac = cr.jacobian(lambda m: special.softmax(m, axis=1))(m)
    for i in range(2):
        q = sc.softmax(m[i])
        np.testing.assert_allclose(jac[i, :, i], np.diag(q) - np.outer(q, q), atol=1e-16)
        np.testing.assert_array_equal(jac[i, :, 1 - i], 0.0)


def test_log_softmax_jacobian():
    x = np.array([0.5, -1.0, 2.0])
    p = sc.softmax(x)
    expected = np.eye(3) - p[None, :]
    np.testing.assert_allclose(cr.jacrev(special.log_softmax)(x), expected, rtol=1e-14)
    np.testing.assert_allclose(cr.jacfwd(special.log_softmax)(x), expected, rtol=1e-14)


def test_logsumexp_gradients_in_a_and_b():
    a, b = np.array([0.2, -0.4, 1.1]), np.array([1.5, -0.5, 0.7])
    s = np.sum(b * np.exp(a))
    grad_a, grad_b = cr.grad(special.logsumexp, argnums=(0, 2))(a, None, b)
    np.testing.assert_allclose(grad_a, b * np.exp(a) / s, rtol=1e-14)
    np.testing.assert_allclose(grad_b, np.exp(a) / s, rtol=1e-14)
    # A negative weighted sum with return_sign: d log|s| = d s / s.
    b = np.array([-3.0, 0.5, 0.7])
    s = np.sum(b * np.exp(a))
    (out, sign), vjp_fn = cr.vjp(lambda a, b: special.logsumexp(a, b=b, return_sign=True), a, b)
    assert type(sign) is np.float64 and sign == -1.0
    # s cancels: both sides know it to ulps of sum |b e^a|, i.e. relatively to ulps times
    # cond = sum |b e^a| / |s| (5 here); log |s| to that much absolutely.
    cond = np.sum(abs(b) * np.exp(a)) / abs(s)
    np.testing.assert_allclose(out, np.log(-s), rtol=0, atol=1e-14 * cond)
    grad_a, grad_b = vjp_fn((1.0, 0.0))
    np.testing.assert_allclose(grad_a, b * np.exp(a) / s, rtol=1e-14 * cond)
    np.testing.assert_allclose(grad_b, np.exp(a) / s, rtol=1e-14 * cond)
    _, (t_out, t_sign) = cr.jvp(
        lambda a: special.logsumexp(a, b=b, return_sign=True), (a,), (np.array([1.0, 0.0, 0.0]),)
    )
    np.testing.assert_allclose(t_out, b[0] * np.exp(a[0]) / s, rtol=1e-14 * cond)
    assert t_sign == 0.0


# -------------------------------------------------------------------------------- stability


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_logsumexp_softmax_at_large_scale(dtype):
    big = np.array([1000.0, 2000.0, 3000.0], dtype)
    assert special.logsumexp(big) == 3000.0
    np.testing.assert_array_equal(cr.grad(special.logsumexp)(big), [0.0, 0.0, 1.0])
    np.testing.assert_array_equal(cr.hessian(special.logsumexp)(big), np.zeros((3, 3)))
    np.testing.assert_array_equal(special.softmax(big), [0.0, 0.0, 1.0])
    np.testing.assert_array_equal(cr.jacobian(special.softmax)(big), np.zeros((3, 3)))
    np.testing.assert_array_equal(special.log_softmax(big), [-2000.0, -1000.0, 0.0])
    np.testing.assert_array_equal(
        cr.jacfwd(special.log_softmax)(big), [[1.0, 0.0, -1.0], [0.0, 1.0, -1.0], [0.0, 0.0, 0.0]]
    )
    small = np.array([-1000.0, 0.0], dtype)
    assert special.logsumexp(small) == 0.0
    np.testing.assert_array_equal(cr.grad(special.logsumexp)(small), [0.0, 1.0])
    np.testing.assert_array_equal(special.log_softmax(small), [-1000.0, 0.0])
    np.testing.assert_array_equal(cr.jacrev(special.log_softmax)(small), [[1.0, -1.0], [0, 0]])
    np.testing.assert_array_equal(cr.jacfwd(special.softmax)(small), np.zeros((2, 2)))
    for jac in (cr.jacfwd, cr.jacrev):
        assert jac(special.log_softmax)(small).dtype == dtype


def test_shift_invariance_far_from_zero():
    """Derivatives of softmax and friends at x + 1000 equal those at x (no overflow)."""
    x = np.array([0.3, -0.2, 1.0])
    for shift in (1000.0, -1000.0):
        np.testing.assert_allclose(
            special.logsumexp(x + shift), special.logsumexp(x) + shift, rtol=1e-15
        )
        for f in (special.logsumexp, special.softmax, special.log_softmax):
            np.testing.assert_allclose(cr.jacfwd(f)(x + shift), cr.jacrev(f)(x), atol=1e-12)
        np.testing.assert_allclose(
            cr.hessian(special.logsumexp)(x + shift), cr.hessian(special.logsumexp)(x), atol=1e-12
        )


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_expit_tails(dtype):
    x = np.array([-800.0, -40.0, 40.0, 800.0], dtype)
    np.testing.assert_array_equal(special.expit(x[[0, 3]]), [0.0, 1.0])
    d1 = cr.elementwise_grad(special.expit)(x)
    d2 = cr.elementwise_grad(cr.elementwise_grad(special.expit))(x)
    e = math.exp(-40.0)
    s = 1 / (1 + e)  # expit(40)
    # s(1-s) = e / (1 + e)^2 at ±40 without cancellation, exactly 0 (underflow) at ±800.
    np.testing.assert_allclose(d1, [0.0, e * s * s, e * s * s, 0.0], rtol=1e-6, atol=0)
    # (s(1-s))' = s(1-s)(1-2s): +e at -40, -e at +40 to first order.
    np.testing.assert_allclose(
        d2, [0.0, e * s * s * (1 - 2 * e * s), -e * s * s * (1 - 2 * e * s), 0.0], rtol=1e-6, atol=0
    )
    assert d1.dtype == d2.dtype == dtype
    fwd = cr.derivative(special.expit)(x)
    np.testing.assert_array_equal(fwd, d1)


def test_log_ndtr_far_tail():
    x = np.array([-40.0, 40.0])
    d = cr.elementwise_grad(special.log_ndtr)(x)
    assert np.isfinite(d).all()
    # phi/Phi ~ -x - 1/x ... for x -> -inf (Mills ratio); 0 (underflow) far right.
    np.testing.assert_allclose(d[0], 40.0 + 1 / 40 - 2 / 40**3, rtol=1e-7)
    assert d[1] == 0.0


# ------------------------------------------------------------------------------ conventions


@pytest.mark.parametrize(("fun", "pole"), [(special.xlogy, 0.0), (special.xlog1py, -1.0)])
def test_xlog_at_zero(fun, pole):
    x, y = np.zeros(3), np.array([pole, pole - 1.0, pole + 2.0])
    np.testing.assert_array_equal(fun(x, y), [0.0, 0.0, 0.0])
    gx, gy = cr.grad(lambda x, y: cnp.sum(fun(x, y)), argnums=(0, 1))(x, y)
    # 0 at and past the pole by convention; the true log(y - pole + ...) beyond it.
    np.testing.assert_array_equal(gx, [0.0, 0.0, math.log(2.0)])
    np.testing.assert_array_equal(gy, [0.0, 0.0, 0.0])
    _, tx = cr.jvp(fun, (x, y), (np.ones(3), np.ones(3)))
    np.testing.assert_array_equal(tx, [0.0, 0.0, math.log(2.0)])
    hess = cr.hessian(lambda v: cnp.sum(fun(v[0], v[1])))(np.stack([x, y]))
    assert np.isfinite(hess).all()
    # Entropy-like use: gradient of sum(x log x) is finite at 0.
    g = cr.grad(lambda p: cnp.sum(fun(p, p + pole)))(np.array([0.0, 0.5]))
    np.testing.assert_allclose(g, [0.0, math.log(0.5) + 1.0], rtol=1e-15)


def test_xlogy_true_infinities_at_the_pole():
    with np.errstate(divide="ignore"):
        gx, gy = cr.grad(special.xlogy, argnums=(0, 1))(2.0, 0.0)
    assert gx == -np.inf and gy == np.inf


# ------------------------------------------------------------------------------------ errors


def test_polygamma_order_not_differentiable():
    with pytest.raises(TypeError, match="not differentiable with respect to its argument 0"):
        cr.grad(lambda n: special.polygamma(n, 0.5))(1.0)


def test_import_chainrule_does_not_import_scipy():
    src = Path(cr.__file__).resolve().parents[1]
    code = (
        "import sys, chainrule\n"
        "assert not any(m == 'scipy' or m.startswith('scipy.') for m in sys.modules)\n"
        "import chainrule.scipy\n"
        "assert 'scipy' not in sys.modules\n"
        "assert chainrule.scipy.special.expit(0.0) == 0.5\n"
    )
    env = {**os.environ, "PYTHONPATH": str(src)}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("scale", [1e7, 1e30, -1e30])
def test_softmax_weights_at_large_magnitude_sum_to_one(dtype, scale):
    """The weights come from ``exp(x - max)``, never from the rounded ``logsumexp`` value
    (float32 at 1e7 used to give ``e⁻¹`` each for a tie, summing to 0.74)."""
    x = np.array([scale, scale, scale - abs(scale) * 1e-7], dtype)  # a tie and a near-tie
    shifted = x.astype(np.float64) - float(x.max())  # exact: Sterbenz
    p = np.exp(shifted) / np.exp(shifted).sum()
    tol = 8 * np.finfo(dtype).eps
    for g in (
        cr.grad(special.logsumexp)(x),
        cr.jacfwd(special.logsumexp)(x),
        cr.grad(lambda x: special.logsumexp(x, b=np.ones(3, dtype)))(x),
        cr.grad(lambda x: special.logsumexp(x, b=np.ones(3, dtype), return_sign=True)[0])(x),
    ):
        assert g.dtype == dtype
        np.testing.assert_allclose(g, p, rtol=tol, atol=0)
        assert abs(float(g.sum()) - 1.0) <= tol
    hess = cr.hessian(special.logsumexp)(x)
    np.testing.assert_allclose(hess, np.diag(p) - np.outer(p, p), rtol=tol, atol=tol)
    # softmax and log_softmax: their Jacobians are built from the same weights.
    for jac in (cr.jacrev, cr.jacfwd):
        np.testing.assert_allclose(
            jac(special.softmax)(x), np.diag(p) - np.outer(p, p), rtol=tol, atol=tol
        )
        np.testing.assert_allclose(
            jac(special.log_softmax)(x), np.eye(3) - p[None, :], rtol=tol, atol=tol
        )


def test_logsumexp_weights_ignore_entries_with_zero_weight():
    """A huge `a` whose `b` is 0 does not shift the weights into underflow (SciPy's rule)."""
    a, b = np.array([1000.0, 0.0, 1.0]), np.array([0.0, 1.0, 2.0])
    s = 1.0 + 2.0 * math.e
    grad_a = cr.grad(lambda a: special.logsumexp(a, b=b))(a)
    np.testing.assert_allclose(grad_a, [0.0, 1.0 / s, 2.0 * math.e / s], rtol=1e-15)
    check_rule(lambda a: special.logsumexp(a, b=b.astype(a.dtype)), np.array([3.0, 0.0, 1.0]))


# ------------------------------------------------------------------------------ vmap


@pytest.mark.parametrize("prim", ["softmax", "log_softmax", "_logsumexp"])
def test_softmax_family_under_vmap_is_one_call(prim, monkeypatch):
    """On the per-example-gradient hot path: a batch is one call over shifted axes, with
    the batch on the very axis one example reduces over (in_axes=-1, axis=-1)."""
    module = special._basic
    calls = []
    primitive = getattr(module, prim)
    impl = primitive.impl
    monkeypatch.setattr(primitive, "impl", lambda *a, **k: calls.append(k) or impl(*a, **k))
    x = np.random.default_rng(3).standard_normal((4, 5))  # examples on the last axis
    one = {"softmax": special.softmax, "log_softmax": special.log_softmax,
           "_logsumexp": special.logsumexp}[prim]  # fmt: skip
    got = cr.vmap(lambda v: one(v, axis=-1), in_axes=-1)(x)
    assert len(calls) == 1
    want = np.stack([one(x[:, i], axis=-1) for i in range(5)])
    np.testing.assert_allclose(got, want, rtol=1e-14)


def test_logsumexp_under_vmap_with_batched_weights_and_sign():
    """`b` batched beside a shared `a`, axis=None (every axis of one example), return_sign."""
    rng = np.random.default_rng(4)
    a, bs = rng.standard_normal((2, 3)), rng.standard_normal((6, 2, 3))
    got, sign = cr.vmap(lambda b: special.logsumexp(a, b=b, return_sign=True))(bs)
    want = [sc.logsumexp(a, b=b, return_sign=True) for b in bs]
    np.testing.assert_allclose(got, [w[0] for w in want], rtol=1e-13)
    np.testing.assert_array_equal(sign, [w[1] for w in want])
    grads = cr.vmap(cr.grad(lambda b: special.logsumexp(a, b=b)))(np.abs(bs))
    for g, b in zip(grads, np.abs(bs), strict=True):
        np.testing.assert_allclose(g, np.exp(a) / np.sum(b * np.exp(a)), rtol=1e-12)


def test_bernoulli_under_vmap_is_refused_clearly():
    """Its result's length depends on n's value: a batch of n cannot be one array."""
    with pytest.raises(TypeError, match=r"bernoulli\(n\) returns n \+ 1 numbers"):
        cr.vmap(special.bernoulli)(np.array([2, 3]))
    table = special.bernoulli(5)  # the recipe the error gives
    np.testing.assert_array_equal(cr.vmap(lambda k: cnp.take(table, k))(np.array([2, 4])),
                                  sc.bernoulli(5)[[2, 4]])  # fmt: skip
