"""The logistic, error-function, log-gamma, xlogy and softmax families (see the package
docstring for their numerical stability and conventions).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.special as sc

from chainrule import numpy as cnp
from chainrule.core.batching import defbatch
from chainrule.core.primitive import Primitive, defjvp, defjvp_joint, defvjp, primitive
from chainrule.core.trace import primal
from chainrule.numpy.rules.common import (
    aligned,
    batch_ndim,
    defelementwise,
    lift,
    ndim_of,
    normalize_axes,
    shape_of,
    unbroadcast,
)

from ._helpers import anywhere, constant, in_dtype_of_x

TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
HALF_SQRT_PI = 0.5 * math.sqrt(math.pi)
HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)

# ------------------------------------------------------------------------------ elementwise

expit = primitive(sc.expit, "expit")
logit = primitive(sc.logit, "logit")
erf = primitive(sc.erf, "erf")
erfc = primitive(sc.erfc, "erfc")
erfinv = primitive(sc.erfinv, "erfinv")
ndtr = primitive(sc.ndtr, "ndtr")
log_ndtr = primitive(sc.log_ndtr, "log_ndtr")
gammaln = primitive(sc.gammaln, "gammaln")
digamma = primitive(sc.digamma, "digamma")
psi = digamma
xlogy = primitive(sc.xlogy, "xlogy")
xlog1py = primitive(sc.xlog1py, "xlog1py")


polygamma = primitive(in_dtype_of_x(sc.polygamma), "polygamma")

defelementwise(expit, lambda g, ans, x: g * ans * expit(-x))
defelementwise(logit, lambda g, ans, p: g / (p * (1.0 - p)))
defelementwise(erf, lambda g, ans, x: g * TWO_OVER_SQRT_PI * cnp.exp(-x * x))
defelementwise(erfc, lambda g, ans, x: g * -TWO_OVER_SQRT_PI * cnp.exp(-x * x))
defelementwise(erfinv, lambda g, ans, x: g * HALF_SQRT_PI * cnp.exp(ans * ans))
defelementwise(ndtr, lambda g, ans, x: g * cnp.exp(-0.5 * x * x - HALF_LOG_2PI))
defelementwise(log_ndtr, lambda g, ans, x: g * cnp.exp(-0.5 * x * x - HALF_LOG_2PI - ans))
defelementwise(gammaln, lambda g, ans, x: g * digamma(x))
defelementwise(digamma, lambda g, ans, x: g * polygamma(1, x))
defelementwise(polygamma, None, lambda g, ans, n, x: g * polygamma(primal(n) + 1, x))


def _xlog_rules(log_fn: Callable[[Any], Any], pole: float) -> tuple[Callable[..., Any], ...]:
    """Rules of ``x * log_fn(y)`` where ``log_fn(pole) = -inf``: ``log y`` and ``x / (y - pole)``.

    Both partials are 0 where ``x == 0`` and ``y <= pole`` (see the module docstring); `y`
    is replaced by a harmless value there first, so no NaN leaks into higher derivatives.
    """

    def masked(partial: Callable[[Any, Any], Any]) -> Callable[..., Any]:
        def rule(g: Any, ans: Any, x: Any, y: Any) -> Any:
            mask = np.logical_and(constant(x) == 0, constant(y) <= pole)
            if not anywhere(mask):
                return g * partial(x, y)
            return g * cnp.where(mask, 0.0, partial(x, cnp.where(mask, pole + 1.0, y)))

        return rule

    return masked(lambda x, y: log_fn(y)), masked(lambda x, y: x / (y - pole))


defelementwise(xlogy, *_xlog_rules(cnp.log, 0.0))
defelementwise(xlog1py, *_xlog_rules(cnp.log1p, -1.0))

# ------------------------------------------------------------------------------- reductions


def _sum_over(v: Any, axis: Any, nb: int) -> Any:
    """Sum `v` (which has `nb` leading batch axes) over `axis`, keeping the reduced axes."""
    axes = normalize_axes(axis, ndim_of(v) - nb)
    return cnp.sum(v, axis=tuple(a + nb for a in axes), keepdims=True)


def _lse_partials(
    signed: bool, a: Any, b: Any, axis: Any, keepdims: bool
) -> tuple[tuple[Any, Any], tuple[int, ...], tuple[int, ...]]:
    """``(∂lse/∂a, ∂lse/∂b)`` (None without `b`), the reduced axes and the kept shape.

    ``∂lse/∂b = exp(a) / s`` with ``s = Σ b exp(a)``, and ``∂lse/∂a = b ∂lse/∂b``: softmax
    weights, computed as ``exp(a - m) / Σ b exp(a - m)`` with ``m`` the largest `a`, never from the rounded value ``lse`` (float32 at 1e7 would give weights
    ``e⁻¹``). Without `return_sign` a negative sum gives NaN, as the value does. They span
    the broadcast shape of `a` and `b`.
    """
    full = shape_of(a) if b is None else np.broadcast_shapes(shape_of(a), shape_of(b))
    axes = normalize_axes(axis, len(full))
    kept = tuple(1 if i in axes else n for i, n in enumerate(full))
    # Weights 0 drop their entries from the sum and the shift (as SciPy): a huge `a` there
    # must not swamp the rest. The mask is each call's (a line of the program under jit).
    live = a if b is None else cnp.where(constant(b) != 0, a, -np.inf)
    av = constant(live)
    if not av.size:
        m = np.zeros(kept, av.dtype)
    else:  # per example under vmap: the shift must not mix examples
        m = cnp.max(av, axis=axes, keepdims=True)
        m = cnp.where(cnp.isfinite(m), m, 0).astype(av.dtype)
    e = cnp.exp(live - m)
    total = cnp.sum(e if b is None else e * b, axis=axes, keepdims=True)
    if b is None:
        return (e / total, None), axes, kept

    def weights(x: Any) -> Any:
        w = cnp.exp(x - m) / total if signed else cnp.exp(x - m - cnp.log(total))
        return w if shape_of(w) == full else cnp.broadcast_to(w, full)

    # ∂/∂b is exp(a) / s at every entry, a dropped one's too (the sum moves with its weight)
    return (weights(live) * b, weights(a)), axes, kept


def _def_logsumexp_rules(prim: Primitive, signed: bool) -> None:
    """Rules of `prim` (a, b=None; axis, keepdims), which returns ``(lse, sign)`` if `signed`."""

    def vjp(i: int) -> Callable[..., Any]:
        def rule(
            g: Any, ans: Any, a: Any, b: Any = None, *, axis: Any = None, keepdims: bool = False
        ) -> Any:
            g = g[0] if signed else g
            partials, _, kept = _lse_partials(signed, a, b, axis, keepdims)
            g = g if keepdims else cnp.reshape(g, kept)
            return unbroadcast(g * partials[i], (a, b)[i])

        return rule

    def jvp(
        tangents: list[Any],
        ans: Any,
        a: Any,
        b: Any = None,
        *,
        axis: Any = None,
        keepdims: bool = False,
    ) -> Any:
        partials, axes, _ = _lse_partials(signed, a, b, axis, keepdims)
        out = None
        for t, x, d in zip(tangents, (a, b), partials, strict=False):
            if t is not None:
                nb = batch_ndim(t, x)
                term = cnp.sum(
                    d * lift(t, x, d), axis=tuple(ax + nb for ax in axes), keepdims=keepdims
                )
                out = term if out is None else out + term
        return (out, None) if signed else out

    defvjp(prim, vjp(0), vjp(1))
    defjvp_joint(prim, jvp)


def _logsumexp_impl(a: Any, b: Any = None, *, axis: Any = None, keepdims: bool = False) -> Any:
    return sc.logsumexp(a, axis=axis, b=b, keepdims=keepdims)


def _logsumexp_signed_impl(
    a: Any, b: Any = None, *, axis: Any = None, keepdims: bool = False
) -> Any:
    return sc.logsumexp(a, axis=axis, b=b, keepdims=keepdims, return_sign=True)


_logsumexp = primitive(_logsumexp_impl, "logsumexp")
_logsumexp_signed = primitive(_logsumexp_signed_impl, "logsumexp", multiple_results=True)
_def_logsumexp_rules(_logsumexp, signed=False)
_def_logsumexp_rules(_logsumexp_signed, signed=True)


def _batch_axis(axis: Any, rank: int) -> tuple[int, ...]:
    """`axis` of one example of rank `rank` (None: all of them), past a batch axis in front."""
    return tuple(ax + 1 for ax in normalize_axes(axis, rank))


def _reduction_batch(prim: Primitive, signed: bool = False) -> Callable[..., Any]:
    """The batching rule of `prim` (the arrays, then `axis`), a softmax or logsumexp over
    `axis`: the batch goes in front and the axes shift past it; one call for all examples."""

    def rule(args: list[Any], dims: list[Any], *, axis: Any = None, **params: Any) -> Any:
        rank = max(ndim_of(x) - (d is not None) for x, d in zip(args, dims, strict=True))
        args, _ = aligned(args, dims, front=True)
        out = prim(*args, axis=_batch_axis(axis, rank), **params)
        return out, ((0, 0) if signed else 0)

    return rule


defbatch(_logsumexp, _reduction_batch(_logsumexp))
defbatch(_logsumexp_signed, _reduction_batch(_logsumexp_signed, signed=True))


def logsumexp(
    a: Any, axis: Any = None, b: Any = None, keepdims: bool = False, return_sign: bool = False
) -> Any:
    """`scipy.special.logsumexp`, differentiable in `a` and `b`; the sign is a plain array.

    Its gradient is the softmax, and its Hessian the softmax's Jacobian ``diag(p) - p pᵀ``:

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> from chainrule.scipy import special
    >>> x = np.log(np.array([1.0, 3.0]))
    >>> cr.grad(special.logsumexp)(x)
    array([0.25, 0.75])
    >>> cr.hessian(special.logsumexp)(x)
    array([[ 0.1875, -0.1875],
           [-0.1875,  0.1875]])
    """
    args = (a,) if b is None else (a, b)
    if not return_sign:
        return _logsumexp(*args, axis=axis, keepdims=keepdims)
    out, sign = _logsumexp_signed(*args, axis=axis, keepdims=keepdims)
    return out, primal(sign)


def _shifted(x: Any, axis: Any) -> Any:
    """`x` minus its maximum along `axis` (0 where that maximum is not finite, as SciPy)."""
    x = np.asarray(x)
    m = x.max(axis=axis, keepdims=True)
    finite = np.isfinite(m)
    return x - (m if finite.all() else np.where(finite, m, 0))


def _softmax_impl(x: Any, axis: Any = None) -> Any:
    # SciPy's own softmax and log_softmax, written out: the same numbers, without the
    # array-API dispatch that costs more than the arithmetic on a small batch.
    e = np.exp(_shifted(x, axis))
    return e / e.sum(axis=axis, keepdims=True)


def _log_softmax_impl(x: Any, axis: Any = None) -> Any:
    z = _shifted(x, axis)
    return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))


softmax = primitive(_softmax_impl, "softmax")
softmax.__doc__ = sc.softmax.__doc__
log_softmax = primitive(_log_softmax_impl, "log_softmax")
log_softmax.__doc__ = sc.log_softmax.__doc__


def _softmax_apply(v: Any, p: Any, x: Any, axis: Any = None) -> Any:
    """The softmax Jacobian ``diag(p) - p pᵀ`` (symmetric) applied to `v`, batch axes first."""
    return p * (v - _sum_over(v * p, axis, batch_ndim(v, x)))


# log_softmax's Jacobian is ``I - 1 pᵀ`` with ``p = exp(ans)``: forward ``t - <p, t>``,
# reverse ``g - p Σg``.
defbatch(softmax, _reduction_batch(softmax))
defbatch(log_softmax, _reduction_batch(log_softmax))
defvjp(softmax, _softmax_apply)
defjvp(softmax, _softmax_apply)
defvjp(log_softmax, lambda g, y, x, axis=None: g - cnp.exp(y) * _sum_over(g, axis, 0))
defjvp(
    log_softmax,
    lambda t, y, x, axis=None: t - _sum_over(cnp.exp(y) * t, axis, batch_ndim(t, x)),
)
