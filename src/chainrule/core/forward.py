"""Forward mode: carry a tangent beside every value and apply each primitive's JVP rule.

A trace may carry a *batch* of tangents: each tangent then has extra leading axes
(`batch_shape`), so `jacfwd` gets a whole Jacobian from one pass through the function
instead of one pass per input coordinate.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .primitive import Primitive, missing_rule, real_only_error
from .trace import (
    Trace,
    Tracer,
    check_holomorphic,
    in_dtype_of,
    is_complex,
    leaked_error,
    zero_tangent,
)


class JVPTracer(Tracer):
    __slots__ = ("tangent",)

    def __init__(self, value: Any, tangent: Any, trace: JVPTrace) -> None:
        self.value = value
        self.tangent = tangent
        self._trace = trace


class JVPTrace(Trace):
    __slots__ = ("batch_shape",)

    def __init__(self, batch_shape: tuple[int, ...] = (), owner: Any = None) -> None:
        super().__init__(owner)
        self.batch_shape = batch_shape

    def unwrap(self, args: Sequence[Any]) -> tuple[list[Any], list[Any], bool]:
        """Values and tangents at this level (tangent None where an argument is not ours), and
        whether any value still carries tracers of lower levels (if not, the primitive can go
        straight to NumPy)."""
        vals = list(args)
        tans: list[Any] = [None] * len(args)
        lower = False
        for i, a in enumerate(args):
            if isinstance(a, Tracer):
                if a._trace is self:
                    tans[i] = a.tangent  # type: ignore[attr-defined]
                    a = vals[i] = a.value
                lower = lower or isinstance(a, Tracer)
        return vals, tans, lower

    def wrap(self, value: Any, tangent: Any) -> Any:
        return value if tangent is None else JVPTracer(value, tangent, self)

    def process(self, prim: Primitive, args: tuple[Any, ...], params: dict[str, Any]) -> Any:
        if not prim.jvp_value:
            return super().process(prim, args, params)
        if self.ended:  # (a rule that computes the value too: not computed first)
            raise leaked_error(self, prim)
        vals, tans, _ = self.unwrap(args)
        ans, t = prim.jvp(tans, None, *vals, **params)  # type: ignore[misc]
        return self.finish(prim, vals, params, ans, tans, t)

    def finish(
        self, prim: Primitive, vals: list[Any], params: dict[str, Any], ans: Any, tans: Any,
        t: Any = None,
    ) -> Any:  # fmt: skip
        """Push the tangents through `prim`'s forward rule (or take its tangent `t`, where
        the rule computed the value too)."""
        if prim.jvp is None:
            raise missing_rule(prim, "forward")
        if prim.real_only and is_complex(ans):
            raise real_only_error(prim)
        if not prim.jvp_value:
            t = prim.jvp(tans, ans, *vals, **params)
        if prim.multiple_results:
            return tuple(self.wrap(a, ta) for a, ta in zip(ans, t, strict=False))
        return self.wrap(ans, t)


class HolomorphicJVPTrace(JVPTrace):
    """Forward mode for ``holomorphic=True``: refuses a primitive that is not holomorphic."""

    __slots__ = ()

    def finish(
        self, prim: Primitive, vals: list[Any], params: dict[str, Any], ans: Any, tans: Any,
        t: Any = None,
    ) -> Any:  # fmt: skip
        check_holomorphic(
            self, prim, [v for v, t in zip(vals, tans, strict=True) if t is not None], ans
        )
        return super().finish(prim, vals, params, ans, tans, t)


def jvp_flat(
    fun: Callable[[list[Any]], list[Any]],
    primals: Sequence[Any],
    tangents: Sequence[Any],
    batch_shape: tuple[int, ...] = (),
    holomorphic: bool = False,
) -> tuple[list[Any], list[Any]]:
    """Push `tangents` (None for an input held constant) through `fun`; return outputs, tangents.

    With `holomorphic`, a primitive that is not holomorphic in a complex value raises.
    """
    trace = (HolomorphicJVPTrace if holomorphic else JVPTrace)(batch_shape, fun)
    inputs = [
        p if t is None else JVPTracer(p, t, trace) for p, t in zip(primals, tangents, strict=False)
    ]
    outs = fun(inputs)
    trace.end()
    values, out_tangents = [], []
    for o in outs:
        if type(o) is JVPTracer and o._trace is trace:
            values.append(o.value)
            out_tangents.append(in_dtype_of(o.tangent, o.value))
        else:
            values.append(o)
            out_tangents.append(zero_tangent(o, batch_shape))
    return values, out_tangents
