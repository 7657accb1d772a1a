"""Functions whose value does not vary smoothly with their inputs: derivative zero.

They take traced values and return plain arrays (comparisons, rounding, ``sign``, index
functions), so code such as ``if x[0] > 0:`` or ``x[np.argmax(x)]`` works inside a
transform and differentiates the branch or element it picks.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from chainrule import numpy as cnp
from chainrule.core import batching
from chainrule.core.staging import plain_line, staged_trace
from chainrule.core.trace import Tracer, dtype_of, primal, shape_of

from .common import aligned, at_front, batch_size, check, ndim_of, nondiff, to_front

_ELEMENTWISE = [
    "equal",
    "not_equal",
    "less",
    "less_equal",
    "greater",
    "greater_equal",
    "logical_and",
    "logical_or",
    "logical_not",
    "logical_xor",
    "isnan",
    "isinf",
    "isfinite",
    "isneginf",
    "isposinf",
    "signbit",
    "floor",
    "ceil",
    "trunc",
    "rint",
    "fix",
    "round",
    "around",
    "floor_divide",
    "isclose",
    "isreal",
    "iscomplex",
    "invert",
    "bitwise_not",
    "bitwise_and",
    "bitwise_or",
    "bitwise_xor",
    "left_shift",
    "right_shift",
    "bitwise_left_shift",
    "bitwise_right_shift",
]
# Reductions along `axis`: with axis=None, the arg- functions see one example flattened.
_FLAT_WHEN_NONE = ["argmax", "argmin", "argsort"]
_REDUCING = ["count_nonzero", "all", "any"]
# Results whose shape depends on the values: no batched form.
_VALUE_SHAPED = ["argwhere", "nonzero", "flatnonzero"]
# Functions of dtypes only, which neither a batch axis nor another call of a program changes.
_DTYPE_ONLY = ["result_type", "can_cast", "iscomplexobj", "isrealobj"]


def _shifted(axis: Any, rank: int) -> Any:
    """A per-example `axis` (int or tuple, possibly negative) on values with the batch first."""
    if isinstance(axis, (tuple, list)):
        return tuple(int(a) % rank + 1 for a in axis)
    return int(axis) % rank + 1


def _along_axis(default: Any, flat_when_none: bool) -> Any:
    def rule(fn: Any, args: list[Any], dims: list[int | None], **kwargs: Any) -> tuple[Any, int]:
        a, *more = args
        if dims[1:].count(None) < len(dims) - 1:  # (`any` here is numpy.any, defined below)
            raise TypeError(f"chainrule.vmap: numpy.{fn.__name__} takes only `a` batched.")
        a = to_front(a, dims[0])
        rank = ndim_of(a) - 1
        axis = more.pop(0) if more else kwargs.pop("axis", default)
        if rank == 0 and axis is not None and fn.__name__ != "argsort":
            fn(np.zeros((), dtype_of(a)), axis, *more, **kwargs)  # (NumPy's verdict on it)
            b = shape_of(a)[0]  # (an axis 0 or -1 of 0-d examples: one of length 1 each)
            out = fn(cnp.reshape(a, (b, 1)), 1, *more, **kwargs)
            return (cnp.reshape(out, (b,)) if kwargs.get("keepdims") else out), 0
        if axis is None and flat_when_none:
            out = fn(cnp.reshape(a, (shape_of(a)[0], -1)), 1, *more, **kwargs)
            if kwargs.get("keepdims"):
                out = cnp.reshape(out, (shape_of(a)[0],) + (1,) * rank)
            return out, 0
        axis = tuple(range(1, rank + 1)) if axis is None else _shifted(axis, max(rank, 1))
        return fn(a, axis, *more, **kwargs), 0

    return rule


def _against(fn: Any, args: list[Any], dims: list[int | None], **kwargs: Any) -> tuple[Any, Any]:
    """`searchsorted(a, v)` and `digitize(x, bins)`: elementwise in the values looked up, so a
    batch of them is looked up at once; a batch of sorted arrays counts, per example, the
    entries before each value (``a < v``, or ``a <= v`` on the right side)."""
    name = fn.__name__
    table, values = (args[0], args[1]) if name == "searchsorted" else (args[1], args[0])
    dt, dv = (dims[0], dims[1]) if name == "searchsorted" else (dims[1], dims[0])
    if dt is None:
        return fn(*args, **kwargs), dv
    if name == "searchsorted":
        if kwargs.get("sorter") is not None or len(args) > 3:
            raise TypeError(
                "chainrule.vmap: numpy.searchsorted with a batched `a` takes no sorter."
            )
        right = (args[2] if len(args) > 2 else kwargs.get("side", "left")) == "right"
    else:
        right = not (args[2] if len(args) > 2 else kwargs.get("right", False))
        table = to_front(table, dt)
        _increasing(np.diff(primal(table), axis=-1) >= 0)
        dt = 0
    table = to_front(table, dt)
    b = shape_of(table)[0]
    values = at_front(values, dv, b)
    v = cnp.reshape(values, (b, -1, 1))
    t = cnp.reshape(table, (b, 1, -1))
    counts = cnp.sum((t <= v) if right else (t < v), axis=-1)
    return cnp.reshape(counts, shape_of(values)), 0


@check
def _increasing(steps_up: np.ndarray) -> None:
    """(every example's bins; under `jit`, every call's)"""
    if not np.all(steps_up):
        raise TypeError("chainrule.vmap: numpy.digitize with batched `bins` needs increasing bins.")


def _isin(fn: Any, args: list[Any], dims: list[int | None], **kwargs: Any) -> tuple[Any, Any]:
    """`isin(element, test_elements)`: elementwise in `element`, so a batch of them is
    tested at once; a batch of test elements tests each example against its own."""
    (element, test, *rest), (de, dt, *others) = args, dims
    if others.count(None) < len(others) or isinstance(kwargs.get("invert"), Tracer):
        # (`any` here is numpy.any, defined below)
        raise TypeError(
            "chainrule.vmap: numpy.isin takes only `element` and `test_elements` batched."
        )
    if dt is None:
        return fn(*args, **kwargs), de
    empty = (np.zeros(0, dtype_of(element)), np.zeros(0, dtype_of(test)))
    fn(*empty, *rest, **kwargs)  # (NumPy's checks of the options on these dtypes)
    test = to_front(test, dt)
    b = shape_of(test)[0]
    element = at_front(element, de, b)
    flat = (b, math.prod(shape_of(element)[1:]), 1)
    same = cnp.reshape(element, flat) == cnp.reshape(test, (b, 1, -1))
    hits = cnp.sum(same, axis=-1) > 0  # (`cnp.any` is this module's own, not typed yet)
    invert = rest[1] if len(rest) > 1 else kwargs.get("invert", False)
    return cnp.reshape(~hits if invert else hits, shape_of(element)), 0


def _all_of(test: Callable[..., Any]) -> Any:
    """`allclose`-style functions: under `vmap`, one boolean per example."""

    def rule(fn: Any, args: list[Any], dims: list[int | None], **kwargs: Any) -> tuple[Any, int]:
        args, d = aligned(args, dims)
        out = test(*args, **kwargs)
        rank = ndim_of(out) - 1
        return np.all(to_front(out, d), axis=tuple(range(1, rank + 1))), 0

    return rule


def _equal(a: Any, b: Any, equal_nan: bool = False) -> Any:
    same = np.equal(a, b)
    if equal_nan and all(dtype_of(x).kind in "fc" for x in (a, b)):
        same = same | (np.isnan(a) & np.isnan(b))
    return same


def _arrays_equal(same_shape: bool) -> Any:
    """`array_equal` (`same_shape`) and `array_equiv`: under `vmap`, one boolean per
    example; examples of different (or, for `array_equiv`, unbroadcastable) shapes are
    unequal, as NumPy says, whatever their values."""
    compare = _all_of(_equal)

    def rule(fn: Any, args: list[Any], dims: list[int | None], **kwargs: Any) -> tuple[Any, Any]:
        shapes = [
            s if d is None else s[:d] + s[d + 1 :]
            for s, d in ((tuple(shape_of(a)), d) for a, d in zip(args[:2], dims[:2], strict=True))
        ]
        try:
            np.broadcast_shapes(*shapes)
        except ValueError:
            return np.False_, None
        if same_shape and shapes[0] != shapes[1]:
            return np.False_, None
        if len(args) > 2:  # (array_equal's equal_nan, passed by position)
            kwargs["equal_nan"] = args[2]
        return compare(fn, args[:2], dims[:2], **kwargs)

    return rule


def shape(a: Any) -> tuple[int, ...]:
    """`numpy.shape`; of a traced value, the shape of one example under `vmap`."""
    return tuple(shape_of(a))


def ndim(a: Any) -> int:
    """`numpy.ndim`; of a traced value, the rank of one example under `vmap`."""
    return len(shape_of(a))


def size(a: Any, axis: Any = None) -> int:
    """`numpy.size`; of a traced value, the size of one example under `vmap`."""
    s = shape_of(a)
    return math.prod(s) if axis is None else s[axis]


def _like(theirs: Any, fill: Any) -> Any:
    def like(a: Any, dtype: Any = None, order: Any = "K", subok: bool = True,
             shape: Any = None, **kwargs: Any) -> Any:  # fmt: skip
        if not isinstance(a, Tracer):
            return theirs(a, dtype, order, subok, shape, **kwargs)
        if shape is None:
            shape = shape_of(a)
        return fill(shape, dtype_of(a) if dtype is None else dtype, **kwargs)

    return like


zeros_like = _like(np.zeros_like, np.zeros)
ones_like = _like(np.ones_like, np.ones)
empty_like = _like(np.empty_like, np.empty)
for _fn, _name in (
    (zeros_like, "zeros_like"),
    (ones_like, "ones_like"),
    (empty_like, "empty_like"),
):
    _fn.__name__ = _fn.__qualname__ = _name
    _fn.__doc__ = f"`numpy.{_name}`: a new constant array shaped like (one example of) `a`."

_rules: dict[str, Any] = {
    **{name: None for name in _ELEMENTWISE},
    **{name: _along_axis(None, True) for name in ("argmax", "argmin")},
    "argsort": _along_axis(-1, True),
    **{name: _along_axis(None, False) for name in _REDUCING},
    "searchsorted": _against,
    "digitize": _against,
    "isin": _isin,
    "allclose": _all_of(np.isclose),
    "array_equal": _arrays_equal(same_shape=True),
    "array_equiv": _arrays_equal(same_shape=False),
}
globals().update({name: nondiff(getattr(np, name), rule) for name, rule in _rules.items()})
globals().update({name: nondiff(getattr(np, name), static=True) for name in _DTYPE_ONLY})
_FIXED_SIZE = (
    "`np.where(mask, x, fill)`, or `np.nonzero(mask, size=...)`-style padding with "
    "`np.argsort(~mask, stable=True)[:k]`"
)
globals().update(
    {name: nondiff(getattr(np, name), value_shaped_fix=_FIXED_SIZE) for name in _VALUE_SHAPED}
)
_NAMES = [
    *_rules,
    *_DTYPE_ONLY,
    *_VALUE_SHAPED,
    "shape",
    "ndim",
    "size",
    "zeros_like",
    "ones_like",
    "empty_like",
]


def histogram(a: Any, bins: Any = 10, range: Any = None, density: Any = None,
              weights: Any = None) -> Any:  # fmt: skip
    """`numpy.histogram`: counts are piecewise constant in `a` (derivative 0), but traced
    `weights`, and bin edges computed from a traced `a`, vary smoothly: both are refused
    rather than given a derivative of 0. Under `vmap`, each example of `a` (with its own
    `weights`, if they are batched too) is counted against the same edges: explicit `bins`,
    or a number of bins and a `range`.
    """
    edges_from_a = range is None and np.ndim(primal(bins)) == 0
    if _differentiated(weights) or (_differentiated(a) and edges_from_a):
        what = "weights" if _differentiated(weights) else "bin edges, computed from `a`,"
        raise TypeError(
            f"chainrule.numpy.histogram: the {what} would silently drop their derivative "
            "(there is no rule for it). Pass explicit `bins` edges (or `range`) and "
            "constant weights, or compute weighted bin sums with `np.bincount(np.digitize("
            "a, edges), weights=w)`, which is differentiable in `w`."
        )
    trace = batching.top_batch_trace([a, bins, weights]) if batching.active() else None
    if trace is None:
        plain = [primal(a), primal(bins), primal(weights)]
        staged = staged_trace(plain)
        if staged is None:
            return np.histogram(plain[0], plain[1], range, density, plain[2])
        if isinstance(bins, str):
            raise TypeError(
                f"chainrule.jit: numpy.histogram with bins={bins!r} chooses how many bins "
                "from the values, which a program replayed for every input cannot: pass a "
                "number of bins or explicit edges."
            )
        line = functools.partial(_histogram, range=range, density=density)  # under jit
        return plain_line(line, "histogram", plain, staged, multiple=True)
    if edges_from_a or isinstance(bins, (str, Tracer)):
        raise TypeError(
            "chainrule.vmap: numpy.histogram needs bins shared by every example: explicit "
            "edges, or a number of bins and a `range` (edges chosen from each example would "
            "differ between them, or give each its own number of bins)."
        )
    edges = np.histogram_bin_edges(np.zeros(0, dtype_of(a)), bins, range)
    rows = [_rows(a, trace)] + ([] if weights is None else [_rows(weights, trace)])
    return trace.wrap(_row_counts(*rows, edges=edges, density=density), 0), edges


def _histogram(a: Any, bins: Any, weights: Any, *, range: Any, density: Any) -> Any:
    return np.histogram(a, bins, range, density, weights)


def _differentiated(x: Any) -> bool:
    """Whether `x` carries a derivative (a batch tracer alone is a batch of constants)."""
    return isinstance(x, Tracer) and primal(x) is not x


def _rows(x: Any, trace: batching.BatchTrace) -> Any:
    """The examples of `x` (or `x` itself, for every example) as the rows of a matrix."""
    value, d = batching.lower_to(x, trace)
    if d is None:
        return np.broadcast_to(np.ravel(value), (trace.size, math.prod(shape_of(value))))
    return cnp.reshape(to_front(value, d), (trace.size, -1))


def _counts_of_rows(rows: Any, weights: Any = None, *, edges: Any, density: Any) -> Any:
    """A histogram of each row of `rows` at once (weighted by the rows of `weights`), as
    NumPy counts one: bins closed on the left, the last one on both sides, entries outside
    (and NaN) left out."""
    n = len(edges) - 1
    index = np.searchsorted(edges, rows, side="right") - 1
    index[rows == edges[-1]] = n - 1
    keep = (index >= 0) & (index < n)
    slots = (np.arange(rows.shape[0])[:, None] * n + index)[keep]
    w = None if weights is None else weights[keep]
    counts = np.bincount(slots, w, rows.shape[0] * n).reshape(-1, n)
    if density:
        return counts / np.diff(edges) / counts.sum(axis=1, keepdims=True)
    return counts if weights is None else counts.astype(weights.dtype)


def _rows_batch(fn: Any, args: list[Any], dims: list[Any], **kwargs: Any) -> tuple[Any, int]:
    """Rows of several batches (nested `vmap`): the outer batch joins the rows."""
    size = batch_size(args, dims)
    parts = [at_front(a, d, size) for a, d in zip(args, dims, strict=True)]
    b, m, k = shape_of(parts[0])
    counts = fn(*(cnp.reshape(p, (b * m, k)) for p in parts), **kwargs)
    return cnp.reshape(counts, (b, m, -1)), 0


_row_counts = nondiff(_counts_of_rows, _rows_batch)


__all__ = [*_NAMES, "histogram"]
