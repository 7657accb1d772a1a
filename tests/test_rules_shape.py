"""Shape functions: forward and reverse to second order, batched, float32, and NumPy's values."""

from __future__ import annotations

import numpy
import pytest

import chainrule as cr
import chainrule.numpy as np
from rulecheck import check_rule, joined

rng = numpy.random.default_rng(0)


def r(*shape: int) -> numpy.ndarray:
    return rng.standard_normal(shape)


S, V, M, T = r(), r(5), r(3, 4), r(2, 3, 4)

CASES = [
    # reshape, ravel
    ("reshape_scalar", lambda x: np.reshape(x, (1, 1)), (S,)),
    ("reshape_vec", lambda x: np.reshape(x, (6, 2)), (r(12),)),
    ("reshape_minus1", lambda x: np.reshape(x, -1), (M,)),
    ("reshape_method", lambda x: x.reshape(4, 3), (M,)),
    ("reshape_newshape", lambda x: np.reshape(x, newshape=(2, 12)), (T,)),
    ("ravel_scalar", np.ravel, (S,)),
    ("ravel_3d", np.ravel, (T,)),
    ("ravel_method", lambda x: x.ravel(), (M,)),
    # transpose, swapaxes, moveaxis
    ("transpose", np.transpose, (M,)),
    ("transpose_axes", lambda x: np.transpose(x, (1, 2, 0)), (T,)),
    ("transpose_neg_axes", lambda x: np.transpose(x, (-1, 0, -2)), (T,)),
    ("transpose_T", lambda x: x.T, (T,)),
    ("swapaxes", lambda x: np.swapaxes(x, 0, 2), (T,)),
    ("swapaxes_neg", lambda x: np.swapaxes(x, -1, -3), (T,)),
    ("swapaxes_method", lambda x: x.swapaxes(0, 1), (M,)),
    ("matrix_transpose", np.matrix_transpose, (T,)),
    ("copy", np.copy, (M,)),
    ("copy_fortran", lambda x: np.copy(x, order="F"), (T,)),
    ("copy_method", lambda x: x.copy(), (V,)),
    ("moveaxis", lambda x: np.moveaxis(x, 0, -1), (T,)),
    ("moveaxis_tuple", lambda x: np.moveaxis(x, (0, 1), (2, 0)), (T,)),
    # expand_dims, squeeze, atleast_*
    ("expand_dims_scalar", lambda x: np.expand_dims(x, 0), (S,)),
    ("expand_dims_neg", lambda x: np.expand_dims(x, -1), (V,)),
    ("expand_dims_tuple", lambda x: np.expand_dims(x, (0, 3)), (M,)),
    ("squeeze_all", np.squeeze, (r(1, 3, 1),)),
    ("squeeze_axis", lambda x: np.squeeze(x, 0), (r(1, 3, 1),)),
    ("squeeze_tuple_neg", lambda x: np.squeeze(x, (-1,)), (r(1, 3, 1),)),
    ("squeeze_method", lambda x: x.squeeze(), (r(2, 1),)),
    ("atleast_1d_scalar", np.atleast_1d, (S,)),
    ("atleast_1d_matrix", np.atleast_1d, (M,)),
    ("atleast_2d_scalar", np.atleast_2d, (S,)),
    ("atleast_2d_vec", np.atleast_2d, (V,)),
    ("atleast_3d_scalar", np.atleast_3d, (S,)),
    ("atleast_3d_vec", np.atleast_3d, (V,)),
    ("atleast_3d_matrix", np.atleast_3d, (M,)),
    ("atleast_2d_several", joined(np.atleast_2d), (S, V)),
    # concatenate, stack, *stack
    ("concatenate_vecs", lambda x, y: np.concatenate([x, y]), (V, r(3))),
    ("concatenate_axis1", lambda x, y: np.concatenate((x, y), axis=1), (M, r(3, 2))),
    ("concatenate_neg_axis", lambda x, y, z: np.concatenate([x, y, z], -1), (M, M, r(3, 1))),
    ("concatenate_axis_none", lambda x, y: np.concatenate([x, y], axis=None), (M, V)),
    (
        "concatenate_constant",
        lambda x: np.concatenate([x, numpy.array([1.0, 2.0], x.dtype), x]),
        (V,),
    ),
    ("concatenate_same_twice", lambda x: np.concatenate([x, x * x], axis=0), (M,)),
    ("stack_scalars", lambda x, y: np.stack([x, y, x * y]), (S, r())),
    ("stack_vecs", lambda x, y: np.stack([x, y]), (V, r(5))),
    ("stack_axis_neg", lambda x, y: np.stack([x, y], axis=-1), (M, r(3, 4))),
    ("stack_axis1_constant", lambda x: np.stack([x, numpy.ones((3, 4), x.dtype)], axis=1), (M,)),
    ("hstack_scalars", lambda x, y: np.hstack([x, y]), (S, r())),
    ("hstack_vecs", lambda x, y: np.hstack([x, y]), (V, r(2))),
    ("hstack_matrices", lambda x, y: np.hstack((x, y)), (M, r(3, 1))),
    ("vstack_vecs", lambda x, y: np.vstack([x, y]), (V, r(5))),
    ("vstack_matrices", lambda x, y: np.vstack([x, y]), (M, r(1, 4))),
    ("dstack_vecs", lambda x, y: np.dstack([x, y]), (V, r(5))),
    ("dstack_matrices", lambda x, y: np.dstack([x, y]), (M, M)),
    ("column_stack", lambda x, y: np.column_stack([x, y]), (r(3), M)),
    # split, array_split (list outputs: checked whole, and joined for the batched checks)
    ("split_sections_joined", joined(lambda x: np.split(x, 3)), (r(6),)),
    ("split_indices_joined", joined(lambda x: np.split(x, [1, 3], axis=1)), (M,)),
    ("split_neg_axis_joined", joined(lambda x: np.split(x, 2, axis=-1)), (T,)),
    ("split_one_piece", lambda x: np.split(x, [1, 3], axis=1)[1], (M,)),
    ("split_neg_index_joined", joined(lambda x: np.split(x, [-2])), (V,)),
    ("split_unsorted_joined", joined(lambda x: np.split(x, [3, 1])), (V,)),
    ("array_split_uneven_joined", joined(lambda x: np.array_split(x, 3)), (r(7),)),
    ("array_split_more_than_n", joined(lambda x: np.array_split(x, 4, axis=0)), (M,)),
    # tile, repeat
    ("tile_scalar", lambda x: np.tile(x, 3), (S,)),
    ("tile_vec", lambda x: np.tile(x, 2), (V,)),
    ("tile_vec_2d", lambda x: np.tile(x, (2, 3)), (V,)),
    ("tile_matrix", lambda x: np.tile(x, (2, 1, 2)), (M,)),
    ("tile_short_reps", lambda x: np.tile(x, (2,)), (T,)),
    ("tile_column", lambda x: np.tile(x, 2), (r(3, 1),)),
    ("tile_ones", lambda x: np.tile(x, 1), (V,)),
    ("repeat_scalar", lambda x: np.repeat(x, 3), (S,)),
    ("repeat_flat", lambda x: np.repeat(x, 2), (M,)),
    ("repeat_axis0", lambda x: np.repeat(x, 2, axis=0), (M,)),
    ("repeat_per_entry", lambda x: np.repeat(x, [1, 0, 2, 3], axis=-1), (M,)),
    ("repeat_per_entry_flat", lambda x: np.repeat(x, [2, 0, 1, 1, 3]), (V,)),
    ("repeat_broadcast_list", lambda x: np.repeat(x, [2], axis=1), (M,)),
    ("repeat_method", lambda x: x.repeat(2, axis=1), (T,)),
    # pad
    ("pad_scalar", lambda x: np.pad(x, 2), (S,)),
    ("pad_constant", lambda x: np.pad(x, 2), (V,)),
    ("pad_constant_pairs", lambda x: np.pad(x, ((1, 2), (0, 3))), (M,)),
    ("pad_constant_values", lambda x: np.pad(x, 1, constant_values=(1.5, -2.0)), (M,)),
    ("pad_edge", lambda x: np.pad(x, ((2, 1), (1, 3)), mode="edge"), (M,)),
    ("pad_reflect", lambda x: np.pad(x, (2, 3), mode="reflect"), (V,)),
    ("pad_reflect_wide", lambda x: np.pad(x, ((5, 4), (0, 7)), mode="reflect"), (M,)),
    ("pad_symmetric", lambda x: np.pad(x, ((1, 4), (3, 2)), mode="symmetric"), (M,)),
    ("pad_wrap", lambda x: np.pad(x, ((0, 1), (2, 2), (5, 0)), mode="wrap"), (T,)),
    # flip, roll
    ("flip_scalar", np.flip, (S,)),
    ("flip_vec", np.flip, (V,)),
    ("flip_all", np.flip, (T,)),
    ("flip_axis", lambda x: np.flip(x, 0), (M,)),
    ("flip_axis_neg", lambda x: np.flip(x, -1), (T,)),
    ("flip_axis_tuple", lambda x: np.flip(x, (0, 2)), (T,)),
    ("fliplr", np.fliplr, (M,)),
    ("flipud", np.flipud, (V,)),
    ("roll_vec", lambda x: np.roll(x, 2), (V,)),
    ("roll_neg", lambda x: np.roll(x, -7), (V,)),
    ("roll_zero", lambda x: np.roll(x, 5), (V,)),
    ("roll_flat", lambda x: np.roll(x, 5), (M,)),
    ("roll_axis", lambda x: np.roll(x, 1, axis=-1), (M,)),
    ("roll_tuple", lambda x: np.roll(x, (1, 2), axis=(0, 2)), (T,)),
    ("roll_same_axis_twice", lambda x: np.roll(x, (1, 1), axis=(1, 1)), (M,)),
    ("roll_broadcast_shift", lambda x: np.roll(x, 1, axis=(0, 1)), (M,)),
    ("roll_flat_tuple_shift", lambda x: np.roll(x, (1, 3)), (M,)),
    ("roll_scalar", lambda x: np.roll(x, 1), (S,)),
    # triangles, diagonals, trace
    ("triu", np.triu, (M,)),
    ("triu_k", lambda x: np.triu(x, 1), (r(4, 4),)),
    ("tril_neg_k", lambda x: np.tril(x, -1), (M,)),
    ("tril_batch", np.tril, (T,)),
    ("triu_vec", np.triu, (V,)),
    ("diag_vec", np.diag, (V,)),
    ("diag_vec_k", lambda x: np.diag(x, 2), (r(3),)),
    ("diag_vec_neg_k", lambda x: np.diag(x, -1), (r(3),)),
    ("diag_matrix", np.diag, (M,)),
    ("diag_matrix_k", lambda x: np.diag(x, 1), (M,)),
    ("diag_matrix_neg_k", lambda x: np.diag(x, -2), (M,)),
    ("diag_roundtrip", lambda x: np.diag(np.diag(x)), (r(4, 4),)),
    ("diagonal", np.diagonal, (M,)),
    ("diagonal_offset", lambda x: np.diagonal(x, -1), (M,)),
    ("diagonal_3d", lambda x: np.diagonal(x, 1, 0, 2), (T,)),
    ("diagonal_3d_neg", lambda x: np.diagonal(x, 0, -1, -2), (T,)),
    ("diagonal_method", lambda x: x.diagonal(), (T,)),
    ("trace", np.trace, (M,)),
    ("trace_offset", lambda x: np.trace(x, 1), (M,)),
    ("trace_3d", lambda x: np.trace(x, 0, 1, 2), (T,)),
    ("trace_method", lambda x: x.trace(offset=-1), (M,)),
    # take, take_along_axis, sort
    ("take_flat", lambda x: np.take(x, [0, 5, 5, -1]), (M,)),
    ("take_scalar_index", lambda x: np.take(x, 2, axis=1), (M,)),
    ("take_2d_index", lambda x: np.take(x, [[0, 1], [2, 0]], axis=0), (M,)),
    ("take_axis_dupes", lambda x: np.take(x, [3, 3, 0], axis=-1), (T,)),
    ("take_wrap", lambda x: np.take(x, [7, -9], mode="wrap"), (V,)),
    ("take_clip", lambda x: np.take(x, [7, -9, 2], mode="clip"), (V,)),
    ("take_along_axis0", lambda x: np.take_along_axis(x, numpy.argsort(x, 0), 0), (M,)),
    (
        "take_along_axis_last",
        lambda x: np.take_along_axis(x, numpy.array([[0, 0, 3]] * 3), -1),
        (M,),
    ),
    (
        "take_along_axis_bcast",
        lambda x: np.take_along_axis(x, numpy.array([[2], [0], [1]]), 1),
        (M,),
    ),
    ("take_along_axis_none", lambda x: np.take_along_axis(x, numpy.array([11, 0, 0]), None), (M,)),
    ("sort_vec", np.sort, (V,)),
    ("sort_axis0", lambda x: np.sort(x, axis=0), (M,)),
    ("sort_last", np.sort, (T,)),
    ("sort_none", lambda x: np.sort(x, axis=None), (M,)),
    ("sort_neg_axis", lambda x: np.sort(x, axis=-2), (T,)),
    ("sort_stable", lambda x: np.sort(x, kind="stable"), (M,)),
    # array / asarray from traced values
    ("array_scalars", lambda x, y: np.array([x, y, x * y]), (S, r())),
    ("array_nested", lambda x, y: np.array([[x, x.dtype.type(1.0)], [y, x - y]]), (S, r())),
    ("array_rows", lambda x, y: np.array([x, y, numpy.arange(5, dtype=x.dtype)]), (V, r(5))),
    ("array_dtype", lambda x: np.array([x, x], dtype=x.dtype), (V,)),
    ("asarray_tracer", lambda x: np.asarray(x) * 2.0, (M,)),
    ("asarray_list", lambda x, y: np.asarray([x, y]), (S, r())),
]

IDS = [c[0] for c in CASES]


@pytest.mark.parametrize(("name", "fun", "args"), CASES, ids=IDS)
def test_rule(name, fun, args):
    check_rule(fun, *args)


@pytest.mark.parametrize(("name", "fun", "args"), CASES, ids=IDS)
def test_traced_value_is_numpys(name, fun, args):
    """The traced composition computes exactly what NumPy computes on plain arrays."""
    expected = fun(*args)
    out, _ = cr.vjp(fun, *args)
    for o, e in zip(cr.tree.leaves(out), cr.tree.leaves(expected), strict=True):
        assert numpy.shape(o) == numpy.shape(e)
        numpy.testing.assert_array_equal(o, e)


LISTS = [
    ("split", lambda x: np.split(x, [1, 3], axis=1), (M,)),
    ("array_split", lambda x: np.array_split(x, 3, axis=-1), (M,)),
    ("atleast_3d", np.atleast_3d, (S, V, M)),
]


@pytest.mark.parametrize(("name", "fun", "args"), LISTS, ids=[c[0] for c in LISTS])
def test_list_outputs(name, fun, args):
    check_rule(fun, *args, batched=False)
    out, _ = cr.vjp(fun, *args)
    assert type(out) is type(fun(*args))


def test_plain_calls_are_numpy():
    x = numpy.arange(6.0).reshape(2, 3)
    assert type(np.roll(x, 1)) is numpy.ndarray
    numpy.testing.assert_array_equal(np.pad(x, 1, mode="mean"), numpy.pad(x, 1, mode="mean"))
    numpy.testing.assert_array_equal(
        np.concatenate([x, x], out=numpy.empty((4, 3))), numpy.concatenate([x, x])
    )


def test_pad_index_modes_match_numpy_on_long_pads():
    x = numpy.arange(1.0, 4.0)
    for mode in ("edge", "reflect", "symmetric", "wrap"):
        out, _ = cr.vjp(lambda v, mode=mode: np.pad(v, (8, 11), mode=mode), x)
        numpy.testing.assert_array_equal(out, numpy.pad(x, (8, 11), mode=mode))


def test_pad_edge_gradient_counts_copies():
    g = cr.grad(lambda x: np.sum(np.pad(x, (2, 1), mode="edge")))(numpy.array([1.0, 2.0, 3.0]))
    numpy.testing.assert_array_equal(g, [3.0, 1.0, 2.0])


def test_repeat_gradient_accumulates():
    w = numpy.array([1.0, 10.0, 100.0, 1000.0])
    g = cr.grad(lambda x: np.sum(np.repeat(x, [1, 0, 3]) * w))(numpy.array([1.0, 2.0, 3.0]))
    numpy.testing.assert_array_equal(g, [1.0, 0.0, 1110.0])


def test_tile_gradient_sums_blocks():
    g = cr.grad(lambda x: np.sum(np.tile(x, (2, 3)) * numpy.arange(12.0).reshape(2, 6)))(
        numpy.array([1.0, 2.0])
    )
    numpy.testing.assert_array_equal(g, [0 + 2 + 4 + 6 + 8 + 10, 1 + 3 + 5 + 7 + 9 + 11])


def test_sort_ties_go_to_inputs_in_order():
    w = numpy.array([10.0, 20.0, 30.0, 40.0])
    x = numpy.array([1.0, 3.0, 1.0, 2.0])
    g = cr.grad(lambda x: np.sort(x, kind="stable") @ w)(x)
    numpy.testing.assert_array_equal(g, [10.0, 40.0, 20.0, 30.0])
    hx = cr.jacfwd(lambda x: np.sort(x, stable=True))(x)
    numpy.testing.assert_array_equal(hx, numpy.eye(4)[[0, 2, 3, 1]])


def test_split_unused_pieces_get_zero():
    g = cr.grad(lambda x: np.sum(np.split(x, 3)[1] ** 2))(numpy.arange(6.0))
    numpy.testing.assert_array_equal(g, [0.0, 0.0, 4.0, 6.0, 0.0, 0.0])


def test_diag_places_vector():
    out, vjp = cr.vjp(lambda v: np.diag(v, 1), numpy.array([1.0, 2.0]))
    numpy.testing.assert_array_equal(out, [[0, 1, 0], [0, 0, 2], [0, 0, 0]])
    numpy.testing.assert_array_equal(vjp(numpy.arange(9.0).reshape(3, 3))[0], [1.0, 5.0])


def test_float32_with_plain_constants():
    x = numpy.ones((2, 3), numpy.float32)
    for fun in (
        lambda v: np.pad(v, 1, constant_values=2.0),
        lambda v: np.triu(v, 1),
        lambda v: np.concatenate([v, numpy.zeros((1, 3), numpy.float32)]),
    ):
        out, vjp = cr.vjp(fun, x)
        assert out.dtype == numpy.float32
        assert vjp(numpy.ones_like(out))[0].dtype == numpy.float32


@pytest.mark.parametrize(
    ("fun", "error", "match"),
    [
        (lambda x: np.pad(x, 1, mode="mean"), TypeError, "mode 'mean'"),
        (lambda x: np.pad(x, 1, mode="linear_ramp"), TypeError, "linear_ramp"),
        (lambda x: np.pad(x, 1, mode="reflect", reflect_type="odd"), TypeError, "odd"),
        (lambda x: np.pad(x, 1, constant_values=x[0, 0]), TypeError, "plain numbers"),
        (lambda x: np.pad(x, -1), ValueError, "negative"),
        (lambda x: np.pad(x, 1, mode="edge", constant_values=1.0), ValueError, "unsupported"),
        (lambda x: np.split(x, 4), ValueError, "equal division"),
        (lambda x: np.array_split(x, 0), ValueError, "larger than 0"),
        (lambda x: np.squeeze(x, 0), ValueError, "size not equal to one"),
        (lambda x: np.expand_dims(x, (0, 0)), ValueError, "repeated axis"),
        (lambda x: np.concatenate([x, x], out=numpy.empty((4, 3))), TypeError, "out="),
        (lambda x: np.concatenate([x[0, 0], x[0, 1]]), ValueError, "zero-dimensional"),
        (lambda x: np.stack([x, x[0]]), ValueError, "same shape"),
        (lambda x: np.fliplr(x[0]), ValueError, ">= 2-d"),
        (lambda x: np.diag(x[None]), ValueError, "1- or 2-d"),
        (lambda x: np.diagonal(x, 0, 1, -1), ValueError, "cannot be the same"),
        (lambda x: np.swapaxes(x, 0, 2), numpy.exceptions.AxisError, "out of bounds"),
        (lambda x: np.moveaxis(x, (0, 1), 0), ValueError, "same number"),
        (lambda x: np.repeat(x, -1), ValueError, "negative"),
        (lambda x: np.trace(x, out=numpy.empty(())), TypeError, "out="),
    ],
)
def test_errors(fun, error, match):
    with pytest.raises(error, match=match):
        cr.grad(lambda x: np.sum(fun(x)))(numpy.ones((2, 3)))


def test_new_arrays_stay_new_under_jit_and_vmap() -> None:
    """Found by fuzzing: traced tile, repeat and meshgrid ended in reshapes of broadcasts,
    so where no axis longer than 1 was repeated jit returned a read-only view of its input
    (which a later write into the input changed), where NumPy makes a new array; a traced
    value's ``copy()`` (and ``flatten()``) was the value itself: jit returned its input."""
    x = r(3, 1)
    cases = [
        lambda x: np.tile(x, 2), lambda x: np.tile(x[:, 0], 1), lambda x: np.repeat(x, 2, axis=1),
        lambda x: np.meshgrid(x[:, 0])[0], lambda x: np.meshgrid(x[:, 0], x[:2, 0])[1],
        np.copy, lambda x: x.copy(), lambda x: x.flatten(),
    ]  # fmt: skip
    for f in cases:
        for got in (cr.jit(f)(x), cr.vmap(f)(x[None])[0], cr.jvp(f, (x,), (x,))[0]):
            numpy.testing.assert_array_equal(got, f(x))
            assert got.flags.writeable and not numpy.shares_memory(got, x)
    view = cr.jit(lambda x: np.meshgrid(x, copy=False)[0])(x[:, 0])  # (a view, as NumPy's)
    assert numpy.shares_memory(view, x)


@pytest.mark.parametrize("dtype", [numpy.int64, numpy.uint8, numpy.bool_, numpy.float16])
def test_tri_keeps_the_dtype_under_jit_and_vmap(dtype: type) -> None:
    """Found by fuzzing: traced triu/tril zeroed with a Python 0.0, which made int and bool
    matrices float64 (and rounded int64 entries past 2**53)."""
    x = numpy.array([[2**53 + 1, 3], [5, 2**62 + 1]]).astype(dtype)
    for fun in (np.triu, np.tril, lambda m: np.triu(m, 1)):
        want = fun(x)
        for got in (cr.jit(fun)(x), cr.vmap(fun)(x[None])[0]):
            assert got.dtype == want.dtype
            numpy.testing.assert_array_equal(got, want)


def test_pad_of_a_zero_d_array_is_a_copy() -> None:
    """Found by fuzzing: NumPy pads a 0-d array to itself; traced, constant values failed."""
    x0 = numpy.array(1.5)
    f = lambda x: np.pad(x, 1, constant_values=2.0)
    got = cr.jit(f)(x0)
    assert got == 1.5 and got.shape == () and not numpy.shares_memory(got, x0)
    assert cr.grad(f)(x0) == 1.0
    with pytest.raises(ValueError, match="mode 'bogus' is not supported"):  # (NumPy's checks)
        cr.jit(lambda x: np.pad(x, 1, mode="bogus"))(x0)


def test_orders_numpy_gives_or_refused() -> None:
    """Found by review: a traced ``flatten("F")`` flattened in C order; ``repeat`` of a
    Fortran-ordered array once a copy is C-ordered, as NumPy's."""
    a = numpy.arange(6.0).reshape(2, 3)
    for f in (lambda x: x.flatten("F"), lambda x: x.ravel("F")):
        with pytest.raises(TypeError, match="order='C'"):
            cr.jit(f)(a)
    fortran = numpy.asfortranarray(a)
    for f in (lambda x: np.repeat(x, 1, axis=0), lambda x: np.tile(x, 1)):
        got, want = cr.jit(f)(fortran), f(fortran)
        assert got.flags.c_contiguous == want.flags.c_contiguous
