"""`chainrule.stats`: values against scipy.stats, derivatives, sampling, MLE, Bayes, helpers."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import numpy
import pytest
import scipy.stats as st

import chainrule as cr
import chainrule.numpy as np
from chainrule import stats
from chainrule.scipy import special
from chainrule.stats import (
    Bernoulli,
    Beta,
    Binomial,
    Categorical,
    Exponential,
    Gamma,
    MultivariateNormal,
    Normal,
    Poisson,
    Uniform,
)

TIGHT = {"rtol": 1e-10, "atol": 1e-12}
COUNTS = numpy.array([-1.0, 0.0, 1.0, 2.0, 2.5, 3.0, 7.0, 12.0])
REALS = numpy.array([-2.0, -0.5, 0.0, 0.3, 0.9, 1.0, 2.5, 7.0])

# (our distribution, the scipy.stats equivalent, points to evaluate at)
CASES: list[tuple[stats.Distribution, Any, numpy.ndarray]] = [
    (Bernoulli(0.3), st.bernoulli(0.3), COUNTS),
    (Bernoulli(0.0), st.bernoulli(0.0), COUNTS),
    (Bernoulli(1.0), st.bernoulli(1.0), COUNTS),
    (Binomial(10, 0.3), st.binom(10, 0.3), COUNTS),
    (Binomial(7, 0.9), st.binom(7, 0.9), COUNTS),
    (Poisson(0.5), st.poisson(0.5), COUNTS),
    (Poisson(20.0), st.poisson(20.0), COUNTS * 2.0),
    (
        Categorical([0.2, 0.5, 0.3]),
        st.rv_discrete(values=([0, 1, 2], [0.2, 0.5, 0.3])),
        COUNTS,
    ),
    (Uniform(-1.0, 3.0), st.uniform(-1.0, 4.0), REALS),
    (Normal(1.0, 2.0), st.norm(1.0, 2.0), REALS),
    (Normal(-3.0, 0.1), st.norm(-3.0, 0.1), REALS - 3.0),
    (Exponential(0.5), st.expon(scale=2.0), REALS),
    (Exponential(3.0), st.expon(scale=1.0 / 3.0), REALS),
    (Gamma(0.5, 2.0), st.gamma(0.5, scale=0.5), REALS),
    (Gamma(3.0, 0.5), st.gamma(3.0, scale=2.0), REALS),
    (Beta(2.0, 3.0), st.beta(2.0, 3.0), REALS / 3.0),
    (Beta(0.5, 0.7), st.beta(0.5, 0.7), REALS / 3.0),
]
IDS = [repr(d) for d, _, _ in CASES]


@pytest.mark.parametrize(("dist", "ref", "x"), CASES, ids=IDS)
def test_values_match_scipy(dist: stats.Distribution, ref: Any, x: numpy.ndarray) -> None:
    ref_log = ref.logpmf(x) if dist.discrete else ref.logpdf(x)
    numpy.testing.assert_allclose(dist.log_prob(x), ref_log, **TIGHT)
    numpy.testing.assert_allclose(dist.prob(x), numpy.exp(ref_log), **TIGHT)
    numpy.testing.assert_allclose(dist.cdf(x), ref.cdf(x), **TIGHT)
    numpy.testing.assert_allclose(dist.mean, ref.mean(), **TIGHT)
    numpy.testing.assert_allclose(dist.variance, ref.var(), **TIGHT)
    numpy.testing.assert_allclose(dist.entropy(), ref.entropy(), **TIGHT)


def test_multivariate_normal_matches_scipy() -> None:
    mean, cov = (
        numpy.array([1.0, -2.0, 0.5]),
        numpy.array([[2.0, 0.3, 0.1], [0.3, 1.0, -0.2], [0.1, -0.2, 0.5]]),
    )
    d, ref = MultivariateNormal(mean, cov), st.multivariate_normal(mean, cov)
    x = numpy.random.default_rng(0).standard_normal((4, 2, 3))
    numpy.testing.assert_allclose(d.log_prob(x), ref.logpdf(x), **TIGHT)
    numpy.testing.assert_allclose(d.log_prob(x[0, 0]), ref.logpdf(x[0, 0]), **TIGHT)
    numpy.testing.assert_allclose(d.entropy(), ref.entropy(), **TIGHT)
    numpy.testing.assert_allclose(d.mean, mean)
    numpy.testing.assert_allclose(d.variance, numpy.diag(cov))
    with pytest.raises(NotImplementedError, match="no closed form"):
        d.cdf(mean)
    with pytest.raises(ValueError, match="last axis of length 3"):
        d.log_prob(numpy.zeros(2))


def test_batched_parameters_broadcast() -> None:
    d = Normal(numpy.array([0.0, 1.0]), 2.0)
    assert d.batch_shape == (2,)
    x = numpy.array([[0.5], [1.5], [3.0]])
    numpy.testing.assert_allclose(d.log_prob(x), st.norm([0.0, 1.0], 2.0).logpdf(x), **TIGHT)
    assert d.sample(5, rng=1).shape == (5, 2)
    numpy.testing.assert_allclose(
        Binomial(4, numpy.array([0.2, 0.7])).cdf(2.0), st.binom(4, [0.2, 0.7]).cdf(2.0), **TIGHT
    )


# --------------------------------------------------------------------------- validation

BAD: list[tuple[Callable[[], Any], str]] = [
    (lambda: Normal(0.0, -1.0), r"Normal: scale must be > 0, got -1\.0"),
    (lambda: Normal(float("nan"), 1.0), "Normal: loc must be finite"),
    (lambda: Bernoulli(1.5), r"Bernoulli: p must be in \[0, 1\], got 1\.5"),
    (lambda: Binomial(-1, 0.5), "Binomial: n must be at least 0, got -1"),
    (lambda: Poisson(0.0), "Poisson: rate must be > 0"),
    (lambda: Categorical([0.5, 0.6]), "Categorical: probs must be .* sum to 1"),
    (lambda: Uniform(1.0, 0.0), "Uniform: high must be > low"),
    (lambda: Gamma(0.0, 1.0), "Gamma: shape must be > 0"),
    (lambda: Beta(1.0, -2.0), "Beta: b must be > 0"),
    (lambda: Normal([0.0, 1.0], [1.0, 1.0, 1.0]), "do not broadcast"),
    (
        lambda: MultivariateNormal([0.0, 0.0], [[1.0, 2.0], [2.0, 1.0]]),
        "cov must be a symmetric positive-definite matrix",
    ),
    (lambda: MultivariateNormal([0.0, 0.0], numpy.eye(3)), r"cov must be \(d, d\)"),
]


@pytest.mark.parametrize(("make", "message"), BAD, ids=[m for _, m in BAD])
def test_bad_parameters_are_rejected(make: Callable[[], Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()


def test_bad_arguments() -> None:
    with pytest.raises(TypeError, match="rng must be"):
        Normal(0.0, 1.0).sample(3, rng="seed")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"Normal\.sample: n must be at least 0, got -1"):
        Normal(0.0, 1.0).sample(-1)
    with pytest.raises(TypeError, match=r"Binomial: n must be an int, got 2\.5"):
        Binomial(2.5, 0.5)
    with pytest.raises(TypeError, match="Normal: loc must hold real floating-point numbers"):
        Normal("a", 1.0)
    with pytest.raises(TypeError, match="discrete"):
        cr.grad(lambda x: Poisson(2.0).log_prob(x))(1.0)


# ------------------------------------------------------------------------------ pytrees


def test_distributions_are_pytrees() -> None:
    leaves, _ = cr.tree.flatten(Binomial(10, 0.3))
    assert leaves == [0.3]  # n is structure, not a leaf
    doubled = cr.tree.map(lambda v: 2 * v, Normal(1.0, 2.0))
    assert isinstance(doubled, Normal) and (doubled.loc, doubled.scale) == (2.0, 4.0)
    g = cr.grad(lambda d: d.log_prob(0.0))(Normal(1.0, 2.0))
    assert isinstance(g, Normal)
    numpy.testing.assert_allclose([g.loc, g.scale], [-0.25, -0.375])
    assert repr(Binomial(10, 0.3)) == "Binomial(n=10, p=0.3)"


# ------------------------------------------------------------------------- derivatives


def _softmax(z: Any) -> Any:
    return special.softmax(z)


def _spd(a: Any) -> Any:
    return a @ a.T + np.eye(a.shape[0])


PARAM_GRADS: list[tuple[str, Callable[..., stats.Distribution], tuple[Any, ...], Any]] = [
    ("Bernoulli", lambda p: Bernoulli(p), (0.3,), numpy.array([0.0, 1.0, 1.0])),
    ("Binomial", lambda p: Binomial(6, p), (0.4,), numpy.array([0.0, 2.0, 6.0])),
    ("Poisson", lambda r: Poisson(r), (2.5,), numpy.array([0.0, 1.0, 4.0])),
    (
        "Categorical",
        lambda z: Categorical(_softmax(z)),
        (numpy.array([0.1, -0.4, 0.8]),),
        numpy.array([0.0, 2.0, 2.0]),
    ),
    ("Uniform", lambda lo, hi: Uniform(lo, hi), (-1.0, 2.0), numpy.array([-0.5, 1.0])),
    ("Normal", lambda m, s: Normal(m, s), (0.5, 1.5), numpy.array([-1.0, 2.0])),
    (
        "MultivariateNormal",
        lambda m, a: MultivariateNormal(m, _spd(a)),
        (numpy.array([0.5, -1.0]), numpy.array([[1.0, 0.2], [-0.3, 0.8]])),
        numpy.array([[0.1, 0.3], [-1.0, 2.0]]),
    ),
    ("Exponential", lambda r: Exponential(r), (1.7,), numpy.array([0.2, 3.0])),
    ("Gamma", lambda k, r: Gamma(k, r), (2.5, 1.5), numpy.array([0.2, 3.0])),
    ("Beta", lambda a, b: Beta(a, b), (2.5, 1.5), numpy.array([0.2, 0.7])),
]


@pytest.mark.parametrize(
    ("name", "make", "params", "x"), PARAM_GRADS, ids=[c[0] for c in PARAM_GRADS]
)
def test_log_prob_and_entropy_derivatives(
    name: str, make: Callable[..., stats.Distribution], params: tuple[Any, ...], x: Any
) -> None:
    cr.check_grads(lambda *p: make(*p).log_prob(x), params, order=2)
    cr.check_grads(lambda *p: make(*p).entropy(), params, order=2)
    if not make(*params).discrete:
        cr.check_grads(lambda v: make(*params).log_prob(v), (x,), order=2)
    if name != "MultivariateNormal":
        cr.check_grads(lambda *p: make(*p).mean + make(*p).variance, params, order=2)


def test_score_has_mean_zero() -> None:
    # E[d/dtheta log p(x)] = 0: a check of log_prob's derivative independent of its value.
    for d, params in [(Binomial(5, 0.35), (0.35,)), (Poisson(1.3), (1.3,))]:
        ks = numpy.arange(60.0 if isinstance(d, Poisson) else 6.0)
        make = (lambda p: Binomial(5, p)) if isinstance(d, Binomial) else Poisson
        score = cr.jacobian(lambda p, make=make, ks=ks: make(p).log_prob(ks))(*params)
        assert abs(float(numpy.sum(d.prob(ks) * score))) < 1e-12


@pytest.mark.parametrize(
    ("make", "params", "x"),
    [
        (lambda p: Binomial(6, p), (0.4,), numpy.array([-1.0, 2.0, 3.5])),
        (Poisson, (2.5,), numpy.array([0.0, 3.0])),
        (lambda lo, hi: Uniform(lo, hi), (-1.0, 2.0), numpy.array([-0.5, 1.0])),
        (lambda m, s: Normal(m, s), (0.5, 1.5), numpy.array([-1.0, 2.0])),
        (Exponential, (1.7,), numpy.array([0.2, 3.0])),
        (lambda r: Gamma(2.5, r), (1.5,), numpy.array([0.2, 3.0])),
    ],
)
def test_cdf_derivatives_in_parameters(make: Callable[..., Any], params: Any, x: Any) -> None:
    cr.check_grads(lambda *p: make(*p).cdf(x), params, order=2)


def test_cdf_derivatives_in_x() -> None:
    for d, x in [
        (Normal(0.5, 1.5), numpy.array([-1.0, 2.0])),
        (Exponential(1.7), numpy.array([0.2, 3.0])),
        (Gamma(2.5, 1.5), numpy.array([0.2, 3.0])),
        (Beta(2.5, 1.5), numpy.array([0.2, 0.7])),
        (Uniform(-1.0, 2.0), numpy.array([-0.5, 1.0])),
    ]:
        cr.check_grads(d.cdf, (x,), order=2)
        numpy.testing.assert_allclose(cr.elementwise_grad(d.cdf)(x), d.prob(x), rtol=1e-10)
    with pytest.raises(TypeError, match="not differentiable"):
        cr.grad(lambda k: Gamma(k, 1.0).cdf(1.0))(2.0)
    with pytest.raises(TypeError, match="not differentiable"):
        cr.grad(lambda a: Beta(a, 1.0).cdf(0.5))(2.0)


def test_bernoulli_log_prob_finite_at_the_ends() -> None:
    numpy.testing.assert_array_equal(Bernoulli(0.0).log_prob([0, 1]), [0.0, -numpy.inf])
    numpy.testing.assert_array_equal(Bernoulli(1.0).log_prob([0, 1]), [-numpy.inf, 0.0])
    assert cr.grad(lambda p: Bernoulli(p).entropy())(0.5) == 0.0
    assert numpy.isfinite(cr.grad(lambda p: Bernoulli(p).log_prob(0.0))(0.0))


# ---------------------------------------------------------------------------- sampling


def test_reparameterised_samples_are_differentiable() -> None:
    assert [d.reparameterized for d in (Normal, Uniform, Exponential, MultivariateNormal)] == [
        True
    ] * 4
    assert not any(
        d.reparameterized for d in (Bernoulli, Binomial, Poisson, Categorical, Gamma, Beta)
    )
    eps = numpy.random.default_rng(3).standard_normal(200)
    dloc, dscale = cr.grad(lambda m, s: np.mean(Normal(m, s).sample(200, 3)), argnums=(0, 1))(
        1.0, 2.0
    )
    assert dloc == pytest.approx(1.0, abs=1e-12)
    assert dscale == pytest.approx(eps.mean(), abs=1e-12)
    x = Exponential(2.0).sample(100, 4)
    drate = cr.grad(lambda r: np.mean(Exponential(r).sample(100, 4)))(2.0)
    assert drate == pytest.approx(-x.mean() / 2.0, rel=1e-12)
    cr.check_grads(lambda lo, hi: Uniform(lo, hi).sample(4, 5), (-1.0, 2.0), order=2)
    cr.check_grads(lambda m, s: Normal(m, s).sample(4, 5), (0.5, 1.5), order=2)
    cr.check_grads(
        lambda m, a: MultivariateNormal(m, _spd(a)).sample(3, 6),
        (numpy.array([0.5, -1.0]), numpy.array([[1.0, 0.2], [-0.3, 0.8]])),
        order=2,
    )


SAMPLED = [d for d, _, _ in CASES if d.variance > 0] + [
    MultivariateNormal([1.0, -1.0], [[1.0, 0.6], [0.6, 2.0]])
]


@pytest.mark.parametrize("dist", SAMPLED, ids=repr)
def test_sample_moments(dist: stats.Distribution) -> None:
    n = 40_000
    x = dist.sample(n, numpy.random.default_rng(7))
    assert x.shape == (n, *numpy.shape(dist.mean))
    if dist.discrete:
        assert x.dtype.kind == "i"
    sd = numpy.sqrt(dist.variance)
    numpy.testing.assert_array_less(numpy.abs(x.mean(axis=0) - dist.mean), 5 * sd / numpy.sqrt(n))
    numpy.testing.assert_allclose(x.var(axis=0), dist.variance, rtol=0.05)
    assert numpy.all(numpy.isfinite(dist.log_prob(x)))
    numpy.testing.assert_array_equal(dist.sample(5, 11), dist.sample(5, 11))


# ------------------------------------------------------------------- maximum likelihood

RNG = numpy.random.default_rng(0)
FIT_DATA: list[tuple[type[stats.Distribution], Any, dict[str, Any], dict[str, Any]]] = [
    (Bernoulli, RNG.random(60) < 0.3, {}, {"p": 0.9}),
    (Binomial, RNG.binomial(8, 0.6, 40), {"n": 8}, {"p": 0.1}),
    (Poisson, RNG.poisson(4.0, 50), {}, {"rate": 20.0}),
    (Normal, RNG.normal(3.0, 2.0, 50), {}, {"loc": -5.0, "scale": 0.3}),
    (Exponential, RNG.exponential(2.0, 50), {}, {"rate": 10.0}),
    (Categorical, RNG.integers(0, 4, 80), {}, {"probs": [0.7, 0.1, 0.1, 0.1]}),
    (
        MultivariateNormal,
        RNG.multivariate_normal([1.0, 2.0], [[1.0, 0.3], [0.3, 0.5]], 60),
        {},
        {"mean": [0.0, 0.0], "cov": [[3.0, -1.0], [-1.0, 2.0]]},
    ),
]


@pytest.mark.parametrize(
    ("family", "data", "known", "init"), FIT_DATA, ids=[f[0].__name__ for f in FIT_DATA]
)
def test_closed_form_and_gradient_fits_agree(
    family: type[stats.Distribution], data: Any, known: dict[str, Any], init: dict[str, Any]
) -> None:
    closed = stats.fit_mle(family, data, **known)
    assert (
        stats.fit_mle(family, data, "closed_form", **known).__dict__.keys()
        == closed.__dict__.keys()
    )
    for start in (None, init):
        fitted = stats.fit_mle(family, data, method="gradient", init=start, **known)
        for name in family.constraints:
            numpy.testing.assert_allclose(
                getattr(fitted, name), getattr(closed, name), rtol=1e-6, atol=1e-7
            )


def test_closed_forms_are_the_textbook_ones() -> None:
    x = RNG.normal(1.0, 3.0, 30)
    d = stats.fit_mle(Normal, x)
    assert (d.loc, d.scale) == pytest.approx((x.mean(), x.std(ddof=0)), rel=1e-14)
    u = stats.fit_mle(Uniform, x)
    assert (u.low, u.high) == (x.min(), x.max())
    b = stats.fit_mle(Bernoulli, [1, 0, 0, 1, 1])
    assert b.p == pytest.approx(0.6)
    c = stats.fit_mle(Categorical, [0, 2, 2], num_classes=4)
    numpy.testing.assert_allclose(c.probs, [1 / 3, 0.0, 2 / 3, 0.0])
    e = stats.fit_mle(Exponential, [1.0, 2.0, 3.0])
    assert e.rate == pytest.approx(0.5)


def test_gamma_and_beta_fits_match_scipy() -> None:
    g = RNG.gamma(2.5, 1 / 1.5, 200)
    shape, _, scale = st.gamma.fit(g, floc=0)
    fitted = stats.fit_mle(Gamma, g)
    assert (fitted.shape, fitted.rate) == pytest.approx((shape, 1 / scale), rel=1e-4)
    b = RNG.beta(2.0, 5.0, 200)
    a_ref, b_ref, _, _ = st.beta.fit(b, floc=0, fscale=1)
    fitted_b = stats.fit_mle(Beta, b)
    assert (fitted_b.a, fitted_b.b) == pytest.approx((a_ref, b_ref), rel=1e-4)


def test_fit_mle_errors() -> None:
    with pytest.raises(TypeError, match="number of trials"):
        stats.fit_mle(Binomial, [1, 2])
    with pytest.raises(TypeError, match="unexpected keyword n="):
        stats.fit_mle(Normal, [1.0, 2.0], n=3)
    with pytest.raises(ValueError, match="data must be non-negative integers"):
        stats.fit_mle(Poisson, [1.0, -2.0])
    with pytest.raises(ValueError, match=r"data must be integers 0\.\.n"):
        stats.fit_mle(Binomial, [1, 12], n=10)
    with pytest.raises(ValueError, match="method must be"):
        stats.fit_mle(Normal, [1.0, 2.0], method="newton")
    with pytest.raises(ValueError, match="no closed-form MLE"):
        stats.fit_mle(Gamma, [1.0, 2.0], method="closed_form")
    with pytest.raises(ValueError, match="gradients do not apply"):
        stats.fit_mle(Uniform, [1.0, 2.0], method="gradient")
    for family in (Normal, Uniform, Gamma, Beta):
        with pytest.raises(ValueError, match="all data are equal"):
            stats.fit_mle(family, [0.5, 0.5])
    with pytest.raises(
        ValueError, match=r"init must give exactly the parameters \['loc', 'scale'\]"
    ):
        stats.fit_mle(Normal, [1.0, 2.0], method="gradient", init={"loc": 0.0})
    with pytest.raises(ValueError, match="Normal: scale must be > 0"):
        stats.fit_mle(Normal, [1.0, 2.0], method="gradient", init={"loc": 0.0, "scale": -1.0})
    with pytest.raises(ValueError, match="2-D array"):
        stats.fit_mle(MultivariateNormal, [1.0, 2.0])
    with pytest.raises(ValueError, match=r"data must be in the open interval \(0, 1\)"):
        stats.fit_mle(Beta, [0.2, 0.5, 1.0])
    with pytest.raises(ValueError, match="data must be positive"):
        stats.fit_mle(Gamma, [0.0, 0.5, 1.0])
    with pytest.raises(ValueError, match="log-likelihood is not finite at the start"):
        stats.fit_mle(Categorical, [0, 1, 2], method="gradient", init={"probs": [0.5, 0.5, 0.0]})
    with pytest.raises(TypeError, match="distribution class"):
        stats.fit_mle(st.norm, [1.0])  # type: ignore[arg-type]


# --------------------------------------------------------------------------- Bayes' rule


def test_bayes_disease_test() -> None:
    prior = numpy.array([0.01, 0.99])
    table = numpy.array([[0.99, 0.01], [0.05, 0.95]])
    post = stats.bayes(prior, table)
    numpy.testing.assert_allclose(post.sum(axis=0), [1.0, 1.0])
    assert post[0, 0] == pytest.approx(0.01 * 0.99 / (0.01 * 0.99 + 0.99 * 0.05), rel=1e-14)
    numpy.testing.assert_allclose(stats.bayes(prior, table[:, 0]), post[:, 0], rtol=1e-14)
    cr.check_grads(lambda p, t: stats.bayes(p, t), (prior, table), order=2)


def test_bayes_errors() -> None:
    with pytest.raises(ValueError, match="rows"):
        stats.bayes([0.5, 0.5], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="non-negative"):
        stats.bayes([0.5, -0.5], [0.1, 0.2])
    with pytest.raises(ValueError, match="probability 0 under every hypothesis"):
        stats.bayes([0.5, 0.5], [[0.0, 1.0], [0.0, 1.0]])


def test_beta_bernoulli_update_matches_grid_posterior() -> None:
    prior, data = Beta(2.0, 3.0), numpy.array([1, 0, 1, 1, 1, 0, 1])
    post = stats.beta_bernoulli_update(prior, data)
    assert (post.a, post.b) == (7.0, 5.0)
    grid = numpy.linspace(0.0005, 0.9995, 1000)  # midpoints of 1000 equal cells
    likelihood = numpy.prod(Bernoulli(grid[:, None]).prob(data[None, :]), axis=1)
    weights = stats.bayes(prior.prob(grid), likelihood)
    numpy.testing.assert_allclose(weights * 1000, post.prob(grid), rtol=1e-5, atol=1e-5)
    assert numpy.sum(weights * grid) == pytest.approx(post.mean, rel=1e-6)
    with pytest.raises(ValueError, match="0s and 1s"):
        stats.beta_bernoulli_update(prior, [0, 2])


# ------------------------------------------------------------------- sample statistics


X2 = numpy.random.default_rng(1).standard_normal((3, 6))


def test_helpers_match_numpy() -> None:
    for axis in (None, 0, 1):
        numpy.testing.assert_allclose(stats.mean(X2, axis), numpy.mean(X2, axis), **TIGHT)
        for ddof in (0, 1):
            numpy.testing.assert_allclose(
                stats.var(X2, axis, ddof), numpy.var(X2, axis, ddof=ddof), **TIGHT
            )
    for rowvar in (True, False):
        for kwargs in ({}, {"bias": True}, {"ddof": 2}):
            numpy.testing.assert_allclose(
                stats.cov(X2, rowvar=rowvar, **kwargs),
                numpy.cov(X2, rowvar=rowvar, **kwargs),
                **TIGHT,
            )
        numpy.testing.assert_allclose(
            stats.corrcoef(X2, rowvar=rowvar), numpy.corrcoef(X2, rowvar=rowvar), **TIGHT
        )
    numpy.testing.assert_allclose(stats.cov(X2[0]), numpy.cov(X2[0]), **TIGHT)
    assert stats.cov(X2[0]).shape == numpy.cov(X2[0]).shape == ()
    assert float(stats.corrcoef(X2[0])) == 1.0
    with pytest.raises(ValueError, match="1-D or 2-D"):
        stats.cov(numpy.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="nothing to divide by"):
        stats.cov([1.0])


def test_helpers_are_differentiable() -> None:
    cr.check_grads(lambda x: stats.mean(x, 1), (X2,), order=2)
    cr.check_grads(lambda x: stats.var(x, 0, 1), (X2,), order=2)
    cr.check_grads(lambda x: stats.cov(x), (X2,), order=2)
    cr.check_grads(lambda x: stats.cov(x, rowvar=False, bias=True), (X2,), order=2)
    cr.check_grads(lambda x: stats.corrcoef(x), (X2,), order=2)


def test_cov_and_corrcoef_of_two_arrays_as_numpy() -> None:
    rng = numpy.random.default_rng(5)
    a, b = rng.standard_normal((2, 8)), rng.standard_normal((3, 8))
    numpy.testing.assert_allclose(stats.cov(a, b), numpy.cov(a, b), rtol=1e-12)
    numpy.testing.assert_allclose(stats.corrcoef(a, b), numpy.corrcoef(a, b), rtol=1e-12)
    numpy.testing.assert_allclose(
        stats.cov(a.T, b.T, rowvar=False), numpy.cov(a.T, b.T, rowvar=False), rtol=1e-12
    )
    with pytest.raises(ValueError, match="x has 8 observations and y has 7"):
        stats.cov(a, b[:, :7])
    cr.check_grads(lambda u, v: stats.corrcoef(u, v), (a, b), order=2)


# Every public name of chainrule.stats when it was one module (stats.py), before the split.
OLD_ALL = [
    "FAMILIES", "Bernoulli", "Beta", "Binomial", "Categorical", "Distribution", "Exponential",
    "Gamma", "MultivariateNormal", "Normal", "Poisson", "Uniform", "bayes",
    "beta_bernoulli_update", "corrcoef", "cov", "fit_mle", "mean", "var",
]  # fmt: skip


@pytest.mark.parametrize("name", OLD_ALL)
def test_every_old_public_name_is_still_in_chainrule_stats(name: str) -> None:
    assert name in stats.__all__
    value = getattr(importlib.import_module("chainrule.stats"), name)
    if name != "FAMILIES":
        # defined in one of the package's modules, and documented there
        assert value.__module__.startswith("chainrule.stats.") and value.__doc__


def test_the_package_exports_no_more_than_before_and_families_are_all_there() -> None:
    assert sorted(stats.__all__) == sorted(OLD_ALL)
    assert {f.__name__ for f in stats.FAMILIES} == {
        n for n in OLD_ALL if n[0].isupper() and n not in ("FAMILIES", "Distribution")
    }
    assert all(issubclass(f, stats.Distribution) for f in stats.FAMILIES)


def test_import_chainrule_does_not_import_stats() -> None:
    import subprocess
    import sys

    code = "import sys, chainrule; print(sorted(m for m in sys.modules if 'stats' in m))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# ------------------------------------------------------------------------------ vmap


def test_log_prob_under_vmap_masks_each_example():
    """Support masks stay per example under vmap (a point outside one example's support
    is -inf there only), batched counts are data, not derivatives; values and per-example
    gradients equal a loop."""
    lows, xs = numpy.array([0.0, -1.0, 0.5]), numpy.array([0.5, -2.0, 0.75])
    f = lambda lo, x: stats.Uniform(lo, 1.0).log_prob(x)
    numpy.testing.assert_array_equal(
        cr.vmap(f)(lows, xs), [f(a, b) for a, b in zip(lows, xs, strict=True)]
    )
    rates, ks = numpy.array([1.0, 2.0, 3.0]), numpy.array([[0.0, 3.0], [1.0, -1.0], [2.0, 5.5]])
    g = lambda r, k: cr.numpy.sum(cr.numpy.where(k >= 0, stats.Poisson(r).log_prob(k), 0.0))
    want = [g(r, k) for r, k in zip(rates, ks, strict=True)]
    numpy.testing.assert_allclose(cr.vmap(g)(rates, ks), want, rtol=1e-14)
    grads = [cr.grad(g)(r, k) for r, k in zip(rates, ks, strict=True)]
    numpy.testing.assert_allclose(cr.vmap(cr.grad(g))(rates, ks), grads, rtol=1e-14)


def test_bayes_under_vmap_checks_each_prior():
    """A batch of priors: the posterior per example; a prior of all zeros in one example is
    refused (its sum is checked per example, not over the batch)."""
    table = numpy.array([[0.99, 0.01], [0.05, 0.95]])
    priors = numpy.array([[0.01, 0.99], [0.5, 0.5]])
    got = cr.vmap(lambda p: stats.bayes(p, table))(priors)
    numpy.testing.assert_allclose(got, [stats.bayes(p, table) for p in priors], rtol=1e-14)
    with pytest.raises(ValueError, match="prior not all 0"):
        cr.vmap(lambda p: stats.bayes(p, table))(numpy.array([[0.5, 0.5], [0.0, 0.0]]))


def test_discrete_cdf_and_entropy_under_vmap_equal_a_loop():
    """The finite sums of a discrete distribution (cdf, entropy) under vmap: batched rates
    and counts sum up to a count that bounds every example, so each equals its own call
    (they raised a ConversionError, reading one truncation point from a batch)."""
    rates, ks = numpy.array([0.5, 3.0, 40.0]), numpy.array([1.0, 2.5, 60.0])
    cdf = lambda r, k: stats.Poisson(r).cdf(k)
    want = [cdf(r, k) for r, k in zip(rates, ks, strict=True)]
    numpy.testing.assert_allclose(cr.vmap(cdf)(rates, ks), want, rtol=1e-13)
    dcdf = [cr.grad(cdf)(r, k) for r, k in zip(rates, ks, strict=True)]
    numpy.testing.assert_allclose(cr.vmap(cr.grad(cdf))(rates, ks), dcdf, rtol=1e-12)
    entropy = lambda r: stats.Poisson(r).entropy()
    numpy.testing.assert_allclose(cr.vmap(entropy)(rates), [entropy(r) for r in rates], rtol=1e-13)
    ps, counts = numpy.array([0.1, 0.5, 0.9]), numpy.array([1.0, numpy.nan, 12.0])
    binomial = lambda p, k: stats.Binomial(10, p).cdf(k)
    want = [binomial(p, k) for p, k in zip(ps, counts, strict=True)]
    numpy.testing.assert_allclose(cr.vmap(binomial)(ps, counts), want, rtol=1e-13)
