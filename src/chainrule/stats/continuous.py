"""The continuous families: Uniform, Normal, MultivariateNormal, Exponential, Gamma and Beta.

Their ``log_prob`` is differentiable in the parameters and in the value, and so is ``cdf``
except in the shape parameters of Gamma (``shape``) and Beta (``a``, ``b``): their cdfs are
regularised incomplete gamma and beta functions, given derivatives in the value only.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, ClassVar

import numpy as np
import scipy.special as sc

import chainrule.numpy as cnp
from chainrule import tree
from chainrule.core.batching import defbatch
from chainrule.extend import defjvp, defvjp, primitive
from chainrule.numpy.rules.common import elementwise_batch
from chainrule.scipy import special
from chainrule.stats.distribution import Distribution, _show, _spd

LOG_2PI = math.log(2.0 * math.pi)


@tree.register_dataclass
@dataclasses.dataclass(frozen=True, repr=False, eq=False)
class Uniform(Distribution):
    """Equally likely anywhere in ``[low, high]`` (``scipy.stats.uniform(low, high - low)``).

    >>> d = Uniform(low=1.0, high=3.0)
    >>> print(float(d.prob(2.0)), float(d.cdf(1.5)), d.mean, round(d.variance, 6))
    0.5 0.25 2.0 0.333333
    """

    low: Any
    high: Any
    constraints: ClassVar[dict[str, str]] = {"low": "real", "high": "real"}
    support: ClassVar[str] = "interval"
    reparameterized: ClassVar[bool] = True

    def _check_together(self) -> None:
        super()._check_together()
        if not np.all(np.asarray(self.high) > np.asarray(self.low)):
            raise ValueError(
                f"Uniform: high must be > low, got low={_show(self.low)}, high={_show(self.high)}"
            )

    @property
    def _bound(self) -> Any:
        return (self._plain("low"), self._plain("high"))

    def _log_prob(self, x: Any) -> Any:
        return -cnp.log(self.high - self.low) + 0.0 * x  # "+ 0 x": the shape of x, and x's slope

    def _cdf(self, x: Any) -> Any:
        return cnp.clip((x - self.low) / (self.high - self.low), 0.0, 1.0)

    def entropy(self) -> Any:
        """``log(high - low)``."""
        return cnp.log(self.high - self.low)

    @property
    def mean(self) -> Any:
        return 0.5 * (self.low + self.high)

    @property
    def variance(self) -> Any:
        return (self.high - self.low) ** 2 / 12.0

    def _draw(self, n: int, rng: np.random.Generator) -> Any:
        return self.low + (self.high - self.low) * self._noise(rng.random, n)

    @classmethod
    def _closed_form(cls, data: Any, known: dict[str, Any]) -> dict[str, Any] | None:
        return {"low": data.min(), "high": data.max()}


@tree.register_dataclass
@dataclasses.dataclass(frozen=True, repr=False, eq=False)
class Normal(Distribution):
    """The Gaussian with mean `loc` and standard deviation `scale` (``scipy.stats.norm``).

    >>> d = Normal(loc=0.0, scale=2.0)
    >>> print(round(float(d.log_prob(1.0)), 6), round(float(d.cdf(2.0)), 6), d.variance)
    -1.737086 0.841345 4.0
    """

    loc: Any
    scale: Any
    constraints: ClassVar[dict[str, str]] = {"loc": "real", "scale": "positive"}
    reparameterized: ClassVar[bool] = True

    def _log_prob(self, x: Any) -> Any:
        z = (x - self.loc) / self.scale
        return -0.5 * z * z - cnp.log(self.scale) - 0.5 * LOG_2PI

    def _cdf(self, x: Any) -> Any:
        return special.ndtr((x - self.loc) / self.scale)

    def entropy(self) -> Any:
        """``log(scale) + (1 + log 2 pi) / 2``."""
        return cnp.log(self.scale) + 0.5 * (1.0 + LOG_2PI)

    @property
    def mean(self) -> Any:
        return self.loc

    @property
    def variance(self) -> Any:
        return self.scale**2

    def _draw(self, n: int, rng: np.random.Generator) -> Any:
        return self.loc + self.scale * self._noise(rng.standard_normal, n)

    @classmethod
    def _closed_form(cls, data: Any, known: dict[str, Any]) -> dict[str, Any] | None:
        return {"loc": data.mean(), "scale": data.std()}


@tree.register_dataclass
@dataclasses.dataclass(frozen=True, repr=False, eq=False)
class MultivariateNormal(Distribution):
    """The Gaussian on vectors with `mean` (d,) and covariance `cov` (d, d), positive definite.

    Matches ``scipy.stats.multivariate_normal``; ``variance`` is the diagonal of `cov`.
    A draw is ``mean + L eps`` with ``L L^T = cov`` (Cholesky) and ``eps ~ N(0, I)``.
    There is no cdf (it has no closed form).

    >>> d = MultivariateNormal(mean=[0.0, 0.0], cov=[[1.0, 0.5], [0.5, 2.0]])
    >>> print(round(float(d.log_prob([1.0, -1.0])), 6), d.variance)
    -3.260542 [1. 2.]
    """

    mean: Any
    cov: Any
    constraints: ClassVar[dict[str, str]] = {"mean": "vector", "cov": "covariance"}
    support: ClassVar[str] = "real"
    reparameterized: ClassVar[bool] = True
    event_ndim: ClassVar[int] = 1

    def _check_together(self) -> None:
        if np.shape(self.cov) != 2 * np.shape(self.mean):
            raise ValueError(
                f"MultivariateNormal: cov must be (d, d) for a mean of shape (d,); got mean "
                f"{np.shape(self.mean)} and cov {np.shape(self.cov)}"
            )

    @property
    def batch_shape(self) -> tuple[int, ...]:
        return ()

    def _log_prob(self, x: Any) -> Any:
        d = self.mean.shape[-1]
        if len(x.shape) == 0 or x.shape[-1] != d:
            raise ValueError(
                f"MultivariateNormal.log_prob: x must have a last axis of length {d} "
                f"(one vector per row), got shape {tuple(x.shape)}"
            )
        low = cnp.linalg.cholesky(self.cov)
        diff = cnp.reshape(x - self.mean, (-1, d))
        z = cnp.linalg.solve(low, diff.T)
        mahalanobis = cnp.reshape(cnp.sum(z * z, axis=0), x.shape[:-1])
        log_det = 2.0 * cnp.sum(cnp.log(cnp.diagonal(low)))
        return -0.5 * (mahalanobis + d * LOG_2PI + log_det)

    def _cdf(self, x: Any) -> Any:
        raise NotImplementedError(
            "MultivariateNormal.cdf has no closed form (it is a d-dimensional integral); "
            "use scipy.stats.multivariate_normal.cdf, which integrates numerically"
        )

    def entropy(self) -> Any:
        """``(d (1 + log 2 pi) + log det cov) / 2``."""
        d = self.mean.shape[-1]
        return 0.5 * (d * (1.0 + LOG_2PI) + cnp.linalg.slogdet(self.cov)[1])

    @property
    def variance(self) -> Any:
        return cnp.diagonal(self.cov)

    def _draw(self, n: int, rng: np.random.Generator) -> Any:
        d = self.mean.shape[-1]
        eps = rng.standard_normal((n, d)).astype(self._plain("cov").dtype, copy=False)
        return self.mean + eps @ cnp.linalg.cholesky(self.cov).T

    @classmethod
    def _event_size(cls, data: Any, known: dict[str, Any]) -> int:
        return int(data.shape[-1])

    @classmethod
    def _closed_form(cls, data: Any, known: dict[str, Any]) -> dict[str, Any] | None:
        centred = data - data.mean(axis=0)
        cov_ = centred.T @ centred / data.shape[0]
        if not _spd(cov_):
            raise ValueError(
                "fit_mle(MultivariateNormal): the sample covariance is singular; it needs more "
                f"rows than columns and no exactly dependent columns (data shape {data.shape})"
            )
        return {"mean": data.mean(axis=0), "cov": cov_}


@tree.register_dataclass
@dataclasses.dataclass(frozen=True, repr=False, eq=False)
class Exponential(Distribution):
    """Waiting times at `rate` events per unit time (``scipy.stats.expon(scale=1/rate)``).

    >>> d = Exponential(rate=2.0)
    >>> print(round(float(d.log_prob(1.0)), 6), d.mean, d.variance)
    -1.306853 0.5 0.25
    """

    rate: Any
    constraints: ClassVar[dict[str, str]] = {"rate": "positive"}
    support: ClassVar[str] = "nonnegative"
    reparameterized: ClassVar[bool] = True

    def _log_prob(self, x: Any) -> Any:
        return cnp.log(self.rate) - self.rate * x

    def _cdf(self, x: Any) -> Any:
        return -cnp.expm1(-self.rate * cnp.maximum(x, 0.0))

    def entropy(self) -> Any:
        """``1 - log(rate)``."""
        return 1.0 - cnp.log(self.rate)

    @property
    def mean(self) -> Any:
        return 1.0 / self.rate

    @property
    def variance(self) -> Any:
        return 1.0 / self.rate**2

    def _draw(self, n: int, rng: np.random.Generator) -> Any:
        return self._noise(rng.standard_exponential, n) / self.rate

    @classmethod
    def _closed_form(cls, data: Any, known: dict[str, Any]) -> dict[str, Any] | None:
        return {"rate": 1.0 / data.mean()}


# Regularised incomplete gamma and beta functions, differentiable in the upper limit only
# (their derivatives in the shape parameters have no closed form).
_gammainc = primitive(sc.gammainc, "gammainc")
_betainc = primitive(sc.betainc, "betainc")


def _gamma_density(a: Any, y: Any) -> Any:
    return cnp.exp(special.xlogy(a - 1.0, y) - y - special.gammaln(a))


def _log_beta(a: Any, b: Any) -> Any:
    """``log B(a, b) = log Gamma(a) + log Gamma(b) - log Gamma(a + b)``."""
    return special.gammaln(a) + special.gammaln(b) - special.gammaln(a + b)


def _beta_density(a: Any, b: Any, x: Any) -> Any:
    return cnp.exp(special.xlogy(a - 1.0, x) + special.xlog1py(b - 1.0, -x) - _log_beta(a, b))


defvjp(_gammainc, None, lambda g, ans, a, y: g * _gamma_density(a, y))
defjvp(_gammainc, None, lambda t, ans, a, y: t * _gamma_density(a, y))
defvjp(_betainc, None, None, lambda g, ans, a, b, x: g * _beta_density(a, b, x))
defjvp(_betainc, None, None, lambda t, ans, a, b, x: t * _beta_density(a, b, x))
defbatch(_gammainc, elementwise_batch(_gammainc))
defbatch(_betainc, elementwise_batch(_betainc))


@tree.register_dataclass
@dataclasses.dataclass(frozen=True, repr=False, eq=False)
class Gamma(Distribution):
    """Positive values with `shape` k and `rate` r: density ``r^k x^(k-1) e^(-r x) / Gamma(k)``.

    Rate, not scale: this is ``scipy.stats.gamma(a=shape, scale=1/rate)``. ``cdf`` is
    differentiable in `x` and `rate` but not in `shape` (no closed form; it raises).
    Draws are not reparameterised.

    >>> d = Gamma(shape=2.0, rate=3.0)
    >>> print(round(float(d.log_prob(1.0)), 6), round(float(d.cdf(1.0)), 6), round(d.mean, 6))
    -0.802775 0.800852 0.666667
    """

    shape: Any
    rate: Any
    constraints: ClassVar[dict[str, str]] = {"shape": "positive", "rate": "positive"}
    support: ClassVar[str] = "nonnegative"
    _fit_support: ClassVar[str | None] = "positive"

    def _log_prob(self, x: Any) -> Any:
        k, rate = self.shape, self.rate
        return special.xlogy(k, rate) + special.xlogy(k - 1.0, x) - rate * x - special.gammaln(k)

    def _cdf(self, x: Any) -> Any:
        return _gammainc(self.shape, self.rate * cnp.maximum(x, 0.0))

    def entropy(self) -> Any:
        """``k - log(rate) + log Gamma(k) + (1 - k) digamma(k)``."""
        k = self.shape
        return k - cnp.log(self.rate) + special.gammaln(k) + (1.0 - k) * special.digamma(k)

    @property
    def mean(self) -> Any:
        return self.shape / self.rate

    @property
    def variance(self) -> Any:
        return self.shape / self.rate**2

    def _draw(self, n: int, rng: np.random.Generator) -> Any:
        size = (n, *self.batch_shape)
        return rng.gamma(self._plain("shape"), 1.0 / self._plain("rate"), size)

    @classmethod
    def _start(cls, data: Any, known: dict[str, Any]) -> dict[str, Any]:
        m, v = data.mean(), data.var()  # method of moments: mean k/rate, variance k/rate^2
        return {"shape": m * m / v, "rate": m / v}


@tree.register_dataclass
@dataclasses.dataclass(frozen=True, repr=False, eq=False)
class Beta(Distribution):
    """Values in [0, 1] with density ``x^(a-1) (1-x)^(b-1) / B(a, b)`` (``scipy.stats.beta``).

    ``cdf`` is differentiable in `x` only (in `a` and `b` it raises). Draws are not
    reparameterised. The conjugate prior of a Bernoulli `p`: see `beta_bernoulli_update`.

    >>> d = Beta(a=2.0, b=3.0)
    >>> print(round(float(d.prob(0.5)), 6), round(float(d.cdf(0.5)), 6), d.mean, d.variance)
    1.5 0.6875 0.4 0.04
    """

    a: Any
    b: Any
    constraints: ClassVar[dict[str, str]] = {"a": "positive", "b": "positive"}
    support: ClassVar[str] = "unit"
    _fit_support: ClassVar[str | None] = "open unit"

    def _log_prob(self, x: Any) -> Any:
        a, b = self.a, self.b
        return special.xlogy(a - 1.0, x) + special.xlog1py(b - 1.0, -x) - _log_beta(a, b)

    def _cdf(self, x: Any) -> Any:
        return _betainc(self.a, self.b, cnp.clip(x, 0.0, 1.0))

    def entropy(self) -> Any:
        """``log B(a, b) - (a-1) psi(a) - (b-1) psi(b) + (a+b-2) psi(a+b)``."""
        a, b, psi = self.a, self.b, special.digamma
        return (
            _log_beta(a, b) - (a - 1.0) * psi(a) - (b - 1.0) * psi(b) + (a + b - 2.0) * psi(a + b)
        )

    @property
    def mean(self) -> Any:
        return self.a / (self.a + self.b)

    @property
    def variance(self) -> Any:
        total = self.a + self.b
        return self.a * self.b / (total**2 * (total + 1.0))

    def _draw(self, n: int, rng: np.random.Generator) -> Any:
        return rng.beta(self._plain("a"), self._plain("b"), (n, *self.batch_shape))

    @classmethod
    def _start(cls, data: Any, known: dict[str, Any]) -> dict[str, Any]:
        m, v = data.mean(), data.var()  # method of moments
        common = max(m * (1.0 - m) / v - 1.0, 1e-3)
        return {"a": m * common, "b": (1.0 - m) * common}
