"""Elementwise functions and their derivatives.

Each rule reads ``g * ∂f/∂x``: the incoming (co)tangent times the partial derivative (see
`defelementwise`). Constants are Python floats so that float32 stays float32.

Subgradient conventions (where the function has a kink):
- ``abs`` and ``sign``: derivative 0 at 0 (as PyTorch); the same for ``angle``.

Complex values (JAX's convention, see `core.primitive`): the holomorphic functions use the
formulas of the real case unchanged. The others are real-valued with ``df = Re(a dz)``,
differentiated as ``g a`` in reverse mode and ``Re(t a)`` in forward mode: ``real``
(``a = 1``), ``imag`` (``-i``), ``abs`` (``conj(z)/|z|``), ``angle`` (``-i/z``); and
``conj``, whose derivative is itself, and ``sign`` (``z/|z|``), a composition. Of a real
value, ``imag`` and ``angle`` are piecewise constant (derivative 0) and ``conj`` the identity.
- ``maximum``/``minimum``/``fmax``/``fmin`` at a tie never depend on the order of the
  arguments: a traced value tied with a constant gets derivative 0, so ReLU written as
  ``maximum(x, 0)`` or ``maximum(0, x)`` has derivative 0 at 0 (as ``torch.relu``); two
  traced values that tie share the derivative equally, 1/2 each (as ``torch.maximum``, JAX
  and autograd). Where ``maximum``/``minimum`` meet a NaN, neither argument gets a
  derivative; ``fmax``/``fmin`` pass it to the argument they return.
- ``clip``: derivative 1 for ``a_min <= x <= a_max`` (boundaries included, as ``torch.clamp``).
- ``hypot``: 0 at the origin.
- ``nan_to_num``: derivative 0 at the NaN and infinite entries it replaces, 1 elsewhere; of a
  complex value it replaces the real and imaginary parts separately, so where only one part
  is replaced its derivative keeps the other part (not holomorphic there).

Every gate (``maximum`` and friends, ``clip``, ``abs``, ``where``) *selects* the incoming
derivative rather than multiplying it by a 0/1 mask (see `common.select`): an infinite
derivative in a branch not taken does not turn into ``inf * 0 = NaN``, so
``sqrt(maximum(x, 0))`` at ``x = -1`` and the "double where" idiom have derivative 0.
"""

from __future__ import annotations

import cmath
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from chainrule import numpy as cnp
from chainrule.core import batching
from chainrule.core.batching import defbatch
from chainrule.core.primitive import (
    BODIES,
    Primitive,
    defjvp_joint,
    defsaves,
    defvjp,
    owning,
    primitive,
    set_real_part,
)
from chainrule.core.trace import Tracer, dtype_of, float_dtype, is_complex, plain, primal

from .common import (
    COMPILED,
    check,
    defelementwise,
    deflinear,
    elementwise_batch,
    fixed_values,
    nondiff,
    select,
)
from .sinc_derivatives import sinc_derivative

LN2 = math.log(2.0)
LN10 = math.log(10.0)

add = primitive(np.add)
subtract = primitive(np.subtract)
multiply = primitive(np.multiply)
divide = primitive(np.divide)
true_divide = divide
negative = primitive(np.negative)
positive = primitive(np.positive)
power = primitive(np.power)
float_power = primitive(np.float_power)
square = primitive(np.square)
sqrt = primitive(np.sqrt)
cbrt = primitive(np.cbrt)
reciprocal = primitive(np.reciprocal)
exp = primitive(np.exp)
exp2 = primitive(np.exp2)
expm1 = primitive(np.expm1)
log = primitive(np.log)
log2 = primitive(np.log2)
log10 = primitive(np.log10)
log1p = primitive(np.log1p)
sin = primitive(np.sin)
cos = primitive(np.cos)
tan = primitive(np.tan)
arcsin = primitive(np.arcsin)
arccos = primitive(np.arccos)
arctan = primitive(np.arctan)
arctan2 = primitive(np.arctan2)
sinh = primitive(np.sinh)
cosh = primitive(np.cosh)
tanh = primitive(np.tanh)
arcsinh = primitive(np.arcsinh)
arccosh = primitive(np.arccosh)
arctanh = primitive(np.arctanh)
absolute = primitive(np.absolute)
abs = absolute
fabs = primitive(np.fabs)
hypot = primitive(np.hypot)
logaddexp = primitive(np.logaddexp)
logaddexp2 = primitive(np.logaddexp2)
deg2rad = primitive(np.deg2rad)
radians = primitive(np.radians)
rad2deg = primitive(np.rad2deg)
degrees = primitive(np.degrees)
sinc = primitive(np.sinc)
real = primitive(np.real)
imag = primitive(np.imag)
conjugate = primitive(np.conjugate, holomorphic=False)
conj = conjugate
_angle = primitive(np.angle, "angle")
remainder = primitive(np.remainder)
mod = remainder
fmod = primitive(np.fmod)
_where = primitive(np.where, "where")
_clip = primitive(np.clip, "clip")
_nan_to_num = primitive(np.nan_to_num, "nan_to_num")
_nan_to_num_parts = primitive(np.nan_to_num, "nan_to_num", holomorphic=False)


def where(condition: Any, x: Any = None, y: Any = None) -> Any:
    """`numpy.where`; differentiable in `x` and `y` (the one-argument form is `nonzero`).

    Each entry is differentiated through the branch it takes:

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.grad(lambda x: np.where(x > 0, x ** 2, -x).sum())(np.array([-1.0, 3.0]))
    array([-1.,  6.])
    """
    if x is None and y is None:
        c = primal(condition)  # (as NumPy, of the plain array: a masked array's data)
        return np.nonzero(np.asarray(c) if isinstance(c, np.ndarray) else c)
    c = primal(condition)  # under vmap, a batch of conditions
    if not isinstance(c, Tracer):
        c = np.asarray(c, dtype=bool)
    elif c.dtype != bool:
        c = c != 0
    return _where(c, x, y)


def clip(a: Any, a_min: Any = None, a_max: Any = None, **kwargs: Any) -> Any:
    """`numpy.clip`; derivative 1 inside ``[a_min, a_max]`` (ends included), 0 outside.

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.grad(lambda x: np.clip(x, 0.0, 1.0).sum())(np.array([-1.0, 0.5, 1.0, 2.0]))
    array([0., 1., 1., 0.])
    """
    a_min = kwargs.pop("min", a_min)
    a_max = kwargs.pop("max", a_max)
    if kwargs:
        raise TypeError(f"chainrule.numpy.clip: unsupported arguments {sorted(kwargs)}")
    return _clip(a, a_min, a_max)


def nan_to_num(
    x: Any, copy: bool = True, nan: float = 0.0, posinf: Any = None, neginf: Any = None
) -> Any:
    """`numpy.nan_to_num`; derivative 1 at finite entries, 0 at the replaced NaN and infinities.

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> f = lambda x: np.sum(np.nan_to_num(x, neginf=-1.0) ** 2)
    >>> cr.grad(f)(np.array([np.nan, 3.0, -np.inf]))
    array([0., 6., 0.])
    """
    if not copy and isinstance(x, Tracer):
        raise TypeError(
            "chainrule.numpy.nan_to_num: `copy=False` (in place) is not supported on a traced "
            "array; use the returned array (copy=True)."
        )
    prim = _nan_to_num
    if isinstance(x, Tracer) and is_complex(x):
        v = fixed_values(x)  # (under jit, unknown: maybe one part replaced)
        if v is None or np.any(np.isfinite(v.real) != np.isfinite(v.imag)):  # one part, not
            prim = _nan_to_num_parts  # both, replaced: not holomorphic
    return prim(x, copy=copy, nan=nan, posinf=posinf, neginf=neginf)


def _extremum(ufunc: Any, greater: bool, nan_aware: bool) -> Any:
    """`ufunc` (maximum, minimum, fmax or fmin) with order-independent rules at ties.

    Two primitives compute it: one for a traced value against a constant (a tie gives the
    traced value derivative 0) and one for two traced values (a tie gives each 1/2). Which
    one runs is decided here, where both arguments are in view; in the body of a loop or
    branch, two values of the body are two traced values (`_in_body`).
    """

    def chosen(a: Any, b: Any, first: bool) -> Any:
        """Where `a` is the entry returned (strictly: ties are weighted separately)."""
        a, b = primal(a), primal(b)
        wins = a > b if greater else a < b
        if nan_aware:  # fmax(a, nan) = a; when both are NaN the first one counts
            b_nan = np.isnan(b)
            wins |= b_nan if first else b_nan & ~np.isnan(a)
        return wins

    def weights(a: Any, b: Any, first: bool, share: float) -> Any:
        wins = chosen(a, b, first)
        if not share:
            return wins
        return np.where(primal(a) == primal(b), share, wins).astype(float_dtype(a))

    alone = primitive(ufunc)
    both = primitive(ufunc)
    both.alone = alone  # type: ignore[attr-defined]  # (see `control._Body.untie`)
    for prim, share in ((alone, 0.0), (both, 0.5)):
        defelementwise(
            prim,
            lambda g, ans, x, y, _s=share: select(g, weights(x, y, True, _s)),
            lambda g, ans, x, y, _s=share: select(g, weights(y, x, False, _s)),
        )

    def extremum(x: Any, y: Any, /, **kwargs: Any) -> Any:
        traced = isinstance(x, Tracer) and isinstance(y, Tracer)
        if traced and BODIES and _in_body(x, y):
            # (two values of a loop's or branch's body, either of which a rule may
            # differentiate: its reverse rule takes the carries' derivatives and those of
            # the values the body closes over in passes apart, each holding the others
            # constant, so a tie must share alike in every pass)
            return both(x, y, **kwargs)
        if traced and batching.active():  # a batch of constants is still a constant
            traced = primal(x) is not x and primal(y) is not y
        return (both if traced else alone)(x, y, **kwargs)

    extremum.__name__ = extremum.__qualname__ = ufunc.__name__
    extremum.__doc__ = (
        f"`numpy.{ufunc.__name__}`, differentiable; at a tie, derivative 0 for a value tied with "
        "a constant and 1/2 each for two traced values (see the module docstring)."
    )
    return extremum


def _in_body(x: Tracer, y: Tracer) -> bool:
    """Whether a call on `x` and `y` is a line of the body of a loop or branch being traced
    (see `_extremum`)."""
    top = x._trace if x._trace.level >= y._trace.level else y._trace
    return bool(getattr(owning(top), "replayed", False))


maximum = _extremum(np.maximum, greater=True, nan_aware=False)
minimum = _extremum(np.minimum, greater=False, nan_aware=False)
fmax = _extremum(np.fmax, greater=True, nan_aware=True)
fmin = _extremum(np.fmin, greater=False, nan_aware=True)


def _power_x(g: Any, ans: Any, x: Any, y: Any) -> Any:
    if isinstance(y, (int, float)):  # a constant exponent, the common case: x**2, x**0.5
        if y == 0:
            return g * 0.0
        return g * (y * x if y == 2 else y * power(x, y - 1))
    # Where a constant y is 0, x ** (y - 1) would be infinite at x = 0, and 0 * inf NaN:
    # the exponent there is 0 instead, so the product is y = 0, the derivative of the
    # constant x ** 0, as for a Python exponent (a number jit traces is one). A
    # differentiated y keeps y - 1: its own derivative goes through this one.
    one_less = y - 1 if primal(y) is not y else y - 1 + (primal(y) == 0)
    return g * (y * power(x, one_less))


def _power_y(g: Any, ans: Any, x: Any, y: Any) -> Any:
    # d/dy x**y = x**y log x; taken as 0 at x = 0 (the limit for y > 0).
    if isinstance(x, (int, float)):  # keep a Python base weakly typed, so float32 stays
        if x < 0 and dtype_of(ans).kind == "c":  # a complex power: log x on its principal branch
            return g * (ans * cmath.log(x))
        return g * (ans * (math.log(x) if x > 0 else 0.0 if x == 0 else math.nan))
    if dtype_of(ans).kind == "c" and dtype_of(x).kind != "c":  # real x, complex power
        x = add(x, 0j)
    return g * (ans * log(where(primal(x) == 0, 1.0, x)))


def _inside(x: Any, lo: Any, hi: Any) -> Any:
    x = primal(x)
    if lo is None or hi is None:  # (NumPy refuses both None)
        return x >= primal(lo) if hi is None else x <= primal(hi)
    return (x >= primal(lo)) & (x <= primal(hi))


defelementwise(add, lambda g, ans, x, y: g, lambda g, ans, x, y: g)
defelementwise(subtract, lambda g, ans, x, y: g, lambda g, ans, x, y: -g)
defelementwise(multiply, lambda g, ans, x, y: g * y, lambda g, ans, x, y: g * x)
defelementwise(divide, lambda g, ans, x, y: g / y, lambda g, ans, x, y: g * (-ans / y))
defelementwise(negative, lambda g, ans, x: -g)
defelementwise(positive, lambda g, ans, x: g)
defelementwise(power, _power_x, _power_y)
defelementwise(float_power, _power_x, _power_y)
defelementwise(square, lambda g, ans, x: g * (2.0 * x))
defelementwise(sqrt, lambda g, ans, x: g * (0.5 / ans))
defelementwise(cbrt, lambda g, ans, x: g / (3.0 * ans * ans))
defelementwise(reciprocal, lambda g, ans, x: g * -(ans * ans))
defelementwise(exp, lambda g, ans, x: g * ans)
defelementwise(exp2, lambda g, ans, x: g * (ans * LN2))
defelementwise(expm1, lambda g, ans, x: g * (ans + 1.0))
defelementwise(log, lambda g, ans, x: g / x)
defelementwise(log2, lambda g, ans, x: g / (x * LN2))
defelementwise(log10, lambda g, ans, x: g / (x * LN10))
defelementwise(log1p, lambda g, ans, x: g / (x + 1.0))
defelementwise(sin, lambda g, ans, x: g * cos(x))
defelementwise(cos, lambda g, ans, x: g * -sin(x))
defelementwise(tan, lambda g, ans, x: g * (1.0 + ans * ans))
defelementwise(arcsin, lambda g, ans, x: g / sqrt(1.0 - x * x))
defelementwise(arccos, lambda g, ans, x: g / -sqrt(1.0 - x * x))
defelementwise(arctan, lambda g, ans, x: g / (1.0 + x * x))
defelementwise(
    arctan2,
    lambda g, ans, y, x: g * (x / (x * x + y * y)),
    lambda g, ans, y, x: g * (-y / (x * x + y * y)),
)
defelementwise(sinh, lambda g, ans, x: g * cosh(x))
defelementwise(cosh, lambda g, ans, x: g * sinh(x))
defelementwise(tanh, lambda g, ans, x: g * (1.0 - ans * ans))
defelementwise(arcsinh, lambda g, ans, x: g / sqrt(x * x + 1.0))
# sqrt(x - 1) sqrt(x + 1), not sqrt(x² - 1): the same for real x > 1, and the right branch for
# complex x (arccosh's principal branch has its cut at x < 1)
defelementwise(arccosh, lambda g, ans, x: g / (sqrt(x - 1.0) * sqrt(x + 1.0)))
defelementwise(arctanh, lambda g, ans, x: g / (1.0 - x * x))
defelementwise(fabs, lambda g, ans, x: select(g, np.sign(primal(x))))
defelementwise(
    hypot,
    lambda g, ans, x, y: g * (x / where(primal(ans) == 0, 1.0, ans)),
    lambda g, ans, x, y: g * (y / where(primal(ans) == 0, 1.0, ans)),
)
defelementwise(
    logaddexp, lambda g, ans, x, y: g * exp(x - ans), lambda g, ans, x, y: g * exp(y - ans)
)
defelementwise(
    logaddexp2, lambda g, ans, x, y: g * exp2(x - ans), lambda g, ans, x, y: g * exp2(y - ans)
)
for _prim in (deg2rad, radians):
    defelementwise(_prim, lambda g, ans, x: g * (math.pi / 180.0))
for _prim in (rad2deg, degrees):
    defelementwise(_prim, lambda g, ans, x: g * (180.0 / math.pi))
defelementwise(sinc, lambda g, ans, x: g * sinc_derivative(x, order=1))  # stable at 0

# ---------------------------------------------------------------------------- complex parts


def defrealvalued(prim: Primitive, partial: Any) -> None:
    """Rules of a real-valued elementwise function with ``df = Re(a dz)``, ``a = partial(x)``
    (None for a real `x` where the derivative is 0): ``g a`` in reverse mode and ``Re(t a)``
    in forward mode. `select` keeps a 0 of a plain `a` (a kink) exact."""

    def factor(g: Any, x: Any) -> Any:
        a = partial(x)
        if a is None:
            return None
        # a differentiable `a` multiplies; a constant one (a batch of them under vmap) selects
        return g * a if isinstance(a, Tracer) and primal(a) is not a else select(g, a)

    def jvp(tangents: Sequence[Any], ans: Any, x: Any, **params: Any) -> Any:
        t = factor(tangents[0], x)
        return t if t is None or not is_complex(x) else real(t)

    defvjp(prim, lambda g, ans, x, **params: factor(g, x))
    defjvp_joint(prim, jvp)
    defbatch(prim, elementwise_batch(prim))


def _unit_conj(x: Any) -> Any:
    """``conj(z)/|z|``, 0 at 0: the ``a`` of ``abs`` (``sign(x)`` for real `x`)."""
    if not is_complex(x):
        return np.sign(primal(x))
    zero = primal(x) == 0
    return where(zero, 0.0, conjugate(x) / where(zero, 1.0, absolute(x)))


def _minus_i_over(x: Any) -> Any:
    """``-i/z``, 0 at 0: the ``a`` of ``angle`` (None for real `x`)."""
    if not is_complex(x):
        return None
    zero = primal(x) == 0
    return where(zero, 0.0, -1j / where(zero, 1.0, x))


defrealvalued(absolute, _unit_conj)
deflinear(real, lambda g, ans, x: g, lambda t, nb, ans, x: real(t))
deflinear(
    imag,
    lambda g, ans, x: g * -1j if is_complex(x) else None,
    lambda t, nb, ans, x: imag(t) if is_complex(x) else None,
)
defrealvalued(_angle, _minus_i_over)
deflinear(conjugate, lambda g, ans, x: conjugate(g), lambda t, nb, ans, x: conjugate(t))


def angle(z: Any, deg: bool = False) -> Any:
    """`numpy.angle`: the argument of a complex number, differentiable (``-i/z``, 0 at 0).

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.grad(lambda z: np.angle(z))(1.0j)  # d angle = (x dy - y dx) / |z|^2
    np.complex128(-1+0j)
    """
    a = _angle(z)
    return a * (180.0 / math.pi) if deg else a


def real_if_close(a: Any, tol: float = 100) -> Any:
    """`numpy.real_if_close`: the real part where NumPy would return it (every imaginary part
    within `tol` machine epsilons of 0), else `a` itself; NumPy decides, on the values."""
    if not isinstance(a, Tracer):
        return np.real_if_close(a, tol)
    if not is_complex(a):
        return a
    close = np.real_if_close(plain(a), tol).dtype.kind != "c"  # (every example's)
    _closeness_as_traced(a, tol, close)  # (under jit, the result's dtype is fixed)
    return real(a) if close else a


@check
def _closeness_as_traced(a: np.ndarray, tol: float, close: bool) -> None:
    if (np.real_if_close(a, tol).dtype.kind != "c") != close:
        raise TypeError(
            f"chainrule.numpy.real_if_close: {COMPILED} the result's dtype is fixed when the "
            "program is traced (real there, as the imaginary parts were within tol, or "
            "complex), and this call's values decide otherwise. Take `np.real(a)` or keep `a` "
            "explicitly."
        )


def sign(x: Any) -> Any:
    """`numpy.sign`: piecewise constant for real values (derivative 0), ``z/|z|`` (0 at 0)
    for complex ones, whose derivative is not 0."""
    if type(x) in (list, tuple):  # a sequence may hold traced values: one array of them
        x = cnp.asarray(x)
    if not isinstance(x, Tracer):  # (the hot path: NumPy's own, without `nondiff`'s checks)
        return np.sign(x)
    if is_complex(x):
        zero = primal(x) == 0
        return where(zero, 0.0, x / where(zero, 1.0, absolute(x)))
    return _real_sign(x)


_real_sign = nondiff(np.sign)  # (under vmap, a batch of signs)


defelementwise(
    remainder, lambda g, ans, x, y: g, lambda g, ans, x, y: g * -np.floor(primal(x) / primal(y))
)
defelementwise(
    fmod, lambda g, ans, x, y: g, lambda g, ans, x, y: g * -np.trunc(primal(x) / primal(y))
)
defelementwise(
    _where,
    None,
    lambda g, ans, c, x, y: select(g, c),
    lambda g, ans, c, x, y: select(g, ~c),
)
defelementwise(_nan_to_num, lambda g, ans, x, **params: select(g, np.isfinite(primal(x))))


def _finite_parts(g: Any, x: Any) -> Any:
    """`g` with its real (imaginary) part kept where that of `x` is finite: a real-linear
    map that is its own transpose under ``Re(sum(a * b))``."""
    v = primal(x)
    return select(real(g), np.isfinite(v.real)) + 1j * select(imag(g), np.isfinite(v.imag))


deflinear(
    _nan_to_num_parts,
    lambda g, ans, x, **params: _finite_parts(g, x),
    lambda t, nb, ans, x, **params: _finite_parts(t, x),
)
# Linear in its tangent, not in `x` (its mask depends on the values), and `imag` of a real
# batch is zeros, not the tangent rule's None: each batch is one call of the function itself.
for _prim in (_nan_to_num_parts, imag):
    defbatch(_prim, elementwise_batch(_prim))
defelementwise(
    _clip,
    lambda g, ans, x, lo, hi: select(g, _inside(x, lo, hi)),
    lambda g, ans, x, lo, hi: select(g, primal(x) < primal(lo)),
    lambda g, ans, x, lo, hi: select(g, primal(x) > primal(hi)),
)

set_real_part(real)

# What each reverse rule reads (`defsaves`): `grad` lets the other arrays go at once. The
# functions not listed (power, hypot, maximum...) read everything and keep everything.
for _saves, _prims in (
    ((), (add, subtract, negative, positive, deg2rad, radians, rad2deg, degrees, real)),
    ((), (imag, conjugate)),
    ((0, 1), (multiply, arctan2)),
    ((1, "ans"), (divide,)),
    (("ans",), (sqrt, cbrt, reciprocal, exp, exp2, expm1, tan, tanh)),
    ((0,), (square, log, log2, log10, log1p, sin, cos, arcsin, arccos, arctan, sinh, cosh)),
    ((0,), (arcsinh, arccosh, arctanh, sinc, _where)),  # (where reads only its condition)
):
    for _prim in _prims:
        defsaves(_prim, *_saves)

# NumPy 2's array-API names for the same ufuncs.
acos, acosh, asin, asinh = arccos, arccosh, arcsin, arcsinh
atan, atan2, atanh, pow = arctan, arctan2, arctanh, power


def divmod(x1: Any, x2: Any, /) -> tuple[Any, Any]:
    """`numpy.divmod`: ``(floor_divide(x1, x2), remainder(x1, x2))``; the quotient is
    piecewise constant, the remainder differentiable.

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> np.divmod(np.array([7.0, -7.0]), 2.0)
    (array([ 3., -4.]), array([1., 1.]))
    """
    return np.floor_divide(x1, x2), remainder(x1, x2)  # (a traced one: chainrule's)


# The public names whose rules are checked on complex values (tests/test_complex.py and
# tests/test_complex_families.py); the README's coverage table reads this tuple from every
# namespace module.
COMPLEX = (
    "abs", "absolute", "add", "angle", "arccos", "arccosh", "arcsin", "arcsinh", "arctan",
    "arctanh", "acos", "acosh", "asin", "asinh", "atan", "atanh", "pow", "clip", "conj", "conjugate", "cos", "cosh", "divide", "exp", "exp2", "expm1",
    "float_power", "fmax", "fmin", "imag", "log", "log1p", "log2", "log10", "maximum", "minimum",
    "multiply", "nan_to_num", "negative", "positive", "power", "real", "reciprocal", "sign", "sin",
    "sinc", "sinh", "sqrt", "square", "subtract", "tan", "tanh", "true_divide", "where",
)  # fmt: skip

__all__ = [
    "abs",
    "absolute",
    "acos",
    "acosh",
    "add",
    "angle",
    "arccos",
    "arccosh",
    "arcsin",
    "arcsinh",
    "arctan",
    "arctan2",
    "arctanh",
    "asin",
    "asinh",
    "atan",
    "atan2",
    "atanh",
    "cbrt",
    "clip",
    "conj",
    "conjugate",
    "cos",
    "cosh",
    "deg2rad",
    "degrees",
    "divide",
    "divmod",
    "exp",
    "exp2",
    "expm1",
    "fabs",
    "float_power",
    "fmax",
    "fmin",
    "fmod",
    "hypot",
    "imag",
    "log",
    "log1p",
    "log2",
    "log10",
    "logaddexp",
    "logaddexp2",
    "maximum",
    "minimum",
    "mod",
    "multiply",
    "nan_to_num",
    "negative",
    "positive",
    "pow",
    "power",
    "rad2deg",
    "radians",
    "real",
    "real_if_close",
    "reciprocal",
    "remainder",
    "sign",
    "sin",
    "sinc",
    "sinh",
    "sqrt",
    "square",
    "subtract",
    "tan",
    "tanh",
    "true_divide",
    "where",
]  # fmt: skip
