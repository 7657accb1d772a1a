"""Checking what users pass, in one place: one function per kind of value, one wording each.

Every checker takes ``(value, name, where)``: the value, the argument's name, and the
function the user called (the start of the message), and returns the value in the form the
caller computes with. Bad types are a TypeError, bad values a ValueError, and each message
says what was expected and what came.

>>> count(3, "n_samples", "make_moons")
3
>>> try:
...     number(-1.0, "noise", "make_moons", minimum=0.0)
... except ValueError as error:
...     print(error)
make_moons: noise must be a finite number >= 0, got -1.0.
"""

from __future__ import annotations

import math
import numbers
import operator
from collections.abc import Sequence
from typing import Any, Literal

import numpy

from .core.trace import Tracer, is_float
from .numpy.rules.common import check

__all__ = [
    "count", "finite", "flag", "float_array", "float_dtype", "matrix", "number", "one_of",
]  # fmt: skip


def count(
    value: Any,
    name: str,
    where: str,
    *,
    minimum: int = 1,
    maximum: int | None = None,
    why: str = "",
) -> int:
    """`value` as an int of at least `minimum` (and at most `maximum`; `why` says why).

    Whatever Python takes as an index counts (NumPy integers and 0-d integer arrays too);
    bools, floats and strings do not.

    >>> count(numpy.array(0), "n", "f", minimum=0)
    0
    """
    if isinstance(value, (bool, numpy.bool_)):
        raise TypeError(f"{where}: {name} must be an int, got {value!r}.")
    if isinstance(value, Tracer):
        raise traced_setting(value, name, where)
    try:
        value = operator.index(value)
    except TypeError:
        raise TypeError(f"{where}: {name} must be an int, got {value!r}.") from None
    if maximum is not None and not minimum <= value <= maximum:
        because = f" ({why})" if why else ""
        raise ValueError(
            f"{where}: {name} must be between {minimum} and {maximum}{because}, got {value}."
        )
    if value < minimum:
        raise ValueError(f"{where}: {name} must be at least {minimum}, got {value}.")
    return value


def number(
    value: Any,
    name: str,
    where: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    exclusive: bool | Literal["minimum", "maximum"] = False,
) -> float:
    """`value` as a finite float within ``[minimum, maximum]``.

    `exclusive` opens both ends, or the one it names. A 0-d real array counts as a number.

    >>> number(0.5, "rate", "f", minimum=0.0, maximum=1.0, exclusive="maximum")
    0.5
    """
    real = isinstance(value, numbers.Real) or (
        isinstance(value, numpy.ndarray) and value.shape == () and value.dtype.kind in "iuf"
    )
    if isinstance(value, Tracer):
        raise traced_setting(value, name, where)
    if isinstance(value, bool) or not real:
        raise TypeError(f"{where}: {name} must be a real number, got {value!r}.")
    x = float(value)
    open_low, open_high = exclusive in (True, "minimum"), exclusive in (True, "maximum")
    low_ok = minimum is None or (x > minimum if open_low else x >= minimum)
    high_ok = maximum is None or (x < maximum if open_high else x <= maximum)
    if not (math.isfinite(x) and low_ok and high_ok):
        within = _range(minimum, maximum, open_low, open_high)
        raise ValueError(f"{where}: {name} must be a finite number{within}, got {value!r}.")
    return x


def traced_setting(value: Tracer, name: str, where: str) -> TypeError:
    """The refusal of a setting (a rate, a count) that arrived as a traced value."""
    return TypeError(
        f"{where}: {name} is a setting, read as a Python number, and here it is a traced "
        f"value ({value!r}). Under jit, pass it as a static argument (static_argnums or "
        "static_argnames) or close over it; a setting cannot be differentiated, nor differ "
        "between the examples of a vmap."
    )


def _range(minimum: float | None, maximum: float | None, open_low: bool, open_high: bool) -> str:
    if minimum is not None and maximum is not None:
        left, right = "(" if open_low else "[", ")" if open_high else "]"
        return f" in {left}{minimum:g}, {maximum:g}{right}"
    if minimum is not None:
        return f" {'>' if open_low else '>='} {minimum:g}"
    if maximum is not None:
        return f" {'<' if open_high else '<='} {maximum:g}"
    return ""


def flag(value: Any, name: str, where: str) -> bool:
    """`value` checked to be True or False (NumPy's bools too).

    >>> flag(numpy.True_, "shuffle", "f")
    True
    """
    if not isinstance(value, (bool, numpy.bool_)):
        raise TypeError(f"{where}: {name} must be True or False, got {value!r}.")
    return bool(value)


def one_of(value: Any, name: str, where: str, options: Sequence[Any]) -> Any:
    """`value` checked to be one of `options` (compared only with values of their type).

    >>> one_of("sum", "reduction", "mse", ("mean", "sum", "none"))
    'sum'
    """
    if not any(type(value) is type(option) and value == option for option in options):
        listed = ", ".join(repr(option) for option in options)
        raise ValueError(f"{where}: {name} must be one of {listed}; got {value!r}.")
    return value


def float_array(value: Any, name: str, where: str) -> Any:
    """`value` as a real floating-point array: plain integers and bools become float64.

    Traced values pass unchanged (traced integers become float64 too), and so does a list
    holding some (stacked into one traced array); bfloat16 (ml_dtypes) counts as floating
    point, and an array of Python numbers (dtype object) is converted as NumPy converts it.

    >>> float_array([1, 2], "x", "f")
    array([1., 2.])
    """
    if isinstance(value, (list, tuple)):
        from chainrule.numpy import asarray  # stacks traced entries; the wings load it anyway

        value = asarray(value)
    if isinstance(value, Tracer):
        x: Any = value  # integers traced by jit or vmap are data, converted as plain ones
        if numpy.dtype(x.dtype).kind in "biu":
            return x.astype(numpy.float64)
    elif type(value).__module__.startswith("scipy.sparse"):
        raise TypeError(
            f"{where}: {name} is a scipy sparse matrix, and sparse input is not supported; "
            f"pass {name}.toarray()."
        )
    else:
        x = numpy.asarray(value)
        if x.dtype.kind in "biu":
            return x.astype(numpy.float64)
        if x.dtype.kind == "O":
            try:
                return x.astype(numpy.float64)
            except (TypeError, ValueError) as error:
                raise TypeError(f"{where}: {name} must hold real numbers ({error}).") from None
    if not is_float(numpy.dtype(x.dtype)):
        raise TypeError(
            f"{where}: {name} must hold real floating-point numbers, got dtype {x.dtype}."
        )
    return x


def matrix(value: Any, name: str, where: str, *, stacks: bool = False) -> Any:
    """`value` as a finite float matrix, rows of samples (or a stack ``(..., m, n)``).

    The messages use scikit-learn's words, which its users search for.

    >>> try:
    ...     matrix([1.0, 2.0], "X", "fit")
    ... except ValueError as error:
    ...     print(error)  # doctest: +NORMALIZE_WHITESPACE
    fit: X must be a 2-D array, got shape (2,). Reshape your data: X.reshape(-1, 1) if it
    has a single feature (column), X.reshape(1, -1) if it is a single sample (row).
    """
    x = float_array(value, name, where)
    shape = tuple(x.shape)
    if x.ndim != 2 and not (stacks and x.ndim > 2):
        want = "a 2-D array" + (" or a stack of matrices (..., m, n)" if stacks else "")
        raise ValueError(
            f"{where}: {name} must be {want}, got shape {shape}. Reshape your data: "
            f"{name}.reshape(-1, 1) if it has a single feature (column), "
            f"{name}.reshape(1, -1) if it is a single sample (row)."
        )
    if 0 in shape[-2:]:
        what = "sample" if shape[-2] == 0 else "feature"
        raise ValueError(
            f"{where}: {name} has 0 {what}(s) (shape={shape}) while a minimum of 1 is required."
        )
    return finite(x, name, where)


def finite(value: Any, name: str, where: str) -> Any:
    """`value` checked to hold no NaN or infinity (traced values by their current value).

    >>> try:
    ...     finite(numpy.array([1.0, numpy.nan]), "X", "fit")
    ... except ValueError as error:
    ...     print(error)
    fit: X contains NaN or infinity (first at index (1,)); remove or impute those entries first.
    """
    _all_finite(value, name, where)
    return value


@check
def _all_finite(value: Any, name: str, where: str) -> None:
    """(every example's values under `vmap`: NaN or infinity in any one refuses; under
    `jit`, every call's)"""
    ok = numpy.isfinite(numpy.asarray(value).astype(numpy.float64, copy=False))
    if not ok.all():
        first = tuple(numpy.argwhere(~ok)[0].tolist()) if ok.ndim else ()
        raise ValueError(
            f"{where}: {name} contains NaN or infinity (first at index {first}); "
            "remove or impute those entries first."
        )


def float_dtype(dtype: Any, name: str, where: str) -> numpy.dtype[Any]:
    """`dtype` as a NumPy dtype, checked to be a real floating-point one (bfloat16 too).

    >>> float_dtype("float32", "dtype", "f")
    dtype('float32')
    """
    try:
        out = numpy.dtype(dtype)
    except TypeError:
        raise TypeError(f"{where}: {name} must be a NumPy dtype, got {dtype!r}.") from None
    if not is_float(out):
        raise TypeError(f"{where}: {name} must be a floating-point dtype, got {out}.")
    return out
