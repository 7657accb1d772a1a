"""Shared pieces of the derivative rules: broadcasting, batch axes, non-differentiable wrappers.

Rules are written with the differentiable functions of `chainrule.numpy` (imported here as
`cnp`), so a rule is itself differentiable and higher derivatives come for free.

Batch axes: a forward-mode tangent may carry extra leading axes (see `core.primitive`).
`batch_ndim(t, x)` says how many; rules that are not elementwise shift their axes by it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from chainrule import numpy as cnp
from chainrule.core.primitive import Primitive, argument_rule, defjvp_joint, defvjp
from chainrule.core.trace import Tracer, is_complex, primal, shape_of

Rule = Callable[..., Any]


def ndim_of(x: Any) -> int:
    return x.ndim if isinstance(x, (np.ndarray, np.generic, Tracer)) else np.ndim(x)


def batch_ndim(t: Any, x: Any) -> int:
    """Number of leading batch axes a tangent `t` of value `x` carries."""
    return ndim_of(t) - ndim_of(x)


def normalize_axes(axis: Any, ndim: int) -> tuple[int, ...]:
    """`axis` (None, an int or a tuple, possibly negative) as a sorted tuple of axes."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (int, np.integer)):
        return (int(axis) % ndim if ndim else 0,)
    axes = axis if isinstance(axis, tuple) else (axis,) if np.ndim(axis) == 0 else tuple(axis)
    return tuple(sorted(int(a) % ndim if ndim else 0 for a in axes))


def unbroadcast(g: Any, x: Any) -> Any:
    """Sum a cotangent `g` down to the shape of `x`, undoing NumPy broadcasting."""
    shape = x.shape
    gshape = g.shape
    if gshape == shape:
        return g
    lead = len(gshape) - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and gshape[lead + i] != 1
    )
    return cnp.reshape(cnp.sum(g, axis=axes), shape)


def conj_if_complex(x: Any) -> Any:
    """The complex conjugate, recorded only where `x` is complex (a no-op on reals): the rules
    of functions whose derivative involves ``conj`` cost nothing extra on real values."""
    return cnp.conjugate(x) if is_complex(x) else x


def lift(t: Any, x: Any, ans: Any) -> Any:
    """Give a batched tangent of `x` the rank of `ans`, so it broadcasts against `ans`."""
    nb = batch_ndim(t, x)
    extra = ndim_of(ans) - ndim_of(x)
    if nb == 0 or extra <= 0:
        return t
    tshape = shape_of(t)
    return cnp.reshape(t, tshape[:nb] + (1,) * extra + tshape[nb:])


def fit(t: Any, ans: Any, nb: int) -> Any:
    """Broadcast a tangent to its full shape, batch axes + `ans.shape`."""
    full = shape_of(t)[:nb] + shape_of(ans)
    return t if shape_of(t) == full else cnp.broadcast_to(t, full)


_add_reduce: Any = np.add.reduce


def _finite(g: Any) -> bool:
    """Whether every entry of `g` is finite (or, rarely, whether its sum of squares is).

    BLAS's dot product is twice as fast as a sum; a NaN or an infinity makes it non-finite,
    and so does an overflow, which only sends `select` down its slower, exact path.
    """
    if getattr(g, "dtype", None) in _BLAS_FLOATS:
        return bool(np.isfinite(np.vdot(g, g)))
    return bool(np.isfinite(_add_reduce(g, None)))


_BLAS_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def select(g: Any, factor: Any) -> Any:
    """``g * factor`` with an exact 0 wherever `factor` is 0: the gate of every kink.

    `factor` is a plain mask or weight array (a ReLU's ``x > 0``, ``sign(x)``, the 1/k of
    tied maxima). Where it is 0 the entry is *not selected*, so an infinite or NaN `g` there
    must not leak in as ``inf * 0 = NaN``: ``sqrt(maximum(x, 0))`` at ``x = -1`` has
    derivative 0, as in JAX and PyTorch. NumPy's ``where`` is up to ten times slower than a
    product on an unpredictable mask, and this is the backward pass of every ReLU, so plain
    arrays take the product and fall back to ``where`` only when it is not finite. A traced
    `g` (a higher derivative) always uses the differentiable ``where``.
    """
    if isinstance(g, Tracer):
        chosen = factor if factor.dtype == bool else factor != 0
        return cnp.where(chosen, g if factor.dtype == bool else g * factor, 0.0)
    if not _finite(g):  # the rare case: no errstate on the common one, where it would slow
        with np.errstate(invalid="ignore"):  # every ufunc inside it
            return np.where(factor != 0, g * factor, 0)
    out = g * factor
    # -g * 0 is -0.0: adding 0.0 makes an unselected zero print as 0, as `where` gives
    if isinstance(out, np.ndarray):
        out += 0.0
        return out
    return out + 0.0


def defelementwise(prim: Primitive, *rules: Rule | None) -> None:
    """Rules of an elementwise (broadcasting) function from one product per argument.

    ``rules[i](g, ans, *args)`` returns ``g * ∂f/∂args[i]``. An elementwise function has a
    diagonal Jacobian, so the same product serves reverse mode (then summed down to the
    argument's shape) and forward mode (the tangent first lifted to broadcast).
    """

    def reverse(rule: Rule, i: int) -> Rule:
        def vjp(g: Any, ans: Any, *args: Any, **params: Any) -> Any:
            c = rule(g, ans, *args, **params)
            return c if c.shape == args[i].shape else unbroadcast(c, args[i])

        return vjp

    defvjp(prim, *(None if r is None else reverse(r, i) for i, r in enumerate(rules)))

    def jvp(tangents: Sequence[Any], ans: Any, *args: Any, **params: Any) -> Any:
        out = None
        nb = 0
        for i, t in enumerate(tangents):
            if t is not None:
                rule = argument_rule(prim, rules, i, "forward")
                nb = batch_ndim(t, args[i])
                term = rule(lift(t, args[i], ans), ans, *args, **params)
                out = term if out is None else out + term
        return fit(out, ans, nb)

    defjvp_joint(prim, jvp)


def deflinear(prim: Primitive, transpose: Rule, batched: Rule) -> None:
    """Rules of a function linear in its first argument (a reshape, a sum, an index...).

    ``transpose(g, ans, x, *rest)`` is the adjoint map (the VJP); ``batched(t, nb, ans, x,
    *rest)`` applies the function itself to a tangent with ``nb`` leading batch axes.
    """
    defvjp(prim, transpose)

    def jvp(tangents: Sequence[Any], ans: Any, x: Any, *rest: Any, **params: Any) -> Any:
        t = tangents[0]
        if t is None:
            return None
        return batched(t, batch_ndim(t, x), ans, x, *rest, **params)

    defjvp_joint(prim, jvp)


def nondiff(fun: Callable[..., Any]) -> Callable[..., Any]:
    """A NumPy function whose result does not depend differentiably on its inputs.

    Tracers are lowered to their plain values, so comparisons, `sign`, `floor`, `argmax` and
    friends return ordinary arrays (zero derivative).
    """

    @functools.wraps(fun)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return fun(*map(_lower, args), **{k: _lower(v) for k, v in kwargs.items()})

    return wrapper


def _lower(x: Any) -> Any:
    if isinstance(x, (list, tuple)):
        return type(x)(map(_lower, x)) if type(x) in (list, tuple) else x
    return primal(x)
