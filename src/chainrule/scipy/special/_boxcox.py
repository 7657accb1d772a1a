"""Box-Cox transforms, differentiable in `x` and in `lmbda` (through ``lmbda = 0``)."""

from __future__ import annotations

import math
from typing import Any

import scipy.special as sc

from chainrule import numpy as cnp
from chainrule.core.primitive import primitive
from chainrule.numpy.rules.common import defelementwise

from ._helpers import document, near_zero

# h(u) = (u eᵘ - (eᵘ - 1)) / u² = Σ (k + 1) uᵏ / (k + 2)!
_H_SERIES = tuple((k + 1) / math.factorial(k + 2) for k in range(12))


def _boxcox_lambda_factor(u: Any) -> Any:
    """``h(u)``: ``∂/∂λ (e^(λ ℓ) - 1) / λ = ℓ² h(λ ℓ)``, with ``h(0) = 1/2``."""
    return near_zero(u, _H_SERIES, lambda u: (u * cnp.exp(u) - cnp.expm1(u)) / (u * u))


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


__test__ = document(
    [
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
    ]
)
