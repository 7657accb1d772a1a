"""Functions whose value does not vary smoothly with their inputs: derivative zero.

They take traced values and return plain arrays (comparisons, rounding, ``sign``, index
functions), so code such as ``if x[0] > 0:`` or ``x[np.argmax(x)]`` works inside a
transform and differentiates the branch or element it picks.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.core.trace import Tracer, primal

from .common import nondiff

_NAMES = [
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
    "argmax",
    "argmin",
    "argsort",
    "argwhere",
    "nonzero",
    "flatnonzero",
    "count_nonzero",
    "shape",
    "ndim",
    "size",
    "zeros_like",
    "ones_like",
    "empty_like",
    "allclose",
    "isclose",
    "array_equal",
    "array_equiv",
    "all",
    "any",
    "searchsorted",
    "digitize",
    "isreal",
    "iscomplex",
    "result_type",
    "can_cast",
    "iscomplexobj",
    "isrealobj",
]

globals().update({name: nondiff(getattr(np, name)) for name in _NAMES})


def histogram(a: Any, bins: Any = 10, range: Any = None, density: Any = None,
              weights: Any = None) -> Any:  # fmt: skip
    """`numpy.histogram`: counts are piecewise constant in `a` (derivative 0), but traced
    `weights`, and bin edges computed from a traced `a`, vary smoothly: both are refused
    rather than given a derivative of 0.
    """
    edges_from_a = range is None and np.ndim(primal(bins)) == 0
    if isinstance(weights, Tracer) or (isinstance(a, Tracer) and edges_from_a):
        what = "weights" if isinstance(weights, Tracer) else "bin edges, computed from `a`,"
        raise TypeError(
            f"chainrule.numpy.histogram: the {what} would silently drop their derivative "
            "(there is no rule for it). Pass explicit `bins` edges (or `range`) and "
            "constant weights, or compute weighted bin sums with `np.bincount(np.digitize("
            "a, edges), weights=w)`, which is differentiable in `w`."
        )
    return np.histogram(primal(a), primal(bins), range, density, primal(weights))


__all__ = [*_NAMES, "histogram"]
