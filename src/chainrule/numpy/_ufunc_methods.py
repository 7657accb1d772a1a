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

import functools
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from chainrule import numpy as cnp
from chainrule.core.primitive import Primitive
from chainrule.core.trace import dtype_of, shape_of

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
    """Give chainrule's binary ufuncs in `namespace` NumPy's methods and attributes: a
    function holds them itself; for primitives, the `Primitive` class does, reading the ufunc
    from the primitive's name (as `_array_methods` gives `Tracer` NumPy's behaviour; set on
    some primitives alone, they would slow every primitive's attribute reads). A primitive
    that is no binary ufunc has none of the attributes, and its methods raise NumPy's
    error."""
    for method in _METHODS:
        setattr(Primitive, method.__name__, _on_primitive(method))
    for attribute in _ATTRIBUTES:
        setattr(Primitive, attribute, property(functools.partial(_attribute, attribute)))
    for name, ours in namespace.items():
        theirs: Any = getattr(np, name, None)
        if ours is theirs or isinstance(ours, Primitive) or not _binary(theirs):
            continue
        for method in _METHODS:
            setattr(ours, method.__name__, _bound(method, ours, theirs))
        for attribute in _ATTRIBUTES:
            setattr(ours, attribute, getattr(theirs, attribute))


def _binary(theirs: Any) -> bool:
    """Whether `theirs` is a NumPy ufunc with NumPy's methods: two inputs, one output."""
    return (
        isinstance(theirs, np.ufunc) and theirs.nin == 2 and theirs.nout == 1
        and theirs.signature is None
    )  # fmt: skip


def _ufunc_of(prim: Primitive, method: str = "") -> np.ufunc:
    """The binary NumPy ufunc `prim` is; else NumPy's error for a method of another ufunc,
    or an AttributeError."""
    theirs: Any = getattr(np, str(prim.name), None)
    if _binary(theirs):
        return theirs
    if method and isinstance(theirs, np.ufunc):
        raise ValueError(f"{method} only supported for binary functions")
    raise AttributeError(f"chainrule primitive {prim.name!r} is not a binary NumPy ufunc")


def _on_primitive(method: Callable[..., Any]) -> Callable[..., Any]:
    def on(self: Primitive, *args: Any, **kwargs: Any) -> Any:
        return _call(method, self, _ufunc_of(self, method.__name__), *args, **kwargs)

    on.__name__ = on.__qualname__ = method.__name__
    on.__doc__ = method.__doc__
    return on


def _attribute(name: str, prim: Primitive) -> Any:
    return getattr(_ufunc_of(prim), name)


def _bound(method: Callable[..., Any], ours: Any, theirs: np.ufunc) -> Callable[..., Any]:
    bound = functools.partial(_call, method, ours, theirs)
    bound.__doc__ = f"`numpy.{theirs.__name__}.{method.__name__}`. {method.__doc__}"
    return bound


def _call(
    method: Callable[..., Any], ours: Any, theirs: np.ufunc, *args: Any, **kwargs: Any
) -> Any:
    """`method` of `theirs` on traced values, written with `ours`; NumPy's on plain ones."""
    if not contains_tracer(args) and not contains_tracer(tuple(kwargs.values())):
        return getattr(theirs, method.__name__)(*args, **kwargs)
    return method(ours, theirs, *args, **kwargs)


def outer(ours: Any, theirs: np.ufunc, a: Any, b: Any, /, **kwargs: Any) -> Any:
    """Every entry of `a` against every entry of `b`: shape ``a.shape + b.shape``."""
    a, b = cnp.asarray(a), cnp.asarray(b)
    return ours(cnp.reshape(a, shape_of(a) + (1,) * ndim_of(b)), b, **kwargs)


def reduce(
    ours: Any, theirs: np.ufunc, array: Any, axis: Any = 0, dtype: Any = None, out: Any = None,
    keepdims: bool = False, initial: Any = _NoValue, where: Any = True,
) -> Any:  # fmt: skip
    """The ufunc applied along `axis` (an int, a tuple, or None for all), from its identity
    (or `initial`) where it has one, as NumPy's."""
    _refuse_out(theirs, "reduce", out, where)
    a = cnp.asarray(array)
    given = {} if initial is None or initial is _NoValue else {"initial": initial}
    with np.errstate(all="ignore"):  # (NumPy's checks, and its result's dtype)
        probe = np.zeros((1,) * ndim_of(a), dtype_of(a))
        out_dtype = theirs.reduce(probe, axis, dtype, keepdims=keepdims, **given).dtype
    a = _computed_in(a, out_dtype)
    name = theirs.__name__
    if name in _REDUCTIONS and not (given and name in ("logical_and", "logical_or")):
        extra = {"dtype": out_dtype} if name in ("add", "multiply") else {}
        return getattr(cnp, _REDUCTIONS[name])(a, axis=axis, keepdims=keepdims, **given, **extra)
    axes = normalize_axes(axis, ndim_of(a)) if ndim_of(a) else ()  # (a 0-d array's 0: none)
    k = len(axes)
    moved = cnp.moveaxis(a, axes, tuple(range(k))) if k else a
    rest = shape_of(moved)[k:]
    flat = cnp.reshape(moved, (math.prod(shape_of(moved)[:k]), *rest))
    if given:
        first = np.full(rest, initial, out_dtype)
    elif theirs.identity is not None:  # (cast as NumPy casts it: -1 is uint8's 255)
        first = np.full(rest, np.asarray(theirs.identity).astype(out_dtype))
    elif not shape_of(flat)[0]:
        raise ValueError(f"zero-size array to reduction operation {name} which has no identity")
    else:
        first = None
    acc = _folded(ours, flat, out_dtype, first)
    if keepdims:
        acc = cnp.reshape(acc, tuple(1 if i in axes else m for i, m in enumerate(shape_of(a))))
    return acc


def accumulate(
    ours: Any, theirs: np.ufunc, array: Any, axis: int = 0, dtype: Any = None, out: Any = None
) -> Any:
    """The running results of the ufunc along `axis`, from its first entry."""
    _refuse_out(theirs, "accumulate", out, True)
    a = cnp.asarray(array)
    with np.errstate(all="ignore"):  # (NumPy's checks, and its result's dtype)
        out_dtype = theirs.accumulate(np.zeros((1,) * ndim_of(a), dtype_of(a)), axis, dtype).dtype
    a = _computed_in(a, out_dtype)
    name = theirs.__name__
    if name in _ACCUMULATIONS:
        return getattr(cnp, _ACCUMULATIONS[name])(a, axis=axis, dtype=out_dtype)
    moved = cnp.moveaxis(a, axis, 0)
    if not shape_of(moved)[0]:
        return cnp.astype(a, out_dtype)
    steps = [cnp.astype(moved[0], out_dtype)]
    for i in range(1, shape_of(moved)[0]):
        steps.append(ours(steps[-1], moved[i]))
    return cnp.moveaxis(cnp.stack(steps), 0, axis)


def reduceat(
    ours: Any, theirs: np.ufunc, array: Any, indices: Any, axis: int = 0, dtype: Any = None,
    out: Any = None,
) -> Any:  # fmt: skip
    """The ufunc over each slice ``indices[i]:indices[i + 1]`` along `axis`, from its first
    entry (an entry alone where the next index is not larger), as NumPy's."""
    _refuse_out(theirs, "reduceat", out, True)
    if contains_tracer((indices,)):
        raise TypeError(
            f"chainrule.numpy.{theirs.__name__}.reduceat: the indices must be constants"
        )
    a = cnp.asarray(array)
    ndim = ndim_of(a)
    with np.errstate(all="ignore"):  # (NumPy's checks: the axis, then the indices on an
        theirs.reduceat(np.zeros((1,) * ndim, dtype_of(a)), [0], axis, dtype)  # array of its
        axis = int(axis) % ndim  # length; and the result's dtype)
        n = shape_of(a)[axis]
        probe = np.zeros(tuple(n if i == axis else 1 for i in range(ndim)), dtype_of(a))
        out_dtype = theirs.reduceat(probe, indices, axis, dtype).dtype
    a = _computed_in(a, out_dtype)
    starts = [int(i) for i in np.asarray(indices)]
    moved = cnp.moveaxis(a, axis, 0)
    if not starts:
        return np.zeros((*shape_of(a)[:axis], 0, *shape_of(a)[axis + 1 :]), out_dtype)
    pieces = []
    for i, start in enumerate(starts):
        stop = starts[i + 1] if i + 1 < len(starts) else n
        pieces.append(_folded(ours, moved[start : max(stop, start + 1)], out_dtype, None))
    return cnp.moveaxis(cnp.stack(pieces), 0, axis)


def _folded(ours: Any, seq: Any, out_dtype: np.dtype[Any], first: Any) -> Any:
    """``ours`` applied along the first axis of `seq` in order, from `first` (None: from
    the first entry), in `out_dtype`."""
    acc = first
    for i in range(shape_of(seq)[0]):
        acc = seq[i] if acc is None else ours(acc, seq[i])
    return acc if dtype_of(acc) == out_dtype else cnp.astype(acc, out_dtype)


def at(ours: Any, theirs: np.ufunc, a: Any, indices: Any, b: Any = None) -> None:
    """Refused on traced values: it writes into `a` in place."""
    name = theirs.__name__
    raise TypeError(
        f"chainrule.numpy.{name}.at writes into `a` in place, which a traced value (being "
        "differentiated, mapped or compiled) cannot be, nor can a plain array hold one: make a "
        f"new array with `a.at[indices]` (`.add(b)`, `.multiply(b)`, `.min(b)`, `.max(b)`)."
    )


_METHODS = (outer, reduce, accumulate, reduceat, at)
_BY_NAME = {method.__name__: method for method in _METHODS}


def _refuse_out(theirs: np.ufunc, method: str, out: Any, where: Any) -> None:
    if out is not None or where is not True:
        what = "out" if out is not None else "where"
        raise TypeError(
            f"chainrule.numpy.{theirs.__name__}.{method}: `{what}=` is not supported on a "
            "traced array; write the result functionally instead."
        )


def _computed_in(a: Any, out_dtype: np.dtype[Any]) -> Any:
    """`a` in the dtype NumPy's loop computes in: the result's, where that is a number (an
    int8 sum in int64, integers divided in float64); as it is for a boolean result (a
    comparison compares the values themselves)."""
    return a if out_dtype.kind == "b" or dtype_of(a) == out_dtype else cnp.astype(a, out_dtype)
