"""Optimizers with PyTorch's update formulas, as pure functions of (grads, state, params).

An optimizer holds hyper-parameters only; ``opt.init(params)`` makes its state. Two calls
then take a step, both changing none of their arguments:

- ``opt.step(grads, state, params)`` returns ``(new_params, new_state)``, as one
  ``torch.optim`` step; ``inplace=True`` instead writes into the arrays of ``params`` and
  ``state``, as torch.optim does;
- ``opt.update(grads, state, params)`` returns ``(updates, new_state)`` as optax's
  ``GradientTransformation.update``: `updates` are the changes to *add* to the parameters,
  with `apply_updates` (optax's too). ``params + updates`` is ``step``'s new parameters
  to the last bit (see `Optimizer.update` for `AdamW`'s decay).

``params`` and ``grads`` are any pytree of float arrays (an ``nn.Module``, a dict...), with
the same structure.

The state is a NamedTuple of NumPy arrays, so its leaves save with
``numpy.savez`` and load back into the structure of ``opt.init(params)``. Its first field
``step`` is a 0-d int64 array counting the updates done; each further field is one of
torch's per-parameter buffers (``exp_avg``, ``momentum_buffer``...) as a tuple holding an
array per parameter leaf, in ``cr.tree.flatten(params)`` order, of the leaf's shape and
dtype; a buffer the options do not use (momentum 0, ``amsgrad=False``...) is ``()``.

>>> import io
>>> import numpy as np
>>> import chainrule as cr
>>> from chainrule import optim
>>> opt = optim.Adam(lr=0.1)
>>> params = {"w": np.array([1.0, -2.0]), "b": np.array(0.5)}
>>> state = opt.init(params)
>>> params, state = opt.step({"w": np.array([0.5, -1.0]), "b": np.array(2.0)}, state, params)
>>> params["w"], int(state.step)
(array([ 0.9, -1.9]), 1)
>>> file = io.BytesIO()
>>> np.savez(file, *cr.tree.leaves(state))
>>> _ = file.seek(0)
>>> with np.load(file, allow_pickle=False) as saved:
...     arrays = [saved[f"arr_{i}"] for i in range(len(saved.files))]
>>> restored = cr.tree.unflatten(cr.tree.structure(opt.init(params)), arrays)
>>> int(restored.step), restored.exp_avg[0]
(1, array(0.2))

``lr`` is a number or a schedule, any callable ``step -> lr`` (see `schedules`), evaluated
at the number of updates done before this one. Hyper-parameters are checked as torch
checks them. Every option after ``lr`` is keyword-only.

Inside `jit` an update's formulas are lines of the compiled program, the operations of an
eager update on the same values (the same bits), written into the program's buffers; its
scalars (the learning rate, Adam's bias corrections) are one line that computes them from
each call's own step count, never the traced call's, as an eager update does: a schedule is
called on a number. Under a `vmap` or `grad` inside the `jit` (an ensemble of models, say),
the scalars are traced formula by formula too. Where some of the update's arrays are not
arguments of the jitted function (a state closed over), the whole update is one line that
runs the eager update on each call.

Speed: one flatten of params and grads per step, a handful of whole-array NumPy
operations per leaf, each writing with ``out=`` into the destination arrays (fresh ones, or
the inputs themselves in place) or into one or two scratch arrays per leaf, and constants as
0-d arrays of the leaf's dtype, so float32 stays float32. Each leaf's formulas compute the
change to the parameter once; ``step`` adds it to the parameter, ``update`` returns it. A
leaf larger than 256 kB (`core.blocks.BLOCK_BYTES`) is updated by blocks of rows, all its
operations on one block while it is in cache (the same bits).
"""

from __future__ import annotations

import contextvars
import dataclasses
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Generic, NamedTuple, TypeVar, cast

import numpy as np

from chainrule import tree
from chainrule._validate import count, flag, number
from chainrule.core.blocks import row_blocks
from chainrule.core.staging import StagedTracer, StagingTrace
from chainrule.core.trace import Tracer

__all__ = [
    "SGD",
    "Adagrad",
    "AdagradState",
    "Adam",
    "AdamState",
    "AdamW",
    "LearningRate",
    "Optimizer",
    "RMSprop",
    "RMSpropState",
    "SGDState",
    "apply_updates",
]

LearningRate = float | Callable[[int], float]
"""A learning rate: a number, or a schedule ``step -> lr`` with `step` counting from 0."""

Buffers = Sequence[Any]  # one array per buffer of a leaf, None where the options use none
_S = TypeVar("_S", bound=tuple)

# What `Optimizer._run` returns: new parameters (pure or in place), or optax's updates.
_NEW_PARAMS, _INPLACE, _UPDATES = range(3)


class SGDState(NamedTuple):
    """State of `SGD`: the update count and, with momentum, torch's ``momentum_buffer``."""

    step: np.ndarray
    momentum_buffer: tuple[np.ndarray, ...]


class RMSpropState(NamedTuple):
    """State of `RMSprop`; ``grad_avg`` is used when centered, ``momentum_buffer`` with momentum."""

    step: np.ndarray
    square_avg: tuple[np.ndarray, ...]
    grad_avg: tuple[np.ndarray, ...]
    momentum_buffer: tuple[np.ndarray, ...]


class AdagradState(NamedTuple):
    """State of `Adagrad`: the update count and the sums of squared gradients."""

    step: np.ndarray
    sum: tuple[np.ndarray, ...]


class AdamState(NamedTuple):
    """State of `Adam` and `AdamW`; ``max_exp_avg_sq`` is used with ``amsgrad=True``."""

    step: np.ndarray
    exp_avg: tuple[np.ndarray, ...]
    exp_avg_sq: tuple[np.ndarray, ...]
    max_exp_avg_sq: tuple[np.ndarray, ...]


class Optimizer(Generic[_S]):
    """Base of the optimizers: pytree plumbing, checks, maximize and weight decay.

    A subclass is a frozen dataclass of hyper-parameters that says which state buffers
    its options use (`_uses`) and updates one leaf (`_leaf`): its buffers, written into
    destination arrays (fresh ones, or the inputs themselves for an in-place step), and
    the change to add to the parameter.

    >>> from chainrule import optim
    >>> isinstance(optim.Adam(), optim.Optimizer)
    True
    """

    lr: LearningRate
    weight_decay: float
    maximize: bool
    _state: ClassVar[type[Any]]
    _decoupled: ClassVar[bool] = False  # weight decay applied to the parameter, not the gradient

    def init(self, params: Any) -> _S:
        """A fresh state for `params` (step 0, buffers of zeros).

        >>> import numpy as np
        >>> from chainrule import optim
        >>> optim.SGD(lr=0.1, momentum=0.9).init([np.zeros(2, dtype=np.float32)])
        SGDState(step=array(0), momentum_buffer=(array([0., 0.], dtype=float32),))
        """
        leaves = [_param(i, x) for i, x in enumerate(tree.leaves(params))]
        names = self._state._fields[1:]
        buffers = [
            tuple(self._start(name, p) for p in leaves) if used else ()
            for name, used in zip(names, self._uses(), strict=True)
        ]
        return cast(_S, self._state(np.array(0, dtype=np.int64), *buffers))

    def step(self, grads: Any, state: _S, params: Any, *, inplace: bool = False) -> tuple[Any, _S]:
        """One step, as ``torch.optim``'s: ``(new_params, new_state)`` from the gradients.

        With ``inplace=True`` the new values are written into the arrays of `params` and
        `state` themselves (the step count too), as torch.optim does, and
        ``(params, new_state)`` comes back holding those same arrays: this saves allocating
        new ones every step, and needs distinct, writable, contiguous NumPy arrays that
        share no memory with `grads`. With
        the default ``inplace=False`` no argument changes and the results are new arrays.

        >>> import numpy as np
        >>> from chainrule import optim
        >>> opt = optim.SGD(lr=0.5)
        >>> params = [np.array([1.0])]
        >>> params, state = opt.step([np.array([2.0])], opt.init(params), params)
        >>> params, int(state.step)
        ([array([0.])], 1)
        >>> w = np.array([1.0, 2.0])
        >>> new, state = opt.step([np.array([2.0, 2.0])], state, [w], inplace=True)
        >>> new[0] is w, w, int(state.step)
        (True, array([0., 1.]), 2)
        """
        return self._run(grads, state, params, _INPLACE if inplace else _NEW_PARAMS)

    def update(self, grads: Any, state: _S, params: Any = None) -> tuple[Any, _S]:
        """``(updates, new_state)``, as optax's ``update``: add `updates` to the parameters.

        `updates` has the structure of `grads`, and arrays of the parameters' dtypes;
        ``apply_updates(params, updates)`` then gives exactly `step`'s new parameters:
        both add the same change to each parameter once. With `AdamW`'s weight decay,
        torch's step is ``p * (1 - lr * weight_decay) + change`` instead; the update is
        that minus ``p``, exact (Sterbenz's lemma), so added back it gives the same bits,
        wherever the new value is within a factor 2 of the old (else within an ulp or
        so). `params` is needed only with weight decay; without them the gradients'
        dtypes are used.

        >>> import numpy as np
        >>> from chainrule import optim
        >>> opt = optim.SGD(lr=0.5)
        >>> params = {"w": np.array([1.0, 2.0])}
        >>> updates, state = opt.update({"w": np.array([2.0, -2.0])}, opt.init(params))
        >>> updates, optim.apply_updates(params, updates)
        ({'w': array([-1.,  1.])}, {'w': array([0., 3.])})
        """
        return self._run(grads, state, params, _UPDATES)

    def _run(self, grads: Any, state: _S, params: Any, mode: int) -> tuple[Any, _S]:
        """`step` (mode `_NEW_PARAMS` or `_INPLACE`) and `update` (mode `_UPDATES`)."""
        g_leaves, g_def = tree.flatten(grads)
        if params is None:
            if self.weight_decay:
                raise ValueError(
                    f"{type(self).__name__}.update needs params for its weight decay: call "
                    "update(grads, state, params)"
                )
            p_leaves, treedef = [_template(i, g) for i, g in enumerate(g_leaves)], g_def
        else:
            p_leaves, treedef = tree.flatten(params)
            if g_def != treedef:
                raise ValueError(
                    f"grads must have the structure of params:\n  params: {treedef!r}\n"
                    f"  grads:  {g_def!r}"
                )
        traced = any(isinstance(x, Tracer) for x in (*g_leaves, *p_leaves, *tree.leaves(state)))
        if traced and mode == _INPLACE:
            raise ValueError(
                f"{type(self).__name__}.step: inplace=True writes into arrays, and inside a "
                "transform (jit, grad, vmap) the values are traced, not arrays: use the "
                "default inplace=False there"
            )
        step, columns = self._check_state(state, len(p_leaves))
        names = self._state._fields[1:]
        # Every leaf is checked before any is written, so a bad leaf leaves all unchanged.
        checked = []
        for i, (x, g) in enumerate(zip(p_leaves, g_leaves, strict=True)):
            p = _param(i, x)
            g = _grad(i, g, p)
            buffers = [
                _buffer(name, i, col[i], p) if col else None
                for name, col in zip(names, columns, strict=True)
            ]
            checked.append((p, g, buffers))
        count = cast(Any, state).step  # (the array, where `step` is its value)
        if mode == _INPLACE:
            _check_targets(p_leaves, names, columns, count)
        dtypes = list(dict.fromkeys(p.dtype for p, _, _ in checked))
        trace = _staging(tree.leaves((grads, state, params))) if traced else None
        if trace is not None and not all(
            isinstance(x, Tracer) for x in tree.leaves((g_leaves, p_leaves, columns))
        ):  # (some arrays closed over: the formulas would write traced values into them)
            return self._staged(trace, grads, state, params, mode)
        if trace is not None and isinstance(step, Tracer):
            constants, new_step = self._staged_scalars(trace, step, dtypes)
        else:
            constants, new_step = self._scalars(step, dtypes), _next(step)
        redirect = self.maximize or (self.weight_decay and not self._decoupled)
        results = []
        new_columns: list[list[np.ndarray]] = [[] for _ in columns]
        for p, g, buffers in checked:
            k = constants[p.dtype]
            zero_d = p.ndim == 0  # (given back as 0-d arrays, as they came)
            scalar = zero_d and not traced  # 0-d leaves as 1-element views, for `out=`
            if scalar:
                p, g = p.reshape(1), g.reshape(1)
                buffers = [None if b is None else b.reshape(1) for b in buffers]
            out: Any
            out_buffers: Buffers
            if traced:  # no destinations: every operation makes a new (traced) value
                out, out_buffers = None, [None] * len(buffers)
            elif mode == _INPLACE:
                out, out_buffers = p, buffers
            else:
                out = np.empty_like(p)
                out_buffers = [None if b is None else np.empty_like(b) for b in buffers]
            if redirect:
                g = self._direction(p, g)
            blocks = None if traced else _row_blocks(p)
            if blocks is None:
                out_buffers, out = self._combine(step, k, p, g, buffers, out_buffers, out, mode)
            else:  # block by block: each block's passes stay in the CPU's cache
                for rows in blocks:
                    self._combine(
                        step, k, p[rows], g[rows], [None if b is None else b[rows] for b in buffers],
                        [None if b is None else b[rows] for b in out_buffers], out[rows], mode,
                    )  # fmt: skip
            if mode != _INPLACE:
                results.append(out.reshape(()) if zero_d else out)
                for col, b in zip(new_columns, out_buffers, strict=True):
                    if b is not None:
                        col.append(b.reshape(()) if zero_d else b)
        if mode == _INPLACE:  # the count too, as torch's step tensors: a loop may ignore
            count[()] = new_step  # the state returned and go on with the one it has
            return params, cast(_S, self._state(count, *columns))
        new_state = self._state(new_step, *map(tuple, new_columns))
        return treedef.unflatten(results), cast(_S, new_state)

    def _combine(
        self, step: Any, k: Sequence[Any], p: Any, g: Any, buffers: Buffers,
        out_buffers: Buffers, out: Any, mode: int,
    ) -> tuple[Buffers, Any]:  # fmt: skip
        """One leaf's (or block's) update: its new buffers, written into `out_buffers`, and
        its new value (or, for `update`, its change), written into `out`; traced values
        (destinations None) give new ones, returned."""
        *k, shrink = k  # the decoupled weight decay's factor, by which torch multiplies p
        # The change is computed in `out` itself when nothing else is needed from it.
        change = out if (mode != _INPLACE and shrink is None) or out is None else np.empty_like(p)
        writing = _WRITING.set(out is not None)  # (traced: no destinations, no writes)
        try:
            new_buffers, change = self._leaf(step, k, g, buffers, out_buffers, change)
            if mode == _UPDATES:
                if shrink is not None:  # new - p, exact when they are within a factor 2
                    change = _iop(np.add, change, p * shrink)
                    change = _iop(np.subtract, change, p)
                done = change if out is None or change is out else _copy_into(out, change)
                return new_buffers, done
            if shrink is None:
                return new_buffers, np.add(p, change, out=out)
            # torch: param.mul_(1 - lr * weight_decay) before the step; p is not read again.
            out = np.multiply(p, shrink, out=out)
            return new_buffers, _iop(np.add, out, change)
        finally:
            _WRITING.reset(writing)

    def _scalars(self, step: Any, dtypes: Sequence[np.dtype]) -> dict[np.dtype, list[Any]]:
        """The scalars of the update after `step` ones, as 0-d arrays of each of `dtypes`:
        `_constants` (None where the options use none), then the decoupled weight decay's
        factor, by which torch multiplies the parameter (or None)."""
        lr = self._lr_at(step)
        factor = 1.0 - lr * self.weight_decay if self._decoupled and self.weight_decay else None
        floats = (*self._constants(step, lr), factor)
        return {d: [c if c is None else _constant(c, d) for c in floats] for d in dtypes}

    def _staged_scalars(
        self, trace: StagingTrace, step: Tracer, dtypes: Sequence[np.dtype]
    ) -> tuple[dict[np.dtype, list[Any]], Any]:
        """`_scalars` and the next step count (`_next`) as one line of the program `jit` is
        recording: each call computes them from its own step count, as an eager update does
        (a schedule is called on a number, so it may branch on it in Python); the leaves'
        formulas are lines that read them."""
        owner = type(self).__name__

        def at(s: Any) -> tuple[dict[np.dtype, list[Any]], tuple[Any, ...]]:
            if not isinstance(s, Tracer):  # (traced where a rule replays a loop's body)
                s = count(s, "state.step", owner, minimum=0)
            values = self._scalars(s, dtypes)
            return values, (*(c for d in dtypes for c in values[d] if c is not None), _next(s))

        def scalars(s: Any) -> tuple[Any, ...]:
            return at(s)[1]

        scalars.effect = True  # type: ignore[attr-defined]  # (its checks run on every call)
        (value,), refs = trace.refs(f"{owner}.scalars", [step])
        example, flat = at(value)
        outs = trace.record(scalars, f"{owner}.scalars", refs, {}, flat, True)
        it = iter(outs[:-1])
        return {d: [None if c is None else next(it) for c in example[d]] for d in dtypes}, outs[-1]

    def _staged(
        self, trace: StagingTrace, grads: Any, state: _S, params: Any, mode: int
    ) -> tuple[Any, _S]:
        """The whole update as one line of the program `jit` is recording, where some of
        its arrays are not traced (closed over: constants of the program): each call runs
        the eager update on that call's arrays."""
        leaves, in_tree = tree.flatten((grads, state, params))
        out_tree: list[Any] = []

        def update(*arrays: Any) -> tuple[Any, ...]:
            g, s, p = tree.unflatten(in_tree, arrays)
            out, tree_def = tree.flatten(self._run(g, s, p, mode))
            out_tree[:] = [tree_def]
            return tuple(out)

        name = f"{type(self).__name__}.{'update' if mode == _UPDATES else 'step'}"
        values, refs = trace.refs(name, leaves)
        outs = trace.record(update, name, refs, {}, update(*values), True)
        return cast(tuple[Any, _S], tree.unflatten(out_tree[0], list(outs)))

    def _direction(self, p: np.ndarray, g: np.ndarray) -> np.ndarray:
        """The gradient with maximize and coupled weight decay applied: `g` or a new array."""
        if self.weight_decay and not self._decoupled:
            d = p * self.weight_decay  # torch: grad.add(param, alpha=weight_decay)
            return d - g if self.maximize else d + g  # (d - g: d + (-g), exactly)
        return np.negative(g) if self.maximize else g

    # --- what a subclass provides --------------------------------------------------------

    def _uses(self) -> tuple[bool, ...]:
        """Which buffers (the state fields after ``step``) the options use."""
        raise NotImplementedError

    def _start(self, name: str, p: np.ndarray) -> np.ndarray:
        """The initial value of buffer `name` for parameter `p`."""
        return np.zeros_like(p)

    def _constants(self, step: int, lr: float) -> tuple[float | None, ...]:
        """The scalars of this update's formulas (None where the options do not use one).

        `_leaf` gets them as `k`, in 0-d arrays of the leaf's dtype made once per update
        and dtype: cheaper NumPy operands than Python floats, and rounded the same way.
        """
        raise NotImplementedError

    def _leaf(
        self,
        step: int,
        k: Sequence[Any],
        g: np.ndarray,
        buffers: Buffers,
        out_buffers: Buffers,
        change: Any,
    ) -> tuple[Buffers, Any]:
        """One leaf's new buffers and change, written into `out_buffers` and `change`.

        The change is what ``torch.optim`` adds to the parameter (after the decoupled weight
        decay's shrink, which the caller applies). `k` holds the `_constants` of this update;
        unused buffers are None in both. `g` already has maximize and (coupled) weight decay
        applied. `change` is fresh scratch space to use before it is written last. The
        destinations are fresh arrays for a pure step, and `buffers` themselves for an
        in-place one: read an input only until its destination is written (an elementwise
        NumPy operation may write over its own operand). Never write into `g` or `buffers`
        other than as destinations: they may be the caller's arrays. Inside `jit` (or
        another transform) the values are traced and the destinations None: so every
        operation takes its destination as ``out=`` and keeps what it returns, and the
        results are returned; `step` is then traced too.
        """
        raise NotImplementedError

    # --- checks --------------------------------------------------------------------------

    def _check(self, minimums: dict[str, float | None], flags: Sequence[str] = ()) -> None:
        """Validate and normalise the hyper-parameters (numbers to Python floats)."""
        where = type(self).__name__
        if not callable(self.lr):
            object.__setattr__(self, "lr", number(self.lr, "lr", where, minimum=0.0))
        for name, low in minimums.items():
            value = number(getattr(self, name), name, where, minimum=low)
            object.__setattr__(self, name, value)
        for name in (*flags, "maximize"):
            object.__setattr__(self, name, flag(getattr(self, name), name, where))

    def _lr_at(self, step: Any) -> Any:
        """The learning rate of the update after `step` ones; traced when `step` is (its
        value, and so its check, then belongs to each call of the compiled program)."""
        if not callable(self.lr):
            return self.lr
        if isinstance(step, Tracer):
            return self.lr(step)  # type: ignore[arg-type]
        name = f"lr (the schedule's value at step {step})"
        return number(self.lr(step), name, type(self).__name__, minimum=0.0)

    def _check_state(self, state: Any, n: int) -> tuple[Any, list[tuple[np.ndarray, ...]]]:
        """The update count (an int, or traced) and the buffer columns, once the state is
        known to fit."""
        hint = "make it with opt.init(params) using this optimizer and these parameters"
        if not isinstance(state, self._state):
            raise TypeError(
                f"{type(self).__name__} needs a {self._state.__name__}, got "
                f"{type(state).__name__}: {hint} (restore a saved state with "
                "cr.tree.unflatten(cr.tree.structure(opt.init(params)), arrays))"
            )
        step = state.step
        if not isinstance(step, Tracer):
            step = count(step, "state.step", type(self).__name__, minimum=0)
        elif step.ndim or step.dtype.kind not in "iu":
            raise TypeError(
                f"{type(self).__name__}: state.step must be a 0-d integer array, got "
                f"{step.dtype}{list(step.shape)}"
            )
        columns = list(state[1:])
        for name, col, used in zip(self._state._fields[1:], columns, self._uses(), strict=True):
            if len(col) != (n if used else 0):
                raise ValueError(
                    f"state.{name} holds {len(col)} arrays, expected {n if used else 0} for "
                    f"{n} parameter arrays with these options: {hint}"
                )
        return step, columns


def _staging(leaves: Sequence[Any]) -> StagingTrace | None:
    """The `jit` tracing that all traced `leaves` belong to directly (no `grad` or `vmap`
    above it), or None."""
    traced = [x for x in leaves if isinstance(x, Tracer)]
    traces = {x._trace for x in traced}
    if len(traces) == 1 and all(isinstance(x, StagedTracer) for x in traced):
        return cast(StagingTrace, traces.pop())
    return None


def _next(step: Any) -> Any:
    """The update count after `step`: a 0-d int64 array, or traced (one when replayed)."""
    if isinstance(step, int):
        return np.array(step + 1, dtype=np.int64)
    return (step.astype(np.int64) + 1).reshape(())


def _array(x: Any) -> Any:
    """`x` as an array, or as it is if traced (a program must not hold its value)."""
    return x if isinstance(x, Tracer) else np.asarray(x)


def _constant(c: Any, dtype: np.dtype) -> Any:
    """A scalar of an update's formulas in `dtype`: a 0-d array, or traced when `c` is."""
    return c.astype(dtype) if isinstance(c, Tracer) else np.array(c, dtype)  # type: ignore[attr-defined]


def _param(i: int, x: Any) -> np.ndarray:
    p = _array(x)
    if p.dtype.kind != "f":
        raise TypeError(
            f"parameter leaf {i} has dtype {p.dtype}: optimizers update float arrays "
            "(convert it with .astype(np.float32), or make it a static field)"
        )
    return p


def _template(i: int, x: Any) -> np.ndarray:
    """Gradient leaf `i` standing in for its parameter when `update` is given no params."""
    g = _array(x)
    if g.dtype.kind != "f":
        raise TypeError(
            f"gradient leaf {i} has dtype {g.dtype}: without params, update(grads, state) "
            "takes the dtypes from the gradients, which must be float arrays (pass params)"
        )
    return g


def apply_updates(params: Any, updates: Any) -> Any:
    """``params + updates`` leaf by leaf, in each parameter's dtype (optax's function).

    `updates` come from an optimizer's `Optimizer.update`, with the structure of `params`;
    nothing is changed in place.

    >>> import numpy as np
    >>> from chainrule import optim
    >>> params = {"w": np.array([1.0, 2.0], dtype=np.float32)}
    >>> optim.apply_updates(params, {"w": np.array([0.5, -0.5])})
    {'w': array([1.5, 1.5], dtype=float32)}
    """
    p_leaves, treedef = tree.flatten(params)
    u_leaves, u_def = tree.flatten(updates)
    if u_def != treedef:
        raise ValueError(
            f"apply_updates: updates must have the structure of params:\n  params:  "
            f"{treedef!r}\n  updates: {u_def!r}"
        )
    new = []
    for i, (x, u) in enumerate(zip(p_leaves, u_leaves, strict=True)):
        p = _param(i, x)
        u = _array(u)
        if u.dtype.kind not in "fiub":
            raise TypeError(
                f"apply_updates: updates leaf {i} has dtype {u.dtype}, expected {p.dtype}"
            )
        if u.shape != p.shape:
            raise ValueError(
                f"apply_updates: updates leaf {i} has shape {u.shape}, its parameter {p.shape}"
            )
        # Computed as NumPy promotes p + u, rounded once to the parameter's dtype.
        if isinstance(p, Tracer) or isinstance(u, Tracer):
            new.append(np.add(p, u).astype(p.dtype))
        else:
            new.append(np.add(p, u, out=np.empty_like(p), casting="same_kind"))
    return treedef.unflatten(new)


def _grad(i: int, x: Any, p: np.ndarray) -> np.ndarray:
    g = _array(x)
    if g.shape != p.shape:
        raise ValueError(f"gradient leaf {i} has shape {g.shape}, its parameter {p.shape}")
    if g.dtype != p.dtype:
        if g.dtype.kind not in "fiub":
            raise TypeError(f"gradient leaf {i} has dtype {g.dtype}, expected {p.dtype}")
        g = g.astype(p.dtype)
    return g


def _buffer(name: str, i: int, b: np.ndarray, p: np.ndarray) -> np.ndarray:
    if b.shape != p.shape or b.dtype != p.dtype:
        raise ValueError(
            f"state.{name}[{i}] is {b.dtype}{list(b.shape)} but parameter leaf {i} is "
            f"{p.dtype}{list(p.shape)}: the state was made for other parameters"
        )
    return b


def _check_targets(
    p_leaves: Sequence[Any], names: Sequence[str], columns: Sequence[tuple[Any, ...]], step: Any
) -> None:
    """Check that an in-place update can write into every parameter and buffer array, and
    into the step count."""
    if not (isinstance(step, np.ndarray) and step.ndim == 0 and step.flags.writeable):
        what = "a read-only array" if isinstance(step, np.ndarray) else type(step).__name__
        raise ValueError(
            f"state.step is {what}: inplace=True counts the step in place too, as torch.optim "
            "does, in the writable 0-d integer array that opt.init makes (or use "
            "inplace=False, and the state it returns)"
        )
    if int(step) >= np.iinfo(step.dtype).max:  # (never a count that wraps around)
        raise OverflowError(
            f"state.step ({step.dtype}) cannot count past {int(step)} in place: give it the "
            "int64 that opt.init makes (or use inplace=False, which counts in int64)"
        )
    # Names are made only for the message: this check runs on every in-place step.
    targets = [("parameter leaf", p_leaves)]
    targets += [(f"state.{name}", col) for name, col in zip(names, columns, strict=True)]
    first: dict[int, tuple[str, int]] = {}
    for kind, arrays in targets:
        for i, x in enumerate(arrays):
            if not isinstance(x, np.ndarray):
                problem = f"is a {type(x).__name__}, not a NumPy array"
            elif not (flags := x.flags).writeable:
                problem = "is read-only"
            elif not (flags.c_contiguous or flags.f_contiguous):
                problem = "is not contiguous"
            elif id(x) in first:
                problem = f"is the same array as {_target(*first[id(x)])}"
            else:
                first[id(x)] = (kind, i)
                continue
            raise ValueError(
                f"{_target(kind, i)} {problem}: inplace=True writes the update into the "
                "arrays of params and state, which must be distinct writable contiguous "
                "NumPy arrays (use inplace=False to get new arrays instead)"
            )


def _target(kind: str, i: int) -> str:
    return f"{kind} {i}" if kind == "parameter leaf" else f"{kind}[{i}]"


def _lerp(a: Any, b: Any, w: float, factor: Any, out: Any, scratch: Any) -> Any:
    """``out = a + w * (b - a)``, rounded as torch's ``lerp`` rounds it.

    `factor` is ``_lerp_factor(w)`` (as a 0-d array). `out` may be `a`; `scratch`
    (overwritten) must be none of the others; None for either makes a new value.
    """
    scratch = np.subtract(b, a, out=scratch)
    scratch = _iop(np.multiply, scratch, factor)
    if w < 0.5:
        return np.add(scratch, a, out=out)
    return np.subtract(b, scratch, out=out)


def _row_blocks(p: np.ndarray) -> list[slice] | None:
    """The blocks of rows to update `p` by, or None to update it whole: a C-contiguous leaf
    larger than `core.blocks.BLOCK_BYTES` takes all the update's elementwise passes (a dozen
    for Adam) on one block while it is in the CPU's cache, instead of each pass streaming the
    whole leaf through memory (1.4x faster for Adam on a 1024 x 1024 float32 leaf; the same
    bits)."""
    rows = row_blocks(p.shape, p.itemsize) if p.flags.c_contiguous else None  # (else strided)
    return None if rows is None else [slice(i, i + rows) for i in range(0, len(p), rows)]


# Whether an update may write into its own arrays: not where it is traced (inside `jit`,
# `grad`, `vmap`), as a traced operation keeps the plain values it read by reference (a
# constant of a program, a value reverse mode reads back), so they must not change after.
_WRITING = contextvars.ContextVar("chainrule.optim writing", default=True)


def _reuse(scratch: Any) -> np.ndarray | None:
    """`scratch` as an ``out=`` destination: itself if an array the update may write into;
    None (write a new value) if traced."""
    return scratch if isinstance(scratch, np.ndarray) and _WRITING.get() else None


def _iop(ufunc: Any, a: Any, b: Any) -> Any:
    """``a = ufunc(a, b)``, written into `a` as NumPy's in-place operators write, where
    the update may write (`_WRITING`); a new value where it is traced (a plain buffer
    meeting a traced gradient cannot hold the result, and a plain value a traced
    operation has read must not change)."""
    return ufunc(a, b, a) if _WRITING.get() and isinstance(a, np.ndarray) else ufunc(a, b)


def _copy_into(out: np.ndarray, x: np.ndarray) -> np.ndarray:
    np.copyto(out, x)
    return out


def _lerp_factor(w: float) -> float:
    """What `_lerp` multiplies the difference by: torch's lerp uses ``1 - w`` from 0.5 on."""
    return w if w < 0.5 else 1.0 - w


@dataclasses.dataclass(frozen=True)
class SGD(Optimizer[SGDState]):
    """Stochastic gradient descent with momentum, as ``torch.optim.SGD``.

    With momentum ``buf = momentum * buf + (1 - dampening) * g`` (``buf = g`` at the first
    step), then ``p -= lr * buf``, or ``p -= lr * (g + momentum * buf)`` with Nesterov.
    Weight decay adds ``weight_decay * p`` to the gradient.

    >>> import numpy as np
    >>> from chainrule import optim
    >>> opt = optim.SGD(lr=0.1, momentum=0.9)
    >>> opt
    SGD(lr=0.1, momentum=0.9, dampening=0.0, nesterov=False, weight_decay=0.0, maximize=False)
    >>> params = {"w": np.array([1.0, 2.0])}
    >>> state = opt.init(params)
    >>> for _ in range(2):
    ...     params, state = opt.step({"w": np.array([1.0, -1.0])}, state, params)
    >>> params["w"]
    array([0.71, 2.29])
    """

    lr: LearningRate = 1e-3
    _: dataclasses.KW_ONLY
    momentum: float = 0.0
    dampening: float = 0.0
    nesterov: bool = False
    weight_decay: float = 0.0
    maximize: bool = False
    _state: ClassVar[type[Any]] = SGDState

    def __post_init__(self) -> None:
        self._check({"momentum": 0.0, "dampening": None, "weight_decay": 0.0}, ("nesterov",))
        if self.nesterov and (self.momentum <= 0.0 or self.dampening != 0.0):
            raise ValueError(
                "Nesterov momentum requires a momentum > 0 and zero dampening, got "
                f"momentum={self.momentum}, dampening={self.dampening}"
            )

    def _uses(self) -> tuple[bool, ...]:
        return (self.momentum != 0.0,)

    def _constants(self, step: int, lr: float) -> tuple[float | None, ...]:
        momentum = self.momentum or None
        return momentum, 1.0 - self.dampening if momentum and self.dampening else None, -lr

    def _leaf(
        self,
        step: int,
        k: Sequence[Any],
        g: np.ndarray,
        buffers: Buffers,
        out_buffers: Buffers,
        change: Any,
    ) -> tuple[Buffers, Any]:
        momentum, undamped, minus_lr = k
        (buf,), (new_buf,) = buffers, out_buffers
        s = change  # scratch until the end
        d = g  # the step direction
        if buf is not None:
            if isinstance(step, int) and step == 0:  # torch starts the buffer at g
                if new_buf is not None:
                    new_buf = _copy_into(new_buf, g)
                else:  # (traced, g itself; plain, a copy: the caller's array stays theirs)
                    new_buf = g if isinstance(g, Tracer) else np.copy(g)
            else:
                new_buf = np.multiply(buf, momentum, out=new_buf)
                if self.dampening == 0.0:
                    new_buf = _iop(np.add, new_buf, g)
                else:
                    s = np.multiply(g, undamped, out=s)
                    new_buf = _iop(np.add, new_buf, s)
                if isinstance(step, Tracer):  # the first update's case, chosen per call
                    new_buf = np.where(step == 0, g, new_buf)
            if self.nesterov:  # torch: grad.add(buf, alpha=momentum)
                s = np.multiply(new_buf, momentum, out=_reuse(s))
                d = s = _iop(np.add, s, g)
            else:
                d = new_buf
        return [new_buf], np.multiply(d, minus_lr, out=change)  # torch: param.add_(grad, -lr)


@dataclasses.dataclass(frozen=True)
class RMSprop(Optimizer[RMSpropState]):
    """Divide by a running root mean square of the gradient, as ``torch.optim.RMSprop``.

    ``square_avg = alpha * square_avg + (1 - alpha) * g²``; centered subtracts the square
    of the running mean gradient; ``p -= lr * g / (sqrt(square_avg) + eps)``, or with
    momentum ``buf = momentum * buf + g / (sqrt(...) + eps)`` and ``p -= lr * buf``.

    >>> import numpy as np
    >>> from chainrule import optim
    >>> opt = optim.RMSprop(lr=0.01, alpha=0.75)
    >>> params, state = opt.step([np.array([3.0])], opt.init([np.ones(1)]), [np.ones(1)])
    >>> params
    [array([0.98])]
    """

    lr: LearningRate = 1e-2
    _: dataclasses.KW_ONLY
    alpha: float = 0.99
    eps: float = 1e-8
    weight_decay: float = 0.0
    momentum: float = 0.0
    centered: bool = False
    maximize: bool = False
    _state: ClassVar[type[Any]] = RMSpropState

    def __post_init__(self) -> None:
        self._check({"alpha": 0.0, "eps": 0.0, "weight_decay": 0.0, "momentum": 0.0}, ("centered",))

    def _uses(self) -> tuple[bool, ...]:
        return (True, self.centered, self.momentum > 0.0)

    def _constants(self, step: int, lr: float) -> tuple[float | None, ...]:
        alpha = self.alpha
        factor = _lerp_factor(1.0 - alpha) if self.centered else None
        return alpha, 1.0 - alpha, factor, self.eps, self.momentum or None, -lr

    def _leaf(
        self,
        step: int,
        k: Sequence[Any],
        g: np.ndarray,
        buffers: Buffers,
        out_buffers: Buffers,
        change: Any,
    ) -> tuple[Buffers, Any]:
        alpha, one_minus_alpha, factor, eps, momentum, minus_lr = k
        square_avg, grad_avg, buf = buffers
        new_square_avg, new_grad_avg, new_buf = out_buffers
        # The scratch ends as the denominator `avg`, which the momentum step can share with
        # the change; the plain step needs both at once.
        avg = change if buf is not None or change is None else np.empty_like(g)
        new_square_avg = np.multiply(square_avg, alpha, out=new_square_avg)
        avg = np.multiply(g, one_minus_alpha, out=avg)  # torch: addcmul_(grad, grad, 1 - alpha)
        avg = _iop(np.multiply, avg, g)
        new_square_avg = _iop(np.add, new_square_avg, avg)
        if grad_avg is not None:
            new_grad_avg = _lerp(grad_avg, g, 1.0 - self.alpha, factor, new_grad_avg, _reuse(avg))
            avg = np.multiply(new_grad_avg, new_grad_avg, out=_reuse(avg))
            avg = np.subtract(new_square_avg, avg, out=_reuse(avg))
            avg = np.sqrt(avg, out=_reuse(avg))
        else:
            avg = np.sqrt(new_square_avg, out=_reuse(avg))
        avg = _iop(np.add, avg, eps)
        if buf is not None:
            avg = np.divide(
                g, avg, out=_reuse(avg)
            )  # torch: buf.mul_(momentum).addcdiv_(grad, avg)
            new_buf = np.multiply(buf, momentum, out=new_buf)
            new_buf = _iop(np.add, new_buf, avg)
            change = np.multiply(new_buf, minus_lr, out=change)  # torch: param.add_(buf, -lr)
        else:
            change = np.multiply(g, minus_lr, out=change)  # torch: addcdiv_(grad, avg, -lr)
            change = _iop(np.divide, change, avg)
        return [new_square_avg, new_grad_avg, new_buf], change


@dataclasses.dataclass(frozen=True)
class Adagrad(Optimizer[AdagradState]):
    """Divide by the root of the summed squared gradients, as ``torch.optim.Adagrad``.

    ``sum += g²``, ``p -= lr / (1 + step * lr_decay) * g / (sqrt(sum) + eps)``, with
    `step` counting earlier updates and ``sum`` starting at `initial_accumulator_value`.

    >>> import numpy as np
    >>> from chainrule import optim
    >>> opt = optim.Adagrad(lr=0.5)
    >>> params, state = opt.step([np.array([-4.0])], opt.init([np.ones(1)]), [np.ones(1)])
    >>> params
    [array([1.5])]
    """

    lr: LearningRate = 1e-2
    _: dataclasses.KW_ONLY
    lr_decay: float = 0.0
    weight_decay: float = 0.0
    initial_accumulator_value: float = 0.0
    eps: float = 1e-10
    maximize: bool = False
    _state: ClassVar[type[Any]] = AdagradState

    def __post_init__(self) -> None:
        self._check(
            {"lr_decay": 0.0, "weight_decay": 0.0, "initial_accumulator_value": 0.0, "eps": 0.0}
        )

    def _uses(self) -> tuple[bool, ...]:
        return (True,)

    def _start(self, name: str, p: np.ndarray) -> np.ndarray:
        return np.full_like(p, self.initial_accumulator_value)

    def _constants(self, step: int, lr: float) -> tuple[float | None, ...]:
        return self.eps, -lr / (1.0 + step * self.lr_decay)  # eps, -clr

    def _leaf(
        self,
        step: int,
        k: Sequence[Any],
        g: np.ndarray,
        buffers: Buffers,
        out_buffers: Buffers,
        change: Any,
    ) -> tuple[Buffers, Any]:
        eps, minus_clr = k
        (total,), (new_total,) = buffers, out_buffers
        std = np.multiply(g, g)  # torch: state_sum.addcmul_(grad, grad, value=1)
        new_total = np.add(std, total, out=new_total)
        std = np.sqrt(new_total, out=_reuse(std))
        std = _iop(np.add, std, eps)
        change = np.multiply(g, minus_clr, out=change)  # torch: addcdiv_(grad, std, -clr)
        change = _iop(np.divide, change, std)
        return [new_total], change


@dataclasses.dataclass(frozen=True)
class Adam(Optimizer[AdamState]):
    """Adaptive moment estimation, as ``torch.optim.Adam``.

    ``m = lerp(m, g, 1 - beta1)``, ``v = beta2 * v + (1 - beta2) * g²`` (with amsgrad the
    running maximum of ``v`` is used instead), then ``p -= lr / (1 - beta1^t) * m /
    (sqrt(v) / sqrt(1 - beta2^t) + eps)`` at update ``t`` counted from 1. Weight decay adds
    ``weight_decay * p`` to the gradient (see `AdamW` for the decoupled kind).

    >>> import numpy as np
    >>> from chainrule import optim
    >>> opt = optim.Adam(lr=0.1, amsgrad=True)
    >>> opt
    Adam(lr=0.1, betas=(0.9, 0.999), eps=1e-08, weight_decay=0.0, amsgrad=True, maximize=False)
    >>> params, state = opt.step([np.array([-4.0])], opt.init([np.ones(1)]), [np.ones(1)])
    >>> params
    [array([1.1])]
    """

    lr: LearningRate = 1e-3
    _: dataclasses.KW_ONLY
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    weight_decay: float = 0.0
    amsgrad: bool = False
    maximize: bool = False
    _state: ClassVar[type[Any]] = AdamState

    def __post_init__(self) -> None:
        self._check({"eps": 0.0, "weight_decay": 0.0}, ("amsgrad",))
        where, betas = type(self).__name__, self.betas
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise TypeError(f"{where}: betas must be a pair (beta1, beta2), got {betas!r}")
        pair = tuple(
            number(b, f"betas[{i}]", where, minimum=0.0, maximum=1.0, exclusive="maximum")
            for i, b in enumerate(betas)
        )
        object.__setattr__(self, "betas", pair)

    def _uses(self) -> tuple[bool, ...]:
        return (True, True, self.amsgrad)

    def _constants(self, step: int, lr: float) -> tuple[float | None, ...]:
        beta1, beta2 = self.betas
        # Bias corrections as Python floats, as torch computes them.
        t = step + 1
        step_size = lr / (1.0 - beta1**t)
        return (
            _lerp_factor(1.0 - beta1),
            beta2,
            1.0 - beta2,
            (1.0 - beta2**t) ** 0.5,
            self.eps,
            -step_size,
        )

    def _leaf(
        self,
        step: int,
        k: Sequence[Any],
        g: np.ndarray,
        buffers: Buffers,
        out_buffers: Buffers,
        change: Any,
    ) -> tuple[Buffers, Any]:
        factor, beta2, one_minus_beta2, bias_correction2_sqrt, eps, minus_step_size = k
        exp_avg, exp_avg_sq, max_exp_avg_sq = buffers
        new_exp_avg, new_exp_avg_sq, new_max = out_buffers
        s = change  # the one scratch array, which ends as the change
        new_exp_avg = _lerp(exp_avg, g, 1.0 - self.betas[0], factor, new_exp_avg, s)
        new_exp_avg_sq = np.multiply(exp_avg_sq, beta2, out=new_exp_avg_sq)
        s = np.multiply(g, one_minus_beta2, out=s)  # torch: addcmul_(grad, grad, 1 - beta2)
        s = _iop(np.multiply, s, g)
        new_exp_avg_sq = _iop(np.add, new_exp_avg_sq, s)
        if max_exp_avg_sq is not None:
            new_max = np.maximum(max_exp_avg_sq, new_exp_avg_sq, out=new_max)
        s = np.sqrt(new_exp_avg_sq if new_max is None else new_max, out=_reuse(s))
        s = _iop(np.divide, s, bias_correction2_sqrt)
        s = _iop(np.add, s, eps)  # the denominator
        s = np.divide(new_exp_avg, s, out=_reuse(s))  # torch: addcdiv_(exp_avg, denom, -step_size)
        s = _iop(np.multiply, s, minus_step_size)
        return [new_exp_avg, new_exp_avg_sq, new_max], s


@dataclasses.dataclass(frozen=True)
class AdamW(Adam):
    """Adam with decoupled weight decay, as ``torch.optim.AdamW``.

    The parameter shrinks by ``1 - lr * weight_decay`` before the Adam step, instead of
    weight decay entering the gradient (and so the moments).

    >>> import numpy as np
    >>> from chainrule import optim
    >>> opt = optim.AdamW(lr=0.1, weight_decay=0.5)
    >>> params, state = opt.step([np.array([-4.0])], opt.init([np.ones(1)]), [np.ones(1)])
    >>> params
    [array([1.05])]
    """

    _: dataclasses.KW_ONLY
    weight_decay: float = 1e-2
    _decoupled: ClassVar[bool] = True
