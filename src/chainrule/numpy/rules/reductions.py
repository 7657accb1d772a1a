"""Reductions: sums, means, products, extrema, moments, cumulative sums and products.

A reduction's cotangent is spread back over the reduced axes (`expand`); its tangent is the
same reduction applied to the tangent, with axes shifted past any batch axes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule import numpy as cnp
from chainrule.core.primitive import primitive

from .common import batch_ndim, deflinear, normalize_axes, shape_of


def expand(g: Any, x: Any, axis: Any, keepdims: bool) -> Any:
    """Broadcast a reduced cotangent back to the shape of the reduced input `x`."""
    shape = shape_of(x)
    if not keepdims:
        axes = normalize_axes(axis, len(shape))
        kept = tuple(1 if i in axes else n for i, n in enumerate(shape))
        g = cnp.reshape(g, kept)
    return cnp.broadcast_to(g, shape)


def shifted(axis: Any, ndim: int, nb: int) -> tuple[int, ...]:
    """Axes of a reduction over `ndim` dimensions, moved past `nb` leading batch axes."""
    return tuple(a + nb for a in normalize_axes(axis, ndim))


def _sum_impl(a: Any, axis: Any = None, dtype: Any = None, keepdims: bool = False) -> Any:
    return np.sum(a, axis=axis, dtype=dtype, keepdims=keepdims)


sum = primitive(_sum_impl, "sum")
sum.__doc__ = np.sum.__doc__

deflinear(
    sum,
    lambda g, ans, x, axis=None, dtype=None, keepdims=False: expand(g, x, axis, keepdims),
    lambda t, nb, ans, x, axis=None, dtype=None, keepdims=False: sum(
        t, axis=shifted(axis, x.ndim, nb), dtype=dtype, keepdims=keepdims
    ),
)

__all__ = ["sum"]
