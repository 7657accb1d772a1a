"""Define new primitives: a NumPy implementation and its derivative rules.

This is the API chainrule's own rules are written with. Reach for it when a function
deserves one node on the tape rather than many: a fused operation (``nn.functional.linear``
is one), or a NumPy/SciPy routine chainrule does not know yet. For a one-off rule on a
function built from `chainrule.numpy`, `chainrule.custom_vjp` is simpler.

- ``primitive(impl, name)`` wraps a function of plain NumPy values; called on traced values
  it records itself instead of being traced through.
- ``defvjp(prim, rule_0, rule_1, ...)``: one reverse rule per positional argument,
  ``rule_i(g, ans, *args, **params)`` returning the cotangent of argument ``i`` (None where
  an argument is not differentiable).
- ``defjvp(prim, rule_0, ...)``: one forward rule per argument, ``rule_i(t, ans, *args,
  **params)``, whose contributions add; or ``defjvp_joint(prim, rule)`` with
  ``rule(tangents, ans, *args, **params)`` seeing all tangents at once (None for constant
  arguments); with ``with_value=True`` the rule computes the value too (``ans`` is None,
  it returns ``(ans, tangent)``), for a primitive that would otherwise compute it twice.

- ``defbatch(prim, rule)``: its batching rule for `vmap`, ``rule(args, dims, **params) ->
  (out, out_dim)``: ``dims[i]`` is the axis of argument ``i`` that holds the examples (None
  for one shared by all of them), and the rule computes every example in one call, saying
  where the batch axis of the result is. Without one, `vmap` runs the primitive once per
  example, in a Python loop, and warns (`BatchingWarning`) once.

Write the rules with `chainrule.numpy` so that they can be differentiated again (higher
orders come free). A tangent may carry extra *leading* batch axes (``jacfwd`` and
``hessian`` push many tangents in one pass): its shape is ``batch + arg.shape`` and the
forward rule must return ``batch + ans.shape``.

>>> import numpy
>>> import chainrule as cr
>>> import chainrule.numpy as np
>>> from chainrule.extend import primitive, defvjp, defjvp
>>> logcosh = primitive(lambda x: numpy.logaddexp(x, -x) - numpy.log(2.0), "logcosh")
>>> defvjp(logcosh, lambda g, ans, x: g * np.tanh(x))
>>> defjvp(logcosh, lambda t, ans, x: t * np.tanh(x))
>>> print(round(float(cr.grad(logcosh)(0.5)), 6), round(float(cr.derivative(logcosh)(0.5)), 6))
0.462117 0.462117
>>> print(round(float(cr.grad(cr.grad(logcosh))(0.0)), 6))  # second order, through tanh
1.0

An elementwise function keeps the batch axis where it is:

>>> from chainrule.extend import defbatch
>>> defbatch(logcosh, lambda args, dims: (logcosh(*args), dims[0]))
>>> cr.vmap(logcosh, in_axes=1)(np.zeros((2, 3))).shape
(3, 2)
"""

from .core.batching import BatchingWarning, defbatch
from .core.primitive import Primitive, defjvp, defjvp_joint, defvjp, primitive

__all__ = [
    "BatchingWarning",
    "Primitive",
    "defbatch",
    "defjvp",
    "defjvp_joint",
    "defvjp",
    "primitive",
]
