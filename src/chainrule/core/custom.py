"""Your own derivative rules, constants, and recomputation to save memory.

`custom_vjp`, `custom_jvp` and `checkpoint` all end up recording one node on the reverse
tape whose backward pass is a single function (`_record`); they differ only in what that
function does: call your rule, transpose your forward rule, or re-run the function.

What a rule returns is checked as JAX checks it: one (co)tangent per argument (or output),
in the same containers, each with the shape and dtype of its value; None stands for zeros.
Keyword arguments are bound to positions by the function's signature, defaults included.

Under `vmap`, a custom function is batched as JAX batches it: the function and its rules
run on the whole batch (each through `vmap` itself), so ``grad(vmap(f))`` still uses your
rule; the cotangent of an argument shared by every example is summed over the batch.

`checkpoint` also differentiates through the values its function closes over: while the
function first runs, its trace records on a separate segment and notes every tracer from
before that the function uses; in the backward pass, those tracers stand for inputs of
the re-run, beside the arguments.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import numpy as np

from .. import tree
from .batching import RUNNING, BatchTrace, BatchTracer, batch_flat
from .forward import JVPTrace
from .primitive import BODIES, Primitive, own_body, owning
from .reverse import Node, Parent, ReverseTrace, VJPTracer, vjp_flat
from .staging import StagedTracer, plain_line
from .trace import (
    LeakedTracerError,
    Trace,
    Tracer,
    dtype_of,
    is_float,
    primal,
    shape_of,
    top_trace,
    zero_tangent,
)

__all__ = ["checkpoint", "custom_jvp", "custom_vjp", "stop_gradient"]

_Rule = TypeVar("_Rule", bound=Callable[..., Any])


def stop_gradient(x: Any) -> Any:
    """`x` as a constant: every transform sees a zero derivative through it.

    Accepts a pytree. Use it for values that must not be differentiated, e.g. a target
    computed from the parameters.

    >>> import chainrule as cr
    >>> print(cr.grad(lambda x: x * cr.stop_gradient(x))(3.0))
    3.0
    """
    return tree.map(_stopped, x)


def _stopped(x: Any) -> Any:
    """One leaf of `stop_gradient`. A value `jit` or a control-flow body is tracing becomes
    a line that stops the derivative each time the program runs: a body is differentiated
    after it is traced, by replaying its lines on the transforms' values."""
    body = own_body() if BODIES else None
    if body is not None and isinstance(x, Tracer) and x._trace.level < body.level:
        return _stop_line(body, x)  # (a value the body closes over: lifted into it whole)
    x = primal(x)
    if isinstance(x, BatchTracer):  # (a batch being traced: the line inside it)
        value = _stopped(x.value)
        return x if value is x.value else BatchTracer(value, x.bdim, x._trace)  # type: ignore[arg-type]
    return _stop_line(x._trace, x) if isinstance(x, StagedTracer) else x


def _stop_line(trace: Any, x: Any) -> Any:
    """`stop_gradient` of `x` as a line of the program `trace` is recording."""
    return plain_line(_stopped, "stop_gradient", [x], trace)


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
        for i, c in zip(positions, backward(g), strict=True):
            cts[i] = c
        return cts

    return list(trace.finish(_custom, vals, {"backward": spread}, tuple(out_leaves), parents))


# ---------------------------------------------------------------------------- checking rules


def _signature(fun: Callable[..., Any]) -> inspect.Signature | None:
    try:
        return inspect.signature(fun)
    except (TypeError, ValueError):  # no signature to bind with (a builtin)
        return None


def _positional(
    kind: str, fun: Callable[..., Any], signature: inspect.Signature | None, args: Any, kwargs: Any
) -> tuple[Any, ...]:
    """The call's arguments as one positional tuple, bound by `fun`'s signature with its
    defaults, as JAX does: the rules then see (and return) one entry per argument."""
    if signature is None:
        if kwargs:
            raise TypeError(
                f"{kind} function `{_name(fun)}` has no signature to bind the keyword "
                f"arguments {sorted(kwargs)} with: pass them by position."
            )
        return tuple(args)
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError as e:
        raise TypeError(f"{kind} function `{_name(fun)}`: {e}.") from None
    bound.apply_defaults()
    keyword_only = [k for k in bound.kwargs if k in kwargs]
    if keyword_only:
        raise TypeError(
            f"{kind} function `{_name(fun)}`: its rules take the arguments by position, so the "
            f"keyword-only argument(s) {keyword_only} cannot be passed. Make them ordinary "
            "parameters, or let the function close over them."
        )
    return bound.args


_LEAF = tree.structure(0.0)


def _children(x: Any) -> tuple[list[Any], tree.TreeDef]:
    """The direct children of a container `x` (just `[x]`, with a leaf structure, for a leaf)."""
    return tree.flatten(x, is_leaf=lambda y: y is not x)


def _align(given: Any, like: Any, out: list[Any]) -> bool:
    """Append to `out` one entry of `given` per leaf of `like`, where `given` has `like`'s
    containers except that None may stand for a whole subtree of zeros. False on a mismatch."""
    if given is None:
        out.extend([None] * tree.structure(like).num_leaves)
        return True
    like_kids, like_def = _children(like)
    given_kids, given_def = _children(given)
    if like_def == _LEAF:
        out.append(given)
        return given_def == _LEAF
    return given_def == like_def and all(
        _align(g, x, out) for g, x in zip(given_kids, like_kids, strict=True)
    )


def _checked(value: Any, like: Any, batch: tuple[int, ...], what: Callable[[], str]) -> Any:
    """A (co)tangent a rule returned for `like` (with `batch` leading axes): an array of its
    shape and dtype. A Python float takes that dtype, as JAX's weakly typed scalars do."""
    dtype = dtype_of(like)
    if type(value) is float:  # a Python float, not a NumPy float64 (its subclass)
        value = np.asarray(value, dtype)
    if not isinstance(value, (np.ndarray, np.generic, Tracer)):
        raise TypeError(f"{what()} is a {type(value).__name__} ({value!r:.40}), not an array.")
    shape = (*batch, *shape_of(like))
    if tuple(value.shape) != shape or dtype_of(value) != dtype:
        raise ValueError(
            f"{what()} has shape {tuple(value.shape)} and dtype {dtype_of(value)}, but must "
            f"have shape {shape} and dtype {dtype}, those of the value it goes with."
        )
    return value


def _input(rule: str, args: tuple[Any, ...], i: int) -> str:
    """Which argument (and which leaf of it) input leaf `i` is, for error messages."""
    for k, arg in enumerate(args):
        size = tree.structure(arg).num_leaves
        if i < size:
            return f"{rule}: the cotangent for argument {k}" + (
                f" (its leaf {i})" if size > 1 else ""
            )
        i -= size
    raise AssertionError("unreachable")


def _output(rule: str, k: int) -> str:
    return f"{rule}: the tangent for output leaf {k}"


def _refuse_closure(
    trace: Trace, leaves: Sequence[Any], what: str, until: int | None = None
) -> None:
    """A rule sees its arguments' values only: a tracer of this transform (or a later one
    opened before level `until`) among its results came from a variable the function closes
    over, whose derivative the rule cannot give. JAX refuses this too. (Transforms opened
    after the function ran wrap its backward pass, as `jacrev` maps it with `vmap`: their
    tracers come in with the cotangents.)"""
    for x in leaves:
        level = x._trace.level if isinstance(x, Tracer) else -1
        if trace.level <= level and (until is None or level < until):
            raise _closure_error(what)


def _pair(result: Any, rule: str, names: str) -> tuple[Any, Any]:
    """A rule's result, checked to be the pair it must return."""
    if not (isinstance(result, (tuple, list)) and len(result) == 2):
        raise TypeError(
            f"{rule} must return a pair {names}, but it returned {type(result).__name__}."
        )
    return result[0], result[1]


def _closure_error(what: str) -> TypeError:
    return TypeError(
        f"{what} uses a value being differentiated that is not one of its arguments "
        "(a variable it closes over?): its custom rule cannot give that value a "
        "derivative. Pass the value as an argument."
    )


# ---------------------------------------------------------------------------- under vmap


def _batch_at(x: Any, d: int | None, axis: int | None, size: int) -> Any:
    """A batched value `x` (batch axis `d`, None if it does not depend on the batch) with
    its batch on `axis`: moved there, or broadcast along a new axis there; summed over,
    for `axis` None (the cotangent of a value shared by every example)."""
    if axis is None:
        return x if d is None else np.sum(x, axis=d)
    if d is None:
        shape = tuple(shape_of(x))
        return np.broadcast_to(np.expand_dims(x, axis), (*shape[:axis], size, *shape[axis:]))
    return x if d == axis else np.moveaxis(x, d, axis)


def _run_batched(
    fun: Callable[..., Any],
    in_tree: tree.TreeDef,
    xs: Sequence[Any],
    dims: Sequence[int | None],
    size: int,
) -> Any:
    """`fun` of the arguments `in_tree` describes, run on the batched leaves `xs`: its
    output, every leaf with the batch first (the one layout a custom function's rules and
    its outputs must agree on)."""
    structure: list[Any] = []

    def flat(ys: list[Any]) -> list[Any]:
        out_leaves, out_tree = tree.flatten(fun(*tree.unflatten(in_tree, ys)))
        structure.append(out_tree)
        return out_leaves

    outs, out_dims = batch_flat(flat, xs, dims, size)
    first = [_batch_at(o, d, 0, size) for o, d in zip(outs, out_dims, strict=True)]
    return tree.unflatten(structure[0], first)


def _rewrapped(trace: BatchTrace, out: Any, what: str) -> Any:
    """The outputs of a batched custom function, every one batched on axis 0, as `trace`'s."""
    leaves, out_tree = tree.flatten(out)
    _refuse_closure(trace, leaves, what)
    return tree.unflatten(out_tree, [trace.wrap(o, 0) for o in leaves])


def _body(trace: Trace | None) -> Any:
    """The body of a loop or branch being traced that a call on values of `trace` belongs
    to (as a primitive's does: closed-over values are captured), or None."""
    owner = owning(trace) if trace is not None else None
    return owner if owner is not None and owner in BODIES else None


def _line(body: Any, fn: Callable[..., Any], leaves: list[Any], in_tree: Any, name: str) -> Any:
    """A call of the custom-rule function `fn` in a body: one line of it that calls `fn`
    itself, so that a rule replaying the body on tracers (reverse mode, forward mode,
    `vmap`) applies `fn`'s own rule; on plain arrays it runs `fn`'s function. (Recorded
    as its function's lines, the body would be differentiated by their rules instead.)"""
    vals, refs = body.refs(name, leaves)
    out_leaves, out_tree = body.attempt(
        lambda *xs: tree.flatten(fn(*tree.unflatten(in_tree, list(xs)))), vals, refs
    )

    def line(*xs: Any) -> tuple[Any, ...]:
        return tuple(tree.leaves(fn(*tree.unflatten(in_tree, list(xs)))))

    outs = body.record(line, name, refs, {}, tuple(out_leaves), True)
    return tree.unflatten(out_tree, list(outs))


# ---------------------------------------------------------------------------- custom_vjp


class custom_vjp:
    """Give `fun` your own reverse-mode rule.

    ``fwd(*args) -> (out, residuals)`` computes the output and whatever the backward pass
    needs; ``bwd(residuals, g) -> tuple`` returns one cotangent per argument, each with the
    structure, shape and dtype of its argument (None for a zero cotangent, of an argument
    or of any part of one). Write `bwd` with `chainrule.numpy` to keep it differentiable
    for higher orders. Forward mode differentiates `fun` itself.

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
        self._signature = _signature(fun)
        functools.update_wrapper(self, fun)

    def defvjp(self, fwd: Callable[..., Any], bwd: Callable[..., Any]) -> None:
        self.fwd, self.bwd = fwd, bwd

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        fwd, bwd, name = self.fwd, self.bwd, _name(self.fun)
        if fwd is None or bwd is None:
            raise TypeError(
                f"custom_vjp function `{name}` has no rule yet: call `{name}.defvjp(fwd, bwd)` "
                "first."
            )
        args = _positional("custom_vjp", self.fun, self._signature, args, kwargs)
        leaves, in_tree = tree.flatten(args)
        trace = top_trace(tuple(leaves))
        body = _body(trace)
        if body is not None:
            return _line(body, self, leaves, in_tree, f"custom_vjp {name}")
        if isinstance(trace, BatchTrace):
            return self._batched(trace, leaves, in_tree)
        if not isinstance(trace, ReverseTrace):
            return self.fun(*args)
        vals, parents, _ = trace.unwrap(leaves)
        out, residuals = _pair(
            fwd(*tree.unflatten(in_tree, vals)),
            f"the fwd rule `{_name(fwd)}` of custom_vjp function `{name}`",
            "(output, residuals)",
        )
        out_leaves, out_tree = tree.flatten(out)
        _refuse_closure(trace, out_leaves + tree.leaves(residuals), f"custom_vjp function `{name}`")
        ran = Trace().level  # every transform opened from now on is newer than the function
        positions = [p[0] for p in parents]

        def backward(g: list[Any]) -> list[Any]:
            try:
                cts = bwd(residuals, tree.unflatten(out_tree, g))
            except LeakedTracerError:  # a closed-over value of a transform now sweeping back
                raise _closure_error(f"custom_vjp function `{name}`") from None
            ct_leaves = self._cotangents(cts, args, positions, trace, ran)
            return [ct_leaves[i] for i in positions]

        return tree.unflatten(out_tree, _record(trace, vals, parents, out_leaves, backward))

    def _cotangents(
        self,
        cts: Any,
        args: tuple[Any, ...],
        positions: list[int],
        trace: Trace | None,
        ran: int | None = None,
    ) -> list[Any]:
        """What `bwd` returned, one checked cotangent per leaf of `args` at `positions`
        (None elsewhere); a tracer of `trace`, or of a transform opened before the function
        had `ran`, among them is refused (a closure)."""
        assert self.bwd is not None
        name = _name(self.fun)
        rule = f"the bwd rule `{_name(self.bwd)}` of custom_vjp function `{name}`"
        if isinstance(cts, list) and len(cts) == len(args):
            cts = tuple(cts)
        ct_leaves: list[Any] = []
        if not (isinstance(cts, tuple) and _align(cts, args, ct_leaves)):
            raise TypeError(
                f"{rule} must return a tuple with one cotangent per argument "
                f"({len(args)}), each with its argument's structure (None for zeros), but "
                f"it returned structure {tree.structure(cts)} for arguments of structure "
                f"{tree.structure(args)}."
            )
        if trace is not None:
            _refuse_closure(trace, ct_leaves, f"custom_vjp function `{name}`", ran)
        like = tree.leaves(args)
        out: list[Any] = [None] * len(like)
        for i in positions:
            if ct_leaves[i] is not None:
                what = functools.partial(_input, rule, args, i)
                out[i] = _checked(ct_leaves[i], like[i], (), what)
        return out

    def _batched(self, trace: BatchTrace, leaves: list[Any], in_tree: tree.TreeDef) -> Any:
        """The call under `vmap`: a custom_vjp function of the whole batch, whose function
        and rules are this one's mapped over it, applied to the values under the batch."""
        args = tree.unflatten(in_tree, leaves)
        vals, dims, _ = trace.unwrap(leaves)
        if not any(isinstance(v, Tracer) for v in vals):  # no derivative is taken
            return self.fun(*args)
        fwd, bwd, size = self.fwd, self.bwd, trace.size
        assert fwd is not None and bwd is not None
        name = _name(self.fun)
        traced = [i for i, v in enumerate(vals) if isinstance(v, Tracer)]

        def fun_b(*xs: Any) -> Any:
            return _run_batched(self.fun, in_tree, xs, dims, size)

        def fwd_b(*xs: Any) -> Any:
            split: list[Any] = []

            def flat(ys: list[Any]) -> list[Any]:
                out, res = _pair(
                    fwd(*tree.unflatten(in_tree, ys)),
                    f"the fwd rule `{_name(fwd)}` of custom_vjp function `{name}`",
                    "(output, residuals)",
                )
                out_leaves, out_tree = tree.flatten(out)
                res_leaves, res_tree = tree.flatten(res)
                split[:] = out_tree, res_tree, len(out_leaves)
                return out_leaves + res_leaves

            outs, out_dims = batch_flat(flat, xs, dims, size)
            out_tree, res_tree, n = split
            first = [_batch_at(o, d, 0, size) for o, d in zip(outs[:n], out_dims[:n], strict=True)]
            return tree.unflatten(out_tree, first), (res_tree, outs[n:], out_dims[n:])

        def bwd_b(res: Any, g: Any) -> tuple[Any, ...]:
            res_tree, res_vals, res_dims = res
            g_leaves, g_tree = tree.flatten(g)
            k = len(res_vals)

            def flat(ys: list[Any]) -> list[Any]:
                cts = bwd(tree.unflatten(res_tree, ys[:k]), tree.unflatten(g_tree, ys[k:]))
                return self._cotangents(cts, args, traced, None)

            cts, ct_dims = batch_flat(
                flat, res_vals + g_leaves, res_dims + [0] * len(g_leaves), size
            )
            return tuple(
                None if c is None else _batch_at(c, e, d, size)
                for c, e, d in zip(cts, ct_dims, dims, strict=True)
            )

        fun_b.__name__, fwd_b.__name__, bwd_b.__name__ = name, _name(fwd), _name(bwd)
        batched = custom_vjp(fun_b)
        batched.defvjp(fwd_b, bwd_b)
        return _rewrapped(trace, batched(*vals), f"custom_vjp function `{name}`")


# ---------------------------------------------------------------------------- custom_jvp


class custom_jvp:
    """Give `fun` your own forward-mode rule; reverse mode transposes it.

    ``rule(primals, tangents) -> (out, tangent_out)`` with `primals` and `tangents` tuples
    of the arguments; `tangent_out` has the structure of `out` (None for zeros) and each
    leaf the shape and dtype of its output. The rule must be linear in the tangents, which
    may carry leading batch axes (in `jacfwd`/`hessian`): write it with broadcasting
    operations.

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> @cr.custom_jvp
    ... def my_sin(x):
    ...     return np.sin(x)
    >>> @my_sin.defjvp
    ... def my_sin_jvp(primals, tangents):
    ...     return my_sin(primals[0]), np.cos(primals[0]) * tangents[0]
    >>> print(cr.grad(my_sin)(0.0), cr.derivative(my_sin)(0.0))
    1.0 1.0
    """

    def __init__(self, fun: Callable[..., Any]) -> None:
        self.fun = fun
        self.rule: Callable[..., Any] | None = None
        self._signature = _signature(fun)
        functools.update_wrapper(self, fun)

    def defjvp(self, rule: _Rule) -> _Rule:
        """Set the rule; returns it, as JAX does, so that ``@f.defjvp`` works as a decorator."""
        self.rule = rule
        return rule

    def _apply(
        self, rule: Callable[..., Any], primals: Any, tangents: Any, batch: tuple[int, ...]
    ) -> tuple[list[Any], Any, list[Any]]:
        """Call the rule; its output leaves, their structure, and one checked tangent each."""
        name = _name(self.fun)
        what = f"the rule `{_name(rule)}` of custom_jvp function `{name}`"
        out, t_out = _pair(rule(primals, tangents), what, "(output, tangent)")
        out_leaves, out_tree = tree.flatten(out)
        t_leaves: list[Any] = []
        if not _align(t_out, out, t_leaves):
            raise TypeError(
                f"{what} must return a tangent with the structure of its output, but it "
                f"returned structure {tree.structure(t_out)} for an output of structure "
                f"{out_tree}."
            )
        return (
            out_leaves,
            out_tree,
            [
                None
                if t is None or not is_float(dtype_of(o))
                else _checked(t, o, batch, functools.partial(_output, what, k))
                for k, (o, t) in enumerate(zip(out_leaves, t_leaves, strict=True))
            ],
        )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        rule, name = self.rule, _name(self.fun)
        if rule is None:
            raise TypeError(
                f"custom_jvp function `{name}` has no rule yet: call `{name}.defjvp(rule)` first."
            )
        args = _positional("custom_jvp", self.fun, self._signature, args, kwargs)
        leaves, in_tree = tree.flatten(args)
        trace = top_trace(tuple(leaves))
        body = _body(trace)
        if body is not None:
            return _line(body, self, leaves, in_tree, f"custom_jvp {name}")
        if trace is None:
            return self.fun(*args)
        if isinstance(trace, BatchTrace):
            return self._batched(trace, leaves, in_tree)
        if isinstance(trace, JVPTrace):
            vals, tans, _ = trace.unwrap(leaves)
            tans = [
                zero_tangent(v, trace.batch_shape) if t is None else t
                for v, t in zip(vals, tans, strict=True)
            ]
            primals, tangents = tree.unflatten(in_tree, vals), tree.unflatten(in_tree, tans)
            out_leaves, out_tree, t_leaves = self._apply(rule, primals, tangents, trace.batch_shape)
            _refuse_closure(trace, out_leaves + t_leaves, f"custom_jvp function `{name}`")
            return tree.unflatten(
                out_tree, [trace.wrap(o, t) for o, t in zip(out_leaves, t_leaves, strict=True)]
            )
        if not isinstance(trace, ReverseTrace):  # jit: record the function's own primitives
            return self.fun(*args)
        vals, parents, _ = trace.unwrap(leaves)
        # (itself on the values, not `fun`: they may be traced by a transform below this one,
        # a `jacfwd` taking the Hessian, whose derivative is then the rule's too)
        out = self(*tree.unflatten(in_tree, vals))
        out_leaves, out_tree = tree.flatten(out)
        _refuse_closure(trace, out_leaves, f"custom_jvp function `{name}`")
        positions = [p[0] for p in parents]

        def tangent_map(ts: list[Any]) -> list[Any]:
            tans = [zero_tangent(v, ()) for v in vals]
            for i, t in zip(positions, ts, strict=True):
                tans[i] = t
            primals, tangents = tree.unflatten(in_tree, vals), tree.unflatten(in_tree, tans)
            _, rule_tree, t_leaves = self._apply(rule, primals, tangents, ())
            if rule_tree != out_tree:
                raise TypeError(
                    f"the rule `{_name(rule)}` of custom_jvp function `{name}` returned an "
                    f"output of structure {rule_tree}, but the function returns {out_tree}."
                )
            return [
                zero_tangent(o, ()) if t is None else t
                for o, t in zip(out_leaves, t_leaves, strict=True)
            ]

        def backward(g: list[Any]) -> list[Any]:
            zeros = [zero_tangent(vals[i], ()) for i in positions]
            _, transpose = vjp_flat(tangent_map, zeros)
            return transpose(g)

        return tree.unflatten(out_tree, _record(trace, vals, parents, out_leaves, backward))

    def _batched(self, trace: BatchTrace, leaves: list[Any], in_tree: tree.TreeDef) -> Any:
        """The call under `vmap`: a custom_jvp function of the whole batch, whose function
        and rule are this one's mapped over it, applied to the values under the batch."""
        args = tree.unflatten(in_tree, leaves)
        vals, dims, _ = trace.unwrap(leaves)
        if not any(isinstance(v, Tracer) for v in vals):  # no derivative is taken
            return self.fun(*args)
        rule, size, n, name = self.rule, trace.size, len(vals), _name(self.fun)
        assert rule is not None

        def fun_b(*xs: Any) -> Any:
            return _run_batched(self.fun, in_tree, xs, dims, size)

        def rule_b(primals: Any, tangents: Any) -> tuple[Any, Any]:
            # the tangents may carry leading axes of their own (jacfwd's): the batch is after
            t0, p0 = tuple(shape_of(tangents[0])), shape_of(primals[0])
            lead = t0[: len(t0) - len(p0)]
            split: list[Any] = []

            def flat(ys: list[Any]) -> list[Any]:
                ps, ts = tree.unflatten(in_tree, ys[:n]), tree.unflatten(in_tree, ys[n:])
                out_leaves, out_tree, t_leaves = self._apply(rule, ps, ts, lead)
                split[:] = out_tree, len(out_leaves)
                return out_leaves + t_leaves

            t_dims = [None if d is None else d + len(lead) for d in dims]
            outs, out_dims = batch_flat(flat, [*primals, *tangents], [*dims, *t_dims], size)
            out_tree, k = split
            out = [_batch_at(o, d, 0, size) for o, d in zip(outs[:k], out_dims[:k], strict=True)]
            tans = [
                None if t is None else _batch_at(t, e, len(lead), size)
                for t, e in zip(outs[k:], out_dims[k:], strict=True)
            ]
            return tree.unflatten(out_tree, out), tree.unflatten(out_tree, tans)

        fun_b.__name__, rule_b.__name__ = name, _name(rule)
        batched = custom_jvp(fun_b)
        batched.defjvp(rule_b)
        return _rewrapped(trace, batched(*vals), f"custom_jvp function `{name}`")


# ---------------------------------------------------------------------------- checkpoint


class _Segment(list[Node]):
    """The tape a checkpointed function records on while it runs forward: discarded after,
    it serves to find the tracers from before it (values the function closes over)."""

    def __init__(self) -> None:
        super().__init__()
        self.inner: set[int] = set()  # ids of the nodes recorded here (the first `seen`)
        self.seen = 0
        self.closed_over: dict[tuple[int, int | None], VJPTracer] = {}

    def note(self, tracers: Sequence[Any]) -> None:
        """Keep those of `tracers` (of this trace) that were not recorded here."""
        self.inner.update(id(node) for node in self[self.seen :])
        self.seen = len(self)
        for t in tracers:
            if id(t.node) not in self.inner:
                self.closed_over.setdefault((id(t.node), t.index), t)

    def missed(self) -> bool:
        """Whether a node here has a parent from before that no noted tracer stands for (the
        re-run could not make it an input): a guard, `note` sees every use of a tracer."""
        self.note([])
        return any(
            id(parent) not in self.inner and (id(parent), index) not in self.closed_over
            for node in self
            for _, parent, index in node.parents
        )


class _Capturing(ReverseTrace):
    """A reverse trace whose every use of its own tracers is noted in its `_Segment` tape."""

    __slots__ = ()

    def unwrap(self, args: Sequence[Any]) -> tuple[list[Any], list[Parent], bool]:
        vals, parents, lower = super().unwrap(args)
        assert isinstance(self.tape, _Segment)
        self.tape.note([args[i] for i, _, _ in parents])
        return vals, parents, lower


@contextmanager
def _capturing(trace: ReverseTrace) -> Iterator[_Segment]:
    """Run a block with `trace` recording on a fresh segment and noting closed-over tracers."""
    tape, cls, segment = trace.tape, type(trace), _Segment()
    trace.tape, trace.__class__ = segment, _Capturing
    try:
        yield segment
    finally:
        trace.tape, trace.__class__ = tape, cls
        if isinstance(tape, _Segment):  # a checkpoint inside a checkpoint: pass them up
            tape.note(list(segment.closed_over.values()))


@contextmanager
def _recomputed() -> Iterator[None]:
    """Run a block that the backward pass runs again: random draws there are refused (the
    second run would draw others: `staging.replaying`)."""
    running = RUNNING
    running.recomputed += 1
    try:
        yield
    finally:
        running.recomputed -= 1


@contextmanager
def _rebound(tracers: Sequence[VJPTracer], inputs: Sequence[Any]) -> Iterator[None]:
    """Let each of `tracers` stand for the matching input of a new trace while a block runs:
    the function's closed-over values become inputs of its re-run, as its arguments are."""
    saved = [(t._trace, t.node, t.index) for t in tracers]
    for t, x in zip(tracers, inputs, strict=True):
        t._trace, t.node, t.index = x._trace, x.node, x.index
    try:
        yield
    finally:
        for t, (tr, node, index) in zip(tracers, saved, strict=True):
            t._trace, t.node, t.index = tr, node, index


def checkpoint(fun: Callable[..., Any]) -> Callable[..., Any]:
    """`fun`, recomputed during the backward pass instead of storing its intermediates.

    Reverse mode then keeps only the inputs and outputs of `fun` on the tape, trading one
    extra forward pass for memory. The derivatives are the same, also with respect to
    values `fun` closes over (those become inputs of the recomputation) and with keyword
    arguments (any non-array argument is a constant). If no argument is being
    differentiated, `fun` runs and is recorded as usual. Since it runs twice, `fun` must
    compute the same values both times: chainrule's own random draws from a Generator
    (`nn.Dropout`, initialisers) refuse inside it; draw your own outside and pass them in.

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> layer = cr.checkpoint(lambda x: np.tanh(np.sin(x) * 2.0))
    >>> cr.grad(lambda x: layer(x).sum())(np.zeros(3))
    array([2., 2., 2.])
    """

    @functools.wraps(fun)
    def checkpointed(*args: Any, **kwargs: Any) -> Any:
        leaves, in_tree = tree.flatten((args, kwargs))
        trace = top_trace(tuple(leaves))
        if isinstance(trace, BatchTrace):
            return _batched_checkpoint(trace, leaves, in_tree)
        if not isinstance(trace, ReverseTrace):
            return fun(*args, **kwargs)

        def call(inputs: list[Any]) -> Any:
            a, kw = tree.unflatten(in_tree, inputs)
            return fun(*a, **kw)

        vals, parents, _ = trace.unwrap(leaves)
        with _capturing(trace) as segment, _recomputed():
            outs, out_tree = tree.flatten(call(vals))
            segment.note([o for o in outs if isinstance(o, Tracer) and o._trace is trace])
        if segment.missed() or any(
            isinstance(o, Tracer) and o._trace.level > trace.level for o in outs
        ):
            # a closed-over value the re-run cannot take as an input (one traced by a
            # transform opened inside this one): record the function as usual instead
            return fun(*args, **kwargs)
        closed = list(segment.closed_over.values())
        outs = [o.value if isinstance(o, Tracer) and o._trace is trace else o for o in outs]
        n, positions = len(vals), [p[0] for p in parents]
        parents = parents + [(n + k, t.node, t.index) for k, t in enumerate(closed)]
        vals = vals + [t.value for t in closed]
        del segment

        def rerun(xs: list[Any]) -> list[Any]:
            inputs = vals[:n]
            for i, x in zip(positions, xs, strict=False):
                inputs[i] = x
            stand_ins = xs[len(positions) :]
            with _rebound(closed, stand_ins):
                outs = tree.leaves(call(inputs))
            # a closed-over value returned as it is was its stand-in only while rebound
            swap = {id(t): x for t, x in zip(closed, stand_ins, strict=True)}
            return [swap.get(id(o), o) for o in outs]

        def backward(g: list[Any]) -> list[Any]:
            _, pull = vjp_flat(rerun, [vals[p[0]] for p in parents])
            return pull(g)

        return tree.unflatten(out_tree, _record(trace, vals, parents, outs, backward))

    def _batched_checkpoint(trace: BatchTrace, leaves: list[Any], in_tree: tree.TreeDef) -> Any:
        """Under `vmap`: the checkpoint of `fun` mapped over the batch, so that the backward
        pass recomputes the whole batch in one go."""
        a, kw = tree.unflatten(in_tree, leaves)
        vals, dims, _ = trace.unwrap(leaves)
        if any(isinstance(v, Tracer) for v in vals):
            size = trace.size

            def fun_b(*xs: Any) -> Any:
                return _run_batched(lambda a, kw: fun(*a, **kw), in_tree, xs, dims, size)

            out = checkpoint(fun_b)(*vals)
            outs, out_tree = tree.flatten(out)
            if not any(isinstance(o, Tracer) and o._trace.level >= trace.level for o in outs):
                return tree.unflatten(out_tree, [trace.wrap(o, 0) for o in outs])
            # it closes over a value of this batch: mapped as it runs, without recomputation
        return fun(*a, **kw)

    return checkpointed
