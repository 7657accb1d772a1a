"""Gamma, beta, incomplete gamma and beta, Hurwitz zeta, Pochhammer and 1F1."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import scipy.special as sc

from chainrule import numpy as cnp
from chainrule.core.primitive import primitive
from chainrule.core.trace import Tracer, primal
from chainrule.numpy.rules.common import defelementwise, nondiff

from ._basic import digamma, gammaln, xlog1py, xlogy
from ._helpers import document, in_dtype_of_x, integer_order, no_closed_form, no_rule

# ------------------------------------------------------------------- gamma and beta families

gamma = primitive(sc.gamma, "gamma")
loggamma = primitive(sc.loggamma, "loggamma")
rgamma = primitive(sc.rgamma, "rgamma")
gammasgn = nondiff(sc.gammasgn)
bernoulli = nondiff(sc.bernoulli)  # Bernoulli numbers B_0 ... B_n: no derivative in n
beta = primitive(sc.beta, "beta")
betaln = primitive(sc.betaln, "betaln")
poch = primitive(sc.poch, "poch")
gammainc = primitive(sc.gammainc, "gammainc")
gammaincc = primitive(sc.gammaincc, "gammaincc")
betainc = primitive(sc.betainc, "betainc")
_hurwitz_zeta = primitive(sc.zeta, "zeta")


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
    no_closed_form("gammainc", "a"),
    lambda g, ans, a, x: g * _gamma_density(a, x),
)
defelementwise(
    gammaincc,
    no_closed_form("gammaincc", "a"),
    lambda g, ans, a, x: -g * _gamma_density(a, x),
)
defelementwise(
    betainc,
    no_closed_form("betainc", "a"),
    no_closed_form("betainc", "b"),
    lambda g, ans, a, b, x: g * cnp.exp(xlogy(a - 1.0, x) + xlog1py(b - 1.0, -x) - betaln(a, b)),
)
# Hurwitz zeta: ∂ζ(s, q)/∂q = -s ζ(s + 1, q).
defelementwise(
    _hurwitz_zeta,
    no_closed_form("zeta", "x"),
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
            no_closed_form("zeta", "x")()
        return sc.zeta(x)
    return _hurwitz_zeta(x, q)


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
    negative = np.asarray(primal(n)) < 0
    if not np.any(negative):
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
            hyp1f1,
            "`scipy.special.hyp1f1(a, b, x)`, differentiable in `x`: ``(a/b) 1F1(a+1, b+1, x)``; not `a`, `b`.",
            "float(cr.grad(special.hyp1f1, argnums=2)(1.0, 1.0, 0.0))  # 1F1(1, 1, x) = eˣ",
            "1.0",
        ),
    ]
)
