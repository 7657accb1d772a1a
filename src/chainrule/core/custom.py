"""Your own derivative rules, constants, and recomputation to save memory.

`custom_vjp`, `custom_jvp` and `checkpoint` all end up recording one node on the reverse
tape whose backward pass is a single function (`_record`); they differ only in what that
function does: call your rule, transpose your forward rule, or re-run the function.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from .. import tree
from .forward import JVPTrace
from .primitive import Primitive
from .reverse import Parent, ReverseTrace, vjp_flat
from .trace import primal, top_trace, zero_tangent

__all__ = ["checkpoint", "custom_jvp", "custom_vjp", "stop_gradient"]


def stop_gradient(x: Any) -> Any:
    """`x` as a constant: every transform sees a zero derivative through it.

    Accepts a pytree. Use it for values that must not be differentiated, e.g. a target
    computed from the parameters.

    >>> import chainrule as cr
    >>> print(cr.grad(lambda x: x * cr.stop_gradient(x))(3.0))
    3.0
    """
    return tree.map(primal, x)


def _name(fun: Callable[..., Any]) -> str:
    return getattr(fun, "__name__", repr(fun))


_custom = Primitive(lambda *args: None, "custom rule", multiple_results=True)
_custom.vjp_all = lambda g, ans, *args, backward: backward(list(g))


def _record(
    trace: ReverseTrace,
    vals: list[Any],
    parents: list[Parent],
    out_leaves: list[Any],
    backward: Callable[[list[Any]], list[Any]],
) -> list[Any]:
    """Put one node on `trace`'s tape: `backward` maps output cotangents to the parents'."""
    positions = [p[0] for p in parents]

    def spread(g: list[Any]) -> list[Any]:
        cts: list[Any] = [None] * len(vals)
        for i, c in zip(positions, backward(g), strict=False):
            cts[i] = c
        return cts

    return list(trace.record(_custom, vals, {"backward": spread}, tuple(out_leaves), parents))


class custom_vjp:
    """Give `fun` your own reverse-mode rule.

    ``fwd(*args) -> (out, residuals)`` computes the output and whatever the backward pass
    needs; ``bwd(residuals, g) -> tuple`` returns one cotangent per argument (None for an
    argument with no derivative). Write `bwd` with `chainrule.numpy` to keep it
    differentiable for higher orders. Forward mode differentiates `fun` itself.

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> @cr.custom_vjp
    ... def clip_gradient(x):
    ...     return x
    >>> clip_gradient.defvjp(lambda x: (x, None), lambda res, g: (np.clip(g, -1.0, 1.0),))
    >>> print(cr.grad(lambda x: 5.0 * clip_gradient(x))(2.0))
    1.0
    """

    def __init__(self, fun: Callable[..., Any]) -> None:
        self.fun = fun
        self.fwd: Callable[..., Any] | None = None
        self.bwd: Callable[..., Any] | None = None
        functools.update_wrapper(self, fun)

    def defvjp(self, fwd: Callable[..., Any], bwd: Callable[..., Any]) -> None:
        self.fwd, self.bwd = fwd, bwd

    def __call__(self, *args: Any) -> Any:
        if self.fwd is None or self.bwd is None:
            raise TypeError(
                f"custom_vjp function `{_name(self.fun)}` has no rule yet: call "
                f"`{_name(self.fun)}.defvjp(fwd, bwd)` first."
            )
        leaves, in_tree = tree.flatten(args)
        trace = top_trace(tuple(leaves))
        if not isinstance(trace, ReverseTrace):
            return self.fun(*args)
        vals, parents, _ = trace.unwrap(leaves)
        out, residuals = self.fwd(*tree.unflatten(in_tree, vals))
        out_leaves, out_tree = tree.flatten(out)
        bwd, n_args = self.bwd, len(args)

        def backward(g: list[Any]) -> list[Any]:
            cts = bwd(residuals, tree.unflatten(out_tree, g))
            if not isinstance(cts, tuple) or len(cts) != n_args:
                raise TypeError(
                    f"the bwd rule of custom_vjp function `{_name(self.fun)}` must return a "
                    f"tuple with one cotangent per argument ({n_args}), got {cts!r:.80}"
                )
            ct_leaves: list[Any] = []
            for arg, ct in zip(args, cts, strict=False):
                n = len(tree.leaves(arg))
                ct_leaves.extend([None] * n if ct is None else tree.leaves(ct))
            return [ct_leaves[p[0]] for p in parents]

        return tree.unflatten(out_tree, _record(trace, vals, parents, out_leaves, backward))


class custom_jvp:
    """Give `fun` your own forward-mode rule; reverse mode transposes it.

    ``rule(primals, tangents) -> (out, tangent_out)`` with `primals` and `tangents` tuples
    of the arguments. The rule must be linear in the tangents, which may carry leading
    batch axes (in `jacfwd`/`hessian`): write it with broadcasting operations.

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> @cr.custom_jvp
    ... def my_sin(x):
    ...     return np.sin(x)
    >>> my_sin.defjvp(lambda p, t: (my_sin(p[0]), np.cos(p[0]) * t[0]))
    >>> print(cr.grad(my_sin)(0.0), cr.derivative(my_sin)(0.0))
    1.0 1.0
    """

    def __init__(self, fun: Callable[..., Any]) -> None:
        self.fun = fun
        self.rule: Callable[..., Any] | None = None
        functools.update_wrapper(self, fun)

    def defjvp(self, rule: Callable[..., Any]) -> None:
        self.rule = rule

    def __call__(self, *args: Any) -> Any:
        rule = self.rule
        if rule is None:
            raise TypeError(
                f"custom_jvp function `{_name(self.fun)}` has no rule yet: call "
                f"`{_name(self.fun)}.defjvp(rule)` first."
            )
        leaves, in_tree = tree.flatten(args)
        trace = top_trace(tuple(leaves))
        if trace is None:
            return self.fun(*args)
        if isinstance(trace, JVPTrace):
            vals, tans, _ = trace.unwrap(leaves)
            tans = [
                zero_tangent(v, trace.batch_shape) if t is None else t
                for v, t in zip(vals, tans, strict=False)
            ]
            out, t_out = rule(tree.unflatten(in_tree, vals), tree.unflatten(in_tree, tans))
            out_leaves, out_tree = tree.flatten(out)
            return tree.unflatten(
                out_tree,
                [trace.wrap(o, t) for o, t in zip(out_leaves, tree.leaves(t_out), strict=False)],
            )
        assert isinstance(trace, ReverseTrace)
        vals, parents, _ = trace.unwrap(leaves)
        out = self.fun(*tree.unflatten(in_tree, vals))
        out_leaves, out_tree = tree.flatten(out)
        positions = [p[0] for p in parents]

        def tangent_map(ts: list[Any]) -> list[Any]:
            tans = [zero_tangent(v, ()) for v in vals]
            for i, t in zip(positions, ts, strict=False):
                tans[i] = t
            t_out = rule(tree.unflatten(in_tree, vals), tree.unflatten(in_tree, tans))[1]
            return list(tree.leaves(t_out))

        def backward(g: list[Any]) -> list[Any]:
            zeros = [zero_tangent(vals[i], ()) for i in positions]
            _, transpose = vjp_flat(tangent_map, zeros)
            return transpose(g)

        return tree.unflatten(out_tree, _record(trace, vals, parents, out_leaves, backward))


def checkpoint(fun: Callable[..., Any]) -> Callable[..., Any]:
    """`fun`, recomputed during the backward pass instead of storing its intermediates.

    Reverse mode then keeps only the inputs and outputs of `fun` on the tape, trading one
    extra forward pass for memory. The derivatives are the same.

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> layer = cr.checkpoint(lambda x: np.tanh(np.sin(x) * 2.0))
    >>> cr.grad(lambda x: layer(x).sum())(np.zeros(3))
    array([2., 2., 2.])
    """

    @functools.wraps(fun)
    def checkpointed(*args: Any) -> Any:
        leaves, in_tree = tree.flatten(args)
        trace = top_trace(tuple(leaves))
        if not isinstance(trace, ReverseTrace):
            return fun(*args)
        vals, parents, _ = trace.unwrap(leaves)
        out_leaves, out_tree = tree.flatten(fun(*tree.unflatten(in_tree, vals)))
        positions = [p[0] for p in parents]

        def rerun(xs: list[Any]) -> list[Any]:
            inputs = list(vals)
            for i, x in zip(positions, xs, strict=False):
                inputs[i] = x
            return list(tree.leaves(fun(*tree.unflatten(in_tree, inputs))))

        def backward(g: list[Any]) -> list[Any]:
            _, pull = vjp_flat(rerun, [vals[i] for i in positions])
            return pull(g)

        return tree.unflatten(out_tree, _record(trace, vals, parents, out_leaves, backward))

    return checkpointed
