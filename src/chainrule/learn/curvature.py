"""What the gradient and the Hessian say about a point: critical or not, and of which kind.

At a critical point the gradient is zero and the second-order Taylor expansion is
``f(x + d) ≈ f(x) + d·H d / 2``, so the signs of the Hessian's eigenvalues decide: all
positive, a minimum; all negative, a maximum; both signs, a saddle; a zero eigenvalue leaves
the question to higher derivatives. That needs f twice differentiable at the point, and a
gradient that means it: `one_sided_slopes` finds kinks (``abs(x)`` at 0, whose gradient
there is only a convention) and gradients that a rule's tie convention got wrong; a gradient
or Hessian that is not finite gets no verdict. Used by
``chainrule grad --hessian`` and the tour.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy

from chainrule._validate import number

__all__ = ["SLOPE_RTOL", "Slopes", "classify", "norm", "one_sided_slopes"]

SLOPE_RTOL = 1e-6
"""Smallest disagreement of slopes that `one_sided_slopes` reports, relative to
max(1, |slopes nearby|)."""

_STEP = 2.0**-30  # probe distance relative to max(1, |x_i|): far above rounding, well below shapes


@dataclass(frozen=True)
class Slopes:
    """The slopes of f along variable `index`: `left` just below the point, `right` just
    above it (within `within` of it), and `at`, the gradient's value at the point itself."""

    index: int
    left: float
    right: float
    at: float
    within: float

    @property
    def kink(self) -> bool:
        """The slopes on the two sides differ: f is not differentiable at the point. If not,
        f is, with slope `left`, and `at` (a derivative rule's tie convention) is wrong."""
        return abs(self.right - self.left) > SLOPE_RTOL * max(1.0, abs(self.left), abs(self.right))


def one_sided_slopes(
    grad: Callable[[numpy.ndarray], Any], point: Sequence[float] | numpy.ndarray
) -> Slopes | None:
    """The first variable along which ∇f (`grad`) misleads at `point`, or None.

    It misleads where the slopes on the two sides differ (a kink: ``abs(x)`` at 0, whose
    gradient there, 0, is a subgradient by convention, not a derivative), or where they
    agree but the gradient at the point does not (a rule's tie convention: ``relu(x) -
    relu(-x)``, which is x, gets 0 at 0).

    The criterion, per variable i with ``h = 2**-30 * max(1, |x_i|)``: with
    ``g(t) = ∂f/∂x_i(x + t e_i)`` evaluated by `grad` at t = ±h, ±2h,
    ``r = [g(2h) - g(-2h)] - 2 [g(h) - g(-h)]``. Where f is smooth, Taylor's theorem gives
    ``r = 2 h³ ∂⁴f/∂x_i⁴ + rounding``: zero to working precision. Where the slope jumps from
    `left` to `right` (a kink within 2h of x), ``r ≈ left - right``. Likewise
    ``(g(h) + g(-h)) / 2 - g(0) = h² ∂³f/∂x_i³ / 2`` where f is smooth. Either is reported
    when it exceeds ``SLOPE_RTOL * max(1, |g| at the probes)``; probes where the gradient is
    not finite prove nothing and are skipped, so the answer errs towards "smooth".

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> g = cr.grad(lambda p: np.abs(p[0]) + p[1] ** 2)
    >>> s = one_sided_slopes(g, [0.0, 1.0])
    >>> s.index, s.left, s.right, s.kink
    (0, -1.0, 1.0, True)
    >>> one_sided_slopes(g, [0.5, 1.0]) is None  # a point where f is smooth
    True
    """
    x = numpy.array(point, dtype=numpy.float64)
    with numpy.errstate(all="ignore"):
        at = numpy.asarray(grad(x), dtype=numpy.float64)
    for i in range(x.size):
        h = _STEP * max(1.0, abs(float(x[i])))
        probes = []
        for t in (-2 * h, -h, h, 2 * h):
            probe = x.copy()
            probe[i] += t
            with numpy.errstate(all="ignore"):
                probes.append(float(numpy.asarray(grad(probe), dtype=numpy.float64)[i]))
        far_left, left, right, far_right = probes
        if not numpy.all(numpy.isfinite(probes)) or not numpy.isfinite(at[i]):
            continue
        tol = SLOPE_RTOL * max(1.0, *map(abs, probes))
        jump = (far_right - far_left) - 2 * (right - left)
        if abs(jump) > tol or abs((left + right) / 2 - at[i]) > tol:
            return Slopes(index=i, left=left, right=right, at=float(at[i]), within=2 * h)
    return None


def norm(v: Any) -> float:
    """The Euclidean length of `v`, without overflow where the length itself is a float.

    >>> norm([3e300, 4e300])
    5e+300
    """
    v = numpy.asarray(v, dtype=numpy.float64)
    scale = float(numpy.max(numpy.abs(v), initial=0.0))
    if not 0.0 < scale < numpy.inf:
        return scale  # 0, inf or nan
    return scale * float(numpy.linalg.norm(v / scale))


def classify(grad: Any, eigenvalues: Any, tol: float = 1e-9) -> str:
    """What the gradient and the Hessian's eigenvalues say about a point.

    It assumes f twice differentiable there (see `one_sided_slopes`); a gradient or eigenvalue that
    is not finite gets no verdict.

    >>> classify([0.0, 0.0], [2.0, 4.0])
    'critical point (gradient 0): a local minimum (every eigenvalue > 0: curves up in every direction)'
    >>> classify([0.0, 0.0], [-2.0, 2.0])
    'critical point (gradient 0): a saddle point (eigenvalues of both signs: up in some directions, down in others)'
    >>> classify([1.0, 0.0], [2.0, 2.0]).split(":")[0]
    'not a critical point'
    >>> classify([float("inf")], [0.0]).split(":")[0]
    'no verdict'
    """
    tol = number(tol, "tol", "classify", minimum=0.0)
    grad, eigenvalues = numpy.asarray(grad, float), numpy.asarray(eigenvalues, float)
    if not numpy.all(numpy.isfinite(grad)):
        return (
            "no verdict: the gradient is not finite here (inf or nan), so f has no finite "
            "derivative at this point, or it is beyond the largest float"
        )
    finite = eigenvalues[numpy.isfinite(eigenvalues)]
    scale = max(1.0, float(numpy.max(numpy.abs(finite), initial=0.0)))
    if norm(grad) > tol * scale:
        return (
            "not a critical point: the gradient is not zero, so the function still "
            "decreases along -gradient (the eigenvalues describe the curvature here)"
        )
    if not numpy.all(numpy.isfinite(eigenvalues)):
        return (
            "no verdict: the gradient is 0 but the Hessian is not finite here (inf or nan), "
            "so the second-order test does not apply"
        )
    if numpy.all(eigenvalues > tol * scale):
        kind = "a local minimum (every eigenvalue > 0: curves up in every direction)"
    elif numpy.all(eigenvalues < -tol * scale):
        kind = "a local maximum (every eigenvalue < 0: curves down in every direction)"
    elif numpy.any(eigenvalues > tol * scale) and numpy.any(eigenvalues < -tol * scale):
        kind = "a saddle point (eigenvalues of both signs: up in some directions, down in others)"
    else:
        kind = (
            "undecided by the Hessian (an eigenvalue is 0: higher derivatives decide, as "
            "for x**4 or x**3 at 0)"
        )
    return f"critical point (gradient 0): {kind}"
