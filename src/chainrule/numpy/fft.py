"""Differentiable ``numpy.fft``: NumPy's names, with the transforms and shifts replaced.

Loaded on first use (``chainrule.numpy.fft``), so that ``import chainrule`` stays fast.
"""

import typing as _typing

import numpy.fft as _fft

from .rules.fft import *  # noqa: F403

# NumPy's other fft names (fftfreq, rfftfreq), unchanged.
globals().update({_name: getattr(_fft, _name) for _name in _fft.__all__ if _name not in globals()})


def __getattr__(name: str) -> _typing.Any:
    return getattr(_fft, name)
