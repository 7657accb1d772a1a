"""Reverse mode: record a tape while the function runs, then sweep it backwards.

The tape is a list of nodes in execution order, which is already a topological order:
the backward sweep walks it in reverse, hands each node's output cotangent to the
node's rules, and adds the results into the cotangents of its parents. Nodes that no
output depends on are skipped at the cost of one attribute check.

Nodes point at their parent *nodes*, never at tracers, so a finished trace holds no
reference cycle and its memory is freed as soon as it is dropped, without the garbage
collector.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .primitive import Primitive, argument_error, missing_rule, real_only_error
from .trace import Trace, Tracer, check_holomorphic, in_dtype_of, is_complex, zero_tangent

Parent = tuple[int, "Node", "int | None"]  # (argument position, node, output index)


class Node:
    """One recorded primitive call: what ran, on what, what it gave, and who fed it."""

    __slots__ = ("ans", "args", "ct", "params", "parents", "prim")

    def __init__(
        self,
        prim: Primitive | None,
        args: Sequence[Any],
        params: dict[str, Any],
        ans: Any,
        parents: Sequence[Parent],
    ) -> None:
        self.prim = prim
        self.args = args
        self.params = params
        self.ans = ans
        self.parents = parents
        self.ct: Any = None

    def release(self) -> None:
        """Drop the saved values (its rules will not run again): their memory can go."""
        self.args, self.params, self.ans = (), _NO_PARAMS, None


_NO_PARAMS: dict[str, Any] = {}


class VJPTracer(Tracer):
    """A value recorded on a tape; `index` picks one output of a multiple-output node."""

    __slots__ = ("index", "node")

    def __init__(self, value: Any, trace: ReverseTrace, node: Node, index: int | None = None):
        self.value = value
        self._trace = trace
        self.node = node
        self.index = index


class ReverseTrace(Trace):
    __slots__ = ("tape",)

    def __init__(self, owner: Any = None) -> None:
        super().__init__(owner)
        self.tape: list[Node] = []

    def new_input(self, value: Any) -> VJPTracer:
        return VJPTracer(value, self, Node(None, (), {}, value, ()))

    def unwrap(self, args: Sequence[Any]) -> tuple[list[Any], list[Parent], bool]:
        """Values at this level, the parents that are ours, and whether any value still
        carries tracers of lower levels (if not, the primitive can go straight to NumPy)."""
        vals = list(args)
        parents = []
        lower = False
        for i, a in enumerate(args):
            if isinstance(a, Tracer):
                if a._trace is self:
                    parents.append((i, a.node, a.index))  # type: ignore[attr-defined]
                    a = vals[i] = a.value
                lower = lower or isinstance(a, Tracer)
        return vals, parents, lower

    def finish(
        self,
        prim: Primitive,
        vals: Sequence[Any],
        params: dict[str, Any],
        ans: Any,
        parents: Sequence[Parent],
    ) -> Any:
        """Record the call on the tape; its result is traced by this node.

        A complex result of real arguments records the primitive's `onto_real` view, whose
        reverse rules give those arguments real cotangents.
        """
        dtype = getattr(ans, "dtype", None)  # (the hot path: one attribute for an array)
        if dtype.kind == "c" if dtype is not None else is_complex(ans):
            if prim.real_only:
                raise real_only_error(prim)
            real = tuple(i for i, _, _ in parents if not is_complex(vals[i]))
            if real:
                prim = prim.onto_real(real)
        node = Node(prim, vals, params, ans, parents)
        self.tape.append(node)
        if prim.multiple_results:
            return tuple(VJPTracer(a, self, node, k) for k, a in enumerate(ans))
        return VJPTracer(ans, self, node)

    def sweep(self, observer: Any = None, release: bool = False) -> None:
        """Propagate the seeded cotangents from the end of the tape to its inputs.

        With `release`, each node lets go of its saved values once its rules have run, so
        that the forward pass's arrays are freed during the sweep, not after it: less
        memory at the peak, for a backward pass that runs only once (as `grad`'s does).

        An `observer` (as `chainrule.explain` uses) sees each node's cotangent as it is
        reached, ``observer.node(node, g)`` (None entries kept for multiple results), and
        each contribution, ``observer.edge(node, g, i, parent, index, c, rule)`` with
        ``rule`` None for a joint rule.
        """
        for node in reversed(self.tape):
            g = node.ct
            if g is None:
                continue
            node.ct = None
            prim = node.prim
            assert prim is not None
            if observer is not None:
                observer.node(node, g)
            if prim.multiple_results:
                g = tuple(
                    zero_tangent(a) if c is None else c for a, c in zip(node.ans, g, strict=False)
                )
            if prim.vjp_all is not None:
                cts = prim.vjp_all(g, node.ans, *node.args, **node.params)
                for i, parent, index in node.parents:
                    add_cotangent(parent, index, cts[i])
                    if observer is not None and cts[i] is not None:
                        observer.edge(node, g, i, parent, index, cts[i], None)
                if release:
                    node.release()
                continue
            rules = prim.vjps
            for i, parent, index in node.parents:
                rule = rules[i] if i < len(rules) else None
                if rule is None:
                    raise (
                        argument_error(prim, i, "reverse")
                        if rules
                        else missing_rule(prim, "reverse")
                    )
                c = rule(g, node.ans, *node.args, **node.params)
                if index is None and c is not None:  # the common case, inlined
                    parent.ct = c if parent.ct is None else parent.ct + c
                else:
                    add_cotangent(parent, index, c)
                if observer is not None and c is not None:
                    observer.edge(node, g, i, parent, index, c, rule)
            if release:
                node.release()


class HolomorphicReverseTrace(ReverseTrace):
    """Reverse mode for ``holomorphic=True``: refuses a primitive that is not holomorphic."""

    __slots__ = ()

    def finish(
        self,
        prim: Primitive,
        vals: Sequence[Any],
        params: dict[str, Any],
        ans: Any,
        parents: Sequence[Parent],
    ) -> Any:
        check_holomorphic(self, prim, [vals[i] for i, _, _ in parents], ans)
        return super().finish(prim, vals, params, ans, parents)


def add_cotangent(node: Node, index: int | None, c: Any) -> None:
    """Add `c` into the cotangent of `node` (of its output `index`, if it has several)."""
    if c is None:
        return
    if index is None:
        node.ct = c if node.ct is None else node.ct + c
        return
    if node.ct is None:
        node.ct = [None] * len(node.ans)
    old = node.ct[index]
    node.ct[index] = c if old is None else old + c


def record(
    fun: Callable[[list[Any]], list[Any]], primals: Sequence[Any], holomorphic: bool = False
) -> tuple[ReverseTrace, list[VJPTracer], list[Any]]:
    """Run `fun` on a list of values, recording: the trace, its input tracers, the outputs.

    The one recording path of reverse mode: `vjp_flat` (so `grad`, `vjp`, `jacrev`) and
    `chainrule.explain` / `chainrule.draw` all record with it and sweep with `pull_back`.
    """
    trace = (HolomorphicReverseTrace if holomorphic else ReverseTrace)(fun)
    inputs = [trace.new_input(p) for p in primals]
    outs = fun(inputs)
    trace.end()
    return trace, inputs, outs


def pull_back(
    trace: ReverseTrace,
    inputs: Sequence[VJPTracer],
    outs: Sequence[Any],
    cotangents: Sequence[Any],
    observer: Any = None,
    release: bool = False,
) -> list[Any]:
    """Seed one cotangent per output (None for zero), sweep, and collect one per input.

    `observer` and `release` as in `ReverseTrace.sweep`.
    """
    for o, c in zip(outs, cotangents, strict=False):
        if type(o) is VJPTracer and o._trace is trace:
            add_cotangent(o.node, o.index, c)
    trace.sweep(observer, release)
    grads = []
    for x in inputs:
        ct = x.node.ct
        x.node.ct = None
        grads.append(zero_tangent(x.value) if ct is None else in_dtype_of(ct, x.value))
    return grads


def vjp_flat(
    fun: Callable[[list[Any]], list[Any]],
    primals: Sequence[Any],
    once: bool = False,
    holomorphic: bool = False,
) -> tuple[list[Any], Callable[[Sequence[Any]], list[Any]]]:
    """Run `fun` on a list of values, recording; return its outputs and the backward function.

    The backward function maps one cotangent per output (None for zero) to one cotangent
    per input, and may be called any number of times, or, with `once`, a single time: its
    sweep then frees the recording as it goes. With `holomorphic`, a primitive that is not
    holomorphic in a complex value raises.
    """
    trace, inputs, outs = record(fun, primals, holomorphic)
    values = [o.value if type(o) is VJPTracer and o._trace is trace else o for o in outs]

    def backward(cotangents: Sequence[Any]) -> list[Any]:
        return pull_back(trace, inputs, outs, cotangents, release=once)

    return values, backward
