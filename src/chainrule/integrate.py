"""Integrals you can differentiate: adaptive quadrature and Monte Carlo expectations.

`quad` computes ∫_a^b f(x, *args) dx to a tolerance, like ``scipy.integrate.quad``, and is
differentiable, forward and reverse, to any order, in the limits and in `args` (any pytree
of arrays). The derivatives are Leibniz's rule:

- d/db ∫_a^b f dx = f(b) and d/da ∫_a^b f dx = -f(a);
- d/dθ ∫_a^b f(x, θ) dx = ∫_a^b ∂f/∂θ (x, θ) dx, which is another `quad` (of the
  derivative of `f`, taken by chainrule), so higher derivatives follow by the same rules.

`expectation` estimates E[f(x)] for x drawn from a `chainrule.stats` distribution by Monte
Carlo, with its standard error, and is differentiable in the distribution's parameters by
the two classic estimators: reparameterisation (the samples are differentiable functions of
the parameters) and the score function (REINFORCE: ∇ E[f] = E[f(x) ∇ log p(x)]).

>>> import chainrule as cr
>>> import chainrule.numpy as np
>>> from chainrule.integrate import quad
>>> value, abserr = quad(lambda x, theta: np.exp(theta * x), 0.0, 1.0, (1.0,))
>>> print(round(float(value), 10), abserr < 1e-10)  # e - 1
1.7182818285 True
>>> dtheta = cr.grad(lambda theta: quad(lambda x, t: np.exp(t * x), 0.0, 1.0, (theta,))[0])
>>> print(round(float(dtheta(1.0)), 10))  # ∫_0^1 x e^x dx = 1
1.0
"""

from __future__ import annotations

import functools
import math
import numbers
import warnings
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
from numpy.polynomial import legendre

import chainrule as cr
import chainrule.numpy as cnp
from chainrule import tree
from chainrule._validate import count, flag, number
from chainrule.core.batching import defbatch
from chainrule.core.trace import Tracer, plain
from chainrule.extend import Primitive, defjvp_joint, defvjp, primitive
from chainrule.numpy.rules.common import batch_ndim, fixed_values, to_front

__all__ = ["Estimate", "IntegrationWarning", "expectation", "quad"]


class IntegrationWarning(UserWarning):
    """`quad` could not reach the requested tolerance; the result may be inaccurate."""


# ------------------------------------------------------------------ Gauss–Kronrod rule


def _gauss_kronrod(n: int) -> tuple[Any, Any, Any]:
    """Nodes on [-1, 1], Kronrod weights and embedded Gauss weights of the (2n+1)-point rule.

    Kronrod's extension of the n-point Gauss–Legendre rule adds the n + 1 zeros of the
    Stieltjes polynomial E, the polynomial of degree n + 1 orthogonal to every polynomial
    of degree <= n under the (sign-changing) weight P_n(x). The weights then make the rule
    exact for all polynomials up to degree 3n + 1; here they are solved for from exactness
    on P_0 ... P_2n. Computed once, in float64, to within a few ulps of the tabulated values.
    """
    gauss_x, gauss_w = legendre.leggauss(n)
    # Legendre coefficients c of E = sum c_j P_j (c_{n+1} = 1) from <E P_n, P_k> = 0, k <= n;
    # the inner products are exact with a (2n)-point Gauss rule (degree 3n + 1 <= 4n - 1).
    xq, wq = legendre.leggauss(2 * n)
    p = legendre.legvander(xq, n + 1)
    gram = np.einsum("q,q,qk,qj->kj", wq, p[:, n], p[:, : n + 1], p)
    c = np.append(np.linalg.solve(gram[:, : n + 1], -gram[:, n + 1]), 1.0)
    nodes = np.sort(np.concatenate([gauss_x, legendre.legroots(c).real]))
    nodes = (nodes - nodes[::-1]) / 2  # exactly symmetric, with 0 in the middle
    moments = np.zeros(2 * n + 1)
    moments[0] = 2.0  # ∫ P_j over [-1, 1]
    kronrod_w = np.linalg.solve(legendre.legvander(nodes, 2 * n).T, moments)
    kronrod_w = (kronrod_w + kronrod_w[::-1]) / 2
    # The Gauss nodes are every other node, starting from the second.
    embedded_w = np.zeros(2 * n + 1)
    embedded_w[1::2] = gauss_w
    return nodes, kronrod_w, embedded_w


_NODES, _KRONROD, _GAUSS = _gauss_kronrod(10)  # G10/K21, as QUADPACK's QAG uses by default
_EPS = np.finfo(np.float64).eps


def _evaluate(
    f: Callable[..., Any], x: Any, args: tuple[Any, ...], batch: tuple[int, ...] = ()
) -> Any:
    """f at the nodes `x` as a float64 array of shape ``batch + x.shape`` (`batch`: the
    examples of a `vmap`, whose integrands run together), with a clear error if not."""
    out = np.asarray(f(x, *args))
    if out.dtype.kind not in "biuf":
        hint = (
            " Integrate the real and imaginary parts separately." if out.dtype.kind == "c" else ""
        )
        raise TypeError(
            f"quad: the integrand must return real numbers, got dtype {out.dtype}.{hint}"
        )
    if out.shape not in (batch + x.shape, batch, ()):
        raise ValueError(
            f"quad: the integrand returned shape {out.shape} for an array of {x.size} nodes. "
            "It is called with an ARRAY of nodes and must return one value per node (a "
            "scalar-valued integrand, written with array operations). If it works on one "
            "point at a time, pass vectorized=False."
        )
    if out.shape == batch and batch:
        out = out[..., None]
    out = np.broadcast_to(out.astype(np.float64), batch + x.shape)
    if not np.all(np.isfinite(out)):
        bad = np.broadcast_to(x, out.shape)[~np.isfinite(out)][0]
        raise ValueError(
            f"quad: the integrand is not finite at x = {float(bad)!r}. The nodes lie strictly "
            "inside the interval: split it at a singularity so that it becomes an endpoint."
        )
    return out


def _substitute(
    g: Callable[[Any], Any], a: float, b: float
) -> tuple[Callable[[Any], Any], float, float]:
    """(h, lo, hi) with ∫_a^b g(x) dx = ∫_lo^hi h(t) dt over a finite interval (a < b).

    Half-infinite ranges use x = a + t/(1-t) (or b - t/(1-t)) on [0, 1); the whole line
    uses x = t/(1-t²) on (-1, 1). The Kronrod nodes never touch the ends, where x is
    infinite.
    """
    if math.isfinite(a) and math.isfinite(b):
        return g, a, b
    if math.isfinite(a):
        return lambda t: g(a + t / (1 - t)) / (1 - t) ** 2, 0.0, 1.0
    if math.isfinite(b):
        return lambda t: g(b - t / (1 - t)) / (1 - t) ** 2, 0.0, 1.0
    return lambda t: g(t / (1 - t * t)) * (1 + t * t) / (1 - t * t) ** 2, -1.0, 1.0


def _kronrod(h: Callable[[Any], Any], lo: Any, hi: Any) -> tuple[Any, Any]:
    """K21 integrals of h over the intervals [lo_i, hi_i] and their error estimates.

    One call of h for all the intervals. The error estimate is QUADPACK's: the difference
    between the Kronrod and the Gauss results, |K - G|, is an overestimate for smooth
    integrands (K is far more accurate than G), so it is scaled down as
    spread · min(1, (200 |K - G| / spread)^1.5), spread being ∫ |h - mean h|, and kept
    above the rounding error of the sum, 50 ε ∫ |h|.
    """
    centre, half = (lo + hi) / 2, (hi - lo) / 2
    fx = h((centre[:, None] + half[:, None] * _NODES).ravel())
    fx = fx.reshape(*fx.shape[:-1], len(lo), -1)  # leading axes: a batch of integrands
    kronrod = fx @ _KRONROD
    spread = np.abs(fx - kronrod[..., None] / 2) @ _KRONROD * half
    err = np.abs(kronrod - fx @ _GAUSS) * half
    with np.errstate(divide="ignore", invalid="ignore"):
        scaled = spread * np.minimum(1.0, (200 * err / spread) ** 1.5)
    err = np.where((spread > 0) & (err > 0), scaled, err)
    err = np.maximum(err, 50 * _EPS * (np.abs(fx) @ _KRONROD * half))
    return kronrod * half, err


def _adaptive(
    h: Callable[[Any], Any], lo: float, hi: float, epsabs: float, epsrel: float, limit: int
) -> tuple[float, float]:
    """Bisect the subinterval with the largest error until the total error is small enough."""
    los, his = np.array([lo]), np.array([hi])
    values, errors = _kronrod(h, los, his)
    while True:
        value, error = math.fsum(values), math.fsum(errors)
        target = max(epsabs, epsrel * abs(value))
        if error <= target:
            return value, error
        if len(values) >= limit:
            reason = (
                f"the limit of {limit} subintervals was reached: raise `limit`, split the "
                "interval where the integrand is difficult (a singularity, a kink, a peak), "
                "or loosen epsabs/epsrel"
            )
            break
        k = int(np.argmax(errors))
        mid = (los[k] + his[k]) / 2
        if not los[k] < mid < his[k]:
            reason = "a subinterval can no longer be halved in floating point (a singularity?)"
            break
        new_values, new_errors = _kronrod(h, np.array([los[k], mid]), np.array([mid, his[k]]))
        los, his = np.append(los, mid), np.append(his, his[k])
        his[k] = mid
        values[k], errors[k] = new_values[0], new_errors[0]
        values, errors = np.append(values, new_values[1]), np.append(errors, new_errors[1])
    warnings.warn(
        f"quad: estimated error {error:.2g} is above the tolerance {target:.2g}; {reason}.",
        IntegrationWarning,
        stacklevel=5,
    )
    return value, error


def _adaptive_batch(
    h: Callable[[Any], Any], lo: float, hi: float, epsabs: float, epsrel: float, limit: int
) -> tuple[Any, Any]:
    """`_adaptive` for a batch of integrands (h gives one row per example) on shared
    subintervals: bisect the one worst against its example's own target until every
    example meets its own, ``max(epsabs, epsrel |value|)``. So each example stops, as alone,
    only once its own estimated error is within its own target; the subintervals differ from
    its own run's, so the values agree with a loop to that tolerance, not bit for bit."""
    los, his = np.array([lo]), np.array([hi])
    values, errors = _kronrod(h, los, his)  # (B, intervals)
    while True:
        value, error = values.sum(-1), errors.sum(-1)
        target = np.maximum(epsabs, epsrel * np.abs(value))
        missed = error > target
        if not missed.any():
            return value, error
        if len(los) >= limit:
            break
        k = int(np.argmax((errors[missed] / target[missed, None]).max(0)))
        mid = (los[k] + his[k]) / 2
        if not los[k] < mid < his[k]:
            break
        new_values, new_errors = _kronrod(h, np.array([los[k], mid]), np.array([mid, his[k]]))
        los, his = np.append(los, mid), np.append(his, his[k])
        his[k] = mid
        values[:, k], errors[:, k] = new_values[:, 0], new_errors[:, 0]
        values = np.concatenate([values, new_values[:, 1:]], axis=1)
        errors = np.concatenate([errors, new_errors[:, 1:]], axis=1)
    worst = float((error / target).max())
    warnings.warn(
        f"quad (under vmap): an example's estimated error is {worst:.2g} times its tolerance "
        f"after {len(los)} subintervals: raise `limit`, split the interval where the "
        "integrand is difficult, or loosen epsabs/epsrel.",
        IntegrationWarning,
        stacklevel=5,
    )
    return value, error


def _quad_impl(
    a: Any, b: Any, *args: Any, f: Callable[..., Any], epsabs: float, epsrel: float, limit: int
) -> tuple[Any, Any]:
    a, b = float(a), float(b)
    if a == b:
        return np.float64(0.0), np.float64(0.0)
    sign = 1.0 if a < b else -1.0
    h, lo, hi = _substitute(lambda x: _evaluate(f, x, args), min(a, b), max(a, b))
    value, error = _adaptive(h, lo, hi, epsabs, epsrel, limit)
    return np.float64(sign * value), np.float64(error)


def _stacked_impl(
    a: Any, b: Any, *leaves: Any, f: Callable[..., Any], axes: tuple[Any, ...], epsabs: float,
    epsrel: float, limit: int,
) -> tuple[Any, Any]:  # fmt: skip
    """`_quad_impl` of a batch: the examples' integrands (`leaves` batched in front where
    `axes` says 0) evaluated together at shared nodes, by one `vmap` of `f` per call."""
    size = next(np.shape(v)[0] for v, ax in zip(leaves, axes, strict=True) if ax is not None)
    a, b = float(a), float(b)
    if a == b:
        return np.zeros(size), np.zeros(size)
    per_example = cr.vmap(f, in_axes=(None, *axes))
    g = lambda x: _evaluate(per_example, x, leaves, (size,))
    h, lo, hi = _substitute(g, min(a, b), max(a, b))
    value, error = _adaptive_batch(h, lo, hi, epsabs, epsrel, limit)
    return (1.0 if a < b else -1.0) * value, error


# ------------------------------------------------------------------ derivative rules


def _at(f: Callable[..., Any], x: Any, args: tuple[Any, ...]) -> Any:
    """f(x) at one limit for Leibniz's rule; 0 at an infinite limit, where f must vanish.

    Under jit or vmap a limit may be infinite on some calls or examples only: f is then
    evaluated at 0 instead there, and its value dropped.
    """
    infinite = cnp.isinf(cr.stop_gradient(x))
    known = fixed_values(infinite)
    if known is not None and known.all():
        return 0.0
    value = cnp.reshape(f(cnp.reshape(cnp.where(infinite, 0.0, x), (1,)), *args), ())
    return value if known is not None else cnp.where(infinite, 0.0, value)


def _directional(
    i: int, t: Any, a: Any, b: Any, args: tuple[Any, ...], params: dict[str, Any]
) -> Any:
    """∫_a^b ∂f/∂args[i] · t dx: the derivative of the integral along `t`, itself a quad.

    The tangent `t` is one more argument of the new integrand, so this integral is
    differentiable in everything, `t` included, by the same rules.
    """
    f = params["f"]

    def along(x: Any, *args_t: Any) -> Any:
        *rest, direction = args_t

        def move(arg: Any) -> Any:
            return f(x, *rest[:i], arg, *rest[i + 1 :])

        return cr.jvp(move, (rest[i],), (direction,))[1]

    return _quad_primitive(len(args) + 1)(a, b, *args, t, **{**params, "f": along})[0]


def _vjp_lower(g: Any, ans: Any, a: Any, b: Any, *args: Any, **params: Any) -> Any:
    return -g[0] * _at(params["f"], a, args)


def _vjp_upper(g: Any, ans: Any, a: Any, b: Any, *args: Any, **params: Any) -> Any:
    return g[0] * _at(params["f"], b, args)


def _vjp_arg(i: int) -> Callable[..., Any]:
    def rule(g: Any, ans: Any, a: Any, b: Any, *args: Any, **params: Any) -> Any:
        shape = np.shape(args[i])
        size = math.prod(shape)
        basis = np.eye(size).reshape((size, *shape))
        grads = [_directional(i, basis[k], a, b, args, params) for k in range(size)]
        return g[0] * cnp.reshape(cnp.stack(grads), shape)

    return rule


def _jvp(tangents: list[Any], ans: Any, a: Any, b: Any, *args: Any, **params: Any) -> Any:
    f = params["f"]
    t_a, t_b, *t_args = tangents
    out: Any = 0.0
    if t_a is not None:
        out = out - t_a * _at(f, a, args)
    if t_b is not None:
        out = out + t_b * _at(f, b, args)
    for i, t in enumerate(t_args):
        if t is None:
            continue
        shape = np.shape(args[i])
        batch = np.shape(t)[: np.ndim(t) - len(shape)]
        if not batch:
            out = out + _directional(i, t, a, b, args, params)
            continue
        flat = cnp.reshape(t, (-1, *shape))  # one quad per tangent of a batch (jacfwd)
        terms = [_directional(i, flat[k], a, b, args, params) for k in range(len(flat))]
        out = out + cnp.reshape(cnp.stack(terms), batch)
    return out, None  # the error estimate is not differentiated


@functools.cache
def _quad_primitive(n_args: int) -> Primitive:
    """The primitive (a, b, *args) -> (value, abserr), with one reverse rule per argument."""
    prim = primitive(_quad_impl, "quad", multiple_results=True)
    defvjp(prim, _vjp_lower, _vjp_upper, *(_vjp_arg(i) for i in range(n_args)))
    defjvp_joint(prim, _jvp)
    defbatch(prim, _quad_batch)
    return prim


def _quad_batch(args: list[Any], dims: list[Any], **params: Any) -> tuple[Any, Any]:
    """`vmap` of quad: the examples' integrals in one adaptive run on shared subintervals
    (`_stacked_impl`); limits that differ between examples would need their own."""
    a, b, *leaves = args
    if dims[0] is not None or dims[1] is not None:
        raise TypeError(
            "chainrule.vmap of quad: the limits a and b differ between examples, so the "
            "examples have no common subintervals. Map the integrand's args only (limits "
            "shared, in_axes None), or substitute x = a + (b - a) u to integrate over u in "
            "[0, 1] with a and b among the args."
        )
    axes = tuple(None if d is None else 0 for d in dims[2:])
    leaves = [v if d is None else to_front(v, d) for v, d in zip(leaves, dims[2:], strict=True)]
    prim = _stacked_primitive(len(leaves), axes)
    return prim(a, b, *leaves, axes=axes, **params), (0, 0)


@functools.cache
def _stacked_primitive(n_args: int, axes: tuple[Any, ...]) -> Primitive:
    """The batched quad: (a, b, *args) -> (values, abserrs), one per example. Its
    derivatives are those of quad, mapped over the examples by `vmap`."""
    prim = primitive(_stacked_impl, "quad", multiple_results=True)
    single = _quad_primitive(n_args)
    rules = single.vjps

    def mapped(rule: Callable[..., Any] | None, i: int) -> Callable[..., Any] | None:
        if rule is None:
            return None

        def vjp(g: Any, ans: Any, a: Any, b: Any, *leaves: Any, axes: Any, **params: Any) -> Any:
            one = lambda gv, *lv: rule((gv, gv), None, a, b, *lv, **params)
            out = cr.vmap(one, in_axes=(0, *axes))(g[0], *leaves)
            shared = i < 2 or axes[i - 2] is None
            return cnp.sum(out, axis=0) if shared else out

        return vjp

    defvjp(prim, *(mapped(r, i) for i, r in enumerate(rules)))

    def jvp(tangents: list[Any], ans: Any, a: Any, b: Any, *leaves: Any, axes: Any,
            **params: Any) -> Any:  # fmt: skip
        values = (a, b, *leaves)
        nb = next(batch_ndim(t, x) for t, x in zip(tangents, values, strict=True) if t is not None)
        batched = (None, None, *axes)
        present = [k for k, t in enumerate(tangents) if t is not None]

        def one(*xs: Any) -> Any:
            own = list(values)
            ts: list[Any] = [None] * len(values)
            for k, x in zip(present, xs[: len(present)], strict=True):
                ts[k] = x
            for k, x in zip(range(2, len(values)), xs[len(present) :], strict=True):
                own[k] = x
            return _jvp(ts, None, *own, **params)[0]

        in_axes = [nb if batched[k] is not None else None for k in present]
        in_axes += list(axes)
        t_value = cr.vmap(one, in_axes=tuple(in_axes), out_axes=nb)(
            *(tangents[k] for k in present), *leaves
        )
        return t_value, None

    defjvp_joint(prim, jvp)
    return prim


# ------------------------------------------------------------------ quad


def _check_limit(name: str, x: Any) -> None:
    value = cr.stop_gradient(x)
    shape = tuple(value.shape) if isinstance(value, Tracer) else np.shape(value)
    value = np.asarray(plain(value))  # every example's, under vmap
    if shape != () or value.dtype.kind not in "iuf":
        raise TypeError(f"quad: the limit `{name}` must be a real number, got {x!r:.60}.")
    if np.isnan(value).any():
        raise ValueError(f"quad: the limit `{name}` is NaN; pass a number or ±inf.")


def _pointwise(f: Callable[..., Any]) -> Callable[..., Any]:
    """A vectorised integrand from one that takes a single point."""

    def vectorised(x: Any, *args: Any) -> Any:
        return cnp.stack([cnp.asarray(f(x[k], *args)) for k in range(len(x))])

    return vectorised


def quad(
    f: Callable[..., Any],
    a: Any,
    b: Any,
    args: Any = (),
    *,
    epsabs: float = 1.49e-8,
    epsrel: float = 1.49e-8,
    limit: int = 50,
    vectorized: bool = True,
) -> tuple[Any, Any]:
    """``(∫_a^b f(x, *args) dx, abserr)`` by adaptive Gauss–Kronrod quadrature.

    `f` is called with an ARRAY of nodes ``x`` (shape ``(m,)``) and must return one value
    per node: write it with `chainrule.numpy`, as any differentiable expression is. Pass
    ``vectorized=False`` for a function that only takes one point at a time (slower).
    `args` is a tuple (a single non-tuple value is wrapped) of extra arguments, which may be
    arrays or any pytree; the integrand is scalar-valued.

    The interval is bisected where the error estimate is largest until the estimated total
    error is at most ``max(epsabs, epsrel * |value|)``; past `limit` subintervals an
    `IntegrationWarning` says so and the best estimate is returned. A limit may be infinite
    (``-numpy.inf``, ``numpy.inf``): the range is mapped onto a finite one by a change of
    variable. ``a > b`` gives minus the integral from b to a, as SciPy does.

    The value is differentiable (forward and reverse, any order) in `a`, `b` and `args`;
    ``abserr`` is a plain float (under `vmap`, one per example). The derivative in `args`
    integrates the derivative of `f`, each to the same tolerance; for an array argument of
    size p, reverse mode does p such integrals.

    >>> import numpy
    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> gauss = lambda x, mu: np.exp(-((x - mu) ** 2) / 2) / np.sqrt(2 * np.pi)
    >>> value, abserr = quad(gauss, -numpy.inf, numpy.inf, (0.5,))
    >>> print(round(float(value), 10), abserr < 1e-8)
    1.0 True
    >>> moment = lambda x, mu: x**2 * gauss(x, mu)
    >>> second_moment = lambda mu: quad(moment, -numpy.inf, numpy.inf, (mu,))[0]
    >>> print(round(float(cr.grad(second_moment)(0.5)), 8))  # E[x²] = mu² + 1, so 2 mu
    1.0
    >>> upper = cr.grad(lambda b: quad(np.sin, 0.0, b)[0])  # Leibniz: sin(b)
    >>> print(round(float(upper(1.0)), 10), round(float(numpy.sin(1.0)), 10))
    0.8414709848 0.8414709848
    """
    if not callable(f):
        raise TypeError(f"quad: the integrand `f` must be callable, got {type(f).__name__}.")
    _check_limit("a", a)
    _check_limit("b", b)
    params = {
        "epsabs": number(epsabs, "epsabs", "quad", minimum=0.0),
        "epsrel": number(epsrel, "epsrel", "quad", minimum=0.0),
    }
    if params["epsabs"] == 0 and params["epsrel"] == 0:
        raise ValueError("quad: epsabs and epsrel are both 0; give at least one a positive value.")
    limit = count(limit, "limit (subintervals)", "quad")
    vectorized = flag(vectorized, "vectorized", "quad")
    args = args if isinstance(args, tuple) else (args,)
    leaves, treedef = tree.flatten(args)
    integrand = f if vectorized else _pointwise(f)

    def flat(x: Any, *leaves: Any) -> Any:
        return integrand(x, *tree.unflatten(treedef, list(leaves)))

    value, abserr = _quad_primitive(len(leaves))(a, b, *leaves, f=flat, limit=int(limit), **params)
    abserr = cr.stop_gradient(abserr)
    return value, abserr if isinstance(abserr, Tracer) else float(abserr)  # batched: per example


# ------------------------------------------------------------------ expectation


class Estimate(NamedTuple):
    """A Monte Carlo estimate: `mean` (differentiable) and its standard error (a constant)."""

    mean: Any
    stderr: Any


def expectation(
    f: Callable[[Any], Any], dist: Any, n: int, rng: Any, method: str = "auto"
) -> Estimate:
    """Monte Carlo estimate of E[f(x)], x ~ `dist`, differentiable in the parameters of `dist`.

    `f` is called once, with all `n` samples (an array with the samples along axis 0) and
    returns one value per sample (or one array per sample, then `mean` is an array). The
    standard error is the sample standard deviation (ddof=1) over sqrt(n).

    Two estimators of the gradient with respect to the parameters of `dist`:

    - ``method="reparam"`` (the default for Normal, Uniform, Exponential, ...: distributions
      with ``reparameterized = True``): the samples are differentiable functions of the
      parameters, x = loc + scale·ε for a Normal, so the gradient is mean(∇ f(x)), usually
      the estimator of lower variance. It needs f differentiable in x.
    - ``method="score"`` (the default for discrete distributions): ∇ E[f(x)] = E[f(x) ∇ log
      p(x)], computed as the gradient of the surrogate
      mean(f(x)) + mean(f(x)·(log p(x) - log p(x))) where the second f and log p are held
      constant (`chainrule.stop_gradient`): its value is mean(f(x)), its gradient the score
      estimate. f need not be differentiable, or even continuous. When log p(x) is an
      array per sample (several independent components), their sum is the log-likelihood.

    Both are unbiased; they agree with the exact gradient of E[x²] = mu² + sigma² under
    Normal(mu, sigma), (2 mu, 2 sigma) = (1, 3) here, within a few standard errors:

    >>> import numpy
    >>> import chainrule as cr
    >>> from chainrule.stats import Normal
    >>> def second_moment(mu, sigma, method):
    ...     rng = numpy.random.default_rng(0)
    ...     return expectation(lambda x: x**2, Normal(mu, sigma), 100_000, rng, method).mean
    >>> for method in ("reparam", "score"):
    ...     g = cr.grad(second_moment, argnums=(0, 1))(0.5, 1.5, method)
    ...     print(method, [round(float(v), 1) for v in g])
    reparam [1.0, 3.0]
    score [1.0, 3.0]
    >>> est = expectation(lambda x: x**2, Normal(0.5, 1.5), 100_000, numpy.random.default_rng(0))
    >>> print(abs(est.mean - 2.5) < 4 * est.stderr)  # E[x²] = 0.5² + 1.5²
    True
    """
    if not callable(f):
        raise TypeError(f"expectation: `f` must be callable, got {type(f).__name__}.")
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 2:
        raise ValueError(f"expectation: `n` must be an integer >= 2 (samples), got {n!r}.")
    if method not in ("auto", "reparam", "score"):
        raise ValueError(
            f"expectation: unknown method {method!r}; use 'auto', 'reparam' or 'score'."
        )
    if not (hasattr(dist, "sample") and hasattr(dist, "log_prob")):
        raise TypeError(
            "expectation: `dist` must be a chainrule.stats distribution (with sample and "
            f"log_prob), got {type(dist).__name__}."
        )
    reparameterized = bool(getattr(dist, "reparameterized", False))
    if method == "auto":
        method = "reparam" if reparameterized else "score"
    if method == "reparam" and not reparameterized:
        raise ValueError(
            f"expectation: method='reparam' needs samples that are differentiable functions "
            f"of the parameters, which {type(dist).__name__} does not have (it is not "
            "reparameterized). Use method='score' (or 'auto')."
        )
    x = dist.sample(int(n), rng)
    if method == "reparam":
        fx = f(x)
        values = fx
    else:
        x = cr.stop_gradient(x)
        fx = f(x)
        logp = dist.log_prob(x)
        if cnp.ndim(logp) > 1:
            logp = cnp.sum(cnp.reshape(logp, (cnp.shape(logp)[0], -1)), axis=1)
        logp = cnp.reshape(logp, cnp.shape(logp) + (1,) * (cnp.ndim(fx) - 1))
        constant = cr.stop_gradient(fx)
        values = fx + constant * (logp - cr.stop_gradient(logp))
    if cnp.ndim(fx) < 1 or cnp.shape(fx)[0] != n:
        raise ValueError(
            f"expectation: f returned shape {cnp.shape(fx)} for {n} samples; it is called with "
            "all the samples at once (along axis 0) and must return one value per sample."
        )
    spread = cnp.astype(cr.stop_gradient(fx), np.float64)  # (traced under jit: each call's)
    stderr = cnp.std(spread, axis=0, ddof=1) / math.sqrt(n)
    return Estimate(cnp.mean(values, axis=0), stderr[()] if stderr.ndim == 0 else stderr)
