"""Pieces shared by the families of `chainrule.scipy.special`: dtypes, refusals, series,
docstrings.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from chainrule import numpy as cnp
from chainrule.core.trace import primal


def in_dtype_of_x(fun: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """``fun(n, x)`` of an integer order `n`, cast back to the dtype of a float32 `x`.

    SciPy computes ``polygamma``, ``yn`` and ``expn`` of an integer `n` in float64.
    """

    def impl(n: Any, x: Any) -> Any:
        out = fun(n, x)
        dtype = getattr(x, "dtype", None)
        if dtype is not None and dtype.kind == "f" and dtype.itemsize < out.dtype.itemsize:
            return out.astype(dtype)
        return out

    return impl


def no_rule(name: str, arg: str, why: str) -> Callable[..., Any]:
    """A rule that refuses to differentiate `name` in `arg`, saying why and what to do."""

    def rule(*args: Any, **params: Any) -> Any:
        raise TypeError(
            f"chainrule: scipy.special.{name} is not differentiable with respect to `{arg}` "
            f"({why}). Pass `{arg}` as a constant, or wrap it in `chainrule.stop_gradient`."
        )

    return rule


def integer_order(name: str, arg: str = "n") -> Callable[..., Any]:
    return no_rule(name, arg, "an integer order")


def no_closed_form(name: str, arg: str) -> Callable[..., Any]:
    return no_rule(name, arg, "its derivative there has no closed form implemented")


def near_zero(u: Any, coefficients: tuple[float, ...], exact: Callable[[Any], Any]) -> Any:
    """``exact(u)``, or for ``|u| < 0.1`` the Taylor series with `coefficients` (of u⁰, u¹...).

    For functions with a removable singularity (``0/0``) at ``u = 0``: the series is exact
    there to all orders it has terms for, and its truncation error is below an ulp for
    ``|u| < 0.1``, where `exact` would lose digits to cancellation. `exact` never sees a
    small `u`, so no NaN leaks into higher derivatives.
    """
    small = np.abs(np.asarray(primal(u))) < 0.1
    if not np.any(small):
        return exact(u)
    series = 0.0
    near = cnp.where(small, u, 0.0)
    for c in reversed(coefficients):
        series = series * near + c
    if np.all(small):
        return series
    return cnp.where(small, series, exact(cnp.where(small, 1.0, u)))


def document(table: list[tuple[Any, str, str, str]]) -> dict[str, str]:
    """Give each function of `table` a docstring with a runnable example of its derivative.

    Rows are ``(function, summary, example, result)``. Returns the docstrings by name, for a
    module's ``__test__``, through which doctest (tests/test_docs.py) runs them.
    """
    docs = {}
    for fun, summary, example, result in table:
        doc = (
            f"{summary}\n\n>>> import chainrule as cr\n>>> import numpy as np\n"
            f">>> from chainrule.scipy import special\n>>> {example}\n{result}\n"
        )
        fun.__doc__ = doc
        docs[str(getattr(fun, "name", None) or fun.__name__)] = doc
    return docs
