"""Batching (`vmap`): run a function of one example on a whole batch at once.

A batched value is a `BatchTracer`: its `value` holds every example, stacked along the axis
`bdim`, but to the function being mapped it looks like one example (its `shape` leaves that
axis out). Each primitive has a *batching rule*, kept beside its derivative rules::

    rule(args, dims, **params) -> (out, out_dim)

`args` are the values as stored, `dims[i]` the batch axis of argument ``i`` (None for a value
shared by every example), and the rule computes all examples in one call, as a person would
write it by hand (a batched matmul, a reduction over shifted axes, an index with the batch
axis kept), returning where the batch axis of the result is (a tuple for a primitive with
several results; None for a result that does not depend on the batch).

Like every transform, a batch trace has a level, so `vmap` composes with `grad`, `jvp` and
itself in any order: a rule calls primitives on the values it unwrapped, and whatever lower
tracers those carry are processed by their own traces.

A primitive without a rule (one a user defined with `chainrule.extend.primitive`) runs once
per example in a Python loop, with a one-time warning naming it; `defbatch` gives it a rule.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from .trace import Trace, Tracer, leaked_error, primal, shape_of

if TYPE_CHECKING:
    from .primitive import Primitive

BatchRule = Callable[..., tuple[Any, Any]]


class BatchTracer(Tracer):
    """One example of a batch: `value` holds all of them, stacked along axis `bdim`."""

    __slots__ = ("bdim",)
    batched = True

    def __init__(self, value: Any, bdim: int, trace: BatchTrace) -> None:
        self.value = value
        self.bdim = bdim
        self._trace = trace

    def refusal(self, what: str, tracer: Tracer) -> str:
        """Why `what` (``bool()``, ``float()``...) of `tracer`, this batch, has no answer."""
        take = (
            "index a NumPy array `a` by a batch of indices `i` with `np.take(a, i, axis)` "
            "(NumPy's own `a[i]` cannot hold a batch); "
            if what in ("conversion to a NumPy array", "use as an index")
            else ""
        )
        return (
            f"chainrule: {what} of a value batched by vmap (one example's shape "
            f"{tracer.shape}, dtype {tracer.dtype}): it stands for every example at once, and "
            "the examples need not agree (a Python `if` cannot take both branches). Keep the "
            "computation in array operations: branch with `np.where(cond, a, b)`, which picks "
            f"per example; {take}or, for a value shared by every example, pass it with "
            "in_axes None."
        )

    def stripped(self) -> BatchTracer:
        """This batch with every derivative it carries dropped (see `core.trace.primal`)."""
        value = primal(self.value)
        trace: Any = self._trace
        return self if value is self.value else BatchTracer(value, self.bdim, trace)

    @property
    def shape(self) -> tuple[int, ...]:
        s = tuple(self.value.shape)
        return s[: self.bdim] + s[self.bdim + 1 :]

    @property
    def ndim(self) -> int:
        return self.value.ndim - 1

    @property
    def size(self) -> int:
        n = 1
        for k in self.shape:
            n *= k
        return n


class BatchTrace(Trace):
    """One running `vmap`, over `size` examples."""

    __slots__ = ("size",)

    def __init__(self, size: int, owner: Any = None) -> None:
        super().__init__(owner)
        self.size = size

    def unwrap(self, args: Sequence[Any]) -> tuple[list[Any], list[int | None], bool]:
        vals = list(args)
        dims: list[int | None] = [None] * len(args)
        for i, a in enumerate(args):
            if isinstance(a, BatchTracer) and a._trace is self:
                vals[i], dims[i] = a.value, a.bdim
        return vals, dims, False

    def wrap(self, value: Any, bdim: int | None) -> Any:
        return value if bdim is None else BatchTracer(value, bdim, self)

    def process(self, prim: Primitive, args: tuple[Any, ...], params: dict[str, Any]) -> Any:
        if self.ended:
            raise leaked_error(self, prim)
        vals, dims, _ = self.unwrap(args)
        rule = prim.batch or _loop_rule(prim)
        try:
            out, out_dim = rule(vals, dims, **params)
        except ValueError as e:
            if type(e) is not ValueError:
                raise
            raise batched_shape_error(prim, vals, dims, e) from None
        if prim.multiple_results:
            return tuple(self.wrap(o, d) for o, d in zip(out, out_dim, strict=True))
        return self.wrap(out, out_dim)


def batched_shape_error(
    prim: Primitive, vals: Sequence[Any], dims: Sequence[int | None], error: ValueError
) -> ValueError:
    """NumPy's refusal of a batched call, told in the shapes of one example."""
    from .trace import ShapeError

    shapes = []
    for v, d in zip(vals, dims, strict=True):
        if hasattr(v, "shape") or isinstance(v, (int, float, complex)):
            s = tuple(shape_of(v))
            shapes.append(s if d is None else s[:d] + s[d + 1 :])
    listed = " and ".join(map(str, shapes)) if shapes else "these arguments"
    return ShapeError(f"chainrule: {prim.name} of shapes {listed} (one example of a vmap): {error}")


# ---------------------------------------------------------------------------- rules


def defbatch(prim: Primitive, rule: BatchRule) -> None:
    """Give `prim` its batching rule, ``rule(args, dims, **params) -> (out, out_dim)``."""
    prim.batch = rule


class _Ops:
    """The array functions the core needs to batch without rules (set by `chainrule.numpy`,
    as the core knows no NumPy function of its own): select one example, stack them."""

    take: Callable[[Any, int, int], Any]
    stack: Callable[[Sequence[Any]], Any]


ops = _Ops()

_warned: set[str] = set()


def _loop_rule(prim: Primitive) -> BatchRule:
    """Run `prim` once per example and stack the results along axis 0: correct for any
    primitive, but a Python loop, so it warns (once per primitive) that a rule is missing."""

    def loop(vals: list[Any], dims: list[int | None], **params: Any) -> tuple[Any, Any]:
        size = next(shape_of(v)[d] for v, d in zip(vals, dims, strict=True) if d is not None)
        if size == 0:
            raise TypeError(
                f"chainrule.vmap over an empty batch: the primitive {prim.name} has no batching "
                "rule, and with no example to run it on, the shape of its result is unknown. "
                "Give it a rule with `chainrule.extend.defbatch`."
            )
        if str(prim.name) not in _warned:
            _warned.add(str(prim.name))
            warnings.warn(
                f"chainrule.vmap: the primitive {prim.name} has no batching rule, so it runs "
                "once per example in a Python loop (correct, but slow). Give it a rule with "
                "`chainrule.extend.defbatch`.",
                BatchingWarning,
                stacklevel=4,
            )
        results = [
            prim(
                *(v if d is None else ops.take(v, b, d) for v, d in zip(vals, dims, strict=True)),
                **params,
            )
            for b in range(size)
        ]
        if prim.multiple_results:
            columns = list(zip(*results, strict=True))
            return tuple(ops.stack(c) for c in columns), (0,) * len(columns)
        return ops.stack(results), 0

    return loop


class BatchingWarning(UserWarning):
    """A primitive with no batching rule ran once per example under `vmap`."""


# ---------------------------------------------------------------------------- in use


class _Running(threading.local):
    """What this thread runs: how many vmaps and jit tracings (`transforms`: functions with
    no rules, `nondiff`, check it before they look for the batch or the program their result
    belongs to; loops run plain Python without one), how many vmaps (`maps`: a random draw
    there is one for every example, `staging.replaying`), and how many checkpointed
    functions forward (`recomputed`: the backward pass runs them again). Per thread:
    another thread's transform traces none of this one's values."""

    def __init__(self) -> None:
        self.transforms = 0
        self.maps = 0
        self.recomputed = 0


RUNNING = _Running()


def active() -> bool:
    """Whether this thread runs a `vmap` or a `jit` tracing (so a plain value may hide a
    batch axis, or a program's line, in a tracer)."""
    return RUNNING.transforms > 0


def top_kept_trace(values: Sequence[Any]) -> Trace | None:
    """The highest-level trace, among the tracers of `values` (at any depth), whose tracers
    `primal` keeps: a batch (`vmap`) or a staging (`jit`) trace; or None."""
    top: Trace | None = None
    for x in values:
        while isinstance(x, Tracer):
            if x.batched and (top is None or x._trace.level > top.level):
                top = x._trace
            x = x.value
    return top


def top_batch_trace(values: Sequence[Any]) -> BatchTrace | None:
    """The highest-level batch trace among the tracers of `values`, if it is the highest
    trace `primal` keeps; or None."""
    top = top_kept_trace(values)
    return top if isinstance(top, BatchTrace) else None


def batch_flat(
    fun: Callable[[list[Any]], list[Any]],
    values: Sequence[Any],
    dims: Sequence[int | None],
    size: int,
    owner: Any = None,
) -> tuple[list[Any], list[int | None]]:
    """Run `fun` on a list of values batched along `dims` (None: shared by every example):
    its outputs, and the batch axis of each (None for one that does not depend on the batch).

    The core of `vmap`, for code that batches a function it calls (``custom_vjp`` batches
    its rules with it)."""
    trace = BatchTrace(size, owner)
    running = RUNNING
    running.transforms += 1
    running.maps += 1
    try:
        outs = fun([trace.wrap(v, d) for v, d in zip(values, dims, strict=True)])
    finally:
        running.maps -= 1
        running.transforms -= 1
        trace.end()
    pairs = [
        (o.value, o.bdim) if isinstance(o, BatchTracer) and o._trace is trace else (o, None)
        for o in outs
    ]
    return [v for v, _ in pairs], [d for _, d in pairs]


def lower_to(x: Any, trace: BatchTrace) -> tuple[Any, int | None]:
    """`x` with every tracer above `trace` stripped, unwrapped from `trace`: (value, bdim).

    For functions that are constant almost everywhere (comparisons, rounding, index
    functions): their result has no derivative, but it does have a batch axis.
    """
    while isinstance(x, Tracer) and x._trace.level > trace.level:
        x = x.value
    if isinstance(x, BatchTracer) and x._trace is trace:
        return x.value, x.bdim
    return x, None
