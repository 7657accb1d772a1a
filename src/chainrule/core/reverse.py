"""Reverse mode: record a tape while the function runs, then sweep it backwards.

The tape is a list of nodes in execution order, which is already a topological order:
the backward sweep walks it in reverse, hands each node's output cotangent to the
node's rules, and adds the results into the cotangents of its parents. Nodes that no
output depends on are skipped at the cost of one attribute check.

Nodes point at their parent *nodes*, never at tracers, so a finished trace holds no
reference cycle and its memory is freed as soon as it is dropped, without the garbage
collector.

Memory: a node of `vjp_flat` keeps only the values its rules read (`Primitive.saves`), and
the sweep adds cotangents in place into the buffers it allocated itself (never into a
user's seed or a rule's result, which may alias another value).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .primitive import Primitive, argument_error, missing_rule, real_only_error
from .trace import Trace, Tracer, check_holomorphic, in_dtype_of, is_complex, zero_tangent

Parent = tuple[int, "Node", "int | None"]  # (argument position, node, output index)


class Node:
    """One recorded primitive call: what ran, on what, what it gave, and who fed it."""

    __slots__ = ("ans", "args", "ct", "own", "params", "parents", "prim")

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
        self.own = False  # whether `ct` is a buffer the sweep allocated (so may add into)

    def release(self) -> None:
        """Drop the saved values (its rules will not run again): their memory can go."""
        self.args, self.params, self.ans = (), _NO_PARAMS, None


_NO_PARAMS: dict[str, Any] = {}

# A result smaller than this keeps its node's values: every array a node could let go is
# at most the size of its result (an elementwise function's arguments, a product's result),
# and below it the saving is no more than the bookkeeping.
LEAN_BYTES = 1 << 16


class Released:
    """Stands on the tape for an array that the node's rules do not read (`Primitive.saves`).

    Its shape and dtype stay (rules unbroadcast to the shape and check the dtype); its
    memory goes. Reading its entries raises: a wrong declaration fails loudly, not with a
    wrong number.
    """

    __slots__ = ("dtype", "prim", "shape")

    def __init__(self, value: np.ndarray, prim: Primitive) -> None:
        self.shape, self.dtype, self.prim = value.shape, value.dtype, prim

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        if func is np.shape:
            return self.shape
        if func is np.ndim:
            return self.ndim
        if func is np.result_type and len(args) == 1:
            return self.dtype
        raise self._error()

    def __array_ufunc__(self, *args: Any, **kwargs: Any) -> Any:
        raise self._error()

    def __array__(self, *args: Any, **kwargs: Any) -> Any:
        raise self._error()

    def _error(self) -> RuntimeError:
        return RuntimeError(
            f"chainrule: a reverse rule of {self.prim.name} read a value that its residual "
            f"declaration (saves = {self.prim.saves}) says it does not need: a bug in that "
            'declaration (`defsaves`). Declare every argument the rules read (and "ans" '
            "if they read the result), or leave the primitive undeclared to keep everything."
        )


class VJPTracer(Tracer):
    """A value recorded on a tape; `index` picks one output of a multiple-output node."""

    __slots__ = ("index", "node")

    def __init__(self, value: Any, trace: ReverseTrace, node: Node, index: int | None = None):
        self.value = value
        self._trace = trace
        self.node = node
        self.index = index


class ReverseTrace(Trace):
    """A tape; with `lean`, each node keeps only what its rules read (`Primitive.saves`)."""

    __slots__ = ("lean", "tape")

    def __init__(self, owner: Any = None, lean: bool = False) -> None:
        super().__init__(owner)
        self.tape: list[Node] = []
        self.lean = lean

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
        saves = prim.saves
        if saves is not None and self.lean and getattr(ans, "nbytes", 0) >= LEAN_BYTES:
            kept, saved = _residuals(prim, saves, vals, ans)
            node = Node(prim, kept, params, saved, parents)
        else:
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
            if node.own:
                node.own = False
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
                    if parent.ct is None:
                        parent.ct = c  # (`own` is False whenever `ct` is None)
                    elif parent.own:
                        accumulate(parent, c)
                    else:  # a first sum: a new buffer, the sweep's own
                        parent.ct = total = parent.ct + c
                        parent.own = type(total) is np.ndarray
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
        if node.ct is None:
            node.ct = c
        else:
            accumulate(node, c)
        return
    if node.ct is None:
        node.ct = [None] * len(node.ans)
    old = node.ct[index]
    node.ct[index] = c if old is None else old + c


def accumulate(node: Node, c: Any) -> None:
    """``node.ct += c``: in place where `node.ct` is a buffer the sweep allocated and `c`
    fits it exactly (same shape and dtype), else a new sum, which the sweep then owns."""
    ct = node.ct
    if node.own and type(c) is np.ndarray and c.shape == ct.shape and c.dtype == ct.dtype:
        np.add(ct, c, out=ct)
        return
    node.ct = total = ct + c
    node.own = type(total) is np.ndarray


def _residuals(
    prim: Primitive, saves: tuple[int | str, ...], vals: Sequence[Any], ans: Any
) -> tuple[list[Any], Any]:
    """The arguments and result a node keeps: arrays its rules do not read are `Released`."""
    kept = [
        v if i in saves or type(v) is not np.ndarray else Released(v, prim)
        for i, v in enumerate(vals)
    ]
    if "ans" not in saves and not prim.multiple_results and type(ans) is np.ndarray:
        ans = Released(ans, prim)
    return kept, ans


def record(
    fun: Callable[[list[Any]], list[Any]],
    primals: Sequence[Any],
    holomorphic: bool = False,
    lean: bool = False,
) -> tuple[ReverseTrace, list[VJPTracer], list[Any]]:
    """Run `fun` on a list of values, recording: the trace, its input tracers, the outputs.

    The one recording path of reverse mode: `vjp_flat` (so `grad`, `vjp`, `jacrev`, which
    record `lean`: only the rules' residuals kept) and `chainrule.explain` /
    `chainrule.draw` (which show every value) all record with it and sweep with `pull_back`.
    """
    trace = (HolomorphicReverseTrace if holomorphic else ReverseTrace)(fun, lean)
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
        x.node.ct, x.node.own = None, False
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
    trace, inputs, outs = record(fun, primals, holomorphic, lean=True)
    values = [o.value if type(o) is VJPTracer and o._trace is trace else o for o in outs]

    def backward(cotangents: Sequence[Any]) -> list[Any]:
        return pull_back(trace, inputs, outs, cotangents, release=once)

    return values, backward
