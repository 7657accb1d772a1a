"""Checks shared by the data functions and the training loop: seeds, counts, (X, y) pairs."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from .._seed import Seed, rng_from

__all__ = ["Seed", "count", "float_dtype", "nonnegative", "pair", "rng_from"]


def count(value: Any, name: str, where: str, minimum: int = 1) -> int:
    """`value` as an int of at least `minimum`, or a clear error."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{where}: {name} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{where}: {name} must be at least {minimum}, got {value}")
    return int(value)


def nonnegative(value: Any, name: str, where: str) -> float:
    """`value` as a float >= 0 (a noise level, a spread), or a clear error."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{where}: {name} must be a number, got {type(value).__name__}")
    number = float(value)
    if not number >= 0:
        raise ValueError(f"{where}: {name} must be >= 0, got {value}")
    return number


def float_dtype(dtype: Any, where: str) -> np.dtype[Any]:
    out = np.dtype(dtype)
    if out.kind != "f":
        raise TypeError(f"{where}: dtype must be a floating-point type, got {out}")
    return out


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
