"""`chainrule.scipy.stats`: SciPy's values (inside and outside the support), derivatives in
`x` and every parameter through `check_rule`, and the errors."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import scipy.stats as ss

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.scipy import stats
from rulecheck import check_rule

# family: (shape parameters, a point strictly inside the standard support for derivatives)
CONTINUOUS = {
    "norm": (),
    "expon": (),
    "laplace": (),
    "logistic": (),
    "cauchy": (),
    "uniform": (),
    "pareto": (1.7,),
    "lognorm": (0.8,),
    "t": (2.5,),
    "chi2": (3.0,),
    "gamma": (0.7,),
    "beta": (1.5, 0.8),
}
CONT_METHODS = ("logpdf", "pdf", "cdf", "logcdf", "sf", "logsf")
X = np.array([-3.0, -0.5, 0.0, 0.2, 0.3, 1.0, 1.5, 2.5, 40.0, np.nan])
Q = np.array([0.0, 1e-300, 1e-12, 0.1, 0.25, 0.3, 0.5, 0.75, 0.9, 1 - 1e-12, 1.0, 1.2, -0.1])


CONT_CASES = [(f, m) for f in CONTINUOUS for m in (*CONT_METHODS, "ppf")]


@pytest.mark.parametrize(("family", "method"), CONT_CASES)
def test_continuous_values_match_scipy(family: str, method: str) -> None:
    shapes = CONTINUOUS[family]
    ours, ref = getattr(getattr(stats, family), method), getattr(getattr(ss, family), method)
    point = Q if method == "ppf" else X
    for loc, scale in [(0.0, 1.0), (0.2, 1.3), (np.array([[-0.4], [0.2]]), 0.5), (0.0, -1.0)]:
        got = ours(point, *shapes, loc=loc, scale=scale)
        want = ref(point, *shapes, loc=loc, scale=scale)
        assert np.shape(got) == np.shape(want)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=0, err_msg=f"{family}.{method}")
    # positional loc and scale, and invalid shapes give NaN
    np.testing.assert_allclose(
        ours(0.7, *shapes, 0.1, 2.0), ref(0.7, *shapes, 0.1, 2.0), rtol=1e-12
    )
    if shapes:
        assert np.isnan(ours(0.7, *([-1.0] * len(shapes))))


@pytest.mark.parametrize(("family", "method"), [(f, m) for f, m in CONT_CASES if CONTINUOUS[f]])
def test_shape_parameters_broadcast(family: str, method: str) -> None:
    shapes = [np.array([[0.5 * s], [2.0 * s]]) for s in CONTINUOUS[family]]  # (2, 1) each
    point = Q if method == "ppf" else X
    got = getattr(getattr(stats, family), method)(
        point, *shapes, scale=np.array([1.0, 2.0, 1.5])[:, None, None]
    )
    want = getattr(getattr(ss, family), method)(
        point, *shapes, scale=np.array([1.0, 2.0, 1.5])[:, None, None]
    )
    assert np.shape(got) == np.shape(want) == (3, 2, point.size)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)


@pytest.mark.parametrize(("family", "method"), CONT_CASES)
def test_continuous_derivatives(family: str, method: str) -> None:
    shapes = CONTINUOUS[family]
    fun = getattr(getattr(stats, family), method)
    if method == "ppf":
        point = np.array([0.1, 0.45, 0.8])
    else:  # x such that (x - loc) / scale lies inside (1, 1.9) or (0.1, 0.9) for bounded families
        bounded = family in ("uniform", "beta")
        point = np.array([0.3, 0.4, 0.5]) if bounded else np.array([0.9, 1.6, 2.2])
    loc, scale = np.array([[0.0], [0.05]]), np.float64(0.6)
    if family == "pareto" and method != "ppf":
        scale = np.float64(0.4)
    check_rule(lambda x, lo, sc, *s: fun(x, *s, loc=lo, scale=sc), point, loc, scale, *shapes)


def test_continuous_float32_and_boundaries() -> None:
    x = np.array([0.5, 1.0], np.float32)
    assert stats.norm.logpdf(x).dtype == np.float32
    # at the edge of the support: SciPy's values, and no NaN in the gradient
    np.testing.assert_allclose(stats.expon.logcdf(0.0), ss.expon.logcdf(0.0))
    assert cr.grad(lambda s: stats.expon.logpdf(-1.0, scale=s))(1.0) == 0.0
    assert cr.grad(lambda x: stats.uniform.cdf(x))(2.0) == 0.0
    g = cr.grad(lambda q: stats.norm.ppf(q))(0.0)
    assert g == 0.0


@pytest.mark.parametrize("method", ["logpdf", "cdf", "logcdf", "sf", "logsf"])
def test_cauchy_far_tails(method: str) -> None:
    x = np.array([-1e200, -1e10, 1e10, 1e200])
    got, want = getattr(stats.cauchy, method)(x), getattr(ss.cauchy, method)(x)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)


def test_laplace_kink_convention() -> None:
    # |x - loc| at x == loc: the derivative of abs at 0, which is 0
    assert cr.grad(stats.laplace.logpdf)(0.0) == 0.0


def test_smooth_at_the_branch_points() -> None:
    """Functions written in two branches are still differentiable where the branches meet."""
    np.testing.assert_allclose(cr.grad(stats.laplace.cdf)(0.0), 0.5, rtol=1e-15)
    np.testing.assert_allclose(cr.grad(stats.laplace.sf)(0.0), -0.5, rtol=1e-15)
    np.testing.assert_allclose(cr.grad(stats.laplace.ppf)(0.5), 2.0, rtol=1e-15)
    # logistic: d^2 logpdf / dx^2 = -pdf / ... = -1/2 at 0
    np.testing.assert_allclose(cr.hessian(stats.logistic.logpdf)(0.0), -0.5, rtol=1e-15)
    check_rule(stats.logistic.logpdf, np.array([-0.5, 0.0, 0.7]))
    check_rule(stats.cauchy.ppf, np.array([0.25, 0.5, 0.75]))


# ------------------------------------------------------------------------------ discrete

DISCRETE = {
    "poisson": (2.3,),
    "binom": (7.0, 0.3),
    "bernoulli": (0.3,),
    "geom": (0.3,),
    "nbinom": (2.5, 0.4),
}
K = np.array([-1.0, 0.0, 0.5, 1.0, 2.0, 3.0, 7.0, 30.0, 200.0, np.nan])
DISC_METHODS = ("logpmf", "pmf", "cdf", "logcdf", "sf", "logsf")
DISC_CASES = [(f, m) for f in DISCRETE for m in DISC_METHODS]


@pytest.mark.parametrize(("family", "method"), DISC_CASES)
def test_discrete_values_match_scipy(family: str, method: str) -> None:
    shapes = DISCRETE[family]
    ours, ref = getattr(getattr(stats, family), method), getattr(getattr(ss, family), method)
    for loc in (0.0, 2.0):
        got, want = ours(K, *shapes, loc=loc), ref(K, *shapes, loc=loc)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=0, err_msg=f"{family}.{method}")
    bad = {"poisson": (-1.0,), "binom": (2.5, 0.3), "bernoulli": (1.5,), "geom": (0.0,),
           "nbinom": (2.5, 0.0)}[family]  # fmt: skip
    assert np.isnan(ours(K, *bad)).all()  # SciPy: NaN too, except bernoulli's logcdf at k >= 1


@pytest.mark.parametrize("family", sorted(DISCRETE))
def test_discrete_ppf_is_scipys_step_function(family: str) -> None:
    shapes = DISCRETE[family]
    fun = getattr(stats, family).ppf
    for loc in (0.0, 2.0):
        np.testing.assert_array_equal(
            fun(Q, *shapes, loc=loc), getattr(ss, family).ppf(Q, *shapes, loc=loc)
        )
    assert fun(np.float32(0.5), *np.float32(shapes)).dtype == np.float32
    g = cr.grad(lambda q, s: fun(q, s, *shapes[1:]), argnums=(0, 1))(0.4, shapes[0])
    assert g == (0.0, 0.0)


@pytest.mark.parametrize(("family", "method"), DISC_CASES)
def test_discrete_derivatives(family: str, method: str) -> None:
    shapes = DISCRETE[family]
    fun = getattr(getattr(stats, family), method)
    k = {"geom": np.array([1.0, 2.0, 4.0]), "bernoulli": np.array([0.0, 1.0, 0.0])}.get(
        family, np.array([0.0, 1.0, 3.0])
    )
    if family == "bernoulli" and method in ("sf", "logsf"):
        k = np.zeros(3)  # at k = 1 the survival function is 0 whatever p
    if family == "binom":  # binom's n is a count: differentiate in p
        check_rule(lambda p: fun(k, shapes[0], p), np.array([0.3, 0.6, 0.5]))
    else:
        params = [np.full(3, s) for s in shapes]
        check_rule(lambda *s: fun(k, *s), *params)


def test_discrete_k_is_not_differentiable() -> None:
    with pytest.raises(TypeError, match=r"poisson\.logpmf: k is discrete"):
        cr.grad(lambda k: stats.poisson.logpmf(k, 2.0))(1.0)


@pytest.mark.parametrize("method", ["cdf", "logcdf", "sf", "logsf"])
def test_discrete_cdf_refuses_traced_n(method: str) -> None:
    fun = getattr(stats.binom, method)
    with pytest.raises(TypeError, match=rf"binom\.{method} is not differentiable .* 'n'"):
        cr.grad(lambda n: fun(2.0, n, 0.4))(5.0)
    assert np.isfinite(cr.grad(lambda n: stats.binom.logpmf(2.0, n, 0.4))(5.0))


def test_binding_errors() -> None:
    with pytest.raises(TypeError, match=r"gamma\.logpdf is missing the shape parameter 'a'"):
        stats.gamma.logpdf(1.0)
    with pytest.raises(TypeError, match=r"norm\.pdf got an unexpected keyword argument 'mu'"):
        stats.norm.pdf(1.0, mu=2.0)
    with pytest.raises(TypeError, match="at most 2 parameters"):
        stats.norm.pdf(1.0, 0.0, 1.0, 2.0)
    with pytest.raises(TypeError, match="multiple values"):
        stats.norm.pdf(1.0, 0.0, loc=1.0)


# ------------------------------------------------------------------------------ multivariate

RNG = np.random.default_rng(0)
A = RNG.standard_normal((3, 3))
COV = A @ A.T + np.eye(3)
MEAN = RNG.standard_normal(3)


def test_multivariate_normal_matches_scipy() -> None:
    xs = RNG.standard_normal((4, 3))
    for x, mean, cov in [
        (xs, MEAN, COV), (xs[0], MEAN, COV), (xs, MEAN, 2.0), (xs, MEAN, np.array([1.0, 2.0, 3.0])),
        (np.array([0.1, 0.2]), 0.3, 2.0), (xs[:, :1], None, 1.5), (xs.reshape(2, 2, 3), MEAN, COV),
    ]:  # fmt: skip
        for m in ("logpdf", "pdf"):
            got = getattr(stats.multivariate_normal, m)(x, mean, cov)
            want = getattr(ss.multivariate_normal, m)(x, mean, cov)
            assert np.shape(got) == np.shape(want)
            np.testing.assert_allclose(got, want, rtol=1e-12)
    with pytest.raises(ValueError, match="singular"):
        stats.multivariate_normal.logpdf(xs, MEAN, np.ones((3, 3)))


def test_multivariate_normal_derivatives() -> None:
    def fun(x: object, mean: object, a: object) -> object:
        cov = cnp.matmul(a, cnp.transpose(a)) + np.eye(3, dtype=a.dtype)
        return stats.multivariate_normal.logpdf(x, mean, cov)

    check_rule(fun, RNG.standard_normal((2, 3)), MEAN, A)


def test_dirichlet_matches_scipy_and_derivatives() -> None:
    alpha = np.array([1.5, 0.7, 2.0])
    x = RNG.dirichlet(alpha, size=4).T  # components on the first axis, as SciPy's
    for m in ("logpdf", "pdf"):
        np.testing.assert_allclose(getattr(stats.dirichlet, m)(x, alpha),
                                   getattr(ss.dirichlet, m)(x, alpha), rtol=1e-12)  # fmt: skip
        np.testing.assert_allclose(getattr(stats.dirichlet, m)(x[:2, 0], alpha),
                                   getattr(ss.dirichlet, m)(x[:2, 0], alpha), rtol=1e-12)  # fmt: skip
    check_rule(stats.dirichlet.logpdf, x[:2], alpha)  # the last component is 1 - the others
    with pytest.raises(ValueError, match="sum to 1"):
        stats.dirichlet.logpdf(np.array([0.5, 0.6, 0.1]), alpha)


def test_multinomial_matches_scipy_and_derivatives() -> None:
    xs = np.array([[1, 2, 3], [0, 0, 6], [1, 1, 1], [-1, 4, 3]])
    p = np.array([0.2, 0.3, 0.5])
    for m in ("logpmf", "pmf"):
        for n in (6, 6.5, -1):
            got = getattr(stats.multinomial, m)(xs, n, p)
            np.testing.assert_allclose(got, getattr(ss.multinomial, m)(xs, n, p), rtol=1e-12)
    check_rule(lambda p: stats.multinomial.logpmf(xs[:2], 6, p), p)
    with pytest.raises(TypeError, match=r"multinomial\.logpmf: x and n are counts"):
        cr.grad(lambda n: stats.multinomial.logpmf(xs[0], n, p))(6.0)


def test_loaded_lazily() -> None:
    code = "import sys, chainrule; print('chainrule.scipy.stats' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    assert repr(stats.norm) == "chainrule.scipy.stats.norm"


# ------------------------------------------------------------------------------ vmap


def test_multinomial_under_vmap_takes_batched_counts():
    """Counts are data: batched ones (one per example) map, matching SciPy per example."""
    xs, ns = np.array([[1, 2, 0], [0, 3, 0], [2, 0, 2]]), np.array([3, 3, 4])
    p = np.array([0.2, 0.5, 0.3])
    got = cr.vmap(lambda x, n: stats.multinomial.logpmf(x, n, p))(xs, ns)
    want = [ss.multinomial.logpmf(x, n, p) for x, n in zip(xs, ns, strict=True)]
    np.testing.assert_allclose(got, want, rtol=1e-13)
