"""Shape functions: they move, copy or drop entries without changing them, so all are linear.

Every function here goes through one of five mechanisms, which alone carry derivative rules:

- `reshape` / `transpose` (views): ``ravel``, ``expand_dims``, ``squeeze``, ``atleast_*d``,
  ``swapaxes``, ``moveaxis``, and with a flip ``rot90``;
- `broadcast_to` between two reshapes (reverse: a sum): ``tile``, ``repeat`` by one count,
  ``meshgrid``;
- `getitem` (reverse: `scatter_add`, which accumulates repeated indices): ``flip*`` (negative
  slices), ``repeat`` by per-entry counts, ``diagonal``, ``diag`` of a matrix,
  ``pad`` in index modes, ``diff``/``ediff1d`` (two slices subtracted), and
  ``take``/``take_along_axis``/``sort``/``partition`` (in `indexing`);
  `scatter_add` itself: ``diag`` of a vector and ``pad`` in constant mode;
- `concatenate` and `split`, a primitive pair that are each other's transposes: ``stack``,
  ``hstack``, ``vstack``, ``dstack``, ``column_stack``, ``array_split``, ``array([...])``,
  ``append``, ``r_``/``c_``;
- `where` with a constant mask: ``triu``, ``tril``, ``select``.

``roll`` alone is its own (`deflinear`) primitive: as a gather its reverse pass was 40 times
NumPy's ``roll``; as a primitive its transpose is the opposite roll, at NumPy speed.

Conventions:
- On plain arrays every function is NumPy's own (all arguments, NumPy's errors). The
  traced path supports NumPy's arguments except where an error says otherwise.
- ``split``/``array_split`` are one multiple-output primitive rather than one ``getitem`` per
  piece: its reverse rule is a single ``concatenate`` (one pass), where per-piece indexing
  would scatter each piece into its own full-size zero array.
- ``select``: the conditions are plain (comparisons have derivative 0), so each entry has
  the derivative of the choice (or `default`) it takes; at a boundary where a condition
  flips, that is the derivative of the piece selected there, as ``where``.
- ``r_``/``c_`` on traced values: arrays, numbers and slices; string directives raise.
- Complex values: every function here is linear and holomorphic (it moves entries), so its
  rules serve complex values unchanged; ``astype`` from complex to real keeps the real part,
  as NumPy does, and its derivative is that of ``real``.
- ``pad``: modes ``constant`` (plain ``constant_values``), ``edge``, ``reflect``,
  ``symmetric`` and ``wrap`` (even reflection). The four index modes share one mechanism:
  along each axis, the source of every output entry is ``np.pad(np.arange(n), ...)``.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from chainrule import numpy as cnp
from chainrule.core.batching import defbatch
from chainrule.core.primitive import defjvp_joint, defvjp, primitive
from chainrule.core.staging import strong
from chainrule.core.trace import Tracer, dtype_of, is_float, primal

from .common import at_front, batch_ndim, batch_size, deflinear, ndim_of, shape_of, unbroadcast
from .indexing import (
    along,
    contains_tracer,
    getitem,
    normalize_axis,
    scatter_add,
)

# ---------------------------------------------------------------------------------------------
# Primitives: reshape, broadcast_to, transpose, astype, roll, concatenate, split.


def _reshape_impl(a: Any, shape: Any) -> Any:
    return np.asanyarray(a).reshape(shape)  # (a subclass, a masked array, stays one)


_reshape = primitive(_reshape_impl, "reshape")


def reshape(a: Any, shape: Any = None, order: str = "C", **kwargs: Any) -> Any:
    """`numpy.reshape` (C order).

    The gradient comes back in the input's shape:

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> w = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> cr.grad(lambda x: (np.reshape(x, (2, 2)) * w).sum())(np.zeros(4))
    array([1., 2., 3., 4.])
    """
    shape = kwargs.pop("newshape", shape)
    if kwargs or order != "C":
        raise TypeError("chainrule.numpy.reshape supports only `shape` and order='C'")
    return _reshape(asarray(a) if isinstance(a, list) else a, shape)


deflinear(
    _reshape,
    lambda g, ans, x, shape: _reshape(g, shape_of(x)),
    lambda t, nb, ans, x, shape: _reshape(t, shape_of(t)[:nb] + shape_of(ans)),
)

broadcast_to = primitive(np.broadcast_to, "broadcast_to")
deflinear(
    broadcast_to,
    lambda g, ans, x, shape: unbroadcast(g, x),
    lambda t, nb, ans, x, shape: broadcast_to(
        cnp.reshape(
            t, shape_of(t)[:nb] + (1,) * (len(shape_of(ans)) - len(shape_of(x))) + shape_of(x)
        ),
        shape_of(t)[:nb] + shape_of(ans),
    ),
)


def _transpose_impl(a: Any, axes: Any = None) -> Any:
    # (the method: `numpy.transpose`'s dispatch costs more than the view it makes)
    return a.transpose(axes) if type(a) is np.ndarray else np.transpose(a, axes)


_transpose = primitive(_transpose_impl, "transpose")


def transpose(a: Any, axes: Any = None) -> Any:
    """`numpy.transpose`.

    The gradient is transposed back:

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> w = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> cr.grad(lambda a: (np.transpose(a) * w).sum())(np.zeros((2, 2)))
    array([[1., 3.],
           [2., 4.]])
    """
    return _transpose(a, None if axes is None else tuple(int(i) for i in axes))


def _axes(axes: Any, ndim: int) -> tuple[int, ...]:
    return tuple(range(ndim))[::-1] if axes is None else tuple(a % ndim for a in axes)


deflinear(
    _transpose,
    lambda g, ans, x, axes=None: _transpose(g, tuple(np.argsort(_axes(axes, x.ndim)).tolist())),
    lambda t, nb, ans, x, axes=None: _transpose(
        t, tuple(range(nb)) + tuple(a + nb for a in _axes(axes, x.ndim))
    ),
)


def _astype_impl(x: Any, dtype: Any) -> Any:
    return np.asarray(x).astype(dtype)


_astype = primitive(_astype_impl, "astype")


def _cast(t: Any, dtype: Any) -> Any:
    """A (co)tangent cast to `dtype`: its real part for a real dtype (as JAX's transpose of
    a real-to-complex cast), where NumPy would warn and drop the imaginary part."""
    if dtype_of(t).kind == "c" and np.dtype(dtype).kind != "c":
        t = cnp.real(t)
    return _astype(t, dtype)


deflinear(
    _astype,
    lambda g, ans, x, dtype: _cast(g, x.dtype),
    lambda t, nb, ans, x, dtype: _cast(t, dtype),
)


_copy = primitive(np.copy, "copy")
deflinear(_copy, lambda g, ans, a, order="K": g, lambda t, nb, ans, a, order="K": _copy(t, order))


def copy(a: Any, order: str = "K", subok: bool = False) -> Any:
    """`numpy.copy`: a new array of the same values, whose derivative passes through.

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.grad(lambda x: np.copy(x).sum())(np.array([1.0, 2.0]))
    array([1., 1.])
    """
    if not contains_tracer((a,)):
        return np.copy(a, order=order, subok=subok)  # type: ignore[call-overload]
    return _copy(asarray(a), order=order)


def astype(x: Any, dtype: Any, /, *, copy: bool = True, **kwargs: Any) -> Any:
    """`numpy.astype` (and ``x.astype``): differentiable between floating-point dtypes.

    Casting to float16, bfloat16, float32, float64 or a complex dtype passes the derivative
    through, cast to the new dtype (and back to the old one in reverse mode); complex to real
    keeps the real part, as NumPy does. Casting to an integer or boolean dtype is piecewise
    constant, so its derivative is 0.

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.grad(lambda x: np.astype(x, np.float32).sum())(np.array([1.0, 2.0]))
    array([1., 1.])
    """
    dtype = np.dtype(dtype)
    if not isinstance(x, Tracer):
        return np.asarray(x).astype(dtype, copy=copy, **kwargs)
    if is_float(dtype) or dtype.kind == "c":
        return _astype(x, dtype)
    x = primal(x)  # (under `vmap`, still a batch: cast all examples at once)
    return _astype(x, dtype) if isinstance(x, Tracer) else x.astype(dtype)


_roll = primitive(np.roll, "roll")
deflinear(
    _roll,
    lambda g, ans, x, shift, axis: _roll(g, -np.asarray(shift), axis),
    lambda t, nb, ans, x, shift, axis: (
        _roll(t, shift, tuple(ax + nb for ax in axis))
        if axis is not None
        else _reshape(_roll(_reshape(t, (*shape_of(t)[:nb], -1)), shift, (nb,)), shape_of(t))
    ),
)


def _concatenate_impl(*arrays: Any, axis: int) -> Any:
    return np.concatenate(arrays, axis=axis)


def _split_impl(x: Any, bounds: tuple[tuple[int, int], ...], axis: int) -> tuple[Any, ...]:
    return tuple(x[along(axis, slice(a, b))] for a, b in bounds)


_concatenate = primitive(_concatenate_impl, "concatenate")
_split = primitive(_split_impl, "split", multiple_results=True)


def _offsets(sizes: Sequence[int]) -> tuple[tuple[int, int], ...]:
    ends = np.cumsum(sizes).tolist()
    return tuple(zip([0, *ends[:-1]], ends, strict=True))


def _concatenate_jvp(tangents: Sequence[Any], ans: Any, *arrays: Any, axis: int) -> Any:
    nb, batch = next(
        (batch_ndim(t, x), shape_of(t)[: batch_ndim(t, x)])
        for t, x in zip(tangents, arrays, strict=True)
        if t is not None
    )
    full = [
        np.zeros(batch + shape_of(x), ans.dtype) if t is None else t
        for t, x in zip(tangents, arrays, strict=True)
    ]
    return _concatenate(*full, axis=axis + nb)


def _split_vjp(g: tuple[Any, ...], ans: Any, x: Any, bounds: Any, axis: int) -> Any:
    starts = [a for a, _ in bounds]
    ends = [b for _, b in bounds]
    if starts == [0, *ends[:-1]] and ends[-1] == shape_of(x)[axis]:
        return _concatenate(*g, axis=axis)
    # Pieces that overlap or leave gaps (unsorted split points): scatter each one back.
    return functools.reduce(
        cnp.add,
        (
            scatter_add(gk, along(axis, slice(a, b)), shape_of(x))
            for gk, (a, b) in zip(g, bounds, strict=True)
        ),
    )


_concatenate.vjp_all = lambda g, ans, *arrays, axis: _split(
    g, _offsets([shape_of(x)[axis] for x in arrays]), axis
)
defjvp_joint(_concatenate, _concatenate_jvp)
defvjp(_split, _split_vjp)
defjvp_joint(
    _split,
    lambda tangents, ans, x, bounds, axis: _split(
        tangents[0], bounds, axis + batch_ndim(tangents[0], x)
    ),
)


def _concatenate_batch(arrays: list[Any], dims: list[int | None], axis: int) -> tuple[Any, int]:
    """All examples joined at once: batches first, shared pieces broadcast along the batch
    (every example gets a copy of them in its piece of the result)."""
    size = batch_size(arrays, dims)
    return _concatenate(*(at_front(a, d, size) for a, d in zip(arrays, dims, strict=True)),
                        axis=axis + 1), 0  # fmt: skip


def _split_batch(args: list[Any], dims: list[int | None]) -> tuple[Any, Any]:
    """The pieces of every example at once: the batch axis stays where it is."""
    x, bounds, axis = args
    d = dims[0]
    pieces = _split(x, bounds, axis + (d is not None and d <= axis))
    return pieces, (d,) * len(pieces)


defbatch(_concatenate, _concatenate_batch)
defbatch(_split, _split_batch)

# ---------------------------------------------------------------------------------------------
# Public functions built on the primitives. `_numpy_unless_traced` sends plain arguments to
# NumPy's own function, so only the traced path below needs to handle them.


def _numpy_unless_traced(np_fun: Callable[..., Any]) -> Callable[[Callable[..., Any]], Any]:
    """Decorate a traced-only implementation: calls with no traced argument go to `np_fun`."""

    def decorate(fun: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fun)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if contains_tracer(args) or contains_tracer(tuple(kwargs.values())):
                return fun(*args, **kwargs)
            return np_fun(*args, **kwargs)

        return wrapper

    return decorate


def _no_out(name: str, out: Any) -> None:
    if out is not None:
        raise TypeError(f"chainrule.numpy.{name}: `out=` is not supported on traced arrays")


def _axis_tuple(axis: Any, ndim: int) -> tuple[int, ...]:
    axes = tuple(normalize_axis(a, ndim) for a in ((axis,) if np.ndim(axis) == 0 else axis))
    if len(set(axes)) != len(axes):
        raise ValueError("repeated axis")
    return axes


@_numpy_unless_traced(np.ravel)
def ravel(a: Any, order: str = "C") -> Any:
    """`numpy.ravel` (C order).

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.grad(lambda a: np.ravel(a) @ np.arange(4.0))(np.zeros((2, 2)))
    array([[0., 1.],
           [2., 3.]])
    """
    return reshape(asarray(a), -1, order=order)


@_numpy_unless_traced(np.expand_dims)
def expand_dims(a: Any, axis: Any) -> Any:
    """`numpy.expand_dims`: a reshape.

    A new axis that broadcasting then stretches sums the gradient over it:

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.grad(lambda x: (np.expand_dims(x, 0) * np.ones((3, 1))).sum())(np.array([1.0, 2.0]))
    array([3., 3.])
    """
    a = asarray(a)
    ndim = ndim_of(a) + (1 if np.ndim(axis) == 0 else len(axis))
    axes = _axis_tuple(axis, ndim)
    rest = iter(shape_of(a))
    return _reshape(a, tuple(1 if k in axes else next(rest) for k in range(ndim)))


@_numpy_unless_traced(np.squeeze)
def squeeze(a: Any, axis: Any = None) -> Any:
    """`numpy.squeeze`: a reshape.

    The gradient keeps the squeezed axis:

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.grad(lambda a: np.squeeze(a) @ np.array([1.0, 2.0]))(np.zeros((1, 2)))
    array([[1., 2.]])
    """
    a = asarray(a)
    shape = shape_of(a)
    if axis is None:
        axes = tuple(k for k, n in enumerate(shape) if n == 1)
    else:
        axes = _axis_tuple(axis, len(shape))
        if any(shape[k] != 1 for k in axes):
            raise ValueError("cannot select an axis to squeeze out which has size not equal to one")
    return _reshape(a, tuple(n for k, n in enumerate(shape) if k not in axes))


def _atleast(arys: tuple[Any, ...], ndim: int) -> Any:
    """NumPy's ``atleast_{ndim}d``: 1-d arrays become rows, and 3-d adds a trailing axis."""
    out = []
    for a in map(asarray, arys):
        shape = shape_of(a)
        if len(shape) < ndim:
            if ndim == 3 and shape:
                shape = (1,) * (2 - len(shape)) + shape + (1,)
            a = _reshape(a, (1,) * (ndim - len(shape)) + shape)
        out.append(a)
    return out[0] if len(out) == 1 else tuple(out)


@_numpy_unless_traced(np.atleast_1d)
def atleast_1d(*arys: Any) -> Any:
    """`numpy.atleast_1d`.

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> print(cr.grad(lambda x: 3.0 * np.atleast_1d(x)[0])(2.0))
    3.0
    """
    return _atleast(arys, 1)


@_numpy_unless_traced(np.atleast_2d)
def atleast_2d(*arys: Any) -> Any:
    """`numpy.atleast_2d`.

    A 1-d input becomes a row:

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.grad(lambda x: (np.atleast_2d(x) @ np.array([[1.0], [2.0]])).sum())(np.zeros(2))
    array([1., 2.])
    """
    return _atleast(arys, 2)


@_numpy_unless_traced(np.atleast_3d)
def atleast_3d(*arys: Any) -> Any:
    """`numpy.atleast_3d`.

    A 1-d input of length n becomes ``(1, n, 1)``; as a reshape, its Jacobian is the identity:

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> jac = cr.jacfwd(np.atleast_3d)(np.array([1.0, 2.0]))
    >>> jac.shape
    (1, 2, 1, 2)
    >>> jac.reshape(2, 2)
    array([[1., 0.],
           [0., 1.]])
    """
    return _atleast(arys, 3)


@_numpy_unless_traced(np.swapaxes)
def swapaxes(a: Any, axis1: int, axis2: int) -> Any:
    """`numpy.swapaxes`: a transpose.

    Row 0 of the swapped array is column 0 of `a`, so that is where the gradient goes:

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.grad(lambda a: np.swapaxes(a, 0, 1)[0].sum())(np.zeros((2, 3)))
    array([[1., 0., 0.],
           [1., 0., 0.]])
    """
    a = asarray(a)
    order = list(range(ndim_of(a)))
    i, j = normalize_axis(axis1, len(order)), normalize_axis(axis2, len(order))
    order[i], order[j] = j, i
    return _transpose(a, tuple(order))


@_numpy_unless_traced(np.moveaxis)
def moveaxis(a: Any, source: Any, destination: Any) -> Any:
    """`numpy.moveaxis`: a transpose.

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.grad(lambda a: (np.moveaxis(a, 0, -1) * np.array([0.0, 1.0])).sum())(np.zeros((2, 3)))
    array([[0., 0., 0.],
           [1., 1., 1.]])
    """
    a = asarray(a)
    src = _axis_tuple(source, ndim_of(a))
    dst = _axis_tuple(destination, ndim_of(a))
    if len(src) != len(dst):
        raise ValueError(
            "`source` and `destination` arguments must have the same number of elements"
        )
    order = [k for k in range(ndim_of(a)) if k not in src]
    for d, s in sorted(zip(dst, src, strict=True)):
        order.insert(d, s)
    return _transpose(a, tuple(order))


@_numpy_unless_traced(np.permute_dims)
def permute_dims(a: Any, /, axes: Any = None) -> Any:
    """`numpy.permute_dims` (the array API's `transpose`).

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.grad(lambda a: np.permute_dims(a, (1, 0))[0, 1])(np.zeros((2, 2)))
    array([[0., 0.],
           [1., 0.]])
    """
    return transpose(a, axes)


@_numpy_unless_traced(np.rollaxis)
def rollaxis(a: Any, axis: int, start: int = 0) -> Any:
    """`numpy.rollaxis`: `axis` moved to before position `start` (a transpose)."""
    a = asarray(a)
    n = ndim_of(a)
    axis = normalize_axis(axis, n)
    start = start + n if start < 0 else start
    if not 0 <= start <= n:
        raise np.exceptions.AxisError(f"start={start} out of range for {n} dimensions")
    start -= axis < start
    order = [k for k in range(n) if k != axis]
    order.insert(start, axis)
    return _transpose(a, tuple(order))


@_numpy_unless_traced(np.concatenate)
def concatenate(
    arrays: Sequence[Any],
    axis: Any = 0,
    out: Any = None,
    dtype: Any = None,
    casting: str = "same_kind",
) -> Any:
    """`numpy.concatenate`; its transpose is `split`.

    Each input gets its own slice of the gradient:

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> f = lambda x, y: np.concatenate([x, y]) @ np.arange(5.0)
    >>> cr.grad(f, argnums=(0, 1))(np.zeros(2), np.zeros(3))
    (array([0., 1.]), array([2., 3., 4.]))
    """
    _no_out("concatenate", out)
    arrays = [asarray(a) for a in arrays]
    if axis is None:
        arrays, axis = [_reshape(a, -1) for a in arrays], 0
    if ndim_of(arrays[0]) == 0:
        raise ValueError("zero-dimensional arrays cannot be concatenated")
    result = _concatenate(*arrays, axis=normalize_axis(axis, ndim_of(arrays[0])))
    return result if dtype is None else astype(result, dtype)


@_numpy_unless_traced(np.stack)
def stack(
    arrays: Sequence[Any],
    axis: int = 0,
    out: Any = None,
    dtype: Any = None,
    casting: str = "same_kind",
) -> Any:
    """`numpy.stack`: new axes, then `concatenate`.

    Each input gets its own row of the gradient:

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> w = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> cr.grad(lambda a, b: (np.stack([a, b]) * w).sum(), argnums=(0, 1))(np.zeros(2), np.zeros(2))
    (array([1., 2.]), array([3., 4.]))
    """
    _no_out("stack", out)
    arrays = [asarray(a) for a in arrays]
    if not arrays:
        raise ValueError("need at least one array to stack")
    if len({shape_of(a) for a in arrays}) != 1:
        raise ValueError("all input arrays must have the same shape")
    axis = normalize_axis(axis, ndim_of(arrays[0]) + 1)
    return concatenate([expand_dims(a, axis) for a in arrays], axis, dtype=dtype)


@_numpy_unless_traced(np.hstack)
def hstack(tup: Sequence[Any], *, dtype: Any = None, casting: str = "same_kind") -> Any:
    """`numpy.hstack`.

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> f = lambda x, y: np.hstack([x, y]) @ np.arange(4.0)
    >>> cr.grad(f, argnums=(0, 1))(np.zeros(1), np.zeros(3))
    (array([0.]), array([1., 2., 3.]))
    """
    arrays = [atleast_1d(a) for a in tup]
    return concatenate(arrays, 0 if arrays and ndim_of(arrays[0]) == 1 else 1, dtype=dtype)


@_numpy_unless_traced(np.vstack)
def vstack(tup: Sequence[Any], *, dtype: Any = None, casting: str = "same_kind") -> Any:
    """`numpy.vstack`.

    An array stacked twice gets the sum of both rows' gradients:

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.grad(lambda x: np.vstack([x, 2 * x]).sum(axis=0) @ np.array([1.0, 10.0]))(np.zeros(2))
    array([ 3., 30.])
    """
    return concatenate([atleast_2d(a) for a in tup], 0, dtype=dtype)


@_numpy_unless_traced(np.dstack)
def dstack(tup: Sequence[Any]) -> Any:
    """`numpy.dstack`.

    An input whose layer is not used gets a zero gradient:

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> f = lambda a, b: np.dstack([a, b])[..., 1].sum()
    >>> cr.grad(f, argnums=(0, 1))(np.ones((2, 2)), np.ones((2, 2)))
    (array([[0., 0.],
           [0., 0.]]), array([[1., 1.],
           [1., 1.]]))
    """
    return concatenate([atleast_3d(a) for a in tup], 2)


@_numpy_unless_traced(np.column_stack)
def column_stack(tup: Sequence[Any]) -> Any:
    """`numpy.column_stack`: 0-d and 1-d inputs become columns.

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> f = lambda x, y: (np.column_stack([x, y]) @ np.array([1.0, -1.0])).sum()
    >>> cr.grad(f, argnums=(0, 1))(np.zeros(2), np.zeros(2))
    (array([1., 1.]), array([-1., -1.]))
    """
    arrays = [asarray(a) for a in tup]
    return concatenate([_reshape(a, (-1, 1)) if ndim_of(a) < 2 else a for a in arrays], 1)


@_numpy_unless_traced(np.array_split)
def array_split(ary: Any, indices_or_sections: Any, axis: int = 0) -> list[Any]:
    """`numpy.array_split`: a list of pieces (one multiple-output primitive).

    Pieces may differ in size; entries of an unused piece get a zero gradient:

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.grad(lambda x: np.array_split(x, 2)[0].sum())(np.ones(5))
    array([1., 1., 1., 0., 0.])
    """
    ary = asarray(ary)
    axis = normalize_axis(axis, ndim_of(ary))
    n = shape_of(ary)[axis]
    if np.ndim(indices_or_sections) == 0:
        sections = int(indices_or_sections)
        if sections <= 0:
            raise ValueError("number sections must be larger than 0.")
        each, extra = divmod(n, sections)
        points = np.cumsum([0] + [each + 1] * extra + [each] * (sections - extra)).tolist()
    else:
        points = [0, *(int(i) for i in indices_or_sections), n]
    bounds = []
    for a, b in itertools.pairwise(points):
        start, stop, _ = slice(a, b).indices(n)
        bounds.append((start, max(start, stop)))
    return list(_split(ary, tuple(bounds), axis))


@_numpy_unless_traced(np.split)
def split(ary: Any, indices_or_sections: Any, axis: int = 0) -> list[Any]:
    """`numpy.split`: `array_split` that insists on equal sections.

    The gradient of ``sum(a * b)`` is ``b`` for the piece ``a`` and ``a`` for ``b``:

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> def f(x):
    ...     a, b = np.split(x, 2)
    ...     return (a * b).sum()
    >>> cr.grad(f)(np.array([1.0, 2.0, 3.0, 4.0]))
    array([3., 4., 1., 2.])
    """
    ary = asarray(ary)
    if np.ndim(indices_or_sections) == 0 and (
        shape_of(ary)[normalize_axis(axis, ndim_of(ary))] % int(indices_or_sections)
    ):
        raise ValueError("array split does not result in an equal division")
    return array_split(ary, indices_or_sections, axis)


def _split_along(name: str, axis: Callable[[int], int], least: int) -> Callable[..., Any]:
    """`numpy.hsplit`, `vsplit` or `dsplit`: `split` along the axis NumPy picks for the rank."""

    def along_axis(ary: Any, indices_or_sections: Any) -> list[Any]:
        ary = asarray(ary)
        if ndim_of(ary) < least:
            raise ValueError(f"{name} only works on arrays of {least} or more dimensions")
        return split(ary, indices_or_sections, axis(ndim_of(ary)))

    along_axis.__name__ = along_axis.__qualname__ = name
    along_axis.__doc__ = f"`numpy.{name}`: `split` along axis {axis(3)} (of a 3-d array)."
    return _numpy_unless_traced(getattr(np, name))(along_axis)


hsplit = _split_along("hsplit", lambda ndim: 1 if ndim > 1 else 0, 1)
vsplit = _split_along("vsplit", lambda ndim: 0, 2)
dsplit = _split_along("dsplit", lambda ndim: 2, 3)


@_numpy_unless_traced(np.unstack)
def unstack(x: Any, /, *, axis: int = 0) -> tuple[Any, ...]:
    """`numpy.unstack`: the slices along `axis`, as a tuple.

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.grad(lambda x: np.unstack(x)[1].sum())(np.zeros((2, 2)))
    array([[0., 0.],
           [1., 1.]])
    """
    x = asarray(x)
    axis = normalize_axis(axis, ndim_of(x))
    return tuple(squeeze(p, axis) for p in split(x, shape_of(x)[axis], axis))


@_numpy_unless_traced(np.concat)
def concat(
    arrays: Sequence[Any], /, axis: Any = 0, out: Any = None, *, dtype: Any = None,
    casting: str = "same_kind",
) -> Any:  # fmt: skip
    """`numpy.concat` (the array API's `concatenate`)."""
    return concatenate(arrays, axis, out, dtype, casting)


def _replicate(a: Any, reps: Sequence[int], inner: bool) -> Any:
    """Repeat each axis ``k`` of `a` ``reps[k]`` times, entry by entry (`inner`) or as blocks.

    A new axis of the repeat count beside each axis, broadcast, then merged: the reverse rule
    is a sum over the new axes.
    """
    shape = shape_of(a)
    pairs = [(n, r) if inner else (r, n) for n, r in zip(shape, reps, strict=True)]
    ones = [(n, 1) if inner else (1, n) for n in shape]
    small = tuple(m for pair in ones for m in pair)
    big = tuple(m for pair in pairs for m in pair)
    merged = tuple(n * r for n, r in zip(shape, reps, strict=True))
    out = _reshape(broadcast_to(_reshape(a, small), big), merged)
    # A new array, as NumPy's: merging an axis with its copies copies, but with no axis
    # longer than 1 repeated, the result is a (read-only) view of `a`.
    if any(n > 1 and r > 1 for n, r in zip(shape, reps, strict=True)):
        return out
    return _copy(out, order="C" if inner else "K")  # (NumPy's: repeat's C, tile's a copy)


@_numpy_unless_traced(np.tile)
def tile(A: Any, reps: Any) -> Any:
    """`numpy.tile`.

    Each entry's gradient sums over its copies:

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.grad(lambda x: np.tile(x, 2) @ np.arange(4.0))(np.zeros(2))
    array([2., 4.])
    """
    A = asarray(A)
    reps = tuple(int(r) for r in np.atleast_1d(reps))
    ndim = max(len(reps), ndim_of(A))
    A = _reshape(A, (1,) * (ndim - ndim_of(A)) + shape_of(A))
    return _replicate(A, (1,) * (ndim - len(reps)) + reps, inner=False)


@_numpy_unless_traced(np.repeat)
def repeat(a: Any, repeats: Any, axis: Any = None) -> Any:
    """`numpy.repeat`: one count by broadcasting, per-entry counts by indexing.

    Each entry's gradient sums over its copies:

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.grad(lambda x: np.repeat(x, [1, 3]).sum())(np.array([5.0, 7.0]))
    array([1., 3.])
    """
    a = asarray(a)
    if axis is None:
        a, axis = _reshape(a, -1), 0
    axis = normalize_axis(axis, ndim_of(a))
    if np.ndim(repeats) == 0:
        if int(repeats) < 0:
            raise ValueError("repeats may not contain negative values.")
        reps = [1] * ndim_of(a)
        reps[axis] = int(repeats)
        return _replicate(a, reps, inner=True)
    return getitem(a, along(axis, np.repeat(np.arange(shape_of(a)[axis]), repeats)))


def _flip_index(axes: Sequence[int], ndim: int) -> tuple[slice, ...]:
    return tuple(slice(None, None, -1) if k in axes else slice(None) for k in range(ndim))


@_numpy_unless_traced(np.flip)
def flip(m: Any, axis: Any = None) -> Any:
    """`numpy.flip`: a negative-step slice.

    The gradient is flipped back:

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.grad(lambda x: np.flip(x) @ np.arange(3.0))(np.zeros(3))
    array([2., 1., 0.])
    """
    m = asarray(m)
    axes = range(ndim_of(m)) if axis is None else _axis_tuple(axis, ndim_of(m))
    return getitem(m, _flip_index(axes, ndim_of(m))) if ndim_of(m) else m


@_numpy_unless_traced(np.fliplr)
def fliplr(m: Any) -> Any:
    """`numpy.fliplr`.

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.grad(lambda a: np.fliplr(a)[:, 0].sum())(np.zeros((2, 2)))
    array([[0., 1.],
           [0., 1.]])
    """
    if ndim_of(m) < 2:
        raise ValueError("Input must be >= 2-d.")
    return flip(m, 1)


@_numpy_unless_traced(np.flipud)
def flipud(m: Any) -> Any:
    """`numpy.flipud`.

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.grad(lambda a: np.flipud(a)[0].sum())(np.zeros((2, 2)))
    array([[0., 0.],
           [1., 1.]])
    """
    if ndim_of(m) < 1:
        raise ValueError("Input must be >= 1-d.")
    return flip(m, 0)


@_numpy_unless_traced(np.roll)
def roll(a: Any, shift: Any, axis: Any = None) -> Any:
    """`numpy.roll`: a primitive of its own, whose transpose is the opposite roll.

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.grad(lambda x: np.roll(x, 1) @ np.arange(3.0))(np.zeros(3))
    array([1., 2., 0.])
    """
    a = asarray(a)
    if axis is None:
        return _roll(a, shift, None)
    shifts, axes = np.broadcast_arrays(shift, axis)
    axes_ = tuple(normalize_axis(ax, ndim_of(a)) for ax in axes.ravel())
    return _roll(a, tuple(int(s) for s in shifts.ravel()), axes_)


_PAD_INDEX_MODES = ("edge", "reflect", "symmetric", "wrap")


@_numpy_unless_traced(np.pad)
def pad(array: Any, pad_width: Any, mode: str = "constant", **kwargs: Any) -> Any:
    """`numpy.pad` in modes constant, edge, reflect, symmetric and wrap (see module docstring).

    In ``edge`` mode the end entries are copied into the padding, so their gradients add up:

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.grad(lambda x: np.pad(x, 1, mode="edge").sum())(np.zeros(3))
    array([2., 1., 2.])
    """
    a = asarray(array)
    shape = shape_of(a)
    widths = np.broadcast_to(np.asarray(pad_width), (len(shape), 2)).astype(int)
    if (widths < 0).any():
        raise ValueError("index can't contain negative values")
    if not shape:  # (a 0-d array has no axis to pad: a copy, as NumPy's, after its checks)
        np.pad(np.zeros((), dtype_of(a)), pad_width, mode, **kwargs)  # type: ignore[call-overload]
        return _copy(a)
    if mode == "constant":
        if contains_tracer(tuple(kwargs.values())):
            raise TypeError(
                "chainrule.numpy.pad: `constant_values` must be plain numbers, not traced values"
            )
        out_shape = tuple(int(n + b + e) for n, (b, e) in zip(shape, widths, strict=True))
        inside = tuple(slice(int(b), int(b) + n) for n, (b, _) in zip(shape, widths, strict=True))
        out = scatter_add(a, inside, out_shape)
        if np.any(kwargs.get("constant_values", 0)):
            out = out + np.pad(np.zeros(shape, a.dtype), widths, "constant", **kwargs)
        return out
    if mode not in _PAD_INDEX_MODES or kwargs.get("reflect_type", "even") != "even":
        raise TypeError(
            f"chainrule.numpy.pad: mode {mode!r} with options {kwargs} is not differentiable "
            f"here; supported: 'constant', {', '.join(map(repr, _PAD_INDEX_MODES))} "
            "(reflect_type='even')"
        )
    for k, n in enumerate(shape):
        if widths[k].any():
            source = np.pad(np.arange(n), widths[k], mode, **kwargs)  # type: ignore[call-overload]
            a = getitem(a, along(k, source))
    return a


def _tri(m: Any, k: int, lower: bool) -> Any:
    """Keep the entries on and below (`lower`) or on and above diagonal `k`; zero the rest."""
    m = asarray(m)
    rows, cols = shape_of(m)[-2:] if ndim_of(m) >= 2 else shape_of(m) * 2
    keep = np.tri(rows, cols, k if lower else k - 1, dtype=bool)
    zero = np.zeros((), dtype_of(m))  # (as NumPy's: in m's dtype, whatever it is)
    return cnp.where(keep if lower else ~keep, m, zero)


@_numpy_unless_traced(np.tril)
def tril(m: Any, k: int = 0) -> Any:
    """`numpy.tril`.

    Entries above the diagonal are zeroed, so their gradient is 0:

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.grad(lambda a: np.tril(a).sum())(np.ones((2, 2)))
    array([[1., 0.],
           [1., 1.]])
    """
    return _tri(m, k, lower=True)


@_numpy_unless_traced(np.triu)
def triu(m: Any, k: int = 0) -> Any:
    """`numpy.triu`.

    Entries below diagonal `k` are zeroed, so their gradient is 0:

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.grad(lambda a: np.triu(a, 1).sum())(np.ones((3, 3)))
    array([[0., 1., 1.],
           [0., 0., 1.],
           [0., 0., 0.]])
    """
    return _tri(m, k, lower=False)


def _diagonal_index(rows: int, cols: int, offset: int) -> tuple[Any, Any]:
    start = max(0, -offset)
    i = np.arange(start, max(start, min(rows, cols - offset)))
    return i, i + offset


@_numpy_unless_traced(np.diagonal)
def diagonal(a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Any:
    """`numpy.diagonal`: the diagonal becomes the last axis.

    Only the diagonal receives a gradient:

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.grad(lambda a: np.diagonal(a) @ np.array([1.0, 2.0]))(np.zeros((2, 2)))
    array([[1., 0.],
           [0., 2.]])
    """
    a = asarray(a)
    if ndim_of(a) < 2:
        raise ValueError("diag requires an array of at least two dimensions")
    i, j = normalize_axis(axis1, ndim_of(a)), normalize_axis(axis2, ndim_of(a))
    if i == j:
        raise ValueError("axis1 and axis2 cannot be the same")
    a = moveaxis(a, (i, j), (-2, -1))
    rows, cols = _diagonal_index(shape_of(a)[-2], shape_of(a)[-1], offset)
    return getitem(a, (slice(None),) * (ndim_of(a) - 2) + (rows, cols))


@_numpy_unless_traced(np.diag)
def diag(v: Any, k: int = 0) -> Any:
    """`numpy.diag`: a vector's diagonal matrix, or a matrix's diagonal.

    From a vector, only the diagonal of the matrix reaches it:

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> w = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> cr.grad(lambda v: (np.diag(v) * w).sum())(np.zeros(2))
    array([1., 4.])
    """
    v = asarray(v)
    if ndim_of(v) == 2:
        return diagonal(v, k)
    if ndim_of(v) != 1:
        raise ValueError("Input must be 1- or 2-d.")
    n = shape_of(v)[0] + abs(k)
    return scatter_add(v, _diagonal_index(n, n, k), (n, n))


@_numpy_unless_traced(np.trace)
def trace(
    a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1, dtype: Any = None, out: Any = None
) -> Any:
    """`numpy.trace`: the sum of `diagonal`.

    The gradient of a trace is the identity:

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.grad(np.trace)(np.array([[1.0, 2.0], [3.0, 4.0]]))
    array([[1., 0.],
           [0., 1.]])
    """
    _no_out("trace", out)
    return cnp.sum(diagonal(a, offset, axis1, axis2), axis=-1, dtype=dtype)


@_numpy_unless_traced(np.rot90)
def rot90(m: Any, k: int = 1, axes: Any = (0, 1)) -> Any:
    """`numpy.rot90`: a flip and a transpose.

    The gradient is rotated back:

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.grad(lambda a: np.rot90(a)[0] @ np.array([1.0, 2.0]))(np.zeros((2, 2)))
    array([[0., 1.],
           [0., 2.]])
    """
    m = asarray(m)
    if len(axes) != 2:
        raise ValueError("len(axes) must be 2.")
    i, j = (normalize_axis(a, ndim_of(m)) for a in axes)
    if i == j:
        raise ValueError("Axes must be different.")
    k = int(k) % 4
    if k == 0:
        return m
    if k == 2:
        return flip(m, (i, j))
    order = list(range(ndim_of(m)))
    order[i], order[j] = j, i
    if k == 1:
        return _transpose(flip(m, j), tuple(order))
    return flip(_transpose(m, tuple(order)), j)


@_numpy_unless_traced(np.append)
def append(arr: Any, values: Any, axis: Any = None) -> Any:
    """`numpy.append`: `concatenate` (of the flattened arrays when `axis` is None).

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.grad(lambda x, y: np.append(x, y) @ np.arange(3.0), argnums=(0, 1))(np.zeros(2), np.zeros(1))
    (array([0., 1.]), array([2.]))
    """
    arr, values = asarray(arr), asarray(values)
    if axis is None:
        return concatenate([ravel(arr), ravel(values)])
    return concatenate([arr, values], axis)


def _ends(a: Any, end: Any, axis: int) -> Any:
    """`end` as an array to concatenate to `a` along `axis` (a scalar fills one slice)."""
    end = asarray(end)
    if ndim_of(end) == 0:
        shape = list(shape_of(a))
        shape[axis] = 1
        end = broadcast_to(end, tuple(shape))
    return end


_UNSET: Any = object()  # (NumPy's "not given": None is a value to prepend)


@_numpy_unless_traced(np.diff)
def diff(a: Any, n: int = 1, axis: int = -1, prepend: Any = _UNSET, append: Any = _UNSET) -> Any:
    """`numpy.diff`: ``a[1:] - a[:-1]`` along `axis`, `n` times; differentiable in `a`,
    `prepend` and `append`.

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.grad(lambda x: np.diff(x) @ np.array([1.0, 10.0]))(np.zeros(3))
    array([-1., -9., 10.])
    """
    if n == 0:
        return a  # as given, as NumPy does
    if n < 0:
        raise ValueError(f"order must be non-negative but got {n!r}")
    a = asarray(a)
    if ndim_of(a) == 0:
        raise ValueError("diff requires input that is at least one dimensional")
    axis = normalize_axis(axis, ndim_of(a))
    pieces = [a]
    if prepend is not _UNSET:
        pieces.insert(0, _ends(a, prepend, axis))
    if append is not _UNSET:
        pieces.append(_ends(a, append, axis))
    if len(pieces) > 1:
        a = concatenate(pieces, axis)
    # (booleans differ where they are not equal, as NumPy's diff has it: no subtraction)
    step = cnp.not_equal if dtype_of(a) == np.bool_ else cnp.subtract
    for _ in range(n):
        a = step(getitem(a, along(axis, slice(1, None))), getitem(a, along(axis, slice(None, -1))))
    return a


@_numpy_unless_traced(np.ediff1d)
def ediff1d(ary: Any, to_end: Any = None, to_begin: Any = None) -> Any:
    """`numpy.ediff1d`: the differences of the flattened array, with optional ends.

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.grad(lambda x: np.ediff1d(x, to_begin=x[0]).sum())(np.array([1.0, 4.0, 9.0]))
    array([0., 0., 1.])
    """
    ary = ravel(ary)
    pieces = [diff(ary)]
    if to_begin is not None:
        pieces.insert(0, _end_of(ary, to_begin, "to_begin"))
    if to_end is not None:
        pieces.append(_end_of(ary, to_end, "to_end"))
    return concatenate(pieces) if len(pieces) > 1 else pieces[0]


def _end_of(ary: Any, end: Any, name: str) -> Any:
    """`end` flattened in the dtype of `ary`, which it must fit as NumPy says (a complex end
    of a real `ary` would lose its imaginary part)."""
    end = asarray(end)
    if not np.can_cast(dtype_of(end), dtype_of(ary), casting="same_kind"):
        raise TypeError(
            f"dtype of `{name}` must be compatible with input `ary` under the `same_kind` rule."
        )
    return ravel(astype(end, dtype_of(ary)))


@_numpy_unless_traced(np.meshgrid)
def meshgrid(*xi: Any, copy: bool = True, sparse: bool = False, indexing: str = "xy") -> Any:
    """`numpy.meshgrid`: each input reshaped along its own axis, then broadcast.

    Every copy of an input entry adds to its gradient:

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.grad(lambda x: np.meshgrid(x, np.zeros(3))[0].sum())(np.zeros(2))
    array([3., 3.])
    """
    if indexing not in ("xy", "ij"):
        raise ValueError("Valid values for `indexing` are 'xy' and 'ij'.")
    grids = [ravel(x) for x in xi]
    ndim = len(grids)
    axes = list(range(ndim))
    if indexing == "xy" and ndim > 1:
        axes[0], axes[1] = 1, 0
    out = [
        _reshape(g, tuple(-1 if k == ax else 1 for k in range(ndim)))
        for g, ax in zip(grids, axes, strict=True)
    ]
    if not sparse:
        shape = np.broadcast_shapes(*(shape_of(o) for o in out))
        out = [broadcast_to(o, shape) for o in out]
    return tuple(_copy(o, order="C") for o in out) if copy else tuple(out)  # (else views)


def select(condlist: Sequence[Any], choicelist: Sequence[Any], default: Any = 0) -> Any:
    """`numpy.select`: the first choice whose condition holds, by `where` (differentiable in
    the choices and `default`, not in the conditions).

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> f = lambda x: np.select([x < 0, x < 1], [-x, x ** 2], default=1.0).sum()
    >>> cr.grad(f)(np.array([-2.0, 0.5, 3.0]))
    array([-1.,  1.,  0.])
    """
    conds = [primal(c) for c in condlist]  # (under `vmap`, batches of conditions)
    if not contains_tracer((tuple(conds), tuple(choicelist), default)):
        return np.select(conds, choicelist, default)
    if len(condlist) != len(choicelist):
        raise ValueError("list of cases must be same length as list of conditions")
    if not condlist:
        raise ValueError("select with an empty condition list is not possible")
    conds = [c if isinstance(c, Tracer) else np.asarray(c) for c in conds]
    if any(dtype_of(c).kind != "b" for c in conds):
        raise TypeError("invalid entry in condlist: should be boolean ndarray")
    # NumPy's result dtype: Python numbers are weak (they do not promote float32)
    dtype = np.result_type(
        *(c if type(c) in (int, float) else dtype_of(c) for c in (*choicelist, default))
    )
    out = astype(asarray(default), dtype)
    for cond, choice in zip(reversed(conds), reversed(list(choicelist)), strict=True):
        out = cnp.where(cond, astype(asarray(choice), dtype), out)
    shape = np.broadcast_shapes(*map(shape_of, (*conds, *choicelist)))
    return broadcast_to(out, np.broadcast_shapes(shape, shape_of(out)))


class _Concatenator:
    """NumPy's ``r_`` / ``c_`` index tricks, accepting traced values.

    Without traced values it is NumPy's own object. With them, arrays, numbers and slices
    (NumPy's ranges, ``1:3`` or ``0:1:5j``) are joined: along the first axis (``r_``), or
    with 1-d pieces as columns along the last axis (``c_``). NumPy's string directives
    (``'r'``, ``'0,2'``...) are refused on traced values: call `concatenate` instead.

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.grad(lambda x: np.r_[x, 0:2, x * x] @ np.arange(8.0))(np.ones(3))
    array([10., 13., 16.])
    >>> cr.grad(lambda x: np.c_[x, 2 * x].sum())(np.ones(3))
    array([3., 3., 3.])
    """

    __slots__ = ("columns", "numpy_obj")

    def __init__(self, numpy_obj: Any, columns: bool) -> None:
        self.numpy_obj, self.columns = numpy_obj, columns

    def __getitem__(self, key: Any) -> Any:
        items = key if isinstance(key, tuple) else (key,)
        if not contains_tracer(items):
            return self.numpy_obj[key]
        name = "c_" if self.columns else "r_"
        if any(isinstance(i, str) for i in items):
            raise TypeError(
                f"chainrule.numpy.{name}: string directives are not supported with traced "
                "values; call `np.concatenate` (with `np.reshape`) instead"
            )
        pieces = [np.r_[i] if isinstance(i, slice) else asarray(i) for i in items]
        if not self.columns:
            return concatenate([atleast_1d(p) for p in pieces], 0)
        return concatenate([_reshape(p, (-1, 1)) if ndim_of(p) < 2 else p for p in pieces], -1)


r_ = _Concatenator(np.r_, columns=False)
c_ = _Concatenator(np.c_, columns=True)


# ---------------------------------------------------------------------------------------------
# Arrays from (nested) lists of traced values.


def array(object: Any, dtype: Any = None, **kwargs: Any) -> Any:
    """`numpy.array`; a (nested) list holding traced values becomes a traced array (by stacking).

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> print(cr.grad(lambda x: np.array([[x, 2 * x], [x ** 2, 0.0]]).sum())(3.0))
    9.0
    """
    if isinstance(object, Tracer):  # (a traced Python number: the array NumPy makes)
        made = strong(object, dtype)
        return made if made is not object or dtype is None else astype(object, dtype)
    if contains_tracer(object):
        out = stack([array(o) for o in object])
        return out if dtype is None else astype(out, dtype)
    return np.array(object, dtype=dtype, **kwargs)


def asarray(a: Any, dtype: Any = None, **kwargs: Any) -> Any:
    """`numpy.asarray`; traced values pass through unchanged (they are already arrays).

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> print(cr.grad(lambda x: np.asarray([x, x ** 3]).sum())(2.0))
    13.0
    """
    if isinstance(a, Tracer):  # (a traced Python number: the array NumPy makes)
        made = strong(a, dtype)
        return made if made is not a or dtype is None else astype(a, dtype)
    if contains_tracer(a):
        return array(a, dtype)
    return np.asarray(a, dtype=dtype, **kwargs)


_np_full: Any = np.full  # (their typing overloads reject positional keywords)
_np_full_like: Any = np.full_like


def full(shape: Any, fill_value: Any, dtype: Any = None, order: str = "C", **kwargs: Any) -> Any:
    """`numpy.full`; differentiable in a traced `fill_value` (every entry is a copy of it).

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> print(cr.grad(lambda v: np.full((2, 3), v).sum())(1.5))
    6.0
    """
    if not contains_tracer(fill_value):
        return _np_full(shape, fill_value, dtype, order, **kwargs)
    fill = asarray(fill_value, dtype)  # (a number out of dtype's range raises, as NumPy's)
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    return broadcast_to(astype(fill, fill.dtype if dtype is None else dtype), shape)


def full_like(
    a: Any,
    fill_value: Any,
    dtype: Any = None,
    order: str = "K",
    subok: bool = True,
    shape: Any = None,
    **kwargs: Any,
) -> Any:
    """`numpy.full_like`; differentiable in a traced `fill_value` (not in `a`, whose values
    are not used).

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> print(cr.grad(lambda v: np.full_like(np.zeros(4), v).sum())(2.0))
    4.0
    """
    if not contains_tracer((a, fill_value)):
        return _np_full_like(a, fill_value, dtype, order, subok, shape, **kwargs)
    # (of a traced `a`, only one example's shape and the dtype count: not its batch)
    dtype = dtype_of(a) if dtype is None else dtype
    return full(shape_of(a) if shape is None else shape, fill_value, dtype)


__all__ = [
    "append", "array", "array_split", "asarray", "astype", "atleast_1d", "atleast_2d",
    "atleast_3d", "broadcast_to", "c_", "column_stack", "concat", "concatenate", "copy", "diag",
    "diagonal", "diff", "dsplit", "dstack", "ediff1d", "expand_dims", "flip", "fliplr",
    "flipud", "full", "full_like", "hsplit", "hstack", "meshgrid", "moveaxis", "pad",
    "permute_dims", "r_", "ravel", "repeat", "reshape", "roll", "rollaxis", "rot90", "select",
    "split", "squeeze", "stack", "swapaxes", "tile", "trace", "transpose", "tril", "triu",
    "unstack", "vsplit", "vstack",
]  # fmt: skip

# The public names whose rules are checked on complex values (tests/test_complex_families.py).
COMPLEX = (
    "append", "array", "array_split", "asarray", "astype", "atleast_1d", "atleast_2d",
    "atleast_3d", "broadcast_to", "c_", "column_stack", "concatenate", "copy", "diag",
    "diagonal", "diff", "dstack", "ediff1d", "expand_dims", "flip", "fliplr", "flipud", "full",
    "full_like", "hstack", "meshgrid", "moveaxis", "pad", "r_", "ravel", "repeat", "reshape",
    "roll", "rot90", "select", "split", "squeeze", "stack", "swapaxes", "tile", "trace",
    "transpose", "tril", "triu", "vstack",
)  # fmt: skip
