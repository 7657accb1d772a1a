"""The derivative facts of a calculus course, checked at many points."""

from __future__ import annotations

import math

import numpy
import pytest

import chainrule as cr
import chainrule.numpy as np
from chainrule.scipy import special

POINTS = numpy.linspace(-3.0, 3.0, 41)
POSITIVE = numpy.linspace(0.1, 5.0, 41)


def sigmoid(x: numpy.ndarray) -> numpy.ndarray:
    return 1.0 / (1.0 + numpy.exp(-x))


@pytest.mark.parametrize("n", [-2, -1, 0, 1, 2, 3, 5])
def test_power_rule(n: int) -> None:
    x = POSITIVE
    numpy.testing.assert_allclose(cr.derivative(lambda t: t**n)(x), n * x ** (n - 1.0))
    numpy.testing.assert_allclose(cr.elementwise_grad(lambda t: t**n)(x), n * x ** (n - 1.0))


@pytest.mark.parametrize(
    ("name", "fun", "derivative", "points"),
    [
        ("e^x", np.exp, numpy.exp, POINTS),
        ("ln x", np.log, lambda x: 1.0 / x, POSITIVE),
        ("sin", np.sin, numpy.cos, POINTS),
        ("cos", np.cos, lambda x: -numpy.sin(x), POINTS),
        (
            "sigmoid",
            lambda x: 1.0 / (1.0 + np.exp(-x)),
            lambda x: sigmoid(x) * (1 - sigmoid(x)),
            POINTS,
        ),
        ("expit", special.expit, lambda x: sigmoid(x) * (1 - sigmoid(x)), POINTS),
        ("tanh", np.tanh, lambda x: 1.0 - numpy.tanh(x) ** 2, POINTS),
        ("relu", lambda x: np.maximum(x, 0.0), lambda x: (x > 0).astype(float), POINTS),
        ("softplus", lambda x: np.logaddexp(x, 0.0), sigmoid, POINTS),
    ],
)
def test_derivative_table(name: str, fun, derivative, points: numpy.ndarray) -> None:
    for transform in (cr.derivative, cr.elementwise_grad):
        numpy.testing.assert_allclose(
            transform(fun)(points), derivative(points), rtol=1e-12, atol=1e-15, err_msg=name
        )
    numpy.testing.assert_allclose(
        [cr.grad(fun)(float(p)) for p in points[::8]], derivative(points[::8]), rtol=1e-12
    )


def test_chain_rule_by_hand() -> None:
    # d/dx sin(x^2) = cos(x^2) * 2x
    x = POINTS
    numpy.testing.assert_allclose(cr.derivative(lambda t: np.sin(t**2))(x), numpy.cos(x**2) * 2 * x)


def test_second_derivatives() -> None:
    x = POINTS
    s = sigmoid(x)
    d2 = cr.derivative(cr.derivative(special.expit))(x)
    numpy.testing.assert_allclose(d2, s * (1 - s) * (1 - 2 * s), atol=1e-15)
    numpy.testing.assert_allclose(
        cr.derivative(cr.derivative(np.tanh))(x),
        -2 * numpy.tanh(x) * (1 - numpy.tanh(x) ** 2),
        atol=1e-15,
    )


@pytest.mark.parametrize("seed", range(5))
def test_softmax_jacobian(seed: int) -> None:
    z = numpy.random.default_rng(seed).standard_normal(4) * 3
    p = numpy.exp(z - z.max()) / numpy.exp(z - z.max()).sum()
    expected = numpy.diag(p) - numpy.outer(p, p)  # p_i (delta_ij - p_j)
    for jac in (cr.jacobian, cr.jacfwd, cr.jacrev):
        numpy.testing.assert_allclose(jac(special.softmax)(z), expected, atol=1e-15)


def test_gradient_of_a_quadratic_bowl_numerically_and_exactly() -> None:
    f = lambda v: v[0] ** 2 + 2 * v[1] ** 2
    x = numpy.array([3.0, 4.0])
    numpy.testing.assert_allclose(cr.numerical_grad(f, x), [6.0, 16.0], rtol=1e-9)
    numpy.testing.assert_array_equal(cr.grad(f)(x), [6.0, 16.0])


def test_difference_quotient_converges_at_rate_h_squared() -> None:
    f, x = math.sin, 1.0
    errors = [abs((f(x + h) - f(x - h)) / (2 * h) - math.cos(x)) for h in (1e-1, 1e-2, 1e-3)]
    assert errors[0] / errors[1] == pytest.approx(100, rel=0.01)
    assert errors[1] / errors[2] == pytest.approx(100, rel=0.01)
    assert cr.derivative(np.sin)(x) == math.cos(x)


def test_gradient_descent_on_a_parabola() -> None:
    x = 5.0
    for _ in range(100):
        x = x - 0.1 * cr.grad(lambda t: t**2)(x)
    assert x == pytest.approx(5.0 * 0.8**100)


def test_hessian_classifies_critical_points() -> None:
    bowl = lambda v: v[0] ** 2 + 4 * v[1] ** 2
    saddle = lambda v: v[0] ** 2 - v[1] ** 2
    origin = numpy.zeros(2)
    assert (numpy.linalg.eigvalsh(cr.hessian(bowl)(origin)) > 0).all()
    eig = numpy.linalg.eigvalsh(cr.hessian(saddle)(origin))
    assert eig[0] < 0 < eig[1]
    numpy.testing.assert_array_equal(cr.grad(saddle)(origin), [0.0, 0.0])
