"""What the gradient and the Hessian say about a point: critical or not, and of which kind.

At a critical point the gradient is zero and the second-order Taylor expansion is
``f(x + d) ≈ f(x) + d·H d / 2``, so the signs of the Hessian's eigenvalues decide: all
positive, a minimum; all negative, a maximum; both signs, a saddle; a zero eigenvalue leaves
the question to higher derivatives. Used by ``chainrule grad --hessian`` and the tour.
"""

from __future__ import annotations

from typing import Any

import numpy

__all__ = ["classify"]


def classify(grad: Any, eigenvalues: Any, tol: float = 1e-9) -> str:
    """What the gradient and the Hessian's eigenvalues say about a point.

    >>> classify([0.0, 0.0], [2.0, 4.0])
    'critical point (gradient 0): a local minimum (every eigenvalue > 0: curves up in every direction)'
    >>> classify([0.0, 0.0], [-2.0, 2.0])
    'critical point (gradient 0): a saddle point (eigenvalues of both signs: up in some directions, down in others)'
    >>> classify([1.0, 0.0], [2.0, 2.0]).split(":")[0]
    'not a critical point'
    """
    grad, eigenvalues = numpy.asarray(grad, float), numpy.asarray(eigenvalues, float)
    scale = max(1.0, float(numpy.max(numpy.abs(eigenvalues), initial=0.0)))
    if float(numpy.linalg.norm(grad)) > tol * scale:
        return (
            "not a critical point: the gradient is not zero, so the function still "
            "decreases along -gradient (the eigenvalues describe the curvature here)"
        )
    small = numpy.abs(eigenvalues) <= tol * scale
    if numpy.all(eigenvalues > tol * scale):
        kind = "a local minimum (every eigenvalue > 0: curves up in every direction)"
    elif numpy.all(eigenvalues < -tol * scale):
        kind = "a local maximum (every eigenvalue < 0: curves down in every direction)"
    elif numpy.any(eigenvalues > tol * scale) and numpy.any(eigenvalues < -tol * scale):
        kind = "a saddle point (eigenvalues of both signs: up in some directions, down in others)"
    else:
        assert numpy.any(small)
        kind = (
            "undecided by the Hessian (an eigenvalue is 0: higher derivatives decide, as "
            "for x**4 or x**3 at 0)"
        )
    return f"critical point (gradient 0): {kind}"
