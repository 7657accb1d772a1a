"""Complex numbers end to end: JAX's convention, holomorphic=True, and the elementwise rules.

The convention (see `chainrule.core.primitive`): forward mode is the real-linear map
``t -> df``, reverse mode its transpose under ``Re(sum(a * b))``. The expected numbers below
are JAX's (0.4, x64) and HIPS autograd's, which agree on all of them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy
import pytest

import chainrule as cr
import chainrule.numpy as np
from chainrule.check import numerical_jacobian
from chainrule.core.trace import HolomorphicError
from rulecheck import check_rule

rng = numpy.random.default_rng(0)
Z = rng.standard_normal(3) + 1j * rng.standard_normal(3)
ZM = rng.standard_normal((2, 3)) + 1j * rng.standard_normal((2, 3))
Z0 = 3.0 + 4.0j

# ------------------------------------------------------------------------------ the convention


@pytest.mark.parametrize(
    ("fun", "cotangent", "expected"),
    [
        (lambda z: z**2, 1j, -8.0 + 6.0j),  # holomorphic: ct * f'(z), no conjugate
        (np.abs, 1.0, 0.6 - 0.8j),  # ct * conj(z) / |z|
        (np.conj, 1j, -1j),  # conj(ct)
        (np.real, 2.0, 2.0),
        (np.imag, 2.0, -2j),
        (np.angle, 1.0, -0.16 - 0.12j),  # ct * (-i / z)
    ],
    ids=["square", "abs", "conj", "real", "imag", "angle"],
)
def test_vjps_follow_jax(fun: Callable[..., Any], cotangent: complex, expected: complex) -> None:
    ct = numpy.asarray(cotangent, numpy.result_type(fun(Z0)))
    (got,) = cr.vjp(fun, Z0)[1](ct)
    numpy.testing.assert_allclose(got, expected, rtol=1e-15)


def test_gradient_of_a_real_function_of_complex_input_is_df_dx_minus_i_df_dy() -> None:
    # f = |z|^2 + Re z: df/dx = 2x + 1 = 7, df/dy = 2y = 8
    f = lambda z: (z * np.conj(z)).real + z.real
    assert cr.grad(f)(Z0) == 7.0 - 8.0j
    numpy.testing.assert_allclose(cr.numerical_grad(f, Z0), 7.0 - 8.0j, rtol=1e-9)
    # gradient descent steps along the conjugate of the gradient
    z = Z0
    for _ in range(200):
        z = z - 0.1 * numpy.conj(cr.grad(lambda w: np.abs(w - 1j) ** 2)(z))
    assert abs(z - 1j) < 1e-12


def test_autograd_agrees_where_installed() -> None:
    autograd = pytest.importorskip("autograd")
    anp = pytest.importorskip("autograd.numpy")
    ours = cr.grad(lambda z: np.sum(np.abs(np.exp(z) * z) ** 2 + np.angle(z)))(Z)
    theirs = autograd.grad(lambda z: anp.sum(anp.abs(anp.exp(z) * z) ** 2 + anp.angle(z)))(Z)
    numpy.testing.assert_allclose(ours, theirs, rtol=1e-12)
    hol = cr.grad(lambda z: np.sin(z) * z, holomorphic=True)(Z0)
    numpy.testing.assert_allclose(hol, autograd.holomorphic_grad(lambda z: anp.sin(z) * z)(Z0))


@pytest.mark.parametrize(
    ("fun", "expected"),
    [
        (lambda x: np.sum(np.abs(x * 1j)), numpy.sign),
        (lambda x: np.sum((x * 1j).real), lambda x: 0 * x),
        (lambda x: np.sum(np.exp(1j * x).real), lambda x: -numpy.sin(x)),
        (lambda x: np.sum(np.astype(x, numpy.complex128).real), numpy.ones_like),
        (lambda x: np.sum(x + numpy.array([1j, 0, 0])).real, numpy.ones_like),
        (lambda x: np.sum(np.abs(np.exp(1j * x) + x) ** 2), lambda x: 2 * x + 2 * numpy.cos(x) - 2 * x * numpy.sin(x)),
    ],
)  # fmt: skip
def test_real_inputs_through_complex_values_get_real_derivatives(
    fun: Callable[..., Any], expected: Callable[..., Any]
) -> None:
    x = numpy.array([1.0, -2.0, 3.0])
    g = cr.grad(fun)(x)
    assert g.dtype == numpy.float64
    numpy.testing.assert_allclose(g, expected(x), atol=1e-12)
    _, t = cr.jvp(fun, (x,), (numpy.ones(3),))
    numpy.testing.assert_allclose(t, numpy.sum(expected(x)), atol=1e-12)
    assert numpy.ndim(t) == 0 and numpy.isrealobj(t)
    x32 = x.astype(numpy.float32)
    assert cr.grad(fun)(x32).dtype == numpy.float32


# ------------------------------------------------------------------------------ holomorphic=True


def test_holomorphic_derivatives_are_f_prime() -> None:
    assert cr.grad(lambda z: z**2, holomorphic=True)(Z0) == 2 * Z0
    assert cr.derivative(np.exp)(1j) == numpy.exp(1j)
    numpy.testing.assert_allclose(cr.elementwise_grad(np.exp, holomorphic=True)(Z), numpy.exp(Z))
    for jac in (cr.jacfwd, cr.jacrev, cr.jacobian):
        got = jac(lambda z: np.sin(z) * z, holomorphic=True)(Z)
        numpy.testing.assert_allclose(got, numpy.diag(numpy.cos(Z) * Z + numpy.sin(Z)))
        numpy.testing.assert_allclose(
            got, numerical_jacobian(lambda z: numpy.sin(z) * z, Z), rtol=1e-8
        )
    hess = cr.hessian(lambda z: np.sum(z**3), holomorphic=True)(Z)
    numpy.testing.assert_allclose(hess, numpy.diag(6 * Z))
    assert (
        cr.jacrev(lambda z: z**2, holomorphic=True)(Z.astype(numpy.complex64)).dtype
        == numpy.complex64
    )


@pytest.mark.parametrize(
    ("fun", "culprit"),
    [
        (lambda z: np.conj(z) * z, "conjugate"),
        (lambda z: np.abs(z) + 0j, "absolute"),
        (lambda z: np.real(z) * z, "real"),
        (lambda z: np.sign(z), "absolute"),
    ],
)
def test_holomorphic_true_refuses_a_function_that_is_not(
    fun: Callable[..., Any], culprit: str
) -> None:
    for transform in (
        cr.grad(lambda z: np.sum(fun(z)), holomorphic=True),
        cr.jacfwd(fun, holomorphic=True),
        cr.jacrev(fun, holomorphic=True),
        cr.derivative(fun),
    ):
        with pytest.raises(HolomorphicError, match=f"{culprit} is not holomorphic"):
            transform(Z)


def test_a_non_holomorphic_value_that_only_feeds_a_comparison_is_fine() -> None:
    f = lambda z: np.where(np.abs(cr.stop_gradient(z)) > 1, z**2, z)
    numpy.testing.assert_allclose(
        cr.jacrev(f, holomorphic=True)(Z), numpy.diag(numpy.where(numpy.abs(Z) > 1, 2 * Z, 1))
    )


@pytest.mark.parametrize(
    ("call", "says"),
    [
        (lambda: cr.grad(lambda z: z**2)(Z0), "requires real-valued outputs.*holomorphic=True"),
        (lambda: cr.jacrev(lambda z: z**2)(Z), "requires real-valued outputs"),
        (lambda: cr.jacfwd(np.abs)(Z), "requires real-valued inputs.*jvp"),
        (lambda: cr.hessian(lambda z: np.sum(np.abs(z)))(Z), "requires real-valued inputs"),
        (lambda: cr.grad(lambda x: x**2, holomorphic=True)(2.0), "complex dtype, but got float64"),
        (lambda: cr.jacfwd(np.abs, holomorphic=True)(Z), "absolute is not holomorphic"),
        (lambda: cr.jacrev(lambda z: z.real, holomorphic=True)(Z), "real is not holomorphic"),
        (lambda: cr.jacfwd(lambda z: z.real, holomorphic=True)(Z), "real is not holomorphic"),
    ],
)
def test_dtype_errors_say_what_to_do(call: Callable[[], Any], says: str) -> None:
    with pytest.raises(TypeError, match=says):
        call()


def test_real_function_of_complex_inputs_works_in_reverse_jacobians() -> None:
    f = lambda z: np.abs(z) ** 2
    numpy.testing.assert_allclose(cr.jacrev(f)(Z), numpy.diag(2 * numpy.conj(Z)))
    numpy.testing.assert_allclose(cr.jacobian(f)(Z), numpy.diag(2 * numpy.conj(Z)))


def test_cotangents_and_tangents_must_have_the_values_dtype() -> None:
    with pytest.raises(TypeError, match="dtype complex128"):
        cr.vjp(lambda z: z * 2, Z)[1](numpy.ones(3))
    with pytest.raises(TypeError, match="must have dtype float64"):
        cr.jvp(lambda x: x * 2, (numpy.ones(3),), (Z,))
    assert cr.vjp(lambda z: z * 2, Z0)[1](1j)[0] == 2j  # a Python complex is weakly typed


# ------------------------------------------------------------------------------ the rules

HOLOMORPHIC = [
    "negative",
    "positive",
    "square",
    "sqrt",
    "reciprocal",
    "exp",
    "exp2",
    "expm1",
    "log",
    "log2",
    "log10",
    "log1p",
    "sin",
    "cos",
    "tan",
    "arcsin",
    "arccos",
    "arctan",
    "sinh",
    "cosh",
    "tanh",
    "arcsinh",
    "arccosh",
    "arctanh",
    "sinc",
]
NOT_HOLOMORPHIC = ["abs", "absolute", "real", "imag", "conj", "conjugate", "angle", "sign"]


@pytest.mark.parametrize("name", HOLOMORPHIC + NOT_HOLOMORPHIC)
@pytest.mark.parametrize("z", [Z, ZM], ids=["vector", "matrix"])
def test_unary_rules_on_complex_values(name: str, z: Any) -> None:
    check_rule(getattr(np, name), z)


@pytest.mark.parametrize("name", ["add", "subtract", "multiply", "divide", "power"])
@pytest.mark.parametrize(
    "pair", [(Z, ZM), (Z.real, ZM), (ZM, Z.real), (Z0, Z)], ids=["cc", "rc", "cr", "scalar"]
)
def test_binary_rules_on_complex_values(name: str, pair: tuple[Any, Any]) -> None:
    check_rule(getattr(np, name), *pair)


def test_float_power_widens_as_numpy() -> None:
    check_rule(np.float_power, Z, ZM, float32=False)
    assert np.float_power(Z.astype(numpy.complex64), 2.0).dtype == numpy.complex128


def test_angle_in_degrees_and_kinks_at_zero() -> None:
    check_rule(lambda z: np.angle(z, deg=True), Z)
    z = numpy.array([0j, 1 + 1j])
    for f in (np.abs, np.angle, np.sign):
        g = cr.grad(lambda v, f=f: np.sum(np.real(f(v))))(z)
        assert g[0] == 0 and numpy.isfinite(g).all()
    # of real values, sign is piecewise constant (a plain array) and angle has derivative 0
    assert (
        type(cr.grad(lambda x: np.sum(np.sign(x) * x))(numpy.array([-2.0, 3.0]))) is numpy.ndarray
    )
    assert cr.grad(lambda x: np.sum(np.angle(x)))(numpy.array([-2.0, 3.0])).tolist() == [0, 0]


def test_methods_and_properties_of_traced_complex_values() -> None:
    check_rule(lambda z: z.conj() * z.imag + z.real * z.conjugate(), Z)


def test_check_grads_catches_a_rule_missing_its_conjugate() -> None:
    @cr.custom_vjp
    def bad_abs(z: Any) -> Any:
        return np.abs(z)

    bad_abs.defvjp(lambda z: (np.abs(z), z), lambda z, g: (g * z / np.abs(z),))  # not conj(z)
    with pytest.raises(AssertionError, match="reverse mode"):
        cr.check_grads(bad_abs, (Z,), order=1, modes="rev")
    cr.check_grads(np.abs, (Z,), order=2)


def test_numerical_grad_and_jacobian_of_complex_inputs() -> None:
    f = lambda z: numpy.sum(numpy.abs(z) ** 2 + z.real)
    numpy.testing.assert_allclose(cr.numerical_grad(f, Z), 2 * numpy.conj(Z) + 1, rtol=1e-8)
    tree = {"a": Z, "b": numpy.array([2.0])}
    g = cr.numerical_grad(lambda t: f(t["a"]) + numpy.sum(t["b"] ** 2), tree)
    numpy.testing.assert_allclose(g["a"], 2 * numpy.conj(Z) + 1, rtol=1e-8)
    assert g["b"].dtype == numpy.float64 and g["a"].dtype == numpy.complex128
    numpy.testing.assert_allclose(
        numerical_jacobian(numpy.exp, Z), numpy.diag(numpy.exp(Z)), rtol=1e-8
    )


def test_a_rule_giving_a_real_value_a_complex_tangent_is_an_error_not_a_cast() -> None:
    from chainrule.core.primitive import defjvp, defvjp, primitive

    bad = primitive(lambda z: numpy.abs(z), "bad_abs")
    defjvp(bad, lambda t, ans, z: t * 1j)
    defvjp(bad, lambda g, ans, z: g * 1j)
    with pytest.raises(TypeError, match="complex \\(co\\)tangent"):
        cr.jvp(bad, (numpy.array(1j),), (numpy.array(1 + 0j),))
    with pytest.raises(TypeError, match="complex \\(co\\)tangent"):
        cr.grad(lambda x: bad(x))(numpy.array(2.0))
