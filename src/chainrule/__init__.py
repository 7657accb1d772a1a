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
    "jacfwd",
    "jacobian",
    "jacrev",
    "jvp",
    "linearize",
    "numerical_grad",
    "numpy",
    "stop_gradient",
    "tree",
    "value_and_grad",
    "vjp",
]


def __getattr__(name: str) -> Any:
    # The learning tools load on first use, so `import chainrule` stays quick.
    modules = {"explain": "explanation", "draw": "drawing"}
    if name in modules:
        import importlib

        function = getattr(importlib.import_module(f".{modules[name]}", __name__), name)
        globals()[name] = function
        return function
    raise AttributeError(f"module 'chainrule' has no attribute {name!r}")
