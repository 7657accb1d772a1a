"""NumPy's ufunc methods on chainrule's binary ufuncs: ``np.add.outer``, ``np.add.reduce``,
``np.multiply.accumulate``, ``np.maximum.reduceat``, ``np.add.at``.

Each is written with the ufunc itself and chainrule's shape functions, so it differentiates,
maps and compiles as they do: `outer` broadcasts one operand against the other, `reduce`
and `accumulate` are `sum`, `prod`, `max`, `min`, `all`, `any`, `cumsum` and `cumprod` where
those are the same (NumPy's own identities), and otherwise apply the ufunc along the axis in
NumPy's order, one element after the other (a Python loop over the axis: exact, but slow on
long axes). On plain arrays every method is NumPy's own.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from chainrule import numpy as cnp
from chainrule.core.trace import Tracer, dtype_of, shape_of

from .rules.common import ndim_of, normalize_axes
from .rules.indexing import contains_tracer

_NoValue: Any = np._NoValue

# Where a reduction is one of chainrule's: the same values (NumPy's sum is add.reduce).
_REDUCTIONS = {
    "add": "sum", "multiply": "prod", "maximum": "max", "minimum": "min",
    "logical_and": "all", "logical_or": "any",
}  # fmt: skip
_ACCUMULATIONS = {"add": "cumsum", "multiply": "cumprod"}

# What NumPy's ufuncs tell of themselves.
_ATTRIBUTES = ("identity", "nargs", "nin", "nout", "ntypes", "signature", "types")


def attach(namespace: dict[str, Any]) -> None:
    """Give each of chainrule's binary ufuncs in `namespace` NumPy's methods and attributes."""
    for name, ours in namespace.items():
        theirs = getattr(np, name, None)
        if ours is theirs or not isinstance(theirs, np.ufunc) or theirs.nin != 2:
            continue
        if theirs.nout != 1 or theirs.signature is not None:
            continue
        for method in (outer, reduce, accumulate, reduceat, at):
            setattr(ours, method.__name__, _bound(method, ours, theirs))
        for attribute in _ATTRIBUTES:
            setattr(ours, attribute, getattr(theirs, attribute))


def _bound(method: Callable[..., Any], ours: Any, theirs: np.ufunc) -> Callable[..., Any]:
    def bound(*args: Any, **kwargs: Any) -> Any:
        if not contains_tracer(args) and not contains_tracer(tuple(kwargs.values())):
            return getattr(theirs, method.__name__)(*args, **kwargs)
        return method(ours, theirs, *args, **kwargs)

    bound.__name__ = bound.__qualname__ = method.__name__
    bound.__doc__ = f"`numpy.{theirs.__name__}.{method.__name__}`. {method.__doc__}"
    return bound


def outer(ours: Any, theirs: np.ufunc, a: Any, b: Any, /, **kwargs: Any) -> Any:
    """Every entry of `a` against every entry of `b`: shape ``a.shape + b.shape``."""
    a, b = cnp.asarray(a), cnp.asarray(b)
    return ours(cnp.reshape(a, shape_of(a) + (1,) * ndim_of(b)), b, **kwargs)


def reduce(
    ours: Any, theirs: np.ufunc, array: Any, axis: Any = 0, dtype: Any = None, out: Any = None,
    keepdims: bool = False, initial: Any = _NoValue, where: Any = True,
) -> Any:  # fmt: skip
    """The ufunc applied along `axis` (an int, a tuple, or None for all)."""
    _refuse_out(theirs, "reduce", out, where)
    a = _as_traced(array, dtype)
    name = theirs.__name__
    given = {} if initial is _NoValue else {"initial": initial}
    if name in _REDUCTIONS and not (given and name in ("logical_and", "logical_or")):
        extra = {"dtype": dtype} if dtype is not None and name in ("add", "multiply") else {}
        return getattr(cnp, _REDUCTIONS[name])(a, axis=axis, keepdims=keepdims, **given, **extra)
    # (NumPy's checks, and its result's dtype, that of one application of the ufunc)
    out_dtype = theirs.reduce(np.zeros((1,) * ndim_of(a), _dtype(a)), axis=axis).dtype
    axes = normalize_axes(axis, ndim_of(a))
    k = len(axes)
    moved = cnp.moveaxis(a, axes, tuple(range(k))) if k else a
    rest = shape_of(moved)[k:]
    flat = cnp.reshape(moved, (math.prod(shape_of(moved)[:k]), *rest))
    n = shape_of(flat)[0]
    if not n and not given and theirs.identity is None:
        raise ValueError(f"zero-size array to reduction operation {name} which has no identity")
    if given:
        start = cnp.full(rest, initial, _dtype(a))
        acc = ours(start, flat[0]) if n else start
    else:
        acc = flat[0] if n else cnp.full(rest, theirs.identity, _dtype(a))
    for i in range(1, n):
        acc = ours(acc, flat[i])
    if keepdims:
        kept = [1 if i in axes else m for i, m in enumerate(shape_of(a))]
        acc = cnp.reshape(acc, tuple(kept))
    return acc if _dtype(acc) == out_dtype else cnp.astype(acc, out_dtype)


def accumulate(
    ours: Any, theirs: np.ufunc, array: Any, axis: int = 0, dtype: Any = None, out: Any = None
) -> Any:
    """The running results of the ufunc along `axis`."""
    _refuse_out(theirs, "accumulate", out, True)
    a = _as_traced(array, dtype)
    name = theirs.__name__
    if name in _ACCUMULATIONS:
        return getattr(cnp, _ACCUMULATIONS[name])(a, axis=axis, dtype=dtype)
    # (NumPy's checks, and its result's dtype, in which the first entry comes too)
    out_dtype = theirs.accumulate(np.zeros((1,) * ndim_of(a), _dtype(a)), axis=axis).dtype
    moved = cnp.moveaxis(a, axis, 0)
    steps = [cnp.astype(moved[0], out_dtype)] if shape_of(moved)[0] else []
    for i in range(1, shape_of(moved)[0]):
        steps.append(ours(steps[-1], moved[i]))
    if not steps:
        return cnp.astype(a, out_dtype)
    return cnp.moveaxis(cnp.stack(steps), 0, axis)


def reduceat(
    ours: Any, theirs: np.ufunc, array: Any, indices: Any, axis: int = 0, dtype: Any = None,
    out: Any = None,
) -> Any:  # fmt: skip
    """The ufunc reduced over each slice ``indices[i]:indices[i + 1]`` along `axis` (an
    entry alone where the next index is not larger, as NumPy's)."""
    _refuse_out(theirs, "reduceat", out, True)
    if isinstance(indices, Tracer) or contains_tracer((indices,)):
        raise TypeError(
            f"chainrule.numpy.{theirs.__name__}.reduceat: the indices must be constants"
        )
    a = _as_traced(array, dtype)
    starts = [int(i) for i in np.asarray(indices).ravel()]
    moved = cnp.moveaxis(a, axis, 0)
    n = shape_of(moved)[0]
    for i in starts:
        if not 0 <= i < n:
            raise IndexError(f"index {i} out-of-bounds in {theirs.__name__}.reduceat [0, {n})")
    pieces = []
    for i, start in enumerate(starts):
        stop = starts[i + 1] if i + 1 < len(starts) else n
        part = moved[start:stop] if start < stop else moved[start : start + 1]
        pieces.append(reduce(ours, theirs, part, axis=0))
    return cnp.moveaxis(cnp.stack(pieces), 0, axis)


def at(ours: Any, theirs: np.ufunc, a: Any, indices: Any, b: Any = None) -> None:
    """Refused on traced values: it writes into `a` in place."""
    name = theirs.__name__
    raise TypeError(
        f"chainrule.numpy.{name}.at writes into `a` in place, which a traced value (being "
        "differentiated, mapped or compiled) cannot be, nor can a plain array hold one: make a "
        f"new array with `a.at[indices]` (`.add(b)`, `.multiply(b)`, `.min(b)`, `.max(b)`)."
    )


def _refuse_out(theirs: np.ufunc, method: str, out: Any, where: Any) -> None:
    if out is not None or where is not True:
        what = "out" if out is not None else "where"
        raise TypeError(
            f"chainrule.numpy.{theirs.__name__}.{method}: `{what}=` is not supported on a "
            "traced array; write the result functionally instead."
        )


def _as_traced(array: Any, dtype: Any) -> Any:
    a = cnp.asarray(array)
    return a if dtype is None else cnp.astype(a, dtype)


def _dtype(a: Any) -> np.dtype[Any]:
    return np.dtype(dtype_of(a))
