"""Initialisers of `chainrule.nn.init`: fans in PyTorch's (out, in) layout, bounds, spread."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy
import pytest

from chainrule.nn import init

RANDOM: dict[str, Callable[..., numpy.ndarray]] = {
    "normal": init.normal,
    "uniform": init.uniform,
    "xavier_uniform": init.xavier_uniform,
    "xavier_normal": init.xavier_normal,
    "kaiming_uniform": init.kaiming_uniform,
    "kaiming_normal": init.kaiming_normal,
}


def test_calculate_gain_table() -> None:
    for name in ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose2d", "sigmoid"):
        assert init.calculate_gain(name) == 1.0
    assert init.calculate_gain("tanh") == 5.0 / 3.0
    assert init.calculate_gain("relu") == math.sqrt(2.0)
    assert init.calculate_gain("selu") == 0.75
    assert init.calculate_gain("leaky_relu") == math.sqrt(2.0 / (1.0 + 0.01**2))
    assert init.calculate_gain("leaky_relu", 0) == math.sqrt(2.0)
    assert init.calculate_gain("leaky_relu", 0.2) == math.sqrt(2.0 / 1.04)


def test_calculate_gain_errors() -> None:
    with pytest.raises(ValueError, match="calculate_gain: nonlinearity must be one of 'linear',"):
        init.calculate_gain("swish")
    with pytest.raises(
        TypeError, match="calculate_gain: negative_slope must be a real number, got True"
    ):
        init.calculate_gain("leaky_relu", True)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"negative_slope must be a real number, got '0\.1'"):
        init.calculate_gain("leaky_relu", "0.1")  # type: ignore[arg-type]


def test_zeros() -> None:
    z = init.zeros((3, 2))
    assert z.dtype == numpy.float32 and z.shape == (3, 2) and not z.any()
    assert init.zeros(4, dtype=numpy.float64).dtype == numpy.float64


@pytest.mark.parametrize(
    "fn, shape, bound",
    [
        # 2-D (out, in): fan_in = 300, fan_out = 100.
        (init.xavier_uniform, (100, 300), math.sqrt(6.0 / 400.0)),
        (
            lambda s, **k: init.xavier_uniform(s, gain=2.0, **k),
            (100, 300),
            2.0 * math.sqrt(6.0 / 400.0),
        ),
        (init.kaiming_uniform, (100, 300), math.sqrt(2.0) * math.sqrt(3.0 / 300.0)),
        (
            lambda s, **k: init.kaiming_uniform(s, mode="fan_out", **k),
            (100, 300),
            math.sqrt(2.0) * math.sqrt(3.0 / 100.0),
        ),
        (
            lambda s, **k: init.kaiming_uniform(s, a=math.sqrt(5.0), **k),
            (100, 300),
            1.0 / math.sqrt(300.0),
        ),  # PyTorch's default Linear weight bound
        (
            lambda s, **k: init.kaiming_uniform(s, nonlinearity="tanh", **k),
            (100, 300),
            5.0 / 3.0 * math.sqrt(3.0 / 300.0),
        ),
        # > 2-D (out, in, *kernel): fan_in = 32 * 9, fan_out = 64 * 9.
        (init.xavier_uniform, (64, 32, 3, 3), math.sqrt(6.0 / (288.0 + 576.0))),
        (init.kaiming_uniform, (64, 32, 3, 3), math.sqrt(2.0) * math.sqrt(3.0 / 288.0)),
        (lambda s, **k: init.uniform(s, low=-0.3, high=0.3, **k), (300, 100), 0.3),
    ],
)
def test_uniform_bounds_and_spread(fn: Callable[..., Any], shape: Any, bound: float) -> None:
    w = fn(shape, rng=0)
    assert w.shape == shape and w.dtype == numpy.float32
    assert numpy.abs(w).max() <= numpy.float32(bound)
    assert numpy.abs(w).max() > 0.99 * bound  # the whole interval is used
    assert abs(float(w.mean())) < 0.03 * bound
    assert float(w.std()) == pytest.approx(bound / math.sqrt(3.0), rel=0.02)


@pytest.mark.parametrize(
    "fn, shape, std",
    [
        (init.xavier_normal, (100, 300), math.sqrt(2.0 / 400.0)),
        (
            lambda s, **k: init.xavier_normal(s, gain=0.5, **k),
            (100, 300),
            0.5 * math.sqrt(2.0 / 400.0),
        ),
        (init.kaiming_normal, (100, 300), math.sqrt(2.0 / 300.0)),
        (
            lambda s, **k: init.kaiming_normal(s, mode="fan_out", nonlinearity="relu", **k),
            (100, 300),
            math.sqrt(2.0 / 100.0),
        ),
        (
            lambda s, **k: init.kaiming_normal(s, a=0.2, **k),
            (100, 300),
            math.sqrt(2.0 / 1.04) / math.sqrt(300.0),
        ),
        (init.xavier_normal, (64, 32, 3, 3), math.sqrt(2.0 / (288.0 + 576.0))),
        (
            lambda s, **k: init.kaiming_normal(s, mode="fan_out", **k),
            (64, 32, 3, 3),
            math.sqrt(2.0 / 576.0),
        ),
        (lambda s, **k: init.normal(s, std=0.02, **k), (300, 100), 0.02),
    ],
)
def test_normal_spread(fn: Callable[..., Any], shape: Any, std: float) -> None:
    w = fn(shape, rng=1)
    assert w.shape == shape and w.dtype == numpy.float32
    assert abs(float(w.mean())) < 0.03 * std
    assert float(w.std()) == pytest.approx(std, rel=0.02)


def test_normal_mean() -> None:
    w = init.normal((200, 50), mean=3.0, std=0.5, rng=2)
    assert float(w.mean()) == pytest.approx(3.0, abs=0.01)


def test_fans_follow_the_out_in_layout() -> None:
    # (out, in) = (10, 1000): fan_in 1000, so kaiming (fan_in) is narrow, as PyTorch's; the
    # transposed (in, out) reading would take fan_in 10.
    narrow = init.kaiming_uniform((10, 1000), rng=0)
    wide = init.kaiming_uniform((1000, 10), rng=0)
    assert numpy.abs(narrow).max() <= math.sqrt(6.0 / 1000.0)
    assert numpy.abs(wide).max() > math.sqrt(6.0 / 1000.0)
    assert numpy.abs(wide).max() <= math.sqrt(6.0 / 10.0)


@pytest.mark.parametrize("name", sorted(RANDOM))
def test_seeds_reproduce_and_generators_advance(name: str) -> None:
    fn = RANDOM[name]
    a, b = fn((20, 30), rng=7), fn((20, 30), rng=7)
    numpy.testing.assert_array_equal(a, b)
    assert not numpy.array_equal(a, fn((20, 30), rng=8))
    gen = numpy.random.default_rng(7)
    first, second = fn((20, 30), rng=gen), fn((20, 30), rng=gen)
    numpy.testing.assert_array_equal(first, a)
    assert not numpy.array_equal(first, second)
    unseeded = fn((20, 30))  # a fresh unseeded generator
    assert unseeded.shape == (20, 30) and not numpy.array_equal(unseeded, a)


@pytest.mark.parametrize("name", sorted(RANDOM))
def test_dtypes(name: str) -> None:
    fn = RANDOM[name]
    w64 = fn((4, 5), rng=3, dtype=numpy.float64)
    w32 = fn((4, 5), rng=3)
    assert w64.dtype == numpy.float64 and w32.dtype == numpy.float32
    numpy.testing.assert_array_equal(w32, w64.astype(numpy.float32))  # same draws, rounded
    assert fn((4, 5), rng=3, dtype=numpy.float16).dtype == numpy.float16
    with pytest.raises(TypeError, match="init: dtype must be a floating-point dtype, got int32"):
        fn((4, 5), rng=3, dtype=numpy.int32)


def test_one_dimensional_shapes() -> None:
    assert init.normal(5, rng=0).shape == (5,)
    assert init.uniform((5,), rng=0).shape == (5,)
    for fn in (init.xavier_uniform, init.xavier_normal, init.kaiming_uniform, init.kaiming_normal):
        with pytest.raises(ValueError, match="at least 2 dimensions, got \\(5,\\)"):
            fn((5,), rng=0)


def test_empty_shapes_give_empty_arrays() -> None:
    assert init.kaiming_uniform((0, 4), rng=0).shape == (0, 4)
    assert init.xavier_normal((3, 0), rng=0).shape == (3, 0)
    assert init.kaiming_normal((3, 0), mode="fan_out", rng=0).shape == (3, 0)


def test_argument_errors() -> None:
    with pytest.raises(
        ValueError, match="init: mode must be one of 'fan_in', 'fan_out'; got 'fan_avg'"
    ):
        init.kaiming_uniform((3, 4), mode="fan_avg", rng=0)
    with pytest.raises(ValueError, match=r"nonlinearity must be one of .*; got 'gelu'"):
        init.kaiming_normal((3, 4), nonlinearity="gelu", rng=0)
    with pytest.raises(ValueError, match=r"normal: std must be a finite number >= 0, got -1\.0"):
        init.normal((3,), std=-1.0, rng=0)
    with pytest.raises(ValueError, match="need low <= high"):
        init.uniform((3,), low=1.0, high=0.0, rng=0)
    with pytest.raises(ValueError, match=r"init: shape\[1\] must be at least 0, got -1"):
        init.zeros((3, -1))
    with pytest.raises(TypeError, match=r"init: shape\[0\] must be an int, got 3\.0"):
        init.normal((3.0, 2), rng=0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"init: shape must be an int, got 3\.0"):
        init.zeros(3.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="normal: mean must be a real number, got '0'"):
        init.normal((3,), mean="0", rng=0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="uniform: high must be a finite number, got inf"):
        init.uniform((3,), high=float("inf"), rng=0)
    with pytest.raises(TypeError, match="xavier_normal: gain must be a real number, got None"):
        init.xavier_normal((3, 4), gain=None, rng=0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"rng must be an int seed, a numpy\.random\.Generator"):
        init.normal((3,), rng=numpy.random.RandomState(0))  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- PyTorch


@pytest.mark.oracle
def test_gains_and_spreads_match_torch() -> None:
    torch = pytest.importorskip("torch")
    tinit = torch.nn.init
    for args in (
        ("linear",),
        ("sigmoid",),
        ("tanh",),
        ("relu",),
        ("selu",),
        ("leaky_relu",),
        ("leaky_relu", 0.3),
        ("leaky_relu", 2),
    ):
        assert init.calculate_gain(*args) == pytest.approx(tinit.calculate_gain(*args), rel=1e-15)
    # PyTorch's (out, in, *kernel) layout is ours: the same shape must get the same
    # distribution. Compare empirical spreads of large draws.
    torch.manual_seed(0)
    pairs = [
        (init.xavier_uniform, tinit.xavier_uniform_, {}),
        (init.kaiming_uniform, tinit.kaiming_uniform_, {"a": math.sqrt(5.0)}),
        (init.kaiming_normal, tinit.kaiming_normal_, {"mode": "fan_out", "nonlinearity": "relu"}),
        (init.xavier_normal, tinit.xavier_normal_, {"gain": 3.0}),
    ]
    for ours, theirs, kwargs in pairs:
        for shape in ((400, 100), (100, 400), (16, 32, 5, 5)):
            expected = theirs(torch.empty(shape), **kwargs).numpy()
            got = ours(shape, rng=0, **kwargs)
            assert float(got.std()) == pytest.approx(float(expected.std()), rel=0.03)
            if "uniform" in ours.__name__:
                assert float(numpy.abs(got).max()) == pytest.approx(
                    float(numpy.abs(expected).max()), rel=0.01
                )
