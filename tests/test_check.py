"""numerical_grad and check_grads: the witnesses must be right, and must catch wrong rules."""

from __future__ import annotations

from typing import Any

import numpy
import pytest

import chainrule as cr
import chainrule.numpy as np


def test_numerical_grad_on_floats_arrays_and_pytrees() -> None:
    assert cr.numerical_grad(lambda x: x**3, 0.5) == pytest.approx(0.75, rel=1e-9)
    g = cr.numerical_grad(lambda p: p["a"] ** 2 * p["b"][0][0], {"a": 3.0, "b": [numpy.ones(1)]})
    assert g["a"] == pytest.approx(6.0, rel=1e-9)
    numpy.testing.assert_allclose(g["b"][0], [9.0], rtol=1e-9)
    assert numpy.shape(g["a"]) == () and g["b"][0].shape == (1,)


def test_numerical_grad_needs_a_scalar_function() -> None:
    with pytest.raises(TypeError, match=r"must return a scalar.*numerical_jacobian"):
        cr.numerical_grad(lambda x: x * 2, numpy.ones(2))


def test_check_grads_passes_on_correct_rules() -> None:
    cr.check_grads(lambda x, y: np.sin(x) * np.exp(y), (numpy.array([0.2, 0.4]), 0.3), order=3)


def _wrong_reverse_rule() -> Any:
    @cr.custom_vjp
    def my_sin(x: Any) -> Any:
        return np.sin(x)

    my_sin.defvjp(lambda x: (np.sin(x), x), lambda x, g: (g * np.cos(x) * 1.01,))
    return my_sin


def test_check_grads_reports_function_mode_order_and_discrepancy() -> None:
    with pytest.raises(
        AssertionError,
        match=r"check_grads of `my_sin`: reverse mode, order 1: largest "
        r"discrepancy [0-9.e-]+ \(atol=1e-05, rtol=1e-05\)",
    ):
        cr.check_grads(_wrong_reverse_rule(), (numpy.array([0.3, 0.9]),), order=1)
    # forward mode differentiates the function itself, so it passes
    cr.check_grads(_wrong_reverse_rule(), (numpy.array([0.3, 0.9]),), modes=("fwd",))


def test_check_grads_catches_an_error_that_shows_only_at_second_order() -> None:
    @cr.custom_jvp
    def cube(x: Any) -> Any:
        return x**3

    # right first derivative, wrong second: 3 * x**2 written with a frozen factor
    cube.defjvp(lambda p, t: (cube(p[0]), 3.0 * cr.stop_gradient(p[0]) * p[0] * t[0]))
    x = numpy.array([0.5, 1.5])
    cr.check_grads(cube, (x,), order=1)
    with pytest.raises(AssertionError, match=r"order 2 \(differentiating the forward mode"):
        cr.check_grads(cube, (x,), order=2)


def test_check_grads_validates_its_arguments() -> None:
    with pytest.raises(ValueError, match="unknown mode 'sideways'"):
        cr.check_grads(np.sin, (1.0,), modes=("sideways",))
    with pytest.raises(TypeError, match="floating-point"):
        cr.check_grads(np.sin, (numpy.arange(3),))
