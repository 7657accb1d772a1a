"""Shared pieces of the derivative rules: broadcasting, batch axes, non-differentiable wrappers.

Rules are written with the differentiable functions of `chainrule.numpy` (imported here as
`cnp`), so a rule is itself differentiable and higher derivatives come for free.

Batch axes: a forward-mode tangent may carry extra leading axes (see `core.primitive`).
`batch_ndim(t, x)` says how many; rules that are not elementwise shift their axes by it.

Batching rules (`vmap`, see `core.batching`) sit beside the derivative rules of each family.
Two shapes of rule serve most primitives and are set here with the derivative rules:
elementwise functions align the batch axes of their arguments and broadcast (`aligned`), and
a function linear in its first argument batches it exactly as its forward rule batches a
tangent (`deflinear`). The other families write theirs with `to_front`, `at_front` and
`batch_size`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from chainrule import numpy as cnp
from chainrule import tree
from chainrule.core import batching
from chainrule.core.batching import defbatch
from chainrule.core.primitive import (
    BODIES,
    Primitive,
    argument_rule,
    defjvp_joint,
    defvjp,
    own_body,
    owning,
)
from chainrule.core.staging import TRACINGS, StagedTracer, StagingTrace, staged_trace
from chainrule.core.trace import Tracer, dtype_of, is_complex, plain, primal, shape_of

Rule = Callable[..., Any]


def ndim_of(x: Any) -> int:
    return x.ndim if isinstance(x, (np.ndarray, np.generic, Tracer)) else np.ndim(x)


def batch_ndim(t: Any, x: Any) -> int:
    """Number of leading batch axes a tangent `t` of value `x` carries."""
    return ndim_of(t) - ndim_of(x)


def normalize_axes(axis: Any, ndim: int) -> tuple[int, ...]:
    """`axis` (None, an int or a tuple, possibly negative) as a sorted tuple of axes."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (int, np.integer)):
        return (int(axis) % ndim if ndim else 0,)
    axes = axis if isinstance(axis, tuple) else (axis,) if np.ndim(axis) == 0 else tuple(axis)
    return tuple(sorted(int(a) % ndim if ndim else 0 for a in axes))


def unbroadcast(g: Any, x: Any) -> Any:
    """Sum a cotangent `g` down to the shape of `x`, undoing NumPy broadcasting."""
    shape = shape_of(x)  # (a Python number: ())
    gshape = g.shape
    if gshape == shape:
        return g
    lead = len(gshape) - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and gshape[lead + i] != 1
    )
    return cnp.reshape(cnp.sum(g, axis=axes), shape)


def conj_if_complex(x: Any) -> Any:
    """The complex conjugate, recorded only where `x` is complex (a no-op on reals): the rules
    of functions whose derivative involves ``conj`` cost nothing extra on real values."""
    return cnp.conjugate(x) if is_complex(x) else x


def lift(t: Any, x: Any, ans: Any) -> Any:
    """Give a batched tangent of `x` the rank of `ans`, so it broadcasts against `ans`."""
    nb = batch_ndim(t, x)
    extra = ndim_of(ans) - ndim_of(x)
    if nb == 0 or extra <= 0:
        return t
    tshape = shape_of(t)
    return cnp.reshape(t, tshape[:nb] + (1,) * extra + tshape[nb:])


def fit(t: Any, ans: Any, nb: int) -> Any:
    """Broadcast a tangent to its full shape, batch axes + `ans.shape`."""
    full = shape_of(t)[:nb] + shape_of(ans)
    return t if shape_of(t) == full else cnp.broadcast_to(t, full)


_add_reduce: Any = np.add.reduce


def _finite(g: Any) -> bool:
    """Whether every entry of `g` is finite (or, rarely, whether its sum of squares is).

    BLAS's dot product is twice as fast as a sum; a NaN or an infinity makes it non-finite,
    and so does an overflow, which only sends `select` down its slower, exact path.
    """
    if getattr(g, "dtype", None) in BLAS_FLOATS:
        return bool(np.isfinite(np.vdot(g, g)))
    return bool(np.isfinite(_add_reduce(g, None)))


BLAS_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
"""The dtypes BLAS computes in (its products and dot products)."""


def select(g: Any, factor: Any, out: Any = None) -> Any:
    """``g * factor`` with an exact 0 wherever `factor` is 0: the gate of every kink.

    `factor` is a plain mask or weight array (a ReLU's ``x > 0``, ``sign(x)``, the 1/k of
    tied maxima). Where it is 0 the entry is *not selected*, so an infinite or NaN `g` there
    must not leak in as ``inf * 0 = NaN``: ``sqrt(maximum(x, 0))`` at ``x = -1`` has
    derivative 0, as in JAX and PyTorch. NumPy's ``where`` is up to ten times slower than a
    product on an unpredictable mask, and this is the backward pass of every ReLU, so a
    plain mask gates `g` bit by bit (`_gate_bits`), and other factors take the product,
    falling back to ``where`` only when `g` is not finite. A traced
    `g` (a higher derivative) always uses the differentiable ``where``; under `jit` alone,
    this whole function is one line of the program (its test runs on each call's values),
    which may write its result into a buffer the program keeps (`out`).
    """
    staged = next((a._trace for a in (g, factor) if isinstance(a, StagedTracer)), None)
    if isinstance(staged, StagingTrace) and all(
        not isinstance(a, Tracer) or (isinstance(a, StagedTracer) and a._trace is staged)
        for a in (g, factor)
    ):
        vals, refs = staged.refs("select", [g, factor])
        # (the line runs `select` itself, so that a body replayed on tracers, as the
        # control-flow primitives replay theirs, takes the traced path)
        return staged.record(select, "select", refs, {}, _select_plain(*vals), False)
    if isinstance(g, Tracer):
        chosen = factor if factor.dtype == bool else factor != 0
        return cnp.where(chosen, g if factor.dtype == bool else g * factor, 0.0)
    return _select_plain(g, factor, out)


def _select_plain(g: Any, factor: Any, out: Any = None) -> Any:
    gated = _gate_bits(g, factor, out)
    if gated is not None:  # a mask: the bits of `g` where it holds, of +0 elsewhere
        bits, shape = gated
        g = np.asarray(g)
        if out is None and not shape:  # (as a ufunc gives it: a NumPy scalar)
            return g.dtype.type(g if factor else 0)
        if out is None:
            out = np.empty(shape, g.dtype)
        # all ones where selected: -1 in the unsigned integers of g's width (the mask cast
        # first, which reads any nonzero byte as True, as NumPy does)
        gate = out.view(bits) if factor.shape == shape else np.empty(factor.shape, bits)
        if np.may_share_memory(gate, g):  # (a program may write over `g`, dying here)
            gate = np.empty(factor.shape, bits)
        np.copyto(gate, factor)
        np.negative(gate, out=gate)
        np.bitwise_and(g.view(bits), gate, out=out.view(bits))
        return out
    if not _finite(g):  # the rare case: no errstate on the common one, where it would slow
        with np.errstate(invalid="ignore"):  # every ufunc inside it
            chosen = np.where(factor != 0, g * factor, 0)
        if out is None:
            return chosen
        np.copyto(out, chosen)
        return out
    product = g * factor if out is None else np.multiply(g, factor, out=out)
    # -g * 0 is -0.0: adding 0.0 makes an unselected zero print as 0, as `where` gives
    if isinstance(product, np.ndarray):
        product += 0.0
        return product
    return product + 0.0


def _gate_bits(g: Any, factor: Any, out: Any) -> tuple[np.dtype[Any], tuple[int, ...]] | None:
    """The unsigned integer dtype of `g`'s width, and the result's shape, where `select` can
    gate `g` bit by bit: a real float array (or NumPy scalar) `g` and a boolean mask array,
    broadcasting to the shape of `g` or of the mask, and `out` (if any) of that shape and
    `g`'s dtype; else None.

    A mask's gate is exact whatever `g` holds (an infinity or NaN not selected is +0, not
    ``inf * 0``), in one pass with no test of `g` first, and bit for bit the same in any
    block of rows: a compiled program may run it block by block (`_exact_gate`).
    """
    if not (
        isinstance(g, np.ndarray | np.floating) and isinstance(factor, np.ndarray)
        and factor.dtype == bool
    ):  # fmt: skip
        return None
    shape = g.shape
    if factor.shape != shape:  # (a ReLU's: the same shape, the common case)
        try:
            shape = np.broadcast_shapes(g.shape, factor.shape)
        except ValueError:
            return None
        if shape not in (g.shape, factor.shape):
            return None
    bits = _UNSIGNED.get(g.dtype)
    if bits is None or (out is not None and (out.shape != shape or out.dtype != g.dtype)):
        return None
    return bits, shape


_UNSIGNED = {np.dtype(f"f{n}"): np.dtype(f"u{n}") for n in (2, 4, 8)}


select.fresh = True  # type: ignore[attr-defined]  # (a new array: no view of `g` kept)
select.takes_out = True  # type: ignore[attr-defined]
select.plain = _select_plain  # type: ignore[attr-defined]  # (what a program's replay calls)


def _exact_gate(g: Any, factor: Any) -> bool:
    """Whether a line ``select(g, factor)`` (of `Var`s or constants) is a mask's gate, which
    gives the same bits in any block of rows: a run by blocks may take it (`blocks`)."""
    return (
        getattr(factor, "dtype", None) == np.dtype(bool)
        and getattr(g, "dtype", None) in _UNSIGNED and np.shape(g) == np.shape(factor)
    )  # fmt: skip


select.exact = _exact_gate  # type: ignore[attr-defined]


def defelementwise(prim: Primitive, *rules: Rule | None) -> None:
    """Rules of an elementwise (broadcasting) function from one product per argument.

    ``rules[i](g, ans, *args)`` returns ``g * ∂f/∂args[i]``. An elementwise function has a
    diagonal Jacobian, so the same product serves reverse mode (then summed down to the
    argument's shape) and forward mode (the tangent first lifted to broadcast).
    """

    def reverse(rule: Rule, i: int) -> Rule:
        def vjp(g: Any, ans: Any, *args: Any, **params: Any) -> Any:
            c = rule(g, ans, *args, **params)
            same = c.shape == getattr(args[i], "shape", ())  # (a Python number: 0-d)
            return c if same else unbroadcast(c, args[i])

        return vjp

    defvjp(prim, *(None if r is None else reverse(r, i) for i, r in enumerate(rules)))

    def jvp(tangents: Sequence[Any], ans: Any, *args: Any, **params: Any) -> Any:
        out = None
        nb = 0
        for i, t in enumerate(tangents):
            if t is not None:
                rule = argument_rule(prim, rules, i, "forward")
                nb = batch_ndim(t, args[i])
                term = rule(lift(t, args[i], ans), ans, *args, **params)
                out = term if out is None else out + term
        return fit(out, ans, nb)

    defjvp_joint(prim, jvp)
    defbatch(prim, elementwise_batch(prim))


def deflinear(prim: Primitive, transpose: Rule, batched: Rule) -> None:
    """Rules of a function linear in its first argument (a reshape, a sum, an index...).

    ``transpose(g, ans, x, *rest)`` is the adjoint map (the VJP); ``batched(t, nb, ans, x,
    *rest)`` applies the function itself to a tangent with ``nb`` leading batch axes. Under
    `vmap` a batch is that tangent (with `x` a zero example): a map that reads `x`'s values
    (a mask, as ``nan_to_num``'s) needs a batching rule of its own.
    """
    defvjp(prim, transpose)

    def jvp(tangents: Sequence[Any], ans: Any, x: Any, *rest: Any, **params: Any) -> Any:
        t = tangents[0]
        if t is None:
            return None
        return batched(t, batch_ndim(t, x), ans, x, *rest, **params)

    defjvp_joint(prim, jvp)

    def batch(args: list[Any], dims: list[int | None], **params: Any) -> tuple[Any, int]:
        x, *rest = args
        if any(d is not None for d in dims[1:]):
            raise TypeError(
                f"chainrule.vmap: numpy.{prim.name} maps over its first argument only; the "
                "others (a shift, a shape, an axis) must be shared by every example: pass them "
                "with in_axes None, or compute them outside the mapped function (a shift per "
                "example is an index: `np.take(x, (np.arange(n) - k) % n)`)."
            )
        x = to_front(x, dims[0])
        example = np.broadcast_to(np.zeros((), dtype_of(x)), shape_of(x)[1:])
        ans = prim.impl(example, *map(primal, rest), **params)
        return batched(x, 1, ans, example, *rest, **params), 0

    defbatch(prim, batch)


def nondiff(
    fun: Callable[..., Any],
    batch: Rule | None = None,
    static: bool = False,
    value_shaped_fix: str | None = None,
) -> Callable[..., Any]:
    """A NumPy function whose result does not depend differentiably on its inputs.

    Tracers are lowered to their plain values, so comparisons, `sign`, `floor`, `argmax` and
    friends return ordinary arrays (zero derivative). Under `vmap` the result still has a
    batch axis: `batch(fn, args, dims, **kwargs) -> (out, out_dim)` computes it from the
    arguments unwrapped from the highest batch trace, calling `fn` (this function again, for
    any lower batch trace); the default is the elementwise rule. Under `jit` it is a line of
    the program, run on each call's values; a `static` function (of dtypes alone, such as
    `result_type`) is not: its answer is fixed by what keys the program, so it stays a plain
    Python value that code may branch on. A function whose result's shape depends on the
    values (`nonzero`) is refused on a value traced by `vmap` or `jit`, with the fixed-size
    form `value_shaped_fix` to use instead.
    """
    rule = batch or _elementwise_nondiff

    @functools.wraps(fun)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if batching.active() and not static:
            args = tuple(map(_stacked, args))
            kwargs = {k: _stacked(v) for k, v in kwargs.items()}
            trace = batching.top_kept_trace([*args, *kwargs.values()])
            if trace is not None and BODIES:  # (values a body closes over: a line of it)
                trace = owning(trace)
            if trace is not None and value_shaped_fix is not None:
                kept = next(primal(a) for a in args if isinstance(primal(a), Tracer))
                raise value_shaped(f"numpy.{fun.__name__}", kept, value_shaped_fix)
            if isinstance(trace, StagingTrace):  # under jit: a line of the program
                vals, refs = trace.refs(fun.__name__, [primal(a) for a in args])
                if any(isinstance(primal(v), Tracer) for v in kwargs.values()):
                    raise TypeError(
                        f"chainrule.jit: numpy.{fun.__name__} was given a traced keyword "
                        "argument, which the program would freeze; pass it by position."
                    )
                kw = {k: plain(v) for k, v in kwargs.items()}
                # (a body's line, replayed on another transform's values, must hand them
                # back to chainrule: a ufunc does; a Python function goes through this wrapper)
                body = trace not in TRACINGS and not isinstance(fun, np.ufunc)
                value = trace.attempt(functools.partial(fun, **kw), vals, refs)
                return trace.record(wrapper if body else fun, fun.__name__, refs, kw, value, False)
            if isinstance(trace, batching.BatchTrace):
                pairs = [batching.lower_to(a, trace) for a in args]
                kw = {k: batching.lower_to(v, trace) for k, v in kwargs.items()}
                if any(d is not None for _, d in kw.values()):
                    raise TypeError(
                        f"chainrule.vmap: numpy.{fun.__name__} was given a batched keyword "
                        "argument; pass it by position."
                    )
                vals = [v for v, _ in pairs]
                plain_kw = {k: v for k, (v, _) in kw.items()}
                out, d = rule(wrapper, vals, [d for _, d in pairs], **plain_kw)
                return trace.wrap(out, d)
        return fun(*map(_lower, args), **{k: _lower(v) for k, v in kwargs.items()})

    return wrapper


def check(test: Callable[..., None]) -> Callable[..., None]:
    """`test` as a check of the values of its arguments, which it reads to raise where they
    have no derivative (a singular matrix, repeated eigenvalues): never a wrong number.

    Traced arguments are read as their plain values, every example's under `vmap` (batch
    axes in front). Under `jit` the check is also a line of the program, kept although no
    result reads it, so that each call's values are checked, as eager code checks them.
    """

    @functools.wraps(test)
    def checked(*args: Any) -> None:
        values = [every_example(a) if isinstance(a, Tracer) else a for a in args]
        # (values a body closes over, or constants in it: checked where the body runs)
        trace = staged_trace(values) or (own_body() if BODIES else None)
        if not isinstance(trace, StagingTrace):
            test(*values)
            return
        vals, refs = trace.refs(test.__name__, values)
        # jit's own values, or a body's that surely run (a scan's first step): the error at
        # once, not on the first replay (other bodies' are examples, of a branch maybe not
        # taken, a loop maybe not entered)
        if trace in TRACINGS or getattr(trace, "examples_run", False):
            test(*vals)
        trace.record(checked, test.__name__, refs, {}, None, False)

    checked.effect = True  # type: ignore[attr-defined]
    checked.plain = test  # type: ignore[attr-defined]  # (what a program's replay calls)
    return checked


# Where a check of values recorded as a line (`check`) may refuse what eager code accepts:
# the program was traced once, with one call's values, for every call.
COMPILED = "in a compiled program (under jit, or in the body of a cond, scan or while_loop)"


def every_example(x: Any) -> Any:
    """The value of `x` under the transforms that differentiate it, with the batch axes of
    every running `vmap` moved to the front: a plain array, or staged under `jit`."""
    x = primal(x)
    if not isinstance(x, batching.BatchTracer):
        return x
    inner = every_example(x.value)
    return cnp.moveaxis(inner, ndim_of(inner) - ndim_of(x.value) + x.bdim, 0)


def fixed_values(x: Any) -> np.ndarray | None:
    """The values of `x` where every use of the result sees these values: plain, or every
    example's under `vmap` (a batch takes one path); None under `jit`, where each call
    brings its own: a rule then takes the path that serves all values, never a shortcut
    chosen on the tracing call's."""
    v = every_example(x)
    return None if isinstance(v, Tracer) else np.asarray(v)


def value_shaped(what: str, x: Tracer, fix: str) -> TypeError:
    """The refusal of `what`, whose result has a shape that depends on the values of `x`
    (traced by `vmap` or `jit`, whatever derivatives are taken above them)."""
    if isinstance(x, StagedTracer):
        return TypeError(
            f"chainrule.jit: {what} has a result whose shape depends on the values, and a "
            "compiled program's shapes are fixed when it is traced. Use a fixed-size form: "
            f"{fix}; or compute it outside the jitted function."
        )
    return TypeError(
        f"chainrule.vmap: {what} has a result whose shape depends on each example's values, "
        f"so the examples cannot be stacked. Use a fixed-size form: {fix}."
    )


def _elementwise_nondiff(fn: Callable[..., Any], args: list[Any], dims: list[int | None],
                         **kwargs: Any) -> tuple[Any, int | None]:  # fmt: skip
    args, d = aligned(args, dims)
    return fn(*args, **kwargs), d


def _stacked(x: Any) -> Any:
    """A list or tuple that holds batched (or staged) values, as one array (lowered
    as it is, NumPy would stack the whole batches of its entries into one array)."""
    if type(x) in (list, tuple) and batching.top_kept_trace(tree.leaves(x)) is not None:
        return cnp.asarray(x)
    return x


def _lower(x: Any) -> Any:
    if isinstance(x, (list, tuple)):
        return type(x)(map(_lower, x)) if type(x) in (list, tuple) else x
    return plain(x)


# ---------------------------------------------------------------------------- batching


def to_front(x: Any, d: int | None) -> Any:
    """`x` with its batch axis `d` moved to the front (unchanged if `d` is 0 or None)."""
    return x if not d else cnp.moveaxis(x, d, 0)


def batch_size(args: Sequence[Any], dims: Sequence[int | None]) -> int:
    """The number of examples, read from the first batched argument."""
    return next(shape_of(a)[d] for a, d in zip(args, dims, strict=True) if d is not None)


def at_front(x: Any, d: int | None, size: int) -> Any:
    """`x` with a batch axis at the front: moved there, or (for a value shared by every
    example) broadcast along a new one, for rules that need every argument batched."""
    if d is None:
        return cnp.broadcast_to(x, (size, *shape_of(x)))
    return to_front(x, d)


def aligned(
    args: Sequence[Any], dims: Sequence[int | None], front: bool = False
) -> tuple[list[Any], int]:
    """Arguments of a broadcasting function, their batch axes lined up: (args, out_dim).

    NumPy broadcasts from the last axis, so a batched argument goes to the front and takes
    the rank of the widest example (``(B, 3)`` beside examples of shape ``(2, 3)`` becomes
    ``(B, 1, 3)``); shared arguments are left alone. When every batched argument already
    has the full rank and the same batch axis, and no shared one reaches that axis, nothing
    moves. With `front`, the batch axis always ends first (for functions that broadcast
    leading axes over trailing core axes, as matmul and the `linalg` functions do).
    """
    ranks = [ndim_of(a) - (d is not None) for a, d in zip(args, dims, strict=True)]
    rank = max(ranks)
    batched = [d for d in dims if d is not None]
    first = batched[0]
    if (
        (not front or first == 0)
        and all(d == first for d in batched)
        and all(
            r == rank if d is not None else r <= rank - first
            for r, d in zip(ranks, dims, strict=True)
        )
    ):
        return list(args), first
    out = []
    for a, d, r in zip(args, dims, ranks, strict=True):
        if d is not None:
            a = to_front(a, d)
            if r < rank:
                s = shape_of(a)
                a = cnp.reshape(a, (s[0],) + (1,) * (rank - r) + s[1:])
        out.append(a)
    return out, 0


def elementwise_batch(fn: Callable[..., Any], front: bool = False) -> Rule:
    """The batching rule of a broadcasting function: align the batch axes, call it once.

    With `front`, that of a function of trailing core axes that broadcasts the leading ones
    (``cross``, ``linalg.inv``, ``linalg.solve`` of stacks): the batch becomes one more of
    them. Its results (one or several) have the batch first.
    """

    def batch(args: list[Any], dims: list[int | None], **params: Any) -> tuple[Any, Any]:
        args, d = aligned(args, dims, front)
        out = fn(*args, **params)
        return out, (d,) * len(out) if isinstance(out, tuple) else d

    return batch
