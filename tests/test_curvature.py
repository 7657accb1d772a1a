"""curvature: the verdict on a point, kinks found from one-sided slopes, no verdict on inf/nan."""

from __future__ import annotations

import math

import numpy
import pytest

import chainrule as cr
import chainrule.numpy as np
from chainrule.learn.curvature import SLOPE_RTOL, classify, norm, one_sided_slopes


@pytest.mark.parametrize(
    ("grad", "eigenvalues"),
    [
        ([math.inf], [math.inf]),  # exp(x) at 800: used to be "critical point (gradient 0)"
        ([math.nan], [math.nan]),  # sqrt(x) at -1: used to be an AssertionError
        ([math.inf, 0.0], [1.0, 2.0]),
        ([0.0, math.nan], [1.0, 2.0]),
    ],
)
def test_a_gradient_that_is_not_finite_gets_no_verdict(grad: list, eigenvalues: list) -> None:
    verdict = classify(grad, eigenvalues)
    assert verdict.startswith("no verdict: the gradient is not finite")


def test_classify_checks_its_tolerance() -> None:
    # A NaN or negative tolerance would turn every verdict into "critical point" or
    # "not a critical point" whatever the numbers say.
    with pytest.raises(ValueError, match="classify: tol must be a finite number >= 0, got nan"):
        classify([1.0], [2.0], tol=math.nan)
    with pytest.raises(ValueError, match="classify: tol must be a finite number >= 0"):
        classify([0.0], [2.0], tol=-1.0)
    with pytest.raises(TypeError, match="classify: tol must be a real number"):
        classify([0.0], [2.0], tol="1e-9")  # type: ignore[arg-type]


def test_a_hessian_that_is_not_finite_gets_no_verdict_at_a_critical_point() -> None:
    assert classify([0.0], [-math.inf]).startswith("no verdict: the gradient is 0 but")
    assert classify([0.0, 0.0], [math.nan, 1.0]).startswith("no verdict")
    # away from a critical point the gradient alone decides
    assert classify([1.0], [math.inf]).startswith("not a critical point")


def _grad(f):
    return cr.grad(lambda p: f(*p))


@pytest.mark.parametrize(
    ("f", "point", "index", "left", "right"),
    [
        (lambda x: np.abs(x), [0.0], 0, -1.0, 1.0),
        (lambda x: np.maximum(x, 0.0), [0.0], 0, 0.0, 1.0),
        (lambda x, y: y**2 + np.abs(x - y), [0.0, 0.0], 0, -1.0, 1.0),
        (lambda x, y: x**2 + np.abs(y), [1.0, 0.0], 1, -1.0, 1.0),
        (lambda x: x + 1e-3 * np.abs(x - 2.0), [2.0], 0, 1.0 - 1e-3, 1.0 + 1e-3),
        (lambda x: np.abs(x - 1e6), [1e6], 0, -1.0, 1.0),  # the step follows |x|
    ],
)
def test_one_sided_slopes_measures_the_one_sided_slopes(f, point, index, left, right) -> None:
    kink = one_sided_slopes(_grad(f), point)
    assert kink is not None and kink.kink and kink.index == index
    # the probes sit on straight pieces: the slopes are exact up to rounding
    assert kink.left == pytest.approx(left, rel=1e-12)
    assert kink.right == pytest.approx(right, rel=1e-12)
    assert 0 < kink.within <= 2 * 2.0**-30 * max(1.0, abs(point[index]))


@pytest.mark.parametrize(
    ("f", "point"),
    [
        (lambda x: x**2, [0.0]),
        (lambda x: np.abs(x**2), [0.0]),  # abs of a square is differentiable
        (lambda x: np.abs(x) - np.abs(x), [0.0]),  # the kinks cancel
        (lambda x: np.abs(x), [1e-6]),  # near a kink is not at it
        (lambda x: np.sin(1e5 * x), [0.3]),  # 2 h^3 f'''' / f' = 2e-27 * 1e15: far below
        (lambda x: x - np.sin(x), [1e-6]),  # a gradient of 5e-13 made of cancelling terms
        (lambda x: np.exp(x), [700.0]),  # near the largest float
        (lambda x, y: x**3 * y - np.cos(x * y), [0.7, -1.3]),
        (lambda x: np.sqrt(x), [1e-12]),  # undefined just left of the probes: no claim
    ],
)
def test_one_sided_slopes_calls_smooth_points_smooth(f, point) -> None:
    assert one_sided_slopes(_grad(f), point) is None


def test_kink_tolerance_is_relative_to_the_slopes() -> None:
    # a jump of 1e-9 on slopes of 1 is below SLOPE_RTOL: rounding in a gradient made of
    # cancelling terms must not pass for a kink, so tiny jumps are not reported
    assert SLOPE_RTOL > 1e-9
    assert one_sided_slopes(_grad(lambda x: x + 0.5e-9 * np.abs(x)), [0.0]) is None
    assert one_sided_slopes(_grad(lambda x: 1e-9 * np.abs(x)), [0.0]) is None  # max(1, |slope|)
    assert one_sided_slopes(_grad(lambda x: x + 1e-5 * np.abs(x)), [0.0]) is not None


def test_norm_does_not_overflow() -> None:
    assert norm([3e300, 4e300]) == pytest.approx(5e300, rel=4 * numpy.finfo(float).eps)
    assert norm([0.0, 0.0]) == 0.0
    assert norm([math.inf, 1.0]) == math.inf and math.isnan(norm([math.nan, 1.0]))


def test_one_sided_slopes_catch_a_tie_convention() -> None:
    # relu(x) - relu(-x) is x, slope 1; at the tie each relu gets derivative 0 (a traced value
    # tied with a constant, ReLU's convention), so the gradient at 0 is 0: wrong, and caught
    def f(x):
        return np.maximum(x, 0.0) - np.maximum(-x, 0.0)

    assert float(cr.grad(f)(0.0)) == 0.0
    found = one_sided_slopes(_grad(f), [0.0])
    assert found is not None and not found.kink
    assert (found.left, found.right, found.at) == (1.0, 1.0, 0.0)
