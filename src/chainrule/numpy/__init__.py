"""A differentiable NumPy: use ``import chainrule.numpy as np`` in place of ``import numpy as np``.

Everything that is not differentiable (dtypes, constants, ``zeros``, ``arange``, ``random``,
...) is NumPy's own object. The differentiable functions are chainrule primitives: called on
plain arrays they *are* the NumPy function and return ``numpy.ndarray``; called on values
being differentiated they also record or push derivatives. Their derivative rules live in
``chainrule.numpy.rules``, one module per family of functions.
"""

from __future__ import annotations

from typing import Any

import numpy as _np
from numpy import *  # noqa: F403  (NumPy's non-differentiable names, unchanged)
from numpy import fft, random  # noqa: F401

from .rules.elementwise import *  # noqa: F403
from .rules.reductions import *  # noqa: F403
from .rules.shape import *  # noqa: F403
from .rules.nondiff import *  # noqa: F403
from .rules.products import *  # noqa: F403
from . import linalg  # noqa: E402
from . import array_methods as _array_methods  # noqa: E402, F401


def __getattr__(name: str) -> Any:
    """Anything else is NumPy's."""
    return getattr(_np, name)
