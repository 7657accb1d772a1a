"""Differentiable ``scipy.stats``: ``norm.logpdf(x, loc=0, scale=1)`` and its relatives.

Each distribution is a module-level object with SciPy's method names and argument order
(shape parameters first, then ``loc`` and, for continuous families, ``scale``), as in
``jax.scipy.stats`` and ``autograd.scipy.stats``; the values are SciPy's, and the
derivatives come from chainrule's own functions, so every order works, in `x` and in
every parameter. Values outside the support are SciPy's: ``logpdf`` is ``-inf``, ``pdf``
is 0, ``cdf`` is 0 below and 1 above, ``ppf`` of 0 and 1 are the support's ends; invalid
parameters (``scale <= 0``) and NaN give NaN. float32 inputs give float32 results (SciPy
returns float64), as JAX does.

Continuous: ``norm expon laplace logistic cauchy uniform pareto(b) lognorm(s) t(df)
chi2(df) gamma(a) beta(a, b)`` with ``logpdf pdf cdf logcdf sf logsf ppf``; discrete:
``poisson(mu) binom(n, p) bernoulli(p) geom(p) nbinom(n, p)`` with ``logpmf pmf cdf
logcdf sf logsf ppf``; multivariate: ``dirichlet.logpdf/pdf(x, alpha)`` (components on `x`'s
first axis, as SciPy's), ``multivariate_normal.logpdf/pdf(x, mean=None, cov=1)`` and
``multivariate_normal.entropy(mean=None, cov=1)``,
``multinomial.logpmf/pmf(x, n, p)``.

Conventions where there is no derivative:
- Outside the support and at invalid parameters the value is a constant: derivative 0.
- ``laplace.logpdf`` at ``x == loc``, where ``|x - loc|`` has a kink: the derivative of
  ``abs`` at 0, which is 0 (the average of the two one-sided ones).
- ``t chi2 gamma beta``: ``cdf sf ppf`` (and their logs) are differentiable in their shape
  parameters too, through the incomplete gamma and beta functions' derivatives in `a`
  and `b` (``scipy.special``); ``ppf`` by the implicit function theorem,
  ``∂ppf/∂θ = -(∂cdf/∂θ) / pdf`` at the quantile. ``t.cdf``'s derivative in ``df`` comes
  from ``I_(df/(df+x²))(df/2, 1/2)``. ``nbinom``'s ``cdf``/``sf`` are differentiable in
  its real `n` (``I_p(n, k+1)``); ``binom``'s are not, in its count `n` (a traced `n` is an
  error that names it).
- Discrete families (``poisson binom bernoulli geom nbinom multinomial``) are
  differentiable in their parameters, not in `k` (nor in ``loc``): a traced `k` is an error.
  Their ``ppf`` is a step function: derivative 0 everywhere, as ``floor``'s.
- ``multinomial`` replaces the last probability by ``1 - sum(p[..., :-1])``, as SciPy does,
  so its derivative goes to the other entries.

>>> import chainrule as cr
>>> from chainrule.scipy.stats import norm
>>> print(round(float(norm.logpdf(1.0, loc=0.0, scale=2.0)), 6))
-1.737086
>>> print(round(float(cr.grad(norm.cdf, argnums=2)(1.0, 0.0, 2.0)), 6))  # d cdf / d scale
-0.088016
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.special as sc

import chainrule.numpy as cnp
from chainrule._validate import float_array
from chainrule.core.primitive import primitive
from chainrule.core.trace import Tracer, primal
from chainrule.numpy import linalg
from chainrule.numpy.rules.common import check, defelementwise, nondiff
from chainrule.scipy import special
from chainrule.scipy.special._gamma import betainc_dab, gammainc_da
from chainrule.scipy.special._helpers import anywhere, constant, differentiated, everywhere

__all__ = [
    "bernoulli", "beta", "binom", "cauchy", "chi2", "dirichlet", "expon", "gamma", "geom",
    "laplace", "logistic", "lognorm", "multinomial", "multivariate_normal", "nbinom", "norm",
    "pareto", "poisson", "t", "uniform",
]  # fmt: skip

LOG_2PI = math.log(2.0 * math.pi)
SQRT_2PI = math.sqrt(2.0 * math.pi)
INF = math.inf

Std = Callable[..., Any]  # a function of the standardised value and the shape parameters

_ndtri = special.ndtri  # the inverse of ndtr, for the normal and lognormal ppf


def _plain(v: Any) -> Any:
    """`v` without derivatives, for masks: under `vmap` still batched (one mask per example)."""
    return constant(v)


def _weak(value: Any, name: str, where: str) -> Any:
    """A parameter as a float array, but a Python number stays one until `_common`."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return float_array(value, name, where)


def _common(values: list[Any]) -> list[Any]:
    """Plain values as arrays of the common float type, Python numbers counting weakly as
    NumPy's do (float32 `x` with ``loc=0`` stays float32); traced values unchanged."""
    dtype = np.result_type(*(v.dtype if isinstance(v, Tracer) else v for v in map(primal, values)))
    return [v if isinstance(v, Tracer) else np.asarray(v, dtype) for v in values]


def _dtype(*args: Any) -> Any:
    return np.result_type(*(_plain(a).dtype for a in args))


def _guarded(f: Callable[..., Any], args: list[Any], safe: list[float], ok: Any, fill: Any) -> Any:
    """``f(*args)`` where `ok`, `fill` (a plain array) elsewhere.

    Outside `ok` the arguments are first swapped for `safe` ones, so that the branch not
    taken brings neither a warning nor a NaN into a derivative.
    """
    with np.errstate(divide="ignore"):  # log(0) is -inf at the support's edges, silently
        if everywhere(ok):  # the shape of `ok` may lack loc's axes (ppf): broadcast both
            out = f(*args)
            shape = np.broadcast_shapes(cnp.shape(out), ok.shape)
            return out if cnp.shape(out) == shape else cnp.broadcast_to(out, shape)
        out = f(*(cnp.where(ok, a, s) for a, s in zip(args, safe, strict=True)))
    return cnp.where(ok, out, fill.astype(_dtype(out)))


def _refuse_traced(family: Any, method: str, names: tuple[str, ...], values: list[Any]) -> None:
    """A clear error where one of `names` (a count, whose cdf is a step function) is traced."""
    for name, value in zip(family.params, values, strict=False):
        if name in names and differentiated(value):
            raise TypeError(
                f"chainrule.scipy.stats.{family.name}.{method} is not differentiable in its "
                f"shape parameter {name!r} (a count): pass {name} as a plain value, or wrap "
                "it in chainrule.stop_gradient"
            )


class _Family:
    """Argument binding shared by the families: `shapes`, then loc (and scale)."""

    def __init__(self, name: str, shapes: tuple[str, ...], scale: bool) -> None:
        self.name = name
        self.params = (*shapes, "loc", *(("scale",) if scale else ()))
        self.defaults = {"loc": 0.0, "scale": 1.0}

    def __repr__(self) -> str:
        return f"chainrule.scipy.stats.{self.name}"

    def _bind(self, method: str, args: tuple[Any, ...], kwds: dict[str, Any]) -> list[Any]:
        where = f"{self.name}.{method}"
        if len(args) > len(self.params):
            raise TypeError(f"{where} takes at most {len(self.params)} parameters "
                            f"{self.params}, got {len(args)}")  # fmt: skip
        values = dict(zip(self.params, args, strict=False))
        for key, value in kwds.items():
            if key not in self.params:
                raise TypeError(f"{where} got an unexpected keyword argument {key!r}; "
                                f"its parameters are {self.params}")  # fmt: skip
            if key in values:
                raise TypeError(f"{where} got multiple values for argument {key!r}")
            values[key] = value
        for key in self.params:
            if key not in values:
                if key not in self.defaults:
                    raise TypeError(f"{where} is missing the shape parameter {key!r}")
                values[key] = self.defaults[key]
        return [_weak(values[key], key, where) for key in self.params]


class _Continuous(_Family):
    """A location-scale family given by its standard form on the support ``[lo, hi]``."""

    def __init__(
        self,
        name: str,
        shapes: tuple[str, ...],
        support: tuple[float, float, bool],
        logpdf: Std,
        cdf: Std,
        sf: Std,
        ppf: Std,
        logcdf: Std | None = None,
        logsf: Std | None = None,
    ) -> None:
        super().__init__(name, shapes, scale=True)
        self.lo, self.hi, self.open_lo = support
        self._std: dict[str, Any] = {"logpdf": logpdf, "cdf": cdf, "sf": sf, "ppf": ppf,
                     "logcdf": logcdf or self._logcdf, "logsf": logsf or self._logsf}  # fmt: skip
        finite = [v for v in (self.lo, self.hi) if math.isfinite(v)]
        self.safe_z = (self.lo + self.hi) / 2 if len(finite) == 2 else (finite or [-1.0])[0] + 1

    def _logcdf(self, z: Any, *shapes: Any) -> Any:
        """SciPy's default: ``log(cdf)`` below the median, ``log1p(-sf)`` above it."""
        cdf, sf = self._std["cdf"], self._std["sf"]
        low = _plain(z) < self._median(shapes)
        return cnp.where(low, cnp.log(cdf(z, *shapes)), cnp.log1p(-sf(z, *shapes)))

    def _logsf(self, z: Any, *shapes: Any) -> Any:
        """SciPy's default: ``log(sf)`` above the median, ``log1p(-cdf)`` below it."""
        cdf, sf = self._std["cdf"], self._std["sf"]
        high = _plain(z) > self._median(shapes)
        return cnp.where(high, cnp.log(sf(z, *shapes)), cnp.log1p(-cdf(z, *shapes)))

    def _median(self, shapes: Any) -> Any:
        return _plain(self._std["ppf"](0.5, *(_plain(s) for s in shapes)))

    def _inside(self, z: Any) -> Any:
        above = z > self.lo if self.open_lo else z >= self.lo
        return above & (z <= self.hi)

    def _valid(self, params: list[Any], z: Any) -> Any:
        """Positive shapes and scale (False at NaN), and a value that is not NaN."""
        valid = ~np.isnan(z)
        for p in [*params[:-2], params[-1]]:
            valid = valid & (_plain(p) > 0)
        return valid

    def _at_x(
        self,
        method: str,
        x: Any,
        args: Any,
        kwds: Any,
        below: float,
        above: float,
        called: str = "",
    ) -> Any:
        """`method` at x: the standard form at ``(x - loc) / scale``, `below`/`above` outside.

        `called` names the method the user called in errors, where it is not `method`.
        """
        std = self._std[method]
        called = called or method
        x, *params = _common([float_array(x, "x", f"{self.name}.{called}"),
                              *self._bind(called, args, kwds)])  # fmt: skip
        with np.errstate(all="ignore"):
            z = (_plain(x) - _plain(params[-2])) / _plain(params[-1])
        valid = self._valid(params, z)
        ok = valid & self._inside(z)
        fill = np.where(valid, np.where(z < self.safe_z, below, above), np.nan)
        log_scale = method == "logpdf"

        def at(x: Any, *params: Any) -> Any:
            *shapes, loc, scale = params
            out = std((x - loc) / scale, *shapes)
            return out - cnp.log(scale) if log_scale else out

        safe = [self.safe_z] + [1.0] * (len(params) - 2) + [0.0, 1.0]
        return _guarded(at, [x, *params], safe, ok, fill)

    def logpdf(self, x: Any, *args: Any, **kwds: Any) -> Any:
        """Log density at `x`; ``-inf`` outside the support.

        >>> print(round(float(gamma.logpdf(2.0, 3.0, scale=0.5)), 6))
        -1.227411
        """
        return self._at_x("logpdf", x, args, kwds, -INF, -INF)

    def pdf(self, x: Any, *args: Any, **kwds: Any) -> Any:
        """Density at `x`: ``exp(logpdf)``.

        >>> print(round(float(t.pdf(0.5, 3.0)), 6))
        0.313181
        """
        return cnp.exp(self._at_x("logpdf", x, args, kwds, -INF, -INF, called="pdf"))

    def cdf(self, x: Any, *args: Any, **kwds: Any) -> Any:
        """``P(X <= x)``.

        >>> print(round(float(expon.cdf(1.0, scale=2.0)), 6))
        0.393469
        """
        return self._at_x("cdf", x, args, kwds, 0.0, 1.0)

    def logcdf(self, x: Any, *args: Any, **kwds: Any) -> Any:
        """``log P(X <= x)``, accurate in the lower tail.

        >>> print(round(float(norm.logcdf(-10.0)), 6))
        -53.231285
        """
        return self._at_x("logcdf", x, args, kwds, -INF, 0.0)

    def sf(self, x: Any, *args: Any, **kwds: Any) -> Any:
        """``P(X > x)``, accurate in the upper tail.

        >>> print(float(cauchy.sf(1.0)))
        0.25
        """
        return self._at_x("sf", x, args, kwds, 1.0, 0.0)

    def logsf(self, x: Any, *args: Any, **kwds: Any) -> Any:
        """``log P(X > x)``.

        >>> print(round(float(pareto.logsf(4.0, 2.0)), 6))
        -2.772589
        """
        return self._at_x("logsf", x, args, kwds, 0.0, -INF)

    def ppf(self, q: Any, *args: Any, **kwds: Any) -> Any:
        """The quantile: the `x` with ``cdf(x) == q``; NaN outside ``[0, 1]``.

        >>> print(round(float(lognorm.ppf(0.5, 0.7, scale=3.0)), 6))
        3.0
        """
        std = self._std["ppf"]
        q, *params = _common(
            [float_array(q, "q", f"{self.name}.ppf"), *self._bind("ppf", args, kwds)]
        )
        qp = _plain(q)
        valid = self._valid(params, qp) & (qp >= 0) & (qp <= 1)
        loc, scale = _plain(params[-2]), _plain(params[-1])
        with np.errstate(all="ignore"):
            ends = np.where(qp == 0, loc + scale * self.lo, loc + scale * self.hi)
        fill = np.where(valid, ends, np.nan)

        def at(q: Any, *params: Any) -> Any:
            *shapes, loc, scale = params
            return loc + scale * std(q, *shapes)

        safe = [0.5] + [1.0] * (len(params) - 2) + [0.0, 1.0]
        return _guarded(at, [q, *params], safe, valid & (qp > 0) & (qp < 1), fill)


FILLS = {"cdf": (0.0, 1.0), "sf": (1.0, 0.0), "logcdf": (-INF, 0.0), "logsf": (0.0, -INF)}


class _Discrete(_Family):
    """A family on the integers, given by its log pmf (and cdf, sf...) at ``k - loc``.

    Under the support the cdf is 0 and the sf 1; at and above ``top(*shapes)`` (infinite
    unless given) the cdf is 1 and the sf 0. `plain_cdf` names the counts (binom's `n`) in
    which the cdf and sf are step functions, not differentiable.
    """

    def __init__(
        self,
        name: str,
        shapes: tuple[str, ...],
        safe: tuple[float, ...],
        valid: Callable[..., Any],
        support: Callable[..., Any],
        logpmf: Std,
        cdf: Std,
        sf: Std | None = None,
        logcdf: Std | None = None,
        logsf: Std | None = None,
        top: Callable[..., Any] | None = None,
        plain_cdf: tuple[str, ...] = (),
    ) -> None:
        super().__init__(name, shapes, scale=False)
        self.safe, self.valid, self.support = safe, valid, support
        self.top = top or (lambda *s: INF)
        self.plain_cdf = plain_cdf
        if sf is None and logsf is not None:
            sf = lambda k, *s: cnp.exp(logsf(k, *s))
        elif sf is None:
            sf = lambda k, *s: 1.0 - cdf(k, *s)
        self._std: dict[str, Any] = {
            "logpmf": logpmf, "cdf": cdf, "sf": sf,
            "logcdf": logcdf or (lambda k, *s: cnp.log(cdf(k, *s))),
            "logsf": logsf or (lambda k, *s: cnp.log(sf(k, *s))),
        }  # fmt: skip

    def _at_k(self, method: str, k: Any, args: Any, kwds: Any, called: str = "") -> Any:
        """`method` at k (a step function of floor(k) but for logpmf); `called` names the
        method the user called, in errors."""
        called = called or method
        where = f"{self.name}.{called}"
        std = self._std[method]
        k = float_array(k, "k", where)
        *shapes, loc = self._bind(called, args, kwds)
        for name, v in (("k", k), ("loc", loc)):
            if differentiated(v):
                raise TypeError(f"{where}: {name} is discrete and has no derivative; pass a "
                                "plain value (differentiate in the shape parameters instead)")  # fmt: skip
        if method != "logpmf":
            _refuse_traced(self, called, self.plain_cdf, shapes)
        # k is a whole number: it takes the shape parameters' float type, not its own
        shapes = _common(shapes)
        kk = (_plain(k) - _plain(loc)).astype(_dtype(*shapes))
        plain = [_plain(s) for s in shapes]
        valid = self.valid(*plain) & ~np.isnan(kk)
        if method == "logpmf":
            ok = valid & (np.floor(kk) == kk) & self.support(kk, *plain)
            fill = np.where(valid, -INF, np.nan)
        else:
            kk = np.floor(kk)
            ok = valid & self.support(kk, *plain) & (kk < self.top(*plain))
            below, above = FILLS[method]
            fill = np.where(valid, np.where(kk < self.safe[0], below, above), np.nan)
        return _guarded(std, [kk, *shapes], list(self.safe), ok, fill)

    def logpmf(self, k: Any, *args: Any, **kwds: Any) -> Any:
        """Log probability of `k`; ``-inf`` off the support (and at non-integer `k`).

        >>> print(round(float(poisson.logpmf(2, 3.0)), 6))
        -1.495923
        """
        return self._at_k("logpmf", k, args, kwds)

    def pmf(self, k: Any, *args: Any, **kwds: Any) -> Any:
        """Probability of `k`: ``exp(logpmf)``.

        >>> print(round(float(binom.pmf(3, 10, 0.5)), 6))
        0.117188
        """
        return cnp.exp(self._at_k("logpmf", k, args, kwds, called="pmf"))

    def cdf(self, k: Any, *args: Any, **kwds: Any) -> Any:
        """``P(X <= k)``, a step function of ``floor(k)``.

        >>> print(round(float(geom.cdf(2.5, 0.5)), 6))
        0.75
        """
        return self._at_k("cdf", k, args, kwds)

    def logcdf(self, k: Any, *args: Any, **kwds: Any) -> Any:
        """``log P(X <= k)``.

        >>> print(round(float(bernoulli.logcdf(0, 0.25)), 6))
        -0.287682
        """
        return self._at_k("logcdf", k, args, kwds)

    def sf(self, k: Any, *args: Any, **kwds: Any) -> Any:
        """``P(X > k)``.

        >>> print(round(float(nbinom.sf(3, 2.0, 0.5)), 6))
        0.1875
        """
        return self._at_k("sf", k, args, kwds)

    def ppf(self, q: Any, *args: Any, **kwds: Any) -> Any:
        """The smallest `k` with ``cdf(k) >= q``, SciPy's own: a step function of `q` and
        the parameters, so its derivative is 0 (as ``floor``'s).

        >>> print(float(poisson.ppf(0.5, 3.0)))
        3.0
        """
        import scipy.stats  # heavy: loaded by the first discrete ppf only

        q, *params = _common(
            [float_array(q, "q", f"{self.name}.ppf"), *self._bind("ppf", args, kwds)]
        )
        out = nondiff(getattr(scipy.stats, self.name).ppf)(q, *params)  # batched by vmap
        return out.astype(_dtype(q, *params))

    def logsf(self, k: Any, *args: Any, **kwds: Any) -> Any:
        """``log P(X > k)``.

        >>> print(round(float(geom.logsf(3, 0.5)), 6))
        -2.079442
        """
        return self._at_k("logsf", k, args, kwds)


# ------------------------------------------------------------------------------ continuous


def _laplace_cdf(z: Any) -> Any:
    """``exp(z) / 2`` below 0, ``1 - exp(-z) / 2`` above: smooth at 0, so no ``abs``."""
    low = _plain(z) < 0
    below, above = cnp.where(low, z, 0.0), cnp.where(low, 0.0, z)
    return cnp.where(low, 0.5 * cnp.exp(below), 1.0 - 0.5 * cnp.exp(-above))


def _laplace_ppf(q: Any) -> Any:
    low = _plain(q) <= 0.5
    below, above = cnp.where(low, q, 0.25), cnp.where(low, 0.75, q)
    return cnp.where(low, cnp.log(2.0 * below), -cnp.log(2.0 - 2.0 * above))


def _log_cauchy(z: Any) -> Any:
    """``-log(pi (1 + z^2))``, as ``-log(pi) - 2 log|z| - log1p(1 / z^2)`` where z^2 would overflow."""
    small = np.abs(_plain(z)) < 1
    little, big = cnp.where(small, z, 0.0), cnp.where(small, 1.0, z)
    return cnp.where(
        small,
        -cnp.log1p(little * little),
        -2.0 * cnp.log(cnp.abs(big)) - cnp.log1p((1.0 / big) ** 2),
    ) - math.log(math.pi)


def _cauchy_ppf(q: Any) -> Any:
    """``tan(pi (q - 1/2))``, through ``cot(pi q)`` in the tails so that small q keeps its digits."""
    qp = _plain(q)
    middle = (qp >= 0.25) & (qp <= 0.75)
    low = cnp.where(qp < 0.25, q, 0.25)
    high = cnp.where(qp > 0.75, q, 0.75)
    tails = cnp.where(
        qp < 0.25, -1.0 / cnp.tan(math.pi * low), 1.0 / cnp.tan(math.pi * (1.0 - high))
    )
    return cnp.where(middle, cnp.tan(math.pi * (q - 0.5)), tails)


def _log_t(z: Any, df: Any) -> Any:
    half = 0.5 * (df + 1.0)
    norm_const = special.gammaln(half) - special.gammaln(0.5 * df) - 0.5 * cnp.log(df * math.pi)
    return norm_const - half * cnp.log1p(z * z / df)


def _log_gamma(z: Any, a: Any) -> Any:
    return special.xlogy(a - 1.0, z) - z - special.gammaln(a)


def _log_beta(z: Any, a: Any, b: Any) -> Any:
    log_b = special.gammaln(a) + special.gammaln(b) - special.gammaln(a + b)
    return special.xlog1py(b - 1.0, -z) + special.xlogy(a - 1.0, z) - log_b


def _scipy(fn: Callable[..., Any], *partials: Callable[..., Any]) -> Any:
    """SciPy's `fn` as a primitive with ``∂fn/∂args[i] = partials[i](ans, *args)``, written
    with chainrule's functions so that every order works."""
    prim = primitive(fn, fn.__name__)
    defelementwise(prim, *(lambda g, ans, *args, d=d: g * d(ans, *args) for d in partials))
    return prim


def _chi2_log(z: Any, df: Any) -> Any:
    return _log_gamma(0.5 * z, 0.5 * df) - math.log(2.0)


def _t_cdf_ddf(df: Any, z: Any) -> Any:
    """``∂F/∂df`` of the t cdf, ``F = I_w(df/2, 1/2) / 2`` below 0 and ``1 - ...`` above,
    ``w = df / (df + z²)``: ``-sign(z) ∂I/∂a / 4 - f(z) z / (2 df)``.

    ``∂I/∂a`` is read at the smaller of `w` and ``u = 1 - w = z² / (df + z²)``
    (``∂_a I_w(a, b) = -∂_b I_u(b, a)``), each computed without ``1 - ...``, so that neither
    loses digits. The first term is odd and smooth in `z`; at ``z = 0``, where `u`'s
    square root has no derivative, it is its tangent line ``-z (ψ(df/2) - ψ(df/2 + 1/2)) /
    (2 sqrt(df) B(1/2, df/2))``, which has the same first and second derivatives there.
    """
    zp = _plain(z)
    zero = zp == 0
    z_ = cnp.where(zero, 1.0, z) if anywhere(zero) else z
    u, w = z_ * z_ / (df + z_ * z_), df / (df + z_ * z_)
    small_u = np.abs(zp) * np.abs(zp) < _plain(df)  # u < 1/2
    u_side = -betainc_dab(0.5, 0.5 * df, cnp.where(small_u, u, 0.25), da=0, db=1)
    w_side = betainc_dab(0.5 * df, 0.5, cnp.where(small_u, 0.25, w), da=1, db=0)
    odd = -np.sign(zp) * 0.25 * cnp.where(small_u, u_side, w_side)
    if anywhere(zero):
        h = 0.5 * df
        slope = (special.digamma(h) - special.digamma(h + 0.5)) / (
            2.0 * cnp.sqrt(df) * special.beta(0.5, h)
        )
        odd = cnp.where(zero, -z * slope, odd)
    return odd - 0.5 * cnp.exp(_log_t(z, df)) * z / df


_stdtr = _scipy(
    sc.stdtr, lambda ans, df, z: _t_cdf_ddf(df, z), lambda ans, df, z: cnp.exp(_log_t(z, df))
)
_stdtrit = _scipy(
    sc.stdtrit,
    lambda ans, df, q: -_t_cdf_ddf(df, ans) * cnp.exp(-_log_t(ans, df)),
    lambda ans, df, q: cnp.exp(-_log_t(ans, df)),
)
_chdtr = _scipy(
    sc.chdtr,
    lambda ans, df, z: 0.5 * gammainc_da(0.5 * df, 0.5 * z),
    lambda ans, df, z: cnp.exp(_chi2_log(z, df)),
)
_chdtrc = _scipy(
    sc.chdtrc,
    lambda ans, df, z: -0.5 * gammainc_da(0.5 * df, 0.5 * z),
    lambda ans, df, z: -cnp.exp(_chi2_log(z, df)),
)
_gammainc, _gammaincc, _betainc = special.gammainc, special.gammaincc, special.betainc
_gammaincinv = _scipy(
    sc.gammaincinv,
    lambda ans, a, q: -gammainc_da(a, ans) * cnp.exp(-_log_gamma(ans, a)),
    lambda ans, a, q: cnp.exp(-_log_gamma(ans, a)),
)
_betaincc = _scipy(
    sc.betaincc,
    lambda ans, a, b, z: -betainc_dab(a, b, z, da=1, db=0),
    lambda ans, a, b, z: -betainc_dab(a, b, z, da=0, db=1),
    lambda ans, a, b, z: -cnp.exp(_log_beta(z, a, b)),
)
_betaincinv = _scipy(
    sc.betaincinv,
    lambda ans, a, b, q: -betainc_dab(a, b, ans, da=1, db=0) * cnp.exp(-_log_beta(ans, a, b)),
    lambda ans, a, b, q: -betainc_dab(a, b, ans, da=0, db=1) * cnp.exp(-_log_beta(ans, a, b)),
    lambda ans, a, b, q: cnp.exp(-_log_beta(ans, a, b)),
)


REAL = (-INF, INF, False)
POSITIVE = (0.0, INF, True)
NONNEGATIVE = (0.0, INF, False)

norm = _Continuous(
    "norm", (), REAL,
    logpdf=lambda z: -0.5 * z * z - 0.5 * LOG_2PI,
    cdf=special.ndtr, sf=lambda z: special.ndtr(-z),
    logcdf=special.log_ndtr, logsf=lambda z: special.log_ndtr(-z),
    ppf=_ndtri,
)  # fmt: skip
expon = _Continuous(
    "expon", (), NONNEGATIVE,
    logpdf=lambda z: -z, cdf=lambda z: -cnp.expm1(-z), sf=lambda z: cnp.exp(-z),
    logsf=lambda z: -z,
    ppf=lambda q: -cnp.log1p(-q),
)  # fmt: skip
laplace = _Continuous(
    "laplace", (), REAL,
    logpdf=lambda z: -cnp.abs(z) - math.log(2.0),
    cdf=_laplace_cdf, sf=lambda z: _laplace_cdf(-z), ppf=_laplace_ppf,
)  # fmt: skip
logistic = _Continuous(
    "logistic", (), REAL,
    logpdf=lambda z: -z - 2.0 * cnp.logaddexp(0.0, -z),
    cdf=special.expit, sf=lambda z: special.expit(-z),
    logcdf=lambda z: -cnp.logaddexp(0.0, -z), logsf=lambda z: -cnp.logaddexp(0.0, z),
    ppf=special.logit,
)  # fmt: skip
cauchy = _Continuous(
    "cauchy", (), REAL,
    logpdf=_log_cauchy,
    # 1/2 + arctan(z)/pi, as an angle that keeps its digits in the far tails
    cdf=lambda z: cnp.arctan2(1.0, -z) / math.pi, sf=lambda z: cnp.arctan2(1.0, z) / math.pi,
    ppf=_cauchy_ppf,
)  # fmt: skip
uniform = _Continuous(
    "uniform", (), (0.0, 1.0, False),
    logpdf=lambda z: 0.0 * z, cdf=lambda z: z, sf=lambda z: 1.0 - z, ppf=lambda q: q,
)  # fmt: skip
pareto = _Continuous(
    "pareto", ("b",), (1.0, INF, False),
    logpdf=lambda z, b: cnp.log(b) - (b + 1.0) * cnp.log(z),
    cdf=lambda z, b: -cnp.expm1(-b * cnp.log(z)), sf=lambda z, b: cnp.exp(-b * cnp.log(z)),
    logsf=lambda z, b: -b * cnp.log(z), ppf=lambda q, b: cnp.exp(-cnp.log1p(-q) / b),
)  # fmt: skip
lognorm = _Continuous(
    "lognorm", ("s",), POSITIVE,
    logpdf=lambda z, s: -0.5 * (cnp.log(z) / s) ** 2 - cnp.log(s * z) - 0.5 * LOG_2PI,
    cdf=lambda z, s: special.ndtr(cnp.log(z) / s), sf=lambda z, s: special.ndtr(-cnp.log(z) / s),
    logcdf=lambda z, s: special.log_ndtr(cnp.log(z) / s),
    logsf=lambda z, s: special.log_ndtr(-cnp.log(z) / s),
    ppf=lambda q, s: cnp.exp(s * _ndtri(q)),
)  # fmt: skip
t = _Continuous(
    "t", ("df",), REAL, logpdf=_log_t,
    cdf=lambda z, df: _stdtr(df, z), sf=lambda z, df: _stdtr(df, -z),
    ppf=lambda q, df: _stdtrit(df, q),
)  # fmt: skip
chi2 = _Continuous(
    "chi2", ("df",), NONNEGATIVE, logpdf=_chi2_log,
    cdf=lambda z, df: _chdtr(df, z), sf=lambda z, df: _chdtrc(df, z),
    ppf=lambda q, df: 2.0 * _gammaincinv(0.5 * df, q),
)  # fmt: skip
gamma = _Continuous(
    "gamma", ("a",), NONNEGATIVE, logpdf=_log_gamma,
    cdf=lambda z, a: _gammainc(a, z), sf=lambda z, a: _gammaincc(a, z),
    ppf=lambda q, a: _gammaincinv(a, q),
)  # fmt: skip
beta = _Continuous(
    "beta", ("a", "b"), (0.0, 1.0, False), logpdf=_log_beta,
    cdf=lambda z, a, b: _betainc(a, b, z), sf=lambda z, a, b: _betaincc(a, b, z),
    ppf=lambda q, a, b: _betaincinv(a, b, q),
)  # fmt: skip


# ------------------------------------------------------------------------------ discrete


def _integer(n: Any) -> Any:
    return np.floor(n) == n


def _log_choose(n: Any, k: Any) -> Any:
    return special.gammaln(n + 1.0) - special.gammaln(k + 1.0) - special.gammaln(n - k + 1.0)


poisson = _Discrete(
    "poisson", ("mu",), (0.0, 1.0),
    valid=lambda mu: mu >= 0, support=lambda k, mu: k >= 0,
    logpmf=lambda k, mu: special.xlogy(k, mu) - special.gammaln(k + 1.0) - mu,
    cdf=lambda k, mu: _gammaincc(k + 1.0, mu), sf=lambda k, mu: _gammainc(k + 1.0, mu),
)  # fmt: skip
binom = _Discrete(
    "binom", ("n", "p"), (0.0, 1.0, 0.5),
    valid=lambda n, p: (n >= 0) & _integer(n) & (p >= 0) & (p <= 1),
    support=lambda k, n, p: (k >= 0) & (k <= n),
    logpmf=lambda k, n, p: (
        _log_choose(n, k) + special.xlogy(k, p) + special.xlog1py(n - k, -p)
    ),
    cdf=lambda k, n, p: _betaincc(k + 1.0, n - k, p),
    sf=lambda k, n, p: _betainc(k + 1.0, n - k, p),
    top=lambda n, p: n, plain_cdf=("n",),
)  # fmt: skip
bernoulli = _Discrete(
    "bernoulli", ("p",), (0.0, 0.5),
    valid=lambda p: (p >= 0) & (p <= 1), support=lambda k, p: (k >= 0) & (k <= 1),
    logpmf=lambda k, p: special.xlogy(k, p) + special.xlog1py(1.0 - k, -p),
    cdf=lambda k, p: 1.0 - p, sf=lambda k, p: p, top=lambda p: 1.0,
)  # fmt: skip
geom = _Discrete(
    "geom", ("p",), (1.0, 0.5),
    valid=lambda p: (p > 0) & (p <= 1), support=lambda k, p: k >= 1,
    logpmf=lambda k, p: special.xlog1py(k - 1.0, -p) + cnp.log(p),
    cdf=lambda k, p: -cnp.expm1(k * cnp.log1p(-p)), logsf=lambda k, p: k * cnp.log1p(-p),
)  # fmt: skip


def _nbinom_logcdf(k: Any, n: Any, p: Any) -> Any:
    """SciPy's: ``log(cdf)``, or ``log1p(-I_{1-p}(k + 1, n))`` where the cdf is over 1/2."""
    high = special.betainc(_plain(n), _plain(k) + 1.0, _plain(p)) > 0.5
    return cnp.where(
        high, cnp.log1p(-_betainc(k + 1.0, n, 1.0 - p)), cnp.log(_betainc(n, k + 1.0, p))
    )


nbinom = _Discrete(
    "nbinom", ("n", "p"), (0.0, 1.0, 0.5),
    valid=lambda n, p: (n > 0) & (p > 0) & (p <= 1), support=lambda k, n, p: k >= 0,
    logpmf=lambda k, n, p: (
        special.gammaln(n + k) - special.gammaln(k + 1.0) - special.gammaln(n)
        + special.xlogy(n, p) + special.xlog1py(k, -p)
    ),
    cdf=lambda k, n, p: _betainc(n, k + 1.0, p), sf=lambda k, n, p: _betaincc(n, k + 1.0, p),
    logcdf=_nbinom_logcdf,
)  # fmt: skip


# ------------------------------------------------------------------------------ multivariate


class _Dirichlet:
    """``dirichlet.logpdf(x, alpha)``: `x`'s first axis holds the components, as SciPy's.

    >>> import numpy
    >>> print(round(float(dirichlet.logpdf(numpy.array([0.2, 0.3, 0.5]), [1.0, 2.0, 3.0])), 6))
    1.504077
    """

    def __repr__(self) -> str:
        return "chainrule.scipy.stats.dirichlet"

    def logpdf(self, x: Any, alpha: Any) -> Any:
        x = float_array(x, "x", "dirichlet.logpdf")
        alpha = float_array(alpha, "alpha", "dirichlet.logpdf")
        k = tuple(cnp.shape(alpha))
        if len(k) != 1:
            raise ValueError(f"dirichlet.logpdf: alpha must be a vector of positive numbers, "
                             f"got shape {k}")  # fmt: skip
        _positive_alpha(alpha)
        if cnp.shape(x)[0] == k[0] - 1:  # SciPy completes the last component
            x = cnp.concatenate([x, 1.0 - cnp.sum(x, axis=0, keepdims=True)], axis=0)
        shape = tuple(cnp.shape(x))
        if shape[0] != k[0]:
            raise ValueError(f"dirichlet.logpdf: x must hold {k[0]} (or {k[0] - 1}) components "
                             f"in [0, 1] along its first axis, got shape {shape}")  # fmt: skip
        _on_simplex(_plain(x), k[0], len(shape))
        a = cnp.reshape(alpha, k + (1,) * (len(shape) - 1))
        log_b = cnp.sum(special.gammaln(alpha)) - special.gammaln(cnp.sum(alpha))
        return cnp.sum(special.xlogy(a - 1.0, x), axis=0) - log_b

    def pdf(self, x: Any, alpha: Any) -> Any:
        return cnp.exp(self.logpdf(x, alpha))


class _MultivariateNormal:
    """``multivariate_normal.logpdf(x, mean=None, cov=1, allow_singular=False)``.

    `x`'s last axis holds the components; `cov` is a matrix, a vector (its diagonal) or a
    number (times the identity); the result is squeezed, as SciPy's.

    >>> cov = [[2.0, 0.5], [0.5, 1.0]]
    >>> print(round(float(multivariate_normal.logpdf([0.5, -0.5], [0.0, 0.0], cov)), 6))
    -2.403399
    """

    def __repr__(self) -> str:
        return "chainrule.scipy.stats.multivariate_normal"

    def _parameters(
        self, where: str, x: Any, mean: Any, cov: Any, allow_singular: bool
    ) -> tuple[Any, Any, Any, int]:
        """`x`, the mean (a vector), the Cholesky factor of `cov` and the dimension, as
        SciPy reads them; a singular or indefinite `cov` raises."""
        given = mean is not None
        x, mean, cov = _common([
            float_array(x, "x", where), 0.0 if mean is None else _weak(mean, "mean", where),
            _weak(cov, "cov", where),
        ])  # fmt: skip
        # SciPy's dimension: the mean's size, else the covariance's, else 1
        dim = _plain(mean).size if given else cnp.shape(cov)[0] if cnp.ndim(cov) else 1
        eye = np.eye(dim, dtype=_dtype(x, mean, cov))
        mean = mean + np.zeros(dim, eye.dtype)  # a number means that value in every component
        if cnp.ndim(cov) < 2:
            cov = eye * cov if cnp.ndim(cov) == 0 else eye * cov[..., None]
        if cnp.shape(cov) != (dim, dim):
            raise ValueError(f"{where}: cov must be ({dim}, {dim}) for a mean of {dim} "
                             f"components, got shape {cnp.shape(cov)}")  # fmt: skip
        eig = linalg.eigvalsh(_plain(cov))  # per example under vmap
        low, high = cnp.min(eig, axis=-1), cnp.maximum(cnp.max(eig, axis=-1), 0.0)
        _definite(low <= dim * np.finfo(_dtype(eig)).eps * high, where, allow_singular)
        return x, mean, linalg.cholesky(cov), dim

    def logpdf(self, x: Any, mean: Any = None, cov: Any = 1, allow_singular: bool = False) -> Any:
        where = "multivariate_normal.logpdf"
        x, mean, chol, dim = self._parameters(where, x, mean, cov, allow_singular)
        if dim == 1 and (cnp.ndim(x) == 0 or cnp.shape(x)[-1] != 1):
            x = cnp.expand_dims(x, -1)
        if cnp.shape(x)[-1] != dim:
            raise ValueError(f"{where}: x's last axis must have {dim} components, "
                             f"got shape {cnp.shape(x)}")  # fmt: skip
        r = cnp.reshape(x - mean, (-1, dim))
        y = linalg.solve(chol, cnp.transpose(r))  # L y = r: ||y||^2 is the Mahalanobis distance
        log_det = 2.0 * cnp.sum(cnp.log(cnp.diagonal(chol)))
        out = -0.5 * (cnp.sum(y * y, axis=0) + log_det + dim * LOG_2PI)
        return cnp.squeeze(cnp.reshape(out, cnp.shape(x)[:-1]))

    def pdf(self, x: Any, mean: Any = None, cov: Any = 1, allow_singular: bool = False) -> Any:
        return cnp.exp(self.logpdf(x, mean, cov, allow_singular))

    def entropy(self, mean: Any = None, cov: Any = 1, allow_singular: bool = False) -> Any:
        """``(dim (1 + log 2π) + log det cov) / 2``, differentiable in `cov`.

        >>> import chainrule as cr
        >>> print(cr.grad(lambda c: multivariate_normal.entropy(cov=c))(4.0))  # d/dc log(c)/2
        0.125
        """
        where = "multivariate_normal.entropy"
        zero = np.zeros((), _dtype(float_array(cov, "cov", where)))  # no x: cov's dtype
        _, _, chol, dim = self._parameters(where, zero, mean, cov, allow_singular)
        return 0.5 * dim * (1.0 + LOG_2PI) + cnp.sum(cnp.log(cnp.diagonal(chol)))


class _Multinomial:
    """``multinomial.logpmf(x, n, p)``: counts on `x`'s last axis; differentiable in `p`.

    >>> print(round(float(multinomial.pmf([1, 2, 0], 3, [0.2, 0.5, 0.3])), 6))
    0.15
    """

    def __repr__(self) -> str:
        return "chainrule.scipy.stats.multinomial"

    def logpmf(self, x: Any, n: Any, p: Any) -> Any:
        where = "multinomial.logpmf"
        if differentiated(x) or differentiated(n):
            raise TypeError(f"{where}: x and n are counts and have no derivative; pass plain "
                            "values (differentiate in p instead)")  # fmt: skip
        x = _plain(x).astype(float)  # counts: data (batched under vmap), no derivative
        n = _plain(n).astype(int).astype(float)  # SciPy truncates n to an integer
        p = float_array(p, "p", where)
        x, n = x.astype(_dtype(p)), n.astype(_dtype(p))  # counts take p's float type
        head = p[..., :-1]
        p = cnp.concatenate([head, 1.0 - cnp.sum(head, axis=-1, keepdims=True)], axis=-1)
        pp = _plain(p)
        valid = (n >= 0) & _integer(n) & np.all((pp >= 0) & (pp <= 1), axis=-1)
        ok = valid & np.all((x >= 0) & _integer(x), axis=-1) & (x.sum(axis=-1) == n)
        x, n = np.where(ok[..., None], x, 0.0), np.where(ok, n, 0.0)  # no NaN, no warning
        log_n = special.gammaln(n + 1.0)
        terms = special.xlogy(x, p) - special.gammaln(x + 1.0)
        out = log_n + cnp.sum(terms, axis=-1)
        return cnp.where(ok, out, np.where(valid, -INF, np.nan).astype(_dtype(out)))

    def pmf(self, x: Any, n: Any, p: Any) -> Any:
        return cnp.exp(self.logpmf(x, n, p))


dirichlet = _Dirichlet()
multivariate_normal = _MultivariateNormal()
multinomial = _Multinomial()


@check
def _positive_alpha(alpha: np.ndarray) -> None:
    """(every example's under `vmap`; every call's under `jit`, as the checks below)"""
    if np.any(alpha <= 0):
        raise ValueError(
            f"dirichlet.logpdf: alpha must be a vector of positive numbers, got {alpha}"
        )


@check
def _on_simplex(x: np.ndarray, k: int, ndim: int) -> None:
    """(`x` of `ndim` axes per example, components along the first)"""
    if x.min() < 0 or x.max() > 1:
        raise ValueError(
            f"dirichlet.logpdf: x must hold {k} (or {k - 1}) components in [0, 1] along its "
            f"first axis, got values in [{x.min()}, {x.max()}]"
        )
    if np.any(np.abs(np.sum(x, axis=-ndim) - 1.0) > 1e-9):
        raise ValueError("dirichlet.logpdf: the components of x must sum to 1")


@check
def _definite(degenerate: np.ndarray, where: str, allow_singular: bool) -> None:
    if np.any(degenerate):
        raise ValueError(
            f"{where}: cov is singular or not positive definite; a degenerate normal "
            + ("(allow_singular=True) is not supported yet" if allow_singular else "has no density")
        )
