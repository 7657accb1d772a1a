"""Optimizers, learning-rate schedules and gradient clipping for training pytrees of arrays.

Optimizers follow PyTorch's formulas, defaults and argument names, as pure objects:
``state = opt.init(params)``, then ``params, state = opt.step(grads, state, params)``, or,
in optax's terms, ``updates, state = opt.update(grads, state, params)`` and
``params = optim.apply_updates(params, updates)``. Clipping is a function the training loop
applies to the gradients first; `differentially_private_aggregate` and `dpsgd` (DP-SGD) take
per-example gradients, from ``cr.vmap(cr.grad(loss), in_axes=(None, 0, 0))``.

>>> import numpy as np
>>> import chainrule as cr
>>> from chainrule import optim
>>> def loss(params):
...     return cr.numpy.sum((params["w"] - 3.0) ** 2) + (params["b"] + 1.0) ** 2
>>> params = {"w": np.zeros(2), "b": np.array(0.0)}
>>> opt = optim.Adam(lr=optim.schedules.cosine(0.1, total_steps=500))
>>> state = opt.init(params)
>>> for _ in range(500):
...     grads = optim.clip_by_global_norm(cr.grad(loss)(params), max_norm=10.0)
...     params, state = opt.step(grads, state, params)
>>> np.round(params["w"], 3), round(float(params["b"]), 3)
(array([3., 3.]), -1.0)
"""

from . import schedules
from .clip import clip_by_global_norm, clip_by_value, global_norm
from .optimizers import (
    SGD,
    Adagrad,
    AdagradState,
    Adam,
    AdamState,
    AdamW,
    LearningRate,
    Optimizer,
    RMSprop,
    RMSpropState,
    SGDState,
    apply_updates,
)
from .private import (
    DPSGD,
    DifferentiallyPrivateAggregate,
    DifferentiallyPrivateAggregateState,
    DPSGDState,
    differentially_private_aggregate,
    dpsgd,
)
from .schedules import Schedule

__all__ = [
    "DPSGD",
    "SGD",
    "Adagrad",
    "AdagradState",
    "Adam",
    "AdamState",
    "AdamW",
    "DPSGDState",
    "DifferentiallyPrivateAggregate",
    "DifferentiallyPrivateAggregateState",
    "LearningRate",
    "Optimizer",
    "RMSprop",
    "RMSpropState",
    "SGDState",
    "Schedule",
    "apply_updates",
    "clip_by_global_norm",
    "clip_by_value",
    "differentially_private_aggregate",
    "dpsgd",
    "global_norm",
    "schedules",
]
