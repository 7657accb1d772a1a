"""Differentiable ``numpy.linalg``: NumPy's names, with the differentiable ones replaced."""

import typing as _typing

import numpy.linalg as _la

from .rules.linalg import *  # noqa: F403

# NumPy's other linalg names (LinAlgError, eigvals, ...), unchanged.
globals().update({_name: getattr(_la, _name) for _name in _la.__all__ if _name not in globals()})


def __getattr__(name: str) -> _typing.Any:
    return getattr(_la, name)
