"""Primitives: a NumPy implementation plus its derivative rules.

A primitive is called like the NumPy function it wraps. With no traced argument it *is*
that function (one type check per argument, then the NumPy call), so derivative rules,
which are written with primitives, run at NumPy speed in a first-order backward pass and
are differentiated again, for free, when a higher-order transform traces them.

Rules, registered with `defvjp` and `defjvp`:

- reverse, one per differentiable argument: ``vjp_i(g, ans, *args, **params)`` returns the
  cotangent of argument ``i`` given the output cotangent ``g`` (same shape as ``ans``);
- forward, one joint rule: ``jvp(tangents, ans, *args, **params)`` returns the output
  tangent; ``tangents[i]`` is None for an argument that is not traced. A tangent may carry
  extra *leading* batch axes (``jacfwd`` pushes many tangents in one pass): its shape is
  ``batch + arg.shape`` and the result must be ``batch + ans.shape``.

Complex numbers follow JAX's convention: the forward rule is the (real-)linear map
``t -> df``, and the reverse rule its transpose under the pairing ``<a, b> = Re(sum(a * b))``
(no conjugation). For a holomorphic function both are multiplication by ``f'(z)``, exactly
the formulas of the real case, so most rules serve real and complex values unchanged. A
primitive whose derivative involves ``conj`` (``conj``, ``abs``, ``svd``...) says so with
``holomorphic=False``. Where a complex result comes from real arguments, their cotangents
are the real parts of what the rules give (`Primitive.onto_real`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from .trace import Tracer

VJPRule = Callable[..., Any]
JVPRule = Callable[..., Any]


# The bodies of control flow (`chainrule.control`) being traced, innermost last. Work that a
# body does on values it only closes over (traced outside it) is recorded in the body, not
# done where those values live: a branch of `cond` not taken must not run, nor be
# differentiated (JAX's closure conversion).
# (Every thread's, each traced by the thread named by its `thread`: see `own_body`.)
BODIES: list[Any] = []


def own_body() -> Any:
    """The innermost body this thread is tracing (None if none is)."""
    me = threading.get_ident()
    for body in reversed(BODIES):
        if body.thread == me:
            return body
    return None


def owning(trace: Any) -> Any:
    """The trace a call on values of `trace` belongs to: the body this thread is tracing
    where it is newer (the values are closed over: the body captures them), else `trace`."""
    if BODIES:
        body = own_body()
        if body is not None and body.level > trace.level:
            return body
    return trace


class Primitive:
    """A differentiable function: `impl` computes it on plain values, the rules differentiate it."""

    def __init__(
        self,
        impl: Callable[..., Any],
        name: str | None = None,
        *,
        multiple_results: bool = False,
        holomorphic: bool = True,
        real_only: bool = False,
    ) -> None:
        self.impl = impl
        self.name = name or getattr(impl, "__name__", repr(impl))
        self.multiple_results = multiple_results
        # False where the derivative of a complex argument involves its conjugate.
        self.holomorphic = holomorphic
        # True where the rules are right for real values only: a complex result then raises.
        self.real_only = real_only
        self._onto_real: dict[tuple[int, ...], Primitive] = {}
        self.vjps: tuple[VJPRule | None, ...] = ()
        self.jvp: JVPRule | None = None
        self.jvp_value = False  # (the forward rule computes the value too: `defjvp_joint`)
        # One reverse rule for all arguments at once, ``(g, ans, *args, **params) -> list``:
        # used by custom rules and checkpoints, whose backward pass is a single function.
        self.vjp_all: Callable[..., Sequence[Any]] | None = None
        # The batching rule of `vmap`, ``(args, dims, **params) -> (out, out_dim)`` (see
        # `core.batching`); None runs the primitive once per example, with a warning.
        self.batch: Callable[..., tuple[Any, Any]] | None = None
        # The residuals of the reverse rules (see `defsaves`); None keeps every value.
        self.saves: tuple[int | str, ...] | None = None
        self.__name__ = self.name
        self.__doc__ = getattr(impl, "__doc__", None)
        self.__wrapped__ = impl

    def __call__(self, *args: Any, **params: Any) -> Any:
        trace = None
        for a in args:
            if isinstance(a, Tracer) and (trace is None or a._trace.level > trace.level):
                trace = a._trace
        if trace is None:
            return self.impl(*args, **params)
        return (owning(trace) if BODIES else trace).process(self, args, params)

    def __repr__(self) -> str:
        return f"<chainrule primitive {self.name}>"

    def onto_real(self, real_args: tuple[int, ...]) -> Primitive:
        """This primitive for a call with a complex result: the cotangents its reverse rules
        give the real arguments `real_args` are projected onto the reals.

        A real ``x`` moved by a real ``t`` changes the result by ``a t`` (``a`` complex);
        the transpose of that map under ``Re(sum(g * a t))`` is ``Re(g a)``.
        """
        view = self._onto_real.get(real_args)
        if view is None:
            view = Primitive(self.impl, self.name, multiple_results=self.multiple_results,
                             holomorphic=self.holomorphic, real_only=self.real_only)  # fmt: skip
            view.jvp, view.jvp_value = self.jvp, self.jvp_value
            view.batch = self.batch
            view.saves = self.saves
            view.vjps = tuple(
                _real_part_of(rule) if rule is not None and i in real_args else rule
                for i, rule in enumerate(self.vjps)
            )
            if self.vjp_all is not None:
                view.vjp_all = _real_parts_of(self.vjp_all, real_args)
            self._onto_real[real_args] = view
        return view


def _real_part_of(rule: VJPRule) -> VJPRule:
    def real_rule(*args: Any, **params: Any) -> Any:
        c = rule(*args, **params)
        return None if c is None else real_part(c)

    return real_rule


def _real_parts_of(rule: Callable[..., Sequence[Any]], real_args: tuple[int, ...]) -> Any:
    def real_rule(*args: Any, **params: Any) -> list[Any]:
        cts = list(rule(*args, **params))
        for i in real_args:
            if cts[i] is not None:
                cts[i] = real_part(cts[i])
        return cts

    return real_rule


def real_part(x: Any) -> Any:
    """The differentiable real part, installed by `chainrule.numpy` (the core knows no
    NumPy function of its own)."""
    return _real_part[0](x)


_real_part: list[Callable[[Any], Any]] = []


def set_real_part(fn: Callable[[Any], Any]) -> None:
    _real_part[:] = [fn]


def primitive(
    impl: Callable[..., Any],
    name: str | None = None,
    *,
    multiple_results: bool = False,
    holomorphic: bool = True,
    real_only: bool = False,
) -> Primitive:
    return Primitive(
        impl, name, multiple_results=multiple_results, holomorphic=holomorphic, real_only=real_only
    )


def real_only_error(prim: Primitive) -> TypeError:
    return TypeError(
        f"chainrule: {prim.name} has derivative rules for real values only, and was given "
        "complex ones inside a transform. Differentiate it with real inputs (split a complex "
        "value into its real and imaginary parts), or call it outside the transform."
    )


def defvjp(prim: Primitive, *rules: VJPRule | None) -> None:
    """Reverse rules, one per positional argument; None where an argument is not differentiable."""
    prim.vjps = rules


def defsaves(prim: Primitive, *saves: int | str) -> None:
    """Declare what the reverse rules of `prim` read: argument positions and ``"ans"``.

    ``grad`` keeps only those on its tape and lets the other arrays go as soon as the call
    is recorded (``tanh``'s rule reads only ``ans``, ``add``'s nothing), so that the forward
    pass holds less memory. A value not declared is replaced by a stand-in that keeps its
    shape and dtype and raises if a rule reads its entries. Undeclared primitives keep all.

    >>> import numpy
    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cube = primitive(lambda x: x**3, "cube")
    >>> defvjp(cube, lambda g, ans, x: g * 3.0 * x * x)
    >>> defsaves(cube, 0)  # the rule reads x, not ans: grad's tape drops x**3
    >>> cr.grad(lambda x: np.sum(cube(x)))(numpy.array([1.0, 2.0]))
    array([ 3., 12.])
    """
    prim.saves = saves


def defjvp(prim: Primitive, *rules: JVPRule | None) -> None:
    """Forward rules, one per argument, each ``rule(t, ans, *args, **params)``; contributions add."""

    def jvp(tangents: list[Any], ans: Any, *args: Any, **params: Any) -> Any:
        out = None
        for i, t in enumerate(tangents):
            if t is not None:
                term = argument_rule(prim, rules, i, "forward")(t, ans, *args, **params)
                out = term if out is None else out + term
        return out

    prim.jvp = jvp


def defjvp_joint(prim: Primitive, rule: JVPRule, *, with_value: bool = False) -> None:
    """A forward rule that sees all tangents at once (None for untraced arguments).

    `with_value`: the rule computes the primitive's value too, and forward mode does not
    compute it first: called with ``ans=None``, it returns ``(ans, tangent)``. Control
    flow's rules run the loop once on (value, tangent) pairs, rather than once for the
    value and again for the pairs.
    """
    prim.jvp = rule
    prim.jvp_value = with_value


def argument_rule(prim: Primitive, rules: tuple[Any, ...], i: int, mode: str) -> Any:
    rule = rules[i] if i < len(rules) else None
    if rule is None:
        raise argument_error(prim, i, mode)
    return rule


def argument_error(prim: Primitive, i: int, mode: str) -> TypeError:
    return TypeError(
        f"chainrule: {prim.name} is not differentiable with respect to its argument "
        f"{i} ({mode} mode). Pass that argument as a constant, or wrap it in "
        "`chainrule.stop_gradient`."
    )


def missing_rule(prim: Primitive, mode: str) -> TypeError:
    return TypeError(
        f"chainrule: {prim.name} has no {mode}-mode derivative rule yet. "
        f"Use the other mode, or define the derivative yourself with "
        f"`chainrule.custom_{'jvp' if mode == 'forward' else 'vjp'}`."
    )
