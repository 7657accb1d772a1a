"""chainrule: differentiate NumPy code, forward and reverse mode, to any order.

>>> import chainrule as cr
>>> import chainrule.numpy as np
>>> cr.grad(lambda x: x[0] ** 2 + 2 * x[1] ** 2)(np.array([3.0, 4.0]))
array([ 6., 16.])
"""

from typing import TYPE_CHECKING, Any

from . import extend, numpy, tree
from .check import check_grads, numerical_grad
from .control import cond, fori_loop, scan, while_loop
from .core.custom import checkpoint, custom_jvp, custom_vjp, stop_gradient
from .numpy.rules.indexing import at
from .transforms import (
    derivative,
    elementwise_grad,
    grad,
    hessian,
    hvp,
    jacfwd,
    jacobian,
    jacrev,
    jit,
    jvp,
    linearize,
    make_program,
    value_and_grad,
    vjp,
    vmap,
)

if TYPE_CHECKING:
    from . import (
        data,
        info,
        integrate,
        io,
        learn,
        linalg,
        linear_model,
        nn,
        numerics,
        optim,
        scipy,
        stats,
        train,
    )
    from .learn import curvature, expr, surfaces
    from .learn import plot as plot  # (not in __all__: it needs matplotlib)
    from .learn.drawing import draw
    from .learn.exercises.checker import check_derivative
    from .learn.explanation import explain

__version__ = "0.1.0"

__all__ = [
    "at",
    "check_derivative",
    "check_grads",
    "checkpoint",
    "cond",
    "curvature",
    "custom_jvp",
    "custom_vjp",
    "data",
    "derivative",
    "draw",
    "elementwise_grad",
    "explain",
    "expr",
    "extend",
    "fori_loop",
    "grad",
    "hessian",
    "hvp",
    "info",
    "integrate",
    "io",
    "jacfwd",
    "jacobian",
    "jacrev",
    "jit",
    "jvp",
    "learn",
    "linalg",
    "linear_model",
    "linearize",
    "make_program",
    "nn",
    "numerical_grad",
    "numerics",
    "numpy",
    "optim",
    "scan",
    "scipy",
    "stats",
    "stop_gradient",
    "surfaces",
    "train",
    "tree",
    "value_and_grad",
    "vjp",
    "vmap",
    "while_loop",
]


# The learning tools and the modules beyond the core load on first use, so that
# `import chainrule` stays quick: `cr.explain` is a function, `cr.stats` a module. The
# learning wing lives in `chainrule.learn`; its tools are reachable from here too.
_LAZY_FUNCTIONS = {
    "explain": "learn.explanation",
    "draw": "learn.drawing",
    "check_derivative": "learn.exercises.checker",
}
_LAZY_MODULES = {
    **{name: name for name in (
        "data", "info", "integrate", "io", "learn", "linalg", "linear_model", "nn", "numerics",
        "optim", "scipy", "stats", "train",
    )},
    **{name: f"learn.{name}" for name in ("curvature", "expr", "plot", "surfaces")},
}  # fmt: skip


def __getattr__(name: str) -> Any:
    import importlib

    if name in _LAZY_FUNCTIONS:
        value = getattr(importlib.import_module(f".{_LAZY_FUNCTIONS[name]}", __name__), name)
    elif name in _LAZY_MODULES:
        value = importlib.import_module(f".{_LAZY_MODULES[name]}", __name__)
    else:
        raise AttributeError(f"module 'chainrule' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The loaded names and the lazy ones, so that tab completion finds `cr.explain`."""
    return sorted({*globals(), *_LAZY_FUNCTIONS, *_LAZY_MODULES})
