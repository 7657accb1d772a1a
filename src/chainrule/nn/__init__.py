"""Neural networks built on chainrule's public API: models are pytrees of arrays.

Layers (`Linear`, `MLP`, `Sequential`, `Embedding`, `LayerNorm`, `Dropout`,
`MultiHeadAttention`) are `Module` dataclasses, so ``cr.grad(loss)(model, x, y)`` returns a
gradient shaped like the model; activations, losses and initialisers are plain functions.

>>> import numpy as np
>>> import chainrule as cr
>>> from chainrule import nn
>>> model = nn.MLP([2, 4, 1], rng=0)
>>> loss = lambda m, x, y: nn.mse(m(x), y)
>>> g = cr.grad(loss)(model, np.ones((3, 2), np.float32), np.zeros((3, 1), np.float32))
>>> cr.tree.structure(g) == cr.tree.structure(model)
True
"""

from . import init
from .attention import MultiHeadAttention, causal_mask, scaled_dot_product_attention
from .functional import (
    gelu,
    leaky_relu,
    linear,
    log_softmax,
    relu,
    sigmoid,
    softmax,
    softplus,
    tanh,
)
from .layers import MLP, Dropout, Embedding, Lambda, LayerNorm, Linear, Sequential
from .losses import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    huber,
    kl_div,
    mae,
    mse,
    nll_loss,
)
from .module import Module, count_parameters

__all__ = [
    "MLP",
    "Dropout",
    "Embedding",
    "Lambda",
    "LayerNorm",
    "Linear",
    "Module",
    "MultiHeadAttention",
    "Sequential",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "causal_mask",
    "count_parameters",
    "cross_entropy",
    "gelu",
    "huber",
    "init",
    "kl_div",
    "leaky_relu",
    "linear",
    "log_softmax",
    "mae",
    "mse",
    "nll_loss",
    "relu",
    "scaled_dot_product_attention",
    "sigmoid",
    "softmax",
    "softplus",
    "tanh",
]
