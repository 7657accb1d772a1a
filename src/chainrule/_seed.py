"""Random generators from what users pass: an int seed, a Generator, or None.

One rule for the whole package (data, layers, initialisers, distributions): never NumPy's
global random state, and a clear error for anything else.
"""

from __future__ import annotations

import numbers

import numpy as np

Seed = int | np.random.Generator | None
"""An int seed, a Generator to draw from (so successive calls differ), or None (fresh entropy)."""


def rng_from(seed: Seed, where: str, name: str = "seed") -> np.random.Generator:
    """A Generator from `seed`, the argument called `name` of `where` (for the error).

    >>> rng_from(0, "example").integers(10) == rng_from(0, "example").integers(10)
    np.True_
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or (isinstance(seed, numbers.Integral) and not isinstance(seed, bool)):
        return np.random.default_rng(seed)
    raise TypeError(
        f"{where}: {name} must be an int seed, a numpy.random.Generator or None, "
        f"got {type(seed).__name__}."
    )
