"""Every elementwise function: forward and reverse, to second order, batched, float32."""

from __future__ import annotations

import math
from typing import Any

import numpy
import pytest

import chainrule as cr
import chainrule.numpy as np
from rulecheck import check_rule

rng = numpy.random.default_rng(0)

# Input domains: each function is checked where it is smooth.
ANY = (-2.0, 2.0)
POS = (0.3, 3.0)
UNIT = (-0.9, 0.9)
ABOVE1 = (1.2, 3.0)
NONZERO = (0.4, 2.0)  # sign chosen at random below, kept away from 0

UNARY = {
    "negative": (np.negative, ANY),
    "positive": (np.positive, ANY),
    "square": (np.square, ANY),
    "sqrt": (np.sqrt, POS),
    "cbrt": (np.cbrt, POS),
    "reciprocal": (np.reciprocal, NONZERO),
    "exp": (np.exp, ANY),
    "exp2": (np.exp2, ANY),
    "expm1": (np.expm1, ANY),
    "log": (np.log, POS),
    "log2": (np.log2, POS),
    "log10": (np.log10, POS),
    "log1p": (np.log1p, POS),
    "sin": (np.sin, ANY),
    "cos": (np.cos, ANY),
    "tan": (np.tan, UNIT),
    "arcsin": (np.arcsin, UNIT),
    "arccos": (np.arccos, UNIT),
    "arctan": (np.arctan, ANY),
    "sinh": (np.sinh, ANY),
    "cosh": (np.cosh, ANY),
    "tanh": (np.tanh, ANY),
    "arcsinh": (np.arcsinh, ANY),
    "arccosh": (np.arccosh, ABOVE1),
    "arctanh": (np.arctanh, UNIT),
    "abs": (np.abs, NONZERO),
    "absolute": (np.absolute, NONZERO),
    "fabs": (np.fabs, NONZERO),
    "real": (np.real, ANY),
    "deg2rad": (np.deg2rad, ANY),
    "rad2deg": (np.rad2deg, ANY),
    "sinc": (np.sinc, NONZERO),
    "power_const": (lambda x: x**3, ANY),
    "power_half": (lambda x: x**0.5, POS),
    "rpow": (lambda x: 2.0**x, ANY),
    "clip": (lambda x: np.clip(x, -1.0, 1.0), ANY),
    "clip_method": (lambda x: x.clip(-1.0, None), ANY),
}

BINARY = {
    "add": (np.add, ANY, ANY),
    "subtract": (np.subtract, ANY, ANY),
    "multiply": (np.multiply, ANY, ANY),
    "divide": (np.divide, ANY, NONZERO),
    "true_divide": (np.true_divide, ANY, NONZERO),
    "power": (np.power, POS, ANY),
    "float_power": (np.float_power, POS, ANY),
    "arctan2": (np.arctan2, ANY, NONZERO),
    "hypot": (np.hypot, NONZERO, NONZERO),
    "logaddexp": (np.logaddexp, ANY, ANY),
    "logaddexp2": (np.logaddexp2, ANY, ANY),
    "maximum": (np.maximum, ANY, ANY),
    "minimum": (np.minimum, ANY, ANY),
    "fmax": (np.fmax, ANY, ANY),
    "fmin": (np.fmin, ANY, ANY),
    "remainder": (np.remainder, POS, (3.5, 4.0)),
    "fmod": (np.fmod, POS, (3.5, 4.0)),
    "divmod": (lambda x, y: np.divmod(x, y)[0] + np.divmod(x, y)[1], POS, (3.5, 4.0)),
    "operators": (lambda x, y: (x + 1.0) * y - x / y + y**2.0 - (-x), ANY, NONZERO),
}

# NumPy computes these in float64 whatever the input dtype, so float32 is not preserved.
FLOAT64_ONLY = {"float_power"}

SHAPES = {"scalar": (), "vector": (4,), "matrix": (2, 3)}
PAIRS = {
    "same": ((2, 3), (2, 3)),
    "row": ((2, 3), (3,)),
    "column": ((2, 1), (1, 3)),
    "scalar_left": ((), (2, 3)),
}


def sample(domain: tuple[float, float], shape: tuple[int, ...]) -> numpy.ndarray:
    x = rng.uniform(*domain, size=shape)
    if domain is NONZERO:
        x = x * rng.choice([-1.0, 1.0], size=shape)
    return numpy.asarray(x, dtype=numpy.float64)


@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES.keys())
@pytest.mark.parametrize("name", UNARY)
def test_unary(name: str, shape: tuple[int, ...]) -> None:
    fun, domain = UNARY[name]
    x = sample(domain, shape)
    if name.startswith("clip"):
        x = x + 0.05 * (numpy.abs(numpy.abs(x) - 1.0) < 0.05)  # away from the kinks
    check_rule(fun, x)


@pytest.mark.parametrize("shapes", PAIRS.values(), ids=PAIRS.keys())
@pytest.mark.parametrize("name", BINARY)
def test_binary(name: str, shapes: tuple[tuple[int, ...], tuple[int, ...]]) -> None:
    fun, dom_x, dom_y = BINARY[name]
    x, y = sample(dom_x, shapes[0]), sample(dom_y, shapes[1])
    if name in ("maximum", "minimum", "fmax", "fmin"):
        y = y + 0.3 * numpy.sign(y - x + 1e-9) * (numpy.abs(y - x) < 0.1)  # no near-ties
    check_rule(fun, x, y, float32=name not in FLOAT64_ONLY)


def test_where_differentiates_both_branches() -> None:
    x, y = sample(ANY, (2, 3)), sample(ANY, (3,))
    cond = x > 0
    check_rule(lambda a, b: np.where(cond, a * a, np.sin(b)), x, y)
    g = cr.grad(lambda a: np.where(a > 0, a**2, -a).sum())(numpy.array([-1.0, 2.0]))
    numpy.testing.assert_array_equal(g, [-1.0, 4.0])


def test_clip_with_traced_bounds() -> None:
    x = numpy.array([-2.0, 0.5, 3.0])
    lo, hi = numpy.array(-1.0), numpy.array(1.0)
    check_rule(lambda a, b, c: np.clip(a, b, c), x, lo, hi)
    grads = cr.grad(lambda a, b, c: np.clip(a, b, c).sum(), argnums=(0, 1, 2))(x, lo, hi)
    numpy.testing.assert_array_equal(grads[0], [0.0, 1.0, 0.0])
    assert grads[1] == 1.0 and grads[2] == 1.0


# ---------------------------------------------------------------- subgradient conventions


def test_relu_as_maximum_has_zero_derivative_at_zero() -> None:
    relu = cr.elementwise_grad(lambda x: np.maximum(x, 0.0))
    numpy.testing.assert_array_equal(relu(numpy.array([-1.0, 0.0, 2.0])), [0.0, 0.0, 1.0])


@pytest.mark.parametrize("fn", [np.maximum, np.minimum, np.fmax, np.fmin])
def test_ties_do_not_depend_on_argument_order(fn: Any) -> None:
    # Two traced values that tie share the derivative equally (torch.maximum, JAX, autograd).
    gx, gy = cr.grad(lambda x, y: fn(x, y), argnums=(0, 1))(1.0, 1.0)
    assert (gx, gy) == (0.5, 0.5)
    fwd = [cr.jvp(lambda x, y: fn(x, y), (1.0, 1.0), t)[1] for t in ((1.0, 0.0), (0.0, 1.0))]
    assert fwd == [0.5, 0.5]
    assert cr.grad(lambda x: fn(x, x))(1.0) == 1.0  # the total derivative of f(x, x) = x
    # A traced value tied with a constant gets 0, whichever side it is on (ReLU's convention).
    for f in (lambda x: fn(x, 0.0), lambda x: fn(0.0, x)):
        assert cr.grad(f)(0.0) == 0.0
        assert cr.derivative(f)(0.0) == 0.0
        assert cr.grad(cr.grad(f))(0.0) == 0.0


def test_relu_written_either_way_has_derivative_zero_at_zero() -> None:
    x = numpy.array([-1.0, 0.0, 2.0])
    for relu in (lambda v: np.maximum(v, 0.0), lambda v: np.maximum(0.0, v)):
        numpy.testing.assert_array_equal(cr.elementwise_grad(relu)(x), [0.0, 0.0, 1.0])
        g = cr.grad(lambda v, relu=relu: np.sum(relu(v) * -2.0))(x)
        assert not numpy.signbit(g[:2]).any()  # unselected zeros are +0, as `where` gives
        numpy.testing.assert_array_equal(cr.elementwise_grad(relu)(x.astype(numpy.float32)),
                                         numpy.array([0.0, 0.0, 1.0], numpy.float32))  # fmt: skip


def test_fmax_ignores_nan() -> None:
    gx, gy = cr.grad(lambda x, y: np.fmax(x, y), argnums=(0, 1))(1.0, numpy.nan)
    assert (gx, gy) == (1.0, 0.0)


def test_abs_and_sign_at_zero() -> None:
    assert cr.grad(np.abs)(0.0) == 0.0
    assert cr.grad(lambda x: np.sign(x) * 3.0)(0.5) == 0.0


def test_clip_boundaries_are_inside() -> None:
    g = cr.elementwise_grad(lambda x: np.clip(x, -1.0, 1.0))(numpy.array([-1.0, 1.0, 1.5]))
    numpy.testing.assert_array_equal(g, [1.0, 1.0, 0.0])


def test_hypot_at_origin_is_finite() -> None:
    gx, gy = cr.grad(lambda x, y: np.hypot(x, y), argnums=(0, 1))(0.0, 0.0)
    assert (gx, gy) == (0.0, 0.0)


def test_power_derivative_in_exponent_at_zero_base() -> None:
    assert cr.grad(lambda y: np.power(0.0, y), argnums=0)(2.0) == 0.0
    assert cr.grad(lambda x: x**0.0)(0.0) == 0.0


# ---------------------------------------------------------------- numerical stability


def test_log1p_and_expm1_keep_precision_near_zero() -> None:
    x = 1e-12
    assert cr.grad(np.log1p)(x) == pytest.approx(1.0 / (1.0 + x), rel=1e-15)
    assert cr.grad(np.expm1)(x) == pytest.approx(math.exp(x), rel=1e-15)


def test_logaddexp_gradient_is_finite_for_huge_inputs() -> None:
    gx, gy = cr.grad(np.logaddexp, argnums=(0, 1))(1000.0, 999.0)
    assert gx == pytest.approx(1.0 / (1.0 + math.exp(-1.0)))
    assert gy == pytest.approx(1.0 / (1.0 + math.exp(1.0)))


# ---------------------------------------------------------------- NumPy dispatch


def test_plain_numpy_ufuncs_dispatch_on_traced_values() -> None:
    f = lambda x: numpy.sum(numpy.sin(x) * numpy.exp(x)) + numpy.float64(2.0) * x[0]
    x = numpy.array([0.3, 0.6])
    expected = numpy.cos(x) * numpy.exp(x) + numpy.sin(x) * numpy.exp(x) + [2.0, 0.0]
    numpy.testing.assert_allclose(cr.grad(f)(x), expected)


def test_ndarray_on_the_left_of_an_operator() -> None:
    w = numpy.array([1.0, 2.0])
    g = cr.grad(lambda x: (w * x + w / x - w**x).sum())(numpy.array([1.0, 1.5]))
    x = numpy.array([1.0, 1.5])
    numpy.testing.assert_allclose(g, w - w / x**2 - numpy.log(w) * w**x)


def test_ufunc_without_rule_names_the_function() -> None:
    with pytest.raises(TypeError, match=r"numpy\.spacing has no derivative rule"):
        cr.grad(lambda x: numpy.spacing(x))(1.0)
    with pytest.raises(TypeError, match=r"numpy\.nextafter\.outer"):  # (a ufunc method too)
        cr.grad(lambda x: numpy.sum(numpy.nextafter.outer(x, x)))(numpy.ones(2))
    assert cr.grad(lambda x: numpy.add.reduce(x))(numpy.ones(2)).tolist() == [1.0, 1.0]


def test_outside_a_transform_results_are_plain_arrays() -> None:
    out = np.sin(numpy.ones(3)) + np.maximum(numpy.ones(3), 2.0)
    assert type(out) is numpy.ndarray
    assert np.float32 is numpy.float32 and np.zeros is numpy.zeros and np.pi == numpy.pi


# ---------------------------------------------------------------------------- vmap


def test_vmap_combines_batched_masks_with_bitwise_operators() -> None:
    x = numpy.linspace(-6.0, 6.0, 12).reshape(3, 4)

    def f(v: Any) -> Any:
        return np.where((v > 0) & ~(v > 2) | (v < -5) ^ False, v * v, 0.0)

    loop = numpy.stack([f(v) for v in x])
    numpy.testing.assert_array_equal(cr.vmap(f)(x), loop)
    grads = cr.vmap(cr.grad(lambda v: np.sum(f(v))))(x)
    numpy.testing.assert_array_equal(
        grads, numpy.stack([cr.grad(lambda v: np.sum(f(v)))(v) for v in x])
    )


def test_vmap_of_abs_sign_and_sinc_gradients() -> None:
    x = numpy.array([[-1.5, 0.0, 2.0], [0.5, -0.25, 0.0]])
    for fun in (np.abs, np.fabs, np.sign, np.sinc, lambda v: np.angle(v + 1j)):
        scalar = lambda v, fun=fun: np.sum(np.real(fun(v)))
        numpy.testing.assert_allclose(cr.vmap(cr.grad(scalar))(x),
                                      numpy.stack([cr.grad(scalar)(v) for v in x]), rtol=1e-15)  # fmt: skip


def test_vmap_of_imag_of_real_values_is_zeros() -> None:
    numpy.testing.assert_array_equal(cr.vmap(np.imag)(numpy.ones((2, 3))), numpy.zeros((2, 3)))


@pytest.mark.parametrize("name", ["maximum", "minimum", "fmax", "fmin"])
def test_vmap_of_a_tie_with_a_batch_of_constants_keeps_the_constants_convention(
    name: str,
) -> None:
    # each example ties x with a constant y: derivative 0 for x, as without vmap (not the
    # 1/2 of two traced values, though y arrives as a batch tracer)
    x, y = numpy.array([1.0, 2.0, 3.0]), numpy.array([1.0, 0.0, 5.0])
    grad = cr.grad(lambda x, y: getattr(np, name)(x, y))
    want = [grad(a, b) for a, b in zip(x, y, strict=True)]
    assert want[0] == 0.0
    numpy.testing.assert_array_equal(cr.vmap(grad)(x, y), want)
    both = cr.grad(lambda x: getattr(np, name)(x, x * 1.0))  # two traced values still share
    numpy.testing.assert_array_equal(cr.vmap(both)(x), [both(a) for a in x])


def test_sign_of_a_plain_array_is_numpys_own(monkeypatch: pytest.MonkeyPatch) -> None:
    # A primitive call with no tracer costs one type check: plain arrays never reach the
    # vmap-aware `nondiff` path (which made `sign` 3x slower).
    from chainrule.numpy.rules import elementwise

    def refused(*args: Any) -> None:
        raise AssertionError("plain sign went through nondiff")

    monkeypatch.setattr(elementwise, "_real_sign", refused)
    x = numpy.array([-2.0, 0.0, 3.0])
    numpy.testing.assert_array_equal(np.sign(x), numpy.sign(x))
    assert np.sign(-1.5) == -1.0


def test_a_boolean_squared_by_the_operator_is_int8_as_numpys() -> None:
    """Found by fuzzing: NumPy's ``**`` squares for an exponent of 2 (int8 for booleans);
    traced, it was `power` (int64)."""
    b = numpy.array([True, False, True])
    for e, dtype in ((2, numpy.int8), (2.0, numpy.float64), (numpy.int64(2), numpy.int64)):
        want = b**e
        power = lambda x, e=e: x**e
        for got in (cr.jit(power)(b), cr.vmap(power)(b[None])[0]):
            assert got.dtype == want.dtype == dtype
            numpy.testing.assert_array_equal(got, want)
