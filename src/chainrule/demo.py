"""A five-minute tour of the calculus of machine learning, every number checked.

Run it with ``python -m chainrule.demo`` (or ``make demo``). Each result computed by
chainrule is compared with an independent witness (a closed form or central differences)
and marked ✓ or ✗; the exit status is non-zero if any check fails.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import numpy

import chainrule as cr
import chainrule.numpy as np
from chainrule.scipy import special

_failures: list[str] = []


def _check(label: str, got: Any, expected: Any, tol: float = 1e-6) -> str:
    ok = bool(numpy.allclose(got, expected, rtol=tol, atol=tol))
    if not ok:
        _failures.append(label)
    return "✓" if ok else "✗"


def _fmt(x: Any) -> str:
    return numpy.array2string(
        numpy.asarray(x), precision=4, suppress_small=True, floatmode="maxprec"
    )


def derivative_table() -> None:
    print("1. Derivatives of one variable: chainrule vs the textbook formula, at x = 0.5")
    x = 0.5
    s = 1 / (1 + numpy.exp(-x))
    rows: list[tuple[str, Callable[[Any], Any], float]] = [
        ("x^3", lambda t: t**3, 3 * x**2),
        ("e^x", np.exp, numpy.exp(x)),
        ("ln x", np.log, 1 / x),
        ("sin x", np.sin, numpy.cos(x)),
        ("sigmoid(x)", special.expit, s * (1 - s)),
        ("tanh x", np.tanh, 1 - numpy.tanh(x) ** 2),
        ("relu(x)", lambda t: np.maximum(t, 0.0), 1.0),
    ]
    print(f"   {'f(x)':<12}{'chainrule':>12}{'formula':>12}{'numerical':>12}")
    for name, f, formula in rows:
        d = cr.derivative(f)(x)
        numeric = cr.numerical_grad(f, x)
        mark = _check(f"d/dx {name}", [d, numeric], [formula, formula])
        print(f"   {name:<12}{d:>12.6f}{formula:>12.6f}{numeric:>12.6f}  {mark}")


def gradient() -> None:
    print("\n2. The gradient of f(x, y) = x^2 + 2y^2 at (3, 4): the direction of steepest ascent")
    f = lambda v: v[0] ** 2 + 2 * v[1] ** 2
    p = np.array([3.0, 4.0])
    g = cr.grad(f)(p)
    print(
        f"   grad f = {_fmt(g)}   numerical {_fmt(cr.numerical_grad(f, p))}  "
        f"{_check('gradient', g, [6.0, 16.0])}"
    )
    print("   gradient descent, step 0.1:")
    for step in range(4):
        print(f"     step {step}: (x, y) = {_fmt(p)}, f = {float(f(p)):.4f}")
        p = p - 0.1 * cr.grad(f)(p)


def jacobian() -> None:
    print("\n3. The Jacobian of softmax: J_ij = p_i (delta_ij - p_j)")
    z = np.array([1.0, 2.0, 0.5])
    p = special.softmax(z)
    J = cr.jacobian(special.softmax)(z)
    print("   " + _fmt(J).replace("\n", "\n   "))
    print(
        f"   matches diag(p) - p p^T: {_check('softmax Jacobian', J, numpy.diag(p) - numpy.outer(p, p))}"
        f"   rows sum to 0: {_check('softmax rows', J.sum(axis=1), 0.0)}"
    )


def hessian() -> None:
    print("\n4. The Hessian of the Rosenbrock function at its minimum (1, 1): curvature")
    rosen = lambda v: (1 - v[0]) ** 2 + 100 * (v[1] - v[0] ** 2) ** 2
    H = cr.hessian(rosen)(np.array([1.0, 1.0]))
    eig = numpy.linalg.eigvalsh(H)
    print("   " + _fmt(H).replace("\n", "\n   "))
    print(
        f"   exact [[802, -400], [-400, 200]]: {_check('Rosenbrock Hessian', H, [[802, -400], [-400, 200]])}"
        f"   eigenvalues {_fmt(eig)}: both positive, so (1, 1) is a minimum"
    )


def backprop() -> None:
    print("\n5. Backpropagation through a tiny network: loss = (tanh(w x + b) - y)^2")
    x, y = 0.5, 0.8
    loss = lambda w, b: (np.tanh(w * x + b) - y) ** 2
    w, b = 1.5, -0.2
    gw, gb = cr.grad(loss, argnums=(0, 1))(w, b)
    a = numpy.tanh(w * x + b)
    by_hand = 2 * (a - y) * (1 - a**2)  # dL/da * da/dz, and dz/dw = x, dz/db = 1
    print(f"   dL/dw = {gw:.6f} (by hand {by_hand * x:.6f})  {_check('dL/dw', gw, by_hand * x)}")
    print(f"   dL/db = {gb:.6f} (by hand {by_hand:.6f})  {_check('dL/db', gb, by_hand)}")


def main() -> int:
    print("chainrule: the calculus of machine learning, computed and checked\n")
    for section in (derivative_table, gradient, jacobian, hessian, backprop):
        section()
    if _failures:
        print(f"\n✗ {len(_failures)} check(s) failed: {', '.join(_failures)}")
        return 1
    print("\nAll checks passed ✓")
    return 0


if __name__ == "__main__":
    sys.exit(main())
