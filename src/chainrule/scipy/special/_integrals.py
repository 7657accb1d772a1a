"""Integrals: the exponential integrals, Spence's dilogarithm, sine/cosine and Fresnel
integrals.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.special as sc

from chainrule import numpy as cnp
from chainrule.core.batching import defbatch
from chainrule.core.primitive import Primitive, defjvp_joint, defvjp, primitive
from chainrule.core.trace import Tracer
from chainrule.numpy.rules.common import defelementwise, elementwise_batch

from ._helpers import anywhere, constant, document, in_dtype_of_x, integer_order, near_zero

# ------------------------------------------------------------------ exponential integrals

expi = primitive(sc.expi, "expi")
exp1 = primitive(sc.exp1, "exp1")
expn = primitive(in_dtype_of_x(sc.expn), "expn")

defelementwise(expi, lambda g, ans, x: g * cnp.exp(x) / x)
defelementwise(exp1, lambda g, ans, x: g * -cnp.exp(-x) / x)


def _expn_rule(g: Any, ans: Any, n: Any, x: Any) -> Any:
    """``E_n' = -E_{n-1}``, with ``E_0(x) = e^(-x) / x`` (SciPy's ``expn(0, x)``)."""
    n = constant(n)
    if not anywhere(n == 0):
        return g * -expn(n - 1, x)
    e0_prime = cnp.exp(-x) * (x + 1.0) / (x * x)
    return g * -cnp.where(n == 0, e0_prime, expn(np.maximum(n - 1, 0), x))


defelementwise(expn, integer_order("expn"), _expn_rule)


# spence(z) = ∫₁ᶻ log t / (1 - t) dt: spence'(z) = -log1p(w) / w with w = z - 1 (-1 at z = 1).
spence = primitive(sc.spence, "spence")
_LOG1P_SERIES = tuple((-1.0) ** k / (k + 1) for k in range(16))
defelementwise(
    spence,
    lambda g, ans, z: -g * near_zero(z - 1.0, _LOG1P_SERIES, lambda w: cnp.log1p(w) / w),
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
    defbatch(prim, elementwise_batch(prim))


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


__test__ = document(
    [
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
            spence,
            "`scipy.special.spence`: ``spence'(z) = log z / (1 - z)``, -1 at ``z = 1``.",
            "float(cr.grad(special.spence)(1.0))",
            "-1.0",
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
    ]
)
