"""Differentiable SciPy functions: ``from chainrule.scipy import special, stats, linalg``.

Kept out of ``import chainrule`` so that SciPy is loaded only by code that uses it;
each submodule (``chainrule.scipy.special``, ``integrate``, ``linalg``, ``signal``,
``stats``) is imported on first access.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["integrate", "linalg", "signal", "special", "stats"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
