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
    samples), refusing a `seed` whose draws would be made once and reused (`replaying`:
    while `jit` traces, a loop's body is traced, or `vmap` maps): a Generator or None
    (fresh entropy), which eagerly draw anew on every call. An int seed makes the same
    draws on every call, compiled or not.

    >>> draws_from(0, "example").integers(10) == rng_from(0, "example").integers(10)
    np.True_
    """
    from chainrule.core.staging import replaying

    replay = replaying() if seed is None or isinstance(seed, np.random.Generator) else None
    if replay is not None:
        source = "fresh entropy" if seed is None else "the Generator"
        context, how = replay
        raise TypeError(
            f"{where} under {context}: the draws from {source} ({name}={seed!r:.40}) would be "
            f"made {how}. Pass an int seed as {name} (then every call makes the same draws), "
            "or make them outside and pass them in."
        )
    return rng_from(seed, where, name)
