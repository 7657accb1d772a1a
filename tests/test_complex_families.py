"""Reductions, shape functions, indexing, sequences and ranges on complex values.

Every case goes through `check_rule` (forward and reverse to second order, batched
Jacobians of the real and imaginary parts, complex64 kept), and its value under a transform
is NumPy's own. The hard-coded numbers are JAX's (0.4, x64), in the convention of
`chainrule.core.primitive`. Functions NumPy refuses on complex values, or that cannot be
differentiated there, raise an error that names them.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy
import pytest

import chainrule as cr
import chainrule.numpy as np
from chainrule.check import numerical_jacobian
from rulecheck import check_rule

rng = numpy.random.default_rng(11)


def cx(*shape: int) -> Any:
    return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)


Z = cx(4)
ZM = cx(2, 3)
Z3 = cx(2, 3, 2)
R = rng.standard_normal(4)
RM = rng.standard_normal((2, 3))
W = numpy.array([1.0, 2.0, 0.5])
ZN = cx(3, 4)  # with NaN entries: a NaN real part, a NaN imaginary part, both
ZN[0, 1], ZN[2, 3], ZN[1, 0] = complex(numpy.nan, 1.0), complex(2.0, numpy.nan), numpy.nan
EPS = numpy.finfo(numpy.float64).eps


def same_as_numpy(fun: Callable[..., Any], *args: Any, ulps: float = 4.0) -> None:
    """The value `fun` gives under a transform is the one it gives on plain arrays (NumPy's)."""
    plain = fun(*args)
    traced, _ = cr.jvp(fun, args, tuple(numpy.zeros_like(a) for a in args))
    for p, t in zip(cr.tree.leaves(plain), cr.tree.leaves(traced), strict=True):
        assert numpy.asarray(t).dtype == numpy.asarray(p).dtype
        scale = numpy.max(numpy.abs(p), initial=1.0)
        numpy.testing.assert_allclose(t, p, rtol=0, atol=ulps * EPS * scale)


def check(fun: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    same_as_numpy(fun, *args)
    check_rule(fun, *args, **kwargs)


# ---------------------------------------------------------------------------------- reductions

REDUCTIONS: dict[str, tuple[Callable[..., Any], tuple[Any, ...]]] = {
    "sum": (lambda z: np.sum(z, axis=0), (ZM,)),
    "sum-all": (np.sum, (Z3,)),
    "sum-keepdims": (lambda z: np.sum(z, axis=(0, 2), keepdims=True), (Z3,)),
    "mean": (lambda z: np.mean(z, axis=-1), (ZM,)),
    "prod": (lambda z: np.prod(z, axis=1), (ZM,)),
    "prod-zero": (lambda z: np.prod(z), (numpy.array([1 + 1j, 0j, 2 - 1j, 0j]),)),
    "cumsum": (lambda z: np.cumsum(z, axis=1), (ZM,)),
    "cumprod": (lambda z: np.cumprod(z), (ZM,)),
    "nansum": (lambda z: np.nansum(z, axis=1), (ZM,)),
    "nanmean": (lambda z: np.nanmean(z, axis=0), (ZM,)),
    "nanprod": (np.nanprod, (Z,)),
    "nancumsum": (lambda z: np.nancumsum(z, axis=0), (ZM,)),
    "nancumprod": (np.nancumprod, (Z,)),
    "nansum-nan": (lambda z: np.nansum(z, axis=1), (ZN,)),
    "nanmean-nan": (lambda z: np.nanmean(z, axis=0), (ZN,)),
    "nanprod-nan": (lambda z: np.nanprod(z, axis=1), (ZN,)),
    "nancumsum-nan": (lambda z: np.nancumsum(z, axis=1), (ZN,)),
    "nancumprod-nan": (np.nancumprod, (ZN,)),
    "nanvar-nan": (lambda z: np.nanvar(z, axis=1), (ZN,)),
    "nanstd-nan": (lambda z: np.nanstd(z, axis=0, ddof=1), (ZN,)),
    "nanmax-nan": (lambda z: np.nanmax(z, axis=1), (ZN,)),
    "nanmin-nan": (np.nanmin, (ZN,)),
    "nanmedian-nan": (lambda z: np.nanmedian(z, axis=1), (ZN,)),
    "cumulative_sum": (lambda z: np.cumulative_sum(z, axis=0, include_initial=True), (ZM,)),
    "cumulative_prod": (lambda z: np.cumulative_prod(z, axis=1), (ZM,)),
    "cumulative_prod-1d": (lambda z: np.cumulative_prod(z, include_initial=True), (Z,)),
    "var": (lambda z: np.var(z, axis=1), (ZM,)),
    "var-ddof": (lambda z: np.var(z, axis=(0, 2), ddof=1, keepdims=True), (Z3,)),
    "std": (lambda z: np.std(z, axis=0), (ZM,)),
    "std-all": (lambda z: np.std(z, ddof=1), (Z3,)),
    "nanvar": (lambda z: np.nanvar(z, axis=1), (ZM,)),
    "nanstd": (lambda z: np.nanstd(z, axis=1, ddof=1), (ZM,)),
    "average": (lambda z: np.average(z, axis=1, weights=W), (ZM,)),
    "average-cc": (lambda z, w: np.average(z, axis=1, weights=w), (ZM, cx(3))),
    "average-rc": (lambda a, w: np.average(a, weights=w), (R, Z)),
    "average-cr": (lambda z, w: np.average(z, weights=w), (Z, R * R + 0.5)),
    "max": (lambda z: np.max(z, axis=1), (ZM,)),
    "amin": (lambda z: np.amin(z, axis=0), (ZM,)),
    "nanmax": (np.nanmax, (Z,)),
    "nanmin": (lambda z: np.nanmin(z, axis=1), (ZM,)),
    "ptp": (lambda z: np.ptp(z, axis=1), (ZM,)),
    "median": (np.median, (Z,)),
    "median-odd": (lambda z: np.median(z, axis=1), (ZM,)),
    "nanmedian": (lambda z: np.nanmedian(z, axis=0), (ZM,)),
    "mixed-dtype": (lambda x: np.sum(x, dtype=numpy.complex128) * (1 - 2j), (R,)),
}


@pytest.mark.parametrize("name", REDUCTIONS)
def test_reductions_on_complex_values(name: str) -> None:
    fun, args = REDUCTIONS[name]
    check(fun, *args, float32=name not in ("average", "average-cr", "mixed-dtype"))


MIXED: dict[str, tuple[Callable[..., Any], tuple[Any, ...]]] = {
    "average-returned": (
        lambda z: np.concatenate(np.average(z, axis=1, weights=z[0] * z[0], returned=True)),
        (ZM,),
    ),
    "mean-dtype": (lambda z: np.mean(z, dtype=numpy.complex128), (Z.astype(numpy.complex64),)),
    "cumsum-dtype": (lambda x: np.cumsum(x, dtype=numpy.complex128) * 1j, (R,)),
    "prod-dtype": (lambda x: np.prod(x, dtype=numpy.complex128) * 1j, (R,)),
    "trace-dtype": (lambda x: np.trace(x, dtype=numpy.complex128) * 1j, (RM[:, :2],)),
    "mean-sequence": (lambda z, x: np.mean([z, x]), (Z, R)),
    "std-sequence": (lambda z, x: np.std([z, x], axis=0), (Z, R)),
    "max-initial": (lambda z: np.max(z, initial=0.5 + 0j), (Z,)),
}


@pytest.mark.parametrize("name", MIXED)
def test_reductions_of_mixed_dtypes(name: str) -> None:
    fun, args = MIXED[name]
    with warnings.catch_warnings():
        warnings.simplefilter("error", numpy.exceptions.ComplexWarning)
        check(fun, *args, float32=False)


def test_var_and_std_of_complex_values_are_real_and_match_jax() -> None:
    z = numpy.array([1 + 2j, -1 + 0.5j, 3 - 1j])
    assert np.var(z).dtype == numpy.float64
    numpy.testing.assert_allclose(cr.grad(np.var)(z), [-1j, -4 / 3, 4 / 3 + 1j], rtol=1e-14)
    numpy.testing.assert_allclose(
        cr.grad(lambda z: np.std(z, ddof=1))(z), [-0.3j, -0.4, 0.4 + 0.3j], rtol=1e-14
    )
    # d var = 2 Re(<conj(z - mean), dz>) / n: a real tangent
    _, t = cr.jvp(np.var, (z,), (numpy.array([1j, 0, 0]),))
    assert numpy.isrealobj(t) and t == pytest.approx(1.0)
    # of real values nothing changes: the first-order backward pass stays on plain arrays
    assert cr.grad(np.var)(numpy.array([1.0, 2.0, 4.0])).dtype == numpy.float64


def test_extrema_and_order_statistics_follow_numpys_lexicographic_order() -> None:
    z = numpy.array([1 + 2j, -1 + 0.5j, 3 - 1j, 3 - 2j])
    assert np.max(z) == 3 - 1j
    ct = numpy.array([1 + 1j, 1j, 2.0, 3.0])
    got = cr.grad(lambda v: np.real(np.max(v) * (1 + 1j)))(z)
    numpy.testing.assert_array_equal(got, [0, 0, 1 + 1j, 0])  # JAX: the gather of the max
    got = cr.grad(lambda v: np.real(np.sort(v) @ ct))(z)
    numpy.testing.assert_array_equal(got, [1j, 1 + 1j, 3, 2])
    # ties (equal complex values) share the derivative, as for real values
    t = numpy.array([2 + 1j, 2 + 1j, 1 + 5j])
    numpy.testing.assert_array_equal(cr.grad(lambda v: np.real(np.max(v)))(t), [0.5, 0.5, 0])


def test_cumulative_sum_and_prod_are_numpys_on_plain_arrays_and_check_their_arguments() -> None:
    for ours, theirs in (
        (np.cumulative_sum, numpy.cumulative_sum),
        (np.cumulative_prod, numpy.cumulative_prod),
    ):
        assert ours is not theirs
        x = numpy.array([[1.0, 2.0], [3.0, 4.0]])
        numpy.testing.assert_array_equal(ours(x, axis=1), theirs(x, axis=1))
        with pytest.raises(ValueError, match="``axis`` argument is required"):
            cr.grad(lambda x, f=ours: f(x).sum())(x)
        with pytest.raises(TypeError, match="`out=` is not supported"):
            cr.grad(lambda x, f=ours: f(x, out=numpy.empty(2)).sum())(x[0])


def test_a_real_input_summed_as_complex_gets_the_real_part_without_a_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", numpy.exceptions.ComplexWarning)
        g = cr.grad(lambda x: np.real(np.sum(x, dtype=numpy.complex64) * (1 - 2j)))(R)
    assert g.dtype == numpy.float64
    numpy.testing.assert_array_equal(g, numpy.ones(4))


@pytest.mark.parametrize("name", ["quantile", "percentile", "nanquantile", "nanpercentile"])
def test_quantiles_refuse_complex_values_as_numpy_does(name: str) -> None:
    fun = getattr(np, name)
    with pytest.raises(TypeError, match="real numbers"):
        getattr(numpy, name)(Z, 0.5)
    with pytest.raises(TypeError, match="real numbers"):
        cr.grad(lambda z: np.real(fun(z, 0.5)))(Z)


# ----------------------------------------------------------------------------- shape functions

SHAPES: dict[str, tuple[Callable[..., Any], tuple[Any, ...]]] = {
    "reshape": (lambda z: np.reshape(z, (3, 2)), (ZM,)),
    "ravel": (np.ravel, (ZM,)),
    "transpose": (lambda z: np.transpose(z, (2, 0, 1)), (Z3,)),
    "swapaxes": (lambda z: np.swapaxes(z, 0, 2), (Z3,)),
    "moveaxis": (lambda z: np.moveaxis(z, 0, -1), (Z3,)),
    "expand_dims": (lambda z: np.expand_dims(z, 1), (ZM,)),
    "squeeze": (np.squeeze, (cx(1, 3, 1),)),
    "astype": (lambda x: np.astype(x, numpy.complex128) * (1 + 1j), (R,)),
    "astype-real": (lambda z: np.astype(z, numpy.float64), (Z,)),  # NumPy: the real part
    "concatenate": (lambda z, x: np.concatenate([z, x, z * z]), (Z, R)),
    "concatenate-axis": (lambda z, x: np.concatenate([z, x], axis=1), (ZM, RM)),
    "stack": (lambda z, x: np.stack([z, x], axis=1), (Z, R)),
    "hstack": (lambda z, x: np.hstack([x, z]), (Z, R)),
    "vstack": (lambda z, x: np.vstack([z, x]), (ZM, RM)),
    "dstack": (lambda z: np.dstack([z, 2 * z]), (ZM,)),
    "column_stack": (lambda z, x: np.column_stack([z, x]), (Z, R)),
    "split": (lambda z: np.split(z, 2)[1] * np.split(z, 2)[0], (Z,)),
    "array_split": (lambda z: np.array_split(z, 2, axis=1)[0], (ZM,)),
    "tile": (lambda z: np.tile(z, (2, 1)), (ZM,)),
    "repeat": (lambda z: np.repeat(z, 2, axis=0), (ZM,)),
    "repeat-counts": (lambda z: np.repeat(z, [1, 0, 3, 2]), (Z,)),
    "pad": (lambda z: np.pad(z, ((1, 0), (0, 2))), (ZM,)),
    "pad-constant": (lambda z: np.pad(z, 1, constant_values=1j), (Z,)),
    "pad-reflect": (lambda z: np.pad(z, 2, mode="reflect"), (Z,)),
    "pad-wrap": (lambda z: np.pad(z, (1, 2), mode="wrap"), (ZM,)),
    "flip": (lambda z: np.flip(z, 1), (ZM,)),
    "fliplr": (np.fliplr, (ZM,)),
    "flipud": (np.flipud, (ZM,)),
    "roll": (lambda z: np.roll(z, (1, -1), (0, 1)), (ZM,)),
    "roll-flat": (lambda z: np.roll(z, 2), (ZM,)),
    "rot90": (lambda z: np.rot90(z, 3, axes=(2, 0)), (Z3,)),
    "broadcast_to": (lambda z: np.broadcast_to(z, (2, 4)), (Z,)),
    "diagonal": (lambda z: np.diagonal(z, 1, 2, 1), (Z3,)),
    "diag": (lambda z: np.diag(z, -1), (Z,)),
    "diag-matrix": (np.diag, (ZM,)),
    "trace": (lambda z: np.trace(z, axis1=0, axis2=2), (Z3,)),
    "tril": (lambda z: np.tril(z, -1), (ZM,)),
    "triu": (np.triu, (Z3,)),
    "atleast_1d": (lambda z: np.atleast_1d(z[0], z), (Z,)),
    "atleast_2d": (np.atleast_2d, (Z,)),
    "atleast_3d": (np.atleast_3d, (Z,)),
    "asarray": (lambda z, x: np.asarray([z[0], x[0] * z[1]]), (Z, R)),
    "select": (lambda z, x: np.select([R > 0, R < -1], [z * z, x], default=z), (Z, R)),
    "select-real-choices": (lambda z, x: np.select([R > 0], [x], default=z[0]), (Z, R)),
    "append": (lambda z, x: np.append(x, z), (Z, R)),
    "append-axis": (lambda z: np.append(z, z[:1] * z[:1], axis=0), (ZM,)),
    "r_": (lambda z, x: np.r_[z, x * x, 1j], (Z, R)),
    "c_": (lambda z, x: np.c_[z, x], (Z, R)),
    "diff": (lambda z: np.diff(z, 2, axis=0), (cx(4, 2),)),
    "diff-ends": (lambda z, x: np.diff(z, prepend=x[0], append=z[:1]), (Z, R)),
    "ediff1d": (lambda z: np.ediff1d(z, to_begin=z[0], to_end=[1.0, 2.0]), (ZM,)),
    "meshgrid": (lambda z, x: np.meshgrid(z, x[:2]), (Z, R)),
    "meshgrid-ij": (lambda z: np.meshgrid(z, z[:3] * z[:3], indexing="ij", sparse=True), (Z,)),
    "array": (lambda z, x: np.array([[z[0], x[1]], [z[1] * x[0], 2.0]]), (Z, R)),
    "full": (lambda z: np.full((2, 3), z[1]), (Z,)),
    "full_like": (lambda z: np.full_like(ZM, z[0] * z[1]), (Z,)),
}


def _joined(fun: Callable[..., Any]) -> Callable[..., Any]:
    """A function of several outputs as one array, each part scaled differently."""

    def one(*args: Any) -> Any:
        out = fun(*args)
        if not isinstance(out, (tuple, list)):
            return out
        return np.concatenate([np.ravel(p) * (k + 1.0) for k, p in enumerate(out)])

    return one


@pytest.mark.parametrize("name", SHAPES)
def test_shape_functions_on_complex_values(name: str) -> None:
    fun, args = SHAPES[name]
    widened = ("r_", "pad-constant", "astype", "astype-real", "array", "asarray", "full_like")
    with warnings.catch_warnings():  # (NumPy warns that astype drops the imaginary part)
        warnings.simplefilter("ignore", numpy.exceptions.ComplexWarning)
        check(_joined(fun), *args, float32=name not in widened)


@pytest.mark.parametrize("holomorphic", [True, False])
def test_shape_functions_keep_holomorphic_derivatives(holomorphic: bool) -> None:
    f = lambda z: np.roll(np.concatenate([np.flip(z), np.tril(np.outer(z, z))[1]]), 1)
    if holomorphic:
        jac = cr.jacfwd(f, holomorphic=True)(Z)
        numpy.testing.assert_allclose(jac, cr.jacrev(f, holomorphic=True)(Z), rtol=1e-14)
        assert jac.dtype == numpy.complex128 and jac.shape == (8, 4)
    else:
        check_rule(f, Z)


def test_a_flat_roll_has_second_forward_derivatives() -> None:
    # (the batched tangent of a flattened roll was given an int axis, which a second
    # forward pass could not shift)
    hess = cr.jacfwd(cr.jacfwd(lambda x: np.roll(x * x, (1, 2))))(numpy.arange(4.0))
    numpy.testing.assert_array_equal(hess[1], numpy.diag([0.0, 0.0, 2.0, 0.0]))


def test_ediff1d_refuses_a_complex_end_of_real_values_as_numpy_does() -> None:
    for kwargs in ({"to_begin": Z[:1]}, {"to_end": 1j}):
        with pytest.raises(TypeError, match="must be compatible with input `ary`"):
            numpy.ediff1d(R, **kwargs)
        with pytest.raises(TypeError, match="must be compatible with input `ary`"):
            cr.grad(lambda x, kw=kwargs: np.real(np.ediff1d(x, **kw)).sum())(R)


# ------------------------------------------------------------------------------------ indexing

IDX = numpy.array([[2, 0], [1, 1]])
INDEXING: dict[str, tuple[Callable[..., Any], tuple[Any, ...]]] = {
    "getitem": (lambda z: z[1:, ::-1] * z[0, [2, 2, 0]], (ZM,)),
    "getitem-mask": (lambda z: z[numpy.array([True, False, True, True])], (Z,)),
    "getitem-ellipsis": (lambda z: z[..., 1, None], (Z3,)),
    "take": (lambda z: np.take(z, [0, 2, 2], axis=1), (ZM,)),
    "take-wrap": (lambda z: np.take(z, [5, -1], mode="wrap"), (Z,)),
    "take_along_axis": (lambda z: np.take_along_axis(z, IDX, axis=1), (ZM,)),
    "sort": (lambda z: np.sort(z, axis=0), (ZM,)),
    "sort-flat": (lambda z: np.sort(z, axis=None, kind="stable"), (ZM,)),
    "partition": (lambda z: np.partition(z, 2), (Z,)),
    "unique": (lambda z: np.unique(np.concatenate([z, z[:2]])), (Z,)),
    "at-set": (lambda z, v: cr.at(z)[1].set(v[0] * v[1]), (Z, cx(2))),
    "at-set-real": (lambda z, x: cr.at(z)[[0, 2]].set(x[:2]), (Z, R)),
    "at-get": (lambda z: cr.at(z)[::2].get(), (Z,)),
    "at-add": (lambda z, v: cr.at(z)[[1, 1, 3]].add(v), (Z, cx(3))),
    "at-subtract": (lambda z, v: cr.at(z)[:, 1].subtract(v), (ZM, cx(2))),
    "at-multiply": (lambda z, v: cr.at(z)[[1, 1]].multiply(v), (Z, cx(2))),
    "at-divide": (lambda z, v: cr.at(z)[numpy.array([0, 2])].divide(v), (Z, cx(2))),
    "at-min": (lambda z, v: cr.at(z)[[0, 1]].min(v), (Z, cx(2))),
    "at-max": (lambda z, v: cr.at(z)[1:3].max(v), (Z, cx(2))),
    "at-real-x": (lambda x, v: cr.at(x)[1].multiply(v), (R, 2.0 + 1.0j)),
}


@pytest.mark.parametrize("name", INDEXING)
def test_indexing_on_complex_values(name: str) -> None:
    fun, args = INDEXING[name]
    if name == "at-real-x":
        with pytest.warns(numpy.exceptions.ComplexWarning):  # as NumPy's multiply.at
            check(fun, *args, float32=False)
    else:  # (unique's result has a value-dependent shape: no vmap or jit)
        check(fun, *args, vmap=name != "unique", jit=name != "unique")


def test_at_min_and_max_order_complex_values_as_numpy() -> None:
    z = numpy.array([1 + 1j, 2 - 1j, 2 + 0j])
    v = numpy.array([2 - 2j, 3j])
    plain = z.copy()
    numpy.minimum.at(plain, [1, 1], v)
    traced, vjp = cr.vjp(lambda z, v: cr.at(z)[[1, 1]].min(v), z, v)
    numpy.testing.assert_array_equal(traced, plain)  # [1+1j, 3j, 2]
    gz, gv = vjp(numpy.array([1.0, 1j, 2.0]))
    numpy.testing.assert_array_equal(gz, [1.0, 0.0, 2.0])
    numpy.testing.assert_array_equal(gv, [0.0, 1j])


def test_bincount_refuses_complex_weights_as_numpy_does() -> None:
    with pytest.raises(TypeError, match="complex128"):
        numpy.bincount([0, 1, 1], weights=Z[:3])
    with pytest.raises(TypeError, match="bincount: complex weights"):
        cr.grad(lambda w: np.bincount([0, 1, 1], weights=w).sum().real)(Z[:3])


# ------------------------------------------------------------------- gates: where, clip, extrema

NAN_PARTS = numpy.array([complex(numpy.nan, 1.5), complex(2.0, numpy.inf), 1 - 1j, numpy.nan])
GATES: dict[str, tuple[Callable[..., Any], tuple[Any, ...]]] = {
    "where": (lambda z, x: np.where(R > 0, z * z, x), (Z, R)),
    "where-scalar": (lambda z: np.where(R > 0, z, 1j), (Z,)),
    "where-broadcast": (lambda z, w: np.where(W > 1, z, w), (ZM, cx(2, 1))),
    "clip": (lambda z: np.clip(z, -0.5, 0.5), (Z,)),
    "clip-broadcast": (lambda z, hi: np.clip(z, None, hi), (ZM, RM[0])),
    "maximum-broadcast": (lambda z, x: np.maximum(x, z), (ZM, R[:3])),
    "clip-traced-ends": (lambda z, lo: np.clip(z, lo, lo + 1.0), (Z, R)),
    "maximum": (lambda z, x: np.maximum(z, x), (Z, R)),
    "minimum": (lambda z, w: np.minimum(z, w), (Z, cx(4))),
    "fmax": (lambda z: np.fmax(z, numpy.array([0.1, numpy.nan, 1j, -3.0])), (Z,)),
    "fmin": (lambda z, w: np.fmin(w, z), (Z, cx(4))),
    "nan_to_num": (lambda z: np.nan_to_num(z * z), (Z,)),
    "nan_to_num-parts": (lambda z: np.nan_to_num(z * z + NAN_PARTS, posinf=2.0), (Z,)),
}


@pytest.mark.parametrize("name", GATES)
def test_gates_on_complex_values(name: str) -> None:
    fun, args = GATES[name]
    with numpy.errstate(invalid="ignore"):
        check(fun, *args, float32=name not in ("fmax", "nan_to_num-parts"))


def test_nan_to_num_replaces_the_parts_of_a_complex_value_separately() -> None:
    z = numpy.array([complex(numpy.nan, 1.5), complex(2.0, numpy.inf), 1 - 1j])
    out, vjp = cr.vjp(np.nan_to_num, z)
    numpy.testing.assert_array_equal(out, numpy.nan_to_num(z))
    # each part's derivative is kept where that part is not replaced
    numpy.testing.assert_array_equal(vjp(numpy.full(3, 1 + 1j))[0], [1j, 1, 1 + 1j])
    _, t = cr.jvp(np.nan_to_num, (z,), (numpy.full(3, 1 + 1j),))
    numpy.testing.assert_array_equal(t, [1j, 1, 1 + 1j])
    # that is not holomorphic; where both parts are kept or replaced, it is
    with pytest.raises(TypeError, match="nan_to_num is not holomorphic"):
        cr.jacfwd(np.nan_to_num, holomorphic=True)(z)
    jac = cr.jacfwd(np.nan_to_num, holomorphic=True)(
        numpy.array([complex(numpy.nan, numpy.nan), 1j])
    )
    numpy.testing.assert_array_equal(jac, numpy.diag([0, 1 + 0j]))


def test_clip_and_extrema_select_complex_entries_lexicographically() -> None:
    z = numpy.array([1 + 5j, -2 + 1j, 0.5 - 3j])
    grads = cr.grad(lambda z, lo, hi: np.sum(np.real(np.clip(z, lo, hi))), argnums=(0, 1, 2))
    gz, glo, ghi = grads(z, -1.0, 1.0)  # NumPy: [1, -1, 0.5-3j]
    numpy.testing.assert_array_equal(gz, [0, 0, 1])
    assert (glo, ghi) == (1.0, 1.0)
    g = cr.grad(lambda z: np.real(np.sum(np.maximum(z, 1.0) * 1j)))(z)
    numpy.testing.assert_array_equal(g, [1j, 0, 0])


# ----------------------------------------------------------------------------------- sequences

XP = numpy.array([0.0, 1.0, 2.5, 3.0])
SEQUENCES: dict[str, tuple[Callable[..., Any], tuple[Any, ...]]] = {
    "polyval": (np.polyval, (Z, cx(3))),
    "polyval-rc": (np.polyval, (R, cx(2))),
    "polyval-cr": (np.polyval, (Z, R)),
    "convolve": (np.convolve, (Z, cx(2))),
    "convolve-same": (lambda a, v: np.convolve(a, v, "same"), (cx(2), Z)),
    "convolve-rc": (lambda a, v: np.convolve(a, v, "valid"), (R, cx(3))),
    "correlate": (np.correlate, (Z, cx(2))),
    "correlate-full": (lambda a, v: np.correlate(a, v, "full"), (cx(3), Z)),
    "correlate-same": (lambda a, v: np.correlate(a, v, "same"), (cx(2), Z)),
    "correlate-rc": (lambda a, v: np.correlate(a, v, "same"), (R, cx(3))),
    "correlate-cr": (lambda a, v: np.correlate(a, v, "full"), (Z, R[:3])),
    "trapezoid": (lambda z: np.trapezoid(z, axis=0), (ZM,)),
    "trapezoid-x": (lambda z, x: np.trapezoid(z, x * x), (Z, R)),
    "gradient": (lambda z: np.gradient(z, 0.5, edge_order=2), (Z,)),
    "gradient-axes": (lambda z, x: np.gradient(z, x[:2] * x[:2] + 1.0, 2.0), (ZM, R)),
    "interp": (lambda fp: np.interp(numpy.array([-1.0, 0.5, 2.5, 2.7, 4.0]), XP, fp), (Z,)),
    "interp-x": (lambda x, fp: np.interp(x, XP, fp, left=1j), (R, Z)),
    "interp-xp": (lambda xp, fp: np.interp(numpy.array([0.5, 2.0]), xp, fp), (XP, Z)),
}


@pytest.mark.parametrize("name", SEQUENCES)
def test_sequences_on_complex_values(name: str) -> None:
    fun, args = SEQUENCES[name]
    check(fun, *args, float32=not name.startswith("interp"))


def test_correlate_conjugates_its_second_argument_as_jax() -> None:
    z = numpy.array([1 + 2j, -1 + 0.5j, 3 - 1j])
    v = numpy.array([2 - 1j, 0.5 + 1j])
    ct = numpy.array([1j, 2.0])
    numpy.testing.assert_allclose(
        cr.grad(lambda a: np.real(np.correlate(a, v) @ ct))(z), [-1 + 2j, 5 + 2.5j, 1 - 2j]
    )
    numpy.testing.assert_allclose(
        cr.grad(lambda v: np.real(np.correlate(z, v) @ ct))(v), [-4 - 2j, 5.5 + 3j]
    )
    with pytest.raises(TypeError, match="conjugate is not holomorphic"):
        cr.jacfwd(lambda v: np.correlate(z, v), holomorphic=True)(v)
    # of the first argument alone it is holomorphic
    jac = cr.jacrev(lambda a: np.correlate(a, v), holomorphic=True)(z)
    numpy.testing.assert_allclose(jac, [[2 + 1j, 0.5 - 1j, 0], [0, 2 + 1j, 0.5 - 1j]])


def test_interp_of_complex_fp_matches_jax() -> None:
    z = numpy.array([1 + 2j, -1 + 0.5j, 3 - 1j])
    f = lambda fp: np.real(np.interp([0.5, 1.25], [0.0, 1.0, 2.0], fp) @ numpy.array([1j, 1]))
    numpy.testing.assert_allclose(cr.grad(f)(z), [0.5j, 0.75 + 0.5j, 0.25])


@pytest.mark.parametrize(
    ("call", "says"),
    [
        (lambda x: np.interp(x * 1j, XP, R), "`x` must be real"),
        (lambda x: np.interp(0.5, x + 0j, R), "`xp` must be real"),
        (lambda x: np.interp(0.5, XP, x, left=1j), "`left` must be real"),
        (lambda x: np.unwrap(x * (1 + 1j)), "unwrap: phases must be real"),
    ],
)
def test_complex_values_numpy_refuses_raise_errors_that_name_the_function(
    call: Callable[..., Any], says: str
) -> None:
    with pytest.raises(TypeError):
        call(R)  # NumPy's own error on plain arrays
    with pytest.raises(TypeError, match=says):
        cr.grad(lambda x: np.sum(np.real(call(x))))(R)


# ------------------------------------------------------------------------------------- ranges

RANGES: dict[str, tuple[Callable[..., Any], tuple[Any, ...]]] = {
    "linspace": (lambda a, b: np.linspace(a, b, 5), (Z[0], Z[1])),
    "linspace-rc": (lambda a, b: np.linspace(a, b, 4, endpoint=False), (R[0], Z[1])),
    "linspace-arrays": (lambda a, b: np.linspace(a, b, 3, axis=1), (Z, R)),
    "logspace": (lambda a, b: np.logspace(a, b, 4), (Z[0], Z[1])),
    "logspace-base": (lambda b: np.logspace(0.0, 2.0, 3, base=b), (Z[2],)),
    "geomspace": (lambda a, b: np.geomspace(a, b, 5), (Z[0], Z[1])),
    "geomspace-negative": (lambda a, b: np.geomspace(a, b, 3), (-2.0 + 0j, Z[3])),
    "geomspace-rc": (lambda a, b: np.geomspace(a, b, 4, endpoint=False), (-abs(R[0]), Z[1])),
    "geomspace-arrays": (lambda a, b: np.geomspace(a, b, 3, axis=-1), (Z, Z[::-1])),
}


@pytest.mark.parametrize("name", RANGES)
def test_ranges_with_complex_ends(name: str) -> None:
    fun, args = RANGES[name]
    check(_joined(fun), *args, float32=not name.startswith(("geomspace", "logspace-base")))


def test_geomspace_of_complex_ends_follows_the_spiral() -> None:
    got, jvp = cr.jvp(lambda a: np.geomspace(a, 4j, 3), (1 + 1j,), (1.0 + 0j,))
    numpy.testing.assert_allclose(got, numpy.geomspace(1 + 1j, 4j, 3), rtol=4 * EPS)
    # the middle point m is sqrt(a * b) on NumPy's branch: dm/da = m / 2a, dm/db = m / 2b
    numpy.testing.assert_allclose(jvp[1], got[1] / (2 * (1 + 1j)), rtol=1e-14)
    numpy.testing.assert_allclose(jvp[[0, 2]], [1, 0], atol=4 * EPS)
    # holomorphic in both ends
    m = numpy.geomspace(Z[0], Z[1], 3)[1]
    jac = cr.jacfwd(lambda a: np.geomspace(a[0], a[1], 3), holomorphic=True)(Z[:2])
    numpy.testing.assert_allclose(jac[1], m / (2 * Z[:2]), rtol=1e-14)


# ------------------------------------------------------------------------- holomorphic=True

HOLOMORPHIC: dict[str, Callable[..., Any]] = {
    "sums": lambda z: np.concatenate([np.cumsum(z), np.mean(z * z, keepdims=True)]),
    "products": lambda z: np.concatenate([np.cumprod(z), np.prod(z, keepdims=True)]),
    "nan-skipping": lambda z: np.concatenate([np.nancumsum(z), np.nanprod(z, keepdims=True)]),
    "order": lambda z: np.concatenate([np.sort(z * z), np.max(z, keepdims=True), np.median(z)[None]]),
    "average": lambda z: np.atleast_1d(np.average(z, weights=z[::-1])),
    "shapes": lambda z: np.ravel(np.pad(np.stack([np.roll(z, 1), np.flip(z)]), 1, mode="edge")),
    "indexing": lambda z: cr.at(z)[[0, 0, 2]].multiply(z[1:]),
    "sequences": lambda z: np.concatenate([np.convolve(z, z[:2]), np.gradient(z), np.polyval(z, z)]),
    "gates": lambda z: np.where(R > 0, np.clip(z, -1, 1), np.nan_to_num(z * z)),
    "ranges": lambda z: np.concatenate([np.linspace(z[0], z[1], 3), np.geomspace(z[2], z[3], 3)]),
}  # fmt: skip


@pytest.mark.parametrize("name", HOLOMORPHIC)
def test_holomorphic_derivatives_through_the_families(name: str) -> None:
    f = HOLOMORPHIC[name]
    jac = cr.jacfwd(f, holomorphic=True)(Z)
    numpy.testing.assert_allclose(cr.jacrev(f, holomorphic=True)(Z), jac, rtol=1e-13, atol=1e-13)
    numpy.testing.assert_allclose(jac, numerical_jacobian(f, Z), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("fun", [np.var, np.std, np.nanvar, np.nanstd])
def test_holomorphic_true_refuses_variances(fun: Callable[..., Any]) -> None:
    with pytest.raises(TypeError, match=f"{fun.__name__} is not holomorphic"):
        cr.jacfwd(lambda z: fun(z) + 0j, holomorphic=True)(Z)


REAL_ONLY_UFUNCS = [
    "arctan2",
    "cbrt",
    "deg2rad",
    "degrees",
    "fabs",
    "fmod",
    "hypot",
    "logaddexp",
    "logaddexp2",
    "mod",
    "rad2deg",
    "radians",
    "remainder",
]


@pytest.mark.parametrize("name", REAL_ONLY_UFUNCS)
def test_ufuncs_numpy_refuses_on_complex_values_raise_under_a_transform(name: str) -> None:
    fun = getattr(np, name)
    args = (Z,) * getattr(numpy, name).nin
    ufunc = getattr(numpy, name).__name__  # (mod is remainder)
    with pytest.raises(TypeError, match=f"ufunc '{ufunc}' not supported"):
        cr.grad(lambda z: np.sum(np.real(fun(z, *args[1:]))))(Z)
    with pytest.raises(TypeError, match=f"ufunc '{ufunc}' not supported"):
        cr.jvp(lambda z: fun(z, *args[1:]), (Z,), (Z,))
