"""Checking derivatives against central differences.

``(f(x + h v) - f(x - h v)) / 2h`` approximates the directional derivative ``J v`` with an
error of order ``h**2``: the independent witness every derivative rule is tested against.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import tree
from .core.trace import float_dtype
from .transforms import describe, jvp, vjp

__all__ = ["check_grads", "numerical_grad", "numerical_jacobian"]


def _perturbed(x: Any, i: int, step: float) -> Any:
    leaves, treedef = tree.flatten(x)
    arrays = [np.array(leaf, dtype=float_dtype(leaf)) for leaf in leaves]
    k = i
    for a in arrays:
        if k < a.size:
            a.reshape(-1)[k] += step
            break
        k -= a.size
    return tree.unflatten(treedef, arrays)


def numerical_jacobian(fun: Callable[[Any], Any], x: Any, h: float = 1e-5) -> Any:
    """Central-difference Jacobian of `fun` at `x` (a pytree), shaped ``out.shape + (n,)``.

    `n` is the total number of entries of `x`; the function is evaluated ``2 n`` times.

    >>> import numpy as np
    >>> numerical_jacobian(lambda x: x ** 2, np.array([1.0, 2.0])).round(6)
    array([[2., 0.],
           [0., 4.]])
    """
    n = sum(np.size(leaf) for leaf in tree.leaves(x))
    cols = [
        (np.asarray(fun(_perturbed(x, i, h))) - np.asarray(fun(_perturbed(x, i, -h)))) / (2 * h)
        for i in range(n)
    ]
    return np.stack(cols, axis=-1)


def numerical_grad(fun: Callable[[Any], Any], x: Any, h: float = 1e-5) -> Any:
    """The gradient of a scalar `fun` at `x` by central differences, shaped like `x`.

    `x` may be any pytree of arrays and floats; the result has the same structure.

    >>> import numpy as np
    >>> numerical_grad(lambda v: v[0] ** 2 + 2 * v[1] ** 2, np.array([3.0, 4.0])).round(6)
    array([ 6., 16.])
    """
    flat = numerical_jacobian(fun, x, h)
    if flat.ndim != 1:
        raise TypeError(
            f"numerical_grad of {describe(fun)}: the function must return a scalar, "
            f"but it returned shape {flat.shape[:-1]}. Use numerical_jacobian instead."
        )
    leaves, treedef = tree.flatten(x)
    out, k = [], 0
    for leaf in leaves:
        size = np.size(leaf)
        g = flat[k : k + size].reshape(np.shape(leaf))
        out.append(g if np.ndim(leaf) else g[()])
        k += size
    return tree.unflatten(treedef, out)


# ---------------------------------------------------------------------------- check_grads


def _random_like(args: Any, rng: np.random.Generator) -> Any:
    return tree.map(lambda a: rng.standard_normal(np.shape(a)).astype(float_dtype(a)), args)


def _upcast(args: Any) -> Any:
    return tree.map(lambda a: np.asarray(a, dtype=np.float64), args)


def _inner(a: Any, b: Any) -> float:
    return sum(
        float(np.sum(np.asarray(x, np.float64) * np.asarray(y, np.float64)))
        for x, y in zip(tree.leaves(a), tree.leaves(b), strict=False)
    )


def _axpy(args: Any, v: Any, step: float) -> Any:
    return tree.map(lambda a, d: a + step * d, args, v)


def _numerical_jvp(
    fun: Callable[..., Any], args: tuple[Any, ...], v: tuple[Any, ...], eps: float
) -> Any:
    hi = fun(*_axpy(args, v, eps))
    lo = fun(*_axpy(args, v, -eps))
    return tree.map(
        lambda a, b: (np.asarray(a, np.float64) - np.asarray(b, np.float64)) / (2 * eps), hi, lo
    )


def _compare(analytic: Any, numeric: Any, atol: float, rtol: float, label: str) -> None:
    a_leaves, n_leaves = tree.leaves(analytic), tree.leaves(numeric)
    worst: tuple[float, str] | None = None
    for k, (a, n) in enumerate(zip(a_leaves, n_leaves, strict=False)):
        a = np.asarray(a, np.float64)
        n = np.asarray(n, np.float64)
        if a.shape != n.shape:
            raise AssertionError(
                f"{label}: derivative leaf {k} has shape {a.shape}, expected {n.shape}"
            )
        excess = np.abs(a - n) - (atol + rtol * np.abs(n))
        bad = ~np.isfinite(a) & np.isfinite(n)
        if excess.size and (np.nanmax(excess) > 0 or bad.any()):
            idx = np.unravel_index(int(np.argmax(np.where(bad, np.inf, excess))), a.shape)
            err = float(np.abs(a[idx] - n[idx]))
            where = f" at index {idx}" if a.ndim else ""
            msg = (
                f"leaf {k}{where}: analytic {a[idx]!r} vs numerical {n[idx]!r} "
                f"(|difference| {err:.3g})"
            )
            if worst is None or not err <= worst[0]:
                worst = (err, msg)
    if worst is not None:
        raise AssertionError(
            f"{label}: largest discrepancy {worst[0]:.3g} (atol={atol:g}, rtol={rtol:g}), "
            f"{worst[1]}"
        )


def _default_tol(args: Any) -> float:
    dtypes = [np.asarray(a).dtype for a in tree.leaves(args)]
    return 2e-3 if any(np.finfo(d).bits < 64 for d in dtypes) else 1e-5


def check_grads(
    fun: Callable[..., Any],
    args: Sequence[Any],
    order: int = 2,
    modes: Sequence[str] = ("fwd", "rev"),
    atol: float | None = None,
    rtol: float | None = None,
    eps: float = 1e-6,
    seed: int = 0,
) -> None:
    """Check `fun`'s derivatives at `args` against central differences, up to `order`.

    Forward mode compares ``jvp`` along a random direction with the difference quotient;
    reverse mode checks ``<u, J v> == <vjp(u), v>`` for random ``u`` and ``v``. Order 2
    repeats both checks on the derivative functions themselves, which covers all four
    combinations (forward over forward, reverse over forward, ...). Differences are taken
    in float64, so float32 functions are checked against an accurate reference. Raises
    ``AssertionError`` naming the function, mode, order and the largest discrepancy.

    >>> import chainrule.numpy as np
    >>> check_grads(np.sin, (np.array([0.5, 1.0]),), order=2)
    """
    args = tuple(args)
    for a in tree.leaves(args):
        if not np.issubdtype(np.asarray(a).dtype, np.floating):
            raise TypeError(
                f"check_grads of {describe(fun)}: every argument leaf must be "
                f"floating-point, got dtype {np.asarray(a).dtype}."
            )
    tol = _default_tol(args)
    atol = tol if atol is None else atol
    rtol = tol if rtol is None else rtol
    for mode in modes:
        if mode not in ("fwd", "rev"):
            raise ValueError(f"check_grads: unknown mode {mode!r}; use 'fwd' and/or 'rev'.")
    rng = np.random.default_rng(seed)
    _check(fun, args, order, tuple(modes), atol, rtol, eps, rng, describe(fun), [])


def _check(
    fun: Callable[..., Any],
    args: tuple[Any, ...],
    order: int,
    modes: tuple[str, ...],
    atol: float,
    rtol: float,
    eps: float,
    rng: np.random.Generator,
    name: str,
    path: list[str],
) -> None:
    level = len(path) + 1
    label_of = {"fwd": "forward mode", "rev": "reverse mode"}
    v = _random_like(args, rng)
    numeric = _numerical_jvp(fun, _upcast(args), _upcast(v), eps)
    for mode in modes:
        label = f"check_grads of {name}: {label_of[mode]}, order {level}"
        if path:
            label += f" (differentiating the {' of the '.join(reversed(path))})"
        if mode == "fwd":
            _compare(jvp(fun, args, v)[1], numeric, atol, rtol, label)
        else:
            out, vjp_fn = vjp(fun, *args)
            u = _random_like(out, rng)
            lhs = _inner(vjp_fn(u), v)
            rhs = _inner(u, numeric)
            _compare(lhs, rhs, atol, rtol, label)
    if order > 1:
        for mode in modes:
            if mode == "fwd":
                t = _random_like(args, rng)
                derived = _jvp_of(fun, t)
            else:
                out = fun(*args)
                derived = _vjp_of(fun, _random_like(out, rng))
            _check(
                derived,
                args,
                order - 1,
                modes,
                atol,
                rtol,
                eps,
                rng,
                name,
                [*path, label_of[mode] + " derivative"],
            )


def _jvp_of(fun: Callable[..., Any], t: tuple[Any, ...]) -> Callable[..., Any]:
    def f_jvp(*args: Any) -> Any:
        return jvp(fun, args, t)[1]

    return f_jvp


def _vjp_of(fun: Callable[..., Any], u: Any) -> Callable[..., Any]:
    def f_vjp(*args: Any) -> Any:
        return vjp(fun, *args)[1](u)

    return f_vjp
