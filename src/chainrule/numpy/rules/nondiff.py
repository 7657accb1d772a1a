"""Functions whose value does not vary smoothly with their inputs: derivative zero.

They take traced values and return plain arrays (comparisons, rounding, ``sign``, index
functions), so code such as ``if x[0] > 0:`` or ``x[np.argmax(x)]`` works inside a
transform and differentiates the branch or element it picks.
"""

from __future__ import annotations

import numpy as np

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
    "sign",
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
    "full_like",
    "allclose",
    "isclose",
    "array_equal",
    "array_equiv",
    "all",
    "any",
    "searchsorted",
    "digitize",
    "histogram",
    "bincount",
    "unique",
    "isreal",
    "iscomplex",
    "result_type",
    "can_cast",
    "iscomplexobj",
    "isrealobj",
]

globals().update({name: nondiff(getattr(np, name)) for name in _NAMES})

__all__ = _NAMES
