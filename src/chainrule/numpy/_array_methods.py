"""Make traced values behave like NumPy arrays: operators, methods, and NumPy's own functions.

`numpy.sin(x)` or `numpy.sum(x)` on a traced `x` reach `__array_ufunc__` /
`__array_function__`, which hand the call to the differentiable function of the same name,
or raise an error naming the function when chainrule has no rule for it.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from chainrule import numpy as cnp
from chainrule import tree
from chainrule.core.batching import BatchTracer, defbatch
from chainrule.core.primitive import Primitive
from chainrule.core.staging import (
    PYTHON_NUMBERS,
    StagedTracer,
    plain_line,
    traced_number,
)
from chainrule.core.trace import Tracer, conversion_error, dtype_of

from .rules import elementwise as ew
from .rules import shape as sh
from .rules.common import elementwise_batch
from .rules.indexing import at, index


def no_rule_error(name: str) -> TypeError:
    return TypeError(
        f"chainrule: numpy.{name} has no derivative rule, so it cannot be applied to a value "
        "being differentiated. Apply it to a constant instead (wrap the argument in "
        "`chainrule.stop_gradient`), or give your own function a rule with "
        "`chainrule.custom_vjp` / `chainrule.custom_jvp`."
    )


def _swapped(f: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    return lambda self, other: f(other, self)


def _shape_args(args: tuple[Any, ...]) -> Any:
    """`x.reshape(2, 3)` and `x.reshape((2, 3))` alike."""
    return args[0] if len(args) == 1 else args


def _astype(self: Tracer, dtype: Any, *args: Any, **kwargs: Any) -> Any:
    return sh.astype(self, dtype)  # order, casting and copy do not matter to a traced value


def _iter(self: Tracer) -> Iterator[Any]:
    for i in range(len(self)):
        yield self[i]  # type: ignore[index]


def _transpose(self: Tracer, *axes: Any) -> Any:
    return cnp.transpose(self, _shape_args(axes) if axes else None)


def _matrix_transpose(self: Tracer) -> Any:
    if self.ndim < 2:
        raise ValueError("matrix transpose with ndim < 2 is undefined")
    return cnp.swapaxes(self, -1, -2)


def _method(name: str) -> Callable[..., Any]:
    """A method that calls the `chainrule.numpy` function `name` with the array first."""
    return lambda self, *args, **kwargs: getattr(cnp, name)(self, *args, **kwargs)


_UNARY = object()  # (no second operand: ``-x``)


def _round(x: Tracer, ndigits: Any = None) -> Any:
    """``round(x, ndigits)``: of what eager code holds as a Python number, Python's own, a
    line of the program; of a traced array or NumPy scalar, NumPy's rounding, and without
    `ndigits` (a Python int, which depends on the value) refused as ``int()`` is."""
    if traced_number(x):
        return plain_line(round, "round", [x] if ndigits is None else [x, ndigits])
    if ndigits is None:
        raise conversion_error("round()", x)
    return _method("round")(x, ndigits)


def _python_number(x: Any) -> bool:
    """Whether eager code has a Python number here: one, or what `jit` traces for one (an
    argument of the jitted function, a loop's carry started from one)."""
    return type(x) in PYTHON_NUMBERS or traced_number(x)


def _weak(
    name: str, op: Callable[..., Any], f: Callable[..., Any], reflected: bool = False
) -> Callable[..., Any]:
    """An operator: `f`, but between what eager code has as Python numbers, Python's own
    `op`, recorded as a line of the program. Its result is a Python number again, which
    NumPy promotes weakly, as eager code's (``lr * 0.5 * g`` stays float32 for a float32
    `g`; NumPy's ufunc would give a float64 scalar, which does not), and is exact as
    Python's (``n ** 70`` of an int)."""

    def apply(self: Any, other: Any = _UNARY) -> Any:
        if type(self) is not StagedTracer or type(self.value) not in PYTHON_NUMBERS:
            return f(self) if other is _UNARY else f(self, other)  # (the usual case)
        args = [self] if other is _UNARY else [self, other]
        if not _python_number(args[-1]):
            return f(*args)
        line = op() if isinstance(op, type) else op  # (a class: a line of its own)
        return plain_line(_Reflected(line) if reflected else line, name, args)

    return apply


class _Reflected:
    """``op`` with its operands swapped, for a reflected operator (``2.0 * x``): a line of a
    program, so a class, which pickles (a jitted function sent to Dask's workers)."""

    __slots__ = ("op",)

    def __init__(self, op: Callable[[Any, Any], Any]) -> None:
        self.op = op

    def __call__(self, a: Any, b: Any) -> Any:
        return self.op(b, a)


class _Power:
    """Python's ``a ** b`` as a line of a program, one per line: its type hangs on the
    values (``2 ** -1`` is a float), where a program's types are those of the traced call,
    so a call whose power takes another type raises rather than run on."""

    __slots__ = ("kind",)

    def __init__(self) -> None:
        self.kind: type | None = None

    def __call__(self, a: Any, b: Any) -> Any:
        result = a**b
        if type(result) in PYTHON_NUMBERS:
            if self.kind is None:
                self.kind = type(result)
            elif type(result) is not self.kind:
                raise TypeError(
                    f"chainrule.jit: a power of Python numbers is a {type(result).__name__} on "
                    f"this call and was a {self.kind.__name__} on the call traced (an int to a "
                    "negative int power is a float): pass float numbers, or name the argument "
                    "in static_argnums."
                )
        return result


def _power(x: Any, exponent: Any) -> Any:
    """``x ** exponent``: NumPy's operator squares for a Python int 2, which for booleans
    gives int8, where its `power` gives int64."""
    if type(exponent) is int and exponent == 2 and dtype_of(x) is _BOOL:
        return ew.square(x)
    return ew.power(x, exponent)


_BOOL = np.dtype(bool)  # (NumPy's one object for it: compared by identity, at no cost)


# The operators Python numbers have: (the dunder's stem, NumPy's name, Python's operator,
# chainrule's function); each binary one also reflected (``2.0 * x``).
_BINARY: list[tuple[str, str, Callable[..., Any], Callable[..., Any]]] = [
    ("add", "add", operator.add, ew.add),
    ("sub", "subtract", operator.sub, ew.subtract),
    ("mul", "multiply", operator.mul, ew.multiply),
    ("truediv", "divide", operator.truediv, ew.divide),
    ("pow", "power", _Power, _power),
    ("mod", "remainder", operator.mod, ew.remainder),
    ("floordiv", "floor_divide", operator.floordiv, _method("floor_divide")),
    ("and", "bitwise_and", operator.and_, _method("bitwise_and")),
    ("or", "bitwise_or", operator.or_, _method("bitwise_or")),
    ("xor", "bitwise_xor", operator.xor, _method("bitwise_xor")),
    ("lshift", "left_shift", operator.lshift, _method("left_shift")),
    ("rshift", "right_shift", operator.rshift, _method("right_shift")),
]
_UNARY_OPERATORS: list[tuple[str, str, Callable[..., Any], Callable[..., Any]]] = [
    ("neg", "negative", operator.neg, ew.negative),
    ("pos", "positive", operator.pos, ew.positive),
    ("abs", "absolute", operator.abs, ew.absolute),
    ("invert", "invert", operator.invert, _method("invert")),
]

_OPERATORS: dict[str, Any] = {
    **{f"__{d}__": _weak(name, op, f) for d, name, op, f in _BINARY + _UNARY_OPERATORS},
    **{f"__r{d}__": _weak(name, op, _swapped(f), reflected=True) for d, name, op, f in _BINARY},
    "__divmod__": lambda self, other: (self // other, self % other),
    "__rdivmod__": lambda self, other: (other // self, other % self),
    "__matmul__": _method("matmul"),
    "__rmatmul__": lambda self, other: cnp.matmul(other, self),
    **{
        f"__{d}__": _weak(name, op, _method(name))
        for d, name, op in (
            ("lt", "less", operator.lt),
            ("le", "less_equal", operator.le),
            ("gt", "greater", operator.gt),
            ("ge", "greater_equal", operator.ge),
            ("eq", "equal", operator.eq),
            ("ne", "not_equal", operator.ne),
        )
    },  # (comparisons: reflected by Python itself, ``2 < x`` as ``x > 2``)
    "__round__": _round,
    "__getitem__": index,
    "__iter__": _iter,
}

_METHODS: dict[str, Any] = {
    name: _method(name)
    for name in [
        "sum",
        "mean",
        "prod",
        "max",
        "min",
        "var",
        "std",
        "cumsum",
        "cumprod",
        "dot",
        "clip",
        "squeeze",
        "swapaxes",
        "diagonal",
        "trace",
        "repeat",
        "all",
        "any",
        "argmax",
        "argmin",
        "argsort",
        "nonzero",
        "round",
        "take",
    ]
}
_METHODS.update(
    reshape=lambda self, *shape, **kw: cnp.reshape(self, _shape_args(shape), **kw),
    transpose=_transpose,
    ravel=lambda self, order="C": cnp.reshape(self, -1, order=order),
    flatten=lambda self, order="C": sh.copy(cnp.reshape(self, -1, order=order)),  # (a copy)
    astype=_astype,
    copy=lambda self, order="C": sh.copy(self, order),
    conj=lambda self: ew.conjugate(self),
    conjugate=lambda self: ew.conjugate(self),
)

_PROPERTIES: dict[str, Any] = {
    "T": property(lambda self: cnp.transpose(self)),
    "mT": property(lambda self: _matrix_transpose(self)),
    "real": property(lambda self: ew.real(self)),
    "imag": property(lambda self: ew.imag(self)),
    "at": property(at),
}


def _array_ufunc(self: Tracer, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
    fn = getattr(cnp, ufunc.__name__, None)
    if kwargs.get("out") is not None and fn is not None:
        raise TypeError(
            f"chainrule: numpy.{ufunc.__name__}(..., out=array) would write a value being "
            "differentiated into a plain NumPy array (as `a += x` does when `a` is one), "
            "which cannot carry its derivative. Make a new value instead: `a = a + x`."
        )
    if method != "__call__" and fn is not ufunc and hasattr(fn, method):  # (ours)
        return getattr(fn, method)(*inputs, **kwargs)
    if method != "__call__" or fn is None or fn is ufunc:
        if ufunc.signature is None and _mapped_or_compiled(inputs, kwargs):
            prim = _without_rules(ufunc)  # (`copysign`, `gcd.reduce`: as the ufunc would)
            return (
                prim(*inputs, **kwargs)
                if method == "__call__"
                else getattr(prim, method)(*inputs, **kwargs)
            )
        name = ufunc.__name__ + ("" if method == "__call__" else f".{method}")
        raise no_rule_error(name)
    return fn(*inputs, **kwargs)


def _mapped_or_compiled(inputs: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    """Whether the newest transform of the positional `inputs` is `jit` or `vmap`, which
    differentiate nothing (a traced keyword, ``where=``, is not taken so)."""
    traced = [x for x in inputs if isinstance(x, Tracer)]
    if not traced or any(isinstance(v, Tracer) for v in kwargs.values()):
        return False
    top = max(traced, key=lambda x: x._trace.level)
    return isinstance(top, StagedTracer | BatchTracer)


_UFUNCS: dict[Any, Primitive] = {}


def _without_rules(ufunc: Any) -> Primitive:
    """A NumPy ufunc chainrule has no derivative rule for (``copysign``, ``gcd``) as a
    primitive: `jit` records it and `vmap` maps it, as they would NumPy's own call; a
    transform that differentiates it raises, naming it."""
    prim = _UFUNCS.get(ufunc)
    if prim is None:
        prim = Primitive(ufunc, ufunc.__name__, multiple_results=ufunc.nout > 1)
        defbatch(prim, elementwise_batch(ufunc))
        _UFUNCS[ufunc] = prim
    return prim


_FUNCTIONS: dict[Any, Any] | None = None


def _dispatch_table() -> dict[Any, Any]:
    """NumPy function -> differentiable replacement, for every name chainrule overrides.

    Built on first use (after `chainrule.numpy` has finished importing), into a local dict
    that is published whole: another thread never sees a half-filled table.
    """
    global _FUNCTIONS
    if _FUNCTIONS is None:
        table = {}
        for ours_mod, theirs_mod in ((cnp, np), (cnp.linalg, np.linalg), (cnp.fft, np.fft)):
            for name in dir(theirs_mod):
                theirs = getattr(theirs_mod, name)
                ours = getattr(ours_mod, name, theirs)
                if callable(theirs) and ours is not theirs:
                    table[theirs] = ours
        _FUNCTIONS = table
    return _FUNCTIONS


def _array_function(self: Tracer, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
    fn = _dispatch_table().get(func)
    if fn is None:
        traced = [x for x in tree.leaves((args, kwargs)) if isinstance(x, Tracer)] or [self]
        if isinstance(max(traced, key=lambda x: x._trace.level), StagedTracer | BatchTracer):
            # (nothing differentiated: say so)
            raise TypeError(
                f"chainrule: numpy.{func.__name__} has no rules in chainrule, so `jit` cannot "
                "record it and `vmap` cannot map it. Call it outside the transformed function "
                "(on plain arrays), or write it with functions chainrule.numpy has."
            )
        raise no_rule_error(func.__name__)
    return fn(*args, **kwargs)


for _name, _fn in {**_OPERATORS, **_METHODS, **_PROPERTIES}.items():
    setattr(Tracer, _name, _fn)
Tracer.__array_ufunc__ = _array_ufunc  # type: ignore[attr-defined]
Tracer.__array_function__ = _array_function  # type: ignore[attr-defined]
