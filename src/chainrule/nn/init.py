"""Parameter initialisers: plain NumPy arrays (float32 by default), drawn reproducibly.

Formulas, defaults and layouts are those of ``torch.nn.init``: a ``Linear`` weight is
``(out, in)`` (``x @ W.T + b``), a convolution's ``(out, in, *kernel)``. Hence, for a shape
``(a, b, *k)``::

    fan_in  = b * prod(k)        fan_out = a * prod(k)

(for a 2-D shape simply ``fan_out, fan_in = shape``). Fans need at least 2 dimensions.

Randomness is explicit: `rng` is an int seed or a ``numpy.random.Generator`` (which is
advanced, so successive calls differ); ``None`` means a fresh, unseeded generator. Draws
are made in float64 and rounded to `dtype`, so a seed gives the same numbers in any dtype.

>>> from chainrule.nn import init
>>> w = init.xavier_uniform((256, 128), rng=0)
>>> w.dtype, bool(abs(w).max() <= (6 / (256 + 128)) ** 0.5)
(dtype('float32'), True)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from chainrule._seed import draws_from
from chainrule._validate import count, float_dtype, number, one_of

__all__ = [
    "calculate_gain", "kaiming_normal", "kaiming_uniform", "normal", "uniform",
    "xavier_normal", "xavier_uniform", "zeros",
]  # fmt: skip

Shape = int | Sequence[int]
Rng = int | np.random.Generator | None

_LINEAR = (
    "linear", "conv1d", "conv2d", "conv3d",
    "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
)  # fmt: skip
_NONLINEARITIES = (*_LINEAR, "sigmoid", "tanh", "relu", "leaky_relu", "selu")


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The gain that keeps activations' variance stable through `nonlinearity` (PyTorch's).

    1 for linear layers and sigmoid, 5/3 for tanh, √2 for relu, ``√(2 / (1 + slope²))`` for
    leaky_relu (`param` is the slope, 0.01 by default) and 3/4 for selu.

    >>> print(calculate_gain("tanh"), round(calculate_gain("leaky_relu", 0.2), 6))
    1.6666666666666667 1.38675
    """
    one_of(nonlinearity, "nonlinearity", "calculate_gain", _NONLINEARITIES)
    if nonlinearity in _LINEAR or nonlinearity == "sigmoid":
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3.0
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else number(param, "negative_slope", "calculate_gain")
        return math.sqrt(2.0 / (1.0 + slope * slope))
    return 3.0 / 4.0  # selu


def _shape(shape: Shape) -> tuple[int, ...]:
    if not isinstance(shape, Iterable):
        return (count(shape, "shape", "init", minimum=0),)
    return tuple(count(d, f"shape[{i}]", "init", minimum=0) for i, d in enumerate(shape))


def _dtype(dtype: Any) -> np.dtype[Any]:
    return float_dtype(dtype, "dtype", "init")


def _fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight laid out ``(out, in, *kernel)`` (see module doc)."""
    if len(shape) < 2:
        raise ValueError(
            f"init: fan in and fan out need a shape with at least 2 dimensions, got {shape}."
        )
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def _fan(shape: tuple[int, ...], mode: str) -> int:
    one_of(mode, "mode", "init", ("fan_in", "fan_out"))
    fan_in, fan_out = _fans(shape)
    return fan_in if mode == "fan_in" else fan_out


def _draw_uniform(shape: Shape, low: float, high: float, rng: Rng, dtype: Any) -> np.ndarray:
    dims, dt = _shape(shape), _dtype(dtype)
    return draws_from(rng, "init", "rng").uniform(low, high, dims).astype(dt)


def _draw_normal(shape: Shape, mean: float, std: float, rng: Rng, dtype: Any) -> np.ndarray:
    dims, dt = _shape(shape), _dtype(dtype)
    return draws_from(rng, "init", "rng").normal(mean, std, dims).astype(dt)


def zeros(shape: Shape, *, dtype: Any = np.float32) -> np.ndarray:
    """An array of zeros (biases).

    >>> zeros((2, 3))
    array([[0., 0., 0.],
           [0., 0., 0.]], dtype=float32)
    """
    return np.zeros(_shape(shape), _dtype(dtype))


def normal(
    shape: Shape, *, mean: float = 0.0, std: float = 1.0, rng: Rng = None, dtype: Any = np.float32
) -> np.ndarray:
    """Draws from ``N(mean, std²)``.

    >>> normal((2,), std=0.1, rng=0)
    array([ 0.01257302, -0.01321049], dtype=float32)
    """
    mean, std = number(mean, "mean", "normal"), number(std, "std", "normal", minimum=0.0)
    return _draw_normal(shape, mean, std, rng, dtype)


def uniform(
    shape: Shape, *, low: float = 0.0, high: float = 1.0, rng: Rng = None, dtype: Any = np.float32
) -> np.ndarray:
    """Draws from the uniform distribution on ``[low, high)``.

    >>> uniform((3,), low=-1.0, high=1.0, rng=0)
    array([ 0.27392337, -0.46042657, -0.918053  ], dtype=float32)
    """
    low, high = number(low, "low", "uniform"), number(high, "high", "uniform")
    if not low <= high:
        raise ValueError(f"uniform: need low <= high, got low={low!r}, high={high!r}.")
    return _draw_uniform(shape, low, high, rng, dtype)


def xavier_uniform(
    shape: Shape, *, gain: float = 1.0, rng: Rng = None, dtype: Any = np.float32
) -> np.ndarray:
    """Glorot uniform: ``U(-a, a)`` with ``a = gain √(6 / (fan_in + fan_out))``.

    Keeps the variance of activations and of gradients about constant across layers.

    >>> w = xavier_uniform((100, 300), rng=0)
    >>> print(w.shape, round(float(w.std()), 2))  # gain * sqrt(2 / 400)
    (100, 300) 0.07
    """
    dims, gain = _shape(shape), number(gain, "gain", "xavier_uniform")
    fan_in, fan_out = _fans(dims)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out)) if fan_in + fan_out else 0.0
    return _draw_uniform(dims, -bound, bound, rng, dtype)


def xavier_normal(
    shape: Shape, *, gain: float = 1.0, rng: Rng = None, dtype: Any = np.float32
) -> np.ndarray:
    """Glorot normal: ``N(0, std²)`` with ``std = gain √(2 / (fan_in + fan_out))``.

    >>> w = xavier_normal((100, 300), rng=0)
    >>> print(round(float(w.std()), 2))
    0.07
    """
    dims, gain = _shape(shape), number(gain, "gain", "xavier_normal")
    fan_in, fan_out = _fans(dims)
    std = gain * math.sqrt(2.0 / (fan_in + fan_out)) if fan_in + fan_out else 0.0
    return _draw_normal(dims, 0.0, std, rng, dtype)


def _kaiming_std(dims: tuple[int, ...], a: float, mode: str, nonlinearity: str) -> float:
    """``gain / √fan``: He et al.'s standard deviation for ReLU-like layers."""
    fan = _fan(dims, mode)
    gain = calculate_gain(nonlinearity, a)
    return gain / math.sqrt(fan) if fan else 0.0


def kaiming_uniform(
    shape: Shape,
    *,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    rng: Rng = None,
    dtype: Any = np.float32,
) -> np.ndarray:
    """He uniform: ``U(-b, b)`` with ``b = gain √(3 / fan)``; `a` is leaky_relu's slope.

    `mode` ``"fan_in"`` preserves the variance of activations, ``"fan_out"`` of gradients.

    >>> w = kaiming_uniform((64, 512), nonlinearity="relu", rng=0)  # (out, in)
    >>> print(round(float(w.std()), 3))  # sqrt(2 / 512)
    0.062
    """
    dims = _shape(shape)
    bound = math.sqrt(3.0) * _kaiming_std(dims, a, mode, nonlinearity)
    return _draw_uniform(dims, -bound, bound, rng, dtype)


def kaiming_normal(
    shape: Shape,
    *,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    rng: Rng = None,
    dtype: Any = np.float32,
) -> np.ndarray:
    """He normal: ``N(0, std²)`` with ``std = gain / √fan``; `a` is leaky_relu's slope.

    >>> w = kaiming_normal((64, 512), nonlinearity="relu", rng=0)  # (out, in)
    >>> print(round(float(w.std()), 3))  # sqrt(2 / 512)
    0.062
    """
    dims = _shape(shape)
    std = _kaiming_std(dims, a, mode, nonlinearity)
    return _draw_normal(dims, 0.0, std, rng, dtype)
