"""The functions of a network: the dense layer's `linear` and the activations.

`linear` is one primitive (one node on the tape, the bias added into the product's fresh
array) rather than a product and a sum: the operation of every dense layer, it is worth
a fused rule, as in PyTorch. Its derivative rules are below it.

The activations are differentiable to any order, finite for any input, and keep float32.

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

import numpy as np

import chainrule.numpy as cnp
from chainrule._validate import one_of
from chainrule.core.batching import defbatch
from chainrule.extend import defjvp_joint, defvjp, primitive
from chainrule.numpy.rules.common import (
    BLAS_FLOATS,
    at_front,
    batch_size,
    ndim_of,
    shape_of,
    to_front,
)
from chainrule.scipy import special

__all__ = [
    "gelu", "leaky_relu", "linear", "log_softmax", "relu", "sigmoid", "softmax", "softplus",
    "tanh",
]  # fmt: skip

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def linear(x: Any, weight: Any, bias: Any = None) -> Any:
    """The dense layer ``x @ weight.T + bias``, as ``torch.nn.functional.linear``.

    `weight` is ``(out, in)`` (PyTorch's layout: ``Y = X Wᵀ + b``), `bias` ``(out,)``, `x`
    ``(..., in)``; the result is ``(..., out)``. The transpose is a view: BLAS reads it in
    place, no copy.

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> x, w, b = np.ones((2, 3)), np.ones((4, 3)), np.arange(4.0)
    >>> linear(x, w, b)
    array([[3., 4., 5., 6.],
           [3., 4., 5., 6.]])
    >>> cr.grad(lambda w: linear(x, w, b).sum())(w)
    array([[2., 2., 2.],
           [2., 2., 2.],
           [2., 2., 2.],
           [2., 2., 2.]])
    """
    if not hasattr(x, "shape"):
        x = cnp.asarray(x)
    w_shape = getattr(weight, "shape", None)
    if w_shape is None or len(w_shape) != 2:
        raise ValueError(f"linear: weight must be a matrix (out, in), got {weight!r:.60}.")
    if x.shape[-1:] != w_shape[1:]:
        raise ValueError(
            f"linear: x of shape {tuple(x.shape)} does not fit weight of shape "
            f"{tuple(w_shape)} (out, in): the last axis of x must have size {w_shape[1]}."
        )
    if bias is not None and getattr(bias, "shape", None) != w_shape[:1]:
        raise ValueError(
            f"linear: bias must have shape ({w_shape[0]},), the outputs of weight "
            f"{tuple(w_shape)}, got {getattr(bias, 'shape', bias)!r}."
        )
    return _linear(x, weight, bias)


def _linear_impl(x: Any, weight: Any, bias: Any, out: Any = None) -> Any:
    # (`out`: a compiled program's buffer of the result's dtype, which the product is cast
    # into as NumPy would cast it when adding the bias)
    y = np.matmul(x, weight.T, out=out)
    if bias is None:
        return y
    if out is None and bias.dtype != y.dtype and np.result_type(y, bias) != y.dtype:
        return y + bias
    y += bias  # into the product's own new array: no second array of activations
    return y


_linear_impl.takes_out = True  # type: ignore[attr-defined]
_linear = primitive(_linear_impl, "linear")


def _rows(a: Any) -> Any:
    """`a` as a matrix: its leading axes folded into one (a stack of inputs is more rows)."""
    return a if a.ndim == 2 else cnp.reshape(a, (math.prod(a.shape[:-1]), a.shape[-1]))


def _linear_vjp_weight(g: Any, ans: Any, x: Any, weight: Any, bias: Any) -> Any:
    return cnp.matmul(_rows(g).T, _rows(x))


def _linear_vjp_bias(g: Any, ans: Any, x: Any, weight: Any, bias: Any) -> Any:
    if g.ndim == 1:
        return g
    rows = _rows(g)
    if rows.dtype in BLAS_FLOATS and rows.shape[1] > 1:
        # the sum over the batch as BLAS's product ``1ᵀ G``: two to four times as fast as
        # NumPy's sum down the columns, which adds row after row, and as accurate (BLAS
        # keeps several partial sums); a single column NumPy sums pairwise, more accurately
        return cnp.matmul(np.ones(rows.shape[0], rows.dtype), rows)
    return cnp.sum(rows, axis=0)


def _linear_jvp(tangents: list[Any], ans: Any, x: Any, weight: Any, bias: Any) -> Any:
    # Tangents carry leading batch axes (see chainrule.extend); x @ weight.T broadcasts a
    # batch of tx by itself, while batches of tweight and tbias need singleton axes for
    # x's leading axes, between the batch axes and their own.
    tx, tw, tb = tangents
    out = None if tx is None else cnp.matmul(tx, weight.T)
    if tw is not None:
        batch = tw.shape[: tw.ndim - 2]
        lead = (1,) * max(x.ndim - 2, 0)
        term = cnp.matmul(x, cnp.swapaxes(cnp.reshape(tw, (*batch, *lead, *weight.shape)), -1, -2))
        out = term if out is None else out + term
    if tb is not None:
        batch = tb.shape[: tb.ndim - 1]
        term = cnp.reshape(tb, (*batch, *(1,) * (ans.ndim - 1), ans.shape[-1]))
        out = term if out is None else out + term
    assert out is not None  # a forward rule is called with at least one tangent
    if out.shape[out.ndim - ans.ndim :] != ans.shape:  # only a bias tangent: spread it
        out = cnp.broadcast_to(out, (*out.shape[: out.ndim - ans.ndim], *ans.shape))
    return out


defvjp(
    _linear,
    lambda g, ans, x, weight, bias: cnp.matmul(g, weight),
    _linear_vjp_weight,
    _linear_vjp_bias,
)
defjvp_joint(_linear, _linear_jvp)


def _linear_batch(args: list[Any], dims: list[Any]) -> tuple[Any, int]:
    """`vmap` of `linear`: a batch of inputs against shared parameters is one more leading
    axis of rows (one matmul, the batch left where it is unless it is the feature axis);
    per-example parameters make it a batched matmul."""
    x, weight, bias = args
    dx, dw, db = dims
    rank = ndim_of(x) - (dx is not None)  # of one example
    if dw is None and db is None:
        if dx == rank:  # the batch is the last axis, where the features must be
            x, dx = cnp.moveaxis(x, dx, 0), 0
        return _linear(x, weight, bias), dx
    size = batch_size(args, dims)
    x = at_front(x, dx, size)
    if rank == 1:  # one vector per example: a row
        x = cnp.reshape(x, (size, 1, shape_of(x)[-1]))
    lead = (1,) * (max(rank, 2) - 2)  # the example's leading axes, broadcast
    w = cnp.swapaxes(at_front(weight, dw, size), -1, -2)
    y = cnp.matmul(x, cnp.reshape(w, (size, *lead, *shape_of(w)[1:])))
    if bias is not None:
        y = y + (bias if db is None else cnp.reshape(to_front(bias, db), (size, *lead, 1, -1)))
    return (cnp.reshape(y, (size, shape_of(y)[-1])) if rank == 1 else y), 0


defbatch(_linear, _linear_batch)


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
    return cnp.tanh(x)


def relu(x: Any) -> Any:
    """``max(x, 0)``, with derivative 0 at 0 (PyTorch's convention).

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.elementwise_grad(relu)(np.array([-1.0, 0.0, 2.0]))
    array([0., 0., 1.])
    """
    return cnp.maximum(x, 0.0)


def leaky_relu(x: Any, negative_slope: float = 0.01) -> Any:
    """`x` where positive, ``negative_slope * x`` elsewhere (derivative `negative_slope` at 0).

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> x = np.array([-2.0, 0.0, 3.0])
    >>> leaky_relu(x, 0.1), cr.elementwise_grad(lambda v: leaky_relu(v, 0.1))(x)
    (array([-0.2,  0. ,  3. ]), array([0.1, 0.1, 1. ]))
    """
    return cnp.where(x > 0, x, negative_slope * x)


def gelu(x: Any, approximate: str = "none") -> Any:
    """The Gaussian error linear unit ``x Φ(x)``; ``approximate="tanh"`` for the tanh form.

    The tanh form is ``0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³)))``, computed as
    ``x expit(2u)``, which is the same function without cancellation for negative `x`.

    >>> print(round(float(gelu(1.0)), 6), round(float(gelu(1.0, approximate="tanh")), 6))
    0.841345 0.841192
    """
    if one_of(approximate, "approximate", "gelu", ("none", "tanh")) == "none":
        return x * special.ndtr(x)
    u = _SQRT_2_OVER_PI * (x + 0.044715 * (x * x * x))
    return x * special.expit(2.0 * u)


def softplus(x: Any, beta: float = 1.0, threshold: float = 20.0) -> Any:
    """``log(1 + exp(βx)) / β``, and `x` itself where ``βx > threshold`` (as PyTorch).

    >>> print(round(float(softplus(0.0)), 6), softplus(30.0), softplus(-1000.0))
    0.693147 30.0 0.0
    """
    z = x * beta
    return cnp.where(z > threshold, x, cnp.logaddexp(z, 0.0) / beta)


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
