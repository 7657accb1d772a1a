"""Bessel functions of real order: derivatives in `x` by the order recurrences, and of
``iv``/``ive`` in `v` by the power series on jets."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.special as sc

from chainrule import numpy as cnp
from chainrule.core.primitive import primitive
from chainrule.numpy.rules.common import defelementwise

from ._gamma import MAX_TERMS, _lgamma_jet, _settled
from ._helpers import Jet, document, in_dtype_of_x, integer_order, no_closed_form

# -------------------------------------------------------------------------------- Bessel

iv = primitive(sc.iv, "iv")
ive = primitive(sc.ive, "ive", real_only=True)  # e^(-|Re z|) I_v(z): not holomorphic
jv = primitive(sc.jv, "jv")
yv = primitive(sc.yv, "yv")
kv = primitive(sc.kv, "kv")
jn = jv
yn = primitive(in_dtype_of_x(sc.yn), "yn")
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


# ------------------------------------------------------------ I_v in its order v, on jets

CANCELLATION = 1e6  # the most the series may lose to cancellation: 6 of 16 digits


def _iv_dv_impl(v: Any, x: Any, *, order: int = 1) -> Any:
    """``∂ⁿI_v(x)/∂vⁿ`` (``n = order >= 1``) for ``v > -1``, ``x >= 0``, by the power series
    ``Σ_k (x/2)^(2k+v) / (k! Γ(k+v+1))`` run on jets in `v`.

    Its terms' derivatives change sign (``log(x/2) - ψ(k+v+1)``), so at large `x` they
    cancel: ``∂I_v/∂v = -K_0(x)`` at ``v = 0``, ``e^(-2x)`` times the terms. Where the sum
    of their magnitudes exceeds the result by more than `CANCELLATION`, an error.
    """
    vv, xx = np.broadcast_arrays(np.asarray(v, np.float64), np.asarray(x, np.float64))
    dtype = np.result_type(np.asarray(v), np.asarray(x), np.float32)
    dtype = dtype if dtype.kind == "f" else np.dtype(np.float64)
    if np.any(xx < 0) or np.any(vv <= -1):
        raise ValueError(
            "chainrule: scipy.special.iv/ive are differentiable in `v` for v > -1 and x >= 0 "
            "only (at x < 0 a non-integer order gives a complex value); pass `v` as a "
            "constant, or wrap it in chainrule.stop_gradient"
        )
    out = np.where(vv > 0, 0.0, np.nan)  # x = 0: I_v(0) = 0 for v > 0; a pole or a jump else
    work = (xx > 0) & ~np.isnan(xx) & ~np.isnan(vv)
    if np.any(work):
        jv_, half = Jet.variable(vv[work], 0, (order,)), 0.5 * xx[work]
        term = (jv_ * np.log(half) - _lgamma_jet(jv_ + 1.0)).exp(np.exp)
        total, size = term, np.abs(term.c[(order,)])
        for k in range(1, MAX_TERMS):
            term = term * (jv_ + float(k)).reciprocal() * (half * half / k)
            total, size = total + term, size + np.abs(term.c[(order,)])
            if np.all(_settled(term, total)):
                break
        result = total.derivative((order,))
        lost = ~(size <= CANCELLATION * np.abs(total.c[(order,)]))  # NaN counts as lost
        if np.any(lost):
            raise ValueError(
                f"chainrule: scipy.special.iv's derivative in `v` comes from its power series, "
                f"which loses more than 6 digits to cancellation at v={vv[work][lost][:3]}, "
                f"x={xx[work][lost][:3]} (x too large for the order); pass `v` as a constant, "
                "or wrap it in chainrule.stop_gradient"
            )
        out[work] = result
    return out.astype(dtype)[()]


iv_dv = primitive(_iv_dv_impl, "iv_dv")


def _iv_d(v: Any, x: Any, n: int) -> Any:
    return iv(v, x) if n == 0 else iv_dv(v, x, order=n)


# ∂ⁿ/∂vⁿ of I'_v = I_{v+1} + (v/x) I_v, by Leibniz: ∂ⁿI_{v+1} + (v ∂ⁿI_v + n ∂ⁿ⁻¹I_v) / x.
defelementwise(
    iv_dv,
    lambda g, ans, v, x, order=1: g * iv_dv(v, x, order=order + 1),
    lambda g, ans, v, x, order=1: (
        g * (iv_dv(v + 1.0, x, order=order) + (v * ans + order * _iv_d(v, x, order - 1)) / x)
    ),
)

# The recurrences C'_v = (C_{v-1} ∓ C_{v+1}) / 2 hold for every real order, and avoid the
# division by x of C'_v = C_{v-1} - v C_v / x (finite at x = 0).
defelementwise(
    iv,
    lambda g, ans, v, x: g * iv_dv(v, x),
    lambda g, ans, v, x: g * 0.5 * (iv(v - 1, x) + iv(v + 1, x)),
)
defelementwise(
    ive,
    lambda g, ans, v, x: g * cnp.exp(-cnp.abs(x)) * iv_dv(v, x),
    lambda g, ans, v, x: g * _scaled(0.5 * (ive(v - 1, x) + ive(v + 1, x)), ans, x),
)
defelementwise(
    jv, no_closed_form("jv", "v"), lambda g, ans, v, x: g * 0.5 * (jv(v - 1, x) - jv(v + 1, x))
)
defelementwise(
    yv, no_closed_form("yv", "v"), lambda g, ans, v, x: g * 0.5 * (yv(v - 1, x) - yv(v + 1, x))
)
defelementwise(
    kv, no_closed_form("kv", "v"), lambda g, ans, v, x: g * -0.5 * (kv(v - 1, x) + kv(v + 1, x))
)
defelementwise(
    yn, integer_order("yn"), lambda g, ans, n, x: g * 0.5 * (yn(n - 1, x) - yn(n + 1, x))
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


__test__ = document(
    [
        (
            iv,
            "`scipy.special.iv(v, x)`, differentiable in `x`: ``(I_{v-1} + I_{v+1}) / 2``, and in `v`"
            " (`iv_dv`) for ``v > -1``, ``x >= 0`` where its power series keeps 10 digits.",
            "float(cr.grad(special.iv, argnums=1)(1.0, 0.0))  # 1/2",
            "0.5",
        ),
        (
            ive,
            "`scipy.special.ive(v, x)`, ``e^(-|x|) I_v(x)``, differentiable in `x` (0 at the kink of"
            " ``ive(0, x)`` at 0), and in `v` where `iv` is.",
            "float(cr.grad(special.ive, argnums=1)(0.0, 0.0))",
            "0.0",
        ),
        (
            iv_dv,
            "``iv_dv(v, x, order=1)``: ``∂ⁿI_v(x)/∂vⁿ``, by the power series of ``I_v`` on jets in"
            " `v`. At ``v = 0`` it is ``-K_0(x)``:",
            "from chainrule.scipy.special._bessel import iv_dv\n>>> "
            "bool(abs(iv_dv(0.0, 1.0) + special.k0(1.0)) < 1e-15)",
            "True",
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
    ]
)
