"""Optimizers with PyTorch's update formulas, as pure functions of (grads, state, params).

An optimizer holds hyper-parameters only. ``opt.init(params)`` makes its state and
``opt.update(grads, state, params)`` returns ``(new_params, new_state)``, changing none of
its arguments. ``params`` and ``grads`` are any pytree of float arrays (an ``nn.Module``, a
dict...), with the same structure.

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
>>> params, state = opt.update({"w": np.array([0.5, -1.0]), "b": np.array(2.0)}, state, params)
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

Speed: one flatten of params and grads per update, a handful of whole-array NumPy
operations per leaf (into fresh temporaries, never into the inputs), Python floats as
constants so float32 stays float32.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Generic, NamedTuple, TypeVar, cast

import numpy as np

from chainrule import tree

from .schedules import count, real

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
]

LearningRate = float | Callable[[int], float]
"""A learning rate: a number, or a schedule ``step -> lr`` with `step` counting from 0."""

Buffers = Sequence[np.ndarray | None]
_S = TypeVar("_S", bound=tuple)


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
    its options use (`_uses`) and updates one leaf (`_leaf`).

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

    def update(self, grads: Any, state: _S, params: Any) -> tuple[Any, _S]:
        """One step: ``(new_params, new_state)`` from the gradients of the loss at `params`.

        >>> import numpy as np
        >>> from chainrule import optim
        >>> opt = optim.SGD(lr=0.5)
        >>> params = [np.array([1.0])]
        >>> params, state = opt.update([np.array([2.0])], opt.init(params), params)
        >>> params, int(state.step)
        ([array([0.])], 1)
        """
        p_leaves, treedef = tree.flatten(params)
        g_leaves, g_def = tree.flatten(grads)
        if g_def != treedef:
            raise ValueError(
                f"grads must have the structure of params:\n  params: {treedef!r}\n"
                f"  grads:  {g_def!r}"
            )
        step, columns = self._check_state(state, len(p_leaves))
        lr = self._lr_at(step)
        names = self._state._fields[1:]
        new_params = []
        new_columns: list[list[np.ndarray]] = [[] for _ in columns]
        for i, (p, g) in enumerate(zip(p_leaves, g_leaves, strict=True)):
            p, g = _param(i, p), _grad(i, g, p)
            buffers = [
                _buffer(name, i, col[i], p) if col else None
                for name, col in zip(names, columns, strict=True)
            ]
            scalar = p.ndim == 0  # 0-d leaves as 1-element arrays, so `out=` works
            if scalar:
                p, g = p.reshape(1), g.reshape(1)
                buffers = [None if b is None else b.reshape(1) for b in buffers]
            if self.maximize:
                g = -g
            if self.weight_decay and not self._decoupled:
                decayed = p * self.weight_decay  # torch: grad.add(param, alpha=weight_decay)
                decayed += g
                g = decayed
            new_p, *new_buffers = self._leaf(step, lr, p, g, buffers)
            new_p = cast(np.ndarray, new_p)
            new_params.append(new_p.reshape(()) if scalar else new_p)
            for col, b in zip(new_columns, new_buffers, strict=True):
                if b is not None:
                    col.append(b.reshape(()) if scalar else b)
        new_state = self._state(np.array(step + 1, dtype=np.int64), *map(tuple, new_columns))
        return treedef.unflatten(new_params), cast(_S, new_state)

    # --- what a subclass provides --------------------------------------------------------

    def _uses(self) -> tuple[bool, ...]:
        """Which buffers (the state fields after ``step``) the options use."""
        raise NotImplementedError

    def _start(self, name: str, p: np.ndarray) -> np.ndarray:
        """The initial value of buffer `name` for parameter `p`."""
        return np.zeros_like(p)

    def _leaf(
        self, step: int, lr: float, p: np.ndarray, g: np.ndarray, buffers: Buffers
    ) -> tuple[np.ndarray | None, ...]:
        """``(new_p, *new_buffers)`` for one leaf; unused buffers are None in and out.

        `g` already has maximize and (coupled) weight decay applied. Never write into
        `p`, `g` or the buffers: they may be the caller's arrays.
        """
        raise NotImplementedError

    # --- checks --------------------------------------------------------------------------

    def _check(self, bounds: dict[str, tuple[float, float]], flags: Sequence[str] = ()) -> None:
        """Validate and normalise the hyper-parameters (numbers to Python floats)."""
        if not callable(self.lr):
            object.__setattr__(self, "lr", real("lr", self.lr))
        for name, (low, high) in bounds.items():
            object.__setattr__(self, name, real(name, getattr(self, name), low=low, high=high))
        for name in (*flags, "maximize"):
            value = getattr(self, name)
            if not isinstance(value, (bool, np.bool_)):
                raise TypeError(f"{name} must be True or False, got {value!r}")
            object.__setattr__(self, name, bool(value))

    def _lr_at(self, step: int) -> float:
        if not callable(self.lr):
            return self.lr
        return real(f"lr (the schedule's value at step {step})", self.lr(step))

    def _check_state(self, state: Any, n: int) -> tuple[int, list[tuple[np.ndarray, ...]]]:
        """The update count and the buffer columns, once the state is known to fit."""
        hint = "make it with opt.init(params) using this optimizer and these parameters"
        if not isinstance(state, self._state):
            raise TypeError(
                f"{type(self).__name__} needs a {self._state.__name__}, got "
                f"{type(state).__name__}: {hint} (restore a saved state with "
                "cr.tree.unflatten(cr.tree.structure(opt.init(params)), arrays))"
            )
        step = count("state.step", state.step)
        columns = list(state[1:])
        for name, col, used in zip(self._state._fields[1:], columns, self._uses(), strict=True):
            if len(col) != (n if used else 0):
                raise ValueError(
                    f"state.{name} holds {len(col)} arrays, expected {n if used else 0} for "
                    f"{n} parameter arrays with these options: {hint}"
                )
        return step, columns


def _param(i: int, x: Any) -> np.ndarray:
    p = np.asarray(x)
    if p.dtype.kind != "f":
        raise TypeError(
            f"parameter leaf {i} has dtype {p.dtype}: optimizers update float arrays "
            "(convert it with .astype(np.float32), or make it a static field)"
        )
    return p


def _grad(i: int, x: Any, p: np.ndarray) -> np.ndarray:
    g = np.asarray(x)
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


def _lerp(a: np.ndarray, b: np.ndarray, w: float) -> np.ndarray:
    """``a + w * (b - a)``, rounded as torch's ``lerp`` rounds it."""
    d = b - a
    if w < 0.5:
        d *= w
        d += a
    else:
        d *= 1.0 - w
        np.subtract(b, d, out=d)
    return d


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
    ...     params, state = opt.update({"w": np.array([1.0, -1.0])}, state, params)
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
        inf = float("inf")
        self._check(
            {"momentum": (0.0, inf), "dampening": (-inf, inf), "weight_decay": (0.0, inf)},
            ("nesterov",),
        )
        if self.nesterov and (self.momentum <= 0.0 or self.dampening != 0.0):
            raise ValueError(
                "Nesterov momentum requires a momentum > 0 and zero dampening, got "
                f"momentum={self.momentum}, dampening={self.dampening}"
            )

    def _uses(self) -> tuple[bool, ...]:
        return (self.momentum != 0.0,)

    def _leaf(
        self, step: int, lr: float, p: np.ndarray, g: np.ndarray, buffers: Buffers
    ) -> tuple[np.ndarray | None, ...]:
        (buf,) = buffers
        if buf is not None:
            if step == 0:
                buf = np.array(g, copy=True)
            else:
                buf = buf * self.momentum
                buf += g if self.dampening == 0.0 else g * (1.0 - self.dampening)
            if self.nesterov:  # torch: grad.add(buf, alpha=momentum)
                ahead = buf * self.momentum
                ahead += g
                g = ahead
            else:
                g = buf
        out = g * lr
        np.subtract(p, out, out=out)  # torch: param.add_(grad, alpha=-lr)
        return out, buf


@dataclasses.dataclass(frozen=True)
class RMSprop(Optimizer[RMSpropState]):
    """Divide by a running root mean square of the gradient, as ``torch.optim.RMSprop``.

    ``square_avg = alpha * square_avg + (1 - alpha) * g²``; centered subtracts the square
    of the running mean gradient; ``p -= lr * g / (sqrt(square_avg) + eps)``, or with
    momentum ``buf = momentum * buf + g / (sqrt(...) + eps)`` and ``p -= lr * buf``.

    >>> import numpy as np
    >>> from chainrule import optim
    >>> opt = optim.RMSprop(lr=0.01, alpha=0.75)
    >>> params, state = opt.update([np.array([3.0])], opt.init([np.ones(1)]), [np.ones(1)])
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
        inf = float("inf")
        self._check(
            {
                "alpha": (0.0, inf),
                "eps": (0.0, inf),
                "weight_decay": (0.0, inf),
                "momentum": (0.0, inf),
            },
            ("centered",),
        )

    def _uses(self) -> tuple[bool, ...]:
        return (True, self.centered, self.momentum > 0.0)

    def _leaf(
        self, step: int, lr: float, p: np.ndarray, g: np.ndarray, buffers: Buffers
    ) -> tuple[np.ndarray | None, ...]:
        square_avg, grad_avg, buf = buffers
        square_avg = cast(np.ndarray, square_avg) * self.alpha
        avg = g * (1.0 - self.alpha)  # torch: addcmul_(grad, grad, value=1 - alpha)
        avg *= g
        square_avg += avg
        if grad_avg is not None:
            grad_avg = _lerp(grad_avg, g, 1.0 - self.alpha)
            np.multiply(grad_avg, grad_avg, out=avg)
            np.subtract(square_avg, avg, out=avg)
            np.sqrt(avg, out=avg)
        else:
            np.sqrt(square_avg, out=avg)
        avg += self.eps
        if buf is not None:
            step_ = g / avg  # torch: buf.mul_(momentum).addcdiv_(grad, avg)
            buf = buf * self.momentum
            buf += step_
            np.multiply(buf, lr, out=step_)
            return np.subtract(p, step_, out=step_), square_avg, grad_avg, buf
        out = g * -lr  # torch: param.addcdiv_(grad, avg, value=-lr)
        out /= avg
        out += p
        return out, square_avg, grad_avg, None


@dataclasses.dataclass(frozen=True)
class Adagrad(Optimizer[AdagradState]):
    """Divide by the root of the summed squared gradients, as ``torch.optim.Adagrad``.

    ``sum += g²``, ``p -= lr / (1 + step * lr_decay) * g / (sqrt(sum) + eps)``, with
    `step` counting earlier updates and ``sum`` starting at `initial_accumulator_value`.

    >>> import numpy as np
    >>> from chainrule import optim
    >>> opt = optim.Adagrad(lr=0.5)
    >>> params, state = opt.update([np.array([-4.0])], opt.init([np.ones(1)]), [np.ones(1)])
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
        inf = float("inf")
        self._check(
            {
                "lr_decay": (0.0, inf),
                "weight_decay": (0.0, inf),
                "initial_accumulator_value": (0.0, inf),
                "eps": (0.0, inf),
            }
        )

    def _uses(self) -> tuple[bool, ...]:
        return (True,)

    def _start(self, name: str, p: np.ndarray) -> np.ndarray:
        return np.full_like(p, self.initial_accumulator_value)

    def _leaf(
        self, step: int, lr: float, p: np.ndarray, g: np.ndarray, buffers: Buffers
    ) -> tuple[np.ndarray | None, ...]:
        clr = lr / (1.0 + step * self.lr_decay)
        total = g * g  # torch: state_sum.addcmul_(grad, grad, value=1)
        total += cast(np.ndarray, buffers[0])
        std = np.sqrt(total)
        std += self.eps
        out = g * -clr  # torch: param.addcdiv_(grad, std, value=-clr)
        out /= std
        out += p
        return out, total


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
    >>> params, state = opt.update([np.array([-4.0])], opt.init([np.ones(1)]), [np.ones(1)])
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
        inf = float("inf")
        self._check({"eps": (0.0, inf), "weight_decay": (0.0, inf)}, ("amsgrad",))
        betas = self.betas
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise TypeError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        pair = tuple(real(f"betas[{i}]", b) for i, b in enumerate(betas))
        for i, b in enumerate(pair):
            if b >= 1.0:
                raise ValueError(f"betas[{i}] must be a finite number in [0.0, 1.0), got {b}")
        object.__setattr__(self, "betas", pair)

    def _uses(self) -> tuple[bool, ...]:
        return (True, True, self.amsgrad)

    def _leaf(
        self, step: int, lr: float, p: np.ndarray, g: np.ndarray, buffers: Buffers
    ) -> tuple[np.ndarray | None, ...]:
        exp_avg, exp_avg_sq, max_exp_avg_sq = buffers
        beta1, beta2 = self.betas
        if self._decoupled and self.weight_decay:
            p = p * (1.0 - lr * self.weight_decay)  # torch: param.mul_(1 - lr * weight_decay)
        exp_avg = _lerp(cast(np.ndarray, exp_avg), g, 1.0 - beta1)
        exp_avg_sq = cast(np.ndarray, exp_avg_sq) * beta2
        # One scratch array, which ends as the new parameter: three fresh arrays per leaf in
        # all (the outputs), since allocation is a large part of a step's cost on small models.
        out = g * (1.0 - beta2)  # torch: addcmul_(grad, grad, value=1 - beta2)
        out *= g
        exp_avg_sq += out
        if max_exp_avg_sq is not None:
            max_exp_avg_sq = np.maximum(max_exp_avg_sq, exp_avg_sq)
        # Bias corrections as Python floats, as torch computes them.
        t = step + 1
        step_size = lr / (1.0 - beta1**t)
        np.sqrt(exp_avg_sq if max_exp_avg_sq is None else max_exp_avg_sq, out=out)
        out /= (1.0 - beta2**t) ** 0.5
        out += self.eps  # the denominator
        np.divide(exp_avg, out, out=out)  # torch: param.addcdiv_(exp_avg, denom, -step_size)
        out *= -step_size
        out += p
        return out, exp_avg, exp_avg_sq, max_exp_avg_sq


@dataclasses.dataclass(frozen=True)
class AdamW(Adam):
    """Adam with decoupled weight decay, as ``torch.optim.AdamW``.

    The parameter shrinks by ``1 - lr * weight_decay`` before the Adam step, instead of
    weight decay entering the gradient (and so the moments).

    >>> import numpy as np
    >>> from chainrule import optim
    >>> opt = optim.AdamW(lr=0.1, weight_decay=0.5)
    >>> params, state = opt.update([np.array([-4.0])], opt.init([np.ones(1)]), [np.ones(1)])
    >>> params
    [array([1.05])]
    """

    _: dataclasses.KW_ONLY
    weight_decay: float = 1e-2
    _decoupled: ClassVar[bool] = True
