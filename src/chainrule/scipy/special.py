"""Differentiable ``scipy.special``: the primitives and their derivative rules, side by side.

Called on plain arrays, each function is SciPy's own (same signature, same values), except
that ``polygamma`` keeps float32 input float32 (SciPy computes it in float64). Rules are
written with differentiable functions, so every derivative can be differentiated again:
``digamma' = polygamma(1, .)`` and ``polygamma(n, .)' = polygamma(n + 1, .)`` to any order.

Numerical stability:
- ``expit'`` is ``expit(x) * expit(-x)``, not ``s * (1 - s)``: no cancellation at large
  ``|x|`` (at ``x = 40`` it gives ``4.25e-18``, not 0).
- ``logsumexp``, ``softmax`` and ``log_softmax`` differentiate through the softmax weights
  ``exp(a - max) / Σ exp(a - max)`` in the input's dtype, which lie in [0, 1] and sum to 1
  whatever the scale of ``a`` (``[1000, 2000, 3000]``, ``[-1000, 0]`` and a float32 tie at
  1e7 give finite values and derivatives); never ``exp(a - logsumexp(a))``, whose rounded
  ``logsumexp`` is off by whole units at large magnitude.
- ``log_ndtr'`` is ``exp(-x²/2 - log_ndtr(x)) / sqrt(2π)``, finite far into both tails.

Conventions:
- ``xlogy(x, y) = x log y`` and ``xlog1py(x, y) = x log1p(y)`` are 0 at ``x = 0`` (as SciPy).
  Where ``x = 0`` and ``y`` is at or past the pole (``y <= 0`` for xlogy, ``y <= -1`` for
  xlog1py) both partial derivatives are taken as 0 (as PyTorch for ``x``; ``y``'s partial is
  exactly 0 along ``x = 0`` anyway), so entropy-like ``xlogy(p, p)`` has a finite gradient
  at ``p = 0`` instead of NaN. Elsewhere they are the true ``log y`` and ``x / y``
  (``-inf``/``inf`` where the value itself is infinite).
- ``logsumexp`` is differentiable in ``a`` and ``b``; with ``return_sign=True`` the sign is a
  plain array (derivative zero). Where the weighted sum is 0 or, without ``return_sign``,
  negative, the value is ``-inf`` or NaN and so is the derivative.
- ``polygamma`` is not differentiable in its order ``n``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.special as sc

from chainrule import numpy as cnp
from chainrule.core.primitive import Primitive, defjvp, defjvp_joint, defvjp, primitive
from chainrule.core.trace import Tracer, primal
from chainrule.numpy.rules.common import (
    batch_ndim,
    defelementwise,
    lift,
    ndim_of,
    nondiff,
    normalize_axes,
    shape_of,
    unbroadcast,
)

__all__ = [
    "beta", "betainc", "betaln", "dawsn", "digamma", "entr", "erf", "erfc", "erfcinv", "erfcx",
    "erfinv", "exp1", "expi", "expit", "expn", "gamma", "gammainc", "gammaincc", "gammaln",
    "gammasgn", "i0", "i0e", "i1", "i1e", "iv", "ive", "j0", "j1", "jn", "jv", "k0", "k1",
    "kl_div", "kv", "log_ndtr", "log_softmax", "loggamma", "logit", "logsumexp", "multigammaln",
    "ndtr", "ndtri", "owens_t", "poch", "polygamma", "psi", "rel_entr", "rgamma", "softmax",
    "xlog1py", "xlogy", "y0", "y1", "yn", "yv", "zeta",
]  # fmt: skip

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


def _in_dtype_of_x(fun: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """``fun(n, x)`` of an integer order `n`, cast back to the dtype of a float32 `x`.

    SciPy computes ``polygamma``, ``yn`` and ``expn`` of an integer `n` in float64.
    """

    def impl(n: Any, x: Any) -> Any:
        out = fun(n, x)
        dtype = getattr(x, "dtype", None)
        if dtype is not None and dtype.kind == "f" and dtype.itemsize < out.dtype.itemsize:
            return out.astype(dtype)
        return out

    return impl


polygamma = primitive(_in_dtype_of_x(sc.polygamma), "polygamma")

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
            mask = (primal(x) == 0) & (primal(y) <= pole)
            if not np.any(mask):
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
    if b is not None and not isinstance(b, Tracer):
        # Constant weights 0 drop their entries (as SciPy): a huge one must not swamp the rest.
        a = cnp.where(np.broadcast_to(b, full) != 0, a, -np.inf)
    av = np.asarray(primal(a))
    m = np.max(av, axis=axes, keepdims=True) if av.size else np.zeros(kept, av.dtype)
    m = np.where(np.isfinite(m), m, 0).astype(av.dtype)
    e = cnp.exp(a - m)
    total = cnp.sum(e if b is None else e * b, axis=axes, keepdims=True)
    if b is None:
        return (e / total, None), axes, kept
    w = e / total if signed else cnp.exp(a - m - cnp.log(total))
    if shape_of(w) != full:
        w = cnp.broadcast_to(w, full)
    return (w * b, w), axes, kept


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
defvjp(softmax, _softmax_apply)
defjvp(softmax, _softmax_apply)
defvjp(log_softmax, lambda g, y, x, axis=None: g - cnp.exp(y) * _sum_over(g, axis, 0))
defjvp(
    log_softmax,
    lambda t, y, x, axis=None: t - _sum_over(cnp.exp(y) * t, axis, batch_ndim(t, x)),
)

# ---------------------------------------------------------------- arguments without a rule


def _no_rule(name: str, arg: str, why: str) -> Callable[..., Any]:
    """A rule that refuses to differentiate `name` in `arg`, saying why and what to do."""

    def rule(*args: Any, **params: Any) -> Any:
        raise TypeError(
            f"chainrule: scipy.special.{name} is not differentiable with respect to `{arg}` "
            f"({why}). Pass `{arg}` as a constant, or wrap it in `chainrule.stop_gradient`."
        )

    return rule


def _integer_order(name: str, arg: str = "n") -> Callable[..., Any]:
    return _no_rule(name, arg, "an integer order")


def _no_closed_form(name: str, arg: str) -> Callable[..., Any]:
    return _no_rule(name, arg, "its derivative there has no closed form implemented")


# ------------------------------------------------------------------- gamma and beta families

gamma = primitive(sc.gamma, "gamma")
loggamma = primitive(sc.loggamma, "loggamma")
rgamma = primitive(sc.rgamma, "rgamma")
gammasgn = nondiff(sc.gammasgn)
beta = primitive(sc.beta, "beta")
betaln = primitive(sc.betaln, "betaln")
poch = primitive(sc.poch, "poch")
gammainc = primitive(sc.gammainc, "gammainc")
gammaincc = primitive(sc.gammaincc, "gammaincc")
betainc = primitive(sc.betainc, "betainc")
_hurwitz_zeta = primitive(sc.zeta, "zeta")


def _multigammaln_impl(a: Any, d: int) -> Any:
    return _in_dtype_of_x(lambda d, a: sc.multigammaln(a, d))(d, a)


_multigammaln = primitive(_multigammaln_impl, "multigammaln")

defelementwise(gamma, lambda g, ans, x: g * ans * digamma(x))
defelementwise(loggamma, lambda g, ans, x: g * digamma(x))


def _rgamma_derivative(x: Any) -> Any:
    """``(1/Γ)' = -ψ/Γ``; left of 1/2 from the reflection ``1/Γ(x) = Γ(1-x) sin(πx) / π``.

    There ``(1/Γ)' = Γ(1-x) (cos πx - sin πx ψ(1-x) / π)``, finite and smooth through the
    zeros of 1/Γ at ``0, -1, -2, ...`` (``(-1)ⁿ n!`` at ``-n``), where ``-ψ/Γ`` is NaN.
    """
    left = np.asarray(primal(x)) < 0.5
    xl = cnp.where(left, x, 0.0)
    xr = cnp.where(left, 1.0, x)
    reflected = gamma(1.0 - xl) * (
        cnp.cos(math.pi * xl) - cnp.sin(math.pi * xl) * digamma(1.0 - xl) / math.pi
    )
    return cnp.where(left, reflected, -rgamma(xr) * digamma(xr))


defelementwise(rgamma, lambda g, ans, x: g * _rgamma_derivative(x))
defelementwise(
    beta,
    lambda g, ans, a, b: g * ans * (digamma(a) - digamma(a + b)),
    lambda g, ans, a, b: g * ans * (digamma(b) - digamma(a + b)),
)
defelementwise(
    betaln,
    lambda g, ans, a, b: g * (digamma(a) - digamma(a + b)),
    lambda g, ans, a, b: g * (digamma(b) - digamma(a + b)),
)
defelementwise(
    poch,
    lambda g, ans, z, m: g * ans * (digamma(z + m) - digamma(z)),
    lambda g, ans, z, m: g * ans * digamma(z + m),
)


def _gamma_density(a: Any, x: Any) -> Any:
    """``∂gammainc(a, x)/∂x = x^(a-1) e^(-x) / Γ(a)``, in logs (``xlogy``: finite at ``x = 0``)."""
    return cnp.exp(xlogy(a - 1.0, x) - x - gammaln(a))


defelementwise(
    gammainc,
    _no_closed_form("gammainc", "a"),
    lambda g, ans, a, x: g * _gamma_density(a, x),
)
defelementwise(
    gammaincc,
    _no_closed_form("gammaincc", "a"),
    lambda g, ans, a, x: -g * _gamma_density(a, x),
)
defelementwise(
    betainc,
    _no_closed_form("betainc", "a"),
    _no_closed_form("betainc", "b"),
    lambda g, ans, a, b, x: g * cnp.exp(xlogy(a - 1.0, x) + xlog1py(b - 1.0, -x) - betaln(a, b)),
)
# Hurwitz zeta: ∂ζ(s, q)/∂q = -s ζ(s + 1, q).
defelementwise(
    _hurwitz_zeta,
    _no_closed_form("zeta", "x"),
    lambda g, ans, s, q: g * -s * _hurwitz_zeta(s + 1.0, q),
)


def _multigammaln_rule(g: Any, ans: Any, a: Any, d: int) -> Any:
    return g * sum(digamma(a - 0.5 * j) for j in range(d))


defelementwise(_multigammaln, _multigammaln_rule)


def zeta(x: Any, q: Any = None) -> Any:
    """`scipy.special.zeta`: Riemann's ``ζ(x)``, or Hurwitz's ``ζ(x, q)``.

    Differentiable in `q` (``∂ζ/∂q = -x ζ(x + 1, q)``), not in `x`:

    >>> import chainrule as cr
    >>> from chainrule.scipy import special
    >>> round(float(cr.grad(lambda q: special.zeta(2.0, q))(1.0)), 12)  # -2 ζ(3)
    -2.404113806319
    """
    if q is None:
        if isinstance(x, Tracer):
            _no_closed_form("zeta", "x")()
        return sc.zeta(x)
    return _hurwitz_zeta(x, q)


def multigammaln(a: Any, d: int) -> Any:
    """`scipy.special.multigammaln`, differentiable in `a`: ``Σ_{j<d} ψ(a - j/2)``.

    >>> import chainrule as cr
    >>> from chainrule.scipy import special
    >>> float(cr.grad(special.multigammaln)(3.0, 1)) == float(special.digamma(3.0))
    True
    """
    return _multigammaln(a, d)


# ------------------------------------------------------------------- error-function family

erfcx = primitive(sc.erfcx, "erfcx")
erfcinv = primitive(sc.erfcinv, "erfcinv")
ndtri = primitive(sc.ndtri, "ndtri")
dawsn = primitive(sc.dawsn, "dawsn")
owens_t = primitive(sc.owens_t, "owens_t")

# erfcx = exp(x²) erfc(x): erfcx' = 2x erfcx - 2/√π, finite where erfc underflows.
defelementwise(erfcx, lambda g, ans, x: g * (2.0 * x * ans - TWO_OVER_SQRT_PI))
defelementwise(erfcinv, lambda g, ans, y: g * -HALF_SQRT_PI * cnp.exp(ans * ans))
defelementwise(ndtri, lambda g, ans, p: g * cnp.exp(0.5 * ans * ans + HALF_LOG_2PI))
defelementwise(dawsn, lambda g, ans, x: g * (1.0 - 2.0 * x * ans))
defelementwise(
    owens_t,
    lambda g, ans, h, a: (
        g * (-0.5 / math.sqrt(2.0 * math.pi)) * cnp.exp(-0.5 * h * h) * erf(a * h / math.sqrt(2.0))
    ),
    lambda g, ans, h, a: (
        g * cnp.exp(-0.5 * h * h * (1.0 + a * a)) / (2.0 * math.pi * (1.0 + a * a))
    ),
)

# -------------------------------------------------------------------------------- Bessel

iv = primitive(sc.iv, "iv")
ive = primitive(sc.ive, "ive")
jv = primitive(sc.jv, "jv")
yv = primitive(sc.yv, "yv")
kv = primitive(sc.kv, "kv")
jn = jv
yn = primitive(_in_dtype_of_x(sc.yn), "yn")
i0 = primitive(sc.i0, "i0")
i0e = primitive(sc.i0e, "i0e")
i1 = primitive(sc.i1, "i1")
i1e = primitive(sc.i1e, "i1e")
j0 = primitive(sc.j0, "j0")
j1 = primitive(sc.j1, "j1")
y0 = primitive(sc.y0, "y0")
y1 = primitive(sc.y1, "y1")
k0 = primitive(sc.k0, "k0")
k1 = primitive(sc.k1, "k1")


def _scaled(dx: Any, ans: Any, x: Any) -> Any:
    """Derivative of ``e^(-|x|) f(x)`` from ``f'`` scaled alike: ``dx - sign(x) ans``."""
    return dx - cnp.sign(x) * ans


# The recurrences C'_v = (C_{v-1} ∓ C_{v+1}) / 2 hold for every real order, and avoid the
# division by x of C'_v = C_{v-1} - v C_v / x (finite at x = 0).
defelementwise(
    iv, _no_closed_form("iv", "v"), lambda g, ans, v, x: g * 0.5 * (iv(v - 1, x) + iv(v + 1, x))
)
defelementwise(
    ive,
    _no_closed_form("ive", "v"),
    lambda g, ans, v, x: g * _scaled(0.5 * (ive(v - 1, x) + ive(v + 1, x)), ans, x),
)
defelementwise(
    jv, _no_closed_form("jv", "v"), lambda g, ans, v, x: g * 0.5 * (jv(v - 1, x) - jv(v + 1, x))
)
defelementwise(
    yv, _no_closed_form("yv", "v"), lambda g, ans, v, x: g * 0.5 * (yv(v - 1, x) - yv(v + 1, x))
)
defelementwise(
    kv, _no_closed_form("kv", "v"), lambda g, ans, v, x: g * -0.5 * (kv(v - 1, x) + kv(v + 1, x))
)
defelementwise(
    yn, _integer_order("yn"), lambda g, ans, n, x: g * 0.5 * (yn(n - 1, x) - yn(n + 1, x))
)
defelementwise(i0, lambda g, ans, x: g * i1(x))
defelementwise(i0e, lambda g, ans, x: g * _scaled(i1e(x), ans, x))
defelementwise(i1, lambda g, ans, x: g * 0.5 * (i0(x) + iv(2, x)))
defelementwise(i1e, lambda g, ans, x: g * _scaled(0.5 * (i0e(x) + ive(2, x)), ans, x))
defelementwise(j0, lambda g, ans, x: g * -j1(x))
defelementwise(j1, lambda g, ans, x: g * 0.5 * (j0(x) - jv(2, x)))
defelementwise(y0, lambda g, ans, x: g * -y1(x))
defelementwise(y1, lambda g, ans, x: g * 0.5 * (y0(x) - yv(2, x)))
defelementwise(k0, lambda g, ans, x: g * -k1(x))
defelementwise(k1, lambda g, ans, x: g * -0.5 * (k0(x) + kv(2, x)))

# ------------------------------------------------------------------------- entropies

entr = primitive(sc.entr, "entr")
rel_entr = primitive(sc.rel_entr, "rel_entr")
kl_div = primitive(sc.kl_div, "kl_div")

defelementwise(entr, lambda g, ans, x: g * -(cnp.log(x) + 1.0))
defelementwise(
    rel_entr,
    lambda g, ans, x, y: g * (cnp.log(x) - cnp.log(y) + 1.0),
    lambda g, ans, x, y: g * -x / y,
)
defelementwise(
    kl_div,
    lambda g, ans, x, y: g * (cnp.log(x) - cnp.log(y)),
    lambda g, ans, x, y: g * (1.0 - x / y),
)

# ------------------------------------------------------------------ exponential integrals

expi = primitive(sc.expi, "expi")
exp1 = primitive(sc.exp1, "exp1")
expn = primitive(_in_dtype_of_x(sc.expn), "expn")

defelementwise(expi, lambda g, ans, x: g * cnp.exp(x) / x)
defelementwise(exp1, lambda g, ans, x: g * -cnp.exp(-x) / x)


def _expn_rule(g: Any, ans: Any, n: Any, x: Any) -> Any:
    """``E_n' = -E_{n-1}``, with ``E_0(x) = e^(-x) / x`` (SciPy's ``expn(0, x)``)."""
    n = np.asarray(primal(n))
    if not np.any(n == 0):
        return g * -expn(n - 1, x)
    e0_prime = cnp.exp(-x) * (x + 1.0) / (x * x)
    return g * -cnp.where(n == 0, e0_prime, expn(np.maximum(n - 1, 0), x))


defelementwise(expn, _integer_order("expn"), _expn_rule)

# --------------------------------------------------------------- series near removable points


def _near_zero(u: Any, coefficients: tuple[float, ...], exact: Callable[[Any], Any]) -> Any:
    """``exact(u)``, or for ``|u| < 0.1`` the Taylor series with `coefficients` (of u⁰, u¹...).

    For functions with a removable singularity (``0/0``) at ``u = 0``: the series is exact
    there to all orders it has terms for, and its truncation error is below an ulp for
    ``|u| < 0.1``, where `exact` would lose digits to cancellation. `exact` never sees a
    small `u`, so no NaN leaks into higher derivatives.
    """
    small = np.abs(np.asarray(primal(u))) < 0.1
    if not np.any(small):
        return exact(u)
    series = 0.0
    near = cnp.where(small, u, 0.0)
    for c in reversed(coefficients):
        series = series * near + c
    if np.all(small):
        return series
    return cnp.where(small, series, exact(cnp.where(small, 1.0, u)))


# h(u) = (u eᵘ - (eᵘ - 1)) / u² = Σ (k + 1) uᵏ / (k + 2)!
_H_SERIES = tuple((k + 1) / math.factorial(k + 2) for k in range(12))


def _boxcox_lambda_factor(u: Any) -> Any:
    """``h(u)``: ``∂/∂λ (e^(λ ℓ) - 1) / λ = ℓ² h(λ ℓ)``, with ``h(0) = 1/2``."""
    return _near_zero(u, _H_SERIES, lambda u: (u * cnp.exp(u) - cnp.expm1(u)) / (u * u))


boxcox = primitive(sc.boxcox, "boxcox")
boxcox1p = primitive(sc.boxcox1p, "boxcox1p")


defelementwise(
    boxcox,
    lambda g, ans, x, lmbda: g * cnp.exp((lmbda - 1.0) * cnp.log(x)),
    lambda g, ans, x, lmbda: g * cnp.log(x) ** 2 * _boxcox_lambda_factor(lmbda * cnp.log(x)),
)
defelementwise(
    boxcox1p,
    lambda g, ans, x, lmbda: g * cnp.exp((lmbda - 1.0) * cnp.log1p(x)),
    lambda g, ans, x, lmbda: g * cnp.log1p(x) ** 2 * _boxcox_lambda_factor(lmbda * cnp.log1p(x)),
)

# spence(z) = ∫₁ᶻ log t / (1 - t) dt: spence'(z) = -log1p(w) / w with w = z - 1 (-1 at z = 1).
spence = primitive(sc.spence, "spence")
_LOG1P_SERIES = tuple((-1.0) ** k / (k + 1) for k in range(16))
defelementwise(
    spence,
    lambda g, ans, z: -g * _near_zero(z - 1.0, _LOG1P_SERIES, lambda w: cnp.log1p(w) / w),
)

# ---------------------------------------------------------------- confluent hypergeometric

hyp1f1 = primitive(sc.hyp1f1, "hyp1f1")
defelementwise(
    hyp1f1,
    _no_closed_form("hyp1f1", "a"),
    _no_closed_form("hyp1f1", "b"),
    lambda g, ans, a, b, x: g * (a / b) * hyp1f1(a + 1.0, b + 1.0, x),
)

# ------------------------------------------------------------------ pairs of integrals


def _def_pair(prim: Primitive, *derivatives: Callable[[Any], Any]) -> None:
    """Rules of an elementwise `prim` returning two arrays, with derivatives ``derivatives[i](x)``.

    An output that is not used gets a plain all-zero cotangent, and contributes nothing even
    where its derivative is infinite (``Ci`` at 0): ``sici(x)[0]`` is differentiable at 0.
    """

    def used(gi: Any) -> bool:
        return isinstance(gi, Tracer) or bool(np.any(gi))

    def vjp(g: Any, ans: Any, x: Any) -> Any:
        terms = [gi * d(x) for gi, d in zip(g, derivatives, strict=True) if used(gi)]
        return sum(terms[1:], terms[0]) if terms else cnp.zeros_like(g[0])

    def jvp(tangents: list[Any], ans: Any, x: Any) -> Any:
        return tuple(tangents[0] * d(x) for d in derivatives)

    defvjp(prim, vjp)
    defjvp_joint(prim, jvp)


def _sici_impl(x: Any) -> Any:
    return sc.sici(x)


def _fresnel_impl(x: Any) -> Any:
    return sc.fresnel(x)


sici = primitive(_sici_impl, "sici", multiple_results=True)
fresnel = primitive(_fresnel_impl, "fresnel", multiple_results=True)
# Si' = sin x / x (finite at 0), Ci' = cos x / x; S' = sin(πx²/2), C' = cos(πx²/2).
_def_pair(sici, lambda x: cnp.sinc(x / math.pi), lambda x: cnp.cos(x) / x)
_def_pair(
    fresnel, lambda x: cnp.sin(0.5 * math.pi * x * x), lambda x: cnp.cos(0.5 * math.pi * x * x)
)

# ------------------------------------------------------------------------- docstrings

__test__: dict[str, str] = {}  # run by doctest (tests/test_docs.py), as function docstrings


def _document(fun: Any, summary: str, example: str, result: str) -> None:
    """Give `fun` a docstring with a runnable example of its derivative."""
    doc = (
        f"{summary}\n\n>>> import chainrule as cr\n>>> import numpy as np\n"
        f">>> from chainrule.scipy import special\n>>> {example}\n{result}\n"
    )
    fun.__doc__ = doc
    __test__[str(getattr(fun, "name", None) or fun.__name__)] = doc


for _fun, _summary, _example, _result in [
    (
        gamma,
        "`scipy.special.gamma`; ``Γ' = Γ ψ``.",
        "round(float(cr.grad(special.gamma)(2.0)), 12)  # 1 - Euler's γ",
        "0.422784335098",
    ),
    (
        loggamma,
        "`scipy.special.loggamma` (real input); ``loggamma' = ψ``.",
        "round(float(cr.grad(special.loggamma)(1.0)), 12)  # -Euler's γ",
        "-0.577215664902",
    ),
    (
        rgamma,
        "`scipy.special.rgamma`, ``1/Γ``: finite derivative ``(-1)ⁿ n!`` at its zeros ``-n``.",
        "round(float(cr.grad(special.rgamma)(-2.0)), 12)  # (-1)² 2!",
        "2.0",
    ),
    (
        beta,
        "`scipy.special.beta`, differentiable in `a` and `b`: ``∂B/∂a = B (ψ(a) - ψ(a+b))``.",
        "float(cr.grad(special.beta)(1.0, 2.0))  # B(1, 2) (ψ(1) - ψ(3)) = -3/4",
        "-0.75",
    ),
    (
        betaln,
        "`scipy.special.betaln`: ``∂/∂a = ψ(a) - ψ(a+b)``.",
        "float(cr.grad(special.betaln, argnums=1)(2.0, 1.0))  # ψ(1) - ψ(3)",
        "-1.5",
    ),
    (
        poch,
        "`scipy.special.poch`, ``Γ(z+m)/Γ(z)``, differentiable in `z` and `m`.",
        "float(cr.grad(special.poch)(2.0, 1.0))  # poch(z, 1) = z",
        "1.0",
    ),
    (
        gammainc,
        "`scipy.special.gammainc(a, x)`, differentiable in `x` (the Gamma(a) density), not `a`.",
        "float(cr.grad(special.gammainc, argnums=1)(1.0, 0.5)) == float(np.exp(-0.5))",
        "True",
    ),
    (
        gammaincc,
        "`scipy.special.gammaincc(a, x)`, differentiable in `x`, not `a`.",
        "float(cr.grad(special.gammaincc, argnums=1)(1.0, 0.5)) == -float(np.exp(-0.5))",
        "True",
    ),
    (
        betainc,
        "`scipy.special.betainc(a, b, x)`, differentiable in `x` (the Beta(a, b) density), not `a`, `b`.",
        "float(cr.grad(special.betainc, argnums=2)(2.0, 1.0, 0.25))  # density 2x",
        "0.5",
    ),
    (
        erfcx,
        "`scipy.special.erfcx`, ``exp(x²) erfc(x)``: ``erfcx' = 2x erfcx - 2/√π``, finite far right.",
        "round(float(cr.grad(special.erfcx)(0.0)), 12)  # -2/√π",
        "-1.128379167096",
    ),
    (
        erfcinv,
        "`scipy.special.erfcinv`: ``erfcinv'(y) = -√π/2 exp(erfcinv(y)²)``.",
        "round(float(cr.grad(special.erfcinv)(1.0)), 12)  # -√π/2",
        "-0.886226925453",
    ),
    (
        ndtri,
        "`scipy.special.ndtri`, the standard normal quantile: ``ndtri' = 1 / φ(ndtri)``.",
        "round(float(cr.grad(special.ndtri)(0.5)), 12)  # √(2π)",
        "2.506628274631",
    ),
    (
        dawsn,
        "`scipy.special.dawsn`: ``F' = 1 - 2x F``.",
        "float(cr.grad(special.dawsn)(0.0))",
        "1.0",
    ),
    (
        owens_t,
        "`scipy.special.owens_t(h, a)`, differentiable in `h` and `a`.",
        "round(float(cr.grad(special.owens_t, argnums=1)(0.0, 1.0)), 12)  # 1 / (4π)",
        "0.079577471546",
    ),
    (
        iv,
        "`scipy.special.iv(v, x)`, differentiable in `x`: ``(I_{v-1} + I_{v+1}) / 2``; not in `v`.",
        "float(cr.grad(special.iv, argnums=1)(1.0, 0.0))  # 1/2",
        "0.5",
    ),
    (
        ive,
        "`scipy.special.ive(v, x)`, ``e^(-|x|) I_v(x)``, differentiable in `x` (0 at the kink of ``ive(0, x)`` at 0); not in `v`.",
        "float(cr.grad(special.ive, argnums=1)(0.0, 0.0))",
        "0.0",
    ),
    (
        jv,
        "`scipy.special.jv(v, x)` (also `jn`), differentiable in `x`: ``(J_{v-1} - J_{v+1}) / 2``; not in `v`.",
        "float(cr.grad(special.jv, argnums=1)(1.0, 0.0))  # 1/2",
        "0.5",
    ),
    (
        yv,
        "`scipy.special.yv(v, x)`, differentiable in `x`: ``(Y_{v-1} - Y_{v+1}) / 2``; not in `v`.",
        "bool(np.isclose(cr.grad(special.yv, argnums=1)(0.0, 1.0), -special.y1(1.0)))",
        "True",
    ),
    (
        kv,
        "`scipy.special.kv(v, x)`, differentiable in `x`: ``-(K_{v-1} + K_{v+1}) / 2``; not in `v`.",
        "float(cr.grad(special.kv, argnums=1)(0.0, 1.0)) == -float(special.k1(1.0))",
        "True",
    ),
    (
        yn,
        "`scipy.special.yn(n, x)`, differentiable in `x`; float32 `x` stays float32.",
        "float(cr.grad(special.yn, argnums=1)(0, 1.0)) == -float(special.y1(1.0))",
        "True",
    ),
    (
        i0,
        "`scipy.special.i0`: ``I0' = I1``.",
        "float(cr.grad(special.i0)(0.0))",
        "0.0",
    ),
    (
        i0e,
        "`scipy.special.i0e`, ``e^(-|x|) I0(x)``: derivative 0 at its kink at 0 (the mean of ±1).",
        "float(cr.grad(special.i0e)(0.0))",
        "0.0",
    ),
    (
        i1,
        "`scipy.special.i1`: ``I1' = (I0 + I2) / 2``, no division by x.",
        "float(cr.grad(special.i1)(0.0))",
        "0.5",
    ),
    (
        i1e,
        "`scipy.special.i1e`, ``e^(-|x|) I1(x)``.",
        "float(cr.grad(special.i1e)(0.0))",
        "0.5",
    ),
    (
        j0,
        "`scipy.special.j0`: ``J0' = -J1``.",
        "float(cr.grad(special.j0)(1.0)) == -float(special.j1(1.0))",
        "True",
    ),
    (
        j1,
        "`scipy.special.j1`: ``J1' = (J0 - J2) / 2``.",
        "float(cr.grad(special.j1)(0.0))",
        "0.5",
    ),
    (
        y0,
        "`scipy.special.y0`: ``Y0' = -Y1``.",
        "float(cr.grad(special.y0)(1.0)) == -float(special.y1(1.0))",
        "True",
    ),
    (
        y1,
        "`scipy.special.y1`: ``Y1' = (Y0 - Y2) / 2``.",
        "bool(np.isclose(cr.grad(special.y1)(1.0), (special.y0(1.0) - special.yv(2, 1.0)) / 2))",
        "True",
    ),
    (
        k0,
        "`scipy.special.k0`: ``K0' = -K1``.",
        "float(cr.grad(special.k0)(1.0)) == -float(special.k1(1.0))",
        "True",
    ),
    (
        k1,
        "`scipy.special.k1`: ``K1' = -(K0 + K2) / 2``.",
        "bool(np.isclose(cr.grad(special.k1)(1.0), -(special.k0(1.0) + special.kv(2, 1.0)) / 2))",
        "True",
    ),
    (
        entr,
        "`scipy.special.entr`, ``-x log x``: ``-(log x + 1)``.",
        "float(cr.grad(special.entr)(1.0))",
        "-1.0",
    ),
    (
        rel_entr,
        "`scipy.special.rel_entr`, ``x log(x/y)``, differentiable in `x` and `y`.",
        "[float(d) for d in cr.grad(special.rel_entr, argnums=(0, 1))(1.0, 2.0)]  # 1 - log 2, -1/2",
        "[0.3068528194400547, -0.5]",
    ),
    (
        kl_div,
        "`scipy.special.kl_div`, ``x log(x/y) - x + y``, differentiable in `x` and `y`.",
        "[float(d) for d in cr.grad(special.kl_div, argnums=(0, 1))(1.0, 1.0)]",
        "[0.0, 0.0]",
    ),
    (
        expi,
        "`scipy.special.expi`: ``Ei' = eˣ / x``.",
        "float(cr.grad(special.expi)(1.0)) == float(np.exp(1.0))",
        "True",
    ),
    (
        exp1,
        "`scipy.special.exp1`: ``E1' = -e⁻ˣ / x``.",
        "float(cr.grad(special.exp1)(1.0)) == -float(np.exp(-1.0))",
        "True",
    ),
    (
        expn,
        "`scipy.special.expn(n, x)`, differentiable in `x` (``E_n' = -E_{n-1}``); float32 stays float32.",
        "float(cr.grad(special.expn, argnums=1)(1, 1.0)) == -float(np.exp(-1.0))",
        "True",
    ),
    (
        boxcox,
        "`scipy.special.boxcox(x, lmbda)`, differentiable in both, through ``lmbda = 0``.",
        "float(cr.grad(special.boxcox, argnums=1)(np.e, 0.0))  # (log x)² / 2",
        "0.5",
    ),
    (
        boxcox1p,
        "`scipy.special.boxcox1p(x, lmbda)`, differentiable in both, through ``lmbda = 0``.",
        "float(cr.grad(special.boxcox1p)(0.0, 2.0))  # (1 + x)^(lmbda - 1)",
        "1.0",
    ),
    (
        spence,
        "`scipy.special.spence`: ``spence'(z) = log z / (1 - z)``, -1 at ``z = 1``.",
        "float(cr.grad(special.spence)(1.0))",
        "-1.0",
    ),
    (
        hyp1f1,
        "`scipy.special.hyp1f1(a, b, x)`, differentiable in `x`: ``(a/b) 1F1(a+1, b+1, x)``; not `a`, `b`.",
        "float(cr.grad(special.hyp1f1, argnums=2)(1.0, 1.0, 0.0))  # 1F1(1, 1, x) = eˣ",
        "1.0",
    ),
    (
        sici,
        "`scipy.special.sici`, ``(Si, Ci)``: ``Si' = sin x / x``, ``Ci' = cos x / x``.",
        "float(cr.grad(lambda x: special.sici(x)[0])(0.0))",
        "1.0",
    ),
    (
        fresnel,
        "`scipy.special.fresnel`, ``(S, C)``: ``S' = sin(πx²/2)``, ``C' = cos(πx²/2)``.",
        "float(cr.grad(lambda x: special.fresnel(x)[1])(0.0))",
        "1.0",
    ),
]:
    _document(_fun, _summary, _example, _result)
