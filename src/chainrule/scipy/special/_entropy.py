"""Elementwise entropies: entr, rel_entr and kl_div."""

from __future__ import annotations

import scipy.special as sc

from chainrule import numpy as cnp
from chainrule.core.primitive import primitive
from chainrule.numpy.rules.common import defelementwise

from ._helpers import document

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


__test__ = document(
    [
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
    ]
)
