"""Evenly spaced values with traced ends: ``linspace``, ``logspace``, ``geomspace``.

On plain values each is NumPy's own function. With a traced `start`, `stop` (or `base`) it is
NumPy's own arithmetic written with chainrule's differentiable functions, so the values are
NumPy's and the derivatives are those of ``start + i * (stop - start) / div`` (and of its
power), to any order. The ends that NumPy sets exactly (the last point of ``linspace`` with
`endpoint`, both ends of ``geomspace``) have derivative 1 with respect to that end. An
integer `dtype` has no derivative and raises a TypeError on traced values. Complex ends are
NumPy's too; ``geomspace`` rotates them by the sign ``z/|z|`` of `start`'s value, a constant:
the rotated sequence, rotated back, is the same function near `start`, and holomorphic.

>>> import chainrule as cr
>>> import chainrule.numpy as np
>>> cr.jacfwd(lambda b: np.linspace(0.0, b, 3))(2.0)
array([0. , 0.5, 1. ])
>>> print(cr.grad(lambda b: np.logspace(0.0, 1.0, 2, base=b)[1])(3.0))
1.0
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from chainrule import numpy as cnp
from chainrule.core.trace import Tracer, primal

from .common import check, ndim_of, shape_of
from .indexing import contains_tracer

_np_linspace: Any = np.linspace  # (its typing overloads reject a non-literal `retstep`)


def _plain(*args: Any) -> bool:
    return not any(contains_tracer(a) for a in args)


def _check(name: str, dtype: Any) -> None:
    if dtype is not None and np.issubdtype(dtype, np.integer):
        raise TypeError(
            f"chainrule.numpy.{name}: an integer `dtype` is not differentiable; leave it out "
            "and round the result with a non-differentiable function if needed."
        )


def _with_ends(y: Any, first: Any, last: Any) -> Any:
    """`y` (samples along axis 0) with its first and/or last sample replaced (None: kept)."""
    n, rest = shape_of(y)[0], shape_of(y)[1:]

    def sample(e: Any) -> Any:
        return cnp.reshape(cnp.broadcast_to(e, rest), (1, *rest))

    parts = [y[int(first is not None) : n - int(last is not None)]]
    if first is not None:
        parts.insert(0, sample(first))
    if last is not None:
        parts.append(sample(last))
    return cnp.concatenate(parts)


def _arrays(*values: Any) -> list[Any]:
    """Sequences as arrays (traced ones included); scalars and arrays as given."""
    return [cnp.asarray(v) if isinstance(v, (list, tuple)) else v for v in values]


def linspace(
    start: Any,
    stop: Any,
    num: int = 50,
    endpoint: bool = True,
    retstep: bool = False,
    dtype: Any = None,
    axis: int = 0,
    *,
    device: Any = None,
) -> Any:
    """`numpy.linspace`, differentiable in `start` and `stop`."""
    if _plain(start, stop):
        return _np_linspace(start, stop, num, endpoint, retstep, dtype, axis, device=device)
    _check("linspace", dtype)
    num = operator.index(num)
    if num < 0:
        raise ValueError(f"Number of samples, {num}, must be non-negative.")
    div = (num - 1) if endpoint else num
    start, stop = _arrays(start, stop)
    dt = np.result_type(*(primal(v) for v in (start, stop)), 0.0)
    start, stop = cnp.asarray(start, dt), cnp.asarray(stop, dt)
    delta = stop - start
    y: Any = np.arange(0, num, dtype=dt).reshape((-1,) + (1,) * ndim_of(delta))
    if div > 0:
        step = delta / div
        zero = np.any(primal(step) == 0)  # (NumPy's test; under vmap, one per example)
        if isinstance(zero, Tracer):
            y = cnp.where(zero, (y / div) * delta, y * step)
        else:
            y = (y / div) * delta if zero else y * step
    else:
        step = np.nan
        y = y * delta
    y = y + start
    if endpoint and num > 1:
        y = _with_ends(y, None, stop)
    if axis != 0:
        y = cnp.moveaxis(y, 0, axis)
    if dtype is not None:
        y = cnp.astype(y, dtype)
    return (y, step) if retstep else y


def logspace(
    start: Any,
    stop: Any,
    num: int = 50,
    endpoint: bool = True,
    base: Any = 10.0,
    dtype: Any = None,
    axis: int = 0,
) -> Any:
    """`numpy.logspace`, differentiable in `start`, `stop` and `base`."""
    if _plain(start, stop, base):
        return np.logspace(start, stop, num, endpoint, base, dtype, axis)
    _check("logspace", dtype)
    if not isinstance(base, (float, int)) and ndim_of(base):
        values = [cnp.asarray(a) for a in _arrays(start, stop, base)]
        ndmax = max(map(ndim_of, values))
        start, stop, base = (
            cnp.reshape(v, (1,) * (ndmax - ndim_of(v)) + shape_of(v)) for v in values
        )
        base = cnp.expand_dims(base, axis)
    y = cnp.power(base, linspace(start, stop, num=num, endpoint=endpoint, axis=axis))
    return y if dtype is None else cnp.astype(y, dtype)


@check
def _no_zero_end(start: np.ndarray, stop: np.ndarray) -> None:
    """NumPy's refusal of a zero end (every example's, every call's)."""
    if np.any(start == 0) or np.any(stop == 0):
        raise ValueError("Geometric sequence cannot include zero")


def geomspace(
    start: Any, stop: Any, num: int = 50, endpoint: bool = True, dtype: Any = None, axis: int = 0
) -> Any:
    """`numpy.geomspace`, differentiable in `start` and `stop` (real or complex)."""
    if _plain(start, stop):
        return np.geomspace(start, stop, num, endpoint, dtype, axis)
    _check("geomspace", dtype)
    start, stop = (cnp.asarray(v) for v in _arrays(start, stop))
    p_start, p_stop = primal(start), primal(stop)  # (under vmap, batches)
    _no_zero_end(p_start, p_stop)
    dt = np.result_type(p_start, p_stop, float(num), np.zeros((), dtype))
    sign = np.sign(p_start.astype(dt))  # log of positive values; the sign is put back after
    start, stop = cnp.asarray(start, dt) / sign, cnp.asarray(stop, dt) / sign
    y = logspace(cnp.log10(start), cnp.log10(stop), num=num, endpoint=endpoint, dtype=dt)
    if num > 0:  # NumPy sets the ends exactly
        y = _with_ends(y, start, stop if num > 1 and endpoint else None)
    y = y * sign
    if axis != 0:
        y = cnp.moveaxis(y, 0, axis)
    return y if dtype is None else cnp.astype(y, dtype)


__all__ = ["geomspace", "linspace", "logspace"]

# The public names whose rules are checked on complex values (tests/test_complex_families.py).
COMPLEX = ("geomspace", "linspace", "logspace")
