"""chainrule.numerics: formats against finfo, known bit patterns, softmax, mixed precision."""

from __future__ import annotations

import math
import warnings

import numpy
import pytest

import chainrule as cr
import chainrule.numpy as np
from chainrule import numerics, optim
from chainrule.numerics import MixedPrecision, MixedPrecisionState
from chainrule.scipy import special

try:
    import ml_dtypes
except ImportError:  # pragma: no cover - the bfloat16 tests skip without it
    ml_dtypes = None

needs_bfloat16 = pytest.mark.skipif(ml_dtypes is None, reason="bfloat16 needs ml_dtypes")
BF16 = numpy.dtype(ml_dtypes.bfloat16) if ml_dtypes is not None else None
FORMATS = [
    pytest.param(name, marks=needs_bfloat16) if name == "bfloat16" else name
    for name in numerics.FORMATS
]

# ------------------------------------------------------------------------------ describe


@pytest.mark.parametrize("name", FORMATS)
def test_describe_matches_finfo(name: str) -> None:
    fi = ml_dtypes.finfo(BF16) if name == "bfloat16" else numpy.finfo(name)
    f = numerics.describe(name)
    assert f.name == name
    assert (f.bits, f.sign_bits, f.exponent_bits, f.mantissa_bits) == (
        fi.bits,
        1,
        fi.nexp,
        fi.nmant,
    )
    assert f.sign_bits + f.exponent_bits + f.mantissa_bits == f.bits
    assert f.bias == 2 ** (f.exponent_bits - 1) - 1 == fi.maxexp - 1
    assert f.eps == float(fi.eps) == 2.0**-f.mantissa_bits
    assert f.max == float(fi.max) == (2 - 2.0**-f.mantissa_bits) * 2.0**f.bias
    assert f.tiny == float(fi.smallest_normal) == 2.0 ** (1 - f.bias)
    assert f.smallest_subnormal == float(fi.smallest_subnormal)
    assert f.smallest_subnormal == 2.0 ** (1 - f.bias - f.mantissa_bits)
    assert f.precision == fi.precision
    text = str(f)
    assert text.startswith(f"{name}: {f.bits} bits = 1 sign + {f.exponent_bits} exponent")
    assert f"2^-{f.mantissa_bits}" in text and "smallest subnormal" in text


@needs_bfloat16
def test_describe_known_values() -> None:
    assert numerics.describe("float16").max == 65504.0
    assert numerics.describe("bfloat16").exponent_bits == numerics.describe("float32").exponent_bits
    assert numerics.describe("bfloat16").mantissa_bits == 7
    assert numerics.describe("float64").bias == 1023
    assert numerics.describe("float32").precision == 6


@pytest.mark.parametrize(
    "spelling", ["float16", numpy.float16, numpy.dtype("float16"), "half", "f2"]
)
def test_describe_accepts_names_dtypes_and_types(spelling: object) -> None:
    assert numerics.describe(spelling) == numerics.describe("float16")


@needs_bfloat16
def test_describe_accepts_ml_dtypes_types() -> None:
    assert numerics.describe(ml_dtypes.bfloat16).name == "bfloat16"
    assert numerics.describe(BF16) == numerics.describe("bfloat16")


@pytest.mark.parametrize(
    ("dtype", "error", "message"),
    [
        ("int32", TypeError, "int32 is an integer type"),
        (numpy.uint8, TypeError, "integer type"),
        ("float8", ValueError, "unknown data type 'float8'"),
        ("banana", ValueError, "use one of 'float16', 'bfloat16'"),
        (numpy.complex64, ValueError, "complex64 is not supported"),
    ],
)
def test_describe_refuses_other_types(dtype: object, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        numerics.describe(dtype)


# ---------------------------------------------------------------------------------- bits


@pytest.mark.parametrize(
    ("x", "dtype", "pattern"),
    [
        (1.0, "float32", "0 01111111 00000000000000000000000"),
        (-2.0, "float32", "1 10000000 00000000000000000000000"),
        (0.1, "float32", "0 01111011 10011001100110011001101"),
        (1.0, "float16", "0 01111 0000000000"),
        (-2.0, "float16", "1 10000 0000000000"),
        (0.1, "float16", "0 01011 1001100110"),
        pytest.param(1.0, "bfloat16", "0 01111111 0000000", marks=needs_bfloat16),
        pytest.param(0.1, "bfloat16", "0 01111011 1001101", marks=needs_bfloat16),
        (1.0, "float64", "0 01111111111 " + "0" * 52),
        (0.1, "float64", "0 01111111011 " + "1001" * 12 + "1010"),
    ],
)
def test_bits_of_known_values(x: float, dtype: str, pattern: str) -> None:
    assert numerics.bits(x, dtype) == pattern


@pytest.mark.parametrize("name", FORMATS)
def test_special_values_in_every_format(name: str) -> None:
    f = numerics.describe(name)
    e, m = f.exponent_bits, f.mantissa_bits
    assert numerics.bits(f.smallest_subnormal, name) == f"0 {'0' * e} {'0' * (m - 1)}1"
    assert numerics.bits(math.inf, name) == f"0 {'1' * e} {'0' * m}"
    assert numerics.bits(-math.inf, name) == f"1 {'1' * e} {'0' * m}"
    nan = numerics.decode(math.nan, name)
    assert nan.kind == "nan" and nan.exponent_field == "1" * e and "1" in nan.mantissa_field
    assert nan.exponent is None and nan.significand is None and math.isnan(nan.value)
    assert numerics.bits(f.max, name) == f"0 {'1' * (e - 1)}0 {'1' * m}"
    assert numerics.bits(-0.0, name) == f"1 {'0' * e} {'0' * m}"
    sub = numerics.decode(f.smallest_subnormal, name)
    assert (sub.kind, sub.exponent, sub.significand) == ("subnormal", 1 - f.bias, 2.0**-m)
    assert numerics.decode(f.tiny, name).kind == "normal"
    assert numerics.decode(f.tiny, name).exponent == 1 - f.bias


@pytest.mark.parametrize("name", FORMATS)
def test_decoded_fields_rebuild_the_value_and_the_word(name: str) -> None:
    dt = BF16 if name == "bfloat16" else numpy.dtype(name)
    for x in [1.0, -2.0, 0.1, 3.0e-3, -12345.678, 1e-6, 5e-41, 0.0]:
        d = numerics.decode(x, name)
        stored = numpy.asarray(x).astype(dt)
        assert d.value == float(stored)
        assert d.format == name
        if d.kind not in ("inf", "nan"):
            assert d.exponent is not None and d.significand is not None
            assert (-1) ** d.sign * 2.0**d.exponent * d.significand == d.value
        word = int(stored.view(f"uint{dt.itemsize * 8}"))
        assert int(d.pattern.replace(" ", ""), 2) == word


@needs_bfloat16
def test_rounding_overflow_and_underflow_show_in_the_bits() -> None:
    assert numerics.decode(0.1, "float32").value == 0.10000000149011612
    assert numerics.decode(1e5, "float16").kind == "inf"  # float16 stops at 65504
    assert numerics.decode(1e-8, "float16").kind == "zero"  # below half the smallest subnormal
    assert numerics.decode(1e-8, "bfloat16").kind == "normal"  # bfloat16 has float32's range
    assert numerics.decode(numpy.float16(2.0), "float16").exponent == 1
    assert numerics.decode(numpy.array([3]), "float64").significand == 1.5
    text = str(numerics.decode(-2.0, "float16"))
    assert text == "-2.0 in float16: 1 10000 0000000000\n  normal: (-1)^1 × 2^1 × 1.0"


@pytest.mark.parametrize(
    ("x", "error", "message"),
    [
        ("1.0", TypeError, "real number"),
        (1 + 2j, TypeError, "real number"),
        (numpy.ones(3), ValueError, "one number"),
        (None, TypeError, "real number"),
    ],
)
def test_decode_refuses_what_is_not_one_real_number(x: object, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        numerics.decode(x)


# ------------------------------------------------------------------------------- softmax


def test_stable_softmax_is_right_where_the_naive_one_fails() -> None:
    z = numpy.array([1000.0, 2000.0, 3000.0])
    numpy.testing.assert_array_equal(numerics.stable_softmax(z), [0.0, 0.0, 1.0])
    numpy.testing.assert_array_equal(numerics.stable_log_softmax(z), [-2000.0, -1000.0, 0.0])
    with numpy.errstate(all="ignore"):
        assert numpy.all(numpy.isnan(numerics.naive_softmax(z)))
        assert numpy.all(numpy.isnan(numerics.naive_log_softmax(z)))
        # underflow: the naive log-softmax of a tiny probability is -inf
        assert numerics.naive_log_softmax([0.0, -1000.0])[1] == -math.inf
    assert numerics.stable_log_softmax([0.0, -1000.0])[1] == -1000.0


def test_compare_softmax_shows_both_without_warnings() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = numerics.compare_softmax([1000, 2000, 3000])
    assert numpy.all(numpy.isnan(result.naive_softmax))
    numpy.testing.assert_array_equal(result.stable_softmax, [0.0, 0.0, 1.0])
    numpy.testing.assert_array_equal(result.stable_log_softmax, [-2000.0, -1000.0, 0.0])
    lines = str(result).splitlines()
    assert lines[1].split() == ["naive", "softmax", "[nan", "nan", "nan]"]
    assert lines[2].split() == ["stable", "softmax", "[0.", "0.", "1.]"]


@pytest.mark.parametrize("axis", [-1, 0])
def test_all_four_agree_with_scipy_special_on_ordinary_inputs(axis: int) -> None:
    z = numpy.random.default_rng(0).standard_normal((4, 5)) * 3
    expected = special.softmax(z, axis=axis)
    expected_log = special.log_softmax(z, axis=axis)
    for softmax in (numerics.naive_softmax, numerics.stable_softmax):
        numpy.testing.assert_allclose(softmax(z, axis), expected, rtol=1e-13)
    for log_softmax in (numerics.naive_log_softmax, numerics.stable_log_softmax):
        numpy.testing.assert_allclose(log_softmax(z, axis), expected_log, rtol=1e-12)


def test_softmax_gradients_check() -> None:
    z = numpy.array([[0.3, -1.2, 2.0], [0.5, 0.1, -0.4]])
    w = numpy.array([[1.0, -2.0, 0.5], [0.3, 0.7, -1.1]])  # a weighted sum: a scalar to check
    for f in (
        numerics.naive_softmax,
        numerics.stable_softmax,
        numerics.naive_log_softmax,
        numerics.stable_log_softmax,
    ):
        cr.check_grads(lambda z, f=f: np.sum(w * f(z)), (z,), order=2)
        cr.check_grads(lambda z, f=f: np.sum(w * f(z, axis=0)), (z,), order=2)
    # at a huge input the stable derivative is scipy.special's, and finite
    big = numpy.array([1000.0, 1001.0, 999.0])
    got = cr.jacobian(numerics.stable_softmax)(big)
    numpy.testing.assert_allclose(got, cr.jacobian(special.softmax)(big), rtol=1e-12, atol=1e-15)
    numpy.testing.assert_allclose(
        cr.grad(lambda z: numerics.stable_log_softmax(z)[0])(big),
        numpy.eye(3)[0] - special.softmax(big),
        rtol=1e-12,
    )


# ----------------------------------------------------------------------- mixed precision


def mse(w: object, x: object, y: object) -> object:
    r = x @ w - y
    return np.mean(r * r)


def tiny_regression() -> tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray]:
    """Targets below 5e-4 and 2^15 samples: every float16 dloss/dresidual = 2r/n rounds to 0."""
    rng = numpy.random.default_rng(0)
    x = rng.uniform(-1.0, 1.0, (2**15, 3)).astype(numpy.float16)
    w_true = numpy.array([2e-4, -1.5e-4, 1e-4])
    y = (x.astype(numpy.float64) @ w_true).astype(numpy.float16)
    assert numpy.abs(y).max() < 4.5e-4  # 2 * 4.5e-4 / 2^15 < 2^-25, half float16's smallest step
    w64 = numpy.linalg.lstsq(x.astype(numpy.float64), y.astype(numpy.float64), rcond=None)[0]
    return x, y, w64


def loss64(w: numpy.ndarray, x: numpy.ndarray, y: numpy.ndarray) -> float:
    r = x.astype(numpy.float64) @ w - y.astype(numpy.float64)
    return float(numpy.mean(r * r))


def train(
    mp: MixedPrecision, w: numpy.ndarray, steps: int, *args: object
) -> tuple[numpy.ndarray, MixedPrecisionState, list[numerics.StepInfo]]:
    state = mp.init(w)
    history = []
    for _ in range(steps):
        w, state, info = mp.step(mse, w, state, *args)
        history.append(info)
    return w, state, history


def test_float16_gradients_underflow_without_scaling_and_train_with_it() -> None:
    x, y, w64 = tiny_regression()
    w0 = numpy.zeros(3, dtype=numpy.float32)
    # the premise: in float16 the gradient is exactly 0, in float64 it is not
    assert numpy.all(cr.grad(mse)(w0.astype(numpy.float16), x, y) == 0)
    assert numpy.all(cr.grad(mse)(w0.astype(numpy.float64), x.astype(float), y.astype(float)) != 0)

    unscaled = MixedPrecision(optim.SGD(lr=1.0), init_scale=1.0, dynamic=False)
    w, state, _ = train(unscaled, w0, 20, x, y)
    numpy.testing.assert_array_equal(w, w0)  # the weights never moved
    assert int(state.skipped) == 0 and float(state.scale) == 1.0

    scaled = MixedPrecision(optim.SGD(lr=1.0))  # torch's defaults: init_scale 2^16
    w, state, history = train(scaled, w0, 20, x, y)
    assert w.dtype == numpy.float32
    assert loss64(w, x, y) < 1e-4 * loss64(w0, x, y)
    numpy.testing.assert_allclose(w, w64, rtol=2e-3)
    # 2^16 is above float16's max, so the first step overflowed and was skipped
    assert [h.scale for h in history[:3]] == [65536.0, 32768.0, 32768.0]
    assert [h.skipped for h in history[:3]] == [True, False, False]
    assert int(state.skipped) == 1 and int(state.inner.step) == 19


def test_overflow_skips_the_step_and_halves_the_scale() -> None:
    mp = MixedPrecision(optim.Adam(lr=0.1), init_scale=2.0**20, growth_interval=3)
    w = {"a": numpy.array([0.5, -0.25], dtype=numpy.float32), "b": numpy.array(0.1, numpy.float32)}
    x = numpy.array([[1.0, 2.0], [3.0, -1.0]], dtype=numpy.float32)

    def loss(p: dict, x: numpy.ndarray) -> object:
        return np.sum((x @ p["a"] + p["b"]) ** 2)

    state = mp.init(w)
    value, grads, finite = mp.value_and_grad(loss)(w, state, x)
    assert not finite and not numpy.all(numpy.isfinite(grads["a"]))
    assert numpy.isfinite(value)  # the loss itself is fine: only its scaled gradient overflows
    updates, new_state = mp.update(grads, state, w, finite)
    assert new_state.inner is state.inner  # nothing updated, as optax's apply_if_finite:
    for u, p in zip(cr.tree.leaves(updates), cr.tree.leaves(w), strict=True):
        assert u.dtype == p.dtype and u.shape == p.shape and not numpy.any(u)
    assert float(new_state.scale) == 2.0**19
    assert (int(new_state.good_steps), int(new_state.skipped)) == (0, 1)
    new, new_state, info = mp.step(loss, w, new_state, x)
    assert info.skipped and info.scale == 2.0**19 and new is w
    assert float(new_state.scale) == 2.0**18 and int(new_state.skipped) == 2
    # finite is worked out from the gradients when not given
    _, again = mp.update(grads, state, w)
    assert float(again.scale) == 2.0**19


def test_scale_grows_after_growth_interval_finite_steps() -> None:
    mp = MixedPrecision(optim.SGD(lr=0.01), init_scale=2.0**4, growth_interval=3)
    w = numpy.array([0.5, 0.25], dtype=numpy.float32)
    x = numpy.array([[1.0, 0.5], [0.2, -1.0]], dtype=numpy.float32)
    y = numpy.array([0.1, 0.2], dtype=numpy.float32)
    _, state, history = train(mp, w, 7, x, y)
    assert [h.scale for h in history] == [16.0, 16.0, 16.0, 32.0, 32.0, 32.0, 64.0]
    assert not any(h.skipped for h in history)
    assert float(state.scale) == 64.0 and int(state.good_steps) == 1
    # without dynamic scaling nothing changes
    static = MixedPrecision(optim.SGD(lr=0.01), init_scale=2.0**4, growth_interval=3, dynamic=False)
    assert float(train(static, w, 7, x, y)[1].scale) == 16.0


def test_scale_growth_is_kept_only_if_finite() -> None:
    # as torch's GradScaler: a grown scale that overflows float32 is not taken
    mp = MixedPrecision(optim.SGD(lr=0.1), "float32", init_scale=2.0**127, growth_interval=1)
    w = numpy.ones(2, dtype=numpy.float32)
    state = mp.init(w)
    w, state, info = mp.step(lambda w: np.sum(w * w) * 1e-35, w, state)
    assert not info.skipped and float(state.scale) == 2.0**127 and int(state.good_steps) == 0


def test_static_scale_still_skips_non_finite_steps() -> None:
    mp = MixedPrecision(optim.SGD(lr=0.1), init_scale=1.0, dynamic=False)
    w = numpy.array([1e3], dtype=numpy.float32)
    new, state, info = mp.step(lambda w: np.sum(w**4), w, mp.init(w))  # 4e9 overflows float16
    assert info.skipped and new is w and float(state.scale) == 1.0 and int(state.skipped) == 1
    assert info.loss == math.inf


@needs_bfloat16
def test_bfloat16_compute_trains() -> None:
    rng = numpy.random.default_rng(1)
    x = rng.standard_normal((256, 3)).astype(numpy.float32)
    y = (x @ numpy.array([1.5, -2.0, 0.5]) + 0.3).astype(numpy.float32)
    x1 = numpy.hstack([x, numpy.ones((256, 1), numpy.float32)])
    w64 = numpy.linalg.lstsq(x1.astype(float), y.astype(float), rcond=None)[0]
    mp = MixedPrecision(optim.SGD(lr=0.2, momentum=0.5), compute_dtype=ml_dtypes.bfloat16)
    assert mp.compute_dtype == "bfloat16" and mp.cast(x).dtype == BF16
    w, _, history = train(mp, numpy.zeros(4, numpy.float32), 60, x1, y)
    assert w.dtype == numpy.float32
    assert not any(h.skipped for h in history)  # bfloat16 has float32's range
    assert history[-1].loss < 1e-3 * history[0].loss
    numpy.testing.assert_allclose(w, w64, atol=0.02)  # bfloat16 keeps ~3 significant digits


@pytest.mark.parametrize(
    "optimizer", [optim.SGD(lr=0.3), optim.SGD(lr=0.1, momentum=0.9), optim.Adam(lr=0.05)]
)
def test_works_with_sgd_and_adam_on_pytrees(optimizer: optim.Optimizer) -> None:
    rng = numpy.random.default_rng(2)
    x = rng.standard_normal((128, 2)).astype(numpy.float32)
    labels = (x[:, 0] > x[:, 1]).astype(numpy.int64)  # integer args stay integers

    def loss(p: dict, x: numpy.ndarray, labels: numpy.ndarray) -> object:
        assert x.dtype == numpy.float16 and labels.dtype == numpy.int64
        pred = x @ p["w"] + p["b"]
        return np.mean((pred - (2 * labels - 1)) ** 2)

    params = {"w": numpy.zeros(2, numpy.float32), "b": numpy.array(0.0, numpy.float32)}
    mp = MixedPrecision(optimizer, init_scale=2.0**10)
    state = mp.init(params)
    first = None
    for _ in range(100):
        params, state, info = mp.step(loss, params, state, x, labels)
        first = info.loss if first is None else first
    assert params["w"].dtype == numpy.float32 and params["b"].shape == ()
    assert info.loss < 0.6 * first
    assert params["w"][0] > 0.3 > -0.3 > params["w"][1]


@pytest.mark.parametrize("optimizer", [optim.SGD(lr=0.1, momentum=0.9), optim.Adam(lr=0.05)])
def test_update_returns_optax_updates_that_step_adds(optimizer: optim.Optimizer) -> None:
    """mp.update is optax's update (the change to add), not new parameters; the halves
    value_and_grad + update + apply_updates take step's own path to the last bit."""
    rng = numpy.random.default_rng(4)
    x = rng.standard_normal((32, 2)).astype(numpy.float32)
    y = rng.standard_normal(32).astype(numpy.float32)
    mp = MixedPrecision(optimizer, init_scale=2.0**10)
    w = numpy.array([0.3, -0.2], dtype=numpy.float32)
    stepped, step_state = w, mp.init(w)
    halves, state = w, mp.init(w)
    for _ in range(5):
        stepped, step_state, _ = mp.step(mse, stepped, step_state, x, y)
        _, grads, finite = mp.value_and_grad(mse)(halves, state, x, y)
        updates, state = mp.update(grads, state, halves, finite)
        assert updates.dtype == numpy.float32 and numpy.all(numpy.abs(updates) < 0.2)
        halves = optim.apply_updates(halves, updates)
    numpy.testing.assert_array_equal(halves, stepped)
    for a, b in zip(cr.tree.leaves(state), cr.tree.leaves(step_state), strict=True):
        numpy.testing.assert_array_equal(a, b)


def test_value_and_grad_gives_unscaled_float32_gradients() -> None:
    rng = numpy.random.default_rng(3)
    x = rng.standard_normal((64, 3)).astype(numpy.float32)
    y = rng.standard_normal(64).astype(numpy.float32)
    w = numpy.array([0.2, -0.1, 0.4], dtype=numpy.float32)
    mp = MixedPrecision(optim.SGD(lr=0.1), init_scale=2.0**12)
    value, grads, finite = mp.value_and_grad(mse)(w, mp.init(w), x, y)
    assert finite and grads.dtype == numpy.float32 and isinstance(value, float)
    assert value == pytest.approx(loss64(w, x, y), rel=1e-2)
    exact = cr.grad(mse)(w.astype(float), x.astype(float), y.astype(float))
    numpy.testing.assert_allclose(grads, exact, rtol=1e-2, atol=1e-3)


def test_state_is_a_pytree_of_arrays() -> None:
    mp = MixedPrecision(optim.Adam(lr=0.1))
    params = {"w": numpy.ones(3, numpy.float32), "b": numpy.zeros((), numpy.float32)}
    state = mp.init(params)
    leaves, treedef = cr.tree.flatten(state)
    assert all(isinstance(leaf, numpy.ndarray) for leaf in leaves)
    assert len(leaves) == 3 + 1 + 2 + 2  # scale, good, skipped; step; exp_avg(2); exp_avg_sq(2)
    rebuilt = cr.tree.unflatten(treedef, [leaf.copy() for leaf in leaves])
    assert isinstance(rebuilt, MixedPrecisionState)
    assert float(rebuilt.scale) == 65536.0 and rebuilt.scale.dtype == numpy.float32
    _, rebuilt = mp.update(
        {"w": numpy.ones(3, numpy.float32), "b": numpy.ones((), numpy.float32)}, rebuilt, params
    )
    assert int(rebuilt.inner.step) == 1 and int(rebuilt.good_steps) == 1


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"compute_dtype": "float64"}, ValueError, "compute_dtype: float64 is not supported"),
        ({"compute_dtype": "int8"}, TypeError, "integer type"),
        ({"init_scale": 0.0}, ValueError, "init_scale must be a finite number in \\(0, 3.40282e"),
        ({"init_scale": 1e39}, ValueError, "init_scale"),
        ({"growth_factor": 1.0}, ValueError, "growth_factor must be a finite number > 1"),
        (
            {"backoff_factor": 1.0},
            ValueError,
            "backoff_factor must be a finite number in \\(0, 1\\)",
        ),
        ({"growth_interval": 0}, ValueError, "growth_interval must be at least 1"),
        ({"growth_interval": 2.5}, TypeError, "growth_interval must be an int"),
        ({"dynamic": "yes"}, TypeError, "dynamic must be True or False"),
    ],
)
def test_bad_options_are_refused(kwargs: dict, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        MixedPrecision(optim.SGD(lr=0.1), **kwargs)


def test_bad_use_gets_a_clear_error() -> None:
    with pytest.raises(TypeError, match=r"optimizer must be a chainrule\.optim optimizer"):
        MixedPrecision(0.1)
    mp = MixedPrecision(optim.SGD(lr=0.1))
    with pytest.raises(TypeError, match="parameter leaf 1 has dtype float64"):
        mp.init([numpy.zeros(2, numpy.float32), numpy.zeros(2)])
    w = numpy.zeros(2, numpy.float32)
    with pytest.raises(TypeError, match="needs a MixedPrecisionState"):
        mp.update(w, optim.SGD(lr=0.1).init(w), w)
    assert mp.compute_dtype == "float16"
