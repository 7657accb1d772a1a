"""chainrule: differentiate NumPy code, forward and reverse mode, to any order.

>>> import chainrule as cr
>>> import chainrule.numpy as np
>>> cr.grad(lambda x: x[0] ** 2 + 2 * x[1] ** 2)(np.array([3.0, 4.0]))
array([ 6., 16.])
"""

from typing import TYPE_CHECKING, Any

from . import extend, numpy, tree
from .check import check_grads, numerical_grad
from .core.custom import checkpoint, custom_jvp, custom_vjp, stop_gradient
from .transforms import (
    derivative,
    elementwise_grad,
    grad,
    hessian,
    hvp,
    jacfwd,
    jacobian,
    jacrev,
    jvp,
    linearize,
    value_and_grad,
    vjp,
)

if TYPE_CHECKING:
    from . import info, integrate, linalg, linear_model, numerics, stats
    from .drawing import draw
    from .explanation import explain

__version__ = "0.1.0"

__all__ = [
    "check_grads",
    "checkpoint",
    "custom_jvp",
    "custom_vjp",
    "derivative",
    "draw",
    "elementwise_grad",
    "explain",
    "extend",
    "grad",
    "hessian",
    "hvp",
    "info",
    "integrate",
    "jacfwd",
    "jacobian",
    "jacrev",
    "jvp",
    "linalg",
    "linear_model",
    "linearize",
    "numerical_grad",
    "numerics",
    "numpy",
    "stats",
    "stop_gradient",
    "tree",
    "value_and_grad",
    "vjp",
]


# The learning tools and the modules beyond the core load on first use, so that
# `import chainrule` stays quick: `cr.explain` is a function, `cr.stats` a module.
_LAZY_FUNCTIONS = {"explain": "explanation", "draw": "drawing"}
_LAZY_MODULES = ("info", "integrate", "linalg", "linear_model", "numerics", "stats")


def __getattr__(name: str) -> Any:
    import importlib

    if name in _LAZY_FUNCTIONS:
        value = getattr(importlib.import_module(f".{_LAZY_FUNCTIONS[name]}", __name__), name)
    elif name in _LAZY_MODULES:
        value = importlib.import_module(f".{name}", __name__)
    else:
        raise AttributeError(f"module 'chainrule' has no attribute {name!r}")
    globals()[name] = value
    return value
