"""Differentiable SciPy functions: ``from chainrule.scipy import special``.

Kept out of ``import chainrule`` so that SciPy is loaded only by code that uses it;
``chainrule.scipy.special`` is imported on first access.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["special"]


def __getattr__(name: str) -> Any:
    if name == "special":
        return importlib.import_module(f"{__name__}.special")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
