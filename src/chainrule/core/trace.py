"""Traced values and trace levels.

Every transform call (a `jvp`, a `vjp`) opens a *trace* with a fresh, strictly increasing
level. Inside it, the transform's inputs are wrapped in tracers that point at that trace.
When a primitive sees tracers of several levels, the highest one is processed first and
the others are ordinary values to it: that is what keeps nested derivatives apart (no
"perturbation confusion"), because an inner transform can never mistake an outer
transform's tracer for its own.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NoReturn

import numpy as np

if TYPE_CHECKING:
    from .primitive import Primitive

_levels = itertools.count(1)


class Trace:
    """One running transform. Subclasses say how a primitive is processed at this level.

    `owner` is what the transform runs (the user's function, flattened), for error
    messages. Once the transform has its outputs it calls `end()`: a tracer of an ended
    trace that is used again has leaked out of its transform (stored in a global, a list,
    a closure), and would give wrong derivatives, so using it raises `leaked_error`.
    """

    __slots__ = ("ended", "level", "owner")

    def __init__(self, owner: Any = None) -> None:
        self.level = next(_levels)
        self.owner = owner
        self.ended = False

    def end(self) -> None:
        self.ended = True

    def process(self, prim: Primitive, args: tuple[Any, ...], params: dict[str, Any]) -> Any:
        """Apply `prim` to `args`, some of them this trace's tracers: unwrap them, compute
        the value, and let the subclass `finish` (record it, push tangents).

        Errors name the primitive and the shapes it got.
        """
        if self.ended:
            raise leaked_error(self, prim)
        vals, ours, lower = self.unwrap(args)
        if lower:  # the lower trace computes it, and checks it
            return self.finish(prim, vals, params, prim(*vals, **params), ours)
        try:
            ans = prim.impl(*vals, **params)
        except ValueError as e:
            if type(e) is not ValueError:  # LinAlgError and friends say what they mean
                raise
            raise shape_error(prim, vals, e) from None
        return self.finish(prim, vals, params, ans, ours)

    def unwrap(self, args: Sequence[Any]) -> tuple[list[Any], Any, bool]:
        """The values at this level, what this trace keeps of its own tracers among `args`,
        and whether any value still carries tracers of lower levels."""
        raise NotImplementedError

    def finish(
        self, prim: Primitive, vals: list[Any], params: dict[str, Any], ans: Any, ours: Any
    ) -> Any:
        """The traced result of `prim`, whose value `ans` is computed."""
        raise NotImplementedError


class Tracer:
    """A value being differentiated: wraps a `value` (an array, or a tracer of a lower level).

    The NumPy-facing behaviour (operators, methods, `__array_ufunc__`) is attached by
    `chainrule.numpy`, so that the core knows nothing of NumPy's function list.
    """

    __slots__ = ("_trace", "value")
    __array_priority__ = 100.0
    # True for a tracer that stands for many values (a batch, under `vmap`): `primal` keeps it.
    batched = False

    value: Any
    _trace: Trace

    # (a Python number a loop carries, traced, has no attributes of its own: NumPy's view)
    @property
    def shape(self) -> tuple[int, ...]:
        try:
            return self.value.shape
        except AttributeError:
            return np.shape(self.value)

    @property
    def ndim(self) -> int:
        try:
            return self.value.ndim
        except AttributeError:
            return np.ndim(self.value)

    @property
    def size(self) -> int:
        try:
            return self.value.size
        except AttributeError:
            return np.size(self.value)

    @property
    def dtype(self) -> Any:
        try:
            return self.value.dtype
        except AttributeError:
            return np.result_type(self.value)

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a 0-d traced array")
        return self.shape[0]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(level={self._trace.level}, value={plain(self)!r})"

    # Conversions that would silently drop the derivative are refused with an explanation.
    def __bool__(self) -> NoReturn:
        raise conversion_error("bool()", self)

    def __float__(self) -> NoReturn:
        raise conversion_error("float()", self)

    def __int__(self) -> NoReturn:
        raise conversion_error("int()", self)

    def __complex__(self) -> NoReturn:
        raise conversion_error("complex()", self)

    def __index__(self) -> NoReturn:
        raise conversion_error("use as an index", self)

    def item(self, *args: Any) -> NoReturn:
        raise conversion_error(".item()", self)

    def tolist(self) -> NoReturn:
        raise conversion_error(".tolist()", self)

    def __array__(self, dtype: Any = None, copy: Any = None) -> NoReturn:
        raise conversion_error("conversion to a NumPy array", self)

    def __setitem__(self, index: Any, value: Any) -> NoReturn:
        raise TypeError(
            "chainrule: `x[i] = v` is not possible on a traced array: arrays being differentiated "
            "are immutable. Use the functional update, as in JAX: `x = x.at[i].set(v)` (also "
            "`.add`, `.multiply`, `.divide`, `.min`, `.max`), which returns a new array, or "
            "`x = np.where(np.arange(len(x)) == i, v, x)`."
        )


class ConversionError(TypeError):
    """A traced value was asked for a plain Python or NumPy value."""


def conversion_error(what: str, tracer: Tracer) -> ConversionError:
    x: Any = tracer
    while isinstance(x, Tracer) and not x.batched:
        x = x.value
    if isinstance(x, Tracer):  # under vmap or jit: the tracer says why it has no one value
        return ConversionError(x.refusal(what, tracer))  # type: ignore[attr-defined]
    return ConversionError(
        f"chainrule: {what} of a traced value (shape {tracer.shape}, dtype {tracer.dtype}) "
        "inside a transform would silently drop its derivative. Keep the computation in "
        "array operations; branch with `np.where(cond, a, b)` (a comparison such as `x > 0` "
        "gives a plain boolean array you can branch on), or wrap the value in "
        "`chainrule.stop_gradient(x)` and take its value outside the transform if you "
        "really mean to treat it as a constant."
    )


class LeakedTracerError(TypeError):
    """A traced value was used after its transform had its outputs."""


def leaked_error(trace: Trace, prim: Primitive) -> LeakedTracerError:
    owner = "" if trace.owner is None else f" by {trace.owner}"
    return LeakedTracerError(
        f"chainrule: {prim.name} was applied to a value traced{owner} after that transform "
        "had returned: the traced value leaked out of the function being transformed (kept "
        "in a global, a list, an attribute or a closure) and carries a derivative (or, from "
        "a vmap, a batch of examples) that no longer exists. Return the values you need "
        "from the function (use `has_aux=True` for extra outputs), or pass them in as "
        "arguments."
    )


class HolomorphicError(TypeError):
    """``holomorphic=True`` met a function with no complex derivative."""


def check_holomorphic(trace: Trace, prim: Primitive, traced: Sequence[Any], ans: Any) -> None:
    """Refuse `prim` applied to the complex values `traced` under ``holomorphic=True``: a
    primitive flagged non-holomorphic, or one with a real result (a holomorphic real-valued
    function is constant), has no complex derivative there."""
    if not any(is_complex(v) for v in traced):
        return
    if prim.holomorphic and is_complex(ans):
        return
    why = "gives a real result" if prim.holomorphic else "involves the complex conjugate"
    owner = "holomorphic=True" if trace.owner is None else f"{trace.owner} with holomorphic=True"
    raise HolomorphicError(
        f"chainrule: {owner}: {prim.name} is not holomorphic (it {why}), so the function "
        "has no complex derivative f'(z) through it. For a real-valued function of complex "
        "inputs use grad without holomorphic=True (JAX's convention: the gradient is "
        "df/dx - i df/dy); for any other function use jvp or vjp. If the value only feeds "
        f"a comparison, pass it to {prim.name} through chainrule.stop_gradient."
    )


class ShapeError(ValueError):
    """NumPy refused the arguments of a primitive; the message names their shapes."""

    named = False  # set once a transform has put the user's function into the message


def shape_error(prim: Primitive, vals: Sequence[Any], error: ValueError) -> ShapeError:
    shapes = [tuple(shape_of(v)) for v in vals if isinstance(v, (np.ndarray, np.generic, float))]
    if prim.name == "matmul" and len(shapes) == 2 and all(shapes):
        a, b = shapes
        inner = b[-2] if len(b) > 1 else b[0]
        return ShapeError(
            f"chainrule.numpy.matmul of shapes {a} and {b}: the last axis of the first operand "
            f"({a[-1]}) must equal the {'second-to-last' if len(b) > 1 else 'only'} axis of "
            f"the second ({inner}). Transpose one of them (`B.T`) or check their layouts."
        )
    listed = " and ".join(map(str, shapes)) if shapes else "these arguments"
    return ShapeError(f"chainrule: {prim.name} of shapes {listed}: {error}")


def is_complex(x: Any) -> bool:
    """Whether a value (an array, a tracer, a number, a tuple of results) is complex."""
    if isinstance(x, (tuple, list)):
        return any(is_complex(a) for a in x)
    dtype = getattr(x, "dtype", None)
    return isinstance(x, complex) or (dtype is not None and dtype.kind == "c")


def primal(x: Any) -> Any:
    """The value under every level of differentiation: a constant to every derivative.

    Under `vmap` a value is a batch of values, and stays one: its batch tracers are kept
    (with what they wrap stripped in turn), so a mask computed from ``primal(x)`` keeps the
    batch axis. Outside `vmap` this is the plain array.
    """
    while isinstance(x, Tracer):
        if x.batched:
            return x.stripped()  # type: ignore[attr-defined]
        x = x.value
    return x


def plain(x: Any) -> Any:
    """The plain array under every tracer, batch tracers included (its batch axis, if any,
    at the position the batch tracer records): for code that only reads dtypes or values
    that every example shares."""
    while isinstance(x, Tracer):
        x = x.value
    return x


def top_trace(args: tuple[Any, ...]) -> Trace | None:
    """The highest-level trace among the tracers in `args`, or None."""
    top = None
    for a in args:
        if isinstance(a, Tracer) and (top is None or a._trace.level > top.level):
            top = a._trace
    return top


def shape_of(x: Any) -> tuple[int, ...]:
    """The shape of a value: an array, a NumPy scalar, a Python number or a tracer."""
    return x.shape if isinstance(x, (np.ndarray, np.generic, Tracer)) else np.shape(x)


def dtype_of(x: Any) -> np.dtype[Any]:
    """The dtype of a value: an array, a NumPy scalar, a Python number or a tracer."""
    return x.dtype if isinstance(x, (np.ndarray, np.generic, Tracer)) else np.result_type(x)


def is_float(dtype: np.dtype[Any]) -> bool:
    """Real floating point: NumPy's own (kind "f") or an ml_dtypes format such as bfloat16."""
    return dtype.kind == "f" or (
        dtype.kind == "V" and dtype.type.__module__ == "ml_dtypes" and "float" in dtype.name
    )


_FLOAT64 = np.dtype(np.float64)


def float_dtype(x: Any) -> np.dtype[Any]:
    """The dtype a derivative of `x` takes: its own if inexact, float64 for integers."""
    dtype = dtype_of(x)
    return dtype if dtype.kind in "fc" or is_float(dtype) else _FLOAT64


def in_dtype_of(t: Any, x: Any) -> Any:
    """A (co)tangent `t` of `x` in the dtype derivatives of `x` take (`float_dtype`).

    Rules follow NumPy's promotion, so a float32 parameter used with float64 data gets a
    float64 cotangent on the way; the transforms hand it back as float32, as JAX and
    PyTorch do. The cast is differentiable (`astype` of a tracer is a primitive). A complex
    `t` for a real `x` is refused: a rule that gives one is wrong, and casting would hide it.
    """
    dtype = float_dtype(x)
    if dtype_of(t) == dtype:
        return t
    if dtype_of(t).kind == "c" and dtype.kind != "c":  # a real value's derivative is real
        raise TypeError(
            f"chainrule: a derivative rule gave the real value of shape {shape_of(x)} a complex "
            f"(co)tangent ({dtype_of(t)}). That is a bug in the rule of one of the functions "
            "used (the rules of real-valued functions of complex values take the real part); "
            "please report it with the function that was differentiated."
        )
    return t.astype(dtype)


def zero_tangent(x: Any, batch_shape: tuple[int, ...] = ()) -> Any:
    """Plain zeros for the (co)tangent of a possibly traced value `x`, with batch axes first."""
    return np.zeros(batch_shape + tuple(shape_of(x)), float_dtype(x))
