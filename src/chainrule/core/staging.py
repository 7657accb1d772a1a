"""Staging (`jit`): record a function once as a program of primitives, replay it as NumPy.

While `jit` traces a function, each input is a `StagedTracer`: it carries the value of this
first call (so shapes, dtypes and NumPy's errors are real) and the `Var` that stands for it
in the program. Every primitive applied to one is computed and recorded as an `Equation`;
values that do not depend on the inputs are plain arrays, computed once: constants of the
program (constant folding comes free). Transforms inside `jit` (`grad`, `vmap`) run above
the staging trace, so their rules, written with primitives, are recorded too: the backward
pass becomes more lines of the same program.

A value a rule derives from a traced one (ReLU's mask ``x > 0``) must be recomputed on each
call, never frozen: `primal` keeps staged tracers (as it keeps batches), so such masks are
recorded, and functions without derivative rules (`numpy.rules.common.nondiff`) record
themselves as equations too. Converting a staged value to a Python bool or number raises.

A `Program` replays its equations on plain arrays, one NumPy call per line: no tracers, no
tape. It is pruned once, when it is built: lines no output needs are dropped (dead-code
elimination), repeated lines are merged (common subexpressions), lines kept for their effect
(checks of each call's values) stay, and values are released after their last use (small
ones together, once they add up to `KEEP_BYTES`); intermediates are written into buffers the
program holds between calls, and results into arrays it returned before that nobody holds
any more (`_recycled`); where values are large, cheap ones are recomputed where that lowers
the peak of memory rather than kept (`_rematerialized`), and runs of elementwise lines on
large arrays replay by blocks of rows that stay in cache (`blocks`).
"""

from __future__ import annotations

import contextlib
import functools
import heapq
import itertools
import math
import operator
import sys
import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from . import batching, blocks
from .primitive import BODIES, owning
from .trace import Trace, Tracer, leaked_error, shape_error

if TYPE_CHECKING:
    from .primitive import Primitive


class Var:
    """A value of a program: its number, and the shape and dtype it had when traced."""

    __slots__ = ("dtype", "id", "shape")

    def __init__(self, id: int, value: Any) -> None:
        self.id = id
        self.shape = tuple(np.shape(value))
        self.dtype = getattr(value, "dtype", None) or type(value).__name__

    def __repr__(self) -> str:
        return f"v{self.id}"

    def renumbered(self, id: int) -> Var:
        """A new value of the same shape and dtype (a recomputed copy of this one)."""
        var = Var.__new__(Var)
        var.id, var.shape, var.dtype = id, self.shape, self.dtype
        return var

    def nbytes(self) -> int:
        """The size of an array of this shape and dtype (0 for a Python number)."""
        if not isinstance(self.dtype, np.dtype):
            return 0
        return math.prod(self.shape) * self.dtype.itemsize

    def describe(self) -> str:
        dtype = getattr(self.dtype, "name", self.dtype)
        return f"v{self.id}:{dtype}[{','.join(map(str, self.shape))}]"


class Equation:
    """One line of a program: ``outs = fn(*args, **params)``. An argument is a `Var` or a
    constant; `multiple` says that `fn` returns a tuple (one `Var` per result)."""

    __slots__ = ("args", "fn", "multiple", "name", "outs", "params")

    def __init__(
        self, fn: Callable[..., Any], name: str, args: list[Any], params: dict[str, Any],
        outs: list[Var], multiple: bool,
    ) -> None:  # fmt: skip
        self.fn, self.name, self.args, self.params = fn, name, args, params
        self.outs, self.multiple = outs, multiple

    def __str__(self) -> str:
        outs = " ".join(v.describe() for v in self.outs)
        args = " ".join(repr(a) if isinstance(a, Var) else _constant(a) for a in self.args)
        params = " ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{outs} = {self.name} {args}" + (f" [{params}]" if params else "")


def _constant(c: Any) -> str:
    if isinstance(c, np.ndarray) and c.size > 4:
        return f"<{c.dtype}[{','.join(map(str, c.shape))}]>"
    return repr(c.tolist() if isinstance(c, np.ndarray) else c)


class StagedTracer(Tracer):
    """A value inside `jit`: the value of the tracing call, and its variable in the program."""

    # (`ref`, not `var`: a tracer takes NumPy's array methods, `x.var()` among them)
    __slots__ = ("ref",)
    batched = True  # kept by `primal`: what a rule derives from it is recorded, not frozen

    def __init__(self, value: Any, ref: Var, trace: StagingTrace) -> None:
        self.value = value
        self.ref = ref
        self._trace = trace

    def stripped(self) -> StagedTracer:
        return self  # (the staging trace is the lowest: its values are plain)

    def __repr__(self) -> str:  # (the value is only the tracing call's: not shown)
        return f"Traced<{self.ref.describe()}> (inside {self._trace.owner or 'jit'})"

    def refusal(self, what: str, tracer: Tracer) -> str:
        """Why `what` (``bool()``, ``float()``...) of `tracer`, a value inside `jit`, has no
        answer: the program must hold for every input of this shape, not just this one."""
        owner = "jit" if self._trace.owner is None else str(self._trace.owner)
        return (
            f"chainrule: {owner}: {what} of a traced value (shape {tracer.shape}, dtype "
            f"{tracer.dtype}). A compiled program is replayed for every input of this shape, "
            "so it cannot depend on this one's value through Python (an `if`, a loop bound, "
            "`float(x)`). Branch with `np.where(cond, a, b)`; or, if the value is a setting "
            "rather than data, name its argument in static_argnums."
        )

    @property
    def shape(self) -> tuple[int, ...]:
        return self.ref.shape

    @property
    def ndim(self) -> int:
        return len(self.ref.shape)

    @property
    def dtype(self) -> Any:
        return np.result_type(self.value)


class StagingTrace(Trace):
    """One `jit` tracing: the equations recorded so far, in the order they ran, by the
    `thread` running it (`TRACINGS` and `BODIES` hold every thread's tracings)."""

    __slots__ = ("equations", "inputs", "thread", "vars")
    replayed = False  # (a body's lines are also replayed on tracers: see `control`)
    # (a body's: why a random draw while it is traced would be wrong, see `replaying`)
    draws: tuple[str, str] | None = None

    def __init__(self, owner: Any = None) -> None:
        super().__init__(owner)
        self.thread = threading.get_ident()
        self.equations: list[Equation] = []
        self.inputs: list[Var] = []
        self.vars = 0

    def new_var(self, value: Any) -> Var:
        self.vars += 1
        return Var(self.vars - 1, value)

    def new_input(self, value: Any) -> StagedTracer:
        var = self.new_var(value)
        self.inputs.append(var)
        return StagedTracer(value, var, self)

    def refs(self, what: str, args: Sequence[Any]) -> tuple[list[Any], list[Any]]:
        """The values of `args` and what the program refers to them by (a `Var`, or the
        value itself as a constant)."""
        vals, refs = list(args), list(args)
        for i, a in enumerate(args):
            if isinstance(a, StagedTracer) and a._trace is self:
                vals[i], refs[i] = a.value, a.ref
            elif isinstance(a, Tracer):
                raise closure_error(self, what)
        return vals, refs

    def process(self, prim: Primitive, args: tuple[Any, ...], params: dict[str, Any]) -> Any:
        if self.ended:
            raise leaked_error(self, prim)
        vals, refs = self.refs(str(prim.name), args)
        ans = self.evaluate(prim, vals, refs, params)
        return self.record(self.line(prim), str(prim.name), refs, params, ans,
                           prim.multiple_results)  # fmt: skip

    def evaluate(
        self, prim: Primitive, vals: list[Any], refs: list[Any], params: dict[str, Any]
    ) -> Any:
        """`prim` on the traced call's values `vals` (`refs` says which are traced): the
        value of its line, which later lines are traced on."""
        return self.attempt(functools.partial(_applied, prim, params), vals, refs)

    def attempt(self, fn: Callable[..., Any], vals: list[Any], refs: list[Any]) -> Any:
        """``fn(*vals)``, the value of a line on the traced call's values (a body that may
        not run on them tries others)."""
        return fn(*vals)

    def line(self, prim: Primitive) -> Callable[..., Any]:
        """What a line of the program calls for `prim`: its NumPy implementation."""
        return prim.impl

    def record(
        self, fn: Callable[..., Any], name: str, refs: list[Any], params: dict[str, Any],
        ans: Any, multiple: bool,
    ) -> Any:  # fmt: skip
        """Append ``ans = fn(*refs, **params)`` to the program; `ans`, traced."""
        results = ans if multiple else (ans,)
        outs = [self.new_var(a) for a in results]
        self.equations.append(Equation(fn, name, refs, params, outs, multiple))
        traced = tuple(StagedTracer(a, v, self) for a, v in zip(results, outs, strict=True))
        return traced if multiple else traced[0]


def _applied(prim: Primitive, params: dict[str, Any], *vals: Any) -> Any:
    """`prim`'s implementation on `vals`; NumPy's error for arguments whose shapes do not
    fit, as chainrule's, naming the function and the shapes."""
    try:
        return prim.impl(*vals, **params)
    except ValueError as e:
        if type(e) is not ValueError:
            raise
        raise shape_error(prim, vals, e) from None


PYTHON_NUMBERS = (bool, int, float, complex)
"""What eager code may hold as a Python number: NumPy promotes it weakly (float32 stays)."""


def staged_trace(args: Sequence[Any]) -> StagingTrace | None:
    """The program the innermost staged value among `args` belongs to, or the body being
    traced that closes over it; None where none is staged."""
    traces = [a._trace for a in args if isinstance(a, StagedTracer)]
    if not traces:
        return None
    innermost = max(traces, key=lambda t: t.level)
    return cast(StagingTrace, owning(innermost) if BODIES else innermost)


def plain_line(
    fn: Callable[..., Any], name: str, args: Sequence[Any], trace: StagingTrace | None = None,
    multiple: bool = False,
) -> Any:  # fmt: skip
    """``fn(*args)`` as a line of the program of `trace` (by default `staged_trace` of
    `args`): a plain function (no derivative rules), run on each call's values, and now on
    the traced call's (`StagingTrace.attempt`); with `multiple`, a tuple of results."""
    trace = trace or cast(StagingTrace, staged_trace(args))
    vals, refs = trace.refs(name, list(args))
    return trace.record(fn, name, refs, {}, trace.attempt(fn, vals, refs), multiple)


def traced_number(x: Any) -> bool:
    """Whether `x` is what `jit` traces for a Python number (an argument, a loop's carry
    started from one): where eager code holds the number itself."""
    return isinstance(x, StagedTracer) and type(x.value) in PYTHON_NUMBERS


def strong(x: Any, dtype: Any = None) -> Any:
    """`x`, where `jit` traces a Python number for it (weakly typed), as the array
    ``asarray(x, dtype)`` NumPy makes: a line making it on each call (strongly typed from
    there, as in eager code; a number out of the dtype's range raises, as NumPy's
    conversion does); anything else as it is."""
    if traced_number(x):
        dtype = None if dtype is None else np.dtype(dtype)
        return plain_line(functools.partial(_as_array, dtype=dtype), "asarray", [x])
    return x


def _as_array(x: Any, dtype: Any = None) -> Any:
    """The line `strong` records: on a replay's number, its array; replayed on the values of
    another transform (a body batched or differentiated), those values, cast."""
    if isinstance(x, Tracer):
        return x if dtype is None else x.astype(dtype)  # type: ignore[attr-defined]
    return np.asarray(x, dtype=dtype)


# The `jit` tracings running, innermost last (`tracing`), in every thread.
TRACINGS: list[StagingTrace] = []


@contextlib.contextmanager
def recording(trace: StagingTrace, running: list[Any]) -> Iterator[None]:
    """While `trace` records a function: listed in `running` (`TRACINGS`, or the bodies of
    control flow) and counted among the transforms whose tracers `primal` keeps
    (`batching.active`); ended after. It leaves the list by itself, not as its last entry:
    another thread's tracing may have been listed after it."""
    batching.RUNNING.transforms += 1
    running.append(trace)
    try:
        yield
    finally:
        running.remove(trace)
        batching.RUNNING.transforms -= 1
        trace.end()


def tracing() -> bool:
    """Whether `jit` is tracing a program in this thread: what Python computes now (a
    random draw from a Generator) becomes a constant of the program, the same on every
    call."""
    if not TRACINGS:
        return False
    me = threading.get_ident()
    return any(t.thread == me for t in TRACINGS)


def replaying() -> tuple[str, str] | None:
    """Where values Python computes now (random draws) would not be made afresh each time
    the computation runs, in this thread: ``(where, how they would be made)`` while `jit`
    traces a program (every call replays it), a loop's body or condition is traced (every
    step replays it) or a branch of a `cond` (both are traced, one drawing before the other),
    `vmap` maps a function (one call stands for every example), or a
    `checkpoint` runs its function (the backward pass runs it again); else None."""
    if tracing():
        return "jit", "once, while tracing, and every call of the compiled program would reuse them"
    me = threading.get_ident()
    for body in BODIES:
        if body.thread == me and body.draws is not None:
            return body.draws
    if batching.RUNNING.maps:
        return "vmap", (
            "once for every example, where a loop of calls would draw anew for each (vmap "
            "must equal that loop)"
        )
    if batching.RUNNING.recomputed:
        return "checkpoint", (
            "in the forward pass, and made anew, other ones, when the backward pass runs the "
            "function again"
        )
    return None


class ClosureError(TypeError):
    """A function being compiled uses a value another transform traces, not as an argument."""


def closure_error(trace: StagingTrace, what: str) -> ClosureError:
    owner = "jit" if trace.owner is None else str(trace.owner)
    return ClosureError(
        f"chainrule: {owner}: {what} was applied to a value traced by a transform outside the "
        "jit (the function closes over it, or reads it from a global). A compiled program "
        "cannot hold it: pass the value to the jitted function as an argument."
    )


# ---------------------------------------------------------------------------- programs


class Program:
    """A recorded function of a flat list of arrays: its `inputs`, `equations` and `outputs`
    (each a `Var` or a constant). Calling it replays the equations on plain arrays."""

    def __init__(self, inputs: list[Var], equations: list[Equation], outputs: list[Any]) -> None:
        self.inputs = inputs
        equations, alias = _merged(_live(equations, outputs))
        outputs = [_renamed(o, alias) for o in outputs]
        equations, alias = _simplified(equations, inputs, outputs)
        self.outputs = [_renamed(o, alias) for o in outputs]
        # (recomputing a value can leave the line that kept it unread)
        equations = _live(_rematerialized(equations, inputs, self.outputs), self.outputs)
        self.equations = _summarized_early(equations, self.outputs)
        self._compile()

    def __str__(self) -> str:
        lines = [f"{{ lambda {' '.join(v.describe() for v in self.inputs)} ;"]
        lines += [f"    {eq}" for eq in self.equations]
        outs = " ".join(repr(o) if isinstance(o, Var) else _constant(o) for o in self.outputs)
        lines.append(f"  in ( {outs} ) }}")
        return "\n".join(lines)

    def _compile(self) -> None:
        """Slots for every value (inputs, constants, held buffers, results) and one step
        per line.

        A step is ``(kind, fn, x, y, o)``, `fn` the line's function with its parameters
        bound: kinds 1 and 2 call it on the values in slot ``x`` or slots ``x y`` and put
        the result in slot ``o``; kinds 3 and 4 (7: by keyword) do the same with the buffer
        in slot ``o`` as ``out``, and kind 8 with ``x`` fetching the arguments; kinds 0
        and 5 are any other line with one or several results, ``x`` fetching its
        arguments, ``o`` its result slot(s). A step of kind 6 after a line frees the slots
        ``x`` of values that have had their last use, once they add up to `KEEP_BYTES`:
        a large value is released where it dies, small ones together.

        The buffer `out` is that of an argument dying there (`_in_place`), or one the
        program holds from call to call (`_held`): a replay then allocates only what it
        returns, and neither asks the allocator for memory nor faults it in again.
        """
        slot: dict[int, int] = {v.id: i for i, v in enumerate(self.inputs)}
        template: list[Any] = [None] * len(self.inputs)

        def place(a: Any) -> int:
            if isinstance(a, Var):
                return slot[a.id]
            template.append(a)  # a constant: a slot of its own, filled once
            return len(template) - 1

        for eq in self.equations:
            if _plain_ufunc(eq):
                eq.args = [_loop_operand(eq, i) for i in range(len(eq.args))]
        equations = list(self.equations)
        for start, end, run in reversed(blocks.runs(equations, self.outputs)):
            equations[start:end] = [Equation(run, "blocks", run.inputs, {}, run.outputs, True)]
        last = {a.id: k for k, eq in enumerate(equations) for a in eq.args if isinstance(a, Var)}
        kept = {o.id for o in self.outputs if isinstance(o, Var)}
        into = _in_place(equations, last, kept)
        held = _held(equations, last, kept, into)
        buffers: dict[int, int] = {}  # a held buffer's number: its slot
        returned: list[tuple[int, tuple[int, ...], Any]] = []  # (slot, shape, dtype)
        for i, b in held.items():
            if b.number not in buffers:
                buffers[b.number] = len(template)
                if b.returned:
                    returned.append((len(template), b.shape, b.dtype))
                template.append(None if b.returned else np.empty(b.shape, b.dtype))
            slot[i] = buffers[b.number]
        steps: list[tuple[Any, ...]] = []
        dead: dict[int, int] = {}  # dead values not yet released: slot, size
        for k, eq in enumerate(equations):
            out = eq.outs[0]
            args = tuple(place(a) for a in eq.args)
            reused = {into.get(v.id) for v in eq.outs}
            dead.update(
                (slot[a.id], a.nbytes()) for a in eq.args
                if isinstance(a, Var) and last[a.id] == k and a.id not in kept
                and a.id not in held and a.id not in reused
            )  # fmt: skip
            writes = out.id in into or out.id in held
            for v in eq.outs:
                if v.id in into:  # the result goes into the dying argument's buffer, and slot
                    slot[v.id] = slot[into[v.id]]
                elif v.id not in held:
                    slot[v.id] = len(template)
                    template.append(None)
            # (what the line amounts to on plain arrays, `fn.plain`, where it says: a check
            # without the wrapper that records it; the parameters bound: no keywords to
            # unpack per call when there are none)
            fn = getattr(eq.fn, "plain", eq.fn)
            fn = functools.partial(fn, **eq.params) if eq.params else fn
            if eq.multiple:  # (a run by blocks writes into its buffers itself)
                steps.append((5, fn, _getter(args), None, tuple(slot[v.id] for v in eq.outs)))
            elif 1 <= len(args) <= 2 and (_plain_ufunc(eq) or not writes):
                kind = len(args) + (2 if writes else 0)
                kind = 7 if kind == 4 and eq.fn in _KEYWORD_OUT else kind
                steps.append((kind, fn, args[0], args[-1], slot[out.id]))
            elif writes and len(args) == 2:
                steps.append((7, fn, args[0], args[1], slot[out.id]))
            elif writes:
                steps.append((8, fn, _getter(args), None, slot[out.id]))
            else:
                steps.append((0, fn, _getter(args), None, slot[out.id]))
            if sum(dead.values()) >= KEEP_BYTES:
                steps.append((6, None, tuple(dead), None, None))
                dead.clear()
        self._outputs = [place(o) for o in self.outputs]
        self._fresh = tuple(  # constants returned: a copy per call, not the program's own
            i for i, o in enumerate(self.outputs) if isinstance(o, np.ndarray)
        )
        self._steps = steps
        self._template = template
        self._returned = tuple(returned)
        self._buffers = tuple(b for b in buffers.values() if template[b] is not None)
        self._pools: tuple[list[np.ndarray], ...] = tuple([] for _ in returned)
        self._lock = threading.Lock() if self._buffers or self._returned else None

    def __getstate__(self) -> dict[str, Any]:
        """What pickling keeps (a jitted function sent to Dask's workers): the held buffers
        by shape and dtype only, made afresh when unpickled; no lock."""
        state = self.__dict__.copy()
        template = list(self._template)
        for s in self._buffers:
            template[s] = (template[s].shape, template[s].dtype)
        state["_template"], state["_lock"] = template, None
        state["_pools"] = tuple([] for _ in self._pools)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        for s in self._buffers:
            self._template[s] = np.empty(*self._template[s])
        self._lock = threading.Lock() if self._buffers or self._returned else None

    def __call__(self, inputs: Sequence[Any]) -> list[Any]:
        lock = self._lock
        if lock is None:
            return self._run(self._template.copy(), inputs)
        env = self._template.copy()
        if not lock.acquire(blocking=False):  # another thread, or a call inside this one:
            for s in self._buffers:  # buffers of its own
                env[s] = np.empty_like(env[s])
            for s, shape, dtype in self._returned:
                env[s] = np.empty(shape, dtype)
            return self._run(env, inputs)
        try:
            for (s, shape, dtype), pool in zip(self._returned, self._pools, strict=True):
                env[s] = _recycled(pool, shape, dtype)
            outs = self._run(env, inputs)
            for (s, _, _), pool in zip(self._returned, self._pools, strict=True):
                pool.append(env[s])
                if len(pool) > RECENT:
                    del pool[0]
            return outs
        finally:
            lock.release()

    def _run(self, env: list[Any], inputs: Sequence[Any]) -> list[Any]:
        env[: len(inputs)] = inputs
        for kind, fn, x, y, o in self._steps:
            if kind == 4:
                fn(env[x], env[y], env[o])  # (`out` by position: faster)
            elif kind == 2:
                env[o] = fn(env[x], env[y])
            elif kind == 3:
                fn(env[x], env[o])
            elif kind == 1:
                env[o] = fn(env[x])
            elif kind == 0:
                env[o] = fn(*x(env))
            elif kind == 6:
                for s in x:
                    env[s] = None
            elif kind == 7:
                fn(env[x], env[y], out=env[o])
            elif kind == 8:
                fn(*x(env), out=env[o])
            else:
                for s, a in zip(o, fn(*x(env)), strict=True):
                    env[s] = a
        outs = [env[s] for s in self._outputs]
        for i in self._fresh:
            outs[i] = outs[i].copy()
        return outs


_KEYWORD_OUT = frozenset([np.maximum, np.minimum])  # (NumPy 2.4 deprecates a positional out)


def _in_place(equations: list[Equation], last: dict[int, int], kept: set[int]) -> dict[int, int]:
    """The elementwise lines that write their result into the buffer of an argument dying
    there: the result's number, the argument's."""
    owned = _owned_buffers(equations) - kept
    into: dict[int, int] = {}
    for k, eq in enumerate(equations):
        if isinstance(eq.fn, blocks.Blocks):
            run = eq.fn
            reusable = [x.id in owned and last[x.id] == k for x in run.inputs]
            for i, j in run.write_into(reusable).items():
                into[run.outputs[i].id] = run.inputs[j].id
            continue
        if not _plain_ufunc(eq):
            continue
        for a in eq.args:
            if (
                isinstance(a, Var) and last[a.id] == k and a.id in owned
                and _same_kind(a, eq.outs[0])
            ):  # fmt: skip
                into[eq.outs[0].id] = a.id
                break
    return into


HOLD_BYTES = 1 << 25
"""The most memory a program keeps from call to call in buffers for its intermediates."""

HOLD_FROM = 1 << 16
"""The smallest intermediate held: the allocator serves smaller ones from memory it keeps."""


class _Buffer:
    """A buffer of a program: held from call to call, or (`returned`) taken afresh on each
    call from the arrays it returned before (`_recycled`)."""

    __slots__ = ("dtype", "number", "returned", "shape")

    def __init__(
        self, number: int, shape: tuple[int, ...], dtype: Any, returned: bool = False
    ) -> None:
        self.number, self.shape, self.dtype = number, shape, dtype
        self.returned = returned


def _held(
    equations: list[Equation], last: dict[int, int], kept: set[int], into: dict[int, int]
) -> dict[int, _Buffer]:
    """The results a replay writes into buffers the program keeps between calls, and which.

    A result made by a line that can write into ``out`` starts a *storage*, which the
    lines writing into a dying argument's buffer (`into`) carry on. A storage is held when
    its values are large (`HOLD_FROM`) and no view of them is returned (`_viewers`: no
    view of a held buffer outlives its call); it is busy until the last use of its values
    and their views. Storages alive at separate times share a buffer of their shape and
    dtype, up to `HOLD_BYTES` in all. A large storage that is returned, or a view of it,
    gets a buffer of its own, `returned`: an array the program returned on an earlier call
    and nobody holds any more, or a new one (`_recycled`), up to `HOLD_BYTES` too.
    """
    root: dict[int, int] = {}
    members: dict[int, list[Var]] = {}
    for eq in equations:
        for out in eq.outs:
            if out.id in into:
                if into[out.id] in root:  # (not a run's new array: no buffer to hold)
                    root[out.id] = root[into[out.id]]
                    members[root[out.id]].append(out)
            elif _writes_out(eq) and out.shape != () and isinstance(out.dtype, np.dtype):
                root[out.id] = out.id
                members[out.id] = [out]
    viewers = _viewers(equations)
    made = {v.id: k for k, eq in enumerate(equations) for v in eq.outs}
    free: dict[Any, list[_Buffer]] = {}
    busy: list[tuple[int, int, _Buffer]] = []  # (last line, number, buffer), a heap
    held: dict[int, _Buffer] = {}
    numbers = itertools.count()
    total = returned = 0
    for r, values in members.items():
        seen = {w for v in values for w in viewers.get(v.id, (v.id,))}
        v = values[0]
        if v.nbytes() < HOLD_FROM:
            continue
        if not seen.isdisjoint(kept):
            if RECYCLING and returned + v.nbytes() <= HOLD_BYTES:
                returned += v.nbytes()
                b = _Buffer(next(numbers), v.shape, v.dtype, returned=True)
                held.update((m.id, b) for m in values)
            continue
        start = made[r]
        while busy and busy[0][0] < start:  # (not at `start` itself: no line writes into
            _, _, b = heapq.heappop(busy)  # the buffer of an argument it reads)
            free.setdefault((b.shape, b.dtype), []).append(b)
        spare = free.get((v.shape, v.dtype))
        if spare:
            b = spare.pop()
        elif total + v.nbytes() <= HOLD_BYTES:
            b = _Buffer(next(numbers), v.shape, v.dtype)
            total += v.nbytes()
        else:
            continue
        end = max(last.get(w, made.get(w, start)) for w in seen)
        heapq.heappush(busy, (end, b.number, b))
        held.update((m.id, b) for m in values)
    return held


RECYCLING = getattr(sys, "_is_gil_enabled", lambda: True)()
"""Whether programs recycle the arrays they returned: a count of references tells that
nobody holds one any more only where the GIL keeps counts exact (not free-threaded)."""

RECENT = 2
"""How many calls' returned arrays a program keeps to recycle: a loop ``params =
step(params)`` frees those of the call before the last."""


def _recycled(pool: list[np.ndarray], shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """An array of `pool` that nothing but the pool references (no name, view, container
    or weak reference), taken out of it, if it is still as the program made it (its
    caller may have changed its shape, dtype or flags in place); else a new one.

    A program writes its results into arrays it returned before and nobody holds any
    more, rather than ask the allocator for new ones: large arrays come fresh from the
    operating system, and faulting their pages in costs as much as the arithmetic of a
    small step. No one can tell the difference: such an array is unreachable.
    """
    for i in range(len(pool)):
        if _references(pool, i) == _ALONE and not weakref.getweakrefcount(pool[i]):
            a = pool.pop(i)
            flags = a.flags
            if a.shape == shape and a.dtype == dtype and flags.c_contiguous and flags.writeable:
                return a
            break  # (changed: dropped)
    return np.empty(shape, dtype)


def _references(pool: list[Any], i: int) -> int:
    return sys.getrefcount(pool[i])


_ALONE = _references([np.empty(0)], 0)  # (the count of an array held by its list alone)


def _viewers(equations: list[Equation]) -> dict[int, set[int]]:
    """The values that may share memory with each value: those a line returns may be views
    of its arguments (or hold them) unless it makes new arrays (it writes into ``out``, or
    says ``fn.fresh``) or only checks them (``fn.effect``). Values linked so are grouped,
    transitively; a value in no group is only itself."""
    group: dict[int, set[int]] = {}
    for eq in equations:
        fn = eq.fn
        if _writes_out(eq) or getattr(fn, "fresh", False) or getattr(fn, "effect", False):
            continue
        linked = {a.id for a in eq.args if isinstance(a, Var)} | {v.id for v in eq.outs}
        for i in list(linked):
            linked |= group.get(i, set())
        for i in linked:
            group[i] = linked
    return group


def _writes_out(eq: Equation) -> bool:
    """Whether a line of one result can write it into a buffer given as ``out``: an
    elementwise ufunc, ``matmul``, or a function that says so (``fn.takes_out``)."""
    return _plain_ufunc(eq) or (
        not eq.multiple
        and ((eq.fn is np.matmul and len(eq.args) == 2) or getattr(eq.fn, "takes_out", False))
    )


def _plain_ufunc(eq: Equation) -> bool:
    """Whether a line is an elementwise NumPy ufunc of one or two arguments with one result,
    no keywords: it never returns a view of an argument, and can take ``out``."""
    fn = eq.fn
    return (
        isinstance(fn, np.ufunc) and fn.signature is None and fn.nout == 1
        and len(eq.args) <= 2 and not eq.params
    )  # fmt: skip


def _loop_operand(eq: Equation, i: int) -> Any:
    """Argument `i` of an elementwise line; a scalar constant as the 0-d array NumPy casts it
    to for this line (a ufunc takes that faster than a Python or NumPy scalar); an array
    constant of one repeated value (a cotangent seeded with ones, a broadcast scalar) as
    that value alone, or broadcast without memory where its shape makes the result's."""
    c = eq.args[i]
    if isinstance(c, np.ndarray) and _uniform(c):
        one = np.asarray(c.flat[0])
        others = [a.shape if isinstance(a, Var) else np.shape(a) for a in eq.args if a is not c]
        if np.broadcast_shapes(*others) == eq.outs[0].shape:
            return one
        return np.broadcast_to(one, c.shape)
    if isinstance(c, (Var, bool)) or not isinstance(c, (int, float, complex, np.generic)):
        return c
    types: list[Any] = []  # as `resolve_dtypes` takes them: Python types are weak
    for a in eq.args:
        if type(a) in (int, float, complex):
            types.append(type(a))
        elif isinstance(a, (np.ndarray, np.generic)) or (
            isinstance(a, Var) and isinstance(a.dtype, np.dtype)
        ):
            types.append(a.dtype)
        else:
            return c  # (a Python number traced as an input has no dtype of its own)
    try:
        loop = np.ufunc.resolve_dtypes(eq.fn, (*types, None))  # type: ignore[arg-type]
        return np.asarray(c, dtype=loop[i])
    except (TypeError, ValueError, OverflowError):  # (an int out of the loop's range, which
        return c  # NumPy compares exactly: as it is)


def _uniform(c: np.ndarray) -> bool:
    """Whether the real array `c` (of more than one element) repeats one value, bit for bit
    (``-0.0`` and ``0.0`` differ)."""
    if c.size < 2 or c.dtype.kind not in "biuf":
        return False
    first = c.flat[0]
    same = c == first
    if c.dtype.kind == "f":
        same &= np.signbit(c) == np.signbit(first)
    return bool(same.all())


def _same_kind(a: Var, b: Var) -> bool:
    """Whether `a`'s buffer can hold `b`: the same shape (not a scalar) and NumPy dtype."""
    return (
        a.shape == b.shape and a.shape != ()
        and isinstance(a.dtype, np.dtype) and a.dtype == b.dtype
    )  # fmt: skip


def _owned_buffers(equations: list[Equation]) -> set[int]:
    """The values a replay may overwrite once they die: those made fresh by an elementwise
    ufunc and only ever read by such lines (no other line can have kept a view of them)."""
    made = {v.id for eq in equations if _elementwise(eq) for v in eq.outs}
    viewed = {
        a.id for eq in equations if not _elementwise(eq) for a in eq.args if isinstance(a, Var)
    }
    return made - viewed


def _elementwise(eq: Equation) -> bool:
    """A plain ufunc line, or a run of them by blocks: new arrays, no views kept."""
    return _plain_ufunc(eq) or isinstance(eq.fn, blocks.Blocks)


def _getter(slots: tuple[int, ...]) -> Callable[[list[Any]], tuple[Any, ...]]:
    """A function of the value list returning the arguments at `slots`, as a tuple."""
    if not slots:
        return lambda env: ()
    if len(slots) == 1:
        (s,) = slots
        return lambda env: (env[s],)
    return operator.itemgetter(*slots)


def _renamed(a: Any, alias: dict[int, Var]) -> Any:
    return alias.get(a.id, a) if isinstance(a, Var) else a


def _live(equations: list[Equation], outputs: list[Any]) -> list[Equation]:
    """The equations some output needs (dead-code elimination), in their order, and those
    run for their effect (a check that raises on values without a derivative: `fn.effect`).
    A line of several results of which some are needed may shrink to those (``fn.prune``:
    a loop that stops computing the outputs nobody reads)."""
    needed = {o.id for o in outputs if isinstance(o, Var)}
    kept = []
    for eq in reversed(equations):
        if getattr(eq.fn, "effect", False) or any(v.id in needed for v in eq.outs):
            prune = getattr(getattr(eq.fn, "impl", eq.fn), "prune", None)  # (a body's lines
            # call primitives, a program's their implementations)
            if prune is not None and not all(v.id in needed for v in eq.outs):
                eq = prune(eq, [v.id in needed for v in eq.outs]) or eq
            kept.append(eq)
            needed.update(a.id for a in eq.args if isinstance(a, Var))
    kept.reverse()
    return kept


def needs(program: Program, wanted: Sequence[bool]) -> list[bool]:
    """Which inputs of `program` its outputs marked `wanted` read (and its checks read)."""
    outs = [o for o, w in zip(program.outputs, wanted, strict=True) if w]
    read = {a.id for eq in _live(program.equations, outs) for a in eq.args if isinstance(a, Var)}
    read.update(o.id for o in outs if isinstance(o, Var))
    return [v.id in read for v in program.inputs]


def _merged(equations: list[Equation]) -> tuple[list[Equation], dict[int, Var]]:
    """The equations with repeats merged (common-subexpression elimination): a line that
    calls the same function on the same values with the same parameters as an earlier one
    reuses its results; and what each dropped result is now called. Lines whose parameters
    cannot be compared are kept as they are."""
    seen: dict[Any, Equation] = {}
    alias: dict[int, Var] = {}
    out = []
    for eq in equations:
        eq.args = [_renamed(a, alias) for a in eq.args]
        key = _key(eq)
        earlier = seen.get(key) if key is not None else None
        if earlier is not None:
            for v, w in zip(eq.outs, earlier.outs, strict=True):
                alias[v.id] = w
            continue
        if key is not None:
            seen[key] = eq
        out.append(eq)
    return out, alias


def _key(eq: Equation) -> Any:
    """What makes two lines the same computation: the function, the arguments (variables by
    number, constants by identity) and the parameters; None if a parameter is unhashable."""
    args = tuple(("v", a.id) if isinstance(a, Var) else ("c", id(a)) for a in eq.args)
    try:
        params = tuple(sorted(eq.params.items()))
        hash(params)
    except TypeError:
        return None
    return (eq.fn, args, params)


def _simplified(
    equations: list[Equation], inputs: list[Var], outputs: list[Any]
) -> tuple[list[Equation], dict[int, Var]]:
    """The equations without the lines that return an argument unchanged, ``g * 1`` and
    ``g + 0`` with a constant of ones or zeros (rules emit them: a cotangent seeded with ones,
    accumulated onto zeros); and what each dropped result is now called. A returned result
    is a new array: it goes only if `g` is an intermediate of the same shape that is not
    returned otherwise, nor shares memory with an input or a returned value (a view of one).
    Where the constant broadcasts `g` to a larger shape, the line goes
    only if every line reading its result is elementwise and broadcasts `g` alike. Adding
    zeros to floats stays (`_exact_unit`): it makes ``-0.0`` ``0.0``, as eagerly."""
    readers: dict[int, list[Equation]] = {}
    for eq in equations:
        for a in eq.args:
            if isinstance(a, Var):
                readers.setdefault(a.id, []).append(eq)
    returned = {o.id for o in outputs if isinstance(o, Var)}
    given = {v.id for v in inputs}
    viewers = _viewers(equations)
    alias: dict[int, Var] = {}
    kept = []
    for eq in equations:
        eq.args = [_renamed(a, alias) for a in eq.args]
        g, out = _identity_argument(eq), eq.outs[0]
        if g is None or not _same_dtype(g, out):
            kept.append(eq)
        elif out.id in returned:  # returned as `g` only if no one else sees `g`'s memory
            seen = viewers.get(g.id, {g.id})
            if out.shape == g.shape != () and seen.isdisjoint(returned | given):
                alias[out.id] = g
                returned.add(g.id)
            else:
                kept.append(eq)
        elif out.shape == g.shape or all(
            _broadcasts_alike(r, out, g, alias) for r in readers.get(out.id, ())
        ):
            alias[out.id] = g
        else:
            kept.append(eq)
    return kept, alias


def _identity_argument(eq: Equation) -> Var | None:
    """The argument a line returns unchanged, up to broadcasting, if it is one."""
    units: dict[Any, int] = {np.multiply: 1, np.add: 0}
    unit = None if eq.params else units.get(eq.fn)
    if unit is None or len(eq.args) != 2:
        return None
    a, b = eq.args
    if isinstance(a, Var) and _all_equal(b, unit) and _exact_unit(eq.fn, b, a):
        return a
    if isinstance(b, Var) and _all_equal(a, unit) and _exact_unit(eq.fn, a, b):
        return b
    return None


def _exact_unit(fn: Any, c: Any, g: Var) -> bool:
    """Whether adding the zeros `c` leaves every `g` unchanged: always for integers, but of
    floats only ``-0.0`` is the identity (``-0.0 + 0.0`` is ``0.0``: NumPy's eager sum, and
    a later ``1 / x`` or ``copysign`` sees the sign); multiplying by ones always does."""
    return (
        fn is not np.add or np.dtype(g.dtype).kind in "biu"
        or bool(np.all(np.signbit(c)))
    )  # fmt: skip


def _all_equal(c: Any, unit: int) -> bool:
    """Whether `c` is a constant of real numbers all equal to `unit`."""
    if isinstance(c, bool) or not isinstance(c, (int, float, np.ndarray, np.generic)):
        return False
    return np.result_type(c).kind in "iuf" and bool(np.all(c == unit))


def _same_dtype(g: Var, out: Var) -> bool:
    """Whether `g` and `out` have one real NumPy dtype (multiplying a complex infinity by
    one gives NaNs)."""
    return isinstance(g.dtype, np.dtype) and g.dtype == out.dtype and g.dtype.kind in "iuf"


def _broadcasts_alike(reader: Equation, out: Var, g: Var, alias: dict[int, Var]) -> bool:
    """Whether `reader` gives a result of the same shape with `g` in place of `out`."""
    if not _plain_ufunc(reader):
        return False
    shapes = []
    for a in reader.args:
        a = _renamed(a, alias)
        shapes.append(g.shape if a is out else a.shape if isinstance(a, Var) else np.shape(a))
    return np.broadcast_shapes(*shapes) == reader.outs[0].shape


# ---------------------------------------------------------------------------- memory plan

REMAT_BYTES = 1 << 20
"""Values at least this large are recomputed rather than kept, where that lowers the peak
(below it, memory is not what a replay is short of, and every line costs time)."""
REMAT_PATIENCE = 8
"""Rounds of recomputation tried without lowering the peak before the search ends (a round
is a pass over the program: searching on made a 600-line program's compile 20 times
slower)."""

REMAT_LINES = 8  # the longest chain of lines recomputed for one value

KEEP_BYTES = 1 << 16
"""Dead values are released together once they take this much: small ones cost more time to
release one by one than their memory is worth (a program of small values keeps them all to
the end of the call)."""


class _Lives:
    """Where each result of a program is made (its line), where it is read (lines, in
    order; returned values are read after the last line), which line makes it; and the
    bytes of results `held` at each line (made there or earlier, read there or later; a
    result written into a dying argument's buffer counted once): what a replay holds
    besides its inputs and constants."""

    def __init__(self, equations: list[Equation], outputs: list[Any]) -> None:
        self.made: dict[int, int] = {}
        self.reads: dict[int, list[int]] = {}
        self.maker: dict[int, Equation] = {}
        for k, eq in enumerate(equations):
            for a in eq.args:
                if isinstance(a, Var):
                    self.reads.setdefault(a.id, []).append(k)
            for v in eq.outs:
                self.made[v.id], self.maker[v.id] = k, eq
        for o in outputs:
            if isinstance(o, Var):
                self.reads.setdefault(o.id, []).append(len(equations))
        change = [0] * (len(equations) + 2)
        for eq in equations:
            for v in eq.outs:
                k = self.made[v.id]
                change[k] += v.nbytes()
                change[self.reads.get(v.id, [k])[-1] + 1] -= v.nbytes()
        last = {i: reads[-1] for i, reads in self.reads.items()}
        kept = {o.id for o in outputs if isinstance(o, Var)}
        into = _in_place(equations, last, kept)  # (as the replay will write them)
        self.held: list[int] = []
        total = 0
        for k, eq in enumerate(equations):
            total += change[k]
            self.held.append(total - (eq.outs[0].nbytes() if eq.outs[0].id in into else 0))

    def alive(self, a: Var, at: int) -> bool:
        """Whether the result `a` is held at line `at` anyway (made before, read there or
        later)."""
        return self.made[a.id] < at <= self.reads[a.id][-1]


def _summarized_early(equations: list[Equation], outputs: list[Any]) -> list[Equation]:
    """The equations, where an elementwise line is the last reader of its one value `x`
    and makes something smaller (a ReLU's mask ``x > 0``, read in the backward pass), moved
    up to just after the line that read or made `x` before it: `x` then dies there (its
    buffer free for what follows), and the smaller summary is what stays alive. Same
    lines on the same values: same bits."""
    kept = {o.id for o in outputs if isinstance(o, Var)}
    last_read = {a.id: k for k, eq in enumerate(equations) for a in eq.args if isinstance(a, Var)}
    touched: dict[int, int] = {}  # a value's last line so far (made or read)
    after: dict[int, list[int]] = {}  # the lines moved to just after a line
    for k, eq in enumerate(equations):
        vars_ = [a for a in eq.args if isinstance(a, Var)]
        x = vars_[0] if len(vars_) == 1 else None
        if (
            x is not None and _plain_ufunc(eq) and x.id not in kept and last_read[x.id] == k
            and x.id in touched and eq.outs[0].nbytes() < x.nbytes()
        ):  # fmt: skip
            after.setdefault(touched[x.id], []).append(k)
        touched.update((v.id, k) for v in (*vars_, *eq.outs))
    if not after:
        return equations
    moved = {k for ks in after.values() for k in ks}
    order: list[Equation] = []

    def place(k: int) -> None:
        order.append(equations[k])
        for m in after.get(k, ()):
            place(m)

    for k in range(len(equations)):
        if k not in moved:
            place(k)
    return order


def _rematerialized(
    equations: list[Equation], inputs: list[Var], outputs: list[Any]
) -> list[Equation]:
    """The equations, where large values are alive across the peak of memory without being
    read there, with those values recomputed just before their next reader instead of kept
    (as XLA rematerialises): from the inputs and values alive there anyway, by a short chain
    of elementwise lines needing one buffer. Same lines on the same values: same bits."""
    if not any(v.nbytes() >= REMAT_BYTES for eq in equations for v in eq.outs):
        return equations
    given = {v.id for v in inputs}
    returned = {o.id for o in outputs if isinstance(o, Var)}
    fresh = 1 + max([*given, *(v.id for eq in equations for v in eq.outs)])
    lives = _Lives(equations, outputs)
    best, best_peak = equations, max(lives.held)
    idle = 0  # rounds since the peak last fell: a search that has stopped paying ends
    while idle < REMAT_PATIENCE:  # each round shortens one value's life
        found = _recompute_one(equations, lives, given | returned, fresh)
        if found is None:
            break
        equations, fresh = found
        lives = _Lives(equations, outputs)
        idle += 1
        if max(lives.held) < best_peak:
            best, best_peak, idle = equations, max(lives.held), 0
    return best


def _recompute_one(
    equations: list[Equation], lives: _Lives, fixed: set[int], fresh: int
) -> tuple[list[Equation], int] | None:
    """The equations with one large value (not an input or output: `fixed`) alive across
    the (first) peak, not read there, recomputed before its next reader: of those, the one
    read last; and the next free number. None if there is none."""
    peak = lives.held.index(max(lives.held))
    best: tuple[int, Var, list[Equation]] | None = None
    for eq in equations[:peak]:
        v = eq.outs[0]
        after = [r for r in lives.reads.get(v.id, ()) if r >= peak]
        if (
            after and peak < after[0] and v.id not in fixed and v.nbytes() >= REMAT_BYTES
            and (best is None or after[0] > best[0])
        ):  # fmt: skip
            lines = _chain(v, after[0], lives)
            if lines is not None:
                best = (after[0], v, lines)
    if best is None:
        return None
    at, v, lines = best
    copies: dict[int, Var] = {}
    for eq in lines:  # the clones, each on the copies made before it
        copies[eq.outs[0].id] = eq.outs[0].renumbered(fresh)
        fresh += 1
    clones = [rewired(eq, copies, [copies[eq.outs[0].id]]) for eq in lines]
    later = [rewired(eq, {v.id: copies[v.id]}, eq.outs) for eq in equations[at:]]
    return [*equations[:at], *clones, *later], fresh


def _chain(v: Var, at: int, lives: _Lives, like: Var | None = None) -> list[Equation] | None:
    """The lines recomputing `v` just before line `at` from inputs, constants and values
    alive there anyway: elementwise lines of the shape and dtype of `like` (`v` itself at
    the top), at most one of whose arguments is recomputed too (so one buffer serves the
    chain); None if there are none."""
    eq = lives.maker.get(v.id)
    if eq is None or not _plain_ufunc(eq) or not _same_kind(v, like or v):
        return None
    below: list[Equation] = []
    for a in eq.args:
        if isinstance(a, Var) and a.id in lives.made and not lives.alive(a, at):
            if below:
                return None
            below = _chain(a, at, lives, like or v) or []
            if not below:
                return None
    return [*below, eq] if len(below) < REMAT_LINES else None


def rewired(eq: Equation, renames: dict[int, Any], outs: list[Var]) -> Equation:
    """`eq` reading the renamed values and making `outs` (itself if nothing changes)."""
    args = [renames.get(a.id, a) if isinstance(a, Var) else a for a in eq.args]
    if outs is eq.outs and all(a is b for a, b in zip(args, eq.args, strict=True)):
        return eq
    return Equation(eq.fn, eq.name, args, eq.params, outs, eq.multiple)
