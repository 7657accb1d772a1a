"""Shape functions: they move entries around without changing them, so every rule is linear.

The reverse rule is the inverse rearrangement; the forward rule applies the same
rearrangement to the tangent, leaving its leading batch axes alone.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule import numpy as cnp
from chainrule.core.primitive import primitive
from chainrule.core.trace import Tracer

from .common import deflinear, shape_of, unbroadcast


def _reshape_impl(a: Any, shape: Any) -> Any:
    return np.reshape(a, shape)


_reshape = primitive(_reshape_impl, "reshape")


def reshape(a: Any, shape: Any = None, order: str = "C", **kwargs: Any) -> Any:
    """`numpy.reshape` (C order)."""
    shape = kwargs.pop("newshape", shape)
    if kwargs or order != "C":
        raise TypeError("chainrule.numpy.reshape supports only `shape` and order='C'")
    return _reshape(a, shape)


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
        cnp.reshape(t, shape_of(t)[:nb] + (1,) * (len(shape_of(ans)) - len(shape_of(x)))
                    + shape_of(x)),
        shape_of(t)[:nb] + shape_of(ans),
    ),
)


def _transpose_impl(a: Any, axes: Any = None) -> Any:
    return np.transpose(a, axes)


_transpose = primitive(_transpose_impl, "transpose")


def transpose(a: Any, axes: Any = None) -> Any:
    """`numpy.transpose`."""
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


astype = primitive(_astype_impl, "astype")
deflinear(
    astype,
    lambda g, ans, x, dtype: astype(g, x.dtype),
    lambda t, nb, ans, x, dtype: astype(t, dtype),
)


def _contains_tracer(obj: Any) -> bool:
    if isinstance(obj, (list, tuple)):
        return any(_contains_tracer(o) for o in obj)
    return isinstance(obj, Tracer)


def array(object: Any, dtype: Any = None, **kwargs: Any) -> Any:
    """`numpy.array`; a (nested) list holding traced values becomes a traced array (by stacking)."""
    if isinstance(object, Tracer):
        return object if dtype is None else astype(object, dtype)
    if _contains_tracer(object):
        if not isinstance(object, (list, tuple)):
            return object
        out = cnp.stack([array(o) for o in object])
        return out if dtype is None else astype(out, dtype)
    return np.array(object, dtype=dtype, **kwargs)


def asarray(a: Any, dtype: Any = None, **kwargs: Any) -> Any:
    """`numpy.asarray`; traced values pass through unchanged (they are already arrays)."""
    if isinstance(a, Tracer) or _contains_tracer(a):
        return array(a, dtype)
    return np.asarray(a, dtype=dtype, **kwargs)


__all__ = ["array", "asarray", "astype", "broadcast_to", "reshape", "transpose"]
