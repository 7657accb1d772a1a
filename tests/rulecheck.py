"""The one harness every derivative-rule test goes through.

`check_rule(fun, *args)` checks `fun` (built from chainrule primitives) at `args`:
- forward and reverse mode to second order against central differences (`check_grads`);
- the batched paths: `jacfwd` and `jacrev` against a central-difference Jacobian;
- float32: the value and the gradient stay float32, and first-order derivatives agree.

Complex arguments are checked as complex by `check_grads` (JAX's convention), and the
batched paths through the function of their real and imaginary parts (`realified`), whose
Jacobians are real; float32 means complex64 for them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import chainrule as cr
from chainrule.check import numerical_jacobian


def _is_complex(a: Any) -> bool:
    return bool(np.iscomplexobj(a))


def _widen(args: tuple[Any, ...], real: Any, cplx: Any) -> tuple[Any, ...]:
    return cr.tree.map(lambda a: np.asarray(a, cplx if _is_complex(a) else real), args)


def _float32(args: tuple[Any, ...]) -> tuple[Any, ...]:
    return _widen(args, np.float32, np.complex64)


def realified(fun: Callable[..., Any], args: tuple[Any, ...]) -> tuple[Any, tuple[Any, ...]]:
    """`fun` as a real function: each complex argument split into its real and imaginary
    parts (two arguments), and every output into a real vector of both parts. The same
    computation, complex inside, with real Jacobians that `jacfwd` and `jacrev` accept."""
    cnp = cr.numpy
    complex_args = [_is_complex(a) for a in args]
    flat: list[Any] = []
    for a, c in zip(args, complex_args, strict=True):
        flat.extend([np.real(a), np.imag(a)] if c else [a])

    def real_fun(*parts: Any) -> Any:
        rebuilt, k = [], 0
        for c in complex_args:
            rebuilt.append(parts[k] + 1j * parts[k + 1] if c else parts[k])
            k += 2 if c else 1
        out = fun(*rebuilt)
        if not any(complex_args) and not any(_is_complex(o) for o in cr.tree.leaves(out)):
            return out  # a real function, unchanged
        parts = [
            (cnp.real(o), cnp.imag(o)) if _is_complex(o) else (o,) for o in cr.tree.leaves(out)
        ]
        pieces = [cnp.ravel(p) for pair in parts for p in pair]
        return cnp.concatenate(pieces) if len(pieces) > 1 else pieces[0]

    return real_fun, tuple(flat)


def _scalar(fun: Callable[..., Any]) -> Callable[..., Any]:
    """A scalar function of the same arguments: a fixed random projection of the outputs."""
    weights: dict[int, Any] = {}

    def projected(*args: Any) -> Any:
        total = 0.0
        for k, leaf in enumerate(cr.tree.leaves(fun(*args))):
            if k not in weights:
                rng = np.random.default_rng(k)
                weights[k] = rng.standard_normal(np.shape(leaf))
            term = cr.numpy.sum(leaf * weights[k].astype(leaf.dtype))
            total = total + (cr.numpy.real(term) if _is_complex(leaf) else term)
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
    args64 = _widen(args, np.float64, np.complex128)
    cr.check_grads(fun, args64, order=order, atol=atol, rtol=rtol, eps=eps)
    if batched:
        real_fun, real_args = realified(fun, args64)
        tol = 1e-5 if atol is None else atol
        for i in range(len(real_args)):

            def of_i(x: Any, i: int = i) -> Any:
                return real_fun(*real_args[:i], x, *real_args[i + 1 :])

            numeric = numerical_jacobian(of_i, real_args[i], h=eps)
            for jac in (cr.jacfwd(of_i)(real_args[i]), cr.jacrev(of_i)(real_args[i])):
                jac = np.asarray(jac)
                np.testing.assert_allclose(
                    jac.reshape(numeric.shape),
                    numeric,
                    atol=tol,
                    rtol=1e-5 if rtol is None else rtol,
                    err_msg=f"batched Jacobian of argument {i}",
                )
                assert jac.shape == np.shape(real_fun(*real_args)) + np.shape(real_args[i])
    if float32:
        args32 = _float32(args)
        out = fun(*args32)
        narrow = (np.float32, np.complex64)
        for leaf in cr.tree.leaves(out):
            assert np.asarray(leaf).dtype in narrow, f"value dtype {np.asarray(leaf).dtype}"
        scalar = _scalar(fun)
        grads = cr.grad(scalar, argnums=tuple(range(len(args32))))(*args32)
        for g, a in zip(cr.tree.leaves(grads), cr.tree.leaves(args32), strict=True):
            assert np.asarray(g).dtype == a.dtype, f"gradient dtype {np.asarray(g).dtype}"
        cr.check_grads(
            fun, args32, order=1, atol=atol and max(atol, 2e-3), rtol=rtol and max(rtol, 2e-3)
        )
