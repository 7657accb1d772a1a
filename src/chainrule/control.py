"""Control flow that `jit`, `grad`, `jvp` and `vmap` see through: `cond`, `while_loop`,
`fori_loop` and `scan`, with JAX's signatures.

With plain values (no transform running) each is the Python statement it stands for. Under a
transform the branch, condition or loop body is traced once into a `Program` (a *body*): the
values of outer transforms it reads become extra inputs, so the body is a closed function of
arrays. The construct is then one primitive whose parameters are its bodies: `jit` records it
as one line (an RNN written with `scan` is one loop body replayed T times), and its rules are
themselves control flow over the transformed bodies. The body replays primitives, so the
rules compose to any order:

- forward mode pushes tangents through the bodies (a scan of pairs value, tangent);
- reverse mode through `scan` is a backward scan over the carries the forward scan stored
  (backpropagation through time); through `cond`, the taken branch's; `while_loop` has none;
- `vmap` maps the bodies; a batched `cond` predicate computes both branches and selects per
  example; a batched `while_loop` condition runs until every example is done.

What does not depend on a scan's carry leaves its loop (`_hoisted`): the body's lines that
read only the xs and closed-over values run before it, batched over the steps, and the
reverse rule's loop carries only the carry's cotangent, the other cotangents being one
pullback of the body batched over the steps (`_scan_vjp`). An RNN's loops then do one
matrix-vector product per step each, and its weight gradients are matrix products.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import Any, cast

import numpy as np

from . import numpy as cnp
from . import tree
from .core import batching
from .core.batching import BatchTracer, batch_flat, defbatch
from .core.custom import stop_gradient
from .core.forward import jvp_flat
from .core.primitive import BODIES, Primitive, defjvp_joint, own_body
from .core.reverse import VJPTracer, vjp_flat
from .core.staging import (
    PYTHON_NUMBERS,
    Equation,
    Program,
    StagedTracer,
    StagingTrace,
    Var,
    needs,
    plain_line,
    recording,
    rewired,
    strong,
    traced_number,
)
from .core.trace import (
    Tracer,
    dtype_of,
    in_dtype_of,
    is_float,
    plain,
    primal,
    shape_of,
    zero_tangent,
)

Flat = Callable[[list[Any]], list[Any]]

# ---------------------------------------------------------------------------- bodies


class _BodyTrace(StagingTrace):
    """The tracing of one body: like `jit`'s, but a value of another trace the body reads (a
    closed-over tracer) becomes an extra input, and each line calls the primitive itself, so
    that replaying the body on tracers differentiates or batches it (a line of a function
    without derivative is the NumPy function, which hands tracers back to chainrule)."""

    __slots__ = ("captured", "draws", "examples_run", "lifted")
    replayed = True

    def __init__(self, owner: str, examples_run: bool, draws: tuple[str, str]) -> None:
        super().__init__(owner)
        self.captured: list[Any] = []
        self.lifted: dict[int, Var] = {}
        self.examples_run = examples_run  # (the body surely runs on its examples)
        self.draws = draws  # (why a random draw here is refused: `staging.replaying`)

    def refs(self, what: str, args: Sequence[Any]) -> tuple[list[Any], list[Any]]:
        vals, refs = list(args), list(args)
        for i, a in enumerate(args):
            if isinstance(a, StagedTracer) and a._trace is self:
                vals[i], refs[i] = a.value, a.ref
            elif isinstance(a, Tracer):
                vals[i] = _example(a)
                if _empty([a]):  # (no example runs: what follows is traced on zeros)
                    self.examples_run = False
                var = self.lifted.get(id(a))
                if var is None:
                    var = self.lifted[id(a)] = self.new_var(vals[i])
                    self.captured.append(a)
                refs[i] = var
        return vals, refs

    def evaluate(
        self, prim: Primitive, vals: list[Any], refs: list[Any], params: dict[str, Any]
    ) -> Any:
        """As `jit`'s; but in a body that may not run, a loop or a branch (a primitive
        whose implementation says its results' `shapes`) is not run: it might not end on
        values it never meets."""
        shapes = getattr(prim.impl, "shapes", None)
        if shapes is not None and not self.examples_run:
            return shapes(*vals, **params)
        return super().evaluate(prim, vals, refs, params)

    def attempt(self, fn: Callable[..., Any], vals: list[Any], refs: list[Any]) -> Any:
        """As `jit`'s; but a body that may not run on its examples (a branch maybe not
        taken, a loop maybe not entered) is no error where they are (an index out of range,
        a singular matrix, which a `cond` may guard against): the line's value is wanted
        only for its shape and dtype, so the line's traced arguments are replaced by probes
        of theirs (zeros, then identity matrices or ones) until it runs. The line raises
        on the calls that run it, and here where it fails on every probe too."""
        try:
            return fn(*vals)
        except Exception:
            if self.examples_run:
                raise
            for probe in (_zeros, _identity_like):
                try:
                    return fn(*[
                        probe(v) if isinstance(r, Var) else v
                        for v, r in zip(vals, refs, strict=True)
                    ])  # fmt: skip
                except Exception:  # (the next probe; then the first error)
                    continue
            raise

    def line(self, prim: Primitive) -> Callable[..., Any]:
        """A body's lines call the primitive itself, so that replaying it on tracers
        differentiates or batches it (`_Subprogram` calls the implementations directly)."""
        return prim


def _identity_like(x: Any) -> Any:
    """A probe of `x`'s shape and dtype: identity matrices on its last two axes where they
    are square (what a solver or a factorization accepts), else ones."""
    if type(x) in PYTHON_NUMBERS:
        return type(x)(1)
    shape = np.shape(x)
    if len(shape) >= 2 and shape[-1] == shape[-2]:
        return np.broadcast_to(np.eye(shape[-1], dtype=np.result_type(x)), shape).copy()
    return np.ones_like(x)


def _example(x: Any) -> Any:
    """The plain value a body sees for `x`: under `vmap`, the first example (zeros of an
    example's type where the batch has none, `_empty`)."""
    if isinstance(x, BatchTracer):
        batch = _example(x.value)
        if np.shape(batch)[x.bdim] == 0:
            return np.zeros(np.delete(np.shape(batch), x.bdim), np.result_type(batch))
        return np.take(batch, 0, axis=x.bdim)
    return _example(x.value) if isinstance(x, Tracer) else x


def _empty(values: Sequence[Any]) -> bool:
    """Whether any of `values` is batched by a `vmap` of no examples: then nothing runs on
    the examples a body is traced on."""
    for x in values:
        while isinstance(x, Tracer):
            if isinstance(x, BatchTracer) and shape_of(x.value)[x.bdim] == 0:
                return True
            x = x.value
    return False


class _Subprogram(Program):
    """A body: its lines call primitives, so that rules replaying it on tracers differentiate
    or batch it; on plain arrays (a loop's steps) a twin calls their NumPy implementations
    directly. Printed (`make_program`) inside the line that runs it."""

    def __init__(self, inputs: list[Var], equations: list[Equation], outputs: list[Any]) -> None:
        super().__init__(inputs, equations, outputs)
        direct = [
            Equation(eq.fn.impl if isinstance(eq.fn, Primitive) else eq.fn, eq.name,
                     list(eq.args), eq.params, eq.outs, eq.multiple)
            for eq in self.equations
        ]  # fmt: skip
        self._direct = Program(inputs, direct, self.outputs)
        self._unrolled: dict[int, Program] = {}

    def __call__(self, inputs: Sequence[Any]) -> list[Any]:
        if any(isinstance(v, Tracer) for v in inputs):
            return self._traced(inputs)
        return self._direct(inputs)

    def _traced(self, inputs: Sequence[Any]) -> list[Any]:
        """The lines one by one on traced values (a rule differentiating or batching the
        body), each as a call of its function: no buffer of the compiled replay, which
        only plain arrays can be written into."""
        env = {v.id: x for v, x in zip(self.inputs, inputs, strict=True)}
        for eq in self.equations:
            out = eq.fn(*(env[a.id] if isinstance(a, Var) else a for a in eq.args), **eq.params)
            env.update(zip((v.id for v in eq.outs), out if eq.multiple else (out,), strict=True))
        return [env[o.id] if isinstance(o, Var) else o for o in self.outputs]

    def unrolled(self, k: int, n_carry: int, n_xs: int) -> Program:
        """`k` steps of a loop's body as one straight-line program of NumPy calls (`scan`'s
        `unroll`): the carry, then `k` steps' xs, then the closed-over values in; every
        step's outputs out, one step after the other. Built once per `k`."""
        if k not in self._unrolled:
            body = self._direct
            span = 1 + max(
                (v.id for v in [*body.inputs, *(o for e in body.equations for o in e.outs)]),
                default=0,
            )
            carry, consts = body.inputs[:n_carry], body.inputs[n_carry + n_xs :]
            inputs, equations, outputs = list(carry), [], []
            state: list[Any] = list(carry)
            for j in range(k):
                name: dict[int, Any] = {v.id: r for v, r in zip(carry, state, strict=True)}
                for v in body.inputs[n_carry : n_carry + n_xs]:
                    name[v.id] = v.renumbered(v.id + j * span)
                    inputs.append(name[v.id])
                for eq in body.equations:
                    outs = [v.renumbered(v.id + j * span) for v in eq.outs]
                    equations.append(rewired(eq, name, outs))
                    name.update((v.id, w) for v, w in zip(eq.outs, outs, strict=True))
                step = [name.get(o.id, o) if isinstance(o, Var) else o for o in body.outputs]
                outputs += step
                state = step[:n_carry]
            self._unrolled[k] = Program([*inputs, *consts], equations, outputs)
        return self._unrolled[k]

    def __repr__(self) -> str:
        return str(self).replace("\n", "\n        ")


_LOOP_DRAWS = ("a loop", "once, while the loop's body is traced, and every step would reuse them")
_BRANCH_DRAWS = (
    "cond",
    "while both branches are traced, one after the other, so the branch taken would not make "
    "the draws it makes eagerly",
)


class _Body:
    """A traced body: its program, the outer values it reads, and example outputs.

    `examples_run`: the body surely runs on `examples` (a scan's first step, a loop's first
    condition, the branch its predicate takes), so its checks refuse them at once; else (the
    other branch, a loop's body the condition does not enter) they run on each replay only,
    and a line that fails on them is traced on a probe (`_BodyTrace.evaluate`). Nothing runs
    surely inside a body that may not run. A random draw is refused in any body (`draws`
    says why): a loop's body or condition runs its lines on every step, and both branches
    of a `cond` are traced, so the taken one would not draw what it draws eagerly."""

    def __init__(
        self, fun: Flat, examples: list[Any], owner: str, examples_run: bool = False,
        draws: tuple[str, str] = _LOOP_DRAWS,
    ) -> None:  # fmt: skip
        parent = own_body()
        runs = examples_run and (parent is None or parent.examples_run)
        trace = _BodyTrace(owner, runs, draws)
        inputs = [trace.new_input(v) for v in examples]
        # (the tracing values are examples, a branch's maybe not taken: no warnings)
        with recording(trace, BODIES), np.errstate(all="ignore"):
            outs, refs = trace.refs(owner, fun(inputs))
        self.captured = trace.captured
        self.outs = outs
        lifted = [trace.lifted[id(a)] for a in trace.captured]
        self.program = _Subprogram(trace.inputs + lifted, trace.equations, refs)

    def untie(self, values: Sequence[Any], n: int = 0) -> None:
        """Give the ties in this body's lines between a value no derivative reaches and
        another the rule of a tie with a constant, as eager code, which sees the constant,
        gives them (`numpy.maximum`: 0, not 1/2 each). `values` are what the body's inputs
        stand for (its first `n` a loop's carries, which later steps may make reached);
        what it closes over counts too."""
        reached = _reached(self.program, n, [_maybe_differentiated(v)
                                             for v in (*values, *self.captured)])  # fmt: skip
        for eq in self.program.equations:
            alone = getattr(eq.fn, "alone", None)
            if alone is not None and not all(_in(a, reached) for a in eq.args):
                eq.fn = alone


def _maybe_differentiated(v: Any) -> bool:
    """Whether a derivative may reach `v`: a differentiated value, or one of a body that a
    rule may replay on differentiated values (a loop inside a loop)."""
    while isinstance(v, Tracer):
        if primal(v) is not v or getattr(v._trace, "replayed", False):
            return True
        v = v.value if v.batched else None
    return False


def _eager(*values: Any) -> bool:
    """Whether to run plain Python: no value is traced and no `vmap` or `jit` is running."""
    return not batching.active() and not any(isinstance(v, Tracer) for v in values)


def _avals(values: Sequence[Any]) -> list[tuple[tuple[int, ...], Any]]:
    return [(tuple(shape_of(v)), np.dtype(dtype_of(v))) for v in values]


def _describe(aval: tuple[tuple[int, ...], Any]) -> str:
    shape, dtype = aval
    return f"{dtype.name}[{','.join(map(str, shape))}]"


_PYTHON_NAMED = {t.__name__: t for t in PYTHON_NUMBERS}


def _check_carry(what: str, given: Sequence[Any], got: Sequence[Any], tree_in: Any,
                 tree_out: Any) -> None:  # fmt: skip
    """JAX's check: a loop's body returns a carry of the type it was given."""
    if tree_in != tree_out:
        raise TypeError(
            f"chainrule.{what}: body function carry input and carry output must have the same "
            f"pytree structure, but they differ: the input carry is {tree_in} and the output "
            f"carry is {tree_out}."
        )
    for k, (x, y) in enumerate(zip(given, got, strict=True)):
        # (a Python number, as eager code has it, takes the dtype the body gives)
        weak = type(_example(x)) in PYTHON_NUMBERS
        if weak and type(_example(y)) is type(_example(x)):
            continue  # (Python's own arithmetic: an int of any size)
        a, b = _avals([x, y])
        if a != b and not (weak and a[0] == b[0] and a[1].kind == b[1].kind):
            raise TypeError(
                f"chainrule.{what}: body function carry input and carry output must have equal "
                f"types (shapes and dtypes), but they differ: the input carry component {k} has "
                f"type {_describe(a)} but the corresponding output carry component has type "
                f"{_describe(b)}. Cast the output (`.astype`) or give init the output's type."
            )


def _flat_fun(fun: Callable[..., Any], treedef: Any, trees: list[Any]) -> Flat:
    """`fun` of the pytree `treedef` as a function of flat lists; records its output tree."""

    def flat(leaves: list[Any]) -> list[Any]:
        out, out_tree = tree.flatten(fun(*tree.unflatten(treedef, leaves)))
        trees.append(out_tree)
        return out

    return flat


def _at0(x: Any, d: int | None, size: int) -> Any:
    """`x` (batched along `d`, or shared) with its batch axis first."""
    if d is None:
        return cnp.broadcast_to(cnp.asarray(x)[None], (size, *shape_of(x)))
    return x if d == 0 else cnp.moveaxis(x, d, 0)


def _vmapped(fun: Flat, dims: Sequence[int | None], size: int,
             shared: Sequence[bool] = (), strict: bool = False) -> Flat:  # fmt: skip
    """`fun` mapped over the inputs batched along `dims`; every output batched on axis 0,
    but the first ones marked `shared`, which no example changes, left as they are (with
    `strict`, one that comes out batched raises `_Unshared`)."""

    def mapped(flat: list[Any]) -> list[Any]:
        outs, out_dims = batch_flat(fun, flat, dims, size)
        if strict and any(s and d is not None for s, d in zip(shared, out_dims, strict=False)):
            raise _Unshared
        return [
            o if k < len(shared) and shared[k] and d is None else _at0(o, d, size)
            for k, (o, d) in enumerate(zip(outs, out_dims, strict=True))
        ]

    return mapped


def _size(args: Sequence[Any], dims: Sequence[int | None]) -> int:
    return next(shape_of(a)[d] for a, d in zip(args, dims, strict=True) if d is not None)


def _floats(values: Sequence[Any]) -> list[bool]:
    """Which values have derivatives: real or complex floating point."""
    return [is_float(np.dtype(dtype_of(v))) or np.dtype(dtype_of(v)).kind == "c" for v in values]


def _batch_shape(tangents: Sequence[Any], values: Sequence[Any]) -> tuple[int, ...]:
    """The leading batch axes forward mode gives the tangents (``jacfwd``)."""
    for t, v in zip(tangents, values, strict=True):
        if t is not None:
            return tuple(shape_of(t))[: len(shape_of(t)) - len(shape_of(v))]
    return ()


def _tangents(flat: Flat, primals: list[Any], tangents: list[Any],
              batch: tuple[int, ...]) -> tuple[list[Any], list[Any]]:  # fmt: skip
    """Outputs of `flat` and their tangents, zeros where the output is constant."""
    outs, touts = jvp_flat(flat, primals, tangents, batch)
    return outs, [_or_zero(t, o, batch) for o, t in zip(outs, touts, strict=True)]


# ---------------------------------------------------------------------------- scan

# The most a scan stacks over its steps at once beyond its carries (128 MiB): the values of
# the body's lines that do not depend on the carry, computed before the loop (`_hoisted`), and
# the values of the body batched over the steps that the reverse rule pulls back (`_scan_vjp`).
# Beyond it, the loop computes them step by step.
_STACK_BYTES = 2**27


def _scan_impl(*args: Any, body: _Subprogram, n_carry: int, n_xs: int, length: int,
               reverse: bool, stacked: bool, unroll: int) -> list[Any]:  # fmt: skip
    """Run the body `length` times, `unroll` steps per call of one straight-line program
    (the steps left over one by one): the final carry, the ys stacked, and if `stacked` the
    carries each step started from (what the reverse rule needs)."""
    carry = list(args[:n_carry])
    xs, consts = args[n_carry : n_carry + n_xs], list(args[n_carry + n_xs :])
    stacks: list[Any] = []
    order = range(length - 1, -1, -1) if reverse else range(length)
    k, m = min(unroll, max(length, 1)), len(body.outputs)
    one = body._direct  # (an implementation gets plain arrays)
    steps = body.unrolled(k, n_carry, n_xs) if k > 1 else one
    start = 0
    while start < length:
        ts = order[start : start + k] if start + k <= length else order[start : start + 1]
        outs = (steps if len(ts) == k else one)([*carry, *(x[t] for t in ts for x in xs), *consts])
        for j, t in enumerate(ts):
            out = outs[j * m : (j + 1) * m]
            rows = [*out[n_carry:], *(carry if stacked else ())]
            if not stacks:
                stacks = [np.empty((length, *np.shape(v)), np.result_type(v)) for v in rows]
            for s, v in zip(stacks, rows, strict=True):
                s[t] = v
            carry = out[:n_carry]
        start += len(ts)
    if length == 0:  # empty stacks, of the types the body was traced with
        stacks = [np.empty((0, *v.shape), v.dtype) if isinstance(v, Var)
                  else np.empty((0, *np.shape(v)), np.result_type(v))
                  for v in body.outputs[n_carry:]]  # fmt: skip
        stacks += [np.empty((0, *np.shape(v)), np.result_type(v)) for v in carry if stacked]
    return [*carry, *stacks]


def _scan_shapes(*args: Any, body: _Subprogram, n_carry: int, length: int, stacked: bool,
                 **_: Any) -> list[Any]:  # fmt: skip
    """A scan's results by their types alone, zeros (`_BodyTrace.evaluate`)."""
    carry = [_zeros(v) for v in body.outputs[:n_carry]] if length else list(args[:n_carry])
    rows = [*map(_zeros, body.outputs[n_carry:]), *(args[:n_carry] if stacked else ())]
    return [*carry, *(np.zeros((length, *np.shape(v)), np.result_type(v)) for v in rows)]


def _zeros(v: Any) -> Any:
    """Zeros of the type of `v`, a value of a program (a `Var`) or a constant: a Python
    number stays one (weakly typed, as the loop or branch would give it)."""
    if isinstance(v, Var):
        if isinstance(v.dtype, str):  # (a Python number's type, by name)
            return _PYTHON_NAMED[v.dtype](0)
        return np.zeros(v.shape, v.dtype)
    if type(v) in PYTHON_NUMBERS:
        return type(v)(0)
    return np.zeros(np.shape(v), np.result_type(v))


_scan_impl.shapes = _scan_shapes  # type: ignore[attr-defined]
scan_p = Primitive(_scan_impl, "scan", multiple_results=True)


def _scan_flat(fun: Flat, init: list[Any], xs: list[Any], length: int, reverse: bool,
               what: str = "scan", stacked: bool | None = None, unroll: int = 1,
               ) -> tuple[list[Any], list[Any], list[Any]]:  # fmt: skip
    """Scan `fun` (``[*carry, *x] -> [*carry, *y]``): the final carry, the ys stacked, and (if
    `stacked`; None: if reverse mode may read them, `_reversible`) the carries each step
    started from; a replay runs `unroll` steps per call. Plain values run a Python loop, the
    rules' own scans too: each step's derivative then reads that step's values (a body
    traced once would take the first step's choices, such as how many zero factors a
    product's derivative splits off, for every step)."""
    n = len(init)
    if _eager(*init, *xs) and length:
        carry, ys, carries = list(init), [], []
        for t in range(length - 1, -1, -1) if reverse else range(length):
            carries.append(carry)
            out = fun([*carry, *(x[t] for x in xs)])
            _check_carry(what, init, out[:n], n, n)
            carry, y = out[:n], out[n:]
            ys.append(y)
        order = slice(None, None, -1) if reverse else slice(None)
        ys_s = [cnp.stack(c[order]) for c in zip(*ys, strict=True)]
        cs = [cnp.stack(c[order]) for c in zip(*carries, strict=True)] if stacked else []
        return carry, ys_s, cs
    examples = [_example(v) for v in init]
    examples += [np.zeros(shape_of(x)[1:], dtype_of(x)) if length == 0
                 else _example(x)[-1 if reverse else 0] for x in xs]  # fmt: skip
    runs = length > 0 and not _empty([*init, *xs])  # (the first step: on these examples)
    body = _Body(fun, examples, f"the body of {what}", examples_run=runs)
    _check_carry(what, examples[:n], body.outs[:n], n, n)
    body.untie([*init, *xs], n)
    if length and _retyped(fun, init, xs, examples, body, what):
        return _first_step_apart(fun, init, xs, length, reverse, what, stacked, unroll)
    if stacked is None:
        stacked = _reversible([*init, *xs, *body.captured])
    if not length:  # (no step: the carry as given, a Python number too, and nothing stacked)
        stacks = [np.zeros((0, *shape_of(v)), dtype_of(v)) for v in (*body.outs[n:], *init)]
        return (
            list(init),
            stacks[: len(body.outs) - n],
            stacks[len(body.outs) - n :] if stacked else [],
        )
    program, xs, consts = _hoisted(body.program, n, xs, body.captured, length)
    out = scan_p(*init, *xs, *consts, body=program, n_carry=n, n_xs=len(xs), length=length,
                 reverse=reverse, stacked=stacked, unroll=unroll)  # fmt: skip
    n_ys = len(out) - n - (n if stacked else 0)
    return list(out[:n]), list(out[n : n + n_ys]), list(out[n + n_ys :])


def _weak(x: Any) -> bool:
    """Whether eager code has a Python number for `x` (weakly typed, as NumPy takes it)."""
    return type(_example(x)) in PYTHON_NUMBERS


def _retyped(fun: Flat, init: Sequence[Any], xs: Sequence[Any], examples: list[Any], body: _Body,
             what: str) -> bool:  # fmt: skip
    """Whether a loop's carry that starts as a Python number, and that its body (traced on
    `examples`) makes an array, cannot start the loop as it is: under `vmap` (a batch of
    numbers is an array, of NumPy's type for them) or a derivative (the tangent or
    cotangent of the number would be of that type too), or where the body gives other types
    once the carry is that array (``r * c`` of an int32 `r` is int32 for ``c = 0``, int64
    for an int64 ``c``). Elsewhere the body traced once serves every step, the first on the
    number itself: a program replays Python's arithmetic on it."""
    changed = [_weak(c) and not _weak(o) for c, o in zip(init, body.outs, strict=False)]
    if not any(changed):
        return False
    if own_body() is not None or any(
        isinstance(v, Tracer) and not isinstance(v, StagedTracer)
        for v in (*init, *xs, *body.captured)
    ):  # (mapped, or differentiated: a tangent's type is the array's; or in a body, which a
        return True  # transform may replay so, unseen here)
    arrays = [np.zeros(shape_of(o), dtype_of(o)) if k else e
              for k, e, o in zip(changed, examples, body.outs, strict=False)]  # fmt: skip
    later = _Body(fun, [*arrays, *examples[len(init) :]], f"the body of {what}", False)
    return _avals(later.outs) != _avals(body.outs)


def _first_step_apart(fun: Flat, init: list[Any], xs: list[Any], length: int, reverse: bool,
                      what: str, stacked: bool | None, unroll: int,
                      ) -> tuple[list[Any], list[Any], list[Any]]:  # fmt: skip
    """`_scan_flat` of a carry that starts as a Python number and that the body makes an
    array: the first step on the number itself, as eager code takes it (Python's arithmetic,
    then NumPy's weak promotion), then the others, looped, from the array it gives."""
    first = length - 1 if reverse else 0
    out = fun([*init, *(x[first] for x in xs)])
    n = len(init)
    _check_carry(what, init, out[:n], n, n)
    rest = [x[:first] if reverse else x[1:] for x in xs]
    carry, ys, carries = _scan_flat(fun, out[:n], rest, length - 1, reverse, what,
                                    stacked=stacked, unroll=unroll)  # fmt: skip

    def joined(row: Any, rows: Any) -> Any:
        row = cnp.expand_dims(cnp.asarray(row), 0)  # (as `stack` takes a number: NumPy's)
        if length == 1:  # (no other row: nor its type)
            return row
        return cnp.concatenate([rows, row] if reverse else [row, rows])

    ys = [joined(y, s) for y, s in zip(out[n:], ys, strict=True)]
    return carry, ys, [joined(c, s) for c, s in zip(init, carries, strict=False)]


def _scan_prune(eq: Equation, needed: list[bool]) -> Equation | None:
    """A scan computing only the results needed: ys nobody reads, and carries that neither
    they nor a needed result read, leave the body (JAX's DCE of a scan). None if all stay."""
    p = eq.params
    body, n, n_xs, stacked = p["body"], p["n_carry"], p["n_xs"], p["stacked"]
    n_ys = len(body.outputs) - n
    ys = needed[n : n + n_ys]
    rows = needed[n + n_ys :] if stacked else [False] * n  # (the carries stacked, read?)
    carry = [c or r for c, r in zip(needed[:n], rows, strict=True)]
    while True:  # a carry the others or the ys read on the next step is needed too
        read = needs(body, [*carry, *ys])
        grown = [c or r for c, r in zip(carry, read[:n], strict=True)]
        if grown == carry:
            break
        carry = grown
    # (in a body, the stacks stay: a rule may take the body's derivative later, and reverse
    # mode reads them; its lines call primitives, a program's their implementations)
    stack = stacked if isinstance(eq.fn, Primitive) else any(rows)
    if all(carry) and all(ys) and stack == stacked:
        return None
    ins = [*carry, *read[n:]]
    return Equation(
        eq.fn, eq.name, _kept(eq.args, ins),
        {**p, "body": _shrunk(body, ins, [*carry, *ys]), "n_carry": sum(carry),
         "n_xs": sum(read[n : n + n_xs]), "stacked": stack},
        _kept(eq.outs, [*carry, *ys, *(c and stack for c in (carry if stacked else []))]),
        eq.multiple,
    )  # fmt: skip


def _kept(values: Sequence[Any], keep: Sequence[bool]) -> list[Any]:
    return [v for v, k in zip(values, keep, strict=True) if k]


def _shrunk(body: _Subprogram, inputs: Sequence[bool], outputs: Sequence[bool]) -> _Subprogram:
    """`body` with only the inputs and outputs marked (its lines copied: the new program
    prunes and compiles its own)."""
    lines = [Equation(e.fn, e.name, list(e.args), e.params, e.outs, e.multiple)
             for e in body.equations]  # fmt: skip
    return _Subprogram(_kept(body.inputs, inputs), lines, _kept(body.outputs, outputs))


def _reversible(values: Sequence[Any]) -> bool:
    """Whether reverse mode may pull back through a scan of `values`, so that it stores the
    carries: one is, or holds, a reverse-mode tracer, or is a value of a body being traced
    (a rule may differentiate the body). Otherwise (plain `jit`, `vmap`, `jvp`) it does not."""
    for v in values:
        while isinstance(v, Tracer):
            if isinstance(v, VJPTracer) or isinstance(v._trace, _BodyTrace):
                return True
            v = v.value
    return False


def _hoisted(body: _Subprogram, n: int, xs: list[Any], consts: list[Any], length: int,
             ) -> tuple[_Subprogram, list[Any], list[Any]]:  # fmt: skip
    """Loop-invariant code motion: the body's lines that do not depend on the carry run
    before the loop, for every step at once (those lines batched over the xs: a shared matrix
    times each step's vector becomes one matrix product), and the loop reads their values as
    more xs; lines of the closed-over values alone run once, and the loop reads them as more
    closed-over values. The body without those lines, and its new xs and closed-over values.
    A line stays in the loop if it cannot be batched (`_batchable`) or if its values for every
    step would pass `_STACK_BYTES`."""
    n_xs = len(xs)
    level = {v.id: 2 if i < n else 1 if i < n + n_xs else 0 for i, v in enumerate(body.inputs)}
    moved, kept, room = [], [], _STACK_BYTES  # level: 0 fixed, 1 per step, 2 carry-dependent
    for eq in body.equations:
        lv = max((level[a.id] for a in eq.args if isinstance(a, Var)), default=0)
        size = length * sum(v.nbytes() for v in eq.outs) if lv == 1 else 0
        if length and lv < 2 and size <= room and _batchable(eq):
            room -= size
            moved.append(eq)
        else:
            lv = 2
            kept.append(eq)
        for v in eq.outs:
            level[v.id] = lv
    if not moved:
        return body, xs, consts
    read = {a.id for eq in kept for a in eq.args if isinstance(a, Var)}
    read |= {o.id for o in body.outputs if isinstance(o, Var)}
    made = [v for eq in moved for v in eq.outs if v.id in read]
    per_step = [v for v in made if level[v.id] == 1]
    fixed = [v for v in made if level[v.id] == 0]
    x_in, c_in = body.inputs[n : n + n_xs], body.inputs[n + n_xs :]
    part = _Subprogram([*x_in, *c_in], moved, [*per_step, *fixed])
    outs, dims = batch_flat(part, [*xs, *consts], [0] * n_xs + [None] * len(consts), length)
    k = len(per_step)
    new_xs = [x for x, v in zip(xs, x_in, strict=True) if v.id in read]
    new_xs += [_at0(o, d, length) for o, d in zip(outs[:k], dims[:k], strict=True)]
    new_consts = [c for c, v in zip(consts, c_in, strict=True) if v.id in read] + outs[k:]
    inputs = [*body.inputs[:n], *(v for v in x_in if v.id in read), *per_step,
              *(v for v in c_in if v.id in read), *fixed]  # fmt: skip
    return _Subprogram(inputs, kept, body.outputs), new_xs, new_consts


def _batchable(eq: Equation) -> bool:
    """Whether a line can run for every step at once, as well as step by step: it has a
    batching rule (without one, batching it is a loop over the steps), and it makes no choice
    per step. A `cond` or `while_loop` (here or in a body the line runs) batched computes every
    branch and selects, and a pullback through a branch not taken can give ``0 * inf`` (NaN)
    where the step's own gives none."""
    fn = eq.fn
    if getattr(fn, "batch", True) is None or fn is cond_p or fn is while_p:
        return False
    bodies = [p for v in eq.params.values() for p in (v if isinstance(v, tuple) else (v,))]
    return all(_batchable(e) for p in bodies if isinstance(p, Program) for e in p.equations)


def scan(
    f: Callable[[Any, Any], tuple[Any, Any]],
    init: Any,
    xs: Any = None,
    length: int | None = None,
    reverse: bool = False,
    unroll: int | bool = 1,
) -> tuple[Any, Any]:
    """Loop ``carry, y = f(carry, x)`` over the leading axis of `xs`: the final carry and the
    ys stacked (JAX's `lax.scan`). Differentiable in both modes, jittable (one body replayed),
    vmappable. With `unroll` (a positive int, or True for every step) a compiled program runs
    that many steps per iteration of its loop, as one straight-line program: the same numbers,
    less Python per step.

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.scan(lambda c, x: (c + x, c * x), 0.0, np.array([1.0, 2.0, 3.0]))
    (np.float64(6.0), array([0., 2., 9.]))
    """
    return _scan(f, init, xs, length, reverse, unroll, "scan")


def _scan(f: Callable[[Any, Any], tuple[Any, Any]], init: Any, xs: Any, length: int | None,
          reverse: bool, unroll: int | bool, what: str) -> tuple[Any, Any]:  # fmt: skip
    """`scan`, its errors naming `what` (``fori_loop`` runs one)."""
    init_leaves, carry_tree = tree.flatten(init)
    x_leaves, x_tree = tree.flatten(xs)
    lengths = {int(shape_of(x)[0]) if shape_of(x) else -1 for x in x_leaves}
    if -1 in lengths:
        raise ValueError("chainrule.scan got value with no leading axis to scan over.")
    if length is not None:
        lengths.add(int(length))
    if len(lengths) != 1:
        raise ValueError(
            "chainrule.scan got "
            + ("no xs and no length" if not lengths else f"inconsistent lengths {sorted(lengths)}")
            + " for the leading axis of xs (and `length`): give xs arrays of one length."
        )
    size = lengths.pop()
    if isinstance(unroll, bool):
        unroll = max(size, 1) if unroll else 1
    if not isinstance(unroll, (int, np.integer)) or unroll < 1:
        raise ValueError("chainrule.scan: `unroll` must be a `bool` or a positive `int`.")
    trees: list[Any] = []
    n = len(init_leaves)

    def step(flat: list[Any]) -> list[Any]:
        carry = tree.unflatten(carry_tree, flat[:n])
        x = tree.unflatten(x_tree, flat[n:])
        result = f(carry, x)
        if not (isinstance(result, tuple | list) and len(result) == 2):
            raise TypeError("chainrule.scan: f must return a pair (carry, y).")
        c_leaves, c_tree = tree.flatten(result[0])
        y_leaves, y_tree = tree.flatten(result[1])
        _check_carry(what, init_leaves, c_leaves, carry_tree, c_tree)
        trees.append(y_tree)
        return [*c_leaves, *y_leaves]

    carry, ys, _ = _scan_flat(step, init_leaves, x_leaves, size, reverse, what, unroll=int(unroll))
    return tree.unflatten(carry_tree, carry), tree.unflatten(trees[-1], ys)


def _scan_jvp(tangents: list[Any], ans: None, *args: Any, body: Program, n_carry: int,
              n_xs: int, length: int, reverse: bool, stacked: bool,
              unroll: int) -> tuple[list[Any], list[Any]]:  # fmt: skip
    """A scan of (value, tangent) pairs, the scan's values and their tangents; xs tangents
    scanned along their axis after the batch."""
    batch = _batch_shape(tangents, args)
    k = len(batch)
    n, n_in = n_carry, len(args)
    carry_f = _moving(body, n, tangents, _floats(args))
    carry_t = [_or_zero(tangents[i], args[i], batch) for i in carry_f]
    x_idx = [i for i in range(n, n + n_xs) if tangents[i] is not None]
    xt = [cnp.moveaxis(tangents[i], k, 0) if k else tangents[i] for i in x_idx]
    consts = list(args[n + n_xs :])
    ct_c = [tangents[i] for i in range(n + n_xs, n_in)]
    nt = len(carry_f)

    def step(flat: list[Any]) -> list[Any]:
        c, ct = flat[:n], flat[n : n + nt]
        x, xtan = flat[n + nt : n + nt + n_xs], flat[n + nt + n_xs :]
        tans: list[Any] = [None] * n_in
        for i, t in zip(carry_f, ct, strict=True):
            tans[i] = t
        for i, t in zip(x_idx, xtan, strict=True):
            tans[i] = t
        tans[n + n_xs :] = ct_c
        outs, touts = _tangents(body, [*c, *x, *consts], tans, batch)
        return [*outs[:n], *(touts[i] for i in carry_f), *outs[n:], *touts[n:],
                *((*c, *ct) if stacked else ())]  # fmt: skip

    ns = len(body.outputs) - n
    c, ys, _ = _scan_flat(step, [*args[:n], *carry_t], [*args[n : n + n_xs], *xt], length,
                          reverse, stacked=False, unroll=unroll)  # fmt: skip
    values = [*c[:n], *ys[:ns], *(ys[2 * ns : 2 * ns + n] if stacked else ())]
    moved = [cnp.moveaxis(y, 0, k) if k else y for y in ys[ns : 2 * ns]]  # tangents
    final_t = dict(zip(carry_f, c[n:], strict=True))
    stacked_t = {}
    if stacked:
        carry_ts = [cnp.moveaxis(y, 0, k) if k else y for y in ys[2 * ns + n :]]
        stacked_t = dict(zip(carry_f, carry_ts, strict=True))
    return values, [*(final_t.get(i) for i in range(n)), *moved,
                    *(stacked_t.get(i) for i in range(n) if stacked)]  # fmt: skip


def _moving(body: Program, n: int, tangents: Sequence[Any], floats: Sequence[bool]) -> list[int]:
    """The carries of a loop (`body` of `n` carries, then its other inputs) whose tangent may
    be other than zero: those given one, and those the body computes from such values, on
    any step. The others keep no tangent at all, as JAX's symbolic zeros: a dense zero
    would meet an infinite slope (``sqrt`` of a carry at 0) as ``0 * inf = NaN``."""
    given = [t is not None and (i >= n or floats[i]) for i, t in enumerate(tangents)]
    reached = _reached(body, n, given, floats)
    return [i for i in range(n) if given[i] or (floats[i] and _in(body.outputs[i], reached))]


def _reached(body: Program, n: int, given: Sequence[bool],
             floats: Sequence[bool] | None = None) -> set[int]:  # fmt: skip
    """The values of `body` that the inputs marked `given` reach, its first `n` inputs a
    loop's carries, each reached too from a step on which the body's result for it is
    (if `floats` says it can carry a derivative)."""
    marked = list(given)
    while True:
        reached = {v.id for v, m in zip(body.inputs, marked, strict=True) if m}
        for eq in body.equations:
            if any(_in(a, reached) for a in eq.args):
                reached.update(o.id for o in eq.outs)
        grown = [m or ((floats is None or floats[i]) and _in(body.outputs[i], reached))
                 for i, m in enumerate(marked[:n])]  # fmt: skip
        if grown == marked[:n]:
            return reached
        marked[:n] = grown


def _in(v: Any, ids: set[int]) -> bool:
    return isinstance(v, Var) and v.id in ids


def _scan_vjp(g: Sequence[Any], ans: Any, *args: Any, body: Program, n_carry: int, n_xs: int,
              length: int, reverse: bool, stacked: bool, unroll: int) -> list[Any]:  # fmt: skip
    """Backpropagation through time. A scan the other way over the stored carries takes the
    carry's cotangent back step by step and stacks what each step's carry output received;
    the cotangents of the xs and of the closed-over values are then one pullback of the body
    batched over the steps (for ``W @ h``, ``sum_t outer(d_t, h_t)`` is one matrix product).
    Where the body cannot be batched (`_batchable`) or its values for every step would pass
    `_STACK_BYTES`, the loop computes those cotangents too, the closed-over values' summed as
    carries."""
    n, n_in = n_carry, len(args)
    xs, consts = list(args[n : n + n_xs]), list(args[n + n_xs :])
    if not stacked:  # (a scan of a rule, differentiated again) recompute its carries
        carries = _scan_flat(lambda flat: body([*flat, *consts]), list(args[:n]), xs, length,
                             reverse, stacked=True, unroll=unroll)[2]  # fmt: skip
        ans, g = [*ans, *carries], [*g, *(None for _ in carries)]
    n_ys = len(ans) - 2 * n
    # (the sweep's plain zeros for an output no one reads: nothing to add)
    g = [None if isinstance(c, np.ndarray) and not c.any() else c for c in g]
    floats = _floats(args)
    carry_f = [i for i in range(n) if floats[i]]
    other_f = [i for i in range(n, n_in) if floats[i]]  # xs and closed-over values
    ct_ys = [c if fl else None for c, fl in zip(g[n : n + n_ys], _floats(ans[n : n + n_ys]),
                                                strict=True)]  # fmt: skip
    y_idx = [j for j, c in enumerate(ct_ys) if c is not None]
    s_idx = [i for i in carry_f if g[n + n_ys + i] is not None]  # stored carries read
    batched = (bool(other_f) and length > 0 and all(_batchable(eq) for eq in body.equations)
               and length * sum(v.nbytes() for eq in body.equations for v in eq.outs)
               <= _STACK_BYTES)  # fmt: skip
    inner = carry_f if batched else [*carry_f, *other_f]
    sums = [] if batched else [i for i in other_f if i >= n + n_xs]
    x_f = [] if batched else [i for i in other_f if i < n + n_xs]
    nc, na, ny = len(carry_f), len(sums), len(y_idx)

    def step(flat: list[Any]) -> list[Any]:
        ct_c, acc, k = flat[:nc], flat[nc : nc + na], nc + na
        values = [*flat[k : k + n + n_xs], *consts]  # the step's carry and xs
        gy = dict(zip(y_idx, flat[k + n + n_xs : k + n + n_xs + ny], strict=True))
        gs = dict(zip(s_idx, flat[k + n + n_xs + ny :], strict=True))

        def at(diff: list[Any]) -> list[Any]:
            return body(_replaced(values, inner, diff))

        _, back = vjp_flat(at, [_array(values[i]) for i in inner])
        given = dict(zip(carry_f, ct_c, strict=True))
        cts = dict(zip(inner, back([*map(given.get, range(n)), *map(gy.get, range(n_ys))]),
                       strict=True))  # fmt: skip
        new_c = [_or_zero(cts[i], values[i]) for i in carry_f]
        new_c = [c + gs[i] if i in gs else c for c, i in zip(new_c, carry_f, strict=True)]
        acc = [a if cts[i] is None else a + cts[i] for a, i in zip(acc, sums, strict=True)]
        ys = ct_c if batched else [_or_zero(cts[i], values[i]) for i in x_f]
        return [*new_c, *acc, *ys]

    init = [_or_zero(g[i], args[i]) for i in carry_f] + [_or_zero(None, args[i]) for i in sums]
    loop_xs = [*ans[n + n_ys :], *xs, *(ct_ys[j] for j in y_idx),
               *(g[n + n_ys + i] for i in s_idx)]  # fmt: skip
    carry, ys, _ = _scan_flat(step, init, loop_xs, length, not reverse, "scan (reverse mode)",
                              stacked=False, unroll=unroll)  # fmt: skip
    cts: list[Any] = [None] * n_in
    for i, c in zip([*carry_f, *sums, *x_f], [*carry, *([] if batched else ys)], strict=True):
        cts[i] = c
    if batched:  # the body at every step at once, pulled back once
        at_steps = [*ans[n + n_ys :], *xs, *consts]
        mapped = _vmapped(body, [0] * (n + n_xs) + [None] * len(consts), length)

        def steps(diff: list[Any]) -> list[Any]:
            return mapped(_replaced(at_steps, other_f, diff))

        _, back = vjp_flat(steps, [_array(at_steps[i]) for i in other_f])
        received = dict(zip(carry_f, ys, strict=True))
        got = back([*map(received.get, range(n)), *ct_ys])
        for i, c in zip(other_f, got, strict=True):
            cts[i] = c
    return cts


def _replaced(values: Sequence[Any], at: Sequence[int], new: Sequence[Any]) -> list[Any]:
    """`values` with the entries at positions `at` replaced by `new` (the differentiated
    ones, in a function of all of them)."""
    full = list(values)
    for i, v in zip(at, new, strict=True):
        full[i] = v
    return full


def _array(x: Any) -> Any:
    """A Python number as an array, as the transforms take it."""
    return x if isinstance(x, (Tracer, np.ndarray)) else np.asarray(x)


def _or_zero(c: Any, like: Any, batch: tuple[int, ...] = ()) -> Any:
    """A (co)tangent of `like`: `c` in the dtype of `like`'s derivatives (a loop's carry
    keeps its type: a complex carry made from a real input has complex tangents), or zeros
    for None."""
    return zero_tangent(like, batch) if c is None else in_dtype_of(c, like)


def _scan_batch(args: list[Any], dims: list[int | None], body: Program, n_carry: int, n_xs: int,
                length: int, reverse: bool, stacked: bool, unroll: int,
                ) -> tuple[list[Any], tuple[int | None, ...]]:  # fmt: skip
    """The body mapped: carries batched on axis 0, xs on axis 1 (0 within a step). A carry
    that is a Python number on every step (Python's arithmetic on numbers: the same for
    every example) stays one, shared, as each example has it: an array of NumPy's type for
    it would promote what the body multiplies by it."""
    size = _size(args, dims)
    n = n_carry
    shared = [d is None and _weak(a) and _python_typed(o)
              for a, d, o in zip(args[:n], dims[:n], body.outputs[:n], strict=True)]  # fmt: skip
    init = [a if s else _at0(a, d, size)
            for a, d, s in zip(args[:n], dims[:n], shared, strict=True)]  # fmt: skip
    xs = [a if d is None else cnp.moveaxis(a, d, 1)
          for a, d in zip(args[n : n + n_xs], dims[n : n + n_xs], strict=True)]  # fmt: skip
    consts = [a if d is None else _at0(a, d, size)
              for a, d in zip(args[n + n_xs :], dims[n + n_xs :], strict=True)]  # fmt: skip
    in_dims = [None if s else 0 for s in shared] + [None if d is None else 0 for d in dims[n:]]
    mapped = _vmapped(body, in_dims, size, shared)
    carry, ys, carries = _scan_flat(lambda flat: mapped([*flat, *consts]), init, xs, length,
                                    reverse, stacked=stacked, unroll=unroll)  # fmt: skip
    rows = shared if carries else []
    out_dims = [None if s else 0 for s in shared] + [1] * len(ys) + [None if s else 1 for s in rows]
    return [*carry, *ys, *carries], tuple(out_dims)


def _python_typed(v: Any) -> bool:
    """Whether a body's result `v` (a `Var`, or a constant) is a Python number."""
    return isinstance(v.dtype, str) if isinstance(v, Var) else type(v) in PYTHON_NUMBERS


defjvp_joint(scan_p, _scan_jvp, with_value=True)
scan_p.vjp_all = _scan_vjp
defbatch(scan_p, _scan_batch)
_scan_impl.prune = _scan_prune  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------- cond


def _check_pred(what: str, pred: Any) -> None:
    """JAX's checks: the predicate is a scalar boolean or number."""
    dtype = pred.dtype if isinstance(pred, Tracer) else np.asarray(pred).dtype
    if dtype.kind not in "biuf":
        raise TypeError(
            f"chainrule.{what}: pred type must be either boolean or number, got {dtype}."
        )
    if shape_of(pred) != ():
        hint = (
            "For a choice per element use `cnp.where(pred, a, b)`"
            if what == "cond" else "The loop goes on while one truth value holds (`np.any` or "
            "`np.all` of an array, if that is what you mean)"
        )  # fmt: skip
        raise TypeError(
            f"chainrule.{what}: pred must be a scalar, got an array of shape {shape_of(pred)}. "
            f"{hint}; under `vmap` pass one scalar per example."
        )


def _cond_impl(pred: Any, *args: Any, branches: tuple[Program, Program], n_ops: int,
               n_false: int) -> list[Any]:  # fmt: skip
    ops = list(args[:n_ops])
    if pred:
        return branches[1]([*ops, *args[n_ops + n_false :]])
    return branches[0]([*ops, *args[n_ops : n_ops + n_false]])


_cond_impl.shapes = lambda *args, branches, **_: [_zeros(v) for v in branches[0].outputs]  # type: ignore[attr-defined]
cond_p = Primitive(_cond_impl, "cond", multiple_results=True)


def _cond_prune(eq: Equation, needed: list[bool]) -> Equation:
    """A cond computing only the results needed, in both branches."""
    p = eq.params
    n_ops = p["n_ops"]
    reads = [needs(b, needed) for b in p["branches"]]
    ops = [f or t for f, t in zip(reads[0][:n_ops], reads[1][:n_ops], strict=True)]
    false, true = ([*ops, *r[n_ops:]] for r in reads)
    branches = tuple(
        _shrunk(b, i, needed) for b, i in zip(p["branches"], (false, true), strict=True)
    )
    return Equation(
        eq.fn, eq.name, [eq.args[0], *_kept(eq.args[1:], [*false, *true[n_ops:]])],
        {**p, "branches": branches, "n_ops": sum(ops), "n_false": sum(false[n_ops:])},
        _kept(eq.outs, needed), eq.multiple,
    )  # fmt: skip


_cond_impl.prune = _cond_prune  # type: ignore[attr-defined]


def _cond_flat(pred: Any, branches: Sequence[Flat], ops: list[Any], what: str = "cond",
               ) -> list[Any]:  # fmt: skip
    """``branches[1](ops)`` if `pred` else ``branches[0](ops)``."""
    if _eager(pred, *ops):
        return branches[bool(pred)](ops)
    examples = [_example(o) for o in ops]
    taken = None if _empty([pred, *ops]) else bool(_example(pred))
    bodies = [
        _Body(b, examples, f"a branch of {what}", examples_run=k == taken, draws=_BRANCH_DRAWS)
        for k, b in enumerate(branches)
    ]
    for b in bodies:
        b.untie(ops)
    false, true = (_avals(b.outs) for b in bodies)
    if false != true:
        if len(true) != len(false):
            detail = f"true_fun returns {len(true)} arrays and false_fun {len(false)}"
        else:
            k = next(i for i, (t, f) in enumerate(zip(true, false, strict=True)) if t != f)
            detail = (
                f"output leaf {k} is {_describe(true[k])} from true_fun and "
                f"{_describe(false[k])} from false_fun"
            )
        raise TypeError(
            f"chainrule.{what}: true_fun and false_fun must return the same types (a compiled "
            f"program runs either one), but {detail}. Cast one with `.astype`, or make both "
            "return arrays of one shape."
        )
    out = cond_p(pred, *ops, *bodies[0].captured, *bodies[1].captured,
                 branches=(bodies[0].program, bodies[1].program), n_ops=len(ops),
                 n_false=len(bodies[0].captured))  # fmt: skip
    return list(out)


def cond(
    pred: Any, true_fun: Callable[..., Any], false_fun: Callable[..., Any], *operands: Any
) -> Any:
    """``true_fun(*operands)`` if `pred` else ``false_fun(*operands)`` (JAX's `lax.cond`).

    Under `jit` both branches are traced and the predicate is read on every call; the
    derivative is the taken branch's; under `vmap` a batched predicate computes both branches
    and selects per example.

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> f = cr.jit(lambda x: cr.cond(x > 0, np.sin, np.cos, x))
    >>> bool(f(1.0) == np.sin(1.0)), bool(f(-1.0) == np.cos(-1.0))
    (True, True)
    """
    _check_pred("cond", pred)
    leaves, in_tree = tree.flatten(operands)
    trees: list[Any] = []
    fns = [_flat_fun(fun, in_tree, trees) for fun in (false_fun, true_fun)]
    out = _cond_flat(pred, fns, leaves)
    if len(trees) == 2 and trees[0] != trees[1]:
        raise TypeError(
            "chainrule.cond: true_fun and false_fun must return the same tree structure, but "
            f"true_fun returns {trees[1]} and false_fun {trees[0]}."
        )
    return tree.unflatten(trees[-1], out)


def _index(n_args: int, n_ops: int, n_false: int) -> list[list[int]]:
    """Which arguments of the primitive each branch reads, in its order."""
    ops = list(range(n_ops))
    return [ops + list(range(n_ops, n_ops + n_false)), ops + list(range(n_ops + n_false, n_args))]


def _cond_jvp(tangents: list[Any], ans: None, pred: Any, *args: Any,
              branches: tuple[Program, Program], n_ops: int,
              n_false: int) -> tuple[list[Any], list[Any]]:  # fmt: skip
    """The branch taken on (value, tangent) pairs: its values and their tangents (zero
    where only the predicate is traced, with the batch axes its tangent carries)."""
    batch = _batch_shape(tangents, (pred, *args))
    tans = tangents[1:]
    traced = [i for i, t in enumerate(tans) if t is not None]
    index = _index(len(args), n_ops, n_false)

    def branch(k: int) -> Flat:
        def push(flat: list[Any]) -> list[Any]:
            values, given = flat[: len(args)], dict(zip(traced, flat[len(args) :], strict=True))
            mine = [values[i] for i in index[k]]
            outs, touts = _tangents(branches[k], mine, [given.get(i) for i in index[k]], batch)
            return [*outs, *touts]

        return push

    out = _cond_flat(pred, [branch(0), branch(1)], [*args, *(tans[i] for i in traced)],
                     "cond (forward mode)")  # fmt: skip
    m = len(out) // 2
    return out[:m], out[m:]


def _cond_vjp(g: Sequence[Any], ans: Any, pred: Any, *args: Any,
              branches: tuple[Program, Program], n_ops: int, n_false: int) -> list[Any]:  # fmt: skip
    g = [_or_zero(c, a) for a, c in zip(ans, g, strict=True)]
    floats = _floats(args)
    wrt = [i for i in range(len(args)) if floats[i]]
    index = _index(len(args), n_ops, n_false)

    def branch(k: int) -> Flat:
        def pull(flat: list[Any]) -> list[Any]:
            values, ct = flat[: len(args)], flat[len(args) :]
            mine = [i for i in index[k] if floats[i]]

            def at(diff: list[Any]) -> list[Any]:
                full = dict(zip(index[k], (values[i] for i in index[k]), strict=True))
                full.update(zip(mine, diff, strict=True))
                return branches[k]([full[i] for i in index[k]])

            _, back = vjp_flat(at, [_array(values[i]) for i in mine])
            got = dict(zip(mine, back(ct), strict=True))
            return [_or_zero(got.get(i), values[i]) for i in wrt]

        return pull

    out = _cond_flat(pred, [branch(0), branch(1)], [*args, *g], "cond (reverse mode)")
    result: list[Any] = [None] * (1 + len(args))
    for i, c in zip(wrt, out, strict=True):
        result[1 + i] = c
    return result


def _cond_batch(args: list[Any], dims: list[int | None], branches: tuple[Program, Program],
                n_ops: int, n_false: int) -> tuple[list[Any], tuple[int, ...]]:  # fmt: skip
    size = _size(args, dims)
    pred, pdim, args, dims = args[0], dims[0], args[1:], dims[1:]
    index = _index(len(args), n_ops, n_false)

    def branch(k: int) -> Flat:
        mapped = _vmapped(branches[k], [dims[i] for i in index[k]], size)
        return lambda flat: mapped([flat[i] for i in index[k]])

    if pdim is None:
        out = _cond_flat(pred, [branch(0), branch(1)], list(args))
    else:  # both branches, and per example the one its predicate takes
        p = _at0(pred, pdim, size)
        taken = cnp.not_equal(p, 0)
        # (a traced value batched per example may be differentiated, now or, in a body,
        # later: held back; one shared by every example is not copied for each of them)
        held = [isinstance(a, Tracer) and d is not None for a, d in zip(args, dims, strict=True)]
        false, true = (
            _vmapped(branches[k], [0 if held[i] else dims[i] for i in index[k]], size)(
                [_held_back(args[i], cast(int, dims[i]), chosen, size) if held[i] else args[i]
                 for i in index[k]]
            )
            for k, chosen in enumerate((cnp.logical_not(taken), taken))
        )  # fmt: skip
        out = [cnp.where(cnp.reshape(p, (size,) + (1,) * (cnp.ndim(t) - 1)), t, f)
               for f, t in zip(false, true, strict=True)]  # fmt: skip
    return out, (0,) * len(out)


def _held_back(x: Any, d: int, chosen: Any, size: int) -> Any:
    """`x` (batched along `d`) as a branch computed for every example sees it: batched
    first, and without derivative for the examples that do not take the branch.
    Their derivatives through it are then selected away rather than multiplied by zero,
    which would keep a NaN or an infinity of the branch not taken (as JAX does)."""
    x = _at0(x, d, size)
    chosen = cnp.reshape(chosen, (size,) + (1,) * (cnp.ndim(x) - 1))
    return cnp.where(chosen, x, stop_gradient(x))


defjvp_joint(cond_p, _cond_jvp, with_value=True)
cond_p.vjp_all = _cond_vjp
defbatch(cond_p, _cond_batch)


# ---------------------------------------------------------------------------- while_loop


def _while_impl(*args: Any, cond: Program, body: Program, n_carry: int, n_cond: int) -> list[Any]:
    carry = list(args[:n_carry])
    c_consts, b_consts = list(args[n_carry : n_carry + n_cond]), list(args[n_carry + n_cond :])
    while cond([*carry, *c_consts])[0]:
        carry = body([*carry, *b_consts])
    return carry


_while_impl.shapes = lambda *args, body, **_: [_zeros(v) for v in body.outputs]  # type: ignore[attr-defined]
while_p = Primitive(_while_impl, "while_loop", multiple_results=True)


def _while_flat(cond_fun: Flat, body_fun: Flat, init: list[Any], what: str = "while_loop",
                ) -> list[Any]:  # fmt: skip
    """Apply `body_fun` to the carry while ``cond_fun(carry)[0]``."""
    n = len(init)
    if _eager(*init):
        carry = list(init)
        while True:
            (p,) = cond_fun(carry)
            _check_pred(what, p)
            if not plain(p):
                return carry
            out = body_fun(carry)
            _check_carry(what, carry, out, n, len(out))
            carry = out
    examples = [_example(v) for v in init]
    runs = not _empty(init)
    cond = _Body(cond_fun, examples, f"the condition of {what}", examples_run=runs)
    _check_pred(what, cond.outs[0])
    enters = runs and bool(cond.outs[0])
    body = _Body(body_fun, examples, f"the body of {what}", examples_run=enters)
    _check_carry(what, examples, body.outs, n, len(body.outs))
    body.untie(init, n)
    if _retyped(body_fun, init, cond.captured, examples, body, what):
        # A carry that starts as a Python number and that the body makes an array starts as
        # that array's type (eager code's first step would take the number itself, but how
        # many steps run is not known here).
        init = [strong(c, dtype_of(o)) if traced_number(c) else np.asarray(c, dtype_of(o))
                if _weak(c) and not _weak(o) else c
                for c, o in zip(init, body.outs, strict=True)]  # fmt: skip
        return _while_flat(cond_fun, body_fun, init, what)
    out = while_p(*init, *cond.captured, *body.captured, cond=cond.program, body=body.program,
                  n_carry=n, n_cond=len(cond.captured))  # fmt: skip
    return list(out)


def while_loop(
    cond_fun: Callable[[Any], Any], body_fun: Callable[[Any], Any], init_val: Any
) -> Any:
    """``val = body_fun(val)`` while ``cond_fun(val)`` (JAX's `lax.while_loop`).

    Under `jit` the condition is read on every call. Forward mode differentiates it; reverse
    mode cannot (the number of steps is not known ahead): use `scan`, or `fori_loop` with
    Python int bounds. Under `vmap` a batched condition runs until every example is done.

    >>> import chainrule as cr
    >>> int(cr.while_loop(lambda i: i < 10, lambda i: i + 3, 0))
    12
    """
    leaves, carry_tree = tree.flatten(init_val)
    args_tree = tree.structure((init_val,))
    trees: list[Any] = []
    body = _flat_fun(body_fun, args_tree, trees)

    def checked(flat: list[Any]) -> list[Any]:
        out = body(flat)
        _check_carry("while_loop", flat, out, carry_tree, trees[-1])
        return out

    pred = _flat_fun(cond_fun, args_tree, [])
    return tree.unflatten(carry_tree, _while_flat(pred, checked, leaves))


def _while_jvp(tangents: list[Any], ans: None, *args: Any, cond: Program, body: Program,
               n_carry: int, n_cond: int) -> tuple[list[Any], list[Any]]:  # fmt: skip
    """The loop on (value, tangent) pairs, its values and their tangents; the condition
    reads the values."""
    batch = _batch_shape(tangents, args)
    n = n_carry
    body_tangents = [*tangents[:n], *tangents[n + n_cond :]]
    carry_f = _moving(body, n, body_tangents, _floats(args[:n]))
    c_consts, b_consts = list(args[n : n + n_cond]), list(args[n + n_cond :])
    b_tans = list(tangents[n + n_cond :])
    init_t = [_or_zero(tangents[i], args[i], batch) for i in carry_f]

    def step(flat: list[Any]) -> list[Any]:
        c, ct = flat[:n], flat[n:]
        tans: list[Any] = [None] * n
        for i, t in zip(carry_f, ct, strict=True):
            tans[i] = t
        outs, touts = _tangents(body, [*c, *b_consts], [*tans, *b_tans], batch)
        return [*outs, *(touts[i] for i in carry_f)]

    out = _while_flat(lambda flat: cond([*flat[:n], *c_consts]), step, [*args[:n], *init_t],
                      "while_loop (forward mode)")  # fmt: skip
    final_t = dict(zip(carry_f, out[n:], strict=True))
    return out[:n], [final_t.get(i) for i in range(n)]


def _while_vjp(g: Sequence[Any], ans: Sequence[Any], *args: Any, **_: Any) -> list[Any]:
    """No reverse mode, but for a loop whose results have no derivative (integer counters):
    nothing then flows back, whatever the condition reads."""
    if not any(_floats(ans)):
        return [None] * len(args)
    raise ValueError(
        "chainrule.while_loop: Reverse-mode differentiation does not work for while_loop or "
        "fori_loop with traced bounds (the number of steps is not known ahead). Try using "
        "scan, or fori_loop with Python int bounds; forward mode (jvp, jacfwd) works."
    )


def _while_batch(args: list[Any], dims: list[int | None], cond: Program, body: Program,
                 n_carry: int, n_cond: int) -> tuple[list[Any], tuple[int | None, ...]]:  # fmt: skip
    """The loop mapped. A carry that no step makes depend on the batch stays shared (as each
    example has it: a `fori_loop`'s index, whose int64 batched would promote what the body
    multiplies by it), where the condition is shared too; with a batched condition, every
    carry is batched, the loop runs while any example's condition holds, and the examples
    that are done keep their carry."""
    n = n_carry
    c_mapped = [d is not None for d in dims[n : n + n_cond]]
    b_mapped = [d is not None for d in dims[n + n_cond :]]
    batched = [d is not None for d in dims[:n]]
    while True:  # (a carry is batched once what its step reads is)
        grown = [
            b or any(_reads_batched(body, k, [*batched, *b_mapped])) for k, b in enumerate(batched)
        ]
        if grown == batched:
            break
        batched = grown
    if any(_reads_batched(cond, 0, [*batched, *c_mapped])):
        batched = [True] * n

    def run(batched: list[bool]) -> tuple[list[Any], tuple[int | None, ...]]:
        """The loop with the carries marked `batched` batched, the others shared."""
        size = _size(args, dims)
        init = [_at0(a, d, size) if b else a
                for a, d, b in zip(args[:n], dims[:n], batched, strict=True)]  # fmt: skip
        carry_dims = [0 if b else None for b in batched]
        c_dims = carry_dims + [0 if m else None for m in c_mapped]
        b_dims = carry_dims + [0 if m else None for m in b_mapped]
        consts = [c if d is None else _at0(c, d, size)
                  for c, d in zip(args[n:], dims[n:], strict=True)]  # fmt: skip
        c_consts, b_consts = consts[:n_cond], consts[n_cond:]

        def preds(flat: list[Any]) -> Any:
            (p,), (d,) = batch_flat(cond, [*flat, *c_consts], c_dims, size)
            if d is not None and not all(batched):
                raise _Unshared
            return p

        mapped = _vmapped(body, b_dims, size, [not b for b in batched], strict=True)
        if not all(batched):  # (the condition reads no batched value)
            out = _while_flat(
                lambda flat: [preds(flat)], lambda flat: mapped([*flat, *b_consts]), init
            )
        else:

            def step(flat: list[Any]) -> list[Any]:
                p = preds(flat)
                new = mapped([*flat, *b_consts])
                return [cnp.where(cnp.reshape(p, (size,) + (1,) * (cnp.ndim(v) - 1)), v, c)
                        for v, c in zip(new, flat, strict=True)]  # fmt: skip

            out = _while_flat(lambda flat: [cnp.any(preds(flat))], step, init)
        return out, tuple(carry_dims)

    try:
        return run(batched)
    except _Unshared:  # (a step's batching rule batched what reads no batched value)
        return run([True] * n)


class _Unshared(Exception):
    """A loop's carry expected shared came out of a mapped step batched."""


def _reads_batched(program: Program, k: int, batched: Sequence[bool]) -> list[bool]:
    """Which of the batched inputs (marked `batched`) output `k` of `program` reads."""
    wanted = [i == k for i in range(len(program.outputs))]
    return [r and b for r, b in zip(needs(program, wanted), batched, strict=True)]


defjvp_joint(while_p, _while_jvp, with_value=True)
while_p.vjp_all = _while_vjp
defbatch(while_p, _while_batch)


# ---------------------------------------------------------------------------- fori_loop


def _as_int(i: Any) -> Any:
    """A step's index as eager code gives it, a Python int, which NumPy promotes weakly (a
    float32 carry plus `i` stays float32): in a body, a line that makes it an int on every
    replay too. Never batched over the steps (`_batchable`): one int per step."""
    if isinstance(i, StagedTracer):
        return plain_line(_as_int, "int", [i])
    return i if isinstance(i, Tracer) else operator.index(i)


_as_int.batch = None  # type: ignore[attr-defined]


def fori_loop(lower: Any, upper: Any, body_fun: Callable[[Any, Any], Any], init_val: Any, *,
              unroll: int | bool | None = None) -> Any:  # fmt: skip
    """``val = body_fun(i, val)`` for ``i`` in ``range(lower, upper)`` (JAX's `lax.fori_loop`).

    With Python int bounds it is a `scan` (reverse mode works; `unroll` is the scan's); with
    traced bounds, a `while_loop` (forward mode only).

    >>> import chainrule as cr
    >>> int(cr.fori_loop(0, 5, lambda i, total: total + i, 0))
    10
    """
    static = not isinstance(lower, Tracer) and not isinstance(upper, Tracer)
    for b in (lower, upper):
        if np.dtype(dtype_of(b)).kind not in "iu" or shape_of(b) != ():
            raise TypeError(
                "chainrule.fori_loop: lower and upper must be integer scalars, got "
                f"{dtype_of(b)}{list(shape_of(b))}."
            )
    if static:
        leaves, in_tree = tree.flatten(init_val)
        if _eager(*leaves):
            val = init_val
            for i in range(int(lower), int(upper)):
                val = body_fun(i, val)
                out, out_tree = tree.flatten(val)
                _check_carry("fori_loop", leaves, out, in_tree, out_tree)
            return val
        indices = np.arange(int(lower), max(int(lower), int(upper)))
        step = lambda val, i: (body_fun(_as_int(i), val), None)
        return _scan(step, init_val, indices, None, False, 1 if unroll is None else unroll,
                     "fori_loop")[0]  # fmt: skip
    if unroll is not None:
        raise ValueError(
            "chainrule.fori_loop: can only use `unroll` if the loop bounds are statically known "
            "(Python ints, not traced values)."
        )
    _, val = while_loop(
        lambda c: c[0] < upper,
        lambda c: (c[0] + 1, body_fun(_as_int(c[0]), c[1])),
        (cnp.asarray(lower), init_val),
    )
    return val
