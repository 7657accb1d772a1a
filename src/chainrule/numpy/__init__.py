"""A differentiable NumPy: use ``import chainrule.numpy as np`` in place of ``import numpy as np``.

Everything that is not differentiable (dtypes, constants, ``zeros``, ``arange``, ``random``,
...) is NumPy's own object. The differentiable functions are chainrule primitives: called on
plain arrays they *are* the NumPy function and return ``numpy.ndarray``; called on values
being differentiated they also record or push derivatives. Their derivative rules live in
``chainrule.numpy.rules``, one module per family of functions.
"""

import types as _types
import typing as _typing
from importlib import import_module as _import_module

import numpy as _np
from numpy import random as random

from chainrule.core import batching as _batching

from . import (
    _array_methods,  # noqa: F401  (makes traced values behave as arrays)
    _ufunc_methods,
)
from . import linalg as linalg
from .rules.creation import *  # noqa: F403
from .rules.elementwise import *  # noqa: F403
from .rules.indexing import *  # noqa: F403
from .rules.indexing import index as _index
from .rules.linalg import matrix_transpose as matrix_transpose  # (NumPy 2's, in both places)
from .rules.nondiff import *  # noqa: F403
from .rules.products import *  # noqa: F403
from .rules.reductions import *  # noqa: F403
from .rules.sequences import *  # noqa: F403
from .rules.shape import *  # noqa: F403

# What `vmap` needs to run a primitive that has no batching rule once per example.
_batching.ops.take = lambda x, b, axis: _index(x, (slice(None),) * axis + (b,))
_batching.ops.stack = stack  # noqa: F405

# Every other public NumPy name, unchanged. NumPy's submodules (f2py, testing, ma...) stay
# lazy, through `__getattr__` below, so that `import chainrule` stays fast.
globals().update(
    {
        _name: getattr(_np, _name)
        for _name in _np.__all__
        if _name not in globals()
        and not isinstance(_np.__dict__.get(_name, _types), _types.ModuleType)
    }
)


_ufunc_methods.attach(globals())  # (np.add.outer, np.add.reduce, ...)


def __getattr__(name: str) -> _typing.Any:
    """Anything else is NumPy's; ``fft`` is ours, imported on first use."""
    return _import_module(f"{__name__}.fft") if name == "fft" else getattr(_np, name)
