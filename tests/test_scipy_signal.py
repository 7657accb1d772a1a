"""scipy.signal convolutions: values equal SciPy's, every mode through `check_rule`."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal as ss

import chainrule as cr
from chainrule.scipy import signal
from rulecheck import check_rule

SHAPES_1D = [((5,), (3,)), ((3,), (5,)), ((4,), (4,)), ((1,), (3,))]
SHAPES_2D = [((4, 3), (2, 2)), ((2, 3), (3, 4)), ((3, 3), (3, 1))]
MODES = ["full", "same", "valid"]


def rand(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)


def traced_value(f, *args):
    """The value `f` computes under a transform (through `vjp`)."""
    return np.asarray(cr.vjp(f, *args)[0])


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("sa", "sb"), SHAPES_1D + SHAPES_2D)
@pytest.mark.parametrize("name", ["convolve", "correlate", "fftconvolve"])
def test_nd_values_and_rules(name, sa, sb, mode):
    a, b = rand(*sa), rand(*sb, seed=1)
    ours, theirs = getattr(signal, name), getattr(ss, name)
    expected = theirs(a, b, mode=mode)
    np.testing.assert_array_equal(ours(a, b, mode=mode), expected)  # SciPy's own
    np.testing.assert_allclose(
        traced_value(lambda a, b: ours(a, b, mode=mode), a, b), expected, atol=1e-12
    )
    check_rule(lambda a, b: ours(a, b, mode=mode), a, b)


@pytest.mark.parametrize("method", ["direct", "fft", "auto"])
@pytest.mark.parametrize("name", ["convolve", "correlate"])
def test_method(name, method):
    a, b = rand(6), rand(3, seed=1)
    f = lambda a, b: getattr(signal, name)(a, b, mode="same", method=method)
    expected = getattr(ss, name)(a, b, mode="same", method=method)
    np.testing.assert_allclose(traced_value(f, a, b), expected, atol=1e-12)
    check_rule(f, a, b)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("sa", "sb"), SHAPES_2D)
@pytest.mark.parametrize("name", ["convolve2d", "correlate2d"])
def test_2d_values_and_rules(name, sa, sb, mode):
    a, b = rand(*sa), rand(*sb, seed=1)
    ours, theirs = getattr(signal, name), getattr(ss, name)
    expected = theirs(a, b, mode=mode)
    np.testing.assert_array_equal(ours(a, b, mode=mode), expected)
    np.testing.assert_allclose(
        traced_value(lambda a, b: ours(a, b, mode=mode), a, b), expected, atol=1e-12
    )
    check_rule(lambda a, b: ours(a, b, mode=mode), a, b)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("sa", "sb"), SHAPES_2D)
@pytest.mark.parametrize("name", ["convolve2d", "correlate2d"])
def test_2d_fillvalue(name, sa, sb, mode):
    a, b, c = rand(*sa), rand(*sb, seed=1), np.float64(1.7)
    ours, theirs = getattr(signal, name), getattr(ss, name)
    expected = theirs(a, b, mode=mode, fillvalue=c)
    np.testing.assert_array_equal(ours(a, b, mode=mode, fillvalue=c), expected)
    f = lambda a, b, c: ours(a, b, mode=mode, fillvalue=c)
    np.testing.assert_allclose(traced_value(f, a, b, c), expected, atol=1e-12)
    check_rule(f, a, b, c)


@pytest.mark.parametrize("boundary", ["wrap", "circular", "symm", "symmetric"])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("sa", "sb"), SHAPES_2D)
@pytest.mark.parametrize("name", ["convolve2d", "correlate2d"])
def test_2d_boundaries(name, sa, sb, mode, boundary):
    a, b = rand(*sa), rand(*sb, seed=1)
    ours, theirs = getattr(signal, name), getattr(ss, name)
    expected = theirs(a, b, mode=mode, boundary=boundary)
    np.testing.assert_array_equal(ours(a, b, mode=mode, boundary=boundary), expected)
    f = lambda a, b: ours(a, b, mode=mode, boundary=boundary)
    np.testing.assert_allclose(traced_value(f, a, b), expected, atol=1e-12)
    check_rule(f, a, b)


def test_scalars():
    check_rule(signal.convolve, np.float64(2.0), np.float64(3.0), batched=False)


def test_float32_value_dtype():
    a, b = rand(5).astype(np.float32), rand(3, seed=1).astype(np.float32)
    assert traced_value(lambda a, b: signal.convolve(a, b, mode="same"), a, b).dtype == np.float32


def test_errors():
    a, b = rand(3), rand(2, 2)
    with pytest.raises(ValueError, match="same dimensionality"):
        cr.grad(lambda a: signal.convolve(a, b).sum())(a)
    with pytest.raises(ValueError, match="mode must be one of"):
        cr.grad(lambda a: signal.convolve(a, a, mode="middle").sum())(a)
    with pytest.raises(ValueError, match="mode must be one of"):
        cr.grad(lambda a: signal.convolve2d(a, a, mode="middle", boundary="wrap").sum())(b)
    with pytest.raises(ValueError, match="at least as large"):
        cr.grad(lambda a: signal.convolve(a, rand(2, 5), mode="valid").sum())(rand(3, 3))
    with pytest.raises(ValueError, match="acceptable boundary flags"):
        cr.grad(lambda a: signal.convolve2d(a, b, boundary="mirror").sum())(rand(3, 3))
    with pytest.raises(ValueError, match="fillvalue must be scalar"):
        cr.grad(lambda a: signal.correlate2d(a, b, fillvalue=np.ones(2)).sum())(rand(3, 3))
    with pytest.raises(ValueError, match="2-D"):
        cr.grad(lambda a: signal.convolve2d(a, a).sum())(a)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("sa", "sb", "axes"),
    [((3, 4), (3, 2), 1), ((3, 4), (1, 2), -1), ((1, 4), (3, 2), (1,)), ((4, 3), (2, 3), 0),
     ((2, 4, 3), (2, 2, 2), (1, 2)), ((2, 4, 3), (1, 2, 2), [2, 1])],
)  # fmt: skip
def test_fftconvolve_axes(sa, sb, axes, mode):
    a, b = rand(*sa), rand(*sb, seed=1)
    f = lambda a, b: signal.fftconvolve(a, b, mode=mode, axes=axes)
    expected = ss.fftconvolve(a, b, mode=mode, axes=axes)
    np.testing.assert_array_equal(f(a, b), expected)
    np.testing.assert_allclose(traced_value(f, a, b), expected, atol=1e-12)
    check_rule(f, a, b)


def test_fftconvolve_all_axes_accepted():
    a, b = rand(3, 3), rand(2, 2, seed=1)
    g = cr.grad(lambda a: signal.fftconvolve(a, b, axes=(0, 1)).sum())(a)
    np.testing.assert_allclose(g, cr.grad(lambda a: signal.fftconvolve(a, b).sum())(a))


def test_gradients_match_torch_conv1d():
    torch = pytest.importorskip("torch")
    x, k, w = rand(7), rand(3, seed=1), rand(5, seed=2)
    loss = lambda x, k: (w * signal.correlate(x, k, mode="valid")).sum()
    gx, gk = cr.grad(loss, argnums=(0, 1))(x, k)
    tx, tk = (torch.tensor(v, requires_grad=True) for v in (x, k))
    out = torch.nn.functional.conv1d(tx[None, None], tk[None, None])[0, 0]  # a correlation
    (torch.tensor(w) * out).sum().backward()
    np.testing.assert_allclose(gx, tx.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(gk, tk.grad.numpy(), atol=1e-12)


# ------------------------------------------------------------------------------ vmap


def test_convolve_of_a_batch_with_a_shared_kernel_keeps_the_method(monkeypatch):
    """A batch of signals against one kernel: one direct convolution (exact on integers
    stored as floats), the batch a size-1-kernel axis, not FFT and not a loop."""
    calls = []
    real = ss.convolve
    monkeypatch.setattr(ss, "convolve", lambda *a, **k: calls.append(k) or real(*a, **k))
    xs = np.arange(12.0).reshape(3, 4) * 1e8
    k = np.array([1.0, -2.0, 3.0])
    got = cr.vmap(lambda x: signal.convolve(x, k, method="direct"))(xs)
    assert len(calls) == 1 and calls[0]["method"] == "direct"
    np.testing.assert_array_equal(got, [np.convolve(x, k) for x in xs])


def test_convolve_with_both_batched_matches_a_loop():
    rng = np.random.default_rng(8)
    xs, ks = rng.standard_normal((5, 6)), rng.standard_normal((5, 3))
    got = cr.vmap(lambda x, k: signal.convolve(x, k, mode="same"), in_axes=(0, 0))(xs, ks)
    want = [ss.convolve(x, k, mode="same") for x, k in zip(xs, ks, strict=True)]
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


def test_convolve_of_integers_with_both_batched_is_exact():
    """Integers convolve exactly, in their own dtype, as in a loop: with both inputs batched
    the FFT route (float64, rounded) gave non-integers and a float dtype."""
    rng = np.random.default_rng(9)
    xs = rng.integers(-(2**20), 2**20, size=(3, 400))
    ks = rng.integers(-(2**20), 2**20, size=(3, 60))
    for mode in ("full", "same", "valid"):
        f = lambda x, k, mode=mode: signal.convolve(x, k, mode=mode)
        got = cr.vmap(f)(xs, ks)
        want = np.stack([ss.convolve(x, k, mode=mode) for x, k in zip(xs, ks, strict=True)])
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)
    grids, kernels = rng.integers(-9, 9, size=(2, 4, 5)), rng.integers(-9, 9, size=(2, 3, 2))
    got = cr.vmap(signal.convolve2d, in_axes=(2, 0))(np.moveaxis(grids, 0, 2), kernels)
    want = np.stack([ss.convolve2d(g, k) for g, k in zip(grids, kernels, strict=True)])
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)
