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


def draws_from(seed: Seed, where: str, name: str = "rng") -> np.random.Generator:
    """`rng_from` for draws a function makes from a seed its caller gave (initial weights,
    samples), refusing, while `jit` traces, a `seed` whose draws would then be frozen into
    the program: a Generator or None (fresh entropy), which eagerly draw anew on every call.
    An int seed makes the same draws on every call, compiled or not.

    >>> draws_from(0, "example").integers(10) == rng_from(0, "example").integers(10)
    np.True_
    """
    from chainrule.core.staging import tracing

    if tracing() and (seed is None or isinstance(seed, np.random.Generator)):
        source = "fresh entropy" if seed is None else "the Generator"
        raise TypeError(
            f"{where} under jit: the draws from {source} ({name}={seed!r:.40}) would be made "
            "once, while tracing, and every call of the compiled program would reuse them. "
            f"Pass an int seed as {name} (then every call makes the same draws, as outside "
            "jit), or do this outside the jitted function and pass the result in."
        )
    return rng_from(seed, where, name)
