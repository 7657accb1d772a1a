"""Layers: `Linear`, `MLP`, `Sequential`, `Lambda`, `Embedding`, `LayerNorm`, `Dropout`.

Each layer is a `Module`, so a model built from them is a pytree: ``cr.grad(loss)(model, x,
y)`` returns a gradient shaped like the model. Parameters are float32 unless ``dtype`` says
otherwise, and their random initial values come from an explicit ``rng`` (an int seed or a
``numpy.random.Generator``; None draws fresh entropy, never NumPy's global state).

The randomness convention: every layer is called as ``layer(x, *, rng=None)``. ``rng=None``
means evaluation (`Dropout` is the identity); passing a ``numpy.random.Generator`` switches
random layers to training behaviour, and containers (`Sequential`) hand it on to the layers
that accept it. Layers without randomness accept and ignore it.

Layers built from sizes and a seed can also be built from given arrays, through the same
keywords that name their fields: ``Linear(weight=w, bias=b)``. That is also what
``dataclasses.replace(layer, weight=w)`` calls, so replacing parameters works.

>>> import numpy as np
>>> from chainrule import nn
>>> model = nn.Sequential(nn.Linear(4, 8, rng=0), nn.relu, nn.Dropout(0.1), nn.Linear(8, 2, rng=1))
>>> model(np.ones((5, 4), dtype=np.float32)).shape
(5, 2)
>>> nn.count_parameters(model)
58
"""

from __future__ import annotations

import dataclasses
import inspect
import itertools
import math
from collections.abc import Callable, Sequence
from typing import Any

import chainrule.numpy as cnp
from chainrule._seed import draws_from
from chainrule._validate import count, flag, float_dtype, number
from chainrule.core.staging import replaying
from chainrule.core.trace import is_float
from chainrule.numpy.rules.common import check

from .functional import linear, relu
from .module import Module

__all__ = ["MLP", "Dropout", "Embedding", "Lambda", "LayerNorm", "Linear", "Sequential"]

Rng = int | cnp.random.Generator | None
"""An int seed, a ``numpy.random.Generator`` (used as it is), or None (fresh entropy)."""

DType = Any


# ---------------------------------------------------------------------------------- helpers


def _array(value: Any, dtype: cnp.dtype[Any], shape: tuple[int, ...] | None, what: str) -> Any:
    """A given parameter: float arrays (traced ones included) as they are, the rest as `dtype`."""
    dt = getattr(value, "dtype", None)
    if dt is None or not is_float(cnp.dtype(dt)):
        value = cnp.asarray(value, dtype=dtype)
    if shape is not None and tuple(value.shape) != shape:
        raise ValueError(f"{what} has shape {tuple(value.shape)}, expected {shape}.")
    return value


def _uniform(rng: cnp.random.Generator, bound: float, shape: tuple[int, ...], dtype: Any) -> Any:
    return rng.uniform(-bound, bound, size=shape).astype(dtype)


def _drawn(rng: cnp.random.Generator, n_in: int, n_out: int, dtype: Any) -> Linear:
    """``Linear(n_in, n_out, rng=rng)``'s layer, drawn from a Generator the caller made from
    its own seed (in the same order: weight, then bias)."""
    dt = float_dtype(dtype, "dtype", "Linear")
    bound = 1.0 / math.sqrt(n_in)
    weight = _uniform(rng, bound, (n_out, n_in), dt)
    return Linear(weight=weight, bias=_uniform(rng, bound, (n_out,), dt), dtype=dt)


def _last_axis(x: Any, size: int, owner: str) -> Any:
    """`x` as an array whose last axis has `size` entries, or a clear error."""
    shape = getattr(x, "shape", None)
    if shape is None:
        x = cnp.asarray(x)
        shape = x.shape
    if shape[-1:] != (size,):
        raise ValueError(
            f"{owner} expects inputs whose last axis has size {size}, got shape {tuple(shape)}."
        )
    return x


# ------------------------------------------------------------------------------------ Linear


class Linear(Module):
    """``x @ weight.T + bias`` over the last axis of `x`, any leading batch axes.

    `weight` has PyTorch's shape ``(out_features, in_features)`` (``Y = X Wᵀ + b``), so a
    ``torch.nn.Linear``'s ``state_dict`` arrays load unchanged, and both arrays start as
    PyTorch's: uniform on ``±1/sqrt(in_features)``. ``bias=False`` leaves the bias out;
    ``Linear(weight=w, bias=b)`` wraps given arrays instead.

    >>> import numpy as np
    >>> from chainrule import nn
    >>> layer = nn.Linear(3, 2, rng=0)
    >>> layer
    Linear(weight=f32[2,3], bias=f32[2])  # 8 parameters
    >>> layer(np.ones((4, 5, 3), dtype=np.float32)).shape
    (4, 5, 2)
    >>> nn.Linear(weight=np.eye(2), bias=np.array([1.0, 2.0]))(np.array([3.0, 4.0]))
    array([4., 6.])
    """

    weight: Any
    bias: Any

    def __init__(
        self,
        in_features: int | None = None,
        out_features: int | None = None,
        *,
        bias: bool | Any = True,
        rng: Rng = None,
        dtype: DType = cnp.float32,
        weight: Any = None,
    ) -> None:
        dt = float_dtype(dtype, "dtype", "Linear")
        gen = None  # the Generator the weight was drawn from: the bias draws on from it
        if weight is None:
            if in_features is None or out_features is None:
                raise TypeError("Linear needs in_features and out_features, or weight=<array>.")
            n_in = count(in_features, "in_features", "Linear")
            n_out = count(out_features, "out_features", "Linear")
            gen = draws_from(rng, "Linear", "rng")
            weight = _uniform(gen, 1.0 / math.sqrt(n_in), (n_out, n_in), dt)
        else:
            weight = _array(weight, dt, None, "Linear: weight")
            if weight.ndim != 2:
                raise ValueError(
                    f"Linear: weight must be 2-D (out_features, in_features), got shape "
                    f"{tuple(weight.shape)}."
                )
            given = (out_features, in_features)
            if any(g is not None and g != s for g, s in zip(given, weight.shape, strict=True)):
                raise ValueError(
                    f"Linear: weight of shape {tuple(weight.shape)} does not match "
                    f"in_features={in_features}, out_features={out_features}."
                )
        n_out, n_in = weight.shape
        if bias is True:
            gen = gen if gen is not None else draws_from(rng, "Linear", "rng")
            bias = _uniform(gen, 1.0 / math.sqrt(n_in), (n_out,), dt)
        elif bias is False or bias is None:
            bias = None
        else:
            bias = _array(bias, dt, (n_out,), "Linear: bias")
        self.weight = weight
        self.bias = bias

    @property
    def in_features(self) -> int:
        """The size of the last axis of the inputs."""
        return int(self.weight.shape[1])

    @property
    def out_features(self) -> int:
        """The size of the last axis of the outputs."""
        return int(self.weight.shape[0])

    def __call__(self, x: Any, *, rng: Any = None) -> Any:
        if getattr(x, "shape", (None,))[-1:] != self.weight.shape[1:]:
            x = _last_axis(x, self.in_features, "Linear")
        return linear(x, self.weight, self.bias)


# --------------------------------------------------------------------------------------- MLP


class MLP(Module):
    """A multilayer perceptron: `Linear` layers with `activation` between them.

    ``sizes = [in, h1, ..., out]``; the last layer has no activation unless
    `final_activation` is given. Its ``rng`` seeds all layers, one after the other; the
    ``rng`` of a call is accepted and ignored (an MLP has no random layers).

    >>> import numpy as np
    >>> from chainrule import nn
    >>> mlp = nn.MLP([4, 16, 3], rng=0)
    >>> mlp.sizes, nn.count_parameters(mlp)
    ([4, 16, 3], 131)
    >>> mlp(np.ones((10, 4), dtype=np.float32)).dtype
    dtype('float32')
    """

    layers: list[Linear]
    activation: Callable[[Any], Any]
    final_activation: Callable[[Any], Any] | None

    def __init__(
        self,
        sizes: Sequence[int] | None = None,
        activation: Callable[[Any], Any] = relu,
        *,
        final_activation: Callable[[Any], Any] | None = None,
        rng: Rng = None,
        dtype: DType = cnp.float32,
        layers: Sequence[Linear] | None = None,
    ) -> None:
        if (sizes is None) == (layers is None):
            raise TypeError("MLP needs sizes=[in, hidden..., out] or layers=[Linear...].")
        if sizes is not None:
            sizes = [count(n, f"sizes[{i}]", "MLP") for i, n in enumerate(sizes)]
            if len(sizes) < 2:
                raise ValueError(f"MLP: sizes must list at least [in, out], got {sizes}.")
            gen = draws_from(rng, "MLP", "rng")
            layers = [_drawn(gen, a, b, dtype) for a, b in itertools.pairwise(sizes)]
        layers = list(layers or [])
        if not layers or not all(isinstance(layer, Linear) for layer in layers):
            raise TypeError("MLP: layers must be a non-empty list of Linear layers.")
        for a, b in itertools.pairwise(layers):
            if a.out_features != b.in_features:
                raise ValueError(
                    f"MLP: a layer with {a.out_features} outputs feeds one with "
                    f"{b.in_features} inputs."
                )
        for fn in (activation, final_activation):
            if fn is not None and not callable(fn):
                raise TypeError(f"MLP: activations must be functions, got {fn!r}.")
        self.layers = layers
        self.activation = activation
        self.final_activation = final_activation

    @property
    def sizes(self) -> list[int]:
        """``[in, h1, ..., out]``, as given to the constructor."""
        return [layer.in_features for layer in self.layers] + [self.layers[-1].out_features]

    def __call__(self, x: Any, *, rng: Any = None) -> Any:
        *hidden, last = self.layers
        for layer in hidden:
            x = self.activation(layer(x))
        x = last(x)
        return x if self.final_activation is None else self.final_activation(x)


# ---------------------------------------------------------------------------- Sequential


class Lambda(Module):
    """A plain function as a layer with no parameters (`Sequential` wraps functions in it).

    >>> import numpy as np
    >>> from chainrule import nn
    >>> nn.Lambda(np.tanh)
    Lambda(fn=tanh)  # 0 parameters
    >>> nn.Lambda(nn.relu)(np.array([-1.0, 2.0]))
    array([0., 2.])
    """

    fn: Callable[[Any], Any]

    def __init__(self, fn: Callable[[Any], Any]) -> None:
        if not callable(fn):
            raise TypeError(f"Lambda: fn must be a function, got {fn!r}.")
        self.fn = fn

    def __call__(self, x: Any, *, rng: Any = None) -> Any:
        return self.fn(x)


def _accepts_rng(layer: Any) -> bool:
    try:
        params = inspect.signature(layer).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == "rng" or p.kind is p.VAR_KEYWORD for p in params)


class Sequential(Module):
    """Layers applied in order; plain functions (activations) may sit between modules.

    ``model(x, rng=g)`` passes `g` on to each layer whose ``__call__`` takes an ``rng``
    keyword (`Dropout`, every layer here, your own modules that declare it; `takes_rng`
    records which, once, at construction); other layers and plain functions are called
    with `x` alone.

    >>> import numpy as np
    >>> from chainrule import nn
    >>> nn.Sequential(nn.Linear(2, 3, rng=0), nn.relu, nn.Dropout(0.5))
    Sequential(
      layers=[Linear(weight=f32[3,2], bias=f32[3]), Lambda(fn=relu), Dropout(rate=0.5)],
    )  # 9 parameters
    >>> nn.Sequential(np.abs, lambda x: x + 1.0)(np.array([-2.0]))
    array([3.])
    """

    layers: list[Any]
    takes_rng: tuple[bool, ...] = dataclasses.field(init=False, repr=False)

    def __init__(self, *items: Any, layers: Sequence[Any] | None = None) -> None:
        if layers is not None:
            if items:
                raise TypeError("Sequential: give the layers as arguments or as layers=, not both.")
            items = tuple(layers)
        for i, item in enumerate(items):
            if not callable(item):
                raise TypeError(
                    f"Sequential: layer {i} is a {type(item).__name__}, not a module or function."
                )
        self.layers = [item if isinstance(item, Module) else Lambda(item) for item in items]
        self.takes_rng = tuple(_accepts_rng(layer) for layer in self.layers)

    def __call__(self, x: Any, *, rng: Any = None) -> Any:
        if rng is None:
            for layer in self.layers:
                x = layer(x)
            return x
        for layer, takes_rng in zip(self.layers, self.takes_rng, strict=True):
            x = layer(x, rng=rng) if takes_rng else layer(x)
        return x


# ----------------------------------------------------------------------------- Embedding


class Embedding(Module):
    """A lookup table: integer ids of any shape -> vectors, ``ids.shape + (embedding_dim,)``.

    Rows start as standard normal draws (PyTorch's initialisation). Ids must be integers
    in ``[0, num_embeddings)``; anything else is an error rather than a wrapped-around row.

    >>> import numpy as np
    >>> from chainrule import nn
    >>> table = nn.Embedding(10, 4, rng=0)
    >>> table
    Embedding(weight=f32[10,4])  # 40 parameters
    >>> table(np.array([[1, 2, 3], [4, 5, 9]])).shape
    (2, 3, 4)
    """

    weight: Any

    def __init__(
        self,
        num_embeddings: int | None = None,
        embedding_dim: int | None = None,
        *,
        rng: Rng = None,
        dtype: DType = cnp.float32,
        weight: Any = None,
    ) -> None:
        dt = float_dtype(dtype, "dtype", "Embedding")
        if weight is None:
            if num_embeddings is None or embedding_dim is None:
                raise TypeError(
                    "Embedding needs num_embeddings and embedding_dim, or weight=<array>."
                )
            shape = (
                count(num_embeddings, "num_embeddings", "Embedding"),
                count(embedding_dim, "embedding_dim", "Embedding"),
            )
            weight = draws_from(rng, "Embedding", "rng").standard_normal(shape).astype(dt)
        else:
            weight = _array(weight, dt, None, "Embedding: weight")
            if weight.ndim != 2 or any(
                g is not None and g != s
                for g, s in zip((num_embeddings, embedding_dim), weight.shape, strict=False)
            ):
                raise ValueError(
                    f"Embedding: weight must have shape (num_embeddings, embedding_dim) = "
                    f"({num_embeddings}, {embedding_dim}), got {tuple(weight.shape)}."
                )
        self.weight = weight

    @property
    def num_embeddings(self) -> int:
        """How many rows (distinct ids) the table holds."""
        return int(self.weight.shape[0])

    @property
    def embedding_dim(self) -> int:
        """The length of each vector."""
        return int(self.weight.shape[1])

    def __call__(self, indices: Any, *, rng: Any = None) -> Any:
        ids = cnp.asarray(indices)
        n = self.num_embeddings
        if ids.dtype.kind not in "iu":
            raise TypeError(
                f"Embedding: indices must be integers, got dtype {ids.dtype}; "
                "convert them with .astype(int)."
            )
        _rows(ids, n)
        return self.weight[ids]


@check
def _rows(ids: Any, n: int) -> None:
    """Refuse an index that is not a row of the table (every example's; under `jit`, every
    call's: NumPy would read a negative one from the end)."""
    if ids.size and (ids.min() < 0 or ids.max() >= n):
        raise ValueError(
            f"Embedding: indices must lie in [0, {n}), got values from {ids.min()} to {ids.max()}."
        )


# ----------------------------------------------------------------------------- LayerNorm


class LayerNorm(Module):
    """Normalise over the trailing `normalized_shape` axes, then scale and shift (as PyTorch).

    ``(x - mean) / sqrt(var + eps) * weight + bias`` with the biased variance; `weight`
    starts at ones and `bias` at zeros. ``elementwise_affine=False`` has no parameters,
    ``bias=False`` no shift.

    >>> import numpy as np
    >>> from chainrule import nn
    >>> norm = nn.LayerNorm(4)
    >>> norm
    LayerNorm(weight=f32[4], bias=f32[4], normalized_shape=(4,), eps=1e-05)  # 8 parameters
    >>> norm(np.array([1.0, 2.0, 3.0, 4.0], dtype=np.float32)).round(4)
    array([-1.3416, -0.4472,  0.4472,  1.3416], dtype=float32)
    """

    weight: Any
    bias: Any
    normalized_shape: tuple[int, ...]
    eps: float
    elementwise_affine: bool = dataclasses.field(repr=False)  # shown by weight

    def __init__(
        self,
        normalized_shape: int | Sequence[int],
        *,
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool | Any = True,
        dtype: DType = cnp.float32,
        weight: Any = None,
    ) -> None:
        dt = float_dtype(dtype, "dtype", "LayerNorm")
        dims = (
            (normalized_shape,)
            if isinstance(normalized_shape, (int, cnp.integer))
            else tuple(normalized_shape)
        )
        shape = tuple(count(n, "normalized_shape", "LayerNorm") for n in dims)
        if not shape:
            raise ValueError("LayerNorm: normalized_shape must name at least one axis.")
        eps = number(eps, "eps", "LayerNorm", minimum=0.0, exclusive=True)
        if not flag(elementwise_affine, "elementwise_affine", "LayerNorm"):
            if weight is not None or (bias is not None and not isinstance(bias, bool)):
                raise ValueError("LayerNorm: elementwise_affine=False takes no weight or bias.")
            weight = bias = None
        else:
            if weight is None:
                weight = cnp.ones(shape, dt)
            else:
                weight = _array(weight, dt, shape, "LayerNorm: weight")
            if bias is True:
                bias = cnp.zeros(shape, dt)
            elif bias is False or bias is None:
                bias = None
            else:
                bias = _array(bias, dt, shape, "LayerNorm: bias")
        self.weight = weight
        self.bias = bias
        self.normalized_shape = shape
        self.eps = eps
        self.elementwise_affine = bool(elementwise_affine)

    def __call__(self, x: Any, *, rng: Any = None) -> Any:
        k = len(self.normalized_shape)
        if tuple(cnp.shape(x)[-k:]) != self.normalized_shape or cnp.ndim(x) < k:
            raise ValueError(
                f"LayerNorm: inputs must end in axes of shape {self.normalized_shape}, "
                f"got shape {tuple(cnp.shape(x))}."
            )
        axes = tuple(range(-k, 0))
        centred = x - cnp.mean(x, axis=axes, keepdims=True)
        var = cnp.mean(centred * centred, axis=axes, keepdims=True)
        y = centred / cnp.sqrt(var + self.eps)
        if self.weight is not None:
            y = y * self.weight
        return y if self.bias is None else y + self.bias


# ------------------------------------------------------------------------------- Dropout

_DROPOUT_INSTEAD = {
    "jit": "Take the training step with dropout outside jit (train.fit does so by itself "
    "when the loss takes an rng)",
    "a loop": "Draw the masks for every step outside the loop and pass them in (a scan's xs)",
    "cond": "Draw the mask outside the cond and pass it in",
    "vmap": "Call the model on the whole batch for dropout",
    "checkpoint": "Draw the mask outside the checkpointed function and pass it in",
}


class Dropout(Module):
    """Inverted dropout: zero each entry with probability `rate`, scale the rest by 1/(1-rate).

    Called without ``rng`` (evaluation) it is the identity; with a
    ``numpy.random.Generator`` it draws a fresh mask from it (training), so that the
    expected output equals the input, as ``torch.nn.Dropout`` in training mode.

    >>> import numpy as np
    >>> from chainrule import nn
    >>> drop = nn.Dropout(0.5)
    >>> x = np.ones(8, dtype=np.float32)
    >>> drop(x)
    array([1., 1., 1., 1., 1., 1., 1., 1.], dtype=float32)
    >>> drop(x, rng=np.random.default_rng(0))
    array([2., 2., 2., 0., 0., 0., 0., 0.], dtype=float32)
    """

    rate: float

    def __init__(self, rate: float) -> None:
        self.rate = number(rate, "rate", "Dropout", minimum=0.0, maximum=1.0, exclusive="maximum")

    def __call__(self, x: Any, *, rng: cnp.random.Generator | None = None) -> Any:
        if rng is None or self.rate == 0.0:
            return x
        if not isinstance(rng, cnp.random.Generator):
            raise TypeError(
                f"Dropout: rng must be a numpy.random.Generator (or None to switch dropout "
                f"off), got {type(rng).__name__}; create one with np.random.default_rng(seed) "
                "once and pass it to every step."
            )
        replay = replaying()  # (x may be a constant: the mask is frozen all the same)
        if replay is not None:
            context, how = replay
            raise TypeError(
                f"Dropout under {context}: its draws from the Generator would be made {how}. "
                f"{_DROPOUT_INSTEAD[context]}, or pass rng=None there (evaluation)."
            )
        keep = rng.random(cnp.shape(x), dtype=cnp.float32) >= self.rate
        dtype = getattr(x, "dtype", None)
        scale = keep.astype(dtype if dtype is not None and is_float(dtype) else cnp.float64)
        scale *= 1.0 / (1.0 - self.rate)
        return x * scale
