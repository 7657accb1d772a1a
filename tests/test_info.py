"""chainrule.info against scipy.stats.entropy, jensenshannon, quadrature and Monte Carlo."""

from __future__ import annotations

import math

import numpy
import pytest
import scipy.integrate
import scipy.spatial.distance
import scipy.stats

import chainrule as cr
from chainrule import info

RNG = numpy.random.default_rng(0)


def random_distributions(shape: tuple[int, ...], zeros: bool = True) -> numpy.ndarray:
    """Random non-negative tables (not normalised), with some exact zeros when asked."""
    p = RNG.uniform(0.0, 3.0, shape)
    if zeros:
        p[RNG.uniform(size=shape) < 0.25] = 0.0
        for axis in range(len(shape)):  # every slice along any axis has a positive first entry
            numpy.moveaxis(p, axis, 0)[0] = 0.7
    return p


CASES = [((7,), -1), ((4, 6), -1), ((4, 6), 0), ((3, 4, 5), 1)]
BASES = [None, 2, 10, math.e]


# ------------------------------------------------------------------------ scipy oracle


@pytest.mark.parametrize(("shape", "axis"), CASES)
@pytest.mark.parametrize("base", BASES)
def test_entropy_matches_scipy(shape: tuple[int, ...], axis: int, base: float | None) -> None:
    p = random_distributions(shape)
    assert (p == 0).any()
    expected = scipy.stats.entropy(p, base=base, axis=axis)
    numpy.testing.assert_allclose(info.entropy(p, base=base, axis=axis), expected, rtol=1e-12)


@pytest.mark.parametrize(("shape", "axis"), CASES)
@pytest.mark.parametrize("base", BASES)
def test_kl_and_cross_entropy_match_scipy(
    shape: tuple[int, ...], axis: int, base: float | None
) -> None:
    p = random_distributions(shape)
    q = RNG.uniform(0.1, 2.0, shape)  # q > 0 where p > 0: finite divergence
    kl = scipy.stats.entropy(p, q, base=base, axis=axis)
    h = scipy.stats.entropy(p, base=base, axis=axis)
    numpy.testing.assert_allclose(info.kl_divergence(p, q, base, axis), kl, rtol=1e-10)
    numpy.testing.assert_allclose(info.cross_entropy(p, q, base, axis), h + kl, rtol=1e-10)


def test_uniform_over_four_outcomes_is_two_bits() -> None:
    assert info.entropy([0.25, 0.25, 0.25, 0.25], base=2) == pytest.approx(2.0, abs=1e-15)
    assert info.entropy([1, 1, 1, 1], base=2) == pytest.approx(2.0, abs=1e-15)  # counts
    assert info.entropy([0.0, 1.0, 0.0]) == 0.0
    assert info.entropy(numpy.full(10, 0.1)) == pytest.approx(math.log(10), rel=1e-14)


def test_inputs_are_normalised_like_scipy() -> None:
    counts = numpy.array([1.0, 2.0, 3.0, 4.0])
    assert info.entropy(counts) == pytest.approx(info.entropy(counts / 10), rel=1e-14)
    q = numpy.array([4.0, 3.0, 2.0, 1.0])
    assert info.kl_divergence(counts, 5 * q) == pytest.approx(
        scipy.stats.entropy(counts, q), rel=1e-12
    )


def test_kl_is_infinite_where_q_is_zero_and_p_is_not() -> None:
    p, q = numpy.array([0.5, 0.5, 0.0]), numpy.array([1.0, 0.0, 0.0])
    assert info.kl_divergence(p, q) == scipy.stats.entropy(p, q) == math.inf
    assert info.cross_entropy(p, q) == math.inf
    # where p = 0 the value of q does not matter: 0 log(0 / 0) = 0
    assert info.kl_divergence([1.0, 0.0], [1.0, 0.0]) == 0.0


def test_q_broadcasts_against_p() -> None:
    p = random_distributions((5, 4))
    q = RNG.uniform(0.1, 1.0, 4)
    expected = scipy.stats.entropy(p, numpy.broadcast_to(q, p.shape), axis=-1)
    numpy.testing.assert_allclose(info.kl_divergence(p, q), expected, rtol=1e-12)


def test_float32_stays_float32() -> None:
    p = numpy.array([0.2, 0.3, 0.5], dtype=numpy.float32)
    assert info.entropy(p).dtype == numpy.float32
    assert info.kl_divergence(p, p[::-1]).dtype == numpy.float32


# ---------------------------------------------------------------------- Jensen–Shannon


@pytest.mark.parametrize(("shape", "axis"), CASES)
@pytest.mark.parametrize("base", [None, 2])
def test_js_matches_scipy_distance_squared(
    shape: tuple[int, ...], axis: int, base: float | None
) -> None:
    p, q = random_distributions(shape), random_distributions(shape)
    expected = scipy.spatial.distance.jensenshannon(p, q, base=base, axis=axis) ** 2
    numpy.testing.assert_allclose(info.js_divergence(p, q, base, axis), expected, rtol=1e-9)


def test_js_is_symmetric_and_bounded_by_log_2() -> None:
    p, q = random_distributions((50, 6)), random_distributions((50, 6))
    js = info.js_divergence(p, q)
    numpy.testing.assert_allclose(js, info.js_divergence(q, p), rtol=1e-13)
    assert numpy.all(js >= 0) and numpy.all(js <= math.log(2))
    disjoint = info.js_divergence([0.5, 0.5, 0.0, 0.0], [0.0, 0.0, 0.3, 0.7])
    assert disjoint == pytest.approx(math.log(2), rel=1e-14)
    assert info.js_divergence([1, 0], [0, 1], base=2) == pytest.approx(1.0, rel=1e-14)
    assert info.js_divergence(p[0], p[0]) == pytest.approx(0.0, abs=1e-15)


# ------------------------------------------------------------------ mutual information


def test_mutual_information_is_hx_plus_hy_minus_hxy() -> None:
    joint = random_distributions((4, 6))
    joint /= joint.sum()
    h_x = scipy.stats.entropy(joint.sum(axis=1))
    h_y = scipy.stats.entropy(joint.sum(axis=0))
    h_xy = scipy.stats.entropy(joint.ravel())
    assert info.mutual_information(joint) == pytest.approx(h_x + h_y - h_xy, rel=1e-10)
    assert info.mutual_information(5 * joint, base=2) == pytest.approx(
        (h_x + h_y - h_xy) / math.log(2), rel=1e-10
    )


def test_mutual_information_of_independent_and_diagonal_tables() -> None:
    independent = numpy.outer([0.1, 0.6, 0.3], [0.25, 0.25, 0.4, 0.1])
    assert info.mutual_information(independent) == pytest.approx(0.0, abs=1e-14)
    p_x = numpy.array([0.1, 0.2, 0.3, 0.4])
    assert info.mutual_information(numpy.diag(p_x)) == pytest.approx(
        scipy.stats.entropy(p_x), rel=1e-13
    )
    assert info.mutual_information(numpy.eye(8), base=2) == pytest.approx(3.0, rel=1e-14)


def test_mutual_information_matches_sklearn() -> None:
    metrics = pytest.importorskip("sklearn.metrics")
    counts = RNG.integers(0, 20, (5, 3))
    counts[0, 0] = 0
    expected = metrics.mutual_info_score(None, None, contingency=counts)
    assert info.mutual_information(counts) == pytest.approx(expected, rel=1e-10)


# --------------------------------------------------------------------------- Gaussians


def normal_logpdf(x: float, mu: float, sigma: float) -> float:
    return -0.5 * ((x - mu) / sigma) ** 2 - math.log(sigma) - 0.5 * math.log(2 * math.pi)


@pytest.mark.parametrize(
    ("mu1", "sigma1", "mu2", "sigma2"),
    [(0.0, 1.0, 0.0, 1.0), (0.5, 0.7, -1.0, 1.3), (2.0, 3.0, 0.0, 0.5), (-1.0, 0.2, -1.1, 0.25)],
)
def test_gaussian_kl_matches_quadrature(
    mu1: float, sigma1: float, mu2: float, sigma2: float
) -> None:
    def integrand(x: float) -> float:
        log_p = normal_logpdf(x, mu1, sigma1)
        return math.exp(log_p) * (log_p - normal_logpdf(x, mu2, sigma2))

    lo, hi = mu1 - 12 * sigma1, mu1 + 12 * sigma1
    expected, _ = scipy.integrate.quad(integrand, lo, hi, epsabs=1e-13, epsrel=1e-12, limit=200)
    assert info.gaussian_kl(mu1, sigma1, mu2, sigma2) == pytest.approx(expected, abs=1e-9)


def test_gaussian_kl_matches_monte_carlo_and_is_vectorised() -> None:
    mu1, sigma1 = numpy.array([0.0, 1.0, -2.0]), numpy.array([1.0, 0.5, 2.0])
    mu2, sigma2 = numpy.array([0.5, 0.0, -2.0]), numpy.array([1.5, 1.0, 1.0])
    kl = info.gaussian_kl(mu1, sigma1, mu2, sigma2)
    assert kl.shape == (3,)
    x = mu1 + sigma1 * RNG.standard_normal((200_000, 3))
    log_ratio = scipy.stats.norm.logpdf(x, mu1, sigma1) - scipy.stats.norm.logpdf(x, mu2, sigma2)
    estimate = log_ratio.mean(axis=0)
    stderr = log_ratio.std(axis=0) / math.sqrt(len(x))
    assert numpy.all(numpy.abs(kl - estimate) < 5 * stderr + 1e-12)
    # broadcasting: the KL of each mean against a standard normal (a VAE's latent term)
    per_latent = info.gaussian_kl(numpy.zeros((2, 3)), numpy.ones((2, 3)), 0.0, 1.0)
    numpy.testing.assert_array_equal(per_latent, numpy.zeros((2, 3)))


def random_covariance(k: int) -> numpy.ndarray:
    a = RNG.standard_normal((k, k))
    return a @ a.T + 0.5 * numpy.eye(k)


def test_gaussian_kl_mv_matches_monte_carlo() -> None:
    k = 3
    mean1, mean2 = RNG.standard_normal(k), RNG.standard_normal(k)
    cov1, cov2 = random_covariance(k), random_covariance(k)
    kl = info.gaussian_kl_mv(mean1, cov1, mean2, cov2)
    p, q = (
        scipy.stats.multivariate_normal(mean1, cov1),
        scipy.stats.multivariate_normal(mean2, cov2),
    )
    x = p.rvs(size=200_000, random_state=1)
    log_ratio = p.logpdf(x) - q.logpdf(x)
    stderr = log_ratio.std() / math.sqrt(len(x))
    assert abs(kl - log_ratio.mean()) < 5 * stderr
    assert info.gaussian_kl_mv(mean1, cov1, mean1, cov1) == pytest.approx(0.0, abs=1e-12)


def test_gaussian_kl_mv_reduces_to_univariate_and_diagonal_sums() -> None:
    one = info.gaussian_kl_mv([0.3], [[0.49]], [-1.0], [[1.69]])
    assert one == pytest.approx(info.gaussian_kl(0.3, 0.7, -1.0, 1.3), rel=1e-13)
    mu1, s1, mu2, s2 = [0.0, 1.0], numpy.array([0.5, 2.0]), [1.0, -1.0], numpy.array([1.0, 1.5])
    diagonal = info.gaussian_kl_mv(mu1, numpy.diag(s1**2), mu2, numpy.diag(s2**2))
    assert diagonal == pytest.approx(info.gaussian_kl(mu1, s1, mu2, s2).sum(), rel=1e-13)


# -------------------------------------------------------------------------- derivatives


def positive(shape: tuple[int, ...]) -> numpy.ndarray:
    return RNG.uniform(0.2, 1.0, shape)


def test_gradients_check() -> None:
    p, q = positive((5,)), positive((5,))
    cr.check_grads(info.entropy, (p,), order=2)
    cr.check_grads(lambda p: info.entropy(p, base=2, axis=0), (positive((3, 4)),), order=2)
    cr.check_grads(info.cross_entropy, (p, q), order=2)
    cr.check_grads(info.kl_divergence, (p, q), order=2)
    cr.check_grads(lambda p, q: info.js_divergence(p, q, base=2), (p, q), order=2)
    cr.check_grads(info.mutual_information, (positive((3, 4)),), order=2)


def test_gaussian_gradients_check() -> None:
    cr.check_grads(info.gaussian_kl, (0.3, 0.8, -0.5, 1.4), order=2)
    cr.check_grads(info.gaussian_kl, (positive((3,)), positive((3,)), 0.0, positive((3,))), order=2)

    def kl(
        m1: numpy.ndarray, l1: numpy.ndarray, m2: numpy.ndarray, l2: numpy.ndarray
    ) -> numpy.ndarray:
        return info.gaussian_kl_mv(m1, l1 @ l1.T, m2, l2 @ l2.T)  # covariances from factors

    l1, l2 = (
        numpy.linalg.cholesky(random_covariance(2)),
        numpy.linalg.cholesky(random_covariance(2)),
    )
    cr.check_grads(kl, (positive((2,)), l1, positive((2,)), l2), order=2)
    # the closed form's gradient in mu1 is (mu1 - mu2) / sigma2²
    assert cr.grad(info.gaussian_kl)(1.0, 1.0, 0.0, 2.0) == pytest.approx(0.25)


def test_gradients_are_finite_at_exact_zeros() -> None:
    p = numpy.array([0.5, 0.3, 0.0, 0.2])
    q = numpy.array([0.1, 0.4, 0.3, 0.2])
    functions = [
        info.entropy,
        lambda p: info.kl_divergence(p, q),
        lambda p: info.js_divergence(p, q),
        lambda p: info.js_divergence(q, p),
    ]
    for f in functions:
        assert numpy.isfinite(f(p))
        assert numpy.all(numpy.isfinite(cr.grad(f)(p)))
        assert numpy.all(numpy.isfinite(cr.hessian(f)(p)))
    # entries that are not 0 get the ordinary derivative: the same as with the 0 left out
    g = cr.grad(info.entropy)(p)
    numpy.testing.assert_allclose(
        g[[0, 1, 3]] - g[[0, 1, 3]].mean(),
        cr.grad(info.entropy)(p[[0, 1, 3]]) - cr.grad(info.entropy)(p[[0, 1, 3]]).mean(),
        rtol=1e-12,
    )
    joint = numpy.array([[0.3, 0.0], [0.2, 0.5]])
    assert numpy.all(numpy.isfinite(cr.grad(info.mutual_information)(joint)))


# ------------------------------------------------------------------------------- errors


def test_negative_probabilities_are_refused() -> None:
    with pytest.raises(ValueError, match="p has negative entries"):
        info.entropy([0.5, -0.1, 0.6])
    with pytest.raises(ValueError, match="q has negative entries"):
        info.kl_divergence([0.5, 0.5], [1.2, -0.2])
    with pytest.raises(ValueError, match="joint has negative entries"):
        info.mutual_information([[0.5, -0.5], [0.5, 0.5]])


Z2, I2 = numpy.zeros(2), numpy.eye(2)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: info.entropy([0.0, 0.0]), ValueError, "sums to 0"),
        (lambda: info.entropy([0.5, math.nan]), ValueError, "NaN or infinite"),
        (lambda: info.entropy(["a", "b"]), TypeError, "p must hold real floating-point numbers"),
        (lambda: info.entropy([0.5, 0.5], base=1), ValueError, "base must be"),
        (lambda: info.entropy([0.5, 0.5], base=-2), ValueError, "base must be"),
        (lambda: info.entropy([0.5, 0.5], axis=1), ValueError, "out of range"),
        (lambda: info.entropy([0.5, 0.5], axis=0.5), TypeError, "axis must be an int"),
        (lambda: info.entropy(1.0), ValueError, "at least 1 axis"),
        (lambda: info.kl_divergence([0.5, 0.5], [0.2, 0.3, 0.5]), ValueError, "broadcast"),
        (lambda: info.mutual_information([0.5, 0.5]), ValueError, "2-D table"),
        (lambda: info.gaussian_kl(0.0, 0.0, 0.0, 1.0), ValueError, "sigma1 must be > 0"),
        (lambda: info.gaussian_kl(0.0, 1.0, 0.0, -1.0), ValueError, "sigma2 must be > 0"),
        (lambda: info.gaussian_kl_mv(Z2, [[1, 2], [2, 1]], Z2, I2), ValueError, "cov1 is not pos"),
        (
            lambda: info.gaussian_kl_mv(Z2, I2, Z2, [[1, 0.5], [0, 1]]),
            ValueError,
            "cov2 is not sym",
        ),
        (lambda: info.gaussian_kl_mv(Z2, numpy.eye(3), Z2, I2), ValueError, "must be \\(2, 2\\)"),
        (lambda: info.gaussian_kl_mv(Z2, I2, [0.0], I2), ValueError, "vectors of one length"),
    ],
)
def test_bad_input_gets_a_clear_error(call, error, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(error, match=message):
        call()
