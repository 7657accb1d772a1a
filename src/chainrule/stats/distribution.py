"""The base class of chainrule's distributions: parameter checks, supports, densities, sampling.

A family (`chainrule.stats.discrete`, `chainrule.stats.continuous`) declares the kind of each
parameter (`constraints`: how it is checked, and mapped to the real line for fitting) and its
support, and writes ``_log_prob``, ``_draw``, the moments and the entropy; everything else
(checks, values outside the support, broadcasting, sampling shapes, finite sums) is here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import numpy as np
import scipy.special as sc

import chainrule.numpy as cnp
from chainrule._seed import draws_from
from chainrule._validate import count, float_array
from chainrule.core.staging import tracing
from chainrule.core.trace import ConversionError, Tracer
from chainrule.numpy.rules.common import check
from chainrule.scipy import special
from chainrule.scipy.special._helpers import anywhere, constant, differentiated, everywhere

Rng = int | np.random.Generator | None


def _is_traced(x: Any) -> bool:
    return isinstance(x, Tracer)


def _show(v: Any) -> str:
    if _is_traced(v):
        return f"<traced {tuple(v.shape)}>"
    if isinstance(v, (int, float)):
        return repr(v)
    a = np.asarray(v)
    if a.ndim == 0:
        return repr(a.item())
    return np.array2string(a, separator=", ", max_line_width=10**6)


# ------------------------------------------------------------------------------ constraints


def _spd(c: Any) -> bool:
    if c.ndim != 2 or c.shape[0] != c.shape[1] or not np.allclose(c, c.T):
        return False
    try:
        np.linalg.cholesky(c)
    except np.linalg.LinAlgError:
        return False
    return True


def _cholesky_free(c: Any) -> Any:
    """A covariance as an unconstrained matrix: its Cholesky factor with log-diagonal."""
    low = np.linalg.cholesky(c)
    return np.tril(low, -1) + np.diag(np.log(np.diag(low)))


def _cholesky_cov(u: Any) -> Any:
    low = cnp.tril(u, -1) + cnp.diag(cnp.exp(cnp.diagonal(u)))
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
        "must be finite", lambda v: bool(np.all(np.isfinite(v))),
        lambda v: v, lambda u: u, lambda k: 0.0,
    ),
    "positive": _Constraint(
        "must be > 0", lambda v: bool(np.all(v > 0) and np.all(np.isfinite(v))),
        np.log, cnp.exp, lambda k: 1.0,
    ),
    "probability": _Constraint(
        "must be in [0, 1]", lambda v: bool(np.all((v >= 0) & (v <= 1))),
        sc.logit, special.expit, lambda k: 0.5,
    ),
    "simplex": _Constraint(
        "must be a 1-D vector of non-negative probabilities that sum to 1",
        lambda v: bool(
            v.ndim == 1 and v.size > 0 and np.all(v >= 0) and abs(v.sum() - 1.0) <= 1e-8
        ),
        np.log, lambda u: special.softmax(u, axis=-1), lambda k: np.full(k, 1.0 / k),
    ),
    "vector": _Constraint(
        "must be a 1-D vector of finite numbers",
        lambda v: bool(v.ndim == 1 and np.all(np.isfinite(v))),
        lambda v: v, lambda u: u, lambda k: np.zeros(k),
    ),
    "covariance": _Constraint(
        "must be a symmetric positive-definite matrix", _spd,
        _cholesky_free, _cholesky_cov, lambda k: np.eye(k),
    ),
}  # fmt: skip
"""Parameter kinds: how each is checked, and mapped to the real line for gradient fitting."""

_EVENT_NDIM = {"simplex": 1, "vector": 1, "covariance": 2}  # the others hold elementwise


@check
def _holds(value: np.ndarray, kind: str, family: str, name: str) -> None:
    """A traced parameter's constraint, checked on its values (every example's under
    `vmap`, batch axes in front; every call's under `jit`), as a plain one's is."""
    k = _EVENT_NDIM.get(kind, 0)
    examples = value.reshape(-1, *value.shape[value.ndim - k :]) if k else [value]
    constraint = _CONSTRAINTS[kind]
    for v in examples:
        if not constraint.ok(v):
            raise ValueError(f"{family}: {name} {constraint.rule}, got {_show(v)}")


# ------------------------------------------------------------------------------- supports


@dataclasses.dataclass(frozen=True)
class _Support:
    """The values a family can take: a test on plain values, and one value surely inside."""

    rule: str
    contains: Callable[[Any, Any], Any]  # (plain x, bound) -> boolean array
    safe: float


def _integer(x: Any) -> Any:
    return np.floor(x) == x


_SUPPORTS: dict[str, _Support] = {
    "binary": _Support("0 or 1", lambda x, b: (x == 0) | (x == 1), 0.0),
    "counts": _Support("non-negative integers", lambda x, b: (x >= 0) & _integer(x), 0.0),
    "counts to n": _Support("integers 0..n", lambda x, b: (x >= 0) & (x <= b) & _integer(x), 0.0),
    "classes": _Support("class indices 0..k-1", lambda x, b: (x >= 0) & (x < b) & _integer(x), 0.0),
    "interval": _Support("in [low, high]", lambda x, b: (x >= b[0]) & (x <= b[1]), 0.0),
    "real": _Support("real numbers", lambda x, b: np.ones(np.shape(x), bool), 0.0),
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
                if tracing():  # each call's values under jit (fit_mle's steps stay unchecked)
                    _holds(value, kind, family, name)
                plain = False
                continue
            value = float_array(value, name, family)
            if isinstance(getattr(self, name), (int, float)) and value.ndim == 0:
                value = float(value)
            object.__setattr__(self, name, value)
            constraint = _CONSTRAINTS[kind]
            if not constraint.ok(np.asarray(value)):
                raise ValueError(f"{family}: {name} {constraint.rule}, got {_show(value)}")
        if plain:
            self._check_together()

    def _check_together(self) -> None:
        """Checks across parameters (plain values only); families add their own."""
        try:
            self.batch_shape  # noqa: B018
        except ValueError:
            shapes = {n: np.shape(getattr(self, n)) for n in self.constraints}
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

        >>> from chainrule.stats import Normal
        >>> Normal(loc=[0.0, 1.0], scale=1.0).batch_shape
        (2,)
        """
        return np.broadcast_shapes(*(np.shape(getattr(self, n)) for n in self.constraints))

    @property
    def _bound(self) -> Any:
        """What the support depends on (n, the number of classes, the interval), if anything."""
        return None

    # --- densities -----------------------------------------------------------------------

    def log_prob(self, x: Any) -> Any:
        """The log pmf (discrete) or log pdf (continuous) at `x`; ``-inf`` outside the support.

        Broadcasts `x` against the parameters; differentiable in the parameters and, for
        continuous families, in `x`.

        >>> from chainrule.stats import Poisson
        >>> print(round(float(Poisson(rate=3.0).log_prob(2)), 6))
        -1.495923
        """
        x = float_array(x, "x", f"{type(self).__name__}.log_prob")
        if self.discrete and differentiated(x):
            raise TypeError(
                f"{type(self).__name__}.log_prob: x is discrete and cannot be differentiated; "
                "pass plain values (differentiate with respect to the parameters instead)"
            )
        if self.event_ndim:
            return self._log_prob(x)
        # Outside the support (and at NaN) evaluate at a safe point, then overwrite: no
        # warnings, and no NaN leaking into derivatives through the branch not taken.
        support = _SUPPORTS[self.support]
        plain_x = constant(x)  # batched under vmap: one mask per example
        inside = support.contains(plain_x, self._bound)
        if everywhere(inside):
            return self._log_prob(x)
        out = cnp.where(inside, self._log_prob(cnp.where(inside, x, support.safe)), -cnp.inf)
        nan = np.isnan(plain_x)
        return cnp.where(nan, np.nan, out) if anywhere(nan) else out

    def _log_prob(self, x: Any) -> Any:
        raise NotImplementedError

    def prob(self, x: Any) -> Any:
        """The pmf (discrete) or pdf (continuous) at `x`: ``exp(log_prob(x))``.

        >>> from chainrule.stats import Bernoulli
        >>> print(round(float(Bernoulli(p=0.3).prob(1)), 6))
        0.3
        """
        return cnp.exp(self.log_prob(x))

    def cdf(self, x: Any) -> Any:
        """``P(X <= x)``; differentiable in the parameters (and in `x` if continuous).

        >>> from chainrule.stats import Exponential
        >>> print(round(float(Exponential(rate=2.0).cdf(0.5)), 6))
        0.632121
        """
        x = float_array(x, "x", f"{type(self).__name__}.cdf")
        if self.discrete and differentiated(x):
            raise TypeError(f"{type(self).__name__}.cdf: x is discrete; pass plain values")
        return self._cdf(x)

    def _cdf(self, x: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} has no cdf")

    def entropy(self) -> Any:
        """The (differential, for continuous families) entropy in nats.

        >>> from chainrule.stats import Normal
        >>> print(round(float(Normal(0.0, 1.0).entropy()), 6))
        1.418939
        """
        raise NotImplementedError

    # --- sampling ------------------------------------------------------------------------

    def sample(self, n: int, rng: Rng = None) -> Any:
        """`n` independent draws, shaped ``(n,) + batch_shape + event_shape``.

        Reparameterised families (``reparameterized = True``) return a differentiable
        function of the parameters; the others return plain arrays (discrete ones integers).

        >>> from chainrule.stats import Normal
        >>> Normal(loc=10.0, scale=0.0001).sample(3, rng=0).round(2)
        array([10., 10., 10.])
        """
        where = f"{type(self).__name__}.sample"
        n, generator = count(n, "n", where, minimum=0), draws_from(rng, where, "rng")
        try:
            return self._draw(n, generator)
        except ConversionError:  # NumPy's sampler reads the values of traced parameters
            raise TypeError(
                f"{where}: NumPy's sampler of {type(self).__name__} needs the parameters' "
                "values, and they are traced (by jit or vmap); sample outside the "
                "transformed function and pass the samples in, or pass plain parameters."
            ) from None

    def _draw(self, n: int, rng: np.random.Generator) -> Any:
        raise NotImplementedError

    def _plain(self, name: str) -> Any:
        """Parameter `name` without derivatives (under `vmap` still batched, for masks)."""
        return constant(getattr(self, name))

    def _noise(self, draw: Callable[..., Any], n: int) -> Any:
        """Parameter-free noise of shape ``(n,) + batch_shape`` in the parameters' dtype."""
        dtype = np.result_type(*(self._plain(p).dtype for p in self.constraints), np.float32)
        return draw((n, *self.batch_shape)).astype(dtype, copy=False)

    # --- finite sums over a discrete support ---------------------------------------------

    def _pmf_table(self, kmax: int, ndim: int) -> tuple[Any, Any]:
        """Values 0..kmax on a new leading axis (then `ndim` singleton axes) and their pmf."""
        ks = np.arange(kmax + 1, dtype=np.float64).reshape((-1,) + (1,) * ndim)
        return ks, cnp.exp(self.log_prob(ks))

    def _cdf_by_sum(self, x: Any, kmax: int) -> Any:
        """The pmf summed up to `x` (plain counts, or a batch of them under `vmap`), with
        `kmax` at least the largest count of every example."""
        ndim = max(cnp.ndim(x), len(self.batch_shape))
        ks, pmf = self._pmf_table(kmax, ndim)
        total = cnp.sum(cnp.where(cnp.less_equal(ks, cnp.floor(x)), pmf, 0.0), axis=0)
        nan = cnp.isnan(x)
        return cnp.where(nan, np.nan, total) if anywhere(nan) else total

    def _entropy_by_sum(self, kmax: int) -> Any:
        _, pmf = self._pmf_table(kmax, len(self.batch_shape))
        return -cnp.sum(special.xlogy(pmf, pmf), axis=0)

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
