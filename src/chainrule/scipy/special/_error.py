"""Relatives of the error function: erfcx, erfcinv, ndtri, Dawson and Owen's T."""

from __future__ import annotations

import math

import scipy.special as sc

from chainrule import numpy as cnp
from chainrule.core.primitive import primitive
from chainrule.numpy.rules.common import defelementwise

from ._basic import HALF_LOG_2PI, HALF_SQRT_PI, TWO_OVER_SQRT_PI, erf
from ._helpers import document

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


__test__ = document(
    [
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
    ]
)
