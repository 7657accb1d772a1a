"""Differentiable ODE solutions: ``odeint`` and ``solve_ivp`` with SciPy's signatures.

The forward pass *is* SciPy's solver, called with your tolerances, so the values are
``scipy.integrate``'s own. The solution is differentiable in the initial state, the times
and the extra arguments ``args`` (any pytree of arrays):

- reverse mode by the adjoint method (Chen et al., 2018, "Neural Ordinary Differential
  Equations"): from the last time back to the first, the augmented system
  y' = f, a' = -aᵀ ∂f/∂y, a_θ' = -aᵀ ∂f/∂θ is integrated by the same solver, with the
  vector-Jacobian products of ``func`` taken by `chainrule.vjp`; at each output time the
  cotangent of that output is added to a. The cotangent of an output time t_i is
  g_i · f(y_i, t_i), that of the initial time -a(t_0) · f(y_0, t_0);
- forward mode by the forward sensitivity equations s' = ∂f/∂y s + ∂f/∂θ θ̇,
  s(t_0) = ẏ_0 - f(y_0, t_0) ṫ_0, solved together with y (``chainrule.jvp`` of ``func``).

Both are again solves of this differentiable kind, so higher orders (``hessian``,
``grad`` of ``grad``) follow by the same rules. Derivatives are accurate to the solver's
tolerance, not to machine precision: tighten ``rtol``/``atol`` for tight derivatives. The
adjoint re-solves the trajectory backwards from each stored output, which is ill-conditioned
for strongly dissipative (stiff) systems: ask for more output times or use forward mode.

As SciPy's, the values are float64 whatever the input dtype (a gradient keeps its input's
dtype). Complex states (which ``solve_ivp`` integrates) raise under a transform: the rules
are checked on real values only; differentiate the real and imaginary parts as two states. The right-hand side must receive what is differentiated through ``args`` (a closure
over a traced value is refused with an error saying so), and a solver failure raises
RuntimeError rather than return an inaccurate solution.

>>> import numpy
>>> import chainrule as cr
>>> import chainrule.numpy as np
>>> from chainrule.scipy.integrate import odeint
>>> decay = lambda y, t, k: -k * y  # y(t) = y0 exp(-k t)
>>> t = numpy.array([0.0, 1.0, 2.0])
>>> ys = odeint(decay, numpy.array([1.0]), t, args=(0.5,), rtol=1e-10, atol=1e-12)
>>> print(ys.shape, round(float(ys[-1, 0]), 8), round(float(numpy.exp(-1.0)), 8))
(3, 1) 0.36787944 0.36787944
>>> final = lambda k: odeint(decay, numpy.array([1.0]), t, (k,), rtol=1e-10, atol=1e-12)[-1, 0]
>>> print(round(float(cr.grad(final)(0.5)), 7), round(float(-2 * numpy.exp(-1.0)), 7))
-0.7357589 -0.7357589
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import scipy.integrate as si

import chainrule as cr
import chainrule.numpy as cnp
from chainrule import tree
from chainrule.core.batching import defbatch
from chainrule.core.primitive import defjvp_joint, primitive
from chainrule.core.trace import Tracer
from chainrule.numpy.rules.common import at_front, batch_size, shape_of, to_front

__all__ = ["OdeResult", "odeint", "solve_ivp"]

Rhs = Callable[..., Any]  # (y, t, *leaves) -> dy/dt, 1-D


class _InputError(ValueError):
    """SciPy's solver refused its input (unsorted times, ...); the message names the function."""


@dataclasses.dataclass(frozen=True)
class _Solver:
    """One of SciPy's solvers with its options: ``solver(rhs, y0, t, leaves)`` gives y at t.

    The result has one row per time, the first being y0 at t[0]. ``solve_ivp`` integrates
    up to ``t_end`` (its ``t_span[1]``) when given, else up to t[-1].
    """

    name: str
    options: tuple[tuple[str, Any], ...]

    def __call__(self, rhs: Rhs, y0: Any, t: Any, leaves: Sequence[Any], t_end: Any = None) -> Any:
        t = np.asarray(t, np.float64)
        if np.all(t == t[0]) and (t_end is None or t_end == t[0]):
            # Nothing to integrate (a repeated output time, in the adjoint's segments):
            # SciPy refuses, the solution is y0.
            return np.tile(np.asarray(y0, np.float64), (len(t), 1))
        try:
            return self._run(_plain(rhs, self.name), y0, t, leaves, t_end)
        except ValueError as e:  # SciPy refused its input: say whose, keep SciPy's words
            if type(e) is not ValueError:
                raise
            raise _InputError(f"{self.name}: {e}") from None

    def _run(self, rhs: Rhs, y0: Any, t: Any, leaves: Sequence[Any], t_end: Any) -> Any:
        options = dict(self.options)
        if self.name == "odeint":
            with warnings.catch_warnings():  # a failure raises below, with SciPy's message
                warnings.simplefilter("ignore", si.ODEintWarning)
                ys, info = si.odeint(rhs, y0, t, args=tuple(leaves), full_output=True, **options)
            if info["message"] != "Integration successful.":
                raise RuntimeError(f"odeint: the solver failed ({info['message']}).")
            return ys
        end = t[-1] if t_end is None else t_end
        sol = si.solve_ivp(
            lambda s, y: rhs(y, s, *leaves), (t[0], end), y0, t_eval=t[1:], **options
        )
        if not sol.success:
            raise RuntimeError(f"solve_ivp: the solver failed ({sol.message}).")
        return np.concatenate([np.asarray(y0, np.float64)[None], sol.y.T])


def _plain(rhs: Rhs, name: str) -> Rhs:
    """rhs for SciPy, with a clear error where it returns a traced value from plain inputs."""

    def f(*args: Any) -> Any:
        out = rhs(*args)
        if isinstance(out, Tracer):
            raise TypeError(
                f"{name}: the right-hand side uses a traced value it does not receive as an "
                "argument (a closure over the variable being differentiated). Pass that value "
                "through `args=` instead."
            )
        return out

    return f


def _solve_impl(y0: Any, t: Any, *leaves: Any, rhs: Rhs, solver: _Solver, t_end: Any) -> Any:
    return solver(rhs, y0, t, leaves, t_end)


def _end(t1: Any) -> Any:
    """`t_span`'s end, which only bounds the solve (the solver steps up to it): None, ending
    at the last output time, where it is traced other than for its derivative (each
    example's under `vmap`, each call's under `jit`: it is a parameter of the solve)."""
    end = cr.stop_gradient(t1)
    return None if isinstance(end, Tracer) else end


def _is_float(x: Any) -> bool:
    return isinstance(x, Tracer) or np.asarray(x).dtype.kind == "f"


def _along(rhs: Rhs, t: Any, leaves: Sequence[Any], moving: Sequence[int]) -> Rhs:
    """rhs as a function of (y, *leaves[moving]), the other leaves and the time fixed."""

    def f(y: Any, *moved: Any) -> Any:
        full = list(leaves)
        for j, v in zip(moving, moved, strict=True):
            full[j] = v
        return rhs(y, t, *full)

    return f


def _adjoint_rhs(rhs: Rhs, n: int, moving: tuple[int, ...]) -> Rhs:
    """The augmented system [y, a, a_θ]' = [f, -aᵀ ∂f/∂y, -aᵀ ∂f/∂θ] of the adjoint method."""

    def aug(state: Any, s: Any, *leaves: Any) -> Any:
        y, a = state[:n], state[n : 2 * n]
        dy, pull = cr.vjp(_along(rhs, s, leaves, moving), y, *(leaves[j] for j in moving))
        cts = pull(a)
        return cnp.concatenate([dy, *(-cnp.ravel(c) for c in cts)])

    return aug


def _sensitivity_rhs(rhs: Rhs, n: int, k: int, moving: tuple[int, ...]) -> Rhs:
    """[y, s_1..s_k]' = [f, ∂f/∂y s_j + ∂f/∂θ θ̇_j]: the forward sensitivities of k tangents.

    Called as ``aug(state, t, *leaves, *leaf_tangents)``, each tangent with k rows.
    """

    def aug(state: Any, s: Any, *rest: Any) -> Any:
        leaves, dleaves = rest[: len(rest) - len(moving)], rest[len(rest) - len(moving) :]
        y, sens = state[:n], cnp.reshape(state[n:], (k, n))
        f = _along(rhs, s, leaves, moving)
        dy = rhs(y, s, *leaves)
        cols = [
            cr.jvp(f, (y, *(leaves[j] for j in moving)), (sens[i], *(d[i] for d in dleaves)))[1]
            for i in range(k)
        ]
        return cnp.concatenate([dy, cnp.ravel(cnp.stack(cols))])

    return aug


def _rates(rhs: Rhs, ys: Any, t: Any, leaves: Sequence[Any]) -> Any:
    """f(y_i, t_i) for every output row, shape (len(t), n)."""
    return cnp.stack([rhs(ys[i], t[i], *leaves) for i in range(cnp.shape(t)[0])])


def _vjp(
    g: Any, ans: Any, y0: Any, t: Any, *leaves: Any, rhs: Rhs, solver: _Solver, t_end: Any
) -> Any:
    m, n = cnp.shape(ans)
    moving = tuple(j for j, leaf in enumerate(leaves) if _is_float(leaf))
    aug = _adjoint_rhs(rhs, n, moving)
    shapes = [cnp.shape(leaves[j]) for j in moving]
    a = g[m - 1]
    a_theta = cnp.zeros(sum(int(np.prod(s)) for s in shapes))
    rates = _rates(rhs, ans, t, leaves)
    for i in range(m - 1, 0, -1):
        state = cnp.concatenate([ans[i], a, a_theta])
        times = cnp.stack([t[i], t[i - 1]])
        last = _solve(state, times, *leaves, rhs=aug, solver=solver, t_end=None)[-1]
        a, a_theta = last[n : 2 * n] + g[i - 1], last[2 * n :]
    ct_t = cnp.sum(g * rates, axis=1)
    ct_t0 = -cnp.sum((a - g[0]) * rates[0])
    ct_t = cnp.concatenate([cnp.reshape(ct_t0, (1,)), ct_t[1:]])
    cts: list[Any] = [a, ct_t] + [None] * len(leaves)
    offset = 0
    for j, shape in zip(moving, shapes, strict=True):
        size = int(np.prod(shape))
        cts[2 + j] = cnp.reshape(a_theta[offset : offset + size], shape)
        offset += size
    return cts


def _jvp(
    tangents: list[Any],
    ans: Any,
    y0: Any,
    t: Any,
    *leaves: Any,
    rhs: Rhs,
    solver: _Solver,
    t_end: Any,
) -> Any:
    m, n = cnp.shape(ans)
    t_y0, t_t, *t_leaves = tangents
    batch = next(
        cnp.shape(d)[: cnp.ndim(d) - cnp.ndim(x)]
        for d, x in zip(tangents, (y0, t, *leaves), strict=True)
        if d is not None
    )
    k = int(np.prod(batch))
    rates = _rates(rhs, ans, t, leaves)
    s0 = cnp.zeros((k, n))
    if t_y0 is not None:
        s0 = s0 + cnp.reshape(t_y0, (k, n))
    if t_t is not None:
        dt = cnp.reshape(t_t, (k, m))
        s0 = s0 - dt[:, :1] * rates[0]
    moving = tuple(j for j, d in enumerate(t_leaves) if d is not None)
    dleaves = [cnp.reshape(t_leaves[j], (k, *cnp.shape(leaves[j]))) for j in moving]
    aug = _sensitivity_rhs(rhs, n, k, moving)
    state = cnp.concatenate([y0, cnp.ravel(s0)])
    out = _solve(state, t, *leaves, *dleaves, rhs=aug, solver=solver, t_end=t_end)
    sens = cnp.transpose(cnp.reshape(out[:, n:], (m, k, n)), (1, 0, 2))
    if t_t is not None:
        sens = sens + dt[:, :, None] * rates
    return cnp.reshape(sens, (*batch, m, n))


# The primitive (y0, t, *leaves) -> y at t, shape (len(t), len(y0)), row 0 being y0.
_solve = primitive(_solve_impl, "ode solution", real_only=True)  # complex states: not yet
_solve.vjp_all = _vjp  # one adjoint solve gives every cotangent at once
defjvp_joint(_solve, _jvp)


# ------------------------------------------------------------------ batching (vmap)

_DEFAULT_TOLERANCES = {"odeint": (1.49012e-8, 1.49012e-8), "solve_ivp": (1e-3, 1e-6)}
_STEP_OPTIONS = ("h0", "hmax", "hmin", "first_step", "max_step", "min_step")  # in time units


def _stacked_solver(solver: _Solver, size: int) -> _Solver:
    """`solver` for `size` systems stacked into one, each example's error test kept.

    The solvers accept a step when a norm of the scaled local error is below 1; for the
    stacked state an RMS norm averages the examples, so one of them could miss its own
    tolerance by up to ``sqrt(size)``. Dividing rtol and atol by ``sqrt(size)`` makes the
    sum of the examples' squared norms at most 1: every example's own test holds (and
    more than holds under a max norm). Per-component tolerances are repeated per example.
    """
    options = dict(solver.options)
    scale = math.sqrt(size)
    for key, default in zip(("rtol", "atol"), _DEFAULT_TOLERANCES[solver.name], strict=True):
        value = np.asarray(default if options.get(key) is None else options[key], np.float64)
        value = value / scale
        options[key] = tuple(np.tile(value, size).tolist()) if value.ndim else float(value)
    return _Solver(solver.name, tuple(options.items()))


def _stacked_rhs(rhs: Rhs, size: int, n: int, in_axes: tuple[Any, ...]) -> Rhs:
    """The right-hand side of `size` systems stacked in one state of ``size * n``: `rhs`
    mapped over the examples (the extra arguments per example or shared, as `in_axes`)."""
    per_example = cr.vmap(rhs, in_axes=in_axes)

    def stacked(y: Any, s: Any, *leaves: Any) -> Any:
        return cnp.ravel(per_example(cnp.reshape(y, (size, n)), s, *leaves))

    return stacked


def _on_own_clock(rhs: Rhs) -> Rhs:
    """`rhs` of one segment ``[start, start + length]`` of an example's times, on a clock
    ``τ`` from 0 to 1: ``dy/dτ = length f(y, start + τ length)``."""

    def f(y: Any, tau: Any, start: Any, length: Any, *leaves: Any) -> Any:
        return length * rhs(y, start + tau * length, *leaves)

    return f


def _solve_batch(
    args: list[Any], dims: list[Any], *, rhs: Rhs, solver: _Solver, t_end: Any
) -> tuple[Any, int]:
    """`vmap` of the solution: the examples' states stacked into one system, solved once by
    SciPy (see `_stacked_solver` for the tolerances). Output times shared by the examples
    are the solver's; each example's own times are segments between consecutive outputs,
    solved together on a common clock from 0 to 1 (one solve per segment)."""
    y0, t, *leaves = args
    dy0, dt, *dleaves = dims
    size = batch_size(args, dims)
    y0 = at_front(y0, dy0, size)
    n = shape_of(y0)[-1]
    leaves = [to_front(x, d) for x, d in zip(leaves, dleaves, strict=True)]
    axes = tuple(None if d is None else 0 for d in dleaves)
    stacked = _stacked_solver(solver, size)
    if dt is None:
        system = _stacked_rhs(rhs, size, n, (0, None, *axes))
        out = _solve(cnp.ravel(y0), t, *leaves, rhs=system, solver=stacked, t_end=t_end)
        return cnp.reshape(out, (shape_of(t)[0], size, n)), 1
    options = dict(solver.options)
    given = [k for k in _STEP_OPTIONS if options.get(k)]
    if given:
        raise TypeError(
            f"chainrule.vmap of {solver.name}: the output times differ between examples, so "
            f"the step-size options {given} (in units of time) cannot hold for every example "
            "at once. Leave them at their defaults, or map over the other arguments only "
            "(in_axes None for the times)."
        )
    t = to_front(t, dt)
    system = _stacked_rhs(_on_own_clock(rhs), size, n, (0, None, 0, 0, *axes))
    clock = np.array([0.0, 1.0])
    rows = [y0]
    for i in range(shape_of(t)[1] - 1):
        start, length = t[:, i], t[:, i + 1] - t[:, i]
        out = _solve(
            cnp.ravel(rows[-1]),
            clock,
            start,
            length,
            *leaves,
            rhs=system,
            solver=stacked,
            t_end=None,
        )
        rows.append(cnp.reshape(out[-1], (size, n)))
    return cnp.stack(rows, axis=1), 0


defbatch(_solve, _solve_batch)


# ------------------------------------------------------------------ public functions


def _traced(*values: Any) -> bool:
    return any(isinstance(leaf, Tracer) for leaf in tree.leaves(values))


def _vector(x: Any) -> Any:
    """A 1-D array from an array, a scalar, or a list of (traced) numbers."""
    if isinstance(x, (list, tuple)):
        x = cnp.stack([cnp.reshape(v, ()) for v in x]) if x else np.zeros(0)
    return cnp.ravel(x)


def _rhs(func: Callable[..., Any], treedef: Any, tfirst: bool) -> Rhs:
    """The user's function as (y, t, *leaves) -> 1-D dy/dt."""

    def rhs(y: Any, t: Any, *leaves: Any) -> Any:
        args = tree.unflatten(treedef, list(leaves))
        return _vector(func(t, y, *args) if tfirst else func(y, t, *args))

    return rhs


def _flat_args(args: Any, lists: bool) -> tuple[list[Any], Any]:
    """The leaves of `args`, unpacked as SciPy does: a tuple, and for solve_ivp a list too."""
    if args is None:
        args = ()
    unpack = isinstance(args, tuple) or (lists and isinstance(args, list))
    return tree.flatten(tuple(args) if unpack else (args,))


def odeint(
    func: Callable[..., Any],
    y0: Any,
    t: Any,
    args: Any = (),
    *,
    rtol: float | None = None,
    atol: float | None = None,
    h0: float = 0.0,
    hmax: float = 0.0,
    hmin: float = 0.0,
    mxstep: int = 0,
    tfirst: bool = False,
) -> Any:
    """``scipy.integrate.odeint``: y at each time of `t`, shape ``(len(t), len(y0))``.

    ``func(y, t, *args)`` (``func(t, y, *args)`` with ``tfirst=True``) returns dy/dt; y0
    is the state at ``t[0]``. The solver is SciPy's LSODA with these options; a solver
    failure raises RuntimeError (SciPy only warns). Differentiable, forward and reverse, to
    any order, in `y0`, `t` and `args` (see the module docstring); SciPy's remaining
    options (``Dfun``, ``full_output``, ...) are not offered.

    >>> import numpy
    >>> import chainrule as cr
    >>> oscillator = lambda y, t, w: np.stack([y[1], -(w**2) * y[0]])
    >>> t = numpy.linspace(0.0, 1.0, 3)
    >>> final_x = lambda w: odeint(oscillator, numpy.array([1.0, 0.0]), t, (w,), rtol=1e-10,
    ...                            atol=1e-12)[-1, 0]  # cos(w t) at t = 1
    >>> print(round(float(cr.grad(final_x)(2.0)), 6), round(float(-numpy.sin(2.0)), 6))
    -0.909297 -0.909297
    """
    if not callable(func):
        raise TypeError(f"odeint: `func` must be callable, got {type(func).__name__}.")
    leaves, treedef = _flat_args(args, lists=False)
    options = (("rtol", rtol), ("atol", atol), ("h0", h0), ("hmax", hmax), ("hmin", hmin))
    solver = _Solver("odeint", (*options, ("mxstep", mxstep)))
    y0, t = _vector(y0), _vector(t)
    return _solve(y0, t, *leaves, rhs=_rhs(func, treedef, bool(tfirst)), solver=solver, t_end=None)


class OdeResult(dict[str, Any]):
    """What ``solve_ivp`` returns: a dict whose keys (t, y, status, ...) are also attributes."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


_METHODS = ("RK45", "RK23", "DOP853", "Radau", "BDF", "LSODA")
_SUCCESS = "The solver successfully reached the end of the integration interval."


def solve_ivp(
    fun: Callable[..., Any],
    t_span: Any,
    y0: Any,
    method: str = "RK45",
    t_eval: Any = None,
    dense_output: bool = False,
    events: Any = None,
    vectorized: bool = False,
    args: Any = None,
    **options: Any,
) -> Any:
    """``scipy.integrate.solve_ivp``: ``.t``, ``.y`` (shape ``(len(y0), len(t))``), ``.status``...

    ``fun(t, y, *args)`` returns dy/dt. On plain values this is SciPy's own call and result.
    Under a transform the solution is differentiable in `y0`, ``t_span[0]``, `t_eval` and
    `args` (``t_span[1]`` only bounds the solve: its derivative is 0); it needs `t_eval`
    (the solver's own step times are not differentiable functions of the inputs), no
    `events`, no dense output, and a string `method`; a solver failure raises RuntimeError.
    Pass ``rtol``/``atol`` as SciPy does; the derivatives are solves to the same tolerances.

    >>> import numpy
    >>> import chainrule as cr
    >>> grow = lambda t, y, r: r * y
    >>> t_eval = numpy.array([0.5, 1.0])
    >>> def final(r):
    ...     sol = solve_ivp(grow, (0.0, 1.0), numpy.array([2.0]), "DOP853", t_eval, args=(r,),
    ...                     rtol=1e-12, atol=1e-12)
    ...     return sol.y[0, -1]  # 2 exp(r)
    >>> print(round(float(cr.grad(final)(0.3)), 7), round(float(2 * numpy.exp(0.3)), 7))
    2.6997176 2.6997176
    """
    if not callable(fun):
        raise TypeError(f"solve_ivp: `fun` must be callable, got {type(fun).__name__}.")
    if not _traced(t_span, y0, t_eval, args):
        checked = _plain(fun, "solve_ivp")
        return si.solve_ivp(
            checked, t_span, y0, method, t_eval, dense_output, events, vectorized, args, **options
        )
    refusals = {
        "t_eval": (t_eval, t_eval is None),
        "events": (events, events is not None),
        "dense_output": (dense_output, bool(dense_output)),
        "vectorized": (vectorized, bool(vectorized)),
        "method": (method, not isinstance(method, str) or method not in _METHODS),
    }
    for name, (value, refused) in refusals.items():
        if refused:
            raise TypeError(
                "solve_ivp with traced inputs (differentiated, or under jit or vmap) needs "
                "t_eval given (the output times: the solver's own steps depend on the values), "
                "no events, dense_output=False, vectorized=False and method one of "
                f"{', '.join(_METHODS)}; the call has {name}={value!r}."
            )
    leaves, treedef = _flat_args(args, lists=True)
    span = _vector(t_span)
    if cnp.shape(span) != (2,):
        raise ValueError(f"solve_ivp: t_span must be (t0, t1), got shape {cnp.shape(span)}.")
    t = cnp.concatenate([span[:1], _vector(t_eval)])
    solver = _Solver("solve_ivp", (("method", method), *sorted(options.items())))
    ys = _solve(
        _vector(y0),
        t,
        *leaves,
        rhs=_rhs(fun, treedef, True),
        solver=solver,
        t_end=_end(span[1]),
    )
    return OdeResult(
        t=t[1:],
        y=cnp.transpose(ys[1:]),
        sol=None,
        t_events=None,
        y_events=None,
        status=0,
        message=_SUCCESS,
        success=True,
    )
