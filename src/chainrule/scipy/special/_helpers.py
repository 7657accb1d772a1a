"""Pieces shared by the families of `chainrule.scipy.special`: dtypes, refusals, series,
docstrings.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from chainrule import numpy as cnp
from chainrule.core.trace import Tracer, primal


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


def constant(x: Any) -> Any:
    """The value of `x` with its derivatives dropped, for masks: a plain array, or under
    `vmap` a batched value (one example's mask per example), so masks stay per example."""
    v = primal(x)
    return v if isinstance(v, Tracer) else np.asarray(v)


def anywhere(mask: Any) -> bool:
    """Whether `mask` (from `constant`) holds somewhere; a batched mask may, so the general
    branch is taken (a shortcut must never depend on another example's values)."""
    return isinstance(mask, Tracer) or bool(np.any(mask))


def everywhere(mask: Any) -> bool:
    """Whether `mask` (from `constant`) holds everywhere; never assumed for a batched mask."""
    return not isinstance(mask, Tracer) and bool(np.all(mask))


def differentiated(x: Any) -> bool:
    """Whether `x` carries a derivative: a value that is only batched (under `vmap`) is data,
    and the checks and restrictions of derivatives do not apply to it."""
    return isinstance(x, Tracer) and primal(x) is not x


def near_zero(u: Any, coefficients: tuple[float, ...], exact: Callable[[Any], Any]) -> Any:
    """``exact(u)``, or for ``|u| < 0.1`` the Taylor series with `coefficients` (of u⁰, u¹...).

    For functions with a removable singularity (``0/0``) at ``u = 0``: the series is exact
    there to all orders it has terms for, and its truncation error is below an ulp for
    ``|u| < 0.1``, where `exact` would lose digits to cancellation. `exact` never sees a
    small `u`, so no NaN leaks into higher derivatives.
    """
    small = np.abs(constant(u)) < 0.1
    if not anywhere(small):
        return exact(u)
    series = 0.0
    near = cnp.where(small, u, 0.0)
    for c in reversed(coefficients):
        series = series * near + c
    if everywhere(small):
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


class Jet:
    """A truncated Taylor polynomial in a few variables: ``c[(i, j)]`` is the coefficient of
    ``δa^i δb^j``, kept for ``i <= orders[0]``, ``j <= orders[1]``.

    The derivatives of the incomplete gamma and beta functions in their parameters come from
    running their series and continued fractions on jets: forward-mode differentiation of
    a convergent iteration, to any order and in several parameters at once. Coefficients
    are plain arrays or chainrule values (then the result is differentiable again); the
    jet itself needs only ``+``, ``-`` and ``*`` of them, and `compose` takes the
    derivatives of an outer function from the caller.
    """

    __slots__ = ("c", "orders")
    __array_ufunc__ = None  # ``array * jet`` is the jet's product, not an array of jets

    def __init__(self, c: dict[tuple[int, ...], Any], orders: tuple[int, ...]) -> None:
        self.c, self.orders = c, orders

    @classmethod
    def variable(cls, value: Any, k: int, orders: tuple[int, ...]) -> Jet:
        """``value + δ_k``: the `k`-th of the variables, at `value`."""
        zero = (0,) * len(orders)
        unit = tuple(int(i == k) for i in range(len(orders)))
        return cls({zero: value, unit: 1.0} if orders[k] else {zero: value}, orders)

    @property
    def value(self) -> Any:
        return self.c[(0,) * len(self.orders)]

    def derivative(self, index: tuple[int, ...]) -> Any:
        """``∂^(i+j...)`` of the function the jet expands: the coefficient times ``i! j!...``."""
        return self.c.get(index, 0.0) * math.prod(math.factorial(i) for i in index)

    def _fits(self, index: tuple[int, ...]) -> bool:
        return all(i <= n for i, n in zip(index, self.orders, strict=True))

    def __add__(self, other: Any) -> Jet:
        c = dict(self.c)
        if isinstance(other, Jet):
            for k, v in other.c.items():
                c[k] = c[k] + v if k in c else v
        else:
            zero = (0,) * len(self.orders)
            c[zero] = c[zero] + other
        return Jet(c, self.orders)

    __radd__ = __add__

    def __neg__(self) -> Jet:
        return Jet({k: -v for k, v in self.c.items()}, self.orders)

    def __sub__(self, other: Any) -> Jet:
        return self + (-other)

    def __rsub__(self, other: Any) -> Jet:
        return (-self) + other

    def __mul__(self, other: Any) -> Jet:
        if not isinstance(other, Jet):
            return Jet({k: v * other for k, v in self.c.items()}, self.orders)
        c: dict[tuple[int, ...], Any] = {}
        for i, u in self.c.items():
            for j, v in other.c.items():
                k = tuple(p + q for p, q in zip(i, j, strict=True))
                if self._fits(k):
                    c[k] = c[k] + u * v if k in c else u * v
        return Jet(c, self.orders)

    __rmul__ = __mul__

    def compose(self, derivatives: list[Any]) -> Jet:
        """``f(self)`` from ``derivatives[m] = f⁽ᵐ⁾(self.value)``, ``m = 0 ... sum(orders)``:
        ``Σ f⁽ᵐ⁾ Nᵐ / m!`` with ``N = self - value``, nilpotent, so the sum is finite."""
        zero = (0,) * len(self.orders)
        nil = Jet({k: v for k, v in self.c.items() if k != zero}, self.orders)
        out = Jet({zero: derivatives[0]}, self.orders)
        power = Jet({zero: 1.0}, self.orders)
        for m in range(1, sum(self.orders) + 1):
            power = power * nil
            out = out + power * (derivatives[m] / math.factorial(m))
        return out

    def exp(self, exp: Callable[[Any], Any]) -> Jet:
        e = exp(self.value)
        return self.compose([e] * (sum(self.orders) + 1))

    def reciprocal(self) -> Jet:
        r = 1.0 / self.value
        derivatives, d = [], r
        for m in range(sum(self.orders) + 1):
            derivatives.append(d)
            d = d * (-(m + 1) * r)
        return self.compose(derivatives)

    def log(self, log: Callable[[Any], Any]) -> Jet:
        """``log(self)``: derivatives ``(-1)^(m-1) (m-1)! / v^m``."""
        r = 1.0 / self.value
        derivatives, d = [log(self.value)], r
        for m in range(1, sum(self.orders) + 1):
            derivatives.append(d)
            d = d * (-m * r)
        return self.compose(derivatives)

    def __truediv__(self, other: Any) -> Jet:
        return self * (other.reciprocal() if isinstance(other, Jet) else 1.0 / other)
