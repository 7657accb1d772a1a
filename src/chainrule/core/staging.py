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
elimination), repeated lines are merged (common subexpressions), and each value is released
after its last use.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

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

    __slots__ = ("var",)
    batched = True  # kept by `primal`: what a rule derives from it is recorded, not frozen

    def __init__(self, value: Any, var: Var, trace: StagingTrace) -> None:
        self.value = value
        self.var = var
        self._trace = trace

    def stripped(self) -> StagedTracer:
        return self  # (the staging trace is the lowest: its values are plain)

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
        return self.var.shape

    @property
    def ndim(self) -> int:
        return len(self.var.shape)

    @property
    def dtype(self) -> Any:
        return np.result_type(self.value)


class StagingTrace(Trace):
    """One `jit` tracing: the equations recorded so far, in the order they ran."""

    __slots__ = ("equations", "inputs", "vars")

    def __init__(self, owner: Any = None) -> None:
        super().__init__(owner)
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
                vals[i], refs[i] = a.value, a.var
            elif isinstance(a, Tracer):
                raise closure_error(self, what)
        return vals, refs

    def process(self, prim: Primitive, args: tuple[Any, ...], params: dict[str, Any]) -> Any:
        if self.ended:
            raise leaked_error(self, prim)
        vals, refs = self.refs(str(prim.name), args)
        try:
            ans = prim.impl(*vals, **params)
        except ValueError as e:
            if type(e) is not ValueError:
                raise
            raise shape_error(prim, vals, e) from None
        return self.record(prim.impl, str(prim.name), refs, params, ans, prim.multiple_results)

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


def closure_error(trace: StagingTrace, what: str) -> TypeError:
    owner = "jit" if trace.owner is None else str(trace.owner)
    return TypeError(
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
        self.equations, alias = _merged(_live(equations, outputs))
        self.outputs = [alias.get(o.id, o) if isinstance(o, Var) else o for o in outputs]
        self._compile()

    def __str__(self) -> str:
        lines = [f"{{ lambda {' '.join(v.describe() for v in self.inputs)} ;"]
        lines += [f"    {eq}" for eq in self.equations]
        outs = " ".join(repr(o) if isinstance(o, Var) else _constant(o) for o in self.outputs)
        lines.append(f"  in ( {outs} ) }}")
        return "\n".join(lines)

    def _compile(self) -> None:
        """Slots for every value (inputs, constants, results), and per line the slots its
        arguments come from, where its results go, and which values it is the last to use."""
        slot: dict[int, int] = {v.id: i for i, v in enumerate(self.inputs)}
        template: list[Any] = [None] * len(self.inputs)

        def place(a: Any) -> int:
            if isinstance(a, Var):
                return slot[a.id]
            template.append(a)  # a constant: a slot of its own, filled once
            return len(template) - 1

        steps: list[list[Any]] = []
        for eq in self.equations:
            args = tuple(place(a) for a in eq.args)
            outs = []
            for v in eq.outs:
                slot[v.id] = len(template)
                template.append(None)
                outs.append(slot[v.id])
            steps.append([eq.fn, args, eq.params, tuple(outs), eq.multiple, ()])
        self._outputs = [place(o) for o in self.outputs]
        keep = set(self._outputs)
        last: dict[int, int] = {}
        for k, step in enumerate(steps):
            for s in step[1]:
                last[s] = k
        frees: dict[int, list[int]] = {}
        for s, k in last.items():
            if s not in keep and template[s] is None:
                frees.setdefault(k, []).append(s)
        for k, step in enumerate(steps):
            step[5] = tuple(frees.get(k, ()))
            step[1] = _getter(step[1])
        self._steps: list[tuple[Any, ...]] = [tuple(s) for s in steps]
        self._template = template

    def __call__(self, inputs: Sequence[Any]) -> list[Any]:
        env = self._template.copy()
        env[: len(inputs)] = inputs
        for fn, get, params, outs, multiple, frees in self._steps:
            ans = fn(*get(env), **params) if params else fn(*get(env))
            if multiple:
                for s, a in zip(outs, ans, strict=True):
                    env[s] = a
            else:
                env[outs[0]] = ans
            for s in frees:
                env[s] = None
        return [env[s] for s in self._outputs]


def _getter(slots: tuple[int, ...]) -> Callable[[list[Any]], tuple[Any, ...]]:
    """A function of the value list returning the arguments at `slots`, as a tuple."""
    if not slots:
        return lambda env: ()
    if len(slots) == 1:
        (s,) = slots
        return lambda env: (env[s],)
    return operator.itemgetter(*slots)


def _live(equations: list[Equation], outputs: list[Any]) -> list[Equation]:
    """The equations some output needs (dead-code elimination), in their order."""
    needed = {o.id for o in outputs if isinstance(o, Var)}
    kept = []
    for eq in reversed(equations):
        if any(v.id in needed for v in eq.outs):
            kept.append(eq)
            needed.update(a.id for a in eq.args if isinstance(a, Var))
    kept.reverse()
    return kept


def _merged(equations: list[Equation]) -> tuple[list[Equation], dict[int, Var]]:
    """The equations with repeats merged (common-subexpression elimination): a line that
    calls the same function on the same values with the same parameters as an earlier one
    reuses its results; and what each dropped result is now called. Lines whose parameters
    cannot be compared are kept as they are."""
    seen: dict[Any, Equation] = {}
    alias: dict[int, Var] = {}
    out = []
    for eq in equations:
        eq.args = [alias.get(a.id, a) if isinstance(a, Var) else a for a in eq.args]
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
