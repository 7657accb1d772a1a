"""The learning wing: see the calculus, and check your own.

- `explanation` (``cr.explain``): the chain rule with real numbers, node by node;
- `drawing` (``cr.draw``): the computation graph as a picture;
- `plot`: functions, tangents, gradient fields, descent paths (needs matplotlib);
- `surfaces`: the classic test surfaces and optimizers run on them;
- `curvature`: gradients, Hessians and their eigenvalues at a point;
- `expr`: the expression language of the ``chainrule`` command (no ``eval``);
- `tour`: the guided tour of the study guide, one stop at a time, every number checked;
- `exercises`: tasks that check your own derivatives (``cr.check_derivative``).

Every module loads on first use, so ``import chainrule`` stays quick.
"""

from typing import Any

_MODULES = (
    "curvature", "drawing", "exercises", "explanation", "expr", "plot", "surfaces", "tour",
)  # fmt: skip

__all__ = list(_MODULES)


def __getattr__(name: str) -> Any:
    import importlib

    if name in _MODULES:
        module = importlib.import_module(f".{name}", __name__)
        globals()[name] = module
        return module
    raise AttributeError(f"module 'chainrule.learn' has no attribute {name!r}")
