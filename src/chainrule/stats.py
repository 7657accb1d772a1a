"""Probability distributions, maximum likelihood and Bayes' rule, all differentiable.

Each distribution is a frozen dataclass whose fields are its parameters, registered as a
pytree: it can be built from traced parameters, passed into and out of `cr.grad`, and its
``log_prob``, ``cdf``, ``entropy``, ``mean`` and ``variance`` are differentiable in the
parameters (``log_prob`` and ``cdf`` also in the value, for continuous families). Values
agree with ``scipy.stats``.

- ``dist.sample(n, rng)`` returns ``n`` draws, shaped ``(n,) + batch_shape + event_shape``;
  ``rng`` is a seed, a ``numpy.random.Generator`` or None. Where ``reparameterized`` is
  True (Normal, Uniform, Exponential, MultivariateNormal) a draw is a differentiable
  function of the parameters and of parameter-free noise, e.g. ``loc + scale * eps``, so
  ``cr.grad`` of a Monte Carlo average flows into the parameters (the
  *reparameterisation trick*). The other families return plain draws with no derivative.
- ``mean`` and ``variance`` are properties; ``entropy()``, ``log_prob(x)``, ``prob(x)`` and
  ``cdf(x)`` are methods. Values outside the support have log-probability ``-inf``.
- Parameters are checked when they are plain values (``Normal(0.0, -1.0)`` is an error);
  traced parameters are not inspected.
- `fit_mle` fits any family by maximum likelihood: the closed form where there is one,
  otherwise L-BFGS on the negative log-likelihood, with gradients from chainrule and each
  parameter mapped to an unconstrained one (log, logit, softmax, log-Cholesky).

>>> import chainrule as cr
>>> from chainrule.stats import Normal
>>> d = Normal(loc=1.0, scale=2.0)
>>> print(round(float(d.log_prob(0.0)), 6), round(float(d.cdf(1.0)), 6))
-1.737086 0.5
>>> score = cr.grad(lambda d: d.log_prob(0.0))(d)  # a gradient is a Normal of partials
>>> print(round(float(score.loc), 6), round(float(score.scale), 6))
-0.25 -0.375
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import numpy
import scipy.optimize
import scipy.special as sc

import chainrule as cr
import chainrule.numpy as np
from chainrule import tree
from chainrule._seed import rng_from
from chainrule._validate import count, float_array
from chainrule.core.trace import Tracer, primal
from chainrule.extend import defjvp, defvjp, primitive
from chainrule.scipy import special

__all__ = [
    "FAMILIES", "Bernoulli", "Beta", "Binomial", "Categorical", "Distribution", "Exponential",
    "Gamma", "MultivariateNormal", "Normal", "Poisson", "Uniform", "bayes",
    "beta_bernoulli_update", "corrcoef", "cov", "fit_mle", "mean", "var",
]  # fmt: skip

LOG_2PI = math.log(2.0 * math.pi)

Rng = int | numpy.random.Generator | None

# ------------------------------------------------------------------------- small helpers


def _is_traced(x: Any) -> bool:
    return isinstance(x, Tracer)


def _show(v: Any) -> str:
    if _is_traced(v):
        return f"<traced {tuple(v.shape)}>"
    if isinstance(v, (int, float)):
        return repr(v)
    a = numpy.asarray(v)
    if a.ndim == 0:
        return repr(a.item())
    return numpy.array2string(a, separator=", ", max_line_width=10**6)


# ------------------------------------------------------------------------------ constraints


def _spd(c: Any) -> bool:
    if c.ndim != 2 or c.shape[0] != c.shape[1] or not numpy.allclose(c, c.T):
        return False
    try:
        numpy.linalg.cholesky(c)
    except numpy.linalg.LinAlgError:
        return False
    return True


def _cholesky_free(c: Any) -> Any:
    """A covariance as an unconstrained matrix: its Cholesky factor with log-diagonal."""
    low = numpy.linalg.cholesky(c)
    return numpy.tril(low, -1) + numpy.diag(numpy.log(numpy.diag(low)))


def _cholesky_cov(u: Any) -> Any:
    low = np.tril(u, -1) + np.diag(np.exp(np.diagonal(u)))
    return low @ low.T


@dataclasses.dataclass(frozen=True)
class _Constraint:
    """Where a parameter lives, and the maps to and from an unconstrained one (for fitting)."""

    rule: str  # completes "<Family>: <name> ..."
    ok: Callable[[Any], bool]
    to_free: Callable[[Any], Any]  # plain NumPy, constrained -> unconstrained
    from_free: Callable[[Any], Any]  # chainrule.numpy, unconstrained -> constrained
    default: Callable[[int], Any]  # a starting value, given the event size


_CONSTRAINTS: dict[str, _Constraint] = {
    "real": _Constraint(
        "must be finite", lambda v: bool(numpy.all(numpy.isfinite(v))),
        lambda v: v, lambda u: u, lambda k: 0.0,
    ),
    "positive": _Constraint(
        "must be > 0", lambda v: bool(numpy.all(v > 0) and numpy.all(numpy.isfinite(v))),
        numpy.log, np.exp, lambda k: 1.0,
    ),
    "probability": _Constraint(
        "must be in [0, 1]", lambda v: bool(numpy.all((v >= 0) & (v <= 1))),
        sc.logit, special.expit, lambda k: 0.5,
    ),
    "simplex": _Constraint(
        "must be a 1-D vector of non-negative probabilities that sum to 1",
        lambda v: bool(
            v.ndim == 1 and v.size > 0 and numpy.all(v >= 0) and abs(v.sum() - 1.0) <= 1e-8
        ),
        numpy.log, lambda u: special.softmax(u, axis=-1), lambda k: numpy.full(k, 1.0 / k),
    ),
    "vector": _Constraint(
        "must be a 1-D vector of finite numbers",
        lambda v: bool(v.ndim == 1 and numpy.all(numpy.isfinite(v))),
        lambda v: v, lambda u: u, lambda k: numpy.zeros(k),
    ),
    "covariance": _Constraint(
        "must be a symmetric positive-definite matrix", _spd,
        _cholesky_free, _cholesky_cov, lambda k: numpy.eye(k),
    ),
}  # fmt: skip
"""Parameter kinds: how each is checked, and mapped to the real line for gradient fitting."""


# ------------------------------------------------------------------------------- supports


@dataclasses.dataclass(frozen=True)
class _Support:
    """The values a family can take: a test on plain values, and one value surely inside."""

    rule: str
    contains: Callable[[Any, Any], Any]  # (plain x, bound) -> boolean array
    safe: float


def _integer(x: Any) -> Any:
    return numpy.floor(x) == x


_SUPPORTS: dict[str, _Support] = {
    "binary": _Support("0 or 1", lambda x, b: (x == 0) | (x == 1), 0.0),
    "counts": _Support("non-negative integers", lambda x, b: (x >= 0) & _integer(x), 0.0),
    "counts to n": _Support("integers 0..n", lambda x, b: (x >= 0) & (x <= b) & _integer(x), 0.0),
    "classes": _Support("class indices 0..k-1", lambda x, b: (x >= 0) & (x < b) & _integer(x), 0.0),
    "interval": _Support("in [low, high]", lambda x, b: (x >= b[0]) & (x <= b[1]), 0.0),
    "real": _Support("real numbers", lambda x, b: numpy.ones(numpy.shape(x), bool), 0.0),
    "nonnegative": _Support("non-negative numbers", lambda x, b: x >= 0, 1.0),
    "unit": _Support("in [0, 1]", lambda x, b: (x >= 0) & (x <= 1), 0.5),
    # Stricter, for fitting: at 0 (and 1) the density of Gamma and Beta can be 0 or infinite.
    "positive": _Support("positive numbers", lambda x, b: x > 0, 1.0),
    "open unit": _Support("in the open interval (0, 1)", lambda x, b: (x > 0) & (x < 1), 0.5),
}


# ------------------------------------------------------------------------------ base class


class Distribution:
    """Common machinery of the distributions: checks, sampling, pmf/pdf, finite sums.

    A family sets `constraints` (parameter name -> kind, one entry per parameter leaf),
    `support`, `reparameterized`, and implements ``_log_prob`` on in-support values,
    ``_draw``, ``entropy``, ``mean`` and ``variance`` (and ``_cdf`` where it has one).
    """

    constraints: ClassVar[dict[str, str]] = {}
    support: ClassVar[str] = "real"
    reparameterized: ClassVar[bool] = False
    discrete: ClassVar[bool] = False
    event_ndim: ClassVar[int] = 0
    _fit_keywords: ClassVar[tuple[str, ...]] = ()
    _fit_support: ClassVar[str | None] = None  # the data fit_mle accepts, if not `support`

    if TYPE_CHECKING:

        @property
        def mean(self) -> Any: ...

        @property
        def variance(self) -> Any: ...

    def __post_init__(self) -> None:
        family = type(self).__name__
        plain = True
        for name, kind in self.constraints.items():
            value = getattr(self, name)
            if _is_traced(value):
                plain = False
                continue
            value = float_array(value, name, family)
            if isinstance(getattr(self, name), (int, float)) and value.ndim == 0:
                value = float(value)
            object.__setattr__(self, name, value)
            constraint = _CONSTRAINTS[kind]
            if not constraint.ok(numpy.asarray(value)):
                raise ValueError(f"{family}: {name} {constraint.rule}, got {_show(value)}")
        if plain:
            self._check_together()

    def _check_together(self) -> None:
        """Checks across parameters (plain values only); families add their own."""
        try:
            self.batch_shape  # noqa: B018
        except ValueError:
            shapes = {n: numpy.shape(getattr(self, n)) for n in self.constraints}
            raise ValueError(
                f"{type(self).__name__}: parameter shapes {shapes} do not broadcast together"
            ) from None

    def __repr__(self) -> str:
        fields = dataclasses.fields(self)  # type: ignore[arg-type]
        args = ", ".join(f"{f.name}={_show(getattr(self, f.name))}" for f in fields)
        return f"{type(self).__name__}({args})"

    # --- shapes --------------------------------------------------------------------------

    @property
    def batch_shape(self) -> tuple[int, ...]:
        """The broadcast shape of the parameters: how many distributions this object holds.

        >>> Normal(loc=[0.0, 1.0], scale=1.0).batch_shape
        (2,)
        """
        return numpy.broadcast_shapes(*(numpy.shape(getattr(self, n)) for n in self.constraints))

    @property
    def _bound(self) -> Any:
        """What the support depends on (n, the number of classes, the interval), if anything."""
        return None

    # --- densities -----------------------------------------------------------------------

    def log_prob(self, x: Any) -> Any:
        """The log pmf (discrete) or log pdf (continuous) at `x`; ``-inf`` outside the support.

        Broadcasts `x` against the parameters; differentiable in the parameters and, for
        continuous families, in `x`.

        >>> print(round(float(Poisson(rate=3.0).log_prob(2)), 6))
        -1.495923
        """
        x = float_array(x, "x", f"{type(self).__name__}.log_prob")
        if self.discrete and _is_traced(x):
            raise TypeError(
                f"{type(self).__name__}.log_prob: x is discrete and cannot be differentiated; "
                "pass plain values (differentiate with respect to the parameters instead)"
            )
        if self.event_ndim:
            return self._log_prob(x)
        # Outside the support (and at NaN) evaluate at a safe point, then overwrite: no
        # warnings, and no NaN leaking into derivatives through the branch not taken.
        support = _SUPPORTS[self.support]
        plain_x = numpy.asarray(primal(x))
        inside = support.contains(plain_x, self._bound)
        if numpy.all(inside):
            return self._log_prob(x)
        out = np.where(inside, self._log_prob(np.where(inside, x, support.safe)), -np.inf)
        nan = numpy.isnan(plain_x)
        return np.where(nan, numpy.nan, out) if nan.any() else out

    def _log_prob(self, x: Any) -> Any:
        raise NotImplementedError

    def prob(self, x: Any) -> Any:
        """The pmf (discrete) or pdf (continuous) at `x`: ``exp(log_prob(x))``.

        >>> print(round(float(Bernoulli(p=0.3).prob(1)), 6))
        0.3
        """
        return np.exp(self.log_prob(x))

    def cdf(self, x: Any) -> Any:
        """``P(X <= x)``; differentiable in the parameters (and in `x` if continuous).

        >>> print(round(float(Exponential(rate=2.0).cdf(0.5)), 6))
        0.632121
        """
        x = float_array(x, "x", f"{type(self).__name__}.cdf")
        if self.discrete and _is_traced(x):
            raise TypeError(f"{type(self).__name__}.cdf: x is discrete; pass plain values")
        return self._cdf(x)

    def _cdf(self, x: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} has no cdf")

    def entropy(self) -> Any:
        """The (differential, for continuous families) entropy in nats.

        >>> print(round(float(Normal(0.0, 1.0).entropy()), 6))
        1.418939
        """
        raise NotImplementedError

    # --- sampling ------------------------------------------------------------------------

    def sample(self, n: int, rng: Rng = None) -> Any:
        """`n` independent draws, shaped ``(n,) + batch_shape + event_shape``.

        Reparameterised families (``reparameterized = True``) return a differentiable
        function of the parameters; the others return plain arrays (discrete ones integers).

        >>> Normal(loc=10.0, scale=0.0001).sample(3, rng=0).round(2)
        array([10., 10., 10.])
        """
        where = f"{type(self).__name__}.sample"
        return self._draw(count(n, "n", where, minimum=0), rng_from(rng, where, "rng"))

    def _draw(self, n: int, rng: numpy.random.Generator) -> Any:
        raise NotImplementedError

    def _plain(self, name: str) -> Any:
        return numpy.asarray(primal(getattr(self, name)))

    def _noise(self, draw: Callable[..., Any], n: int) -> Any:
        """Parameter-free noise of shape ``(n,) + batch_shape`` in the parameters' dtype."""
        dtype = numpy.result_type(*(self._plain(p) for p in self.constraints), numpy.float32)
        return draw((n, *self.batch_shape)).astype(dtype, copy=False)

    # --- finite sums over a discrete support ---------------------------------------------

    def _pmf_table(self, kmax: int, ndim: int) -> tuple[Any, Any]:
        """Values 0..kmax on a new leading axis (then `ndim` singleton axes) and their pmf."""
        ks = numpy.arange(kmax + 1, dtype=numpy.float64).reshape((-1,) + (1,) * ndim)
        return ks, np.exp(self.log_prob(ks))

    def _cdf_by_sum(self, x: Any, kmax: int) -> Any:
        x = numpy.asarray(x)
        ndim = max(x.ndim, len(self.batch_shape))
        ks, pmf = self._pmf_table(kmax, ndim)
        total = np.sum(np.where(ks <= numpy.floor(x), pmf, 0.0), axis=0)
        return np.where(numpy.isnan(x), numpy.nan, total) if numpy.isnan(x).any() else total

    def _entropy_by_sum(self, kmax: int) -> Any:
        _, pmf = self._pmf_table(kmax, len(self.batch_shape))
        return -np.sum(special.xlogy(pmf, pmf), axis=0)

    # --- fitting hooks -------------------------------------------------------------------

    @classmethod
    def _closed_form(cls, data: Any, known: dict[str, Any]) -> dict[str, Any] | None:
        """The maximum-likelihood parameters in closed form, or None where there is none."""
        return None

    @classmethod
    def _event_size(cls, data: Any, known: dict[str, Any]) -> int:
        """The length of vector parameters (classes, dimensions) implied by the data."""
        return 1

    @classmethod
    def _start(cls, data: Any, known: dict[str, Any]) -> dict[str, Any]:
        """Where the gradient fit starts: a neutral value of each parameter's kind."""
        k = cls._event_size(data, known)
        return {name: _CONSTRAINTS[c].default(k) for name, c in cls.constraints.items()}


_D = TypeVar("_D", bound=Distribution)


# --------------------------------------------------------------------------- discrete


@tree.register_dataclass
@dataclasses.dataclass(frozen=True, repr=False, eq=False)
class Bernoulli(Distribution):
    """One coin flip: 1 with probability `p`, else 0 (``scipy.stats.bernoulli(p)``).

    >>> d = Bernoulli(p=0.25)
    >>> print(d.mean, round(d.variance, 4), round(float(d.entropy()), 6))
    0.25 0.1875 0.562335
    >>> print(float(Bernoulli(p=0.0).log_prob(0)))  # finite at the ends
    0.0
    """

    p: Any
    constraints: ClassVar[dict[str, str]] = {"p": "probability"}
    support: ClassVar[str] = "binary"
    discrete: ClassVar[bool] = True

    def _log_prob(self, x: Any) -> Any:
        return special.xlogy(x, self.p) + special.xlog1py(1.0 - x, -self.p)

    def _cdf(self, x: Any) -> Any:
        return self._cdf_by_sum(x, 1)

    def entropy(self) -> Any:
        """``-p log p - (1 - p) log(1 - p)``."""
        return self._entropy_by_sum(1)

    @property
    def mean(self) -> Any:
        return self.p

    @property
    def variance(self) -> Any:
        return self.p * (1.0 - self.p)

    def _draw(self, n: int, rng: numpy.random.Generator) -> Any:
        return (rng.random((n, *self.batch_shape)) < self._plain("p")).astype(numpy.int64)

    @classmethod
    def _closed_form(cls, data: Any, known: dict[str, Any]) -> dict[str, Any] | None:
        return {"p": data.mean()}


@tree.register_dataclass
@dataclasses.dataclass(frozen=True, repr=False, eq=False)
class Binomial(Distribution):
    """Successes in `n` independent trials of probability `p` (``scipy.stats.binom(n, p)``).

    `n` is a fixed, non-negative integer (part of the structure, not a parameter leaf).

    >>> d = Binomial(n=10, p=0.3)
    >>> print(round(float(d.prob(3)), 6), round(float(d.cdf(3)), 6), d.mean)
    0.266828 0.649611 3.0
    """

    n: int = dataclasses.field(metadata={"static": True})
    p: Any
    constraints: ClassVar[dict[str, str]] = {"p": "probability"}
    support: ClassVar[str] = "counts to n"
    discrete: ClassVar[bool] = True
    _fit_keywords: ClassVar[tuple[str, ...]] = ("n",)

    def __post_init__(self) -> None:
        object.__setattr__(self, "n", count(self.n, "n", "Binomial", minimum=0))
        super().__post_init__()

    @property
    def _bound(self) -> Any:
        return self.n

    def _log_prob(self, x: Any) -> Any:
        n, p = self.n, self.p
        log_choose = sc.gammaln(n + 1.0) - sc.gammaln(x + 1.0) - sc.gammaln(n - x + 1.0)
        return log_choose + special.xlogy(x, p) + special.xlog1py(n - x, -p)

    def _cdf(self, x: Any) -> Any:
        return self._cdf_by_sum(x, self.n)

    def entropy(self) -> Any:
        """``-sum_k pmf(k) log pmf(k)`` over ``k = 0..n``."""
        return self._entropy_by_sum(self.n)

    @property
    def mean(self) -> Any:
        return self.n * self.p

    @property
    def variance(self) -> Any:
        return self.n * self.p * (1.0 - self.p)

    def _draw(self, n: int, rng: numpy.random.Generator) -> Any:
        return rng.binomial(self.n, self._plain("p"), (n, *self.batch_shape))

    @classmethod
    def _closed_form(cls, data: Any, known: dict[str, Any]) -> dict[str, Any] | None:
        return {"p": data.mean() / known["n"]}


@tree.register_dataclass
@dataclasses.dataclass(frozen=True, repr=False, eq=False)
class Poisson(Distribution):
    """Counts of events at average `rate` (``scipy.stats.poisson(rate)``).

    >>> d = Poisson(rate=2.0)
    >>> print(round(float(d.prob(0)), 6), round(float(d.cdf(2)), 6), round(float(d.entropy()), 6))
    0.135335 0.676676 1.704883
    """

    rate: Any
    constraints: ClassVar[dict[str, str]] = {"rate": "positive"}
    support: ClassVar[str] = "counts"
    discrete: ClassVar[bool] = True

    def _log_prob(self, x: Any) -> Any:
        return special.xlogy(x, self.rate) - self.rate - sc.gammaln(x + 1.0)

    def _last(self) -> int:
        """A count past which the pmf is below 1e-30: 12 standard deviations above the mean + 40."""
        top = float(numpy.max(self._plain("rate")))
        return int(top + 12.0 * math.sqrt(top) + 40.0)

    def _cdf(self, x: Any) -> Any:
        largest = numpy.max(numpy.nan_to_num(x, nan=0.0), initial=0.0)
        return self._cdf_by_sum(x, int(min(largest, self._last())))

    def entropy(self) -> Any:
        """``-sum_k pmf(k) log pmf(k)``, summed until the terms are negligible."""
        return self._entropy_by_sum(self._last())

    @property
    def mean(self) -> Any:
        return self.rate

    @property
    def variance(self) -> Any:
        return self.rate

    def _draw(self, n: int, rng: numpy.random.Generator) -> Any:
        return rng.poisson(self._plain("rate"), (n, *self.batch_shape))

    @classmethod
    def _closed_form(cls, data: Any, known: dict[str, Any]) -> dict[str, Any] | None:
        return {"rate": data.mean()}


@tree.register_dataclass
@dataclasses.dataclass(frozen=True, repr=False, eq=False)
class Categorical(Distribution):
    """One of k classes ``0..k-1`` with probabilities `probs` (a 1-D vector summing to 1).

    ``mean`` and ``variance`` are those of the class index (as
    ``scipy.stats.rv_discrete(values=(range(k), probs))``).

    >>> d = Categorical(probs=[0.2, 0.5, 0.3])
    >>> print(round(float(d.log_prob(1)), 6), round(float(d.cdf(1)), 6), round(float(d.mean), 6))
    -0.693147 0.7 1.1
    """

    probs: Any
    constraints: ClassVar[dict[str, str]] = {"probs": "simplex"}
    support: ClassVar[str] = "classes"
    discrete: ClassVar[bool] = True
    _fit_keywords: ClassVar[tuple[str, ...]] = ("num_classes",)

    @property
    def batch_shape(self) -> tuple[int, ...]:
        return ()

    @property
    def _bound(self) -> Any:
        return self.probs.shape[-1]

    def _log_prob(self, x: Any) -> Any:
        return np.log(np.take(self.probs, numpy.asarray(x).astype(numpy.intp)))

    def _cdf(self, x: Any) -> Any:
        return self._cdf_by_sum(x, self.probs.shape[-1] - 1)

    def entropy(self) -> Any:
        """``-sum_k p_k log p_k``."""
        return -np.sum(special.xlogy(self.probs, self.probs))

    @property
    def mean(self) -> Any:
        return np.sum(numpy.arange(self.probs.shape[-1]) * self.probs)

    @property
    def variance(self) -> Any:
        k = numpy.arange(self.probs.shape[-1])
        return np.sum(k * k * self.probs) - self.mean**2

    def _draw(self, n: int, rng: numpy.random.Generator) -> Any:
        p = self._plain("probs")
        return rng.choice(p.shape[-1], size=n, p=p / p.sum())

    @classmethod
    def _event_size(cls, data: Any, known: dict[str, Any]) -> int:
        k = known.get("num_classes")
        return int(data.max()) + 1 if k is None else k

    @classmethod
    def _closed_form(cls, data: Any, known: dict[str, Any]) -> dict[str, Any] | None:
        k = cls._event_size(data, known)
        return {"probs": numpy.bincount(data.astype(numpy.intp), minlength=k) / data.size}


# ------------------------------------------------------------------------- continuous


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
        if not numpy.all(numpy.asarray(self.high) > numpy.asarray(self.low)):
            raise ValueError(
                f"Uniform: high must be > low, got low={_show(self.low)}, high={_show(self.high)}"
            )

    @property
    def _bound(self) -> Any:
        return (self._plain("low"), self._plain("high"))

    def _log_prob(self, x: Any) -> Any:
        return -np.log(self.high - self.low) + 0.0 * x  # "+ 0 x": the shape of x, and x's slope

    def _cdf(self, x: Any) -> Any:
        return np.clip((x - self.low) / (self.high - self.low), 0.0, 1.0)

    def entropy(self) -> Any:
        """``log(high - low)``."""
        return np.log(self.high - self.low)

    @property
    def mean(self) -> Any:
        return 0.5 * (self.low + self.high)

    @property
    def variance(self) -> Any:
        return (self.high - self.low) ** 2 / 12.0

    def _draw(self, n: int, rng: numpy.random.Generator) -> Any:
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
        return -0.5 * z * z - np.log(self.scale) - 0.5 * LOG_2PI

    def _cdf(self, x: Any) -> Any:
        return special.ndtr((x - self.loc) / self.scale)

    def entropy(self) -> Any:
        """``log(scale) + (1 + log 2 pi) / 2``."""
        return np.log(self.scale) + 0.5 * (1.0 + LOG_2PI)

    @property
    def mean(self) -> Any:
        return self.loc

    @property
    def variance(self) -> Any:
        return self.scale**2

    def _draw(self, n: int, rng: numpy.random.Generator) -> Any:
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
        if numpy.shape(self.cov) != 2 * numpy.shape(self.mean):
            raise ValueError(
                f"MultivariateNormal: cov must be (d, d) for a mean of shape (d,); got mean "
                f"{numpy.shape(self.mean)} and cov {numpy.shape(self.cov)}"
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
        low = np.linalg.cholesky(self.cov)
        diff = np.reshape(x - self.mean, (-1, d))
        z = np.linalg.solve(low, diff.T)
        mahalanobis = np.reshape(np.sum(z * z, axis=0), x.shape[:-1])
        log_det = 2.0 * np.sum(np.log(np.diagonal(low)))
        return -0.5 * (mahalanobis + d * LOG_2PI + log_det)

    def _cdf(self, x: Any) -> Any:
        raise NotImplementedError(
            "MultivariateNormal.cdf has no closed form (it is a d-dimensional integral); "
            "use scipy.stats.multivariate_normal.cdf, which integrates numerically"
        )

    def entropy(self) -> Any:
        """``(d (1 + log 2 pi) + log det cov) / 2``."""
        d = self.mean.shape[-1]
        return 0.5 * (d * (1.0 + LOG_2PI) + np.linalg.slogdet(self.cov)[1])

    @property
    def variance(self) -> Any:
        return np.diagonal(self.cov)

    def _draw(self, n: int, rng: numpy.random.Generator) -> Any:
        d = self.mean.shape[-1]
        eps = rng.standard_normal((n, d)).astype(self._plain("cov").dtype, copy=False)
        return self.mean + eps @ np.linalg.cholesky(self.cov).T

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
        return np.log(self.rate) - self.rate * x

    def _cdf(self, x: Any) -> Any:
        return -np.expm1(-self.rate * np.maximum(x, 0.0))

    def entropy(self) -> Any:
        """``1 - log(rate)``."""
        return 1.0 - np.log(self.rate)

    @property
    def mean(self) -> Any:
        return 1.0 / self.rate

    @property
    def variance(self) -> Any:
        return 1.0 / self.rate**2

    def _draw(self, n: int, rng: numpy.random.Generator) -> Any:
        return self._noise(rng.standard_exponential, n) / self.rate

    @classmethod
    def _closed_form(cls, data: Any, known: dict[str, Any]) -> dict[str, Any] | None:
        return {"rate": 1.0 / data.mean()}


# Regularised incomplete gamma and beta functions, differentiable in the upper limit only
# (their derivatives in the shape parameters have no closed form).
_gammainc = primitive(sc.gammainc, "gammainc")
_betainc = primitive(sc.betainc, "betainc")


def _gamma_density(a: Any, y: Any) -> Any:
    return np.exp(special.xlogy(a - 1.0, y) - y - special.gammaln(a))


def _log_beta(a: Any, b: Any) -> Any:
    """``log B(a, b) = log Gamma(a) + log Gamma(b) - log Gamma(a + b)``."""
    return special.gammaln(a) + special.gammaln(b) - special.gammaln(a + b)


def _beta_density(a: Any, b: Any, x: Any) -> Any:
    return np.exp(special.xlogy(a - 1.0, x) + special.xlog1py(b - 1.0, -x) - _log_beta(a, b))


defvjp(_gammainc, None, lambda g, ans, a, y: g * _gamma_density(a, y))
defjvp(_gammainc, None, lambda t, ans, a, y: t * _gamma_density(a, y))
defvjp(_betainc, None, None, lambda g, ans, a, b, x: g * _beta_density(a, b, x))
defjvp(_betainc, None, None, lambda t, ans, a, b, x: t * _beta_density(a, b, x))


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
        return _gammainc(self.shape, self.rate * np.maximum(x, 0.0))

    def entropy(self) -> Any:
        """``k - log(rate) + log Gamma(k) + (1 - k) digamma(k)``."""
        k = self.shape
        return k - np.log(self.rate) + special.gammaln(k) + (1.0 - k) * special.digamma(k)

    @property
    def mean(self) -> Any:
        return self.shape / self.rate

    @property
    def variance(self) -> Any:
        return self.shape / self.rate**2

    def _draw(self, n: int, rng: numpy.random.Generator) -> Any:
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
        return _betainc(self.a, self.b, np.clip(x, 0.0, 1.0))

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

    def _draw(self, n: int, rng: numpy.random.Generator) -> Any:
        return rng.beta(self._plain("a"), self._plain("b"), (n, *self.batch_shape))

    @classmethod
    def _start(cls, data: Any, known: dict[str, Any]) -> dict[str, Any]:
        m, v = data.mean(), data.var()  # method of moments
        common = max(m * (1.0 - m) / v - 1.0, 1e-3)
        return {"a": m * common, "b": (1.0 - m) * common}


FAMILIES: tuple[type[Distribution], ...] = (
    Bernoulli, Binomial, Poisson, Categorical, Uniform, Normal, MultivariateNormal,
    Exponential, Gamma, Beta,
)  # fmt: skip
"""Every distribution in this module."""

# ------------------------------------------------------------------------ maximum likelihood


def _fit_data(family: type[Distribution], data: Any, known: dict[str, Any]) -> Any:
    name = family.__name__
    x = numpy.asarray(data, dtype=numpy.float64)
    if family.event_ndim:
        if x.ndim != 2 or x.shape[0] == 0:
            raise ValueError(
                f"fit_mle({name}): data must be a 2-D array (one observation per row), "
                f"got shape {x.shape}"
            )
    else:
        x = x.ravel()
    if x.size == 0:
        raise ValueError(f"fit_mle({name}): data is empty")
    if not numpy.all(numpy.isfinite(x)):
        raise ValueError(f"fit_mle({name}): data contains NaN or infinity")
    if not family.discrete and len(family.constraints) > 1 and numpy.all(x == x[0]):
        raise ValueError(
            f"fit_mle({name}): all data are equal, so the MLE is degenerate (zero spread)"
        )
    support_name = family._fit_support or family.support
    if support_name in ("interval", "real"):
        return x
    support = _SUPPORTS[support_name]
    bound = known.get("n", known.get("num_classes"))
    if bound is None and family.support == "classes":
        bound = numpy.inf
    if not numpy.all(support.contains(x, bound)):
        raise ValueError(f"fit_mle({name}): data must be {support.rule}")
    return x


def _free_fit(family: type[_D], data: Any, statics: dict[str, Any], start: _D) -> _D:
    """Minimise the mean negative log-likelihood over unconstrained parameters with L-BFGS.

    Every parameter is a slice of one flat vector ``u``, mapped into its domain by its
    constraint's ``from_free`` (exp, expit, softmax, log-Cholesky).
    """
    names = list(family.constraints)
    kinds = [_CONSTRAINTS[family.constraints[n]] for n in names]
    with numpy.errstate(divide="ignore"):  # log 0 = -inf: reported below
        free = [
            numpy.asarray(c.to_free(numpy.asarray(getattr(start, n), numpy.float64)))
            for n, c in zip(names, kinds, strict=True)
        ]
    bounds = numpy.cumsum([0] + [f.size for f in free]).tolist()

    def params(u: Any) -> dict[str, Any]:
        return {
            n: c.from_free(np.reshape(u[lo:hi], f.shape))
            for n, c, f, lo, hi in zip(names, kinds, free, bounds, bounds[1:], strict=False)
        }

    def nll(u: Any) -> Any:
        return -np.mean(family(**statics, **params(u)).log_prob(data))

    value_and_grad = cr.value_and_grad(nll)

    def fun(u: Any) -> tuple[float, Any]:
        v, g = value_and_grad(u)
        return float(v), numpy.asarray(g, numpy.float64)

    x0 = numpy.concatenate([f.ravel() for f in free])
    with numpy.errstate(divide="ignore", invalid="ignore"):
        start_value = float(nll(x0))
    if not numpy.isfinite(start_value):
        raise ValueError(
            f"fit_mle({family.__name__}): the log-likelihood is not finite at the start "
            f"{start}; pass init= with parameters under which every point is possible"
        )
    res = scipy.optimize.minimize(
        fun, x0, jac=True, method="L-BFGS-B",
        options={"maxiter": 5000, "ftol": 1e-15, "gtol": 1e-9},
    )  # fmt: skip
    if not res.success and numpy.max(numpy.abs(res.jac)) > 1e-5:
        raise RuntimeError(
            f"fit_mle({family.__name__}): the gradient fit did not converge ({res.message}); "
            "try init= closer to the data"
        )
    fitted = {n: v.item() if v.ndim == 0 else v for n, v in params(res.x).items()}
    return family(**statics, **fitted)


def fit_mle(
    family: type[_D],
    data: Any,
    method: str = "auto",
    *,
    n: int | None = None,
    num_classes: int | None = None,
    init: Mapping[str, Any] | None = None,
) -> _D:
    """The maximum-likelihood member of `family` for `data` (i.i.d. draws).

    ``method="closed_form"`` uses the textbook formula: Bernoulli ``p = k / N``, Binomial
    ``p = mean / n``, Poisson ``rate = mean``, Categorical class frequencies, Uniform
    ``(min, max)``, Normal mean and biased (1/N) standard deviation, MultivariateNormal
    mean and biased covariance, Exponential ``rate = 1 / mean``. ``method="gradient"``
    minimises the mean negative log-likelihood with L-BFGS-B and chainrule gradients over
    unconstrained parameters: log for positive ones, logit for probabilities, softmax
    for probability vectors, a Cholesky factor with log-diagonal for covariances; it
    starts from `init` (a dict of parameters) or a neutral value (method of moments for
    Gamma and Beta). ``"auto"`` is the closed form where there is one (not Gamma, Beta).

    Binomial needs its number of trials ``n=``; Categorical takes ``num_classes=``
    (default: largest class in the data + 1). MultivariateNormal data are (N, d) rows;
    other families' data are flattened. The Uniform MLE sits on the edge of the support,
    where gradients do not help: it has the closed form only.

    >>> d = fit_mle(Gamma, [1.2, 0.7, 3.1, 2.2, 1.6, 0.9])
    >>> print(round(float(d.shape), 4), round(float(d.rate), 4))
    4.0449 2.502
    >>> print(fit_mle(Binomial, [3, 5, 4], n=10))
    Binomial(n=10, p=0.4)
    """
    if not (isinstance(family, type) and issubclass(family, Distribution)):
        raise TypeError(
            f"fit_mle: family must be a distribution class such as Normal, got {family!r}"
        )
    name = family.__name__
    given = {"n": n, "num_classes": num_classes}
    for key, value in given.items():
        if value is not None and key not in family._fit_keywords:
            raise TypeError(
                f"fit_mle({name}): unexpected keyword {key}= (it is for "
                f"{'Binomial' if key == 'n' else 'Categorical'})"
            )
    known = {
        k: count(v, k, f"fit_mle({name})", minimum=0) for k, v in given.items() if v is not None
    }
    if "n" in family._fit_keywords and not known.get("n"):
        raise TypeError(f"fit_mle({name}): pass the known number of trials (>= 1), e.g. n=10")
    if method not in ("auto", "closed_form", "gradient"):
        raise ValueError(
            f"fit_mle: method must be 'auto', 'closed_form' or 'gradient', got {method!r}"
        )
    x = _fit_data(family, data, known)
    fields = {f.name for f in dataclasses.fields(family)}  # type: ignore[arg-type]
    statics = {k: v for k, v in known.items() if k in fields}  # Binomial's n
    if method != "gradient":
        closed = family._closed_form(x, known)
        if closed is not None:
            return family(**statics, **closed)
        if method == "closed_form":
            raise ValueError(
                f"fit_mle({name}): there is no closed-form MLE; use method='gradient' or 'auto'"
            )
    if family.support == "interval":
        raise ValueError(
            f"fit_mle({name}): the support moves with the parameters and the MLE lies on its "
            "edge, where the likelihood drops to 0: gradients do not apply; use "
            "method='closed_form'"
        )
    start = family._start(x, known) if init is None else dict(init)
    if set(start) != set(family.constraints):
        raise ValueError(
            f"fit_mle({name}): init must give exactly the parameters "
            f"{sorted(family.constraints)}, got {sorted(start)}"
        )
    return _free_fit(family, x, statics, family(**statics, **start))


# ------------------------------------------------------------------------------ Bayes' rule


def bayes(prior: Any, likelihood: Any) -> Any:
    """Posterior over k hypotheses: ``prior * likelihood``, normalised (Bayes' rule).

    `prior` is (k,) (weights; normalised for you). `likelihood` is ``P(data | hypothesis)``:
    a (k,) vector for one observation, or a (k, m) table whose column j holds
    ``P(outcome j | hypothesis i)``; then column j of the (k, m) result is the posterior
    after seeing outcome j (every column sums to 1). Differentiable in both arguments.

    A test with 99% sensitivity and 95% specificity, for a disease 1% of people have:

    >>> prior = [0.01, 0.99]                       # sick, healthy
    >>> table = [[0.99, 0.01], [0.05, 0.95]]       # P(positive | h), P(negative | h)
    >>> post = bayes(prior, table)                 # columns: after positive, after negative
    >>> print(round(float(post[0, 0]), 4), round(float(post[0, 1]), 6))  # P(sick | result)
    0.1667 0.000106
    """
    prior = float_array(prior, "prior", "bayes")
    likelihood = float_array(likelihood, "likelihood", "bayes")
    if len(prior.shape) != 1 or len(likelihood.shape) not in (1, 2):
        raise ValueError(
            f"bayes: prior must be (k,) and likelihood (k,) or (k, m); got {tuple(prior.shape)} "
            f"and {tuple(likelihood.shape)}"
        )
    if likelihood.shape[0] != prior.shape[0]:
        raise ValueError(
            f"bayes: likelihood has {likelihood.shape[0]} rows but there are {prior.shape[0]} "
            "hypotheses in the prior; rows of likelihood are hypotheses"
        )
    p, lik = numpy.asarray(primal(prior)), numpy.asarray(primal(likelihood))
    if numpy.any(p < 0) or not p.sum() > 0 or numpy.any(lik < 0):
        raise ValueError("bayes: prior and likelihood must be non-negative, prior not all 0")
    weights = prior if len(likelihood.shape) == 1 else prior[:, None]
    joint = weights * likelihood
    evidence = np.sum(joint, axis=0)
    if numpy.any(numpy.asarray(primal(evidence)) == 0):
        raise ValueError("bayes: some data have probability 0 under every hypothesis")
    return joint / evidence


def beta_bernoulli_update(prior: Beta, data: Any) -> Beta:
    """The posterior of a Bernoulli `p` with a Beta prior: ``Beta(a + successes, b + failures)``.

    >>> post = beta_bernoulli_update(Beta(a=1.0, b=1.0), [1, 0, 1, 1])
    >>> print(post, post.mean)
    Beta(a=4.0, b=2.0) 0.6666666666666666
    """
    if not isinstance(prior, Beta):
        raise TypeError(f"beta_bernoulli_update: prior must be a Beta, got {prior!r}")
    x = numpy.asarray(data, dtype=numpy.float64)
    if not numpy.all((x == 0) | (x == 1)):
        raise ValueError("beta_bernoulli_update: data must be 0s and 1s (failures, successes)")
    successes = float(x.sum())
    return Beta(prior.a + successes, prior.b + (x.size - successes))


# ------------------------------------------------------------------------ sample statistics


def mean(x: Any, axis: Any = None) -> Any:
    """The average of `x` (over `axis`; all entries by default), as ``numpy.mean``.

    >>> print(mean([1.0, 2.0, 6.0]))
    3.0
    """
    return np.mean(float_array(x, "x", "mean"), axis=axis)


def var(x: Any, axis: Any = None, ddof: int = 0) -> Any:
    """The variance ``sum((x - mean)^2) / (N - ddof)``, as ``numpy.var`` (biased by default).

    >>> print(var([1.0, 2.0, 6.0]), var([1.0, 2.0, 6.0], ddof=1))
    4.666666666666667 7.0
    """
    return np.var(float_array(x, "x", "var"), axis=axis, ddof=ddof)


def _observations(name: str, x: Any, rowvar: bool) -> Any:
    """`x` as a (variables, observations) matrix, as NumPy's cov reads it."""
    x = float_array(x, "x", name)
    if len(x.shape) > 2 or len(x.shape) == 0:
        raise ValueError(f"{name}: x must be 1-D or 2-D, got shape {tuple(x.shape)}")
    rows = np.reshape(x, (1, -1)) if len(x.shape) == 1 else x
    return rows.T if not rowvar and rows.shape[0] != 1 else rows


def _variables(name: str, x: Any, y: Any, rowvar: bool) -> Any:
    """The (variables, observations) matrix of `x`, with the variables of `y` below them."""
    rows = _observations(name, x, rowvar)
    if y is None:
        return rows
    more = _observations(name, y, rowvar)
    if more.shape[1] != rows.shape[1]:
        raise ValueError(
            f"{name}: x has {rows.shape[1]} observations and y has {more.shape[1]}; "
            "give both the same number"
        )
    return np.concatenate([rows, more], axis=0)


def cov(
    x: Any, y: Any = None, rowvar: bool = True, bias: bool = False, ddof: int | None = None
) -> Any:
    """The covariance matrix, as ``numpy.cov``: rows are variables unless ``rowvar=False``.

    Normalised by ``N - 1`` (``N`` with ``bias=True``, ``N - ddof`` if `ddof` is given). As
    NumPy's, `y` adds more variables (observed as in `x`): ``cov(a, b)`` for two series.

    >>> cov([[1.0, 2.0, 3.0], [2.0, 4.0, 7.0]])
    array([[1.        , 2.5       ],
           [2.5       , 6.33333333]])
    >>> cov([1.0, 2.0, 3.0], [2.0, 4.0, 7.0])[0, 1]
    np.float64(2.5)
    """
    rows = _variables("cov", x, y, rowvar)
    if ddof is None:
        ddof = 0 if bias else 1
    if isinstance(ddof, bool) or not isinstance(ddof, (int, numpy.integer)):
        raise TypeError(f"cov: ddof must be an int, got {ddof!r}.")
    n = rows.shape[1]
    if n - ddof <= 0:
        raise ValueError(f"cov: {n} observations with ddof={ddof} leave nothing to divide by")
    centred = rows - np.mean(rows, axis=1, keepdims=True)
    return np.squeeze(centred @ centred.T / (n - ddof))


def corrcoef(x: Any, y: Any = None, rowvar: bool = True) -> Any:
    """Pearson correlation coefficients, as ``numpy.corrcoef``: ``cov_ij / (sd_i sd_j)``.

    >>> corrcoef([[1.0, 2.0, 3.0], [2.0, 4.0, 7.0]]).round(4)
    array([[1.    , 0.9934],
           [0.9934, 1.    ]])
    """
    c = cov(x, y, rowvar)
    if len(c.shape) == 0:
        return c / c
    sd = np.sqrt(np.diagonal(c))
    return np.clip(c / sd[:, None] / sd[None, :], -1.0, 1.0)
