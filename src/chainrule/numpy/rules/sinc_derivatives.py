"""Every derivative of ``sinc(x) = sin(πx)/(πx)``, exact to rounding at, near and far from 0.

``sinc_derivative(x, order=n)`` is the n-th derivative, a primitive whose own derivative is
the next one, so ``sinc`` can be differentiated to any order. The quotient rule applied
again and again would divide ``0/0`` at ``x = 0`` and cancel catastrophically near it, so two
formulas share the work, with ``u = πx`` and ``f(u) = sin(u)/u`` (``sinc⁽ⁿ⁾(x) = πⁿ f⁽ⁿ⁾(u)``):

- near 0 (``|u| < max(1, n)``), the Taylor series differentiated term by term,
  ``f⁽ⁿ⁾(u) = Σ_{2j≥n} (-1)ʲ u^(2j-n) / ((2j+1) (2j-n)!)``: no division by ``u``, and its
  terms stay below ``e^|u|`` in size;
- elsewhere, the recurrence from differentiating ``u f(u) = sin u`` n times,
  ``f⁽ᵏ⁾ = (sin⁽ᵏ⁾(u) - k f⁽ᵏ⁻¹⁾) / u``, stable for ``|u| >= k`` (each step multiplies an
  earlier rounding error by ``k/|u| <= 1``).

Values are computed in float64 (complex128 for complex ``x``: both formulas hold there, and
the recurrence stays stable for ``|u| >= k``) and returned in the dtype NumPy's ``sinc`` gives.

>>> import chainrule as cr
>>> d2 = cr.elementwise_grad(cr.elementwise_grad(cr.numpy.sinc))
>>> print(f"{float(d2(0.0)):.12f}", f"{-math.pi**2 / 3:.12f}")  # the second derivative at 0
-3.289868133696 -3.289868133696
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from chainrule.core.batching import defbatch
from chainrule.core.primitive import Primitive, defjvp, defvjp, primitive


def _series(u: np.ndarray, n: int) -> np.ndarray:
    """``f⁽ⁿ⁾(u)`` from its Taylor series, for ``|u| < max(1, n)``."""
    total = np.zeros_like(u)
    # Terms fall below 2**-60 of the largest by k = 20 + 4 max(1, n) while |u| < max(1, n).
    for k in range(n % 2, 21 + 4 * max(1, n), 2):
        j = (k + n) // 2
        total += (-1.0) ** j / ((2 * j + 1) * math.factorial(k)) * u**k
    return total


def _recurrence(u: np.ndarray, n: int) -> np.ndarray:
    """``f⁽ⁿ⁾(u)`` by ``f⁽ᵏ⁾ = (sin⁽ᵏ⁾(u) - k f⁽ᵏ⁻¹⁾) / u``, for ``|u| >= max(1, n)``."""
    s, c = np.sin(u), np.cos(u)
    sin_derivatives = (s, c, -s, -c)
    f = s / u
    for k in range(1, n + 1):
        f = (sin_derivatives[k % 4] - k * f) / u
    return f


def _sinc_derivative_impl(x: Any, order: int) -> Any:
    x = np.asarray(x)
    dtype = np.sinc(np.zeros((), x.dtype)).dtype
    u = math.pi * x.astype(np.complex128 if x.dtype.kind == "c" else np.float64)
    near = np.abs(u) < max(1, order)
    out = np.empty_like(u)
    out[near] = _series(u[near], order)
    out[~near] = _recurrence(u[~near], order)
    return (math.pi**order * out).astype(dtype)[()]


sinc_derivative: Primitive = primitive(_sinc_derivative_impl, "sinc_derivative")
# Unary and elementwise: a tangent's leading batch axes broadcast against the derivative.
defvjp(sinc_derivative, lambda g, ans, x, order: g * sinc_derivative(x, order=order + 1))
defjvp(sinc_derivative, lambda t, ans, x, order: t * sinc_derivative(x, order=order + 1))
defbatch(  # elementwise: every example in one call
    sinc_derivative, lambda args, dims, order: (sinc_derivative(*args, order=order), dims[0])
)

__all__ = ["sinc_derivative"]
