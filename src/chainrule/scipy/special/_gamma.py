"""Gamma, beta, incomplete gamma and beta, Hurwitz zeta, Pochhammer and 1F1."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.special as sc

from chainrule import numpy as cnp
from chainrule.core.primitive import primitive
from chainrule.core.trace import Tracer
from chainrule.numpy.rules.common import defelementwise, nondiff

from ._basic import digamma, gammaln, polygamma, xlog1py, xlogy
from ._helpers import (
    Jet,
    anywhere,
    constant,
    document,
    in_dtype_of_x,
    integer_order,
    no_closed_form,
    no_rule,
)

# ------------------------------------------------------------------- gamma and beta families

gamma = primitive(sc.gamma, "gamma")
loggamma = primitive(sc.loggamma, "loggamma")
rgamma = primitive(sc.rgamma, "rgamma")
gammasgn = nondiff(sc.gammasgn)


def _value_shaped(fn: Callable[..., Any], args: list[Any], dims: list[Any], **kw: Any) -> Any:
    raise TypeError(
        "chainrule.vmap: scipy.special.bernoulli(n) returns n + 1 numbers, so a batch of n "
        "would give examples of different lengths; call it on the largest n outside the "
        "vmap and index the table (B_k = table[k]) inside."
    )


bernoulli = nondiff(sc.bernoulli, _value_shaped)  # B_0 ... B_n: no derivative in n
beta = primitive(sc.beta, "beta")
betaln = primitive(sc.betaln, "betaln")
poch = primitive(sc.poch, "poch")
gammainc = primitive(sc.gammainc, "gammainc")
gammaincc = primitive(sc.gammaincc, "gammaincc")
betainc = primitive(sc.betainc, "betainc")
_hurwitz_zeta = primitive(sc.zeta, "zeta")
_riemann_zeta = primitive(sc.zeta, "zeta")  # (one argument: its own line under jit or vmap)


def _multigammaln_impl(a: Any, d: int) -> Any:
    return in_dtype_of_x(lambda d, a: sc.multigammaln(a, d))(d, a)


_multigammaln = primitive(_multigammaln_impl, "multigammaln")

defelementwise(gamma, lambda g, ans, x: g * ans * digamma(x))
defelementwise(loggamma, lambda g, ans, x: g * digamma(x))


def _rgamma_derivative(x: Any) -> Any:
    """``(1/Γ)' = -ψ/Γ``; left of 1/2 from the reflection ``1/Γ(x) = Γ(1-x) sin(πx) / π``.

    There ``(1/Γ)' = Γ(1-x) (cos πx - sin πx ψ(1-x) / π)``, finite and smooth through the
    zeros of 1/Γ at ``0, -1, -2, ...`` (``(-1)ⁿ n!`` at ``-n``), where ``-ψ/Γ`` is NaN.
    """
    left = constant(x) < 0.5
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


# -------------------------------------------- derivatives in the shape parameters, on jets

EPS = float(np.finfo(np.float64).eps)
MAX_TERMS = 20000  # enough for parameters up to about 1e7; more raises, naming the function


def _zero(orders: tuple[int, ...]) -> tuple[int, ...]:
    return (0,) * len(orders)


def _constant(value: Any, orders: tuple[int, ...]) -> Jet:
    return Jet({_zero(orders): value}, orders)


def _lgamma_jet(z: Jet) -> Jet:
    """``log Γ(z)`` of a jet: its derivatives are ``ψ, ψ', ψ''...`` at ``z.value``."""
    v = z.value
    return z.compose([gammaln(v), digamma(v), *(polygamma(m, v) for m in range(1, sum(z.orders)))])


def _betaln_jet(a: Jet, b: Jet) -> Jet:
    """``log B(a, b)``: the value from `betaln` (no cancellation), the rest from ``log Γ``."""
    out = _lgamma_jet(a) + _lgamma_jet(b) - _lgamma_jet(a + b)
    out.c[_zero(a.orders)] = betaln(a.value, b.value)
    return out


def _psi_difference(k: int, z: Any, s: Any) -> Any:
    """``ψ⁽ᵏ⁾(z + s) - ψ⁽ᵏ⁾(z)``: where ``|s| <= z/4`` and ``z >= 2``, where the two would
    cancel, by Taylor's series ``Σ_m ψ⁽ᵏ⁺ᵐ⁾(z) sᵐ / m!`` (terms shrinking like ``(s/z)ᵐ``)."""
    near = (np.abs(s) <= z / 4) & (z >= 2)
    zz, ss = np.where(near, z, 2.0), np.where(near, s, 0.0)
    series, power = np.zeros_like(zz), np.ones_like(zz)
    for m in range(1, 40):
        power = power * ss / m
        series = series + polygamma(k + m, zz) * power
    return np.where(near, series, polygamma(k, z + s) - polygamma(k, z))


def _log_a_beta(a: Any, b: Any) -> Any:
    """``log(a B(a, b))``; where one parameter is large (``L >= LARGE``, the other `s`),
    ``log Γ(L) - log Γ(s+L) = -(L - 1/2) log1p(s/L) - s log(s+L) + s + σ(L) - σ(s+L)``
    (σ: `_stirling`), which SciPy's ``betaln(0.7, 1000)`` gets wrong by 1e-12."""
    small, large = np.minimum(a, b), np.maximum(a, b)
    far = large >= LARGE
    out = np.log(a) + betaln(a, b)
    if np.any(far):
        s, big = np.where(far, small, 1.0), np.where(far, large, LARGE)
        ratio = -(big - 0.5) * np.log1p(s / big) - s * np.log(s + big) + s
        ratio = ratio + _stirling(big) - _stirling(s + big)
        # log a + log Γ(s): log Γ(s+1) when a is the small one
        head = np.where(a <= b, gammaln(s + 1.0), np.log(big) + gammaln(s))
        out = np.where(far, head + ratio, out)
    return out


def _log_a_beta_jet(a: Jet, b: Jet) -> Jet:
    """``log(a B(a, b)) = log Γ(a+1) + log Γ(b) - log Γ(a+b)`` of two variables `a`, `b`.

    Through ``Γ(a+1)``, since ``log a`` and ``log Γ(a)`` have derivatives of size ``1/aⁿ``
    that cancel for small `a`; and coefficient by coefficient, with the differences
    ``ψ⁽ⁿ⁾(b) - ψ⁽ⁿ⁾(a+b)`` and ``ψ⁽ⁿ⁾(a+1) - ψ⁽ⁿ⁾(a+b)`` taken without cancellation when
    one parameter dwarfs the other.
    """
    va, vb = a.value, b.value
    # which variable is `a`: its own unit key, or the one `b`'s is not (a of order 0)
    units = [k for k in a.c if sum(k) == 1] or [tuple(1 - i for i in k) for k in b.c if sum(k) == 1]
    ia = units[0].index(1)
    c = {_zero(a.orders): _log_a_beta(va, vb)}
    for key in np.ndindex(*(n + 1 for n in a.orders)):
        i, j = key[ia], sum(key) - key[ia]
        if i and not j:
            c[key] = -_psi_difference(i - 1, va + 1.0, vb - 1.0) / math.factorial(i)
        elif j and not i:
            c[key] = -_psi_difference(j - 1, vb, va) / math.factorial(j)
        elif i and j:
            c[key] = -polygamma(i + j - 1, va + vb) / (math.factorial(i) * math.factorial(j))
    return Jet(c, a.orders)


LARGE = 50.0  # from here on, Stirling's series (5 terms) is exact to double precision
_STIRLING = (1 / 12, -1 / 360, 1 / 1260, -1 / 1680, 1 / 1188)


def _stirling(a: Any) -> Any:
    """``log Γ(a+1) - (a log a - a + log(2πa)/2)``, Stirling's series, for ``a >= LARGE``."""
    r = 1.0 / (a * a)
    return sum(c * r**k for k, c in enumerate(_STIRLING)) / a


def _t_minus_log1p(t: Any) -> Any:
    """``t - log(1 + t)``, by its series ``Σ_(k>=2) (-t)^k / k`` where ``|t| < 1/4``."""
    small = np.abs(t) < 0.25
    u = np.where(small, t, 0.0)
    series = np.zeros_like(u)
    for k in range(40, 1, -1):
        series = (series + 1.0 / k) * -u
    series = series * -u
    with np.errstate(divide="ignore"):
        return np.where(small, series, t - np.log1p(np.where(small, 0.0, t)))


def _gamma_front(a: Jet, x: Any) -> Jet:
    """``log(x^a e^(-x) / Γ(a+1))``. For large `a` its value is ``-a φ((x-a)/a) - log(2πa)/2
    - σ(a)`` (σ: `_stirling`) with ``φ(t) = t - log1p(t)``: no cancellation of terms of size ``a log a``
    (``a = 1000``, ``x = 1000`` would otherwise lose three digits)."""
    front = a * np.log(x) - x - _lgamma_jet(a + 1.0)
    v = a.value
    large = v >= LARGE
    if np.any(large):
        w = np.where(large, v, LARGE)
        fine = -w * _t_minus_log1p((x - w) / w) - 0.5 * np.log(2 * math.pi * w) - _stirling(w)
        front.c[_zero(a.orders)] = np.where(large, fine, front.value)
    return front


def _beta_front(a: Jet, b: Jet, x: Any) -> Jet:
    """``log(x^a (1-x)^b / (a B(a, b)))``. Where `a` and `b` are both large its value is
    ``-a φ(λ/a) - b φ(-λ/b) + log(ab / (2π(a+b)))/2 - log a - (σ(a) + σ(b) - σ(a+b))`` with
    ``λ = b x - a (1-x)``, ``φ(t) = t - log1p(t)`` and σ `_stirling`: no cancellation
    of terms of size ``a log a``."""
    front = a * np.log(x) + b * np.log1p(-x) - _log_a_beta_jet(a, b)
    va, vb = a.value, b.value
    large = (va >= LARGE) & (vb >= LARGE)
    if np.any(large):
        p, q = np.where(large, va, LARGE), np.where(large, vb, LARGE)
        lam = q * x - p * (1.0 - x)
        fine = (
            -p * _t_minus_log1p(lam / p)
            - q * _t_minus_log1p(-lam / q)
            + 0.5 * np.log(p * q / (2 * math.pi * (p + q)))
            - np.log(p)
            - (_stirling(p) + _stirling(q) - _stirling(p + q))
        )
        front.c[_zero(a.orders)] = np.where(large, fine, front.value)
    return front


def _settled(step: Jet, total: Jet) -> Any:
    """Where every coefficient of `step` is below two ulps of `total`'s."""
    done = True
    for k, v in step.c.items():
        done = done & (np.abs(v) <= 2.0 * EPS * np.abs(total.c[k]))
    return done


def _not_converged(name: str, args: dict[str, Any]) -> ArithmeticError:
    at = ", ".join(f"{k}={np.ravel(v)[:3]}" for k, v in args.items())
    return ArithmeticError(
        f"chainrule: the derivative of scipy.special.{name} in its shape parameters did not "
        f"converge in {MAX_TERMS} terms at {at} (parameters beyond about 1e7)"
    )


def _gammainc_series(a: Jet, x: Any) -> Jet:
    """``P(a, x) = x^a e^(-x) / Γ(a+1) Σ_k x^k / ((a+1)...(a+k))``, for ``x < a + 1``.

    Every term decreases in `a` with all its derivatives of one sign: no cancellation.
    """
    term = _constant(np.ones_like(x), a.orders)
    total = term
    for k in range(1, MAX_TERMS):
        term = term * (a + float(k)).reciprocal() * x
        total = total + term
        if np.all(_settled(term, total)):
            break
    else:
        raise _not_converged("gammainc", {"a": a.value, "x": x})
    return _gamma_front(a, x).exp(np.exp) * total


def _continued_fraction(first: Jet, terms: Any, like: Any, name: str) -> Jet:
    """``b₁ + a₂/(b₂ + a₃/(b₃ + ...))`` of jets, ``(a_n, b_n) = terms(n)`` for n >= 2.

    By Lentz's method, a product of factors ``Δ_n`` near 1, so a derivative is a sum of
    small terms and not a difference of large convergents; stops when two steps in a row
    change no coefficient by two ulps.
    """
    f, c, d = first, first, None
    calm = 0
    for n in range(2, MAX_TERMS):
        an, bn = terms(n)
        d = (bn if d is None else bn + an * d).reciprocal()
        c = bn + an * c.reciprocal()
        new = f * (c * d)
        calm = calm + 1 if np.all(_settled(new - f, new)) else 0
        f = new
        if calm == 2:
            return f
    raise _not_converged(name, {"x": like})


def _gammaincc_fraction(a: Jet, x: Any) -> Jet:
    """``Q(a, x) = x^a e^(-x) / Γ(a) · 1/(x+1-a - 1(1-a)/(x+3-a - 2(2-a)/(x+5-a - ...)))``,
    Legendre's continued fraction, for ``x >= a + 1``."""

    def terms(n: int) -> tuple[Any, Any]:
        return (a - float(n - 1)) * float(n - 1), x + float(2 * n - 1) - a

    fraction = _continued_fraction(x + 1.0 - a, terms, x, "gammainc")
    return a * _gamma_front(a, x).exp(np.exp) / fraction  # 1/Γ(a) = a/Γ(a+1): no ψ(a) ~ -1/a


def _betainc_fraction(a: Jet, b: Jet, x: Any) -> Jet:
    """``I_x(a, b) = x^a (1-x)^b / (a B(a, b)) · 1/(1 + d₁/(1 + d₂/(1 + ...)))`` with
    ``d_2m+1 = -(a+m)(a+b+m) x / ((a+2m)(a+2m+1))``, ``d_2m = m(b-m) x / ((a+2m-1)(a+2m))``;
    for ``x < (a+1)/(a+b+2)``, where it converges fast."""

    def terms(n: int) -> tuple[Any, Any]:
        m, odd = divmod(n - 1, 2)
        if odd and m == 0:  # (a+m)/(a+2m) = 1: no 1/a in the jet, for small a
            d = -(a + b) * x / (a + 1.0)
        elif odd:
            d = -(a + float(m)) * (a + b + float(m)) * x / ((a + 2.0 * m) * (a + 2.0 * m + 1.0))
        else:
            d = (b - float(m)) * (float(m) * x) / ((a + 2.0 * m - 1.0) * (a + 2.0 * m))
        return d, one

    one = _constant(np.ones_like(x), a.orders)
    fraction = _continued_fraction(one, terms, x, "betainc")
    return _beta_front(a, b, x).exp(np.exp) / fraction


def _float_result(*args: Any) -> tuple[list[Any], Any]:
    """The arguments broadcast, as float64 arrays, and the float type of the result."""
    dtype = np.result_type(*(np.asarray(v) for v in args), np.float32)
    dtype = dtype if dtype.kind == "f" else np.dtype(np.float64)
    return [np.asarray(v, np.float64) for v in np.broadcast_arrays(*args)], dtype


def _gammainc_da_impl(a: Any, x: Any, *, order: int = 1) -> Any:
    """``∂ⁿP(a, x)/∂aⁿ`` (``n = order >= 1``): the series for ``x < a + 1``, else minus
    that of Q by Legendre's continued fraction; 0 at ``x = 0`` and ``inf``, NaN where
    ``a <= 0``, ``x < 0`` or NaN."""
    (a, x), dtype = _float_result(a, x)
    out = np.where((a > 0) & (x >= 0), 0.0, np.nan)
    work = (a > 0) & (x > 0) & np.isfinite(x)
    series = work & (x < a + 1.0)
    for where, expand, sign in ((series, _gammainc_series, 1.0),
                                (work & ~series, _gammaincc_fraction, -1.0)):  # fmt: skip
        if np.any(where):
            jet = expand(Jet.variable(a[where], 0, (order,)), x[where])
            out[where] = sign * jet.derivative((order,))
    return out.astype(dtype)[()]


def _betainc_dab_impl(a: Any, b: Any, x: Any, *, da: int = 1, db: int = 0) -> Any:
    """``∂^(da+db) I_x(a, b) / ∂a^da ∂b^db`` (``da + db >= 1``): the continued fraction at
    ``x``, or at ``1 - x`` with `a` and `b` swapped (``I_x(a, b) = 1 - I_(1-x)(b, a)``);
    0 at ``x = 0`` and 1, NaN where ``a <= 0``, ``b <= 0``, `x` outside ``[0, 1]`` or NaN."""
    (a, b, x), dtype = _float_result(a, b, x)
    out = np.where((a > 0) & (b > 0) & (x >= 0) & (x <= 1), 0.0, np.nan)
    work = (a > 0) & (b > 0) & (x > 0) & (x < 1)
    direct = work & (x < (a + 1.0) / (a + b + 2.0))
    orders = (da, db)
    for where, swap in ((direct, False), (work & ~direct, True)):
        if np.any(where):
            ja, jb = Jet.variable(a[where], 0, orders), Jet.variable(b[where], 1, orders)
            if swap:
                jet = -_betainc_fraction(jb, ja, 1.0 - x[where])
            else:
                jet = _betainc_fraction(ja, jb, x[where])
            out[where] = jet.derivative(orders)
    return out.astype(dtype)[()]


gammainc_da = primitive(_gammainc_da_impl, "gammainc_da")
betainc_dab = primitive(_betainc_dab_impl, "betainc_dab")


def _density_derivative(
    log_density: Callable[[list[Jet], Any], Jet],
    params: list[Any],
    x: Any,
    orders: tuple[int, ...],
    ends: tuple[float, ...],
) -> Any:
    """``∂^orders`` in the parameters of ``exp(log_density(params, x))``, through jets of
    chainrule values (so differentiable again). Where `x` is at the end ``ends[k]`` of the
    support (where ``log x`` is infinite) the limit is 0 if ``params[k] > 1``, else NaN."""
    xp = constant(x)
    edge: Any = False
    limit: Any = 0.0
    for e, p in zip(ends, params, strict=False):
        hit = xp == e
        edge = np.logical_or(edge, hit)
        limit = cnp.where(np.logical_and(hit, np.logical_not(constant(p) > 1)), np.nan, limit)
    jets = [Jet.variable(p, k, orders) for k, p in enumerate(params)]
    if not anywhere(edge):
        return log_density(jets, x).exp(cnp.exp).derivative(orders)
    value = log_density(jets, cnp.where(edge, 0.5, x)).exp(cnp.exp).derivative(orders)
    return cnp.where(edge, limit, value)


def _gamma_log_density(p: list[Jet], x: Any) -> Jet:
    return (p[0] - 1.0) * cnp.log(x) - x - _lgamma_jet(p[0])


def _beta_log_density(p: list[Jet], x: Any) -> Jet:
    return (p[0] - 1.0) * cnp.log(x) + (p[1] - 1.0) * cnp.log1p(-x) - _betaln_jet(p[0], p[1])


defelementwise(
    gammainc_da,
    lambda g, ans, a, x, order=1: g * gammainc_da(a, x, order=order + 1),
    lambda g, ans, a, x, order=1: (
        g * _density_derivative(_gamma_log_density, [a], x, (order,), (0.0,))
    ),
)
defelementwise(
    betainc_dab,
    lambda g, ans, a, b, x, da=1, db=0: g * betainc_dab(a, b, x, da=da + 1, db=db),
    lambda g, ans, a, b, x, da=1, db=0: g * betainc_dab(a, b, x, da=da, db=db + 1),
    lambda g, ans, a, b, x, da=1, db=0: (
        g * _density_derivative(_beta_log_density, [a, b], x, (da, db), (0.0, 1.0))
    ),
)
defelementwise(
    gammainc,
    lambda g, ans, a, x: g * gammainc_da(a, x),
    lambda g, ans, a, x: g * _gamma_density(a, x),
)
defelementwise(
    gammaincc,
    lambda g, ans, a, x: -g * gammainc_da(a, x),
    lambda g, ans, a, x: -g * _gamma_density(a, x),
)
defelementwise(
    betainc,
    lambda g, ans, a, b, x: g * betainc_dab(a, b, x, da=1, db=0),
    lambda g, ans, a, b, x: g * betainc_dab(a, b, x, da=0, db=1),
    lambda g, ans, a, b, x: g * cnp.exp(xlogy(a - 1.0, x) + xlog1py(b - 1.0, -x) - betaln(a, b)),
)
# Hurwitz zeta: ∂ζ(s, q)/∂q = -s ζ(s + 1, q).
defelementwise(
    _hurwitz_zeta,
    no_closed_form("zeta", "x"),
    lambda g, ans, s, q: g * -s * _hurwitz_zeta(s + 1.0, q),
)
defelementwise(_riemann_zeta, no_closed_form("zeta", "x"))


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
    return _riemann_zeta(x) if q is None else _hurwitz_zeta(x, q)


def multigammaln(a: Any, d: int) -> Any:
    """`scipy.special.multigammaln`, differentiable in `a`: ``Σ_{j<d} ψ(a - j/2)``.

    >>> import chainrule as cr
    >>> from chainrule.scipy import special
    >>> float(cr.grad(special.multigammaln)(3.0, 1)) == float(special.digamma(3.0))
    True
    """
    if isinstance(d, Tracer):
        integer_order("multigammaln", "d")()
    return _multigammaln(a, d)


def _factorial_impl(n: Any) -> Any:
    return in_dtype_of_x(lambda _, n: sc.factorial(n))(None, n)


_factorial = primitive(_factorial_impl, "factorial")


def _factorial_rule(g: Any, ans: Any, n: Any) -> Any:
    """``Γ(n+1) ψ(n+1)`` for ``n >= 0``; 0 left of 0, where SciPy's value is constantly 0."""
    negative = constant(n) < 0
    if not anywhere(negative):
        return g * ans * digamma(n + 1.0)
    return g * cnp.where(negative, 0.0, ans * digamma(cnp.where(negative, 0.0, n) + 1.0))


defelementwise(_factorial, _factorial_rule)


def factorial(n: Any, exact: bool = False, extend: str = "zero") -> Any:
    """`scipy.special.factorial`; with ``exact=False`` differentiable in `n`: ``Γ(n+1) ψ(n+1)``.

    Left of 0 the value is 0 (``extend="zero"``) and so is the derivative; at 0 it is the
    right-hand one. ``exact=True`` (integers) and ``extend="complex"`` are not differentiable.

    >>> import chainrule as cr
    >>> from chainrule.scipy import special
    >>> round(float(cr.grad(special.factorial)(1.0)), 12)  # 1 - Euler's γ
    0.422784335098
    """
    if exact or extend != "zero":
        if isinstance(n, Tracer):
            why = "exact=True gives integers" if exact else "its output is complex"
            no_rule("factorial", "n", why)()
        return sc.factorial(n, exact=exact, extend=extend)
    return _factorial(n)


# ---------------------------------------------------------------- confluent hypergeometric

hyp1f1 = primitive(sc.hyp1f1, "hyp1f1")
defelementwise(
    hyp1f1,
    no_closed_form("hyp1f1", "a"),
    no_closed_form("hyp1f1", "b"),
    lambda g, ans, a, b, x: g * (a / b) * hyp1f1(a + 1.0, b + 1.0, x),
)


__test__ = document(
    [
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
            "`scipy.special.gammainc(a, x)`, differentiable in `x` (the Gamma(a) density) and in"
            " `a` (`gammainc_da`), to every order.",
            "float(cr.grad(special.gammainc, argnums=1)(1.0, 0.5)) == float(np.exp(-0.5))",
            "True",
        ),
        (
            gammaincc,
            "`scipy.special.gammaincc(a, x)`, differentiable in `x` and `a`: ``∂Q/∂a = -∂P/∂a``."
            "\n\nAt ``a = 1``, ``∂Q/∂a = e⁻ˣ (log x + γ) + E₁(x)`` (Euler's γ); at ``x = 1``:",
            "g = cr.grad(special.gammaincc)(1.0, 1.0)\n>>> "
            "bool(abs(g - np.euler_gamma / np.e - special.exp1(1.0)) < 1e-15)",
            "True",
        ),
        (
            gammainc_da,
            "``gammainc_da(a, x, order=1)``: ``∂ⁿP(a, x)/∂aⁿ`` (``n = order``), the derivative of"
            " `gammainc` in `a`, by forward-mode jets through its series (``x < a + 1``) or"
            " through Legendre's continued fraction for Q (``x >= a + 1``). Differentiable in `a`"
            " (the next order) and `x` (the density's n-th derivative in `a`).\n\nAt ``a = 1``,"
            " ``P = 1 - e⁻ˣ``, and ``∂P/∂a = -e⁻ˣ (log x + γ) - E₁(x)``; at ``x = 1``:",
            "from chainrule.scipy.special._gamma import gammainc_da\n>>> "
            "bool(abs(gammainc_da(1.0, 1.0) + (np.euler_gamma + special.exp1(1.0) * np.e) / np.e)"
            " < 1e-15)",
            "True",
        ),
        (
            betainc,
            "`scipy.special.betainc(a, b, x)`, differentiable in `x` (the Beta(a, b) density) and"
            " in `a`, `b` (`betainc_dab`), to every order.\n\n``I_x(1, b) = 1 - (1-x)^b``, so"
            " ``∂/∂b = -(1-x)^b log(1-x)``:",
            "round(float(cr.grad(special.betainc, argnums=1)(1.0, 2.0, 0.5)), 10)  # log(2) / 4",
            "0.1732867951",
        ),
        (
            betainc_dab,
            "``betainc_dab(a, b, x, da=1, db=0)``: ``∂^(da+db) I_x(a, b) / ∂a^da ∂b^db``, by"
            " bivariate jets through the continued fraction at `x`, or at ``1 - x`` with `a` and `b`"
            " swapped, whichever converges fast. Differentiable in `a`, `b` (the next orders) and"
            " `x`.",
            "from chainrule.scipy.special._gamma import betainc_dab\n>>> "
            "round(float(betainc_dab(1.0, 2.0, 0.5, da=0, db=1)), 10)",
            "0.1732867951",
        ),
        (
            hyp1f1,
            "`scipy.special.hyp1f1(a, b, x)`, differentiable in `x`: ``(a/b) 1F1(a+1, b+1, x)``; not `a`, `b`.",
            "float(cr.grad(special.hyp1f1, argnums=2)(1.0, 1.0, 0.0))  # 1F1(1, 1, x) = eˣ",
            "1.0",
        ),
    ]
)
