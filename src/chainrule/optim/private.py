"""Differentially private training: DP-SGD (Abadi et al., 2016), with optax's names.

DP-SGD bounds what one example can change in a step, then hides that change in noise: each
example's gradient is clipped to an L2 norm of at most ``l2_norm_clip`` over the whole
gradient pytree (scaled by ``min(1, C / ||g||)``), the clipped gradients are summed, Gaussian
noise of standard deviation ``noise_multiplier * l2_norm_clip`` is added to every coordinate,
and the sum is divided by the batch size. This needs every example's own gradient, which
``cr.vmap(cr.grad(loss), in_axes=(None, 0, 0))(params, x, y)`` gives in one batched call:
each leaf with a leading batch axis.

`differentially_private_aggregate` is that aggregation, as optax's transformation of the
same name: ``update(per_example_grads, state)`` returns the private gradient for any
optimizer to use; `dpsgd` chains it with `SGD`, as ``optax.contrib.dpsgd``. The noise of
each step comes from the seed and the step count in the state, so a run replays exactly
and the state saves as arrays, like the optimizers' states.

>>> import numpy as np
>>> import chainrule as cr
>>> from chainrule import optim
>>> def loss(w, x, y):
...     return (cr.numpy.sum(w * x) - y) ** 2
>>> w, x, y = np.zeros(2), np.array([[1.0, 0.0], [0.0, 100.0]]), np.array([1.0, 1.0])
>>> per_example = cr.vmap(cr.grad(loss), in_axes=(None, 0, 0))(w, x, y)
>>> per_example  # the second example's gradient has norm 200
array([[  -2.,   -0.],
       [  -0., -200.]])
>>> dp = optim.differentially_private_aggregate(l2_norm_clip=1.0, noise_multiplier=0.0, seed=0)
>>> grad, state = dp.update(per_example, dp.init(w))
>>> grad  # each clipped to norm 1, then averaged: (-1, 0) and (0, -1)
array([-0.5, -0.5])
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, NamedTuple

import numpy as np

import chainrule.numpy as cnp
from chainrule import tree
from chainrule._seed import Seed
from chainrule._validate import count, number
from chainrule.core.trace import Tracer
from chainrule.numpy.rules.common import nondiff

from .optimizers import SGD, LearningRate, SGDState, _next

__all__ = [
    "DPSGD",
    "DPSGDState",
    "DifferentiallyPrivateAggregate",
    "DifferentiallyPrivateAggregateState",
    "differentially_private_aggregate",
    "dpsgd",
]

_HINT = (
    "pass per-example gradients, each leaf with a leading batch axis, as "
    "cr.vmap(cr.grad(loss), in_axes=(None, 0, 0))(params, x, y) returns them"
)


class DifferentiallyPrivateAggregateState(NamedTuple):
    """The number of aggregations done: with the seed, it picks the next step's noise."""

    step: np.ndarray


class DPSGDState(NamedTuple):
    """State of `DPSGD`: the aggregation's and the `SGD` step's."""

    aggregate: DifferentiallyPrivateAggregateState
    sgd: SGDState


@dataclasses.dataclass(frozen=True)
class DifferentiallyPrivateAggregate:
    """Clip each example's gradient, sum, add Gaussian noise, divide by the batch size.

    Made by `differentially_private_aggregate`. `seed` is the int every step's noise comes
    from, with the step count: ``numpy.random.default_rng((seed, step))`` draws one standard
    normal array per gradient leaf, in ``cr.tree.flatten`` order, in the leaf's dtype.
    """

    l2_norm_clip: float
    noise_multiplier: float
    seed: int

    def __post_init__(self) -> None:
        where = "differentially_private_aggregate"
        clip = number(self.l2_norm_clip, "l2_norm_clip", where, minimum=0.0, exclusive=True)
        object.__setattr__(self, "l2_norm_clip", clip)
        multiplier = number(self.noise_multiplier, "noise_multiplier", where, minimum=0.0)
        object.__setattr__(self, "noise_multiplier", multiplier)
        object.__setattr__(self, "seed", count(self.seed, "seed", where, minimum=0))

    def init(self, params: Any = None) -> DifferentiallyPrivateAggregateState:
        """A fresh state (step 0); `params` is unused, as in optax.

        >>> from chainrule import optim
        >>> optim.differentially_private_aggregate(1.0, 1.1, seed=0).init()
        DifferentiallyPrivateAggregateState(step=array(0))
        """
        return DifferentiallyPrivateAggregateState(np.array(0, dtype=np.int64))

    def update(
        self, per_example_grads: Any, state: DifferentiallyPrivateAggregateState, params: Any = None
    ) -> tuple[Any, DifferentiallyPrivateAggregateState]:
        """``(private_grads, new_state)`` from gradients with a leading batch axis of B.

        The result has the structure of `per_example_grads` without the batch axis, and the
        dtypes of its leaves. With `params`, each leaf's shape is checked against them.

        >>> import numpy as np
        >>> from chainrule import optim
        >>> dp = optim.differentially_private_aggregate(1.0, noise_multiplier=0.0, seed=0)
        >>> g = {"w": np.array([[3.0, 0.0], [0.3, 0.0]]), "b": np.array([4.0, 0.4])}
        >>> private, state = dp.update(g, dp.init())
        >>> private["w"], private["b"], int(state.step)  # (0.6, 0.8) and (0.3, 0.4), averaged
        (array([0.45, 0.  ]), array(0.6), 1)
        """
        where = "differentially_private_aggregate"
        if not isinstance(state, DifferentiallyPrivateAggregateState):
            raise TypeError(
                f"{where}: update needs a DifferentiallyPrivateAggregateState, got "
                f"{type(state).__name__}: make it with init()"
            )
        step: Any = state.step
        if not isinstance(step, Tracer):
            step = count(step, "state.step", where, minimum=0)
        leaves, treedef = tree.flatten(per_example_grads)
        grads = [_per_example(i, g) for i, g in enumerate(leaves)]
        if not grads:
            raise ValueError(f"{where}: the gradients hold no arrays; {_HINT}")
        batch = grads[0].shape[0]
        for i, g in enumerate(grads):
            if g.shape[0] != batch:
                raise ValueError(
                    f"{where}: gradient leaf {i} has {g.shape[0]} examples along its first "
                    f"axis, leaf 0 has {batch}; {_HINT}"
                )
        if params is not None:
            _check_params(params, treedef, grads)
        # Each example's norm over the whole pytree; then min(1, C / norm), where a zero norm
        # gives C / 0 = inf, so 1, and a NaN gradient a NaN scale, so NaN results.
        squares = sum(_squared_norms(g.reshape(batch, -1)) for g in grads)
        with np.errstate(divide="ignore"):
            scale = cnp.minimum(1.0, self.l2_norm_clip / cnp.sqrt(squares))
        sizes = [math.prod(g.shape[1:]) for g in grads]
        noise = _normal(step, seed=self.seed, size=sum(sizes))  # drawn on every call, jit too
        std = self.noise_multiplier * self.l2_norm_clip
        private, start = [], 0
        for g, size in zip(grads, sizes, strict=True):
            total = scale.astype(g.dtype) @ g.reshape(batch, -1)  # one BLAS call per leaf
            total += np.asarray(std, g.dtype) * noise[start : start + size].astype(g.dtype)
            total /= np.asarray(batch, g.dtype)
            private.append(total.reshape(g.shape[1:]))
            start += size
        new_state = DifferentiallyPrivateAggregateState(_next(step))
        return treedef.unflatten(private), new_state


def differentially_private_aggregate(
    l2_norm_clip: float, noise_multiplier: float, seed: Seed
) -> DifferentiallyPrivateAggregate:
    """DP-SGD's aggregation of per-example gradients, as optax's function of this name.

    `l2_norm_clip` is the largest L2 norm an example's whole gradient keeps; the noise's
    standard deviation is ``noise_multiplier * l2_norm_clip`` on the sum (so divided by B on
    the result). `seed`: an int; a Generator gives one int drawn from it, and None fresh
    entropy, either fixed from then on, so that ``init``/``update`` stay pure.

    >>> import numpy as np
    >>> from chainrule import optim
    >>> dp = optim.differentially_private_aggregate(l2_norm_clip=1.0, noise_multiplier=1.1, seed=7)
    >>> grads = np.ones((4, 3))  # 4 examples of a 3-parameter model
    >>> private, state = dp.update(grads, dp.init())
    >>> private.shape, int(state.step)
    ((3,), 1)
    >>> np.array_equal(private, dp.update(grads, dp.init())[0])  # the same step, the same noise
    True
    """
    return DifferentiallyPrivateAggregate(l2_norm_clip, noise_multiplier, _entropy(seed))


@dataclasses.dataclass(frozen=True)
class DPSGD:
    """DP-SGD: `differentially_private_aggregate`, then an `SGD` step (see `dpsgd`)."""

    aggregate: DifferentiallyPrivateAggregate
    sgd: SGD

    def init(self, params: Any) -> DPSGDState:
        """A fresh state for `params`."""
        return DPSGDState(self.aggregate.init(params), self.sgd.init(params))

    def update(
        self, per_example_grads: Any, state: DPSGDState, params: Any = None
    ) -> tuple[Any, DPSGDState]:
        """``(updates, new_state)``, as optax's: add them with `apply_updates`."""
        grads, aggregate = self.aggregate.update(per_example_grads, _checked(state), params)
        updates, sgd = self.sgd.update(grads, state.sgd, params)
        return updates, DPSGDState(aggregate, sgd)

    def step(
        self, per_example_grads: Any, state: DPSGDState, params: Any
    ) -> tuple[Any, DPSGDState]:
        """``(new_params, new_state)``, as the optimizers' `step`."""
        grads, aggregate = self.aggregate.update(per_example_grads, _checked(state), params)
        params, sgd = self.sgd.step(grads, state.sgd, params)
        return params, DPSGDState(aggregate, sgd)


def dpsgd(
    learning_rate: LearningRate,
    l2_norm_clip: float,
    noise_multiplier: float,
    seed: Seed,
    momentum: float | None = None,
    nesterov: bool = False,
) -> DPSGD:
    """The DP-SGD optimizer, as ``optax.contrib.dpsgd``: it takes per-example gradients.

    The private gradient of `differentially_private_aggregate`, then SGD with `momentum`
    (None: none) and `nesterov`, which is optax's ``trace`` and torch's SGD momentum alike.

    >>> import numpy as np
    >>> import chainrule as cr
    >>> from chainrule import optim
    >>> def loss(w, x, y):
    ...     return (cr.numpy.sum(w * x) - y) ** 2
    >>> x = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    >>> y = np.array([1.0, -1.0, 0.0])
    >>> opt = optim.dpsgd(0.5, l2_norm_clip=10.0, noise_multiplier=0.01, seed=0, momentum=0.5)
    >>> w = np.zeros(2)
    >>> state = opt.init(w)
    >>> for _ in range(50):
    ...     w, state = opt.step(cr.vmap(cr.grad(loss), in_axes=(None, 0, 0))(w, x, y), state, w)
    >>> np.abs(w - [1.0, -1.0]).max() < 0.2  # least squares gives (1, -1); the noise moves it
    np.True_
    """
    sgd = SGD(learning_rate, momentum=momentum or 0.0, nesterov=nesterov)
    return DPSGD(differentially_private_aggregate(l2_norm_clip, noise_multiplier, seed), sgd)


def _checked(state: Any) -> DifferentiallyPrivateAggregateState:
    """The aggregation's part of a `DPSGDState`, once `state` is known to be one."""
    if not isinstance(state, DPSGDState):
        raise TypeError(
            f"dpsgd needs a DPSGDState, got {type(state).__name__}: make it with "
            "opt.init(params) using this optimizer"
        )
    return state.aggregate


def _entropy(seed: Seed) -> Any:
    """The int that all the noise comes from, fixed once from a Generator or None; anything
    else goes on to be checked as an int."""
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(2**63))
    if seed is None:
        return np.random.SeedSequence().entropy
    return seed


@nondiff
def _normal(step: Any, *, seed: int, size: int) -> np.ndarray:
    """The noise of update `step`: `size` standard normals from ``default_rng((seed, step))``.

    A zero-derivative function, so that inside `jit` it is a line of the program, drawn
    again on each call from that call's step, not frozen at the step that was traced.
    """
    return np.random.default_rng((seed, int(step))).standard_normal(size)


def _per_example(i: int, x: Any) -> Any:
    g = x if isinstance(x, Tracer) else np.asarray(x)
    if g.dtype.kind != "f":
        raise TypeError(
            f"differentially_private_aggregate: gradient leaf {i} has dtype {g.dtype}, "
            "expected floats"
        )
    if g.ndim == 0 or g.shape[0] == 0:
        raise ValueError(
            f"differentially_private_aggregate: gradient leaf {i} has shape {g.shape}, with no "
            f"examples along a first axis; {_HINT}"
        )
    return g


def _squared_norms(rows: np.ndarray) -> np.ndarray:
    """Each row's sum of squares, in float64.

    One BLAS dot per row in float32 or float64 (accurate to about 1e-6 in float32, as
    `global_norm`), without copying the gradients; in float64 where that overflowed (float32
    from norms of about 1.8e19) or for narrower floats, whose own sums would round badly.
    """
    if isinstance(rows, Tracer):  # inside jit: in float64, every call
        wide = rows.astype(np.float64)
        return cnp.sum(wide * wide, axis=1)
    if rows.dtype in (np.float32, np.float64):
        with np.errstate(over="ignore"):
            squares = np.vecdot(rows, rows)
        if np.isfinite(squares).all():
            return squares.astype(np.float64)
    wide = rows.astype(np.float64)
    return np.vecdot(wide, wide)


def _check_params(params: Any, treedef: Any, grads: list[np.ndarray]) -> None:
    p_leaves, p_def = tree.flatten(params)
    if p_def != treedef:
        raise ValueError(
            "differentially_private_aggregate: the gradients must have the structure of "
            f"params:\n  params: {p_def!r}\n  grads:  {treedef!r}"
        )
    for i, (p, g) in enumerate(zip(p_leaves, grads, strict=True)):
        if tuple(np.shape(p)) != g.shape[1:]:
            raise ValueError(
                f"differentially_private_aggregate: gradient leaf {i} has shape {g.shape}, its "
                f"parameter {np.shape(p)}: expected ({g.shape[0]}, *{np.shape(p)}); {_HINT}"
            )
