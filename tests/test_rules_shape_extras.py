"""rot90, append, r_/c_, diff, ediff1d, meshgrid, select, partition: rules and NumPy's values."""

from __future__ import annotations

import numpy
import pytest

import chainrule as cr
import chainrule.numpy as np
from rulecheck import check_rule, joined

rng = numpy.random.default_rng(1)


def r(*shape: int) -> numpy.ndarray:
    return rng.standard_normal(shape)


S, V, M, T = r(), r(5), r(3, 4), r(2, 3, 4)

CASES = [
    ("rot90", np.rot90, (M,)),
    ("rot90_k2", lambda x: np.rot90(x, 2), (M,)),
    ("rot90_k3", lambda x: np.rot90(x, 3), (M,)),
    ("rot90_k0", lambda x: np.rot90(x, 0), (M,)),
    ("rot90_neg_axes_3d", lambda x: np.rot90(x, -1, axes=(2, 0)), (T,)),
    ("append_flat", np.append, (M, V)),
    ("append_scalar", np.append, (V, S)),
    ("append_axis", lambda x, y: np.append(x, y, axis=1), (M, r(3, 2))),
    ("append_axis0", lambda x, y: np.append(x, y, axis=0), (M, r(1, 4))),
    ("r_arrays_scalars", lambda x, y: np.r_[x, 2.5, y, x * y[0]], (V, r(3))),
    ("r_matrices", lambda x, y: np.r_[x, y], (M, r(2, 4))),
    ("r_scalars", lambda x, y: np.r_[x, y], (S, r())),
    ("c_vectors", lambda x, y: np.c_[x, y], (V, r(5))),
    ("c_matrix_vector", lambda x, y: np.c_[x, y], (M, r(3))),
    ("diff", np.diff, (V,)),
    ("diff_n2", lambda x: np.diff(x, 2), (V,)),
    ("diff_n0", lambda x: np.diff(x, 0), (M,)),
    ("diff_n_too_big", lambda x: np.diff(x, 6), (V,)),
    ("diff_axis0", lambda x: np.diff(x, axis=0), (M,)),
    ("diff_neg_axis_3d", lambda x: np.diff(x, 2, axis=-2), (T,)),
    ("diff_prepend_append", lambda x, p, a: np.diff(x, prepend=p, append=a), (V, r(2), r(1))),
    ("diff_scalar_ends", lambda x, p, a: np.diff(x, axis=0, prepend=p, append=a), (M, S, r())),
    ("diff_matrix_ends", lambda x, p: np.diff(x, 3, axis=1, prepend=p), (M, r(3, 2))),
    ("ediff1d", np.ediff1d, (M,)),
    ("ediff1d_ends", lambda x, b, e: np.ediff1d(x, to_end=e, to_begin=b), (V, S, r(2))),
    ("ediff1d_constant_ends", lambda x: np.ediff1d(x, to_end=[1.0, 2.0], to_begin=-3.0), (V,)),
    ("meshgrid_xy", joined(np.meshgrid), (r(3), r(2))),
    ("meshgrid_ij_3", joined(lambda *x: np.meshgrid(*x, indexing="ij")), (r(3), r(2), r(4))),
    ("meshgrid_sparse", joined(lambda x, y: np.meshgrid(x, y, sparse=True)), (r(3), r(2))),
    ("meshgrid_matrix_input", joined(np.meshgrid), (r(2, 2), S)),
    ("meshgrid_one", joined(np.meshgrid), (V,)),
    (
        "select",
        lambda x, y: np.select([x < -0.5, x < 0.5], [x * y, y**2], default=x),
        (r(6) * 2, r(6)),
    ),
    ("select_broadcast", lambda x, d: np.select([M > 0], [x], default=d), (r(4), r(3, 1))),
    ("select_constant_default", lambda x: np.select([V > 0, V < -1], [x, -x], 3.0), (V,)),
    ("select_int_default", lambda x: np.select([V > 0], [x]), (V,)),
    ("select_python_choice", lambda x: np.select([V > 0, V < -1], [1.5, x], x), (V,)),
    ("partition", lambda x: np.partition(x, 2), (r(7),)),
    ("partition_kths", lambda x: np.partition(x, (0, 3, -1)), (r(7),)),
    ("partition_axis0", lambda x: np.partition(x, 1, axis=0), (M,)),
    ("partition_axis_none", lambda x: np.partition(x, 5, axis=None), (M,)),
    # the shape functions the other tables leave out
    ("broadcast_to_new_axes", lambda x: np.broadcast_to(x, (2, 3, 4)), (r(3, 1),)),
    ("broadcast_to_same_rank", lambda x: np.broadcast_to(x, (3, 4)), (r(4),)),
    ("full", lambda v: np.full((2, 3), v), (S,)),
    ("full_like_vector_fill", lambda v: np.full_like(M.astype(v.dtype), v), (r(4),)),
    ("unstack", joined(lambda x: np.unstack(x, axis=1)), (M,)),
    ("vsplit", joined(lambda x: np.vsplit(x, [1])), (M,)),
    ("hsplit", joined(lambda x: np.hsplit(x, 2)), (M,)),
    ("dsplit", joined(lambda x: np.dsplit(x, [1, 3])), (T,)),
    ("rollaxis", lambda x: np.rollaxis(x, 2, 1), (T,)),
    ("permute_dims", lambda x: np.permute_dims(x, (1, 2, 0)), (T,)),
    ("concat", lambda x, y: np.concat([x, y], axis=-1), (M, r(3, 2))),
]
IDS = [c[0] for c in CASES]


@pytest.mark.parametrize(("name", "fun", "args"), CASES, ids=IDS)
def test_rule(name, fun, args):
    check_rule(fun, *args)


PARTITIONS = {"partition", "partition_kths", "partition_axis0", "partition_axis_none"}


@pytest.mark.parametrize(("name", "fun", "args"), CASES, ids=IDS)
def test_traced_value_is_numpys(name, fun, args):
    """The traced path computes exactly what NumPy computes on plain arrays."""
    expected = fun(*args)
    out, _ = cr.vjp(fun, *args)
    assert numpy.shape(out) == numpy.shape(expected)
    assert numpy.result_type(out) == numpy.result_type(expected)
    if name in PARTITIONS:  # the order on either side of a kth position is unspecified
        out, expected = numpy.sort(out, axis=None), numpy.sort(expected, axis=None)
    numpy.testing.assert_array_equal(out, expected)


# NumPy promotes float32 with a float64 (or integer) constant to float64: so does chainrule.
PROMOTING = [
    ("r_ranges", lambda x: np.r_[x, 0:2, 0:1:3j], (V,)),
    ("c_range", lambda x: np.c_[x, 0:10:5j], (V,)),
    ("diff_constant_prepend", lambda x: np.diff(x, prepend=0.0), (M,)),
]


@pytest.mark.parametrize(("name", "fun", "args"), PROMOTING, ids=[c[0] for c in PROMOTING])
def test_constants_promote_as_in_numpy(name, fun, args):
    check_rule(fun, *args, float32=False)
    x32 = args[0].astype(numpy.float32)
    out, _ = cr.vjp(fun, x32)
    assert out.dtype == fun(x32).dtype == numpy.float64
    numpy.testing.assert_array_equal(out, fun(x32))


def test_partition_kth_entries_are_numpys():
    x = r(9)
    for kth in (0, 4, (1, 6)):
        out, _ = cr.vjp(lambda v, kth=kth: np.partition(v, kth), x)
        at = list(numpy.atleast_1d(kth))
        numpy.testing.assert_array_equal(out[at], numpy.sort(x)[at])


def test_partition_gradient_goes_to_the_kth_entry():
    x = numpy.array([4.0, -1.0, 7.0, 2.0])
    numpy.testing.assert_array_equal(cr.grad(lambda v: np.partition(v, 2)[2])(x), [1, 0, 0, 0])


def test_meshgrid_returns_numpys_container():
    x, y = r(3), r(2)
    out, _ = cr.vjp(lambda a, b: np.meshgrid(a, b), x, y)
    assert type(out) is type(numpy.meshgrid(x, y))
    assert numpy.meshgrid(x, y, copy=False)[0].shape == np.meshgrid(x, y, copy=False)[0].shape


def test_select_first_true_condition_wins_and_conditions_get_no_gradient():
    x = numpy.array([0.0, 1.0])
    g = cr.grad(lambda v: np.select([v >= 0, v >= 1], [v, 10 * v]).sum())(x)
    numpy.testing.assert_array_equal(g, [1.0, 1.0])


def test_plain_calls_are_numpys():
    x = numpy.arange(6.0).reshape(2, 3)
    assert np.r_ is not numpy.r_
    numpy.testing.assert_array_equal(np.r_["0,2", x, x], numpy.r_["0,2", x, x])
    numpy.testing.assert_array_equal(np.c_[x, x], numpy.c_[x, x])
    numpy.testing.assert_array_equal(np.diff(x > 2), numpy.diff(x > 2))  # boolean: not_equal
    numpy.testing.assert_array_equal(np.select([x > 2], [x]), numpy.select([x > 2], [x]))


ERRORS = [
    (lambda x: np.rot90(x, axes=(0, 0)), ValueError, "Axes must be different"),
    (lambda x: np.rot90(x, axes=(0,)), ValueError, "len\\(axes\\) must be 2"),
    (lambda x: np.diff(x, -1), ValueError, "non-negative"),
    (lambda x: np.diff(x[0, 0]), ValueError, "at least one dimensional"),
    (lambda x: np.r_["r", x], TypeError, r"r_: string directives.*concatenate"),
    (lambda x: np.select([x > 0], [x, x]), ValueError, "same length"),
    (lambda x: np.select([1.0], [x]), TypeError, "boolean"),
    (lambda x: np.meshgrid(x, indexing="yx"), ValueError, "indexing"),
    (lambda x: np.partition(x, 0, order="a"), TypeError, "order"),
]


@pytest.mark.parametrize(("fun", "error", "match"), ERRORS)
def test_errors(fun, error, match):
    with pytest.raises(error, match=match):
        cr.grad(lambda x: np.sum(fun(x)))(M)
