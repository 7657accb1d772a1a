"""The one harness every derivative-rule test goes through.

`check_rule(fun, *args)` checks `fun` (built from chainrule primitives) at `args`:
- forward and reverse mode to second order against central differences (`check_grads`);
- the batched paths: `jacfwd` and `jacrev` against a central-difference Jacobian;
- float32: the value and the gradient stay float32, and first-order derivatives agree.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import chainrule as cr
from chainrule.check import numerical_jacobian


def _float32(args: tuple[Any, ...]) -> tuple[Any, ...]:
    return cr.tree.map(lambda a: np.asarray(a, np.float32), args)


def _scalar(fun: Callable[..., Any]) -> Callable[..., Any]:
    """A scalar function of the same arguments: a fixed random projection of the outputs."""
    weights: dict[int, Any] = {}

    def projected(*args: Any) -> Any:
        total = 0.0
        for k, leaf in enumerate(cr.tree.leaves(fun(*args))):
            if k not in weights:
                rng = np.random.default_rng(k)
                weights[k] = rng.standard_normal(np.shape(leaf))
            total = total + cr.numpy.sum(leaf * weights[k].astype(leaf.dtype))
        return total

    return projected


def joined(fun: Callable[..., Any]) -> Callable[..., Any]:
    """A function returning several arrays as one vector (the batched Jacobian checks need one
    array); each part is scaled differently, so a derivative sent to the wrong part shows."""
    return lambda *args: cr.numpy.concatenate(
        [cr.numpy.ravel(p) * (k + 1.0) for k, p in enumerate(fun(*args))]
    )


def check_rule(
    fun: Callable[..., Any],
    *args: Any,
    order: int = 2,
    float32: bool = True,
    batched: bool = True,
    atol: float | None = None,
    rtol: float | None = None,
    eps: float = 1e-6,
) -> None:
    args64 = cr.tree.map(lambda a: np.asarray(a, np.float64), args)
    cr.check_grads(fun, args64, order=order, atol=atol, rtol=rtol, eps=eps)
    if batched:
        tol = 1e-5 if atol is None else atol
        for i in range(len(args64)):

            def of_i(x: Any, i: int = i) -> Any:
                return fun(*args64[:i], x, *args64[i + 1 :])

            numeric = numerical_jacobian(of_i, args64[i], h=eps)
            for jac in (cr.jacfwd(of_i)(args64[i]), cr.jacrev(of_i)(args64[i])):
                jac = np.asarray(jac)
                np.testing.assert_allclose(
                    jac.reshape(numeric.shape),
                    numeric,
                    atol=tol,
                    rtol=1e-5 if rtol is None else rtol,
                    err_msg=f"batched Jacobian of argument {i}",
                )
                assert jac.shape == np.shape(fun(*args64)) + np.shape(args64[i])
    if float32:
        args32 = _float32(args)
        out = fun(*args32)
        for leaf in cr.tree.leaves(out):
            assert np.asarray(leaf).dtype == np.float32, f"value dtype {np.asarray(leaf).dtype}"
        scalar = _scalar(fun)
        grads = cr.grad(scalar, argnums=tuple(range(len(args32))))(*args32)
        for g in cr.tree.leaves(grads):
            assert np.asarray(g).dtype == np.float32, f"gradient dtype {np.asarray(g).dtype}"
        cr.check_grads(
            fun, args32, order=1, atol=atol and max(atol, 2e-3), rtol=rtol and max(rtol, 2e-3)
        )
