"""The discrete families: Bernoulli, Binomial, Poisson and Categorical (values are counts).

Their ``log_prob`` and ``cdf`` are differentiable in the parameters, not in the value.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, ClassVar

import numpy as np
import scipy.special as sc

import chainrule.numpy as cnp
from chainrule import tree
from chainrule._validate import count
from chainrule.core.trace import plain
from chainrule.numpy.rules.common import COMPILED, check
from chainrule.scipy import special
from chainrule.stats.distribution import Distribution


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

    def _draw(self, n: int, rng: np.random.Generator) -> Any:
        return (rng.random((n, *self.batch_shape)) < self._plain("p")).astype(np.int64)

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
        log_choose = sc.gammaln(n + 1.0) - special.gammaln(x + 1.0) - special.gammaln(n - x + 1.0)
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

    def _draw(self, n: int, rng: np.random.Generator) -> Any:
        return rng.binomial(self.n, self._plain("p"), (n, *self.batch_shape))

    @classmethod
    def _closed_form(cls, data: Any, known: dict[str, Any]) -> dict[str, Any] | None:
        return {"p": data.mean() / known["n"]}


def _poisson_terms(rate: np.ndarray, x: np.ndarray | None) -> int:
    """The last count a sum over Poisson counts needs: 12 standard deviations above the
    largest mean, + 40 (past it the pmf is below 1e-30), or the largest `x` if smaller."""
    top = float(np.max(rate))
    last = int(top + 12.0 * math.sqrt(top) + 40.0)
    if x is None:
        return last
    return int(min(np.max(np.nan_to_num(x, nan=0.0), initial=0.0), last))


@check
def _terms_within(rate: np.ndarray, x: np.ndarray | None, kmax: int) -> None:
    """Under `jit` the number of terms is fixed when the program is traced: each call's
    values must need no more (else the sum would stop short: a wrong number)."""
    if _poisson_terms(rate, x) > kmax:
        raise ValueError(
            f"chainrule.stats.Poisson: {COMPILED}, sums over counts stop at {kmax}, as the "
            "values it was traced with needed; this call's rate (or x) needs more terms. "
            "Trace it with the largest values it will see, or call it outside jit."
        )


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
        return special.xlogy(x, self.rate) - self.rate - special.gammaln(x + 1.0)

    def _last(self) -> int:
        """A count past which the pmf is below 1e-30 (of the largest rate of every example,
        under `vmap`: one count bounds them all)."""
        return _poisson_terms(plain(self.rate), None)

    def _cdf(self, x: Any) -> Any:
        kmax = _poisson_terms(plain(self.rate), plain(x))  # (every example's)
        _terms_within(self.rate, x, kmax)
        return self._cdf_by_sum(x, kmax)

    def entropy(self) -> Any:
        """``-sum_k pmf(k) log pmf(k)``, summed until the terms are negligible."""
        last = self._last()
        _terms_within(self.rate, None, last)
        return self._entropy_by_sum(last)

    @property
    def mean(self) -> Any:
        return self.rate

    @property
    def variance(self) -> Any:
        return self.rate

    def _draw(self, n: int, rng: np.random.Generator) -> Any:
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
        return cnp.log(cnp.take(self.probs, x.astype(np.intp)))  # x: an array, or a batch

    def _cdf(self, x: Any) -> Any:
        return self._cdf_by_sum(x, self.probs.shape[-1] - 1)

    def entropy(self) -> Any:
        """``-sum_k p_k log p_k``."""
        return -cnp.sum(special.xlogy(self.probs, self.probs))

    @property
    def mean(self) -> Any:
        return cnp.sum(np.arange(self.probs.shape[-1]) * self.probs)

    @property
    def variance(self) -> Any:
        k = np.arange(self.probs.shape[-1])
        return cnp.sum(k * k * self.probs) - self.mean**2

    def _draw(self, n: int, rng: np.random.Generator) -> Any:
        p = self._plain("probs")
        return rng.choice(p.shape[-1], size=n, p=p / p.sum())

    @classmethod
    def _event_size(cls, data: Any, known: dict[str, Any]) -> int:
        k = known.get("num_classes")
        return int(data.max()) + 1 if k is None else k

    @classmethod
    def _closed_form(cls, data: Any, known: dict[str, Any]) -> dict[str, Any] | None:
        k = cls._event_size(data, known)
        return {"probs": np.bincount(data.astype(np.intp), minlength=k) / data.size}
