"""Indexing: ``x[index]`` and its transpose, scattering a cotangent back with addition.

`getitem` and `scatter_add` are each other's adjoints, so each one's reverse rule is the
other. Integer, slice, ``None``, ``...``, integer-array and boolean-mask indices are
supported; repeated integer indices accumulate, as the chain rule requires. The index is
never differentiated. Under `vmap` its integer arrays may differ between the examples (a
batch of them): they are then positional arguments of `getitem` and `scatter_add` (a static
template holds the rest of the index), so the batch trace sees them, and the batched
program is one fancy index (an ``arange`` over the batch beside them) and, in reverse, one
``add.at``. A boolean mask computed from each example has a value-dependent shape and is
refused (use ``where``); a float index is refused as NumPy refuses it.

The gathers `take`, `take_along_axis` and `sort` are `getitem` with a computed index, so
they need no rules of their own.

Conventions:
- ``sort``: the output is the input gathered by ``argsort`` (same `kind`), so every output
  entry receives the derivative of exactly one input entry; tied inputs do not share it.
  With ``kind="stable"`` (or ``stable=True``) the first tied input in input order feeds the
  first tied output, and so on; with the default kind the pairing among ties is NumPy's
  (deterministic, unspecified), the stable sort costing about 3 times more on large arrays.
  Either way it is the derivative of one of the linear pieces that meet at the tie (sorting
  is continuous and piecewise linear).
- ``partition``: the input gathered by ``argpartition`` (same `kind`): the entries at the
  `kth` positions are NumPy's, and each output entry has the derivative of the one input
  entry that landed there (ties as for ``sort``). The order on either side of a `kth`
  position is ``argpartition``'s, which NumPy does not specify.

Functional updates (JAX's ``x.at[idx].set(v)``, on traced values; `at` for any array):
- ``set``, ``add``, ``subtract``, ``multiply``, ``divide``, ``min``, ``max`` return a new
  array, differentiable in `x` and `v`; ``get`` is ``x[idx]``. `v` broadcasts to ``x[idx]``
  and is cast to `x`'s dtype. On plain arrays they are ``out[idx] = v`` and ``ufunc.at``.
- Repeated indices: every operation but ``set`` applies each occurrence in turn, in C order
  of ``x[idx]`` (NumPy's ``ufunc.at``; ``add`` accumulates, as in JAX); ``set`` keeps the
  last occurrence (JAX leaves it unspecified; this is NumPy's assignment in practice).
- ``min``/``max`` at a tie between `x` and `v` share the derivative 1/2 each, as
  ``minimum``/``maximum`` do.
- Out-of-bounds indices raise NumPy's ``IndexError`` (JAX's `mode` options, which clip or
  drop them, are not supported).

Complex values: indexing and its transpose are linear and holomorphic, so every function
here serves complex values unchanged; ``sort``, ``partition`` and ``.at[].min``/``.max``
order them as NumPy does (lexicographically). Complex `v` written into a real `x` by
``.at[]`` keeps its real part, with NumPy's ``ComplexWarning``, as NumPy's assignment does.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from chainrule import numpy as cnp
from chainrule.core.batching import defbatch
from chainrule.core.primitive import primitive
from chainrule.core.trace import Tracer, dtype_of, primal

from .common import (
    batch_size,
    deflinear,
    ndim_of,
    nondiff,
    shape_of,
    to_front,
    value_shaped,
)

_BASIC = (int, np.integer, slice, type(None), type(Ellipsis))


def normalize_index(index: Any, ndim: int) -> tuple[Any, ...]:
    """`index` as a tuple with ``...`` spelt out as full slices (so trailing axes are free)."""
    index = index if isinstance(index, tuple) else (index,)
    index = tuple(np.asarray(i) if isinstance(i, list) else i for i in index)
    if any(i is Ellipsis for i in index):
        used = sum(  # (a mask uses its dimensions; a Python bool, a 0-d mask, none)
            np.ndim(i) if is_mask(i) or isinstance(i, bool) else (i is not None)
            for i in index if i is not Ellipsis
        )  # fmt: skip
        at = next(k for k, i in enumerate(index) if i is Ellipsis)
        index = index[:at] + (slice(None),) * (ndim - used) + index[at + 1 :]
    return index


def is_mask(i: Any) -> bool:
    """Whether index entry `i` is a boolean array."""
    return getattr(i, "dtype", None) is not None and i.dtype.kind == "b"


def is_basic(index: tuple[Any, ...]) -> bool:
    return all(isinstance(i, _BASIC) for i in index)


def along(axis: int, index: Any) -> tuple[Any, ...]:
    """An index applying `index` to axis `axis` (non-negative) and leaving the others whole."""
    return (slice(None),) * axis + (index,)


def _batched(fn: Any, t: Any, nb: int) -> Any:
    """Apply ``fn`` to the non-batch axes of `t`: batch axes move to the end and back.

    Only advanced indices need this (they may move axes to the front); basic indices just
    take `nb` leading full slices, which keeps the arrays contiguous.
    """
    if nb == 0:
        return fn(t)
    n = ndim_of(t)
    out = fn(cnp.transpose(t, tuple(range(nb, n)) + tuple(range(nb))))
    m = ndim_of(out)
    return cnp.transpose(out, tuple(range(m - nb, m)) + tuple(range(m - nb)))


class _Hole:
    """Marks, in an index, where a traced index array goes (it is passed by position)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<traced index>"


_HOLE = _Hole()


def _fill(index: tuple[Any, ...], arrays: tuple[Any, ...]) -> tuple[Any, ...]:
    """`index` with its holes filled, in order, by `arrays`."""
    pending = iter(arrays)
    return tuple(next(pending) if i is _HOLE else i for i in index)


def _holes(key: tuple[Any, ...]) -> tuple[tuple[Any, ...], list[Any]]:
    """Split `key` into a static template and its traced index arrays (passed by position,
    so that every trace, `vmap`'s included, sees them)."""
    arrays = []
    template = []
    for i in key:
        if isinstance(i, Tracer):
            i = primal(i)  # an index is never differentiated; a batch of them stays one
        if isinstance(i, Tracer):
            if dtype_of(i).kind == "b":
                raise value_shaped(
                    "indexing with a boolean mask computed from a traced value (`x[x > 0]`)",
                    i,
                    "`np.where(mask, x, 0)` (then reduce), or `np.sum(x, where=mask)`",
                )
            if dtype_of(i).kind not in "iu":
                raise IndexError(
                    "arrays used as indices must be of integer (or boolean) type, "
                    f"not {dtype_of(i)}"
                )
            arrays.append(i)
            i = _HOLE
        template.append(i)
    return tuple(template), arrays


def _getitem_impl(x: Any, index: tuple[Any, ...], *arrays: Any) -> Any:
    return x[_fill(index, arrays) if arrays else index]


def _writes_once(index: tuple[Any, ...], shape: tuple[int, ...]) -> bool:
    """Whether `index` reaches each entry at most once, so that assignment can replace `add.at`.

    True for basic indices and for a single boolean mask. A single integer array is checked on
    the index alone, and only when `shape` has other axes (on a vector, `add.at` costs no more
    than the check).
    """
    arrays = [k for k, i in enumerate(index) if not isinstance(i, _BASIC)]
    if not arrays:
        return True
    if len(arrays) > 1:
        return False
    k = arrays[0]
    i = np.asarray(index[k])
    if is_mask(i):
        return True
    if len(shape) < 2 or any(j is Ellipsis for j in index):
        return False
    axis = sum(np.ndim(j) if is_mask(j) else (j is not None) for j in index[:k])
    n = shape[axis]
    return bool(n == 0 or np.bincount((i % n).ravel(), minlength=n).max(initial=0) <= 1)


def _scatter_add_impl(g: Any, index: tuple[Any, ...], shape: tuple[int, ...], *arrays: Any) -> Any:
    if arrays:
        index = _fill(index, arrays)
    out = np.zeros(shape, np.result_type(g))
    if _writes_once(index, shape):
        out[index] = g
    elif len(shape) == 1:
        np.add.at(out, index, g)
    else:
        # `add.at` is several times faster on one flat index than on mixed indices.
        flat = np.arange(out.size).reshape(shape)[index]
        np.add.at(out.reshape(-1), flat.reshape(-1), np.reshape(g, -1))
    return out


getitem = primitive(_getitem_impl, "getitem")
scatter_add = primitive(_scatter_add_impl, "scatter_add")
scatter_add.__doc__ = "Zeros of `shape` with `g` added at `index` (repeated indices accumulate)."

deflinear(
    getitem,
    lambda g, ans, x, index, *arrays: scatter_add(g, index, shape_of(x), *arrays),
    lambda t, nb, ans, x, index, *arrays: (
        getitem(t, (slice(None),) * nb + index, *arrays)
        if is_basic(index)
        else _batched(lambda v: getitem(v, index, *arrays), t, nb)
    ),
)
deflinear(
    scatter_add,
    lambda g, ans, y, index, shape, *arrays: getitem(g, index, *arrays),
    lambda t, nb, ans, y, index, shape, *arrays: (
        scatter_add(t, (slice(None),) * nb + index, shape_of(t)[:nb] + shape, *arrays)
        if is_basic(index)
        else _batched(lambda v: scatter_add(v, index, shape + shape_of(t)[:nb], *arrays), t, nb)
    ),
)


def gather(x: Any, key: tuple[Any, ...]) -> Any:
    """``x[key]`` for a normalized `key` whose index arrays may be traced."""
    template, arrays = _holes(key)
    return getitem(x, template, *arrays)


def scatter(g: Any, key: tuple[Any, ...], shape: tuple[int, ...]) -> Any:
    """Zeros of `shape` with `g` added at `key` (a normalized key, index arrays maybe traced)."""
    template, arrays = _holes(key)
    return scatter_add(g, template, shape, *arrays)


def index(x: Any, key: Any) -> Any:
    """``x[key]`` on a traced `x` or with a traced index (``...`` spelt out, so batch axes
    can trail)."""
    key = normalize_index(key, ndim_of(x))
    for i in key:
        if isinstance(i, Tracer):
            return gather(x, key)
    return getitem(x, key)


# ---------------------------------------------------------------------------- batching
#
# Under `vmap` an index entry is static or a batch of index arrays, and the indexed array
# (or the cotangent scattered back) is batched or shared. All examples are indexed at once by
# one key: a full slice over the batch axis when the index is static, an ``arange`` over it
# when the index arrays are batched (pairing example b's array with example b's indices).
# NumPy puts the axes of the advanced indices where the first one is when they are adjacent,
# and in front otherwise; the batch entry goes just before them, so the batch axis of the
# result lands at a position known in advance, with no transpose.


def _batched_key(
    index: tuple[Any, ...], arrays: list[Any], dims: list[int | None], ndim: int, size: int,
    batch: str | None,
) -> tuple[tuple[Any, ...], int, int]:  # fmt: skip
    """The key indexing every example at once: (key, q, p), the batch axis being axis `q`
    of the indexed array and axis `p` of the result.

    `batch` is the entry put over the batch axis: "slice", "arange", or None for a shared
    indexed array (then batched index arrays alone carry the batch).
    """
    filled = _fill(index, tuple(to_front(a, d) for a, d in zip(arrays, dims, strict=True)))
    lead = iter([d is not None for d in dims])
    entries: list[tuple[Any, bool]] = []  # (entry, whether it has a leading batch axis)
    for i, was in zip(filled, index, strict=True):
        if was is _HOLE:
            entries.append((i, next(lead)))
        elif is_mask(i):
            entries.extend((k, False) for k in np.nonzero(i))
        else:
            entries.append((i, False))
    entries += [(slice(None), False)] * (ndim - sum(e is not None for e, _ in entries))
    basic = all(isinstance(e, _BASIC) for e, _ in entries)
    advanced = [] if basic else [k for k, (e, _) in enumerate(entries) if not _is_axis(e)]
    rank = max((ndim_of(e) - b for e, b in entries if not _is_axis(e)), default=0)
    key = [
        cnp.reshape(e, (size,) + (1,) * (rank + 1 - ndim_of(e)) + shape_of(e)[1:]) if b else e
        for e, b in entries
    ]
    if advanced and advanced == list(range(advanced[0], advanced[-1] + 1)):
        at = advanced[0]
        q = sum(e is not None for e in key[:at])
        p = sum(_is_axis(e) for e in key[:at])
    else:
        at = q = p = 0
        if advanced and batch == "slice":
            p = rank  # the advanced axes go in front, the batch's slice after them
    if batch == "slice":
        key.insert(at, slice(None))
    elif batch == "arange":
        key.insert(at, np.arange(size).reshape((size,) + (1,) * rank))
    return tuple(key), q, p


def _is_axis(e: Any) -> bool:
    """Whether index entry `e` is a slice or ``None`` (an axis of the result in place)."""
    return isinstance(e, (slice, type(None)))


def _getitem_batch(args: list[Any], dims: list[int | None]) -> tuple[Any, int]:
    x, index, *arrays = args
    dx, _, *da = dims
    stacked = any(d is not None for d in da)
    batch = None if dx is None else "arange" if stacked else "slice"
    ndim = ndim_of(x) - (dx is not None)
    key, q, p = _batched_key(index, arrays, da, ndim, batch_size(args, dims), batch)
    if dx is not None:
        x = cnp.moveaxis(x, dx, q)
    return gather(x, key), p


def _scatter_add_batch(args: list[Any], dims: list[int | None]) -> tuple[Any, int]:
    g, index, shape, *arrays = args
    dg, _, _, *da = dims
    size = batch_size(args, dims)
    batch = "arange" if any(d is not None for d in da) else "slice"
    key, q, p = _batched_key(index, arrays, da, len(shape), size, batch)
    if dg is None:
        s = shape_of(g)
        g = cnp.broadcast_to(cnp.reshape(g, (*s[:p], 1, *s[p:])), (*s[:p], size, *s[p:]))
    else:
        g = cnp.moveaxis(g, dg, p)
    return scatter(g, key, (*shape[:q], size, *shape[q:])), q


defbatch(getitem, _getitem_batch)
defbatch(scatter_add, _scatter_add_batch)


def normalize_axis(axis: Any, ndim: int) -> int:
    """`axis` in ``range(ndim)``, or NumPy's AxisError."""
    axis = int(axis)
    if not -ndim <= axis < ndim:
        raise np.exceptions.AxisError(axis, ndim)
    return axis % ndim


def contains_tracer(obj: Any) -> bool:
    """Whether `obj`, or anything in a (nested) list or tuple `obj`, is traced."""
    if isinstance(obj, (list, tuple)):
        return any(contains_tracer(o) for o in obj)
    return isinstance(obj, Tracer)


def take(a: Any, indices: Any, axis: Any = None, out: Any = None, mode: str = "raise") -> Any:
    """`numpy.take`: ``a[..., indices, ...]`` along `axis` (the flattened `a` if None).

    Repeated indices accumulate, and entries never taken get 0:

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.grad(lambda x: np.take(x, [0, 2, 0]).sum())(np.zeros(3))
    array([2., 0., 1.])
    """
    if not contains_tracer((a, indices)):
        return np.take(a, indices, axis=axis, out=out, mode=mode)  # type: ignore[call-overload]
    a = cnp.asarray(a)
    if out is not None:
        raise TypeError("chainrule.numpy.take: `out=` is not supported on traced arrays")
    idx = _index_array(indices)
    if axis is None:
        a, axis = cnp.reshape(a, -1), 0
    axis = normalize_axis(axis, ndim_of(a))
    n = shape_of(a)[axis]
    if mode == "wrap":
        idx = idx % n
    elif mode == "clip":
        idx = cnp.clip(idx, 0, n - 1)
    return gather(a, along(axis, idx))


def _index_array(indices: Any) -> Any:
    """An index as an array: plain, or (under `vmap`) a batch of them; never differentiated."""
    return primal(indices) if isinstance(indices, Tracer) else np.asarray(indices)


def take_along_axis(arr: Any, indices: Any, axis: Any = -1) -> Any:
    """`numpy.take_along_axis`: pick ``indices`` along `axis`, broadcasting the other axes.

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> idx = np.array([[1], [0]])
    >>> cr.grad(lambda a: np.take_along_axis(a, idx, axis=1).sum())(np.zeros((2, 2)))
    array([[0., 1.],
           [1., 0.]])
    """
    if not contains_tracer((arr, indices)):
        return np.take_along_axis(arr, indices, axis=axis)
    arr = cnp.asarray(arr)
    idx = _index_array(indices)
    if axis is None:
        arr, axis = cnp.reshape(arr, -1), 0
    shape = shape_of(arr)
    if ndim_of(idx) != len(shape):
        raise ValueError("`indices` and `arr` must have the same number of dimensions")
    axis = normalize_axis(axis, len(shape))
    key = tuple(
        idx if k == axis else np.arange(n).reshape((1,) * k + (n,) + (1,) * (len(shape) - k - 1))
        for k, n in enumerate(shape)
    )
    return gather(arr, key)


def sort(a: Any, axis: Any = -1, kind: Any = None, order: Any = None, **kwargs: Any) -> Any:
    """`numpy.sort`, as a gather by ``argsort`` (see the module docstring for ties).

    Each sorted position's gradient goes back to the entry that landed there:

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.grad(lambda x: np.sort(x) @ np.array([1.0, 10.0, 100.0]))(np.array([3.0, 1.0, 2.0]))
    array([100.,   1.,  10.])
    """
    if not contains_tracer(a):
        return np.sort(a, axis=axis, kind=kind, order=order, **kwargs)
    a = cnp.asarray(a)
    if order is not None:
        raise TypeError("chainrule.numpy.sort: `order=` (structured arrays) is not differentiable")
    if axis is None:
        a, axis = cnp.reshape(a, -1), -1
    perm = np.argsort(primal(a), axis=axis, kind=kind, **kwargs)
    return take_along_axis(a, perm, axis)


def bincount(x: Any, weights: Any = None, minlength: int = 0) -> Any:
    """`numpy.bincount`; differentiable in traced `weights` (bin ``k`` sums the weights of
    the entries equal to ``k``, so each weight's derivative is that of its bin).

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.grad(lambda w: np.bincount([0, 1, 1], weights=w) @ np.array([1.0, 10.0]))(np.ones(3))
    array([ 1., 10., 10.])
    """
    _refuse_batched("bincount", x, "counts of 0..n-1 are `np.sum(x[:, None] == np.arange(n), 0)`")
    idx = np.asarray(primal(x))
    if not contains_tracer(weights):
        return np.bincount(idx, weights, minlength)
    w = cnp.asarray(weights)
    if dtype_of(w).kind == "c":  # (NumPy's own cast refuses them; `astype` would warn)
        raise TypeError(
            "chainrule.numpy.bincount: complex weights are not supported (NumPy casts weights "
            "to float64); bin their real and imaginary parts separately."
        )
    w = cnp.astype(w, np.float64)  # NumPy sums weights in float64
    n = np.bincount(idx, minlength=minlength).shape[0]  # also NumPy's checks of `x`
    if shape_of(w) != idx.shape:
        raise ValueError(f"bincount: weights of shape {shape_of(w)} for x of shape {idx.shape}")
    return scatter_add(w, (idx,), (n,))


def _refuse_batched(name: str, x: Any, fix: str) -> None:
    """Refuse an argument that differs between the examples of a `vmap`, or between the
    calls of a `jit` program, when the result's shape would depend on its values."""
    if isinstance(primal(x), Tracer):
        raise value_shaped(f"numpy.{name} of a traced value", primal(x), fix)


_np_unique: Any = np.unique  # (its typing overloads want literal flags)


def unique(ar: Any, return_index: bool = False, return_inverse: bool = False,
           return_counts: bool = False, axis: Any = None, **kwargs: Any) -> Any:  # fmt: skip
    """`numpy.unique`; the unique values of a traced array are entries of it, gathered, so
    each has the derivative of the first entry holding it.

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.grad(lambda x: np.unique(x) @ np.array([1.0, 10.0]))(np.array([2.0, 1.0, 2.0]))
    array([10.,  1.,  0.])
    """
    _refuse_batched("unique", ar, "`np.sort(x)`, with repeats where `s[1:] == s[:-1]`")
    if not isinstance(ar, Tracer):
        return _np_unique(primal(ar), return_index, return_inverse, return_counts, axis, **kwargs)
    found = _np_unique(primal(ar), True, return_inverse, return_counts, axis, **kwargs)
    values = take(ar, found[1], axis=axis)
    rest = found[1 if return_index else 2 :]
    return (values, *rest) if rest else values


_np_partition: Any = np.partition  # (its typing overloads want a literal `kind`)


def partition(
    a: Any, kth: Any, axis: Any = -1, kind: str = "introselect", order: Any = None
) -> Any:
    """`numpy.partition`, as a gather by ``argpartition`` (see the module docstring).

    The entry that lands at position `kth` gets that position's gradient:

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.grad(lambda x: np.partition(x, 1)[1])(np.array([3.0, 1.0, 2.0]))
    array([0., 0., 1.])
    """
    if not contains_tracer(a):
        return _np_partition(a, kth, axis=axis, kind=kind, order=order)
    a = cnp.asarray(a)
    if order is not None:
        raise TypeError(
            "chainrule.numpy.partition: `order=` (structured arrays) is not differentiable"
        )
    if axis is None:
        a, axis = cnp.reshape(a, -1), -1
    perm = _argpartition(primal(a), kth, axis=axis, kind=kind)
    return take_along_axis(a, perm, axis)


def _argpartition_batch(fn: Any, args: list[Any], dims: list[int | None], *, axis: int,
                        kind: str) -> tuple[Any, int]:  # fmt: skip
    """Every example partitioned at once, along its axis shifted past the batch."""
    a, kth = args
    a = to_front(a, dims[0])
    return fn(a, kth, axis=axis % (ndim_of(a) - 1) + 1, kind=kind), 0


_argpartition = nondiff(np.argpartition, _argpartition_batch)


def _rounds(key: Any, shape: tuple[int, ...]) -> tuple[Any, list[Any]]:
    """Split the entries of ``x[key]`` into rounds that each reach any entry of `x` once.

    Returns the rounds as boolean masks over ``x[key]`` (the k-th occurrence of an entry,
    in C order, is in round k) and, for each round, the mask over `x` of what it reaches.
    Indexing a plain ``arange`` gives NumPy's errors (out of bounds, bad index types).
    """
    size = int(np.prod(shape))
    where = np.arange(size).reshape(shape)[key]
    flat = np.ravel(where)
    order = np.argsort(flat, kind="stable")
    ranked = flat[order]
    new = np.ones(flat.size, bool)
    new[1:] = ranked[1:] != ranked[:-1]
    positions = np.arange(flat.size)
    occurrence = np.empty(flat.size, int)
    occurrence[order] = positions - np.maximum.accumulate(np.where(new, positions, 0))
    rounds, reached = [], []
    for k in range(int(occurrence.max(initial=0)) + 1):
        chosen = occurrence == k
        hit = np.zeros(size, bool)
        hit[flat[chosen]] = True
        rounds.append(chosen.reshape(np.shape(where)))
        reached.append(hit.reshape(shape))
    return where, list(zip(rounds, reached, strict=True))


class _AtRef:
    """``x.at[key]``: the functional updates of `x` at `key` (see the module docstring)."""

    __slots__ = ("key", "x")

    def __init__(self, x: Any, key: Any) -> None:
        self.x, self.key = x, key

    def get(self, **kwargs: Any) -> Any:
        """``x[key]``."""
        _check_mode("get", kwargs)
        return index(self.x, self.key) if contains_tracer((self.x, self.key)) else self.x[self.key]

    def _update(self, name: str, v: Any, kwargs: dict[str, Any]) -> Any:
        _check_mode(name, kwargs)
        x, key = self.x, self.key
        if not contains_tracer((x, v, key)):
            out = np.array(x, copy=True)
            if name == "set":
                out[key] = v
            else:
                _UFUNCS[name].at(out, key, v)
            return out
        x = cnp.asarray(x)
        shape = shape_of(x)
        if contains_tracer(key):
            mask = key[0] if isinstance(key, tuple) and len(key) == 1 else key
            if isinstance(primal(mask), Tracer) and dtype_of(mask).kind == "b":
                return _update_masked(name, x, primal(mask), v)
            return _update_traced_key(name, x, normalize_index(key, len(shape)), v)
        where, rounds = _rounds(key, shape)
        v = cnp.broadcast_to(cnp.astype(cnp.asarray(v), dtype_of(x)), np.shape(where))
        index = normalize_index(key, len(shape))
        for chosen, reached in rounds:
            w = v if len(rounds) == 1 else cnp.where(chosen, v, 0.0)
            scattered = scatter_add(w, index, shape)
            if name == "add":  # round by round, to add in `ufunc.at`'s order
                x = x + scattered
            elif name == "subtract":
                x = x - scattered
            elif name == "set":
                x = cnp.where(reached, scattered, x)
            elif name in ("multiply", "divide"):
                factor = cnp.where(reached, scattered, 1.0)
                x = x * factor if name == "multiply" else x / factor
            else:
                extremum = cnp.minimum if name == "min" else cnp.maximum
                x = cnp.where(reached, extremum(x, scattered), x)
        return x

    def set(self, values: Any, **kwargs: Any) -> Any:
        """`x` with ``x[key]`` replaced by `values` (the last of repeated indices wins)."""
        return self._update("set", values, kwargs)

    def add(self, values: Any, **kwargs: Any) -> Any:
        """`x` with `values` added at `key` (repeated indices accumulate)."""
        return self._update("add", values, kwargs)

    def subtract(self, values: Any, **kwargs: Any) -> Any:
        """`x` with `values` subtracted at `key` (repeated indices accumulate)."""
        return self._update("subtract", values, kwargs)

    def multiply(self, values: Any, **kwargs: Any) -> Any:
        """`x` with ``x[key]`` multiplied by `values` (once per occurrence of an index)."""
        return self._update("multiply", values, kwargs)

    def divide(self, values: Any, **kwargs: Any) -> Any:
        """`x` with ``x[key]`` divided by `values` (once per occurrence of an index)."""
        return self._update("divide", values, kwargs)

    def min(self, values: Any, **kwargs: Any) -> Any:
        """`x` with ``x[key]`` replaced by ``minimum(x[key], values)``."""
        return self._update("min", values, kwargs)

    def max(self, values: Any, **kwargs: Any) -> Any:
        """`x` with ``x[key]`` replaced by ``maximum(x[key], values)``."""
        return self._update("max", values, kwargs)


def _update_masked(name: str, x: Any, mask: Any, v: Any) -> Any:
    """``x.at[mask]`` with a mask computed from each example under `vmap`: as ``where``.

    ``x[mask]`` has a value-dependent size, but an update by one value does not: it is
    ``where(mask, op(x, v), x)``, the fixed-size form a person would write.
    """
    xshape, mshape = shape_of(x), shape_of(mask)
    if xshape[: len(mshape)] != mshape:
        raise IndexError(f"boolean index of shape {mshape} does not match the array's {xshape}")
    v = cnp.astype(cnp.asarray(v), dtype_of(x))
    if math.prod(shape_of(v)) != 1 or ndim_of(v) > 1:
        raise TypeError(
            f"chainrule.vmap: .at[mask].{name}(v) with a mask computed from each example "
            "takes one value `v` (the number of entries selected differs between the "
            "examples). Write the update with `np.where(mask, new_values, x)`."
        )
    v = cnp.reshape(v, ())
    m = cnp.reshape(mask, mshape + (1,) * (len(xshape) - len(mshape)))
    return cnp.where(m, v if name == "set" else _UFUNCS[name](x, v), x)


def _update_traced_key(name: str, x: Any, key: tuple[Any, ...], v: Any) -> Any:
    """``x.at[key]`` with index arrays computed from each example under `vmap`: one scatter.

    ``add`` accumulates repeated indices; ``set`` keeps the last occurrence of each, found by
    sorting the positions reached (the rounds of the static path depend on the values).
    """
    shape = shape_of(x)
    where = gather(np.arange(math.prod(shape)).reshape(shape), key)
    v = cnp.broadcast_to(cnp.astype(cnp.asarray(v), dtype_of(x)), shape_of(where))
    if name in ("add", "subtract"):
        scattered = scatter(v, key, shape)
        return x + scattered if name == "add" else x - scattered
    if name != "set":
        raise TypeError(
            f"chainrule.vmap: .at[...].{name}() with index arrays that differ between the "
            "examples is not supported (repeated indices apply in turn). Use .add() or "
            ".set(), or compute the index outside the vmapped function."
        )
    flat = cnp.reshape(where, -1)
    order = np.argsort(flat, kind="stable")  # (a batch: NumPy hands it to chainrule's)
    ranked = take_along_axis(flat, order, -1)
    last = cnp.concatenate([ranked[1:] != ranked[:-1], np.ones(1, bool)])
    last = cnp.reshape(take_along_axis(last, np.argsort(order), -1), shape_of(where))
    reached = scatter(cnp.where(last, 1.0, 0.0), key, shape) > 0
    zero = np.zeros((), dtype_of(x))  # (a Python 0.0 would make an integer `x` float)
    return cnp.where(reached, scatter(cnp.where(last, v, zero), key, shape), x)


_UFUNCS: dict[str, Any] = {
    "add": np.add,
    "subtract": np.subtract,
    "multiply": np.multiply,
    "divide": np.divide,
    "min": np.minimum,
    "max": np.maximum,
}


def _check_mode(name: str, kwargs: dict[str, Any]) -> None:
    """JAX's hints `indices_are_sorted` and `unique_indices` are accepted; `mode` is not."""
    extra = set(kwargs) - {"indices_are_sorted", "unique_indices", "mode"}
    if extra:
        raise TypeError(f"chainrule: .at[...].{name}() got unexpected keywords {sorted(extra)}")
    if kwargs.get("mode") not in (None, "promise_in_bounds"):
        raise TypeError(
            f"chainrule: .at[...].{name}(mode={kwargs['mode']!r}) is not supported: indices "
            "out of bounds raise IndexError, as in NumPy. Clip the indices yourself "
            "(`np.clip(i, 0, n - 1)`) or drop them before the update."
        )


class _At:
    """``x.at``: index it to get the functional updates of JAX's ``x.at[idx]``."""

    __slots__ = ("x",)

    def __init__(self, x: Any) -> None:
        self.x = x

    def __getitem__(self, key: Any) -> _AtRef:
        return _AtRef(self.x, key)


def at(x: Any) -> _At:
    """JAX's ``x.at`` for any array, traced or plain: ``at(x)[idx].set(v)`` and friends.

    Traced values also have it as an attribute, ``x.at[idx].set(v)``; NumPy arrays cannot,
    so a function that runs on both spells it ``at(x)[idx]``. Each update returns a new
    array and leaves `x` as it was (see the module docstring for repeated indices):

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> x = np.zeros(3)
    >>> cr.at(x)[[0, 0, 2]].add(1.0)
    array([2., 0., 1.])
    >>> gx, gv = cr.grad(lambda x, v: cr.at(x)[1].set(v * v).sum(), argnums=(0, 1))(np.ones(3), 3.0)
    >>> gx
    array([1., 0., 1.])
    >>> print(gv)
    6.0
    """
    return _At(x)


__all__ = ["bincount", "partition", "sort", "take", "take_along_axis", "unique"]

# The public names whose rules are checked on complex values (tests/test_complex_families.py).
COMPLEX = ("partition", "sort", "take", "take_along_axis", "unique")
