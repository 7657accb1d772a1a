"""chainrule.integrate: quad against SciPy and closed forms, its derivatives, and expectation."""

from __future__ import annotations

import math
import warnings

import numpy
import pytest
import scipy.integrate

import chainrule as cr
import chainrule.numpy as np
from chainrule.integrate import IntegrationWarning, quad

INF = numpy.inf
SQRT_2PI = math.sqrt(2 * math.pi)


def gauss(x, mu=0.0, s=1.0):
    return np.exp(-((x - mu) ** 2) / (2 * s * s)) / (SQRT_2PI * s)


# ----------------------------------------------------------------------------- the rule


def test_kronrod_rule_is_exact_to_degree_31_and_gauss_to_19():
    from chainrule.integrate import _GAUSS, _KRONROD, _NODES

    for k in range(32):
        exact = 2 / (k + 1) if k % 2 == 0 else 0.0
        assert _KRONROD @ _NODES**k == pytest.approx(exact, abs=1e-14)
        if k < 20:
            assert _GAUSS @ _NODES**k == pytest.approx(exact, abs=1e-14)
    assert abs(_KRONROD @ _NODES**32 - 2 / 33) > 1e-12  # degree 32: no longer exact
    # Tabulated G10/K21 constants (Piessens et al., QUADPACK).
    assert _NODES[-1] == pytest.approx(0.995657163025808080735527280689003, abs=1e-14)
    assert _KRONROD[10] == pytest.approx(0.149445554002916905664936468389821, abs=1e-14)
    assert _GAUSS[-2] == pytest.approx(0.066671344308688137593568809893332, abs=1e-14)


# ----------------------------------------------------------------------------- values

CASES = {
    "cubic": (lambda x: x**3 - 2 * x + 1, -1.0, 2.0, 3.75),
    "exp": (np.exp, -1.0, 3.0, math.exp(3) - math.exp(-1)),
    "sin": (np.sin, 0.0, 10.0, 1 - math.cos(10)),
    "oscillating": (lambda x: np.sin(50 * x), 0.0, 3.0, (1 - math.cos(150)) / 50),
    "kink": (lambda x: np.abs(x - 0.3), 0.0, 1.0, 0.29),
    "log": (np.log, 0.0, 1.0, -1.0),
    "gauss line": (gauss, -INF, INF, 1.0),
    "gauss right": (gauss, 1.0, INF, 0.15865525393145707),
    "gauss left": (gauss, -INF, 0.3, 0.6179114221889527),
    "cauchy": (lambda x: 1 / (1 + x**2), -INF, INF, math.pi),
    "exp decay": (lambda x: np.exp(-x), 0.0, INF, 1.0),
}


@pytest.mark.parametrize("name", CASES)
def test_quad_matches_scipy_and_its_error_estimate_is_honest(name):
    f, a, b, exact = CASES[name]
    value, abserr = quad(f, a, b)
    ref = scipy.integrate.quad(f, a, b)[0]
    assert value == pytest.approx(ref, rel=1e-9, abs=1e-10)
    assert abs(value - exact) <= abserr
    assert abserr <= max(1.49e-8, 1.49e-8 * abs(value))
    assert isinstance(abserr, float)


def test_reversed_and_empty_intervals():
    assert quad(np.exp, 3.0, -1.0)[0] == pytest.approx(math.exp(-1) - math.exp(3), rel=1e-13)
    assert quad(gauss, INF, -INF)[0] == pytest.approx(-1.0, rel=1e-12)
    assert quad(gauss, INF, 0.0)[0] == pytest.approx(-0.5, rel=1e-12)
    assert quad(np.exp, 2.0, 2.0) == (0.0, 0.0)


def test_endpoint_singularity_within_tolerance():
    f = lambda x: 1 / np.sqrt(x)
    value, abserr = quad(f, 0.0, 1.0, limit=200)
    assert abs(value - 2.0) <= abserr <= 3e-8
    # No extrapolation as in QUADPACK's QAGS: 50 subintervals fall just short, and say so.
    with pytest.warns(IntegrationWarning, match="limit of 50 subintervals"):
        value, abserr = quad(f, 0.0, 1.0)
    assert abs(value - 2.0) <= abserr < 1e-7


def test_tolerances_are_followed():
    f = lambda x: np.sin(20 * x) * np.exp(x)
    loose, loose_err = quad(f, 0.0, 4.0, epsabs=1e-3, epsrel=0.0)
    tight, tight_err = quad(f, 0.0, 4.0, epsabs=1e-11, epsrel=0.0)
    ref = (math.exp(4) * (math.sin(80) - 20 * math.cos(80)) + 20) / 401
    assert loose_err <= 1e-3 and abs(loose - ref) <= loose_err
    assert tight_err <= 1e-11 and abs(tight - ref) <= tight_err
    with pytest.warns(IntegrationWarning, match="raise `limit`"):
        quad(f, 0.0, 4.0, epsabs=1e-14, epsrel=0.0, limit=2)


def test_args_pytrees_and_pointwise_integrands():
    poly = lambda x, c: c[0] + c[1] * x + c[2] * x**2
    c = numpy.array([1.0, -2.0, 3.0])
    assert quad(poly, 0.0, 2.0, (c,))[0] == pytest.approx(2 - 4 + 8, rel=1e-13)
    assert quad(lambda x, p: p["w"] * x, 0.0, 1.0, ({"w": 4.0},))[0] == pytest.approx(2.0)
    assert quad(lambda x, k: x**k, 0.0, 1.0, 3)[0] == pytest.approx(0.25)  # a bare arg
    calls = []

    def pointwise(x, k):
        calls.append(numpy.shape(x))
        return math.cos(k * x)

    value = quad(pointwise, 0.0, 1.0, (2.0,), vectorized=False)[0]
    assert value == pytest.approx(math.sin(2.0) / 2, rel=1e-13)
    assert set(calls) == {()}


# ----------------------------------------------------------------------------- derivatives


def exp_integral(theta):
    return quad(lambda x, t: np.exp(t * x), 0.0, 1.0, (theta,))[0]


@pytest.mark.parametrize("theta", [0.7, 1.0, -2.0])
def test_derivative_in_an_argument_closed_form(theta):
    # ∫_0^1 e^{θx} dx = (e^θ - 1)/θ; d/dθ = ((θ - 1) e^θ + 1)/θ²; d²/dθ² = ∫ x² e^{θx} dx.
    first = ((theta - 1) * math.exp(theta) + 1) / theta**2
    second = scipy.integrate.quad(lambda x: x**2 * math.exp(theta * x), 0, 1)[0]
    assert cr.grad(exp_integral)(theta) == pytest.approx(first, rel=1e-10)
    assert cr.derivative(exp_integral)(theta) == pytest.approx(first, rel=1e-10)
    assert cr.hessian(exp_integral)(theta) == pytest.approx(second, rel=1e-10)
    assert cr.grad(cr.derivative(exp_integral))(theta) == pytest.approx(second, rel=1e-10)


def test_leibniz_rule_for_the_limits():
    f = lambda x, t: np.sin(t * x) + x**2
    value = lambda a, b, t: quad(f, a, b, (t,))[0]
    da, db, dt = cr.grad(value, argnums=(0, 1, 2))(0.3, 1.7, 2.0)
    assert da == pytest.approx(-(math.sin(0.6) + 0.09), rel=1e-12)
    assert db == pytest.approx(math.sin(3.4) + 1.7**2, rel=1e-12)
    num = cr.numerical_grad(lambda v: value(*v), numpy.array([0.3, 1.7, 2.0]))
    numpy.testing.assert_allclose([da, db, dt], num, rtol=1e-7)
    # d²/db² = f'(b), and reversed limits keep the same rules.
    assert cr.hessian(value, argnums=1)(0.3, 1.7, 2.0) == pytest.approx(
        2.0 * math.cos(3.4) + 3.4, rel=1e-12
    )
    assert cr.grad(value, argnums=1)(1.7, 0.3, 2.0) == pytest.approx(math.sin(0.6) + 0.09)


def test_check_grads_limits_and_arguments_to_second_order():
    f = lambda x, t, c: np.exp(-t * x * x) * np.cos(c * x)
    cr.check_grads(lambda a, b, t, c: quad(f, a, b, (t, c))[0], (-0.4, 1.3, 0.7, 2.0), order=2)
    cr.check_grads(lambda t: quad(f, -INF, INF, (t, 1.5))[0], (0.8,), order=2)
    cr.check_grads(lambda b: quad(f, -INF, b, (0.6, 1.0))[0], (0.5,), order=2)
    # A pointwise integrand written with chainrule.numpy is differentiable too.
    cr.check_grads(
        lambda t: quad(lambda x, s: np.exp(s * x), 0.0, 1.0, (t,), vectorized=False)[0],
        (0.4,),
        order=2,
    )


def test_gaussian_moments_over_the_whole_line():
    def second_moment(mu, s):
        return quad(lambda x, m, s: x**2 * gauss(x, m, s), -INF, INF, (mu, s))[0]

    assert second_moment(0.5, 1.5) == pytest.approx(0.25 + 2.25, rel=1e-10)
    d_mu, d_s = cr.grad(second_moment, argnums=(0, 1))(0.5, 1.5)
    assert (d_mu, d_s) == (pytest.approx(1.0, rel=1e-9), pytest.approx(3.0, rel=1e-9))
    hess = cr.hessian(lambda p: second_moment(p[0], p[1]))(numpy.array([0.5, 1.5]))
    numpy.testing.assert_allclose(hess, 2 * numpy.eye(2), atol=1e-8)


def test_array_argument_gradient_jacobian_and_hessian():
    f = lambda x, th: np.exp(-th[0] * x**2) * np.cos(th[1] * x) + th[2] * x
    integral = lambda th: quad(f, -1.0, 2.0, (th,))[0]
    th = numpy.array([0.5, 1.5, 0.3])
    grad = cr.grad(integral)(th)
    numpy.testing.assert_allclose(grad, cr.numerical_grad(integral, th), rtol=1e-7)
    numpy.testing.assert_allclose(cr.jacfwd(integral)(th), grad, rtol=1e-12)
    assert grad[2] == pytest.approx(1.5, rel=1e-12)  # ∫_{-1}^{2} x dx
    hess = cr.hessian(integral)(th)
    numpy.testing.assert_allclose(hess, hess.T, atol=1e-12)
    numpy.testing.assert_allclose(hess, cr.jacrev(cr.grad(integral))(th), rtol=1e-10)
    cr.check_grads(integral, (th,), order=2)


def test_pytree_argument_is_differentiable():
    f = lambda x, p: p["a"] * np.exp(p["b"] * x)
    grads = cr.grad(lambda p: quad(f, 0.0, 1.0, (p,))[0])({"a": 2.0, "b": 1.0})
    assert grads["a"] == pytest.approx(math.e - 1, rel=1e-12)
    assert grads["b"] == pytest.approx(2.0, rel=1e-12)


def test_abserr_is_a_plain_float_inside_transforms():
    seen = []

    def value(t):
        v, err = quad(lambda x, t: np.exp(t * x), 0.0, 1.0, (t,))
        seen.append(err)
        return v

    cr.grad(value)(1.0)
    cr.derivative(value)(1.0)
    assert all(type(e) is float for e in seen)


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"epsabs": numpy.nan}, "epsabs"),
        ({"epsrel": numpy.inf}, "epsrel"),
        ({"epsabs": -1e-8}, "epsabs"),
        ({"epsabs": 0.0, "epsrel": 0.0}, "both 0"),
        ({"limit": 0}, "limit"),
    ],
)
def test_bad_options_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        quad(np.exp, 0.0, 1.0, **kwargs)


@pytest.mark.parametrize("limit", [2.5, True])
def test_a_limit_that_is_not_an_int_is_a_type_error(limit):
    with pytest.raises(TypeError, match=r"quad: limit \(subintervals\) must be an int"):
        quad(np.exp, 0.0, 1.0, limit=limit)


def test_bad_limits_and_integrands_are_refused():
    with pytest.raises(ValueError, match="`a` is NaN"):
        quad(np.exp, numpy.nan, 1.0)
    with pytest.raises(TypeError, match="`b` must be a real number"):
        quad(np.exp, 0.0, numpy.array([1.0, 2.0]))
    with pytest.raises(TypeError, match="callable"):
        quad(3.0, 0.0, 1.0)
    with pytest.raises(TypeError, match="vectorized"):
        quad(np.exp, 0.0, 1.0, vectorized="no")
    with pytest.raises(ValueError, match="vectorized=False"):
        quad(lambda x: np.stack([x, x]), 0.0, 1.0)
    with pytest.raises(TypeError, match="real and imaginary"):
        quad(lambda x: np.exp(1j * x), 0.0, 1.0)
    with pytest.raises(ValueError, match="not finite"):
        quad(lambda x: np.where(x > 0.5, np.inf, x), 0.0, 1.0)


def test_constant_integrand_returning_a_scalar():
    assert quad(lambda x: 2.0, 0.0, 3.0)[0] == pytest.approx(6.0)
    assert cr.grad(lambda b: quad(lambda x: 2.0, 0.0, b)[0])(3.0) == pytest.approx(2.0)


def test_no_warning_on_smooth_integrands():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        quad(gauss, -INF, INF, (3.0, 0.5))
        cr.grad(exp_integral)(1.0)


# ----------------------------------------------------------------------------- expectation

stats = pytest.importorskip("chainrule.stats")
from chainrule.integrate import Estimate, expectation  # noqa: E402

N = 20_000


def within(estimate, exact, per_sample, k=4.0):
    """|estimate - exact| <= k standard errors of the mean of `per_sample`, elementwise."""
    per_sample = numpy.asarray(per_sample, dtype=float)
    stderr = per_sample.std(axis=0, ddof=1) / math.sqrt(len(per_sample))
    assert numpy.all(stderr > 0)
    numpy.testing.assert_array_less(numpy.abs(numpy.asarray(estimate) - exact), k * stderr)


def moment_grad(dist_of, f, params, method, seed=0, n=N):
    """Gradient of E[f(x)], x ~ dist_of(*params), in every parameter, with a fixed seed."""

    def mean(*p):
        return expectation(f, dist_of(*p), n, numpy.random.default_rng(seed), method).mean

    return cr.grad(mean, argnums=tuple(range(len(params))))(*params)


def test_normal_second_moment_and_its_standard_error():
    mu, sigma = 0.5, 1.5
    est = expectation(lambda x: x**2, stats.Normal(mu, sigma), N, numpy.random.default_rng(1))
    assert isinstance(est, Estimate)
    assert abs(est.mean - (mu**2 + sigma**2)) < 4 * est.stderr
    sd = math.sqrt(2 * sigma**4 + 4 * mu**2 * sigma**2)  # of x² under the Normal
    assert est.stderr == pytest.approx(sd / math.sqrt(N), rel=0.05)
    x = stats.Normal(mu, sigma).sample(N, numpy.random.default_rng(1))
    assert est.mean == pytest.approx(numpy.mean(x**2), rel=1e-12)
    assert est.stderr == pytest.approx(numpy.std(x**2, ddof=1) / math.sqrt(N), rel=1e-12)


@pytest.mark.parametrize("method", ["reparam", "score"])
def test_normal_gradients_by_both_estimators(method):
    mu, sigma = 0.5, 1.5
    g = moment_grad(stats.Normal, lambda x: x**2, (mu, sigma), method)
    x = stats.Normal(mu, sigma).sample(N, numpy.random.default_rng(0))
    z = (x - mu) / sigma
    if method == "reparam":  # x = mu + sigma z: d(x²)/dmu = 2x, d(x²)/dsigma = 2x z
        per_sample = numpy.stack([2 * x, 2 * x * z], axis=1)
    else:  # x² times the score: (z/sigma, (z² - 1)/sigma)
        per_sample = numpy.stack([x**2 * z / sigma, x**2 * (z**2 - 1) / sigma], axis=1)
    numpy.testing.assert_allclose(g, per_sample.mean(axis=0), rtol=1e-10)
    within(g, [2 * mu, 2 * sigma], per_sample)


def test_auto_picks_reparam_for_continuous_and_score_for_discrete():
    rng = numpy.random.default_rng
    f = lambda x: x**2
    for dist in (stats.Normal(0.5, 1.5), stats.Bernoulli(0.3)):
        method = "reparam" if dist.reparameterized else "score"
        auto = cr.grad(lambda d: expectation(f, d, 500, rng(3)).mean)(dist)
        fixed = cr.grad(lambda d: expectation(f, d, 500, rng(3), method).mean)(dist)  # noqa: B023
        for a, b in zip(cr.tree.leaves(auto), cr.tree.leaves(fixed), strict=True):
            assert a == pytest.approx(b, rel=1e-12)


def test_bernoulli_score_gradient_is_the_difference_of_values():
    p, values = 0.3, numpy.array([2.0, 5.0])  # f(0) = 2, f(1) = 5: E = 2 + 3 p
    f = lambda x: values[x]
    est = expectation(f, stats.Bernoulli(p), N, numpy.random.default_rng(2))
    assert abs(est.mean - (2 + 3 * p)) < 4 * est.stderr
    (g,) = moment_grad(stats.Bernoulli, f, (p,), "score", seed=2)
    x = stats.Bernoulli(p).sample(N, numpy.random.default_rng(2))
    within(g, values[1] - values[0], values[x] * (x / p - (1 - x) / (1 - p)))


def test_poisson_score_gradient():
    rate = 3.0  # E[x²] = rate + rate², so the gradient is 1 + 2 rate
    (g,) = moment_grad(stats.Poisson, lambda x: x**2, (rate,), "score", seed=4)
    x = stats.Poisson(rate).sample(N, numpy.random.default_rng(4))
    within(g, 1 + 2 * rate, x**2 * (x / rate - 1))


def test_uniform_reparam_gradient():
    low, high = -1.0, 2.0  # E[x²] = (l² + l h + h²)/3
    g = moment_grad(stats.Uniform, lambda x: x**2, (low, high), "reparam", seed=5)
    x = stats.Uniform(low, high).sample(N, numpy.random.default_rng(5))
    u = (x - low) / (high - low)  # x = low + (high - low) u
    per_sample = numpy.stack([2 * x * (1 - u), 2 * x * u], axis=1)
    within(g, [(2 * low + high) / 3, (low + 2 * high) / 3], per_sample)


def test_exponential_reparam_gradient_and_second_order():
    rate = 2.0  # E[x²] = 2 / rate², d/drate = -4 / rate³, d²/drate² = 12 / rate⁴
    (g,) = moment_grad(stats.Exponential, lambda x: x**2, (rate,), "reparam", seed=6)
    x = stats.Exponential(rate).sample(N, numpy.random.default_rng(6))
    within(g, -4 / rate**3, -2 * x**2 / rate)  # x = e / rate: d(x²)/drate = -2x²/rate

    def mean(r):
        f = lambda x: x**2
        return expectation(f, stats.Exponential(r), N, numpy.random.default_rng(6)).mean

    assert cr.hessian(mean)(rate) == pytest.approx(6 * numpy.mean(x**2) / rate**2, rel=1e-10)
    cr.check_grads(mean, (rate,), order=2)


def test_reparam_matches_quad_under_the_same_distribution():
    f = lambda x: np.sin(x) + x**2
    exact = lambda mu, s: quad(lambda x, d: f(x) * d.prob(x), -INF, INF, (stats.Normal(mu, s),))[0]
    g_exact = cr.grad(exact, argnums=(0, 1))(0.3, 0.8)
    g_mc = moment_grad(stats.Normal, f, (0.3, 0.8), "reparam", seed=7)
    x = stats.Normal(0.3, 0.8).sample(N, numpy.random.default_rng(7))
    z = (x - 0.3) / 0.8
    fprime = numpy.cos(x) + 2 * x
    within(g_mc, g_exact, numpy.stack([fprime, fprime * z], axis=1))
    # E[sin x] = sin(mu) e^{-s²/2}: the quadrature is exact to its tolerance.
    assert exact(0.3, 0.8) == pytest.approx(math.sin(0.3) * math.exp(-0.32) + 0.09 + 0.64)


def test_vector_valued_f_and_a_batch_of_distributions():
    f = lambda x: np.stack([x, x**2], axis=1)
    est = expectation(f, stats.Normal(1.0, 2.0), N, numpy.random.default_rng(8), "score")
    assert est.mean.shape == est.stderr.shape == (2,)
    numpy.testing.assert_array_less(numpy.abs(est.mean - [1.0, 5.0]), 4 * est.stderr)
    jac = cr.jacobian(
        lambda m: expectation(f, stats.Normal(m, 2.0), N, numpy.random.default_rng(8)).mean
    )(1.0)
    numpy.testing.assert_allclose(jac, [1.0, 2.0], atol=0.1)  # reparam: d/dmu (mu, mu² + 4)
    batch = stats.Normal(numpy.array([0.0, 1.0]), 1.0)
    est = expectation(lambda x: np.sum(x, axis=1), batch, N, numpy.random.default_rng(9))
    assert abs(est.mean - 1.0) < 4 * est.stderr


def test_expectation_refuses_bad_input():
    rng = numpy.random.default_rng(0)
    with pytest.raises(ValueError, match=r"method='reparam'.*Bernoulli.*'score'"):
        expectation(lambda x: x, stats.Bernoulli(0.5), 100, rng, "reparam")
    with pytest.raises(ValueError, match="unknown method"):
        expectation(lambda x: x, stats.Normal(0.0, 1.0), 100, rng, "pathwise")
    with pytest.raises(ValueError, match="`n`"):
        expectation(lambda x: x, stats.Normal(0.0, 1.0), 1, rng)
    with pytest.raises(TypeError, match="distribution"):
        expectation(lambda x: x, "normal", 100, rng)
    with pytest.raises(ValueError, match="one value per sample"):
        expectation(lambda x: np.sum(x), stats.Normal(0.0, 1.0), 100, rng)


# ------------------------------------------------------------------------------ vmap


def test_quad_under_vmap_is_one_adaptive_run():
    """Examples integrate together on shared subintervals, the integrand called on every
    example at once, each example to its own tolerance; derivatives composed both ways."""
    calls = []

    def integrand(x, k):
        calls.append(x)
        return np.exp(k * x)

    ks = numpy.array([1.0, 2.0, -3.0])
    f = lambda k: quad(integrand, 0.0, 1.0, args=(k,))[0]
    values, errors = cr.vmap(lambda k: quad(integrand, 0.0, 1.0, args=(k,)))(ks)
    assert len(calls) == 1  # K21 on [0, 1] meets every example's tolerance at once
    numpy.testing.assert_allclose(values, numpy.expm1(ks) / ks, rtol=1e-13)
    assert errors.shape == (3,) and numpy.all(errors <= 1.49e-8 * numpy.abs(values))
    exact_grad = (numpy.exp(ks) * (ks - 1.0) + 1.0) / ks**2  # ∫ x e^(kx) dx on [0, 1]
    numpy.testing.assert_allclose(cr.vmap(cr.grad(f))(ks), exact_grad, rtol=1e-12)
    summed = cr.grad(lambda ks: np.sum(cr.vmap(f)(ks)))(ks)
    numpy.testing.assert_allclose(summed, exact_grad, rtol=1e-12)
    numpy.testing.assert_allclose(numpy.diag(cr.jacfwd(cr.vmap(f))(ks)), exact_grad, rtol=1e-12)


def test_quad_under_vmap_refines_for_the_hardest_example():
    """An example that needs more subintervals gets them; an easy one is not made worse."""
    widths = numpy.array([1.0, 0.01])  # a narrow peak needs bisection
    f = lambda w: quad(lambda x, w: np.exp(-((x - 0.3) ** 2) / w**2), -1.0, 1.0, args=(w,))[0]
    got = cr.vmap(f)(widths)
    numpy.testing.assert_allclose(got, [f(w) for w in widths], rtol=1e-8)


def test_quad_under_vmap_with_limits_per_example_is_refused():
    with pytest.raises(TypeError, match="vmap of quad: the limits a and b differ"):
        cr.vmap(lambda b: quad(np.exp, 0.0, b)[0])(numpy.array([1.0, 2.0]))
