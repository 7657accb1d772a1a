"""Indexing: ``x[index]`` and its transpose, scattering a cotangent back with addition.

`getitem` and `scatter_add` are each other's adjoints, so each one's reverse rule is the
other. Integer, slice, ``None``, ``...``, integer-array and boolean-mask indices are
supported; repeated integer indices accumulate, as the chain rule requires.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule import numpy as cnp
from chainrule.core.primitive import primitive

from .common import deflinear, ndim_of, shape_of

_BASIC = (int, np.integer, slice, type(None), type(Ellipsis))


def normalize_index(index: Any, ndim: int) -> tuple[Any, ...]:
    """`index` as a tuple with ``...`` spelt out as full slices (so trailing axes are free)."""
    index = index if isinstance(index, tuple) else (index,)
    index = tuple(np.asarray(i) if isinstance(i, list) else i for i in index)
    if any(i is Ellipsis for i in index):
        used = sum(
            np.ndim(i) if getattr(i, "dtype", None) == bool else (i is not None)
            for i in index if i is not Ellipsis
        )
        at = next(k for k, i in enumerate(index) if i is Ellipsis)
        index = index[:at] + (slice(None),) * (ndim - used) + index[at + 1:]
    return index


def is_basic(index: tuple[Any, ...]) -> bool:
    return all(isinstance(i, _BASIC) for i in index)


def _batched(fn: Any, t: Any, nb: int) -> Any:
    """Apply ``fn`` to the non-batch axes of `t`: batch axes move to the end and back."""
    if nb == 0:
        return fn(t)
    n = ndim_of(t)
    out = fn(cnp.transpose(t, tuple(range(nb, n)) + tuple(range(nb))))
    m = ndim_of(out)
    return cnp.transpose(out, tuple(range(m - nb, m)) + tuple(range(m - nb)))


def _getitem_impl(x: Any, index: tuple[Any, ...]) -> Any:
    return x[index]


def _scatter_add_impl(g: Any, index: tuple[Any, ...], shape: tuple[int, ...]) -> Any:
    out = np.zeros(shape, np.result_type(g))
    if is_basic(index):
        out[index] += g
    else:
        np.add.at(out, index, g)
    return out


getitem = primitive(_getitem_impl, "getitem")
scatter_add = primitive(_scatter_add_impl, "scatter_add")
scatter_add.__doc__ = "Zeros of `shape` with `g` added at `index` (repeated indices accumulate)."

deflinear(
    getitem,
    lambda g, ans, x, index: scatter_add(g, index, shape_of(x)),
    lambda t, nb, ans, x, index: _batched(lambda v: getitem(v, index), t, nb),
)
deflinear(
    scatter_add,
    lambda g, ans, y, index, shape: getitem(g, index),
    lambda t, nb, ans, y, index, shape: _batched(
        lambda v: scatter_add(v, index, shape + shape_of(t)[:nb]), t, nb
    ),
)


def index(x: Any, key: Any) -> Any:
    """``x[key]`` on a traced `x` (with ``...`` spelt out, so batch axes can trail)."""
    return getitem(x, normalize_index(key, ndim_of(x)))


__all__: list[str] = []
