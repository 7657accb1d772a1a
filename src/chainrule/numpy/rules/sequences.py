"""Functions of sampled sequences: integration, differences, interpolation, polynomials,
convolution, phase.

On plain arrays each function here is NumPy's own. On traced values it is written with
chainrule's differentiable functions in NumPy's own arithmetic (so higher derivatives come
for free); ``convolve`` (and so ``correlate``) and ``unwrap`` are primitives, whose values
are NumPy's own on traced values too. A convolution's derivatives are convolutions, each
at the cost of one NumPy convolution; a batch of them (``vmap``, or the tangents of
``jacfwd``) is one matmul of windows of the padded longer signal with the shorter one: a
view of the windows (no copy) on plain arrays; gathered on traced ones (``m`` times the
memory of the signal, ``m`` the shorter length), or for one signal against many.

Conventions where the derivative is not unique:

- ``interp``: differentiable in `x`, `xp` and `fp` (and traced `left`/`right`). At a knot
  ``x == xp[j]`` the derivative is that of the segment to its right (at the last knot, of the
  last segment); outside ``[xp[0], xp[-1]]`` the value is `left`/`right` (``fp[0]``/``fp[-1]``
  by default), constant in `x`. ``period=`` is not supported on traced values (a TypeError).
- ``unwrap``: the corrections it adds are multiples of `period`, constant near the input, so
  its derivative is the identity (at a jump of exactly ``discont``, too).

Complex values (JAX's convention, see `core.primitive`): ``polyval``, ``convolve``,
``trapezoid`` and ``gradient`` are holomorphic, with the formulas of the real case.
``correlate`` conjugates its second argument, as NumPy's does (``c[k] = sum(a[n + k] *
conj(v[n]))``), so it is not holomorphic in `v`. ``interp`` takes complex `fp` (and then
`left`/`right`), as NumPy's does; complex `x` or `xp`, and ``unwrap`` of complex values,
raise a TypeError, as NumPy refuses them.

>>> import chainrule as cr
>>> import chainrule.numpy as np
>>> print(cr.grad(lambda h: np.trapezoid(np.array([1.0, 2.0, 4.0]), dx=h))(0.5))
4.5
>>> cr.grad(lambda p: np.polyval(p, 2.0))(np.array([1.0, 0.0, 3.0]))
array([4., 2., 1.])
>>> print(cr.grad(lambda x: np.interp(x, [0.0, 1.0, 3.0], [0.0, 2.0, 3.0]))(2.0))
0.5
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.array_utils import normalize_axis_tuple
from numpy.lib.stride_tricks import sliding_window_view

from chainrule import numpy as cnp
from chainrule.core.batching import defbatch
from chainrule.core.primitive import defjvp, defvjp, primitive
from chainrule.core.trace import Tracer, dtype_of, primal

from .common import conj_if_complex, ndim_of, shape_of, to_front
from .indexing import contains_tracer, normalize_axis

_np_convolve: Any = np.convolve  # (their typing overloads want a literal `mode`)
_np_correlate: Any = np.correlate
_np_gradient: Any = np.gradient  # (its typing overloads want a literal `edge_order`)


def _traced(*args: Any) -> bool:
    return any(contains_tracer(a) for a in args)


def _along(axis: int, index: Any) -> tuple[Any, ...]:
    return (slice(None),) * axis + (index,)


def trapezoid(y: Any, x: Any = None, dx: Any = 1.0, axis: int = -1) -> Any:
    """`numpy.trapezoid`, differentiable in `y`, `x` and `dx`."""
    if not _traced(y, x, dx):
        return np.trapezoid(y, x, dx, axis)
    y = cnp.asarray(y)
    axis = normalize_axis(axis, ndim_of(y))
    upper, lower = _along(axis, slice(1, None)), _along(axis, slice(None, -1))
    if x is None:
        d = dx
    else:
        x = cnp.asarray(x)
        if ndim_of(x) == 1:
            shape = [1] * ndim_of(y)
            shape[axis] = shape_of(x)[0] - 1
            d = cnp.reshape(x[1:] - x[:-1], tuple(shape))
        else:
            d = x[upper] - x[lower]
    return cnp.sum(d * (y[upper] + y[lower]) / 2.0, axis=axis)


def polyval(p: Any, x: Any) -> Any:
    """`numpy.polyval`, differentiable in the coefficients `p` and in `x` (Horner's scheme)."""
    if not _traced(p, x):
        return np.polyval(p, x)
    p, x = cnp.asarray(p), cnp.asarray(x)
    y: Any = np.zeros(shape_of(x), primal(x).dtype)
    for i in range(shape_of(p)[0]):
        y = y * x + p[i]
    return y


def interp(
    x: Any, xp: Any, fp: Any, left: Any = None, right: Any = None, period: Any = None
) -> Any:
    """`numpy.interp`, differentiable in `x`, `xp` and `fp` (see the module's conventions)."""
    if not _traced(x, xp, fp, left, right, period):
        return np.interp(x, xp, fp, left, right, period)
    if period is not None:
        raise TypeError(
            "chainrule.numpy.interp: `period=` is not supported on traced values; map `x` "
            "and `xp` into one period (and sort them) before calling interp."
        )
    x, xp, fp = (cnp.asarray(v) for v in (x, xp, fp))
    cx = dtype_of(fp).kind == "c"
    must_be_real = (("x", x), ("xp", xp)) + ((("left", left), ("right", right)) if not cx else ())
    for name, v in must_be_real:
        if v is not None and dtype_of(cnp.asarray(v)).kind == "c":
            raise TypeError(
                f"chainrule.numpy.interp: `{name}` must be real (NumPy's interp takes complex "
                "values only in `fp`, and then in `left` and `right`)."
            )
    x, xp = cnp.asarray(x, np.float64), cnp.asarray(xp, np.float64)
    fp = cnp.asarray(fp, np.complex128 if cx else np.float64)  # NumPy's dtypes
    if ndim_of(xp) != 1 or shape_of(xp) != shape_of(fp) or not shape_of(xp)[0]:
        raise ValueError(
            "chainrule.numpy.interp: xp and fp must be 1-D, of the same nonzero length"
        )
    # (array operations only: under vmap, a batch of examples, each with its own segments)
    x0, xp0 = primal(x), primal(xp)
    n = shape_of(xp)[0]
    lo = np.clip(np.searchsorted(xp0, x0, side="right") - 1, 0, max(n - 2, 0))
    hi = np.minimum(lo + 1, n - 1)
    at_end = x0 == xp0[-1]  # NumPy returns fp[-1] there exactly
    lo, hi = np.where(at_end, n - 1, lo), np.where(at_end, max(n - 2, 0), hi)
    fp_lo, xp_lo = cnp.take(fp, lo), cnp.take(xp, lo)  # (`take`: `lo` may be a batch)
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = (cnp.take(fp, hi) - fp_lo) / (cnp.take(xp, hi) - xp_lo)
        y = cnp.where(lo == hi, fp_lo, slope * (x - xp_lo) + fp_lo)
    y = cnp.where(x0 < xp0[0], fp[0] if left is None else left, y)
    return cnp.where(x0 > xp0[-1], fp[-1] if right is None else right, y)


def _window(mode: str, n: int, m: int) -> slice:
    """The part of a full convolution of lengths `n` and `m` that `mode` keeps."""
    short, full = min(n, m), n + m - 1
    if mode == "full":
        return slice(0, full)
    if mode == "same":
        start = (short - 1) // 2
        return slice(start, start + max(n, m))
    if mode == "valid":
        return slice(short - 1, full - short + 1)
    raise ValueError(
        f"chainrule.numpy.convolve: mode must be 'full', 'same' or 'valid', not {mode!r}"
    )


def convolve(a: Any, v: Any, mode: str = "full") -> Any:
    """`numpy.convolve`, differentiable in both sequences (real values)."""
    if not _traced(a, v):
        return _np_convolve(a, v, mode)
    a, v = cnp.asarray(a), cnp.asarray(v)
    if ndim_of(a) != 1 or ndim_of(v) != 1 or not shape_of(a)[0] or not shape_of(v)[0]:
        raise ValueError("chainrule.numpy.convolve: a and v must be non-empty 1-D sequences")
    _window(mode, shape_of(a)[0], shape_of(v)[0])  # (checks the mode)
    return _convolve(a, v, mode=mode)


def _convolve_impl(a: Any, v: Any, mode: str) -> Any:
    return _np_convolve(a, v, mode)


_convolve = primitive(_convolve_impl, "convolve")


def _convolve_vjp(g: Any, ans: Any, x: Any, other: Any, mode: str) -> Any:
    """``sum_i g[i] other[i - k]``: `g` put back in the full output, correlated with `other`."""
    n, m = shape_of(x)[0], shape_of(other)[0]
    window = _window(mode, n, m)
    g_full = cnp.pad(g, (window.start, n + m - 1 - window.stop))
    return _convolve(g_full, other[::-1], mode="valid")


def _convolve_rows(a: Any, v: Any, mode: str) -> Any:
    """The convolutions of the rows of `a` (``(..., n)``) with those of `v` (``(..., m)``),
    leading axes broadcast: each output entry is a dot product of `v` reversed with a window
    of `a` padded by ``m - 1`` zeros, so the windows meet `v` in one matmul. One signal `a`
    against many `v` is one matrix product with its windows; many signals are a batched
    product, the windows a view (no copy) on a plain `a`, gathered (``m`` times its memory)
    from a traced one, to be differentiated."""
    # the shorter one slides (fewer, shorter windows); at a tie, over an unbatched one
    if (shape_of(v)[-1], ndim_of(a)) > (shape_of(a)[-1], ndim_of(v)):
        a, v = v, a
    n, m = shape_of(a)[-1], shape_of(v)[-1]
    lead = ndim_of(a) - 1
    padded: Any = cnp.pad(a, ((0, 0),) * lead + ((m - 1, m - 1),))
    kept = _window(mode, n, m)  # (only the windows the mode keeps)
    starts = np.arange(n + m - 1)[kept, None] + np.arange(m)  # (L, m)
    flipped = v[..., ::-1]
    if lead == 0:
        windows = padded[starts]
        rows = cnp.matmul(cnp.reshape(flipped, (-1, m)), cnp.transpose(windows))
        return cnp.reshape(rows, shape_of(v)[:-1] + shape_of(starts)[:1])
    if isinstance(padded, np.ndarray):
        windows = sliding_window_view(padded, m, axis=-1)[..., kept, :]
    else:
        windows = padded[(slice(None),) * lead + (starts,)]
    return cnp.matmul(windows, cnp.expand_dims(flipped, -1))[..., 0]


def _convolve_batched(t: Any, other: Any, x: Any, mode: str) -> Any:
    """``convolve(t, other)`` for a tangent `t` of `x` with leading batch axes (one per row)."""
    if ndim_of(t) == 1:
        return _convolve(t, other, mode=mode)
    return _convolve_rows(t, other, mode)


def _convolve_batch(args: list[Any], dims: list[Any], mode: str) -> tuple[Any, int]:
    a, v = (to_front(x, d) for x, d in zip(args, dims, strict=True))
    return _convolve_rows(a, v, mode), 0


defvjp(
    _convolve,
    lambda g, ans, a, v, mode: _convolve_vjp(g, ans, a, v, mode),
    lambda g, ans, a, v, mode: _convolve_vjp(g, ans, v, a, mode),
)
defjvp(
    _convolve,
    lambda t, ans, a, v, mode: _convolve_batched(t, v, a, mode),
    lambda t, ans, a, v, mode: _convolve_batched(t, a, v, mode),
)
defbatch(_convolve, _convolve_batch)


def correlate(a: Any, v: Any, mode: str = "valid") -> Any:
    """`numpy.correlate`, differentiable in both (a `convolve` with `v` reversed, and
    conjugated if complex, as NumPy's).

    Here the output is ``1j * conj(v)``, whose real part is ``Im v``: its gradient is ``-1j``.

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.grad(lambda v: np.real(np.correlate(np.array([1j, 2.0]), v)[0]))(np.array([1.0 + 0j]))
    array([0.-1.j])
    """
    if not _traced(a, v):
        return _np_correlate(a, v, mode)
    a, v = cnp.asarray(a), cnp.asarray(v)
    if ndim_of(a) != 1 or ndim_of(v) != 1:
        raise ValueError("chainrule.numpy.correlate: a and v must be non-empty 1-D sequences")
    v = conj_if_complex(v)
    if shape_of(a)[0] < shape_of(v)[0]:  # as NumPy: the reverse of v correlated with a
        return convolve(v, a[::-1], mode)[::-1]
    return convolve(a, v[::-1], mode)


def gradient(f: Any, *varargs: Any, axis: Any = None, edge_order: int = 1) -> Any:
    """`numpy.gradient`, differentiable in `f` and in the spacings (scalars or coordinates).

    Traced coordinates always take the formula for uneven spacing (NumPy switches to the even
    one when the coordinates happen to be evenly spaced, whose derivative would see only the
    first step); the values are the same to rounding.
    """
    if not _traced(f, *varargs):
        return _np_gradient(f, *varargs, axis=axis, edge_order=edge_order)
    f = cnp.asarray(f)
    nd = ndim_of(f)
    axes = normalize_axis_tuple(range(nd) if axis is None else axis, nd)
    if not varargs:
        spacings: list[Any] = [1.0] * len(axes)
    elif len(varargs) == 1 and ndim_of(varargs[0]) == 0:
        spacings = list(varargs) * len(axes)
    elif len(varargs) == len(axes):
        spacings = [_steps(d, shape_of(f)[a]) for d, a in zip(varargs, axes, strict=True)]
    else:
        raise TypeError("invalid number of arguments")
    if edge_order > 2:
        raise ValueError("'edge_order' greater than 2 not supported")
    out = [_gradient_along(f, a, h, edge_order) for a, h in zip(axes, spacings, strict=True)]
    return out[0] if len(out) == 1 else tuple(out)


def _steps(distances: Any, n: int) -> Any:
    """A spacing argument of `gradient` for an axis of length `n`: a scalar, or the steps."""
    if ndim_of(distances) == 0:
        return distances
    if ndim_of(distances) != 1:
        raise ValueError("distances must be either scalars or 1d")
    if shape_of(distances)[0] != n:
        raise ValueError("when 1d, distances must match the length of the corresponding dimension")
    if not contains_tracer(distances):  # NumPy's own steps (a scalar where they are even)
        steps = np.diff(np.asarray(distances, np.result_type(distances, 0.0)))
        return steps[0] if (steps == steps[0]).all() else steps
    x = cnp.asarray(distances)
    return x[1:] - x[:-1]


def _gradient_along(f: Any, axis: int, h: Any, edge_order: int) -> Any:
    """NumPy's differences along one axis: central inside, one-sided at the two ends."""
    n = shape_of(f)[axis]
    if n < edge_order + 1:
        raise ValueError(
            "Shape of array too small to calculate a numerical gradient, "
            "at least (edge_order + 1) elements are required."
        )

    def at(start: int | None, stop: int | None) -> Any:
        return f[_along(axis, slice(start, stop))]

    even = ndim_of(h) == 0
    if even:
        inside = (at(2, None) - at(None, -2)) / (2.0 * h)
    else:
        shape = [1] * ndim_of(f)
        shape[axis] = n - 2
        h1, h2 = h[:-1], h[1:]
        a, b, c = (
            cnp.reshape(w, tuple(shape))
            for w in (-h2 / (h1 * (h1 + h2)), (h2 - h1) / (h1 * h2), h1 / (h2 * (h1 + h2)))
        )
        inside = a * at(None, -2) + b * at(1, -1) + c * at(2, None)
    if edge_order == 1:
        first = (at(1, 2) - at(0, 1)) / (h if even else h[0])
        last = (at(-1, None) - at(-2, -1)) / (h if even else h[-1])
    else:
        if even:
            a, b, c = -1.5 / h, 2.0 / h, -0.5 / h
        else:
            h1, h2 = h[0], h[1]
            a, b, c = (
                -(2.0 * h1 + h2) / (h1 * (h1 + h2)),
                (h1 + h2) / (h1 * h2),
                -h1 / (h2 * (h1 + h2)),
            )
        first = a * at(0, 1) + b * at(1, 2) + c * at(2, 3)
        if even:
            a, b, c = 0.5 / h, -2.0 / h, 1.5 / h
        else:
            h1, h2 = h[-2], h[-1]
            a, b, c = (
                h2 / (h1 * (h1 + h2)),
                -(h2 + h1) / (h1 * h2),
                (2.0 * h2 + h1) / (h2 * (h1 + h2)),
            )
        last = a * at(-3, -2) + b * at(-2, -1) + c * at(-1, None)
    parts = [first, inside, last] if n > 2 else [first, last]
    out = cnp.concatenate(parts, axis=axis)
    dtype = primal(f).dtype  # (NumPy's: that of inexact values; float64 for integers)
    dtype = dtype if dtype.kind in "fc" else np.dtype(np.float64)
    return out if primal(out).dtype == dtype else cnp.astype(out, dtype)


_unwrap = primitive(np.unwrap, "unwrap")
defvjp(_unwrap, lambda g, ans, p, *args, **params: g)
defjvp(_unwrap, lambda t, ans, p, *args, **params: t)


def _unwrap_batch(args: list[Any], dims: list[Any], **params: Any) -> tuple[Any, int]:
    """The batch first, `axis` shifted past it: NumPy unwraps along one axis at a time."""
    p, discont, axis = args
    if dims[1] is not None or not np.isscalar(params.get("period", 0.0)):
        raise TypeError(
            "chainrule.vmap: numpy.unwrap takes `discont` and `period` shared by every "
            "example (numbers); map over the phases only."
        )
    p = to_front(p, dims[0])
    return _unwrap(p, discont, int(axis) % (ndim_of(p) - 1) + 1, **params), 0


defbatch(_unwrap, _unwrap_batch)


def unwrap(p: Any, discont: Any = None, axis: int = -1, *, period: Any = 2 * np.pi) -> Any:
    """`numpy.unwrap` of real phases; its derivative is the identity.

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.grad(lambda p: np.unwrap(p) @ np.array([1.0, 2.0]))(np.array([3.0, -3.0]))
    array([1., 2.])
    """
    if isinstance(p, Tracer) and dtype_of(p).kind == "c":
        raise TypeError(
            "chainrule.numpy.unwrap: phases must be real, as in NumPy; to unwrap the phase "
            "of complex values, apply it to `np.angle(z)`."
        )
    return _unwrap(p, discont, axis, period=period)


__all__ = ["convolve", "correlate", "gradient", "interp", "polyval", "trapezoid", "unwrap"]

# The public names whose rules are checked on complex values (tests/test_complex_families.py).
COMPLEX = ("convolve", "correlate", "gradient", "interp", "polyval", "trapezoid")
