"""numerical_grad and check_grads: the witnesses must be right, and must catch wrong rules."""

from __future__ import annotations

from typing import Any

import numpy
import pytest

import chainrule as cr
import chainrule.numpy as np
from chainrule.check import numerical_jacobian


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
    with pytest.raises(TypeError, match=r"args must be a tuple .* such as \(x,\), got ndarray"):
        cr.check_grads(np.sin, numpy.array([0.5, 1.0]))  # would be split into two arguments


# ---------------------------------------------------------------- the witness is never silently wrong


def _quadratic(x: Any) -> Any:
    """``sum(c * x**2)`` with a different weight per entry, so a wrong entry shows."""
    c = numpy.arange(1.0, 1.0 + numpy.size(x)).reshape(numpy.shape(x))
    return np.sum(c * x**2)


def _quadratic_grad(x: Any) -> Any:
    c = numpy.arange(1.0, 1.0 + numpy.size(x)).reshape(numpy.shape(x))
    return 2 * c * numpy.asarray(x, numpy.float64)


@pytest.mark.parametrize(
    "make",
    [
        lambda a: a.T,
        numpy.asfortranarray,
        lambda a: a[:, ::2],
        lambda a: numpy.broadcast_to(a[:1], a.shape),
    ],
    ids=["transpose", "fortran", "strided", "broadcast"],
)
def test_numerical_grad_of_non_contiguous_inputs(make: Any) -> None:
    x = make(numpy.linspace(-1.0, 2.0, 12).reshape(3, 4))
    g = cr.numerical_grad(_quadratic, x)
    # central differences are exact for a quadratic, up to rounding: |2 c x| h / h ~ 1e-10
    numpy.testing.assert_allclose(g, _quadratic_grad(x), rtol=1e-8, atol=1e-8)
    numpy.testing.assert_allclose(g, cr.grad(_quadratic)(x), rtol=1e-8, atol=1e-8)
    jac = numerical_jacobian(lambda v: v * 3.0, x)
    numpy.testing.assert_allclose(jac.reshape(x.size, x.size), 3 * numpy.eye(x.size), atol=1e-8)


@pytest.mark.parametrize("dtype", [numpy.float16, "bfloat16", numpy.float32])
def test_numerical_grad_of_low_precision_inputs(dtype: Any) -> None:
    if dtype == "bfloat16":
        dtype = pytest.importorskip("ml_dtypes").bfloat16
    x = numpy.array([0.5, 1.5, -2.0], dtype)
    g = cr.numerical_grad(_quadratic, x)
    assert g.dtype == x.dtype
    # the differences are taken in float64: exact up to rounding the result to x's dtype
    eps = float(numpy.finfo(x.dtype).eps)
    numpy.testing.assert_allclose(g.astype(numpy.float64), _quadratic_grad(x), rtol=eps)
    # float32 at 1000: its spacing 6e-5 is above the default step, which moved nothing
    assert cr.numerical_grad(lambda v: v**2, numpy.float32(1000.0)) == pytest.approx(2000.0)


def test_numerical_grad_divides_by_the_step_actually_taken() -> None:
    # at 1e11 the spacing of float64 is 1.5e-5: x + 1e-5 rounds to x + 1.5e-5, and dividing
    # by 2h would be off by half (v - 1e11 is exact, so nothing else rounds)
    assert cr.numerical_grad(lambda v: 3.0 * (v - 1e11), 1e11) == pytest.approx(3.0, rel=1e-12)


@pytest.mark.parametrize(
    ("h", "error", "message"),
    [
        (0.0, ValueError, r"numerical_grad of `f`: the step h must be a finite number > 0"),
        (-1e-5, ValueError, "finite number > 0, got -1e-05"),
        (float("nan"), ValueError, "finite number > 0, got nan"),
        (float("inf"), ValueError, "finite number > 0, got inf"),
        ("1e-5", TypeError, "must be a real number, got '1e-5'"),
        (True, TypeError, "must be a real number, got True"),
    ],
)
def test_numerical_grad_refuses_a_bad_step(h: Any, error: type, message: str) -> None:
    def f(x: Any) -> Any:
        return x**2

    with pytest.raises(error, match=message):
        cr.numerical_grad(f, 1.0, h=h)
    with pytest.raises(error, match=message.replace("numerical_grad", "numerical_jacobian")):
        numerical_jacobian(f, numpy.ones(2), h=h)


def test_numerical_grad_refuses_a_step_that_does_not_move_x() -> None:
    with pytest.raises(ValueError, match=r"h=1e-05 does not change the entry 1e\+30 of x"):
        cr.numerical_grad(lambda v: np.sum(v**2), numpy.array([1.0, 1e30]))


def test_numerical_grad_refuses_what_it_cannot_perturb() -> None:
    with pytest.raises(TypeError, match="every leaf of x must be a number or array"):
        cr.numerical_grad(lambda v: v, numpy.array(["a"]))
    with pytest.raises(TypeError, match="must return a numeric array or number, got dict"):
        numerical_jacobian(lambda v: {"a": v}, 1.0)
    assert numerical_jacobian(lambda v: v.sum() * numpy.ones(2), numpy.ones(0)).shape == (2, 0)


def test_numerical_grad_leaves_the_callers_array_alone() -> None:
    x = numpy.array([1.0, 2.0])

    def f(v: Any) -> Any:
        v *= 2.0  # a function that writes into its input sees a fresh copy each time
        return numpy.sum(v**2)

    numpy.testing.assert_allclose(cr.numerical_grad(f, x), [8.0, 16.0], rtol=1e-8)
    numpy.testing.assert_array_equal(x, [1.0, 2.0])


@pytest.mark.parametrize(
    ("order", "error", "says"),
    [(0, ValueError, "at least 1"), (-1, ValueError, "at least 1"), (1.5, TypeError, "an int"),
     (True, TypeError, "an int"), ("2", TypeError, "an int")],
)  # fmt: skip
def test_check_grads_refuses_an_order_that_checks_nothing(
    order: Any, error: Any, says: str
) -> None:
    with pytest.raises(error, match=rf"check_grads of `sin`: order must be {says}"):
        cr.check_grads(np.sin, (1.0,), order=order)


def test_check_grads_refuses_modes_and_tolerances_that_check_nothing() -> None:
    with pytest.raises(ValueError, match="no mode, so nothing is checked"):
        cr.check_grads(np.sin, (1.0,), modes=())
    with pytest.raises(ValueError, match="unknown mode 'f'"):
        cr.check_grads(np.sin, (1.0,), modes=["f", "rev"])
    with pytest.raises(ValueError, match="atol must be a finite number >= 0, got nan"):
        cr.check_grads(np.sin, (1.0,), atol=float("nan"))
    with pytest.raises(ValueError, match="rtol must be a finite number >= 0, got -1"):
        cr.check_grads(np.sin, (1.0,), rtol=-1)
    with pytest.raises(ValueError, match="eps must be a finite number > 0, got 0"):
        cr.check_grads(np.sin, (1.0,), eps=0)
    # one mode given as a string is that mode, as in JAX
    with pytest.raises(AssertionError, match="reverse mode"):
        cr.check_grads(_wrong_reverse_rule(), (numpy.array([0.3]),), modes="rev", order=1)
    cr.check_grads(_wrong_reverse_rule(), (numpy.array([0.3]),), modes="fwd", order=1)


def test_check_grads_fails_where_the_numerical_side_is_not_finite() -> None:
    @cr.custom_jvp
    def root(x: Any) -> Any:
        return np.sqrt(x)

    root.defjvp(lambda p, t: (root(p[0]), 0.0 * t[0]))  # wrong, and finite at 0
    with (
        pytest.raises(AssertionError, match=r"analytic 0.0 vs numerical nan"),
        numpy.errstate(invalid="ignore"),
    ):
        cr.check_grads(root, (numpy.array([0.0, 1.0]),), order=1, modes=("fwd",))


def test_check_grads_of_low_precision_arguments() -> None:
    ml_dtypes = pytest.importorskip("ml_dtypes")
    cr.check_grads(np.sin, (numpy.array([0.5, 1.0], ml_dtypes.bfloat16),), order=2)
    cr.check_grads(np.sin, (numpy.array([0.5, 1.0], numpy.float16),), order=2)
