"""Activations of `chainrule.nn.functional`: derivatives, exact values, stability, PyTorch."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy
import pytest

import chainrule as cr
from chainrule.nn import functional as F

# name -> (chainrule activation, name of torch.nn.functional's, keyword arguments)
ACTIVATIONS: dict[str, tuple[Callable[..., Any], str, dict[str, Any]]] = {
    "sigmoid": (F.sigmoid, "sigmoid", {}),
    "tanh": (F.tanh, "tanh", {}),
    "relu": (F.relu, "relu", {}),
    "leaky_relu": (F.leaky_relu, "leaky_relu", {}),
    "leaky_relu_0.2": (F.leaky_relu, "leaky_relu", {"negative_slope": 0.2}),
    "gelu": (F.gelu, "gelu", {}),
    "gelu_tanh": (F.gelu, "gelu", {"approximate": "tanh"}),
    "softplus": (F.softplus, "softplus", {}),
    "softplus_beta": (F.softplus, "softplus", {"beta": 2.0, "threshold": 5.0}),
    "softmax": (F.softmax, "softmax", {}),
    "log_softmax": (F.log_softmax, "log_softmax", {}),
}
ELEMENTWISE = [n for n in ACTIVATIONS if "softmax" not in n]

# Points away from the kinks (0, and softplus's threshold), where derivatives exist.
SMOOTH_X = numpy.array([[-2.3, -0.7, 0.4, 1.1], [3.2, -1.6, 0.9, -0.2], [0.6, 2.2, -3.1, 1.7]])
EXTREME = numpy.array([-1000.0, -100.0, -30.0, -1.0, 0.0, 1.0, 30.0, 100.0, 1000.0])


def _apply(name: str, x: Any) -> Any:
    fn, _, kwargs = ACTIVATIONS[name]
    return fn(x, **kwargs)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_derivatives_to_second_order(name: str) -> None:
    cr.check_grads(lambda x: _apply(name, x), (SMOOTH_X,), order=2)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_derivatives_along_axis_0(name: str) -> None:
    fn = ACTIVATIONS[name][0]
    cr.check_grads(lambda x: fn(x, axis=0), (SMOOTH_X,), order=2)


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_extreme_inputs_are_finite_in_float32(name: str) -> None:
    x = EXTREME.astype(numpy.float32)
    y = _apply(name, x)
    g = cr.grad(lambda v: cr.numpy.sum(_apply(name, v) * numpy.float32(0.5)))(x)
    h = cr.hessian(lambda v: _apply(name, v)[3])(x)
    for out in (y, g, h):
        assert out.dtype == numpy.float32
        assert numpy.isfinite(out).all()


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise_second_derivative_is_finite_at_extremes(name: str) -> None:
    second = cr.elementwise_grad(cr.elementwise_grad(lambda v: _apply(name, v)))
    assert numpy.isfinite(second(EXTREME)).all()


def test_relu_and_leaky_relu_kinks_follow_pytorch() -> None:
    x = numpy.array([-2.0, 0.0, 3.0])
    assert cr.elementwise_grad(F.relu)(x).tolist() == [0.0, 0.0, 1.0]
    assert F.relu(x).tolist() == [0.0, 0.0, 3.0]
    slope = cr.elementwise_grad(lambda v: F.leaky_relu(v, 0.25))(x)
    assert slope.tolist() == [0.25, 0.25, 1.0]
    assert F.leaky_relu(x).tolist() == [-0.02, 0.0, 3.0]


def test_exact_values() -> None:
    assert F.sigmoid(0.0) == 0.5
    assert float(F.tanh(0.5)) == math.tanh(0.5)
    assert float(F.gelu(1.0)) == pytest.approx(0.8413447460685429, abs=1e-15)
    assert float(F.gelu(-1.0)) == pytest.approx(-0.15865525393145707, abs=1e-15)
    u = math.sqrt(2.0 / math.pi) * (1.0 + 0.044715)
    assert float(F.gelu(1.0, approximate="tanh")) == pytest.approx(0.5 * (1.0 + math.tanh(u)))
    assert float(F.softplus(0.0)) == pytest.approx(math.log(2.0), abs=1e-15)
    assert float(F.softplus(1.0, beta=2.0)) == pytest.approx(math.log1p(math.exp(2.0)) / 2.0)
    numpy.testing.assert_allclose(
        F.softmax(numpy.log(numpy.array([[1.0, 3.0], [2.0, 2.0]]))), [[0.25, 0.75], [0.5, 0.5]]
    )
    numpy.testing.assert_allclose(
        F.log_softmax(numpy.array([0.0, 0.0, 0.0, 0.0])), numpy.full(4, -math.log(4.0))
    )


def test_softplus_is_linear_above_threshold() -> None:
    x = numpy.array([20.0, 20.5, 3.0])
    y = F.softplus(x)
    assert y[1] == 20.5  # beta * x > threshold: exactly x
    assert y[0] == pytest.approx(math.log1p(math.exp(20.0)), abs=1e-12)
    assert cr.elementwise_grad(F.softplus)(x)[1] == 1.0
    # beta * x = 6 > threshold 5: linear; beta * x = 4: the smooth branch.
    z = F.softplus(numpy.array([3.0, 2.0]), beta=2.0, threshold=5.0)
    assert z[0] == 3.0
    assert z[1] == pytest.approx(math.log1p(math.exp(4.0)) / 2.0)


def test_softmax_axis_and_normalisation() -> None:
    x = numpy.random.default_rng(0).standard_normal((3, 5)).astype(numpy.float32)
    numpy.testing.assert_allclose(F.softmax(x).sum(axis=-1), numpy.ones(3), rtol=1e-6)
    numpy.testing.assert_allclose(F.softmax(x, axis=0).sum(axis=0), numpy.ones(5), rtol=1e-6)
    # exp turns log_softmax's absolute error, ulps of |x| + |logsumexp x|, into a relative one.
    scale = abs(x).max() + abs(numpy.log(numpy.exp(x).sum(axis=0))).max()
    numpy.testing.assert_allclose(
        numpy.exp(F.log_softmax(x, axis=0)), F.softmax(x, axis=0), rtol=1e-6 * (1 + scale)
    )


def test_gelu_rejects_unknown_approximation() -> None:
    with pytest.raises(
        ValueError, match="gelu: approximate must be one of 'none', 'tanh'; got 'erf'"
    ):
        F.gelu(numpy.ones(2), approximate="erf")


# ----------------------------------------------------------------------------- PyTorch


@pytest.fixture(scope="module")
def torch() -> Any:
    return pytest.importorskip("torch")


def _oracle_inputs() -> list[numpy.ndarray]:
    rng = numpy.random.default_rng(1)
    wide = rng.standard_normal((16, 12)) * 4.0
    wide[0, :9] = EXTREME
    wide[1, :6] = [19.9, 20.0, 20.1, 2.4, 2.5, 2.6]  # near softplus' thresholds (20, 5 / 2)
    wide[2, :3] = [-1e-3, 0.0, 1e-3]
    return [wide.astype(numpy.float32), (rng.standard_normal(7) * 1000.0).astype(numpy.float32)]


@pytest.mark.oracle
@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_matches_torch_in_float32(torch: Any, name: str) -> None:
    _, torch_name, kwargs = ACTIVATIONS[name]
    torch_fn = getattr(torch.nn.functional, torch_name)
    if "softmax" in name:
        kwargs = {**kwargs, "dim": -1}
    rng = numpy.random.default_rng(2)
    for x in _oracle_inputs():
        u = rng.standard_normal(x.shape).astype(numpy.float32)
        value = _apply(name, x)
        grad = cr.grad(lambda v, u=u: cr.numpy.sum(_apply(name, v) * u))(x)
        xt = torch.tensor(x, requires_grad=True)
        yt = torch_fn(xt, **kwargs)
        (yt * torch.tensor(u)).sum().backward()
        assert value.dtype == grad.dtype == numpy.float32
        # A few float32 ulps (8 eps ~ 1e-6) of the terms' size, which is |x| where they cancel:
        # torch's float32 gelu ½x(1 + erf(x/√2)) loses ~|x| eps in the left tail (ours: ndtr)
        # while 1 + erf is above eps, for |x| < 6; beyond, both are exact. Gradients sum such
        # terms weighted by the cotangent u (softmax's across a row): times max |u|.
        size = numpy.clip(abs(x), 1.0, 6.0)
        expected, expected_grad = yt.detach().numpy(), xt.grad.numpy()
        numpy.testing.assert_array_less(abs(value - expected), 1e-6 * (abs(expected) + size))
        numpy.testing.assert_array_less(
            abs(grad - expected_grad), 1e-6 * (abs(expected_grad) + size * abs(u).max())
        )


# --- linear: the fused dense-layer primitive ---------------------------------------------

_RNG = numpy.random.default_rng(7)
# x shapes: one sample, a batch, and a stack of batches (leading axes folded into rows).
LINEAR_X_SHAPES = [(3,), (4, 3), (2, 4, 3)]


@pytest.mark.parametrize("shape", LINEAR_X_SHAPES, ids=str)
@pytest.mark.parametrize("with_bias", [True, False], ids=["bias", "no_bias"])
def test_linear_rules(shape: tuple[int, ...], with_bias: bool) -> None:
    from rulecheck import check_rule

    x, w, b = _RNG.standard_normal(shape), _RNG.standard_normal((2, 3)), _RNG.standard_normal(2)
    if with_bias:
        check_rule(F.linear, x, w, b)
    else:
        check_rule(lambda x, w: F.linear(x, w), x, w)


@pytest.mark.parametrize("shape", LINEAR_X_SHAPES, ids=str)
def test_linear_equals_product_plus_bias(shape: tuple[int, ...]) -> None:
    """PyTorch's layout: weight (out, in), ``x @ weight.T + bias`` (the study guides' XWᵀ + b)."""
    x, w, b = _RNG.standard_normal(shape), _RNG.standard_normal((2, 3)), _RNG.standard_normal(2)
    numpy.testing.assert_array_equal(F.linear(x, w, b), x @ w.T + b)
    grads = cr.grad(lambda *a: cr.numpy.sum(F.linear(*a) ** 2), argnums=(0, 1, 2))(x, w, b)
    expect = cr.grad(lambda x, w, b: cr.numpy.sum((x @ w.T + b) ** 2), argnums=(0, 1, 2))(x, w, b)
    assert grads[1].shape == (2, 3)
    for got, want in zip(grads, expect, strict=True):
        numpy.testing.assert_allclose(got, want, rtol=1e-12)


def test_linear_keeps_dtypes_and_never_writes_its_inputs() -> None:
    x = _RNG.standard_normal((4, 3)).astype(numpy.float32)
    w = _RNG.standard_normal((2, 3)).astype(numpy.float32)
    b64 = numpy.array([1.0, 2.0])
    assert F.linear(x, w, b64.astype(numpy.float32)).dtype == numpy.float32
    # A float64 bias promotes, as x @ w.T + b does, rather than being rounded into float32.
    out = F.linear(x, w, b64)
    assert out.dtype == numpy.float64
    numpy.testing.assert_array_equal(out, x @ w.T + b64)
    before = [a.copy() for a in (x, w, b64)]
    F.linear(x, w, b64)
    for a, a0 in zip((x, w, b64), before, strict=True):
        numpy.testing.assert_array_equal(a, a0)


@pytest.mark.parametrize(
    ("x", "w", "b", "match"),
    [
        (numpy.ones((4, 3)), numpy.ones((2, 2)), None, r"last axis of x must have size 2"),
        # the transposed (in, out) layout is refused, not silently multiplied
        (numpy.ones((4, 3)), numpy.ones((3, 2)), None, r"\(3, 2\) \(out, in\): the last axis"),
        (numpy.ones((4, 3)), numpy.ones(3), None, r"weight must be a matrix"),
        (numpy.ones((4, 3)), numpy.ones((2, 3)), numpy.ones(3), r"bias must have shape \(2,\)"),
    ],
)
def test_linear_bad_shapes(x: Any, w: Any, b: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        F.linear(x, w, b)


@pytest.mark.oracle
@pytest.mark.parametrize("shape", LINEAR_X_SHAPES, ids=str)
def test_linear_matches_torch_functional_linear(shape: tuple[int, ...]) -> None:
    """The same (out, in) weight in both libraries: same values and gradients."""
    torch = pytest.importorskip("torch")
    x, w, b = _RNG.standard_normal(shape), _RNG.standard_normal((2, 3)), _RNG.standard_normal(2)
    tensors = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
    ys = torch.nn.functional.linear(*tensors)
    (ys**2).sum().backward()
    numpy.testing.assert_allclose(F.linear(x, w, b), ys.detach().numpy(), rtol=1e-12, atol=1e-14)
    grads = cr.grad(lambda *a: cr.numpy.sum(F.linear(*a) ** 2), argnums=(0, 1, 2))(x, w, b)
    for ours, t in zip(grads, tensors, strict=True):
        numpy.testing.assert_allclose(ours, t.grad.numpy(), rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("dtype", [numpy.float16, numpy.float32, numpy.float64])
def test_linear_bias_gradient_is_the_sum_over_rows_in_its_dtype(dtype: Any) -> None:
    # (float32 and float64: BLAS's 1ᵀ G, float16: NumPy's sum; a stack of batches is rows)
    x = _RNG.standard_normal((2, 5, 3)).astype(dtype)
    w, b = _RNG.standard_normal((4, 3)).astype(dtype), numpy.zeros(4, dtype)
    g = _RNG.standard_normal((2, 5, 4)).astype(dtype)
    _, pullback = cr.vjp(lambda b: F.linear(x, w, b), b)
    (db,) = pullback(g)
    assert db.dtype == dtype
    exact = g.astype(numpy.float64).sum(axis=(0, 1))
    bound = 10 * numpy.finfo(dtype).eps * numpy.abs(g.astype(numpy.float64)).sum(axis=(0, 1))
    assert numpy.all(numpy.abs(db - exact) <= bound)  # (a sum of 10 terms: 10 eps Σ|g|)


def test_linear_gradients_of_a_stack_with_no_output_features() -> None:
    x, w, b = numpy.ones((2, 5, 3)), numpy.ones((0, 3)), numpy.zeros(0)
    grads = cr.grad(lambda *a: cr.numpy.sum(F.linear(*a)), argnums=(0, 1, 2))(x, w, b)
    assert [g.shape for g in grads] == [(2, 5, 3), (0, 3), (0,)]
    numpy.testing.assert_array_equal(grads[0], numpy.zeros((2, 5, 3)))
