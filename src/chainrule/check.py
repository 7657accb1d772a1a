"""Checking derivatives against central differences.

``(f(x + h v) - f(x - h v)) / 2h`` approximates the directional derivative ``J v`` with an
error of order ``h**2``: the independent witness every derivative rule is tested against.
A witness must never be silently wrong, so `x` is perturbed in float64 (whatever its own
dtype: a step of 1e-5 is below the resolution of float16, bfloat16 and of float32 at 1000),
each quotient divides by the step actually taken, and a step that cannot move `x` is refused.

Complex values (in complex128) follow JAX's convention: a complex entry ``z = x + iy`` is
moved along ``x`` and ``y``, the gradient of a real function is ``df/dx - i df/dy``, and
reverse mode is checked under the pairing ``<u, v> = Re(sum(u * v))``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import tree
from ._validate import count, number
from .core.trace import dtype_of, float_dtype, is_float
from .transforms import describe, jvp, vjp

__all__ = ["check_grads", "numerical_grad", "numerical_jacobian"]


def _wide(dtype: np.dtype[Any]) -> type:
    """The dtype differences are taken in: complex128 for complex values, else float64."""
    return np.complex128 if dtype.kind == "c" else np.float64


def _as_float64(leaf: Any, who: str) -> np.ndarray[Any, Any]:
    """A float64 (complex128) copy of one leaf of the point `x`."""
    dtype = dtype_of(leaf)
    if not (is_float(dtype) or dtype.kind in "iuc"):
        raise TypeError(f"{who}: every leaf of x must be a number or array, got dtype {dtype}.")
    return np.array(leaf, dtype=_wide(dtype))


def _as_output(y: Any, who: str) -> np.ndarray[Any, Any]:
    out = np.asarray(y)
    if not (is_float(out.dtype) or out.dtype.kind in "iubc"):
        raise TypeError(
            f"{who}: the function must return a numeric array or number, got "
            f"{type(y).__name__} (dtype {out.dtype})."
        )
    return out.astype(_wide(out.dtype))


def numerical_jacobian(fun: Callable[[Any], Any], x: Any, h: float = 1e-5) -> Any:
    """Central-difference Jacobian of `fun` at `x` (a pytree), shaped ``out.shape + (n,)``.

    `n` is the total number of entries of `x`; the function is evaluated ``2 n`` times, at
    float64 copies of `x` (so the step is well above the resolution of every dtype), and the
    Jacobian is float64 (complex128 for complex outputs). Each column divides by the step
    actually taken; a step too small to change an entry of `x` (``x + h == x``) is an error,
    as are ``h <= 0`` and non-finite `h`. A complex entry is moved along its real axis: its
    column is ``df/dx``, which is ``f'(z)`` for a holomorphic `fun`, what
    ``jacfwd(fun, holomorphic=True)`` gives.

    >>> import numpy as np
    >>> numerical_jacobian(lambda x: x ** 2, np.array([1.0, 2.0])).round(6)
    array([[2., 0.],
           [0., 4.]])
    """
    return _jacobian(fun, x, h, f"numerical_jacobian of {describe(fun)}")


def _jacobian(fun: Callable[[Any], Any], x: Any, h: float, who: str, unit: complex = 1.0) -> Any:
    """Central differences along `unit` (1, or 1j for the imaginary parts, whose columns
    are 0 for real leaves)."""
    h = number(h, "the step h", who, minimum=0.0, exclusive=True)
    leaves, treedef = tree.flatten(x)
    base = [_as_float64(leaf, who) for leaf in leaves]

    def at(j: int, idx: tuple[Any, ...], step: float) -> tuple[np.ndarray[Any, Any], float]:
        """`fun` with entry `idx` of leaf `j` moved by `step` along `unit`, and the step
        actually taken."""
        arrays = [a.copy() for a in base]  # fresh copies: `fun` may write into its input
        arrays[j][idx] += step * unit
        moved = (arrays[j][idx] - base[j][idx]) / unit
        taken = float(moved.real)  # nominal at a NaN or an infinity
        taken = taken if np.isfinite(base[j][idx]) else step
        return _as_output(fun(tree.unflatten(treedef, arrays)), who), taken

    cols: list[Any] = []
    for j, a in enumerate(base):
        if unit != 1.0 and a.dtype.kind != "c":
            cols.extend([None] * a.size)
            continue
        for idx in np.ndindex(a.shape):  # positions, not memory order: any layout works
            (hi, up), (lo, down) = at(j, idx, h), at(j, idx, -h)
            if up == down:
                raise ValueError(
                    f"{who}: the step h={h!r} does not change the entry {float(a[idx])!r} of x "
                    "(x + h == x in float64). Use a larger h, about 1e-5 times |x|."
                )
            cols.append((hi - lo) / (up - down))
    if not cols or any(c is None for c in cols):
        out = _as_output(fun(tree.unflatten(treedef, base)), who)
        zero = np.zeros(out.shape, out.dtype)
        cols = [zero if c is None else c for c in cols]
        if not cols:
            return np.zeros((*out.shape, 0), out.dtype)
    return np.stack(cols, axis=-1)


def numerical_grad(fun: Callable[[Any], Any], x: Any, h: float = 1e-5) -> Any:
    """The gradient of a scalar `fun` at `x` by central differences, shaped like `x`.

    `x` may be any pytree of arrays and numbers; the result has the same structure, and
    each leaf the dtype a gradient of it has (its own float dtype, float64 for integers).
    The differences are taken in float64, as in `numerical_jacobian`. For a complex leaf
    ``z = x + iy`` the gradient is ``df/dx - i df/dy``, as `chainrule.grad` gives (JAX's
    convention).

    >>> import numpy as np
    >>> numerical_grad(lambda v: v[0] ** 2 + 2 * v[1] ** 2, np.array([3.0, 4.0])).round(6)
    array([ 6., 16.])
    """
    who = f"numerical_grad of {describe(fun)}"
    flat = _jacobian(fun, x, h, who)
    if any(dtype_of(leaf).kind == "c" for leaf in tree.leaves(x)) and flat.ndim == 1:
        flat = flat - 1j * _jacobian(fun, x, h, who, unit=1j)
    if flat.ndim != 1:
        raise TypeError(
            f"{who}: the function must return a scalar, but it returned shape "
            f"{flat.shape[:-1]}. Use numerical_jacobian instead."
        )
    leaves, treedef = tree.flatten(x)
    out, k = [], 0
    for leaf in leaves:
        size = np.size(leaf)
        g = flat[k : k + size].reshape(np.shape(leaf))
        g = (g if dtype_of(leaf).kind == "c" else g.real).astype(float_dtype(leaf))
        out.append(g if np.ndim(leaf) else g[()])
        k += size
    return tree.unflatten(treedef, out)


# ---------------------------------------------------------------------------- check_grads


def _random_like(args: Any, rng: np.random.Generator) -> Any:
    """Standard normal directions; for complex values, with both parts of variance 1/2."""

    def draw(a: Any) -> Any:
        dtype = float_dtype(a)
        d = rng.standard_normal(np.shape(a))
        if dtype.kind == "c":
            d = (d + 1j * rng.standard_normal(np.shape(a))) / np.sqrt(2.0)
        return d.astype(dtype)

    return tree.map(draw, args)


def _upcast(args: Any) -> Any:
    return tree.map(lambda a: np.asarray(a, dtype=_wide(dtype_of(a))), args)


def _inner(a: Any, b: Any) -> float:
    """``Re(sum(a * b))``, the pairing under which reverse mode transposes forward mode."""
    return sum(
        float(np.sum(np.asarray(x, np.complex128) * np.asarray(y, np.complex128)).real)
        for x, y in zip(tree.leaves(a), tree.leaves(b), strict=True)
    )


def _axpy(args: Any, v: Any, step: float) -> Any:
    return tree.map(lambda a, d: a + step * d, args, v)


def _numerical_jvp(
    fun: Callable[..., Any], args: tuple[Any, ...], v: tuple[Any, ...], eps: float
) -> Any:
    hi = fun(*_axpy(args, v, eps))
    lo = fun(*_axpy(args, v, -eps))
    return tree.map(
        lambda a, b: (
            (np.asarray(a, _wide(dtype_of(a))) - np.asarray(b, _wide(dtype_of(b)))) / (2 * eps)
        ),
        hi,
        lo,
    )


def _compare(analytic: Any, numeric: Any, atol: float, rtol: float, label: str) -> None:
    a_leaves, n_leaves = tree.leaves(analytic), tree.leaves(numeric)
    worst: tuple[float, str] | None = None
    for k, (a, n) in enumerate(zip(a_leaves, n_leaves, strict=True)):
        wide = np.complex128 if np.iscomplexobj(a) or np.iscomplexobj(n) else np.float64
        a = np.asarray(a, wide)
        n = np.asarray(n, wide)
        if a.shape != n.shape:
            raise AssertionError(
                f"{label}: derivative leaf {k} has shape {a.shape}, expected {n.shape}"
            )
        excess = np.abs(a - n) - (atol + rtol * np.abs(n))
        bad = np.isfinite(a) != np.isfinite(n)  # an entry where one side checks nothing
        if excess.size and (np.nanmax(excess) > 0 or bad.any()):
            idx = np.unravel_index(int(np.argmax(np.where(bad, np.inf, excess))), a.shape)
            err = float(np.abs(a[idx] - n[idx]))
            where = f" at index {tuple(int(i) for i in idx)}" if a.ndim else ""
            msg = (
                f"leaf {k}{where}: analytic {a[idx].item()!r} vs numerical {n[idx].item()!r} "
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
    """1e-5 for float64 arguments; for narrower ones a few ulps of the narrowest, at least 2e-3."""
    eps = max((float(np.finfo(dtype_of(a)).eps) for a in tree.leaves(args)), default=0.0)
    return 1e-5 if eps <= np.finfo(np.float64).eps else max(2e-3, 8 * eps)


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
    in float64, so float32 functions are checked against an accurate reference. Complex
    arguments are moved in complex directions, and reverse mode checked under JAX's pairing
    ``Re(sum(u * v))``, so both modes are checked for any function, holomorphic or not.
    Raises ``AssertionError`` naming the function, mode, order and the largest discrepancy.

    >>> import chainrule.numpy as np
    >>> check_grads(np.sin, (np.array([0.5, 1.0]),), order=2)
    >>> check_grads(lambda z: np.abs(z) * np.exp(z), (np.array([0.5 + 1.0j]),), order=2)
    """
    who = f"check_grads of {describe(fun)}"
    if not isinstance(args, (tuple, list)):
        raise TypeError(
            f"{who}: args must be a tuple of the function's arguments, such as (x,), "
            f"got {type(args).__name__}."
        )
    args = tuple(args)
    for a in tree.leaves(args):
        if not (is_float(dtype_of(a)) or dtype_of(a).kind == "c"):
            raise TypeError(
                f"{who}: every argument leaf must be real or complex floating-point, got "
                f"dtype {dtype_of(a)}."
            )
    order = count(order, "order", who)  # 1 checks first derivatives, 2 also second ...
    modes = (modes,) if isinstance(modes, str) else tuple(modes)
    unknown = [mode for mode in modes if mode not in ("fwd", "rev")]
    if unknown or not modes:
        problem = f"unknown mode {unknown[0]!r}" if unknown else "no mode, so nothing is checked"
        raise ValueError(f"{who}: {problem}; use modes 'fwd' and/or 'rev'.")
    eps = number(eps, "eps", who, minimum=0.0, exclusive=True)
    tol = _default_tol(args)  # (a NaN tolerance would let every check pass)
    atol = tol if atol is None else number(atol, "atol", who, minimum=0.0)
    rtol = tol if rtol is None else number(rtol, "rtol", who, minimum=0.0)
    rng = np.random.default_rng(seed)
    _check(fun, args, order, modes, atol, rtol, eps, rng, describe(fun), [])


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


def _like(direction: Any, values: Any) -> Any:
    """A fixed direction in the dtypes of the values it goes with: at order 2 the derived
    function is also evaluated at float64 copies of low-precision arguments."""
    return tree.map(lambda d, v: np.asarray(d).astype(float_dtype(v)), direction, values)


def _jvp_of(fun: Callable[..., Any], t: tuple[Any, ...]) -> Callable[..., Any]:
    def f_jvp(*args: Any) -> Any:
        return jvp(fun, args, _like(t, args))[1]

    return f_jvp


def _vjp_of(fun: Callable[..., Any], u: Any) -> Callable[..., Any]:
    def f_vjp(*args: Any) -> Any:
        out, pull = vjp(fun, *args)
        return pull(_like(u, out))

    return f_vjp
