"""Activation functions: differentiable to any order, finite for any input, float32 kept.

Each one matches ``torch.nn.functional``'s function of the same name, derivatives included,
and is written with stable building blocks so that large ``|x|`` never overflows:

- ``sigmoid`` is ``expit`` (its derivative ``expit(x) expit(-x)`` has no cancellation);
- ``softplus`` is ``logaddexp(βx, 0) / β``, the identity above ``threshold`` (as PyTorch);
- ``gelu`` is ``x Φ(x)`` with SciPy's ``ndtr`` (accurate far into the left tail), and its
  tanh approximation ``0.5 x (1 + tanh(u)) = x expit(2u)``;
- ``softmax`` / ``log_softmax`` normalise over `axis` (the last one by default).

Kinks follow PyTorch: ``relu'(0) = 0`` and ``leaky_relu'(0) = negative_slope``.

>>> import chainrule as cr
>>> import chainrule.numpy as np
>>> from chainrule.nn import functional as F
>>> x = np.array([-1000.0, 0.0, 1000.0], dtype=np.float32)
>>> F.sigmoid(x), cr.elementwise_grad(F.sigmoid)(x)
(array([0. , 0.5, 1. ], dtype=float32), array([0.  , 0.25, 0.  ], dtype=float32))
"""

from __future__ import annotations

import math
from typing import Any

import chainrule.numpy as np
from chainrule.scipy import special

__all__ = [
    "gelu", "leaky_relu", "log_softmax", "relu", "sigmoid", "softmax", "softplus", "tanh",
]  # fmt: skip

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def sigmoid(x: Any) -> Any:
    """The logistic function ``1 / (1 + exp(-x))``, without overflow at large ``|x|``.

    >>> print(sigmoid(0.0), sigmoid(-1000.0))
    0.5 0.0
    """
    return special.expit(x)


def tanh(x: Any) -> Any:
    """The hyperbolic tangent; its derivative ``1 - tanh²`` vanishes smoothly at large ``|x|``.

    >>> import chainrule as cr
    >>> print(tanh(0.0), cr.grad(tanh)(0.0))
    0.0 1.0
    """
    return np.tanh(x)


def relu(x: Any) -> Any:
    """``max(x, 0)``, with derivative 0 at 0 (PyTorch's convention).

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.elementwise_grad(relu)(np.array([-1.0, 0.0, 2.0]))
    array([0., 0., 1.])
    """
    return np.maximum(x, 0.0)


def leaky_relu(x: Any, negative_slope: float = 0.01) -> Any:
    """`x` where positive, ``negative_slope * x`` elsewhere (derivative `negative_slope` at 0).

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> x = np.array([-2.0, 0.0, 3.0])
    >>> leaky_relu(x, 0.1), cr.elementwise_grad(lambda v: leaky_relu(v, 0.1))(x)
    (array([-0.2,  0. ,  3. ]), array([0.1, 0.1, 1. ]))
    """
    return np.where(x > 0, x, negative_slope * x)


def gelu(x: Any, approximate: str = "none") -> Any:
    """The Gaussian error linear unit ``x Φ(x)``; ``approximate="tanh"`` for the tanh form.

    The tanh form is ``0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³)))``, computed as
    ``x expit(2u)``, which is the same function without cancellation for negative `x`.

    >>> print(round(float(gelu(1.0)), 6), round(float(gelu(1.0, approximate="tanh")), 6))
    0.841345 0.841192
    """
    if approximate == "none":
        return x * special.ndtr(x)
    if approximate == "tanh":
        u = _SQRT_2_OVER_PI * (x + 0.044715 * (x * x * x))
        return x * special.expit(2.0 * u)
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}.")


def softplus(x: Any, beta: float = 1.0, threshold: float = 20.0) -> Any:
    """``log(1 + exp(βx)) / β``, and `x` itself where ``βx > threshold`` (as PyTorch).

    >>> print(round(float(softplus(0.0)), 6), softplus(30.0), softplus(-1000.0))
    0.693147 30.0 0.0
    """
    z = x * beta
    return np.where(z > threshold, x, np.logaddexp(z, 0.0) / beta)


def softmax(x: Any, axis: int = -1) -> Any:
    """``exp(x) / sum(exp(x))`` along `axis`: non-negative entries that sum to 1.

    >>> import chainrule.numpy as np
    >>> softmax(np.log(np.array([1.0, 3.0])))
    array([0.25, 0.75])
    """
    return special.softmax(x, axis=axis)


def log_softmax(x: Any, axis: int = -1) -> Any:
    """``x - logsumexp(x)`` along `axis`: the log of `softmax`, finite for any `x`.

    >>> import chainrule.numpy as np
    >>> log_softmax(np.array([0.0, 1000.0]))
    array([-1000.,     0.])
    """
    return special.log_softmax(x, axis=axis)
