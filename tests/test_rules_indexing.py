"""``x[...]`` on traced arrays: every kind of index, forward and reverse, batched, float32."""

from __future__ import annotations

import numpy
import pytest

import chainrule as cr
import chainrule.numpy as np
from rulecheck import check_rule

rng = numpy.random.default_rng(1)

S = rng.standard_normal(())
V = rng.standard_normal(6)
M = rng.standard_normal((4, 5))
T = rng.standard_normal((3, 4, 5))
MASK_T = rng.standard_normal((3, 4, 5)) > 0
MASK_2 = numpy.array(
    [[True, False, True, True], [False, False, True, False], [True, True, False, False]]
)

CASES = [
    # integers
    ("int", lambda x: x[1], T),
    ("int_negative", lambda x: x[-1], T),
    ("int_pair", lambda x: x[1, -2], T),
    ("int_all_scalar_out", lambda x: x[2, -3, 4], T),
    ("int_vec", lambda x: x[0], V),
    # slices
    ("slice_start", lambda x: x[1:], V),
    ("slice_step", lambda x: x[::2], V),
    ("slice_reverse", lambda x: x[::-1], V),
    ("slice_negative_step", lambda x: x[4:0:-2], V),
    ("slice_negative_bounds", lambda x: x[-3:-1], V),
    ("slice_second_axis", lambda x: x[:, ::-2], T),
    ("slice_empty", lambda x: x[3:1], V),
    ("slice_int_mix", lambda x: x[1:, 2, ::-1], T),
    # None
    ("none_front", lambda x: x[None], M),
    ("none_middle", lambda x: x[:, None], M),
    ("none_scalar", lambda x: x[None], S),
    ("none_twice", lambda x: x[None, 1, None, ::2], M),
    # Ellipsis in every position
    ("ellipsis_alone", lambda x: x[...], T),
    ("ellipsis_scalar", lambda x: x[...], S),
    ("ellipsis_empty_tuple", lambda x: x[()], M),
    ("ellipsis_first", lambda x: x[..., 0], T),
    ("ellipsis_last", lambda x: x[0, ...], T),
    ("ellipsis_middle", lambda x: x[0, ..., 1], T),
    ("ellipsis_before_slices", lambda x: x[..., 1:3, -2], T),
    ("ellipsis_with_none", lambda x: x[None, ..., None], T),
    ("ellipsis_covers_nothing", lambda x: x[1, ..., 2, 3], T),
    ("ellipsis_with_array", lambda x: x[..., [0, 4, 4]], T),
    ("ellipsis_with_mask", lambda x: x[..., numpy.array([True, False, True, True, False])], M),
    # integer arrays
    ("array_dupes", lambda x: x[[0, 0, 2, 5, 0]], V),
    ("array_negative", lambda x: x[[-1, 0, -6]], V),
    ("array_numpy", lambda x: x[numpy.array([2, 0, 2])], T),
    ("array_2d", lambda x: x[numpy.array([[0, 1], [1, 1], [5, 0]])], V),
    ("array_2d_on_3d", lambda x: x[numpy.array([[0, 2], [2, 1]])], T),
    ("array_pair", lambda x: x[[0, 3, 3], [4, 0, 4]], M),
    ("array_pair_broadcast", lambda x: x[numpy.array([[0], [3]]), numpy.array([1, 1, 2])], M),
    ("array_scalar_0d", lambda x: x[numpy.array(2)], V),
    # mixed advanced + basic
    ("mixed_slice_array", lambda x: x[:, [0, 2, 2]], T),
    ("mixed_adjacent_front", lambda x: x[[0, 1], [1, 3]], T),
    ("mixed_adjacent_inner", lambda x: x[:, [0, 1, 0], [1, 3, 3]], T),
    ("mixed_separated_to_front", lambda x: x[[0, 1, 1], :, [1, 3, 0]], T),
    ("mixed_int_array_separated", lambda x: x[1, :, [0, 2]], T),
    ("mixed_int_array_adjacent", lambda x: x[:, 1, [0, 2]], T),
    ("mixed_step_array", lambda x: x[::-2, [3, 0]], T),
    ("mixed_none_array", lambda x: x[None, [0, 1], ::2], M),
    ("mixed_none_between", lambda x: x[[0, 2], None, [1, 1]], T),
    (
        "mixed_2d_array_separated",
        lambda x: x[numpy.array([[0, 1]]), 1:3, numpy.array([[4], [2]])],
        T,
    ),
    # boolean masks
    ("mask_full", lambda x: x[MASK_T], T),
    ("mask_partial_first", lambda x: x[numpy.array([True, False, True])], T),
    ("mask_partial_two", lambda x: x[MASK_2], T),
    ("mask_middle", lambda x: x[:, MASK_2[0, :4]], T),
    ("mask_and_array", lambda x: x[numpy.array([True, False, True]), :, [0, 4]], T),
    ("mask_from_comparison", lambda x: x[x > 0], M),
    ("mask_list", lambda x: x[[True, False, False, True, True, False]], V),
    ("mask_all_false", lambda x: x[numpy.zeros(6, bool)], V),
    # iteration and len
    ("iterate_rows", lambda x: np.stack([row * (k + 1.0) for k, row in enumerate(x)]), M),
    ("iterate_vec", lambda x: np.stack([v * v for v in x]), V),
    ("len", lambda x: x * len(x), M),
    # chains: index of index, index inside other functions
    ("chain", lambda x: x[1:][::-1][[0, 0]] * x[0], V),
]

IDS = [c[0] for c in CASES]


@pytest.mark.parametrize(("name", "fun", "x"), CASES, ids=IDS)
def test_index(name, fun, x):
    check_rule(fun, x, vmap=name not in VALUE_SHAPED, jit=name not in VALUE_SHAPED)


# Their result's shape depends on the values: no batched form (see test_vmap_indexing), and
# no compiled one (test_jit).
VALUE_SHAPED = {"mask_from_comparison"}


@pytest.mark.parametrize(("name", "fun", "x"), CASES, ids=IDS)
def test_value_and_shape_are_numpys(name, fun, x):
    out, _ = cr.vjp(fun, x)
    expected = fun(x)
    assert numpy.shape(out) == numpy.shape(expected)
    numpy.testing.assert_array_equal(out, expected)


def test_separated_advanced_axes_move_to_front():
    x = numpy.zeros((3, 4, 5))
    out, vjp = cr.vjp(lambda v: v[[0, 1, 1], :, [1, 3, 0]], x)
    assert out.shape == (3, 4)
    (g,) = vjp(numpy.ones((3, 4)))
    expected = numpy.zeros((3, 4, 5))
    expected[0, :, 1] = expected[1, :, 3] = expected[1, :, 0] = 1.0
    numpy.testing.assert_array_equal(g, expected)


def test_repeated_indices_accumulate():
    g = cr.grad(lambda x: np.sum(x[[0, 0, 2, 0]] * numpy.array([1.0, 2.0, 3.0, 4.0])))(V[:3])
    numpy.testing.assert_array_equal(g, [7.0, 0.0, 3.0])
    g2 = cr.grad(lambda x: np.sum(x[[1, 1], [0, 0]]))(M)
    assert g2[1, 0] == 2.0 and g2.sum() == 2.0


def test_batched_jacobian_of_repeated_2d_index():
    jac = cr.jacfwd(lambda x: x[:, [2, 2, 0]])(M)
    numpy.testing.assert_array_equal(jac, cr.jacrev(lambda x: x[:, [2, 2, 0]])(M))
    assert jac.shape == (4, 3, 4, 5)
    assert jac[1, 0, 1, 2] == jac[1, 1, 1, 2] == 1.0 and jac.sum() == 12.0


def test_float32_gradient():
    x = M.astype(numpy.float32)
    g = cr.grad(lambda v: np.sum(v[[0, 0], 1:] ** 2))(x)
    assert g.dtype == numpy.float32


def test_setitem_raises_with_functional_advice():
    def f(x):
        x[0] = 1.0
        return np.sum(x)

    with pytest.raises(TypeError, match=r"immutable.*np\.where"):
        cr.grad(f)(V)


def test_len_of_scalar_raises():
    with pytest.raises(TypeError, match="len"):
        cr.grad(lambda x: x * len(x))(S)


def test_float_index_raises_as_numpy():
    with pytest.raises(IndexError, match="only integers"):
        cr.grad(lambda x: np.sum(x[x[0]]))(V)
