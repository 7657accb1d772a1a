"""Gradient clipping: functions from a gradient pytree to a clipped one, as torch's utilities.

A training loop applies them between computing the gradients and the optimizer update,
so optimizers stay PyTorch-shaped. Inputs are never changed; a leaf that needs no clipping
comes back as the same array. Inside `jit` (traced gradients) the norm and the choice to
clip are recorded into the program, so each call clips its own gradients.

>>> import numpy as np
>>> from chainrule import optim
>>> grads = {"w": np.array([3.0, 0.0]), "b": np.array([4.0])}
>>> optim.global_norm(grads)
5.0
>>> optim.clip_by_global_norm(grads, max_norm=1.0)["w"].round(6)
array([0.6, 0. ])
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

import chainrule.numpy as cnp
from chainrule import tree
from chainrule._validate import number
from chainrule.core.trace import Tracer

__all__ = ["clip_by_global_norm", "clip_by_value", "global_norm"]


def global_norm(grads: Any) -> Any:
    """The 2-norm of all the leaves together, as if concatenated into one vector: a float,
    or a traced 0-d value when the leaves are traced (inside `jit`).

    >>> import numpy as np
    >>> from chainrule import optim
    >>> optim.global_norm([np.array([1.0, 2.0]), np.array([[2.0]])])
    3.0
    """
    leaves = tree.leaves(grads)
    if any(isinstance(leaf, Tracer) for leaf in leaves):
        return cnp.sqrt(sum(cnp.vdot(leaf, leaf).astype(np.float64) for leaf in leaves))
    total = 0.0
    for leaf in leaves:
        flat = np.ravel(leaf)
        total += float(np.dot(flat, flat))  # BLAS: fast, and accurate to about 1e-6 in float32
    return math.sqrt(total)


def clip_by_global_norm(grads: Any, max_norm: float) -> Any:
    """Scale all the leaves by ``max_norm / (norm + 1e-6)`` when that is below 1.

    ``norm`` is `global_norm`; the formula is ``torch.nn.utils.clip_grad_norm_``'s, so a
    clipped gradient's norm comes out a hair under `max_norm`. Gradients whose norm is
    already at most about `max_norm` come back unchanged (the same tree).

    >>> import numpy as np
    >>> from chainrule import optim
    >>> grads = [np.array([6.0, 8.0], dtype=np.float32)]
    >>> clipped = optim.clip_by_global_norm(grads, max_norm=5.0)
    >>> clipped[0].round(5), clipped[0].dtype
    (array([3., 4.], dtype=float32), dtype('float32'))
    """
    limit = number(max_norm, "max_norm", "clip_by_global_norm", minimum=0.0)
    scale = limit / (global_norm(grads) + 1e-6)
    if isinstance(scale, Tracer):  # a program for every norm: torch's min(scale, 1)
        return tree.map(lambda g: g * cnp.minimum(scale, 1.0).astype(g.dtype), grads)
    if scale >= 1.0:  # torch multiplies by min(scale, 1): by exactly 1 here, a no-op
        return grads
    return tree.map(lambda g: np.multiply(g, scale), grads)  # a NaN norm gives NaNs, as torch


def clip_by_value(grads: Any, clip_value: float) -> Any:
    """Clip every entry into ``[-clip_value, clip_value]`` (``torch.nn.utils.clip_grad_value_``).

    >>> import numpy as np
    >>> from chainrule import optim
    >>> optim.clip_by_value({"w": np.array([-3.0, 0.5, 2.0])}, 1.0)
    {'w': array([-1. ,  0.5,  1. ])}
    """
    limit = number(clip_value, "clip_value", "clip_by_value", minimum=0.0)
    return tree.map(lambda g: np.clip(g, -limit, limit), grads)
