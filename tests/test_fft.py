"""`chainrule.numpy.fft`: NumPy's values and arguments, and derivatives to second order.

Every transform is checked through `check_rule` (forward and reverse, second order, batched
Jacobians, float32/complex64) on complex and real inputs, 1-D, stacked and n-D, with every
``norm`` and with ``n``/``s`` cutting and padding, odd and even lengths. The hard-coded
cotangents below are JAX's (0.10, x64); PyTorch, where installed, gives the conjugates of the
gradients (its convention), checked on random real-valued losses.
"""

from __future__ import annotations

import math
import subprocess
import sys
import warnings
from collections.abc import Callable
from typing import Any

import numpy
import pytest

import chainrule as cr
import chainrule.numpy as np
from chainrule.core.trace import HolomorphicError
from rulecheck import check_rule

NORMS = [None, "backward", "ortho", "forward"]


def real(*shape: int) -> numpy.ndarray:
    """Random values, the same for a shape whichever test (or worker) asks first."""
    return numpy.random.default_rng(shape).standard_normal(shape)


def cplx(*shape: int) -> numpy.ndarray:
    rng = numpy.random.default_rng((7, *shape))
    return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)


def traced_value(fun: Callable[..., Any], x: Any) -> Any:
    """The value `fun` computes on a traced `x` (the path the rules take)."""
    return cr.vjp(fun, x)[0]


# ------------------------------------------------------------------------------ 1-D transforms

ONE_AXIS = ["fft", "ifft", "rfft", "irfft", "hfft", "ihfft"]
REAL_ONLY = {"rfft", "ihfft", "rfft2", "rfftn"}
# (input length along the axis, n): the default, cut and padded, odd and even results
LENGTHS = [(5, None), (6, None), (6, 3), (5, 8), (4, 7)]


def one_axis_cases() -> list[Any]:
    cases = []
    for name in ONE_AXIS:
        for norm in NORMS:
            for k, (m, n) in enumerate(LENGTHS):
                axis = (-1, 0)[k % 2]
                shape = (3, m) if axis == -1 else (m, 2)
                kinds = ["real"] if name in REAL_ONLY else ["complex", "real"]
                for kind in kinds:
                    cases.append(pytest.param(name, norm, n, axis, shape, kind,
                                              id=f"{name}-{norm}-{shape}-n{n}-{kind}"))  # fmt: skip
    return cases


@pytest.mark.parametrize(("name", "norm", "n", "axis", "shape", "kind"), one_axis_cases())
def test_one_axis_transforms(
    name: str, norm: str | None, n: int | None, axis: int, shape: tuple[int, ...], kind: str
) -> None:
    x = cplx(*shape) if kind == "complex" else real(*shape)
    fun = lambda v: getattr(np.fft, name)(v, n, axis, norm)
    expected = getattr(numpy.fft, name)(x, n, axis, norm)
    numpy.testing.assert_array_equal(fun(x), expected)
    assert type(fun(x)) is numpy.ndarray
    numpy.testing.assert_array_equal(traced_value(fun, x), expected)
    check_rule(fun, x)


def test_a_signal_of_one_entry() -> None:
    check_rule(lambda v: np.fft.fft(v, 3), cplx(1))
    check_rule(lambda v: np.fft.irfft(v, 1), cplx(2))
    check_rule(lambda v: np.fft.rfft(v, 2, norm="ortho"), real(1))


# ------------------------------------------------------------------------------ n-D transforms

MANY_AXES = ["fft2", "ifft2", "fftn", "ifftn", "rfft2", "irfft2", "rfftn", "irfftn"]
# (s, axes): defaults, cut and padded, axes in any order, one axis, a repeated axis
S_AND_AXES = [
    (None, None),
    ((3, 6), (0, 2)),
    ((5, 2), (2, 0)),
    ((4,), (1,)),
    ((3, -1), (-1, 1)),
    ((2, 3), (1, 1)),
]


def many_axes_cases() -> list[Any]:
    cases = []
    for name in MANY_AXES:
        for norm in NORMS:
            for s, axes in S_AND_AXES:
                if name.endswith("2") and axes is not None and len(axes) != 2:
                    continue
                kinds = ["real"] if name in REAL_ONLY else ["complex", "real"]
                for kind in kinds:
                    cases.append(pytest.param(name, norm, s, axes, kind,
                                              id=f"{name}-{norm}-s{s}-axes{axes}-{kind}"))  # fmt: skip
    return cases


@pytest.mark.parametrize(("name", "norm", "s", "axes", "kind"), many_axes_cases())
def test_many_axes_transforms(name: str, norm: str | None, s: Any, axes: Any, kind: str) -> None:
    shape = (2, 3, 4)
    x = cplx(*shape) if kind == "complex" else real(*shape)
    kwargs: dict[str, Any] = {"norm": norm}
    if axes is not None:
        kwargs.update(s=s, axes=axes)
    fun = lambda v: getattr(np.fft, name)(v, **kwargs)
    expected = getattr(numpy.fft, name)(x, **kwargs)
    numpy.testing.assert_array_equal(fun(x), expected)
    numpy.testing.assert_array_equal(traced_value(fun, x), expected)
    check_rule(fun, x)


def test_the_2d_transforms_default_to_the_last_two_axes() -> None:
    x = cplx(2, 3, 4)
    for name in ("fft2", "ifft2", "irfft2"):
        fun = getattr(np.fft, name)
        numpy.testing.assert_array_equal(traced_value(fun, x), getattr(numpy.fft, name)(x))
        check_rule(fun, x)
    check_rule(np.fft.rfft2, x.real)


def test_s_without_axes_warns_as_numpy_does() -> None:
    x = cplx(2, 3)
    for name in ("fftn", "irfftn"):
        with pytest.warns(DeprecationWarning, match="axes"):
            expected = getattr(numpy.fft, name)(x, s=(3, 4))
        with pytest.warns(DeprecationWarning, match=f"fft.{name}: `axes`"):
            got = traced_value(lambda v, name=name: getattr(np.fft, name)(v, s=(3, 4)), x)
        numpy.testing.assert_array_equal(got, expected)


def test_none_in_s_takes_the_default_length_and_warns_as_numpy_does() -> None:
    x = cplx(2, 3)
    kwargs = {"s": (None, 5), "axes": (0, 1)}
    for name in ("fftn", "irfftn"):
        with pytest.warns(DeprecationWarning, match="None"):
            expected = getattr(numpy.fft, name)(x, **kwargs)
        fun = lambda v, name=name: getattr(np.fft, name)(v, **kwargs)
        with pytest.warns(DeprecationWarning, match=f"fft.{name}: None in `s`"):
            numpy.testing.assert_array_equal(traced_value(fun, x), expected)


def test_empty_axes_leave_the_array_as_numpy_does() -> None:
    x = cplx(3)
    numpy.testing.assert_array_equal(
        traced_value(lambda v: np.fft.fftn(v, axes=()), x), numpy.fft.fftn(x, axes=())
    )
    assert cr.grad(lambda v: np.sum(np.fft.fftn(v, axes=())))(real(3)).tolist() == [1, 1, 1]


# ------------------------------------------------------------------------------ shifts


@pytest.mark.parametrize("name", ["fftshift", "ifftshift"])
@pytest.mark.parametrize("axes", [None, 0, -1, (1, 0), [0]])
@pytest.mark.parametrize("kind", ["complex", "real"])
def test_shifts(name: str, axes: Any, kind: str) -> None:
    x = cplx(3, 4) if kind == "complex" else real(5, 2)
    fun = lambda v: getattr(np.fft, name)(v, axes)
    expected = getattr(numpy.fft, name)(x, axes)
    numpy.testing.assert_array_equal(fun(x), expected)
    numpy.testing.assert_array_equal(traced_value(fun, x), expected)
    check_rule(fun, x)


def test_ifftshift_undoes_fftshift_in_both_modes() -> None:
    x = real(5, 4)
    both = lambda v: np.fft.ifftshift(np.fft.fftshift(v))
    numpy.testing.assert_array_equal(cr.jacrev(both)(x), cr.jacfwd(both)(x))
    numpy.testing.assert_array_equal(cr.jacrev(both)(x).reshape(20, 20), numpy.eye(20))


# ------------------------------------------------------------------------------ the convention

SQRT3 = math.sqrt(3.0)


@pytest.mark.parametrize(
    ("name", "x", "kwargs", "cotangent", "expected"),
    [
        # irfft: bins between DC and Nyquist count twice; DC and Nyquist cotangents are real
        ("irfft", [1 + 2j, 3 - 1j, -2 + 0.5j, 4 + 1j], {"n": 6}, [1.0, 2, 0, -1, 3, 1],
         [1, 2 / 3 - 1j / SQRT3, -1 + 2j / SQRT3, 1 / 3]),
        # odd n, the input cut from 4 bins to 3: the cut bin gets 0
        ("irfft", [1 + 2j, 3 - 1j, -2 + 0.5j, 4 + 1j], {"n": 5, "norm": "forward"},
         [1.0, 2, 0, -1, 3],
         [5, 6.708203932499369 - 0.7265425280053606j, -6.708203932499369 - 3.0776835371752536j, 0]),
        # rfft cut to n = 4: the real part of an fft of the zero-padded cotangent
        ("rfft", [1.0, 2, 3, 4, 5], {"n": 4}, [1 + 1j, 2 - 1j, 1j], [3, 0, -1, 2, 0]),
        ("hfft", [1 + 1j, 2, 3 - 1j], {"n": 4, "norm": "ortho"}, [1.0, 0, 2, -1],
         [1, -1 - 1j, 2]),
        ("fft", [1 + 1j, 2, 3 - 1j, 1j], {"n": 3, "norm": "forward"}, [1, 1j, 2],
         [1 + 1j / 3, 0.28867513459481287 + 0.4106836025229591j,
          -0.28867513459481287 - 0.7440169358562924j, 0]),
        ("ihfft", [1.0, 2, 3, 4, 5], {"n": 6}, [1 + 1j, 2 - 1j, 1j, 1],
         [2 / 3, 1 / 6, 0.4553418012614795, -1 / 3, -0.1220084679281462]),
    ],
)  # fmt: skip
def test_cotangents_are_jaxs(
    name: str, x: list[Any], kwargs: dict[str, Any], cotangent: list[Any], expected: list[Any]
) -> None:
    x_ = numpy.asarray(x)
    (got,) = cr.vjp(lambda v: getattr(np.fft, name)(v, **kwargs), x_)[1](numpy.asarray(cotangent))
    assert got.dtype == x_.dtype
    numpy.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-14)


def test_irfft_ignores_the_imaginary_parts_of_dc_and_nyquist() -> None:
    # NumPy drops Im h[0] and, for even n, Im h[n/2]: their derivative is 0, in both modes
    h = cplx(4)
    for n, ignored in ((6, [0, 3]), (7, [0])):
        fun = lambda v, n=n: np.sum(np.fft.irfft(v, n) * numpy.arange(1.0, n + 1))
        g = cr.grad(fun)(h)
        assert g.imag[ignored].tolist() == [0.0] * len(ignored)
        assert numpy.all(numpy.delete(g.imag, ignored) != 0)
        for k in ignored:
            assert cr.jvp(fun, (h,), (numpy.eye(4)[k] * 1j,))[1] == 0.0


@pytest.mark.parametrize("name", ["irfft", "hfft"])
def test_a_real_spectrum_gets_a_real_derivative(name: str) -> None:
    x = real(2, 4)
    fun = lambda v: np.sum(getattr(np.fft, name)(v, 5, axis=0) ** 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no complex cotangent cast to real on the way
        g = cr.grad(fun)(x)
        assert g.dtype == numpy.float64
        assert cr.grad(fun)(x.astype(numpy.float32)).dtype == numpy.float32
    numpy.testing.assert_allclose(g, cr.grad(fun)(x + 0j).real, rtol=1e-13)


def test_the_fft_is_holomorphic() -> None:
    z = cplx(4)
    for norm in ("backward", "ortho", "forward"):
        dft = numpy.fft.fft(numpy.eye(4), norm=norm)
        for jac in (cr.jacfwd, cr.jacrev):
            got = jac(lambda v, norm=norm: np.fft.fft(v, norm=norm), holomorphic=True)(z)
            numpy.testing.assert_allclose(got, dft, atol=1e-15)
        inverse = cr.jacrev(lambda v, norm=norm: np.fft.ifft(v, norm=norm), holomorphic=True)(z)
        numpy.testing.assert_allclose(inverse, numpy.fft.ifft(numpy.eye(4), norm=norm), atol=1e-15)
    with pytest.raises(HolomorphicError):
        cr.jacfwd(np.fft.hfft, holomorphic=True)(z)
    with pytest.raises(HolomorphicError, match="irfft"):
        cr.jacrev(np.fft.irfft, holomorphic=True)(z)


def test_mixed_real_and_complex_arguments() -> None:
    x, z = real(3, 5), cplx(5)
    check_rule(lambda x, z: np.fft.fft(x * z, 6, norm="ortho"), x, z)
    check_rule(lambda x, z: np.fft.irfft(z * x, 7) + np.fft.ifft(x, axis=0).real[:1, :1], x, z)
    check_rule(lambda x, z: np.fft.rfftn(x, axes=(0, 1)) * z[:3], x, z)
    check_rule(lambda x, z: np.fft.hfft(np.fft.fftshift(z) + x[0], 6), x, z)


def test_nonlinear_compositions_to_second_order() -> None:
    z, x = cplx(2, 4), real(4, 3)
    check_rule(lambda v: np.fft.ifft(np.fft.fft(v, 5) ** 2, 3), z)
    check_rule(lambda v: np.abs(np.fft.rfft2(v * v, norm="ortho")) ** 2, x)
    check_rule(lambda v: np.sin(np.fft.irfftn(np.exp(v), s=(3, 5), axes=(1, 0))), z)
    power = lambda v: np.sum(np.abs(np.fft.fft(v)) ** 4)
    hess = cr.hessian(power)(x[0])
    numpy.testing.assert_allclose(hess, hess.T, rtol=1e-12)
    numpy.testing.assert_allclose(hess, cr.jacfwd(cr.grad(power))(x[0]), rtol=1e-12)


def test_parseval() -> None:
    # sum |fft(x)|^2 = n sum |x|^2, so the gradient is 2 n x (times the norm's scale)
    x = cplx(6)
    for norm, scale in (("backward", 6.0), ("ortho", 1.0), ("forward", 1 / 6)):
        g = cr.grad(lambda v, norm=norm: np.sum(np.abs(np.fft.fft(v, norm=norm)) ** 2))(x)
        numpy.testing.assert_allclose(g, 2 * scale * numpy.conj(x), rtol=1e-13)


TORCH_CASES = [
    ("fft", (3, 5), {"n": 4, "norm": "ortho"}, {"n": 4, "norm": "ortho"}),
    ("ifft", (5, 3), {"n": 7, "axis": 0}, {"n": 7, "dim": 0}),
    ("rfft", (3, 6), {"n": 5, "norm": "forward"}, {"n": 5, "norm": "forward"}),
    ("irfft", (3, 4), {"n": 8}, {"n": 8}),
    ("irfft", (3, 4), {"n": 5, "norm": "ortho"}, {"n": 5, "norm": "ortho"}),
    ("hfft", (2, 5), {"n": 6, "norm": "forward"}, {"n": 6, "norm": "forward"}),
    ("ihfft", (2, 5), {"n": 6}, {"n": 6}),
    ("fft2", (2, 3, 4), {"s": (4, 3)}, {"s": (4, 3)}),
    ("fftn", (2, 3, 4), {"s": (3, 5), "axes": (2, 0)}, {"s": (3, 5), "dim": (2, 0)}),
    ("ifftn", (2, 3, 4), {"norm": "ortho"}, {"norm": "ortho"}),
    ("rfftn", (2, 3, 4), {"s": (3, 5), "axes": (2, 0)}, {"s": (3, 5), "dim": (2, 0)}),
    ("irfftn", (2, 3, 4), {"s": (3, 5), "axes": (0, 2)}, {"s": (3, 5), "dim": (0, 2)}),
    ("irfft2", (2, 3, 4), {}, {}),
    ("fftshift", (3, 4), {"axes": (0,)}, {"dim": (0,)}),
]


@pytest.mark.oracle
@pytest.mark.parametrize(("name", "shape", "kwargs", "torch_kwargs"), TORCH_CASES)
def test_torch_gradients_are_the_conjugates(
    name: str, shape: tuple[int, ...], kwargs: dict[str, Any], torch_kwargs: dict[str, Any]
) -> None:
    torch = pytest.importorskip("torch")
    x = real(*shape) if name in REAL_ONLY else cplx(*shape)
    out = getattr(numpy.fft, name)(x, **kwargs)
    w = cplx(*out.shape) if numpy.iscomplexobj(out) else real(*out.shape)
    loss = lambda v: np.sum(np.abs(getattr(np.fft, name)(v, **kwargs) * w) ** 2)
    t = torch.tensor(x, requires_grad=True)
    torch.sum(
        torch.abs(getattr(torch.fft, name)(t, **torch_kwargs) * torch.tensor(w)) ** 2
    ).backward()
    assert t.grad is not None
    numpy.testing.assert_allclose(
        cr.grad(loss)(x), numpy.conj(t.grad.numpy()), rtol=1e-10, atol=1e-12
    )


# ------------------------------------------------------------------------------ the namespace


def test_numpys_own_functions_dispatch_to_ours() -> None:
    x = cplx(4)
    loss = lambda v: numpy.sum(numpy.abs(numpy.fft.fftshift(numpy.fft.fft(v))) ** 2)
    numpy.testing.assert_allclose(cr.grad(loss)(x), 8 * numpy.conj(x), rtol=1e-13)
    assert np.fft.fftfreq is numpy.fft.fftfreq and np.fft.rfftfreq is numpy.fft.rfftfreq
    for name in ONE_AXIS + MANY_AXES + ["fftshift", "ifftshift"]:
        assert getattr(np.fft, name) is not getattr(numpy.fft, name), name
    assert set(numpy.fft.__all__) <= set(dir(np.fft))


def test_a_list_of_traced_values() -> None:
    g = cr.grad(lambda a, b: np.fft.rfft([a, b, a * b])[1].real, argnums=(0, 1))(2.0, 3.0)
    numpy.testing.assert_allclose(g, (1 - 0.5 * 3, -0.5 - 0.5 * 2))


def test_float32_and_complex64_are_kept() -> None:
    x = real(8).astype(numpy.float32)
    assert np.fft.rfft(x).dtype == numpy.complex64
    assert traced_value(np.fft.rfft, x).dtype == numpy.complex64
    assert traced_value(np.fft.irfft, x.astype(numpy.complex64)).dtype == numpy.float32
    assert cr.grad(lambda v: np.sum(np.abs(np.fft.fftn(v)) ** 2))(x).dtype == numpy.float32


def test_the_namespace_loads_on_first_use() -> None:
    code = (
        "import sys, chainrule, chainrule.numpy as np\n"
        "print('chainrule.numpy.fft' in sys.modules, 'chainrule.numpy.rules.fft' in sys.modules)\n"
        "print(np.fft.__name__)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120)  # fmt: skip
    assert out.stdout.split() == ["False", "False", "chainrule.numpy.fft"]


# ------------------------------------------------------------------------------ errors


def test_out_is_refused_on_traced_values() -> None:
    out = numpy.empty(4, complex)
    numpy.testing.assert_array_equal(np.fft.fft(numpy.ones(4), out=out), [4, 0, 0, 0])
    with pytest.raises(TypeError, match=r"fft\.fft: `out=` cannot hold a value being diff"):
        cr.grad(lambda v: np.sum(np.abs(np.fft.fft(v, out=out))))(numpy.ones(4))


@pytest.mark.parametrize(
    ("fun", "error", "message"),
    [
        (lambda v: np.fft.rfft(v * 1j), TypeError, r"fft\.rfft takes real input.*use fft"),
        (lambda v: np.fft.rfftn(v * 1j), TypeError, r"fft\.rfftn takes real input.*use fftn"),
        (lambda v: np.fft.ihfft(v * 1j), TypeError, r"fft\.ihfft takes real input.*use fft"),
        (lambda v: np.fft.ifft(v, norm="unitary"), ValueError, r"fft\.ifft: invalid norm"),
        (lambda v: np.fft.fft(v, 0), ValueError, r"fft\.fft: invalid number of FFT data points"),
        (lambda v: np.fft.irfft(v[:1]), ValueError, r"fft\.irfft: invalid number of FFT data"),
        (lambda v: np.fft.fft(v, axis=1), IndexError, "axis 1"),  # AxisError is one
        (lambda v: np.fft.fftn(v, s=(2, 3), axes=(0,)), ValueError, "different lengths"),
    ],
)
def test_bad_arguments_on_traced_values(fun: Callable[..., Any], error: type, message: str) -> None:
    x = real(4)
    with pytest.raises(error):  # NumPy refuses them too
        fun(x)
    with pytest.raises(error, match=message):
        cr.grad(lambda v: np.sum(np.abs(fun(v))))(x)


def test_real_transforms_over_no_axes_are_refused() -> None:
    with pytest.raises(IndexError):  # NumPy's error (it looks for the last axis)
        numpy.fft.rfftn(real(3), axes=())
    for name in ("rfftn", "irfftn"):
        with pytest.raises(ValueError, match=f"fft.{name}: `axes` must name at least one axis"):
            cr.grad(lambda v, name=name: np.sum(getattr(np.fft, name)(v, axes=()).real))(real(3))


# ---------------------------------------------------------------------------------- vmap


def looped(fun: Callable[..., Any], x: numpy.ndarray, axis: int) -> numpy.ndarray:
    return numpy.stack([numpy.asarray(fun(numpy.take(x, i, axis))) for i in range(x.shape[axis])])


@pytest.mark.parametrize(
    "fun",
    [
        lambda v: np.fft.fft(v, axis=0),
        lambda v: np.fft.fft(v, 7, axis=1),
        lambda v: np.fft.ifft(v, 3, axis=-2, norm="ortho"),
        lambda v: np.fft.rfft(v.real, axis=0),
        lambda v: np.fft.irfft(v, 6, axis=1),
        lambda v: np.fft.hfft(v, axis=0),
        lambda v: np.fft.fft2(v, s=(3, 5)),
        lambda v: np.fft.rfftn(v.real, s=(4, 2), axes=(1, 0)),
        lambda v: np.fft.irfftn(v, axes=(0,)),
        lambda v: np.fft.fftshift(v, axes=0),
        lambda v: np.fft.ifftshift(v),
        lambda v: np.fft.fftshift(v, axes=(1, 0)) * np.fft.ifftshift(v, axes=1),
    ],
)
@pytest.mark.parametrize("in_axes", [0, 1, 2, -1])
def test_vmap_shifts_the_axes_past_the_batch(fun: Callable[..., Any], in_axes: int) -> None:
    # Examples of shape (4, 5), the batch (3 of them) on every axis, transformed ones included.
    x = numpy.moveaxis(cplx(3, 4, 5), 0, in_axes)
    got = cr.vmap(fun, in_axes=in_axes)(x)
    numpy.testing.assert_allclose(got, looped(fun, x, in_axes), rtol=1e-12, atol=1e-12)
    out_axes = 2
    got = cr.vmap(fun, in_axes=in_axes, out_axes=out_axes)(x)
    expected = numpy.moveaxis(looped(fun, x, in_axes), 0, out_axes)
    numpy.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
