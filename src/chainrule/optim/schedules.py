"""Learning-rate schedules: callables ``step -> lr``, with `step` counting updates from 0.

An optimizer given a schedule as its ``lr`` evaluates it at the number of updates done so
far, so the first update uses ``schedule(0)``. PyTorch schedulers instead *advance* once per
``scheduler.step()`` call, made after each ``optimizer.step()``; ``schedule(k)`` here is the
learning rate a torch optimizer holds after ``k`` calls to ``scheduler.step()``, that is
the rate of its ``k``-th update counting from 0. The values are the closed forms of torch's
schedulers (which compute the same numbers recursively, equal to about 1e-15).

Inside `jit` the scalars of an optimizer's update are one line of the program, which calls
the schedule with each call's own step (a number). Under a `vmap` or `grad` taken inside
the `jit`, the step is a traced value instead, and these schedules, written with
`chainrule.numpy`, are recorded formula by formula; a schedule of your own must then do
the same (``np.where``, not a Python ``if`` on the step, which raises).

>>> from chainrule.optim import schedules
>>> warm = schedules.linear_warmup(schedules.cosine(0.1, total_steps=4), warmup_steps=2)
>>> [round(warm(k), 4) for k in range(8)]
[0.0, 0.05, 0.1, 0.0854, 0.05, 0.0146, 0.0, 0.0]
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import chainrule.numpy as cnp
from chainrule._validate import count, number
from chainrule.core.trace import Tracer

__all__ = ["Schedule", "constant", "cosine", "exponential", "linear_warmup", "step"]


class Schedule:
    """A named learning-rate function of the update count; prints as the call that made it.

    Any callable ``step -> float`` works as an optimizer's ``lr``; this class adds a
    readable repr (so optimizers print their schedule) and checks the step.

    >>> from chainrule.optim.schedules import Schedule
    >>> halving = Schedule("halving", lambda k: 1.0 / 2**k, lr=1.0)
    >>> halving, halving(3)
    (halving(lr=1.0), 0.125)
    """

    __slots__ = ("_args", "_fn", "_name")

    def __init__(self, name: str, fn: Callable[[int], float], **args: Any) -> None:
        self._name = name
        self._fn = fn
        self._args = args

    def __call__(self, step: Any) -> Any:
        """The rate at `step` (a float), or a traced value when `step` is traced (`jit`)."""
        if isinstance(step, Tracer):
            return self._fn(step)  # type: ignore[arg-type]
        return float(self._fn(count(step, "step", self._name, minimum=0)))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._args.items())
        return f"{self._name}({args})"


def constant(lr: float) -> Schedule:
    """The same rate at every step.

    >>> from chainrule.optim import schedules
    >>> schedules.constant(0.1)(1000)
    0.1
    """
    rate = number(lr, "lr", "constant", minimum=0.0)
    return Schedule("constant", lambda k: rate, lr=rate)


def step(lr: float, step_size: int, gamma: float = 0.1) -> Schedule:
    """Multiply the rate by `gamma` every `step_size` updates (torch's ``StepLR``).

    >>> from chainrule.optim import schedules
    >>> s = schedules.step(1.0, step_size=2, gamma=0.5)
    >>> [s(k) for k in range(6)]
    [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]
    """
    rate = number(lr, "lr", "step", minimum=0.0)
    size = count(step_size, "step_size", "step")
    factor = number(gamma, "gamma", "step", minimum=0.0)
    return Schedule(
        "step", lambda k: rate * factor ** (k // size), lr=rate, step_size=size, gamma=factor
    )


def exponential(lr: float, gamma: float) -> Schedule:
    """Multiply the rate by `gamma` after every update (torch's ``ExponentialLR``).

    >>> from chainrule.optim import schedules
    >>> s = schedules.exponential(1.0, gamma=0.5)
    >>> [s(k) for k in range(4)]
    [1.0, 0.5, 0.25, 0.125]
    """
    rate = number(lr, "lr", "exponential", minimum=0.0)
    factor = number(gamma, "gamma", "exponential", minimum=0.0)
    return Schedule("exponential", lambda k: rate * factor**k, lr=rate, gamma=factor)


def cosine(lr: float, total_steps: int, min_lr: float = 0.0) -> Schedule:
    """Half a cosine from `lr` down to `min_lr` over `total_steps`, then `min_lr` for good.

    Torch's ``CosineAnnealingLR(T_max=total_steps, eta_min=min_lr)`` in closed form,
    ``min_lr + (lr - min_lr) * (1 + cos(pi * step / total_steps)) / 2``, up to
    `total_steps`; torch keeps following the cosine back up after that, this stays at
    `min_lr`, which is what a run planned for `total_steps` wants.

    >>> from chainrule.optim import schedules
    >>> s = schedules.cosine(1.0, total_steps=4, min_lr=0.2)
    >>> [round(s(k), 4) for k in range(6)]
    [1.0, 0.8828, 0.6, 0.3172, 0.2, 0.2]
    """
    rate = number(lr, "lr", "cosine", minimum=0.0)
    total = count(total_steps, "total_steps", "cosine")
    low = number(min_lr, "min_lr", "cosine", minimum=0.0)

    def rate_at(k: Any) -> Any:
        return low + (rate - low) * (1.0 + cnp.cos(math.pi * cnp.minimum(k, total) / total)) / 2.0

    return Schedule("cosine", rate_at, lr=rate, total_steps=total, min_lr=low)


def linear_warmup(
    schedule_or_lr: Callable[[int], float] | float, warmup_steps: int, start_factor: float = 0.0
) -> Schedule:
    """Ramp linearly from ``start_factor * lr`` to ``lr`` over `warmup_steps`, then the schedule.

    ``lr`` is the wrapped schedule's first value (or the number given); after the warmup the
    wrapped schedule starts again from its own step 0. This is torch's
    ``SequentialLR([LinearLR(start_factor, total_iters=warmup_steps), schedule],
    milestones=[warmup_steps])`` (torch needs ``start_factor > 0``; 0 is allowed here).

    >>> from chainrule.optim import schedules
    >>> s = schedules.linear_warmup(1.0, warmup_steps=4, start_factor=0.2)
    >>> [round(s(k), 2) for k in range(6)]
    [0.2, 0.4, 0.6, 0.8, 1.0, 1.0]
    """
    after: Callable[[int], float] = (
        schedule_or_lr if callable(schedule_or_lr) else constant(schedule_or_lr)
    )
    warmup = count(warmup_steps, "warmup_steps", "linear_warmup", minimum=0)
    start = number(start_factor, "start_factor", "linear_warmup", minimum=0.0, maximum=1.0)

    def rate_at(k: Any) -> Any:
        ramp = float(after(0)) * (start + (1.0 - start) * k / max(warmup, 1))
        return cnp.where(k >= warmup, after(cnp.maximum(k - warmup, 0)), ramp)  # jit-safe `if`

    return Schedule(
        "linear_warmup", rate_at, schedule_or_lr=after, warmup_steps=warmup, start_factor=start
    )
