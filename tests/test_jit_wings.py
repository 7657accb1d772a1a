"""jit on the library's wings (nn, optim, stats, info, scipy): each function is traced on
inputs A, then replayed on inputs B chosen so that masks, branches, signs and supports
change, and compared with eager chainrule on B: a value of the tracing call frozen into
the program would show as a wrong number. Same operations, so rtol 1e-12 in float64.
"""

from __future__ import annotations

from typing import Any

import numpy
import pytest

import chainrule as cr
import chainrule.numpy as cnp
import chainrule.scipy.special as sp
import chainrule.scipy.stats as st
from chainrule import info, nn, optim
from chainrule.optim import clip
from chainrule.stats import descriptive

A = numpy.array
INF = numpy.inf
r = numpy.random.default_rng(1)
x1, x2 = A([0.3, -1.2, 2.5, 0.7]), A([-2.0, 0.4, -0.1, 30.0])
p1, p2 = A([0.2, 0.3, 0.5]), A([0.0, 0.9, 0.1])
logp = numpy.log(A([[0.2, 0.3, 0.5], [0.1, 0.1, 0.8]]))
u, v = A([0.3, 0.6, 0.9]), A([-0.5, 1e-8, 35.0])  # v: signs, tiny and large arguments


def same(got: Any, want: Any) -> None:
    for g, e in zip(cr.tree.leaves(got), cr.tree.leaves(want), strict=True):
        assert numpy.asarray(g).dtype == numpy.asarray(e).dtype
        numpy.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-300)


def replays_as_eager(f: Any, a: tuple[Any, ...], b: tuple[Any, ...]) -> None:
    jitted = cr.jit(f)
    jitted(*a)  # traces
    same(jitted(*b), f(*b))
    assert len(jitted.programs()) == 1  # (b replayed a's program)


CASES: dict[str, tuple[Any, tuple[Any, ...], tuple[Any, ...]]] = {
    # nn: activations at saturation and -inf logits, losses at the ends of their supports
    "sigmoid": (nn.functional.sigmoid, (x1,), (A([-800.0, 1, 2, 3]),)),
    "softplus": (lambda x: nn.functional.softplus(x, beta=2.0, threshold=5.0), (x1,), (x2,)),
    "gelu-tanh": (lambda x: nn.functional.gelu(x, approximate="tanh"), (x1,), (x2,)),
    "leaky_relu": (nn.functional.leaky_relu, (x1,), (x2,)),
    "log_softmax": (nn.functional.log_softmax, (x1,), (A([-INF, 0, 1, 2]),)),
    "huber": (lambda p, t: nn.huber(p, t), (x1, x2), (x2, x1)),
    "bce-logits": (lambda z, t: nn.binary_cross_entropy_with_logits(z, t), (x1, A([1.0, 0, 1, 0])), (40 * x2, A([0.0, 1, 1, 0]))),
    "bce-ends": (lambda p, t: nn.binary_cross_entropy(p, t), (A([0.2, 0.5]), A([1.0, 0])), (A([0.0, 1.0]), A([1.0, 0]))),
    "xent-probs": (lambda z, t: nn.cross_entropy(z, t), (A([[1.0, 2, 3]]), A([[0.2, 0.3, 0.5]])), (A([[1.0, -INF, 3]]), A([[0.0, 0, 1]]))),
    "xent-smoothed": (lambda z, y: nn.cross_entropy(z, y, label_smoothing=0.1), (A([[1.0, 2, 3]]), A([1])), (A([[1.0, -INF, 3]]), A([2]))),
    "nll-weighted": (lambda lp, y, w: nn.nll_loss(lp, y, weight=w), (logp, A([0, 1]), A([1.0, 2, 3])), (logp, A([2, 2]), A([1.0, 0, 3]))),
    "kl_div": (lambda i, t: nn.kl_div(i, t, "batchmean"), (logp, numpy.exp(logp)), (logp, A([[0.0, 0.5, 0.5], [1, 0, 0]]))),
    "kl_div-log": (lambda i, t: nn.kl_div(i, t, "sum", log_target=True), (logp, logp), (logp, numpy.log(A([[0.1, 0.4, 0.5], [0.9, 0.05, 0.05]])))),
    "attention-mask": (nn.attention.scaled_dot_product_attention, (*r.standard_normal((3, 2, 3)), A([[True, False], [True, True]])), (*r.standard_normal((3, 2, 3)), A([[True, True], [False, True]]))),
    "attention-dead-row": (nn.attention.scaled_dot_product_attention, (*r.standard_normal((3, 2, 3)), A([[True, False], [True, True]])), (*r.standard_normal((3, 2, 3)), A([[False, False], [False, True]]))),
    "clip-norm": (lambda g: clip.clip_by_global_norm(g, 1.0), ({"a": 0.01 * x1},), ({"a": x2},)),
    "clip-value": (lambda g: clip.clip_by_value(g, 1.0), ({"a": x1},), ({"a": x2},)),
    # info: zero probabilities (0 log 0 = 0, p log(p/0) = inf), another base
    "entropy": (lambda p: info.entropy(p, base=2), (p1,), (A([2.0, 0, 2]),)),
    "kl": (info.kl_divergence, (p1, p1), (p2, A([0.5, 0.5, 0]))),
    "js": (info.js_divergence, (p1, p1), (p2, A([0.5, 0.5, 0]))),
    "mutual-info": (info.mutual_information, (A([[0.25, 0.25], [0.25, 0.25]]),), (A([[0.5, 0], [0, 0.5]]),)),
    "gaussian_kl_mv": (info.gaussian_kl_mv, (numpy.zeros(2), numpy.eye(2), numpy.ones(2), 2 * numpy.eye(2)), (numpy.ones(2), A([[2.0, 1], [1, 2]]), numpy.zeros(2), numpy.eye(2))),
    "var-ddof": (lambda x: descriptive.var(x, ddof=1), (x1,), (x2,)),
    "corrcoef": (descriptive.corrcoef, (r.standard_normal((2, 5)),), (r.standard_normal((2, 5)),)),
    # scipy.stats: logcdf/logsf switch sides at the median, values off the support, bad scales
    "norm.logcdf": (st.norm.logcdf, (x1,), (A([-40.0, 5, 0.1, -3]),)),
    "t.logcdf": (st.t.logcdf, (x1, 3.0), (A([-40.0, 5, 0.1, -3]), 5.0)),
    "gamma.logsf": (st.gamma.logsf, (A([0.5, 1, 2, 3]), 2.0), (A([40.0, 0.01, -1, 3]), 0.5)),
    "norm.cdf-scale": (st.norm.cdf, (x1, 0.0, 1.0), (x2, 1.0, -1.0)),
    "norm.ppf-ends": (st.norm.ppf, (A([0.1, 0.5, 0.9]),), (A([0.0, 1, 1.5]),)),
    "uniform.logpdf": (st.uniform.logpdf, (A([0.1, 0.5, 0.9]),), (A([-1.0, 0, 1.5]),)),
    "pareto.cdf": (st.pareto.cdf, (A([1.5, 2, 3]), 2.0), (A([0.5, 2, 3]), 3.0)),
    "poisson.logpmf": (st.poisson.logpmf, (A([1.0, 2, 3]), 2.0), (A([-1.0, 2.5, 30]), 5.0)),
    "binom.pmf": (lambda k, p: st.binom.pmf(k, 10, p), (A([1.0, 2, 3]), 0.3), (A([-1.0, 2.5, 11]), 0.6)),
    "poisson.cdf": (st.poisson.cdf, (A([1.0, 2, 3]), 2.0), (A([-1.0, 2.5, 40]), 30.0)),
    "nbinom.logsf": (st.nbinom.logsf, (A([1.0, 2, 3]), 3.0, 0.3), (A([-1.0, 2.5, 40]), 5.0, 0.9)),
    "t.ppf": (st.t.ppf, (A([0.1, 0.5, 0.9]), 3.0), (A([0.0, 1, 0.999]), 30.0)),
    "beta.cdf": (st.beta.cdf, (A([0.2, 1, 3]), 2.0, 3.0), (A([-1.0, 0, 50]), 0.5, 0.5)),
    "beta.logpdf": (st.beta.logpdf, (A([0.2, 0.5]), 2.0, 3.0), (A([0.0, 1]), 0.5, 1.0)),
    # scipy.special: poles, zeros of one argument, series switched on small arguments
    "zeta": (sp.zeta, (u,), (v,)),
    "xlogy": (sp.xlogy, (A([1.0, 2]), A([1.0, 2])), (A([0.0, 2]), A([0.0, -1]))),
    "rel_entr": (sp.rel_entr, (A([1.0, 2]), A([1.0, 2])), (A([0.0, 2]), A([0.0, -1]))),
    "logsumexp-b": (lambda a, b: sp.logsumexp(a, b=b), (x1, A([1.0, 1, 1, 1])), (x1, A([0.0, 1, 0, 0]))),
    "gammainc": (sp.gammainc, (A([1.0, 2]), A([0.5, 1])), (A([30.0, 0.1]), A([0.0, 100]))),
    "betainc": (sp.betainc, (A([1.0, 2]), A([1.0, 2]), A([0.5, 0.5])), (A([30.0, 0.1]), A([0.5, 3]), A([0.0, 0.99]))),
    "kv": (sp.kv, (A([0.0, 1]), A([0.5, 1])), (A([2.0, 3]), A([0.01, 40]))),
    "hyp1f1": (sp.hyp1f1, (A([1.0, 1]), A([2.0, 2]), A([0.5, 1])), (A([-2.0, 3]), A([2.0, 2]), A([-30.0, 40]))),
    "boxcox1p": (sp.boxcox1p, (A([0.5, 1]), A([0.5, 0.5])), (A([2.0, 3]), A([0.0, 1e-9]))),
    "owens_t": (sp.owens_t, (A([0.5, 1]), A([0.5, 0.5])), (A([-2.0, 30]), A([0.0, -3]))),
    "poch": (sp.poch, (A([0.5, 1]), A([0.5, 0.5])), (A([-2.5, 3]), A([0.0, -1]))),
    "betaln": (sp.betaln, (A([0.5, 1]), A([0.5, 0.5])), (A([-2.5, 300]), A([1.0, 300]))),
    "factorial": (sp.factorial, (A([2.0, 3]),), (A([-1.0, 30]),)),
    **{name: (getattr(sp, name), (u,), (v,)) for name in (
        "logit", "erfcx", "erfinv", "ndtri", "log_ndtr", "digamma", "i0e", "k0", "y0",
        "dawsn", "spence", "exp1", "expi", "entr", "loggamma", "rgamma")},
}  # fmt: skip


@pytest.mark.parametrize("name", CASES)
def test_replay_on_new_values_equals_eager(name: str) -> None:
    replays_as_eager(*CASES[name])


@pytest.mark.parametrize("name", [n for n, c in CASES.items() if not isinstance(c[1][0], dict)])
def test_compiled_vmap_takes_each_examples_path(name: str) -> None:
    """jit(vmap(f)) on A and B stacked: each example's masks, not the batch's first one."""
    f, a, b = CASES[name]
    got = cr.jit(cr.vmap(f))(*(numpy.stack([A(x), A(y)]) for x, y in zip(a, b, strict=True)))
    for i, args in enumerate((a, b)):
        same(cr.tree.map(lambda g, i=i: numpy.asarray(g)[i], got), f(*args))


# The arguments to differentiate in where not all float ones: counts, orders, zeta's x
SMOOTH_IN = {
    "poisson.logpmf": (1,),
    "binom.pmf": (1,),
    "poisson.cdf": (1,),
    "nbinom.logsf": (1, 2),
    "kv": (1,),
    "hyp1f1": (2,),
    "zeta": (),
}


@pytest.mark.parametrize("name", CASES)
def test_gradient_replay_on_new_values_equals_eager(name: str) -> None:
    """The derivatives' masks (safe points, dropped entries) are each call's too, in
    jit(grad(f)) and in grad(jit(f))."""
    f, a, b = CASES[name]
    floats = tuple(i for i, x in enumerate(a) if numpy.asarray(x).dtype.kind == "f")
    floats = SMOOTH_IN.get(name, floats)
    if not floats or isinstance(a[0], dict):
        pytest.skip("no argument to differentiate in")

    def total(*x: Any) -> Any:
        return cnp.sum(cr.tree.leaves(f(*x))[0])

    with numpy.errstate(all="ignore"):  # (infinite values and derivatives off the supports)
        replays_as_eager(cr.grad(total, floats), a, b)
        through = cr.grad(cr.jit(total), floats)  # grad(jit(f)): the program's own pullback
        through(*a)
        same(through(*b), cr.grad(total, floats)(*b))


def test_integer_data_traced_by_jit_or_vmap_is_converted_as_plain_data() -> None:
    """Integer counts and classes are data: eager code converts them to float64, and so
    does traced code (they were refused: 'x must hold real floating-point numbers')."""
    from chainrule.stats import Binomial, Categorical, Poisson

    for f in (
        lambda k: Poisson(rate=3.0).log_prob(k),
        lambda k: Categorical(probs=A([0.2, 0.3, 0.5])).log_prob(k),
        lambda k: Binomial(4, 0.3).cdf(k),
        lambda k: st.poisson.logpmf(k, 2.0),
    ):
        jitted = cr.jit(f)
        jitted(A([0, 1]))
        k = A([2, 5])  # 5: off Categorical's and Binomial's supports
        same(jitted(k), f(k))
        same(cr.vmap(f)(k), f(k))


def test_seeded_samples_follow_each_calls_parameters_or_are_refused_clearly() -> None:
    """Reparameterised draws (noise from the seed, moved by the parameters) replay with each
    call's parameters; NumPy's samplers that read the parameters' values are refused by name
    (they raised a bare conversion error, naming neither the family nor a way out)."""
    from chainrule.stats import Bernoulli, Beta, Categorical, Exponential, Gamma, Normal

    for family, a, b in (
        (lambda p: Normal(p, 2.0), 0.0, -3.0),
        (lambda p: Exponential(p), 1.0, 5.0),
        (lambda p: Bernoulli(p), 0.3, 0.9),
    ):
        draws = cr.jit(lambda p, family=family: family(p).sample(4, rng=7))
        draws(A(a))
        same(draws(A(b)), family(b).sample(4, rng=7))
    for family, p in (
        (lambda p: Gamma(p, 1.0), A(2.0)),
        (lambda p: Beta(p, 1.0), A(2.0)),
        (lambda p: Categorical(probs=p), A([0.5, 0.5])),
    ):
        for transform in (cr.jit, cr.vmap):
            arg = p if transform is cr.jit else p[None]
            with pytest.raises(TypeError, match=r"\.sample: NumPy's sampler of .* traced"):
                transform(lambda p, family=family: family(p).sample(2, rng=0))(arg)


@pytest.mark.parametrize("signed", [False, True])
def test_logsumexp_weights_zero_drop_their_entries_on_every_call(signed: bool) -> None:
    """A weight 0 drops its entry from the shift (a huge `a` there must not swamp the rest):
    that mask was taken only for plain weights, so jit and vmap gave NaN where eager gave
    [0, 1]. The derivative in a weight 0 is exp(a) / s (eager gave 0)."""

    def lse(a: Any, b: Any) -> Any:
        out = sp.logsumexp(a, b=b, return_sign=signed)
        return out[0] if signed else out

    grads = cr.grad(lse, argnums=(0, 1))
    jitted = cr.jit(grads)
    jitted(A([0.0, 1.0]), A([1.0, 1.0]))  # traced without zero weights
    for a, want_b in ((A([1000.0, 0.0]), [INF, 1.0]), (A([1.0, 0.0]), [numpy.e, 1.0])):
        b = A([0.0, 1.0])  # s = exp(a[1]) = 1
        for ga, gb in (
            jitted(a, b),
            grads(a, b),
            cr.tree.map(lambda g: g[0], cr.vmap(grads)(a[None], b[None])),
        ):
            numpy.testing.assert_array_equal(ga, [0.0, 1.0])
            numpy.testing.assert_allclose(gb, want_b, rtol=1e-15)


def test_dropout_of_a_constant_input_is_refused_under_jit() -> None:
    """The mask was drawn once while tracing when the input was a constant of the program
    (not traced): every call reused it, where eager calls draw a fresh one."""
    drop, x = nn.Dropout(0.5), numpy.ones(6)
    rng = numpy.random.default_rng(0)
    with pytest.raises(TypeError, match="Dropout under jit"):
        cr.jit(lambda w: drop(x, rng=rng) * w)(1.0)
    assert numpy.array_equal(cr.jit(lambda w: drop(x) * w)(2.0), 2 * x)  # evaluation: fine


@pytest.mark.parametrize(
    "make",
    [
        lambda rng: nn.Linear(3, 2, rng=rng),
        lambda rng: nn.MLP([3, 4, 2], rng=rng),
        lambda rng: nn.Embedding(5, 2, rng=rng),
        lambda rng: nn.MultiHeadAttention(4, 2, rng=rng),
        lambda rng: nn.init.xavier_uniform((3, 2), rng=rng),
        lambda rng: nn.init.normal((3, 2), rng=rng),
    ],
    ids=["Linear", "MLP", "Embedding", "MultiHeadAttention", "xavier_uniform", "normal"],
)
def test_weights_drawn_inside_jit_from_a_generator_are_refused(make: Any) -> None:
    """Made inside a jitted function, a layer's initial weights were drawn once, while
    tracing, and every call reused them, where eager calls draw new ones from a Generator
    (or fresh entropy): now refused by name. An int seed draws the same weights on every
    call, compiled or not."""

    def weights(rng: Any) -> Any:
        return lambda w: cr.tree.map(lambda p: p * w, cr.tree.leaves(make(rng)))

    for rng in (numpy.random.default_rng(0), None):
        with pytest.raises(TypeError, match=r"under jit: the draws from .* int seed"):
            cr.jit(weights(rng))(1.0)
    with pytest.raises(TypeError, match="rng must be an int seed"):
        cr.jit(weights("abc"))(1.0)  # (not a Generator: the usual message)
    seeded = cr.jit(weights(3))
    seeded(1.0)
    for got, want in zip(seeded(2.0), weights(3)(2.0), strict=True):
        numpy.testing.assert_array_equal(got, want)


def test_an_mlp_draws_the_same_weights_from_a_seed_as_its_linear_layers_would() -> None:
    gen = numpy.random.default_rng(5)
    layers = [nn.Linear(3, 4, rng=gen), nn.Linear(4, 2, rng=gen)]
    for got, want in zip(
        cr.tree.leaves(nn.MLP([3, 4, 2], rng=5)), cr.tree.leaves(layers), strict=True
    ):
        numpy.testing.assert_array_equal(got, want)


def test_quad_limits_and_expectations_serve_every_call() -> None:
    """Leibniz's rule drops the integrand at an infinite limit: that test was a Python `if`
    on the limit (jit refused any traced limit); expectation's standard error was
    computed in NumPy from the samples (refused under jit)."""
    from chainrule import integrate
    from chainrule.stats import Exponential, Normal

    def area(a: Any, b: Any) -> Any:
        return integrate.quad(lambda x: cnp.exp(-x * x), a, b)[0]

    slopes = cr.grad(area, argnums=(0, 1))
    jitted = cr.jit(slopes)
    jitted(A(0.0), A(1.0))
    for a, b in ((A(2.0), A(-3.0)), (A(-INF), A(0.5)), (A(0.0), A(INF))):
        same(jitted(a, b), slopes(a, b))
    for method, family in (("reparam", lambda m: Normal(m, 1.0)), ("score", Exponential)):

        def moment(m: Any, family: Any = family, method: str = method) -> Any:
            return integrate.expectation(lambda x: x**2, family(m), 50, 0, method)

        estimate = cr.jit(moment)
        estimate(A(1.0))
        same(estimate(A(3.0)), moment(A(3.0)))


@pytest.mark.parametrize(
    "f, good, bad, message",
    [
        (info.entropy, (p1,), (A([0.5, -0.1, 0.6]),), "negative entries"),
        (info.entropy, (p1,), (A([0.5, INF, 0.6]),), "NaN or infinite"),
        (info.kl_divergence, (p1, p1), (p1, A([0.0, 0, 0])), "sums to 0"),
        (info.mutual_information, (A([[0.5, 0], [0, 0.5]]),), (A([[0.0, 0], [0, 0]]),), "joint sums to 0"),
        (info.gaussian_kl, (0.0, 1.0, 0.0, 2.0), (0.0, -1.0, 0.0, 2.0), "sigma1 must be > 0"),
        (info.gaussian_kl_mv, (numpy.zeros(2), numpy.eye(2), numpy.zeros(2), numpy.eye(2)), (numpy.zeros(2), A([[1.0, 2], [2, 1]]), numpy.zeros(2), numpy.eye(2)), "not positive definite"),
        (info.gaussian_kl_mv, (numpy.zeros(2), numpy.eye(2), numpy.zeros(2), numpy.eye(2)), (numpy.zeros(2), A([[1.0, 0.5], [0, 1]]), numpy.zeros(2), numpy.eye(2)), "not symmetric"),
    ],
)  # fmt: skip
def test_input_checks_of_information_measures_run_on_every_call(f: Any, good: Any, bad: Any, message: str) -> None:  # fmt: skip
    """They ran on plain values only: jit (and vmap, grad) returned NaN or a number for
    negative probabilities, a zero sum, a negative scale, an indefinite covariance."""
    jitted = cr.jit(f)
    jitted(*good)
    stacked = tuple(A(x)[None] for x in bad)  # one example under vmap
    for call, args in (
        (f, bad),
        (jitted, bad),
        (cr.vmap(f), stacked),
        (cr.grad(lambda *a: cnp.sum(f(*a))), tuple(A(x) for x in bad)),
    ):
        with pytest.raises(ValueError, match=message):
            call(*args)


def test_distribution_parameters_are_checked_on_every_call() -> None:
    """A traced parameter skipped its constraint: under jit a scale of -1 or a probability
    of 1.5 gave NaN where eager code raises; a covariance is checked per example."""
    from chainrule.stats import Bernoulli, Categorical, MultivariateNormal, Normal

    x = A([0.5, -1.0])
    for family, good, bad, message in (
        (lambda s: Normal(0.0, s), A(1.0), A(-1.0), "scale must be > 0"),
        (Bernoulli, A(0.3), A(1.5), r"p must be in \[0, 1\]"),
        (lambda p: Categorical(probs=p), A([0.5, 0.5]), A([0.5, 0.6]), "sum to 1"),
        (
            lambda c: MultivariateNormal(numpy.zeros(2), c),
            numpy.eye(2),
            A([[1.0, 2], [2, 1]]),
            "positive-definite",
        ),
    ):
        log_prob = cr.jit(
            lambda p, family=family: family(p).log_prob(x if numpy.ndim(p) < 2 else x[None])
        )
        log_prob(good)
        for call, arg in ((log_prob, bad), (cr.jit(cr.vmap(log_prob)), numpy.stack([good, bad]))):
            with pytest.raises(ValueError, match=message):
                call(arg)


def test_mixed_precision_refuses_traced_values_by_name() -> None:
    """Its step branches in Python on whether the gradients are finite: under jit it raised
    a bare conversion error from inside the step."""
    from chainrule import numerics, optim

    mp = numerics.MixedPrecision(optim.SGD(lr=0.1))
    w = numpy.ones(2, numpy.float32)
    state = mp.init(w)
    loss = cr.jit(lambda w: (w * w).sum())  # a compiled loss is fine
    mp.step(loss, w, state)
    for where, call in (
        ("value_and_grad", lambda w: mp.value_and_grad(loss)(w, state)),
        ("update", lambda g: mp.update(g, state, w)),
        ("step", lambda w: mp.step(loss, w, state)),
    ):
        with pytest.raises(TypeError, match=rf"MixedPrecision\.{where}: a value is traced"):
            cr.jit(call)(w)


def test_logistic_regression_predicts_each_calls_classes() -> None:
    """predict indexed classes_ with NumPy (a bare conversion error under jit or vmap)."""
    from chainrule import linear_model

    X = numpy.random.default_rng(3).standard_normal((6, 2))
    labels = numpy.digitize(X @ A([1.0, -2.0]), [-1.0, 1.0]) * 3 - 1  # classes -1, 2, 5
    model = linear_model.LogisticRegression().fit(X, labels)
    predict = cr.jit(model.predict)
    predict(X)
    same(predict(-X), model.predict(-X))
    same(cr.vmap(model.predict)(X[:, None]), model.predict(X)[:, None])
    named = linear_model.LogisticRegression().fit(X, numpy.where(labels > 0, "a", "b"))
    with pytest.raises(TypeError, match=r"LogisticRegression\.predict under a transform"):
        cr.jit(named.predict)(X)


def test_solve_ivp_without_output_times_names_the_transform() -> None:
    """Under jit the refusal spoke of differentiating, which the call was not doing."""
    import chainrule.scipy.integrate as si

    def final(y0: Any, t1: Any) -> Any:
        return si.solve_ivp(lambda t, y: -y, (0.0, t1), y0).y[:, -1]

    with pytest.raises(TypeError, match=r"under jit or vmap\) needs t_eval given"):
        cr.jit(final)(A([1.0]), A(1.0))


def test_a_traced_logarithm_base_is_refused_as_a_setting() -> None:
    """A traced base=2.0 was refused as 'a number > 0 other than 1'."""
    with pytest.raises(TypeError, match=r"entropy: base is traced .* static_argnums"):
        cr.jit(lambda p, b: info.entropy(p, base=b))(p1, 2.0)
    bits = cr.jit(lambda p, b: info.entropy(p, base=b), static_argnums=1)
    same(bits(p2, 2.0), info.entropy(p2, base=2.0))


@pytest.mark.parametrize(
    "make",
    [
        lambda: optim.SGD(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1),
        lambda: optim.Adam(lr=optim.schedules.linear_warmup(0.1, 3), amsgrad=True),
        lambda: optim.RMSprop(lr=0.1, centered=True, momentum=0.5),
        lambda: optim.Adagrad(lr=optim.schedules.cosine(0.1, 10)),
    ],
    ids=["sgd", "adam-warmup", "rmsprop", "adagrad-cosine"],
)
def test_optimizer_steps_traced_at_the_first_replay_later_ones(make: Any) -> None:
    """Traced at step 0 (the first update's special case, the warmup's start), replayed at
    step 4 (past the warmup, moments and buffers non-zero)."""
    opt = make()
    p = A([1.0, 2.0])
    state = opt.init(p)
    step = cr.jit(lambda g, p, s: opt.step(g, s, p))
    step(A([0.5, -0.1]), p, state)
    for _ in range(4):
        p, state = opt.step(A([0.3, -0.2]), state, p)
    same(step(A([-3.0, 0.0]), p, state), opt.step(A([-3.0, 0.0]), state, p))


def test_a_traced_setting_is_refused_naming_static_argnums() -> None:
    """A setting (a learning rate, a dropout rate, a count) read as a Python number that
    arrives traced gets the fix in its message, not a bare conversion error."""
    with pytest.raises(TypeError, match=r"SGD: lr is a setting.*static_argnums"):
        cr.jit(lambda p, lr: optim.SGD(lr=lr).init([p]))(numpy.ones(2), 0.1)
    with pytest.raises(TypeError, match=r"Dropout: rate is a setting.*static_argnums"):
        cr.jit(lambda x, r: nn.Dropout(r)(x))(numpy.ones(2), 0.5)
    assert cr.jit(lambda x, r: nn.Dropout(r)(x), static_argnums=1)(numpy.ones(2), 0.5).shape == (2,)
    x = numpy.array([[0.2, -1.0], [1.5, 0.3]])
    for call, message in (
        (lambda x, d: cnp.var(x, ddof=d), r"numpy\.var: ddof"),
        (lambda x, d: cnp.std(x, axis=0, ddof=d), r"numpy\.std: ddof"),
    ):  # fmt: skip
        with pytest.raises(TypeError, match=message + r" is a setting.*static_argnums"):
            cr.jit(call)(x, 0.5)
        for d in (0.5, 1.0):  # static: one program per value, as eagerly
            numpy.testing.assert_allclose(cr.jit(call, static_argnums=1)(x, d), call(x, d))
