"""Checks shared by the data functions and the training loop: seeds, counts, (X, y) pairs."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._seed import Seed, rng_from
from .._validate import count

__all__ = ["Seed", "count", "pair", "rng_from"]


def pair(X: Any, y: Any, where: str) -> tuple[np.ndarray, np.ndarray]:
    """`(X, y)` as arrays with one example per row and as many labels as examples."""
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim == 0 or y.ndim == 0:
        which = "X" if X.ndim == 0 else "y"
        raise ValueError(
            f"{where}: {which} must hold one example per row (at least 1-D), got a scalar"
        )
    if X.shape[0] != y.shape[0]:
        raise ValueError(
            f"{where}: X and y must have the same number of examples (rows), "
            f"got X with {X.shape[0]} (shape {X.shape}) and y with {y.shape[0]} "
            f"(shape {y.shape})"
        )
    if X.dtype == object or y.dtype == object:
        raise TypeError(f"{where}: X and y must be numeric arrays, not arrays of Python objects")
    return X, y
