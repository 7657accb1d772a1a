"""Differentiable ``numpy.linalg``: NumPy's names, with the differentiable ones replaced."""

from __future__ import annotations

from typing import Any

import numpy.linalg as _la
from numpy.linalg import *  # noqa: F403

from .rules.linalg import *  # noqa: F403


def __getattr__(name: str) -> Any:
    return getattr(_la, name)
