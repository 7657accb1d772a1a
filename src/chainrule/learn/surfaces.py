"""Test surfaces for optimizers, and `descend`, which records an optimizer's path on one.

A `Surface` is a function of two variables written with `chainrule.numpy`, so it evaluates on
whole grids (for contour plots) and is differentiable (for the optimizers), with a start point,
its minima, a plotting window and a learning rate per optimizer that makes a readable path.
`descend` runs one of the `OPTIMIZERS` from a start point on any function of a vector and keeps
the points it visits (a bounded number of them); `chainrule.learn.plot.optimizer_paths` draws the paths. No matplotlib here.

>>> from chainrule.learn.surfaces import SURFACES, descend
>>> bowl = SURFACES["bowl"]
>>> path = descend(lambda p: bowl.fn(p[0], p[1]), bowl.start, "adam", lr=0.1, steps=500)
>>> path.converged, [round(float(v), 4) + 0.0 for v in path.final]
(True, [0.0, 0.0])
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy

import chainrule as cr
from chainrule import optim
from chainrule._validate import count, number, one_of

__all__ = [
    "DEFAULT_LR",
    "DIVERGENCE_RISE",
    "OPTIMIZERS",
    "SURFACES",
    "Path",
    "Surface",
    "descend",
    "make_optimizer",
]

OPTIMIZERS: tuple[str, ...] = ("gd", "momentum", "nesterov", "rmsprop", "adam")
"""The optimizer names `make_optimizer` and `descend` accept."""

DEFAULT_LR: dict[str, float] = {
    "gd": 0.1,
    "momentum": 0.1,
    "nesterov": 0.1,
    "rmsprop": 0.01,
    "adam": 0.1,
}
"""Learning rates of a `Surface` made without its own, per optimizer name."""


def make_optimizer(name: str, lr: float) -> optim.Optimizer[Any]:
    """The `chainrule.optim` optimizer called `name` in `OPTIMIZERS`, with learning rate `lr`.

    ``gd`` is plain gradient descent, ``momentum`` and ``nesterov`` add momentum 0.9 (heavy
    ball, and Nesterov's look-ahead form), ``rmsprop`` and ``adam`` use PyTorch's defaults.

    >>> make_optimizer("nesterov", 0.01)
    SGD(lr=0.01, momentum=0.9, dampening=0.0, nesterov=True, weight_decay=0.0, maximize=False)
    """
    one_of(name, "name", "make_optimizer", OPTIMIZERS)
    lr = number(lr, "lr", "make_optimizer", minimum=0.0, exclusive=True)
    if name == "gd":
        return optim.SGD(lr=lr)
    if name == "momentum":
        return optim.SGD(lr=lr, momentum=0.9)
    if name == "nesterov":
        return optim.SGD(lr=lr, momentum=0.9, nesterov=True)
    if name == "rmsprop":
        return optim.RMSprop(lr=lr)
    return optim.Adam(lr=lr)  # "adam"


@dataclass(frozen=True)
class Surface:
    """A function f(x, y) to minimise, with what is needed to draw and descend it.

    `fn` takes two floats or two arrays of the same shape (it is elementwise) and is written
    with `chainrule.numpy`, so ``cr.grad(surface.fn, argnums=(0, 1))`` works. `lr` maps each
    optimizer name to a learning rate that gives a readable path from `start`; names it
    leaves out get `DEFAULT_LR`.

    >>> surface = SURFACES["narrow_bowl"]
    >>> surface.formula, float(surface.fn(1.0, 1.0)), surface.lr["gd"]
    ('x**2 + 4*y**2', 5.0, 0.2)
    """

    name: str
    formula: str
    fn: Callable[[Any, Any], Any]
    start: tuple[float, float]
    minima: tuple[tuple[float, float], ...]
    xlim: tuple[float, float]
    ylim: tuple[float, float]
    lr: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_LR))

    def __post_init__(self) -> None:
        if not isinstance(self.lr, Mapping):
            raise TypeError(
                f"Surface {self.name!r}: lr must be a dict of optimizer name -> learning rate, "
                f"got {type(self.lr).__name__}"
            )
        unknown = sorted(set(self.lr) - set(OPTIMIZERS))
        if unknown:
            raise ValueError(
                f"Surface {self.name!r}: lr names unknown optimizers {unknown}; "
                f"the names are {', '.join(OPTIMIZERS)}"
            )
        lr = {
            name: number(
                self.lr.get(name, DEFAULT_LR[name]),
                f"lr[{name!r}]",
                f"Surface {self.name!r}",
                minimum=0.0,
                exclusive=True,
            )
            for name in OPTIMIZERS
        }
        object.__setattr__(self, "lr", lr)

    def __hash__(self) -> int:
        return hash((self.name, self.formula))

    def vector_fn(self, p: Any) -> Any:
        """`fn` of a vector ``p = (x, y)``, the form `descend` takes.

        >>> float(SURFACES["saddle"].vector_fn(numpy.array([2.0, 1.0])))
        3.0
        """
        return self.fn(p[0], p[1])

    def descend(
        self,
        optimizer: str = "gd",
        lr: float | None = None,
        steps: int = 200,
        start: Sequence[float] | None = None,
        tol: float = 1e-8,
    ) -> Path:
        """`descend` on this surface, from `start` (default `self.start`) with ``self.lr``.

        >>> path = SURFACES["rosenbrock"].descend("adam", steps=3000)
        >>> [round(float(v), 2) for v in path.final]
        [1.0, 1.0]
        """
        if lr is None:
            lr = self.lr[one_of(optimizer, "optimizer", "Surface.descend", OPTIMIZERS)]
        return descend(
            self.vector_fn, self.start if start is None else start, optimizer, lr, steps, tol
        )


@dataclass(frozen=True)
class Path:
    """The points an optimizer visited: ``points[0]`` is the start, ``values[i] = f(points[i])``.

    `converged` says the gradient norm fell below the tolerance. `diverged_at` is the step
    that diverged (None if none did): its point or value was not finite (that step is not
    recorded), or its value rose above the start's by more than ``DIVERGENCE_RISE`` times
    max(1, |f(start)|). A long run keeps at most `descend`'s ``max_points``: then `points`
    holds every `stride`-th step and the last one, and `step_numbers` says which.

    >>> import chainrule.numpy as np
    >>> path = descend(lambda p: np.sum(p ** 2), [1.0], "gd", lr=0.25, steps=2)
    >>> path.points.tolist(), path.values.tolist(), path.steps_taken, path.final
    ([[1.0], [0.5], [0.25]], [1.0, 0.25, 0.0625], 2, array([0.25]))
    """

    points: numpy.ndarray
    values: numpy.ndarray
    optimizer: str
    lr: float
    steps_taken: int
    converged: bool
    diverged_at: int | None = None
    stride: int = 1

    @property
    def diverged(self) -> bool:
        """Whether a step diverged (see `diverged_at`)."""
        return self.diverged_at is not None

    @property
    def final(self) -> numpy.ndarray:
        """The last point reached."""
        return self.points[-1]

    @property
    def step_numbers(self) -> numpy.ndarray:
        """The step at which each of `points` was reached (0 for the start).

        >>> path = descend(lambda p: p[0] ** 2, [1.0], "gd", lr=0.01, steps=9, max_points=4)
        >>> path.stride, path.step_numbers.tolist()
        (4, [0, 4, 8, 9])
        """
        steps = numpy.arange(len(self.points)) * self.stride
        steps[-1] = self.steps_taken
        return steps


DIVERGENCE_RISE = 1e10
"""A value this many times max(1, |f(start)|) above the start's means `descend` diverged."""


def descend(
    fn: Callable[[Any], Any],
    start: Sequence[float] | numpy.ndarray | float,
    optimizer: str = "gd",
    lr: float = 0.1,
    steps: int = 100,
    tol: float = 1e-8,
    max_points: int = 10_000,
) -> Path:
    """Run `optimizer` on the scalar function `fn` of a float64 vector, from `start`.

    Takes up to `steps` steps. It stops early when the gradient norm falls below `tol`
    (``converged``), or when a step diverges (see `Path`: the learning rate is too large
    for this function). It keeps every point while there are at most `max_points`, then
    every second one, every fourth, ...: memory stays bounded however many steps are taken.

    >>> path = descend(lambda p: p[0] ** 2, [5.0], "gd", lr=0.1, steps=3)
    >>> path.points[:, 0].tolist()
    [5.0, 4.0, 3.2, 2.56]
    >>> descend(lambda p: p[0] ** 2, [5.0], "gd", lr=2.0, steps=100).diverged_at
    11
    """
    if not callable(fn):
        raise TypeError(f"descend: fn must be a function of one vector, got {type(fn).__name__}")
    one_of(optimizer, "optimizer", "descend", OPTIMIZERS)
    lr = number(lr, "lr", "descend", minimum=0.0, exclusive=True)
    steps = count(steps, "steps", "descend")
    tol = number(tol, "tol", "descend", minimum=0.0)
    max_points = count(max_points, "max_points", "descend", minimum=2)
    point = _check_start(start)

    opt = make_optimizer(optimizer, lr)
    state = opt.init(point)
    value_and_grad = cr.value_and_grad(fn)
    with numpy.errstate(all="ignore"):  # a non-finite value is reported below instead
        value, grad = value_and_grad(point)
    if not numpy.isfinite(value):
        raise ValueError(f"fn is not finite at the start point {point.tolist()}: {value}")
    ceiling = float(value) + DIVERGENCE_RISE * max(1.0, abs(float(value)))
    points, values = [point], [float(value)]
    last = (point, float(value))
    taken, stride = 0, 1
    converged, diverged_at = False, None
    with numpy.errstate(all="ignore"):
        for step in range(1, steps + 1):
            converged = bool(numpy.linalg.norm(grad) < tol)
            if converged:
                break
            point, state = opt.step(numpy.asarray(grad, dtype=numpy.float64), state, point)
            value, grad = value_and_grad(point)
            if not (numpy.all(numpy.isfinite(point)) and numpy.isfinite(value)):
                diverged_at = step
                break
            taken, last = step, (point, float(value))
            if step % stride == 0:
                points.append(point)
                values.append(float(value))
                if len(points) > max_points - 1:  # room for the last point
                    points, values, stride = points[::2], values[::2], 2 * stride
            if value > ceiling:
                diverged_at = step
                break
        else:
            converged = bool(numpy.linalg.norm(grad) < tol)
    if taken % stride:
        points.append(last[0])
        values.append(last[1])
    return Path(
        points=numpy.array(points),
        values=numpy.array(values),
        optimizer=optimizer,
        lr=lr,
        steps_taken=taken,
        converged=converged,
        diverged_at=diverged_at,
        stride=stride,
    )


def _check_start(start: Any) -> numpy.ndarray:
    try:
        point = numpy.array(start, dtype=numpy.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"start must be a point, a sequence of numbers; got {start!r}") from exc
    if point.ndim == 0:
        point = point.reshape(1)
    if point.ndim != 1 or point.size == 0:
        raise ValueError(
            f"start must be a point, a flat sequence of numbers; got shape {point.shape}"
        )
    if not numpy.all(numpy.isfinite(point)):
        raise ValueError(f"start must be finite, got {point.tolist()}")
    return point


def _bowl(x: Any, y: Any) -> Any:
    return x**2 + 2 * y**2


def _narrow_bowl(x: Any, y: Any) -> Any:
    return x**2 + 4 * y**2


def _rosenbrock(x: Any, y: Any) -> Any:
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


def _himmelblau(x: Any, y: Any) -> Any:
    return (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2


def _saddle(x: Any, y: Any) -> Any:
    return x**2 - y**2


def _lrs(gd: float, momentum: float, nesterov: float, rmsprop: float, adam: float) -> dict:
    return dict(zip(OPTIMIZERS, (gd, momentum, nesterov, rmsprop, adam), strict=True))


SURFACES: dict[str, Surface] = {
    s.name: s
    for s in (
        Surface(
            "bowl",
            "x**2 + 2*y**2",
            _bowl,
            start=(-4.0, 3.0),
            minima=((0.0, 0.0),),
            xlim=(-5.0, 5.0),
            ylim=(-4.0, 4.0),
            lr=_lrs(0.1, 0.02, 0.02, 0.05, 0.1),
        ),
        Surface(
            "narrow_bowl",
            "x**2 + 4*y**2",
            _narrow_bowl,
            start=(-4.0, 2.0),
            minima=((0.0, 0.0),),
            xlim=(-5.0, 5.0),
            ylim=(-3.0, 3.0),
            lr=_lrs(0.2, 0.02, 0.02, 0.05, 0.1),
        ),
        Surface(
            "rosenbrock",
            "(1 - x)**2 + 100*(y - x**2)**2",
            _rosenbrock,
            start=(-1.2, 1.0),
            minima=((1.0, 1.0),),
            xlim=(-2.0, 2.0),
            ylim=(-1.0, 3.0),
            lr=_lrs(1e-3, 5e-4, 5e-4, 0.01, 0.05),
        ),
        Surface(
            "himmelblau",
            "(x**2 + y - 11)**2 + (x + y**2 - 7)**2",
            _himmelblau,
            start=(0.0, 0.0),
            minima=(
                (3.0, 2.0),
                (-2.805118086952745, 3.131312518250573),
                (-3.779310253377747, -3.2831859912861696),
                (3.5844283403304917, -1.8481265269644034),
            ),
            xlim=(-5.0, 5.0),
            ylim=(-5.0, 5.0),
            lr=_lrs(0.01, 0.002, 0.002, 0.02, 0.1),
        ),
        Surface(
            "saddle",
            "x**2 - y**2",
            _saddle,
            start=(-2.0, 0.05),
            minima=(),
            xlim=(-3.0, 3.0),
            ylim=(-3.0, 3.0),
            lr=_lrs(0.1, 0.02, 0.02, 0.02, 0.05),
        ),
    )
}
"""The named test surfaces: bowl, narrow_bowl, rosenbrock, himmelblau and saddle."""
