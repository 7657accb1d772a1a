"""JAX's functional updates ``x.at[idx].op(v)``: rules, NumPy's values, repeats, errors."""

from __future__ import annotations

import numpy
import pytest

import chainrule as cr
from chainrule.numpy.rules.indexing import at
from rulecheck import check_rule

rng = numpy.random.default_rng(0)


def r(*shape: int) -> numpy.ndarray:
    return rng.standard_normal(shape)


OPS = ["set", "add", "subtract", "multiply", "divide", "min", "max"]
KEYS = [
    ("int", 1, r()),
    ("neg_int", -1, r()),
    ("slice", slice(1, 4), r(3)),
    ("step_slice_broadcast", slice(None, None, 2), r()),
    ("ellipsis_none", (Ellipsis, None), r(1)),
    ("int_array_repeats", numpy.array([0, 2, 0, 0]), r(4)),
    ("list_repeats", [4, 1, 4], r(3)),
    ("mask", numpy.array([True, False, True, True, False]), r(3)),
]


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize(("name", "key", "v"), KEYS, ids=[k[0] for k in KEYS])
def test_rule(op, name, key, v):
    # values away from ties (min/max) and from 0 (divide)
    x = numpy.array([1.3, -0.7, 2.1, 0.9, -1.6])
    v = 0.5 + numpy.abs(v) if op == "divide" else v + 0.05
    check_rule(lambda x, v: getattr(at(x)[key], op)(v), x, v)
    check_rule(lambda x, v: getattr(at(x)[key], op)(v) * x, x, v)


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize(("name", "key", "v"), KEYS, ids=[k[0] for k in KEYS])
def test_values_are_numpys(op, name, key, v):
    """Traced values equal NumPy's ``out[key] = v`` / ``ufunc.at`` (the plain path)."""
    x = r(5)
    expected = x.copy()
    if op == "set":
        expected[key] = v
    else:
        ufunc = {"min": numpy.minimum, "max": numpy.maximum}.get(op, getattr(numpy, op, None))
        ufunc.at(expected, key, v)
    numpy.testing.assert_array_equal(getattr(at(x)[key], op)(v), expected)
    traced, _ = cr.jvp(lambda x: getattr(x.at[key], op)(v), (x,), (x,))
    numpy.testing.assert_array_equal(traced, expected)


def test_matrix_keys():
    x = r(3, 4)
    for key in [(1, slice(None)), (numpy.array([0, 2, 0]), numpy.array([1, 1, 1])), (..., 2)]:
        for op in OPS:
            check_rule(lambda x, v, key=key, op=op: getattr(at(x)[key], op)(v), x, r())


def test_repeats_add_accumulates_set_last_wins():
    x = numpy.zeros(3)
    v = numpy.array([1.0, 2.0, 3.0])
    gx, gv = cr.grad(lambda x, v: x.at[[0, 0, 0]].add(v) @ numpy.arange(1.0, 4.0), (0, 1))(x, v)
    numpy.testing.assert_array_equal(gv, [1.0, 1.0, 1.0])
    numpy.testing.assert_array_equal(gx, [1.0, 2.0, 3.0])
    out, gv = cr.value_and_grad(lambda v: at(x)[[2, 2, 2]].set(v).sum())(v)
    assert out == 3.0
    numpy.testing.assert_array_equal(gv, [0.0, 0.0, 1.0])  # only the last one counts


def test_repeats_multiply_each_in_turn():
    x = numpy.array([2.0, 1.0])
    v = numpy.array([3.0, 5.0])
    out, gv = cr.value_and_grad(lambda v: at(x)[[0, 0]].multiply(v)[0])(v)
    assert out == 30.0
    numpy.testing.assert_array_equal(gv, [10.0, 6.0])


def test_min_tie_shares():
    g = cr.grad(lambda x, v: x.at[0].min(v)[0], (0, 1))(numpy.array([1.0, 2.0]), 1.0)
    numpy.testing.assert_array_equal(g[0], [0.5, 0.0])
    assert g[1] == 0.5


def test_float32_kept_and_v_cast():
    x = numpy.ones(3, numpy.float32)
    out = cr.jvp(lambda x: x.at[1].set(2.0), (x,), (x,))[0]
    assert out.dtype == numpy.float32
    assert cr.grad(lambda v: at(x)[1].set(v).sum())(numpy.float64(2.0)).dtype == numpy.float64


def test_input_unchanged():
    x = numpy.zeros(2)
    at(x)[0].set(1.0)
    numpy.testing.assert_array_equal(x, [0.0, 0.0])


def test_get():
    x = r(4)
    numpy.testing.assert_array_equal(at(x)[[1, 1]].get(), x[[1, 1]])
    check_rule(lambda x: at(x)[[1, 1, 3]].get(), x)


def test_out_of_bounds_raises():
    with pytest.raises(IndexError):
        cr.grad(lambda x: x.at[5].set(1.0).sum())(numpy.zeros(3))
    with pytest.raises(IndexError):
        at(numpy.zeros(3))[[0, -4]].add(1.0)


def test_modes_refused():
    with pytest.raises(TypeError, match=r"mode='clip'.*IndexError"):
        cr.grad(lambda x: x.at[5].set(1.0, mode="clip").sum())(numpy.zeros(3))
    with pytest.raises(TypeError, match="unexpected keywords"):
        at(numpy.zeros(3))[0].add(1.0, wrap=True)


def test_setitem_error_points_to_at():
    def f(x):
        x[0] = 1.0
        return x.sum()

    with pytest.raises(TypeError, match=r"x\.at\[i\]\.set\(v\)"):
        cr.grad(f)(numpy.zeros(2))


def test_second_order_through_set():
    hess = cr.hessian(lambda x: (x.at[0].set(x[1] ** 2) ** 2).sum())(numpy.array([1.0, 2.0]))
    # f = x1**4 + x1**2: d2/dx1^2 = 12 x1**2 + 2
    numpy.testing.assert_allclose(hess, [[0.0, 0.0], [0.0, 50.0]])
